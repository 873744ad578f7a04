/*
 * bench_crypto.c - cost of the security layer on one core, each figure
 * beside a libsodium baseline measured in the same run:
 *   - datagram seal (sign) and open (verify) per second for 1200-byte
 *     datagrams, beside bare crypto_sign_detached / _verify_detached, and
 *     the same for SEALED datagrams (encrypted for the recipient: envelope
 *     v2) beside the signed-only ones of the same run;
 *   - drops that the cheap checks catch before the signature (replays,
 *     unknown senders) per second;
 *   - session handshakes per second;
 *   - session frame throughput in MB/s (encrypt + decrypt, 64 KiB and 1 MiB
 *     frames) beside bare secretstream push + pull.
 * Single-threaded; reads the monotonic clock (benchmarks may, the library
 * may not).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "base/assert.h"
#include "gossip/secure/envelope.h"
#include "gossip/secure/channel.h"
#include "tests/util_keys.h"

#define NOW_MS GROVE_TEST_NOW_MS
#define DATAGRAM_BYTES 1200
#define DATAGRAMS 10000
#define REPEATS 3
#define STREAM_BYTES (128u * 1024 * 1024)
#define HANDSHAKES 2000

static grove_identity_t alpha, beta;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct batch {
	uint8_t (*d)[GROVE_DATAGRAM_MAX];
	size_t *len;
} batch_t;

/* Seal DATAGRAMS 1200-byte datagrams (fresh sequence numbers), open
 * (signed) or sealed for beta (no signature: more payload); returns /s. */
static double seal_batch(grove_sender_t *tx, batch_t *b, bool sealed)
{
	size_t payload_len = grove_envelope_payload_max(tx, "beta", false) - (GROVE_DATAGRAM_MAX - DATAGRAM_BYTES) +
			     (sealed ? GROVE_SIGNATURE_BYTES - GROVE_ENVELOPE_SEAL_BYTES : 0);
	uint8_t payload[GROVE_DATAGRAM_MAX];
	memset(payload, 'p', sizeof payload);
	double t0 = now_s();
	for (int i = 0; i < DATAGRAMS; i++)
		GROVE_ASSERT((sealed ? grove_envelope_seal_for(tx, 1, &beta.cert, false, payload, payload_len, b->d[i],
							       GROVE_DATAGRAM_MAX, &b->len[i])
				     : grove_envelope_seal(tx, 1, "beta", false, payload, payload_len, b->d[i],
							   GROVE_DATAGRAM_MAX, &b->len[i])) == 0);
	double rate = DATAGRAMS / (now_s() - t0);
	GROVE_ASSERT(b->len[0] == DATAGRAM_BYTES);
	return rate;
}

static double sign_batch(const batch_t *b)
{
	uint8_t sig[GROVE_SIGNATURE_BYTES];
	double t0 = now_s();
	for (int i = 0; i < DATAGRAMS; i++)
		crypto_sign_detached(sig, NULL, b->d[i], DATAGRAM_BYTES - GROVE_SIGNATURE_BYTES, alpha.sk);
	return DATAGRAMS / (now_s() - t0);
}

static double verify_batch(const batch_t *b)
{
	double t0 = now_s();
	for (int i = 0; i < DATAGRAMS; i++)
		GROVE_ASSERT(crypto_sign_verify_detached(b->d[i] + b->len[i] - GROVE_SIGNATURE_BYTES, b->d[i],
							 b->len[i] - GROVE_SIGNATURE_BYTES, alpha.cert.node_pk) == 0);
	return DATAGRAMS / (now_s() - t0);
}

/* Open the whole batch expecting `want` for each (keys: beta's cache, as
 * groved opens); returns /s. */
static grove_pairkeys_t beta_keys;
static grove_envelope_t env;

