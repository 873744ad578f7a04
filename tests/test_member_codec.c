/*
 * test_member_codec.c - the membership wire codec against the documented
 * examples (doc/membership.md), its refusal of malformed input, the
 * broadcast queue, and single-core behaviour: configuration checks,
 * allocation failures, restore, Lifeguard suspicion timeouts and local
 * health.
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
#include "gossip/member/broadcast.h"
#include "gossip/member/codec.h"
#include "gossip/member/member_int.h"
#include "tests/util_identity.h"

#define DOC "doc/membership.md"

static void test_golden_ping(void **state)
{
	(void)state;
	uint8_t doc[256], buf[256];
	long n = grove_test_doc_golden(DOC, "ping", doc, sizeof(doc));
	assert_int_equal(n, 29);
	grove_member_writer_t w = { .buf = buf, .cap = sizeof(buf), .len = 0 };
	grove_member_msg_t h = { .type = GROVE_MEMBER_MSG_PING, .seq = 0x01020304, .sender = "a", .target = "b" };
	grove_member_update_t u = { .kind = GROVE_MEMBER_ALIVE, .id = "c", .incarnation = 7, .addr = "c:1" };
	size_t count_off;
	assert_int_equal(grove_member_msg_begin(&w, &h, &count_off), 0);
	assert_int_equal(grove_member_update_encode(&w, &u), 0);
	buf[count_off] = 1;
	assert_int_equal(w.len, (size_t)n);
	assert_memory_equal(buf, doc, (size_t)n);

	grove_member_msg_t m;
	grove_member_update_t d;
	size_t off = 0;
	assert_int_equal(grove_member_msg_decode(doc, (size_t)n, &m), 0);
	assert_int_equal(m.type, GROVE_MEMBER_MSG_PING);
	assert_int_equal(m.seq, 0x01020304);
	assert_string_equal(m.sender, "a");
	assert_string_equal(m.target, "b");
	assert_int_equal(m.count, 1);
	assert_int_equal(grove_member_body_next(&m, &off, &d), 1);
	assert_int_equal(d.kind, GROVE_MEMBER_ALIVE);
	assert_string_equal(d.id, "c");
	assert_int_equal(d.incarnation, 7);
	assert_string_equal(d.addr, "c:1");
	assert_int_equal(d.key_len + d.cert_len, 0);
	assert_int_equal(grove_member_body_next(&m, &off, &d), 0);

	/* every truncation and any trailing byte is refused */
	for (long cut = 0; cut < n; cut++)
		assert_int_equal(grove_member_msg_decode(doc, (size_t)cut, &m), GROVE_EDECODE);
	doc[n] = 0;
	assert_int_equal(grove_member_msg_decode(doc, (size_t)n + 1, &m), GROVE_EDECODE);
	doc[0] = 2;
	assert_int_equal(grove_member_msg_decode(doc, (size_t)n, &m), GROVE_EVERSION);
	doc[0] = 1;
	doc[3] = ' '; /* sender id with a space */
	assert_int_equal(grove_member_msg_decode(doc, (size_t)n, &m), GROVE_EDECODE);
	doc[3] = 'a';
	doc[11] = 9; /* unknown update kind */
	assert_int_equal(grove_member_msg_decode(doc, (size_t)n, &m), GROVE_EDECODE);
}

