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

#include <sodium.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "base/buf.h"
#include "crdt/coll.h"
#include "storage/db_int.h"

_Static_assert(GROVE_DB_CACHE_SETS >= 1 && (GROVE_DB_CACHE_SETS & (GROVE_DB_CACHE_SETS - 1)) == 0,
	       "cache sets per stripe: a power of two");
_Static_assert(GROVE_DB_CACHE_REC_MAX * GROVE_DB_VALUE_EXPANSION < UINT32_MAX, "charge fits");

int grove_db__cache_init(grove_db_t *db)
{
	randombytes_buf(db->pend_key, sizeof(db->pend_key));
	grove_db__presence_init(db);
	db->pend_memo = grove_calloc(GROVE_DB_STRIPES, sizeof(*db->pend_memo));
	if (!db->pend_memo)
		return GROVE_ENOMEM;
	for (int i = 0; i < GROVE_DB_STRIPES; i++) {
		pthread_mutex_init(&db->stripes[i].mu, NULL);
		db->stripes[i].pend_key = db->pend_key;
		db->stripes[i].pmemo = &db->pend_memo[i];
	}
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
		grove_buf_close(&s->enc);
		grove_batch_close(&s->extra_spare);
		grove_db__pending_close(s);
		grove_db__list_stripe_free(s);
		grove_db__zrank_cache_free(db, s);
		grove_free(s->zr_mem);
		for (int j = 0; j < 4; j++)
			grove_free(s->zr_view_v[j]);
		grove_db__presence_stripe_free(db, s);
		pthread_mutex_destroy(&s->mu);
	}
	grove_free(db->pend_memo);
	db->pend_memo = NULL;
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
	if (e != entry) /* another key's entry: nothing known of this key's cloud */
		e->cloud_known = 0;
	e->pending_seq = 0;
	e->meta_kept = false;
	e->defer_last = NULL;
	e->item_known = item != NULL;
	if (item)
		memcpy(e->item, item, GROVE_DIGEST_BYTES);
	value_keep(db, e, rec_len, v, charged);
	stripe_trim(s);
	GROVE_ASSERT(pin || !entry_oversized(e));
	return e;
}

/* --- pending records (queued for the group commit, not yet settled) ---
 *
 * The stripe's records are an array (pend[0..npend), scanned by prefix in
 * db_cloud.c) with a hash index beside it: open addressing with linear
 * probing over pidx (a power of two of slots, at most half full), each
 * slot 0 (empty) or a record's index + 1, keyed by SipHash of the record
 * key under the db's random key (db->pend_key; each record keeps its own,
 * and the stripe's memo the last two keys hashed, so a write hashes a
 * record key once from its read to its settle), so a client choosing keys
 * cannot lengthen the probes.  get, has, add, forget: O(1) per record;
 * settle: one pass over the stripe's records when any is old enough
 * (pend_min is a lower bound of their sequence numbers), else O(1).  A
 * record's key and value are one block; the blocks of replaced and
 * settled records are kept for the next copies (GROVE_DB_PEND_SPARES per
 * stripe, up to GROVE_DB_PEND_SPARE_BYTES each): a hot key's pipelined
 * writes replace its records at every write, and took a malloc and a
 * free for each. */

#define PEND_INDEX_MIN 16 /* slots of a stripe's first index */

/* p's block (the value follows the key in it) goes to the stripe's
 * spares, or is freed. */
static void pending_free(grove_db_stripe_t *s, grove_db_pending_t *p)
{
	if (s->npspare < GROVE_DB_PEND_SPARES && p->cap <= GROVE_DB_PEND_SPARE_BYTES) {
		s->pspare[s->npspare] = p->key;
		s->pspare_cap[s->npspare++] = p->cap;
	} else {
		grove_free(p->key);
	}
	p->key = NULL;
}

/* A block of at least need bytes: a spare, else a new one (rounded up,
 * so that records of a key whose size varies a little reuse it); *cap
 * its size. */
static uint8_t *pending_block(grove_db_stripe_t *s, size_t need, uint32_t *cap)
{
	for (unsigned i = s->npspare; i > 0; i--) {
		if (s->pspare_cap[i - 1] < need)
			continue;
		uint8_t *b = s->pspare[i - 1];
		*cap = s->pspare_cap[i - 1];
		s->npspare--;
		s->pspare[i - 1] = s->pspare[s->npspare];
		s->pspare_cap[i - 1] = s->pspare_cap[s->npspare];
		return b;
	}
	size_t n = (need + 31) & ~(size_t)31;
	*cap = (uint32_t)n;
	return grove_malloc(n);
}

