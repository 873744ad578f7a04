/*
 * test_ae_push.c - push of fresh writes (grove_ae_note_write and the db
 * change hook): a hot key occupies one queue entry however often it is
 * written, each key goes out push_transmits times with its latest state
 * (once when one round reaches every peer), keys the per-tick datagram
 * budget leaves unsent go first in the next round while repeats over it
 * are dropped, the queue bound drops (and counts) what does not fit, a
 * receiver forwards what changed it only when its sender could not reach
 * every peer, and a node with no peer queues nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gossip/ae/codec.h"
#include "gossip/ae/antientropy.h"
#include "grove/value.h"
#include "tests/util_storage.h"

static uint64_t now_ms = 1700000000000ULL;

static uint64_t clock_fn(void *ctx)
{
	(void)ctx;
	return now_ms;
}

static size_t one_peer(void *ctx, char (*addrs)[GROVE_AE_ADDR_MAX + 1], size_t max)
{
	(void)ctx;
	(void)max;
	strcpy(addrs[0], "peer");
	return 1;
}

/* Five peers: more than a push_fanout of 1 reaches in one round. */
static size_t five_peers(void *ctx, char (*addrs)[GROVE_AE_ADDR_MAX + 1], size_t max)
{
	(void)ctx;
	size_t n = max < 5 ? max : 5;
	for (size_t i = 0; i < n; i++)
		snprintf(addrs[i], GROVE_AE_ADDR_MAX + 1, "peer%zu", i);
	return n;
}

typedef struct pnode {
	grove_db_t *db;
	grove_ae_t *ae;
	grove_rng_t rng;
} pnode_t;

static void pnode_open_peers(pnode_t *n, uint32_t queue_max, grove_ae_peers_fn peers)
{
	grove_db_options_t o;
	grove_test_db_options_init(&o);
	o.node_id = peers == one_peer ? "alone-with-one" : "pusher";
	o.clock = clock_fn;
	assert_int_equal(grove_db_open(NULL, &o, &n->db, NULL, 0), 0);
	grove_ae_config_t cfg;
	grove_ae_config_init(&cfg);
	cfg.peers = peers;
	cfg.interval_ms = 3600 * 1000;
	cfg.push = true;
	cfg.push_fanout = 1;
	cfg.push_queue_max = queue_max;
	grove_rng_seed(&n->rng, 9);
	assert_int_equal(grove_ae_create(&cfg, n->db, &n->rng, &n->ae), 0);
	grove_ae_tick(n->ae, now_ms);
}

static void pnode_open(pnode_t *n, uint32_t queue_max)
{
	pnode_open_peers(n, queue_max, five_peers);
}

static void pnode_close(pnode_t *n)
{
	grove_ae_destroy(n->ae);
	grove_db_close(n->db);
}

typedef void (*entry_fn)(void *ctx, const uint8_t *key, size_t klen);

/* Runs one push round and hands each PUSH entry's item name to fn;
 * returns the entries. */
static int push_round_each(pnode_t *n, entry_fn fn, void *ctx)
{
	now_ms += 100;
	grove_ae_tick(n->ae, now_ms);
	grove_out_t o;
	int all = 0;
	while (grove_ae_poll(n->ae, now_ms, &o)) {
		grove_ae_frame_t f;
		if (o.kind != GROVE_OUT_DATAGRAM ||
		    grove_ae_frame_decode(o.bytes, o.len, GROVE_DATAGRAM_MAX, &f) != 0 ||
		    f.type != GROVE_AE_PUSH)
			continue;
		grove_ae_rd_t rd;
		grove_ae_rd_init(&rd, &f);
		for (uint32_t i = 0; i < f.count; i++, all++) {
			const uint8_t *k, *st;
			size_t klen, slen;
			grove_ae_rd_state(&rd, &k, &klen, &st, &slen);
			fn(ctx, k, klen);
		}
	}
	return all;
}

