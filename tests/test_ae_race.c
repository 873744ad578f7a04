/*
 * test_ae_race.c - what anti-entropy sends around one pushed write and
 * around sessions whose difference is gone:
 *  - one element changed on a node holding a collection, with digest rounds
 *    of every node crossing the push (each node's DIGEST sent every 10 ms
 *    while the push waits for its round): the push alone converges the
 *    cluster; no session walks the tree for the young difference
 *    (pace.h, confirmation);
 *  - the same write with its push lost converges through a session
 *    within the hold (3 push intervals) and a digest interval or two;
 *  - a session with work left whose two stores became equal (as when
 *    push delivered everything during a walk) ends at the peer's next
 *    DIGEST instead of listing its remaining segments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gossip/ae/antientropy.h"
#include "grove/alloc.h"
#include "tests/util_netsim_ae.h"
#include "tests/util_storage.h"

#define RACE_ELEMS 500

/* Anti-entropy bytes every node sent but the periodic DIGESTs (frames,
 * states and pushes), as bench_collections.sh section 4 counts them. */
static uint64_t cluster_nondigest(grove_aecluster_t *c)
{
	uint64_t sum = 0;
	for (int i = 0; i < c->n; i++) {
		grove_ae_stats_t st;
		grove_ae_get_stats(c->node[i].ae, &st);
		for (int p = 0; p < GROVE_AE_PH_COUNT; p++)
			sum += p == GROVE_AE_PH_DIGEST ? 0 : st.bytes_sent[p];
		sum += st.state_bytes_sent;
	}
	return sum;
}

static uint64_t cluster_stat(grove_aecluster_t *c, size_t offset)
{
	uint64_t sum = 0;
	for (int i = 0; i < c->n; i++) {
		grove_ae_stats_t st;
		grove_ae_get_stats(c->node[i].ae, &st);
		sum += *(const uint64_t *)((const char *)&st + offset);
	}
	return sum;
}
#define STAT(c, field) cluster_stat((c), offsetof(grove_ae_stats_t, field))

/* Three nodes with groved's timing (digests and pushes every 100 ms, a
 * push reaching both peers), node 0 filled with a set of RACE_ELEMS
 * members and a hash of as many fields, converged and quiet. */
static grove_aecluster_t *race_cluster(uint64_t seed)
{
	grove_ae_config_t cfg;
	grove_ae_config_init(&cfg);
	cfg.interval_ms = 100;
	cfg.push = true;
	cfg.push_interval_ms = 100;
	grove_aecluster_t *c = grove_aecluster_create(3, seed, &cfg);
	grove_db_t *db = c->node[0].db;
	for (int i = 0; i < RACE_ELEMS; i++) {
		char m[32];
		bool added;
		snprintf(m, sizeof(m), "m:%06d", i);
		assert_int_equal(grove_db_set_add(db, "c:set", 5, m, strlen(m), &added), 0);
		assert_int_equal(grove_db_map_set(db, "c:hash", 6, m, strlen(m), "v", 1, &added), 0);
	}
	assert_true(grove_aecluster_run_until_converged(c, 50, 60000) != UINT64_MAX);
	grove_aecluster_run(c, 2000);
	assert_true(grove_aecluster_converged(c));
	for (int i = 0; i < c->n; i++)
		assert_int_equal(grove_ae_session_count(c->node[i].ae), 0);
	return c;
}

/* Every node sends its DIGEST every 10 ms for 100 ms (a push round): some
 * cross the push of a write just made, whatever the push round's phase. */
static void digests_across_push(grove_aecluster_t *c)
{
	for (int k = 0; k < 10; k++) {
		for (int i = 0; i < c->n; i++)
			grove_ae_round_now(c->node[i].ae, grove_aecluster_now(c));
		grove_aecluster_run(c, 10);
	}
}

