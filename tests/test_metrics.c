/*
 * test_metrics.c - node/metrics.c and node/status_json.c on a fixed
 * snapshot: INFO fields become grove_ metrics with HELP and TYPE (a
 * counter ends in _total, a prefix row folds fields into a label, a scale
 * applies), a numeric field no row knows is still exported (untyped, and
 * its HELP says so), Redis constants are listed as not exported, a label
 * value is escaped, a command histogram is cumulative with +Inf = _count,
 * a peer never seen equal has an age of +Inf, convergence and its age;
 * /status.json's members, rates and warnings (a control byte escaped);
 * grove_metrics_info_u64 on a field at the very end of unterminated text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "node/metrics.h"

static const char info[] =
	"# Server\r\ngrove_version:0.1.0\r\nredis_version:7.0.0\r\nuptime_in_seconds:42\r\n\r\n"
	"# Stats\r\ntotal_commands_processed:7\r\nmaxmemory:0\r\n\r\n"
	"# Gossip\r\nae_bytes_sent_digest:10\r\nae_bytes_received_digest:11\r\nae_bytes_sent_tree:12\r\n"
	"ae_bytes_received_tree:13\r\nbrand_new_thing:5\r\n\r\n"
	"# Errorstats\r\nerrorstat_WRONGTYPE:count=3\r\n\r\n"
	"# Storage\r\nkeys:9\r\nhlc_last:117737013641052160\r\n";

static grove_peer_view_t peers[3];
static grove_monitor_cmd_t cmds[1];
static grove_monitor_sample_t hist[3];
static char warnings[1][GROVE_LOG_RECENT_BYTES];

static void snapshot(grove_monitor_snapshot_t *s)
{
	memset(s, 0, sizeof(*s));
	s->now_ms = 1000000;
	s->node_id = "n\"1";
	s->version = "0.1.0";
	grove_buf_init(&s->info, 0);
	grove_buf_append(&s->info, info, strlen(info));
	cmds[0] = (grove_monitor_cmd_t){.name = "get", .calls = 4, .usec = 300, .latency = {1, 2, 0, 1}};
	s->cmds = cmds;
	s->ncmds = 1;
	s->ae_sessions[0] = 2;
	s->ae_session_count = 2;
	peers[0] = (grove_peer_view_t){.id = "n\"1", .addr = "a:1", .state = "alive", .self = true,
				       .digest = GROVE_PEER_DIGEST_EQUAL, .cert_expires_ms = 5000000};
	peers[1] = (grove_peer_view_t){.id = "n2", .addr = "a:2", .state = "alive", .state_since_ms = 100000,
				       .digest = GROVE_PEER_DIGEST_DIFFERENT, .diverged_since_ms = 940000,
				       .last_equal_ms = 900000};
	peers[2] = (grove_peer_view_t){.id = "n3", .addr = "a:3", .state = "dead", .digest = GROVE_PEER_DIGEST_UNKNOWN};
	s->peers = peers;
	s->npeers = 3;
	hist[0] = (grove_monitor_sample_t){.t_ms = 998000, .commands = 1, .ae_sent_bytes = 100};
	hist[1] = (grove_monitor_sample_t){.t_ms = 999000, .commands = 5, .ae_sent_bytes = 300};
	hist[2] = (grove_monitor_sample_t){.t_ms = 1000000, .commands = 7, .ae_sent_bytes = 300};
	s->history = hist;
	s->nhistory = 3;
	snprintf(warnings[0], sizeof(warnings[0]), "WARN n1 \"x\"\tdone");
	s->warnings = warnings;
	s->nwarnings = 1;
}

static char *render(bool metrics)
{
	grove_monitor_snapshot_t s;
	snapshot(&s);
	grove_buf_t out;
	grove_buf_init(&out, 0);
	if (metrics)
		grove_metrics_render(&s, &out);
	else
		grove_status_json_render(&s, &out);
	assert_false(grove_buf_failed(&out));
	char *text = calloc(1, out.len + 1);
	memcpy(text, out.data, out.len);
	grove_buf_close(&out);
	grove_buf_close(&s.info);
	return text;
}

static void test_info_fields(void **state)
{
	(void)state;
	char *t = render(true);
	const char *want[] = {
		"# HELP grove_uptime_seconds Seconds since the node started. (INFO field uptime_in_seconds)\n"
		"# TYPE grove_uptime_seconds gauge\ngrove_uptime_seconds 42\n",
		"# TYPE grove_commands_processed_total counter\ngrove_commands_processed_total 7\n",
		/* interleaved in INFO, grouped here */
		"grove_ae_sent_bytes_total{phase=\"digest\"} 10\ngrove_ae_sent_bytes_total{phase=\"tree\"} 12\n",
		"# HELP grove_ae_received_bytes_total Anti-entropy bytes received, by phase. (INFO fields ae_bytes_received_*)\n",
		"# TYPE grove_info_brand_new_thing untyped\ngrove_info_brand_new_thing 5\n",
		"without metric metadata yet (INFO field brand_new_thing)",
		"grove_errors_total{prefix=\"WRONGTYPE\"} 3\n",
		"grove_keys 9\n",
		"grove_hlc_physical_seconds 1796524256\n", /* (117737013641052160 >> 16) ms, 12 digits */
		"grove_node_info{node_id=\"n\\\"1\",version=\"0.1.0\"} 1\n",
		"# grove: INFO fields not exported (Redis-compatibility constants, duplicates, strings): redis_version",
		NULL};
	for (const char *const *w = want; *w; w++) {
		if (!strstr(t, *w))
			fail_msg("missing: %s", *w);
	}
	assert_null(strstr(t, "\nmaxmemory"));
	assert_null(strstr(t, "grove_info_maxmemory"));
	free(t);
}

