/*
 * metrics.c - Prometheus text exposition (format 0.0.4) of a monitor
 * snapshot (see metrics.h).
 *
 * INFO is the source: the snapshot's INFO text is split into fields, and
 * each row of defs[] below claims the fields of one metric family (an
 * exact field name, or a prefix ending in '*' whose rest becomes a label
 * value).  Families are written in the table's order, so the samples of
 * one family stay together even where INFO interleaves them.  Fields in
 * skip[] are not exported (Redis-compatibility constants, strings, and
 * fields another row already covers); the list is printed as a comment so
 * a reader (and tests/proc/test_node_metrics.sh) can see it.  A numeric
 * field no row claims is exported untyped as grove_info_<field>.
 *
 * Sections parsed separately: commandstats and errorstats (labelled by
 * command / error prefix; the command counters come from the snapshot's
 * command table, which also holds the latency buckets, so a histogram's
 * _count always equals its buckets), replication's grove_peer<i> lines and
 * keyspace (the member and key metrics cover them).
 */
#include "node/metrics.h"

#include <stddef.h>
#include <stdio.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "grove/alloc.h"

#define FIELDS_MAX 2048 /* INFO lines considered */

typedef enum mkind { M_GAUGE, M_COUNTER } mkind_t;

typedef struct metric_def {
	const char *field; /* INFO field; "prefix*" folds fields into a label */
	const char *name;
	mkind_t kind;
	const char *label; /* label for the part matched by '*' */
	const char *help;
	double scale; /* value multiplier (0: 1) */
} metric_def_t;

