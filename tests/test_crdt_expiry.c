/*
 * test_crdt_expiry.c - the TTL component of a value (crdt/expiry.c,
 * doc/value_format.md "Expiry"): its rule case by case, the canonical
 * encoding (value format 2 only when there is expiry state), and a seeded
 * property test of random concurrent EXPIRE / PERSIST / SET (which clears
 * the TTL it saw) / SET KEEPTTL / DEL on 3 replicas against a reference
 * model, with the algebraic checks of merge (commutative, associative,
 * idempotent on the encoded bytes).
 *
 * Model (from the event log, per replica the set S of events seen, merged
 * by union): the TTL writes are EXPIRE (id, deadline) and PERSIST (id, no
 * TTL); a clear (SET without KEEPTTL, DEL) names the TTL write its replica
 * held (or none).  Expected deadline: the greatest-id TTL write in S,
 * unless its id is <= the greatest id a clear in S named.  Clocks are
 * skewed, so unseen writes with smaller ids are common.
 *
 * Seed: GROVE_SEED replays a run; it is always printed.
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
#include "grove/hlc.h"
#include "grove/value.h"

#define REPLICAS 3
#define EVENTS_MAX 96
#define HISTORIES 600
#define POOL_MAX 16

static uint64_t seed;

typedef enum { E_EXPIRE, E_PERSIST, E_SET, E_SET_KEEP, E_DEL, E_KINDS } kind_t;

typedef struct event {
	kind_t kind;
	uint64_t ts;  /* TTL writes: the id's timestamp */
	int node;
	uint64_t at;  /* E_EXPIRE: the deadline */
	int cleared;  /* clears: the event index of the TTL write they saw, -1 none */
} event_t;

typedef struct replica {
	grove_value_t *v;
	grove_hlc_t hlc;
	uint64_t clock;
	bool seen[EVENTS_MAX];
} replica_t;

static const char *const nodes[REPLICAS] = { "n0", "n1", "node-2" };

static uint64_t fake_clock(void *ctx)
{
	return *(uint64_t *)ctx;
}

static int id_cmp(const event_t *a, const event_t *b)
{
	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	return strcmp(nodes[a->node], nodes[b->node]);
}

/* The model's deadline at replica r (0: none), and whether it holds a
 * TTL write (*write: the event index, -1 none). */
static uint64_t model_deadline(const event_t *ev, int n, const replica_t *r, int *write)
{
	int best = -1, tomb = -1;
	for (int i = 0; i < n; i++) {
		if (!r->seen[i])
			continue;
		const event_t *e = &ev[i];
		bool ttl = e->kind == E_EXPIRE || e->kind == E_PERSIST;
		if (ttl && (best < 0 || id_cmp(e, &ev[best]) > 0))
			best = i;
		if (!ttl && e->cleared >= 0 && (tomb < 0 || id_cmp(&ev[e->cleared], &ev[tomb]) > 0))
			tomb = e->cleared;
	}
	if (best >= 0 && tomb >= 0 && id_cmp(&ev[best], &ev[tomb]) <= 0)
		best = -1;
	*write = best;
	return best >= 0 ? ev[best].at : 0;
}

static void encode(const grove_value_t *v, uint8_t **b, size_t *n)
{
	assert_int_equal(grove_value_encode(v, b, n), 0);
}

static bool same_bytes(const grove_value_t *a, const grove_value_t *b)
{
	uint8_t *ea, *eb;
	size_t la, lb;
	encode(a, &ea, &la);
	encode(b, &eb, &lb);
	bool same = la == lb && memcmp(ea, eb, la) == 0;
	grove_free(ea);
	grove_free(eb);
	return same;
}

static grove_value_t *clone_of(const grove_value_t *v)
{
	grove_value_t *c;
	assert_int_equal(grove_value_clone(v, &c), 0);
	return c;
}

static grove_value_t *merged(const grove_value_t *a, const grove_value_t *b)
{
	grove_value_t *m = clone_of(a);
	bool changed;
	assert_int_equal(grove_value_merge(m, b, &changed), 0);
	assert_int_equal(changed, !same_bytes(m, a));
	return m;
}

