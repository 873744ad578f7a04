/*
 * test_cmd_keyspace.c - FLUSHDB / FLUSHALL (every type, across scan chunks,
 * replicated as observed-remove deletes: a peer that merges the flush loses
 * the keys, a write it made concurrently survives), UNLINK, TOUCH,
 * RANDOMKEY, and COPY / RENAME / RENAMENX of every type (a write to the
 * source that the renaming node had not seen survives in the source).
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

static void test_flush_local(void **state)
{
	grove_test_cmd_t *f = *state;
	GROVE_EXPECT(f, "FLUSHDB", "+OK\r\n");
	GROVE_EXPECT(f, "SET r v", "+OK\r\n");
	GROVE_EXPECT(f, "INCR c", ":1\r\n");
	GROVE_EXPECT(f, "SADD s a b", ":2\r\n");
	GROVE_EXPECT(f, "HSET h f v", ":1\r\n");
	for (int i = 0; i < 2500; i++) { /* more than two scan chunks */
		char line[64];
		snprintf(line, sizeof(line), "SET key:%05d %d", i, i);
		assert_string_equal(grove_test_cmd_run(f, 0, line), "+OK\r\n");
	}
	GROVE_EXPECT(f, "DBSIZE", ":2504\r\n");
	GROVE_EXPECT(f, "FLUSHDB BOGUS", "-ERR syntax error\r\n");
	GROVE_EXPECT(f, "FLUSHDB SYNC", "+OK\r\n");
	GROVE_EXPECT(f, "DBSIZE", ":0\r\n");
	GROVE_EXPECT(f, "EXISTS r c s h key:00000 key:02499", ":0\r\n");
	GROVE_EXPECT(f, "SET r v", "+OK\r\n");
	GROVE_EXPECT(f, "FLUSHALL ASYNC", "+OK\r\n");
	GROVE_EXPECT(f, "RANDOMKEY", "$-1\r\n");
	GROVE_EXPECT(f, "KEYS *", "*0\r\n");
}

static void test_flush_replicates(void **state)
{
	grove_test_cmd_t *f = *state;
	uint64_t clock2 = f->clock_ms;
	grove_db_t *n2;
	assert_int_equal(grove_test_storage_db_open(NULL, "n2", &clock2, GROVE_DURABILITY_NONE, &n2),
			 0);
	GROVE_EXPECT(f, "INCRBY hits 5", ":5\r\n");
	GROVE_EXPECT(f, "SADD tags a", ":1\r\n");
	grove_test_cmd_ship(f->db, n2, "hits");
	grove_test_cmd_ship(f->db, n2, "tags");
	/* n2 adds to tags before it hears of the flush: that add survives */
	bool added;
	assert_int_equal(grove_db_set_add(n2, "tags", 4, "late", 4, &added), 0);
	GROVE_EXPECT(f, "FLUSHALL", "+OK\r\n");
	grove_test_cmd_ship(f->db, n2, "hits");
	grove_test_cmd_ship(f->db, n2, "tags");
	grove_test_cmd_ship(n2, f->db, "tags");
	grove_value_t *v;
	assert_int_equal(grove_db_get(n2, "hits", 4, &v), GROVE_ENOTFOUND);
	GROVE_EXPECT(f, "EXISTS hits", ":0\r\n");
	GROVE_EXPECT(f, "SMEMBERS tags", "*1\r\n$4\r\nlate\r\n");
	grove_db_close(n2);
}

static void test_unlink_touch_randomkey(void **state)
{
	grove_test_cmd_t *f = *state;
	GROVE_EXPECT(f, "RANDOMKEY", "$-1\r\n");
	GROVE_EXPECT(f, "MSET a 1 b 2 c 3", "+OK\r\n");
	GROVE_EXPECT(f, "TOUCH a b nope a", ":3\r\n");
	GROVE_EXPECT(f, "UNLINK a nope", ":1\r\n");
	GROVE_EXPECT(f, "EXISTS a", ":0\r\n");
	for (int i = 0; i < 50; i++) {
		const char *r = grove_test_cmd_run(f, 0, "RANDOMKEY");
		assert_true(strcmp(r, "$1\r\nb\r\n") == 0 || strcmp(r, "$1\r\nc\r\n") == 0);
	}
	GROVE_EXPECT(f, "RANDOMKEY x", "-ERR wrong number of arguments for 'randomkey' command\r\n");
}

static void test_rename_copy(void **state)
{
	grove_test_cmd_t *f = *state;
	GROVE_EXPECT(f, "INCRBY c 7", ":7\r\n");
	GROVE_EXPECT(f, "SADD s a b", ":2\r\n");
	GROVE_EXPECT(f, "HSET h f v", ":1\r\n");
	GROVE_EXPECT(f, "SET r x", "+OK\r\n");
	GROVE_EXPECT(f, "RENAME c c2", "+OK\r\n");
	GROVE_EXPECT(f, "GROVE TYPE c2", "+counter\r\n");
	GROVE_EXPECT(f, "INCR c2", ":8\r\n");
	GROVE_EXPECT(f, "EXISTS c", ":0\r\n");
	GROVE_EXPECT(f, "COPY s s2", ":1\r\n");
	GROVE_EXPECT(f, "SMEMBERS s2", "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
	GROVE_EXPECT(f, "COPY h s2", ":0\r\n");
	GROVE_EXPECT(f, "COPY h s2 REPLACE", ":1\r\n"); /* a map replaces the set */
	GROVE_EXPECT(f, "TYPE s2", "+hash\r\n");
	GROVE_EXPECT(f, "HGET s2 f", "$1\r\nv\r\n");
	GROVE_EXPECT(f, "RENAMENX r h", ":0\r\n");
	GROVE_EXPECT(f, "RENAME r h", "+OK\r\n");
	GROVE_EXPECT(f, "GET h", "$1\r\nx\r\n");
	GROVE_EXPECT(f, "RENAME nokey z", "-ERR no such key\r\n");
	GROVE_EXPECT(f, "COPY h h", "-ERR source and destination objects are the same\r\n");
	GROVE_EXPECT(f, "COPY h z DB 1", "-ERR DB index is out of range\r\n");
	/* n2 adds to s concurrently with the rename on n1: that add survives in s */
	uint64_t clock2 = f->clock_ms;
	grove_db_t *n2;
	assert_int_equal(grove_test_storage_db_open(NULL, "n2", &clock2, GROVE_DURABILITY_NONE, &n2),
			 0);
	grove_test_cmd_ship(f->db, n2, "s");
	bool added;
	assert_int_equal(grove_db_set_add(n2, "s", 1, "late", 4, &added), 0);
	GROVE_EXPECT(f, "RENAME s s3", "+OK\r\n");
	grove_test_cmd_ship(n2, f->db, "s");
	GROVE_EXPECT(f, "SMEMBERS s", "*1\r\n$4\r\nlate\r\n");
	GROVE_EXPECT(f, "SMEMBERS s3", "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
	grove_db_close(n2);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, grove_test_cmd_setup, grove_test_cmd_teardown)
	const struct CMUnitTest tests[] = {
		T(test_flush_local),
		T(test_flush_replicates),
		T(test_unlink_touch_randomkey),
		T(test_rename_copy),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
