/*
 * test_db_expire.c - key expiry in the store (storage/db_expire.c, the
 * TTL paths of storage/db_coll.c), on an injected clock (no sleeps), on
 * both backends: an expired key of every type is hidden from every read at
 * once; active expiry removes it (TTL index, expires and expired_keys
 * counts, elements purged); a write made after the deadline on another
 * replica, which the expiry delete did not see, survives the merge; the
 * EXPIRE flags and past deadlines; the index across a restart; and a
 * seeded property test of random writes, TTL changes, clock steps, active
 * expiry and partial syncs on 3 replicas, which must converge to identical
 * states (GROVE_TEST_SEED replays it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/rng.h"
#include "grove/alloc.h"
#include "grove/db.h"
#include "tests/util_storage.h"

#define K(s) s, strlen(s)
#define REPS 3
#define PROP_ROUNDS 40
#define PROP_STEPS 60

typedef grove_test_reps_t reps_t;

static void reps_open(reps_t *r, int n)
{
	assert_int_equal(grove_test_reps_open(r, n, "expire"), 0);
}

static void sync_key(grove_db_t *a, grove_db_t *b, const char *key)
{
	assert_int_equal(grove_test_storage_copy_key(a, b, K(key)), 0);
	assert_int_equal(grove_test_storage_copy_key(b, a, K(key)), 0);
}

static void sync_all(reps_t *r, const char *const *keys, size_t n)
{
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < REPS; i++)
			for (int j = i + 1; j < REPS; j++)
				for (size_t k = 0; k < n; k++)
					sync_key(r->db[i], r->db[j], keys[k]);
}

static int count_key(void *ctx, const void *key, size_t klen, grove_type_t type)
{
	(void)key, (void)klen, (void)type;
	(*(int *)ctx)++;
	return 0;
}

static int scan_count(grove_db_t *db)
{
	int n = 0;
	assert_int_equal(grove_db_scan(db, NULL, 0, 1000, count_key, &n, NULL, NULL), 0);
	return n;
}

static grove_type_t type_of(grove_db_t *db, const char *key)
{
	grove_type_t t;
	assert_int_equal(grove_db_type(db, K(key), &t), 0);
	return t;
}

static bool reg_is(grove_db_t *db, const char *key, const char *want)
{
	grove_value_t *v = NULL;
	if (grove_db_get(db, K(key), &v) != 0)
		return false;
	const void *p;
	size_t n;
	bool ok = grove_lwwreg_get(v, &p, &n) == 0 && n == strlen(want) && !memcmp(p, want, n);
	grove_value_destroy(v);
	return ok;
}

/* Keys of every type with one deadline: hidden at once past it, then
 * removed by active expiry (and the collections' elements purged).
 * Lists included. */
