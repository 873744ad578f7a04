/*
 * resp_server.c - the RESP client server (see resp_server.h for the model).
 *
 * Per client: a parser holding unprocessed input, `out` collecting replies
 * and `sending` holding the bytes of the one uv_write in flight (double
 * buffering: replies produced while a write is in flight go to `out` and
 * leave with the next write).  A batch of pipelined requests is collected
 * from the parser (their argument bytes stay in the parser's buffer, which
 * is not read into while the batch is out), then executed inline or on a
 * worker.  A client is freed only from its close callback, and only once no
 * worker holds it.
 */
#include "node/resp_server.h"

#include <netdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "node/resp_tls.h"

#define IDLE_CHECK_MS 1000
#define GROVE_MONITOR_PENDING_BYTES (8u << 20)

struct grove_resp_server_client {
	uv_tcp_t tcp;
	grove_resp_server_t *srv;
	grove_list_t link; /* in srv->clients */
	grove_cmd_client_t state;
	grove_resp_parser_t parser;
	grove_buf_t out, sending;
	uv_write_t wreq;
	uv_work_t work;
	/* the batch: request i has batch_argc[i] arguments in bargv/bargl */
	size_t batch_n, bargs_n, bargs_cap;
	size_t batch_argc[GROVE_SERVER_BATCH_MAX];
	/* request i's command (grove_cmd_lookup, once per request; NULL: unknown) */
	const grove_cmd_t *batch_cmd[GROVE_SERVER_BATCH_MAX];
	const uint8_t **bargv;
	size_t *bargl;
	bool loop_tail;       /* last request is a GROVE_CMD_LOOP command */
	bool batch_defer;     /* the batch is a run of deferrable writes */
	/* carry: one more request was collected (index batch_n, its arguments
	 * after the batch's) that starts the next batch (of the other kind);
	 * the parser is not read into while it is held */
	bool carry;
	size_t carry_argc, carry_at; /* its arguments: bargv[carry_at..+argc) */
	const grove_cmd_t *carry_cmd; /* its command (NULL: unknown) */
	/* held: the replies of a deferred run wait until the store has
	 * written ticket hold_seq as durably as the mode promises; the
	 * client is on srv->held meanwhile (hold_link) */
	bool held;
	uint64_t hold_seq;
	grove_list_t hold_link;
	grove_buf_t wout; /* replies produced by the worker */
	unsigned wresult;
	bool writing, busy, reading, closing, close_after_flush, proto_error;
	bool blocked;         /* in WAIT: a waiter in srv->env->wait */
	/* CLIENT PAUSE: a collected batch held until the pause ends (its
	 * arguments point into the parser, which is not read into meanwhile),
	 * or (ALL) nothing collected yet */
	bool pause_batch, pause_has_write, pause_wait;
	bool monitor; /* MONITOR: receives every command's line */
	uint64_t last_active_ms, created_ms;
	grove_resp_tls_conn_t *tls; /* --tls-port client: bytes pass through it (resp_tls.h) */
};

static void client_process(grove_resp_server_client_t *c);
static void client_close(grove_resp_server_client_t *c);
static void maybe_shutdown_done(grove_resp_server_t *srv);
static void client_block(grove_resp_server_client_t *c);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static uint64_t now_ms(const grove_resp_server_t *srv)
{
	return uv_now(srv->loop);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	grove_resp_server_client_t *c = h->data;
	uint8_t *p;
	size_t len;
	if (c->tls) {
		*buf = uv_buf_init((char *)grove_resp_tls_inbuf(c->tls), GROVE_TLS_READ_BYTES);
		return;
	}
	if (grove_resp_parser_space(&c->parser, GROVE_SERVER_READ_BYTES, &p, &len) < 0) {
		*buf = uv_buf_init(NULL, 0); /* read_cb gets UV_ENOBUFS */
		return;
	}
	*buf = uv_buf_init((char *)p, (unsigned)(len > (1u << 30) ? (1u << 30) : len));
}

/* Reads only while it can accept more: no batch out, replies drained, and
 * while blocked, or held for a deferred run's sync (plain TCP: the held
 * run's arguments are spent), only up to GROVE_SERVER_BLOCKED_INPUT_BYTES
 * (it still sees the client go away; a short hold does not stop and
 * restart reading, two epoll_ctl calls each). */
static void client_update_reading(grove_resp_server_client_t *c)
{
	bool capped = c->blocked || (c->held && !c->tls);
	bool want = !c->busy && !(c->held && c->tls) && !c->carry && !c->pause_batch && !c->pause_wait &&
		    !c->closing && !c->close_after_flush &&
		    !c->srv->shutting_down &&
		    c->out.len < GROVE_SERVER_OUTPUT_HIGH_BYTES &&
		    !(capped && grove_resp_parser_pending(&c->parser) >= GROVE_SERVER_BLOCKED_INPUT_BYTES);
	if (want == c->reading)
		return;
	c->reading = want;
	if (want)
		uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
	else
		uv_read_stop((uv_stream_t *)&c->tcp);
}

static void on_write(uv_write_t *req, int status)
{
	grove_resp_server_client_t *c = req->data;
	c->writing = false;
	c->srv->stats->net_output_bytes += c->sending.len;
	c->sending.len = 0;
	if (c->closing)
		return;
	if (status < 0) {
		client_close(c);
		return;
	}
	client_process(c);
}

/* TLS: encrypts `out` into the connection and moves every byte it has to
 * send (handshake records, replies, alerts) into `sending`.  1 when there
 * is something to write, 0 when not, negative when the client was closed. */
static int tls_seal(grove_resp_server_client_t *c)
{
	if (c->out.len > 0 && grove_resp_tls_ready(c->tls)) {
		if (grove_resp_tls_write(c->tls, c->out.data, c->out.len) < 0) {
			client_close(c);
			return -1;
		}
		c->out.len = 0;
	}
	c->sending.len = 0;
	grove_resp_tls_drain(c->tls, &c->sending);
	if (grove_buf_failed(&c->sending)) {
		client_close(c);
		return -1;
	}
	return c->sending.len > 0;
}

/* Writes everything in `out` unless a write is in flight: first straight
 * to the socket (uv_try_write: no request, no completion callback, no
 * epoll_ctl), what is left with a uv_write.  Returns true when `out` went
 * out whole. */
static bool client_flush(grove_resp_server_client_t *c)
{
	if (c->writing || c->held || c->closing)
		return false;
	if (c->tls) {
		if (tls_seal(c) <= 0)
			return false;
	} else {
		if (c->out.len == 0)
			return false;
		uv_buf_t t = uv_buf_init((char *)c->out.data, (unsigned)c->out.len);
		int n = uv_try_write((uv_stream_t *)&c->tcp, &t, 1);
		if (n < 0 && n != UV_EAGAIN && n != UV_ENOSYS) {
			client_close(c);
			return false;
		}
		if (n > 0) {
			c->srv->stats->net_output_bytes += (uint64_t)n;
			if ((size_t)n == c->out.len) {
				c->out.len = 0;
				return true;
			}
			memmove(c->out.data, c->out.data + n, c->out.len - (size_t)n);
			c->out.len -= (size_t)n;
		}
		grove_buf_t sw = c->sending;
		c->sending = c->out;
		c->out = sw;
	}
	uv_buf_t b = uv_buf_init((char *)c->sending.data, (unsigned)c->sending.len);
	c->wreq.data = c;
	int rc = uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, on_write);
	if (rc < 0) {
		client_close(c);
		return false;
	}
	c->writing = true;
	return false;
}

