/*
 * test_db_zset.c - sorted sets (storage/db_zset.c, crdt/zscore.c): local
 * operations and the Redis rules of ZADD's flags, ranges by rank, score and
 * lex in both directions, the score index after deletes and purges (no
 * index record left), restart, the documented convergence rule of scores
 * (ZINCRBY from two nodes adds up; a ZADD concurrent with a ZINCRBY keeps
 * the increment; a ZADD resets what it saw), and a property test of random
 * histories on 3..5 replicas with partial item-by-item exchanges against a
 * reference model (both backends).
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
#include "storage/store.h"
#include "tests/util_storage.h"

#define K(s) s, strlen(s)

#if defined(__SANITIZE_ADDRESS__)
#define PROP_SEEDS_MEMORY 3
#define PROP_SEEDS_LEVELDB 1
#else
#define PROP_SEEDS_MEMORY 8
#define PROP_SEEDS_LEVELDB 2
#endif

/* ---- helpers ---- */

typedef struct zlist {
	char m[64][32];
	double s[64];
	size_t n;
} zlist_t;

static int zlist_fn(void *ctx, const void *m, size_t ml, double s)
{
	zlist_t *l = ctx;
	if (l->n < 64) {
		snprintf(l->m[l->n], 32, "%.*s", (int)ml, (const char *)m);
		l->s[l->n++] = s;
	}
	return 0;
}

/* The members of a range joined by spaces. */
static const char *range_str(grove_db_t *db, const char *key, const grove_zrange_t *r)
{
	static char out[1024];
	zlist_t l = { 0 };
	assert_int_equal(grove_db_zset_range(db, K(key), r, zlist_fn, &l), 0);
	out[0] = '\0';
	for (size_t i = 0; i < l.n; i++) {
		strcat(out, i ? " " : "");
		strcat(out, l.m[i]);
	}
	return out;
}

static const char *by_rank(grove_db_t *db, const char *key, int64_t a, int64_t b, bool rev)
{
	grove_zrange_t r = { .by = GROVE_ZRANGE_RANK, .start = a, .stop = b, .rev = rev, .count = -1 };
	return range_str(db, key, &r);
}

static double zscore(grove_db_t *db, const char *key, const char *m)
{
	double s = NAN;
	int rc = grove_db_zset_score(db, K(key), K(m), &s);
	return rc == 0 ? s : NAN;
}

static int zadd(grove_db_t *db, const char *key, const char *m, double s, unsigned flags)
{
	int result = -1;
	assert_int_equal(grove_db_zset_add(db, K(key), K(m), s, flags, &result, NULL), 0);
	return result;
}

static uint64_t zcard(grove_db_t *db, const char *key)
{
	uint64_t n = 0;
	assert_int_equal(grove_db_coll_count(db, K(key), GROVE_TYPE_ZSET, &n), 0);
	return n;
}

/* The records whose key starts with pre, each value to visit (NULL:
 * none) with ctx; returns how many. */
static uint64_t records_visit(grove_db_t *db, const void *pre, size_t plen,
			      void (*visit)(void *ctx, const uint8_t *val, size_t vlen), void *ctx)
{
	grove_iter_t *it;
	uint64_t n = 0;
	assert_int_equal(grove_iter_create(db->store, NULL, &it), 0);
	for (grove_iter_seek(it, pre, plen); grove_iter_valid(it); grove_iter_next(it)) {
		size_t kl, vl;
		const uint8_t *k = grove_iter_key(it, &kl);
		if (kl < plen || memcmp(k, pre, plen) != 0)
			break;
		const uint8_t *v = grove_iter_value(it, &vl);
		if (visit)
			visit(ctx, v, vl);
		n++;
	}
	grove_iter_destroy(it);
	return n;
}

static uint64_t records_with_key_prefix(grove_db_t *db, const void *pre, size_t plen)
{
	return records_visit(db, pre, plen, NULL, NULL);
}

static uint64_t records_with_prefix(grove_db_t *db, char pfx)
{
	return records_with_key_prefix(db, &pfx, 1);
}

/* ---- local operations ---- */

static void test_local_ops(void **state)
{
	(void)state;
	grove_test_db_t t;
	assert_int_equal(grove_test_db_open(&t, "zset", grove_test_leveldb), 0);
	grove_db_t *db = t.db;
	assert_int_equal(zadd(db, "z", "a", 1, 0), 1);
	assert_int_equal(zadd(db, "z", "b", 2, 0), 1);
	assert_int_equal(zadd(db, "z", "c", 3, 0), 1);
	assert_int_equal(zadd(db, "z", "d", -INFINITY, 0), 1);
	assert_int_equal(zadd(db, "z", "e", INFINITY, 0), 1);
	assert_int_equal(zadd(db, "z", "a", 1, 0), 0); /* same score: unchanged */
	assert_int_equal(zadd(db, "z", "a", 1.5, 0), 2);
	assert_int_equal(zcard(db, "z"), 5);
	assert_string_equal(by_rank(db, "z", 0, -1, false), "d a b c e");
	assert_string_equal(by_rank(db, "z", 0, 1, true), "e c");
	assert_string_equal(by_rank(db, "z", -2, -1, false), "c e");
	assert_string_equal(by_rank(db, "z", 3, 100, false), "c e");
	assert_string_equal(by_rank(db, "z", 4, 2, false), "");
	/* flags */
	assert_int_equal(zadd(db, "z", "a", 9, GROVE_ZADD_NX), 0);
	assert_true(zscore(db, "z", "a") == 1.5);
	assert_int_equal(zadd(db, "z", "x", 9, GROVE_ZADD_XX), 0);
	assert_true(isnan(zscore(db, "z", "x")));
	assert_int_equal(zadd(db, "z", "a", 1, GROVE_ZADD_GT), 0);
	assert_int_equal(zadd(db, "z", "a", 2, GROVE_ZADD_GT), 2);
	assert_int_equal(zadd(db, "z", "a", 3, GROVE_ZADD_LT), 0);
	assert_int_equal(zadd(db, "z", "a", 1.25, GROVE_ZADD_LT | GROVE_ZADD_XX), 2);
	assert_int_equal(zadd(db, "z", "new", 7, GROVE_ZADD_GT), 1); /* GT adds new members */
	assert_int_equal(grove_db_zset_add(db, K("z"), K("a"), 1, GROVE_ZADD_NX | GROVE_ZADD_GT, NULL,
					   NULL), GROVE_EINVAL);
	double out;
	assert_int_equal(grove_db_zset_add(db, K("z"), K("a"), 0.25, GROVE_ZADD_INCR, NULL, &out), 0);
	assert_true(out == 1.5);
	assert_int_equal(grove_db_zset_add(db, K("z"), K("e"), -INFINITY, GROVE_ZADD_INCR, NULL, &out),
			 GROVE_ERANGE); /* inf + -inf */
	assert_int_equal(grove_db_zset_add(db, K("z"), K("i"), 4, GROVE_ZADD_INCR, NULL, &out), 0);
	assert_true(out == 4);
	/* ranges by score and lex */
	grove_zrange_t r = { .by = GROVE_ZRANGE_SCORE, .min = 1.5, .max = 4, .count = -1 };
	assert_string_equal(range_str(db, "z", &r), "a b c i");
	r.min_excl = true;
	assert_string_equal(range_str(db, "z", &r), "b c i");
	r.rev = true;
	assert_string_equal(range_str(db, "z", &r), "i c b");
	r.offset = 1;
	r.count = 1;
	assert_string_equal(range_str(db, "z", &r), "c");
	r.rev = false;
	assert_string_equal(range_str(db, "z", &r), "c");
	grove_zrange_t all = { .by = GROVE_ZRANGE_SCORE, .min = -INFINITY, .max = INFINITY,
			       .count = -1 };
	assert_string_equal(range_str(db, "z", &all), "d a b c i new e");
	uint64_t n;
	assert_int_equal(grove_db_zset_count(db, K("z"), &all, &n), 0);
	assert_int_equal(n, 7);
	assert_int_equal(zadd(db, "l", "b", 0, 0), 1);
	assert_int_equal(zadd(db, "l", "a", 0, 0), 1);
	assert_int_equal(zadd(db, "l", "ab", 0, 0), 1);
	assert_int_equal(zadd(db, "l", "c", 0, 0), 1);
	grove_zrange_t lex = { .by = GROVE_ZRANGE_LEX, .lmin = "a", .lmin_len = 1, .min_excl = true,
			       .lmax_inf = 1, .count = -1 };
	assert_string_equal(range_str(db, "l", &lex), "ab b c");
	lex.rev = true;
	assert_string_equal(range_str(db, "l", &lex), "c b ab");
	/* rank */
	uint64_t rank;
	double s;
	assert_int_equal(grove_db_zset_rank(db, K("z"), K("c"), false, &rank, &s), 0);
	assert_int_equal(rank, 3);
	assert_true(s == 3);
	assert_int_equal(grove_db_zset_rank(db, K("z"), K("c"), true, &rank, &s), 0);
	assert_int_equal(rank, 3);
	assert_int_equal(grove_db_zset_rank(db, K("z"), K("nope"), false, &rank, &s), GROVE_ENOTFOUND);
	/* remove */
	bool removed;
	assert_int_equal(grove_db_zset_remove(db, K("z"), K("b"), &removed), 0);
	assert_true(removed);
	assert_int_equal(grove_db_zset_remove(db, K("z"), K("b"), &removed), 0);
	assert_false(removed);
	assert_int_equal(zcard(db, "z"), 6);
	assert_int_equal(records_with_prefix(db, 'z'), 6 + 4);
	/* types */
	grove_type_t ty;
	assert_int_equal(grove_db_type(db, K("z"), &ty), 0);
	assert_int_equal(ty, GROVE_TYPE_ZSET);
	assert_int_equal(grove_db_set_add(db, K("z"), K("m"), NULL), GROVE_EWRONGTYPE);
	assert_int_equal(grove_db_zset_add(db, K("l"), K("m"), 1, 0, NULL, NULL), 0);
	assert_int_equal(grove_db_set_add(db, K("s"), K("m"), NULL), 0);
	assert_int_equal(grove_db_zset_add(db, K("s"), K("m"), 1, 0, NULL, NULL), GROVE_EWRONGTYPE);
	assert_int_equal(grove_db_zset_score(db, K("s"), K("m"), &s), GROVE_EWRONGTYPE);
	assert_int_equal(grove_db_coll_count(db, K("s"), GROVE_TYPE_ZSET, &n), GROVE_EWRONGTYPE);
	/* delete: empty at once, index records purged; recreated fresh */
	bool existed;
	assert_int_equal(grove_db_delete(db, K("z"), &existed), 0);
	assert_true(existed);
	grove_db__purge_drain(db);
	assert_int_equal(zcard(db, "z"), 0);
	assert_string_equal(by_rank(db, "z", 0, -1, false), "");
	assert_true(isnan(zscore(db, "z", "a")));
	assert_int_equal(grove_db_delete(db, K("l"), &existed), 0);
	grove_db__purge_drain(db);
	assert_int_equal(records_with_prefix(db, 'z'), 0);
	assert_int_equal(records_with_prefix(db, 'e') , 1); /* the set's member */
	assert_int_equal(zadd(db, "z", "a", 5, 0), 1);
	assert_string_equal(by_rank(db, "z", 0, -1, false), "a");
	assert_int_equal(grove_db_counter_add(db, K("l"), 1, NULL), 0); /* a deleted zset takes any type */
	/* scan: member order with scores */
	assert_int_equal(zadd(db, "z", "b", 1, 0), 1);
	grove_test_db_close(&t);
}

