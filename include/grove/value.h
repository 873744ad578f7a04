/*
 * value.h - the replicated value held by one key: counter, register, set or
 * map, with its canonical encoding, merge and digest.
 *
 * Conventions (apply to every function below):
 *  1. A grove_value_t is opaque, created by grove_value_create or
 *     grove_value_decode and freed by grove_value_destroy (NULL is a no-op).
 *  2. Node ids are NUL-terminated strings of 1..GROVE_NODE_ID_MAX bytes.
 *     Binary data (register values, set elements, map fields and values) are
 *     (pointer, length) pairs, binary-safe, each at most GROVE_BLOB_MAX bytes.
 *  3. Operations that write take the writer's node id and, where the type is
 *     last-writer-wins, an HLC timestamp the caller drew from grove_hlc_now.
 *  4. Functions return 0 or a negative code from include/grove/error.h; on failure
 *     the value is unchanged.  An operation of the wrong type returns
 *     GROVE_EWRONGTYPE, except that a logically empty value (never written,
 *     or deleted) takes any type (see "type conflicts" below).
 *  5. Pointers returned by getters borrow from the value and stay valid until
 *     the next change to it or its destruction.
 *  6. Encodings are canonical: equal states give byte-identical output
 *     (doc/value_format.md).  grove_value_decode treats input as hostile.
 *
 * Key-level delete (grove_value_delete) is observed-remove: it removes what
 * this replica has seen; concurrent updates it had not seen survive a merge,
 * whatever their timestamps (an unseen LWW write loses only where it would
 * have lost to the deleted value anyway).  A deleted value is logically
 * empty (grove_value_is_empty) but keeps the context it needs to make the
 * delete win over the state it removed.
 *
 * Type conflicts: when replicas create one key with two types concurrently,
 * every replica converges to the same visible type by a deterministic rule
 * documented in doc/value_format.md: the value keeps one state per type and
 * an LWW type register (epoch, node, type); a write on a logically empty
 * value creates the key (epoch + 1), the greater (epoch, node, type) is the
 * visible type, and the other states stay hidden.
 *
 * Decoding is strict: only canonical encodings are accepted, so
 * encode(decode(b)) == b.  Decoded memory is bounded by about 20 times the
 * encoded size (node ids are stored inline); callers bound the input.
 */
#ifndef GROVE_VALUE_H
#define GROVE_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "grove/error.h"

#define GROVE_NODE_ID_MAX 63
#define GROVE_BLOB_MAX (64u * 1024 * 1024)
#define GROVE_VALUE_BYTES_MAX (512u * 1024 * 1024) /* largest encoding decoded */
#define GROVE_DIGEST_BYTES 16
/* Collections stored per element (doc/value_format.md): the largest set
 * member or hash field name, hash field value and register value a write
 * accepts (GROVE_ETOOBIG beyond), so that every state fits one
 * anti-entropy frame and nothing acknowledged is unable to replicate. */
#define GROVE_ELEM_MAX 4096
#define GROVE_FIELD_VALUE_MAX (256u * 1024)
#define GROVE_REGISTER_VALUE_MAX (256u * 1024)

typedef enum grove_type {
	GROVE_TYPE_NONE = 0, /* logically empty: never written, or deleted */
	GROVE_TYPE_COUNTER = 1,
	GROVE_TYPE_REGISTER = 2,
	GROVE_TYPE_SET = 3,
	GROVE_TYPE_MAP = 4,
	GROVE_TYPE_ZSET = 5, /* sorted set: stored per member only (storage/db_zset.c) */
	GROVE_TYPE_LIST = 6, /* list: stored per element only (storage/db_list.c) */
} grove_type_t;

typedef struct grove_value grove_value_t;

int grove_value_create(grove_value_t **out) GROVE_MUST_CHECK;
void grove_value_destroy(grove_value_t *v);
int grove_value_clone(const grove_value_t *v, grove_value_t **out) GROVE_MUST_CHECK;

/* Visible type; GROVE_TYPE_NONE when logically empty. */
grove_type_t grove_value_type(const grove_value_t *v);
bool grove_value_is_empty(const grove_value_t *v);
const char *grove_type_name(grove_type_t t); /* "counter", "register", ... "none" */

/* Canonical encoding.  *out is allocated with grove_malloc; free it with
 * grove_free. */
int grove_value_encode(const grove_value_t *v, uint8_t **out, size_t *out_len) GROVE_MUST_CHECK;
/* The same encoding written into a caller-owned buffer, for writers that
 * reuse one buffer (no allocation once it is big enough): the bytes start at
 * offset `at` (<= *cap) of *buf, whose capacity is *cap bytes (*buf NULL
 * with *cap 0 to start); the buffer is grown with grove_realloc when needed
 * and stays the caller's (free with grove_free), even on failure, when the
 * bytes from `at` on are unspecified.  *out_len receives the length. */
int grove_value_encode_at(const grove_value_t *v, uint8_t **buf, size_t *cap, size_t at,
			  size_t *out_len) GROVE_MUST_CHECK;
int grove_value_decode(const uint8_t *buf, size_t len, grove_value_t **out) GROVE_MUST_CHECK;

/* dst := dst merged with src (commutative, associative, idempotent on the
 * encoded bytes).  *changed (may be NULL) tells whether dst changed. */
int grove_value_merge(grove_value_t *dst, const grove_value_t *src, bool *changed) GROVE_MUST_CHECK;

/* The greatest HLC timestamp anywhere in the value (0 if none): receivers
 * advance their clock past it, and reject the state if it is too far ahead. */
