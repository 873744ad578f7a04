/*
 * bytes.h - the one bytewise order of byte strings that every layer
 * shares: store keys (LevelDB's default comparator), node ids in the
 * baseline lists of crdt/basev_int.h, list position ids (crdt/listpos.c).
 */
#ifndef GROVE_BYTES_H
#define GROVE_BYTES_H

#include <stddef.h>

/* Bytewise order of a[0..alen) and b[0..blen) (<0, 0, >0): memcmp over the
 * shorter length, then the shorter first.  A length of 0 reads no byte. */
int grove_key_cmp(const void *a, size_t alen, const void *b, size_t blen);

#endif
