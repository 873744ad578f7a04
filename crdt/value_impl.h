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
typedef struct grove_blob {
	uint8_t *p;
	uint32_t len;
} grove_blob_t;

/* An event id: (HLC timestamp or epoch, node).  The "none" id is (0, ""),
 * smaller than every real id. */
typedef struct grove_id {
	uint64_t ts;
	char node[GROVE_NODE_ID_MAX + 1];
} grove_id_t;

typedef struct grove_dot {
	char node[GROVE_NODE_ID_MAX + 1];
	uint64_t counter;
} grove_dot_t;

typedef struct grove_treg {
	grove_id_t id; /* id.ts is a creation epoch, not a timestamp */
	uint8_t type;  /* grove_type_t */
} grove_treg_t;

typedef struct grove_pnentry {
	char node[GROVE_NODE_ID_MAX + 1];
	uint64_t p, n;   /* increment and decrement totals */
	uint64_t bp, bn; /* reset baselines: bp <= p, bn <= n */
} grove_pnentry_t;

typedef struct grove_counter {
	grove_pnentry_t *e;
	size_t len, cap;
} grove_counter_t;

typedef struct grove_reg {
	bool has;          /* a value newer than tomb */
	grove_id_t id;     /* (none) when !has */
	grove_blob_t val;
	grove_id_t tomb;   /* values with id <= tomb are deleted */
} grove_reg_t;

typedef struct grove_dots {
	grove_dot_t *d;
	size_t len, cap;
} grove_dots_t;

typedef struct grove_elem {
	grove_blob_t elem;
	grove_dots_t dots; /* non-empty, sorted, each inside the context */
} grove_elem_t;

typedef struct grove_set {
	grove_dots_t vv;    /* (node, max contiguous counter), counter >= 1 */
	grove_dots_t cloud; /* dots not contiguous with vv */
	grove_elem_t *e;
	size_t len, cap;
} grove_set_t;

typedef struct grove_field {
	grove_blob_t field;
	grove_id_t id;
	bool has;         /* false: a field tombstone */
	grove_blob_t val;
} grove_field_t;

typedef struct grove_fields {
	grove_field_t *f;
	size_t len, cap;
} grove_fields_t;

/* Live fields and field tombstones are kept in two sorted arrays with
 * disjoint field names, so that the i-th live field is O(1). */
typedef struct grove_map {
	grove_id_t del;       /* key delete: fields with id <= del are gone */
	grove_fields_t live;  /* has == true */
	grove_fields_t tomb;  /* has == false */
} grove_map_t;

struct grove_value {
	grove_treg_t treg;
	grove_counter_t counter;
	grove_reg_t reg;
	grove_set_t set;
	grove_map_t map;
};

/* --- helpers (value.c) --- */
int grove_blob_cmp(const grove_blob_t *a, const void *p, size_t len);
int grove_blob_set(grove_blob_t *b, const void *p, size_t len) GROVE_MUST_CHECK;
void grove_blob_free(grove_blob_t *b);
int grove_id_cmp(const grove_id_t *a, const grove_id_t *b);
int grove_dot_cmp(const grove_dot_t *a, const grove_dot_t *b);
bool grove_node_valid(const char *node);
bool grove_blob_eq(const grove_blob_t *a, const grove_blob_t *b);
bool grove_dots_eq(const grove_dots_t *a, const grove_dots_t *b);
/* Grows *arr (elements of elem_size) so that it holds at least need. */
int grove_vec_reserve(void **arr, size_t *cap, size_t need, size_t elem_size) GROVE_MUST_CHECK;

/* --- per-component operations (one file each) --- */
void grove_counter_free(grove_counter_t *c);
bool grove_counter_live(const grove_counter_t *c);
void grove_counter_reset(grove_counter_t *c);
int grove_counter_merge(grove_counter_t *out, const grove_counter_t *a,
			const grove_counter_t *b) GROVE_MUST_CHECK;
bool grove_counter_eq(const grove_counter_t *a, const grove_counter_t *b);

void grove_reg_free(grove_reg_t *r);
bool grove_reg_live(const grove_reg_t *r);
void grove_reg_reset(grove_reg_t *r, const grove_id_t *del);
int grove_reg_merge(grove_reg_t *out, const grove_reg_t *a, const grove_reg_t *b) GROVE_MUST_CHECK;
uint64_t grove_reg_max_ts(const grove_reg_t *r);
bool grove_reg_eq(const grove_reg_t *a, const grove_reg_t *b);

void grove_set_free(grove_set_t *s);
bool grove_set_live(const grove_set_t *s);
void grove_set_reset(grove_set_t *s);
int grove_set_merge(grove_set_t *out, const grove_set_t *a, const grove_set_t *b) GROVE_MUST_CHECK;
bool grove_set_eq(const grove_set_t *a, const grove_set_t *b);
/* Compacts (vv, cloud) in place: absorbs contiguous cloud dots into vv. */
int grove_ctx_compact(grove_dots_t *vv, grove_dots_t *cloud) GROVE_MUST_CHECK;
bool grove_ctx_contains(const grove_set_t *s, const grove_dot_t *d);
/* The version vector's counter for node (0 if absent). */
uint64_t grove_vv_get(const grove_dots_t *vv, const char *node);

void grove_map_free(grove_map_t *m);
bool grove_map_live(const grove_map_t *m);
void grove_map_reset(grove_map_t *m, const grove_id_t *del);
int grove_map_merge(grove_map_t *out, const grove_map_t *a, const grove_map_t *b) GROVE_MUST_CHECK;
uint64_t grove_map_max_ts(const grove_map_t *m);
bool grove_map_eq(const grove_map_t *a, const grove_map_t *b);

/* Starts a write of type t by node.  *work is v itself when v's visible
 * type is t; when v is logically empty, a clone of v whose live (hidden)
 * components are reset (observed-remove) and whose type register names t
 * at the next epoch; GROVE_EWRONGTYPE when v is live with another type. */
int grove_value_begin(grove_value_t *v, grove_type_t t, const char *node,
		      grove_value_t **work) GROVE_MUST_CHECK;
/* Ends a write begun by grove_value_begin: when rc is 0 and work is a
 * clone, installs it into v; frees the clone either way.  Returns rc. */
int grove_value_end(grove_value_t *v, grove_value_t *work, int rc);
void grove_value_free_parts(grove_value_t *v);

#endif
