/*
 * test_store.c - the store.h contract, run on both backends (memory and
 * LevelDB): point ops, atomic batches, bytewise iteration order (the two
 * backends must agree), prefix and range scans, snapshots, concurrent
 * batch atomicity; then LevelDB-only open errors (locked, corrupt, not a
 * database, not a directory, permissions) and persistence.
 */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "grove/alloc.h"
#include "base/rng.h"
#include "storage/store.h"
#include "tests/util_storage.h"

typedef struct fixture {
	int backend; /* 0 memory, 1 leveldb */
	char *dir;
	grove_store_t *s;
} fixture_t;

static int setup_backend(void **state, int backend)
{
	fixture_t *f = calloc(1, sizeof(*f));
	f->backend = backend;
	if (backend == 0) {
		assert_int_equal(grove_store_open_memory(&f->s), 0);
	} else {
		char err[512];
		f->dir = grove_test_storage_tmpdir("store");
		assert_int_equal(grove_store_open_leveldb(f->dir, &f->s, err, sizeof(err)), 0);
	}
	*state = f;
	return 0;
}

static int setup_memory(void **state) { return setup_backend(state, 0); }
static int setup_leveldb(void **state) { return setup_backend(state, 1); }

static int teardown(void **state)
{
	fixture_t *f = *state;
	grove_store_close(f->s);
	grove_test_storage_rmdir(f->dir);
	free(f);
	return 0;
}

