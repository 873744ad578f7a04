/*
 * test_envelope.c - signed datagrams and the peer book: the documented
 * known-answer datagram, learning peers from attached certificates, every
 * drop reason (forged, tampered, replayed, truncated, oversize, random,
 * expired, wrong CA, misdirected, from self, id conflict, book full), the
 * replay window and epoch restarts, renewal and rotation, the hash table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "grove/alloc.h"
#include "base/rng.h"
#include "gossip/secure/envelope.h"
#include "gossip/secure/peerbook.h"
#include "tests/util_identity.h"

#define NOW GROVE_TEST_NOW_MS

typedef struct node {
	grove_identity_t id;
	grove_sender_t tx;
	grove_peerbook_t *book;
} node_t;

typedef struct conflict_log {
	int calls;
	grove_cert_t known;
	grove_cert_t claimed;
} conflict_log_t;

static grove_test_ca_t ca, other_ca;

static void on_conflict(void *ctx, const grove_cert_t *known, const grove_cert_t *claimed)
{
	conflict_log_t *log = ctx;
	log->calls++;
	log->known = *known;
	log->claimed = *claimed;
}

static void node_init_full(node_t *n, const char *name, uint8_t variant, const grove_test_ca_t *signer,
			   uint64_t expires_ms, size_t peers_max, conflict_log_t *log)
{
	grove_test_identity(&n->id, signer, &ca, name, variant, expires_ms);
	grove_sender_init(&n->tx, &n->id, 1);
	grove_peerbook_config_t cfg = { .self = &n->id, .peers_max = peers_max };
	if (log != NULL) {
		cfg.on_conflict = on_conflict;
		cfg.conflict_ctx = log;
	}
	assert_int_equal(grove_peerbook_create(&cfg, &n->book), 0);
}

static void node_init(node_t *n, const char *name)
{
	node_init_full(n, name, 0, &ca, GROVE_TEST_EXPIRES_MS, 0, NULL);
}

static void node_close(node_t *n)
{
	grove_peerbook_destroy(n->book);
	grove_identity_close(&n->id);
}

/* Seal a datagram from `from`; returns its length. */
static size_t seal(node_t *from, const char *to, bool cert, const char *payload, uint8_t *out)
{
	size_t len;
	assert_int_equal(grove_envelope_seal(&from->tx, 7, to, cert, (const uint8_t *)payload, strlen(payload), out,
					     GROVE_DATAGRAM_MAX, &len),
			 0);
	return len;
}

/* The same, SEALED for `to` (encrypted under the pairwise key, no signature). */
static size_t seal_to(node_t *from, node_t *to, bool cert, const char *payload, uint8_t *out)
{
	size_t len;
	assert_int_equal(grove_envelope_seal_for(&from->tx, 7, &to->id.cert, cert, (const uint8_t *)payload,
						 strlen(payload), out, GROVE_DATAGRAM_MAX, &len),
			 0);
	return len;
}

static grove_drop_t open_reason(node_t *to, const uint8_t *d, size_t len, uint64_t now_ms)
{
	grove_envelope_t env;
	grove_drop_t reason = GROVE_DROP_COUNT;
	int rc = grove_envelope_open(to->book, d, len, now_ms, &env, &reason);
	assert_int_equal(rc, grove_drop_code(reason));
	return reason;
}

static uint64_t total_dropped(const grove_peerbook_t *b)
{
	const grove_drop_stats_t *st = grove_peerbook_stats(b);
	uint64_t sum = 0;
	for (int i = 0; i < GROVE_DROP_COUNT; i++)
		sum += st->dropped[i];
	return sum;
}

static int group_setup(void **state)
{
	(void)state;
	grove_test_ca_init(&ca, "ca-main");
	grove_test_ca_init(&other_ca, "ca-other");
	return 0;
}

