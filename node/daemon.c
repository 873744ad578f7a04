/*
 * daemon.c - groved's start-up, loop and stop (see daemon.h).
 *
 * One struct (daemon_t) owns everything the process runs: log, identity,
 * db, command environment, RESP server, gossip sockets and signal
 * handles.  Start-up fills it in order; the stop path undoes it in reverse:
 * signal -> server shutdown (clients finish) -> gossip sockets close ->
 * signal handles close -> the loop ends -> store closed.
 */
#include "node/daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sodium.h>
#include <uv.h>

#include "grove/alloc.h"
#include "node/resp_commands.h"
#include "node/cluster_sockets.h"
#include "gossip/secure/identity.h"
#include "node/keyfile.h"
#include "node/log.h"
#include "node/cluster.h"
#include "node/resp_server.h"
#include "grove/db.h"

#define ERR_BYTES 512
#define GROVE_TEST_SKEW_MAX_MS (7LL * 24 * 3600 * 1000) /* = the HLC's max offset cap */

typedef struct daemon {
	const grove_config_t *cfg;
	grove_log_t log;
	grove_identity_t identity; /* secret key wiped at exit */
	grove_db_t *db;
	grove_cluster_t *members;
	uv_loop_t loop;
	grove_cmd_env_t env;
	grove_node_stats_t stats;
	grove_resp_server_t server;
	grove_cluster_sockets_t gossip;
	uv_signal_t sig_term, sig_int, sig_hup;
	char client_addr[GROVE_HOST_MAX + 16];
	char gossip_addr[GROVE_HOST_MAX + 16];
	int64_t clock_skew_ms; /* GROVE_TEST_CLOCK_SKEW_MS: tests only */
	bool stopping, signals_started;
} daemon_t;

static int check_protected_mode(const grove_config_t *cfg)
{
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

/* Loads --ca, --cert, --key into d->identity; the certificate must name
 * --id. */
static int load_identity(daemon_t *d)
{
	const grove_config_t *cfg = d->cfg;
	grove_cert_t cert;
	uint8_t ca_pk[GROVE_SIGN_PUBLIC_BYTES], sk[GROVE_SIGN_SECRET_BYTES];
	int rc;
	const char *what = cfg->ca;
	if ((rc = grove_keyfile_read_ca_public(cfg->ca, ca_pk)) == 0 && (what = cfg->cert) &&
	    (rc = grove_keyfile_read_cert(cfg->cert, &cert)) == 0 && (what = cfg->key) &&
	    (rc = grove_keyfile_read_node_secret(cfg->key, sk)) == 0) {
		what = cfg->cert;
		rc = grove_identity_init(&d->identity, &cert, sk, ca_pk, grove_clock_system_ms(NULL));
		sodium_memzero(sk, sizeof(sk));
	}
	if (rc < 0) {
		grove_log_error(&d->log, "identity: %s: %s", what, grove_strerror(rc));
		return 1;
	}
	if (strcmp(grove_identity_node_id(&d->identity), cfg->id) != 0) {
		grove_log_error(&d->log, "identity: certificate %s is for node '%s', not --id '%s'",
				cfg->cert, grove_identity_node_id(&d->identity), cfg->id);
		return 1;
	}
	return 0;
}

/* Refuses a store that belongs to another node id; records ours. */
static int check_owner(daemon_t *d)
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
	const daemon_t *d = ctx;
	return (uint64_t)((int64_t)grove_clock_system_ms(NULL) + d->clock_skew_ms);
}

/* GROVE_TEST_CLOCK_SKEW_MS (signed milliseconds, for the harness's
 * clock-skew fault test only) shifts this node's HLC physical clock. */
static void read_clock_skew(daemon_t *d)
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

static int open_store(daemon_t *d)
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
	daemon_t *d = ctx;
	if (!d->signals_started)
		return;
	uv_close((uv_handle_t *)&d->sig_term, NULL);
	uv_close((uv_handle_t *)&d->sig_int, NULL);
	uv_close((uv_handle_t *)&d->sig_hup, NULL);
}

static void on_members_closed(void *ctx)
{
	daemon_t *d = ctx;
	grove_cluster_sockets_close(&d->gossip, on_gossip_closed, d);
}

static void on_server_down(void *ctx)
{
	daemon_t *d = ctx;
	grove_log_info(&d->log, "clients closed; closing gossip");
	if (d->members)
		grove_cluster_close(d->members, on_members_closed, d);
	else
		on_members_closed(d);
}

