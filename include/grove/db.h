/*
 * db.h - a node's replicated key space: typed, atomic operations on CRDT
 * values in a store (LevelDB or memory), with an HLC, a digest index and a
 * merge entry point for state arriving from peers.
 *
 * Conventions:
 *  1. grove_db_t is opaque; grove_db_open / grove_db_close pair.  All
 *     functions are thread-safe; read-modify-write of one key (local writes
 *     and merges alike) is atomic, so no update is ever lost.
 *  2. Keys are binary-safe (pointer, length), 1..GROVE_KEY_MAX bytes.  Users
 *     never see the store's internal records (reserved prefix).
 *  3. Returns 0 or a negative code (include/grove/error.h); out-parameters are
 *     untouched on failure.  Buffers returned through uint8_t ** are
 *     allocated with grove_malloc; free them with grove_free.
 *  4. A write returns only once it is as durable as the durability mode
 *     promises (see grove_durability_t).
 *  5. Every local write draws its timestamp from the db's HLC after
 *     advancing it past the timestamps already in the key's state; every
 *     merge advances it past the remote state (or rejects that state with
 *     GROVE_ECLOCK_OFFSET when it lies beyond the max offset).
 */
#ifndef GROVE_DB_H
#define GROVE_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "grove/error.h"
#include "grove/hlc.h"
#include "grove/value.h"

#define GROVE_KEY_MAX 4096

typedef enum grove_durability {
	GROVE_DURABILITY_NONE = 0,   /* unsynced writes: survive a process crash */
	GROVE_DURABILITY_BATCH = 1,  /* group commit: acked after a shared fsync */
	GROVE_DURABILITY_ALWAYS = 2, /* each write synced before it returns */
} grove_durability_t;

typedef struct grove_db grove_db_t;

typedef struct grove_db_options {
	const char *node_id;          /* default "default": unsafe with >1 writer */
	grove_clock_fn clock;         /* default grove_clock_system_ms */
	void *clock_ctx;
	uint64_t max_offset_ms;       /* default GROVE_HLC_MAX_OFFSET_MS_DEFAULT */
	grove_durability_t durability; /* default NONE */
	uint32_t batch_window_us;     /* BATCH mode: how long a group's leader waits
				       * for more writers (default 0: a group is
				       * whoever queued during the previous fsync) */
	bool purge_in_background;     /* remove the element records a key delete
				       * covers on a background thread (groved);
				       * default false: in the deleting call, in
				       * batches (deterministic, for tests and the
				       * simulator).  Either way the delete is
				       * durable and visible at once, and an
				       * interrupted purge resumes at the next open */
	size_t elem_cache_bytes;      /* memory for the element record cache:
				       * point reads of set members, hash fields
				       * and sorted-set members (and of their
				       * keys' heads and metadata) served without
				       * a store lookup (default
				       * GROVE_DB_ELEM_CACHE_BYTES_DEFAULT; 0: none) */
} grove_db_options_t;

#define GROVE_DB_ELEM_CACHE_BYTES_DEFAULT ((size_t)256 << 20)

void grove_db_options_init(grove_db_options_t *opts);

/* dir NULL opens a memory store.  On failure, err (if non-NULL) receives a
 * message naming the directory and the cause. */
int grove_db_open(const char *dir, const grove_db_options_t *opts, grove_db_t **out,
		  char *err, size_t err_len) GROVE_MUST_CHECK;
void grove_db_close(grove_db_t *db);

const char *grove_db_node_id(const grove_db_t *db);
grove_hlc_t *grove_db_hlc(grove_db_t *db); /* borrowed; lock-free read of .last only */

/* --- typed writes (GROVE_EWRONGTYPE on a live key of another type) --- */
int grove_db_counter_add(grove_db_t *db, const void *key, size_t klen, int64_t delta,
			 int64_t *new_value) GROVE_MUST_CHECK;
/* grove_db_counter_add, and on a register holding a decimal integer (Redis's
 * INCR on a string written by SET) grove_pncounter_from_register: the key
 * becomes a counter.  GROVE_ERANGE when the register holds anything else. */
int grove_db_counter_incr(grove_db_t *db, const void *key, size_t klen, int64_t delta,
			  int64_t *new_value) GROVE_MUST_CHECK;
int grove_db_register_set(grove_db_t *db, const void *key, size_t klen, const void *val,
			  size_t vlen) GROVE_MUST_CHECK;
