/*
 * fuzz_session.c - libFuzzer target for the stream-session decoders.  The
 * first input byte picks the victim: 0 a fresh responder (HELLO_I decoder),
 * 1 an initiator that sent HELLO_I (HELLO_R decoder), 2 an established
 * responder (record and frame decoder, after a real in-memory handshake).
 * The second byte sets the chunk size the rest is fed in, so record
 * reassembly across splits is exercised too.  Keys (tests/util_keys.c) and ephemeral keys
 * come from fixed seeds, so the seed corpus (recorded HELLO_I / HELLO_R) reaches
 * deep into the handshake.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "tests/util_keys.h"
#include "gossip/secure/channel.h"

#define NOW_MS GROVE_TEST_NOW_MS
#define PUMP_ROUNDS_MAX 8

static grove_identity_t alpha, beta;
static grove_test_ca_t ca;

static void setup_once(void)
{
	static int done;
	if (!done)
		grove_test_pair(&ca, &alpha, &beta);
	done = 1;
}

static int drop_frame(void *ctx, const uint8_t *frame, size_t len)
{
	(void)ctx;
	(void)frame;
	GROVE_ASSERT(len <= GROVE_FRAME_BYTES_MAX);
	return 0;
}

static grove_channel_t *make(grove_channel_role_t role, uint8_t kx_byte)
{
	uint8_t kx_seed[GROVE_CHANNEL_KX_SEED_BYTES];
	memset(kx_seed, kx_byte, sizeof kx_seed);
	grove_channel_config_t cfg = {
		.self = role == GROVE_CHANNEL_INITIATOR ? &alpha : &beta,
		.role = role,
		.now_ms = NOW_MS,
		.on_frame = drop_frame,
		.kx_seed = kx_seed,
	};
	grove_channel_t *s = NULL;
	return grove_channel_create(&cfg, &s) == 0 ? s : NULL;
}

static void drain(grove_channel_t *from, grove_channel_t *to)
{
	const uint8_t *p;
	size_t n;
	grove_channel_pending(from, &p, &n);
	if (to != NULL && n > 0)
		(void)grove_channel_feed(to, p, n);
	grove_channel_consume(from, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup_once();
	if (size < 2)
		return 0;
	uint8_t mode = data[0] % 3;
	size_t chunk = 1 + data[1];
	data += 2;
	size -= 2;
	grove_channel_t *init = make(GROVE_CHANNEL_INITIATOR, 4);
	grove_channel_t *resp = make(GROVE_CHANNEL_RESPONDER, 5);
	if (init == NULL || resp == NULL)
		goto out;
	grove_channel_t *victim = mode == 1 ? init : resp;
	if (mode == 2) {
		for (int i = 0; i < PUMP_ROUNDS_MAX; i++) {
			drain(init, resp);
			drain(resp, init);
		}
		GROVE_ASSERT(grove_channel_established(init) && grove_channel_established(resp));
	}
	drain(init, NULL); /* HELLO_I (modes 0, 1) goes nowhere */
	int rc = 0;
	for (size_t off = 0; off < size && rc == 0; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;
		rc = grove_channel_feed(victim, data + off, n);
	}
	GROVE_ASSERT(rc == grove_channel_error(victim));
	(void)grove_channel_eof(victim);
	if (grove_channel_established(victim))
		(void)grove_channel_send(victim, (const uint8_t *)"x", 1);
out:
	grove_channel_destroy(init);
	grove_channel_destroy(resp);
	return 0;
}
