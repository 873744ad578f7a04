/*
 * test_db_cache.c - the record cache of storage/db_cache.c stays coherent
 * with the store: every key's state read back from the store, and the
 * digest tree, equal what an independent oracle computes from the stored
 * encodings, after writes served from cached decoded values (and their
 * memory budget accounted), merges into cached keys, LRU eviction within one cache set,
 * records too big to cache, failed writes, and a restart.  Both backends.
 */
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
#include "storage/db_int.h"
#include "storage/le.h"
#include "storage/tree.h"
#include "tests/util_storage.h"

#define T0_MS GROVE_TEST_T0_MS
#define KEYS_MAX 64
#define SAME_SET_KEYS (2 * GROVE_DB_CACHE_WAYS + 1) /* more keys than one set holds */
#define KEY_SEARCH_MAX 10000000                      /* candidates tried to fill a set */

typedef struct fixture {
	grove_test_db_t t;
	char keys[KEYS_MAX][32]; /* every key written, for the oracle */
	size_t nkeys;
} fixture_t;

static int setup_backend(void **state, bool leveldb)
{
	fixture_t *f = calloc(1, sizeof(*f));
	*state = f;
	assert_int_equal(grove_test_db_open(&f->t, "dbcache", leveldb), 0);
	return 0;
}

static int setup_memory(void **state) { return setup_backend(state, false); }
static int setup_leveldb(void **state) { return setup_backend(state, true); }

static int teardown(void **state)
{
	fixture_t *f = *state;
	grove_test_db_close(&f->t);
	free(f);
	return 0;
}

static const char *remember(fixture_t *f, const char *key)
{
	for (size_t i = 0; i < f->nkeys; i++)
		if (strcmp(f->keys[i], key) == 0)
			return f->keys[i];
	assert_true(f->nkeys < KEYS_MAX);
	snprintf(f->keys[f->nkeys], sizeof(f->keys[0]), "%s", key);
	return f->keys[f->nkeys++];
}

typedef struct oracle {
	grove_db_t *db;
	grove_tree_t *t;
} oracle_t;

/* Adds one item of a key, read from its record in the store (not the
 * cache): a head ('u' key: encoding and type byte) or an element ('e'). */
static int oracle_item(void *ctx, const uint8_t *name, size_t nlen)
{
	oracle_t *o = ctx;
	uint8_t rk[1 + GROVE_ITEM_NAME_MAX], *rec, item[GROVE_DIGEST_BYTES];
	size_t rlen, len;
	if (name[0] == GROVE_ITEM_HEAD) {
		rk[0] = 'u';
		memcpy(rk + 1, name + 1, nlen - 1);
		rlen = nlen;
	} else {
		size_t kl = (size_t)name[1] << 8 | name[2];
		rk[0] = 'e';
		memcpy(rk + 1, name + 1, 2 + kl);
		rk[3 + kl] = name[0];
		memcpy(rk + 4 + kl, name + 3 + kl, nlen - 3 - kl);
		rlen = nlen + 1;
	}
	assert_int_equal(grove_store_get(o->db->store, NULL, rk, rlen, &rec, &len), 0);
	if (name[0] == GROVE_ITEM_HEAD)
		grove_tree_item(name + 1, nlen - 1, rec, len, item);
	else
		grove_tree_item(name, nlen, rec, len, item);
	grove_tree_update(o->t, grove_db_item_segment(name, nlen), NULL, item);
	grove_free(rec);
	return 0;
}

/* The oracle: the root digest of a fresh tree holding the items of every
 * remembered key's stored records must equal the db's root. */
