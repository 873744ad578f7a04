/*
 * pace.h - when a differing DIGEST opens a session (internal to
 * gossip/ae/antientropy.c): two small per-peer tables.
 *
 *  - Spacing: a peer whose last session with this node took long waits
 *    three times that session's duration (bounded by the caller) before
 *    the next one, so that while a writer keeps every digest different,
 *    sessions take at most a quarter of the time.
 *  - Confirmation: a root difference is acted on only once it has lasted
 *    `hold_ms` (since the first differing DIGEST from that peer with no
 *    equal one after it).  A write is pushed within a push interval, so
 *    a digest that crossed the push sees a difference that the push
 *    repairs for a few hundred bytes; walking the tree for it costs
 *    kilobytes (one element of a 10^6-element key: 4.5-8 KB).  A
 *    difference that lasts past hold_ms (a lost push, a partition, a
 *    peer that was down) is repaired at the next differing digest.
 *
 * Each table holds GROVE_AE_PACE_PEERS peers; a peer not found is handled
 * as if never seen (no wait, a difference first seen now).  Costs
 * O(GROVE_AE_PACE_PEERS) string compares per call.  Not thread-safe (the
 * core's thread only).
 */
#ifndef GROVE_AE_PACE_H
#define GROVE_AE_PACE_H

#include <stdbool.h>
#include <stdint.h>

#include "gossip/ae/antientropy.h"

#define GROVE_AE_PACE_PEERS 32 /* peers remembered by each table */

typedef struct grove_ae_pace_ent {
	char addr[GROVE_AE_ADDR_MAX + 1];
	uint64_t at_ms; /* spacing: until when; confirmation: differing since (0: free) */
} grove_ae_pace_ent_t;

typedef struct grove_ae_pace {
	grove_ae_pace_ent_t spaced[GROVE_AE_PACE_PEERS];
	grove_ae_pace_ent_t differ[GROVE_AE_PACE_PEERS];
} grove_ae_pace_t;

/* A session with addr ended at now_ms: no next one before now_ms + gap_ms.
 * The entry of the same peer, else the soonest to end, is reused. */
void grove_ae_pace_space(grove_ae_pace_t *p, const char *addr, uint64_t now_ms, uint64_t gap_ms);
/* True while addr's spacing lasts. */
bool grove_ae_pace_spaced(const grove_ae_pace_t *p, const char *addr, uint64_t now_ms);

/* addr's DIGEST equals our root: a later difference is new. */
void grove_ae_pace_equal(grove_ae_pace_t *p, const char *addr);
/* addr's DIGEST differs from our root at now_ms: returns for how long its
 * digests have differed (0 when first seen now; the entry of the same
 * peer, else a free one, else the one first seen last is taken, so the
 * peers differing longest keep their place). */
uint64_t grove_ae_pace_differ(grove_ae_pace_t *p, const char *addr, uint64_t now_ms);

#endif