static void test_golden_datagram_matches_doc(void **state)
{
	(void)state;
	uint8_t seed[32], ca_pk[32], ca_sk[64], pk[32], sk[64];
	memset(seed, 1, sizeof seed);
	assert_int_equal(grove_sign_seed_keypair(ca_pk, ca_sk, seed), 0);
	memset(seed, 2, sizeof seed);
	assert_int_equal(grove_sign_seed_keypair(pk, sk, seed), 0);
	grove_identity_t a, b;
	grove_cert_t ca_cert, cb_cert;
	assert_int_equal(grove_cert_issue(&ca_cert, "node-a", pk, 1798761600000ull, ca_sk), 0);
	assert_int_equal(grove_identity_init(&a, &ca_cert, sk, ca_pk, NOW), 0);
	memset(seed, 3, sizeof seed);
	assert_int_equal(grove_sign_seed_keypair(pk, sk, seed), 0);
	assert_int_equal(grove_cert_issue(&cb_cert, "node-b", pk, 1798761600000ull, ca_sk), 0);
	assert_int_equal(grove_identity_init(&b, &cb_cert, sk, ca_pk, NOW), 0);

	grove_sender_t tx;
	grove_sender_init(&tx, &a, 3);
	tx.next_seq = 42;
	uint8_t d[GROVE_DATAGRAM_MAX], doc[GROVE_DATAGRAM_MAX];
	size_t n;
	assert_int_equal(grove_envelope_seal(&tx, 1, "node-b", false, (const uint8_t *)"ping", 4, d, sizeof d, &n), 0);
	long doc_len = grove_test_doc_golden("doc/wire_format.md", "datagram", doc, sizeof doc);
	assert_int_equal(doc_len, (long)n);
	assert_memory_equal(doc, d, n);

	grove_peerbook_t *book;
	grove_peerbook_config_t cfg = { .self = &b };
	assert_int_equal(grove_peerbook_create(&cfg, &book), 0);
	assert_int_equal(grove_peerbook_add(book, &ca_cert, NOW), 0);
	grove_envelope_t env;
	assert_int_equal(grove_envelope_open(book, doc, (size_t)doc_len, NOW, &env, NULL), 0);
	assert_int_equal(env.kind, 1);
	assert_string_equal(env.from, "node-a");
	assert_true(env.addressed);
	assert_int_equal(env.epoch, 3);
	assert_int_equal(env.seq, 42);
	assert_int_equal(env.payload_len, 4);
	assert_memory_equal(env.payload, "ping", 4);
	assert_false(env.sealed);

	/* Sealed for node-b: the documented bytes, opened by node-b only. */
	tx.salt = 0x0102030405060708ull;
	assert_int_equal(grove_envelope_seal_for(&tx, 1, &cb_cert, false, (const uint8_t *)"ping", 4, d, sizeof d,
						 &n), 0);
	doc_len = grove_test_doc_golden("doc/wire_format.md", "datagram-sealed", doc, sizeof doc);
	assert_int_equal(doc_len, (long)n);
	assert_memory_equal(doc, d, n);
	assert_null(memmem(d, n, "ping", 4));
	assert_int_equal(grove_envelope_open(book, doc, (size_t)doc_len, NOW, &env, NULL), 0);
	assert_true(env.sealed);
	assert_int_equal(env.seq, 43);
	assert_int_equal(env.payload_len, 4);
	assert_memory_equal(env.payload, "ping", 4);
	/* No signature: the tag authenticates.  A fresh sequence number in the
	 * header (so the replay window does not answer first) changes the
	 * associated data; then one flipped ciphertext bit besides: the AEAD
	 * refuses both, and neither number is marked seen. */
	grove_drop_t why;
	d[34] = 44;
	assert_int_equal(grove_envelope_open(book, d, n, NOW, &env, &why), GROVE_EBADSIG);
	assert_int_equal(why, GROVE_DROP_BADSIG);
	d[n - 1] ^= 1;
	assert_int_equal(grove_envelope_open(book, d, n, NOW, &env, &why), GROVE_EBADSIG);
	assert_int_equal(why, GROVE_DROP_BADSIG);
	d[n - 1] ^= 1;
	d[34] = 43;
	assert_int_equal(grove_envelope_open(book, d, n, NOW, &env, &why), GROVE_EREPLAY);
	assert_int_equal(grove_envelope_seal_for(&tx, 1, &cb_cert, false, (const uint8_t *)"pong", 4, d, sizeof d,
						 &n), 0);
	assert_int_equal(grove_envelope_open(book, d, n, NOW, &env, NULL), 0);
	assert_int_equal(env.seq, 44);
	grove_sender_close(&tx);
	grove_peerbook_destroy(book);
	grove_identity_close(&a);
	grove_identity_close(&b);
}

static void test_learn_from_attached_cert(void **state)
{
	(void)state;
	node_t a, b;
	node_init(&a, "alpha");
	node_init(&b, "beta");
	uint8_t d[GROVE_DATAGRAM_MAX];
	size_t len = seal(&a, NULL, false, "hi", d);
	assert_int_equal(open_reason(&b, d, len, NOW), GROVE_DROP_UNKNOWN_SENDER);
	len = seal(&a, "beta", true, "hello", d);
	grove_envelope_t env;
	assert_int_equal(grove_envelope_open(b.book, d, len, NOW, &env, NULL), 0);
	assert_true(env.cert_attached);
	assert_true(env.cert_learned);
	assert_int_equal(env.seq, 1);
	assert_int_equal(env.payload_len, 5);
	assert_memory_equal(env.payload, "hello", 5);
	assert_non_null(grove_peerbook_find(b.book, "alpha"));
	assert_int_equal(grove_peerbook_count(b.book), 1);
	/* Known now: no certificate needed; attaching it again learns nothing. */
	len = seal(&a, "beta", false, "x", d);
	assert_int_equal(grove_envelope_open(b.book, d, len, NOW, &env, NULL), 0);
	assert_false(env.cert_learned);
	len = seal(&a, "beta", true, "x", d);
	assert_int_equal(grove_envelope_open(b.book, d, len, NOW, &env, NULL), 0);
	assert_false(env.cert_learned);
	const grove_drop_stats_t *st = grove_peerbook_stats(b.book);
	assert_int_equal(st->accepted, 3);
	assert_int_equal(st->dropped[GROVE_DROP_UNKNOWN_SENDER], 1);
	assert_int_equal(st->certs_learned, 1);
	node_close(&a);
	node_close(&b);
}

