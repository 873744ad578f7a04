/*
 * db.c - grove_db_t lifecycle (open, format check, HLC floor, digest index
 * load, close), the HLC with its persisted ceiling, metadata records,
 * statistics and the change hook.  Typed operations are in db_ops.c, the
 * digest index in db_index.c; the record layout is in db_int.h.
 *
 * HLC persistence: the store holds a ceiling C such that no timestamp ever
 * issued or observed reaches C.  When the clock reaches C, a new ceiling
 * (physical time + max_offset/4) is written before the timestamp is used;
 * on open the HLC starts at C.  So a restart with a clock that went
 * backwards still issues larger timestamps, and only one small extra write
 * per reserve period is needed.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "storage/db_int.h"
#include "storage/le.h"

void grove_db_options_init(grove_db_options_t *opts)
{
	memset(opts, 0, sizeof(*opts));
	opts->node_id = "default";
	opts->clock = grove_clock_system_ms;
	opts->max_offset_ms = GROVE_HLC_MAX_OFFSET_MS_DEFAULT;
	opts->durability = GROVE_DURABILITY_NONE;
	opts->batch_window_us = 0;
	opts->elem_cache_bytes = GROVE_DB_ELEM_CACHE_BYTES_DEFAULT;
}

int grove_db__name_key(char pfx, const char *name, uint8_t *out)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > GROVE_DB_META_NAME_MAX)
		return GROVE_EINVAL;
	out[0] = (uint8_t)pfx;
	memcpy(out + 1, name, n);
	return (int)(n + 1);
}

static int sys_get(grove_db_t *db, const char *name, uint8_t **val, size_t *len)
{
	uint8_t k[1 + GROVE_DB_META_NAME_MAX];
	int klen = grove_db__name_key(GROVE_DB_PFX_SYS, name, k);
	GROVE_ASSERT(klen > 0);
	return grove_store_get(db->store, NULL, k, (size_t)klen, val, len);
}

static int sys_put(grove_db_t *db, const char *name, const void *val, size_t len)
{
	uint8_t k[1 + GROVE_DB_META_NAME_MAX];
	int klen = grove_db__name_key(GROVE_DB_PFX_SYS, name, k);
	GROVE_ASSERT(klen > 0);
	return grove_store_put(db->store, k, (size_t)klen, val, len,
			       db->durability != GROVE_DURABILITY_NONE);
}

/* --- HLC --- */

/* Persists a new ceiling when the clock reached the old one.  Caller holds
 * hlc_mu. */
static int hlc_reserve(grove_db_t *db)
{
	if (db->hlc.last < db->hlc_ceiling)
		return 0;
	uint64_t phys = grove_hlc_phys(db->hlc.last) + db->hlc_reserve_ms;
	if (phys > GROVE_HLC_PHYS_MAX)
		return GROVE_EOVERFLOW;
	uint64_t ceiling = grove_hlc_make(phys, 0);
	uint8_t buf[8];
	grove_le64_put(buf, ceiling);
	int rc = sys_put(db, GROVE_DB_SYS_HLC, buf, sizeof(buf));
	if (rc == 0)
		db->hlc_ceiling = ceiling;
	return rc;
}

int grove_db__hlc_local(grove_db_t *db, uint64_t state_max_ts, uint64_t *ts)
{
	pthread_mutex_lock(&db->hlc_mu);
	/* local state was issued or accepted here: never rejected, only passed */
	if (state_max_ts > db->hlc.last)
		db->hlc.last = state_max_ts;
	uint64_t t = grove_hlc_now(&db->hlc);
	int rc = hlc_reserve(db);
	pthread_mutex_unlock(&db->hlc_mu);
	if (rc == 0)
		*ts = t;
	return rc;
}

int grove_db__hlc_observe(grove_db_t *db, uint64_t remote_max_ts)
{
	pthread_mutex_lock(&db->hlc_mu);
	int rc = grove_hlc_update(&db->hlc, remote_max_ts);
	if (rc == 0)
		rc = hlc_reserve(db);
	pthread_mutex_unlock(&db->hlc_mu);
	return rc;
}

/* --- open / close --- */

static int open_fail(char *err, size_t err_len, const char *dir, int rc, const char *why)
{
	if (err && err_len)
		snprintf(err, err_len, "cannot open grove db in '%s': %s", dir ? dir : "(memory)",
			 why ? why : grove_strerror(rc));
	return rc;
}

static int first_record(grove_store_t *s)
{
	grove_iter_t *it;
	int rc = grove_iter_create(s, NULL, &it);
	if (rc)
		return rc;
	grove_iter_seek(it, "", 0);
	int any = grove_iter_valid(it);
	rc = grove_iter_status(it);
	grove_iter_destroy(it);
	return rc ? rc : any;
}