static double open_batch(grove_peerbook_t *book, const batch_t *b, int want)
{
	double t0 = now_s();
	for (int i = 0; i < DATAGRAMS; i++)
		GROVE_ASSERT(grove_envelope_open_keyed(book, &beta_keys, b->d[i], b->len[i], NOW_MS, &env, NULL) == want);
	return DATAGRAMS / (now_s() - t0);
}

static double max2(double a, double b)
{
	return a > b ? a : b;
}

/* Best of REPEATS runs of each figure: the machine is shared. */
static void bench_datagrams(void)
{
	batch_t b = { malloc((size_t)DATAGRAMS * GROVE_DATAGRAM_MAX), malloc(DATAGRAMS * sizeof(size_t)) };
	GROVE_ASSERT(b.d != NULL && b.len != NULL);
	grove_sender_t tx;
	grove_sender_init(&tx, &alpha, 1);
	grove_pairkeys_init(&beta_keys, &beta);
	double seal = 0, sign = 0, open = 0, verify = 0, replay = 0, unknown = 0, sseal = 0, sopen = 0;
	for (int r = 0; r < REPEATS; r++) {
		grove_peerbook_t *sbook;
		grove_peerbook_config_t scfg = { .self = &beta };
		GROVE_ASSERT(grove_peerbook_create(&scfg, &sbook) == 0);
		GROVE_ASSERT(grove_peerbook_add(sbook, &alpha.cert, NOW_MS) == 0);
		sseal = max2(sseal, seal_batch(&tx, &b, true));
		GROVE_ASSERT(b.len[0] == DATAGRAM_BYTES);
		sopen = max2(sopen, open_batch(sbook, &b, 0));
		GROVE_ASSERT(env.sealed);
		grove_peerbook_destroy(sbook);
		seal = max2(seal, seal_batch(&tx, &b, false));
		sign = max2(sign, sign_batch(&b));
		verify = max2(verify, verify_batch(&b));
		grove_peerbook_t *book;
		grove_peerbook_config_t cfg = { .self = &beta };
		GROVE_ASSERT(grove_peerbook_create(&cfg, &book) == 0);
		GROVE_ASSERT(grove_peerbook_add(book, &alpha.cert, NOW_MS) == 0);
		open = max2(open, open_batch(book, &b, 0));
		replay = max2(replay, open_batch(book, &b, GROVE_EREPLAY));
		GROVE_ASSERT(grove_peerbook_remove(book, "alpha") == 0);
		unknown = max2(unknown, open_batch(book, &b, GROVE_EAUTH));
		grove_peerbook_destroy(book);
	}
	printf("datagram seal (1200 B):      %8.0f /s   baseline crypto_sign_detached %8.0f /s\n", seal, sign);
	printf("datagram open (1200 B):      %8.0f /s   baseline crypto_sign_verify   %8.0f /s\n", open, verify);
	printf("sealed seal (1200 B):        %8.0f /s   same run, signed-only seal    %8.0f /s\n", sseal, seal);
	printf("sealed open (1200 B):        %8.0f /s   same run, signed-only open    %8.0f /s\n", sopen, open);
	printf("drop replay (no signature):  %8.0f /s\n", replay);
	printf("drop unknown sender:         %8.0f /s\n", unknown);
	grove_pairkeys_close(&beta_keys);
	grove_sender_close(&tx);
	free(b.d);
	free(b.len);
}

static void drain(grove_channel_t *from, grove_channel_t *to)
{
	const uint8_t *p;
	size_t n;
	grove_channel_pending(from, &p, &n);
	if (n > 0)
		GROVE_ASSERT(grove_channel_feed(to, p, n) == 0);
	grove_channel_consume(from, n);
}

