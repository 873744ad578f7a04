/*
 * store_cache.c - a store's point-read cache (store.h "point cache"): the
 * latest committed record of the keys under a few prefix bytes, kept in
 * memory so that a point read of one of them (grove_store_read_latest)
 * skips the backend's lookup, whose cost grows with the store (LevelDB:
 * both memtables, every level's filter and index, the block cache).
 *
 * Exactness.  Every write of the store goes through store.c, which calls
 * grove_store__cache_apply after the backend wrote the batch, under the
 * cache's write mutex held across both: entries change in the order the
 * backend applied the writes.  A put replaces the key's entry (if the
 * cache holds one), a delete drops it; both bump the shard's generation.
 * Writes insert nothing: the cache is filled by reads.  A read
 * that misses notes the generation, reads the backend without a snapshot
 * and inserts what it read only if the generation is unchanged: a write
 * that reached the backend after the read began has bumped it, and the
 * write's own apply leaves its value in place.  Absent keys are cached
 * too (a negative entry), under the same rule.  A reader that needs
 * several records of one state (a key's head, metadata and element) takes
 * the write sequence before and after (grove_store_read_begin/_end): odd
 * while a write of cached keys runs, so an unchanged even value means no
 * write began or ran between, and every record read belongs to the state
 * the last write left.  Reads of the thread that
 * owns the store's transaction bypass the cache (its staged writes are not
 * committed); the transaction's batch updates the cache when written.
 *
 * Memory.  GROVE_STORE_CACHE_SHARDS shards, each a mutex, a generation and
 * sets of GROVE_STORE_CACHE_WAYS entries (a seeded hash of the key picks
 * shard and set); a read's fill replaces the least recently used way of
 * its set.  The bytes of all entries (header, key, value, allocator
 * overhead) stay within the budget given at enable: a fill that would
 * pass it replaces a way of its set or is not made.  A record over GROVE_STORE_CACHE_REC_MAX bytes is
 * never cached.  The shards' sets are one region reserved at enable (its
 * pages come as they are first touched), which the kernel is asked to
 * back with 2 MiB pages once most of it is touched (table_huge): a hit
 * in a large cache then pays no page walk for its set.  The entries come
 * from an arena on 2 MiB pages (store_arena.c: the rest of the budget,
 * carved in order, freed slots reused by their shard's later entries of
 * their size), so a hit pays no page walk for its entry either; when the
 * arena has no slot of the size (all carved, the free ones of other
 * sizes), an entry is malloc'd as before.  The budget counts entries as
 * before (header, key, value, allocator overhead): an arena slot is at
 * most the bytes charged for it, so the arena's live slots fit in it.
 *
 * Prefetch.  A reader that knows its next reads (a client's pipeline, the
 * element after a key's head) brings their sets, then their entries,
 * toward the CPU ahead of them (grove_store_read_hint, _prefetch_slots,
 * _prefetch_entries): the
 * loads of a hit in a cache larger than the CPU's then overlap other work.
 */
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "storage/store_int.h"

#define ENTRY_OVERHEAD_BYTES 16 /* the allocator's, estimated */
#define SETS_MAX ((size_t)1 << 20) /* per shard */
#define NEAR_ENTRY_BYTES 96 /* room a neighbour's fill wants, estimated */
#define NEAR_HELD_RUN 16    /* neighbours held in a row that end a walk */
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25 /* Linux 6.1; older kernels refuse it (EINVAL) */
#endif

/* 5 bytes of header (its set's tag holds 32 bits of the key's hash). */
typedef struct sc_entry {
	uint16_t klen;
	uint16_t vlen;
	bool absent; /* a negative entry: the key has no record */
	uint8_t data[]; /* key, then value */
} sc_entry_t;
_Static_assert(GROVE_STORE_CACHE_REC_MAX <= UINT16_MAX, "entry lengths: 16 bits");

/* One set: a tag (the hash's high half) and a use tick per way beside
 * the entry pointers, so a lookup touches the entry it finds only. */
