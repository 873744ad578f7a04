/*
 * test_cmd_multi.c - MULTI / EXEC / DISCARD / WATCH / UNWATCH through the
 * command dispatcher: Redis 7.0's replies and error texts (checked against
 * redis-server 7.0.15), EXECABORT after a queue-time error with nothing
 * applied, run-time errors inside EXEC, the queue bound, WATCH failing EXEC
 * on a local write (another client's or its own) and on a merged remote
 * change but not on a merge that brings nothing new, and EXEC's isolation
 * from a concurrent reader thread.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "grove/alloc.h"
#include "tests/util_cmd.h"
#include "tests/util_storage.h"

static void test_multi_exec(void **state)
{
	grove_test_cmd_t *f = *state;
	GROVE_EXPECT(f, "MULTI", "+OK\r\n");
	GROVE_EXPECT(f, "SET a 1", "+QUEUED\r\n");
	GROVE_EXPECT(f, "INCR c", "+QUEUED\r\n");
	GROVE_EXPECT(f, "INCRBY c 4", "+QUEUED\r\n");
	GROVE_EXPECT(f, "GET a", "+QUEUED\r\n");
	/* nothing ran yet: another client sees nothing */
	GROVE_EXPECT_AS(f, 1, "EXISTS a c", ":0\r\n");
	GROVE_EXPECT(f, "EXEC", "*4\r\n+OK\r\n:1\r\n:5\r\n$1\r\n1\r\n");
	GROVE_EXPECT_AS(f, 1, "GET c", "$1\r\n5\r\n");
	/* an empty transaction, and the state is reset after EXEC */
	GROVE_EXPECT(f, "MULTI", "+OK\r\n");
	GROVE_EXPECT(f, "EXEC", "*0\r\n");
	GROVE_EXPECT(f, "EXEC", "-ERR EXEC without MULTI\r\n");
	GROVE_EXPECT(f, "GET a", "$1\r\n1\r\n");
}

