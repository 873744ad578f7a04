/*
 * stream.c - push-pull state exchange over streams, and everything
 * built on it: join through seeds (and restored peers) with exponential
 * backoff, periodic push-pull with a random member, reconnection to dead
 * members and seeds (partition healing), graceful leave, and the persisted
 * restart state.
 *
 * A push-pull is one stream: the initiator sends its whole table as one or
 * more PP_REQ frames (each at most GROVE_MEMBER_FRAME_MAX bytes, the last
 * flagged LAST), the responder merges each frame as it arrives and, after
 * the last, answers with its own table as PP_RESP frames, then both close.
 * Frames are self-contained, so nothing is reassembled.  Records merge like
 * gossip updates except that "dead" only makes us suspect (memberlist's
 * rule), which is what lets two healed halves re-merge: the accused members
 * hear they are suspect and refute with a higher incarnation.
 *
 * A stream can instead carry one stream ping and its ack: the fallback
 * probe for networks that drop UDP but pass TCP.
 */
#include <math.h>
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "gossip/member/member_int.h"

/* --- stream table ------------------------------------------------------------- */

static grove_member__stream_t *stream_new(grove_member_t *m, uint64_t now_ms, const char *addr, bool initiator)
{
	for (size_t i = 0; i < GROVE_MEMBER_STREAMS_MAX; i++) {
		grove_member__stream_t *s = &m->streams[i];
		if (s->used)
			continue;
		memset(s, 0, sizeof(*s));
		s->used = true;
		s->initiator = initiator;
		s->id = m->next_stream_id++;
		if (m->next_stream_id == 0)
			m->next_stream_id = 1;
		strcpy(s->addr, addr);
		s->deadline_ms = now_ms + m->cfg.stream_timeout_ms;
		return s;
	}
	m->stats.drop_full++;
	return NULL;
}

static grove_member__stream_t *stream_get(grove_member_t *m, uint32_t id)
{
	for (size_t i = 0; i < GROVE_MEMBER_STREAMS_MAX; i++)
		if (m->streams[i].used && m->streams[i].id == id)
			return &m->streams[i];
	return NULL;
}

static void stream_end(grove_member_t *m, grove_member__stream_t *s, bool ok, bool send_close)
{
	if (send_close)
		grove_member__out_push(m, GROVE_OUT_STREAM_CLOSE, s->id, NULL, NULL, 0);
	if (s->kind == GROVE__STREAM_PUSHPULL && ok) {
		m->stats.pushpull_ok++;
		grove_member__set_joined(m);
	} else if (s->kind == GROVE__STREAM_PUSHPULL) {
		m->stats.pushpull_fail++;
	}
	s->used = false;
}

void grove_member__set_joined(grove_member_t *m)
{
	if (m->joined)
		return;
	m->joined = true;
	m->next_join_ms = 0;
	grove_member__emit(m, GROVE_MEMBER_EV_JOINED, grove_member__self(m));
}

/* Queues this node's table as frames of the given type on stream s. */
static void send_state(grove_member_t *m, const grove_member__stream_t *s, uint8_t type, uint8_t flags)
{
	grove_member_writer_t w = { .buf = m->scratch, .cap = sizeof(m->scratch), .len = 0 };
	grove_member_msg_t h = { .type = type, .flags = flags };
	grove_member_update_t u;
	size_t count_off = 0, n = 0;
	strcpy(h.sender, m->self_id);
	int rc = grove_member_frame_begin(&w, &h, &count_off);
	GROVE_ASSERT(rc == 0);
	for (size_t i = 0; i < m->count; i++) {
		grove_member__node_to_update(&m->nodes[i], &u);
		if (grove_member_record_encode(&w, &u) == 0 && n < GROVE_MEMBER_RECORDS_MAX) {
			n++;
			continue;
		}
		GROVE_ASSERT(n > 0); /* one record always fits an empty frame */
		m->scratch[count_off] = (uint8_t)(n >> 8);
		m->scratch[count_off + 1] = (uint8_t)n;
		grove_member__out_push(m, GROVE_OUT_STREAM_FRAME, s->id, NULL, m->scratch, w.len);
		w.len = 0;
		n = 0;
		rc = grove_member_frame_begin(&w, &h, &count_off);
		GROVE_ASSERT(rc == 0);
		i--; /* retry this record in the new frame */
	}
	m->scratch[2] = flags | GROVE_MEMBER_FRAME_LAST;
	m->scratch[count_off] = (uint8_t)(n >> 8);
	m->scratch[count_off + 1] = (uint8_t)n;
	grove_member__out_push(m, GROVE_OUT_STREAM_FRAME, s->id, NULL, m->scratch, w.len);
}

