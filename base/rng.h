/*
 * rng.h - a small seeded random source (xoshiro256**, seeded by splitmix64).
 *
 * Sans-IO code never calls rand() or reads /dev/urandom: it is handed a
 * grove_rng_t, so tests and the simulator replay any run from its seed.
 * Not cryptographic; keys and nonces come from libsodium.
 */
#ifndef GROVE_RNG_H
#define GROVE_RNG_H

#include <stdint.h>

typedef struct grove_rng {
	uint64_t s[4];
} grove_rng_t;

void grove_rng_seed(grove_rng_t *rng, uint64_t seed);
uint64_t grove_rng_next(grove_rng_t *rng);
/* Uniform in [0, bound); bound must be > 0.  Unbiased (rejection). */
uint64_t grove_rng_below(grove_rng_t *rng, uint64_t bound);
/* Uniform double in [0, 1). */
double grove_rng_unit(grove_rng_t *rng);

#endif
