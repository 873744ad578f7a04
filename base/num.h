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
#include <string.h>

/* Big-endian u64 loads and stores.  GCC at -O2 compiled the byte loops
 * these were as loops (about 50 instructions each, 4 to 8 per ZADD on the
 * score index's keys and the rank cache's prefixes); one unaligned load
 * or store and a byte swap where the host is little-endian. */
static inline uint64_t grove_be64_get(const uint8_t *p)
{
	uint64_t x = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(&x, p, 8);
	x = __builtin_bswap64(x);
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	memcpy(&x, p, 8);
#else
	for (int i = 0; i < 8; i++)
		x = x << 8 | p[i];
#endif
	return x;
}

static inline void grove_be64_put(uint8_t *p, uint64_t x)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	x = __builtin_bswap64(x);
	memcpy(p, &x, 8);
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	memcpy(p, &x, 8);
#else
	for (int i = 7; i >= 0; i--, x >>= 8)
		p[i] = (uint8_t)x;
#endif
}

/* s[0..n) as a decimal int64 by Redis's string2ll rules: an optional '-',
 * digits, no '+', spaces or leading zeros ("-0" refused), in range. */
bool grove_parse_i64(const uint8_t *s, size_t n, int64_t *out);

#endif
