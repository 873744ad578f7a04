/*
 * test_db_items.c - grove_db_items_merge (storage/db_coll.c), the merge of
 * an anti-entropy frame's item states with one key lock and one write per
 * group of one key's elements: every item gets exactly the result,
 * "changed" and "reply" of its own grove_db_item_merge, hostile items are
 * refused and counted one by one, no element is lost, and the digest tree
 * ends identical to item-by-item merging (both backends); and the group
 * really is one store write.
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
#include "base/rng.h"
#include "crdt/coll.h"
#include "storage/db_int.h"
#include "storage/store.h"
#include "tests/util_storage.h"

#define K(s) s, strlen(s)
#define ITEMS_MAX 2048

#if defined(__SANITIZE_ADDRESS__) /* ASan+UBSan pass: smaller, same checks */
#define ITEMS_N 200      /* members and fields of the source */
#define FAIL_N 60        /* the same in the allocation-failure test */
#define FAIL_STEP(n) ((n) * 2 + 1)
#else
#define ITEMS_N 600
#define FAIL_N 150
#define FAIL_STEP(n) ((n) * 3 / 2 + 1)
#endif

/* ---- store writes, counted ---- */

static uint64_t g_writes;
static const grove_store_ops_t *g_real;
static grove_store_ops_t g_counting;

static int count_write(grove_store_t *s, const grove_batch_t *b, bool sync)
{
	g_writes++;
	return g_real->write(s, b, sync);
}

static void count_writes(grove_db_t *db)
{
	g_real = db->store->ops;
	g_counting = *g_real;
	g_counting.write = count_write;
	db->store->ops = &g_counting;
}

/* ---- a list of item states ---- */

typedef struct shipment {
	uint8_t *name[ITEMS_MAX];
	size_t nlen[ITEMS_MAX];
	uint8_t *st[ITEMS_MAX];
	size_t slen[ITEMS_MAX];
	size_t n;
} shipment_t;

static void ship_add(shipment_t *s, const uint8_t *name, size_t nlen, const uint8_t *st, size_t slen)
{
	assert_true(s->n < ITEMS_MAX);
	s->name[s->n] = grove_malloc(nlen);
	s->st[s->n] = grove_malloc(slen);
	assert_non_null(s->name[s->n]);
	assert_non_null(s->st[s->n]);
	memcpy(s->name[s->n], name, nlen);
	memcpy(s->st[s->n], st, slen);
	s->nlen[s->n] = nlen;
	s->slen[s->n++] = slen;
}

static void ship_free(shipment_t *s)
{
	for (size_t i = 0; i < s->n; i++) {
		grove_free(s->name[i]);
		grove_free(s->st[i]);
	}
	s->n = 0;
}

typedef struct collect {
	grove_db_t *db;
	shipment_t *s;
} collect_t;

static int collect_fn(void *ctx, const uint8_t *name, size_t nlen)
{
	collect_t *c = ctx;
	uint8_t *st;
	size_t slen;
	int rc = grove_db_item_state(c->db, name, nlen, &st, &slen);
	if (rc == GROVE_ENOTFOUND)
		return 0;
	assert_int_equal(rc, 0);
	ship_add(c->s, name, nlen, st, slen);
	grove_free(st);
	return 0;
}

/* Every item of key in src, appended to s. */
static void ship_key(grove_db_t *src, const char *key, shipment_t *s)
{
	collect_t c = { src, s };
	assert_int_equal(grove_db_key_items(src, K(key), collect_fn, &c), 0);
}

/* Shuffles s[from..n) (the seeded rng). */
static void ship_shuffle(shipment_t *s, size_t from, grove_rng_t *r)
{
	for (size_t i = s->n; i > from + 1; i--) {
		size_t j = from + (size_t)grove_rng_below(r, i - from);
#define SWAP(a) do { __typeof__(a[0]) t_ = a[i - 1]; a[i - 1] = a[j]; a[j] = t_; } while (0)
		SWAP(s->name);
		SWAP(s->nlen);
		SWAP(s->st);
		SWAP(s->slen);
#undef SWAP
	}
}

