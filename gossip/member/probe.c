/*
 * probe.c - SWIM failure detection and the datagram path.
 *
 * Each protocol period (probe_interval_ms, times the local health factor
 * awareness + 1) this node pings the next member of a shuffled round-robin
 * order, so every member is probed once per cycle.  No ack within
 * probe_timeout_ms (also scaled): ping-req through k random alive members,
 * who ping the target and relay the ack, or answer nack when the target is
 * silent; with stream_probe, also ping it over a stream (memberlist's TCP
 * fallback, for networks that drop UDP but pass TCP).  No ack by the end
 * of the period: suspect the target.  Missing
 * nacks mean our own network is bad (Lifeguard): awareness goes up, which
 * slows our probing and lengthens our timeouts; a successful probe brings it
 * down.  A gossip timer sends queued updates to gossip_nodes random members
 * every gossip_interval_ms; every datagram also carries updates from the
 * broadcast queue up to the payload budget.
 *
 * Inbound datagrams are opened by the security hook first (a datagram that
 * fails never reaches the decoder), decoded and validated whole, and only
 * then applied.  Every refusal is a counted drop.
 */
#include <string.h>

#include "base/assert.h"
#include "gossip/member/member_int.h"

#define GROVE__SUSPECT_PINGS_MAX 8 /* extra pings to suspects per period */

void grove_member__awareness_add(grove_member_t *m, int delta)
{
	int64_t a = (int64_t)m->awareness + delta;
	int64_t max = (int64_t)m->cfg.awareness_max - 1;
	m->awareness = (uint32_t)(a < 0 ? 0 : a > max ? max : a);
}

uint64_t grove_member__probe_interval(const grove_member_t *m)
{
	return (uint64_t)m->cfg.probe_interval_ms * (m->awareness + 1);
}

static size_t payload_budget(const grove_member_t *m)
{
	size_t overhead = m->cfg.security.seal ? m->cfg.security.overhead_bytes : 0;
	size_t budget = overhead < GROVE_DATAGRAM_MAX ? GROVE_DATAGRAM_MAX - overhead : 0;
	return budget < GROVE_MEMBER_PAYLOAD_MAX ? budget : GROVE_MEMBER_PAYLOAD_MAX;
}

/* Seals (when secure) and queues one datagram. */
static void send_payload(grove_member_t *m, const char *addr, const char *to_id, const uint8_t *p,
				size_t len)
{
	const grove_member_security_t *s = &m->cfg.security;
	if (!s->seal) {
		grove_member__out_push(m, GROVE_OUT_DATAGRAM, 0, addr, p, len);
		return;
	}
	uint8_t sealed[GROVE_DATAGRAM_MAX];
	size_t sealed_len = 0;
	if (s->seal(s->ctx, addr, to_id, p, len, sealed, sizeof(sealed), &sealed_len) < 0) {
		m->stats.drop_out++;
		return;
	}
	grove_member__out_push(m, GROVE_OUT_DATAGRAM, 0, addr, sealed, sealed_len);
}

/* Builds and sends hdr with piggybacked updates: first an update about
 * the receiver itself when about is set (so a suspect or dead member
 * learns it and refutes), then the broadcast queue.  A gossip message
 * without any update is not sent. */
void grove_member__send_msg(grove_member_t *m, const char *addr, const char *to_id, grove_member_msg_t *hdr,
		     const grove_member__node_t *about)
{
	uint8_t buf[GROVE_MEMBER_PAYLOAD_MAX];
	grove_member_writer_t w = { .buf = buf, .cap = payload_budget(m), .len = 0 };
	size_t count_off, used = 0, n = 0;
	strcpy(hdr->sender, m->self_id);
	if (grove_member_msg_begin(&w, hdr, &count_off) < 0)
		return;
	if (about) {
		grove_member_update_t u;
		grove_member__node_to_update(about, &u);
		strcpy(u.from, m->self_id);
		if (grove_member_update_encode(&w, &u) == 0)
			n++;
	}
	n += grove_broadcast_fill(&m->bq, grove_member__transmit_limit(m), buf + w.len, w.cap - w.len,
				  GROVE_MEMBER_UPDATES_MAX - n, &used);
	w.len += used;
	if (n == 0 && hdr->type == GROVE_MEMBER_MSG_GOSSIP)
		return;
	buf[count_off] = (uint8_t)n;
	send_payload(m, addr, to_id, buf, w.len);
}

