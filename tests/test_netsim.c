/*
 * test_netsim.c - the simulated network used by the membership and
 * anti-entropy tests and the simulator (tests/util_netsim.h): delays, loss
 * and duplication rates, per-link latency and jitter, ordered streams with
 * bound ids and flow control, partitions, down nodes, timers, user events
 * and replay from a seed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "tests/util_netsim.h"

typedef struct rec {
	uint64_t dgrams, frames, opens, closes, timers, writable, users;
	uint64_t last_user_arg, last_at;
	uint32_t last_dup, last_sid;
	uint64_t last_frame_value;
	bool frames_in_order;
	uint64_t hash; /* of (time, payload) of every delivery */
	grove_netsim_ep_t open_ep;
} rec_t;

static void mix(rec_t *r, uint64_t now, const uint8_t *b, size_t len)
{
	r->hash = (r->hash ^ now) * 1099511628211ULL;
	for (size_t i = 0; i < len; i++)
		r->hash = (r->hash ^ b[i]) * 1099511628211ULL;
}

static void on_frame(rec_t *r, uint64_t now, const uint8_t *b, size_t len)
{
	uint64_t v;
	assert_int_equal(len, sizeof(v));
	memcpy(&v, b, sizeof(v));
	if (v != r->last_frame_value + 1)
		r->frames_in_order = false;
	r->last_frame_value = v;
	r->frames++;
	mix(r, now, b, len);
}

static rec_t recs[2]; /* node 0 ("a:1") and node 1 ("b:1") */

/* Takes every event up to t into the record of its node. */
static void run(grove_netsim_t *net, uint64_t t)
{
	grove_netsim_ev_t ev;
	while (grove_netsim_next(net, t, &ev)) {
		rec_t *r = &recs[ev.node];
		r->last_at = ev.at_ms;
		r->last_sid = ev.sid;
		switch (ev.kind) {
		case GROVE_NETSIM_EV_DATAGRAM:
			r->dgrams++;
			r->last_dup = ev.dup;
			mix(r, ev.at_ms, ev.bytes, ev.len);
			break;
		case GROVE_NETSIM_EV_STREAM_OPEN:
			r->opens++;
			r->open_ep = ev.ep;
			break;
		case GROVE_NETSIM_EV_STREAM_FRAME: on_frame(r, ev.at_ms, ev.bytes, ev.len); break;
		case GROVE_NETSIM_EV_STREAM_CLOSED: r->closes++; break;
		case GROVE_NETSIM_EV_STREAM_WRITABLE: r->writable++; break;
		case GROVE_NETSIM_EV_TIMER: r->timers++; break;
		case GROVE_NETSIM_EV_USER:
			r->users++;
			r->last_user_arg = ev.arg;
			break;
		}
	}
}

static grove_netsim_t *two_nodes(uint64_t seed, rec_t **a, rec_t **b, const grove_netsim_faults_t *f)
{
	grove_netsim_t *net = grove_netsim_create(seed, 1000);
	memset(recs, 0, sizeof(recs));
	*a = &recs[0];
	*b = &recs[1];
	recs[0].frames_in_order = recs[1].frames_in_order = true;
	assert_int_equal(grove_netsim_add_node(net, "a:1"), 0);
	assert_int_equal(grove_netsim_add_node(net, "b:1"), 1);
	assert_int_equal(grove_netsim_add_node(net, "a:1"), -1);
	grove_netsim_set_faults(net, f);
	return net;
}