/* ---- the comparison ---- */

static grove_db_t *open_db(const char *dir, const char *node, uint64_t *clock)
{
	grove_db_t *db;
	*clock = GROVE_TEST_T0_MS;
	assert_int_equal(grove_test_storage_db_open(dir, node, clock, GROVE_DURABILITY_NONE, &db), 0);
	return db;
}

/* Merges s into a (item by item) and b (grove_db_items_merge): every
 * item's outcome, the stats and the tree must be the same.  Returns the
 * store writes b made. */
static uint64_t merge_both(grove_db_t *a, grove_db_t *b, const shipment_t *s)
{
	grove_db_stats_t a0, a1, b0, b1;
	grove_db_stats(a, &a0);
	grove_db_stats(b, &b0);
	grove_db_item_t *it = grove_calloc(s->n, sizeof(*it));
	assert_non_null(it);
	for (size_t i = 0; i < s->n; i++)
		it[i] = (grove_db_item_t){ .name = s->name[i], .nlen = s->nlen[i], .state = s->st[i],
					   .slen = s->slen[i], .rc = 12345 };
	count_writes(b);
	g_writes = 0;
	grove_db_items_merge(b, it, s->n);
	b->store->ops = g_real;
	uint64_t writes = g_writes;
	for (size_t i = 0; i < s->n; i++) {
		bool changed = false, reply = false;
		int rc = grove_db_item_merge(a, s->name[i], s->nlen[i], s->st[i], s->slen[i], &changed,
					     &reply);
		if (rc != it[i].rc || changed != it[i].changed || reply != it[i].reply)
			fail_msg("item %zu of %zu: one by one rc %d changed %d reply %d, batched rc %d changed %d reply %d",
				 i, s->n, rc, changed, reply, it[i].rc, it[i].changed, it[i].reply);
	}
	grove_free(it);
	grove_db_stats(a, &a1);
	grove_db_stats(b, &b1);
	assert_int_equal(a1.items_rejected - a0.items_rejected, b1.items_rejected - b0.items_rejected);
	assert_int_equal(a1.merges_rejected - a0.merges_rejected, b1.merges_rejected - b0.merges_rejected);
	assert_int_equal(a1.merges_changed - a0.merges_changed, b1.merges_changed - b0.merges_changed);
	assert_int_equal(a1.merges_unchanged - a0.merges_unchanged,
			 b1.merges_unchanged - b0.merges_unchanged);
	uint8_t ra[16], rb[16];
	grove_db_root_digest(a, ra);
	grove_db_root_digest(b, rb);
	assert_memory_equal(ra, rb, 16);
	return writes;
}

static uint64_t count_of(grove_db_t *db, const char *key, grove_type_t t)
{
	uint64_t n = 0;
	assert_int_equal(grove_db_coll_count(db, K(key), t, &n), 0);
	return n;
}

/* A source with a set s (N members, every 7th removed), a hash h (N
 * fields) and a counter; two fresh replicas get all of it in shuffled
 * order with the heads first, a forged member and garbage among the
 * elements, then everything again (all unchanged), then a forged field
 * that reuses a real dot with another value (refused at merge time, inside
 * a group). */
