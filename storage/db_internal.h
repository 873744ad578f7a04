/*
 * db_internal.h - the grove_db_t struct and the helpers shared by the files
 * that implement db.h: db.c (open/close, HLC, metadata, statistics),
 * db_ops.c (typed operations, merge, reads, scans) and db_index.c (digest
 * index: clean-shutdown record, rebuild, tree queries).
 *
 * Record layout in the store (doc/storage_format.md has the full tables):
 *   'u' key            -> type byte, canonical value encoding   user state
 *   'd' seg(2 BE) key  -> 16-byte value digest                 digest index
 *   'm' name           -> bytes                                grove_db_meta_*
 *   's' name           -> bytes                                db-owned system
 * Every user key lives under 'u', so no user key can collide with an
 * internal record and user scans (prefix 'u') never see internal ones.
 */
#ifndef GROVE_DB_INTERNAL_H
#define GROVE_DB_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "storage/commit.h"
#include "storage/db.h"
#include "storage/store.h"
#include "storage/tree.h"

#define GROVE_DB_PFX_USER 'u'
#define GROVE_DB_PFX_DIGEST 'd'
#define GROVE_DB_PFX_META 'm'
#define GROVE_DB_PFX_SYS 's'

#define GROVE_DB_STRIPES 256           /* key locks; a key's is hash-chosen */
#define GROVE_DB_META_NAME_MAX 255
#define GROVE_DB_FORMAT_VERSION 1
/* How far ahead of the clock the persisted HLC ceiling is reserved, as a
 * fraction of the max offset (so a restart never issues timestamps peers
 * would reject). */
#define GROVE_DB_HLC_RESERVE_DIVISOR 4

/* System record names (under 's'). */
#define GROVE_DB_SYS_FORMAT "format"   /* u32 LE format version */
#define GROVE_DB_SYS_HLC "hlc"         /* u64 LE HLC ceiling */
#define GROVE_DB_SYS_CLEAN "clean"     /* clean-shutdown digest tree record */

struct grove_db {
	grove_store_t *store;
	char node_id[GROVE_NODE_ID_MAX + 1];
	grove_durability_t durability;
	grove_commit_t commit;
	grove_tree_t tree;
	pthread_mutex_t stripes[GROVE_DB_STRIPES];
	bool stripes_inited;

	pthread_mutex_t hlc_mu; /* guards hlc and hlc_ceiling */
	grove_hlc_t hlc;
	uint64_t hlc_ceiling;   /* persisted: no issued timestamp reaches it */
	uint64_t hlc_reserve_ms;

	pthread_mutex_t hook_mu;
	grove_db_change_fn hook;
	void *hook_ctx;

	atomic_uint_fast64_t live_keys;
	atomic_uint_fast64_t writes;
	atomic_uint_fast64_t merges_changed;
	atomic_uint_fast64_t merges_unchanged;
	atomic_uint_fast64_t merges_rejected;
	atomic_uint_fast64_t index_rebuilds; /* 0 or 1 per open: for tests, INFO */
};

/* A user key prepared for one operation: its record keys and placement. */
typedef struct grove_db_key {
	const uint8_t *key;
	size_t klen;
	uint32_t segment;
	uint32_t stripe;
	uint8_t urec[1 + GROVE_KEY_MAX];     /* 'u' key */
	uint8_t drec[1 + 2 + GROVE_KEY_MAX]; /* 'd' seg key */
} grove_db_key_t;

int grove_db__key_prepare(grove_db_key_t *k, const void *key, size_t klen) GROVE_MUST_CHECK;
size_t grove_db__drec_len(const grove_db_key_t *k);

/* Builds a system/meta record key ("s"/"m" + name) into out (caller-sized
 * 1 + GROVE_DB_META_NAME_MAX); returns its length or a negative code. */
int grove_db__name_key(char pfx, const char *name, uint8_t *out) GROVE_MUST_CHECK;

/* HLC under hlc_mu: a local timestamp after advancing past state_max_ts;
 * observing remote state (GROVE_ECLOCK_OFFSET when too far ahead).  Both
 * persist a new ceiling first when the clock reaches the old one. */
int grove_db__hlc_local(grove_db_t *db, uint64_t state_max_ts, uint64_t *ts) GROVE_MUST_CHECK;
int grove_db__hlc_observe(grove_db_t *db, uint64_t remote_max_ts) GROVE_MUST_CHECK;

/* Digest index (db_index.c). */
int grove_db__index_open(grove_db_t *db) GROVE_MUST_CHECK;  /* load or rebuild */
void grove_db__index_close(grove_db_t *db); /* writes the clean-shutdown record */
int grove_db__index_rebuild(grove_db_t *db) GROVE_MUST_CHECK;

#endif