/* Appends request (argc, argv, argl) to the batch arrays. */
static bool batch_push(grove_resp_server_client_t *c, const grove_resp_request_t *req)
{
	if (c->bargs_n + req->argc > c->bargs_cap) {
		size_t ncap = c->bargs_cap ? c->bargs_cap : 64;
		while (ncap < c->bargs_n + req->argc)
			ncap *= 2;
		const uint8_t **v = grove_realloc((void *)c->bargv, ncap * sizeof(*v));
		if (!v)
			return false;
		c->bargv = v;
		size_t *l = grove_realloc(c->bargl, ncap * sizeof(*l));
		if (!l)
			return false;
		c->bargl = l;
		c->bargs_cap = ncap;
	}
	memcpy(c->bargv + c->bargs_n, req->argv, req->argc * sizeof(*req->argv));
	memcpy(c->bargl + c->bargs_n, req->argl, req->argc * sizeof(*req->argl));
	c->bargs_n += req->argc;
	c->batch_argc[c->batch_n++] = req->argc;
	return true;
}

/* Starts a batch: empty, or with the carried request moved to the front
 * (batch_done has reset the counts; the arrays still hold it).
 * Returns the carried request's flags (0 when none). */
static unsigned batch_start(grove_resp_server_client_t *c)
{
	if (!c->carry) {
		c->batch_n = c->bargs_n = 0;
		return 0;
	}
	size_t argc = c->carry_argc;
	memmove((void *)c->bargv, c->bargv + c->carry_at, argc * sizeof(*c->bargv));
	memmove(c->bargl, c->bargl + c->carry_at, argc * sizeof(*c->bargl));
	c->batch_argc[0] = argc;
	c->batch_cmd[0] = c->carry_cmd;
	c->batch_n = 1;
	c->bargs_n = argc;
	c->carry = false;
	c->batch_defer = grove_cmd_deferrable(c->carry_cmd, argc);
	return c->carry_cmd ? grove_cmd_flags(c->carry_cmd) : 0;
}

/* Collects up to GROVE_SERVER_BATCH_MAX parsed requests of one kind:
 * deferrable writes (grove_cmd_deferrable), or anything else (ended by a
 * GROVE_CMD_LOOP command); a request of the other kind is carried over to
 * the next batch.  Sets *has_write.  A protocol error ends the batch and
 * sets c->proto_error. */
static void batch_collect(grove_resp_server_client_t *c, bool *has_write)
{
	c->loop_tail = false;
	unsigned flags = batch_start(c);
	*has_write = (flags & GROVE_CMD_WRITE) != 0;
	if (flags & GROVE_CMD_LOOP) {
		c->loop_tail = true;
		return;
	}
	while (c->batch_n < GROVE_SERVER_BATCH_MAX) {
		grove_resp_request_t req;
		int rc = grove_resp_parser_next(&c->parser, &req);
		if (rc == 0)
			return;
		if (rc < 0 || !batch_push(c, &req)) {
			c->proto_error = true;
			return;
		}
		const grove_cmd_t *cmd = grove_cmd_lookup(req.argv[0], req.argl[0]);
		flags = cmd ? grove_cmd_flags(cmd) : 0;
		c->batch_cmd[c->batch_n - 1] = cmd;
		bool defer = grove_cmd_deferrable(cmd, req.argc);
		if (c->batch_n == 1) {
			c->batch_defer = defer;
		} else if (defer != c->batch_defer) {
			c->batch_n--;
			c->bargs_n -= req.argc;
			c->carry_at = c->bargs_n;
			c->carry_argc = req.argc;
			c->carry = true;
			c->carry_cmd = cmd;
			return;
		}
		*has_write |= (flags & GROVE_CMD_WRITE) != 0;
		if (flags & GROVE_CMD_LOOP) {
			c->loop_tail = true;
			return;
		}
	}
}

/* Pipelined point reads.  Those of set members and hash fields (SISMEMBER,
 * HGET, HEXISTS) are hinted a group of PREFETCH_GROUP requests at a time,
 * before the group's first one runs: the hint of each (grove_db_read_hint),
 * then the element cache slot of each (grove_db_read_prefetch_slots), then
 * the cached record of each (grove_db_read_prefetch_entries), so that a read
 * of a key larger than the CPU's caches does not wait for memory twice
 * per request.  Each step for the whole group at once because a prefetch
 * of a random line of a large cache costs time of its own (its page
 * walk, it seems: doc/storage_format.md), and such waits overlap only
 * when few instructions part them: hinted one request at a time ahead of
 * each, the prefetch instructions took 10% of a SISMEMBER's CPU at 10^6
 * members (perf: 16% with the entry's), 6.6% at 10.  A ZRANK has three
 * steps (grove_db_zrank_prefetch: its score hint, its leaf's place, then
 * the leaf), each taken a step's distance ahead of it, the first
 * PREFETCH_RANK_AHEAD requests ahead. */
#define PREFETCH_GROUP GROVE_DB_PREFETCH_READS
#define PREFETCH_RANK_AHEAD 3

/* Request i of the batch, whose arguments start at bargv[at]. */
static grove_resp_request_t batch_req(const grove_resp_server_client_t *c, size_t i, size_t at)
{
	return (grove_resp_request_t){c->batch_argc[i], c->bargv + at, c->bargl + at};
}

/* The step of ZRANK i's prefetch that is due ahead requests before it
 * runs: its first (returns its hint) at PREFETCH_RANK_AHEAD, then the
 * next ones.  Other requests: nothing. */
static uint64_t rank_prefetch(grove_resp_server_client_t *c, const size_t *at, grove_type_t t,
			      size_t i, size_t ahead, uint64_t hint)
{
	if (t != GROVE_TYPE_ZSET)
		return hint;
	grove_db_t *db = c->srv->env->db;
	grove_resp_request_t req = batch_req(c, i, at[i]);
	if (ahead == PREFETCH_RANK_AHEAD)
		return grove_db_zrank_prefetch(db, req.argv[1], req.argl[1], req.argv[2], req.argl[2]);
	/* step 1 two ahead, step 2 one ahead */
	grove_db_zrank_prefetch_step(db, req.argv[1], req.argl[1], hint,
				     (int)(PREFETCH_RANK_AHEAD - ahead));
	return hint;
}

/* The element reads (set members, hash fields) among requests
 * [from, to): every hint, then every slot, then every entry. */
