/*
 * util_netsim.c - the simulated network (see util_netsim.h).
 *
 * One binary min-heap of events ordered by (time, sequence number) holds
 * everything in flight: datagrams, stream opens, frames, closes, writable
 * notices, timers and user events.  A stream is a record in a table whose
 * slots are reused; an endpoint names (slot, generation, side), so events
 * and endpoints of a stream that is gone are recognised and dropped.  Each
 * node keeps the list of stream ends attached to it (open, or pending until
 * the open arrives), which is what breaks when it goes down.  Stale timer
 * events (replaced by a later grove_netsim_timer_set) are skipped when
 * popped.  Addresses are found through an open-addressing hash table.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/rng.h"
#include "tests/util_netsim.h"

enum { END_PENDING = 0, END_OPEN, END_CLOSED };

typedef struct ev {
	uint64_t at, seq;
	uint8_t kind, tag, side; /* side: stream events, the receiving end */
	int node, from;
	uint32_t conn, gen;      /* stream events: slot and generation; timers: timer generation */
	uint32_t dup, user;
	uint64_t arg;
	uint8_t *bytes;
	size_t len;
} ev_t;

typedef struct node {
	char addr[GROVE_NETSIM_ADDR_MAX + 1];
	bool down, udp_blocked;
	int group;
	uint64_t timer_at; /* GROVE_NETSIM_NEVER: none */
	uint32_t timer_gen;
	grove_netsim_ep_t *ends; /* stream ends attached here, not closed */
	size_t nends, ends_cap;
} node_t;

typedef struct conn {
	bool used, broken;
	uint8_t tag;
	uint32_t gen;
	int node[2]; /* opener, acceptor (-1: nobody at that address) */
	uint8_t state[2];
	uint32_t sid[2];
	uint64_t last_at[2]; /* latest delivery scheduled toward each end */
	size_t backlog[2];   /* bytes in flight toward each end */
	bool stopped[2];     /* the writer toward each end was told to stop */
} conn_t;

struct grove_netsim {
	grove_rng_t rng;
	uint64_t seed, now, seq;
	grove_netsim_faults_t faults;
	node_t *nodes;
	size_t node_count, node_cap;
	int *index; /* node by address hash, -1 empty */
	size_t index_cap;
	ev_t *heap;
	size_t heap_len, heap_cap;
	conn_t *conns;
	size_t conn_count, conn_cap; /* slots handed out, allocated */
	uint32_t *free_slots;
	size_t nfree;
	bool groups_dirty;
	uint32_t dups;
	uint8_t *cur; /* bytes of the event last returned */
	grove_netsim_stats_t stats;
	grove_netsim_tap_fn tap; /* sees every byte sent, or NULL */
	void *tap_ctx;
};

void grove_netsim_set_tap(grove_netsim_t *net, grove_netsim_tap_fn tap, void *ctx)
{
	net->tap = tap;
	net->tap_ctx = ctx;
}

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
	net->seed = seed;
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
	for (size_t i = 0; i < net->node_count; i++)
		free(net->nodes[i].ends);
	free(net->cur);
	free(net->heap);
	free(net->nodes);
	free(net->index);
	free(net->conns);
	free(net->free_slots);
	free(net);
}

void grove_netsim_set_faults(grove_netsim_t *net, const grove_netsim_faults_t *faults)
{
	GROVE_ASSERT(faults->delay_min_ms <= faults->delay_max_ms);
	GROVE_ASSERT(faults->link_min_ms <= faults->link_max_ms);
	net->faults = *faults;
}

void grove_netsim_get_faults(const grove_netsim_t *net, grove_netsim_faults_t *faults)
{
	*faults = net->faults;
}

uint64_t grove_netsim_now(const grove_netsim_t *net)
{
	return net->now;
}

void grove_netsim_get_stats(const grove_netsim_t *net, grove_netsim_stats_t *stats)
{
	*stats = net->stats;
}

/* --- nodes and addresses ------------------------------------------------------------ */

