/*
 * test_db_hash.c - counter fields of hashes in the store (storage/
 * db_hash.c, crdt/hcount.c; doc/value_format.md "Counter fields"), on both
 * backends: HINCRBY's local rules and errors (Redis's: a non-integer
 * field, overflow, another type), every read path showing the counter's
 * decimal value (HGET, the scan behind HGETALL/HSCAN/HVALS, the
 * materialized value, the counter flag HINCRBYFLOAT uses), the CRDT rule
 * on 3 replicas (concurrent increments add up, an HSET-written integer
 * converts once, an HSET concurrent with increments keeps the ones it had
 * not seen, HDEL and DEL remove what they saw), a restart, the migration
 * of a format 4 store (records kept byte for byte), and a seeded
 * property test: random HSET/HINCRBY/HDEL/DEL histories on 3..5 replicas
 * with partial item-by-item exchanges converge (equal root digests, equal
 * reads), and a field that only ever got increments reads their sum.
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
#include "grove/value.h"
#include "base/rng.h"
#include "storage/db_int.h"
#include "storage/store.h"
#include "tests/util_storage.h"

#define K(s) s, strlen(s)

/* Property seeds on the memory backend (LevelDB: one). */
#if defined(__SANITIZE_ADDRESS__)
#define PROP_SEEDS 1
#else
#define PROP_SEEDS 6
#endif

typedef grove_test_reps_t reps_t;

static void reps_open(reps_t *r, int n)
{
	assert_int_equal(grove_test_reps_open(r, n, "hrep"), 0);
}

static void sync_key(grove_db_t *a, grove_db_t *b, const char *key)
{
	assert_int_equal(grove_test_storage_copy_key(a, b, K(key)), 0);
	assert_int_equal(grove_test_storage_copy_key(b, a, K(key)), 0);
}

static int64_t hincr(grove_db_t *db, const char *key, const char *f, int64_t d)
{
	int64_t out = -12345;
	assert_int_equal(grove_db_map_incr(db, K(key), K(f), d, &out), 0);
	return out;
}

static void hset(grove_db_t *db, const char *key, const char *f, const char *v)
{
	assert_int_equal(grove_db_map_set(db, K(key), K(f), K(v), NULL), 0);
}

/* The field's value as text, "(nil)" when absent. */
static const char *hget(grove_db_t *db, const char *key, const char *f)
{
	static char out[8][64];
	static int slot;
	char *o = out[slot++ % 8];
	uint8_t *v;
	size_t vl;
	int rc = grove_db_map_get(db, K(key), K(f), &v, &vl);
	if (rc == GROVE_ENOTFOUND)
		return "(nil)";
	assert_int_equal(rc, 0);
	snprintf(o, 64, "%.*s", (int)vl, (const char *)v);
	grove_free(v);
	return o;
}

static int scan_fn(void *ctx, const void *elem, size_t elen, const void *val, size_t vlen)
{
	char *s = ctx;
	size_t n = strlen(s);
	snprintf(s + n, 256 - n, "%s%.*s=%.*s", n ? " " : "", (int)elen, (const char *)elem,
		 (int)vlen, (const char *)val);
	return 0;
}

/* HGETALL's view: field=value pairs in order. */
static const char *hgetall(grove_db_t *db, const char *key)
{
	static char out[256];
	out[0] = '\0';
	int rc = grove_db_coll_scan(db, K(key), GROVE_TYPE_MAP, NULL, 0, 100, scan_fn, out, NULL,
				    NULL);
	assert_true(rc == 0 || rc == GROVE_ENOTFOUND);
	return out;
}

