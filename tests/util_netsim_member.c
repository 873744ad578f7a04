/*
 * util_netsim_member.c - membership cores on the simulated network (see
 * util_netsim_member.h).  Each network event feeds one core, then the
 * harness "pumps" it: outputs go to the network, events are counted (and the
 * state saved), and the node's timer is set to the core's next deadline.
 * With sessions, a stream carries session records: frames the core sends
 * before the handshake completes are held, then encrypted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "tests/util_identity.h"
#include "tests/util_netsim_member.h"

static grove_test_ca_t sim_ca;
static bool sim_ca_ready;

/* --- streams (plain, or sessions over the simulated stream) ---------------------- */

static grove_simstream_t *st_new(grove_simnode_t *s, uint32_t id, grove_netsim_ep_t ep)
{
	GROVE_ASSERT(s->stream_count < GROVE_SIM_STREAMS_MAX);
	grove_simstream_t *t = &s->streams[s->stream_count++];
	memset(t, 0, sizeof(*t));
	t->id = id;
	t->ep = ep;
	return t;
}

static grove_simstream_t *st_find(grove_simnode_t *s, uint64_t v, bool by_ep)
{
	for (size_t i = 0; i < s->stream_count; i++)
		if ((by_ep ? s->streams[i].ep : s->streams[i].id) == v)
			return &s->streams[i];
	return NULL;
}

static void st_del(grove_simnode_t *s, grove_simstream_t *t)
{
	grove_channel_destroy(t->sess);
	for (size_t i = 0; i < t->nheld; i++)
		free(t->held[i]);
	*t = s->streams[--s->stream_count];
}


static int on_session_frame(void *ctx, const uint8_t *frame, size_t len)
{
	grove_simnode_t *s = ctx;
	grove_simstream_t *t = st_find(s, s->cur_stream, false);
	/* A frame can come in the bytes that end the handshake: the peer's
	 * certificate goes to the book (and may be refused) first. */
	if (t && !t->cert_learned && grove_channel_established(t->sess)) {
		t->cert_learned = true;
		s->cl->sessions_established++;
		if (grove_peerbook_add_session(s->book, grove_channel_peer_cert(t->sess), grove_netsim_now(s->cl->net)) < 0) {
			s->cl->sessions_refused++;
			return GROVE_EAUTH; /* the feed fails: st_bytes closes the stream */
		}
		int rc = grove_member_stream_peer(s->m, t->id, grove_channel_peer_cert(t->sess)->node_id);
		GROVE_ASSERT(rc == 0 || rc == GROVE_ENOTFOUND);
	}
	grove_member_stream_recv(s->m, grove_netsim_now(s->cl->net), s->cur_stream, frame, len);
	return 0;
}

static void st_session(grove_simnode_t *s, grove_simstream_t *t, grove_channel_role_t role)
{
	grove_channel_config_t sc = { .self = &s->ident, .role = role, .now_ms = grove_netsim_now(s->cl->net),
				      .on_frame = on_session_frame, .frame_ctx = s, .own_id_ok = true };
	int rc = grove_channel_create(&sc, &t->sess);
	GROVE_ASSERT(rc == 0);
}

/* Writes what the session has queued to the network. */
static void st_flush(grove_simnode_t *s, grove_simstream_t *t)
{
	const uint8_t *data;
	size_t len;
	grove_channel_pending(t->sess, &data, &len);
	if (len) {
		grove_netsim_stream_send(s->cl->net, t->ep, data, len);
		grove_channel_consume(t->sess, len);
	}
}

static void st_close(grove_simnode_t *s, grove_simstream_t *t)
{
	if (t->sess && grove_channel_established(t->sess) && grove_channel_finish(t->sess) == 0)
		st_flush(s, t);
	grove_netsim_stream_close(s->cl->net, t->ep);
	st_del(s, t);
}

/* Once established: learn the peer certificate, send held frames, close if
 * the core already did.  Returns false when t was closed. */
