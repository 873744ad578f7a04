/*
 * bench_ae.c - anti-entropy cost against the size of the difference.
 *
 * Part 1: two LevelDB-backed stores in one process share a base of n keys
 * and differ in d keys (half changed on each side, a quarter of them new
 * keys).  One reconciliation is driven in waves (all frames one way, then
 * all frames back): printed are the round trips (waves / 2, rounded up) until
 * the last state arrived and until the session closed, protocol bytes (all
 * datagram and frame bytes except the states themselves), state bytes, wall
 * time, and beside them the bytes of a full-state transfer of the store
 * (every key and state once).  After each run the stores are equal again,
 * so the next d reuses them.
 *
 * Part 2: rounds for one write to reach all of N nodes by push (memory
 * stores, simulated network, push every 100 ms to 3 peers), beside
 * log3 N + ln ln N; and the same with digest exchange only.
 *
 * Environment: GROVE_BENCH_AE_N (default "10000,100000,1000000"),
 * GROVE_BENCH_AE_D ("1,10,100,10000"), GROVE_BENCH_AE_NODES ("16,64,256"),
 * GROVE_BENCH_AE_DIR (default /tmp/grove-bench-ae, removed at the end).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "base/assert.h"
#include "grove/alloc.h"
#include "tests/util_netsim_ae.h"

#define LIST_MAX 16

static void die(const char *what, int rc)
{
	fprintf(stderr, "bench_ae: %s failed: %s\n", what, grove_strerror(rc));
	exit(1);
}

static double wall_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int parse_list(const char *env, const char *dflt, long *out)
{
	const char *s = getenv(env);
	char buf[256];
	snprintf(buf, sizeof(buf), "%s", s ? s : dflt);
	int n = 0;
	for (char *tok = strtok(buf, ","); tok && n < LIST_MAX; tok = strtok(NULL, ","))
		out[n++] = atol(tok);
	return n;
}

static uint64_t bench_now = 1700000000000ULL;

static uint64_t bench_clock(void *ctx)
{
	(void)ctx;
	return bench_now;
}

static grove_db_t *open_dir(const char *dir, const char *id)
{
	grove_db_options_t o;
	grove_db_options_init(&o);
	o.node_id = id;
	o.clock = bench_clock;
	grove_db_t *db;
	char err[256];
	if (grove_db_open(dir, &o, &db, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_ae: %s\n", err);
		exit(1);
	}
	return db;
}

static void key_name(char *buf, size_t n, long i)
{
	snprintf(buf, n, "user:%09ld", i);
}

/* The base store of n keys (rebuilt every run: the record format may
 * change between builds). */
