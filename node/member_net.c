/*
 * member_net.c - the membership and anti-entropy cores on libuv (see
 * member_net.h).
 *
 * After every input (datagram, stream bytes, timer) pump() drains both
 * cores' outputs (datagrams to send, streams to open, frames to send,
 * streams to close) and membership's events (logged; PERSIST saves the
 * restart state), then re-arms both timers for the cores' next deadlines.
 * Datagrams go to exactly one core, chosen by the envelope kind (byte 3),
 * so no envelope is opened twice.  A stream is one TCP connection carrying
 * one session: frames a core sends before the handshake completes are
 * queued (u32 length + bytes) and sent once it is established; the peer's
 * verified certificate then goes into the peer book, and a refused
 * certificate ends the stream.  The initiator's first frame is one layer
 * byte (1 membership, 2 anti-entropy: doc/wire_format.md, "Stream layer");
 * the responder hands the stream to that core when it arrives.
 */
#include "node/member_net.h"

#include <netdb.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "crdt/alloc.h"
#include "crdt/assert.h"
#include "gossip/ae_secure.h"
#include "gossip/antientropy.h"
#include "gossip/member.h"
#include "gossip/member_secure.h"
#include "gossip/session.h"

/* Stream layers: the first frame of every stream (= envelope kinds). */
#define LAYER_NONE 0 /* inbound, first frame not yet seen */
#define LAYER_MEMBER GROVE_MEMBER_ENVELOPE_KIND
#define LAYER_AE GROVE_AE_ENVELOPE_KIND
/* Anti-entropy streams stop producing frames while this many bytes wait
 * in the TCP write queue, and resume below the low mark. */
#define AE_WRITE_HIGH (2u * 1024 * 1024)
#define AE_WRITE_LOW (512u * 1024)
/* A connection must complete its handshake and (inbound) name its layer
 * within this time, or it is closed (no core times it out before that). */
#define STREAM_SETUP_TIMEOUT_MS 10000

typedef struct mstream mstream_t;

struct grove_member_net {
	uv_loop_t *loop;
	grove_member_t *m;
	grove_sender_t sender;
	grove_peerbook_t *book;
	grove_member_secure_t sec;
	grove_ae_t *ae;
	grove_ae_secure_t aesec;
	grove_rng_t rng;
	const grove_identity_t *identity;
	grove_db_t *db;
	grove_gossip_net_t *gossip;
	grove_log_t *log;
	uv_timer_t timer, leave_timer, ae_timer;
	mstream_t *streams;
	size_t nstreams;
	char addr[GROVE_MEMBER_ADDR_MAX + 1];
	char seeds[GROVE_SEEDS_MAX][GROVE_MEMBER_ADDR_MAX + 1];
	const char *seed_ptrs[GROVE_SEEDS_MAX];
	bool in_pump, closing;
	int handles_open;
	void (*leave_cb)(void *ctx);
	void *leave_ctx;
	void (*close_cb)(void *ctx);
	void *close_ctx;
};

struct mstream {
	uv_tcp_t *tcp;
	uv_connect_t connect;
	grove_member_net_t *mn;
	mstream_t *prev, *next;
	uint32_t id;              /* the core's stream id (per layer) */
	uint8_t layer;            /* LAYER_* */
	grove_session_t *sess;
	grove_resp_buf_t queued; /* frames before the handshake: u32 len, bytes */
	int writes;
	bool established, core_closed, finishing, closed;
	bool blocked;             /* anti-entropy told the stream is not writable */
	bool outbound;            /* opened by this node (session initiator) */
	uint64_t opened_ms;
	char from[GROVE_MEMBER_ADDR_MAX + 1]; /* inbound: TCP source "ip:port" */
	uint8_t rbuf[16384];
};

typedef struct mwrite {
	uv_write_t req;
	mstream_t *s;
	uint8_t bytes[];
} mwrite_t;

static void pump(grove_member_net_t *mn);

static uint64_t now_ms(void)
{
	return grove_clock_system_ms(NULL);
}

/* Tells the core of `layer` that its stream id ended. */
static void core_stream_closed(grove_member_net_t *mn, uint8_t layer, uint32_t id)
{
	if (layer == LAYER_AE)
		grove_ae_stream_closed(mn->ae, now_ms(), id);
	else
		grove_member_stream_closed(mn->m, now_ms(), id);
}

/* ---- streams ---- */

static void on_stream_closed(uv_handle_t *h)
{
	mstream_t *s = h->data;
	grove_member_net_t *mn = s->mn;
	if (s->prev)
		s->prev->next = s->next;
	else
		mn->streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	mn->nstreams--;
	grove_session_destroy(s->sess);
	grove_resp_buf_close(&s->queued);
	grove_free(s->tcp);
	grove_free(s);
	if (mn->closing && --mn->handles_open == 0 && mn->close_cb)
		mn->close_cb(mn->close_ctx);
}