/* A big set: the index serves the first entries without walking it all. */
static void test_index_cost(void **state)
{
	(void)state;
	grove_test_db_t t;
	assert_int_equal(grove_test_db_open(&t, "zcost", grove_test_leveldb), 0);
	char m[16];
	for (int i = 0; i < 3000; i++) {
		snprintf(m, sizeof(m), "m%05d", i);
		assert_int_equal(zadd(t.db, "big", m, (i * 7919) % 3000, 0), 1);
	}
	grove_zrange_t r = { .by = GROVE_ZRANGE_SCORE, .min = 1500, .max = INFINITY, .count = 3 };
	zlist_t l = { 0 };
	assert_int_equal(grove_db_zset_range(t.db, K("big"), &r, zlist_fn, &l), 0);
	assert_int_equal(l.n, 3);
	assert_true(l.s[0] == 1500 && l.s[1] == 1501 && l.s[2] == 1502);
	uint64_t rank;
	snprintf(m, sizeof(m), "m%05d", 0);
	assert_int_equal(grove_db_zset_rank(t.db, K("big"), K(m), false, &rank, NULL), 0);
	assert_int_equal(rank, 0);
	assert_int_equal(zcard(t.db, "big"), 3000);
	/* restart (leveldb): the index is durable */
	if (t.dir) {
		grove_db_close(t.db);
		assert_int_equal(grove_test_storage_db_open(t.dir, "node-a", &t.clock_ms,
							    GROVE_DURABILITY_NONE, &t.db), 0);
		l.n = 0;
		assert_int_equal(grove_db_zset_range(t.db, K("big"), &r, zlist_fn, &l), 0);
		assert_int_equal(l.n, 3);
		assert_true(l.s[0] == 1500);
	}
	grove_test_db_close(&t);
}

/* A lex range against the walk it stands for (every entry in (score,
 * member) order: those below its bound in the walk's direction skipped,
 * stopping at the first past the other), the members joined by spaces. */
static const char *lex_model(const zlist_t *all, const grove_zrange_t *r)
{
	static char out[1024];
	out[0] = '\0';
	size_t n = 0;
	for (size_t k = 0; k < all->n; k++) {
		const char *m = all->m[r->rev ? all->n - 1 - k : k];
		int lo = r->lmin_inf ? (r->lmin_inf < 0 ? 1 : -1) : strcmp(m, r->lmin);
		int hi = r->lmax_inf ? (r->lmax_inf > 0 ? -1 : 1) : strcmp(m, r->lmax);
		bool below = r->min_excl ? lo <= 0 : lo < 0, above = r->max_excl ? hi >= 0 : hi > 0;
		if (r->rev ? above : below)
			continue;
		if (r->rev ? below : above)
			break;
		strcat(out, n++ ? " " : "");
		strcat(out, m);
	}
	return out;
}

/* ZRANGE BYLEX, ZREVRANGE BYLEX and ZLEXCOUNT seek to their bound at the
 * first (last) entry's score: with every score equal (ZRANGEBYLEX's use)
 * a range of 3 in 2,000 members after a restart (no rank cache: the
 * store's index is walked) steps over a few entries, not the ~1,900
 * before it; with scores that differ the replies are the walk's. */
static void test_lex_seek(void **state)
{
	(void)state;
	grove_test_db_t t;
	assert_int_equal(grove_test_db_open(&t, "zlex", true), 0);
	char m[16];
	for (int i = 0; i < 2000; i++) {
		snprintf(m, sizeof(m), "m%04d", (i * 7919) % 2000);
		assert_int_equal(zadd(t.db, "lex", m, 0, 0), 1);
	}
	for (int i = 0; i < 40; i++) { /* and a key of mixed scores */
		snprintf(m, sizeof(m), "%c%02d", 'a' + i % 5, i);
		assert_int_equal(zadd(t.db, "mix", m, i % 3, 0), 1);
	}
	grove_db_close(t.db);
	assert_int_equal(grove_test_storage_db_open(t.dir, "node-a", &t.clock_ms,
						    GROVE_DURABILITY_NONE, &t.db), 0);
	grove_zrange_t r = { .by = GROVE_ZRANGE_LEX, .lmin = "m1900", .lmin_len = 5, .min_excl = true,
			     .lmax = "m1903", .lmax_len = 5, .count = -1 };
	grove_test_ops_count(t.db);
	assert_string_equal(range_str(t.db, "lex", &r), "m1901 m1902 m1903");
	r.rev = true;
	assert_string_equal(range_str(t.db, "lex", &r), "m1903 m1902 m1901");
	r.rev = false;
	uint64_t n = 0;
	assert_int_equal(grove_db_zset_count(t.db, K("lex"), &r, &n), 0);
	assert_int_equal(n, 3);
	r.lmin_inf = 1; /* from '+': nothing */
	assert_string_equal(range_str(t.db, "lex", &r), "");
	if (grove_test_ops.nexts + grove_test_ops.prevs > 40)
		fail_msg("4 lex ranges of 3 stepped %llu entries",
			 (unsigned long long)(grove_test_ops.nexts + grove_test_ops.prevs));
	grove_test_ops_uncount(t.db);
	/* mixed scores: the walk's replies, whatever the bounds */
	zlist_t all = { 0 };
	grove_zrange_t every = { .by = GROVE_ZRANGE_RANK, .start = 0, .stop = -1, .count = -1 };
	assert_int_equal(grove_db_zset_range(t.db, K("mix"), &every, zlist_fn, &all), 0);
	assert_int_equal(all.n, 40);
	static const char *const bounds[] = { "", "a", "b05", "b06", "c", "d99", "e", "zz" };
	for (size_t i = 0; i < 8 * 8 * 16; i++) {
		grove_zrange_t q = { .by = GROVE_ZRANGE_LEX, .count = -1 };
		q.lmin = bounds[i % 8];
		q.lmin_len = strlen(q.lmin);
		q.lmax = bounds[i / 8 % 8];
		q.lmax_len = strlen(q.lmax);
		q.min_excl = i / 64 & 1;
		q.max_excl = i / 128 & 1;
		q.rev = i / 256 & 1;
		q.lmin_inf = i / 512 & 1 ? -1 : 0;
		q.lmax_inf = i / 512 & 1 ? 1 : 0;
		char want[1024];
		snprintf(want, sizeof(want), "%s", lex_model(&all, &q));
		assert_string_equal(range_str(t.db, "mix", &q), want);
		n = 0;
		q.rev = false;
		assert_int_equal(grove_db_zset_count(t.db, K("mix"), &q, &n), 0);
		size_t words = 0;
		const char *fwd = lex_model(&all, &q);
		for (const char *p = fwd; *p; p++)
			words += p == fwd || p[-1] == ' ';
		assert_int_equal(n, words);
	}
	grove_test_db_close(&t);
}

/* ---- the counted index (storage/db_zrank.c): ZRANK from counts ---- */

/* Small buckets, so a few hundred members have many leaves and supers. */
static const grove_db__zrank_params_t k_small = {
	.leaf_max = 8, .leaf_fill = 4, .leaf_min = 2,
	.super_max = 32, .super_fill = 16, .super_min = 6, .build_min = 4,
	.label_gap = 4, /* splits soon find no label free: the super is relabelled */
	.group = 3,     /* the supers' counts in many group records, the last one short */
};

typedef struct rent {
	char m[40];
	double s;
} rent_t;

static int rent_cmp(const void *a, const void *b)
{
	const rent_t *x = a, *y = b;
	if (x->s != y->s)
		return x->s < y->s ? -1 : 1;
	return strcmp(x->m, y->m);
}

/* Members: empty, short, long with shared prefixes; scores with ties. */
static void rmember(uint32_t e, char *out, size_t cap)
{
	switch (e % 5) {
	case 0:
		snprintf(out, cap, "%s", e == 0 ? "" : "a");
		if (e >= 5)
			snprintf(out, cap, "%u", e);
		break;
	case 1:
		snprintf(out, cap, "member:%u", e);
		break;
	case 2:
		snprintf(out, cap, "a-long-shared-prefix:%u", e);
		break;
	case 3:
		snprintf(out, cap, "a-long-shared-prefix:%u:x", e / 2);
		break;
	default:
		snprintf(out, cap, "m%u", e);
		break;
	}
}

/* ZADDs members m000.. of key with scores spread over [0, n) (i * 37 mod n,
 * so insertion order is not score order), recorded in mod; returns n. */
static size_t fill_spread(grove_db_t *db, const char *key, rent_t *mod, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		snprintf(mod[i].m, sizeof(mod[i].m), "m%03zu", i);
		mod[i].s = (double)((i * 37) % n);
		zadd(db, key, mod[i].m, mod[i].s, 0);
	}
	return n;
}

/* Every member's rank both ways against the model; the counts match the
 * score index. */
static void rank_check(grove_db_t *db, const char *key, rent_t *mod, size_t n)
{
	qsort(mod, n, sizeof(*mod), rent_cmp);
	assert_int_equal(zcard(db, key), n);
	bool present;
	assert_int_equal(grove_db__zrank_check(db, K(key), &present), 0);
	for (size_t i = 0; i < n; i++) {
		uint64_t rank = UINT64_MAX;
		double sc = NAN;
		assert_int_equal(grove_db_zset_rank(db, K(key), K(mod[i].m), false, &rank, &sc), 0);
		if (rank != i)
			fail_msg("%s: rank of '%s' (%g) is %llu, want %zu", key, mod[i].m, mod[i].s,
				 (unsigned long long)rank, i);
		assert_true(sc == mod[i].s);
		assert_int_equal(grove_db_zset_rank(db, K(key), K(mod[i].m), true, &rank, NULL), 0);
		assert_int_equal(rank, n - 1 - i);
	}
	uint64_t rank;
	assert_int_equal(grove_db_zset_rank(db, K(key), K("absent!"), false, &rank, NULL),
			 GROVE_ENOTFOUND);
}

static size_t rfind(const rent_t *mod, size_t n, const char *m)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(mod[i].m, m) == 0)
			return i;
	return n;
}

/* One random write on key "k" (model mod, n members); pops and deletes
 * only when not deferred (they read the store first). */