static void items_run(bool leveldb)
{
	enum { N = ITEMS_N };
	char *dir[3] = { NULL, NULL, NULL };
	uint64_t cs, ca, cb, cf;
	for (int i = 0; leveldb && i < 3; i++)
		assert_non_null(dir[i] = grove_test_storage_tmpdir("items"));
	grove_db_t *src = open_db(dir[0], "src", &cs);
	grove_db_t *a = open_db(dir[1], "dst", &ca);
	grove_db_t *b = open_db(dir[2], "dst", &cb);
	grove_db_t *forger = open_db(NULL, "src", &cf);
	char m[32], v[32];
	assert_int_equal(grove_db_map_set(src, K("h"), K("f0"), K("v0"), NULL), 0); /* dot src:1 */
	for (int i = 0; i < N; i++) {
		snprintf(m, sizeof(m), "m%d", i);
		assert_int_equal(grove_db_set_add(src, K("s"), K(m), NULL), 0);
		snprintf(m, sizeof(m), "f%d", i + 1);
		snprintf(v, sizeof(v), "v%d", i + 1);
		assert_int_equal(grove_db_map_set(src, K("h"), K(m), K(v), NULL), 0);
	}
	for (int i = 0; i < N; i += 7) {
		snprintf(m, sizeof(m), "m%d", i);
		assert_int_equal(grove_db_set_remove(src, K("s"), K(m), NULL), 0);
	}
	assert_int_equal(grove_db_counter_add(src, K("c"), 5, NULL), 0);
	shipment_t *s = grove_calloc(1, sizeof(*s));
	assert_non_null(s);
	grove_rng_t r;
	grove_rng_seed(&r, 11);
	ship_key(src, "s", s);
	ship_key(src, "h", s);
	ship_key(src, "c", s);
	ship_shuffle(s, 0, &r);
	/* a member whose dot lies outside the sender's context (refused by
	 * the decoder), and garbage as a field's state */
	grove_ctx_t ctx = { 0 };
	grove_elem_t x = { 0 };
	grove_value__dot_t d = { .node = "evil", .counter = 5 };
	assert_int_equal(grove_elem_set_one(&x, &d, 0, NULL, 0), 0);
	grove_buf_t fb = { 0 };
	assert_int_equal(grove_elem_state_encode(&fb, &ctx, &x, GROVE_ELEM_MEMBER), 0);
	uint8_t name[64];
	size_t nl = grove_test_elem_name(name, GROVE_ITEM_MEMBER, "s", "forged");
	ship_add(s, name, nl, fb.data, fb.len);
	nl = grove_test_elem_name(name, GROVE_ITEM_FIELD, "h", "zz");
	ship_add(s, name, nl, (const uint8_t *)"\x93\x90", 2);
	ship_shuffle(s, s->n / 2, &r); /* among the elements of the second half */
	uint64_t writes = merge_both(a, b, s);
	/* groups of one key: far fewer writes than items */
	assert_true(writes * 8 < s->n);
	/* nothing lost */
	assert_int_equal(count_of(b, "s", GROVE_TYPE_SET), N - (N + 6) / 7);
	assert_int_equal(count_of(b, "h", GROVE_TYPE_MAP), N + 1);
	/* all of it again, with the same outcomes: the element states that
	 * came before their key's head now merge under its context, and the
	 * replicas hold exactly the source's items */
	merge_both(a, b, s);
	uint8_t rs[16], rb[16];
	grove_db_root_digest(src, rs);
	grove_db_root_digest(b, rb);
	assert_memory_equal(rs, rb, 16);
	/* the forged field: src:1 (h's field f0) with another value, in the
	 * middle of a group of h's fields */
	ship_free(s);
	assert_int_equal(grove_db_map_set(forger, K("h"), K("f0"), K("forged"), NULL), 0);
	for (int i = 0; i < 40; i++) {
		snprintf(m, sizeof(m), "n%d", i);
		assert_int_equal(grove_db_map_set(src, K("h"), K(m), K("new"), NULL), 0);
		nl = grove_test_elem_name(name, GROVE_ITEM_FIELD, "h", m);
		collect_fn(&(collect_t){ src, s }, name, nl);
		if (i == 20) {
			nl = grove_test_elem_name(name, GROVE_ITEM_FIELD, "h", "f0");
			collect_fn(&(collect_t){ forger, s }, name, nl);
		}
	}
	grove_db_stats_t b0, b1;
	grove_db_stats(b, &b0);
	merge_both(a, b, s);
	grove_db_stats(b, &b1);
	assert_int_equal(b1.items_rejected - b0.items_rejected, 1);
	assert_int_equal(count_of(b, "h", GROVE_TYPE_MAP), N + 1 + 40);
	ship_free(s);
	grove_free(s);
	grove_buf_close(&fb);
	grove_elem_free(&x);
	grove_ctx_free(&ctx);
	grove_db_close(forger);
	grove_db_close(src);
	grove_db_close(a);
	grove_db_close(b);
	for (int i = 0; i < 3; i++)
		grove_test_storage_rmdir(dir[i]);
}