/* Closes the connection; tells the core unless it closed the stream. */
static void stream_close(mstream_t *s)
{
	if (s->closed)
		return;
	s->closed = true;
	if (!s->core_closed && s->layer != LAYER_NONE && !s->mn->closing)
		core_stream_closed(s->mn, s->layer, s->id);
	s->core_closed = true;
	uv_close((uv_handle_t *)s->tcp, on_stream_closed);
}

static void on_stream_write(uv_write_t *req, int status)
{
	mwrite_t *w = (mwrite_t *)req;
	mstream_t *s = w->s;
	grove_free(w);
	s->writes--;
	if (s->blocked && s->established && !s->closed && s->tcp->write_queue_size < AE_WRITE_LOW) {
		s->blocked = false;
		grove_ae_stream_set_writable(s->mn->ae, s->id, true);
	}
	if (status < 0 || (s->finishing && s->writes == 0))
		stream_close(s);
	pump(s->mn);
}

/* Writes whatever the session has queued. */
static void stream_flush(mstream_t *s)
{
	const uint8_t *data;
	size_t len;
	grove_session_pending(s->sess, &data, &len);
	if (len == 0 || s->closed)
		return;
	mwrite_t *w = grove_malloc(sizeof(*w) + len);
	if (!w) {
		stream_close(s);
		return;
	}
	memcpy(w->bytes, data, len);
	grove_session_consume(s->sess, len);
	w->s = s;
	uv_buf_t b = uv_buf_init((char *)w->bytes, (unsigned)len);
	if (uv_write(&w->req, (uv_stream_t *)s->tcp, &b, 1, on_stream_write) < 0) {
		grove_free(w);
		stream_close(s);
		return;
	}
	s->writes++;
	if (s->layer == LAYER_AE && !s->blocked && !s->core_closed &&
	    s->tcp->write_queue_size > AE_WRITE_HIGH) {
		s->blocked = true;
		grove_ae_stream_set_writable(s->mn->ae, s->id, false);
	}
}

/* After the handshake: check the peer in the book, send queued frames. */
static void stream_established(mstream_t *s)
{
	s->established = true;
	const grove_cert_t *peer = grove_session_peer_cert(s->sess);
	int rc = peer ? grove_peerbook_add(s->mn->book, peer, now_ms()) : GROVE_EAUTH;
	if (rc < 0) {
		grove_log_warn(s->mn->log, "gossip stream from %s refused: %s",
			       peer ? peer->node_id : "?", grove_strerror(rc));
		stream_close(s);
		return;
	}
	if (s->outbound && s->layer == LAYER_MEMBER && !s->core_closed) /* inbound: stream_tag */
		rc = grove_member_stream_peer(s->mn->m, s->id, peer->node_id);
	for (size_t off = 0; off + 4 <= s->queued.len && rc == 0;) {
		const uint8_t *p = s->queued.data + off;
		size_t n = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
		rc = grove_session_send(s->sess, p + 4, n);
		off += 4 + n;
	}
	s->queued.len = 0;
	if (rc == 0 && s->blocked && !s->core_closed) { /* see stream_open */
		s->blocked = false;
		grove_ae_stream_set_writable(s->mn->ae, s->id, true);
	}
	if (rc == 0 && s->finishing)
		rc = grove_session_finish(s->sess);
	if (rc < 0)
		stream_close(s);
}

