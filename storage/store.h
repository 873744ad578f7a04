/*
 * store.h - the ordered key-value store interface under db.c, and its two
 * backends: LevelDB (on disk) and memory (tests, embedded use).
 *
 * Conventions:
 *  1. A backend is a table of function pointers (grove_store_ops_t); callers
 *     use the grove_store_* wrappers below and never the table directly.
 *  2. Keys and values are binary-safe (pointer, length) pairs ordered
 *     bytewise (memcmp, shorter first on a common prefix), exactly as
 *     LevelDB's default comparator orders them, in both backends.
 *  3. Functions return 0 or a negative code from include/grove/error.h; out-parameters
 *     are untouched on failure.  grove_store_get returns a buffer allocated
 *     with grove_malloc (free with grove_free).
 *  4. A write batch applies atomically: readers see all of it or none of it.
 *     With sync = true it is on stable storage before grove_store_write
 *     returns (LevelDB: the log is fsync'd; memory: a no-op).
 *  5. Iterators and snapshots see the store as of their creation, whatever
 *     is written afterwards.  An iterator created with a snapshot sees that
 *     snapshot.  Release iterators before their snapshot, and both before
 *     grove_store_close.  Pointers from grove_iter_key/value stay valid until
 *     the iterator moves or is destroyed.
 *  6. All functions are thread-safe, except that one iterator must not be
 *     used by two threads at once.
 *  7. Transactions (store_txn.c): one thread at a time may stage batches
 *     instead of writing them; it reads its staged state, every other
 *     thread reads the backend, and the staged ops leave as one batch.
 */
#ifndef GROVE_STORE_H
#define GROVE_STORE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/bytes.h" /* grove_key_cmp: the store's key order */
#include "grove/error.h"

#define GROVE_STORE_KEY_BYTES_MAX (64u * 1024)           /* store-level keys */
#define GROVE_STORE_VALUE_BYTES_MAX (1024u * 1024 * 1024) /* one record */

typedef struct grove_store grove_store_t;
typedef struct grove_snapshot grove_snapshot_t;
typedef struct grove_iter grove_iter_t;

/* --- write batch: a caller-owned list of puts and deletes --- */
/* Ops are kept in one flat buffer [op:1][klen:4][key][vlen:4][value], so a
 * group commit can append many batches cheaply. */
typedef struct grove_batch {
	uint8_t *buf;
	size_t len_bytes;
	size_t cap_bytes;
	size_t count; /* number of ops */
} grove_batch_t;

enum { GROVE_BATCH_PUT = 1, GROVE_BATCH_DEL = 2 };

void grove_batch_init(grove_batch_t *b);
void grove_batch_close(grove_batch_t *b); /* safe on a zeroed struct */
void grove_batch_clear(grove_batch_t *b);
int grove_batch_put(grove_batch_t *b, const void *key, size_t klen, const void *val,
		    size_t vlen) GROVE_MUST_CHECK;
int grove_batch_delete(grove_batch_t *b, const void *key, size_t klen) GROVE_MUST_CHECK;
/* dst += every op of src, in order. */
int grove_batch_append(grove_batch_t *dst, const grove_batch_t *src) GROVE_MUST_CHECK;
/* Visits the ops in order; val is NULL (vlen 0) for a delete. */
typedef void (*grove_batch_fn)(void *ctx, int op, const uint8_t *key, size_t klen,
			       const uint8_t *val, size_t vlen);
void grove_batch_iterate(const grove_batch_t *b, grove_batch_fn fn, void *ctx);
/* The same for the first max ops only (all of them when fewer). */
void grove_batch_iterate_n(const grove_batch_t *b, size_t max, grove_batch_fn fn, void *ctx);
/* Whether a and b hold as many ops with the same keys in the same order
 * (values and op kinds aside): then writing b after a leaves nothing of a.
 * O(ops), no allocation. */
bool grove_batch_same_keys(const grove_batch_t *a, const grove_batch_t *b);
/* Visits the ops of bs[0..n) in order, except those a later op of the
 * same key in the list overrides (applying what is visited leaves the
 * same state as applying every op).  O(ops) with one allocation (a hash
 * table of the ops under a random seed, store_int.h's key hash);
 * GROVE_ENOMEM (nothing visited) when that fails. */
int grove_batch_list_iterate_last(const grove_batch_t *const *bs, size_t n, grove_batch_fn fn,
				  void *ctx) GROVE_MUST_CHECK;