/* grove_db_register_set with Redis's SET on a string that is a counter: a
 * live counter is deleted (observed-remove) and the register created in
 * its place (a new creation epoch, which wins over increments made
 * concurrently elsewhere: they stay hidden). */
int grove_db_string_set(grove_db_t *db, const void *key, size_t klen, const void *val,
			size_t vlen) GROVE_MUST_CHECK;
/* grove_db_string_set with a TTL rule (GROVE_DB_TTL_*, below; string_set is
 * GROVE_DB_TTL_CLEAR).  KEEP keeps the deadline of a replaced counter too. */
int grove_db_string_write(grove_db_t *db, const void *key, size_t klen, const void *val,
			  size_t vlen, int ttl_mode, uint64_t at_ms) GROVE_MUST_CHECK;
int grove_db_set_add(grove_db_t *db, const void *key, size_t klen, const void *elem,
		     size_t elen, bool *added) GROVE_MUST_CHECK;
int grove_db_set_remove(grove_db_t *db, const void *key, size_t klen, const void *elem,
			size_t elen, bool *removed) GROVE_MUST_CHECK;
int grove_db_map_set(grove_db_t *db, const void *key, size_t klen, const void *field,
		     size_t flen, const void *val, size_t vlen, bool *created) GROVE_MUST_CHECK;
int grove_db_map_delete(grove_db_t *db, const void *key, size_t klen, const void *field,
			size_t flen, bool *removed) GROVE_MUST_CHECK;
/* HINCRBY: adds delta to the field as a counter field (doc/value_format.md
 * "Counter fields"): concurrent increments on several nodes add up; an HSET
 * of the field replaces what it saw (increments it had not seen add to its
 * value).  A missing field starts at 0; a field an HSET wrote with a decimal
 * int64 converts (that value is the base, counted once however many nodes
 * convert it at once).  GROVE_ERANGE: the field holds anything else;
 * GROVE_EOVERFLOW: the result (or this node's own total) would leave int64;
 * nothing is written then.  *new_value (may be NULL): the value after. */
int grove_db_map_incr(grove_db_t *db, const void *key, size_t klen, const void *field,
		      size_t flen, int64_t delta, int64_t *new_value) GROVE_MUST_CHECK;
/* --- expiry (TTL; doc/value_format.md "Expiry", README "Expiry") ---
 * A key's deadline (unix ms) replicates in its head.  A key whose deadline
 * is behind the db's clock (now > deadline) reads as absent at once on
 * this node (every read here hides it); grove_db_expire_cycle, or the
 * next write of the key, then removes it by an observed-remove delete
 * that replicates like DEL. */
/* The db's clock (grove_db_options_t.clock), unix ms. */
uint64_t grove_db_now_ms(grove_db_t *db);
#define GROVE_DB_TTL_CLEAR 0 /* a SET: removes the TTL it saw */
#define GROVE_DB_TTL_KEEP 1  /* SET KEEPTTL, APPEND, SETRANGE: the TTL stays */
#define GROVE_DB_TTL_AT 2    /* SET EX/PX/EXAT/PXAT, SETEX: deadline at_ms */
/* A register write with its TTL rule (grove_db_register_set is
 * GROVE_DB_TTL_CLEAR).  GROVE_EINVAL: a bad mode, or at_ms 0 with AT. */
int grove_db_register_write(grove_db_t *db, const void *key, size_t klen, const void *val,
			    size_t vlen, int ttl_mode, uint64_t at_ms) GROVE_MUST_CHECK;
#define GROVE_EXPIRE_NX 1u /* only when the key has no TTL */
#define GROVE_EXPIRE_XX 2u /* only when it has one */
#define GROVE_EXPIRE_GT 4u /* only a later deadline (no TTL counts as infinite) */
#define GROVE_EXPIRE_LT 8u /* only an earlier one */
/* EXPIRE family on a live key of any type: *set (may be NULL) is false
 * when the key is absent or a flag refused it.  at_ms <= now deletes the
 * key (observed-remove), as Redis does. */
int grove_db_expire(grove_db_t *db, const void *key, size_t klen, uint64_t at_ms, unsigned flags,
		    bool *set) GROVE_MUST_CHECK;
/* PERSIST: *removed when the live key had a TTL (a write of "no TTL"). */
int grove_db_persist(grove_db_t *db, const void *key, size_t klen, bool *removed) GROVE_MUST_CHECK;
/* The key's deadline: *at_ms 0 when it has none; GROVE_ENOTFOUND when it
 * is absent, deleted or expired.  *now_ms (may be NULL): the clock read
 * that decided, for TTL arithmetic. */