/* Keeps a frame until the handshake completes. */
static int stream_queue(mstream_t *s, const uint8_t *bytes, size_t len)
{
	uint8_t hdr[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
	grove_resp_raw(&s->queued, hdr, 4);
	grove_resp_raw(&s->queued, bytes, len);
	return grove_resp_buf_failed(&s->queued) ? GROVE_ENOMEM : 0;
}

static void stream_send_frame(mstream_t *s, const uint8_t *bytes, size_t len)
{
	int rc = s->established ? grove_session_send(s->sess, bytes, len) : stream_queue(s, bytes, len);
	if (rc < 0)
		stream_close(s);
	else
		stream_flush(s);
}

/* The core is done with the stream: finish the session, close once sent. */
static void stream_finish(mstream_t *s)
{
	s->core_closed = true;
	s->finishing = true;
	if (s->established && grove_session_finish(s->sess) == 0)
		stream_flush(s);
	if (s->writes == 0 && (s->established || grove_session_error(s->sess)))
		stream_close(s);
}

/* The gossip address of the authenticated peer (anti-entropy allows one
 * session per peer address), or the TCP source if membership does not
 * know the peer yet. */
static void peer_gossip_addr(mstream_t *s, const char *peer_id, char *out, size_t cap)
{
	grove_member_info_t info;
	if (peer_id && grove_member_find(s->mn->m, peer_id, &info) == 0)
		snprintf(out, cap, "%s", info.addr);
	else
		snprintf(out, cap, "%s", s->from);
}

/* An inbound stream's first frame names its layer: hand the stream to
 * that core (accept, bind to the authenticated peer), or close it. */
static void stream_tag(mstream_t *s, const uint8_t *frame, size_t len)
{
	grove_member_net_t *mn = s->mn;
	const grove_cert_t *peer = grove_session_peer_cert(s->sess);
	char addr[GROVE_MEMBER_ADDR_MAX + 1];
	int rc = GROVE_EDECODE;
	if (peer && len == 1 && frame[0] == LAYER_MEMBER) {
		rc = grove_member_stream_accept(mn->m, now_ms(), s->from, &s->id);
		if (rc == 0) {
			s->layer = LAYER_MEMBER;
			rc = grove_member_stream_peer(mn->m, s->id, peer->node_id);
		}
	} else if (peer && len == 1 && frame[0] == LAYER_AE) {
		peer_gossip_addr(s, peer->node_id, addr, sizeof(addr));
		rc = grove_ae_stream_accept(mn->ae, now_ms(), addr, &s->id);
		if (rc == 0)
			s->layer = LAYER_AE;
	}
	if (rc < 0)
		stream_close(s);
}

static int on_frame(void *ctx, const uint8_t *frame, size_t len)
{
	mstream_t *s = ctx;
	if (s->closed || s->core_closed)
		return 0;
	if (s->layer == LAYER_NONE)
		stream_tag(s, frame, len);
	else if (s->layer == LAYER_AE)
		grove_ae_stream_recv(s->mn->ae, now_ms(), s->id, frame, len);
	else
		grove_member_stream_recv(s->mn->m, now_ms(), s->id, frame, len);
	return 0;
}

static void on_stream_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	mstream_t *s = h->data;
	(void)suggested;
	*buf = uv_buf_init((char *)s->rbuf, sizeof(s->rbuf));
}

static void on_stream_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
	mstream_t *s = st->data;
	if (nread < 0) {
		int rc = grove_session_eof(s->sess); /* truncated or clean: the stream ends */
		(void)rc;
		stream_close(s);
	} else if (nread > 0 && grove_session_feed(s->sess, (const uint8_t *)buf->base, (size_t)nread) < 0) {
		stream_close(s);
	} else if (!s->closed) {
		if (!s->established && grove_session_established(s->sess))
			stream_established(s);
		if (!s->closed)
			stream_flush(s);
	}
	pump(s->mn);
}

/* A stream record with a session in `role`; tcp is taken over. */
static mstream_t *stream_new(grove_member_net_t *mn, uv_tcp_t *tcp, grove_session_role_t role)
{
	mstream_t *s = grove_calloc(1, sizeof(*s));
	grove_session_config_t sc = {.self = mn->identity, .role = role, .now_ms = now_ms(),
				     .on_frame = on_frame};
	if (!s || mn->nstreams >= GROVE_MEMBER_NET_STREAMS_MAX)
		goto fail;
	sc.frame_ctx = s;
	if (grove_session_create(&sc, &s->sess) < 0)
		goto fail;
	s->mn = mn;
	s->tcp = tcp;
	s->opened_ms = now_ms();
	tcp->data = s;
	grove_resp_buf_init(&s->queued, 8u * GROVE_MEMBER_FRAME_MAX);
	s->next = mn->streams;
	if (mn->streams)
		mn->streams->prev = s;
	mn->streams = s;
	mn->nstreams++;
	return s;
fail:
	grove_free(s);
	return NULL;
}

static void free_tcp(uv_handle_t *h)
{
	grove_free(h);
}

static void on_connect(uv_connect_t *req, int status)
{
	mstream_t *s = req->data;
	if (status < 0 || s->closed) {
		stream_close(s);
	} else {
		uv_read_start((uv_stream_t *)s->tcp, on_stream_alloc, on_stream_read);
		stream_flush(s);
	}
	pump(s->mn);
}

/* STREAM_OPEN: connect to addr and start a session as initiator; the
 * first frame names the layer. */
static void stream_open(grove_member_net_t *mn, uint8_t layer, uint32_t id, const char *addr)
{
	grove_hostport_t hp;
	char port[8];
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV}, *ai = NULL;
	uv_tcp_t *tcp = grove_malloc(sizeof(*tcp));
	mstream_t *s = NULL;
	if (tcp)
		uv_tcp_init(mn->loop, tcp);
	if (tcp && grove_hostport_parse(addr, &hp) == 0 &&
	    snprintf(port, sizeof(port), "%u", hp.port) > 0 &&
	    getaddrinfo(hp.host, port, &hints, &ai) == 0 &&
	    (s = stream_new(mn, tcp, GROVE_SESSION_INITIATOR)) != NULL) {
		s->id = id;
		s->layer = layer;
		s->outbound = true;
		s->connect.data = s;
		/* anti-entropy frames wait in the core, not in s->queued,
		 * until the handshake completes */
		if (layer == LAYER_AE) {
			s->blocked = true;
			grove_ae_stream_set_writable(mn->ae, id, false);
		}
		const struct sockaddr *src = grove_gossip_net_source(mn->gossip);
		if (stream_queue(s, &layer, 1) < 0 ||
		    (src->sa_family == ai->ai_family && uv_tcp_bind(tcp, src, 0) < 0) ||
		    uv_tcp_connect(&s->connect, tcp, ai->ai_addr, on_connect) < 0)
			stream_close(s);
	} else {
		core_stream_closed(mn, layer, id);
		if (tcp)
			uv_close((uv_handle_t *)tcp, free_tcp);
	}
	if (ai)
		freeaddrinfo(ai);
}

