/*
 * test_crdt_hcount.c - counter fields of hashes (crdt/hcount.[ch];
 * doc/value_format.md, "Counter fields"): the codec of tagged entries (old
 * plain records decode and encode unchanged; the decoder refuses what the
 * encoder never writes), the rule case by case, and two seeded property
 * tests on one field held by 3..5 replicas (records and contexts merged
 * pairwise with grove_elem_merge in random orders):
 *
 * - sums: a replica HSETs an integer n and every replica merges it; then
 *   random HINCRBYs (converting the HSET value on each node's first one)
 *   and pairwise merges; after every replica merged every other, all hold
 *   byte-identical records reading n + the sum of every increment.
 * - histories: random concurrent HSET (integers, sometimes a non-integer),
 *   HINCRBY, HDEL/DEL and merges.  Every read, on every replica after
 *   every step, equals a reference model that keeps each write as an event
 *   with the set of events its replica had seen (its causal past) and
 *   evaluates the documented rule on events rather than dots and contexts:
 *   an entry survives unless a later HSET/HDEL/DEL (or, for an increment,
 *   the same node's next increment) saw it; the value is the winning
 *   HSET's value plus every surviving chain's increments beyond the
 *   winner's baseline.  After full exchanges all replicas hold identical
 *   records and read the model's value over the union of the histories.
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

#include "base/buf.h"
#include "base/num.h"
#include "base/rng.h"
#include "grove/alloc.h"
#include "crdt/hcount.h"

#define REPLICAS_MAX 5
#define EVENTS_MAX 256
#define WORDS (EVENTS_MAX / 64)

static const char *const names[REPLICAS_MAX] = { "n0", "n1", "n2", "node-3", "z4" };

typedef struct replica {
	grove_elem_t rec;
	grove_ctx_t ctx;
	uint64_t clk;
	uint64_t seen[WORDS]; /* model: the events this replica has seen */
} replica_t;

/* ---- helpers on the real records ---- */

static void write_dot(replica_t *r, const char *node, grove_value__dot_t *d, uint64_t *ts,
		      grove_rng_t *rng)
{
	assert_int_equal(grove_ctx_next_dot(&r->ctx, node, d), 0);
	assert_int_equal(grove_ctx_add(&r->ctx, d), 0);
	uint64_t m = grove_elem_max_ts(&r->rec);
	r->clk = (r->clk > m ? r->clk : m) + 1 + grove_rng_below(rng, 3);
	*ts = r->clk;
}

static void do_hset(replica_t *r, const char *node, const char *val, grove_rng_t *rng,
		    grove_value__dot_t *d, uint64_t *ts)
{
	write_dot(r, node, d, ts, rng);
	grove_elem_t x = { 0 };
	assert_int_equal(grove_hfield_set(&r->rec, d, *ts, val, strlen(val), &x), 0);
	grove_elem_free(&r->rec);
	r->rec = x;
}

static void do_incr(replica_t *r, const char *node, int64_t delta, grove_rng_t *rng,
		    grove_value__dot_t *d, uint64_t *ts)
{
	write_dot(r, node, d, ts, rng);
	grove_elem_t x = { 0 };
	assert_int_equal(grove_hfield_incr(&r->rec, d, *ts, delta, &x), 0);
	grove_elem_free(&r->rec);
	r->rec = x;
}

/* j's record and context merged into i's (one field: the contexts join). */
static void merge_into(replica_t *i, const replica_t *j)
{
	bool changed;
	assert_int_equal(grove_elem_merge(&i->rec, &i->ctx, &j->rec, &j->ctx, &changed), 0);
	assert_int_equal(grove_ctx_union(&i->ctx, &j->ctx), 0);
	for (int w = 0; w < WORDS; w++)
		i->seen[w] |= j->seen[w];
}

/* The record through the codec: decode(encode(x)) == x, same bytes. */
static void roundtrip(const grove_elem_t *x)
{
	grove_buf_t b = { 0 }, b2 = { 0 };
	assert_int_equal(grove_elem_encode(&b, x, GROVE_ELEM_FIELD), 0);
	grove_elem_t y;
	assert_int_equal(grove_elem_decode(b.data, b.len, GROVE_ELEM_FIELD, &y), 0);
	assert_true(grove_elem_eq(x, &y));
	assert_int_equal(grove_elem_encode(&b2, &y, GROVE_ELEM_FIELD), 0);
	assert_int_equal(b.len, b2.len);
	assert_memory_equal(b.data, b2.data, b.len);
	grove_elem_free(&y);
	grove_buf_close(&b);
	grove_buf_close(&b2);
}

