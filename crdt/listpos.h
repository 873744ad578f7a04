/*
 * listpos.h - position identifiers of list elements (doc/value_format.md,
 * "Lists").  A list element is a record named by its position id; the
 * list's order is the ids' bytewise order, so the store keeps a list
 * sorted and an element is found at either end in O(log n).
 *
 * An id is a non-empty sequence of triples (digit, node, counter), compared
 * lexicographically (a prefix first), encoded so that bytewise order is that
 * order:
 *   digit    8 bytes, big-endian (1 .. 2^64-1; 0 only in a filler triple)
 *   node     1..GROVE_NODE_ID_MAX bytes, no 0x00, then one 0x00
 *   counter  8 bytes, big-endian (>= 1)
 * A filler triple is (0, "", 0): 17 bytes 00.. (it pads a level where the
 * new id must sort below a neighbour's digit 1; never the last triple).
 * The last triple's (node, counter) is the dot of the insert that made the
 * id, unique in the key: two ids made concurrently never collide, and two
 * inserts at the same place on two nodes sort by (digit, node, counter).
 *
 * grove_listpos_between (Logoot-style allocation, with a step so that
 * pushes stay one triple): walking the levels of the neighbours lo < hi,
 * the first level with a free digit strictly between theirs takes it; an
 * open side (no neighbour, or one that already differs above) bounds
 * nothing.  Pushes at an end step GROVE_LISTPOS_STEP away from the end's
 * digit, so 2^43 pushes at each end from the first element stay one
 * triple; inserts between two neighbours take the point at most a step
 * (or half the gap) from the side named by the hint, and go one level
 * deeper only when the gap is used up.
 */
#ifndef GROVE_CRDT_LISTPOS_H
#define GROVE_CRDT_LISTPOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "grove/value.h"

#define GROVE_LISTPOS_MAX GROVE_ELEM_MAX /* bytes of one id */
#define GROVE_LISTPOS_TRIPLE_MIN 17      /* digit, "" + 0x00, counter */
#define GROVE_LISTPOS_STEP (1ull << 20)  /* distance between pushed digits */
#define GROVE_LISTPOS_MID (1ull << 63)   /* digit of the first element */

enum {
	GROVE_LISTPOS_NEAR_LO = 0, /* leave room above the new id (RPUSH, LINSERT BEFORE) */
	GROVE_LISTPOS_NEAR_HI = 1, /* leave room below it (LPUSH, LINSERT AFTER) */
};

/* Writes into out (GROVE_LISTPOS_MAX bytes) an id strictly between lo and
 * hi (NULL: no neighbour on that side; lo < hi when both are given) whose
 * last triple is (digit, node, counter).  GROVE_EINVAL for a malformed
 * neighbour, lo >= hi, or a bad node / counter 0; GROVE_ETOOBIG when the id
 * would pass GROVE_LISTPOS_MAX. */
int grove_listpos_between(const uint8_t *lo, size_t lo_len, const uint8_t *hi, size_t hi_len,
			  const char *node, uint64_t counter, int hint, uint8_t *out,
			  size_t *out_len) GROVE_MUST_CHECK;
/* Whether p is a well-formed id (hostile input: records, item names). */
bool grove_listpos_valid(const uint8_t *p, size_t len);
/* The dot of a well-formed id: its last triple's node (in place, without
 * the 0x00) and counter; false (outputs untouched) when p is not one. */
bool grove_listpos_dot(const uint8_t *p, size_t len, const uint8_t **node, size_t *node_len,
		       uint64_t *counter);

#endif