static mstream_t *stream_find(grove_member_net_t *mn, uint8_t layer, uint32_t id)
{
	for (mstream_t *s = mn->streams; s; s = s->next)
		if (s->layer == layer && s->id == id && !s->closed)
			return s;
	return NULL;
}

/* gossip_net's callback for an accepted TCP connection. */
static void on_inbound(void *ctx, uv_tcp_t *tcp)
{
	grove_member_net_t *mn = ctx;
	struct sockaddr_storage ss;
	int n = sizeof(ss);
	char from[GROVE_MEMBER_ADDR_MAX + 1] = "?", ip[64] = "?";
	if (uv_tcp_getpeername(tcp, (struct sockaddr *)&ss, &n) == 0) {
		bool v6 = ss.ss_family == AF_INET6;
		if (v6)
			uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof(ip));
		else
			uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof(ip));
		snprintf(from, sizeof(from), v6 ? "[%s]:%d" : "%s:%d", ip,
			 ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
				  : ((struct sockaddr_in *)&ss)->sin_port));
	}
	mstream_t *s = mn->closing ? NULL : stream_new(mn, tcp, GROVE_SESSION_RESPONDER);
	if (!s) {
		uv_close((uv_handle_t *)tcp, free_tcp);
		return;
	}
	snprintf(s->from, sizeof(s->from), "%s", from);
	uv_read_start((uv_stream_t *)tcp, on_stream_alloc, on_stream_read);
	pump(mn);
}

/* ---- the core's datagrams, outputs, events and timer ---- */

static void on_datagram(void *ctx, const char *from, const uint8_t *bytes, size_t len)
{
	grove_member_net_t *mn = ctx;
	if (mn->closing)
		return;
	if (len > 3 && bytes[3] == GROVE_AE_ENVELOPE_KIND)
		grove_ae_recv_datagram(mn->ae, now_ms(), from, bytes, len);
	else
		grove_member_recv_datagram(mn->m, now_ms(), from, bytes, len);
	pump(mn);
}

static void save_state(grove_member_net_t *mn)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = grove_member_save(mn->m, &buf, &len);
	if (rc == 0)
		rc = grove_db_meta_put(mn->db, GROVE_MEMBER_META, buf, len);
	if (rc < 0)
		grove_log_warn(mn->log, "membership: cannot save restart state: %s", grove_strerror(rc));
	grove_free(buf);
}

static void log_event(grove_member_net_t *mn, const grove_member_event_t *ev)
{
	static const char *names[] = {"?", "joined the cluster", "joined", "is alive again",
				      "is suspect", "is dead", "left", "changed address or key",
				      "conflicts", "persist", "was forgotten"};
	const char *what = (unsigned)ev->kind < sizeof(names) / sizeof(names[0]) ? names[ev->kind] : "?";
	if (ev->kind == GROVE_MEMBER_EV_PERSIST) {
		save_state(mn);
	} else if (ev->kind == GROVE_MEMBER_EV_JOINED) {
		grove_log_info(mn->log, "membership: this node %s", what);
	} else if (ev->kind == GROVE_MEMBER_EV_CONFLICT) {
		grove_log_warn(mn->log, "membership: node id '%s' is claimed by two nodes (other one at %s): "
					"a configuration error",
			       ev->id, ev->addr);
	} else {
		grove_log(mn->log, ev->kind >= GROVE_MEMBER_EV_UPDATE ? GROVE_LOG_DEBUG : GROVE_LOG_INFO,
			  "membership: %s (%s) %s, incarnation %llu", ev->id, ev->addr, what,
			  (unsigned long long)ev->incarnation);
	}
}

/* Closes connections still without a handshake (or, inbound, without a
 * layer) after STREAM_SETUP_TIMEOUT_MS: unauthenticated peers cannot hold
 * the stream table. */
static void reap_stale_streams(grove_member_net_t *mn, uint64_t now)
{
	for (mstream_t *s = mn->streams; s; s = s->next)
		if (!s->closed && (!s->established || s->layer == LAYER_NONE) &&
		    now > s->opened_ms + STREAM_SETUP_TIMEOUT_MS)
			stream_close(s);
}

static void on_timer(uv_timer_t *t)
{
	grove_member_net_t *mn = t->data;
	reap_stale_streams(mn, now_ms());
	grove_member_tick(mn->m, now_ms());
	pump(mn);
}

