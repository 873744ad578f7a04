/*
 * test_cmd_strings.c - the string commands of resp_cmd_strings.c through the
 * dispatcher: SET's options, SETNX, GETSET, GETDEL, MGET, MSET, MSETNX,
 * APPEND, STRLEN, GETRANGE, SETRANGE with Redis 7.0's replies (the same
 * scripts run against redis-server in tests/proc/test_resp_compat.sh); what
 * is Grove's own: counters read as strings but are not written as
 * registers, a refused command changes nothing, keys that cannot exist;
 * expiry on the env's fake clock (SET EX/PX/EXAT/PXAT/KEEPTTL, GETEX, the
 * EXPIRE family, TTL, PERSIST, SETEX; no sleeps); and no APPEND is lost to
 * a concurrent one.  The bit
 * commands (resp_cmd_bits.c) are here too: strings are their storage.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "storage/db_int.h"
#include "tests/util_cmd.h"
#include "tests/util_storage.h"


static void test_set_options(void **state)
{
	grove_test_cmd_t *f = *state;
	GROVE_EXPECT(f, "SET k v NX", "+OK\r\n");
	GROVE_EXPECT(f, "SET k v2 NX", "$-1\r\n");
	GROVE_EXPECT(f, "SET k v3 XX", "+OK\r\n");
	GROVE_EXPECT(f, "SET nope v XX", "$-1\r\n");
	GROVE_EXPECT(f, "EXISTS nope", ":0\r\n");
	GROVE_EXPECT(f, "SET k v4 NX XX", "-ERR syntax error\r\n");
	GROVE_EXPECT(f, "SET k v5 xx get", "$2\r\nv3\r\n");
	GROVE_EXPECT(f, "SET k v6 NX GET", "$2\r\nv5\r\n");
	GROVE_EXPECT(f, "GET k", "$2\r\nv5\r\n");
	GROVE_EXPECT(f, "SET new v NX GET", "$-1\r\n");
	GROVE_EXPECT(f, "SET k v KEEPTTL", "+OK\r\n");
	GROVE_EXPECT(f, "SET k v EX 0", "-ERR invalid expire time in 'set' command\r\n");
	GROVE_EXPECT(f, "SET k v EX x", "-ERR value is not an integer or out of range\r\n");
	GROVE_EXPECT(f, "SET k v EX", "-ERR syntax error\r\n");
	GROVE_EXPECT(f, "SET k v EX 10 PX 5", "-ERR syntax error\r\n");
	GROVE_EXPECT(f, "SET k v KEEPTTL EX 5", "-ERR syntax error\r\n");
	GROVE_EXPECT(f, "SET k v FOO", "-ERR syntax error\r\n");
	GROVE_EXPECT(f, "SET k v EX 0 FOO", "-ERR syntax error\r\n"); /* options first */
	GROVE_EXPECT(f, "SET k v PX 9223372036854775807", "-ERR invalid expire time in 'set' command\r\n");
	GROVE_EXPECT(f, "SET k v EX 10 EX 20", "+OK\r\n"); /* as Redis: the last one */
	GROVE_EXPECT(f, "TTL k", ":20\r\n");
	GROVE_EXPECT(f, "SET k v", "+OK\r\n");
	GROVE_EXPECT(f, "TTL k", ":-1\r\n");
	GROVE_EXPECT(f, "GETSET k z", "$1\r\nv\r\n");
	GROVE_EXPECT(f, "GETSET nokey z", "$-1\r\n");
	GROVE_EXPECT(f, "SETNX k a", ":0\r\n");
	GROVE_EXPECT(f, "SETNX k2 a", ":1\r\n");
	GROVE_EXPECT(f, "GETDEL k", "$1\r\nz\r\n");
	GROVE_EXPECT(f, "GETDEL k", "$-1\r\n");
	GROVE_EXPECT(f, "EXISTS k", ":0\r\n");
}

