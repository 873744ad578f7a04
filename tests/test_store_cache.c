/*
 * test_store_cache.c - the point cache of store.h (storage/store_cache.c):
 * a cached record that a write did not update would answer stale reads
 * (SISMEMBER, HGET, ZSCORE of a changed or removed element).  Tests:
 *   - every write path (put, delete, batch, write list, transaction, a
 *     failed write) leaves the cache answering what the backend holds,
 *     on both backends; absent keys too (negative entries);
 *   - records over GROVE_STORE_CACHE_REC_MAX and keys outside the prefix
 *     are not kept; the bytes stay within the budget;
 *   - a writer thread rewriting keys while readers read them: a reader
 *     never sees a key go back to an older value, and after the writer
 *     ends every read answers the last value (a read that filled the
 *     cache from a record a racing write replaced would break both);
 *   - the entries' arena (store_arena.c): slots carved in order, a freed
 *     slot reused by its list's next allocation of its size only, the
 *     region's end; a cache's entries come from it, a freed entry's slot
 *     serves the next of its size, and once no slot fits entries are
 *     malloc'd, all within the budget and answering what the backend holds;
 *   - a db twin, cache on and off, through sets, hashes, sorted sets,
 *     deletes with their purges, merges, transactions and expiry: every
 *     SISMEMBER, HGET and ZSCORE answers the same.
 * Seeds are printed (GROVE_TEST_SEED replays one).
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
#include "base/rng.h"
#include "crdt/coll.h"
#include "storage/db_int.h"
#include "storage/store.h"
#include "storage/store_int.h"
#include "tests/util_storage.h"

#define K(s) s, strlen(s)
#define PFX "e"

#if defined(__SANITIZE_ADDRESS__)
#define RACE_WRITES 3000
#define TWIN_STEPS 600
#else
#define RACE_WRITES 20000
#define TWIN_STEPS 2000
#endif
#define RACE_KEYS 4
#define RACE_READERS 2

typedef struct fixture {
	char *dir;
	grove_store_t *s;
} fixture_t;

static void store_open(fixture_t *f, bool leveldb, size_t budget)
{
	memset(f, 0, sizeof(*f));
	if (leveldb) {
		char err[512];
		f->dir = grove_test_storage_tmpdir("store_cache");
		assert_int_equal(grove_store_open_leveldb(f->dir, &f->s, err, sizeof(err)), 0);
	} else {
		assert_int_equal(grove_store_open_memory(&f->s), 0);
	}
	assert_int_equal(grove_store_cache_enable(f->s, PFX, budget), 0);
}

static void store_close(fixture_t *f)
{
	grove_store_close(f->s);
	grove_test_storage_rmdir(f->dir);
}

typedef struct {
	char buf[2048];
	size_t len;
} got_t;

static int got_fn(void *ctx, const uint8_t *val, size_t vlen)
{
	got_t *g = ctx;
	assert_true(vlen < sizeof(g->buf));
	memcpy(g->buf, val, vlen);
	g->buf[vlen] = 0;
	g->len = vlen;
	return 0;
}

/* The cached read of key answers want (NULL: absent), as the backend. */
static void expect_latest(grove_store_t *s, const char *key, const char *want)
{
	got_t g;
	int rc = grove_store_read_latest(s, K(key), got_fn, &g);
	uint8_t *p = NULL;
	size_t len = 0;
	int brc = grove_store_get(s, NULL, K(key), &p, &len);
	if (!want) {
		assert_int_equal(rc, GROVE_ENOTFOUND);
		assert_int_equal(brc, GROVE_ENOTFOUND);
		return;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(brc, 0);
	assert_string_equal(g.buf, want);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(p, want, len);
	grove_free(p);
}

static void stats(grove_store_t *s, grove_store_cache_stats_t *st)
{
	grove_store_cache_stats(s, st);
}

/* ---- prefetch hints ---- */

/* A hint and its slot prefetch for one key, as read_head_latest takes them. */
static uint64_t prefetch_one(grove_store_t *s, const void *key, size_t klen)
{
	uint64_t h = grove_store_read_hint(s, key, klen);
	grove_store_read_prefetch_slots(s, &h, 1);
	return h;
}

static void prefetch_entry(grove_store_t *s, uint64_t h)
{
	(void)grove_store_read_prefetch_entries(s, &h, 1);
}

/* prefetch_one answers a hint for every key the cache may
 * hold (the same hint for the same key), 0 for keys it never holds and
 * for a store without a cache; the entry step of a hint, also of a key
 * deleted or never read since, changes no answer.  Enough entries for
 * the slot table's huge pages to be asked for (table_huge) on the way. */
static void test_prefetch(void **state)
{
	(void)state;
	fixture_t f;
	store_open(&f, false, 16 << 20);
	grove_store_t *s = f.s;
	char key[16], val[16];
	assert_int_equal(prefetch_one(s, K("x1")), 0); /* not a cached prefix */
	for (int i = 0; i < 6000; i++) {
		snprintf(key, sizeof(key), "e%05d", i);
		snprintf(val, sizeof(val), "v%d", i);
		assert_int_equal(grove_store_put(s, K(key), K(val), false), 0);
	}
	for (int i = 0; i < 6000; i++) {
		snprintf(key, sizeof(key), "e%05d", i);
		snprintf(val, sizeof(val), "v%d", i);
		uint64_t h = prefetch_one(s, K(key));
		assert_int_not_equal(h, 0);
		prefetch_entry(s, h); /* not cached yet */
		expect_latest(s, key, val);            /* fills it */
		assert_int_equal(prefetch_one(s, K(key)), h);
		if (i % 2)
			assert_int_equal(grove_store_delete(s, K(key), false), 0);
		prefetch_entry(s, h);
		expect_latest(s, key, i % 2 ? NULL : val);
	}
	grove_store_cache_stats_t st;
	stats(s, &st);
	assert_true(st.entries >= 3000 && st.bytes <= st.bytes_max);
	prefetch_entry(s, 0); /* no hint */
	store_close(&f);

	assert_int_equal(grove_store_open_memory(&s), 0); /* no cache */
	assert_int_equal(prefetch_one(s, K("e1")), 0);
	prefetch_entry(s, 12345);
	grove_store_close(s);
}

/* Hints of a group of reads (grove_store_read_prefetch_slots, _entries,
 * as a client's pipeline takes them): the entry step, which reads the
 * sets without the shards' locks, brings an entry for exactly the hints
 * whose keys the cache holds: not for keys never read (not cached), nor
 * for keys whose entries a delete dropped (unlinked before freed), nor
 * for the other keys of their sets (tags); the groups' answers stay
 * those of the backend. */
static void test_prefetch_group(void **state)
{
	(void)state;
	fixture_t f;
	store_open(&f, false, 16 << 20);
	grove_store_t *s = f.s;
	char key[16], val[16];
	enum { GROUPS = 200, N = GROVE_STORE_PREFETCH_MAX };
	for (int i = 0; i < GROUPS * N; i++) {
		snprintf(key, sizeof(key), "e%05d", i);
		snprintf(val, sizeof(val), "v%d", i);
		assert_int_equal(grove_store_put(s, K(key), K(val), false), 0);
	}
	uint64_t hints[N];
	for (int g = 0; g < GROUPS; g++) {
		/* in a group of N: half read (cached), a quarter of those deleted
		 * after their read, the rest never read */
		size_t held = 0;
		for (int j = 0; j < N; j++) {
			int i = g * N + j;
			snprintf(key, sizeof(key), "e%05d", i);
			snprintf(val, sizeof(val), "v%d", i);
			hints[j] = grove_store_read_hint(s, K(key));
			assert_int_not_equal(hints[j], 0);
			if (j % 2)
				continue;
			expect_latest(s, key, val); /* fills it */
			if (j % 8 == 0)
				assert_int_equal(grove_store_delete(s, K(key), false), 0);
			else
				held++;
		}
		grove_store_read_prefetch_slots(s, hints, N);
		assert_int_equal(grove_store_read_prefetch_entries(s, hints, N), held);
		for (int j = 0; j < N; j++) {
			int i = g * N + j;
			snprintf(key, sizeof(key), "e%05d", i);
			snprintf(val, sizeof(val), "v%d", i);
			expect_latest(s, key, j % 8 == 0 ? NULL : val);
		}
		/* every key now cached (the deleted ones as absent: negative
		 * entries, which are entries too) */
		assert_int_equal(grove_store_read_prefetch_entries(s, hints, N), N);
	}
	assert_int_equal(grove_store_read_hint(s, K("x1")), 0); /* not a cached prefix */
	memset(hints, 0, sizeof(hints));
	assert_int_equal(grove_store_read_prefetch_entries(s, hints, N), 0); /* no hints */
	store_close(&f);

	assert_int_equal(grove_store_open_memory(&s), 0); /* no cache */
	assert_int_equal(grove_store_read_hint(s, K("e1")), 0);
	hints[0] = 12345;
	grove_store_read_prefetch_slots(s, hints, 1);
	assert_int_equal(grove_store_read_prefetch_entries(s, hints, 1), 0);
	grove_store_close(s);
}

/* ---- the entries' arena ---- */

static void test_arena(void **state)
{
	(void)state;
	grove_store_arena_t a;
	grove_store_arena_list_t l1, l2;
	memset(&l1, 0, sizeof(l1));
	memset(&l2, 0, sizeof(l2));
	assert_int_equal(grove_store__arena_init(&a, (1 << 20) + 5), 0); /* under 2 MiB: none */
	assert_null(grove_store__arena_alloc(&a, &l1, 8));
	assert_false(grove_store__arena_holds(&a, &a));
	grove_store__arena_close(&a);

	assert_int_equal(grove_store__arena_init(&a, (5 << 20) + 1), 0); /* 4 MiB */
	assert_int_equal(a.size, 4 << 20);
	uint8_t *p1 = grove_store__arena_alloc(&a, &l1, 7);
	uint8_t *p2 = grove_store__arena_alloc(&a, &l1, 16);
	uint8_t *p3 = grove_store__arena_alloc(&a, &l2, 40);
	assert_non_null(p1);
	assert_true(((uintptr_t)p1 & (GROVE_STORE_ARENA_ALIGN - 1)) == 0);
	assert_ptr_equal(p2, p1 + 16); /* carved in order, in 16-byte steps */
	assert_ptr_equal(p3, p2 + 16);
	assert_int_equal(grove_store__arena_carved(&a), 16 + 16 + 48);
	memset(p1, 1, 7);
	memset(p3, 3, 40);
	assert_true(grove_store__arena_holds(&a, p3));
	assert_true(grove_store__arena_free(&a, &l1, p1, 7));
	assert_true(grove_store__arena_free(&a, &l2, p3, 40));
	/* another size, or another list: a new slot */
	uint8_t *p4 = grove_store__arena_alloc(&a, &l2, 20);
	assert_ptr_equal(p4, p3 + 48);
	uint8_t *p5 = grove_store__arena_alloc(&a, &l2, 9);
	assert_ptr_equal(p5, p4 + 32);
	/* the same size through the same list: the freed slot */
	assert_ptr_equal(grove_store__arena_alloc(&a, &l1, 12), p1);
	assert_ptr_equal(grove_store__arena_alloc(&a, &l2, 33), p3);
	assert_ptr_equal(grove_store__arena_alloc(&a, &l2, 33), p5 + 16);
	void *m = grove_malloc(16);
	assert_false(grove_store__arena_free(&a, &l1, m, 16)); /* not the arena's */
	grove_free(m);
	/* the region's end: every slot carved, then none; a freed one again */
	size_t c0 = grove_store__arena_carved(&a), n = 0;
	uint8_t *last = NULL;
	for (uint8_t *p; n <= a.size / GROVE_STORE_ARENA_SLOT_MAX &&
			 (p = grove_store__arena_alloc(&a, &l1, GROVE_STORE_ARENA_SLOT_MAX));
	     n++)
		last = p;
	assert_int_equal(n, (a.size - c0) / GROVE_STORE_ARENA_SLOT_MAX);
	assert_ptr_equal(last, a.base + c0 + (n - 1) * GROVE_STORE_ARENA_SLOT_MAX);
	assert_int_equal(grove_store__arena_carved(&a), a.size);
	assert_null(grove_store__arena_alloc(&a, &l1, 16));
	assert_true(grove_store__arena_free(&a, &l1, p2, 16));
	assert_ptr_equal(grove_store__arena_alloc(&a, &l1, 16), p2);
	assert_null(grove_store__arena_alloc(&a, &l1, 16));
	grove_store__arena_close(&a);
}

/* Sets of many ways: a cache whose slot table has twice the ways of the
 * keys read keeps nearly all of them (a 2 MiB budget: a 512 KiB table,
 * 32,768 ways; 16,384 keys read, each a miss that fills a negative
 * entry).  Keys pick sets at random, so some sets get more keys than
 * ways, and reading those again in order misses every one of them (LRU):
 * with 16 ways about 8 sets of 17 or more keys, 135 misses expected; with
 * 8 ways (the same table in twice the sets) 838.  At most 400 may miss. */
static void test_ways_hold(void **state)
{
	(void)state;
	fixture_t f;
	store_open(&f, false, 2u << 20);
	char key[16];
	for (int i = 0; i < 16384; i++) {
		snprintf(key, sizeof(key), "eW:%05d", i);
		expect_latest(f.s, key, NULL);
	}
	grove_store_cache_stats_t st;
	stats(f.s, &st);
	assert_int_equal(st.misses, 16384);
	assert_true(st.bytes < st.bytes_max); /* the budget had room for all */
	for (int i = 0; i < 16384; i++) {
		snprintf(key, sizeof(key), "eW:%05d", i);
		expect_latest(f.s, key, NULL);
	}
	stats(f.s, &st);
	assert_true(st.misses - 16384 <= 400);
	store_close(&f);
}

/* A cache's entries in its arena: they come from it, the slot of a
 * dropped entry serves a later one of its size, and when no slot fits
 * (values grown past the carved sizes) entries are malloc'd; reads answer
 * the backend's records and the bytes stay within the budget throughout. */
static void test_arena_entries(void **state)
{
	(void)state;
	fixture_t f;
	const size_t budget = 8 << 20; /* a 2 MiB table, a 6 MiB arena */
	store_open(&f, false, budget);
	grove_store_t *s = f.s;
	char key[16], val[300];
	grove_store_cache_stats_t st;
	const int keys = 10000;
	for (int i = 0; i < keys; i++) {
		snprintf(key, sizeof(key), "e%07d", i);
		snprintf(val, sizeof(val), "%-40d", i);
		assert_int_equal(grove_store_put(s, K(key), K(val), false), 0);
		expect_latest(s, key, val); /* fills it */
	}
	stats(s, &st);
	assert_int_equal(st.entries, keys);
	/* 6 header + 8 key + 40 value bytes: 64-byte slots, all in the arena */
	assert_int_equal(st.arena_bytes, (uint64_t)keys * 64);
	/* deletes free their slots, refills of the same size take them */
	for (int i = 0; i < keys; i += 2) {
		snprintf(key, sizeof(key), "e%07d", i);
		assert_int_equal(grove_store_delete(s, K(key), false), 0);
		snprintf(val, sizeof(val), "%-40d", -i);
		assert_int_equal(grove_store_put(s, K(key), K(val), false), 0);
		expect_latest(s, key, val);
	}
	stats(s, &st);
	assert_int_equal(st.entries, keys);
	assert_int_equal(st.arena_bytes, (uint64_t)keys * 64);
	/* values grown 5 times: the arena's free slots are of the wrong
	 * sizes, the region runs out, the rest is malloc'd */
	for (int round = 0; round < 5; round++)
		for (int i = 0; i < keys; i++) {
			snprintf(key, sizeof(key), "e%07d", i);
			snprintf(val, sizeof(val), "%-*d", 100 + round * 40, i);
			assert_int_equal(grove_store_put(s, K(key), K(val), false), 0);
			expect_latest(s, key, val);
			stats(s, &st);
			assert_true(st.bytes <= budget);
		}
	stats(s, &st);
	assert_int_equal(st.arena_bytes, 6 << 20);
	assert_int_equal(st.entries, keys);
	for (int i = 0; i < keys; i += 7) {
		snprintf(key, sizeof(key), "e%07d", i);
		snprintf(val, sizeof(val), "%-260d", i);
		expect_latest(s, key, val);
	}
	store_close(&f); /* arena and malloc'd entries freed: LeakSanitizer */
}

/* ---- every write path ---- */

static void write_paths(bool leveldb)
{
	fixture_t f;
	store_open(&f, leveldb, 1 << 20);
	grove_store_t *s = f.s;
	grove_store_cache_stats_t st;
	expect_latest(s, "ea", NULL); /* a negative entry */
	expect_latest(s, "ea", NULL);
	stats(s, &st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.misses, 1);
	assert_int_equal(grove_store_put(s, K("ea"), K("1"), false), 0);
	expect_latest(s, "ea", "1"); /* the put replaced the negative entry */
	assert_int_equal(grove_store_put(s, K("ea"), K("22"), false), 0);
	expect_latest(s, "ea", "22");
	assert_int_equal(grove_store_put(s, K("ea"), K("33"), false), 0); /* in place */
	expect_latest(s, "ea", "33");
	assert_int_equal(grove_store_delete(s, K("ea"), false), 0);
	expect_latest(s, "ea", NULL);
	/* a batch: put, delete, put of one key, another key beside */
	grove_batch_t b;
	grove_batch_init(&b);
	assert_int_equal(grove_batch_put(&b, K("eb"), K("x")), 0);
	assert_int_equal(grove_batch_delete(&b, K("eb")), 0);
	assert_int_equal(grove_batch_put(&b, K("eb"), K("y")), 0);
	assert_int_equal(grove_batch_put(&b, K("ec"), K("z")), 0);
	assert_int_equal(grove_store_write(s, &b, false), 0);
	expect_latest(s, "eb", "y");
	expect_latest(s, "ec", "z");
	/* a write list: the later batch wins */
	grove_batch_t b2;
	grove_batch_init(&b2);
	grove_batch_clear(&b);
	assert_int_equal(grove_batch_put(&b, K("eb"), K("first")), 0);
	assert_int_equal(grove_batch_delete(&b2, K("eb")), 0);
	assert_int_equal(grove_batch_put(&b2, K("ec"), K("second")), 0);
	const grove_batch_t *list[2] = { &b, &b2 };
	assert_int_equal(grove_store_write_list(s, list, 2, false), 0);
	expect_latest(s, "eb", NULL);
	expect_latest(s, "ec", "second");
	/* a failed write changes nothing, and the cache still agrees */
	grove_batch_clear(&b);
	assert_int_equal(grove_batch_put(&b, K("ec"), K("lost")), 0);
	grove_store_fail_write_after(1);
	assert_int_equal(grove_store_write(s, &b, false), GROVE_EIO);
	expect_latest(s, "ec", "second");
	/* a transaction: the owner reads its staged state, not the cache;
	 * the cache learns the batch when it is written */
	assert_int_equal(grove_store_txn_begin(s), 0);
	grove_batch_clear(&b);
	assert_int_equal(grove_batch_put(&b, K("ec"), K("staged")), 0);
	assert_int_equal(grove_batch_delete(&b, K("eb")), 0);
	assert_int_equal(grove_store_txn_stage(s, &b), 0);
	got_t g;
	assert_int_equal(grove_store_read_latest(s, K("ec"), got_fn, &g), 0);
	assert_string_equal(g.buf, "staged");
	grove_batch_t all;
	grove_store_txn_end(s, &all);
	expect_latest(s, "ec", "second"); /* not written yet */
	assert_int_equal(grove_store_write(s, &all, false), 0);
	grove_batch_close(&all);
	expect_latest(s, "ec", "staged");
	/* keys outside the prefix and records over the bound: not kept */
	assert_int_equal(grove_store_put(s, K("uk"), K("v"), false), 0);
	char big[GROVE_STORE_CACHE_REC_MAX + 1];
	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_int_equal(grove_store_put(s, K("ebig"), K(big), false), 0);
	stats(s, &st);
	uint64_t entries = st.entries;
	expect_latest(s, "uk", "v");
	expect_latest(s, "ebig", big);
	expect_latest(s, "ebig", big);
	stats(s, &st);
	assert_int_equal(st.entries, entries);
	/* a smaller record of that key is kept again, and replaced */
	assert_int_equal(grove_store_put(s, K("ebig"), K("small"), false), 0);
	expect_latest(s, "ebig", "small");
	assert_int_equal(grove_store_put(s, K("ebig"), K(big), false), 0);
	expect_latest(s, "ebig", big);
	grove_batch_close(&b);
	grove_batch_close(&b2);
	store_close(&f);
}

static void test_write_paths_memory(void **state)
{
	(void)state;
	write_paths(false);
}

static void test_write_paths_leveldb(void **state)
{
	(void)state;
	write_paths(true);
}

/* ---- the budget ---- */

static void test_budget(void **state)
{
	(void)state;
	fixture_t f;
	const size_t budget = 64 * 1024;
	store_open(&f, false, budget);
	char key[32], val[64];
	grove_store_cache_stats_t st;
	for (int i = 0; i < 20000; i++) {
		snprintf(key, sizeof(key), "e%08d", i);
		snprintf(val, sizeof(val), "value-%d-%040d", i, i);
		assert_int_equal(grove_store_put(f.s, K(key), K(val), false), 0);
		if (i % 3 == 0) {
			snprintf(key, sizeof(key), "e%08d", i / 2);
			got_t g;
			int rc = grove_store_read_latest(f.s, K(key), got_fn, &g);
			assert_int_equal(rc, 0);
		}
		stats(f.s, &st);
		assert_true(st.bytes <= budget);
	}
	assert_true(st.entries > 100);    /* it is used */
	assert_true(st.evictions > 1000); /* and bounded */
	for (int i = 0; i < 20000; i += 97) { /* evictions lost nothing */
		snprintf(key, sizeof(key), "e%08d", i);
		snprintf(val, sizeof(val), "value-%d-%040d", i, i);
		expect_latest(f.s, key, val);
	}
	store_close(&f);
}

/* ---- a writer racing readers ---- */

typedef struct race {
	grove_store_t *s;
	atomic_bool done;
	atomic_long stale;
} race_t;

static void *race_writer(void *arg)
{
	race_t *r = arg;
	char key[8], val[32];
	for (long i = 1; i <= RACE_WRITES; i++) {
		snprintf(key, sizeof(key), "e%ld", i % RACE_KEYS);
		snprintf(val, sizeof(val), "%ld", i);
		int rc = i % 3 != 1 ? grove_store_delete(r->s, K(key), false)
				    : grove_store_put(r->s, K(key), K(val), false);
		assert_int_equal(rc, 0);
	}
	atomic_store(&r->done, true);
	return NULL;
}

/* The value of one write after another of one key only grows (a delete
 * reads as 0 and comes between two puts that grow). */
static void *race_reader(void *arg)
{
	race_t *r = arg;
	long last[RACE_KEYS] = { 0 };
	char key[8];
	while (!atomic_load(&r->done)) {
		for (int k = 0; k < RACE_KEYS; k++) {
			snprintf(key, sizeof(key), "e%d", k);
			got_t g;
			int rc = grove_store_read_latest(r->s, K(key), got_fn, &g);
			assert_true(rc == 0 || rc == GROVE_ENOTFOUND);
			long v = rc == 0 ? atol(g.buf) : -1;
			if (v >= 0 && v < last[k])
				atomic_fetch_add(&r->stale, 1);
			if (v > last[k])
				last[k] = v;
		}
	}
	return NULL;
}

static void test_race(void **state)
{
	(void)state;
	fixture_t f;
	store_open(&f, true, 1 << 20);
	race_t r = { .s = f.s };
	atomic_init(&r.done, false);
	atomic_init(&r.stale, 0);
	pthread_t w, rd[RACE_READERS];
	for (int i = 0; i < RACE_READERS; i++)
		assert_int_equal(pthread_create(&rd[i], NULL, race_reader, &r), 0);
	assert_int_equal(pthread_create(&w, NULL, race_writer, &r), 0);
	pthread_join(w, NULL);
	for (int i = 0; i < RACE_READERS; i++)
		pthread_join(rd[i], NULL);
	assert_int_equal(atomic_load(&r.stale), 0);
	for (int k = 0; k < RACE_KEYS; k++) { /* the last write of each key */
		long last = RACE_WRITES - (RACE_WRITES - k) % RACE_KEYS;
		char key[8], val[32];
		snprintf(key, sizeof(key), "e%d", k);
		snprintf(val, sizeof(val), "%ld", last);
		expect_latest(f.s, key, last % 3 != 1 ? NULL : val);
	}
	grove_store_cache_stats_t st;
	stats(f.s, &st);
	printf("race: %llu hits, %llu misses\n", (unsigned long long)st.hits,
	       (unsigned long long)st.misses);
	assert_true(st.hits > 0);
	store_close(&f);
}

/* ---- a write between a miss's backend read and its fill ---- */

static const grove_store_ops_t *real_ops;
static grove_store_ops_t hook_ops;
static const char *hook_write; /* the value the racing write puts, once */

/* The backend's get, then (once) a write of the same key, as a writer
 * thread could make between the read and the fill. */
static int hook_get(grove_store_t *s, const grove_snapshot_t *snap, const void *key, size_t klen,
		    uint8_t **val, size_t *vlen)
{
	int rc = real_ops->get(s, snap, key, klen, val, vlen);
	const char *w = hook_write;
	hook_write = NULL;
	if (w)
		assert_int_equal(grove_store_put(s, key, klen, w, strlen(w), false), 0);
	return rc;
}

static void test_fill_after_write(void **state)
{
	(void)state;
	fixture_t f;
	store_open(&f, false, 1 << 20);
	real_ops = f.s->ops;
	hook_ops = *real_ops;
	hook_ops.get = hook_get;
	f.s->ops = &hook_ops;
	/* an absent key read, then written: the negative fill is refused */
	hook_write = "new";
	got_t g;
	assert_int_equal(grove_store_read_latest(f.s, K("ek"), got_fn, &g), GROVE_ENOTFOUND);
	expect_latest(f.s, "ek", "new");
	/* a record read, then replaced: its fill is refused */
	assert_int_equal(grove_store_put(f.s, K("em"), K("v1"), false), 0);
	f.s->ops = real_ops;
	grove_store__cache_free(f.s); /* an empty cache over the same records */
	assert_int_equal(grove_store_cache_enable(f.s, PFX, 1 << 20), 0);
	f.s->ops = &hook_ops;
	hook_write = "v2";
	assert_int_equal(grove_store_read_latest(f.s, K("em"), got_fn, &g), 0);
	assert_string_equal(g.buf, "v1");
	expect_latest(f.s, "em", "v2");
	f.s->ops = real_ops;
	store_close(&f);
}

/* ---- reads of several records as one state ---- */

static void test_read_seq(void **state)
{
	(void)state;
	fixture_t f;
	store_open(&f, false, 1 << 20);
	uint64_t seq = grove_store_read_begin(f.s);
	assert_int_equal(seq & 1, 0);
	assert_true(grove_store_read_end(f.s, seq));
	/* a write of a key outside the prefixes leaves it */
	assert_int_equal(grove_store_put(f.s, K("ux"), K("1"), false), 0);
	assert_true(grove_store_read_end(f.s, seq));
	/* a cached key's write ran: read again */
	assert_int_equal(grove_store_put(f.s, K("ex"), K("1"), false), 0);
	assert_false(grove_store_read_end(f.s, seq));
	seq = grove_store_read_begin(f.s);
	assert_true(grove_store_read_end(f.s, seq));
	/* a write the seam fails writes nothing: the state stands */
	grove_batch_t b;
	grove_batch_init(&b);
	assert_int_equal(grove_batch_put(&b, K("ex"), K("2")), 0);
	grove_store_fail_write_after(1);
	assert_int_equal(grove_store_write(f.s, &b, false), GROVE_EIO);
	grove_batch_close(&b);
	assert_true(grove_store_read_end(f.s, seq));
	expect_latest(f.s, "ex", "1");
	/* the transaction's owner reads its staged state: never "one state" */
	assert_int_equal(grove_store_txn_begin(f.s), 0);
	seq = grove_store_read_begin(f.s);
	assert_false(grove_store_read_end(f.s, seq));
	grove_batch_t all;
	grove_store_txn_end(f.s, &all);
	grove_batch_close(&all);
	store_close(&f);
}

/* ---- a miss that fills its neighbours ---- */

/* n records "eK:000".. (values "v000"..), "eJ:999" before them and
 * "eL:000" after them. */
static void near_put(grove_store_t *s, int n)
{
	char key[16], val[16];
	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "eK:%03d", i);
		snprintf(val, sizeof(val), "v%03d", i);
		assert_int_equal(grove_store_put(s, K(key), K(val), false), 0);
	}
	assert_int_equal(grove_store_put(s, K("eJ:999"), K("other"), false), 0);
	assert_int_equal(grove_store_put(s, K("eL:000"), K("other"), false), 0);
}

