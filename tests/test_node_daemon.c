/*
 * test_node_daemon.c - node/'s libuv code in-process: a whole node
 * (grove_daemon_start: store, RESP server, gossip sockets, cluster binding)
 * on ephemeral ports and on the test's own uv_loop, driven by a client on
 * the same loop, stopped, and the loop closed.  As in libuv's own tests,
 * uv_loop_close must return 0: a handle the node leaves open fails the
 * test, and ASan (make test-asan) catches what it leaks.
 *
 * Every wait runs the loop until a condition holds, with a deadline timer
 * that fails the test instead of hanging it.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include <uv.h>

#include "node/daemon.h"
#include "node/keyfile.h"
#include "tests/util_keys.h"

#define DEADLINE_MS 20000 /* any one wait; the node's leave takes far less */

typedef struct client {
	uv_tcp_t tcp;
	uv_connect_t connect;
	uv_write_t write;
	char reply[16384];
	size_t len;
	int status; /* connect or read error, 0 while all is well */
	bool connected, closed;
} client_t;

#define CLIENTS_MAX 4
#define POOL_THREADS_MAX 1024 /* libuv's bound on UV_THREADPOOL_SIZE */

/* Work that keeps every libuv worker thread busy until released. */
typedef struct pool_block {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int threads, started, done;
	bool release;
	uv_work_t work[POOL_THREADS_MAX];
} pool_block_t;

typedef struct fixture {
	char dir[64];
	grove_config_t cfg;
	uv_loop_t loop;
	uv_timer_t deadline;
	bool expired;
	int busy_handles;
	grove_daemon_t *node; /* running, if not NULL */
	client_t clients[CLIENTS_MAX]; /* not on a test's stack: teardown may close them */
	int nclients;
	pool_block_t pool; /* threads 0 unless a test blocks the pool */
} fixture_t;


static void on_deadline(uv_timer_t *t)
{
	fixture_t *f = t->data;
	f->expired = true;
}

/* Runs the loop until *flag is true; fails at the deadline. */
static void run_until(fixture_t *f, const bool *flag)
{
	f->expired = false;
	uv_timer_start(&f->deadline, on_deadline, DEADLINE_MS, 0);
	while (!*flag && !f->expired)
		uv_run(&f->loop, UV_RUN_ONCE);
	uv_timer_stop(&f->deadline);
	assert_false(f->expired);
}

static void count_busy(uv_handle_t *h, void *arg)
{
	fixture_t *f = arg;
	if (h != (uv_handle_t *)&f->deadline && (uv_is_active(h) || uv_is_closing(h)))
		f->busy_handles++;
}

/* Runs the loop until no handle but the deadline timer is active or
 * closing (what uv_run's return would tell, were the deadline not armed). */
static void run_until_idle(fixture_t *f)
{
	f->expired = false;
	uv_timer_start(&f->deadline, on_deadline, DEADLINE_MS, 0);
	for (;;) {
		f->busy_handles = 0;
		uv_walk(&f->loop, count_busy, f);
		if (f->busy_handles == 0 || f->expired)
			break;
		uv_run(&f->loop, UV_RUN_ONCE);
	}
	uv_timer_stop(&f->deadline);
	assert_false(f->expired);
}