static void test_multi_key(void **state)
{
	grove_test_cmd_t *f = *state;
	GROVE_EXPECT(f, "MSET a 1 b 2", "+OK\r\n");
	GROVE_EXPECT(f, "MSET a 1 b", "-ERR wrong number of arguments for 'mset' command\r\n");
	GROVE_EXPECT(f, "MSETNX a 1 c", "-ERR wrong number of arguments for 'msetnx' command\r\n");
	GROVE_EXPECT(f, "MSETNX a 1 c 3", ":0\r\n");
	GROVE_EXPECT(f, "EXISTS c", ":0\r\n");
	GROVE_EXPECT(f, "MSETNX c 3 d 4", ":1\r\n");
	GROVE_EXPECT(f, "INCRBY ctr 7", ":7\r\n");
	GROVE_EXPECT(f, "SADD s m", ":1\r\n");
	GROVE_EXPECT(f, "MGET a b nokey ctr s d", "*6\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n$1\r\n7\r\n"
						  "$-1\r\n$1\r\n4\r\n");
	/* a set among MSET's keys: WRONGTYPE and nothing written */
	GROVE_EXPECT(f, "MSET a x s 1", GROVE_TEST_WRONGTYPE);
	GROVE_EXPECT(f, "GET a", "$1\r\n1\r\n");
	/* MSETNX counts any live key */
	GROVE_EXPECT(f, "MSETNX s 1 e 5", ":0\r\n");
	GROVE_EXPECT(f, "EXISTS e", ":0\r\n");
}

