/*
 * test_ae_hostile.c - an anti-entropy node facing a hostile peer.  The test
 * plays the peer by hand through the sans-IO API: forged digests, states
 * that do not decode or carry wrong type tags, HLCs far in the future,
 * truncated frames, huge claimed lengths, protocol violations, floods past
 * the byte and queue limits, a transport that vanishes, and allocation
 * failures.  Every case must be rejected and counted, leave local state
 * unchanged (root digest compared), and never crash or leak (ASan pass).
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
#include "gossip/ae/codec.h"
#include "gossip/ae/antientropy.h"
#include "grove/db.h"
#include "crdt/coll.h"
#include "tests/util_storage.h"

static uint64_t g_now = 1700000000000ULL;

static uint64_t clock_fn(void *ctx)
{
	return *(uint64_t *)ctx;
}

static size_t no_peers(void *ctx, char (*addrs)[GROVE_AE_ADDR_MAX + 1], size_t max)
{
	(void)ctx;
	(void)addrs;
	(void)max;
	return 0;
}

typedef struct victim {
	grove_db_t *db;
	grove_ae_t *ae;
	grove_rng_t rng;
	uint64_t clock_ms;
	grove_ae_config_t cfg;
	uint8_t root[GROVE_DIGEST_BYTES];
} victim_t;

static grove_db_t *open_db(const char *id, uint64_t *clock_ms)
{
	grove_db_options_t o;
	grove_test_db_options_init(&o);
	o.node_id = id;
	o.clock = clock_fn;
	o.clock_ctx = clock_ms;
	grove_db_t *db;
	assert_int_equal(grove_db_open(NULL, &o, &db, NULL, 0), 0);
	return db;
}

static void victim_open(victim_t *v, void (*tune)(grove_ae_config_t *))
{
	memset(v, 0, sizeof(*v));
	v->clock_ms = g_now;
	v->db = open_db("victim", &v->clock_ms);
	bool f;
	for (int i = 0; i < 200; i++) {
		char key[16];
		snprintf(key, sizeof(key), "key%d", i);
		assert_int_equal(grove_db_set_add(v->db, key, strlen(key), "x", 1, &f), 0);
	}
	grove_rng_seed(&v->rng, 7);
	grove_ae_config_init(&v->cfg);
	v->cfg.peers = no_peers;
	if (tune)
		tune(&v->cfg);
	assert_int_equal(grove_ae_create(&v->cfg, v->db, &v->rng, &v->ae), 0);
	grove_db_root_digest(v->db, v->root);
}

static void victim_unchanged(victim_t *v)
{
	uint8_t now[GROVE_DIGEST_BYTES];
	grove_db_root_digest(v->db, now);
	assert_memory_equal(now, v->root, GROVE_DIGEST_BYTES);
}

static void victim_close(victim_t *v)
{
	grove_ae_destroy(v->ae);
	grove_db_close(v->db);
}

/* Drains every output; returns the count of kind, and the last BYE reason
 * (or -1) in *bye. */
static int drain(victim_t *v, grove_out_kind_t kind, int *bye)
{
	grove_out_t o;
	int n = 0;
	if (bye)
		*bye = -1;
	for (int guard = 0; guard < 100000 && grove_ae_poll(v->ae, v->clock_ms, &o); guard++) {
		if (o.kind == kind)
			n++;
		grove_ae_frame_t f;
		if (bye && o.kind == GROVE_OUT_STREAM_FRAME &&
		    grove_ae_frame_decode(o.bytes, o.len, 1 << 24, &f) == 0 && f.type == GROVE_AE_BYE)
			*bye = f.reason;
	}
	return n;
}

static grove_ae_stats_t stats(victim_t *v)
{
	grove_ae_stats_t st;
	grove_ae_get_stats(v->ae, &st);
	return st;
}

static uint32_t accept_from(victim_t *v, const char *addr)
{
	uint32_t sid;
	assert_int_equal(grove_ae_stream_accept(v->ae, v->clock_ms, addr, &sid), 0);
	return sid;
}

