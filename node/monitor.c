/*
 * monitor.c - the HTTP monitoring port (see monitor.h).
 *
 * Threads.  libmicrohttpd answers requests on its own thread; everything
 * the answers need (INFO, the member table, the command counters, the
 * anti-entropy histograms) belongs to the loop thread, and most of it is
 * not thread-safe (the member table, the peer book, the AE core).  So the
 * loop thread takes a snapshot once a second (a uv_timer): it renders INFO
 * everything, copies the members, command counters, histograms, history
 * and recent warnings into a fresh grove_monitor_snapshot_t, and publishes
 * it by swapping one pointer under a mutex.  A request locks the mutex,
 * renders its text from the current snapshot, and unlocks.  Chosen over
 * uv_async (asking the loop for each request): a scrape never waits on a
 * busy loop and never touches loop state, at the price of numbers up to
 * one second old and one snapshot's work a second (INFO text, ~100
 * members' copies: well under a millisecond) whether anyone scrapes or
 * not.  The loop thread waits for the mutex at most for one render.
 *
 * The history (one sample a second of cumulative counters, for the
 * charts) is a ring owned by the loop thread, copied into each snapshot.
 */
#include "node/monitor.h"

#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>
#include <sodium.h>

#include "base/assert.h"
#include "grove/alloc.h"
#include "node/metrics.h"
#include "node/resp_commands_int.h"

struct grove_monitor {
	grove_monitor_config_t cfg;
	struct MHD_Daemon *httpd;
	uv_timer_t timer;
	bool timer_open;
	pthread_mutex_t mu;
	grove_monitor_snapshot_t *snap; /* under mu */
	grove_monitor_sample_t history[GROVE_MONITOR_HISTORY_MAX]; /* ring, loop thread */
	size_t hist_next, hist_n;
};

/* ---- snapshots (loop thread) ---- */

static void snapshot_free(grove_monitor_snapshot_t *s)
{
	if (!s)
		return;
	grove_buf_close(&s->info);
	grove_free(s->cmds);
	grove_free(s->peers);
	grove_free(s->history);
	grove_free(s->warnings);
	grove_free(s);
}

static void snap_commands(grove_monitor_snapshot_t *s, const grove_cmd_env_t *env)
{
	size_t rows = grove_cmd_count < GROVE_CMD_STATS_MAX ? grove_cmd_count : GROVE_CMD_STATS_MAX;
	s->cmds = grove_calloc(rows ? rows : 1, sizeof(*s->cmds));
	if (!s->cmds)
		return;
	for (size_t i = 0; i < rows; i++) {
		const struct grove_cmd_stat *st = &env->cmd_stats[i];
		grove_monitor_cmd_t *c = &s->cmds[s->ncmds];
		c->calls = atomic_load(&st->calls);
		c->rejected = atomic_load(&st->rejected);
		if (!c->calls && !c->rejected)
			continue;
		c->name = grove_cmd_table[i].name;
		c->usec = atomic_load(&st->usec);
		c->failed = atomic_load(&st->failed);
		for (size_t b = 0; b < GROVE_CMD_LATENCY_BUCKETS; b++)
			c->latency[b] = atomic_load(&st->latency[b]);
		s->ncmds++;
	}
}

/* Appends this second's sample (from the snapshot's INFO) to the ring. */
static void sample(grove_monitor_t *m, const grove_monitor_snapshot_t *s)
{
	static const char *const phases[] = {"digest", "tree", "keys", "states", "control", "push"};
	const char *t = (const char *)s->info.data;
	size_t len = s->info.len;
	grove_monitor_sample_t *x = &m->history[m->hist_next];
	*x = (grove_monitor_sample_t){.t_ms = s->now_ms};
	x->commands = grove_metrics_info_u64(t, len, "total_commands_processed");
	x->net_in_bytes = grove_metrics_info_u64(t, len, "total_net_input_bytes");
	x->net_out_bytes = grove_metrics_info_u64(t, len, "total_net_output_bytes");
	x->keys = grove_metrics_info_u64(t, len, "keys");
	for (size_t p = 0; p < sizeof(phases) / sizeof(phases[0]); p++) {
		char name[48];
		snprintf(name, sizeof(name), "ae_bytes_sent_%s", phases[p]);
		x->ae_sent_bytes += grove_metrics_info_u64(t, len, name);
		snprintf(name, sizeof(name), "ae_bytes_received_%s", phases[p]);
		x->ae_received_bytes += grove_metrics_info_u64(t, len, name);
	}
	m->hist_next = (m->hist_next + 1) % GROVE_MONITOR_HISTORY_MAX;
	if (m->hist_n < GROVE_MONITOR_HISTORY_MAX)
		m->hist_n++;
}

