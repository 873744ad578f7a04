/*
 * test_cmd_info.c - the INFO sections of resp_cmd_info.c and the counters
 * behind commandstats and errorstats: which sections the default INFO
 * holds, the keyspace line, calls / rejected / failed per command (EXEC's
 * commands counted one by one), errors by prefix, CONFIG RESETSTAT, and
 * replication listing the peers a membership hook reports; COMMAND INFO,
 * GETKEYS, LIST FILTERBY; CLIENT HELP, LIST (filters), INFO, KILL; CONFIG
 * GET (Grove's settings, Redis's names) and SET (run-time limits through
 * the server hook, encoding thresholds as stored no-ops, immutable ones).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/util_cmd.h"

static void test_sections(void **state)
{
	grove_test_cmd_t *f = *state;
	const char *r = grove_test_cmd_run(f, 0, "INFO");
	const char *want[] = {"# Server\r\n", "# Clients\r\n", "# Memory\r\nused_memory:",
			      "# Persistence\r\nloading:0\r\n", "# Stats\r\n",
			      "# Replication\r\nrole:master\r\n", "# CPU\r\nused_cpu_sys:",
			      "# Errorstats\r\n", "# Keyspace\r\n", "aof_enabled:0\r\n",
			      "maxmemory_policy:noeviction\r\n", NULL};
	for (const char *const *w = want; *w; w++)
		assert_non_null(strstr(r, *w));
	assert_null(strstr(r, "# Commandstats"));
	assert_null(strstr(r, "db0:")); /* Redis omits an empty db */
	GROVE_EXPECT(f, "MSET a 1 b 2", "+OK\r\n");
	assert_non_null(strstr(grove_test_cmd_run(f, 0, "INFO keyspace"),
			       "# Keyspace\r\ndb0:keys=2,expires=0,avg_ttl=0\r\n"));
	r = grove_test_cmd_run(f, 0, "INFO all");
	assert_non_null(strstr(r, "# Commandstats\r\n"));
	assert_non_null(strstr(r, "# Storage\r\n"));
	/* the per-element collection counters (issue 11) */
	assert_non_null(strstr(r, "\r\nitems_rejected:0\r\n"));
	assert_non_null(strstr(r, "\r\nelements_purged:0\r\n"));
	assert_non_null(strstr(r, "\r\npurges_pending:0\r\n"));
	assert_non_null(strstr(r, "\r\nindex_rebuilds:"));
	GROVE_EXPECT(f, "SADD big a b c", ":3\r\n");
	GROVE_EXPECT(f, "DEL big", ":1\r\n");
	r = grove_test_cmd_run(f, 0, "INFO storage");
	assert_non_null(strstr(r, "\r\nelements_purged:3\r\n"));
	/* presence sets: big was new (walked: one seek), b and c skipped their reads */
	assert_non_null(strstr(r, "\r\npresence_walks:1\r\n"));
	assert_non_null(strstr(r, "\r\npresence_reads_skipped:3\r\n"));
	assert_null(strstr(r, "\r\npresence_bytes:0\r\n"));
	assert_non_null(strstr(r, "\r\npresence_drops:0\r\n"));
	/* the sorted sets' rank cache: a set with counts, written twice in a
	 * row (its boundaries cached; y's write runs a pass that splits a leaf
	 * and keeps its entries: one load); the first ZRANK walks the member's
	 * leaf and keeps it, walking on to keep the 2 leaves after it in its
	 * super too (loads 2-4), the second finds the member's leaf through
	 * the hint and the member there */
	static char zadd[4096];
	size_t zl = (size_t)snprintf(zadd, sizeof(zadd), "ZADD zs");
	for (int i = 0; i < 200; i++)
		zl += (size_t)snprintf(zadd + zl, sizeof(zadd) - zl, " %d m%d", i, i);
	GROVE_EXPECT(f, zadd, ":200\r\n");
	GROVE_EXPECT(f, "ZADD zs 500 x", ":1\r\n");
	GROVE_EXPECT(f, "ZADD zs 501 y", ":1\r\n");
	GROVE_EXPECT(f, "ZRANK zs m7", ":7\r\n");
	GROVE_EXPECT(f, "ZREVRANK zs m7", ":194\r\n");
	r = grove_test_cmd_run(f, 0, "INFO storage");
	assert_non_null(strstr(r, "\r\nzset_rank_leaf_loads:4\r\n"));
	assert_non_null(strstr(r, "\r\nzset_rank_leaf_hits:1\r\n"));
	assert_non_null(strstr(r, "\r\nzset_rank_score_hits:1\r\n"));
	assert_non_null(strstr(r, "\r\nzset_rank_leaf_drops:0\r\n"));
	assert_null(strstr(r, "\r\nzset_rank_cache_bytes:0\r\n"));
	r = grove_test_cmd_run(f, 0, "INFO cpu memory");
	assert_non_null(strstr(r, "# CPU"));
	assert_non_null(strstr(r, "# Memory"));
	assert_null(strstr(r, "# Server"));
}

