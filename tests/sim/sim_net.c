/*
 * sim_net.c - the simulated network.
 *
 * Datagrams: each link (a, b) has a base latency drawn from the seed
 * (uniform in [lat_min_ms, lat_max_ms], symmetric), plus an exponential
 * jitter per datagram (mean jitter_ms, capped at 10x) that reorders them;
 * each is lost with probability loss, duplicated with probability dup (the
 * copy travels with its own jitter), and blocked when a partition separates
 * the ends at sending or at delivery time.
 *
 * Streams (what TCP + the session layer give the cores): a connection joins
 * one stream id at each end; frames arrive in order (a frame is delivered
 * no earlier than the one before it), nothing is lost, but a partition or a
 * crash breaks the connection and both live ends are told it closed.
 * Connection records are reused; events name a record by (index, gen).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "tests/sim/sim_int.h"

int sim_addr_node(const sim_t *s, const char *addr)
{
	if (addr == NULL || addr[0] != 'n' || addr[1] < '0' || addr[1] > '9')
		return -1;
	char *end = NULL;
	unsigned long v = strtoul(addr + 1, &end, 10);
	if (*end != '\0' || v >= s->n)
		return -1;
	return (int)v;
}

bool sim_net_blocked(const sim_t *s, uint32_t a, uint32_t b)
{
	return s->partitioned && s->nodes[a].group != s->nodes[b].group;
}

static uint64_t sim_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* One-way delay of one message on link a -> b. */
static uint64_t sim_latency(sim_t *s, uint32_t a, uint32_t b)
{
	const sim_config_t *c = &s->cfg;
	uint32_t lo = a < b ? a : b, hi = a < b ? b : a;
	uint64_t span = c->lat_max_ms >= c->lat_min_ms ? c->lat_max_ms - c->lat_min_ms + 1 : 1;
	uint64_t base = c->lat_min_ms + sim_mix(c->seed ^ ((uint64_t)lo << 32 | hi)) % span;
	if (c->jitter_ms == 0)
		return base;
	double u = grove_rng_unit(&s->rng);
	double j = -log(1.0 - u) * c->jitter_ms;
	if (j > 10.0 * c->jitter_ms)
		j = 10.0 * c->jitter_ms;
	return base + (uint64_t)j;
}

static uint8_t *sim_dup_bytes(const uint8_t *b, size_t len)
{
	if (len == 0)
		return NULL;
	uint8_t *p = grove_malloc(len);
	GROVE_ASSERT(p != NULL);
	memcpy(p, b, len);
	return p;
}

static uint32_t sim_dup_token(sim_t *s)
{
	if (s->ndups == s->dups_cap) {
		uint32_t cap = s->dups_cap ? s->dups_cap * 2 : 1024;
		s->dup_accepted = grove_realloc(s->dup_accepted, cap * sizeof(uint32_t));
		GROVE_ASSERT(s->dup_accepted != NULL);
		s->dups_cap = cap;
	}
	s->dup_accepted[s->ndups] = 0;
	return s->ndups++;
}

void sim_net_datagram(sim_t *s, uint32_t src, uint8_t layer, const char *addr,
		      const uint8_t *bytes, size_t len)
{
	s->res.datagrams++;
	s->res.datagram_bytes += len;
	int dst = sim_addr_node(s, addr);
	if (dst < 0 || sim_net_blocked(s, src, (uint32_t)dst)) {
		s->res.blocked++;
		return;
	}
	if (s->loss > 0 && grove_rng_unit(&s->rng) < s->loss) {
		s->res.lost++;
		return;
	}
	bool dup = s->dup > 0 && grove_rng_unit(&s->rng) < s->dup;
	uint32_t token = dup ? sim_dup_token(s) + 1 : 0;
	for (int copy = 0; copy < (dup ? 2 : 1); copy++) {
		sim_ev_t ev = { .at_ms = s->now + sim_latency(s, src, (uint32_t)dst), .kind = SIM_EV_DGRAM,
				.layer = layer, .dst = (uint32_t)dst, .src = src, .gen = token,
				.bytes = sim_dup_bytes(bytes, len), .len = (uint32_t)len };
		sim_push(s, &ev);
	}
	if (dup)
		s->res.duplicated++;
}

