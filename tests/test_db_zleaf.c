/*
 * test_db_zleaf.c - the sorted-set leaves' entries in memory
 * (storage/db_zleaf.c, storage/db_zrank.c "the leaves' entries in
 * memory"): the leaf operations against a sorted model, then ZRANK
 * answered from the cached entries while writes of every kind interleave
 * (ZADD, ZINCRBY, ZREM, DEL and its purge, a peer's states merged, expiry,
 * a transaction, deferred batches, passes that split and merge leaves):
 * every rank must equal the member's place in a walk of the score index
 * of the same db, so a stale entry fails the test; likewise a score hint
 * trusted without its leaf's check.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "grove/alloc.h"
#include "grove/db.h"
#include "base/rng.h"
#include "crdt/zscore.h"
#include "storage/db_int.h"
#include "storage/db_zleaf_int.h"
#include "tests/util_storage.h"

#define K(s) s, strlen(s)

/* ---- the leaf operations ---- */

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* l holds exactly the n strings of model (sorted), and finds each. */
static void leaf_same(const grove_zleaf_t *l, char **model, size_t n)
{
	assert_int_equal(l->n, n);
	for (size_t i = 0; i < n; i++) {
		size_t len = l->off[i + 1] - l->off[i];
		assert_int_equal(len, strlen(model[i]));
		assert_memory_equal(l->buf + l->off[i], model[i], len);
		bool found = false;
		assert_int_equal(grove_zleaf_find(l, (const uint8_t *)model[i], len, &found), i);
		assert_true(found);
		if (len <= 8)
			continue; /* members: the bytes after 8 (unique in the pool) */
		found = false;
		assert_int_equal(grove_zleaf_find_member(l, (const uint8_t *)model[i] + 8, len - 8, &found),
				 i);
		assert_true(found);
	}
	bool found = true;
	grove_zleaf_find_member(l, (const uint8_t *)"absent", 6, &found);
	assert_false(found);
}

static void test_leaf_ops(void **state)
{
	(void)state;
	grove_rng_t r;
	grove_rng_seed(&r, grove_test_storage_seed("test_db_zleaf leaf ops"));
	static char pool[64][24];
	char *model[64];
	size_t n = 0;
	/* empty entries, short ones, and ones of 8 bytes or more (compared by
	 * their first 8 bytes as a number first) that share those 8 bytes or not */
	static const char *const forms[] = { "e%02d", "samepref%02d", "pre%02d-x", "samepref" };
	for (int i = 0; i < 64; i++)
		snprintf(pool[i], sizeof(pool[i]), i % 7 ? forms[i % 4] : "", i);
	grove_zleaf_t *l = NULL;
	assert_int_equal(grove_zleaf_build(NULL, NULL, 0, &l), 0);
	for (int step = 0; step < 2000; step++) {
		char *e = pool[grove_rng_below(&r, 64)];
		size_t at = n;
		for (size_t i = 0; i < n; i++)
			if (model[i] == e || strcmp(model[i], e) == 0)
				at = i;
		bool put = grove_rng_below(&r, 2);
		int rc = put ? grove_zleaf_insert(&l, (const uint8_t *)e, strlen(e))
			     : grove_zleaf_remove(&l, (const uint8_t *)e, strlen(e));
		if (put && at < n) {
			assert_int_equal(rc, GROVE_EEXISTS);
		} else if (put) {
			assert_int_equal(rc, 0);
			model[n++] = e;
			qsort(model, n, sizeof(*model), str_cmp);
		} else if (at == n) {
			assert_int_equal(rc, GROVE_ENOTFOUND);
		} else {
			assert_int_equal(rc, 0);
			model[at] = model[--n];
			qsort(model, n, sizeof(*model), str_cmp);
		}
		leaf_same(l, model, n);
		bool found = true; /* above every entry */
		assert_int_equal(grove_zleaf_find(l, (const uint8_t *)"zzzzzzzzz", 9, &found), n);
		assert_false(found);
	}
	/* slices and a build from them */
	grove_zleaf_t *s = NULL;
	assert_int_equal(grove_zleaf_slice(l, 1, n, &s), 0);
	leaf_same(s, model + 1, n - 1);
	grove_zleaf_free(s);
	assert_int_equal(grove_zleaf_slice(l, 2, 1, &s), GROVE_EINVAL);
	const uint8_t *ents[2] = { (const uint8_t *)"b", (const uint8_t *)"a" };
	size_t lens[2] = { 1, 1 };
	assert_int_equal(grove_zleaf_build(ents, lens, 2, &s), GROVE_EINVAL); /* not in order */
	assert_null(s);
	grove_zleaf_free(l);
}