static void on_ae_timer(uv_timer_t *t)
{
	grove_member_net_t *mn = t->data;
	grove_ae_tick(mn->ae, now_ms());
	pump(mn);
}

/* One output of a core.  Both cores number their outputs alike
 * (DATAGRAM, STREAM_OPEN, STREAM_FRAME, STREAM_CLOSE = 1..4). */
static void do_output(grove_member_net_t *mn, uint8_t layer, int kind, uint32_t stream_id,
		      const char *addr, const uint8_t *bytes, size_t len)
{
	mstream_t *s;
	switch (kind) {
	case GROVE_MEMBER_OUT_DATAGRAM:
		grove_gossip_net_send(mn->gossip, addr, bytes, len);
		break;
	case GROVE_MEMBER_OUT_STREAM_OPEN:
		stream_open(mn, layer, stream_id, addr);
		break;
	case GROVE_MEMBER_OUT_STREAM_FRAME:
		if ((s = stream_find(mn, layer, stream_id)) != NULL)
			stream_send_frame(s, bytes, len);
		break;
	case GROVE_MEMBER_OUT_STREAM_CLOSE:
		if ((s = stream_find(mn, layer, stream_id)) != NULL)
			stream_finish(s);
		break;
	}
}

_Static_assert((int)GROVE_AE_OUT_DATAGRAM == (int)GROVE_MEMBER_OUT_DATAGRAM &&
		       (int)GROVE_AE_OUT_STREAM_OPEN == (int)GROVE_MEMBER_OUT_STREAM_OPEN &&
		       (int)GROVE_AE_OUT_STREAM_FRAME == (int)GROVE_MEMBER_OUT_STREAM_FRAME &&
		       (int)GROVE_AE_OUT_STREAM_CLOSE == (int)GROVE_MEMBER_OUT_STREAM_CLOSE,
	       "both cores' output kinds are numbered alike");

static void rearm(uv_timer_t *t, uv_timer_cb cb, uint64_t deadline)
{
	uint64_t now = now_ms();
	uv_timer_start(t, cb, deadline > now ? deadline - now : 0, 0);
}

/* Drains outputs and events, then re-arms the timers.  Bounded by the
 * cores' queue limits (GROVE_MEMBER_OUT_MAX, GROVE_MEMBER_EVENTS_MAX,
 * GROVE_AE_OUT_MAX) and, for anti-entropy frames, by its credit window and
 * the write-queue mark that makes a stream unwritable. */
static void pump(grove_member_net_t *mn)
{
	if (mn->in_pump || mn->closing)
		return;
	mn->in_pump = true;
	grove_member_out_t out;
	grove_ae_out_t aout;
	grove_member_event_t ev;
	bool more = true;
	while (more) {
		more = false;
		while (grove_member_poll(mn->m, &out)) {
			do_output(mn, LAYER_MEMBER, out.kind, out.stream_id, out.addr, out.bytes, out.len);
			more = true;
		}
		while (grove_member_next_event(mn->m, &ev)) {
			log_event(mn, &ev);
			more = true;
		}
		while (grove_ae_poll(mn->ae, now_ms(), &aout)) {
			do_output(mn, LAYER_AE, aout.kind, aout.stream_id, aout.addr, aout.bytes, aout.len);
			more = true;
		}
	}
	rearm(&mn->timer, on_timer, grove_member_next_deadline(mn->m));
	rearm(&mn->ae_timer, on_ae_timer, grove_ae_next_deadline(mn->ae));
	mn->in_pump = false;
}

/* ---- start, members, leave, close ---- */

/* The envelope epoch: one more than the last start's, persisted first. */
static int next_epoch(grove_db_t *db, uint64_t *epoch)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	uint64_t e = 0;
	int rc = grove_db_meta_get(db, GROVE_EPOCH_META, &buf, &len);
	if (rc == 0 && len == 8)
		for (int i = 0; i < 8; i++)
			e = e << 8 | buf[i];
	grove_free(buf);
	if (rc < 0 && rc != GROVE_ENOTFOUND)
		return rc;
	e++;
	uint8_t out[8];
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(e >> (56 - 8 * i));
	rc = grove_db_meta_put(db, GROVE_EPOCH_META, out, sizeof(out));
	if (rc == 0)
		*epoch = e;
	return rc;
}

/* Resolves seed names to numeric "ip:port" (the form datagrams come from),
 * once at start-up. */
