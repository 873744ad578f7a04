/*
 * clock.c - the system wall clock (see grove/clock.h): the only place in
 * libgrove below node/ that reads time.
 */
#include <time.h>

#include "grove/clock.h"

uint64_t grove_clock_system_ms(void *ctx)
{
	(void)ctx;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}
