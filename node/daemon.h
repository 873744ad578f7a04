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
 *   5. the client port, then the gossip UDP+TCP port, bind.
 * Signals: SIGTERM and SIGINT stop gracefully (gossip leave, stop
 * accepting, finish the requests already received, flush replies, close
 * the store) and the call returns 0; SIGHUP reopens the log file.
 */
#ifndef GROVE_DAEMON_H
#define GROVE_DAEMON_H

#include "node/config.h"

#define GROVE_VERSION "0.1.0"
#define GROVE_META_NODE_ID "node_id" /* grove_db_meta key of the owner id */
#define GROVE_THREADPOOL_SIZE "16"   /* libuv workers for durable writes */

/* Runs the node until a stop signal; returns the process exit status. */
int grove_daemon_run(const grove_config_t *cfg);

#endif
