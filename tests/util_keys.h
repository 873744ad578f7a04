/*
 * util_keys.h - deterministic cluster CA and node identities for tests,
 * fuzz targets and benchmarks, derived from fixed seeds so every run (and
 * every golden vector and fuzz seed corpus) gets the same keys.  Seeds are
 * BLAKE2b-256 of a label and a variant byte, so every (label, variant) pair
 * gives its own key.  Free of cmocka (fuzz targets link it too): a failure
 * here is a broken fixture and aborts through GROVE_ASSERT.
 */
#ifndef GROVE_UTIL_KEYS_H
#define GROVE_UTIL_KEYS_H

#include <stdint.h>

#include "gossip/secure/cert.h"
#include "gossip/secure/identity.h"

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
 * expires_ms; trusts trust_ca (usually ca).  Built field by field, not
 * through grove_identity_init, so tests can present invalid identities
 * (other CA, expired); wipe with grove_identity_close. */
void grove_test_identity(grove_identity_t *id, const grove_test_ca_t *ca, const grove_test_ca_t *trust_ca,
			 const char *node_id, uint8_t variant, uint64_t expires_ms);

/* The same with a version 2 certificate issued at issued_ms. */
void grove_test_identity_v2(grove_identity_t *id, const grove_test_ca_t *ca, const grove_test_ca_t *trust_ca,
			    const char *node_id, uint8_t variant, uint64_t issued_ms, uint64_t expires_ms);

/* Public key of (label, variant), as grove_test_identity derives it. */
void grove_test_public_key(uint8_t pk[GROVE_SIGN_PUBLIC_BYTES], const char *label, uint8_t variant);

/* The usual pair: CA "ca", and "alpha" and "beta" (variant 0) certified by
 * it until GROVE_TEST_EXPIRES_MS and trusting it. */
void grove_test_pair(grove_test_ca_t *ca, grove_identity_t *alpha, grove_identity_t *beta);

#endif
