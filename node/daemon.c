/*
 * daemon.c - groved's start-up, loop and stop (see daemon.h).
 *
 * One struct (grove_daemon_t) owns everything a node runs: log, identity,
 * db, command environment, RESP server, gossip sockets and (under
 * grove_daemon_run) signal handles.  Start-up fills it in order; the stop
 * path undoes it in reverse: stop (signal or grove_daemon_stop) -> gossip
 * leave -> server shutdown (clients finish) -> cluster and gossip sockets
 * close -> signal handles close -> the loop runs dry -> store closed
 * (grove_daemon_destroy).
 */
#include "node/daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include <uv.h>

#include "base/assert.h"
#include "grove/alloc.h"
#include "node/resp_commands.h"
#include "node/cluster_sockets.h"
#include "gossip/secure/identity.h"
#include "node/keyfile.h"
#include "node/log.h"
#include "node/cluster.h"
#include "node/monitor.h"
#include "node/notify.h"
#include "node/resp_server.h"
#include "grove/db.h"

#define ERR_BYTES 512
#define GROVE_TEST_SKEW_MAX_MS (7LL * 24 * 3600 * 1000) /* = the HLC's max offset cap */
#define READY_POLL_MS 50 /* how often start-up checks whether membership joined */
/* Active expiry (as Redis's hz 10 cycle): every EXPIRE_TICK_MS the loop
 * removes keys whose deadline passed, EXPIRE_BATCH_KEYS at a time, until
 * none is left or EXPIRE_BUDGET_MS went by (a quarter of the tick, Redis's
 * 25%), at most EXPIRE_BATCHES_MAX batches. */
#define EXPIRE_TICK_MS 100
#define EXPIRE_BATCH_KEYS 32
#define EXPIRE_BUDGET_MS 25
#define EXPIRE_BATCHES_MAX 64

struct grove_daemon {
	const grove_config_t *cfg; /* = &own_cfg */
	grove_config_t own_cfg;    /* the caller's, with the advertised address derived */
	grove_log_t log;
	grove_identity_t identity; /* secret key wiped at exit */
	grove_db_t *db;
	grove_cluster_t *members;
	uv_loop_t *loop; /* borrowed */
	grove_cmd_env_t env;
	grove_node_stats_t stats;
	grove_wait_t wait;
	grove_resp_server_t server;
	grove_cluster_sockets_t gossip;
	grove_monitor_t *monitor;  /* --metrics; NULL: off */
	uv_timer_t ready_timer;    /* until READY=1 is sent */
	uint64_t ready_deadline_ms;
	bool ready_timer_open;
	uv_timer_t expire_timer;   /* active expiry (EXPIRE_TICK_MS) */
	bool expire_timer_open;
	uv_signal_t sig_term, sig_int, sig_hup;
	char client_addr[GROVE_HOST_MAX + 16];
	char gossip_addr[GROVE_HOST_MAX + 16];
	int64_t clock_skew_ms; /* GROVE_TEST_CLOCK_SKEW_MS: tests only */
	int signals_started; /* signal handles initialized */
	bool stopping, env_ready;
	bool down; /* every handle of the node closed (the signals' close pending) */
};

static int check_protected_mode(const grove_config_t *cfg)
{
	if (cfg->metrics.port && !grove_hostport_is_loopback(&cfg->metrics) && !cfg->requirepass[0]) {
		fprintf(stderr,
			"groved: refusing to start: --metrics %s is not a loopback address and no\n"
			"--requirepass is set (protected mode).  The status page names every member\n"
			"and address.  Keep it on 127.0.0.1, or set a password (requirepass = ... in\n"
			"the --config file): the monitoring port then asks for it (HTTP Basic auth).\n",
			cfg->metrics.host);
		return 2;
	}
	if (grove_hostport_is_loopback(&cfg->client) || cfg->requirepass[0])
		return 0;
	fprintf(stderr,
		"groved: refusing to start: --client %s is not a loopback address and no\n"
		"--requirepass is set (protected mode).  Anyone who can reach that address\n"
		"could read and write every key.  Either keep the default 127.0.0.1 address,\n"
		"or set a password (requirepass = ... in the --config file) so that clients\n"
		"must AUTH first.\n",
		cfg->client.host);
	return 2;
}