static void send_simple(grove_member_t *m, const char *addr, const char *to_id, uint8_t type,
			       uint32_t seq, const grove_member__node_t *about)
{
	grove_member_msg_t h = { .type = type, .seq = seq };
	grove_member__send_msg(m, addr, to_id, &h, about);
}

/* Reservoir sample of up to max members (not self, not skip) that pass
 * keep(); O(n). */
static size_t probe_sample(grove_member_t *m, uint64_t now_ms, uint32_t *out, size_t max, int skip,
			    bool (*keep)(const grove_member_t *, const grove_member__node_t *, uint64_t))
{
	size_t seen = 0;
	for (size_t i = 1; i < m->count; i++) {
		if ((int)i == skip || !keep(m, &m->nodes[i], now_ms))
			continue;
		if (seen < max)
			out[seen] = (uint32_t)i;
		else {
			uint64_t j = grove_rng_below(&m->rng, seen + 1);
			if (j < max)
				out[j] = (uint32_t)i;
		}
		seen++;
	}
	return seen < max ? seen : max;
}

static bool is_alive(const grove_member_t *m, const grove_member__node_t *n, uint64_t now_ms)
{
	(void)m, (void)now_ms;
	return n->state == GROVE_MEMBER_ALIVE;
}

/* Gossip targets: live members, and members dead for a short while so that
 * one that was only slow hears of it and refutes. */
static bool is_gossip_target(const grove_member_t *m, const grove_member__node_t *n, uint64_t now_ms)
{
	if (n->state == GROVE_MEMBER_ALIVE || n->state == GROVE_MEMBER_SUSPECT)
		return true;
	return n->state == GROVE_MEMBER_DEAD && now_ms - n->state_since_ms < m->cfg.gossip_to_dead_ms;
}

/* --- probing ------------------------------------------------------------------ */

static int next_target(grove_member_t *m)
{
	for (size_t tries = 0; tries <= m->order_len; tries++) {
		if (m->order_pos >= m->order_len) {
			for (size_t i = m->order_len; i > 1; i--) {
				size_t j = (size_t)grove_rng_below(&m->rng, i);
				uint32_t t = m->order[i - 1];
				m->order[i - 1] = m->order[j];
				m->order[j] = t;
			}
			m->order_pos = 0;
			if (m->order_len == 0)
				return -1;
		}
		uint32_t idx = m->order[m->order_pos++];
		grove_member_state_t s = m->nodes[idx].state;
		if (s == GROVE_MEMBER_ALIVE || s == GROVE_MEMBER_SUSPECT)
			return (int)idx;
	}
	return -1;
}

static void probe_start(grove_member_t *m, uint64_t now_ms)
{
	int idx = next_target(m);
	if (idx < 0)
		return;
	grove_member__probe_t *p = &m->probe;
	grove_member__node_t *t = &m->nodes[idx];
	memset(p, 0, sizeof(*p));
	p->active = true;
	p->target = (uint32_t)idx;
	p->seq = m->next_seq++;
	p->ack_deadline_ms = now_ms + (uint64_t)m->cfg.probe_timeout_ms * (m->awareness + 1);
	p->period_end_ms = now_ms + grove_member__probe_interval(m);
	m->stats.probes++;
	grove_member_msg_t h = { .type = GROVE_MEMBER_MSG_PING, .seq = p->seq };
	strcpy(h.target, t->id);
	grove_member__send_msg(m, t->addr, t->id, &h, t->state == GROVE_MEMBER_SUSPECT ? t : NULL);
}