static void build_base(const char *dir, long n)
{
	char cmd[1300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		exit(1);
	double t0 = wall_s();
	grove_db_t *db = open_dir(dir, "base");
	char key[32], val[32];
	for (long i = 0; i < n; i++) {
		key_name(key, sizeof(key), i);
		snprintf(val, sizeof(val), "value-%ld", i);
		if (grove_db_register_set(db, key, strlen(key), val, strlen(val)) != 0)
			exit(1);
	}
	grove_db_close(db);
	fprintf(stderr, "bench_ae: built base of %ld keys in %.1f s\n", n, wall_s() - t0);
}

typedef struct full_ctx {
	grove_db_t *db;
	uint64_t bytes;
} full_ctx_t;

static int full_key(void *vctx, const void *key, size_t klen, grove_type_t type)
{
	(void)type;
	full_ctx_t *x = vctx;
	uint8_t *enc;
	size_t len;
	if (grove_db_get_encoded(x->db, key, klen, &enc, &len) == 0) {
		x->bytes += klen + len + 4; /* key, state, two small length prefixes */
		grove_free(enc);
	}
	return 0;
}

/* Bytes of sending every key with its state once. */
static uint64_t full_transfer_bytes(grove_db_t *db)
{
	full_ctx_t x = { db, 0 };
	uint8_t *start = NULL, *next = NULL;
	size_t slen = 0, nlen = 0;
	do {
		if (grove_db_scan(db, start, slen, 4096, full_key, &x, &next, &nlen) != 0)
			exit(1);
		grove_free(start);
		start = next;
		slen = nlen;
	} while (start != NULL);
	return x.bytes;
}

/* ---- two cores wired back to back ---- */

static size_t peer_a(void *ctx, char (*addrs)[GROVE_AE_ADDR_MAX + 1], size_t max)
{
	(void)max;
	snprintf(addrs[0], GROVE_AE_ADDR_MAX + 1, "%s", (const char *)ctx);
	return 1;
}

typedef struct side {
	grove_ae_t *ae;
	grove_rng_t rng;
	uint32_t sid;
} side_t;

typedef struct result {
	int waves_states, waves_total;
	uint64_t proto_bytes, state_bytes, keys_moved;
	uint64_t phase[GROVE_AE_PH_COUNT];
	double wall_s;
} result_t;

/* Moves all of from's frames to to; returns frames moved (0: none). */
static int wave(side_t *from, side_t *to, bool *states_seen, bool *closed)
{
	grove_out_t o;
	int moved = 0;
	while (grove_ae_poll(from->ae, bench_now, &o)) {
		if (o.kind == GROVE_OUT_STREAM_CLOSE) {
			grove_ae_stream_closed(to->ae, bench_now, to->sid);
			*closed = true;
			continue;
		}
		if (o.kind != GROVE_OUT_STREAM_FRAME)
			continue;
		if (o.len > 1 && o.bytes[1] == 0x14)
			*states_seen = true;
		grove_ae_stream_recv(to->ae, bench_now, to->sid, o.bytes, o.len);
		moved++;
	}
	return moved;
}

static void start_session(side_t *a, side_t *b)
{
	grove_out_t o;
	grove_ae_tick(b->ae, bench_now);
	bench_now += 10000;
	grove_ae_tick(b->ae, bench_now); /* b's round: a DIGEST to a */
	while (grove_ae_poll(b->ae, bench_now, &o))
		if (o.kind == GROVE_OUT_DATAGRAM)
			grove_ae_recv_datagram(a->ae, bench_now, "B", o.bytes, o.len);
	while (grove_ae_poll(a->ae, bench_now, &o)) {
		if (o.kind == GROVE_OUT_STREAM_OPEN) {
			a->sid = o.stream_id;
			int rc = grove_ae_stream_accept(b->ae, bench_now, "A", &b->sid);
			if (rc != 0)
				die("grove_ae_stream_accept", rc);
			return;
		}
	}
	fprintf(stderr, "bench_ae: no session opened\n");
	exit(1);
}

static result_t reconcile(grove_db_t *da, grove_db_t *db)
{
	grove_ae_config_t cfg;
	grove_ae_config_init(&cfg);
	cfg.interval_ms = 10000;
	cfg.fanout = 1;
	cfg.session_timeout_ms = 3600 * 1000;
	side_t a = { 0 }, b = { 0 };
	grove_rng_seed(&a.rng, 1);
	grove_rng_seed(&b.rng, 2);
	cfg.peers = peer_a;
	cfg.peers_ctx = "B";
	int rc = grove_ae_create(&cfg, da, &a.rng, &a.ae);
	if (rc != 0)
		die("grove_ae_create", rc);
	cfg.peers_ctx = "A";
	rc = grove_ae_create(&cfg, db, &b.rng, &b.ae);
	if (rc != 0)
		die("grove_ae_create", rc);
	result_t r = { 0 };
	double t0 = wall_s();
	start_session(&a, &b);
	bool closed = false;
	for (int w = 0; w < 100000 && !closed; w++) {
		bool states = false;
		int moved = wave(w % 2 ? &b : &a, w % 2 ? &a : &b, &states, &closed);
		if (moved == 0 && !closed)
			continue;
		r.waves_total = w + 1;
		if (states)
			r.waves_states = w + 1;
	}
	r.wall_s = wall_s() - t0;
	grove_ae_stats_t sa, sb;
	grove_ae_get_stats(a.ae, &sa);
	grove_ae_get_stats(b.ae, &sb);
	for (int p = 0; p < GROVE_AE_PH_COUNT; p++) {
		r.phase[p] = sa.bytes_sent[p] + sb.bytes_sent[p];
		r.proto_bytes += r.phase[p];
	}
	r.state_bytes = sa.state_bytes_sent + sb.state_bytes_sent;
	r.keys_moved = sa.keys_sent + sb.keys_sent;
	grove_ae_destroy(a.ae);
	grove_ae_destroy(b.ae);
	return r;
}

/* d differing keys: half written on each side, a quarter of them new. */
static void make_differences(grove_db_t *a, grove_db_t *b, long n, long d, uint64_t seed)
{
	grove_rng_t rng;
	grove_rng_seed(&rng, seed);
	char key[32], val[48];
	for (long i = 0; i < d; i++) {
		long k = i % 4 == 3 ? n + (long)grove_rng_below(&rng, 1u << 30)
				    : (long)grove_rng_below(&rng, (uint64_t)n);
		key_name(key, sizeof(key), k);
		snprintf(val, sizeof(val), "changed-%llu", (unsigned long long)seed + (unsigned long long)i);
		bench_now++;
		int rc = grove_db_register_set(i % 2 ? b : a, key, strlen(key), val, strlen(val));
		if (rc != 0)
			die("grove_db_register_set", rc);
	}
}

static void print_row(long n, const char *d, long dn, const result_t *r, uint64_t full)
{
	printf("%9ld %6s %5d %6d %11llu %11llu %9.1f %11llu %8.0f | %9llu %9llu %9llu\n", n, d,
	       (r->waves_states + 1) / 2, (r->waves_total + 1) / 2,
	       (unsigned long long)r->proto_bytes, (unsigned long long)r->state_bytes,
	       r->wall_s * 1000, (unsigned long long)full, (double)r->proto_bytes / dn,
	       (unsigned long long)r->phase[GROVE_AE_PH_TREE],
	       (unsigned long long)r->phase[GROVE_AE_PH_KEYS],
	       (unsigned long long)r->phase[GROVE_AE_PH_STATES]);
	fflush(stdout);
}

/* A new, empty store catching up with a (d = "all"). */
static void print_catch_up(const char *root, grove_db_t *a, long n, uint64_t full)
{
	char dir[600], cmd[1300];
	snprintf(dir, sizeof(dir), "%s/new", root);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		exit(1);
	grove_db_t *c = open_dir(dir, "C");
	result_t r = reconcile(a, c);
	if (grove_db_count(c) != grove_db_count(a))
		die("catch-up", GROVE_EPROTO);
	print_row(n, "all", n, &r, full);
	grove_db_close(c);
	if (system(cmd) != 0)
		exit(1);
}

static void part_reconcile(const char *root)
{
	long ns[LIST_MAX], ds[LIST_MAX];
	int nn = parse_list("GROVE_BENCH_AE_N", "10000,100000,1000000", ns);
	int nd = parse_list("GROVE_BENCH_AE_D", "1,10,100,10000", ds);
	printf("%9s %6s %5s %6s %11s %11s %9s %11s %8s | %9s %9s %9s\n", "n", "d", "rt_st",
	       "rt_all", "proto_B", "state_B", "wall_ms", "full_B", "proto/d", "tree_B", "keys_B",
	       "stfrm_B");
	for (int i = 0; i < nn; i++) {
		char base[512], da[600], db_[600], cmd[4000];
		snprintf(base, sizeof(base), "%s/base-%ld", root, ns[i]);
		build_base(base, ns[i]);
		snprintf(da, sizeof(da), "%s/a", root);
		snprintf(db_, sizeof(db_), "%s/b", root);
		snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s' && cp -r '%s' '%s' && cp -r '%s' '%s'", da,
			 db_, base, da, base, db_);
		if (system(cmd) != 0)
			exit(1);
		grove_db_t *a = open_dir(da, "A"), *b = open_dir(db_, "B");
		uint64_t full = full_transfer_bytes(a);
		for (int j = 0; j < nd; j++) {
			if (ds[j] > ns[i])
				continue;
			make_differences(a, b, ns[i], ds[j], (uint64_t)(i * 100 + j));
			result_t r = reconcile(a, b);
			uint8_t ra[16], rb[16];
			grove_db_root_digest(a, ra);
			grove_db_root_digest(b, rb);
			if (memcmp(ra, rb, 16) != 0 || r.keys_moved < (uint64_t)ds[j]) {
				fprintf(stderr, "bench_ae: reconciliation incomplete\n");
				exit(1);
			}
			char dname[24];
			snprintf(dname, sizeof(dname), "%ld", ds[j]);
			print_row(ns[i], dname, ds[j], &r, full);
		}
		print_catch_up(root, a, ns[i], full);
		grove_db_close(a);
		grove_db_close(b);
	}
}

