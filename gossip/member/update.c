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
 * conflicting identity (counter and event) and otherwise ignored, unless
 * the security layer accepts its certificate as superseding the cached
 * one (key rotation at the same address).  Every change that others should
 * learn is re-queued on the broadcast queue.
 *
 * Instances (alive updates carry the sender's start nonce and start time):
 * about a peer, another instance at the same address that started later
 * with a higher incarnation is a restart; any other second instance while
 * the member is alive or suspect (or the replaced one coming back with a
 * higher incarnation) is a duplicate: two live processes with one id.
 * About ourselves, an instance that started after us is a duplicate; one
 * that started before us is our predecessor's stale record unless its
 * incarnation reaches ours; one at another address is asked directly once
 * (a push-pull there), since it may be the live original we were copied
 * from: its answer comes from our id, so a live one is a duplicate at
 * once, and a dead address costs one refused connection.  A node that
 * sees a duplicate emits GROVE_MEMBER_EV_DUPLICATE (once per episode) and
 * tells both instances about each other (each gets the other's alive
 * record), so both sides learn it; the older instance refutes, the newer
 * one stays quiet (the node layer has it refuse writes).  An episode ends
 * duplicate_hold_ms after the last sign of the other instance.
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
	u->instance = n->instance;
	u->started_ms = n->started_ms;
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
	if (u->instance != 0) {
		n->instance = u->instance;
		n->started_ms = u->started_ms;
	}
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

/* A key change the security layer accepts: same address, higher
 * incarnation, and a certificate that supersedes the cached one. */
static bool key_change_ok(grove_member_t *m, uint64_t now_ms, const grove_member__node_t *n,
			  const grove_member_update_t *u)
{
	const grove_member_security_t *s = &m->cfg.security;
	return s->learn_cert && u->cert_len > 0 && strcmp(n->addr, u->addr) == 0 &&
	       u->incarnation > n->incarnation &&
	       s->learn_cert(s->ctx, now_ms, u->id, u->key, u->key_len, u->cert, u->cert_len) == 0;
}

/* Tells the instance at `to` (of node id) about the other one's record. */
static void tell(grove_member_t *m, const char *to_addr, const char *id, const grove_member__node_t *other)
{
	grove_member_msg_t h = { .type = GROVE_MEMBER_MSG_GOSSIP };
	grove_member__send_msg(m, to_addr, id, &h, other);
}

static void node_from_update(grove_member__node_t *t, const grove_member_update_t *u)
{
	memset(t, 0, sizeof(*t));
	strcpy(t->id, u->id);
	strcpy(t->addr, u->addr);
	memcpy(t->key, u->key, u->key_len);
	t->key_len = u->key_len;
	t->cert = (uint8_t *)u->cert; /* borrowed: only encoded */
	t->cert_len = u->cert_len;
	t->incarnation = u->incarnation;
	t->instance = u->instance;
	t->started_ms = u->started_ms;
	t->state = GROVE_MEMBER_ALIVE;
}

/* Tells both instances of n's id about each other (each gets the other's
 * alive record), so each can see the duplicate itself. */
static void tell_both(grove_member_t *m, const grove_member__node_t *n, const grove_member_update_t *u)
{
	if (strcmp(n->addr, u->addr) == 0)
		return; /* one address: whoever answers there has both records */
	grove_member__node_t other;
	node_from_update(&other, u);
	tell(m, n->addr, n->id, &other);
	tell(m, u->addr, n->id, n);
}

/* Refresh both instances' knowledge of each other, at most every third of
 * the hold time. */
static void retell(grove_member_t *m, uint64_t now_ms, grove_member__node_t *n, const grove_member_update_t *u)
{
	if (n->told_ms != 0 && now_ms < n->told_ms + m->cfg.duplicate_hold_ms / 3)
		return;
	n->told_ms = now_ms;
	tell_both(m, n, u);
}

/* A peer's id is held by two live instances: n (in the table) and u. */
static void peer_duplicate(grove_member_t *m, uint64_t now_ms, grove_member__node_t *n,
			   const grove_member_update_t *u, bool tell)
{
	bool fresh = now_ms >= n->dup_until_ms;
	n->dup_until_ms = now_ms + m->cfg.duplicate_hold_ms;
	if (tell)
		retell(m, now_ms, n, u);
	if (!fresh)
		return;
	m->stats.conflicts++;
	grove_member_event_t ev = { .kind = GROVE_MEMBER_EV_DUPLICATE, .incarnation = u->incarnation };
	strcpy(ev.id, u->id);
	strcpy(ev.addr, u->addr);
	grove_member__emit_event(m, &ev);
}

/* Both instances of n's id showed life within duplicate_hold_ms: the
 * second one (prev_instance) a higher incarnation or a record sent by
 * itself, the held one likewise since the second one appeared. */
static void check_duplicate(grove_member_t *m, uint64_t now_ms, grove_member__node_t *n,
			    const grove_member_update_t *u, bool tell)
{
	uint64_t hold = m->cfg.duplicate_hold_ms;
	if (n->other_seen_ms == 0 || n->held_live_ms == 0 || now_ms >= n->other_seen_ms + hold ||
	    now_ms >= n->held_live_ms + hold)
		return;
	peer_duplicate(m, now_ms, n, u, tell);
}

/* An alive record of another instance of a peer's id.  True when handled
 * here; false to go on with the usual rules (a restart to adopt, or a
 * member that was dead).  A second instance is remembered and both are
 * told of each other; it is a duplicate once both show life (see
 * check_duplicate), since a restarted node's old records still travel for
 * a while. */
static bool peer_instance(grove_member_t *m, uint64_t now_ms, grove_member__node_t *n,
			  const grove_member_update_t *u, bool direct)
{
	if (n->state != GROVE_MEMBER_ALIVE && n->state != GROVE_MEMBER_SUSPECT)
		return false;
	bool newer = u->started_ms > n->started_ms && u->incarnation > n->incarnation;
	bool same_place = strcmp(n->addr, u->addr) == 0 &&
			  ((n->key_len == u->key_len && memcmp(n->key, u->key, u->key_len) == 0) ||
			   key_change_ok(m, now_ms, n, u));
	if (newer && same_place && now_ms >= n->dup_until_ms) {
		n->prev_instance = 0;
		n->other_seen_ms = n->held_live_ms = 0;
		return false;
	}
	if (u->instance != n->prev_instance) {
		n->prev_instance = u->instance;
		n->prev_incarnation = u->incarnation;
		n->other_seen_ms = direct ? now_ms : 0;
		n->held_live_ms = 0;
		tell_both(m, n, u);
		return true;
	}
	if (u->incarnation > n->prev_incarnation || direct) {
		n->prev_incarnation = u->incarnation > n->prev_incarnation ? u->incarnation : n->prev_incarnation;
		n->other_seen_ms = now_ms;
		check_duplicate(m, now_ms, n, u, true);
	}
	return true;
}

/* An alive record of the instance held while a second one is known: it
 * shows life by a higher incarnation or by being sent by itself. */
static void held_instance(grove_member_t *m, uint64_t now_ms, grove_member__node_t *n,
			  const grove_member_update_t *u, bool direct)
{
	if (n->prev_instance == 0 || (!direct && u->incarnation <= n->incarnation))
		return;
	n->held_live_ms = now_ms;
	check_duplicate(m, now_ms, n, u, false);
}

/* How the other instance's certificate orders against ours: > 0 it
 * supersedes ours, < 0 ours supersedes it, 0 equal standing or unknown. */
static int other_cert_order(const grove_member_t *m, const grove_member_update_t *u)
{
	const grove_member_security_t *s = &m->cfg.security;
	return s->cert_order && u->cert_len > 0 ? s->cert_order(s->ctx, u->cert, u->cert_len) : 0;
}

/* Which of two live instances of our id must yield (refuse writes): the
 * one whose certificate the other's supersedes (ord > 0: ours is); with
 * certificates of equal standing, the one that started later. */
static bool we_yield(grove_member_t *m, int ord, bool other_later)
{
	if (ord > 0)
		m->cert_superseded = true; /* for good: until a newer one is loaded */
	return ord != 0 ? ord > 0 : !other_later;
}

void grove_member__tell_newer(grove_member_t *m, uint64_t now_ms)
{
	uint64_t every = m->cfg.duplicate_hold_ms / 3;
	if (!m->cert_superseded || m->leaving || m->dup_addr[0] == '\0' ||
	    (m->dup_told_ms != 0 && now_ms < m->dup_told_ms + every))
		return;
	m->dup_told_ms = now_ms;
	(void)grove_member__pushpull_start(m, now_ms, m->dup_addr, false);
}

/* Another instance of our own id.  One that started after us is certainly
 * alive (our predecessors started before us): a duplicate, and we, the
 * older, refute so that we stay visible.  One that started before us may
 * be our own predecessor's record: refute it (take over); it is a
 * duplicate once it comes back with a higher incarnation, or at once when
 * the record came from that instance itself (m->apply_sender is our id:
 * a session authenticated as our id, grove_member_stream_recv), which is
 * alive now whatever its age. */
static void self_instance(grove_member_t *m, uint64_t now_ms, grove_member__node_t *self,
			  const grove_member_update_t *u)
{
	bool later = u->started_ms > self->started_ms ||
		     (u->started_ms == self->started_ms && u->instance > self->instance);
	bool direct = m->apply_sender != NULL && strcmp(m->apply_sender, m->self_id) == 0;
	if (u->instance == m->dup_instance && now_ms < m->dup_until_ms) {
		m->dup_until_ms = now_ms + m->cfg.duplicate_hold_ms; /* still there */
		return;
	}
	/* A newer certificate for our id in a live record (a peer's notice,
	 * grove_member_security_t.refused_superseded): we are the old one. */
	int ord = other_cert_order(m, u);
	bool dup = later || direct || ord > 0 ||
		   (u->instance == m->pred_instance && u->incarnation > m->pred_incarnation);
	if (!later && u->instance != m->pred_instance) {
		m->pred_instance = u->instance;
		m->pred_incarnation = u->incarnation;
		/* Elsewhere it may be a live original we were copied from:
		 * ask there; if it answers as our id, it is direct. */
		if (!direct && strcmp(u->addr, self->addr) != 0 && !m->leaving)
			(void)grove_member__pushpull_start(m, now_ms, u->addr, false);
	} else if (!later && dup) {
		m->pred_incarnation = u->incarnation;
	}
	if (dup) {
		bool was_superseded = m->cert_superseded;
		bool fresh = now_ms >= m->dup_until_ms || m->dup_instance != u->instance;
		m->dup_until_ms = now_ms + m->cfg.duplicate_hold_ms;
		m->dup_instance = u->instance;
		m->dup_yield = we_yield(m, ord, later);
		strcpy(m->dup_addr, u->addr);
		if (fresh && !(was_superseded && ord > 0)) { /* superseded: reported once */
			m->stats.conflicts++;
			grove_member_event_t ev = { .kind = GROVE_MEMBER_EV_DUPLICATE, .about_self = true,
						    .must_yield = m->dup_yield, .superseded = ord > 0,
						    .incarnation = u->incarnation };
			strcpy(ev.id, u->id);
			strcpy(ev.addr, u->addr);
			grove_member__emit_event(m, &ev);
		}
		if (!direct)
			grove_member__tell_newer(m, now_ms);
	}
	if ((later || !dup) && u->incarnation >= self->incarnation && !m->leaving)
		grove_member__refute(m, now_ms, u->incarnation);
}

/* An alive record about our own id. */
static void self_alive(grove_member_t *m, uint64_t now_ms, grove_member__node_t *self,
		       const grove_member_update_t *u)
{
	if (u->instance != 0 && self->instance != 0 && u->instance != self->instance) {
		self_instance(m, now_ms, self, u);
		return;
	}
	if (!same_identity(self, u)) {
		if (strcmp(self->addr, u->addr) == 0 && u->incarnation < self->incarnation)
			return; /* our own record from before a key change */
		update_conflict(m, self, u);
	} else if (u->incarnation > self->incarnation && !m->leaving) {
		grove_member__refute(m, now_ms, u->incarnation);
	}
}

static void apply_alive(grove_member_t *m, uint64_t now_ms, const grove_member_update_t *u)
{
	int idx = grove_member__find(m, u->id);
	grove_member__node_t *n = idx >= 0 ? &m->nodes[idx] : NULL;
	if (idx == 0) {
		self_alive(m, now_ms, n, u);
		return;
	}
	bool direct = m->apply_sender != NULL && strcmp(m->apply_sender, u->id) == 0;
	if (n && u->instance != 0 && n->instance != 0 && u->instance != n->instance &&
	    peer_instance(m, now_ms, n, u, direct))
		return;
	if (n && u->instance != 0 && u->instance == n->instance)
		held_instance(m, now_ms, n, u, direct);
	bool live = n && (n->state == GROVE_MEMBER_ALIVE || n->state == GROVE_MEMBER_SUSPECT);
	if (live && !same_identity(n, u) && !key_change_ok(m, now_ms, n, u)) {
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

int grove_member_set_identity(grove_member_t *m, uint64_t now_ms, const uint8_t *key, size_t key_len,
			      const uint8_t *cert, size_t cert_len)
{
	if (key_len > GROVE_MEMBER_KEY_MAX || cert_len > GROVE_MEMBER_CERT_MAX)
		return GROVE_EINVAL;
	grove_member__node_t *self = grove_member__self(m);
	uint8_t *c = NULL;
	if (cert_len > 0 && (c = grove_malloc(cert_len)) == NULL)
		return GROVE_ENOMEM;
	if (cert_len > 0)
		memcpy(c, cert, cert_len);
	grove_free(self->cert);
	self->cert = c;
	self->cert_len = cert_len;
	m->cfg.cert = c;
	m->cfg.cert_len = cert_len;
	if (key_len > 0)
		memcpy(self->key, key, key_len);
	self->key_len = key_len;
	m->cfg.key_len = key_len;
	m->cert_superseded = false; /* judged again against the new one */
	m->dup_until_ms = 0;
	m->dup_told_ms = 0;
	grove_member__refute(m, now_ms, self->incarnation);
	return 0;
}

bool grove_member_duplicate_self(const grove_member_t *m, uint64_t now_ms, bool *must_yield, char *other_addr)
{
	if (now_ms >= m->dup_until_ms && !m->cert_superseded)
		return false;
	if (must_yield)
		*must_yield = m->dup_yield || m->cert_superseded;
	if (other_addr)
		strcpy(other_addr, m->dup_addr);
	return true;
}

bool grove_member_cert_superseded(const grove_member_t *m)
{
	return m->cert_superseded;
}

size_t grove_member_duplicates(const grove_member_t *m, uint64_t now_ms)
{
	size_t k = 0;
	for (size_t i = 1; i < m->count; i++)
		if (now_ms < m->nodes[i].dup_until_ms)
			k++;
	return k;
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
