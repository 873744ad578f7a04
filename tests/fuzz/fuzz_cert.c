/*
 * fuzz_cert.c - libFuzzer target for the certificate decoder (versions 1
 * and 2) on arbitrary bytes: a decoded certificate re-encodes to exactly
 * the bytes it came from (canonical), verifies only if it is the CA's, and
 * goes through the peer book's supersede rules against a cached one
 * without reaching an assertion.  Seed corpus: a v1 and a v2 certificate
 * from the fixed test keys (tests/util_keys.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "gossip/secure/peerbook.h"
#include "tests/util_keys.h"

#define NOW_MS GROVE_TEST_NOW_MS

static grove_identity_t alpha, beta;
static grove_test_ca_t ca;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		grove_test_pair(&ca, &alpha, &beta);
		ready = 1;
	}
	grove_cert_t c;
	if (grove_cert_decode(data, size, &c, NULL) != 0)
		return 0;
	GROVE_ASSERT(c.version == GROVE_CERT_VERSION_1 || c.version == GROVE_CERT_VERSION);
	GROVE_ASSERT(size == grove_cert_encoded_len(&c) && size <= GROVE_CERT_BYTES_MAX);
	uint8_t again[GROVE_CERT_BYTES_MAX];
	size_t n = 0;
	GROVE_ASSERT(grove_cert_encode(&c, again, sizeof again, &n) == 0);
	GROVE_ASSERT(n == size && memcmp(again, data, size) == 0);
	int rc = grove_cert_verify(&c, ca.pk, NOW_MS);
	grove_peerbook_t *book;
	grove_peerbook_config_t cfg = { .self = &beta, .peers_max = 4 };
	if (grove_peerbook_create(&cfg, &book) != 0)
		return 0;
	GROVE_ASSERT(grove_peerbook_add(book, &alpha.cert, NOW_MS) == 0);
	int add = grove_peerbook_add(book, &c, NOW_MS);
	if (rc < 0)
		GROVE_ASSERT(add < 0); /* nothing untrusted gets in */
	if (add == 0 && strcmp(c.node_id, beta.cert.node_id) != 0) {
		const grove_cert_t *held = grove_peerbook_find(book, c.node_id);
		GROVE_ASSERT(held != NULL && grove_cert_order(held, &c) >= 0);
	}
	grove_peerbook_destroy(book);
	return 0;
}
