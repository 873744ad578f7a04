/*
 * antientropy.h - anti-entropy: signed digest gossip, reconciliation of the
 * differing keys only, and merge; a sans-IO state machine.
 *
 * Protocol (doc/antientropy.md has every message as a table):
 *  - Every interval the core sends a DIGEST datagram (root digest, key
 *    count, the 16 level-1 digests of the store's hash tree) to `fanout`
 *    random alive peers.
 *  - A receiver whose root differs opens a stream to the sender.  The two
 *    ends then descend the hash tree in ping-pong: each NODES frame carries
 *    the 16 child digests of nodes that differed; the receiver compares them
 *    with its own and answers with the children of the ones that differ one
 *    level lower.  At the segments, the side that found differing segments
 *    sends KEYS ((key, digest) lists); the other compares, sends STATES of
 *    its keys the peer lacks or holds differently and WANTs the ones it
 *    lacks; both merge through grove_db_merge.  IDLE frames carrying frame
 *    counters detect when both ends are done; BYE ends the session.
 *  - With push, a difference with a peer younger than three push intervals
 *    opens no session (the push is likely repairing it; gossip/ae/pace.h),
 *    and a DIGEST from a session's peer that equals our root ends the
 *    session (one showing level-1 subtrees equal drops the work under them).
 *  - A DIGEST may ask for an answer (flag GROVE_AE_DIGEST_REPLY): the
 *    receiver then sends its own DIGEST back, so the asker learns within a
 *    round trip whether the two roots are equal (config.watch).
 *  - Optionally, keys written locally (and keys changed by a pushed state)
 *    are pushed in PUSH datagrams to push_fanout random peers in each of
 *    push_transmits push rounds (one when a round reaches every peer;
 *    rumor mongering: a write reaches all N
 *    nodes in about log3 N + ln ln N rounds).
 *  Work is kept in per-level bitmaps and bounded key queues; frames are
 *  produced lazily when the driver polls, so memory is bounded whatever the
 *  difference (a node 1,000,000 keys behind catches up in bounded memory).
 *
 * Driving (like gossip/member/member.h):
 *   inputs   grove_ae_recv_datagram(now, from_addr, bytes)
 *            grove_ae_stream_accept / _stream_recv / _stream_closed
 *            grove_ae_tick(now)                at or after next_deadline
 *            grove_ae_note_write(key)          (or config.push_hook)
 *            grove_ae_round_now / _request_digests   (GROVE SYNC, WAIT)
 *   outputs  grove_ae_poll(): datagrams (addr + bytes) and stream commands
 *            (open stream N to addr, send frame on N, close N);
 *            grove_ae_next_deadline().
 *   flow     grove_ae_stream_set_writable(N, false) while the transport's
 *            write queue is full (poll then holds N's frames back).  The
 *            node keeps reading every stream: what one frame can queue is
 *            bounded by the protocol's credit window, so reading never
 *            needs to stop (and two ends can never block each other).
 *
 * Conventions:
 *  1. grove_ae_t is opaque: grove_ae_create / grove_ae_destroy.  Not
 *     thread-safe, except grove_ae_note_write (and the push hook), which
 *     may be called from any thread.
 *  2. The core borrows the db and the rng; both must outlive it.  It calls
 *     only thread-safe db functions.
 *  3. Functions return 0 or a negative code from include/grove/error.h.  Hostile
 *     input never fails a call: it is dropped and counted in the stats.
 *  4. Bytes handed out by grove_ae_poll stay valid until the next call into
 *     the same grove_ae_t; the core owns them.
 */
#ifndef GROVE_ANTIENTROPY_H
#define GROVE_ANTIENTROPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "grove/error.h"
#include "base/rng.h"
#include "gossip/output.h"
#include "grove/db.h"

#define GROVE_AE_ADDR_MAX 128
#define GROVE_AE_ID_MAX GROVE_NODE_ID_MAX /* node ids, as GROVE_MEMBER_ID_MAX */
#define GROVE_AE_FANOUT_MAX 16
#define GROVE_AE_REQUEST_MAX 64       /* peers one grove_ae_request_digests asks */
#define GROVE_AE_SESSIONS_MAX 64      /* config.max_sessions upper bound */
#define GROVE_AE_PUSH_QUEUE_MAX 65536 /* config.push_queue_max upper bound */
#define GROVE_AE_PUSH_TRANSMITS_MAX 16
#define GROVE_AE_OUT_MAX 1024         /* queued datagrams and commands before drops */
#define GROVE_AE_WINDOW_BYTES_MIN (32u * 1024) /* holds a run with the largest item name */
#define GROVE_AE_WINDOW_BYTES_MAX (256u * 1024 * 1024)
#define GROVE_AE_ENVELOPE_KIND 2      /* envelope kind of anti-entropy datagrams */
#define GROVE_AE_FRAME_BYTES_DEFAULT (1024u * 1024) /* = GROVE_FRAME_BYTES_MAX of gossip/secure/channel.h */