static void test_command_and_error_stats(void **state)
{
	grove_test_cmd_t *f = *state;
	GROVE_EXPECT(f, "SET k v", "+OK\r\n");
	GROVE_EXPECT(f, "SET k v", "+OK\r\n");
	GROVE_EXPECT(f, "SADD k m", "-WRONGTYPE Operation against a key holding the wrong kind of "
				    "value\r\n");
	GROVE_EXPECT(f, "GET", "-ERR wrong number of arguments for 'get' command\r\n");
	GROVE_EXPECT(f, "NOSUCH", "-ERR unknown command 'NOSUCH', with args beginning with: \r\n");
	GROVE_EXPECT(f, "MULTI", "+OK\r\n");
	GROVE_EXPECT(f, "SET k2 v", "+QUEUED\r\n");
	GROVE_EXPECT(f, "EXEC", "*1\r\n+OK\r\n");
	const char *r = grove_test_cmd_run(f, 0, "INFO commandstats");
	assert_non_null(strstr(r, "cmdstat_set:calls=3,"));
	assert_non_null(strstr(r, "cmdstat_sadd:calls=1,"));
	assert_non_null(strstr(r, ",rejected_calls=0,failed_calls=1\r\n"));
	assert_non_null(strstr(r, "cmdstat_get:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,"
				  "failed_calls=0\r\n"));
	assert_non_null(strstr(r, "cmdstat_exec:calls=1,"));
	r = grove_test_cmd_run(f, 0, "INFO errorstats");
	assert_non_null(strstr(r, "errorstat_ERR:count=2\r\n"));
	assert_non_null(strstr(r, "errorstat_WRONGTYPE:count=1\r\n"));
	GROVE_EXPECT(f, "CONFIG RESETSTAT", "+OK\r\n");
	r = grove_test_cmd_run(f, 0, "INFO commandstats errorstats");
	assert_null(strstr(r, "cmdstat_set"));
	assert_null(strstr(r, "errorstat_"));
	assert_non_null(strstr(r, "cmdstat_config:calls=1,"));
}

static size_t two_members(void *ctx, grove_member_view_t *out, size_t max)
{
	(void)ctx;
	assert_true(max >= 2);
	memset(out, 0, 2 * sizeof(*out));
	snprintf(out[0].id, sizeof(out[0].id), "n1");
	snprintf(out[0].addr, sizeof(out[0].addr), "127.0.0.1:7946");
	out[0].state = "alive";
	snprintf(out[1].id, sizeof(out[1].id), "n2");
	snprintf(out[1].addr, sizeof(out[1].addr), "127.0.0.2:7946");
	out[1].state = "suspect";
	return 2;
}

static void test_replication_peers(void **state)
{
	grove_test_cmd_t *f = *state;
	f->env.node_id = "n1";
	f->env.hooks.members = two_members;
	const char *r = grove_test_cmd_run(f, 0, "INFO replication");
	assert_non_null(strstr(r, "role:master\r\nconnected_slaves:0\r\n"));
	assert_non_null(strstr(r, "grove_peers:1\r\ngrove_peer0:id=n2,addr=127.0.0.2:7946,"
				  "state=suspect\r\n"));
}

