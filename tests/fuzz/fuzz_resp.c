/*
 * fuzz_resp.c - libFuzzer target for the RESP2 request parser.
 *
 * The input is fed in pieces whose sizes come from the first byte, with a
 * small request limit so the limit paths are reached; every request is
 * checked against its bounds, and a reply is written for it so the writer
 * runs too.  The parser must return requests, "need more" or an error,
 * never crash or leak.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/assert.h"
#include "node/resp_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t piece = 1 + data[0] % 64;
	data++;
	size--;
	grove_resp_parser_t p;
	grove_resp_parser_init(&p, 4096, 64);
	grove_buf_t out;
	grove_buf_init(&out, 1u << 20);
	int rc = 0;
	for (size_t off = 0; off < size && rc >= 0; off += piece) {
		size_t n = size - off < piece ? size - off : piece;
		if (grove_resp_parser_feed(&p, data + off, n) < 0)
			break;
		grove_resp_request_t req;
		while ((rc = grove_resp_parser_next(&p, &req)) == 1) {
			GROVE_ASSERT(req.argc >= 1 && req.argc <= 64);
			grove_resp_array(&out, req.argc);
			for (size_t i = 0; i < req.argc; i++) {
				GROVE_ASSERT(req.argl[i] <= 4096);
				grove_resp_bulk(&out, req.argv[i], req.argl[i]);
			}
			grove_buf_consume(&out, out.len);
		}
		if (rc < 0)
			GROVE_ASSERT(strncmp(grove_resp_parser_error(&p), "ERR Protocol error: ", 20) == 0);
	}
	grove_buf_close(&out);
	grove_resp_parser_close(&p);
	return 0;
}