/* Sends one state of the item NAME in a STATES frame. */
static void send_item(victim_t *v, uint32_t sid, const uint8_t *name, size_t nlen, const uint8_t *st,
		      size_t len)
{
	grove_buf_t b;
	grove_buf_init(&b, 0);
	size_t at = grove_ae_put_header(&b, GROVE_AE_STATES, 0);
	grove_ae_put_blob(&b, name, nlen);
	grove_ae_put_blob(&b, st, len);
	grove_ae_patch_u32(&b, at, 1);
	grove_ae_stream_recv(v->ae, v->clock_ms, sid, b.data, b.len);
	grove_buf_close(&b);
}

/* Sends one state of key's head item. */
static void send_states(victim_t *v, uint32_t sid, const char *key, const uint8_t *st, size_t len)
{
	uint8_t name[64];
	name[0] = GROVE_ITEM_HEAD;
	memcpy(name + 1, key, strlen(key));
	send_item(v, sid, name, 1 + strlen(key), st, len);
}

static void test_forged_digest_session_times_out(void **state)
{
	(void)state;
	victim_t v;
	victim_open(&v, NULL);
	uint8_t dg[2 + 1 + 1 + 16 + 256];
	memset(dg, 0xab, sizeof(dg));
	dg[0] = GROVE_AE_VERSION;
	dg[1] = GROVE_AE_DIGEST;
	dg[2] = 1;
	dg[3] = 5;
	grove_ae_recv_datagram(v.ae, v.clock_ms, "evil", dg, sizeof(dg));
	assert_int_equal(drain(&v, GROVE_OUT_STREAM_OPEN, NULL), 1);
	assert_int_equal(stats(&v).digests_different, 1);
	/* A second forged digest while the session is open is refused. */
	grove_ae_recv_datagram(v.ae, v.clock_ms, "evil", dg, sizeof(dg));
	assert_int_equal(drain(&v, GROVE_OUT_STREAM_OPEN, NULL), 0);
	assert_int_equal(stats(&v).sessions_refused, 1);
	/* Garbage and truncated datagrams are dropped. */
	grove_ae_recv_datagram(v.ae, v.clock_ms, "evil", dg, 10);
	grove_ae_recv_datagram(v.ae, v.clock_ms, "evil", (const uint8_t *)"\x01\x14", 2);
	assert_int_equal(stats(&v).datagrams_dropped, 2);
	/* The peer never answers: the session ends at the idle timeout. */
	v.clock_ms += v.cfg.idle_timeout_ms;
	grove_ae_tick(v.ae, v.clock_ms);
	int bye;
	assert_int_equal(drain(&v, GROVE_OUT_STREAM_CLOSE, &bye), 1);
	assert_int_equal(bye, -GROVE_ETIMEOUT);
	assert_int_equal(stats(&v).err_timeout, 1);
	assert_int_equal(grove_ae_session_count(v.ae), 0);
	victim_unchanged(&v);
	victim_close(&v);
}

/* Bad states are rejected one by one; the session goes on and merges the
 * good one that follows. */
