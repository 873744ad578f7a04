/*
 * store_int.h - what store.c (the dispatch) and store_txn.c (the
 * transaction overlay of store.h) share: the owner's read paths, called by
 * store.c only when the calling thread owns the store's open transaction;
 * and the point cache's hooks in store.c's write paths, its entry arena
 * and its key hash.
 */
#ifndef GROVE_STORE_INT_H
#define GROVE_STORE_INT_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "storage/store.h"

/* snap NULL or one of the transaction's: the staged state over the
 * backend's; any other snapshot: the backend's as of it. */
int grove_store__txn_get(grove_store_t *s, const grove_snapshot_t *snap, const void *key,
			 size_t klen, uint8_t **val, size_t *vlen) GROVE_MUST_CHECK;
int grove_store__txn_snapshot_create(grove_store_t *s, grove_snapshot_t **out) GROVE_MUST_CHECK;
/* Releases snap if it is one of the transaction's (true), else false. */
bool grove_store__txn_snapshot_release(grove_store_t *s, grove_snapshot_t *snap);
int grove_store__txn_iter_create(grove_store_t *s, const grove_snapshot_t *snap, bool hot,
				 grove_iter_t **out) GROVE_MUST_CHECK;
/* The backend's own iterator (hot: for short walks), bypassing the overlay. */
int grove_store__backend_iter(grove_store_t *s, const grove_snapshot_t *snap, bool hot,
			      grove_iter_t **out) GROVE_MUST_CHECK;
/* grove_store_close: frees a transaction left open. */
void grove_store__txn_free(grove_store_t *s);

/* The point cache (store_cache.c), for store.c's write paths: whether b
 * holds a cached key; the write mutex held across the backend's write and
 * grove_store__cache_apply (written: the backend wrote b; false: it
 * failed, and b's cached keys are dropped); freeing at close.  One write's
 * hashes: touches notes the first GROVE_STORE_CACHE_WRITE_HASHES cached
 * keys' hashes in op order, and apply, given the same batch, takes them
 * instead of hashing each key again. */
#define GROVE_STORE_CACHE_WRITE_HASHES 64
typedef struct grove_store_cache_hashes {
	uint64_t h[GROVE_STORE_CACHE_WRITE_HASHES];
	size_t n, used;
} grove_store_cache_hashes_t;
bool grove_store__cache_touches(grove_store_t *s, const grove_batch_t *b,
				grove_store_cache_hashes_t *hs);
void grove_store__cache_write_lock(grove_store_t *s);
void grove_store__cache_write_unlock(grove_store_t *s);
void grove_store__cache_apply(grove_store_t *s, const grove_batch_t *b, bool written,
			      grove_store_cache_hashes_t *hs);
void grove_store__cache_free(grove_store_t *s);

/* The point cache's entry arena (store_arena.c): slots of up to
 * GROVE_STORE_ARENA_SLOT_MAX bytes, in steps of GROVE_STORE_ARENA_ALIGN,
 * carved in order from one region of 2 MiB pages reserved at init (bytes
 * rounded down to 2 MiB, at most GROVE_STORE_ARENA_BYTES_MAX; under 2 MiB:
 * no arena, every alloc fails).  A freed slot goes to the free list l of
 * the caller, which a later alloc of its size through l takes first; l is
 * the caller's to lock (the cache's shard lock), the carving is atomic.
 * alloc: NULL when neither l nor the region has a slot (the caller
 * mallocs instead); free: false when p is not the arena's (the caller
 * frees it).  n: the bytes asked for, the same at alloc and free.  close
 * frees the region and every slot in it at once. */
#define GROVE_STORE_ARENA_ALIGN 16
#define GROVE_STORE_ARENA_SLOT_MAX (GROVE_STORE_CACHE_REC_MAX + GROVE_STORE_ARENA_ALIGN)
#define GROVE_STORE_ARENA_CLASSES (GROVE_STORE_ARENA_SLOT_MAX / GROVE_STORE_ARENA_ALIGN)
#define GROVE_STORE_ARENA_BYTES_MAX ((size_t)4 << 30)
typedef struct grove_store_arena {
	void *mem; /* the malloc'd region, base its first 2 MiB boundary */
	uint8_t *base;
	size_t size;
	atomic_size_t used; /* bytes carved from base (may pass size) */
} grove_store_arena_t;
typedef struct grove_store_arena_list {
	void *head[GROVE_STORE_ARENA_CLASSES];
} grove_store_arena_list_t;
int grove_store__arena_init(grove_store_arena_t *a, size_t bytes) GROVE_MUST_CHECK;
void grove_store__arena_close(grove_store_arena_t *a);
void *grove_store__arena_alloc(grove_store_arena_t *a, grove_store_arena_list_t *l, size_t n);
bool grove_store__arena_free(grove_store_arena_t *a, grove_store_arena_list_t *l, void *p,
			     size_t n);
bool grove_store__arena_holds(const grove_store_arena_t *a, const void *p);
/* Bytes carved so far (live and free slots), at most the region. */
size_t grove_store__arena_carved(grove_store_arena_t *a);

/* A seeded 64-bit hash of a record key: the point cache's sets, and the
 * last op per key of a list write (store.c).  No correctness rests on it
 * (keys are compared whole); the random seed keeps chosen keys from
 * piling up.  8 bytes a step (multiply, xor-shift), then a final mix:
 * about a tenth of SipHash's cost on a short key. */
static inline uint64_t grove_store__key_hash(uint64_t seed, const void *key, size_t klen)
{
	const uint8_t *p = key;
	uint64_t h = seed ^ (klen * 0x9e3779b97f4a7c15ull);
	for (; klen >= 8; p += 8, klen -= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		h = (h ^ (w * 0xbf58476d1ce4e5b9ull)) * 0x94d049bb133111ebull;
		h ^= h >> 29;
	}
	uint64_t t = 0;
	memcpy(&t, p, klen);
	h = (h ^ (t * 0xbf58476d1ce4e5b9ull)) * 0x94d049bb133111ebull;
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ull;
	return h ^ (h >> 32);
}

#endif