int grove_db_ttl(grove_db_t *db, const void *key, size_t klen, uint64_t *at_ms,
		 uint64_t *now_ms) GROVE_MUST_CHECK;
/* Active expiry: removes up to max_keys keys whose deadline has passed,
 * in deadline order from the TTL index (O(max_keys) store reads, no
 * sampling needed); *removed (may be NULL) counts the keys removed;
 * returns 1 when more expired keys remain, 0 when none, or a negative
 * code.  Keys hidden by their deadline are removed by the first call
 * that reaches them, on each replica (the deletes merge). */
int grove_db_expire_cycle(grove_db_t *db, size_t max_keys, uint64_t *removed) GROVE_MUST_CHECK;
/* Keys with a deadline (INFO keyspace expires=), keys removed by expiry
 * on this node (expired_keys), and live keys not hidden by their deadline
 * (DBSIZE: the live count less the expired keys not yet removed, found
 * in the TTL index up to now). */
uint64_t grove_db_expires(grove_db_t *db);
uint64_t grove_db_expired_keys(grove_db_t *db);
uint64_t grove_db_count_visible(grove_db_t *db);

/* Observed-remove delete of a key of any type; *existed tells if it was live. */
int grove_db_delete(grove_db_t *db, const void *key, size_t klen, bool *existed) GROVE_MUST_CHECK;

/* --- collection reads (O(1) store reads; GROVE_EWRONGTYPE on a live key
 * of another type; an absent or deleted key reads as empty) --- */
/* The key's visible type (GROVE_TYPE_NONE when absent or deleted). */
int grove_db_type(grove_db_t *db, const void *key, size_t klen, grove_type_t *out) GROVE_MUST_CHECK;
int grove_db_set_contains(grove_db_t *db, const void *key, size_t klen, const void *elem,
			  size_t elen, bool *out) GROVE_MUST_CHECK;
/* Hints ahead of grove_db_set_contains (type GROVE_TYPE_SET) and
 * grove_db_map_get (GROVE_TYPE_MAP) reads of (key, elem) that will come
 * after other work, such as the requests before them in a client's
 * pipeline, in three steps: grove_db_read_hint returns a read's hint (0:
 * none) and touches nothing; grove_db_read_prefetch_slots(hints, n) brings
 * the elements' slots in the element record cache toward the CPU; then
 * grove_db_read_prefetch_entries(hints, n) the cached records (once the
 * slots are likely there), so that the reads find both in the CPU's
 * caches.  n reads at once, at most GROVE_DB_PREFETCH_READS: the waits
 * for the page tables of random lines of a large cache then overlap
 * (store.h).  They change nothing and answer nothing; keys and elements
 * of more than GROVE_DB_PREFETCH_KEY_MAX bytes together are not hinted. */
#define GROVE_DB_PREFETCH_KEY_MAX 256
#define GROVE_DB_PREFETCH_READS 16
uint64_t grove_db_read_hint(grove_db_t *db, const void *key, size_t klen, grove_type_t type,
			    const void *elem, size_t elen);
void grove_db_read_prefetch_slots(grove_db_t *db, const uint64_t *hints, size_t n);
void grove_db_read_prefetch_entries(grove_db_t *db, const uint64_t *hints, size_t n);
/* The field's value (malloc'd); GROVE_ENOTFOUND when absent. */
int grove_db_map_get(grove_db_t *db, const void *key, size_t klen, const void *field, size_t flen,
		     uint8_t **val, size_t *vlen) GROVE_MUST_CHECK;
/* grove_db_map_get, and *counter (may be NULL): the field is a counter
 * field reading its integer sum (HINCRBY entries, no non-integer HSET over
 * them). */
int grove_db_map_lookup(grove_db_t *db, const void *key, size_t klen, const void *field,
			size_t flen, uint8_t **val, size_t *vlen, bool *counter) GROVE_MUST_CHECK;
/* Members (type GROVE_TYPE_SET, GROVE_TYPE_ZSET), fields (GROVE_TYPE_MAP) or
 * list elements (GROVE_TYPE_LIST): maintained count. */
int grove_db_coll_count(grove_db_t *db, const void *key, size_t klen, grove_type_t type,
			uint64_t *out) GROVE_MUST_CHECK;
/* Visits members or fields (with their values; set members: val NULL, 0;
 * sorted-set members: val points to the score, a double, vlen 8) in
 * bytewise order from >= start (NULL: the first), at most max of them, from
 * one snapshot, streaming from the store.  fn returns non-zero to stop.
 * *next (may be NULL): malloc'd element to resume from, NULL at the end. */