static void test_command(void **state)
{
	grove_test_cmd_t *f = *state;
	GROVE_EXPECT(f, "COMMAND INFO get nosuch",
		     "*2\r\n*10\r\n$3\r\nget\r\n:2\r\n*1\r\n+readonly\r\n:1\r\n:1\r\n:1\r\n"
		     "*1\r\n+@read\r\n*0\r\n*0\r\n*0\r\n$-1\r\n");
	GROVE_EXPECT(f, "COMMAND GETKEYS mset a 1 b 2", "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
	GROVE_EXPECT(f, "COMMAND GETKEYS del a b", "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
	GROVE_EXPECT(f, "COMMAND GETKEYS get a", "*1\r\n$1\r\na\r\n");
	GROVE_EXPECT(f, "COMMAND GETKEYS ping x", "-ERR The command has no key arguments\r\n");
	GROVE_EXPECT(f, "COMMAND GETKEYS nosuch x", "-ERR Invalid command specified\r\n");
	GROVE_EXPECT(f, "COMMAND GETKEYS get a b",
		     "-ERR Invalid number of arguments specified for command\r\n");
	GROVE_EXPECT(f, "COMMAND GETKEYS",
		     "-ERR wrong number of arguments for 'command|getkeys' command\r\n");
	GROVE_EXPECT(f, "COMMAND LIST FILTERBY PATTERN multi", "*1\r\n$5\r\nmulti\r\n");
	GROVE_EXPECT(f, "COMMAND LIST FILTERBY MODULE x", "*0\r\n");
	GROVE_EXPECT(f, "COMMAND LIST FILTERBY BOGUS x", "-ERR syntax error\r\n");
	assert_non_null(strstr(grove_test_cmd_run(f, 0, "COMMAND LIST FILTERBY ACLCAT write"),
			       "$6\r\nappend\r\n"));
	assert_null(strstr(f->reply, "$6\r\nstrlen\r\n"));
	GROVE_EXPECT(f, "COMMAND COUNT x",
		     "-ERR wrong number of arguments for 'command|count' command\r\n");
	assert_int_equal(strncmp(grove_test_cmd_run(f, 0, "COMMAND HELP"), "*17\r\n+COMMAND", 13), 0);
}

static void test_client(void **state)
{
	grove_test_cmd_t *f = *state;
	assert_int_equal(strncmp(grove_test_cmd_run(f, 0, "CLIENT HELP"), "*41\r\n+CLIENT <sub", 17),
			 0);
	GROVE_EXPECT(f, "CLIENT SETNAME app", "+OK\r\n");
	const char *r = grove_test_cmd_run(f, 0, "CLIENT LIST");
	assert_non_null(strstr(r, "id=1 addr="));
	assert_non_null(strstr(r, " name=app age=0 idle=0 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 "));
	assert_non_null(strstr(r, " user=default redir=-1 resp=2\n"));
	assert_non_null(strstr(grove_test_cmd_run(f, 0, "CLIENT LIST ID 7 1"), "id=1 "));
	GROVE_EXPECT(f, "CLIENT LIST ID 7", "$0\r\n\r\n");
	GROVE_EXPECT(f, "CLIENT LIST ID x", "-ERR Invalid client ID\r\n");
	GROVE_EXPECT(f, "CLIENT LIST TYPE pubsub", "$0\r\n\r\n");
	GROVE_EXPECT(f, "CLIENT LIST TYPE bogus", "-ERR Unknown client type 'bogus'\r\n");
	GROVE_EXPECT(f, "CLIENT LIST BOGUS", "-ERR syntax error\r\n");
	assert_non_null(strstr(grove_test_cmd_run(f, 0, "CLIENT INFO"), "id=1 "));
	GROVE_EXPECT(f, "CLIENT KILL 1.2.3.4:5", "-ERR No such client\r\n");
	GROVE_EXPECT(f, "CLIENT KILL ID x", "-ERR client-id should be greater than 0\r\n");
	GROVE_EXPECT(f, "CLIENT KILL ID 1", ":0\r\n"); /* SKIPME yes by default */
	GROVE_EXPECT(f, "CLIENT KILL ID 1 SKIPME maybe", "-ERR syntax error\r\n");
	assert_int_equal(f->result, 0);
	GROVE_EXPECT(f, "CLIENT KILL ID 1 SKIPME no", ":1\r\n");
	assert_int_equal(f->result, GROVE_CMD_CLOSE);
	GROVE_EXPECT(f, "CLIENT FOO", "-ERR unknown subcommand 'FOO'. Try CLIENT HELP.\r\n");
	/* no server here: PAUSE is refused after Redis's checks, UNPAUSE is OK */
	GROVE_EXPECT(f, "CLIENT PAUSE 10 foo", "-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n");
	GROVE_EXPECT(f, "CLIENT PAUSE -1 WRITE", "-ERR timeout is negative\r\n");
	GROVE_EXPECT(f, "CLIENT PAUSE 10", "-ERR CLIENT PAUSE needs the server (not available here)\r\n");
	GROVE_EXPECT(f, "CLIENT UNPAUSE", "+OK\r\n");
	GROVE_EXPECT(f, "MONITOR", "-ERR MONITOR needs the server (not available here)\r\n");
	/* CLIENT REPLY: OFF drops every reply (its own too), SKIP its own and the next */
	GROVE_EXPECT_AS(f, 1, "CLIENT REPLY OFF", "");
	GROVE_EXPECT_AS(f, 1, "SET k v", "");
	GROVE_EXPECT_AS(f, 1, "CLIENT REPLY ON", "+OK\r\n");
	GROVE_EXPECT_AS(f, 1, "GET k", "$1\r\nv\r\n");
	GROVE_EXPECT_AS(f, 1, "CLIENT REPLY SKIP", "");
	GROVE_EXPECT_AS(f, 1, "GET k", "");
	GROVE_EXPECT_AS(f, 1, "GET k", "$1\r\nv\r\n");
	GROVE_EXPECT_AS(f, 1, "CLIENT REPLY MAYBE", "-ERR syntax error\r\n");
}

static uint64_t fake_limits[3] = {10000, 0, GROVE_LOG_INFO};

static int fake_limit(void *ctx, const char *name, const uint64_t *set, uint64_t *value)
{
	(void)ctx;
	size_t i = !strcmp(name, "max-clients") ? 0 : !strcmp(name, "idle-timeout") ? 1 : 2;
	if (set)
		fake_limits[i] = *set;
	if (value)
		*value = fake_limits[i];
	return 0;
}

static void test_config(void **state)
{
	grove_test_cmd_t *f = *state;
	grove_config_t cfg;
	grove_config_defaults(&cfg);
	snprintf(cfg.requirepass, sizeof(cfg.requirepass), "s3cret");
	f->env.cfg = &cfg;
	GROVE_EXPECT(f, "CONFIG GET durability ae-fanout",
		     "*4\r\n$10\r\ndurability\r\n$4\r\nnone\r\n$9\r\nae-fanout\r\n$1\r\n3\r\n");
	GROVE_EXPECT(f, "CONFIG GET requirepass", "*2\r\n$11\r\nrequirepass\r\n$0\r\n\r\n");
	assert_null(strstr(grove_test_cmd_run(f, 0, "CONFIG GET *"), "s3cret"));
	assert_non_null(strstr(f->reply, "$4\r\nport\r\n$4\r\n7379\r\n"));
	assert_non_null(strstr(f->reply, "$10\r\nappendonly\r\n$2\r\nno\r\n"));
	GROVE_EXPECT(f, "CONFIG GET databases", "*2\r\n$9\r\ndatabases\r\n$1\r\n1\r\n");
	/* without the server hook the limits cannot change */
	GROVE_EXPECT(f, "CONFIG SET maxclients 5", "-ERR CONFIG SET failed (possibly related to "
						  "argument 'maxclients') - can't set immutable config\r\n");
	f->env.server.limit = fake_limit;
	GROVE_EXPECT(f, "CONFIG SET maxclients 5 timeout 30 loglevel warning", "+OK\r\n");
	assert_int_equal(fake_limits[0], 5);
	assert_int_equal(fake_limits[1], 30);
	assert_int_equal(fake_limits[2], GROVE_LOG_WARN);
	GROVE_EXPECT(f, "CONFIG GET maxclients", "*2\r\n$10\r\nmaxclients\r\n$1\r\n5\r\n");
	GROVE_EXPECT(f, "CONFIG GET log-level", "*2\r\n$9\r\nlog-level\r\n$4\r\nwarn\r\n");
	/* all pairs are checked before any is applied */
	GROVE_EXPECT(f, "CONFIG SET maxclients 7 timeout x",
		     "-ERR CONFIG SET failed (possibly related to argument 'timeout') - argument "
		     "couldn't be parsed into an integer\r\n");
	assert_int_equal(fake_limits[0], 5);
	GROVE_EXPECT(f, "CONFIG SET durability always", "-ERR CONFIG SET failed (possibly related "
						       "to argument 'durability') - can't set immutable config\r\n");
	GROVE_EXPECT(f, "CONFIG SET nosuch 1",
		     "-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'\r\n");
	GROVE_EXPECT(f, "CONFIG SET hash-max-listpack-entries 512", "+OK\r\n");
	GROVE_EXPECT(f, "CONFIG GET hash-max-listpack-entries",
		     "*2\r\n$25\r\nhash-max-listpack-entries\r\n$3\r\n512\r\n");
	GROVE_EXPECT(f, "CONFIG SET activerehashing maybe", "-ERR CONFIG SET failed (possibly related "
							   "to argument 'activerehashing') - argument must be 'yes' or 'no'\r\n");
	GROVE_EXPECT(f, "CONFIG SET a", "-ERR wrong number of arguments for 'config|set' command\r\n");
	GROVE_EXPECT(f, "CONFIG GET", "-ERR wrong number of arguments for 'config|get' command\r\n");
	assert_int_equal(strncmp(grove_test_cmd_run(f, 0, "CONFIG HELP"), "*10\r\n+CONFIG", 12), 0);
	f->env.cfg = NULL;
	f->env.server.limit = NULL;
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, grove_test_cmd_setup, grove_test_cmd_teardown)
	const struct CMUnitTest tests[] = {
		T(test_sections),
		T(test_command_and_error_stats),
		T(test_replication_peers),
		T(test_command),
		T(test_client),
		T(test_config),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