static void test_golden_frame_and_persist(void **state)
{
	(void)state;
	uint8_t doc[256], buf[256];
	long n = grove_test_doc_golden(DOC, "frame", doc, sizeof(doc));
	grove_member_msg_t m;
	grove_member_update_t r;
	size_t off = 0;
	assert_int_equal(grove_member_msg_decode(doc, (size_t)n, &m), 0);
	assert_int_equal(m.type, GROVE_MEMBER_MSG_PP_REQ);
	assert_int_equal(m.flags, GROVE_MEMBER_FRAME_JOIN | GROVE_MEMBER_FRAME_LAST);
	assert_int_equal(grove_member_body_next(&m, &off, &r), 1);
	assert_string_equal(r.addr, "a:1");
	assert_int_equal(r.incarnation, 1);

	grove_member_writer_t w = { .buf = buf, .cap = sizeof(buf), .len = 0 };
	grove_member_msg_t h = { .type = GROVE_MEMBER_MSG_PP_REQ, .flags = 3, .sender = "a" };
	size_t count_off;
	assert_int_equal(grove_member_frame_begin(&w, &h, &count_off), 0);
	assert_int_equal(grove_member_record_encode(&w, &r), 0);
	buf[count_off + 1] = 1;
	assert_int_equal(w.len, (size_t)n);
	assert_memory_equal(buf, doc, (size_t)n);

	n = grove_test_doc_golden(DOC, "persist", doc, sizeof(doc));
	grove_member_peer_t peers[GROVE_MEMBER_PERSIST_PEERS_MAX];
	uint64_t inc;
	size_t count;
	assert_int_equal(grove_member_persist_decode(doc, (size_t)n, &inc, peers, &count), 0);
	assert_int_equal(inc, 5);
	assert_int_equal(count, 1);
	assert_string_equal(peers[0].id, "b");
	assert_string_equal(peers[0].addr, "b:1");
	w.len = 0;
	assert_int_equal(grove_member_persist_encode(&w, 5, peers, 1), 0);
	assert_memory_equal(buf, doc, (size_t)n);
	assert_int_equal(grove_member_persist_decode(doc, (size_t)n - 1, &inc, peers, &count), GROVE_EDECODE);
}

/* Random and mutated inputs: only 0, GROVE_EDECODE or GROVE_EVERSION. */
static void test_decoder_random_input(void **state)
{
	(void)state;
	uint8_t doc[256], buf[600];
	long n = grove_test_doc_golden(DOC, "ping", doc, sizeof(doc));
	grove_rng_t rng;
	grove_rng_seed(&rng, 77);
	printf("seed 77\n");
	size_t ok = 0;
	for (int i = 0; i < 200000; i++) {
		size_t len;
		if (i % 2) {
			len = (size_t)grove_rng_below(&rng, sizeof(buf));
			for (size_t k = 0; k < len; k++)
				buf[k] = (uint8_t)grove_rng_next(&rng);
		} else {
			len = (size_t)n;
			memcpy(buf, doc, len);
			buf[grove_rng_below(&rng, len)] = (uint8_t)grove_rng_next(&rng);
		}
		grove_member_msg_t m;
		grove_member_update_t u;
		int rc = grove_member_msg_decode(buf, len, &m);
		assert_true(rc == 0 || rc == GROVE_EDECODE || rc == GROVE_EVERSION);
		if (rc == 0) {
			ok++;
			size_t off = 0, seen = 0;
			while (grove_member_body_next(&m, &off, &u) == 1)
				seen++;
			assert_int_equal(seen, m.count);
		}
	}
	printf("%zu of 200000 random or mutated inputs decoded\n", ok);
}

static void test_broadcast_queue(void **state)
{
	(void)state;
	grove_broadcast_queue_t q;
	uint8_t out[64];
	size_t used;
	grove_broadcast_init(&q);
	assert_int_equal(grove_broadcast_push(&q, "a", (const uint8_t *)"A1", 2), 0);
	assert_int_equal(grove_broadcast_push(&q, "b", (const uint8_t *)"B1", 2), 0);
	assert_int_equal(grove_broadcast_push(&q, "a", (const uint8_t *)"A2", 2), 0); /* replaces A1 */
	assert_int_equal(q.count, 2);
	/* newest first; the budget takes one item */
	assert_int_equal(grove_broadcast_fill(&q, 3, out, 3, 10, &used), 1);
	assert_memory_equal(out, "A2", 2);
	/* least transmitted first: B1 (0) before A2 (1) */
	assert_int_equal(grove_broadcast_fill(&q, 3, out, sizeof(out), 10, &used), 2);
	assert_memory_equal(out, "B1A2", 4);
	assert_int_equal(grove_broadcast_fill(&q, 3, out, sizeof(out), 10, &used), 2);
	assert_int_equal(q.count, 1); /* A2 reached 3 transmissions */
	assert_int_equal(grove_broadcast_fill(&q, 3, out, sizeof(out), 10, &used), 1);
	assert_int_equal(q.count, 0);
	assert_int_equal(grove_broadcast_push(&q, "k", out, 0), GROVE_EINVAL);
	assert_int_equal(grove_broadcast_limit(4, 1), 4);
	assert_int_equal(grove_broadcast_limit(4, 32), 8);
	assert_int_equal(grove_broadcast_limit(4, 1024), 16);
	/* bounded: the most transmitted item goes first when full */
	char key[16];
	for (int i = 0; i < GROVE_BROADCAST_MAX + 10; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(grove_broadcast_push(&q, key, (const uint8_t *)"x", 1), 0);
	}
	assert_int_equal(q.count, GROVE_BROADCAST_MAX);
	assert_int_equal(q.dropped, 10);
	grove_broadcast_close(&q);
}