/* Allocation failures at every depth of a first grove_db_items_merge: a
 * group dropped half way must leave nothing behind (the key's cached value
 * included), so the same shipment merged again converges to the source's
 * digest (in dot order, each merge moves the head's version vector: a
 * dropped group that left it moved would lose elements) - unless the
 * failure hit a store write, after which the db
 * refuses writes until reopened (GROVE_EREADONLY, not checked further). */
static void test_items_merge_alloc_failures(void **state)
{
	(void)state;
	uint64_t cs, cd;
	grove_db_t *src = open_db(NULL, "src", &cs);
	char m[32];
	for (int i = 0; i < FAIL_N; i++) {
		snprintf(m, sizeof(m), "m%03d", i);
		assert_int_equal(grove_db_set_add(src, K("s"), K(m), NULL), 0);
		assert_int_equal(grove_db_map_set(src, K("h"), K(m), K("v"), NULL), 0);
	}
	for (int i = 0; i < FAIL_N; i += 5) {
		snprintf(m, sizeof(m), "m%03d", i);
		assert_int_equal(grove_db_set_remove(src, K("s"), K(m), NULL), 0);
	}
	shipment_t *s = grove_calloc(1, sizeof(*s));
	assert_non_null(s);
	ship_key(src, "s", s); /* in dot order: each merge folds into the cached vv */
	ship_key(src, "h", s);
	grove_db_item_t *it = grove_calloc(s->n, sizeof(*it));
	assert_non_null(it);
	uint8_t rs[16], rd[16];
	grove_db_root_digest(src, rs);
	int checked = 0;
	for (long n = 1; n < 200000; n = FAIL_STEP(n)) {
		grove_db_t *dst = open_db(NULL, "dst", &cd);
		bool readonly = false;
		for (int pass = 0; pass < 3; pass++) {
			for (size_t i = 0; i < s->n; i++)
				it[i] = (grove_db_item_t){ .name = s->name[i], .nlen = s->nlen[i],
							   .state = s->st[i], .slen = s->slen[i] };
			if (pass == 0)
				grove_alloc_fail_after(n);
			grove_db_items_merge(dst, it, s->n);
			grove_alloc_fail_reset();
			for (size_t i = 0; pass > 0 && i < s->n; i++) {
				readonly |= it[i].rc == GROVE_EREADONLY;
				if (!readonly && it[i].rc != 0)
					fail_msg("failure after %ld allocations: item %zu then gave %d", n, i,
						 it[i].rc);
			}
		}
		grove_db_root_digest(dst, rd);
		if (!readonly && memcmp(rs, rd, 16) != 0)
			fail_msg("failure after %ld allocations: the digest differs from the source's", n);
		checked += !readonly;
		grove_db_close(dst);
	}
	assert_true(checked > 5);
	grove_free(it);
	ship_free(s);
	grove_free(s);
	grove_db_close(src);
}

static void test_items_merge_memory(void **state)
{
	(void)state;
	items_run(false);
}

static void test_items_merge_leveldb(void **state)
{
	(void)state;
	items_run(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_items_merge_memory),
		cmocka_unit_test(test_items_merge_leveldb),
		cmocka_unit_test(test_items_merge_alloc_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
