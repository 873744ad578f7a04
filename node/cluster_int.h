/*
 * cluster_int.h - private to node/cluster_member.c, node/cluster_ae.c and
 * node/cluster_stream.c: the binding's state (struct grove_cluster), the
 * stream record, and the few helpers the three files share.  Not a public
 * interface: everything else uses node/cluster.h.
 *
 * cluster_member.c  membership binding: datagram routing, pump(), timers,
 *               start/leave/close, members and INFO.
 * cluster_ae.c      anti-entropy binding: its timer, output drain, peer
 *               choice, core creation, "ae_" INFO counters, SYNC.
 * cluster_stream.c  the shared TCP stream table: connect (with source bind),
 *               session handshake, layer routing, queueing before the
 *               handshake, backpressure, setup timeout, core outputs.
 */
#ifndef GROVE_NODE_MEMBER_NET_INT_H
#define GROVE_NODE_MEMBER_NET_INT_H

#include <stdatomic.h>

#include "base/list.h"
#include "node/cluster.h"

#include "gossip/ae/antientropy.h"
#include "gossip/member/member.h"
#include "gossip/secure_hooks.h"
#include "gossip/secure/channel.h"
#include "node/wait.h"

/* Stream layers: the first frame of every stream (= envelope kinds). */
#define LAYER_NONE 0 /* inbound, first frame not yet seen */
#define LAYER_MEMBER GROVE_MEMBER_ENVELOPE_KIND
#define LAYER_AE GROVE_AE_ENVELOPE_KIND
/* Anti-entropy streams stop producing frames while this many bytes wait
 * in the TCP write queue, and resume below the low mark. */
#define AE_WRITE_HIGH (2u * 1024 * 1024)
#define AE_WRITE_LOW (512u * 1024)
/* A connection must complete its handshake and (inbound) name its layer
 * within this time, or it is closed (no core times it out before that). */
#define STREAM_SETUP_TIMEOUT_MS 10000

typedef struct mstream mstream_t;

/* One configured seed (cluster_seeds.c): its name as configured, the
 * asynchronous re-resolution in flight, and why it was last not reached. */
typedef struct cseed {
	grove_hostport_t name;
	uv_getaddrinfo_t req;
	struct grove_cluster *mn;
	size_t index;
	bool resolving;
	char cause[192]; /* "" while it is reached */
} cseed_t;

/* cluster_monitor.c's state: peers' digest outcomes, session durations. */
#define GROVE_MON_PEERS_MAX 1024
struct grove_mon_peer {
	char id[GROVE_NODE_ID_MAX + 1];
	grove_peer_digest_t digest;
	uint64_t last_equal_ms, diverged_since_ms;
};
struct grove_cluster_mon {
	struct grove_mon_peer peers[GROVE_MON_PEERS_MAX];
	size_t npeers;
	uint64_t sessions[GROVE_AE_SESSION_BUCKETS];
	uint64_t session_sum_us, session_count;
};

struct grove_cluster {
	uv_loop_t *loop;
	grove_member_t *m;
	grove_sender_t sender;
	grove_peerbook_t *book;
	grove_secure_hooks_t sec;
	grove_ae_t *ae;
	grove_secure_hooks_t aesec;
	grove_rng_t rng;
	const grove_identity_t *identity;
	grove_db_t *db;
	grove_cluster_sockets_t *gossip;
	grove_log_t *log;
	grove_wait_t *wait;        /* WAIT's evidence (NULL: not recorded) */
	uv_timer_t timer, leave_timer, ae_timer;
	grove_list_t streams; /* mstream_t, newest first */
	size_t nstreams;
	char addr[GROVE_MEMBER_ADDR_MAX + 1];
	char seeds[GROVE_SEEDS_MAX][GROVE_MEMBER_ADDR_MAX + 1]; /* numeric "ip:port" (or the name, unresolved) */
	const char *seed_ptrs[GROVE_SEEDS_MAX];
	cseed_t seed_state[GROVE_SEEDS_MAX];
	size_t seed_count;
	int seed_family;          /* AF_INET or AF_INET6: the gossip socket's */
	int resolving;            /* seed look-ups in flight */
	uint64_t alone_since_ms;  /* no other member alive since (0: not alone) */
	uint64_t seed_warned_ms;  /* last "no seed reached" warning */
	bool in_pump, closing;
	grove_cert_watch_t watch;     /* own certificate's expiry warnings */
	uint64_t crl_saved_ms;        /* issue time of the list in the store */
	char crl_path[GROVE_PATH_MAX + 16]; /* DATA/revoked.crl */
	atomic_bool refuse_writes;    /* a duplicate instance has precedence */
	int handles_open;
	void (*leave_cb)(void *ctx);
	void *leave_ctx;
	void (*close_cb)(void *ctx);
	void *close_ctx;
	struct grove_cluster_mon mon; /* cluster_monitor.c */
};

