/*
 * glob.h - binary-safe glob matching of keys (Redis KEYS style), used by
 * the Syncer's key pattern and available to RESP KEYS/SCAN MATCH.
 *
 * Syntax: '*' any run of bytes, '?' one byte, '[abc]' '[a-z]' '[^a]' (or
 * '[!a]') one byte in / not in a class, '\' escapes the next byte.  An
 * unterminated class matches its bytes literally up to the pattern's end.
 * Iterative (no recursion): O(plen * slen) worst case.
 */
#ifndef GROVE_GLOB_H
#define GROVE_GLOB_H

#include <stdbool.h>
#include <stddef.h>

bool grove_glob_match(const void *pattern, size_t plen, const void *str, size_t slen);

#endif