int grove_member__pushpull_start(grove_member_t *m, uint64_t now_ms, const char *addr, bool join)
{
	grove_member__stream_t *s = stream_new(m, now_ms, addr, true);
	if (!s)
		return GROVE_EFULL;
	s->join = join;
	grove_member__out_push(m, GROVE_OUT_STREAM_OPEN, s->id, addr, NULL, 0);
	send_state(m, s, GROVE_MEMBER_MSG_PP_REQ, join ? GROVE_MEMBER_FRAME_JOIN : 0);
	return 0;
}

int grove_member_stream_accept(grove_member_t *m, uint64_t now_ms, const char *from_addr, uint32_t *stream_id)
{
	if (!from_addr || !*from_addr || strlen(from_addr) > GROVE_MEMBER_ADDR_MAX)
		return GROVE_EINVAL;
	grove_member__stream_t *s = stream_new(m, now_ms, from_addr, false);
	if (!s)
		return GROVE_EFULL;
	*stream_id = s->id;
	return 0;
}

/* Frames a stream may carry next: the initiator the answer to what it
 * sent; the responder a push-pull request, or one stream ping first. */
static bool frame_expected(const grove_member__stream_t *s, uint8_t type)
{
	if (s->initiator)
		return type == (s->kind == GROVE__STREAM_PING ? GROVE_MEMBER_MSG_STREAM_ACK : GROVE_MEMBER_MSG_PP_RESP);
	return type == GROVE_MEMBER_MSG_PP_REQ || (type == GROVE_MEMBER_MSG_STREAM_PING && s->frames_in == 0);
}

/* One frame without records (stream ping and ack). */
static void send_bare_frame(grove_member_t *m, const grove_member__stream_t *s, uint8_t type)
{
	uint8_t buf[8 + GROVE_MEMBER_ID_MAX];
	grove_member_writer_t w = { .buf = buf, .cap = sizeof(buf), .len = 0 };
	grove_member_msg_t h = { .type = type, .flags = GROVE_MEMBER_FRAME_LAST };
	size_t count_off;
	strcpy(h.sender, m->self_id);
	int rc = grove_member_frame_begin(&w, &h, &count_off);
	GROVE_ASSERT(rc == 0);
	grove_member__out_push(m, GROVE_OUT_STREAM_FRAME, s->id, NULL, buf, w.len);
}

/* A stream ping or its ack: answer, or count the probe as acked when the
 * target itself answered. */
static void stream_probe_frame(grove_member_t *m, grove_member__stream_t *s, const grove_member_msg_t *msg)
{
	if (msg->type == GROVE_MEMBER_MSG_STREAM_PING) {
		s->kind = GROVE__STREAM_PING;
		send_bare_frame(m, s, GROVE_MEMBER_MSG_STREAM_ACK);
	} else if (strcmp(msg->sender, s->target) == 0) {
		m->stats.stream_probe_acks++;
		grove_member__ack_seq(m, s->seq);
	}
	stream_end(m, s, true, true);
}

int grove_member_stream_peer(grove_member_t *m, uint32_t stream_id, const char *peer_id)
{
	if (!peer_id || !*peer_id || strnlen(peer_id, GROVE_MEMBER_ID_MAX + 1) > GROVE_MEMBER_ID_MAX)
		return GROVE_EINVAL;
	grove_member__stream_t *s = stream_get(m, stream_id);
	if (!s)
		return GROVE_ENOTFOUND;
	strcpy(s->peer, peer_id);
	return 0;
}

/* A frame that claims our own id on a stream not authenticated as our
 * id (own address among the seeds, plaintext tests) or, on a bound stream,
 * another id than the authenticated peer's. */
static bool wrong_sender(const grove_member_t *m, const grove_member__stream_t *s, const char *sender)
{
	if (s->peer[0] == '\0')
		return strcmp(sender, m->self_id) == 0;
	return strcmp(sender, s->peer) != 0;
}

/* A push-pull frame from a session authenticated as our own id: this
 * process reached at another address, or another live instance of our id
 * (a copied data directory, or an old process still running after a key
 * rotation).  Only the sender's record about itself is applied, as sent
 * directly by it: another instance nonce is a duplicate, on both sides
 * (each answers the other's request with its own record), however the
 * two met and with no third node.  The responder answers; the stream
 * never counts as a successful push-pull (nothing was learned of the
 * cluster), so joining goes on. */