static void test_local(void **state)
{
	(void)state;
	reps_t r;
	reps_open(&r, 1);
	grove_db_t *db = r.db[0];
	/* a missing field starts at 0 */
	assert_int_equal(hincr(db, "h", "a", 5), 5);
	assert_int_equal(hincr(db, "h", "a", -7), -2);
	assert_string_equal(hget(db, "h", "a"), "-2");
	/* an HSET-written integer converts */
	hset(db, "h", "b", "10");
	assert_int_equal(hincr(db, "h", "b", 3), 13);
	assert_int_equal(hincr(db, "h", "b", 0), 13);
	assert_string_equal(hget(db, "h", "b"), "13");
	/* anything else is refused and left alone (Redis: "hash value is not an integer") */
	const char *bad[] = { "abc", "", "01", "-0", " 1", "+1", "1.5", "9223372036854775808" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		hset(db, "h", "c", bad[i]);
		int64_t out = 77;
		assert_int_equal(grove_db_map_incr(db, K("h"), K("c"), 1, &out), GROVE_ERANGE);
		assert_int_equal(out, 77);
		assert_string_equal(hget(db, "h", "c"), bad[i]);
	}
	/* overflow: refused, nothing written */
	hset(db, "h", "d", "9223372036854775800");
	assert_int_equal(grove_db_map_incr(db, K("h"), K("d"), 8, NULL), GROVE_EOVERFLOW);
	assert_int_equal(hincr(db, "h", "d", 7), INT64_MAX);
	assert_int_equal(grove_db_map_incr(db, K("h"), K("d"), 1, NULL), GROVE_EOVERFLOW);
	assert_int_equal(hincr(db, "h", "d", INT64_MIN), -1);
	assert_int_equal(grove_db_map_incr(db, K("h"), K("d"), INT64_MIN, NULL), GROVE_EOVERFLOW);
	assert_int_equal(hincr(db, "h", "d", 9), 8);
	assert_int_equal(hincr(db, "h", "e", INT64_MIN), INT64_MIN);
	assert_int_equal(grove_db_map_incr(db, K("h"), K("e"), -1, NULL), GROVE_EOVERFLOW);
	assert_string_equal(hget(db, "h", "e"), "-9223372036854775808");
	/* another type */
	assert_int_equal(grove_db_counter_add(db, K("n"), 1, NULL), 0);
	assert_int_equal(grove_db_map_incr(db, K("n"), K("a"), 1, NULL), GROVE_EWRONGTYPE);
	/* every read path shows the value; the counter flag */
	hset(db, "h", "c", "x");
	assert_string_equal(hgetall(db, "h"), "a=-2 b=13 c=x d=8 e=-9223372036854775808");
	uint8_t *v;
	size_t vl;
	bool counter = false;
	assert_int_equal(grove_db_map_lookup(db, K("h"), K("a"), &v, &vl, &counter), 0);
	assert_true(counter);
	grove_free(v);
	assert_int_equal(grove_db_map_lookup(db, K("h"), K("c"), &v, &vl, &counter), 0);
	assert_false(counter);
	grove_free(v);
	grove_value_t *val;
	assert_int_equal(grove_db_get(db, K("h"), &val), 0);
	const void *fv;
	size_t fl;
	assert_int_equal(grove_lwwmap_get(val, K("b"), &fv, &fl), 0);
	assert_int_equal(fl, 2);
	assert_memory_equal(fv, "13", 2);
	grove_value_destroy(val);
	/* HSET replaces a counter field; HINCRBY then counts from its value */
	hset(db, "h", "a", "100");
	assert_string_equal(hget(db, "h", "a"), "100");
	assert_int_equal(hincr(db, "h", "a", 1), 101);
	/* HDEL removes it; the next HINCRBY starts from 0 */
	bool removed;
	assert_int_equal(grove_db_map_delete(db, K("h"), K("a"), &removed), 0);
	assert_true(removed);
	assert_string_equal(hget(db, "h", "a"), "(nil)");
	assert_int_equal(hincr(db, "h", "a", 2), 2);
	uint64_t n;
	assert_int_equal(grove_db_coll_count(db, K("h"), GROVE_TYPE_MAP, &n), 0);
	assert_int_equal(n, 5);
	/* restart (LevelDB): the counter fields are stored */
	if (grove_test_leveldb) {
		grove_db_close(db);
		assert_int_equal(grove_test_storage_db_open(r.dir[0], "ra", &r.clk[0],
							    GROVE_DURABILITY_NONE, &r.db[0]), 0);
		db = r.db[0];
		assert_string_equal(hget(db, "h", "a"), "2");
		assert_int_equal(hincr(db, "h", "a", 2), 4);
		assert_string_equal(hget(db, "h", "b"), "13");
	}
	grove_test_reps_close(&r);
}

