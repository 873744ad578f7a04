/*
 * test_crdt_prop.c - seeded property tests of the replicated types.
 *
 * Random operation histories run on 3..5 replicas, each with its own HLC
 * (skewed fake clocks) and random pairwise merges.  Beside the real values,
 * a reference model keeps per replica the set S of events it has seen and
 * the set R of events removed by the deletes it has seen (both merged by
 * union); the model computes the expected contents directly from the event
 * log: counter = sum of deltas over S \ R; set = elements with an add in
 * S \ R (add-wins); register and map fields = greatest-id write in S,
 * unless it is a field tombstone or in R (a key delete saw it: observed-
 * remove, whatever the delete's own timestamp).  Clocks are skewed, so
 * writes a delete has not seen often carry a smaller timestamp than the
 * delete; the run counts the cases where such a write is visible after the
 * delete and fails unless there are some.  After every
 * step the touched replica is compared with its model; at the end every
 * replica merges all others in its own random order, and all must encode
 * byte-identically.  A fifth mode mixes all types on one key (concurrent
 * creations with different types): there each write must be refused with
 * GROVE_EWRONGTYPE exactly when another type is live, a write must leave its
 * type visible, and the getters must agree with the visible type.  States
 * sampled along the way feed the algebraic
 * checks: merge commutative, associative and idempotent on encoded bytes,
 * the `changed` flag exact, and decode(encode(x)) re-encoding identically.
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

#include "grove/alloc.h"
#include "grove/hlc.h"
#include "base/rng.h"
#include "grove/value.h"

#define PROP_REPLICAS_MAX 5
#define PROP_EVENTS_MAX 160  /* events per history */
#define PROP_POOL_MAX 24     /* sampled states per history */
#define PROP_KEYS 6          /* elements / fields / values drawn from */
#define PROP_HISTORIES 1000  /* per mode */
#define PROP_ALGEBRA_PER_HISTORY 10

typedef enum mode { M_COUNTER, M_REGISTER, M_SET, M_MAP, M_MIXED, M_COUNT } mode_t_;
static const char *const mode_name[M_COUNT] = { "counter", "register", "set", "map", "mixed" };

typedef enum ev_kind { E_ADD, E_REG_SET, E_SET_ADD, E_SET_REM, E_MAP_SET, E_MAP_DEL, E_DEL } ev_kind_t;

typedef struct event {
	ev_kind_t kind;
	int key;       /* element or field index */
	int val;       /* value index */
	int64_t delta; /* counter */
	uint64_t ts;
	int node;
} event_t;

typedef struct bits {
	uint64_t w[(PROP_EVENTS_MAX + 63) / 64];
} bits_t;

typedef struct replica {
	grove_value_t *v;
	grove_hlc_t hlc;
	uint64_t clock_ms;
	bits_t seen, removed;
} replica_t;

typedef struct history {
	grove_rng_t *rng;
	mode_t_ mode;
	int nrep;
	replica_t rep[PROP_REPLICAS_MAX];
	event_t ev[PROP_EVENTS_MAX];
	int nev;
	grove_value_t *pool[PROP_POOL_MAX];
	int npool;
} history_t;

static struct prop_counts {
	long histories[M_COUNT], model_checks[M_COUNT], algebra[M_COUNT], converged[M_COUNT];
	long wrongtype; /* mixed mode: writes refused with GROVE_EWRONGTYPE */
	long skew_survivors[M_COUNT]; /* visible writes older than an unseen-by delete */
} counts;

static uint64_t prop_seed;

static const char *const node_names[PROP_REPLICAS_MAX] = { "n0", "n1", "n2", "node-3", "z4" };
static const char *const vals[PROP_KEYS] = { "", "a", "b", "ab", "hello", "\x00\xff" };
static const size_t val_len[PROP_KEYS] = { 0, 1, 1, 2, 5, 2 };

static void bit_set(bits_t *b, int i) { b->w[i / 64] |= 1ULL << (i % 64); }
static bool bit_get(const bits_t *b, int i) { return (b->w[i / 64] >> (i % 64)) & 1; }
static void bits_or(bits_t *a, const bits_t *b)
{
	for (size_t i = 0; i < sizeof(a->w) / sizeof(a->w[0]); i++)
		a->w[i] |= b->w[i];
}

static uint64_t fake_clock(void *ctx)
{
	return *(uint64_t *)ctx;
}

static void encode_or_fail(const grove_value_t *v, uint8_t **buf, size_t *len)
{
	assert_int_equal(grove_value_encode(v, buf, len), 0);
}