typedef struct head_hits {
	const char *key;
	int hits;
} head_hits_t;

static void count_head(void *ctx, const uint8_t *k, size_t klen)
{
	head_hits_t *h = ctx;
	h->hits += klen == 1 + strlen(h->key) && k[0] == GROVE_ITEM_HEAD &&
		   memcmp(k + 1, h->key, klen - 1) == 0;
}

/* Runs one push round; counts the PUSH entries for key's head item (and
 * all entries). */
static int push_round(pnode_t *n, const char *key, int *all)
{
	head_hits_t h = { key, 0 };
	*all = push_round_each(n, count_head, &h);
	return h.hits;
}

static void test_hot_key_one_entry_three_transmits(void **state)
{
	(void)state;
	pnode_t n;
	pnode_open(&n, 64);
	for (int i = 0; i < 10000; i++)
		assert_int_equal(grove_db_counter_add(n.db, "hot", 3, 1, NULL), 0);
	bool added;
	assert_int_equal(grove_db_set_add(n.db, "other", 5, "x", 1, &added), 0);
	int all;
	for (int round = 0; round < 3; round++) {
		assert_int_equal(push_round(&n, "hot", &all), 1);
		assert_int_equal(all, 3); /* "hot", "other" and its member "x", once each */
	}
	assert_int_equal(push_round(&n, "hot", &all), 0); /* transmits spent */
	assert_int_equal(all, 0);
	grove_ae_stats_t st;
	grove_ae_get_stats(n.ae, &st);
	assert_int_equal(st.push_queue_drops, 0);
	assert_int_equal(st.push_keys_sent, 9);
	pnode_close(&n);
}

/* One peer, push_fanout 1: the first round reached every peer, so a
 * second would only repeat it. */
static void test_one_round_when_it_reaches_every_peer(void **state)
{
	(void)state;
	pnode_t n;
	pnode_open_peers(&n, 64, one_peer);
	assert_int_equal(grove_db_counter_add(n.db, "hot", 3, 1, NULL), 0);
	int all;
	assert_int_equal(push_round(&n, "hot", &all), 1);
	assert_int_equal(all, 1);
	assert_int_equal(push_round(&n, "hot", &all), 0);
	assert_int_equal(all, 0);
	assert_int_equal(grove_db_counter_add(n.db, "hot", 3, 1, NULL), 0);
	assert_int_equal(push_round(&n, "hot", &all), 1); /* a new write goes out again */
	pnode_close(&n);
}

/* Marks a counter key "kNNNNN" seen (ctx: one byte per key). */
static void mark_seen(void *ctx, const uint8_t *k, size_t klen)
{
	char name[8] = { 0 };
	assert_int_equal(klen, 7);
	memcpy(name, k + 1, 6);
	((uint8_t *)ctx)[atoi(name + 1)]++;
}

/* More fresh keys than one tick's datagrams carry: what the budget left
 * unsent goes out first in the next rounds (nothing written is skipped),
 * and only repeats over the budget are dropped. */
static void test_budget_sends_first_transmissions_first(void **state)
{
	(void)state;
	enum { NKEYS = 20000 };
	pnode_t n;
	pnode_open(&n, NKEYS);
	char key[16];
	for (int i = 0; i < NKEYS; i++) {
		snprintf(key, sizeof(key), "k%05d", i);
		assert_int_equal(grove_db_counter_add(n.db, key, strlen(key), 1, NULL), 0);
	}
	static uint8_t seen[NKEYS];
	memset(seen, 0, sizeof(seen));
	int first = push_round_each(&n, mark_seen, seen);
	assert_true(first > 0 && first < NKEYS); /* over one tick's budget */
	for (int i = 0; i < NKEYS; i++)
		assert_int_equal(seen[i], i < first); /* oldest first */
	int rounds = 1;
	int unseen = NKEYS - first;
	while (unseen > 0 && rounds < 20) {
		push_round_each(&n, mark_seen, seen);
		rounds++;
		unseen = 0;
		for (int i = 0; i < NKEYS; i++)
			unseen += seen[i] == 0;
	}
	assert_int_equal(unseen, 0);
	assert_true(rounds <= (NKEYS + first - 1) / first); /* fresh keys only */
	grove_ae_stats_t st;
	grove_ae_get_stats(n.ae, &st);
	assert_true(st.push_queue_drops > 0); /* repeats the budget could not carry */
	pnode_close(&n);
}

