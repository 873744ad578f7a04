/*
 * bench_storage.c - storage benchmarks, each beside a baseline measured in
 * the same run, printed as tables:
 *  1. raw LevelDB puts (leveldb_put with the options store_leveldb.c uses,
 *     same key and value sizes, same keys in the same order, unsynced)
 *     beside typed counter increments, register sets, set adds and map sets
 *     through db.h in durability mode none, as ratios; and raw puts through
 *     one reused write batch (what store_leveldb.c does: LevelDB's
 *     leveldb_put builds and frees a batch per call), as a second baseline;
 *  2. durability batch vs always with 8 writer threads on distinct keys,
 *     and (2b, section "hot") on one key and on 8 keys;
 *  3. the Syncer on two LevelDB stores of N keys differing in D, beside a
 *     naive full scan (read and compare every key on both sides).
 *
 * Environment: GROVE_BENCH_OPS (ops per rate, default 200000),
 * GROVE_BENCH_KEYS (distinct keys the rates cycle over, default 50000),
 * GROVE_BENCH_SYNC_OPS (ops per durability mode, default 4000),
 * GROVE_BENCH_N (default 1000000) and GROVE_BENCH_D (default 100);
 * GROVE_BENCH_ONLY (e.g. "rates,counter" or "rates,syncer") runs only the
 * named sections (rates, durability, hot, syncer) and, in rates, operations
 * (counter, register, set, map), for profiling one of them.
 */
#include <inttypes.h>
#include <leveldb/c.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "grove/alloc.h"
#include "grove/db.h"
#include "grove/handles.h"
#include "grove/syncer.h"
#include "storage/db_int.h"
#include "storage/store.h"
#include "tests/util_storage.h"