/* A leaf grown by inserts (as a fill grows its set's leaves in the
 * cache) holds at most a fifth more bytes than one built with the same
 * entries, at every size a leaf has (up to 64 entries: a pass splits it
 * there).  Room grown by half took 50 MB for the leaves of 10^6 members
 * of a fill, and the hint could not get its 16 MiB within the cache's
 * 64 MiB. */
static void test_leaf_room(void **state)
{
	(void)state;
	static char pool[64][32];
	const uint8_t *ents[64];
	size_t lens[64];
	grove_zleaf_t *l = NULL;
	assert_int_equal(grove_zleaf_build(NULL, NULL, 0, &l), 0);
	for (int i = 0; i < 64; i++) { /* as a 10^6 fill's: score(8) "m:%012d" */
		int n = snprintf(pool[i], sizeof(pool[i]), "%08dm:%012d", 64 - i, i);
		assert_int_equal(grove_zleaf_insert(&l, (const uint8_t *)pool[i], (size_t)n), 0);
		/* the same entries built: sorted (pool[i] is below pool[0..i-1]) */
		for (int j = 0; j <= i; j++) {
			ents[j] = (const uint8_t *)pool[i - j];
			lens[j] = strlen(pool[i - j]);
		}
		grove_zleaf_t *b = NULL;
		assert_int_equal(grove_zleaf_build(ents, lens, (uint32_t)i + 1, &b), 0);
		if (i >= 15 && grove_zleaf_bytes(l) * 5 > grove_zleaf_bytes(b) * 6)
			fail_msg("a leaf of %d entries grown by inserts takes %zu bytes, built %zu", i + 1,
				 grove_zleaf_bytes(l), grove_zleaf_bytes(b));
		grove_zleaf_free(b);
	}
	grove_zleaf_free(l);
}

/* The grouped search over prefixes (a boundary list's summary, as
 * zr_cache_floor searches it) counts what a plain count does: sorted
 * lists of every length around the group size and past the plain scan's
 * bound, prefixes repeated in runs across groups, and sought prefixes
 * below, above, between and equal to every one (a group's first
 * especially). */
static void test_prefix_groups(void **state)
{
	(void)state;
	grove_rng_t r;
	grove_rng_seed(&r, grove_test_storage_seed("test_db_zleaf prefix groups"));
	static uint64_t pre[1100], sum[1100 / GROVE_ZPRE_GROUP + 1];
	const size_t lens[] = { 1, 2, 7, 8, 9, 15, 16, 17, 63, 64, 65, 180, 243, 513, 1100 };
	for (size_t t = 0; t < sizeof(lens) / sizeof(lens[0]); t++) {
		size_t n = lens[t];
		uint64_t at = grove_rng_below(&r, 4);
		for (size_t i = 0; i < n; i++) /* runs of equal prefixes: steps of 0 or 2 */
			pre[i] = at += 2 * grove_rng_below(&r, 2);
		assert_int_equal(grove_zpre_groups(n), (n + GROVE_ZPRE_GROUP - 1) / GROVE_ZPRE_GROUP);
		grove_zpre_summarize(pre, n, sum);
		for (uint64_t sp = 0; sp <= pre[n - 1] + 2; sp++) {
			size_t want = 0;
			while (want < n && pre[want] < sp)
				want++;
			assert_int_equal(grove_zpre_below(pre, n, sp), want);
			assert_int_equal(grove_zpre_below_grouped(pre, n, sum, sp), want);
		}
		assert_int_equal(grove_zpre_below_grouped(pre, n, sum, UINT64_MAX), n);
	}
}

/* The hint keeps each member's leaf locator: a put replaces the member's
 * own way, members of one set keep theirs, nine members in a set of 8
 * ways lose one, a NOLOC put puts nothing. */
