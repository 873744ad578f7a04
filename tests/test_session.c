/*
 * test_session.c - authenticated, encrypted stream sessions driven in
 * memory: handshake and frames both ways (any byte split), every handshake
 * byte tampered, MITM key substitution and impostor, replayed and reflected
 * handshakes, wrong CA, expired and self certificates, frame size limits,
 * tampered / dropped / reordered records, truncated streams, backpressure,
 * allocation failures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "grove/alloc.h"
#include "base/rng.h"
#include "gossip/secure/channel.h"
#include "tests/util_identity.h"

#define NOW GROVE_TEST_NOW_MS
#define PUMP_ROUNDS_MAX 64

typedef struct frame_log {
	int count;
	size_t bytes;
	uint8_t *last; /* copy of the last frame */
	size_t last_len;
	int fail_with; /* the callback returns this when non-zero */
} frame_log_t;

typedef struct side {
	grove_identity_t id;
	grove_channel_t *s;
	frame_log_t log;
} side_t;

/* A man in the middle's hook: may rewrite bytes in flight.  `dir` 0 is
 * initiator -> responder; `offset` is the stream offset of buf[0]. */
typedef void (*tamper_fn)(void *ctx, int dir, size_t offset, uint8_t *buf, size_t len);

typedef struct link {
	grove_rng_t rng;   /* splits the byte stream at random points */
	bool split;
	tamper_fn tamper;
	void *tamper_ctx;
	size_t sent[2];    /* bytes moved per direction */
} link_t;

static grove_test_ca_t ca, other_ca;

static int on_frame(void *ctx, const uint8_t *frame, size_t len)
{
	frame_log_t *log = ctx;
	if (log->fail_with != 0)
		return log->fail_with;
	log->count++;
	log->bytes += len;
	free(log->last);
	log->last = malloc(len + 1);
	assert_non_null(log->last);
	memcpy(log->last, frame, len);
	log->last_len = len;
	return 0;
}

static int make_session_own(side_t *x, grove_channel_role_t role, const char *expect, uint8_t kx_seed_byte,
			    uint64_t now_ms, bool own_id_ok)
{
	uint8_t seed[GROVE_CHANNEL_KX_SEED_BYTES];
	memset(seed, kx_seed_byte, sizeof seed);
	grove_channel_config_t cfg = {
		.self = &x->id,
		.role = role,
		.expected_peer = expect,
		.now_ms = now_ms,
		.on_frame = on_frame,
		.frame_ctx = &x->log,
		.kx_seed = kx_seed_byte != 0 ? seed : NULL,
		.own_id_ok = own_id_ok,
	};
	return grove_channel_create(&cfg, &x->s);
}

static int make_session(side_t *x, grove_channel_role_t role, const char *expect, uint8_t kx_seed_byte,
			uint64_t now_ms)
{
	return make_session_own(x, role, expect, kx_seed_byte, now_ms, false);
}

static void side_init(side_t *x, const char *name, uint8_t variant, const grove_test_ca_t *signer,
		      uint64_t expires_ms)
{
	memset(x, 0, sizeof *x);
	grove_test_identity(&x->id, signer, &ca, name, variant, expires_ms);
}

static void side_close(side_t *x)
{
	grove_channel_destroy(x->s);
	x->s = NULL;
	free(x->log.last);
	grove_identity_close(&x->id);
}

/* A pair: initiator a ("alpha") expecting b ("bravo"), responder b. */
static void pair_init(side_t *a, side_t *b)
{
	side_init(a, "alpha", 0, &ca, GROVE_TEST_EXPIRES_MS);
	side_init(b, "bravo", 0, &ca, GROVE_TEST_EXPIRES_MS);
	assert_int_equal(make_session(a, GROVE_CHANNEL_INITIATOR, "bravo", 1, NOW), 0);
	assert_int_equal(make_session(b, GROVE_CHANNEL_RESPONDER, NULL, 2, NOW), 0);
}

