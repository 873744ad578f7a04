/*
 * test_cmd_list.c - list commands through the command dispatcher
 * (node/resp_cmd_list.c): Redis 7's replies and error texts, WRONGTYPE
 * both ways, TYPE and SCAN TYPE, DEL, RENAME and COPY of a list, MULTI /
 * EXEC, and two replicas whose concurrent pushes, inserts and pops of the
 * same element merge (both pops answer the element; both pushes stay).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "grove/alloc.h"
#include "grove/db.h"
#include "tests/util_cmd.h"
#include "tests/util_storage.h"

static void test_push_pop_range(void **state)
{
	grove_test_cmd_t *f = *state;
	GROVE_EXPECT(f, "LPUSHX l a", ":0\r\n");
	GROVE_EXPECT(f, "RPUSH l a b c", ":3\r\n");
	GROVE_EXPECT(f, "LPUSH l z y", ":5\r\n");
	GROVE_EXPECT(f, "RPUSHX l d", ":6\r\n");
	GROVE_EXPECT(f, "LLEN l", ":6\r\n");
	GROVE_EXPECT(f, "LRANGE l 0 -1",
		     "*6\r\n$1\r\ny\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n");
	GROVE_EXPECT(f, "LRANGE l -2 100", "*2\r\n$1\r\nc\r\n$1\r\nd\r\n");
	GROVE_EXPECT(f, "LRANGE l 4 2", "*0\r\n");
	GROVE_EXPECT(f, "LRANGE l x 2", "-ERR value is not an integer or out of range\r\n");
	GROVE_EXPECT(f, "LINDEX l 0", "$1\r\ny\r\n");
	GROVE_EXPECT(f, "LINDEX l -1", "$1\r\nd\r\n");
	GROVE_EXPECT(f, "LINDEX l 6", "$-1\r\n");
	GROVE_EXPECT(f, "LPOP l", "$1\r\ny\r\n");
	GROVE_EXPECT(f, "RPOP l", "$1\r\nd\r\n");
	GROVE_EXPECT(f, "LPOP l 2", "*2\r\n$1\r\nz\r\n$1\r\na\r\n");
	GROVE_EXPECT(f, "RPOP l 0", "*0\r\n");
	GROVE_EXPECT(f, "RPOP l -1", "-ERR value is out of range, must be positive\r\n");
	GROVE_EXPECT(f, "RPOP l 9", "*2\r\n$1\r\nc\r\n$1\r\nb\r\n");
	GROVE_EXPECT(f, "LPOP l", "$-1\r\n");
	GROVE_EXPECT(f, "LPOP l 3", "*-1\r\n");
	GROVE_EXPECT(f, "EXISTS l", ":0\r\n");
	GROVE_EXPECT(f, "LRANGE nol 0 -1", "*0\r\n");
	GROVE_EXPECT(f, "LLEN nol", ":0\r\n");
}

static void test_edit_commands(void **state)
{
	grove_test_cmd_t *f = *state;
	GROVE_EXPECT(f, "RPUSH l a b c a", ":4\r\n");
	GROVE_EXPECT(f, "LINSERT l BEFORE b x", ":5\r\n");
	GROVE_EXPECT(f, "LINSERT l after c y", ":6\r\n");
	GROVE_EXPECT(f, "LINSERT l AFTER nope y", ":-1\r\n");
	GROVE_EXPECT(f, "LINSERT nol AFTER a y", ":0\r\n");
	GROVE_EXPECT(f, "LINSERT l NEAR a y", "-ERR syntax error\r\n");
	GROVE_EXPECT(f, "LSET l 0 A", "+OK\r\n");
	GROVE_EXPECT(f, "LSET l -1 Z", "+OK\r\n");
	GROVE_EXPECT(f, "LSET l 99 Z", "-ERR index out of range\r\n");
	GROVE_EXPECT(f, "LSET nol 0 Z", "-ERR no such key\r\n");
	GROVE_EXPECT(f, "LRANGE l 0 -1",
		     "*6\r\n$1\r\nA\r\n$1\r\nx\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\ny\r\n$1\r\nZ\r\n");
	GROVE_EXPECT(f, "RPUSH l b b", ":8\r\n");
	GROVE_EXPECT(f, "LPOS l b", ":2\r\n");
	GROVE_EXPECT(f, "LPOS l b RANK 2", ":6\r\n");
	GROVE_EXPECT(f, "LPOS l b RANK -1", ":7\r\n");
	GROVE_EXPECT(f, "LPOS l b COUNT 0", "*3\r\n:2\r\n:6\r\n:7\r\n");
	GROVE_EXPECT(f, "LPOS l b COUNT 2 RANK -1", "*2\r\n:7\r\n:6\r\n");
	GROVE_EXPECT(f, "LPOS l b MAXLEN 2", "$-1\r\n");
	GROVE_EXPECT(f, "LPOS l nope", "$-1\r\n");
	GROVE_EXPECT(f, "LPOS l b RANK 0",
		     "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the "
		     "second ... or use negative to start from the end of the list\r\n");
	GROVE_EXPECT(f, "LPOS l b COUNT -1", "-ERR COUNT can't be negative\r\n");
	GROVE_EXPECT(f, "LREM l -1 b", ":1\r\n");
	GROVE_EXPECT(f, "LREM l 0 b", ":2\r\n");
	GROVE_EXPECT(f, "LRANGE l 0 -1",
		     "*5\r\n$1\r\nA\r\n$1\r\nx\r\n$1\r\nc\r\n$1\r\ny\r\n$1\r\nZ\r\n");
	GROVE_EXPECT(f, "LTRIM l 1 -2", "+OK\r\n");
	GROVE_EXPECT(f, "LRANGE l 0 -1", "*3\r\n$1\r\nx\r\n$1\r\nc\r\n$1\r\ny\r\n");
	GROVE_EXPECT(f, "LMOVE l m LEFT RIGHT", "$1\r\nx\r\n");
	GROVE_EXPECT(f, "LMOVE l m RIGHT LEFT", "$1\r\ny\r\n");
	GROVE_EXPECT(f, "RPOPLPUSH l m", "$1\r\nc\r\n");
	GROVE_EXPECT(f, "LMOVE l m RIGHT LEFT", "$-1\r\n");
	GROVE_EXPECT(f, "LMOVE m m UP LEFT", "-ERR syntax error\r\n");
	GROVE_EXPECT(f, "LRANGE m 0 -1", "*3\r\n$1\r\nc\r\n$1\r\ny\r\n$1\r\nx\r\n");
	GROVE_EXPECT(f, "LMOVE m m LEFT RIGHT", "$1\r\nc\r\n"); /* rotation */
	GROVE_EXPECT(f, "LRANGE m 0 -1", "*3\r\n$1\r\ny\r\n$1\r\nx\r\n$1\r\nc\r\n");
	GROVE_EXPECT(f, "LTRIM m 5 9", "+OK\r\n");
	GROVE_EXPECT(f, "EXISTS m", ":0\r\n");
}

