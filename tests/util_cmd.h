/*
 * util_cmd.h - a fixture for the RESP command tests that need no sockets:
 * a memory db on a fake clock, a command env, clients, and helpers that run
 * one command (an inline line, or binary-safe arguments) and return its
 * reply bytes as a C string.
 */
#ifndef GROVE_TEST_UTIL_CMD_H
#define GROVE_TEST_UTIL_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "grove/db.h"
#include "node/resp_commands.h"

#define GROVE_TEST_CMD_CLIENTS 3
#define GROVE_TEST_CMD_REPLY_MAX 65536
/* Redis's reply to a command on a key of another type. */
#define GROVE_TEST_WRONGTYPE "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"

typedef struct grove_test_cmd {
	grove_db_t *db;
	uint64_t clock_ms; /* the db's clock, starting at GROVE_TEST_T0_MS */
	grove_cmd_env_t env;
	grove_cmd_client_t clients[GROVE_TEST_CMD_CLIENTS]; /* ids 1, 2, 3 */
	grove_buf_t out;
	char reply[GROVE_TEST_CMD_REPLY_MAX];
	unsigned result; /* GROVE_CMD_* bits of the last command */
} grove_test_cmd_t;

/* cmocka setup/teardown: *state becomes a grove_test_cmd_t (node "n1"). */
int grove_test_cmd_setup(void **state);
int grove_test_cmd_teardown(void **state);

/* Runs one inline command line (redis-cli quoting) as client ci. */
const char *grove_test_cmd_run(grove_test_cmd_t *f, size_t ci, const char *line);
/* Runs argc arguments given as (pointer, length) pairs as client ci. */
const char *grove_test_cmd_argv(grove_test_cmd_t *f, size_t ci, size_t argc,
				const uint8_t *const *argv, const size_t *argl);

/* Copies every item of key (head and elements) from one db into another
 * as anti-entropy would (grove_db_item_state / grove_db_item_merge). */
void grove_test_cmd_ship(grove_db_t *from, grove_db_t *to, const char *key);

#define GROVE_EXPECT(f, line, want) \
	assert_string_equal(grove_test_cmd_run((f), 0, (line)), (want))
#define GROVE_EXPECT_AS(f, ci, line, want) \
	assert_string_equal(grove_test_cmd_run((f), (ci), (line)), (want))

#endif