static void test_bad_states_rejected_session_continues(void **state)
{
	(void)state;
	victim_t v;
	victim_open(&v, NULL);
	uint32_t sid = accept_from(&v, "evil");
	/* A far-future state: written by a node whose clock is an hour ahead. */
	uint64_t future_ms = g_now + 3600 * 1000;
	grove_db_t *other = open_db("liar", &future_ms);
	assert_int_equal(grove_db_register_set(other, "fut", 3, "x", 1), 0);
	assert_int_equal(grove_db_counter_add(other, "cnt", 3, 5, NULL), 0);
	uint8_t *fut, *cnt;
	size_t flen, clen;
	uint8_t hfut[4] = { GROVE_ITEM_HEAD, 'f', 'u', 't' }, hcnt[4] = { GROVE_ITEM_HEAD, 'c', 'n', 't' };
	assert_int_equal(grove_db_item_state(other, hfut, 4, &fut, &flen), 0);
	assert_int_equal(grove_db_item_state(other, hcnt, 4, &cnt, &clen), 0);
	send_states(&v, sid, "fut", fut, flen);
	assert_int_equal(stats(&v).rejected_clock, 1);
	/* Wrong type tag inside the head state ([bin8 value, n, acc]: the
	 * value's type byte is at 3 + 2): type 9, then type "map". */
	assert_int_equal(cnt[1], 0xc4);
	assert_int_equal(cnt[3 + 2], GROVE_TYPE_COUNTER);
	cnt[3 + 2] = 9;
	send_states(&v, sid, "bad1", cnt, clen);
	cnt[3 + 2] = GROVE_TYPE_MAP;
	send_states(&v, sid, "bad2", cnt, clen);
	/* Garbage and a truncated state. */
	send_states(&v, sid, "bad3", (const uint8_t *)"\xff\xfe\xfd", 3);
	cnt[3 + 2] = GROVE_TYPE_COUNTER;
	send_states(&v, sid, "bad4", cnt, clen - 1);
	assert_int_equal(stats(&v).rejected_decode, 4);
	victim_unchanged(&v);
	uint8_t *tmp;
	size_t tlen;
	assert_int_equal(grove_db_get_encoded(v.db, "fut", 3, &tmp, &tlen), GROVE_ENOTFOUND);
	assert_int_equal(grove_db_get_encoded(v.db, "bad1", 4, &tmp, &tlen), GROVE_ENOTFOUND);
	/* The session is still alive: a good state merges. */
	grove_db_close(other);
	uint64_t now_ms = g_now;
	other = open_db("honest", &now_ms);
	assert_int_equal(grove_db_counter_add(other, "good", 4, 3, NULL), 0);
	grove_free(cnt);
	uint8_t hgood[5] = { GROVE_ITEM_HEAD, 'g', 'o', 'o', 'd' };
	assert_int_equal(grove_db_item_state(other, hgood, 5, &cnt, &clen), 0);
	send_states(&v, sid, "good", cnt, clen);
	assert_int_equal(stats(&v).merged_changed, 1);
	assert_int_equal(stats(&v).session_errors, 0);
	assert_int_equal(grove_ae_session_count(v.ae), 1);
	grove_free(fut);
	grove_free(cnt);
	grove_db_close(other);
	victim_close(&v);
}

/* Element and head states of collections (the per-element frames):
 * forged dots, a context that is not canonical, a head whose count lies,
 * a field state under a member's name, names that do not parse.  Each is
 * rejected and counted (by the session and by the store), the root digest
 * does not move, and the session goes on.  A count that is merely wrong
 * (not provably a lie) changes nothing either: the peer's context is taken
 * only when its count and element sum equal ours. */