typedef struct sc_set {
	uint32_t tag[GROVE_STORE_CACHE_WAYS];
	uint32_t tick[GROVE_STORE_CACHE_WAYS];
	sc_entry_t *e[GROVE_STORE_CACHE_WAYS];
} sc_set_t;

_Static_assert(sizeof(sc_set_t) % 64 == 0, "a set: whole cache lines");

typedef struct sc_shard {
	pthread_mutex_t mu;
	uint64_t gen;
	uint32_t tick;
	sc_set_t *sets; /* c->sets of them: its slice of c->table */
	bool used;      /* an entry was put: the close walks its sets */
	uint64_t hits, misses;
	grove_store_arena_list_t free; /* its freed arena slots */
} __attribute__((aligned(64))) sc_shard_t;

struct grove_store_cache {
	bool prefix[256]; /* the first key bytes whose records are kept */
	size_t bytes_max;
	size_t sets; /* per shard, a power of two */
	/* every shard's sets, one region aligned to GROVE_HUGE_PAGE_BYTES inside
	 * table_mem: reserved at enable, its pages come as they are first
	 * touched (an unused cache holds no table) */
	void *table_mem;
	sc_set_t *table;
	size_t table_bytes;
	atomic_bool table_huge; /* table_collapse ran */
	grove_store_arena_t arena; /* the entries' memory (store_arena.c) */
	atomic_size_t bytes;
	atomic_size_t entries;
	atomic_uint_fast64_t evictions;
	pthread_mutex_t wmu; /* held across a backend write and its apply */
	/* bumped (under wmu) before a backend write of cached keys and after
	 * its apply: odd while one runs (grove_store_read_begin/_end) */
	atomic_uint_fast64_t wseq;
	uint64_t seed;
	sc_shard_t shard[GROVE_STORE_CACHE_SHARDS];
};

_Static_assert((GROVE_STORE_CACHE_SHARDS & (GROVE_STORE_CACHE_SHARDS - 1)) == 0,
	       "shards: a power of two");

int grove_store_cache_enable(grove_store_t *s, const char *prefixes, size_t bytes_max)
{
	GROVE_ASSERT(s->cache == NULL && prefixes && prefixes[0]);
	if (bytes_max == 0)
		return 0;
	grove_store_cache_t *c = grove_calloc(1, sizeof(*c));
	if (!c)
		return GROVE_ENOMEM;
	/* slot tables of at most a quarter of the budget (the largest power
	 * of two of sets per shard: about 1.5 ways per entry the rest holds,
	 * in sets of 16 so that few overflow: doc/storage_format.md); they
	 * count in the budget from the start */
	size_t table_set = GROVE_STORE_CACHE_SHARDS * sizeof(sc_set_t);
	c->sets = 1;
	while (c->sets < SETS_MAX && 2 * c->sets * table_set <= bytes_max / 4)
		c->sets <<= 1;
	c->table_bytes = c->sets * GROVE_STORE_CACHE_SHARDS * sizeof(sc_set_t);
	c->table = grove_alloc_huge_aligned(c->table_bytes, true, &c->table_mem);
	if (!c->table) {
		grove_free(c);
		return GROVE_ENOMEM;
	}
	/* the entries' arena: the budget the table leaves */
	if (grove_store__arena_init(&c->arena, bytes_max - c->table_bytes) != 0) {
		grove_free(c->table_mem);
		grove_free(c);
		return GROVE_ENOMEM;
	}
	for (int i = 0; i < GROVE_STORE_CACHE_SHARDS; i++)
		c->shard[i].sets = c->table + (size_t)i * c->sets;
	for (const char *p = prefixes; *p; p++)
		c->prefix[(uint8_t)*p] = true;
	c->bytes_max = bytes_max;
	atomic_init(&c->bytes, c->sets * GROVE_STORE_CACHE_SHARDS * sizeof(sc_set_t));
	randombytes_buf(&c->seed, sizeof(c->seed));
	pthread_mutex_init(&c->wmu, NULL);
	for (int i = 0; i < GROVE_STORE_CACHE_SHARDS; i++)
		pthread_mutex_init(&c->shard[i].mu, NULL);
	s->cache = c;
	return 0;
}

