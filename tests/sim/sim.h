/*
 * sim.h - the deterministic whole-cluster simulator.
 *
 * One process runs N Grove nodes: each with the REAL membership core
 * (gossip/member/member.h), anti-entropy core (gossip/ae/antientropy.h), a memory
 * store (include/grove/db.h) and the signed-datagram layer (gossip/secure/envelope.h,
 * peerbook.h).  Nothing of the protocols is copied or mocked: the simulator
 * only owns time and the network.
 *
 *  - Time: one virtual clock; every input (datagram, stream open / frame /
 *    close, timer, fault, client operation, check) is an event of the tests'
 *    simulated network (tests/util_netsim.h), ordered by (time, sequence).
 *    Each node sees the virtual clock plus its own skew (its HLC clock
 *    function and every `now` it is given).
 *  - Network: that one network, with per-link base latency plus exponential
 *    jitter (which reorders datagrams), loss, duplication, partitions that
 *    come and go; streams are ordered and reliable but broken by partitions
 *    and crashes.
 *  - Faults: crashes (cores destroyed, the store kept) and restarts (cores
 *    rebuilt from the persisted membership state and a higher epoch).
 *  - Every random choice comes from one grove_rng_t seeded by config.seed;
 *    every delivered event is hashed into a BLAKE2b trace hash, so two runs
 *    with one seed and one config must give one hash.
 *
 * Checks (a failure stops the run, fills result.failure and prints the seed,
 * the replay command and the last events): no forged, tampered, replayed or
 * duplicated datagram is accepted; stored states decode and re-encode
 * canonically; merge is commutative and idempotent on sampled keys; after
 * the faults stop, every node converges to one root digest and one
 * membership view within config.settle_max_ms; the converged values match a
 * reference model of the workload.
 *
 * Ownership: sim_t is opaque (sim_create / sim_destroy).  Not thread-safe.
 */
#ifndef GROVE_SIM_H
#define GROVE_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_NODES_MAX 20000
#define SIM_TRACE_TAIL_MAX 256
#define SIM_START_MS 1700000000000ULL /* virtual epoch (unix ms) */

typedef enum sim_peers_mode {
	SIM_PEERS_MEMBER = 0, /* anti-entropy peers come from the membership core */
	SIM_PEERS_ORACLE = 1, /* uniform random live nodes (no membership core) */
} sim_peers_mode_t;

typedef struct sim_config {
	uint64_t seed;
	uint32_t nodes;
	bool membership;      /* run the SWIM core on every node */
	bool antientropy;     /* run the anti-entropy core on every node */
	bool secure;          /* sign and verify every datagram (default true) */
	bool ae_push;         /* anti-entropy pushes fresh writes */
	sim_peers_mode_t peers;

	/* core timing (0 = the core's default) */
	uint32_t probe_interval_ms;
	uint32_t ae_interval_ms;

	/* network */
	uint32_t lat_min_ms, lat_max_ms; /* per-link base latency, uniform */
	uint32_t jitter_ms;              /* mean of the exponential jitter */
	double loss, dup;                /* during the fault phase */
	double loss_after;               /* loss after the faults stop */

	/* faults, during [0, fault_ms) */
	uint64_t fault_ms;
	uint32_t partitions;  /* partition episodes */
	uint32_t crashes;     /* crash + restart episodes */
	uint32_t skew_max_ms; /* per-node clock skew in [-max, +max] */
	uint32_t forgeries;   /* hostile datagrams injected */

	/* workload, during [0, fault_ms) */
	uint32_t ops;
	uint32_t keys; /* keys per type */

	/* liveness */
	uint64_t settle_max_ms;  /* convergence bound after the faults stop */
	uint32_t check_every_ms; /* convergence / invariant check period */

	uint32_t trace_tail; /* events printed on failure */
	bool quiet;          /* no failure print (tests that expect one) */
	const char *argv0;   /* for the replay command */
} sim_config_t;

typedef struct sim_result {
	bool ok;
	char failure[512];
	uint8_t trace_hash[32];
	uint64_t events;          /* delivered events */
	uint64_t end_ms;          /* virtual time at the end (from start) */
	uint64_t converged_ms;    /* after the faults stopped; UINT64_MAX if never */
	uint64_t data_converged_ms; /* ... until one root digest (membership aside) */
	/* traffic (datagrams and stream frames) */
	uint64_t datagrams, datagram_bytes, frames, frame_bytes;
	uint64_t lost, duplicated, blocked;
	/* safety */
	uint64_t forged, forged_dropped, dups_dropped;
	uint64_t forged_by_reason[16]; /* by grove_drop_t (gossip/secure/peerbook.h) */
	uint64_t states_checked, merges_checked, model_keys_checked;
	uint64_t crashes, restarts, partitions;
	size_t rss_bytes; /* largest resident size of the process seen during the run */
} sim_result_t;

typedef struct sim sim_t;

/* Defaults: 5 nodes, membership + anti-entropy, secure, latency 1..20 ms
 * with 5 ms jitter, 10 s of faults, 200 ops on 4 keys per type, settle
 * bound 60 s. */
void sim_config_init(sim_config_t *cfg);

/* Builds the cluster (identities, stores, cores).  NULL on failure. */
sim_t *sim_create(const sim_config_t *cfg);
void sim_destroy(sim_t *s);

/* Runs the fault phase, then lets the cluster settle and checks
 * convergence and the model.  Fills *res; returns res->ok. */
bool sim_run(sim_t *s, sim_result_t *res);

/* Hex of a trace hash (65 bytes with NUL). */
void sim_hash_hex(const uint8_t hash[32], char out[65]);

/* Prints the command that replays cfg (to stream f). */
void sim_print_replay(const sim_config_t *cfg, void *f);

/* --- building blocks for the figure experiments (sim_figures.c) --- */

/* Runs events until virtual time (ms since start) t. false on failure. */
bool sim_run_until(sim_t *s, uint64_t t_ms);
uint64_t sim_now(const sim_t *s); /* ms since start */
/* Registers one write of a fresh register key at node i; returns 0. */
int sim_write_probe(sim_t *s, uint32_t node, const char *key);
/* Number of live nodes whose store holds key. */
uint32_t sim_count_holding(sim_t *s, const char *key);
/* Crashes node i now (store kept).  */
void sim_crash(sim_t *s, uint32_t node);
/* Number of live nodes (other than i) that consider i dead (or suspect). */
uint32_t sim_count_seeing(sim_t *s, uint32_t node, int state);
/* Live nodes that see all other live nodes alive. */
uint32_t sim_count_full_view(sim_t *s);
void sim_set_loss(sim_t *s, double loss);

/* --- test seams: prove that the checks can fail --- */
/* Injects one datagram into node target through the forged-datagram check:
 * genuine=false a forgery (must be dropped), genuine=true a datagram truly
 * sealed by node from (accepted, so the check must report a failure). */
void sim_inject(sim_t *s, uint32_t target, uint32_t from, bool genuine);
/* Makes the reference model wrong (counter c0 off by one). */
void sim_model_skew(sim_t *s);
bool sim_failed(const sim_t *s);
void sim_get_result(sim_t *s, sim_result_t *res);

#endif
