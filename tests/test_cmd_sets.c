/*
 * test_cmd_sets.c - the set commands of resp_cmd_sets.c through the
 * dispatcher, with Redis 7.0's replies (ordered results use members whose
 * bytewise order is Redis's intset order): SMISMEMBER, SRANDMEMBER, SPOP,
 * SMOVE, SINTER, SUNION, SDIFF, the STORE forms, SINTERCARD; the sampler's
 * distribution (every member drawn, no repeats for a positive count); the
 * streamed set operations across several scan chunks; and the CRDT rules:
 * SPOP is an observed-remove (a concurrent SADD of the popped member on
 * another replica survives; a replica that merges the pop loses the member),
 * SMOVE and the STORE forms replicate as SREM / DEL and SADDs.
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
#include "tests/util_storage.h"


static void test_smismember_smove(void **state)
{
	grove_test_cmd_t *f = *state;
	GROVE_EXPECT(f, "SADD s 1 2 3", ":3\r\n");
	GROVE_EXPECT(f, "SMISMEMBER s 1 4 3", "*3\r\n:1\r\n:0\r\n:1\r\n");
	GROVE_EXPECT(f, "SMISMEMBER nokey 1", "*1\r\n:0\r\n");
	GROVE_EXPECT(f, "SET str v", "+OK\r\n");
	GROVE_EXPECT(f, "SMISMEMBER str 1", GROVE_TEST_WRONGTYPE);
	GROVE_EXPECT(f, "SMISMEMBER s", "-ERR wrong number of arguments for 'smismember' command\r\n");
	GROVE_EXPECT(f, "SMOVE s d 2", ":1\r\n");
	GROVE_EXPECT(f, "SMOVE s d 2", ":0\r\n");
	GROVE_EXPECT(f, "SMEMBERS d", "*1\r\n$1\r\n2\r\n");
	GROVE_EXPECT(f, "SMEMBERS s", "*2\r\n$1\r\n1\r\n$1\r\n3\r\n");
	GROVE_EXPECT(f, "SMOVE s s 1", ":1\r\n");
	GROVE_EXPECT(f, "SMOVE s s 9", ":0\r\n");
	GROVE_EXPECT(f, "SMOVE nokey str 1", ":0\r\n");
	GROVE_EXPECT(f, "SMOVE s str 1", GROVE_TEST_WRONGTYPE);
	GROVE_EXPECT(f, "SMOVE str s 1", GROVE_TEST_WRONGTYPE);
	GROVE_EXPECT(f, "SCARD s", ":2\r\n");
}

static void test_setops(void **state)
{
	grove_test_cmd_t *f = *state;
	GROVE_EXPECT(f, "SADD a 1 2 3 4", ":4\r\n");
	GROVE_EXPECT(f, "SADD b 2 3 5", ":3\r\n");
	GROVE_EXPECT(f, "SADD c 3 4 5 6", ":4\r\n");
	GROVE_EXPECT(f, "SINTER a b c", "*1\r\n$1\r\n3\r\n");
	GROVE_EXPECT(f, "SINTER a b", "*2\r\n$1\r\n2\r\n$1\r\n3\r\n");
	GROVE_EXPECT(f, "SINTER a nokey", "*0\r\n");
	GROVE_EXPECT(f, "SUNION a b", "*5\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n");
	GROVE_EXPECT(f, "SDIFF a b c", "*1\r\n$1\r\n1\r\n");
	GROVE_EXPECT(f, "SDIFF nokey a", "*0\r\n");
	GROVE_EXPECT(f, "SET str v", "+OK\r\n");
	GROVE_EXPECT(f, "SINTER nokey str", GROVE_TEST_WRONGTYPE); /* every type is checked first */
	GROVE_EXPECT(f, "SUNION a str", GROVE_TEST_WRONGTYPE);
	GROVE_EXPECT(f, "SINTERSTORE d a b", ":2\r\n");
	GROVE_EXPECT(f, "SMEMBERS d", "*2\r\n$1\r\n2\r\n$1\r\n3\r\n");
	GROVE_EXPECT(f, "SUNIONSTORE d d c", ":5\r\n"); /* the destination is a source */
	GROVE_EXPECT(f, "SMEMBERS d", "*5\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n$1\r\n6\r\n");
	GROVE_EXPECT(f, "SDIFFSTORE d a a", ":0\r\n");
	GROVE_EXPECT(f, "EXISTS d", ":0\r\n");
	GROVE_EXPECT(f, "SDIFFSTORE str a b", ":2\r\n"); /* overwrites another type */
	GROVE_EXPECT(f, "TYPE str", "+set\r\n");
	GROVE_EXPECT(f, "DEL str", ":1\r\n");
	GROVE_EXPECT(f, "SET str v", "+OK\r\n");
	GROVE_EXPECT(f, "SINTERSTORE d a str", GROVE_TEST_WRONGTYPE);
	GROVE_EXPECT(f, "SINTERCARD 2 a b", ":2\r\n");
	GROVE_EXPECT(f, "SINTERCARD 3 a b c LIMIT 0", ":1\r\n");
	GROVE_EXPECT(f, "SINTERCARD 2 a b LIMIT 1", ":1\r\n");
	GROVE_EXPECT(f, "SINTERCARD 0 a", "-ERR numkeys should be greater than 0\r\n");
	GROVE_EXPECT(f, "SINTERCARD 3 a b", "-ERR Number of keys can't be greater than number of args\r\n");
	GROVE_EXPECT(f, "SINTERCARD 1 a LIMIT -1", "-ERR LIMIT can't be negative\r\n");
	GROVE_EXPECT(f, "SINTERCARD 1 a FOO 1", "-ERR syntax error\r\n");
	GROVE_EXPECT(f, "SINTERCARD x a", "-ERR numkeys should be greater than 0\r\n");
}