static size_t resolve_seeds(grove_member_net_t *mn, const grove_config_t *cfg)
{
	size_t n = 0;
	for (size_t i = 0; i < cfg->seed_count; i++) {
		char port[8], ip[64];
		snprintf(port, sizeof(port), "%u", cfg->seeds[i].port);
		/* same family as our gossip socket, or the seed is unreachable */
		int family = strchr(cfg->gossip.host, ':') ? AF_INET6 : AF_INET;
		struct addrinfo hints = {.ai_family = family, .ai_socktype = SOCK_DGRAM}, *ai = NULL;
		if (getaddrinfo(cfg->seeds[i].host, port, &hints, &ai) != 0 || !ai) {
			grove_log_warn(mn->log, "seed %s: cannot resolve; skipped", cfg->seeds[i].host);
			continue;
		}
		bool v6 = ai->ai_family == AF_INET6;
		if (v6)
			uv_ip6_name((struct sockaddr_in6 *)ai->ai_addr, ip, sizeof(ip));
		else
			uv_ip4_name((struct sockaddr_in *)ai->ai_addr, ip, sizeof(ip));
		snprintf(mn->seeds[n], sizeof(mn->seeds[n]), v6 ? "[%s]:%u" : "%s:%u", ip,
			 cfg->seeds[i].port);
		mn->seed_ptrs[n] = mn->seeds[n];
		n++;
		freeaddrinfo(ai);
	}
	return n;
}

/* Anti-entropy peers: random alive members (grove_ae_peers_fn). */
static size_t ae_peers(void *ctx, char (*addrs)[GROVE_AE_ADDR_MAX + 1], size_t max)
{
	grove_member_net_t *mn = ctx;
	grove_member_info_t info[GROVE_AE_FANOUT_MAX];
	size_t n = grove_member_random_alive(mn->m, info, max < GROVE_AE_FANOUT_MAX ? max : GROVE_AE_FANOUT_MAX);
	for (size_t i = 0; i < n; i++)
		snprintf(addrs[i], GROVE_AE_ADDR_MAX + 1, "%s", info[i].addr);
	return n;
}

/* The anti-entropy core: shares the sender (one sequence space) and the
 * peer book with membership; its rng is seeded afresh at every start. */
static int create_ae(grove_member_net_t *mn, const grove_config_t *cfg, char *err, size_t elen)
{
	grove_ae_config_t ac;
	uint64_t seed;
	grove_ae_config_init(&ac);
	ac.peers = ae_peers;
	ac.peers_ctx = mn;
	ac.interval_ms = cfg->gossip_interval_ms;
	ac.fanout = cfg->ae_fanout;
	ac.push = cfg->push_fanout > 0;
	if (ac.push)
		ac.push_fanout = cfg->push_fanout;
	grove_ae_secure_init(&mn->aesec, &mn->sender, mn->book);
	grove_ae_secure_config(&mn->aesec, &ac);
	randombytes_buf(&seed, sizeof(seed));
	grove_rng_seed(&mn->rng, seed);
	int rc = grove_ae_create(&ac, mn->db, &mn->rng, &mn->ae);
	if (rc < 0)
		snprintf(err, elen, "anti-entropy: %s", grove_strerror(rc));
	return rc;
}

/* Builds the core from the configuration and restores its saved state. */
static int create_core(grove_member_net_t *mn, const grove_config_t *cfg, char *err, size_t elen)
{
	grove_member_config_t mc;
	grove_member_config_init(&mc);
	mc.id = cfg->id;
	grove_hostport_format(&cfg->advertise, mn->addr, sizeof(mn->addr));
	mc.addr = mn->addr;
	mc.seeds = mn->seed_ptrs;
	mc.seed_count = resolve_seeds(mn, cfg);
	randombytes_buf(&mc.rng_seed, sizeof(mc.rng_seed));
	mc.probe_interval_ms = cfg->probe_interval_ms;
	mc.gossip_interval_ms = cfg->gossip_interval_ms;
	if (mc.probe_timeout_ms >= mc.probe_interval_ms)
		mc.probe_timeout_ms = mc.probe_interval_ms / 2;
	int rc = grove_member_secure_config(&mn->sec, &mc);
	if (rc == 0)
		rc = grove_member_create(&mc, &mn->m);
	if (rc < 0) {
		snprintf(err, elen, "membership: %s", grove_strerror(rc));
		return rc;
	}
	uint8_t *buf = NULL;
	size_t len = 0;
	if (grove_db_meta_get(mn->db, GROVE_MEMBER_META, &buf, &len) == 0 &&
	    grove_member_restore(mn->m, buf, len) < 0)
		grove_log_warn(mn->log, "membership: saved state unreadable; starting fresh");
	grove_free(buf);
	return 0;
}

