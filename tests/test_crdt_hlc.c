/*
 * test_crdt_hlc.c - hybrid logical clock: monotonic under a clock that
 * stalls or goes backwards, remote updates, max-offset rejection, logical
 * overflow into the physical part, and the persisted floor.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "grove/hlc.h"
#include "base/rng.h"

typedef struct fake_clock {
	uint64_t ms;
} fake_clock_t;

static uint64_t fake_now(void *ctx)
{
	return ((fake_clock_t *)ctx)->ms;
}

static void test_hlc_now_follows_physical_time(void **state)
{
	(void)state;
	fake_clock_t fc = { 1000 };
	grove_hlc_t h;
	grove_hlc_init(&h, fake_now, &fc, GROVE_HLC_MAX_OFFSET_MS_DEFAULT, 0);
	uint64_t a = grove_hlc_now(&h);
	assert_int_equal(grove_hlc_phys(a), 1000);
	assert_int_equal(grove_hlc_logical(a), 0);
	uint64_t b = grove_hlc_now(&h); /* clock stalled: logical ticks */
	assert_int_equal(b, grove_hlc_make(1000, 1));
	fc.ms = 2000;
	assert_int_equal(grove_hlc_now(&h), grove_hlc_make(2000, 0));
}

static void test_hlc_monotonic_under_backward_clock(void **state)
{
	(void)state;
	grove_rng_t rng;
	grove_rng_seed(&rng, 7);
	fake_clock_t fc = { 5000 };
	grove_hlc_t h;
	grove_hlc_init(&h, fake_now, &fc, 500, 0);
	uint64_t prev = 0;
	for (int i = 0; i < 100000; i++) {
		/* random walk, often backwards */
		fc.ms = fc.ms + grove_rng_below(&rng, 5) - 2;
		uint64_t t = grove_hlc_now(&h);
		assert_true(t > prev);
		prev = t;
	}
}

static void test_hlc_update_takes_remote(void **state)
{
	(void)state;
	fake_clock_t fc = { 1000 };
	grove_hlc_t h;
	grove_hlc_init(&h, fake_now, &fc, 500, 0);
	uint64_t remote = grove_hlc_make(1400, 7);
	assert_int_equal(grove_hlc_update(&h, remote), 0);
	assert_int_equal(h.last, grove_hlc_make(1400, 8));
	assert_true(grove_hlc_now(&h) > remote);
	/* a remote in the past only ticks */
	uint64_t before = h.last;
	assert_int_equal(grove_hlc_update(&h, grove_hlc_make(10, 3)), 0);
	assert_true(h.last > before);
	/* physical time ahead of both: logical resets */
	fc.ms = 3000;
	assert_int_equal(grove_hlc_update(&h, grove_hlc_make(2500, 9)), 0);
	assert_int_equal(h.last, grove_hlc_make(3000, 0));
}

static void test_hlc_rejects_beyond_max_offset(void **state)
{
	(void)state;
	fake_clock_t fc = { 10000 };
	grove_hlc_t h;
	grove_hlc_init(&h, fake_now, &fc, 500, 0);
	uint64_t before = h.last;
	assert_int_equal(grove_hlc_update(&h, grove_hlc_make(10501, 0)), GROVE_ECLOCK_OFFSET);
	assert_int_equal(h.last, before);
	assert_int_equal(h.rejected, 1);
	assert_int_equal(grove_hlc_update(&h, grove_hlc_make(10500, 0xffff)), 0);
	assert_int_equal(h.rejected, 1);
	assert_true(h.last > grove_hlc_make(10500, 0xffff));
}

/* A huge configured offset is capped, and a remote timestamp in the last
 * representable millisecond is refused: no remote input reaches the
 * "year 10889" assertion in the tick. */
static void test_hlc_top_of_range_rejected(void **state)
{
	(void)state;
	fake_clock_t fc = { GROVE_HLC_PHYS_MAX - 10 };
	grove_hlc_t h;
	grove_hlc_init(&h, fake_now, &fc, UINT64_MAX, 0);
	assert_int_equal(h.max_offset_ms, GROVE_HLC_MAX_OFFSET_MS_MAX);
	uint64_t top = grove_hlc_make(GROVE_HLC_PHYS_MAX, GROVE_HLC_LOGICAL_MAX);
	assert_int_equal(grove_hlc_update(&h, top), GROVE_ECLOCK_OFFSET);
	assert_int_equal(h.rejected, 1);
	assert_int_equal(grove_hlc_update(&h, grove_hlc_make(GROVE_HLC_PHYS_MAX - 1, 0xffff)), 0);
	assert_int_equal(h.last, grove_hlc_make(GROVE_HLC_PHYS_MAX, 0));
}

static void test_hlc_logical_overflow_advances_physical(void **state)
{
	(void)state;
	fake_clock_t fc = { 100 };
	grove_hlc_t h;
	grove_hlc_init(&h, fake_now, &fc, 500, grove_hlc_make(100, GROVE_HLC_LOGICAL_MAX - 1));
	assert_int_equal(grove_hlc_now(&h), grove_hlc_make(100, GROVE_HLC_LOGICAL_MAX));
	assert_int_equal(grove_hlc_now(&h), grove_hlc_make(101, 0));
	/* the same through update with a saturated remote */
	assert_int_equal(grove_hlc_update(&h, grove_hlc_make(101, GROVE_HLC_LOGICAL_MAX)), 0);
	assert_int_equal(h.last, grove_hlc_make(102, 0));
}

static void test_hlc_floor_survives_restart(void **state)
{
	(void)state;
	fake_clock_t fc = { 50 };
	grove_hlc_t h;
	uint64_t floor = grove_hlc_make(90, 4); /* persisted high-water mark */
	grove_hlc_init(&h, fake_now, &fc, 500, floor);
	assert_true(grove_hlc_now(&h) > floor);
}

static void test_hlc_system_clock_is_plausible(void **state)
{
	(void)state;
	uint64_t ms = grove_clock_system_ms(NULL);
	assert_true(ms > 1600000000000ULL); /* after Sept 2020 */
	assert_true(ms < GROVE_HLC_PHYS_MAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hlc_now_follows_physical_time),
		cmocka_unit_test(test_hlc_monotonic_under_backward_clock),
		cmocka_unit_test(test_hlc_update_takes_remote),
		cmocka_unit_test(test_hlc_rejects_beyond_max_offset),
		cmocka_unit_test(test_hlc_top_of_range_rejected),
		cmocka_unit_test(test_hlc_logical_overflow_advances_physical),
		cmocka_unit_test(test_hlc_floor_survives_restart),
		cmocka_unit_test(test_hlc_system_clock_is_plausible),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