static void test_loss_duplication_delay(void **state)
{
	(void)state;
	rec_t *a, *b;
	grove_netsim_faults_t f = { .loss = 0.2, .duplicate = 0.1, .delay_min_ms = 5, .delay_max_ms = 50 };
	grove_netsim_t *net = two_nodes(7, &a, &b, &f);
	uint8_t x = 1;
	for (int i = 0; i < 20000; i++)
		grove_netsim_send(net, 0, "b:1", 0, &x, 1);
	run(net, 1000 + 4);
	assert_int_equal(b->dgrams, 0); /* nothing before the minimum delay */
	run(net, 1000 + 50);
	grove_netsim_stats_t st;
	grove_netsim_get_stats(net, &st);
	/* 20000 sends, 10% duplicated, 20% of the copies lost */
	double expect = 20000 * 1.1 * 0.8;
	printf("delivered %llu of 20000 (expected about %.0f), lost %llu\n", (unsigned long long)b->dgrams, expect,
	       (unsigned long long)st.datagrams_lost);
	assert_true(b->dgrams > expect * 0.97 && b->dgrams < expect * 1.03);
	assert_int_equal(st.datagrams_delivered, b->dgrams);
	grove_netsim_send(net, 0, "nobody:1", 0, &x, 1);
	grove_netsim_get_stats(net, &st);
	assert_int_equal(st.datagrams_blocked, 1);
	grove_netsim_destroy(net);
}

static void test_streams_ordered_and_closed(void **state)
{
	(void)state;
	rec_t *a, *b;
	grove_netsim_faults_t f = { .loss = 0.5, .delay_min_ms = 1, .delay_max_ms = 100 };
	grove_netsim_t *net = two_nodes(8, &a, &b, &f);
	grove_netsim_ep_t ep = grove_netsim_stream_open(net, 0, "b:1", 0, 1);
	for (uint64_t v = 1; v <= 500; v++)
		grove_netsim_stream_send(net, ep, (const uint8_t *)&v, sizeof(v));
	grove_netsim_stream_close(net, ep);
	run(net, 10000);
	assert_int_equal(b->opens, 1);
	assert_int_equal(b->frames, 500); /* streams are reliable despite datagram loss */
	assert_true(b->frames_in_order);
	assert_int_equal(b->closes, 1);
	assert_int_equal(a->closes, 0);
	/* the responder answers on its endpoint */
	uint64_t v = 1;
	grove_netsim_ep_t ep2 = grove_netsim_stream_open(net, 0, "b:1", 0, 1);
	run(net, 20000);
	grove_netsim_stream_send(net, b->open_ep, (const uint8_t *)&v, sizeof(v));
	run(net, 30000);
	assert_int_equal(a->frames, 1);
	(void)ep2;
	grove_netsim_destroy(net);
}

static void test_partition_and_down(void **state)
{
	(void)state;
	rec_t *a, *b;
	grove_netsim_faults_t f = { .delay_min_ms = 1, .delay_max_ms = 3 };
	grove_netsim_t *net = two_nodes(9, &a, &b, &f);
	uint8_t x = 1;
	grove_netsim_ep_t ep = grove_netsim_stream_open(net, 0, "b:1", 0, 1);
	run(net, 1100);
	grove_netsim_set_group(net, 1, 1);
	grove_netsim_send(net, 0, "b:1", 0, &x, 1);
	grove_netsim_stream_send(net, ep, (const uint8_t *)"12345678", 8); /* breaks the stream */
	grove_netsim_ep_t ep3 = grove_netsim_stream_open(net, 0, "b:1", 0, 2); /* cannot connect */
	run(net, 1200);
	assert_int_equal(b->dgrams, 0);
	assert_int_equal(b->frames, 0);
	assert_int_equal(a->closes, 2);
	assert_int_equal(b->closes, 1);
	(void)ep3;
	grove_netsim_set_group(net, 1, 0);
	grove_netsim_send(net, 0, "b:1", 0, &x, 1);
	run(net, 1300);
	assert_int_equal(b->dgrams, 1);
	/* a down node gets nothing and its timer waits until it is back */
	grove_netsim_timer_set(net, 1, 1400);
	grove_netsim_set_down(net, 1, true);
	grove_netsim_send(net, 0, "b:1", 0, &x, 1);
	run(net, 2000);
	assert_int_equal(b->dgrams, 1);
	assert_int_equal(b->timers, 0);
	grove_netsim_set_down(net, 1, false);
	run(net, 2000);
	assert_int_equal(b->timers, 1);
	/* a replaced timer fires once, at the new time */
	grove_netsim_timer_set(net, 0, 2500);
	grove_netsim_timer_set(net, 0, 2100);
	run(net, 3000);
	assert_int_equal(a->timers, 1);
	grove_netsim_destroy(net);
}