static void test_push_race_walks_nothing(void **state)
{
	(void)state;
	grove_aecluster_t *c = race_cluster(11);
	const struct {
		const char *key, *elem;
		bool hash;
	} change[] = { { "c:set", "m:changed", false }, { "c:hash", "m:000007", true } };
	for (size_t k = 0; k < 2; k++) {
		uint64_t b0 = cluster_nondigest(c), diff0 = STAT(c, digests_different);
		uint64_t open0 = STAT(c, sessions_opened);
		bool added;
		grove_db_t *db = c->node[0].db;
		if (change[k].hash)
			assert_int_equal(grove_db_map_set(db, change[k].key, strlen(change[k].key), change[k].elem,
							  strlen(change[k].elem), "changed", 7, &added), 0);
		else
			assert_int_equal(grove_db_set_add(db, change[k].key, strlen(change[k].key), change[k].elem,
							  strlen(change[k].elem), &added), 0);
		digests_across_push(c);
		assert_true(grove_aecluster_run_until_converged(c, 10, 5000) != UINT64_MAX);
		grove_aecluster_run(c, 1000); /* anything still to send is sent */
		uint64_t bytes = cluster_nondigest(c) - b0;
		printf("%s: %llu bytes besides digests, %llu differing digests, %llu held, %llu sessions\n",
		       change[k].key, (unsigned long long)bytes,
		       (unsigned long long)(STAT(c, digests_different) - diff0),
		       (unsigned long long)STAT(c, digests_held),
		       (unsigned long long)(STAT(c, sessions_opened) - open0));
		assert_true(STAT(c, digests_different) > diff0); /* the race happened */
		assert_int_equal(STAT(c, sessions_opened), open0);
		assert_true(bytes <= 1024); /* the push (element and head to 2 peers) */
		assert_true(grove_aecluster_converged(c));
	}
	grove_aecluster_destroy(c);
}

static void test_lost_push_repaired(void **state)
{
	(void)state;
	grove_aecluster_t *c = race_cluster(12);
	uint64_t open0 = STAT(c, sessions_opened);
	bool added;
	grove_ae_set_push_peers(c->node[0].ae, false); /* the write is never pushed */
	assert_int_equal(grove_db_set_add(c->node[0].db, "c:set", 5, "m:lost", 6, &added), 0);
	grove_ae_set_push_peers(c->node[0].ae, true);
	uint64_t took = grove_aecluster_run_until_converged(c, 10, 5000);
	printf("unpushed write converged in %llu ms, %llu sessions\n", (unsigned long long)took,
	       (unsigned long long)(STAT(c, sessions_opened) - open0));
	/* held 300 ms (3 push intervals), then the next differing digest */
	assert_true(took >= 300 && took <= 600);
	assert_true(STAT(c, sessions_opened) > open0);
	grove_aecluster_destroy(c);
}

/* ---- a session whose stores became equal ---- */

static uint64_t now_ms = 1700000000000ULL;

typedef struct enode {
	grove_db_t *db;
	grove_ae_t *ae;
	grove_rng_t rng;
	uint32_t sid; /* its end of the one stream */
} enode_t;

static void enode_open(enode_t *n, const char *id, const char *peer)
{
	assert_int_equal(grove_test_storage_db_open(NULL, id, &now_ms, GROVE_DURABILITY_NONE, &n->db), 0);
	grove_ae_config_t cfg;
	grove_ae_config_init(&cfg);
	cfg.peers = grove_test_ae_one_peer;
	cfg.peers_ctx = (void *)peer;
	cfg.interval_ms = 3600 * 1000;
	grove_rng_seed(&n->rng, 3);
	assert_int_equal(grove_ae_create(&cfg, n->db, &n->rng, &n->ae), 0);
	grove_ae_tick(n->ae, now_ms);
	n->sid = 0;
	for (int i = 0; i < 800; i++) { /* the other node's members, added apart */
		char m[32];
		bool added;
		snprintf(m, sizeof(m), "m:%04d", i);
		assert_int_equal(grove_db_set_add(n->db, "s", 1, m, strlen(m), &added), 0);
	}
}