void grove_store__cache_free(grove_store_t *s)
{
	grove_store_cache_t *c = s->cache;
	if (!c)
		return;
	for (int i = 0; i < GROVE_STORE_CACHE_SHARDS; i++) {
		sc_shard_t *sh = &c->shard[i];
		for (size_t j = 0; sh->used && j < c->sets; j++)
			for (int w = 0; w < GROVE_STORE_CACHE_WAYS; w++)
				if (!grove_store__arena_holds(&c->arena, sh->sets[j].e[w]))
					grove_free(sh->sets[j].e[w]);
		pthread_mutex_destroy(&sh->mu);
	}
	grove_store__arena_close(&c->arena); /* its entries with it */
	grove_free(c->table_mem);
	pthread_mutex_destroy(&c->wmu);
	grove_free(c);
	s->cache = NULL;
}

static size_t entry_charge(const sc_entry_t *e)
{
	return sizeof(*e) + e->klen + e->vlen + ENTRY_OVERHEAD_BYTES;
}
_Static_assert(GROVE_STORE_ARENA_ALIGN - 1 <= ENTRY_OVERHEAD_BYTES,
	       "an arena slot is at most an entry's charge");
_Static_assert(sizeof(sc_entry_t) + GROVE_STORE_CACHE_REC_MAX <= GROVE_STORE_ARENA_SLOT_MAX,
	       "every entry fits an arena slot");

static bool cached_key(const grove_store_cache_t *c, const void *key, size_t klen)
{
	return klen >= 1 && c->prefix[*(const uint8_t *)key];
}

/* The key's hash under the cache's seed (store_int.h). */
static uint64_t key_hash(const grove_store_cache_t *c, const void *key, size_t klen)
{
	return grove_store__key_hash(c->seed, key, klen);
}

/* Once the cache holds about 4 entries per 4 KiB of slot table (most of
 * the table's pages touched, so resident anyway), asks the kernel to back
 * the table with 2 MiB pages: a hit of a large cache then misses the
 * TLB on its slot no more (a page walk per slot read, costly under
 * virtualisation).  Not earlier: a huge page is resident whole, and an
 * idle cache would hold its whole table.  Once per cache; a kernel
 * without transparent huge pages refuses it, which changes nothing. */
static void table_huge(grove_store_cache_t *c)
{
	if (atomic_load_explicit(&c->table_huge, memory_order_relaxed) ||
	    atomic_load(&c->entries) < c->table_bytes / 1024 ||
	    atomic_exchange(&c->table_huge, true))
		return;
	size_t len = c->table_bytes & ~(GROVE_HUGE_PAGE_BYTES - 1);
	if (len == 0)
		return;
	(void)madvise(c->table, len, MADV_HUGEPAGE); /* new faults: huge pages */
	(void)madvise(c->table, len, MADV_COLLAPSE); /* the pages touched so far */
}

/* h's set in its shard sh. */
static sc_set_t *set_of(const grove_store_cache_t *c, const sc_shard_t *sh, uint64_t h)
{
	return &sh->sets[(size_t)(h / GROVE_STORE_CACHE_SHARDS) & (c->sets - 1)];
}

static int way_find(const sc_set_t *set, uint64_t h, const void *key, size_t klen)
{
	uint32_t tag = (uint32_t)(h >> 32);
	for (int w = 0; w < GROVE_STORE_CACHE_WAYS; w++) {
		const sc_entry_t *e = set->e[w];
		if (e && set->tag[w] == tag && e->klen == klen &&
		    memcmp(e->data, key, klen) == 0)
			return w;
	}
	return -1;
}