static void expect_stored(grove_store_t *s, const grove_snapshot_t *snap, const char *key,
			 const char *want)
{
	uint8_t *v = NULL;
	size_t vlen = 0;
	int rc = grove_store_get(s, snap, key, strlen(key), &v, &vlen);
	if (!want) {
		assert_int_equal(rc, GROVE_ENOTFOUND);
		return;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(vlen, strlen(want));
	assert_memory_equal(v, want, vlen);
	grove_free(v);
}

static void test_point_ops(void **state)
{
	grove_store_t *s = ((fixture_t *)*state)->s;
	expect_stored(s, NULL, "k", NULL);
	assert_int_equal(grove_store_put(s, "k", 1, "v1", 2, false), 0);
	expect_stored(s, NULL, "k", "v1");
	assert_int_equal(grove_store_put(s, "k", 1, "v22", 3, true), 0);
	expect_stored(s, NULL, "k", "v22");
	assert_int_equal(grove_store_put(s, "e", 1, "", 0, false), 0);
	expect_stored(s, NULL, "e", ""); /* empty value is found */
	assert_int_equal(grove_store_delete(s, "k", 1, false), 0);
	expect_stored(s, NULL, "k", NULL);
	assert_int_equal(grove_store_delete(s, "never", 5, false), 0);
}

static void test_batch_last_op_wins(void **state)
{
	grove_store_t *s = ((fixture_t *)*state)->s;
	grove_batch_t b, c;
	grove_batch_init(&b);
	grove_batch_init(&c);
	assert_int_equal(grove_batch_put(&b, "a", 1, "1", 1), 0);
	assert_int_equal(grove_batch_put(&b, "b", 1, "2", 1), 0);
	assert_int_equal(grove_batch_delete(&b, "a", 1), 0);
	assert_int_equal(grove_batch_put(&c, "b", 1, "3", 1), 0);
	assert_int_equal(grove_batch_put(&c, "c", 1, "4", 1), 0);
	assert_int_equal(grove_batch_append(&b, &c), 0);
	assert_int_equal(b.count, 5);
	assert_int_equal(grove_store_write(s, &b, true), 0);
	expect_stored(s, NULL, "a", NULL);
	expect_stored(s, NULL, "b", "3");
	expect_stored(s, NULL, "c", "4");
	grove_batch_close(&b);
	grove_batch_close(&c);
}

/* A list write reaches the backend as one write of the last op per key:
 * 16 batches each putting one hot key and a key of its own give the
 * backend 17 ops, not 32, and the hot key holds the last batch's value
 * (a group of pipelined writes to one key is inserted once). */
static const grove_store_ops_t *g_list_real;
static size_t g_list_writes, g_list_ops;

static int list_count_write(grove_store_t *s, const grove_batch_t *b, bool sync)
{
	g_list_writes++;
	g_list_ops += b->count;
	return g_list_real->write(s, b, sync);
}

static void test_write_list_last_op_per_key(void **state)
{
	grove_store_t *s = ((fixture_t *)*state)->s;
	grove_batch_t b[16];
	const grove_batch_t *bs[16];
	char key[8], val[8];
	for (int i = 0; i < 16; i++) {
		grove_batch_init(&b[i]);
		bs[i] = &b[i];
		snprintf(val, sizeof(val), "v%d", i);
		assert_int_equal(grove_batch_put(&b[i], "hot", 3, val, strlen(val)), 0);
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(grove_batch_put(&b[i], key, strlen(key), val, strlen(val)), 0);
	}
	grove_store_ops_t counting = *s->ops;
	g_list_real = s->ops;
	counting.write = list_count_write;
	g_list_writes = g_list_ops = 0;
	s->ops = &counting;
	int rc = grove_store_write_list(s, bs, 16, false);
	s->ops = g_list_real;
	assert_int_equal(rc, 0);
	assert_int_equal(g_list_writes, 1);
	assert_int_equal(g_list_ops, 17);
	expect_stored(s, NULL, "hot", "v15");
	expect_stored(s, NULL, "k0", "v0");
	expect_stored(s, NULL, "k15", "v15");
	for (int i = 0; i < 16; i++)
		grove_batch_close(&b[i]);
}

/* A list of batches written as one (grove_store_write_list) leaves the
 * state their concatenation leaves, and the ops a later one of the same
 * key overrides are the only ones left out: 200 rounds of 2-6 batches of
 * 1-5 random puts and deletes over 12 keys of 1-3 bytes, against a model
 * of the last op per key; grove_batch_list_iterate_last visits exactly
 * the model's last ops, in list order.  Seeded. */
typedef struct last_visit {
	char seen[64][4];
	size_t n;
} last_visit_t;

static void last_fn(void *ctx, int op, const uint8_t *key, size_t klen, const uint8_t *val,
		    size_t vlen)
{
	(void)op, (void)val, (void)vlen;
	last_visit_t *v = ctx;
	assert_true(klen < 4 && v->n < 64);
	memcpy(v->seen[v->n], key, klen);
	v->seen[v->n++][klen] = 0;
}

static void test_write_list_as_concatenation(void **state)
{
	grove_store_t *s = ((fixture_t *)*state)->s;
	grove_rng_t rng;
	grove_rng_seed(&rng, grove_test_storage_seed("test_write_list_as_concatenation"));
	static const char *keys[12] = { "a", "b", "c", "ab", "ba", "abc", "x", "y", "z", "xy", "q", "qq" };
	char model[12][16]; /* "" absent, else the value */
	memset(model, 0, sizeof(model));
	for (int round = 0; round < 200; round++) {
		grove_batch_t b[6];
		const grove_batch_t *bs[6];
		size_t nb = 2 + (size_t)grove_rng_below(&rng, 5);
		int last[12], order[64], nops = 0;
		for (int k = 0; k < 12; k++)
			last[k] = -1;
		for (size_t i = 0; i < nb; i++) {
			grove_batch_init(&b[i]);
			bs[i] = &b[i];
			int ops = 1 + (int)grove_rng_below(&rng, 5);
			for (int o = 0; o < ops; o++, nops++) {
				int k = (int)grove_rng_below(&rng, 12);
				order[nops] = k;
				last[k] = nops;
				if (grove_rng_below(&rng, 3) == 0) {
					assert_int_equal(grove_batch_delete(&b[i], keys[k], strlen(keys[k])), 0);
					model[k][0] = 0;
				} else {
					snprintf(model[k], sizeof(model[k]), "v%d", nops);
					assert_int_equal(grove_batch_put(&b[i], keys[k], strlen(keys[k]),
									 model[k], strlen(model[k])),
							 0);
				}
			}
		}
		last_visit_t v = { .n = 0 };
		assert_int_equal(grove_batch_list_iterate_last(bs, nb, last_fn, &v), 0);
		size_t want = 0;
		for (int j = 0; j < nops; j++) {
			if (last[order[j]] != j)
				continue;
			assert_true(want < v.n);
			assert_string_equal(v.seen[want], keys[order[j]]);
			want++;
		}
		assert_int_equal(v.n, want);
		assert_int_equal(grove_store_write_list(s, bs, nb, false), 0);
		for (int k = 0; k < 12; k++)
			expect_stored(s, NULL, keys[k], model[k][0] ? model[k] : NULL);
		for (size_t i = 0; i < nb; i++)
			grove_batch_close(&b[i]);
	}
}

typedef struct collect {
	char keys[64][16];
	size_t n;
	size_t stop_after;
} collect_t;

static int collect_fn(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	collect_t *c = ctx;
	(void)val;
	(void)vlen;
	assert_true(klen < 16 && c->n < 64);
	memcpy(c->keys[c->n], key, klen);
	c->keys[c->n][klen] = 0;
	c->n++;
	return c->stop_after && c->n >= c->stop_after;
}

static void test_prefix_and_range_scan(void **state)
{
	grove_store_t *s = ((fixture_t *)*state)->s;
	const char *keys[] = { "a", "ua", "ub", "uc", "u\xff", "v", "u" };
	for (size_t i = 0; i < 7; i++)
		assert_int_equal(grove_store_put(s, keys[i], strlen(keys[i]), "x", 1, false), 0);
	collect_t c = { 0 };
	assert_int_equal(grove_store_scan_prefix(s, NULL, "u", 1, collect_fn, &c), 0);
	assert_int_equal(c.n, 5);
	assert_string_equal(c.keys[0], "u");
	assert_string_equal(c.keys[1], "ua");
	assert_string_equal(c.keys[4], "u\xff");
	memset(&c, 0, sizeof(c));
	assert_int_equal(grove_store_scan(s, NULL, "ub", 2, "v", 1, collect_fn, &c), 0);
	assert_int_equal(c.n, 3); /* ub uc u\xff, not v */
	memset(&c, 0, sizeof(c));
	c.stop_after = 2;
	assert_int_equal(grove_store_scan(s, NULL, "", 0, NULL, 0, collect_fn, &c), 0);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.keys[1], "u");
}

