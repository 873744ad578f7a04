/*
 * test_db_presence.c - presence sets (storage/db_presence.c): a write or
 * read of an element whose name hash a key's set lacks skips the store
 * read, so a set missing the hash of an element that has a record would
 * overwrite that record (lost dots, a count and a digest tree out of
 * step).  Tests:
 *   - the write paths that put element records (local writes, merges,
 *     transactions) note the element before a later write looks it up;
 *   - a model: one history of local writes, merges of a peer's states, key
 *     deletes (and their purges), transactions and reopens, applied to two
 *     replicas with the same node id and clock, presence sets on in one and
 *     off in the other: every reply, every element, every count and the
 *     digest roots agree at every step;
 *   - a key that has elements, found after a reopen, is walked only after
 *     enough store reads, then skips them.
 * Seeds are printed (GROVE_TEST_SEED replays one).
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

#include "grove/alloc.h"
#include "grove/db.h"
#include "base/buf.h"
#include "base/rng.h"
#include "crdt/coll.h"
#include "storage/db_coll_int.h"
#include "tests/util_storage.h"

#define K(s) s, strlen(s)

#if defined(__SANITIZE_ADDRESS__) /* ASan+UBSan pass: smaller, same checks */
#define MODEL_SEEDS 1
#define MODEL_STEPS 240
#define MODEL_REOPENS 1 /* a db's open and close dominate under ASan */
#else
#define MODEL_SEEDS 3
#define MODEL_STEPS 400
#define MODEL_REOPENS 3
#endif
#define BIG_N 612
#define WALK_N (GROVE_DB_PRESENCE_SLACK + 200) /* its set goes stale once deleted */
#define ELEMS 48

typedef struct twin {
	char *dir[2];
	uint64_t clk[2];
	grove_db_t *db[2]; /* 0: presence on, 1: off */
} twin_t;

/* fresh: new stores (persist: in LevelDB directories, else in memory). */
static void twin_open(twin_t *t, bool fresh, bool persist)
{
	for (int i = 0; i < 2; i++) {
		if (fresh) {
			t->dir[i] = persist ? grove_test_storage_tmpdir("presence") : NULL;
			t->clk[i] = GROVE_TEST_T0_MS;
		}
		assert_int_equal(grove_test_storage_db_open(t->dir[i], "a", &t->clk[i],
							    GROVE_DURABILITY_NONE, &t->db[i]), 0);
	}
	t->db[1]->pres_off = true;
}

static void twin_close(twin_t *t, bool remove)
{
	for (int i = 0; i < 2; i++) {
		grove_db_close(t->db[i]);
		t->db[i] = NULL;
		if (remove)
			grove_test_storage_rmdir(t->dir[i]);
	}
}

static void roots_equal(twin_t *t, uint64_t seed, int step)
{
	uint8_t r0[16], r1[16];
	grove_db_root_digest(t->db[0], r0);
	grove_db_root_digest(t->db[1], r1);
	if (memcmp(r0, r1, 16) != 0)
		fail_msg("seed %llu step %d: roots differ", (unsigned long long)seed, step);
}

/* Ships src's state of one item to both replicas: same results. */
static void ship(grove_db_t *src, twin_t *t, const uint8_t *name, size_t nl)
{
	uint8_t *st;
	size_t sl;
	int rc = grove_db_item_state(src, name, nl, &st, &sl);
	if (rc == GROVE_ENOTFOUND)
		return;
	assert_int_equal(rc, 0);
	bool ch[2] = { 0 }, rep[2] = { 0 };
	for (int i = 0; i < 2; i++)
		assert_int_equal(grove_db_item_merge(t->db[i], name, nl, st, sl, &ch[i], &rep[i]), 0);
	assert_int_equal(ch[0], ch[1]);
	assert_int_equal(rep[0], rep[1]);
	grove_free(st);
}

/* ---- a merged element is seen by the next local write ---- */

