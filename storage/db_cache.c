/*
 * db_cache.c - the record cache and the lock stripes of db_int.h.
 *
 * A key hashes (grove_tree_key_hash) to a stripe (its segment mod
 * GROVE_DB_STRIPES) and, within the stripe, to one set of
 * GROVE_DB_CACHE_WAYS entries; the stripe's mutex guards its sets, its LRU
 * clock and its write buffers.  An entry keeps the key's last committed
 * record in the layout of the tree item input (klen, key, encoding) plus
 * the type byte, so a write builds its new record in the stripe's scratch
 * buffer, hashes the item in one call, and then swaps buffers with the
 * entry: no allocation and no copy in the steady state.  Decoded values are
 * kept beside their records while the estimated total stays within
 * GROVE_DB_CACHE_VALUE_BYTES_MAX (a soft bound: checked, then charged).
 */
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "base/buf.h"
#include "storage/db_int.h"

_Static_assert(GROVE_DB_CACHE_SETS >= 1 && (GROVE_DB_CACHE_SETS & (GROVE_DB_CACHE_SETS - 1)) == 0,
	       "cache sets per stripe: a power of two");
_Static_assert(GROVE_DB_CACHE_REC_MAX * GROVE_DB_VALUE_EXPANSION < UINT32_MAX, "charge fits");

int grove_db__cache_init(grove_db_t *db)
{
	for (int i = 0; i < GROVE_DB_STRIPES; i++)
		pthread_mutex_init(&db->stripes[i].mu, NULL);
	db->stripes_inited = true;
	atomic_init(&db->value_bytes, 0);
	db->cache = grove_calloc(GROVE_DB_CACHE_SLOTS, sizeof(*db->cache));
	return db->cache ? 0 : GROVE_ENOMEM;
}

void grove_db__cache_close(grove_db_t *db)
{
	if (db->cache) {
		for (size_t i = 0; i < GROVE_DB_CACHE_SLOTS; i++)
			grove_db__cache_drop(db, &db->cache[i]);
		grove_free(db->cache);
		db->cache = NULL;
	}
	if (!db->stripes_inited)
		return;
	for (int i = 0; i < GROVE_DB_STRIPES; i++) {
		grove_db_stripe_t *s = &db->stripes[i];
		grove_free(s->scratch);
		grove_batch_close(&s->batch);
		grove_db__pending_settle(s, 0);
		grove_free(s->pend);
		grove_db__lend_free(s);
		grove_db__zrank_cache_free(db, s);
		pthread_mutex_destroy(&s->mu);
	}
	db->stripes_inited = false;
}

/* Releases e's decoded value (and its charge); the record stays. */
static void value_release(grove_db_t *db, grove_db_cached_t *e)
{
	if (!e->v)
		return;
	grove_value_destroy(e->v);
	e->v = NULL;
	atomic_fetch_sub(&db->value_bytes, e->charge);
	e->charge = 0;
}

void grove_db__cache_drop(grove_db_t *db, grove_db_cached_t *e)
{
	value_release(db, e);
	grove_free(e->buf);
	memset(e, 0, sizeof(*e));
}

grove_db_cached_t *grove_db__cache_find(grove_db_t *db, const grove_db_key_t *k)
{
	grove_db_cached_t *set = &db->cache[k->cache_set];
	for (int w = 0; w < GROVE_DB_CACHE_WAYS; w++) {
		grove_db_cached_t *e = &set[w];
		if (e->buf && e->hash == k->hash && e->klen == k->klen &&
		    memcmp(e->buf + GROVE_TREE_ITEM_PREFIX_BYTES(0), k->key, k->klen) == 0) {
			e->used = ++db->stripes[k->stripe].clock;
			return e;
		}
	}
	return NULL;
}

/* An entry whose record is queued but not yet durable (BATCH mode). */
static bool entry_pinned(grove_db_t *db, const grove_db_cached_t *e)
{
	return e->pending_seq > grove_commit_durable_seq(&db->commit);
}

/* The entry of k's set to reuse for k: an empty one, else the least
 * recently used that is not pinned; NULL if all are. */
static grove_db_cached_t *cache_victim(grove_db_t *db, const grove_db_key_t *k)
{
	grove_db_cached_t *set = &db->cache[k->cache_set], *victim = NULL;
	uint32_t clock = db->stripes[k->stripe].clock, oldest = 0;
	for (int w = 0; w < GROVE_DB_CACHE_WAYS; w++) {
		if (!set[w].buf)
			return &set[w];
		if (entry_pinned(db, &set[w]))
			continue;
		if (!victim || clock - set[w].used > oldest) { /* wrap-safe age */
			victim = &set[w];
			oldest = clock - set[w].used;
		}
	}
	return victim;
}