/* Random binary keys (zeros and 0xff included): iteration returns them in
 * grove_key_cmp order, which is LevelDB's bytewise order. */
static void test_order_is_bytewise(void **state)
{
	grove_store_t *s = ((fixture_t *)*state)->s;
	grove_rng_t rng;
	grove_rng_seed(&rng, grove_test_storage_seed("test_order_is_bytewise"));
	enum { N = 2000 };
	for (int i = 0; i < N; i++) {
		uint8_t key[6];
		size_t klen = 1 + grove_rng_below(&rng, 6);
		for (size_t j = 0; j < klen; j++) {
			uint64_t r = grove_rng_below(&rng, 4);
			key[j] = r == 0 ? 0 : r == 1 ? 0xff : (uint8_t)grove_rng_below(&rng, 256);
		}
		assert_int_equal(grove_store_put(s, key, klen, key, klen, false), 0);
	}
	grove_iter_t *it;
	assert_int_equal(grove_iter_create(s, NULL, &it), 0);
	grove_iter_seek(it, "", 0);
	uint8_t prev[6];
	size_t prev_len = 0, n = 0;
	for (; grove_iter_valid(it); grove_iter_next(it), n++) {
		size_t klen, vlen;
		const uint8_t *k = grove_iter_key(it, &klen);
		const uint8_t *v = grove_iter_value(it, &vlen);
		assert_int_equal(klen, vlen);
		assert_memory_equal(k, v, klen);
		if (n > 0)
			assert_true(grove_key_cmp(prev, prev_len, k, klen) < 0);
		memcpy(prev, k, klen);
		prev_len = klen;
	}
	assert_int_equal(grove_iter_status(it), 0);
	assert_true(n > N / 2 && n <= N); /* duplicates collapse */
	grove_iter_destroy(it);
}

static void test_snapshot_isolation(void **state)
{
	grove_store_t *s = ((fixture_t *)*state)->s;
	assert_int_equal(grove_store_put(s, "p1", 2, "old", 3, false), 0);
	assert_int_equal(grove_store_put(s, "p2", 2, "old", 3, false), 0);
	grove_snapshot_t *snap;
	assert_int_equal(grove_snapshot_create(s, &snap), 0);
	grove_iter_t *implicit;
	assert_int_equal(grove_iter_create(s, NULL, &implicit), 0);
	assert_int_equal(grove_store_put(s, "p1", 2, "new", 3, false), 0);
	assert_int_equal(grove_store_delete(s, "p2", 2, false), 0);
	assert_int_equal(grove_store_put(s, "p3", 2, "new", 3, false), 0);
	expect_stored(s, snap, "p1", "old");
	expect_stored(s, snap, "p2", "old");
	expect_stored(s, snap, "p3", NULL);
	expect_stored(s, NULL, "p1", "new");
	expect_stored(s, NULL, "p2", NULL);
	collect_t c = { 0 };
	assert_int_equal(grove_store_scan_prefix(s, snap, "p", 1, collect_fn, &c), 0);
	assert_int_equal(c.n, 2);
	grove_iter_seek(implicit, "p", 1);
	size_t n = 0;
	for (; grove_iter_valid(implicit); grove_iter_next(implicit), n++) {
		size_t vlen;
		assert_memory_equal(grove_iter_value(implicit, &vlen), "old", 3);
	}
	assert_int_equal(n, 2);
	grove_iter_destroy(implicit);
	grove_snapshot_release(s, snap);
	memset(&c, 0, sizeof(c));
	assert_int_equal(grove_store_scan_prefix(s, NULL, "p", 1, collect_fn, &c), 0);
	assert_int_equal(c.n, 2);
	assert_string_equal(c.keys[1], "p3");
}