static grove_member_t *make_core(const char *id, uint32_t probe_ms)
{
	grove_member_config_t cfg;
	grove_member_t *m = NULL;
	grove_member_config_init(&cfg);
	cfg.id = id;
	cfg.addr = "self:1";
	cfg.probe_interval_ms = probe_ms;
	cfg.probe_timeout_ms = probe_ms / 2;
	assert_int_equal(grove_member_create(&cfg, &m), 0);
	return m;
}

static void test_config_and_alloc_failures(void **state)
{
	(void)state;
	grove_member_config_t cfg;
	grove_member_t *m = NULL;
	grove_member_config_init(&cfg);
	assert_int_equal(grove_member_create(&cfg, &m), GROVE_EINVAL); /* no id */
	cfg.id = "x";
	cfg.addr = "x:1";
	cfg.probe_timeout_ms = cfg.probe_interval_ms;
	assert_int_equal(grove_member_create(&cfg, &m), GROVE_EINVAL);
	grove_member_config_init(&cfg);
	cfg.id = "x";
	cfg.addr = "x:1";
	const char *seeds[1] = { "s:1" };
	cfg.seeds = seeds;
	cfg.seed_count = 1;
	int failed = 0;
	for (long k = 1; k < 20; k++) {
		grove_alloc_fail_after(k);
		int rc = grove_member_create(&cfg, &m);
		grove_alloc_fail_reset();
		if (rc == 0) {
			grove_member_destroy(m);
			break;
		}
		assert_int_equal(rc, GROVE_ENOMEM);
		failed++;
	}
	assert_true(failed > 0);
	m = make_core("x", 1000);
	uint8_t junk[3] = { 1, 2, 3 };
	assert_int_equal(grove_member_restore(m, junk, sizeof(junk)), GROVE_EDECODE);
	assert_int_equal(grove_member_incarnation(m), 0);
	grove_member_destroy(m);
}

/* Teaches core m that id is alive at addr (a gossip datagram from "peer"). */
static void learn(grove_member_t *m, uint64_t now, const char *id, const char *addr, uint8_t kind, const char *from)
{
	uint8_t buf[512];
	grove_member_writer_t w = { .buf = buf, .cap = sizeof(buf), .len = 0 };
	grove_member_msg_t h = { .type = GROVE_MEMBER_MSG_GOSSIP };
	grove_member_update_t u = { .kind = kind };
	size_t count_off;
	strcpy(h.sender, from);
	strcpy(u.id, id);
	strcpy(u.addr, addr);
	strcpy(u.from, from);
	assert_int_equal(grove_member_msg_begin(&w, &h, &count_off), 0);
	assert_int_equal(grove_member_update_encode(&w, &u), 0);
	buf[count_off] = 1;
	grove_member_recv_datagram(m, now, "peer:1", buf, w.len);
}