/* The value a read returns, as text ("(nil)" when absent). */
static void read_text(const grove_elem_t *x, char *out, size_t cap)
{
	grove_hfield_val_t v;
	int rc = grove_hfield_eval(x, &v);
	if (rc == GROVE_ENOTFOUND) {
		snprintf(out, cap, "(nil)");
		return;
	}
	assert_int_equal(rc, 0);
	snprintf(out, cap, "%.*s", (int)v.len, (const char *)v.p);
}

/* ---- the reference model ---- */

enum { EV_SET, EV_INC, EV_DEL };

typedef struct base {
	uint64_t chain, k;
	int64_t cum;
	bool has;
} base_t;

typedef struct event {
	int type, node;
	uint64_t counter, ts;
	char val[16];      /* SET */
	int64_t delta, cum; /* INC */
	uint64_t chain;
	uint64_t obs[WORDS]; /* its causal past */
	base_t base[REPLICAS_MAX]; /* SET: the baselines it carries */
} event_t;

typedef struct model {
	event_t ev[EVENTS_MAX];
	int n;
} model_t;

static bool bit(const uint64_t *s, int e)
{
	return (s[e / 64] >> (e % 64)) & 1;
}

static void set_bit(uint64_t *s, int e)
{
	s[e / 64] |= 1ull << (e % 64);
}

/* Whether event e is removed in view s: a later HSET, HDEL or DEL saw it,
 * or (an increment) the same node's next increment did. */
static bool removed(const model_t *m, const uint64_t *s, int e)
{
	for (int r = 0; r < m->n; r++) {
		const event_t *x = &m->ev[r];
		if (r == e || !bit(s, r) || !bit(x->obs, e))
			continue;
		if (x->type != EV_INC || (m->ev[e].type == EV_INC && x->node == m->ev[e].node))
			return true;
	}
	return false;
}

static bool win_less(const event_t *a, const event_t *b)
{
	if (a->ts != b->ts)
		return a->ts < b->ts;
	int c = strcmp(names[a->node], names[b->node]);
	return c ? c < 0 : a->counter < b->counter;
}

static bool parse_i64(const char *s, int64_t *out)
{
	return grove_parse_i64((const uint8_t *)s, strlen(s), out);
}

/* The node's latest surviving increment in view s, or -1. */
static int node_inc(const model_t *m, const uint64_t *s, int node)
{
	int best = -1;
	for (int e = 0; e < m->n; e++)
		if (bit(s, e) && m->ev[e].type == EV_INC && m->ev[e].node == node &&
		    !removed(m, s, e) && (best < 0 || m->ev[e].counter > m->ev[best].counter))
			best = e;
	return best;
}

/* The model's read of view s, as text. */
static void model_read(const model_t *m, const uint64_t *s, char *out, size_t cap)
{
	int w = -1;
	bool inc = false;
	for (int e = 0; e < m->n; e++) {
		if (!bit(s, e) || m->ev[e].type == EV_DEL || removed(m, s, e))
			continue;
		if (m->ev[e].type == EV_INC)
			inc = true;
		else if (w < 0 || win_less(&m->ev[w], &m->ev[e]))
			w = e;
	}
	int64_t base = 0;
	if (!inc || (w >= 0 && !parse_i64(m->ev[w].val, &base))) {
		snprintf(out, cap, "%s", w >= 0 ? m->ev[w].val : "(nil)");
		return;
	}
	__int128 sum = base;
	for (int x = 0; x < REPLICAS_MAX; x++) {
		int e = node_inc(m, s, x);
		if (e < 0)
			continue;
		const event_t *ev = &m->ev[e];
		const base_t *b = w >= 0 ? &m->ev[w].base[x] : NULL;
		if (b && b->has && b->chain == ev->chain)
			sum += ev->counter > b->k ? (__int128)ev->cum - b->cum : 0;
		else
			sum += ev->cum;
	}
	snprintf(out, cap, "%lld", (long long)sum); /* small deltas: fits */
}

