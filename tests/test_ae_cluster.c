/*
 * test_ae_cluster.c - anti-entropy convergence of in-process clusters
 * (tests/util_netsim_ae.h): random writes of all four types on random
 * nodes, then quiet; every node must reach the same root digest and
 * byte-identical states, and the states must match a reference model:
 * counters the exact sum of acknowledged increments, registers and map
 * fields the last write (writes are issued at strictly increasing virtual
 * milliseconds on one shared clock, so the HLC orders them as issued; a
 * field delete counts only where it found the field, since one that did not
 * writes no tombstone), set elements present unless a remove that saw them
 * returned removed = true (each element is added once, so observed-remove
 * is exact).
 * Runs with a clean network, with loss/duplication/reordering and a
 * healing partition, with a new node catching up on 100,000 keys, and with
 * writes during reconciliation.  Seeds are printed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/assert.h"
#include "grove/alloc.h"
#include "tests/util_netsim_ae.h"

#define M_COUNTERS 20
#define M_REGS 20
#define M_SETS 10
#define M_SET_ELEMS 200
#define M_MAPS 10
#define M_FIELDS 10

typedef struct model {
	int64_t counter[M_COUNTERS];
	char reg[M_REGS][24];
	bool reg_set[M_REGS];
	int set_added[M_SETS];                /* elements e0..e(n-1) added */
	bool set_present[M_SETS][M_SET_ELEMS];
	char map[M_MAPS][M_FIELDS][24];       /* "" = absent */
	uint64_t ops;
} model_t;

static uint64_t seed_from_env(uint64_t dflt)
{
	const char *s = getenv("GROVE_TEST_SEED");
	uint64_t seed = s ? strtoull(s, NULL, 0) : dflt;
	printf("seed %llu (GROVE_TEST_SEED to replay)\n", (unsigned long long)seed);
	return seed;
}

static grove_netsim_stats_t net_stats(const grove_aecluster_t *c)
{
	grove_netsim_stats_t st;
	grove_netsim_get_stats(c->net, &st);
	return st;
}

static void key_of(char *buf, size_t n, char type, unsigned i)
{
	snprintf(buf, n, "%c:%u", type, i);
}

/* One random write on a random node, mirrored into the model. */
static void random_write(grove_aecluster_t *c, grove_rng_t *r, model_t *m)
{
	grove_db_t *db = c->node[grove_rng_below(r, (uint64_t)c->n)].db;
	char key[32], val[24];
	unsigned i;
	bool flag;
	switch (grove_rng_below(r, 4)) {
	case 0: {
		i = (unsigned)grove_rng_below(r, M_COUNTERS);
		int64_t delta = (int64_t)grove_rng_below(r, 200) - 100;
		delta += delta >= 0; /* nonzero: see the report on INCRBY 0 */
		key_of(key, sizeof(key), 'c', i);
		assert_int_equal(grove_db_counter_add(db, key, strlen(key), delta, NULL), 0);
		m->counter[i] += delta;
		break;
	}
	case 1:
		i = (unsigned)grove_rng_below(r, M_REGS);
		key_of(key, sizeof(key), 'r', i);
		snprintf(val, sizeof(val), "v%llu", (unsigned long long)m->ops);
		assert_int_equal(grove_db_register_set(db, key, strlen(key), val, strlen(val)), 0);
		strcpy(m->reg[i], val);
		m->reg_set[i] = true;
		break;
	case 2:
		i = (unsigned)grove_rng_below(r, M_SETS);
		key_of(key, sizeof(key), 's', i);
		if (m->set_added[i] < M_SET_ELEMS && (m->set_added[i] == 0 || grove_rng_below(r, 3))) {
			int e = m->set_added[i]++;
			snprintf(val, sizeof(val), "e%d", e);
			assert_int_equal(grove_db_set_add(db, key, strlen(key), val, strlen(val), &flag), 0);
			m->set_present[i][e] = true;
		} else {
			int e = (int)grove_rng_below(r, (uint64_t)m->set_added[i]);
			snprintf(val, sizeof(val), "e%d", e);
			assert_int_equal(grove_db_set_remove(db, key, strlen(key), val, strlen(val), &flag), 0);
			if (flag)
				m->set_present[i][e] = false;
		}
		break;
	default: {
		i = (unsigned)grove_rng_below(r, M_MAPS);
		unsigned f = (unsigned)grove_rng_below(r, M_FIELDS);
		char field[8];
		snprintf(field, sizeof(field), "f%u", f);
		key_of(key, sizeof(key), 'm', i);
		if (grove_rng_below(r, 4)) {
			snprintf(val, sizeof(val), "w%llu", (unsigned long long)m->ops);
			assert_int_equal(grove_db_map_set(db, key, strlen(key), field, strlen(field), val,
							  strlen(val), &flag), 0);
			strcpy(m->map[i][f], val);
		} else {
			assert_int_equal(grove_db_map_delete(db, key, strlen(key), field, strlen(field), &flag), 0);
			if (flag) /* a delete of a field it has not seen writes nothing */
				m->map[i][f][0] = '\0';
		}
	}
	}
	m->ops++;
}