static bool st_progress(grove_simnode_t *s, grove_simstream_t *t)
{
	if (!grove_channel_established(t->sess))
		return true;
	if (!t->cert_learned) {
		/* The session verified the certificate against the CA; the book
		 * still refuses a second key for a known id: then the stream is
		 * refused too, as the node layer does. */
		t->cert_learned = true;
		s->cl->sessions_established++;
		uint32_t id = t->id;
		if (grove_peerbook_add_session(s->book, grove_channel_peer_cert(t->sess), grove_netsim_now(s->cl->net)) < 0) {
			s->cl->sessions_refused++;
			st_close(s, t);
			grove_member_stream_closed(s->m, grove_netsim_now(s->cl->net), id);
			return false;
		}
		/* frames on this stream must come from the authenticated peer */
		int rc = grove_member_stream_peer(s->m, id, grove_channel_peer_cert(t->sess)->node_id);
		GROVE_ASSERT(rc == 0 || rc == GROVE_ENOTFOUND); /* the core may have ended it */
	}
	for (size_t i = 0; i < t->nheld; i++) {
		int rc = grove_channel_send(t->sess, t->held[i], t->held_len[i]);
		GROVE_ASSERT(rc == 0);
		free(t->held[i]);
	}
	t->nheld = 0;
	st_flush(s, t);
	if (t->finish) {
		st_close(s, t);
		return false;
	}
	return true;
}

static void st_send(grove_simnode_t *s, grove_simstream_t *t, const uint8_t *b, size_t len)
{
	if (!t->sess) {
		grove_netsim_stream_send(s->cl->net, t->ep, b, len);
		return;
	}
	GROVE_ASSERT(t->nheld < GROVE_SIM_HELD_MAX);
	t->held[t->nheld] = malloc(len ? len : 1);
	GROVE_ASSERT(t->held[t->nheld] != NULL);
	memcpy(t->held[t->nheld], b, len);
	t->held_len[t->nheld++] = len;
	(void)st_progress(s, t);
}

/* Bytes from the network on stream t. */
static void st_bytes(grove_simnode_t *s, uint64_t now, grove_simstream_t *t, const uint8_t *b, size_t len)
{
	if (!t->sess) {
		grove_member_stream_recv(s->m, now, t->id, b, len);
		return;
	}
	s->cur_stream = t->id;
	uint32_t id = t->id;
	if (grove_channel_feed(t->sess, b, len) < 0) {
		st_close(s, t);
		grove_member_stream_closed(s->m, now, id);
		return;
	}
	if ((t = st_find(s, id, false)) && st_progress(s, t))
		st_flush(s, t);
}

/* --- pumping ---------------------------------------------------------------------- */

static long node_index(const char *id)
{
	return strncmp(id, "node-", 5) == 0 ? strtol(id + 5, NULL, 10) : -1;
}

static void save(grove_simnode_t *s)
{
	uint8_t *buf;
	size_t len;
	if (grove_member_save(s->m, &buf, &len) < 0)
		return;
	grove_free(s->saved);
	s->saved = buf;
	s->saved_len = len;
}

static void on_event(grove_simnode_t *s, const grove_member_event_t *ev)
{
	grove_simcluster_t *cl = s->cl;
	s->events[ev->kind]++;
	long j = node_index(ev->id);
	bool truly_up = j >= 0 && (size_t)j < cl->n && cl->nodes[j].up && !cl->nodes[j].left &&
			cl->nodes[j].m != NULL && strcmp(cl->nodes[j].addr, ev->addr) == 0;
	if (ev->kind == GROVE_MEMBER_EV_DEAD && truly_up)
		cl->false_dead++;
	if (ev->kind == GROVE_MEMBER_EV_SUSPECT && truly_up)
		cl->false_suspect++;
	if (ev->kind == GROVE_MEMBER_EV_PERSIST ||
	    (cl->save_on_change && (ev->kind == GROVE_MEMBER_EV_JOIN || ev->kind == GROVE_MEMBER_EV_ALIVE)))
		save(s);
}

static void pump(grove_simnode_t *s)
{
	grove_netsim_t *net = s->cl->net;
	grove_out_t o;
	grove_member_event_t ev;
	grove_simstream_t *t;
	while (s->m && grove_member_poll(s->m, &o)) {
		switch (o.kind) {
		case GROVE_OUT_DATAGRAM:
			GROVE_ASSERT(o.len <= GROVE_DATAGRAM_MAX);
			if (o.len > s->cl->max_datagram_bytes)
				s->cl->max_datagram_bytes = o.len;
			grove_netsim_send(net, s->net_node, o.addr, 0, o.bytes, o.len);
			break;
		case GROVE_OUT_STREAM_OPEN:
			t = st_new(s, o.stream_id, grove_netsim_stream_open(net, s->net_node, o.addr, 0, o.stream_id));
			if (s->cl->sessions) {
				st_session(s, t, GROVE_CHANNEL_INITIATOR);
				st_flush(s, t);
			}
			break;
		case GROVE_OUT_STREAM_FRAME:
			if ((t = st_find(s, o.stream_id, false)))
				st_send(s, t, o.bytes, o.len);
			break;
		case GROVE_OUT_STREAM_CLOSE:
			if ((t = st_find(s, o.stream_id, false))) {
				t->finish = true;
				if (!t->sess || grove_channel_established(t->sess))
					st_close(s, t);
			}
			break;
		}
	}
	while (s->m && grove_member_next_event(s->m, &ev))
		on_event(s, &ev);
	if (s->m)
		grove_netsim_timer_set(net, s->net_node, grove_member_next_deadline(s->m));
}

