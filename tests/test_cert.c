/*
 * test_cert.c - node certificates: issue/verify, the documented known-answer
 * vector, expiry, wrong CA, tampering of every byte, truncation, hostile
 * encodings; identity init/close.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "base/rng.h"
#include "gossip/secure/cert.h"
#include "gossip/secure/identity.h"
#include "tests/util_identity.h"

#define GOLDEN_EXPIRES_MS 1798761600000ull

static void seed_fill(uint8_t seed[GROVE_SIGN_SEED_BYTES], uint8_t b)
{
	memset(seed, b, GROVE_SIGN_SEED_BYTES);
}

static void test_golden_vector_matches_doc(void **state)
{
	(void)state;
	uint8_t seed[GROVE_SIGN_SEED_BYTES], ca_pk[32], ca_sk[64], pk[32], sk[64];
	seed_fill(seed, 0x01);
	assert_int_equal(grove_sign_seed_keypair(ca_pk, ca_sk, seed), 0);
	seed_fill(seed, 0x02);
	assert_int_equal(grove_sign_seed_keypair(pk, sk, seed), 0);
	grove_cert_t c;
	assert_int_equal(grove_cert_issue(&c, "node-a", pk, GOLDEN_EXPIRES_MS, ca_sk), 0);
	uint8_t enc[GROVE_CERT_BYTES_MAX];
	size_t n;
	assert_int_equal(grove_cert_encode(&c, enc, sizeof enc, &n), 0);

	uint8_t doc[512];
	long doc_len = grove_test_doc_golden("doc/wire_format.md", "cert", doc, sizeof doc);
	assert_int_equal(doc_len, (long)n);
	assert_memory_equal(doc, enc, n);

	grove_cert_t d;
	assert_int_equal(grove_cert_decode(doc, (size_t)doc_len, &d, NULL), 0);
	assert_string_equal(d.node_id, "node-a");
	assert_int_equal(d.expires_ms, GOLDEN_EXPIRES_MS);
	assert_true(grove_cert_equal(&c, &d));
	assert_int_equal(grove_cert_verify(&d, ca_pk, GOLDEN_EXPIRES_MS - 1), 0);
}

static void test_roundtrip_and_expiry(void **state)
{
	(void)state;
	grove_test_ca_t ca;
	grove_test_ca_init(&ca, "ca-main");
	grove_identity_t id;
	grove_test_identity(&id, &ca, &ca, "n1", 0, 5000);
	uint8_t buf[GROVE_CERT_BYTES_MAX];
	size_t n;
	assert_int_equal(grove_cert_encode(&id.cert, buf, sizeof buf, &n), 0);
	assert_int_equal(n, GROVE_CERT_BYTES_MIN + 1);
	assert_int_equal(grove_cert_encode(&id.cert, buf, n - 1, &n), GROVE_ETOOBIG);
	grove_cert_t d;
	assert_int_equal(grove_cert_decode(buf, GROVE_CERT_BYTES_MIN + 1, &d, NULL), 0);
	assert_true(grove_cert_equal(&d, &id.cert));
	assert_int_equal(grove_cert_verify(&d, ca.pk, 4999), 0);
	assert_int_equal(grove_cert_verify(&d, ca.pk, 5000), GROVE_EEXPIRED);
	assert_int_equal(grove_cert_verify(&d, ca.pk, UINT64_MAX), GROVE_EEXPIRED);
	grove_identity_close(&id);
}

static void test_wrong_ca_and_forgery(void **state)
{
	(void)state;
	grove_test_ca_t ca, other;
	grove_test_ca_init(&ca, "ca-main");
	grove_test_ca_init(&other, "ca-other");
	grove_identity_t id;
	grove_test_identity(&id, &other, &ca, "n1", 0, GROVE_TEST_EXPIRES_MS);
	/* Signed by another CA: names that CA, so untrusted here. */
	assert_int_equal(grove_cert_verify(&id.cert, ca.pk, GROVE_TEST_NOW_MS), GROVE_EUNTRUSTED);
	assert_int_equal(grove_cert_verify(&id.cert, other.pk, GROVE_TEST_NOW_MS), 0);
	/* Forged: claims our CA's id but the signature is the other CA's. */
	grove_cert_t forged = id.cert;
	grove_ca_id(forged.ca_id, ca.pk);
	assert_int_equal(grove_cert_verify(&forged, ca.pk, GROVE_TEST_NOW_MS), GROVE_EBADSIG);
	/* Extended expiry: signature no longer covers it. */
	grove_identity_t good;
	grove_test_identity(&good, &ca, &ca, "n1", 0, 1000);
	forged = good.cert;
	forged.expires_ms = GROVE_TEST_EXPIRES_MS;
	assert_int_equal(grove_cert_verify(&forged, ca.pk, GROVE_TEST_NOW_MS), GROVE_EBADSIG);
	grove_identity_close(&id);
	grove_identity_close(&good);
}