static void check_counters_regs(grove_db_t *db, const model_t *m)
{
	char key[32];
	grove_value_t *v;
	for (unsigned i = 0; i < M_COUNTERS; i++) {
		key_of(key, sizeof(key), 'c', i);
		int64_t got = 0;
		if (grove_db_get(db, key, strlen(key), &v) == 0) {
			assert_int_equal(grove_pncounter_get(v, &got), 0);
			grove_value_destroy(v);
		}
		assert_int_equal(got, m->counter[i]);
	}
	for (unsigned i = 0; i < M_REGS; i++) {
		key_of(key, sizeof(key), 'r', i);
		int rc = grove_db_get(db, key, strlen(key), &v);
		assert_int_equal(rc, m->reg_set[i] ? 0 : GROVE_ENOTFOUND);
		if (rc != 0)
			continue;
		const void *val;
		size_t len;
		assert_int_equal(grove_lwwreg_get(v, &val, &len), 0);
		assert_int_equal(len, strlen(m->reg[i]));
		assert_memory_equal(val, m->reg[i], len);
		grove_value_destroy(v);
	}
}

static void check_sets_maps(grove_db_t *db, const model_t *m)
{
	char key[32], name[24];
	grove_value_t *v;
	for (unsigned i = 0; i < M_SETS; i++) {
		key_of(key, sizeof(key), 's', i);
		if (grove_db_get(db, key, strlen(key), &v) != 0) {
			for (int e = 0; e < m->set_added[i]; e++)
				assert_false(m->set_present[i][e]);
			continue;
		}
		for (int e = 0; e < m->set_added[i]; e++) {
			snprintf(name, sizeof(name), "e%d", e);
			assert_int_equal(grove_orset_contains(v, name, strlen(name)), m->set_present[i][e]);
		}
		grove_value_destroy(v);
	}
	for (unsigned i = 0; i < M_MAPS; i++) {
		key_of(key, sizeof(key), 'm', i);
		if (grove_db_get(db, key, strlen(key), &v) != 0)
			v = NULL;
		for (unsigned f = 0; f < M_FIELDS; f++) {
			snprintf(name, sizeof(name), "f%u", f);
			const void *val;
			size_t len;
			int rc = v ? grove_lwwmap_get(v, name, strlen(name), &val, &len) : GROVE_ENOTFOUND;
			if (m->map[i][f][0] == '\0') {
				/* HDEL is observed-remove (doc/value_format.md): an
				 * update the deleting node had not seen survives it, so
				 * a deleted field may be present; the roots checked
				 * above say every node agrees */
				(void)rc;
			} else {
				assert_int_equal(rc, 0);
				assert_int_equal(len, strlen(m->map[i][f]));
				assert_memory_equal(val, m->map[i][f], len);
			}
		}
		grove_value_destroy(v);
	}
}

