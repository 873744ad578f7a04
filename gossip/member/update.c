/*
 * update.c - how membership updates change the table (SWIM rules
 * with memberlist's refinements and Lifeguard suspicion).
 *
 * alive(inc)   creates an unknown member, or revives/updates a known one
 *              when inc is higher than what we hold;
 * suspect(inc) turns an alive member suspect when inc >= ours and starts a
 *              suspicion timer; more suspects from independent accusers
 *              shrink the timer (Lifeguard); about ourselves: refute by
 *              raising our incarnation past inc and broadcasting alive;
 * dead/left    mark the member dead or left (refuted when about us);
 *              "dead" in a push-pull state only makes us suspect.
 * An alive update for a known id with another address or key, while that
 * member is alive or suspect, is an id conflict: reported once per
 * conflicting identity (counter and event) and otherwise ignored.  Every
 * change that others should learn is re-queued on the broadcast queue.
 */
#include <math.h>
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "gossip/member/member_int.h"

void grove_member__node_to_update(const grove_member__node_t *n, grove_member_update_t *u)
{
	memset(u, 0, sizeof(*u));
	u->kind = (uint8_t)n->state;
	strcpy(u->id, n->id);
	u->incarnation = n->incarnation;
	strcpy(u->addr, n->addr);
	u->key = n->key;
	u->key_len = n->key_len;
	u->cert = n->cert;
	u->cert_len = n->cert_len;
}

void grove_member__gossip_node(grove_member_t *m, const grove_member__node_t *n, const char *from)
{
	grove_member_update_t u;
	uint8_t buf[GROVE_MEMBER_UPDATE_BYTES_MAX];
	grove_member_writer_t w = { .buf = buf, .cap = sizeof(buf), .len = 0 };
	grove_member__node_to_update(n, &u);
	strcpy(u.from, from ? from : m->self_id);
	int rc = grove_member_update_encode(&w, &u);
	GROVE_ASSERT(rc == 0); /* sizes are bounded by the table's limits */
	if (grove_broadcast_push(&m->bq, n->id, buf, w.len) < 0)
		m->stats.broadcasts_dropped++;
}

static bool same_identity(const grove_member__node_t *n, const grove_member_update_t *u)
{
	return strcmp(n->addr, u->addr) == 0 && n->key_len == u->key_len &&
	       (u->key_len == 0 || memcmp(n->key, u->key, u->key_len) == 0);
}

/* Reports a second node presenting n's id, once per distinct identity. */
static void update_conflict(grove_member_t *m, grove_member__node_t *n, const grove_member_update_t *u)
{
	uint64_t h = grove_member__id_hash(u->addr);
	for (size_t i = 0; i < u->key_len; i++)
		h = (h ^ u->key[i]) * 1099511628211ULL;
	if (n->conflict_hash == h)
		return;
	n->conflict_hash = h;
	m->stats.conflicts++;
	grove_member__node_t other = { .incarnation = u->incarnation };
	strcpy(other.id, u->id);
	strcpy(other.addr, u->addr);
	grove_member__emit(m, GROVE_MEMBER_EV_CONFLICT, &other);
}

/* Certificates: checked by the security hook when new or changed.  In
 * secure mode a member we cannot authenticate is not admitted. */
static bool cert_ok(grove_member_t *m, uint64_t now_ms, const grove_member__node_t *n,
			   const grove_member_update_t *u)
{
	const grove_member_security_t *s = &m->cfg.security;
	if (!s->learn_cert)
		return true;
	if (u->cert_len == 0)
		return n != NULL;
	if (n && n->cert_len == u->cert_len && memcmp(n->cert, u->cert, u->cert_len) == 0)
		return true;
	return s->learn_cert(s->ctx, now_ms, u->id, u->key, u->key_len, u->cert, u->cert_len) == 0;
}

static void set_fields(grove_member__node_t *n, const grove_member_update_t *u)
{
	strcpy(n->addr, u->addr);
	if (u->key_len)
		memcpy(n->key, u->key, u->key_len);
	n->key_len = u->key_len;
	n->incarnation = u->incarnation;
	if (u->cert_len == 0 || (n->cert_len == u->cert_len && memcmp(n->cert, u->cert, u->cert_len) == 0))
		return;
	uint8_t *c = grove_realloc(n->cert, u->cert_len);
	if (!c)
		return; /* keep the old certificate; the peer book has the new one */
	memcpy(c, u->cert, u->cert_len);
	n->cert = c;
	n->cert_len = u->cert_len;
}