static void rank_op(grove_rng_t *r, grove_db_t *db, rent_t *mod, size_t *n, bool deferred)
{
	enum { E = 160 };
	char m[40];
	uint32_t e = (uint32_t)grove_rng_below(r, E);
	rmember(e, m, sizeof(m));
	size_t at = rfind(mod, *n, m);
	int op = (int)grove_rng_below(r, 100);
	double sc = (double)((int)grove_rng_below(r, 9) - 4) * (grove_rng_below(r, 4) ? 1 : 1e9);
	if (op < 50) { /* ZADD */
		zadd(db, "k", m, sc, 0);
		if (at == *n)
			snprintf(mod[(*n)++].m, sizeof(mod[0].m), "%s", m);
		mod[at].s = sc;
	} else if (op < 68) { /* ZINCRBY */
		double d = (double)((int)grove_rng_below(r, 5) - 2), out;
		assert_int_equal(grove_db_zset_add(db, K("k"), K(m), d, GROVE_ZADD_INCR, NULL, &out), 0);
		if (at == *n) {
			snprintf(mod[(*n)++].m, sizeof(mod[0].m), "%s", m);
			mod[at].s = 0;
		}
		mod[at].s += d;
		assert_true(out == mod[at].s);
	} else if (op < 85) { /* ZREM */
		bool removed;
		assert_int_equal(grove_db_zset_remove(db, K("k"), K(m), &removed), 0);
		assert_int_equal(removed, at < *n);
		if (at < *n)
			mod[at] = mod[--*n];
	} else if (op < 98 && *n && !deferred) { /* ZPOPMIN: the lowest */
		qsort(mod, *n, sizeof(*mod), rent_cmp);
		assert_string_equal(by_rank(db, "k", 0, 0, false), mod[0].m);
		assert_int_equal(grove_db_zset_remove(db, K("k"), K(mod[0].m), NULL), 0);
		mod[0] = mod[--*n];
	} else if (op >= 98 && !deferred && grove_rng_below(r, 3) == 0) { /* DEL, purge */
		bool gone;
		assert_int_equal(grove_db_delete(db, K("k"), &gone), 0);
		*n = 0;
		if (grove_rng_below(r, 2))
			grove_db__purge_drain(db);
	}
}

/* Random ZADD/ZINCRBY/ZREM/pops/DEL, a third of them in deferred batches
 * (the writers then see each other's counts pending, and passes wait for
 * a quiet write): ranks against a sorted model, counts recomputed. */
static void test_rank_counted(void **state)
{
	(void)state;
	grove_db__zrank_params_t saved = grove_db__zrank_params;
	grove_db__zrank_params = k_small;
	grove_test_db_t t;
	assert_int_equal(grove_test_db_open(&t, "zrankc", grove_test_leveldb), 0);
	grove_rng_t r;
	grove_rng_seed(&r, grove_test_storage_seed("test_db_zset rank counted"));
	rent_t mod[200];
	size_t n = 0;
	uint64_t counted0 = atomic_load(&t.db->zrank_counted);
	for (int step = 0; step < 36; step++) {
		bool deferred = step % 3 == 1;
		if (deferred)
			assert_int_equal(grove_db_defer_begin(t.db), 0);
		for (int i = 0; i < 40; i++)
			rank_op(&r, t.db, mod, &n, deferred);
		if (deferred)
			assert_int_equal(grove_db_defer_sync(t.db, grove_db_defer_end(t.db)), 0);
		if (step % 6 == 5) {
			grove_db__purge_drain(t.db);
			rank_check(t.db, "k", mod, n);
		}
	}
	grove_db__purge_drain(t.db);
	zadd(t.db, "k", "last", 0.5, 0); /* a quiet write: counts rebuilt after a purge */
	if (rfind(mod, n, "last") == n)
		snprintf(mod[n++].m, sizeof(mod[0].m), "last");
	mod[rfind(mod, n, "last")].s = 0.5;
	rank_check(t.db, "k", mod, n);
	bool present;
	assert_int_equal(grove_db__zrank_check(t.db, K("k"), &present), 0);
	assert_true(present || n < k_small.build_min);
	assert_true(atomic_load(&t.db->zrank_counted) > counted0); /* the counts answered */
	assert_true(atomic_load(&t.db->zrank_passes) > 0);
	assert_int_equal(atomic_load(&t.db->zrank_drops), 0);
	/* everything removed: the counts stay, all zero, then the key goes */
	for (size_t i = 0; i < n; i++)
		assert_int_equal(grove_db_zset_remove(t.db, K("k"), K(mod[i].m), NULL), 0);
	assert_int_equal(records_with_prefix(t.db, 'z'), 0);
	assert_int_equal(grove_db__zrank_check(t.db, K("k"), &present), 0);
	grove_test_db_close(&t);
	grove_db__zrank_params = saved;
}

/* t opened with small buckets (k_small; the caller restores the params),
 * key "k" filled with n members (fill_spread) and its ranks checked. */
static size_t rank_open(grove_test_db_t *t, const char *name, rent_t *mod, size_t n)
{
	grove_db__zrank_params = k_small;
	assert_int_equal(grove_test_db_open(t, name, grove_test_leveldb), 0);
	fill_spread(t->db, "k", mod, n);
	rank_check(t->db, "k", mod, n);
	return n;
}

/* Stores without counts (written before them, or restored from a backup
 * without them): ZRANK walks, the next write builds them; a damaged count
 * found by a pass drops them. */
static void test_rank_migration(void **state)
{
	(void)state;
	grove_db__zrank_params_t saved = grove_db__zrank_params;
	grove_test_db_t t;
	rent_t mod[100];
	size_t n = rank_open(&t, "zrankm", mod, 100);
	/* every 'r' record gone: as in a store of format 4 */
	grove_batch_t b;
	grove_batch_init(&b);
	grove_iter_t *it;
	assert_int_equal(grove_iter_create(t.db->store, NULL, &it), 0);
	for (grove_iter_seek(it, "r", 1); grove_iter_valid(it); grove_iter_next(it)) {
		size_t kl;
		const uint8_t *kp = grove_iter_key(it, &kl);
		if (kp[0] != 'r')
			break;
		assert_int_equal(grove_batch_delete(&b, kp, kl), 0);
	}
	grove_iter_destroy(it);
	assert_true(b.count > 10);
	assert_int_equal(grove_store_write(t.db->store, &b, false), 0);
	grove_batch_close(&b);
	grove_db_key_t k; /* behind the db's back: its boundary cache goes too */
	assert_int_equal(grove_db__key_prepare(&k, K("k")), 0);
	grove_db__zrank_cache_free(t.db, &t.db->stripes[k.stripe]);
	uint64_t c0 = atomic_load(&t.db->zrank_counted), b0 = atomic_load(&t.db->zrank_builds);
	rank_check(t.db, "k", mod, n); /* walks */
	assert_int_equal(atomic_load(&t.db->zrank_counted), c0);
	zadd(t.db, "k", "m000", -1, 0);
	mod[rfind(mod, n, "m000")].s = -1;
	assert_int_equal(atomic_load(&t.db->zrank_builds), b0 + 1);
	rank_check(t.db, "k", mod, n);
	assert_true(atomic_load(&t.db->zrank_counted) > c0);
	/* counts of version 2 (leaf records held their index; 'r' level 5
	 * missing) and 3 (the supers' counts in one record, no level 6): not
	 * used, rebuilt by the next write (after a restart: no boundary cache) */
	bool present;
	for (uint8_t ver = 2; ver <= 3; ver++) {
		uint8_t hk[5] = { 'r', 0, 1, 'k', 0 };
		assert_int_equal(grove_store_put(t.db->store, hk, 5, &ver, 1, false), 0);
		grove_db__zrank_cache_free(t.db, &t.db->stripes[k.stripe]);
		assert_int_equal(grove_db__zrank_check(t.db, K("k"), &present), 0);
		assert_false(present);
		c0 = atomic_load(&t.db->zrank_counted);
		rank_check(t.db, "k", mod, n); /* walks */
		assert_int_equal(atomic_load(&t.db->zrank_counted), c0);
		zadd(t.db, "k", "m002", -3 - ver, 0);
		mod[rfind(mod, n, "m002")].s = -3 - ver;
		assert_int_equal(atomic_load(&t.db->zrank_builds), b0 + ver);
		assert_int_equal(grove_db__zrank_check(t.db, K("k"), &present), 0);
		assert_true(present);
		rank_check(t.db, "k", mod, n);
		assert_true(atomic_load(&t.db->zrank_counted) > c0);
	}
	/* the supers' counts damaged: the next write drops the counts.  The
	 * stripe's cache goes first (the ZRANKs above loaded it, and kept the
	 * counts, which a write takes instead of the store's) */
	uint8_t dk[16] = { 'r', 0, 1, 'k', 3 }; /* the supers' first group */
	uint8_t v[10] = { 3, 1, 0, 0, 0, 4, 200 }; /* groups of 3; one super, of 200 (u32) */
	grove_db__zrank_cache_free(t.db, &t.db->stripes[k.stripe]);
	t.db->stripes[k.stripe].zr_gen++;
	assert_int_equal(grove_store_put(t.db->store, dk, 5, v, 10, false), 0);
	assert_int_equal(grove_db__zrank_check(t.db, K("k"), &present), GROVE_ECORRUPT);
	zadd(t.db, "k", "m000", -2, 0);
	mod[rfind(mod, n, "m000")].s = -2;
	assert_int_equal(atomic_load(&t.db->zrank_drops), 1);
	assert_null(t.db->stripes[k.stripe].zr); /* dropped with the version record */
	assert_int_equal(grove_db__zrank_check(t.db, K("k"), &present), 0);
	assert_false(present);
	c0 = atomic_load(&t.db->zrank_counted);
	rank_check(t.db, "k", mod, n); /* walks */
	assert_int_equal(atomic_load(&t.db->zrank_counted), c0);
	zadd(t.db, "k", "m001", 1000, 0); /* built again */
	mod[rfind(mod, n, "m001")].s = 1000;
	assert_int_equal(grove_db__zrank_check(t.db, K("k"), &present), 0);
	assert_true(present);
	rank_check(t.db, "k", mod, n);
	/* restart (leveldb): the counts are durable */
	if (t.dir) {
		grove_db_close(t.db);
		assert_int_equal(grove_test_storage_db_open(t.dir, "node-a", &t.clock_ms,
							    GROVE_DURABILITY_NONE, &t.db), 0);
		c0 = atomic_load(&t.db->zrank_counted);
		rank_check(t.db, "k", mod, n);
		assert_true(atomic_load(&t.db->zrank_counted) > c0);
	}
	grove_test_db_close(&t);
	grove_db__zrank_params = saved;
}

/* What one write of a key with counts puts of the supers' counts: the
 * records of the groups of the supers it changed (level 3: the first
 * group; level 6: the others), whatever the number of supers. */
typedef struct rgroups {
	int first, groups, supers; /* puts of levels 3, 6, 4 of key "k" */
	size_t len_max;            /* the longest of levels 3 and 6 */
} rgroups_t;