static int near_read(grove_store_t *s, const char *key, got_t *g)
{
	return grove_store_read_latest_near(s, K(key), 3, got_fn, g);
}

static void near_fills(bool leveldb)
{
	fixture_t f;
	store_open(&f, leveldb, 1 << 20);
	near_put(f.s, 300);
	grove_store_cache_stats_t st;
	got_t g;
	assert_int_equal(near_read(f.s, "eK:010", &g), 0);
	assert_string_equal(g.buf, "v010");
	stats(f.s, &st);
	assert_int_equal(st.misses, 1);
	/* 010, the next 256, and the 10 before it (the walk back), not eJ:999 */
	assert_int_equal(st.entries, 1 + GROVE_STORE_CACHE_NEAR + 10);
	for (int i = 0; i <= 10 + GROVE_STORE_CACHE_NEAR; i++) { /* hits, and right */
		char key[16], val[16];
		snprintf(key, sizeof(key), "eK:%03d", i);
		snprintf(val, sizeof(val), "v%03d", i);
		assert_int_equal(near_read(f.s, key, &g), 0);
		assert_string_equal(g.buf, val);
	}
	stats(f.s, &st);
	assert_int_equal(st.misses, 1);
	/* writes after the fill: the entries follow */
	assert_int_equal(grove_store_put(f.s, K("eK:020"), K("new"), false), 0);
	assert_int_equal(grove_store_delete(f.s, K("eK:030"), false), 0);
	expect_latest(f.s, "eK:020", "new");
	expect_latest(f.s, "eK:030", NULL);
	/* an absent key fills its negative entry and what follows, up to
	 * the end of the prefix (eK:290..299, not eL:000), then back to the
	 * held ones: 289..267 */
	stats(f.s, &st);
	uint64_t entries = st.entries;
	assert_int_equal(near_read(f.s, "eK:289x", &g), GROVE_ENOTFOUND);
	stats(f.s, &st);
	assert_int_equal(st.entries, entries + 1 + 10 + 23);
	uint64_t misses = st.misses;
	expect_latest(f.s, "eK:289x", NULL);
	expect_latest(f.s, "eK:299", "v299");
	expect_latest(f.s, "eK:267", "v267");
	stats(f.s, &st);
	assert_int_equal(st.misses, misses);
	store_close(&f);
}

