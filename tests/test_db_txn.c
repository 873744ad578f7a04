/*
 * test_db_txn.c - transactions (grove_db_txn_begin/_commit, store.h's
 * grove_store_txn_*), on both backends:
 *  - the store's overlay read by the owner against a model: gets,
 *    iterators walked forward, backward and both ways from random seeks,
 *    snapshots taken inside the transaction, deletes of backend keys;
 *    another thread reads the backend alone; the batch handed out equals
 *    the model once written;
 *  - a db transaction's writes (counters, a set, a map) are
 *    read back inside it, reach the store as ONE store write (one fsync in
 *    batch and always), and survive close and reopen with a digest tree
 *    equal to a rebuild; another thread's write meanwhile is refused;
 *  - crashes (batch and always): a child process commits a transaction,
 *    begins a second and dies (_exit, no close) inside it: after reopening
 *    all of the first is there and none of the second;
 *    a commit the store's fault seam fails leaves none of it after reopen
 *    and the db refuses writes until then.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/rng.h"
#include "grove/alloc.h"
#include "grove/db.h"
#include "storage/db_int.h"
#include "tests/util_storage.h"

#define NKEYS 48       /* the model's key space: "k00".."k47" */
#define ROUNDS 40      /* stage rounds per seed */
#define WALK_STEPS 30  /* iterator moves per walk */
#if defined(__SANITIZE_ADDRESS__)
#define SEEDS 2 /* per backend; ASan+UBSan pass: fewer, same checks */
#else
#define SEEDS 5
#endif

/* ---- the store overlay against a model ---- */

typedef struct model {
	bool has[NKEYS];
	char val[NKEYS][16];
} model_t;

static void key_of(int i, char out[4])
{
	snprintf(out, 4, "k%02d", i);
}

