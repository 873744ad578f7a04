/*
 * value_impl.h - private layout of grove_value_t, shared by the files of the
 * crdt/ layer (value.c, pncounter.c, lwwreg.c, orset.c, lwwmap.c, codec.c).
 * Nothing outside crdt/ includes it.
 *
 * A value is the product of one state per type plus a "type register":
 *   treg      LWW register (epoch, node, type) naming the visible type;
 *   counter   PN-counter entries with per-node reset baselines;
 *   reg       LWW register with an observed-remove tombstone;
 *   set       ORSWOT: elements with dots, version vector + dot cloud;
 *   map       per-field LWW with field tombstones and a key-delete id.
 * Every component is kept in canonical form (sorted arrays, no redundant
 * entries) after every operation, so equal states have equal encodings
 * (doc/value_format.md).  All arrays are sorted by their bytewise key.
 */
#ifndef GROVE_VALUE_IMPL_H
#define GROVE_VALUE_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crdt/value.h"

#define GROVE_VALUE_FORMAT_VERSION 1
/* Entries in any one array of a decoded value (counter nodes, vv, cloud,
 * elements, dots of an element, map fields). */
#define GROVE_VALUE_ENTRIES_MAX (16u * 1024 * 1024)
/* The schema nests arrays at most this deep; the decoder never recurses. */
#define GROVE_VALUE_DEPTH_MAX 6

/* Binary string; p is NULL only when len is 0. */
typedef struct grove__blob {
	uint8_t *p;
	uint32_t len;
} grove__blob_t;

/* An event id: (HLC timestamp or epoch, node).  The "none" id is (0, ""),
 * smaller than every real id. */
typedef struct grove__id {
	uint64_t ts;
	char node[GROVE_NODE_ID_MAX + 1];
} grove__id_t;

typedef struct grove__dot {
	char node[GROVE_NODE_ID_MAX + 1];
	uint64_t counter;
} grove__dot_t;

typedef struct grove__treg {
	grove__id_t id; /* id.ts is a creation epoch, not a timestamp */
	uint8_t type;  /* grove_type_t */
} grove__treg_t;

typedef struct grove__pnentry {
	char node[GROVE_NODE_ID_MAX + 1];
	uint64_t p, n;   /* increment and decrement totals */
	uint64_t bp, bn; /* reset baselines: bp <= p, bn <= n */
} grove__pnentry_t;

typedef struct grove__counter {
	grove__pnentry_t *e;
	size_t len, cap;
} grove__counter_t;

typedef struct grove__reg {
	bool has;          /* a value newer than tomb */
	grove__id_t id;     /* (none) when !has */
	grove__blob_t val;
	grove__id_t tomb;   /* values with id <= tomb are deleted */
} grove__reg_t;

typedef struct grove__dots {
	grove__dot_t *d;
	size_t len, cap;
} grove__dots_t;

typedef struct grove__elem {
	grove__blob_t elem;
	grove__dots_t dots; /* non-empty, sorted, each inside the context */
} grove__elem_t;

typedef struct grove__set {
	grove__dots_t vv;    /* (node, max contiguous counter), counter >= 1 */
	grove__dots_t cloud; /* dots not contiguous with vv */
	grove__elem_t *e;
	size_t len, cap;
} grove__set_t;

typedef struct grove__field {
	grove__blob_t field;
	grove__id_t id;
	bool has;         /* false: a field tombstone */
	grove__blob_t val;
} grove__field_t;

typedef struct grove__fields {
	grove__field_t *f;
	size_t len, cap;
} grove__fields_t;

/* Live fields and field tombstones are kept in two sorted arrays with
 * disjoint field names, so that the i-th live field is O(1). */
typedef struct grove__map {
	grove__id_t del;       /* key delete: fields with id <= del are gone */
	grove__fields_t live;  /* has == true */
	grove__fields_t tomb;  /* has == false */
} grove__map_t;

struct grove_value {
	grove__treg_t treg;
	grove__counter_t counter;
	grove__reg_t reg;
	grove__set_t set;
	grove__map_t map;
};