static void test_multi_errors(void **state)
{
	grove_test_cmd_t *f = *state;
	GROVE_EXPECT(f, "EXEC", "-ERR EXEC without MULTI\r\n");
	GROVE_EXPECT(f, "DISCARD", "-ERR DISCARD without MULTI\r\n");
	GROVE_EXPECT(f, "MULTI x", "-ERR wrong number of arguments for 'multi' command\r\n");
	/* nested MULTI and WATCH inside MULTI: errors that do not abort */
	GROVE_EXPECT(f, "MULTI", "+OK\r\n");
	GROVE_EXPECT(f, "MULTI", "-ERR MULTI calls can not be nested\r\n");
	GROVE_EXPECT(f, "WATCH x", "-ERR WATCH inside MULTI is not allowed\r\n");
	GROVE_EXPECT(f, "SET a 1", "+QUEUED\r\n");
	GROVE_EXPECT(f, "EXEC", "*1\r\n+OK\r\n");
	/* an unknown command dooms the transaction: nothing runs */
	GROVE_EXPECT(f, "MULTI", "+OK\r\n");
	GROVE_EXPECT(f, "SET a 2", "+QUEUED\r\n");
	GROVE_EXPECT(f, "FOO bar", "-ERR unknown command 'FOO', with args beginning with: 'bar' \r\n");
	GROVE_EXPECT(f, "INCR n", "+QUEUED\r\n");
	GROVE_EXPECT(f, "EXEC", "-EXECABORT Transaction discarded because of previous errors.\r\n");
	GROVE_EXPECT(f, "GET a", "$1\r\n1\r\n");
	GROVE_EXPECT(f, "EXISTS n", ":0\r\n");
	/* and a BACKUP (its snapshot would outlive the transaction) */
	GROVE_EXPECT(f, "MULTI", "+OK\r\n");
	GROVE_EXPECT(f, "INCR n", "+QUEUED\r\n");
	GROVE_EXPECT(f, "BACKUP BEGIN", "-ERR BACKUP inside MULTI is not allowed; the transaction "
					"is discarded at EXEC\r\n");
	GROVE_EXPECT(f, "EXEC", "-EXECABORT Transaction discarded because of previous errors.\r\n");
	GROVE_EXPECT(f, "EXISTS n", ":0\r\n");
	/* so does a wrong arity */
	GROVE_EXPECT(f, "MULTI", "+OK\r\n");
	GROVE_EXPECT(f, "INCR n", "+QUEUED\r\n");
	GROVE_EXPECT(f, "GET", "-ERR wrong number of arguments for 'get' command\r\n");
	GROVE_EXPECT(f, "EXEC", "-EXECABORT Transaction discarded because of previous errors.\r\n");
	GROVE_EXPECT(f, "EXISTS n", ":0\r\n");
	/* reads inside EXEC see its earlier writes */
	GROVE_EXPECT(f, "MULTI", "+OK\r\n");
	GROVE_EXPECT(f, "INCR r", "+QUEUED\r\n");
	GROVE_EXPECT(f, "GET r", "+QUEUED\r\n");
	GROVE_EXPECT(f, "SADD rs m", "+QUEUED\r\n");
	GROVE_EXPECT(f, "SMEMBERS rs", "+QUEUED\r\n");
	GROVE_EXPECT(f, "DEL r", "+QUEUED\r\n");
	GROVE_EXPECT(f, "EXISTS r", "+QUEUED\r\n");
	GROVE_EXPECT(f, "EXEC", "*6\r\n:1\r\n$1\r\n1\r\n:1\r\n*1\r\n$1\r\nm\r\n:1\r\n:0\r\n");
	GROVE_EXPECT(f, "DEL rs", ":1\r\n");
	/* a run-time error is one element of the reply; the rest runs */
	GROVE_EXPECT(f, "MULTI", "+OK\r\n");
	GROVE_EXPECT(f, "SADD a x", "+QUEUED\r\n");
	GROVE_EXPECT(f, "INCR n", "+QUEUED\r\n");
	GROVE_EXPECT(f, "EXEC", "*2\r\n-WRONGTYPE Operation against a key holding the wrong kind "
				"of value\r\n:1\r\n");
	/* DISCARD drops the queue */
	GROVE_EXPECT(f, "MULTI", "+OK\r\n");
	GROVE_EXPECT(f, "INCR n", "+QUEUED\r\n");
	GROVE_EXPECT(f, "DISCARD", "+OK\r\n");
	GROVE_EXPECT(f, "GET n", "$1\r\n1\r\n");
	GROVE_EXPECT(f, "EXEC", "-ERR EXEC without MULTI\r\n");
	/* WAIT inside a transaction answers at once (no peers here: 0) */
	GROVE_EXPECT(f, "MULTI", "+OK\r\n");
	GROVE_EXPECT(f, "WAIT 1 0", "+QUEUED\r\n");
	GROVE_EXPECT(f, "EXEC", "*1\r\n:0\r\n");
	assert_int_equal(f->result, 0);
	/* QUIT is queued as in Redis 7.0 and closes after EXEC */
	GROVE_EXPECT(f, "MULTI", "+OK\r\n");
	GROVE_EXPECT(f, "QUIT", "+QUEUED\r\n");
	assert_int_equal(f->result, 0);
	GROVE_EXPECT(f, "EXEC", "*1\r\n+OK\r\n");
	assert_int_equal(f->result, GROVE_CMD_CLOSE);
}

/* Binary arguments survive the queue (they are copied out of the request). */
static void test_multi_binary(void **state)
{
	grove_test_cmd_t *f = *state;
	GROVE_EXPECT(f, "MULTI", "+OK\r\n");
	uint8_t key[3] = {'k', 0, 'z'}, val[4] = {0, '\r', '\n', 0xff};
	const uint8_t *argv[3] = {(const uint8_t *)"SET", key, val};
	size_t argl[3] = {3, sizeof(key), sizeof(val)};
	assert_string_equal(grove_test_cmd_argv(f, 0, 3, argv, argl), "+QUEUED\r\n");
	key[0] = 'X'; /* the caller's buffer is gone by EXEC */
	GROVE_EXPECT(f, "EXEC", "*1\r\n+OK\r\n");
	key[0] = 'k';
	const uint8_t *gv[2] = {(const uint8_t *)"GET", key};
	size_t gl[2] = {3, sizeof(key)};
	assert_memory_equal(grove_test_cmd_argv(f, 0, 2, gv, gl), "$4\r\n\0\r\n\xff\r\n", 10);
}