static void test_merge_then_write(void **state)
{
	(void)state;
	twin_t t;
	twin_open(&t, true, false);
	uint64_t cp = GROVE_TEST_T0_MS;
	grove_db_t *p;
	assert_int_equal(grove_test_storage_db_open(NULL, "p", &cp, GROVE_DURABILITY_NONE, &p), 0);
	uint8_t name[64];
	for (int round = 0; round < 2; round++) { /* round 1: inside transactions */
		const char *sk = round ? "s1" : "s0", *hk = round ? "h1" : "h0", *zk = round ? "z1" : "z0";
		for (int i = 0; i < 2; i++) { /* the keys are created: tracked */
			assert_int_equal(grove_db_set_add(t.db[i], K(sk), K("x"), NULL), 0);
			assert_int_equal(grove_db_map_set(t.db[i], K(hk), K("x"), K("1"), NULL), 0);
			assert_int_equal(grove_db_zset_add(t.db[i], K(zk), K("x"), 1, 0, NULL, NULL), 0);
		}
		assert_int_equal(grove_db_set_add(p, K(sk), K("m"), NULL), 0);
		assert_int_equal(grove_db_map_set(p, K(hk), K("m"), K("2"), NULL), 0);
		assert_int_equal(grove_db_zset_add(p, K(zk), K("m"), 2, 0, NULL, NULL), 0);
		if (round)
			for (int i = 0; i < 2; i++)
				assert_int_equal(grove_db_txn_begin(t.db[i]), 0);
		ship(p, &t, name, grove_test_elem_name(name, GROVE_ITEM_MEMBER, sk, "m"));
		ship(p, &t, name, grove_test_elem_name(name, GROVE_ITEM_FIELD, hk, "m"));
		ship(p, &t, name, grove_test_elem_name(name, GROVE_ITEM_ZMEMBER, zk, "m"));
		for (int i = 0; i < 2; i++) {
			bool added = true, created = true;
			int zres = -1;
			assert_int_equal(grove_db_set_add(t.db[i], K(sk), K("m"), &added), 0);
			assert_false(added); /* merged before: not new */
			assert_int_equal(grove_db_map_set(t.db[i], K(hk), K("m"), K("3"), &created), 0);
			assert_false(created);
			assert_int_equal(grove_db_zset_add(t.db[i], K(zk), K("m"), 3, 0, &zres, NULL), 0);
			assert_int_equal(zres, 2); /* a score change, not a new member */
			int64_t v = 0;
			assert_int_equal(grove_db_map_incr(t.db[i], K(hk), K("x"), 1, &v), 0);
			assert_int_equal(v, 2);
			if (round)
				assert_int_equal(grove_db_txn_commit(t.db[i]), 0);
			uint64_t n;
			assert_int_equal(grove_db_coll_count(t.db[i], K(sk), GROVE_TYPE_SET, &n), 0);
			assert_int_equal(n, 2);
			assert_int_equal(grove_db_coll_count(t.db[i], K(hk), GROVE_TYPE_MAP, &n), 0);
			assert_int_equal(n, 2);
			assert_int_equal(grove_db_coll_count(t.db[i], K(zk), GROVE_TYPE_ZSET, &n), 0);
			assert_int_equal(n, 2);
		}
		roots_equal(&t, 0, round);
		/* the element states agree: the write kept to the merged record */
		const char *keys[3] = { sk, hk, zk };
		int kinds[3] = { GROVE_ITEM_MEMBER, GROVE_ITEM_FIELD, GROVE_ITEM_ZMEMBER };
		for (int j = 0; j < 3; j++) {
			size_t nl = grove_test_elem_name(name, kinds[j], keys[j], "m");
			uint8_t *s0, *s1;
			size_t l0, l1;
			assert_int_equal(grove_db_item_state(t.db[0], name, nl, &s0, &l0), 0);
			assert_int_equal(grove_db_item_state(t.db[1], name, nl, &s1, &l1), 0);
			assert_int_equal(l0, l1);
			assert_memory_equal(s0, s1, l0);
			grove_free(s0);
			grove_free(s1);
		}
	}
	assert_true(atomic_load(&t.db[0]->pres_skipped) > 0); /* the sets were used */
	assert_int_equal(atomic_load(&t.db[1]->pres_skipped), 0);
	grove_db_close(p);
	twin_close(&t, true);
}

/* ---- the model: presence on against presence off ---- */

