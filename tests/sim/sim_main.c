/*
 * sim_main.c - bin/grove-sim: runs the deterministic cluster simulator.
 *
 *   grove-sim [options]                 one run (or --runs K seeds from --seed)
 *   grove-sim --figures 100,1000,10000  the figure table (sim_figures.c)
 *
 * Every run prints its seed, its trace hash and its figures; a failing run
 * prints the seed, the replay command and the last events, and the program
 * exits 1.  --twice runs each seed twice and fails unless both trace hashes
 * match (determinism).
 */
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gossip/secure/peerbook.h"
#include "tests/sim/sim.h"
#include "tests/sim/sim_figures.h"

static void usage(void)
{
	fprintf(stderr,
		"usage: grove-sim [--seed S] [--runs K] [--twice] [--nodes N]\n"
		"  [--membership 0|1] [--antientropy 0|1] [--secure 0|1] [--push 0|1] [--oracle 0|1]\n"
		"  [--loss P] [--dup P] [--loss-after P] [--lat MIN:MAX] [--jitter MS]\n"
		"  [--fault-ms MS] [--partitions K] [--crashes K] [--skew MS] [--forge K]\n"
		"  [--ops K] [--keys K] [--settle-ms MS] [--tail K]\n"
		"  grove-sim --figures N1,N2,... [--fig-kinds oracle,member,detect] [--fig-loss P]\n"
		"            [--seed S] [--secure 0|1] [--push 0|1]\n");
	exit(2);
}

static const struct option opts[] = {
	{ "seed", 1, 0, 's' },       { "runs", 1, 0, 'r' },        { "twice", 0, 0, 'T' },
	{ "nodes", 1, 0, 'n' },      { "membership", 1, 0, 'M' },  { "antientropy", 1, 0, 'A' },
	{ "secure", 1, 0, 'S' },     { "push", 1, 0, 'P' },        { "oracle", 1, 0, 'O' },
	{ "loss", 1, 0, 'l' },       { "dup", 1, 0, 'd' },         { "loss-after", 1, 0, 'L' },
	{ "lat", 1, 0, 'y' },        { "jitter", 1, 0, 'j' },      { "fault-ms", 1, 0, 'f' },
	{ "partitions", 1, 0, 'p' }, { "crashes", 1, 0, 'c' },     { "skew", 1, 0, 'k' },
	{ "forge", 1, 0, 'g' },      { "ops", 1, 0, 'o' },         { "keys", 1, 0, 'K' },
	{ "settle-ms", 1, 0, 'e' },  { "tail", 1, 0, 't' },        { "figures", 1, 0, 'F' },
	{ "fig-loss", 1, 0, 'Q' },   { "fig-kinds", 1, 0, 'W' },   { "help", 0, 0, 'h' },
	{ 0, 0, 0, 0 },
};

static void parse(int argc, char **argv, sim_config_t *c, uint32_t *runs, bool *twice,
		  const char **figures, double *fig_loss, unsigned *kinds)
{
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 's': c->seed = strtoull(optarg, NULL, 0); break;
		case 'r': *runs = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'T': *twice = true; break;
		case 'n': c->nodes = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'M': c->membership = atoi(optarg) != 0; break;
		case 'A': c->antientropy = atoi(optarg) != 0; break;
		case 'S': c->secure = atoi(optarg) != 0; break;
		case 'P': c->ae_push = atoi(optarg) != 0; break;
		case 'O': c->peers = atoi(optarg) ? SIM_PEERS_ORACLE : SIM_PEERS_MEMBER; break;
		case 'l': c->loss = atof(optarg); break;
		case 'd': c->dup = atof(optarg); break;
		case 'L': c->loss_after = atof(optarg); break;
		case 'y':
			if (sscanf(optarg, "%u:%u", &c->lat_min_ms, &c->lat_max_ms) != 2)
				usage();
			break;
		case 'j': c->jitter_ms = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'f': c->fault_ms = strtoull(optarg, NULL, 0); break;
		case 'p': c->partitions = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'c': c->crashes = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'k': c->skew_max_ms = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'g': c->forgeries = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'o': c->ops = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'K': c->keys = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'e': c->settle_max_ms = strtoull(optarg, NULL, 0); break;
		case 't': c->trace_tail = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'F': *figures = optarg; break;
		case 'Q': *fig_loss = atof(optarg); break;
		case 'W':
			*kinds = (strstr(optarg, "oracle") ? SIM_FIG_SPREAD_ORACLE : 0) |
				 (strstr(optarg, "member") ? SIM_FIG_SPREAD_MEMBER : 0) |
				 (strstr(optarg, "detect") ? SIM_FIG_DETECT : 0);
			break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
}

