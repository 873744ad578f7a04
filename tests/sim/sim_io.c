/*
 * sim_io.c - feeding a simulated node's cores and draining them: inputs
 * (datagrams dispatched to the membership or anti-entropy core, stream
 * accept / frame / close, timer ticks) in the node's local time; outputs
 * (datagrams, stream commands, membership events) routed to the network
 * after every input; the node's one timer re-armed at the earlier core
 * deadline.  Also builds the hostile datagrams of the safety checks.
 */
#include <stdio.h>
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "tests/sim/sim_int.h"

uint64_t sim_node_accepted(const sim_node_t *nd)
{
	return nd->book ? grove_peerbook_stats(nd->book)->accepted : 0;
}

static void sim_member_events(sim_t *s, sim_node_t *nd)
{
	grove_member_event_t ev;
	for (int k = 0; k < SIM_POLL_MAX && grove_member_next_event(nd->member, &ev); k++) {
		if (ev.kind != GROVE_MEMBER_EV_PERSIST)
			continue;
		uint8_t *buf = NULL;
		size_t len = 0;
		if (grove_member_save(nd->member, &buf, &len) != 0 ||
		    grove_db_meta_put(nd->db, "sim.member", buf, len) != 0)
			sim_fail(s, "n%u: persisting membership state failed", nd->idx);
		grove_free(buf);
	}
}

/* One output to the network: the layer is the tag, the core's stream id
 * is bound to the stream's end here (a stream that broke is not found: the
 * core learns it from its close). */
static void sim_route(sim_t *s, uint32_t i, uint8_t layer, const grove_out_t *o)
{
	grove_netsim_ep_t ep = 0;
	if (o->kind == GROVE_OUT_STREAM_FRAME || o->kind == GROVE_OUT_STREAM_CLOSE)
		ep = grove_netsim_stream_find(s->net, (int)i, layer, o->stream_id);
	switch (o->kind) {
	case GROVE_OUT_DATAGRAM: grove_netsim_send(s->net, (int)i, o->addr, layer, o->bytes, o->len); break;
	case GROVE_OUT_STREAM_OPEN: grove_netsim_stream_open(s->net, (int)i, o->addr, layer, o->stream_id); break;
	case GROVE_OUT_STREAM_FRAME:
		if (ep)
			grove_netsim_stream_send(s->net, ep, o->bytes, o->len);
		break;
	case GROVE_OUT_STREAM_CLOSE:
		if (ep)
			grove_netsim_stream_close(s->net, ep);
		break;
	default: sim_fail(s, "n%u: unknown output kind %d", i, (int)o->kind);
	}
}

static void sim_rearm(sim_t *s, uint32_t i, bool after_tick)
{
	sim_node_t *nd = &s->nodes[i];
	uint64_t dl = UINT64_MAX;
	if (nd->member)
		dl = grove_member_next_deadline(nd->member);
	if (nd->ae) {
		uint64_t d = grove_ae_next_deadline(nd->ae);
		dl = d < dl ? d : dl;
	}
	if (dl == UINT64_MAX)
		return;
	uint64_t local = sim_local_ms(s, nd), now = sim_now(s);
	grove_netsim_timer_set(s->net, (int)i, dl <= local ? now + (after_tick ? 1 : 0) : now + (dl - local));
}

static void sim_drain_outputs(sim_t *s, uint32_t i)
{
	sim_node_t *nd = &s->nodes[i];
	grove_out_t o;
	int k = 0;
	for (; k < SIM_POLL_MAX && nd->member && grove_member_poll(nd->member, &o); k++)
		sim_route(s, i, SIM_L_MEMBER, &o);
	for (; k < SIM_POLL_MAX && nd->ae && grove_ae_poll(nd->ae, sim_local_ms(s, nd), &o); k++)
		sim_route(s, i, SIM_L_AE, &o);
	if (k == SIM_POLL_MAX)
		sim_fail(s, "n%u: more than %d outputs after one input", i, SIM_POLL_MAX);
}

void sim_node_drain(sim_t *s, uint32_t i)
{
	sim_node_t *nd = &s->nodes[i];
	if (!nd->up)
		return;
	sim_drain_outputs(s, i);
	if (nd->member)
		sim_member_events(s, nd);
	sim_rearm(s, i, false);
}

void sim_node_timer(sim_t *s, uint32_t i)
{
	sim_node_t *nd = &s->nodes[i];
	uint64_t now = sim_local_ms(s, nd);
	if (nd->member)
		grove_member_tick(nd->member, now);
	if (nd->ae)
		grove_ae_tick(nd->ae, now);
	sim_drain_outputs(s, i);
	if (nd->member)
		sim_member_events(s, nd);
	sim_rearm(s, i, true);
}

static const char *sim_from_addr(const sim_t *s, uint32_t from)
{
	return from < s->n ? s->nodes[from].id : "evil:1";
}

/* Signed datagrams are dispatched on their envelope kind (byte 3), as
 * groved does; plaintext ones by the layer that sent them.  false when no
 * core of that layer runs on the node (the dispatcher drops it). */
bool sim_node_datagram(sim_t *s, uint32_t i, uint8_t layer, uint32_t from, const uint8_t *b, size_t len)
{
	sim_node_t *nd = &s->nodes[i];
	uint64_t now = sim_local_ms(s, nd);
	if (s->cfg.secure)
		layer = len > 3 && b[3] == GROVE_AE_ENVELOPE_KIND ? SIM_L_AE : SIM_L_MEMBER;
	bool fed = true;
	if (layer == SIM_L_MEMBER && nd->member)
		grove_member_recv_datagram(nd->member, now, sim_from_addr(s, from), b, len);
	else if (layer == SIM_L_AE && nd->ae)
		grove_ae_recv_datagram(nd->ae, now, sim_from_addr(s, from), b, len);
	else
		fed = false;
	sim_node_drain(s, i);
	return fed;
}

