/*
 * test_ae_wait.c - the evidence behind WAIT, end to end in virtual time:
 * three anti-entropy cores on the simulated network (tests/util_netsim_ae.h),
 * each with its WAIT bookkeeping (node/wait.h) bound to the core's watch
 * hooks as groved binds them (node/cluster_ae.c).  Node 0 writes and asks
 * its peers for their digests every GROVE_WAIT_ASK_MS, as a blocked WAIT
 * does.  Checked: both peers become known to hold the write; across a
 * partition {0,1}|{2} only node 1 does, and after the heal node 2 again;
 * every equality reported is sound (at that moment the peer holds a state
 * byte-identical to node 0's for every write up to the reported position);
 * a reply never asks for a reply (no ping-pong); each reconciled session
 * reports itself (watch.synced).  Plus the codec's REPLY flag on the wire.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "gossip/ae/codec.h"
#include "grove/alloc.h"
#include "node/wait.h"
#include "tests/util_netsim_ae.h"

#define NODES 3
#define WRITES_MAX 64

typedef struct wnode {
	grove_aecluster_t *c;
	int self;
	grove_wait_t wait;
	uint64_t synced;
	uint64_t sound_checks; /* equalities whose soundness was checked */
} wnode_t;

static wnode_t wn[NODES];

static void key_of(uint64_t pos, char *key, size_t len)
{
	snprintf(key, len, "w%llu", (unsigned long long)pos);
}

static uint64_t w_mark(void *ctx)
{
	return grove_wait_position(&((wnode_t *)ctx)->wait);
}

/* Node 0's equalities: the peer must hold every write up to mark, with
 * exactly node 0's state (only node 0 writes). */
static void check_sound(wnode_t *n, int peer, uint64_t mark)
{
	for (uint64_t p = 1; p <= mark; p++) {
		char key[32];
		key_of(p, key, sizeof(key));
		uint8_t *mine = NULL, *theirs = NULL;
		size_t ml = 0, tl = 0;
		assert_int_equal(grove_db_get_encoded(n->c->node[0].db, key, strlen(key), &mine, &ml), 0);
		assert_int_equal(grove_db_get_encoded(n->c->node[peer].db, key, strlen(key), &theirs, &tl), 0);
		assert_int_equal(ml, tl);
		assert_memory_equal(mine, theirs, ml);
		grove_free(mine);
		grove_free(theirs);
	}
	n->sound_checks++;
}

static void w_equal(void *ctx, const char *from_addr, const char *sender_id, uint64_t mark)
{
	wnode_t *n = ctx;
	assert_null(sender_id); /* plaintext harness: named by address */
	int peer = grove_netsim_find(n->c->net, from_addr);
	assert_true(peer >= 0 && peer != n->self);
	if (n->self == 0)
		check_sound(n, peer, mark);
	grove_wait_peer_holds(&n->wait, from_addr, mark, grove_aecluster_now(n->c));
}

static void w_synced(void *ctx)
{
	((wnode_t *)ctx)->synced++;
}

/* The other nodes, as the harness's own peer function gives them (its
 * cores are replaced below, before they ever ran). */
static size_t peers_fn(void *ctx, char (*addrs)[GROVE_AE_ADDR_MAX + 1], size_t max)
{
	grove_aenode_t *nd = ctx;
	size_t k = 0;
	for (int i = 0; i < nd->cl->n && k < max; i++)
		if (i != nd->index)
			snprintf(addrs[k++], GROVE_AE_ADDR_MAX + 1, "%s", nd->cl->node[i].addr);
	return k;
}