static void assert_same_bytes(const grove_value_t *a, const grove_value_t *b)
{
	uint8_t *ea, *eb;
	size_t la, lb;
	encode_or_fail(a, &ea, &la);
	encode_or_fail(b, &eb, &lb);
	if (la != lb || memcmp(ea, eb, la) != 0)
		fail_msg("encodings differ (seed %llu)", (unsigned long long)prop_seed);
	grove_free(ea);
	grove_free(eb);
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
	assert_int_equal(grove_value_merge(m, b, NULL), 0);
	return m;
}

/* --- reference model --- */

static bool id_greater(const event_t *a, const event_t *b)
{
	if (a->ts != b->ts)
		return a->ts > b->ts;
	return strcmp(node_names[a->node], node_names[b->node]) > 0;
}

/* The greatest-id event in S matching (kinds, key), or NULL. */
static const event_t *model_last(const history_t *h, const bits_t *s, unsigned kinds, int key)
{
	const event_t *best = NULL;
	for (int i = 0; i < h->nev; i++) {
		const event_t *e = &h->ev[i];
		if (bit_get(s, i) && (kinds >> e->kind & 1) && (key < 0 || e->key == key) &&
		    (!best || id_greater(e, best)))
			best = e;
	}
	return best;
}

static bool model_counter(const history_t *h, const replica_t *r, int64_t *sum)
{
	bool live = false;
	*sum = 0;
	for (int i = 0; i < h->nev; i++)
		if (h->ev[i].kind == E_ADD && bit_get(&r->seen, i) && !bit_get(&r->removed, i)) {
			*sum += h->ev[i].delta;
			live = live || h->ev[i].delta != 0;
		}
	return live;
}

static bool model_set_has(const history_t *h, const replica_t *r, int key)
{
	for (int i = 0; i < h->nev; i++)
		if (h->ev[i].kind == E_SET_ADD && h->ev[i].key == key && bit_get(&r->seen, i) &&
		    !bit_get(&r->removed, i))
			return true;
	return false;
}

/* The live value of register (key < 0) or map field key, or NULL. */
static const event_t *model_lww(const history_t *h, const replica_t *r, int key)
{
	unsigned kinds = key < 0 ? 1u << E_REG_SET : (1u << E_MAP_SET) | (1u << E_MAP_DEL);
	const event_t *w = model_last(h, &r->seen, kinds, key);
	if (!w || w->kind == E_MAP_DEL || bit_get(&r->removed, (int)(w - h->ev)))
		return NULL;
	return w;
}

/* Counts a visible write that a key delete with a greater id did not see:
 * the case a cut-off delete (drop every id below the delete's) gets wrong. */
static void count_skew_survivor(const history_t *h, const replica_t *r, const event_t *w)
{
	const event_t *del = model_last(h, &r->seen, 1u << E_DEL, -1);
	if (w && del && id_greater(del, w))
		counts.skew_survivors[h->mode]++;
}

/* Mixed types: the getters must agree with the visible type. */
static void check_mixed(const replica_t *r)
{
	grove_type_t t = grove_value_type(r->v);
	int64_t n;
	const void *p;
	size_t len;
	int none = t == GROVE_TYPE_NONE ? GROVE_ENOTFOUND : GROVE_EWRONGTYPE;
	assert_int_equal(grove_pncounter_get(r->v, &n), t == GROVE_TYPE_COUNTER ? 0 : none);
	assert_int_equal(grove_lwwreg_get(r->v, &p, &len), t == GROVE_TYPE_REGISTER ? 0 : none);
	assert_int_equal(grove_orset_count(r->v) > 0, t == GROVE_TYPE_SET);
	assert_int_equal(grove_lwwmap_count(r->v) > 0, t == GROVE_TYPE_MAP);
	assert_int_equal(grove_value_is_empty(r->v), t == GROVE_TYPE_NONE);
}

