/*
 * member_net.h - binds the sans-IO SWIM membership core (gossip/member.h)
 * and the anti-entropy core (gossip/antientropy.h) to groved's libuv loop:
 * their datagrams go through the gossip UDP socket (node/gossip_net.h),
 * dispatched on the envelope kind; their streams (push-pull, anti-entropy
 * sessions) through TCP connections wrapped in authenticated, encrypted
 * sessions (gossip/session.h) whose first frame names the layer; their
 * timers to uv_timers, membership's events to the log and its restart
 * state to the store's metadata ("member").  Datagrams are sealed and
 * opened through gossip/member_secure.h and gossip/ae_secure.h (signed
 * envelopes, one sender, one peer book, replay window); the envelope epoch
 * is persisted ("gossip_epoch") and raised at every start.
 *
 * Time given to the core is wall-clock milliseconds (certificates expire in
 * wall-clock time).  Loop thread only.
 *
 * Lifecycle: grove_member_net_start (after gossip_net is bound) /
 * grove_member_net_leave (SIGTERM: broadcast "left", cb once the core's
 * leave window passed) / grove_member_net_close (closes streams and the
 * timer; cb once every handle is closed).
 */
#ifndef GROVE_MEMBER_NET_H
#define GROVE_MEMBER_NET_H

#include <stdbool.h>
#include <uv.h>

#include "gossip/identity.h"
#include "node/commands.h"
#include "node/config.h"
#include "node/gossip_net.h"
#include "node/log.h"
#include "storage/db.h"

#define GROVE_MEMBER_NET_STREAMS_MAX 64 /* TCP streams open at once */
#define GROVE_MEMBER_META "member"
#define GROVE_EPOCH_META "gossip_epoch"

typedef struct grove_member_net grove_member_net_t;

/* Creates the core, restores it from the store, binds it to gossip and
 * joins through the seeds.  identity, db, gossip and log are borrowed. */
int grove_member_net_start(grove_member_net_t **out, uv_loop_t *loop, const grove_config_t *cfg,
			   const grove_identity_t *identity, grove_db_t *db,
			   grove_gossip_net_t *gossip, grove_log_t *log, char *err,
			   size_t err_len) GROVE_MUST_CHECK;
/* The GROVE MEMBERS and INFO gossip hooks (commands.h). */
size_t grove_member_net_members(void *ctx, grove_member_view_t *out, size_t max);
void grove_member_net_info(void *ctx, grove_resp_buf_t *text);
/* The GROVE SYNC hook: starts an anti-entropy round now; returns the
 * number of peers a digest was sent to. */
int grove_member_net_sync(void *ctx);
void grove_member_net_leave(grove_member_net_t *mn, void (*cb)(void *ctx), void *ctx);
void grove_member_net_close(grove_member_net_t *mn, void (*cb)(void *ctx), void *ctx);
/* Frees both cores and the peer book (after close's callback, once no
 * worker thread writes to the db any more: anti-entropy's push hook runs
 * inside writes).  NULL: no-op. */
void grove_member_net_destroy(grove_member_net_t *mn);

#endif
