/*
 * cluster_sockets.h - the gossip sockets of groved: one UDP socket and one TCP
 * listener bound to the same address and port (as Serf does).
 *
 * This module owns only the I/O: it binds, receives datagrams and accepts
 * streams, and hands them to callbacks; it sends datagrams to "host:port"
 * strings (resolved with getaddrinfo, numeric fast path).  The membership
 * core (gossip/member/member.h) and anti-entropy are bound to it by the daemon.
 * Until then every inbound datagram is counted and dropped and inbound
 * streams are closed: the seam is grove_cluster_sockets_callbacks_t.
 *
 * Lifecycle: grove_cluster_sockets_init (no I/O) / _start (bind) / _close (cb
 * once both handles are closed).  Loop thread only.
 */
#ifndef GROVE_CLUSTER_SOCKETS_H
#define GROVE_CLUSTER_SOCKETS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "node/resp_commands.h"
#include "node/config.h"
#include "node/log.h"
#include "gossip/output.h" /* GROVE_DATAGRAM_MAX */

typedef struct grove_cluster_sockets_callbacks {
	/* One datagram from `from` ("ip:port"); bytes valid during the call. */
	void (*datagram)(void *ctx, const char *from, const uint8_t *bytes, size_t len);
	/* An accepted stream; the callee takes ownership of the handle
	 * (allocated with grove_malloc, initialized, not yet reading).  NULL:
	 * streams are closed. */
	void (*stream)(void *ctx, uv_tcp_t *tcp);
	void *ctx;
} grove_cluster_sockets_callbacks_t;

typedef struct grove_cluster_sockets {
	uv_loop_t *loop;
	uv_udp_t udp;
	uv_tcp_t tcp;
	grove_hostport_t addr;
	struct sockaddr_storage source; /* addr with port 0: where outgoing streams bind */
	grove_log_t *log;
	grove_node_stats_t *stats;
	grove_cluster_sockets_callbacks_t cb;
	int handles_open;
	uint8_t rbuf[65536]; /* one datagram, consumed before the next read */
	void (*close_cb)(void *ctx);
	void *close_ctx;
} grove_cluster_sockets_t;

void grove_cluster_sockets_init(grove_cluster_sockets_t *g, uv_loop_t *loop, const grove_hostport_t *addr,
			   grove_log_t *log, grove_node_stats_t *stats);
int grove_cluster_sockets_start(grove_cluster_sockets_t *g, char *err, size_t err_len) GROVE_MUST_CHECK;
/* Sends one datagram (copied); a drop is counted, never an error. */
/* The local address (port 0) outgoing TCP streams bind to before they
 * connect, so that they leave from the node's own gossip address (firewall
 * rules and the cluster harness's partitions see the right source).  Valid
 * after a successful _start. */
const struct sockaddr *grove_cluster_sockets_source(const grove_cluster_sockets_t *g);
void grove_cluster_sockets_send(grove_cluster_sockets_t *g, const char *to, const uint8_t *bytes, size_t len);
void grove_cluster_sockets_close(grove_cluster_sockets_t *g, void (*cb)(void *ctx), void *ctx);

/* The address peers reach this node at, into cfg->advertise.host when
 * parse left it empty (a wildcard --gossip without --advertise): the
 * local address of the route to the first seed that resolves and routes
 * (a connected UDP socket's name; nothing is sent).  0 and, when derived,
 * why[] says from which seed; GROVE_ECONFIG with the fix in err when no
 * seed gives one.  Blocking (getaddrinfo): start-up only. */
int grove_cluster_advertise(grove_config_t *cfg, char *why, size_t why_len, char *err, size_t elen) GROVE_MUST_CHECK;

#endif
