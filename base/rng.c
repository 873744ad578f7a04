/*
 * rng.c - xoshiro256** (Blackman & Vigna), seeded through splitmix64 so that
 * any 64-bit seed, including 0, gives a well-mixed state.
 */
#include "base/rng.h"
#include "base/assert.h"

static uint64_t rng_splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void grove_rng_seed(grove_rng_t *rng, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		rng->s[i] = rng_splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t grove_rng_next(grove_rng_t *rng)
{
	uint64_t *s = rng->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

uint64_t grove_rng_below(grove_rng_t *rng, uint64_t bound)
{
	GROVE_ASSERT(bound > 0);
	uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
	uint64_t x;
	do
		x = grove_rng_next(rng);
	while (x >= limit);
	return x % bound;
}

double grove_rng_unit(grove_rng_t *rng)
{
	return (double)(grove_rng_next(rng) >> 11) * 0x1.0p-53;
}
