/*
 * test_resp.c - the RESP2 request parser (multibulk, inline, pipelining,
 * partial reads, limits, malformed input) and the reply writer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* the codec itself, so that its static header parsers can be compared
 * (test_header_fast_path); the library's copy is then not linked; before
 * cmocka.h, whose fail() macro would rename its fail() */
#include "node/resp_codec.c"
#include <cmocka.h>

#include "grove/alloc.h"
#include "base/rng.h"

/* Collected requests: each argument copied, joined with '|' for checking. */
typedef struct collected {
	char text[64][256];
	size_t count;
} collected_t;

static void collect(collected_t *c, const grove_resp_request_t *req)
{
	assert_true(c->count < 64);
	char *t = c->text[c->count++];
	size_t n = 0;
	for (size_t i = 0; i < req->argc; i++) {
		if (i)
			t[n++] = '|';
		assert_true(n + req->argl[i] < 250);
		memcpy(t + n, req->argv[i], req->argl[i]);
		n += req->argl[i];
	}
	t[n] = 0;
}

/* Feeds all of input in one piece; returns the final _next code. */
static int parse_all(grove_resp_parser_t *p, const char *input, size_t len, collected_t *c)
{
	assert_int_equal(grove_resp_parser_feed(p, input, len), 0);
	grove_resp_request_t req;
	int rc;
	while ((rc = grove_resp_parser_next(p, &req)) == 1)
		collect(c, &req);
	return rc;
}

static int parse_string(const char *input, collected_t *c, size_t max_bytes, size_t max_args,
			char *err)
{
	grove_resp_parser_t p;
	grove_resp_parser_init(&p, max_bytes, max_args);
	memset(c, 0, sizeof(*c));
	int rc = parse_all(&p, input, strlen(input), c);
	if (err)
		strcpy(err, grove_resp_parser_error(&p));
	grove_resp_parser_close(&p);
	return rc;
}

static void test_multibulk_basic(void **state)
{
	(void)state;
	collected_t c;
	assert_int_equal(parse_string("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n", &c, 0, 0, NULL), 0);
	assert_int_equal(c.count, 1);
	assert_string_equal(c.text[0], "SET|k|hello");
}

static void test_pipelined(void **state)
{
	(void)state;
	collected_t c;
	const char *in = "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\na\r\nPING\r\n"
			 "*0\r\n*-1\r\n\r\n  \r\n*2\r\n$4\r\nECHO\r\n$0\r\n\r\n";
	assert_int_equal(parse_string(in, &c, 0, 0, NULL), 0);
	assert_int_equal(c.count, 4);
	assert_string_equal(c.text[0], "PING");
	assert_string_equal(c.text[1], "GET|a");
	assert_string_equal(c.text[2], "PING");
	assert_string_equal(c.text[3], "ECHO|");
}

static void test_binary_safe(void **state)
{
	(void)state;
	grove_resp_parser_t p;
	grove_resp_parser_init(&p, 0, 0);
	const char in[] = "*2\r\n$4\r\nECHO\r\n$6\r\na\0\r\n\nb\r\n";
	assert_int_equal(grove_resp_parser_feed(&p, in, sizeof(in) - 1), 0);
	grove_resp_request_t req;
	assert_int_equal(grove_resp_parser_next(&p, &req), 1);
	assert_int_equal(req.argc, 2);
	assert_int_equal(req.argl[1], 6);
	assert_memory_equal(req.argv[1], "a\0\r\n\nb", 6);
	assert_int_equal(grove_resp_parser_next(&p, &req), 0);
	assert_int_equal(grove_resp_parser_pending(&p), 0);
	grove_resp_parser_close(&p);
}

/* Every split of a pipelined stream into random pieces yields the same
 * requests as feeding it whole. */
static void test_partial_reads(void **state)
{
	(void)state;
	const char *in = "*3\r\n$4\r\nHSET\r\n$3\r\nkey\r\n$10\r\n0123456789\r\n"
			 "INCRBY \"c\\x41\" '7'\r\n*1\r\n$4\r\nPING\r\n"
			 "*2\r\n$3\r\nGET\r\n$0\r\n\r\nset a b\n";
	size_t len = strlen(in);
	collected_t whole;
	assert_int_equal(parse_string(in, &whole, 0, 0, NULL), 0);
	assert_int_equal(whole.count, 5);
	assert_string_equal(whole.text[1], "INCRBY|cA|7");
	uint64_t seed = 0x5eed0001;
	print_message("seed %llu\n", (unsigned long long)seed);
	grove_rng_t rng;
	grove_rng_seed(&rng, seed);
	for (int round = 0; round < 500; round++) {
		grove_resp_parser_t p;
		grove_resp_parser_init(&p, 0, 0);
		collected_t c = {0};
		size_t off = 0;
		while (off < len) {
			size_t piece = 1 + (size_t)grove_rng_below(&rng, round % 2 ? 3 : 20);
			if (piece > len - off)
				piece = len - off;
			assert_int_equal(parse_all(&p, in + off, piece, &c), 0);
			off += piece;
		}
		assert_int_equal(c.count, whole.count);
		for (size_t i = 0; i < c.count; i++)
			assert_string_equal(c.text[i], whole.text[i]);
		grove_resp_parser_close(&p);
	}
}

