/*
 * cluster_stream.c - the TCP stream table shared by the membership and
 * anti-entropy bindings (see cluster_int.h).
 *
 * A stream is one TCP connection carrying one session: frames a core sends
 * before the handshake completes are queued (u32 length + bytes) and sent
 * once it is established; the peer's verified certificate then goes into
 * the peer book, and a refused certificate ends the stream.  The
 * initiator's first frame is one layer byte (1 membership, 2 anti-entropy:
 * doc/wire_format.md, "Stream layer"); the responder hands the stream to
 * that core when it arrives.  Outbound connections bind the gossip
 * socket's source address.  Anti-entropy streams stop producing frames
 * while AE_WRITE_HIGH bytes wait in the write queue; connections without
 * a handshake (or layer) after STREAM_SETUP_TIMEOUT_MS are closed.
 * grove_cluster_output() carries out one output of either core.
 */
#include "node/cluster_int.h"

#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"

typedef struct mwrite {
	uv_write_t req;
	mstream_t *s;
	uint8_t bytes[];
} mwrite_t;


/* Tells the core of `layer` that its stream id ended. */
static void core_stream_closed(grove_cluster_t *mn, uint8_t layer, uint32_t id)
{
	if (layer == LAYER_AE)
		grove_ae_stream_closed(mn->ae, grove_cluster_now_ms(), id);
	else
		grove_member_stream_closed(mn->m, grove_cluster_now_ms(), id);
}

void grove_cluster_on_stream_closed(uv_handle_t *h)
{
	mstream_t *s = h->data;
	grove_cluster_t *mn = s->mn;
	uint64_t now = grove_cluster_now_ms();
	if (s->layer == LAYER_AE && s->established)
		grove_cluster_mon_session(mn, now > s->opened_ms ? now - s->opened_ms : 0);
	grove_list_remove(&s->link);
	mn->nstreams--;
	grove_channel_destroy(s->sess);
	grove_buf_close(&s->queued);
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
	if (s->outbound && s->connected && !s->established && !s->mn->closing)
		grove_cluster_seed_failed(s->mn, s->from, "%s",
					  s->sess && grove_channel_error(s->sess)
						  ? "secure handshake refused (see the seed's log: certificate or CA?)"
						  : "connection closed before the secure handshake");
	if (!s->core_closed && s->layer != LAYER_NONE && !s->mn->closing)
		core_stream_closed(s->mn, s->layer, s->id);
	s->core_closed = true;
	uv_close((uv_handle_t *)s->tcp, grove_cluster_on_stream_closed);
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
	grove_cluster_pump(s->mn);
}

/* Writes whatever the session has queued. */
static void stream_flush(mstream_t *s)
{
	const uint8_t *data;
	size_t len;
	grove_channel_pending(s->sess, &data, &len);
	if (len == 0 || s->closed)
		return;
	mwrite_t *w = grove_malloc(sizeof(*w) + len);
	if (!w) {
		stream_close(s);
		return;
	}
	memcpy(w->bytes, data, len);
	grove_channel_consume(s->sess, len);
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
	if (s->outbound)
		grove_cluster_seed_reached(s->mn, s->from);
	const grove_cert_t *peer = grove_channel_peer_cert(s->sess);
	/* our own id (another instance of this node?) is membership's to judge */
	int rc = peer ? grove_peerbook_add_session(s->mn->book, peer, grove_cluster_now_ms()) : GROVE_EAUTH;
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
		rc = grove_channel_send(s->sess, p + 4, n);
		off += 4 + n;
	}
	s->queued.len = 0;
	if (rc == 0 && s->blocked && !s->core_closed) { /* see stream_open */
		s->blocked = false;
		grove_ae_stream_set_writable(s->mn->ae, s->id, true);
	}
	if (rc == 0 && s->finishing)
		rc = grove_channel_finish(s->sess);
	if (rc < 0)
		stream_close(s);
}

/* Keeps a frame until the handshake completes. */
static int stream_queue(mstream_t *s, const uint8_t *bytes, size_t len)
{
	uint8_t hdr[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len};
	grove_buf_append(&s->queued, hdr, 4);
	grove_buf_append(&s->queued, bytes, len);
	return grove_buf_failed(&s->queued) ? GROVE_ENOMEM : 0;
}