static grove_aecluster_t *cluster_new(uint64_t seed)
{
	grove_aecluster_t *c = grove_aecluster_create(NODES, seed, NULL);
	/* Sessions take round trips of 40 ms, datagrams 1-5 ms: a reply
	 * digest usually arrives while the session it started still runs, so
	 * an equality reported too early would be caught by check_sound. */
	c->faults.stream_delay_ms = 20;
	for (int i = 0; i < NODES; i++) {
		wn[i] = (wnode_t){.c = c, .self = i};
		grove_wait_init(&wn[i].wait);
		grove_ae_config_t cfg;
		grove_ae_config_init(&cfg);
		cfg.interval_ms = 200;
		cfg.peers = peers_fn;
		cfg.peers_ctx = &c->node[i];
		cfg.watch = (grove_ae_watch_t){w_mark, w_equal, w_synced, &wn[i], NULL};
		grove_ae_destroy(c->node[i].ae); /* one watch context per node */
		assert_int_equal(grove_ae_create(&cfg, c->node[i].db, &c->node[i].rng, &c->node[i].ae), 0);
	}
	return c;
}

static void cluster_free(grove_aecluster_t *c)
{
	grove_aecluster_destroy(c);
	for (int i = 0; i < NODES; i++)
		grove_wait_close(&wn[i].wait);
}

static uint64_t write0(grove_aecluster_t *c)
{
	uint64_t pos = grove_wait_position(&wn[0].wait) + 1;
	char key[32];
	key_of(pos, key, sizeof(key));
	assert_int_equal(grove_db_register_set(c->node[0].db, key, strlen(key), "v", 1), 0);
	assert_int_equal(grove_wait_note_write(&wn[0].wait), pos); /* after the write */
	return pos;
}

/* What a blocked WAIT does on node 0: every GROVE_WAIT_ASK_MS, ask the
 * peers not known to hold pos; stop once want peers do or after max_ms.
 * Returns the virtual ms it took, or UINT64_MAX. */
static uint64_t wait0(grove_aecluster_t *c, uint64_t pos, size_t want, uint64_t max_ms)
{
	uint64_t start = grove_aecluster_now(c);
	while (grove_aecluster_now(c) - start < max_ms) {
		if (grove_wait_count(&wn[0].wait, pos) >= want)
			return grove_aecluster_now(c) - start;
		char addrs[NODES][GROVE_AE_ADDR_MAX + 1];
		size_t k = 0;
		for (int i = 1; i < NODES; i++)
			if (!grove_wait_peer_known(&wn[0].wait, c->node[i].addr, pos))
				snprintf(addrs[k++], GROVE_AE_ADDR_MAX + 1, "%s", c->node[i].addr);
		grove_ae_request_digests(c->node[0].ae, grove_aecluster_now(c),
					 (const char(*)[GROVE_AE_ADDR_MAX + 1])addrs, k);
		grove_aecluster_run(c, GROVE_WAIT_ASK_MS); /* sends them first */
	}
	return grove_wait_count(&wn[0].wait, pos) >= want ? grove_aecluster_now(c) - start : UINT64_MAX;
}