static void h_open(grove_simnode_t *s, uint64_t now, grove_netsim_ep_t ep, const char *from)
{
	uint32_t id;
	if (!s->m || grove_member_stream_accept(s->m, now, from, &id) < 0) {
		grove_netsim_stream_close(s->cl->net, ep);
		return;
	}
	grove_simstream_t *t = st_new(s, id, ep);
	if (s->cl->sessions)
		st_session(s, t, GROVE_CHANNEL_RESPONDER);
}

static void h_closed(grove_simnode_t *s, uint64_t now, grove_netsim_ep_t ep)
{
	grove_simstream_t *t = st_find(s, ep, true);
	if (!t)
		return;
	uint32_t id = t->id;
	st_del(s, t);
	if (s->m)
		grove_member_stream_closed(s->m, now, id);
}

/* Feeds one network event to its node's core, then pumps the core. */
static void on_net_event(grove_simcluster_t *cl, const grove_netsim_ev_t *ev)
{
	grove_simnode_t *s = &cl->nodes[ev->node];
	grove_simstream_t *t;
	switch (ev->kind) {
	case GROVE_NETSIM_EV_DATAGRAM:
		if (s->m)
			grove_member_recv_datagram(s->m, ev->at_ms, grove_netsim_addr(cl->net, ev->from), ev->bytes,
						   ev->len);
		break;
	case GROVE_NETSIM_EV_STREAM_OPEN:
		h_open(s, ev->at_ms, ev->ep, grove_netsim_addr(cl->net, ev->from));
		break;
	case GROVE_NETSIM_EV_STREAM_FRAME:
		if (s->m && (t = st_find(s, ev->ep, true)))
			st_bytes(s, ev->at_ms, t, ev->bytes, ev->len);
		break;
	case GROVE_NETSIM_EV_STREAM_CLOSED:
		h_closed(s, ev->at_ms, ev->ep);
		break;
	case GROVE_NETSIM_EV_TIMER:
		if (s->m)
			grove_member_tick(s->m, ev->at_ms);
		break;
	default: /* no flow control, no user events here */
		return;
	}
	pump(s);
}

/* --- lifecycle ----------------------------------------------------------------------- */

void grove_simcluster_init(grove_simcluster_t *cl, size_t n, uint64_t seed, const grove_member_config_t *base,
			   bool secure)
{
	memset(cl, 0, sizeof(*cl));
	cl->net = grove_netsim_create(seed, GROVE_TEST_NOW_MS);
	cl->nodes = calloc(n, sizeof(*cl->nodes));
	GROVE_ASSERT(cl->nodes != NULL);
	cl->n = n;
	cl->seed = seed;
	cl->secure = secure;
	cl->save_on_change = true;
	cl->sessions = secure;
	if (base)
		cl->base = *base;
	else
		grove_member_config_init(&cl->base);
	if (secure && !sim_ca_ready) {
		grove_test_ca_init(&sim_ca, "sim-ca");
		sim_ca_ready = true;
	}
	for (size_t i = 0; i < n; i++) {
		grove_simnode_t *s = &cl->nodes[i];
		s->cl = cl;
		s->index = i;
		snprintf(s->id, sizeof(s->id), "node-%zu", i);
		snprintf(s->addr, sizeof(s->addr), "n%zu:7946", i);
		s->net_node = grove_netsim_add_node(cl->net, s->addr);
		GROVE_ASSERT(s->net_node == (int)i);
		grove_netsim_set_down(cl->net, s->net_node, true);
		if (secure)
			grove_test_identity(&s->ident, &sim_ca, &sim_ca, s->id, 0, GROVE_TEST_EXPIRES_MS);
	}
}