static const metric_def_t defs[] = {
	{"uptime_in_seconds", "grove_uptime_seconds", M_GAUGE, NULL, "Seconds since the node started.", 0},
	{"connected_clients", "grove_connected_clients", M_GAUGE, NULL, "Open RESP client connections.", 0},
	{"blocked_clients", "grove_blocked_clients", M_GAUGE, NULL, "Clients blocked in WAIT.", 0},
	{"used_memory", "grove_memory_used_bytes", M_GAUGE, NULL, "Allocator in-use bytes (mallinfo2; LevelDB caches included only as malloc'd).", 0},
	{"used_memory_rss", "grove_memory_rss_bytes", M_GAUGE, NULL, "Resident set size in bytes.", 0},
	{"mem_fragmentation_ratio", "grove_memory_fragmentation_ratio", M_GAUGE, NULL, "Resident set size divided by in-use bytes.", 0},
	{"grove_fsyncs", "grove_fsyncs_total", M_COUNTER, NULL, "fsync calls issued by the store.", 0},
	{"total_connections_received", "grove_connections_received_total", M_COUNTER, NULL, "RESP connections accepted.", 0},
	{"rejected_connections", "grove_connections_rejected_total", M_COUNTER, NULL, "RESP connections refused (max-clients).", 0},
	{"total_commands_processed", "grove_commands_processed_total", M_COUNTER, NULL, "RESP commands executed.", 0},
	{"protocol_errors", "grove_protocol_errors_total", M_COUNTER, NULL, "RESP protocol errors (connection closed).", 0},
	{"idle_disconnects", "grove_idle_disconnects_total", M_COUNTER, NULL, "Clients closed by idle-timeout.", 0},
	{"output_buffer_overflows", "grove_output_buffer_overflows_total", M_COUNTER, NULL, "Clients closed for passing output-limit.", 0},
	{"total_net_input_bytes", "grove_net_input_bytes_total", M_COUNTER, NULL, "Bytes read from RESP clients.", 0},
	{"total_net_output_bytes", "grove_net_output_bytes_total", M_COUNTER, NULL, "Bytes written to RESP clients.", 0},
	{"expired_keys", "grove_expired_keys_total", M_COUNTER, NULL, "Keys this node removed because their TTL deadline passed.", 0},
	{"grove_peers", "grove_peers", M_GAUGE, NULL, "Members other than this node, in any state.", 0},
	{"used_cpu_sys", "grove_cpu_system_seconds_total", M_COUNTER, NULL, "System CPU time of the process.", 0},
	{"used_cpu_user", "grove_cpu_user_seconds_total", M_COUNTER, NULL, "User CPU time of the process.", 0},
	{"used_cpu_sys_children", "grove_cpu_children_system_seconds_total", M_COUNTER, NULL, "System CPU time of waited-for children.", 0},
	{"used_cpu_user_children", "grove_cpu_children_user_seconds_total", M_COUNTER, NULL, "User CPU time of waited-for children.", 0},
	{"grove_members", "grove_members", M_GAUGE, NULL, "Members this node knows, itself included.", 0},
	{"members_*", "grove_members_by_state", M_GAUGE, "state", "Members by state as this node sees them.", 0},
	{"gossip_sent", "grove_gossip_sent_datagrams_total", M_COUNTER, NULL, "UDP datagrams sent on the gossip port.", 0},
	{"gossip_received", "grove_gossip_received_datagrams_total", M_COUNTER, NULL, "UDP datagrams received on the gossip port.", 0},
	{"gossip_dropped", "grove_gossip_dropped_datagrams_total", M_COUNTER, NULL, "Gossip datagrams dropped by the socket layer (size, send errors).", 0},
	{"sync_rounds", "grove_sync_rounds_total", M_COUNTER, NULL, "Anti-entropy rounds started by GROVE SYNC.", 0},
	{"incarnation", "grove_member_self_incarnation", M_GAUGE, NULL, "This node's SWIM incarnation.", 0},
	{"joined", "grove_member_joined", M_GAUGE, NULL, "1 once membership joined (or had no one to join).", 0},
	{"datagrams_in", "grove_member_datagrams_received_total", M_COUNTER, NULL, "Membership datagrams received.", 0},
	{"datagrams_out", "grove_member_datagrams_sent_total", M_COUNTER, NULL, "Membership datagrams sent.", 0},
	{"dropped_by_security", "grove_member_dropped_security_total", M_COUNTER, NULL, "Membership datagrams dropped by the envelope check.", 0},
	{"dropped_malformed", "grove_member_dropped_malformed_total", M_COUNTER, NULL, "Membership datagrams that did not decode.", 0},
	{"probes", "grove_member_probes_total", M_COUNTER, NULL, "SWIM probes sent.", 0},
	{"probe_failures", "grove_member_probe_failures_total", M_COUNTER, NULL, "SWIM probes without an ack (direct and indirect).", 0},
	{"suspicions", "grove_member_suspicions_total", M_COUNTER, NULL, "Members this node suspected.", 0},
	{"refutes", "grove_member_refutes_total", M_COUNTER, NULL, "Suspicions of this node it refuted.", 0},
	{"pushpull_*", "grove_member_pushpulls_total", M_COUNTER, "result", "Membership push-pull exchanges by result (ok, failed).", 0},
	{"id_conflicts", "grove_member_id_conflicts_total", M_COUNTER, NULL, "Node ids seen claimed by two nodes.", 0},
	{"streams_open", "grove_gossip_streams_open", M_GAUGE, NULL, "Gossip TCP streams open (push-pull and anti-entropy).", 0},
	{"known_certificates", "grove_known_certificates", M_GAUGE, NULL, "Peer certificates in the peer book.", 0},
	{"ae_rounds", "grove_ae_rounds_total", M_COUNTER, NULL, "Anti-entropy digest rounds.", 0},
	{"ae_digests_sent", "grove_ae_digests_sent_total", M_COUNTER, NULL, "Root digests sent.", 0},
	{"ae_digests_*", "grove_ae_digests_compared_total", M_COUNTER, "result", "Peers' root digests compared with this node's, by result (equal, different).", 0},
	{"ae_digest_requests_sent", "grove_ae_digest_requests_sent_total", M_COUNTER, NULL, "Digest requests sent (WAIT).", 0},
	{"ae_digest_replies_sent", "grove_ae_digest_replies_sent_total", M_COUNTER, NULL, "Digests sent in reply to a request.", 0},
	{"ae_sessions_open", "grove_ae_sessions_open", M_GAUGE, NULL, "Anti-entropy sessions open.", 0},
	{"ae_sessions_opened", "grove_ae_sessions_opened_total", M_COUNTER, NULL, "Anti-entropy sessions this node opened.", 0},
	{"ae_sessions_accepted", "grove_ae_sessions_accepted_total", M_COUNTER, NULL, "Anti-entropy sessions peers opened to this node.", 0},
	{"ae_sessions_done", "grove_ae_sessions_reconciled_total", M_COUNTER, NULL, "Anti-entropy sessions that ended reconciled.", 0},
	{"ae_sessions_refused", "grove_ae_sessions_refused_total", M_COUNTER, NULL, "Differing digests not followed by a session (one open already, or the limit).", 0},
	{"ae_sessions_spaced", "grove_ae_sessions_spaced_total", M_COUNTER, NULL, "Differing digests not followed by a session because the last one with that peer ended less than three times its duration (at most ten digest intervals) ago.", 0},
	{"ae_digests_held", "grove_ae_digests_held_total", M_COUNTER, NULL, "Differing digests not followed by a session because the difference with that peer was younger than three push intervals (a push is likely repairing it).", 0},
	{"ae_sessions_ended_equal", "grove_ae_sessions_ended_equal_total", M_COUNTER, NULL, "Anti-entropy sessions ended (reconciled) by an equal digest from their peer with work left undone.", 0},
	{"ae_session_errors", "grove_ae_session_errors_total", M_COUNTER, NULL, "Anti-entropy sessions that ended in an error.", 0},
	{"ae_err_*", "grove_ae_session_errors_by_reason_total", M_COUNTER, "reason", "Anti-entropy session errors by reason.", 0},
	{"ae_keys_sent", "grove_ae_keys_sent_total", M_COUNTER, NULL, "Keys whose state anti-entropy sent.", 0},
	{"ae_keys_received", "grove_ae_keys_received_total", M_COUNTER, NULL, "Keys whose state anti-entropy received.", 0},
	{"ae_state_bytes_sent", "grove_ae_state_sent_bytes_total", M_COUNTER, NULL, "State bytes anti-entropy sent.", 0},
	{"ae_state_bytes_received", "grove_ae_state_received_bytes_total", M_COUNTER, NULL, "State bytes anti-entropy received.", 0},
	{"ae_frames_sent", "grove_ae_frames_sent_total", M_COUNTER, NULL, "Anti-entropy stream frames sent.", 0},
	{"ae_frames_received", "grove_ae_frames_received_total", M_COUNTER, NULL, "Anti-entropy stream frames received.", 0},
	{"ae_merged_*", "grove_ae_merges_total", M_COUNTER, "result", "States anti-entropy merged, by result (changed, unchanged).", 0},
	{"ae_rejected_*", "grove_ae_states_rejected_total", M_COUNTER, "reason", "States anti-entropy refused, by reason.", 0},
	{"ae_keys_misplaced", "grove_ae_keys_misplaced_total", M_COUNTER, NULL, "Keys a peer sent outside the range asked.", 0},
	{"ae_states_oversize", "grove_ae_states_oversize_total", M_COUNTER, NULL, "States too large to ship.", 0},
	{"ae_datagrams_dropped", "grove_ae_datagrams_dropped_total", M_COUNTER, NULL, "Anti-entropy datagrams dropped (envelope or decode).", 0},
	{"ae_pushes_sent", "grove_ae_pushes_sent_total", M_COUNTER, NULL, "Push datagrams sent (fresh writes).", 0},
	{"ae_push_keys_sent", "grove_ae_push_keys_sent_total", M_COUNTER, NULL, "Keys sent in push datagrams.", 0},
	{"ae_push_keys_received", "grove_ae_push_keys_received_total", M_COUNTER, NULL, "Keys received in push datagrams.", 0},
	{"ae_push_queue_drops", "grove_ae_push_queue_drops_total", M_COUNTER, NULL, "Writes not pushed because the push queue was full.", 0},
	{"ae_out_drops", "grove_ae_output_drops_total", M_COUNTER, NULL, "Anti-entropy outputs dropped (queue full).", 0},
	{"ae_bytes_sent_*", "grove_ae_sent_bytes_total", M_COUNTER, "phase", "Anti-entropy bytes sent, by phase.", 0},
	{"ae_bytes_received_*", "grove_ae_received_bytes_total", M_COUNTER, "phase", "Anti-entropy bytes received, by phase.", 0},
	{"envelopes_accepted", "grove_envelopes_accepted_total", M_COUNTER, NULL, "Signed datagram envelopes accepted.", 0},
	{"envelopes_dropped_*", "grove_envelopes_dropped_total", M_COUNTER, "reason", "Datagram envelopes dropped, by reason.", 0},
	{"envelopes_wrong_kind", "grove_envelopes_wrong_kind_total", M_COUNTER, NULL, "Envelopes of another layer's kind on the anti-entropy path.", 0},
	{"envelopes_cleartext_refused", "grove_envelopes_cleartext_refused_total", M_COUNTER, NULL, "Datagram payloads refused for arriving unsealed.", 0},
	{"envelopes_unsealable", "grove_envelopes_unsealable_total", M_COUNTER, NULL, "Datagram payloads not sent for want of the recipient's key.", 0},
	{"keys", "grove_keys", M_GAUGE, NULL, "Live keys in the store.", 0},
	{"writes", "grove_writes_total", M_COUNTER, NULL, "Writes to the store (client commands).", 0},
	{"merges_*", "grove_merges_total", M_COUNTER, "result", "Remote states merged into the store, by result (changed, unchanged, rejected).", 0},
	{"items_rejected", "grove_items_rejected_total", M_COUNTER, NULL, "Collection item states refused by the store (malformed, forged, clock).", 0},
	{"elements_purged", "grove_elements_purged_total", M_COUNTER, NULL, "Element records removed once covered by a key delete.", 0},
	{"purges_pending", "grove_purges_pending", M_GAUGE, NULL, "Key deletes whose element records are still being removed.", 0},
	{"index_rebuilds", "grove_index_rebuilds_total", M_COUNTER, NULL, "Digest index rebuilt from the data at open.", 0},
	{"cert_expires_in_s", "grove_cert_expires_in_seconds", M_GAUGE, NULL, "Seconds until this node's certificate expires (negative once expired).", 0},
	{"cert_version", "grove_cert_version", M_GAUGE, NULL, "Format version of this node's certificate.", 0},
	{"cert_issued_ms", "grove_cert_issued_timestamp_seconds", M_GAUGE, NULL, "Issue time of this node's certificate (Unix seconds).", 1.0 / 1000},
	{"peer_cert_nearest_expiry_s", "grove_peer_cert_nearest_expiry_seconds", M_GAUGE, NULL, "Seconds until the nearest expiry among peers' certificates (-1: no peer).", 0},
	{"revocation_list_issued_ms", "grove_revocation_list_issued_timestamp_seconds", M_GAUGE, NULL, "Issue time of the revocation list in force (Unix seconds; 0: none).", 1.0 / 1000},
	{"revoked_keys", "grove_revoked_keys", M_GAUGE, NULL, "Keys in the revocation list in force.", 0},
	{"duplicate_instance", "grove_duplicate_instance", M_GAUGE, NULL, "1 while another live instance of this node's id has precedence (writes refused).", 0},
	{"writes_refused_duplicate", "grove_writes_refused_duplicate_total", M_COUNTER, NULL, "Writes refused while another instance of this node's id had precedence.", 0},
	{"duplicate_ids_seen", "grove_duplicate_ids_seen", M_GAUGE, NULL, "Node ids currently seen with two live instances.", 0},
	{"cert_superseded", "grove_cert_superseded", M_GAUGE, NULL, "1 once another instance's certificate for this node's id superseded ours (writes refused until a newer one is loaded).", 0},
	{"superseded_notices_sent", "grove_superseded_notices_sent_total", M_COUNTER, NULL, "Notices sent to old instances whose superseded certificate peers refuse.", 0},
	{"hlc_last", "grove_hlc_physical_seconds", M_GAUGE, NULL, "Physical part of the last hybrid logical clock timestamp issued (Unix seconds).", 1.0 / 65536 / 1000},
};
#define DEFS (sizeof(defs) / sizeof(defs[0]))