static size_t addr_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ULL;
	return (size_t)h;
}

static void index_put(grove_netsim_t *net, int i)
{
	size_t m = net->index_cap - 1, h = addr_hash(net->nodes[i].addr) & m;
	while (net->index[h] >= 0)
		h = (h + 1) & m;
	net->index[h] = i;
}

static void index_grow(grove_netsim_t *net)
{
	net->index_cap = net->index_cap ? net->index_cap * 2 : 64;
	net->index = xrealloc(net->index, net->index_cap * sizeof(*net->index));
	memset(net->index, 0xff, net->index_cap * sizeof(*net->index)); /* all -1 */
	for (size_t i = 0; i < net->node_count; i++)
		index_put(net, (int)i);
}

int grove_netsim_find(const grove_netsim_t *net, const char *addr)
{
	if (net->index_cap == 0)
		return -1;
	size_t m = net->index_cap - 1;
	for (size_t h = addr_hash(addr) & m; net->index[h] >= 0; h = (h + 1) & m)
		if (strcmp(net->nodes[net->index[h]].addr, addr) == 0)
			return net->index[h];
	return -1;
}

int grove_netsim_add_node(grove_netsim_t *net, const char *addr)
{
	if (strlen(addr) > GROVE_NETSIM_ADDR_MAX || net->node_count >= GROVE_NETSIM_NODES_MAX ||
	    grove_netsim_find(net, addr) >= 0)
		return -1;
	if (net->node_count == net->node_cap) {
		net->node_cap = net->node_cap ? net->node_cap * 2 : 16;
		net->nodes = xrealloc(net->nodes, net->node_cap * sizeof(*net->nodes));
	}
	node_t *n = &net->nodes[net->node_count++];
	memset(n, 0, sizeof(*n));
	strcpy(n->addr, addr);
	n->timer_at = GROVE_NETSIM_NEVER;
	if (net->node_count * 2 > net->index_cap)
		index_grow(net);
	else
		index_put(net, (int)net->node_count - 1);
	return (int)net->node_count - 1;
}

const char *grove_netsim_addr(const grove_netsim_t *net, int node)
{
	GROVE_ASSERT(node >= 0 && (size_t)node < net->node_count);
	return net->nodes[node].addr;
}

static bool reachable(const grove_netsim_t *net, int a, int b)
{
	return a >= 0 && b >= 0 && !net->nodes[a].down && !net->nodes[b].down &&
	       net->nodes[a].group == net->nodes[b].group;
}

/* --- heap and delays -------------------------------------------------------------------- */

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
	if (e.at < net->now)
		e.at = net->now;
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

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* One-way delay of one message from a to b. */
static uint64_t delay(grove_netsim_t *net, int a, int b, bool stream)
{
	const grove_netsim_faults_t *f = &net->faults;
	if (stream && f->streams_fixed)
		return f->stream_delay_ms;
	uint64_t d = f->delay_min_ms;
	if (f->link_max_ms > 0) {
		uint64_t lo = (uint64_t)(a < b ? a : b), hi = (uint64_t)(a < b ? b : a);
		d += f->link_min_ms + mix64(net->seed ^ (lo << 32 | hi)) % (f->link_max_ms - f->link_min_ms + 1);
	}
	if (f->delay_max_ms > f->delay_min_ms)
		d += grove_rng_below(&net->rng, (uint64_t)(f->delay_max_ms - f->delay_min_ms) + 1);
	if (f->jitter_ms > 0) {
		double j = -log(1.0 - grove_rng_unit(&net->rng)) * f->jitter_ms;
		d += (uint64_t)(j < 10.0 * f->jitter_ms ? j : 10.0 * f->jitter_ms);
	}
	return d;
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
	if (n == 0)
		return NULL;
	uint8_t *q = malloc(n);
	GROVE_ASSERT(q != NULL);
	memcpy(q, p, n);
	return q;
}

/* --- datagrams ----------------------------------------------------------------------- */