/* Converged, byte-identical everywhere, and equal to the model. */
static void check_cluster(grove_aecluster_t *c, const model_t *m, uint64_t max_ms)
{
	uint64_t took = grove_aecluster_run_until_converged(c, 100, max_ms);
	printf("converged after %llu ms of quiet (virtual)\n", (unsigned long long)took);
	assert_true(took != UINT64_MAX);
	for (int i = 1; i < c->n; i++)
		assert_int_equal(grove_aecluster_state_mismatches(c->node[0].db, c->node[i].db), 0);
	check_counters_regs(c->node[0].db, m);
	check_sets_maps(c->node[0].db, m);
	grove_ae_stats_t st;
	uint64_t rejected = 0, done = 0;
	for (int i = 0; i < c->n; i++) {
		grove_ae_get_stats(c->node[i].ae, &st);
		rejected += st.rejected_clock + st.rejected_decode + st.rejected_other;
		done += st.sessions_done;
	}
	assert_int_equal(rejected, 0);
	assert_true(done > 0);
}

static void run_workload(grove_aecluster_t *c, grove_rng_t *r, model_t *m, int ops)
{
	for (int k = 0; k < ops; k++) {
		random_write(c, r, m);
		grove_aecluster_run(c, 1 + grove_rng_below(r, 3));
	}
}

/* Gives every set and map key a "base" member that is never removed, and
 * spreads it everywhere before the workload: no replica then ever sees a
 * set or map empty.  (A replica that empties a map or set and writes to it
 * again starts a new type generation that drops concurrent unseen
 * fields/elements: a crdt-layer issue reported separately, not what this
 * test is about.) */
static void seed_bases(grove_aecluster_t *c)
{
	char key[32];
	bool flag;
	for (unsigned i = 0; i < M_SETS; i++) {
		key_of(key, sizeof(key), 's', i);
		assert_int_equal(grove_db_set_add(c->node[0].db, key, strlen(key), "base", 4, &flag), 0);
	}
	for (unsigned i = 0; i < M_MAPS; i++) {
		key_of(key, sizeof(key), 'm', i);
		assert_int_equal(grove_db_map_set(c->node[0].db, key, strlen(key), "base", 4, "b", 1,
						  &flag), 0);
	}
	assert_true(grove_aecluster_run_until_converged(c, 100, 30000) != UINT64_MAX);
}

static void converge_n(int n, int ops, uint64_t seed, bool push)
{
	grove_ae_config_t cfg;
	grove_ae_config_init(&cfg);
	cfg.interval_ms = 200;
	cfg.push = push;
	grove_aecluster_t *c = grove_aecluster_create(n, seed, &cfg);
	grove_rng_t r;
	grove_rng_seed(&r, seed ^ 0x5eed);
	model_t *m = calloc(1, sizeof(*m));
	seed_bases(c);
	run_workload(c, &r, m, ops);
	check_cluster(c, m, 60000);
	free(m);
	grove_aecluster_destroy(c);
}

static void test_three_nodes_converge(void **state)
{
	(void)state;
	converge_n(3, 400, seed_from_env(301), false);
}

static void test_sixteen_nodes_converge(void **state)
{
	(void)state;
	converge_n(16, 800, seed_from_env(1601), false);
}

static void test_sixteen_nodes_with_push(void **state)
{
	(void)state;
	converge_n(16, 400, seed_from_env(1602), true);
}

/* 30% loss, 10% duplication, 1..60 ms delays (reordering), and a partition
 * into halves during part of the writes, healed before the quiet phase. */
static void test_lossy_network_and_partition(void **state)
{
	(void)state;
	uint64_t seed = seed_from_env(3003);
	grove_ae_config_t cfg;
	grove_ae_config_init(&cfg);
	cfg.interval_ms = 200;
	cfg.push = true;
	grove_aecluster_t *c = grove_aecluster_create(16, seed, &cfg);
	c->faults.loss = 0.3;
	c->faults.duplicate = 0.1;
	c->faults.delay_max_ms = 60;
	grove_rng_t r;
	grove_rng_seed(&r, seed ^ 0x5eed);
	model_t *m = calloc(1, sizeof(*m));
	seed_bases(c);
	run_workload(c, &r, m, 200);
	int groups[16];
	for (int i = 0; i < 16; i++)
		groups[i] = i < 8 ? 0 : 1;
	grove_aecluster_partition(c, groups);
	run_workload(c, &r, m, 400);
	grove_aecluster_run(c, 2000);
	assert_false(grove_aecluster_converged(c)); /* the halves cannot have met */
	grove_aecluster_partition(c, NULL);
	run_workload(c, &r, m, 200);
	check_cluster(c, m, 120000);
	grove_ae_stats_t st;
	grove_ae_get_stats(c->node[0].ae, &st);
	assert_true(st.digests_different > 0 && st.digests_equal > 0);
	grove_netsim_stats_t ns = net_stats(c);
	uint64_t lost = ns.datagrams_lost + ns.datagrams_blocked; /* by chance or by the partition */
	printf("datagrams sent %llu lost %llu\n", (unsigned long long)ns.datagrams_sent, (unsigned long long)lost);
	assert_true(lost > ns.datagrams_sent / 5);
	free(m);
	grove_aecluster_destroy(c);
}

