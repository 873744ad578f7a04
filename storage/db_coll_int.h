/*
 * db_coll_int.h - the pieces of a collection write (db_coll.c) that the
 * per-type files built on it use: db_list.c (lists).  A write takes the
 * key's stripe lock, loads the key (grove_db__coll_load: head, metadata),
 * loads and stores element records (grove_db__elem_load/_store, which keep
 * the live count and accumulator), and commits one batch
 * (grove_db__coll_commit), then frees (grove_db__coll_free) after unlocking.
 * The functions are thin exported forms of db_coll.c's own (its last
 * section).  Formats: doc/storage_format.md.
 */
#ifndef GROVE_DB_COLL_INT_H
#define GROVE_DB_COLL_INT_H

#include "crdt/coll.h"
#include "storage/db_cloud_int.h"
#include "storage/db_int.h"

/* An element record key: 'e' klen(2 BE) K kind elem. */
#define ELEM_REC_MAX (1 + 2 + GROVE_KEY_MAX + 1 + GROVE_ELEM_MAX)
/* Element kinds are 1 .. GROVE_DB_KIND_LAST (crdt/coll.h). */
#define GROVE_DB_KIND_LAST GROVE_ELEM_LIST

/* An element's item name, record key and index record key. */
typedef struct grove_db_ename {
	int kind;
	const uint8_t *elem;
	size_t elen;
	size_t nlen, rlen, dlen;
	uint32_t segment;
	uint8_t name[GROVE_ITEM_NAME_MAX];     /* kind klen K elem */
	uint8_t rkey[ELEM_REC_MAX];            /* 'e' klen K kind elem */
	uint8_t dkey[3 + GROVE_ITEM_NAME_MAX]; /* 'd' seg name */
} ename_t;

/* 128-bit sum of live element items. */
typedef struct acc {
	uint64_t lo, hi;
} acc_t;

/* A key's collection metadata ('k' record, local). */
typedef struct meta {
	uint64_t count[GROVE_DB_KIND_LAST + 1]; /* live elements by kind (index 0 unused) */
	acc_t acc;
	grove_ctx_t pctx; /* pending delete */
	/* Lists: no live element id is below bound[0] or above bound[1]
	 * (NULL: no bound), so a seek for an end skips the deletion markers
	 * of popped elements (LevelDB keeps them until a compaction). */
	uint8_t *bound[2];
	size_t bound_len[2];
} meta_t;

/* A writer's copy of a record (db_coll.c raw_get): in `in` when it fits,
 * so a metadata record (33 bytes and a pending-delete context) costs no
 * allocation per write; else malloc'd.  p NULL: none. */
typedef struct raw {
	uint8_t *p;
	size_t len;
	uint8_t in[96];
} raw_t;

/* A key during one write (under its stripe lock). */
typedef struct coll {
	grove_db_t *db;
	const grove_db_key_t *k;
	grove_db_state_t st;
	meta_t m;
	raw_t meta_raw; /* the metadata record read (coll_commit writes it only when it changed) */
	/* kept: the metadata came from the key's cache entry (meta_kept), not
	 * read: the store holds the record of kept_count elements of kind
	 * kept_kind and kept_acc (none when all are zero), meta_raw is empty */
	bool kept;
	uint8_t kept_kind;
	uint64_t kept_count;
	acc_t kept_acc;
	grove_batch_t extra;
	grove_db_item_delta_t deltas[GROVE_DB_ITEM_DELTAS_MAX];
	size_t nd;
	/* NULL: the deltas above; else a caller's array of dx_cap (a merge of
	 * several elements of the key, grove_db_items_merge) */
	grove_db_item_delta_t *dx;
	size_t dx_cap;
	bool purge; /* a purge must follow the write */
	bool loaded;
	bool zraw_has; /* sorted-set member: score of the loaded record as stored */
	/* the last elem_load with a raw_item kept every entry (none was
	 * covered by the pending delete): the loaded element encodes to the
	 * stored bytes (canonical codec), so its tree item is raw_item */
	bool raw_live;
	double zraw;
	grove_db_cloud_t cl; /* the context's cloud records (db_cloud.c) */
	bool pres_begun; /* grove_db__presence_begin ran for this write */
} coll_t;