void grove_member__refute(grove_member_t *m, uint64_t now_ms, uint64_t accused_inc)
{
	(void)now_ms;
	grove_member__node_t *self = grove_member__self(m);
	self->incarnation = grove_member__incarnation_after(accused_inc > self->incarnation ? accused_inc : self->incarnation);
	m->stats.refutes++;
	grove_member__awareness_add(m, 1);
	grove_member__gossip_node(m, self, NULL);
	grove_member__emit(m, GROVE_MEMBER_EV_PERSIST, self);
}

/* An update says we are suspect, dead or left.  A current one is refuted;
 * a stale one (below our incarnation) means its sender missed our
 * refutation: the datagram's reply will carry our alive record. */
static void accused(grove_member_t *m, uint64_t now_ms, uint64_t inc)
{
	if (m->leaving)
		return;
	if (inc < grove_member__self(m)->incarnation)
		m->stale_accusation = true;
	else
		grove_member__refute(m, now_ms, inc);
}

static void apply_alive(grove_member_t *m, uint64_t now_ms, const grove_member_update_t *u)
{
	int idx = grove_member__find(m, u->id);
	grove_member__node_t *n = idx >= 0 ? &m->nodes[idx] : NULL;
	if (idx == 0) {
		if (!same_identity(n, u))
			update_conflict(m, n, u);
		else if (u->incarnation > n->incarnation && !m->leaving)
			grove_member__refute(m, now_ms, u->incarnation);
		return;
	}
	if (n && !same_identity(n, u) &&
	    (n->state == GROVE_MEMBER_ALIVE || n->state == GROVE_MEMBER_SUSPECT)) {
		update_conflict(m, n, u);
		return;
	}
	if (n && u->incarnation <= n->incarnation)
		return;
	if (!cert_ok(m, now_ms, n, u)) {
		m->stats.drop_cert++;
		return;
	}
	if (!n) {
		idx = grove_member__add(m, now_ms, u->id);
		if (idx < 0) {
			m->stats.drop_full++;
			return;
		}
		n = &m->nodes[idx];
		set_fields(n, u);
		grove_member__gossip_node(m, n, NULL);
		grove_member__emit(m, GROVE_MEMBER_EV_JOIN, n);
		return;
	}
	bool moved = !same_identity(n, u);
	grove_member_state_t prev = n->state;
	set_fields(n, u);
	if (prev != GROVE_MEMBER_ALIVE)
		grove_member__set_state(m, n, GROVE_MEMBER_ALIVE, now_ms);
	grove_member__gossip_node(m, n, NULL);
	if (prev != GROVE_MEMBER_ALIVE)
		grove_member__emit(m, GROVE_MEMBER_EV_ALIVE, n);
	if (moved)
		grove_member__emit(m, GROVE_MEMBER_EV_UPDATE, n);
}

uint64_t grove_member__suspicion_timeout(const grove_member_t *m, const grove_member__node_t *n)
{
	size_t live = grove_member__live_count(m);
	double scale = live > 1 ? log10((double)live) : 1.0;
	if (scale < 1.0)
		scale = 1.0;
	double min = (double)m->cfg.suspicion_mult * scale * (double)m->cfg.probe_interval_ms;
	double max = (double)m->cfg.suspicion_max_mult * min;
	if (n->confirm_k < 1)
		return (uint64_t)min;
	double frac = log((double)n->confirm_count + 1.0) / log((double)n->confirm_k + 1.0);
	double t = max - frac * (max - min);
	return (uint64_t)(t < min ? min : t);
}

static void set_deadline(grove_member_t *m, grove_member__node_t *n)
{
	n->suspect_deadline_ms = n->suspect_start_ms + grove_member__suspicion_timeout(m, n);
	if (m->state_counts[GROVE_MEMBER_SUSPECT] <= 1 || n->suspect_deadline_ms < m->suspicion_next_ms)
		m->suspicion_next_ms = n->suspect_deadline_ms;
}

/* An independent accuser of a suspect member (our own failed probe counts
 * too, unless we started the suspicion): true if it was new. */
static bool confirm(grove_member_t *m, grove_member__node_t *n, const char *from)
{
	uint64_t h = grove_member__id_hash(from);
	size_t known = n->confirm_count + 1 < GROVE__CONFIRM_MAX ? n->confirm_count + 1 : GROVE__CONFIRM_MAX;
	for (size_t i = 0; i < known; i++)
		if (n->confirmers[i] == h)
			return false;
	if (known < GROVE__CONFIRM_MAX)
		n->confirmers[known] = h;
	n->confirm_count++;
	set_deadline(m, n);
	return true;
}