typedef int (*grove_db_elem_fn)(void *ctx, const void *elem, size_t elen, const void *val,
				size_t vlen);
int grove_db_coll_scan(grove_db_t *db, const void *key, size_t klen, grove_type_t type,
		       const void *start, size_t slen, size_t max, grove_db_elem_fn fn, void *ctx,
		       uint8_t **next, size_t *next_len) GROVE_MUST_CHECK;

/* --- sorted sets (doc/value_format.md, "Sorted sets"; storage/db_zset.c) ---
 * A member is an observed-remove element whose score converges as an LWW
 * base plus per-node increments (ZINCRBY from two nodes adds up).  Scores
 * are doubles, never NaN.  An index by (score, member) beside the member
 * records serves ranges: O(log n + k) by score, O(offset + k) by rank
 * (ZRANK walks the index: O(rank)). */
#define GROVE_ZADD_NX 1u   /* only add new members */
#define GROVE_ZADD_XX 2u   /* only update existing ones */
#define GROVE_ZADD_GT 4u   /* update only when the new score is greater */
#define GROVE_ZADD_LT 8u   /* ... less */
#define GROVE_ZADD_INCR 16u /* add score to the member's (ZINCRBY) */
/* *result (may be NULL): 0 nothing written, 1 member added, 2 score changed,
 * 3 written with the score unchanged (an INCR of 0; Redis replies the score).
 * *out (may be NULL): the score after the write (INCR, or when written).
 * GROVE_ERANGE: the increment would make the score NaN. */
int grove_db_zset_add(grove_db_t *db, const void *key, size_t klen, const void *member,
		      size_t mlen, double score, unsigned flags, int *result,
		      double *out) GROVE_MUST_CHECK;
int grove_db_zset_remove(grove_db_t *db, const void *key, size_t klen, const void *member,
			 size_t mlen, bool *removed) GROVE_MUST_CHECK;
/* GROVE_ENOTFOUND when the member is absent. */
int grove_db_zset_score(grove_db_t *db, const void *key, size_t klen, const void *member,
			size_t mlen, double *score) GROVE_MUST_CHECK;
typedef int (*grove_db_zmember_fn)(void *ctx, const void *member, size_t mlen, double score);
#define GROVE_ZRANGE_RANK 0
#define GROVE_ZRANGE_SCORE 1
#define GROVE_ZRANGE_LEX 2
typedef struct grove_zrange {
	int by;        /* GROVE_ZRANGE_* */
	bool rev;      /* from the greatest (ZREVRANGE, REV) */
	int64_t start, stop; /* RANK: Redis indexes (negative from the end), inclusive */
	double min, max;     /* SCORE: bounds (min <= max in either direction) */
	bool min_excl, max_excl;
	/* LEX: bounds, NULL with *_inf -1 (the '-') or 1 (the '+') */
	const void *lmin, *lmax;
	size_t lmin_len, lmax_len;
	int lmin_inf, lmax_inf;
	uint64_t offset;  /* LIMIT (SCORE, LEX) */
	int64_t count;    /* LIMIT count; < 0: all */
} grove_zrange_t;
/* Visits the members of the range in order (reverse when rev) from one
 * snapshot; fn returns non-zero to stop. */
int grove_db_zset_range(grove_db_t *db, const void *key, size_t klen, const grove_zrange_t *r,
			grove_db_zmember_fn fn, void *ctx) GROVE_MUST_CHECK;
/* Members in a SCORE or LEX range (offset/count ignored): O(log n + k). */
int grove_db_zset_count(grove_db_t *db, const void *key, size_t klen, const grove_zrange_t *r,
			uint64_t *out) GROVE_MUST_CHECK;
/* 0-based rank (from the greatest when rev) and score; GROVE_ENOTFOUND
 * when absent.  O(log n) with the key's counted index (doc/storage_format.md
 * "The counted index"), else O(rank): a walk of the index. */
int grove_db_zset_rank(grove_db_t *db, const void *key, size_t klen, const void *member,
		       size_t mlen, bool rev, uint64_t *rank, double *score) GROVE_MUST_CHECK;
