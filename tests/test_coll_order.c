/*
 * test_coll_order.c - convergence of per-element collections when element
 * states arrive out of dot order (issue 11: anti-entropy delivers a
 * writer's dots in tree order, so receivers hold contexts with gaps).
 *
 * Random histories on 3 replicas of one set, one hash and one sorted set
 * (ZADD / ZREM: a member's score is its winning ZADD's) with many more
 * elements than test_db_coll's property test (so contexts grow clouds):
 * concurrent SADD/SREM, HSET/HDEL, ZADD/ZREM, key deletes, and exchanges that ship a
 * random subset of one replica's items of a key to another in a shuffled
 * order, with the receiver's replies as a session sends them.  Some runs
 * cut every element state (grove_db__item_state_max at 1: the partial
 * states of big contexts).  After the history, full shuffled exchanges
 * until every root digest agrees, then every replica must hold, for every
 * element, exactly the model's dots: every dot an add drew that no remove
 * observed (a remove observes the dots its replica holds for the element
 * when it runs, read from that replica's element state), and a hash reads
 * the greatest (ts, node) of them, a sorted set that one's score.
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
#include "storage/le.h"
#include "storage/store.h"
#include "tests/util_storage.h"

#define K(s) s, strlen(s)
#define NREP 3
#define NELEM 48
#define NOPS 900
#define DOTS_MAX 1536
#define KINDS 3 /* GROVE_ITEM_MEMBER .. GROVE_ITEM_ZMEMBER */

#if defined(__SANITIZE_ADDRESS__) /* ASan+UBSan pass: smaller, same checks */
#define SEEDS_MEMORY 3
#define SEEDS_LEVELDB 1
#else
#define SEEDS_MEMORY 12
#define SEEDS_LEVELDB 2
#endif

typedef struct mdot {
	char node[GROVE_NODE_ID_MAX + 1];
	uint64_t counter, ts;
	char val[16];
	double score;
	int kind, elem;
	bool removed;
} mdot_t;

typedef struct model {
	mdot_t d[DOTS_MAX];
	size_t n;
} model_t;

static const char *kind_key(int kind)
{
	return kind == GROVE_ITEM_MEMBER ? "s" : kind == GROVE_ITEM_FIELD ? "h" : "z";
}

static const char *kind_type(int kind)
{
	return kind == GROVE_ITEM_MEMBER ? "set" : kind == GROVE_ITEM_FIELD ? "hash" : "zset";
}

static size_t item_name(uint8_t *out, int kind, int e)
{
	const char *key = kind_key(kind);
	out[0] = (uint8_t)kind;
	out[1] = 0;
	out[2] = 1;
	out[3] = (uint8_t)key[0];
	return 4 + (size_t)sprintf((char *)out + 4, "e%03d", e);
}

/* The dots db holds for element (kind, e); false when it holds no head. */
static bool elem_read(grove_db_t *db, int kind, int e, grove_elem_t *x)
{
	uint8_t name[32], *st;
	size_t nl = item_name(name, kind, e), sl;
	memset(x, 0, sizeof(*x));
	int rc = grove_db_item_state(db, name, nl, &st, &sl);
	if (rc == GROVE_ENOTFOUND)
		return false;
	assert_int_equal(rc, 0);
	grove_ctx_t c;
	bool partial;
	assert_int_equal(grove_elem_state_decode(st, sl, kind, &c, x, &partial), 0);
	grove_ctx_free(&c);
	grove_free(st);
	return true;
}

/* Dots are per key: the set's and the hash's are distinct. */
static mdot_t *model_find(model_t *m, int kind, const grove_value__dot_t *d)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->d[i].kind == kind && m->d[i].counter == d->counter &&
		    strcmp(m->d[i].node, d->node) == 0)
			return &m->d[i];
	return NULL;
}

/* A remove on db observes the dots it holds for (kind, e). */
static void observe_remove(model_t *m, grove_db_t *db, int kind, int e)
{
	grove_elem_t x;
	if (!elem_read(db, kind, e, &x))
		return;
	for (size_t i = 0; i < x.len; i++) {
		mdot_t *d = model_find(m, kind, &x.e[i].dot);
		assert_non_null(d);
		d->removed = true;
	}
	grove_elem_free(&x);
}