static void test_replay_window_and_epochs(void **state)
{
	(void)state;
	node_t a, b;
	node_init(&a, "alpha");
	node_init(&b, "beta");
	assert_int_equal(grove_peerbook_add(b.book, &a.id.cert, NOW), 0);
	uint8_t d[100][GROVE_DATAGRAM_MAX];
	size_t len[100];
	for (int i = 0; i < 100; i++)
		len[i] = seal(&a, "beta", false, "m", d[i]);
	/* In order, then each again: replay. */
	for (int i = 0; i < 10; i++)
		assert_int_equal(open_reason(&b, d[i], len[i], NOW), GROVE_DROP_NONE);
	for (int i = 0; i < 10; i++)
		assert_int_equal(open_reason(&b, d[i], len[i], NOW), GROVE_DROP_REPLAY);
	/* Jump ahead: 9 is still remembered (61 below), 6 has left the window
	 * (64 below), 10 was never seen so it is accepted once. */
	assert_int_equal(open_reason(&b, d[70], len[70], NOW), GROVE_DROP_NONE);
	assert_int_equal(open_reason(&b, d[9], len[9], NOW), GROVE_DROP_REPLAY);
	assert_int_equal(open_reason(&b, d[6], len[6], NOW), GROVE_DROP_REPLAY);
	assert_int_equal(open_reason(&b, d[10], len[10], NOW), GROVE_DROP_NONE);
	assert_int_equal(open_reason(&b, d[10], len[10], NOW), GROVE_DROP_REPLAY);
	assert_int_equal(open_reason(&b, d[69], len[69], NOW), GROVE_DROP_NONE);
	assert_int_equal(open_reason(&b, d[99], len[99], NOW), GROVE_DROP_NONE);
	assert_int_equal(open_reason(&b, d[30], len[30], NOW), GROVE_DROP_REPLAY);
	assert_int_equal(open_reason(&b, d[40], len[40], NOW), GROVE_DROP_NONE);
	/* Restart: a higher epoch resets the window; the old epoch is stale. */
	grove_sender_init(&a.tx, &a.id, 2);
	uint8_t e[GROVE_DATAGRAM_MAX];
	size_t elen = seal(&a, "beta", false, "restarted", e);
	assert_int_equal(open_reason(&b, e, elen, NOW), GROVE_DROP_NONE);
	assert_int_equal(open_reason(&b, d[41], len[41], NOW), GROVE_DROP_REPLAY);
	assert_int_equal(open_reason(&b, e, elen, NOW), GROVE_DROP_REPLAY);
	/* A restart that forgot to raise its epoch is refused, not confused. */
	grove_sender_init(&a.tx, &a.id, 2);
	elen = seal(&a, "beta", false, "same epoch", e);
	assert_int_equal(open_reason(&b, e, elen, NOW), GROVE_DROP_REPLAY);
	const grove_drop_stats_t *st = grove_peerbook_stats(b.book);
	assert_int_equal(st->accepted, 10 + 6);
	assert_int_equal(st->dropped[GROVE_DROP_REPLAY], 10 + 7);
	node_close(&a);
	node_close(&b);
}

static void test_replay_window_pure(void **state)
{
	(void)state;
	grove_replay_t r;
	memset(&r, 0, sizeof r);
	assert_int_equal(grove_replay_check(&r, 5, UINT64_MAX - 1), 0);
	grove_replay_mark(&r, 5, UINT64_MAX - 1);
	assert_int_equal(grove_replay_check(&r, 5, UINT64_MAX - 1), GROVE_EREPLAY);
	assert_int_equal(grove_replay_check(&r, 5, UINT64_MAX), 0);
	assert_int_equal(grove_replay_check(&r, 4, UINT64_MAX), GROVE_EREPLAY);
	assert_int_equal(grove_replay_check(&r, 5, 0), GROVE_EREPLAY);
	assert_int_equal(grove_replay_check(&r, 6, 0), 0);
	grove_replay_mark(&r, 5, UINT64_MAX);
	assert_int_equal(grove_replay_check(&r, 5, UINT64_MAX - 63), 0);
	assert_int_equal(grove_replay_check(&r, 5, UINT64_MAX - 64), GROVE_EREPLAY);
	grove_replay_mark(&r, 5, UINT64_MAX - 63); /* oldest slot in the window */
	assert_int_equal(grove_replay_check(&r, 5, UINT64_MAX - 63), GROVE_EREPLAY);
	grove_replay_mark(&r, 6, 3);
	assert_int_equal(r.epoch, 6);
	assert_int_equal(r.max_seq, 3);
	assert_int_equal(r.seen, 1);
	grove_replay_mark(&r, 6, 3 + 200); /* a jump beyond the window clears it */
	assert_int_equal(r.seen, 1);
	assert_int_equal(grove_replay_check(&r, 6, 3), GROVE_EREPLAY);
}

/* Every bit of a valid datagram flipped, one at a time: never accepted,
 * exactly one drop counted each time, and the untouched datagram is still
 * accepted afterwards (no tampered copy advanced the window).  Returns the
 * number of flips. */
static uint64_t flip_every_bit(node_t *b, uint8_t *d, size_t len)
{
	uint64_t flips = 0;
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			d[i] ^= (uint8_t)(1u << bit);
			assert_int_not_equal(open_reason(b, d, len, NOW), GROVE_DROP_NONE);
			d[i] ^= (uint8_t)(1u << bit);
			flips++;
		}
	}
	assert_int_equal(open_reason(b, d, len, NOW), GROVE_DROP_NONE);
	return flips;
}