/* Not exported: Redis-compatibility constants, duplicates, strings. */
static const char *const skip[] = {
	"redis_version", "process_id", "maxmemory", "loading", "async_loading",
	"rdb_changes_since_last_save", "rdb_bgsave_in_progress", "aof_enabled",
	"aof_rewrite_in_progress", "connected_slaves", "master_repl_offset", "cluster_enabled",
	"fsyncs", "root_digest",
};
#define SKIPS (sizeof(skip) / sizeof(skip[0]))

typedef struct field {
	const char *sec, *name, *val;
	size_t sec_len, name_len, val_len;
	bool used;
} field_t;

/* ---- text helpers ---- */

static void out_text(grove_buf_t *b, const char *s)
{
	grove_buf_append(b, s, strlen(s));
}

/* A label value, escaped as the exposition format wants (\\ \" \n). */
static void out_label(grove_buf_t *b, const char *v, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (v[i] == '\\' || v[i] == '"')
			grove_buf_append(b, "\\", 1);
		if (v[i] == '\n')
			out_text(b, "\\n");
		else
			grove_buf_append(b, &v[i], 1);
	}
}

static void out_family(grove_buf_t *b, const char *name, const char *type, const char *help)
{
	grove_buf_appendf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* ---- INFO fields ---- */

static bool is_number(const char *v, size_t len)
{
	if (len == 0 || len > 40)
		return false;
	char tmp[48];
	memcpy(tmp, v, len);
	tmp[len] = 0;
	char *end;
	strtod(tmp, &end);
	return *end == 0 && (tmp[0] == '-' || (tmp[0] >= '0' && tmp[0] <= '9'));
}

static double to_double(const char *v, size_t len)
{
	char tmp[48];
	if (len >= sizeof(tmp))
		return 0;
	memcpy(tmp, v, len);
	tmp[len] = 0;
	return strtod(tmp, NULL);
}

/* Splits INFO text into fields (bounded by FIELDS_MAX); returns the count. */
static size_t parse_info(const char *text, size_t len, field_t *f, size_t max)
{
	const char *sec = "", *p = text, *end = text + len;
	size_t sec_len = 0, n = 0;
	while (p < end && n < max) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *stop = eol ? eol : end;
		size_t l = (size_t)(stop - p);
		if (l && p[l - 1] == '\r')
			l--;
		const char *colon = memchr(p, ':', l);
		if (l > 2 && p[0] == '#' && p[1] == ' ') {
			sec = p + 2;
			sec_len = l - 2;
		} else if (colon && colon > p) {
			f[n++] = (field_t){sec, p, colon + 1, sec_len, (size_t)(colon - p),
					   l - (size_t)(colon - p) - 1, false};
		}
		p = eol ? eol + 1 : end;
	}
	return n;
}

