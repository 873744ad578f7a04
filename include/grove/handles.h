/*
 * handles.h - the embedded typed API, in the shape of Grove's Go package
 * kvcrdt: Counter, Register, Set and Map handles on (db, key).
 *
 * A handle is a caller-allocated struct holding the db and a copy of the
 * key: grove_<type>_init / grove_<type>_close pair, and close is safe on a
 * zeroed struct.  The node id and clock are the db's (grove_db_options_t):
 * the default node id "default" is only safe with a single writer, since two
 * writers sharing one id overwrite each other's counter shares and dots.
 *
 * Every function is a thin wrapper over db.h, so all of its guarantees
 * hold: atomic read-modify-write, HLC advanced past the stored state,
 * durability per mode, GROVE_EWRONGTYPE (changing nothing) when the key
 * holds a live value of another type.  Results go through out-parameters,
 * untouched on failure.  Byte buffers returned are allocated with
 * grove_malloc (free with grove_free; lists with grove_bytes_list_free).
 * A handle may be used from several threads at once.
 */
#ifndef GROVE_HANDLES_H
#define GROVE_HANDLES_H

#include "grove/db.h"

typedef struct grove_handle {
	grove_db_t *db;
	uint8_t *key;
	size_t klen;
} grove_handle_t;

typedef struct grove_counter { grove_handle_t h; } grove_counter_t;
typedef struct grove_register { grove_handle_t h; } grove_register_t;
typedef struct grove_set { grove_handle_t h; } grove_set_t;
typedef struct grove_map { grove_handle_t h; } grove_map_t;

/* One byte string, and a list of them (sorted bytewise where stated). */
typedef struct grove_bytes {
	uint8_t *data;
	size_t len;
} grove_bytes_t;

typedef struct grove_bytes_list {
	grove_bytes_t *items;
	size_t count;
} grove_bytes_list_t;

void grove_bytes_list_free(grove_bytes_list_t *list); /* frees items; list reusable */

/* --- counter --- */
int grove_counter_init(grove_counter_t *c, grove_db_t *db, const void *key,
		       size_t klen) GROVE_MUST_CHECK;
void grove_counter_close(grove_counter_t *c);
int grove_counter_incr(grove_counter_t *c, int64_t delta, int64_t *new_value) GROVE_MUST_CHECK;
/* decr(d) is incr(-d); GROVE_EOVERFLOW for d = INT64_MIN. */
int grove_counter_decr(grove_counter_t *c, int64_t delta, int64_t *new_value) GROVE_MUST_CHECK;
/* 0 when the key is absent or deleted. */
int grove_counter_value(grove_counter_t *c, int64_t *out) GROVE_MUST_CHECK;
int grove_counter_delete_key(grove_counter_t *c, bool *existed) GROVE_MUST_CHECK;

/* --- register --- */
int grove_register_init(grove_register_t *r, grove_db_t *db, const void *key,
			size_t klen) GROVE_MUST_CHECK;
void grove_register_close(grove_register_t *r);
int grove_register_set(grove_register_t *r, const void *val, size_t len) GROVE_MUST_CHECK;
/* GROVE_ENOTFOUND when never set or deleted; an empty value is found with
 * len 0 (and a non-NULL buffer). */
int grove_register_get(grove_register_t *r, uint8_t **val, size_t *len) GROVE_MUST_CHECK;
int grove_register_delete_key(grove_register_t *r, bool *existed) GROVE_MUST_CHECK;

/* --- set (add-wins) --- */
int grove_set_init(grove_set_t *s, grove_db_t *db, const void *key, size_t klen) GROVE_MUST_CHECK;
void grove_set_close(grove_set_t *s);
int grove_set_add(grove_set_t *s, const void *elem, size_t len, bool *added) GROVE_MUST_CHECK;
int grove_set_remove(grove_set_t *s, const void *elem, size_t len, bool *removed) GROVE_MUST_CHECK;
int grove_set_contains(grove_set_t *s, const void *elem, size_t len, bool *out) GROVE_MUST_CHECK;
/* Members sorted bytewise; an empty list when absent.  O(members). */
int grove_set_members(grove_set_t *s, grove_bytes_list_t *out) GROVE_MUST_CHECK;
int grove_set_delete_key(grove_set_t *s, bool *existed) GROVE_MUST_CHECK;

/* --- map (per-field last-writer-wins) --- */
int grove_map_init(grove_map_t *m, grove_db_t *db, const void *key, size_t klen) GROVE_MUST_CHECK;
void grove_map_close(grove_map_t *m);
int grove_map_set(grove_map_t *m, const void *field, size_t flen, const void *val, size_t vlen,
		  bool *created) GROVE_MUST_CHECK;
/* GROVE_ENOTFOUND when the field (or the key) is absent. */
int grove_map_get(grove_map_t *m, const void *field, size_t flen, uint8_t **val,
		  size_t *vlen) GROVE_MUST_CHECK;
int grove_map_delete(grove_map_t *m, const void *field, size_t flen, bool *removed) GROVE_MUST_CHECK;
/* Fields sorted bytewise; all gives fields and values index by index. */
int grove_map_keys(grove_map_t *m, grove_bytes_list_t *fields) GROVE_MUST_CHECK;
int grove_map_all(grove_map_t *m, grove_bytes_list_t *fields,
		  grove_bytes_list_t *values) GROVE_MUST_CHECK;
int grove_map_delete_key(grove_map_t *m, bool *existed) GROVE_MUST_CHECK;

#endif
