/*
 * monitor.h - the node's HTTP monitoring port (--metrics HOST:PORT):
 *   GET /metrics      Prometheus text exposition (node/metrics.h)
 *   GET /status.json  the status page's data (doc/monitoring.md)
 *   GET /             the status page (node/status.html, in the binary)
 * served by libmicrohttpd on its own thread.  Like the client port, it
 * binds loopback unless the node has a password (protected mode, checked
 * by the daemon); with a password every request needs HTTP Basic
 * authentication with that password (any user name).
 *
 * Lifecycle: grove_monitor_start (after the cluster started; borrowed
 * pointers must outlive the monitor) / grove_monitor_stop (stops the HTTP
 * thread, closes the timer; idempotent) / grove_monitor_destroy (once the
 * loop ran the close; NULL: no-op).  Loop thread for all three.
 */
#ifndef GROVE_NODE_MONITOR_H
#define GROVE_NODE_MONITOR_H

#include <uv.h>

#include "node/cluster.h"
#include "node/config.h"
#include "node/log.h"
#include "node/resp_commands.h"

#define GROVE_MONITOR_PERIOD_MS 1000 /* a snapshot (and a history sample) a second */
#define GROVE_MONITOR_CONNECTIONS_MAX 64
#define GROVE_MONITOR_TIMEOUT_S 10 /* idle HTTP connections are closed */

typedef struct grove_monitor grove_monitor_t;

typedef struct grove_monitor_config {
	uv_loop_t *loop;
	const grove_hostport_t *addr;
	const char *requirepass; /* "" or NULL: no authentication */
	grove_cmd_env_t *env;    /* INFO and the command counters */
	grove_cluster_t *cluster;
	grove_log_t *log;        /* recent warnings; start-up errors */
	const char *node_id, *version;
} grove_monitor_config_t;

/* Binds the address and starts serving.  0, or a negative code with a
 * message in err (nothing left running). */
int grove_monitor_start(const grove_monitor_config_t *cfg, grove_monitor_t **out, char *err,
			size_t err_len) GROVE_MUST_CHECK;
void grove_monitor_stop(grove_monitor_t *m);
void grove_monitor_destroy(grove_monitor_t *m);

/* The embedded status page (status_page.c, generated from node/status.html). */
extern const unsigned char grove_status_html[];
extern const size_t grove_status_html_len;

#endif