static void test_element_states_rejected(void **state)
{
	(void)state;
	victim_t v;
	victim_open(&v, NULL);
	uint32_t sid = accept_from(&v, "evil");
	grove_db_stats_t d0, d1;
	grove_db_stats(v.db, &d0);
	uint8_t name[64];
	size_t nl;
	int sent = 0;
	/* a member whose dot its sender's context does not hold: forged */
	static const uint8_t forged[] = { 0x93, 0x90, 0x90, 0x91, 0x92, 0xa4, 'e', 'v', 'i', 'l', 0x05 };
	nl = grove_test_elem_name(name, GROVE_ITEM_MEMBER, "key0", "y");
	send_item(&v, sid, name, nl, forged, sizeof(forged)), sent++;
	/* the same with the dot in the context: decodes, but a context whose
	 * cloud holds a dot the version vector should (not canonical) */
	static const uint8_t cloud[] = { 0x93, 0x90, 0x91, 0x92, 0xa4, 'e', 'v', 'i', 'l', 0x01,
					 0x91, 0x92, 0xa4, 'e', 'v', 'i', 'l', 0x01 };
	send_item(&v, sid, name, nl, cloud, sizeof(cloud)), sent++;
	/* a count that lies: 3 entries claimed, 1 sent */
	uint8_t lie[sizeof(forged)];
	memcpy(lie, forged, sizeof(lie));
	lie[3] = 0x93;
	send_item(&v, sid, name, nl, lie, sizeof(lie)), sent++;
	/* the victim's own member state of key1 ... */
	uint8_t *own;
	size_t olen;
	nl = grove_test_elem_name(name, GROVE_ITEM_MEMBER, "key1", "x");
	assert_int_equal(grove_db_item_state(v.db, name, nl, &own, &olen), 0);
	/* ... under a field's name (another kind: decodes wrong) */
	uint8_t fname[64];
	size_t fl = grove_test_elem_name(fname, GROVE_ITEM_FIELD, "key1", "x");
	send_item(&v, sid, fname, fl, own, olen), sent++;
	/* ... with a trailing byte, and truncated */
	uint8_t *longer = malloc(olen + 1);
	memcpy(longer, own, olen);
	longer[olen] = 0;
	send_item(&v, sid, name, nl, longer, olen + 1), sent++;
	send_item(&v, sid, name, nl, own, olen - 1), sent++;
	free(longer);
	/* names that do not parse: an unknown kind, a key length past the end */
	uint8_t bad[4] = { 7, 0, 1, 'x' };
	send_item(&v, sid, bad, sizeof(bad), own, olen), sent++;
	bad[0] = GROVE_ITEM_MEMBER;
	bad[2] = 9;
	send_item(&v, sid, bad, sizeof(bad), own, olen), sent++;
	/* the head of key1 with counts that lie: no element but a non-zero
	 * element sum, and elements with a zero sum */
	uint8_t hname[8] = { GROVE_ITEM_HEAD, 'k', 'e', 'y', '1' };
	uint8_t *head;
	size_t hlen;
	assert_int_equal(grove_db_item_state(v.db, hname, 5, &head, &hlen), 0);
	const uint8_t *enc;
	size_t elen;
	uint64_t n;
	uint8_t acc[16];
	static const uint8_t zero[16];
	assert_int_equal(grove_head_state_decode(head, hlen, &enc, &elen, &n, acc), 0);
	assert_int_equal(n, 1);
	grove_buf_t b = { 0 };
	assert_int_equal(grove_head_state_encode(&b, enc, elen, 0, acc), 0);
	send_item(&v, sid, hname, 5, b.data, b.len), sent++;
	grove_buf_reset(&b);
	assert_int_equal(grove_head_state_encode(&b, enc, elen, 5, zero), 0);
	send_item(&v, sid, hname, 5, b.data, b.len), sent++;
	assert_int_equal(stats(&v).rejected_decode, sent);
	grove_db_stats(v.db, &d1);
	assert_int_equal(d1.items_rejected - d0.items_rejected, sent);
	assert_int_equal(d1.merges_changed, d0.merges_changed);
	victim_unchanged(&v);
	/* a wrong count that is no provable lie (5 elements, our sum): merged,
	 * nothing changes */
	grove_buf_reset(&b);
	assert_int_equal(grove_head_state_encode(&b, enc, elen, 5, acc), 0);
	send_item(&v, sid, hname, 5, b.data, b.len);
	assert_int_equal(stats(&v).rejected_decode, sent);
	assert_int_equal(stats(&v).merged_unchanged, 1);
	victim_unchanged(&v);
	uint64_t card = 0;
	assert_int_equal(grove_db_coll_count(v.db, "key1", 4, GROVE_TYPE_SET, &card), 0);
	assert_int_equal(card, 1);
	/* the session is alive: the victim's own member state merges as no news */
	send_item(&v, sid, name, nl, own, olen);
	assert_int_equal(stats(&v).merged_unchanged, 2);
	assert_int_equal(stats(&v).session_errors, 0);
	assert_int_equal(grove_ae_session_count(v.ae), 1);
	grove_buf_close(&b);
	grove_free(own);
	grove_free(head);
	victim_close(&v);
}

/* Feeds one frame on a fresh stream; returns the BYE reason sent back. */
static int feed_bad(victim_t *v, const uint8_t *frame, size_t len)
{
	uint32_t sid = accept_from(v, "evil");
	grove_ae_stream_recv(v->ae, v->clock_ms, sid, frame, len);
	int bye;
	assert_int_equal(drain(v, GROVE_OUT_STREAM_CLOSE, &bye), 1);
	assert_int_equal(grove_ae_session_count(v->ae), 0);
	return bye;
}

