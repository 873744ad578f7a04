/*
 * cluster_sockets.c - UDP + TCP gossip sockets on one address (see cluster_sockets.h).
 *
 * Datagrams are received into one 64 KiB buffer (libuv's suggestion) and
 * anything longer than GROVE_DATAGRAM_MAX is dropped and counted.
 * Sends copy the bytes into a request that is freed by the send callback.
 */
#include "node/cluster_sockets.h"

#include <netdb.h>
#include <stdio.h>
#include <string.h>

#include "grove/alloc.h"

typedef struct send_req {
	uv_udp_send_t req;
	size_t len;
	uint8_t bytes[];
} send_req_t;

static void on_udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	grove_cluster_sockets_t *g = h->data;
	(void)suggested;
	*buf = uv_buf_init((char *)g->rbuf, sizeof(g->rbuf));
}

static void addr_name(const struct sockaddr *sa, char *out, size_t len)
{
	char ip[64] = "?";
	int port = 0;
	if (sa->sa_family == AF_INET6) {
		uv_ip6_name((const struct sockaddr_in6 *)sa, ip, sizeof(ip));
		port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
		snprintf(out, len, "[%s]:%d", ip, port);
	} else {
		uv_ip4_name((const struct sockaddr_in *)sa, ip, sizeof(ip));
		port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
		snprintf(out, len, "%s:%d", ip, port);
	}
}

static void on_udp_recv(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *from,
			unsigned flags)
{
	grove_cluster_sockets_t *g = u->data;
	if (nread < 0 || !from)
		return; /* a read error, or (nread 0, no sender) nothing more to read */
	if (nread == 0 || (size_t)nread > GROVE_DATAGRAM_MAX || (flags & UV_UDP_PARTIAL) ||
	    !g->cb.datagram) {
		g->stats->gossip_dropped++;
		return;
	}
	g->stats->gossip_received++;
	char name[GROVE_ADDR_MAX];
	addr_name(from, name, sizeof(name));
	g->cb.datagram(g->cb.ctx, name, (const uint8_t *)buf->base, (size_t)nread);
}

static void free_handle(uv_handle_t *h)
{
	grove_free(h);
}

static void on_tcp_connection(uv_stream_t *l, int status)
{
	grove_cluster_sockets_t *g = l->data;
	if (status < 0)
		return;
	uv_tcp_t *t = grove_malloc(sizeof(*t));
	if (!t)
		return;
	uv_tcp_init(g->loop, t);
	if (uv_accept(l, (uv_stream_t *)t) < 0 || !g->cb.stream) {
		uv_close((uv_handle_t *)t, free_handle);
		return;
	}
	g->cb.stream(g->cb.ctx, t);
}

void grove_cluster_sockets_init(grove_cluster_sockets_t *g, uv_loop_t *loop, const grove_hostport_t *addr,
			   grove_log_t *log, grove_node_stats_t *stats)
{
	memset(g, 0, sizeof(*g));
	g->loop = loop;
	g->addr = *addr;
	g->log = log;
	g->stats = stats;
}

/* Resolves host:port into ss (numeric addresses without DNS). */
static int resolve(const grove_hostport_t *hp, int socktype, struct sockaddr_storage *ss)
{
	char port[8];
	snprintf(port, sizeof(port), "%u", hp->port);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = socktype,
				 .ai_flags = AI_NUMERICSERV}, *ai = NULL;
	if (getaddrinfo(hp->host, port, &hints, &ai) != 0 || !ai)
		return GROVE_ECONFIG;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return 0;
}

int grove_cluster_sockets_start(grove_cluster_sockets_t *g, char *err, size_t elen)
{
	char name[GROVE_HOST_MAX + 16];
	grove_hostport_format(&g->addr, name, sizeof(name));
	uv_udp_init(g->loop, &g->udp);
	uv_tcp_init(g->loop, &g->tcp);
	g->udp.data = g->tcp.data = g;
	g->handles_open = 2;
	struct sockaddr_storage ss;
	if (resolve(&g->addr, SOCK_DGRAM, &ss) < 0) {
		snprintf(err, elen, "gossip address %s: cannot resolve", name);
		return GROVE_ECONFIG;
	}
	g->source = ss;
	if (ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&g->source)->sin6_port = 0;
	else
		((struct sockaddr_in *)&g->source)->sin_port = 0;
	int rc = uv_udp_bind(&g->udp, (struct sockaddr *)&ss, 0);
	if (rc == 0)
		rc = uv_tcp_bind(&g->tcp, (struct sockaddr *)&ss, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&g->tcp, 128, on_tcp_connection);
	if (rc == 0)
		rc = uv_udp_recv_start(&g->udp, on_udp_alloc, on_udp_recv);
	if (rc < 0) {
		snprintf(err, elen, "gossip address %s (UDP and TCP): %s", name, uv_strerror(rc));
		return GROVE_EIO;
	}
	return 0;
}

const struct sockaddr *grove_cluster_sockets_source(const grove_cluster_sockets_t *g)
{
	return (const struct sockaddr *)&g->source;
}

static void on_sent(uv_udp_send_t *req, int status)
{
	send_req_t *s = (send_req_t *)req;
	(void)status;
	grove_free(s);
}

void grove_cluster_sockets_send(grove_cluster_sockets_t *g, const char *to, const uint8_t *bytes, size_t len)
{
	grove_hostport_t hp;
	struct sockaddr_storage ss;
	send_req_t *s = NULL;
	if (len > GROVE_DATAGRAM_MAX || grove_hostport_parse(to, &hp) < 0 ||
	    resolve(&hp, SOCK_DGRAM, &ss) < 0 || !(s = grove_malloc(sizeof(*s) + len))) {
		g->stats->gossip_dropped++;
		return;
	}
	memcpy(s->bytes, bytes, len);
	s->len = len;
	uv_buf_t b = uv_buf_init((char *)s->bytes, (unsigned)len);
	if (uv_udp_send(&s->req, &g->udp, &b, 1, (struct sockaddr *)&ss, on_sent) < 0) {
		grove_free(s);
		g->stats->gossip_dropped++;
		return;
	}
	g->stats->gossip_sent++;
}

static void on_closed(uv_handle_t *h)
{
	grove_cluster_sockets_t *g = h->data;
	if (--g->handles_open == 0 && g->close_cb)
		g->close_cb(g->close_ctx);
}

void grove_cluster_sockets_close(grove_cluster_sockets_t *g, void (*cb)(void *ctx), void *ctx)
{
	g->close_cb = cb;
	g->close_ctx = ctx;
	if (g->handles_open == 0) {
		if (cb)
			cb(ctx);
		return;
	}
	uv_close((uv_handle_t *)&g->udp, on_closed);
	uv_close((uv_handle_t *)&g->tcp, on_closed);
}
