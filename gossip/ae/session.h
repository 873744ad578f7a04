/*
 * session.h - one anti-entropy reconciliation session (internal to
 * gossip/ae/antientropy.c): the state machine behind one stream.
 *
 * Work is kept as data, not as queued frames, so memory stays bounded:
 *  - bits[L] (L = 0..GROVE_TREE_LEVELS) marks tree nodes found different:
 *    for L < LEVELS the session owes the peer a NODES group with the node's
 *    16 child digests; at L = LEVELS (segments) a KEYS list;
 *  - sendq holds keys whose state is owed to the peer, wantq keys to ask
 *    the peer for; they are bounded by credit: a side sends requests (KEYS
 *    runs and keys, WANT keys, counted in bytes) only within the window
 *    (config.window_bytes) that the peer's CREDIT frames reopen, so a
 *    session can always read its stream (no mutual backpressure stall);
 *  - an incoming KEYS list is compared against the local segment, loaded
 *    once per segment.
 * grove_ae_sess_next builds at most one frame per call from that work,
 * deepest work first (states, wants, keys, then tree levels bottom-up), so
 * queues drain before new work is found.  Termination: a side with no work
 * sends IDLE(frames sent, frames received) once; when a side is idle and the
 * peer's last IDLE shows every frame of both directions delivered, it sends
 * BYE.
 */
#ifndef GROVE_AE_SESSION_H
#define GROVE_AE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip/ae/codec.h"
#include "gossip/ae/antientropy.h"

#include "gossip/ae/keys.h"

typedef struct grove_ae_ctx {
	grove_db_t *db;
	const grove_ae_config_t *cfg;
	grove_ae_stats_t *stats;
} grove_ae_ctx_t;

typedef struct grove_ae_sess grove_ae_sess_t;

enum grove_ae_next {
	GROVE_AE_NEXT_NONE = 0,  /* nothing to send now */
	GROVE_AE_NEXT_FRAME = 1, /* *bytes and *len hold a frame */
	GROVE_AE_NEXT_CLOSE = 2, /* session over: close the stream, then destroy */
};

int grove_ae_sess_create(const grove_ae_ctx_t *ctx, uint32_t id, const char *addr,
			 bool initiator, uint64_t now_ms, grove_ae_sess_t **out) GROVE_MUST_CHECK;
void grove_ae_sess_destroy(grove_ae_sess_t *s);

uint32_t grove_ae_sess_id(const grove_ae_sess_t *s);
uint64_t grove_ae_sess_started_ms(const grove_ae_sess_t *s);
const char *grove_ae_sess_addr(const grove_ae_sess_t *s);
/* Marks tree node (level, index) as different: its children (or its keys,
 * at the segment level) will be sent to the peer. */
void grove_ae_sess_mark(grove_ae_sess_t *s, unsigned level, uint32_t index);
/* The peer's DIGEST equals our root: whatever work is left would find
 * nothing to exchange, so the session ends reconciled (BYE 0).  True if
 * it was active. */
bool grove_ae_sess_finish(grove_ae_sess_t *s);
/* The peer's DIGEST showed the level-1 subtrees in `equal` (bit i: node
 * i) equal to ours: the tree nodes, segment lists and absent segments
 * marked beneath them are dropped, and so are the states and wants
 * queued for items beneath them (a segment list being sent or compared,
 * and a state carried into the next frame, are finished).
 * O(GROVE_TREE_SEGMENTS / 64) per subtree plus a key hash per queued
 * item. */
void grove_ae_sess_prune(grove_ae_sess_t *s, uint32_t equal);
void grove_ae_sess_recv(grove_ae_sess_t *s, uint64_t now_ms, const uint8_t *frame, size_t len);
/* Next frame (borrowed until the next call) or close; see enum above. */
int grove_ae_sess_next(grove_ae_sess_t *s, const uint8_t **bytes, size_t *len);
void grove_ae_sess_tick(grove_ae_sess_t *s, uint64_t now_ms);
uint64_t grove_ae_sess_deadline(const grove_ae_sess_t *s);
/* The transport ended: counts an error unless the session had finished. */
void grove_ae_sess_transport_closed(grove_ae_sess_t *s);
/* True once the session handed out its close (or the transport closed). */
bool grove_ae_sess_closed(const grove_ae_sess_t *s);
bool grove_ae_sess_writable(const grove_ae_sess_t *s);
void grove_ae_sess_set_writable(grove_ae_sess_t *s, bool writable);

/* Merges every (key, state) of a decoded STATES or PUSH frame into the db
 * and counts each outcome; calls on_news(arg, key) for each key whose local
 * state changed (on_news may be NULL).  Returns the state bytes carried. */
/* on_reply (may be NULL): an element whose merged state differs from the
 * one received, so the peer should get ours back (a removal it has not
 * seen); a non-zero return is kept in *reply_rc and stops further calls. */
typedef int (*grove_ae_reply_fn)(void *ctx, const uint8_t *name, size_t nlen);
size_t grove_ae_merge_states(const grove_ae_ctx_t *ctx, const grove_ae_frame_t *f,
			     grove_db_change_fn on_news, void *arg, grove_ae_reply_fn on_reply,
			     void *rarg, int *reply_rc);

#endif
