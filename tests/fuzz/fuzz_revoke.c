/*
 * fuzz_revoke.c - libFuzzer target for the revocation list decoder on
 * arbitrary bytes: a decoded list is canonical (fingerprints strictly
 * ascending, re-encodes to the same bytes), lookups find every entry, and
 * the peer book installs it only if the CA signed it.  Seed corpus: lists
 * of 0, 1 and 32 keys signed by the test CA (tests/util_keys.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "gossip/secure/peerbook.h"
#include "gossip/secure/revoke.h"
#include "tests/util_keys.h"

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
	grove_crl_t crl;
	if (grove_crl_decode(data, size, &crl) != 0)
		return 0;
	GROVE_ASSERT(crl.count <= GROVE_CRL_ENTRIES_MAX);
	for (size_t i = 0; i < crl.count; i++) {
		GROVE_ASSERT(grove_crl_has(&crl, crl.keys[i]));
		if (i > 0)
			GROVE_ASSERT(memcmp(crl.keys[i - 1], crl.keys[i], GROVE_KEY_FINGERPRINT_BYTES) < 0);
	}
	uint8_t again[GROVE_CRL_BYTES_MAX];
	size_t n = 0;
	GROVE_ASSERT(grove_crl_encode(&crl, again, sizeof again, &n) == 0);
	GROVE_ASSERT(n == size && memcmp(again, data, size) == 0);
	int valid = grove_crl_verify(&crl, ca.pk);
	grove_peerbook_t *book;
	grove_peerbook_config_t cfg = { .self = &beta, .peers_max = 4 };
	if (grove_peerbook_create(&cfg, &book) != 0)
		return 0;
	GROVE_ASSERT(grove_peerbook_add(book, &alpha.cert, GROVE_TEST_NOW_MS) == 0);
	int rc = grove_peerbook_set_crl(book, &crl);
	GROVE_ASSERT(valid == 0 ? rc == 1 : rc < 0);
	GROVE_ASSERT((grove_peerbook_crl(book) != NULL) == (valid == 0));
	grove_peerbook_destroy(book);
	return 0;
}