struct mstream {
	uv_tcp_t *tcp;
	uv_connect_t connect;
	grove_cluster_t *mn;
	grove_list_t link;        /* in mn->streams */
	uint32_t id;              /* the core's stream id (per layer) */
	uint8_t layer;            /* LAYER_* */
	grove_channel_t *sess;
	grove_buf_t queued; /* frames before the handshake: u32 len, bytes */
	int writes;
	bool established, core_closed, finishing, closed;
	bool blocked;             /* anti-entropy told the stream is not writable */
	bool outbound;            /* opened by this node (session initiator) */
	bool connected;           /* outbound: the TCP connect succeeded */
	uint64_t opened_ms;
	char from[GROVE_MEMBER_ADDR_MAX + 1]; /* inbound: TCP source "ip:port"; outbound: the address dialled */
	uint8_t rbuf[16384];
};

/* The system clock, in milliseconds (what both cores are fed). */
static inline uint64_t grove_cluster_now_ms(void)
{
	return grove_clock_system_ms(NULL);
}

/* cluster_member.c: drains both cores' outputs and events, re-arms timers. */
void grove_cluster_pump(grove_cluster_t *mn);
/* cluster_member.c: appends one "name:value\r\n" INFO line. */
void grove_cluster_info_line(grove_buf_t *text, const char *name, uint64_t v);

/* cluster_seeds.c: seeds resolved at start (names kept, unresolved ones
 * too), resolved again at every contact (asynchronously: the next contact
 * uses the new address), failures remembered per seed, and a WARN naming
 * the causes while no other member is alive for SEED_WARN_AFTER_MS. */
size_t grove_cluster_seeds_init(grove_cluster_t *mn, const grove_config_t *cfg);
void grove_cluster_seed_contact(grove_cluster_t *mn, const char *addr);
void grove_cluster_seed_failed(grove_cluster_t *mn, const char *addr, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void grove_cluster_seed_reached(grove_cluster_t *mn, const char *addr);
void grove_cluster_seeds_watch(grove_cluster_t *mn, uint64_t now_ms);
/* Cancels look-ups in flight; returns how many callbacks are still due
 * (each then calls grove_cluster__handle_done). */
int grove_cluster_seeds_close(grove_cluster_t *mn);
void grove_cluster__handle_done(grove_cluster_t *mn);

/* cluster_cert.c */
void grove_cluster__peerbook_config(grove_cluster_t *mn, grove_peerbook_config_t *bc);
void grove_cluster__crl_load(grove_cluster_t *mn);
void grove_cluster__cert_tick(grove_cluster_t *mn, uint64_t now);
void grove_cluster__log_duplicate(grove_cluster_t *mn, const grove_member_event_t *ev);
void grove_cluster__cert_info(grove_cluster_t *mn, grove_buf_t *text);

/* cluster_ae.c */
void grove_cluster_on_ae_timer(uv_timer_t *t);
bool grove_cluster_ae_drain(grove_cluster_t *mn);
void grove_cluster_ae_peers_watch(grove_cluster_t *mn);
int grove_cluster_create_ae(grove_cluster_t *mn, const grove_config_t *cfg, char *err, size_t elen);
void grove_cluster_ae_info(grove_cluster_t *mn, grove_buf_t *text);

/* cluster_monitor.c: a root-digest comparison with peer_id; an
 * anti-entropy stream that was established closed after duration_ms. */
void grove_cluster_mon_digest(grove_cluster_t *mn, const char *peer_id, bool equal);
void grove_cluster_mon_session(grove_cluster_t *mn, uint64_t duration_ms);

/* cluster_stream.c */
void grove_cluster_output(grove_cluster_t *mn, uint8_t layer, const grove_out_t *o);
void grove_cluster_on_inbound(void *ctx, uv_tcp_t *tcp);
void grove_cluster_reap_streams(grove_cluster_t *mn, uint64_t now);
void grove_cluster_on_stream_closed(uv_handle_t *h);

#endif
