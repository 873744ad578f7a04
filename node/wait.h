/*
 * wait.h - the bookkeeping behind WAIT numreplicas timeout (README "WAIT"):
 * which peers are known to hold which of this node's writes, and which
 * clients are blocked until enough peers do.  No I/O and no clock reads:
 * the RESP server (resp_server.c) and the cluster binding (cluster_ae.c)
 * feed it events and the time.
 *
 * Write positions.  Every write command a client runs on this node takes
 * the next position of one node-wide counter (grove_wait_note_write, after
 * the store applied it); the client remembers the position of its last
 * write (0 = none yet).
 *
 * Evidence.  A peer is known to hold position P when a DIGEST it sent had
 * the root digest that our store had while our counter was P (the
 * anti-entropy core reads the counter just before the root, see
 * grove_ae_watch_t): equal roots mean equal states, and a state only grows
 * by merging, so the peer holds every write up to P.  The cluster binding
 * records that with grove_wait_peer_holds and drops a peer's record when
 * membership reports it joined anew, came back, died, left or changed
 * (grove_wait_peer_forget): such a peer counts again after its next equal
 * digest.  Position 0 (a client without writes) is held by every peer with
 * a record.  Pushes are not acknowledged, so they are no evidence.
 *
 * Waiters.  A blocked client is (owner, position, peers wanted, deadline);
 * grove_wait_next_done hands out those that are satisfied or expired with
 * the count to answer.  While any client waits, grove_wait_ask_due says
 * when to ask peers for their digests (every GROVE_WAIT_ASK_MS, and at
 * once after a session reconciled with a peer), so that equality is learnt
 * within a round trip instead of a gossip interval.
 *
 * Threads: grove_wait_note_write and grove_wait_position may run on any
 * thread (one atomic counter); everything else on the loop thread.
 * Lifecycle: grove_wait_init / grove_wait_close (frees the tables).
 */
#ifndef GROVE_WAIT_H
#define GROVE_WAIT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "grove/error.h"

#define GROVE_WAIT_PEER_BYTES_MAX 128 /* a peer's name: node id, or address without ids */
#define GROVE_WAIT_PEERS_MAX 4096     /* peers tracked; more are not recorded (counted) */
#define GROVE_WAIT_WAITERS_MAX 1000000 /* blocked clients (= the max-clients bound) */
#define GROVE_WAIT_ASK_MS 50          /* digest requests while clients wait */
#define GROVE_WAIT_NO_DEADLINE UINT64_MAX

typedef struct grove_wait_peer {
	char name[GROVE_WAIT_PEER_BYTES_MAX + 1];
	uint64_t pos;     /* highest of our write positions it is known to hold */
	uint64_t seen_ms; /* when that was last confirmed */
} grove_wait_peer_t;

typedef struct grove_wait_waiter {
	void *owner;      /* the blocked client */
	uint64_t pos;     /* position that peers must hold */
	long long want;   /* peers wanted */
	uint64_t deadline_ms; /* GROVE_WAIT_NO_DEADLINE: none */
} grove_wait_waiter_t;

typedef struct grove_wait {
	atomic_uint_fast64_t write_pos;
	grove_wait_peer_t *peers;
	size_t npeers, peers_cap;
	grove_wait_waiter_t *waiters;
	size_t nwaiters, waiters_cap;
	uint64_t next_ask_ms;
	uint64_t peers_dropped; /* evidence not recorded: table full */
	void (*notify)(void *ctx); /* new evidence while clients wait */
	void *notify_ctx;
} grove_wait_t;

void grove_wait_init(grove_wait_t *w);
void grove_wait_close(grove_wait_t *w);
/* Called (loop thread) when a peer's known position rose while some client
 * waits; it must not call back into grove_wait (defer, e.g. a 0 ms timer). */
void grove_wait_set_notify(grove_wait_t *w, void (*fn)(void *ctx), void *ctx);

/* --- write positions (any thread) --- */
/* Takes the next write position; call after the write was applied. */
uint64_t grove_wait_note_write(grove_wait_t *w);
/* The last position taken (the mark of grove_ae_watch_t). */
uint64_t grove_wait_position(grove_wait_t *w);

/* --- evidence (loop thread) --- */
/* The peer holds every write up to pos.  Keeps the highest; O(peers). */
void grove_wait_peer_holds(grove_wait_t *w, const char *peer, uint64_t pos, uint64_t now_ms);
/* Drops the peer's record (membership says it is not the same peer any more). */
void grove_wait_peer_forget(grove_wait_t *w, const char *peer);
/* Whether the peer is known to hold pos. */
bool grove_wait_peer_known(const grove_wait_t *w, const char *peer, uint64_t pos);
/* Peers known to hold pos.  O(peers). */
size_t grove_wait_count(const grove_wait_t *w, uint64_t pos);

/* --- blocked clients (loop thread) --- */
/* Blocks owner (one waiter per owner, asserted) until want peers hold pos
 * or deadline_ms passes.  GROVE_EFULL at GROVE_WAIT_WAITERS_MAX,
 * GROVE_ENOMEM.  The next grove_wait_ask_due is due at once. */
int grove_wait_block(grove_wait_t *w, void *owner, uint64_t pos, long long want,
		     uint64_t deadline_ms) GROVE_MUST_CHECK;
/* Removes owner's waiter, if any (the client went away). */
void grove_wait_unblock(grove_wait_t *w, void *owner);
/* One waiter that is satisfied, or expired at now_ms (all of them when
 * now_ms is GROVE_WAIT_NO_DEADLINE): removed, with the count to answer.
 * False when none.  O(waiters x peers). */
bool grove_wait_next_done(grove_wait_t *w, uint64_t now_ms, void **owner, size_t *count);
size_t grove_wait_blocked(const grove_wait_t *w);
/* True at most every GROVE_WAIT_ASK_MS while clients wait: ask the peers
 * not known to hold *pos (the highest position waited for) for a digest. */
bool grove_wait_ask_due(grove_wait_t *w, uint64_t now_ms, uint64_t *pos);
/* Makes the next ask due at once (a session just reconciled with a peer)
 * and notifies, when clients wait. */
void grove_wait_ask_soon(grove_wait_t *w);
/* When to look again: the earliest deadline or ask; GROVE_WAIT_NO_DEADLINE
 * when nobody waits. */
uint64_t grove_wait_next_deadline(const grove_wait_t *w);

#endif