/* Copies every key of src into dst through merge (setup only). */
static int copy_key(void *ctx, const void *key, size_t klen, grove_type_t type)
{
	(void)type;
	grove_db_t **dbs = ctx;
	uint8_t *enc;
	size_t len;
	GROVE_ASSERT(grove_db_get_encoded(dbs[0], key, klen, &enc, &len) == 0);
	GROVE_ASSERT(grove_db_merge(dbs[1], key, klen, enc, len, NULL) == 0);
	grove_free(enc);
	return 0;
}

static void copy_db(grove_db_t *src, grove_db_t *dst)
{
	grove_db_t *dbs[2] = { src, dst };
	uint8_t *start = NULL, *next = NULL;
	size_t slen = 0, nlen = 0;
	do {
		assert_int_equal(grove_db_scan(src, start, slen, 4096, copy_key, dbs, &next, &nlen), 0);
		grove_free(start);
		start = next;
		slen = nlen;
	} while (start != NULL);
}

#if defined(__SANITIZE_ADDRESS__)
#define CATCHUP_KEYS_DEFAULT 20000 /* ASan+UBSan pass: smaller, same checks */
#else
#define CATCHUP_KEYS_DEFAULT 100000
#endif

/* A cluster of 2 holds 100,000 keys (20,000 under ASan); node 2 joins empty and catches up,
 * with concurrent writes on it and on node 0 during the catch-up (1 ms
 * stream latency), in bounded memory: the link queues stay near the
 * flow-control cap, and the new node receives about one copy of the data
 * (no more than max_sessions). */
static void test_new_node_catches_up_100k(void **state)
{
	(void)state;
	uint64_t seed = seed_from_env(100000);
	const char *env = getenv("GROVE_AE_CATCHUP_KEYS");
	int nkeys = env ? atoi(env) : CATCHUP_KEYS_DEFAULT;
	grove_ae_config_t cfg;
	grove_ae_config_init(&cfg);
	cfg.interval_ms = 200;
	grove_aecluster_t *c = grove_aecluster_create(3, seed, &cfg);
	c->faults.stream_delay_ms = 1;
	c->node[2].joined = false;
	char key[32], val[32];
	for (int i = 0; i < nkeys; i++) {
		snprintf(key, sizeof(key), "k%07d", i);
		snprintf(val, sizeof(val), "value-%d", i);
		assert_int_equal(grove_db_register_set(c->node[0].db, key, strlen(key), val, strlen(val)), 0);
	}
	copy_db(c->node[0].db, c->node[1].db);
	assert_false(grove_aecluster_converged(c));
	c->node[2].joined = true;
	grove_rng_t r;
	grove_rng_seed(&r, seed);
	model_t *m = calloc(1, sizeof(*m));
	for (int step = 0; step < 40; step++) { /* writes while sessions run */
		for (int k = 0; k < 5; k++) {
			int n = k % 2 ? 0 : 2;
			snprintf(key, sizeof(key), "c:%d", k);
			assert_int_equal(grove_db_counter_add(c->node[n].db, key, strlen(key), 1, NULL), 0);
			m->counter[k]++;
		}
		grove_aecluster_run(c, 50);
	}
	check_cluster(c, m, 60000);
	assert_int_equal(grove_db_count(c->node[2].db), (uint64_t)nkeys + 5);
	grove_ae_stats_t st;
	grove_ae_get_stats(c->node[2].ae, &st);
	grove_netsim_stats_t ns = net_stats(c);
	printf("peak link queue %zu bytes, stream bytes %llu, new node received %llu states\n",
	       ns.stream_backlog_peak_bytes, (unsigned long long)ns.stream_bytes,
	       (unsigned long long)st.keys_received);
	assert_true(ns.stream_backlog_peak_bytes < c->faults.stream_cap_bytes + 2 * cfg.frame_bytes_max);
	assert_true(st.keys_received >= (uint64_t)nkeys);
	assert_true(st.keys_received <= (uint64_t)nkeys * cfg.max_sessions + 1000);
	free(m);
	grove_aecluster_destroy(c);
}