static void test_replicas(void **state)
{
	(void)state;
	reps_t r;
	reps_open(&r, 3);
	grove_db_t *a = r.db[0], *b = r.db[1], *c = r.db[2];
	/* concurrent increments on three nodes add up */
	assert_int_equal(hincr(a, "h", "f", 1), 1);
	assert_int_equal(hincr(b, "h", "f", 10), 10);
	assert_int_equal(hincr(c, "h", "f", 100), 100);
	sync_key(a, b, "h");
	sync_key(b, c, "h");
	sync_key(a, c, "h");
	for (int i = 0; i < 3; i++)
		assert_string_equal(hget(r.db[i], "h", "f"), "111");
	assert_int_equal(hincr(a, "h", "f", 1), 112);
	assert_int_equal(hincr(b, "h", "f", 1), 112);
	sync_key(a, b, "h");
	assert_string_equal(hget(a, "h", "f"), "113");
	/* an HSET-written integer converted on two nodes at once counts once */
	hset(a, "h", "g", "50");
	sync_key(a, b, "h");
	sync_key(a, c, "h");
	assert_int_equal(hincr(b, "h", "g", 1), 51);
	assert_int_equal(hincr(c, "h", "g", 2), 52);
	sync_key(b, c, "h");
	sync_key(a, c, "h");
	sync_key(a, b, "h");
	for (int i = 0; i < 3; i++)
		assert_string_equal(hget(r.db[i], "h", "g"), "53");
	/* an HSET resets what it saw and keeps the increments it had not seen */
	r.clk[0] += 10;
	hset(a, "h", "g", "1000");
	assert_int_equal(hincr(b, "h", "g", 5), 58);
	sync_key(a, b, "h");
	sync_key(a, c, "h");
	sync_key(b, c, "h");
	for (int i = 0; i < 3; i++)
		assert_string_equal(hget(r.db[i], "h", "g"), "1005");
	/* HDEL removes what it saw; an increment it had not seen (a node
	 * with no earlier increment of its own there) survives alone */
	hset(a, "h", "k", "7");
	sync_key(a, c, "h");
	bool removed;
	assert_int_equal(grove_db_map_delete(a, K("h"), K("k"), &removed), 0);
	assert_int_equal(hincr(c, "h", "k", 3), 10);
	sync_key(a, c, "h");
	assert_string_equal(hget(a, "h", "k"), "3");
	assert_string_equal(hget(c, "h", "k"), "3");
	/* DEL of the key on one node, increments elsewhere */
	sync_key(a, b, "h");
	sync_key(b, c, "h");
	assert_int_equal(grove_db_delete(b, K("h"), &removed), 0);
	assert_int_equal(hincr(a, "h", "new", 4), 4);
	sync_key(a, b, "h");
	grove_db__purge_drain(a);
	grove_db__purge_drain(b);
	assert_string_equal(hgetall(a, "h"), "new=4");
	assert_string_equal(hgetall(b, "h"), "new=4");
	uint8_t ra[16], rb[16];
	grove_db_root_digest(a, ra);
	grove_db_root_digest(b, rb);
	assert_memory_equal(ra, rb, 16);
	grove_test_reps_close(&r);
}

/* A store of format 4 (before counter fields): opens, is marked 6, its
 * hash field records are read and kept byte for byte; HINCRBY then
 * converts a field. */
static void test_format4_migration(void **state)
{
	(void)state;
	if (!grove_test_leveldb)
		return;
	reps_t r;
	reps_open(&r, 1);
	hset(r.db[0], "h", "n", "41");
	hset(r.db[0], "h", "s", "text");
	grove_db_close(r.db[0]);
	grove_store_t *st = grove_test_storage_raw_open(r.dir[0]);
	const uint8_t f4[4] = { 4, 0, 0, 0 };
	assert_int_equal(grove_store_put(st, "cformat", 7, f4, 4, true), 0);
	static const uint8_t rkey[] = { 'e', 0, 1, 'h', 2, 'n' };
	uint8_t *before, *after;
	size_t blen, alen;
	assert_int_equal(grove_store_get(st, NULL, rkey, sizeof(rkey), &before, &blen), 0);
	grove_store_close(st);
	assert_int_equal(grove_test_storage_db_open(r.dir[0], "ra", &r.clk[0], GROVE_DURABILITY_NONE,
						    &r.db[0]), 0);
	assert_string_equal(hget(r.db[0], "h", "n"), "41");
	assert_string_equal(hgetall(r.db[0], "h"), "n=41 s=text");
	grove_db_close(r.db[0]);
	st = grove_test_storage_raw_open(r.dir[0]);
	uint8_t *fmt;
	size_t flen;
	assert_int_equal(grove_store_get(st, NULL, "cformat", 7, &fmt, &flen), 0);
	assert_int_equal(flen, 4);
	assert_int_equal(fmt[0], GROVE_DB_FORMAT_VERSION);
	grove_free(fmt);
	assert_int_equal(grove_store_get(st, NULL, rkey, sizeof(rkey), &after, &alen), 0);
	assert_int_equal(alen, blen);
	assert_memory_equal(after, before, blen);
	grove_free(before);
	grove_free(after);
	grove_store_close(st);
	assert_int_equal(grove_test_storage_db_open(r.dir[0], "ra", &r.clk[0], GROVE_DURABILITY_NONE,
						    &r.db[0]), 0);
	assert_int_equal(hincr(r.db[0], "h", "n", 1), 42);
	int64_t out;
	assert_int_equal(grove_db_map_incr(r.db[0], K("h"), K("s"), 1, &out), GROVE_ERANGE);
	grove_test_reps_close(&r);
}

