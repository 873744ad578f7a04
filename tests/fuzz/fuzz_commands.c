/*
 * fuzz_commands.c - libFuzzer target for the RESP command dispatcher: the
 * input is a stream of RESP requests (multibulk or inline) that two clients
 * of one memory db (opened once, emptied by FLUSHALL before each input)
 * execute in turn (the first byte picks which client sends
 * each request).  It reaches the option parsers (SET, GETEX, SCAN, EXPIRE,
 * CLIENT, CONFIG...), the MULTI queue with its bounds, WATCH and EXEC;
 * each input ends with an active expiry cycle (keys written with a past
 * deadline are removed there).
 * Every reply must be well-formed enough to start with a RESP type byte;
 * nothing may crash, assert or leak.  SETRANGE and SETBIT offsets beyond
 * 64 KiB are skipped (a legal 512 MiB string would only slow the fuzzer).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/assert.h"
#include "base/buf.h"
#include "grove/db.h"
#include "node/resp_codec.h"
#include "node/resp_commands.h"

#define FUZZ_SETRANGE_MAX 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool skip(const grove_resp_request_t *req)
{
	bool range = req->argl[0] == 8 && strncasecmp((const char *)req->argv[0], "setrange", 8) == 0;
	bool bit = req->argl[0] == 6 && strncasecmp((const char *)req->argv[0], "setbit", 6) == 0;
	if ((!range && !bit) || req->argc != 4)
		return false;
	char num[24] = {0};
	memcpy(num, req->argv[2], req->argl[2] < 23 ? req->argl[2] : 23);
	long long max = bit ? 8LL * FUZZ_SETRANGE_MAX : FUZZ_SETRANGE_MAX;
	return strtoll(num, NULL, 10) > max || req->argl[2] > 20;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	unsigned who = data[0];
	data++;
	size--;
	/* one db for the whole run (opening one costs far more than an input);
	 * each input starts by emptying it */
	static grove_db_t *db;
	if (!db) {
		grove_db_options_t opts;
		grove_db_options_init(&opts);
		opts.node_id = "n1";
		GROVE_ASSERT(grove_db_open(NULL, &opts, &db, NULL, 0) == 0);
	}
	grove_cmd_env_t env;
	grove_cmd_env_init(&env, db);
	grove_buf_t out;
	grove_buf_init(&out, 1u << 22);
	const uint8_t *flush[1] = {(const uint8_t *)"FLUSHALL"};
	size_t flush_len[1] = {8};
	grove_resp_request_t flush_req = {1, flush, flush_len};
	grove_cmd_client_t clients[2];
	grove_cmd_client_init(&clients[0], &env, 1);
	grove_cmd_client_init(&clients[1], &env, 2);
	grove_cmd_exec(&env, &clients[0], &flush_req, &out);
	grove_buf_reset(&out);
	grove_resp_parser_t p;
	grove_resp_parser_init(&p, 1u << 16, 256);
	if (grove_resp_parser_feed(&p, data, size) == 0) {
		grove_resp_request_t req;
		for (unsigned n = 0; grove_resp_parser_next(&p, &req) == 1; n++) {
			if (skip(&req))
				continue;
			grove_cmd_client_t *cl = &clients[(who >> (n % 8)) & 1];
			grove_cmd_exec(&env, cl, &req, &out);
			GROVE_ASSERT(grove_buf_failed(&out) || out.len == 0 ||
				     strchr("+-:$*", out.data[0]) != NULL);
			grove_buf_reset(&out);
		}
	}
	GROVE_ASSERT(grove_db_expire_cycle(db, 64, NULL) >= 0);
	grove_buf_close(&out);
	grove_resp_parser_close(&p);
	grove_cmd_client_close(&clients[0]);
	grove_cmd_client_close(&clients[1]);
	grove_cmd_env_close(&env);
	return 0;
}
