/*
 * test_netsim.c - the simulated network used by the membership,
 * anti-entropy and simulation tests (tests/util_netsim.h): delays, loss and
 * duplication rates, ordered streams, partitions, down nodes, timers and
 * replay from a seed.
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
	grove_netsim_t *net;
	uint64_t dgrams, frames, opens, closes, timers;
	uint64_t last_frame_value;
	bool frames_in_order;
	uint64_t hash; /* of (time, payload) of every delivery */
	uint32_t open_ep;
} rec_t;

static void mix(rec_t *r, uint64_t now, const uint8_t *b, size_t len)
{
	r->hash = (r->hash ^ now) * 1099511628211ULL;
	for (size_t i = 0; i < len; i++)
		r->hash = (r->hash ^ b[i]) * 1099511628211ULL;
}

static void on_dgram(void *ctx, uint64_t now, const char *from, const uint8_t *b, size_t len)
{
	rec_t *r = ctx;
	(void)from;
	r->dgrams++;
	mix(r, now, b, len);
}

static void on_open(void *ctx, uint64_t now, uint32_t ep, const char *from)
{
	rec_t *r = ctx;
	(void)now, (void)from;
	r->opens++;
	r->open_ep = ep;
}

static void on_frame(void *ctx, uint64_t now, uint32_t ep, const uint8_t *b, size_t len)
{
	rec_t *r = ctx;
	(void)ep;
	uint64_t v;
	assert_int_equal(len, sizeof(v));
	memcpy(&v, b, sizeof(v));
	if (v != r->last_frame_value + 1)
		r->frames_in_order = false;
	r->last_frame_value = v;
	r->frames++;
	mix(r, now, b, len);
}

static void on_closed(void *ctx, uint64_t now, uint32_t ep)
{
	rec_t *r = ctx;
	(void)now, (void)ep;
	r->closes++;
}

static void on_timer(void *ctx, uint64_t now)
{
	rec_t *r = ctx;
	(void)now;
	r->timers++;
}

static const grove_netsim_handlers_t H = { on_dgram, on_open, on_frame, on_closed, on_timer };

static grove_netsim_t *two_nodes(uint64_t seed, rec_t *a, rec_t *b, const grove_netsim_faults_t *f)
{
	grove_netsim_t *net = grove_netsim_create(seed, 1000);
	memset(a, 0, sizeof(*a));
	memset(b, 0, sizeof(*b));
	a->frames_in_order = b->frames_in_order = true;
	assert_int_equal(grove_netsim_add_node(net, "a:1", &H, a), 0);
	assert_int_equal(grove_netsim_add_node(net, "b:1", &H, b), 1);
	assert_int_equal(grove_netsim_add_node(net, "a:1", &H, a), -1);
	grove_netsim_set_faults(net, f);
	return net;
}

static void test_loss_duplication_delay(void **state)
{
	(void)state;
	rec_t a, b;
	grove_netsim_faults_t f = { .loss = 0.2, .duplicate = 0.1, .delay_min_ms = 5, .delay_max_ms = 50 };
	grove_netsim_t *net = two_nodes(7, &a, &b, &f);
	uint8_t x = 1;
	for (int i = 0; i < 20000; i++)
		grove_netsim_send(net, 0, "b:1", &x, 1);
	grove_netsim_run_until(net, 1000 + 4);
	assert_int_equal(b.dgrams, 0); /* nothing before the minimum delay */
	grove_netsim_run_until(net, 1000 + 50);
	grove_netsim_stats_t st;
	grove_netsim_get_stats(net, &st);
	/* 20000 sends, 10% duplicated, 20% of the copies lost */
	double expect = 20000 * 1.1 * 0.8;
	printf("delivered %llu of 20000 (expected about %.0f), lost %llu\n", (unsigned long long)b.dgrams, expect,
	       (unsigned long long)st.datagrams_lost);
	assert_true(b.dgrams > expect * 0.97 && b.dgrams < expect * 1.03);
	assert_int_equal(st.datagrams_delivered, b.dgrams);
	grove_netsim_send(net, 0, "nobody:1", &x, 1);
	grove_netsim_get_stats(net, &st);
	assert_int_equal(st.datagrams_blocked, 1);
	grove_netsim_destroy(net);
}