static void test_hint_locator(void **state)
{
	(void)state;
	grove_zhint_t h = { 0 };
	assert_int_equal(grove_zhint_resize(&h, 1), 0); /* one set: every member shares it */
	uint32_t loc = 0;
	uint64_t a = 0x1111111100000000u, b = 0x2222222200000000u;
	assert_false(grove_zhint_get(&h, a, &loc));
	grove_zhint_put(&h, a, 7);
	grove_zhint_put(&h, b, GROVE_ZHINT_NOLOC);
	assert_true(grove_zhint_get(&h, a, &loc));
	assert_int_equal(loc, 7);
	assert_false(grove_zhint_get(&h, b, &loc));
	grove_zhint_put(&h, b, 0x00030002u);
	grove_zhint_put(&h, a, 9);
	assert_true(grove_zhint_get(&h, b, &loc));
	assert_int_equal(loc, 0x00030002u);
	assert_true(grove_zhint_get(&h, a, &loc));
	assert_int_equal(loc, 9);
	assert_int_equal(grove_zhint_resize(&h, 1), 0); /* emptied */
	assert_false(grove_zhint_get(&h, a, &loc));
	int kept = 0;
	for (uint64_t i = 1; i <= 9; i++)
		grove_zhint_put(&h, i << 40, (uint32_t)i);
	for (uint64_t i = 1; i <= 9; i++)
		if (grove_zhint_get(&h, i << 40, &loc)) {
			assert_int_equal(loc, i);
			kept++;
		}
	assert_int_equal(kept, 8);
	grove_zhint_free(&h);
}

/* splitmix64: hashes for the hint's tests (any well-mixed 64 bits do). */
static uint64_t mix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15u);
	z = (z ^ z >> 30) * 0xBF58476D1CE4E5B9u;
	z = (z ^ z >> 27) * 0x94D049BB133111EBu;
	return z ^ z >> 31;
}

/* Filled to half its ways (the load it is grown at), the hint keeps every
 * member: each has two sets and takes the emptier.  (With one set each,
 * this fill keeps 4,053 of 4,096; a 10^6 fill at the same load lost 0.67%
 * of its members, whose ZRANKs each read the member's record.)  A member
 * put again keeps one way: its new locator replaces the old one in
 * whichever set holds it. */
static void test_hint_two_sets(void **state)
{
	(void)state;
	enum { SETS = 1024, N = SETS * GROVE_ZHINT_WAYS / 2 };
	grove_zhint_t h = { 0 };
	assert_int_equal(grove_zhint_resize(&h, SETS), 0);
	uint64_t x = 42;
	for (uint32_t i = 0; i < N; i++)
		grove_zhint_put(&h, mix64(&x), i);
	x = 42;
	uint32_t kept = 0, loc;
	for (uint32_t i = 0; i < N; i++)
		kept += grove_zhint_get(&h, mix64(&x), &loc) && loc == i;
	assert_int_equal(kept, N);
	x = 42;
	for (uint32_t i = 0; i < N; i++)
		grove_zhint_put(&h, mix64(&x), i + N);
	x = 42;
	kept = 0;
	for (uint32_t i = 0; i < N; i++)
		kept += grove_zhint_get(&h, mix64(&x), &loc) && loc == i + N;
	assert_int_equal(kept, N);
	size_t taken = 0;
	for (size_t w = 0; w < (size_t)SETS * GROVE_ZHINT_WAYS; w++)
		taken += h.slot[w] != 0;
	assert_int_equal(taken, N);
	grove_zhint_free(&h);
}

/* ---- ZRANK from the cached entries, against a walk ---- */

/* Small buckets: a few hundred members make many leaves and supers, and
 * passes split and merge leaves often. */
static const grove_db__zrank_params_t k_small = {
	.leaf_max = 8, .leaf_fill = 4, .leaf_min = 2,
	.super_max = 32, .super_fill = 16, .super_min = 6, .build_min = 4,
	.label_gap = 4, .group = 2,
};

#define MEMBERS 160
#define LIST_MAX 256

typedef struct listing {
	char m[LIST_MAX][24];
	double s[LIST_MAX];
	size_t n;
} listing_t;

static int list_fn(void *ctx, const void *m, size_t ml, double s)
{
	listing_t *l = ctx;
	assert_true(l->n < LIST_MAX && ml < sizeof(l->m[0]));
	l->s[l->n] = s;
	snprintf(l->m[l->n++], sizeof(l->m[0]), "%.*s", (int)ml, (const char *)m);
	return 0;
}

