/*
 * test_db_commit.c - the split group commit of durability mode BATCH, on
 * both backends: writers of ONE key share fsyncs (the key lock is not held
 * across the fsync) with an exact total; every acknowledged write is read
 * back from the store and survives close and reopen; a group write failed
 * by the store's fault seam fails its writers and every later one, leaves
 * exactly the acknowledged writes in the store, no cache entry ahead of
 * the store, and a digest tree equal to a rebuild from the data.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "grove/alloc.h"
#include "grove/db.h"
#include "storage/db_int.h"
#include "tests/util_storage.h"

#define T0_MS 1700000000000ULL
#define THREADS 8
#if defined(__SANITIZE_ADDRESS__)
#define OPS 150 /* per thread; ASan+UBSan pass: fewer, same checks */
#else
#define OPS 500 /* per thread */
#endif
/* The group window of the fsync-sharing test on both backends (memory
 * "fsyncs" are free, LevelDB's may be fast: a window forms groups without
 * relying on fsync latency), and of the memory backend elsewhere. */
#define SHARE_WINDOW_US 1000
#define FAIL_AT_WRITE 40    /* the store write the seam fails */

typedef struct fixture {
	char *dir; /* NULL: memory backend */
	uint64_t clock_ms;
	grove_db_t *db;
} fixture_t;

/* f's db in mode, with a group window of window_us (< 0: the default). */
static grove_db_t *open_mode(fixture_t *f, grove_durability_t mode, int64_t window_us)
{
	grove_db_options_t o;
	grove_test_db_options_init(&o);
	o.node_id = "node-a";
	o.clock = grove_test_storage_clock_ms;
	o.clock_ctx = &f->clock_ms;
	o.durability = mode;
	if (window_us >= 0)
		o.batch_window_us = (uint32_t)window_us;
	char err[256];
	grove_db_t *db = NULL;
	int rc = grove_db_open(f->dir, &o, &db, err, sizeof(err));
	if (rc)
		printf("open: %s\n", err);
	assert_int_equal(rc, 0);
	return db;
}

static grove_db_t *open_batch_window(fixture_t *f, uint32_t window_us)
{
	return open_mode(f, GROVE_DURABILITY_BATCH, window_us);
}

static grove_db_t *open_batch(fixture_t *f)
{
	return open_batch_window(f, f->dir ? 0 : SHARE_WINDOW_US);
}

static int setup_backend(void **state, bool leveldb)
{
	fixture_t *f = calloc(1, sizeof(*f));
	f->clock_ms = T0_MS;
	if (leveldb)
		f->dir = grove_test_storage_tmpdir("dbcommit");
	f->db = open_batch(f);
	*state = f;
	return 0;
}

static int setup_memory(void **state) { return setup_backend(state, false); }
static int setup_leveldb(void **state) { return setup_backend(state, true); }

static int teardown(void **state)
{
	fixture_t *f = *state;
	grove_store_fail_write_after(0);
	grove_db_close(f->db);
	grove_test_storage_rmdir(f->dir);
	free(f);
	return 0;
}

/* One writer thread: OPS set adds of its own elements "t<id>-<i>" to its
 * key; after each acknowledged add the store holds the element.  Records
 * each result; stops at the first failure. */
typedef struct writer {
	grove_db_t *db;
	char key[16];
	int id;
	int acked;    /* elements 0..acked-1 were acknowledged */
	int first_rc; /* the first failure, or 0 */
	int later_rc; /* the result of one more write after it */
	int unread;   /* acknowledged yet not in the store: must stay 0 */
} writer_t;

static void elem_name(char *out, size_t n, int id, int i)
{
	snprintf(out, n, "t%d-%d", id, i);
}

static bool store_has(grove_db_t *db, const char *key, const char *elem)
{
	grove_value_t *v = NULL;
	if (grove_db_get(db, key, strlen(key), &v) != 0)
		return false;
	bool has = grove_orset_contains(v, elem, strlen(elem));
	grove_value_destroy(v);
	return has;
}

static void *writer_run(void *arg)
{
	writer_t *w = arg;
	char e[32];
	for (int i = 0; i < OPS; i++) {
		elem_name(e, sizeof(e), w->id, i);
		int rc = grove_db_set_add(w->db, w->key, strlen(w->key), e, strlen(e), NULL);
		if (rc) {
			w->first_rc = rc;
			w->later_rc = grove_db_counter_add(w->db, "other", 5, 1, NULL);
			return NULL;
		}
		w->acked = i + 1;
		if (!store_has(w->db, w->key, e)) /* read-after-write from the store */
			w->unread++;
	}
	return NULL;
}

