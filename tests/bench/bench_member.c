/*
 * bench_member.c - membership convergence and cost on the simulated
 * network (default timers: 1 s protocol period, 200 ms gossip), for
 * N = 16, 64, 256, 1024 (argv[1] caps N; argv[2] = "secure" adds signed
 * envelopes at N <= 64).
 *
 * For each N: simulated seconds and protocol periods until every node sees
 * all N alive after all nodes start within one second through one seed;
 * until every survivor sees a killed node dead; datagrams and bytes per
 * node per second in steady state (60 s, starting 30 s after the join).  Printed beside the push-pull epidemic
 * bound log3 N + ln ln N (periods) and Serf's figures measured at N = 16 on
 * loopback (join -> all alive 0.45 s, kill -> all failed 7.2 s).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/util_netsim_member.h"

#define SEC 1000ULL

static bool pred_all_alive(const grove_simcluster_t *cl, const void *arg)
{
	return grove_simcluster_all_see_alive(cl, *(const size_t *)arg);
}

static bool pred_all_dead(const grove_simcluster_t *cl, const void *arg)
{
	return grove_simcluster_all_see(cl, *(const size_t *)arg, GROVE_MEMBER_DEAD);
}

static double wall_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bench_one(size_t n, bool secure)
{
	grove_simcluster_t cl;
	uint64_t seed = 4242 + n;
	double w0 = wall_s();
	grove_simcluster_init(&cl, n, seed, NULL, secure);
	cl.save_on_change = false;
	grove_netsim_faults_t f = { .delay_min_ms = 1, .delay_max_ms = 10 };
	grove_netsim_set_faults(cl.net, &f);
	size_t seeds[1] = { 0 };
	uint64_t t0 = grove_simcluster_now(&cl);
	grove_simcluster_start(&cl, 0, seeds, 1, false);
	for (size_t i = 1; i < n; i++) {
		grove_simcluster_run(&cl, t0 + i * 1000 / n);
		grove_simcluster_start(&cl, i, seeds, 1, false);
	}
	uint64_t t_join = grove_simcluster_run_until_pred(&cl, t0 + 600 * SEC, 100, pred_all_alive, &n);
	double join_s = t_join ? (double)(t_join - t0) / 1000.0 : -1;

	/* steady state: 60 s of traffic after 30 s for the join gossip to drain */
	grove_netsim_stats_t a, b;
	grove_simcluster_run(&cl, grove_simcluster_now(&cl) + 30 * SEC);
	uint64_t ts = grove_simcluster_now(&cl);
	grove_netsim_get_stats(cl.net, &a);
	grove_simcluster_run(&cl, ts + 60 * SEC);
	grove_netsim_get_stats(cl.net, &b);
	double dgps = (double)(b.datagrams_sent - a.datagrams_sent) / (double)n / 60.0;
	double bps = (double)(b.bytes_sent - a.bytes_sent) / (double)n / 60.0;
	double sbps = (double)(b.stream_bytes - a.stream_bytes) / (double)n / 60.0;

	size_t victim = n / 2;
	grove_simcluster_kill(&cl, victim);
	uint64_t tk = grove_simcluster_now(&cl);
	uint64_t t_dead = grove_simcluster_run_until_pred(&cl, tk + 600 * SEC, 100, pred_all_dead, &victim);
	double dead_s = t_dead ? (double)(t_dead - tk) / 1000.0 : -1;
	double bound = log((double)n) / log(3.0) + log(log((double)n));
	printf("| %5zu | %-6s | %7.1f | %7.1f | %5.1f | %9.1f | %8.1f | %9.0f | %9.0f | %6llu | %6.1f |\n", n,
	       secure ? "signed" : "plain", join_s, join_s / 0.2, bound, dead_s, dgps, bps, sbps,
	       (unsigned long long)cl.false_dead, wall_s() - w0);
	fflush(stdout);
	grove_simcluster_close(&cl);
}

int main(int argc, char **argv)
{
	size_t cap = argc > 1 ? (size_t)strtoul(argv[1], NULL, 10) : 1024;
	bool secure = argc > 2 && strcmp(argv[2], "secure") == 0;
	printf("bench_member: simulated network, 1-10 ms delay, no loss; probe period 1 s, gossip round 200 ms\n");
	printf("baseline (Serf, N=16, loopback): join -> all alive 0.45 s, kill -> all mark failed 7.2 s\n");
	printf("| N     | mode   | join s  | gossip rounds (200 ms) | log3N+lnlnN | all dead s | dgram/node/s | dgram bytes/node/s | "
	       "push-pull bytes/node/s | false dead | wall s |\n");
	printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
	const size_t sizes[] = { 16, 64, 256, 1024 };
	for (size_t i = 0; i < 4 && sizes[i] <= cap; i++)
		bench_one(sizes[i], false);
	for (size_t i = 0; i < 2 && sizes[i] <= cap; i++)
		if (secure || argc <= 2)
			bench_one(sizes[i], true);
	return 0;
}