static void test_hidden_then_removed(void **state)
{
	(void)state;
	reps_t r;
	reps_open(&r, 1);
	grove_db_t *db = r.db[0];
	uint64_t at = r.clk[0] + 1000;
	bool f;
	double score;
	assert_int_equal(grove_db_register_write(db, K("reg"), K("v"), GROVE_DB_TTL_AT, at), 0);
	assert_int_equal(grove_db_counter_add(db, K("ctr"), 5, NULL), 0);
	assert_int_equal(grove_db_set_add(db, K("set"), K("m"), &f), 0);
	assert_int_equal(grove_db_map_set(db, K("hash"), K("f"), K("1"), &f), 0);
	assert_int_equal(grove_db_zset_add(db, K("zs"), K("m"), 1.5, 0, NULL, NULL), 0);
	assert_int_equal(grove_db_register_set(db, K("keep"), K("x")), 0);
	uint64_t len;
	assert_int_equal(grove_db_list_push(db, K("list"), true, false, K("e"), &len), 0);
	const char *ttl_keys[] = { "ctr", "set", "hash", "zs", "list" };
	for (size_t i = 0; i < 5; i++) {
		assert_int_equal(grove_db_expire(db, K(ttl_keys[i]), at, 0, &f), 0);
		assert_true(f);
	}
	uint64_t got, now;
	assert_int_equal(grove_db_ttl(db, K("hash"), &got, &now), 0);
	assert_int_equal(got, at);
	assert_int_equal(now, r.clk[0]);
	assert_int_equal(grove_db_ttl(db, K("keep"), &got, NULL), 0);
	assert_int_equal(got, 0);
	assert_int_equal(grove_db_expires(db), 6);
	assert_int_equal(grove_db_count_visible(db), 7);
	/* at the deadline itself the key is still there (Redis: now > at) */
	r.clk[0] = at;
	assert_int_equal(type_of(db, "reg"), GROVE_TYPE_REGISTER);
	assert_int_equal(grove_db_expire_cycle(db, 100, NULL), 0);
	r.clk[0] = at + 1;
	/* hidden from every read, before any removal */
	const char *all[] = { "reg", "ctr", "set", "hash", "zs", "list" };
	for (size_t i = 0; i < 6; i++) {
		grove_value_t *v = NULL;
		assert_int_equal(type_of(db, all[i]), GROVE_TYPE_NONE);
		assert_int_equal(grove_db_get(db, K(all[i]), &v), GROVE_ENOTFOUND);
		assert_int_equal(grove_db_ttl(db, K(all[i]), &got, NULL), GROVE_ENOTFOUND);
	}
	assert_int_equal(grove_db_set_contains(db, K("set"), K("m"), &f), 0);
	assert_false(f);
	uint8_t *val;
	size_t vlen;
	uint64_t n;
	assert_int_equal(grove_db_map_get(db, K("hash"), K("f"), &val, &vlen), GROVE_ENOTFOUND);
	assert_int_equal(grove_db_zset_score(db, K("zs"), K("m"), &score), GROVE_ENOTFOUND);
	assert_int_equal(grove_db_coll_count(db, K("set"), GROVE_TYPE_SET, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(scan_count(db), 1);
	assert_int_equal(grove_db_count_visible(db), 1);
	assert_int_equal(grove_db_expired_keys(db), 0);
	assert_int_equal(grove_db_coll_count(db, K("list"), GROVE_TYPE_LIST, &n), 0);
	assert_int_equal(n, 0);
	/* active expiry: batches of 4 */
	uint64_t removed = 0, more;
	assert_int_equal(grove_db_expire_cycle(db, 4, &removed), 1);
	assert_int_equal(removed, 4);
	assert_int_equal(grove_db_expire_cycle(db, 4, &more), 0);
	assert_int_equal(removed + more, 6);
	assert_int_equal(grove_db_expire_cycle(db, 4, &more), 0);
	assert_int_equal(more, 0);
	assert_int_equal(grove_db_expired_keys(db), 6);
	assert_int_equal(grove_db_expires(db), 0);
	assert_int_equal(grove_db_count(db), 1);
	grove_db_stats_t st;
	grove_db_stats(db, &st);
	assert_int_equal(st.purges_pending, 0);
	assert_true(st.purged >= 4); /* the set's, hash's, zset's and list's elements */
	/* a new key of the same name starts without TTL */
	assert_int_equal(grove_db_counter_add(db, K("ctr"), 1, NULL), 0);
	assert_int_equal(grove_db_ttl(db, K("ctr"), &got, NULL), 0);
	assert_int_equal(got, 0);
	grove_test_reps_close(&r);
}

/* EXPIRE's flags, a deadline in the past, PERSIST, SET's TTL modes. */
static void test_flags_and_modes(void **state)
{
	(void)state;
	reps_t r;
	reps_open(&r, 1);
	grove_db_t *db = r.db[0];
	uint64_t t = r.clk[0], got;
	bool f;
	assert_int_equal(grove_db_expire(db, K("none"), t + 10, 0, &f), 0);
	assert_false(f); /* absent key */
	assert_int_equal(grove_db_register_set(db, K("k"), K("v")), 0);
	assert_int_equal(grove_db_expire(db, K("k"), t + 100, GROVE_EXPIRE_XX, &f), 0);
	assert_false(f);
	assert_int_equal(grove_db_expire(db, K("k"), t + 100, GROVE_EXPIRE_GT, &f), 0);
	assert_false(f); /* no TTL is an infinite one */
	assert_int_equal(grove_db_expire(db, K("k"), t + 100, GROVE_EXPIRE_LT, &f), 0);
	assert_true(f);
	assert_int_equal(grove_db_expire(db, K("k"), t + 200, GROVE_EXPIRE_NX, &f), 0);
	assert_false(f);
	assert_int_equal(grove_db_expire(db, K("k"), t + 50, GROVE_EXPIRE_GT, &f), 0);
	assert_false(f);
	assert_int_equal(grove_db_expire(db, K("k"), t + 300, GROVE_EXPIRE_GT | GROVE_EXPIRE_XX, &f), 0);
	assert_true(f);
	assert_int_equal(grove_db_ttl(db, K("k"), &got, NULL), 0);
	assert_int_equal(got, t + 300);
	/* KEEPTTL keeps it, a plain SET removes it */
	assert_int_equal(grove_db_register_write(db, K("k"), K("w"), GROVE_DB_TTL_KEEP, 0), 0);
	assert_int_equal(grove_db_ttl(db, K("k"), &got, NULL), 0);
	assert_int_equal(got, t + 300);
	assert_int_equal(grove_db_register_set(db, K("k"), K("x")), 0);
	assert_int_equal(grove_db_ttl(db, K("k"), &got, NULL), 0);
	assert_int_equal(got, 0);
	assert_int_equal(grove_db_persist(db, K("k"), &f), 0);
	assert_false(f);
	assert_int_equal(grove_db_expire(db, K("k"), t + 300, 0, &f), 0);
	assert_int_equal(grove_db_persist(db, K("k"), &f), 0);
	assert_true(f);
	assert_int_equal(grove_db_ttl(db, K("k"), &got, NULL), 0);
	assert_int_equal(got, 0);
	/* a TTL survives INCR on a string and SET KEEPTTL on a counter */
	assert_int_equal(grove_db_string_write(db, K("n"), K("5"), GROVE_DB_TTL_AT, t + 400), 0);
	int64_t nv;
	assert_int_equal(grove_db_counter_incr(db, K("n"), 1, &nv), 0);
	assert_int_equal(nv, 6);
	assert_int_equal(grove_db_ttl(db, K("n"), &got, NULL), 0);
	assert_int_equal(got, t + 400);
	assert_int_equal(grove_db_string_write(db, K("n"), K("s"), GROVE_DB_TTL_KEEP, 0), 0);
	assert_int_equal(grove_db_ttl(db, K("n"), &got, NULL), 0);
	assert_int_equal(got, t + 400);
	assert_int_equal(grove_db_counter_incr(db, K("c2"), 1, &nv), 0);
	assert_int_equal(grove_db_expire(db, K("c2"), t + 500, 0, &f), 0);
	assert_int_equal(grove_db_string_set(db, K("c2"), K("s")), 0); /* SET: TTL gone */
	assert_int_equal(grove_db_ttl(db, K("c2"), &got, NULL), 0);
	assert_int_equal(got, 0);
	/* a deadline not after now deletes the key at once */
	assert_int_equal(grove_db_expire(db, K("k"), t, 0, &f), 0);
	assert_true(f);
	assert_int_equal(type_of(db, "k"), GROVE_TYPE_NONE);
	assert_int_equal(grove_db_expires(db), 1); /* n */
	/* bad arguments */
	assert_int_equal(grove_db_register_write(db, K("k"), K("v"), GROVE_DB_TTL_AT, 0), GROVE_EINVAL);
	assert_int_equal(grove_db_register_write(db, K("k"), K("v"), 7, 1), GROVE_EINVAL);
	assert_int_equal(grove_db_expire(db, K("k"), 1, 64, &f), GROVE_EINVAL);
	grove_test_reps_close(&r);
}

/* TTL set on A reaches B and C; past the deadline C writes (its write
 * first removes what C held), A removes the key by active expiry, B only
 * hides it; after the syncs every replica holds C's write, without TTL. */
static void test_write_after_deadline_survives(void **state)
{
	(void)state;
	reps_t r;
	reps_open(&r, REPS);
	static const char *const keys[] = { "k", "h" };
	uint64_t at = r.clk[0] + 5000, got;
	bool f;
	assert_int_equal(grove_db_register_write(r.db[0], K("k"), K("old"), GROVE_DB_TTL_AT, at), 0);
	assert_int_equal(grove_db_map_set(r.db[0], K("h"), K("f0"), K("0"), &f), 0);
	assert_int_equal(grove_db_expire(r.db[0], K("h"), at, 0, &f), 0);
	sync_all(&r, keys, 2);
	for (int i = 0; i < REPS; i++) {
		assert_int_equal(grove_db_ttl(r.db[i], K("k"), &got, NULL), 0);
		assert_int_equal(got, at);
		assert_int_equal(grove_db_expires(r.db[i]), 2);
		r.clk[i] = at + 10 + (uint64_t)i;
		assert_int_equal(type_of(r.db[i], "k"), GROVE_TYPE_NONE);
	}
	assert_int_equal(grove_db_register_write(r.db[2], K("k"), K("new"), GROVE_DB_TTL_KEEP, 0), 0);
	assert_int_equal(grove_db_map_set(r.db[2], K("h"), K("f1"), K("1"), &f), 0);
	assert_true(f);
	assert_true(reg_is(r.db[2], "k", "new"));
	assert_int_equal(grove_db_ttl(r.db[2], K("k"), &got, NULL), 0);
	assert_int_equal(got, 0); /* a new key: no TTL, even with KEEPTTL */
	uint64_t removed;
	assert_int_equal(grove_db_expire_cycle(r.db[0], 10, &removed), 0);
	assert_int_equal(removed, 2);
	sync_all(&r, keys, 2);
	for (int i = 0; i < REPS; i++) {
		assert_true(reg_is(r.db[i], "k", "new"));
		assert_int_equal(grove_db_ttl(r.db[i], K("k"), &got, NULL), 0);
		assert_int_equal(got, 0);
		uint8_t *v;
		size_t vl;
		assert_int_equal(grove_db_map_get(r.db[i], K("h"), K("f0"), &v, &vl), GROVE_ENOTFOUND);
		assert_int_equal(grove_db_map_get(r.db[i], K("h"), K("f1"), &v, &vl), 0);
		grove_free(v);
		/* B never ran its expiry: the merged state needs none */
		assert_int_equal(grove_db_expire_cycle(r.db[i], 10, &removed), 0);
		assert_int_equal(removed, 0);
		assert_int_equal(grove_db_expires(r.db[i]), 0);
	}
	assert_int_equal(grove_db_expired_keys(r.db[1]), 0);
	grove_test_reps_close(&r);
}

/* Concurrent TTL changes: the later (HLC) write wins; a SET clears the TTL
 * it saw and not a later EXPIRE it did not see. */
static void test_concurrent(void **state)
{
	(void)state;
	reps_t r;
	reps_open(&r, REPS);
	static const char *const keys[] = { "k" };
	uint64_t t = r.clk[0], got;
	bool f;
	assert_int_equal(grove_db_register_write(r.db[0], K("k"), K("v"), GROVE_DB_TTL_AT, t + 900), 0);
	sync_all(&r, keys, 1);
	r.clk[1] += 5; /* B's PERSIST is later than A's EXPIRE */
	assert_int_equal(grove_db_expire(r.db[0], K("k"), t + 5000, 0, &f), 0);
	assert_int_equal(grove_db_persist(r.db[1], K("k"), &f), 0);
	assert_true(f);
	sync_all(&r, keys, 1);
	for (int i = 0; i < REPS; i++) {
		assert_int_equal(grove_db_ttl(r.db[i], K("k"), &got, NULL), 0);
		assert_int_equal(got, 0);
	}
	/* A EXPIREs (later), B SETs concurrently (earlier): the TTL stays */
	r.clk[0] += 20;
	assert_int_equal(grove_db_register_set(r.db[1], K("k"), K("w")), 0);
	assert_int_equal(grove_db_expire(r.db[0], K("k"), t + 7000, 0, &f), 0);
	sync_all(&r, keys, 1);
	for (int i = 0; i < REPS; i++) {
		assert_int_equal(grove_db_ttl(r.db[i], K("k"), &got, NULL), 0);
		assert_int_equal(got, t + 7000);
		assert_true(reg_is(r.db[i], "k", "w"));
	}
	grove_test_reps_close(&r);
}

/* The TTL index and the expires count survive a restart. */
static void test_restart(void **state)
{
	(void)state;
	if (!grove_test_leveldb)
		return;
	char *dir = grove_test_storage_tmpdir("expire_restart");
	uint64_t clk = GROVE_TEST_T0_MS, got, removed;
	grove_db_t *db;
	bool f;
	assert_int_equal(grove_test_storage_db_open(dir, "a", &clk, GROVE_DURABILITY_NONE, &db), 0);
	assert_int_equal(grove_db_set_add(db, K("s"), K("m"), &f), 0);
	assert_int_equal(grove_db_expire(db, K("s"), clk + 100, 0, &f), 0);
	assert_int_equal(grove_db_register_write(db, K("r"), K("v"), GROVE_DB_TTL_AT, clk + 200), 0);
	grove_db_close(db);
	assert_int_equal(grove_test_storage_db_open(dir, "a", &clk, GROVE_DURABILITY_NONE, &db), 0);
	assert_int_equal(grove_db_expires(db), 2);
	assert_int_equal(grove_db_ttl(db, K("r"), &got, NULL), 0);
	assert_int_equal(got, clk + 200);
	clk += 150;
	assert_int_equal(grove_db_expire_cycle(db, 10, &removed), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(grove_db_expires(db), 1);
	grove_db_close(db);
	grove_test_storage_rmdir(dir);
}

/* ---- property: random histories on 3 replicas converge ---- */

static const char *pkeys[3];

static void prop_op(grove_rng_t *g, reps_t *r, int i)
{
	grove_db_t *db = r->db[i];
	const char *key = pkeys[grove_rng_below(g, 3)];
	uint64_t at = r->clk[i] + 1 + grove_rng_below(g, 400);
	char val[2] = { (char)('a' + grove_rng_below(g, 4)), 0 };
	bool f;
	int rc = 0;
	switch (grove_rng_below(g, 11)) {
	case 0:
		rc = grove_db_register_write(db, K(key), K(val), GROVE_DB_TTL_AT, at);
		break;
	case 1:
		rc = grove_db_register_set(db, K(key), K(val));
		break;
	case 2:
		rc = grove_db_register_write(db, K(key), K(val), GROVE_DB_TTL_KEEP, 0);
		break;
	case 3:
	case 4:
		rc = grove_db_expire(db, K(key), at, (unsigned)grove_rng_below(g, 2) * GROVE_EXPIRE_GT, &f);
		break;
	case 5:
		rc = grove_db_persist(db, K(key), &f);
		break;
	case 6:
		rc = grove_db_counter_add(db, K(key), 1, NULL);
		break;
	case 7:
		rc = grove_db_set_add(db, K(key), K(val), &f);
		break;
	case 8:
		rc = grove_db_map_set(db, K(key), K(val), K(val), &f);
		break;
	case 9:
		rc = grove_db_delete(db, K(key), &f);
		break;
	default:
		rc = grove_db_expire_cycle(db, 2, NULL) < 0 ? -1 : 0;
		break;
	}
	assert_true(rc == 0 || rc == GROVE_EWRONGTYPE);
}

/* One history on the keys of round `round` (the replicas are shared). */
static void prop_round(grove_rng_t *g, reps_t *rp, int round)
{
	static char names[3][16];
	for (int k = 0; k < 3; k++) {
		snprintf(names[k], sizeof(names[k]), "r%d_p%d", round, k);
		pkeys[k] = names[k];
	}
	reps_t *r = rp;
	for (int s = 0; s < PROP_STEPS; s++) {
		int i = (int)grove_rng_below(g, REPS), j = (int)grove_rng_below(g, REPS);
		r->clk[i] += grove_rng_below(g, 40);
		if (grove_rng_below(g, 4) == 0 && i != j)
			sync_key(r->db[i], r->db[j], pkeys[grove_rng_below(g, 3)]);
		else
			prop_op(g, r, i);
	}
	uint64_t end = 0;
	for (int i = 0; i < REPS; i++)
		end = r->clk[i] > end ? r->clk[i] : end;
	for (int i = 0; i < REPS; i++)
		r->clk[i] = end;
	sync_all(r, pkeys, 3);
	for (int i = 0; i < REPS; i++) /* each removes what expired, then sync */
		assert_true(grove_db_expire_cycle(r->db[i], 10, NULL) >= 0);
	sync_all(r, pkeys, 3);
	for (size_t k = 0; k < 3; k++) {
		uint8_t *e0 = NULL, *e;
		size_t l0 = 0, l;
		for (int i = 0; i < REPS; i++) {
			int rc = grove_db_get_encoded(r->db[i], K(pkeys[k]), &e, &l);
			assert_true(rc == 0 || rc == GROVE_ENOTFOUND);
			if (rc)
				e = NULL, l = 0;
			if (i == 0) {
				e0 = e, l0 = l;
				continue;
			}
			if (l != l0 || (l && memcmp(e, e0, l) != 0))
				fail_msg("key %s differs between replicas 0 and %d", pkeys[k], i);
			grove_free(e);
		}
		grove_free(e0);
		for (int i = 1; i < REPS; i++)
			assert_int_equal(type_of(r->db[i], pkeys[k]), type_of(r->db[0], pkeys[k]));
	}
	for (int i = 1; i < REPS; i++) {
		assert_int_equal(grove_db_expires(r->db[i]), grove_db_expires(r->db[0]));
		assert_int_equal(grove_db_count_visible(r->db[i]), grove_db_count_visible(r->db[0]));
	}
}

static void test_prop_converge(void **state)
{
	(void)state;
	grove_rng_t g;
	grove_rng_seed(&g, grove_test_storage_seed("test_db_expire prop"));
	reps_t r;
	reps_open(&r, REPS);
	for (int round = 0; round < (grove_test_leveldb ? PROP_ROUNDS / 2 : PROP_ROUNDS); round++)
		prop_round(&g, &r, round);
	grove_test_reps_close(&r);
}

/* A clock that counts its reads. */
typedef struct counted_clock {
	uint64_t now_ms, reads;
} counted_clock_t;

static uint64_t counted_ms(void *ctx)
{
	counted_clock_t *c = ctx;
	c->reads++;
	return c->now_ms;
}

/* A key without TTL costs no clock read to check for expiry, on writes
 * (a set add needs no timestamp) and reads; a key with one still expires
 * on both paths. */
static void test_no_ttl_no_clock_read(void **state)
{
	(void)state;
	counted_clock_t clk = { .now_ms = GROVE_TEST_T0_MS };
	grove_db_options_t o;
	grove_test_db_options_init(&o);
	o.node_id = "a";
	o.clock = counted_ms;
	o.clock_ctx = &clk;
	grove_db_t *db;
	char err[256];
	assert_int_equal(grove_db_open(NULL, &o, &db, err, sizeof(err)), 0);
	assert_int_equal(grove_db_register_set(db, "r", 1, "v", 1), 0);
	assert_int_equal(grove_db_set_add(db, "s", 1, "m", 1, NULL), 0);
	uint64_t before = clk.reads;
	for (int i = 0; i < 10; i++) {
		bool added = true;
		assert_int_equal(grove_db_set_add(db, "s", 1, "m", 1, &added), 0);
		assert_false(added);
		grove_value_t *v;
		assert_int_equal(grove_db_get(db, "r", 1, &v), 0);
		grove_value_destroy(v);
		grove_type_t t;
		assert_int_equal(grove_db_type(db, "s", 1, &t), 0);
		assert_int_equal(t, GROVE_TYPE_SET);
	}
	assert_int_equal(clk.reads, before);
	/* with deadlines: read, and past them, the keys are gone */
	bool set;
	assert_int_equal(grove_db_expire(db, "r", 1, GROVE_TEST_T0_MS + 100, 0, &set), 0);
	assert_true(set);
	assert_int_equal(grove_db_expire(db, "s", 1, GROVE_TEST_T0_MS + 100, 0, &set), 0);
	assert_true(set);
	clk.now_ms += 101;
	before = clk.reads;
	grove_value_t *v;
	assert_int_equal(grove_db_get(db, "r", 1, &v), GROVE_ENOTFOUND);
	grove_type_t t;
	assert_int_equal(grove_db_type(db, "s", 1, &t), 0);
	assert_int_equal(t, GROVE_TYPE_NONE);
	bool added = false;
	assert_int_equal(grove_db_set_add(db, "s", 1, "m", 1, &added), 0);
	assert_true(added); /* a new key */
	assert_true(clk.reads > before);
	grove_db_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		GROVE_TEST_FLAG_BOTH_BACKENDS(test_hidden_then_removed),
		GROVE_TEST_FLAG_BOTH_BACKENDS(test_flags_and_modes),
		GROVE_TEST_FLAG_BOTH_BACKENDS(test_write_after_deadline_survives),
		GROVE_TEST_FLAG_BOTH_BACKENDS(test_concurrent),
		GROVE_TEST_FLAG_BOTH_BACKENDS(test_restart),
		GROVE_TEST_FLAG_BOTH_BACKENDS(test_prop_converge),
		cmocka_unit_test(test_no_ttl_no_clock_read),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