static void on_left(void *ctx)
{
	daemon_t *d = ctx;
	grove_resp_server_shutdown(&d->server, on_server_down, d);
}

static void on_signal(uv_signal_t *s, int signum)
{
	daemon_t *d = s->data;
	if (signum == SIGHUP) {
		int rc = grove_log_reopen(&d->log);
		grove_log_info(&d->log, "SIGHUP: log reopened%s", rc < 0 ? " (failed, kept the old file)" : "");
		return;
	}
	if (d->stopping)
		return;
	d->stopping = true;
	grove_log_info(&d->log, "%s: leaving the cluster and stopping", signum == SIGTERM ? "SIGTERM" : "SIGINT");
	if (d->members)
		grove_cluster_leave(d->members, on_left, d);
	else
		on_left(d);
}

static void setup_env(daemon_t *d)
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
	d->env.version = GROVE_VERSION;
	d->env.now_ms = grove_clock_system_ms;
	d->env.stats = &d->stats;
	d->stats.start_ms = grove_clock_system_ms(NULL);
}

/* Binds the client and gossip ports and installs signal handlers. */
static int start_io(daemon_t *d)
{
	char err[ERR_BYTES];
	grove_resp_server_init(&d->server, &d->loop, &d->env, &d->log, &d->stats, d->cfg);
	if (grove_resp_server_listen(&d->server, err, sizeof(err)) < 0) {
		grove_log_error(&d->log, "%s", err);
		return 1;
	}
	grove_cluster_sockets_init(&d->gossip, &d->loop, &d->cfg->gossip, &d->log, &d->stats);
	if (grove_cluster_sockets_start(&d->gossip, err, sizeof(err)) < 0 ||
	    grove_cluster_start(&d->members, &d->loop, d->cfg, &d->identity, d->db, &d->gossip,
				   &d->log, err, sizeof(err)) < 0) {
		grove_log_error(&d->log, "%s", err);
		return 1;
	}
	d->env.hooks.members = grove_cluster_members;
	d->env.hooks.gossip_info = grove_cluster_info;
	d->env.hooks.sync = grove_cluster_sync;
	d->env.hooks.ctx = d->members;
	uv_signal_t *sigs[] = {&d->sig_term, &d->sig_int, &d->sig_hup};
	int nums[] = {SIGTERM, SIGINT, SIGHUP};
	for (int i = 0; i < 3; i++) {
		uv_signal_init(&d->loop, sigs[i]);
		sigs[i]->data = d;
		uv_signal_start(sigs[i], on_signal, nums[i]);
	}
	d->signals_started = true;
	grove_log_info(&d->log, "groved %s ready: clients on %s, gossip on %s, durability %s, "
				"data %s%s",
		       GROVE_VERSION, d->client_addr, d->gossip_addr, d->env.durability,
		       d->cfg->data_dir, d->cfg->requirepass[0] ? ", password required" : "");
	return 0;
}

/* After a failed start: closes whatever handles exist and drains the loop. */
static void abort_io(daemon_t *d)
{
	if (!d->stopping) {
		d->stopping = true;
		grove_resp_server_shutdown(&d->server, on_server_down, d);
	}
	uv_run(&d->loop, UV_RUN_DEFAULT);
}

int grove_daemon_run(const grove_config_t *cfg)
{
	int status = check_protected_mode(cfg);
	if (status)
		return status;
	daemon_t *d = grove_calloc(1, sizeof(*d));
	if (!d || grove_log_init(&d->log, cfg->log_file, cfg->log_level, cfg->id) < 0) {
		fprintf(stderr, "groved: cannot open log file %s: %s\n", cfg->log_file, strerror(errno));
		grove_free(d);
		return 1;
	}
	d->cfg = cfg;
	signal(SIGPIPE, SIG_IGN);
	setenv("UV_THREADPOOL_SIZE", GROVE_THREADPOOL_SIZE, 0);
	status = load_identity(d);
	if (status == 0)
		status = open_store(d);
	if (status == 0) {
		uv_loop_init(&d->loop);
		setup_env(d);
		status = start_io(d);
		if (status == 0)
			uv_run(&d->loop, UV_RUN_DEFAULT);
		else
			abort_io(d);
		uv_loop_close(&d->loop);
		grove_cluster_destroy(d->members);
		grove_cmd_env_close(&d->env);
	}
	if (d->db)
		grove_db_close(d->db);
	grove_identity_close(&d->identity);
	grove_log_info(&d->log, "stopped (exit status %d)", status);
	grove_log_close(&d->log);
	grove_free(d);
	return status;
}