static void check_tree(fixture_t *f)
{
	grove_tree_t t;
	assert_int_equal(grove_tree_init(&t), 0);
	oracle_t o = { f->t.db, &t };
	for (size_t i = 0; i < f->nkeys; i++) {
		const char *k = f->keys[i];
		assert_int_equal(grove_db_key_items(f->t.db, k, strlen(k), oracle_item, &o), 0);
	}
	uint8_t want[GROVE_DIGEST_BYTES], got[GROVE_DIGEST_BYTES];
	assert_int_equal(grove_tree_node(&t, 0, 0, want, NULL), 0);
	grove_db_root_digest(f->t.db, got);
	assert_memory_equal(want, got, GROVE_DIGEST_BYTES);
	grove_tree_close(&t);
}

static int64_t counter_add(fixture_t *f, const char *key, int64_t delta)
{
	int64_t v = 0;
	key = remember(f, key);
	assert_int_equal(grove_db_counter_add(f->t.db, key, strlen(key), delta, &v), 0);
	return v;
}

/* The value read back from the store (not the cache). */
static int64_t stored_counter(fixture_t *f, const char *key)
{
	grove_value_t *v;
	int64_t n;
	assert_int_equal(grove_db_get(f->t.db, key, strlen(key), &v), 0);
	assert_int_equal(grove_pncounter_get(v, &n), 0);
	grove_value_destroy(v);
	return n;
}