static uint64_t run_hash(uint64_t seed)
{
	rec_t *a, *b;
	grove_netsim_faults_t f = { .loss = 0.3, .duplicate = 0.2, .delay_min_ms = 1, .delay_max_ms = 30 };
	grove_netsim_t *net = two_nodes(seed, &a, &b, &f);
	for (uint8_t i = 0; i < 200; i++) {
		grove_netsim_send(net, 0, "b:1", 0, &i, 1);
		run(net, 1000 + i);
	}
	run(net, 5000);
	grove_netsim_destroy(net);
	return b->hash;
}

/* Each end finds its stream by (tag, bound id); a writer past the cap is
 * told to stop, and told it may write again once the reader drained the
 * backlog to half the cap. */
static void test_stream_ids_and_flow_control(void **state)
{
	(void)state;
	rec_t *a, *b;
	grove_netsim_faults_t f = { .streams_fixed = true, .stream_delay_ms = 2, .stream_cap_bytes = 20 };
	grove_netsim_t *net = two_nodes(10, &a, &b, &f);
	grove_netsim_ep_t ea = grove_netsim_stream_open(net, 0, "b:1", 7, 41);
	assert_int_equal(grove_netsim_stream_find(net, 0, 7, 41), ea);
	assert_int_equal(grove_netsim_stream_find(net, 0, 6, 41), 0);
	run(net, 1002);
	assert_int_equal(b->opens, 1);
	assert_int_equal(grove_netsim_stream_find(net, 1, 7, 0), b->open_ep);
	grove_netsim_stream_bind(net, b->open_ep, 99);
	assert_int_equal(grove_netsim_stream_find(net, 1, 7, 99), b->open_ep);
	uint64_t v = 1;
	assert_true(grove_netsim_stream_send(net, ea, (const uint8_t *)&v, 8));
	v++;
	assert_true(grove_netsim_stream_send(net, ea, (const uint8_t *)&v, 8));
	v++;
	assert_false(grove_netsim_stream_send(net, ea, (const uint8_t *)&v, 8)); /* 24 > 20 in flight */
	run(net, 1003);
	assert_int_equal(b->frames, 0);
	assert_int_equal(a->writable, 0);
	run(net, 1004);
	assert_int_equal(b->frames, 3);
	assert_int_equal(b->last_sid, 99);
	assert_int_equal(a->writable, 1);
	assert_int_equal(a->last_sid, 41);
	grove_netsim_stats_t st;
	grove_netsim_get_stats(net, &st);
	assert_int_equal(st.stream_backlog_peak_bytes, 24);
	/* the reader goes down: the writer learns the stream broke; the dead
	 * endpoints do nothing, and a new stream gets another endpoint */
	grove_netsim_set_down(net, 1, true);
	run(net, 1010);
	assert_int_equal(a->closes, 1);
	assert_int_equal(grove_netsim_stream_find(net, 0, 7, 41), 0);
	assert_true(grove_netsim_stream_send(net, ea, (const uint8_t *)&v, 8));
	grove_netsim_stream_close(net, ea);
	grove_netsim_set_down(net, 1, false);
	grove_netsim_ep_t ea2 = grove_netsim_stream_open(net, 0, "b:1", 7, 41);
	assert_int_not_equal(ea2, ea);
	run(net, 1020);
	assert_int_equal(b->opens, 2);
	assert_int_equal(b->frames, 3);
	grove_netsim_destroy(net);
}

