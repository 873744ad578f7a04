/*
 * num.h - number codecs every layer shares: big-endian 64-bit fields (the
 * byte order that sorts as the number does: list positions, score and
 * counter payloads, cloud block keys) and Redis's strict decimal int64.
 */
#ifndef GROVE_NUM_H
#define GROVE_NUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline uint64_t grove_be64_get(const uint8_t *p)
{
	uint64_t x = 0;
	for (int i = 0; i < 8; i++)
		x = x << 8 | p[i];
	return x;
}

static inline void grove_be64_put(uint8_t *p, uint64_t x)
{
	for (int i = 7; i >= 0; i--, x >>= 8)
		p[i] = (uint8_t)x;
}

/* s[0..n) as a decimal int64 by Redis's string2ll rules: an optional '-',
 * digits, no '+', spaces or leading zeros ("-0" refused), in range. */
bool grove_parse_i64(const uint8_t *s, size_t n, int64_t *out);

#endif