static void test_every_bit_flipped_is_dropped(void **state)
{
	(void)state;
	node_t a, b;
	node_init(&a, "alpha");
	node_init(&b, "beta");
	assert_int_equal(grove_peerbook_add(b.book, &a.id.cert, NOW), 0);
	uint8_t d[GROVE_DATAGRAM_MAX];
	size_t len = seal(&a, "beta", true, "tamper with me", d);
	uint64_t flips = flip_every_bit(&b, d, len);
	len = seal(&a, "beta", false, "and with me", d);
	flips += flip_every_bit(&b, d, len);
	len = seal_to(&a, &b, true, "sealed, tamper with me", d);
	flips += flip_every_bit(&b, d, len);
	len = seal_to(&a, &b, false, "sealed", d);
	flips += flip_every_bit(&b, d, len);
	const grove_drop_stats_t *st = grove_peerbook_stats(b.book);
	assert_int_equal(st->accepted, 4);
	assert_int_equal(total_dropped(b.book), flips);
	grove_drop_t expect[] = { GROVE_DROP_BADSIG, GROVE_DROP_MALFORMED, GROVE_DROP_VERSION,
				  GROVE_DROP_MISDIRECTED, GROVE_DROP_UNKNOWN_SENDER };
	printf("bit flips %llu:", (unsigned long long)flips);
	for (int r = 1; r < GROVE_DROP_COUNT; r++)
		if (st->dropped[r] > 0)
			printf(" %s %llu", grove_drop_name((grove_drop_t)r), (unsigned long long)st->dropped[r]);
	printf("\n");
	for (size_t i = 0; i < sizeof expect / sizeof expect[0]; i++)
		assert_true(st->dropped[expect[i]] > 0);
	node_close(&a);
	node_close(&b);
}

static void test_truncated_and_oversize(void **state)
{
	(void)state;
	node_t a, b;
	node_init(&a, "alpha");
	node_init(&b, "beta");
	uint8_t d[GROVE_DATAGRAM_MAX + 64];
	size_t len = seal(&a, "beta", true, "truncate me", d);
	for (size_t n = 0; n < len; n++) {
		grove_drop_t r = open_reason(&b, d, n, NOW);
		assert_true(r == GROVE_DROP_MALFORMED || r == GROVE_DROP_VERSION);
	}
	d[len] = 0; /* one trailing byte */
	assert_int_equal(open_reason(&b, d, len + 1, NOW), GROVE_DROP_MALFORMED);
	memset(d, 0, sizeof d);
	d[0] = GROVE_ENVELOPE_MAGIC0;
	d[1] = GROVE_ENVELOPE_MAGIC1;
	d[2] = GROVE_ENVELOPE_VERSION;
	assert_int_equal(open_reason(&b, d, GROVE_DATAGRAM_MAX + 1, NOW), GROVE_DROP_OVERSIZE);
	assert_int_equal(open_reason(&b, d, GROVE_DATAGRAM_MAX + 64, NOW), GROVE_DROP_OVERSIZE);
	/* The sealing side refuses to build one. */
	uint8_t payload[GROVE_DATAGRAM_MAX];
	memset(payload, 'p', sizeof payload);
	/* The budget counts the certificate at its v2 size (a reload may bring
	 * one); this v1 certificate is 8 bytes shorter, and the seal takes what
	 * really fits. */
	size_t v1_spare = GROVE_CERT_BYTES_MAX - GROVE_CERT_V1_BYTES_MAX;
	size_t max = grove_envelope_payload_max(&a.tx, "beta", true) + v1_spare;
	size_t out_len;
	assert_int_equal(grove_envelope_seal(&a.tx, 1, "beta", true, payload, max + 1, d, sizeof d, &out_len),
			 GROVE_ETOOBIG);
	assert_int_equal(grove_envelope_seal(&a.tx, 1, "beta", true, payload, max, d, sizeof d, &out_len), 0);
	assert_int_equal(out_len, GROVE_DATAGRAM_MAX);
	assert_int_equal(grove_envelope_seal(&a.tx, 1, "beta", false, payload, 10, d, 50, &out_len), GROVE_ETOOBIG);
	assert_int_equal(grove_envelope_seal(&a.tx, 0, "beta", false, payload, 10, d, sizeof d, &out_len), GROVE_EINVAL);
	assert_int_equal(grove_envelope_seal(&a.tx, 1, "be ta", false, payload, 10, d, sizeof d, &out_len),
			 GROVE_EINVAL);
	a.tx.next_seq = UINT64_MAX;
	assert_int_equal(grove_envelope_seal(&a.tx, 1, "beta", false, payload, 10, d, sizeof d, &out_len),
			 GROVE_EOVERFLOW);
	const grove_drop_stats_t *st = grove_peerbook_stats(b.book);
	assert_int_equal(st->dropped[GROVE_DROP_OVERSIZE], 2);
	assert_int_equal(st->accepted, 0);
	node_close(&a);
	node_close(&b);
}