/* Checks (or, in a new store, writes) the format record. */
static int check_format(grove_db_t *db, const char *dir, char *err, size_t err_len)
{
	uint8_t *v = NULL;
	size_t len = 0;
	int rc = sys_get(db, GROVE_DB_SYS_FORMAT, &v, &len);
	if (rc == GROVE_ENOTFOUND) {
		int any = first_record(db->store);
		if (any < 0)
			return open_fail(err, err_len, dir, any, NULL);
		if (any)
			return open_fail(err, err_len, dir, GROVE_EINVAL,
					 "store holds data but no grove format record");
		uint8_t f[4] = { GROVE_DB_FORMAT_VERSION, 0, 0, 0 };
		rc = sys_put(db, GROVE_DB_SYS_FORMAT, f, sizeof(f));
		return rc ? open_fail(err, err_len, dir, rc, NULL) : 0;
	}
	if (rc)
		return open_fail(err, err_len, dir, rc, NULL);
	bool ok = len == 4 && v[0] == GROVE_DB_FORMAT_VERSION && !v[1] && !v[2] && !v[3];
	bool old = len == 4 && v[0] >= GROVE_DB_FORMAT_VERSION_OLDEST &&
		   v[0] < GROVE_DB_FORMAT_VERSION && !v[1] && !v[2] && !v[3];
	bool v1 = len == 4 && v[0] == 1 && !v[1] && !v[2] && !v[3];
	uint8_t vv[4] = {0};
	if (len == 4)
		memcpy(vv, v, 4);
	grove_free(v);
	if (v1)
		return open_fail(err, err_len, dir, GROVE_EVERSION,
				 "store format 1 (collections stored whole) is not readable by this "
				 "version; to migrate, move the directory aside and start the node "
				 "with an empty one: anti-entropy refills it from peers running this "
				 "version (or copy the data through a client: SMEMBERS/HGETALL and "
				 "SADD/HSET)");
	if (ok)
		return 0;
	if (old) { /* formats 2 to 5: no TTL to index (2, 3), no counter
		    * field (2..4); a format 2 head's cloud moves out at its next
		    * write; list elements' 'd' records at hash(name) (2..5): no
		    * clean record, so the index open below rebuilds them, and a
		    * crash before that ends rebuilds at the next open */
		uint8_t ck[1 + GROVE_DB_META_NAME_MAX];
		int cklen = grove_db__name_key(GROVE_DB_PFX_SYS, GROVE_DB_SYS_CLEAN, ck);
		GROVE_ASSERT(cklen > 0);
		rc = grove_store_delete(db->store, ck, (size_t)cklen, true);
		uint8_t f[4] = { GROVE_DB_FORMAT_VERSION, 0, 0, 0 };
		if (rc == 0)
			rc = sys_put(db, GROVE_DB_SYS_FORMAT, f, sizeof(f));
		return rc ? open_fail(err, err_len, dir, rc, NULL) : 0;
	}
	char why[320];
	if (len == 4 && grove_le32_get(vv) < GROVE_DB_FORMAT_VERSION)
		snprintf(why, sizeof(why), "unknown store format %u (this version reads formats %d to %d)",
			 (unsigned)grove_le32_get(vv), GROVE_DB_FORMAT_VERSION_OLDEST,
			 GROVE_DB_FORMAT_VERSION);
	else if (len == 4)
		snprintf(why, sizeof(why), "store format %u is newer than this version reads (format %d): "
					   "it was written by a later grove release; run that release (or a "
					   "later one) on it, or start this node on an empty directory and let "
					   "anti-entropy refill it from its peers",
			 (unsigned)grove_le32_get(vv), GROVE_DB_FORMAT_VERSION);
	else
		snprintf(why, sizeof(why), "the store's format record is damaged (%zu bytes, not 4)", len);
	return open_fail(err, err_len, dir, len == 4 ? GROVE_EVERSION : GROVE_ECORRUPT, why);
}

static int load_hlc(grove_db_t *db, const grove_db_options_t *o)
{
	uint8_t *v = NULL;
	size_t len = 0;
	uint64_t floor = 0;
	int rc = sys_get(db, GROVE_DB_SYS_HLC, &v, &len);
	if (rc == 0) {
		if (len != 8) {
			grove_free(v);
			return GROVE_ECORRUPT;
		}
		floor = grove_le64_get(v);
		grove_free(v);
	} else if (rc != GROVE_ENOTFOUND) {
		return rc;
	}
	grove_hlc_init(&db->hlc, o->clock, o->clock_ctx, o->max_offset_ms, floor);
	db->hlc_ceiling = floor;
	db->hlc_reserve_ms = o->max_offset_ms / GROVE_DB_HLC_RESERVE_DIVISOR;
	if (db->hlc_reserve_ms == 0)
		db->hlc_reserve_ms = 1;
	return 0;
}