static void destroy_core(grove_simnode_t *s)
{
	grove_member_destroy(s->m);
	s->m = NULL;
	while (s->stream_count)
		st_del(s, &s->streams[0]);
	grove_peerbook_destroy(s->book);
	s->book = NULL;
}

void grove_simcluster_set_identity(grove_simcluster_t *cl, size_t i, const char *id, uint8_t key_variant)
{
	grove_simnode_t *s = &cl->nodes[i];
	GROVE_ASSERT(cl->secure && !s->m && strlen(id) <= GROVE_MEMBER_ID_MAX);
	grove_identity_close(&s->ident);
	strcpy(s->id, id);
	grove_test_identity(&s->ident, &sim_ca, &sim_ca, id, key_variant, GROVE_TEST_EXPIRES_MS);
}

const grove_test_ca_t *grove_simcluster_ca(void)
{
	GROVE_ASSERT(sim_ca_ready);
	return &sim_ca;
}

void grove_simcluster_set_cert(grove_simcluster_t *cl, size_t i, uint8_t key_variant, uint64_t issued_ms,
			       uint64_t expires_ms)
{
	grove_simnode_t *s = &cl->nodes[i];
	GROVE_ASSERT(cl->secure);
	grove_identity_t fresh;
	grove_test_identity_v2(&fresh, &sim_ca, &sim_ca, s->id, key_variant, issued_ms, expires_ms);
	s->ident = fresh; /* in place: sender and book borrow it */
	grove_identity_close(&fresh);
	if (s->m) {
		int rc = grove_secure_hooks_reload_member(&s->sec, s->m, grove_netsim_now(cl->net));
		GROVE_ASSERT(rc == 0);
		pump(s);
	}
}

void grove_simcluster_revoke(grove_simcluster_t *cl, size_t i, uint64_t issued_ms, const char *const *ids,
			     const uint8_t *variants, size_t count)
{
	grove_simnode_t *s = &cl->nodes[i];
	GROVE_ASSERT(cl->secure && s->m && count <= GROVE_CRL_ENTRIES_MAX);
	uint8_t fps[GROVE_CRL_ENTRIES_MAX][GROVE_KEY_FINGERPRINT_BYTES];
	for (size_t k = 0; k < count; k++) {
		uint8_t pk[GROVE_SIGN_PUBLIC_BYTES];
		grove_test_public_key(pk, ids[k], variants[k]);
		grove_key_fingerprint(fps[k], pk);
	}
	grove_crl_t crl;
	GROVE_ASSERT(grove_crl_issue(&crl, issued_ms, (const uint8_t(*)[GROVE_KEY_FINGERPRINT_BYTES])fps, count,
				     sim_ca.sk) == 0);
	GROVE_ASSERT(grove_peerbook_set_crl(s->book, &crl) == 1);
	grove_member_doc_changed(s->m);
	pump(s);
}

void grove_simcluster_close(grove_simcluster_t *cl)
{
	for (size_t i = 0; i < cl->n; i++) {
		destroy_core(&cl->nodes[i]);
		grove_free(cl->nodes[i].saved);
		if (cl->secure)
			grove_identity_close(&cl->nodes[i].ident);
	}
	free(cl->nodes);
	grove_netsim_destroy(cl->net);
}

static void on_refuse(void *ctx, const char *from, grove_drop_t reason, const grove_cert_t *cert)
{
	grove_simnode_t *s = ctx;
	(void)cert;
	GROVE_ASSERT((unsigned)reason < GROVE_DROP_COUNT);
	s->refused[reason]++;
	snprintf(s->last_refused, sizeof(s->last_refused), "%s", from);
}

static void make_secure(grove_simnode_t *s, grove_member_config_t *cfg)
{
	grove_peerbook_config_t pc = { .self = &s->ident, .on_refuse = on_refuse, .conflict_ctx = s };
	int rc = grove_peerbook_create(&pc, &s->book);
	GROVE_ASSERT(rc == 0);
	grove_sender_init(&s->sender, &s->ident, ++s->epoch);
	grove_secure_hooks_init(&s->sec, &s->sender, s->book, GROVE_MEMBER_ENVELOPE_KIND);
	rc = grove_secure_hooks_config_member(&s->sec, cfg);
	GROVE_ASSERT(rc == 0);
}

