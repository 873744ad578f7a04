/*
 * sim_int.h - internals shared by the simulator's files:
 *   sim_loop.c    event heap, trace hash and ring, failure report
 *   sim_run.c     building the cluster, fault schedule, dispatch, sim_run
 *   sim_net.c     links, datagrams, streams, partitions, delivery
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

#define SIM_ADDR_MAX 16
#define SIM_EVENTS_MAX (1u << 26)     /* queued events before the run fails */
#define SIM_CONNS_MAX (1u << 20)      /* open streams */
#define SIM_NODE_CONNS_MAX 256        /* open streams per node */
#define SIM_CAPTURE_MAX 64            /* datagrams kept for replay attacks */
#define SIM_POLL_MAX 100000           /* outputs drained per input, bound */

enum sim_layer { SIM_L_MEMBER = 0, SIM_L_AE = 1, SIM_L_COUNT };

enum sim_end_state { SIM_END_PENDING = 0, SIM_END_OPEN, SIM_END_CLOSED };

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

typedef struct sim_ev {
	uint64_t at_ms;
	uint64_t seq;
	uint8_t kind;
	uint8_t layer;
	uint8_t end;     /* stream events: receiving end (0 opener, 1 acceptor) */
	uint32_t dst, src;
	uint32_t conn;   /* stream events: connection index */
	uint32_t gen;    /* timer / connection generation; dup token + 1 */
	uint8_t *bytes;  /* owned by the event (malloc) */
	uint32_t len;
} sim_ev_t;

typedef struct sim_heap {
	sim_ev_t *ev;
	size_t count, cap;
	uint64_t next_seq;
} sim_heap_t;

typedef struct sim_conn {
	bool used;
	uint8_t layer;
	uint32_t gen;
	uint32_t end[2];      /* node of the opener (0) and acceptor (1) */
	uint32_t sid[2];      /* core stream id at each end */
	uint8_t state[2];     /* enum sim_end_state */
	uint32_t life[2];     /* node lives when attached */
	uint64_t last_at[2];  /* last delivery time in direction i -> 1-i */
} sim_conn_t;

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
	uint64_t timer_at;     /* virtual time of the armed timer; UINT64_MAX none */
	uint32_t timer_gen;
	uint32_t *conns;       /* connection indexes with an end here */
	uint32_t nconns;
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
} sim_model_reg_t;

typedef struct sim_model {
	int64_t *counter;          /* per counter key: sum of deltas */
	sim_model_reg_t *reg;      /* per register key */
	sim_model_reg_t *field;    /* per (map key, field): val 0 = deleted */
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
	grove_rng_t rng;          /* the one seeded source of every choice */
	uint64_t now;             /* virtual ms since SIM_START_MS */
	sim_heap_t heap;
	sim_node_t *nodes;
	uint32_t n;
	sim_conn_t *conns;
	uint32_t nconns_cap, conn_free_hint;
	bool partitioned;
	double loss, dup;
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
	uint32_t *dup_accepted;   /* per dup token: receiver life + 1 when accepted */
	uint32_t ndups, dups_cap;
	sim_model_t model;
	bool failed;
	sim_result_t res;
	uint32_t oracle_tmp[GROVE_AE_FANOUT_MAX];
};

/* sim_loop.c */
void sim_push(sim_t *s, sim_ev_t *ev);
bool sim_pop(sim_t *s, sim_ev_t *out);
void sim_fail(sim_t *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sim_trace_note(sim_t *s, const sim_ev_t *ev, int note);
uint64_t sim_local_ms(const sim_t *s, const sim_node_t *nd);

/* sim_net.c */
int sim_addr_node(const sim_t *s, const char *addr); /* -1 if not a node */
void sim_net_datagram(sim_t *s, uint32_t src, uint8_t layer, const char *addr,
		      const uint8_t *bytes, size_t len);
void sim_net_stream_open(sim_t *s, uint32_t src, uint8_t layer, uint32_t sid, const char *addr);
void sim_net_stream_frame(sim_t *s, uint32_t src, uint8_t layer, uint32_t sid,
			  const uint8_t *bytes, size_t len);
void sim_net_stream_close(sim_t *s, uint32_t src, uint8_t layer, uint32_t sid);
void sim_net_deliver(sim_t *s, sim_ev_t *ev);
void sim_net_break_node(sim_t *s, uint32_t node);
void sim_net_partition(sim_t *s, bool on);
bool sim_net_blocked(const sim_t *s, uint32_t a, uint32_t b);

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
int sim_node_stream_accept(sim_t *s, uint32_t i, uint8_t layer, uint32_t from, uint32_t *sid);
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
