/*
 * num.c - Redis's strict decimal int64 (num.h).
 */
#include <limits.h>

#include "base/num.h"

bool grove_parse_i64(const uint8_t *s, size_t n, int64_t *out)
{
	if (n == 0 || n > 20)
		return false;
	size_t i = s[0] == '-';
	bool neg = i == 1;
	if (i == n || (s[i] == '0' && (n - i > 1 || neg)))
		return false;
	unsigned long long v = 0, lim = neg ? (unsigned long long)LLONG_MAX + 1 : LLONG_MAX;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned d = s[i] - '0';
		if (v > (lim - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return true;
}