static void test_malformed_frames_end_session(void **state)
{
	(void)state;
	victim_t v;
	victim_open(&v, NULL);
	/* Truncated NODES frame. */
	grove_buf_t b;
	grove_buf_init(&b, 0);
	size_t at = grove_ae_put_header(&b, GROVE_AE_NODES, 2);
	grove_ae_put_varint(&b, 3);
	uint8_t d[256] = { 0 };
	grove_buf_append(&b, d, sizeof(d));
	grove_ae_patch_u32(&b, at, 1);
	assert_int_equal(feed_bad(&v, b.data, b.len - 1), -GROVE_EDECODE);
	/* Huge claimed key length. */
	static const uint8_t huge[] = { 0x01, 0x13, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0x0f, 'k' };
	assert_int_equal(feed_bad(&v, huge, sizeof(huge)), -GROVE_EDECODE);
	/* Huge claimed count. */
	static const uint8_t count[] = { 0x01, 0x14, 0xff, 0xff, 0xff, 0xff };
	assert_int_equal(feed_bad(&v, count, sizeof(count)), -GROVE_EDECODE);
	/* A datagram type on a stream, and an unknown version. */
	static const uint8_t push[] = { 0x01, 0x02, 0, 0, 0, 0 };
	assert_int_equal(feed_bad(&v, push, sizeof(push)), -GROVE_EPROTO);
	static const uint8_t v9[] = { 0x09, 0x15, 0, 0 };
	assert_int_equal(feed_bad(&v, v9, sizeof(v9)), -GROVE_EVERSION);
	/* A segment list left unfinished before another segment starts. */
	grove_buf_reset(&b);
	at = grove_ae_put_header(&b, GROVE_AE_KEYS, 0);
	grove_ae_put_varint(&b, 10);
	grove_ae_put_u8(&b, 0);
	grove_ae_put_varint(&b, 0);
	grove_ae_put_varint(&b, 11);
	grove_ae_put_u8(&b, 1);
	grove_ae_put_varint(&b, 0);
	grove_ae_patch_u32(&b, at, 2);
	assert_int_equal(feed_bad(&v, b.data, b.len), -GROVE_EPROTO);
	/* An oversized frame. */
	uint8_t *big = calloc(1, v.cfg.frame_bytes_max + 1);
	big[0] = GROVE_AE_VERSION;
	big[1] = GROVE_AE_STATES;
	assert_int_equal(feed_bad(&v, big, v.cfg.frame_bytes_max + 1), -GROVE_ETOOBIG);
	free(big);
	grove_ae_stats_t st = stats(&v);
	assert_int_equal(st.err_decode, 4);
	assert_int_equal(st.err_proto, 2);
	assert_int_equal(st.err_limit, 1);
	assert_int_equal(st.session_errors, 7);
	victim_unchanged(&v);
	grove_buf_close(&b);
	victim_close(&v);
}

static void small_limits(grove_ae_config_t *cfg)
{
	cfg->session_bytes_max = 64 * 1024;
	cfg->window_bytes = GROVE_AE_WINDOW_BYTES_MIN;
	cfg->max_sessions = 2;
}

/* A WANT flood past the credit window; NODES floods past the byte limit;
 * sessions past max_sessions are refused; a vanished transport counts. */
static void test_floods_and_limits(void **state)
{
	(void)state;
	victim_t v;
	victim_open(&v, small_limits);
	grove_buf_t b;
	grove_buf_init(&b, 0);
	size_t at = grove_ae_put_header(&b, GROVE_AE_WANT, 0);
	for (int i = 0; i < 2000; i++) /* 20 credit bytes each: past 32 KiB */
		grove_ae_put_blob(&b, "key1", 4);
	grove_ae_patch_u32(&b, at, 2000);
	uint32_t sid = accept_from(&v, "evil");
	grove_ae_stream_recv(v.ae, v.clock_ms, sid, b.data, b.len);
	int bye;
	assert_int_equal(drain(&v, GROVE_OUT_STREAM_CLOSE, &bye), 1);
	assert_int_equal(bye, -GROVE_EPROTO);

	/* NODES for every level-4 parent, over and over: bytes limit. */
	sid = accept_from(&v, "evil");
	grove_buf_reset(&b);
	at = grove_ae_put_header(&b, GROVE_AE_NODES, 4);
	uint8_t d[256];
	memset(d, 0x5a, sizeof(d));
	for (uint32_t p = 0; p < 100; p++) {
		grove_ae_put_varint(&b, p);
		grove_ae_put_u8(&b, 0xff); /* mask: all 16 children */
		grove_ae_put_u8(&b, 0xff);
		grove_buf_append(&b, d, sizeof(d));
	}
	grove_ae_patch_u32(&b, at, 100);
	for (int i = 0; i < 4; i++)
		grove_ae_stream_recv(v.ae, v.clock_ms, sid, b.data, b.len);
	assert_int_equal(drain(&v, GROVE_OUT_STREAM_CLOSE, &bye), 1);
	assert_int_equal(bye, -GROVE_ETOOBIG);

	/* max_sessions = 2. */
	uint32_t s1 = accept_from(&v, "a"), s2 = accept_from(&v, "b"), s3;
	assert_int_equal(grove_ae_stream_accept(v.ae, v.clock_ms, "c", &s3), GROVE_EFULL);
	/* The transport of s1 vanishes mid-session; s2 gets a bad BYE. */
	grove_ae_stream_closed(v.ae, v.clock_ms, s1);
	static const uint8_t bye_err[] = { 0x01, 0x16, 0x05 };
	grove_ae_stream_recv(v.ae, v.clock_ms, s2, bye_err, sizeof(bye_err));
	assert_int_equal(drain(&v, GROVE_OUT_STREAM_CLOSE, NULL), 1);
	grove_ae_stats_t st = stats(&v);
	assert_int_equal(st.err_proto, 1);
	assert_int_equal(st.err_limit, 1);
	assert_int_equal(st.err_closed, 2);
	assert_int_equal(st.sessions_refused, 1);
	assert_int_equal(grove_ae_session_count(v.ae), 0);
	/* Unknown stream ids are ignored. */
	grove_ae_stream_recv(v.ae, v.clock_ms, 9999, bye_err, sizeof(bye_err));
	grove_ae_stream_closed(v.ae, v.clock_ms, 9999);
	victim_unchanged(&v);
	grove_buf_close(&b);
	victim_close(&v);
}