static void probe_indirect(grove_member_t *m, uint64_t now_ms)
{
	grove_member__probe_t *p = &m->probe;
	uint32_t helpers[GROVE_MEMBER_INDIRECT_MAX];
	size_t k = probe_sample(m, now_ms, helpers, m->cfg.indirect_checks, (int)p->target, is_alive);
	const grove_member__node_t *t = &m->nodes[p->target];
	p->indirect_sent = true;
	p->nacks_expected = (uint32_t)k;
	for (size_t i = 0; i < k; i++) {
		grove_member_msg_t h = { .type = GROVE_MEMBER_MSG_PING_REQ, .seq = p->seq };
		strcpy(h.target, t->id);
		strcpy(h.target_addr, t->addr);
		grove_member__send_msg(m, m->nodes[helpers[i]].addr, m->nodes[helpers[i]].id, &h, NULL);
		m->stats.indirect_probes++;
	}
	if (m->cfg.stream_probe)
		grove_member__stream_probe(m, now_ms, t, p->seq, p->period_end_ms);
}

/* Buddy system (Lifeguard), strengthened: every period, each member we
 * hold suspect (up to GROVE__SUSPECT_PINGS_MAX) gets a ping carrying our
 * suspicion, besides the probe.  A live member answers with its alive
 * record, so a refutation that gossip failed to bring still arrives before
 * our timer declares it dead.  The ack's sequence number is not tracked.
 * O(n) when any member is suspect. */
static void ping_suspects(grove_member_t *m)
{
	size_t sent = 0;
	if (m->state_counts[GROVE_MEMBER_SUSPECT] == 0)
		return;
	for (size_t i = 1; i < m->count && sent < GROVE__SUSPECT_PINGS_MAX; i++) {
		grove_member__node_t *t = &m->nodes[i];
		if (t->state != GROVE_MEMBER_SUSPECT || (m->probe.active && m->probe.target == i))
			continue;
		grove_member_msg_t h = { .type = GROVE_MEMBER_MSG_PING, .seq = m->next_seq++ };
		strcpy(h.target, t->id);
		grove_member__send_msg(m, t->addr, t->id, &h, t);
		sent++;
	}
}

/* End of a period without any ack. */
static void probe_failed(grove_member_t *m, uint64_t now_ms)
{
	grove_member__probe_t *p = &m->probe;
	int delta = 1;
	if (p->nacks_expected > 0)
		delta = p->nacks_got < p->nacks_expected ? (int)(p->nacks_expected - p->nacks_got) : 0;
	grove_member__awareness_add(m, delta);
	p->active = false;
	m->stats.probe_fails++;
	grove_member__node_t *t = &m->nodes[p->target];
	if (t->state == GROVE_MEMBER_ALIVE || t->state == GROVE_MEMBER_SUSPECT)
		grove_member__suspect_local(m, now_ms, p->target);
}

void grove_member__probe_tick(grove_member_t *m, uint64_t now_ms)
{
	grove_member__probe_t *p = &m->probe;
	if (p->active && !p->indirect_sent && now_ms >= p->ack_deadline_ms)
		probe_indirect(m, now_ms);
	if (p->active && now_ms >= p->period_end_ms)
		probe_failed(m, now_ms);
	if (now_ms < m->next_probe_ms)
		return;
	if (p->active)
		probe_failed(m, now_ms);
	m->next_probe_ms = now_ms + grove_member__probe_interval(m);
	if (m->leaving)
		return;
	probe_start(m, now_ms);
	ping_suspects(m);
}

