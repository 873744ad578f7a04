/*
 * alloc.c - allocation wrappers with a fault-injection countdown.
 */
#include <stdint.h>
#include <stdlib.h>

#include "grove/alloc.h"

static long alloc_countdown; /* 0 = disarmed; test seam only */

static int alloc_should_fail(void)
{
	if (alloc_countdown <= 0)
		return 0;
	if (alloc_countdown == 1)
		return 1; /* stay at 1: every later allocation fails too */
	alloc_countdown--;
	return 0;
}

void *grove_malloc(size_t size_bytes)
{
	return alloc_should_fail() ? NULL : malloc(size_bytes ? size_bytes : 1);
}

void *grove_calloc(size_t count, size_t size_bytes)
{
	if (alloc_should_fail())
		return NULL;
	return calloc(count ? count : 1, size_bytes ? size_bytes : 1);
}

void *grove_realloc(void *ptr, size_t size_bytes)
{
	return alloc_should_fail() ? NULL : realloc(ptr, size_bytes ? size_bytes : 1);
}

void grove_free(void *ptr)
{
	free(ptr);
}

void *grove_alloc_huge_aligned(size_t size_bytes, bool zeroed, void **block)
{
	size_t n = size_bytes + GROVE_HUGE_PAGE_BYTES;
	*block = zeroed ? grove_calloc(1, n) : grove_malloc(n);
	if (!*block)
		return NULL;
	uintptr_t at = ((uintptr_t)*block + GROVE_HUGE_PAGE_BYTES - 1) & ~(uintptr_t)(GROVE_HUGE_PAGE_BYTES - 1);
	return (void *)at;
}

void grove_alloc_fail_after(long n)
{
	alloc_countdown = n;
}

void grove_alloc_fail_reset(void)
{
	alloc_countdown = 0;
}