static void test_near_memory(void **state)
{
	(void)state;
	near_fills(false);
}

static void test_near_leveldb(void **state)
{
	(void)state;
	near_fills(true);
}

/* The iterator (its snapshot), then (once) a write of a key, as a writer
 * thread could make between the walk's snapshot and its fills. */
static const char *hook_near_key;
static int hook_iter_create(grove_store_t *s, const grove_snapshot_t *snap, grove_iter_t **out)
{
	int rc = real_ops->iter_create(s, snap, out);
	const char *k = hook_near_key;
	hook_near_key = NULL;
	if (k)
		assert_int_equal(grove_store_put(s, K(k), K("racer"), false), 0);
	return rc;
}

static void test_near_after_write(void **state)
{
	(void)state;
	fixture_t f;
	store_open(&f, false, 1 << 20);
	near_put(f.s, 20);
	real_ops = f.s->ops;
	hook_ops = *real_ops;
	hook_ops.iter_create = hook_iter_create;
	f.s->ops = &hook_ops;
	/* the walk's snapshot holds eK:005 = v005; the racing write's value
	 * must be what reads answer, and no fill after it is made */
	hook_near_key = "eK:005";
	got_t g;
	assert_int_equal(near_read(f.s, "eK:002", &g), 0);
	assert_string_equal(g.buf, "v002");
	f.s->ops = real_ops;
	grove_store_cache_stats_t st;
	stats(f.s, &st);
	assert_int_equal(st.entries, 0);
	expect_latest(f.s, "eK:005", "racer");
	expect_latest(f.s, "eK:002", "v002");
	/* the missed key itself written in the race: not filled stale */
	f.s->ops = &hook_ops;
	hook_near_key = "eK:010";
	assert_int_equal(near_read(f.s, "eK:010", &g), 0);
	assert_string_equal(g.buf, "v010"); /* the read began before the write */
	f.s->ops = real_ops;
	expect_latest(f.s, "eK:010", "racer");
	store_close(&f);
}