static void check_replica(const history_t *h, const replica_t *r)
{
	int64_t want, got = 0;
	const void *p;
	size_t len;
	switch (h->mode) {
	case M_COUNTER:
		if (!model_counter(h, r, &want)) {
			assert_int_equal(grove_pncounter_get(r->v, &got), GROVE_ENOTFOUND);
			break;
		}
		assert_int_equal(grove_pncounter_get(r->v, &got), 0);
		assert_int_equal(got, want);
		break;
	case M_REGISTER: {
		const event_t *w = model_lww(h, r, -1);
		count_skew_survivor(h, r, w);
		assert_int_equal(grove_lwwreg_get(r->v, &p, &len), w ? 0 : GROVE_ENOTFOUND);
		if (w) {
			assert_int_equal(len, val_len[w->val]);
			assert_memory_equal(p, vals[w->val], len);
		}
		break;
	}
	case M_SET: {
		size_t n = 0;
		for (int k = 0; k < PROP_KEYS; k++) {
			bool has = model_set_has(h, r, k);
			n += has;
			assert_int_equal(grove_orset_contains(r->v, vals[k], val_len[k]), has);
		}
		assert_int_equal(grove_orset_count(r->v), n);
		break;
	}
	case M_MAP: {
		size_t n = 0;
		for (int k = 0; k < PROP_KEYS; k++) {
			const event_t *w = model_lww(h, r, k);
			count_skew_survivor(h, r, w);
			n += w != NULL;
			assert_int_equal(grove_lwwmap_get(r->v, vals[k], val_len[k], &p, &len),
					 w ? 0 : GROVE_ENOTFOUND);
			if (w) {
				assert_int_equal(len, val_len[w->val]);
				assert_memory_equal(p, vals[w->val], len);
			}
		}
		assert_int_equal(grove_lwwmap_count(r->v), n);
		break;
	}
	default:
		check_mixed(r);
		break;
	}
	counts.model_checks[h->mode]++;
}

static ev_kind_t pick_kind(history_t *h)
{
	static const ev_kind_t kinds[M_COUNT][3] = {
		{ E_ADD, E_ADD, E_ADD },
		{ E_REG_SET, E_REG_SET, E_REG_SET },
		{ E_SET_ADD, E_SET_ADD, E_SET_REM },
		{ E_MAP_SET, E_MAP_SET, E_MAP_DEL },
	};
	if (grove_rng_below(h->rng, 12) == 0)
		return E_DEL;
	if (h->mode == M_MIXED)
		return (ev_kind_t)grove_rng_below(h->rng, E_DEL);
	return kinds[h->mode][grove_rng_below(h->rng, 3)];
}

/* Applies one op to the value; returns whether it belongs in S.  Expected
 * flags come from the model (single-type modes only). */
static bool apply_op(history_t *h, replica_t *r, const event_t *e)
{
	const char *node = node_names[e->node];
	const void *k = vals[e->key], *val = vals[e->val];
	size_t kl = val_len[e->key], vl = val_len[e->val];
	bool mixed = h->mode == M_MIXED, flag = false;
	int rc = 0;
	switch (e->kind) {
	case E_ADD:
		rc = grove_pncounter_add(r->v, node, e->delta);
		break;
	case E_REG_SET:
		rc = grove_lwwreg_set(r->v, node, e->ts, val, vl);
		break;
	case E_SET_ADD:
		rc = grove_orset_add(r->v, node, k, kl, &flag);
		if (!mixed)
			assert_int_equal(flag, !model_set_has(h, r, e->key));
		break;
	case E_SET_REM:
		rc = grove_orset_remove(r->v, node, k, kl, &flag);
		if (!mixed)
			assert_int_equal(flag, model_set_has(h, r, e->key));
		break;
	case E_MAP_SET:
		rc = grove_lwwmap_set(r->v, node, e->ts, k, kl, val, vl, &flag);
		if (!mixed)
			assert_int_equal(flag, model_lww(h, r, e->key) == NULL);
		break;
	case E_MAP_DEL:
		rc = grove_lwwmap_delete(r->v, node, e->ts, k, kl, &flag);
		if (!mixed)
			assert_int_equal(flag, model_lww(h, r, e->key) != NULL);
		return flag;
	case E_DEL:
		rc = grove_value_delete(r->v, node, e->ts);
		break;
	}
	if (mixed && rc == GROVE_EWRONGTYPE)
		return false;
	assert_int_equal(rc, 0);
	return true;
}

/* Mixed types: an op of type T fails with WRONGTYPE exactly when another
 * type is live; a write that makes T live leaves T visible; a key delete
 * leaves the value empty. */
static bool apply_op_mixed(history_t *h, replica_t *r, const event_t *e)
{
	static const grove_type_t op_type[] = {
		[E_ADD] = GROVE_TYPE_COUNTER, [E_REG_SET] = GROVE_TYPE_REGISTER,
		[E_SET_ADD] = GROVE_TYPE_SET, [E_SET_REM] = GROVE_TYPE_SET,
		[E_MAP_SET] = GROVE_TYPE_MAP, [E_MAP_DEL] = GROVE_TYPE_MAP, [E_DEL] = GROVE_TYPE_NONE,
	};
	grove_type_t want = op_type[e->kind], before = grove_value_type(r->v);
	bool wrong = e->kind != E_DEL && before != GROVE_TYPE_NONE && before != want;
	bool applied = apply_op(h, r, e);
	if (wrong) {
		assert_false(applied);
		counts.wrongtype++;
		assert_int_equal(grove_value_type(r->v), before);
		return false;
	}
	bool makes_live = e->kind == E_REG_SET || e->kind == E_SET_ADD || e->kind == E_MAP_SET ||
			  (e->kind == E_ADD && e->delta != 0);
	if (makes_live)
		assert_int_equal(grove_value_type(r->v), want);
	if (e->kind == E_DEL)
		assert_true(grove_value_is_empty(r->v));
	return applied;
}