static void session_pair(grove_channel_t **a, grove_channel_t **b, grove_frame_fn on_frame, void *ctx)
{
	grove_channel_config_t ca = { .self = &alpha, .role = GROVE_CHANNEL_INITIATOR, .now_ms = NOW_MS };
	grove_channel_config_t cb = {
		.self = &beta, .role = GROVE_CHANNEL_RESPONDER, .now_ms = NOW_MS, .on_frame = on_frame, .frame_ctx = ctx
	};
	GROVE_ASSERT(grove_channel_create(&ca, a) == 0 && grove_channel_create(&cb, b) == 0);
	for (int i = 0; i < 3; i++) {
		drain(*a, *b);
		drain(*b, *a);
	}
	GROVE_ASSERT(grove_channel_established(*a) && grove_channel_established(*b));
}

static int count_bytes(void *ctx, const uint8_t *frame, size_t len)
{
	(void)frame;
	*(size_t *)ctx += len;
	return 0;
}

static void bench_handshakes(void)
{
	double t0 = now_s();
	for (int i = 0; i < HANDSHAKES; i++) {
		grove_channel_t *a, *b;
		session_pair(&a, &b, NULL, NULL);
		grove_channel_destroy(a);
		grove_channel_destroy(b);
	}
	printf("session handshakes:          %8.0f /s   (both ends, one core)\n", HANDSHAKES / (now_s() - t0));
}

static double baseline_stream(uint8_t *frame, size_t frame_len)
{
	uint8_t key[crypto_secretstream_xchacha20poly1305_KEYBYTES];
	uint8_t header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
	crypto_secretstream_xchacha20poly1305_state push, pull;
	crypto_secretstream_xchacha20poly1305_keygen(key);
	crypto_secretstream_xchacha20poly1305_init_push(&push, header, key);
	GROVE_ASSERT(crypto_secretstream_xchacha20poly1305_init_pull(&pull, header, key) == 0);
	uint8_t *c = malloc(frame_len + crypto_secretstream_xchacha20poly1305_ABYTES);
	GROVE_ASSERT(c != NULL);
	double t0 = now_s();
	for (size_t done = 0; done < STREAM_BYTES; done += frame_len) {
		crypto_secretstream_xchacha20poly1305_push(&push, c, NULL, frame, frame_len, NULL, 0, 0);
		GROVE_ASSERT(crypto_secretstream_xchacha20poly1305_pull(&pull, frame, NULL, NULL, c,
									 frame_len + crypto_secretstream_xchacha20poly1305_ABYTES,
									 NULL, 0) == 0);
	}
	double rate = STREAM_BYTES / (now_s() - t0) / 1e6;
	free(c);
	return rate;
}

static void bench_stream(size_t frame_len)
{
	uint8_t *frame = calloc(1, frame_len);
	GROVE_ASSERT(frame != NULL);
	size_t received = 0;
	grove_channel_t *a, *b;
	session_pair(&a, &b, count_bytes, &received);
	double t0 = now_s();
	for (size_t done = 0; done < STREAM_BYTES; done += frame_len) {
		GROVE_ASSERT(grove_channel_send(a, frame, frame_len) == 0);
		drain(a, b);
	}
	double rate = STREAM_BYTES / (now_s() - t0) / 1e6;
	GROVE_ASSERT(received == STREAM_BYTES);
	printf("session frames %4zu KiB:      %8.0f MB/s baseline secretstream push+pull %6.0f MB/s\n",
	       frame_len / 1024, rate, baseline_stream(frame, frame_len));
	grove_channel_destroy(a);
	grove_channel_destroy(b);
	free(frame);
}

int main(void)
{
	GROVE_ASSERT(grove_crypto_init() == 0);
	grove_test_ca_t ca;
	grove_test_pair(&ca, &alpha, &beta);
	printf("bench_crypto (one core, %d datagrams, %u MiB per stream run)\n", DATAGRAMS, STREAM_BYTES >> 20);
	bench_datagrams();
	bench_handshakes();
	bench_stream(64 * 1024);
	bench_stream(GROVE_FRAME_BYTES_MAX);
	grove_identity_close(&alpha);
	grove_identity_close(&beta);
	return 0;
}