/* Reading straight into the parser's buffer (as the server does). */
static void test_space_commit(void **state)
{
	(void)state;
	grove_resp_parser_t p;
	grove_resp_parser_init(&p, 0, 0);
	grove_resp_request_t req;
	for (int i = 0; i < 3000; i++) {
		uint8_t *dst;
		size_t room;
		assert_int_equal(grove_resp_parser_space(&p, 100, &dst, &room), 0);
		assert_true(room >= 100);
		memcpy(dst, "*1\r\n$4\r\nPI", 10);
		grove_resp_parser_commit(&p, 10);
		assert_int_equal(grove_resp_parser_next(&p, &req), 0);
		assert_int_equal(grove_resp_parser_feed(&p, "NG\r\n", 4), 0);
		assert_int_equal(grove_resp_parser_next(&p, &req), 1);
		assert_memory_equal(req.argv[0], "PING", 4);
	}
	/* the buffer is recycled, not grown per request */
	assert_true(p.cap <= 65536);
	grove_resp_parser_close(&p);
}

static void test_inline_quotes(void **state)
{
	(void)state;
	collected_t c;
	assert_int_equal(parse_string("SET \"a b\" 'c d'\r\nECHO \"\\n\\t\\\\\\\"\" 'it\\'s'\n"
				      "ECHO \"\\xzz\"\n",
				      &c, 0, 0, NULL),
			 0);
	assert_int_equal(c.count, 3);
	assert_string_equal(c.text[0], "SET|a b|c d");
	assert_string_equal(c.text[1], "ECHO|\n\t\\\"|it's");
	assert_string_equal(c.text[2], "ECHO|xzz"); /* as Redis: unknown escape drops the backslash */
}

static void expect_error(const char *in, size_t max_bytes, size_t max_args, const char *msg)
{
	collected_t c;
	char err[GROVE_RESP_ERROR_BYTES];
	assert_int_equal(parse_string(in, &c, max_bytes, max_args, err), GROVE_EPROTO);
	assert_string_equal(err, msg);
}

/* parse_header's one-pass path answers as parse_header_any (the general
 * one: CR looked for first) on every header of up to 6 bytes over the
 * bytes that matter (digits, '-', CR, LF, another), whole or cut short,
 * after 14 or 15 digits (up to 18 and 19 in all) and after 26 (the 32-byte
 * limit):
 * the same code, value and length. */
static void test_header_fast_path(void **state)
{
	(void)state;
	static const uint8_t alpha[] = { '0', '7', '9', '-', '\r', '\n', 'x' };
	enum { A = sizeof(alpha), LMAX = 6 };
	grove_resp_parser_t p;
	grove_resp_parser_init(&p, 0, 0);
	uint8_t *own = p.buf, buf[64]; /* the parser reads buf; its own goes back */
	size_t checked = 0, accepted = 0;
	for (size_t len = 0; len <= LMAX; len++) {
		size_t combos = 1;
		for (size_t i = 0; i < len; i++)
			combos *= A;
		for (size_t c = 0; c < combos; c++) {
			size_t x = c;
			buf[0] = '$';
			for (size_t i = 0; i < len; i++, x /= A)
				buf[1 + i] = alpha[x % A];
			static const size_t pads[] = { 0, 14, 15, 26 };
			for (size_t k = 0; k < 4; k++) {
				size_t pad = pads[k], n = 1 + pad + len;
				memmove(buf + 1 + pad, buf + 1, len);
				memset(buf + 1, '1', pad);
				p.buf = buf;
				p.head = 0;
				p.tail = n;
				long long v1 = -5, v2 = -5;
				size_t h1 = 99, h2 = 99;
				int r1 = parse_header(&p, 0, &v1, &h1);
				size_t lim = n < RESP_HEADER_BYTES_MAX ? n : RESP_HEADER_BYTES_MAX;
				int r2 = parse_header_any(buf, n, lim, &v2, &h2);
				assert_int_equal(r1, r2);
				if (r1 == 1) {
					assert_int_equal(v1, v2);
					assert_int_equal(h1, h2);
					accepted++;
				}
				memmove(buf + 1, buf + 1 + pad, len); /* back to the short form */
				checked++;
			}
		}
	}
	assert_true(accepted > 1000);
	p.buf = own;
	p.head = p.tail = 0;
	grove_resp_parser_close(&p);
	printf("headers compared: %zu, parsed: %zu\n", checked, accepted);
}