/* Flip every bit of every byte: nothing verifies, nothing crashes. */
static void test_every_bit_flipped_is_rejected(void **state)
{
	(void)state;
	grove_test_ca_t ca;
	grove_test_ca_init(&ca, "ca-main");
	grove_identity_t id;
	grove_test_identity(&id, &ca, &ca, "node-flip", 0, GROVE_TEST_EXPIRES_MS);
	uint8_t buf[GROVE_CERT_BYTES_MAX];
	size_t n;
	assert_int_equal(grove_cert_encode(&id.cert, buf, sizeof buf, &n), 0);
	int rejected = 0;
	for (size_t i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit++) {
			buf[i] ^= (uint8_t)(1u << bit);
			grove_cert_t d;
			int rc = grove_cert_decode(buf, n, &d, NULL);
			if (rc == 0)
				rc = grove_cert_verify(&d, ca.pk, GROVE_TEST_NOW_MS);
			assert_true(rc < 0);
			rejected++;
			buf[i] ^= (uint8_t)(1u << bit);
		}
	}
	assert_int_equal(rejected, (int)n * 8);
	grove_identity_close(&id);
}

static void test_truncated_trailing_and_hostile(void **state)
{
	(void)state;
	grove_test_ca_t ca;
	grove_test_ca_init(&ca, "ca-main");
	grove_identity_t id;
	grove_test_identity(&id, &ca, &ca, "node-t", 0, GROVE_TEST_EXPIRES_MS);
	uint8_t buf[GROVE_CERT_BYTES_MAX + 8];
	size_t n;
	assert_int_equal(grove_cert_encode(&id.cert, buf, sizeof buf, &n), 0);
	grove_cert_t d;
	for (size_t len = 0; len < n; len++)
		assert_int_equal(grove_cert_decode(buf, len, &d, NULL), GROVE_EDECODE);
	buf[n] = 0xaa;
	assert_int_equal(grove_cert_decode(buf, n + 1, &d, NULL), GROVE_EDECODE);
	size_t used = 0;
	assert_int_equal(grove_cert_decode(buf, n + 1, &d, &used), 0);
	assert_int_equal(used, n);
	buf[0] = 3;
	assert_int_equal(grove_cert_decode(buf, n, &d, NULL), GROVE_EVERSION);
	buf[0] = 0;
	assert_int_equal(grove_cert_decode(buf, n, &d, NULL), GROVE_EVERSION);
	buf[0] = 1;
	buf[1] = 0; /* empty id */
	assert_int_equal(grove_cert_decode(buf, n, &d, NULL), GROVE_EDECODE);
	buf[1] = 6;
	buf[2] = ' '; /* space not allowed */
	assert_int_equal(grove_cert_decode(buf, n, &d, NULL), GROVE_EDECODE);
	grove_identity_close(&id);
}

static void test_random_bytes_never_decode_to_trusted(void **state)
{
	(void)state;
	uint64_t seed = 0x5eed0001;
	printf("seed %llu\n", (unsigned long long)seed);
	grove_rng_t rng;
	grove_rng_seed(&rng, seed);
	grove_test_ca_t ca;
	grove_test_ca_init(&ca, "ca-main");
	uint8_t buf[GROVE_CERT_BYTES_MAX];
	for (int i = 0; i < 20000; i++) {
		size_t len = grove_rng_below(&rng, sizeof buf + 1);
		for (size_t j = 0; j < len; j++)
			buf[j] = (uint8_t)grove_rng_next(&rng);
		if (len > 0 && i % 2 == 0)
			buf[0] = GROVE_CERT_VERSION;
		grove_cert_t d;
		if (grove_cert_decode(buf, len, &d, NULL) == 0)
			assert_true(grove_cert_verify(&d, ca.pk, GROVE_TEST_NOW_MS) < 0);
	}
}