/* Move from's pending bytes into to.  1 if bytes moved, 0 if none, or the
 * receiver's error. */
static int transfer(link_t *l, int dir, grove_channel_t *from, grove_channel_t *to)
{
	const uint8_t *p;
	size_t n;
	grove_channel_pending(from, &p, &n);
	if (n == 0)
		return 0;
	uint8_t *copy = malloc(n);
	assert_non_null(copy);
	memcpy(copy, p, n);
	grove_channel_consume(from, n);
	if (l->tamper != NULL)
		l->tamper(l->tamper_ctx, dir, l->sent[dir], copy, n);
	l->sent[dir] += n;
	int rc = 0;
	for (size_t off = 0; off < n && rc == 0;) {
		size_t k = l->split ? 1 + grove_rng_below(&l->rng, n - off) : n - off;
		rc = grove_channel_feed(to, copy + off, k);
		off += k;
	}
	free(copy);
	return rc < 0 ? rc : 1;
}

/* Shuttle bytes both ways until quiet or an error. */
static void pump(link_t *l, side_t *a, side_t *b)
{
	for (int round = 0; round < PUMP_ROUNDS_MAX; round++) {
		int x = transfer(l, 0, a->s, b->s);
		int y = transfer(l, 1, b->s, a->s);
		if (x <= 0 && y <= 0)
			return;
	}
	fail_msg("pump did not settle");
}

static void link_init(link_t *l, uint64_t seed, bool split)
{
	memset(l, 0, sizeof *l);
	grove_rng_seed(&l->rng, seed);
	l->split = split;
}

static int group_setup(void **state)
{
	(void)state;
	grove_test_ca_init(&ca, "ca-main");
	grove_test_ca_init(&other_ca, "ca-other");
	return 0;
}

static void fill(uint8_t *buf, size_t len, uint8_t salt)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 31 + salt);
}

static void test_handshake_and_frames(void **state)
{
	(void)state;
	uint64_t seed = 0x5e551;
	printf("seed %llu\n", (unsigned long long)seed);
	for (int split = 0; split < 2; split++) {
		side_t a, b;
		link_t l;
		link_init(&l, seed, split);
		pair_init(&a, &b);
		assert_int_equal(grove_channel_send(a.s, (const uint8_t *)"x", 1), GROVE_EAGAIN);
		pump(&l, &a, &b);
		assert_true(grove_channel_established(a.s));
		assert_true(grove_channel_established(b.s));
		assert_string_equal(grove_channel_peer_cert(a.s)->node_id, "bravo");
		assert_string_equal(grove_channel_peer_cert(b.s)->node_id, "alpha");
		size_t big_len = GROVE_FRAME_BYTES_MAX;
		uint8_t *big = malloc(big_len);
		assert_non_null(big);
		fill(big, big_len, 7);
		assert_int_equal(grove_channel_send(a.s, (const uint8_t *)"hello", 5), 0);
		assert_int_equal(grove_channel_send(a.s, NULL, 0), 0);
		assert_int_equal(grove_channel_send(a.s, big, big_len), 0);
		assert_int_equal(grove_channel_send(b.s, (const uint8_t *)"back", 4), 0);
		pump(&l, &a, &b);
		assert_int_equal(b.log.count, 3);
		assert_int_equal(b.log.bytes, 5 + big_len);
		assert_int_equal(b.log.last_len, big_len);
		assert_memory_equal(b.log.last, big, big_len);
		assert_int_equal(a.log.count, 1);
		assert_memory_equal(a.log.last, "back", 4);
		assert_int_equal(grove_channel_finish(a.s), 0);
		assert_int_equal(grove_channel_send(a.s, (const uint8_t *)"late", 4), GROVE_ECLOSED);
		assert_int_equal(grove_channel_finish(b.s), 0);
		pump(&l, &a, &b);
		assert_true(grove_channel_peer_finished(a.s) && grove_channel_peer_finished(b.s));
		assert_int_equal(grove_channel_eof(a.s), 0);
		assert_int_equal(grove_channel_eof(b.s), 0);
		free(big);
		side_close(&a);
		side_close(&b);
	}
}