void grove_simcluster_start(grove_simcluster_t *cl, size_t i, const size_t *seeds, size_t seed_count, bool restore)
{
	grove_simnode_t *s = &cl->nodes[i];
	const char *seed_addrs[GROVE_MEMBER_SEEDS_MAX];
	GROVE_ASSERT(seed_count <= GROVE_MEMBER_SEEDS_MAX);
	destroy_core(s);
	grove_member_config_t cfg = cl->base;
	cfg.id = s->id;
	cfg.addr = s->addr;
	for (size_t k = 0; k < seed_count; k++)
		seed_addrs[k] = cl->nodes[seeds[k]].addr;
	cfg.seeds = seed_addrs;
	cfg.seed_count = seed_count;
	cfg.rng_seed = cl->seed * 1000003ULL + i * 7919ULL + s->epoch;
	cfg.instance = (cfg.rng_seed * 0x9E3779B97F4A7C15ULL) | 1; /* one nonce per start */
	cfg.instance_started_ms = grove_netsim_now(cl->net);
	if (cl->secure)
		make_secure(s, &cfg);
	else
		s->epoch++;
	int rc = grove_member_create(&cfg, &s->m);
	GROVE_ASSERT(rc == 0);
	if (restore && s->saved) {
		rc = grove_member_restore(s->m, s->saved, s->saved_len);
		GROVE_ASSERT(rc == 0);
	}
	s->up = true;
	s->left = false;
	grove_netsim_set_down(cl->net, s->net_node, false);
	rc = grove_member_join(s->m, grove_netsim_now(cl->net));
	GROVE_ASSERT(rc == 0);
	pump(s);
}

void grove_simcluster_kill(grove_simcluster_t *cl, size_t i)
{
	grove_simnode_t *s = &cl->nodes[i];
	s->up = false;
	grove_netsim_set_down(cl->net, s->net_node, true);
	destroy_core(s);
}

void grove_simcluster_pause(grove_simcluster_t *cl, size_t i, bool paused)
{
	grove_simnode_t *s = &cl->nodes[i];
	s->up = !paused;
	grove_netsim_set_down(cl->net, s->net_node, paused);
}

void grove_simcluster_leave(grove_simcluster_t *cl, size_t i)
{
	grove_simnode_t *s = &cl->nodes[i];
	uint64_t done_by;
	int rc = grove_member_leave(s->m, grove_netsim_now(cl->net), &done_by);
	GROVE_ASSERT(rc == 0);
	s->left = true;
	pump(s);
	grove_simcluster_run(cl, done_by);
	grove_simcluster_kill(cl, i);
}

void grove_simcluster_run(grove_simcluster_t *cl, uint64_t until_ms)
{
	grove_netsim_ev_t ev;
	while (grove_netsim_next(cl->net, until_ms, &ev))
		on_net_event(cl, &ev);
}

uint64_t grove_simcluster_now(const grove_simcluster_t *cl)
{
	return grove_netsim_now(cl->net);
}

/* --- views ------------------------------------------------------------------------- */

grove_member_state_t grove_simcluster_view(const grove_simcluster_t *cl, size_t i, size_t j)
{
	grove_member_info_t info;
	const grove_simnode_t *s = &cl->nodes[i];
	if (!s->m || grove_member_find(s->m, cl->nodes[j].id, &info) < 0)
		return 0;
	return info.state;
}

bool grove_simcluster_all_see_alive(const grove_simcluster_t *cl, size_t alive)
{
	for (size_t i = 0; i < cl->n; i++) {
		const grove_simnode_t *s = &cl->nodes[i];
		if (s->m && s->up && !s->left && grove_member_count_state(s->m, GROVE_MEMBER_ALIVE) != alive)
			return false;
	}
	return true;
}

bool grove_simcluster_all_see(const grove_simcluster_t *cl, size_t j, grove_member_state_t st)
{
	for (size_t i = 0; i < cl->n; i++) {
		const grove_simnode_t *s = &cl->nodes[i];
		if (i != j && s->m && s->up && !s->left && grove_simcluster_view(cl, i, j) != st)
			return false;
	}
	return true;
}

uint64_t grove_simcluster_run_until_pred(grove_simcluster_t *cl, uint64_t deadline_ms, uint64_t step_ms,
					 bool (*pred)(const grove_simcluster_t *, const void *), const void *arg)
{
	for (uint64_t t = grove_simcluster_now(cl); t <= deadline_ms; t += step_ms) {
		grove_simcluster_run(cl, t);
		if (pred(cl, arg))
			return t;
	}
	return 0;
}
