/*
 * util_netsim_ae.h - a cluster of anti-entropy cores (gossip/ae/antientropy.h)
 * on the simulated network (tests/util_netsim.h), for tests and benchmarks:
 * N nodes, each a memory grove_db_t with a grove_ae_t, on the network's
 * virtual clock.
 *
 * Node i has address "n<i>" and network node i.  The harness plays the node
 * layer: it takes the network's events in order, feeds datagrams, stream
 * opens, frames, closes and timers into the cores, and after each input
 * carries the core's outputs to the network and arms the node's timer at
 * the core's next deadline.  Flow control is the node layer's: a stream
 * whose backlog passes the cap is made unwritable until the network says
 * it drained.  Anti-entropy peers are random other nodes that are
 * `joined` (what membership would give).
 *
 * The network defaults to datagrams in 1..5 ms (reordered), streams in the
 * same virtual instant (streams_fixed, 0 ms) with a 256 KiB cap, no loss.
 * The test edits c->faults between runs; each run applies it first, and
 * first hands the cores whatever the test changed (writes, joined flags).
 * Everything is replayable from the seed.
 */
#ifndef GROVE_UTIL_NETSIM_AE_H
#define GROVE_UTIL_NETSIM_AE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/rng.h"
#include "gossip/ae/antientropy.h"
#include "grove/db.h"
#include "tests/util_netsim.h"

#define GROVE_AECL_NODES_MAX 300
#define GROVE_AECL_POLL_MAX 1000000 /* outputs of one core after one input */

typedef struct grove_aecluster grove_aecluster_t;

typedef struct grove_aenode {
	grove_aecluster_t *cl;
	int index;
	grove_db_t *db;
	grove_ae_t *ae;
	grove_rng_t rng;
	char addr[16];
	bool joined; /* known to others as a peer */
} grove_aenode_t;

struct grove_aecluster {
	int n;
	grove_aenode_t node[GROVE_AECL_NODES_MAX];
	grove_netsim_t *net;
	grove_netsim_faults_t faults; /* applied at the start of every run */
	grove_rng_t rng;              /* seeds the nodes' sources */
	uint64_t opens_refused;
};

/* n nodes, all joined, each core with cfg (NULL: defaults with interval
 * 200 ms), started at the first run.  Free with grove_aecluster_destroy. */
grove_aecluster_t *grove_aecluster_create(int n, uint64_t seed, const grove_ae_config_t *cfg);
void grove_aecluster_destroy(grove_aecluster_t *c);

uint64_t grove_aecluster_now(const grove_aecluster_t *c);
/* Runs the cluster in virtual time up to now + ms. */
void grove_aecluster_run(grove_aecluster_t *c, uint64_t ms);
/* Partition groups (groups[i] for node i; NULL heals): the streams that
 * cross them break at the next run. */
void grove_aecluster_partition(grove_aecluster_t *c, const int *groups);

/* Every node holds the same root digest. */
bool grove_aecluster_converged(const grove_aecluster_t *c);
/* Runs until converged (checked every step_ms), at most max_ms; returns the
 * virtual time it took, or UINT64_MAX. */
uint64_t grove_aecluster_run_until_converged(grove_aecluster_t *c, uint64_t step_ms, uint64_t max_ms);

/* Live keys of db a whose encoded state differs in db b (or is missing),
 * plus the difference of the live key counts: 0 means byte-identical. */
uint64_t grove_aecluster_state_mismatches(grove_db_t *a, grove_db_t *b);

/* For tests that drive two cores by hand (no cluster): a
 * grove_ae_config_t.peers that names one peer, the address in ctx. */
size_t grove_test_ae_one_peer(void *ctx, char (*addrs)[GROVE_AE_ADDR_MAX + 1], size_t max);

#endif
