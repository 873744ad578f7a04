/*
 * hcount.h - counter fields of hashes (HINCRBY): the CRDT rule and the
 * codec of the tagged entries a hash field record may hold
 * (doc/value_format.md, "Counter fields").
 *
 * A hash field is an element record of kind GROVE_ELEM_FIELD (coll.h):
 * observed-remove entries (dot, ts, value), immutable once written, merged
 * by grove_elem_merge.  An entry is one of
 *   plain  tag 0: the value an HSET wrote (the only kind before counter
 *          fields; encoded [node, counter, ts, value] as before);
 *   SET    tag 1: an HSET of a field that held counter state: the value,
 *          and per node the last increment of that node it observed (its
 *          "baseline"); payload
 *          n(u16 BE, >= 1) n x [len(u8) node chain(u64 BE) k(u64 BE) cum(i64 BE)]
 *          sorted by node, no duplicates, then the value's bytes;
 *   INC    tag 2: a node's increments: payload chain(u64 BE) cum(i64 BE),
 *          cum the sum of every HINCRBY delta of that node in one chain,
 *          chain the dot counter of the chain's first entry (1..the entry's
 *          own counter).
 * Tagged entries encode as [node, counter, ts, tag, payload].
 *
 * Read rule (the sorted-set score's, crdt/zscore.h, on int64 sums).  w =
 * the plain or SET entry with the greatest (ts, node, counter).  Without
 * INC entries the field reads w's value (an LWW field).  With them: when w
 * exists and its value is not a decimal int64 (Redis's strict form) the
 * field reads w's value (increments concurrent with a non-integer HSET stay
 * hidden); else base = w's integer (0 without w), and for each node X with
 * INC entries, e = the one with the greatest counter contributes
 *   e.cum - b.cum   when w has a baseline b for X in e's chain and e.counter > b.k,
 *   0               when w has such a baseline and e.counter <= b.k,
 *   e.cum           otherwise;
 * the field reads base + the contributions, in decimal (a 128-bit sum: a
 * total outside int64 reads as its digits and is "not an integer" to the
 * next HINCRBY, as in Redis).
 * Writes:
 *   HSET v      replaces every entry it observed by one entry: plain when
 *               they hold no counter state (no INC entry, no SET), else
 *               SET(v, baselines): per node the greatest (chain, k) among
 *               the INC entries and the baselines of the SETs observed;
 *   HINCRBY d   replaces the writer N's own INC entry (chain, cum) by
 *               INC(chain, cum + d) with a fresh dot, leaving every other
 *               entry (an HSET's value stays as the base: an HSET-written
 *               integer converts, counted once however many nodes convert
 *               it at once); without one (never written, or removed by an
 *               HSET, HDEL or DEL it has seen) it starts a new chain
 *               INC(its dot's counter, d).
 * Entries are an observed-remove set of immutable values, so replicas that
 * hold the same entries read the same value whatever the order of merges.
 */
#ifndef GROVE_CRDT_HCOUNT_H
#define GROVE_CRDT_HCOUNT_H

#include "crdt/coll.h"

#define GROVE_HENTRY_PLAIN 0
#define GROVE_HENTRY_SET 1
#define GROVE_HENTRY_INC 2
/* Baselines in one SET entry (one per node that ever incremented). */
#define GROVE_HBASE_MAX 1024
/* A SET payload: count, baselines, the value. */
#define GROVE_HSET_PAYLOAD_MAX (2 + GROVE_HBASE_MAX * (1 + GROVE_NODE_ID_MAX + 24) + GROVE_ELEM_VALUE_MAX)
/* A 128-bit decimal: sign, 39 digits, NUL. */
#define GROVE_HFIELD_DIGITS 48

/* What a read of a field returns. */
typedef struct grove_hfield_val {
	const uint8_t *p; /* the value: into the record, or into digits */
	size_t len;
	bool counter;     /* a counter field reading its sum (p = digits) */
	bool fits;        /* counter: the sum fits int64, in i64 */
	int64_t i64;
	char digits[GROVE_HFIELD_DIGITS];
} grove_hfield_val_t;

/* Checks one tagged entry's payload (hostile input): 0 or GROVE_EDECODE.
 * counter is the entry's dot counter. */
int grove_hentry_check(uint8_t tag, const uint8_t *p, size_t len, uint64_t counter);
/* The value of a field's entries (filtered, checked); GROVE_ENOTFOUND when
 * there is none.  *out points into x: valid while x is unchanged (and out
 * is not moved). */
int grove_hfield_eval(const grove_elem_t *x, grove_hfield_val_t *out) GROVE_MUST_CHECK;
/* Whether x holds counter state (INC or SET entries). */
bool grove_hfield_has_counter(const grove_elem_t *x);
/* HSET: out := one entry (d, ts, val): plain, or a SET with the baselines
 * of cur. */
int grove_hfield_set(const grove_elem_t *cur, const grove_value__dot_t *d, uint64_t ts,
		     const void *val, size_t vlen, grove_elem_t *out) GROVE_MUST_CHECK;
/* HINCRBY by d's node: out := cur without that node's INC entries, plus
 * INC(d, ts) adding delta; GROVE_EOVERFLOW when the node's chain total
 * would leave int64, GROVE_ETOOBIG when the record would pass
 * GROVE_ELEM_ENTRIES_MAX. */
int grove_hfield_incr(const grove_elem_t *cur, const grove_value__dot_t *d, uint64_t ts,
		      int64_t delta, grove_elem_t *out) GROVE_MUST_CHECK;
/* An oversized record after a merge keeps the read's winner and the INC
 * entries (the others are removed as observed: their dots are in the
 * context); plain records keep their winner only. */
void grove_hfield_trim(grove_elem_t *x);


#endif