static int db_init_locks(grove_db_t *db)
{
	pthread_mutex_init(&db->hlc_mu, NULL);
	pthread_mutex_init(&db->hook_mu, NULL);
	pthread_mutex_init(&db->defer_mu, NULL);
	pthread_mutex_init(&db->hint_mu, NULL);
	pthread_rwlockattr_t attr;
	pthread_rwlockattr_init(&attr);
	/* a waiting transaction stops new purge steps, so it cannot starve */
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	GROVE_ASSERT(pthread_rwlock_init(&db->txn_gate, &attr) == 0);
	pthread_rwlockattr_destroy(&attr);
	db->locks_inited = true;
	int rc = grove_tree_init(&db->tree);
	return rc ? rc : grove_db__cache_init(db);
}

static int db_check_options(const grove_db_options_t *o)
{
	size_t n = o->node_id ? strlen(o->node_id) : 0;
	if (n == 0 || n > GROVE_NODE_ID_MAX || !o->clock)
		return GROVE_EINVAL;
	if (o->durability != GROVE_DURABILITY_NONE && o->durability != GROVE_DURABILITY_BATCH &&
	    o->durability != GROVE_DURABILITY_ALWAYS)
		return GROVE_EINVAL;
	return 0;
}

static void db_free(grove_db_t *db)
{
	grove_db__purge_close(db);
	grove_commit_close(&db->commit);
	grove_store_close(db->store);
	grove_tree_close(&db->tree);
	grove_db__cache_close(db);
	grove_db__ename_spares_free(db);
	if (db->locks_inited) {
		pthread_mutex_destroy(&db->hlc_mu);
		pthread_mutex_destroy(&db->hook_mu);
		pthread_mutex_destroy(&db->defer_mu);
		pthread_mutex_destroy(&db->hint_mu);
		pthread_rwlock_destroy(&db->txn_gate);
	}
	grove_free(db->hints);
	grove_free(db);
}

int grove_db_open(const char *dir, const grove_db_options_t *opts, grove_db_t **out, char *err,
		  size_t err_len)
{
	grove_db_options_t defaults;
	if (!opts) {
		grove_db_options_init(&defaults);
		opts = &defaults;
	}
	int rc = db_check_options(opts);
	if (rc)
		return open_fail(err, err_len, dir, rc, "bad options (node id, clock, durability)");
	if (sodium_init() < 0)
		return open_fail(err, err_len, dir, GROVE_EIO, "libsodium failed to initialize");
	grove_db_t *db = grove_calloc(1, sizeof(*db));
	if (!db)
		return open_fail(err, err_len, dir, GROVE_ENOMEM, NULL);
	snprintf(db->node_id, sizeof(db->node_id), "%s", opts->node_id);
	db->clock = opts->clock;
	db->clock_ctx = opts->clock_ctx;
	db->durability = opts->durability;
	rc = db_init_locks(db);
	if (rc == 0)
		rc = dir ? grove_store_open_leveldb(dir, &db->store, err, err_len)
			 : grove_store_open_memory(&db->store);
	if (rc) {
		db_free(db);
		return dir ? rc : open_fail(err, err_len, dir, rc, NULL);
	}
	rc = grove_store_cache_enable(db->store, GROVE_DB_CACHED_PREFIXES, opts->elem_cache_bytes);
	if (rc) {
		db_free(db);
		return open_fail(err, err_len, dir, rc, NULL);
	}
	rc = check_format(db, dir, err, err_len);
	if (rc == 0 && (rc = load_hlc(db, opts)) != 0)
		open_fail(err, err_len, dir, rc, "bad HLC record");
	if (rc == 0 && (rc = grove_commit_init(&db->commit, db->store, opts->durability,
					       opts->batch_window_us)) != 0)
		open_fail(err, err_len, dir, rc, NULL);
	if (rc == 0 && (rc = grove_db__index_open(db)) != 0)
		open_fail(err, err_len, dir, rc, "cannot load or rebuild the digest index");
	if (rc == 0 && (rc = grove_db__expire_open(db)) != 0)
		open_fail(err, err_len, dir, rc, "cannot read the TTL index");
	if (rc == 0 && (rc = grove_db__purge_open(db, opts->purge_in_background)) != 0)
		open_fail(err, err_len, dir, rc, "cannot resume the purges of deleted keys");
	if (rc) {
		db_free(db);
		return rc;
	}
	*out = db;
	return 0;
}

