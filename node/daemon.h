/*
 * daemon.h - groved as a library call: start-up checks, the libuv loop with
 * the RESP server and the gossip sockets, signals, and an orderly stop.
 *
 * Start-up, in order (each failure logs why and returns exit status 1, or
 * 2 for a configuration that can never work):
 *   1. protected mode: a client address other than loopback needs
 *      --requirepass (status 2, with an explanation);
 *   2. the log (--log-file) opens;
 *   3. the node's certificate (--cert) is for --id, signed by the CA
 *      (--ca), not expired, and matches the secret key (--key);
 *   4. the data directory is created if missing (0700); the store lives in
 *      DATA/db; a store that records another node id is refused;
 *   5. the client port, then the gossip UDP+TCP port, then (--metrics) the
 *      HTTP monitoring port (node/monitor.h), bind.
 * Service manager (node/notify.h, when NOTIFY_SOCKET is set): READY=1 once
 * membership joined or GROVE_READY_JOIN_WAIT_MS passed; STOPPING=1 when a
 * stop begins.
 * Signals (grove_daemon_run): SIGTERM and SIGINT stop gracefully (gossip
 * leave, stop accepting, finish the requests already received, flush
 * replies, close the store) and the call returns 0; SIGHUP reopens the log
 * file.
 */
#ifndef GROVE_DAEMON_H
#define GROVE_DAEMON_H

#include <uv.h>

#include "node/config.h"

#define GROVE_VERSION "0.1.0"
#define GROVE_META_NODE_ID "node_id" /* grove_db_meta key of the owner id */
#define GROVE_THREADPOOL_SIZE "16"   /* libuv workers for durable writes */
#define GROVE_READY_JOIN_WAIT_MS 10000 /* READY=1 at the latest this long after start */

typedef struct grove_daemon grove_daemon_t;

/* Runs the node on its own loop until a stop signal; returns the process
 * exit status.  A loop that does not close (a handle left open) makes the
 * status 1. */
int grove_daemon_run(const grove_config_t *cfg);

/* groved --check-config: start-up steps 1 and 3 without starting (the
 * protected-mode rule; the certificate is for --id, signed by --ca, not
 * expired, matches --key, and key files have safe modes), and the data
 * directory is a writable directory or can be created.  Prints what is
 * wrong (or a one-line summary) and returns the exit status: 0 valid, 1 a
 * file is wrong, 2 an unsafe configuration.  Opens no port, creates and
 * changes nothing. */
int grove_daemon_check(const grove_config_t *cfg, const char *path);

/* The node as a library call on a caller's loop (tests run one in-process
 * this way; grove_daemon_run is these calls plus the signal handles):
 *   grove_daemon_start  start-up steps 1-5 above, no signal handlers; 0 and
 *                       *out, or the exit status (1 or 2) with nothing left
 *                       open or allocated (the loop is run until the
 *                       node's handles are closed);
 *   grove_daemon_stop   what SIGTERM does: leave, stop accepting, finish
 *                       the requests received, close; idempotent; the
 *                       node's handles are all closed once the loop runs
 *                       dry (uv_run returns);
 *   grove_daemon_destroy  after that: closes the store, frees *d.
 * cfg is borrowed until destroy. */
int grove_daemon_start(const grove_config_t *cfg, uv_loop_t *loop, grove_daemon_t **out) GROVE_MUST_CHECK;
void grove_daemon_stop(grove_daemon_t *d);
/* The RESP port actually bound (for --client HOST:0). */
int grove_daemon_client_port(const grove_daemon_t *d);
void grove_daemon_destroy(grove_daemon_t *d);

#endif
