/*
 * log.h - groved's event log: one line per event,
 *   2026-11-25T15:20:01.123Z INFO n1 client 127.0.0.1:50312 connected
 * (UTC time with milliseconds, level, node id, message), to stderr or a
 * file opened in append mode.  grove_log_reopen (on SIGHUP) reopens the
 * file so logrotate can move it away.  Each line is one write(2), so lines
 * from worker threads never interleave.  Messages never include secrets:
 * callers log ids, addresses and error texts, never passwords or keys.
 *
 * The logger is a caller-owned struct (init/close pair); levels above the
 * configured one are dropped before formatting.
 *
 * Recent warnings: the last GROVE_LOG_RECENT_MAX WARN and ERROR lines are
 * also kept in a ring (under a mutex: worker threads log too), for the
 * status page (node/monitor.h); grove_log_recent copies them out.
 */
#ifndef GROVE_LOG_H
#define GROVE_LOG_H

#include "node/config.h"

#include <pthread.h>

#define GROVE_LOG_LINE_MAX 1024
#define GROVE_LOG_RECENT_MAX 32        /* WARN/ERROR lines kept for the status page */
#define GROVE_LOG_RECENT_BYTES 256     /* each kept line is cut to this */

typedef struct grove_log {
	int fd;             /* 2 (stderr) or the file */
	_Atomic grove_log_level_t level; /* CONFIG SET changes it at run time */
	char node_id[GROVE_NODE_ID_MAX + 1];
	char path[GROVE_PATH_MAX]; /* "" for stderr */
	pthread_mutex_t recent_mu;
	char recent[GROVE_LOG_RECENT_MAX][GROVE_LOG_RECENT_BYTES]; /* ring, no newline */
	uint64_t recent_total; /* lines ever put in the ring; next slot = total % max */
} grove_log_t;

/* Opens path ("" or NULL: stderr).  GROVE_EIO if the file cannot be opened. */
int grove_log_init(grove_log_t *log, const char *path, grove_log_level_t level,
		   const char *node_id) GROVE_MUST_CHECK;
void grove_log_close(grove_log_t *log);
/* Reopens the file (no-op for stderr); keeps the old fd on failure. */
int grove_log_reopen(grove_log_t *log) GROVE_MUST_CHECK;

/* Copies the most recent WARN/ERROR lines, oldest first, into out (up to
 * max); returns how many. */
size_t grove_log_recent(grove_log_t *log, char (*out)[GROVE_LOG_RECENT_BYTES], size_t max);

void grove_log(grove_log_t *log, grove_log_level_t level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define grove_log_error(l, ...) grove_log((l), GROVE_LOG_ERROR, __VA_ARGS__)
#define grove_log_warn(l, ...) grove_log((l), GROVE_LOG_WARN, __VA_ARGS__)
#define grove_log_info(l, ...) grove_log((l), GROVE_LOG_INFO, __VA_ARGS__)
#define grove_log_debug(l, ...) grove_log((l), GROVE_LOG_DEBUG, __VA_ARGS__)

#endif