static void check_get(grove_store_t *s, const grove_snapshot_t *snap, const model_t *m)
{
	for (int i = 0; i < NKEYS; i++) {
		char k[4];
		key_of(i, k);
		uint8_t *v = NULL;
		size_t vl = 0;
		int rc = grove_store_get(s, snap, k, 3, &v, &vl);
		if (!m->has[i]) {
			assert_int_equal(rc, GROVE_ENOTFOUND);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(vl, strlen(m->val[i]));
		assert_memory_equal(v, m->val[i], vl);
		grove_free(v);
	}
}

/* The model's position of an iterator: the key index it stands on, or -1. */
static int it_at(grove_iter_t *it, const model_t *m)
{
	if (!grove_iter_valid(it))
		return -1;
	size_t kl, vl;
	const uint8_t *k = grove_iter_key(it, &kl);
	assert_int_equal(kl, 3);
	int i = (k[1] - '0') * 10 + (k[2] - '0');
	assert_true(i >= 0 && i < NKEYS && m->has[i]);
	const uint8_t *v = grove_iter_value(it, &vl);
	assert_int_equal(vl, strlen(m->val[i]));
	assert_memory_equal(v, m->val[i], vl);
	return i;
}

static int model_next(const model_t *m, int from) /* first present > from */
{
	for (int i = from + 1; i < NKEYS; i++)
		if (m->has[i])
			return i;
	return -1;
}

static int model_prev(const model_t *m, int from) /* last present < from */
{
	for (int i = from - 1; i >= 0; i--)
		if (m->has[i])
			return i;
	return -1;
}

/* Random seeks, then random next/prev steps, each compared with the model. */
static void check_walk(grove_store_t *s, const grove_snapshot_t *snap, const model_t *m,
		       grove_rng_t *rng)
{
	grove_iter_t *it;
	assert_int_equal(grove_iter_create(s, snap, &it), 0);
	for (int w = 0; w < 4; w++) {
		int at = (int)grove_rng_below(rng, NKEYS);
		char k[4];
		key_of(at, k);
		int want;
		if (grove_rng_below(rng, 2)) {
			grove_iter_seek(it, k, 3);
			want = m->has[at] ? at : model_next(m, at);
		} else {
			grove_iter_seek_before(it, k, 3);
			want = model_prev(m, at);
		}
		assert_int_equal(it_at(it, m), want);
		for (int st = 0; st < WALK_STEPS && want >= 0; st++) {
			int dir = (int)grove_rng_below(rng, 2), was = want;
			if (dir) {
				grove_iter_next(it);
				want = model_next(m, want);
			} else {
				grove_iter_prev(it);
				want = model_prev(m, want);
			}
			int got = it_at(it, m);
			if (got != want)
				printf("step %d from %d: %s gave %d, want %d\n", st, was,
				       dir ? "next" : "prev", got, want);
			assert_int_equal(got, want);
		}
	}
	assert_int_equal(grove_iter_status(it), 0);
	grove_iter_destroy(it);
}

/* Adds a random put or delete of a random key to b and m. */
static void random_op(grove_batch_t *b, model_t *m, grove_rng_t *rng)
{
	int i = (int)grove_rng_below(rng, NKEYS);
	char k[4];
	key_of(i, k);
	if (grove_rng_below(rng, 3) == 0) {
		assert_int_equal(grove_batch_delete(b, k, 3), 0);
		m->has[i] = false;
		return;
	}
	snprintf(m->val[i], sizeof(m->val[i]), "v%llu",
		 (unsigned long long)grove_rng_below(rng, 1000000));
	m->has[i] = true;
	assert_int_equal(grove_batch_put(b, k, 3, m->val[i], strlen(m->val[i])), 0);
}

typedef struct other_read {
	grove_store_t *s;
	const model_t *base;
} other_read_t;

static void *other_thread(void *arg)
{
	other_read_t *o = arg;
	assert_false(grove_store_txn_owned(o->s));
	assert_true(grove_store_txn_open(o->s));
	check_get(o->s, NULL, o->base);
	return NULL;
}

static void overlay_seed(grove_store_t *s, uint64_t seed)
{
	grove_rng_t rng;
	grove_rng_seed(&rng, seed);
	model_t base = { 0 }, m;
	grove_batch_t b;
	grove_batch_init(&b);
	for (int i = 0; i < NKEYS; i++)
		random_op(&b, &base, &rng);
	assert_int_equal(grove_store_write(s, &b, false), 0);
	m = base;
	assert_int_equal(grove_store_txn_begin(s), 0);
	assert_int_equal(grove_store_txn_begin(s), GROVE_EINVAL); /* one at a time */
	assert_true(grove_store_txn_owned(s));
	grove_snapshot_t *early = NULL;
	model_t at_early;
	for (int r = 0; r < ROUNDS; r++) {
		grove_batch_clear(&b);
		size_t n = 1 + grove_rng_below(&rng, 4);
		for (size_t j = 0; j < n; j++)
			random_op(&b, &m, &rng);
		assert_int_equal(grove_store_txn_stage(s, &b), 0);
		check_get(s, NULL, &m);
		check_walk(s, NULL, &m, &rng);
		if (r == ROUNDS / 2) { /* a snapshot keeps the staged state of its time */
			assert_int_equal(grove_snapshot_create(s, &early), 0);
			at_early = m;
		}
		if (early) {
			check_get(s, early, &at_early);
			check_walk(s, early, &at_early, &rng);
		}
	}
	other_read_t o = { s, &base };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, other_thread, &o), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	check_get(s, NULL, &m);
	grove_snapshot_release(s, early);
	grove_batch_t all;
	grove_store_txn_end(s, &all);
	assert_false(grove_store_txn_open(s));
	check_get(s, NULL, &base); /* nothing reached the backend */
	assert_int_equal(grove_store_write(s, &all, false), 0);
	check_get(s, NULL, &m);
	check_walk(s, NULL, &m, &rng);
	grove_batch_close(&all);
	/* clean up for the next seed */
	grove_batch_clear(&b);
	for (int i = 0; i < NKEYS; i++) {
		char k[4];
		key_of(i, k);
		assert_int_equal(grove_batch_delete(&b, k, 3), 0);
	}
	assert_int_equal(grove_store_write(s, &b, false), 0);
	grove_batch_close(&b);
}

static void test_store_overlay(void **state)
{
	(void)state;
	uint64_t seed = grove_test_storage_seed("test_store_overlay");
	for (int backend = 0; backend < 2; backend++) {
		char *dir = backend ? grove_test_storage_tmpdir("txnstore") : NULL;
		grove_store_t *s = NULL;
		char err[256];
		assert_int_equal(dir ? grove_store_open_leveldb(dir, &s, err, sizeof(err))
				     : grove_store_open_memory(&s),
				 0);
		for (uint64_t i = 0; i < SEEDS; i++)
			overlay_seed(s, seed + i);
		grove_store_close(s);
		grove_test_storage_rmdir(dir);
	}
}

/* ---- db transactions ---- */

static grove_db_t *open_db(const char *dir, uint64_t *clock_ms, grove_durability_t mode)
{
	grove_db_t *db = NULL;
	assert_int_equal(grove_test_storage_db_open(dir, "node-a", clock_ms, mode, &db), 0);
	return db;
}