static void test_protocol_errors(void **state)
{
	(void)state;
	expect_error("SET \"a\n", 0, 0, "ERR Protocol error: unbalanced quotes in request");
	expect_error("SET \"a\"b\n", 0, 0, "ERR Protocol error: unbalanced quotes in request");
	expect_error("*x\r\n", 0, 0, "ERR Protocol error: invalid multibulk length");
	expect_error("*1\n\r\n", 0, 0, "ERR Protocol error: invalid multibulk length");
	expect_error("*99999999999999999999\r\n", 0, 0,
		     "ERR Protocol error: invalid multibulk length");
	expect_error("*3\r\n", 0, 2, "ERR Protocol error: invalid multibulk length");
	expect_error("*1\r\n:4\r\n", 0, 0, "ERR Protocol error: expected '$', got ':'");
	expect_error("*1\r\n$-3\r\n", 0, 0, "ERR Protocol error: invalid bulk length");
	expect_error("*1\r\n$\r\n", 0, 0, "ERR Protocol error: invalid bulk length");
	expect_error("*1\r\n$1x\r\n", 0, 0, "ERR Protocol error: invalid bulk length");
	expect_error("*1\r\n$1\r\nab\r\n", 0, 0, "ERR Protocol error: expected CRLF after bulk");
	expect_error("*1\r\n$100\r\n", 64, 0, "ERR Protocol error: invalid bulk length");
	expect_error("*1\r\n$60\r\n", 64, 0,
		     "ERR Protocol error: request larger than the 64-byte limit");
	expect_error("*2\r\n$20\r\n01234567890123456789\r\n$30\r\n", 64, 0,
		     "ERR Protocol error: request larger than the 64-byte limit");
	expect_error("*1\r\n$99999999999\r\n", 0, 0, "ERR Protocol error: invalid bulk length");
	expect_error("*2\r\n$1\r\nx\r\n$8388600\r\n", 0, 0,
		     "ERR Protocol error: request larger than the 8388608-byte limit");
	expect_error("a b c\n", 0, 2, "ERR Protocol error: too many arguments");
	/* a header line that never ends */
	expect_error("*1111111111111111111111111111111111111", 0, 0,
		     "ERR Protocol error: invalid multibulk length");
}

static void test_inline_too_big(void **state)
{
	(void)state;
	size_t n = GROVE_RESP_INLINE_BYTES_MAX + 10;
	char *big = malloc(n + 1);
	memset(big, 'a', n);
	big[n] = 0;
	expect_error(big, 0, 0, "ERR Protocol error: too big inline request");
	/* just under the limit without newline: waits for more */
	collected_t c;
	big[GROVE_RESP_INLINE_BYTES_MAX - 1] = 0;
	assert_int_equal(parse_string(big, &c, 0, 0, NULL), 0);
	free(big);
}

/* Requests before the bad one are delivered; afterwards the parser stays dead. */
static void test_dead_after_error(void **state)
{
	(void)state;
	grove_resp_parser_t p;
	grove_resp_parser_init(&p, 0, 0);
	collected_t c = {0};
	const char *in = "PING\r\n*1\r\n+x\r\n";
	assert_int_equal(parse_all(&p, in, strlen(in), &c), GROVE_EPROTO);
	assert_int_equal(c.count, 1);
	assert_int_equal(parse_all(&p, "PING\r\n", 6, &c), GROVE_EPROTO);
	assert_int_equal(c.count, 1);
	grove_resp_parser_close(&p);
}