/* The member a suspect, dead or left update is about, or NULL when there
 * is nothing more to do: unknown member, stale update, or about us (then
 * handled here). */
static grove_member__node_t *accusation_target(grove_member_t *m, uint64_t now_ms, const grove_member_update_t *u)
{
	int idx = grove_member__find(m, u->id);
	if (idx < 0)
		return NULL;
	if (idx == 0) {
		accused(m, now_ms, u->incarnation);
		return NULL;
	}
	grove_member__node_t *n = &m->nodes[idx];
	return u->incarnation < n->incarnation ? NULL : n;
}

static void apply_suspect(grove_member_t *m, uint64_t now_ms, const grove_member_update_t *u)
{
	grove_member__node_t *n = accusation_target(m, now_ms, u);
	if (!n)
		return;
	if (n->state == GROVE_MEMBER_SUSPECT) {
		if (confirm(m, n, u->from))
			grove_member__gossip_node(m, n, u->from);
		return;
	}
	if (n->state != GROVE_MEMBER_ALIVE)
		return;
	grove_member__set_state(m, n, GROVE_MEMBER_SUSPECT, now_ms);
	n->incarnation = u->incarnation;
	n->suspect_start_ms = now_ms;
	n->confirm_count = 0;
	memset(n->confirmers, 0, sizeof(n->confirmers));
	n->confirmers[0] = grove_member__id_hash(u->from);
	uint32_t k = m->cfg.suspicion_mult > 2 ? m->cfg.suspicion_mult - 2 : 0;
	n->confirm_k = grove_member__live_count(m) < (size_t)k + 2 ? 0 : k;
	set_deadline(m, n);
	grove_member__gossip_node(m, n, u->from);
	grove_member__emit(m, GROVE_MEMBER_EV_SUSPECT, n);
}

static void apply_dead(grove_member_t *m, uint64_t now_ms, const grove_member_update_t *u)
{
	bool left = u->kind == GROVE_MEMBER_LEFT;
	grove_member__node_t *n = accusation_target(m, now_ms, u);
	if (!n)
		return;
	if (n->state == GROVE_MEMBER_LEFT || (n->state == GROVE_MEMBER_DEAD && !left))
		return;
	n->incarnation = u->incarnation;
	grove_member__set_state(m, n, left ? GROVE_MEMBER_LEFT : GROVE_MEMBER_DEAD, now_ms);
	grove_member__gossip_node(m, n, u->from[0] ? u->from : NULL);
	grove_member__emit(m, left ? GROVE_MEMBER_EV_LEFT : GROVE_MEMBER_EV_DEAD, n);
}

void grove_member__apply(grove_member_t *m, uint64_t now_ms, const grove_member_update_t *u, bool from_pushpull)
{
	grove_member_update_t s;
	switch (u->kind) {
	case GROVE_MEMBER_ALIVE:
		apply_alive(m, now_ms, u);
		break;
	case GROVE_MEMBER_SUSPECT:
	case GROVE_MEMBER_DEAD:
		if (!from_pushpull) {
			if (u->kind == GROVE_MEMBER_SUSPECT)
				apply_suspect(m, now_ms, u);
			else
				apply_dead(m, now_ms, u);
			break;
		}
		/* A peer's state saying dead or suspect: suspect, so that a live
		 * member gets the chance to refute (partition healing). */
		s = *u;
		s.kind = GROVE_MEMBER_SUSPECT;
		strcpy(s.from, m->self_id);
		apply_suspect(m, now_ms, &s);
		break;
	case GROVE_MEMBER_LEFT:
		apply_dead(m, now_ms, u);
		break;
	default:
		GROVE_ASSERT(0);
	}
}

void grove_member__suspect_local(grove_member_t *m, uint64_t now_ms, uint32_t idx)
{
	grove_member_update_t u;
	grove_member__node_to_update(&m->nodes[idx], &u);
	u.kind = GROVE_MEMBER_SUSPECT;
	strcpy(u.from, m->self_id);
	m->stats.suspicions++;
	apply_suspect(m, now_ms, &u);
}

void grove_member__mark_dead(grove_member_t *m, uint64_t now_ms, uint32_t idx)
{
	grove_member__node_t *n = &m->nodes[idx];
	grove_member__set_state(m, n, GROVE_MEMBER_DEAD, now_ms);
	grove_member__gossip_node(m, n, NULL);
	grove_member__emit(m, GROVE_MEMBER_EV_DEAD, n);
}