/* Logs why the key file `path` could not be read, with the fix. */
static void log_keyfile_error(grove_daemon_t *d, const char *path, int rc)
{
	if (rc == GROVE_ENOTFOUND)
		grove_log_error(&d->log, "identity: %s: no such file: create the node's key set with "
					 "grove cert CA_DIR --id %s --out %s, or point --ca, --cert and --key "
					 "at an existing one",
				path, d->cfg->id, d->cfg->data_dir);
	else
		grove_log_error(&d->log, "identity: %s: %s", path, grove_keyfile_strerror(rc));
}

/* Logs why the certificate was refused, naming the files involved. */
static void log_cert_error(grove_daemon_t *d, int rc)
{
	const grove_config_t *cfg = d->cfg;
	if (rc == GROVE_EINVAL)
		grove_log_error(&d->log, "identity: node key %s does not match certificate %s (it was "
					 "issued for another key): use the key created with that certificate, "
					 "or issue a new one with grove cert",
				cfg->key, cfg->cert);
	else if (rc == GROVE_EUNTRUSTED)
		grove_log_error(&d->log, "identity: %s: certificate not signed by the cluster CA in %s "
					 "(check --ca, or issue the certificate with that CA)",
				cfg->cert, cfg->ca);
	else
		grove_log_error(&d->log, "identity: %s: %s", cfg->cert, grove_keyfile_strerror(rc));
}

/* Loads --ca, --cert, --key into *out; the certificate must name --id.
 * Every error names the file(s) at fault and the fix. */
static int load_identity_into(grove_daemon_t *d, grove_identity_t *out)
{
	const grove_config_t *cfg = d->cfg;
	grove_cert_t cert;
	uint8_t ca_pk[GROVE_SIGN_PUBLIC_BYTES], sk[GROVE_SIGN_SECRET_BYTES];
	int rc;
	if ((rc = grove_keyfile_read_ca_public(cfg->ca, ca_pk)) < 0) {
		log_keyfile_error(d, cfg->ca, rc);
		return 1;
	}
	if ((rc = grove_keyfile_read_cert(cfg->cert, &cert)) < 0) {
		log_keyfile_error(d, cfg->cert, rc);
		return 1;
	}
	if ((rc = grove_keyfile_read_node_secret(cfg->key, sk)) < 0) {
		log_keyfile_error(d, cfg->key, rc);
		return 1;
	}
	rc = grove_identity_init(out, &cert, sk, ca_pk, grove_clock_system_ms(NULL));
	sodium_memzero(sk, sizeof(sk));
	if (rc < 0) {
		log_cert_error(d, rc);
		return 1;
	}
	if (strcmp(grove_identity_node_id(out), cfg->id) != 0) {
		grove_log_error(&d->log, "identity: certificate %s is for node '%s', not --id '%s'",
				cfg->cert, grove_identity_node_id(out), cfg->id);
		grove_identity_close(out);
		return 1;
	}
	return 0;
}

static int load_identity(grove_daemon_t *d)
{
	return load_identity_into(d, &d->identity);
}

/* SIGHUP: read --cert and --key again; a certificate that is valid, names
 * our id, matches the key and does not go back in time (older issue time)
 * replaces the running one in place (everything borrows d->identity; the
 * loop thread is the only reader) and membership spreads it.  Otherwise
 * the running one stays, and the log says why. */
static void reload_identity(grove_daemon_t *d)
{
	grove_identity_t fresh;
	if (load_identity_into(d, &fresh) != 0) {
		grove_log_error(&d->log, "SIGHUP: certificate not reloaded (see above); the running one stays");
		return;
	}
	if (grove_cert_order(&fresh.cert, &d->identity.cert) < 0) {
		grove_log_error(&d->log, "SIGHUP: %s is older than the running certificate; not reloaded",
				d->cfg->cert);
	} else if (grove_cert_equal(&fresh.cert, &d->identity.cert)) {
		grove_log_info(&d->log, "SIGHUP: certificate unchanged");
		if (d->members)
			grove_cluster_reload(d->members); /* the revocation list may be new */
	} else {
		sodium_memzero(d->identity.sk, sizeof(d->identity.sk));
		d->identity = fresh;
		if (d->members)
			grove_cluster_reload(d->members);
	}
	grove_identity_close(&fresh);
}