/* Frees way w of a set of shard sh (its lock held). */
static void way_drop(grove_store_cache_t *c, sc_shard_t *sh, sc_set_t *set, int w)
{
	sc_entry_t *e = set->e[w];
	if (!e)
		return;
	atomic_fetch_sub(&c->bytes, entry_charge(e));
	atomic_fetch_sub(&c->entries, 1);
	/* unlinked before it is freed (way_peek reads it unlocked) */
	__atomic_store_n(&set->e[w], NULL, __ATOMIC_RELAXED);
	if (!grove_store__arena_free(&c->arena, &sh->free, e, sizeof(*e) + e->klen + e->vlen))
		grove_free(e);
}

/* The least recently used way of set (an empty one first, unless
 * occupied). */
static int way_victim(const sc_set_t *set, bool occupied)
{
	int v = -1;
	for (int i = 0; i < GROVE_STORE_CACHE_WAYS; i++) {
		if (!set->e[i]) {
			if (!occupied)
				return i;
			continue;
		}
		if (v < 0 || (int32_t)(set->tick[i] - set->tick[v]) < 0)
			v = i;
	}
	return v;
}

/* A new entry of key holding val (NULL: absent), from the arena through
 * shard sh's free slots (its lock held), else malloc'd. */
static sc_entry_t *entry_new(grove_store_cache_t *c, sc_shard_t *sh, const void *key, size_t klen,
			     const uint8_t *val, size_t vlen)
{
	GROVE_ASSERT(klen + vlen <= GROVE_STORE_CACHE_REC_MAX);
	size_t n = sizeof(sc_entry_t) + klen + vlen;
	sc_entry_t *e = grove_store__arena_alloc(&c->arena, &sh->free, n);
	if (!e)
		e = grove_malloc(n);
	if (!e)
		return NULL;
	e->klen = (uint16_t)klen;
	e->vlen = (uint16_t)vlen;
	e->absent = val == NULL;
	memcpy(e->data, key, klen);
	if (vlen)
		memcpy(e->data + klen, val, vlen);
	return e;
}

/* Puts e, the entry of a key of hash h, in way v of set (free), charging it. */
static void way_put(grove_store_cache_t *c, sc_shard_t *sh, sc_set_t *set, int v, uint64_t h,
		    sc_entry_t *e)
{
	sh->used = true;
	/* relaxed stores: way_peek reads them unlocked */
	__atomic_store_n(&set->tag[v], (uint32_t)(h >> 32), __ATOMIC_RELAXED);
	__atomic_store_n(&set->e[v], e, __ATOMIC_RELAXED);
	set->tick[v] = ++sh->tick;
	atomic_fetch_add(&c->bytes, entry_charge(e));
	atomic_fetch_add(&c->entries, 1);
}

/* A write of (h, key) with val (NULL: deleted): the entry, if the cache
 * holds one, takes the new record (in place when its size is the same) or
 * is dropped.  Writes insert nothing: filling on write cost 28% more CPU
 * per HSET of a new field (a 3x10^5-field fill, medians of 3), for reads
 * that may never come.  Shard lock held. */
static void entry_write(grove_store_cache_t *c, sc_shard_t *sh, uint64_t h, const void *key,
			size_t klen, const uint8_t *val, size_t vlen)
{
	sc_set_t *set = set_of(c, sh, h);
	int w = way_find(set, h, key, klen);
	if (w < 0)
		return;
	sc_entry_t *e = set->e[w];
	if (val && e->vlen == vlen) {
		e->absent = false;
		memcpy(e->data + klen, val, vlen);
		return;
	}
	way_drop(c, sh, set, w);
	if (!val || klen + vlen > GROVE_STORE_CACHE_REC_MAX ||
	    atomic_load(&c->bytes) + sizeof(*e) + klen + vlen + ENTRY_OVERHEAD_BYTES > c->bytes_max)
		return;
	e = entry_new(c, sh, key, klen, val, vlen);
	if (e)
		way_put(c, sh, set, w, h, e);
}

/* A read's fill of (h, key) with val (NULL: absent), in a free way of its
 * set or (evict) in place of its least recently used one; none when the
 * record is too large, memory is short or the budget is reached and the
 * set has nothing to give.  True when the cache held the key already.
 * Shard lock held. */