static void group_prefetch(grove_resp_server_client_t *c, const size_t *at,
			   const grove_type_t *read, size_t from, size_t to)
{
	GROVE_ASSERT(to - from <= PREFETCH_GROUP);
	grove_db_t *db = c->srv->env->db;
	uint64_t hint[PREFETCH_GROUP];
	for (size_t i = from; i < to; i++) {
		hint[i - from] = 0;
		if (read[i] != GROVE_TYPE_SET && read[i] != GROVE_TYPE_MAP)
			continue;
		grove_resp_request_t req = batch_req(c, i, at[i]);
		hint[i - from] = grove_db_read_hint(db, req.argv[1], req.argl[1], read[i], req.argv[2],
						    req.argl[2]);
	}
	grove_db_read_prefetch_slots(db, hint, to - from);
	grove_db_read_prefetch_entries(db, hint, to - from);
}

/* Executes batch requests [from, to) into out; stops after a CLOSE. */
static unsigned batch_run(grove_resp_server_client_t *c, size_t from, size_t to, grove_buf_t *out)
{
	GROVE_ASSERT(from <= to && to <= c->batch_n && to <= GROVE_SERVER_BATCH_MAX);
	size_t at[GROVE_SERVER_BATCH_MAX];
	grove_type_t read[GROVE_SERVER_BATCH_MAX]; /* grove_cmd_point_read of each */
	uint64_t hint[GROVE_SERVER_BATCH_MAX];
	size_t arg = 0, reads = 0;
	for (size_t i = 0; i < to; i++) {
		at[i] = arg;
		arg += c->batch_argc[i];
		read[i] = i >= from ? grove_cmd_point_read(c->batch_cmd[i], c->batch_argc[i]) : GROVE_TYPE_NONE;
		reads += read[i] != GROVE_TYPE_NONE;
	}
	bool ahead = reads >= 2; /* a lone read has nothing to overlap with */
	/* the first ZRANKs' first steps (each takes the step it is due at its
	 * distance, from the farthest in) */
	for (size_t i = from; ahead && i < to && i < from + PREFETCH_RANK_AHEAD; i++) {
		hint[i] = 0;
		for (size_t d = PREFETCH_RANK_AHEAD; d > i - from; d--)
			hint[i] = rank_prefetch(c, at, read[i], i, d, hint[i]);
	}
	unsigned result = 0;
	uint64_t now_us = 0; /* one clock read per request (grove_cmd_exec_found) */
	for (size_t i = from; i < to && !(result & GROVE_CMD_CLOSE); i++) {
		if (ahead && (i - from) % PREFETCH_GROUP == 0)
			group_prefetch(c, at, read, i, to - i < PREFETCH_GROUP ? to : i + PREFETCH_GROUP);
		for (size_t d = PREFETCH_RANK_AHEAD; ahead && d >= 1; d--)
			if (i + d < to)
				hint[i + d] = rank_prefetch(c, at, read[i + d], i + d, d,
							    d == PREFETCH_RANK_AHEAD ? 0 : hint[i + d]);
		grove_resp_request_t req = batch_req(c, i, at[i]);
		result |= grove_cmd_exec_found(c->srv->env, &c->state, &req, c->batch_cmd[i], out,
					       &now_us);
	}
	return result;
}

static void work_run(uv_work_t *w)
{
	grove_resp_server_client_t *c = w->data;
	size_t end = c->loop_tail ? c->batch_n - 1 : c->batch_n;
	c->wresult = batch_run(c, 0, end, &c->wout);
	GROVE_ASSERT(!(c->wresult & GROVE_CMD_BLOCK)); /* only loop commands block */
}

/* After a batch: counts it, handles QUIT and protocol errors. */
static void batch_done(grove_resp_server_client_t *c, unsigned result)
{
	grove_resp_server_t *srv = c->srv;
	srv->stats->total_commands += c->batch_n;
	c->batch_n = c->bargs_n = 0;
	if (result & GROVE_CMD_CLOSE)
		c->close_after_flush = true;
	if (result & GROVE_CMD_BLOCK)
		client_block(c);
	if (c->proto_error && !c->close_after_flush) {
		const char *msg = grove_resp_parser_error(&c->parser);
		grove_resp_error(&c->out, msg[0] ? msg : "ERR Protocol error: out of memory");
		srv->stats->protocol_errors++;
		grove_log_info(srv->log, "client %llu %s: %s, closing", (unsigned long long)c->state.id,
			       c->state.addr, msg);
		c->close_after_flush = true;
	}
}

static void work_after(uv_work_t *w, int status)
{
	grove_resp_server_client_t *c = w->data;
	GROVE_ASSERT(status == 0);
	c->busy = false;
	grove_buf_append(&c->out, c->wout.data, c->wout.len);
	bool failed = grove_buf_failed(&c->wout);
	c->wout.len = 0;
	c->wout.failed = false;
	unsigned result = c->wresult;
	if (c->loop_tail && !(result & GROVE_CMD_CLOSE) && !c->closing)
		result |= batch_run(c, c->batch_n - 1, c->batch_n, &c->out);
	if (failed)
		c->out.failed = true;
	batch_done(c, result);
	if (c->closing) {
		c->closing = false; /* deferred close: do it now */
		client_close(c);
		return;
	}
	client_process(c);
}

/* ---- deferred runs: a client's pipelined writes as one store write ---- */

static bool pause_holds(const grove_resp_server_t *srv, bool has_write);
static bool pause_resume(grove_resp_server_client_t *c);

static void sync_start(grove_resp_server_t *srv);
static void sync_start_work(grove_resp_server_t *srv);

/* The sync work (a libuv worker): writes every deferred write up to
 * sync_target with one store write per group (fsynced unless none):
 * what the pass write leaves (none) or shutdown's last runs. */
static void sync_run(uv_work_t *w)
{
	grove_resp_server_t *srv = w->data;
	srv->sync_rc = grove_db_defer_sync(srv->env->db, srv->sync_target);
}

/* Holds c until ticket seq is durable: behind every client held before
 * (tickets come from the loop thread in order). */
static void client_hold(grove_resp_server_client_t *c, uint64_t seq)
{
	grove_resp_server_t *srv = c->srv;
	GROVE_ASSERT(!c->held && seq > 0);
	if (!grove_list_empty(&srv->held))
		GROVE_ASSERT(GROVE_LIST_ENTRY(srv->held.prev, grove_resp_server_client_t, hold_link)
				     ->hold_seq <= seq);
	c->held = true;
	c->hold_seq = seq;
	grove_list_insert_tail(&srv->held, &c->hold_link);
}

static void client_unhold(grove_resp_server_client_t *c)
{
	c->held = false;
	grove_list_remove(&c->hold_link);
}

/* Releases the clients whose deferred writes the sync up to sync_target
 * covered: their replies go out now; if it failed, those not durable are
 * closed without them (nothing unacknowledged is claimed). */