/* ---- heads and metadata: a key deleted while its purge is pending ---- */

static void test_db_pending_delete(void **state)
{
	(void)state;
	uint64_t clk = GROVE_TEST_T0_MS;
	grove_db_t *db;
	assert_int_equal(grove_test_storage_db_open(NULL, "a", &clk, GROVE_DURABILITY_NONE, &db), 0);
	bool in;
	assert_int_equal(grove_db_set_add(db, K("k"), K("m1"), NULL), 0);
	assert_int_equal(grove_db_set_add(db, K("k"), K("m2"), NULL), 0);
	assert_int_equal(grove_db_set_contains(db, K("k"), K("m1"), &in), 0);
	assert_true(in); /* the head, metadata and m1 now cached */
	/* the delete is written, its purge's first batch fails: m1's record
	 * stays, covered by the pending delete of the metadata */
	grove_store_fail_write_after(2);
	assert_int_equal(grove_db_delete(db, K("k"), NULL), GROVE_EIO);
	grove_store_fail_write_after(0);
	static const uint8_t m1rec[] = { 'e', 0, 1, 'k', GROVE_ELEM_MEMBER, 'm', '1' };
	uint8_t *p = NULL;
	size_t len = 0;
	assert_int_equal(grove_store_get(db->store, NULL, m1rec, sizeof(m1rec), &p, &len), 0);
	grove_free(p);
	assert_int_equal(grove_db_set_contains(db, K("k"), K("m1"), &in), 0);
	assert_false(in);
	clk++;
	assert_int_equal(grove_db_set_add(db, K("k"), K("m3"), NULL), 0);
	assert_int_equal(grove_db_set_contains(db, K("k"), K("m1"), &in), 0);
	assert_false(in); /* a stale metadata entry (no pending delete) says true */
	assert_int_equal(grove_db_set_contains(db, K("k"), K("m3"), &in), 0);
	assert_true(in);
	clk++; /* a type change: the head's entry follows */
	assert_int_equal(grove_db_delete(db, K("k"), NULL), 0);
	assert_int_equal(grove_db_string_set(db, K("k"), K("str")), 0);
	assert_int_equal(grove_db_set_contains(db, K("k"), K("m3"), &in), GROVE_EWRONGTYPE);
	grove_db_close(db);
}

