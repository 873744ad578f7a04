/*
 * test_crdt_value.c - the four replicated types one operation at a time:
 * counter, register, set, map; key delete; type conflicts; codec round
 * trip; digest.  Randomized properties live in test_crdt_prop.c, hostile
 * input in test_crdt_codec.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "grove/alloc.h"
#include "grove/value.h"

static grove_value_t *mk(void)
{
	grove_value_t *v = NULL;
	assert_int_equal(grove_value_create(&v), 0);
	return v;
}

/* Encodes v, decodes it, and checks the copy re-encodes identically. */
static grove_value_t *roundtrip(const grove_value_t *v)
{
	uint8_t *a, *b;
	size_t alen, blen;
	grove_value_t *c;
	assert_int_equal(grove_value_encode(v, &a, &alen), 0);
	assert_int_equal(grove_value_decode(a, alen, &c), 0);
	assert_int_equal(grove_value_encode(c, &b, &blen), 0);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
	grove_free(a);
	grove_free(b);
	return c;
}

static void merge_into(grove_value_t *dst, const grove_value_t *src, bool want_changed)
{
	bool changed = !want_changed;
	assert_int_equal(grove_value_merge(dst, src, &changed), 0);
	assert_int_equal(changed, want_changed);
}

static void assert_same_state(const grove_value_t *a, const grove_value_t *b)
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

static void test_empty_value(void **state)
{
	(void)state;
	grove_value_t *v = mk();
	assert_true(grove_value_is_empty(v));
	assert_int_equal(grove_value_type(v), GROVE_TYPE_NONE);
	assert_string_equal(grove_type_name(GROVE_TYPE_NONE), "none");
	assert_string_equal(grove_type_name(GROVE_TYPE_MAP), "map");
	int64_t n;
	assert_int_equal(grove_pncounter_get(v, &n), GROVE_ENOTFOUND);
	const void *p;
	size_t len;
	assert_int_equal(grove_lwwreg_get(v, &p, &len), GROVE_ENOTFOUND);
	assert_int_equal(grove_orset_count(v), 0);
	assert_int_equal(grove_value_max_ts(v), 0);
	assert_int_equal(grove_pncounter_add(v, "n1", 0), 0); /* INCRBY 0 creates nothing */
	assert_true(grove_value_is_empty(v));
	grove_value_t *c = roundtrip(v);
	assert_true(grove_value_is_empty(c));
	grove_value_destroy(c);
	grove_value_destroy(v);
	grove_value_destroy(NULL);
}

static void test_counter_basics(void **state)
{
	(void)state;
	grove_value_t *a = mk(), *b = mk();
	int64_t n = 0;
	assert_int_equal(grove_pncounter_add(a, "n1", 5), 0);
	assert_int_equal(grove_pncounter_add(a, "n1", -2), 0);
	assert_int_equal(grove_pncounter_add(b, "n2", 10), 0);
	assert_int_equal(grove_value_type(a), GROVE_TYPE_COUNTER);
	assert_int_equal(grove_pncounter_get(a, &n), 0);
	assert_int_equal(n, 3);
	merge_into(a, b, true);
	merge_into(a, b, false);
	assert_int_equal(grove_pncounter_get(a, &n), 0);
	assert_int_equal(n, 13);
	assert_int_equal(grove_pncounter_add(a, "bad\0", 1), 0); /* "bad" */
	assert_int_equal(grove_pncounter_add(a, "", 1), GROVE_EINVAL);
	grove_value_t *c = roundtrip(a);
	assert_int_equal(grove_pncounter_get(c, &n), 0);
	assert_int_equal(n, 14);
	grove_value_destroy(c);
	grove_value_destroy(a);
	grove_value_destroy(b);
}