/* THREADS writers; one key for all, or `keys` keys round robin. */
static void run_writers(grove_db_t *db, writer_t *w, int keys)
{
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] = (writer_t){ .db = db, .id = i };
		snprintf(w[i].key, sizeof(w[i].key), "k%d", i % keys);
		assert_int_equal(pthread_create(&th[i], NULL, writer_run, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
}

/* Elements of writer w in the store: acknowledged ones must all be there;
 * returns how many of its elements are there in all. */
static int count_present(grove_db_t *db, const writer_t *w)
{
	grove_value_t *v = NULL;
	int rc = grove_db_get(db, w->key, strlen(w->key), &v);
	if (rc == GROVE_ENOTFOUND)
		return 0;
	assert_int_equal(rc, 0);
	int n = 0;
	char e[32];
	for (int i = 0; i < OPS; i++) {
		elem_name(e, sizeof(e), w->id, i);
		bool has = grove_orset_contains(v, e, strlen(e));
		if (i < w->acked)
			assert_true(has);
		n += has;
	}
	grove_value_destroy(v);
	return n;
}

static void check_all_acked(grove_db_t *db, const writer_t *w)
{
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(count_present(db, &w[i]), w[i].acked);
}

/* Many threads, one key: exact content, fsyncs shared (the old commit held
 * the key lock across the fsync: one fsync per write). */
static void test_one_key_shares_fsyncs(void **state)
{
	fixture_t *f = *state;
	grove_db_close(f->db);
	f->db = open_batch_window(f, SHARE_WINDOW_US);
	writer_t w[THREADS];
	grove_db_stats_t s0, s1;
	grove_db_stats(f->db, &s0);
	run_writers(f->db, w, 1);
	grove_db_stats(f->db, &s1);
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(w[i].first_rc, 0);
		assert_int_equal(w[i].acked, OPS);
		assert_int_equal(w[i].unread, 0);
	}
	check_all_acked(f->db, w);
	uint64_t writes = s1.writes - s0.writes, syncs = s1.syncs - s0.syncs;
	printf("%s: %llu writes, %llu syncs\n", f->dir ? "leveldb" : "memory",
	       (unsigned long long)writes, (unsigned long long)syncs);
	assert_int_equal(writes, THREADS * OPS);
	assert_true(syncs >= 1);
	assert_true(syncs <= writes / 2);
}

/* Acknowledged writes survive close and reopen; the clean-shutdown index
 * matches the data (no rebuild needed, same root). */
static void test_restart_keeps_acked(void **state)
{
	fixture_t *f = *state;
	if (!f->dir)
		return; /* a memory store does not survive close */
	writer_t w[THREADS];
	run_writers(f->db, w, 3);
	uint8_t before[GROVE_DIGEST_BYTES], after[GROVE_DIGEST_BYTES];
	grove_db_root_digest(f->db, before);
	grove_db_close(f->db);
	f->db = open_batch(f);
	check_all_acked(f->db, w);
	grove_db_root_digest(f->db, after);
	assert_memory_equal(before, after, GROVE_DIGEST_BYTES);
	grove_db_stats_t st;
	grove_db_stats(f->db, &st);
	assert_int_equal(st.keys, 3);
}

/* Deferred writes (grove_db_defer_begin): each read-modify-write builds
 * on the queued ones (counter, set element, map field), store reads and
 * the digest tree show them only once synced, and after a close and
 * reopen the index matches the data (no rebuild). */
/* The records the queued writes keep pending for later writers: the
 * element and metadata records, not the segment index records ('d') that
 * no writer reads back (a copy, a hash and a probe saved per new element). */
static void pending_records_kept(grove_db_t *db)
{
	size_t elem = 0, meta = 0, seg = 0;
	for (size_t i = 0; i < GROVE_DB_STRIPES; i++) {
		const grove_db_stripe_t *s = &db->stripes[i];
		pthread_mutex_lock((pthread_mutex_t *)&s->mu);
		for (size_t j = 0; j < s->npend; j++) {
			elem += s->pend[j].key[0] == GROVE_DB_PFX_ELEM;
			meta += s->pend[j].key[0] == GROVE_DB_PFX_KMETA;
			seg += s->pend[j].key[0] == GROVE_DB_PFX_DIGEST;
		}
		pthread_mutex_unlock((pthread_mutex_t *)&s->mu);
	}
	assert_int_equal(elem, 2); /* s's "a", h's "f" */
	assert_int_equal(meta, 2);
	assert_int_equal(seg, 0);
}

