/*
 * test_cmd_zset.c - resp_cmd_zset.c through the dispatcher: the scores
 * ZADD takes.  A score written as a plain integer of up to 15 digits
 * (a sign allowed) is converted without strtod; every such score, and the
 * forms around it that go to strtod (16 digits and more, fractions,
 * exponents, hex) or are refused, gives the reply strtod's value does
 * (ZSCORE, Redis's "%.17g"), and ZRANGE orders them as those values.
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

#define NOT_FLOAT "-ERR value is not a valid float\r\n"

/* The ZSCORE reply of a score strtod reads as s. */
static void score_reply(const char *s, char *out, size_t cap)
{
	char num[64];
	int n = snprintf(num, sizeof(num), "%.17g", strtod(s, NULL));
	snprintf(out, cap, "$%d\r\n%s\r\n", n, num);
}

static void test_zadd_scores(void **state)
{
	grove_test_cmd_t *f = *state;
	static const char *ok[] = {
		"0", "+0", "7", "+7", "-7", "007", "-000000000000042", "000000123456",
		"999999999999999", "-999999999999999", "100000000000000",
		"9999999999999999", "-12345678901234567", "123456789012345678901",
		"1.5", "-2.25", "1e3", "0x10", "12.", ".5",
	};
	char line[128], want[96];
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(line, sizeof(line), "ZADD z %s m%zu", ok[i], i);
		GROVE_EXPECT(f, line, ":1\r\n");
		snprintf(line, sizeof(line), "ZSCORE z m%zu", i);
		score_reply(ok[i], want, sizeof(want));
		GROVE_EXPECT(f, line, want);
	}
	/* -0: read back as 0 (as before the integer path: strtod's -0) */
	GROVE_EXPECT(f, "ZADD z -0 mz", ":1\r\n");
	GROVE_EXPECT(f, "ZSCORE z mz", "$1\r\n0\r\n");
	static const char *bad[] = { "", "-", "+", "1 ", " 1", "1a", "--1", "+-1", "1-", "12345x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const uint8_t *argv[4] = { (const uint8_t *)"ZADD", (const uint8_t *)"z",
					   (const uint8_t *)bad[i], (const uint8_t *)"bad" };
		size_t argl[4] = { 4, 1, strlen(bad[i]), 3 };
		assert_string_equal(grove_test_cmd_argv(f, 0, 4, argv, argl), NOT_FLOAT);
	}
	GROVE_EXPECT(f, "ZSCORE z bad", "$-1\r\n");
	/* the order of the values: -12345678901234567, -999999999999999, -42 */
	GROVE_EXPECT(f, "ZRANGE z 0 2", "*3\r\n$3\r\nm12\r\n$2\r\nm9\r\n$2\r\nm6\r\n");
	GROVE_EXPECT(f, "ZRANGEBYSCORE z 6.5 7.5", "*3\r\n$2\r\nm2\r\n$2\r\nm3\r\n$2\r\nm5\r\n");
}

/* ZADD's options (any case, before the first score; an argument of
 * another length is the score) and its pairs: up to 8 parse on the stack,
 * more into an allocation, every reply as Redis gives it. */
static void test_zadd_options_pairs(void **state)
{
	grove_test_cmd_t *f = *state;
	GROVE_EXPECT(f, "ZADD o Nx Ch 1 a 2 b", ":2\r\n");
	GROVE_EXPECT(f, "ZADD o nx 5 a", ":0\r\n");
	GROVE_EXPECT(f, "ZADD o XX CH 3 a 9 zz", ":1\r\n"); /* a changed, zz not added */
	GROVE_EXPECT(f, "ZADD o xx gt ch 2 a", ":0\r\n");
	GROVE_EXPECT(f, "ZADD o LT ch 2 a", ":1\r\n");
	GROVE_EXPECT(f, "ZADD o iNcR 10 b", "$2\r\n12\r\n");
	GROVE_EXPECT(f, "ZADD o 10 nx", ":1\r\n"); /* a score, then a member named nx */
	GROVE_EXPECT(f, "ZSCORE o nx", "$2\r\n10\r\n");
	GROVE_EXPECT(f, "ZADD o incr 1 a 2 b", "-ERR INCR option supports a single increment-element pair\r\n");
	GROVE_EXPECT(f, "ZADD o nx xx 1 a", "-ERR XX and NX options at the same time are not compatible\r\n");
	GROVE_EXPECT(f, "ZADD o gt lt 1 a", "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n");
	GROVE_EXPECT(f, "ZADD o nx 1", "-ERR syntax error\r\n");
	GROVE_EXPECT(f, "ZADD o 1 a 2", "-ERR syntax error\r\n");
	GROVE_EXPECT(f, "ZADD o nxx a", "-ERR value is not a valid float\r\n");
	/* 8 pairs (the stack), 9 and 20 (allocated), one bad score among them */
	char line[512];
	for (int pairs = 8; pairs <= 20; pairs += pairs == 8 ? 1 : 11) {
		int n = snprintf(line, sizeof(line), "ZADD p%d", pairs);
		for (int i = 0; i < pairs; i++)
			n += snprintf(line + n, sizeof(line) - (size_t)n, " %d m%d", i, i);
		char want[16];
		snprintf(want, sizeof(want), ":%d\r\n", pairs);
		GROVE_EXPECT(f, line, want);
		snprintf(line, sizeof(line), "ZCARD p%d", pairs);
		GROVE_EXPECT(f, line, want);
		snprintf(line + snprintf(line, sizeof(line), "ZADD q%d", pairs), 64, "%s", "");
		n = (int)strlen(line);
		for (int i = 0; i < pairs; i++)
			n += snprintf(line + n, sizeof(line) - (size_t)n, " %s m%d", i == pairs - 1 ? "x" : "1", i);
		GROVE_EXPECT(f, line, "-ERR value is not a valid float\r\n");
		snprintf(line, sizeof(line), "EXISTS q%d", pairs);
		GROVE_EXPECT(f, line, ":0\r\n"); /* nothing written */
	}
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, grove_test_cmd_setup, grove_test_cmd_teardown)
	const struct CMUnitTest tests[] = {
		T(test_zadd_scores),
		T(test_zadd_options_pairs),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