static void own_id_frame(grove_member_t *m, uint64_t now_ms, grove_member__stream_t *s,
			 const grove_member_msg_t *msg)
{
	grove_member_update_t u;
	size_t off = 0;
	m->apply_sender = msg->sender;
	while (grove_member_body_next(msg, &off, &u) == 1)
		if (u.kind == GROVE_MEMBER_ALIVE && strcmp(u.id, m->self_id) == 0)
			grove_member__apply(m, now_ms, &u, true);
	m->apply_sender = NULL;
	s->deadline_ms = now_ms + m->cfg.stream_timeout_ms;
	if (!(msg->flags & GROVE_MEMBER_FRAME_LAST))
		return;
	if (!s->initiator)
		send_state(m, s, GROVE_MEMBER_MSG_PP_RESP, 0);
	stream_end(m, s, false, true);
}

void grove_member_stream_recv(grove_member_t *m, uint64_t now_ms, uint32_t stream_id, const uint8_t *frame,
			      size_t len)
{
	grove_member_msg_t msg;
	grove_member_update_t u;
	grove_member__stream_t *s = stream_get(m, stream_id);
	if (!s) {
		m->stats.drop_decode++;
		return;
	}
	if (len > GROVE_MEMBER_FRAME_MAX || grove_member_msg_decode(frame, len, &msg) < 0 ||
	    !frame_expected(s, msg.type)) {
		m->stats.drop_decode++;
		stream_end(m, s, false, true);
		return;
	}
	s->frames_in++;
	if (wrong_sender(m, s, msg.sender)) {
		m->stats.drop_sender++;
		stream_end(m, s, false, true);
		return;
	}
	if (msg.type == GROVE_MEMBER_MSG_STREAM_PING || msg.type == GROVE_MEMBER_MSG_STREAM_ACK) {
		stream_probe_frame(m, s, &msg);
		return;
	}
	if (strcmp(msg.sender, m->self_id) == 0) {
		own_id_frame(m, now_ms, s, &msg);
		return;
	}
	size_t off = 0;
	m->apply_sender = msg.sender;
	while (grove_member_body_next(&msg, &off, &u) == 1)
		grove_member__apply(m, now_ms, &u, true);
	m->apply_sender = NULL;
	s->deadline_ms = now_ms + m->cfg.stream_timeout_ms;
	if (!(msg.flags & GROVE_MEMBER_FRAME_LAST))
		return;
	if (!s->initiator)
		send_state(m, s, GROVE_MEMBER_MSG_PP_RESP, 0);
	stream_end(m, s, true, true);
}

/* Probe target over a stream until deadline_ms (the end of the period). */
void grove_member__stream_probe(grove_member_t *m, uint64_t now_ms, const grove_member__node_t *target, uint32_t seq,
			 uint64_t deadline_ms)
{
	grove_member__stream_t *s = stream_new(m, now_ms, target->addr, true);
	if (!s)
		return;
	s->kind = GROVE__STREAM_PING;
	s->seq = seq;
	s->deadline_ms = deadline_ms;
	strcpy(s->target, target->id);
	m->stats.stream_probes++;
	grove_member__out_push(m, GROVE_OUT_STREAM_OPEN, s->id, target->addr, NULL, 0);
	send_bare_frame(m, s, GROVE_MEMBER_MSG_STREAM_PING);
}

void grove_member_stream_closed(grove_member_t *m, uint64_t now_ms, uint32_t stream_id)
{
	(void)now_ms;
	grove_member__stream_t *s = stream_get(m, stream_id);
	if (s)
		stream_end(m, s, false, false);
}

void grove_member__stream_tick(grove_member_t *m, uint64_t now_ms)
{
	for (size_t i = 0; i < GROVE_MEMBER_STREAMS_MAX; i++)
		if (m->streams[i].used && now_ms >= m->streams[i].deadline_ms)
			stream_end(m, &m->streams[i], false, true);
}

/* --- join, periodic push-pull, reconnect -------------------------------------- */

/* now + base with +-25% jitter. */
static uint64_t stream_jitter(grove_member_t *m, uint64_t now_ms, uint64_t base_ms)
{
	double f = 0.75 + 0.5 * grove_rng_unit(&m->rng);
	return now_ms + (uint64_t)((double)base_ms * f) + 1;
}

void grove_member__start_timers(grove_member_t *m, uint64_t now_ms)
{
	if (m->started)
		return;
	m->started = true;
	m->next_probe_ms = now_ms + grove_rng_below(&m->rng, m->cfg.probe_interval_ms);
	m->next_gossip_ms = now_ms + (m->cfg.gossip_interval_ms ? grove_rng_below(&m->rng, m->cfg.gossip_interval_ms) : 0);
	m->next_pushpull_ms = stream_jitter(m, now_ms, m->cfg.pushpull_interval_ms);
	m->next_reconnect_ms = stream_jitter(m, now_ms, m->cfg.reconnect_interval_ms);
}