int grove_db__scratch_reserve(grove_db_stripe_t *s, size_t need)
{
	if (need <= s->scratch_cap)
		return 0;
	if (need > SIZE_MAX - GROVE_DB_SCRATCH_ROUND_BYTES)
		return GROVE_ENOMEM;
	/* an exact fit, rounded, not doubled: the buffer moves into a cache
	 * entry, whose bytes the cache counts */
	size_t round = GROVE_DB_SCRATCH_ROUND_BYTES;
	size_t cap = (need + round - 1) / round * round;
	return grove_grow((void **)&s->scratch, &s->scratch_cap, need, 1, cap, cap);
}

/* Frees stripe buffers that a large record grew beyond the keep size. */
static void stripe_trim(grove_db_stripe_t *s)
{
	if (s->scratch_cap > GROVE_DB_SCRATCH_KEEP_BYTES) {
		grove_free(s->scratch);
		s->scratch = NULL;
		s->scratch_cap = 0;
	}
	if (s->batch.cap_bytes > GROVE_DB_SCRATCH_KEEP_BYTES)
		grove_batch_close(&s->batch);
}

/* Keeps *v as e's decoded value when the budget allows (*v set to NULL),
 * else leaves it to the caller.  `charged` bytes are already counted for
 * *v (it was the entry's value). */
static void value_keep(grove_db_t *db, grove_db_cached_t *e, size_t rec_len, grove_value_t **v,
		       size_t charged)
{
	size_t charge = *v ? rec_len * GROVE_DB_VALUE_EXPANSION : 0;
	if (atomic_load(&db->value_bytes) - charged + charge > GROVE_DB_CACHE_VALUE_BYTES_MAX) {
		if (charged)
			atomic_fetch_sub(&db->value_bytes, charged);
		return;
	}
	if (charge != charged) /* unsigned wrap-around subtracts when it shrank */
		atomic_fetch_add(&db->value_bytes, charge - charged);
	e->charge = (uint32_t)charge;
	e->v = *v;
	*v = NULL;
}

bool grove_db__cache_can_pin(grove_db_t *db, const grove_db_key_t *k,
			     const grove_db_cached_t *entry)
{
	return entry || cache_victim(db, k);
}

/* Whether e is beyond what the cache keeps unpinned. */
static bool entry_oversized(const grove_db_cached_t *e)
{
	return e->rec_len > GROVE_DB_CACHE_REC_MAX || e->cap > GROVE_DB_SCRATCH_KEEP_BYTES;
}

void grove_db__cache_settle(grove_db_t *db, const grove_db_key_t *k, uint64_t seq, bool durable)
{
	grove_db_cached_t *e = grove_db__cache_find(db, k);
	if (e && (!durable || (e->pending_seq == seq && entry_oversized(e))))
		grove_db__cache_drop(db, e);
}

grove_db_cached_t *grove_db__cache_install(grove_db_t *db, const grove_db_key_t *k,
					   grove_db_cached_t *entry, size_t rec_len,
					   const uint8_t item[GROVE_DIGEST_BYTES], grove_value_t **v,
					   bool pin)
{
	grove_db_stripe_t *s = &db->stripes[k->stripe];
	size_t charged = 0;
	if (entry && entry->v && entry->v == *v) { /* detached: the caller's until kept */
		charged = entry->charge;
		entry->v = NULL;
		entry->charge = 0;
	}
	/* entries hold at most SCRATCH_KEEP bytes: big records are not cached,
	 * nor small ones in a buffer a big one grew (trimmed below) */
	grove_db_cached_t *e = entry;
	if (!pin && (rec_len > GROVE_DB_CACHE_REC_MAX || s->scratch_cap > GROVE_DB_SCRATCH_KEEP_BYTES))
		e = NULL;
	else if (!e)
		e = cache_victim(db, k);
	if (!e) {
		atomic_fetch_sub(&db->value_bytes, charged);
		if (entry)
			grove_db__cache_drop(db, entry);
		stripe_trim(s);
		return NULL;
	}
	value_release(db, e); /* a value of an older record, if any */
	uint8_t *old = e->buf;
	size_t old_cap = e->cap;
	e->buf = s->scratch;
	e->cap = s->scratch_cap;
	s->scratch = old;
	s->scratch_cap = old_cap;
	e->klen = (uint32_t)k->klen;
	e->rec_len = (uint32_t)rec_len;
	e->hash = k->hash;
	e->used = ++s->clock;
	e->pending_seq = 0;
	e->meta_absent = false;
	memcpy(e->item, item, GROVE_DIGEST_BYTES);
	value_keep(db, e, rec_len, v, charged);
	stripe_trim(s);
	GROVE_ASSERT(pin || !entry_oversized(e));
	return e;
}

