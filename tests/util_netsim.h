/*
 * util_netsim.h - a deterministic in-memory network for the sans-IO
 * protocol tests (cmocka), driven by a virtual clock.  (The simulator,
 * tests/sim/, does not use it: it has its own network, sim_net.c.)
 *
 * Nodes are registered by address ("host:port") with handler callbacks.
 * Datagrams can be lost, duplicated and delayed (uniformly in
 * [delay_min_ms, delay_max_ms], which also reorders them); streams are
 * reliable and ordered (TCP-like) with the same delays.  Nodes can be taken
 * down (killed or paused: nothing is delivered to them, their timer does not
 * fire, their streams break) and put in partition groups (nothing crosses
 * between groups; streams across them fail).  Each node has one timer
 * (grove_netsim_timer_set replaces it), which is how a protocol core's
 * next_deadline is honoured.
 *
 * Everything happens inside grove_netsim_run_until, in (time, sequence)
 * order, so a run is a pure function of its seed.  Handlers may call back
 * into the netsim (send, open, close, set timers).  Bytes passed to handlers
 * are borrowed for the call.  Not thread-safe.
 */
#ifndef GROVE_UTIL_NETSIM_H
#define GROVE_UTIL_NETSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GROVE_NETSIM_ADDR_MAX 128
#define GROVE_NETSIM_NODES_MAX 8192
#define GROVE_NETSIM_EVENTS_MAX (1u << 24) /* queued events before drops */

typedef struct grove_netsim grove_netsim_t;

/* A stream end is named by an endpoint id, unique per direction. */
typedef struct grove_netsim_handlers {
	void (*on_datagram)(void *ctx, uint64_t now_ms, const char *from, const uint8_t *bytes, size_t len);
	void (*on_stream_open)(void *ctx, uint64_t now_ms, uint32_t endpoint, const char *from);
	void (*on_stream_frame)(void *ctx, uint64_t now_ms, uint32_t endpoint, const uint8_t *bytes, size_t len);
	/* the stream failed or the other end closed it; endpoint is dead now */
	void (*on_stream_closed)(void *ctx, uint64_t now_ms, uint32_t endpoint);
	void (*on_timer)(void *ctx, uint64_t now_ms);
} grove_netsim_handlers_t;

typedef struct grove_netsim_faults {
	double loss;           /* datagram loss probability */
	double duplicate;      /* datagram duplication probability */
	uint32_t delay_min_ms; /* one-way delay of datagrams and stream frames */
	uint32_t delay_max_ms;
} grove_netsim_faults_t;

typedef struct grove_netsim_stats {
	uint64_t datagrams_sent, datagrams_delivered, datagrams_lost, datagrams_blocked;
	uint64_t bytes_sent;
	uint64_t streams_opened, streams_failed, frames_delivered, stream_bytes;
	uint64_t events_dropped;
} grove_netsim_stats_t;

grove_netsim_t *grove_netsim_create(uint64_t seed, uint64_t start_ms);
void grove_netsim_destroy(grove_netsim_t *net);

void grove_netsim_set_faults(grove_netsim_t *net, const grove_netsim_faults_t *faults);
/* Returns the node index, or -1 (duplicate address, too many nodes). */
int grove_netsim_add_node(grove_netsim_t *net, const char *addr, const grove_netsim_handlers_t *h, void *ctx);
/* Rebind a node's handlers (e.g. a restarted process at the same address). */
void grove_netsim_set_handlers(grove_netsim_t *net, int node, const grove_netsim_handlers_t *h, void *ctx);
int grove_netsim_find(const grove_netsim_t *net, const char *addr);

/* Down: deliveries dropped, timer frozen, open streams broken. */
void grove_netsim_set_down(grove_netsim_t *net, int node, bool down);
bool grove_netsim_is_down(const grove_netsim_t *net, int node);
/* Datagrams to and from the node are dropped; streams still work (a
 * firewall that blocks UDP but passes TCP). */
void grove_netsim_set_udp_blocked(grove_netsim_t *net, int node, bool blocked);
/* Partition group; traffic flows only within a group (all start in 0). */
void grove_netsim_set_group(grove_netsim_t *net, int node, int group);

uint64_t grove_netsim_now(const grove_netsim_t *net);
void grove_netsim_send(grove_netsim_t *net, int from_node, const char *to_addr, const uint8_t *bytes, size_t len);
/* Opens a stream: returns the local endpoint; the peer gets on_stream_open
 * (or the local end gets on_stream_closed if it cannot be reached). */
uint32_t grove_netsim_stream_open(grove_netsim_t *net, int from_node, const char *to_addr);
void grove_netsim_stream_send(grove_netsim_t *net, uint32_t endpoint, const uint8_t *bytes, size_t len);
/* Close after the frames already sent; the peer gets on_stream_closed. */
void grove_netsim_stream_close(grove_netsim_t *net, uint32_t endpoint);

/* One timer per node: fires on_timer at at_ms (replaces the previous). */
void grove_netsim_timer_set(grove_netsim_t *net, int node, uint64_t at_ms);

/* Deliver every event up to and including t_ms; the clock ends at t_ms. */
void grove_netsim_run_until(grove_netsim_t *net, uint64_t t_ms);

void grove_netsim_get_stats(const grove_netsim_t *net, grove_netsim_stats_t *stats);

#endif
