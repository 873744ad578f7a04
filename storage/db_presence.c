/*
 * db_presence.c - presence sets: per collection key, the 64-bit hashes of
 * the names of the elements (set members, hash fields, sorted-set members;
 * not list elements, which are never looked up by name) the key may have
 * records of, so that a write (or a merge) of an element whose hash is
 * absent skips the store read: the element certainly has no record.
 * A store read that misses costs a lookup in the memtables and in every
 * LevelDB level (bloom filters), more as the store grows; filling a set of
 * 10^6 members spent 28% of its time there.
 *
 * Invariant (the set is a superset): while a key is tracked, every element
 * record of a tracked kind that the key has, in the store, queued for the
 * group commit or staged by a transaction, has its hash in the set.  So
 * every put of such a record that did not exist is preceded by
 * grove_db__presence_note (elem_store and the purge in db_coll.c: the only
 * places that put element records; a rewrite of an existing one needs no
 * note), and a set that cannot take a hash (memory budget) is
 * dropped, never left short.  Hashes of removed elements stay (a later
 * lookup of them only costs the read it would have cost anyway); a set
 * holding more than twice the key's live elements (plus slack) is dropped
 * and rebuilt.
 *
 * A key becomes tracked at a writer's first element lookup (under the key
 * lock, once per write) by one walk of its element records, the store's
 * and the stripe's pending ones (and the write's own batch): at once when
 * it has no live elements (a new key: one seek), else after a number of
 * store reads that would have paid for the walk (PRESENCE_READS_PER_WALK:
 * a miss costs about as much as that many iterator steps; so with more
 * keys than ways, where a set is evicted before it is used, keys are not
 * walked at every write), never above PRESENCE_SCAN_MAX, nor while the key
 * has a pending delete (its covered records, uncounted, are still there),
 * nor while a transaction is open (its staged records are visible to its
 * own thread only).
 *
 * Memory only: a reopened db tracks nothing until keys are written again.
 * Sets live in GROVE_DB_PRESENCE_WAYS ways per lock stripe (a key's is
 * found by its key hash and name; the least recently used goes when a new
 * key needs one), guarded by the stripe's lock, so only writers (and
 * grove_db_item_state, under the lock) use them: readers (SISMEMBER, HGET)
 * take no key lock, and a try-lock to consult the set from them gained
 * nothing measurable on a set of 10^6 (the read of a missing element in a
 * quiet store costs little beside the snapshot and the head).  The
 * hash is SipHash-2-4 under a key drawn at open, so names chosen by a
 * client cannot pile into one probe run.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "grove/alloc.h"
#include "storage/db_coll_int.h"

#define SLOTS_MIN 8u
#define SLOTS_MAX (1u << 31)

struct grove_db_presence {
	uint64_t *slot; /* cap slots, 0: free; NULL: the key is not tracked */
	uint32_t cap, n;
	uint32_t used;  /* the stripe's pres_clock at the last use (LRU) */
	uint32_t reads; /* store reads of the key's elements while not tracked */
	uint32_t hash;  /* the key hash */
	size_t klen;    /* 0: a free way */
	uint8_t *key;
};

void grove_db__presence_init(grove_db_t *db)
{
	randombytes_buf(db->pres_key, sizeof(db->pres_key));
	atomic_init(&db->pres_bytes, 0);
}

static void set_drop(grove_db_t *db, grove_db_presence_t *p)
{
	if (!p->slot)
		return;
	atomic_fetch_sub(&db->pres_bytes, (size_t)p->cap * sizeof(uint64_t));
	grove_free(p->slot);
	p->slot = NULL;
	p->cap = p->n = 0;
	p->reads = 0;
}

static void way_free(grove_db_t *db, grove_db_presence_t *p)
{
	set_drop(db, p);
	grove_free(p->key);
	memset(p, 0, sizeof(*p));
}

void grove_db__presence_stripe_free(grove_db_t *db, grove_db_stripe_t *s)
{
	if (!s->pres)
		return;
	for (size_t i = 0; i < GROVE_DB_PRESENCE_WAYS; i++)
		way_free(db, &s->pres[i]);
	grove_free(s->pres);
	s->pres = NULL;
}

/* The way of key k (caller holds its stripe lock), or NULL. */
static grove_db_presence_t *way_find(grove_db_t *db, const grove_db_key_t *k)
{
	grove_db_stripe_t *s = &db->stripes[k->stripe];
	if (!s->pres)
		return NULL;
	for (size_t i = 0; i < GROVE_DB_PRESENCE_WAYS; i++) {
		grove_db_presence_t *p = &s->pres[i];
		if (p->klen == k->klen && p->hash == k->hash && memcmp(p->key, k->key, k->klen) == 0) {
			p->used = ++s->pres_clock;
			return p;
		}
	}
	return NULL;
}

