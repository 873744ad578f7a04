/*
 * db_lwin_int.h - the head windows of lists (db_lwin.c), for db_list.c's
 * reads: the first elements of the last list a read walked from its head,
 * one window per key stripe, valid while the list's live elements are
 * those it was read from (doc/value_format.md "Lists", "Positions").
 *
 * A window is immutable once published and reference-counted: every
 * pointer these functions return or take holds one reference, given back
 * with grove_db__lwin_release.  Thread-safe (readers never wait for a
 * writer: a busy stripe lock reads as no window).
 */
#ifndef GROVE_DB_LWIN_INT_H
#define GROVE_DB_LWIN_INT_H

#include "storage/db_coll_int.h"

typedef struct grove_db_lwin lwin_t;

/* The stripe's window when it holds k's list as m (the reader's metadata,
 * same snapshot as its range) shows it: same key, live count and element
 * sum; else NULL. */
lwin_t *grove_db__lwin_get(grove_db_t *db, const grove_db_key_t *k, const meta_t *m);
/* Its element count: it holds the list's elements 0 .. that - 1. */
size_t grove_db__lwin_len(const lwin_t *w);
/* Hands elements [start, stop] to fn (0 <= start <= stop < len), until fn
 * returns non-zero. */
void grove_db__lwin_emit(const lwin_t *w, int64_t start, int64_t stop, grove_db_elem_fn fn,
			 void *ctx);

/* A new window for k's list as m shows it, to fill with the list's
 * elements from the head in order (grove_db__lwin_take), or NULL when
 * memory is short. */
lwin_t *grove_db__lwin_new(const grove_db_key_t *k, const meta_t *m);
/* Appends the next element, unless the window is full (then it takes no
 * later one: a window is a prefix of its list). */
void grove_db__lwin_take(lwin_t *w, const uint8_t *id, size_t idlen, const uint8_t *val,
			 size_t vlen);
/* Makes w the stripe's window (when it holds an element and the lock is
 * free); takes the caller's reference either way. */
void grove_db__lwin_publish(grove_db_t *db, const grove_db_key_t *k, lwin_t *w);

/* Gives a reference back (NULL: nothing); the last frees the window. */
void grove_db__lwin_release(lwin_t *w);

#endif