/* merge commutative, associative, idempotent; decode(encode(x)) == x */
static void check_algebra(const grove_value_t *a, const grove_value_t *b, const grove_value_t *c)
{
	grove_value_t *ab = merged(a, b), *ba = merged(b, a), *aa = merged(a, a);
	grove_value_t *ab_c = merged(ab, c), *bc = merged(b, c), *a_bc = merged(a, bc);
	if (!same_bytes(ab, ba) || !same_bytes(aa, a) || !same_bytes(ab_c, a_bc))
		fail_msg("merge law broken (seed %llu)", (unsigned long long)seed);
	grove_value_t *rt = clone_of(ab_c);
	assert_true(same_bytes(rt, ab_c));
	grove_value_destroy(rt);
	grove_value_destroy(ab);
	grove_value_destroy(ba);
	grove_value_destroy(aa);
	grove_value_destroy(ab_c);
	grove_value_destroy(bc);
	grove_value_destroy(a_bc);
}

static void check(const event_t *ev, int n, const replica_t *r)
{
	int w;
	uint64_t want = model_deadline(ev, n, r, &w);
	if (grove_expiry_get(r->v) != want)
		fail_msg("deadline %llu, model %llu (seed %llu)",
			 (unsigned long long)grove_expiry_get(r->v), (unsigned long long)want,
			 (unsigned long long)seed);
	assert_int_equal(grove_expiry_written(r->v), w >= 0);
}

/* One operation at replica r: event n. */
static void step_op(grove_rng_t *g, event_t *ev, int n, replica_t *rs, int ri)
{
	replica_t *r = &rs[ri];
	event_t *e = &ev[n];
	memset(e, 0, sizeof(*e));
	e->kind = (kind_t)grove_rng_below(g, E_KINDS);
	e->node = ri;
	e->cleared = -1;
	r->clock += grove_rng_below(g, 5);
	assert_int_equal(grove_hlc_update(&r->hlc, grove_value_max_ts(r->v)), 0);
	e->ts = grove_hlc_now(&r->hlc);
	const char *node = nodes[ri];
	int held;
	model_deadline(ev, n, r, &held);
	switch (e->kind) {
	case E_EXPIRE:
		e->at = 1 + grove_rng_below(g, 1000);
		assert_int_equal(grove_expiry_set(r->v, node, e->ts, e->at), 0);
		break;
	case E_PERSIST:
		assert_int_equal(grove_expiry_set(r->v, node, e->ts, 0), 0);
		break;
	case E_SET:
	case E_SET_KEEP: {
		/* a creating write (on an empty value) resets the TTL it saw,
		 * KEEPTTL or not; a SET without KEEPTTL always clears it */
		bool creating = grove_value_is_empty(r->v);
		assert_int_equal(grove_lwwreg_set(r->v, node, e->ts, "v", 1), 0);
		if (e->kind == E_SET)
			grove_expiry_clear(r->v);
		if (e->kind == E_SET || creating)
			e->cleared = held;
		break;
	}
	case E_DEL:
		assert_int_equal(grove_value_delete(r->v, node, e->ts), 0);
		e->cleared = held;
		break;
	default:
		break;
	}
	r->seen[n] = true;
	check(ev, n + 1, r);
}

static void step_merge(event_t *ev, int n, replica_t *dst, const replica_t *src)
{
	bool changed;
	assert_int_equal(grove_value_merge(dst->v, src->v, &changed), 0);
	for (int i = 0; i < n; i++)
		dst->seen[i] |= src->seen[i];
	assert_int_equal(grove_hlc_update(&dst->hlc, grove_value_max_ts(src->v)), 0);
	check(ev, n, dst);
}