uint64_t grove_value_max_ts(const grove_value_t *v);

/* Observed-remove delete of the whole key.  ts is not recorded: the delete
 * is named by the ids and dots it saw, never by its own timestamp. */
int grove_value_delete(grove_value_t *v, const char *node, uint64_t ts) GROVE_MUST_CHECK;

/* 16-byte BLAKE2b digest of bytes (for encoded values). */
void grove_digest(const uint8_t *buf, size_t len, uint8_t out[GROVE_DIGEST_BYTES]);

/* --- counter (PN-counter; increments summed over all nodes) --- */
/* GROVE_EOVERFLOW if the value would leave int64 or the node's uint64
 * totals would wrap.  A delta of 0 changes nothing (it creates no key). */
int grove_pncounter_add(grove_value_t *v, const char *node, int64_t delta) GROVE_MUST_CHECK;
int grove_pncounter_get(const grove_value_t *v, int64_t *out) GROVE_MUST_CHECK;
/* Counting on a register (Redis's INCR on a string; doc/value_format.md,
 * "Counting on a register"): v's visible type is a register holding a
 * decimal int64 n (Redis's strict form).  Unless delta is 0 (then nothing
 * changes), the key becomes a counter worth n + delta: an observed-remove
 * delete of the register, then n credited to the entry of the node that
 * wrote the register (so every replica converting the same register
 * credits the same n to the same entry, and concurrent conversions do not
 * count it twice), then delta to node's entry.  *out: n + delta.
 * GROVE_EWRONGTYPE if v is not a register; GROVE_ERANGE if its value is
 * not such an integer; GROVE_EOVERFLOW as grove_pncounter_add. */
int grove_pncounter_from_register(grove_value_t *v, const char *node, int64_t delta,
				  int64_t *out) GROVE_MUST_CHECK;

/* --- register (LWW by (ts, node id), then value bytes) --- */
int grove_lwwreg_set(grove_value_t *v, const char *node, uint64_t ts,
		       const void *val, size_t len) GROVE_MUST_CHECK;
/* GROVE_ENOTFOUND if empty; an empty string value is found with len 0. */
int grove_lwwreg_get(const grove_value_t *v, const void **val, size_t *len) GROVE_MUST_CHECK;

/* --- set (add-wins observed-remove, dots + causal context) --- */
/* *added / *removed (may be NULL): whether membership changed.  Adding a
 * present element replaces its dots by one fresh dot (constant state, and
 * it wins over removes not yet seen).  Removing from an empty value is a
 * no-op. */
int grove_orset_add(grove_value_t *v, const char *node, const void *elem, size_t len,
		  bool *added) GROVE_MUST_CHECK;
int grove_orset_remove(grove_value_t *v, const char *node, const void *elem, size_t len,
		     bool *removed) GROVE_MUST_CHECK;
bool grove_orset_contains(const grove_value_t *v, const void *elem, size_t len);
size_t grove_orset_count(const grove_value_t *v);
/* Members in bytewise order, i < grove_orset_count. */
void grove_orset_member(const grove_value_t *v, size_t i, const void **elem, size_t *len);

/* --- map (per-field LWW, delete writes a timestamped field tombstone) --- */
/* A write older than the field's current write or tombstone (from HDEL or
 * a key delete) is ignored (*created false).  Deleting an absent field is a no-op. */
int grove_lwwmap_set(grove_value_t *v, const char *node, uint64_t ts, const void *field,
		  size_t flen, const void *val, size_t vlen, bool *created) GROVE_MUST_CHECK;
int grove_lwwmap_delete(grove_value_t *v, const char *node, uint64_t ts, const void *field,
		     size_t flen, bool *removed) GROVE_MUST_CHECK;
/* GROVE_ENOTFOUND when the field is absent or deleted. */
int grove_lwwmap_get(const grove_value_t *v, const void *field, size_t flen, const void **val,
		  size_t *vlen) GROVE_MUST_CHECK;
size_t grove_lwwmap_count(const grove_value_t *v); /* live fields */
/* Live fields in bytewise field order, i < grove_lwwmap_count. */
void grove_lwwmap_entry(const grove_value_t *v, size_t i, const void **field, size_t *flen,
		     const void **val, size_t *vlen);

/* --- expiry (TTL; doc/value_format.md, "Expiry") ---
 * A key's deadline is an absolute time (unix ms) replicated in its head: an
 * LWW register by HLC id whose value is the deadline or "no TTL" (PERSIST),
 * with an observed-remove clear (SET without KEEPTTL, DEL, the expiry
 * itself remove the TTL write they saw; a concurrent unseen EXPIRE with a
 * greater id survives).  The value itself never hides: callers compare the
 * deadline with their clock (storage/ does). */
#define GROVE_EXPIRY_AT_MAX ((uint64_t)INT64_MAX)
/* The deadline, 0 when the key has no TTL. */
uint64_t grove_expiry_get(const grove_value_t *v);
/* Whether a TTL write (EXPIRE or PERSIST) is held. */
bool grove_expiry_written(const grove_value_t *v);
/* Writes deadline at_ms (0: PERSIST) with id (ts, node); a write older
 * than the held one or the tombstone changes nothing.  GROVE_EINVAL for a
 * bad node, ts 0 or at_ms > GROVE_EXPIRY_AT_MAX. */
int grove_expiry_set(grove_value_t *v, const char *node, uint64_t ts,
		     uint64_t at_ms) GROVE_MUST_CHECK;
/* Observed-remove of the held TTL write (no-op without one). */
void grove_expiry_clear(grove_value_t *v);

#endif