static void enode_close(enode_t *n)
{
	grove_ae_destroy(n->ae);
	grove_db_close(n->db);
}

/* Delivers from's next output to `to` (named from_name there); returns
 * false when from had none.  The first stream open is accepted by `to`. */
static bool relay_one(enode_t *from, const char *from_name, enode_t *to)
{
	grove_out_t o;
	if (!grove_ae_poll(from->ae, now_ms, &o))
		return false;
	switch (o.kind) {
	case GROVE_OUT_DATAGRAM:
		grove_ae_recv_datagram(to->ae, now_ms, from_name, o.bytes, o.len);
		break;
	case GROVE_OUT_STREAM_OPEN:
		from->sid = o.stream_id;
		assert_int_equal(grove_ae_stream_accept(to->ae, now_ms, from_name, &to->sid), 0);
		break;
	case GROVE_OUT_STREAM_FRAME:
		grove_ae_stream_recv(to->ae, now_ms, to->sid, o.bytes, o.len);
		break;
	case GROVE_OUT_STREAM_CLOSE:
		grove_ae_stream_closed(to->ae, now_ms, to->sid);
		break;
	}
	return true;
}

static uint64_t keys_sent(enode_t *a, enode_t *b)
{
	grove_ae_stats_t sa, sb;
	grove_ae_get_stats(a->ae, &sa);
	grove_ae_get_stats(b->ae, &sb);
	return sa.bytes_sent[GROVE_AE_PH_KEYS] + sb.bytes_sent[GROVE_AE_PH_KEYS];
}

/* Session work both sent: tree, keys, states (framing and states). */
static uint64_t work_sent(enode_t *a, enode_t *b)
{
	grove_ae_stats_t sa, sb;
	grove_ae_get_stats(a->ae, &sa);
	grove_ae_get_stats(b->ae, &sb);
	uint64_t sum = sa.state_bytes_sent + sb.state_bytes_sent;
	for (int p = GROVE_AE_PH_TREE; p <= GROVE_AE_PH_STATES; p++)
		sum += sa.bytes_sent[p] + sb.bytes_sent[p];
	return sum;
}

typedef struct copy_ctx {
	grove_db_t *from, *to;
} copy_ctx_t;

static int copy_item(void *vctx, const void *key, size_t klen, const uint8_t *digest)
{
	(void)digest;
	copy_ctx_t *x = vctx;
	uint8_t *st;
	size_t slen;
	bool changed, reply;
	assert_int_equal(grove_db_item_state(x->from, key, klen, &st, &slen), 0);
	assert_int_equal(grove_db_item_merge(x->to, key, klen, st, slen, &changed, &reply), 0);
	grove_free(st);
	return 0;
}

/* Merges every item of from into to, out of band (what push would do). */
static void copy_all(grove_db_t *from, grove_db_t *to)
{
	copy_ctx_t x = { from, to };
	for (uint32_t seg = 0; seg < GROVE_TREE_SEGMENTS; seg++) {
		uint8_t d[GROVE_DIGEST_BYTES];
		uint64_t count;
		assert_int_equal(grove_db_tree_node(from, GROVE_TREE_LEVELS, seg, d, &count), 0);
		if (count > 0)
			assert_int_equal(grove_db_segment_keys(from, seg, copy_item, &x), 0);
	}
}

/* A session between a and b walks their 800 independently added members
 * up to its first KEYS frame; then every item is merged across out of
 * band (as push would), and with `one_new` a holds one member more.  The
 * DIGESTs of both then cross, and the walk goes on to its end.  Returns the
 * tree, keys and states bytes sent after the merge; *ended: sessions
 * ended by the DIGEST. */