static bool entry_fill(grove_store_cache_t *c, sc_shard_t *sh, uint64_t h, const void *key,
		       size_t klen, const uint8_t *val, size_t vlen, bool evict)
{
	if (klen + vlen > GROVE_STORE_CACHE_REC_MAX)
		return false;
	sc_set_t *set = set_of(c, sh, h);
	if (way_find(set, h, key, klen) >= 0)
		return true; /* another reader's fill of the same record came first */
	size_t charge = sizeof(sc_entry_t) + klen + vlen + ENTRY_OVERHEAD_BYTES;
	int v = way_victim(set, atomic_load(&c->bytes) + charge > c->bytes_max);
	if (v < 0)
		return false;
	if (set->e[v]) {
		if (!evict)
			return false;
		way_drop(c, sh, set, v);
		atomic_fetch_add(&c->evictions, 1);
	}
	if (atomic_load(&c->bytes) + charge > c->bytes_max)
		return false;
	sc_entry_t *e = entry_new(c, sh, key, klen, val, vlen);
	if (e)
		way_put(c, sh, set, v, h, e);
	return false;
}

uint64_t grove_store_read_hint(grove_store_t *s, const void *key, size_t klen)
{
	grove_store_cache_t *c = s->cache;
	if (!c || !cached_key(c, key, klen))
		return 0;
	return key_hash(c, key, klen);
}

static const sc_set_t *hint_set(const grove_store_cache_t *c, uint64_t hint)
{
	return set_of(c, &c->shard[hint & (GROVE_STORE_CACHE_SHARDS - 1)], hint);
}

void grove_store_read_prefetch_slots(grove_store_t *s, const uint64_t *hints, size_t n)
{
	grove_store_cache_t *c = s->cache;
	for (size_t j = 0; c && j < n; j++) {
		if (hints[j] == 0)
			continue;
		const sc_set_t *set = hint_set(c, hints[j]);
		for (size_t i = 0; i < sizeof(*set); i += 64)
			__builtin_prefetch((const char *)set + i);
	}
}

/* The entry of way w of set if its tag is tag's, else NULL; read without
 * the shard's lock: a way's tag and entry pointer with relaxed atomic
 * loads (their writers store them so, under the lock).  Its caller only
 * prefetches what it names, which faults on nothing: an entry freed
 * meanwhile costs a useless load at most. */
static const void *way_peek(const sc_set_t *set, int w, uint32_t tag)
{
	if (__atomic_load_n(&set->tag[w], __ATOMIC_RELAXED) != tag)
		return NULL;
	return __atomic_load_n(&set->e[w], __ATOMIC_RELAXED);
}

/* Unlocked (way_peek): the lock's atomic operations waited for the set's
 * loads from memory, so the prefetches of a pipeline's requests made one
 * after another could not overlap.  First the entries of all n (the loads
 * of their sets overlap), then their prefetches one right after another
 * (their page walks overlap). */
size_t grove_store_read_prefetch_entries(grove_store_t *s, const uint64_t *hints, size_t n)
{
	grove_store_cache_t *c = s->cache;
	const void *e[GROVE_STORE_PREFETCH_MAX];
	size_t ne = 0;
	GROVE_ASSERT(n <= GROVE_STORE_PREFETCH_MAX);
	for (size_t j = 0; c && j < n; j++) {
		if (hints[j] == 0)
			continue;
		const sc_set_t *set = hint_set(c, hints[j]);
		uint32_t tag = (uint32_t)(hints[j] >> 32);
		for (int w = 0; w < GROVE_STORE_CACHE_WAYS && ne < GROVE_STORE_PREFETCH_MAX; w++) {
			const void *p = way_peek(set, w, tag);
			if (p)
				e[ne++] = p;
		}
	}
	for (size_t j = 0; j < ne; j++)
		__builtin_prefetch(e[j]);
	return ne;
}