/* Security hooks, shaped like grove_member_security_t: all NULL means
 * plaintext datagrams (tests).  gossip/secure_hooks.h binds them to the
 * envelope and peer book of gossip/secure/envelope.h. */
typedef struct grove_ae_security {
	void *ctx;
	/* Seal payload for a datagram to to_addr (to_id NULL: unknown). */
	int (*seal)(void *ctx, const char *to_addr, const char *to_id, const uint8_t *payload,
		    size_t len, uint8_t *out, size_t cap, size_t *out_len);
	/* On success *payload points at the authenticated payload (valid until
	 * the next call of open).  Negative: dropped and counted. */
	int (*open)(void *ctx, uint64_t now_ms, const char *from_addr, const uint8_t *dgram,
		    size_t len, const uint8_t **payload, size_t *payload_len,
		    char sender_id[GROVE_AE_ID_MAX + 1]);
	size_t overhead_bytes; /* worst-case sealed size - payload size */
} grove_ae_security_t;

/* Up to max distinct random alive peers (not self): writes their addresses,
 * returns the count.  Bind to grove_member_random_alive. */
typedef size_t (*grove_ae_peers_fn)(void *ctx, char (*addrs)[GROVE_AE_ADDR_MAX + 1], size_t max);

/* Digest equality, the evidence behind WAIT (node/wait.h).  When a DIGEST
 * arrives, the core calls mark() and only then reads the local root digest;
 * if the sender's root equals it, it calls equal() with that mark.  The
 * sender's state when it sent the DIGEST was then identical to ours when
 * mark() was read, and states only grow by merging, so the peer holds every
 * write that had completed before mark() returned.  sender_id is the
 * authenticated node id (NULL without config.security).  synced() tells
 * that a session ended reconciled (both stores merged every state that
 * differed): a digest request now is likely to find equality.  All run on
 * the core's thread, inside its inputs and polls, and must not call into
 * the core.  different() tells that a DIGEST's root differed from ours
 * (the status page's convergence view, node/monitor.h).  Any may be NULL. */
typedef struct grove_ae_watch {
	uint64_t (*mark)(void *ctx);
	void (*equal)(void *ctx, const char *from_addr, const char *sender_id, uint64_t mark);
	void (*synced)(void *ctx);
	void *ctx;
	void (*different)(void *ctx, const char *from_addr, const char *sender_id);
} grove_ae_watch_t;

typedef struct grove_ae_config {
	grove_ae_peers_fn peers;     /* required */
	void *peers_ctx;
	grove_ae_security_t security;
	uint32_t interval_ms;        /* 500: digest round period (+-10% jitter) */
	uint32_t fanout;             /* 3 peers per round */
	uint32_t max_sessions;       /* 2 concurrent streams (each one a new
					node meets copies everything once) */
	uint64_t session_bytes_max;  /* 256 MiB per session, in + out */
	uint32_t session_timeout_ms; /* 60000: longest session */
	uint32_t idle_timeout_ms;    /* 10000: no inbound frame for this long */
	uint32_t frame_bytes_max;    /* 1 MiB: largest frame accepted or built
					(at most the session layer's frame limit) */
	uint32_t frame_target_bytes; /* 32 KiB: frames are cut at this size */
	uint32_t window_bytes;       /* 4 MiB: credit window, request bytes (key
					lists, wants) outstanding per session */
	uint32_t datagram_bytes_max; /* GROVE_DATAGRAM_MAX: sealed datagram limit */
	bool push;                   /* false: push fresh writes */
	bool push_hook;              /* true: install the db change hook when push */
	uint32_t push_fanout;        /* 3 peers per PUSH datagram */
	uint32_t push_transmits;     /* 3: push rounds each fresh key is sent in
					(1 while push_fanout covers every peer) */
	uint32_t push_interval_ms;   /* 100 */
	uint32_t push_queue_max;     /* 16384 keys; more are dropped (counted) */
	grove_ae_watch_t watch;      /* all NULL: nobody watches equality */
} grove_ae_config_t;

void grove_ae_config_init(grove_ae_config_t *cfg);

typedef struct grove_ae grove_ae_t;

/* Copies cfg.  Borrows db and rng (must outlive the core). */
int grove_ae_create(const grove_ae_config_t *cfg, grove_db_t *db, grove_rng_t *rng,
		    grove_ae_t **out) GROVE_MUST_CHECK;
/* Removes the change hook it installed; NULL is a no-op.  With push_hook,
 * call it only once no other thread writes to the db (a write in flight may
 * still be inside the hook). */
void grove_ae_destroy(grove_ae_t *ae);

/* --- inputs --- */
void grove_ae_tick(grove_ae_t *ae, uint64_t now_ms);
uint64_t grove_ae_next_deadline(const grove_ae_t *ae);
/* Starts a digest round now (GROVE SYNC), besides the periodic ones;
 * returns the number of peers a DIGEST was sent to. */
size_t grove_ae_round_now(grove_ae_t *ae, uint64_t now_ms);
/* Asks each of the n peers for its DIGEST now: sends ours with the
 * GROVE_AE_DIGEST_REPLY flag, and a peer answers with its own (so
 * config.watch learns about equality within a round trip; WAIT uses it).
 * A receiver whose root differs also opens a session, as for any DIGEST.
 * At most GROVE_AE_REQUEST_MAX peers per call; returns how many were sent. */