/* Hints ahead of a grove_db_zset_rank of (key, member) that will come
 * after other work (the requests before it in a client's pipeline), as
 * grove_db_read_hint's for point reads, in three steps each called
 * once the previous one is likely done: grove_db_zrank_prefetch brings
 * the member's set of the rank cache's leaf hint toward the CPU and
 * returns a hint (0: none); grove_db_zrank_prefetch_step(hint, 1) the
 * leaf the hint names (by its id's place) and its super's counts, step 2 that
 * leaf's header, member tags and offsets.  They change nothing and answer nothing (a key the
 * cache does not hold, or a stale hint, brings nothing or the wrong
 * lines). */
uint64_t grove_db_zrank_prefetch(grove_db_t *db, const void *key, size_t klen, const void *member,
				 size_t mlen);
void grove_db_zrank_prefetch_step(grove_db_t *db, const void *key, size_t klen, uint64_t hint,
				  int step);

/* --- lists (doc/value_format.md, "Lists"; storage/db_list.c): each element
 * a record of its own, ordered by its position id; the ends cost O(log n),
 * an index i costs O(min(i, n - i)) steps.  GROVE_EWRONGTYPE on a live key
 * of another type.  Values are at most GROVE_FIELD_VALUE_MAX bytes
 * (GROVE_ETOOBIG). --- */
/* Pushes one value at the head (left) or tail; only_existing: only onto a
 * live list (else nothing, *len 0).  *len (may be NULL): the length after. */
int grove_db_list_push(grove_db_t *db, const void *key, size_t klen, bool left,
		       bool only_existing, const void *val, size_t vlen,
		       uint64_t *len) GROVE_MUST_CHECK;
/* Removes the head (left) or tail element; *val malloc'd.  GROVE_ENOTFOUND
 * when the list is empty. */
int grove_db_list_pop(grove_db_t *db, const void *key, size_t klen, bool left, uint8_t **val,
		      size_t *vlen) GROVE_MUST_CHECK;
/* LSET: GROVE_ENOTFOUND (no list), GROVE_ERANGE (index out of range). */
int grove_db_list_set(grove_db_t *db, const void *key, size_t klen, int64_t index,
		      const void *val, size_t vlen) GROVE_MUST_CHECK;
/* LINSERT before/after the first element equal to pivot: *len the length
 * after, -1 when the pivot is absent, 0 when the list is. */
int grove_db_list_insert(grove_db_t *db, const void *key, size_t klen, bool before,
			 const void *pivot, size_t plen, const void *val, size_t vlen,
			 int64_t *len) GROVE_MUST_CHECK;
/* LREM: count > 0 from the head, < 0 from the tail, 0 all. */
int grove_db_list_rem(grove_db_t *db, const void *key, size_t klen, int64_t count,
		      const void *val, size_t vlen, uint64_t *removed) GROVE_MUST_CHECK;
/* LTRIM (Redis index rules); an empty range deletes the key. */
int grove_db_list_trim(grove_db_t *db, const void *key, size_t klen, int64_t start,
		       int64_t stop) GROVE_MUST_CHECK;
/* Elements start..stop (Redis index rules) in list order from one
 * snapshot: fn gets (position id or NULL, its length, value); O(distance
 * of the range from the nearer end + its length).  LLEN is
 * grove_db_coll_count(GROVE_TYPE_LIST). */
int grove_db_list_range(grove_db_t *db, const void *key, size_t klen, int64_t start,
			int64_t stop, grove_db_elem_fn fn, void *ctx) GROVE_MUST_CHECK;
/* Every element from the head (or the tail: reverse) until fn stops. */
int grove_db_list_walk(grove_db_t *db, const void *key, size_t klen, bool reverse,
		       grove_db_elem_fn fn, void *ctx) GROVE_MUST_CHECK;

/* --- reads --- */
/* A decoded copy of the key's value; GROVE_ENOTFOUND if absent or deleted.
 * Free with grove_value_destroy.  A collection is materialized from its
 * element records: O(elements); use the collection reads above instead. */
int grove_db_get(grove_db_t *db, const void *key, size_t klen, grove_value_t **out) GROVE_MUST_CHECK;
/* The canonical encoded state (deleted keys included: their tombstone
 * context is state too); GROVE_ENOTFOUND if the key was never written. */
int grove_db_get_encoded(grove_db_t *db, const void *key, size_t klen, uint8_t **out,
			 size_t *out_len) GROVE_MUST_CHECK;

/* Reads a key from the record cache, with no store read, no decoding and
 * no allocation, when the cache holds its written state: fn(ctx, type, v)
 * runs under the key lock with the visible type and, for a live counter or
 * register, the decoded value (borrowed for the call; NULL otherwise).
 * Returns 1 when fn ran, 0 when the caller must read the store (not
 * cached, or a queued write not yet durable), or a negative code. */