static void test_deferred_unit(void **state)
{
	fixture_t *f = *state;
	grove_db_t *db = f->db;
	uint8_t empty[GROVE_DIGEST_BYTES], queued[GROVE_DIGEST_BYTES], synced[GROVE_DIGEST_BYTES];
	grove_db_root_digest(db, empty);
	assert_int_equal(grove_db_defer_begin(db), 0);
	assert_int_equal(grove_db_defer_begin(db), GROVE_EINVAL); /* one deferral at a time */
	for (int64_t i = 1; i <= 3; i++) {
		int64_t v = 0;
		assert_int_equal(grove_db_counter_add(db, "c", 1, 1, &v), 0);
		assert_int_equal(v, i);
	}
	bool added = false, created = false;
	assert_int_equal(grove_db_set_add(db, "s", 1, "a", 1, &added), 0);
	assert_true(added);
	assert_int_equal(grove_db_set_add(db, "s", 1, "a", 1, &added), 0);
	assert_false(added); /* the queued element is seen */
	assert_int_equal(grove_db_map_set(db, "h", 1, "f", 1, "v", 1, &created), 0);
	assert_true(created);
	uint64_t ticket = grove_db_defer_end(db);
	assert_true(ticket > 0);
	pending_records_kept(db);
	grove_value_t *v = NULL;
	assert_int_equal(grove_db_get(db, "c", 1, &v), GROVE_ENOTFOUND); /* not written yet */
	grove_db_root_digest(db, queued);
	assert_memory_equal(empty, queued, GROVE_DIGEST_BYTES);
	assert_int_equal(grove_db_defer_sync(db, ticket), 0);
	assert_true(grove_db_defer_durable(db) >= ticket);
	int64_t n = 0;
	assert_int_equal(grove_db_get(db, "c", 1, &v), 0);
	assert_int_equal(grove_pncounter_get(v, &n), 0);
	assert_int_equal(n, 3);
	grove_value_destroy(v);
	bool in = false;
	assert_int_equal(grove_db_set_contains(db, "s", 1, "a", 1, &in), 0);
	assert_true(in);
	uint64_t count = 0;
	assert_int_equal(grove_db_coll_count(db, "s", 1, GROVE_TYPE_SET, &count), 0);
	assert_int_equal(count, 1);
	grove_db_root_digest(db, synced);
	assert_memory_not_equal(empty, synced, GROVE_DIGEST_BYTES);
	assert_int_equal(grove_db_count(db), 3);
	if (!f->dir)
		return;
	grove_db_close(db);
	f->db = open_batch(f);
	grove_db_stats_t st;
	grove_db_stats(f->db, &st);
	assert_int_equal(st.index_rebuilds, 0);
	uint8_t after[GROVE_DIGEST_BYTES];
	grove_db_root_digest(f->db, after);
	assert_memory_equal(synced, after, GROVE_DIGEST_BYTES);
}

/* A deferred write's element and metadata records stay pending until its
 * ticket is synced; a write of the same collection that does not defer
 * (another client, a merge) and runs before that sync, in modes none and
 * always, writes the store directly: the next writer must read what it
 * wrote, not the older pending records.  Three adds to one set, the first
 * deferred and unsynced: the count is 3 (it was 2 with the stale pending
 * metadata read back). */
static void stale_pending_case(fixture_t *f, grove_durability_t mode)
{
	grove_db_close(f->db);
	f->db = NULL;
	grove_test_storage_rmdir(f->dir);
	f->dir = grove_test_storage_tmpdir("dbcommit");
	f->db = open_mode(f, mode, -1);
	grove_db_t *db = f->db;
	bool added = false;
	assert_int_equal(grove_db_defer_begin(db), 0);
	assert_int_equal(grove_db_set_add(db, "s", 1, "a", 1, &added), 0);
	uint64_t ticket = grove_db_defer_end(db);
	assert_true(ticket > 0);
	assert_int_equal(grove_db_set_add(db, "s", 1, "b", 1, &added), 0);
	assert_true(added);
	assert_int_equal(grove_db_set_add(db, "s", 1, "c", 1, &added), 0);
	assert_true(added);
	assert_int_equal(grove_db_set_remove(db, "s", 1, "b", 1, &added), 0);
	assert_true(added);
	assert_int_equal(grove_db_set_add(db, "s", 1, "b", 1, &added), 0);
	assert_true(added); /* not the pending "b" of before its removal */
	uint64_t count = 0;
	assert_int_equal(grove_db_coll_count(db, "s", 1, GROVE_TYPE_SET, &count), 0);
	assert_int_equal(count, 3);
	assert_int_equal(grove_db_defer_sync(db, ticket), 0);
	assert_int_equal(grove_db_set_add(db, "s", 1, "d", 1, &added), 0);
	assert_int_equal(grove_db_coll_count(db, "s", 1, GROVE_TYPE_SET, &count), 0);
	assert_int_equal(count, 4);
}