static void rgroups_op(void *ctx, int op, const uint8_t *key, size_t klen, const uint8_t *val,
		       size_t vlen)
{
	(void)val;
	rgroups_t *g = ctx;
	if (op != GROVE_BATCH_PUT || klen < 5 || memcmp(key, "r\0\1k", 4) != 0)
		return;
	g->first += key[4] == 3;
	g->groups += key[4] == 6;
	if ((key[4] == 3 || key[4] == 6) && vlen > g->len_max)
		g->len_max = vlen;
	g->supers += key[4] == 4;
}

static void rgroups_seen(const grove_batch_t *b, void *ctx)
{
	grove_batch_iterate(b, rgroups_op, ctx);
}

static uint64_t records_of_level(grove_db_t *db, uint8_t lvl)
{
	uint8_t pre[5] = { 'r', 0, 1, 'k', lvl }; /* key "k"'s 'r' records of level lvl */
	return records_with_key_prefix(db, pre, sizeof(pre));
}

/* A ZADD of m at s with rgroups_seen on the store's writes; true: it was
 * one write (no pass or build with it). */
static bool zadd_seen(grove_db_t *db, const char *m, double s, rgroups_t *g)
{
	memset(g, 0, sizeof(*g));
	grove_test_ops_count(db);
	grove_test_ops.on_write = rgroups_seen;
	grove_test_ops.on_write_ctx = g;
	zadd(db, "k", m, s, 0);
	grove_test_ops_uncount(db);
	return grove_test_ops.writes == 1;
}

/* The level 6 records k should have: one per 3 supers but the first 3
 * (level 3 holds them). */
static uint64_t groups_expected(grove_db_t *db)
{
	uint64_t supers = records_of_level(db, 1);
	return supers <= 3 ? 0 : (supers + 2) / 3 - 1;
}

/* The supers' counts in groups (of 3 here): a write rewrites the one
 * group (two: a member moved across groups) it changed, not every
 * super's count; a damaged group is found and the counts dropped and
 * rebuilt; supers merged away take their groups with them, down to the
 * first one only. */
static void test_rank_count_groups(void **state)
{
	(void)state;
	grove_db__zrank_params_t saved = grove_db__zrank_params;
	grove_test_db_t t;
	rent_t mod[260];
	size_t n = rank_open(&t, "zrankg", mod, 240);
	uint64_t groups = records_of_level(t.db, 6);
	assert_true(records_of_level(t.db, 1) >= 9); /* 240 members, supers of 16 to 32 */
	assert_int_equal(groups, groups_expected(t.db));
	/* new members at the bottom and the top, then one moved from the
	 * bottom to the top: writes without a pass (one batch each) put the
	 * group of each super they changed, and that super's leaf counts */
	rgroups_t g;
	int plain = 0;
	for (int i = 0; i < 12; i++) {
		bool top = i % 2;
		snprintf(mod[n].m, sizeof(mod[n].m), "%s%d", top ? "top" : "low", i);
		mod[n].s = top ? 1e6 + i : -10 - i;
		if (!zadd_seen(t.db, mod[n].m, mod[n].s, &g)) {
			n++;
			continue; /* a pass wrote too */
		}
		n++;
		plain++;
		assert_int_equal(g.first, !top);
		assert_int_equal(g.groups, top);
		assert_int_equal(g.supers, 1);
		assert_true(g.len_max <= 5 + 1 + 2 * 3); /* a group of 3 u16 counts */
	}
	assert_true(plain >= 4);
	if (zadd_seen(t.db, "low0", 1e9, &g)) { /* from the first super to the last */
		assert_int_equal(g.first, 1);
		assert_int_equal(g.groups, 1);
		assert_int_equal(g.supers, 2);
	}
	mod[rfind(mod, n, "low0")].s = 1e9;
	rank_check(t.db, "k", mod, n);
	/* the second group's first count off by one, behind the db's back (its
	 * cache dropped): found by the check, dropped by the next write,
	 * rebuilt by the one after */
	grove_db_key_t k;
	assert_int_equal(grove_db__key_prepare(&k, K("k")), 0);
	grove_db__zrank_cache_free(t.db, &t.db->stripes[k.stripe]);
	t.db->stripes[k.stripe].zr_gen++;
	uint8_t gk[9] = { 'r', 0, 1, 'k', 6, 0, 0, 0, 1 };
	uint8_t *v = NULL;
	size_t vl = 0;
	assert_int_equal(grove_store_get(t.db->store, NULL, gk, sizeof(gk), &v, &vl), 0);
	assert_true(vl >= 3);
	v[1]++; /* after the width byte: the low byte of the first count */
	assert_int_equal(grove_store_put(t.db->store, gk, sizeof(gk), v, vl, false), 0);
	grove_free(v);
	bool present;
	assert_int_equal(grove_db__zrank_check(t.db, K("k"), &present), GROVE_ECORRUPT);
	uint64_t d0 = atomic_load(&t.db->zrank_drops), b0 = atomic_load(&t.db->zrank_builds);
	qsort(mod, n, sizeof(*mod), rent_cmp);
	zadd(t.db, "k", mod[0].m, -100, 0);
	mod[0].s = -100;
	assert_int_equal(atomic_load(&t.db->zrank_drops), d0 + 1);
	zadd(t.db, "k", mod[1].m, -99, 0);
	mod[1].s = -99;
	assert_int_equal(atomic_load(&t.db->zrank_builds), b0 + 1);
	assert_int_equal(grove_db__zrank_check(t.db, K("k"), &present), 0);
	assert_true(present);
	rank_check(t.db, "k", mod, n);
	/* most members removed: supers merge, their groups go (the check
	 * counts them: none stale), down to the first (level 3) only */
	qsort(mod, n, sizeof(*mod), rent_cmp);
	while (n > 24) {
		assert_int_equal(grove_db_zset_remove(t.db, K("k"), K(mod[n - 1].m), NULL), 0);
		n--;
	}
	rank_check(t.db, "k", mod, n);
	assert_true(records_of_level(t.db, 1) <= 3);
	assert_int_equal(records_of_level(t.db, 6), 0);
	plain = 0;
	for (int i = 0; i < 4; i++) {
		snprintf(mod[n].m, sizeof(mod[n].m), "new%d", i);
		mod[n].s = 2e6 + i;
		if (!zadd_seen(t.db, mod[n++].m, 2e6 + i, &g))
			continue;
		plain++;
		assert_int_equal(g.first, 1);
		assert_int_equal(g.groups, 0);
	}
	assert_true(plain >= 1);
	rank_check(t.db, "k", mod, n);
	grove_test_db_close(&t);
	grove_db__zrank_params = saved;
}

/* The note of a write's count records (3 and 6, grove_db__zrank_note)
 * decodes them straight into the cached counts when the cache knows as
 * many supers: nothing allocated per sorted-set write (an array per
 * record before, decoded, copied and freed).  Checked with every
 * allocation failing: the cache keeps its counts (its charge unchanged,
 * not forgotten) and every rank still matches the model. */
static void test_rank_note_in_place(void **state)
{
	(void)state;
	grove_db__zrank_params_t saved = grove_db__zrank_params;
	grove_test_db_t t;
	rent_t mod[260];
	size_t n = rank_open(&t, "zranknote", mod, 240);
	/* a write of the key: its stripe's cache holds it, with the supers' counts */
	snprintf(mod[n].m, sizeof(mod[n].m), "note");
	mod[n].s = 1e6;
	zadd(t.db, "k", mod[n].m, mod[n].s, 0);
	n++;
	assert_true(groups_expected(t.db) >= 2);
	grove_db_key_t k;
	assert_int_equal(grove_db__key_prepare(&k, K("k")), 0);
	/* the key's level 3 and first level 6 records, as a write puts them */
	static const uint8_t dk[5] = { 'r', 0, 1, 'k', 3 };
	static const uint8_t gk[9] = { 'r', 0, 1, 'k', 6, 0, 0, 0, 1 };
	grove_batch_t b;
	grove_batch_init(&b);
	const uint8_t *keys[2] = { dk, gk };
	size_t lens[2] = { sizeof(dk), sizeof(gk) };
	for (int i = 0; i < 2; i++) {
		uint8_t *v = NULL;
		size_t vl = 0;
		assert_int_equal(grove_store_get(t.db->store, NULL, keys[i], lens[i], &v, &vl), 0);
		assert_int_equal(grove_batch_put(&b, keys[i], lens[i], v, vl), 0);
		grove_free(v);
	}
	size_t bytes = atomic_load(&t.db->zrcache_bytes);
	uint64_t gen = t.db->stripes[k.stripe].zr_gen;
	grove_alloc_fail_after(1);
	grove_db__zrank_note(t.db, &k, &b, true);
	grove_alloc_fail_reset();
	assert_int_equal(atomic_load(&t.db->zrcache_bytes), bytes);
	assert_int_equal(t.db->stripes[k.stripe].zr_gen, gen + 1); /* noted, not dropped */
	grove_batch_close(&b);
	rank_check(t.db, "k", mod, n);
	grove_test_db_close(&t);
	grove_db__zrank_params = saved;
}

/* A level 4 record's greatest count into *ctx (flags, then a count per
 * leaf, u8 with flag bit 1, else u16 LE). */
static void leaf_count_most(void *ctx, const uint8_t *v, size_t vl)
{
	unsigned *most = ctx;
	assert_true(vl >= 1);
	bool one = v[0] & 2;
	for (size_t i = 1; i + (one ? 0 : 1) < vl; i += one ? 1 : 2) {
		unsigned c = one ? v[i] : (unsigned)(v[i] | v[i + 1] << 8);
		*most = c > *most ? c : *most;
	}
}

/* The greatest leaf count of key "k". */
static unsigned leaf_count_max(grove_db_t *db)
{
	uint8_t pre[5] = { 'r', 0, 1, 'k', 4 };
	unsigned most = 0;
	records_visit(db, pre, sizeof(pre), leaf_count_most, &most);
	return most;
}

/* A key without counts (under build_min members): its writer reads the
 * store once to find the counts' version record absent, and its next
 * writes remember that (no store read at all: the rest comes from the
 * caches); the build forgets it, so the writes after it keep the counts
 * (one build: not one per write). */
static void test_rank_header_memo(void **state)
{
	(void)state;
	grove_db__zrank_params_t saved = grove_db__zrank_params;
	grove_db__zrank_params = k_small;
	grove_test_db_t t;
	assert_int_equal(grove_test_db_open(&t, "zrankh", grove_test_leveldb), 0);
	rent_t mod[40];
	for (size_t i = 0; i < 40; i++) {
		snprintf(mod[i].m, sizeof(mod[i].m), "m%02zu", i);
		mod[i].s = (double)((i * 7) % 40);
		grove_test_ops_count(t.db);
		assert_int_equal(zadd(t.db, "k", mod[i].m, mod[i].s, 0), 1);
		uint64_t gets = grove_test_ops.gets;
		grove_test_ops_uncount(t.db);
		if (i > 0 && i + 1 < k_small.build_min)
			assert_int_equal(gets, 0);
	}
	assert_int_equal(atomic_load(&t.db->zrank_builds), 1);
	rank_check(t.db, "k", mod, 40);
	grove_test_db_close(&t);
	grove_db__zrank_params = saved;
}

