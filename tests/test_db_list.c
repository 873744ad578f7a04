/*
 * test_db_list.c - lists stored per element (storage/db_list.c; the
 * position ids themselves are tested in test_crdt_listpos.c): local
 * operations against Redis semantics, type conflicts and key deletes, no
 * garbage after pops, store work at the ends independent of the length
 * (both backends), BATCH-mode writers of one list, the remembered ends
 * of a list (stale after any change but a push), this node's dots learnt
 * back from a twin (above its vv: the next push draws past them), the
 * head window of reads (answers only while the list is unchanged), element
 * values read in
 * place against the decoder, the digest index of list elements (a node's
 * consecutive pushes share a segment; a format 5 store's index moves at
 * open), and a property test of
 * random concurrent histories on 3..5 replicas against a reference model.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "grove/alloc.h"
#include "grove/db.h"
#include "base/rng.h"
#include "crdt/coll.h"
#include "crdt/listpos.h"
#include "storage/db_int.h"
#include "storage/tree.h"
#include "storage/store.h"
#include "tests/util_storage.h"

#define K(s) s, strlen(s)

/* Histories per backend of the property test; GROVE_TEST_LIST_SEEDS=N
 * multiplies them (soak runs). */
#if defined(__SANITIZE_ADDRESS__) /* ASan+UBSan pass: smaller, same checks */
#define PROP_SEEDS_MEMORY 3
#define PROP_SEEDS_LEVELDB 1
#define BIG_N 2000
#else
#define PROP_SEEDS_MEMORY 4
#define PROP_SEEDS_LEVELDB 1
#define BIG_N 6000
#endif

static uint64_t seeds_scale(void)
{
	const char *e = getenv("GROVE_TEST_LIST_SEEDS");
	long n = e ? strtol(e, NULL, 10) : 1;
	return n >= 1 && n <= 1000 ? (uint64_t)n : 1;
}

typedef grove_test_db_t fixture_t;

/* ---- helpers ---- */

typedef struct strs {
	char s[64][32];
	size_t n;
} strs_t;

static int collect(void *ctx, const void *id, size_t idlen, const void *val, size_t vlen)
{
	(void)id;
	(void)idlen;
	strs_t *c = ctx;
	assert_true(c->n < 64 && vlen < 32);
	memcpy(c->s[c->n], val, vlen);
	c->s[c->n++][vlen] = 0;
	return 0;
}

/* The list as "a b c" (LRANGE start stop). */
static char *range_str(grove_db_t *db, const char *key, int64_t start, int64_t stop, char *out)
{
	strs_t c = { .n = 0 };
	assert_int_equal(grove_db_list_range(db, K(key), start, stop, collect, &c), 0);
	out[0] = 0;
	for (size_t i = 0; i < c.n; i++) {
		if (i)
			strcat(out, " ");
		strcat(out, c.s[i]);
	}
	return out;
}

static uint64_t llen(grove_db_t *db, const char *key)
{
	uint64_t n = 99;
	assert_int_equal(grove_db_coll_count(db, K(key), GROVE_TYPE_LIST, &n), 0);
	return n;
}

static void push(grove_db_t *db, const char *key, bool left, const char *v)
{
	assert_int_equal(grove_db_list_push(db, K(key), left, false, K(v), NULL), 0);
}