static void pick_key(grove_rng_t *r, char fam, char *key, size_t cap)
{
	uint32_t k = (uint32_t)grove_rng_below(r, 3);
	if (fam == 's' && k == 2)
		snprintf(key, cap, "big");
	else
		snprintf(key, cap, "%c%u", fam, k);
}

static void pick_elem(grove_rng_t *r, const char *key, char *el, size_t cap)
{
	uint32_t n = strcmp(key, "big") == 0 ? BIG_N + 50 : ELEMS;
	snprintf(el, cap, "e%u", (unsigned)grove_rng_below(r, n));
}

/* One random local write applied to both replicas: same results. */
static void local_write(grove_rng_t *r, twin_t *t, int step)
{
	char key[16], el[16], val[16];
	int op = (int)grove_rng_below(r, 9);
	char fam = op < 3 ? 's' : op < 6 ? 'h' : op < 8 ? 'z' : "shz"[grove_rng_below(r, 3)];
	pick_key(r, fam, key, sizeof(key));
	pick_elem(r, key, el, sizeof(el));
	snprintf(val, sizeof(val), "v%d", step);
	double score = (double)grove_rng_below(r, 10);
	bool rem = grove_rng_below(r, 3) == 0;
	int rc[2];
	int64_t out[2] = { 0 };
	for (int i = 0; i < 2; i++) {
		grove_db_t *db = t->db[i];
		bool f = false;
		int zres = 0;
		if (op == 8) {
			rc[i] = grove_db_delete(db, K(key), &f);
		} else if (fam == 's') {
			rc[i] = rem ? grove_db_set_remove(db, K(key), K(el), &f)
				    : grove_db_set_add(db, K(key), K(el), &f);
		} else if (fam == 'h') {
			rc[i] = rem ? grove_db_map_delete(db, K(key), K(el), &f) : 0; /* else below */
		} else {
			rc[i] = rem ? grove_db_zset_remove(db, K(key), K(el), &f)
				    : grove_db_zset_add(db, K(key), K(el), score, 0, &zres, NULL);
		}
		out[i] = f + 2 * zres;
	}
	if (fam == 'h' && !rem && op != 8) { /* HSET or HINCRBY, decided once */
		bool incr = grove_rng_below(r, 4) == 0;
		for (int i = 0; i < 2; i++) {
			bool f = false;
			int64_t v = 0;
			rc[i] = incr ? grove_db_map_incr(t->db[i], K(key), K(el), 1, &v)
				     : grove_db_map_set(t->db[i], K(key), K(el), K(val), &f);
			out[i] = incr ? v : f;
		}
	}
	assert_int_equal(rc[0], rc[1]);
	assert_int_equal(out[0], out[1]);
}

static int collect_fn(void *ctx, const uint8_t *name, size_t nlen)
{
	grove_buf_t *b = ctx;
	uint8_t l = (uint8_t)nlen;
	if (nlen > 255)
		return 0;
	grove_buf_append(b, &l, 1);
	grove_buf_append(b, name, nlen);
	return 0;
}

/* Ships some of the peer's items of one key (heads and elements, random
 * order is not needed: the rules hold in any order) to both replicas. */
static void peer_ship(grove_rng_t *r, grove_db_t *p, twin_t *t, char fam)
{
	char key[16];
	pick_key(r, fam, key, sizeof(key));
	grove_buf_t b = { 0 };
	assert_int_equal(grove_db_key_items(p, K(key), collect_fn, &b), 0);
	for (size_t at = 0; at < b.len; at += 1 + b.data[at])
		if (grove_rng_below(r, 2))
			ship(p, t, b.data + at + 1, b.data[at]);
	grove_buf_close(&b);
}

static void peer_write(grove_rng_t *r, grove_db_t *p)
{
	char key[16], el[16];
	char fam = "shz"[grove_rng_below(r, 3)];
	pick_key(r, fam, key, sizeof(key));
	pick_elem(r, key, el, sizeof(el));
	bool rem = grove_rng_below(r, 4) == 0;
	int rc = fam == 's' ? (rem ? grove_db_set_remove(p, K(key), K(el), NULL)
				   : grove_db_set_add(p, K(key), K(el), NULL))
		 : fam == 'h' ? (rem ? grove_db_map_delete(p, K(key), K(el), NULL)
				     : grove_db_map_set(p, K(key), K(el), K("pv"), NULL))
			      : (rem ? grove_db_zset_remove(p, K(key), K(el), NULL)
				     : grove_db_zset_add(p, K(key), K(el), 5, 0, NULL, NULL));
	assert_true(rc == 0 || rc == GROVE_EWRONGTYPE);
}