static bool field_is(const field_t *f, const char *name)
{
	return f->name_len == strlen(name) && memcmp(f->name, name, f->name_len) == 0;
}

static bool sec_is(const field_t *f, const char *sec)
{
	return f->sec_len == strlen(sec) && strncasecmp(f->sec, sec, f->sec_len) == 0;
}

/* Whether def d claims field f; *rest is the part matched by '*'. */
static bool def_claims(const metric_def_t *d, const field_t *f, size_t *rest)
{
	size_t dl = strlen(d->field);
	if (d->field[dl - 1] != '*')
		return field_is(f, d->field) && (*rest = 0, true);
	dl--;
	if (f->name_len <= dl || memcmp(f->name, d->field, dl) != 0)
		return false;
	*rest = dl;
	return true;
}

static void out_value(grove_buf_t *b, double v)
{
	if (v == (double)(uint64_t)v && v < 1e15)
		grove_buf_appendf(b, "%llu\n", (unsigned long long)v);
	else
		grove_buf_appendf(b, "%.12g\n", v);
}

/* One family of defs[]: its HELP and TYPE, then every field it claims. */
static void render_def(const metric_def_t *d, field_t *f, size_t n, grove_buf_t *b)
{
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		size_t rest;
		if (f[i].used || !is_number(f[i].val, f[i].val_len) || !def_claims(d, &f[i], &rest))
			continue;
		if (!any) {
			char help[384];
			snprintf(help, sizeof(help), "%s (INFO field%s %s)", d->help, d->label ? "s" : "", d->field);
			out_family(b, d->name, d->kind == M_COUNTER ? "counter" : "gauge", help);
			any = true;
		}
		f[i].used = true;
		out_text(b, d->name);
		if (d->label) {
			grove_buf_appendf(b, "{%s=\"", d->label);
			out_label(b, f[i].name + rest, f[i].name_len - rest);
			out_text(b, "\"}");
		}
		out_text(b, " ");
		out_value(b, to_double(f[i].val, f[i].val_len) * (d->scale ? d->scale : 1));
	}
}