/* Refuses a store that belongs to another node id; records ours. */
static int check_owner(grove_daemon_t *d)
{
	uint8_t *owner = NULL;
	size_t len = 0;
	int rc = grove_db_meta_get(d->db, GROVE_META_NODE_ID, &owner, &len);
	if (rc == GROVE_ENOTFOUND) {
		rc = grove_db_meta_put(d->db, GROVE_META_NODE_ID, d->cfg->id, strlen(d->cfg->id));
		if (rc < 0)
			grove_log_error(&d->log, "store: cannot record the node id: %s", grove_strerror(rc));
		return rc < 0 ? 1 : 0;
	}
	if (rc < 0) {
		grove_log_error(&d->log, "store: cannot read the node id: %s", grove_strerror(rc));
		return 1;
	}
	bool same = len == strlen(d->cfg->id) && memcmp(owner, d->cfg->id, len) == 0;
	if (!same)
		grove_log_error(&d->log, "store: data directory %s belongs to node '%.*s', not '%s'; "
					 "refusing to start",
				d->cfg->data_dir, (int)(len > 64 ? 64 : len), (const char *)owner, d->cfg->id);
	grove_free(owner);
	return same ? 0 : 1;
}

/* The HLC's physical clock: wall clock plus the test-only skew. */
static uint64_t skewed_clock(void *ctx)
{
	const grove_daemon_t *d = ctx;
	return (uint64_t)((int64_t)grove_clock_system_ms(NULL) + d->clock_skew_ms);
}

/* GROVE_TEST_CLOCK_SKEW_MS (signed milliseconds, for the harness's
 * clock-skew fault test only) shifts this node's HLC physical clock. */
static void read_clock_skew(grove_daemon_t *d)
{
	const char *v = getenv("GROVE_TEST_CLOCK_SKEW_MS");
	char *end = NULL;
	if (!v || !v[0])
		return;
	long long skew = strtoll(v, &end, 10);
	if (*end || skew < -GROVE_TEST_SKEW_MAX_MS || skew > GROVE_TEST_SKEW_MAX_MS) {
		grove_log_warn(&d->log, "GROVE_TEST_CLOCK_SKEW_MS=%s ignored (integer within +-%lld ms)", v,
			       (long long)GROVE_TEST_SKEW_MAX_MS);
		return;
	}
	d->clock_skew_ms = skew;
	grove_log_warn(&d->log, "test only: HLC clock skewed by %lld ms (GROVE_TEST_CLOCK_SKEW_MS)", skew);
}

static int open_store(grove_daemon_t *d)
{
	const grove_config_t *cfg = d->cfg;
	if (mkdir(cfg->data_dir, 0700) != 0 && errno != EEXIST) {
		grove_log_error(&d->log, "data directory %s: %s", cfg->data_dir, strerror(errno));
		return 1;
	}
	char path[GROVE_PATH_MAX + 8];
	snprintf(path, sizeof(path), "%s/db", cfg->data_dir);
	grove_db_options_t opts;
	grove_db_options_init(&opts);
	opts.node_id = cfg->id;
	opts.max_offset_ms = cfg->max_offset_ms;
	opts.durability = cfg->durability;
	opts.elem_cache_bytes = (size_t)cfg->elem_cache_bytes;
	opts.purge_in_background = true; /* a DEL of 10^6 elements does not stall the loop */
	read_clock_skew(d);
	if (d->clock_skew_ms) {
		opts.clock = skewed_clock;
		opts.clock_ctx = d;
	}
	char err[ERR_BYTES] = "";
	int rc = grove_db_open(path, &opts, &d->db, err, sizeof(err));
	if (rc < 0) {
		grove_log_error(&d->log, "store: %s", err[0] ? err : grove_strerror(rc));
		return 1;
	}
	return check_owner(d);
}