/* --- the backend table --- */
typedef struct grove_store_ops {
	const char *name; /* "leveldb", "memory" */
	int (*get)(grove_store_t *s, const grove_snapshot_t *snap, const void *key, size_t klen,
		   uint8_t **val, size_t *vlen);
	int (*write)(grove_store_t *s, const grove_batch_t *b, bool sync);
	int (*snapshot_create)(grove_store_t *s, grove_snapshot_t **out);
	void (*snapshot_release)(grove_store_t *s, grove_snapshot_t *snap);
	int (*iter_create)(grove_store_t *s, const grove_snapshot_t *snap, grove_iter_t **out);
	/* the same, for short walks whose blocks are hot (NULL: iter_create) */
	int (*iter_create_hot)(grove_store_t *s, const grove_snapshot_t *snap, grove_iter_t **out);
	void (*iter_destroy)(grove_iter_t *it);
	void (*iter_seek)(grove_iter_t *it, const void *key, size_t klen);
	bool (*iter_valid)(const grove_iter_t *it);
	void (*iter_next)(grove_iter_t *it);
	void (*iter_seek_before)(grove_iter_t *it, const void *key, size_t klen);
	void (*iter_prev)(grove_iter_t *it);
	const uint8_t *(*iter_key)(const grove_iter_t *it, size_t *klen);
	const uint8_t *(*iter_value)(const grove_iter_t *it, size_t *vlen);
	int (*iter_status)(const grove_iter_t *it);
	void (*close)(grove_store_t *s);
} grove_store_ops_t;

/* Every backend's store, snapshot and iterator struct starts with these
 * (a backend allocates its store zeroed: no transaction open). */
struct grove_store {
	const grove_store_ops_t *ops;
	/* the open transaction's owner (a thread-local address of store_txn.c;
	 * NULL: none) and its state, which only the owner touches */
	_Atomic(const void *) txn_owner;
	struct grove_store_txn *txn;
	struct grove_store_cache *cache; /* the point cache (store_cache.c) or NULL */
};
struct grove_iter {
	const grove_store_ops_t *ops;
};

/* --- opening --- */
int grove_store_open_memory(grove_store_t **out) GROVE_MUST_CHECK;

/* Opens (creating only when dir is missing or empty) a LevelDB database.
 * A non-empty directory that holds no database, a database locked by
 * another process or handle, corruption (paranoid checks are on) and
 * permission problems fail with GROVE_EINVAL / GROVE_ELOCKED /
 * GROVE_ECORRUPT / GROVE_EPERM / GROVE_EIO, and err receives a message
 * naming dir and the cause.  Never starts empty over existing data. */
int grove_store_open_leveldb(const char *dir, grove_store_t **out, char *err,
			     size_t err_len) GROVE_MUST_CHECK;

void grove_store_close(grove_store_t *s); /* NULL is a no-op */
const char *grove_store_backend(const grove_store_t *s);

/* --- operations --- */
/* GROVE_ENOTFOUND when absent.  snap may be NULL (latest state). */
int grove_store_get(grove_store_t *s, const grove_snapshot_t *snap, const void *key,
		    size_t klen, uint8_t **val, size_t *vlen) GROVE_MUST_CHECK;
int grove_store_put(grove_store_t *s, const void *key, size_t klen, const void *val,
		    size_t vlen, bool sync) GROVE_MUST_CHECK;
int grove_store_delete(grove_store_t *s, const void *key, size_t klen, bool sync) GROVE_MUST_CHECK;
int grove_store_write(grove_store_t *s, const grove_batch_t *b, bool sync) GROVE_MUST_CHECK;
/* Writes the batches bs[0..n) (n >= 1) as one atomic write, in order, as
 * grove_store_write of their concatenation would: one batch of the ops
 * that no later op of the same key in the list overrides (the resulting
 * state is the same; a key written by every batch reaches the backend
 * and the point cache once), or every op when memory for its table is
 * short.  One write for the test seam. */
int grove_store_write_list(grove_store_t *s, const grove_batch_t *const *bs, size_t n,
			   bool sync) GROVE_MUST_CHECK;
/* Test seam (like grove_alloc_fail_after): the nth grove_store_write from
 * now (1 = the next), on any store, fails with GROVE_EIO and writes
 * nothing; only that one.  n = 0 disarms. */
void grove_store_fail_write_after(long n);

