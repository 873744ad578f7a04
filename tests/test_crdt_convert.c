/*
 * test_crdt_convert.c - seeded property test of counting on a register
 * (grove_pncounter_from_register; doc/value_format.md, "Counting on a
 * register"): Redis's `SET ctr n` then `INCR ctr` on several replicas.
 *
 * Rounds on 2..5 replicas: one replica (at random) deletes the key and
 * SETs a random integer n (the writer), every replica merges it; then the
 * replicas increment at random (converting the register on their first
 * increment, or incrementing the counter they already merged), with random
 * pairwise merges in between; then every replica merges every other.  The
 * property: all replicas encode byte-identically and read n + the sum of
 * every increment of the round (concurrent conversions credit n once, the
 * writer's own increments count, increments after a merge of another's
 * conversion count).  Also: a non-integer register is GROVE_ERANGE and
 * unchanged, a delta of 0 changes nothing, and overflow is refused.
 *
 * Seed: GROVE_SEED (decimal) replays a run; the seed is always printed.
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
#include "grove/value.h"

#define REPLICAS_MAX 5
#define ROUNDS 6
#define RUNS 200

static const char *const names[REPLICAS_MAX] = {"n0", "n1", "n2", "node-3", "z4"};

static void merge_into(grove_value_t **dst, const grove_value_t *src)
{
	bool changed;
	assert_int_equal(grove_value_merge(*dst, src, &changed), 0);
}

static void assert_same(const grove_value_t *a, const grove_value_t *b)
{
	uint8_t *x, *y;
	size_t xl, yl;
	assert_int_equal(grove_value_encode(a, &x, &xl), 0);
	assert_int_equal(grove_value_encode(b, &y, &yl), 0);
	assert_int_equal(xl, yl);
	assert_memory_equal(x, y, xl);
	grove_free(x);
	grove_free(y);
}

/* Every replica merges every other (twice round: all see all). */
static void converge(grove_value_t **r, int n)
{
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < n; i++)
			for (int j = 0; j < n; j++)
				if (i != j)
					merge_into(&r[i], r[j]);
	for (int i = 1; i < n; i++)
		assert_same(r[0], r[i]);
}

static void run_once(grove_rng_t *rng, uint64_t *ts)
{
	int n = 2 + (int)grove_rng_below(rng, REPLICAS_MAX - 1);
	grove_value_t *r[REPLICAS_MAX];
	for (int i = 0; i < n; i++)
		assert_int_equal(grove_value_create(&r[i]), 0);
	for (int round = 0; round < ROUNDS; round++) {
		int w = (int)grove_rng_below(rng, (uint64_t)n);
		int64_t base = (int64_t)grove_rng_below(rng, 2001) - 1000;
		char text[24];
		int tl = snprintf(text, sizeof(text), "%lld", (long long)base);
		assert_int_equal(grove_value_delete(r[w], names[w], 0), 0);
		assert_int_equal(grove_lwwreg_set(r[w], names[w], ++*ts, text, (size_t)tl), 0);
		converge(r, n);
		int64_t sum = 0;
		int steps = (int)grove_rng_below(rng, 12);
		for (int s = 0; s < steps; s++) {
			int i = (int)grove_rng_below(rng, (uint64_t)n);
			if (grove_rng_below(rng, 3) == 0) { /* a pairwise merge */
				int j = (int)grove_rng_below(rng, (uint64_t)n);
				if (j != i)
					merge_into(&r[i], r[j]);
				continue;
			}
			int64_t d = (int64_t)grove_rng_below(rng, 21) - 10;
			int64_t out = 0;
			int rc = grove_value_type(r[i]) == GROVE_TYPE_REGISTER
					 ? grove_pncounter_from_register(r[i], names[i], d, &out)
					 : grove_pncounter_add(r[i], names[i], d);
			assert_int_equal(rc, 0);
			sum += d;
		}
		converge(r, n);
		int64_t got;
		if (grove_value_type(r[0]) == GROVE_TYPE_REGISTER) { /* nothing converted it */
			const void *val;
			size_t len;
			assert_int_equal(grove_lwwreg_get(r[0], &val, &len), 0);
			assert_int_equal(len, (size_t)tl);
			assert_memory_equal(val, text, len);
			got = base;
		} else {
			assert_int_equal(grove_pncounter_get(r[0], &got), 0);
		}
		assert_int_equal(got, base + sum);
	}
	for (int i = 0; i < n; i++)
		grove_value_destroy(r[i]);
}

static void test_convert_prop(void **state)
{
	(void)state;
	const char *env = getenv("GROVE_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 10) : 20261206;
	printf("test_crdt_convert: seed %llu (replay with GROVE_SEED=%llu)\n",
	       (unsigned long long)seed, (unsigned long long)seed);
	grove_rng_t rng;
	grove_rng_seed(&rng, seed);
	uint64_t ts = 1000;
	for (int i = 0; i < RUNS; i++)
		run_once(&rng, &ts);
}

static void test_convert_edges(void **state)
{
	(void)state;
	grove_value_t *v;
	int64_t out = 7;
	assert_int_equal(grove_value_create(&v), 0);
	assert_int_equal(grove_pncounter_from_register(v, "a", 1, &out), GROVE_EWRONGTYPE);
	const char *bad[] = {"abc", "", "01", "-0", " 1", "1 ", "+1", "9223372036854775808", NULL};
	for (const char *const *b = bad; *b; b++) {
		assert_int_equal(grove_lwwreg_set(v, "a", 10 + (uint64_t)(b - bad), *b, strlen(*b)), 0);
		assert_int_equal(grove_pncounter_from_register(v, "b", 1, &out), GROVE_ERANGE);
		assert_int_equal(grove_value_type(v), GROVE_TYPE_REGISTER);
	}
	assert_int_equal(grove_lwwreg_set(v, "a", 100, "9223372036854775807", 19), 0);
	assert_int_equal(grove_pncounter_from_register(v, "b", 1, &out), GROVE_EOVERFLOW);
	assert_int_equal(grove_pncounter_from_register(v, "b", 0, &out), 0);
	assert_true(out == INT64_MAX);
	assert_int_equal(grove_value_type(v), GROVE_TYPE_REGISTER); /* 0 changes nothing */
	assert_int_equal(grove_pncounter_from_register(v, "b", -7, &out), 0);
	assert_true(out == INT64_MAX - 7);
	assert_int_equal(grove_value_type(v), GROVE_TYPE_COUNTER);
	assert_int_equal(grove_pncounter_from_register(v, "b", 1, &out), GROVE_EWRONGTYPE);
	grove_value_destroy(v);
	/* "0": nothing credited to the writer, the counter is the increment */
	assert_int_equal(grove_value_create(&v), 0);
	assert_int_equal(grove_lwwreg_set(v, "a", 5, "0", 1), 0);
	assert_int_equal(grove_pncounter_from_register(v, "b", 1, &out), 0);
	assert_true(out == 1);
	grove_value_destroy(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_convert_edges),
		cmocka_unit_test(test_convert_prop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
