/*
 * test_db.c - db.h on both backends: typed operations, wrong-type errors
 * that change nothing, scans that hide internal records, metadata, merges
 * (changed, unchanged, undecodable, beyond the clock offset), the HLC
 * advancing past stored state, threads hammering one key, merges
 * concurrent with writes, durability modes, the change hook, and digest
 * tree invariants (equal roots whatever the write order).
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
#include <sodium.h>

#include "grove/alloc.h"
#include "base/rng.h"
#include "grove/db.h"
#include "storage/tree.h"
#include "tests/util_storage.h"

#define T0_MS GROVE_TEST_T0_MS /* fake wall clock start */

typedef grove_test_db_t fixture_t;

#define K(s) (s), strlen(s)

/* INCRBY k 0 on a never-written key answers 0 like Redis and creates
 * nothing; on a key of another type it is still WRONGTYPE. */
static void test_counter_add_zero_on_absent_key(void **state)
{
	grove_db_t *db = ((fixture_t *)*state)->db;
	int64_t n = 99;
	assert_int_equal(grove_db_counter_add(db, K("nokey"), 0, &n), 0);
	assert_int_equal(n, 0);
	grove_value_t *v;
	uint8_t *enc;
	size_t len;
	assert_int_equal(grove_db_get(db, K("nokey"), &v), GROVE_ENOTFOUND);
	assert_int_equal(grove_db_get_encoded(db, K("nokey"), &enc, &len), GROVE_ENOTFOUND);
	assert_int_equal(grove_db_count(db), 0);
	bool existed = true;
	assert_int_equal(grove_db_counter_add(db, K("c"), 4, NULL), 0);
	assert_int_equal(grove_db_delete(db, K("c"), &existed), 0);
	assert_true(existed);
	n = 99;
	assert_int_equal(grove_db_counter_add(db, K("c"), 0, &n), 0); /* deleted: 0 too */
	assert_int_equal(n, 0);
	assert_int_equal(grove_db_get(db, K("c"), &v), GROVE_ENOTFOUND);
	assert_int_equal(grove_db_register_set(db, K("r"), "x", 1), 0);
	assert_int_equal(grove_db_counter_add(db, K("r"), 0, &n), GROVE_EWRONGTYPE);
}