/* The add just made on db: its one dot. */
static void record_add(model_t *m, grove_db_t *db, int kind, int e, const char *val, double score)
{
	grove_elem_t x;
	assert_true(elem_read(db, kind, e, &x));
	assert_int_equal(x.len, 1);
	assert_true(m->n < DOTS_MAX);
	mdot_t *d = &m->d[m->n++];
	memset(d, 0, sizeof(*d));
	snprintf(d->node, sizeof(d->node), "%s", x.e[0].dot.node);
	d->counter = x.e[0].dot.counter;
	d->ts = x.e[0].ts;
	d->kind = kind;
	d->elem = e;
	d->score = score;
	if (val)
		snprintf(d->val, sizeof(d->val), "%s", val);
	grove_elem_free(&x);
}

typedef struct names {
	uint8_t name[2 * (2 * NELEM + 2)][16];
	size_t len[2 * (2 * NELEM + 2)];
	size_t n;
} names_t;

static int names_fn(void *ctx, const uint8_t *name, size_t nlen)
{
	names_t *n = ctx;
	assert_true(n->n < sizeof(n->len) / sizeof(n->len[0]) && nlen <= 16);
	memcpy(n->name[n->n], name, nlen);
	n->len[n->n++] = nlen;
	return 0;
}

/* Ships the items of key src or dst holds (every one, or a random half)
 * from src to dst in a shuffled order; dst's replies go back at once. */
static void exchange(grove_rng_t *r, grove_db_t *src, grove_db_t *dst, const char *key, bool all)
{
	names_t *n = calloc(1, sizeof(*n));
	assert_non_null(n);
	assert_int_equal(grove_db_key_items(src, K(key), names_fn, n), 0);
	assert_int_equal(grove_db_key_items(dst, K(key), names_fn, n), 0);
	for (size_t i = n->n; i > 1; i--) {
		size_t j = (size_t)grove_rng_below(r, i);
		uint8_t tmp[16];
		size_t tl = n->len[i - 1];
		memcpy(tmp, n->name[i - 1], 16);
		memcpy(n->name[i - 1], n->name[j], 16);
		n->len[i - 1] = n->len[j];
		memcpy(n->name[j], tmp, 16);
		n->len[j] = tl;
	}
	for (size_t i = 0; i < n->n; i++) {
		if (!all && grove_rng_below(r, 2) == 0)
			continue;
		uint8_t *st;
		size_t slen;
		int rc = grove_db_item_state(src, n->name[i], n->len[i], &st, &slen);
		if (rc == GROVE_ENOTFOUND)
			continue;
		assert_int_equal(rc, 0);
		bool reply = false;
		assert_int_equal(grove_db_item_merge(dst, n->name[i], n->len[i], st, slen, NULL, &reply), 0);
		grove_free(st);
		if (reply) {
			assert_int_equal(grove_db_item_state(dst, n->name[i], n->len[i], &st, &slen), 0);
			assert_int_equal(grove_db_item_merge(src, n->name[i], n->len[i], st, slen, NULL, NULL), 0);
			grove_free(st);
		}
	}
	free(n);
}

static bool roots_agree(grove_db_t **db)
{
	uint8_t r0[16], ri[16];
	grove_db_root_digest(db[0], r0);
	for (int i = 1; i < NREP; i++) {
		grove_db_root_digest(db[i], ri);
		if (memcmp(r0, ri, 16) != 0)
			return false;
	}
	return true;
}