int sim_node_stream_accept(sim_t *s, uint32_t i, uint8_t layer, uint32_t from, grove_netsim_ep_t ep,
			   uint32_t *sid)
{
	sim_node_t *nd = &s->nodes[i];
	uint64_t now = sim_local_ms(s, nd);
	int rc = GROVE_ECLOSED;
	if (layer == SIM_L_MEMBER && nd->member)
		rc = grove_member_stream_accept(nd->member, now, sim_from_addr(s, from), sid);
	else if (layer == SIM_L_AE && nd->ae)
		rc = grove_ae_stream_accept(nd->ae, now, sim_from_addr(s, from), sid);
	if (rc == 0)
		grove_netsim_stream_bind(s->net, ep, *sid);
	sim_node_drain(s, i);
	return rc;
}

void sim_node_stream_frame(sim_t *s, uint32_t i, uint8_t layer, uint32_t sid, const uint8_t *b, size_t len)
{
	sim_node_t *nd = &s->nodes[i];
	uint64_t now = sim_local_ms(s, nd);
	if (layer == SIM_L_MEMBER && nd->member)
		grove_member_stream_recv(nd->member, now, sid, b, len);
	else if (layer == SIM_L_AE && nd->ae)
		grove_ae_stream_recv(nd->ae, now, sid, b, len);
	sim_node_drain(s, i);
}

void sim_node_stream_closed(sim_t *s, uint32_t i, uint8_t layer, uint32_t sid)
{
	sim_node_t *nd = &s->nodes[i];
	uint64_t now = sim_local_ms(s, nd);
	if (layer == SIM_L_MEMBER && nd->member)
		grove_member_stream_closed(nd->member, now, sid);
	else if (layer == SIM_L_AE && nd->ae)
		grove_ae_stream_closed(nd->ae, now, sid);
	sim_node_drain(s, i);
}

/* --- hostile datagrams ------------------------------------------------------ */

/* Sealed by an outsider: a certificate from another CA claiming id, or
 * (no_cert) an unsigned claim to be a real node. */
static int sim_forge_outsider(sim_t *s, const char *id, const char *to, bool no_cert, uint8_t kind,
			      uint8_t *out, size_t cap, size_t *len)
{
	uint8_t seed[GROVE_SIGN_SEED_BYTES], pk[GROVE_SIGN_PUBLIC_BYTES], sk[GROVE_SIGN_SECRET_BYTES];
	for (size_t k = 0; k < sizeof(seed); k++)
		seed[k] = (uint8_t)grove_rng_next(&s->rng);
	grove_cert_t cert;
	grove_identity_t ident;
	uint8_t payload[64];
	for (size_t k = 0; k < sizeof(payload); k++)
		payload[k] = (uint8_t)grove_rng_next(&s->rng);
	int rc = grove_sign_seed_keypair(pk, sk, seed);
	if (rc == 0)
		rc = grove_cert_issue(&cert, id, pk, SIM_START_MS + 1000000000ULL, s->evil_sk);
	if (rc == 0)
		rc = grove_identity_init(&ident, &cert, sk, s->evil_pk, SIM_START_MS);
	if (rc == 0) {
		grove_sender_t snd;
		grove_sender_init(&snd, &ident, 1ULL << 40);
		rc = grove_envelope_seal(&snd, kind, to, !no_cert, payload, sizeof(payload), out, cap, len);
		grove_identity_close(&ident);
	}
	sodium_memzero(sk, sizeof(sk));
	return rc;
}

int sim_forge(sim_t *s, uint32_t target, uint8_t *out, size_t cap, size_t *len, uint8_t *layer)
{
	sim_node_t *nd = &s->nodes[target];
	uint32_t how = (uint32_t)grove_rng_below(&s->rng, 4);
	uint32_t nc = s->ncapture < SIM_CAPTURE_MAX ? s->ncapture : SIM_CAPTURE_MAX;
	*layer = s->cfg.antientropy && (!s->cfg.membership || grove_rng_below(&s->rng, 2)) ? SIM_L_AE
											    : SIM_L_MEMBER;
	uint8_t kind = *layer == SIM_L_AE ? GROVE_AE_ENVELOPE_KIND : GROVE_MEMBER_ENVELOPE_KIND;
	if (how <= 1 && nc > 0) {
		const sim_capture_t *c = &s->capture[grove_rng_below(&s->rng, nc)];
		bool replay = how == 0 && c->dst == target && c->life == nd->life;
		if (c->len == 0 || c->len > cap || (how == 0 && !replay))
			how = 2;
		else {
			memcpy(out, c->bytes, c->len);
			*len = c->len;
			*layer = c->layer;
			if (how == 1) /* tamper with one byte */
				out[grove_rng_below(&s->rng, c->len)] ^= (uint8_t)(1 + grove_rng_below(&s->rng, 255));
			return 0;
		}
	}
	char id[SIM_ADDR_MAX];
	snprintf(id, sizeof(id), how == 3 ? "n%u" : "evil%u", (uint32_t)grove_rng_below(&s->rng, s->n));
	return sim_forge_outsider(s, id, nd->id, how == 3 && grove_rng_below(&s->rng, 2), kind, out, cap, len);
}