/* Every element of every key reads the same on both replicas. */
static void states_equal(twin_t *t, uint64_t seed, int step)
{
	char key[16], el[16];
	for (const char *f = "shz"; *f; f++) {
		for (uint32_t k = 0; k < 3; k++) {
			if (*f == 's' && k == 2)
				snprintf(key, sizeof(key), "big");
			else
				snprintf(key, sizeof(key), "%c%u", *f, k);
			grove_type_t ty = *f == 's' ? GROVE_TYPE_SET : *f == 'h' ? GROVE_TYPE_MAP
										  : GROVE_TYPE_ZSET;
			uint64_t n[2] = { 0 };
			int crc[2];
			for (int i = 0; i < 2; i++)
				crc[i] = grove_db_coll_count(t->db[i], K(key), ty, &n[i]);
			assert_int_equal(crc[0], crc[1]);
			if (n[0] != n[1])
				fail_msg("seed %llu step %d: %s counts %llu/%llu", (unsigned long long)seed,
					 step, key, (unsigned long long)n[0], (unsigned long long)n[1]);
			uint32_t ne = strcmp(key, "big") == 0 ? BIG_N + 50 : ELEMS;
			uint8_t name[64];
			/* the big key: a sample (a stride prime to its size) */
			for (uint32_t e = 0; e < ne; e += ne > ELEMS ? 7 : 1) {
				snprintf(el, sizeof(el), "e%u", e);
				int kind = *f == 's' ? GROVE_ITEM_MEMBER : *f == 'h' ? GROVE_ITEM_FIELD
										     : GROVE_ITEM_ZMEMBER;
				size_t nl = grove_test_elem_name(name, kind, key, el);
				uint8_t *s[2] = { 0 };
				size_t sl[2] = { 0 };
				int rc[2];
				for (int i = 0; i < 2; i++)
					rc[i] = grove_db_item_state(t->db[i], name, nl, &s[i], &sl[i]);
				assert_int_equal(rc[0], rc[1]);
				if (rc[0] == 0 && (sl[0] != sl[1] || memcmp(s[0], s[1], sl[0]) != 0))
					fail_msg("seed %llu step %d: %s.%s states differ",
						 (unsigned long long)seed, step, key, el);
				grove_free(s[0]);
				grove_free(s[1]);
				if (*f == 's') { /* and as a reader sees it */
					bool in[2];
					for (int i = 0; i < 2; i++)
						assert_int_equal(grove_db_set_contains(t->db[i], K(key),
										 K(el), &in[i]), 0);
					assert_int_equal(in[0], in[1]);
				}
			}
		}
	}
}