/* The members of "k" in score order, from its raw 'z' records (no cache):
 * those whose member's score (read from its record, the pending delete
 * applied) is the entry's. */
static void list_all(grove_db_t *db, listing_t *l)
{
	static const uint8_t pre[4] = { 'z', 0, 1, 'k' };
	grove_iter_t *it;
	l->n = 0;
	assert_int_equal(grove_iter_create(db->store, NULL, &it), 0);
	for (grove_iter_seek(it, pre, 4); grove_iter_valid(it); grove_iter_next(it)) {
		size_t kl;
		const uint8_t *kp = grove_iter_key(it, &kl);
		if (kl < 12 || memcmp(kp, pre, 4) != 0)
			break;
		char m[24];
		snprintf(m, sizeof(m), "%.*s", (int)(kl - 12), (const char *)kp + 12);
		double s = grove_zscore_from_key(kp + 4), now = NAN;
		if (grove_db_zset_score(db, K("k"), K(m), &now) == 0 && now == s)
			list_fn(l, m, strlen(m), s);
	}
	grove_iter_destroy(it);
}

/* Range reads (from the cached leaves when they hold them) against l:
 * ZRANGE 0 -1, ZREVRANGE 0 4, ZRANGE BYSCORE min +inf LIMIT o 5. */
static void ranges_are(grove_rng_t *r, grove_db_t *db, const listing_t *l)
{
	listing_t *got = grove_malloc(sizeof(*got));
	size_t *want = grove_malloc(LIST_MAX * sizeof(*want));
	assert_true(got && want);
	grove_zrange_t all = { .by = GROVE_ZRANGE_RANK, .start = 0, .stop = -1, .count = -1 };
	grove_zrange_t top = { .by = GROVE_ZRANGE_RANK, .start = 0, .stop = 4, .rev = true, .count = -1 };
	grove_zrange_t by = { .by = GROVE_ZRANGE_SCORE, .count = 5, .max = INFINITY };
	by.min = (double)grove_rng_below(r, 40) - 20;
	by.offset = grove_rng_below(r, 3);
	const grove_zrange_t *rs[3] = { &all, &top, &by };
	for (int q = 0; q < 3; q++) {
		size_t nw = 0, skip = 0; /* the expected reply: indexes into l */
		for (size_t i = 0; i < l->n; i++) {
			size_t j = q == 1 ? l->n - 1 - i : i;
			if ((q == 1 && nw == 5) || (q == 2 && nw == 5))
				break;
			if (q == 2 && (l->s[j] < by.min || skip++ < by.offset))
				continue;
			want[nw++] = j;
		}
		got->n = 0;
		int rc = grove_db_zset_range(db, K("k"), rs[q], list_fn, got);
		assert_true(rc == 0 || rc == GROVE_ENOTFOUND);
		for (size_t i = 0; i < nw || i < got->n; i++)
			if (i >= nw || i >= got->n || strcmp(got->m[i], l->m[want[i]]) != 0 ||
			    got->s[i] != l->s[want[i]])
				fail_msg("range %d: reply %zu is '%s', want '%s'", q, i,
					 i < got->n ? got->m[i] : "(none)", i < nw ? l->m[want[i]] : "(none)");
	}
	grove_free(want);
	grove_free(got);
}

/* ZRANK and ZREVRANK of m agree with its place in l (or it is absent). */
static void rank_is(grove_db_t *db, const listing_t *l, const char *m)
{
	size_t at = l->n;
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->m[i], m) == 0)
			at = i;
	uint64_t rank = UINT64_MAX;
	int rc = grove_db_zset_rank(db, K("k"), K(m), false, &rank, NULL);
	if (at == l->n) {
		assert_int_equal(rc, GROVE_ENOTFOUND);
		return;
	}
	assert_int_equal(rc, 0);
	if (rank != at)
		fail_msg("rank of '%s' is %llu, the walk says %zu (of %zu)", m,
			 (unsigned long long)rank, at, l->n);
	assert_int_equal(grove_db_zset_rank(db, K("k"), K(m), true, &rank, NULL), 0);
	assert_int_equal(rank, l->n - 1 - at);
}

static void member(grove_rng_t *r, char *out, size_t cap)
{
	snprintf(out, cap, "m%03u", (unsigned)grove_rng_below(r, MEMBERS));
}