static void pop_expect(grove_db_t *db, const char *key, bool left, const char *want)
{
	uint8_t *v = NULL;
	size_t vl = 0;
	int rc = grove_db_list_pop(db, K(key), left, &v, &vl);
	if (!want) {
		assert_int_equal(rc, GROVE_ENOTFOUND);
		return;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(vl, strlen(want));
	assert_memory_equal(v, want, vl);
	grove_free(v);
}

/* ---- local operations ---- */

static void test_local_ops(void **state)
{
	fixture_t *f = *state;
	grove_db_t *db = f->db;
	char s[512];
	uint64_t n;
	assert_int_equal(grove_db_list_push(db, K("l"), true, true, K("x"), &n), 0); /* LPUSHX */
	assert_int_equal(n, 0);
	assert_int_equal(llen(db, "l"), 0);
	push(db, "l", false, "b");
	push(db, "l", false, "c");
	push(db, "l", true, "a");
	assert_int_equal(grove_db_list_push(db, K("l"), false, true, K("d"), &n), 0); /* RPUSHX */
	assert_int_equal(n, 4);
	assert_string_equal(range_str(db, "l", 0, -1, s), "a b c d");
	assert_string_equal(range_str(db, "l", 1, 2, s), "b c");
	assert_string_equal(range_str(db, "l", -2, -1, s), "c d");
	assert_string_equal(range_str(db, "l", -100, 100, s), "a b c d");
	assert_string_equal(range_str(db, "l", 3, 1, s), "");
	assert_string_equal(range_str(db, "l", 5, 10, s), "");
	assert_string_equal(range_str(db, "l", -1, -1, s), "d"); /* LINDEX -1 */
	grove_type_t t;
	assert_int_equal(grove_db_type(db, K("l"), &t), 0);
	assert_int_equal(t, GROVE_TYPE_LIST);
	/* LINSERT */
	int64_t len;
	assert_int_equal(grove_db_list_insert(db, K("l"), true, K("c"), K("bc"), &len), 0);
	assert_int_equal(len, 5);
	assert_int_equal(grove_db_list_insert(db, K("l"), false, K("d"), K("e"), &len), 0);
	assert_int_equal(grove_db_list_insert(db, K("l"), false, K("zz"), K("e"), &len), 0);
	assert_int_equal(len, -1);
	assert_int_equal(grove_db_list_insert(db, K("nol"), false, K("zz"), K("e"), &len), 0);
	assert_int_equal(len, 0);
	assert_string_equal(range_str(db, "l", 0, -1, s), "a b bc c d e");
	/* LSET */
	assert_int_equal(grove_db_list_set(db, K("l"), 1, K("B")), 0);
	assert_int_equal(grove_db_list_set(db, K("l"), -1, K("E")), 0);
	assert_int_equal(grove_db_list_set(db, K("l"), 6, K("x")), GROVE_ERANGE);
	assert_int_equal(grove_db_list_set(db, K("nol"), 0, K("x")), GROVE_ENOTFOUND);
	assert_string_equal(range_str(db, "l", 0, -1, s), "a B bc c d E");
	/* LREM */
	push(db, "l", false, "a");
	push(db, "l", true, "a");
	uint64_t removed;
	assert_int_equal(grove_db_list_rem(db, K("l"), -1, K("a"), &removed), 0);
	assert_int_equal(removed, 1);
	assert_string_equal(range_str(db, "l", 0, -1, s), "a a B bc c d E");
	assert_int_equal(grove_db_list_rem(db, K("l"), 0, K("a"), &removed), 0);
	assert_int_equal(removed, 2);
	assert_string_equal(range_str(db, "l", 0, -1, s), "B bc c d E");
	/* pops and LTRIM */
	pop_expect(db, "l", true, "B");
	pop_expect(db, "l", false, "E");
	assert_int_equal(llen(db, "l"), 3);
	assert_int_equal(grove_db_list_trim(db, K("l"), 1, -1), 0);
	assert_string_equal(range_str(db, "l", 0, -1, s), "c d");
	assert_int_equal(grove_db_list_trim(db, K("l"), 5, 10), 0); /* empty range: key gone */
	assert_int_equal(llen(db, "l"), 0);
	assert_int_equal(grove_db_type(db, K("l"), &t), 0);
	assert_int_equal(t, GROVE_TYPE_NONE);
	pop_expect(db, "l", true, NULL);
	/* emptied by pops: gone, and can take another type */
	push(db, "q", true, "1");
	pop_expect(db, "q", false, "1");
	assert_int_equal(grove_db_type(db, K("q"), &t), 0);
	assert_int_equal(t, GROVE_TYPE_NONE);
	assert_int_equal(grove_db_set_add(db, K("q"), K("m"), NULL), 0);
	/* wrong types both ways */
	assert_int_equal(grove_db_list_push(db, K("q"), true, false, K("v"), NULL), GROVE_EWRONGTYPE);
	uint8_t *v;
	size_t vl;
	assert_int_equal(grove_db_list_pop(db, K("q"), true, &v, &vl), GROVE_EWRONGTYPE);
	assert_int_equal(grove_db_list_range(db, K("q"), 0, -1, collect, &(strs_t){ .n = 0 }),
			 GROVE_EWRONGTYPE);
	push(db, "w", true, "v");
	assert_int_equal(grove_db_set_add(db, K("w"), K("m"), NULL), GROVE_EWRONGTYPE);
	assert_int_equal(grove_db_register_set(db, K("w"), K("r")), GROVE_EWRONGTYPE);
	/* DEL, then a new list under the same key */
	bool existed;
	assert_int_equal(grove_db_delete(db, K("w"), &existed), 0);
	assert_true(existed);
	assert_int_equal(llen(db, "w"), 0);
	push(db, "w", true, "new");
	assert_string_equal(range_str(db, "w", 0, -1, s), "new");
	/* limits */
	static uint8_t big[GROVE_FIELD_VALUE_MAX + 1];
	assert_int_equal(grove_db_list_push(db, K("w"), true, false, big, sizeof(big), NULL),
			 GROVE_ETOOBIG);
	assert_int_equal(llen(db, "w"), 1);
}

/* Store records of one prefix (the db closed or idle). */
static int count_rec(void *ctx, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
	(void)k, (void)kl, (void)v, (void)vl;
	(*(size_t *)ctx)++;
	return 0;
}

static size_t records(grove_db_t *db, char pfx)
{
	size_t n = 0;
	assert_int_equal(grove_store_scan_prefix(db->store, NULL, &pfx, 1, count_rec, &n), 0);
	return n;
}

/* A big list: the ends answer at once, pops leave no records, a key
 * delete purges every element. */
static void test_big_list(void **state)
{
	fixture_t *f = *state;
	grove_db_t *db = f->db;
	char v[32], s[512];
	for (int i = 0; i < BIG_N; i++) {
		snprintf(v, sizeof(v), "%d", i);
		push(db, "big", i % 2 == 0, v);
	}
	assert_int_equal(llen(db, "big"), BIG_N);
	snprintf(v, sizeof(v), "%d %d", BIG_N - 2, BIG_N - 4);
	assert_string_equal(range_str(db, "big", 0, 1, s), v);
	snprintf(v, sizeof(v), "%d", BIG_N - 1);
	assert_string_equal(range_str(db, "big", -1, -1, s), v);
	size_t base_e = records(db, 'e');
	assert_int_equal(base_e, BIG_N);
	for (int i = 0; i < BIG_N / 2; i++) {
		uint8_t *p;
		size_t pl;
		assert_int_equal(grove_db_list_pop(db, K("big"), i % 3 == 0, &p, &pl), 0);
		grove_free(p);
	}
	assert_int_equal(records(db, 'e'), BIG_N / 2);
	bool existed;
	assert_int_equal(grove_db_delete(db, K("big"), &existed), 0);
	grove_db__purge_drain(db);
	assert_int_equal(records(db, 'e'), 0);
	assert_int_equal(records(db, 'p'), 0);
}

/* ---- BATCH mode: writers of one list share group commits ----
 * A writer releases the key lock while it waits for its group's fsync;
 * the next writer must see the queued (not yet stored) elements, or its
 * id would be allocated beside a stale end. */

#define BATCH_THREADS 4
#define BATCH_PUSHES 150

typedef struct bwriter {
	grove_db_t *db;
	int id;
} bwriter_t;

static void *bwriter_run(void *arg)
{
	bwriter_t *w = arg;
	char v[32];
	for (int i = 0; i < BATCH_PUSHES; i++) {
		snprintf(v, sizeof(v), "%c%04d", 'a' + w->id, i);
		bool left = w->id % 2 == 1;
		if (grove_db_list_push(w->db, K("b"), left, false, K(v), NULL) != 0)
			return (void *)1;
		if (i % 10 == 9) { /* and pops at the other end */
			uint8_t *p;
			size_t pl;
			if (grove_db_list_pop(w->db, K("b"), !left, &p, &pl) != 0)
				return (void *)1;
			grove_free(p);
		}
	}
	return NULL;
}

typedef struct all_vals {
	char (*v)[8];
	size_t n;
} all_vals_t;

static int collect_all(void *ctx, const void *id, size_t idlen, const void *val, size_t vlen)
{
	(void)id, (void)idlen;
	all_vals_t *a = ctx;
	assert_true(vlen == 5);
	memcpy(a->v[a->n], val, 5);
	a->v[a->n++][5] = 0;
	return 0;
}

static void test_batch_mode_writers(void **state)
{
	fixture_t *f = *state;
	grove_db_close(f->db);
	grove_db_options_t o;
	grove_test_db_options_init(&o);
	o.node_id = "node-a";
	o.clock = grove_test_storage_clock_ms;
	o.clock_ctx = &f->clock_ms;
	o.durability = GROVE_DURABILITY_BATCH;
	o.batch_window_us = 200;
	char err[256];
	assert_int_equal(grove_db_open(f->dir, &o, &f->db, err, sizeof(err)), 0);
	pthread_t th[BATCH_THREADS];
	bwriter_t w[BATCH_THREADS];
	for (int i = 0; i < BATCH_THREADS; i++) {
		w[i] = (bwriter_t){ f->db, i };
		assert_int_equal(pthread_create(&th[i], NULL, bwriter_run, &w[i]), 0);
	}
	for (int i = 0; i < BATCH_THREADS; i++) {
		void *rv;
		assert_int_equal(pthread_join(th[i], &rv), 0);
		assert_null(rv);
	}
	int pops = BATCH_THREADS * (BATCH_PUSHES / 10);
	size_t want = (size_t)(BATCH_THREADS * BATCH_PUSHES - pops);
	assert_int_equal(llen(f->db, "b"), want);
	all_vals_t a = { calloc(want + 1, sizeof(*a.v)), 0 };
	assert_int_equal(grove_db_list_range(f->db, K("b"), 0, -1, collect_all, &a), 0);
	assert_int_equal(a.n, want);
	/* each writer's pushes keep their order: right pushes ascend, left
	 * pushes descend (whatever the pops removed) */
	for (int t = 0; t < BATCH_THREADS; t++) {
		int last = t % 2 ? 1 << 30 : -1;
		for (size_t i = 0; i < a.n; i++) {
			if (a.v[i][0] != 'a' + t)
				continue;
			int x = atoi(a.v[i] + 1);
			assert_true(t % 2 ? x < last : x > last);
			last = x;
		}
	}
	free(a.v);
}

/* ---- property test: random concurrent histories on 3..5 replicas ----
 *
 * The model keeps, per replica, the set of events it knows; an exchange
 * of the key between two replicas (every item both ways) makes both know
 * the union.  An entry event (push, insert, LSET) creates an entry of an
 * element; a removal (pop, LREM) observes the element's live entries on
 * its replica, LSET the ones it replaces, DEL every live entry.  On a
 * replica an entry is live if no known event observed it; an element is
 * present if it has a live entry, with the value of the greatest (ts,
 * node).  After every operation the replica's sequence is recorded: once
 * all replicas converge, each recorded sequence, restricted to the
 * survivors, must appear in that order in the final one (ids never move),
 * and every replica holds the same sequence. */

#define P_REPLICAS_MAX 5
#define P_STEPS 160
#define P_EVENTS (P_STEPS + 8)
#define P_SEQ_MAX 64

typedef struct pev {
	int elem;     /* element (index of its insert event) */
	bool entry;   /* creates an entry */
	uint64_t ts;  /* entry: HLC ts */
	int node;     /* entry: replica */
	char val[16]; /* entry: value */
	uint8_t observed[P_EVENTS]; /* entries this event removed or replaced */
} pev_t;

typedef struct pmodel {
	pev_t ev[P_EVENTS];
	int nev;
	bool known[P_REPLICAS_MAX][P_EVENTS];
	int seqs[P_STEPS][P_SEQ_MAX]; /* recorded sequences, as element ids */
	int seqlen[P_STEPS];
	int nseq;
} pmodel_t;

static bool entry_live(const pmodel_t *m, int rep, int e)
{
	if (!m->known[rep][e] || !m->ev[e].entry)
		return false;
	for (int x = 0; x < m->nev; x++)
		if (m->known[rep][x] && m->ev[x].observed[e])
			return false;
	return true;
}

/* Marks every live entry of element el (all elements: el < 0) on rep as
 * observed by event x. */
static void observe(pmodel_t *m, int rep, int el, int x)
{
	for (int e = 0; e < m->nev; e++)
		if (e != x && entry_live(m, rep, e) && (el < 0 || m->ev[e].elem == el))
			m->ev[x].observed[e] = 1;
}

/* Element of a value on replica rep's list (values are unique). */
static int elem_of(const pmodel_t *m, const char *val)
{
	for (int e = 0; e < m->nev; e++)
		if (m->ev[e].entry && strcmp(m->ev[e].val, val) == 0)
			return m->ev[e].elem;
	fail_msg("value %s not in the model", val);
	return -1;
}

static void record_seq(pmodel_t *m, grove_db_t *db)
{
	strs_t c = { .n = 0 };
	assert_int_equal(grove_db_list_range(db, K("L"), 0, -1, collect, &c), 0);
	assert_true(m->nseq < P_STEPS);
	for (size_t i = 0; i < c.n; i++)
		m->seqs[m->nseq][i] = elem_of(m, c.s[i]);
	m->seqlen[m->nseq++] = (int)c.n;
}

static int new_event(pmodel_t *m, int rep, int elem, bool entry, grove_db_t *db, const char *val)
{
	int x = m->nev++;
	assert_true(x < P_EVENTS);
	pev_t *e = &m->ev[x];
	memset(e, 0, sizeof(*e));
	e->elem = elem < 0 ? x : elem;
	e->entry = entry;
	e->node = rep;
	if (entry) {
		e->ts = grove_db_hlc(db)->last;
		snprintf(e->val, sizeof(e->val), "%s", val);
	}
	m->known[rep][x] = true;
	return x;
}

static void exchange(grove_db_t *a, grove_db_t *b, pmodel_t *m, int ra, int rb)
{
	assert_int_equal(grove_test_storage_copy_key(a, b, K("L")), 0);
	assert_int_equal(grove_test_storage_copy_key(b, a, K("L")), 0);
	for (int e = 0; e < m->nev; e++)
		m->known[ra][e] = m->known[rb][e] = m->known[ra][e] || m->known[rb][e];
}

/* One random operation by replica i. */
static void prop_op(grove_rng_t *r, pmodel_t *m, grove_db_t *db, int i, int step)
{
	strs_t cur = { .n = 0 };
	assert_int_equal(grove_db_list_range(db, K("L"), 0, -1, collect, &cur), 0);
	char val[16];
	snprintf(val, sizeof(val), "v%d", step);
	int op = (int)grove_rng_below(r, 100);
	uint8_t *p;
	size_t pl;
	if (op < 35 || cur.n == 0) { /* push */
		bool left = grove_rng_below(r, 2);
		push(db, "L", left, val);
		int x = new_event(m, i, -1, true, db, val);
		(void)x;
	} else if (op < 55) { /* LINSERT around a pivot */
		const char *piv = cur.s[grove_rng_below(r, cur.n)];
		int64_t len;
		bool before = grove_rng_below(r, 2);
		assert_int_equal(grove_db_list_insert(db, K("L"), before, K(piv), K(val), &len), 0);
		assert_int_equal(len, (int64_t)cur.n + 1);
		new_event(m, i, -1, true, db, val);
		strs_t now = { .n = 0 };
		assert_int_equal(grove_db_list_range(db, K("L"), 0, -1, collect, &now), 0);
		for (size_t k = 0; k < now.n; k++) /* right beside its pivot (the first equal) */
			if (strcmp(now.s[k], val) == 0)
				assert_string_equal(now.s[before ? k + 1 : k - 1], piv);
	} else if (op < 75) { /* pop */
		bool left = grove_rng_below(r, 2);
		assert_int_equal(grove_db_list_pop(db, K("L"), left, &p, &pl), 0);
		char got[32];
		memcpy(got, p, pl);
		got[pl] = 0;
		grove_free(p);
		assert_string_equal(got, left ? cur.s[0] : cur.s[cur.n - 1]);
		int el = elem_of(m, got);
		int x = new_event(m, i, el, false, db, NULL);
		observe(m, i, el, x);
	} else if (op < 85) { /* LSET */
		size_t at = grove_rng_below(r, cur.n);
		int el = elem_of(m, cur.s[at]);
		assert_int_equal(grove_db_list_set(db, K("L"), (int64_t)at, K(val)), 0);
		int x = new_event(m, i, el, true, db, val);
		observe(m, i, el, x);
	} else if (op < 92) { /* LREM of one value */
		size_t at = grove_rng_below(r, cur.n);
		int el = elem_of(m, cur.s[at]);
		uint64_t removed;
		assert_int_equal(grove_db_list_rem(db, K("L"), 1, K(cur.s[at]), &removed), 0);
		assert_int_equal(removed, 1);
		int x = new_event(m, i, el, false, db, NULL);
		observe(m, i, el, x);
	} else { /* key delete */
		bool existed;
		assert_int_equal(grove_db_delete(db, K("L"), &existed), 0);
		assert_true(existed);
		int x = new_event(m, i, -2, false, db, NULL);
		observe(m, i, -1, x);
	}
}

/* The model's value of element el on replica rep, or NULL if absent. */
static const char *model_value(const pmodel_t *m, int rep, int el)
{
	const pev_t *w = NULL;
	for (int e = 0; e < m->nev; e++) {
		if (m->ev[e].elem != el || !entry_live(m, rep, e))
			continue;
		const pev_t *c = &m->ev[e];
		if (!w || c->ts > w->ts || (c->ts == w->ts && c->node > w->node))
			w = c;
	}
	return w ? w->val : NULL;
}

static void property_run(uint64_t seed, bool leveldb)
{
	grove_rng_t r;
	grove_rng_seed(&r, seed);
	int nrep = 3 + (int)grove_rng_below(&r, P_REPLICAS_MAX - 2);
	grove_db_t *db[P_REPLICAS_MAX];
	char *dir[P_REPLICAS_MAX] = { 0 };
	uint64_t clk[P_REPLICAS_MAX];
	char id[P_REPLICAS_MAX][16];
	for (int i = 0; i < nrep; i++) {
		snprintf(id[i], sizeof(id[i]), "r%d", i); /* node order = replica order */
		clk[i] = GROVE_TEST_T0_MS + grove_rng_below(&r, 200); /* skewed clocks */
		if (leveldb)
			dir[i] = grove_test_storage_tmpdir("lprop");
		assert_int_equal(grove_test_storage_db_open(dir[i], id[i], &clk[i], GROVE_DURABILITY_NONE,
							    &db[i]), 0);
	}
	pmodel_t *m = calloc(1, sizeof(*m));
	for (int step = 0; step < P_STEPS - 8; step++) {
		int i = (int)grove_rng_below(&r, (uint64_t)nrep);
		clk[i] += grove_rng_below(&r, 3);
		if (grove_rng_below(&r, 100) < 70) {
			prop_op(&r, m, db[i], i, step);
			record_seq(m, db[i]);
		} else {
			int j = (int)grove_rng_below(&r, (uint64_t)nrep);
			if (j != i)
				exchange(db[i], db[j], m, i, j);
		}
	}
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < nrep; i++)
			for (int j = 0; j < nrep; j++)
				if (i != j)
					exchange(db[i], db[j], m, i, j);
	/* every replica: the same sequence, the model's elements and values */
	strs_t fin[P_REPLICAS_MAX];
	uint8_t r0[16], ri[16];
	grove_db_root_digest(db[0], r0);
	for (int i = 0; i < nrep; i++) {
		fin[i].n = 0;
		assert_int_equal(grove_db_list_range(db[i], K("L"), 0, -1, collect, &fin[i]), 0);
		assert_int_equal(llen(db[i], "L"), fin[i].n);
		grove_db_root_digest(db[i], ri);
		if (memcmp(r0, ri, 16) != 0)
			fail_msg("seed %llu: roots differ", (unsigned long long)seed);
		assert_int_equal(fin[i].n, fin[0].n);
		for (size_t k = 0; k < fin[i].n; k++)
			assert_string_equal(fin[i].s[k], fin[0].s[k]);
	}
	int npresent = 0;
	for (int el = 0; el < m->nev; el++) {
		if (m->ev[el].elem != el || !m->ev[el].entry)
			continue; /* not an insert event */
		const char *want = model_value(m, 0, el);
		int at = -1;
		for (size_t k = 0; k < fin[0].n; k++)
			if (elem_of(m, fin[0].s[k]) == el)
				at = (int)k;
		if (!want && at >= 0)
			fail_msg("seed %llu: element %d (%s) should be gone", (unsigned long long)seed,
				 el, fin[0].s[at]);
		if (want && at < 0)
			fail_msg("seed %llu: element %d (%s) missing", (unsigned long long)seed, el,
				 want);
		if (want)
			assert_string_equal(fin[0].s[at], want);
		npresent += want != NULL;
	}
	assert_int_equal((size_t)npresent, fin[0].n);
	/* ids never move: each recorded order holds among the survivors */
	int pos[P_EVENTS];
	for (int e = 0; e < P_EVENTS; e++)
		pos[e] = -1;
	for (size_t k = 0; k < fin[0].n; k++)
		pos[elem_of(m, fin[0].s[k])] = (int)k;
	for (int s = 0; s < m->nseq; s++) {
		int last = -1;
		for (int k = 0; k < m->seqlen[s]; k++) {
			int p = pos[m->seqs[s][k]];
			if (p < 0)
				continue;
			if (p <= last)
				fail_msg("seed %llu: recorded order %d broken", (unsigned long long)seed,
					 s);
			last = p;
		}
	}
	for (int i = 0; i < nrep; i++) {
		grove_db_close(db[i]);
		grove_test_storage_rmdir(dir[i]);
	}
	free(m);
}