/* Per-link latency is one value per pair (both ways); jitter only adds. */
static void test_link_latency_and_jitter(void **state)
{
	(void)state;
	rec_t *a, *b;
	grove_netsim_faults_t f = { .link_min_ms = 10, .link_max_ms = 30 };
	grove_netsim_t *net = two_nodes(11, &a, &b, &f);
	uint8_t x = 1;
	grove_netsim_send(net, 0, "b:1", 0, &x, 1);
	run(net, 2000);
	uint64_t link = b->last_at - 1000;
	assert_true(link >= 10 && link <= 30);
	for (int i = 0; i < 20; i++) {
		grove_netsim_send(net, 1, "a:1", 0, &x, 1);
		grove_netsim_send(net, 0, "b:1", 0, &x, 1);
		uint64_t t0 = grove_netsim_now(net);
		run(net, t0 + link - 1);
		assert_int_equal(a->dgrams + b->dgrams, 1 + 2 * (uint64_t)i);
		run(net, t0 + link);
		assert_int_equal(a->dgrams + b->dgrams, 3 + 2 * (uint64_t)i);
	}
	f.jitter_ms = 5;
	grove_netsim_set_faults(net, &f);
	uint64_t sum = 0;
	for (int i = 0; i < 2000; i++) {
		uint64_t t0 = grove_netsim_now(net);
		grove_netsim_send(net, 0, "b:1", 0, &x, 1);
		run(net, t0 + 1000);
		assert_true(b->last_at >= t0 + link && b->last_at <= t0 + link + 50);
		sum += b->last_at - t0 - link;
	}
	printf("mean jitter %.2f ms (about 4.5 expected: 5, in whole ms)\n", sum / 2000.0);
	assert_true(sum > 2000 * 4 && sum < 2000 * 6);
	grove_netsim_destroy(net);
}

/* User events come back in time order with the traffic, even at a down
 * node; both copies of a duplicated datagram carry one nonzero dup id. */
static void test_user_events_and_duplicates(void **state)
{
	(void)state;
	rec_t *a, *b;
	grove_netsim_faults_t f = { .duplicate = 1.0, .delay_min_ms = 5, .delay_max_ms = 5 };
	grove_netsim_t *net = two_nodes(12, &a, &b, &f);
	uint8_t x = 1;
	grove_netsim_post(net, 1010, 1, 3, 333);
	grove_netsim_post(net, 1003, 1, 3, 111);
	grove_netsim_send(net, 0, "b:1", 0, &x, 1);
	run(net, 1004);
	assert_int_equal(b->users, 1);
	assert_int_equal(b->last_user_arg, 111);
	run(net, 1005);
	assert_int_equal(b->dgrams, 2);
	uint32_t dup = b->last_dup;
	assert_int_not_equal(dup, 0);
	grove_netsim_set_down(net, 1, true);
	run(net, 1010);
	assert_int_equal(b->users, 2);
	assert_int_equal(b->last_user_arg, 333);
	grove_netsim_set_down(net, 1, false);
	grove_netsim_send(net, 0, "b:1", 0, &x, 1);
	run(net, 1020);
	assert_int_equal(b->dgrams, 4);
	assert_int_not_equal(b->last_dup, 0);
	assert_int_not_equal(b->last_dup, dup);
	grove_netsim_destroy(net);
}

static void test_replays_from_seed(void **state)
{
	(void)state;
	assert_int_equal(run_hash(11), run_hash(11));
	assert_int_not_equal(run_hash(11), run_hash(12));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_loss_duplication_delay),
		cmocka_unit_test(test_streams_ordered_and_closed),
		cmocka_unit_test(test_partition_and_down),
		cmocka_unit_test(test_stream_ids_and_flow_control),
		cmocka_unit_test(test_link_latency_and_jitter),
		cmocka_unit_test(test_user_events_and_duplicates),
		cmocka_unit_test(test_replays_from_seed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
