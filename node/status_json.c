/*
 * status_json.c - GET /status.json: the status page's data, rendered from
 * a monitor snapshot (metrics.h).  The fields are documented in
 * doc/monitoring.md; the page (node/status.html) and any script may read
 * them.  Rates in "history" are per second between consecutive samples
 * (one a second, GROVE_MONITOR_HISTORY_MAX kept).
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "node/metrics.h"

/* A JSON string: quotes, backslashes and control bytes escaped. */
static void jstr(grove_buf_t *b, const char *s)
{
	grove_buf_append(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			grove_buf_appendf(b, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			grove_buf_appendf(b, "\\u%04x", c);
		else
			grove_buf_append(b, s, 1);
	}
	grove_buf_append(b, "\"", 1);
}

static const char *digest_name(grove_peer_digest_t d)
{
	return d == GROVE_PEER_DIGEST_EQUAL ? "equal" : d == GROVE_PEER_DIGEST_DIFFERENT ? "different" : "unknown";
}

static double age_s(uint64_t now, uint64_t then)
{
	return now > then ? (double)(now - then) / 1e3 : 0.0;
}

static void members_json(const grove_monitor_snapshot_t *s, grove_buf_t *b)
{
	grove_buf_append(b, "[", 1);
	for (size_t i = 0; i < s->npeers; i++) {
		const grove_peer_view_t *p = &s->peers[i];
		grove_buf_appendf(b, "%s{\"id\":", i ? "," : "");
		jstr(b, p->id);
		grove_buf_append(b, ",\"addr\":", 8);
		jstr(b, p->addr);
		grove_buf_appendf(b, ",\"state\":\"%s\",\"state_for_s\":%.1f,\"incarnation\":%llu,\"self\":%s", p->state,
		     p->state_since_ms ? age_s(s->now_ms, p->state_since_ms) : 0.0,
		     (unsigned long long)p->incarnation, p->self ? "true" : "false");
		if (p->cert_expires_ms)
			grove_buf_appendf(b, ",\"cert_expires_ms\":%llu", (unsigned long long)p->cert_expires_ms);
		else
			grove_buf_appendf(b, ",\"cert_expires_ms\":null");
		grove_buf_appendf(b, ",\"digest\":\"%s\"", digest_name(p->digest));
		if (p->self || !p->last_equal_ms)
			grove_buf_appendf(b, ",\"last_equal_age_s\":null}");
		else
			grove_buf_appendf(b, ",\"last_equal_age_s\":%.1f}", age_s(s->now_ms, p->last_equal_ms));
	}
	grove_buf_append(b, "]", 1);
}

/* One rate series: per second between consecutive samples of field off. */
static void rate_json(const grove_monitor_snapshot_t *s, grove_buf_t *b, const char *name, size_t off)
{
	grove_buf_appendf(b, ",\"%s\":[", name);
	for (size_t i = 1; i < s->nhistory; i++) {
		const grove_monitor_sample_t *a = &s->history[i - 1], *c = &s->history[i];
		uint64_t va = *(const uint64_t *)((const char *)a + off), vc = *(const uint64_t *)((const char *)c + off);
		double dt = c->t_ms > a->t_ms ? (double)(c->t_ms - a->t_ms) / 1e3 : 1.0;
		grove_buf_appendf(b, "%s%.1f", i > 1 ? "," : "", vc >= va ? (double)(vc - va) / dt : 0.0);
	}
	grove_buf_append(b, "]", 1);
}

static void history_json(const grove_monitor_snapshot_t *s, grove_buf_t *b)
{
	grove_buf_append(b, "{\"t_ms\":[", 9);
	for (size_t i = 1; i < s->nhistory; i++)
		grove_buf_appendf(b, "%s%llu", i > 1 ? "," : "", (unsigned long long)s->history[i].t_ms);
	grove_buf_append(b, "]", 1);
	rate_json(s, b, "commands_per_s", offsetof(grove_monitor_sample_t, commands));
	rate_json(s, b, "net_in_bytes_per_s", offsetof(grove_monitor_sample_t, net_in_bytes));
	rate_json(s, b, "net_out_bytes_per_s", offsetof(grove_monitor_sample_t, net_out_bytes));
	rate_json(s, b, "ae_sent_bytes_per_s", offsetof(grove_monitor_sample_t, ae_sent_bytes));
	rate_json(s, b, "ae_received_bytes_per_s", offsetof(grove_monitor_sample_t, ae_received_bytes));
	grove_buf_append(b, "}", 1);
}

void grove_status_json_render(const grove_monitor_snapshot_t *s, grove_buf_t *b)
{
	const char *info = (const char *)s->info.data;
	uint64_t since, keys = grove_metrics_info_u64(info, s->info.len, "keys");
	bool conv = grove_metrics_converged(s, &since);
	grove_buf_append(b, "{\"node_id\":", 11);
	jstr(b, s->node_id);
	grove_buf_append(b, ",\"version\":", 11);
	jstr(b, s->version);
	grove_buf_appendf(b, ",\"now_ms\":%llu,\"uptime_s\":%llu,\"keys\":%llu", (unsigned long long)s->now_ms,
	     (unsigned long long)grove_metrics_info_u64(info, s->info.len, "uptime_in_seconds"),
	     (unsigned long long)keys);
	grove_buf_appendf(b, ",\"converged\":%s,\"diverged_for_s\":%.1f", conv ? "true" : "false",
	     conv ? 0.0 : age_s(s->now_ms, since));
	grove_buf_append(b, ",\"members\":", 11);
	members_json(s, b);
	grove_buf_append(b, ",\"history\":", 11);
	history_json(s, b);
	grove_buf_append(b, ",\"warnings\":[", 13);
	for (size_t i = 0; i < s->nwarnings; i++) {
		if (i)
			grove_buf_append(b, ",", 1);
		jstr(b, s->warnings[i]);
	}
	grove_buf_append(b, "]}\n", 3);
}
