/*
 * metrics.h - one published picture of a node (grove_monitor_snapshot_t)
 * and the two texts rendered from it: Prometheus text exposition (GET
 * /metrics, format 0.0.4) and the status page's JSON (GET /status.json,
 * fields in doc/monitoring.md).
 *
 * Where the numbers come from: the snapshot holds the text of INFO
 * everything (grove_cmd_info_all), so every INFO counter and gauge reaches
 * /metrics from the code that prints it, with no second list of values.
 * metrics.c's table adds only what INFO lacks: a grove_ name with its unit,
 * the type, a HELP line, and which fields fold into one labelled metric
 * (envelopes_dropped_<reason> -> grove_envelopes_dropped_total{reason}).
 * A numeric INFO field that the table does not know (a field added later)
 * is still exported, as an untyped grove_info_<field>, and its HELP says
 * so.  Beside INFO the snapshot holds what INFO does not print: the
 * per-command latency histograms, the anti-entropy session histogram, the
 * member table with digests and certificates (node/cluster.h), a history
 * of one sample a second for the charts, and recent warnings.
 *
 * Pure functions: no clock reads, no locks, no I/O; the snapshot is read
 * only.  Output buffers are the caller's (grove_buf_t; check
 * grove_buf_failed).
 */
#ifndef GROVE_NODE_METRICS_H
#define GROVE_NODE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "node/cluster.h"
#include "node/histogram.h"
#include "node/log.h"

#define GROVE_MONITOR_HISTORY_MAX 600 /* samples, one a second: 10 minutes */
#define GROVE_MONITOR_PEERS_MAX 1024  /* members in one snapshot */

/* Per-command counters as INFO commandstats has them, plus latency. */
typedef struct grove_monitor_cmd {
	const char *name; /* static (the command table) */
	uint64_t calls, usec, rejected, failed;
	uint64_t latency[GROVE_CMD_LATENCY_BUCKETS];
} grove_monitor_cmd_t;

/* One history sample: cumulative counters at t_ms. */
typedef struct grove_monitor_sample {
	uint64_t t_ms;
	uint64_t commands, net_in_bytes, net_out_bytes, ae_sent_bytes, ae_received_bytes;
	uint64_t keys;
} grove_monitor_sample_t;

typedef struct grove_monitor_snapshot {
	uint64_t now_ms; /* wall clock when taken */
	const char *node_id, *version;
	grove_buf_t info; /* INFO everything, "\r\n" lines */
	grove_monitor_cmd_t *cmds; /* commands called or rejected at least once */
	size_t ncmds;
	uint64_t ae_sessions[GROVE_AE_SESSION_BUCKETS], ae_session_sum_us, ae_session_count;
	grove_peer_view_t *peers; /* self included */
	size_t npeers;
	grove_monitor_sample_t *history; /* oldest first */
	size_t nhistory;
	char (*warnings)[GROVE_LOG_RECENT_BYTES]; /* oldest first */
	size_t nwarnings;
} grove_monitor_snapshot_t;

/* Appends the Prometheus text exposition of s to out.  O(INFO fields x
 * table rows + commands x buckets + members). */
void grove_metrics_render(const grove_monitor_snapshot_t *s, grove_buf_t *out);

/* Appends /status.json (doc/monitoring.md) to out. */
void grove_status_json_render(const grove_monitor_snapshot_t *s, grove_buf_t *out);

/* The unsigned integer value of INFO field name in text (the first one),
 * or 0 when absent or not an integer.  O(text). */
uint64_t grove_metrics_info_u64(const char *text, size_t len, const char *name);

/* Whether the node holds the same root digest as every alive peer, and
 * since when (wall-clock ms) it has not (0 when it has). */
bool grove_metrics_converged(const grove_monitor_snapshot_t *s, uint64_t *diverged_since_ms);

#endif
