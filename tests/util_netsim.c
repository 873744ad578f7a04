/*
 * util_netsim.c - the in-memory network (see util_netsim.h).
 *
 * One binary min-heap of events ordered by (time, sequence number) holds
 * everything in flight: datagrams, stream opens, frames, closes and timers.
 * Stream frames toward one endpoint are delivered in order: each is
 * scheduled no earlier than the previous one.  Stale timer events (replaced
 * by a later grove_netsim_timer_set) are skipped when popped.
 */
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/rng.h"
#include "tests/util_netsim.h"

enum { EV_DGRAM, EV_SOPEN, EV_SFRAME, EV_SCLOSE, EV_TIMER };

typedef struct ev {
	uint64_t at, seq;
	int kind;
	int node;      /* destination */
	int from_node; /* datagrams, stream opens */
	uint32_t endpoint;
	uint8_t *bytes;
	size_t len;
} ev_t;

typedef struct node {
	char addr[GROVE_NETSIM_ADDR_MAX + 1];
	grove_netsim_handlers_t h;
	void *ctx;
	bool down;
	bool udp_blocked;
	int group;
	uint64_t timer_at; /* 0 = none */
} node_t;

typedef struct conn {
	int node[2];
	bool closed[2];
	bool broken;
	uint64_t last_at[2]; /* latest delivery scheduled toward each side */
} conn_t;

struct grove_netsim {
	grove_rng_t rng;
	uint64_t now, seq;
	grove_netsim_faults_t faults;
	node_t *nodes;
	size_t node_count, node_cap;
	ev_t *heap;
	size_t heap_len, heap_cap;
	conn_t *conns;
	size_t conn_count, conn_cap;
	grove_netsim_stats_t stats;
};

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);
	GROVE_ASSERT(q != NULL);
	return q;
}

grove_netsim_t *grove_netsim_create(uint64_t seed, uint64_t start_ms)
{
	grove_netsim_t *net = calloc(1, sizeof(*net));
	GROVE_ASSERT(net != NULL);
	grove_rng_seed(&net->rng, seed);
	net->now = start_ms;
	net->faults.delay_min_ms = 1;
	net->faults.delay_max_ms = 5;
	return net;
}

void grove_netsim_destroy(grove_netsim_t *net)
{
	if (!net)
		return;
	for (size_t i = 0; i < net->heap_len; i++)
		free(net->heap[i].bytes);
	free(net->heap);
	free(net->nodes);
	free(net->conns);
	free(net);
}

void grove_netsim_set_faults(grove_netsim_t *net, const grove_netsim_faults_t *faults)
{
	GROVE_ASSERT(faults->delay_min_ms <= faults->delay_max_ms);
	net->faults = *faults;
}

int grove_netsim_find(const grove_netsim_t *net, const char *addr)
{
	for (size_t i = 0; i < net->node_count; i++)
		if (strcmp(net->nodes[i].addr, addr) == 0)
			return (int)i;
	return -1;
}

int grove_netsim_add_node(grove_netsim_t *net, const char *addr, const grove_netsim_handlers_t *h, void *ctx)
{
	if (strlen(addr) > GROVE_NETSIM_ADDR_MAX || net->node_count >= GROVE_NETSIM_NODES_MAX ||
	    grove_netsim_find(net, addr) >= 0)
		return -1;
	if (net->node_count == net->node_cap) {
		net->node_cap = net->node_cap ? net->node_cap * 2 : 16;
		net->nodes = xrealloc(net->nodes, net->node_cap * sizeof(*net->nodes));
	}
	node_t *n = &net->nodes[net->node_count];
	memset(n, 0, sizeof(*n));
	strcpy(n->addr, addr);
	n->h = *h;
	n->ctx = ctx;
	return (int)net->node_count++;
}

void grove_netsim_set_handlers(grove_netsim_t *net, int node, const grove_netsim_handlers_t *h, void *ctx)
{
	net->nodes[node].h = *h;
	net->nodes[node].ctx = ctx;
}

uint64_t grove_netsim_now(const grove_netsim_t *net)
{
	return net->now;
}

/* --- heap ------------------------------------------------------------------------ */