static void test_streams_ordered_and_closed(void **state)
{
	(void)state;
	rec_t a, b;
	grove_netsim_faults_t f = { .loss = 0.5, .delay_min_ms = 1, .delay_max_ms = 100 };
	grove_netsim_t *net = two_nodes(8, &a, &b, &f);
	uint32_t ep = grove_netsim_stream_open(net, 0, "b:1");
	for (uint64_t v = 1; v <= 500; v++)
		grove_netsim_stream_send(net, ep, (const uint8_t *)&v, sizeof(v));
	grove_netsim_stream_close(net, ep);
	grove_netsim_run_until(net, 10000);
	assert_int_equal(b.opens, 1);
	assert_int_equal(b.frames, 500); /* streams are reliable despite datagram loss */
	assert_true(b.frames_in_order);
	assert_int_equal(b.closes, 1);
	assert_int_equal(a.closes, 0);
	/* the responder answers on its endpoint */
	uint64_t v = 1;
	uint32_t ep2 = grove_netsim_stream_open(net, 0, "b:1");
	grove_netsim_run_until(net, 20000);
	grove_netsim_stream_send(net, b.open_ep, (const uint8_t *)&v, sizeof(v));
	grove_netsim_run_until(net, 30000);
	assert_int_equal(a.frames, 1);
	(void)ep2;
	grove_netsim_destroy(net);
}

static void test_partition_and_down(void **state)
{
	(void)state;
	rec_t a, b;
	grove_netsim_faults_t f = { .delay_min_ms = 1, .delay_max_ms = 3 };
	grove_netsim_t *net = two_nodes(9, &a, &b, &f);
	uint8_t x = 1;
	uint32_t ep = grove_netsim_stream_open(net, 0, "b:1");
	grove_netsim_run_until(net, 1100);
	grove_netsim_set_group(net, 1, 1);
	grove_netsim_send(net, 0, "b:1", &x, 1);
	grove_netsim_stream_send(net, ep, (const uint8_t *)"12345678", 8); /* breaks the stream */
	uint32_t ep3 = grove_netsim_stream_open(net, 0, "b:1");             /* cannot connect */
	grove_netsim_run_until(net, 1200);
	assert_int_equal(b.dgrams, 0);
	assert_int_equal(b.frames, 0);
	assert_int_equal(a.closes, 2);
	assert_int_equal(b.closes, 1);
	(void)ep3;
	grove_netsim_set_group(net, 1, 0);
	grove_netsim_send(net, 0, "b:1", &x, 1);
	grove_netsim_run_until(net, 1300);
	assert_int_equal(b.dgrams, 1);
	/* a down node gets nothing and its timer waits until it is back */
	grove_netsim_timer_set(net, 1, 1400);
	grove_netsim_set_down(net, 1, true);
	grove_netsim_send(net, 0, "b:1", &x, 1);
	grove_netsim_run_until(net, 2000);
	assert_int_equal(b.dgrams, 1);
	assert_int_equal(b.timers, 0);
	grove_netsim_set_down(net, 1, false);
	grove_netsim_run_until(net, 2000);
	assert_int_equal(b.timers, 1);
	/* a replaced timer fires once, at the new time */
	grove_netsim_timer_set(net, 0, 2500);
	grove_netsim_timer_set(net, 0, 2100);
	grove_netsim_run_until(net, 3000);
	assert_int_equal(a.timers, 1);
	grove_netsim_destroy(net);
}

static uint64_t run_hash(uint64_t seed)
{
	rec_t a, b;
	grove_netsim_faults_t f = { .loss = 0.3, .duplicate = 0.2, .delay_min_ms = 1, .delay_max_ms = 30 };
	grove_netsim_t *net = two_nodes(seed, &a, &b, &f);
	for (uint8_t i = 0; i < 200; i++) {
		grove_netsim_send(net, 0, "b:1", &i, 1);
		grove_netsim_run_until(net, 1000 + i);
	}
	grove_netsim_run_until(net, 5000);
	grove_netsim_destroy(net);
	return b.hash;
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
		cmocka_unit_test(test_replays_from_seed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
