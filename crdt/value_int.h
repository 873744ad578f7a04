/*
 * value_int.h - private layout of grove_value_t, shared by the files of the
 * crdt/ layer (value.c, pncounter.c, lwwreg.c, orset.c, lwwmap.c, codec.c).
 * Nothing outside crdt/ includes it.
 *
 * A value is the product of one state per type plus a "type register":
 *   treg      LWW register (epoch, node, type) naming the visible type;
 *   counter   PN-counter entries with per-node reset baselines;
 *   reg       LWW register with an observed-remove tombstone;
 *   set       ORSWOT: elements with dots, version vector + dot cloud;
 *   map       per-field LWW with field tombstones (a key delete turns the
 *             live fields it sees into tombstones).
 * Every component is kept in canonical form (sorted arrays, no redundant
 * entries) after every operation, so equal states have equal encodings
 * (doc/value_format.md).  All arrays are sorted by their bytewise key.
 */
#ifndef GROVE_VALUE_INT_H
#define GROVE_VALUE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h" /* grove_grow */
#include "grove/value.h"

#define GROVE_VALUE_FORMAT_VERSION 1
/* Version 2: the same 7 items plus an 8th, the expiry component, written
 * only when that component is not empty (so values without TTL state keep
 * their version 1 bytes and digests). */
#define GROVE_VALUE_FORMAT_VERSION_EXPIRY 2
/* Entries in any one array of a decoded value (counter nodes, vv, cloud,
 * elements, dots of an element, map fields). */
#define GROVE_VALUE_ENTRIES_MAX (16u * 1024 * 1024)
/* The schema nests arrays at most this deep; the decoder never recurses. */
#define GROVE_VALUE_DEPTH_MAX 6

/* Binary string; p is NULL only when len is 0. */
typedef struct grove_value__blob {
	uint8_t *p;
	uint32_t len;
} grove_value__blob_t;

/* An event id: (HLC timestamp or epoch, node).  The "none" id is (0, ""),
 * smaller than every real id. */
typedef struct grove_value__id {
	uint64_t ts;
	char node[GROVE_NODE_ID_MAX + 1];
} grove_value__id_t;

typedef struct grove_value__dot {
	char node[GROVE_NODE_ID_MAX + 1];
	uint64_t counter;
} grove_value__dot_t;

typedef struct grove_value__treg {
	grove_value__id_t id; /* id.ts is a creation epoch, not a timestamp */
	uint8_t type;  /* grove_type_t */
} grove_value__treg_t;

typedef struct grove_value__pnentry {
	char node[GROVE_NODE_ID_MAX + 1];
	uint64_t p, n;   /* increment and decrement totals */
	uint64_t bp, bn; /* reset baselines: bp <= p, bn <= n */
} grove_value__pnentry_t;

typedef struct grove_value__counter {
	grove_value__pnentry_t *e;
	size_t len, cap;
} grove_value__counter_t;

typedef struct grove_value__reg {
	bool has;          /* a value newer than tomb */
	grove_value__id_t id;     /* (none) when !has */
	grove_value__blob_t val;
	grove_value__id_t tomb;   /* id of the last deleted value: ids <= it are gone */
} grove_value__reg_t;

typedef struct grove_value__dots {
	grove_value__dot_t *d;
	size_t len, cap;
} grove_value__dots_t;

typedef struct grove_value__elem {
	grove_value__blob_t elem;
	grove_value__dots_t dots; /* non-empty, sorted, each inside the context */
} grove_value__elem_t;

typedef struct grove_value__set {
	grove_value__dots_t vv;    /* (node, max contiguous counter), counter >= 1 */
	grove_value__dots_t cloud; /* dots not contiguous with vv */
	grove_value__elem_t *e;
	size_t len, cap;
} grove_value__set_t;

typedef struct grove_value__field {
	grove_value__blob_t field;
	grove_value__id_t id;
	bool has;         /* false: a field tombstone */
	grove_value__blob_t val;
} grove_value__field_t;

typedef struct grove_value__fields {
	grove_value__field_t *f;
	size_t len, cap;
} grove_value__fields_t;

/* Live fields and field tombstones are kept in two sorted arrays with
 * disjoint field names, so that the i-th live field is O(1). */
typedef struct grove_value__map {
	grove_value__fields_t live;  /* has == true */
	grove_value__fields_t tomb;  /* has == false */
} grove_value__map_t;

/* The TTL (expiry.c): an LWW write of the deadline (at_ms 0: PERSIST)
 * with an observed-remove tombstone.  Empty: every field zero. */
typedef struct grove_value__exp {
	grove_value__id_t id;   /* the write; the none id when there is none */
	uint64_t at_ms;         /* deadline, unix ms; 0 with the none id */
	grove_value__id_t tomb; /* id of the last write a TTL clear removed */
} grove_value__exp_t;

struct grove_value {
	grove_value__treg_t treg;
	grove_value__counter_t counter;
	grove_value__reg_t reg;
	grove_value__set_t set;
	grove_value__map_t map;
	grove_value__exp_t exp;
};