/* Repeated writes to one key are served from its cached decoded value. */
static void test_cached_writes_match_store(void **state)
{
	fixture_t *f = *state;
	for (int i = 1; i <= 100; i++)
		assert_int_equal(counter_add(f, "c", 1), i);
	assert_int_equal(stored_counter(f, "c"), 100);
	remember(f, "r");
	for (int i = 0; i < 20; i++) {
		f->t.clock_ms++;
		char val[16];
		int n = snprintf(val, sizeof(val), "v%d", i);
		assert_int_equal(grove_db_register_set(f->t.db, "r", 1, val, (size_t)n), 0);
	}
	grove_value_t *v;
	const void *p;
	size_t len;
	assert_int_equal(grove_db_get(f->t.db, "r", 1, &v), 0);
	assert_int_equal(grove_lwwreg_get(v, &p, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(p, "v19", 3);
	grove_value_destroy(v);
	/* a wrong-type op on a cached value changes nothing */
	assert_int_equal(grove_db_counter_add(f->t.db, "r", 1, 1, NULL), GROVE_EWRONGTYPE);
	bool existed;
	assert_int_equal(grove_db_delete(f->t.db, "c", 1, &existed), 0);
	assert_true(existed);
	assert_int_equal(counter_add(f, "c", 2), 2); /* re-created after the delete */
	check_tree(f);
}

/* Decoded values are kept and charged to the value budget; a set's head
 * stays small (its members are records of their own), so it stays cached
 * whatever the set's size. */
static void test_value_budget_accounting(void **state)
{
	fixture_t *f = *state;
	const char *k = remember(f, "grow");
	assert_int_equal(atomic_load(&f->t.db->value_bytes), 0);
	assert_int_equal(grove_db_set_add(f->t.db, k, 4, "a", 1, NULL), 0);
	assert_int_equal(grove_db_set_add(f->t.db, k, 4, "b", 1, NULL), 0);
	assert_true(atomic_load(&f->t.db->value_bytes) > 0);
	char elem[64];
	for (int n = 0; n < 64; n++) {
		int elen = snprintf(elem, sizeof(elem), "element-%04d-padding-padding", n);
		assert_int_equal(grove_db_set_add(f->t.db, k, 4, elem, (size_t)elen, NULL), 0);
	}
	uint8_t *enc;
	size_t len;
	assert_int_equal(grove_db_get_encoded(f->t.db, k, 4, &enc, &len), 0);
	grove_free(enc);
	assert_true(len > GROVE_DB_CACHE_REC_MAX); /* the set as a whole */
	uint8_t name[5] = { GROVE_ITEM_HEAD, 'g', 'r', 'o', 'w' };
	assert_int_equal(grove_db_item_state(f->t.db, name, 5, &enc, &len), 0);
	grove_free(enc);
	assert_true(len < 128); /* its head */
	assert_true(atomic_load(&f->t.db->value_bytes) > 0);
	check_tree(f);
}

/* A merge into a cached key is seen by the next local write, and the
 * cached value never goes stale. */
static void test_merge_into_cached_key(void **state)
{
	fixture_t *f = *state;
	uint64_t clk_b = T0_MS;
	grove_db_t *b;
	assert_int_equal(grove_test_storage_db_open(NULL, "node-b", &clk_b, GROVE_DURABILITY_NONE, &b),
			 0);
	for (int round = 1; round <= 5; round++) {
		assert_int_equal(counter_add(f, "m", 10), 10 * round + 3 * (round - 1));
		assert_int_equal(grove_db_counter_add(b, "m", 1, 3, NULL), 0);
		uint8_t *enc;
		size_t len;
		bool changed;
		assert_int_equal(grove_db_get_encoded(b, "m", 1, &enc, &len), 0);
		assert_int_equal(grove_db_merge(f->t.db, "m", 1, enc, len, &changed), 0);
		assert_true(changed);
		grove_free(enc);
		assert_int_equal(stored_counter(f, "m"), 13 * round);
	}
	assert_int_equal(counter_add(f, "m", 0), 65);
	check_tree(f);
	grove_db_close(b);
}

/* Keys that share one cache set (same stripe and set index), found by
 * search: more of them than the set has ways. */
static size_t same_set_keys(char keys[][32], size_t want)
{
	uint32_t h0 = grove_tree_key_hash("set-0", 5);
	uint32_t stripe = ((h0 >> 16) % GROVE_TREE_SEGMENTS) % GROVE_DB_STRIPES;
	uint32_t set = h0 % GROVE_DB_CACHE_SETS;
	size_t n = 0;
	for (long i = 0; i < KEY_SEARCH_MAX && n < want; i++) {
		char k[32];
		int len = snprintf(k, sizeof(k), "set-%ld", i);
		uint32_t h = grove_tree_key_hash(k, (size_t)len);
		if (((h >> 16) % GROVE_TREE_SEGMENTS) % GROVE_DB_STRIPES == stripe &&
		    h % GROVE_DB_CACHE_SETS == set)
			memcpy(keys[n++], k, (size_t)len + 1);
	}
	return n;
}

/* Round-robin writes over more keys than a set holds evict entries on
 * every write; each eviction must keep values and the tree right. */
static void test_eviction_within_a_set(void **state)
{
	fixture_t *f = *state;
	char keys[SAME_SET_KEYS][32];
	assert_int_equal(same_set_keys(keys, SAME_SET_KEYS), SAME_SET_KEYS);
	for (int round = 1; round <= 4; round++)
		for (size_t i = 0; i < SAME_SET_KEYS; i++)
			assert_int_equal(counter_add(f, keys[i], (int64_t)i + 1),
					 round * ((int64_t)i + 1));
	for (size_t i = 0; i < SAME_SET_KEYS; i++)
		assert_int_equal(stored_counter(f, keys[i]), 4 * ((int64_t)i + 1));
	check_tree(f);
}

/* A set grown past GROVE_DB_CACHE_REC_MAX is not cached; writes keep
 * working from the store, and shrinking it back caches it again. */
static void test_records_too_big_to_cache(void **state)
{
	fixture_t *f = *state;
	const char *k = remember(f, "big");
	char elem[64];
	int n = 0;
	uint8_t *enc;
	size_t len = 0;
	for (; len <= GROVE_DB_CACHE_REC_MAX + 64; n++) {
		int elen = snprintf(elem, sizeof(elem), "element-%04d-padding-padding", n);
		assert_int_equal(grove_db_set_add(f->t.db, k, 3, elem, (size_t)elen, NULL), 0);
		assert_int_equal(grove_db_get_encoded(f->t.db, k, 3, &enc, &len), 0);
		grove_free(enc);
	}
	check_tree(f);
	for (int i = 0; i < n; i++) {
		bool removed;
		int elen = snprintf(elem, sizeof(elem), "element-%04d-padding-padding", i);
		assert_int_equal(grove_db_set_remove(f->t.db, k, 3, elem, (size_t)elen, &removed), 0);
		assert_true(removed);
	}
	assert_int_equal(grove_db_set_add(f->t.db, k, 3, "x", 1, NULL), 0);
	grove_value_t *v;
	assert_int_equal(grove_db_get(f->t.db, k, 3, &v), 0);
	assert_int_equal(grove_orset_count(v), 1);
	grove_value_destroy(v);
	check_tree(f);
}

/* A write that fails after its operation changed the cached value in
 * memory (allocation failures in encode or store write) must not leave
 * that change behind: the next successful write starts from the store. */
static void test_failed_writes_leave_no_trace(void **state)
{
	fixture_t *f = *state;
	assert_int_equal(counter_add(f, "f", 2), 2);
	assert_int_equal(counter_add(f, "f", 3), 5); /* its decoded value is cached */
	int failures = 0;
	for (long n = 1; n < 200; n++) {
		grove_alloc_fail_after(n);
		int rc = grove_db_counter_add(f->t.db, "f", 1, 1, NULL);
		grove_alloc_fail_reset();
		if (rc == 0)
			break;
		assert_int_equal(rc, GROVE_ENOMEM);
		failures++;
		assert_int_equal(stored_counter(f, "f"), 5);
		assert_int_equal(counter_add(f, "f", 0), 5); /* no phantom increment */
	}
	printf("failed writes: %d before the first success\n", failures);
	assert_int_equal(stored_counter(f, "f"), 6);
	assert_int_equal(counter_add(f, "f", 1), 7);
	check_tree(f);
}

/* State, digests and the cache survive a restart (LevelDB). */
static void test_restart_after_cached_writes(void **state)
{
	fixture_t *f = *state;
	for (int i = 0; i < 50; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%d", i % 10);
		counter_add(f, k, i);
	}
	uint8_t before[GROVE_DIGEST_BYTES], after[GROVE_DIGEST_BYTES];
	grove_db_root_digest(f->t.db, before);
	grove_db_close(f->t.db);
	assert_int_equal(grove_test_storage_db_open(f->t.dir, "node-a", &f->t.clock_ms,
						    GROVE_DURABILITY_NONE, &f->t.db),
			 0);
	grove_db_root_digest(f->t.db, after);
	assert_memory_equal(before, after, GROVE_DIGEST_BYTES);
	grove_db_stats_t st;
	grove_db_stats(f->t.db, &st);
	assert_int_equal(st.index_rebuilds, 0); /* the clean record was used */
	for (int i = 0; i < 10; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%d", i);
		int64_t sum = 0;
		for (int j = i; j < 50; j += 10)
			sum += j;
		assert_int_equal(counter_add(f, k, 1), sum + 1); /* first write: store read */
	}
	check_tree(f);
}

/* Whether the key's entry keeps its metadata (meta_kept); when it does,
 * the store's 'k' record (or a pending one) must be exactly the kept
 * one: absent when all is zero, else the fixed fields of one element
 * kind's count and the accumulator, nothing after them. */
static void check_meta_memo(fixture_t *f, const char *key, bool want_kept)
{
	grove_db_t *db = f->t.db;
	grove_db_key_t k;
	assert_int_equal(grove_db__key_prepare(&k, key, strlen(key)), 0);
	pthread_mutex_lock(&db->stripes[k.stripe].mu);
	grove_db_cached_t *e = grove_db__cache_find(db, &k);
	bool kept = e && e->meta_kept;
	grove_db_cached_t copy = kept ? *e : (grove_db_cached_t){ 0 };
	pthread_mutex_unlock(&db->stripes[k.stripe].mu);
	uint8_t mk[1 + GROVE_KEY_MAX], *p = NULL;
	size_t len = 0;
	mk[0] = GROVE_DB_PFX_KMETA;
	memcpy(mk + 1, key, strlen(key));
	int rc = grove_store_get(db->store, NULL, mk, 1 + strlen(key), &p, &len);
	assert_int_equal(kept, want_kept);
	if (kept && !copy.meta_count && !copy.meta_acc[0] && !copy.meta_acc[1]) {
		assert_int_equal(rc, GROVE_ENOTFOUND);
	} else if (kept) { /* the fixed fields of doc/storage_format.md's table */
		assert_int_equal(rc, 0);
		size_t fixed = p[0] == 3 ? 49 + 4 : p[0] == 2 ? 41 : 33;
		assert_int_equal(len, fixed);
		uint64_t count[5] = { 0, grove_le64_get(p + 1), grove_le64_get(p + 9),
				      p[0] >= 2 ? grove_le64_get(p + 33) : 0,
				      p[0] == 3 ? grove_le64_get(p + 41) : 0 };
		for (int i = 1; i < 5; i++)
			assert_int_equal(count[i], i == copy.meta_kind ? copy.meta_count : 0);
		assert_int_equal(grove_le64_get(p + 17), copy.meta_acc[0]);
		assert_int_equal(grove_le64_get(p + 25), copy.meta_acc[1]);
	}
	grove_free(p);
}

/* A key's kept metadata follows it through counter writes (no record), a
 * set over a deleted key, a delete (its pending-delete context is
 * metadata: not kept), the purge that ends it (written by the purge: not
 * kept) and writes after: kept only where it is exactly the store's 'k'
 * record, and the counts and tree stay exact. */
static void test_meta_absent_follows_key(void **state)
{
	fixture_t *f = *state;
	grove_db_t *db = f->t.db;
	const char *k = remember(f, "mk");
	for (int i = 1; i <= 3; i++)
		assert_int_equal(counter_add(f, k, 1), i);
	check_meta_memo(f, k, true);
	bool existed = false, added = false;
	assert_int_equal(grove_db_delete(db, k, strlen(k), &existed), 0);
	assert_true(existed);
	assert_int_equal(grove_db_set_add(db, k, strlen(k), "a", 1, &added), 0);
	assert_true(added);
	check_meta_memo(f, k, true);
	assert_int_equal(grove_db_set_add(db, k, strlen(k), "b", 1, &added), 0);
	check_meta_memo(f, k, true);
	assert_int_equal(grove_db_set_add(db, k, strlen(k), "b", 1, &added), 0);
	assert_false(added);
	check_meta_memo(f, k, true);
	uint64_t n = 0;
	assert_int_equal(grove_db_coll_count(db, k, strlen(k), GROVE_TYPE_SET, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(grove_db_delete(db, k, strlen(k), &existed), 0);
	check_meta_memo(f, k, false); /* a pending delete: not kept */
	assert_int_equal(grove_db__coll_purge(db, k, strlen(k)), 0);
	check_meta_memo(f, k, false); /* the purge wrote it: read again */
	assert_int_equal(counter_add(f, k, 5), 5);
	check_meta_memo(f, k, true);
	assert_int_equal(counter_add(f, k, 1), 6);
	assert_int_equal(grove_db_set_add(db, k, strlen(k), "c", 1, &added), GROVE_EWRONGTYPE);
	assert_int_equal(grove_db_delete(db, k, strlen(k), &existed), 0);
	assert_int_equal(grove_db_set_add(db, k, strlen(k), "c", 1, &added), 0);
	assert_true(added);
	assert_int_equal(grove_db_coll_count(db, k, strlen(k), GROVE_TYPE_SET, &n), 0);
	assert_int_equal(n, 1);
	check_meta_memo(f, k, true);
	bool created = false; /* a second kind on the key: not kept, read */
	assert_int_equal(grove_db_map_set(db, k, strlen(k), "f", 1, "v", 1, &created),
			 GROVE_EWRONGTYPE);
	check_meta_memo(f, k, true);
	check_tree(f);
}

/* A writer of a key whose entry keeps its metadata reads no 'k' record:
 * re-adding one member 20 times reads the member's record only (one
 * point-cache read per write: hit or miss), where each write read the
 * metadata record too before (40 reads).  The count and tree stay exact. */
static void test_meta_kept_not_read(void **state)
{
	fixture_t *f = *state;
	grove_db_t *db = f->t.db;
	const char *k = remember(f, "mr");
	bool added = false;
	assert_int_equal(grove_db_set_add(db, k, strlen(k), "a", 1, &added), 0);
	assert_int_equal(grove_db_set_add(db, k, strlen(k), "a", 1, &added), 0);
	grove_db_stats_t a, b;
	grove_db_stats(db, &a);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(grove_db_set_add(db, k, strlen(k), "a", 1, &added), 0);
		assert_false(added);
	}
	grove_db_stats(db, &b);
	assert_int_equal((b.elem_cache_hits + b.elem_cache_misses) -
				 (a.elem_cache_hits + a.elem_cache_misses),
			 20);
	check_meta_memo(f, k, true);
	uint64_t n = 0;
	assert_int_equal(grove_db_coll_count(db, k, strlen(k), GROVE_TYPE_SET, &n), 0);
	assert_int_equal(n, 1);
	check_tree(f);
}

/* The stripe's pending records against a model (an array of key, value,
 * seq per key slot): 4000 random adds of batches of 1-4 ops over 300 keys
 * (puts of 1-40 bytes and deletes, keys 2-40 bytes, none starting with 'z'
 * or 'd' (the score and segment indexes', which are not kept), a key
 * twice in one batch too; a record's block rewritten in place when it
 * holds the new value, else a copy),
 * forgets and settles by sequence number, and prepared copies discarded;
 * after each step every key's find equals the model's and the record
 * count equals the model's.  Seeded; the seed is printed. */
#define PM_KEYS 300
typedef struct pm_rec {
	bool there, del;
	uint64_t seq;
	uint32_t val;
} pm_rec_t;

static size_t pm_key(uint8_t *out, int i)
{
	size_t n = 2 + (size_t)(i * 7) % 39; /* 2-40 bytes, distinct per i */
	for (size_t j = 0; j < n; j++)
		out[j] = (uint8_t)(i * 31 + j);
	out[0] = (uint8_t)i;
	out[1] = (uint8_t)(i >> 8);
	if (out[0] == 'z' || out[0] == 'd') { /* the score and segment indexes' records are never pending */
		out[0]++;
		out[1] = 0x80;
	}
	return n;
}

/* The value of model value v: 1-40 bytes derived from it. */
static size_t pm_val(uint32_t v, uint8_t out[40])
{
	size_t n = 1 + v % 40;
	for (size_t j = 0; j < n; j++)
		out[j] = (uint8_t)(v >> (j % 4 * 8)) ^ (uint8_t)j;
	return n;
}

static void pm_check(const grove_db_stripe_t *s, const pm_rec_t *m)
{
	size_t there = 0;
	for (int i = 0; i < PM_KEYS; i++) {
		uint8_t k[40];
		size_t kl = pm_key(k, i);
		const grove_db_pending_t *p = grove_db__pending_find(s, k, kl);
		assert_int_equal(p != NULL, m[i].there);
		if (!p)
			continue;
		there++;
		assert_int_equal(p->val == NULL, m[i].del);
		assert_int_equal(p->seq, m[i].seq);
		if (!m[i].del) {
			uint8_t v[40];
			size_t vl = pm_val(m[i].val, v);
			assert_int_equal(p->vlen, vl);
			assert_memory_equal(p->val, v, vl);
		}
	}
	assert_int_equal(s->npend, there);
}

static void test_pending_index_model(void **state)
{
	(void)state;
	grove_rng_t rng;
	grove_rng_seed(&rng, grove_test_storage_seed("test_pending_index_model"));
	static uint8_t hkey[16] = { 1, 2, 3 };
	grove_db_pend_memo_t memo = { 0 };
	grove_db_stripe_t s = { .pend_key = hkey, .pmemo = &memo };
	pm_rec_t m[PM_KEYS] = { 0 };
	uint64_t seq = 0;
	for (int step = 0; step < 4000; step++) {
		uint64_t r = grove_rng_below(&rng, 100);
		if (r < 70) {
			grove_batch_t b;
			grove_batch_init(&b);
			int ops = 1 + (int)grove_rng_below(&rng, 4), keys[4];
			uint32_t vals[4];
			bool dels[4];
			for (int o = 0; o < ops; o++) {
				keys[o] = o && grove_rng_below(&rng, 8) == 0 ? keys[0]
									 : (int)grove_rng_below(&rng, PM_KEYS);
				uint8_t k[40];
				size_t kl = pm_key(k, keys[o]);
				vals[o] = (uint32_t)grove_rng_next(&rng);
				dels[o] = grove_rng_below(&rng, 5) == 0;
				uint8_t v[40];
				size_t vl = pm_val(vals[o], v);
				assert_int_equal(dels[o] ? grove_batch_delete(&b, k, kl)
							 : grove_batch_put(&b, k, kl, v, vl),
						 0);
			}
			assert_int_equal(grove_db__pending_prepare(&s, &b), 0);
			if (grove_rng_below(&rng, 10) == 0) {
				grove_db__pending_discard(&s);
			} else {
				grove_db__pending_install(&s, ++seq);
				for (int o = 0; o < ops; o++)
					m[keys[o]] = (pm_rec_t){ true, dels[o], seq, vals[o] };
			}
			grove_batch_close(&b);
		} else if (r < 85) {
			grove_batch_t b;
			grove_batch_init(&b);
			int i = (int)grove_rng_below(&rng, PM_KEYS);
			uint8_t k[40];
			assert_int_equal(grove_batch_delete(&b, k, pm_key(k, i)), 0);
			grove_db__pending_forget(&s, &b);
			m[i].there = false;
			grove_batch_close(&b);
		} else if (seq > 0) {
			uint64_t upto = seq - grove_rng_below(&rng, seq < 20 ? seq : 20);
			grove_db__pending_settle(&s, upto);
			for (int i = 0; i < PM_KEYS; i++)
				if (m[i].seq <= upto)
					m[i].there = false;
		}
		pm_check(&s, m);
	}
	/* replaced and settled records left their blocks for reuse (the
	 * model checked every value read from a reused one); records were
	 * rewritten in place */
	assert_true(s.npspare > 0 && s.npspare <= GROVE_DB_PEND_SPARES);
	assert_true(s.pin_done > 0);
	grove_db__pending_settle(&s, 0);
	assert_int_equal(s.npend, 0);
	grove_db__pending_close(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		GROVE_TEST_BOTH_BACKENDS(test_cached_writes_match_store),
		GROVE_TEST_BOTH_BACKENDS(test_value_budget_accounting),
		GROVE_TEST_BOTH_BACKENDS(test_merge_into_cached_key),
		GROVE_TEST_BOTH_BACKENDS(test_eviction_within_a_set),
		GROVE_TEST_BOTH_BACKENDS(test_records_too_big_to_cache),
		GROVE_TEST_BOTH_BACKENDS(test_meta_absent_follows_key),
		GROVE_TEST_BOTH_BACKENDS(test_meta_kept_not_read),
		cmocka_unit_test_setup_teardown(test_failed_writes_leave_no_trace, setup_memory,
						teardown),
		cmocka_unit_test_setup_teardown(test_restart_after_cached_writes, setup_leveldb,
						teardown),
		cmocka_unit_test(test_pending_index_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