static bool ev_less(const ev_t *a, const ev_t *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

static void heap_push(grove_netsim_t *net, ev_t e)
{
	if (net->heap_len >= GROVE_NETSIM_EVENTS_MAX) {
		net->stats.events_dropped++;
		free(e.bytes);
		return;
	}
	if (net->heap_len == net->heap_cap) {
		net->heap_cap = net->heap_cap ? net->heap_cap * 2 : 1024;
		net->heap = xrealloc(net->heap, net->heap_cap * sizeof(*net->heap));
	}
	e.seq = net->seq++;
	size_t i = net->heap_len++;
	while (i > 0 && ev_less(&e, &net->heap[(i - 1) / 2])) {
		net->heap[i] = net->heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	net->heap[i] = e;
}

static ev_t heap_pop(grove_netsim_t *net)
{
	ev_t top = net->heap[0];
	ev_t last = net->heap[--net->heap_len];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= net->heap_len)
			break;
		if (c + 1 < net->heap_len && ev_less(&net->heap[c + 1], &net->heap[c]))
			c++;
		if (!ev_less(&net->heap[c], &last))
			break;
		net->heap[i] = net->heap[c];
		i = c;
	}
	if (net->heap_len)
		net->heap[i] = last;
	return top;
}

static uint64_t delay(grove_netsim_t *net)
{
	uint32_t lo = net->faults.delay_min_ms, hi = net->faults.delay_max_ms;
	return lo + grove_rng_below(&net->rng, (uint64_t)(hi - lo) + 1);
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
	uint8_t *q = malloc(n ? n : 1);
	GROVE_ASSERT(q != NULL);
	if (n)
		memcpy(q, p, n);
	return q;
}

static bool reachable(const grove_netsim_t *net, int a, int b)
{
	return a >= 0 && b >= 0 && !net->nodes[a].down && !net->nodes[b].down &&
	       net->nodes[a].group == net->nodes[b].group;
}

/* --- datagrams ----------------------------------------------------------------------- */

void grove_netsim_send(grove_netsim_t *net, int from_node, const char *to_addr, const uint8_t *bytes, size_t len)
{
	int to = grove_netsim_find(net, to_addr);
	net->stats.datagrams_sent++;
	net->stats.bytes_sent += len;
	if (!reachable(net, from_node, to) || net->nodes[from_node].udp_blocked || net->nodes[to].udp_blocked) {
		net->stats.datagrams_blocked++;
		return;
	}
	int copies = grove_rng_unit(&net->rng) < net->faults.duplicate ? 2 : 1;
	for (int i = 0; i < copies; i++) {
		if (grove_rng_unit(&net->rng) < net->faults.loss) {
			net->stats.datagrams_lost++;
			continue;
		}
		ev_t e = { .at = net->now + delay(net), .kind = EV_DGRAM, .node = to, .from_node = from_node,
			   .bytes = dup_bytes(bytes, len), .len = len };
		heap_push(net, e);
	}
}

/* --- streams -------------------------------------------------------------------------- */

static uint32_t endpoint_of(size_t conn, int side)
{
	return (uint32_t)(((conn << 1) | (size_t)side) + 1);
}

static conn_t *conn_of(grove_netsim_t *net, uint32_t endpoint, int *side)
{
	GROVE_ASSERT(endpoint >= 1 && ((endpoint - 1) >> 1) < net->conn_count);
	*side = (int)((endpoint - 1) & 1);
	return &net->conns[(endpoint - 1) >> 1];
}

/* Schedules event kind toward side s of conn c, after what is in flight. */
static void conn_deliver(grove_netsim_t *net, size_t c, int s, int kind, const uint8_t *bytes, size_t len)
{
	conn_t *k = &net->conns[c];
	uint64_t at = net->now + delay(net);
	if (at < k->last_at[s])
		at = k->last_at[s];
	k->last_at[s] = at;
	ev_t e = { .at = at, .kind = kind, .node = k->node[s], .from_node = k->node[1 - s],
		   .endpoint = endpoint_of(c, s), .bytes = len ? dup_bytes(bytes, len) : NULL, .len = len };
	heap_push(net, e);
}

/* Both ends that are still open learn the stream failed. */
static void conn_break(grove_netsim_t *net, size_t c)
{
	conn_t *k = &net->conns[c];
	if (k->broken)
		return;
	k->broken = true;
	for (int s = 0; s < 2; s++)
		if (!k->closed[s] && k->node[s] >= 0)
			conn_deliver(net, c, s, EV_SCLOSE, NULL, 0);
	net->stats.streams_failed++;
}

uint32_t grove_netsim_stream_open(grove_netsim_t *net, int from_node, const char *to_addr)
{
	if (net->conn_count == net->conn_cap) {
		net->conn_cap = net->conn_cap ? net->conn_cap * 2 : 64;
		net->conns = xrealloc(net->conns, net->conn_cap * sizeof(*net->conns));
	}
	size_t c = net->conn_count++;
	conn_t *k = &net->conns[c];
	memset(k, 0, sizeof(*k));
	k->node[0] = from_node;
	k->node[1] = grove_netsim_find(net, to_addr);
	net->stats.streams_opened++;
	if (!reachable(net, from_node, k->node[1])) {
		k->closed[1] = true;
		conn_break(net, c);
	} else {
		conn_deliver(net, c, 1, EV_SOPEN, NULL, 0);
	}
	return endpoint_of(c, 0);
}

