/*
 * test_commands.c - the RESP command dispatcher over a memory db, without
 * sockets: every command's reply bytes, the Redis error texts (arity,
 * WRONGTYPE, syntax, integers, NOAUTH), SCAN cursors, the glob matcher, and
 * WAIT's positions, answers and blocking result (with node/wait.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "node/resp_commands.h"
#include "node/wait.h"
#include "node/resp_commands_int.h"
#include "grove/db.h"
#include "storage/glob.h"
#include "tests/util_storage.h"

typedef struct fixture {
	grove_db_t *db;
	grove_cmd_env_t env;
	grove_cmd_client_t client;
	grove_buf_t out;
	char reply[65536];
	unsigned result;
} fixture_t;

static int setup_with(void **state, const char *password)
{
	fixture_t *f = calloc(1, sizeof(*f));
	grove_db_options_t opts;
	grove_test_db_options_init(&opts);
	opts.node_id = "n1";
	char err[256];
	assert_int_equal(grove_db_open(NULL, &opts, &f->db, err, sizeof(err)), 0);
	grove_cmd_env_init(&f->env, f->db);
	f->env.requirepass = password;
	grove_cmd_client_init(&f->client, &f->env, 7);
	grove_buf_init(&f->out, 0);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, NULL);
}

static int setup_auth(void **state)
{
	return setup_with(state, "s3cret");
}

static int teardown(void **state)
{
	fixture_t *f = *state;
	grove_buf_close(&f->out);
	grove_cmd_client_close(&f->client);
	grove_cmd_env_close(&f->env);
	grove_db_close(f->db);
	free(f);
	return 0;
}

/* Runs one inline command line; returns its reply as a C string. */
static const char *run(fixture_t *f, const char *line)
{
	grove_resp_parser_t p;
	grove_resp_parser_init(&p, 0, 0);
	assert_int_equal(grove_resp_parser_feed(&p, line, strlen(line)), 0);
	assert_int_equal(grove_resp_parser_feed(&p, "\r\n", 2), 0);
	grove_resp_request_t req;
	assert_int_equal(grove_resp_parser_next(&p, &req), 1);
	f->out.len = 0;
	f->result = grove_cmd_exec(&f->env, &f->client, &req, &f->out);
	assert_false(grove_buf_failed(&f->out));
	assert_true(f->out.len < sizeof(f->reply));
	memcpy(f->reply, f->out.data, f->out.len);
	f->reply[f->out.len] = 0;
	grove_resp_parser_close(&p);
	return f->reply;
}

#define EXPECT(f, line, want) assert_string_equal(run((f), (line)), (want))

static void test_connection(void **state)
{
	fixture_t *f = *state;
	EXPECT(f, "PING", "+PONG\r\n");
	EXPECT(f, "ping hi", "$2\r\nhi\r\n");
	EXPECT(f, "PING a b", "-ERR wrong number of arguments for 'ping' command\r\n");
	EXPECT(f, "ECHO \"a b\"", "$3\r\na b\r\n");
	EXPECT(f, "ECHO", "-ERR wrong number of arguments for 'echo' command\r\n");
	EXPECT(f, "SELECT 0", "+OK\r\n");
	EXPECT(f, "SELECT 1", "-ERR DB index is out of range\r\n");
	EXPECT(f, "SELECT x", "-ERR value is not an integer or out of range\r\n");
	EXPECT(f, "HELLO 3", "-NOPROTO unsupported protocol version\r\n");
	assert_non_null(strstr(run(f, "HELLO 2"), "$5\r\ngrove\r\n"));
	assert_true(strncmp(run(f, "HELLO"), "*14\r\n", 5) == 0);
	EXPECT(f, "AUTH x", "-ERR AUTH <password> called without any password configured for "
			    "the default user. Are you sure your configuration is correct?\r\n");
	EXPECT(f, "FOO a b", "-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n");
	EXPECT(f, "QUIT", "+OK\r\n");
	assert_int_equal(f->result, GROVE_CMD_CLOSE);
}