/* ---- part 2: rounds to reach all nodes ---- */

static bool all_have(grove_aecluster_t *c, const char *key)
{
	for (int i = 0; i < c->n; i++) {
		uint8_t *enc;
		size_t len;
		if (grove_db_get_encoded(c->node[i].db, key, strlen(key), &enc, &len) != 0)
			return false;
		grove_free(enc);
	}
	return true;
}

/* Rounds (of round_ms) until every node holds one fresh write. */
static double spread_rounds(int n, uint64_t seed, bool push, uint32_t round_ms)
{
	grove_ae_config_t cfg;
	grove_ae_config_init(&cfg);
	cfg.push = push;
	cfg.interval_ms = push ? 3600 * 1000 : round_ms;
	grove_aecluster_t *c = grove_aecluster_create(n, seed, &cfg);
	grove_aecluster_run(c, 1000); /* everyone started */
	bool added;
	if (grove_db_set_add(c->node[0].db, "fresh", 5, "x", 1, &added) != 0)
		exit(1);
	int rounds = 0;
	while (!all_have(c, "fresh") && rounds < 1000) {
		grove_aecluster_run(c, round_ms);
		rounds++;
	}
	grove_aecluster_destroy(c);
	return rounds;
}

static void part_spread(void)
{
	long ns[LIST_MAX];
	int nn = parse_list("GROVE_BENCH_AE_NODES", "16,64,256", ns);
	printf("\n%6s %14s %14s %16s %18s\n", "N", "push_rounds", "push_max", "log3N+lnlnN",
	       "digest_rounds");
	for (int i = 0; i < nn; i++) {
		const int trials = 5;
		double sum = 0, max = 0;
		for (int t = 0; t < trials; t++) {
			double r = spread_rounds((int)ns[i], 1000 + (uint64_t)t, true, 100);
			sum += r;
			max = r > max ? r : max;
		}
		double digest = spread_rounds((int)ns[i], 77, false, 500);
		double ref = log((double)ns[i]) / log(3.0) + log(log((double)ns[i]));
		printf("%6ld %14.1f %14.0f %16.2f %18.0f\n", ns[i], sum / trials, max, ref, digest);
		fflush(stdout);
	}
}

int main(void)
{
	const char *root = getenv("GROVE_BENCH_AE_DIR");
	root = root ? root : "/tmp/grove-bench-ae";
	mkdir(root, 0700);
	printf("== bench_ae: one reconciliation between two LevelDB stores (rt = round trips)\n");
	part_reconcile(root);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_ae: could not remove %s\n", root);
	printf("\n== bench_ae: rounds for one write to reach all N nodes (push: 100 ms rounds, "
	       "fanout 3, 3 transmits; digest only: 500 ms rounds, fanout 3)\n");
	part_spread();
	return 0;
}