/* Fills (key, val) as a read of the state after write sequence seq, if no
 * write began since: FILL_STALE if one did, FILL_HELD if the cache held
 * the key already, else FILL_DONE (kept or not).  evict: as entry_fill. */
enum { FILL_STALE, FILL_HELD, FILL_DONE };
static int fill_at(grove_store_cache_t *c, uint64_t seq, const void *key, size_t klen,
		   const uint8_t *val, size_t vlen, bool evict)
{
	uint64_t h = key_hash(c, key, klen);
	sc_shard_t *sh = &c->shard[h & (GROVE_STORE_CACHE_SHARDS - 1)];
	pthread_mutex_lock(&sh->mu);
	/* a write that began later applies to this shard after the fill */
	int rc = FILL_STALE;
	if (atomic_load(&c->wseq) == seq)
		rc = entry_fill(c, sh, h, key, klen, val, vlen, evict) ? FILL_HELD : FILL_DONE;
	pthread_mutex_unlock(&sh->mu);
	return rc;
}

/* Fills, into free ways within the budget (they evict nothing), the
 * records the iterator it meets from where it stands under key's first
 * plen bytes, stepping back (back) or on, up to GROVE_STORE_CACHE_NEAR of
 * them, until NEAR_HELD_RUN in a row are held already (the gap before
 * them is filled) or a write began since seq.  The count it filled (*ran:
 * whether it ended at such a run), or -1 when a write began. */
static int near_walk(grove_store_cache_t *c, uint64_t seq, grove_iter_t *it, const void *key,
		     size_t plen, bool back, bool *ran)
{
	int filled = 0, held = 0;
	for (int j = 0; held < NEAR_HELD_RUN && j < GROVE_STORE_CACHE_NEAR && grove_iter_valid(it);
	     j++) {
		size_t ik = 0, iv = 0;
		const uint8_t *k2 = grove_iter_key(it, &ik);
		if (ik < plen || memcmp(k2, key, plen) != 0)
			break;
		const uint8_t *v2 = grove_iter_value(it, &iv);
		int f = fill_at(c, seq, k2, ik, v2, iv, false);
		if (f == FILL_STALE)
			return -1;
		held = f == FILL_HELD ? held + 1 : 0;
		filled += f == FILL_DONE;
		if (back)
			grove_iter_prev(it);
		else
			grove_iter_next(it);
	}
	*ran = held >= NEAR_HELD_RUN;
	return filled;
}

/* A miss of key read with an iterator, which then fills the records
 * around key under its first plen bytes (near_walk): those that follow
 * it, then those before it, unless the walk on filled nothing before
 * meeting a held run (key was a hole among held records; stepping back
 * costs a second seek).  Both ways, because random reads of a key's
 * elements leave gaps that a walk on only fills from the read on (five
 * runs of 200,000 random SISMEMBERs of a 10^6-member set: 10,884, 1,333,
 * 743, 459 and 296 misses walking on only, 2,910, 35, 30, 34 and 18 both
 * ways; doc/storage_format.md).  The iterator's snapshot is the state
 * after write sequence seq (even, noted before it was made); each fill
 * checks that no write began since.  *p and *len as the backend's get; 1
 * when the iterator could not be used (the caller reads with a get). */