static void test_counter_overflow_changes_nothing(void **state)
{
	(void)state;
	grove_value_t *v = mk();
	int64_t n = 0;
	assert_int_equal(grove_pncounter_add(v, "n1", INT64_MAX), 0);
	assert_int_equal(grove_pncounter_add(v, "n2", 1), GROVE_EOVERFLOW);
	assert_int_equal(grove_pncounter_get(v, &n), 0);
	assert_int_equal(n, INT64_MAX);
	assert_int_equal(grove_pncounter_add(v, "n1", INT64_MIN), 0);
	assert_int_equal(grove_pncounter_get(v, &n), 0);
	assert_int_equal(n, -1);
	assert_int_equal(grove_pncounter_add(v, "n1", INT64_MIN), GROVE_EOVERFLOW);
	assert_int_equal(grove_pncounter_get(v, &n), 0);
	assert_int_equal(n, -1);
	grove_value_destroy(v);
}

static void test_counter_delete_keeps_unseen_increments(void **state)
{
	(void)state;
	grove_value_t *a = mk(), *b;
	int64_t n = 0;
	assert_int_equal(grove_pncounter_add(a, "n1", 7), 0);
	assert_int_equal(grove_value_clone(a, &b), 0);
	assert_int_equal(grove_value_delete(a, "n1", 100), 0); /* saw 7 */
	assert_true(grove_value_is_empty(a));
	assert_int_equal(grove_pncounter_add(b, "n2", 3), 0); /* concurrent */
	assert_int_equal(grove_pncounter_add(b, "n1", 1), 0);
	merge_into(a, b, true);
	assert_int_equal(grove_pncounter_get(a, &n), 0);
	assert_int_equal(n, 4);
	/* re-creating after delete starts from zero */
	assert_int_equal(grove_value_delete(a, "n1", 101), 0);
	assert_int_equal(grove_pncounter_add(a, "n1", 2), 0);
	assert_int_equal(grove_pncounter_get(a, &n), 0);
	assert_int_equal(n, 2);
	grove_value_destroy(a);
	grove_value_destroy(b);
}

