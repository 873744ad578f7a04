/*
 * util_cmd.c - the command-test fixture (see util_cmd.h).
 */
#include "tests/util_cmd.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "grove/alloc.h"
#include "tests/util_storage.h"

int grove_test_cmd_setup(void **state)
{
	grove_test_cmd_t *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->clock_ms = GROVE_TEST_T0_MS;
	assert_int_equal(grove_test_storage_db_open(NULL, "n1", &f->clock_ms,
						    GROVE_DURABILITY_NONE, &f->db), 0);
	grove_cmd_env_init(&f->env, f->db);
	for (size_t i = 0; i < GROVE_TEST_CMD_CLIENTS; i++)
		grove_cmd_client_init(&f->clients[i], &f->env, i + 1);
	grove_buf_init(&f->out, 0);
	*state = f;
	return 0;
}

int grove_test_cmd_teardown(void **state)
{
	grove_test_cmd_t *f = *state;
	grove_buf_close(&f->out);
	for (size_t i = 0; i < GROVE_TEST_CMD_CLIENTS; i++)
		grove_cmd_client_close(&f->clients[i]);
	grove_cmd_env_close(&f->env);
	grove_db_close(f->db);
	free(f);
	return 0;
}

const char *grove_test_cmd_argv(grove_test_cmd_t *f, size_t ci, size_t argc,
				const uint8_t *const *argv, const size_t *argl)
{
	assert_true(ci < GROVE_TEST_CMD_CLIENTS);
	grove_resp_request_t req = {argc, argv, argl};
	f->out.len = 0;
	f->result = grove_cmd_exec(&f->env, &f->clients[ci], &req, &f->out);
	assert_false(grove_buf_failed(&f->out));
	assert_true(f->out.len < sizeof(f->reply));
	memcpy(f->reply, f->out.data, f->out.len);
	f->reply[f->out.len] = 0;
	return f->reply;
}

const char *grove_test_cmd_run(grove_test_cmd_t *f, size_t ci, const char *line)
{
	grove_resp_parser_t p;
	grove_resp_parser_init(&p, 0, 0);
	assert_int_equal(grove_resp_parser_feed(&p, line, strlen(line)), 0);
	assert_int_equal(grove_resp_parser_feed(&p, "\r\n", 2), 0);
	grove_resp_request_t req;
	assert_int_equal(grove_resp_parser_next(&p, &req), 1);
	grove_test_cmd_argv(f, ci, req.argc, req.argv, req.argl);
	grove_resp_parser_close(&p);
	return f->reply;
}

typedef struct ship_ctx {
	grove_db_t *from, *to;
} ship_ctx_t;

static int ship_item(void *ctx, const uint8_t *name, size_t nlen)
{
	ship_ctx_t *s = ctx;
	uint8_t *state;
	size_t len;
	int rc = grove_db_item_state(s->from, name, nlen, &state, &len);
	if (rc == GROVE_ENOTFOUND)
		return 0;
	assert_int_equal(rc, 0);
	bool changed, reply;
	assert_int_equal(grove_db_item_merge(s->to, name, nlen, state, len, &changed, &reply), 0);
	grove_free(state);
	return 0;
}

void grove_test_cmd_ship(grove_db_t *from, grove_db_t *to, const char *key)
{
	ship_ctx_t s = {from, to};
	assert_int_equal(grove_db_key_items(from, key, strlen(key), ship_item, &s), 0);
}