static void sync_release(grove_resp_server_t *srv)
{
	uint64_t target = srv->sync_target; /* released clients may start the next */
	uint64_t durable = grove_db_defer_durable(srv->env->db);
	if (srv->sync_rc)
		grove_log_error(srv->log, "store write failed: %s; clients waiting for it are closed",
				grove_strerror(srv->sync_rc));
	/* srv->held is in ticket order: the clients up to target lead it, and
	 * one released and held again goes behind them (a later ticket) */
	while (!grove_list_empty(&srv->held)) {
		grove_resp_server_client_t *c =
			GROVE_LIST_ENTRY(srv->held.next, grove_resp_server_client_t, hold_link);
		GROVE_ASSERT(c->held && !c->closing);
		if (c->hold_seq > target)
			break;
		client_unhold(c);
		if (c->hold_seq <= durable)
			client_process(c);
		else
			client_close(c);
	}
}

/* The sync work's completion: releases its clients, starts the next. */
static void sync_after(uv_work_t *w, int status)
{
	grove_resp_server_t *srv = w->data;
	GROVE_ASSERT(status == 0);
	srv->sync_busy = false;
	sync_release(srv);
	sync_start(srv);
	maybe_shutdown_done(srv);
}

/* The pass write: the deferred runs of one loop pass are written by one
 * store write on the loop thread, before the next poll (an idle handle: it
 * also keeps that poll from blocking), as Redis writes its AOF buffer once
 * before sleeping (and in appendfsync always fsyncs it there); then their
 * clients are released.  Released clients may run more buffered requests
 * and be held again.  none: up to GROVE_SERVER_PASS_SYNCS_MAX rounds here,
 * the rest by the sync work.  batch and always: one round (one fsync) per
 * pass, the rest by the next pass, after a poll that does not block (it
 * adds what other clients sent meanwhile to that group).  An fsync on the
 * loop blocks it as Redis's does; handed to a worker, it cost more than it
 * saved unpipelined: the loop then woke for nearly every request that
 * arrived during the fsync, plus the worker's wake-up and completion
 * (about 0.5 syscalls and 0.25 context switches more per request than
 * redis-server with appendfsync always, whose count this matches). */
static void on_pass_idle(uv_idle_t *h)
{
	grove_resp_server_t *srv = h->data;
	uv_idle_stop(h);
	srv->pass_armed = false;
	int rounds = srv->durability == GROVE_DURABILITY_NONE ? GROVE_SERVER_PASS_SYNCS_MAX : 1;
	for (int round = 0; round < rounds && !srv->sync_busy && srv->sync_want > srv->sync_target;
	     round++) {
		srv->sync_target = srv->sync_want;
		srv->sync_rc = grove_db_defer_sync(srv->env->db, srv->sync_target);
		sync_release(srv);
	}
	if (srv->pass_armed && srv->durability == GROVE_DURABILITY_NONE) {
		/* re-armed by a released client: the work has it */
		uv_idle_stop(h);
		srv->pass_armed = false;
	}
	if (!srv->pass_armed)
		sync_start_work(srv);
	maybe_shutdown_done(srv);
}

/* Starts a sync up to sync_want on the libuv worker unless one runs (its
 * completion starts the next: groups form while a sync is in flight). */
static void sync_start_work(grove_resp_server_t *srv)
{
	if (srv->sync_busy || srv->sync_want <= srv->sync_target)
		return;
	srv->sync_target = srv->sync_want;
	srv->sync_work.data = srv;
	srv->sync_busy = true;
	if (uv_queue_work(srv->loop, &srv->sync_work, sync_run, sync_after) < 0) {
		sync_run(&srv->sync_work); /* no worker: on the loop */
		sync_after(&srv->sync_work, 0);
	}
}

/* Starts what syncs the deferred writes up to sync_want: the pass write
 * once the listener's handles are open and no sync work runs, else the
 * sync work (shutting down, or after a none pass's last round). */
static void sync_start(grove_resp_server_t *srv)
{
	if (srv->sync_want <= srv->sync_target)
		return;
	if (srv->listening && !srv->sync_busy) {
		if (!srv->pass_armed) {
			uv_idle_start(&srv->pass_idle, on_pass_idle);
			srv->pass_armed = true;
		}
		return;
	}
	sync_start_work(srv);
}

/* Runs a batch of deferrable writes with deferred durability: their
 * store writes are queued, not waited for, and the client is held,
 * replies unsent, until they are written as the mode promises (by the
 * pass write, fsynced in batch and always; by the sync work after a none
 * pass's last round or while shutting down).  Returns true when held. */
static bool batch_run_deferred(grove_resp_server_client_t *c)
{
	grove_resp_server_t *srv = c->srv;
	grove_db_t *db = srv->env->db;
	GROVE_ASSERT(grove_db_defer_begin(db) == 0); /* only the loop thread defers */
	unsigned result = batch_run(c, 0, c->batch_n, &c->out);
	/* the client's next batches, while deferrable, join the run (up to
	 * GROVE_SERVER_DEFER_BATCHES_MAX): one store write for all, each
	 * record once (a sorted set's count records: once per run, not once
	 * per 256 writes); a batch of another kind waits for the release as
	 * a paused one does (pause_batch) */
	bool kept = false;
	for (unsigned n = 1; n < GROVE_SERVER_DEFER_BATCHES_MAX && !(result & GROVE_CMD_CLOSE) &&
			     !c->proto_error && !c->carry && c->out.len < GROVE_SERVER_OUTPUT_HIGH_BYTES &&
			     grove_resp_parser_pending(&c->parser) > 0;
	     n++) {
		batch_done(c, result);
		result = 0;
		bool has_write;
		batch_collect(c, &has_write);
		if (c->batch_n == 0 && !c->proto_error)
			break; /* an incomplete request */
		if (!c->batch_defer || c->proto_error || pause_holds(srv, has_write)) {
			c->pause_batch = kept = true;
			c->pause_has_write = has_write;
			break;
		}
		result = batch_run(c, 0, c->batch_n, &c->out);
	}
	uint64_t ticket = grove_db_defer_end(db);
	if (!kept)
		batch_done(c, result);
	if (ticket == 0) /* nothing queued: the kept batch may run now */
		return kept && pause_resume(c);
	client_hold(c, ticket);
	if (ticket > srv->sync_want)
		srv->sync_want = ticket;
	sync_start(srv);
	return c->held;
}

/* Runs one collected batch; returns true if it went to a worker or the
 * client waits for durability. */
static bool batch_dispatch(grove_resp_server_client_t *c, bool has_write)
{
	grove_resp_server_t *srv = c->srv;
	if (c->batch_defer)
		return batch_run_deferred(c);
	bool only_loop = c->batch_n == 1 && c->loop_tail;
	if (has_write && srv->durability != GROVE_DURABILITY_NONE && !only_loop) {
		c->work.data = c;
		if (uv_queue_work(srv->loop, &c->work, work_run, work_after) == 0) {
			c->busy = true;
			return true;
		}
	}
	batch_done(c, batch_run(c, 0, c->batch_n, &c->out));
	return false;
}

/* Whether CLIENT PAUSE holds a batch (with a write, or any: has_write
 * false asks about ALL only). */