void grove_member__suspicion_tick(grove_member_t *m, uint64_t now_ms)
{
	if (m->state_counts[GROVE_MEMBER_SUSPECT] == 0 || now_ms < m->suspicion_next_ms)
		return;
	uint64_t next = UINT64_MAX;
	for (size_t i = 1; i < m->count; i++) {
		grove_member__node_t *n = &m->nodes[i];
		if (n->state != GROVE_MEMBER_SUSPECT)
			continue;
		if (now_ms >= n->suspect_deadline_ms)
			grove_member__mark_dead(m, now_ms, (uint32_t)i);
		else if (n->suspect_deadline_ms < next)
			next = n->suspect_deadline_ms;
	}
	m->suspicion_next_ms = next;
}

void grove_member__doc_send(grove_member_t *m, const char *addr, const char *to_id)
{
	const grove_member_security_t *s = &m->cfg.security;
	uint8_t doc[GROVE_MEMBER_DOC_MAX], buf[GROVE_MEMBER_PAYLOAD_MAX];
	size_t len = 0;
	if (!s->doc_get || s->doc_get(s->ctx, doc, sizeof(doc), &len) < 0 || len == 0)
		return;
	grove_member_writer_t w = { .buf = buf, .cap = payload_budget(m), .len = 0 };
	if (grove_member_doc_encode(&w, m->self_id, doc, len) == 0)
		send_payload(m, addr, to_id, buf, w.len);
}

void grove_member_doc_changed(grove_member_t *m)
{
	m->doc_rounds = grove_member__transmit_limit(m);
}

void grove_member__gossip_tick(grove_member_t *m, uint64_t now_ms)
{
	if (m->cfg.gossip_interval_ms == 0 || now_ms < m->next_gossip_ms)
		return;
	m->next_gossip_ms = now_ms + m->cfg.gossip_interval_ms;
	uint32_t to[64];
	size_t want = m->cfg.gossip_nodes < 64 ? m->cfg.gossip_nodes : 64;
	if (m->doc_rounds > 0) {
		m->doc_rounds--;
		size_t k = probe_sample(m, now_ms, to, want, -1, is_alive);
		for (size_t i = 0; i < k; i++)
			grove_member__doc_send(m, m->nodes[to[i]].addr, m->nodes[to[i]].id);
	}
	if (m->bq.count == 0)
		return;
	size_t k = probe_sample(m, now_ms, to, want, -1, is_gossip_target);
	for (size_t i = 0; i < k && m->bq.count; i++) {
		grove_member_msg_t h = { .type = GROVE_MEMBER_MSG_GOSSIP };
		grove_member__send_msg(m, m->nodes[to[i]].addr, m->nodes[to[i]].id, &h, NULL);
	}
}

/* --- relaying ping-req ------------------------------------------------------- */

static void relay_start(grove_member_t *m, uint64_t now_ms, const char *from_addr,
			       const grove_member_msg_t *msg)
{
	grove_member__relay_t *r = NULL;
	for (size_t i = 0; i < GROVE_MEMBER_RELAY_MAX && !r; i++)
		if (!m->relays[i].used)
			r = &m->relays[i];
	if (!r) {
		m->stats.drop_full++;
		return;
	}
	r->used = true;
	r->our_seq = m->next_seq++;
	r->their_seq = msg->seq;
	strcpy(r->requester_addr, from_addr);
	strcpy(r->requester_id, msg->sender);
	r->deadline_ms = now_ms + m->cfg.probe_timeout_ms;
	grove_member_msg_t h = { .type = GROVE_MEMBER_MSG_PING, .seq = r->our_seq };
	strcpy(h.target, msg->target);
	grove_member__send_msg(m, msg->target_addr, msg->target, &h, NULL);
}

void grove_member__relay_tick(grove_member_t *m, uint64_t now_ms)
{
	for (size_t i = 0; i < GROVE_MEMBER_RELAY_MAX; i++) {
		grove_member__relay_t *r = &m->relays[i];
		if (!r->used || now_ms < r->deadline_ms)
			continue;
		r->used = false;
		send_simple(m, r->requester_addr, r->requester_id, GROVE_MEMBER_MSG_NACK, r->their_seq, NULL);
	}
}