static void test_property_memory(void **state)
{
	(void)state;
	uint64_t base = grove_test_storage_seed("test_list_property_memory");
	for (uint64_t s = 0; s < PROP_SEEDS_MEMORY * seeds_scale(); s++)
		property_run(base * 1000 + s, false);
}

static void test_property_leveldb(void **state)
{
	(void)state;
	uint64_t base = grove_test_storage_seed("test_list_property_leveldb");
	for (uint64_t s = 0; s < PROP_SEEDS_LEVELDB * seeds_scale(); s++)
		property_run(base * 1000 + 500 + s, true);
}

/* ---- this node's dots above its version vector ---- */

typedef struct elem_names {
	uint8_t name[8][64];
	size_t len[8], n;
} elem_names_t;

static int elem_name(void *ctx, const uint8_t *name, size_t nlen)
{
	elem_names_t *e = ctx;
	if (name[0] != GROVE_ITEM_HEAD) {
		assert_true(e->n < 8 && nlen <= 64);
		memcpy(e->name[e->n], name, nlen);
		e->len[e->n++] = nlen;
	}
	return 0;
}

/* A replica that lost writes (a twin with our node id kept them) learns of
 * its own later dots from their elements (merged alone: the heads differ):
 * cloud dots above its vv, under a top record, and its next pushes must
 * draw dots above them; a dot reused would read as already removed on a
 * replica that saw the removal.  The replica pushed before, so its memo of
 * "no top record" (db_cloud.c) must go stale when the merge writes one. */
