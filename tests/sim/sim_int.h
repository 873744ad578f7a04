/*
 * sim_int.h - internals shared by the simulator's files:
 *   sim_loop.c    configuration, trace hash and ring, failure report
 *   sim_run.c     building the cluster, fault schedule, dispatch, sim_run
 *   sim_net.c     the network (tests/util_netsim.h) set up from the
 *                 configuration, delivery to the nodes, partitions
 *   sim_node.c    node lifecycle: identity, store, cores, security bindings
 *   sim_io.c      feeding and draining the cores, timers, forged datagrams
 *   sim_check.c   workload and its reference model
 *   sim_verify.c  state invariants, convergence, model comparison, queries
 *   sim_figures.c the figure experiments; sim_main.c the program
 * Not a public interface.
 */
#ifndef GROVE_SIM_INT_H
#define GROVE_SIM_INT_H

#include <sodium.h>

#include "base/rng.h"
#include "gossip/ae/antientropy.h"
#include "gossip/secure/envelope.h"
#include "gossip/member/member.h"
#include "gossip/secure_hooks.h"
#include "gossip/secure/peerbook.h"
#include "grove/db.h"
#include "tests/sim/sim.h"
#include "tests/util_netsim.h"

#define SIM_ADDR_MAX 16
#define SIM_CAPTURE_MAX 64            /* datagrams kept for replay attacks */
#define SIM_POLL_MAX 100000           /* outputs drained per input, bound */

/* The layer of a datagram or stream is its tag on the network. */
enum sim_layer { SIM_L_MEMBER = 0, SIM_L_AE = 1, SIM_L_COUNT };

/* Kinds of traced events: the network's, then the simulator's own (posted
 * to the network as user events, in one order with the traffic). */
enum sim_ev_kind {
	SIM_EV_DGRAM = 1,
	SIM_EV_SOPEN,
	SIM_EV_SFRAME,
	SIM_EV_SCLOSE,
	SIM_EV_TIMER,
	SIM_EV_CRASH,
	SIM_EV_RESTART,
	SIM_EV_PART_START,
	SIM_EV_PART_END,
	SIM_EV_OP,
	SIM_EV_FORGE,
	SIM_EV_CHECK,
};

typedef struct sim_node {
	struct sim *sim;
	uint32_t idx;
	char id[SIM_ADDR_MAX];
	bool up;
	uint32_t life;         /* incremented at each crash */
	int64_t skew_ms;
	uint32_t group;        /* partition group */
	grove_db_t *db;
	grove_member_t *member;
	grove_ae_t *ae;
	grove_rng_t rng;       /* the cores' randomness */
	grove_identity_t ident;
	grove_sender_t sender;
	grove_peerbook_t *book;
	grove_secure_hooks_t msec; /* the layers' security bindings */
	grove_secure_hooks_t aesec;
	uint64_t epoch;
	uint8_t cert_enc[GROVE_CERT_BYTES_MAX];
	size_t cert_len;
} sim_node_t;

typedef struct sim_capture {
	uint32_t dst, life;
	uint8_t layer;
	uint32_t len;
	uint8_t bytes[GROVE_DATAGRAM_MAX];
} sim_capture_t;

typedef struct sim_trace_rec {
	uint64_t at_ms;
	uint8_t kind, layer;
	uint32_t src, dst, len;
	int note;
} sim_trace_rec_t;

/* Reference model of the workload. */
typedef struct sim_model_reg {
	bool set;
	uint64_t ts;
	char node[SIM_ADDR_MAX];
	uint32_t val;
	uint64_t at;     /* map fields: virtual time + 1 of that greatest set */
	uint64_t rem_at; /* map fields: virtual time + 1 of the last delete that removed */
} sim_model_reg_t;

typedef struct sim_model {
	int64_t *counter;          /* per counter key: sum of deltas */
	sim_model_reg_t *reg;      /* per register key */
	sim_model_reg_t *field;    /* per (map key, field): the greatest set, last delete */
	uint64_t *set_last_add;    /* per (set key, element): last add time + 1 */
	uint64_t *set_last_rem;    /* per (set key, element): last remove time + 1 */
	uint8_t *uniq_state;       /* per unique element: 0 none, 1 added, 2 removed */
	uint32_t uniq_count;
} sim_model_t;