/* LRANGE writes its elements before its header (node/resp_cmd_list.c):
 * counts of 1, 2 and 3 digits, and a whole 1,000-element reply. */
static void test_lrange_header_widths(void **state)
{
	grove_test_cmd_t *f = *state;
	char line[64], want[16384];
	size_t wl = 0;
	for (int i = 0; i < 1000; i++) {
		snprintf(line, sizeof(line), "RPUSH big v%d", i);
		grove_test_cmd_run(f, 0, line);
	}
	int counts[] = { 1, 9, 10, 99, 100, 999, 1000 };
	for (size_t t = 0; t < sizeof(counts) / sizeof(counts[0]); t++) {
		wl = (size_t)snprintf(want, sizeof(want), "*%d\r\n", counts[t]);
		for (int i = 0; i < counts[t]; i++) {
			int d = i < 10 ? 2 : i < 100 ? 3 : 4;
			wl += (size_t)snprintf(want + wl, sizeof(want) - wl, "$%d\r\nv%d\r\n", d, i);
		}
		snprintf(line, sizeof(line), "LRANGE big 0 %d", counts[t] - 1);
		GROVE_EXPECT(f, line, want);
	}
	GROVE_EXPECT(f, "MULTI", "+OK\r\n");
	GROVE_EXPECT(f, "LRANGE big 998 2000", "+QUEUED\r\n");
	GROVE_EXPECT(f, "LRANGE nolist 0 -1", "+QUEUED\r\n");
	GROVE_EXPECT(f, "EXEC", "*2\r\n*2\r\n$4\r\nv998\r\n$4\r\nv999\r\n*0\r\n");
}

