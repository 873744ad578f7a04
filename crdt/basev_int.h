/*
 * basev_int.h - the baseline machinery of the two CRDT rules in which a
 * write that sets a value and concurrent per-node increments converge:
 * sorted-set scores (zscore.h: doubles) and counter fields of hashes
 * (hcount.h: int64 with a 128-bit total).  Internal to crdt/.
 *
 * Both keep, in one element record (coll.h), two kinds of entries:
 *   INC  a node's increments: chain(u64 BE) cum(8 bytes BE): cum the sum
 *        of the node's deltas in one chain, chain the dot counter of the
 *        chain's first entry (1 .. the entry's own counter);
 *   SET  a write of a value: head, a baseline list, tail (the value is
 *        the rule's: a score in the head, an HSET's bytes in the tail).
 *        The list holds per node the last increment of that node the write
 *        observed,
 *          n(u16 BE) n x [len(u8) node chain(u64 BE) k(u64 BE) cum(8 bytes BE)]
 *        sorted by node (grove_key_cmp, base/bytes.h), no duplicates,
 *        1 <= len <= GROVE_NODE_ID_MAX, no NUL in a node, 1 <= chain <= k.
 * The read rule both share: w = the winning non-INC entry (grove_entry_wins);
 * the latest INC entry e of each node adds e.cum - b.cum when w has a
 * baseline b for the node in e's chain and e.counter > b.k, nothing when it
 * has one and e.counter <= b.k, e.cum otherwise.
 *
 * A SET write replaces what it observed by one SET entry whose list holds,
 * per node, the greatest (chain, k) among the INC entries and the lists it
 * replaces; an INC write replaces the writer's own INC entry.
 *
 * What differs is a rule's descriptor, grove_basev_rule_t: where an entry's
 * tag sits (the value's first byte, or the entry's tag), where the INC
 * fields and the SET's list sit in the value, which cums decode and a few
 * write limits.  This module never reads a cum as a number: it hands the 8
 * bytes (as a u64) to the rule, which sums them in its own type.
 * Entries given to the read and write functions must have passed the
 * rule's checks (the codec below); the checks take hostile input.
 */
#ifndef GROVE_CRDT_BASEV_INT_H
#define GROVE_CRDT_BASEV_INT_H

#include "crdt/coll.h"

/* The entry tags both rules use (zscore.h GROVE_ZENTRY_*, hcount.h
 * GROVE_HENTRY_*). */
#define GROVE_BASEV_SET 1
#define GROVE_BASEV_INC 2
/* Baselines in one list (one per node that ever incremented). */
#define GROVE_BASEV_MAX 1024
/* A baseline's bytes after its node: chain, k, cum. */
#define GROVE_BASEV_FIXED 24
/* An INC payload: chain, cum. */
#define GROVE_BASEV_INC_BYTES 16

typedef struct grove_basev_rule {
	bool tag_in_val;     /* the tag is the value's first byte (else e->tag) */
	size_t inc_at;       /* INC: offset of chain in the value (cum follows) */
	size_t set_at;       /* SET: offset of the baseline list in the value */
	size_t entries_max;  /* an INC write's result refused above (GROVE_ETOOBIG) */
	bool set_plain;      /* a SET that observed no counter state writes a plain
				entry (grove_elem_set_one: its tail only) */
	bool (*cum_ok)(uint64_t cum); /* whether a cum decodes (NULL: any) */
} grove_basev_rule_t;

/* What the latest INC entry of one node adds to a read. */
enum { GROVE_BASEV_ADD_NONE, GROVE_BASEV_ADD_CUM, GROVE_BASEV_ADD_DIFF };
typedef struct grove_basev_add {
	int how;      /* NONE: 0; CUM: cum; DIFF: cum - base */
	uint64_t cum; /* e.cum */
	uint64_t base; /* b.cum (DIFF) */
} grove_basev_add_t;

/* ---- codec (hostile input) ---- */

/* Checks the baseline list at p[0..len) (len: what the value holds from
 * the list on): 0 with *n baselines in *used bytes, or GROVE_EDECODE. */
int grove_basev__check(const grove_basev_rule_t *r, const uint8_t *p, size_t len, size_t *n,
		       size_t *used);
/* Checks an INC value of an entry with dot counter counter: 0 or
 * GROVE_EDECODE. */
int grove_basev__inc_check(const grove_basev_rule_t *r, const uint8_t *p, size_t len,
			   uint64_t counter);

/* ---- checked entries ---- */

/* A checked SET entry's tail (the bytes after its baselines): *len bytes
 * from the pointer returned, into e's value.  O(baselines). */
const uint8_t *grove_basev__set_tail(const grove_basev_rule_t *r, const grove_entry_t *e,
				     size_t *len);

/* ---- the read rule ---- */

/* The non-INC entry with the greatest (ts, node, counter); NULL: none. */
const grove_entry_t *grove_basev__winner(const grove_basev_rule_t *r, const grove_elem_t *x);
/* Walks the nodes with INC entries in x from *i on (start at 0): false
 * past the last, else what the node's latest INC entry adds against the
 * winner w (NULL: none).  O(entries + baselines of w) a node. */
bool grove_basev__add_next(const grove_basev_rule_t *r, const grove_elem_t *x,
			   const grove_entry_t *w, size_t *i, grove_basev_add_t *out);

/* ---- writes ---- */

/* out := one SET entry (d, ts) replacing cur: its value head (r->set_at
 * bytes), the baselines, tail[0..tail_len); the baselines per node the
 * greatest (chain, k) among cur's INC entries and its SETs' baselines.
 * GROVE_ETOOBIG past GROVE_BASEV_MAX nodes, GROVE_ENOMEM; out is untouched
 * on failure. */
int grove_basev__set(const grove_basev_rule_t *r, const grove_elem_t *cur,
		     const grove_value__dot_t *d, uint64_t ts, const uint8_t *head, const void *tail,
		     size_t tail_len, grove_elem_t *out) GROVE_MUST_CHECK;
/* The chain an INC write of node continues in x: true with the chain and
 * cum of node's latest INC entry; false when node has none (the write
 * starts a new chain: its own dot counter). */
bool grove_basev__chain(const grove_basev_rule_t *r, const grove_elem_t *x, const char *node,
			uint64_t *chain, uint64_t *cum);
/* out := cur without the INC entries of d's node, plus the INC entry (d,
 * ts, val[0..len)) in dot order; GROVE_ETOOBIG above r->entries_max
 * entries.  out is untouched on failure. */
int grove_basev__incr(const grove_basev_rule_t *r, const grove_elem_t *cur,
		      const grove_value__dot_t *d, uint64_t ts, const uint8_t *val, size_t len,
		      grove_elem_t *out) GROVE_MUST_CHECK;

#endif