#define BENCH_KEYS 50000 /* default distinct keys the rate benchmarks cycle over */
#define BENCH_THREADS 8

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Process CPU time (all threads, LevelDB's compaction included): a rate in
 * CPU seconds is less disturbed by other processes than wall time. */
static double cpu_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static long env_long(const char *name, long def)
{
	const char *v = getenv(name);
	return v && *v ? strtol(v, NULL, 0) : def;
}

/* Whether the comma-separated list GROVE_BENCH_ONLY names this section
 * or operation (unset or empty: everything runs). */
static bool only_names(const char *name)
{
	const char *only = getenv("GROVE_BENCH_ONLY");
	if (!only || !*only)
		return true;
	size_t n = strlen(name);
	for (const char *p = only; p; p = strchr(p, ',')) {
		p += *p == ',';
		if (strncmp(p, name, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
	}
	return false;
}

static bool section_on(const char *name)
{
	return only_names(name);
}

/* An operation runs unless GROVE_BENCH_ONLY names other operations only. */
static bool op_on(const char *name)
{
	static const char *ops[] = { "counter", "register", "set", "map" };
	bool any = false;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		any |= getenv("GROVE_BENCH_ONLY") && only_names(ops[i]);
	return !any || only_names(name);
}

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench_storage: %s: %s\n", what, grove_strerror(rc));
	exit(1);
}

static long bench_keys = BENCH_KEYS; /* GROVE_BENCH_KEYS */

static int key_of(char *buf, size_t cap, long i)
{
	return snprintf(buf, cap, "crdt:%08ld", (i * 7919) % bench_keys);
}

/* --- 1. rates --- */

/* A raw LevelDB database with the options storage/store_leveldb.c uses. */
typedef struct raw_db {
	char *dir;
	leveldb_t *db;
	leveldb_options_t *opts;
	leveldb_filterpolicy_t *bloom;
	leveldb_cache_t *cache;
	leveldb_writeoptions_t *wo;
} raw_db_t;

static void raw_open(raw_db_t *r)
{
	char *err = NULL;
	r->dir = grove_test_storage_tmpdir("bench-raw");
	r->opts = leveldb_options_create();
	r->bloom = leveldb_filterpolicy_create_bloom(10);
	r->cache = leveldb_cache_create_lru(32u << 20);
	leveldb_options_set_create_if_missing(r->opts, 1);
	leveldb_options_set_paranoid_checks(r->opts, 1);
	leveldb_options_set_filter_policy(r->opts, r->bloom);
	leveldb_options_set_cache(r->opts, r->cache);
	leveldb_options_set_write_buffer_size(r->opts, 16u << 20);
	r->db = leveldb_open(r->opts, r->dir, &err);
	if (err) {
		fprintf(stderr, "leveldb_open: %s\n", err);
		exit(1);
	}
	r->wo = leveldb_writeoptions_create();
}

static void raw_close(raw_db_t *r)
{
	leveldb_writeoptions_destroy(r->wo);
	leveldb_close(r->db);
	leveldb_options_destroy(r->opts);
	leveldb_filterpolicy_destroy(r->bloom);
	leveldb_cache_destroy(r->cache);
	grove_test_storage_rmdir(r->dir);
}

/* Wall and CPU seconds spent. */
typedef struct spent {
	double wall, cpu;
} spent_t;

static void spent_add(spent_t *s, double wall0, double cpu0)
{
	s->wall += now_s() - wall0;
	s->cpu += cpu_s() - cpu0;
}

/* Puts ops [first, last) with the typed path's record key and size:
 * leveldb_put, or (wb non-NULL) leveldb_write of one write batch reused
 * for every put, as storage/store_leveldb.c does. */
static void raw_puts(raw_db_t *r, leveldb_writebatch_t *wb, long first, long last, size_t vlen,
		     spent_t *sp)
{
	char key[64], val[256], *err = NULL;
	memset(val, 'v', sizeof(val));
	double t0 = now_s(), c0 = cpu_s();
	for (long i = first; i < last; i++) {
		key[0] = 'u';
		int klen = 1 + key_of(key + 1, sizeof(key) - 1, i);
		if (wb) {
			leveldb_writebatch_clear(wb);
			leveldb_writebatch_put(wb, key, (size_t)klen, val, vlen);
			leveldb_write(r->db, r->wo, wb, &err);
		} else {
			leveldb_put(r->db, r->wo, key, (size_t)klen, val, vlen, &err);
		}
		if (err) {
			fprintf(stderr, "leveldb write: %s\n", err);
			exit(1);
		}
	}
	if (sp)
		spent_add(sp, t0, c0);
}

typedef enum { OP_COUNTER, OP_REGISTER, OP_SET, OP_MAP } bench_op_t;

/* The records one typed op writes (captured from its store write): op,
 * first key byte, key and value sizes, value bytes.  The "same records"
 * baseline writes records of these sizes, with these values (as
 * compressible as the typed op's for LevelDB's snappy), as one LevelDB
 * write batch per op. */
#define SHAPE_RECORDS_MAX 16
#define SHAPE_VALUE_MAX 512
typedef struct shape_rec {
	int op;
	uint8_t tag;
	size_t klen, vlen;
	uint8_t val[SHAPE_VALUE_MAX];
} shape_rec_t;
typedef struct shape {
	size_t n;
	shape_rec_t r[SHAPE_RECORDS_MAX];
} shape_t;

static shape_t g_shape;
static const grove_store_ops_t *g_real_ops;
static grove_store_ops_t g_capture_ops;

static void shape_add(void *ctx, int op, const uint8_t *key, size_t klen, const uint8_t *val,
		      size_t vlen)
{
	(void)ctx;
	if (g_shape.n >= SHAPE_RECORDS_MAX)
		return;
	shape_rec_t *r = &g_shape.r[g_shape.n++];
	*r = (shape_rec_t){ op, key[0], klen, vlen, { 0 } };
	if (val)
		memcpy(r->val, val, vlen < sizeof(r->val) ? vlen : sizeof(r->val));
}

static int capture_write(grove_store_t *st, const grove_batch_t *b, bool sync)
{
	grove_batch_iterate(b, shape_add, NULL);
	return g_real_ops->write(st, b, sync);
}

/* Puts ops [first, last) as raw_puts does, but each as one write batch of
 * the records a typed op writes (g_shape: same count, kinds and sizes;
 * keys: the record's tag byte, the op's key, padding).  The op's key is
 * formatted once per op, as the typed op formats it once (formatting it
 * per record charged the baseline a snprintf per extra record). */
static void raw_shape_puts(raw_db_t *r, leveldb_writebatch_t *wb, long first, long last,
			   spent_t *sp)
{
	char key[512], *err = NULL;
	double t0 = now_s(), c0 = cpu_s();
	for (long i = first; i < last; i++) {
		leveldb_writebatch_clear(wb);
		char id[64];
		int il = key_of(id, sizeof(id), i);
		for (size_t j = 0; j < g_shape.n; j++) {
			size_t kl = g_shape.r[j].klen < sizeof(key) ? g_shape.r[j].klen : sizeof(key);
			size_t vl = g_shape.r[j].vlen < SHAPE_VALUE_MAX ? g_shape.r[j].vlen
								: SHAPE_VALUE_MAX;
			memset(key, 'k', kl);
			key[0] = (char)g_shape.r[j].tag;
			memcpy(key + 1, id, (size_t)il + 1 < kl ? (size_t)il : kl - 1);
			if (g_shape.r[j].op == GROVE_BATCH_PUT)
				leveldb_writebatch_put(wb, key, kl, (const char *)g_shape.r[j].val, vl);
			else
				leveldb_writebatch_delete(wb, key, kl);
		}
		leveldb_write(r->db, r->wo, wb, &err);
		if (err) {
			fprintf(stderr, "leveldb write: %s\n", err);
			exit(1);
		}
	}
	if (sp)
		spent_add(sp, t0, c0);
}

/* One typed op on the key raw_puts would write for i (the set element or
 * map field is formatted only for the ops that use it: the raw side formats
 * only its key). */
static int typed_op(grove_db_t *db, bench_op_t op, long i)
{
	char key[64], item[16];
	int klen = key_of(key, sizeof(key), i);
	switch (op) {
	case OP_COUNTER:
		return grove_db_counter_add(db, key, (size_t)klen, 1, NULL);
	case OP_REGISTER:
		return grove_db_register_set(db, key, (size_t)klen, "value-16-bytes!!", 16);
	default:
		break;
	}
	int ilen = snprintf(item, sizeof(item), "e%ld", i % 8);
	if (op == OP_SET)
		return grove_db_set_add(db, key, (size_t)klen, item, (size_t)ilen, NULL);
	return grove_db_map_set(db, key, (size_t)klen, item, (size_t)ilen, "value", 5, NULL);
}

static void typed_ops(grove_db_t *db, bench_op_t op, long first, long last, spent_t *sp)
{
	double t0 = now_s(), c0 = cpu_s();
	for (long i = first; i < last; i++) {
		int rc = typed_op(db, op, i);
		if (rc)
			die("typed op", rc);
	}
	if (sp)
		spent_add(sp, t0, c0);
}

/* The size of one stored record (encoding + type byte) after a warm-up
 * pass over every key, so raw puts write values of the same size. */
static size_t record_bytes(grove_db_t *db)
{
	char key[64];
	int klen = key_of(key, sizeof(key), 0);
	uint8_t *enc;
	size_t len;
	int rc = grove_db_get_encoded(db, key, (size_t)klen, &enc, &len);
	if (rc)
		die("get", rc);
	grove_free(enc);
	return len + 1;
}

/* Typed op vs raw puts, interleaved in BENCH_ROUNDS chunks so that load
 * from other processes hits both alike. */
#define BENCH_ROUNDS 10

/* The timed part alone (not inlined: `valgrind --tool=callgrind
 * --toggle-collect=bench_rounds` counts instructions per op in it):
 * raw puts, typed ops, raw puts with a reused batch and raw batches of
 * the typed op's records, interleaved. */
__attribute__((noinline)) static void bench_rounds(grove_db_t *db, raw_db_t raw[3], bench_op_t op,
						   long chunk, size_t vbytes, spent_t t[4])
{
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	for (int r = 0; r < BENCH_ROUNDS; r++) {
		raw_puts(&raw[0], NULL, r * chunk, (r + 1) * chunk, vbytes, &t[0]);
		typed_ops(db, op, r * chunk, (r + 1) * chunk, &t[1]);
		raw_puts(&raw[1], wb, r * chunk, (r + 1) * chunk, vbytes, &t[2]);
		raw_shape_puts(&raw[2], wb, r * chunk, (r + 1) * chunk, &t[3]);
	}
	leveldb_writebatch_destroy(wb);
}

/* The records one steady-state typed op writes, into g_shape. */
static void capture_shape(grove_db_t *db, bench_op_t op)
{
	g_shape.n = 0;
	g_real_ops = db->store->ops;
	g_capture_ops = *g_real_ops;
	g_capture_ops.write = capture_write;
	db->store->ops = &g_capture_ops;
	int rc = typed_op(db, op, 0);
	db->store->ops = g_real_ops;
	if (rc)
		die("typed op", rc);
}

static void bench_rate(bench_op_t op, const char *name, long ops, char *shapes, size_t cap)
{
	char *dir = grove_test_storage_tmpdir("bench-typed");
	grove_db_t *db;
	raw_db_t raw[3]; /* leveldb_put; reused batch; the typed op's records */
	int rc = grove_test_storage_db_open(dir, "node-a", NULL, GROVE_DURABILITY_NONE, &db);
	if (rc)
		die("open", rc);
	for (int i = 0; i < 3; i++)
		raw_open(&raw[i]);
	typed_ops(db, op, 0, bench_keys, NULL); /* every key exists: steady-state sizes */
	size_t vbytes = record_bytes(db);
	capture_shape(db, op);
	size_t used = strlen(shapes), bytes = 0;
	used += (size_t)snprintf(shapes + used, cap - used, "%s:", name);
	for (size_t j = 0; j < g_shape.n && used < cap; j++) {
		bytes += g_shape.r[j].klen + g_shape.r[j].vlen;
		used += (size_t)snprintf(shapes + used, cap - used, " %s '%c' %zu+%zu",
					 g_shape.r[j].op == GROVE_BATCH_PUT ? "put" : "del",
					 g_shape.r[j].tag, g_shape.r[j].klen, g_shape.r[j].vlen);
	}
	if (used < cap)
		used += (size_t)snprintf(shapes + used, cap - used, "\n");
	for (int i = 0; i < 2; i++)
		raw_puts(&raw[i], NULL, 0, bench_keys, vbytes, NULL);
	leveldb_writebatch_t *wb = leveldb_writebatch_create();
	raw_shape_puts(&raw[2], wb, 0, bench_keys, NULL);
	leveldb_writebatch_destroy(wb);
	spent_t t[4] = { { 0 } }; /* raw, typed, raw with a reused batch, same records */
	long chunk = ops / BENCH_ROUNDS;
	bench_rounds(db, raw, op, chunk, vbytes, t);
	double n = (double)(chunk * BENCH_ROUNDS);
	printf("| %s | %zu | %.0f | %.0f | %.2f | %.2f | %.0f | %.2f | %zu (%zu B) | %.0f | %.2f | "
	       "%.2f |\n",
	       name, vbytes, n / t[1].wall, n / t[0].wall, t[0].wall / t[1].wall,
	       t[0].cpu / t[1].cpu, n / t[2].wall, t[2].wall / t[1].wall, g_shape.n, bytes,
	       n / t[3].wall, t[3].wall / t[1].wall, t[3].cpu / t[1].cpu);
	for (int i = 0; i < 3; i++)
		raw_close(&raw[i]);
	grove_db_close(db);
	grove_test_storage_rmdir(dir);
}

static void bench_rates(long ops)
{
	static const char *names[] = { "counter incr", "register set", "set add", "map set" };
	static const char *ids[] = { "counter", "register", "set", "map" };
	char shapes[2048] = "";
	printf("\n1. typed API vs raw LevelDB puts (mode none, %ld ops over %ld existing keys, "
	       "1 thread, interleaved)\n",
	       ops, bench_keys);
	printf("Baselines: \"raw\" = one leveldb_put per op of one record the size of the "
	       "key's head; \"reused\" = the same through one reused write batch; \"same "
	       "records\" = one leveldb_write per op of a batch holding the records the typed "
	       "op writes (count, kinds, key and value sizes and value bytes captured from its "
	       "store write, the op's key formatted once; the honest same-bytes comparison).  "
	       "Typed ops also read (read-modify-write).\n");
	printf("| operation | record bytes | typed ops/s | raw puts/s | typed / raw (wall) | "
	       "typed / raw (CPU) | raw puts/s, reused batch | typed / raw reused (wall) | "
	       "records per op (bytes) | same-records batches/s | typed / same records (wall) | "
	       "typed / same records (CPU) |\n");
	printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
	for (int op = OP_COUNTER; op <= OP_MAP; op++)
		if (op_on(ids[op]))
			bench_rate((bench_op_t)op, names[op], ops, shapes, sizeof(shapes));
	printf("Records per op (op 'tag' key+value bytes):\n%s", shapes);
}

/* --- 2. durability with 8 writers --- */

typedef struct writer {
	grove_db_t *db;
	long first, ops;
	const char *hot; /* NULL: the keys of typed_op; else this one key */
	int rc;
} writer_t;

static void *writer_main(void *arg)
{
	writer_t *w = arg;
	for (long i = w->first; i < w->first + w->ops && w->rc == 0; i++)
		w->rc = w->hot ? grove_db_counter_add(w->db, w->hot, strlen(w->hot), 1, NULL)
			       : typed_op(w->db, OP_COUNTER, i);
	return NULL;
}

static grove_db_t *durability_open(char *dir, grove_durability_t mode, uint32_t window_us)
{
	grove_db_options_t o;
	grove_db_options_init(&o);
	o.node_id = "node-a";
	o.durability = mode;
	o.batch_window_us = window_us;
	grove_db_t *db;
	char err[512];
	int rc = grove_db_open(dir, &o, &db, err, sizeof(err));
	if (rc)
		die(err, rc);
	return db;
}

static const char *const hot_keys[BENCH_THREADS] = { "hot0", "hot1", "hot2", "hot3",
							"hot4", "hot5", "hot6", "hot7" };

/* BENCH_THREADS writers doing ops [first, first + ops) together, on the
 * keys of typed_op (hot 0) or writer i on hot_keys[i % hot]; seconds. */
static double durability_round(grove_db_t *db, long first, long ops, int hot)
{
	pthread_t th[BENCH_THREADS];
	writer_t w[BENCH_THREADS];
	double t0 = now_s();
	for (int i = 0; i < BENCH_THREADS; i++) {
		w[i] = (writer_t){ .db = db, .first = first + i * (ops / BENCH_THREADS),
				   .ops = ops / BENCH_THREADS,
				   .hot = hot ? hot_keys[i % hot] : NULL };
		pthread_create(&th[i], NULL, writer_main, &w[i]);
	}
	for (int i = 0; i < BENCH_THREADS; i++) {
		pthread_join(th[i], NULL);
		if (w[i].rc)
			die("writer", w[i].rc);
	}
	return now_s() - t0;
}

static void bench_durability(long ops)
{
	static const struct {
		const char *name;
		grove_durability_t mode;
		uint32_t window_us;
		long scale; /* none runs more ops: it is much faster */
	} rows[] = {
		{ "none", GROVE_DURABILITY_NONE, 0, 10 },
		{ "batch (window 0)", GROVE_DURABILITY_BATCH, 0, 1 },
		{ "batch (window 500 us)", GROVE_DURABILITY_BATCH, 500, 1 },
		{ "always", GROVE_DURABILITY_ALWAYS, 0, 1 },
	};
	enum { MODES = 4 };
	printf("\n2. durability modes, %d writer threads on distinct keys, counter incr "
	       "(%ld ops per mode, none 10x; modes interleaved in %d rounds)\n",
	       BENCH_THREADS, ops, BENCH_ROUNDS);
	printf("| mode | ops/s | fsyncs issued | ops per fsync |\n|---|---|---|---|\n");
	char *dirs[MODES];
	grove_db_t *dbs[MODES];
	double secs[MODES] = { 0 };
	for (int m = 0; m < MODES; m++) {
		dirs[m] = grove_test_storage_tmpdir("bench-dur");
		dbs[m] = durability_open(dirs[m], rows[m].mode, rows[m].window_us);
	}
	long chunk = ops / BENCH_ROUNDS / BENCH_THREADS * BENCH_THREADS;
	for (int r = 0; r < BENCH_ROUNDS; r++)
		for (int m = 0; m < MODES; m++)
			secs[m] += durability_round(dbs[m], r * chunk * rows[m].scale,
						    chunk * rows[m].scale, 0);
	double rates[MODES];
	for (int m = 0; m < MODES; m++) {
		grove_db_stats_t st;
		grove_db_stats(dbs[m], &st);
		double n = (double)(chunk * BENCH_ROUNDS * rows[m].scale);
		rates[m] = n / secs[m];
		printf("| %s | %.0f | %" PRIu64 " | %.1f |\n", rows[m].name, rates[m], st.syncs,
		       st.syncs ? n / (double)st.syncs : 0.0);
		grove_db_close(dbs[m]);
		grove_test_storage_rmdir(dirs[m]);
	}
	printf("batch / always throughput: %.2f (window 0), %.2f (window 500 us)\n",
	       rates[1] / rates[3], rates[2] / rates[3]);
	printf("(\"always\" counts one fsync per write; LevelDB itself merges concurrent synced "
	       "writes, so it issues fewer)\n");
}

/* The same writers on one key or BENCH_THREADS keys (writes to one key
 * share an fsync only if the key lock is not held across it). */
static void bench_hot_keys(long ops)
{
	static const struct {
		const char *name;
		grove_durability_t mode;
		int hot;
	} rows[] = {
		{ "batch, one key", GROVE_DURABILITY_BATCH, 1 },
		{ "always, one key", GROVE_DURABILITY_ALWAYS, 1 },
		{ "batch, 8 keys", GROVE_DURABILITY_BATCH, BENCH_THREADS },
		{ "always, 8 keys", GROVE_DURABILITY_ALWAYS, BENCH_THREADS },
	};
	enum { ROWS = 4 };
	printf("\n2b. %d writer threads on one key or %d keys, counter incr, window 0 "
	       "(%ld ops per row; rows interleaved in %d rounds)\n",
	       BENCH_THREADS, BENCH_THREADS, ops, BENCH_ROUNDS);
	printf("| mode, keys | ops/s | fsyncs issued | writes per fsync |\n|---|---|---|---|\n");
	char *dirs[ROWS];
	grove_db_t *dbs[ROWS];
	double secs[ROWS] = { 0 };
	for (int m = 0; m < ROWS; m++) {
		dirs[m] = grove_test_storage_tmpdir("bench-hot");
		dbs[m] = durability_open(dirs[m], rows[m].mode, 0);
	}
	long chunk = ops / BENCH_ROUNDS / BENCH_THREADS * BENCH_THREADS;
	for (int r = 0; r < BENCH_ROUNDS; r++)
		for (int m = 0; m < ROWS; m++)
			secs[m] += durability_round(dbs[m], 0, chunk, rows[m].hot);
	for (int m = 0; m < ROWS; m++) {
		grove_db_stats_t st;
		grove_db_stats(dbs[m], &st);
		double n = (double)(chunk * BENCH_ROUNDS);
		printf("| %s | %.0f | %" PRIu64 " | %.1f |\n", rows[m].name, n / secs[m], st.syncs,
		       st.syncs ? (double)st.writes / (double)st.syncs : 0.0);
		grove_db_close(dbs[m]);
		grove_test_storage_rmdir(dirs[m]);
	}
}

/* --- 3. Syncer vs naive full scan --- */

typedef struct naive {
	grove_db_t *a, *b;
	uint64_t keys, differ;
	int rc;
} naive_t;

/* Naive sync: every key of a read on both sides and compared; differing
 * ones merged both ways.  (Keys only in b would need a second scan; the
 * bench makes none.) */
static int naive_key(void *ctx, const void *key, size_t klen, grove_type_t type)
{
	naive_t *n = ctx;
	(void)type;
	uint8_t *ea = NULL, *eb = NULL;
	size_t la = 0, lb = 0;
	n->keys++;
	n->rc = grove_db_get_encoded(n->a, key, klen, &ea, &la);
	if (n->rc == 0)
		n->rc = grove_db_get_encoded(n->b, key, klen, &eb, &lb);
	if (n->rc == 0 && (la != lb || memcmp(ea, eb, la) != 0)) {
		n->differ++;
		n->rc = grove_db_merge(n->b, key, klen, ea, la, NULL);
		grove_free(eb);
		eb = NULL;
		if (n->rc == 0)
			n->rc = grove_db_get_encoded(n->b, key, klen, &eb, &lb);
		if (n->rc == 0)
			n->rc = grove_db_merge(n->a, key, klen, eb, lb, NULL);
	}
	grove_free(ea);
	grove_free(eb);
	return n->rc;
}

static void naive_sync(naive_t *n)
{
	uint8_t *next = NULL;
	size_t next_len = 0;
	do {
		uint8_t *start = next;
		int rc = grove_db_scan(n->a, start, next_len, 4096, naive_key, n, &next, &next_len);
		grove_free(start);
		if (rc || n->rc)
			die("naive scan", rc ? rc : n->rc);
	} while (next);
}

static void fill_pair(grove_db_t *a, grove_db_t *b, long n)
{
	char key[64];
	for (long i = 0; i < n; i++) {
		int klen = snprintf(key, sizeof(key), "crdt:%08ld", i);
		int rc = grove_db_counter_add(a, key, (size_t)klen, 1, NULL);
		if (rc == 0)
			rc = grove_db_counter_add(b, key, (size_t)klen, 1, NULL);
		if (rc)
			die("fill", rc);
	}
}

static void bench_syncer(long n, long d)
{
	char *da = grove_test_storage_tmpdir("bench-sa"), *dbd = grove_test_storage_tmpdir("bench-sb");
	grove_db_t *a, *b;
	int rc = grove_test_storage_db_open(da, "loader", NULL, GROVE_DURABILITY_NONE, &a);
	if (rc == 0)
		rc = grove_test_storage_db_open(dbd, "loader", NULL, GROVE_DURABILITY_NONE, &b);
	if (rc)
		die("open", rc);
	double t0 = now_s();
	fill_pair(a, b, n); /* one writer id: equal states, as after a full sync */
	double fill_s = now_s() - t0;
	grove_db_close(a);
	grove_db_close(b);
	if ((rc = grove_test_storage_db_open(da, "node-a", NULL, GROVE_DURABILITY_NONE, &a)) ||
	    (rc = grove_test_storage_db_open(dbd, "node-b", NULL, GROVE_DURABILITY_NONE, &b)))
		die("reopen", rc);
	char key[64];
	for (long i = 0; i < d; i++) {
		int klen = snprintf(key, sizeof(key), "crdt:%08ld", (i * (n / d)) + (i % (n / d)));
		if ((rc = grove_db_counter_add(i % 2 ? a : b, key, (size_t)klen, 1, NULL)) != 0)
			die("change", rc);
	}
	grove_syncer_t *s;
	grove_sync_report_t r;
	if ((rc = grove_syncer_create(a, b, NULL, &s)) != 0)
		die("syncer", rc);
	t0 = now_s();
	if ((rc = grove_syncer_sync(s, &r)) != 0)
		die("sync", rc);
	double sync_s = now_s() - t0;
	/* the same d again, for the naive scan */
	for (long i = 0; i < d; i++) {
		int klen = snprintf(key, sizeof(key), "crdt:%08ld", (i * (n / d)) + (i % (n / d)));
		if ((rc = grove_db_counter_add(i % 2 ? a : b, key, (size_t)klen, 1, NULL)) != 0)
			die("change", rc);
	}
	naive_t nv = { .a = a, .b = b };
	t0 = now_s();
	naive_sync(&nv);
	double naive_s = now_s() - t0;
	printf("\n3. Syncer vs naive full scan, LevelDB stores, n=%ld keys, d=%ld differing\n", n, d);
	printf("(filling both stores took %.1f s)\n", fill_s);
	printf("| method | time ms | keys read | keys compared | merged |\n|---|---|---|---|---|\n");
	printf("| Syncer (digest tree) | %.1f | %" PRIu64 " | %" PRIu64 " | %" PRIu64 " |\n",
	       sync_s * 1e3, r.keys_touched, r.keys_compared, r.pulled + r.pushed);
	printf("| naive full scan | %.1f | %" PRIu64 " | %" PRIu64 " | %" PRIu64 " |\n",
	       naive_s * 1e3, nv.keys, nv.keys, nv.differ);
	printf("Syncer: %" PRIu64 " tree nodes, %" PRIu64 " segments; speedup %.0fx\n",
	       r.nodes_compared, r.segments_diff, naive_s / sync_s);
	grove_syncer_destroy(s);
	grove_db_close(a);
	grove_db_close(b);
	grove_test_storage_rmdir(da);
	grove_test_storage_rmdir(dbd);
}

int main(void)
{
	long ops = env_long("GROVE_BENCH_OPS", 200000);
	long sync_ops = env_long("GROVE_BENCH_SYNC_OPS", 4000);
	long n = env_long("GROVE_BENCH_N", 1000000), d = env_long("GROVE_BENCH_D", 100);
	bench_keys = env_long("GROVE_BENCH_KEYS", BENCH_KEYS);
	if (ops < 1 || sync_ops < BENCH_THREADS || n < 1 || d < 1 || d > n || bench_keys < 1) {
		fprintf(stderr, "bench_storage: bad GROVE_BENCH_* settings\n");
		return 1;
	}
	printf("bench_storage (GROVE_BENCH_OPS=%ld GROVE_BENCH_SYNC_OPS=%ld GROVE_BENCH_N=%ld "
	       "GROVE_BENCH_D=%ld)\n",
	       ops, sync_ops, n, d);
	if (section_on("rates"))
		bench_rates(ops);
	if (section_on("durability"))
		bench_durability(sync_ops);
	if (section_on("hot"))
		bench_hot_keys(sync_ops);
	if (section_on("syncer"))
		bench_syncer(n, d);
	return 0;
}