#define SIM_FIELDS 4
#define SIM_ELEMS 4
#define SIM_UNIQ_MAX 4096

_Static_assert(GROVE_DROP_COUNT <= 16, "sim_result_t.forged_by_reason");

struct sim {
	sim_config_t cfg;
	grove_rng_t rng;          /* the seeded source of every choice (the network has its own) */
	grove_netsim_t *net;      /* clock (virtual ms since SIM_START_MS), events, traffic */
	sim_node_t *nodes;        /* node i is network node i */
	uint32_t n;
	bool faults_over;
	/* CA */
	uint8_t ca_pk[GROVE_SIGN_PUBLIC_BYTES], ca_sk[GROVE_SIGN_SECRET_BYTES];
	uint8_t evil_pk[GROVE_SIGN_PUBLIC_BYTES], evil_sk[GROVE_SIGN_SECRET_BYTES];
	/* trace */
	crypto_generichash_state trace;
	sim_trace_rec_t tail[SIM_TRACE_TAIL_MAX];
	uint64_t tail_count;
	/* safety bookkeeping */
	sim_capture_t capture[SIM_CAPTURE_MAX];
	uint32_t ncapture;
	uint32_t *dup_accepted;   /* per network dup id - 1: receiver life + 1 when accepted */
	uint32_t ndups, dups_cap;
	sim_model_t model;
	bool failed;
	sim_result_t res;
	uint32_t oracle_tmp[GROVE_AE_FANOUT_MAX];
};

/* sim_loop.c */
void sim_fail(sim_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hashes a delivered event into the trace (and the ring of the last ones). */
void sim_trace_note(sim_t *s, const grove_netsim_ev_t *ev, int note);
uint64_t sim_local_ms(const sim_t *s, const sim_node_t *nd);

/* sim_net.c */
int sim_net_create(sim_t *s);
void sim_net_faults(sim_t *s, double loss, double dup);
void sim_net_deliver(sim_t *s, const grove_netsim_ev_t *ev);
void sim_net_partition(sim_t *s, bool on);

/* sim_node.c */
int sim_node_init(sim_t *s, uint32_t i);
void sim_node_free(sim_t *s, uint32_t i);
int sim_node_start(sim_t *s, uint32_t i);  /* (re)build the cores */
void sim_node_stop(sim_t *s, uint32_t i);  /* crash: cores gone, store kept */
void sim_node_drain(sim_t *s, uint32_t i); /* route every output, re-arm timer */
void sim_node_timer(sim_t *s, uint32_t i);
uint64_t sim_node_accepted(const sim_node_t *nd);
/* Feeds a datagram to a layer of node i (opened by the hooks). */
bool sim_node_datagram(sim_t *s, uint32_t i, uint8_t layer, uint32_t from, const uint8_t *b, size_t len);
/* Accepts a stream (its id, *sid, bound to ep before the node's outputs
 * are routed) or returns the core's refusal. */
int sim_node_stream_accept(sim_t *s, uint32_t i, uint8_t layer, uint32_t from, grove_netsim_ep_t ep,
			   uint32_t *sid);
void sim_node_stream_frame(sim_t *s, uint32_t i, uint8_t layer, uint32_t sid, const uint8_t *b, size_t len);
void sim_node_stream_closed(sim_t *s, uint32_t i, uint8_t layer, uint32_t sid);
int sim_forge(sim_t *s, uint32_t target, uint8_t *out, size_t cap, size_t *len, uint8_t *layer);

/* sim_check.c */
int sim_model_init(sim_t *s);
void sim_model_free(sim_t *s);
void sim_op(sim_t *s, uint32_t node);
void sim_check_states(sim_t *s, uint32_t node);
bool sim_converged(sim_t *s);
bool sim_digests_equal(sim_t *s);
void sim_fail_divergence(sim_t *s);
void sim_check_model(sim_t *s);

#endif