typedef void (*grove_db_peek_fn)(void *ctx, grove_type_t type, const grove_value_t *v);
int grove_db_peek(grove_db_t *db, const void *key, size_t klen, grove_db_peek_fn fn,
		  void *ctx) GROVE_MUST_CHECK;

/* Visits live user keys in bytewise order starting at >= start (start NULL:
 * from the first), at most max_keys of them.  The callback returns 0 to go
 * on, non-zero to stop.  *next (may be NULL) receives a malloc'd key to
 * resume from (NULL when the iteration ended). */
typedef int (*grove_db_key_fn)(void *ctx, const void *key, size_t klen, grove_type_t type);
int grove_db_scan(grove_db_t *db, const void *start, size_t slen, size_t max_keys,
		  grove_db_key_fn fn, void *ctx, uint8_t **next, size_t *next_len) GROVE_MUST_CHECK;
/* Number of live user keys (maintained incrementally). */
uint64_t grove_db_count(grove_db_t *db);

/* --- merge of remote state --- */
/* Decodes enc with limits, checks its timestamps against the max offset,
 * advances the HLC, merges atomically and writes only when the state
 * changed.  GROVE_EDECODE / GROVE_ECLOCK_OFFSET leave the key untouched.
 * Whole values only without collection elements (GROVE_EINVAL otherwise):
 * collections replicate per item, see grove_db_item_merge. */
int grove_db_merge(grove_db_t *db, const void *key, size_t klen, const uint8_t *enc,
		   size_t enc_len, bool *changed) GROVE_MUST_CHECK;

/* --- items: what the digest tree covers and anti-entropy ships ---
 * An item name is either a key's head (counter, register, type register,
 * causal context): 0x00 key; or one element of a collection: kind (1 set
 * member, 2 hash field, 3 sorted-set member, 4 list element), key length (2 bytes, big-endian), key, element.
 * Heads live in segment hash(key), elements in segment hash(name) (a list
 * element: hash of key and its dot's block of 64, doc/storage_format.md), so a big
 * collection spreads over the tree.  Formats: doc/storage_format.md. */
#define GROVE_ITEM_HEAD 0
#define GROVE_ITEM_MEMBER 1
#define GROVE_ITEM_FIELD 2
#define GROVE_ITEM_ZMEMBER 3 /* sorted-set member */
#define GROVE_ITEM_LIST 4    /* a list element: key length, key, position id */
#define GROVE_ITEM_NAME_MAX (3 + GROVE_KEY_MAX + GROVE_ELEM_MAX)
/* Splits a name; GROVE_EINVAL when malformed. */
int grove_db_item_parse(const void *name, size_t nlen, int *kind, const uint8_t **key,
			size_t *klen, const uint8_t **elem, size_t *elen) GROVE_MUST_CHECK;
/* The segment of an item (0 for a malformed name). */
uint32_t grove_db_item_segment(const void *name, size_t nlen);
/* The item's state to send to a peer: a head's value, element count and
 * accumulator; an element's record (or absent) with the key's causal
 * context.  GROVE_ENOTFOUND when the key has no head. */
int grove_db_item_state(grove_db_t *db, const void *name, size_t nlen, uint8_t **out,
			size_t *out_len) GROVE_MUST_CHECK;
/* Merges a peer's item state (hostile input: GROVE_EDECODE for malformed
 * or forged states, GROVE_ECLOCK_OFFSET; the store is untouched then).
 * *reply (may be NULL): our element differs from the peer's after the
 * merge, so the peer should get our state back. */
int grove_db_item_merge(grove_db_t *db, const void *name, size_t nlen, const uint8_t *state,
			size_t slen, bool *changed, bool *reply) GROVE_MUST_CHECK;
/* One item state for grove_db_items_merge: name and state in (borrowed),
 * what grove_db_item_merge would return for it out. */