void grove_netsim_send(grove_netsim_t *net, int from, const char *to_addr, uint8_t tag, const uint8_t *bytes,
		       size_t len)
{
	int to = grove_netsim_find(net, to_addr);
	if (net->tap)
		net->tap(net->tap_ctx, false, from, tag, bytes, len);
	net->stats.datagrams_sent++;
	net->stats.bytes_sent += len;
	if (!reachable(net, from, to) || net->nodes[from].udp_blocked || net->nodes[to].udp_blocked) {
		net->stats.datagrams_blocked++;
		return;
	}
	bool dup = grove_rng_unit(&net->rng) < net->faults.duplicate;
	uint32_t id = dup ? ++net->dups : 0;
	net->stats.datagrams_duplicated += dup;
	for (int i = 0; i < (dup ? 2 : 1); i++) {
		if (grove_rng_unit(&net->rng) < net->faults.loss) {
			net->stats.datagrams_lost++;
			continue;
		}
		ev_t e = { .at = net->now + delay(net, from, to, false), .kind = GROVE_NETSIM_EV_DATAGRAM, .tag = tag,
			   .node = to, .from = from, .dup = id, .bytes = dup_bytes(bytes, len), .len = len };
		heap_push(net, e);
	}
}

/* --- streams -------------------------------------------------------------------------- */

static grove_netsim_ep_t ep_of(const grove_netsim_t *net, size_t slot, int side)
{
	return ((uint64_t)net->conns[slot].gen + 1) << 32 | (uint64_t)(slot << 1 | (size_t)side);
}

static conn_t *conn_of(const grove_netsim_t *net, grove_netsim_ep_t ep, size_t *slot, int *side)
{
	*slot = (size_t)(uint32_t)ep >> 1;
	*side = (int)(ep & 1);
	if (ep == 0 || *slot >= net->conn_count)
		return NULL;
	conn_t *k = &net->conns[*slot];
	return k->used && (uint64_t)k->gen + 1 == ep >> 32 ? k : NULL;
}

static void attach(grove_netsim_t *net, int node, grove_netsim_ep_t ep)
{
	node_t *n = &net->nodes[node];
	GROVE_ASSERT(n->nends < GROVE_NETSIM_NODE_ENDS_MAX);
	if (n->nends == n->ends_cap) {
		n->ends_cap = n->ends_cap ? n->ends_cap * 2 : 8;
		n->ends = xrealloc(n->ends, n->ends_cap * sizeof(*n->ends));
	}
	n->ends[n->nends++] = ep;
}

static void detach(grove_netsim_t *net, int node, grove_netsim_ep_t ep)
{
	node_t *n = &net->nodes[node];
	for (size_t i = 0; i < n->nends; i++)
		if (n->ends[i] == ep) {
			n->ends[i] = n->ends[--n->nends];
			return;
		}
	GROVE_ASSERT(!"stream end not attached");
}

static void end_close(grove_netsim_t *net, size_t slot, int s)
{
	conn_t *k = &net->conns[slot];
	if (k->state[s] == END_CLOSED)
		return;
	if (k->node[s] >= 0)
		detach(net, k->node[s], ep_of(net, slot, s));
	k->state[s] = END_CLOSED;
	if (k->state[1 - s] == END_CLOSED) { /* both gone: the slot is free */
		k->used = false;
		k->gen = (k->gen + 1) & 0x7fffffffu;
		net->free_slots[net->nfree++] = (uint32_t)slot;
	}
}

static size_t conn_alloc(grove_netsim_t *net)
{
	if (net->nfree > 0)
		return net->free_slots[--net->nfree];
	GROVE_ASSERT(net->conn_count < GROVE_NETSIM_STREAMS_MAX);
	if (net->conn_count == net->conn_cap) {
		net->conn_cap = net->conn_cap ? net->conn_cap * 2 : 64;
		net->conns = xrealloc(net->conns, net->conn_cap * sizeof(*net->conns));
		net->free_slots = xrealloc(net->free_slots, net->conn_cap * sizeof(*net->free_slots));
	}
	net->conns[net->conn_count].gen = 0;
	return net->conn_count++;
}