typedef struct flip {
	int dir;
	size_t at;
} flip_t;

static void flip_byte(void *ctx, int dir, size_t offset, uint8_t *buf, size_t len)
{
	flip_t *f = ctx;
	if (dir == f->dir && f->at >= offset && f->at < offset + len)
		buf[f->at - offset] ^= 0xff;
}

/* Run handshake, one frame each way, finish and eof through link l.
 * Returns true when everything succeeded; frames that arrive must be
 * intact either way. */
static bool run_exchange(link_t *l, side_t *a, side_t *b)
{
	pump(l, a, b);
	/* A failed send or finish shows up in the eof results below. */
	if (grove_channel_established(a->s) && grove_channel_send(a->s, (const uint8_t *)"ping", 4) == 0)
		assert_int_equal(grove_channel_finish(a->s), 0);
	if (grove_channel_established(b->s) && grove_channel_send(b->s, (const uint8_t *)"pong", 4) == 0)
		assert_int_equal(grove_channel_finish(b->s), 0);
	pump(l, a, b);
	if (a->log.count > 0)
		assert_memory_equal(a->log.last, "pong", 4);
	if (b->log.count > 0)
		assert_memory_equal(b->log.last, "ping", 4);
	int ea = grove_channel_eof(a->s), eb = grove_channel_eof(b->s);
	return ea == 0 && eb == 0 && a->log.count == 1 && b->log.count == 1;
}

/* Flip every byte of the handshake, in both directions: each run fails on
 * at least one side and no altered frame is ever delivered. */
static void test_every_handshake_byte_tampered(void **state)
{
	(void)state;
	side_t a, b;
	link_t l;
	link_init(&l, 1, false);
	pair_init(&a, &b);
	pump(&l, &a, &b);
	size_t hs_len[2] = { l.sent[0], l.sent[1] };
	side_close(&a);
	side_close(&b);
	int runs = 0;
	for (int dir = 0; dir < 2; dir++) {
		for (size_t at = 0; at < hs_len[dir]; at++) {
			flip_t f = { dir, at };
			link_init(&l, 1, false);
			l.tamper = flip_byte;
			l.tamper_ctx = &f;
			pair_init(&a, &b);
			assert_false(run_exchange(&l, &a, &b));
			assert_true(grove_channel_error(a.s) != 0 || grove_channel_error(b.s) != 0);
			side_close(&a);
			side_close(&b);
			runs++;
		}
	}
	printf("handshake bytes %zu + %zu, tampered runs %d, all failed\n", hs_len[0], hs_len[1], runs);
	/* Control: the same exchange untampered succeeds. */
	link_init(&l, 1, false);
	pair_init(&a, &b);
	assert_true(run_exchange(&l, &a, &b));
	side_close(&a);
	side_close(&b);
}

typedef struct recorder {
	uint8_t bytes[2][2048];
	size_t len[2];
} recorder_t;

static void record_bytes(void *ctx, int dir, size_t offset, uint8_t *buf, size_t len)
{
	recorder_t *r = ctx;
	assert_int_equal(offset, r->len[dir]);
	if (r->len[dir] + len <= sizeof r->bytes[dir]) {
		memcpy(r->bytes[dir] + r->len[dir], buf, len);
		r->len[dir] += len;
	}
}