/* Several scan chunks (1024 members each) streamed against point reads. */
static void test_setops_chunks(void **state)
{
	grove_test_cmd_t *f = *state;
	for (int i = 0; i < 3000; i++) {
		char line[64];
		snprintf(line, sizeof(line), "SADD big m%04d", i);
		assert_string_equal(grove_test_cmd_run(f, 0, line), ":1\r\n");
		if (i % 3 == 0) {
			snprintf(line, sizeof(line), "SADD third m%04d", i);
			assert_string_equal(grove_test_cmd_run(f, 0, line), ":1\r\n");
		}
	}
	GROVE_EXPECT(f, "SINTERCARD 2 big third", ":1000\r\n");
	GROVE_EXPECT(f, "SDIFFSTORE rest big third", ":2000\r\n");
	GROVE_EXPECT(f, "SUNIONSTORE all rest third", ":3000\r\n");
	GROVE_EXPECT(f, "SCARD all", ":3000\r\n");
	GROVE_EXPECT(f, "SINTERCARD 2 rest third", ":0\r\n");
	/* SRANDMEMBER / SPOP over the chunks: distinct, all of them reachable */
	const char *r = grove_test_cmd_run(f, 0, "SRANDMEMBER big 2999");
	assert_memory_equal(r, "*2999\r\n", 7);
	r = grove_test_cmd_run(f, 0, "SRANDMEMBER big -5000");
	assert_memory_equal(r, "*5000\r\n", 7);
	r = grove_test_cmd_run(f, 0, "SPOP big 2990");
	assert_memory_equal(r, "*2990\r\n", 7);
	GROVE_EXPECT(f, "SCARD big", ":10\r\n");
}