static void test_deferred_then_direct(void **state)
{
	stale_pending_case(*state, GROVE_DURABILITY_NONE);
	stale_pending_case(*state, GROVE_DURABILITY_ALWAYS);
}

/* Deferred records are reused once settled (their batch buffers too),
 * including for a key longer than a reused record had room for: 60 units
 * of counter, set and map writes on keys of 1 to GROVE_KEY_MAX bytes give
 * the same values and the same digest tree as the same writes made one by
 * one on a second db. */
static void test_deferred_reuse(void **state)
{
	fixture_t *f = *state;
	fixture_t g = { .clock_ms = T0_MS };
	grove_db_t *one = open_batch(&g);
	static const size_t lens[] = { 1, 5, 300, GROVE_KEY_MAX, 2, GROVE_KEY_MAX - 1 };
	char *key = malloc(GROVE_KEY_MAX);
	assert_non_null(key);
	for (int unit = 0; unit < 60; unit++) {
		assert_int_equal(grove_db_defer_begin(f->db), 0);
		for (int i = 0; i < 6; i++) {
			size_t kl = lens[(unit + i) % 6];
			memset(key, 'a' + i, kl);
			char m[16];
			int ml = snprintf(m, sizeof(m), "m%d", unit % 7);
			for (int d = 0; d < 2; d++) {
				grove_db_t *db = d ? one : f->db;
				key[0] = 'c';
				assert_int_equal(grove_db_counter_add(db, key, kl, unit + 1, NULL), 0);
				key[0] = 's';
				assert_int_equal(grove_db_set_add(db, key, kl, m, (size_t)ml, NULL), 0);
				key[0] = 'h';
				assert_int_equal(grove_db_map_set(db, key, kl, m, (size_t)ml, key, kl, NULL), 0);
			}
		}
		uint64_t ticket = grove_db_defer_end(f->db);
		assert_true(ticket > 0);
		assert_int_equal(grove_db_defer_sync(f->db, ticket), 0);
	}
	uint8_t a[GROVE_DIGEST_BYTES], b[GROVE_DIGEST_BYTES];
	grove_db_root_digest(f->db, a);
	grove_db_root_digest(one, b);
	assert_memory_equal(a, b, GROVE_DIGEST_BYTES);
	for (size_t j = 0; j < 6; j++) {
		memset(key, 'c', lens[j]);
		grove_value_t *v = NULL, *w = NULL;
		int64_t x = 0, y = 0;
		assert_int_equal(grove_db_get(f->db, key, lens[j], &v), 0);
		assert_int_equal(grove_db_get(one, key, lens[j], &w), 0);
		assert_int_equal(grove_pncounter_get(v, &x), 0);
		assert_int_equal(grove_pncounter_get(w, &y), 0);
		assert_int_equal(x, y);
		assert_true(x > 0);
		grove_value_destroy(v);
		grove_value_destroy(w);
	}
	assert_true(f->db->defer_free || f->db->defer_spare); /* settled records kept */
	free(key);
	grove_db_close(one);
}

/* One round of head writes on four keys (counter, set member re-added:
 * a new dot, map field, register whose TTL comes and goes): every write
 * changes the key's head record. */
static void chain_round(grove_db_t *db, int i)
{
	char v[16];
	int vl = snprintf(v, sizeof(v), "v%d", i);
	bool flag = false;
	assert_int_equal(grove_db_counter_add(db, "c", 1, 1, NULL), 0);
	assert_int_equal(grove_db_set_add(db, "s", 1, "m", 1, NULL), 0);
	assert_int_equal(grove_db_map_set(db, "h", 1, "f", 1, v, (size_t)vl, NULL), 0);
	assert_int_equal(grove_db_register_set(db, "t", 1, v, (size_t)vl), 0);
	if (i % 2)
		assert_int_equal(grove_db_expire(db, "t", 1, T0_MS + 3600000, 0, &flag), 0);
}

/* Rounds [from, to) deferred on db (one unit), their ticket. */
static uint64_t chain_deferred(grove_db_t *db, int from, int to)
{
	assert_int_equal(grove_db_defer_begin(db), 0);
	for (int i = from; i < to; i++)
		chain_round(db, i);
	uint64_t t = grove_db_defer_end(db);
	assert_true(t > 0);
	return t;
}

static void assert_same_root(grove_db_t *a, grove_db_t *b)
{
	uint8_t x[GROVE_DIGEST_BYTES], y[GROVE_DIGEST_BYTES];
	grove_db_root_digest(a, x);
	grove_db_root_digest(b, y);
	assert_memory_equal(x, y, GROVE_DIGEST_BYTES);
	assert_int_equal(grove_db_expires(a), grove_db_expires(b));
}