static void test_multi_queue_bound(void **state)
{
	grove_test_cmd_t *f = *state;
	GROVE_EXPECT(f, "MULTI", "+OK\r\n");
	for (size_t i = 0; i < GROVE_MULTI_QUEUE_MAX; i++)
		assert_string_equal(grove_test_cmd_run(f, 0, "INCR n"), "+QUEUED\r\n");
	const char *r = grove_test_cmd_run(f, 0, "INCR n");
	assert_non_null(strstr(r, "-ERR transaction too long: at most 100000 commands"));
	assert_non_null(strstr(r, "GROVE_MULTI_QUEUE_MAX"));
	GROVE_EXPECT(f, "EXEC", "-EXECABORT Transaction discarded because of previous errors.\r\n");
	GROVE_EXPECT(f, "EXISTS n", ":0\r\n");
	/* the byte bound: 64 MiB in 8 MiB values */
	GROVE_EXPECT(f, "MULTI", "+OK\r\n");
	size_t vlen = 8u << 20;
	uint8_t *big = grove_malloc(vlen);
	assert_non_null(big);
	memset(big, 'v', vlen);
	const uint8_t *argv[3] = {(const uint8_t *)"SET", (const uint8_t *)"b", big};
	size_t argl[3] = {3, 1, vlen};
	size_t queued = 0;
	while (strcmp(grove_test_cmd_argv(f, 0, 3, argv, argl), "+QUEUED\r\n") == 0)
		queued++;
	assert_int_equal(queued, 7);
	assert_non_null(strstr(f->reply, "-ERR transaction too large: at most 64 MiB"));
	grove_free(big);
	GROVE_EXPECT(f, "EXEC", "-EXECABORT Transaction discarded because of previous errors.\r\n");
	GROVE_EXPECT(f, "EXISTS b", ":0\r\n");
}

static void test_watch_local(void **state)
{
	grove_test_cmd_t *f = *state;
	/* another client's write fails the EXEC */
	GROVE_EXPECT(f, "SET k v1", "+OK\r\n");
	GROVE_EXPECT(f, "WATCH k other", "+OK\r\n");
	GROVE_EXPECT_AS(f, 1, "SET k v2", "+OK\r\n");
	GROVE_EXPECT(f, "MULTI", "+OK\r\n");
	GROVE_EXPECT(f, "SET k mine", "+QUEUED\r\n");
	GROVE_EXPECT(f, "EXEC", "*-1\r\n");
	GROVE_EXPECT(f, "GET k", "$2\r\nv2\r\n");
	/* the watch ended with that EXEC: the next one runs */
	GROVE_EXPECT(f, "MULTI", "+OK\r\n");
	GROVE_EXPECT(f, "SET k mine", "+QUEUED\r\n");
	GROVE_EXPECT(f, "EXEC", "*1\r\n+OK\r\n");
	/* unchanged watched keys (one absent) let it run */
	GROVE_EXPECT(f, "WATCH k absent", "+OK\r\n");
	GROVE_EXPECT_AS(f, 1, "GET k", "$4\r\nmine\r\n");
	GROVE_EXPECT(f, "MULTI", "+OK\r\n");
	GROVE_EXPECT(f, "INCR n", "+QUEUED\r\n");
	GROVE_EXPECT(f, "EXEC", "*1\r\n:1\r\n");
	/* an absent key that gets created, even with the same value later */
	GROVE_EXPECT(f, "WATCH absent", "+OK\r\n");
	GROVE_EXPECT_AS(f, 1, "SET absent x", "+OK\r\n");
	GROVE_EXPECT_AS(f, 1, "DEL absent", ":1\r\n");
	GROVE_EXPECT(f, "MULTI", "+OK\r\n");
	GROVE_EXPECT(f, "INCR n", "+QUEUED\r\n");
	GROVE_EXPECT(f, "EXEC", "*-1\r\n");
	GROVE_EXPECT(f, "GET n", "$1\r\n1\r\n");
	/* the client's own write between WATCH and MULTI counts too */
	GROVE_EXPECT(f, "WATCH k", "+OK\r\n");
	GROVE_EXPECT(f, "SET k same", "+OK\r\n");
	GROVE_EXPECT(f, "MULTI", "+OK\r\n");
	GROVE_EXPECT(f, "INCR n", "+QUEUED\r\n");
	GROVE_EXPECT(f, "EXEC", "*-1\r\n");
	/* UNWATCH forgets; so does DISCARD */
	GROVE_EXPECT(f, "WATCH k", "+OK\r\n");
	GROVE_EXPECT_AS(f, 1, "SET k again", "+OK\r\n");
	GROVE_EXPECT(f, "UNWATCH", "+OK\r\n");
	GROVE_EXPECT(f, "MULTI", "+OK\r\n");
	GROVE_EXPECT(f, "INCR n", "+QUEUED\r\n");
	GROVE_EXPECT(f, "EXEC", "*1\r\n:2\r\n");
	GROVE_EXPECT(f, "WATCH k", "+OK\r\n");
	GROVE_EXPECT(f, "MULTI", "+OK\r\n");
	GROVE_EXPECT(f, "DISCARD", "+OK\r\n");
	GROVE_EXPECT_AS(f, 1, "SET k later", "+OK\r\n");
	GROVE_EXPECT(f, "MULTI", "+OK\r\n");
	GROVE_EXPECT(f, "INCR n", "+QUEUED\r\n");
	GROVE_EXPECT(f, "EXEC", "*1\r\n:3\r\n");
	/* a watched key that cannot exist never changes */
	GROVE_EXPECT(f, "WATCH \"\"", "+OK\r\n");
	GROVE_EXPECT(f, "MULTI", "+OK\r\n");
	GROVE_EXPECT(f, "EXEC", "*0\r\n");
}

