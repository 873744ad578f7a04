/*
 * sim_figures.c - the figure experiments of grove-sim --figures.
 *
 * spread:  an idle cluster (anti-entropy on, no faults) warms up for 4 s;
 *          one register write lands at node 0; every 25 ms of virtual time
 *          the simulator counts the nodes whose store holds the key.  The
 *          time for all nodes to hold it, in anti-entropy rounds
 *          (interval_ms), stands beside log3 N + ln ln N (push-pull rumour
 *          spreading with one partner per round, Karp et al. 2000).  Peers
 *          come from the membership core ("member") or, where full
 *          membership tables do not fit (they cost O(N^2) memory), from the
 *          simulator's uniform sampler of live nodes ("oracle").
 * detect:  membership only; all nodes join through 3 seeds; once every node
 *          sees all alive, a non-seed node crashes.  Reported: time to full
 *          view after start, to the first suspicion anywhere, to every live
 *          node marking it dead (the crash comes FIG_QUIET_MS after the
 *          full view, once the join broadcasts drained); beside SWIM's
 *          expected first detection
 *          e/(e-1) T and the suspicion timeout of the core (Lifeguard: from
 *          4 max(1, log10 N) T down from 6x that with confirmations).
 * traffic: messages (datagrams + stream frames) and bytes per node per
 *          round, in the idle window before the event and during it.
 * Every experiment runs with the default signed datagrams unless --secure 0
 * (then it says so), and prints the resident memory per node (the peak RSS
 * of the process that ran it over N).  Each experiment runs in a child
 * process that exits without tearing the cluster down: closing 10,000
 * stores costs minutes and the figures do not depend on it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gossip/member/member.h"
#include "tests/sim/sim.h"
#include "tests/sim/sim_figures.h"

#define FIG_SIZES_MAX 8
#define FIG_STEP_MS 25
#define FIG_WARM_MS 4000
#define FIG_IDLE_ROUNDS 4 /* idle window measured before the event */
#define FIG_SPREAD_MAX_MS 120000
#define FIG_JOIN_MAX_MS 600000
#define FIG_DETECT_MAX_MS 300000
#define FIG_AE_INTERVAL_MS 500
#define FIG_PROBE_MS 1000
#define FIG_QUIET_MS 20000 /* after the join: the join broadcasts drain */

typedef struct fig_traffic {
	uint64_t msgs, bytes;
} fig_traffic_t;

static void fig_config(sim_config_t *c, uint64_t seed, uint32_t n, bool secure, double loss)
{
	sim_config_init(c);
	c->seed = seed;
	c->nodes = n;
	c->secure = secure;
	c->loss = loss;
	c->dup = 0;
	c->fault_ms = 0;
	c->partitions = c->crashes = c->forgeries = c->ops = 0;
	c->check_every_ms = 0;
	c->ae_interval_ms = FIG_AE_INTERVAL_MS;
	c->probe_interval_ms = FIG_PROBE_MS;
}

static fig_traffic_t fig_traffic(sim_t *s)
{
	sim_result_t r;
	sim_get_result(s, &r);
	return (fig_traffic_t){ r.datagrams + r.frames, r.datagram_bytes + r.frame_bytes };
}

static void fig_per_round(fig_traffic_t a, fig_traffic_t b, uint32_t n, double rounds, double *msgs,
			  double *bytes)
{
	*msgs = rounds > 0 ? (double)(b.msgs - a.msgs) / n / rounds : 0;
	*bytes = rounds > 0 ? (double)(b.bytes - a.bytes) / n / rounds : 0;
}