static void model_run(uint64_t seed)
{
	grove_rng_t r;
	grove_rng_seed(&r, seed);
	twin_t t;
	twin_open(&t, true, true);
	uint64_t cp = GROVE_TEST_T0_MS + 50;
	grove_db_t *p;
	assert_int_equal(grove_test_storage_db_open(NULL, "p", &cp, GROVE_DURABILITY_NONE, &p), 0);
	char el[16];
	for (int i = 0; i < 2; i++) /* a key above the walk-at-once bound */
		for (int e = 0; e < BIG_N; e++) {
			snprintf(el, sizeof(el), "e%d", e);
			assert_int_equal(grove_db_set_add(t.db[i], K("big"), K(el), NULL), 0);
		}
	bool in_txn = false;
	for (int step = 0; step < MODEL_STEPS; step++) {
		int op = (int)grove_rng_below(&r, 100);
		uint64_t tick = grove_rng_below(&r, 3);
		t.clk[0] += tick;
		t.clk[1] += tick;
		cp += grove_rng_below(&r, 3);
		if (step % (MODEL_STEPS / MODEL_REOPENS) == MODEL_STEPS / MODEL_REOPENS / 2) {
			/* reopen (a few times a run: each close writes the
			 * 1.5 MiB clean record): the sets are gone */
			for (int i = 0; i < 2 && in_txn; i++)
				assert_int_equal(grove_db_txn_commit(t.db[i]), 0);
			in_txn = false;
			twin_close(&t, false);
			twin_open(&t, false, true);
		} else if (op < 50) {
			local_write(&r, &t, step);
		} else if (op < 70) {
			peer_write(&r, p);
		} else if (op < 90) {
			peer_ship(&r, p, &t, "shz"[grove_rng_below(&r, 3)]);
		} else if (op < 97) { /* a transaction begins or ends */
			for (int i = 0; i < 2; i++)
				assert_int_equal(in_txn ? grove_db_txn_commit(t.db[i])
							: grove_db_txn_begin(t.db[i]), 0);
			in_txn = !in_txn;
		} else {
			states_equal(&t, seed, step);
		}
		roots_equal(&t, seed, step);
	}
	if (in_txn)
		for (int i = 0; i < 2; i++)
			assert_int_equal(grove_db_txn_commit(t.db[i]), 0);
	roots_equal(&t, seed, MODEL_STEPS);
	states_equal(&t, seed, MODEL_STEPS);
	printf("seed %llu: %llu reads skipped, %llu walks, %llu sets dropped\n",
	       (unsigned long long)seed, (unsigned long long)atomic_load(&t.db[0]->pres_skipped),
	       (unsigned long long)atomic_load(&t.db[0]->pres_scans),
	       (unsigned long long)atomic_load(&t.db[0]->pres_drops));
	assert_true(atomic_load(&t.db[0]->pres_skipped) > 0);
	grove_db_close(p);
	twin_close(&t, true);
}

static void test_model(void **state)
{
	(void)state;
	uint64_t base = grove_test_storage_seed("test_db_presence model");
	for (uint64_t s = 0; s < MODEL_SEEDS; s++)
		model_run(base * 1000 + s);
}

/* ---- a key found after a reopen ---- */

/* A key that has elements is walked once its writes have read as many
 * records as a walk visits per GROVE_DB_PRESENCE_READS_PER_WALK; then a new element's write reads
 * the metadata only.  A key delete leaves its set a superset: kept until
 * it holds more than twice the live elements plus slack. */
static void test_walk_after_reads(void **state)
{
	(void)state;
	grove_test_db_t t;
	assert_int_equal(grove_test_db_open(&t, "presence-walk", true), 0);
	char el[16];
	for (int e = 0; e < WALK_N; e++) {
		snprintf(el, sizeof(el), "e%d", e);
		assert_int_equal(grove_db_set_add(t.db, K("big"), K(el), NULL), 0);
	}
	grove_db_key_t k;
	assert_int_equal(grove_db__key_prepare(&k, K("big")), 0);
	size_t n = 0;
	assert_true(grove_db__presence_tracked(t.db, &k, &n));
	assert_int_equal(n, WALK_N);
	grove_db_close(t.db);
	assert_int_equal(grove_test_storage_db_open(t.dir, "node-a", &t.clock_ms,
						    GROVE_DURABILITY_NONE, &t.db), 0);
	assert_false(grove_db__presence_tracked(t.db, &k, NULL));
	int writes = 0;
	while (!grove_db__presence_tracked(t.db, &k, NULL)) {
		snprintf(el, sizeof(el), "n%d", writes++);
		assert_int_equal(grove_db_set_add(t.db, K("big"), K(el), NULL), 0);
		assert_true(writes <= WALK_N / (GROVE_DB_PRESENCE_READS_PER_WALK - 1) + 2);
	}
	assert_true(writes >= WALK_N / GROVE_DB_PRESENCE_READS_PER_WALK);
	assert_int_equal(atomic_load(&t.db->pres_scans), 1);
	/* the walk found every record, the last write's included */
	for (int e = 0; e < WALK_N; e += 7) {
		bool added = true;
		snprintf(el, sizeof(el), "e%d", e);
		assert_int_equal(grove_db_set_add(t.db, K("big"), K(el), &added), 0);
		assert_false(added);
	}
	for (int e = 0; e < writes; e++) {
		bool added = true;
		snprintf(el, sizeof(el), "n%d", e);
		assert_int_equal(grove_db_set_add(t.db, K("big"), K(el), &added), 0);
		assert_false(added);
	}
	uint64_t skipped = atomic_load(&t.db->pres_skipped);
	bool added = false;
	assert_int_equal(grove_db_set_add(t.db, K("big"), K("brand-new"), &added), 0);
	assert_true(added);
	assert_int_equal(atomic_load(&t.db->pres_skipped), skipped + 1);
	/* deleted: the set is a superset until the next write finds it stale */
	assert_int_equal(grove_db_delete(t.db, K("big"), NULL), 0);
	assert_true(grove_db__presence_tracked(t.db, &k, NULL));
	assert_int_equal(grove_db_set_add(t.db, K("big"), K("e1"), &added), 0);
	assert_true(added);
	assert_true(grove_db__presence_tracked(t.db, &k, &n));
	assert_int_equal(n, 1); /* dropped, walked again: the purge left e1 alone */
	grove_test_db_close(&t);
}