/* ---- a db twin: cache on and off ---- */

typedef struct twin {
	uint64_t clk;
	grove_db_t *db[2]; /* 0: cache on, 1: off */
} twin_t;

static void twin_read_all(twin_t *t, uint64_t seed, int step)
{
	char key[8], el[8];
	for (int k = 0; k < 3; k++) {
		for (int e = 0; e < 12; e++) {
			snprintf(el, sizeof(el), "m%d", e);
			bool in[2];
			uint8_t *v[2] = { 0 };
			size_t vl[2] = { 0 };
			int rc[2];
			double sc[2] = { 0 };
			snprintf(key, sizeof(key), "s%d", k);
			for (int i = 0; i < 2; i++)
				rc[i] = grove_db_set_contains(t->db[i], K(key), K(el), &in[i]);
			assert_int_equal(rc[0], rc[1]);
			if (rc[0] == 0 && in[0] != in[1])
				fail_msg("seed %llu step %d: SISMEMBER %s %s: %d/%d",
					 (unsigned long long)seed, step, key, el, in[0], in[1]);
			snprintf(key, sizeof(key), "h%d", k);
			for (int i = 0; i < 2; i++)
				rc[i] = grove_db_map_get(t->db[i], K(key), K(el), &v[i], &vl[i]);
			assert_int_equal(rc[0], rc[1]);
			if (rc[0] == 0 && (vl[0] != vl[1] || memcmp(v[0], v[1], vl[0]) != 0))
				fail_msg("seed %llu step %d: HGET %s %s differs",
					 (unsigned long long)seed, step, key, el);
			grove_free(v[0]);
			grove_free(v[1]);
			snprintf(key, sizeof(key), "z%d", k);
			for (int i = 0; i < 2; i++)
				rc[i] = grove_db_zset_score(t->db[i], K(key), K(el), &sc[i]);
			assert_int_equal(rc[0], rc[1]);
			if (rc[0] == 0 && sc[0] != sc[1])
				fail_msg("seed %llu step %d: ZSCORE %s %s differs",
					 (unsigned long long)seed, step, key, el);
		}
	}
}