/* The reason a datagram of random bytes must be dropped for, by the
 * documented check order (pure random bytes only). */
static grove_drop_t expected_random_reason(const uint8_t *d, size_t len)
{
	if (len > GROVE_DATAGRAM_MAX)
		return GROVE_DROP_OVERSIZE;
	if (len < GROVE_ENVELOPE_BYTES_MIN)
		return GROVE_DROP_MALFORMED;
	if (d[0] != GROVE_ENVELOPE_MAGIC0 || d[1] != GROVE_ENVELOPE_MAGIC1 || d[2] != GROVE_ENVELOPE_VERSION)
		return GROVE_DROP_VERSION;
	return GROVE_DROP_COUNT; /* could be anything but acceptance */
}

/* Random datagrams at full speed, in three classes: pure random bytes
 * (dropped for the predictable reason), a valid 16-byte header followed by
 * random bytes, and a valid datagram with one byte changed.  None is
 * accepted; each is counted exactly once. */
static void test_random_datagrams(void **state)
{
	(void)state;
	uint64_t seed = 0x5eed0002;
	printf("seed %llu\n", (unsigned long long)seed);
	grove_rng_t rng;
	grove_rng_seed(&rng, seed);
	node_t a, b;
	node_init(&a, "alpha");
	node_init(&b, "beta");
	assert_int_equal(grove_peerbook_add(b.book, &a.id.cert, NOW), 0);
	uint8_t valid[GROVE_DATAGRAM_MAX], d[GROVE_DATAGRAM_MAX + 100];
	size_t valid_len = seal(&a, "beta", false, "0123456789", valid);
	const int rounds = 100000;
	int predicted = 0;
	for (int i = 0; i < rounds; i++) {
		size_t len = grove_rng_below(&rng, sizeof d + 1);
		for (size_t j = 0; j < len; j++)
			d[j] = (uint8_t)grove_rng_next(&rng);
		grove_drop_t want = expected_random_reason(d, len);
		if (i % 4 == 2 && len > 16) {
			memcpy(d, valid, 16);
			want = GROVE_DROP_COUNT;
		} else if (i % 4 == 0) {
			memcpy(d, valid, valid_len);
			len = valid_len;
			size_t at = grove_rng_below(&rng, valid_len);
			d[at] = (uint8_t)(d[at] + 1 + grove_rng_below(&rng, 255));
			want = GROVE_DROP_COUNT;
		}
		grove_drop_t got = open_reason(&b, d, len, NOW);
		assert_int_not_equal(got, GROVE_DROP_NONE);
		if (want != GROVE_DROP_COUNT) {
			assert_int_equal(got, want);
			predicted++;
		}
	}
	assert_int_equal(grove_peerbook_stats(b.book)->accepted, 0);
	assert_int_equal(total_dropped(b.book), rounds);
	assert_true(predicted > rounds / 3);
	node_close(&a);
	node_close(&b);
}

static void test_forged_expired_and_wrong_ca(void **state)
{
	(void)state;
	node_t a, b, mallory, outsider, old;
	node_init(&a, "alpha");
	node_init(&b, "beta");
	/* mallory holds another key and signs as "alpha" without a cert. */
	node_init_full(&mallory, "alpha", 9, &ca, GROVE_TEST_EXPIRES_MS, 0, NULL);
	node_init_full(&outsider, "gamma", 0, &other_ca, GROVE_TEST_EXPIRES_MS, 0, NULL);
	node_init_full(&old, "delta", 0, &ca, NOW + 1000, 0, NULL);
	assert_int_equal(grove_peerbook_add(b.book, &a.id.cert, NOW), 0);
	uint8_t d[GROVE_DATAGRAM_MAX];
	size_t len = seal(&mallory, "beta", false, "alpha is dead", d);
	assert_int_equal(open_reason(&b, d, len, NOW), GROVE_DROP_BADSIG);
	/* ... and seals for beta as "alpha": her key is not alpha's, so the
	 * pairwise key beta derives for alpha does not open it. */
	len = seal_to(&mallory, &b, false, "alpha is dead", d);
	assert_int_equal(open_reason(&b, d, len, NOW), GROVE_DROP_BADSIG);
	len = seal(&outsider, "beta", true, "let me in", d);
	assert_int_equal(open_reason(&b, d, len, NOW), GROVE_DROP_UNTRUSTED);
	assert_null(grove_peerbook_find(b.book, "gamma"));
	assert_int_equal(grove_peerbook_add(b.book, &outsider.id.cert, NOW), GROVE_EUNTRUSTED);
	/* Expired attached cert, then a cached cert that expires. */
	len = seal(&old, "beta", true, "old", d);
	assert_int_equal(open_reason(&b, d, len, NOW + 1000), GROVE_DROP_EXPIRED);
	assert_int_equal(open_reason(&b, d, len, NOW), GROVE_DROP_NONE);
	len = seal(&old, "beta", false, "older", d);
	assert_int_equal(open_reason(&b, d, len, NOW + 1000), GROVE_DROP_EXPIRED);
	/* Attached cert valid but the datagram signed by someone else. */
	len = seal(&a, "beta", true, "genuine", d);
	memcpy(d + len - GROVE_SIGNATURE_BYTES, d, GROVE_SIGNATURE_BYTES);
	assert_int_equal(open_reason(&b, d, len, NOW), GROVE_DROP_BADSIG);
	const grove_drop_stats_t *st = grove_peerbook_stats(b.book);
	assert_int_equal(st->dropped[GROVE_DROP_BADSIG], 3);
	assert_int_equal(st->dropped[GROVE_DROP_UNTRUSTED], 1);
	assert_int_equal(st->dropped[GROVE_DROP_EXPIRED], 2);
	assert_int_equal(st->accepted, 1);
	node_close(&a);
	node_close(&b);
	node_close(&mallory);
	node_close(&outsider);
	node_close(&old);
}