static void run_history(grove_rng_t *g)
{
	replica_t rs[REPLICAS];
	event_t ev[EVENTS_MAX];
	grove_value_t *pool[POOL_MAX];
	size_t np = 0;
	memset(rs, 0, sizeof(rs));
	for (int i = 0; i < REPLICAS; i++) {
		assert_int_equal(grove_value_create(&rs[i].v), 0);
		rs[i].clock = 1000 + grove_rng_below(g, 50); /* skewed clocks */
		grove_hlc_init(&rs[i].hlc, fake_clock, &rs[i].clock, 1u << 30, 0);
	}
	int n = 0, steps = 20 + (int)grove_rng_below(g, 60);
	for (int s = 0; s < steps && n < EVENTS_MAX; s++) {
		int a = (int)grove_rng_below(g, REPLICAS), b = (int)grove_rng_below(g, REPLICAS);
		if (grove_rng_below(g, 3) == 0 && a != b)
			step_merge(ev, n, &rs[a], &rs[b]);
		else
			step_op(g, ev, n++, rs, a);
		if (np < POOL_MAX && grove_rng_below(g, 4) == 0)
			pool[np++] = clone_of(rs[a].v);
	}
	for (int i = 0; i < REPLICAS; i++) /* everyone merges everyone */
		for (int j = 0; j < REPLICAS; j++)
			if (i != j)
				step_merge(ev, n, &rs[i], &rs[j]);
	for (int i = 0; i < REPLICAS; i++) {
		for (int j = 0; j < REPLICAS; j++)
			step_merge(ev, n, &rs[i], &rs[j]);
		if (!same_bytes(rs[i].v, rs[0].v))
			fail_msg("replicas differ after full merge (seed %llu)", (unsigned long long)seed);
	}
	for (size_t i = 0; i + 2 < np; i++)
		check_algebra(pool[i], pool[i + 1], pool[i + 2]);
	for (size_t i = 0; i < np; i++)
		grove_value_destroy(pool[i]);
	for (int i = 0; i < REPLICAS; i++)
		grove_value_destroy(rs[i].v);
}

static void test_prop_expiry(void **state)
{
	(void)state;
	const char *s = getenv("GROVE_SEED");
	seed = s ? strtoull(s, NULL, 10) : 20261206;
	printf("test_prop_expiry seed %llu\n", (unsigned long long)seed);
	grove_rng_t g;
	grove_rng_seed(&g, seed);
	for (int h = 0; h < HISTORIES; h++)
		run_history(&g);
}

/* The rule case by case. */
static void test_rule(void **state)
{
	(void)state;
	grove_value_t *a, *b;
	assert_int_equal(grove_value_create(&a), 0);
	assert_int_equal(grove_lwwreg_set(a, "a", 10, "x", 1), 0);
	uint8_t *e1;
	size_t l1;
	encode(a, &e1, &l1);
	assert_int_equal(e1[0], 0x97); /* no expiry state: format 1, 7 items */
	assert_int_equal(e1[1], 1);
	grove_free(e1);
	assert_int_equal(grove_expiry_set(a, "a", 20, 5000), 0);
	encode(a, &e1, &l1);
	assert_int_equal(e1[0], 0x98); /* format 2, 8 items, the deadline last */
	assert_int_equal(e1[1], 2);
	assert_int_equal(e1[l1 - 1], 5000 & 0xff);
	assert_int_equal(e1[l1 - 2], 5000 >> 8);
	grove_free(e1);
	b = clone_of(a);
	/* concurrent: a PERSIST at 30 on b, an EXPIRE at 25 on a: later wins */
	assert_int_equal(grove_expiry_set(b, "b", 30, 0), 0);
	assert_int_equal(grove_expiry_set(a, "a", 25, 9000), 0);
	grove_value_t *m = merged(a, b);
	assert_int_equal(grove_expiry_get(m), 0);
	assert_true(grove_expiry_written(m));
	grove_value_destroy(m);
	/* an older write is ignored */
	assert_int_equal(grove_expiry_set(a, "a", 21, 7000), 0);
	assert_int_equal(grove_expiry_get(a), 9000);
	/* a clear removes what it saw; an unseen later EXPIRE survives */
	grove_value_t *c = clone_of(a);
	grove_expiry_clear(a);
	assert_int_equal(grove_expiry_get(a), 0);
	assert_false(grove_expiry_written(a));
	assert_int_equal(grove_expiry_set(c, "c", 40, 11000), 0);
	m = merged(a, c);
	assert_int_equal(grove_expiry_get(m), 11000);
	grove_value_destroy(m);
	/* ... and an unseen earlier one loses, as under LWW */
	grove_value_destroy(c);
	assert_int_equal(grove_value_create(&c), 0);
	assert_int_equal(grove_expiry_set(c, "c", 22, 12000), 0);
	m = merged(a, c);
	assert_int_equal(grove_expiry_get(m), 0);
	grove_value_destroy(m);
	/* bad arguments */
	assert_int_equal(grove_expiry_set(a, "a", 0, 1), GROVE_EINVAL);
	assert_int_equal(grove_expiry_set(a, "", 50, 1), GROVE_EINVAL);
	assert_int_equal(grove_expiry_set(a, "a", 50, GROVE_EXPIRY_AT_MAX + 1), GROVE_EINVAL);
	grove_value_destroy(a);
	grove_value_destroy(b);
	grove_value_destroy(c);
}