static void step_op(history_t *h, int ri)
{
	replica_t *r = &h->rep[ri];
	r->clock_ms += grove_rng_below(h->rng, 3);
	event_t e = {
		.kind = pick_kind(h),
		.key = (int)grove_rng_below(h->rng, PROP_KEYS),
		.val = (int)grove_rng_below(h->rng, PROP_KEYS),
		.delta = (int64_t)grove_rng_below(h->rng, 11) - 5,
		.ts = grove_hlc_now(&r->hlc),
		.node = ri,
	};
	if (!(h->mode == M_MIXED ? apply_op_mixed(h, r, &e) : apply_op(h, r, &e)))
		return;
	if (e.kind == E_DEL) /* deletes remove every add this replica has seen */
		bits_or(&r->removed, &r->seen);
	if (e.kind == E_SET_REM)
		for (int i = 0; i < h->nev; i++)
			if (h->ev[i].kind == E_SET_ADD && h->ev[i].key == e.key && bit_get(&r->seen, i))
				bit_set(&r->removed, i);
	h->ev[h->nev] = e;
	bit_set(&r->seen, h->nev++);
	check_replica(h, r);
}

static void step_merge(history_t *h, int di, int si)
{
	replica_t *d = &h->rep[di], *s = &h->rep[si];
	uint8_t *before, *after;
	size_t blen, alen;
	bool changed;
	encode_or_fail(d->v, &before, &blen);
	assert_int_equal(grove_hlc_update(&d->hlc, grove_value_max_ts(s->v)), 0);
	assert_int_equal(grove_value_merge(d->v, s->v, &changed), 0);
	encode_or_fail(d->v, &after, &alen);
	assert_int_equal(changed, blen != alen || memcmp(before, after, alen) != 0);
	grove_free(before);
	grove_free(after);
	bits_or(&d->seen, &s->seen);
	bits_or(&d->removed, &s->removed);
	check_replica(h, d);
}

/* Every replica merges all the others' final states in its own random
 * order; all results must be byte-identical (and match the union model). */
static void converge(history_t *h)
{
	grove_value_t *orig[PROP_REPLICAS_MAX] = { 0 }, *res[PROP_REPLICAS_MAX] = { 0 };
	for (int i = 0; i < h->nrep; i++)
		orig[i] = clone_of(h->rep[i].v);
	for (int i = 0; i < h->nrep; i++) {
		int order[PROP_REPLICAS_MAX];
		for (int j = 0; j < h->nrep; j++)
			order[j] = j;
		for (int j = h->nrep - 1; j > 0; j--) {
			int k = (int)grove_rng_below(h->rng, (uint64_t)j + 1), t = order[j];
			order[j] = order[k];
			order[k] = t;
		}
		res[i] = clone_of(orig[i]);
		for (int j = 0; j < h->nrep; j++)
			if (order[j] != i)
				assert_int_equal(grove_value_merge(res[i], orig[order[j]], NULL), 0);
		if (i > 0)
			assert_same_bytes(res[0], res[i]);
	}
	replica_t all = { .v = res[0] };
	for (int i = 0; i < h->nrep; i++) {
		bits_or(&all.seen, &h->rep[i].seen);
		bits_or(&all.removed, &h->rep[i].removed);
	}
	check_replica(h, &all);
	for (int i = 0; i < h->nrep; i++) {
		grove_value_destroy(orig[i]);
		grove_value_destroy(res[i]);
	}
	counts.converged[h->mode]++;
}

