/*
 * hlc.h - hybrid logical clock (Kulkarni et al.).
 *
 * A timestamp is 64 bits: the high 48 are physical milliseconds since the
 * Unix epoch, the low 16 a logical counter.  Ties between equal timestamps
 * are broken by node id (compared bytewise) wherever two events meet, so any
 * two distinct events are totally ordered.
 *
 * Physical time comes from an injected clock function: this module reads no
 * clock itself (tests and the simulator pass fake ones).  The struct is
 * caller-owned and not thread-safe; storage/ serializes access to it.
 */
#ifndef GROVE_HLC_H
#define GROVE_HLC_H

#include <stdint.h>

#include "grove/clock.h"
#include "grove/error.h"

#define GROVE_HLC_LOGICAL_BITS 16
#define GROVE_HLC_LOGICAL_MAX 0xffffULL
#define GROVE_HLC_PHYS_MAX ((1ULL << 48) - 1)
#define GROVE_HLC_MAX_OFFSET_MS_DEFAULT 500
#define GROVE_HLC_MAX_OFFSET_MS_MAX (7ULL * 24 * 3600 * 1000) /* larger settings are capped */

typedef struct grove_hlc {
	uint64_t last;          /* highest timestamp issued or observed */
	grove_clock_fn clock;
	void *clock_ctx;
	uint64_t max_offset_ms; /* remote timestamps further ahead are rejected */
	uint64_t rejected;      /* count of remote timestamps rejected */
} grove_hlc_t;

static inline uint64_t grove_hlc_make(uint64_t phys_ms, uint64_t logical)
{
	return (phys_ms << GROVE_HLC_LOGICAL_BITS) | (logical & GROVE_HLC_LOGICAL_MAX);
}
static inline uint64_t grove_hlc_phys(uint64_t ts) { return ts >> GROVE_HLC_LOGICAL_BITS; }
static inline uint64_t grove_hlc_logical(uint64_t ts) { return ts & GROVE_HLC_LOGICAL_MAX; }

/* Initializes with last = floor (a persisted high-water mark, or 0). */
void grove_hlc_init(grove_hlc_t *hlc, grove_clock_fn clock, void *clock_ctx,
		    uint64_t max_offset_ms, uint64_t floor);

/* A new local timestamp, strictly greater than every one issued or observed.
 * When the logical counter is full, the physical part advances instead of
 * wrapping. */
uint64_t grove_hlc_now(grove_hlc_t *hlc);

/* Observes a remote timestamp.  Returns GROVE_ECLOCK_OFFSET (and counts it,
 * leaving the clock unchanged) when remote is more than max_offset_ms ahead
 * of local physical time, or sits in the last representable millisecond;
 * otherwise 0, with last >= remote afterwards. */
int grove_hlc_update(grove_hlc_t *hlc, uint64_t remote) GROVE_MUST_CHECK;

#endif