static void test_replayed_handshake_fails(void **state)
{
	(void)state;
	side_t a, b;
	recorder_t rec = { 0 };
	link_t l;
	link_init(&l, 1, false);
	l.tamper = record_bytes;
	l.tamper_ctx = &rec;
	pair_init(&a, &b);
	pump(&l, &a, &b);
	assert_true(grove_channel_established(b.s));
	/* A fresh responder (new ephemeral key) gets the recorded HELLO_I and
	 * AUTH_I: the old signature does not cover its key. */
	side_t b2;
	side_init(&b2, "bravo", 0, &ca, GROVE_TEST_EXPIRES_MS);
	assert_int_equal(make_session(&b2, GROVE_CHANNEL_RESPONDER, NULL, 3, NOW), 0);
	assert_int_equal(grove_channel_feed(b2.s, rec.bytes[0], rec.len[0]), GROVE_EBADSIG);
	assert_false(grove_channel_established(b2.s));
	assert_int_equal(grove_channel_feed(b2.s, rec.bytes[0], 1), GROVE_EBADSIG); /* sticky */
	/* A fresh initiator gets the recorded HELLO_R: signed over another e_I. */
	side_t a2;
	side_init(&a2, "alpha", 0, &ca, GROVE_TEST_EXPIRES_MS);
	assert_int_equal(make_session(&a2, GROVE_CHANNEL_INITIATOR, "bravo", 4, NOW), 0);
	assert_int_equal(grove_channel_feed(a2.s, rec.bytes[1], rec.len[1]), GROVE_EBADSIG);
	side_close(&a);
	side_close(&b);
	side_close(&a2);
	side_close(&b2);
}

static void test_reflection_and_self(void **state)
{
	(void)state;
	side_t a, b;
	pair_init(&a, &b);
	const uint8_t *p;
	size_t n;
	uint8_t hello_i[1024];
	grove_channel_pending(a.s, &p, &n);
	memcpy(hello_i, p, n);
	size_t hello_i_len = n;
	/* The initiator's own HELLO_I reflected back at it. */
	assert_int_equal(grove_channel_feed(a.s, hello_i, hello_i_len), GROVE_EPROTO);
	/* The responder's own HELLO_R reflected back at it. */
	assert_int_equal(grove_channel_feed(b.s, hello_i, hello_i_len), 0);
	grove_channel_pending(b.s, &p, &n);
	uint8_t hello_r[1024];
	memcpy(hello_r, p, n);
	assert_int_equal(grove_channel_feed(b.s, hello_r, n), GROVE_EPROTO);
	side_close(&a);
	side_close(&b);
	/* A node connecting to itself (same id and key on both ends). */
	side_t x, y;
	link_t l;
	link_init(&l, 1, false);
	side_init(&x, "alpha", 0, &ca, GROVE_TEST_EXPIRES_MS);
	side_init(&y, "alpha", 0, &ca, GROVE_TEST_EXPIRES_MS);
	assert_int_equal(make_session(&x, GROVE_CHANNEL_INITIATOR, NULL, 1, NOW), 0);
	assert_int_equal(make_session(&y, GROVE_CHANNEL_RESPONDER, NULL, 2, NOW), 0);
	pump(&l, &x, &y);
	assert_int_equal(grove_channel_error(y.s), GROVE_ECONFLICT);
	assert_false(grove_channel_established(x.s));
	side_close(&x);
	side_close(&y);
}

/* own_id_ok: two holders of certificates for one id (another instance of
 * the node, here with another key) complete the handshake, each seeing
 * the other's certificate; reflected handshake records are still refused. */
