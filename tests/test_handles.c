/*
 * test_handles.c - the typed handles (handles.h) on both backends, and the
 * Grove seed's example for every type: two stores, node-a and node-b write,
 * one Syncer sync, both stores read the same merged value (the Go
 * original's Syncer broke all but maps).
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
#include "grove/handles.h"
#include "grove/syncer.h"
#include "tests/util_storage.h"

#define T0_MS 1700000000000ULL
#define K(s) (s), strlen(s)

typedef struct fixture {
	char *dir_a, *dir_b;
	uint64_t clk_a, clk_b;
	grove_db_t *a, *b;
} fixture_t;

static int setup_backend(void **state, bool leveldb)
{
	fixture_t *f = calloc(1, sizeof(*f));
	f->clk_a = f->clk_b = T0_MS;
	if (leveldb) {
		f->dir_a = grove_test_storage_tmpdir("ha");
		f->dir_b = grove_test_storage_tmpdir("hb");
	}
	assert_int_equal(grove_test_storage_db_open(f->dir_a, "node-a", &f->clk_a, GROVE_DURABILITY_NONE,
					    &f->a), 0);
	assert_int_equal(grove_test_storage_db_open(f->dir_b, "node-b", &f->clk_b, GROVE_DURABILITY_NONE,
					    &f->b), 0);
	*state = f;
	return 0;
}

static int setup_memory(void **state) { return setup_backend(state, false); }
static int setup_leveldb(void **state) { return setup_backend(state, true); }

static int teardown(void **state)
{
	fixture_t *f = *state;
	grove_db_close(f->a);
	grove_db_close(f->b);
	grove_test_storage_rmdir(f->dir_a);
	grove_test_storage_rmdir(f->dir_b);
	free(f);
	return 0;
}

static void sync_once(fixture_t *f, grove_sync_report_t *r)
{
	grove_syncer_t *s;
	assert_int_equal(grove_syncer_create(f->a, f->b, NULL, &s), 0);
	assert_int_equal(grove_syncer_sync(s, r), 0);
	assert_int_equal(r->errors, 0);
	grove_syncer_destroy(s);
}

static void test_seed_example_counter(void **state)
{
	fixture_t *f = *state;
	grove_counter_t ca, cb;
	assert_int_equal(grove_counter_init(&ca, f->a, K("crdt:hits")), 0);
	assert_int_equal(grove_counter_init(&cb, f->b, K("crdt:hits")), 0);
	assert_int_equal(grove_counter_incr(&ca, 5, NULL), 0);
	assert_int_equal(grove_counter_incr(&cb, 3, NULL), 0);
	grove_sync_report_t r;
	sync_once(f, &r);
	assert_int_equal(r.keys_touched, 1);
	assert_int_equal(r.merged, 1);
	int64_t va, vb;
	assert_int_equal(grove_counter_value(&ca, &va), 0);
	assert_int_equal(grove_counter_value(&cb, &vb), 0);
	assert_int_equal(va, 8);
	assert_int_equal(vb, 8);
	grove_counter_close(&ca);
	grove_counter_close(&cb);
}

static void test_seed_example_register(void **state)
{
	fixture_t *f = *state;
	grove_register_t ra, rb;
	assert_int_equal(grove_register_init(&ra, f->a, K("crdt:name")), 0);
	assert_int_equal(grove_register_init(&rb, f->b, K("crdt:name")), 0);
	assert_int_equal(grove_register_set(&ra, "alice", 5), 0);
	f->clk_b += 5; /* b writes later */
	assert_int_equal(grove_register_set(&rb, "bob", 3), 0);
	grove_sync_report_t r;
	sync_once(f, &r);
	uint8_t *va, *vb;
	size_t la, lb;
	assert_int_equal(grove_register_get(&ra, &va, &la), 0);
	assert_int_equal(grove_register_get(&rb, &vb, &lb), 0);
	assert_int_equal(la, 3);
	assert_memory_equal(va, "bob", 3);
	assert_int_equal(lb, 3);
	assert_memory_equal(vb, "bob", 3);
	grove_free(va);
	grove_free(vb);
	grove_register_close(&ra);
	grove_register_close(&rb);
}