static void stream_send_frame(mstream_t *s, const uint8_t *bytes, size_t len)
{
	int rc = s->established ? grove_channel_send(s->sess, bytes, len) : stream_queue(s, bytes, len);
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
	if (s->established && grove_channel_finish(s->sess) == 0)
		stream_flush(s);
	if (s->writes == 0 && (s->established || grove_channel_error(s->sess)))
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
	grove_cluster_t *mn = s->mn;
	const grove_cert_t *peer = grove_channel_peer_cert(s->sess);
	char addr[GROVE_MEMBER_ADDR_MAX + 1];
	int rc = GROVE_EDECODE;
	if (peer && len == 1 && frame[0] == LAYER_MEMBER) {
		rc = grove_member_stream_accept(mn->m, grove_cluster_now_ms(), s->from, &s->id);
		if (rc == 0) {
			s->layer = LAYER_MEMBER;
			rc = grove_member_stream_peer(mn->m, s->id, peer->node_id);
		}
	} else if (peer && len == 1 && frame[0] == LAYER_AE &&
		   strcmp(peer->node_id, mn->identity->cert.node_id) != 0) { /* never with our own id */
		peer_gossip_addr(s, peer->node_id, addr, sizeof(addr));
		rc = grove_ae_stream_accept(mn->ae, grove_cluster_now_ms(), addr, &s->id);
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
	/* A frame can arrive in the same bytes that end the handshake: check
	 * the peer in the book before any frame reaches a core. */
	if (!s->established && grove_channel_established(s->sess))
		stream_established(s);
	if (s->closed)
		return GROVE_EAUTH;
	if (s->layer == LAYER_NONE)
		stream_tag(s, frame, len);
	else if (s->layer == LAYER_AE)
		grove_ae_stream_recv(s->mn->ae, grove_cluster_now_ms(), s->id, frame, len);
	else
		grove_member_stream_recv(s->mn->m, grove_cluster_now_ms(), s->id, frame, len);
	return 0;
}

/* A handshake that failed on the peer's certificate: report it by the id
 * it presented (rate-limited by the peer book), never silently. */
static void refused_handshake(mstream_t *s)
{
	const grove_cert_t *c = grove_channel_refused_cert(s->sess);
	int rc = grove_channel_error(s->sess);
	grove_drop_t why = rc == GROVE_EEXPIRED ? GROVE_DROP_EXPIRED : rc == GROVE_EUNTRUSTED ? GROVE_DROP_UNTRUSTED
			   : rc == GROVE_EBADSIG ? GROVE_DROP_BADSIG : GROVE_DROP_NONE;
	if (c != NULL && why != GROVE_DROP_NONE)
		grove_peerbook_report(s->mn->book, c->node_id, why, c, grove_cluster_now_ms());
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
		int rc = grove_channel_eof(s->sess); /* truncated or clean: the stream ends */
		(void)rc;
		stream_close(s);
	} else if (nread > 0 && grove_channel_feed(s->sess, (const uint8_t *)buf->base, (size_t)nread) < 0) {
		refused_handshake(s);
		stream_close(s);
	} else if (!s->closed) {
		if (!s->established && grove_channel_established(s->sess))
			stream_established(s);
		if (!s->closed)
			stream_flush(s);
	}
	grove_cluster_pump(s->mn);
}

/* A stream record with a session in `role`; tcp is taken over. */
static mstream_t *stream_new(grove_cluster_t *mn, uv_tcp_t *tcp, grove_channel_role_t role)
{
	mstream_t *s = grove_calloc(1, sizeof(*s));
	grove_channel_config_t sc = {.self = mn->identity, .role = role, .now_ms = grove_cluster_now_ms(),
				     .on_frame = on_frame, .own_id_ok = true};
	if (!s || mn->nstreams >= GROVE_CLUSTER_STREAMS_MAX)
		goto fail;
	sc.frame_ctx = s;
	if (grove_channel_create(&sc, &s->sess) < 0)
		goto fail;
	s->mn = mn;
	s->tcp = tcp;
	s->opened_ms = grove_cluster_now_ms();
	tcp->data = s;
	grove_buf_init(&s->queued, 8u * GROVE_MEMBER_FRAME_MAX);
	grove_list_insert_head(&mn->streams, &s->link);
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
		if (status < 0)
			grove_cluster_seed_failed(s->mn, s->from, "connect: %s", uv_strerror(status));
		stream_close(s);
	} else {
		s->connected = true;
		uv_read_start((uv_stream_t *)s->tcp, on_stream_alloc, on_stream_read);
		stream_flush(s);
	}
	grove_cluster_pump(s->mn);
}