int grove_snapshot_create(grove_store_t *s, grove_snapshot_t **out) GROVE_MUST_CHECK;
void grove_snapshot_release(grove_store_t *s, grove_snapshot_t *snap); /* NULL ok */

/* snap may be NULL: the iterator then takes its own implicit snapshot. */
int grove_iter_create(grove_store_t *s, const grove_snapshot_t *snap,
		      grove_iter_t **out) GROVE_MUST_CHECK;
/* An iterator for a short walk over hot records (the ends of a list):
 * LevelDB keeps the blocks it reads in its block cache, where a scan's
 * iterator does not (a long scan would evict the hot blocks). */
int grove_iter_create_hot(grove_store_t *s, const grove_snapshot_t *snap,
			  grove_iter_t **out) GROVE_MUST_CHECK;
void grove_iter_destroy(grove_iter_t *it); /* NULL is a no-op */
void grove_iter_seek(grove_iter_t *it, const void *key, size_t klen); /* first >= key */
bool grove_iter_valid(const grove_iter_t *it);
void grove_iter_next(grove_iter_t *it);
/* Backwards: to the last record < key (klen 0 with key NULL: the last
 * record), and to the record before the current one. */
void grove_iter_seek_before(grove_iter_t *it, const void *key, size_t klen);
void grove_iter_prev(grove_iter_t *it);
const uint8_t *grove_iter_key(const grove_iter_t *it, size_t *klen);
const uint8_t *grove_iter_value(const grove_iter_t *it, size_t *vlen);
int grove_iter_status(const grove_iter_t *it); /* 0, or the I/O error that ended it */

/* Visits, in order, every record with lo <= key < hi (hi NULL: no upper
 * bound) in snap (NULL: an implicit snapshot).  fn returns 0 to go on,
 * non-zero to stop (grove_store_scan then returns 0).  O(records visited). */
typedef int (*grove_store_record_fn)(void *ctx, const uint8_t *key, size_t klen,
				     const uint8_t *val, size_t vlen);
int grove_store_scan(grove_store_t *s, const grove_snapshot_t *snap, const void *lo,
		     size_t lo_len, const void *hi, size_t hi_len, grove_store_record_fn fn,
		     void *ctx) GROVE_MUST_CHECK;
/* Like grove_store_scan over every key that starts with prefix. */
int grove_store_scan_prefix(grove_store_t *s, const grove_snapshot_t *snap, const void *prefix,
			    size_t plen, grove_store_record_fn fn, void *ctx) GROVE_MUST_CHECK;

/* --- point cache (store_cache.c) ---
 * grove_store_cache_enable (once, before any other thread uses s; bytes_max
 * 0: no cache) keeps the latest committed record of keys that start with
 * one of the bytes of the string prefixes in memory, within bytes_max bytes (entries, keys,
 * values; records over GROVE_STORE_CACHE_REC_MAX bytes are not kept).
 * grove_store_read_latest(s, key, klen, fn, ctx) reads the record
 * grove_store_get(s, NULL, key, ...) would and returns fn(ctx, record)
 * (GROVE_ENOTFOUND when absent, fn not called): from the cache when it
 * holds the key (or knows it absent), else from the backend, keeping the
 * answer.  fn may run under a cache lock: it must not call the store, and
 * the record is valid during the call only.  Every write of
 * the store updates the cache in the order the backend applies it (a put
 * replaces the key's entry if there is one, a delete drops it; only reads
 * insert), so an answer is never
 * older than the last write that returned; a read racing a write answers
 * the old or the new record.  The owner of the store's transaction reads
 * through to its staged state.  Costs: a hit is one hash and one
 * mutex; a write of a cached key one hash and mutex
 * per op, and the writes of batches that hold such keys are serialized
 * (a write mutex held across the backend's write and the update).
 * Several reads of one state without a snapshot: seq =
 * grove_store_read_begin(s), the reads (grove_store_read_latest), then
 * grove_store_read_end(s, seq) is true when no write of a cached key began
 * or ran since begin: the records read are then those the last write left,
 * as one snapshot would have them.  False (always without a cache, for the
 * transaction's owner, or when a write ran): read again in a snapshot. */