/* key's index hash: from the stripe's memo when it hashed key last or
 * the time before (kept there), else SipHash. */
static uint64_t pend_hash(const grove_db_stripe_t *s, const uint8_t *key, size_t klen)
{
	grove_db_pend_memo_t *m = s->pmemo;
	for (int i = 0; i < 2; i++)
		if (m->klen[i] == klen && klen && memcmp(m->key[i], key, klen) == 0)
			return m->hash[i];
	uint64_t h;
	crypto_shorthash((unsigned char *)&h, key, klen, s->pend_key);
	if (klen && klen <= GROVE_DB_PEND_MEMO_KEY_MAX) {
		unsigned i = m->next;
		m->next ^= 1;
		m->klen[i] = (uint32_t)klen;
		m->hash[i] = h;
		memcpy(m->key[i], key, klen);
	}
	return h;
}

/* The slot holding the record index of key (hash h), or the empty slot
 * where it goes. */
static size_t pend_probe_h(const grove_db_stripe_t *s, const uint8_t *key, size_t klen, uint64_t h)
{
	size_t mask = s->pidx_cap - 1;
	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		uint32_t v = s->pidx[i];
		if (v == 0)
			return i;
		const grove_db_pending_t *p = &s->pend[v - 1];
		if (p->hash == h && p->klen == klen && memcmp(p->key, key, klen) == 0)
			return i;
	}
}

static size_t pend_probe(const grove_db_stripe_t *s, const uint8_t *key, size_t klen)
{
	return pend_probe_h(s, key, klen, pend_hash(s, key, klen));
}

/* The slot of record p (in the index). */
static size_t pend_slot_of(const grove_db_stripe_t *s, const grove_db_pending_t *p)
{
	return pend_probe_h(s, p->key, p->klen, p->hash);
}

/* Rebuilds the index over pend[0..npend) in cap slots (a power of two
 * above 2 npend); GROVE_ENOMEM leaves the old one. */
static int pend_reindex(grove_db_stripe_t *s, size_t cap)
{
	GROVE_ASSERT(cap >= 2 * s->npend && (cap & (cap - 1)) == 0);
	if (cap != s->pidx_cap) {
		uint32_t *x = grove_calloc(cap, sizeof(*x));
		if (!x)
			return GROVE_ENOMEM;
		grove_free(s->pidx);
		s->pidx = x;
		s->pidx_cap = cap;
	} else {
		memset(s->pidx, 0, cap * sizeof(*s->pidx));
	}
	for (size_t j = 0; j < s->npend; j++)
		s->pidx[pend_slot_of(s, &s->pend[j])] = (uint32_t)(j + 1);
	return 0;
}

/* Removes the record whose index sits in slot i: the last record moves
 * into its place, and the probe chain after i closes up (backward shift). */
static void pend_remove_slot(grove_db_stripe_t *s, size_t i)
{
	size_t mask = s->pidx_cap - 1, j = s->pidx[i] - 1;
	pending_free(s, &s->pend[j]);
	s->pidx[i] = 0;
	for (size_t k = (i + 1) & mask; s->pidx[k]; k = (k + 1) & mask) {
		const grove_db_pending_t *p = &s->pend[s->pidx[k] - 1];
		size_t home = (size_t)p->hash & mask;
		/* k's record may move to i when i lies cyclically in [home, k) */
		if (((k - home) & mask) >= ((k - i) & mask)) {
			s->pidx[i] = s->pidx[k];
			s->pidx[k] = 0;
			i = k;
		}
	}
	size_t last = s->npend - 1;
	if (j != last) {
		s->pend[j] = s->pend[last];
		s->pidx[pend_slot_of(s, &s->pend[j])] = (uint32_t)(j + 1);
	}
	s->npend = last;
}

typedef struct pend_prep {
	grove_db_stripe_t *s;
	size_t count; /* copies made after pend[npend] */
	int rc;
} pend_prep_t;

/* Whether the prepared record (key, its value of vlen bytes or a delete)
 * goes into the block of the key's pending record in place (staged in
 * s->pin): that record's block holds it, and no copy of the key was
 * prepared before it (a copy replaces the record at _install, after the
 * staged ones). */
