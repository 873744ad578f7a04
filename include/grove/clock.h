/*
 * clock.h - the clock source: a function pointer that returns physical
 * wall-clock milliseconds, and the one real implementation.
 *
 * Code below node/ never reads a clock itself: it is handed a grove_clock_fn
 * (the HLC, the db, the protocol cores take "now" as an argument), so tests
 * and the simulator drive time.  grove_clock_system_ms is the production
 * value, passed in by node/, tools/ and embedding programs.
 */
#ifndef GROVE_CLOCK_H
#define GROVE_CLOCK_H

#include <stdint.h>

/* Returns physical wall-clock milliseconds since the Unix epoch. */
typedef uint64_t (*grove_clock_fn)(void *ctx);

/* CLOCK_REALTIME in milliseconds; ctx is ignored. */
uint64_t grove_clock_system_ms(void *ctx);

#endif