/* Numeric fields no row claimed: untyped grove_info_<field>. */
static void render_unknown(field_t *f, size_t n, grove_buf_t *b)
{
	for (size_t i = 0; i < n; i++) {
		if (f[i].used || !is_number(f[i].val, f[i].val_len))
			continue;
		bool dup = false; /* a name seen earlier (another section) */
		for (size_t k = 0; k < i && !dup; k++)
			dup = f[k].name_len == f[i].name_len && memcmp(f[k].name, f[i].name, f[i].name_len) == 0 &&
			      is_number(f[k].val, f[k].val_len);
		f[i].used = true;
		if (dup)
			continue;
		char name[128];
		snprintf(name, sizeof(name), "grove_info_%.*s", (int)f[i].name_len, f[i].name);
		for (char *c = name; *c; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
				*c = (*c >= 'A' && *c <= 'Z') ? (char)(*c - 'A' + 'a') : '_';
		char help[256];
		snprintf(help, sizeof(help), "INFO %.*s field without metric metadata yet (INFO field %.*s)",
			 (int)f[i].sec_len, f[i].sec, (int)f[i].name_len, f[i].name);
		out_family(b, name, "untyped", help);
		grove_buf_appendf(b, "%s ", name);
		out_value(b, to_double(f[i].val, f[i].val_len));
	}
}

/* Marks the fields exported otherwise (or never) as used. */
static void mark_special(field_t *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < SKIPS; k++)
			if (field_is(&f[i], skip[k]))
				f[i].used = true;
		if (sec_is(&f[i], "commandstats") || sec_is(&f[i], "errorstats") || sec_is(&f[i], "keyspace") ||
		    (f[i].name_len > 10 && memcmp(f[i].name, "grove_peer", 10) == 0 &&
		     f[i].name[10] >= '0' && f[i].name[10] <= '9'))
			f[i].used = true;
	}
}