/* One local write of "k" on db. */
static void write_op(grove_rng_t *r, grove_db_t *db)
{
	char m[24];
	member(r, m, sizeof(m));
	unsigned op = (unsigned)grove_rng_below(r, 100);
	double s = (double)grove_rng_below(r, 40) - 20, out;
	if (op < 45) /* a leaderboard: mostly new scores of the same members */
		assert_int_equal(grove_db_zset_add(db, K("k"), K(m), s, 0, NULL, NULL), 0);
	else if (op < 80)
		assert_int_equal(grove_db_zset_add(db, K("k"), K(m), (double)grove_rng_below(r, 3),
						   GROVE_ZADD_INCR, NULL, &out),
				 0);
	else
		assert_int_equal(grove_db_zset_remove(db, K("k"), K(m), NULL), 0);
}

/* Checks a few ranks (every member's when all), and the counts. */
static void check(grove_rng_t *r, grove_db_t *db, bool all)
{
	listing_t *l = grove_malloc(sizeof(*l));
	assert_non_null(l);
	list_all(db, l);
	ranges_are(r, db, l);
	char m[24];
	for (int i = 0; i < (all ? MEMBERS : 6); i++) {
		if (all)
			snprintf(m, sizeof(m), "m%03d", i);
		else
			member(r, m, sizeof(m));
		rank_is(db, l, m);
	}
	grove_free(l);
}

static void test_rank_leaf_cache(void **state)
{
	(void)state;
	grove_db__zrank_params_t saved = grove_db__zrank_params;
	grove_db__zrank_params = k_small;
	grove_test_reps_t reps;
	assert_int_equal(grove_test_reps_open(&reps, 2, "zleaf"), 0);
	grove_db_t *a = reps.db[0], *b = reps.db[1];
	grove_rng_t r;
	grove_rng_seed(&r, grove_test_storage_seed("test_db_zleaf rank leaf cache"));
	uint64_t h0 = atomic_load(&a->zleaf_hits), l0 = atomic_load(&a->zleaf_loads);
	uint64_t c0 = atomic_load(&a->zrank_counted), s0 = atomic_load(&a->zhint_hits);
	for (int step = 0; step < 900; step++) {
		unsigned op = (unsigned)grove_rng_below(&r, 1000);
		if (op < 880) {
			write_op(&r, a);
		} else if (op < 930) { /* a peer's writes merged */
			for (int i = 0; i < 4; i++)
				write_op(&r, b);
			assert_int_equal(grove_test_storage_copy_key(b, a, K("k")), 0);
			if (grove_rng_below(&r, 2))
				assert_int_equal(grove_test_storage_copy_key(a, b, K("k")), 0);
		} else if (op < 955) { /* deferred writes, then their sync */
			assert_int_equal(grove_db_defer_begin(a), 0);
			for (int i = 0; i < 6; i++) { /* reads see the store: not the queued writes */
				write_op(&r, a);
				check(&r, a, false);
			}
			assert_int_equal(grove_db_defer_sync(a, grove_db_defer_end(a)), 0);
		} else if (op < 980) { /* a transaction, read inside and after */
			assert_int_equal(grove_db_txn_begin(a), 0);
			for (int i = 0; i < 4; i++) {
				write_op(&r, a);
				check(&r, a, false);
			}
			assert_int_equal(grove_db_txn_commit(a), 0);
		} else if (op < 990) { /* DEL, purged now or later */
			bool gone;
			assert_int_equal(grove_db_delete(a, K("k"), &gone), 0);
			if (grove_rng_below(&r, 2))
				grove_db__purge_drain(a);
		} else { /* expiry: a deadline passes, the cycle removes the key */
			bool set;
			assert_int_equal(grove_db_expire(a, K("k"), reps.clk[0] + 5, 0, &set), 0);
			check(&r, a, false);
			reps.clk[0] += 10;
			uint64_t removed = 0;
			assert_int_equal(grove_db_expire_cycle(a, 100, &removed), 0);
			grove_db__purge_drain(a);
		}
		check(&r, a, step % 100 == 99);
	}
	grove_db__purge_drain(a);
	check(&r, a, true);
	/* the entries answered, and were installed by readers */
	assert_true(atomic_load(&a->zleaf_hits) - h0 > 1000);
	assert_true(atomic_load(&a->zleaf_loads) - l0 > 10);
	assert_true(atomic_load(&a->zrank_counted) - c0 > 2000); /* the counts answered */
	/* and the score hint, checked against the leaves, spared the record reads */
	assert_true(atomic_load(&a->zhint_hits) - s0 > 1000);
	assert_true(atomic_load(&a->zrank_passes) > 0);
	grove_test_reps_close(&reps);
	grove_db__zrank_params = saved;
}

