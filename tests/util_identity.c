/*
 * util_identity.c - deterministic CA and node identities for tests (see
 * util_identity.h).
 */
#include "tests/util_identity.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

void grove_test_seed(uint8_t seed[GROVE_SIGN_SEED_BYTES], const char *label, uint8_t variant)
{
	assert_int_equal(grove_crypto_init(), 0);
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
	assert_int_equal(grove_sign_seed_keypair(ca->pk, ca->sk, seed), 0);
}

void grove_test_identity(grove_identity_t *id, const grove_test_ca_t *ca, const grove_test_ca_t *trust_ca,
			 const char *node_id, uint8_t variant, uint64_t expires_ms)
{
	uint8_t seed[GROVE_SIGN_SEED_BYTES], pk[GROVE_SIGN_PUBLIC_BYTES], sk[GROVE_SIGN_SECRET_BYTES];
	grove_test_seed(seed, node_id, variant);
	assert_int_equal(grove_sign_seed_keypair(pk, sk, seed), 0);
	grove_cert_t cert;
	assert_int_equal(grove_cert_issue(&cert, node_id, pk, expires_ms, ca->sk), 0);
	/* init checks the certificate; build it by hand when it is meant to be
	 * invalid (other CA, expired) so tests can present bad identities. */
	memset(id, 0, sizeof *id);
	id->cert = cert;
	memcpy(id->sk, sk, sizeof id->sk);
	memcpy(id->ca_pk, trust_ca->pk, sizeof id->ca_pk);
	sodium_memzero(sk, sizeof sk);
}

long grove_test_unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	for (const char *p = hex; *p != '\0';) {
		if (*p == ' ' || *p == '\n') {
			p++;
			continue;
		}
		unsigned v;
		if (n >= cap || sscanf(p, "%2x", &v) != 1 || p[1] == '\0')
			return -1;
		out[n++] = (uint8_t)v;
		p += 2;
	}
	return (long)n;
}

long grove_test_doc_golden(const char *doc_path, const char *name, uint8_t *out, size_t cap)
{
	FILE *f = fopen(doc_path, "r");
	assert_non_null(f);
	char marker[128], line[256], hex[4096] = "";
	snprintf(marker, sizeof marker, "<!-- golden:%s -->", name);
	int stage = 0; /* 0 looking for marker, 1 for the fence, 2 in the block */
	while (stage < 3 && fgets(line, sizeof line, f) != NULL) {
		if (stage == 0 && strncmp(line, marker, strlen(marker)) == 0)
			stage = 1;
		else if (stage >= 1 && strncmp(line, "```", 3) == 0)
			stage++;
		else if (stage == 2 && strlen(hex) + strlen(line) < sizeof hex)
			strcat(hex, line);
	}
	fclose(f);
	assert_int_equal(stage, 3);
	return grove_test_unhex(hex, out, cap);
}