void grove_netsim_stream_send(grove_netsim_t *net, uint32_t endpoint, const uint8_t *bytes, size_t len)
{
	int s;
	conn_t *k = conn_of(net, endpoint, &s);
	size_t c = (endpoint - 1) >> 1;
	if (k->closed[s] || k->closed[1 - s])
		return;
	if (!reachable(net, k->node[0], k->node[1])) {
		conn_break(net, c);
		return;
	}
	net->stats.stream_bytes += len;
	conn_deliver(net, c, 1 - s, EV_SFRAME, bytes, len);
}

void grove_netsim_stream_close(grove_netsim_t *net, uint32_t endpoint)
{
	int s;
	conn_t *k = conn_of(net, endpoint, &s);
	if (k->closed[s])
		return;
	k->closed[s] = true;
	if (!k->closed[1 - s])
		conn_deliver(net, (endpoint - 1) >> 1, 1 - s, EV_SCLOSE, NULL, 0);
}

/* --- nodes, timers, running ------------------------------------------------------------ */

void grove_netsim_timer_set(grove_netsim_t *net, int node, uint64_t at_ms)
{
	node_t *n = &net->nodes[node];
	if (at_ms < net->now)
		at_ms = net->now;
	if (n->timer_at == at_ms)
		return;
	n->timer_at = at_ms;
	ev_t e = { .at = at_ms, .kind = EV_TIMER, .node = node };
	heap_push(net, e);
}

void grove_netsim_set_down(grove_netsim_t *net, int node, bool down)
{
	node_t *n = &net->nodes[node];
	if (n->down == down)
		return;
	n->down = down;
	if (down) {
		for (size_t c = 0; c < net->conn_count; c++) {
			conn_t *k = &net->conns[c];
			if ((k->node[0] == node || k->node[1] == node) && !(k->closed[0] && k->closed[1])) {
				for (int s = 0; s < 2; s++)
					if (k->node[s] == node)
						k->closed[s] = true;
				conn_break(net, c);
			}
		}
	} else if (n->timer_at) {
		uint64_t at = n->timer_at;
		n->timer_at = 0;
		grove_netsim_timer_set(net, node, at);
	}
}

bool grove_netsim_is_down(const grove_netsim_t *net, int node)
{
	return net->nodes[node].down;
}

void grove_netsim_set_udp_blocked(grove_netsim_t *net, int node, bool blocked)
{
	net->nodes[node].udp_blocked = blocked;
}

void grove_netsim_set_group(grove_netsim_t *net, int node, int group)
{
	net->nodes[node].group = group;
}

static void dispatch(grove_netsim_t *net, ev_t *e)
{
	node_t *n = &net->nodes[e->node];
	int s;
	if (n->down)
		return;
	switch (e->kind) {
	case EV_TIMER:
		if (n->timer_at != e->at)
			return;
		n->timer_at = 0;
		if (n->h.on_timer)
			n->h.on_timer(n->ctx, net->now);
		return;
	case EV_DGRAM:
		if (!reachable(net, e->from_node, e->node)) {
			net->stats.datagrams_blocked++;
			return;
		}
		net->stats.datagrams_delivered++;
		n->h.on_datagram(n->ctx, net->now, net->nodes[e->from_node].addr, e->bytes, e->len);
		return;
	}
	conn_t *k = conn_of(net, e->endpoint, &s);
	if (k->closed[s])
		return;
	if (e->kind == EV_SCLOSE) {
		k->closed[s] = true;
		n->h.on_stream_closed(n->ctx, net->now, e->endpoint);
	} else if (!reachable(net, k->node[0], k->node[1])) {
		conn_break(net, (e->endpoint - 1) >> 1);
	} else if (e->kind == EV_SOPEN) {
		n->h.on_stream_open(n->ctx, net->now, e->endpoint, net->nodes[e->from_node].addr);
	} else {
		net->stats.frames_delivered++;
		n->h.on_stream_frame(n->ctx, net->now, e->endpoint, e->bytes, e->len);
	}
}

void grove_netsim_run_until(grove_netsim_t *net, uint64_t t_ms)
{
	while (net->heap_len && net->heap[0].at <= t_ms) {
		ev_t e = heap_pop(net);
		net->now = e.at;
		dispatch(net, &e);
		free(e.bytes);
	}
	if (t_ms > net->now)
		net->now = t_ms;
}

void grove_netsim_get_stats(const grove_netsim_t *net, grove_netsim_stats_t *stats)
{
	*stats = net->stats;
}
