/*
 * test_cmd_hash.c - resp_cmd_hash.c through the dispatcher: HMGET, HSETNX,
 * HSTRLEN, HRANDFIELD, HINCRBY, HINCRBYFLOAT and INCRBYFLOAT with Redis
 * 7.0's replies and float text; and their CRDT rules: HINCRBY makes a
 * counter field (two replicas incrementing at once add up; an HSET replaces
 * what it saw and keeps the increments it had not seen; HINCRBYFLOAT adds
 * integral increments to it and refuses fractional ones with no effect),
 * INCRBYFLOAT adds integral increments to a counter (concurrent
 * ones add up) and refuses fractional ones with no effect; and INCR on a
 * register written by SET (it becomes a counter; two replicas' INCRs add
 * up, the SET value counted once), SET of a counter (a register replaces
 * it; an increment made concurrently elsewhere stays hidden).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "grove/alloc.h"
#include "tests/util_cmd.h"
#include "tests/util_storage.h"


static void test_hash_reads(void **state)
{
	grove_test_cmd_t *f = *state;
	GROVE_EXPECT(f, "HSET h a 1 b xyz", ":2\r\n");
	GROVE_EXPECT(f, "HMGET h a nope b", "*3\r\n$1\r\n1\r\n$-1\r\n$3\r\nxyz\r\n");
	GROVE_EXPECT(f, "HMGET nokey a", "*1\r\n$-1\r\n");
	GROVE_EXPECT(f, "HSTRLEN h b", ":3\r\n");
	GROVE_EXPECT(f, "HSTRLEN h nope", ":0\r\n");
	GROVE_EXPECT(f, "HSETNX h a 9", ":0\r\n");
	GROVE_EXPECT(f, "HSETNX h c 9", ":1\r\n");
	GROVE_EXPECT(f, "HGET h c", "$1\r\n9\r\n");
	GROVE_EXPECT(f, "SADD s m", ":1\r\n");
	GROVE_EXPECT(f, "HMGET s a", GROVE_TEST_WRONGTYPE);
	GROVE_EXPECT(f, "HSETNX s a 1", GROVE_TEST_WRONGTYPE);
	GROVE_EXPECT(f, "HRANDFIELD nokey", "$-1\r\n");
	GROVE_EXPECT(f, "HRANDFIELD nokey 1 WITHVALUES", "*0\r\n");
	GROVE_EXPECT(f, "HRANDFIELD h 1 FOO", "-ERR syntax error\r\n");
	GROVE_EXPECT(f, "HSET one f v", ":1\r\n");
	GROVE_EXPECT(f, "HRANDFIELD one", "$1\r\nf\r\n");
	GROVE_EXPECT(f, "HRANDFIELD one 5 WITHVALUES", "*2\r\n$1\r\nf\r\n$1\r\nv\r\n");
	GROVE_EXPECT(f, "HRANDFIELD one -2", "*2\r\n$1\r\nf\r\n$1\r\nf\r\n");
	const char *r = grove_test_cmd_run(f, 0, "HRANDFIELD h 2 WITHVALUES");
	assert_memory_equal(r, "*4\r\n", 4);
}

static void test_hincrby(void **state)
{
	grove_test_cmd_t *f = *state;
	GROVE_EXPECT(f, "HINCRBY h n 5", ":5\r\n");
	GROVE_EXPECT(f, "HINCRBY h n -7", ":-2\r\n");
	GROVE_EXPECT(f, "HGET h n", "$2\r\n-2\r\n");
	GROVE_EXPECT(f, "HSET h n 100", ":0\r\n"); /* an HSET replaces the value */
	GROVE_EXPECT(f, "HINCRBY h n 1", ":101\r\n");
	GROVE_EXPECT(f, "HDEL h n", ":1\r\n"); /* an HDEL removes it: counting restarts */
	GROVE_EXPECT(f, "HINCRBY h n 1", ":1\r\n");
	GROVE_EXPECT(f, "HSET h s abc", ":1\r\n");
	GROVE_EXPECT(f, "HINCRBY h s 1", "-ERR hash value is not an integer\r\n");
	GROVE_EXPECT(f, "HINCRBY h n x", "-ERR value is not an integer or out of range\r\n");
	GROVE_EXPECT(f, "HINCRBY h n 9223372036854775807",
		     "-ERR increment or decrement would overflow\r\n");
	GROVE_EXPECT(f, "HINCRBYFLOAT h fl 10.5", "$4\r\n10.5\r\n");
	GROVE_EXPECT(f, "HINCRBYFLOAT h fl 0.1", "$4\r\n10.6\r\n");
	GROVE_EXPECT(f, "HINCRBYFLOAT h fl -10.6", "$1\r\n0\r\n");
	GROVE_EXPECT(f, "HINCRBYFLOAT h s 1", "-ERR hash value is not a float\r\n");
	GROVE_EXPECT(f, "HINCRBYFLOAT h fl inf", "-ERR value is NaN or Infinity\r\n");
	GROVE_EXPECT(f, "HINCRBYFLOAT h fl abc", "-ERR value is not a valid float\r\n");
	/* COPY writes a counter field's value: a plain field, which HINCRBY converts */
	GROVE_EXPECT(f, "HINCRBY cf n 5", ":5\r\n");
	GROVE_EXPECT(f, "COPY cf cf2", ":1\r\n");
	GROVE_EXPECT(f, "HGET cf2 n", "$1\r\n5\r\n");
	GROVE_EXPECT(f, "HINCRBY cf2 n 1", ":6\r\n");
	GROVE_EXPECT(f, "HGET cf n", "$1\r\n5\r\n");
	GROVE_EXPECT(f, "SET str v", "+OK\r\n");
	GROVE_EXPECT(f, "HINCRBY str f 1", GROVE_TEST_WRONGTYPE);
	GROVE_EXPECT(f, "EXISTS nokey", ":0\r\n");
}