static bool pending_inplace(pend_prep_t *a, const uint8_t *key, size_t klen, const uint8_t *val,
			    size_t vlen, uint64_t h)
{
	grove_db_stripe_t *s = a->s;
	if (s->npend == 0 || s->npin == GROVE_DB_PEND_INPLACE_MAX)
		return false;
	uint32_t v = s->pidx[pend_probe_h(s, key, klen, h)];
	if (!v || s->pend[v - 1].cap < klen + vlen + 1)
		return false;
	for (size_t j = 0; j < a->count; j++) {
		const grove_db_pending_t *c = &s->pend[s->npend + j];
		if (c->klen == klen && memcmp(c->key, key, klen) == 0)
			return false;
	}
	s->pin[s->npin++] = (grove_db_pend_inplace_t){ .val = val, .vlen = vlen, .at = v - 1 };
	return true;
}

static void pending_copy(void *ctx, int op, const uint8_t *key, size_t klen, const uint8_t *val,
			 size_t vlen)
{
	pend_prep_t *a = ctx;
	/* the score index and the segment index: no writer reads them back
	 * (db_zset.c; a writer learns an element exists from its record,
	 * and the segment walks read the store, db_index.c) */
	if (a->rc || (klen && (key[0] == GROVE_DB_PFX_ZINDEX || key[0] == GROVE_DB_PFX_DIGEST)))
		return;
	if (op != GROVE_BATCH_PUT)
		vlen = 0;
	/* hashed once: the copy keeps it for _install's probe */
	uint64_t h = pend_hash(a->s, key, klen);
	if (pending_inplace(a, key, klen, op == GROVE_BATCH_PUT ? val : NULL, vlen, h))
		return;
	grove_db_pending_t *n = &a->s->pend[a->s->npend + a->count];
	*n = (grove_db_pending_t){ .klen = klen, .vlen = op == GROVE_BATCH_PUT ? vlen : 0, .hash = h };
	GROVE_ASSERT(klen + n->vlen < UINT32_MAX);
	n->key = pending_block(a->s, klen + n->vlen + 1, &n->cap);
	if (!n->key) {
		a->rc = GROVE_ENOMEM;
		return;
	}
	memcpy(n->key, key, klen);
	if (op == GROVE_BATCH_PUT) {
		n->val = n->key + klen;
		if (vlen)
			memcpy(n->val, val, vlen);
	}
	a->count++;
}

int grove_db__pending_prepare(grove_db_stripe_t *s, const grove_batch_t *b)
{
	GROVE_ASSERT(s->nprep == 0 && s->npin == 0);
	size_t need = s->npend + b->count;
	if (need > UINT32_MAX / 4)
		return GROVE_ENOMEM;
	if (need > s->pend_cap) {
		size_t cap = 2 * need;
		grove_db_pending_t *p = grove_realloc(s->pend, cap * sizeof(*p));
		if (!p)
			return GROVE_ENOMEM;
		s->pend = p;
		s->pend_cap = cap;
	}
	size_t icap = s->pidx_cap ? s->pidx_cap : PEND_INDEX_MIN;
	while (icap < 2 * need)
		icap *= 2;
	if (icap != s->pidx_cap) {
		int rc = pend_reindex(s, icap);
		if (rc)
			return rc;
	}
	pend_prep_t a = { .s = s };
	grove_batch_iterate(b, pending_copy, &a);
	s->nprep = a.count;
	if (a.rc)
		grove_db__pending_discard(s);
	return a.rc;
}

/* A record's kept item and scan (grove_db_pending_t's fields, or a
 * staged in-place record's) from the delta that wrote it. */
static void note_item(const grove_db_item_delta_t *d, bool *has_item,
		      uint8_t item[GROVE_DIGEST_BYTES], bool *has_scan, bool *tagged, uint64_t *max_ts)
{
	*has_item = true;
	memcpy(item, d->new_item, GROVE_DIGEST_BYTES);
	*has_scan = d->new_scan;
	*tagged = d->new_tagged;
	*max_ts = d->new_max_ts;
}