static int fig_spread(uint64_t seed, uint32_t n, bool secure, double loss, bool member, bool push)
{
	sim_config_t c;
	fig_config(&c, seed, n, secure, loss);
	c.ae_push = push;
	c.membership = member;
	c.peers = member ? SIM_PEERS_MEMBER : SIM_PEERS_ORACLE;
	sim_t *s = sim_create(&c);
	if (!s)
		return -1;
	uint64_t t0 = FIG_WARM_MS;
	if (member) { /* let the membership converge first */
		while (sim_count_full_view(s) < n && sim_now(s) < FIG_JOIN_MAX_MS)
			sim_run_until(s, sim_now(s) + 250);
		t0 = sim_now(s) + FIG_WARM_MS;
	}
	sim_run_until(s, t0 - FIG_IDLE_ROUNDS * FIG_AE_INTERVAL_MS);
	fig_traffic_t idle0 = fig_traffic(s);
	sim_run_until(s, t0);
	fig_traffic_t idle1 = fig_traffic(s);
	sim_write_probe(s, 0, "probe");
	uint64_t t_all = 0;
	while (!t_all && sim_now(s) - t0 < FIG_SPREAD_MAX_MS && sim_run_until(s, sim_now(s) + FIG_STEP_MS))
		if (sim_count_holding(s, "probe") == n)
			t_all = sim_now(s) - t0;
	fig_traffic_t busy = fig_traffic(s);
	sim_result_t r;
	sim_get_result(s, &r);
	double rounds = (double)t_all / FIG_AE_INTERVAL_MS, im, ib, bm, bb;
	fig_per_round(idle0, idle1, n, FIG_IDLE_ROUNDS, &im, &ib);
	fig_per_round(idle1, busy, n, rounds, &bm, &bb);
	double bound = log((double)n) / log(3.0) + log(log((double)n));
	char label[16];
	snprintf(label, sizeof(label), "%s%s", member ? "member" : "oracle", push ? "+push" : "");
	printf("spread  %6u %4.0f%% %-11s %8.2f %9.2f %9.2f %8.0f %9.2f %8.0f %8.1f %s\n", n, loss * 100,
	       label, t_all ? rounds : -1.0, bound, im, ib, bm, bb,
	       r.rss_bytes / 1024.0 / n, r.ok ? "" : r.failure);
	fflush(stdout);
	return t_all && r.ok ? 0 : -1; /* the child exits: no teardown */
}

/* Membership only: join, then crash node n-1 and time its detection. */
static int fig_detect(uint64_t seed, uint32_t n, bool secure, double loss)
{
	sim_config_t c;
	fig_config(&c, seed, n, secure, loss);
	c.antientropy = false;
	sim_t *s = sim_create(&c);
	if (!s)
		return -1;
	while (sim_count_full_view(s) < n && sim_now(s) < FIG_JOIN_MAX_MS)
		sim_run_until(s, sim_now(s) + 250);
	uint64_t joined = sim_now(s);
	sim_run_until(s, joined + FIG_QUIET_MS);
	fig_traffic_t a = fig_traffic(s);
	uint64_t t0 = sim_now(s);
	uint32_t victim = n - 1;
	sim_crash(s, victim);
	uint64_t first = 0, all = 0;
	while (!all && sim_now(s) - t0 < FIG_DETECT_MAX_MS && sim_run_until(s, sim_now(s) + FIG_STEP_MS)) {
		if (!first && (sim_count_seeing(s, victim, GROVE_MEMBER_SUSPECT) ||
			       sim_count_seeing(s, victim, GROVE_MEMBER_DEAD)))
			first = sim_now(s) - t0;
		if (sim_count_seeing(s, victim, GROVE_MEMBER_DEAD) == n - 1)
			all = sim_now(s) - t0;
	}
	fig_traffic_t b = fig_traffic(s);
	double msgs, bytes, periods = (double)(sim_now(s) - t0) / FIG_PROBE_MS;
	fig_per_round(a, b, n - 1, periods, &msgs, &bytes);
	double scale = n > 10 ? log10((double)n) : 1.0;
	double swim_first = FIG_PROBE_MS * exp(1.0) / (exp(1.0) - 1.0);
	double susp_min = 4 * scale * FIG_PROBE_MS, susp_max = 6 * susp_min;
	sim_result_t r;
	sim_get_result(s, &r);
	printf("detect  %6u %4.0f%% %9.1f %9.2f %9.2f %9.2f %7.1f-%-7.1f %8.2f %8.0f %8.1f %s\n", n, loss * 100,
	       joined / 1000.0, first / 1000.0, all ? all / 1000.0 : -1.0, swim_first / 1000.0,
	       (swim_first + FIG_PROBE_MS + susp_min) / 1000.0, (swim_first + FIG_PROBE_MS + susp_max) / 1000.0,
	       msgs, bytes, r.rss_bytes / 1024.0 / n, r.ok ? "" : r.failure);
	fflush(stdout);
	return all && r.ok ? 0 : -1; /* the child exits: no teardown */
}