static void test_srandmember_spop(void **state)
{
	grove_test_cmd_t *f = *state;
	GROVE_EXPECT(f, "SRANDMEMBER nokey", "$-1\r\n");
	GROVE_EXPECT(f, "SRANDMEMBER nokey 3", "*0\r\n");
	GROVE_EXPECT(f, "SPOP nokey", "$-1\r\n");
	GROVE_EXPECT(f, "SPOP nokey 2", "*0\r\n");
	GROVE_EXPECT(f, "SADD s a b c d", ":4\r\n");
	GROVE_EXPECT(f, "SRANDMEMBER s 0", "*0\r\n");
	GROVE_EXPECT(f, "SRANDMEMBER s x", "-ERR value is not an integer or out of range\r\n");
	GROVE_EXPECT(f, "SRANDMEMBER s 1 2", "-ERR syntax error\r\n");
	GROVE_EXPECT(f, "SPOP s -1", "-ERR value is out of range, must be positive\r\n");
	GROVE_EXPECT(f, "SPOP s 0", "*0\r\n");
	GROVE_EXPECT(f, "SPOP s 1 2", "-ERR syntax error\r\n");
	/* every member is drawn, never twice in one distinct draw */
	int seen[4] = {0};
	for (int i = 0; i < 200; i++) {
		const char *r = grove_test_cmd_run(f, 0, "SRANDMEMBER s 2");
		assert_int_equal(strlen(r), strlen("*2\r\n$1\r\na\r\n$1\r\nb\r\n"));
		assert_true(r[8] != r[15]);
		seen[r[8] - 'a']++;
		seen[r[15] - 'a']++;
		r = grove_test_cmd_run(f, 0, "SRANDMEMBER s");
		assert_int_equal(strlen(r), 7);
		seen[r[4] - 'a']++;
	}
	for (int i = 0; i < 4; i++)
		assert_true(seen[i] > 60); /* 600 draws: about 150 each */
	assert_int_equal(strlen(grove_test_cmd_run(f, 0, "SRANDMEMBER s 10")), 4 + 4 * 7);
	assert_int_equal(strlen(grove_test_cmd_run(f, 0, "SRANDMEMBER s -10")), 5 + 10 * 7);
	GROVE_EXPECT(f, "SRANDMEMBER s -99999999", "-ERR value is out of range: Grove draws at most "
						 "4194304 members with repetition (GROVE_RAND_COUNT_MAX)\r\n");
	const char *r = grove_test_cmd_run(f, 0, "SPOP s");
	assert_int_equal(strlen(r), 7);
	char popped[2] = {r[4], 0};
	char line[32];
	snprintf(line, sizeof(line), "SISMEMBER s %s", popped);
	GROVE_EXPECT(f, line, ":0\r\n");
	GROVE_EXPECT(f, "SCARD s", ":3\r\n");
	r = grove_test_cmd_run(f, 0, "SPOP s 5");
	assert_int_equal(strlen(r), 4 + 3 * 7);
	GROVE_EXPECT(f, "EXISTS s", ":0\r\n");
	GROVE_EXPECT(f, "SET str v", "+OK\r\n");
	GROVE_EXPECT(f, "SPOP str", GROVE_TEST_WRONGTYPE);
	GROVE_EXPECT(f, "SRANDMEMBER str 2", GROVE_TEST_WRONGTYPE);
}

/* SPOP removes what this node holds: a concurrent SADD of the same member
 * on another replica survives the merge; a replica that merges the pop
 * without a concurrent add loses the member. */
static void test_spop_observed_remove(void **state)
{
	grove_test_cmd_t *f = *state;
	uint64_t clock2 = f->clock_ms;
	grove_db_t *n2;
	assert_int_equal(grove_test_storage_db_open(NULL, "n2", &clock2, GROVE_DURABILITY_NONE, &n2),
			 0);
	GROVE_EXPECT(f, "SADD q job", ":1\r\n");
	GROVE_EXPECT(f, "SADD r job", ":1\r\n");
	grove_test_cmd_ship(f->db, n2, "q");
	grove_test_cmd_ship(f->db, n2, "r");
	bool added, in;
	assert_int_equal(grove_db_set_add(n2, "q", 1, "job", 3, &added), 0); /* concurrent re-add */
	GROVE_EXPECT(f, "SPOP q", "$3\r\njob\r\n");
	GROVE_EXPECT(f, "SPOP r", "$3\r\njob\r\n");
	grove_test_cmd_ship(f->db, n2, "q");
	grove_test_cmd_ship(f->db, n2, "r");
	grove_test_cmd_ship(n2, f->db, "q");
	grove_test_cmd_ship(n2, f->db, "r");
	GROVE_EXPECT(f, "SMEMBERS q", "*1\r\n$3\r\njob\r\n"); /* add wins */
	assert_int_equal(grove_db_set_contains(n2, "q", 1, "job", 3, &in), 0);
	assert_true(in);
	GROVE_EXPECT(f, "EXISTS r", ":0\r\n"); /* the pop replicated */
	assert_int_equal(grove_db_set_contains(n2, "r", 1, "job", 3, &in), 0);
	assert_false(in);
	/* SMOVE replicates as SREM + SADD */
	GROVE_EXPECT(f, "SADD from x", ":1\r\n");
	GROVE_EXPECT(f, "SMOVE from to x", ":1\r\n");
	grove_test_cmd_ship(f->db, n2, "from");
	grove_test_cmd_ship(f->db, n2, "to");
	assert_int_equal(grove_db_set_contains(n2, "to", 2, "x", 1, &in), 0);
	assert_true(in);
	assert_int_equal(grove_db_set_contains(n2, "from", 4, "x", 1, &in), 0);
	assert_false(in);
	grove_db_close(n2);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, grove_test_cmd_setup, grove_test_cmd_teardown)
	const struct CMUnitTest tests[] = {
		T(test_smismember_smove),
		T(test_setops),
		T(test_setops_chunks),
		T(test_srandmember_spop),
		T(test_spop_observed_remove),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