/* An event of a kind toward end s, at `at` (pushed back behind what is
 * already in flight toward s when ordered). */
static void conn_push(grove_netsim_t *net, size_t slot, int s, uint8_t kind, const uint8_t *bytes, size_t len,
		      uint64_t at, bool ordered)
{
	conn_t *k = &net->conns[slot];
	if (ordered) {
		if (at < k->last_at[s])
			at = k->last_at[s];
		k->last_at[s] = at;
	}
	ev_t e = { .at = at, .kind = kind, .tag = k->tag, .side = (uint8_t)s, .node = k->node[s],
		   .from = k->node[1 - s], .conn = (uint32_t)slot, .gen = k->gen, .bytes = dup_bytes(bytes, len),
		   .len = len };
	heap_push(net, e);
}

/* A reset: every open end on a node that is up learns it one message
 * delay later; the other ends (down, pending) just go.  Frames in flight
 * are dropped. */
static void conn_break(grove_netsim_t *net, size_t slot)
{
	conn_t *k = &net->conns[slot];
	if (k->broken)
		return;
	k->broken = true;
	net->stats.streams_failed++;
	int tell[2] = { 0, 0 };
	for (int s = 0; s < 2; s++)
		tell[s] = k->state[s] == END_OPEN && k->node[s] >= 0 && !net->nodes[k->node[s]].down;
	for (int s = 0; s < 2; s++)
		if (tell[s])
			conn_push(net, slot, s, GROVE_NETSIM_EV_STREAM_CLOSED, NULL, 0,
				  net->now + delay(net, k->node[s], k->node[1 - s], true), true);
	for (int s = 0; s < 2 && k->used; s++)
		if (!tell[s])
			end_close(net, slot, s);
}

grove_netsim_ep_t grove_netsim_stream_open(grove_netsim_t *net, int from, const char *to_addr, uint8_t tag,
					   uint32_t sid)
{
	size_t slot = conn_alloc(net);
	conn_t *k = &net->conns[slot];
	*k = (conn_t){ .used = true, .tag = tag, .gen = k->gen, .node = { from, grove_netsim_find(net, to_addr) },
		       .state = { END_OPEN, END_PENDING }, .sid = { sid, 0 } };
	grove_netsim_ep_t ep = ep_of(net, slot, 0);
	attach(net, from, ep);
	if (k->node[1] >= 0)
		attach(net, k->node[1], ep_of(net, slot, 1));
	net->stats.streams_opened++;
	if (!reachable(net, from, k->node[1]))
		conn_break(net, slot);
	else
		conn_push(net, slot, 1, GROVE_NETSIM_EV_STREAM_OPEN, NULL, 0,
			  net->now + delay(net, from, k->node[1], true), true);
	return ep;
}

void grove_netsim_stream_bind(grove_netsim_t *net, grove_netsim_ep_t ep, uint32_t sid)
{
	size_t slot;
	int s;
	conn_t *k = conn_of(net, ep, &slot, &s);
	GROVE_ASSERT(k != NULL && k->state[s] == END_OPEN);
	k->sid[s] = sid;
}

grove_netsim_ep_t grove_netsim_stream_find(const grove_netsim_t *net, int node, uint8_t tag, uint32_t sid)
{
	const node_t *n = &net->nodes[node];
	for (size_t i = 0; i < n->nends; i++) {
		size_t slot;
		int s;
		const conn_t *k = conn_of(net, n->ends[i], &slot, &s);
		if (k && k->tag == tag && k->state[s] == END_OPEN && k->sid[s] == sid)
			return n->ends[i];
	}
	return 0;
}