/* --- connections ------------------------------------------------------------ */

static uint32_t sim_conn_alloc(sim_t *s)
{
	for (uint32_t k = 0; k < s->nconns_cap; k++) {
		uint32_t i = (s->conn_free_hint + k) % s->nconns_cap;
		if (!s->conns[i].used) {
			s->conn_free_hint = i + 1;
			return i;
		}
	}
	uint32_t old = s->nconns_cap, cap = old ? old * 2 : 256;
	GROVE_ASSERT(cap <= SIM_CONNS_MAX);
	s->conns = grove_realloc(s->conns, cap * sizeof(sim_conn_t));
	GROVE_ASSERT(s->conns != NULL);
	memset(s->conns + old, 0, (cap - old) * sizeof(sim_conn_t));
	s->nconns_cap = cap;
	s->conn_free_hint = old + 1;
	return old;
}

static void sim_node_attach(sim_t *s, uint32_t node, uint32_t ci)
{
	sim_node_t *nd = &s->nodes[node];
	GROVE_ASSERT(nd->nconns < SIM_NODE_CONNS_MAX);
	nd->conns[nd->nconns++] = ci;
}

static void sim_node_detach(sim_t *s, uint32_t node, uint32_t ci)
{
	sim_node_t *nd = &s->nodes[node];
	for (uint32_t k = 0; k < nd->nconns; k++)
		if (nd->conns[k] == ci) {
			nd->conns[k] = nd->conns[--nd->nconns];
			return;
		}
}

/* The connection whose end at node is (layer, sid) and open; -1 if none. */
static int sim_conn_find(sim_t *s, uint32_t node, uint8_t layer, uint32_t sid, int *end)
{
	sim_node_t *nd = &s->nodes[node];
	for (uint32_t k = 0; k < nd->nconns; k++) {
		sim_conn_t *c = &s->conns[nd->conns[k]];
		for (int e = 0; e < 2; e++)
			if (c->layer == layer && c->end[e] == node && c->state[e] == SIM_END_OPEN &&
			    c->sid[e] == sid) {
				*end = e;
				return (int)nd->conns[k];
			}
	}
	return -1;
}

static void sim_conn_send(sim_t *s, uint32_t ci, int from_end, uint8_t kind, const uint8_t *b, size_t len,
			  uint64_t at)
{
	sim_conn_t *c = &s->conns[ci];
	if (at < c->last_at[from_end])
		at = c->last_at[from_end];
	c->last_at[from_end] = at;
	sim_ev_t ev = { .at_ms = at, .kind = kind, .layer = c->layer, .end = (uint8_t)(1 - from_end),
			.dst = c->end[1 - from_end], .src = c->end[from_end], .conn = ci, .gen = c->gen,
			.bytes = sim_dup_bytes(b, len), .len = (uint32_t)len };
	sim_push(s, &ev);
}

static void sim_conn_maybe_free(sim_t *s, uint32_t ci)
{
	sim_conn_t *c = &s->conns[ci];
	if (c->state[0] == SIM_END_CLOSED && c->state[1] == SIM_END_CLOSED) {
		c->used = false;
		c->gen++;
	}
}

void sim_net_stream_open(sim_t *s, uint32_t src, uint8_t layer, uint32_t sid, const char *addr)
{
	int dst = sim_addr_node(s, addr);
	uint32_t ci = sim_conn_alloc(s);
	sim_conn_t *c = &s->conns[ci];
	uint32_t gen = c->gen;
	*c = (sim_conn_t){ .used = true, .layer = layer, .gen = gen, .end = { src, dst < 0 ? src : (uint32_t)dst },
			   .sid = { sid, 0 }, .state = { SIM_END_OPEN, SIM_END_PENDING },
			   .life = { s->nodes[src].life, 0 } };
	sim_node_attach(s, src, ci);
	if (dst < 0 || (uint32_t)dst == src) {
		c->state[1] = SIM_END_CLOSED;
		sim_conn_send(s, ci, 1, SIM_EV_SCLOSE, NULL, 0, s->now + 1);
		return;
	}
	sim_conn_send(s, ci, 0, SIM_EV_SOPEN, NULL, 0, s->now + sim_latency(s, src, (uint32_t)dst));
}