static void test_client_config_command(void **state)
{
	fixture_t *f = *state;
	EXPECT(f, "CLIENT GETNAME", "$-1\r\n");
	EXPECT(f, "CLIENT SETNAME app1", "+OK\r\n");
	EXPECT(f, "CLIENT GETNAME", "$4\r\napp1\r\n");
	EXPECT(f, "CLIENT SETNAME \"a b\"",
	       "-ERR Client names cannot contain spaces, newlines or special characters.\r\n");
	EXPECT(f, "CLIENT ID", ":7\r\n");
	EXPECT(f, "CLIENT SETINFO lib-name x", "+OK\r\n");
	EXPECT(f, "CLIENT KILL x", "-ERR No such client\r\n");
	EXPECT(f, "CONFIG GET save", "*2\r\n$4\r\nsave\r\n$0\r\n\r\n");
	EXPECT(f, "CONFIG GET appendonly", "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n");
	EXPECT(f, "CONFIG GET nothing", "*0\r\n");
	EXPECT(f, "CONFIG SET save x", "-ERR CONFIG SET failed (possibly related to argument "
				       "'save') - can't set immutable config\r\n");
	EXPECT(f, "COMMAND DOCS nosuch", "*0\r\n");
	EXPECT(f, "COMMAND DOCS sinter nosuch",
	       "*2\r\n$6\r\nsinter\r\n*6\r\n$7\r\nsummary\r\n$40\r\nSINTER key ...: streams the "
	       "smallest set\r\n$5\r\nsince\r\n$5\r\n0.1.0\r\n$5\r\ngroup\r\n$3\r\nset\r\n");
	assert_true(strncmp(run(f, "COMMAND DOCS"), "*", 1) == 0);
	char count[32];
	snprintf(count, sizeof(count), ":%zu\r\n", grove_cmd_count);
	EXPECT(f, "COMMAND COUNT", count);
	assert_non_null(strstr(run(f, "COMMAND INFO get nosuch"), "$3\r\nget\r\n:2\r\n"));
	assert_non_null(strstr(f->reply, "$-1\r\n"));
	snprintf(count, sizeof(count), "*%zu\r\n", grove_cmd_count);
	assert_true(strncmp(run(f, "COMMAND"), count, strlen(count)) == 0);
}

static void test_register_and_keys(void **state)
{
	fixture_t *f = *state;
	EXPECT(f, "GET k", "$-1\r\n");
	EXPECT(f, "SET k hello", "+OK\r\n");
	EXPECT(f, "GET k", "$5\r\nhello\r\n");
	EXPECT(f, "SET k v FOO", "-ERR syntax error\r\n");
	EXPECT(f, "SET k", "-ERR wrong number of arguments for 'set' command\r\n");
	EXPECT(f, "TYPE k", "+string\r\n");
	EXPECT(f, "TYPE nope", "+none\r\n");
	EXPECT(f, "GROVE TYPE k", "+register\r\n");
	EXPECT(f, "EXISTS k k nope", ":2\r\n");
	EXPECT(f, "DBSIZE", ":1\r\n");
	EXPECT(f, "INCR k", "-ERR value is not an integer or out of range\r\n"); /* "hello" */
	EXPECT(f, "DEL k nope", ":1\r\n");
	EXPECT(f, "GET k", "$-1\r\n");
	EXPECT(f, "DBSIZE", ":0\r\n");
	EXPECT(f, "SET k \"\"", "+OK\r\n");
	EXPECT(f, "GET k", "$0\r\n\r\n");
}

/* Values with NUL and CRLF bytes round-trip through SET/GET. */
static void test_binary_values(void **state)
{
	fixture_t *f = *state;
	EXPECT(f, "SET \"b\\x00in\" \"a\\r\\n\\x00z\"", "+OK\r\n");
	const char want[] = "$5\r\na\r\n\0z\r\n";
	run(f, "GET \"b\\x00in\"");
	assert_int_equal(f->out.len, sizeof(want) - 1);
	assert_memory_equal(f->out.data, want, sizeof(want) - 1);
}