bool grove_netsim_stream_send(grove_netsim_t *net, grove_netsim_ep_t ep, const uint8_t *bytes, size_t len)
{
	size_t slot;
	int s;
	conn_t *k = conn_of(net, ep, &slot, &s);
	if (net->tap && k)
		net->tap(net->tap_ctx, true, k->node[s], k->tag, bytes, len);
	if (!k || k->broken || k->state[s] != END_OPEN || k->state[1 - s] == END_CLOSED)
		return true;
	if (!reachable(net, k->node[0], k->node[1])) {
		conn_break(net, slot);
		return true;
	}
	net->stats.frames_sent++;
	net->stats.stream_bytes += len;
	conn_push(net, slot, 1 - s, GROVE_NETSIM_EV_STREAM_FRAME, bytes, len,
		  net->now + delay(net, k->node[s], k->node[1 - s], true), true);
	k->backlog[1 - s] += len;
	if (k->backlog[1 - s] > net->stats.stream_backlog_peak_bytes)
		net->stats.stream_backlog_peak_bytes = k->backlog[1 - s];
	if (net->faults.stream_cap_bytes == 0 || k->backlog[1 - s] <= net->faults.stream_cap_bytes)
		return true;
	k->stopped[1 - s] = true;
	return false;
}

void grove_netsim_stream_close(grove_netsim_t *net, grove_netsim_ep_t ep)
{
	size_t slot;
	int s;
	conn_t *k = conn_of(net, ep, &slot, &s);
	if (!k || k->state[s] == END_CLOSED)
		return;
	if (!k->broken && k->state[1 - s] != END_CLOSED)
		conn_push(net, slot, 1 - s, GROVE_NETSIM_EV_STREAM_CLOSED, NULL, 0,
			  net->now + delay(net, k->node[s], k->node[1 - s], true), true);
	end_close(net, slot, s);
}

/* --- nodes, timers, user events ------------------------------------------------------- */

void grove_netsim_timer_set(grove_netsim_t *net, int node, uint64_t at_ms)
{
	node_t *n = &net->nodes[node];
	if (at_ms != GROVE_NETSIM_NEVER && at_ms < net->now)
		at_ms = net->now;
	if (n->timer_at == at_ms)
		return;
	n->timer_at = at_ms;
	n->timer_gen++;
	if (at_ms == GROVE_NETSIM_NEVER)
		return;
	ev_t e = { .at = at_ms, .kind = GROVE_NETSIM_EV_TIMER, .node = node, .from = -1, .gen = n->timer_gen };
	heap_push(net, e);
}

void grove_netsim_post(grove_netsim_t *net, uint64_t at_ms, int node, uint32_t user, uint64_t arg)
{
	ev_t e = { .at = at_ms, .kind = GROVE_NETSIM_EV_USER, .node = node, .from = -1, .user = user, .arg = arg };
	heap_push(net, e);
}