/* Writers put pairs (x<i>, y<i>) with one value per batch; readers check
 * through snapshots that every pair they see agrees. */
enum { PAIRS = 16, ROUNDS = 300, WRITERS = 3 };

typedef struct race {
	grove_store_t *s;
	int id;
	int bad;
} race_t;

static void *race_writer(void *arg)
{
	race_t *r = arg;
	char k[8], v[16];
	grove_batch_t b;
	grove_batch_init(&b);
	for (int i = 0; i < ROUNDS; i++) {
		int p = (i * 7 + r->id) % PAIRS;
		snprintf(v, sizeof(v), "%d-%d", r->id, i);
		grove_batch_clear(&b);
		snprintf(k, sizeof(k), "x%02d", p);
		r->bad |= grove_batch_put(&b, k, 3, v, strlen(v));
		snprintf(k, sizeof(k), "y%02d", p);
		r->bad |= grove_batch_put(&b, k, 3, v, strlen(v));
		r->bad |= grove_store_write(r->s, &b, false);
	}
	grove_batch_close(&b);
	return NULL;
}

static void *race_reader(void *arg)
{
	race_t *r = arg;
	for (int i = 0; i < ROUNDS; i++) {
		grove_snapshot_t *snap;
		if (grove_snapshot_create(r->s, &snap) != 0) {
			r->bad = 1;
			return NULL;
		}
		char k[8];
		int p = i % PAIRS;
		uint8_t *a = NULL, *b = NULL;
		size_t al = 0, bl = 0;
		snprintf(k, sizeof(k), "x%02d", p);
		int ra = grove_store_get(r->s, snap, k, 3, &a, &al);
		snprintf(k, sizeof(k), "y%02d", p);
		int rb = grove_store_get(r->s, snap, k, 3, &b, &bl);
		if (ra != rb || (ra == 0 && (al != bl || memcmp(a, b, al) != 0)))
			r->bad = 1;
		grove_free(a);
		grove_free(b);
		grove_snapshot_release(r->s, snap);
	}
	return NULL;
}

static void test_concurrent_batches_atomic(void **state)
{
	grove_store_t *s = ((fixture_t *)*state)->s;
	pthread_t th[WRITERS + 2];
	race_t r[WRITERS + 2];
	for (int i = 0; i < WRITERS + 2; i++) {
		r[i] = (race_t){ .s = s, .id = i };
		pthread_create(&th[i], NULL, i < WRITERS ? race_writer : race_reader, &r[i]);
	}
	for (int i = 0; i < WRITERS + 2; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(r[i].bad, 0);
	}
}

static void test_batch_too_big(void **state)
{
	(void)state;
	grove_batch_t b;
	grove_batch_init(&b);
	static uint8_t big[GROVE_STORE_KEY_BYTES_MAX + 1];
	assert_int_equal(grove_batch_put(&b, big, sizeof(big), "v", 1), GROVE_ETOOBIG);
	assert_int_equal(b.count, 0);
	grove_alloc_fail_after(1);
	assert_int_equal(grove_batch_put(&b, "k", 1, "v", 1), GROVE_ENOMEM);
	grove_alloc_fail_reset();
	assert_int_equal(b.count, 0);
	grove_batch_close(&b);
}

/* --- LevelDB only --- */

static void test_leveldb_reopen_keeps_data(void **state)
{
	(void)state;
	char err[512];
	char *dir = grove_test_storage_tmpdir("reopen");
	grove_store_t *s;
	assert_int_equal(grove_store_open_leveldb(dir, &s, err, sizeof(err)), 0);
	assert_int_equal(grove_store_put(s, "k", 1, "v", 1, true), 0);
	grove_store_close(s);
	assert_int_equal(grove_store_open_leveldb(dir, &s, err, sizeof(err)), 0);
	expect_stored(s, NULL, "k", "v");
	grove_store_close(s);
	grove_test_storage_rmdir(dir);
}