static void test_own_dots_in_cloud(void **state)
{
	fixture_t *f = *state;
	grove_db_t *db = f->db, *twin, *p;
	assert_int_equal(grove_test_storage_db_open(NULL, "node-a", &f->clock_ms, GROVE_DURABILITY_NONE,
						    &twin), 0);
	assert_int_equal(grove_test_storage_db_open(NULL, "p", &f->clock_ms, GROVE_DURABILITY_NONE, &p),
			 0);
	push(db, "q", false, "x"); /* node-a:1; no top record read */
	assert_int_equal(grove_test_storage_copy_key(db, twin, K("q")), 0);
	push(twin, "q", false, "b"); /* node-a:2, 3 */
	push(twin, "q", false, "c");
	uint64_t removed;
	assert_int_equal(grove_db_list_rem(twin, K("q"), 1, K("b"), &removed), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(grove_test_storage_copy_key(twin, p, K("q")), 0);
	elem_names_t e = { .n = 0 };
	assert_int_equal(grove_db_key_items(twin, K("q"), elem_name, &e), 0);
	assert_int_equal(e.n, 2); /* x's, c's */
	for (size_t i = 0; i < e.n; i++) {
		uint8_t *st = NULL;
		size_t sl = 0;
		assert_int_equal(grove_db_item_state(twin, e.name[i], e.len[i], &st, &sl), 0);
		assert_int_equal(grove_db_item_merge(db, e.name[i], e.len[i], st, sl, NULL, NULL), 0);
		grove_free(st);
	}
	char s[512];
	assert_string_equal(range_str(db, "q", 0, -1, s), "x c");
	push(db, "q", false, "d");
	push(db, "q", false, "e");
	assert_int_equal(grove_test_storage_copy_key(db, p, K("q")), 0);
	assert_string_equal(range_str(p, "q", 0, -1, s), "x c d e");
	assert_int_equal(grove_test_storage_copy_key(p, db, K("q")), 0);
	assert_string_equal(range_str(db, "q", 0, -1, s), "x c d e");
	grove_db_close(twin);
	grove_db_close(p);
}

/* ---- reading a record's value in place (grove_elem_winner_view) ---- */

/* Random records (1..4 entries, clashing timestamps and nodes, a random
 * filter), whole, cut short and with a byte changed: the value read in
 * place is the one decode + filter + winner gives, and it fails exactly
 * when the decoder does, with its code. */
static void test_winner_view(void **state)
{
	(void)state;
	grove_rng_t r;
	grove_rng_seed(&r, grove_test_storage_seed("test_winner_view"));
	static const char *nodes[] = { "a", "b", "node-c" };
	int live_seen = 0, dead_seen = 0, bad_seen = 0;
	for (int round = 0; round < 3000; round++) {
		grove_elem_t x = { 0 };
		grove_ctx_t filter = { 0 };
		size_t n = 1 + grove_rng_below(&r, 4);
		x.e = grove_calloc(n, sizeof(*x.e));
		x.cap = n;
		uint64_t counter = 0;
		for (size_t i = 0; i < n; i++) { /* sorted by dot: node, then counter */
			grove_entry_t *e = &x.e[x.len++];
			const char *node = nodes[i * 3 / n];
			counter = i && strcmp(x.e[i - 1].dot.node, node) == 0 ? counter + 1 + grove_rng_below(&r, 3)
									    : 1 + grove_rng_below(&r, 3);
			snprintf(e->dot.node, sizeof(e->dot.node), "%s", node);
			e->dot.counter = counter;
			e->ts = 100 + grove_rng_below(&r, 3);
			char v[16];
			int vl = snprintf(v, sizeof(v), "v%d", (int)grove_rng_below(&r, 1000));
			assert_int_equal(grove_value__blob_set(&e->val, v, (size_t)vl), 0);
			if (grove_rng_below(&r, 3) == 0)
				assert_int_equal(grove_ctx_add(&filter, &e->dot), 0);
		}
		grove_buf_t b = { 0 };
		assert_int_equal(grove_elem_encode(&b, &x, GROVE_ELEM_LIST), 0);
		size_t len = b.len;
		int how = (int)grove_rng_below(&r, 4); /* 0, 1 whole; 2 cut; 3 a byte changed */
		if (how == 2)
			len = grove_rng_below(&r, b.len);
		if (how == 3)
			b.data[grove_rng_below(&r, b.len)] ^= (uint8_t)(1 + grove_rng_below(&r, 255));
		grove_elem_t d;
		int drc = grove_elem_decode(b.data, len, GROVE_ELEM_LIST, &d);
		bool live = true;
		const uint8_t *v = (const uint8_t *)"x";
		size_t vl = 9;
		int vrc = grove_elem_winner_view(b.data, len, GROVE_ELEM_LIST, &filter, &live, &v, &vl);
		assert_int_equal(vrc, drc);
		if (drc == 0) {
			grove_elem_filter(&d, &filter);
			const grove_entry_t *w = grove_elem_winner(&d);
			assert_int_equal(live, w != NULL);
			if (w) {
				assert_int_equal(vl, w->val.len);
				assert_memory_equal(v, w->val.p, vl);
				assert_true(v >= b.data && v + vl <= b.data + len); /* in place */
			} else {
				assert_null(v);
			}
			live ? live_seen++ : dead_seen++;
			grove_elem_free(&d);
		} else {
			assert_false(live);
			bad_seen++;
		}
		grove_buf_close(&b);
		grove_elem_free(&x);
		grove_ctx_free(&filter);
	}
	assert_true(live_seen > 100 && dead_seen > 10 && bad_seen > 100);
	bool live;
	const uint8_t *v;
	size_t vl;
	assert_int_equal(grove_elem_winner_view((const uint8_t *)"\x90", 1, GROVE_ELEM_MEMBER, NULL, &live,
						&v, &vl),
			 GROVE_EINVAL);
}

/* ---- the remembered ends (db_list.c lend_t) ---- */

/* Two keys whose locks are the same stripe (one remembered list each). */
static void same_stripe_keys(char *a, char *b, size_t len)
{
	grove_db_key_t k0, k;
	snprintf(a, len, "s0");
	assert_int_equal(grove_db__key_prepare(&k0, K(a)), 0);
	for (int i = 1; i < 100000; i++) {
		snprintf(b, len, "s%d", i);
		assert_int_equal(grove_db__key_prepare(&k, K(b)), 0);
		if (k.stripe == k0.stripe)
			return;
	}
	fail_msg("no two keys share a stripe");
}

/* Every change to a list's elements other than this node's pushes makes
 * the remembered ends stale: a peer's element merged beyond the end, pops,
 * LSET, LINSERT at an end, LREM, a delete, another list of the stripe,
 * deferred pushes; a push after each lands where Redis would put it. */
static void test_remembered_ends(void **state)
{
	fixture_t *f = *state;
	grove_db_t *db = f->db, *peer; /* peer's node id sorts before ours */
	uint64_t clk = GROVE_TEST_T0_MS;
	assert_int_equal(grove_test_storage_db_open(NULL, "0peer", &clk, GROVE_DURABILITY_NONE, &peer),
			 0);
	char s[512];
	push(db, "l", false, "x"); /* remembered: head = tail = x */
	assert_int_equal(grove_test_storage_copy_key(db, peer, K("l")), 0);
	push(peer, "l", true, "p"); /* the peer's head, an id below x's */
	assert_int_equal(grove_test_storage_copy_key(peer, db, K("l")), 0);
	push(db, "l", true, "a");
	assert_string_equal(range_str(db, "l", 0, -1, s), "a p x");
	push(db, "l", true, "b");
	push(db, "l", false, "y");
	assert_string_equal(range_str(db, "l", 0, -1, s), "b a p x y");
	pop_expect(db, "l", true, "b");
	pop_expect(db, "l", false, "y");
	push(db, "l", true, "c");
	push(db, "l", false, "z");
	assert_string_equal(range_str(db, "l", 0, -1, s), "c a p x z");
	assert_int_equal(grove_db_list_set(db, K("l"), 0, K("C")), 0);
	int64_t n;
	assert_int_equal(grove_db_list_insert(db, K("l"), true, K("C"), K("i"), &n), 0);
	assert_int_equal(n, 6);
	push(db, "l", true, "d");
	assert_string_equal(range_str(db, "l", 0, -1, s), "d i C a p x z");
	uint64_t removed;
	assert_int_equal(grove_db_list_rem(db, K("l"), 1, K("d"), &removed), 0);
	assert_int_equal(removed, 1);
	push(db, "l", true, "e");
	assert_string_equal(range_str(db, "l", 0, 1, s), "e i");
	/* another list of the same stripe takes the entry, then gives it back */
	char k1[16], k2[16];
	same_stripe_keys(k1, k2, sizeof(k1));
	push(db, k1, false, "1");
	push(db, k2, false, "2");
	push(db, k1, true, "0");
	push(db, k2, true, "1");
	assert_string_equal(range_str(db, k1, 0, -1, s), "0 1");
	assert_string_equal(range_str(db, k2, 0, -1, s), "1 2");
	bool existed;
	assert_int_equal(grove_db_delete(db, K("l"), &existed), 0);
	assert_true(existed);
	push(db, "l", false, "f");
	push(db, "l", true, "g");
	assert_string_equal(range_str(db, "l", 0, -1, s), "g f");
	/* deferred pushes (a pipeline): each builds on the one before */
	assert_int_equal(grove_db_defer_begin(db), 0);
	for (int i = 0; i < 20; i++)
		push(db, "l", i % 2 == 0, i % 2 ? "r" : "l");
	uint64_t ticket = grove_db_defer_end(db);
	assert_true(ticket > 0);
	assert_int_equal(grove_db_defer_sync(db, ticket), 0);
	assert_int_equal(llen(db, "l"), 22);
	assert_string_equal(range_str(db, "l", 0, 2, s), "l l l");
	assert_string_equal(range_str(db, "l", 9, 12, s), "l g f r");
	assert_string_equal(range_str(db, "l", -1, -1, s), "r");
	grove_db_close(peer);
}

static uint64_t window_hits(grove_db_t *db)
{
	return atomic_load(&db->list_window_hits);
}

/* The range a0..b0 read twice: the second read comes from the head window
 * (one more hit) and both give want. */
static void range_twice(grove_db_t *db, const char *key, int64_t a, int64_t b, const char *want)
{
	char s[512];
	assert_string_equal(range_str(db, key, a, b, s), want);
	uint64_t h = window_hits(db);
	assert_string_equal(range_str(db, key, a, b, s), want);
	assert_int_equal(window_hits(db), h + 1);
}

/* The head window of a list (db_list.c) answers reads only while the
 * list's live elements are those it was read from: every change - pushes
 * at either end, pops, LSET (same count, another value: a window checked
 * by count alone would answer the old one), LINSERT, LREM, a peer's
 * element merged, a delete, an expiry, another list of the stripe - is
 * read back at once, and only ranges inside the window hit it. */
static void test_head_window(void **state)
{
	fixture_t *f = *state;
	grove_db_t *db = f->db, *peer;
	uint64_t clk = GROVE_TEST_T0_MS;
	assert_int_equal(grove_test_storage_db_open(NULL, "0peer", &clk, GROVE_DURABILITY_NONE, &peer),
			 0);
	char s[512];
	const char *v[] = { "a", "b", "c", "d", "e" };
	for (size_t i = 0; i < 5; i++)
		push(db, "w", false, v[i]);
	range_twice(db, "w", 0, 2, "a b c"); /* the window: a b c */
	uint64_t h = window_hits(db);
	assert_string_equal(range_str(db, "w", 1, 2, s), "b c");
	assert_string_equal(range_str(db, "w", -5, 0, s), "a");
	assert_int_equal(window_hits(db), h + 2);
	assert_string_equal(range_str(db, "w", 0, 3, s), "a b c d"); /* past it: walks */
	assert_string_equal(range_str(db, "w", 2, 4, s), "c d e");
	assert_int_equal(window_hits(db), h + 2);
	range_twice(db, "w", 0, -1, "a b c d e");
	assert_int_equal(grove_db_list_set(db, K("w"), 1, K("B")), 0);
	range_twice(db, "w", 0, -1, "a B c d e");
	push(db, "w", true, "z");
	range_twice(db, "w", 0, -1, "z a B c d e");
	push(db, "w", false, "y");
	range_twice(db, "w", 0, -1, "z a B c d e y");
	pop_expect(db, "w", true, "z");
	range_twice(db, "w", 0, 2, "a B c");
	pop_expect(db, "w", false, "y");
	range_twice(db, "w", 0, -1, "a B c d e");
	int64_t n;
	assert_int_equal(grove_db_list_insert(db, K("w"), false, K("a"), K("i"), &n), 0);
	range_twice(db, "w", 0, -1, "a i B c d e");
	uint64_t removed;
	assert_int_equal(grove_db_list_rem(db, K("w"), 1, K("c"), &removed), 0);
	range_twice(db, "w", 0, -1, "a i B d e");
	/* a peer's element merged at the head */
	assert_int_equal(grove_test_storage_copy_key(db, peer, K("w")), 0);
	push(peer, "w", true, "p");
	assert_int_equal(grove_test_storage_copy_key(peer, db, K("w")), 0);
	range_twice(db, "w", 0, -1, "p a i B d e");
	/* another list of the stripe takes the window; both read right */
	char k1[16], k2[16];
	same_stripe_keys(k1, k2, sizeof(k1));
	push(db, k1, false, "1");
	push(db, k2, false, "2");
	range_twice(db, k1, 0, -1, "1");
	range_twice(db, k2, 0, -1, "2");
	range_twice(db, k1, 0, -1, "1");
	/* a delete, then the same values pushed again */
	bool existed;
	range_twice(db, "w", 0, 0, "p");
	assert_int_equal(grove_db_delete(db, K("w"), &existed), 0);
	assert_string_equal(range_str(db, "w", 0, -1, s), "");
	push(db, "w", false, "p");
	range_twice(db, "w", 0, -1, "p");
	/* an expiry */
	bool set;
	assert_int_equal(grove_db_expire(db, K("w"), f->clock_ms + 10, 0, &set), 0);
	assert_true(set);
	range_twice(db, "w", 0, -1, "p");
	f->clock_ms += 20;
	assert_string_equal(range_str(db, "w", 0, -1, s), "");
	assert_int_equal(llen(db, "w"), 0);
	grove_db_close(peer);
}

/* ---- the digest index of list elements ---- */

/* doc/storage_format.md "Items and item names": a list element's segment
 * is the hash of (kind 04, key length, key, node, 00, counter >> 6 as u64
 * BE) of its id's dot; computed here from the text, not the code. */
static uint32_t doc_list_segment(const uint8_t *key, size_t kl, const uint8_t *node, size_t nl,
				 uint64_t counter)
{
	uint8_t b[3 + 64 + 64 + 9];
	size_t at = 0;
	assert_true(kl <= 64 && nl <= 64);
	b[at++] = GROVE_ITEM_LIST;
	b[at++] = (uint8_t)(kl >> 8);
	b[at++] = (uint8_t)kl;
	memcpy(b + at, key, kl);
	at += kl;
	memcpy(b + at, node, nl);
	at += nl;
	b[at++] = 0;
	for (int i = 7; i >= 0; i--)
		b[at++] = (uint8_t)((counter >> 6) >> (8 * i));
	return grove_tree_segment(b, at);
}

/* The 'd' records of list elements: each at its documented segment. */
typedef struct dscan {
	size_t n;          /* list elements' index records */
	uint32_t segs[64]; /* their distinct segments */
	size_t nsegs;
} dscan_t;

static int dscan_rec(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	dscan_t *d = ctx;
	(void)val;
	(void)vlen;
	assert_true(klen > 4);
	const uint8_t *name = key + 3, *k, *e, *node;
	size_t nlen = klen - 3, kl, el, nl;
	if (name[0] != GROVE_ITEM_LIST)
		return 0;
	uint32_t seg = (uint32_t)key[1] << 8 | key[2];
	int kind;
	uint64_t ctr;
	assert_int_equal(grove_db_item_parse(name, nlen, &kind, &k, &kl, &e, &el), 0);
	assert_true(grove_listpos_dot(e, el, &node, &nl, &ctr));
	assert_int_equal(seg, doc_list_segment(k, kl, node, nl, ctr));
	assert_int_equal(seg, grove_db_item_segment(name, nlen));
	d->n++;
	size_t i = 0;
	while (i < d->nsegs && d->segs[i] != seg)
		i++;
	if (i == d->nsegs) {
		assert_true(d->nsegs < 64);
		d->segs[d->nsegs++] = seg;
	}
	return 0;
}

static int count_item(void *ctx, const void *name, size_t nlen, const uint8_t *digest)
{
	(void)name;
	(void)nlen;
	(void)digest;
	(*(uint64_t *)ctx)++;
	return 0;
}

/* Scans db's list index records into d, and checks that each of their
 * segments lists as many items as the tree counts there. */
static void dscan(grove_db_t *db, dscan_t *d)
{
	memset(d, 0, sizeof(*d));
	assert_int_equal(grove_store_scan_prefix(db->store, NULL, "d", 1, dscan_rec, d), 0);
	for (size_t i = 0; i < d->nsegs; i++) {
		uint64_t listed = 0, count = 0;
		uint8_t dig[GROVE_DIGEST_BYTES];
		assert_int_equal(grove_db_segment_keys(db, d->segs[i], count_item, &listed), 0);
		assert_int_equal(grove_db_tree_node(db, GROVE_TREE_LEVELS, d->segs[i], dig, &count), 0);
		assert_int_equal(listed, count);
	}
}

/* One node's 200 pushes at both ends are indexed in 4 segments (dots 1 to
 * 200 by blocks of 64), not 200; pops and a peer's copy keep the index
 * exact and the roots equal. */
static void test_list_segments(void **state)
{
	fixture_t *f = *state;
	grove_db_t *db = f->db, *peer;
	uint64_t clk = GROVE_TEST_T0_MS;
	char v[16];
	for (int i = 0; i < 200; i++) {
		snprintf(v, sizeof(v), "v%d", i);
		push(db, "L", i % 2 == 0, v);
	}
	dscan_t d;
	dscan(db, &d);
	assert_int_equal(d.n, 200);
	assert_true(d.nsegs >= 1 && d.nsegs <= 4);
	for (int i = 0; i < 70; i++) {
		uint8_t *x = NULL;
		size_t xl = 0;
		assert_int_equal(grove_db_list_pop(db, K("L"), i % 3 == 0, &x, &xl), 0);
		grove_free(x);
	}
	dscan(db, &d);
	assert_int_equal(d.n, 130);
	assert_int_equal(grove_test_storage_db_open(NULL, "0peer", &clk, GROVE_DURABILITY_NONE, &peer),
			 0);
	assert_int_equal(grove_test_storage_copy_key(db, peer, K("L")), 0);
	push(peer, "L", true, "p"); /* the peer's own dot: its own block */
	assert_int_equal(grove_test_storage_copy_key(peer, db, K("L")), 0);
	dscan(peer, &d);
	assert_int_equal(d.n, 131);
	dscan(db, &d);
	assert_int_equal(d.n, 131);
	uint8_t ra[GROVE_DIGEST_BYTES], rb[GROVE_DIGEST_BYTES];
	grove_db_root_digest(db, ra);
	grove_db_root_digest(peer, rb);
	assert_memory_equal(ra, rb, sizeof(ra));
	grove_db_close(peer);
}

/* A format 5 store, as the code before format 6 left it: list elements'
 * 'd' records at hash(name) and a clean record of that tree. */
typedef struct old_index {
	grove_tree_t tree;
	grove_batch_t b;
} old_index_t;

static int old_head(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	old_index_t *o = ctx;
	grove_db_key_t k;
	uint8_t item[GROVE_DIGEST_BYTES];
	assert_int_equal(grove_db__key_prepare(&k, key + 1, klen - 1), 0);
	grove_db__rec_item(&k, val, vlen, item);
	grove_tree_update(&o->tree, grove_tree_segment(key + 1, klen - 1), NULL, item);
	return 0;
}

static int old_elem(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	old_index_t *o = ctx;
	uint8_t d[3 + 256], item[GROVE_DIGEST_BYTES];
	assert_true(klen <= 257);
	uint8_t *name = d + 3;
	size_t nlen = grove_db__elem_rec_name(key, klen, name);
	grove_tree_item(name, nlen, val, vlen, item);
	uint32_t seg = grove_tree_segment(name, nlen);
	grove_tree_update(&o->tree, seg, NULL, item);
	d[0] = 'd';
	d[1] = (uint8_t)(grove_db_item_segment(name, nlen) >> 8);
	d[2] = (uint8_t)grove_db_item_segment(name, nlen);
	assert_int_equal(grove_batch_delete(&o->b, d, 3 + nlen), 0);
	d[1] = (uint8_t)(seg >> 8);
	d[2] = (uint8_t)seg;
	assert_int_equal(grove_batch_put(&o->b, d, 3 + nlen, NULL, 0), 0);
	return 0;
}

/* Rewrites the closed store at dir as format 5 (above). */
static void make_format5(const char *dir)
{
	grove_store_t *st = grove_test_storage_raw_open(dir);
	old_index_t o;
	assert_int_equal(grove_tree_init(&o.tree), 0);
	grove_batch_init(&o.b);
	assert_int_equal(grove_store_scan_prefix(st, NULL, "u", 1, old_head, &o), 0);
	assert_int_equal(grove_store_scan_prefix(st, NULL, "e", 1, old_elem, &o), 0);
	uint8_t *rec;
	size_t len, n = GROVE_TREE_SEGMENTS * GROVE_TREE_ACC_BYTES;
	assert_int_equal(grove_store_get(st, NULL, "cclean", 6, &rec, &len), 0);
	assert_int_equal(len, 16 + n + 32);
	grove_tree_save(&o.tree, rec + 16);
	uint8_t root[GROVE_DIGEST_BYTES];
	assert_int_equal(grove_tree_node(&o.tree, 0, 0, root, NULL), 0);
	assert_memory_equal(rec + 16 + n, root, 16); /* the root ignores where items are */
	crypto_generichash(rec + 16 + n + 16, 16, rec, 16 + n + 16, NULL, 0);
	assert_int_equal(grove_batch_put(&o.b, "cclean", 6, rec, len), 0);
	const uint8_t f5[4] = { 5, 0, 0, 0 };
	assert_int_equal(grove_batch_put(&o.b, "cformat", 7, f5, 4), 0);
	assert_int_equal(grove_store_write(st, &o.b, true), 0);
	grove_free(rec);
	grove_batch_close(&o.b);
	grove_tree_close(&o.tree);
	grove_store_close(st);
}

/* Opening a format 5 store rebuilds its index (list elements' 'd' records
 * at their format 6 segments), whatever its clean record says; the data,
 * the root and later writes are as before. */
static void test_format5_index_migrated(void **state)
{
	fixture_t *f = *state;
	char v[16], s[512];
	for (int i = 0; i < 150; i++) {
		snprintf(v, sizeof(v), "%d", i);
		push(f->db, "M", false, v);
	}
	assert_int_equal(grove_db_counter_add(f->db, K("c"), 7, NULL), 0);
	uint8_t r0[GROVE_DIGEST_BYTES], r1[GROVE_DIGEST_BYTES];
	grove_db_root_digest(f->db, r0);
	grove_db_close(f->db);
	make_format5(f->dir);
	assert_int_equal(grove_test_storage_db_open(f->dir, "node-a", &f->clock_ms,
						    GROVE_DURABILITY_NONE, &f->db), 0);
	grove_db_stats_t st;
	grove_db_stats(f->db, &st);
	assert_int_equal(st.index_rebuilds, 1);
	grove_db_root_digest(f->db, r1);
	assert_memory_equal(r0, r1, sizeof(r0));
	dscan_t d;
	dscan(f->db, &d);
	assert_int_equal(d.n, 150);
	assert_true(d.nsegs <= 3);
	uint8_t *fmt;
	size_t flen;
	assert_int_equal(grove_store_get(f->db->store, NULL, "cformat", 7, &fmt, &flen), 0);
	assert_int_equal(flen, 4);
	assert_int_equal(fmt[0], 6);
	grove_free(fmt);
	assert_string_equal(range_str(f->db, "M", 0, 2, s), "0 1 2");
	pop_expect(f->db, "M", true, "0");
	push(f->db, "M", false, "x");
	dscan(f->db, &d);
	assert_int_equal(d.n, 150);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		GROVE_TEST_DB_BOTH_BACKENDS(test_local_ops),
		GROVE_TEST_DB_BOTH_BACKENDS(test_big_list),
		GROVE_TEST_DB_BOTH_BACKENDS(test_batch_mode_writers),
		GROVE_TEST_DB_BOTH_BACKENDS(test_remembered_ends),
		GROVE_TEST_DB_BOTH_BACKENDS(test_head_window),
		cmocka_unit_test(test_winner_view),
		GROVE_TEST_DB_BOTH_BACKENDS(test_own_dots_in_cloud),
		GROVE_TEST_DB_BOTH_BACKENDS(test_list_segments),
		cmocka_unit_test_setup_teardown(test_format5_index_migrated,
						grove_test_db_setup_leveldb, grove_test_db_teardown),
		cmocka_unit_test(test_property_memory),
		cmocka_unit_test(test_property_leveldb),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