static bool pause_holds(const grove_resp_server_t *srv, bool has_write)
{
	return srv->pause_until_ms && now_ms(srv) < srv->pause_until_ms &&
	       (srv->pause_all || has_write);
}

/* A batch held by CLIENT PAUSE runs once the pause is over; returns true
 * while the client must not go on (still paused, or the batch went to a
 * worker). */
static bool pause_resume(grove_resp_server_client_t *c)
{
	c->pause_wait = false;
	if (!c->pause_batch)
		return false;
	if (pause_holds(c->srv, c->pause_has_write))
		return true;
	c->pause_batch = false;
	return batch_dispatch(c, c->pause_has_write);
}

/* Executes what the parser holds, as far as back-pressure allows, then
 * writes, updates reading, and closes a client that is done. */
static void client_process(grove_resp_server_client_t *c)
{
	if (c->busy || c->held || c->closing)
		return;
	bool stop = pause_resume(c);
again:
	while (!stop && !c->blocked && !c->close_after_flush &&
	       c->out.len < GROVE_SERVER_OUTPUT_HIGH_BYTES) {
		if (pause_holds(c->srv, false) && (c->carry || grove_resp_parser_pending(&c->parser))) {
			c->pause_wait = true;
			break;
		}
		bool has_write;
		batch_collect(c, &has_write);
		if (c->batch_n == 0 && !c->proto_error)
			break;
		if (!c->proto_error && pause_holds(c->srv, has_write)) {
			c->pause_batch = true;
			c->pause_has_write = has_write;
			break;
		}
		if (batch_dispatch(c, has_write))
			break;
	}
	if (grove_buf_failed(&c->out)) {
		c->srv->stats->output_overflows++;
		grove_log_warn(c->srv->log, "client %llu %s: output limit of %llu bytes exceeded, closing",
			       (unsigned long long)c->state.id, c->state.addr,
			       (unsigned long long)c->srv->output_limit_bytes);
		client_close(c);
		return;
	}
	bool full = c->out.len >= GROVE_SERVER_OUTPUT_HIGH_BYTES;
	if (client_flush(c) && full && !stop && !c->busy && !c->held && !c->blocked &&
	    !c->pause_batch && !c->pause_wait && !c->close_after_flush)
		goto again; /* the replies that stopped the loop went out at once */
	if (c->closing)
		return;
	if (!c->busy && !c->held && !c->blocked && !c->pause_batch && !c->writing && c->out.len == 0 &&
	    (c->close_after_flush || c->srv->shutting_down)) {
		client_close(c);
		return;
	}
	client_update_reading(c);
}

static void maybe_shutdown_done(grove_resp_server_t *srv)
{
	if (srv->shutting_down && grove_list_empty(&srv->clients) && srv->handles_open == 0 &&
	    !srv->sync_busy && srv->shutdown_cb) {
		void (*cb)(void *) = srv->shutdown_cb;
		srv->shutdown_cb = NULL;
		cb(srv->shutdown_ctx);
	}
}

static void on_client_closed(uv_handle_t *h)
{
	grove_resp_server_client_t *c = h->data;
	grove_resp_server_t *srv = c->srv;
	grove_list_remove(&c->link);
	srv->stats->connected_clients--;
	grove_log_debug(srv->log, "client %llu %s: closed", (unsigned long long)c->state.id,
			c->state.addr);
	grove_cmd_client_close(&c->state);
	grove_resp_tls_conn_destroy(c->tls);
	grove_resp_parser_close(&c->parser);
	grove_buf_close(&c->out);
	grove_buf_close(&c->sending);
	grove_buf_close(&c->wout);
	grove_free((void *)c->bargv);
	grove_free(c->bargl);
	grove_free(c);
	maybe_shutdown_done(srv);
}

/* Closes now (pending writes are cancelled); deferred while on a worker. */
static void client_close(grove_resp_server_client_t *c)
{
	if (c->monitor) {
		c->monitor = false;
		atomic_fetch_sub(&c->srv->env->monitors, 1);
	}
	if (c->closing)
		return;
	c->closing = true;
	if (c->held) /* its replies are dropped: no release wants it */
		client_unhold(c);
	if (c->blocked) {
		grove_wait_unblock(c->srv->env->wait, c);
		c->blocked = false;
	}
	if (c->reading)
		uv_read_stop((uv_stream_t *)&c->tcp);
	c->reading = false;
	if (c->busy)
		return; /* work_after finishes the close */
	uv_close((uv_handle_t *)&c->tcp, on_client_closed);
}

/* ---- blocked clients (WAIT) ---- */

static void on_wait_timer(uv_timer_t *t);

/* Re-arms the wait timer for the next deadline or ask; stops it when no
 * client waits. */
static void wait_rearm(grove_resp_server_t *srv)
{
	uint64_t d = grove_wait_next_deadline(srv->env->wait), now = now_ms(srv);
	if (d == GROVE_WAIT_NO_DEADLINE)
		uv_timer_stop(&srv->wait_timer);
	else
		uv_timer_start(&srv->wait_timer, on_wait_timer, d > now ? d - now : 0, 0);
}

/* Answers the blocked clients that are done at now (every one at
 * GROVE_WAIT_NO_DEADLINE) and resumes them.  Each turn removes a waiter,
 * and a client that blocks again is not done yet (WAIT answers at once
 * when it could be), so the loop ends. */
static void wait_answer(grove_resp_server_t *srv, uint64_t now)
{
	void *owner;
	size_t count;
	while (grove_wait_next_done(srv->env->wait, now, &owner, &count)) {
		grove_resp_server_client_t *c = owner;
		c->blocked = false;
		c->last_active_ms = now_ms(srv);
		grove_resp_int(&c->out, (long long)count);
		client_process(c);
	}
}

static void on_wait_timer(uv_timer_t *t)
{
	grove_resp_server_t *srv = t->data;
	uint64_t now = now_ms(srv), pos;
	wait_answer(srv, now);
	if (grove_wait_ask_due(srv->env->wait, now, &pos) && srv->env->hooks.wait_ask)
		srv->env->hooks.wait_ask(srv->env->hooks.ctx, pos);
	wait_rearm(srv);
}

/* grove_wait_t's notify (new evidence, called inside the cluster's
 * datagram input): look at the waiters on the next loop turn. */
static void wait_notify(void *ctx)
{
	grove_resp_server_t *srv = ctx;
	if (srv->listening)
		uv_timer_start(&srv->wait_timer, on_wait_timer, 0, 0);
}

/* GROVE_CMD_BLOCK: parks the client in env->wait until its WAIT is
 * answered; during shutdown it is answered at once. */