/* --- helpers (value.c) --- */
int grove__blob_cmp(const grove__blob_t *a, const void *p, size_t len);
int grove__blob_set(grove__blob_t *b, const void *p, size_t len) GROVE_MUST_CHECK;
void grove__blob_free(grove__blob_t *b);
int grove__id_cmp(const grove__id_t *a, const grove__id_t *b);
int grove__dot_cmp(const grove__dot_t *a, const grove__dot_t *b);
bool grove__node_valid(const char *node);
bool grove__blob_eq(const grove__blob_t *a, const grove__blob_t *b);
bool grove__dots_eq(const grove__dots_t *a, const grove__dots_t *b);
/* Grows *arr (elements of elem_size) so that it holds at least need. */
int grove__vec_reserve(void **arr, size_t *cap, size_t need, size_t elem_size) GROVE_MUST_CHECK;
/* Binary search of a sorted array of count elements of elem_size bytes:
 * the first index whose element compares >= key under cmp(elem, key), with
 * *found telling whether it compares equal.  O(log count). */
typedef struct grove__bytes { /* a borrowed search key */
	const void *p;
	size_t len;
} grove__bytes_t;
typedef int (*grove__cmp_fn)(const void *elem, const void *key);
size_t grove__sorted_find(const void *base, size_t count, size_t elem_size, const void *key,
			  grove__cmp_fn cmp, bool *found);

/* --- per-component operations (one file each) --- */
void grove__counter_free(grove__counter_t *c);
bool grove__counter_live(const grove__counter_t *c);
void grove__counter_reset(grove__counter_t *c);
int grove__counter_merge(grove__counter_t *out, const grove__counter_t *a,
			const grove__counter_t *b) GROVE_MUST_CHECK;
bool grove__counter_eq(const grove__counter_t *a, const grove__counter_t *b);

void grove__reg_free(grove__reg_t *r);
bool grove__reg_live(const grove__reg_t *r);
void grove__reg_reset(grove__reg_t *r, const grove__id_t *del);
int grove__reg_merge(grove__reg_t *out, const grove__reg_t *a, const grove__reg_t *b) GROVE_MUST_CHECK;
uint64_t grove__reg_max_ts(const grove__reg_t *r);
bool grove__reg_eq(const grove__reg_t *a, const grove__reg_t *b);

void grove__set_free(grove__set_t *s);
bool grove__set_live(const grove__set_t *s);
void grove__set_reset(grove__set_t *s);
int grove__set_merge(grove__set_t *out, const grove__set_t *a, const grove__set_t *b) GROVE_MUST_CHECK;
bool grove__set_eq(const grove__set_t *a, const grove__set_t *b);
/* Compacts (vv, cloud) in place: absorbs contiguous cloud dots into vv. */
int grove__ctx_compact(grove__dots_t *vv, grove__dots_t *cloud) GROVE_MUST_CHECK;
bool grove__ctx_contains(const grove__set_t *s, const grove__dot_t *d);
/* The version vector's counter for node (0 if absent). */
uint64_t grove__vv_get(const grove__dots_t *vv, const char *node);

void grove__map_free(grove__map_t *m);
bool grove__map_live(const grove__map_t *m);
void grove__map_reset(grove__map_t *m, const grove__id_t *del);
int grove__map_merge(grove__map_t *out, const grove__map_t *a, const grove__map_t *b) GROVE_MUST_CHECK;
uint64_t grove__map_max_ts(const grove__map_t *m);
bool grove__map_eq(const grove__map_t *a, const grove__map_t *b);

/* Starts a write of type t by node.  *work is v itself when v's visible
 * type is t; when v is logically empty, a clone of v whose live (hidden)
 * components are reset (observed-remove) and whose type register names t
 * at the next epoch; GROVE_EWRONGTYPE when v is live with another type. */
int grove__value_begin(grove_value_t *v, grove_type_t t, const char *node,
		      grove_value_t **work) GROVE_MUST_CHECK;
/* Ends a write begun by grove__value_begin: when rc is 0 and work is a
 * clone, installs it into v; frees the clone either way.  Returns rc. */
int grove_value_end(grove_value_t *v, grove_value_t *work, int rc);
void grove_value_free_parts(grove_value_t *v);

#endif