int grove_member_net_start(grove_member_net_t **out, uv_loop_t *loop, const grove_config_t *cfg,
			   const grove_identity_t *identity, grove_db_t *db,
			   grove_gossip_net_t *gossip, grove_log_t *log, char *err, size_t elen)
{
	grove_member_net_t *mn = grove_calloc(1, sizeof(*mn));
	if (!mn)
		return GROVE_ENOMEM;
	*mn = (grove_member_net_t){.loop = loop, .identity = identity, .db = db, .gossip = gossip, .log = log};
	uint64_t epoch = 0;
	grove_peerbook_config_t bc = {.self = identity};
	int rc = next_epoch(db, &epoch);
	if (rc == 0)
		rc = grove_peerbook_create(&bc, &mn->book);
	if (rc < 0) {
		snprintf(err, elen, "membership: %s", grove_strerror(rc));
	} else {
		grove_sender_init(&mn->sender, identity, epoch);
		grove_member_secure_init(&mn->sec, &mn->sender, mn->book);
		rc = create_core(mn, cfg, err, elen);
		if (rc == 0)
			rc = create_ae(mn, cfg, err, elen);
	}
	if (rc == 0 && (rc = grove_member_join(mn->m, now_ms())) < 0)
		snprintf(err, elen, "membership: join: %s", grove_strerror(rc));
	if (rc < 0) {
		grove_ae_destroy(mn->ae);
		grove_member_destroy(mn->m);
		grove_peerbook_destroy(mn->book);
		grove_free(mn);
		return rc;
	}
	uv_timer_init(loop, &mn->timer);
	uv_timer_init(loop, &mn->leave_timer);
	uv_timer_init(loop, &mn->ae_timer);
	mn->timer.data = mn->leave_timer.data = mn->ae_timer.data = mn;
	grove_ae_tick(mn->ae, now_ms());
	gossip->cb = (grove_gossip_net_callbacks_t){.datagram = on_datagram, .stream = on_inbound, .ctx = mn};
	pump(mn);
	*out = mn;
	return 0;
}

size_t grove_member_net_members(void *ctx, grove_member_view_t *out, size_t max)
{
	grove_member_net_t *mn = ctx;
	size_t n = grove_member_count(mn->m), k = 0;
	for (size_t i = 0; i < n && k < max; i++) {
		grove_member_info_t info;
		if (grove_member_get(mn->m, i, &info) < 0)
			continue;
		snprintf(out[k].id, sizeof(out[k].id), "%s", info.id);
		snprintf(out[k].addr, sizeof(out[k].addr), "%s", info.addr);
		out[k].state = grove_member_state_name(info.state);
		out[k].incarnation = info.incarnation;
		k++;
	}
	return k;
}

static void info_line(grove_resp_buf_t *text, const char *name, uint64_t v)
{
	char buf[96];
	int n = snprintf(buf, sizeof(buf), "%s:%llu\r\n", name, (unsigned long long)v);
	if (n > 0 && (size_t)n < sizeof(buf))
		grove_resp_raw(text, buf, (size_t)n);
}