static void client_block(grove_resp_server_client_t *c)
{
	grove_resp_server_t *srv = c->srv;
	grove_wait_t *w = srv->env->wait;
	GROVE_ASSERT(w != NULL); /* WAIT blocks only with bookkeeping */
	uv_update_time(srv->loop); /* the timeout counts from now, not from this loop turn */
	uint64_t now = now_ms(srv), t = c->state.block_timeout_ms;
	if (srv->shutting_down) {
		grove_resp_int(&c->out, (long long)grove_wait_count(w, c->state.write_pos));
		return;
	}
	/* uv_now truncates to the millisecond (up to 1 ms before the real
	 * time): one more, so a client never gets its answer before t ms */
	uint64_t deadline =
		t == 0 || t >= GROVE_WAIT_NO_DEADLINE - now - 1 ? GROVE_WAIT_NO_DEADLINE : now + t + 1;
	int rc = grove_wait_block(w, c, c->state.write_pos, c->state.block_want, deadline);
	if (rc < 0) {
		grove_resp_errorf(&c->out, "ERR WAIT cannot block: %s", grove_strerror(rc));
		return;
	}
	c->blocked = true;
	uv_timer_start(&srv->wait_timer, on_wait_timer, 0, 0);
}

/* TLS: ciphertext in, plaintext into the parser.  A refused handshake is
 * logged with its reason, its alert sent, and the client closed. */
static int tls_input(grove_resp_server_client_t *c, size_t n)
{
	char err[320];
	grove_buf_t plain;
	grove_buf_init(&plain, 0);
	bool was_ready = grove_resp_tls_ready(c->tls);
	int rc = grove_resp_tls_input(c->tls, n, &plain, err, sizeof err);
	if (rc == 0 && plain.len > 0 && grove_resp_parser_feed(&c->parser, plain.data, plain.len) < 0)
		rc = GROVE_ETOOBIG; /* the parser reports it as a protocol error */
	grove_buf_close(&plain);
	if (rc == GROVE_EAUTH || rc == GROVE_EPROTO)
		grove_log_warn(c->srv->log, "client %s (TLS port): %s", c->state.addr, err);
	if (rc == 0 && !was_ready && grove_resp_tls_ready(c->tls)) {
		grove_resp_tls_describe(c->tls, err, sizeof err);
		grove_log_debug(c->srv->log, "client %llu %s: TLS established: %s",
				(unsigned long long)c->state.id, c->state.addr, err);
	}
	if (rc < 0 && rc != GROVE_ETOOBIG) {
		c->close_after_flush = true; /* the alert, if any, still goes out; then close */
		client_process(c);
		return -1;
	}
	return 0;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	(void)buf;
	grove_resp_server_client_t *c = s->data;
	if (nread < 0) {
		client_close(c);
		return;
	}
	if (c->tls && tls_input(c, (size_t)nread) < 0)
		return;
	if (!c->tls)
		grove_resp_parser_commit(&c->parser, (size_t)nread);
	c->srv->stats->net_input_bytes += (uint64_t)nread;
	c->last_active_ms = now_ms(c->srv);
	client_process(c);
}

/* "ip:port" of the peer, for logs and CLIENT INFO. */
static void peer_name(uv_tcp_t *tcp, char *out, size_t len)
{
	struct sockaddr_storage ss;
	int n = sizeof(ss);
	char ip[64] = "?";
	int port = 0;
	if (uv_tcp_getpeername(tcp, (struct sockaddr *)&ss, &n) == 0) {
		if (ss.ss_family == AF_INET6) {
			uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof(ip));
			port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		} else {
			uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof(ip));
			port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		}
	}
	snprintf(out, len, strchr(ip, ':') ? "[%s]:%d" : "%s:%d", ip, port);
}

static grove_resp_server_client_t *client_new(grove_resp_server_t *srv)
{
	grove_resp_server_client_t *c = grove_calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->srv = srv;
	grove_list_init(&c->hold_link);
	uv_tcp_init(srv->loop, &c->tcp);
	c->tcp.data = c;
	grove_cmd_client_init(&c->state, srv->env, ++srv->next_client_id);
	grove_resp_parser_init(&c->parser, srv->max_request_bytes, 0);
	grove_buf_init(&c->out, srv->output_limit_bytes);
	grove_buf_init(&c->sending, 0);
	grove_buf_init(&c->wout, srv->output_limit_bytes);
	c->last_active_ms = c->created_ms = now_ms(srv);
	grove_list_insert_head(&srv->clients, &c->link);
	srv->stats->connected_clients++;
	return c;
}

/* A new client on the plain or the TLS listener. */
static void accept_client(uv_stream_t *l, int status, bool tls)
{
	grove_resp_server_t *srv = l->data;
	if (status < 0 || srv->shutting_down)
		return;
	grove_resp_server_client_t *c = client_new(srv);
	if (!c)
		return; /* the connection stays in the backlog; retried next time */
	if (uv_accept(l, (uv_stream_t *)&c->tcp) < 0 || (tls && !(c->tls = grove_resp_tls_conn_create(srv->tls)))) {
		client_close(c);
		return;
	}
	srv->stats->total_connections++;
	uv_tcp_nodelay(&c->tcp, 1);
	peer_name(&c->tcp, c->state.addr, sizeof(c->state.addr));
	if (srv->stats->connected_clients > srv->max_clients) {
		srv->stats->rejected_connections++;
		grove_log_warn(srv->log, "client %s refused: max number of clients (%u) reached",
			       c->state.addr, srv->max_clients);
		if (tls) { /* no reply before the handshake */
			client_close(c);
			return;
		}
		grove_resp_error(&c->out, "ERR max number of clients reached");
		c->close_after_flush = true;
		client_process(c);
		return;
	}
	grove_log_debug(srv->log, "client %llu %s: connected%s", (unsigned long long)c->state.id,
			c->state.addr, tls ? " (TLS port)" : "");
	client_update_reading(c);
}

static void on_connection(uv_stream_t *l, int status)
{
	accept_client(l, status, false);
}

static void on_tls_connection(uv_stream_t *l, int status)
{
	accept_client(l, status, true);
}

static void on_idle_timer(uv_timer_t *t)
{
	grove_resp_server_t *srv = t->data;
	uint64_t now = now_ms(srv), limit = (uint64_t)srv->idle_timeout_s * 1000;
	grove_list_t *l, *tmp;
	GROVE_LIST_FOREACH_SAFE(l, tmp, &srv->clients) {
		grove_resp_server_client_t *c = GROVE_LIST_ENTRY(l, grove_resp_server_client_t, link);
		if (!c->closing && !c->busy && !c->held && !c->blocked && !c->writing &&
		    now - c->last_active_ms >= limit) {
			srv->stats->idle_disconnects++;
			grove_log_debug(srv->log, "client %llu %s: idle for %u s, closing",
					(unsigned long long)c->state.id, c->state.addr,
					srv->idle_timeout_s);
			client_close(c);
		}
	}
}

/* CLIENT LIST hook: a view of every open connection.  The MULTI queue of a
 * client whose batch is on a worker is not read (-1 shown). */
