/*
 * test_crdt_listpos.c - position identifiers of list elements
 * (crdt/listpos.c): pushes at both ends stay one triple, concurrent
 * inserts between the same neighbours on two nodes are distinct and
 * ordered by node, repeated inserts before or after one pivot stay short,
 * random inserts anywhere always land strictly between their neighbours,
 * and malformed neighbours are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/rng.h"
#include "crdt/listpos.h"
#include "base/bytes.h"
#include "tests/util_storage.h"

/* ---- position ids ---- */

static int id_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	return grove_key_cmp(a, al, b, bl);
}

static void test_listpos(void **state)
{
	(void)state;
	uint8_t a[GROVE_LISTPOS_MAX], b[GROVE_LISTPOS_MAX], c[GROVE_LISTPOS_MAX];
	size_t al, bl, cl;
	/* the first element, then 100000 pushes at each end: one triple each */
	assert_int_equal(grove_listpos_between(NULL, 0, NULL, 0, "n1", 1, 0, a, &al), 0);
	assert_int_equal(al, 8 + 3 + 8);
	assert_true(grove_listpos_valid(a, al));
	memcpy(b, a, al);
	bl = al;
	for (uint64_t i = 2; i < 100000; i++) {
		assert_int_equal(grove_listpos_between(b, bl, NULL, 0, "n1", i, GROVE_LISTPOS_NEAR_LO, c,
						       &cl), 0);
		assert_int_equal(cl, 19);
		assert_true(id_cmp(b, bl, c, cl) < 0);
		memcpy(b, c, cl);
		assert_int_equal(grove_listpos_between(NULL, 0, a, al, "n1", i + 500000,
						       GROVE_LISTPOS_NEAR_HI, c, &cl), 0);
		assert_int_equal(cl, 19);
		assert_true(id_cmp(c, cl, a, al) < 0);
		memcpy(a, c, cl);
	}
	/* concurrent inserts between the same neighbours on two nodes: both
	 * between, distinct, ordered by node */
	uint8_t x[GROVE_LISTPOS_MAX], y[GROVE_LISTPOS_MAX];
	size_t xl, yl;
	assert_int_equal(grove_listpos_between(a, al, b, bl, "n1", 7, 0, x, &xl), 0);
	assert_int_equal(grove_listpos_between(a, al, b, bl, "n2", 7, 0, y, &yl), 0);
	assert_true(id_cmp(a, al, x, xl) < 0 && id_cmp(x, xl, b, bl) < 0);
	assert_true(id_cmp(a, al, y, yl) < 0 && id_cmp(y, yl, b, bl) < 0);
	assert_true(id_cmp(x, xl, y, yl) < 0);
	/* the dot of an id is its last triple's (node, counter) */
	const uint8_t *node;
	size_t nl;
	uint64_t ctr;
	assert_true(grove_listpos_dot(y, yl, &node, &nl, &ctr));
	assert_int_equal(nl, 2);
	assert_memory_equal(node, "n2", 2);
	assert_int_equal(ctr, 7);
	assert_true(grove_listpos_dot(c, cl, &node, &nl, &ctr));
	assert_int_equal(ctr, 100000 - 1 + 500000);
	assert_false(grove_listpos_dot(y, yl - 1, &node, &nl, &ctr));
	/* 3000 inserts always just before one pivot, and 3000 just after
	 * another: strictly between their neighbours, and short */
	uint8_t lo[GROVE_LISTPOS_MAX], piv[GROVE_LISTPOS_MAX];
	size_t lol, pl;
	memcpy(piv, b, bl);
	pl = bl;
	assert_int_equal(grove_listpos_between(NULL, 0, piv, pl, "n3", 1, 1, lo, &lol), 0);
	size_t longest = 0;
	for (uint64_t i = 2; i < 3000; i++) { /* LINSERT BEFORE piv */
		assert_int_equal(grove_listpos_between(lo, lol, piv, pl, "n3", i, GROVE_LISTPOS_NEAR_LO,
						       c, &cl), 0);
		assert_true(id_cmp(lo, lol, c, cl) < 0 && id_cmp(c, cl, piv, pl) < 0);
		memcpy(lo, c, cl);
		lol = cl;
		longest = cl > longest ? cl : longest;
	}
	assert_true(longest <= 3 * 19);
	uint8_t hi[GROVE_LISTPOS_MAX];
	size_t hil;
	assert_int_equal(grove_listpos_between(piv, pl, NULL, 0, "n3", 9000, 0, hi, &hil), 0);
	for (uint64_t i = 9001; i < 12000; i++) { /* LINSERT AFTER piv */
		assert_int_equal(grove_listpos_between(piv, pl, hi, hil, "n3", i, GROVE_LISTPOS_NEAR_HI,
						       c, &cl), 0);
		assert_true(id_cmp(piv, pl, c, cl) < 0 && id_cmp(c, cl, hi, hil) < 0);
		memcpy(hi, c, cl);
		hil = cl;
		assert_true(cl <= 3 * 19);
	}
	/* random inserts anywhere: always strictly between */
	grove_rng_t r;
	grove_rng_seed(&r, grove_test_storage_seed("test_listpos"));
	static uint8_t ids[400][GROVE_LISTPOS_MAX];
	size_t lens[400], n = 0;
	for (uint64_t i = 1; i < 400; i++) {
		size_t at = (size_t)grove_rng_below(&r, n + 1); /* insert before index at */
		const uint8_t *l = at ? ids[at - 1] : NULL, *h = at < n ? ids[at] : NULL;
		assert_int_equal(grove_listpos_between(l, at ? lens[at - 1] : 0, h, h ? lens[at] : 0,
						       grove_rng_below(&r, 2) ? "a" : "bb", i,
						       (int)grove_rng_below(&r, 2), c, &cl), 0);
		memmove(ids[at + 1], ids[at], (n - at) * sizeof(ids[0]));
		memmove(lens + at + 1, lens + at, (n - at) * sizeof(lens[0]));
		memcpy(ids[at], c, cl);
		lens[at] = cl;
		n++;
		if (l)
			assert_true(id_cmp(l, lens[at - 1], c, cl) < 0);
		if (at + 1 < n)
			assert_true(id_cmp(c, cl, ids[at + 1], lens[at + 1]) < 0);
	}
	/* hostile: malformed neighbours, wrong order, bad node */
	assert_int_equal(grove_listpos_between(b, bl, a, al, "n1", 1, 0, c, &cl), GROVE_EINVAL);
	assert_int_equal(grove_listpos_between(a, al - 1, NULL, 0, "n1", 1, 0, c, &cl), GROVE_EINVAL);
	assert_int_equal(grove_listpos_between(NULL, 0, NULL, 0, "", 1, 0, c, &cl), GROVE_EINVAL);
	assert_int_equal(grove_listpos_between(NULL, 0, NULL, 0, "n", 0, 0, c, &cl), GROVE_EINVAL);
	uint8_t filler[17] = { 0 };
	assert_false(grove_listpos_valid(filler, sizeof(filler)));
	assert_false(grove_listpos_valid(NULL, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listpos),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