/* Deferred batches alternating between two sorted sets of one lock
 * stripe: the stripe's boundary cache holds one key at a time, so the
 * other key's writes read its count records back from the stripe's
 * pending records (queued, not yet written): they stay in step (no drop,
 * ranks right), and the score index's records are not kept there. */
static void test_rank_deferred_two_keys(void **state)
{
	(void)state;
	grove_db__zrank_params_t saved = grove_db__zrank_params;
	grove_db__zrank_params = k_small;
	grove_test_db_t t;
	assert_int_equal(grove_test_db_open(&t, "zrank2k", grove_test_leveldb), 0);
	grove_db_key_t ka, kb;
	char other[16];
	assert_int_equal(grove_db__key_prepare(&ka, K("k")), 0);
	for (unsigned i = 0;; i++) { /* a key of k's stripe */
		assert_true(i < 100000);
		snprintf(other, sizeof(other), "o%u", i);
		assert_int_equal(grove_db__key_prepare(&kb, K(other)), 0);
		if (kb.stripe == ka.stripe)
			break;
	}
	rent_t ma[120], mb[120];
	size_t n = fill_spread(t.db, "k", ma, 40);
	fill_spread(t.db, other, mb, 40);
	for (int b = 0; b < 4; b++) {
		assert_int_equal(grove_db_defer_begin(t.db), 0);
		for (int i = 0; i < 20; i++, n++) {
			snprintf(ma[n].m, sizeof(ma[n].m), "a%02d:%02d", b, i);
			snprintf(mb[n].m, sizeof(mb[n].m), "b%02d:%02d", b, i);
			ma[n].s = mb[n].s = (double)((n * 13) % 41);
			zadd(t.db, "k", ma[n].m, ma[n].s, 0);
			zadd(t.db, other, mb[n].m, mb[n].s, 0);
		}
		grove_db_stripe_t *s = &t.db->stripes[ka.stripe];
		for (size_t j = 0; j < s->npend; j++)
			assert_int_not_equal(s->pend[j].key[0], 'z');
		assert_int_equal(grove_db_defer_sync(t.db, grove_db_defer_end(t.db)), 0);
	}
	assert_int_equal(atomic_load(&t.db->zrank_drops), 0);
	rank_check(t.db, "k", ma, n);
	rank_check(t.db, other, mb, n);
	grove_test_db_close(&t);
	grove_db__zrank_params = saved;
}

/* Deferred batches (a client's pipelined writes) whose first write, the
 * only one that finds nothing of the key pending and so may run a pass,
 * lands in the first super, while the rest add members at the top: the
 * last super's last leaf passes leaf_max in each batch and is marked
 * dirty.  The next batch's first write passes it too (zr_pass_dirty), so
 * no leaf holds more than one batch past leaf_max (without: 20 more per
 * batch, 248 after 12). */
static void test_rank_dirty_supers(void **state)
{
	(void)state;
	grove_db__zrank_params_t saved = grove_db__zrank_params;
	grove_test_db_t t;
	rent_t mod[400];
	size_t n = rank_open(&t, "zrankd", mod, 120);
	for (int b = 0; b < 12; b++) {
		assert_int_equal(grove_db_defer_begin(t.db), 0);
		for (int i = 0; i <= 20; i++, n++) {
			snprintf(mod[n].m, sizeof(mod[n].m), "%s%02d:%02d", i ? "top" : "low", b, i);
			mod[n].s = i ? 1000 + 20 * b + i : -1 - b;
			zadd(t.db, "k", mod[n].m, mod[n].s, 0);
		}
		assert_int_equal(grove_db_defer_sync(t.db, grove_db_defer_end(t.db)), 0);
		assert_true(leaf_count_max(t.db) <= k_small.leaf_max + 20);
	}
	rank_check(t.db, "k", mod, n);
	assert_int_equal(atomic_load(&t.db->zrank_drops), 0);
	grove_test_db_close(&t);
	grove_db__zrank_params = saved;
}

/* Passes inside a transaction are staged with its writes: ranks read
 * inside it and after its commit agree with the model, the counts with
 * the 'z' records, and no count is dropped. */
static void test_rank_txn(void **state)
{
	(void)state;
	grove_db__zrank_params_t saved = grove_db__zrank_params;
	grove_db__zrank_params = k_small;
	grove_test_db_t t;
	assert_int_equal(grove_test_db_open(&t, "zrankt", grove_test_leveldb), 0);
	rent_t mod[150];
	size_t n = 0;
	uint64_t p0 = 0;
	for (int round = 0; round < 3; round++) {
		bool txn = round == 1;
		if (txn) {
			p0 = atomic_load(&t.db->zrank_passes);
			assert_int_equal(grove_db_txn_begin(t.db), 0);
		}
		for (int i = 0; i < 50; i++, n++) {
			snprintf(mod[n].m, sizeof(mod[n].m), "m%03zu", n);
			mod[n].s = (double)((n * 37) % 101);
			zadd(t.db, "k", mod[n].m, mod[n].s, 0);
		}
		rank_check(t.db, "k", mod, n); /* inside: the staged passes */
		if (txn) {
			assert_true(atomic_load(&t.db->zrank_passes) > p0);
			assert_int_equal(grove_db_txn_commit(t.db), 0);
			rank_check(t.db, "k", mod, n);
		}
	}
	assert_int_equal(atomic_load(&t.db->zrank_drops), 0);
	grove_test_db_close(&t);
	grove_db__zrank_params = saved;
}

/* A larger set with the default buckets (GROVE_TEST_ZRANK_SIZE members,
 * 1500 by default): ranks of a sample from the counts, before and after a
 * key delete and its purge. */
static void test_rank_big(void **state)
{
	(void)state;
	const char *env = getenv("GROVE_TEST_ZRANK_SIZE");
	long size = env ? atol(env) : 1500;
	grove_test_db_t t;
	assert_int_equal(grove_test_db_open(&t, "zrankbig", grove_test_leveldb), 0);
	char m[32];
	for (long i = 0; i < size; i++) {
		snprintf(m, sizeof(m), "m:%ld", i);
		assert_int_equal(zadd(t.db, "big", m, (double)((i * 7919) % size), 0), 1);
	}
	uint64_t c0 = atomic_load(&t.db->zrank_counted);
	for (long j = 0; j < 200; j++) {
		long i = (j * 104729) % size;
		snprintf(m, sizeof(m), "m:%ld", i);
		uint64_t rank;
		assert_int_equal(grove_db_zset_rank(t.db, K("big"), K(m), false, &rank, NULL), 0);
		assert_int_equal(rank, (uint64_t)((i * 7919) % size)); /* distinct scores 0..size-1 */
		assert_int_equal(grove_db_zset_rank(t.db, K("big"), K(m), true, &rank, NULL), 0);
		assert_int_equal(rank, (uint64_t)(size - 1 - (i * 7919) % size));
	}
	assert_int_equal(atomic_load(&t.db->zrank_counted) - c0, 400);
	bool present;
	assert_int_equal(grove_db__zrank_check(t.db, K("big"), &present), 0);
	assert_true(present);
	bool gone;
	assert_int_equal(grove_db_delete(t.db, K("big"), &gone), 0);
	assert_int_equal(zadd(t.db, "big", "after", 5, 0), 1);
	grove_db__purge_drain(t.db);
	uint64_t rank;
	assert_int_equal(grove_db_zset_rank(t.db, K("big"), K("after"), false, &rank, NULL), 0);
	assert_int_equal(rank, 0);
	assert_int_equal(grove_db__zrank_check(t.db, K("big"), &present), 0);
	assert_false(present); /* dropped by the purge; one member: below build_min */
	assert_int_equal(records_with_prefix(t.db, 'r'), 0); /* the purge's end cleared them */
	grove_test_db_close(&t);
}

/* The hint after passes that split and merge leaves (small buckets): a
 * split's first piece keeps its leaf's id, whose members the hint names
 * already; later pieces and a leaf that took in merged neighbours get
 * their members noted again.  Then every member's ZRANK answers through
 * the hint (no read of its record; but a score of 0), with the model's
 * rank. */
static void test_hint_after_split_merge(void **state)
{
	(void)state;
	grove_db__zrank_params_t saved = grove_db__zrank_params;
	grove_db__zrank_params = k_small;
	grove_test_db_t t;
	assert_int_equal(grove_test_db_open(&t, "zhintsm", grove_test_leveldb), 0);
	rent_t mod[240];
	size_t n = fill_spread(t.db, "h", mod, 240); /* scores unlike write order: splits */
	uint64_t p0 = atomic_load(&t.db->zrank_passes);
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) { /* 3 of 4 in the middle scores go: merges */
		if (mod[i].s >= 40 && mod[i].s < 200 && (size_t)mod[i].s % 4 != 0) {
			assert_int_equal(grove_db_zset_remove(t.db, K("h"), K(mod[i].m), NULL), 0);
			continue;
		}
		mod[kept++] = mod[i];
	}
	n = kept;
	assert_true(atomic_load(&t.db->zrank_passes) > p0);
	zadd(t.db, "h", mod[0].m, mod[0].s, 0); /* unchanged: the cache holds "h" */
	qsort(mod, n, sizeof(*mod), rent_cmp);
	size_t hits = 0, want = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t h0 = atomic_load(&t.db->zhint_hits), rank = UINT64_MAX;
		assert_int_equal(grove_db_zset_rank(t.db, K("h"), K(mod[i].m), false, &rank, NULL), 0);
		assert_int_equal(rank, i);
		hits += atomic_load(&t.db->zhint_hits) - h0;
		want += mod[i].s != 0; /* a score of 0 is read from the record (-0) */
	}
	assert_int_equal(hits, want);
	assert_int_equal(atomic_load(&t.db->zrank_drops), 0);
	grove_test_db_close(&t);
	grove_db__zrank_params = saved;
}

/* A key of one super (the default buckets: up to 8,192 members) whose
 * boundaries the writer's cache holds: ZRANK reads the super's leaf counts
 * (from the cache once a ZRANK read them) and not the supers' record, and
 * checks the leaves' sum against the key's count instead: a leaf count
 * off by one is found and the walk answers. */
