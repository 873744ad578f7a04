/*
 * hlc.c - hybrid logical clock (Kulkarni, Demirbas et al., "Logical
 * Physical Clocks", 2014).
 *
 * last holds the highest timestamp issued or observed.  now() takes the
 * greater of physical time and last, ticking the logical part when physical
 * time has not moved past last; update() does the same with a remote
 * timestamp as a third candidate.  When the logical part is full the
 * physical part advances by one millisecond instead of wrapping, so
 * timestamps stay strictly increasing even under a stuck or backward clock.
 * The clock is read only through the injected function (grove/clock.h).
 */
#include "base/assert.h"
#include "grove/hlc.h"

void grove_hlc_init(grove_hlc_t *hlc, grove_clock_fn clock, void *clock_ctx,
		    uint64_t max_offset_ms, uint64_t floor)
{
	GROVE_ASSERT(clock != NULL);
	hlc->last = floor;
	hlc->clock = clock;
	hlc->clock_ctx = clock_ctx;
	/* capped, so no accepted remote timestamp can reach the last millisecond */
	hlc->max_offset_ms = max_offset_ms > GROVE_HLC_MAX_OFFSET_MS_MAX ? GROVE_HLC_MAX_OFFSET_MS_MAX
									 : max_offset_ms;
	hlc->rejected = 0;
}

static uint64_t hlc_phys_now(grove_hlc_t *hlc)
{
	uint64_t pt = hlc->clock(hlc->clock_ctx);
	return pt > GROVE_HLC_PHYS_MAX ? GROVE_HLC_PHYS_MAX : pt;
}

/* The successor of (phys, logical): logical + 1, or the next millisecond. */
static uint64_t hlc_tick(uint64_t phys, uint64_t logical)
{
	if (logical < GROVE_HLC_LOGICAL_MAX)
		return grove_hlc_make(phys, logical + 1);
	GROVE_ASSERT(phys < GROVE_HLC_PHYS_MAX); /* year 10889 */
	return grove_hlc_make(phys + 1, 0);
}

uint64_t grove_hlc_now(grove_hlc_t *hlc)
{
	uint64_t pt = hlc_phys_now(hlc);
	uint64_t lp = grove_hlc_phys(hlc->last);
	if (pt > lp)
		hlc->last = grove_hlc_make(pt, 0);
	else
		hlc->last = hlc_tick(lp, grove_hlc_logical(hlc->last));
	return hlc->last;
}

int grove_hlc_update(grove_hlc_t *hlc, uint64_t remote)
{
	uint64_t pt = hlc_phys_now(hlc);
	uint64_t rp = grove_hlc_phys(remote), lp = grove_hlc_phys(hlc->last);
	if ((rp > pt && rp - pt > hlc->max_offset_ms) || rp == GROVE_HLC_PHYS_MAX) {
		hlc->rejected++;
		return GROVE_ECLOCK_OFFSET;
	}
	uint64_t top = pt > lp ? pt : lp;
	top = rp > top ? rp : top;
	if (top == pt && top != lp && top != rp) {
		hlc->last = grove_hlc_make(pt, 0);
		return 0;
	}
	/* the largest logical part among the candidates at the top millisecond */
	uint64_t l = 0;
	if (top == lp)
		l = grove_hlc_logical(hlc->last);
	if (top == rp && grove_hlc_logical(remote) > l)
		l = grove_hlc_logical(remote);
	hlc->last = hlc_tick(top, l);
	return 0;
}