static void on_gossip_closed(void *ctx)
{
	grove_daemon_t *d = ctx;
	uv_signal_t *sigs[] = {&d->sig_term, &d->sig_int, &d->sig_hup};
	d->down = true;
	if (d->ready_timer_open) {
		d->ready_timer_open = false;
		uv_close((uv_handle_t *)&d->ready_timer, NULL);
	}
	if (d->expire_timer_open) {
		d->expire_timer_open = false;
		uv_close((uv_handle_t *)&d->expire_timer, NULL);
	}
	for (int i = 0; i < d->signals_started; i++)
		uv_close((uv_handle_t *)sigs[i], NULL);
}

static void on_members_closed(void *ctx)
{
	grove_daemon_t *d = ctx;
	grove_cluster_sockets_close(&d->gossip, on_gossip_closed, d);
}

static void on_server_down(void *ctx)
{
	grove_daemon_t *d = ctx;
	grove_log_info(&d->log, "clients closed; closing gossip");
	if (d->members)
		grove_cluster_close(d->members, on_members_closed, d);
	else
		on_members_closed(d);
}

static void on_left(void *ctx)
{
	grove_daemon_t *d = ctx;
	grove_resp_server_shutdown(&d->server, on_server_down, d);
}

/* Leaves the cluster, then shuts the server and the gossip sockets down;
 * idempotent. */
static void daemon_stop(grove_daemon_t *d, const char *why)
{
	if (d->stopping)
		return;
	d->stopping = true;
	grove_log_info(&d->log, "%s: leaving the cluster and stopping", why);
	if (grove_notify("STOPPING=1\nSTATUS=leaving the cluster") < 0)
		grove_log_warn(&d->log, "NOTIFY_SOCKET: cannot notify the service manager");
	grove_monitor_stop(d->monitor);
	if (d->members)
		grove_cluster_leave(d->members, on_left, d);
	else
		on_left(d);
}

void grove_daemon_stop(grove_daemon_t *d)
{
	daemon_stop(d, "stop requested");
}