/* ---- more keys than the sets' ways ---- */

/* With more keys written round robin than there are ways, a key's set is
 * evicted before its next write: walking a key that has elements at every
 * such write (a seek and a step per element, instead of one read) made
 * writes slower.  Such a key is walked only once its reads have paid for
 * it, so rounds of writes over many small keys walk nothing after the
 * keys' creation. */
#define MANY_KEYS (GROVE_DB_PRESENCE_WAYS * GROVE_DB_STRIPES * 3 / 2)
static void test_many_keys_no_walks(void **state)
{
	(void)state;
	grove_test_db_t t;
	assert_int_equal(grove_test_db_open(&t, "presence-many", false), 0);
	char key[16], el[16];
	for (int round = 0; round < 3; round++) {
		uint64_t walks = atomic_load(&t.db->pres_scans);
		for (int i = 0; i < MANY_KEYS; i++) {
			bool added = false;
			snprintf(key, sizeof(key), "k%d", i);
			snprintf(el, sizeof(el), "e%d", round);
			assert_int_equal(grove_db_set_add(t.db, K(key), K(el), &added), 0);
			assert_true(added);
		}
		walks = atomic_load(&t.db->pres_scans) - walks;
		if (round == 0) /* new keys: one seek each */
			assert_int_equal(walks, MANY_KEYS);
		else
			assert_int_equal(walks, 0);
	}
	grove_test_db_close(&t);
}

/* ---- a walk while writes of the key wait for their group ---- */

/* Deferred writes (groved's pipelines) stay in the stripe's pending
 * records until their group is written: a walk that starts a key's set
 * then must take them, or the next write of such an element would answer
 * "new" and count it again. */
static void test_walk_sees_pending(void **state)
{
	(void)state;
	uint64_t clk = GROVE_TEST_T0_MS;
	grove_db_t *db;
	assert_int_equal(grove_test_storage_db_open(NULL, "node-a", &clk, GROVE_DURABILITY_BATCH, &db),
			 0);
	db->pres_off = true; /* the key is written untracked */
	assert_int_equal(grove_db_defer_begin(db), 0);
	bool added = false;
	assert_int_equal(grove_db_set_add(db, K("s"), K("queued"), &added), 0);
	assert_true(added);
	grove_db_key_t k;
	assert_int_equal(grove_db__key_prepare(&k, K("s")), 0);
	assert_false(grove_db__presence_tracked(db, &k, NULL));
	db->pres_off = false;
	/* reads the store for "next" (the key has an element: walked only
	 * once a read has paid for it) */
	assert_int_equal(grove_db_set_add(db, K("s"), K("next"), &added), 0);
	assert_true(added);
	assert_false(grove_db__presence_tracked(db, &k, NULL));
	/* a write of a queued element reads its pending record: no walk */
	assert_int_equal(grove_db_set_add(db, K("s"), K("queued"), &added), 0);
	assert_false(added);
	assert_false(grove_db__presence_tracked(db, &k, NULL));
	assert_int_equal(grove_db_set_add(db, K("s"), K("third"), &added), 0); /* walks */
	assert_true(added);
	size_t n = 0;
	assert_true(grove_db__presence_tracked(db, &k, &n));
	assert_int_equal(n, 3);
	uint64_t ticket = grove_db_defer_end(db);
	assert_int_equal(grove_db_defer_sync(db, ticket), 0);
	/* settled: the set answers for "queued" now */
	assert_int_equal(grove_db_set_add(db, K("s"), K("queued"), &added), 0);
	assert_false(added);
	uint64_t cnt;
	assert_int_equal(grove_db_coll_count(db, K("s"), GROVE_TYPE_SET, &cnt), 0);
	assert_int_equal(cnt, 3);
	grove_db_close(db);
}