static void test_typed_ops(void **state)
{
	grove_db_t *db = ((fixture_t *)*state)->db;
	int64_t n = 0;
	assert_int_equal(grove_db_counter_add(db, K("c"), 5, &n), 0);
	assert_int_equal(grove_db_counter_add(db, K("c"), -2, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(grove_db_register_set(db, K("r"), "", 0), 0);
	grove_value_t *v;
	assert_int_equal(grove_db_get(db, K("r"), &v), 0);
	const void *p;
	size_t len = 99;
	assert_int_equal(grove_lwwreg_get(v, &p, &len), 0);
	assert_int_equal(len, 0); /* empty value found, distinct from absent */
	grove_value_destroy(v);
	assert_int_equal(grove_db_get(db, K("absent"), &v), GROVE_ENOTFOUND);
	bool flag = false;
	assert_int_equal(grove_db_set_add(db, K("s"), "x", 1, &flag), 0);
	assert_true(flag);
	assert_int_equal(grove_db_set_add(db, K("s"), "x", 1, &flag), 0);
	assert_false(flag);
	assert_int_equal(grove_db_set_remove(db, K("s"), "x", 1, &flag), 0);
	assert_true(flag);
	assert_int_equal(grove_db_map_set(db, K("m"), "f", 1, "v", 1, &flag), 0);
	assert_true(flag);
	assert_int_equal(grove_db_map_delete(db, K("m"), "f", 1, &flag), 0);
	assert_true(flag);
	assert_int_equal(grove_db_delete(db, K("c"), &flag), 0);
	assert_true(flag);
	assert_int_equal(grove_db_get(db, K("c"), &v), GROVE_ENOTFOUND);
	assert_int_equal(grove_db_delete(db, K("never"), &flag), 0);
	assert_false(flag);
	uint8_t *enc;
	assert_int_equal(grove_db_get_encoded(db, K("never"), &enc, &len), GROVE_ENOTFOUND);
	assert_int_equal(grove_db_get_encoded(db, K("c"), &enc, &len), 0); /* tombstone state */
	grove_free(enc);
	assert_int_equal(grove_db_counter_add(db, "", 0, 1, NULL), GROVE_EINVAL);
	static uint8_t big[GROVE_KEY_MAX + 1];
	assert_int_equal(grove_db_counter_add(db, big, sizeof(big), 1, NULL), GROVE_EINVAL);
}

static void test_wrong_type_changes_nothing(void **state)
{
	grove_db_t *db = ((fixture_t *)*state)->db;
	assert_int_equal(grove_db_register_set(db, K("k"), "v", 1), 0);
	uint8_t *before, *after, root1[16], root2[16];
	size_t blen, alen;
	assert_int_equal(grove_db_get_encoded(db, K("k"), &before, &blen), 0);
	grove_db_root_digest(db, root1);
	grove_db_stats_t s1, s2;
	grove_db_stats(db, &s1);
	bool b;
	assert_int_equal(grove_db_counter_add(db, K("k"), 1, NULL), GROVE_EWRONGTYPE);
	assert_int_equal(grove_db_set_add(db, K("k"), "e", 1, &b), GROVE_EWRONGTYPE);
	assert_int_equal(grove_db_map_set(db, K("k"), "f", 1, "v", 1, &b), GROVE_EWRONGTYPE);
	assert_int_equal(grove_db_set_remove(db, K("k"), "e", 1, &b), GROVE_EWRONGTYPE);
	assert_int_equal(grove_db_get_encoded(db, K("k"), &after, &alen), 0);
	grove_db_root_digest(db, root2);
	grove_db_stats(db, &s2);
	assert_int_equal(blen, alen);
	assert_memory_equal(before, after, blen);
	assert_memory_equal(root1, root2, 16);
	assert_int_equal(s1.writes, s2.writes);
	grove_free(before);
	grove_free(after);
}

typedef struct keys_seen {
	char keys[32][16];
	grove_type_t types[32];
	size_t n;
} keys_seen_t;

static int see_key(void *ctx, const void *key, size_t klen, grove_type_t type)
{
	keys_seen_t *k = ctx;
	assert_true(klen < 16 && k->n < 32);
	memcpy(k->keys[k->n], key, klen);
	k->keys[k->n][klen] = 0;
	k->types[k->n++] = type;
	return 0;
}

static void test_scan_hides_internal_records(void **state)
{
	grove_db_t *db = ((fixture_t *)*state)->db;
	assert_int_equal(grove_db_meta_put(db, "incarnation", "7", 1), 0);
	/* user keys that look like internal prefixes */
	const char *keys[] = { "m", "cclean", "d\x01\x02x", "u", "chlc", "zz" };
	for (int i = 0; i < 6; i++)
		assert_int_equal(grove_db_counter_add(db, K(keys[i]), 1, NULL), 0);
	assert_int_equal(grove_db_set_add(db, K("gone"), "x", 1, NULL), 0);
	assert_int_equal(grove_db_delete(db, K("gone"), NULL), 0);
	keys_seen_t seen = { 0 };
	uint8_t *next = (uint8_t *)"x";
	size_t next_len;
	assert_int_equal(grove_db_scan(db, NULL, 0, 100, see_key, &seen, &next, &next_len), 0);
	assert_null(next);
	assert_int_equal(seen.n, 6);
	assert_string_equal(seen.keys[0], "cclean");
	assert_string_equal(seen.keys[2], "d\x01\x02x");
	assert_string_equal(seen.keys[3], "m");
	assert_string_equal(seen.keys[5], "zz");
	assert_int_equal(seen.types[0], GROVE_TYPE_COUNTER);
	assert_int_equal(grove_db_count(db), 6);
	/* paging: two at a time */
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(grove_db_scan(db, NULL, 0, 2, see_key, &seen, &next, &next_len), 0);
	assert_int_equal(seen.n, 2);
	assert_non_null(next);
	assert_int_equal(next_len, 4);
	assert_memory_equal(next, "d\x01\x02x", next_len);
	uint8_t *next2;
	assert_int_equal(grove_db_scan(db, next, next_len, 10, see_key, &seen, &next2, NULL), 0);
	assert_int_equal(seen.n, 6);
	assert_null(next2);
	grove_free(next);
	uint8_t *meta;
	size_t mlen;
	assert_int_equal(grove_db_meta_get(db, "incarnation", &meta, &mlen), 0);
	assert_int_equal(mlen, 1);
	assert_memory_equal(meta, "7", 1);
	grove_free(meta);
	assert_int_equal(grove_db_meta_get(db, "absent", &meta, &mlen), GROVE_ENOTFOUND);
	assert_int_equal(grove_db_meta_put(db, "", "x", 1), GROVE_EINVAL);
}

static void test_merge_outcomes(void **state)
{
	fixture_t *f = *state;
	uint64_t clk_b = T0_MS;
	grove_db_t *b;
	assert_int_equal(grove_test_storage_db_open(NULL, "node-b", &clk_b, GROVE_DURABILITY_NONE, &b), 0);
	assert_int_equal(grove_db_counter_add(b, K("k"), 3, NULL), 0);
	uint8_t *enc;
	size_t len;
	bool changed = false;
	assert_int_equal(grove_db_get_encoded(b, K("k"), &enc, &len), 0);
	assert_int_equal(grove_db_counter_add(f->db, K("k"), 5, NULL), 0);
	assert_int_equal(grove_db_merge(f->db, K("k"), enc, len, &changed), 0);
	assert_true(changed);
	assert_int_equal(grove_db_merge(f->db, K("k"), enc, len, &changed), 0);
	assert_false(changed); /* idempotent: no write */
	int64_t n;
	assert_int_equal(grove_db_counter_add(f->db, K("k"), 0, &n), 0);
	assert_int_equal(n, 8);
	/* undecodable input leaves the key untouched */
	uint8_t *before;
	size_t blen;
	assert_int_equal(grove_db_get_encoded(f->db, K("k"), &before, &blen), 0);
	assert_int_equal(grove_db_merge(f->db, K("k"), enc, len - 1, &changed), GROVE_EDECODE);
	assert_int_equal(grove_db_merge(f->db, K("k"), (const uint8_t *)"\xc1", 1, &changed),
			 GROVE_EDECODE);
	grove_free(enc);
	/* a state from a clock 10 s ahead is rejected */
	clk_b = T0_MS + 10000;
	assert_int_equal(grove_db_register_set(b, K("k2"), "far", 3), 0);
	assert_int_equal(grove_db_get_encoded(b, K("k2"), &enc, &len), 0);
	assert_int_equal(grove_db_merge(f->db, K("k2"), enc, len, &changed), GROVE_ECLOCK_OFFSET);
	grove_value_t *v;
	assert_int_equal(grove_db_get(f->db, K("k2"), &v), GROVE_ENOTFOUND);
	grove_free(enc);
	uint8_t *after;
	size_t alen;
	assert_int_equal(grove_db_get_encoded(f->db, K("k"), &after, &alen), 0);
	assert_int_equal(alen, blen);
	assert_memory_equal(before, after, blen);
	grove_db_stats_t st;
	grove_db_stats(f->db, &st);
	assert_int_equal(st.merges_changed, 1);
	assert_int_equal(st.merges_unchanged, 1);
	assert_true(st.merges_rejected >= 2);
	grove_free(before);
	grove_free(after);
	grove_db_close(b);
}

/* node-b's clock runs 300 ms ahead (within the offset).  node-a merges b's
 * write, then writes the register itself: causally later, it must win
 * although a's clock is behind b's timestamp. */
static void test_write_after_merge_wins(void **state)
{
	fixture_t *f = *state;
	uint64_t clk_b = T0_MS + 300;
	grove_db_t *b;
	assert_int_equal(grove_test_storage_db_open(NULL, "node-b", &clk_b, GROVE_DURABILITY_NONE, &b), 0);
	assert_int_equal(grove_db_register_set(b, K("r"), "from-b", 6), 0);
	assert_int_equal(grove_db_map_set(b, K("m"), "f", 1, "from-b", 6, NULL), 0);
	uint8_t *enc;
	size_t len;
	assert_int_equal(grove_db_get_encoded(b, K("r"), &enc, &len), 0);
	assert_int_equal(grove_db_merge(f->db, K("r"), enc, len, NULL), 0);
	grove_free(enc);
	assert_int_equal(grove_test_storage_copy_key(b, f->db, K("m")), 0);
	assert_int_equal(grove_db_register_set(f->db, K("r"), "from-a", 6), 0);
	assert_int_equal(grove_db_map_set(f->db, K("m"), "f", 1, "from-a", 6, NULL), 0);
	grove_value_t *v;
	const void *p;
	size_t plen;
	assert_int_equal(grove_db_get(f->db, K("r"), &v), 0);
	assert_int_equal(grove_lwwreg_get(v, &p, &plen), 0);
	assert_memory_equal(p, "from-a", 6);
	grove_value_destroy(v);
	assert_int_equal(grove_db_get(f->db, K("m"), &v), 0);
	assert_int_equal(grove_lwwmap_get(v, "f", 1, &p, &plen), 0);
	assert_memory_equal(p, "from-a", 6);
	grove_value_destroy(v);
	grove_db_close(b);
}

enum { HAMMER_THREADS = 8 };

typedef struct hammer {
	int ops;
	char key[8];
	grove_db_t *db;
	grove_db_t *peer; /* merge source, or NULL */
	int rc;
} hammer_t;

static void *hammer_incr(void *arg)
{
	hammer_t *h = arg;
	for (int i = 0; i < h->ops && h->rc == 0; i++)
		h->rc = grove_db_counter_add(h->db, K(h->key), 1, NULL);
	return NULL;
}

static void *hammer_merge(void *arg)
{
	hammer_t *h = arg;
	for (int i = 0; i < h->ops && h->rc == 0; i++) {
		uint8_t *enc;
		size_t len;
		h->rc = grove_db_counter_add(h->peer, K("hot"), 1, NULL);
		if (h->rc == 0)
			h->rc = grove_db_get_encoded(h->peer, K("hot"), &enc, &len);
		if (h->rc == 0) {
			h->rc = grove_db_merge(h->db, K("hot"), enc, len, NULL);
			grove_free(enc);
		}
	}
	return NULL;
}

/* HAMMER_THREADS local writers plus one thread merging a peer's growing
 * state into "hot": the total is exact, nothing lost.  Writers use "hot"
 * too, or one key each when spread (so group commit can group them). */
static void run_hammer(grove_db_t *db, int ops, bool spread)
{
	grove_db_t *peer;
	uint64_t clk = T0_MS;
	assert_int_equal(grove_test_storage_db_open(NULL, "node-p", &clk, GROVE_DURABILITY_NONE, &peer), 0);
	pthread_t th[HAMMER_THREADS + 1];
	hammer_t h[HAMMER_THREADS + 1];
	for (int i = 0; i <= HAMMER_THREADS; i++) {
		h[i] = (hammer_t){ .ops = ops, .db = db, .peer = i == HAMMER_THREADS ? peer : NULL };
		if (spread && i < HAMMER_THREADS)
			snprintf(h[i].key, sizeof(h[i].key), "hot%d", i);
		else
			snprintf(h[i].key, sizeof(h[i].key), "hot");
		pthread_create(&th[i], NULL, i == HAMMER_THREADS ? hammer_merge : hammer_incr, &h[i]);
	}
	for (int i = 0; i <= HAMMER_THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(h[i].rc, 0);
	}
	int64_t n, total = 0;
	for (int i = 0; i < HAMMER_THREADS && spread; i++) {
		assert_int_equal(grove_db_counter_add(db, K(h[i].key), 0, &n), 0);
		total += n;
	}
	assert_int_equal(grove_db_counter_add(db, K("hot"), 0, &n), 0);
	total += n;
	assert_int_equal(total, (HAMMER_THREADS + 1) * ops);
	grove_db_close(peer);
}

static void test_hammer_one_key(void **state)
{
	run_hammer(((fixture_t *)*state)->db, 1500, false);
}

/* Batch and always modes: exact totals; group commit shares fsyncs. */
static void test_durability_modes(void **state)
{
	fixture_t *f = *state;
	if (!f->dir)
		return; /* durability is a LevelDB matter; memory ignores sync */
	grove_durability_t modes[] = { GROVE_DURABILITY_BATCH, GROVE_DURABILITY_ALWAYS };
	for (int m = 0; m < 2; m++) {
		grove_db_close(f->db);
		assert_int_equal(grove_test_storage_db_open(f->dir, "node-a", &f->clock_ms, modes[m], &f->db), 0);
		grove_db_stats_t s0, s1;
		grove_db_stats(f->db, &s0);
		run_hammer(f->db, 150, true);
		grove_db_stats(f->db, &s1);
		uint64_t writes = s1.writes - s0.writes + s1.merges_changed - s0.merges_changed;
		uint64_t syncs = s1.syncs - s0.syncs;
		printf("mode %d: %llu writes, %llu syncs\n", modes[m], (unsigned long long)writes,
		       (unsigned long long)syncs);
		assert_true(syncs >= 1);
		if (modes[m] == GROVE_DURABILITY_ALWAYS)
			assert_int_equal(syncs, writes);
		else
			assert_true(syncs < writes); /* 9 writers share fsyncs */
		grove_db_close(f->db);
		grove_test_storage_rmdir(f->dir);
		f->dir = grove_test_storage_tmpdir("db");
		assert_int_equal(grove_test_storage_db_open(f->dir, "node-a", &f->clock_ms,
						    GROVE_DURABILITY_NONE, &f->db), 0);
	}
}

typedef struct hook_log {
	int calls;
	char last[16];
} hook_log_t;

/* Records the user key of the item names the hook reports. */
static void on_change(void *ctx, const void *name, size_t nlen)
{
	hook_log_t *h = ctx;
	int kind;
	const uint8_t *key, *elem;
	size_t klen, elen;
	assert_int_equal(grove_db_item_parse(name, nlen, &kind, &key, &klen, &elem, &elen), 0);
	h->calls++;
	memcpy(h->last, key, klen < 15 ? klen : 15);
	h->last[klen < 15 ? klen : 15] = 0;
}

static void test_change_hook(void **state)
{
	grove_db_t *db = ((fixture_t *)*state)->db;
	hook_log_t log = { 0 };
	grove_db_set_change_hook(db, on_change, &log);
	/* an add changes two items: the member and the head (its context) */
	assert_int_equal(grove_db_set_add(db, K("s1"), "a", 1, NULL), 0);
	assert_int_equal(log.calls, 2);
	assert_string_equal(log.last, "s1");
	assert_int_equal(grove_db_set_remove(db, K("s1"), "zz", 2, NULL), 0); /* no change */
	assert_int_equal(log.calls, 2);
	assert_int_equal(grove_db_counter_add(db, K("s1"), 1, NULL), GROVE_EWRONGTYPE);
	assert_int_equal(log.calls, 2);
	assert_int_equal(grove_db_set_remove(db, K("s1"), "a", 1, NULL), 0); /* the member only */
	assert_int_equal(log.calls, 3);
	grove_db_set_change_hook(db, NULL, NULL);
	assert_int_equal(grove_db_set_add(db, K("s1"), "b", 1, NULL), 0);
	assert_int_equal(log.calls, 3);
}

typedef struct seg_sum {
	grove_db_t *db;
	uint64_t keys;
	int bad;
} seg_sum_t;

/* A listed item: its name parses, lies in the segment listed, and has a
 * state to send. */
static int check_digest(void *ctx, const void *name, size_t nlen, const uint8_t digest[16])
{
	seg_sum_t *s = ctx;
	uint8_t *st;
	size_t len;
	int kind;
	const uint8_t *key, *elem;
	size_t klen, elen;
	(void)digest;
	s->keys++;
	if (grove_db_item_parse(name, nlen, &kind, &key, &klen, &elem, &elen) != 0 ||
	    grove_db_item_state(s->db, name, nlen, &st, &len) != 0) {
		s->bad++;
		return 0;
	}
	grove_free(st);
	return 0;
}

/* Tree invariants: children's counts sum to the parent's; every digest
 * record matches its key's state; the root counts every written key. */
static void check_tree(grove_db_t *db, uint64_t written_keys)
{
	uint64_t root_count, sum = 0;
	assert_int_equal(grove_db_tree_node(db, 0, 0, NULL, &root_count), 0);
	assert_int_equal(root_count, written_keys);
	for (uint32_t i = 0; i < GROVE_TREE_FANOUT; i++) {
		uint64_t c;
		assert_int_equal(grove_db_tree_node(db, 1, i, NULL, &c), 0);
		sum += c;
	}
	assert_int_equal(sum, root_count);
	seg_sum_t s = { .db = db };
	for (uint32_t seg = 0; seg < GROVE_TREE_SEGMENTS; seg++) {
		uint64_t before = s.keys, c;
		assert_int_equal(grove_db_segment_keys(db, seg, check_digest, &s), 0);
		assert_int_equal(grove_db_tree_node(db, GROVE_TREE_LEVELS, seg, NULL, &c), 0);
		assert_int_equal(c, s.keys - before);
	}
	assert_int_equal(s.bad, 0);
	assert_int_equal(s.keys, written_keys);
	/* subtrees: the root's and each level-1 node's key lists add up */
	seg_sum_t all = { .db = db }, parts = { .db = db };
	assert_int_equal(grove_db_subtree_keys(db, 0, 0, check_digest, &all), 0);
	for (uint32_t i = 0; i < GROVE_TREE_FANOUT; i++) {
		uint64_t before = parts.keys, c;
		assert_int_equal(grove_db_subtree_keys(db, 1, i, check_digest, &parts), 0);
		assert_int_equal(grove_db_tree_node(db, 1, i, NULL, &c), 0);
		assert_int_equal(parts.keys - before, c);
	}
	assert_int_equal(all.keys, written_keys);
	assert_int_equal(parts.keys, written_keys);
	assert_int_equal(all.bad + parts.bad, 0);
	assert_int_equal(grove_db_subtree_keys(db, 1, GROVE_TREE_FANOUT, check_digest, &all),
			 GROVE_EINVAL);
	assert_int_equal(grove_db_subtree_keys(db, GROVE_TREE_LEVELS + 1, 0, check_digest, &all),
			 GROVE_EINVAL);
	assert_int_equal(grove_db_tree_node(db, GROVE_TREE_LEVELS + 1, 0, NULL, NULL),
			 GROVE_EINVAL);
	assert_int_equal(grove_db_tree_node(db, 1, GROVE_TREE_FANOUT, NULL, NULL), GROVE_EINVAL);
}

/* Random ops into a; b and c receive a's states by merge in two different
 * shuffled orders: all three roots are equal, and d (counter adds in
 * another order, same node) equals a on those keys. */
static void test_equal_roots_any_order(void **state)
{
	fixture_t *f = *state;
	grove_db_t *a = f->db, *b, *c;
	uint64_t clk = T0_MS;
	assert_int_equal(grove_test_storage_db_open(NULL, "node-b", &clk, GROVE_DURABILITY_NONE, &b), 0);
	assert_int_equal(grove_test_storage_db_open(NULL, "node-c", &clk, GROVE_DURABILITY_NONE, &c), 0);
	grove_rng_t rng;
	grove_rng_seed(&rng, grove_test_storage_seed("test_equal_roots_any_order"));
	enum { KEYS = 300 };
	char key[16];
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "k%03d", (int)grove_rng_below(&rng, KEYS));
		int op = (int)grove_rng_below(&rng, 10);
		int rc = op < 3 ? grove_db_counter_add(a, K(key), 1, NULL)
		       : op < 5 ? grove_db_register_set(a, K(key), key, 4)
		       : op < 7 ? grove_db_set_add(a, K(key), key, 2, NULL)
		       : op < 9 ? grove_db_map_set(a, K(key), "f", 1, key, 3, NULL)
				: grove_db_delete(a, K(key), NULL);
		assert_true(rc == 0 || rc == GROVE_EWRONGTYPE);
	}
	int order[KEYS];
	for (int i = 0; i < KEYS; i++)
		order[i] = i;
	for (int pass = 0; pass < 2; pass++) {
		for (int i = KEYS - 1; i > 0; i--) { /* Fisher-Yates */
			int j = (int)grove_rng_below(&rng, (uint64_t)i + 1), t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		for (int i = 0; i < KEYS; i++) {
			snprintf(key, sizeof(key), "k%03d", order[i]);
			assert_int_equal(grove_test_storage_copy_key(a, pass ? c : b, K(key)), 0);
		}
	}
	uint8_t ra[16], rb[16], rc[16];
	grove_db_root_digest(a, ra);
	grove_db_root_digest(b, rb);
	grove_db_root_digest(c, rc);
	assert_memory_equal(ra, rb, 16);
	assert_memory_equal(ra, rc, 16);
	uint64_t written;
	assert_int_equal(grove_db_tree_node(a, 0, 0, NULL, &written), 0);
	check_tree(a, written);
	check_tree(b, written);
	assert_int_equal(grove_db_count(a), grove_db_count(b));
	/* one more write to b makes the roots differ */
	assert_int_equal(grove_db_counter_add(b, K("extra"), 1, NULL), 0);
	grove_db_root_digest(b, rb);
	assert_memory_not_equal(ra, rb, 16);
	grove_db_close(b);
	grove_db_close(c);
}

static void test_counter_order_independent(void **state)
{
	grove_db_t *a = ((fixture_t *)*state)->db, *d;
	uint64_t clk = T0_MS;
	assert_int_equal(grove_test_storage_db_open(NULL, "node-a", &clk, GROVE_DURABILITY_NONE, &d), 0);
	int64_t deltas[] = { 5, -2, 7, 1 };
	for (int i = 0; i < 4; i++) {
		assert_int_equal(grove_db_counter_add(a, K("x"), deltas[i], NULL), 0);
		assert_int_equal(grove_db_counter_add(a, K("y"), deltas[3 - i], NULL), 0);
	}
	for (int i = 3; i >= 0; i--)
		assert_int_equal(grove_db_counter_add(d, K("y"), deltas[i], NULL), 0);
	for (int i = 3; i >= 0; i--)
		assert_int_equal(grove_db_counter_add(d, K("x"), deltas[i], NULL), 0);
	uint8_t ra[16], rd[16];
	grove_db_root_digest(a, ra);
	grove_db_root_digest(d, rd);
	assert_memory_equal(ra, rd, 16);
	grove_db_close(d);
}

/* Fails the Nth allocation of a write for every N until it succeeds: each
 * failure returns GROVE_ENOMEM and leaves the state, the tree and the count
 * as they were (memory backend: every allocation goes through the seam;
 * ASan checks nothing leaks). */
static void test_alloc_failures_change_nothing(void **state)
{
	grove_db_t *db = ((fixture_t *)*state)->db;
	assert_int_equal(grove_db_set_add(db, K("s"), "a", 1, NULL), 0);
	uint8_t *before, root1[16], root2[16];
	size_t blen;
	assert_int_equal(grove_db_get_encoded(db, K("s"), &before, &blen), 0);
	grove_db_root_digest(db, root1);
	int rc = GROVE_ENOMEM, n;
	for (n = 1; n < 500 && rc == GROVE_ENOMEM; n++) {
		grove_alloc_fail_after(n);
		rc = grove_db_set_add(db, K("s"), "b", 1, NULL);
		int rc2 = grove_db_counter_add(db, K("fresh"), 1, NULL);
		grove_alloc_fail_reset();
		if (rc == GROVE_ENOMEM) {
			uint8_t *now;
			size_t nlen;
			assert_int_equal(grove_db_get_encoded(db, K("s"), &now, &nlen), 0);
			assert_int_equal(nlen, blen);
			assert_memory_equal(now, before, blen);
			grove_free(now);
			grove_db_root_digest(db, root2);
			assert_memory_equal(root1, root2, 16);
			assert_int_equal(rc2, GROVE_ENOMEM);
			assert_int_equal(grove_db_count(db), 1);
		} else {
			assert_int_equal(rc, 0);
		}
	}
	printf("alloc failures: write succeeded at allocation %d\n", n - 1);
	assert_true(n > 2); /* at least one failure was exercised */
	bool in;
	grove_free(before);
	grove_value_t *v;
	assert_int_equal(grove_db_get(db, K("s"), &v), 0);
	in = grove_orset_contains(v, "b", 1);
	grove_value_destroy(v);
	assert_true(in);
}

static void unhex(const char *h, uint8_t *out)
{
	for (size_t i = 0; h[2 * i]; i++) {
		unsigned b;
		assert_int_equal(sscanf(h + 2 * i, "%2x", &b), 1);
		out[i] = (uint8_t)b;
	}
}

/* The examples table of doc/storage_format.md. */
static void test_format_examples(void **state)
{
	(void)state;
	uint8_t want[16], got[16];
	uint64_t count;
	assert_int_equal(grove_tree_key_hash("crdt:hits", 9), 0x40d33247u);
	assert_int_equal(grove_db_segment_of("crdt:hits", 9), 16595);
	/* list element of key L, id (2^63, n1, counter): segment by the dot's
	 * block (counter >> 6), not by the name */
	uint8_t ln[] = { 4, 0, 1, 'L', 0x80, 0, 0, 0, 0, 0, 0, 0, 'n', '1', 0, 0, 0, 0, 0, 0, 0, 0, 1 };
	assert_int_equal(grove_db_item_segment(ln, sizeof(ln)), 22740);
	ln[sizeof(ln) - 1] = 63;
	assert_int_equal(grove_db_item_segment(ln, sizeof(ln)), 22740);
	ln[sizeof(ln) - 1] = 64;
	assert_int_equal(grove_db_item_segment(ln, sizeof(ln)), 49357);
	ln[4] = 0; /* digit 0: not a well-formed id, so hash(name) */
	assert_int_equal(grove_db_item_segment(ln, sizeof(ln)), grove_tree_segment(ln, sizeof(ln)));
	grove_tree_t t;
	assert_int_equal(grove_tree_init(&t), 0);
	unhex("941e0c502c87478811f1b6a130227018", want);
	assert_int_equal(grove_tree_node(&t, 0, 0, got, &count), 0);
	assert_memory_equal(got, want, 16);
	assert_int_equal(grove_tree_node(&t, 3, 77, got, &count), 0);
	assert_memory_equal(got, want, 16);
	uint8_t item[16];
	grove_tree_item("crdt:hits", 9, (const uint8_t *)"\x01\x02\x03", 3, item);
	unhex("de3f5ed4f22f15bf6ea52752408a0f90", want);
	assert_memory_equal(item, want, 16);
	grove_tree_update(&t, 16595, NULL, item);
	unhex("8c78b385b114e2508673fd58cf9da93e", want);
	assert_int_equal(grove_tree_node(&t, 0, 0, got, &count), 0);
	assert_memory_equal(got, want, 16);
	assert_int_equal(count, 1);
	assert_int_equal(grove_tree_node(&t, 1, 4, got, NULL), 0);
	assert_memory_equal(got, want, 16);
	assert_int_equal(grove_tree_node(&t, GROVE_TREE_LEVELS, 16595, got, NULL), 0);
	assert_memory_equal(got, want, 16);
	grove_tree_update(&t, 16595, item, NULL); /* removing it empties the tree */
	unhex("941e0c502c87478811f1b6a130227018", want);
	assert_int_equal(grove_tree_node(&t, 0, 0, got, &count), 0);
	assert_memory_equal(got, want, 16);
	assert_int_equal(count, 0);
	grove_tree_close(&t);
}

/* Item hashes (grove_tree_item, _item_bytes: from a copied initial
 * state) equal BLAKE2b-128 of (klen u32 LE, key, encoding) computed in
 * one call, for encodings of 0 to 300 bytes (inside and across the
 * 128-byte blocks) and keys of 1 and 200 bytes, each hashed twice: a
 * state built wrong, or the shared start changed by a hash, fails. */
static void test_tree_item_hash(void **state)
{
	(void)state;
	uint8_t buf[4 + 200 + 300], want[16], got[16];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	static const size_t klens[] = { 1, 200 };
	for (size_t k = 0; k < 2; k++) {
		size_t klen = klens[k];
		uint8_t *key = buf + 4, *enc = buf + 4 + klen;
		grove_tree_item_prefix(buf, key, klen);
		for (size_t len = 0; len <= 300; len++) {
			crypto_generichash(want, sizeof(want), buf, 4 + klen + len, NULL, 0);
			for (int rep = 0; rep < 2; rep++) {
				grove_tree_item(key, klen, enc, len, got);
				assert_memory_equal(got, want, 16);
				grove_tree_item_bytes(buf, 4 + klen + len, got);
				assert_memory_equal(got, want, 16);
			}
		}
	}
}

/* A run (grove_tree_run_*) leaves the tree as the same updates made one
 * by one: a hot item's chain of replacements in one segment, other
 * segments between them, an item added and removed, in any order. */
static void test_tree_run(void **state)
{
	(void)state;
	grove_tree_t a, b;
	assert_int_equal(grove_tree_init(&a), 0);
	assert_int_equal(grove_tree_init(&b), 0);
	grove_tree_run_t run = { 0 };
	uint8_t prev[16], item[16];
	bool have = false;
	uint32_t rng = 12345;
	for (int i = 0; i < 400; i++) {
		rng = rng * 1103515245u + 12345u;
		uint32_t seg = (rng >> 16) % 3 == 0 ? (rng >> 8) % GROVE_TREE_SEGMENTS : 777;
		grove_tree_item("k", 1, (const uint8_t *)&i, sizeof(i), item);
		if (seg == 777) { /* the hot item: replaces its previous state */
			grove_tree_update(&a, seg, have ? prev : NULL, item);
			grove_tree_run_update(&b, &run, seg, have ? prev : NULL, item);
			memcpy(prev, item, 16);
			have = true;
		} else { /* an item of another segment, added then removed */
			grove_tree_update(&a, seg, NULL, item);
			grove_tree_run_update(&b, &run, seg, NULL, item);
			if (i % 2) {
				grove_tree_update(&a, seg, item, NULL);
				grove_tree_run_update(&b, &run, seg, item, NULL);
			}
		}
	}
	grove_tree_run_flush(&b, &run);
	grove_tree_run_flush(&b, &run); /* empty: no change */
	for (unsigned l = 0; l <= GROVE_TREE_LEVELS; l++) {
		uint32_t idx = l == GROVE_TREE_LEVELS ? 777 : 0;
		uint8_t da[16], db[16];
		uint64_t ca, cb;
		assert_int_equal(grove_tree_node(&a, l, idx, da, &ca), 0);
		assert_int_equal(grove_tree_node(&b, l, idx, db, &cb), 0);
		assert_memory_equal(da, db, 16);
		assert_int_equal(ca, cb);
	}
	uint8_t *sa = malloc(GROVE_TREE_SEGMENTS * GROVE_TREE_ACC_BYTES);
	uint8_t *sb = malloc(GROVE_TREE_SEGMENTS * GROVE_TREE_ACC_BYTES);
	assert_non_null(sa);
	assert_non_null(sb);
	grove_tree_save(&a, sa);
	grove_tree_save(&b, sb);
	assert_memory_equal(sa, sb, GROVE_TREE_SEGMENTS * GROVE_TREE_ACC_BYTES);
	free(sa);
	free(sb);
	grove_tree_close(&a);
	grove_tree_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_examples),
		cmocka_unit_test(test_tree_run),
		cmocka_unit_test(test_tree_item_hash),
		GROVE_TEST_DB_BOTH_BACKENDS(test_typed_ops),
		GROVE_TEST_DB_BOTH_BACKENDS(test_counter_add_zero_on_absent_key),
		GROVE_TEST_DB_BOTH_BACKENDS(test_wrong_type_changes_nothing),
		GROVE_TEST_DB_BOTH_BACKENDS(test_scan_hides_internal_records),
		GROVE_TEST_DB_BOTH_BACKENDS(test_merge_outcomes),
		GROVE_TEST_DB_BOTH_BACKENDS(test_write_after_merge_wins),
		GROVE_TEST_DB_BOTH_BACKENDS(test_hammer_one_key),
		GROVE_TEST_DB_BOTH_BACKENDS(test_durability_modes),
		GROVE_TEST_DB_BOTH_BACKENDS(test_change_hook),
		GROVE_TEST_DB_BOTH_BACKENDS(test_equal_roots_any_order),
		GROVE_TEST_DB_BOTH_BACKENDS(test_counter_order_independent),
		cmocka_unit_test_setup_teardown(test_alloc_failures_change_nothing, grove_test_db_setup_memory,
						grove_test_db_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