static void snap_history(grove_monitor_t *m, grove_monitor_snapshot_t *s)
{
	s->history = grove_malloc((m->hist_n ? m->hist_n : 1) * sizeof(*s->history));
	if (!s->history)
		return;
	size_t first = (m->hist_next + GROVE_MONITOR_HISTORY_MAX - m->hist_n) % GROVE_MONITOR_HISTORY_MAX;
	for (size_t i = 0; i < m->hist_n; i++)
		s->history[i] = m->history[(first + i) % GROVE_MONITOR_HISTORY_MAX];
	s->nhistory = m->hist_n;
}

/* Builds a snapshot of the node now; NULL when memory is short. */
static grove_monitor_snapshot_t *snapshot_take(grove_monitor_t *m)
{
	const grove_monitor_config_t *c = &m->cfg;
	grove_monitor_snapshot_t *s = grove_calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->now_ms = grove_clock_system_ms(NULL);
	s->node_id = c->node_id;
	s->version = c->version;
	grove_buf_init(&s->info, 0);
	grove_cmd_info_all(c->env, &s->info);
	snap_commands(s, c->env);
	if (c->cluster) {
		grove_cluster_ae_sessions(c->cluster, s->ae_sessions, &s->ae_session_sum_us, &s->ae_session_count);
		s->peers = grove_malloc(GROVE_MONITOR_PEERS_MAX * sizeof(*s->peers));
		if (s->peers)
			s->npeers = grove_cluster_peers(c->cluster, s->peers, GROVE_MONITOR_PEERS_MAX);
	}
	s->warnings = grove_malloc(GROVE_LOG_RECENT_MAX * sizeof(*s->warnings));
	if (s->warnings)
		s->nwarnings = grove_log_recent(c->log, s->warnings, GROVE_LOG_RECENT_MAX);
	if (grove_buf_failed(&s->info) || !s->cmds || (c->cluster && !s->peers) || !s->warnings) {
		snapshot_free(s);
		return NULL;
	}
	sample(m, s);
	snap_history(m, s);
	if (!s->history) {
		snapshot_free(s);
		return NULL;
	}
	return s;
}

/* Takes and publishes a snapshot; keeps the old one if that fails. */
static void publish(grove_monitor_t *m)
{
	grove_monitor_snapshot_t *s = snapshot_take(m), *old;
	if (!s)
		return;
	pthread_mutex_lock(&m->mu);
	old = m->snap;
	m->snap = s;
	pthread_mutex_unlock(&m->mu);
	snapshot_free(old);
}

static void on_timer(uv_timer_t *t)
{
	publish(t->data);
}

/* ---- HTTP (libmicrohttpd's thread) ---- */

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned status, const char *type,
			       const void *body, size_t len)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Whether the request carries the password (Basic auth, any user). */
static bool authorized(const grove_monitor_t *m, struct MHD_Connection *conn)
{
	const char *want = m->cfg.requirepass;
	if (!want || !want[0])
		return true;
	char *pass = NULL;
	char *user = MHD_basic_auth_get_username_password(conn, &pass);
	bool ok = pass && strlen(pass) == strlen(want) && sodium_memcmp(pass, want, strlen(want)) == 0;
	if (pass) {
		sodium_memzero(pass, strlen(pass));
		MHD_free(pass);
	}
	if (user)
		MHD_free(user);
	return ok;
}