/* Node 0 holds 10,000 registers, node 1 none.  While the sessions that
 * copy them run (1 ms stream latency, a 64 KiB link cap), both nodes keep
 * overwriting registers that are being transferred and adding to counters,
 * one write per virtual millisecond.  Nothing is lost: after the quiet
 * phase every register holds its last write and every counter its sum. */
static void test_writes_during_session_not_lost(void **state)
{
	(void)state;
	uint64_t seed = seed_from_env(4242);
	const int nkeys = 10000;
	grove_ae_config_t cfg;
	grove_ae_config_init(&cfg);
	cfg.interval_ms = 100;
	grove_aecluster_t *c = grove_aecluster_create(2, seed, &cfg);
	c->faults.stream_delay_ms = 1;
	c->faults.stream_cap_bytes = 64 * 1024;
	static char last[10000][24];
	char key[32], val[24];
	for (int i = 0; i < nkeys; i++) {
		snprintf(key, sizeof(key), "k%05d", i);
		snprintf(last[i], sizeof(last[i]), "orig%d", i);
		assert_int_equal(grove_db_register_set(c->node[0].db, key, strlen(key), last[i],
						       strlen(last[i])), 0);
	}
	grove_rng_t r;
	grove_rng_seed(&r, seed);
	model_t *m = calloc(1, sizeof(*m));
	int during = 0;
	grove_aecluster_run(c, 1); /* the setup writes all share one millisecond */
	for (int w = 0; w < 3000 && (w < 200 || !grove_aecluster_converged(c)); w++) {
		int n = (int)grove_rng_below(&r, 2);
		int i = (int)grove_rng_below(&r, nkeys);
		snprintf(key, sizeof(key), "k%05d", i);
		snprintf(val, sizeof(val), "w%d", w);
		assert_int_equal(grove_db_register_set(c->node[n].db, key, strlen(key), val, strlen(val)), 0);
		strcpy(last[i], val);
		int ci = (int)grove_rng_below(&r, M_COUNTERS);
		snprintf(key, sizeof(key), "c:%d", ci);
		assert_int_equal(grove_db_counter_add(c->node[n].db, key, strlen(key), 1, NULL), 0);
		m->counter[ci]++;
		if (grove_ae_session_count(c->node[0].ae) + grove_ae_session_count(c->node[1].ae) > 0)
			during++;
		grove_aecluster_run(c, 1);
	}
	printf("%d writes landed while a session was open\n", during);
	assert_true(during >= 100);
	check_cluster(c, m, 60000);
	grove_value_t *v;
	for (int i = 0; i < nkeys; i++) {
		snprintf(key, sizeof(key), "k%05d", i);
		assert_int_equal(grove_db_get(c->node[1].db, key, strlen(key), &v), 0);
		const void *got;
		size_t len;
		assert_int_equal(grove_lwwreg_get(v, &got, &len), 0);
		assert_int_equal(len, strlen(last[i]));
		assert_memory_equal(got, last[i], len);
		grove_value_destroy(v);
	}
	free(m);
	grove_aecluster_destroy(c);
}

/* Two nodes with 10,000 different keys each, tiny windows, frames and link
 * caps: both ends have much to send and to ask at once.  Credit keeps the
 * key queues bounded while both keep reading, so one session reconciles
 * everything without stalling (before credit, such sessions stalled until
 * their idle timeout, or hit the queue limit, and never converged). */
