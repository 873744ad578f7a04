/*
 * util_keys.c - deterministic CA and node identities for tests, fuzz
 * targets and benchmarks (see util_keys.h).  No cmocka here.
 */
#include "tests/util_keys.h"

#include <string.h>

#include <sodium.h>

#include "base/assert.h"

void grove_test_seed(uint8_t seed[GROVE_SIGN_SEED_BYTES], const char *label, uint8_t variant)
{
	GROVE_ASSERT(grove_crypto_init() == 0);
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, GROVE_SIGN_SEED_BYTES);
	crypto_generichash_update(&st, (const uint8_t *)label, strlen(label));
	crypto_generichash_update(&st, &variant, 1);
	crypto_generichash_final(&st, seed, GROVE_SIGN_SEED_BYTES);
}

void grove_test_ca_init(grove_test_ca_t *ca, const char *label)
{
	uint8_t seed[GROVE_SIGN_SEED_BYTES];
	grove_test_seed(seed, label, 0);
	GROVE_ASSERT(grove_sign_seed_keypair(ca->pk, ca->sk, seed) == 0);
}

void grove_test_identity(grove_identity_t *id, const grove_test_ca_t *ca, const grove_test_ca_t *trust_ca,
			 const char *node_id, uint8_t variant, uint64_t expires_ms)
{
	uint8_t seed[GROVE_SIGN_SEED_BYTES], pk[GROVE_SIGN_PUBLIC_BYTES], sk[GROVE_SIGN_SECRET_BYTES];
	grove_test_seed(seed, node_id, variant);
	GROVE_ASSERT(grove_sign_seed_keypair(pk, sk, seed) == 0);
	grove_cert_t cert;
	GROVE_ASSERT(grove_cert_issue(&cert, node_id, pk, expires_ms, ca->sk) == 0);
	memset(id, 0, sizeof *id);
	id->cert = cert;
	memcpy(id->sk, sk, sizeof id->sk);
	memcpy(id->ca_pk, trust_ca->pk, sizeof id->ca_pk);
	sodium_memzero(sk, sizeof sk);
	sodium_memzero(seed, sizeof seed);
}

void grove_test_identity_v2(grove_identity_t *id, const grove_test_ca_t *ca, const grove_test_ca_t *trust_ca,
			    const char *node_id, uint8_t variant, uint64_t issued_ms, uint64_t expires_ms)
{
	uint8_t seed[GROVE_SIGN_SEED_BYTES], pk[GROVE_SIGN_PUBLIC_BYTES], sk[GROVE_SIGN_SECRET_BYTES];
	grove_test_seed(seed, node_id, variant);
	GROVE_ASSERT(grove_sign_seed_keypair(pk, sk, seed) == 0);
	grove_cert_t cert;
	GROVE_ASSERT(grove_cert_issue_v2(&cert, node_id, pk, issued_ms, expires_ms, ca->sk) == 0);
	memset(id, 0, sizeof *id);
	id->cert = cert;
	memcpy(id->sk, sk, sizeof id->sk);
	memcpy(id->ca_pk, trust_ca->pk, sizeof id->ca_pk);
	sodium_memzero(sk, sizeof sk);
	sodium_memzero(seed, sizeof seed);
}

void grove_test_public_key(uint8_t pk[GROVE_SIGN_PUBLIC_BYTES], const char *label, uint8_t variant)
{
	uint8_t seed[GROVE_SIGN_SEED_BYTES], sk[GROVE_SIGN_SECRET_BYTES];
	grove_test_seed(seed, label, variant);
	GROVE_ASSERT(grove_sign_seed_keypair(pk, sk, seed) == 0);
	sodium_memzero(sk, sizeof sk);
}

void grove_test_pair(grove_test_ca_t *ca, grove_identity_t *alpha, grove_identity_t *beta)
{
	grove_test_ca_init(ca, "ca");
	grove_test_identity(alpha, ca, ca, "alpha", 0, GROVE_TEST_EXPIRES_MS);
	grove_test_identity(beta, ca, ca, "beta", 0, GROVE_TEST_EXPIRES_MS);
}
