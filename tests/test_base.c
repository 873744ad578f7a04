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
#include "base/rng.h"

static void test_strerror_covers_table(void **state)
{
	(void)state;
	assert_string_equal(grove_strerror(GROVE_OK), "success");
	assert_string_equal(grove_strerror(GROVE_ENOTFOUND), "not found");
	assert_string_equal(grove_err_name(GROVE_EWRONGTYPE), "GROVE_EWRONGTYPE");
	assert_string_equal(grove_strerror(12345), "unknown error");
	for (int c = -1; c >= GROVE_ERANGE; c--)
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strerror_covers_table),
		cmocka_unit_test(test_alloc_fail_after),
		cmocka_unit_test(test_rng_replays_and_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