static uint64_t stale_session(bool one_new, uint64_t *ended)
{
	enode_t a, b;
	enode_open(&a, "a", "b");
	enode_open(&b, "b", "a");
	assert_int_equal(grove_ae_round_now(b.ae, now_ms), 1);
	assert_true(relay_one(&b, "b", &a)); /* b's DIGEST: a opens a session */
	assert_true(relay_one(&a, "a", &b));
	assert_true(a.sid != 0 && b.sid != 0);
	for (int i = 0; i < 10000 && keys_sent(&a, &b) == 0; i++) /* the walk reaches the lists */
		assert_true(relay_one(&a, "a", &b) | relay_one(&b, "b", &a));
	assert_true(keys_sent(&a, &b) > 0);

	copy_all(a.db, b.db); /* push delivered everything meanwhile */
	copy_all(b.db, a.db);
	uint8_t ra[GROVE_DIGEST_BYTES], rb[GROVE_DIGEST_BYTES];
	grove_db_root_digest(a.db, ra);
	grove_db_root_digest(b.db, rb);
	assert_memory_equal(ra, rb, sizeof(ra));
	bool added;
	if (one_new) { /* a member under the level-1 subtree of the set's head */
		char m[32];
		uint32_t head = grove_db_segment_of("s", 1) >> 12;
		for (int i = 0; i < 100000; i++) {
			uint8_t name[40] = { 1, 0, 1, 's' }; /* a member item: doc/storage_format.md */
			snprintf(m, sizeof(m), "m:new%d", i);
			memcpy(name + 4, m, strlen(m));
			if (grove_db_item_segment(name, 4 + strlen(m)) >> 12 == head)
				break;
		}
		assert_int_equal(grove_db_set_add(a.db, "s", 1, m, strlen(m), &added), 0);
	}

	uint64_t w0 = work_sent(&a, &b);
	assert_int_equal(grove_ae_round_now(b.ae, now_ms), 1); /* each DIGEST goes first */
	assert_int_equal(grove_ae_round_now(a.ae, now_ms), 1);
	for (int i = 0; i < 100000 && grove_ae_session_count(a.ae) + grove_ae_session_count(b.ae) > 0; i++)
		if (!(relay_one(&b, "b", &a) | relay_one(&a, "a", &b)))
			break;
	grove_ae_stats_t sa, sb;
	grove_ae_get_stats(a.ae, &sa);
	grove_ae_get_stats(b.ae, &sb);
	uint64_t work = work_sent(&a, &b) - w0;
	printf("%s: %llu bytes of tree, keys and states after the merge, %llu ended by the digest\n",
	       one_new ? "one member more" : "stores equal", (unsigned long long)work,
	       (unsigned long long)sa.sessions_ended_equal);
	assert_int_equal(grove_ae_session_count(a.ae), 0);
	assert_int_equal(grove_ae_session_count(b.ae), 0);
	assert_int_equal(sa.sessions_done, 1);
	assert_int_equal(sa.session_errors + sb.session_errors, 0);
	*ended = sa.sessions_ended_equal;
	enode_close(&a);
	enode_close(&b);
	return work;
}

static void test_equal_digest_ends_session(void **state)
{
	(void)state;
	uint64_t ended;
	/* the states, wants and lists queued or marked when the stores
	 * differed are not sent (73,013 bytes when the session ran on) */
	assert_true(stale_session(false, &ended) <= 1024);
	assert_int_equal(ended, 1);
}

static void test_equal_subtrees_pruned(void **state)
{
	(void)state;
	uint64_t ended;
	/* only the work under the one level-1 subtree that differs (the
	 * set's head and the new member) goes on: 4,355 bytes; 73,013 without
	 * pruning */
	assert_true(stale_session(true, &ended) <= 8192);
	assert_int_equal(ended, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_push_race_walks_nothing),
		cmocka_unit_test(test_lost_push_repaired),
		cmocka_unit_test(test_equal_digest_ends_session),
		cmocka_unit_test(test_equal_subtrees_pruned),
	};
	cmocka_set_test_filter(getenv("GROVE_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