static int read_near(grove_store_t *s, uint64_t seq, const void *key, size_t klen, size_t plen,
		     uint8_t **p, size_t *len)
{
	grove_store_cache_t *c = s->cache;
	grove_iter_t *it;
	if (grove_iter_create(s, NULL, &it) != 0)
		return 1;
	grove_iter_seek(it, key, klen);
	size_t ik = 0, iv = 0;
	const uint8_t *k2 = grove_iter_valid(it) ? grove_iter_key(it, &ik) : NULL;
	int rc = GROVE_ENOTFOUND;
	bool nomem = false;
	if (k2 && ik == klen && memcmp(k2, key, klen) == 0) {
		const uint8_t *v2 = grove_iter_value(it, &iv);
		*p = grove_malloc(iv ? iv : 1);
		nomem = !*p;
		if (*p) {
			memcpy(*p, v2, iv);
			*len = iv;
			rc = 0;
			grove_iter_next(it);
		}
	}
	if (nomem || grove_iter_status(it) != 0) {
		grove_iter_destroy(it);
		grove_free(*p);
		*p = NULL;
		return 1;
	}
	/* an error ending a walk: the fills made stand */
	if (fill_at(c, seq, key, klen, *p, *len, true) != FILL_STALE) {
		bool ran = false;
		int on = near_walk(c, seq, it, key, plen, false, &ran);
		if (on > 0 || (on == 0 && !ran)) {
			grove_iter_seek_before(it, key, klen);
			(void)near_walk(c, seq, it, key, plen, true, &ran);
		}
	}
	grove_iter_destroy(it);
	return rc;
}

int grove_store_read_latest(grove_store_t *s, const void *key, size_t klen,
			    grove_store_value_fn fn, void *ctx)
{
	return grove_store_read_latest_near(s, key, klen, 0, fn, ctx);
}

int grove_store_read_latest_near(grove_store_t *s, const void *key, size_t klen, size_t plen,
				 grove_store_value_fn fn, void *ctx)
{
	grove_store_cache_t *c = s->cache;
	uint8_t *p = NULL;
	size_t len = 0;
	int rc;
	if (!c || !cached_key(c, key, klen) || grove_store_txn_owned(s)) {
		rc = grove_store_get(s, NULL, key, klen, &p, &len);
		if (rc == 0)
			rc = fn(ctx, p, len);
		grove_free(p);
		return rc;
	}
	uint64_t h = key_hash(c, key, klen);
	sc_shard_t *sh = &c->shard[h & (GROVE_STORE_CACHE_SHARDS - 1)];
	pthread_mutex_lock(&sh->mu);
	sc_set_t *set = set_of(c, sh, h);
	int w = way_find(set, h, key, klen);
	if (w >= 0) {
		const sc_entry_t *e = set->e[w];
		rc = e->absent ? GROVE_ENOTFOUND : fn(ctx, e->data + e->klen, e->vlen);
		set->tick[w] = ++sh->tick;
		sh->hits++;
		pthread_mutex_unlock(&sh->mu);
		return rc;
	}
	uint64_t gen = sh->gen;
	sh->misses++;
	pthread_mutex_unlock(&sh->mu);
	/* neighbours only while the budget has room for them */
	uint64_t seq = atomic_load(&c->wseq);
	rc = 1;
	if (plen && plen < klen && !(seq & 1) &&
	    atomic_load(&c->bytes) + GROVE_STORE_CACHE_NEAR * NEAR_ENTRY_BYTES < c->bytes_max)
		rc = read_near(s, seq, key, klen, plen, &p, &len);
	if (rc == 1) {
		rc = s->ops->get(s, NULL, key, klen, &p, &len);
		if (rc == 0 || rc == GROVE_ENOTFOUND) {
			pthread_mutex_lock(&sh->mu);
			if (sh->gen == gen) /* no write of this shard since the read began */
				(void)entry_fill(c, sh, h, key, klen, rc == 0 ? p : NULL,
					   rc == 0 ? len : 0, true);
			pthread_mutex_unlock(&sh->mu);
		}
	}
	if (rc == 0)
		rc = fn(ctx, p, len);
	grove_free(p);
	table_huge(c);
	return rc;
}

typedef struct {
	grove_store_cache_t *c;
	grove_store_cache_hashes_t *hs; /* the write's hashes (store_int.h) */
	bool ok; /* the backend wrote the batch */
	bool any;
} apply_ctx_t;

/* Notes whether the batch holds a cached key, and prefetches the set of
 * each: the backend's write runs meanwhile, and the apply after it then
 * finds the set in the CPU's cache. */