static void test_rank_one_super(void **state)
{
	(void)state;
	grove_test_db_t t;
	assert_int_equal(grove_test_db_open(&t, "zrank1", grove_test_leveldb), 0);
	rent_t mod[402];
	size_t n = fill_spread(t.db, "k", mod, 400);
	rank_check(t.db, "k", mod, n);
	bool present;
	assert_int_equal(grove_db__zrank_check(t.db, K("k"), &present), 0);
	assert_true(present);
	zadd(t.db, "k", "m000", 0, 0); /* the last write: the cache holds "k" */
	uint64_t c0, h0, rank;
	double sc;
	assert_int_equal(grove_db_zset_score(t.db, K("k"), K("m399"), &sc), 0);
	/* no store read at all: the head and metadata (u, k) from the point
	 * cache (ZSCORE just read them there), the leaf counts cached
	 * (rank_check read them, the write kept them), the cache hit stands
	 * for the version record, the member's score is the hint's (the fill's
	 * writes put it there), checked against its leaf.  A ZRANK that finds
	 * the stripe's lock held (a background thread: trylock) reads the
	 * store instead, so up to 100 tries, until one takes the hint. */
	for (int i = 0; i < 100; i++) {
		c0 = atomic_load(&t.db->zrank_counted);
		h0 = atomic_load(&t.db->zhint_hits);
		grove_test_ops_count(t.db);
		assert_int_equal(grove_db_zset_rank(t.db, K("k"), K("m399"), false, &rank, NULL), 0);
		grove_test_ops_uncount(t.db);
		assert_int_equal(rank, (uint64_t)sc);
		assert_int_equal(atomic_load(&t.db->zrank_counted), c0 + 1);
		if (atomic_load(&t.db->zhint_hits) == h0 + 1)
			break;
	}
	assert_int_equal(atomic_load(&t.db->zhint_hits), h0 + 1);
	assert_int_equal(grove_test_ops.gets, 0);
	/* the first leaf's count one too high, behind the db's back */
	uint8_t sk[5] = { 'r', 0, 1, 'k', 4 }; /* the first super's leaf counts */
	uint8_t *v = NULL;
	size_t vl = 0;
	assert_int_equal(grove_store_get(t.db->store, NULL, sk, sizeof(sk), &v, &vl), 0);
	assert_true(vl >= 3);
	uint8_t was = v[1];
	v[1]++; /* after the flags: the first count's low byte (u8, or u16 LE), below 64 */
	assert_int_equal(grove_store_put(t.db->store, sk, sizeof(sk), v, vl, false), 0);
	/* a write takes the counts from the writer's cache (they follow every
	 * write), not from the store: it rewrites the record right */
	zadd(t.db, "k", "zz-first", -1e9, 0);
	snprintf(mod[n].m, sizeof(mod[n].m), "zz-first");
	mod[n++].s = -1e9;
	uint8_t *w = NULL;
	size_t wl = 0;
	assert_int_equal(grove_store_get(t.db->store, NULL, sk, sizeof(sk), &w, &wl), 0);
	assert_int_equal(wl, vl);
	assert_int_equal(w[1], was + 1); /* the new member's own +1, not the damage's */
	grove_free(w);
	/* damaged again, and the writer's cache dropped: a write reads the
	 * damaged record, adds its own change and writes it: the cached
	 * counts follow */
	v[1] = (uint8_t)(was + 2);
	assert_int_equal(grove_store_put(t.db->store, sk, sizeof(sk), v, vl, false), 0);
	grove_free(v);
	grove_db_key_t kk;
	assert_int_equal(grove_db__key_prepare(&kk, K("k")), 0);
	grove_db__zrank_cache_free(t.db, &t.db->stripes[kk.stripe]);
	t.db->stripes[kk.stripe].zr_gen++;
	zadd(t.db, "k", "zz-last", 1e9, 0);
	snprintf(mod[n].m, sizeof(mod[n].m), "zz-last");
	mod[n++].s = 1e9;
	c0 = atomic_load(&t.db->zrank_counted);
	qsort(mod, n, sizeof(*mod), rent_cmp);
	for (size_t i = 0; i < n; i += 7) {
		assert_int_equal(grove_db_zset_rank(t.db, K("k"), K(mod[i].m), false, &rank, NULL), 0);
		assert_int_equal(rank, i);
	}
	assert_int_equal(atomic_load(&t.db->zrank_counted), c0); /* every rank walked */
	/* a key delete's purge deletes the version record: the cache goes
	 * first (ZRANK trusts a hit for the record) */
	grove_db_key_t k;
	assert_int_equal(grove_db__key_prepare(&k, K("k")), 0);
	assert_non_null(t.db->stripes[k.stripe].zr);
	bool gone;
	assert_int_equal(grove_db_delete(t.db, K("k"), &gone), 0);
	zadd(t.db, "k", "after", 5, 0);
	grove_db__purge_drain(t.db);
	assert_null(t.db->stripes[k.stripe].zr);
	assert_int_equal(grove_db__zrank_check(t.db, K("k"), &present), 0);
	assert_false(present);
	assert_int_equal(grove_db_zset_rank(t.db, K("k"), K("after"), false, &rank, NULL), 0);
	assert_int_equal(rank, 0);
	grove_test_db_close(&t);
}

/* ---- replicas ---- */

typedef struct names {
	uint8_t name[96][96];
	size_t len[96];
	size_t n;
} names_t;

static int names_fn(void *ctx, const uint8_t *name, size_t nlen)
{
	names_t *n = ctx;
	if (n->n < 96 && nlen <= 96) {
		memcpy(n->name[n->n], name, nlen);
		n->len[n->n++] = nlen;
	}
	return 0;
}

static void sync_key(grove_db_t *a, grove_db_t *b, const char *key)
{
	assert_int_equal(grove_test_storage_copy_key(a, b, K(key)), 0);
	assert_int_equal(grove_test_storage_copy_key(b, a, K(key)), 0);
}

typedef grove_test_reps_t reps_t;

static void reps_open(reps_t *r, int n)
{
	assert_int_equal(grove_test_reps_open(r, n, "zrep"), 0);
}

static double incr(grove_db_t *db, const char *key, const char *m, double d)
{
	double out = NAN;
	assert_int_equal(grove_db_zset_add(db, K(key), K(m), d, GROVE_ZADD_INCR, NULL, &out), 0);
	return out;
}

/* The rule of doc/value_format.md, case by case. */
/* A write racing a read (one-shot, from inside the store operation the
 * read makes): the head, metadata and member records read through the
 * point cache are the snapshot's only while no write began since the
 * snapshot was taken; one that ran meanwhile sends the read to the
 * snapshot. */
static grove_db_t *race_db;
static const grove_store_ops_t *race_real;
static grove_store_ops_t race_ops;
static int race_armed; /* 1: in the next iterator's creation, 2: after the next snapshot */

static int race_iter(grove_store_t *s, const grove_snapshot_t *snap, grove_iter_t **out)
{
	if (race_armed == 1) { /* the member's record misses the cache: moved meanwhile */
		race_armed = 0;
		zadd(race_db, "k", "m005", 100, 0);
	}
	return race_real->iter_create(s, snap, out);
}

static int race_snapshot(grove_store_t *s, grove_snapshot_t **out)
{
	int rc = race_real->snapshot_create(s, out);
	if (race_armed == 2) { /* a member added after the snapshot */
		race_armed = 0;
		zadd(race_db, "k", "zz", 1000, 0);
	}
	return rc;
}

static void test_read_racing_write(void **state)
{
	(void)state;
	grove_test_db_t t;
	assert_int_equal(grove_test_db_open(&t, "zrace", grove_test_leveldb), 0);
	rent_t mod[10];
	fill_spread(t.db, "k", mod, 10); /* m00i at (i * 37) % 10: m005 at 5, m007 at 9 */
	race_db = t.db;
	race_real = t.db->store->ops;
	race_ops = *race_real;
	race_ops.iter_create = race_iter;
	race_ops.snapshot_create = race_snapshot;
	t.db->store->ops = &race_ops;
	/* ZRANK reads m005's record (no counts below 128 members), which the
	 * write moves to 100: the snapshot's index has it at 5 */
	race_armed = 1;
	uint64_t rank = 0;
	double sc = 0;
	assert_int_equal(grove_db_zset_rank(t.db, K("k"), K("m005"), false, &rank, &sc), 0);
	assert_int_equal(race_armed, 0); /* the write ran inside the read */
	assert_true(sc == 5);
	assert_int_equal(rank, 5);
	/* the last by rank (m005, moved to 100 above): the snapshot's count
	 * (10 members), not the 11 the metadata holds after the write */
	race_armed = 2;
	grove_zrange_t r = { .by = GROVE_ZRANGE_RANK, .start = -1, .stop = -1, .count = -1 };
	assert_string_equal(range_str(t.db, "k", &r), "m005");
	assert_int_equal(race_armed, 0);
	t.db->store->ops = race_real;
	assert_string_equal(range_str(t.db, "k", &r), "zz");
	assert_int_equal(grove_db_zset_rank(t.db, K("k"), K("m005"), false, &rank, &sc), 0);
	assert_true(sc == 100);
	assert_int_equal(rank, 9);
	grove_test_db_close(&t);
}

static void test_convergence_rule(void **state)
{
	(void)state;
	reps_t r;
	reps_open(&r, 3);
	grove_db_t *a = r.db[0], *b = r.db[1], *c = r.db[2];
	/* increments on two nodes add up */
	assert_true(incr(a, "k", "m", 3) == 3);
	assert_true(incr(b, "k", "m", 4) == 4);
	sync_key(a, b, "k");
	assert_true(zscore(a, "k", "m") == 7 && zscore(b, "k", "m") == 7);
	assert_true(incr(a, "k", "m", 1) == 8);
	assert_true(incr(b, "k", "m", 2) == 9);
	sync_key(a, b, "k");
	assert_true(zscore(a, "k", "m") == 10 && zscore(b, "k", "m") == 10);
	/* a ZADD concurrent with a ZINCRBY keeps the increment */
	sync_key(a, c, "k");
	r.clk[0] += 5;
	assert_int_equal(zadd(a, "k", "m", 100, 0), 2);
	assert_true(incr(b, "k", "m", 5) == 15);
	sync_key(a, b, "k");
	assert_true(zscore(a, "k", "m") == 105 && zscore(b, "k", "m") == 105);
	/* a ZADD resets what it had seen: c saw b's increments, not b's next one */
	sync_key(b, c, "k");
	r.clk[2] += 10;
	assert_int_equal(zadd(c, "k", "m", 1000, 0), 2);
	assert_true(incr(b, "k", "m", 1) == 106);
	sync_key(b, c, "k");
	sync_key(a, c, "k");
	sync_key(a, b, "k");
	assert_true(zscore(a, "k", "m") == 1001);
	assert_true(zscore(b, "k", "m") == 1001 && zscore(c, "k", "m") == 1001);
	/* two concurrent ZADDs: the later (ts, node) wins, increments concurrent with it count */
	r.clk[0] += 20;
	assert_int_equal(zadd(a, "k", "m", 1, 0), 2);
	r.clk[1] += 40;
	assert_int_equal(zadd(b, "k", "m", 2, 0), 2);
	assert_true(incr(c, "k", "m", 10) == 1011);
	sync_key(a, b, "k");
	sync_key(b, c, "k");
	sync_key(a, c, "k");
	assert_true(zscore(a, "k", "m") == 12 && zscore(b, "k", "m") == 12 &&
		    zscore(c, "k", "m") == 12);
	/* ZREM concurrent with ZINCRBY: the increment re-adds the member
	 * (add-wins) with the increments the ZREM had not seen */
	bool removed;
	assert_int_equal(grove_db_zset_remove(a, K("k"), K("m"), &removed), 0);
	assert_true(removed);
	assert_true(incr(b, "k", "m", 1) == 13);
	sync_key(a, b, "k");
	sync_key(a, c, "k");
	sync_key(b, c, "k");
	double sa = zscore(a, "k", "m");
	assert_true(sa == 1); /* what the ZREM had not seen: b's new increment */
	assert_true(zscore(b, "k", "m") == sa && zscore(c, "k", "m") == sa);
	/* after a ZREM seen everywhere, increments start from 0 again */
	assert_int_equal(grove_db_zset_remove(c, K("k"), K("m"), &removed), 0);
	sync_key(a, c, "k");
	sync_key(b, c, "k");
	assert_true(isnan(zscore(b, "k", "m")));
	assert_true(incr(b, "k", "m", 2) == 2);
	sync_key(a, b, "k");
	assert_true(zscore(a, "k", "m") == 2);
	/* ranges agree after exchanges, and the index has one entry per member */
	assert_string_equal(by_rank(a, "k", 0, -1, false), "m");
	assert_int_equal(records_with_prefix(a, 'z'), 1);
	assert_int_equal(records_with_prefix(b, 'z'), 1);
	grove_test_reps_close(&r);
}