/* Lifeguard: one accuser -> max timeout; k independent ones -> min. */
static void test_suspicion_shrinks_with_confirmations(void **state)
{
	(void)state;
	grove_member_t *m = make_core("self", 1000);
	const char *ids[] = { "b", "c", "d", "e", "f", "g" };
	for (int i = 0; i < 6; i++)
		learn(m, 1, ids[i], "x:1", GROVE_MEMBER_ALIVE, "c");
	learn(m, 10, "b", "", GROVE_MEMBER_SUSPECT, "c");
	int idx = grove_member__find(m, "b");
	assert_true(idx > 0);
	grove_member__node_t *b = &m->nodes[idx];
	assert_int_equal(b->state, GROVE_MEMBER_SUSPECT);
	/* n = 7 live: min = 4 * max(1, log10 7) * 1 s = 4 s, max = 24 s */
	assert_int_equal(b->suspect_deadline_ms - b->suspect_start_ms, 24000);
	learn(m, 20, "b", "", GROVE_MEMBER_SUSPECT, "d");
	uint64_t one = b->suspect_deadline_ms - b->suspect_start_ms;
	assert_true(one < 24000 && one > 4000);
	learn(m, 30, "b", "", GROVE_MEMBER_SUSPECT, "d"); /* same accuser: no change */
	assert_int_equal(b->suspect_deadline_ms - b->suspect_start_ms, one);
	learn(m, 40, "b", "", GROVE_MEMBER_SUSPECT, "e");
	assert_int_equal(b->suspect_deadline_ms - b->suspect_start_ms, 4000);
	grove_member_event_t ev;
	bool dead = false;
	grove_member_tick(m, 4009);
	while (grove_member_next_event(m, &ev))
		dead = dead || (ev.kind == GROVE_MEMBER_EV_DEAD && strcmp(ev.id, "b") == 0);
	assert_false(dead);
	grove_member_tick(m, 4010);
	while (grove_member_next_event(m, &ev))
		dead = dead || (ev.kind == GROVE_MEMBER_EV_DEAD && strcmp(ev.id, "b") == 0);
	assert_true(dead);
	grove_member_destroy(m);
}

/* Local health: probes that get neither acks nor nacks raise awareness,
 * which stretches the probe interval. */
static void test_awareness_slows_probing(void **state)
{
	(void)state;
	grove_member_t *m = make_core("self", 1000);
	const char *ids[] = { "b", "c", "d", "e", "f", "g" };
	for (int i = 0; i < 6; i++)
		learn(m, 1, ids[i], "x:1", GROVE_MEMBER_ALIVE, "b");
	assert_int_equal(grove_member_awareness(m), 0);
	uint64_t now = 1;
	grove_out_t o;
	for (int i = 0; i < 200 && grove_member_awareness(m) < 7; i++) {
		now = grove_member_next_deadline(m);
		grove_member_tick(m, now);
		while (grove_member_poll(m, &o)) /* the network loses everything */
			;
	}
	assert_int_equal(grove_member_awareness(m), 7);
	assert_true(m->next_probe_ms - now >= 7000);
	grove_member_stats_t st;
	grove_member_get_stats(m, &st);
	assert_true(st.probe_fails > 0);
	grove_member_destroy(m);
}


/* Randomized round-robin: with every ping answered, each cycle of n probes
 * covers each of the n members exactly once. */
static void test_probe_round_robin(void **state)
{
	(void)state;
	enum { M = 10, CYCLES = 5 };
	grove_member_t *m = make_core("self", 1000);
	char ids[M][8];
	for (int i = 0; i < M; i++) {
		snprintf(ids[i], sizeof(ids[i]), "m%d", i);
		learn(m, 1, ids[i], "x:1", GROVE_MEMBER_ALIVE, "m0");
	}
	int seen[M] = { 0 }, probes = 0;
	grove_out_t o;
	while (probes < M * CYCLES) {
		uint64_t now = grove_member_next_deadline(m);
		grove_member_tick(m, now);
		while (grove_member_poll(m, &o)) {
			grove_member_msg_t msg;
			if (o.kind != GROVE_OUT_DATAGRAM || grove_member_msg_decode(o.bytes, o.len, &msg) < 0 ||
			    msg.type != GROVE_MEMBER_MSG_PING)
				continue;
			int t = msg.target[1] - '0';
			seen[t]++;
			probes++;
			if (probes % M == 0)
				for (int i = 0; i < M; i++)
					assert_int_equal(seen[i], probes / M);
			uint8_t ack[64];
			grove_member_writer_t w = { .buf = ack, .cap = sizeof(ack), .len = 0 };
			grove_member_msg_t h = { .type = GROVE_MEMBER_MSG_ACK, .seq = msg.seq };
			size_t count_off;
			strcpy(h.sender, msg.target);
			assert_int_equal(grove_member_msg_begin(&w, &h, &count_off), 0);
			grove_member_recv_datagram(m, now + 1, "x:1", ack, w.len);
			break; /* the bytes of o are invalid after calling into m */
		}
	}
	grove_member_stats_t st;
	grove_member_get_stats(m, &st);
	assert_int_equal(st.probe_fails, 0);
	assert_int_equal(grove_member_count_state(m, GROVE_MEMBER_ALIVE), M + 1);
	grove_member_destroy(m);
}