/* A receiver forwards the keys a PUSH changed only when its own round
 * would reach peers the sender's did not. */
static void test_forward_only_when_sender_could_not_reach_all(void **state)
{
	(void)state;
	for (int covered = 0; covered < 2; covered++) {
		pnode_t a, b;
		pnode_open_peers(&a, 64, five_peers);
		pnode_open_peers(&b, 64, covered ? one_peer : five_peers);
		grove_ae_set_push_peers(b.ae, true);
		assert_int_equal(grove_db_counter_add(a.db, "news", 4, 7, NULL), 0);
		now_ms += 100;
		grove_ae_tick(a.ae, now_ms);
		grove_out_t o;
		int pushes = 0;
		while (grove_ae_poll(a.ae, now_ms, &o))
			if (o.kind == GROVE_OUT_DATAGRAM) {
				grove_ae_recv_datagram(b.ae, now_ms, "a", o.bytes, o.len);
				pushes++;
			}
		assert_int_equal(pushes, 1);
		grove_value_t *v;
		int64_t got = 0;
		assert_int_equal(grove_db_get(b.db, "news", 4, &v), 0); /* merged */
		assert_int_equal(grove_pncounter_get(v, &got), 0);
		assert_int_equal(got, 7);
		grove_value_destroy(v);
		int all;
		assert_int_equal(push_round(&b, "news", &all), covered ? 0 : 1);
		pnode_close(&a);
		pnode_close(&b);
	}
}

static void test_queue_bound_drops_and_counts(void **state)
{
	(void)state;
	pnode_t n;
	pnode_open(&n, 16);
	char key[16];
	for (int i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(grove_db_counter_add(n.db, key, strlen(key), 1, NULL), 0);
	}
	int all;
	push_round(&n, "k0", &all);
	assert_int_equal(all, 16);
	grove_ae_stats_t st;
	grove_ae_get_stats(n.ae, &st);
	assert_int_equal(st.push_queue_drops, 24);
	pnode_close(&n);
}

/* With no peer to push to (grove_ae_set_push_peers false), writes queue
 * nothing; once there is one, new writes are pushed again. */
static void test_alone_queues_nothing(void **state)
{
	(void)state;
	pnode_t n;
	pnode_open(&n, 64);
	grove_ae_set_push_peers(n.ae, false);
	for (int i = 0; i < 100; i++)
		assert_int_equal(grove_db_counter_add(n.db, "solo", 4, 1, NULL), 0);
	int all;
	assert_int_equal(push_round(&n, "solo", &all), 0);
	assert_int_equal(all, 0);
	grove_ae_set_push_peers(n.ae, true);
	assert_int_equal(grove_db_counter_add(n.db, "solo", 4, 1, NULL), 0);
	assert_int_equal(push_round(&n, "solo", &all), 1);
	assert_int_equal(all, 1);
	grove_ae_stats_t st;
	grove_ae_get_stats(n.ae, &st);
	assert_int_equal(st.push_queue_drops, 0);
	pnode_close(&n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hot_key_one_entry_three_transmits),
		cmocka_unit_test(test_one_round_when_it_reaches_every_peer),
		cmocka_unit_test(test_budget_sends_first_transmissions_first),
		cmocka_unit_test(test_forward_only_when_sender_could_not_reach_all),
		cmocka_unit_test(test_queue_bound_drops_and_counts),
		cmocka_unit_test(test_alone_queues_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