typedef struct grove_db_item {
	const void *name;
	size_t nlen;
	const uint8_t *state;
	size_t slen;
	int rc;       /* out: grove_db_item_merge's result */
	bool changed; /* out: *changed */
	bool reply;   /* out: *reply */
} grove_db_item_t;
#define GROVE_DB_ITEMS_GROUP_MAX 128
/* Merges items[0..n), each with the outcome and counters its own
 * grove_db_item_merge would have (a hostile item is refused and counted
 * alone, the others merge), but the elements of one key among them (up
 * to GROVE_DB_ITEMS_GROUP_MAX at a time, each name once) merge under one
 * key lock into one write: one load of the key's metadata and context
 * and one store write for the group instead of one per element (an
 * anti-entropy STATES frame: a catch-up on a big collection).  Heads merge
 * alone, in their place; the elements between two heads merge grouped by
 * key (merges of distinct items commute; one name's states keep their
 * order).  A refused element ends its group (the group is written, the
 * element merges alone); any other error drops the group's work and
 * merges its items one by one.  O(n log n) to sort by key. */
void grove_db_items_merge(grove_db_t *db, grove_db_item_t *items, size_t n);

/* Visits the item names of one key (its elements in record order, then its
 * head), whatever their state, from one snapshot: for tools and tests that
 * copy a key item by item.  fn returns non-zero to stop. */
typedef int (*grove_db_name_fn)(void *ctx, const uint8_t *name, size_t nlen);
int grove_db_key_items(grove_db_t *db, const void *key, size_t klen, grove_db_name_fn fn,
		       void *ctx) GROVE_MUST_CHECK;

/* --- digest index: a hash tree over key segments --- */
/* Tree shape: GROVE_TREE_LEVELS levels below the root, each node with
 * GROVE_TREE_FANOUT children; the leaves are segments, and a key belongs to
 * segment hash(key) mod GROVE_TREE_SEGMENTS.  A node's digest covers every
 * (key, value digest) pair beneath it, so equal stores have equal digests
 * whatever the order of their writes. */
#define GROVE_TREE_FANOUT 16
#define GROVE_TREE_LEVELS 4
#define GROVE_TREE_SEGMENTS 65536 /* FANOUT ^ LEVELS */

void grove_db_root_digest(grove_db_t *db, uint8_t out[GROVE_DIGEST_BYTES]);
/* Digest and key count of node `index` at `level` (0 = root, index 0;
 * GROVE_TREE_LEVELS = segments). */
int grove_db_tree_node(grove_db_t *db, unsigned level, uint32_t index,
		       uint8_t digest[GROVE_DIGEST_BYTES], uint64_t *count) GROVE_MUST_CHECK;
uint32_t grove_db_segment_of(const void *key, size_t klen); /* a key's head */
/* Visits every item in a segment (item names, see above) with the digest
 * of its record (deleted keys' heads too),
 * in bytewise key order, from one consistent snapshot.  O(keys in the
 * segment) store reads.  GROVE_ECORRUPT if the index names a key with no
 * data (damage; the next open without a clean record rebuilds it). */
typedef int (*grove_db_digest_fn)(void *ctx, const void *key, size_t klen,
				  const uint8_t digest[GROVE_DIGEST_BYTES]);
int grove_db_segment_keys(grove_db_t *db, uint32_t segment, grove_db_digest_fn fn,
			  void *ctx) GROVE_MUST_CHECK;
/* The same for every segment under tree node `index` at `level` (one range
 * scan; level GROVE_TREE_LEVELS is segment_keys), in segment order, then
 * key order within a segment.  For anti-entropy on small subtrees. */
int grove_db_subtree_keys(grove_db_t *db, unsigned level, uint32_t index, grove_db_digest_fn fn,
			  void *ctx) GROVE_MUST_CHECK;

/* --- deferred writes (a server's pipelined requests) ---
 * Between grove_db_defer_begin and grove_db_defer_end the calling thread's
 * typed writes do not wait for the store: each is applied atomically under
 * its key lock as usual (a later read-modify-write of the key, by any
 * thread, builds on it) and queued for the group commit, and returns.
 * defer_end returns a ticket (0: nothing was queued); grove_db_defer_sync
 * then writes, or waits for another thread writing, every queued write up
 * to the ticket, as durably as the mode promises (one store write and one
 * fsync for all of them and whatever else is queued), and returns 0 or the
 * error of the failed write (the db then refuses writes until reopened).
 * Reads that go to the store (grove_db_get, grove_db_type, collection
 * reads, scans) see a deferred write once it is synced; change hooks run
 * when it is queued.  One thread defers at a time (GROVE_EINVAL). */
int grove_db_defer_begin(grove_db_t *db) GROVE_MUST_CHECK;
uint64_t grove_db_defer_end(grove_db_t *db);
int grove_db_defer_sync(grove_db_t *db, uint64_t ticket) GROVE_MUST_CHECK;
/* The last ticket written as durably as the mode promises. */
uint64_t grove_db_defer_durable(grove_db_t *db);

