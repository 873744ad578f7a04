/*
 * sim_net.c - the simulator on the tests' network (tests/util_netsim.h).
 *
 * The network is set up from the configuration: each link (a, b) has a
 * base latency drawn from the seed (uniform in [lat_min_ms, lat_max_ms],
 * symmetric) plus an exponential jitter per message (mean jitter_ms,
 * capped at 10x) that reorders datagrams; datagrams are lost with
 * probability loss and duplicated with probability dup; streams are
 * ordered and reliable but broken by partitions and crashes (a crashed
 * node is down on the network).  A datagram's or stream's layer is its
 * tag, and each stream end carries its core's stream id.
 *
 * Delivery: every event the network hands over is traced, then fed to the
 * node.  A second copy of a duplicated datagram must be refused by a
 * receiver that accepted the first (same life); a sample of delivered
 * datagrams is kept for the replay attacks of the forgery checks.
 */
#include <stdio.h>
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "tests/sim/sim_int.h"

int sim_net_create(sim_t *s)
{
	s->net = grove_netsim_create(grove_rng_next(&s->rng), 0);
	sim_net_faults(s, s->cfg.loss, s->cfg.dup);
	char id[SIM_ADDR_MAX];
	for (uint32_t i = 0; i < s->n; i++) {
		snprintf(id, sizeof(id), "n%u", i);
		if (grove_netsim_add_node(s->net, id) != (int)i)
			return -1;
	}
	return 0;
}

void sim_net_faults(sim_t *s, double loss, double dup)
{
	const sim_config_t *c = &s->cfg;
	grove_netsim_faults_t f = { .loss = loss, .duplicate = dup, .link_min_ms = c->lat_min_ms,
				    .link_max_ms = c->lat_max_ms > c->lat_min_ms ? c->lat_max_ms : c->lat_min_ms,
				    .jitter_ms = c->jitter_ms };
	grove_netsim_set_faults(s->net, &f);
}

/* New groups drawn for every node (on) or all in one (off); the streams
 * that cross break. */
void sim_net_partition(sim_t *s, bool on)
{
	if (on)
		s->res.partitions++;
	for (uint32_t i = 0; i < s->n; i++)
		grove_netsim_set_group(s->net, (int)i, on ? (int)grove_rng_below(&s->rng, 2) : 0);
}

static void sim_capture(sim_t *s, const grove_netsim_ev_t *ev)
{
	if (grove_rng_below(&s->rng, 16) != 0)
		return;
	sim_capture_t *c = &s->capture[s->ncapture++ % SIM_CAPTURE_MAX];
	c->dst = (uint32_t)ev->node;
	c->life = s->nodes[ev->node].life;
	c->layer = ev->tag;
	c->len = (uint32_t)ev->len;
	memcpy(c->bytes, ev->bytes, ev->len);
}

/* The acceptance record of a duplicated datagram (network dup id). */
static uint32_t *sim_dup_seen(sim_t *s, uint32_t dup)
{
	while (s->ndups < dup) {
		if (s->ndups == s->dups_cap) {
			uint32_t cap = s->dups_cap ? s->dups_cap * 2 : 1024;
			s->dup_accepted = grove_realloc(s->dup_accepted, cap * sizeof(uint32_t));
			GROVE_ASSERT(s->dup_accepted != NULL);
			s->dups_cap = cap;
		}
		s->dup_accepted[s->ndups++] = 0;
	}
	return &s->dup_accepted[dup - 1];
}

static void sim_deliver_dgram(sim_t *s, const grove_netsim_ev_t *ev)
{
	uint32_t dst = (uint32_t)ev->node, src = (uint32_t)ev->from;
	sim_node_t *nd = &s->nodes[dst];
	sim_trace_note(s, ev, 0);
	if (ev->len <= GROVE_DATAGRAM_MAX)
		sim_capture(s, ev);
	uint64_t before = sim_node_accepted(nd);
	sim_node_datagram(s, dst, ev->tag, src, ev->bytes, ev->len);
	bool accepted = sim_node_accepted(nd) != before;
	if (ev->dup == 0)
		return;
	uint32_t *seen = sim_dup_seen(s, ev->dup);
	if (*seen == nd->life + 1) {
		if (accepted)
			sim_fail(s, "n%u accepted both copies of a duplicated datagram from n%u", dst, src);
		else
			s->res.dups_dropped++;
	} else if (accepted) {
		*seen = nd->life + 1;
	}
}

void sim_net_deliver(sim_t *s, const grove_netsim_ev_t *ev)
{
	uint32_t i = (uint32_t)ev->node, sid = 0;
	switch (ev->kind) {
	case GROVE_NETSIM_EV_DATAGRAM: sim_deliver_dgram(s, ev); break;
	case GROVE_NETSIM_EV_STREAM_OPEN:
		if (sim_node_stream_accept(s, i, ev->tag, (uint32_t)ev->from, ev->ep, &sid) != 0) {
			sim_trace_note(s, ev, -1);
			grove_netsim_stream_close(s->net, ev->ep);
		} else {
			sim_trace_note(s, ev, (int)sid);
		}
		break;
	case GROVE_NETSIM_EV_STREAM_FRAME:
		sim_trace_note(s, ev, (int)ev->sid);
		sim_node_stream_frame(s, i, ev->tag, ev->sid, ev->bytes, ev->len);
		break;
	case GROVE_NETSIM_EV_STREAM_CLOSED:
		sim_trace_note(s, ev, (int)ev->sid);
		sim_node_stream_closed(s, i, ev->tag, ev->sid);
		break;
	default: sim_fail(s, "n%u: unexpected network event %d", i, (int)ev->kind);
	}
}