void grove_member__ack_seq(grove_member_t *m, uint32_t seq)
{
	grove_member__probe_t *p = &m->probe;
	if (p->active && seq == p->seq) {
		p->active = false;
		grove_member__awareness_add(m, -1);
		return;
	}
	for (size_t i = 0; i < GROVE_MEMBER_RELAY_MAX; i++) {
		grove_member__relay_t *r = &m->relays[i];
		if (r->used && r->our_seq == seq) {
			r->used = false;
			send_simple(m, r->requester_addr, r->requester_id, GROVE_MEMBER_MSG_ACK, r->their_seq,
					   NULL);
			return;
		}
	}
}

/* --- inbound ------------------------------------------------------------------- */

/* Decodes and checks a payload; false = dropped and counted.  auth_sender
 * is the envelope's authenticated sender, or NULL in plaintext mode. */
static bool probe_accept(grove_member_t *m, const char *auth_sender, const uint8_t *p, size_t len,
			  grove_member_msg_t *msg)
{
	if (grove_member_msg_decode(p, len, msg) < 0 || msg->type > GROVE_MEMBER_MSG_DOC) {
		m->stats.drop_decode++;
		return false;
	}
	if ((auth_sender && strcmp(auth_sender, msg->sender) != 0) || strcmp(msg->sender, m->self_id) == 0) {
		m->stats.drop_sender++;
		return false;
	}
	if (msg->type == GROVE_MEMBER_MSG_PING && strcmp(msg->target, m->self_id) != 0) {
		m->stats.drop_misdirected++;
		return false;
	}
	return true;
}

static void handle_doc(grove_member_t *m, uint64_t now_ms, const grove_member_msg_t *msg)
{
	const grove_member_security_t *s = &m->cfg.security;
	if (!s->doc_offer)
		return;
	if (s->doc_offer(s->ctx, now_ms, msg->body, msg->body_len) == 1)
		grove_member_doc_changed(m); /* newer: spread it further */
}

static void handle(grove_member_t *m, uint64_t now_ms, const char *from_addr, const grove_member_msg_t *msg)
{
	grove_member_update_t u;
	size_t off = 0;
	if (msg->type == GROVE_MEMBER_MSG_DOC) {
		handle_doc(m, now_ms, msg);
		return;
	}
	m->stale_accusation = false;
	m->apply_sender = msg->sender;
	while (grove_member_body_next(msg, &off, &u) == 1)
		grove_member__apply(m, now_ms, &u, false);
	m->apply_sender = NULL;
	int sidx = grove_member__find(m, msg->sender);
	const grove_member__node_t *sender = sidx > 0 ? &m->nodes[sidx] : NULL;
	const grove_member__node_t *self = m->stale_accusation ? grove_member__self(m) : NULL;
	if (sidx < 0)
		grove_member__pushpull_unknown(m, now_ms, from_addr);
	if (self && msg->type != GROVE_MEMBER_MSG_PING) {
		send_simple(m, from_addr, msg->sender, GROVE_MEMBER_MSG_GOSSIP, 0, self);
		self = NULL;
	}
	switch (msg->type) {
	case GROVE_MEMBER_MSG_PING:
		if (sender && sender->state == GROVE_MEMBER_ALIVE)
			sender = NULL;
		send_simple(m, from_addr, msg->sender, GROVE_MEMBER_MSG_ACK, msg->seq, self ? self : sender);
		break;
	case GROVE_MEMBER_MSG_ACK:
		grove_member__ack_seq(m, msg->seq);
		break;
	case GROVE_MEMBER_MSG_PING_REQ:
		relay_start(m, now_ms, from_addr, msg);
		break;
	case GROVE_MEMBER_MSG_NACK:
		if (m->probe.active && msg->seq == m->probe.seq) {
			m->probe.nacks_got++;
			m->stats.nacks_in++;
		}
		break;
	default:
		break;
	}
}

