/*
 * util_netsim.h - the one simulated network of the tests, the benchmarks
 * and the simulator (tests/sim/): sans-IO, on a virtual clock, a pure
 * function of its seed and of what its user does.
 *
 * The network carries bytes and keeps time; it never calls a protocol core.
 * Its user sends datagrams, opens, writes and closes streams, arms one timer
 * per node and posts events of its own, then takes the events out in
 * (time, sequence) order with grove_netsim_next and feeds its cores:
 *
 *     while (grove_netsim_next(net, until_ms, &ev))
 *             switch (ev.kind) { ... }
 *
 * Model:
 *  - Nodes are registered by address ("host:port", any string) and named by
 *    the index grove_netsim_add_node returns.  A node that is down (killed
 *    or paused) gets nothing, its timer waits until it is up again, and its
 *    streams break.  Nodes in different partition groups (all start in 0)
 *    cannot reach each other.
 *  - Every message takes a per-link base latency (uniform in
 *    [link_min_ms, link_max_ms], drawn from the seed once per pair, the
 *    same both ways), plus a uniform draw in [delay_min_ms, delay_max_ms],
 *    plus an exponential jitter of mean jitter_ms (capped at 10x); stream
 *    messages take exactly stream_delay_ms instead when streams_fixed.
 *  - Datagrams are lost, duplicated (both copies carry one dup id and take
 *    their own delays) and thereby reordered; they are blocked (counted,
 *    dropped) across groups, to or from a down node, to or from a node
 *    whose UDP is blocked, and to an unknown address.
 *  - Streams are reliable and ordered: a message is delivered no earlier
 *    than the one sent before it in that direction, and a close arrives
 *    after the frames sent before it.  Each end is named by an endpoint
 *    and carries the tag of its opener and the stream id its owner bound
 *    to it (the protocol core's id), so the owner finds it again with
 *    grove_netsim_stream_find.  A partition between the ends or an end
 *    going down breaks the stream: every other end still open is told
 *    STREAM_CLOSED (after one message delay), and the frames in flight
 *    are dropped.
 *  - Flow control (stream_cap_bytes > 0): a send that leaves more than the
 *    cap in flight toward the reader returns false (stop writing); once
 *    the reader has taken the backlog down to half the cap, the writer
 *    gets STREAM_WRITABLE.
 *  - Timers: one per node, replaced by each grove_netsim_timer_set.
 *  - User events (grove_netsim_post) come back in order with the rest:
 *    the simulator's crashes, partitions, client operations and checks.
 *
 * Bytes of a returned event are borrowed until the next call of
 * grove_netsim_next or grove_netsim_destroy.  Not thread-safe.
 */
#ifndef GROVE_UTIL_NETSIM_H
#define GROVE_UTIL_NETSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GROVE_NETSIM_ADDR_MAX 128
#define GROVE_NETSIM_NODES_MAX 65536
#define GROVE_NETSIM_EVENTS_MAX (1u << 26)   /* queued events; more are dropped and counted */
#define GROVE_NETSIM_STREAMS_MAX (1u << 22)  /* streams open at once */
#define GROVE_NETSIM_NODE_ENDS_MAX 4096      /* stream ends attached to one node */
#define GROVE_NETSIM_NEVER UINT64_MAX        /* timer_set: no timer */

typedef struct grove_netsim grove_netsim_t;

/* One end of a stream; 0 is no end.  Stale once the stream is gone. */
typedef uint64_t grove_netsim_ep_t;

typedef enum grove_netsim_ev_kind {
	GROVE_NETSIM_EV_DATAGRAM = 1,
	GROVE_NETSIM_EV_STREAM_OPEN,     /* a peer opened a stream to this node */
	GROVE_NETSIM_EV_STREAM_FRAME,
	GROVE_NETSIM_EV_STREAM_CLOSED,   /* the peer closed it or it broke; the end is gone */
	GROVE_NETSIM_EV_STREAM_WRITABLE, /* the backlog toward the peer drained */
	GROVE_NETSIM_EV_TIMER,
	GROVE_NETSIM_EV_USER,
} grove_netsim_ev_kind_t;

typedef struct grove_netsim_ev {
	grove_netsim_ev_kind_t kind;
	uint64_t at_ms;
	int node;              /* where it happens */
	int from;              /* datagrams and streams: the other node; else -1 */
	uint8_t tag;           /* datagrams and streams: the sender's (opener's) tag */
	grove_netsim_ep_t ep;  /* stream events: the end at node */
	uint32_t sid;          /* stream events: the id bound to that end (0: none yet) */
	uint32_t dup;          /* datagrams: nonzero (the same) on both copies of a duplicate */
	uint32_t user;         /* USER: the kind given to grove_netsim_post */
	uint64_t arg;          /* USER: its argument */
	const uint8_t *bytes;  /* datagrams and frames */
	size_t len;
} grove_netsim_ev_t;

