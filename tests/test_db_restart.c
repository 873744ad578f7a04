/*
 * test_db_restart.c - grove_db_t on LevelDB across close and reopen: state,
 * digests, key count and HLC survive; a clock that went backwards still
 * gets larger timestamps; the digest index is reused after a clean close
 * and rebuilt from data when its record is missing or damaged, or the data
 * changed behind it; open errors (locked, not a grove store) name the dir.
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
#include "tests/util_storage.h"

#define T0_MS 1700000000000ULL
#define K(s) (s), strlen(s)

typedef struct snap {
	uint8_t root[16];
	uint64_t count;
	uint64_t hlc;
} snap_t;

static void fill(grove_db_t *db, int n)
{
	char key[16];
	for (int i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "key%04d", i);
		switch (i % 4) {
		case 0:
			assert_int_equal(grove_db_counter_add(db, K(key), i, NULL), 0);
			break;
		case 1:
			assert_int_equal(grove_db_register_set(db, K(key), key, strlen(key)), 0);
			break;
		case 2:
			assert_int_equal(grove_db_set_add(db, K(key), "e", 1, NULL), 0);
			break;
		default:
			assert_int_equal(grove_db_map_set(db, K(key), "f", 1, key, 3, NULL), 0);
		}
	}
	assert_int_equal(grove_db_delete(db, K("key0000"), NULL), 0);
}

static snap_t take(grove_db_t *db)
{
	snap_t s;
	grove_db_root_digest(db, s.root);
	s.count = grove_db_count(db);
	grove_db_stats_t st;
	grove_db_stats(db, &st);
	s.hlc = st.hlc_last;
	return s;
}

static void expect_same(grove_db_t *db, const snap_t *before, uint64_t rebuilds)
{
	snap_t now = take(db);
	assert_memory_equal(now.root, before->root, 16);
	assert_int_equal(now.count, before->count);
	grove_db_stats_t st;
	grove_db_stats(db, &st);
	assert_int_equal(st.index_rebuilds, rebuilds);
	int64_t n;
	grove_value_t *v;
	assert_int_equal(grove_db_get(db, K("key0004"), &v), 0);
	assert_int_equal(grove_pncounter_get(v, &n), 0);
	assert_int_equal(n, 4);
	grove_value_destroy(v);
	assert_int_equal(grove_db_get(db, K("key0000"), &v), GROVE_ENOTFOUND);
}

static void test_state_digests_hlc_survive(void **state)
{
	(void)state;
	char *dir = grove_test_storage_tmpdir("restart");
	uint64_t clk = T0_MS;
	grove_db_t *db;
	assert_int_equal(grove_test_storage_db_open(dir, "node-a", &clk, GROVE_DURABILITY_NONE, &db), 0);
	fill(db, 200);
	snap_t before = take(db);
	assert_int_equal(before.count, 199);
	grove_db_close(db);
	/* the clock went back an hour while we were down */
	clk = T0_MS - 3600 * 1000;
	assert_int_equal(grove_test_storage_db_open(dir, "node-a", &clk, GROVE_DURABILITY_NONE, &db), 0);
	expect_same(db, &before, 0); /* clean close: index reused, not rebuilt */
	assert_true(grove_db_hlc(db)->last >= before.hlc);
	/* a new write beats the one made before the restart */
	assert_int_equal(grove_db_register_set(db, K("key0001"), "after", 5), 0);
	grove_value_t *v;
	const void *p;
	size_t len;
	assert_int_equal(grove_db_get(db, K("key0001"), &v), 0);
	assert_int_equal(grove_lwwreg_get(v, &p, &len), 0);
	assert_memory_equal(p, "after", 5);
	grove_value_destroy(v);
	assert_true(take(db).hlc > before.hlc);
	grove_db_close(db);
	grove_test_storage_rmdir(dir);
}

/* The clean record gone (as after a crash), or damaged: rebuilt from data,
 * with the same root. */
static void test_index_rebuilt_when_missing_or_damaged(void **state)
{
	(void)state;
	char *dir = grove_test_storage_tmpdir("rebuild");
	uint64_t clk = T0_MS;
	grove_db_t *db;
	assert_int_equal(grove_test_storage_db_open(dir, "node-a", &clk, GROVE_DURABILITY_NONE, &db), 0);
	fill(db, 300);
	snap_t before = take(db);
	grove_db_close(db);

	grove_store_t *s = grove_test_storage_raw_open(dir);
	assert_int_equal(grove_store_delete(s, K("cclean"), true), 0);
	grove_store_close(s);
	assert_int_equal(grove_test_storage_db_open(dir, "node-a", &clk, GROVE_DURABILITY_NONE, &db), 0);
	expect_same(db, &before, 1);
	grove_db_close(db);

	/* a damaged record (bad checksum), plus a stale digest record */
	s = grove_test_storage_raw_open(dir);
	assert_int_equal(grove_store_put(s, K("cclean"), "GRVTjunk", 8, true), 0);
	assert_int_equal(grove_store_put(s, "d\0\0ghost", 8, "0123456789abcdef", 16, true), 0);
	grove_store_close(s);
	assert_int_equal(grove_test_storage_db_open(dir, "node-a", &clk, GROVE_DURABILITY_NONE, &db), 0);
	expect_same(db, &before, 1);
	grove_db_close(db);
	s = grove_test_storage_raw_open(dir);
	uint8_t *v;
	size_t vlen;
	assert_int_equal(grove_store_get(s, NULL, "d\0\0ghost", 8, &v, &vlen), GROVE_ENOTFOUND);
	grove_store_close(s);
	grove_test_storage_rmdir(dir);
}

