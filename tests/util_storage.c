/*
 * util_storage.c - scratch directories and replayable seeds for the
 * storage tests (see util_storage.h).
 */
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grove/alloc.h"
#include "storage/db_int.h"
#include "storage/store.h"
#include "tests/util_storage.h"

char *grove_test_storage_tmpdir(const char *tag)
{
	char tmpl[256];
	snprintf(tmpl, sizeof(tmpl), "/tmp/grove-test-%s-XXXXXX", tag);
	char *d = mkdtemp(tmpl);
	if (!d) {
		perror("mkdtemp");
		abort();
	}
	return strdup(d);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void grove_test_storage_rmdir(char *dir)
{
	if (!dir)
		return;
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

uint64_t grove_test_storage_seed(const char *test_name)
{
	const char *env = getenv("GROVE_TEST_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : 1;
	printf("%s: seed %" PRIu64 " (GROVE_TEST_SEED to replay)\n", test_name, seed);
	return seed;
}

uint64_t grove_test_storage_clock_ms(void *ctx)
{
	return __atomic_load_n((uint64_t *)ctx, __ATOMIC_RELAXED);
}

void grove_test_db_options_init(grove_db_options_t *o)
{
	grove_db_options_init(o);
	o->elem_cache_bytes = GROVE_TEST_ELEM_CACHE_BYTES;
}

int grove_test_storage_db_open(const char *dir, const char *node, uint64_t *clock_ms,
		       grove_durability_t durability, grove_db_t **out)
{
	grove_db_options_t o;
	grove_test_db_options_init(&o);
	o.node_id = node;
	if (clock_ms) {
		o.clock = grove_test_storage_clock_ms;
		o.clock_ctx = clock_ms;
	}
	o.durability = durability;
	char err[512] = "";
	int rc = grove_db_open(dir, &o, out, err, sizeof(err));
	if (rc)
		printf("grove_test_storage_db_open: %s\n", err);
	return rc;
}

int grove_test_db_open(grove_test_db_t *t, const char *tag, bool leveldb)
{
	t->clock_ms = GROVE_TEST_T0_MS;
	t->dir = leveldb ? grove_test_storage_tmpdir(tag) : NULL;
	return grove_test_storage_db_open(t->dir, "node-a", &t->clock_ms, GROVE_DURABILITY_NONE,
					  &t->db);
}

void grove_test_db_close(grove_test_db_t *t)
{
	grove_db_close(t->db);
	grove_test_storage_rmdir(t->dir);
	t->db = NULL;
	t->dir = NULL;
}

int grove_test_reps_open(grove_test_reps_t *r, int n, const char *tag)
{
	static const char *const ids[GROVE_TEST_REPS_MAX] = { "ra", "rb", "rc", "rd", "re" };
	r->n = 0;
	for (int i = 0; i < n && i < GROVE_TEST_REPS_MAX; i++) {
		r->clk[i] = GROVE_TEST_T0_MS + (uint64_t)i;
		r->dir[i] = grove_test_leveldb ? grove_test_storage_tmpdir(tag) : NULL;
		int rc = grove_test_storage_db_open(r->dir[i], ids[i], &r->clk[i],
						    GROVE_DURABILITY_NONE, &r->db[i]);
		if (rc) {
			grove_test_storage_rmdir(r->dir[i]);
			return rc;
		}
		r->n = i + 1;
	}
	return n <= GROVE_TEST_REPS_MAX ? 0 : GROVE_EINVAL;
}

void grove_test_reps_close(grove_test_reps_t *r)
{
	for (int i = 0; i < r->n; i++) {
		grove_db_close(r->db[i]);
		grove_test_storage_rmdir(r->dir[i]);
	}
	r->n = 0;
}

static int db_setup(void **state, bool leveldb)
{
	grove_test_db_t *t = calloc(1, sizeof(*t));
	*state = t;
	return t && grove_test_db_open(t, "db", leveldb) == 0 ? 0 : -1;
}

int grove_test_db_setup_memory(void **state) { return db_setup(state, false); }
int grove_test_db_setup_leveldb(void **state) { return db_setup(state, true); }

int grove_test_db_teardown(void **state)
{
	grove_test_db_t *t = *state;
	if (t)
		grove_test_db_close(t);
	free(t);
	return 0;
}

bool grove_test_leveldb;

int grove_test_flag_memory(void **state)
{
	(void)state;
	grove_test_leveldb = false;
	return 0;
}

int grove_test_flag_leveldb(void **state)
{
	(void)state;
	grove_test_leveldb = true;
	return 0;
}

grove_store_t *grove_test_storage_raw_open(const char *dir)
{
	char err[512];
	grove_store_t *s = NULL;
	if (grove_store_open_leveldb(dir, &s, err, sizeof(err)) != 0) {
		printf("grove_test_storage_raw_open: %s\n", err);
		abort();
	}
	return s;
}

typedef struct copy_names {
	uint8_t **name;
	size_t *len;
	size_t n, cap;
} copy_names_t;

static int copy_collect(void *ctx, const uint8_t *name, size_t nlen)
{
	copy_names_t *c = ctx;
	for (size_t i = 0; i < c->n; i++)
		if (c->len[i] == nlen && memcmp(c->name[i], name, nlen) == 0)
			return 0;
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 16;
		c->name = realloc(c->name, c->cap * sizeof(*c->name));
		c->len = realloc(c->len, c->cap * sizeof(*c->len));
		if (!c->name || !c->len)
			abort();
	}
	c->name[c->n] = malloc(nlen);
	memcpy(c->name[c->n], name, nlen);
	c->len[c->n++] = nlen;
	return 0;
}

int grove_test_storage_copy_key(grove_db_t *src, grove_db_t *dst, const void *key, size_t klen)
{
	copy_names_t c = { 0 };
	int rc = grove_db_key_items(src, key, klen, copy_collect, &c);
	if (rc == 0)
		rc = grove_db_key_items(dst, key, klen, copy_collect, &c);
	/* elements first, the head last (its context is taken once the
	 * elements match) */
	for (int pass = 0; pass < 2 && rc == 0; pass++) {
		for (size_t i = 0; i < c.n && rc == 0; i++) {
			if ((c.name[i][0] == GROVE_ITEM_HEAD) != (pass == 1))
				continue;
			uint8_t *st = NULL;
			size_t slen = 0;
			rc = grove_db_item_state(src, c.name[i], c.len[i], &st, &slen);
			if (rc == GROVE_ENOTFOUND) {
				rc = 0;
				continue;
			}
			if (rc == 0)
				rc = grove_db_item_merge(dst, c.name[i], c.len[i], st, slen, NULL, NULL);
			grove_free(st);
		}
	}
	for (size_t i = 0; i < c.n; i++)
		free(c.name[i]);
	free(c.name);
	free(c.len);
	return rc;
}

size_t grove_test_elem_name(uint8_t *out, int kind, const char *key, const char *elem)
{
	size_t kl = strlen(key), el = strlen(elem);
	out[0] = (uint8_t)kind;
	out[1] = (uint8_t)(kl >> 8);
	out[2] = (uint8_t)kl;
	memcpy(out + 3, key, kl);
	memcpy(out + 3 + kl, elem, el);
	return 3 + kl + el;
}

/* ---- store operation counts ---- */

grove_test_ops_t grove_test_ops;
static const grove_store_ops_t *g_real;
static grove_store_ops_t g_counting;

static int count_get(grove_store_t *s, const grove_snapshot_t *snap, const void *key, size_t klen,
		     uint8_t **val, size_t *vlen)
{
	grove_test_ops.gets++;
	return g_real->get(s, snap, key, klen, val, vlen);
}

static int count_write(grove_store_t *s, const grove_batch_t *b, bool sync)
{
	grove_test_ops.writes++;
	grove_test_ops.synced += sync;
	grove_test_ops.batch_ops += b->count;
	if (grove_test_ops.on_write)
		grove_test_ops.on_write(b, grove_test_ops.on_write_ctx);
	return g_real->write(s, b, sync);
}

static int count_iter(grove_store_t *s, const grove_snapshot_t *snap, grove_iter_t **out)
{
	grove_test_ops.iters++;
	int rc = g_real->iter_create(s, snap, out);
	if (rc == 0)
		(*out)->ops = &g_counting; /* its steps counted too */
	return rc;
}

static void count_next(grove_iter_t *it)
{
	grove_test_ops.nexts++;
	g_real->iter_next(it);
}

static void count_prev(grove_iter_t *it)
{
	grove_test_ops.prevs++;
	g_real->iter_prev(it);
}

void grove_test_ops_count(grove_db_t *db)
{
	g_real = db->store->ops;
	g_counting = *g_real;
	g_counting.get = count_get;
	g_counting.write = count_write;
	g_counting.iter_create = count_iter;
	g_counting.iter_next = count_next;
	g_counting.iter_prev = count_prev;
	db->store->ops = &g_counting;
	memset(&grove_test_ops, 0, sizeof(grove_test_ops));
}

void grove_test_ops_uncount(grove_db_t *db)
{
	db->store->ops = g_real;
}
