/*
 * cluster.h - binds the sans-IO SWIM membership core (gossip/member/member.h)
 * and the anti-entropy core (gossip/ae/antientropy.h) to groved's libuv loop:
 * their datagrams go through the gossip UDP socket (node/cluster_sockets.h),
 * dispatched on the envelope kind; their streams (push-pull, anti-entropy
 * sessions) through TCP connections wrapped in authenticated, encrypted
 * sessions (gossip/secure/channel.h) whose first frame names the layer; their
 * timers to uv_timers, membership's events to the log and its restart
 * state to the store's metadata ("member").  Datagrams are sealed and
 * opened through gossip/secure_hooks.h, one binding per core (signed
 * envelopes, one sender, one peer book, replay window); the envelope epoch
 * is persisted ("gossip_epoch") and raised at every start.
 *
 * Time given to the core is wall-clock milliseconds (certificates expire in
 * wall-clock time).  Loop thread only.
 *
 * Lifecycle: grove_cluster_start (after gossip_net is bound) /
 * grove_cluster_leave (SIGTERM: broadcast "left", cb once the core's
 * leave window passed) / grove_cluster_close (closes streams and the
 * timer; cb once every handle is closed).
 */
#ifndef GROVE_CLUSTER_H
#define GROVE_CLUSTER_H

#include <stdbool.h>
#include <uv.h>

#include "gossip/secure/identity.h"
#include "node/resp_commands.h"
#include "node/config.h"
#include "node/cluster_sockets.h"
#include "node/log.h"
#include "node/wait.h"
#include "grove/db.h"

#define GROVE_CLUSTER_STREAMS_MAX 64 /* TCP streams open at once */
#define GROVE_MEMBER_META "member"
#define GROVE_EPOCH_META "gossip_epoch"

typedef struct grove_cluster grove_cluster_t;

/* Creates the core, restores it from the store, binds it to gossip and
 * joins through the seeds.  identity, db, gossip and log are borrowed. */
int grove_cluster_start(grove_cluster_t **out, uv_loop_t *loop, const grove_config_t *cfg,
			   const grove_identity_t *identity, grove_db_t *db,
			   grove_cluster_sockets_t *gossip, grove_log_t *log, char *err,
			   size_t err_len) GROVE_MUST_CHECK;
/* The GROVE MEMBERS and INFO gossip hooks (resp_commands.h). */
size_t grove_cluster_members(void *ctx, grove_member_view_t *out, size_t max);
void grove_cluster_info(void *ctx, grove_buf_t *text);
/* The GROVE SYNC hook: starts an anti-entropy round now; returns the
 * number of peers a digest was sent to. */
int grove_cluster_sync(void *ctx);
/* WAIT's evidence: from now on, digest equalities are recorded in w
 * (borrowed, must outlive the cluster) and membership changes drop a
 * peer's record (node/wait.h). */
void grove_cluster_set_wait(grove_cluster_t *mn, grove_wait_t *w);
/* The WAIT ask hook (resp_commands.h): asks alive peers not known to hold
 * pos for their digest now; returns how many were asked. */
int grove_cluster_wait_ask(void *ctx, uint64_t pos);
/* The status page's and the metrics' view (node/monitor.h; loop thread).
 * A member with, for a peer, the outcome of the last root-digest
 * comparison with it and its certificate expiry as the peer book holds it. */
typedef enum grove_peer_digest {
	GROVE_PEER_DIGEST_UNKNOWN = 0, /* no digest compared yet */
	GROVE_PEER_DIGEST_EQUAL = 1,
	GROVE_PEER_DIGEST_DIFFERENT = 2,
} grove_peer_digest_t;

typedef struct grove_peer_view {
	char id[GROVE_NODE_ID_MAX + 1];
	char addr[GROVE_HOST_MAX + 16];
	const char *state; /* static: "alive", "suspect", "dead", "left" */
	uint64_t incarnation;
	uint64_t state_since_ms;    /* wall clock */
	uint64_t cert_expires_ms;   /* 0: no certificate known */
	grove_peer_digest_t digest; /* self: EQUAL */
	uint64_t last_equal_ms;     /* 0: never */
	uint64_t diverged_since_ms; /* first DIFFERENT after the last EQUAL; 0 otherwise */
	bool self;
} grove_peer_view_t;

/* Fills up to max members (self included); returns how many. */
size_t grove_cluster_peers(grove_cluster_t *mn, grove_peer_view_t *out, size_t max);
/* Anti-entropy session durations (open to close of the TCP stream):
 * per-bucket counts (node/histogram.h), their sum and count. */
void grove_cluster_ae_sessions(const grove_cluster_t *mn, uint64_t counts[GROVE_AE_SESSION_BUCKETS],
			       uint64_t *sum_us, uint64_t *count);
/* Whether membership has joined (a push-pull with a seed or peer
 * succeeded, or there was nobody to join). */
bool grove_cluster_joined(const grove_cluster_t *mn);
/* SIGHUP: the identity the cluster borrows was replaced in place (a
 * renewed or rotated certificate, checked by the caller): membership
 * broadcasts it, peers take it from the next datagrams; DATA/revoked.crl
 * is read again.  Logs what it did. */
void grove_cluster_reload(grove_cluster_t *mn);
/* The write-refusal hook (resp_commands.h): true while another live
 * instance of our id has precedence (duplicate id).  Thread-safe. */
bool grove_cluster_write_refused(void *ctx);
void grove_cluster_leave(grove_cluster_t *mn, void (*cb)(void *ctx), void *ctx);
void grove_cluster_close(grove_cluster_t *mn, void (*cb)(void *ctx), void *ctx);
/* Frees both cores and the peer book (after close's callback, once no
 * worker thread writes to the db any more: anti-entropy's push hook runs
 * inside writes).  NULL: no-op. */
void grove_cluster_destroy(grove_cluster_t *mn);

#endif
