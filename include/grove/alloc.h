/*
 * alloc.h - the allocation seam.
 *
 * All heap allocation in libgrove goes through these wrappers so that tests
 * can fail the Nth allocation (SQLite-style fault injection) and check that
 * every error path frees what it took.  In production they are plain
 * malloc/calloc/realloc/free.  grove_free(NULL) is a no-op.
 *
 * The failure countdown is process-global and not thread-safe by design:
 * only single-threaded tests arm it.
 */
#ifndef GROVE_ALLOC_H
#define GROVE_ALLOC_H

#include <stddef.h>

void *grove_malloc(size_t size_bytes);
void *grove_calloc(size_t count, size_t size_bytes);
void *grove_realloc(void *ptr, size_t size_bytes);
void grove_free(void *ptr);

/* Test seam: the nth allocation from now (1 = the next one) and every one
 * after it fails until grove_alloc_fail_reset().  n = 0 disarms. */
void grove_alloc_fail_after(long n);
void grove_alloc_fail_reset(void);

#endif