static void check_model(const model_t *m, grove_db_t *db, int rep, uint64_t seed)
{
	uint64_t want[KINDS + 1] = { 0 };
	for (int kind = GROVE_ITEM_MEMBER; kind <= GROVE_ITEM_ZMEMBER; kind++) {
		for (int e = 0; e < NELEM; e++) {
			grove_elem_t x;
			if (!elem_read(db, kind, e, &x))
				memset(&x, 0, sizeof(x));
			size_t live = 0;
			const mdot_t *win = NULL;
			for (size_t i = 0; i < m->n; i++) {
				const mdot_t *d = &m->d[i];
				if (d->kind != kind || d->elem != e || d->removed)
					continue;
				live++;
				if (!win || d->ts > win->ts ||
				    (d->ts == win->ts && strcmp(d->node, win->node) > 0))
					win = d;
				bool held = false;
				for (size_t j = 0; j < x.len; j++)
					held = held || (x.e[j].dot.counter == d->counter &&
							strcmp(x.e[j].dot.node, d->node) == 0);
				if (!held)
					fail_msg("seed %llu: r%d %s e%03d lacks dot %s:%llu",
						 (unsigned long long)seed, rep, kind_type(kind), e, d->node,
						 (unsigned long long)d->counter);
			}
			if (x.len != live)
				fail_msg("seed %llu: r%d %s e%03d holds %zu dots, model %zu",
					 (unsigned long long)seed, rep, kind_type(kind), e, x.len, live);
			want[kind] += live > 0;
			char el[8];
			snprintf(el, sizeof(el), "e%03d", e);
			if (kind == GROVE_ITEM_MEMBER) {
				bool in;
				assert_int_equal(grove_db_set_contains(db, K("s"), K(el), &in), 0);
				assert_int_equal(in, live > 0);
			} else if (kind == GROVE_ITEM_ZMEMBER) {
				double sc;
				int rc = grove_db_zset_score(db, K("z"), K(el), &sc);
				if (!live) {
					assert_true(rc == GROVE_ENOTFOUND || rc == GROVE_EWRONGTYPE);
				} else {
					assert_int_equal(rc, 0);
					assert_true(sc == win->score);
				}
			} else {
				uint8_t *v;
				size_t vl;
				int rc = grove_db_map_get(db, K("h"), K(el), &v, &vl);
				if (!live) {
					assert_true(rc == GROVE_ENOTFOUND || rc == GROVE_EWRONGTYPE);
				} else {
					assert_int_equal(rc, 0);
					assert_int_equal(vl, strlen(win->val));
					assert_memory_equal(v, win->val, vl);
					grove_free(v);
				}
			}
			grove_elem_free(&x);
		}
	}
	uint64_t n = 0;
	int rc = grove_db_coll_count(db, K("s"), GROVE_TYPE_SET, &n);
	assert_true(rc == 0 || rc == GROVE_ENOTFOUND);
	assert_int_equal(rc == 0 ? n : 0, want[GROVE_ITEM_MEMBER]);
	rc = grove_db_coll_count(db, K("h"), GROVE_TYPE_MAP, &n);
	assert_true(rc == 0 || rc == GROVE_ENOTFOUND);
	assert_int_equal(rc == 0 ? n : 0, want[GROVE_ITEM_FIELD]);
	rc = grove_db_coll_count(db, K("z"), GROVE_TYPE_ZSET, &n);
	assert_true(rc == 0 || rc == GROVE_ENOTFOUND);
	assert_int_equal(rc == 0 ? n : 0, want[GROVE_ITEM_ZMEMBER]);
}

