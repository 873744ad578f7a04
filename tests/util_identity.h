/*
 * util_identity.h - test helpers: a deterministic cluster CA and node
 * identities derived from fixed seeds, so tests (and golden vectors) get
 * the same keys on every run.  Seeds are BLAKE2b-256 of a label, so every
 * (label, variant) pair gives its own key.
 */
#ifndef GROVE_UTIL_IDENTITY_H
#define GROVE_UTIL_IDENTITY_H

#include <stdint.h>

#include "gossip/cert.h"
#include "gossip/identity.h"

typedef struct grove_test_ca {
	uint8_t pk[GROVE_SIGN_PUBLIC_BYTES];
	uint8_t sk[GROVE_SIGN_SECRET_BYTES];
} grove_test_ca_t;

/* A fixed far-future expiry (2100-01-01) and a "now" well before it. */
#define GROVE_TEST_EXPIRES_MS 4102444800000ull
#define GROVE_TEST_NOW_MS 1764000000000ull

/* Seed = BLAKE2b-256(label || variant byte). */
void grove_test_seed(uint8_t seed[GROVE_SIGN_SEED_BYTES], const char *label, uint8_t variant);

/* The CA named `label` (deterministic). */
void grove_test_ca_init(grove_test_ca_t *ca, const char *label);

/* Identity for node_id with key variant `variant`, certified by ca until
 * expires_ms; trusts trust_ca (usually ca).  Asserts on failure. */
void grove_test_identity(grove_identity_t *id, const grove_test_ca_t *ca, const grove_test_ca_t *trust_ca,
			 const char *node_id, uint8_t variant, uint64_t expires_ms);

/* Hex decode (lower or upper case); returns bytes written or -1. */
long grove_test_unhex(const char *hex, uint8_t *out, size_t cap);

/* The hex block after "<!-- golden:NAME -->" in a doc file, decoded into
 * out; returns its length (asserts the block exists). */
long grove_test_doc_golden(const char *doc_path, const char *name, uint8_t *out, size_t cap);

#endif
