/*
 * util_identity.h - cmocka test helpers around identities: hex decoding
 * and the golden byte blocks of the doc/ pages.  The deterministic CA and node
 * identities themselves are in util_keys.h (included here), which fuzz
 * targets and benchmarks link without cmocka.
 */
#ifndef GROVE_UTIL_IDENTITY_H
#define GROVE_UTIL_IDENTITY_H

#include <stdint.h>

#include "tests/util_keys.h" /* CA and identities (cmocka-free) */

/* Hex decode (lower or upper case); returns bytes written or -1. */
long grove_test_unhex(const char *hex, uint8_t *out, size_t cap);

/* The hex block after "<!-- golden:NAME -->" in a doc file, decoded into
 * out; returns its length (asserts the block exists). */
long grove_test_doc_golden(const char *doc_path, const char *name, uint8_t *out, size_t cap);

#endif