/* A node "alpha" with its keys in a fresh directory; loopback, port 0. */
static int setup(void **state)
{
	fixture_t *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/grove-test-daemon-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	grove_test_ca_t ca;
	grove_identity_t id;
	grove_test_ca_init(&ca, "ca");
	grove_test_identity(&id, &ca, &ca, "alpha", 0, GROVE_TEST_EXPIRES_MS);
	grove_config_t *c = &f->cfg;
	grove_config_defaults(c);
	snprintf(c->id, sizeof(c->id), "alpha");
	snprintf(c->data_dir, sizeof(c->data_dir), "%s/data", f->dir);
	snprintf(c->ca, sizeof(c->ca), "%s/%s", f->dir, GROVE_KEYFILE_CA_PUB);
	snprintf(c->cert, sizeof(c->cert), "%s/%s", f->dir, GROVE_KEYFILE_NODE_CERT);
	snprintf(c->key, sizeof(c->key), "%s/%s", f->dir, GROVE_KEYFILE_NODE_KEY);
	assert_int_equal(grove_keyfile_write_ca_public(c->ca, ca.pk), 0);
	assert_int_equal(grove_keyfile_write_cert(c->cert, &id.cert), 0);
	assert_int_equal(grove_keyfile_write_node_secret(c->key, id.sk), 0);
	grove_identity_close(&id);
	snprintf(c->client.host, sizeof(c->client.host), "127.0.0.1");
	c->client.port = 0;
	snprintf(c->gossip.host, sizeof(c->gossip.host), "127.0.0.1");
	c->gossip.port = 0;
	c->log_level = getenv("GROVE_TEST_LOG") ? GROVE_LOG_DEBUG : GROVE_LOG_ERROR;
	assert_int_equal(uv_loop_init(&f->loop), 0);
	assert_int_equal(uv_timer_init(&f->loop, &f->deadline), 0);
	f->deadline.data = f;
	*state = f;
	return 0;
}

static void pool_release(fixture_t *f);

static int teardown(void **state)
{
	fixture_t *f = *state;
	pool_release(f); /* a test failed with the pool blocked */
	if (f->node) { /* a test failed with its node running */
		grove_daemon_stop(f->node);
		for (int i = 0; i < f->nclients; i++)
			if (!uv_is_closing((uv_handle_t *)&f->clients[i].tcp))
				uv_close((uv_handle_t *)&f->clients[i].tcp, NULL);
		run_until_idle(f);
		grove_daemon_destroy(f->node);
	}
	run_until_idle(f); /* a handle left active fails here */
	uv_close((uv_handle_t *)&f->deadline, NULL);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	/* the assertion of this file: nothing left open on the loop */
	assert_int_equal(uv_loop_close(&f->loop), 0);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	client_t *c = h->data;
	(void)suggested;
	*buf = uv_buf_init(c->reply + c->len, (unsigned)(sizeof(c->reply) - 1 - c->len));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	client_t *c = s->data;
	(void)buf;
	if (n > 0) {
		c->len += (size_t)n;
		c->reply[c->len] = '\0';
	} else if (n < 0) {
		c->status = (int)n; /* UV_EOF included: the server closed */
		uv_read_stop(s);
	}
}

static void on_written(uv_write_t *w, int status)
{
	client_t *c = w->data;
	if (status < 0)
		c->status = status;
}