/* HINCRBY on two replicas at once: a counter field, the increments add up;
 * an HSET replaces what it saw, an increment it had not seen adds to it;
 * HINCRBYFLOAT on the counter field adds integral increments only. */
static void test_hincrby_replicas(void **state)
{
	grove_test_cmd_t *f = *state;
	uint64_t clock2 = f->clock_ms;
	grove_db_t *n2;
	assert_int_equal(grove_test_storage_db_open(NULL, "n2", &clock2, GROVE_DURABILITY_NONE, &n2),
			 0);
	GROVE_EXPECT(f, "HINCRBY h n 10", ":10\r\n");
	grove_test_cmd_ship(f->db, n2, "h");
	GROVE_EXPECT(f, "HINCRBY h n 1", ":11\r\n");
	int64_t now = 0;
	assert_int_equal(grove_db_map_incr(n2, "h", 1, "n", 1, 5, &now), 0);
	assert_int_equal(now, 15);
	grove_test_cmd_ship(f->db, n2, "h");
	grove_test_cmd_ship(n2, f->db, "h");
	GROVE_EXPECT(f, "HGET h n", "$2\r\n16\r\n");
	uint8_t *v;
	size_t vlen;
	assert_int_equal(grove_db_map_get(n2, "h", 1, "n", 1, &v, &vlen), 0);
	assert_int_equal(vlen, 2);
	assert_memory_equal(v, "16", 2);
	grove_free(v);
	bool created;
	assert_int_equal(grove_db_map_set(n2, "h", 1, "n", 1, "100", 3, &created), 0);
	GROVE_EXPECT(f, "HINCRBY h n 2", ":18\r\n");
	grove_test_cmd_ship(f->db, n2, "h");
	grove_test_cmd_ship(n2, f->db, "h");
	GROVE_EXPECT(f, "HGET h n", "$3\r\n102\r\n");
	assert_int_equal(grove_db_map_get(n2, "h", 1, "n", 1, &v, &vlen), 0);
	assert_int_equal(vlen, 3);
	assert_memory_equal(v, "102", 3);
	grove_free(v);
	GROVE_EXPECT(f, "HINCRBYFLOAT h n 3", "$3\r\n105\r\n");
	GROVE_EXPECT(f, "HINCRBYFLOAT h n 0.5",
		     "-ERR Grove counter fields hold integers: HINCRBYFLOAT on a field written by "
		     "HINCRBY takes an integral increment (HSET or HDEL the field to store a "
		     "float)\r\n");
	GROVE_EXPECT(f, "HGET h n", "$3\r\n105\r\n");
	GROVE_EXPECT(f, "HINCRBYFLOAT h plain 0.5", "$3\r\n0.5\r\n"); /* not a counter: LWW */
	grove_db_close(n2);
}