static void expect_list(const grove_bytes_list_t *l, const char *const *want, size_t n)
{
	assert_int_equal(l->count, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(l->items[i].len, strlen(want[i]));
		assert_memory_equal(l->items[i].data, want[i], l->items[i].len);
	}
}

static void test_seed_example_set(void **state)
{
	fixture_t *f = *state;
	grove_set_t sa, sb;
	assert_int_equal(grove_set_init(&sa, f->a, K("crdt:tags")), 0);
	assert_int_equal(grove_set_init(&sb, f->b, K("crdt:tags")), 0);
	assert_int_equal(grove_set_add(&sa, "red", 3, NULL), 0);
	assert_int_equal(grove_set_add(&sa, "blue", 4, NULL), 0);
	assert_int_equal(grove_set_add(&sb, "green", 5, NULL), 0);
	grove_sync_report_t r;
	sync_once(f, &r);
	const char *want[] = { "blue", "green", "red" };
	grove_bytes_list_t la, lb;
	assert_int_equal(grove_set_members(&sa, &la), 0);
	assert_int_equal(grove_set_members(&sb, &lb), 0);
	expect_list(&la, want, 3);
	expect_list(&lb, want, 3);
	grove_bytes_list_free(&la);
	grove_bytes_list_free(&lb);
	grove_set_close(&sa);
	grove_set_close(&sb);
}

static void test_seed_example_map(void **state)
{
	fixture_t *f = *state;
	grove_map_t ma, mb;
	assert_int_equal(grove_map_init(&ma, f->a, K("crdt:user")), 0);
	assert_int_equal(grove_map_init(&mb, f->b, K("crdt:user")), 0);
	assert_int_equal(grove_map_set(&ma, "name", 4, "ann", 3, NULL), 0);
	assert_int_equal(grove_map_set(&mb, "city", 4, "oslo", 4, NULL), 0);
	grove_sync_report_t r;
	sync_once(f, &r);
	const char *fields[] = { "city", "name" }, *vals[] = { "oslo", "ann" };
	grove_map_t *maps[] = { &ma, &mb };
	for (int i = 0; i < 2; i++) {
		grove_bytes_list_t lf, lv;
		assert_int_equal(grove_map_all(maps[i], &lf, &lv), 0);
		expect_list(&lf, fields, 2);
		expect_list(&lv, vals, 2);
		grove_bytes_list_free(&lf);
		grove_bytes_list_free(&lv);
	}
	grove_map_close(&ma);
	grove_map_close(&mb);
}

