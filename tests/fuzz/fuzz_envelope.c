/*
 * fuzz_envelope.c - libFuzzer target for the datagram path: the certificate
 * decoder, grove_envelope_open and grove_envelope_proven_cert on arbitrary bytes, against a fresh peer
 * book that knows one sender ("alpha"), each input opened twice (the second
 * time must never be accepted: replay).  Keys come from fixed seeds (tests/util_keys.c) so the
 * seed corpus (valid datagrams from alpha, with and without certificate)
 * reaches the accepting path (open and sealed for beta).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "tests/util_keys.h"
#include "gossip/secure/envelope.h"

#define NOW_MS GROVE_TEST_NOW_MS

static grove_identity_t alpha, beta;
static grove_test_ca_t ca;
static grove_pairkeys_t keys; /* beta's, as groved keeps one for the process */

static void setup_once(void)
{
	static int done;
	if (!done) {
		grove_test_pair(&ca, &alpha, &beta);
		grove_pairkeys_init(&keys, &beta);
	}
	done = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup_once();
	grove_cert_t cert;
	size_t used;
	if (grove_cert_decode(data, size, &cert, &used) == 0) {
		GROVE_ASSERT(used <= size && used >= GROVE_CERT_BYTES_MIN);
		(void)grove_cert_verify(&cert, ca.pk, NOW_MS);
	}
	grove_peerbook_t *book;
	grove_peerbook_config_t cfg = { .self = &beta, .peers_max = 4 };
	if (grove_peerbook_create(&cfg, &book) != 0)
		return 0;
	GROVE_ASSERT(grove_peerbook_add(book, &alpha.cert, NOW_MS) == 0);
	grove_envelope_t env;
	grove_drop_t reason;
	int rc = grove_envelope_open_keyed(book, &keys, data, size, NOW_MS, &env, &reason);
	GROVE_ASSERT(rc == grove_drop_code(reason));
	if (rc == 0) {
		GROVE_ASSERT(env.payload_len <= size);
		GROVE_ASSERT(env.payload_len == 0 || env.sealed ||
			     (env.payload >= data && env.payload + env.payload_len <= data + size));
		GROVE_ASSERT(grove_envelope_open_keyed(book, &keys, data, size, NOW_MS, &env, &reason) < 0);
		GROVE_ASSERT(reason == GROVE_DROP_REPLAY);
	}
	/* The check behind the superseded notice (authenticated under its
	 * attached certificate): never crashes, and what it accepts verifies. */
	grove_cert_t signer;
	if (grove_envelope_proven_cert(&beta, &keys, data, size, NOW_MS, &signer) == 0)
		GROVE_ASSERT(grove_cert_verify(&signer, ca.pk, NOW_MS) == 0);
	const grove_drop_stats_t *st = grove_peerbook_stats(book);
	uint64_t total = st->accepted;
	for (int i = 0; i < GROVE_DROP_COUNT; i++)
		total += st->dropped[i];
	GROVE_ASSERT(total == (rc == 0 ? 2u : 1u));
	grove_peerbook_destroy(book);
	return 0;
}