/* f's db reopened empty in mode, and a second empty db in mode (its
 * fixture *g, the same clock) to make the same writes one by one. */
static grove_db_t *reopen_with_ref(fixture_t *f, grove_durability_t mode, fixture_t *g)
{
	grove_db_close(f->db);
	grove_test_storage_rmdir(f->dir);
	f->dir = grove_test_storage_tmpdir("dbcommit");
	f->db = open_mode(f, mode, -1);
	*g = (fixture_t){ .clock_ms = T0_MS, .dir = grove_test_storage_tmpdir("dbcommit") };
	return open_mode(g, mode, -1);
}

/* A deferred head write hashes its item only when its group settles, and
 * only for the key's last write there (db_state.c): the tree after each
 * sync equals that of the same writes made one by one on a second db,
 * when a key's writes span units synced one at a time (the later unit's
 * batches may be written by the earlier sync, and must not be shown),
 * when a direct write of the key comes between two deferred ones, and
 * after the store fails the second group of one sync (the first group's
 * writes shown, none of the second's: the tree equals a rebuild from the
 * data after reopening). */
static void head_chain_case(fixture_t *f, grove_durability_t mode)
{
	fixture_t g;
	grove_db_t *ref = reopen_with_ref(f, mode, &g);
	uint64_t ta = chain_deferred(f->db, 0, 5), tb = chain_deferred(f->db, 5, 8);
	for (int i = 0; i < 5; i++)
		chain_round(ref, i);
	assert_int_equal(grove_db_defer_sync(f->db, ta), 0);
	assert_same_root(f->db, ref);
	for (int i = 5; i < 8; i++)
		chain_round(ref, i);
	assert_int_equal(grove_db_defer_sync(f->db, tb), 0);
	assert_same_root(f->db, ref);
	chain_deferred(f->db, 8, 10);
	chain_round(f->db, 10); /* direct, before the sync */
	uint64_t td = chain_deferred(f->db, 11, 13);
	for (int i = 8; i < 13; i++)
		chain_round(ref, i);
	assert_int_equal(grove_db_defer_sync(f->db, td), 0);
	assert_same_root(f->db, ref);
	chain_round(f->db, 13); /* builds on the entries' items */
	chain_round(ref, 13);
	assert_same_root(f->db, ref);
	grove_db_close(ref);
	grove_test_storage_rmdir(g.dir);
	/* 1,200 units of one write: two groups in one sync, the second failed */
	uint8_t before[GROVE_DIGEST_BYTES], after[GROVE_DIGEST_BYTES];
	grove_db_root_digest(f->db, before);
	uint64_t t = 0;
	for (int u = 0; u < 1200; u++) {
		assert_int_equal(grove_db_defer_begin(f->db), 0);
		assert_int_equal(grove_db_counter_add(f->db, "c", 1, 1, NULL), 0);
		t = grove_db_defer_end(f->db);
	}
	grove_store_fail_write_after(2);
	assert_int_equal(grove_db_defer_sync(f->db, t), GROVE_EIO);
	grove_store_fail_write_after(0);
	grove_db_root_digest(f->db, after);
	assert_memory_not_equal(before, after, GROVE_DIGEST_BYTES); /* the first group shows */
	grove_db_close(f->db);
	f->db = open_mode(f, mode, -1);
	grove_db_stats_t st;
	grove_db_stats(f->db, &st);
	assert_int_equal(st.index_rebuilds, 1);
	grove_db_root_digest(f->db, before);
	assert_memory_equal(before, after, GROVE_DIGEST_BYTES);
}

static void test_deferred_head_chains(void **state)
{
	head_chain_case(*state, GROVE_DURABILITY_NONE);
	head_chain_case(*state, GROVE_DURABILITY_BATCH);
}

/* The writes of fold_case: a hot member re-added 16 times, a map field
 * rewritten 16 times (each run folds into one record), two new members
 * and a remove (records of other keys than the write before: 3 records),
 * then a register whose TTL comes and goes (its TTL index records differ
 * from write to write: 9 records).  *writes counts them. */