static void test_leveldb_locked(void **state)
{
	(void)state;
	char err[512] = "";
	char *dir = grove_test_storage_tmpdir("locked");
	grove_store_t *s, *s2 = NULL;
	assert_int_equal(grove_store_open_leveldb(dir, &s, err, sizeof(err)), 0);
	assert_int_equal(grove_store_open_leveldb(dir, &s2, err, sizeof(err)), GROVE_ELOCKED);
	assert_null(s2);
	printf("locked: %s\n", err);
	assert_non_null(strstr(err, dir));
	assert_non_null(strstr(err, "locked"));
	grove_store_close(s);
	grove_test_storage_rmdir(dir);
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_leveldb_corrupt(void **state)
{
	(void)state;
	char err[512] = "";
	char *dir = grove_test_storage_tmpdir("corrupt");
	grove_store_t *s = NULL;
	assert_int_equal(grove_store_open_leveldb(dir, &s, err, sizeof(err)), 0);
	assert_int_equal(grove_store_put(s, "k", 1, "v", 1, true), 0);
	grove_store_close(s);
	s = NULL;
	write_file(dir, "CURRENT", "garbage-without-newline");
	assert_int_equal(grove_store_open_leveldb(dir, &s, err, sizeof(err)), GROVE_ECORRUPT);
	assert_null(s);
	printf("corrupt: %s\n", err);
	assert_non_null(strstr(err, dir));
	assert_non_null(strstr(err, "corrupt"));
	grove_test_storage_rmdir(dir);
}

static void test_leveldb_not_a_database(void **state)
{
	(void)state;
	char err[512] = "";
	char *dir = grove_test_storage_tmpdir("notdb");
	write_file(dir, "precious.txt", "user data");
	grove_store_t *s = NULL;
	assert_int_equal(grove_store_open_leveldb(dir, &s, err, sizeof(err)), GROVE_EINVAL);
	assert_null(s);
	printf("not a db: %s\n", err);
	assert_non_null(strstr(err, dir));
	char path[512];
	snprintf(path, sizeof(path), "%s/CURRENT", dir);
	assert_int_not_equal(access(path, F_OK), 0); /* nothing created over it */
	snprintf(path, sizeof(path), "%s/precious.txt", dir);
	assert_int_equal(grove_store_open_leveldb(path, &s, err, sizeof(err)), GROVE_EINVAL);
	assert_non_null(strstr(err, "not a directory"));
	grove_test_storage_rmdir(dir);
}

/* Opening a directory we may not enter fails with GROVE_EPERM naming it.
 * As root (mode bits do not bind root) the open runs in a child that
 * dropped to uid/gid 65534 first. */
static int open_expect_eperm(const char *dir)
{
	char err[512] = "";
	grove_store_t *s = NULL;
	int rc = grove_store_open_leveldb(dir, &s, err, sizeof(err));
	printf("permission: %s\n", err);
	return rc == GROVE_EPERM && s == NULL && strstr(err, dir) && strstr(err, "permission");
}

static void test_leveldb_permission(void **state)
{
	(void)state;
	char err[512] = "";
	char *dir = grove_test_storage_tmpdir("perm");
	grove_store_t *s = NULL;
	assert_int_equal(grove_store_open_leveldb(dir, &s, err, sizeof(err)), 0);
	grove_store_close(s);
	assert_int_equal(chmod(dir, 0), 0);
	if (geteuid() != 0) {
		assert_true(open_expect_eperm(dir));
	} else {
		fflush(stdout);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			if (setgid(65534) != 0 || setuid(65534) != 0)
				_exit(2);
			_exit(open_expect_eperm(dir) ? 0 : 1);
		}
		int status = 0;
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	chmod(dir, 0700);
	grove_test_storage_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		GROVE_TEST_BOTH_BACKENDS(test_point_ops),
		GROVE_TEST_BOTH_BACKENDS(test_batch_last_op_wins),
		GROVE_TEST_BOTH_BACKENDS(test_write_list_as_concatenation),
		GROVE_TEST_BOTH_BACKENDS(test_write_list_last_op_per_key),
		GROVE_TEST_BOTH_BACKENDS(test_prefix_and_range_scan),
		GROVE_TEST_BOTH_BACKENDS(test_order_is_bytewise),
		GROVE_TEST_BOTH_BACKENDS(test_snapshot_isolation),
		GROVE_TEST_BOTH_BACKENDS(test_concurrent_batches_atomic),
		cmocka_unit_test(test_batch_too_big),
		cmocka_unit_test(test_leveldb_reopen_keeps_data),
		cmocka_unit_test(test_leveldb_locked),
		cmocka_unit_test(test_leveldb_corrupt),
		cmocka_unit_test(test_leveldb_not_a_database),
		cmocka_unit_test(test_leveldb_permission),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