static void test_counter(void **state)
{
	fixture_t *f = *state;
	EXPECT(f, "INCRBY c 0", ":0\r\n"); /* like Redis, but creates no key */
	EXPECT(f, "DECRBY c 0", ":0\r\n");
	EXPECT(f, "EXISTS c", ":0\r\n");
	EXPECT(f, "DBSIZE", ":0\r\n");
	EXPECT(f, "INCR c", ":1\r\n");
	EXPECT(f, "INCRBY c 41", ":42\r\n");
	EXPECT(f, "DECR c", ":41\r\n");
	EXPECT(f, "DECRBY c -9", ":50\r\n");
	EXPECT(f, "GET c", "$2\r\n50\r\n");
	EXPECT(f, "TYPE c", "+string\r\n");
	EXPECT(f, "GROVE TYPE c", "+counter\r\n");
	EXPECT(f, "INCR c3", ":1\r\n"); /* a SET replaces a counter by a register */
	EXPECT(f, "SET c3 x", "+OK\r\n");
	EXPECT(f, "GROVE TYPE c3", "+register\r\n");
	EXPECT(f, "INCRBY c x", "-ERR value is not an integer or out of range\r\n");
	EXPECT(f, "INCRBY c 1.5", "-ERR value is not an integer or out of range\r\n");
	EXPECT(f, "INCRBY c 007", "-ERR value is not an integer or out of range\r\n");
	EXPECT(f, "INCRBY c 9223372036854775808", "-ERR value is not an integer or out of range\r\n");
	EXPECT(f, "DECRBY c -9223372036854775808", "-ERR decrement would overflow\r\n");
	EXPECT(f, "INCRBY c 9223372036854775807", "-ERR increment or decrement would overflow\r\n");
	EXPECT(f, "GET c", "$2\r\n50\r\n");
	EXPECT(f, "INCRBY c -9223372036854775808", ":-9223372036854775758\r\n");
	EXPECT(f, "INCR", "-ERR wrong number of arguments for 'incr' command\r\n");
}

