/*
 * glob.c - the glob matcher of glob.h: greedy matching with backtracking
 * to the last '*' only, which is exact for glob patterns.
 */
#include <stdint.h>

#include "storage/glob.h"

/* Matches one byte c against the class starting after '[' at p[*i];
 * advances *i past the closing ']' (or to the end when unterminated). */
static bool class_match(const uint8_t *p, size_t plen, size_t *i, uint8_t c)
{
	size_t j = *i;
	bool negate = j < plen && (p[j] == '^' || p[j] == '!');
	bool hit = false;
	if (negate)
		j++;
	for (bool first = true; j < plen && (first || p[j] != ']'); first = false) {
		uint8_t lo = p[j];
		if (lo == '\\' && j + 1 < plen)
			lo = p[++j];
		uint8_t hi = lo;
		if (j + 2 < plen && p[j + 1] == '-' && p[j + 2] != ']') {
			hi = p[j + 2];
			if (hi == '\\' && j + 3 < plen)
				hi = p[++j + 2];
			j += 2;
		}
		if (lo > hi) {
			uint8_t t = lo;
			lo = hi;
			hi = t;
		}
		hit |= c >= lo && c <= hi;
		j++;
	}
	*i = j < plen ? j + 1 : j;
	return hit != negate;
}

bool grove_glob_match(const void *pattern, size_t plen, const void *str, size_t slen)
{
	const uint8_t *p = pattern, *s = str;
	size_t pi = 0, si = 0, star_p = SIZE_MAX, star_s = 0;
	while (si < slen) {
		if (pi < plen && p[pi] == '*') {
			star_p = ++pi;
			star_s = si;
			continue;
		}
		if (pi < plen) {
			size_t next = pi + 1;
			bool ok;
			if (p[pi] == '?') {
				ok = true;
			} else if (p[pi] == '[') {
				ok = class_match(p, plen, &next, s[si]);
			} else if (p[pi] == '\\' && pi + 1 < plen) {
				ok = p[pi + 1] == s[si];
				next = pi + 2;
			} else {
				ok = p[pi] == s[si];
			}
			if (ok) {
				pi = next;
				si++;
				continue;
			}
		}
		if (star_p == SIZE_MAX)
			return false;
		pi = star_p; /* let the last star absorb one more byte */
		si = ++star_s;
	}
	while (pi < plen && p[pi] == '*')
		pi++;
	return pi == plen;
}