typedef struct grove_netsim_faults {
	double loss;           /* datagram loss probability (per copy) */
	double duplicate;      /* datagram duplication probability */
	uint32_t delay_min_ms; /* per message, uniform */
	uint32_t delay_max_ms;
	uint32_t link_min_ms;  /* per link (pair of nodes), drawn from the seed */
	uint32_t link_max_ms;
	uint32_t jitter_ms;    /* mean of the exponential jitter; 0 none */
	bool streams_fixed;    /* stream messages take exactly stream_delay_ms */
	uint32_t stream_delay_ms;
	size_t stream_cap_bytes; /* flow control; 0 unlimited */
} grove_netsim_faults_t;

typedef struct grove_netsim_stats {
	uint64_t datagrams_sent, datagrams_delivered, datagrams_lost, datagrams_duplicated;
	uint64_t datagrams_blocked;
	uint64_t bytes_sent; /* of datagrams */
	uint64_t streams_opened, streams_failed;
	uint64_t frames_sent, frames_delivered, stream_bytes;
	size_t stream_backlog_peak_bytes; /* most bytes in flight toward one end */
	uint64_t events_dropped;
} grove_netsim_stats_t;

/* Defaults: no loss, every message 1..5 ms, no flow control. */
grove_netsim_t *grove_netsim_create(uint64_t seed, uint64_t start_ms);
void grove_netsim_destroy(grove_netsim_t *net);

void grove_netsim_set_faults(grove_netsim_t *net, const grove_netsim_faults_t *faults);
void grove_netsim_get_faults(const grove_netsim_t *net, grove_netsim_faults_t *faults);

/* Returns the node index (0, 1, ... in order), or -1 (duplicate address,
 * too long, too many nodes).  Nodes start up, in group 0. */
int grove_netsim_add_node(grove_netsim_t *net, const char *addr);
int grove_netsim_find(const grove_netsim_t *net, const char *addr); /* -1 if unknown */
const char *grove_netsim_addr(const grove_netsim_t *net, int node);

/* Down: deliveries dropped, timer frozen, streams broken. */
void grove_netsim_set_down(grove_netsim_t *net, int node, bool down);
bool grove_netsim_is_down(const grove_netsim_t *net, int node);
/* Datagrams to and from the node are dropped; streams still work (a
 * firewall that blocks UDP but passes TCP). */
void grove_netsim_set_udp_blocked(grove_netsim_t *net, int node, bool blocked);
/* Partition group.  The streams that cross groups break when the next
 * event is taken, so several moves in a row act as one partition. */
void grove_netsim_set_group(grove_netsim_t *net, int node, int group);

uint64_t grove_netsim_now(const grove_netsim_t *net);

/* A wire tap: called with every datagram (stream false) and every stream
 * message (stream true) as it is sent, whatever becomes of it (the
 * capture tests: nothing may cross the network in clear).  from is the
 * sending node, tag the datagram's or stream opener's tag. */
typedef void (*grove_netsim_tap_fn)(void *ctx, bool stream, int from, uint8_t tag, const uint8_t *bytes,
				    size_t len);
void grove_netsim_set_tap(grove_netsim_t *net, grove_netsim_tap_fn tap, void *ctx);

void grove_netsim_send(grove_netsim_t *net, int from, const char *to_addr, uint8_t tag, const uint8_t *bytes,
		       size_t len);

/* Opens a stream and binds sid to the local end, which it returns.  The
 * peer gets STREAM_OPEN (it binds its own id or closes the end to refuse);
 * an unreachable peer breaks it (the local end gets STREAM_CLOSED). */
grove_netsim_ep_t grove_netsim_stream_open(grove_netsim_t *net, int from, const char *to_addr, uint8_t tag,
					   uint32_t sid);
void grove_netsim_stream_bind(grove_netsim_t *net, grove_netsim_ep_t ep, uint32_t sid);
/* The open end at node with this tag and bound id, or 0. */
grove_netsim_ep_t grove_netsim_stream_find(const grove_netsim_t *net, int node, uint8_t tag, uint32_t sid);
/* Returns false when the backlog toward the peer exceeds the cap (stop
 * writing until STREAM_WRITABLE); sends on a dead end are dropped. */
bool grove_netsim_stream_send(grove_netsim_t *net, grove_netsim_ep_t ep, const uint8_t *bytes, size_t len);
/* Closes the end after the frames already sent; the peer gets STREAM_CLOSED. */
void grove_netsim_stream_close(grove_netsim_t *net, grove_netsim_ep_t ep);

/* The node's one timer: TIMER at at_ms (not before now), replacing the
 * previous one; GROVE_NETSIM_NEVER cancels. */
void grove_netsim_timer_set(grove_netsim_t *net, int node, uint64_t at_ms);
/* A USER event at at_ms (not before now) for node, delivered even while
 * the node is down. */
void grove_netsim_post(grove_netsim_t *net, uint64_t at_ms, int node, uint32_t user, uint64_t arg);

/* Takes the next event due at or before until_ms into *ev (the clock moves
 * to its time) and returns true; with none left, moves the clock to
 * until_ms and returns false. */
bool grove_netsim_next(grove_netsim_t *net, uint64_t until_ms, grove_netsim_ev_t *ev);

void grove_netsim_get_stats(const grove_netsim_t *net, grove_netsim_stats_t *stats);

#endif