static void test_set(void **state)
{
	fixture_t *f = *state;
	EXPECT(f, "SADD s b a c a", ":3\r\n");
	EXPECT(f, "SADD s a", ":0\r\n");
	EXPECT(f, "SMEMBERS s", "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n");
	EXPECT(f, "SISMEMBER s b", ":1\r\n");
	EXPECT(f, "SISMEMBER s z", ":0\r\n");
	EXPECT(f, "SCARD s", ":3\r\n");
	EXPECT(f, "SREM s b z", ":1\r\n");
	EXPECT(f, "SCARD s", ":2\r\n");
	EXPECT(f, "TYPE s", "+set\r\n");
	EXPECT(f, "GET s", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
	EXPECT(f, "HGET s a", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
	EXPECT(f, "SMEMBERS nope", "*0\r\n");
	EXPECT(f, "SCARD nope", ":0\r\n");
	EXPECT(f, "SADD s", "-ERR wrong number of arguments for 'sadd' command\r\n");
	EXPECT(f, "SET k v", "+OK\r\n");
	EXPECT(f, "SADD k a", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
	EXPECT(f, "SMEMBERS k", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
	/* SSCAN: cursors as Redis parses them (an unsigned decimal) */
	EXPECT(f, "SSCAN s 0", "*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$1\r\nc\r\n");
	EXPECT(f, "SSCAN s 0 MATCH c", "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nc\r\n");
	EXPECT(f, "SSCAN s x", "-ERR invalid cursor\r\n");
	EXPECT(f, "SSCAN s -1", "-ERR invalid cursor\r\n");
	EXPECT(f, "SSCAN s 1x", "-ERR invalid cursor\r\n");
	EXPECT(f, "SSCAN s 18446744073709551616", "-ERR invalid cursor\r\n");
	EXPECT(f, "SSCAN s 18446744073709551615", "-ERR invalid cursor\r\n");
	EXPECT(f, "SSCAN s 99999", "-ERR invalid cursor\r\n");
	EXPECT(f, "SSCAN s 0 COUNT x", "-ERR value is not an integer or out of range\r\n");
	EXPECT(f, "SSCAN s 0 COUNT 0", "-ERR syntax error\r\n");
	EXPECT(f, "SSCAN nope 0", "*2\r\n$1\r\n0\r\n*0\r\n");
	EXPECT(f, "SSCAN k 0", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
	/* a full iteration in pages of one: every member once */
	EXPECT(f, "SADD s2 m1 m2 m3", ":3\r\n");
	char line[64];
	const char *r = run(f, "SSCAN s2 0 COUNT 1");
	int seen = 0, calls = 0;
	for (;;) {
		assert_true(strncmp(r, "*2\r\n$", 5) == 0);
		long long cur = atoll(strstr(r + 4, "\r\n") + 2);
		for (const char *m = strstr(r, "m"); m; m = strstr(m + 1, "m"))
			seen |= 1 << (m[1] - '0');
		if (cur == 0 || ++calls > 10)
			break;
		snprintf(line, sizeof(line), "SSCAN s2 %lld COUNT 1", cur);
		r = run(f, line);
	}
	assert_int_equal(seen, 0xe);
	assert_true(calls >= 2 && calls <= 3);
}

static void test_map(void **state)
{
	fixture_t *f = *state;
	EXPECT(f, "HSET h f1 v1 f2 v2", ":2\r\n");
	EXPECT(f, "HSET h f1 x f3 v3", ":1\r\n");
	EXPECT(f, "HSET h f1", "-ERR wrong number of arguments for 'hset' command\r\n");
	EXPECT(f, "HSET h f1 a f2", "-ERR wrong number of arguments for 'hset' command\r\n");
	EXPECT(f, "HGET h f1", "$1\r\nx\r\n");
	EXPECT(f, "HGET h nope", "$-1\r\n");
	EXPECT(f, "HLEN h", ":3\r\n");
	EXPECT(f, "HEXISTS h f2", ":1\r\n");
	EXPECT(f, "HDEL h f2 nope", ":1\r\n");
	EXPECT(f, "HEXISTS h f2", ":0\r\n");
	EXPECT(f, "HGETALL h", "*4\r\n$2\r\nf1\r\n$1\r\nx\r\n$2\r\nf3\r\n$2\r\nv3\r\n");
	EXPECT(f, "HKEYS h", "*2\r\n$2\r\nf1\r\n$2\r\nf3\r\n");
	EXPECT(f, "HVALS h", "*2\r\n$1\r\nx\r\n$2\r\nv3\r\n");
	EXPECT(f, "TYPE h", "+hash\r\n");
	EXPECT(f, "HGETALL nope", "*0\r\n");
	EXPECT(f, "HLEN nope", ":0\r\n");
	EXPECT(f, "INCR h", "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
	EXPECT(f, "HSCAN h 0", "*2\r\n$1\r\n0\r\n*4\r\n$2\r\nf1\r\n$1\r\nx\r\n$2\r\nf3\r\n$2\r\nv3\r\n");
	EXPECT(f, "HSCAN h abc", "-ERR invalid cursor\r\n");
	EXPECT(f, "HSCAN h -5 COUNT 10", "-ERR invalid cursor\r\n");
	EXPECT(f, "HSCAN h 0 MATCH", "-ERR syntax error\r\n");
}

static void test_keys_and_scan(void **state)
{
	fixture_t *f = *state;
	char line[64];
	for (int i = 0; i < 25; i++) {
		snprintf(line, sizeof(line), "SET user:%02d x", i);
		EXPECT(f, line, "+OK\r\n");
	}
	EXPECT(f, "INCR other", ":1\r\n");
	assert_true(strncmp(run(f, "KEYS *"), "*26\r\n", 5) == 0);
	EXPECT(f, "KEYS user:1?", "*10\r\n$7\r\nuser:10\r\n$7\r\nuser:11\r\n$7\r\nuser:12\r\n"
				  "$7\r\nuser:13\r\n$7\r\nuser:14\r\n$7\r\nuser:15\r\n$7\r\nuser:16\r\n"
				  "$7\r\nuser:17\r\n$7\r\nuser:18\r\n$7\r\nuser:19\r\n");
	EXPECT(f, "KEYS o*", "*1\r\n$5\r\nother\r\n");
	/* a full SCAN returns each key exactly once */
	int seen[26] = {0}, calls = 0;
	long long cursor = 0;
	do {
		snprintf(line, sizeof(line), "SCAN %lld COUNT 7", cursor);
		const char *r = run(f, line);
		assert_true(strncmp(r, "*2\r\n$", 5) == 0);
		const char *cur = strstr(r + 4, "\r\n") + 2;
		cursor = atoll(cur);
		for (const char *k = strstr(r, "user:"); k; k = strstr(k + 1, "user:"))
			seen[atoi(k + 5)]++;
		if (strstr(r, "other"))
			seen[25]++;
		calls++;
	} while (cursor != 0 && calls < 100);
	assert_int_equal(calls, 4);
	for (int i = 0; i < 26; i++)
		assert_int_equal(seen[i], 1);
	EXPECT(f, "SCAN 0 MATCH other COUNT 100", "*2\r\n$1\r\n0\r\n*1\r\n$5\r\nother\r\n");
	EXPECT(f, "SCAN 0 TYPE hash COUNT 100", "*2\r\n$1\r\n0\r\n*0\r\n");
	EXPECT(f, "SCAN 123456 COUNT 1", "-ERR invalid cursor\r\n");
	EXPECT(f, "SCAN x", "-ERR invalid cursor\r\n");
	EXPECT(f, "SCAN -1", "-ERR invalid cursor\r\n");
	EXPECT(f, "SCAN 0 COUNT 0", "-ERR syntax error\r\n");
	EXPECT(f, "SCAN 0 MATCH", "-ERR syntax error\r\n");
	EXPECT(f, "SCAN 0 BOGUS 1", "-ERR syntax error\r\n");
}

static void test_glob(void **state)
{
	(void)state;
	struct {
		const char *p, *s;
		bool match;
	} cases[] = {
		{"*", "", true},          {"*", "abc", true},        {"a*", "abc", true},
		{"a*", "bac", false},     {"*c", "abc", true},       {"a?c", "abc", true},
		{"a?c", "ac", false},     {"h[ae]llo", "hallo", true}, {"h[ae]llo", "hillo", false},
		{"h[^e]llo", "hallo", true}, {"h[^e]llo", "hello", false}, {"h[a-b]llo", "hbllo", true},
		{"h[b-a]llo", "hallo", true}, {"a\\*b", "a*b", true},   {"a\\*b", "axb", false},
		{"*a*b*c*", "xaybzc", true}, {"*a*b*c*", "xaybz", false}, {"", "", true},
		{"", "a", false},          {"[", "a", false},         {"**", "x", true},
		{"a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = grove_glob_match(cases[i].p, strlen(cases[i].p), cases[i].s, strlen(cases[i].s));
		if (got != cases[i].match)
			fail_msg("glob %s vs %s: got %d", cases[i].p, cases[i].s, got);
	}
}

static void test_info_and_grove(void **state)
{
	fixture_t *f = *state;
	const char *r = run(f, "INFO");
	for (const char *s = "# Server\0# Clients\0# Cluster\0# Gossip\0# Storage\0# Stats\0"; *s;
	     s += strlen(s) + 1)
		assert_non_null(strstr(r, s));
	r = run(f, "INFO storage");
	assert_non_null(strstr(r, "# Storage"));
	assert_null(strstr(r, "# Server"));
	r = run(f, "GROVE DIGEST");
	assert_true(strncmp(r, "$32\r\n", 5) == 0);
	EXPECT(f, "GROVE SYNC", ":0\r\n");
	r = run(f, "GROVE MEMBERS");
	assert_true(strncmp(r, "*1\r\n*4\r\n$2\r\nn1\r\n", 16) == 0);
	assert_non_null(strstr(r, "$5\r\nalive\r\n:0\r\n"));
	assert_true(strncmp(run(f, "GROVE NOPE"), "-ERR unknown subcommand 'NOPE'", 30) == 0);
}

/* The GROVE SYNC and INFO gossip hooks a node installs. */
static int sync_hook(void *ctx)
{
	return *(int *)ctx;
}

static void gossip_info_hook(void *ctx, grove_buf_t *text)
{
	(void)ctx;
	grove_buf_append(text, "ae_rounds:7\r\n", 14);
}

static void test_sync_hook(void **state)
{
	fixture_t *f = *state;
	grove_node_stats_t stats = {0};
	int peers = 2;
	f->env.stats = &stats;
	f->env.hooks.sync = sync_hook;
	f->env.hooks.gossip_info = gossip_info_hook;
	f->env.hooks.ctx = &peers;
	EXPECT(f, "GROVE SYNC", ":2\r\n");
	assert_int_equal(stats.sync_rounds, 1);
	peers = GROVE_ENOMEM;
	assert_true(strncmp(run(f, "GROVE SYNC"), "-ERR sync: ", 11) == 0);
	assert_int_equal(stats.sync_rounds, 1);
	const char *r = run(f, "INFO gossip");
	assert_non_null(strstr(r, "sync_rounds:1\r\n"));
	assert_non_null(strstr(r, "ae_rounds:7\r\n"));
}

static void test_noauth(void **state)
{
	fixture_t *f = *state;
	EXPECT(f, "GET k", "-NOAUTH Authentication required.\r\n");
	EXPECT(f, "PING", "-NOAUTH Authentication required.\r\n");
	EXPECT(f, "NOSUCH", "-NOAUTH Authentication required.\r\n");
	assert_true(strncmp(run(f, "HELLO 2"), "-NOAUTH HELLO must be called", 28) == 0);
	EXPECT(f, "AUTH wrong", "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
	EXPECT(f, "AUTH s3cre", "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
	EXPECT(f, "AUTH other s3cret",
	       "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
	EXPECT(f, "GET k", "-NOAUTH Authentication required.\r\n");
	EXPECT(f, "AUTH default s3cret", "+OK\r\n");
	EXPECT(f, "GET k", "$-1\r\n");
	grove_cmd_client_close(&f->client);
	grove_cmd_client_init(&f->client, &f->env, 8);
	assert_true(strncmp(run(f, "HELLO 2 AUTH default s3cret SETNAME x"), "*14\r\n", 5) == 0);
	EXPECT(f, "CLIENT GETNAME", "$1\r\nx\r\n");
	/* the password never appears in CONFIG GET */
	assert_null(strstr(run(f, "CONFIG GET *"), "s3cret"));
}

static uint64_t fixed_now(void *ctx)
{
	(void)ctx;
	return 1700000000000ULL;
}

/* Binds WAIT's bookkeeping w to the fixture (setup has none). */
static void wait_bind(fixture_t *f, grove_wait_t *w)
{
	grove_wait_init(w);
	f->env.wait = w;
	f->env.now_ms = fixed_now;
}

static void test_wait_arguments(void **state)
{
	fixture_t *f = *state;
	grove_wait_t w;
	wait_bind(f, &w);
	EXPECT(f, "WAIT x 1", "-ERR value is not an integer or out of range\r\n");
	EXPECT(f, "WAIT 1 x", "-ERR timeout is not an integer or out of range\r\n");
	EXPECT(f, "WAIT 1 1.5", "-ERR timeout is not an integer or out of range\r\n");
	EXPECT(f, "WAIT 1 -1", "-ERR timeout is negative\r\n");
	EXPECT(f, "WAIT 1 9223372036854775807", "-ERR timeout is out of range\r\n");
	EXPECT(f, "WAIT 1", "-ERR wrong number of arguments for 'wait' command\r\n");
	EXPECT(f, "WAIT 1 2 3", "-ERR wrong number of arguments for 'wait' command\r\n");
	assert_int_equal(grove_wait_blocked(&w), 0);
	assert_int_equal(f->result, 0);
	f->env.wait = NULL;
	grove_wait_close(&w);
}

static void test_wait_positions_and_block(void **state)
{
	fixture_t *f = *state;
	grove_wait_t w;
	wait_bind(f, &w);
	/* No writes yet: position 0, held by any peer with a record. */
	EXPECT(f, "WAIT 0 0", ":0\r\n");
	EXPECT(f, "WAIT -1 0", ":0\r\n");
	grove_wait_peer_holds(&w, "n2", 0, 0);
	EXPECT(f, "WAIT 1 100", ":1\r\n");
	/* Writes take positions; reads do not. */
	EXPECT(f, "SET k v", "+OK\r\n");
	assert_int_equal(f->client.write_pos, 1);
	EXPECT(f, "GET k", "$1\r\nv\r\n");
	assert_int_equal(f->client.write_pos, 1);
	EXPECT(f, "INCR c", ":1\r\n");
	assert_int_equal(f->client.write_pos, 2);
	/* n2 holds position 0 only: WAIT 1 blocks, with nothing appended. */
	EXPECT(f, "WAIT 1 250", "");
	assert_int_equal(f->result, GROVE_CMD_BLOCK);
	assert_int_equal(f->client.block_want, 1);
	assert_int_equal(f->client.block_timeout_ms, 250);
	EXPECT(f, "WAIT 1 0", "");
	assert_int_equal(f->result, GROVE_CMD_BLOCK);
	assert_int_equal(f->client.block_timeout_ms, 0);
	/* Once n2 is known to hold 2, WAIT answers at once. */
	grove_wait_peer_holds(&w, "n2", 2, 0);
	EXPECT(f, "WAIT 1 250", ":1\r\n");
	assert_int_equal(f->result, 0);
	EXPECT(f, "WAIT 2 0", "");
	assert_int_equal(f->result, GROVE_CMD_BLOCK);
	/* Another client without writes is satisfied by n2 alone. */
	grove_cmd_client_t other;
	grove_cmd_client_init(&other, &f->env, 2);
	grove_cmd_client_t saved = f->client;
	f->client = other;
	EXPECT(f, "WAIT 1 0", ":1\r\n");
	f->client = saved;
	/* Without bookkeeping (no cluster) WAIT answers 0 at once. */
	f->env.wait = NULL;
	EXPECT(f, "WAIT 1 0", ":0\r\n");
	assert_int_equal(f->result, 0);
	f->env.wait = &w;
	assert_non_null(strstr(run(f, "INFO clients"), "blocked_clients:0\r\n"));
	f->env.wait = NULL;
	grove_wait_close(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_connection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_config_command, setup, teardown),
		cmocka_unit_test_setup_teardown(test_register_and_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_binary_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_set, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map, setup, teardown),
		cmocka_unit_test_setup_teardown(test_keys_and_scan, setup, teardown),
		cmocka_unit_test(test_glob),
		cmocka_unit_test_setup_teardown(test_info_and_grove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sync_hook, setup, teardown),
		cmocka_unit_test_setup_teardown(test_noauth, setup_auth, teardown),
		cmocka_unit_test_setup_teardown(test_wait_arguments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_positions_and_block, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