#define GROVE_STORE_CACHE_SHARDS 64
#define GROVE_STORE_CACHE_WAYS 16
#define GROVE_STORE_CACHE_REC_MAX 1024 /* key + value bytes */
#define GROVE_STORE_CACHE_NEAR 256 /* neighbours a miss may fill */
typedef struct grove_store_cache grove_store_cache_t;
typedef struct grove_store_cache_stats {
	uint64_t bytes, bytes_max, entries;
	uint64_t hits, misses, evictions;
	uint64_t arena_bytes; /* carved from the entries' arena (live or free) */
} grove_store_cache_stats_t;
int grove_store_cache_enable(grove_store_t *s, const char *prefixes,
			     size_t bytes_max) GROVE_MUST_CHECK;
typedef int (*grove_store_value_fn)(void *ctx, const uint8_t *val, size_t vlen);
int grove_store_read_latest(grove_store_t *s, const void *key, size_t klen,
			    grove_store_value_fn fn, void *ctx) GROVE_MUST_CHECK;
/* grove_store_read_latest, and on a miss also keeps the records around
 * key that share its first plen bytes (up to GROVE_STORE_CACHE_NEAR after
 * it, then as many before it, read with an iterator), in free room only
 * (they evict nothing; none when the budget is nearly reached): one
 * lookup fills the cache with a run of a key's elements, as a block cache
 * would. */
int grove_store_read_latest_near(grove_store_t *s, const void *key, size_t klen, size_t plen,
				 grove_store_value_fn fn, void *ctx) GROVE_MUST_CHECK;
void grove_store_cache_stats(grove_store_t *s, grove_store_cache_stats_t *out);
/* Hints ahead of grove_store_read_latest of up to GROVE_STORE_PREFETCH_MAX
 * keys, with other work in between: grove_store_read_hint returns a key's
 * hint (0: nothing to bring; no memory touched but the key's), then
 * grove_store_read_prefetch_slots brings their cache sets toward the CPU,
 * then, once the sets are likely there, grove_store_read_prefetch_entries
 * their entries.  A hit of a cache larger than the CPU's costs the loads
 * of the set and the entry from memory; this overlaps them with the work
 * between.  A prefetch of a random line of a large cache costs time of
 * its own (its page walk, it seems), and such waits overlap only when few
 * instructions part them: hence the steps for many keys at once. */
#define GROVE_STORE_PREFETCH_MAX 16
uint64_t grove_store_read_hint(grove_store_t *s, const void *key, size_t klen);
void grove_store_read_prefetch_slots(grove_store_t *s, const uint64_t *hints, size_t n);
/* Returns how many entries it brought (a hint whose key the cache holds
 * brings one, unless another key of its set has the same 32-bit tag). */
size_t grove_store_read_prefetch_entries(grove_store_t *s, const uint64_t *hints, size_t n);
uint64_t grove_store_read_begin(grove_store_t *s);
bool grove_store_read_end(grove_store_t *s, uint64_t seq);

/* --- transactions (store_txn.c) ---
 * grove_store_txn_begin makes the calling thread the owner of the store's
 * one transaction (GROVE_EINVAL when one is open).  grove_store_txn_stage
 * (owner only) applies b to an in-memory overlay and appends its ops to
 * the transaction's batch, writing nothing to the backend: the owner's
 * reads (grove_store_get, snapshots and iterators it creates, scans) then
 * see the staged state over the backend's, deletes included, while other
 * threads see the backend alone; a snapshot the owner took before the
 * transaction keeps its own view.  GROVE_ETOOBIG past
 * GROVE_STORE_TXN_BYTES_MAX staged bytes (b is then not staged).
 * grove_store_txn_end (owner only) moves every staged op, in staging order,
 * into *out (initialized by it; the caller closes it) and closes the
 * transaction: one grove_store_write of *out applies all of it or none.
 * The owner's snapshots and iterators from the transaction must be
 * released before.  Costs: staging O(ops x log n) into the overlay; an
 * owner's get one overlay lookup more; its iterator steps compare keys of
 * two iterators (a direction change seeks both again). */
#define GROVE_STORE_TXN_BYTES_MAX (256u * 1024 * 1024)
int grove_store_txn_begin(grove_store_t *s) GROVE_MUST_CHECK;
int grove_store_txn_stage(grove_store_t *s, const grove_batch_t *b) GROVE_MUST_CHECK;
void grove_store_txn_end(grove_store_t *s, grove_batch_t *out);
/* Whether the calling thread owns an open transaction; whether any does. */
bool grove_store_txn_owned(const grove_store_t *s);
bool grove_store_txn_open(const grove_store_t *s);

#endif