void grove_db_close(grove_db_t *db)
{
	if (!db)
		return;
	grove_db__defer_close(db); /* deferred writes written and settled */
	grove_db__purge_close(db); /* no purge changes the tree while it is saved */
	/* after a failed group write the store may hold part of what the tree
	 * never saw (a log record written but not synced): no clean record,
	 * so the next open rebuilds the index from the data */
	if (!grove_commit_failed(&db->commit))
		grove_db__index_close(db);
	db_free(db);
}

const char *grove_db_node_id(const grove_db_t *db)
{
	return db->node_id;
}

grove_hlc_t *grove_db_hlc(grove_db_t *db)
{
	return &db->hlc;
}

/* --- metadata, statistics, hook --- */

int grove_db_meta_get(grove_db_t *db, const char *name, uint8_t **out, size_t *out_len)
{
	uint8_t k[1 + GROVE_DB_META_NAME_MAX];
	int klen = grove_db__name_key(GROVE_DB_PFX_META, name, k);
	if (klen < 0)
		return klen;
	return grove_store_get(db->store, NULL, k, (size_t)klen, out, out_len);
}

int grove_db_meta_put(grove_db_t *db, const char *name, const void *val, size_t len)
{
	uint8_t k[1 + GROVE_DB_META_NAME_MAX];
	int klen = grove_db__name_key(GROVE_DB_PFX_META, name, k);
	if (klen < 0)
		return klen;
	if (len > GROVE_VALUE_BYTES_MAX)
		return GROVE_ETOOBIG;
	grove_batch_t b;
	grove_batch_init(&b);
	int rc = grove_batch_put(&b, k, (size_t)klen, val, len);
	if (rc == 0)
		rc = grove_commit_write(&db->commit, &b);
	grove_batch_close(&b);
	return rc;
}

uint64_t grove_db_count(grove_db_t *db)
{
	return atomic_load(&db->live_keys);
}

void grove_db_stats(grove_db_t *db, grove_db_stats_t *out)
{
	memset(out, 0, sizeof(*out));
	out->keys = atomic_load(&db->live_keys);
	out->writes = atomic_load(&db->writes);
	out->merges_changed = atomic_load(&db->merges_changed);
	out->merges_unchanged = atomic_load(&db->merges_unchanged);
	out->merges_rejected = atomic_load(&db->merges_rejected);
	out->syncs = atomic_load(&db->commit.syncs);
	out->index_rebuilds = atomic_load(&db->index_rebuilds);
	out->items_rejected = atomic_load(&db->items_rejected);
	out->purged = atomic_load(&db->purged);
	out->presence_bytes = atomic_load(&db->pres_bytes);
	out->presence_skipped = atomic_load(&db->pres_skipped);
	out->presence_walks = atomic_load(&db->pres_scans);
	out->presence_drops = atomic_load(&db->pres_drops);
	out->zrank_cache_bytes = atomic_load(&db->zrcache_bytes);
	out->zrank_leaf_hits = atomic_load(&db->zleaf_hits);
	out->zrank_leaf_loads = atomic_load(&db->zleaf_loads);
	out->zrank_leaf_drops = atomic_load(&db->zleaf_drops);
	out->zrank_score_hits = atomic_load(&db->zhint_hits);
	out->zrank_passes = atomic_load(&db->zrank_passes);
	out->zrank_drops = atomic_load(&db->zrank_drops);
	grove_store_cache_stats_t cs;
	grove_store_cache_stats(db->store, &cs);
	out->elem_cache_bytes = cs.bytes;
	out->elem_cache_entries = cs.entries;
	out->elem_cache_hits = cs.hits;
	out->elem_cache_misses = cs.misses;
	out->elem_cache_evictions = cs.evictions;
	if (db->purge_inited) {
		pthread_mutex_lock(&db->purge_mu);
		out->purges_pending = db->npurge + (db->purge_busy ? 1 : 0);
		pthread_mutex_unlock(&db->purge_mu);
	}
	pthread_mutex_lock(&db->hlc_mu);
	out->hlc_last = db->hlc.last;
	pthread_mutex_unlock(&db->hlc_mu);
}

void grove_db_set_change_hook(grove_db_t *db, grove_db_change_fn fn, void *ctx)
{
	pthread_mutex_lock(&db->hook_mu);
	db->hook = fn;
	db->hook_ctx = ctx;
	pthread_mutex_unlock(&db->hook_mu);
}