static void on_connect(uv_connect_t *req, int status)
{
	client_t *c = req->data;
	c->status = status;
	c->connected = true;
	if (status == 0)
		uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_client_closed(uv_handle_t *h)
{
	client_t *c = h->data;
	c->closed = true;
}

static client_t *client_connect(fixture_t *f, int port)
{
	struct sockaddr_in sa;
	assert_true(f->nclients < CLIENTS_MAX);
	client_t *c = &f->clients[f->nclients++];
	assert_int_equal(uv_ip4_addr("127.0.0.1", port, &sa), 0);
	assert_int_equal(uv_tcp_init(&f->loop, &c->tcp), 0);
	c->tcp.data = c;
	c->connect.data = c;
	c->write.data = c;
	assert_int_equal(uv_tcp_connect(&c->connect, &c->tcp, (const struct sockaddr *)&sa, on_connect), 0);
	run_until(f, &c->connected);
	assert_int_equal(c->status, 0);
	return c;
}

static void client_send(client_t *c, const char *bytes)
{
	uv_buf_t b = uv_buf_init((char *)bytes, (unsigned)strlen(bytes));
	assert_int_equal(uv_write(&c->write, (uv_stream_t *)&c->tcp, &b, 1, on_written), 0);
}

/* Runs the loop until the client holds exactly `want` (or fails). */
static void client_expect(fixture_t *f, client_t *c, const char *want)
{
	size_t n = strlen(want);
	f->expired = false;
	uv_timer_start(&f->deadline, on_deadline, DEADLINE_MS, 0);
	while (c->len < n && c->status <= 0 && !f->expired)
		uv_run(&f->loop, UV_RUN_ONCE);
	uv_timer_stop(&f->deadline);
	assert_int_equal(c->status, 0);
	assert_false(f->expired);
	assert_string_equal(c->reply, want);
	c->len = 0;
	c->reply[0] = '\0';
}

static void client_close(fixture_t *f, client_t *c)
{
	uv_close((uv_handle_t *)&c->tcp, on_client_closed);
	run_until(f, &c->closed);
}

/* Stops the node, runs the loop until every one of its handles closed. */
static grove_daemon_t *node_start(fixture_t *f)
{
	grove_daemon_t *d = NULL;
	assert_int_equal(grove_daemon_start(&f->cfg, &f->loop, &d), 0);
	assert_non_null(d);
	f->node = d;
	return d;
}

static void node_stop(fixture_t *f, grove_daemon_t *d)
{
	grove_daemon_stop(d);
	grove_daemon_stop(d); /* idempotent */
	run_until_idle(f);
	f->node = NULL;
	grove_daemon_destroy(d);
}

/* Start, PING / SET / GET / INCR over one connection, pipelined too, then
 * a graceful stop with a client still connected. */
static void run_node_session(void **state, grove_durability_t durability)
{
	fixture_t *f = *state;
	f->cfg.durability = durability;
	grove_daemon_t *d = node_start(f);
	int port = grove_daemon_client_port(d);
	assert_true(port > 0);

	client_t *c = client_connect(f, port);
	client_send(c, "PING\r\n");
	client_expect(f, c, "+PONG\r\n");
	client_send(c, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n");
	client_expect(f, c, "+OK\r\n");
	client_send(c, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n"
			"*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n*2\r\n$3\r\nGET\r\n$7\r\nmissing\r\n");
	client_expect(f, c, "$5\r\nhello\r\n:1\r\n:2\r\n$-1\r\n");

	client_t *idle = client_connect(f, port); /* still connected when the node stops */
	client_send(idle, "PING\r\n");
	client_expect(f, idle, "+PONG\r\n");
	client_close(f, c);
	node_stop(f, d);
	assert_int_equal(idle->status, UV_EOF); /* the server closed it */
	client_close(f, idle);
}

static void test_node_serves_and_stops_none(void **state)
{
	run_node_session(state, GROVE_DURABILITY_NONE);
}

/* batch: the session's writes are acknowledged after the pass write's fsync on
 * the loop (run_deferred_on_loop: with no libuv worker free). */
static void test_node_serves_and_stops_batch(void **state)
{
	run_node_session(state, GROVE_DURABILITY_BATCH);
}

/* The data written before a stop is there after a restart on the same
 * loop. */
static void test_node_restart_keeps_data(void **state)
{
	fixture_t *f = *state;
	f->cfg.durability = GROVE_DURABILITY_ALWAYS;
	for (int round = 0; round < 2; round++) {
		grove_daemon_t *d = node_start(f);
		client_t *c = client_connect(f, grove_daemon_client_port(d));
		client_send(c, "*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n");
		client_expect(f, c, round == 0 ? ":1\r\n" : ":2\r\n");
		client_close(f, c);
		node_stop(f, d);
	}
}

/* The number of complete RESP replies (simple strings, errors,
 * integers, bulk strings, nulls) at the start of r[0..len). */
static size_t replies_in(const char *r, size_t len)
{
	size_t n = 0, i = 0;
	while (i < len) {
		const char *eol = memmem(r + i, len - i, "\r\n", 2);
		if (!eol)
			break;
		size_t end = (size_t)(eol - r) + 2;
		if (r[i] == '$' && r[i + 1] != '-')
			end += (size_t)strtol(r + i + 1, NULL, 10) + 2;
		if (end > len)
			break;
		i = end;
		n++;
	}
	return n;
}

/* Runs the loop until the client holds n complete replies; moves them to
 * out (cap bytes, NUL-terminated) and empties the client's buffer. */
static void client_take(fixture_t *f, client_t *c, size_t n, char *out, size_t cap)
{
	f->expired = false;
	uv_timer_start(&f->deadline, on_deadline, DEADLINE_MS, 0);
	while (replies_in(c->reply, c->len) < n && c->status == 0 && !f->expired)
		uv_run(&f->loop, UV_RUN_ONCE);
	uv_timer_stop(&f->deadline);
	assert_int_equal(c->status, 0);
	assert_false(f->expired);
	assert_int_equal(replies_in(c->reply, c->len), n);
	size_t at = strlen(out);
	assert_true(at + c->len < cap);
	memcpy(out + at, c->reply, c->len + 1);
	c->len = 0;
	c->reply[0] = '\0';
}

#define SCRIPT_LINES_MAX 320
#define SCRIPT_MEMBERS 30

/* Inline requests on keys pfx:s, pfx:h, pfx:n, pfx:z into b, one a line (line i
 * starts at b + at[i]); returns the number of lines.  Point reads of
 * present and absent elements in runs, each write followed by reads of
 * what it changed, and requests a point read's pipeline prefetch must
 * leave alone (wrong arity, wrong type, other commands in between). */
static size_t point_read_script(const char *pfx, char *b, size_t cap, size_t *at)
{
	size_t n = 0, len = 0;
#define LINE(...)                                                                          \
	do {                                                                               \
		assert_true(n < SCRIPT_LINES_MAX);                                         \
		at[n++] = len;                                                             \
		len += (size_t)snprintf(b + len, cap - len, __VA_ARGS__);                  \
		assert_true(len < cap);                                                    \
	} while (0)
	for (int i = 0; i < SCRIPT_MEMBERS; i++)
		LINE("SADD %s:s m%d\r\n", pfx, i);
	for (int i = 0; i < 2 * SCRIPT_MEMBERS; i++)
		LINE("SISMEMBER %s:s m%d\r\n", pfx, i);
	for (int i = 0; i < SCRIPT_MEMBERS; i++)
		LINE("HSET %s:h f%d v%d\r\n", pfx, i, i);
	for (int i = 0; i < 2 * SCRIPT_MEMBERS; i++)
		LINE(i % 3 ? "HGET %s:h f%d\r\n" : "HEXISTS %s:h f%d\r\n", pfx, i);
	LINE("SADD %s:s m50\r\nSISMEMBER %s:s m50\r\n", pfx, pfx);
	LINE("SREM %s:s m3\r\nSISMEMBER %s:s m3\r\nSISMEMBER %s:s m4\r\n", pfx, pfx, pfx);
	LINE("HSET %s:h f5 changed\r\nHGET %s:h f5\r\nHGET %s:h f6\r\n", pfx, pfx, pfx);
	LINE("HDEL %s:h f5\r\nHGET %s:h f5\r\nHEXISTS %s:h f5\r\n", pfx, pfx, pfx);
	LINE("SISMEMBER %s:h f1\r\nHGET %s:s m1\r\nSISMEMBER %s:s\r\n", pfx, pfx, pfx);
	LINE("HGET %s:h f1 f2\r\nSISMEMBER %s:none m1\r\nPING\r\nINCR %s:n\r\n", pfx, pfx, pfx);
	LINE("SISMEMBER %s:s m1\r\nHGET %s:h f1\r\nDEL %s:s\r\nSISMEMBER %s:s m1\r\n", pfx,
	     pfx, pfx, pfx);
	/* ZRANKs (hinted three steps ahead): a set with counts, its
	 * boundaries cached by a second write, ranks of present and absent
	 * members, after writes that move them, of the wrong type */
	LINE("ZADD %s:z", pfx); /* its members on the same line */
	for (int i = 0; i < 160; i++)
		len += (size_t)snprintf(b + len, cap - len, " %d m%d", (i * 37) % 160, i);
	len += (size_t)snprintf(b + len, cap - len, "\r\n");
	assert_true(len < cap);
	LINE("ZADD %s:z 7.5 m3\r\n", pfx);
	for (int i = 0; i < 2 * SCRIPT_MEMBERS; i++)
		LINE(i % 4 ? "ZRANK %s:z m%d\r\n" : "ZREVRANK %s:z m%d\r\n", pfx, i * 3);
	LINE("ZADD %s:z 1000 m5\r\nZRANK %s:z m5\r\nZREVRANK %s:z m5\r\nZRANK %s:z m6\r\n", pfx,
	     pfx, pfx, pfx);
	LINE("ZREM %s:z m6\r\nZRANK %s:z m6\r\nZRANK %s:z m7\r\nZRANK %s:h f1\r\n", pfx, pfx,
	     pfx, pfx);
	LINE("ZRANK %s:z\r\nZRANK %s:none m1\r\nZRANK %s:z m8\r\nZRANK %s:z m9\r\n", pfx, pfx,
	     pfx, pfx);
#undef LINE
	return n;
}

/* A line's number of requests (its CRLFs). */
static size_t line_requests(const char *line, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i + 1 < len; i++)
		n += line[i] == '\r' && line[i + 1] == '\n';
	return n;
}

/* Point reads in a pipeline (the server's batch prefetches each read's
 * cached element ahead of it) answer what the same requests answer one at
 * a time, reads after writes in the pipeline included: the script runs
 * once request by request on keys u:*, once as one pipeline on keys p:*,
 * and the replies are equal, byte for byte. */
static void test_node_pipelined_point_reads(void **state)
{
	fixture_t *f = *state;
	grove_daemon_t *d = node_start(f);
	client_t *c = client_connect(f, grove_daemon_client_port(d));
	static char script[16384], plain[8192], piped[8192];
	size_t at[SCRIPT_LINES_MAX + 1];
	plain[0] = piped[0] = '\0';

	size_t n = point_read_script("u", script, sizeof(script), at);
	at[n] = strlen(script);
	size_t requests = 0;
	for (size_t i = 0; i < n; i++) { /* one line at a time */
		size_t len = at[i + 1] - at[i], k = line_requests(script + at[i], len);
		uv_buf_t buf = uv_buf_init(script + at[i], (unsigned)len);
		assert_int_equal(uv_write(&c->write, (uv_stream_t *)&c->tcp, &buf, 1, on_written), 0);
		client_take(f, c, k, plain, sizeof(plain));
		requests += k;
	}
	/* the first runs as the script says: 30 added, 30 of 60 members */
	assert_memory_equal(plain, ":1\r\n", 4);
	assert_non_null(strstr(plain, ":1\r\n:0\r\n:0\r\n")); /* m29 in, m30 and m31 not */
	assert_non_null(strstr(plain, "$7\r\nchanged\r\n"));
	assert_non_null(strstr(plain, "-WRONGTYPE"));
	assert_non_null(strstr(plain, ":160\r\n:0\r\n")); /* the ZADDs */

	n = point_read_script("p", script, sizeof(script), at);
	client_send(c, script); /* the whole script at once */
	client_take(f, c, requests, piped, sizeof(piped));
	assert_string_equal(piped, plain);

	client_close(f, c);
	node_stop(f, d);
}

/* ---- the libuv thread pool, blocked ---- */

static void pool_block_run(uv_work_t *w)
{
	pool_block_t *b = w->data;
	pthread_mutex_lock(&b->mu);
	b->started++;
	pthread_cond_broadcast(&b->cv);
	while (!b->release)
		pthread_cond_wait(&b->cv, &b->mu);
	pthread_mutex_unlock(&b->mu);
}

static void pool_block_after(uv_work_t *w, int status)
{
	pool_block_t *b = w->data;
	assert_int_equal(status, 0);
	b->done++;
}

/* Occupies every worker of libuv's pool (UV_THREADPOOL_SIZE, default 4,
 * as libuv reads it) with work that waits for pool_release: work queued
 * by the node meanwhile does not run. */
static void pool_block(fixture_t *f)
{
	pool_block_t *b = &f->pool;
	const char *env = getenv("UV_THREADPOOL_SIZE");
	int n = env ? atoi(env) : 4;
	n = n < 1 ? 1 : n > POOL_THREADS_MAX ? POOL_THREADS_MAX : n;
	assert_int_equal(pthread_mutex_init(&b->mu, NULL), 0);
	assert_int_equal(pthread_cond_init(&b->cv, NULL), 0);
	b->threads = n;
	for (int i = 0; i < n; i++) {
		b->work[i].data = b;
		assert_int_equal(uv_queue_work(&f->loop, &b->work[i], pool_block_run, pool_block_after), 0);
	}
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += DEADLINE_MS / 1000;
	pthread_mutex_lock(&b->mu);
	int rc = 0;
	while (b->started < n && rc == 0)
		rc = pthread_cond_timedwait(&b->cv, &b->mu, &until);
	int started = b->started;
	pthread_mutex_unlock(&b->mu);
	assert_int_equal(started, n); /* every worker runs one */
}

/* Lets the blocking work finish and runs the loop until its callbacks
 * ran (nothing when the pool is not blocked). */
static void pool_release(fixture_t *f)
{
	pool_block_t *b = &f->pool;
	if (b->threads == 0)
		return;
	pthread_mutex_lock(&b->mu);
	b->release = true;
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
	f->expired = false;
	uv_timer_start(&f->deadline, on_deadline, DEADLINE_MS, 0);
	while (b->done < b->threads && !f->expired)
		uv_run(&f->loop, UV_RUN_ONCE);
	uv_timer_stop(&f->deadline);
	int done = b->done, threads = b->threads;
	b->threads = 0;
	pthread_cond_destroy(&b->cv);
	pthread_mutex_destroy(&b->mu);
	assert_false(f->expired);
	assert_int_equal(done, threads);
}

#define DEFERRED_PIPELINE 1100 /* more than one deferred run (4 x 256) */

/* In batch and always, a run of plain writes is written and fsynced on
 * the loop (the pass write, as Redis's appendfsync always), not by a
 * libuv worker: with every worker busy, unpipelined writes and a pipeline
 * of more than one run (its release runs the rest, written by the next
 * pass) are acknowledged, in order. */
static void run_deferred_on_loop(void **state, grove_durability_t durability)
{
	fixture_t *f = *state;
	f->cfg.durability = durability;
	grove_daemon_t *d = node_start(f);
	client_t *c = client_connect(f, grove_daemon_client_port(d));
	pool_block(f);
	client_send(c, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n");
	client_expect(f, c, "+OK\r\n");
	client_send(c, "SADD s a b\r\n");
	client_expect(f, c, ":2\r\n");
	client_send(c, "HSET h f v\r\nINCR n\r\nSADD s a\r\n");
	client_expect(f, c, ":1\r\n:1\r\n:0\r\n");

	static char pipe[DEFERRED_PIPELINE * 8 + 1], want[DEFERRED_PIPELINE * 8 + 1],
		got[sizeof(want)];
	size_t plen = 0, wlen = 0;
	for (int i = 0; i < DEFERRED_PIPELINE; i++) {
		plen += (size_t)snprintf(pipe + plen, sizeof(pipe) - plen, "INCR m\r\n");
		wlen += (size_t)snprintf(want + wlen, sizeof(want) - wlen, ":%d\r\n", i + 1);
	}
	got[0] = '\0';
	client_send(c, pipe);
	client_take(f, c, DEFERRED_PIPELINE, got, sizeof(got));
	assert_string_equal(got, want);

	pool_release(f);
	client_close(f, c);
	node_stop(f, d);
}

static void test_node_deferred_on_loop_batch(void **state)
{
	run_deferred_on_loop(state, GROVE_DURABILITY_BATCH);
}

static void test_node_deferred_on_loop_always(void **state)
{
	run_deferred_on_loop(state, GROVE_DURABILITY_ALWAYS);
}

/* A client killed while held for its deferred write (CLIENT KILL from
 * another client read in the same loop pass, after its SET) leaves the
 * held clients' list: the pass write releases the others, and the node
 * goes on.  Its SET ran (it was read first: epoll reports sockets in the
 * order they became readable) and is written, its reply dropped. */
static void test_node_kill_held_client(void **state)
{
	fixture_t *f = *state;
	grove_daemon_t *d = node_start(f);
	int port = grove_daemon_client_port(d);
	client_t *a = client_connect(f, port), *b = client_connect(f, port);
	char ida[64] = "";
	client_send(a, "CLIENT ID\r\n");
	client_take(f, a, 1, ida, sizeof(ida));
	long long id = atoll(ida + 1);
	char kill[96], held[96];
	snprintf(kill, sizeof(kill), "CLIENT KILL ID %lld\r\nSET other w\r\n", id);
	snprintf(held, sizeof(held), "SET k v\r\nGET k\r\n");
	client_send(a, held); /* a's SET is held; its GET waits behind it */
	client_send(b, kill); /* in the same pass: a goes while held */
	client_expect(f, b, ":1\r\n+OK\r\n"); /* one client killed */
	f->expired = false;
	uv_timer_start(&f->deadline, on_deadline, DEADLINE_MS, 0);
	while (a->status == 0 && !f->expired)
		uv_run(&f->loop, UV_RUN_ONCE);
	uv_timer_stop(&f->deadline);
	assert_true(a->status < 0); /* closed by the server */
	assert_int_equal(a->len, 0); /* no reply: neither the SET's nor the GET's */
	client_send(b, "GET k\r\nGET other\r\n");
	client_expect(f, b, "$1\r\nv\r\n$1\r\nw\r\n");
	client_close(f, a);
	client_close(f, b);
	node_stop(f, d);
}

/* Failed starts leave nothing open on the loop: wrong certificate (before
 * any handle), a client port already in use (after the server's handles
 * exist), protected mode (status 2). */
static void test_node_failed_starts_close_everything(void **state)
{
	fixture_t *f = *state;
	grove_daemon_t *d = NULL;
	grove_config_t bad = f->cfg;
	snprintf(bad.id, sizeof(bad.id), "beta"); /* the certificate is alpha's */
	assert_int_equal(grove_daemon_start(&bad, &f->loop, &d), 1);
	assert_null(d);

	uv_tcp_t taken;
	struct sockaddr_in sa;
	struct sockaddr_storage bound;
	int len = sizeof(bound);
	assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &sa), 0);
	assert_int_equal(uv_tcp_init(&f->loop, &taken), 0);
	assert_int_equal(uv_tcp_bind(&taken, (const struct sockaddr *)&sa, 0), 0);
	assert_int_equal(uv_listen((uv_stream_t *)&taken, 1, NULL), 0);
	assert_int_equal(uv_tcp_getsockname(&taken, (struct sockaddr *)&bound, &len), 0);
	bad = f->cfg;
	bad.client.port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
	assert_int_equal(grove_daemon_start(&bad, &f->loop, &d), 1);
	assert_null(d);
	uv_close((uv_handle_t *)&taken, NULL);

	bad = f->cfg;
	snprintf(bad.client.host, sizeof(bad.client.host), "0.0.0.0");
	assert_int_equal(grove_daemon_start(&bad, &f->loop, &d), 2);
	assert_null(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_node_serves_and_stops_none, setup, teardown),
		cmocka_unit_test_setup_teardown(test_node_serves_and_stops_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_node_restart_keeps_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_node_failed_starts_close_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(test_node_pipelined_point_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_node_deferred_on_loop_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_node_deferred_on_loop_always, setup, teardown),
		cmocka_unit_test_setup_teardown(test_node_kill_held_client, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