void grove_db__ename_init(ename_t *en, const grove_db_key_t *k, int kind, const void *elem,
			  size_t elen);
void grove_db__meta_free(meta_t *m);
/* Sets list bound 0 (low) or 1 (high) to id (len 0: no bound). */
int grove_db__meta_bound_set(meta_t *m, int which, const uint8_t *id,
			     size_t len) GROVE_MUST_CHECK;
/* The record key prefix of a key's elements of one kind (0: every kind):
 * out holds at least 4 + GROVE_KEY_MAX bytes; returns the length. */
size_t grove_db__elem_prefix(const grove_db_key_t *k, int kind, uint8_t *out);

int grove_db__coll_load(coll_t *c, grove_db_t *db, const grove_db_key_t *k) GROVE_MUST_CHECK;
/* After the load, before any write: a key whose deadline has passed is
 * removed first (observed-remove, its TTL included), so the write starts a
 * new key; *expired when a visible key was removed (count it). */
int grove_db__expire_due(coll_t *c, bool *expired) GROVE_MUST_CHECK;
void grove_db__coll_free(coll_t *c);
/* The visible type of a key from its head and metadata. */
grove_type_t grove_db__type_of(const grove_value_t *v, const meta_t *m);
grove_ctx_t *grove_db__coll_ctx(coll_t *c); /* the key's causal context */
/* Element en: l filtered by the pending delete, *had a record exists,
 * raw_item (may be NULL) its tree item.  snap NULL: a writer under the
 * lock (pending records first). */
int grove_db__elem_load(coll_t *c, const grove_snapshot_t *snap, const ename_t *en,
			grove_elem_t *l, bool *had,
			uint8_t raw_item[GROVE_DIGEST_BYTES]) GROVE_MUST_CHECK;
/* Replaces element en (old_item: its live item, or NULL) by x (empty:
 * deleted).  At most GROVE_DB_ITEM_DELTAS_MAX per write. */
int grove_db__elem_store(coll_t *c, const ename_t *en, bool had, const uint8_t raw_item[16],
			 const uint8_t *old_item, const grove_elem_t *x) GROVE_MUST_CHECK;
int grove_db__elem_item_of(const ename_t *en, const grove_elem_t *x,
			   uint8_t out[GROVE_DIGEST_BYTES]) GROVE_MUST_CHECK;
/* The dot of a local write of an element whose entries' greatest
 * timestamp is elem_ts (grove_elem_max_ts; 0: none): this node's next,
 * added to the key's context; and, when ts is not NULL, its HLC timestamp
 * (after elem_ts and every timestamp in the key's head). */
int grove_db__elem_new_dot(coll_t *c, uint64_t elem_ts, uint64_t *ts,
			   grove_value__dot_t *d) GROVE_MUST_CHECK;
/* Key delete of every element the key's context covers. */
int grove_db__coll_delete_elements(coll_t *c) GROVE_MUST_CHECK;
int grove_db__coll_commit(coll_t *c, bool *wrote) GROVE_MUST_CHECK;

/* Reads: a snapshot with the type checked and the key's metadata (1: the
 * key reads as empty, GROVE_EWRONGTYPE). */
int grove_db__coll_read_begin(grove_db_t *db, const grove_db_key_t *k, grove_type_t want,
			      grove_snapshot_t **snap, meta_t *m) GROVE_MUST_CHECK;

/* Presence sets (db_presence.c; caller holds k's stripe lock).  ke: an
 * element's kind byte then the element, len bytes (the tail of its record
 * key).  begin: at a writer's first element lookup of the key, keeps its
 * set (or starts one: a walk of its records); note: before every put of
 * an element record; absent: true when the element certainly has no
 * record (else a store read of it follows, which counts towards the walk
 * of an untracked key); tracked: whether k has a set, *n its hashes. */
void grove_db__presence_begin(coll_t *c);
void grove_db__presence_note(grove_db_t *db, const grove_db_key_t *k, const uint8_t *ke,
			     size_t len);
bool grove_db__presence_absent(grove_db_t *db, const grove_db_key_t *k, const uint8_t *ke,
			       size_t len);
bool grove_db__presence_tracked(grove_db_t *db, const grove_db_key_t *k, size_t *n);

#endif