/* A key delete on one replica, concurrent adds on another. */
static void test_delete_concurrent_add(void **state)
{
	(void)state;
	reps_t r;
	reps_open(&r, 2);
	grove_db_t *a = r.db[0], *b = r.db[1];
	char m[16];
	for (int i = 0; i < 50; i++) {
		snprintf(m, sizeof(m), "m%02d", i);
		zadd(a, "k", m, i, 0);
	}
	sync_key(a, b, "k");
	bool existed;
	assert_int_equal(grove_db_delete(a, K("k"), &existed), 0);
	assert_int_equal(zadd(b, "k", "late", 0.5, 0), 1);
	assert_true(incr(b, "k", "m07", 1) == 8);
	sync_key(a, b, "k");
	sync_key(a, b, "k");
	grove_db__purge_drain(a);
	grove_db__purge_drain(b);
	/* the delete removed what it saw; the concurrent writes survive */
	assert_string_equal(by_rank(a, "k", 0, -1, false), "late m07");
	assert_string_equal(by_rank(b, "k", 0, -1, false), "late m07");
	assert_true(zscore(a, "k", "m07") == 1);
	assert_int_equal(zcard(a, "k"), 2);
	assert_int_equal(zcard(b, "k"), 2);
	assert_int_equal(records_with_prefix(a, 'z'), 2);
	assert_int_equal(records_with_prefix(b, 'z'), 2);
	uint8_t ra[16], rb[16];
	grove_db_root_digest(a, ra);
	grove_db_root_digest(b, rb);
	assert_memory_equal(ra, rb, 16);
	grove_test_reps_close(&r);
}

/* ---- property test ---- */

#define P_REPLICAS_MAX 5
#define P_KEYS 2
#define P_MEMBERS 5

typedef struct pmodel {
	uint64_t last_add[P_KEYS][P_MEMBERS], last_rem[P_KEYS][P_MEMBERS];
	bool had_set[P_KEYS][P_MEMBERS], had_rem[P_KEYS][P_MEMBERS];
	double sum[P_KEYS][P_MEMBERS]; /* of every increment */
} pmodel_t;

static void partial_sync(grove_rng_t *r, grove_db_t *src, grove_db_t *dst, const char *key)
{
	names_t *n = calloc(1, sizeof(*n));
	assert_int_equal(grove_db_key_items(src, K(key), names_fn, n), 0);
	assert_int_equal(grove_db_key_items(dst, K(key), names_fn, n), 0);
	for (size_t i = n->n; i > 1; i--) {
		size_t j = (size_t)grove_rng_below(r, i);
		uint8_t tmp[96];
		size_t tl = n->len[i - 1];
		memcpy(tmp, n->name[i - 1], tl);
		memcpy(n->name[i - 1], n->name[j], n->len[j]);
		n->len[i - 1] = n->len[j];
		memcpy(n->name[j], tmp, tl);
		n->len[j] = tl;
	}
	for (size_t i = 0; i < n->n; i++) {
		if (grove_rng_below(r, 3) == 0)
			continue;
		uint8_t *st;
		size_t slen;
		int rc = grove_db_item_state(src, n->name[i], n->len[i], &st, &slen);
		if (rc == GROVE_ENOTFOUND)
			continue;
		assert_int_equal(rc, 0);
		bool reply = false;
		assert_int_equal(grove_db_item_merge(dst, n->name[i], n->len[i], st, slen, NULL, &reply),
				 0);
		grove_free(st);
		if (reply) {
			assert_int_equal(grove_db_item_state(dst, n->name[i], n->len[i], &st, &slen), 0);
			assert_int_equal(grove_db_item_merge(src, n->name[i], n->len[i], st, slen, NULL,
							     NULL), 0);
			grove_free(st);
		}
	}
	free(n);
}

/* The index invariant: one 'z' record per member record, keyed by the
 * score of the record as stored. */
static int index_check(grove_db_t *db, const char *key)
{
	grove_db_key_t k;
	assert_int_equal(grove_db__key_prepare(&k, K(key)), 0);
	uint8_t pfx[64];
	pfx[0] = 'e';
	pfx[1] = 0;
	pfx[2] = (uint8_t)k.klen;
	memcpy(pfx + 3, key, k.klen);
	pfx[3 + k.klen] = GROVE_ELEM_ZMEMBER;
	size_t plen = 4 + k.klen;
	grove_iter_t *it;
	int nrec = 0, bad = 0;
	assert_int_equal(grove_iter_create(db->store, NULL, &it), 0);
	for (grove_iter_seek(it, pfx, plen); grove_iter_valid(it); grove_iter_next(it)) {
		size_t kl, vl;
		const uint8_t *kp = grove_iter_key(it, &kl);
		if (kl < plen || memcmp(kp, pfx, plen) != 0)
			break;
		const uint8_t *vp = grove_iter_value(it, &vl);
		grove_elem_t x;
		assert_int_equal(grove_elem_decode(vp, vl, GROVE_ELEM_ZMEMBER, &x), 0);
		double s;
		if (grove_zscore_eval(&x, &s) == 0) {
			nrec++;
			uint8_t zk[128];
			size_t zl = grove_db__zindex_key(&k, s, kp + plen, kl - plen, zk);
			uint8_t *v;
			size_t vlen;
			if (grove_store_get(db->store, NULL, zk, zl, &v, &vlen) != 0) {
				bad++;
				if (getenv("ZCHECK"))
					fprintf(stderr, "  no index entry for %.*s score %g (%zu entries)\n",
						(int)(kl - plen), kp + plen, s, x.len);
			}
			else
				grove_free(v);
		}
		grove_elem_free(&x);
	}
	grove_iter_destroy(it);
	pfx[0] = 'z';
	int nz = 0;
	assert_int_equal(grove_iter_create(db->store, NULL, &it), 0);
	for (grove_iter_seek(it, pfx, 3 + k.klen); grove_iter_valid(it); grove_iter_next(it)) {
		size_t kl;
		const uint8_t *kp = grove_iter_key(it, &kl);
		if (kl < 3 + k.klen || memcmp(kp, pfx, 3 + k.klen) != 0)
			break;
		nz++;
		if (getenv("ZCHECK"))
			fprintf(stderr, "  z %.*s %g\n", (int)(kl - 11 - k.klen), kp + 11 + k.klen,
				grove_zscore_from_key(kp + 3 + k.klen));
	}
	grove_iter_destroy(it);
	return bad || nz != nrec ? 1 : 0;
}