/* errorstat_<PREFIX>:count=N -> grove_errors_total{prefix}. */
static void render_errors(const field_t *f, size_t n, grove_buf_t *b)
{
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		if (!sec_is(&f[i], "errorstats") || f[i].name_len <= 10 || f[i].val_len <= 6 ||
		    memcmp(f[i].val, "count=", 6) != 0)
			continue;
		if (!any)
			out_family(b, "grove_errors_total", "counter",
				   "Error replies by their first word (INFO errorstats).");
		any = true;
		out_text(b, "grove_errors_total{prefix=\"");
		out_label(b, f[i].name + 10, f[i].name_len - 10);
		out_text(b, "\"} ");
		out_value(b, to_double(f[i].val + 6, f[i].val_len - 6));
	}
}

/* ---- beyond INFO ---- */

static void out_histogram(grove_buf_t *b, const char *name, const char *label, const char *lval,
			  const uint64_t *counts, const uint64_t *bounds_us, size_t nb, double sum_s)
{
	uint64_t cum = 0;
	char lab[160] = "";
	if (label) {
		grove_buf_t t;
		grove_buf_init(&t, sizeof(lab) - 1);
		grove_buf_appendf(&t, "%s=\"", label);
		out_label(&t, lval, strlen(lval));
		out_text(&t, "\",");
		if (!grove_buf_failed(&t))
			snprintf(lab, sizeof(lab), "%.*s", (int)t.len, (const char *)t.data);
		grove_buf_close(&t);
	}
	for (size_t i = 0; i < nb; i++) {
		cum += counts[i];
		if (i + 1 < nb)
			grove_buf_appendf(b, "%s_bucket{%sle=\"%g\"} %llu\n", name, lab, (double)bounds_us[i] / 1e6,
				(unsigned long long)cum);
		else
			grove_buf_appendf(b, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, lab, (unsigned long long)cum);
	}
	size_t ll = strlen(lab);
	if (ll)
		lab[ll - 1] = 0; /* no trailing comma in {...} */
	grove_buf_appendf(b, "%s_sum%s%s%s %.6f\n", name, ll ? "{" : "", lab, ll ? "}" : "", sum_s);
	grove_buf_appendf(b, "%s_count%s%s%s %llu\n", name, ll ? "{" : "", lab, ll ? "}" : "", (unsigned long long)cum);
}