static event_t *model_add(model_t *m, replica_t *r, int type, int node,
			  const grove_value__dot_t *d, uint64_t ts)
{
	assert_true(m->n < EVENTS_MAX);
	int id = m->n;
	event_t *e = &m->ev[id];
	memset(e, 0, sizeof(*e));
	e->type = type;
	e->node = node;
	e->counter = d ? d->counter : 0;
	e->ts = ts;
	memcpy(e->obs, r->seen, sizeof(e->obs));
	return e;
}

static void model_commit(model_t *m, replica_t *r)
{
	set_bit(r->seen, m->n);
	m->n++;
}

/* A SET's baselines: per node the greatest (chain, k) among the surviving
 * increments and the surviving SETs' baselines of the view. */
static void model_bases(const model_t *m, const uint64_t *s, base_t *out)
{
	memset(out, 0, sizeof(base_t) * REPLICAS_MAX);
	for (int e = 0; e < m->n; e++) {
		const event_t *x = &m->ev[e];
		if (!bit(s, e) || x->type == EV_DEL || removed(m, s, e))
			continue;
		for (int n = 0; n < REPLICAS_MAX; n++) {
			base_t c = { 0 };
			if (x->type == EV_INC && x->node == n)
				c = (base_t){ x->chain, x->counter, x->cum, true };
			else if (x->type == EV_SET)
				c = x->base[n];
			if (c.has && (!out[n].has || c.chain > out[n].chain ||
				      (c.chain == out[n].chain && c.k > out[n].k)))
				out[n] = c;
		}
	}
}

/* ---- the property tests ---- */

static void check_reads(const model_t *m, replica_t *r, int n, uint64_t seed, int step)
{
	for (int i = 0; i < n; i++) {
		char got[64], want[64];
		read_text(&r[i].rec, got, sizeof(got));
		model_read(m, r[i].seen, want, sizeof(want));
		if (strcmp(got, want) != 0)
			fail_msg("seed %llu step %d replica %d reads %s, the model %s",
				 (unsigned long long)seed, step, i, got, want);
	}
}

static void converge(replica_t *r, int n)
{
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < n; i++)
			for (int j = 0; j < n; j++)
				if (i != j)
					merge_into(&r[i], &r[j]);
	for (int i = 0; i < n; i++) {
		roundtrip(&r[i].rec);
		assert_true(grove_elem_eq(&r[0].rec, &r[i].rec));
		assert_true(grove_ctx_eq(&r[0].ctx, &r[i].ctx));
	}
}

static void replicas_free(replica_t *r, int n)
{
	for (int i = 0; i < n; i++) {
		grove_elem_free(&r[i].rec);
		grove_ctx_free(&r[i].ctx);
	}
}

/* What the runs exercised (the test fails if the histories miss a case). */
static struct {
	int counter_reads, set_bases, hidden, refused;
} cover;