static void on_signal(uv_signal_t *s, int signum)
{
	grove_daemon_t *d = s->data;
	if (signum == SIGHUP) {
		int rc = grove_log_reopen(&d->log);
		grove_log_info(&d->log, "SIGHUP: log reopened%s", rc < 0 ? " (failed, kept the old file)" : "");
		reload_identity(d);
		grove_resp_server_reload_tls(&d->server);
		return;
	}
	daemon_stop(d, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

static void setup_env(grove_daemon_t *d)
{
	const grove_config_t *cfg = d->cfg;
	grove_hostport_format(&cfg->client, d->client_addr, sizeof(d->client_addr));
	grove_hostport_format(&cfg->advertise, d->gossip_addr, sizeof(d->gossip_addr));
	grove_cmd_env_init(&d->env, d->db);
	d->env.requirepass = cfg->requirepass;
	d->env.node_id = cfg->id;
	d->env.client_addr = d->client_addr;
	d->env.gossip_addr = d->gossip_addr;
	d->env.durability = grove_durability_name(cfg->durability);
	d->env.cfg = cfg;
	d->env.version = GROVE_VERSION;
	d->env.now_ms = grove_clock_system_ms;
	d->env.stats = &d->stats;
	grove_wait_init(&d->wait);
	d->env.wait = &d->wait;
	d->stats.start_ms = grove_clock_system_ms(NULL);
	d->env_ready = true;
}

/* Binds the client and gossip ports and starts the cluster binding. */
static int start_io(grove_daemon_t *d)
{
	char err[ERR_BYTES];
	grove_resp_server_init(&d->server, d->loop, &d->env, &d->log, &d->stats, d->cfg);
	if (grove_resp_server_listen(&d->server, err, sizeof(err)) < 0) {
		grove_log_error(&d->log, "%s", err);
		return 1;
	}
	grove_cluster_sockets_init(&d->gossip, d->loop, &d->cfg->gossip, &d->log, &d->stats);
	if (grove_cluster_sockets_start(&d->gossip, err, sizeof(err)) < 0 ||
	    grove_cluster_start(&d->members, d->loop, d->cfg, &d->identity, d->db, &d->gossip,
				   &d->log, err, sizeof(err)) < 0) {
		grove_log_error(&d->log, "%s", err);
		return 1;
	}
	d->env.hooks.members = grove_cluster_members;
	d->env.hooks.gossip_info = grove_cluster_info;
	d->env.hooks.sync = grove_cluster_sync;
	d->env.hooks.wait_ask = grove_cluster_wait_ask;
	d->env.hooks.write_refused = grove_cluster_write_refused;
	d->env.hooks.ctx = d->members;
	grove_cluster_set_wait(d->members, &d->wait);
	char tls[32] = "";
	if (d->cfg->tls_port)
		snprintf(tls, sizeof(tls), " (TLS on port %u)", d->cfg->tls_port);
	grove_log_info(&d->log, "groved %s ready: clients on %s%s, gossip on %s, durability %s, "
				"data %s%s",
		       GROVE_VERSION, d->client_addr, tls, d->gossip_addr, d->env.durability,
		       d->cfg->data_dir, d->cfg->requirepass[0] ? ", password required" : "");
	return 0;
}

/* Starts the monitoring port (--metrics) once the cluster runs. */
static int start_monitor(grove_daemon_t *d)
{
	char err[ERR_BYTES];
	if (!d->cfg->metrics.port)
		return 0;
	grove_monitor_config_t mc = {.loop = d->loop, .addr = &d->cfg->metrics,
				     .requirepass = d->cfg->requirepass, .env = &d->env,
				     .cluster = d->members, .log = &d->log, .node_id = d->cfg->id,
				     .version = GROVE_VERSION};
	if (grove_monitor_start(&mc, &d->monitor, err, sizeof(err)) < 0) {
		grove_log_error(&d->log, "%s", err);
		return 1;
	}
	char addr[GROVE_HOST_MAX + 16];
	grove_hostport_format(&d->cfg->metrics, addr, sizeof(addr));
	grove_log_info(&d->log, "monitoring on http://%s/ (/metrics, /status.json)", addr);
	return 0;
}

/* READY=1 for the service manager once membership joined, or once the
 * join wait (GROVE_READY_JOIN_WAIT_MS) passed: a node whose seeds are all
 * down still serves, and keeps trying to join. */
static void on_ready_timer(uv_timer_t *t)
{
	grove_daemon_t *d = t->data;
	bool joined = d->members && grove_cluster_joined(d->members);
	if (!joined && grove_clock_system_ms(NULL) < d->ready_deadline_ms)
		return;
	uv_timer_stop(t);
	const char *state = joined ? "READY=1\nSTATUS=serving; joined the cluster"
				   : "READY=1\nSTATUS=serving; still joining (no seed answered yet)";
	if (grove_notify(state) < 0)
		grove_log_warn(&d->log, "NOTIFY_SOCKET: cannot notify the service manager");
	grove_log_info(&d->log, "ready (%s)", joined ? "joined" : "join wait over, still joining");
}

static void start_ready_timer(grove_daemon_t *d)
{
	uv_timer_init(d->loop, &d->ready_timer);
	d->ready_timer.data = d;
	d->ready_timer_open = true;
	d->ready_deadline_ms = grove_clock_system_ms(NULL) + GROVE_READY_JOIN_WAIT_MS;
	uv_timer_start(&d->ready_timer, on_ready_timer, 0, READY_POLL_MS);
}

/* Active expiry: removes expired keys in batches within the tick's budget
 * (grove_db_expire_cycle: deadline order from the TTL index; each removal
 * an observed-remove delete that replicates like DEL). */
static void on_expire_timer(uv_timer_t *t)
{
	grove_daemon_t *d = t->data;
	uv_update_time(d->loop);
	uint64_t start = uv_now(d->loop);
	for (int i = 0; i < EXPIRE_BATCHES_MAX; i++) {
		int rc = grove_db_expire_cycle(d->db, EXPIRE_BATCH_KEYS, NULL);
		if (rc < 0)
			grove_log_warn(&d->log, "active expiry: %s", grove_strerror(rc));
		if (rc != 1)
			break;
		uv_update_time(d->loop);
		if (uv_now(d->loop) - start >= EXPIRE_BUDGET_MS)
			break;
	}
}

static void start_expire_timer(grove_daemon_t *d)
{
	uv_timer_init(d->loop, &d->expire_timer);
	d->expire_timer.data = d;
	d->expire_timer_open = true;
	uv_timer_start(&d->expire_timer, on_expire_timer, EXPIRE_TICK_MS, EXPIRE_TICK_MS);
}

/* After a failed start: closes whatever handles exist and runs the loop
 * until they are closed. */
static void abort_io(grove_daemon_t *d)
{
	if (!d->stopping) {
		d->stopping = true;
		grove_resp_server_shutdown(&d->server, on_server_down, d);
	}
	while (!d->down && uv_run(d->loop, UV_RUN_ONCE) != 0) {
	}
}

/* Frees what start-up opened; the node's handles are closed. */
static void daemon_free(grove_daemon_t *d, int status)
{
	grove_monitor_destroy(d->monitor);
	grove_cluster_destroy(d->members);
	if (d->env_ready) {
		grove_cmd_env_close(&d->env);
		grove_wait_close(&d->wait);
	}
	if (d->db)
		grove_db_close(d->db);
	grove_identity_close(&d->identity);
	grove_log_info(&d->log, "stopped (exit status %d)", status);
	grove_log_close(&d->log);
	grove_free(d);
}

/* A wildcard gossip address is never advertised: derive the address. */
static int derive_advertise(grove_daemon_t *d)
{
	char why[GROVE_HOST_MAX + 96], err[ERR_BYTES];
	if (grove_cluster_advertise(&d->own_cfg, why, sizeof(why), err, sizeof(err)) < 0) {
		grove_log_error(&d->log, "%s", err);
		return 2;
	}
	if (why[0]) {
		char a[GROVE_HOST_MAX + 8];
		grove_hostport_format(&d->own_cfg.advertise, a, sizeof(a));
		grove_log_info(&d->log, "gossip: advertising %s (%s; set --advertise to choose)", a, why);
	}
	return 0;
}

int grove_daemon_start(const grove_config_t *cfg, uv_loop_t *loop, grove_daemon_t **out)
{
	int status = check_protected_mode(cfg);
	if (status)
		return status;
	grove_daemon_t *d = grove_calloc(1, sizeof(*d));
	if (!d || grove_log_init(&d->log, cfg->log_file, cfg->log_level, cfg->id) < 0) {
		fprintf(stderr, "groved: cannot open log file %s: %s\n", cfg->log_file, strerror(errno));
		grove_free(d);
		return 1;
	}
	d->own_cfg = *cfg;
	d->cfg = &d->own_cfg;
	d->loop = loop;
	signal(SIGPIPE, SIG_IGN);
	setenv("UV_THREADPOOL_SIZE", GROVE_THREADPOOL_SIZE, 0);
	status = derive_advertise(d);
	if (status == 0)
		status = load_identity(d);
	if (status == 0)
		status = open_store(d);
	if (status == 0) {
		setup_env(d);
		status = start_io(d);
		if (status == 0)
			status = start_monitor(d);
		if (status)
			abort_io(d);
		else
			start_ready_timer(d);
		if (status == 0)
			start_expire_timer(d);
	}
	if (status) {
		daemon_free(d, status);
		return status;
	}
	*out = d;
	return 0;
}

/* The data directory is a writable directory, or its parent is one. */
static int check_data_dir(const char *dir)
{
	struct stat st;
	if (stat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			fprintf(stderr, "groved: --data %s: not a directory\n", dir);
			return 1;
		}
		if (access(dir, W_OK | X_OK) != 0) {
			fprintf(stderr, "groved: --data %s: not writable by this user: %s\n", dir, strerror(errno));
			return 1;
		}
		return 0;
	}
	char parent[GROVE_PATH_MAX];
	snprintf(parent, sizeof(parent), "%s", dir);
	char *slash = strrchr(parent, '/');
	if (slash == parent)
		slash[1] = 0;
	else if (slash)
		*slash = 0;
	else
		snprintf(parent, sizeof(parent), ".");
	if (access(parent, W_OK | X_OK) != 0) {
		fprintf(stderr, "groved: --data %s: missing, and %s cannot be written to create it: %s\n", dir,
			parent, strerror(errno));
		return 1;
	}
	return 0;
}

int grove_daemon_check(const grove_config_t *cfg, const char *path)
{
	int status = check_protected_mode(cfg);
	if (status)
		return status;
	grove_daemon_t *d = grove_calloc(1, sizeof(*d));
	if (!d || grove_log_init(&d->log, NULL, GROVE_LOG_ERROR, cfg->id) < 0) {
		grove_free(d);
		fprintf(stderr, "groved: out of memory\n");
		return 1;
	}
	d->cfg = cfg;
	status = load_identity(d); /* errors go to stderr, naming the files */
	if (status == 0)
		status = check_data_dir(cfg->data_dir);
	if (status == 0) {
		char client[GROVE_HOST_MAX + 16], gossip[GROVE_HOST_MAX + 16], metrics[GROVE_HOST_MAX + 16] = "off";
		time_t exp = (time_t)(d->identity.cert.expires_ms / 1000);
		struct tm tm;
		char when[32];
		gmtime_r(&exp, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M UTC", &tm);
		grove_hostport_format(&cfg->client, client, sizeof(client));
		grove_hostport_format(&cfg->advertise, gossip, sizeof(gossip));
		if (cfg->metrics.port)
			grove_hostport_format(&cfg->metrics, metrics, sizeof(metrics));
		printf("groved: %s: configuration valid: node %s, certificate valid until %s, data %s, "
		       "clients %s, gossip %s, metrics %s\n",
		       path, cfg->id, when, cfg->data_dir, client, gossip, metrics);
	}
	grove_identity_close(&d->identity);
	grove_log_close(&d->log);
	grove_free(d);
	return status;
}

int grove_daemon_client_port(const grove_daemon_t *d)
{
	return grove_resp_server_port(&d->server);
}

void grove_daemon_destroy(grove_daemon_t *d)
{
	GROVE_ASSERT(d->down);
	daemon_free(d, 0);
}

/* SIGTERM and SIGINT stop the node, SIGHUP reopens the log. */
static int start_signals(grove_daemon_t *d)
{
	uv_signal_t *sigs[] = {&d->sig_term, &d->sig_int, &d->sig_hup};
	int nums[] = {SIGTERM, SIGINT, SIGHUP};
	for (int i = 0; i < 3; i++) {
		int rc = uv_signal_init(d->loop, sigs[i]);
		if (rc < 0)
			return rc;
		d->signals_started++;
		sigs[i]->data = d;
		rc = uv_signal_start(sigs[i], on_signal, nums[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int grove_daemon_run(const grove_config_t *cfg)
{
	uv_loop_t loop;
	int rc = uv_loop_init(&loop);
	if (rc < 0) {
		fprintf(stderr, "groved: cannot create the event loop: %s\n", uv_strerror(rc));
		return 1;
	}
	grove_daemon_t *d = NULL;
	int status = grove_daemon_start(cfg, &loop, &d);
	if (status == 0) {
		rc = start_signals(d);
		if (rc < 0) {
			grove_log_error(&d->log, "signal handlers: %s", uv_strerror(rc));
			status = 1;
			daemon_stop(d, "no signal handlers");
		}
		uv_run(&loop, UV_RUN_DEFAULT);
	}
	rc = uv_loop_close(&loop);
	if (rc < 0) {
		/* a handle left open is a bug in groved; the data is safe */
		if (d)
			grove_log_error(&d->log, "event loop closed with handles still open: %s", uv_strerror(rc));
		else
			fprintf(stderr, "groved: event loop closed with handles still open: %s\n", uv_strerror(rc));
		status = status ? status : 1;
	}
	if (d)
		daemon_free(d, status);
	return status;
}