static void test_issue_rejects_bad_ids(void **state)
{
	(void)state;
	grove_test_ca_t ca;
	grove_test_ca_init(&ca, "ca-main");
	grove_cert_t c;
	memset(&c, 0x5a, sizeof c);
	grove_cert_t before = c;
	char long_id[GROVE_NODE_ID_MAX + 2];
	memset(long_id, 'x', sizeof long_id - 1);
	long_id[sizeof long_id - 1] = '\0';
	assert_int_equal(grove_cert_issue(&c, "", ca.pk, 1, ca.sk), GROVE_EINVAL);
	assert_int_equal(grove_cert_issue(&c, long_id, ca.pk, 1, ca.sk), GROVE_EINVAL);
	assert_int_equal(grove_cert_issue(&c, "a b", ca.pk, 1, ca.sk), GROVE_EINVAL);
	assert_int_equal(grove_cert_issue(&c, "a\tb", ca.pk, 1, ca.sk), GROVE_EINVAL);
	assert_int_equal(grove_cert_issue(&c, NULL, ca.pk, 1, ca.sk), GROVE_EINVAL);
	assert_memory_equal(&c, &before, sizeof c); /* untouched on failure */
	long_id[GROVE_NODE_ID_MAX] = '\0';          /* exactly the maximum */
	assert_int_equal(grove_cert_issue(&c, long_id, ca.pk, 1, ca.sk), 0);
	uint8_t buf[GROVE_CERT_BYTES_MAX];
	size_t n;
	assert_int_equal(grove_cert_encode(&c, buf, sizeof buf, &n), 0);
	assert_int_equal(n, GROVE_CERT_V1_BYTES_MAX);
	assert_int_equal(grove_cert_issue_v2(&c, long_id, ca.pk, 1, 2, ca.sk), 0);
	assert_int_equal(grove_cert_encode(&c, buf, sizeof buf, &n), 0);
	assert_int_equal(n, GROVE_CERT_BYTES_MAX);
	assert_int_equal(grove_cert_issue_v2(&c, "a", ca.pk, 2, 2, ca.sk), GROVE_EINVAL); /* issued >= expires */
}

static void test_identity_init_checks_and_wipes(void **state)
{
	(void)state;
	grove_test_ca_t ca, other;
	grove_test_ca_init(&ca, "ca-main");
	grove_test_ca_init(&other, "ca-other");
	grove_identity_t a, b, id;
	grove_test_identity(&a, &ca, &ca, "node-a", 0, GROVE_TEST_EXPIRES_MS);
	grove_test_identity(&b, &ca, &ca, "node-b", 0, GROVE_TEST_EXPIRES_MS);
	assert_int_equal(grove_identity_init(&id, &a.cert, b.sk, ca.pk, GROVE_TEST_NOW_MS), GROVE_EINVAL);
	assert_int_equal(grove_identity_init(&id, &a.cert, a.sk, other.pk, GROVE_TEST_NOW_MS), GROVE_EUNTRUSTED);
	assert_int_equal(grove_identity_init(&id, &a.cert, a.sk, ca.pk, GROVE_TEST_EXPIRES_MS), GROVE_EEXPIRED);
	assert_int_equal(grove_identity_init(&id, &a.cert, a.sk, ca.pk, GROVE_TEST_NOW_MS), 0);
	assert_string_equal(grove_identity_node_id(&id), "node-a");
	uint8_t sig[GROVE_SIGNATURE_BYTES];
	grove_identity_sign(&id, sig, (const uint8_t *)"msg", 3);
	assert_int_equal(crypto_sign_verify_detached(sig, (const uint8_t *)"msg", 3, a.cert.node_pk), 0);
	grove_identity_close(&id);
	uint8_t zero[sizeof id];
	memset(zero, 0, sizeof zero);
	assert_memory_equal(&id, zero, sizeof id);
	grove_identity_close(&a);
	grove_identity_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_vector_matches_doc),
		cmocka_unit_test(test_roundtrip_and_expiry),
		cmocka_unit_test(test_wrong_ca_and_forgery),
		cmocka_unit_test(test_every_bit_flipped_is_rejected),
		cmocka_unit_test(test_truncated_trailing_and_hostile),
		cmocka_unit_test(test_random_bytes_never_decode_to_trusted),
		cmocka_unit_test(test_issue_rejects_bad_ids),
		cmocka_unit_test(test_identity_init_checks_and_wipes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
