/*
 * bench_coll_merge.c - the cost of replicating one big set element by
 * element, without a network (issue 11, "replication of big collections is
 * quadratic"): node1 adds n members to one set; node2 merges node1's
 * element states (grove_db_item_state -> grove_db_item_merge) in dot order
 * (the baseline: what push delivers when nothing is dropped), then a third
 * db merges them in a shuffled order (what anti-entropy's tree order
 * amounts to).  Half way through each run, the receiver makes the states
 * of (up to) 1,000 elements it holds (what it forwards to a third node):
 * bytes and time per state.
 *
 * Replication is linear when the per-element cost stays flat as n grows:
 * the last column prints shuffled us/element over the same figure at the
 * first size.  Both orders must end with the same SCARD on the receiver.
 *
 * Environment: GROVE_BENCH_COLL_MERGE_SIZES (comma list, default
 * "2000,4000,8000"), GROVE_BENCH_COLL_MERGE_BUDGET_S (default 60: a
 * shuffled run whose time, extrapolated quadratically from the previous
 * size, would pass it is skipped and said so), GROVE_BENCH_COLL_MERGE_DIR
 * (a directory: LevelDB stores under it instead of memory stores).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "grove/alloc.h"
#include "grove/db.h"
#include "tests/util_storage.h"

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static size_t item_name(uint8_t *out, int i)
{
	out[0] = GROVE_ITEM_MEMBER;
	out[1] = 0;
	out[2] = 1;
	out[3] = 's';
	return 4 + (size_t)sprintf((char *)out + 4, "m:%012d", i);
}

static char *db_dir(const char *tag, int n)
{
	const char *base = getenv("GROVE_BENCH_COLL_MERGE_DIR");
	if (!base || !*base)
		return NULL;
	size_t len = strlen(base) + strlen(tag) + 32;
	char *d = malloc(len);
	if (d)
		snprintf(d, len, "%s/%s-%d", base, tag, n);
	return d;
}

typedef struct run {
	double merge_s, state_s, fwd_bytes, fwd_us;
	uint64_t count;
} run_t;

/* Merges a's n element states into a fresh db in order ord. */
static int merge_run(grove_db_t *a, const int *ord, int n, const char *node, const char *tag,
		     run_t *out)
{
	uint64_t clock_ms = GROVE_TEST_T0_MS + 1000;
	grove_db_t *b = NULL;
	char *dir = db_dir(tag, n);
	if (grove_test_storage_db_open(dir, node, &clock_ms, GROVE_DURABILITY_NONE, &b) != 0)
		return 1;
	double t0 = now_s(), ts = 0, fwd_s = 0;
	size_t bytes = 0;
	int m = n / 2 < 1000 ? n / 2 : 1000;
	for (int k = 0; k < n; k++) {
		uint8_t name[32], *st;
		size_t nl = item_name(name, ord[k]), sl;
		double s0 = now_s();
		if (grove_db_item_state(a, name, nl, &st, &sl) != 0)
			return 2;
		ts += now_s() - s0;
		int rc = grove_db_item_merge(b, name, nl, st, sl, NULL, NULL);
		grove_free(st);
		if (rc != 0)
			return 3;
		if (k != n / 2)
			continue;
		/* half way: what the receiver would forward to a third node */
		double r0 = now_s();
		for (int j = 0; j < m; j++) {
			nl = item_name(name, ord[j]);
			if (grove_db_item_state(b, name, nl, &st, &sl) != 0)
				return 4;
			bytes += sl;
			grove_free(st);
		}
		fwd_s = now_s() - r0;
	}
	out->merge_s = now_s() - t0 - ts - fwd_s;
	out->state_s = ts;
	out->fwd_us = m ? fwd_s * 1e6 / m : 0;
	out->fwd_bytes = m ? (double)bytes / m : 0;
	if (grove_db_coll_count(b, "s", 1, GROVE_TYPE_SET, &out->count) != 0)
		return 5;
	grove_db_close(b);
	grove_test_storage_rmdir(dir);
	return 0;
}

int main(void)
{
	const char *sizes = getenv("GROVE_BENCH_COLL_MERGE_SIZES");
	const char *bs = getenv("GROVE_BENCH_COLL_MERGE_BUDGET_S");
	double budget = bs && *bs ? atof(bs) : 60.0;
	if (!sizes || !*sizes)
		sizes = "2000,4000,8000";
	printf("bench_coll_merge: one set, element states merged in dot order vs shuffled "
	       "(%s stores)\n",
	       getenv("GROVE_BENCH_COLL_MERGE_DIR") ? "LevelDB" : "memory");
	printf("%8s | %12s %9s | %12s %9s %7s | %22s | %22s\n", "n", "dot order s", "us/elem",
	       "shuffled s", "us/elem", "growth", "fwd state B, us (dot)", "fwd state B, us (shuf)");
	double first_us = 0, prev_s = 0;
	int prev_n = 0, rc = 0;
	for (const char *p = sizes; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
		int n = atoi(p);
		if (n <= 0)
			continue;
		uint64_t clock_ms = GROVE_TEST_T0_MS;
		grove_db_t *a = NULL;
		char *dir = db_dir("node1", n);
		if (grove_test_storage_db_open(dir, "node1", &clock_ms, GROVE_DURABILITY_NONE, &a))
			return 1;
		char e[32];
		for (int i = 0; i < n; i++) {
			int len = sprintf(e, "m:%012d", i);
			if (grove_db_set_add(a, "s", 1, e, (size_t)len, NULL) != 0)
				return 1;
		}
		int *ord = malloc(sizeof(int) * (size_t)n);
		if (!ord)
			return 1;
		for (int i = 0; i < n; i++)
			ord[i] = i;
		run_t in = { 0 }, sh = { 0 };
		if ((rc = merge_run(a, ord, n, "node2", "node2", &in)) != 0) {
			fprintf(stderr, "dot order run failed (%d)\n", rc);
			return 1;
		}
		uint64_t seed = 7;
		for (int i = n - 1; i > 0; i--) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			int j = (int)((seed >> 33) % (uint64_t)(i + 1)), t = ord[i];
			ord[i] = ord[j];
			ord[j] = t;
		}
		double predicted = prev_n ? prev_s * ((double)n / prev_n) * ((double)n / prev_n) : 0;
		if (predicted > budget) {
			printf("%8d | %12.2f %9.1f | skipped: %.0f s predicted (budget %.0f s)\n", n,
			       in.merge_s, in.merge_s * 1e6 / n, predicted, budget);
		} else {
			if ((rc = merge_run(a, ord, n, "node3", "node3", &sh)) != 0) {
				fprintf(stderr, "shuffled run failed (%d)\n", rc);
				return 1;
			}
			double us = sh.merge_s * 1e6 / n;
			if (!first_us)
				first_us = us;
			printf("%8d | %12.2f %9.1f | %12.2f %9.1f %6.2fx | %10.0f %10.1f | %10.0f %10.1f\n",
			       n, in.merge_s, in.merge_s * 1e6 / n, sh.merge_s, us, us / first_us,
			       in.fwd_bytes, in.fwd_us, sh.fwd_bytes, sh.fwd_us);
			if (in.count != (uint64_t)n || sh.count != (uint64_t)n) {
				fprintf(stderr, "SCARD %" PRIu64 " / %" PRIu64 ", want %d\n", in.count,
					sh.count, n);
				return 1;
			}
			prev_s = sh.merge_s;
			prev_n = n;
		}
		fflush(stdout);
		free(ord);
		grove_db_close(a);
		grove_test_storage_rmdir(dir);
	}
	return 0;
}