/* Dead members are forgotten after reap_ms, not before (c, never
 * answering, dies and goes too, later). */
static void test_reap_dead_members(void **state)
{
	(void)state;
	grove_member_config_t cfg;
	grove_member_t *m = NULL;
	grove_member_config_init(&cfg);
	cfg.id = "self";
	cfg.addr = "self:1";
	cfg.reap_ms = 60000;
	assert_int_equal(grove_member_create(&cfg, &m), 0);
	learn(m, 1, "b", "b:1", GROVE_MEMBER_ALIVE, "c");
	learn(m, 1, "c", "c:1", GROVE_MEMBER_ALIVE, "c");
	learn(m, 2, "b", "", GROVE_MEMBER_DEAD, "c");
	assert_int_equal(grove_member_count_state(m, GROVE_MEMBER_DEAD), 1);
	grove_out_t o;
	grove_member_event_t ev;
	int reaped = 0;
	for (uint64_t now = 3; now < 2 + 60000 + 2 * 10000;) {
		grove_member_tick(m, now);
		while (grove_member_poll(m, &o))
			;
		while (grove_member_next_event(m, &ev))
			if (ev.kind == GROVE_MEMBER_EV_REAP && strcmp(ev.id, "b") == 0) {
				assert_true(now >= 2 + 60000);
				reaped++;
			}
		now = grove_member_next_deadline(m);
	}
	assert_int_equal(reaped, 1);
	grove_member_info_t info;
	assert_int_equal(grove_member_find(m, "b", &info), GROVE_ENOTFOUND);
	grove_member_destroy(m);
}

/* Leave waits leave_wait_ms for the news to spread, and not at all when
 * no live member is there to hear it (a lone node stops at once). */
static void test_leave_waits_only_for_listeners(void **state)
{
	(void)state;
	uint64_t done_by = 0;
	grove_member_t *m = make_core("self", 1000);
	assert_int_equal(grove_member_leave(m, 10, &done_by), 0);
	assert_int_equal(done_by, 10);
	grove_member_destroy(m);
	m = make_core("self", 1000);
	learn(m, 1, "b", "b:1", GROVE_MEMBER_ALIVE, "b");
	assert_int_equal(grove_member_leave(m, 10, &done_by), 0);
	assert_int_equal(done_by, 10 + 2000);
	grove_member_destroy(m);
}

/* A payload whose envelope the node opened: the payload's sender must be
 * the authenticated one. */
static void test_recv_payload_checks_sender(void **state)
{
	(void)state;
	grove_member_t *m = make_core("self", 1000);
	uint8_t buf[256];
	grove_member_writer_t w = { .buf = buf, .cap = sizeof(buf), .len = 0 };
	grove_member_msg_t h = { .type = GROVE_MEMBER_MSG_GOSSIP, .sender = "b" };
	grove_member_update_t u = { .kind = GROVE_MEMBER_ALIVE, .id = "b", .incarnation = 3, .addr = "b:1" };
	size_t count_off;
	assert_int_equal(grove_member_msg_begin(&w, &h, &count_off), 0);
	assert_int_equal(grove_member_update_encode(&w, &u), 0);
	buf[count_off] = 1;
	grove_member_recv_payload(m, 1, "b:1", "c", buf, w.len);
	grove_member_stats_t st;
	grove_member_get_stats(m, &st);
	assert_int_equal(st.drop_sender, 1);
	assert_int_equal(grove_member_count(m), 1);
	grove_member_recv_payload(m, 2, "b:1", "b", buf, w.len);
	grove_member_info_t info;
	assert_int_equal(grove_member_find(m, "b", &info), 0);
	assert_int_equal(info.incarnation, 3);
	grove_member_destroy(m);
}

/* Incarnations never wrap: an accusation at UINT64_MAX (hostile or buggy
 * peer) or a persisted UINT64_MAX must not send our incarnation back to 0,
 * where every peer would ignore our alive updates. */