static void test_incrbyfloat(void **state)
{
	grove_test_cmd_t *f = *state;
	GROVE_EXPECT(f, "INCRBYFLOAT f 10.5", "$4\r\n10.5\r\n");
	GROVE_EXPECT(f, "INCRBYFLOAT f 0.1", "$4\r\n10.6\r\n");
	GROVE_EXPECT(f, "INCRBYFLOAT g 5e3", "$4\r\n5000\r\n");
	GROVE_EXPECT(f, "INCRBYFLOAT g -5000.5", "$4\r\n-0.5\r\n");
	GROVE_EXPECT(f, "INCRBYFLOAT g 0.5", "$1\r\n0\r\n"); /* not "-0" */
	GROVE_EXPECT(f, "GROVE TYPE f", "+register\r\n");
	GROVE_EXPECT(f, "INCRBYFLOAT f x", "-ERR value is not a valid float\r\n");
	GROVE_EXPECT(f, "INCRBYFLOAT f \" 1\"", "-ERR value is not a valid float\r\n");
	GROVE_EXPECT(f, "INCRBYFLOAT f nan", "-ERR value is not a valid float\r\n");
	GROVE_EXPECT(f, "INCRBYFLOAT f inf", "-ERR increment would produce NaN or Infinity\r\n");
	GROVE_EXPECT(f, "SET s abc", "+OK\r\n");
	GROVE_EXPECT(f, "INCRBYFLOAT s 1", "-ERR value is not a valid float\r\n");
	GROVE_EXPECT(f, "SADD set m", ":1\r\n");
	GROVE_EXPECT(f, "INCRBYFLOAT set 1", GROVE_TEST_WRONGTYPE);
	/* a counter takes integral increments, which add up across replicas */
	GROVE_EXPECT(f, "INCRBY c 2", ":2\r\n");
	GROVE_EXPECT(f, "INCRBYFLOAT c 3", "$1\r\n5\r\n");
	GROVE_EXPECT(f, "INCRBYFLOAT c -1e1", "$2\r\n-5\r\n");
	assert_non_null(strstr(grove_test_cmd_run(f, 0, "INCRBYFLOAT c 0.5"),
			       "-ERR Grove counter keys hold integers"));
	GROVE_EXPECT(f, "GET c", "$2\r\n-5\r\n");
	uint64_t clock2 = f->clock_ms;
	grove_db_t *n2;
	assert_int_equal(grove_test_storage_db_open(NULL, "n2", &clock2, GROVE_DURABILITY_NONE, &n2),
			 0);
	grove_test_cmd_ship(f->db, n2, "c");
	int64_t now;
	assert_int_equal(grove_db_counter_add(n2, "c", 1, 7, &now), 0);
	GROVE_EXPECT(f, "INCRBYFLOAT c 4", "$2\r\n-1\r\n");
	grove_test_cmd_ship(n2, f->db, "c");
	GROVE_EXPECT(f, "GET c", "$1\r\n6\r\n");
	grove_db_close(n2);
}

/* SET ctr n then INCR ctr: the register becomes a counter worth n + 1;
 * INCRs of the same register on two replicas add up, n counted once. */
static void test_incr_on_register(void **state)
{
	grove_test_cmd_t *f = *state;
	GROVE_EXPECT(f, "SET ctr 0", "+OK\r\n");
	GROVE_EXPECT(f, "INCR ctr", ":1\r\n");
	GROVE_EXPECT(f, "GROVE TYPE ctr", "+counter\r\n");
	GROVE_EXPECT(f, "SET word abc", "+OK\r\n");
	GROVE_EXPECT(f, "INCR word", "-ERR value is not an integer or out of range\r\n");
	GROVE_EXPECT(f, "GET word", "$3\r\nabc\r\n");
	GROVE_EXPECT(f, "SET big 9223372036854775807", "+OK\r\n");
	GROVE_EXPECT(f, "INCR big", "-ERR increment or decrement would overflow\r\n");
	GROVE_EXPECT(f, "SET r 10", "+OK\r\n");
	uint64_t clock2 = f->clock_ms;
	grove_db_t *n2;
	assert_int_equal(grove_test_storage_db_open(NULL, "n2", &clock2, GROVE_DURABILITY_NONE, &n2),
			 0);
	grove_test_cmd_ship(f->db, n2, "r");
	int64_t now;
	assert_int_equal(grove_db_counter_incr(n2, "r", 1, 5, &now), 0);
	assert_int_equal(now, 15);
	GROVE_EXPECT(f, "DECRBY r 3", ":7\r\n");
	grove_test_cmd_ship(n2, f->db, "r");
	grove_test_cmd_ship(f->db, n2, "r");
	GROVE_EXPECT(f, "GET r", "$2\r\n12\r\n"); /* 10 + 5 - 3 */
	assert_int_equal(grove_db_counter_add(n2, "r", 1, 0, &now), 0);
	assert_int_equal(now, 12);
	/* SET of a counter replaces it; an increment made concurrently on n2
	 * stays hidden (the SET's creation wins), on both replicas */
	assert_int_equal(grove_db_counter_add(n2, "r", 1, 100, &now), 0);
	GROVE_EXPECT(f, "SET r 0", "+OK\r\n");
	grove_test_cmd_ship(n2, f->db, "r");
	grove_test_cmd_ship(f->db, n2, "r");
	GROVE_EXPECT(f, "GET r", "$1\r\n0\r\n");
	grove_value_t *v;
	const void *val;
	size_t len;
	assert_int_equal(grove_db_get(n2, "r", 1, &v), 0);
	assert_int_equal(grove_lwwreg_get(v, &val, &len), 0);
	assert_int_equal(len, 1);
	assert_memory_equal(val, "0", 1);
	grove_value_destroy(v);
	GROVE_EXPECT(f, "INCR r", ":1\r\n");
	grove_db_close(n2);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, grove_test_cmd_setup, grove_test_cmd_teardown)
	const struct CMUnitTest tests[] = {
		T(test_hash_reads),
		T(test_hincrby),
		T(test_hincrby_replicas),
		T(test_incrbyfloat),
		T(test_incr_on_register),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