/* A way for key k: a free one, else the least recently used (emptied). */
static grove_db_presence_t *way_take(grove_db_t *db, const grove_db_key_t *k)
{
	grove_db_stripe_t *s = &db->stripes[k->stripe];
	if (!s->pres && !(s->pres = grove_calloc(GROVE_DB_PRESENCE_WAYS, sizeof(*s->pres))))
		return NULL;
	grove_db_presence_t *v = &s->pres[0];
	for (size_t i = 0; i < GROVE_DB_PRESENCE_WAYS && v->klen; i++)
		if (!s->pres[i].klen || s->pres[i].used < v->used)
			v = &s->pres[i];
	uint8_t *key = grove_malloc(k->klen);
	if (!key)
		return NULL;
	if (v->slot)
		atomic_fetch_add(&db->pres_drops, 1);
	way_free(db, v);
	memcpy(key, k->key, k->klen);
	v->key = key;
	v->klen = k->klen;
	v->hash = k->hash;
	v->used = ++s->pres_clock;
	return v;
}

/* The hash of an element name: ke is its kind byte followed by the
 * element (as in its record key), len bytes in all. */
static uint64_t name_hash(grove_db_t *db, const uint8_t *ke, size_t len)
{
	uint64_t h;
	crypto_shorthash((unsigned char *)&h, ke, len, db->pres_key);
	return h ? h : 1;
}

static bool set_has(const grove_db_presence_t *p, uint64_t h)
{
	uint32_t m = p->cap - 1;
	for (uint32_t i = (uint32_t)h & m, n = 0; n < p->cap; i = (i + 1) & m, n++) {
		if (p->slot[i] == h)
			return true;
		if (p->slot[i] == 0)
			return false;
	}
	return false;
}

static void set_put(uint64_t *slot, uint32_t cap, uint64_t h, uint32_t *n)
{
	uint32_t m = cap - 1;
	for (uint32_t i = (uint32_t)h & m;; i = (i + 1) & m) {
		if (slot[i] == h)
			return;
		if (slot[i] == 0) {
			slot[i] = h;
			(*n)++;
			return;
		}
	}
}

/* Room for n + 1 hashes at a load of at most 3/4 (the table doubles);
 * false (the set untouched) past the budget or out of memory. */
static bool set_room(grove_db_t *db, grove_db_presence_t *p, uint32_t want)
{
	uint32_t cap = p->cap ? p->cap : SLOTS_MIN;
	while ((uint64_t)want * 4 > (uint64_t)cap * 3) {
		if (cap >= SLOTS_MAX)
			return false;
		cap *= 2;
	}
	if (p->slot && cap == p->cap)
		return true;
	size_t add = (size_t)cap * sizeof(uint64_t);
	if (atomic_fetch_add(&db->pres_bytes, add) + add > GROVE_DB_PRESENCE_BYTES_MAX) {
		atomic_fetch_sub(&db->pres_bytes, add);
		return false;
	}
	uint64_t *slot = grove_calloc(cap, sizeof(uint64_t));
	if (!slot) {
		atomic_fetch_sub(&db->pres_bytes, add);
		return false;
	}
	uint32_t n = 0;
	for (uint32_t i = 0; p->slot && i < p->cap; i++)
		if (p->slot[i])
			set_put(slot, cap, p->slot[i], &n);
	if (p->slot)
		atomic_fetch_sub(&db->pres_bytes, (size_t)p->cap * sizeof(uint64_t));
	grove_free(p->slot);
	p->slot = slot;
	p->cap = cap;
	p->n = n;
	return true;
}

/* Adds h to a tracked set; a set that cannot take it is dropped. */
static void set_add(grove_db_t *db, grove_db_presence_t *p, uint64_t h)
{
	if (!p->slot)
		return;
	if (!set_room(db, p, p->n + 1)) {
		set_drop(db, p);
		atomic_fetch_add(&db->pres_drops, 1);
		return;
	}
	set_put(p->slot, p->cap, h, &p->n);
}

void grove_db__presence_note(grove_db_t *db, const grove_db_key_t *k, const uint8_t *ke,
			     size_t len)
{
	GROVE_ASSERT(len >= 1);
	if (ke[0] == GROVE_ELEM_LIST)
		return;
	grove_db_presence_t *p = way_find(db, k);
	if (p && p->slot)
		set_add(db, p, name_hash(db, ke, len));
}

/* ---- tracking a key: one walk of its element records ---- */

typedef struct walk {
	grove_db_t *db;
	grove_db_presence_t *p;
	size_t pre; /* 'e' klen K */
	size_t seen;
	bool over; /* more records than PRESENCE_SCAN_MAX, or no room */
} walk_t;