/* A big request arriving in many reads completes, each byte parsed once. */
static void test_large_bulk_incremental(void **state)
{
	(void)state;
	grove_resp_parser_t p;
	grove_resp_parser_init(&p, 4u << 20, 0);
	size_t n = 3u << 20;
	char hdr[64];
	int h = snprintf(hdr, sizeof(hdr), "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%zu\r\n", n);
	assert_int_equal(grove_resp_parser_feed(&p, hdr, (size_t)h), 0);
	grove_resp_request_t req;
	char *chunk = malloc(65536);
	memset(chunk, 'v', 65536);
	for (size_t sent = 0; sent < n; sent += 65536) {
		assert_int_equal(grove_resp_parser_next(&p, &req), 0);
		assert_int_equal(grove_resp_parser_feed(&p, chunk, 65536), 0);
	}
	assert_int_equal(grove_resp_parser_next(&p, &req), 0);
	assert_int_equal(grove_resp_parser_feed(&p, "\r\n", 2), 0);
	assert_int_equal(grove_resp_parser_next(&p, &req), 1);
	assert_int_equal(req.argc, 3);
	assert_int_equal(req.argl[2], n);
	assert_int_equal(((const char *)req.argv[2])[n - 1], 'v');
	free(chunk);
	grove_resp_parser_close(&p);
}

static void test_alloc_failure(void **state)
{
	(void)state;
	grove_resp_parser_t p;
	grove_resp_parser_init(&p, 0, 0);
	grove_alloc_fail_after(1);
	assert_int_equal(grove_resp_parser_feed(&p, "PING\r\n", 6), GROVE_ENOMEM);
	grove_alloc_fail_reset();
	assert_int_equal(grove_resp_parser_feed(&p, "*2\r\n$1\r\na\r\n$1\r\nb\r\n", 18), 0);
	grove_resp_request_t req;
	grove_alloc_fail_after(1);
	assert_int_equal(grove_resp_parser_next(&p, &req), GROVE_ENOMEM);
	grove_alloc_fail_reset();
	grove_resp_parser_close(&p);
}

static void test_writer(void **state)
{
	(void)state;
	grove_buf_t b;
	grove_buf_init(&b, 0);
	grove_resp_simple(&b, "OK");
	grove_resp_error(&b, "ERR bad\r\nthing");
	grove_resp_int(&b, -42);
	grove_resp_bulk(&b, "a\0b", 3);
	grove_resp_null(&b);
	grove_resp_array(&b, 2);
	grove_resp_bulk_str(&b, "");
	grove_resp_bulk_int(&b, 9223372036854775807LL);
	grove_resp_errorf(&b, "WRONGTYPE %s", "x");
	grove_resp_int(&b, 0); /* integers are formatted by hand: the extremes */
	grove_resp_int(&b, -9223372036854775807LL - 1);
	grove_resp_int(&b, 9223372036854775807LL);
	grove_resp_array(&b, 10);
	const char want[] = "+OK\r\n-ERR bad  thing\r\n:-42\r\n$3\r\na\0b\r\n$-1\r\n*2\r\n$0\r\n\r\n"
			    "$19\r\n9223372036854775807\r\n-WRONGTYPE x\r\n"
			    ":0\r\n:-9223372036854775808\r\n:9223372036854775807\r\n*10\r\n";
	assert_false(grove_buf_failed(&b));
	assert_int_equal(b.len, sizeof(want) - 1);
	assert_memory_equal(b.data, want, b.len);
	grove_buf_consume(&b, 5);
	assert_memory_equal(b.data, "-ERR", 4);
	grove_buf_close(&b);
}

static void test_writer_cap(void **state)
{
	(void)state;
	grove_buf_t b;
	grove_buf_init(&b, 2048);
	char big[1500];
	memset(big, 'x', sizeof(big));
	grove_resp_bulk(&b, big, sizeof(big));
	assert_false(grove_buf_failed(&b));
	size_t len = b.len;
	grove_resp_bulk(&b, big, sizeof(big));
	assert_true(grove_buf_failed(&b));
	grove_resp_simple(&b, "OK");
	assert_int_equal(b.len, len);
	grove_buf_close(&b);
	grove_buf_init(&b, 0);
	grove_alloc_fail_after(1);
	grove_resp_simple(&b, "OK");
	grove_alloc_fail_reset();
	assert_true(grove_buf_failed(&b));
	grove_buf_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_multibulk_basic),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_binary_safe),
		cmocka_unit_test(test_partial_reads),
		cmocka_unit_test(test_space_commit),
		cmocka_unit_test(test_inline_quotes),
		cmocka_unit_test(test_header_fast_path),
		cmocka_unit_test(test_protocol_errors),
		cmocka_unit_test(test_inline_too_big),
		cmocka_unit_test(test_dead_after_error),
		cmocka_unit_test(test_large_bulk_incremental),
		cmocka_unit_test(test_alloc_failure),
		cmocka_unit_test(test_writer),
		cmocka_unit_test(test_writer_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