/* Renders /metrics or /status.json from the current snapshot. */
static enum MHD_Result serve_rendered(grove_monitor_t *m, struct MHD_Connection *conn, bool metrics)
{
	grove_buf_t out;
	grove_buf_init(&out, 0);
	pthread_mutex_lock(&m->mu);
	if (m->snap && metrics)
		grove_metrics_render(m->snap, &out);
	else if (m->snap)
		grove_status_json_render(m->snap, &out);
	pthread_mutex_unlock(&m->mu);
	enum MHD_Result ret;
	if (grove_buf_failed(&out) || out.len == 0)
		ret = respond(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", "out of memory\n", 14);
	else
		ret = respond(conn, MHD_HTTP_OK,
			      metrics ? "text/plain; version=0.0.4; charset=utf-8" : "application/json",
			      out.data, out.len);
	grove_buf_close(&out);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_len, void **req_ctx)
{
	grove_monitor_t *m = cls;
	(void)version;
	(void)upload;
	(void)upload_len;
	(void)req_ctx;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return respond(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "GET only\n", 9);
	if (!authorized(m, conn)) {
		struct MHD_Response *r = MHD_create_response_from_buffer(13, (void *)"unauthorized\n",
									 MHD_RESPMEM_PERSISTENT);
		if (!r)
			return MHD_NO;
		enum MHD_Result ret = MHD_queue_basic_auth_fail_response(conn, "grove", r);
		MHD_destroy_response(r);
		return ret;
	}
	if (strcmp(url, "/metrics") == 0)
		return serve_rendered(m, conn, true);
	if (strcmp(url, "/status.json") == 0)
		return serve_rendered(m, conn, false);
	if (strcmp(url, "/") == 0 || strcmp(url, "/index.html") == 0)
		return respond(conn, MHD_HTTP_OK, "text/html; charset=utf-8", grove_status_html,
			       grove_status_html_len);
	return respond(conn, MHD_HTTP_NOT_FOUND, "text/plain", "not found: /, /metrics, /status.json\n", 37);
}

/* ---- lifecycle ---- */

static int start_httpd(grove_monitor_t *m, char *err, size_t elen)
{
	const grove_hostport_t *a = m->cfg.addr;
	char port[8];
	snprintf(port, sizeof(port), "%u", a->port);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *res = NULL;
	int rc = getaddrinfo(a->host, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, elen, "--metrics %s: %s", a->host, gai_strerror(rc));
		return GROVE_ECONFIG;
	}
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO;
	if (res->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	m->httpd = MHD_start_daemon(flags, a->port, NULL, NULL, on_request, m, MHD_OPTION_SOCK_ADDR,
				    res->ai_addr, MHD_OPTION_CONNECTION_LIMIT,
				    (unsigned)GROVE_MONITOR_CONNECTIONS_MAX, MHD_OPTION_CONNECTION_TIMEOUT,
				    (unsigned)GROVE_MONITOR_TIMEOUT_S, MHD_OPTION_END);
	freeaddrinfo(res);
	if (!m->httpd) {
		snprintf(err, elen, "--metrics %s:%u: cannot listen (address in use or not local?)", a->host,
			 a->port);
		return GROVE_EIO;
	}
	return 0;
}

int grove_monitor_start(const grove_monitor_config_t *cfg, grove_monitor_t **out, char *err, size_t elen)
{
	grove_monitor_t *m = grove_calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, elen, "--metrics: out of memory");
		return GROVE_ENOMEM;
	}
	m->cfg = *cfg;
	pthread_mutex_init(&m->mu, NULL);
	publish(m); /* /metrics answers from the first request on */
	int rc = start_httpd(m, err, elen);
	if (rc < 0) {
		grove_monitor_destroy(m);
		return rc;
	}
	uv_timer_init(cfg->loop, &m->timer);
	m->timer.data = m;
	m->timer_open = true;
	uv_timer_start(&m->timer, on_timer, GROVE_MONITOR_PERIOD_MS, GROVE_MONITOR_PERIOD_MS);
	*out = m;
	return 0;
}

void grove_monitor_stop(grove_monitor_t *m)
{
	if (!m)
		return;
	if (m->httpd) {
		MHD_stop_daemon(m->httpd); /* joins the HTTP thread */
		m->httpd = NULL;
	}
	if (m->timer_open) {
		m->timer_open = false;
		uv_close((uv_handle_t *)&m->timer, NULL);
	}
}

void grove_monitor_destroy(grove_monitor_t *m)
{
	if (!m)
		return;
	GROVE_ASSERT(!m->httpd && !m->timer_open);
	snapshot_free(m->snap);
	pthread_mutex_destroy(&m->mu);
	grove_free(m);
}