/* Members m000.. of "k" with scores (i * 37) % MEMBERS, so insertion
 * order is not score order; the store's operations counted from member
 * count_from on (none: MEMBERS) to the end. */
static void fill_k(grove_db_t *db, int count_from)
{
	char m[24];
	for (int i = 0; i < MEMBERS; i++) {
		snprintf(m, sizeof(m), "m%03d", i);
		double s = (double)((i * 37) % MEMBERS);
		if (i == count_from)
			grove_test_ops_count(db);
		assert_int_equal(grove_db_zset_add(db, K("k"), K(m), s, 0, NULL, NULL), 0);
	}
	if (count_from < MEMBERS)
		grove_test_ops_uncount(db);
}

/* A fill with no read in between (members in one order, scores in
 * another): the passes that split leaves and supers keep the entries they
 * walked and carry the others, so every ZRANK after it finds its leaf in
 * memory (no walk: no load, no miss), and every rank is the walk's.
 * Once the writer's boundary cache holds the key, every write takes the
 * count records from it (they follow every write, and a pass leaves the
 * ones it wrote there) and every pass its supers, leaves, labels and the
 * entries of the leaves it splits: no write creates an iterator or reads
 * an 'r' record (a new member's ZADD reads the key's metadata only), and
 * the counts stay exact (checked against the 'z' records). */
static void test_rank_fill_known(void **state)
{
	(void)state;
	grove_db__zrank_params_t saved = grove_db__zrank_params;
	grove_db__zrank_params = k_small;
	grove_test_db_t t;
	assert_int_equal(grove_test_db_open(&t, "zfill", grove_test_leveldb), 0);
	char m[24];
	fill_k(t.db, MEMBERS / 2);
	uint64_t passes = atomic_load(&t.db->zrank_passes);
	assert_true(passes > 20); /* leaves and supers split all along */
	assert_int_equal(grove_test_ops.iters, 0);
	assert_true(grove_test_ops.gets <= MEMBERS / 2); /* the metadata, once per write */
	assert_int_equal(atomic_load(&t.db->zrank_drops), 0);
	bool present;
	assert_int_equal(grove_db__zrank_check(t.db, K("k"), &present), 0);
	assert_true(present);
	/* members below every other: the first leaf splits, and every leaf
	 * after it in its super moves up one place (the hint names leaves by
	 * their ids, which they keep) */
	for (int i = 0; i < 12; i++) {
		snprintf(m, sizeof(m), "low%02d", i);
		assert_int_equal(grove_db_zset_add(t.db, K("k"), K(m), -1.0 - i, 0, NULL, NULL), 0);
	}
	uint64_t l0 = atomic_load(&t.db->zleaf_loads);
	listing_t *l = grove_malloc(sizeof(*l));
	assert_non_null(l);
	list_all(t.db, l);
	assert_int_equal(l->n, MEMBERS + 12);
	/* the hint still finds the members of the leaves that moved: the
	 * ZRANK and ZREVRANK of each member are answered from it (m000, of
	 * score 0, is read from its record: the index keeps -0 as +0; the
	 * hint is lossy and a background thread holding the stripe's lock
	 * makes a reader walk: a few spare) */
	int hinted = 0;
	for (int i = 1; i < MEMBERS; i++) {
		snprintf(m, sizeof(m), "m%03d", i);
		uint64_t s0 = atomic_load(&t.db->zhint_hits);
		rank_is(t.db, l, m);
		hinted += atomic_load(&t.db->zhint_hits) - s0 == 2;
	}
	assert_true(hinted >= MEMBERS - 6);
	for (int i = 0; i < MEMBERS; i++) {
		snprintf(m, sizeof(m), "m%03d", i);
		/* a ZRANK that finds the stripe's lock held by a background
		 * thread walks the store (and installs nothing): up to 100 tries
		 * until one reads the leaf from memory */
		uint64_t h0 = 0;
		for (int try = 0; try < 100; try++) {
			h0 = atomic_load(&t.db->zleaf_hits);
			rank_is(t.db, l, m);
			if (atomic_load(&t.db->zleaf_hits) > h0)
				break;
		}
		assert_true(atomic_load(&t.db->zleaf_hits) > h0);
	}
	/* the hints ahead of pipelined ZRANKs: a member of the key the cache
	 * holds gets one, another key, a member too long for the hint or no
	 * key none; their steps read nothing that is not there, whatever the
	 * hint (run under ASan) */
	uint64_t hint = 0;
	for (int try = 0; try < 100 && !hint; try++) /* a background thread may hold the lock */
		hint = grove_db_zrank_prefetch(t.db, K("k"), K("m001"));
	assert_true(hint != 0);
	assert_int_equal(grove_db_zrank_prefetch(t.db, K("other"), K("m001")), 0);
	assert_int_equal(grove_db_zrank_prefetch(t.db, NULL, 0, K("m001")), 0);
	static char longm[300];
	memset(longm, 'x', sizeof(longm));
	assert_int_equal(grove_db_zrank_prefetch(t.db, K("k"), longm, sizeof(longm)), 0);
	static const uint64_t hints[] = { 1, 2, UINT64_MAX, 0x1234567887654321u };
	for (int step = 1; step <= 2; step++) {
		grove_db_zrank_prefetch_step(t.db, K("k"), hint, step);
		for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++)
			grove_db_zrank_prefetch_step(t.db, K("k"), hints[i], step);
		grove_db_zrank_prefetch_step(t.db, K("other"), hint, step);
	}
	grove_free(l);
	assert_int_equal(atomic_load(&t.db->zleaf_loads), l0);
	grove_test_db_close(&t);
	grove_db__zrank_params = saved;
}