static bool addr_ok(grove_member_t *m, const char *from_addr, size_t len)
{
	m->stats.datagrams_in++;
	m->stats.bytes_in += len;
	if (!from_addr || !*from_addr || strlen(from_addr) > GROVE_MEMBER_ADDR_MAX || len > GROVE_DATAGRAM_MAX) {
		m->stats.drop_decode++;
		return false;
	}
	return true;
}

void grove_member_recv_payload(grove_member_t *m, uint64_t now_ms, const char *from_addr, const char *sender_id,
			       const uint8_t *payload, size_t len)
{
	grove_member_msg_t msg;
	if (!addr_ok(m, from_addr, len))
		return;
	if (probe_accept(m, sender_id, payload, len, &msg))
		handle(m, now_ms, from_addr, &msg);
}

/* The datagram just refused came from an instance whose certificate is
 * superseded (see grove_member_security_t.refused_superseded): answer it
 * with the alive record we hold for its id, whose newer certificate tells
 * it that it is the old one, sealed for its own key (it can open nothing
 * sealed for the new one).  At most once per GROVE_MEMBER_NOTICE_MS per id. */
static void superseded_notice(grove_member_t *m, uint64_t now_ms, const char *from_addr)
{
	const grove_member_security_t *s = &m->cfg.security;
	char id[GROVE_MEMBER_ID_MAX + 1];
	uint8_t key[GROVE_MEMBER_KEY_MAX];
	if (!s->refused_superseded || !s->seal_refused || !s->refused_superseded(s->ctx, id, key))
		return;
	int idx = grove_member__find(m, id);
	if (idx <= 0)
		return;
	grove_member__node_t *n = &m->nodes[idx];
	if (n->state != GROVE_MEMBER_ALIVE && n->state != GROVE_MEMBER_SUSPECT)
		return;
	if (n->key_len == GROVE_MEMBER_KEY_MAX && memcmp(n->key, key, GROVE_MEMBER_KEY_MAX) == 0)
		return; /* we still hold the old instance's record: nothing to tell yet */
	if (n->notice_ms != 0 && now_ms < n->notice_ms + GROVE_MEMBER_NOTICE_MS)
		return;
	n->notice_ms = now_ms;
	uint8_t buf[GROVE_MEMBER_PAYLOAD_MAX], sealed[GROVE_DATAGRAM_MAX];
	grove_member_writer_t w = { .buf = buf, .cap = payload_budget(m), .len = 0 };
	grove_member_msg_t h = { .type = GROVE_MEMBER_MSG_GOSSIP };
	grove_member_update_t u;
	size_t count_off, sealed_len = 0;
	strcpy(h.sender, m->self_id);
	grove_member__node_to_update(n, &u);
	if (grove_member_msg_begin(&w, &h, &count_off) < 0 || grove_member_update_encode(&w, &u) < 0)
		return;
	buf[count_off] = 1;
	if (s->seal_refused(s->ctx, buf, w.len, sealed, sizeof sealed, &sealed_len) < 0) {
		m->stats.drop_out++;
		return;
	}
	m->stats.notices_sent++;
	grove_member__out_push(m, GROVE_OUT_DATAGRAM, 0, from_addr, sealed, sealed_len);
}

void grove_member_recv_datagram(grove_member_t *m, uint64_t now_ms, const char *from_addr, const uint8_t *bytes,
				size_t len)
{
	const grove_member_security_t *s = &m->cfg.security;
	const uint8_t *p = bytes;
	size_t plen = len;
	char sender[GROVE_MEMBER_ID_MAX + 1] = "";
	grove_member_msg_t msg;
	if (!addr_ok(m, from_addr, len))
		return;
	if (s->open && s->open(s->ctx, now_ms, from_addr, bytes, len, &p, &plen, sender) < 0) {
		m->stats.drop_open++;
		superseded_notice(m, now_ms, from_addr);
		return;
	}
	if (probe_accept(m, s->open ? sender : NULL, p, plen, &msg))
		handle(m, now_ms, from_addr, &msg);
}