/* Ships key from n2 into f's db; want_news: whether f's state changed. */
static void merge_from_n2(grove_test_cmd_t *f, grove_db_t *n2, const char *key, bool want_news)
{
	uint8_t before[GROVE_DIGEST_BYTES] = {0}, after[GROVE_DIGEST_BYTES] = {0};
	grove_db_root_digest(f->db, before);
	grove_test_cmd_ship(n2, f->db, key);
	grove_db_root_digest(f->db, after);
	assert_int_equal(memcmp(before, after, sizeof(before)) != 0, want_news);
}

static void test_watch_merge(void **state)
{
	grove_test_cmd_t *f = *state;
	uint64_t clock2 = f->clock_ms;
	grove_db_t *n2;
	assert_int_equal(grove_test_storage_db_open(NULL, "n2", &clock2, GROVE_DURABILITY_NONE, &n2),
			 0);
	int64_t now;
	assert_int_equal(grove_db_counter_add(n2, "hits", 4, 5, &now), 0);
	merge_from_n2(f, n2, "hits", true);
	/* a merge that brings nothing new leaves the watch alone */
	GROVE_EXPECT(f, "WATCH hits", "+OK\r\n");
	merge_from_n2(f, n2, "hits", false);
	GROVE_EXPECT(f, "MULTI", "+OK\r\n");
	GROVE_EXPECT(f, "INCR hits", "+QUEUED\r\n");
	GROVE_EXPECT(f, "EXEC", "*1\r\n:6\r\n");
	/* a merge with news fails the EXEC */
	GROVE_EXPECT(f, "WATCH hits", "+OK\r\n");
	assert_int_equal(grove_db_counter_add(n2, "hits", 4, 10, &now), 0);
	merge_from_n2(f, n2, "hits", true);
	GROVE_EXPECT(f, "MULTI", "+OK\r\n");
	GROVE_EXPECT(f, "INCR hits", "+QUEUED\r\n");
	GROVE_EXPECT(f, "EXEC", "*-1\r\n");
	GROVE_EXPECT(f, "GET hits", "$2\r\n16\r\n");
	/* a set: a merged element fails the EXEC too */
	bool added;
	assert_int_equal(grove_db_set_add(n2, "tags", 4, "a", 1, &added), 0);
	merge_from_n2(f, n2, "tags", true);
	GROVE_EXPECT(f, "WATCH tags", "+OK\r\n");
	assert_int_equal(grove_db_set_add(n2, "tags", 4, "b", 1, &added), 0);
	merge_from_n2(f, n2, "tags", true);
	GROVE_EXPECT(f, "MULTI", "+OK\r\n");
	GROVE_EXPECT(f, "SADD tags c", "+QUEUED\r\n");
	GROVE_EXPECT(f, "EXEC", "*-1\r\n");
	GROVE_EXPECT(f, "SCARD tags", ":2\r\n");
	grove_db_close(n2);
}