static void test_own_id_ok(void **state)
{
	(void)state;
	side_t x, y;
	link_t l;
	link_init(&l, 1, false);
	side_init(&x, "alpha", 0, &ca, GROVE_TEST_EXPIRES_MS);
	side_init(&y, "alpha", 1, &ca, GROVE_TEST_EXPIRES_MS);
	assert_int_equal(make_session_own(&x, GROVE_CHANNEL_INITIATOR, NULL, 1, NOW, true), 0);
	assert_int_equal(make_session_own(&y, GROVE_CHANNEL_RESPONDER, NULL, 2, NOW, true), 0);
	pump(&l, &x, &y);
	assert_true(grove_channel_established(x.s));
	assert_true(grove_channel_established(y.s));
	assert_memory_equal(grove_channel_peer_cert(x.s)->node_pk, y.id.cert.node_pk, GROVE_SIGN_PUBLIC_BYTES);
	assert_memory_equal(grove_channel_peer_cert(y.s)->node_pk, x.id.cert.node_pk, GROVE_SIGN_PUBLIC_BYTES);
	side_close(&x);
	side_close(&y);
	/* The initiator's own HELLO_I reflected back at it: still refused. */
	side_t r;
	side_init(&r, "alpha", 0, &ca, GROVE_TEST_EXPIRES_MS);
	assert_int_equal(make_session_own(&r, GROVE_CHANNEL_INITIATOR, NULL, 3, NOW, true), 0);
	const uint8_t *p;
	size_t n;
	uint8_t hello_i[1024];
	grove_channel_pending(r.s, &p, &n);
	memcpy(hello_i, p, n);
	assert_int_equal(grove_channel_feed(r.s, hello_i, n), GROVE_EPROTO);
	side_close(&r);
}

typedef struct substitute {
	size_t at;
	uint8_t key[32];
} substitute_t;

static void substitute_key(void *ctx, int dir, size_t offset, uint8_t *buf, size_t len)
{
	substitute_t *s = ctx;
	if (dir == 0 && offset == 0 && len >= s->at + 32)
		memcpy(buf + s->at, s->key, 32);
}

/* Mallory swaps the initiator's ephemeral key for her own. */
static void test_mitm_key_substitution(void **state)
{
	(void)state;
	side_t a, b;
	pair_init(&a, &b);
	substitute_t sub;
	/* HELLO_I: 4 length, 4 prefix, 2 cert length, cert, e_I. */
	sub.at = 4 + 4 + 2 + GROVE_CERT_BYTES_MIN - 1 + strlen("alpha");
	memset(sub.key, 0x42, sizeof sub.key);
	link_t l;
	link_init(&l, 1, false);
	l.tamper = substitute_key;
	l.tamper_ctx = &sub;
	pump(&l, &a, &b);
	assert_int_equal(grove_channel_error(a.s), GROVE_EBADSIG);
	assert_false(grove_channel_established(a.s));
	assert_false(grove_channel_established(b.s));
	side_close(&a);
	side_close(&b);
}

/* Runs a handshake where the responder is `resp`; returns the initiator's
 * error. */
static int handshake_error(side_t *resp, const char *expect, uint64_t init_now_ms)
{
	side_t a;
	side_init(&a, "alpha", 0, &ca, GROVE_TEST_EXPIRES_MS);
	assert_int_equal(make_session(&a, GROVE_CHANNEL_INITIATOR, expect, 1, init_now_ms), 0);
	assert_int_equal(make_session(resp, GROVE_CHANNEL_RESPONDER, NULL, 2, init_now_ms), 0);
	link_t l;
	link_init(&l, 1, false);
	pump(&l, &a, resp);
	int rc = grove_channel_error(a.s);
	if (rc != 0)
		assert_false(grove_channel_established(resp->s));
	side_close(&a);
	return rc;
}

