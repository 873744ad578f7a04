/*
 * member_net.c - the membership core on libuv (see member_net.h).
 *
 * After every input (datagram, stream bytes, timer) pump() drains the
 * core's outputs (datagrams to send, streams to open, frames to send,
 * streams to close) and events (logged; PERSIST saves the restart state),
 * then re-arms the timer for the core's next deadline.  A stream is one TCP
 * connection carrying one session: frames the core sends before the
 * handshake completes are queued (u32 length + bytes) and sent once it is
 * established; the peer's verified certificate then goes into the peer
 * book, and a refused certificate ends the stream.
 */
#include "node/member_net.h"

#include <netdb.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "crdt/alloc.h"
#include "crdt/assert.h"
#include "gossip/member.h"
#include "gossip/member_secure.h"
#include "gossip/session.h"

typedef struct mstream mstream_t;

struct grove_member_net {
	uv_loop_t *loop;
	grove_member_t *m;
	grove_sender_t sender;
	grove_peerbook_t *book;
	grove_member_secure_t sec;
	const grove_identity_t *identity;
	grove_db_t *db;
	grove_gossip_net_t *gossip;
	grove_log_t *log;
	uv_timer_t timer, leave_timer;
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
	uint32_t id;
	grove_session_t *sess;
	grove_resp_buf_t queued; /* frames before the handshake: u32 len, bytes */
	int writes;
	bool established, core_closed, finishing, closed;
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
	if (!s->core_closed && s->id && !s->mn->closing)
		grove_member_stream_closed(s->mn->m, now_ms(), s->id);
	s->core_closed = true;
	uv_close((uv_handle_t *)s->tcp, on_stream_closed);
}

static void on_stream_write(uv_write_t *req, int status)
{
	mwrite_t *w = (mwrite_t *)req;
	mstream_t *s = w->s;
	grove_free(w);
	s->writes--;
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
	for (size_t off = 0; off + 4 <= s->queued.len && rc == 0;) {
		const uint8_t *p = s->queued.data + off;
		size_t n = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
		rc = grove_session_send(s->sess, p + 4, n);
		off += 4 + n;
	}
	s->queued.len = 0;
	if (rc == 0 && s->finishing)
		rc = grove_session_finish(s->sess);
	if (rc < 0)
		stream_close(s);
}

static void stream_send_frame(mstream_t *s, const uint8_t *bytes, size_t len)
{
	int rc = 0;
	if (s->established) {
		rc = grove_session_send(s->sess, bytes, len);
	} else {
		uint8_t hdr[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
				  (uint8_t)len};
		grove_resp_raw(&s->queued, hdr, 4);
		grove_resp_raw(&s->queued, bytes, len);
		rc = grove_resp_buf_failed(&s->queued) ? GROVE_ENOMEM : 0;
	}
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

static int on_frame(void *ctx, const uint8_t *frame, size_t len)
{
	mstream_t *s = ctx;
	if (!s->core_closed)
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

/* STREAM_OPEN: connect to addr and start a session as initiator. */
static void stream_open(grove_member_net_t *mn, uint32_t id, const char *addr)
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
		s->connect.data = s;
		if (uv_tcp_connect(&s->connect, tcp, ai->ai_addr, on_connect) < 0)
			stream_close(s);
	} else {
		grove_member_stream_closed(mn->m, now_ms(), id);
		if (tcp)
			uv_close((uv_handle_t *)tcp, free_tcp);
	}
	if (ai)
		freeaddrinfo(ai);
}

static mstream_t *stream_find(grove_member_net_t *mn, uint32_t id)
{
	for (mstream_t *s = mn->streams; s; s = s->next)
		if (s->id == id && !s->closed)
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
	if (!s || grove_member_stream_accept(mn->m, now_ms(), from, &s->id) < 0) {
		if (s)
			stream_close(s);
		else
			uv_close((uv_handle_t *)tcp, free_tcp);
		return;
	}
	uv_read_start((uv_stream_t *)tcp, on_stream_alloc, on_stream_read);
	pump(mn);
}

/* ---- the core's datagrams, outputs, events and timer ---- */

static void on_datagram(void *ctx, const char *from, const uint8_t *bytes, size_t len)
{
	grove_member_net_t *mn = ctx;
	if (mn->closing)
		return;
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

static void on_timer(uv_timer_t *t)
{
	grove_member_net_t *mn = t->data;
	grove_member_tick(mn->m, now_ms());
	pump(mn);
}

/* One output of the core. */
static void do_output(grove_member_net_t *mn, const grove_member_out_t *out)
{
	mstream_t *s;
	switch (out->kind) {
	case GROVE_MEMBER_OUT_DATAGRAM:
		grove_gossip_net_send(mn->gossip, out->addr, out->bytes, out->len);
		break;
	case GROVE_MEMBER_OUT_STREAM_OPEN:
		stream_open(mn, out->stream_id, out->addr);
		break;
	case GROVE_MEMBER_OUT_STREAM_FRAME:
		if ((s = stream_find(mn, out->stream_id)) != NULL)
			stream_send_frame(s, out->bytes, out->len);
		break;
	case GROVE_MEMBER_OUT_STREAM_CLOSE:
		if ((s = stream_find(mn, out->stream_id)) != NULL)
			stream_finish(s);
		break;
	}
}

/* Drains outputs and events, then re-arms the timer.  Bounded by the
 * core's queue limits (GROVE_MEMBER_OUT_MAX, GROVE_MEMBER_EVENTS_MAX). */
static void pump(grove_member_net_t *mn)
{
	if (mn->in_pump || mn->closing)
		return;
	mn->in_pump = true;
	grove_member_out_t out;
	grove_member_event_t ev;
	bool more = true;
	while (more) {
		more = false;
		while (grove_member_poll(mn->m, &out)) {
			do_output(mn, &out);
			more = true;
		}
		while (grove_member_next_event(mn->m, &ev)) {
			log_event(mn, &ev);
			more = true;
		}
	}
	uint64_t now = now_ms(), deadline = grove_member_next_deadline(mn->m);
	uv_timer_start(&mn->timer, on_timer, deadline > now ? deadline - now : 0, 0);
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
	}
	if (rc == 0 && (rc = grove_member_join(mn->m, now_ms())) < 0)
		snprintf(err, elen, "membership: join: %s", grove_strerror(rc));
	if (rc < 0) {
		grove_member_destroy(mn->m);
		grove_peerbook_destroy(mn->book);
		grove_free(mn);
		return rc;
	}
	uv_timer_init(loop, &mn->timer);
	uv_timer_init(loop, &mn->leave_timer);
	mn->timer.data = mn->leave_timer.data = mn;
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
	mn->handles_open = 2 + (int)mn->nstreams; /* closing streams count too */
	for (mstream_t *s = mn->streams; s; s = s->next)
		if (!s->closed) {
			s->closed = true;
			uv_close((uv_handle_t *)s->tcp, on_stream_closed);
		}
	uv_close((uv_handle_t *)&mn->timer, on_handle_closed);
	uv_close((uv_handle_t *)&mn->leave_timer, on_handle_closed);
}

void grove_member_net_destroy(grove_member_net_t *mn)
{
	if (!mn)
		return;
	grove_member_destroy(mn->m);
	grove_peerbook_destroy(mn->book);
	grove_free(mn);
}