/* Data changed behind a valid clean record (every user record rewritten):
 * the sampled check at open notices and rebuilds; the rebuilt root equals
 * that of a store holding the same states. */
static void test_index_rebuilt_when_inconsistent(void **state)
{
	(void)state;
	enum { N = 300 };
	char *dir = grove_test_storage_tmpdir("inconsistent");
	uint64_t clk = T0_MS;
	grove_db_t *db, *ref;
	char key[16];
	assert_int_equal(grove_test_storage_db_open(dir, "node-a", &clk, GROVE_DURABILITY_NONE, &db), 0);
	assert_int_equal(grove_test_storage_db_open(NULL, "node-r", &clk, GROVE_DURABILITY_NONE, &ref), 0);
	for (int i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(grove_db_counter_add(db, K(key), i + 2, NULL), 0);
	}
	assert_int_equal(grove_db_counter_add(db, K("template"), 1, NULL), 0);
	uint8_t *enc, rec[512];
	size_t len;
	assert_int_equal(grove_db_get_encoded(db, K("template"), &enc, &len), 0);
	assert_true(len + 1 <= sizeof(rec));
	memcpy(rec, enc, len); /* a 'u' record: encoding, then the type byte */
	rec[len] = GROVE_TYPE_COUNTER;
	grove_db_close(db);
	assert_int_equal(grove_db_merge(ref, K("template"), enc, len, NULL), 0);
	grove_store_t *s = grove_test_storage_raw_open(dir);
	for (int i = 0; i < N; i++) {
		char ukey[16];
		int n = snprintf(ukey, sizeof(ukey), "uk%d", i);
		assert_int_equal(grove_store_put(s, ukey, (size_t)n, rec, len + 1, false), 0);
		assert_int_equal(grove_db_merge(ref, ukey + 1, (size_t)n - 1, enc, len, NULL), 0);
	}
	grove_store_close(s);
	grove_free(enc);
	assert_int_equal(grove_test_storage_db_open(dir, "node-a", &clk, GROVE_DURABILITY_NONE, &db), 0);
	grove_db_stats_t st;
	grove_db_stats(db, &st);
	assert_int_equal(st.index_rebuilds, 1);
	uint8_t r1[16], r2[16];
	grove_db_root_digest(db, r1);
	grove_db_root_digest(ref, r2);
	assert_memory_equal(r1, r2, 16);
	assert_int_equal(grove_db_count(db), N + 1);
	grove_db_close(db);
	grove_db_close(ref);
	grove_test_storage_rmdir(dir);
}

static void test_open_errors_name_dir(void **state)
{
	(void)state;
	char *dir = grove_test_storage_tmpdir("dberr");
	uint64_t clk = T0_MS;
	grove_db_t *db, *db2 = NULL;
	assert_int_equal(grove_test_storage_db_open(dir, "node-a", &clk, GROVE_DURABILITY_NONE, &db), 0);
	assert_int_equal(grove_db_counter_add(db, K("k"), 1, NULL), 0);
	char err[512] = "";
	grove_db_options_t o;
	grove_test_db_options_init(&o);
	assert_int_equal(grove_db_open(dir, &o, &db2, err, sizeof(err)), GROVE_ELOCKED);
	assert_null(db2);
	assert_non_null(strstr(err, dir));
	grove_db_close(db);
	/* a LevelDB database that is not a grove store is refused, untouched */
	char *other = grove_test_storage_tmpdir("foreign");
	grove_store_t *s = grove_test_storage_raw_open(other);
	assert_int_equal(grove_store_put(s, K("foreign"), "data", 4, true), 0);
	grove_store_close(s);
	assert_int_equal(grove_db_open(other, &o, &db2, err, sizeof(err)), GROVE_EINVAL);
	assert_non_null(strstr(err, other));
	assert_non_null(strstr(err, "no grove format record"));
	/* bad options */
	o.node_id = "";
	assert_int_equal(grove_db_open(NULL, &o, &db2, err, sizeof(err)), GROVE_EINVAL);
	grove_test_storage_rmdir(other);
	grove_test_storage_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_digests_hlc_survive),
		cmocka_unit_test(test_index_rebuilt_when_missing_or_damaged),
		cmocka_unit_test(test_index_rebuilt_when_inconsistent),
		cmocka_unit_test(test_open_errors_name_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
