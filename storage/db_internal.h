/*
 * db_internal.h - the grove_db_t struct and the helpers shared by the files
 * that implement db.h: db.c (open/close, HLC, metadata, statistics),
 * db_ops.c (typed operations, merge, reads, scans) and db_index.c (digest
 * index: clean-shutdown record, rebuild, tree queries).
 *
 * Record layout in the store (doc/storage_format.md has the full tables):
 *   'u' key            -> canonical value encoding, type byte   user state
 *   'd' seg(2 BE) key  -> (empty)                              segment index
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
#define GROVE_DB_CACHE_REC_MAX 1024    /* larger records are not cached */
#define GROVE_DB_CACHE_SLOTS (1u << 18) /* record cache entries (a multiple of STRIPES) */
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

/* The record cache: GROVE_DB_CACHE_SLOTS direct-mapped entries, each
 * holding the last record committed under a key hashing to it
 * (write-through), guarded by the stripe lock of its keys (a slot's low
 * bits are the stripe).  Saves the store read of a read-modify-write on
 * recently written keys.  At most SLOTS * (REC_MAX + key) bytes. */
typedef struct grove_db_cached {
	uint8_t *key; /* NULL: empty entry */
	size_t klen;
	uint8_t *rec;
	size_t rec_len;
	uint8_t item[GROVE_DIGEST_BYTES]; /* tree item hash of (key, rec) */
} grove_db_cached_t;

struct grove_db {
	grove_store_t *store;
	char node_id[GROVE_NODE_ID_MAX + 1];
	grove_durability_t durability;
	grove_commit_t commit;
	grove_tree_t tree;
	pthread_mutex_t stripes[GROVE_DB_STRIPES];
	grove_db_cached_t *cache; /* GROVE_DB_CACHE_SLOTS entries */
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
	uint32_t cache_slot;
	uint8_t urec[1 + GROVE_KEY_MAX];     /* 'u' key */
	uint8_t drec[1 + 2 + GROVE_KEY_MAX]; /* 'd' seg key */
} grove_db_key_t;

/* A key's state during one read-modify-write (db_state.c).  Caller holds
 * the key's stripe lock from load to free. */
typedef struct grove_db_state {
	uint8_t *rec; /* 'u' record: type byte + encoding; NULL if never written */
	size_t rec_len;
	bool borrowed; /* rec belongs to the cache entry */
	bool have_item;
	uint8_t item[GROVE_DIGEST_BYTES]; /* tree item of rec, when have_item */
	grove_value_t *v;
} grove_db_state_t;

int grove_db__state_load(grove_db_t *db, const grove_db_key_t *k,
			 grove_db_state_t *st) GROVE_MUST_CHECK;
/* Writes st->v when its encoding differs from the stored one (*wrote). */
int grove_db__state_commit(grove_db_t *db, const grove_db_key_t *k, grove_db_state_t *st,
			   bool *wrote) GROVE_MUST_CHECK;
void grove_db__state_free(grove_db_state_t *st);
int grove_db__cache_init(grove_db_t *db) GROVE_MUST_CHECK;
void grove_db__cache_close(grove_db_t *db);
/* A 'u' record is the canonical encoding followed by one byte, the visible
 * type (so scans and counts need no decoding).  Callers check rec_len >= 1. */
static inline grove_type_t grove_db__rec_type(const uint8_t *rec, size_t rec_len)
{
	return (grove_type_t)rec[rec_len - 1];
}
/* The digest of a stored 'u' record's encoding, and its tree item. */
void grove_db__rec_digest(const uint8_t *rec, size_t rec_len, uint8_t out[GROVE_DIGEST_BYTES]);
void grove_db__rec_item(const grove_db_key_t *k, const uint8_t *rec, size_t rec_len,
			uint8_t out[GROVE_DIGEST_BYTES]);

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