/* The decoder refuses non-canonical expiry components. */
static void test_decode_strict(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		uint8_t b[40];
		size_t n;
	} bad[] = {
		/* empty expiry component written as version 2 */
		{ "empty", { 0x98, 0x02, 0x00, 0x93, 0x00, 0xa0, 0x00, 0x90, 0x95, 0x00, 0xa0, 0xc0,
			     0x00, 0xa0, 0x93, 0x90, 0x90, 0x90, 0x90, 0x95, 0x00, 0xa0, 0x00, 0xa0,
			     0xc4, 0x08, 0, 0, 0, 0, 0, 0, 0, 0 }, 34 },
		/* a deadline without a write */
		{ "deadline without id", { 0x98, 0x02, 0x00, 0x93, 0x00, 0xa0, 0x00, 0x90, 0x95, 0x00,
					   0xa0, 0xc0, 0x00, 0xa0, 0x93, 0x90, 0x90, 0x90, 0x90, 0x95,
					   0x00, 0xa0, 0x01, 0xa1, 'a', 0xc4, 0x08, 0, 0, 0, 0, 0, 0,
					   0, 5 }, 35 },
		/* a write not above the tombstone */
		{ "write below tomb", { 0x98, 0x02, 0x00, 0x93, 0x00, 0xa0, 0x00, 0x90, 0x95, 0x00,
					0xa0, 0xc0, 0x00, 0xa0, 0x93, 0x90, 0x90, 0x90, 0x90, 0x95,
					0x01, 0xa1, 'a', 0x02, 0xa1, 'a', 0xc4, 0x08, 0, 0, 0, 0, 0,
					0, 0, 5 }, 36 },
		/* the deadline not in its fixed 8-byte form */
		{ "short deadline", { 0x98, 0x02, 0x00, 0x93, 0x00, 0xa0, 0x00, 0x90, 0x95, 0x00, 0xa0,
				      0xc0, 0x00, 0xa0, 0x93, 0x90, 0x90, 0x90, 0x90, 0x95, 0x01,
				      0xa1, 'a', 0x00, 0xa0, 0x05 }, 26 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		grove_value_t *v = NULL;
		int rc = grove_value_decode(bad[i].b, bad[i].n, &v);
		if (rc != GROVE_EDECODE)
			fail_msg("case '%s': got %d", bad[i].name, rc);
	}
	/* the good one: a write (1, "a") with deadline 5 and no tombstone */
	static const uint8_t good[] = { 0x98, 0x02, 0x00, 0x93, 0x00, 0xa0, 0x00, 0x90, 0x95,
					0x00, 0xa0, 0xc0, 0x00, 0xa0, 0x93, 0x90, 0x90, 0x90,
					0x90, 0x95, 0x01, 0xa1, 'a', 0x00, 0xa0, 0xc4, 0x08,
					0, 0, 0, 0, 0, 0, 0, 5 };
	grove_value_t *v = NULL;
	assert_int_equal(grove_value_decode(good, sizeof(good), &v), 0);
	assert_int_equal(grove_expiry_get(v), 5);
	uint8_t *e;
	size_t n;
	encode(v, &e, &n);
	assert_int_equal(n, sizeof(good));
	assert_memory_equal(e, good, n);
	grove_free(e);
	grove_value_destroy(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule),
		cmocka_unit_test(test_decode_strict),
		cmocka_unit_test(test_prop_expiry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