static int64_t counter(grove_db_t *db, const char *key)
{
	grove_value_t *v = NULL;
	int rc = grove_db_get(db, key, strlen(key), &v);
	if (rc == GROVE_ENOTFOUND)
		return 0;
	assert_int_equal(rc, 0);
	int64_t n = 0;
	assert_int_equal(grove_pncounter_get(v, &n), 0);
	grove_value_destroy(v);
	return n;
}

static bool member(grove_db_t *db, const char *key, const char *elem)
{
	bool in = false;
	assert_int_equal(grove_db_set_contains(db, key, strlen(key), elem, strlen(elem), &in), 0);
	return in;
}

/* Round i of writes: a += 1, b += 1, "s" gains m<i>, "h" field f<i>. */
static void txn_writes(grove_db_t *db, int i)
{
	int64_t nv;
	char e[16];
	snprintf(e, sizeof(e), "m%d", i);
	bool added;
	assert_int_equal(grove_db_counter_incr(db, "a", 1, 1, &nv), 0);
	assert_int_equal(counter(db, "a"), nv); /* read inside the transaction */
	assert_int_equal(grove_db_set_add(db, "s", 1, e, strlen(e), &added), 0);
	assert_true(added);
	assert_true(member(db, "s", e));
	assert_int_equal(grove_db_map_set(db, "h", 1, e, strlen(e), "v", 1, &added), 0);
	assert_int_equal(grove_db_counter_incr(db, "b", 1, 1, &nv), 0);
	assert_int_equal(counter(db, "b"), nv);
}

typedef struct other_write {
	grove_db_t *db;
	int rc;
} other_write_t;

static void *other_writer(void *arg)
{
	other_write_t *o = arg;
	int64_t nv;
	o->rc = grove_db_counter_incr(o->db, "other", 5, 1, &nv);
	return NULL;
}

static void txn_one_write(grove_durability_t mode, bool leveldb)
{
	{
		char *dir = leveldb ? grove_test_storage_tmpdir("txndb") : NULL;
		uint64_t clk = GROVE_TEST_T0_MS;
		grove_db_t *db = open_db(dir, &clk, mode);
		txn_writes(db, 0); /* outside: written as usual */
		grove_db_stats_t st0, st1;
		grove_db_stats(db, &st0);
		grove_test_ops_count(db);
		assert_int_equal(grove_db_txn_begin(db), 0);
		assert_int_equal(grove_db_txn_begin(db), GROVE_EINVAL);
		for (int i = 1; i <= 5; i++)
			txn_writes(db, i);
		assert_int_equal(grove_test_ops.writes, 0); /* nothing reached the store yet */
		other_write_t o = { db, 0 };
		pthread_t t;
		assert_int_equal(pthread_create(&t, NULL, other_writer, &o), 0);
		assert_int_equal(pthread_join(t, NULL), 0);
		assert_int_equal(o.rc, GROVE_EAGAIN);
		assert_int_equal(grove_db_txn_commit(db), 0);
		assert_int_equal(grove_test_ops.writes, 1); /* ONE store write for the transaction */
		assert_int_equal(grove_test_ops.synced, mode == GROVE_DURABILITY_NONE ? 0 : 1);
		grove_db_stats(db, &st1);
		assert_int_equal(st1.syncs - st0.syncs, mode == GROVE_DURABILITY_NONE ? 0 : 1);
		grove_test_ops_uncount(db);
		assert_int_equal(counter(db, "a"), 6);
		assert_int_equal(counter(db, "b"), 6);
		assert_int_equal(counter(db, "other"), 0);
		if (dir) { /* all of it survives a reopen; the tree equals a rebuild */
			uint8_t d0[GROVE_DIGEST_BYTES], d1[GROVE_DIGEST_BYTES];
			grove_db_root_digest(db, d0);
			grove_db_close(db);
			db = open_db(dir, &clk, mode);
			assert_int_equal(counter(db, "a"), 6);
			assert_int_equal(counter(db, "b"), 6);
			assert_true(member(db, "s", "m5"));
			grove_db_root_digest(db, d1);
			assert_memory_equal(d0, d1, sizeof(d0));
			assert_int_equal(grove_db__index_rebuild(db), 0);
			grove_db_root_digest(db, d1);
			assert_memory_equal(d0, d1, sizeof(d0));
		}
		grove_db_close(db);
		grove_test_storage_rmdir(dir);
	}
}