void sim_net_stream_frame(sim_t *s, uint32_t src, uint8_t layer, uint32_t sid,
			  const uint8_t *bytes, size_t len)
{
	int e;
	int ci = sim_conn_find(s, src, layer, sid, &e);
	if (ci < 0)
		return; /* the stream broke; the core learns it from its close */
	s->res.frames++;
	s->res.frame_bytes += len;
	sim_conn_t *c = &s->conns[ci];
	sim_conn_send(s, (uint32_t)ci, e, SIM_EV_SFRAME, bytes, len,
		      s->now + sim_latency(s, src, c->end[1 - e]));
}

void sim_net_stream_close(sim_t *s, uint32_t src, uint8_t layer, uint32_t sid)
{
	int e;
	int ci = sim_conn_find(s, src, layer, sid, &e);
	if (ci < 0)
		return;
	sim_conn_t *c = &s->conns[ci];
	c->state[e] = SIM_END_CLOSED;
	sim_node_detach(s, src, (uint32_t)ci);
	if (c->state[1 - e] != SIM_END_CLOSED)
		sim_conn_send(s, (uint32_t)ci, e, SIM_EV_SCLOSE, NULL, 0,
			      s->now + sim_latency(s, src, c->end[1 - e]));
	else
		sim_conn_maybe_free(s, (uint32_t)ci);
}

/* Breaks connection ci: every end still open is told now (a reset). */
static void sim_conn_break(sim_t *s, uint32_t ci, int dead_end)
{
	sim_conn_t *c = &s->conns[ci];
	for (int e = 0; e < 2; e++) {
		if (c->state[e] == SIM_END_CLOSED)
			continue;
		if (e == dead_end) {
			if (c->state[e] == SIM_END_OPEN)
				sim_node_detach(s, c->end[e], ci);
			c->state[e] = SIM_END_CLOSED;
			continue;
		}
		sim_ev_t ev = { .at_ms = s->now, .kind = SIM_EV_SCLOSE, .layer = c->layer, .end = (uint8_t)e,
				.dst = c->end[e], .src = c->end[1 - e], .conn = ci, .gen = c->gen };
		sim_push(s, &ev);
	}
	sim_conn_maybe_free(s, ci);
}

void sim_net_break_node(sim_t *s, uint32_t node)
{
	sim_node_t *nd = &s->nodes[node];
	while (nd->nconns > 0) {
		uint32_t ci = nd->conns[0];
		sim_conn_t *c = &s->conns[ci];
		sim_conn_break(s, ci, c->end[0] == node && c->state[0] == SIM_END_OPEN ? 0 : 1);
	}
	/* connections still pending towards this node are refused on arrival */
}

void sim_net_partition(sim_t *s, bool on)
{
	if (!on) {
		s->partitioned = false;
		return;
	}
	for (uint32_t i = 0; i < s->n; i++)
		s->nodes[i].group = (uint32_t)grove_rng_below(&s->rng, 2);
	s->partitioned = true;
	s->res.partitions++;
	for (uint32_t ci = 0; ci < s->nconns_cap; ci++) {
		sim_conn_t *c = &s->conns[ci];
		if (c->used && sim_net_blocked(s, c->end[0], c->end[1]))
			sim_conn_break(s, ci, -1);
	}
}

/* --- delivery ----------------------------------------------------------- */