static void test_register_lww(void **state)
{
	(void)state;
	grove_value_t *a = mk(), *b = mk();
	const void *p;
	size_t len;
	assert_int_equal(grove_lwwreg_set(a, "n1", 10, "old", 3), 0);
	assert_int_equal(grove_lwwreg_set(b, "n2", 20, "new", 3), 0);
	assert_int_equal(grove_lwwreg_set(a, "n1", 5, "older", 5), 0); /* loses */
	merge_into(a, b, true);
	assert_int_equal(grove_lwwreg_get(a, &p, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(p, "new", 3);
	assert_int_equal(grove_value_max_ts(a), 20);
	/* equal ids, different values: the bytewise greater value wins both ways */
	grove_value_t *x = mk(), *y = mk();
	assert_int_equal(grove_lwwreg_set(x, "n1", 30, "aa", 2), 0);
	assert_int_equal(grove_lwwreg_set(y, "n1", 30, "ab", 2), 0);
	merge_into(x, y, true);
	merge_into(y, x, false);
	assert_int_equal(grove_lwwreg_get(x, &p, &len), 0);
	assert_memory_equal(p, "ab", 2);
	/* empty string value is found with len 0 */
	assert_int_equal(grove_lwwreg_set(x, "n1", 40, NULL, 0), 0);
	assert_int_equal(grove_lwwreg_get(x, &p, &len), 0);
	assert_int_equal(len, 0);
	grove_value_t *c = roundtrip(x);
	assert_int_equal(grove_lwwreg_get(c, &p, &len), 0);
	assert_int_equal(len, 0);
	grove_value_destroy(c);
	grove_value_destroy(x);
	grove_value_destroy(y);
	grove_value_destroy(a);
	grove_value_destroy(b);
}

static void test_register_delete_observed_remove(void **state)
{
	(void)state;
	grove_value_t *a = mk(), *b;
	const void *p;
	size_t len;
	assert_int_equal(grove_lwwreg_set(a, "n1", 10, "v1", 2), 0);
	assert_int_equal(grove_value_clone(a, &b), 0);
	assert_int_equal(grove_value_delete(a, "n1", 15), 0);
	assert_int_equal(grove_lwwreg_get(a, &p, &len), GROVE_ENOTFOUND);
	/* an unseen concurrent write older than v1 loses, as LWW would have it */
	grove_value_t *b2;
	assert_int_equal(grove_value_clone(b, &b2), 0);
	assert_int_equal(grove_lwwreg_set(b, "n0", 9, "v0", 2), 0);
	merge_into(a, b, false);
	assert_true(grove_value_is_empty(a));
	/* one newer than v1 survives, even with a timestamp below the delete's */
	assert_int_equal(grove_lwwreg_set(b2, "n2", 12, "v2", 2), 0);
	merge_into(a, b2, true);
	assert_int_equal(grove_lwwreg_get(a, &p, &len), 0);
	assert_memory_equal(p, "v2", 2);
	grove_value_destroy(a);
	grove_value_destroy(b);
	grove_value_destroy(b2);
}

/* Regression: A and B share v1 (ts 100); B writes v2 (ts 200) unseen by A;
 * A deletes at ts 300.  The delete removes only v1: v2 survives the merge
 * in both orders.  Deleting an empty register changes nothing. */
static void test_register_delete_keeps_unseen_skewed_write(void **state)
{
	(void)state;
	grove_value_t *a = mk(), *b = mk(), *e = mk();
	const void *p;
	size_t len;
	assert_int_equal(grove_lwwreg_set(a, "A", 100, "v1", 2), 0);
	merge_into(b, a, true);
	assert_int_equal(grove_lwwreg_set(b, "B", 200, "v2", 2), 0);
	assert_int_equal(grove_value_delete(a, "A", 300), 0);
	grove_value_t *ba = roundtrip(b);
	merge_into(ba, a, true); /* takes the tombstone, keeps v2 */
	merge_into(a, b, true);
	assert_same_state(a, ba);
	assert_int_equal(grove_lwwreg_get(a, &p, &len), 0);
	assert_memory_equal(p, "v2", 2);
	assert_int_equal(grove_lwwreg_get(ba, &p, &len), 0);
	assert_memory_equal(p, "v2", 2);
	grove_value_t *before = roundtrip(e);
	assert_int_equal(grove_value_delete(e, "A", 300), 0);
	merge_into(e, before, false); /* nothing to merge in: states equal */
	merge_into(before, e, false);
	grove_value_destroy(a);
	grove_value_destroy(b);
	grove_value_destroy(ba);
	grove_value_destroy(e);
	grove_value_destroy(before);
}

static void test_set_basics(void **state)
{
	(void)state;
	grove_value_t *v = mk();
	bool added = false, removed = false;
	assert_int_equal(grove_orset_add(v, "n1", "b", 1, &added), 0);
	assert_true(added);
	assert_int_equal(grove_orset_add(v, "n1", "a", 1, &added), 0);
	assert_int_equal(grove_orset_add(v, "n1", "", 0, &added), 0);
	assert_int_equal(grove_orset_add(v, "n1", "b", 1, &added), 0);
	assert_false(added);
	assert_int_equal(grove_orset_count(v), 3);
	const void *e;
	size_t len;
	grove_orset_member(v, 0, &e, &len);
	assert_int_equal(len, 0);
	grove_orset_member(v, 2, &e, &len);
	assert_memory_equal(e, "b", 1);
	assert_true(grove_orset_contains(v, "a", 1));
	assert_int_equal(grove_orset_remove(v, "n1", "a", 1, &removed), 0);
	assert_true(removed);
	assert_int_equal(grove_orset_remove(v, "n1", "a", 1, &removed), 0);
	assert_false(removed);
	assert_false(grove_orset_contains(v, "a", 1));
	grove_value_t *c = roundtrip(v);
	assert_int_equal(grove_orset_count(c), 2);
	grove_value_destroy(c);
	grove_value_destroy(v);
}

static void test_set_add_wins_and_readd_is_bounded(void **state)
{
	(void)state;
	grove_value_t *a = mk(), *b;
	assert_int_equal(grove_orset_add(a, "n1", "x", 1, NULL), 0);
	assert_int_equal(grove_value_clone(a, &b), 0);
	assert_int_equal(grove_orset_remove(a, "n1", "x", 1, NULL), 0); /* a removes */
	assert_int_equal(grove_orset_add(b, "n2", "x", 1, NULL), 0);   /* b re-adds */
	grove_value_t *a2;
	assert_int_equal(grove_value_clone(a, &a2), 0);
	merge_into(a, b, true);
	merge_into(b, a2, false); /* b already saw the remove's context */
	assert_true(grove_orset_contains(a, "x", 1));
	assert_true(grove_orset_contains(b, "x", 1));
	/* re-adding a present element does not grow the state: after 1000
	 * re-adds (counters now need 2 bytes) 1000 more leave the size equal */
	uint8_t *enc;
	size_t len1, len2;
	for (int i = 0; i < 1000; i++)
		assert_int_equal(grove_orset_add(a, "n1", "x", 1, NULL), 0);
	assert_int_equal(grove_value_encode(a, &enc, &len1), 0);
	grove_free(enc);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(grove_orset_add(a, "n1", "x", 1, NULL), 0);
	assert_int_equal(grove_value_encode(a, &enc, &len2), 0);
	grove_free(enc);
	assert_int_equal(len1, len2);
	assert_int_equal(grove_orset_count(a), 1);
	grove_value_destroy(a);
	grove_value_destroy(a2);
	grove_value_destroy(b);
}

static void test_map_basics_and_tombstones(void **state)
{
	(void)state;
	grove_value_t *a = mk(), *b;
	bool created = false, removed = false;
	const void *p, *f;
	size_t len, flen;
	assert_int_equal(grove_lwwmap_set(a, "n1", 10, "f1", 2, "v1", 2, &created), 0);
	assert_true(created);
	assert_int_equal(grove_lwwmap_set(a, "n1", 11, "f0", 2, "v0", 2, &created), 0);
	assert_int_equal(grove_lwwmap_set(a, "n1", 12, "f1", 2, "v1b", 3, &created), 0);
	assert_false(created);
	assert_int_equal(grove_lwwmap_count(a), 2);
	grove_lwwmap_entry(a, 0, &f, &flen, &p, &len);
	assert_memory_equal(f, "f0", 2);
	assert_int_equal(grove_lwwmap_get(a, "f1", 2, &p, &len), 0);
	assert_int_equal(len, 3);
	assert_int_equal(grove_value_clone(a, &b), 0);
	assert_int_equal(grove_lwwmap_delete(a, "n1", 13, "f1", 2, &removed), 0);
	assert_true(removed);
	assert_int_equal(grove_lwwmap_get(a, "f1", 2, &p, &len), GROVE_ENOTFOUND);
	/* the old value coming back from b does not resurrect the field */
	merge_into(a, b, false);
	assert_int_equal(grove_lwwmap_get(a, "f1", 2, &p, &len), GROVE_ENOTFOUND);
	/* a later write does */
	assert_int_equal(grove_lwwmap_set(b, "n2", 14, "f1", 2, "v2", 2, NULL), 0);
	merge_into(a, b, true);
	assert_int_equal(grove_lwwmap_get(a, "f1", 2, &p, &len), 0);
	assert_memory_equal(p, "v2", 2);
	grove_value_t *c = roundtrip(a);
	assert_int_equal(grove_lwwmap_count(c), 2);
	grove_value_destroy(c);
	grove_value_destroy(a);
	grove_value_destroy(b);
}

static void test_map_key_delete(void **state)
{
	(void)state;
	grove_value_t *a = mk(), *b = mk();
	const void *p;
	size_t len;
	assert_int_equal(grove_lwwmap_set(a, "n1", 10, "f1", 2, "v", 1, NULL), 0);
	assert_int_equal(grove_lwwmap_set(a, "n1", 11, "f2", 2, "v", 1, NULL), 0);
	assert_int_equal(grove_value_merge(b, a, NULL), 0);
	assert_int_equal(grove_lwwmap_set(b, "n2", 18, "late", 4, "v", 1, NULL), 0);
	assert_int_equal(grove_lwwmap_set(b, "n2", 12, "early", 5, "v", 1, NULL), 0);
	assert_int_equal(grove_lwwmap_set(b, "n2", 13, "f1", 2, "w", 1, NULL), 0);
	assert_int_equal(grove_lwwmap_set(b, "n0", 11, "f2", 2, "w", 1, NULL), 0);
	assert_int_equal(grove_value_delete(a, "n1", 15), 0);
	assert_true(grove_value_is_empty(a));
	merge_into(a, b, true);
	/* unseen fields survive whatever their timestamp; a seen field survives
	 * only through a write newer than the one the delete saw */
	assert_int_equal(grove_lwwmap_count(a), 3);
	assert_int_equal(grove_lwwmap_get(a, "late", 4, &p, &len), 0);
	assert_int_equal(grove_lwwmap_get(a, "early", 5, &p, &len), 0);
	assert_int_equal(grove_lwwmap_get(a, "f1", 2, &p, &len), 0);
	assert_memory_equal(p, "w", 1);
	assert_int_equal(grove_lwwmap_get(a, "f2", 2, &p, &len), GROVE_ENOTFOUND);
	grove_value_destroy(a);
	grove_value_destroy(b);
}

/* Regression: A and B share field x (ts 100); B sets field y (ts 200)
 * unseen by A; A deletes the key at ts 300.  After merge (either order) y
 * survives and x is deleted. */
static void test_map_key_delete_keeps_unseen_skewed_field(void **state)
{
	(void)state;
	grove_value_t *a = mk(), *b = mk();
	const void *p;
	size_t len;
	assert_int_equal(grove_lwwmap_set(a, "A", 100, "x", 1, "1", 1, NULL), 0);
	merge_into(b, a, true);
	assert_int_equal(grove_lwwmap_set(b, "B", 200, "y", 1, "2", 1, NULL), 0);
	assert_int_equal(grove_value_delete(a, "A", 300), 0);
	grove_value_t *ba = roundtrip(b);
	merge_into(ba, a, true);
	merge_into(a, b, true);
	assert_same_state(a, ba);
	assert_int_equal(grove_value_type(a), GROVE_TYPE_MAP);
	assert_int_equal(grove_lwwmap_count(a), 1);
	assert_int_equal(grove_lwwmap_get(a, "y", 1, &p, &len), 0);
	assert_memory_equal(p, "2", 1);
	assert_int_equal(grove_lwwmap_get(a, "x", 1, &p, &len), GROVE_ENOTFOUND);
	grove_value_destroy(a);
	grove_value_destroy(b);
	grove_value_destroy(ba);
}

static void test_wrong_type_and_conflict(void **state)
{
	(void)state;
	grove_value_t *a = mk(), *b = mk();
	int64_t n;
	assert_int_equal(grove_pncounter_add(a, "n1", 1), 0);
	assert_int_equal(grove_orset_add(a, "n1", "x", 1, NULL), GROVE_EWRONGTYPE);
	assert_int_equal(grove_lwwreg_set(a, "n1", 5, "x", 1), GROVE_EWRONGTYPE);
	assert_int_equal(grove_lwwmap_delete(a, "n1", 5, "x", 1, NULL), GROVE_EWRONGTYPE);
	assert_int_equal(grove_orset_remove(a, "n1", "x", 1, NULL), GROVE_EWRONGTYPE);
	const void *p;
	size_t len;
	assert_int_equal(grove_lwwreg_get(a, &p, &len), GROVE_EWRONGTYPE);
	/* concurrent creation with two types: same winner on both sides */
	assert_int_equal(grove_orset_add(b, "n2", "x", 1, NULL), 0);
	assert_int_equal(grove_pncounter_add(b, "n2", 0), GROVE_EWRONGTYPE);
	grove_value_t *a2, *b2;
	assert_int_equal(grove_value_clone(a, &a2), 0);
	assert_int_equal(grove_value_clone(b, &b2), 0);
	assert_int_equal(grove_value_merge(a, b, NULL), 0);
	assert_int_equal(grove_value_merge(b2, a2, NULL), 0);
	assert_int_equal(grove_value_type(a), GROVE_TYPE_SET); /* same epoch, "n2" > "n1" */
	assert_int_equal(grove_value_type(b2), GROVE_TYPE_SET);
	assert_int_equal(grove_pncounter_get(a, &n), GROVE_EWRONGTYPE);
	/* once the set is emptied, a counter write takes the key over, fresh */
	assert_int_equal(grove_orset_remove(a, "n1", "x", 1, NULL), 0);
	assert_true(grove_value_is_empty(a));
	assert_int_equal(grove_pncounter_add(a, "n1", 5), 0);
	assert_int_equal(grove_pncounter_get(a, &n), 0);
	assert_int_equal(n, 5);
	grove_value_destroy(a);
	grove_value_destroy(b);
	grove_value_destroy(a2);
	grove_value_destroy(b2);
}

/* Type change after a key delete: A deletes map {x} and re-creates the key
 * as a register while B, unaware, adds field y.  Both merge orders give the
 * same bytes; the register (epoch 2) is visible and y stays hidden; a later
 * key delete removes y too (it is seen state), so a new map holds only z. */
static void test_type_change_after_delete_converges(void **state)
{
	(void)state;
	grove_value_t *a = mk(), *b = mk();
	const void *p;
	size_t len;
	assert_int_equal(grove_lwwmap_set(a, "A", 100, "x", 1, "1", 1, NULL), 0);
	merge_into(b, a, true);
	assert_int_equal(grove_value_delete(a, "A", 300), 0);
	assert_int_equal(grove_lwwreg_set(a, "A", 310, "r", 1), 0);
	assert_int_equal(grove_lwwmap_set(b, "B", 200, "y", 1, "2", 1, NULL), 0);
	grove_value_t *ba = roundtrip(b);
	merge_into(ba, a, true);
	merge_into(a, b, true);
	assert_same_state(a, ba);
	assert_int_equal(grove_value_type(a), GROVE_TYPE_REGISTER);
	assert_int_equal(grove_lwwreg_get(a, &p, &len), 0);
	assert_memory_equal(p, "r", 1);
	assert_int_equal(grove_lwwmap_get(a, "y", 1, &p, &len), GROVE_EWRONGTYPE);
	assert_int_equal(grove_value_delete(a, "A", 400), 0);
	assert_true(grove_value_is_empty(a));
	assert_int_equal(grove_lwwmap_set(a, "A", 410, "z", 1, "3", 1, NULL), 0);
	assert_int_equal(grove_lwwmap_count(a), 1);
	assert_int_equal(grove_lwwmap_get(a, "z", 1, &p, &len), 0);
	merge_into(a, ba, false); /* y and x were seen and deleted: nothing new */
	assert_int_equal(grove_lwwmap_count(a), 1);
	grove_value_destroy(a);
	grove_value_destroy(b);
	grove_value_destroy(ba);
}

static void test_digest_is_blake2b_of_bytes(void **state)
{
	(void)state;
	uint8_t d1[GROVE_DIGEST_BYTES], d2[GROVE_DIGEST_BYTES];
	grove_digest((const uint8_t *)"abc", 3, d1);
	grove_digest((const uint8_t *)"abd", 3, d2);
	assert_memory_not_equal(d1, d2, GROVE_DIGEST_BYTES);
	/* BLAKE2b-128("abc"), from the reference implementation */
	static const uint8_t want[16] = { 0xcf, 0x4a, 0xb7, 0x91, 0xc6, 0x2b, 0x8d, 0x2b,
					  0x21, 0x09, 0xc9, 0x02, 0x75, 0x28, 0x78, 0x16 };
	assert_memory_equal(d1, want, 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_value),
		cmocka_unit_test(test_counter_basics),
		cmocka_unit_test(test_counter_overflow_changes_nothing),
		cmocka_unit_test(test_counter_delete_keeps_unseen_increments),
		cmocka_unit_test(test_register_lww),
		cmocka_unit_test(test_register_delete_observed_remove),
		cmocka_unit_test(test_register_delete_keeps_unseen_skewed_write),
		cmocka_unit_test(test_set_basics),
		cmocka_unit_test(test_set_add_wins_and_readd_is_bounded),
		cmocka_unit_test(test_map_basics_and_tombstones),
		cmocka_unit_test(test_map_key_delete),
		cmocka_unit_test(test_map_key_delete_keeps_unseen_skewed_field),
		cmocka_unit_test(test_wrong_type_and_conflict),
		cmocka_unit_test(test_type_change_after_delete_converges),
		cmocka_unit_test(test_digest_is_blake2b_of_bytes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