#define FOLD_RECORDS (1 + 1 + 3 + 9)
static void fold_writes(grove_db_t *db, int *writes)
{
	bool flag = false;
	for (int i = 0; i < 16; i++, (*writes)++)
		assert_int_equal(grove_db_set_add(db, "s", 1, "m", 1, NULL), 0);
	for (int i = 0; i < 16; i++, (*writes)++) {
		char v[16];
		int vl = snprintf(v, sizeof(v), "v%d", i);
		assert_int_equal(grove_db_map_set(db, "h", 1, "f", 1, v, (size_t)vl, NULL), 0);
	}
	for (const char *const *m = (const char *const[]){ "+a", "+b", "-a", NULL }; *m;
	     m++, (*writes)++) {
		flag = false;
		assert_int_equal(**m == '+' ? grove_db_set_add(db, "s", 1, *m + 1, 1, &flag)
					    : grove_db_set_remove(db, "s", 1, *m + 1, 1, &flag),
				 0);
		assert_true(flag); /* added, removed */
	}
	for (int i = 0; i < 6; i++, (*writes)++) {
		assert_int_equal(grove_db_register_set(db, "t", 1, "x", 1), 0);
		if (i % 2 == 0)
			continue;
		assert_int_equal(grove_db_expire(db, "t", 1, T0_MS + 3600000 + (uint64_t)i, 0, &flag),
				 0);
		(*writes)++;
	}
}

/* Helper thread of fold_case: one BATCH write of another key, which
 * leads the group that takes the deferral's queued batches. */
static void *fold_other(void *arg)
{
	return (void *)(intptr_t)grove_db_counter_add(arg, "o", 1, 1, NULL);
}

/* A deferral's writes of one key in a row fold into one queued record
 * (db_state.c defer_fold) when they write the same records: fold_writes
 * queues FOLD_RECORDS records in all, not one per write; each record's pending element items are those of its
 * records; after the sync the tree equals that of the same writes made
 * one by one on a second db, with the same contents, and a reopen keeps
 * it.  A write whose key's record a group has taken meanwhile (BATCH:
 * another thread's write led it) queues its own. */
static void fold_case(fixture_t *f, grove_durability_t mode)
{
	fixture_t g;
	grove_db_t *ref = reopen_with_ref(f, mode, &g);
	uint64_t seq0 = grove_commit_last_seq(&f->db->commit), folds0 = f->db->defer_folds;
	int writes = 0, ref_writes = 0;
	assert_int_equal(grove_db_defer_begin(f->db), 0);
	fold_writes(f->db, &writes);
	assert_int_equal(grove_db__pending_check_items(f->db), 0);
	uint64_t t = grove_db_defer_end(f->db);
	assert_int_equal(t, seq0 + FOLD_RECORDS);
	assert_int_equal(grove_commit_last_seq(&f->db->commit), seq0 + FOLD_RECORDS);
	assert_int_equal(f->db->defer_folds - folds0, (uint64_t)writes - FOLD_RECORDS);
	assert_int_equal(grove_db_defer_sync(f->db, t), 0);
	fold_writes(ref, &ref_writes);
	assert_same_root(f->db, ref);
	bool in = true;
	assert_int_equal(grove_db_set_contains(f->db, "s", 1, "a", 1, &in), 0);
	assert_false(in);
	uint64_t n = 0;
	assert_int_equal(grove_db_coll_count(f->db, "s", 1, GROVE_TYPE_SET, &n), 0);
	assert_int_equal(n, 2);
	uint8_t *val = NULL;
	size_t vlen = 0;
	assert_int_equal(grove_db_map_get(f->db, "h", 1, "f", 1, &val, &vlen), 0);
	assert_int_equal(vlen, 3);
	assert_memory_equal(val, "v15", 3);
	grove_free(val);
	/* another thread's write between two of the deferral's: no fold */
	folds0 = f->db->defer_folds;
	seq0 = grove_commit_last_seq(&f->db->commit);
	assert_int_equal(grove_db_defer_begin(f->db), 0);
	assert_int_equal(grove_db_set_add(f->db, "s", 1, "m", 1, NULL), 0);
	pthread_t th;
	void *rc = NULL;
	assert_int_equal(pthread_create(&th, NULL, fold_other, f->db), 0);
	assert_int_equal(pthread_join(th, &rc), 0);
	assert_null(rc);
	assert_int_equal(grove_db_set_add(f->db, "s", 1, "m", 1, NULL), 0);
	t = grove_db_defer_end(f->db);
	assert_int_equal(t, seq0 + 3);
	assert_int_equal(f->db->defer_folds, folds0);
	assert_int_equal(grove_db_defer_sync(f->db, t), 0);
	assert_int_equal(grove_db_set_add(ref, "s", 1, "m", 1, NULL), 0);
	assert_int_equal(grove_db_counter_add(ref, "o", 1, 1, NULL), 0);
	assert_int_equal(grove_db_set_add(ref, "s", 1, "m", 1, NULL), 0);
	assert_same_root(f->db, ref);
	grove_db_close(ref);
	grove_test_storage_rmdir(g.dir);
	uint8_t before[GROVE_DIGEST_BYTES], after[GROVE_DIGEST_BYTES];
	grove_db_root_digest(f->db, before);
	grove_db_close(f->db);
	f->db = open_mode(f, mode, -1);
	grove_db_root_digest(f->db, after);
	assert_memory_equal(before, after, GROVE_DIGEST_BYTES);
}