static void twin_ship(grove_db_t *p, twin_t *t, const char *key)
{
	uint8_t name[64];
	for (int kind = 0; kind < 3; kind++)
		for (int e = 0; e < 12; e++) {
			char el[8];
			snprintf(el, sizeof(el), "m%d", e);
			int ik = kind == 0 ? GROVE_ITEM_MEMBER : kind == 1 ? GROVE_ITEM_FIELD
									  : GROVE_ITEM_ZMEMBER;
			size_t nl = grove_test_elem_name(name, ik, key, el);
			uint8_t *st;
			size_t sl;
			if (grove_db_item_state(p, name, nl, &st, &sl) != 0)
				continue;
			int rc[2];
			for (int i = 0; i < 2; i++)
				rc[i] = grove_db_item_merge(t->db[i], name, nl, st, sl, NULL, NULL);
			assert_int_equal(rc[0], rc[1]);
			grove_free(st);
		}
}

static void twin_step(grove_rng_t *r, twin_t *t, grove_db_t *p, bool *in_txn)
{
	char key[8], el[8], val[16];
	int op = (int)grove_rng_below(r, 100);
	char fam = "shz"[grove_rng_below(r, 3)];
	snprintf(key, sizeof(key), "%c%u", fam, (unsigned)grove_rng_below(r, 3));
	snprintf(el, sizeof(el), "m%u", (unsigned)grove_rng_below(r, 12));
	snprintf(val, sizeof(val), "v%u", (unsigned)grove_rng_below(r, 1000));
	if (op < 60) {
		bool rem = op < 20;
		int rcs[2];
		for (int i = 0; i < 2; i++) {
			grove_db_t *db = t->db[i];
			int rc = rcs[i] = fam == 's' ? (rem ? grove_db_set_remove(db, K(key), K(el), NULL)
						   : grove_db_set_add(db, K(key), K(el), NULL))
				 : fam == 'h' ? (rem ? grove_db_map_delete(db, K(key), K(el), NULL)
						     : grove_db_map_set(db, K(key), K(el), K(val), NULL))
					      : (rem ? grove_db_zset_remove(db, K(key), K(el), NULL)
						     : grove_db_zset_add(db, K(key), K(el), op, 0, NULL, NULL));
			assert_true(rc == 0 || rc == GROVE_EWRONGTYPE);
		}
		assert_int_equal(rcs[0], rcs[1]);
	} else if (op < 68) { /* a key delete (and its purge) */
		int rc[2];
		for (int i = 0; i < 2; i++)
			rc[i] = grove_db_delete(t->db[i], K(key), NULL);
		assert_int_equal(rc[0], rc[1]);
	} else if (op < 72) { /* a TTL that passes */
		int rc[2];
		for (int i = 0; i < 2; i++)
			rc[i] = grove_db_expire(t->db[i], K(key), t->clk + 2, 0, NULL);
		assert_int_equal(rc[0], rc[1]);
	} else if (op < 74 && !*in_txn) { /* active expiry */
		int rc[2];
		for (int i = 0; i < 2; i++)
			rc[i] = grove_db_expire_cycle(t->db[i], 16, NULL);
		assert_int_equal(rc[0], rc[1]);
	} else if (op < 86) { /* the peer writes, then ships the key */
		int rc = fam == 's' ? grove_db_set_add(p, K(key), K(el), NULL)
			 : fam == 'h' ? grove_db_map_set(p, K(key), K(el), K("pv"), NULL)
				      : grove_db_zset_add(p, K(key), K(el), 3, 0, NULL, NULL);
		assert_true(rc == 0 || rc == GROVE_EWRONGTYPE);
		if (grove_rng_below(r, 4) == 0)
			assert_int_equal(grove_db_delete(p, K(key), NULL), 0);
		twin_ship(p, t, key);
	} else if (op < 92) { /* a transaction begins or ends */
		for (int i = 0; i < 2; i++)
			assert_int_equal(*in_txn ? grove_db_txn_commit(t->db[i])
						 : grove_db_txn_begin(t->db[i]),
					 0);
		*in_txn = !*in_txn;
	} else { /* time passes */
		t->clk += grove_rng_below(r, 4);
	}
}