static void run(uint64_t seed, bool leveldb, bool cut)
{
	grove_rng_t r;
	grove_rng_seed(&r, seed);
	grove_db_t *db[NREP];
	char *dir[NREP] = { 0 };
	uint64_t clk[NREP];
	char id[NREP][8];
	grove_db__item_state_max = cut ? 1 : GROVE_ITEM_STATE_MAX;
	for (int i = 0; i < NREP; i++) {
		snprintf(id[i], sizeof(id[i]), "r%d", i);
		clk[i] = GROVE_TEST_T0_MS + grove_rng_below(&r, 50);
		if (leveldb)
			dir[i] = grove_test_storage_tmpdir("collorder");
		assert_int_equal(grove_test_storage_db_open(dir[i], id[i], &clk[i], GROVE_DURABILITY_NONE,
							    &db[i]), 0);
	}
	model_t *m = calloc(1, sizeof(*m));
	assert_non_null(m);
	char el[8], val[16];
	for (int step = 0; step < NOPS; step++) {
		/* replica 0 writes most (a bulk fill racing the others) */
		int i = grove_rng_below(&r, 3) ? 0 : 1 + (int)grove_rng_below(&r, NREP - 1);
		clk[i] += grove_rng_below(&r, 2);
		int e = (int)grove_rng_below(&r, NELEM);
		snprintf(el, sizeof(el), "e%03d", e);
		int op = (int)grove_rng_below(&r, 100);
		int kind = GROVE_ITEM_MEMBER + (int)grove_rng_below(&r, KINDS);
		const char *key = kind_key(kind);
		if (op < 45) {
			snprintf(val, sizeof(val), "v%d", step);
			/* SADD, HSET and ZADD replace the dots they observe by one */
			observe_remove(m, db[i], kind, e);
			if (kind == GROVE_ITEM_FIELD)
				assert_int_equal(grove_db_map_set(db[i], K(key), K(el), K(val), NULL), 0);
			else if (kind == GROVE_ITEM_MEMBER)
				assert_int_equal(grove_db_set_add(db[i], K(key), K(el), NULL), 0);
			else
				assert_int_equal(grove_db_zset_add(db[i], K(key), K(el), step, 0, NULL, NULL),
						 0);
			record_add(m, db[i], kind, e, kind == GROVE_ITEM_FIELD ? val : NULL, step);
		} else if (op < 65) {
			observe_remove(m, db[i], kind, e);
			bool flag;
			assert_int_equal(kind == GROVE_ITEM_MEMBER ? grove_db_set_remove(db[i], K(key), K(el), &flag)
					 : kind == GROVE_ITEM_FIELD ? grove_db_map_delete(db[i], K(key), K(el), &flag)
								    : grove_db_zset_remove(db[i], K(key), K(el), &flag),
					 0);
		} else if (op < 67) {
			for (int x = 0; x < NELEM; x++)
				observe_remove(m, db[i], kind, x);
			assert_int_equal(grove_db_delete(db[i], K(key), NULL), 0);
		} else {
			int j = (int)grove_rng_below(&r, NREP);
			if (j != i)
				exchange(&r, db[i], db[j], key, false);
		}
	}
	bool same = false;
	for (int round = 0; round < 6 && !same; round++) {
		for (int i = 0; i < NREP; i++)
			for (int j = 0; j < NREP; j++)
				if (i != j) {
					for (int kind = GROVE_ITEM_MEMBER; kind <= GROVE_ITEM_ZMEMBER; kind++)
						exchange(&r, db[i], db[j], kind_key(kind), true);
				}
		same = roots_agree(db);
	}
	if (!same) { /* the model names the element that differs */
		for (int i = 0; i < NREP; i++)
			check_model(m, db[i], i, seed);
	}
	if (!same)
		fail_msg("seed %llu (%s%s): roots differ after full exchanges",
			 (unsigned long long)seed, leveldb ? "leveldb" : "memory", cut ? ", cut states" : "");
	for (int i = 0; i < NREP; i++)
		check_model(m, db[i], i, seed);
	for (int i = 0; i < NREP; i++) {
		grove_db_close(db[i]);
		grove_test_storage_rmdir(dir[i]);
	}
	free(m);
}

static void test_shuffled_memory(void **state)
{
	(void)state;
	uint64_t base = grove_test_storage_seed("test_shuffled_memory");
	for (uint64_t s = 0; s < SEEDS_MEMORY; s++)
		run(base * 1000 + s, false, false);
}

static void test_shuffled_cut_memory(void **state)
{
	(void)state;
	uint64_t base = grove_test_storage_seed("test_shuffled_cut_memory");
	for (uint64_t s = 0; s < SEEDS_MEMORY; s++)
		run(base * 1000 + 100 + s, false, true);
}

static void test_shuffled_leveldb(void **state)
{
	(void)state;
	uint64_t base = grove_test_storage_seed("test_shuffled_leveldb");
	for (uint64_t s = 0; s < SEEDS_LEVELDB; s++)
		run(base * 1000 + 200 + s, true, s % 2 == 1);
}

/* ---- a store of format 2 (the cloud in the head) ---- */

#if defined(__SANITIZE_ADDRESS__)
#define MIG_N 120
#else
#define MIG_N 300
#endif

static size_t mig_name(uint8_t *out, int e)
{
	return item_name(out, GROVE_ITEM_MEMBER, e);
}

static void mig_ship(grove_db_t *src, grove_db_t *dst, int e)
{
	uint8_t name[32], *st;
	size_t nl = mig_name(name, e), sl;
	assert_int_equal(grove_db_item_state(src, name, nl, &st, &sl), 0);
	assert_int_equal(grove_db_item_merge(dst, name, nl, st, sl, NULL, NULL), 0);
	grove_free(st);
}