static void test_deferred_fold(void **state)
{
	fold_case(*state, GROVE_DURABILITY_NONE);
	fold_case(*state, GROVE_DURABILITY_BATCH);
	fold_case(*state, GROVE_DURABILITY_ALWAYS);
}

/* The block of the one pending record with prefix pfx (NULL: none). */
static const uint8_t *pending_block_of(grove_db_t *db, uint8_t pfx)
{
	const uint8_t *found = NULL;
	for (size_t i = 0; i < GROVE_DB_STRIPES; i++) {
		const grove_db_stripe_t *s = &db->stripes[i];
		for (size_t j = 0; j < s->npend; j++) {
			if (s->pend[j].key[0] != pfx)
				continue;
			assert_null(found);
			found = s->pend[j].key;
		}
	}
	return found;
}

/* A hot element's pipelined writes rewrite its pending element and
 * metadata records in their blocks (db_cache.c, pending_inplace): four
 * deferred re-adds of one member keep both blocks, the records' items
 * are those of their values, and the sync writes the last state. */
static void test_pending_in_place(void **state)
{
	fixture_t *f = *state;
	grove_db_t *db = f->db;
	const uint8_t *e0 = NULL, *k0 = NULL;
	assert_int_equal(grove_db_defer_begin(db), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(grove_db_set_add(db, "s", 1, "m", 1, NULL), 0);
		const uint8_t *e = pending_block_of(db, GROVE_DB_PFX_ELEM);
		const uint8_t *k = pending_block_of(db, GROVE_DB_PFX_KMETA);
		assert_non_null(e);
		assert_non_null(k);
		if (i == 0) {
			e0 = e;
			k0 = k;
		}
		assert_ptr_equal(e, e0);
		assert_ptr_equal(k, k0);
		assert_int_equal(grove_db__pending_check_items(db), 0);
	}
	uint64_t t = grove_db_defer_end(db);
	assert_int_equal(grove_db_defer_sync(db, t), 0);
	uint64_t n = 0;
	assert_int_equal(grove_db_coll_count(db, "s", 1, GROVE_TYPE_SET, &n), 0);
	assert_int_equal(n, 1);
	assert_null(pending_block_of(db, GROVE_DB_PFX_ELEM));
}

/* BATCH (the memory backend: its group window keeps each writer waiting,
 * key lock released): writers of one set add and remove members at once (a remove
 * of a member changes no head: only element and metadata records, and
 * the writer waits for its group with the key lock released).  The
 * maintained count must equal the members present at the end: no writer
 * may skip the metadata read on a cached "no metadata" that another
 * writer's queued records made stale. */
typedef struct churn {
	grove_db_t *db;
	int id;
} churn_t;

#define CHURN_MEMBERS 4
#define CHURN_OPS (OPS / 5)

static void *churn_run(void *arg)
{
	churn_t *c = arg;
	for (int i = 0; i < CHURN_OPS; i++) {
		char m[16];
		int ml = snprintf(m, sizeof(m), "%d:%d", c->id, i % CHURN_MEMBERS);
		bool flag = false;
		int rc = (i / CHURN_MEMBERS) % 2 == 0
				 ? grove_db_set_add(c->db, "churn", 5, m, (size_t)ml, &flag)
				 : grove_db_set_remove(c->db, "churn", 5, m, (size_t)ml, &flag);
		if (rc)
			return (void *)(intptr_t)rc;
	}
	return NULL;
}