static void touch_op(void *ctx, int op, const uint8_t *key, size_t klen, const uint8_t *val,
		     size_t vlen)
{
	(void)op, (void)val, (void)vlen;
	apply_ctx_t *a = ctx;
	grove_store_cache_t *c = a->c;
	if (!cached_key(c, key, klen))
		return;
	a->any = true;
	uint64_t h = key_hash(c, key, klen);
	if (a->hs->n < GROVE_STORE_CACHE_WRITE_HASHES)
		a->hs->h[a->hs->n++] = h;
	sc_shard_t *sh = &c->shard[h & (GROVE_STORE_CACHE_SHARDS - 1)];
	const sc_set_t *set = set_of(c, sh, h);
	for (size_t i = 0; i < sizeof(*set); i += 64)
		__builtin_prefetch((const char *)set + i, 1);
}

bool grove_store__cache_touches(grove_store_t *s, const grove_batch_t *b,
				grove_store_cache_hashes_t *hs)
{
	if (!s->cache)
		return false;
	apply_ctx_t a = { .c = s->cache, .hs = hs };
	grove_batch_iterate(b, touch_op, &a);
	return a.any;
}

static void apply_op(void *ctx, int op, const uint8_t *key, size_t klen, const uint8_t *val,
		     size_t vlen)
{
	apply_ctx_t *a = ctx;
	grove_store_cache_t *c = a->c;
	if (!cached_key(c, key, klen))
		return;
	grove_store_cache_hashes_t *hs = a->hs;
	uint64_t h = hs->used < hs->n ? hs->h[hs->used++] : key_hash(c, key, klen);
	sc_shard_t *sh = &c->shard[h & (GROVE_STORE_CACHE_SHARDS - 1)];
	pthread_mutex_lock(&sh->mu);
	sh->gen++;
	entry_write(c, sh, h, key, klen, a->ok && op == GROVE_BATCH_PUT ? val : NULL, vlen);
	pthread_mutex_unlock(&sh->mu);
}

void grove_store__cache_write_lock(grove_store_t *s)
{
	pthread_mutex_lock(&s->cache->wmu);
	atomic_fetch_add(&s->cache->wseq, 1); /* odd: readers' _end fails */
}

void grove_store__cache_write_unlock(grove_store_t *s)
{
	atomic_fetch_add(&s->cache->wseq, 1);
	pthread_mutex_unlock(&s->cache->wmu);
}

uint64_t grove_store_read_begin(grove_store_t *s)
{
	if (!s->cache || grove_store_txn_owned(s))
		return 1;
	return atomic_load_explicit(&s->cache->wseq, memory_order_acquire);
}

bool grove_store_read_end(grove_store_t *s, uint64_t seq)
{
	if (seq & 1)
		return false;
	/* the reads before it (cache entries under shard locks, backend
	 * lookups) are not moved after the second look */
	atomic_thread_fence(memory_order_acquire);
	return atomic_load_explicit(&s->cache->wseq, memory_order_relaxed) == seq;
}

void grove_store__cache_apply(grove_store_t *s, const grove_batch_t *b, bool written,
			      grove_store_cache_hashes_t *hs)
{
	apply_ctx_t a = { .c = s->cache, .hs = hs, .ok = written };
	grove_batch_iterate(b, apply_op, &a);
}

void grove_store_cache_stats(grove_store_t *s, grove_store_cache_stats_t *out)
{
	memset(out, 0, sizeof(*out));
	grove_store_cache_t *c = s->cache;
	if (!c)
		return;
	out->bytes = atomic_load(&c->bytes);
	out->bytes_max = c->bytes_max;
	out->entries = atomic_load(&c->entries);
	out->evictions = atomic_load(&c->evictions);
	out->arena_bytes = grove_store__arena_carved(&c->arena);
	for (int i = 0; i < GROVE_STORE_CACHE_SHARDS; i++) {
		sc_shard_t *sh = &c->shard[i];
		pthread_mutex_lock(&sh->mu);
		out->hits += sh->hits;
		out->misses += sh->misses;
		pthread_mutex_unlock(&sh->mu);
	}
}