static void test_big_differences_both_ways(void **state)
{
	(void)state;
	uint64_t seed = seed_from_env(2222);
	grove_ae_config_t cfg;
	grove_ae_config_init(&cfg);
	cfg.interval_ms = 200;
	cfg.window_bytes = GROVE_AE_WINDOW_BYTES_MIN;
	cfg.frame_target_bytes = 1024;
	grove_aecluster_t *c = grove_aecluster_create(2, seed, &cfg);
	c->faults.stream_delay_ms = 1;
	c->faults.stream_cap_bytes = 4096;
	char key[32];
	for (int n = 0; n < 2; n++) {
		for (int i = 0; i < 10000; i++) {
			snprintf(key, sizeof(key), "n%d-k%d", n, i);
			assert_int_equal(grove_db_counter_add(c->node[n].db, key, strlen(key), 1, NULL), 0);
		}
	}
	assert_true(grove_aecluster_run_until_converged(c, 100, 30000) != UINT64_MAX);
	assert_int_equal(grove_aecluster_state_mismatches(c->node[0].db, c->node[1].db), 0);
	assert_int_equal(grove_db_count(c->node[1].db), 20000);
	for (int n = 0; n < 2; n++) {
		grove_ae_stats_t st;
		grove_ae_get_stats(c->node[n].ae, &st);
		assert_int_equal(st.session_errors, 0);
		assert_true(st.sessions_done >= 1);
	}
	grove_netsim_stats_t ns = net_stats(c);
	printf("peak link queue %zu bytes\n", ns.stream_backlog_peak_bytes);
	assert_true(ns.stream_backlog_peak_bytes < c->faults.stream_cap_bytes + 2 * cfg.frame_bytes_max);
	grove_aecluster_destroy(c);
}

static int nodes_with(grove_aecluster_t *c, const char *key)
{
	int n = 0;
	for (int i = 0; i < c->n; i++) {
		uint8_t *enc;
		size_t len;
		if (grove_db_get_encoded(c->node[i].db, key, strlen(key), &enc, &len) == 0) {
			grove_free(enc);
			n++;
		}
	}
	return n;
}

/* Push (digest rounds 10 s apart) spreads one write to (nearly) all of 32
 * nodes within ten 100 ms push rounds under 10% loss; a node that every
 * push missed (rumor mongering leaves a small residue) is reached by the
 * digest rounds. */
static void test_push_spreads_write(void **state)
{
	(void)state;
	uint64_t seed = seed_from_env(3232);
	grove_ae_config_t cfg;
	grove_ae_config_init(&cfg);
	cfg.interval_ms = 10000;
	cfg.push = true;
	grove_aecluster_t *c = grove_aecluster_create(32, seed, &cfg);
	c->faults.loss = 0.1;
	grove_aecluster_run(c, 500);
	bool added;
	assert_int_equal(grove_db_set_add(c->node[5].db, "fresh", 5, "x", 1, &added), 0);
	int rounds = 0;
	for (; rounds < 10 && nodes_with(c, "fresh") < 32; rounds++)
		grove_aecluster_run(c, cfg.push_interval_ms);
	int reached = nodes_with(c, "fresh");
	printf("push reached %d of 32 nodes in %d rounds\n", reached, rounds);
	assert_true(reached >= 30);
	grove_ae_stats_t st;
	grove_ae_get_stats(c->node[5].ae, &st);
	assert_true(st.pushes_sent >= 3);
	assert_true(grove_aecluster_run_until_converged(c, 100, 60000) != UINT64_MAX);
	grove_aecluster_destroy(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_three_nodes_converge),
		cmocka_unit_test(test_sixteen_nodes_converge),
		cmocka_unit_test(test_sixteen_nodes_with_push),
		cmocka_unit_test(test_lossy_network_and_partition),
		cmocka_unit_test(test_new_node_catches_up_100k),
		cmocka_unit_test(test_writes_during_session_not_lost),
		cmocka_unit_test(test_big_differences_both_ways),
		cmocka_unit_test(test_push_spreads_write),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