/* (each db open costs; the modes' paths differ in the commit, not the backend) */
static void test_txn_one_write_none(void **state)
{
	(void)state;
	txn_one_write(GROVE_DURABILITY_NONE, false);
}

static void test_txn_one_write_batch(void **state)
{
	(void)state;
	txn_one_write(GROVE_DURABILITY_BATCH, true);
}

static void test_txn_one_write_always(void **state)
{
	(void)state;
	txn_one_write(GROVE_DURABILITY_ALWAYS, true);
}

/* One transaction of 5 rounds of a += 1, b += 1; committed or not. */
static int child_txn(grove_db_t *db, bool commit)
{
	int64_t nv;
	if (grove_db_txn_begin(db))
		return 4;
	for (int i = 0; i < 5; i++)
		if (grove_db_counter_incr(db, "a", 1, 1, &nv) ||
		    grove_db_counter_incr(db, "b", 1, 1, &nv))
			return 5;
	return commit && grove_db_txn_commit(db) ? 6 : 0;
}

/* A child opens dir, writes a and b once outside, commits a transaction,
 * begins a second one and dies in it at once (no close, as a kill -9). */
static void crash_child(const char *dir, grove_durability_t mode)
{
	uint64_t clk = GROVE_TEST_T0_MS;
	grove_db_t *db = NULL;
	if (grove_test_storage_db_open(dir, "node-a", &clk, mode, &db) != 0)
		_exit(2);
	int64_t nv;
	if (grove_db_counter_incr(db, "a", 1, 1, &nv) || grove_db_counter_incr(db, "b", 1, 1, &nv))
		_exit(3);
	int rc = child_txn(db, true);
	if (rc == 0)
		rc = child_txn(db, false);
	_exit(rc);
}

static void crash_case(grove_durability_t mode)
{
	char *dir = grove_test_storage_tmpdir("txncrash");
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		crash_child(dir, mode);
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	uint64_t clk = GROVE_TEST_T0_MS;
	grove_db_t *db = open_db(dir, &clk, mode);
	assert_int_equal(counter(db, "a"), 6); /* the first transaction, not the second */
	assert_int_equal(counter(db, "b"), 6);
	grove_db_close(db);
	grove_test_storage_rmdir(dir);
}

static void test_txn_crash(void **state)
{
	(void)state;
	/* none writes the same one batch unsynced: a process crash is alike */
	grove_durability_t modes[] = { GROVE_DURABILITY_BATCH, GROVE_DURABILITY_ALWAYS };
	for (size_t i = 0; i < 2; i++)
		crash_case(modes[i]);
}

/* The store's fault seam fails the transaction's one write. */
static void test_txn_commit_fails(void **state)
{
	(void)state;
	char *dir = grove_test_storage_tmpdir("txnfail");
	uint64_t clk = GROVE_TEST_T0_MS;
	grove_db_t *db = open_db(dir, &clk, GROVE_DURABILITY_BATCH);
	txn_writes(db, 0);
	assert_int_equal(grove_db_txn_begin(db), 0);
	for (int i = 1; i <= 3; i++)
		txn_writes(db, i);
	grove_store_fail_write_after(1);
	assert_int_equal(grove_db_txn_commit(db), GROVE_EIO);
	grove_store_fail_write_after(0);
	int64_t nv;
	assert_int_equal(grove_db_counter_incr(db, "a", 1, 1, &nv), GROVE_EREADONLY);
	assert_int_equal(counter(db, "a"), 1); /* the cache no longer claims it */
	grove_db_close(db);
	db = open_db(dir, &clk, GROVE_DURABILITY_BATCH);
	assert_int_equal(counter(db, "a"), 1);
	assert_int_equal(counter(db, "b"), 1);
	assert_false(member(db, "s", "m1"));
	assert_true(member(db, "s", "m0"));
	assert_int_equal(grove_db_counter_incr(db, "a", 1, 1, &nv), 0);
	assert_int_equal(nv, 2);
	grove_db_close(db);
	grove_test_storage_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_overlay),
		cmocka_unit_test(test_txn_one_write_none),
		cmocka_unit_test(test_txn_one_write_batch),
		cmocka_unit_test(test_txn_one_write_always),
		cmocka_unit_test(test_txn_crash),
		cmocka_unit_test(test_txn_commit_fails),
	};
	if (getenv("GROVE_TEST_FILTER")) /* one test: GROVE_TEST_FILTER=test_txn_crash */
		cmocka_set_test_filter(getenv("GROVE_TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
