/*
 * store_leveldb.c - the LevelDB backend of store.h, through leveldb/c.h.
 *
 * Opening never starts empty over existing data: create_if_missing is set
 * only when the directory is missing (we create it, mode 0700) or empty; a
 * non-empty directory must already hold a database, opened with paranoid
 * checks.  LevelDB's error strings are classified into Grove codes (locked,
 * corrupt, permission, not a database) and reported with the directory.
 *
 * Snapshots are LevelDB snapshots; iterators created without one use
 * LevelDB's implicit iterator snapshot.  A batch becomes one leveldb write
 * batch, taken from a few spare ones kept cleared for reuse (LevelDB's own
 * leveldb_put builds and frees a batch per call); sync maps to
 * WriteOptions.sync.  A bloom filter (10 bits per key)
 * makes point reads of absent keys cheap.
 */
#include <dirent.h>
#include <errno.h>
#include <leveldb/c.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "storage/store.h"

#define LDB_BLOOM_BITS_PER_KEY 10
#define LDB_CACHE_BYTES (32u * 1024 * 1024)
#define LDB_WRITE_BUFFER_BYTES (16u * 1024 * 1024)
#define LDB_SPARE_BATCHES 8 /* LevelDB write batches kept for reuse */
/* Batches that held more than this are destroyed after use, not kept
 * (a cleared batch keeps its capacity). */
#define LDB_SPARE_BATCH_KEEP_BYTES (64u * 1024)

typedef struct ldb_store {
	grove_store_t base;
	leveldb_t *db;
	leveldb_options_t *opts;
	leveldb_filterpolicy_t *bloom;
	leveldb_cache_t *cache;
	leveldb_readoptions_t *ropts;
	leveldb_writeoptions_t *wopts_sync;
	leveldb_writeoptions_t *wopts_nosync;
	/* Cleared write batches for reuse: a write takes one (or creates one)
	 * and puts it back, so that steady writing allocates nothing. */
	_Atomic(leveldb_writebatch_t *) spare[LDB_SPARE_BATCHES];
} ldb_store_t;

typedef struct ldb_iter {
	grove_iter_t base;
	leveldb_iterator_t *it;
	leveldb_readoptions_t *ropts;
} ldb_iter_t;

static const grove_store_ops_t ldb_ops;

/* Maps a LevelDB status message to a Grove code. */
static int ldb_classify(const char *msg)
{
	if (strstr(msg, "Corruption"))
		return GROVE_ECORRUPT;
	if (strstr(msg, "Permission denied"))
		return GROVE_EPERM;
	if (strstr(msg, "lock") || strstr(msg, "Resource temporarily unavailable"))
		return GROVE_ELOCKED;
	if (strstr(msg, "create_if_missing is false"))
		return GROVE_EINVAL;
	return GROVE_EIO;
}

static const char *ldb_cause(int code)
{
	switch (code) {
	case GROVE_ELOCKED:
		return "database is locked (in use by another process or handle)";
	case GROVE_ECORRUPT:
		return "database is corrupt";
	case GROVE_EPERM:
		return "permission denied";
	case GROVE_EINVAL:
		return "directory is not empty and holds no LevelDB database";
	default:
		return "I/O error";
	}
}

static int open_fail(char *err, size_t err_len, const char *dir, int code, const char *detail)
{
	if (err && err_len)
		snprintf(err, err_len, "cannot open LevelDB store in '%s': %s%s%s", dir,
			 ldb_cause(code), detail ? ": " : "", detail ? detail : "");
	return code;
}

/* Decides whether LevelDB may create a database in dir: 1 when dir was
 * missing (created here) or is empty, 0 when it has entries, or a code. */