static void test_wait_evidence(void **state)
{
	(void)state;
	uint64_t seed = 0x3a17;
	printf("seed %llu\n", (unsigned long long)seed);
	grove_aecluster_t *c = cluster_new(seed);
	grove_aecluster_run(c, 1000);
	assert_true(grove_aecluster_converged(c));

	/* Healthy: both peers hold the write. */
	uint64_t p1 = write0(c);
	uint64_t t = wait0(c, p1, 2, 5000);
	assert_true(t != UINT64_MAX);
	printf("healthy: 2 peers known to hold position %llu after %llu virtual ms\n",
	       (unsigned long long)p1, (unsigned long long)t);

	/* Partition {0,1} | {2}: only node 1 can hold the next write. */
	static const int groups[NODES] = {0, 0, 1};
	grove_aecluster_partition(c, groups);
	uint64_t p2 = write0(c);
	assert_int_equal(wait0(c, p2, 2, 1000), UINT64_MAX);
	assert_int_equal(grove_wait_count(&wn[0].wait, p2), 1);
	assert_true(grove_wait_peer_known(&wn[0].wait, "n1", p2));
	assert_false(grove_wait_peer_known(&wn[0].wait, "n2", p2));
	assert_true(grove_wait_peer_known(&wn[0].wait, "n2", p1)); /* what it showed before */
	char key[32];
	key_of(p2, key, sizeof(key));
	grove_value_t *v = NULL;
	assert_int_equal(grove_db_get(c->node[2].db, key, strlen(key), &v), GROVE_ENOTFOUND);

	/* Heal: node 2 catches up and shows it. */
	grove_aecluster_partition(c, NULL);
	t = wait0(c, p2, 2, 5000);
	assert_true(t != UINT64_MAX);
	printf("healed: 2 peers known to hold position %llu after %llu virtual ms\n",
	       (unsigned long long)p2, (unsigned long long)t);

	/* Soundness was checked at every equality node 0 saw; replies never
	 * asked for a reply (node 0 was never asked, so it never answered);
	 * every reconciled session reported itself. */
	assert_true(wn[0].sound_checks >= 3);
	grove_ae_stats_t st[NODES];
	uint64_t done = 0, synced = 0;
	for (int i = 0; i < NODES; i++) {
		grove_ae_get_stats(c->node[i].ae, &st[i]);
		done += st[i].sessions_done;
		synced += wn[i].synced;
	}
	assert_true(st[0].digest_requests_sent > 0);
	assert_int_equal(st[0].digest_replies_sent, 0);
	assert_true(st[1].digest_replies_sent > 0 && st[2].digest_replies_sent > 0);
	assert_int_equal(st[1].digest_requests_sent + st[2].digest_requests_sent, 0);
	assert_true(done > 0);
	assert_int_equal(synced, done);
	cluster_free(c);
}

/* The wire: a requested digest carries GROVE_AE_DIGEST_REPLY; the answer
 * does not, and goes back to the asker. */
static void test_request_reply_wire(void **state)
{
	(void)state;
	grove_aecluster_t *c = cluster_new(7);
	uint64_t now = grove_aecluster_now(c);
	grove_ae_tick(c->node[0].ae, now);
	grove_ae_tick(c->node[1].ae, now);
	char to[1][GROVE_AE_ADDR_MAX + 1] = {"n1"};
	assert_int_equal(grove_ae_request_digests(c->node[0].ae, now,
						  (const char(*)[GROVE_AE_ADDR_MAX + 1])to, 1), 1);
	grove_out_t o;
	grove_ae_frame_t f;
	assert_true(grove_ae_poll(c->node[0].ae, now, &o));
	assert_int_equal(o.kind, GROVE_OUT_DATAGRAM);
	assert_string_equal(o.addr, "n1");
	assert_int_equal(grove_ae_frame_decode(o.bytes, o.len, GROVE_DATAGRAM_MAX, &f), 0);
	assert_int_equal(f.type, GROVE_AE_DIGEST);
	assert_int_equal(f.flags, GROVE_AE_DIGEST_LEVEL1 | GROVE_AE_DIGEST_REPLY);
	grove_ae_recv_datagram(c->node[1].ae, now, "n0", o.bytes, o.len);
	assert_true(grove_ae_poll(c->node[1].ae, now, &o));
	assert_int_equal(o.kind, GROVE_OUT_DATAGRAM);
	assert_string_equal(o.addr, "n0");
	assert_int_equal(grove_ae_frame_decode(o.bytes, o.len, GROVE_DATAGRAM_MAX, &f), 0);
	assert_int_equal(f.flags, GROVE_AE_DIGEST_LEVEL1);
	/* Equal empty stores: the answer tells node 0 that node 1 holds
	 * everything up to node 0's position (0). */
	grove_ae_recv_datagram(c->node[0].ae, now, "n1", o.bytes, o.len);
	assert_true(grove_wait_peer_known(&wn[0].wait, "n1", 0));
	assert_false(grove_ae_poll(c->node[0].ae, now, &o)); /* no answer to an answer */
	cluster_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wait_evidence),
		cmocka_unit_test(test_request_reply_wire),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