void grove_db__pending_note_items(grove_db_stripe_t *s, const grove_db_item_delta_t *deltas,
				  size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const grove_db_item_delta_t *d = &deltas[i];
		if (!d->has_new || !d->rkey)
			continue;
		/* the last copy of the key: the one _install keeps */
		bool found = false;
		for (size_t j = s->nprep; j > 0 && !found; j--) {
			grove_db_pending_t *p = &s->pend[s->npend + j - 1];
			if (p->klen != d->rlen || memcmp(p->key, d->rkey, d->rlen) != 0)
				continue;
			found = true;
			if (p->val)
				note_item(d, &p->has_item, p->item, &p->has_scan, &p->tagged, &p->max_ts);
		}
		/* else the last record of the key rewritten in place */
		for (unsigned j = s->npin; j > 0 && !found; j--) {
			grove_db_pend_inplace_t *x = &s->pin[j - 1];
			const grove_db_pending_t *p = &s->pend[x->at];
			if (p->klen != d->rlen || memcmp(p->key, d->rkey, d->rlen) != 0)
				continue;
			found = true;
			if (x->val)
				note_item(d, &x->has_item, x->item, &x->has_scan, &x->tagged, &x->max_ts);
		}
	}
}

int grove_db__pending_check_items(grove_db_t *db)
{
	int rc = 0;
	for (size_t i = 0; i < GROVE_DB_STRIPES; i++) {
		grove_db_stripe_t *s = &db->stripes[i];
		pthread_mutex_lock(&s->mu);
		for (size_t j = 0; j < s->npend && rc == 0; j++) {
			const grove_db_pending_t *p = &s->pend[j];
			uint8_t want[GROVE_DIGEST_BYTES];
			if (!p->has_item)
				continue;
			/* 'e' klen(2) key kind elem -> the item name kind klen(2) key elem */
			size_t kl = p->klen >= 3 ? (size_t)p->key[1] << 8 | p->key[2] : 0;
			uint8_t *name = p->val && p->klen >= 4 + kl && p->key[0] == GROVE_DB_PFX_ELEM
						? grove_malloc(p->klen - 1)
						: NULL;
			if (!name) {
				rc = GROVE_ECORRUPT;
				break;
			}
			name[0] = p->key[3 + kl];
			memcpy(name + 1, p->key + 1, 2 + kl);
			memcpy(name + 3 + kl, p->key + 4 + kl, p->klen - 4 - kl);
			grove_tree_item(name, p->klen - 1, p->val, p->vlen, want);
			int kind = name[0];
			grove_free(name);
			if (memcmp(want, p->item, GROVE_DIGEST_BYTES) != 0)
				rc = GROVE_ECORRUPT;
			size_t n; /* the kept scan: what a scan of val reads */
			uint64_t ts;
			bool tagged;
			if (rc == 0 && p->has_scan &&
			    (grove_elem_rec_scan(p->val, p->vlen, kind, &n, &ts, &tagged) != 0 ||
			     ts != p->max_ts || tagged != p->tagged))
				rc = GROVE_ECORRUPT;
		}
		pthread_mutex_unlock(&s->mu);
	}
	return rc;
}

void grove_db__pending_discard(grove_db_stripe_t *s)
{
	for (size_t j = 0; j < s->nprep; j++)
		pending_free(s, &s->pend[s->npend + j]);
	s->nprep = 0;
	s->npin = 0;
}

/* The staged in-place records into their blocks, in their order. */
static void pending_install_inplace(grove_db_stripe_t *s, uint64_t seq)
{
	for (unsigned j = 0; j < s->npin; j++) {
		const grove_db_pend_inplace_t *x = &s->pin[j];
		grove_db_pending_t *p = &s->pend[x->at];
		GROVE_ASSERT(x->at < s->npend && p->klen + x->vlen + 1 <= p->cap);
		p->val = x->val ? p->key + p->klen : NULL;
		if (x->vlen)
			memcpy(p->val, x->val, x->vlen);
		p->vlen = x->vlen;
		p->seq = seq;
		p->has_item = x->has_item;
		memcpy(p->item, x->item, GROVE_DIGEST_BYTES);
		p->has_scan = x->has_scan;
		p->tagged = x->tagged;
		p->max_ts = x->max_ts;
	}
	s->pin_done += s->npin;
	s->npin = 0;
}

void grove_db__pending_install(grove_db_stripe_t *s, uint64_t seq)
{
	pending_install_inplace(s, seq);
	/* a copy moves down to npend at most: never over one not yet taken */
	for (size_t j = 0, from = s->npend; j < s->nprep; j++) {
		grove_db_pending_t n = s->pend[from + j];
		n.seq = seq;
		size_t i = pend_probe_h(s, n.key, n.klen, n.hash);
		if (s->pidx[i]) { /* the key's older record: replaced */
			pending_free(s, &s->pend[s->pidx[i] - 1]);
			s->pend[s->pidx[i] - 1] = n;
			continue;
		}
		s->pend[s->npend] = n;
		s->pidx[i] = (uint32_t)(++s->npend);
	}
	s->nprep = 0;
	if (seq < s->pend_min)
		s->pend_min = seq;
	if (seq > s->pend_max)
		s->pend_max = seq;
}

