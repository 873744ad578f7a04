/*
 * log.c - one-line-per-event logging to stderr or an append-mode file
 * (see log.h).  Formatting happens in a stack buffer; the line is written
 * with a single write(2).  Control characters in messages are replaced so
 * a hostile client name or key cannot forge log lines.
 */
#include "node/log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int open_file(const char *path)
{
	return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
}

int grove_log_init(grove_log_t *log, const char *path, grove_log_level_t level, const char *node_id)
{
	memset(log, 0, sizeof(*log));
	log->fd = 2;
	log->level = level;
	pthread_mutex_init(&log->recent_mu, NULL);
	snprintf(log->node_id, sizeof(log->node_id), "%s", node_id ? node_id : "-");
	if (path && path[0]) {
		int fd = open_file(path);
		if (fd < 0)
			return GROVE_EIO;
		log->fd = fd;
		snprintf(log->path, sizeof(log->path), "%s", path);
	}
	return 0;
}

void grove_log_close(grove_log_t *log)
{
	if (log->fd > 2)
		close(log->fd);
	log->fd = 2;
	pthread_mutex_destroy(&log->recent_mu);
}

/* Keeps a WARN/ERROR line (without its newline) in the ring. */
static void keep_recent(grove_log_t *log, const char *line, size_t len)
{
	pthread_mutex_lock(&log->recent_mu);
	char *slot = log->recent[log->recent_total % GROVE_LOG_RECENT_MAX];
	if (len >= GROVE_LOG_RECENT_BYTES)
		len = GROVE_LOG_RECENT_BYTES - 1;
	memcpy(slot, line, len);
	slot[len] = 0;
	log->recent_total++;
	pthread_mutex_unlock(&log->recent_mu);
}

size_t grove_log_recent(grove_log_t *log, char (*out)[GROVE_LOG_RECENT_BYTES], size_t max)
{
	pthread_mutex_lock(&log->recent_mu);
	uint64_t total = log->recent_total;
	size_t n = total < GROVE_LOG_RECENT_MAX ? (size_t)total : GROVE_LOG_RECENT_MAX;
	if (n > max)
		n = max;
	for (size_t i = 0; i < n; i++)
		memcpy(out[i], log->recent[(total - n + i) % GROVE_LOG_RECENT_MAX], GROVE_LOG_RECENT_BYTES);
	pthread_mutex_unlock(&log->recent_mu);
	return n;
}

int grove_log_reopen(grove_log_t *log)
{
	if (!log->path[0])
		return 0;
	int fd = open_file(log->path);
	if (fd < 0)
		return GROVE_EIO;
	int old = log->fd;
	log->fd = fd;
	if (old > 2)
		close(old);
	return 0;
}

void grove_log(grove_log_t *log, grove_log_level_t level, const char *fmt, ...)
{
	static const char *names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
	if (!log || level > log->level)
		return;
	char line[GROVE_LOG_LINE_MAX];
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, ts.tv_nsec / 1000000, names[level], log->node_id);
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2;
	for (size_t i = (size_t)n; i < len; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	if (level <= GROVE_LOG_WARN)
		keep_recent(log, line, len);
	line[len++] = '\n';
	ssize_t w = write(log->fd, line, len);
	(void)w; /* nowhere to report a failing log */
}