static void test_append_range(void **state)
{
	grove_test_cmd_t *f = *state;
	GROVE_EXPECT(f, "SET a 1", "+OK\r\n");
	GROVE_EXPECT(f, "APPEND a xyz", ":4\r\n");
	GROVE_EXPECT(f, "APPEND fresh abc", ":3\r\n");
	GROVE_EXPECT(f, "STRLEN a", ":4\r\n");
	GROVE_EXPECT(f, "STRLEN nokey", ":0\r\n");
	GROVE_EXPECT(f, "GETRANGE a 0 -1", "$4\r\n1xyz\r\n");
	GROVE_EXPECT(f, "GETRANGE a 1 2", "$2\r\nxy\r\n");
	GROVE_EXPECT(f, "GETRANGE a -2 -1", "$2\r\nyz\r\n");
	GROVE_EXPECT(f, "GETRANGE a -1 -2", "$0\r\n\r\n");
	GROVE_EXPECT(f, "GETRANGE a 5 100", "$0\r\n\r\n");
	GROVE_EXPECT(f, "GETRANGE a -100 100", "$4\r\n1xyz\r\n");
	GROVE_EXPECT(f, "GETRANGE nokey 0 1", "$0\r\n\r\n");
	GROVE_EXPECT(f, "GETRANGE a x 1", "-ERR value is not an integer or out of range\r\n");
	GROVE_EXPECT(f, "SUBSTR a 1 1", "$1\r\nx\r\n");
	GROVE_EXPECT(f, "SETRANGE a 1 QQ", ":4\r\n");
	GROVE_EXPECT(f, "GET a", "$4\r\n1QQz\r\n");
	GROVE_EXPECT(f, "SETRANGE a 6 !", ":7\r\n");
	assert_memory_equal(grove_test_cmd_run(f, 0, "GET a"), "$7\r\n1QQz\0\0!\r\n", 13);
	GROVE_EXPECT(f, "SETRANGE sr 0 \"\"", ":0\r\n");
	GROVE_EXPECT(f, "EXISTS sr", ":0\r\n");
	GROVE_EXPECT(f, "SETRANGE sr -1 x", "-ERR offset is out of range\r\n");
	GROVE_EXPECT(f, "SETRANGE sr 536870911 xy",
		     "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n");
	GROVE_EXPECT(f, "SETRANGE sr 262144 x",
		     "-ERR string exceeds maximum allowed size: a Grove string is at most 256 KiB "
		     "(GROVE_REGISTER_VALUE_MAX)\r\n");
	GROVE_EXPECT(f, "SETBIT sr 2097152 1",
		     "-ERR string exceeds maximum allowed size: a Grove string is at most 256 KiB "
		     "(GROVE_REGISTER_VALUE_MAX)\r\n");
	GROVE_EXPECT(f, "EXISTS sr", ":0\r\n");
	GROVE_EXPECT(f, "SETRANGE sr 262143 x", ":262144\r\n"); /* the largest string */
	GROVE_EXPECT(f, "DEL sr", ":1\r\n");
	GROVE_EXPECT(f, "SETRANGE sr 2 x", ":3\r\n");
	assert_memory_equal(grove_test_cmd_run(f, 0, "GET sr"), "$3\r\n\0\0x\r\n", 9);
	/* counters read as strings; a string write replaces one by a register,
	 * an INCR of a register holding an integer makes it a counter again */
	GROVE_EXPECT(f, "INCRBY ctr -42", ":-42\r\n");
	GROVE_EXPECT(f, "STRLEN ctr", ":3\r\n");
	GROVE_EXPECT(f, "GETRANGE ctr 1 -1", "$2\r\n42\r\n");
	GROVE_EXPECT(f, "APPEND ctr 1", ":4\r\n");
	GROVE_EXPECT(f, "GROVE TYPE ctr", "+register\r\n");
	GROVE_EXPECT(f, "INCR ctr", ":-420\r\n");
	GROVE_EXPECT(f, "GROVE TYPE ctr", "+counter\r\n");
	GROVE_EXPECT(f, "SETRANGE ctr 0 1", ":4\r\n");
	GROVE_EXPECT(f, "GETSET ctr 7", "$4\r\n1420\r\n");
	GROVE_EXPECT(f, "INCR ctr", ":8\r\n");
	GROVE_EXPECT(f, "SET ctr 1 NX", "$-1\r\n");
	GROVE_EXPECT(f, "SET ctr 5 XX", "+OK\r\n");
	GROVE_EXPECT(f, "GET ctr", "$1\r\n5\r\n");
	GROVE_EXPECT(f, "GETDEL ctr", "$1\r\n5\r\n");
	GROVE_EXPECT(f, "EXISTS ctr", ":0\r\n");
	/* sets and maps are WRONGTYPE for every string command */
	GROVE_EXPECT(f, "SADD s m", ":1\r\n");
	const char *cmds[] = {"STRLEN s", "APPEND s x", "GETDEL s", "GETRANGE s 0 1",
			      "SETRANGE s 0 x", "SET s v GET", "GETEX s", NULL};
	for (const char *const *cmd = cmds; *cmd; cmd++)
		GROVE_EXPECT(f, *cmd, GROVE_TEST_WRONGTYPE);
	GROVE_EXPECT(f, "SETNX s v", ":0\r\n");
	GROVE_EXPECT(f, "SMEMBERS s", "*1\r\n$1\r\nm\r\n");
}

