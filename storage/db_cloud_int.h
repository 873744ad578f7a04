/*
 * db_cloud_int.h - the cloud of a collection key's causal context in
 * records of their own (storage/db_cloud.c; doc/storage_format.md, "Cloud
 * records").  The head keeps the version vector; the dots above it live in
 * 'g' records of 256-dot bitmaps, so a lookup or an insert costs a point
 * read or two whatever the cloud's size (issue 11: an element merge used
 * to decode, copy, compact and rewrite the whole cloud).
 *
 * ctx below is the head's context (its value's set component): its vv,
 * and a cloud only in a head written before the cloud had records (moved
 * to records by grove_db__cloud_migrate).  Callers hold the key's lock;
 * reads see the stripe's pending records (BATCH mode) and this write's own
 * changes, which grove_db__cloud_flush adds to the write's batch.
 *
 * A key without cloud records (every key on a replica that receives its
 * dots in order, and every key written only here) costs no read: the first
 * lookup of a key probes its record range once (one seek), and the answer
 * stays in db->cloud_known until a write adds a record or the slot goes to
 * another key.
 */
#ifndef GROVE_STORAGE_DB_CLOUD_INT_H
#define GROVE_STORAGE_DB_CLOUD_INT_H

#include "crdt/coll.h"
#include "storage/db_int.h"

#define GROVE_DB_CLOUD_BLOCK 256 /* dots per 'g' record */

typedef struct grove_db_cblk grove_db_cblk_t;

typedef struct grove_db_cloud {
	grove_db_t *db;
	const grove_db_key_t *k;
	grove_db_cblk_t *b; /* blocks read or changed, sorted by (node, block) */
	size_t n, cap;
	uint64_t top; /* this replica's greatest cloud counter (0: none) */
	bool top_read, top_dirty, top_had;
	/* known: whether the key has records is known (none: it has none, so
	 * that a lookup reads nothing); from db->cloud_known or a probe */
	bool known, none;
} grove_db_cloud_t;

void grove_db__cloud_init(grove_db_cloud_t *cl, grove_db_t *db, const grove_db_key_t *k);
/* After the write's commit, under the key lock: a cache entry that knows
 * nothing of the key's cloud records (just installed) takes what cl knew
 * (its own records written included). */
void grove_db__cloud_known_keep(const grove_db_cloud_t *cl, grove_db_cached_t *e);
void grove_db__cloud_free(grove_db_cloud_t *cl);
/* A head written with a cloud in it: the cloud moves to records. */
int grove_db__cloud_migrate(grove_db_cloud_t *cl, grove_ctx_t *ctx) GROVE_MUST_CHECK;
int grove_db__cloud_has(grove_db_cloud_t *cl, const grove_ctx_t *ctx, const grove_value__dot_t *d,
			bool *has) GROVE_MUST_CHECK;
/* Adds d (a dot at vv + 1 raises the vv over the run of cloud dots above). */
int grove_db__cloud_add(grove_db_cloud_t *cl, grove_ctx_t *ctx,
			const grove_value__dot_t *d) GROVE_MUST_CHECK;
/* vv[node] := max(vv[node], counter); the cloud dots it covers go. */
int grove_db__cloud_raise(grove_db_cloud_t *cl, grove_ctx_t *ctx, const char *node,
			  uint64_t counter) GROVE_MUST_CHECK;
/* ctx ∪= src (vv and cloud). */
int grove_db__cloud_union(grove_db_cloud_t *cl, grove_ctx_t *ctx,
			  const grove_ctx_t *src) GROVE_MUST_CHECK;
/* The next dot of node (above every dot of node the context holds). */
int grove_db__cloud_next_dot(grove_db_cloud_t *cl, const grove_ctx_t *ctx, const char *node,
			     grove_value__dot_t *d) GROVE_MUST_CHECK;
/* out := the whole context (ctx's vv and cloud, and the records'): O(cloud). */
int grove_db__cloud_load(grove_db_cloud_t *cl, const grove_ctx_t *ctx,
			 grove_ctx_t *out) GROVE_MUST_CHECK;
/* Adds the changed records to b. */
int grove_db__cloud_flush(grove_db_cloud_t *cl, grove_batch_t *b) GROVE_MUST_CHECK;
/* Reads from a snapshot, without the lock (materialized values): appends
 * the records' dots to ctx's cloud, kept sorted. */
int grove_db__cloud_read(grove_db_t *db, const grove_snapshot_t *snap, const grove_db_key_t *k,
			 grove_ctx_t *ctx) GROVE_MUST_CHECK;

#endif