static void sim_capture(sim_t *s, const sim_ev_t *ev)
{
	if (grove_rng_below(&s->rng, 16) != 0)
		return;
	sim_capture_t *c = &s->capture[s->ncapture++ % SIM_CAPTURE_MAX];
	c->dst = ev->dst;
	c->life = s->nodes[ev->dst].life;
	c->layer = ev->layer;
	c->len = ev->len;
	memcpy(c->bytes, ev->bytes, ev->len);
}

/* A datagram arrives.  A second copy of a duplicated datagram must be
 * refused by a receiver that accepted the first (same life). */
static void sim_deliver_dgram(sim_t *s, sim_ev_t *ev)
{
	sim_node_t *nd = &s->nodes[ev->dst];
	if (!nd->up || sim_net_blocked(s, ev->src, ev->dst)) {
		sim_trace_note(s, ev, -1);
		s->res.blocked++;
		return;
	}
	sim_trace_note(s, ev, 0);
	if (ev->len <= GROVE_DATAGRAM_MAX)
		sim_capture(s, ev);
	uint64_t before = sim_node_accepted(nd);
	sim_node_datagram(s, ev->dst, ev->layer, ev->src, ev->bytes, ev->len);
	bool accepted = sim_node_accepted(nd) != before;
	if (ev->gen == 0)
		return;
	uint32_t *seen = &s->dup_accepted[ev->gen - 1];
	if (*seen == nd->life + 1) {
		if (accepted)
			sim_fail(s, "n%u accepted both copies of a duplicated datagram from n%u", ev->dst, ev->src);
		else
			s->res.dups_dropped++;
	} else if (accepted) {
		*seen = nd->life + 1;
	}
}

static void sim_deliver_open(sim_t *s, sim_ev_t *ev, sim_conn_t *c, uint32_t ci)
{
	sim_node_t *nd = &s->nodes[ev->dst];
	uint32_t sid = 0;
	if (c->state[1] != SIM_END_PENDING)
		return;
	if (!nd->up || sim_net_blocked(s, c->end[0], c->end[1]) ||
	    sim_node_stream_accept(s, ev->dst, c->layer, c->end[0], &sid) != 0) {
		sim_trace_note(s, ev, -1);
		c->state[1] = SIM_END_CLOSED;
		sim_conn_send(s, ci, 1, SIM_EV_SCLOSE, NULL, 0, s->now + sim_latency(s, c->end[1], c->end[0]));
		return;
	}
	sim_trace_note(s, ev, (int)sid);
	c->sid[1] = sid;
	c->state[1] = SIM_END_OPEN;
	c->life[1] = nd->life;
	sim_node_attach(s, ev->dst, ci);
}

void sim_net_deliver(sim_t *s, sim_ev_t *ev)
{
	if (ev->kind == SIM_EV_DGRAM) {
		sim_deliver_dgram(s, ev);
		return;
	}
	sim_conn_t *c = &s->conns[ev->conn];
	if (!c->used || c->gen != ev->gen)
		return;
	int e = ev->end;
	switch (ev->kind) {
	case SIM_EV_SOPEN:
		sim_deliver_open(s, ev, c, ev->conn);
		break;
	case SIM_EV_SFRAME:
		if (c->state[e] != SIM_END_OPEN || !s->nodes[ev->dst].up)
			return;
		sim_trace_note(s, ev, (int)c->sid[e]);
		sim_node_stream_frame(s, ev->dst, c->layer, c->sid[e], ev->bytes, ev->len);
		break;
	case SIM_EV_SCLOSE:
		if (c->state[e] == SIM_END_OPEN) {
			sim_trace_note(s, ev, (int)c->sid[e]);
			c->state[e] = SIM_END_CLOSED;
			sim_node_detach(s, ev->dst, ev->conn);
			sim_node_stream_closed(s, ev->dst, c->layer, c->sid[e]);
		}
		c->state[e] = SIM_END_CLOSED;
		sim_conn_maybe_free(s, ev->conn);
		break;
	default:
		GROVE_ASSERT(0);
	}
}