static size_t server_list(void *ctx, grove_client_view_t *out, size_t max)
{
	grove_resp_server_t *srv = ctx;
	uint64_t now = now_ms(srv);
	size_t n = 0;
	grove_list_t *l, *tmp;
	GROVE_LIST_FOREACH_SAFE(l, tmp, &srv->clients) {
		grove_resp_server_client_t *c = GROVE_LIST_ENTRY(l, grove_resp_server_client_t, link);
		if (c->closing || n == max)
			continue;
		grove_client_view_t *v = &out[n++];
		memset(v, 0, sizeof(*v));
		v->id = c->state.id;
		snprintf(v->addr, sizeof(v->addr), "%s", c->state.addr);
		snprintf(v->name, sizeof(v->name), "%s", c->state.name);
		uv_os_fd_t fd;
		v->fd = uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0 ? (int)fd : -1;
		v->age_s = (now - c->created_ms) / 1000;
		v->idle_s = (now - c->last_active_ms) / 1000;
		v->multi = !c->busy && c->state.in_multi ? (long long)c->state.queue_n : -1;
		v->qbuf = c->busy ? 0 : grove_resp_parser_pending(&c->parser);
		v->obl = c->out.len + c->sending.len;
	}
	return n;
}

/* CLIENT KILL hook: closes connection id (pending replies dropped). */
static int server_kill(void *ctx, uint64_t id)
{
	grove_resp_server_t *srv = ctx;
	grove_list_t *l, *tmp;
	GROVE_LIST_FOREACH_SAFE(l, tmp, &srv->clients) {
		grove_resp_server_client_t *c = GROVE_LIST_ENTRY(l, grove_resp_server_client_t, link);
		if (c->state.id == id && !c->closing) {
			client_close(c);
			return 0;
		}
	}
	return GROVE_ENOTFOUND;
}

/* CONFIG GET/SET hook for the limits that change at run time. */
static int server_limit(void *ctx, const char *name, const uint64_t *set, uint64_t *value)
{
	grove_resp_server_t *srv = ctx;
	if (!strcmp(name, "max-clients")) {
		if (set)
			srv->max_clients = (uint32_t)*set;
		if (value)
			*value = srv->max_clients;
	} else if (!strcmp(name, "idle-timeout")) {
		if (set) {
			srv->idle_timeout_s = (uint32_t)*set;
			if (srv->listening && *set)
				uv_timer_start(&srv->idle_timer, on_idle_timer, IDLE_CHECK_MS, IDLE_CHECK_MS);
			else if (srv->listening)
				uv_timer_stop(&srv->idle_timer);
		}
		if (value)
			*value = srv->idle_timeout_s;
	} else if (!strcmp(name, "log-level") && srv->log) {
		if (set)
			atomic_store(&srv->log->level, (grove_log_level_t)*set);
		if (value)
			*value = (uint64_t)atomic_load(&srv->log->level);
	} else {
		return GROVE_ENOTFOUND;
	}
	return 0;
}

/* ---- MONITOR ---- */

static int server_monitor_start(void *ctx, uint64_t id)
{
	grove_resp_server_t *srv = ctx;
	grove_list_t *l, *tmp;
	GROVE_LIST_FOREACH_SAFE(l, tmp, &srv->clients) {
		grove_resp_server_client_t *c = GROVE_LIST_ENTRY(l, grove_resp_server_client_t, link);
		if (c->state.id != id || c->closing)
			continue;
		if (!c->monitor) {
			c->monitor = true;
			atomic_fetch_add(&srv->env->monitors, 1);
		}
		return 0;
	}
	return GROVE_ENOTFOUND;
}

/* Any thread: queues the line for the loop. */
static void server_monitor_feed(void *ctx, const char *line, size_t len)
{
	grove_resp_server_t *srv = ctx;
	pthread_mutex_lock(&srv->mon_mu);
	bool queued = srv->mon_open && srv->mon_pending.len + len <= GROVE_MONITOR_PENDING_BYTES;
	if (queued)
		grove_buf_append(&srv->mon_pending, line, len);
	else
		srv->mon_dropped++;
	pthread_mutex_unlock(&srv->mon_mu);
	if (queued)
		uv_async_send(&srv->mon_async);
}

/* Loop: hands the queued lines to every monitor (an overflowing one is
 * closed by client_process, as for any output). */
static void on_monitor_async(uv_async_t *a)
{
	grove_resp_server_t *srv = a->data;
	grove_buf_t lines;
	pthread_mutex_lock(&srv->mon_mu);
	lines = srv->mon_pending;
	grove_buf_init(&srv->mon_pending, 0);
	pthread_mutex_unlock(&srv->mon_mu);
	grove_list_t *l, *tmp;
	GROVE_LIST_FOREACH_SAFE(l, tmp, &srv->clients) {
		grove_resp_server_client_t *c = GROVE_LIST_ENTRY(l, grove_resp_server_client_t, link);
		if (!c->monitor || c->closing || lines.len == 0)
			continue;
		grove_buf_append(&c->out, lines.data, lines.len);
		client_process(c);
	}
	grove_buf_close(&lines);
}

/* ---- CLIENT PAUSE ---- */

/* Resumes every held client once the pause is over (or re-arms). */
static void on_pause_timer(uv_timer_t *t)
{
	grove_resp_server_t *srv = t->data;
	uint64_t now = now_ms(srv);
	if (srv->pause_until_ms && now < srv->pause_until_ms) {
		uv_timer_start(&srv->pause_timer, on_pause_timer, srv->pause_until_ms - now, 0);
		return;
	}
	srv->pause_until_ms = 0;
	grove_list_t *l, *tmp;
	GROVE_LIST_FOREACH_SAFE(l, tmp, &srv->clients) {
		grove_resp_server_client_t *c = GROVE_LIST_ENTRY(l, grove_resp_server_client_t, link);
		if (c->pause_batch || c->pause_wait)
			client_process(c);
	}
}

/* CLIENT PAUSE / UNPAUSE (env->server.pause): a pause extends to the later
 * end; ALL stays ALL while both overlap, as Redis. */
static void server_pause(void *ctx, uint64_t timeout_ms, bool writes_only, bool unpause)
{
	grove_resp_server_t *srv = ctx;
	if (!srv->listening)
		return;
	uint64_t now = now_ms(srv);
	if (unpause) {
		srv->pause_until_ms = 0;
		uv_timer_start(&srv->pause_timer, on_pause_timer, 0, 0);
		return;
	}
	bool active = srv->pause_until_ms && now < srv->pause_until_ms;
	uint64_t until = now + (timeout_ms ? timeout_ms : 1);
	srv->pause_all = !writes_only || (active && srv->pause_all);
	if (!active || until > srv->pause_until_ms)
		srv->pause_until_ms = until;
	uv_timer_start(&srv->pause_timer, on_pause_timer, srv->pause_until_ms - now, 0);
}