static void history_once(grove_rng_t *rng, uint64_t seed, model_t *m)
{
	int n = 3 + (int)grove_rng_below(rng, REPLICAS_MAX - 2);
	replica_t r[REPLICAS_MAX];
	memset(r, 0, sizeof(r));
	memset(m, 0, sizeof(*m));
	for (int step = 0; step < 80 && m->n < EVENTS_MAX - 1; step++) {
		int i = (int)grove_rng_below(rng, (uint64_t)n);
		int op = (int)grove_rng_below(rng, 100);
		grove_value__dot_t d;
		uint64_t ts;
		if (op < 15) { /* HSET: an integer, sometimes not */
			char val[16];
			if (grove_rng_below(rng, 8) == 0)
				snprintf(val, sizeof(val), "x%d", step);
			else
				snprintf(val, sizeof(val), "%d", (int)grove_rng_below(rng, 41) - 20);
			base_t bases[REPLICAS_MAX];
			model_bases(m, r[i].seen, bases);
			do_hset(&r[i], names[i], val, rng, &d, &ts);
			cover.set_bases += r[i].rec.e[0].tag == GROVE_HENTRY_SET;
			event_t *e = model_add(m, &r[i], EV_SET, i, &d, ts);
			snprintf(e->val, sizeof(e->val), "%s", val);
			memcpy(e->base, bases, sizeof(bases));
			model_commit(m, &r[i]);
		} else if (op < 50) { /* HINCRBY, refused on a non-integer */
			char cur[64];
			read_text(&r[i].rec, cur, sizeof(cur));
			int64_t iv;
			if (strcmp(cur, "(nil)") != 0 && !parse_i64(cur, &iv)) {
				cover.refused++;
				continue;
			}
			int64_t delta = (int64_t)grove_rng_below(rng, 11) - 5;
			int p = node_inc(m, r[i].seen, i);
			do_incr(&r[i], names[i], delta, rng, &d, &ts);
			event_t *e = model_add(m, &r[i], EV_INC, i, &d, ts);
			e->delta = delta;
			e->chain = p >= 0 ? m->ev[p].chain : d.counter;
			e->cum = (p >= 0 ? m->ev[p].cum : 0) + delta;
			model_commit(m, &r[i]);
		} else if (op < 58) { /* HDEL (or DEL: one field, the same) */
			grove_elem_t none = { 0 };
			grove_elem_free(&r[i].rec);
			r[i].rec = none;
			model_add(m, &r[i], EV_DEL, i, NULL, 0);
			model_commit(m, &r[i]);
		} else {
			int j = (int)grove_rng_below(rng, (uint64_t)n);
			if (j != i)
				merge_into(&r[i], &r[j]);
		}
		roundtrip(&r[i].rec);
		check_reads(m, r, n, seed, step);
	}
	converge(r, n);
	check_reads(m, r, n, seed, -1);
	grove_hfield_val_t v;
	if (grove_hfield_eval(&r[0].rec, &v) == 0) {
		cover.counter_reads += v.counter;
		cover.hidden += !v.counter && grove_hfield_has_counter(&r[0].rec);
	}
	replicas_free(r, n);
}