static int dir_prepare(const char *dir, char *err, size_t err_len)
{
	struct stat st;
	if (stat(dir, &st) != 0) {
		if (errno != ENOENT)
			return open_fail(err, err_len, dir, errno == EACCES ? GROVE_EPERM : GROVE_EIO,
					 strerror(errno));
		if (mkdir(dir, 0700) != 0)
			return open_fail(err, err_len, dir, errno == EACCES ? GROVE_EPERM : GROVE_EIO,
					 strerror(errno));
		return 1;
	}
	if (!S_ISDIR(st.st_mode))
		return open_fail(err, err_len, dir, GROVE_EINVAL, "not a directory");
	if (access(dir, R_OK | W_OK | X_OK) != 0)
		return open_fail(err, err_len, dir, GROVE_EPERM, strerror(errno));
	DIR *d = opendir(dir);
	if (!d)
		return open_fail(err, err_len, dir, errno == EACCES ? GROVE_EPERM : GROVE_EIO,
				 strerror(errno));
	int empty = 1;
	struct dirent *e;
	while (empty && (e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			empty = 0;
	closedir(d);
	return empty;
}

static void ldb_free_parts(ldb_store_t *l)
{
	if (l->db)
		leveldb_close(l->db);
	if (l->opts)
		leveldb_options_destroy(l->opts);
	if (l->bloom)
		leveldb_filterpolicy_destroy(l->bloom);
	if (l->cache)
		leveldb_cache_destroy(l->cache);
	if (l->ropts)
		leveldb_readoptions_destroy(l->ropts);
	if (l->wopts_sync)
		leveldb_writeoptions_destroy(l->wopts_sync);
	if (l->wopts_nosync)
		leveldb_writeoptions_destroy(l->wopts_nosync);
	for (int i = 0; i < LDB_SPARE_BATCHES; i++)
		if (l->spare[i])
			leveldb_writebatch_destroy(l->spare[i]);
	grove_free(l);
}

static void ldb_set_options(ldb_store_t *l, int create)
{
	l->bloom = leveldb_filterpolicy_create_bloom(LDB_BLOOM_BITS_PER_KEY);
	l->cache = leveldb_cache_create_lru(LDB_CACHE_BYTES);
	leveldb_options_set_create_if_missing(l->opts, (uint8_t)create);
	leveldb_options_set_paranoid_checks(l->opts, 1);
	leveldb_options_set_filter_policy(l->opts, l->bloom);
	leveldb_options_set_cache(l->opts, l->cache);
	leveldb_options_set_write_buffer_size(l->opts, LDB_WRITE_BUFFER_BYTES);
	leveldb_writeoptions_set_sync(l->wopts_sync, 1);
	leveldb_writeoptions_set_sync(l->wopts_nosync, 0);
	leveldb_readoptions_set_verify_checksums(l->ropts, 1);
}

int grove_store_open_leveldb(const char *dir, grove_store_t **out, char *err, size_t err_len)
{
	int create = dir_prepare(dir, err, err_len);
	if (create < 0)
		return create;
	ldb_store_t *l = grove_calloc(1, sizeof(*l));
	if (!l)
		return open_fail(err, err_len, dir, GROVE_ENOMEM, NULL);
	l->opts = leveldb_options_create();
	l->ropts = leveldb_readoptions_create();
	l->wopts_sync = leveldb_writeoptions_create();
	l->wopts_nosync = leveldb_writeoptions_create();
	ldb_set_options(l, create);
	char *lerr = NULL;
	l->db = leveldb_open(l->opts, dir, &lerr);
	if (lerr) {
		int code = open_fail(err, err_len, dir, ldb_classify(lerr), lerr);
		leveldb_free(lerr);
		l->db = NULL;
		ldb_free_parts(l);
		return code;
	}
	l->base.ops = &ldb_ops;
	*out = &l->base;
	return 0;
}

static void ldb_close(grove_store_t *s)
{
	ldb_free_parts((ldb_store_t *)s);
}

static int ldb_get(grove_store_t *s, const grove_snapshot_t *snap, const void *key, size_t klen,
		   uint8_t **val, size_t *vlen)
{
	ldb_store_t *l = (ldb_store_t *)s;
	leveldb_readoptions_t *ro = l->ropts;
	if (snap) {
		ro = leveldb_readoptions_create();
		leveldb_readoptions_set_verify_checksums(ro, 1);
		leveldb_readoptions_set_snapshot(ro, (const leveldb_snapshot_t *)snap);
	}
	char *lerr = NULL;
	size_t len = 0;
	char *v = leveldb_get(l->db, ro, key, klen, &len, &lerr);
	if (snap)
		leveldb_readoptions_destroy(ro);
	if (lerr) {
		int code = ldb_classify(lerr);
		leveldb_free(lerr);
		return code == GROVE_EINVAL ? GROVE_EIO : code;
	}
	if (!v)
		return GROVE_ENOTFOUND;
	uint8_t *copy = grove_malloc(len);
	if (!copy) {
		leveldb_free(v);
		return GROVE_ENOMEM;
	}
	memcpy(copy, v, len);
	leveldb_free(v);
	*val = copy;
	*vlen = len;
	return 0;
}

static void add_to_wb(void *ctx, int op, const uint8_t *key, size_t klen, const uint8_t *val,
		      size_t vlen)
{
	leveldb_writebatch_t *wb = ctx;
	if (op == GROVE_BATCH_PUT)
		leveldb_writebatch_put(wb, (const char *)key, klen, (const char *)val, vlen);
	else
		leveldb_writebatch_delete(wb, (const char *)key, klen);
}

/* A cleared write batch: a spare one if any is free, else a new one. */
static leveldb_writebatch_t *wb_take(ldb_store_t *l)
{
	for (int i = 0; i < LDB_SPARE_BATCHES; i++) {
		leveldb_writebatch_t *wb = atomic_exchange(&l->spare[i], NULL);
		if (wb)
			return wb;
	}
	return leveldb_writebatch_create();
}

/* Keeps wb (cleared) for reuse in a free spare slot, or destroys it. */
static void wb_give(ldb_store_t *l, leveldb_writebatch_t *wb, size_t bytes)
{
	leveldb_writebatch_clear(wb);
	for (int i = 0; i < LDB_SPARE_BATCHES && bytes <= LDB_SPARE_BATCH_KEEP_BYTES; i++) {
		leveldb_writebatch_t *none = NULL;
		if (atomic_compare_exchange_strong(&l->spare[i], &none, wb))
			return;
	}
	leveldb_writebatch_destroy(wb);
}

/* One LevelDB write batch per write (a reused one: no allocation). */
static int ldb_write(grove_store_t *s, const grove_batch_t *b, bool sync)
{
	ldb_store_t *l = (ldb_store_t *)s;
	leveldb_writebatch_t *wb = wb_take(l);
	char *lerr = NULL;
	grove_batch_iterate(b, add_to_wb, wb);
	leveldb_write(l->db, sync ? l->wopts_sync : l->wopts_nosync, wb, &lerr);
	wb_give(l, wb, b->len_bytes);
	if (lerr) {
		int code = ldb_classify(lerr);
		leveldb_free(lerr);
		return code == GROVE_EINVAL ? GROVE_EIO : code;
	}
	return 0;
}

static int ldb_snapshot_create(grove_store_t *s, grove_snapshot_t **out)
{
	ldb_store_t *l = (ldb_store_t *)s;
	*out = (grove_snapshot_t *)leveldb_create_snapshot(l->db);
	return 0;
}

static void ldb_snapshot_release(grove_store_t *s, grove_snapshot_t *snap)
{
	ldb_store_t *l = (ldb_store_t *)s;
	leveldb_release_snapshot(l->db, (const leveldb_snapshot_t *)snap);
}

static int ldb_iter_open(grove_store_t *s, const grove_snapshot_t *snap, grove_iter_t **out,
			 bool fill_cache)
{
	ldb_store_t *l = (ldb_store_t *)s;
	ldb_iter_t *it = grove_calloc(1, sizeof(*it));
	if (!it)
		return GROVE_ENOMEM;
	it->ropts = leveldb_readoptions_create();
	leveldb_readoptions_set_verify_checksums(it->ropts, 1);
	leveldb_readoptions_set_fill_cache(it->ropts, fill_cache); /* scans: do not evict hot blocks */
	if (snap)
		leveldb_readoptions_set_snapshot(it->ropts, (const leveldb_snapshot_t *)snap);
	it->it = leveldb_create_iterator(l->db, it->ropts);
	it->base.ops = &ldb_ops;
	*out = &it->base;
	return 0;
}

static int ldb_iter_create(grove_store_t *s, const grove_snapshot_t *snap, grove_iter_t **out)
{
	return ldb_iter_open(s, snap, out, false);
}

static int ldb_iter_create_hot(grove_store_t *s, const grove_snapshot_t *snap, grove_iter_t **out)
{
	return ldb_iter_open(s, snap, out, true);
}

static void ldb_iter_destroy(grove_iter_t *gi)
{
	ldb_iter_t *it = (ldb_iter_t *)gi;
	leveldb_iter_destroy(it->it);
	leveldb_readoptions_destroy(it->ropts);
	grove_free(it);
}

static void ldb_iter_seek(grove_iter_t *gi, const void *key, size_t klen)
{
	leveldb_iter_seek(((ldb_iter_t *)gi)->it, key, klen);
}

static bool ldb_iter_valid(const grove_iter_t *gi)
{
	return leveldb_iter_valid(((const ldb_iter_t *)gi)->it) != 0;
}

static void ldb_iter_next(grove_iter_t *gi)
{
	leveldb_iter_next(((ldb_iter_t *)gi)->it);
}

static void ldb_iter_seek_before(grove_iter_t *gi, const void *key, size_t klen)
{
	leveldb_iterator_t *it = ((ldb_iter_t *)gi)->it;
	if (klen == 0) {
		leveldb_iter_seek_to_last(it);
		return;
	}
	leveldb_iter_seek(it, key, klen);
	if (leveldb_iter_valid(it))
		leveldb_iter_prev(it);
	else
		leveldb_iter_seek_to_last(it);
}

static void ldb_iter_prev(grove_iter_t *gi)
{
	leveldb_iter_prev(((ldb_iter_t *)gi)->it);
}

static const uint8_t *ldb_iter_key(const grove_iter_t *gi, size_t *klen)
{
	return (const uint8_t *)leveldb_iter_key(((const ldb_iter_t *)gi)->it, klen);
}

static const uint8_t *ldb_iter_value(const grove_iter_t *gi, size_t *vlen)
{
	return (const uint8_t *)leveldb_iter_value(((const ldb_iter_t *)gi)->it, vlen);
}

static int ldb_iter_status(const grove_iter_t *gi)
{
	char *lerr = NULL;
	leveldb_iter_get_error(((const ldb_iter_t *)gi)->it, &lerr);
	if (!lerr)
		return 0;
	int code = ldb_classify(lerr);
	leveldb_free(lerr);
	return code == GROVE_EINVAL ? GROVE_EIO : code;
}

static const grove_store_ops_t ldb_ops = {
	.name = "leveldb",
	.get = ldb_get,
	.write = ldb_write,
	.snapshot_create = ldb_snapshot_create,
	.snapshot_release = ldb_snapshot_release,
	.iter_create = ldb_iter_create,
	.iter_create_hot = ldb_iter_create_hot,
	.iter_destroy = ldb_iter_destroy,
	.iter_seek = ldb_iter_seek,
	.iter_valid = ldb_iter_valid,
	.iter_next = ldb_iter_next,
	.iter_seek_before = ldb_iter_seek_before,
	.iter_prev = ldb_iter_prev,
	.iter_key = ldb_iter_key,
	.iter_value = ldb_iter_value,
	.iter_status = ldb_iter_status,
	.close = ldb_close,
};