static void test_keys_that_cannot_exist(void **state)
{
	grove_test_cmd_t *f = *state;
	char *big = malloc(GROVE_KEY_MAX + 16);
	assert_non_null(big);
	memset(big, 'k', GROVE_KEY_MAX + 1);
	const uint8_t *argv[3] = {(const uint8_t *)"GET", (const uint8_t *)big,
				  (const uint8_t *)"v"};
	size_t argl[3] = {3, GROVE_KEY_MAX + 1, 1};
	assert_string_equal(grove_test_cmd_argv(f, 0, 2, argv, argl), "$-1\r\n");
	argv[0] = (const uint8_t *)"SET";
	assert_string_equal(grove_test_cmd_argv(f, 0, 3, argv, argl),
			    "-ERR invalid key: Grove keys are 1 to 4096 bytes (GROVE_KEY_MAX)\r\n");
	argl[1] = GROVE_KEY_MAX; /* the longest key is fine */
	assert_string_equal(grove_test_cmd_argv(f, 0, 3, argv, argl), "+OK\r\n");
	free(big);
	GROVE_EXPECT(f, "MGET \"\" x", "*2\r\n$-1\r\n$-1\r\n");
	GROVE_EXPECT(f, "GET \"\"", "$-1\r\n");
	GROVE_EXPECT(f, "EXISTS \"\" \"\"", ":0\r\n");
	GROVE_EXPECT(f, "TYPE \"\"", "+none\r\n");
	GROVE_EXPECT(f, "DEL \"\" nokey", ":0\r\n");
	GROVE_EXPECT(f, "STRLEN \"\"", ":0\r\n");
	GROVE_EXPECT(f, "TTL \"\"", ":-2\r\n");
	GROVE_EXPECT(f, "GETDEL \"\"", "$-1\r\n");
	const char *writes[] = {"SET \"\" v", "SET \"\" v NX", "SETNX \"\" v", "MSET a 1 \"\" 2",
				"APPEND \"\" x", "SETRANGE \"\" 0 x", "GETSET \"\" v", NULL};
	for (const char *const *w = writes; *w; w++)
		GROVE_EXPECT(f, *w, "-ERR invalid key: Grove keys are 1 to 4096 bytes "
				    "(GROVE_KEY_MAX)\r\n");
	GROVE_EXPECT(f, "EXISTS a", ":0\r\n"); /* MSET refused whole */
}

