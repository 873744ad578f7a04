/*
 * histogram.h - fixed-bucket latency histograms for the metrics endpoint
 * (node/metrics.h): command latency (resp_cmd_info.c) and anti-entropy
 * session duration (cluster_monitor.c).
 *
 * A histogram is an array of per-bucket counts (not cumulative; the
 * exposition cumulates) for the upper bounds `bounds_us[0..n-2]` plus a last
 * bucket for everything above (Prometheus's +Inf).  Recording is O(log n)
 * with n <= GROVE_HISTOGRAM_BUCKETS_MAX.  The owner decides how counts are
 * shared between threads (atomics for commands, loop thread only for
 * sessions).
 */
#ifndef GROVE_NODE_HISTOGRAM_H
#define GROVE_NODE_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

#define GROVE_HISTOGRAM_BUCKETS_MAX 16

/* Command latency, microseconds: 12 buckets (11 bounds + the rest). */
#define GROVE_CMD_LATENCY_BUCKETS 12
/* Anti-entropy session duration, microseconds: 13 buckets. */
#define GROVE_AE_SESSION_BUCKETS 13

extern const uint64_t grove_cmd_latency_bounds_us[GROVE_CMD_LATENCY_BUCKETS - 1];
extern const uint64_t grove_ae_session_bounds_us[GROVE_AE_SESSION_BUCKETS - 1];

/* The bucket of value v: the first i with v <= bounds[i], or nbounds. */
static inline size_t grove_histogram_bucket(const uint64_t *bounds, size_t nbounds, uint64_t v)
{
	size_t lo = 0, hi = nbounds;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v <= bounds[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

#endif