/* Join targets: seeds, then restored peers; own address excluded. */
static size_t join_targets(const grove_member_t *m, const char **out)
{
	size_t n = 0;
	for (size_t i = 0; i < m->seed_count; i++)
		if (strcmp(m->seeds[i], m->self_addr) != 0)
			out[n++] = m->seeds[i];
	for (size_t i = 0; i < m->restored_count; i++)
		if (strcmp(m->restored[i].addr, m->self_addr) != 0)
			out[n++] = m->restored[i].addr;
	return n;
}

static void join_attempt(grove_member_t *m, uint64_t now_ms)
{
	const char *targets[GROVE_MEMBER_SEEDS_MAX + GROVE_MEMBER_PERSIST_PEERS_MAX];
	size_t n = join_targets(m, targets);
	if (n == 0) {
		grove_member__set_joined(m); /* a cluster of one, to be joined later */
		return;
	}
	m->stats.join_attempts++;
	size_t k = m->cfg.join_fanout ? m->cfg.join_fanout : 1;
	for (size_t i = 0; i < k && i < n; i++) {
		size_t j = i + (size_t)grove_rng_below(&m->rng, n - i);
		const char *t = targets[i];
		targets[i] = targets[j];
		targets[j] = t;
		(void)grove_member__pushpull_start(m, now_ms, targets[i], true);
	}
	uint32_t shift = m->join_failures < 16 ? m->join_failures : 16;
	uint64_t backoff = (uint64_t)m->cfg.join_backoff_ms << shift;
	if (backoff > m->cfg.join_backoff_max_ms)
		backoff = m->cfg.join_backoff_max_ms;
	m->join_failures++;
	m->next_join_ms = stream_jitter(m, now_ms, backoff);
}

int grove_member_join(grove_member_t *m, uint64_t now_ms)
{
	grove_member__start_timers(m, now_ms);
	if (m->leaving)
		return GROVE_ECLOSED;
	if (m->joined)
		return 0;
	m->join_failures = 0;
	join_attempt(m, now_ms);
	return 0;
}

void grove_member__join_tick(grove_member_t *m, uint64_t now_ms)
{
	grove_member__start_timers(m, now_ms);
	if (m->next_join_ms == 0 || now_ms < m->next_join_ms)
		return;
	if (m->joined || m->leaving) {
		m->next_join_ms = 0;
		return;
	}
	join_attempt(m, now_ms);
}

/* memberlist's push-pull scale: above 32 members the interval grows. */
static uint64_t pushpull_interval(const grove_member_t *m)
{
	size_t n = grove_member__live_count(m);
	uint64_t base = m->cfg.pushpull_interval_ms;
	if (n <= 32)
		return base;
	double mult = ceil(log2((double)n) - log2(32.0)) + 1.0;
	return (uint64_t)((double)base * mult);
}

static int random_alive(grove_member_t *m)
{
	size_t seen = 0;
	int pick = -1;
	for (size_t i = 1; i < m->count; i++)
		if (m->nodes[i].state == GROVE_MEMBER_ALIVE && grove_rng_below(&m->rng, ++seen) == 0)
			pick = (int)i;
	return pick;
}

void grove_member__pushpull_tick(grove_member_t *m, uint64_t now_ms)
{
	if (m->cfg.pushpull_interval_ms == 0 || now_ms < m->next_pushpull_ms)
		return;
	m->next_pushpull_ms = stream_jitter(m, now_ms, pushpull_interval(m));
	int i = m->leaving ? -1 : random_alive(m);
	if (i > 0) {
		(void)grove_member__pushpull_start(m, now_ms, m->nodes[i].addr, false);
		grove_member__doc_send(m, m->nodes[i].addr, m->nodes[i].id); /* anti-entropy of the document */
	}
}

/* A datagram from a member we do not know means our views differ: sync
 * with it (gossip alone can miss a member).  At most one per period. */
void grove_member__pushpull_unknown(grove_member_t *m, uint64_t now_ms, const char *addr)
{
	if (m->leaving || now_ms < m->next_unknown_ms)
		return;
	m->next_unknown_ms = now_ms + m->cfg.probe_interval_ms;
	(void)grove_member__pushpull_start(m, now_ms, addr, false);
}