/* ---- isolation: a reader thread never sees half a transaction ---- */

typedef struct reader {
	grove_test_cmd_t *f;
	atomic_bool stop;
	long seen[3]; /* EXISTS a b answered 0, 1, 2 */
} reader_t;

static void *reader_main(void *arg)
{
	reader_t *r = arg;
	grove_cmd_client_t cl;
	grove_cmd_client_init(&cl, &r->f->env, 9);
	grove_buf_t out;
	grove_buf_init(&out, 0);
	const uint8_t *argv[3] = {(const uint8_t *)"EXISTS", (const uint8_t *)"a",
				  (const uint8_t *)"b"};
	size_t argl[3] = {6, 1, 1};
	grove_resp_request_t req = {3, argv, argl};
	while (!atomic_load(&r->stop)) {
		out.len = 0;
		grove_cmd_exec(&r->f->env, &cl, &req, &out);
		if (out.len == 4 && out.data[0] == ':' && out.data[1] >= '0' && out.data[1] <= '2')
			r->seen[out.data[1] - '0']++;
	}
	grove_buf_close(&out);
	grove_cmd_client_close(&cl);
	return NULL;
}

static void test_exec_isolation(void **state)
{
	grove_test_cmd_t *f = *state;
	reader_t r = {.f = f};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, reader_main, &r), 0);
	for (int i = 0; i < 2000; i++) {
		GROVE_EXPECT(f, "MULTI", "+OK\r\n");
		GROVE_EXPECT(f, "SET a 1", "+QUEUED\r\n");
		GROVE_EXPECT(f, "SET b 1", "+QUEUED\r\n");
		GROVE_EXPECT(f, "EXEC", "*2\r\n+OK\r\n+OK\r\n");
		GROVE_EXPECT(f, "MULTI", "+OK\r\n");
		GROVE_EXPECT(f, "DEL a", "+QUEUED\r\n");
		GROVE_EXPECT(f, "DEL b", "+QUEUED\r\n");
		GROVE_EXPECT(f, "EXEC", "*2\r\n:1\r\n:1\r\n");
	}
	atomic_store(&r.stop, true);
	assert_int_equal(pthread_join(t, NULL), 0);
	printf("reader saw 0: %ld, 1: %ld, 2: %ld\n", r.seen[0], r.seen[1], r.seen[2]);
	assert_int_equal(r.seen[1], 0);
	assert_true(r.seen[0] + r.seen[2] > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_multi_exec, grove_test_cmd_setup,
						grove_test_cmd_teardown),
		cmocka_unit_test_setup_teardown(test_multi_errors, grove_test_cmd_setup,
						grove_test_cmd_teardown),
		cmocka_unit_test_setup_teardown(test_multi_binary, grove_test_cmd_setup,
						grove_test_cmd_teardown),
		cmocka_unit_test_setup_teardown(test_multi_queue_bound, grove_test_cmd_setup,
						grove_test_cmd_teardown),
		cmocka_unit_test_setup_teardown(test_watch_local, grove_test_cmd_setup,
						grove_test_cmd_teardown),
		cmocka_unit_test_setup_teardown(test_watch_merge, grove_test_cmd_setup,
						grove_test_cmd_teardown),
		cmocka_unit_test_setup_teardown(test_exec_isolation, grove_test_cmd_setup,
						grove_test_cmd_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