static void check_algebra(const grove_value_t *a, const grove_value_t *b, const grove_value_t *c)
{
	grove_value_t *ab = merged(a, b), *ba = merged(b, a);
	assert_same_bytes(ab, ba);
	grove_value_t *ab_c = merged(ab, c), *bc = merged(b, c);
	grove_value_t *a_bc = merged(a, bc);
	assert_same_bytes(ab_c, a_bc);
	grove_value_t *aa = merged(a, a), *abb = merged(ab, b);
	assert_same_bytes(aa, a);
	assert_same_bytes(abb, ab);
	grove_value_t *m = clone_of(a);
	bool changed;
	assert_int_equal(grove_value_merge(m, a, &changed), 0);
	assert_false(changed);
	grove_value_destroy(ab);
	grove_value_destroy(ba);
	grove_value_destroy(ab_c);
	grove_value_destroy(bc);
	grove_value_destroy(a_bc);
	grove_value_destroy(aa);
	grove_value_destroy(abb);
	grove_value_destroy(m);
}

static void run_history(grove_rng_t *rng, mode_t_ mode)
{
	history_t *h = calloc(1, sizeof(*h));
	assert_non_null(h);
	h->rng = rng;
	h->mode = mode;
	h->nrep = 3 + (int)grove_rng_below(rng, 3);
	for (int i = 0; i < h->nrep; i++) {
		replica_t *r = &h->rep[i];
		assert_int_equal(grove_value_create(&r->v), 0);
		r->clock_ms = 1000 + grove_rng_below(rng, 40); /* skewed clocks */
		grove_hlc_init(&r->hlc, fake_clock, &r->clock_ms, UINT64_MAX / 2, 0);
	}
	int steps = 40 + (int)grove_rng_below(rng, 80);
	for (int s = 0; s < steps && h->nev < PROP_EVENTS_MAX; s++) {
		int a = (int)grove_rng_below(rng, (uint64_t)h->nrep);
		int b = (int)grove_rng_below(rng, (uint64_t)h->nrep);
		if (grove_rng_below(rng, 10) < 7)
			step_op(h, a);
		else
			step_merge(h, a, b);
		if (h->npool < PROP_POOL_MAX && grove_rng_below(rng, 4) == 0)
			h->pool[h->npool++] = clone_of(h->rep[a].v);
	}
	converge(h);
	for (int i = 0; i < PROP_ALGEBRA_PER_HISTORY && h->npool > 0; i++) {
		const grove_value_t *x = h->pool[grove_rng_below(rng, (uint64_t)h->npool)];
		const grove_value_t *y = h->pool[grove_rng_below(rng, (uint64_t)h->npool)];
		const grove_value_t *z = h->pool[grove_rng_below(rng, (uint64_t)h->npool)];
		check_algebra(x, y, z);
		counts.algebra[mode]++;
	}
	for (int i = 0; i < h->npool; i++)
		grove_value_destroy(h->pool[i]);
	for (int i = 0; i < h->nrep; i++)
		grove_value_destroy(h->rep[i].v);
	free(h);
	counts.histories[mode]++;
}

static void run_mode(mode_t_ mode)
{
	grove_rng_t rng;
	grove_rng_seed(&rng, prop_seed * 31 + (uint64_t)mode);
	for (int i = 0; i < PROP_HISTORIES; i++)
		run_history(&rng, mode);
	printf("prop %-8s seed %llu: %ld histories, %ld model checks, %ld converged, "
	       "%ld algebra cases\n",
	       mode_name[mode], (unsigned long long)prop_seed, counts.histories[mode],
	       counts.model_checks[mode], counts.converged[mode], counts.algebra[mode]);
	if (mode == M_MIXED)
		printf("prop mixed: %ld writes refused with WRONGTYPE\n", counts.wrongtype);
	if (mode == M_REGISTER || mode == M_MAP) {
		printf("prop %-8s: %ld checks saw a write survive a newer-timestamped key delete "
		       "that had not seen it\n",
		       mode_name[mode], counts.skew_survivors[mode]);
		assert_true(counts.skew_survivors[mode] > 0);
	}
}

static void test_prop_counter(void **state) { (void)state; run_mode(M_COUNTER); }
static void test_prop_register(void **state) { (void)state; run_mode(M_REGISTER); }
static void test_prop_set(void **state) { (void)state; run_mode(M_SET); }
static void test_prop_map(void **state) { (void)state; run_mode(M_MAP); }
static void test_prop_mixed(void **state) { (void)state; run_mode(M_MIXED); }

int main(void)
{
	const char *env = getenv("GROVE_SEED");
	prop_seed = env ? strtoull(env, NULL, 10) : 20261125;
	printf("test_crdt_prop: seed %llu (replay with GROVE_SEED=%llu)\n",
	       (unsigned long long)prop_seed, (unsigned long long)prop_seed);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prop_counter),
		cmocka_unit_test(test_prop_register),
		cmocka_unit_test(test_prop_set),
		cmocka_unit_test(test_prop_map),
		cmocka_unit_test(test_prop_mixed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
