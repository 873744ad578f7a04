/*
 * assert.h - invariant assertions that stay on in release builds.
 *
 * A failed GROVE_ASSERT is a bug in Grove, never a reaction to input: hostile
 * bytes, I/O errors and misbehaving peers return error codes or counted
 * drops instead.  A fuzzer must never reach one.
 */
#ifndef GROVE_ASSERT_H
#define GROVE_ASSERT_H

#include <stdio.h>
#include <stdlib.h>

#define GROVE_ASSERT(cond)                                                    \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "grove: assertion failed: %s (%s:%d)\n", \
				#cond, __FILE__, __LINE__);                   \
			abort();                                              \
		}                                                             \
	} while (0)

#endif