static void test_misdirected_and_self(void **state)
{
	(void)state;
	node_t a, b, twin;
	conflict_log_t log = { 0 };
	node_init(&a, "alpha");
	node_init_full(&b, "beta", 0, &ca, GROVE_TEST_EXPIRES_MS, 0, &log);
	node_init_full(&twin, "beta", 1, &ca, GROVE_TEST_EXPIRES_MS, 0, NULL);
	uint8_t d[GROVE_DATAGRAM_MAX];
	size_t len = seal(&a, "gamma", true, "not for you", d);
	assert_int_equal(open_reason(&b, d, len, NOW), GROVE_DROP_MISDIRECTED);
	len = seal(&b, NULL, true, "echo", d);
	assert_int_equal(open_reason(&b, d, len, NOW), GROVE_DROP_SELF);
	/* Another node certified under our own id: a conflict, reported. */
	len = seal(&twin, NULL, true, "i am beta", d);
	assert_int_equal(open_reason(&b, d, len, NOW), GROVE_DROP_ID_CONFLICT);
	assert_int_equal(log.calls, 1);
	assert_true(grove_cert_equal(&log.known, &b.id.cert));
	assert_true(grove_cert_equal(&log.claimed, &twin.id.cert));
	assert_int_equal(grove_peerbook_conflicts(b.book, "beta"), 1);
	assert_int_equal(grove_peerbook_add(b.book, &twin.id.cert, NOW), GROVE_ECONFLICT);
	assert_int_equal(grove_peerbook_add(b.book, &b.id.cert, NOW), 0);
	assert_int_equal(grove_peerbook_count(b.book), 0);
	node_close(&a);
	node_close(&b);
	node_close(&twin);
}

static void test_id_conflict_keeps_first(void **state)
{
	(void)state;
	node_t a1, a2, b;
	conflict_log_t log = { 0 };
	node_init_full(&a1, "alpha", 0, &ca, GROVE_TEST_EXPIRES_MS, 0, NULL);
	node_init_full(&a2, "alpha", 1, &ca, GROVE_TEST_EXPIRES_MS, 0, NULL);
	node_init_full(&b, "beta", 0, &ca, GROVE_TEST_EXPIRES_MS, 0, &log);
	uint8_t d[GROVE_DATAGRAM_MAX];
	size_t len = seal(&a1, "beta", true, "first", d);
	assert_int_equal(open_reason(&b, d, len, NOW), GROVE_DROP_NONE);
	for (int i = 0; i < 3; i++) {
		len = seal(&a2, "beta", true, "second", d);
		assert_int_equal(open_reason(&b, d, len, NOW), GROVE_DROP_ID_CONFLICT);
	}
	assert_int_equal(log.calls, 1); /* one report per distinct claimed key */
	assert_true(grove_cert_equal(&log.known, &a1.id.cert));
	assert_true(grove_cert_equal(&log.claimed, &a2.id.cert));
	assert_int_equal(grove_peerbook_conflicts(b.book, "alpha"), 3);
	assert_int_equal(grove_peerbook_stats(b.book)->conflicts, 3);
	assert_int_equal(grove_peerbook_add(b.book, &a2.id.cert, NOW), GROVE_ECONFLICT);
	assert_int_equal(grove_peerbook_conflicts(b.book, "alpha"), 4);
	/* The first still works; the second, without a cert, fails its signature. */
	assert_true(grove_cert_equal(grove_peerbook_find(b.book, "alpha"), &a1.id.cert));
	len = seal(&a1, "beta", false, "still here", d);
	assert_int_equal(open_reason(&b, d, len, NOW), GROVE_DROP_NONE);
	len = seal(&a2, "beta", false, "me too", d);
	assert_int_equal(open_reason(&b, d, len, NOW), GROVE_DROP_BADSIG);
	node_close(&a1);
	node_close(&a2);
	node_close(&b);
}