void grove_resp_server_init(grove_resp_server_t *srv, uv_loop_t *loop, grove_cmd_env_t *env,
		       grove_log_t *log, grove_node_stats_t *stats, const grove_config_t *cfg)
{
	memset(srv, 0, sizeof(*srv));
	grove_list_init(&srv->clients);
	grove_list_init(&srv->held);
	srv->loop = loop;
	srv->env = env;
	srv->log = log;
	srv->stats = stats;
	srv->addr = cfg->client;
	srv->tls_port = (uint16_t)cfg->tls_port;
	srv->cfg = cfg;
	srv->durability = cfg->durability;
	srv->max_request_bytes = cfg->max_request_bytes;
	srv->output_limit_bytes = cfg->output_limit_bytes;
	srv->max_clients = cfg->max_clients;
	srv->idle_timeout_s = cfg->idle_timeout_s;
	env->server.list = server_list;
	env->server.kill = server_kill;
	env->server.limit = server_limit;
	env->server.pause = server_pause;
	env->server.monitor_start = server_monitor_start;
	env->server.monitor_feed = server_monitor_feed;
	GROVE_ASSERT(pthread_mutex_init(&srv->mon_mu, NULL) == 0);
	grove_buf_init(&srv->mon_pending, 0);
	env->server.ctx = srv;
}

/* Resolves and binds a listener on the client host; the handle is
 * initialized either way. */
static int bind_listener(grove_resp_server_t *srv, uv_tcp_t *listener, uint16_t portnum, uv_connection_cb cb,
			 char *err, size_t elen)
{
	char port[8];
	snprintf(port, sizeof(port), "%u", portnum);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV}, *ai = NULL;
	int gai = getaddrinfo(srv->addr.host, port, &hints, &ai);
	if (gai != 0) {
		snprintf(err, elen, "client address %s: %s", srv->addr.host, gai_strerror(gai));
		return GROVE_ECONFIG;
	}
	int rc = uv_tcp_bind(listener, ai->ai_addr, 0);
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)listener, GROVE_SERVER_BACKLOG, cb);
	freeaddrinfo(ai);
	if (rc < 0) {
		char a[GROVE_HOST_MAX + 16];
		grove_hostport_t hp = srv->addr;
		hp.port = portnum;
		grove_hostport_format(&hp, a, sizeof(a));
		snprintf(err, elen, "%s address %s: %s", listener == &srv->listener ? "client" : "TLS client", a,
			 uv_strerror(rc));
		return GROVE_EIO;
	}
	return 0;
}

int grove_resp_server_listen(grove_resp_server_t *srv, char *err, size_t elen)
{
	uv_tcp_init(srv->loop, &srv->listener);
	srv->listener.data = srv;
	uv_timer_init(srv->loop, &srv->idle_timer);
	srv->idle_timer.data = srv;
	uv_timer_init(srv->loop, &srv->wait_timer);
	srv->wait_timer.data = srv;
	uv_timer_init(srv->loop, &srv->pause_timer);
	srv->pause_timer.data = srv;
	uv_async_init(srv->loop, &srv->mon_async, on_monitor_async);
	srv->mon_async.data = srv;
	pthread_mutex_lock(&srv->mon_mu);
	srv->mon_open = true;
	pthread_mutex_unlock(&srv->mon_mu);
	uv_idle_init(srv->loop, &srv->pass_idle);
	srv->pass_idle.data = srv;
	srv->handles_open = 6;
	if (srv->tls_port) {
		uv_tcp_init(srv->loop, &srv->tls_listener);
		srv->tls_listener.data = srv;
		srv->handles_open++;
	}
	if (srv->env->wait)
		grove_wait_set_notify(srv->env->wait, wait_notify, srv);
	srv->listening = true;
	int rc = bind_listener(srv, &srv->listener, srv->addr.port, on_connection, err, elen);
	if (rc == 0 && srv->tls_port)
		rc = grove_resp_tls_create(srv->cfg, &srv->tls, err, elen);
	if (rc == 0 && srv->tls_port)
		rc = bind_listener(srv, &srv->tls_listener, srv->tls_port, on_tls_connection, err, elen);
	if (rc < 0)
		return rc;
	if (srv->idle_timeout_s)
		uv_timer_start(&srv->idle_timer, on_idle_timer, IDLE_CHECK_MS, IDLE_CHECK_MS);
	return 0;
}

void grove_resp_server_reload_tls(grove_resp_server_t *srv)
{
	if (!srv->tls)
		return;
	char err[GROVE_CONFIG_ERROR_BYTES];
	bool changed = false;
	if (grove_resp_tls_reload(srv->tls, srv->cfg, &changed, err, sizeof err) < 0)
		grove_log_error(srv->log, "SIGHUP: TLS certificate not reloaded: %s; the running one stays", err);
	else
		grove_log_info(srv->log, "SIGHUP: TLS certificate %s (%s): new TLS connections use it, open ones "
					 "keep theirs", changed ? "reloaded" : "unchanged", srv->cfg->tls_cert_file);
}

int grove_resp_server_port(const grove_resp_server_t *srv)
{
	struct sockaddr_storage ss;
	int n = sizeof(ss);
	if (uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&ss, &n) < 0)
		return -1;
	return ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
					: ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void on_server_handle_closed(uv_handle_t *h)
{
	grove_resp_server_t *srv = h->data;
	srv->handles_open--;
	maybe_shutdown_done(srv);
}

void grove_resp_server_shutdown(grove_resp_server_t *srv, void (*cb)(void *ctx), void *ctx)
{
	GROVE_ASSERT(!srv->shutting_down);
	srv->shutting_down = true;
	srv->shutdown_cb = cb;
	srv->shutdown_ctx = ctx;
	if (srv->env->wait) {
		grove_wait_set_notify(srv->env->wait, NULL, NULL);
		wait_answer(srv, GROVE_WAIT_NO_DEADLINE);
	}
	if (srv->listening) {
		uv_close((uv_handle_t *)&srv->listener, on_server_handle_closed);
		uv_close((uv_handle_t *)&srv->idle_timer, on_server_handle_closed);
		uv_close((uv_handle_t *)&srv->wait_timer, on_server_handle_closed);
		uv_close((uv_handle_t *)&srv->pause_timer, on_server_handle_closed);
		uv_close((uv_handle_t *)&srv->mon_async, on_server_handle_closed);
		uv_close((uv_handle_t *)&srv->pass_idle, on_server_handle_closed);
		srv->pass_armed = false;
		if (srv->tls_port)
			uv_close((uv_handle_t *)&srv->tls_listener, on_server_handle_closed);
		srv->listening = false;
		sync_start(srv); /* a pass write armed: the sync work does it now */
	}
	srv->pause_until_ms = 0; /* held clients finish */
	pthread_mutex_lock(&srv->mon_mu);
	srv->mon_open = false;
	grove_buf_close(&srv->mon_pending);
	pthread_mutex_unlock(&srv->mon_mu);
	grove_resp_tls_destroy(srv->tls); /* open connections hold a reference of their own */
	srv->tls = NULL;
	grove_list_t *l, *tmp;
	GROVE_LIST_FOREACH_SAFE(l, tmp, &srv->clients)
		client_process(GROVE_LIST_ENTRY(l, grove_resp_server_client_t, link)); /* finishes, then closes */
	maybe_shutdown_done(srv);
}