static bool run_one(const sim_config_t *c, sim_result_t *res)
{
	sim_t *s = sim_create(c);
	if (!s) {
		fprintf(stderr, "seed %llu: cannot build the cluster\n", (unsigned long long)c->seed);
		return false;
	}
	bool ok = sim_run(s, res);
	sim_destroy(s);
	return ok;
}

static void print_result(const sim_config_t *c, const sim_result_t *r)
{
	char hex[65];
	sim_hash_hex(r->trace_hash, hex);
	printf("seed %llu nodes %u: %s trace %.16s events %llu converged %lld ms after faults (digests %lld ms);"
	       " dgrams %llu (%llu B) frames %llu (%llu B) lost %llu dup %llu blocked %llu;"
	       " forged %llu/%llu dropped, dups dropped %llu; crashes %llu partitions %llu;"
	       " states %llu merges %llu model %llu; rss %.1f MB (%.1f KB/node)\n",
	       (unsigned long long)c->seed, c->nodes, r->ok ? "ok" : "FAIL", hex,
	       (unsigned long long)r->events,
	       r->converged_ms == UINT64_MAX ? -1LL : (long long)r->converged_ms,
	       r->data_converged_ms == UINT64_MAX ? -1LL : (long long)r->data_converged_ms,
	       (unsigned long long)r->datagrams, (unsigned long long)r->datagram_bytes,
	       (unsigned long long)r->frames, (unsigned long long)r->frame_bytes,
	       (unsigned long long)r->lost, (unsigned long long)r->duplicated,
	       (unsigned long long)r->blocked, (unsigned long long)r->forged_dropped,
	       (unsigned long long)r->forged, (unsigned long long)r->dups_dropped,
	       (unsigned long long)r->crashes, (unsigned long long)r->partitions,
	       (unsigned long long)r->states_checked, (unsigned long long)r->merges_checked,
	       (unsigned long long)r->model_keys_checked, r->rss_bytes / 1e6,
	       r->rss_bytes / 1e3 / c->nodes);
	if (r->forged == 0)
		return;
	printf("  forged datagrams dropped by reason:");
	for (int k = 1; k < GROVE_DROP_COUNT; k++)
		if (r->forged_by_reason[k])
			printf(" %s %llu", grove_drop_name((grove_drop_t)k), (unsigned long long)r->forged_by_reason[k]);
	printf("\n");
}

int main(int argc, char **argv)
{
	/* A fixed mmap threshold: glibc would otherwise raise it after the first
	 * large free, and later stores' big zeroed tables would come from the
	 * heap, touched, inflating the memory figures of later runs. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	sim_config_t c;
	sim_config_init(&c);
	c.argv0 = argv[0];
	uint32_t runs = 1;
	bool twice = false;
	const char *figures = NULL;
	double fig_loss = -1;
	unsigned kinds = SIM_FIG_ALL;
	parse(argc, argv, &c, &runs, &twice, &figures, &fig_loss, &kinds);
	if (figures)
		return sim_figures(figures, kinds, c.seed, c.secure, c.ae_push, fig_loss) == 0 ? 0 : 1;
	uint64_t worst = 0, worst_data = 0;
	uint32_t failed = 0;
	for (uint32_t k = 0; k < runs; k++) {
		sim_config_t rc = c;
		rc.seed = c.seed + k;
		sim_result_t a, b;
		bool ok = run_one(&rc, &a);
		print_result(&rc, &a);
		if (ok && twice && (!run_one(&rc, &b) || memcmp(a.trace_hash, b.trace_hash, 32) != 0)) {
			fprintf(stderr, "seed %llu: NOT DETERMINISTIC: second run differs\n",
				(unsigned long long)rc.seed);
			sim_print_replay(&rc, stderr);
			ok = false;
		}
		failed += !ok;
		if (ok && a.converged_ms > worst)
			worst = a.converged_ms;
		if (ok && a.data_converged_ms > worst_data)
			worst_data = a.data_converged_ms;
	}
	printf("%u runs, %u failed; worst convergence after faults: %llu ms, digests alone %llu ms"
	       " (bound %llu ms)\n", runs, failed, (unsigned long long)worst, (unsigned long long)worst_data,
	       (unsigned long long)c.settle_max_ms);
	return failed ? 1 : 0;
}