static void render_commands(const grove_monitor_snapshot_t *s, grove_buf_t *b)
{
	static const struct {
		const char *name, *help;
		size_t off;
	} ctr[] = {
		{"grove_command_calls_total", "Calls per command (INFO commandstats calls).",
		 offsetof(grove_monitor_cmd_t, calls)},
		{"grove_command_rejected_total", "Calls refused before running (arity, NOAUTH) (INFO commandstats rejected_calls).",
		 offsetof(grove_monitor_cmd_t, rejected)},
		{"grove_command_failed_total", "Calls answered with an error (INFO commandstats failed_calls).",
		 offsetof(grove_monitor_cmd_t, failed)},
	};
	for (size_t k = 0; k < sizeof(ctr) / sizeof(ctr[0]); k++) {
		out_family(b, ctr[k].name, "counter", ctr[k].help);
		for (size_t i = 0; i < s->ncmds; i++) {
			grove_buf_appendf(b, "%s{command=\"", ctr[k].name);
			out_label(b, s->cmds[i].name, strlen(s->cmds[i].name));
			grove_buf_appendf(b, "\"} %llu\n",
				(unsigned long long)*(const uint64_t *)((const char *)&s->cmds[i] + ctr[k].off));
		}
	}
	out_family(b, "grove_command_duration_seconds", "histogram",
		   "Command execution time, from parse to reply (INFO commandstats usec).");
	for (size_t i = 0; i < s->ncmds; i++)
		out_histogram(b, "grove_command_duration_seconds", "command", s->cmds[i].name,
			      s->cmds[i].latency, grove_cmd_latency_bounds_us, GROVE_CMD_LATENCY_BUCKETS,
			      (double)s->cmds[i].usec / 1e6);
}

bool grove_metrics_converged(const grove_monitor_snapshot_t *s, uint64_t *since)
{
	uint64_t first = 0;
	for (size_t i = 0; i < s->npeers; i++) {
		const grove_peer_view_t *p = &s->peers[i];
		if (p->self || strcmp(p->state, "alive") != 0 || p->digest == GROVE_PEER_DIGEST_EQUAL)
			continue;
		uint64_t t = p->digest == GROVE_PEER_DIGEST_DIFFERENT && p->diverged_since_ms
				     ? p->diverged_since_ms
				     : p->state_since_ms;
		if (!first || (t && t < first))
			first = t ? t : s->now_ms;
	}
	*since = first;
	return first == 0;
}

static void peer_sample(grove_buf_t *b, const char *name, const grove_peer_view_t *p)
{
	grove_buf_appendf(b, "%s{peer=\"", name);
	out_label(b, p->id, strlen(p->id));
	out_text(b, "\"} ");
}