static void walk_one(walk_t *w, const uint8_t *key, size_t klen)
{
	if (klen <= w->pre || key[w->pre] == GROVE_ELEM_LIST)
		return;
	if (!set_room(w->db, w->p, w->p->n + 1)) {
		w->over = true;
		return;
	}
	set_put(w->p->slot, w->p->cap, name_hash(w->db, key + w->pre, klen - w->pre), &w->p->n);
}

static int walk_rec(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	(void)val, (void)vlen;
	walk_t *w = ctx;
	if (++w->seen > GROVE_DB_PRESENCE_SCAN_MAX)
		w->over = true;
	else
		walk_one(w, key, klen);
	return w->over;
}

typedef struct batch_walk {
	walk_t *w;
	const uint8_t *prefix;
} batch_walk_t;

static void batch_op(void *ctx, int op, const uint8_t *key, size_t klen, const uint8_t *val,
		     size_t vlen)
{
	(void)op, (void)val, (void)vlen;
	batch_walk_t *b = ctx;
	/* puts and deletes alike: a deleted record's hash costs a read */
	if (klen > b->w->pre && memcmp(key, b->prefix, b->w->pre) == 0)
		walk_one(b->w, key, klen);
}

/* Builds k's set from its records: the store's, the stripe's pending ones
 * and the write's own batch (extra, may be NULL).  false: not tracked. */
static bool track(grove_db_t *db, const grove_db_key_t *k, grove_db_presence_t *p,
		  uint64_t live, const grove_batch_t *extra)
{
	walk_t w = { .db = db, .p = p };
	uint8_t pre[4 + GROVE_KEY_MAX];
	w.pre = grove_db__elem_prefix(k, 0, pre);
	if (!set_room(db, p, (uint32_t)live + 1))
		return false;
	atomic_fetch_add(&db->pres_scans, 1);
	int rc = grove_store_scan_prefix(db->store, NULL, pre, w.pre, walk_rec, &w);
	const grove_db_stripe_t *s = &db->stripes[k->stripe];
	for (size_t i = 0; rc == 0 && !w.over && i < s->npend; i++)
		if (s->pend[i].klen > w.pre && memcmp(s->pend[i].key, pre, w.pre) == 0)
			walk_one(&w, s->pend[i].key, s->pend[i].klen);
	batch_walk_t bw = { .w = &w, .prefix = pre };
	if (rc == 0 && !w.over && extra && extra->count)
		grove_batch_iterate(extra, batch_op, &bw);
	if (rc == 0 && !w.over)
		return true;
	set_drop(db, p);
	return false;
}

/* Whether a tracked set has grown past what the key holds. */
static bool set_stale(const grove_db_presence_t *p, uint64_t live)
{
	return p->n > 2 * live + GROVE_DB_PRESENCE_SLACK;
}

void grove_db__presence_begin(coll_t *c)
{
	grove_db_t *db = c->db;
	const grove_db_key_t *k = c->k;
	uint64_t live = 0;
	for (int i = 1; i <= GROVE_DB_KIND_LAST; i++)
		live += c->m.count[i];
	if (db->pres_off)
		return;
	grove_db_presence_t *p = way_find(db, k);
	if (p && p->slot) {
		if (!set_stale(p, live))
			return;
		set_drop(db, p);
		atomic_fetch_add(&db->pres_drops, 1);
	}
	if (live > GROVE_DB_PRESENCE_SCAN_MAX || !grove_ctx_empty(&c->m.pctx) ||
	    grove_store_txn_open(db->store))
		return;
	if (!p && !(p = way_take(db, k)))
		return;
	if (live > 0 &&
	    (uint64_t)p->reads * GROVE_DB_PRESENCE_READS_PER_WALK < live)
		return;
	if (!track(db, k, p, live, &c->extra))
		p->reads = 0; /* tried: wait for as many reads again */
}

bool grove_db__presence_absent(grove_db_t *db, const grove_db_key_t *k, const uint8_t *ke,
			       size_t len)
{
	GROVE_ASSERT(len >= 1);
	if (ke[0] == GROVE_ELEM_LIST || db->pres_off)
		return false;
	grove_db_presence_t *p = way_find(db, k);
	if (!p)
		return false;
	if (!p->slot) {
		if (p->reads < UINT32_MAX)
			p->reads++;
		return false;
	}
	if (set_has(p, name_hash(db, ke, len)))
		return false;
	atomic_fetch_add_explicit(&db->pres_skipped, 1, memory_order_relaxed);
	return true;
}

bool grove_db__presence_tracked(grove_db_t *db, const grove_db_key_t *k, size_t *n)
{
	grove_db_presence_t *p = way_find(db, k);
	if (n)
		*n = p && p->slot ? p->n : 0;
	return p && p->slot;
}