/* STREAM_OPEN: connect to addr and start a session as initiator; the
 * first frame names the layer. */
static void stream_open(grove_cluster_t *mn, uint8_t layer, uint32_t id, const char *addr)
{
	grove_hostport_t hp;
	char port[8];
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV}, *ai = NULL;
	uv_tcp_t *tcp = grove_malloc(sizeof(*tcp));
	mstream_t *s = NULL;
	grove_cluster_seed_contact(mn, addr); /* a seed's name is resolved again for the next contact */
	if (tcp)
		uv_tcp_init(mn->loop, tcp);
	if (tcp && grove_hostport_parse(addr, &hp) == 0 &&
	    snprintf(port, sizeof(port), "%u", hp.port) > 0 &&
	    getaddrinfo(hp.host, port, &hints, &ai) == 0 &&
	    (s = stream_new(mn, tcp, GROVE_CHANNEL_INITIATOR)) != NULL) {
		s->id = id;
		s->layer = layer;
		s->outbound = true;
		snprintf(s->from, sizeof(s->from), "%s", addr);
		s->connect.data = s;
		/* anti-entropy frames wait in the core, not in s->queued,
		 * until the handshake completes */
		if (layer == LAYER_AE) {
			s->blocked = true;
			grove_ae_stream_set_writable(mn->ae, id, false);
		}
		const struct sockaddr *src = grove_cluster_sockets_source(mn->gossip);
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

static mstream_t *stream_find(grove_cluster_t *mn, uint8_t layer, uint32_t id)
{
	grove_list_t *l, *tmp;
	GROVE_LIST_FOREACH_SAFE(l, tmp, &mn->streams) {
		mstream_t *s = GROVE_LIST_ENTRY(l, mstream_t, link);
		if (s->layer == layer && s->id == id && !s->closed)
			return s;
	}
	return NULL;
}

/* gossip_net's callback for an accepted TCP connection. */
void grove_cluster_on_inbound(void *ctx, uv_tcp_t *tcp)
{
	grove_cluster_t *mn = ctx;
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
	mstream_t *s = mn->closing ? NULL : stream_new(mn, tcp, GROVE_CHANNEL_RESPONDER);
	if (!s) {
		uv_close((uv_handle_t *)tcp, free_tcp);
		return;
	}
	snprintf(s->from, sizeof(s->from), "%s", from);
	uv_read_start((uv_stream_t *)tcp, on_stream_alloc, on_stream_read);
	grove_cluster_pump(mn);
}

/* Closes connections still without a handshake (or, inbound, without a
 * layer) after STREAM_SETUP_TIMEOUT_MS: unauthenticated peers cannot hold
 * the stream table. */
void grove_cluster_reap_streams(grove_cluster_t *mn, uint64_t now)
{
	grove_list_t *l, *tmp;
	GROVE_LIST_FOREACH_SAFE(l, tmp, &mn->streams) {
		mstream_t *s = GROVE_LIST_ENTRY(l, mstream_t, link);
		if (!s->closed && (!s->established || s->layer == LAYER_NONE) &&
		    now > s->opened_ms + STREAM_SETUP_TIMEOUT_MS)
			stream_close(s);
	}
}

/* One output of either core (layer says which). */
void grove_cluster_output(grove_cluster_t *mn, uint8_t layer, const grove_out_t *o)
{
	mstream_t *s;
	switch (o->kind) {
	case GROVE_OUT_DATAGRAM:
		grove_cluster_sockets_send(mn->gossip, o->addr, o->bytes, o->len);
		break;
	case GROVE_OUT_STREAM_OPEN:
		stream_open(mn, layer, o->stream_id, o->addr);
		break;
	case GROVE_OUT_STREAM_FRAME:
		if ((s = stream_find(mn, layer, o->stream_id)) != NULL)
			stream_send_frame(s, o->bytes, o->len);
		break;
	case GROVE_OUT_STREAM_CLOSE:
		if ((s = stream_find(mn, layer, o->stream_id)) != NULL)
			stream_finish(s);
		break;
	}
}