/* Anti-entropy counters, prefixed "ae_" (README, INFO gossip). */
static void ae_info(grove_member_net_t *mn, grove_resp_buf_t *text)
{
	static const char *phases[GROVE_AE_PH_COUNT] = {"digest", "tree", "keys", "states", "control", "push"};
	grove_ae_stats_t st;
	grove_ae_get_stats(mn->ae, &st);
	const struct {
		const char *name;
		uint64_t v;
	} lines[] = {
		{"ae_rounds", st.rounds}, {"ae_digests_sent", st.digests_sent},
		{"ae_digests_equal", st.digests_equal}, {"ae_digests_different", st.digests_different},
		{"ae_sessions_open", grove_ae_session_count(mn->ae)},
		{"ae_sessions_opened", st.sessions_opened}, {"ae_sessions_accepted", st.sessions_accepted},
		{"ae_sessions_done", st.sessions_done}, {"ae_sessions_refused", st.sessions_refused},
		{"ae_session_errors", st.session_errors}, {"ae_err_proto", st.err_proto},
		{"ae_err_decode", st.err_decode}, {"ae_err_limit", st.err_limit},
		{"ae_err_timeout", st.err_timeout}, {"ae_err_closed", st.err_closed},
		{"ae_err_nomem", st.err_nomem}, {"ae_keys_sent", st.keys_sent},
		{"ae_keys_received", st.keys_received}, {"ae_state_bytes_sent", st.state_bytes_sent},
		{"ae_state_bytes_received", st.state_bytes_received}, {"ae_frames_sent", st.frames_sent},
		{"ae_frames_received", st.frames_received}, {"ae_merged_changed", st.merged_changed},
		{"ae_merged_unchanged", st.merged_unchanged}, {"ae_rejected_decode", st.rejected_decode},
		{"ae_rejected_clock", st.rejected_clock}, {"ae_rejected_other", st.rejected_other},
		{"ae_keys_misplaced", st.keys_misplaced}, {"ae_states_oversize", st.states_oversize},
		{"ae_datagrams_dropped", st.datagrams_dropped}, {"ae_pushes_sent", st.pushes_sent},
		{"ae_push_keys_sent", st.push_keys_sent}, {"ae_push_keys_received", st.push_keys_received},
		{"ae_push_queue_drops", st.push_queue_drops}, {"ae_out_drops", st.out_drops},
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		info_line(text, lines[i].name, lines[i].v);
	for (int p = 0; p < GROVE_AE_PH_COUNT; p++) {
		char name[48];
		snprintf(name, sizeof(name), "ae_bytes_sent_%s", phases[p]);
		info_line(text, name, st.bytes_sent[p]);
		snprintf(name, sizeof(name), "ae_bytes_received_%s", phases[p]);
		info_line(text, name, st.bytes_received[p]);
	}
}

/* Datagram envelopes accepted and dropped by reason (both layers). */
static void drop_info(grove_member_net_t *mn, grove_resp_buf_t *text)
{
	const grove_drop_stats_t *st = grove_peerbook_stats(mn->book);
	info_line(text, "envelopes_accepted", st->accepted);
	for (int r = GROVE_DROP_NONE + 1; r < GROVE_DROP_COUNT; r++) {
		char name[64];
		snprintf(name, sizeof(name), "envelopes_dropped_%s", grove_drop_name((grove_drop_t)r));
		info_line(text, name, st->dropped[r]);
	}
	info_line(text, "envelopes_wrong_kind", mn->aesec.wrong_kind);
}

void grove_member_net_info(void *ctx, grove_resp_buf_t *text)
{
	grove_member_net_t *mn = ctx;
	grove_member_stats_t st;
	grove_member_get_stats(mn->m, &st);
	char buf[1024];
	int n = snprintf(buf, sizeof(buf),
			 "incarnation:%llu\r\njoined:%d\r\ndatagrams_in:%llu\r\ndatagrams_out:%llu\r\n"
			 "dropped_by_security:%llu\r\ndropped_malformed:%llu\r\nprobes:%llu\r\n"
			 "probe_failures:%llu\r\nsuspicions:%llu\r\nrefutes:%llu\r\npushpull_ok:%llu\r\n"
			 "pushpull_failed:%llu\r\nid_conflicts:%llu\r\nstreams_open:%zu\r\nknown_certificates:%zu\r\n",
			 (unsigned long long)grove_member_incarnation(mn->m), grove_member_is_joined(mn->m),
			 (unsigned long long)st.datagrams_in, (unsigned long long)st.datagrams_out,
			 (unsigned long long)st.drop_open, (unsigned long long)st.drop_decode,
			 (unsigned long long)st.probes, (unsigned long long)st.probe_fails,
			 (unsigned long long)st.suspicions, (unsigned long long)st.refutes,
			 (unsigned long long)st.pushpull_ok, (unsigned long long)st.pushpull_fail,
			 (unsigned long long)st.conflicts, mn->nstreams, grove_peerbook_count(mn->book));
	if (n > 0)
		grove_resp_raw(text, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
	ae_info(mn, text);
	drop_info(mn, text);
}

int grove_member_net_sync(void *ctx)
{
	grove_member_net_t *mn = ctx;
	size_t n = grove_ae_round_now(mn->ae, now_ms());
	pump(mn);
	return (int)n;
}

static void on_leave_done(uv_timer_t *t)
{
	grove_member_net_t *mn = t->data;
	void (*cb)(void *) = mn->leave_cb;
	mn->leave_cb = NULL;
	if (cb)
		cb(mn->leave_ctx);
}

void grove_member_net_leave(grove_member_net_t *mn, void (*cb)(void *ctx), void *ctx)
{
	uint64_t now = now_ms(), done_by = now;
	mn->leave_cb = cb;
	mn->leave_ctx = ctx;
	if (grove_member_leave(mn->m, now, &done_by) < 0)
		done_by = now;
	pump(mn);
	uv_timer_start(&mn->leave_timer, on_leave_done, done_by > now ? done_by - now : 0, 0);
}

static void on_handle_closed(uv_handle_t *h)
{
	grove_member_net_t *mn = h->data;
	if (--mn->handles_open == 0 && mn->close_cb)
		mn->close_cb(mn->close_ctx);
}

/* Saves the restart state, closes every stream and both timers; cb when
 * all are closed.  Then grove_member_net_destroy frees the core. */
void grove_member_net_close(grove_member_net_t *mn, void (*cb)(void *ctx), void *ctx)
{
	save_state(mn);
	mn->closing = true;
	mn->close_cb = cb;
	mn->close_ctx = ctx;
	mn->handles_open = 3 + (int)mn->nstreams; /* closing streams count too */
	for (mstream_t *s = mn->streams; s; s = s->next)
		if (!s->closed) {
			s->closed = true;
			uv_close((uv_handle_t *)s->tcp, on_stream_closed);
		}
	uv_close((uv_handle_t *)&mn->timer, on_handle_closed);
	uv_close((uv_handle_t *)&mn->leave_timer, on_handle_closed);
	uv_close((uv_handle_t *)&mn->ae_timer, on_handle_closed);
}

void grove_member_net_destroy(grove_member_net_t *mn)
{
	if (!mn)
		return;
	grove_ae_destroy(mn->ae);
	grove_member_destroy(mn->m);
	grove_peerbook_destroy(mn->book);
	grove_free(mn);
}