static void test_histograms_and_peers(void **state)
{
	(void)state;
	char *t = render(true);
	const char *want[] = {
		"grove_command_calls_total{command=\"get\"} 4\n",
		"grove_command_duration_seconds_bucket{command=\"get\",le=\"5e-05\"} 1\n",
		"grove_command_duration_seconds_bucket{command=\"get\",le=\"0.0001\"} 3\n",
		"grove_command_duration_seconds_bucket{command=\"get\",le=\"0.00025\"} 3\n",
		"grove_command_duration_seconds_bucket{command=\"get\",le=\"+Inf\"} 4\n",
		"grove_command_duration_seconds_sum{command=\"get\"} 0.000300\n",
		"grove_command_duration_seconds_count{command=\"get\"} 4\n",
		"grove_ae_session_duration_seconds_bucket{le=\"+Inf\"} 2\ngrove_ae_session_duration_seconds_sum 0.000000\n"
		"grove_ae_session_duration_seconds_count 2\n",
		"grove_member_state{peer=\"n3\",state=\"dead\"} 1\n",
		"grove_member_state{peer=\"n3\",state=\"alive\"} 0\n",
		"grove_member_certificate_expiry_timestamp_seconds{peer=\"n\\\"1\"} 5000\n",
		"grove_peer_digest_equal{peer=\"n2\"} 0\n",
		"grove_peer_last_equal_digest_age_seconds{peer=\"n2\"} 100.000\n",
		"grove_peer_last_equal_digest_age_seconds{peer=\"n3\"} +Inf\n",
		"grove_converged 0\n",
		"grove_diverged_seconds 60.000\n",
		NULL};
	for (const char *const *w = want; *w; w++) {
		if (!strstr(t, *w))
			fail_msg("missing: %s", *w);
	}
	assert_null(strstr(t, "grove_peer_digest_equal{peer=\"n3\"}")); /* unknown: absent */
	free(t);
}

static void test_status_json(void **state)
{
	(void)state;
	char *t = render(false);
	const char *want[] = {
		"{\"node_id\":\"n\\\"1\",\"version\":\"0.1.0\",\"now_ms\":1000000,\"uptime_s\":42,\"keys\":9,"
		"\"converged\":false,\"diverged_for_s\":60.0,",
		"{\"id\":\"n2\",\"addr\":\"a:2\",\"state\":\"alive\",\"state_for_s\":900.0,\"incarnation\":0,"
		"\"self\":false,\"cert_expires_ms\":null,\"digest\":\"different\",\"last_equal_age_s\":100.0}",
		"\"digest\":\"unknown\",\"last_equal_age_s\":null}",
		"\"history\":{\"t_ms\":[999000,1000000],\"commands_per_s\":[4.0,2.0],",
		"\"ae_sent_bytes_per_s\":[200.0,0.0]",
		"\"warnings\":[\"WARN n1 \\\"x\\\"\\u0009done\"]}\n",
		NULL};
	for (const char *const *w = want; *w; w++) {
		if (!strstr(t, *w))
			fail_msg("missing: %s", *w);
	}
	free(t);
}

static void test_info_u64(void **state)
{
	(void)state;
	const char text[] = "# S\r\na:1\r\nkeys:12\r\nlast:77"; /* no terminator after 77 */
	assert_int_equal(grove_metrics_info_u64(text, sizeof(text) - 1, "keys"), 12);
	assert_int_equal(grove_metrics_info_u64(text, sizeof(text) - 1, "last"), 77);
	assert_int_equal(grove_metrics_info_u64(text, sizeof(text) - 1, "nope"), 0);
	assert_int_equal(grove_metrics_info_u64(text, sizeof(text) - 3, "last"), 0); /* "la" */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_info_fields),
		cmocka_unit_test(test_histograms_and_peers),
		cmocka_unit_test(test_status_json),
		cmocka_unit_test(test_info_u64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