static void test_renewal_and_rotation(void **state)
{
	(void)state;
	node_t a_old, a_new, a_rot, b;
	node_init_full(&a_old, "alpha", 0, &ca, NOW + 1000, 0, NULL);
	node_init_full(&a_new, "alpha", 0, &ca, NOW + 5000, 0, NULL); /* same key, later expiry */
	node_init_full(&a_rot, "alpha", 2, &ca, NOW + 9000, 0, NULL); /* new key */
	node_init(&b, "beta");
	assert_int_equal(grove_peerbook_add(b.book, &a_old.id.cert, NOW), 0);
	uint8_t d[GROVE_DATAGRAM_MAX];
	a_new.tx.next_seq = 10;
	size_t len = seal(&a_new, "beta", true, "renewed", d);
	grove_envelope_t env;
	assert_int_equal(grove_envelope_open(b.book, d, len, NOW, &env, NULL), 0);
	assert_true(env.cert_learned);
	assert_int_equal(grove_peerbook_find(b.book, "alpha")->expires_ms, NOW + 5000);
	/* A new key while the cached cert is valid is a conflict ... */
	len = seal(&a_rot, "beta", true, "rotated", d);
	assert_int_equal(open_reason(&b, d, len, NOW), GROVE_DROP_ID_CONFLICT);
	/* ... and a rotation once it has expired (fresh replay window). */
	assert_int_equal(grove_envelope_open(b.book, d, len, NOW + 6000, &env, NULL), 0);
	assert_true(env.cert_learned);
	assert_true(grove_cert_equal(grove_peerbook_find(b.book, "alpha"), &a_rot.id.cert));
	assert_int_equal(grove_peerbook_stats(b.book)->certs_renewed, 2);
	node_close(&a_old);
	node_close(&a_new);
	node_close(&a_rot);
	node_close(&b);
}

static void test_book_full_and_alloc_failure(void **state)
{
	(void)state;
	node_t b;
	node_init_full(&b, "beta", 0, &ca, GROVE_TEST_EXPIRES_MS, 2, NULL);
	node_t p[3];
	const char *names[3] = { "p0", "p1", "p2" };
	uint8_t d[GROVE_DATAGRAM_MAX];
	for (int i = 0; i < 3; i++) {
		node_init(&p[i], names[i]);
		size_t len = seal(&p[i], "beta", true, "hi", d);
		assert_int_equal(open_reason(&b, d, len, NOW), i < 2 ? GROVE_DROP_NONE : GROVE_DROP_BOOK_FULL);
	}
	assert_int_equal(grove_peerbook_add(b.book, &p[2].id.cert, NOW), GROVE_EFULL);
	assert_int_equal(grove_peerbook_remove(b.book, "p0"), 0);
	assert_int_equal(grove_peerbook_remove(b.book, "p0"), GROVE_ENOTFOUND);
	assert_int_equal(grove_peerbook_add(b.book, &p[2].id.cert, NOW), 0);
	grove_peerbook_config_t cfg = { .self = &b.id, .peers_max = GROVE_PEERBOOK_PEERS_MAX + 1 };
	grove_peerbook_t *bad = NULL;
	assert_int_equal(grove_peerbook_create(&cfg, &bad), GROVE_EINVAL);
	/* Allocation failures: create fails cleanly; growth failure drops. */
	cfg.peers_max = 0;
	for (long n = 1; n <= 2; n++) {
		grove_alloc_fail_after(n);
		assert_int_equal(grove_peerbook_create(&cfg, &bad), GROVE_ENOMEM);
		grove_alloc_fail_reset();
	}
	for (int i = 0; i < 3; i++)
		node_close(&p[i]);
	node_close(&b);
}

static void count_cert(void *ctx, const grove_cert_t *cert)
{
	(void)cert;
	(*(int *)ctx)++;
}

/* The hash table under many inserts and removals (backward-shift delete),
 * including growth failing halfway. */
static void test_table_many_peers(void **state)
{
	(void)state;
	node_t b;
	node_init(&b, "beta");
	enum { N = 600 };
	static grove_cert_t certs[N];
	uint8_t pk[GROVE_SIGN_PUBLIC_BYTES] = { 1 };
	for (int i = 0; i < N; i++) {
		char name[16];
		snprintf(name, sizeof name, "peer-%d", i);
		pk[1] = (uint8_t)i;
		pk[2] = (uint8_t)(i >> 8);
		assert_int_equal(grove_cert_issue(&certs[i], name, pk, GROVE_TEST_EXPIRES_MS, ca.sk), 0);
		assert_int_equal(grove_peerbook_add(b.book, &certs[i], NOW), 0);
	}
	assert_int_equal(grove_peerbook_count(b.book), N);
	for (int i = 0; i < N; i += 3)
		assert_int_equal(grove_peerbook_remove(b.book, certs[i].node_id), 0);
	for (int i = 0; i < N; i++) {
		const grove_cert_t *c = grove_peerbook_find(b.book, certs[i].node_id);
		if (i % 3 == 0)
			assert_null(c);
		else
			assert_true(c != NULL && grove_cert_equal(c, &certs[i]));
	}
	int seen = 0;
	grove_peerbook_foreach(b.book, count_cert, &seen);
	assert_int_equal(seen, N - N / 3);
	/* Re-adding needs no growth until the table doubles; fail it anyway. */
	for (int i = 0; i < N; i += 3) {
		grove_alloc_fail_after(1);
		int rc = grove_peerbook_add(b.book, &certs[i], NOW);
		grove_alloc_fail_reset();
		assert_true(rc == 0 || rc == GROVE_EFULL);
		if (rc != 0)
			assert_int_equal(grove_peerbook_add(b.book, &certs[i], NOW), 0);
	}
	assert_int_equal(grove_peerbook_count(b.book), N);
	node_close(&b);
}

