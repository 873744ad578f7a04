/*
 * test_base.c - the error table, the allocation seam and the seeded rng.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "grove/alloc.h"
#include "grove/error.h"
#include "base/buf.h"
#include "base/list.h"
#include "base/num.h"
#include "base/rng.h"

static void test_strerror_covers_table(void **state)
{
	(void)state;
	assert_string_equal(grove_strerror(GROVE_OK), "success");
	assert_string_equal(grove_strerror(GROVE_ENOTFOUND), "not found");
	assert_string_equal(grove_err_name(GROVE_EWRONGTYPE), "GROVE_EWRONGTYPE");
	assert_string_equal(grove_strerror(12345), "unknown error");
	for (int c = -1; c >= GROVE_EREVOKED; c--)
		assert_string_not_equal(grove_strerror(c), "unknown error");
}

static void test_alloc_fail_after(void **state)
{
	(void)state;
	grove_alloc_fail_after(2);
	void *a = grove_malloc(8);
	void *b = grove_malloc(8);
	void *c = grove_calloc(1, 8);
	grove_alloc_fail_reset();
	void *d = grove_malloc(8);
	assert_non_null(a);
	assert_null(b);
	assert_null(c);
	assert_non_null(d);
	grove_free(a);
	grove_free(d);
}

static void test_rng_replays_and_bounds(void **state)
{
	(void)state;
	grove_rng_t x, y;
	grove_rng_seed(&x, 42);
	grove_rng_seed(&y, 42);
	int hist[7] = { 0 };
	for (int i = 0; i < 7000; i++) {
		uint64_t a = grove_rng_below(&x, 7);
		assert_int_equal(a, grove_rng_below(&y, 7));
		hist[a]++;
	}
	for (int i = 0; i < 7; i++)
		assert_in_range(hist[i], 800, 1200);
	grove_rng_seed(&y, 43);
	assert_int_not_equal(grove_rng_next(&x), grove_rng_next(&y));
	double u = grove_rng_unit(&x);
	assert_true(u >= 0.0 && u < 1.0);
}

/* The shared growth policy: doubling, raised to need and min, capped at
 * max; nothing changes on failure. */
static void test_grow_policy(void **state)
{
	(void)state;
	uint32_t *a = NULL;
	size_t cap = 0;
	assert_int_equal(grove_grow((void **)&a, &cap, 3, sizeof(*a), 16, 100), 0);
	assert_int_equal(cap, 16);
	a[15] = 7;
	assert_int_equal(grove_grow((void **)&a, &cap, 16, sizeof(*a), 16, 100), 0);
	assert_int_equal(cap, 16); /* had room: untouched */
	assert_int_equal(grove_grow((void **)&a, &cap, 17, sizeof(*a), 16, 100), 0);
	assert_int_equal(cap, 32);
	assert_int_equal(a[15], 7);
	assert_int_equal(grove_grow((void **)&a, &cap, 90, sizeof(*a), 16, 100), 0);
	assert_int_equal(cap, 90); /* jumps straight to a known need */
	assert_int_equal(grove_grow((void **)&a, &cap, 91, sizeof(*a), 16, 100), 0);
	assert_int_equal(cap, 100); /* doubling capped at the maximum */
	assert_int_equal(grove_grow((void **)&a, &cap, 101, sizeof(*a), 16, 100), GROVE_EFULL);
	uint32_t *before = a;
	grove_alloc_fail_after(1);
	assert_int_equal(grove_grow((void **)&a, &cap, 101, sizeof(*a), 16, 0), GROVE_ENOMEM);
	grove_alloc_fail_reset();
	assert_ptr_equal(a, before);
	assert_int_equal(cap, 100);
	assert_int_equal(grove_grow((void **)&a, &cap, SIZE_MAX / 2, sizeof(*a), 0, 0), GROVE_ENOMEM);
	assert_int_equal(cap, 100);
	grove_free(a);
}