/* A fill with no read in between whose scores come in another order
 * than its writes (as bench_zset.sh's): passes split leaves all over the
 * set and split supers, so most leaves end far from the place they had
 * when their members were written.  The hint must still name each
 * member's leaf: the ZRANKs right after the fill find their members in
 * memory and read no member record.  (With the hint naming places
 * (super, leaf), 4 of 5 members of a 10^6 fill named a place another
 * leaf held by its end, and each of their ZRANKs read the member's
 * record from the store.) */
static void test_rank_fill_hinted(void **state)
{
	(void)state;
	grove_db__zrank_params_t saved = grove_db__zrank_params;
	grove_db__zrank_params = k_small;
	grove_test_db_t t;
	assert_int_equal(grove_test_db_open(&t, "zhinted", grove_test_leveldb), 0);
	enum { N = 1200 };
	char m[24];
	/* scores 1..N, a permutation of the write order (so member i's rank
	 * is its score - 1; no score 0, which ZRANK reads from the record) */
	for (int i = 0; i < N; i++) {
		snprintf(m, sizeof(m), "m%05d", i);
		double s = 1.0 + (double)((i * 7919) % N);
		assert_int_equal(grove_db_zset_add(t.db, K("k"), K(m), s, 0, NULL, NULL), 0);
	}
	assert_true(atomic_load(&t.db->zrank_passes) > N / 8); /* leaves and supers split all along */
	grove_test_ops_count(t.db);
	uint64_t h0 = atomic_load(&t.db->zhint_hits);
	for (int i = 0; i < N; i++) {
		snprintf(m, sizeof(m), "m%05d", i);
		uint64_t rank = UINT64_MAX;
		assert_int_equal(grove_db_zset_rank(t.db, K("k"), K(m), false, &rank, NULL), 0);
		assert_int_equal(rank, (uint64_t)((i * 7919) % N));
	}
	/* the hint is lossy (8 ways a set) and a ZRANK that finds the stripe's
	 * lock held by a background thread reads the record: 2% spare */
	uint64_t hinted = atomic_load(&t.db->zhint_hits) - h0, gets = grove_test_ops.gets;
	grove_test_ops_uncount(t.db);
	if (hinted < N * 98 / 100 || gets > N / 50)
		fail_msg("after the fill %llu of %d ZRANKs found their leaf through the hint, "
			 "%llu store reads", (unsigned long long)hinted, N, (unsigned long long)gets);
	grove_test_db_close(&t);
	grove_db__zrank_params = saved;
}

/* After a restart the caches are empty and a read-only workload must
 * fill them: the second ZRANK in a row of the key loads its boundaries
 * (a reader, the stripe's cache empty), the ZRANKs after it install the
 * leaves they walk and the next ones of the super, and every rank stays
 * the walk's, also after writes. */