/* grove_envelope_proven_cert: the check behind the superseded notice.
 * Accepted: a datagram signed (open) or sealed under the certificate it
 * carries (addressed to us or to nobody), whatever the book says.
 * Refused: no certificate, a flipped byte (signature, tag), another
 * recipient, another CA, expired. */
static void test_proven_cert(void **state)
{
	(void)state;
	node_t a, b, outsider;
	node_init(&a, "alpha");
	node_init(&b, "bravo");
	node_init_full(&outsider, "alpha", 1, &other_ca, GROVE_TEST_EXPIRES_MS, 0, NULL);
	uint8_t d[GROVE_DATAGRAM_MAX];
	grove_cert_t c;
	size_t n = seal(&a, "bravo", true, "ping", d);
	assert_int_equal(grove_envelope_proven_cert(&b.id, &b.tx.keys, d, n, NOW, &c), 0);
	assert_memory_equal(c.node_pk, a.id.cert.node_pk, GROVE_SIGN_PUBLIC_BYTES);
	assert_string_equal(c.node_id, "alpha");
	assert_int_equal(grove_envelope_proven_cert(&b.id, &b.tx.keys, d, n, GROVE_TEST_EXPIRES_MS, &c), GROVE_EAUTH);
	n = seal(&a, NULL, true, "ping", d);
	assert_int_equal(grove_envelope_proven_cert(&b.id, &b.tx.keys, d, n, NOW, &c), 0);
	n = seal(&a, "charlie", true, "ping", d);
	assert_int_equal(grove_envelope_proven_cert(&b.id, &b.tx.keys, d, n, NOW, &c), GROVE_EAUTH);
	n = seal(&a, "bravo", false, "ping", d);
	assert_int_equal(grove_envelope_proven_cert(&b.id, &b.tx.keys, d, n, NOW, &c), GROVE_EAUTH);
	n = seal(&a, "bravo", true, "ping", d);
	d[n - 1] ^= 1;
	assert_int_equal(grove_envelope_proven_cert(&b.id, &b.tx.keys, d, n, NOW, &c), GROVE_EAUTH);
	n = seal_to(&a, &b, true, "ping", d);
	assert_int_equal(grove_envelope_proven_cert(&b.id, &b.tx.keys, d, n, NOW, &c), 0);
	assert_memory_equal(c.node_pk, a.id.cert.node_pk, GROVE_SIGN_PUBLIC_BYTES);
	d[n - 1] ^= 1;
	assert_int_equal(grove_envelope_proven_cert(&b.id, &b.tx.keys, d, n, NOW, &c), GROVE_EAUTH);
	n = seal_to(&a, &b, false, "ping", d);
	assert_int_equal(grove_envelope_proven_cert(&b.id, &b.tx.keys, d, n, NOW, &c), GROVE_EAUTH);
	n = seal(&outsider, "bravo", true, "ping", d);
	assert_int_equal(grove_envelope_proven_cert(&b.id, &b.tx.keys, d, n, NOW, &c), GROVE_EAUTH);
	assert_int_equal(total_dropped(b.book), 0); /* the book is not touched */
	grove_sender_close(&a.tx);
	grove_sender_close(&outsider.tx);
	node_close(&a);
	node_close(&b);
	node_close(&outsider);
}

static void test_drop_names_and_codes(void **state)
{
	(void)state;
	for (int r = 0; r < GROVE_DROP_COUNT; r++) {
		assert_non_null(grove_drop_name((grove_drop_t)r));
		assert_string_not_equal(grove_drop_name((grove_drop_t)r), "unknown");
		assert_true(r == 0 ? grove_drop_code((grove_drop_t)r) == 0 : grove_drop_code((grove_drop_t)r) < 0);
	}
	assert_string_equal(grove_drop_name(GROVE_DROP_COUNT), "unknown");
	assert_int_equal(grove_drop_code(GROVE_DROP_REPLAY), GROVE_EREPLAY);
	/* A stream refused for these names the right reason (not "expired"). */
	assert_int_equal(grove_drop_code(GROVE_DROP_SUPERSEDED), GROVE_ESUPERSEDED);
	assert_int_equal(grove_drop_code(GROVE_DROP_REVOKED), GROVE_EREVOKED);
	assert_int_equal(grove_drop_code(GROVE_DROP_EXPIRED), GROVE_EEXPIRED);
	assert_string_equal(grove_strerror(GROVE_ESUPERSEDED), "certificate superseded by a newer one for its node id");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_datagram_matches_doc),
		cmocka_unit_test(test_proven_cert),
		cmocka_unit_test(test_learn_from_attached_cert),
		cmocka_unit_test(test_replay_window_and_epochs),
		cmocka_unit_test(test_replay_window_pure),
		cmocka_unit_test(test_every_bit_flipped_is_dropped),
		cmocka_unit_test(test_truncated_and_oversize),
		cmocka_unit_test(test_random_datagrams),
		cmocka_unit_test(test_forged_expired_and_wrong_ca),
		cmocka_unit_test(test_misdirected_and_self),
		cmocka_unit_test(test_id_conflict_keeps_first),
		cmocka_unit_test(test_renewal_and_rotation),
		cmocka_unit_test(test_book_full_and_alloc_failure),
		cmocka_unit_test(test_table_many_peers),
		cmocka_unit_test(test_drop_names_and_codes),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