static void test_impostor_wrong_ca_expired(void **state)
{
	(void)state;
	side_t m;
	/* Mallory with a valid certificate of her own, posing as bravo. */
	side_init(&m, "mallory", 0, &ca, GROVE_TEST_EXPIRES_MS);
	assert_int_equal(handshake_error(&m, "bravo", NOW), GROVE_EAUTH);
	side_close(&m);
	/* Bravo's id and key, certified by another CA. */
	side_init(&m, "bravo", 0, &other_ca, GROVE_TEST_EXPIRES_MS);
	assert_int_equal(handshake_error(&m, "bravo", NOW), GROVE_EUNTRUSTED);
	side_close(&m);
	/* Bravo's certificate has expired. */
	side_init(&m, "bravo", 0, &ca, NOW + 10);
	assert_int_equal(handshake_error(&m, "bravo", NOW + 10), GROVE_EEXPIRED);
	side_close(&m);
	/* A forged certificate: bravo's cert carrying mallory's key. */
	side_init(&m, "bravo", 5, &ca, GROVE_TEST_EXPIRES_MS);
	side_t real;
	side_init(&real, "bravo", 0, &ca, GROVE_TEST_EXPIRES_MS);
	memcpy(m.id.cert.node_pk, real.id.cert.node_pk, sizeof m.id.cert.node_pk);
	side_close(&real);
	int rc = handshake_error(&m, "bravo", NOW);
	assert_int_equal(rc, GROVE_EBADSIG); /* CA signature fails first */
	side_close(&m);
	/* Without an expected id, any certified peer is accepted and named. */
	side_init(&m, "mallory", 0, &ca, GROVE_TEST_EXPIRES_MS);
	assert_int_equal(handshake_error(&m, NULL, NOW), 0);
	assert_string_equal(grove_channel_peer_cert(m.s)->node_id, "alpha");
	side_close(&m);
}

static void established_pair(side_t *a, side_t *b, link_t *l)
{
	link_init(l, 1, false);
	pair_init(a, b);
	pump(l, a, b);
	assert_true(grove_channel_established(a->s) && grove_channel_established(b->s));
}

/* Take a's pending bytes out (the caller frees them). */
static uint8_t *take_pending(side_t *a, size_t *len)
{
	const uint8_t *p;
	grove_channel_pending(a->s, &p, len);
	uint8_t *copy = malloc(*len + 1);
	assert_non_null(copy);
	memcpy(copy, p, *len);
	grove_channel_consume(a->s, *len);
	return copy;
}

static void test_frame_size_limits(void **state)
{
	(void)state;
	side_t a, b;
	link_t l;
	established_pair(&a, &b, &l);
	uint8_t *big = calloc(1, GROVE_FRAME_BYTES_MAX + 1);
	assert_non_null(big);
	assert_int_equal(grove_channel_send(a.s, big, GROVE_FRAME_BYTES_MAX + 1), GROVE_ETOOBIG);
	assert_int_equal(grove_channel_error(a.s), 0); /* a refused send is not fatal */
	/* A peer announcing a record over the limit is cut off before any
	 * buffering. */
	uint8_t hdr[4] = { 0x00, 0x10, 0x00, 0x12 }; /* 1 MiB + 18 */
	assert_int_equal(grove_channel_feed(b.s, hdr, sizeof hdr), GROVE_ETOOBIG);
	assert_int_equal(grove_channel_feed(b.s, hdr, 1), GROVE_ETOOBIG);
	assert_int_equal(grove_channel_send(b.s, big, 1), GROVE_ETOOBIG);
	free(big);
	side_close(&a);
	side_close(&b);
	/* Too short for a tag, and oversized or empty handshake records. */
	established_pair(&a, &b, &l);
	uint8_t tiny[4 + 16] = { 0, 0, 0, 16 };
	assert_int_equal(grove_channel_feed(b.s, tiny, sizeof tiny), GROVE_EPROTO);
	side_close(&a);
	side_close(&b);
	side_t r;
	side_init(&r, "bravo", 0, &ca, GROVE_TEST_EXPIRES_MS);
	assert_int_equal(make_session(&r, GROVE_CHANNEL_RESPONDER, NULL, 2, NOW), 0);
	uint8_t hs_big[4] = { 0, 0, 0x02, 0x01 }; /* 513 */
	assert_int_equal(grove_channel_feed(r.s, hs_big, sizeof hs_big), GROVE_EPROTO);
	side_close(&r);
	side_init(&r, "bravo", 0, &ca, GROVE_TEST_EXPIRES_MS);
	assert_int_equal(make_session(&r, GROVE_CHANNEL_RESPONDER, NULL, 2, NOW), 0);
	uint8_t hs_empty[4] = { 0, 0, 0, 0 };
	assert_int_equal(grove_channel_feed(r.s, hs_empty, sizeof hs_empty), GROVE_EPROTO);
	side_close(&r);
}