/* Expiry on the env's fake clock (f->clock_ms, unix ms). */
static void test_expiry(void **state)
{
	grove_test_cmd_t *f = *state;
	char line[96], want[64];
	GROVE_EXPECT(f, "SET a v", "+OK\r\n");
	GROVE_EXPECT(f, "TTL a", ":-1\r\n");
	GROVE_EXPECT(f, "PTTL a", ":-1\r\n");
	GROVE_EXPECT(f, "EXPIRETIME a", ":-1\r\n");
	GROVE_EXPECT(f, "PEXPIRETIME nokey", ":-2\r\n");
	GROVE_EXPECT(f, "TTL nokey", ":-2\r\n");
	GROVE_EXPECT(f, "PERSIST a", ":0\r\n");
	GROVE_EXPECT(f, "GETEX a", "$1\r\nv\r\n");
	GROVE_EXPECT(f, "GETEX a PERSIST", "$1\r\nv\r\n");
	GROVE_EXPECT(f, "GETEX a FOO", "-ERR syntax error\r\n");
	GROVE_EXPECT(f, "GETEX a EX 0", "-ERR invalid expire time in 'getex' command\r\n");
	GROVE_EXPECT(f, "GETEX nokey EX 0", "$-1\r\n"); /* the key before the time */
	GROVE_EXPECT(f, "GETEX a EX 1 PERSIST", "-ERR syntax error\r\n");
	GROVE_EXPECT(f, "EXPIRE a x", "-ERR value is not an integer or out of range\r\n");
	GROVE_EXPECT(f, "EXPIRE a 10 FOO", "-ERR Unsupported option FOO\r\n");
	GROVE_EXPECT(f, "EXPIRE a 10 NX XX",
		     "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n");
	GROVE_EXPECT(f, "EXPIRE a 10 GT LT",
		     "-ERR GT and LT options at the same time are not compatible\r\n");
	GROVE_EXPECT(f, "EXPIRE a 9223372036854775807",
		     "-ERR invalid expire time in 'expire' command\r\n");
	GROVE_EXPECT(f, "EXPIRE nokey 10", ":0\r\n");
	GROVE_EXPECT(f, "EXPIRE a 10 XX", ":0\r\n");
	GROVE_EXPECT(f, "EXPIRE a 10 NX", ":1\r\n");
	GROVE_EXPECT(f, "TTL a", ":10\r\n");
	GROVE_EXPECT(f, "PTTL a", ":10000\r\n");
	snprintf(want, sizeof(want), ":%llu\r\n", (unsigned long long)(f->clock_ms + 10000));
	GROVE_EXPECT(f, "PEXPIRETIME a", want);
	GROVE_EXPECT(f, "PEXPIRE a 5000 GT", ":0\r\n");
	GROVE_EXPECT(f, "PEXPIRE a 5000 LT", ":1\r\n");
	f->clock_ms += 1400; /* 3600 ms left: TTL rounds */
	GROVE_EXPECT(f, "TTL a", ":4\r\n");
	GROVE_EXPECT(f, "SET a w KEEPTTL", "+OK\r\n");
	GROVE_EXPECT(f, "PTTL a", ":3600\r\n");
	GROVE_EXPECT(f, "APPEND a x", ":2\r\n");
	GROVE_EXPECT(f, "PTTL a", ":3600\r\n");
	GROVE_EXPECT(f, "PERSIST a", ":1\r\n");
	GROVE_EXPECT(f, "TTL a", ":-1\r\n");
	GROVE_EXPECT(f, "SETEX b 0 v", "-ERR invalid expire time in 'setex' command\r\n");
	GROVE_EXPECT(f, "SETEX b 10 v", "+OK\r\n");
	GROVE_EXPECT(f, "PSETEX c 100 v", "+OK\r\n");
	GROVE_EXPECT(f, "PTTL c", ":100\r\n");
	GROVE_EXPECT(f, "GETEX b PX 2000", "$1\r\nv\r\n");
	GROVE_EXPECT(f, "PTTL b", ":2000\r\n");
	GROVE_EXPECT(f, "SET b v2", "+OK\r\n"); /* a SET removes the TTL */
	GROVE_EXPECT(f, "TTL b", ":-1\r\n");
	snprintf(line, sizeof(line), "SET d v PXAT %llu", (unsigned long long)(f->clock_ms + 50));
	GROVE_EXPECT(f, line, "+OK\r\n");
	GROVE_EXPECT(f, "SADD s m", ":1\r\n");
	GROVE_EXPECT(f, "PEXPIRE s 50", ":1\r\n");
	GROVE_EXPECT(f, "DBSIZE", ":5\r\n");
	/* past the deadlines: hidden from every read at once */
	f->clock_ms += 101;
	GROVE_EXPECT(f, "GET c", "$-1\r\n");
	GROVE_EXPECT(f, "EXISTS c d s", ":0\r\n");
	GROVE_EXPECT(f, "TYPE s", "+none\r\n");
	GROVE_EXPECT(f, "SISMEMBER s m", ":0\r\n");
	GROVE_EXPECT(f, "TTL d", ":-2\r\n");
	GROVE_EXPECT(f, "DBSIZE", ":2\r\n");
	GROVE_EXPECT(f, "KEYS *", "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
	/* a deadline already past deletes the key */
	GROVE_EXPECT(f, "EXPIREAT b 1", ":1\r\n");
	GROVE_EXPECT(f, "EXISTS b", ":0\r\n");
	GROVE_EXPECT(f, "INCRBYFLOAT a 1.5", "-ERR value is not a valid float\r\n"); /* a is "wx" */
	snprintf(line, sizeof(line), "GETEX a PXAT %llu", (unsigned long long)f->clock_ms);
	GROVE_EXPECT(f, line, "$2\r\nwx\r\n");
	GROVE_EXPECT(f, "EXISTS a", ":0\r\n");
	GROVE_EXPECT(f, "SETEX x 10 v", "+OK\r\n");
	GROVE_EXPECT(f, "INCR x", "-ERR value is not an integer or out of range\r\n");
	GROVE_EXPECT(f, "SETEX x 10 7", "+OK\r\n");
	GROVE_EXPECT(f, "INCR x", ":8\r\n"); /* a counter now, and its TTL stays */
	GROVE_EXPECT(f, "TTL x", ":10\r\n");
}

static void test_bits(void **state)
{
	grove_test_cmd_t *f = *state;
	GROVE_EXPECT(f, "SETBIT b 7 1", ":0\r\n");
	GROVE_EXPECT(f, "SETBIT b 7 1", ":1\r\n");
	GROVE_EXPECT(f, "SETBIT b 9 1", ":0\r\n");
	assert_memory_equal(grove_test_cmd_run(f, 0, "GET b"), "$2\r\n\x01\x40\r\n", 8);
	GROVE_EXPECT(f, "GETBIT b 9", ":1\r\n");
	GROVE_EXPECT(f, "GETBIT b 99", ":0\r\n");
	GROVE_EXPECT(f, "GETBIT nokey 0", ":0\r\n");
	GROVE_EXPECT(f, "SETBIT b 4294967296 1", "-ERR bit offset is not an integer or out of range\r\n");
	GROVE_EXPECT(f, "SETBIT b 0 2", "-ERR bit is not an integer or out of range\r\n");
	GROVE_EXPECT(f, "SET fb foobar", "+OK\r\n");
	GROVE_EXPECT(f, "BITCOUNT fb", ":26\r\n");
	GROVE_EXPECT(f, "BITCOUNT fb 1 1", ":6\r\n");
	GROVE_EXPECT(f, "BITCOUNT fb 5 30 BIT", ":17\r\n");
	GROVE_EXPECT(f, "BITCOUNT fb 0", "-ERR syntax error\r\n");
	GROVE_EXPECT(f, "BITPOS b 1", ":7\r\n");
	GROVE_EXPECT(f, "BITPOS b 1 1", ":9\r\n");
	GROVE_EXPECT(f, "BITPOS b 0 0 0", ":0\r\n");
	GROVE_EXPECT(f, "BITPOS nokey 0", ":0\r\n");
	GROVE_EXPECT(f, "BITPOS b 2", "-ERR The bit argument must be 1 or 0.\r\n");
	/* a counter reads as its digits; SETBIT writes them back as a register */
	GROVE_EXPECT(f, "INCRBY c 5", ":5\r\n");
	GROVE_EXPECT(f, "BITCOUNT c", ":4\r\n"); /* "5" = 0x35 */
	GROVE_EXPECT(f, "SETBIT c 1 1", ":0\r\n");
	GROVE_EXPECT(f, "GET c", "$1\r\nu\r\n"); /* 0x75 */
	GROVE_EXPECT(f, "GROVE TYPE c", "+register\r\n");
	GROVE_EXPECT(f, "SADD s m", ":1\r\n");
	GROVE_EXPECT(f, "GETBIT s 0", GROVE_TEST_WRONGTYPE);
	GROVE_EXPECT(f, "SETBIT \"\" 0 1", "-ERR invalid key: Grove keys are 1 to 4096 bytes "
					  "(GROVE_KEY_MAX)\r\n");
	GROVE_EXPECT(f, "BITCOUNT \"\"", ":0\r\n");
	/* LCS (Redis's own examples) */
	GROVE_EXPECT(f, "MSET k1 ohmytext k2 mynewtext", "+OK\r\n");
	GROVE_EXPECT(f, "LCS k1 k2", "$6\r\nmytext\r\n");
	GROVE_EXPECT(f, "LCS k1 k2 LEN", ":6\r\n");
	GROVE_EXPECT(f, "LCS k1 k2 IDX MINMATCHLEN 4 WITHMATCHLEN",
		     "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n"
		     "$3\r\nlen\r\n:6\r\n");
	GROVE_EXPECT(f, "LCS k1 s", "-ERR The specified keys must contain string values\r\n");
	GROVE_EXPECT(f, "LCS k1 k2 LEN IDX",
		     "-ERR If you want both the length and indexes, please just use IDX.\r\n");
}

/* ---- concurrent APPENDs on one node lose nothing ---- */

typedef struct appender {
	grove_test_cmd_t *f;
	int n;
} appender_t;

static void *append_main(void *arg)
{
	appender_t *a = arg;
	grove_cmd_client_t cl;
	grove_cmd_client_init(&cl, &a->f->env, 9);
	grove_buf_t out;
	grove_buf_init(&out, 0);
	const uint8_t *argv[3] = {(const uint8_t *)"APPEND", (const uint8_t *)"log",
				  (const uint8_t *)"x"};
	size_t argl[3] = {6, 3, 1};
	grove_resp_request_t req = {3, argv, argl};
	for (int i = 0; i < a->n; i++) {
		out.len = 0;
		grove_cmd_exec(&a->f->env, &cl, &req, &out);
	}
	grove_buf_close(&out);
	grove_cmd_client_close(&cl);
	return NULL;
}

static void test_append_concurrent(void **state)
{
	grove_test_cmd_t *f = *state;
	appender_t a = {.f = f, .n = 1500};
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&t[i], NULL, append_main, &a), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	GROVE_EXPECT(f, "STRLEN log", ":3000\r\n");
}

