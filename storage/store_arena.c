/*
 * store_arena.c - the point cache's entry arena (store_int.h): the memory
 * of the cache's entries (key and value bytes), so that a hit in a cache
 * larger than the TLB's reach does not pay a page walk for its entry as
 * it did when every entry was a malloc'd chunk on 4 KiB pages.
 *
 * One region reserved when the cache is enabled (its pages come as they
 * are first touched), asked to be backed with 2 MiB pages from the start.
 * Slots are carved from it in order (an atomic bump offset, so the
 * resident part is the carved part rounded up to one 2 MiB page) in
 * sizes of GROVE_STORE_ARENA_ALIGN bytes; a freed slot goes to a free
 * list of its size, one per list owner (the cache's shards), which a
 * later allocation of the same size from that owner takes first.  When
 * neither the list nor the region has a slot, the allocation fails and
 * the caller falls back to malloc; a pointer outside the region is not
 * the arena's (grove_store__arena_free says so).  Free slots are the
 * arena's allocator overhead, as free chunks are malloc's: the region
 * never grows.  Under AddressSanitizer a slot's bytes past those asked
 * for and a freed slot are poisoned, so an overflow or a use after free
 * of an entry is still caught (the part not carved yet is left alone: no
 * pointer reaches it, and poisoning it would write a shadow of the whole
 * region at every enable).
 */
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "storage/store_int.h"

#define REGION_TRIES 8 /* halvings of a region the system refuses */

#if defined(__SANITIZE_ADDRESS__)
#define ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_ASAN 1
#endif
#endif
#ifdef ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

_Static_assert(GROVE_STORE_ARENA_ALIGN >= sizeof(void *) &&
		       (GROVE_STORE_ARENA_ALIGN & (GROVE_STORE_ARENA_ALIGN - 1)) == 0,
	       "a slot holds a free-list link and is a power of two");

int grove_store__arena_init(grove_store_arena_t *a, size_t bytes)
{
	memset(a, 0, sizeof(*a));
	size_t size = bytes & ~(GROVE_HUGE_PAGE_BYTES - 1);
	if (size > GROVE_STORE_ARENA_BYTES_MAX)
		size = GROVE_STORE_ARENA_BYTES_MAX;
	for (int i = 0; i < REGION_TRIES && size >= GROVE_HUGE_PAGE_BYTES && !a->mem; i++) {
		a->base = grove_alloc_huge_aligned(size, false, &a->mem);
		if (!a->mem)
			size = (size / 2) & ~(GROVE_HUGE_PAGE_BYTES - 1);
	}
	if (!a->mem)
		return size < GROVE_HUGE_PAGE_BYTES ? 0 : GROVE_ENOMEM; /* a small budget: no arena */
	a->size = size;
	atomic_init(&a->used, 0);
	/* new faults: huge pages (a kernel without them refuses: 4 KiB) */
	(void)madvise(a->base, a->size, MADV_HUGEPAGE);
	return 0;
}

void grove_store__arena_close(grove_store_arena_t *a)
{
	if (a->mem)
		UNPOISON(a->base, grove_store__arena_carved(a));
	grove_free(a->mem);
	memset(a, 0, sizeof(*a));
}

/* The slot size of n bytes and its class (free list index). */
static size_t slot_bytes(size_t n)
{
	return (n + GROVE_STORE_ARENA_ALIGN - 1) & ~(size_t)(GROVE_STORE_ARENA_ALIGN - 1);
}

static size_t slot_class(size_t n)
{
	size_t c = slot_bytes(n) / GROVE_STORE_ARENA_ALIGN - 1;
	GROVE_ASSERT(c < GROVE_STORE_ARENA_CLASSES);
	return c;
}

void *grove_store__arena_alloc(grove_store_arena_t *a, grove_store_arena_list_t *l, size_t n)
{
	GROVE_ASSERT(n >= 1 && n <= GROVE_STORE_ARENA_SLOT_MAX);
	if (!a->mem)
		return NULL;
	size_t cl = slot_class(n), sz = slot_bytes(n);
	uint8_t *p = l->head[cl];
	if (p) {
		UNPOISON(p, sz);
		memcpy(&l->head[cl], p, sizeof(void *));
		POISON(p + n, sz - n);
		return p;
	}
	/* a racing carve may pass the end by a slot: the offset stays
	 * beyond it, and every later carve fails */
	if (atomic_load_explicit(&a->used, memory_order_relaxed) >= a->size)
		return NULL;
	size_t off = atomic_fetch_add_explicit(&a->used, sz, memory_order_relaxed);
	if (off + sz > a->size)
		return NULL;
	p = a->base + off;
	POISON(p + n, sz - n);
	return p;
}

bool grove_store__arena_free(grove_store_arena_t *a, grove_store_arena_list_t *l, void *p,
			     size_t n)
{
	if (!grove_store__arena_holds(a, p))
		return false;
	GROVE_ASSERT(n >= 1 && n <= GROVE_STORE_ARENA_SLOT_MAX);
	size_t cl = slot_class(n);
	GROVE_ASSERT(((uint8_t *)p - a->base) % GROVE_STORE_ARENA_ALIGN == 0);
	UNPOISON(p, sizeof(void *));
	memcpy(p, &l->head[cl], sizeof(void *));
	l->head[cl] = p;
	POISON(p, slot_bytes(n));
	return true;
}

bool grove_store__arena_holds(const grove_store_arena_t *a, const void *p)
{
	uintptr_t u = (uintptr_t)p, b = (uintptr_t)a->base;
	return a->mem && u >= b && u < b + a->size;
}

size_t grove_store__arena_carved(grove_store_arena_t *a)
{
	size_t used = atomic_load_explicit(&a->used, memory_order_relaxed);
	return used < a->size ? used : a->size;
}
