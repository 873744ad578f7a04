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

#include <stdbool.h>
#include <stddef.h>

void *grove_malloc(size_t size_bytes);
void *grove_calloc(size_t count, size_t size_bytes);
void *grove_realloc(void *ptr, size_t size_bytes);
void grove_free(void *ptr);

/* Memory that may be backed by 2 MiB pages: size_bytes starting on a
 * GROVE_HUGE_PAGE_BYTES boundary, inside a block taken with grove_malloc
 * (zeroed: grove_calloc) with the room to align.  *block gets what to
 * grove_free; NULL (and *block NULL) when out of memory.  Asking the
 * kernel for huge pages (madvise) is the caller's: when is its policy. */
#define GROVE_HUGE_PAGE_BYTES ((size_t)2 << 20)
void *grove_alloc_huge_aligned(size_t size_bytes, bool zeroed, void **block);

/* Test seam: the nth allocation from now (1 = the next one) and every one
 * after it fails until grove_alloc_fail_reset().  n = 0 disarms. */
void grove_alloc_fail_after(long n);
void grove_alloc_fail_reset(void);

#endif