static void test_db_twin(void **state)
{
	(void)state;
	uint64_t seed = grove_test_storage_seed("test_store_cache twin");
	grove_rng_t r;
	grove_rng_seed(&r, seed);
	twin_t t = { .clk = GROVE_TEST_T0_MS };
	for (int i = 0; i < 2; i++)
		assert_int_equal(grove_test_storage_db_open(NULL, "a", &t.clk, GROVE_DURABILITY_NONE,
							    &t.db[i]),
				 0);
	grove_store__cache_free(t.db[1]->store); /* no cache */
	uint64_t cp = GROVE_TEST_T0_MS + 1;
	grove_db_t *p;
	assert_int_equal(grove_test_storage_db_open(NULL, "p", &cp, GROVE_DURABILITY_NONE, &p), 0);
	bool in_txn = false;
	for (int step = 0; step < TWIN_STEPS; step++) {
		twin_step(&r, &t, p, &in_txn);
		cp = t.clk + 1;
		twin_read_all(&t, seed, step);
	}
	if (in_txn)
		for (int i = 0; i < 2; i++)
			assert_int_equal(grove_db_txn_commit(t.db[i]), 0);
	twin_read_all(&t, seed, TWIN_STEPS);
	grove_db_stats_t st;
	grove_db_stats(t.db[0], &st);
	printf("seed %llu: %llu hits, %llu misses, %llu entries\n", (unsigned long long)seed,
	       (unsigned long long)st.elem_cache_hits, (unsigned long long)st.elem_cache_misses,
	       (unsigned long long)st.elem_cache_entries);
	assert_true(st.elem_cache_hits > 1000);
	grove_db_stats(t.db[1], &st);
	assert_int_equal(st.elem_cache_hits + st.elem_cache_misses, 0);
	grove_db_close(p);
	for (int i = 0; i < 2; i++)
		grove_db_close(t.db[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_paths_memory),
		cmocka_unit_test(test_write_paths_leveldb),
		cmocka_unit_test(test_budget),
		cmocka_unit_test(test_race),
		cmocka_unit_test(test_fill_after_write),
		cmocka_unit_test(test_read_seq),
		cmocka_unit_test(test_near_memory),
		cmocka_unit_test(test_near_leveldb),
		cmocka_unit_test(test_near_after_write),
		cmocka_unit_test(test_db_pending_delete),
		cmocka_unit_test(test_db_twin),
		cmocka_unit_test(test_prefetch),
		cmocka_unit_test(test_prefetch_group),
		cmocka_unit_test(test_arena),
		cmocka_unit_test(test_arena_entries),
		cmocka_unit_test(test_ways_hold),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