static void test_counter_handle(void **state)
{
	fixture_t *f = *state;
	grove_counter_t c;
	int64_t v = -1;
	assert_int_equal(grove_counter_init(&c, f->a, K("c")), 0);
	assert_int_equal(grove_counter_value(&c, &v), 0);
	assert_int_equal(v, 0); /* absent reads 0 */
	assert_int_equal(grove_counter_incr(&c, 10, &v), 0);
	assert_int_equal(grove_counter_decr(&c, 4, &v), 0);
	assert_int_equal(v, 6);
	assert_int_equal(grove_counter_decr(&c, INT64_MIN, &v), GROVE_EOVERFLOW);
	assert_int_equal(grove_counter_incr(&c, INT64_MAX, &v), GROVE_EOVERFLOW);
	assert_int_equal(grove_counter_value(&c, &v), 0);
	assert_int_equal(v, 6);
	bool existed = false;
	assert_int_equal(grove_counter_delete_key(&c, &existed), 0);
	assert_true(existed);
	assert_int_equal(grove_counter_value(&c, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(grove_counter_delete_key(&c, &existed), 0);
	assert_false(existed);
	grove_counter_close(&c);
	grove_counter_close(&c); /* safe twice: zeroed */
	assert_int_equal(grove_counter_init(&c, f->a, "", 0), GROVE_EINVAL);
}

static void test_register_handle(void **state)
{
	fixture_t *f = *state;
	grove_register_t r;
	uint8_t *v = NULL;
	size_t len = 0;
	assert_int_equal(grove_register_init(&r, f->a, K("r")), 0);
	assert_int_equal(grove_register_get(&r, &v, &len), GROVE_ENOTFOUND);
	assert_int_equal(grove_register_set(&r, "", 0), 0);
	assert_int_equal(grove_register_get(&r, &v, &len), 0); /* empty, but found */
	assert_int_equal(len, 0);
	grove_free(v);
	assert_int_equal(grove_register_set(&r, "x\0y", 3), 0);
	assert_int_equal(grove_register_get(&r, &v, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(v, "x\0y", 3);
	grove_free(v);
	bool existed;
	assert_int_equal(grove_register_delete_key(&r, &existed), 0);
	assert_true(existed);
	assert_int_equal(grove_register_get(&r, &v, &len), GROVE_ENOTFOUND);
	grove_register_close(&r);
}

static void test_set_and_map_handles(void **state)
{
	fixture_t *f = *state;
	grove_set_t s;
	bool b;
	assert_int_equal(grove_set_init(&s, f->a, K("s")), 0);
	grove_bytes_list_t l;
	assert_int_equal(grove_set_members(&s, &l), 0);
	assert_int_equal(l.count, 0);
	grove_bytes_list_free(&l);
	const char *elems[] = { "b", "a\xff", "a", "" };
	for (int i = 0; i < 4; i++)
		assert_int_equal(grove_set_add(&s, K(elems[i]), NULL), 0);
	assert_int_equal(grove_set_contains(&s, "a", 1, &b), 0);
	assert_true(b);
	assert_int_equal(grove_set_remove(&s, "a", 1, &b), 0);
	assert_true(b);
	assert_int_equal(grove_set_contains(&s, "a", 1, &b), 0);
	assert_false(b);
	const char *want[] = { "", "a\xff", "b" };
	assert_int_equal(grove_set_members(&s, &l), 0);
	expect_list(&l, want, 3);
	grove_bytes_list_free(&l);
	grove_map_t m;
	assert_int_equal(grove_map_init(&m, f->a, K("m")), 0);
	assert_int_equal(grove_map_keys(&m, &l), 0);
	assert_int_equal(l.count, 0);
	grove_bytes_list_free(&l);
	assert_int_equal(grove_map_set(&m, "f2", 2, "v2", 2, &b), 0);
	assert_true(b);
	assert_int_equal(grove_map_set(&m, "f1", 2, "v1", 2, &b), 0);
	assert_int_equal(grove_map_set(&m, "f1", 2, "v1b", 3, &b), 0);
	assert_false(b);
	uint8_t *v;
	size_t vlen;
	assert_int_equal(grove_map_get(&m, "f1", 2, &v, &vlen), 0);
	assert_memory_equal(v, "v1b", 3);
	grove_free(v);
	assert_int_equal(grove_map_delete(&m, "f2", 2, &b), 0);
	assert_true(b);
	assert_int_equal(grove_map_get(&m, "f2", 2, &v, &vlen), GROVE_ENOTFOUND);
	const char *fields[] = { "f1" };
	assert_int_equal(grove_map_keys(&m, &l), 0);
	expect_list(&l, fields, 1);
	grove_bytes_list_free(&l);
	/* wrong type through handles: error, nothing changed */
	grove_map_t wrong;
	assert_int_equal(grove_map_init(&wrong, f->a, K("s")), 0);
	assert_int_equal(grove_map_set(&wrong, "f", 1, "v", 1, &b), GROVE_EWRONGTYPE);
	assert_int_equal(grove_map_keys(&wrong, &l), GROVE_EWRONGTYPE);
	assert_int_equal(grove_map_delete_key(&wrong, &b), GROVE_EWRONGTYPE);
	assert_int_equal(grove_set_contains(&s, "b", 1, &b), 0);
	assert_true(b);
	assert_int_equal(grove_set_delete_key(&s, &b), 0);
	assert_true(b);
	assert_int_equal(grove_map_delete_key(&m, &b), 0);
	assert_true(b);
	assert_int_equal(grove_db_count(f->a), 0);
	grove_map_close(&wrong);
	grove_map_close(&m);
	grove_set_close(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		GROVE_TEST_BOTH_BACKENDS(test_seed_example_counter),
		GROVE_TEST_BOTH_BACKENDS(test_seed_example_register),
		GROVE_TEST_BOTH_BACKENDS(test_seed_example_set),
		GROVE_TEST_BOTH_BACKENDS(test_seed_example_map),
		GROVE_TEST_BOTH_BACKENDS(test_counter_handle),
		GROVE_TEST_BOTH_BACKENDS(test_register_handle),
		GROVE_TEST_BOTH_BACKENDS(test_set_and_map_handles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