/* Every element state of db, concatenated with their lengths. */
static void mig_states(grove_db_t *db, grove_buf_t *out)
{
	grove_buf_reset(out);
	for (int e = 0; e < MIG_N; e++) {
		uint8_t name[32], *st;
		size_t nl = mig_name(name, e), sl;
		int rc = grove_db_item_state(db, name, nl, &st, &sl);
		if (rc == GROVE_ENOTFOUND)
			continue;
		assert_int_equal(rc, 0);
		uint8_t len[8];
		grove_le64_put(len, sl);
		grove_buf_append(out, len, 8);
		grove_buf_append(out, st, sl);
		grove_free(st);
	}
	assert_false(grove_buf_failed(out));
}

/* Opens replica r1 at dir: its element states must be before's. */
static grove_db_t *mig_reopen(const char *dir, uint64_t *clock, const grove_buf_t *before)
{
	grove_db_t *db;
	grove_buf_t now = { 0 };
	assert_int_equal(grove_test_storage_db_open(dir, "r1", clock, GROVE_DURABILITY_NONE, &db), 0);
	mig_states(db, &now);
	assert_int_equal(now.len, before->len);
	assert_memory_equal(now.data, before->data, before->len);
	grove_buf_close(&now);
	return db;
}

static int count_rec(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	(void)key, (void)klen, (void)val, (void)vlen;
	++*(size_t *)ctx;
	return 0;
}

static int drop_rec(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	(void)val, (void)vlen;
	assert_int_equal(grove_batch_delete(ctx, key, klen), 0);
	return 0;
}

/* A replica with a cloud, rewritten as format 2 wrote it (the cloud in the
 * head, no 'g' records): it reads the same, moves the cloud to records at
 * the head's first write, and converges. */