static void test_shared_set_count(void **state)
{
	fixture_t *f = *state;
	pthread_t th[THREADS];
	churn_t c[THREADS];
	for (int i = 0; i < THREADS; i++) {
		c[i] = (churn_t){ .db = f->db, .id = i };
		assert_int_equal(pthread_create(&th[i], NULL, churn_run, &c[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		void *rc = NULL;
		assert_int_equal(pthread_join(th[i], &rc), 0);
		assert_null(rc);
	}
	uint64_t present = 0, count = 0;
	for (int t = 0; t < THREADS; t++)
		for (int j = 0; j < CHURN_MEMBERS; j++) {
			char m[16];
			int ml = snprintf(m, sizeof(m), "%d:%d", t, j);
			bool in = false;
			assert_int_equal(grove_db_set_contains(f->db, "churn", 5, m, (size_t)ml, &in), 0);
			present += in;
		}
	assert_int_equal(grove_db_coll_count(f->db, "churn", 5, GROVE_TYPE_SET, &count), 0);
	assert_int_equal(count, present);
}

/* No cache entry of a written key may be ahead of the store. */
static void check_cache_matches_store(grove_db_t *db, const writer_t *w)
{
	for (int i = 0; i < THREADS; i++) {
		grove_db_key_t k;
		assert_int_equal(grove_db__key_prepare(&k, w[i].key, strlen(w[i].key)), 0);
		pthread_mutex_lock(&db->stripes[k.stripe].mu);
		grove_db_cached_t *e = grove_db__cache_find(db, &k);
		uint8_t *rec = NULL;
		size_t len = 0;
		if (e) {
			assert_int_equal(grove_store_get(db->store, NULL, k.urec, 1 + k.klen, &rec, &len), 0);
			assert_int_equal(len, e->rec_len);
			assert_memory_equal(rec, e->buf + GROVE_TREE_ITEM_PREFIX_BYTES(k.klen), len);
			grove_free(rec);
		}
		pthread_mutex_unlock(&db->stripes[k.stripe].mu);
	}
}

/* The seam fails one group write: its writers get GROVE_EIO, every later
 * writer GROVE_EREADONLY; the store holds exactly the acknowledged
 * elements; the tree equals a rebuild from the data after reopening. */
static void run_failure(fixture_t *f, int keys)
{
	writer_t w[THREADS];
	grove_store_fail_write_after(FAIL_AT_WRITE);
	run_writers(f->db, w, keys);
	grove_store_fail_write_after(0);
	int eio = 0, acked = 0;
	for (int i = 0; i < THREADS; i++) {
		assert_true(w[i].first_rc == GROVE_EIO || w[i].first_rc == GROVE_EREADONLY);
		assert_int_equal(w[i].later_rc, GROVE_EREADONLY);
		assert_int_equal(w[i].unread, 0);
		eio += w[i].first_rc == GROVE_EIO;
		acked += w[i].acked;
	}
	printf("%d keys: %d acknowledged, %d writers failed with EIO\n", keys, acked, eio);
	assert_true(eio >= 1);
	check_all_acked(f->db, w);
	check_cache_matches_store(f->db, w);
	assert_int_equal(grove_db_counter_add(f->db, "new", 3, 1, NULL), GROVE_EREADONLY);
	uint8_t before[GROVE_DIGEST_BYTES], after[GROVE_DIGEST_BYTES];
	grove_db_root_digest(f->db, before);
	if (!f->dir)
		return; /* a memory store cannot be reopened: checked by content */
	grove_db_close(f->db);
	f->db = open_batch(f);
	grove_db_stats_t st;
	grove_db_stats(f->db, &st);
	assert_int_equal(st.index_rebuilds, 1); /* no clean record after the failure */
	grove_db_root_digest(f->db, after);
	assert_memory_equal(before, after, GROVE_DIGEST_BYTES);
	check_all_acked(f->db, w);
	assert_int_equal(grove_db_counter_add(f->db, "new", 3, 1, NULL), 0); /* reopened: writable */
}

static void test_failed_group_one_key(void **state)
{
	run_failure(*state, 1);
}

static void test_failed_group_spread(void **state)
{
	run_failure(*state, THREADS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_key_shares_fsyncs, setup_memory, teardown),
		cmocka_unit_test_setup_teardown(test_one_key_shares_fsyncs, setup_leveldb, teardown),
		cmocka_unit_test_setup_teardown(test_restart_keeps_acked, setup_leveldb, teardown),
		cmocka_unit_test_setup_teardown(test_deferred_unit, setup_memory, teardown),
		cmocka_unit_test_setup_teardown(test_deferred_unit, setup_leveldb, teardown),
		cmocka_unit_test_setup_teardown(test_shared_set_count, setup_memory, teardown),
		cmocka_unit_test_setup_teardown(test_deferred_then_direct, setup_leveldb, teardown),
		cmocka_unit_test_setup_teardown(test_deferred_reuse, setup_memory, teardown),
		cmocka_unit_test_setup_teardown(test_deferred_reuse, setup_leveldb, teardown),
		cmocka_unit_test_setup_teardown(test_deferred_head_chains, setup_leveldb, teardown),
		cmocka_unit_test_setup_teardown(test_deferred_fold, setup_leveldb, teardown),
		cmocka_unit_test_setup_teardown(test_pending_in_place, setup_memory, teardown),
		cmocka_unit_test_setup_teardown(test_pending_in_place, setup_leveldb, teardown),
		cmocka_unit_test_setup_teardown(test_failed_group_one_key, setup_memory, teardown),
		cmocka_unit_test_setup_teardown(test_failed_group_one_key, setup_leveldb, teardown),
		cmocka_unit_test_setup_teardown(test_failed_group_spread, setup_memory, teardown),
		cmocka_unit_test_setup_teardown(test_failed_group_spread, setup_leveldb, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