static uint64_t seed_get(const char *name)
{
	const char *env = getenv("GROVE_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 10) : 20261206;
	printf("%s: seed %llu (replay with GROVE_SEED=%llu)\n", name, (unsigned long long)seed,
	       (unsigned long long)seed);
	return seed;
}

static void test_histories(void **state)
{
	(void)state;
	uint64_t seed = seed_get("test_crdt_hcount histories");
	grove_rng_t rng;
	model_t *m = malloc(sizeof(*m));
	assert_non_null(m);
	for (uint64_t run = 0; run < 150; run++) {
		grove_rng_seed(&rng, seed * 1000 + run);
		history_once(&rng, seed * 1000 + run, m);
	}
	free(m);
	printf("histories: %d counter reads, %d HSETs with baselines, %d hidden by a "
	       "non-integer, %d HINCRBY refused\n", cover.counter_reads, cover.set_bases,
	       cover.hidden, cover.refused);
	assert_true(cover.counter_reads >= 30 && cover.set_bases >= 30 && cover.hidden >= 1 &&
		    cover.refused >= 10);
}

static void test_sums(void **state)
{
	(void)state;
	uint64_t seed = seed_get("test_crdt_hcount sums");
	grove_rng_t rng;
	grove_rng_seed(&rng, seed);
	for (int run = 0; run < 200; run++) {
		int n = 3 + (int)grove_rng_below(&rng, REPLICAS_MAX - 2);
		replica_t r[REPLICAS_MAX];
		memset(r, 0, sizeof(r));
		grove_value__dot_t d;
		uint64_t ts;
		int w = (int)grove_rng_below(&rng, (uint64_t)n);
		int64_t base = (int64_t)grove_rng_below(&rng, 2001) - 1000, sum = 0;
		char text[24];
		snprintf(text, sizeof(text), "%lld", (long long)base);
		if (run % 4) /* else: no HSET, the field starts missing */
			do_hset(&r[w], names[w], text, &rng, &d, &ts);
		else
			base = 0;
		converge(r, n);
		int steps = (int)grove_rng_below(&rng, 24), incs = 0;
		for (int s = 0; s < steps; s++) {
			int i = (int)grove_rng_below(&rng, (uint64_t)n);
			if (grove_rng_below(&rng, 3) == 0) {
				int j = (int)grove_rng_below(&rng, (uint64_t)n);
				if (j != i)
					merge_into(&r[i], &r[j]);
				continue;
			}
			int64_t delta = (int64_t)grove_rng_below(&rng, 21) - 10;
			do_incr(&r[i], names[i], delta, &rng, &d, &ts);
			sum += delta;
			incs++;
		}
		converge(r, n);
		char got[64], want[64];
		read_text(&r[0].rec, got, sizeof(got));
		if (incs == 0 && run % 4 == 0)
			snprintf(want, sizeof(want), "(nil)");
		else
			snprintf(want, sizeof(want), "%lld", (long long)(base + sum));
		if (strcmp(got, want) != 0)
			fail_msg("seed %llu run %d: reads %s, HSET %lld + increments %lld", (unsigned long long)seed,
				 run, got, (long long)base, (long long)sum);
		/* one INC entry per node that incremented, plus the HSET's */
		assert_true(r[0].rec.len <= (size_t)n + 1);
		replicas_free(r, n);
	}
}

/* ---- the rule, case by case ---- */

static void test_rule_cases(void **state)
{
	(void)state;
	grove_rng_t rng;
	grove_rng_seed(&rng, 1);
	replica_t a = { 0 }, b = { 0 };
	grove_value__dot_t d;
	uint64_t ts;
	char got[64];
	/* HINCRBY on a missing field: a counter field */
	do_incr(&a, "a", 5, &rng, &d, &ts);
	read_text(&a.rec, got, sizeof(got));
	assert_string_equal(got, "5");
	merge_into(&b, &a);
	/* concurrent increments on two nodes add up */
	do_incr(&a, "a", 2, &rng, &d, &ts);
	do_incr(&b, "b", 10, &rng, &d, &ts);
	merge_into(&a, &b);
	merge_into(&b, &a);
	read_text(&a.rec, got, sizeof(got));
	assert_string_equal(got, "17");
	assert_int_equal(a.rec.len, 2); /* one entry per node */
	/* HSET replaces what it saw; an increment it had not seen adds to it */
	do_hset(&a, "a", "100", &rng, &d, &ts);
	assert_int_equal(a.rec.e[0].tag, GROVE_HENTRY_SET);
	do_incr(&b, "b", 1, &rng, &d, &ts);
	merge_into(&a, &b);
	merge_into(&b, &a);
	read_text(&b.rec, got, sizeof(got));
	assert_string_equal(got, "101");
	/* a non-integer HSET hides the increments it did not see */
	do_hset(&a, "a", "abc", &rng, &d, &ts);
	do_incr(&b, "b", 1, &rng, &d, &ts);
	merge_into(&a, &b);
	read_text(&a.rec, got, sizeof(got));
	assert_string_equal(got, "abc");
	grove_hfield_val_t v;
	assert_int_equal(grove_hfield_eval(&a.rec, &v), 0);
	assert_false(v.counter);
	replicas_free(&a, 1);
	replicas_free(&b, 1);
	/* plain HSETs stay plain (old records unchanged) */
	replica_t c = { 0 };
	do_hset(&c, "c", "7", &rng, &d, &ts);
	do_hset(&c, "c", "8", &rng, &d, &ts);
	assert_int_equal(c.rec.len, 1);
	assert_int_equal(c.rec.e[0].tag, GROVE_HENTRY_PLAIN);
	assert_false(grove_hfield_has_counter(&c.rec));
	/* a 128-bit sum reads as its digits, not as an int64 */
	do_incr(&c, "c", INT64_MAX - 8, &rng, &d, &ts);
	replica_t e = { 0 };
	merge_into(&e, &c);
	do_incr(&e, "e", INT64_MAX, &rng, &d, &ts);
	merge_into(&c, &e);
	assert_int_equal(grove_hfield_eval(&c.rec, &v), 0);
	assert_true(v.counter);
	assert_false(v.fits);
	assert_int_equal(v.len, 20);
	assert_memory_equal(v.p, "18446744073709551614", 20);
	/* a node's own total may not leave int64 */
	grove_elem_t x = { 0 };
	assert_int_equal(grove_ctx_next_dot(&e.ctx, "e", &d), 0);
	assert_int_equal(grove_hfield_incr(&e.rec, &d, 99999, 1, &x), GROVE_EOVERFLOW);
	grove_elem_free(&x);
	replicas_free(&c, 1);
	replicas_free(&e, 1);
}

/* ---- the codec ---- */

static void test_codec(void **state)
{
	(void)state;
	/* a plain record of the old format: [["a", 1, 5, "7"]] decodes and
	 * encodes to the same bytes, untagged */
	static const uint8_t plain[] = { 0x91, 0x94, 0xa1, 'a', 0x01, 0x05, 0xc4, 0x01, '7' };
	grove_elem_t x;
	assert_int_equal(grove_elem_decode(plain, sizeof(plain), GROVE_ELEM_FIELD, &x), 0);
	assert_int_equal(x.e[0].tag, GROVE_HENTRY_PLAIN);
	grove_buf_t b = { 0 };
	assert_int_equal(grove_elem_encode(&b, &x, GROVE_ELEM_FIELD), 0);
	assert_int_equal(b.len, sizeof(plain));
	assert_memory_equal(b.data, plain, sizeof(plain));
	grove_buf_close(&b);
	grove_elem_free(&x);
	/* the documented INC example: [["a", 3, 9, 2, bin16 chain 1 cum 5]] */
	static const uint8_t inc[] = { 0x91, 0x95, 0xa1, 'a', 0x03, 0x09, 0x02, 0xc4, 0x10,
				       0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5 };
	assert_int_equal(grove_elem_decode(inc, sizeof(inc), GROVE_ELEM_FIELD, &x), 0);
	assert_int_equal(x.e[0].tag, GROVE_HENTRY_INC);
	char got[64];
	read_text(&x, got, sizeof(got));
	assert_string_equal(got, "5");
	roundtrip(&x);
	grove_elem_free(&x);
	/* tagged entries only in hash fields */
	assert_int_equal(grove_elem_decode(inc, sizeof(inc), GROVE_ELEM_LIST, &x), GROVE_EDECODE);
	assert_int_equal(grove_elem_decode(inc, sizeof(inc), GROVE_ELEM_ZMEMBER, &x), GROVE_EDECODE);
	/* refused: a chain above the entry's counter, a bad tag, a short payload */
	uint8_t bad[sizeof(inc)];
	memcpy(bad, inc, sizeof(inc));
	bad[16] = 4; /* chain 4 > counter 3 */
	assert_int_equal(grove_elem_decode(bad, sizeof(bad), GROVE_ELEM_FIELD, &x), GROVE_EDECODE);
	memcpy(bad, inc, sizeof(inc));
	bad[6] = 0x03; /* tag 3 */
	assert_int_equal(grove_elem_decode(bad, sizeof(bad), GROVE_ELEM_FIELD, &x), GROVE_EDECODE);
	bad[6] = 0x00; /* tag 0 written as 5 items: not canonical */
	assert_int_equal(grove_elem_decode(bad, sizeof(bad), GROVE_ELEM_FIELD, &x), GROVE_EDECODE);
	/* a SET without baselines is a plain entry: refused */
	static const uint8_t set0[] = { 0x91, 0x95, 0xa1, 'a', 0x01, 0x05, 0x01, 0xc4, 0x03, 0, 0, '7' };
	assert_int_equal(grove_elem_decode(set0, sizeof(set0), GROVE_ELEM_FIELD, &x), GROVE_EDECODE);
	/* a SET with one baseline: ["a", 4, 9, 1, n=1 "b" chain 1 k 2 cum 3 "10"] */
	static const uint8_t set1[] = { 0x91, 0x95, 0xa1, 'a', 0x04, 0x09, 0x01, 0xc4, 0x1e, 0, 1, 1,
					'b', 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0,
					0, 0, 0, 0, 0, 0, 3, '1', '0' };
	assert_int_equal(grove_elem_decode(set1, sizeof(set1), GROVE_ELEM_FIELD, &x), 0);
	assert_int_equal(x.e[0].tag, GROVE_HENTRY_SET);
	read_text(&x, got, sizeof(got));
	assert_string_equal(got, "10");
	roundtrip(&x);
	grove_elem_free(&x);
	for (size_t cut = 1; cut < sizeof(set1); cut++) /* every truncation refused */
		assert_int_not_equal(grove_elem_decode(set1, cut, GROVE_ELEM_FIELD, &x), 0);
}

/* grove_elem_rec_scan reads what grove_elem_decode decodes: the same
 * answer, and on success the entries' count, greatest timestamp and
 * whether one is tagged. */
static void scan_agrees(const uint8_t *p, size_t len, int kind)
{
	grove_elem_t x;
	size_t n = 99;
	uint64_t ts = 99;
	bool tagged = true;
	int rc = grove_elem_decode(p, len, kind, &x);
	assert_int_equal(grove_elem_rec_scan(p, len, kind, &n, &ts, &tagged), rc);
	if (rc) {
		assert_true(n == 99 && ts == 99 && tagged); /* untouched */
		return;
	}
	bool any = false;
	for (size_t i = 0; i < x.len; i++)
		any = any || x.e[i].tag != GROVE_HENTRY_PLAIN;
	assert_int_equal(n, x.len);
	assert_int_equal(ts, grove_elem_max_ts(&x));
	assert_int_equal(tagged, any);
	grove_elem_free(&x);
}

static void test_scan(void **state)
{
	(void)state;
	/* two plain entries [["a", 1, 5, "7"], ["b", 2, 9, ""]], an INC entry,
	 * a SET with a baseline (test_codec's), a member record */
	static const uint8_t two[] = { 0x92, 0x94, 0xa1, 'a', 0x01, 0x05, 0xc4, 0x01, '7',
				       0x94, 0xa1, 'b', 0x02, 0x09, 0xc4, 0x00 };
	static const uint8_t inc[] = { 0x91, 0x95, 0xa1, 'a', 0x03, 0x09, 0x02, 0xc4, 0x10,
				       0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 5 };
	static const uint8_t set1[] = { 0x91, 0x95, 0xa1, 'a', 0x04, 0x09, 0x01, 0xc4, 0x1e, 0, 1, 1,
					'b', 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0,
					0, 0, 0, 0, 0, 0, 3, '1', '0' };
	static const uint8_t member[] = { 0x92, 0x92, 0xa1, 'a', 0x01, 0x92, 0xa1, 'a', 0x02 };
	static const uint8_t empty[] = { 0x90 };
	size_t n;
	uint64_t ts;
	bool tagged;
	assert_int_equal(grove_elem_rec_scan(two, sizeof(two), GROVE_ELEM_FIELD, &n, &ts, &tagged), 0);
	assert_true(n == 2 && ts == 9 && !tagged);
	assert_int_equal(grove_elem_rec_scan(inc, sizeof(inc), GROVE_ELEM_FIELD, &n, &ts, &tagged), 0);
	assert_true(n == 1 && ts == 9 && tagged);
	const struct {
		const uint8_t *p;
		size_t len;
	} recs[] = { { two, sizeof(two) }, { inc, sizeof(inc) }, { set1, sizeof(set1) },
		     { member, sizeof(member) }, { empty, sizeof(empty) } };
	uint8_t bad[sizeof(set1) + 1];
	for (size_t r = 0; r < sizeof(recs) / sizeof(recs[0]); r++) {
		for (int kind = GROVE_ELEM_MEMBER; kind <= GROVE_ELEM_LIST; kind++) {
			for (size_t cut = 0; cut <= recs[r].len; cut++) /* every truncation */
				scan_agrees(recs[r].p, cut, kind);
			memcpy(bad, recs[r].p, recs[r].len); /* a byte after the record */
			bad[recs[r].len] = 0x90;
			scan_agrees(bad, recs[r].len + 1, kind);
			for (size_t i = 0; i < recs[r].len; i++) { /* every byte changed */
				memcpy(bad, recs[r].p, recs[r].len);
				for (unsigned delta = 1; delta < 256; delta += 37) {
					bad[i] = (uint8_t)(recs[r].p[i] + delta);
					scan_agrees(bad, recs[r].len, kind);
				}
			}
		}
	}
	/* out of order dots (b before a) */
	static const uint8_t order[] = { 0x92, 0x94, 0xa1, 'b', 0x01, 0x05, 0xc4, 0x00,
					 0x94, 0xa1, 'a', 0x02, 0x09, 0xc4, 0x00 };
	assert_int_equal(grove_elem_rec_scan(order, sizeof(order), GROVE_ELEM_FIELD, &n, &ts, &tagged),
			 GROVE_EDECODE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codec),
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_rule_cases),
		cmocka_unit_test(test_sums),
		cmocka_unit_test(test_histories),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