/* GET answers nil exactly where TYPE answers none, whatever left the key
 * without a type (never written, deleted, emptied, expired), read from
 * the store (the record cache emptied); such a GET reads the key's head
 * and nothing else. */
static void test_get_typeless(void **state)
{
	grove_test_cmd_t *f = *state;
	const char *setup[] = {
		"SET r v",  "DEL r",     "INCR c",	  "DEL c",     "SADD s a", "SREM s a",
		"HSET h f v", "HDEL h f", "ZADD z 1 a", "ZREM z a", "RPUSH l a", "LPOP l",
		"SET x v PX 5", "SET r2 v", "INCR c2", "SADD s2 a", "HSET h2 f v", NULL,
	};
	for (const char *const *w = setup; *w; w++)
		grove_test_cmd_run(f, 0, *w);
	f->clock_ms += 10; /* x expires */
	static const struct {
		const char *key, *type, *get;
	} want[] = {
		{ "nokey", "+none\r\n", "$-1\r\n" }, { "r", "+none\r\n", "$-1\r\n" },
		{ "c", "+none\r\n", "$-1\r\n" },	   { "s", "+none\r\n", "$-1\r\n" },
		{ "h", "+none\r\n", "$-1\r\n" },	   { "z", "+none\r\n", "$-1\r\n" },
		{ "l", "+none\r\n", "$-1\r\n" },	   { "x", "+none\r\n", "$-1\r\n" },
		{ "r2", "+string\r\n", "$1\r\nv\r\n" }, { "c2", "+string\r\n", "$1\r\n1\r\n" },
		{ "s2", "+set\r\n", GROVE_TEST_WRONGTYPE }, { "h2", "+hash\r\n", GROVE_TEST_WRONGTYPE },
	};
	char line[64];
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(line, sizeof(line), "TYPE %s", want[i].key);
		GROVE_EXPECT(f, line, want[i].type);
		grove_db__cache_drop_all(f->db); /* GET reads the store */
		grove_test_ops_count(f->db);
		snprintf(line, sizeof(line), "GET %s", want[i].key);
		const char *got = grove_test_cmd_run(f, 0, line);
		grove_test_ops_uncount(f->db);
		assert_string_equal(got, want[i].get);
		if (strcmp(want[i].type, "+none\r\n") == 0)
			assert_int_equal(grove_test_ops.gets, 1); /* the head only */
	}
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, grove_test_cmd_setup, grove_test_cmd_teardown)
	const struct CMUnitTest tests[] = {
		T(test_set_options),   T(test_multi_key), T(test_append_range),
		T(test_keys_that_cannot_exist), T(test_expiry), T(test_append_concurrent),
		T(test_bits),	       T(test_get_typeless),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