static void test_incarnation_never_wraps(void **state)
{
	(void)state;
	grove_member_t *m = make_core("self", 1000);
	uint8_t buf[256];
	grove_member_writer_t w = { .buf = buf, .cap = sizeof(buf), .len = 0 };
	grove_member_msg_t h = { .type = GROVE_MEMBER_MSG_GOSSIP, .sender = "b" };
	grove_member_update_t u = { .kind = GROVE_MEMBER_SUSPECT, .id = "self", .incarnation = UINT64_MAX,
				    .from = "b" };
	size_t count_off;
	assert_int_equal(grove_member_msg_begin(&w, &h, &count_off), 0);
	assert_int_equal(grove_member_update_encode(&w, &u), 0);
	buf[count_off] = 1;
	grove_member_recv_datagram(m, 1, "b:1", buf, w.len);
	assert_int_equal(grove_member_incarnation(m), UINT64_MAX);
	grove_member_destroy(m);

	m = make_core("self", 1000);
	grove_member_peer_t none[1];
	w.len = 0;
	assert_int_equal(grove_member_persist_encode(&w, UINT64_MAX, none, 0), 0);
	assert_int_equal(grove_member_restore(m, buf, w.len), 0);
	assert_int_equal(grove_member_incarnation(m), UINT64_MAX);
	grove_member_destroy(m);
}

/* Push-pull frames bound to the session's authenticated peer: once the node
 * layer reports who the stream's peer is, a frame naming another sender is
 * dropped (and the stream ended), so one member cannot speak for another. */
static void test_stream_frames_bound_to_peer(void **state)
{
	(void)state;
	grove_member_t *m = make_core("self", 1000);
	uint8_t buf[256];
	grove_member_writer_t w = { .buf = buf, .cap = sizeof(buf), .len = 0 };
	grove_member_msg_t h = { .type = GROVE_MEMBER_MSG_PP_REQ, .flags = GROVE_MEMBER_FRAME_LAST, .sender = "c" };
	grove_member_update_t u = { .kind = GROVE_MEMBER_ALIVE, .id = "c", .incarnation = 3, .addr = "c:1" };
	size_t count_off;
	assert_int_equal(grove_member_frame_begin(&w, &h, &count_off), 0);
	assert_int_equal(grove_member_record_encode(&w, &u), 0);
	buf[count_off + 1] = 1;
	uint32_t id;
	assert_int_equal(grove_member_stream_peer(m, 12345, "b"), GROVE_ENOTFOUND);
	assert_int_equal(grove_member_stream_accept(m, 1, "b:1", &id), 0);
	assert_int_equal(grove_member_stream_peer(m, id, ""), GROVE_EINVAL);
	assert_int_equal(grove_member_stream_peer(m, id, "b"), 0);
	grove_member_stream_recv(m, 2, id, buf, w.len);
	grove_member_stats_t st;
	grove_member_get_stats(m, &st);
	assert_int_equal(st.drop_sender, 1);
	assert_int_equal(grove_member_count(m), 1);
	/* the same frame on a stream whose peer is "c" is merged */
	assert_int_equal(grove_member_stream_accept(m, 3, "c:1", &id), 0);
	assert_int_equal(grove_member_stream_peer(m, id, "c"), 0);
	grove_member_stream_recv(m, 4, id, buf, w.len);
	grove_member_info_t info;
	assert_int_equal(grove_member_find(m, "c", &info), 0);
	assert_int_equal(info.incarnation, 3);
	grove_member_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_ping),
		cmocka_unit_test(test_golden_frame_and_persist),
		cmocka_unit_test(test_decoder_random_input),
		cmocka_unit_test(test_broadcast_queue),
		cmocka_unit_test(test_config_and_alloc_failures),
		cmocka_unit_test(test_suspicion_shrinks_with_confirmations),
		cmocka_unit_test(test_awareness_slows_probing),
		cmocka_unit_test(test_probe_round_robin),
		cmocka_unit_test(test_reap_dead_members),
		cmocka_unit_test(test_leave_waits_only_for_listeners),
		cmocka_unit_test(test_recv_payload_checks_sender),
		cmocka_unit_test(test_incarnation_never_wraps),
		cmocka_unit_test(test_stream_frames_bound_to_peer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