static size_t fig_parse(const char *sizes, uint32_t *out)
{
	size_t k = 0;
	const char *p = sizes;
	while (*p && k < FIG_SIZES_MAX) {
		char *end;
		unsigned long v = strtoul(p, &end, 10);
		if (end == p || v < 2 || v > SIM_NODES_MAX)
			return 0;
		out[k++] = (uint32_t)v;
		p = *end == ',' ? end + 1 : end;
	}
	return k;
}

typedef struct fig_job {
	int kind; /* 0 spread oracle, 1 spread member, 2 detect */
	uint64_t seed;
	uint32_t n;
	bool secure, push;
	double loss;
} fig_job_t;

/* Runs one experiment in a child process; 0 when it succeeded. */
static int fig_fork(const fig_job_t *j)
{
	fflush(stdout);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int rc = j->kind == 2 ? fig_detect(j->seed, j->n, j->secure, j->loss)
				      : fig_spread(j->seed, j->n, j->secure, j->loss, j->kind == 1, j->push);
		fflush(stdout);
		_exit(rc == 0 ? 0 : 1);
	}
	int status = 0;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		printf("        experiment failed (N=%u, kind %d, status %d)\n", j->n, j->kind, status);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("        (took %.1f s of wall time)\n", (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	return 0;
}

int sim_figures(const char *sizes, unsigned kinds, uint64_t seed, bool secure, bool push, double loss)
{
	uint32_t ns[FIG_SIZES_MAX];
	size_t count = fig_parse(sizes, ns);
	if (count == 0) {
		fprintf(stderr, "--figures: sizes as N1,N2,... (2..%u)\n", SIM_NODES_MAX);
		return -1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	double losses[2] = { 0.0, 0.1 };
	size_t nl = 2;
	if (loss >= 0) {
		losses[0] = loss;
		nl = 1;
	}
	printf("grove-sim figures, seed %llu, datagrams %s; anti-entropy round %u ms, probe period %u ms\n",
	       (unsigned long long)seed, secure ? "signed and verified (Ed25519, real)" : "PLAINTEXT (--secure 0)",
	       FIG_AE_INTERVAL_MS, FIG_PROBE_MS);
	printf("        %6s %5s %-11s %8s %9s %9s %9s %8s %9s %8s %8s\n", "N", "loss", "peers", "rounds",
	       "log3N+lnlnN", "idle msg", "idle B", "busy msg", "busy B", "", "KB/node");
	int rc = 0;
	for (size_t i = 0; i < count; i++)
		for (size_t l = 0; l < nl; l++) {
			if (kinds & SIM_FIG_SPREAD_ORACLE)
				rc |= fig_fork(&(fig_job_t){ 0, seed, ns[i], secure, push, losses[l] });
			if ((kinds & SIM_FIG_SPREAD_MEMBER) && ns[i] <= GROVE_MEMBER_MAX / 4)
				rc |= fig_fork(&(fig_job_t){ 1, seed, ns[i], secure, push, losses[l] });
		}
	printf("        %6s %5s %9s %9s %9s %9s %15s %8s %8s %8s\n", "N", "loss", "join s", "1st susp",
	       "all dead", "SWIM 1st", "SWIM dead s", "msg/per", "B/per", "KB/node");
	for (size_t i = 0; i < count && (kinds & SIM_FIG_DETECT); i++)
		for (size_t l = 0; l < nl; l++)
			if (ns[i] <= GROVE_MEMBER_MAX / 4)
				rc |= fig_fork(&(fig_job_t){ 2, seed, ns[i], secure, false, losses[l] });
			else
				printf("detect  %6u: skipped: full membership tables cost O(N^2) memory and the core"
				       " holds at most GROVE_MEMBER_MAX = %u members\n", ns[i], GROVE_MEMBER_MAX);
	return rc ? -1 : 0;
}