static void test_rank_reader_load(void **state)
{
	(void)state;
	grove_db__zrank_params_t saved = grove_db__zrank_params;
	grove_db__zrank_params = k_small;
	grove_test_db_t t;
	assert_int_equal(grove_test_db_open(&t, "zreload", true), 0);
	char m[24];
	fill_k(t.db, MEMBERS);
	grove_db_close(t.db);
	assert_int_equal(grove_test_storage_db_open(t.dir, "node-a", &t.clock_ms,
						    GROVE_DURABILITY_NONE, &t.db), 0);
	grove_db_key_t k;
	assert_int_equal(grove_db__key_prepare(&k, K("k")), 0);
	grove_db_stripe_t *st = &t.db->stripes[k.stripe];
	assert_null(st->zr);
	listing_t *l = grove_malloc(sizeof(*l));
	assert_non_null(l);
	list_all(t.db, l);

	assert_int_equal(l->n, MEMBERS);
	/* ZRANKs until one loads (a background thread holding the stripe's
	 * lock makes a reader skip the load: up to 100 rounds) */
	for (int i = 0; i < 100 && !st->zr; i++) {
		snprintf(m, sizeof(m), "m%03d", i % MEMBERS);
		rank_is(t.db, l, m);
	}
	assert_non_null(st->zr);
	assert_int_equal(atomic_load(&t.db->zrcache_reader_loads), 1);
	uint64_t l0 = atomic_load(&t.db->zleaf_loads), h0 = atomic_load(&t.db->zleaf_hits);
	/* the ZRANK that walks the first leaf installs the next ones of its
	 * super too (up to 100 tries: a held lock makes it install nothing) */
	for (int i = 0; i < 100 && atomic_load(&t.db->zleaf_loads) == l0; i++)
		rank_is(t.db, l, "m000"); /* score 0: the first leaf */
	assert_true(atomic_load(&t.db->zleaf_loads) >= l0 + 3);
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < MEMBERS; i++) {
			snprintf(m, sizeof(m), "m%03d", i);
			rank_is(t.db, l, m);
		}
	assert_true(atomic_load(&t.db->zleaf_loads) > l0);  /* the walks installed leaves */
	assert_true(atomic_load(&t.db->zleaf_hits) > h0 + MEMBERS / 2); /* which answered */
	/* writes keep what the reader loaded exact */
	for (int i = 0; i < 20; i++) {
		snprintf(m, sizeof(m), "m%03d", i * 7);
		assert_int_equal(grove_db_zset_add(t.db, K("k"), K(m), 1000.0 + i, 0, NULL, NULL), 0);
	}
	list_all(t.db, l);
	for (int i = 0; i < MEMBERS; i++) {
		snprintf(m, sizeof(m), "m%03d", i);
		rank_is(t.db, l, m);
	}
	assert_int_equal(atomic_load(&t.db->zrcache_reader_loads), 1);
	/* after another restart, a ZRANK reads the member's record (the
	 * rank cache is empty): through the element record cache, which
	 * keeps it and the key's head and metadata, and none of the member's
	 * neighbours (a point read's miss fills up to 256) */
	grove_db_close(t.db);
	assert_int_equal(grove_test_storage_db_open(t.dir, "node-a", &t.clock_ms,
						    GROVE_DURABILITY_NONE, &t.db), 0);
	uint64_t rank = 0;
	assert_int_equal(grove_db_zset_rank(t.db, K("k"), K("m000"), false, &rank, NULL), 0);
	grove_db_stats_t gs;
	grove_db_stats(t.db, &gs);
	assert_true(gs.elem_cache_entries <= 3);
	grove_free(l);
	grove_test_db_close(&t);
	grove_db__zrank_params = saved;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leaf_ops),
		cmocka_unit_test(test_leaf_room),
		cmocka_unit_test(test_prefix_groups),
		cmocka_unit_test(test_hint_locator),
		cmocka_unit_test(test_hint_two_sets),
		GROVE_TEST_FLAG_BOTH_BACKENDS(test_rank_leaf_cache),
		cmocka_unit_test(test_rank_fill_known),
		cmocka_unit_test(test_rank_fill_hinted),
		cmocka_unit_test(test_rank_reader_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