static void test_tampered_dropped_reordered_records(void **state)
{
	(void)state;
	for (int mode = 0; mode < 3; mode++) {
		side_t a, b;
		link_t l;
		established_pair(&a, &b, &l);
		assert_int_equal(grove_channel_send(a.s, (const uint8_t *)"one", 3), 0);
		size_t len1;
		uint8_t *r1 = take_pending(&a, &len1);
		assert_int_equal(grove_channel_send(a.s, (const uint8_t *)"two", 3), 0);
		size_t len2;
		uint8_t *r2 = take_pending(&a, &len2);
		int rc;
		if (mode == 0) { /* flip a ciphertext byte */
			r1[len1 - 3] ^= 1;
			rc = grove_channel_feed(b.s, r1, len1);
		} else if (mode == 1) { /* drop the first record */
			rc = grove_channel_feed(b.s, r2, len2);
		} else { /* replay the first record */
			assert_int_equal(grove_channel_feed(b.s, r1, len1), 0);
			rc = grove_channel_feed(b.s, r1, len1);
		}
		assert_int_equal(rc, GROVE_EAUTH);
		assert_int_equal(b.log.count, mode == 2 ? 1 : 0);
		free(r1);
		free(r2);
		side_close(&a);
		side_close(&b);
	}
}

static void test_truncated_stream(void **state)
{
	(void)state;
	side_t a, b;
	link_t l;
	established_pair(&a, &b, &l);
	for (int i = 0; i < 3; i++)
		assert_int_equal(grove_channel_send(a.s, (const uint8_t *)"frame", 5), 0);
	assert_int_equal(grove_channel_finish(a.s), 0);
	size_t len;
	uint8_t *all = take_pending(&a, &len);
	/* Cut inside the final record: frames arrive, the end does not. */
	assert_int_equal(grove_channel_feed(b.s, all, len - 5), 0);
	assert_int_equal(b.log.count, 3);
	assert_false(grove_channel_peer_finished(b.s));
	assert_int_equal(grove_channel_eof(b.s), GROVE_ECLOSED);
	assert_int_equal(grove_channel_error(b.s), GROVE_ECLOSED);
	side_close(&a);
	side_close(&b);
	/* Cut cleanly between records but without the final record. */
	established_pair(&a, &b, &l);
	assert_int_equal(grove_channel_send(a.s, (const uint8_t *)"frame", 5), 0);
	pump(&l, &a, &b);
	assert_int_equal(grove_channel_eof(b.s), GROVE_ECLOSED);
	side_close(&a);
	side_close(&b);
	/* Nothing may follow the final record. */
	established_pair(&a, &b, &l);
	assert_int_equal(grove_channel_finish(a.s), 0);
	free(all);
	all = take_pending(&a, &len);
	assert_int_equal(grove_channel_feed(b.s, all, len), 0);
	assert_true(grove_channel_peer_finished(b.s));
	uint8_t more[4 + 17] = { 0, 0, 0, 17 };
	assert_int_equal(grove_channel_feed(b.s, more, sizeof more), GROVE_EPROTO);
	free(all);
	side_close(&a);
	side_close(&b);
	/* The transport ends during the handshake. */
	side_t x;
	side_init(&x, "alpha", 0, &ca, GROVE_TEST_EXPIRES_MS);
	assert_int_equal(make_session(&x, GROVE_CHANNEL_INITIATOR, NULL, 1, NOW), 0);
	assert_int_equal(grove_channel_eof(x.s), GROVE_ECLOSED);
	side_close(&x);
}