static void test_types_and_keyspace(void **state)
{
	grove_test_cmd_t *f = *state;
	GROVE_EXPECT(f, "RPUSH l a b", ":2\r\n");
	GROVE_EXPECT(f, "SET s v", "+OK\r\n");
	GROVE_EXPECT(f, "TYPE l", "+list\r\n");
	const char *wt = GROVE_TEST_WRONGTYPE;
	GROVE_EXPECT(f, "GET l", wt);
	GROVE_EXPECT(f, "SADD l m", wt);
	GROVE_EXPECT(f, "APPEND l x", wt);
	GROVE_EXPECT(f, "LPUSH s x", wt);
	GROVE_EXPECT(f, "LRANGE s 0 -1", wt);
	GROVE_EXPECT(f, "LLEN s", wt);
	GROVE_EXPECT(f, "LPOP s", wt);
	GROVE_EXPECT(f, "LMOVE l s LEFT LEFT", wt);
	GROVE_EXPECT(f, "LMOVE s l LEFT LEFT", wt);
	GROVE_EXPECT(f, "SCAN 0 TYPE list", "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nl\r\n");
	GROVE_EXPECT(f, "RENAME l l2", "+OK\r\n");
	GROVE_EXPECT(f, "LRANGE l2 0 -1", "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
	GROVE_EXPECT(f, "EXISTS l", ":0\r\n");
	GROVE_EXPECT(f, "COPY l2 l3", ":1\r\n");
	GROVE_EXPECT(f, "LRANGE l3 0 -1", "*2\r\n$1\r\na\r\n$1\r\nb\r\n");
	GROVE_EXPECT(f, "DEL l2 l3", ":2\r\n");
	GROVE_EXPECT(f, "TYPE l2", "+none\r\n");
	GROVE_EXPECT(f, "SADD l2 m", ":1\r\n"); /* a deleted list takes any type */
	/* MULTI / EXEC */
	GROVE_EXPECT(f, "MULTI", "+OK\r\n");
	GROVE_EXPECT(f, "RPUSH q 1 2 3", "+QUEUED\r\n");
	GROVE_EXPECT(f, "LPOP q", "+QUEUED\r\n");
	GROVE_EXPECT(f, "LRANGE q 0 -1", "+QUEUED\r\n");
	GROVE_EXPECT(f, "EXEC", "*3\r\n:3\r\n$1\r\n1\r\n*2\r\n$1\r\n2\r\n$1\r\n3\r\n");
}

/* Two replicas: concurrent pops of one element both answer it; concurrent
 * pushes at one end and inserts at one place all stay, in one order. */
static void test_two_replicas(void **state)
{
	grove_test_cmd_t *f = *state;
	grove_db_t *b;
	uint64_t clk = GROVE_TEST_T0_MS;
	assert_int_equal(grove_test_storage_db_open(NULL, "n2", &clk, GROVE_DURABILITY_NONE, &b), 0);
	GROVE_EXPECT(f, "RPUSH q job1 job2", ":2\r\n");
	grove_test_cmd_ship(f->db, b, "q");
	uint8_t *v;
	size_t vl;
	assert_int_equal(grove_db_list_pop(b, "q", 1, true, &v, &vl), 0); /* on n2 */
	assert_int_equal(vl, 4);
	assert_memory_equal(v, "job1", 4);
	grove_free(v);
	GROVE_EXPECT(f, "LPOP q", "$4\r\njob1\r\n"); /* on n1: the same element */
	assert_int_equal(grove_db_list_push(b, "q", 1, false, false, "b-tail", 6, NULL), 0);
	GROVE_EXPECT(f, "RPUSH q a-tail", ":2\r\n");
	assert_int_equal(grove_db_list_insert(b, "q", 1, true, "job2", 4, "b-ins", 5, NULL), 0);
	GROVE_EXPECT(f, "LINSERT q BEFORE job2 a-ins", ":3\r\n");
	grove_test_cmd_ship(f->db, b, "q");
	grove_test_cmd_ship(b, f->db, "q");
	grove_test_cmd_ship(f->db, b, "q");
	const char *want = "*5\r\n$5\r\na-ins\r\n$5\r\nb-ins\r\n$4\r\njob2\r\n$6\r\na-tail\r\n"
			   "$6\r\nb-tail\r\n";
	GROVE_EXPECT(f, "LRANGE q 0 -1", want);
	uint8_t ra[16], rb[16];
	grove_db_root_digest(f->db, ra);
	grove_db_root_digest(b, rb);
	assert_memory_equal(ra, rb, 16);
	grove_db_close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_push_pop_range, grove_test_cmd_setup,
						grove_test_cmd_teardown),
		cmocka_unit_test_setup_teardown(test_edit_commands, grove_test_cmd_setup,
						grove_test_cmd_teardown),
		cmocka_unit_test_setup_teardown(test_lrange_header_widths, grove_test_cmd_setup,
						grove_test_cmd_teardown),
		cmocka_unit_test_setup_teardown(test_types_and_keyspace, grove_test_cmd_setup,
						grove_test_cmd_teardown),
		cmocka_unit_test_setup_teardown(test_two_replicas, grove_test_cmd_setup,
						grove_test_cmd_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