/* ---- writers of one key on several threads ---- */

enum { ADDERS = 4, ADD_N = 400 };

typedef struct adder {
	grove_db_t *db;
	int id;
	int added; /* SADDs that answered "new" */
	int rc;
} adder_t;

/* Adds every element e0 .. e(ADD_N - 1) once, each thread in its own order. */
static void *adder_run(void *arg)
{
	adder_t *a = arg;
	char el[16];
	for (int i = 0; i < ADD_N && a->rc == 0; i++) {
		static const int mult[ADDERS] = { 1, 3, 7, 9 }; /* prime to ADD_N: permutations */
		int e = (i * mult[a->id] + 97 * a->id) % ADD_N;
		snprintf(el, sizeof(el), "e%d", e);
		bool added = false;
		a->rc = grove_db_set_add(a->db, K("s"), K(el), &added);
		a->added += added;
	}
	return NULL;
}

/* In batch mode a write's records wait for the group commit in the
 * stripe's pending records while its thread waits with the key lock
 * released; the next writer of the key builds on them.  An element added
 * by several threads at once is new for exactly one of them, whether the
 * key was tracked from its creation or walked with writes in flight (a key
 * written while the sets were off, as after a reopen): a set missing a
 * pending element would answer "new" twice and count it twice.  (Memory
 * backend: the same queue, without the fsyncs.) */
static void test_concurrent_writers(void **state)
{
	(void)state;
	_Static_assert(ADD_N == 400, "the multipliers of adder_run are prime to it");
	char el[16];
	for (int round = 0; round < 2; round++) {
		uint64_t clk = GROVE_TEST_T0_MS, base = 0;
		grove_db_t *db;
		assert_int_equal(grove_test_storage_db_open(NULL, "node-a", &clk,
							    GROVE_DURABILITY_BATCH, &db), 0);
		if (round == 1) { /* a key that has elements, not tracked */
			db->pres_off = true;
			for (int e = 0; e < WALK_N; e++) {
				snprintf(el, sizeof(el), "old%d", e);
				assert_int_equal(grove_db_set_add(db, K("s"), K(el), NULL), 0);
			}
			db->pres_off = false;
			base = WALK_N;
		}
		adder_t a[ADDERS];
		pthread_t th[ADDERS];
		for (int i = 0; i < ADDERS; i++) {
			a[i] = (adder_t){ .db = db, .id = i };
			assert_int_equal(pthread_create(&th[i], NULL, adder_run, &a[i]), 0);
		}
		int added = 0;
		for (int i = 0; i < ADDERS; i++) {
			assert_int_equal(pthread_join(th[i], NULL), 0);
			assert_int_equal(a[i].rc, 0);
			added += a[i].added;
		}
		assert_int_equal(added, ADD_N);
		uint64_t n;
		assert_int_equal(grove_db_coll_count(db, K("s"), GROVE_TYPE_SET, &n), 0);
		assert_int_equal(n, base + ADD_N);
		assert_int_equal(atomic_load(&db->pres_scans), 1); /* at creation; round 1: once paid for */
		assert_true(atomic_load(&db->pres_skipped) > 0);
		grove_db_close(db);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_then_write),
		cmocka_unit_test(test_model),
		cmocka_unit_test(test_walk_after_reads),
		cmocka_unit_test(test_walk_sees_pending),
		cmocka_unit_test(test_many_keys_no_walks),
		cmocka_unit_test(test_concurrent_writers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