static void test_backpressure_and_callback_error(void **state)
{
	(void)state;
	side_t a, b;
	link_t l;
	established_pair(&a, &b, &l);
	uint8_t *big = calloc(1, GROVE_FRAME_BYTES_MAX);
	assert_non_null(big);
	int sent = 0;
	int rc;
	while ((rc = grove_channel_send(a.s, big, GROVE_FRAME_BYTES_MAX)) == 0)
		sent++;
	assert_int_equal(rc, GROVE_EFULL);
	assert_int_equal(sent, 3); /* 4 MiB queue, each record 1 MiB + 21 */
	assert_int_equal(grove_channel_error(a.s), 0);
	pump(&l, &a, &b);
	assert_int_equal(b.log.count, 3);
	assert_int_equal(grove_channel_send(a.s, big, GROVE_FRAME_BYTES_MAX), 0);
	free(big);
	/* A callback error ends the receiving session with that code. */
	b.log.fail_with = GROVE_EPROTO;
	pump(&l, &a, &b);
	assert_int_equal(grove_channel_error(b.s), GROVE_EPROTO);
	side_close(&a);
	side_close(&b);
}

/* Fail the nth allocation during create + handshake + frames: every run
 * either completes or fails with GROVE_ENOMEM, and leaks nothing (ASan). */
static void test_allocation_failures(void **state)
{
	(void)state;
	int failures = 0;
	for (long n = 1; n < 40; n++) {
		side_t a, b;
		side_init(&a, "alpha", 0, &ca, GROVE_TEST_EXPIRES_MS);
		side_init(&b, "bravo", 0, &ca, GROVE_TEST_EXPIRES_MS);
		grove_alloc_fail_after(n);
		int ra = make_session(&a, GROVE_CHANNEL_INITIATOR, "bravo", 1, NOW);
		int rb = make_session(&b, GROVE_CHANNEL_RESPONDER, NULL, 2, NOW);
		if (ra == 0 && rb == 0) {
			link_t l;
			link_init(&l, 1, false);
			pump(&l, &a, &b);
			if (grove_channel_established(a.s) && grove_channel_send(a.s, (const uint8_t *)"x", 1) == 0)
				pump(&l, &a, &b);
		}
		grove_alloc_fail_reset();
		int ea = a.s != NULL ? grove_channel_error(a.s) : ra;
		int eb = b.s != NULL ? grove_channel_error(b.s) : rb;
		assert_true(ea == 0 || ea == GROVE_ENOMEM || ea == GROVE_EFULL);
		assert_true(eb == 0 || eb == GROVE_ENOMEM || eb == GROVE_EFULL);
		failures += (ea != 0 || eb != 0);
		side_close(&a);
		side_close(&b);
	}
	assert_true(failures > 0);
}

static void test_bad_config(void **state)
{
	(void)state;
	side_t a;
	side_init(&a, "alpha", 0, &ca, GROVE_TEST_EXPIRES_MS);
	grove_channel_t *s = NULL;
	grove_channel_config_t cfg = { .self = &a.id, .role = 3 };
	assert_int_equal(grove_channel_create(&cfg, &s), GROVE_EINVAL);
	cfg.role = GROVE_CHANNEL_INITIATOR;
	cfg.expected_peer = "not valid";
	assert_int_equal(grove_channel_create(&cfg, &s), GROVE_EINVAL);
	assert_int_equal(grove_channel_create(NULL, &s), GROVE_EINVAL);
	assert_null(s);
	side_close(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_and_frames),
		cmocka_unit_test(test_every_handshake_byte_tampered),
		cmocka_unit_test(test_replayed_handshake_fails),
		cmocka_unit_test(test_reflection_and_self),
		cmocka_unit_test(test_own_id_ok),
		cmocka_unit_test(test_mitm_key_substitution),
		cmocka_unit_test(test_impostor_wrong_ca_expired),
		cmocka_unit_test(test_frame_size_limits),
		cmocka_unit_test(test_tampered_dropped_reordered_records),
		cmocka_unit_test(test_truncated_stream),
		cmocka_unit_test(test_backpressure_and_callback_error),
		cmocka_unit_test(test_allocation_failures),
		cmocka_unit_test(test_bad_config),
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