static void property_run(uint64_t seed, bool leveldb)
{
	grove_db__zrank_params_t saved = grove_db__zrank_params;
	grove_db__zrank_params = k_small; /* counts from 4 members on */
	grove_rng_t r;
	grove_rng_seed(&r, seed);
	uint32_t nrep = 3 + (uint32_t)grove_rng_below(&r, P_REPLICAS_MAX - 2);
	grove_db_t *db[P_REPLICAS_MAX];
	char *dir[P_REPLICAS_MAX] = { 0 };
	uint64_t clk[P_REPLICAS_MAX];
	char id[P_REPLICAS_MAX][16];
	for (uint32_t i = 0; i < nrep; i++) {
		snprintf(id[i], sizeof(id[i]), "r%u", i);
		clk[i] = GROVE_TEST_T0_MS + grove_rng_below(&r, 200);
		if (leveldb)
			dir[i] = grove_test_storage_tmpdir("zprop");
		assert_int_equal(grove_test_storage_db_open(dir[i], id[i], &clk[i],
							    GROVE_DURABILITY_NONE, &db[i]), 0);
	}
	pmodel_t *m = calloc(1, sizeof(*m));
	char key[16], el[16];
	uint64_t now = 1;
	for (int step = 0; step < 300; step++, now++) {
		uint32_t i = (uint32_t)grove_rng_below(&r, nrep);
		clk[i] += grove_rng_below(&r, 3);
		uint32_t k = (uint32_t)grove_rng_below(&r, P_KEYS);
		uint32_t e = (uint32_t)grove_rng_below(&r, P_MEMBERS);
		snprintf(key, sizeof(key), "z%u", k);
		snprintf(el, sizeof(el), "m%u", e);
		int op = (int)grove_rng_below(&r, 100);
		bool flag;
		if (op < 25 && e >= 2) { /* members 0, 1: increments only */
			double s = (double)grove_rng_below(&r, 20) - 5;
			int res;
			assert_int_equal(grove_db_zset_add(db[i], K(key), K(el), s, 0, &res, NULL), 0);
			if (res) /* the same score again writes nothing, as in Redis */
				m->last_add[k][e] = now;
			m->had_set[k][e] = true;
		} else if (op < 50) {
			double d = (double)grove_rng_below(&r, 9) - 2;
			assert_int_equal(grove_db_zset_add(db[i], K(key), K(el), d, GROVE_ZADD_INCR, NULL,
							   NULL), 0);
			m->last_add[k][e] = now;
			m->sum[k][e] += d;
		} else if (op < 58 && e >= 2) {
			assert_int_equal(grove_db_zset_remove(db[i], K(key), K(el), &flag), 0);
			m->last_rem[k][e] = now;
			m->had_rem[k][e] = true;
		} else if (op < 62 && k == 1) { /* key deletes on z1 only */
			assert_int_equal(grove_db_delete(db[i], K(key), &flag), 0);
			for (int x = 0; x < P_MEMBERS; x++) {
				m->last_rem[k][x] = now;
				m->had_rem[k][x] = true;
			}
		} else if (op < 65) { /* type conflicts on x */
			int rc = grove_rng_below(&r, 2) ? grove_db_set_add(db[i], K("x"), K(el), NULL)
							: grove_db_zset_add(db[i], K("x"), K(el), 1, 0,
									    NULL, NULL);
			assert_true(rc == 0 || rc == GROVE_EWRONGTYPE);
		} else {
			uint32_t j = (uint32_t)grove_rng_below(&r, nrep);
			if (grove_rng_below(&r, 5) == 0)
				snprintf(key, sizeof(key), "x");
			if (j != i)
				partial_sync(&r, db[i], db[j], key);
		}
		if (getenv("ZCHECK"))
			for (uint32_t q = 0; q < nrep; q++)
				for (uint32_t kk = 0; kk < P_KEYS; kk++) {
					snprintf(key, sizeof(key), "z%u", kk);
					bool pr;
					if (index_check(db[q], key) ||
					    grove_db__zrank_check(db[q], K(key), &pr))
						fail_msg("seed %llu step %d op %d: r%u %s index out of step",
							 (unsigned long long)seed, step, op, q, key);
				}
	}
	bool same = false;
	for (int round = 0; round < 8 && !same; round++) {
		for (uint32_t i = 0; i < nrep; i++)
			for (uint32_t j = 0; j < nrep; j++)
				for (uint32_t k = 0; k <= P_KEYS && i != j; k++) {
					snprintf(key, sizeof(key), k == P_KEYS ? "x" : "z%u", k);
					assert_int_equal(grove_test_storage_copy_key(db[i], db[j],
										     K(key)), 0);
				}
		uint8_t r0[16], ri[16];
		grove_db_root_digest(db[0], r0);
		same = true;
		for (uint32_t i = 1; i < nrep; i++) {
			grove_db_root_digest(db[i], ri);
			same = same && memcmp(r0, ri, 16) == 0;
		}
	}
	if (!same)
		fprintf(stderr, "seed %llu: roots differ after full exchanges\n",
			(unsigned long long)seed);
	assert_true(same);
	for (uint32_t i = 0; i < nrep; i++)
		grove_db__purge_drain(db[i]);
	for (uint32_t k = 0; k < P_KEYS; k++) {
		snprintf(key, sizeof(key), "z%u", k);
		char want[1024];
		strcpy(want, by_rank(db[0], key, 0, -1, false));
		for (uint32_t i = 0; i < nrep; i++) {
			/* every replica: same order, scores, count; index = members */
			assert_int_equal(index_check(db[i], key), 0);
			bool present;
			assert_int_equal(grove_db__zrank_check(db[i], K(key), &present), 0);
			assert_string_equal(by_rank(db[i], key, 0, -1, false), want);
			zlist_t l = { 0 };
			grove_zrange_t all = { .by = GROVE_ZRANGE_RANK, .start = 0, .stop = -1,
					       .count = -1 };
			assert_int_equal(grove_db_zset_range(db[i], K(key), &all, zlist_fn, &l), 0);
			assert_int_equal(zcard(db[i], key), l.n);
			zlist_t rl = { 0 };
			all.rev = true;
			assert_int_equal(grove_db_zset_range(db[i], K(key), &all, zlist_fn, &rl), 0);
			assert_int_equal(rl.n, l.n);
			for (size_t x = 0; x < l.n; x++) /* backwards, the same */
				assert_string_equal(rl.m[x], l.m[l.n - 1 - x]);
			for (size_t x = 0; x < l.n; x++) {
				assert_true(zscore(db[i], key, l.m[x]) == l.s[x]);
				assert_true(zscore(db[0], key, l.m[x]) == l.s[x]);
				if (x)
					assert_true(l.s[x - 1] < l.s[x] ||
						    (l.s[x - 1] == l.s[x] && strcmp(l.m[x - 1], l.m[x]) < 0));
				uint64_t rank;
				assert_int_equal(grove_db_zset_rank(db[i], K(key), K(l.m[x]), false,
								    &rank, NULL), 0);
				assert_int_equal(rank, x);
				assert_int_equal(grove_db_zset_rank(db[i], K(key), K(l.m[x]), true,
								    &rank, NULL), 0);
				assert_int_equal(rank, l.n - 1 - x);
			}
			for (uint32_t e = 0; e < P_MEMBERS; e++) {
				snprintf(el, sizeof(el), "m%u", e);
				double s = zscore(db[i], key, el);
				if (m->last_add[k][e] > m->last_rem[k][e] && isnan(s))
					fail_msg("seed %llu: r%u %s lacks %s: a write after every remove wins",
						 (unsigned long long)seed, i, key, el);
				if (!m->last_add[k][e])
					assert_true(isnan(s));
				/* increments only, never removed: a counter */
				if (m->last_add[k][e] && !m->had_set[k][e] && !m->had_rem[k][e] &&
				    s != m->sum[k][e])
					fail_msg("seed %llu: r%u %s.%s = %g, increments sum to %g",
						 (unsigned long long)seed, i, key, el, s,
						 m->sum[k][e]);
			}
		}
	}
	for (uint32_t i = 0; i < nrep; i++) {
		grove_db_close(db[i]);
		grove_test_storage_rmdir(dir[i]);
	}
	free(m);
	grove_db__zrank_params = saved;
}

static void test_property(void **state)
{
	(void)state;
	uint64_t base = grove_test_storage_seed(grove_test_leveldb ? "test_db_zset property leveldb"
							  : "test_db_zset property memory");
	int n = grove_test_leveldb ? PROP_SEEDS_LEVELDB : PROP_SEEDS_MEMORY;
	for (int s = 0; s < n; s++)
		property_run(base * 1000 + (grove_test_leveldb ? 500 : 0) + (uint64_t)s, grove_test_leveldb);
}

/* ---- entry values: the decoder refuses what the encoder never writes ---- */

static void test_entry_codec(void **state)
{
	(void)state;
	grove_elem_t cur = { 0 }, x = { 0 };
	grove_value__dot_t d = { .node = "n1", .counter = 3 };
	assert_int_equal(grove_zscore_incr(&cur, &d, 5, 2.5, &x), 0);
	assert_int_equal(x.len, 1);
	assert_int_equal(grove_zentry_check(x.e[0].val.p, x.e[0].val.len, 3), 0);
	assert_int_not_equal(grove_zentry_check(x.e[0].val.p, x.e[0].val.len, 2), 0); /* chain > dot */
	grove_elem_t y = { 0 };
	grove_value__dot_t d2 = { .node = "n2", .counter = 1 };
	assert_int_equal(grove_zscore_set(&x, &d2, 9, 7, &y), 0);
	assert_int_equal(grove_zentry_check(y.e[0].val.p, y.e[0].val.len, 1), 0);
	uint8_t bad[64];
	memcpy(bad, y.e[0].val.p, y.e[0].val.len);
	bad[0] = 9;
	assert_int_not_equal(grove_zentry_check(bad, y.e[0].val.len, 1), 0);
	memcpy(bad, y.e[0].val.p, y.e[0].val.len);
	assert_int_not_equal(grove_zentry_check(bad, y.e[0].val.len - 1, 1), 0);
	double nan = NAN;
	uint64_t u;
	memcpy(&u, &nan, 8);
	for (int i = 0; i < 8; i++)
		bad[1 + i] = (uint8_t)(u >> (56 - 8 * i));
	assert_int_not_equal(grove_zentry_check(bad, y.e[0].val.len, 1), 0);
	double s;
	assert_int_equal(grove_zscore_eval(&y, &s), 0);
	assert_true(s == 7);
	/* index keys sort as numbers */
	double v[] = { -INFINITY, -1e300, -2.5, -0.0, 0.0, 1e-300, 2.5, 1e300, INFINITY };
	uint8_t prev[8], k[8];
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		grove_zscore_key(v[i], k);
		assert_true(grove_zscore_from_key(k) == v[i]);
		if (i)
			assert_true(memcmp(prev, k, 8) <= 0);
		memcpy(prev, k, 8);
	}
	grove_elem_free(&x);
	grove_elem_free(&y);
}

/* A member's record holds at most GROVE_ELEM_ENTRIES_MAX entries (the
 * decoder refuses more): ZINCRBY from one more node than that is refused
 * up front (GROVE_ETOOBIG), never stored as a record no replica could read
 * back.  Every record up to the limit encodes and decodes. */
static void test_incr_entry_limit(void **state)
{
	(void)state;
	grove_elem_t cur = { 0 }, x = { 0 }, back;
	grove_value__dot_t d = { .counter = 1 };
	for (int i = 0; i <= GROVE_ELEM_ENTRIES_MAX; i++) {
		snprintf(d.node, sizeof(d.node), "n%04d", i);
		int rc = grove_zscore_incr(&cur, &d, 1000 + (uint64_t)i, 1.0, &x);
		if (i == GROVE_ELEM_ENTRIES_MAX) {
			assert_int_equal(rc, GROVE_ETOOBIG);
			assert_int_equal(cur.len, GROVE_ELEM_ENTRIES_MAX);
			break;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(x.len, (size_t)i + 1);
		if (i + 1 == GROVE_ELEM_ENTRIES_MAX || i % 97 == 0) {
			grove_buf_t b = { 0 };
			assert_int_equal(grove_elem_encode(&b, &x, GROVE_ELEM_ZMEMBER), 0);
			assert_int_equal(grove_elem_decode(b.data, b.len, GROVE_ELEM_ZMEMBER, &back), 0);
			double score;
			assert_int_equal(grove_zscore_eval(&back, &score), 0);
			assert_true(score == (double)(i + 1));
			grove_elem_free(&back);
			grove_buf_close(&b);
		}
		grove_elem_free(&cur);
		cur = x;
		memset(&x, 0, sizeof(x));
	}
	grove_elem_free(&cur);
	grove_elem_free(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_entry_codec),
		cmocka_unit_test(test_incr_entry_limit),
		GROVE_TEST_FLAG_BOTH_BACKENDS(test_local_ops),
		GROVE_TEST_FLAG_BOTH_BACKENDS(test_index_cost),
		cmocka_unit_test(test_lex_seek),
		GROVE_TEST_FLAG_BOTH_BACKENDS(test_rank_counted),
		GROVE_TEST_FLAG_BOTH_BACKENDS(test_rank_migration),
		GROVE_TEST_FLAG_BOTH_BACKENDS(test_rank_count_groups),
		GROVE_TEST_FLAG_BOTH_BACKENDS(test_rank_note_in_place),
		GROVE_TEST_FLAG_BOTH_BACKENDS(test_rank_dirty_supers),
		GROVE_TEST_FLAG_BOTH_BACKENDS(test_rank_header_memo),
		GROVE_TEST_FLAG_BOTH_BACKENDS(test_rank_deferred_two_keys),
		GROVE_TEST_FLAG_BOTH_BACKENDS(test_rank_big),
		GROVE_TEST_FLAG_BOTH_BACKENDS(test_rank_one_super),
		GROVE_TEST_FLAG_BOTH_BACKENDS(test_hint_after_split_merge),
		GROVE_TEST_FLAG_BOTH_BACKENDS(test_rank_txn),
		GROVE_TEST_FLAG_BOTH_BACKENDS(test_read_racing_write),
		GROVE_TEST_FLAG_BOTH_BACKENDS(test_convergence_rule),
		GROVE_TEST_FLAG_BOTH_BACKENDS(test_delete_concurrent_add),
		GROVE_TEST_FLAG_BOTH_BACKENDS(test_property),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
