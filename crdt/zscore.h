/*
 * zscore.h - the score of a sorted-set member: the CRDT rule and the codec
 * of the values carried by a member's entries (doc/value_format.md,
 * "Sorted sets").
 *
 * A sorted-set member is an element record of kind GROVE_ELEM_ZMEMBER
 * (coll.h): observed-remove entries (dot, ts, value), immutable once
 * written, merged by grove_elem_merge like a hash field's.  An entry's value
 * is one of
 *   SET  0x01 score(f64 BE) n(u16 BE) n x [len(u8) node chain(u64 BE) k(u64 BE) cum(f64 BE)]
 *        a ZADD: the score it set and, per node, the last increment of that
 *        node it observed (its "baseline"), sorted by node, no duplicates;
 *   INC  0x02 chain(u64 BE) cum(f64 BE)
 *        a node's increments: cum is the sum of every ZINCRBY delta of that
 *        node in one chain; chain is the dot counter of the chain's first
 *        entry (<= the entry's own counter).
 * No NaN anywhere.
 *
 * Read rule.  w = the SET entry with the greatest (ts, node, counter), base
 * = its score (0 when there is none).  For each node X with INC entries,
 * e = the one with the greatest counter; its contribution is
 *   e.cum - b.cum   when w has a baseline b for X in e's chain and e.counter > b.k,
 *   0               when w has such a baseline and e.counter <= b.k,
 *   e.cum           otherwise.
 * score = base + the contributions (nodes in order); a NaN reads as 0.
 * Writes:
 *   ZADD s      replaces every entry it observed by SET(s, baselines): for each
 *               node, the greatest (chain, k) among its INC entries and the
 *               baselines of the SETs observed;
 *   ZINCRBY d   replaces the writer N's own INC entry (chain, cum) by
 *               INC(chain, cum + d); without one (never written, or removed
 *               by a ZADD or ZREM) starts a new chain: INC(its dot, d).
 * Entries are an observed-remove set of immutable values, so replicas that
 * hold the same entries read the same score whatever the order of merges.
 * In words: the score is the winning ZADD's value plus every increment the
 * winning ZADD had not seen and no later ZADD or ZREM removed.
 */
#ifndef GROVE_CRDT_ZSCORE_H
#define GROVE_CRDT_ZSCORE_H

#include "crdt/coll.h"

#define GROVE_ZENTRY_SET 1
#define GROVE_ZENTRY_INC 2
/* Baselines in one SET entry (one per node that ever incremented). */
#define GROVE_ZBASE_MAX 1024

/* Checks one entry value (hostile input): 0 or GROVE_EDECODE.  counter is
 * the entry's dot counter (an INC's chain may not pass it). */
int grove_zentry_check(const uint8_t *p, size_t len, uint64_t counter);
/* The score of a member's entries (already filtered); GROVE_ENOTFOUND when
 * there is none.  Entries must have passed grove_zentry_check. */
int grove_zscore_eval(const grove_elem_t *x, double *score) GROVE_MUST_CHECK;
/* ZADD: out := one SET entry (d, ts, s) with the baselines of cur. */
int grove_zscore_set(const grove_elem_t *cur, const grove_value__dot_t *d, uint64_t ts, double s,
		     grove_elem_t *out) GROVE_MUST_CHECK;
/* ZINCRBY by d's node: out := cur without that node's INC entries, plus
 * INC(d, ts) adding delta. */
int grove_zscore_incr(const grove_elem_t *cur, const grove_value__dot_t *d, uint64_t ts,
		      double delta, grove_elem_t *out) GROVE_MUST_CHECK;

/* Order-preserving 8 bytes of a score (not NaN): byte order = numeric
 * order, -0 and +0 alike; and back. */
void grove_zscore_key(double s, uint8_t out[8]);
double grove_zscore_from_key(const uint8_t in[8]);

#endif
