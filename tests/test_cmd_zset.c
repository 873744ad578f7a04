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

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, grove_test_cmd_setup, grove_test_cmd_teardown)
	const struct CMUnitTest tests[] = {
		T(test_zadd_scores),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
