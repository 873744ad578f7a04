/*
 * resp_server.h - the RESP client server on a libuv loop.
 *
 * Accepts TCP clients on one address, reads into each client's RESP
 * parser, executes requests through the command dispatcher (resp_commands.h)
 * and writes the replies back in request order.
 *
 * Pipelining and durability.  Requests a client has sent are executed in
 * batches (up to GROVE_SERVER_BATCH_MAX requests) of one kind.  A run of
 * deferrable writes (grove_cmd_deferrable: SET key value, INCR..., SADD,
 * SREM, HSET, HDEL, LPUSH, RPUSH, LPUSHX, RPUSHX) runs on the loop thread with deferred writes
 * (grove_db_defer_begin): each is atomic on its key at once, and all are
 * queued as one unit, and the client is held, its replies unsent and its
 * later requests unexecuted, until the unit is written.  Every unit queued
 * by one loop pass is written by one store write on the loop (the pass
 * write), before the next poll (an idle handle), as Redis writes its AOF
 * buffer before sleeping; in `batch` and `always` that write is fsynced
 * there, as Redis's appendfsync always fsyncs before sleeping (the loop
 * waits for it: a worker cost more wake-ups than it saved).  Then the
 * clients covered get their replies (a failed write closes them instead).
 * Released clients that run more requests and are held again are written
 * by further rounds of the same pass in none (up to
 * GROVE_SERVER_PASS_SYNCS_MAX, then by a sync work on a libuv worker), by
 * the next pass in batch and always (one fsync per pass).  While shutting
 * down, the sync work writes them.  Any other request ends the run and runs
 * after it is durable, so it sees the run's writes.  Other batches with a
 * write run on a libuv worker in `batch` and `always` (the client reads
 * nothing more until it completes), on the loop in `none`.  Replies keep
 * request order and every write is acknowledged only after the store
 * reported it durable.  Commands that touch loop-owned state
 * (GROVE_CMD_LOOP) end a batch and run on the loop.
 *
 * Blocking (WAIT).  A command that returns GROVE_CMD_BLOCK leaves the
 * client blocked in env->wait (node/wait.h): its later requests wait
 * unread in its parser (reading stops at GROVE_SERVER_BLOCKED_INPUT_BYTES,
 * so a disconnect is still seen), no idle timeout applies, and one wait
 * timer answers it when enough peers hold its writes or its timeout
 * passes, asking the peers for their digests (hooks.wait_ask) every
 * GROVE_WAIT_ASK_MS meanwhile.  Shutdown answers blocked clients at once.
 *
 * Limits: max clients (extra connections get an error and are closed),
 * max request bytes (protocol error: reply and close), per-client output
 * bytes (the client is disconnected when its unsent replies exceed it),
 * idle timeout (checked every second), and read back-pressure (a client's
 * socket is not read while its unsent replies exceed
 * GROVE_SERVER_OUTPUT_HIGH_BYTES or its batch is on a worker).
 *
 * Lifecycle: grove_resp_server_init (no I/O) / grove_resp_server_listen /
 * grove_resp_server_shutdown (stop accepting, finish requests already received,
 * flush replies, close every client; then the callback) / grove_resp_server_close.
 * Everything runs on the loop thread except batch execution.
 */
#ifndef GROVE_SERVER_H
#define GROVE_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <uv.h>

#include "base/list.h"
#include "node/resp_commands.h"
#include "node/config.h"
#include "node/log.h"

#define GROVE_SERVER_BATCH_MAX 256
#define GROVE_SERVER_OUTPUT_HIGH_BYTES (256u * 1024)
#define GROVE_SERVER_READ_BYTES 16384
#define GROVE_SERVER_BACKLOG 511
#define GROVE_SERVER_BLOCKED_INPUT_BYTES (64u * 1024) /* read while blocked */
#define GROVE_SERVER_PASS_SYNCS_MAX 8 /* none: store writes per loop pass on the loop (batch, always: 1) */
/* batches of deferrable writes one client runs before its held run is
 * written (GROVE_SERVER_BATCH_MAX each: 1,024 writes, a commit group) */
#define GROVE_SERVER_DEFER_BATCHES_MAX 4

typedef struct grove_resp_server_client grove_resp_server_client_t;

typedef struct grove_resp_server {
	uv_loop_t *loop;
	uv_tcp_t listener;
	uv_tcp_t tls_listener;          /* --tls-port (tls_port != 0) */
	uint16_t tls_port;
	struct grove_resp_tls *tls;     /* node/resp_tls.h; until shutdown */
	const grove_config_t *cfg;      /* borrowed: the TLS files */
	uv_timer_t idle_timer;
	uv_timer_t wait_timer; /* blocked clients (WAIT) */
	uv_timer_t pause_timer; /* CLIENT PAUSE: resumes the held clients */
	uint64_t pause_until_ms; /* 0: no pause */
	bool pause_all;          /* ALL (every command) rather than WRITE */
	/* MONITOR: lines from any command thread wait in mon_pending (at most
	 * GROVE_MONITOR_PENDING_BYTES; beyond, lines are dropped and counted)
	 * until mon_async appends them to every monitor's output */
	uv_async_t mon_async;
	pthread_mutex_t mon_mu;
	grove_buf_t mon_pending;
	bool mon_open;
	uint64_t mon_dropped;
	grove_cmd_env_t *env;
	grove_log_t *log;
	grove_node_stats_t *stats;
	grove_hostport_t addr;
	grove_durability_t durability;
	uint64_t max_request_bytes;
	uint64_t output_limit_bytes;
	uint32_t max_clients;
	uint32_t idle_timeout_s;
	grove_list_t clients; /* grove_resp_server_client_t, newest first */
	grove_list_t held;    /* clients held for a deferred run, in ticket order */
	uint64_t next_client_id;
	bool listening, shutting_down;
	int handles_open; /* listener + timers still to close */
	/* deferred runs: one sync (work or pass write) at a time writes every
	 * deferred write up to sync_target; sync_want is the newest ticket */
	uv_work_t sync_work;
	bool sync_busy;
	/* the pass write (on_pass_idle) is armed */
	uv_idle_t pass_idle;
	bool pass_armed;
	int sync_rc;
	uint64_t sync_target, sync_want;
	void (*shutdown_cb)(void *ctx);
	void *shutdown_ctx;
} grove_resp_server_t;

/* No I/O; env, log and stats are borrowed and must outlive the server. */
void grove_resp_server_init(grove_resp_server_t *srv, uv_loop_t *loop, grove_cmd_env_t *env,
		       grove_log_t *log, grove_node_stats_t *stats, const grove_config_t *cfg);
/* Binds and listens (names resolved with getaddrinfo).  A negative code
 * with a message in err on failure. */
int grove_resp_server_listen(grove_resp_server_t *srv, char *err, size_t err_len) GROVE_MUST_CHECK;
/* Graceful stop: cb(ctx) runs on the loop once every client is closed. */
void grove_resp_server_shutdown(grove_resp_server_t *srv, void (*cb)(void *ctx), void *ctx);
/* The port actually bound (for --client HOST:0). */
int grove_resp_server_port(const grove_resp_server_t *srv);

/* SIGHUP: reload the --tls-port certificate, key and CA files (nothing
 * without --tls-port); new TLS connections use them, open ones stay.
 * Logs the result: INFO reloaded (or unchanged), ERROR when a file is
 * refused (the running certificate stays). */
void grove_resp_server_reload_tls(grove_resp_server_t *srv);

#endif