size_t grove_ae_request_digests(grove_ae_t *ae, uint64_t now_ms,
				const char (*addrs)[GROVE_AE_ADDR_MAX + 1], size_t n);
/* A datagram as received: opened through config.security when set.  The
 * node hands over only datagrams whose envelope kind (byte 3) is
 * GROVE_AE_ENVELOPE_KIND, so an envelope is opened once, here. */
void grove_ae_recv_datagram(grove_ae_t *ae, uint64_t now_ms, const char *from_addr,
			    const uint8_t *bytes, size_t len);
/* An inbound stream from from_addr.  GROVE_EFULL when max_sessions are
 * open (the node closes the connection). */
int grove_ae_stream_accept(grove_ae_t *ae, uint64_t now_ms, const char *from_addr,
			   uint32_t *stream_id) GROVE_MUST_CHECK;
/* One frame (one session-layer message) received on stream_id. */
void grove_ae_stream_recv(grove_ae_t *ae, uint64_t now_ms, uint32_t stream_id,
			  const uint8_t *frame, size_t len);
/* The transport failed or the peer closed; the session ends (an error if it
 * had not finished).  Unknown ids are ignored. */
void grove_ae_stream_closed(grove_ae_t *ae, uint64_t now_ms, uint32_t stream_id);
void grove_ae_stream_set_writable(grove_ae_t *ae, uint32_t stream_id, bool writable);
/* Queue a locally written key for push (thread-safe; bounded). */
void grove_ae_note_write(grove_ae_t *ae, const void *key, size_t klen);
/* The driver's view of whether any alive peer could receive a push
 * (initially true).  False: grove_ae_note_write queues nothing, so a node
 * alone spends nothing per write on pushes that would have no receiver;
 * anti-entropy rounds bring the keys to peers that appear later. */
void grove_ae_set_push_peers(grove_ae_t *ae, bool any);

/* --- outputs --- */
/* Outputs are the shared grove_out_t (gossip/output.h). */

/* Next output: true if *out was filled.  Stream frames are built here,
 * lazily, only for writable streams. */
bool grove_ae_poll(grove_ae_t *ae, uint64_t now_ms, grove_out_t *out);

/* --- observability --- */
enum grove_ae_phase {
	GROVE_AE_PH_DIGEST = 0, /* DIGEST datagrams */
	GROVE_AE_PH_TREE,       /* NODES frames */
	GROVE_AE_PH_KEYS,       /* KEYS and WANT frames */
	GROVE_AE_PH_STATES,     /* STATES frames, framing only (states apart) */
	GROVE_AE_PH_CONTROL,    /* IDLE and BYE */
	GROVE_AE_PH_PUSH,       /* PUSH datagrams, framing only */
	GROVE_AE_PH_COUNT
};

typedef struct grove_ae_stats {
	uint64_t rounds;              /* digest rounds started */
	uint64_t digests_sent;
	uint64_t digests_equal, digests_different;
	uint64_t digest_requests_sent;  /* DIGESTs sent with the reply flag */
	uint64_t digest_replies_sent;   /* DIGESTs sent in answer to one */
	uint64_t sessions_opened, sessions_accepted;
	uint64_t sessions_done;       /* ended by BYE after both ends idle */
	uint64_t sessions_refused;    /* full, or already one with that peer */
	uint64_t sessions_spaced;     /* differing digests from a peer whose last
					 session ended less than 3x its duration
					 (at most 10 intervals) ago */
	uint64_t digests_held;        /* differing digests not followed by a session
					 because the difference was younger than
					 3 push intervals (push is repairing it) */
	uint64_t sessions_ended_equal; /* ended (reconciled) by an equal DIGEST
					 from their peer, work left undone */
	uint64_t session_errors;      /* any other end (all reasons below) */
	uint64_t err_proto, err_decode, err_limit, err_timeout, err_closed, err_nomem;
	uint64_t keys_sent, keys_received;     /* states sent / received */
	uint64_t state_bytes_sent, state_bytes_received;
	uint64_t bytes_sent[GROVE_AE_PH_COUNT], bytes_received[GROVE_AE_PH_COUNT];
	uint64_t frames_sent, frames_received;
	uint64_t merged_changed, merged_unchanged;
	uint64_t rejected_decode, rejected_clock, rejected_other;
	uint64_t keys_misplaced;      /* key listed under a segment it is not in */
	uint64_t states_oversize;     /* too large for one frame: not sent */
	uint64_t datagrams_dropped;   /* failed open or decode */
	uint64_t pushes_sent, push_keys_sent, push_keys_received;
	uint64_t push_queue_drops;
	uint64_t out_drops;           /* output queue full */
} grove_ae_stats_t;

void grove_ae_get_stats(const grove_ae_t *ae, grove_ae_stats_t *out);
/* Sessions currently open. */
size_t grove_ae_session_count(const grove_ae_t *ae);

#endif