/* ---- property test ---- */

#define P_FIELDS 4

static void property_run(uint64_t seed)
{
	grove_rng_t rng;
	grove_rng_seed(&rng, seed);
	int n = 3 + (int)grove_rng_below(&rng, 3);
	reps_t r;
	reps_open(&r, n);
	int64_t sum[P_FIELDS] = { 0 };
	bool only_inc[P_FIELDS], touched[P_FIELDS] = { 0 };
	for (int f = 0; f < P_FIELDS; f++)
		only_inc[f] = true;
	char field[8];
	for (int step = 0; step < 150; step++) {
		int i = (int)grove_rng_below(&rng, (uint64_t)n);
		r.clk[i] += grove_rng_below(&rng, 3);
		int f = (int)grove_rng_below(&rng, P_FIELDS);
		snprintf(field, sizeof(field), "f%d", f);
		int op = (int)grove_rng_below(&rng, 100);
		bool flag;
		if (op < 40 || f == 0) { /* f0: increments only */
			int64_t d = (int64_t)grove_rng_below(&rng, 11) - 5;
			int rc = grove_db_map_incr(r.db[i], K("h"), K(field), d, NULL);
			assert_true(rc == 0 || rc == GROVE_ERANGE);
			if (rc == 0)
				sum[f] += d, touched[f] = true;
		} else if (op < 55) {
			char v[16];
			snprintf(v, sizeof(v), grove_rng_below(&rng, 6) ? "%d" : "x%d",
				 (int)grove_rng_below(&rng, 30));
			hset(r.db[i], "h", field, v);
			only_inc[f] = false;
		} else if (op < 62) {
			assert_int_equal(grove_db_map_delete(r.db[i], K("h"), K(field), &flag), 0);
			only_inc[f] = false;
		} else if (op < 64 && f == 3) { /* key deletes are rare */
			assert_int_equal(grove_db_delete(r.db[i], K("h"), &flag), 0);
			for (int x = 0; x < P_FIELDS; x++)
				only_inc[x] = false;
		} else {
			int j = (int)grove_rng_below(&rng, (uint64_t)n);
			if (j != i)
				assert_int_equal(grove_test_storage_copy_key(r.db[i], r.db[j], K("h")), 0);
		}
	}
	bool same = false;
	for (int round = 0; round < 6 && !same; round++) {
		for (int i = 0; i < n; i++)
			for (int j = 0; j < n; j++)
				if (i != j)
					assert_int_equal(grove_test_storage_copy_key(r.db[i], r.db[j],
										     K("h")), 0);
		uint8_t r0[16], ri[16];
		grove_db_root_digest(r.db[0], r0);
		same = true;
		for (int i = 1; i < n; i++) {
			grove_db_root_digest(r.db[i], ri);
			same = same && memcmp(r0, ri, 16) == 0;
		}
	}
	if (!same)
		fail_msg("seed %llu: roots differ after full exchanges", (unsigned long long)seed);
	for (int i = 0; i < n; i++)
		grove_db__purge_drain(r.db[i]);
	char want[256];
	snprintf(want, sizeof(want), "%s", hgetall(r.db[0], "h"));
	for (int i = 1; i < n; i++)
		assert_string_equal(hgetall(r.db[i], "h"), want);
	for (int f = 0; f < P_FIELDS; f++) {
		snprintf(field, sizeof(field), "f%d", f);
		if (!only_inc[f] || !touched[f])
			continue;
		char s[32];
		snprintf(s, sizeof(s), "%lld", (long long)sum[f]);
		for (int i = 0; i < n; i++)
			if (strcmp(hget(r.db[i], "h", field), s) != 0)
				fail_msg("seed %llu: replica %d %s = %s, increments sum to %s",
					 (unsigned long long)seed, i, field, hget(r.db[i], "h", field), s);
	}
	grove_test_reps_close(&r);
}

static void test_property(void **state)
{
	(void)state;
	uint64_t base = grove_test_storage_seed(grove_test_leveldb ? "test_db_hash property leveldb"
							  : "test_db_hash property memory");
	int seeds = grove_test_leveldb ? 1 : PROP_SEEDS;
	for (int s = 0; s < seeds; s++)
		property_run(base * 1000 + (grove_test_leveldb ? 500 : 0) + (uint64_t)s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		GROVE_TEST_FLAG_BOTH_BACKENDS(test_local),
		GROVE_TEST_FLAG_BOTH_BACKENDS(test_replicas),
		GROVE_TEST_FLAG_BOTH_BACKENDS(test_format4_migration),
		GROVE_TEST_FLAG_BOTH_BACKENDS(test_property),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