static bool addr_alive(const grove_member_t *m, const char *addr)
{
	for (size_t i = 0; i < m->count; i++)
		if ((m->nodes[i].state == GROVE_MEMBER_ALIVE || m->nodes[i].state == GROVE_MEMBER_SUSPECT) &&
		    strcmp(m->nodes[i].addr, addr) == 0)
			return true;
	return false;
}

/* One push-pull to a random dead member or to a seed (or restored peer)
 * that is not a live member: heals partitions after both halves declared
 * each other dead.  O(n * seeds). */
void grove_member__reconnect_tick(grove_member_t *m, uint64_t now_ms)
{
	const char *targets[GROVE_MEMBER_SEEDS_MAX + GROVE_MEMBER_PERSIST_PEERS_MAX];
	m->next_reconnect_ms = stream_jitter(m, now_ms, m->cfg.reconnect_interval_ms);
	if (m->leaving)
		return;
	grove_member__tell_newer(m, now_ms);
	size_t nt = join_targets(m, targets), seen = 0;
	const char *pick = NULL;
	for (size_t i = 0; i < nt; i++)
		if (!addr_alive(m, targets[i]) && grove_rng_below(&m->rng, ++seen) == 0)
			pick = targets[i];
	for (size_t i = 1; i < m->count; i++)
		if (m->nodes[i].state == GROVE_MEMBER_DEAD && grove_rng_below(&m->rng, ++seen) == 0)
			pick = m->nodes[i].addr;
	if (pick)
		(void)grove_member__pushpull_start(m, now_ms, pick, false);
}

/* --- leave --------------------------------------------------------------------- */

int grove_member_leave(grove_member_t *m, uint64_t now_ms, uint64_t *done_by_ms)
{
	grove_member__start_timers(m, now_ms);
	if (!m->leaving) {
		grove_member__node_t *self = grove_member__self(m);
		m->leaving = true;
		m->next_join_ms = 0;
		m->probe.active = false;
		grove_member__set_state(m, self, GROVE_MEMBER_LEFT, now_ms);
		grove_member__gossip_node(m, self, NULL);
		grove_member__emit(m, GROVE_MEMBER_EV_LEFT, self);
		/* the wait lets the news spread; with no live peer nobody hears it */
		m->leave_done_ms = now_ms + (grove_member__live_count(m) > 0 ? m->cfg.leave_wait_ms : 0);
	}
	*done_by_ms = m->leave_done_ms;
	return 0;
}

/* --- persistence ---------------------------------------------------------------- */

int grove_member_save(const grove_member_t *m, uint8_t **out, size_t *out_len)
{
	grove_member_peer_t *peers = grove_calloc(GROVE_MEMBER_PERSIST_PEERS_MAX, sizeof(*peers));
	size_t cap = 16 + GROVE_MEMBER_PERSIST_PEERS_MAX * (2 + GROVE_MEMBER_ID_MAX + GROVE_MEMBER_ADDR_MAX);
	uint8_t *buf = grove_malloc(cap);
	if (!peers || !buf) {
		grove_free(peers);
		grove_free(buf);
		return GROVE_ENOMEM;
	}
	size_t n = 0;
	for (size_t i = 1; i < m->count && n < GROVE_MEMBER_PERSIST_PEERS_MAX; i++) {
		const grove_member__node_t *p = &m->nodes[i];
		if (p->state == GROVE_MEMBER_LEFT)
			continue;
		strcpy(peers[n].id, p->id);
		strcpy(peers[n].addr, p->addr);
		n++;
	}
	grove_member_writer_t w = { .buf = buf, .cap = cap, .len = 0 };
	int rc = grove_member_persist_encode(&w, m->nodes[0].incarnation, peers, n);
	GROVE_ASSERT(rc == 0);
	grove_free(peers);
	*out = buf;
	*out_len = w.len;
	return 0;
}

int grove_member_restore(grove_member_t *m, const uint8_t *buf, size_t len)
{
	uint64_t inc;
	size_t n;
	grove_member_peer_t *peers = grove_calloc(GROVE_MEMBER_PERSIST_PEERS_MAX, sizeof(*peers));
	if (!peers)
		return GROVE_ENOMEM;
	int rc = grove_member_persist_decode(buf, len, &inc, peers, &n);
	if (rc < 0) {
		grove_free(peers);
		return rc;
	}
	grove_free(m->restored);
	m->restored = peers;
	m->restored_count = n;
	grove_member__node_t *self = grove_member__self(m);
	if (grove_member__incarnation_after(inc) > self->incarnation)
		self->incarnation = grove_member__incarnation_after(inc);
	grove_member__emit(m, GROVE_MEMBER_EV_PERSIST, self);
	return 0;
}