int grove_db__pending_add(grove_db_stripe_t *s, const grove_batch_t *b, uint64_t seq)
{
	int rc = grove_db__pending_prepare(s, b);
	if (rc == 0)
		grove_db__pending_install(s, seq);
	return rc;
}

const grove_db_pending_t *grove_db__pending_find(const grove_db_stripe_t *s, const uint8_t *key,
						 size_t klen)
{
	if (s->npend == 0)
		return NULL;
	uint32_t v = s->pidx[pend_probe(s, key, klen)];
	return v ? &s->pend[v - 1] : NULL;
}

int grove_db__pending_get(grove_db_stripe_t *s, const uint8_t *key, size_t klen, uint8_t **val,
			  size_t *vlen)
{
	const grove_db_pending_t *p = grove_db__pending_find(s, key, klen);
	if (!p)
		return 0;
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

bool grove_db__pending_has(const grove_db_stripe_t *s, const uint8_t *key, size_t klen)
{
	return grove_db__pending_find(s, key, klen) != NULL;
}

static void pending_forget_op(void *ctx, int op, const uint8_t *key, size_t klen,
			      const uint8_t *val, size_t vlen)
{
	(void)op, (void)val, (void)vlen;
	grove_db_stripe_t *s = ctx;
	if (s->npend == 0)
		return;
	size_t i = pend_probe(s, key, klen);
	if (s->pidx[i])
		pend_remove_slot(s, i);
}

void grove_db__pending_forget(grove_db_stripe_t *s, const grove_batch_t *b)
{
	if (s->npend)
		grove_batch_iterate(b, pending_forget_op, s);
}

void grove_db__cache_drop_all(grove_db_t *db)
{
	for (size_t i = 0; i < GROVE_DB_STRIPES; i++)
		pthread_mutex_lock(&db->stripes[i].mu);
	for (size_t i = 0; i < GROVE_DB_CACHE_SLOTS; i++)
		if (db->cache[i].buf)
			grove_db__cache_drop(db, &db->cache[i]);
	for (size_t i = GROVE_DB_STRIPES; i > 0; i--)
		pthread_mutex_unlock(&db->stripes[i - 1].mu);
}

/* seq 0: all of them.  Backwards, so that the record pend_remove_slot
 * moves into a freed place was seen already: one probe per record
 * settled (by its kept hash), none for those kept (a full reindex per call made a pass of many
 * settles on one stripe quadratic). */
void grove_db__pending_settle(grove_db_stripe_t *s, uint64_t seq)
{
	GROVE_ASSERT(s->nprep == 0 && s->npin == 0);
	if (s->npend == 0 || (seq != 0 && s->pend_min > seq))
		return;
	if ((seq == 0 || s->pend_max <= seq) && 8 * s->npend >= s->pidx_cap) {
		/* every record, and they fill the index enough that clearing it
		 * whole costs less than a probe (key compares) per record: the
		 * usual end of a pipelined run's sync */
		for (size_t i = 0; i < s->npend; i++)
			pending_free(s, &s->pend[i]);
		memset(s->pidx, 0, s->pidx_cap * sizeof(*s->pidx));
		s->npend = 0;
		s->pend_min = UINT64_MAX;
		return;
	}
	uint64_t min = UINT64_MAX;
	for (size_t i = s->npend; i > 0; i--) {
		const grove_db_pending_t *p = &s->pend[i - 1];
		if (seq == 0 || p->seq <= seq)
			pend_remove_slot(s, pend_slot_of(s, p));
		else if (p->seq < min)
			min = p->seq;
	}
	s->pend_min = min;
}

void grove_db__pending_close(grove_db_stripe_t *s)
{
	grove_db__pending_settle(s, 0);
	while (s->npspare)
		grove_free(s->pspare[--s->npspare]);
	grove_free(s->pend);
	grove_free(s->pidx);
	s->pend = NULL;
	s->pidx = NULL;
	s->pend_cap = s->pidx_cap = 0;
}