/* --- transactions (a server's MULTI/EXEC) ---
 * Between grove_db_txn_begin and grove_db_txn_commit the calling thread's
 * writes (typed writes, merges, deletes, expiry, purges it runs) are each
 * applied atomically under their key lock as usual and staged, not
 * written: the thread's own reads see them (a GET after an INCR of the
 * same key), other threads' reads do not.  _commit writes everything
 * staged as ONE store write batch (after a crash all of it is there or
 * none of it), with one fsync in batch and always modes shared with the
 * group it joins, and returns once it is as durable as the mode promises:
 * 0, or the store's error, after which the db refuses writes
 * (GROVE_EREADONLY) until reopened.  While a transaction is open, writes
 * from other threads fail with GROVE_EAGAIN and change nothing (the
 * caller serializes them, as groved's EXEC lock does), and a background
 * purge waits.  One transaction at a time (a second thread's _begin waits
 * for the first to end); not inside grove_db_defer_begin (GROVE_EINVAL).
 * A thread's transaction stages at most GROVE_STORE_TXN_BYTES_MAX (256 MiB)
 * of records: a write past it fails with GROVE_ETOOBIG. */
int grove_db_txn_begin(grove_db_t *db) GROVE_MUST_CHECK;
int grove_db_txn_commit(grove_db_t *db) GROVE_MUST_CHECK;

/* --- change notification (for pushing fresh writes to peers) --- */
/* Called after every local write commits, from the writing thread, with no
 * db lock held, once per item name the write changed.  One hook per db;
 * NULL removes it. */
typedef void (*grove_db_change_fn)(void *ctx, const void *key, size_t klen);
void grove_db_set_change_hook(grove_db_t *db, grove_db_change_fn fn, void *ctx);

/* --- internal metadata (under the reserved prefix; for gossip/ and node/:
 * incarnation, known peers, node identity) --- */
int grove_db_meta_get(grove_db_t *db, const char *name, uint8_t **out, size_t *out_len) GROVE_MUST_CHECK;
int grove_db_meta_put(grove_db_t *db, const char *name, const void *val, size_t len) GROVE_MUST_CHECK;

/* Storage statistics for INFO (approximate sizes where so stated). */
typedef struct grove_db_stats {
	uint64_t keys;          /* live user keys */
	uint64_t writes;        /* local writes committed */
	uint64_t merges_changed;
	uint64_t merges_unchanged;
	uint64_t merges_rejected;
	uint64_t syncs;         /* fsyncs issued */
	uint64_t hlc_last;
	uint64_t index_rebuilds; /* digest index rebuilt from data at open: 0 or 1 */
	uint64_t items_rejected; /* item states refused (malformed, forged, clock) */
	uint64_t purged;        /* element records removed after key deletes */
	uint64_t purges_pending; /* deleted keys whose element records await their purge */
	/* presence sets (doc/storage_format.md "Presence sets") */
	uint64_t presence_bytes;   /* memory of every key's set */
	uint64_t presence_skipped; /* element reads skipped: the element had no record */
	uint64_t presence_walks;   /* keys whose element records were walked to track them */
	uint64_t presence_drops;   /* sets given up (budget, stale, another key took the place) */
	/* sorted sets' rank cache (doc/storage_format.md "The counted index") */
	uint64_t zrank_cache_bytes; /* boundaries and leaf entries held */
	uint64_t zrank_leaf_hits;   /* ZRANKs that read the member's leaf from memory */
	uint64_t zrank_leaf_loads;  /* leaves a ZRANK or a pass walked and kept */
	uint64_t zrank_leaf_drops;  /* leaves forgotten (bound reached, or not what the store holds) */
	uint64_t zrank_score_hits;  /* ZRANKs that took the member's leaf and score from memory too */
	uint64_t zrank_passes;      /* passes over a super (leaves split or merged) */
	uint64_t zrank_drops;       /* counted indexes dropped out of step (rebuilt later) */
	/* the element record cache (README "Known limits") */
	uint64_t elem_cache_bytes;   /* memory of its slot tables and entries */
	uint64_t elem_cache_entries;
	uint64_t elem_cache_hits;    /* record reads served from memory (element,
				      * key head and metadata records) */
	uint64_t elem_cache_misses;  /* ... read from the store (and kept) */
	uint64_t elem_cache_evictions;
} grove_db_stats_t;
void grove_db_stats(grove_db_t *db, grove_db_stats_t *out);

#endif