/* --- helpers (value.c) --- */
int grove_value__blob_cmp(const grove_value__blob_t *a, const void *p, size_t len);
int grove_value__blob_set(grove_value__blob_t *b, const void *p, size_t len) GROVE_MUST_CHECK;
void grove_value__blob_free(grove_value__blob_t *b);
int grove_value__id_cmp(const grove_value__id_t *a, const grove_value__id_t *b);
int grove_value__dot_cmp(const grove_value__dot_t *a, const grove_value__dot_t *b);
bool grove_value__node_valid(const char *node);
bool grove_value__blob_eq(const grove_value__blob_t *a, const grove_value__blob_t *b);
bool grove_value__dots_eq(const grove_value__dots_t *a, const grove_value__dots_t *b);
/* Binary search of a sorted array of count elements of elem_size bytes:
 * the first index whose element compares >= key under cmp(elem, key), with
 * *found telling whether it compares equal.  O(log count). */
typedef struct grove_value__bytes { /* a borrowed search key */
	const void *p;
	size_t len;
} grove_value__bytes_t;
typedef int (*grove_value__cmp_fn)(const void *elem, const void *key);
size_t grove_value__sorted_find(const void *base, size_t count, size_t elem_size, const void *key,
			  grove_value__cmp_fn cmp, bool *found);

/* --- per-component operations (one file each) --- */
void grove_value__counter_free(grove_value__counter_t *c);
bool grove_value__counter_live(const grove_value__counter_t *c);
void grove_value__counter_reset(grove_value__counter_t *c);
int grove_value__counter_merge(grove_value__counter_t *out, const grove_value__counter_t *a,
			const grove_value__counter_t *b) GROVE_MUST_CHECK;
bool grove_value__counter_eq(const grove_value__counter_t *a, const grove_value__counter_t *b);

void grove_value__reg_free(grove_value__reg_t *r);
bool grove_value__reg_live(const grove_value__reg_t *r);
/* Observed-remove reset (key delete): the tombstone becomes the id of the
 * value it removes; a no-op when there is none. */
void grove_value__reg_reset(grove_value__reg_t *r);
int grove_value__reg_merge(grove_value__reg_t *out, const grove_value__reg_t *a, const grove_value__reg_t *b) GROVE_MUST_CHECK;
uint64_t grove_value__reg_max_ts(const grove_value__reg_t *r);
bool grove_value__reg_eq(const grove_value__reg_t *a, const grove_value__reg_t *b);

void grove_value__set_free(grove_value__set_t *s);
bool grove_value__set_live(const grove_value__set_t *s);
void grove_value__set_reset(grove_value__set_t *s);
int grove_value__set_merge(grove_value__set_t *out, const grove_value__set_t *a, const grove_value__set_t *b) GROVE_MUST_CHECK;
bool grove_value__set_eq(const grove_value__set_t *a, const grove_value__set_t *b);
/* Compacts (vv, cloud) in place: absorbs contiguous cloud dots into vv. */
int grove_value__ctx_compact(grove_value__dots_t *vv, grove_value__dots_t *cloud) GROVE_MUST_CHECK;
bool grove_value__ctx_contains(const grove_value__set_t *s, const grove_value__dot_t *d);
/* The version vector's counter for node (0 if absent). */
uint64_t grove_value__vv_get(const grove_value__dots_t *vv, const char *node);

void grove_value__map_free(grove_value__map_t *m);
bool grove_value__map_live(const grove_value__map_t *m);
/* Observed-remove reset (key delete): every live field becomes a tombstone
 * at its own id.  GROVE_ENOMEM leaves m unchanged. */
int grove_value__map_reset(grove_value__map_t *m) GROVE_MUST_CHECK;
int grove_value__map_merge(grove_value__map_t *out, const grove_value__map_t *a, const grove_value__map_t *b) GROVE_MUST_CHECK;
uint64_t grove_value__map_max_ts(const grove_value__map_t *m);
bool grove_value__map_eq(const grove_value__map_t *a, const grove_value__map_t *b);

bool grove_value__exp_empty(const grove_value__exp_t *e);
/* Observed-remove clear: the tombstone becomes the write's id. */
void grove_value__exp_reset(grove_value__exp_t *e);
void grove_value__exp_merge(grove_value__exp_t *out, const grove_value__exp_t *a,
			    const grove_value__exp_t *b);
bool grove_value__exp_eq(const grove_value__exp_t *a, const grove_value__exp_t *b);
uint64_t grove_value__exp_max_ts(const grove_value__exp_t *e);

/* Starts a write of type t by node.  *work is v itself when v's visible
 * type is t; when v is logically empty, a clone of v whose live (hidden)
 * components are reset (observed-remove) and whose type register names t
 * at the next epoch; GROVE_EWRONGTYPE when v is live with another type. */
int grove_value__value_begin(grove_value_t *v, grove_type_t t, const char *node,
		      grove_value_t **work) GROVE_MUST_CHECK;
/* Ends a write begun by grove_value__value_begin: when rc is 0 and work is a
 * clone, installs it into v; frees the clone either way.  Returns rc. */
int grove_value_end(grove_value_t *v, grove_value_t *work, int rc);
void grove_value_free_parts(grove_value_t *v);

#endif