/* grove_buf_t: appends, the sticky failure flag, max_bytes, consume. */
static void test_buf_append_fail_consume(void **state)
{
	(void)state;
	grove_buf_t b;
	grove_buf_init(&b, 300);
	grove_buf_append(&b, "hello", 5);
	assert_int_equal(b.len, 5);
	assert_true(b.cap >= GROVE_BUF_MIN_BYTES);
	grove_buf_consume(&b, 2);
	assert_memory_equal(b.data, "llo", 3);
	uint8_t big[300] = { 0 };
	grove_buf_append(&b, big, sizeof(big)); /* 303 > max_bytes */
	assert_true(grove_buf_failed(&b));
	grove_buf_append(&b, "x", 1); /* sticky */
	assert_int_equal(b.len, 3);
	grove_buf_reset(&b);
	assert_false(grove_buf_failed(&b));
	assert_int_equal(b.len, 0);
	grove_buf_append(&b, big, sizeof(big));
	assert_false(grove_buf_failed(&b));
	assert_int_equal(b.len, 300);
	grove_buf_close(&b);
	grove_buf_close(&b); /* safe twice */

	grove_buf_init(&b, 0);
	grove_alloc_fail_after(1);
	grove_buf_append(&b, "x", 1);
	grove_alloc_fail_reset();
	assert_true(grove_buf_failed(&b));
	assert_int_equal(b.len, 0);
	grove_buf_close(&b);
}

/* The intrusive list: order of insertion at either end, removal while
 * iterating, a removed link left on no list. */
typedef struct item {
	int v;
	grove_list_t link;
} item_t;

/* grove_be64_get / _put: big-endian on every host (the score index and
 * list positions sort by these bytes), at unaligned addresses, and the
 * order of the bytes is the order of the numbers. */
static void test_be64_known_answers(void **state)
{
	(void)state;
	uint8_t buf[17] = { 0 };
	const uint8_t want[8] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
	for (size_t at = 0; at < 9; at++) { /* every alignment */
		memset(buf, 0xee, sizeof(buf));
		grove_be64_put(buf + at, 0x0123456789abcdefull);
		assert_memory_equal(buf + at, want, 8);
		assert_int_equal(buf[at + 8], 0xee); /* nothing written past the 8 */
		if (at)
			assert_int_equal(buf[at - 1], 0xee);
		assert_true(grove_be64_get(buf + at) == 0x0123456789abcdefull);
	}
	uint64_t xs[] = { 0, 1, 0xff, 0x100, 0x8000000000000000ull, UINT64_MAX - 1, UINT64_MAX };
	uint8_t a[8], b[8];
	for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++) {
		grove_be64_put(a, xs[i]);
		assert_true(grove_be64_get(a) == xs[i]);
		for (size_t j = 0; j < sizeof(xs) / sizeof(xs[0]); j++) {
			grove_be64_put(b, xs[j]);
			int c = memcmp(a, b, 8);
			assert_true((c < 0) == (xs[i] < xs[j]) && (c == 0) == (xs[i] == xs[j]));
		}
	}
}

static void test_list_order_and_remove(void **state)
{
	(void)state;
	grove_list_t head, *l, *tmp;
	item_t it[4] = { { .v = 0 }, { .v = 1 }, { .v = 2 }, { .v = 3 } };
	grove_list_init(&head);
	assert_true(grove_list_empty(&head));
	grove_list_insert_head(&head, &it[1].link);
	grove_list_insert_head(&head, &it[0].link);
	grove_list_insert_tail(&head, &it[2].link);
	grove_list_insert_tail(&head, &it[3].link);
	int want = 0;
	GROVE_LIST_FOREACH_SAFE(l, tmp, &head) {
		item_t *x = GROVE_LIST_ENTRY(l, item_t, link);
		assert_int_equal(x->v, want++);
		if (x->v % 2 == 1)
			grove_list_remove(l); /* while iterating */
	}
	assert_int_equal(want, 4);
	assert_ptr_equal(head.next, &it[0].link);
	assert_ptr_equal(head.next->next, &it[2].link);
	assert_ptr_equal(head.prev, &it[2].link);
	assert_ptr_equal(it[1].link.next, &it[1].link); /* on no list */
	grove_list_remove(&it[1].link);                 /* harmless */
	grove_list_remove(&it[0].link);
	grove_list_remove(&it[2].link);
	assert_true(grove_list_empty(&head));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strerror_covers_table),
		cmocka_unit_test(test_alloc_fail_after),
		cmocka_unit_test(test_rng_replays_and_bounds),
		cmocka_unit_test(test_grow_policy),
		cmocka_unit_test(test_buf_append_fail_consume),
		cmocka_unit_test(test_list_order_and_remove),
		cmocka_unit_test(test_be64_known_answers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
