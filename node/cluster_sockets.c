/*
 * cluster_sockets.c - UDP + TCP gossip sockets on one address (see cluster_sockets.h).
 *
 * Datagrams are received into one 64 KiB buffer (libuv's suggestion) and
 * anything longer than GROVE_DATAGRAM_MAX is dropped and counted.  The
 * kernel's receive buffer is raised to UDP_RCVBUF_WANT (4 MiB; Linux caps it
 * at net.core.rmem_max), so a burst, or a loop pass held up by a
 * busy machine, does not overflow the default ~200 KiB unseen: what the
 * kernel drops no INFO counter can count.
 * Sends copy the bytes into a request that is freed by the send callback.
 */
#include "node/cluster_sockets.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "grove/alloc.h"

typedef struct send_req {
	uv_udp_send_t req;
	size_t len;
	uint8_t bytes[];
} send_req_t;

#define UDP_RCVBUF_WANT (4 << 20)

/* Best effort: Linux caps the size at net.core.rmem_max without an error,
 * and a smaller buffer only means more kernel drops under bursts. */
static void udp_rcvbuf_raise(uv_udp_t *udp)
{
	int v = UDP_RCVBUF_WANT;
	(void)uv_recv_buffer_size((uv_handle_t *)udp, &v);
}

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
	if (rc == 0) {
		udp_rcvbuf_raise(&g->udp);
		rc = uv_udp_recv_start(&g->udp, on_udp_alloc, on_udp_recv);
	}
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

/* Local address of the route to seed hp, formatted into out. */
static int route_source(const grove_hostport_t *hp, int family, char *out, size_t cap, char *cause, size_t clen)
{
	char port[8];
	snprintf(port, sizeof(port), "%u", hp->port);
	struct addrinfo hints = {.ai_family = family, .ai_socktype = SOCK_DGRAM}, *ai = NULL;
	int rc = getaddrinfo(hp->host, port, &hints, &ai);
	if (rc != 0 || !ai) {
		snprintf(cause, clen, "seed %s: cannot resolve: %s", hp->host, gai_strerror(rc));
		return GROVE_ECONFIG;
	}
	struct sockaddr_storage ss;
	socklen_t n = sizeof(ss);
	int fd = socket(ai->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	rc = fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 || getsockname(fd, (struct sockaddr *)&ss, &n) < 0
		     ? GROVE_ECONFIG : 0;
	if (rc < 0)
		snprintf(cause, clen, "seed %s: no route: %s", hp->host, strerror(errno));
	else if (ss.ss_family == AF_INET6)
		uv_ip6_name((struct sockaddr_in6 *)&ss, out, cap);
	else
		uv_ip4_name((struct sockaddr_in *)&ss, out, cap);
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return rc;
}

int grove_cluster_advertise(grove_config_t *cfg, char *why, size_t why_len, char *err, size_t elen)
{
	why[0] = '\0';
	if (cfg->advertise.port == 0)
		cfg->advertise.port = cfg->gossip.port;
	if (cfg->advertise.host[0])
		return 0;
	if (!grove_hostport_is_wildcard(&cfg->gossip)) { /* a config not made by grove_config_parse */
		cfg->advertise = cfg->gossip;
		return 0;
	}
	char cause[256] = "no --seeds to derive it from";
	int family = strchr(cfg->gossip.host, ':') ? AF_INET6 : AF_INET;
	for (size_t i = 0; i < cfg->seed_count; i++) {
		char ip[64] = "";
		if (route_source(&cfg->seeds[i], family, ip, sizeof(ip), cause, sizeof(cause)) < 0)
			continue;
		grove_hostport_t hp = {.port = cfg->advertise.port};
		snprintf(hp.host, sizeof(hp.host), "%s", ip);
		if (grove_hostport_is_wildcard(&hp))
			continue;
		cfg->advertise = hp;
		char seed[GROVE_HOST_MAX + 8];
		grove_hostport_format(&cfg->seeds[i], seed, sizeof(seed));
		snprintf(why, why_len, "the address of the interface that routes to seed %s", seed);
		return 0;
	}
	char g[GROVE_HOST_MAX + 8];
	grove_hostport_format(&cfg->gossip, g, sizeof(g));
	snprintf(err, elen,
		 "--gossip %s is a wildcard address and no address to advertise could be derived (%s): set "
		 "--advertise HOST:PORT, the address the other nodes reach this node at",
		 g, cause);
	return GROVE_ECONFIG;
}