void grove_netsim_set_down(grove_netsim_t *net, int node, bool down)
{
	node_t *n = &net->nodes[node];
	if (n->down == down)
		return;
	n->down = down;
	if (down) {
		while (n->nends > 0) { /* each pass closes (detaches) one end here */
			size_t slot;
			int s;
			conn_t *k = conn_of(net, n->ends[0], &slot, &s);
			GROVE_ASSERT(k != NULL);
			if (k->broken) /* already reset, its close not yet taken */
				end_close(net, slot, s);
			else
				conn_break(net, slot);
		}
	} else if (n->timer_at != GROVE_NETSIM_NEVER) {
		uint64_t at = n->timer_at;
		n->timer_at = GROVE_NETSIM_NEVER;
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
	if (net->nodes[node].group != group) {
		net->nodes[node].group = group;
		net->groups_dirty = true;
	}
}

static void break_crossing(grove_netsim_t *net)
{
	net->groups_dirty = false;
	for (size_t slot = 0; slot < net->conn_count; slot++) {
		conn_t *k = &net->conns[slot];
		if (k->used && !k->broken && k->node[1] >= 0 &&
		    net->nodes[k->node[0]].group != net->nodes[k->node[1]].group)
			conn_break(net, slot);
	}
}

/* --- taking events out ------------------------------------------------------------------ */

/* A frame toward end s leaves the backlog; the writer may resume. */
static void drained(grove_netsim_t *net, size_t slot, int s, size_t len)
{
	conn_t *k = &net->conns[slot];
	k->backlog[s] -= len;
	if (k->stopped[s] && k->backlog[s] <= net->faults.stream_cap_bytes / 2) {
		k->stopped[s] = false;
		if (k->state[1 - s] == END_OPEN && !k->broken)
			conn_push(net, slot, 1 - s, GROVE_NETSIM_EV_STREAM_WRITABLE, NULL, 0, net->now, false);
	}
}

/* Whether a popped stream event reaches its end (and what it changes). */
static bool take_stream(grove_netsim_t *net, const ev_t *e)
{
	conn_t *k = &net->conns[e->conn];
	int s = e->side;
	if (!k->used || k->gen != e->gen)
		return false;
	switch (e->kind) {
	case GROVE_NETSIM_EV_STREAM_OPEN:
		if (k->broken || k->state[s] != END_PENDING)
			return false;
		k->state[s] = END_OPEN;
		return true;
	case GROVE_NETSIM_EV_STREAM_FRAME:
		drained(net, e->conn, s, e->len);
		if (k->broken || k->state[s] != END_OPEN)
			return false;
		net->stats.frames_delivered++;
		return true;
	case GROVE_NETSIM_EV_STREAM_CLOSED:
		if (k->state[s] != END_OPEN)
			return false;
		end_close(net, e->conn, s);
		return true;
	default: /* writable */
		return !k->broken && k->state[s] == END_OPEN;
	}
}

/* Whether a popped event is delivered, counting what is dropped. */
static bool take(grove_netsim_t *net, const ev_t *e)
{
	node_t *n = e->node >= 0 ? &net->nodes[e->node] : NULL;
	switch (e->kind) {
	case GROVE_NETSIM_EV_USER:
		return true;
	case GROVE_NETSIM_EV_TIMER:
		if (n->down || n->timer_gen != e->gen)
			return false;
		n->timer_at = GROVE_NETSIM_NEVER;
		return true;
	case GROVE_NETSIM_EV_DATAGRAM:
		if (!reachable(net, e->from, e->node) || n->udp_blocked || net->nodes[e->from].udp_blocked) {
			net->stats.datagrams_blocked++;
			return false;
		}
		net->stats.datagrams_delivered++;
		return true;
	default:
		return take_stream(net, e);
	}
}

bool grove_netsim_next(grove_netsim_t *net, uint64_t until_ms, grove_netsim_ev_t *out)
{
	free(net->cur);
	net->cur = NULL;
	if (net->groups_dirty)
		break_crossing(net);
	while (net->heap_len && net->heap[0].at <= until_ms) {
		ev_t e = heap_pop(net);
		GROVE_ASSERT(e.at >= net->now);
		net->now = e.at;
		bool stream = e.kind >= GROVE_NETSIM_EV_STREAM_OPEN && e.kind <= GROVE_NETSIM_EV_STREAM_WRITABLE;
		/* the end's id as it stands before a close frees the slot */
		uint32_t sid = stream ? net->conns[e.conn].sid[e.side] : 0;
		if (!take(net, &e)) {
			free(e.bytes);
			continue;
		}
		net->cur = e.bytes;
		*out = (grove_netsim_ev_t){ .kind = e.kind, .at_ms = e.at, .node = e.node, .from = e.from,
					    .tag = e.tag, .sid = sid, .dup = e.dup, .user = e.user, .arg = e.arg,
					    .bytes = e.bytes, .len = e.len };
		if (stream)
			out->ep = ((uint64_t)e.gen + 1) << 32 | ((uint64_t)e.conn << 1 | e.side);
		return true;
	}
	if (until_ms > net->now)
		net->now = until_ms;
	return false;
}
