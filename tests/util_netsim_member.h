/*
 * util_netsim_member.h - a cluster of membership cores (gossip/member/member.h) on
 * the simulated network (tests/util_netsim.h), for tests and benchmarks.
 *
 * Node i has id "node-<i>", address "n<i>:7946" and network node i.  The
 * harness plays the node layer: it takes the network's events in order and
 * feeds datagrams, stream frames and timers into each core,
 * carries the core's outputs to the network, keeps the last persisted state
 * (saved on every PERSIST event and every membership change, as the node
 * layer would with grove_db_meta_put) and counts events.  In secure mode
 * every node has a CA-certified identity (tests/util_identity.h), a sender
 * and a peer book, and every datagram is a signed envelope; with sessions
 * on, every push-pull stream is an authenticated, encrypted grove_channel
 * whose peer certificate goes to the peer book, as the node layer does.
 *
 * Ground truth for false positives: a node marked dead by another while it
 * is up (not killed, paused or left) counts as a false positive.
 */
#ifndef GROVE_UTIL_NETSIM_MEMBER_H
#define GROVE_UTIL_NETSIM_MEMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip/member/member.h"
#include "gossip/secure_hooks.h"
#include "gossip/secure/channel.h"
#include "tests/util_keys.h"
#include "tests/util_netsim.h"

#define GROVE_SIM_STREAMS_MAX 128 /* open streams per node */
#define GROVE_SIM_HELD_MAX 8       /* frames held until a session is up */

/* One stream of a node: the core's id, the network endpoint and, with
 * sessions, the encrypted session over it. */
typedef struct grove_simstream {
	uint32_t id;
	grove_netsim_ep_t ep;
	grove_channel_t *sess;
	uint8_t *held[GROVE_SIM_HELD_MAX];
	size_t held_len[GROVE_SIM_HELD_MAX];
	size_t nheld;
	bool finish;       /* close once the held frames are out */
	bool cert_learned; /* the peer's session certificate went to the book */
} grove_simstream_t;

typedef struct grove_simcluster grove_simcluster_t;

typedef struct grove_simnode {
	grove_simcluster_t *cl;
	size_t index;
	int net_node;
	char id[GROVE_MEMBER_ID_MAX + 1];
	char addr[GROVE_MEMBER_ADDR_MAX + 1];
	grove_member_t *m; /* NULL while killed */
	bool up;           /* false while killed or paused */
	bool left;
	uint8_t *saved;    /* last persisted state, or NULL */
	size_t saved_len;
	grove_simstream_t streams[GROVE_SIM_STREAMS_MAX];
	size_t stream_count;
	uint32_t cur_stream; /* core stream id whose bytes are being fed */
	uint64_t epoch;    /* secure mode: envelope epoch, raised per start */
	grove_identity_t ident;
	grove_sender_t sender;
	grove_peerbook_t *book;
	grove_secure_hooks_t sec;
	uint64_t events[GROVE_MEMBER_EV_KINDS];
	uint64_t refused[GROVE_DROP_COUNT]; /* secure: on_refuse reports by reason */
	char last_refused[GROVE_MEMBER_ID_MAX + 1]; /* ... and the last id named */
} grove_simnode_t;

struct grove_simcluster {
	grove_netsim_t *net;
	grove_simnode_t *nodes;
	size_t n;
	grove_member_config_t base; /* timers and limits for every node */
	bool secure;
	bool sessions;             /* secure only: push-pull over grove_channel */
	bool save_on_change;       /* save state on JOIN/ALIVE events too */
	uint64_t seed;
	uint64_t false_dead;       /* DEAD events about nodes that were up */
	uint64_t false_suspect;    /* SUSPECT events about nodes that were up */
	size_t max_datagram_bytes; /* largest datagram sent (asserted <= 1400) */
	uint64_t sessions_established, sessions_refused; /* sessions mode */
};

/* n nodes (none started); base may be NULL for defaults. */
void grove_simcluster_init(grove_simcluster_t *cl, size_t n, uint64_t seed, const grove_member_config_t *base,
			   bool secure);
void grove_simcluster_close(grove_simcluster_t *cl);
/* Secure mode, before node i starts: give it node id `id` with another key
 * (variant) certified by the same CA (an id conflict). */
void grove_simcluster_set_identity(grove_simcluster_t *cl, size_t i, const char *id, uint8_t key_variant);

/* Secure mode: node i's certificate becomes a version 2 one for its id
 * with key `key_variant`, issued at issued_ms, valid until expires_ms.  On
 * a running node it is reloaded in place, as groved does on SIGHUP (the
 * core broadcasts it; nothing restarts); otherwise used at the next start. */
void grove_simcluster_set_cert(grove_simcluster_t *cl, size_t i, uint8_t key_variant, uint64_t issued_ms,
			       uint64_t expires_ms);
/* Secure mode: install at running node i a CA-signed revocation list
 * issued at issued_ms naming the keys (node id label, key variant) given,
 * as `grove revoke` and a SIGHUP do; membership spreads it. */
void grove_simcluster_revoke(grove_simcluster_t *cl, size_t i, uint64_t issued_ms, const char *const *ids,
			     const uint8_t *variants, size_t count);

/* The CA every secure simulated cluster trusts. */
const grove_test_ca_t *grove_simcluster_ca(void);

/* Create node i's core with the given seed nodes and join.  restore: start
 * from the node's saved state (restart). */
void grove_simcluster_start(grove_simcluster_t *cl, size_t i, const size_t *seeds, size_t seed_count,
			    bool restore);
void grove_simcluster_kill(grove_simcluster_t *cl, size_t i);
void grove_simcluster_pause(grove_simcluster_t *cl, size_t i, bool paused);
/* Graceful leave; the core is destroyed at its done_by deadline. */
void grove_simcluster_leave(grove_simcluster_t *cl, size_t i);
void grove_simcluster_run(grove_simcluster_t *cl, uint64_t until_ms);
uint64_t grove_simcluster_now(const grove_simcluster_t *cl);

/* How node i sees node j (0 if unknown or i not running). */
grove_member_state_t grove_simcluster_view(const grove_simcluster_t *cl, size_t i, size_t j);
/* True when every running, up node sees exactly `alive` members alive. */
bool grove_simcluster_all_see_alive(const grove_simcluster_t *cl, size_t alive);
/* True when every running, up node other than j sees j in state s. */
bool grove_simcluster_all_see(const grove_simcluster_t *cl, size_t j, grove_member_state_t s);
/* Run in steps of step_ms until pred holds or deadline; returns the time it
 * first held, or 0. */
uint64_t grove_simcluster_run_until_pred(grove_simcluster_t *cl, uint64_t deadline_ms, uint64_t step_ms,
					 bool (*pred)(const grove_simcluster_t *, const void *), const void *arg);

#endif