static void render_peers(const grove_monitor_snapshot_t *s, grove_buf_t *b)
{
	static const char *states[] = {"alive", "suspect", "dead", "left"};
	out_family(b, "grove_member_state", "gauge", "1 for the state each member is in as this node sees it.");
	for (size_t i = 0; i < s->npeers; i++)
		for (size_t k = 0; k < 4; k++) {
			out_text(b, "grove_member_state{peer=\"");
			out_label(b, s->peers[i].id, strlen(s->peers[i].id));
			grove_buf_appendf(b, "\",state=\"%s\"} %d\n", states[k], strcmp(s->peers[i].state, states[k]) == 0);
		}
	out_family(b, "grove_member_incarnation", "gauge", "Each member's SWIM incarnation as this node knows it.");
	for (size_t i = 0; i < s->npeers; i++) {
		peer_sample(b, "grove_member_incarnation", &s->peers[i]);
		out_value(b, (double)s->peers[i].incarnation);
	}
	out_family(b, "grove_member_certificate_expiry_timestamp_seconds", "gauge",
		   "When each member's certificate expires (Unix seconds), as this node's peer book holds it.");
	for (size_t i = 0; i < s->npeers; i++)
		if (s->peers[i].cert_expires_ms) {
			peer_sample(b, "grove_member_certificate_expiry_timestamp_seconds", &s->peers[i]);
			out_value(b, (double)(s->peers[i].cert_expires_ms / 1000));
		}
	out_family(b, "grove_peer_digest_equal", "gauge",
		   "1 if the peer's last root digest equalled this node's, 0 if it differed (absent: none seen).");
	for (size_t i = 0; i < s->npeers; i++)
		if (!s->peers[i].self && s->peers[i].digest != GROVE_PEER_DIGEST_UNKNOWN) {
			peer_sample(b, "grove_peer_digest_equal", &s->peers[i]);
			out_value(b, s->peers[i].digest == GROVE_PEER_DIGEST_EQUAL);
		}
	out_family(b, "grove_peer_last_equal_digest_age_seconds", "gauge",
		   "Seconds since the peer's root digest last equalled this node's (+Inf: never).");
	for (size_t i = 0; i < s->npeers; i++) {
		const grove_peer_view_t *p = &s->peers[i];
		if (p->self)
			continue;
		peer_sample(b, "grove_peer_last_equal_digest_age_seconds", p);
		if (!p->last_equal_ms)
			out_text(b, "+Inf\n");
		else
			grove_buf_appendf(b, "%.3f\n", s->now_ms > p->last_equal_ms ? (double)(s->now_ms - p->last_equal_ms) / 1e3 : 0.0);
	}
	uint64_t since;
	bool conv = grove_metrics_converged(s, &since);
	out_family(b, "grove_converged", "gauge", "1 if every alive peer's last root digest equalled this node's.");
	grove_buf_appendf(b, "grove_converged %d\n", conv);
	out_family(b, "grove_diverged_seconds", "gauge", "Seconds since this node last saw every alive peer equal (0 when converged).");
	grove_buf_appendf(b, "grove_diverged_seconds %.3f\n", conv || s->now_ms < since ? 0.0 : (double)(s->now_ms - since) / 1e3);
}

void grove_metrics_render(const grove_monitor_snapshot_t *s, grove_buf_t *b)
{
	field_t *f = grove_malloc(FIELDS_MAX * sizeof(*f));
	if (!f)
		return; /* nothing written: the server answers 500 */
	size_t n = parse_info((const char *)s->info.data, s->info.len, f, FIELDS_MAX);
	out_family(b, "grove_node_info", "gauge", "Always 1; the node's identity and settings as labels.");
	out_text(b, "grove_node_info{node_id=\"");
	out_label(b, s->node_id, strlen(s->node_id));
	out_text(b, "\",version=\"");
	out_label(b, s->version, strlen(s->version));
	out_text(b, "\"} 1\n");
	mark_special(f, n);
	for (size_t i = 0; i < DEFS; i++)
		render_def(&defs[i], f, n, b);
	render_errors(f, n, b);
	render_unknown(f, n, b);
	render_commands(s, b);
	out_family(b, "grove_ae_session_duration_seconds", "histogram",
		   "Anti-entropy session time, TCP stream open to close (both directions).");
	out_histogram(b, "grove_ae_session_duration_seconds", NULL, NULL, s->ae_sessions,
		      grove_ae_session_bounds_us, GROVE_AE_SESSION_BUCKETS, (double)s->ae_session_sum_us / 1e6);
	render_peers(s, b);
	out_text(b, "# grove: INFO fields not exported (Redis-compatibility constants, duplicates, strings):");
	for (size_t k = 0; k < SKIPS; k++)
		grove_buf_appendf(b, " %s", skip[k]);
	out_text(b, "\n");
	grove_free(f);
}

uint64_t grove_metrics_info_u64(const char *text, size_t len, const char *name)
{
	field_t f[1];
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t l = (size_t)((eol ? eol : end) - p);
		if (parse_info(p, l, f, 1) == 1 && field_is(&f[0], name)) {
			char tmp[24];
			if (f[0].val_len >= sizeof(tmp))
				return 0;
			memcpy(tmp, f[0].val, f[0].val_len);
			tmp[f[0].val_len] = 0;
			return strtoull(tmp, NULL, 10);
		}
		p = eol ? eol + 1 : end;
	}
	return 0;
}