static void test_cloud_in_head_migrates(void **state)
{
	(void)state;
	grove_rng_t r;
	grove_rng_seed(&r, grove_test_storage_seed("test_cloud_in_head_migrates"));
	uint64_t ca = GROVE_TEST_T0_MS, cb = GROVE_TEST_T0_MS;
	char *dir = grove_test_storage_tmpdir("collmig");
	grove_db_t *a, *b;
	assert_int_equal(grove_test_storage_db_open(NULL, "r0", &ca, GROVE_DURABILITY_NONE, &a), 0);
	assert_int_equal(grove_test_storage_db_open(dir, "r1", &cb, GROVE_DURABILITY_NONE, &b), 0);
	char el[8];
	for (int e = 0; e < MIG_N; e++) {
		snprintf(el, sizeof(el), "e%03d", e);
		assert_int_equal(grove_db_set_add(a, K("s"), K(el), NULL), 0);
	}
	int ord[MIG_N];
	for (int e = 0; e < MIG_N; e++)
		ord[e] = e;
	for (int i = MIG_N; i > 1; i--) {
		int j = (int)grove_rng_below(&r, (uint64_t)i), t = ord[i - 1];
		ord[i - 1] = ord[j];
		ord[j] = t;
	}
	uint8_t na[16];
	size_t nl = 0;
	na[nl++] = GROVE_ITEM_HEAD;
	na[nl++] = 's';
	uint8_t *hs;
	size_t hl;
	assert_int_equal(grove_db_item_state(a, na, nl, &hs, &hl), 0);
	assert_int_equal(grove_db_item_merge(b, na, nl, hs, hl, NULL, NULL), 0);
	grove_free(hs);
	for (int i = 0; i < MIG_N / 2; i++) /* b: half the members, out of order */
		mig_ship(a, b, ord[i]);
	grove_value_t *v;
	assert_int_equal(grove_db_get(b, K("s"), &v), 0);
	assert_true(v->set.cloud.len > 0);
	grove_ctx_t cloud = { 0 };
	assert_int_equal(grove_ctx_copy(&cloud, &v->set), 0);
	grove_value_destroy(v);
	grove_buf_t before = { 0 };
	mig_states(b, &before);
	grove_db_close(b);

	/* as format 2 wrote it */
	grove_store_t *st;
	char err[256];
	assert_int_equal(grove_store_open_leveldb(dir, &st, err, sizeof(err)), 0);
	uint8_t *rec;
	size_t len;
	assert_int_equal(grove_store_get(st, NULL, "us", 2, &rec, &len), 0);
	grove_value_t *h;
	assert_int_equal(grove_value_decode(rec, len - 1, &h), 0);
	assert_int_equal(h->set.cloud.len, 0);
	assert_int_equal(grove_ctx_union(&h->set, &cloud), 0);
	uint8_t *enc;
	size_t elen;
	assert_int_equal(grove_value_encode(h, &enc, &elen), 0);
	grove_batch_t bt;
	grove_batch_init(&bt);
	uint8_t *urec = grove_malloc(elen + 1);
	assert_non_null(urec);
	memcpy(urec, enc, elen);
	urec[elen] = rec[len - 1];
	assert_int_equal(grove_batch_put(&bt, "us", 2, urec, elen + 1), 0);
	assert_int_equal(grove_store_scan_prefix(st, NULL, "g", 1, drop_rec, &bt), 0);
	uint8_t fmt[4] = { 2, 0, 0, 0 };
	assert_int_equal(grove_batch_put(&bt, "cformat", 7, fmt, 4), 0);
	assert_int_equal(grove_batch_delete(&bt, "cclean", 6), 0);
	assert_int_equal(grove_store_write(st, &bt, true), 0);
	grove_batch_close(&bt);
	grove_free(urec);
	grove_free(enc);
	grove_free(rec);
	grove_value_destroy(h);
	grove_store_close(st);

	/* reads as before; a write moves the cloud out of the head */
	b = mig_reopen(dir, &cb, &before);
	mig_ship(a, b, ord[0]); /* a merge that changes nothing but the head's layout */
	grove_db_close(b);
	assert_int_equal(grove_store_open_leveldb(dir, &st, err, sizeof(err)), 0);
	assert_int_equal(grove_store_get(st, NULL, "us", 2, &rec, &len), 0);
	assert_int_equal(grove_value_decode(rec, len - 1, &h), 0);
	assert_int_equal(h->set.cloud.len, 0);
	grove_value_destroy(h);
	grove_free(rec);
	size_t ng = 0;
	assert_int_equal(grove_store_scan_prefix(st, NULL, "g", 1, count_rec, &ng), 0);
	assert_true(ng > 0);
	assert_int_equal(grove_store_get(st, NULL, "cformat", 7, &rec, &len), 0);
	assert_int_equal(len, 4);
	assert_int_equal(rec[0], 6); /* the current format (6: list segments by dot) */
	grove_free(rec);
	grove_store_close(st);
	b = mig_reopen(dir, &cb, &before);

	/* and converges */
	for (int i = MIG_N / 2; i < MIG_N; i++)
		mig_ship(a, b, ord[i]);
	assert_int_equal(grove_db_item_state(a, na, nl, &hs, &hl), 0);
	assert_int_equal(grove_db_item_merge(b, na, nl, hs, hl, NULL, NULL), 0);
	grove_free(hs);
	assert_int_equal(grove_db_item_state(b, na, nl, &hs, &hl), 0);
	assert_int_equal(grove_db_item_merge(a, na, nl, hs, hl, NULL, NULL), 0);
	grove_free(hs);
	uint8_t ra[16], rb[16];
	grove_db_root_digest(a, ra);
	grove_db_root_digest(b, rb);
	assert_memory_equal(ra, rb, 16);
	uint64_t n;
	assert_int_equal(grove_db_coll_count(b, K("s"), GROVE_TYPE_SET, &n), 0);
	assert_int_equal(n, MIG_N);
	assert_int_equal(grove_db_get(b, K("s"), &v), 0);
	assert_int_equal(v->set.cloud.len, 0); /* every gap filled: the vv alone */
	grove_value_destroy(v);
	grove_ctx_free(&cloud);
	grove_buf_close(&before);
	grove_db_close(a);
	grove_db_close(b);
	grove_test_storage_rmdir(dir);
}

/* A failed run leaves by longjmp: the cut limit goes back here. */
static int restore_limit(void **state)
{
	(void)state;
	grove_db__item_state_max = GROVE_ITEM_STATE_MAX;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_shuffled_memory, restore_limit),
		cmocka_unit_test_teardown(test_shuffled_cut_memory, restore_limit),
		cmocka_unit_test_teardown(test_shuffled_leveldb, restore_limit),
		cmocka_unit_test(test_cloud_in_head_migrates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