/* --- pending records (BATCH mode) --- */

static void pending_free(grove_db_pending_t *p)
{
	grove_free(p->key);
	grove_free(p->val);
}

typedef struct pend_add {
	grove_db_pending_t *n; /* new entries, allocated before any is installed */
	size_t count;
	uint64_t seq;
	int rc;
} pend_add_t;

static void pending_copy(void *ctx, int op, const uint8_t *key, size_t klen, const uint8_t *val,
			 size_t vlen)
{
	pend_add_t *a = ctx;
	if (a->rc)
		return;
	grove_db_pending_t *n = &a->n[a->count];
	*n = (grove_db_pending_t){ .klen = klen, .vlen = vlen, .seq = a->seq };
	n->key = grove_malloc(klen);
	if (op == GROVE_BATCH_PUT)
		n->val = grove_malloc(vlen ? vlen : 1);
	if (!n->key || (op == GROVE_BATCH_PUT && !n->val)) {
		pending_free(n);
		a->rc = GROVE_ENOMEM;
		return;
	}
	memcpy(n->key, key, klen);
	if (op == GROVE_BATCH_PUT && vlen)
		memcpy(n->val, val, vlen);
	a->count++;
}

/* All or nothing: allocates every copy and the room first. */
int grove_db__pending_add(grove_db_stripe_t *s, const grove_batch_t *b, uint64_t seq)
{
	pend_add_t a = { .seq = seq };
	a.n = grove_malloc((b->count ? b->count : 1) * sizeof(*a.n));
	if (!a.n)
		return GROVE_ENOMEM;
	grove_batch_iterate(b, pending_copy, &a);
	if (a.rc == 0 && s->npend + a.count > s->pend_cap) {
		size_t cap = 2 * (s->npend + a.count);
		grove_db_pending_t *p = grove_realloc(s->pend, cap * sizeof(*p));
		if (!p) {
			a.rc = GROVE_ENOMEM;
		} else {
			s->pend = p;
			s->pend_cap = cap;
		}
	}
	for (size_t j = 0; j < a.count; j++) {
		grove_db_pending_t *n = &a.n[j];
		if (a.rc) {
			pending_free(n);
			continue;
		}
		size_t i = 0;
		while (i < s->npend && (s->pend[i].klen != n->klen ||
					memcmp(s->pend[i].key, n->key, n->klen) != 0))
			i++;
		if (i < s->npend)
			pending_free(&s->pend[i]);
		else
			s->npend++;
		s->pend[i] = *n;
	}
	grove_free(a.n);
	return a.rc;
}

void grove_db__pending_relabel(grove_db_stripe_t *s, uint64_t from, uint64_t to)
{
	for (size_t i = 0; i < s->npend; i++)
		if (s->pend[i].seq == from)
			s->pend[i].seq = to;
}

int grove_db__pending_get(grove_db_stripe_t *s, const uint8_t *key, size_t klen, uint8_t **val,
			  size_t *vlen)
{
	for (size_t i = 0; i < s->npend; i++) {
		grove_db_pending_t *p = &s->pend[i];
		if (p->klen != klen || memcmp(p->key, key, klen) != 0)
			continue;
		*val = NULL;
		*vlen = 0;
		if (p->val) {
			*val = grove_malloc(p->vlen ? p->vlen : 1);
			if (!*val)
				return GROVE_ENOMEM;
			memcpy(*val, p->val, p->vlen);
			*vlen = p->vlen;
		}
		return 1;
	}
	return 0;
}

bool grove_db__pending_has(const grove_db_stripe_t *s, const uint8_t *key, size_t klen)
{
	for (size_t i = 0; i < s->npend; i++)
		if (s->pend[i].klen == klen && memcmp(s->pend[i].key, key, klen) == 0)
			return true;
	return false;
}

/* seq 0: all of them. */
void grove_db__pending_settle(grove_db_stripe_t *s, uint64_t seq)
{
	size_t out = 0;
	for (size_t i = 0; i < s->npend; i++) {
		if (seq == 0 || s->pend[i].seq == seq)
			pending_free(&s->pend[i]);
		else
			s->pend[out++] = s->pend[i];
	}
	s->npend = out;
}