/* Every allocation failure on the session path ends the session (or the
 * call) cleanly: no crash, no leak, state unchanged. */
static void test_allocation_failures(void **state)
{
	(void)state;
	victim_t v;
	victim_open(&v, NULL);
	grove_buf_t b;
	grove_buf_init(&b, 0);
	size_t at = grove_ae_put_header(&b, GROVE_AE_KEYS, 0);
	grove_ae_put_varint(&b, grove_db_segment_of("key1", 4));
	grove_ae_put_u8(&b, 1);
	grove_ae_put_varint(&b, 1);
	grove_ae_put_blob(&b, "key1", 4);
	uint8_t dig[16] = { 1 };
	grove_buf_append(&b, dig, 16);
	grove_ae_patch_u32(&b, at, 1);
	for (long n = 1; n < 80; n++) {
		grove_alloc_fail_after(n);
		uint32_t sid;
		if (grove_ae_stream_accept(v.ae, v.clock_ms, "evil", &sid) == 0) {
			grove_ae_stream_recv(v.ae, v.clock_ms, sid, b.data, b.len);
			drain(&v, GROVE_OUT_STREAM_FRAME, NULL);
			grove_ae_stream_closed(v.ae, v.clock_ms, sid);
		}
		grove_alloc_fail_reset();
		drain(&v, GROVE_OUT_STREAM_FRAME, NULL);
		assert_int_equal(grove_ae_session_count(v.ae), 0);
	}
	victim_unchanged(&v);
	grove_buf_close(&b);
	victim_close(&v);
}

static void test_config_rejected(void **state)
{
	(void)state;
	grove_ae_config_t cfg;
	grove_ae_config_init(&cfg);
	grove_rng_t rng;
	grove_rng_seed(&rng, 1);
	uint64_t clock_ms = g_now;
	grove_db_t *db = open_db("n", &clock_ms);
	grove_ae_t *ae;
	assert_int_equal(grove_ae_create(&cfg, db, &rng, &ae), GROVE_ECONFIG); /* no peers fn */
	cfg.peers = no_peers;
	cfg.fanout = GROVE_AE_FANOUT_MAX + 1;
	assert_int_equal(grove_ae_create(&cfg, db, &rng, &ae), GROVE_ECONFIG);
	cfg.fanout = 3;
	cfg.frame_target_bytes = cfg.frame_bytes_max + 1;
	assert_int_equal(grove_ae_create(&cfg, db, &rng, &ae), GROVE_ECONFIG);
	grove_db_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forged_digest_session_times_out),
		cmocka_unit_test(test_bad_states_rejected_session_continues),
		cmocka_unit_test(test_element_states_rejected),
		cmocka_unit_test(test_malformed_frames_end_session),
		cmocka_unit_test(test_floods_and_limits),
		cmocka_unit_test(test_allocation_failures),
		cmocka_unit_test(test_config_rejected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
