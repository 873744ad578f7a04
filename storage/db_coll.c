/*
 * db_coll.c - the write flow of every typed write, and collections stored
 * per element (doc/storage_format.md, doc/value_format.md).
 *
 * A write flows down once: key lock -> read the touched records (the head
 * 'u', the collection metadata 'k', the element 'e') -> apply (crdt/) ->
 * one batch (element record, its index record, metadata, head) -> commit
 * (durability mode) -> tree -> cache -> unlock -> change hook.
 *
 * Records of a collection key K:
 *   'u' K                    head: value encoding (type register, counter,
 *                            register, causal context in the set component)
 *                            + visible type byte; a tree item
 *   'k' K                    metadata (local, not replicated): live members,
 *                            live fields, accumulator of the live element
 *                            items, pending-delete context
 *   'e' klen K kind elem     element record (coll.h); a tree item
 *   'd' seg name             index of every tree item
 *   'g' klen K node 0 block  the context's cloud: the dots above the
 *                            head's vv, as bitmaps (db_cloud.c)
 * Counters and registers have a head only.
 *
 * A key delete (or a write that creates the key over hidden elements of a
 * lost type conflict) is durable and visible at once: it sets the counts
 * to zero and adds the key's context to the pending-delete context; reads
 * and merges filter element records through it; the covered records are
 * then removed in batches of PURGE_BATCH, releasing the key lock between
 * batches (grove_db__coll_purge), on the purge thread (purge_in_background)
 * or in the deleting call.  A 'p' key record marks a pending purge until
 * its last batch, so an interrupted one resumes at the next open.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "base/num.h"
#include "crdt/coll.h"
#include "crdt/hcount.h"
#include "crdt/listpos.h"
#include "crdt/zscore.h"
#include "storage/db_cloud_int.h"
#include "storage/db_coll_int.h"
#include "storage/le.h"

#define META_VERSION 1
#define META_VERSION_Z 2 /* with the sorted-set member count */
#define META_VERSION_L 3 /* with the list element count and bounds */
#define META_FIXED_BYTES (1 + 8 + 8 + 16)
#define META_FIXED_Z (META_FIXED_BYTES + 8)
#define META_FIXED_L (META_FIXED_Z + 8)
#define KIND_LAST GROVE_DB_KIND_LAST
#define PURGE_BATCH 512

/* ---- names and record keys ---- */

/* ename_t: db_coll_int.h */

/* The segment of element item name = kind, key length, key (klen bytes),
 * elem (doc/storage_format.md "Items and item names"): hash(name), except
 * for a list element with a well-formed id, whose segment is the hash of
 * (kind, key length, key, node, 00, counter >> GROVE_DB_LIST_SEG_BITS as
 * u64 BE) of the id's dot.  So a node's consecutive pushes to one list
 * share a segment, and their 'd' records go side by side in the store
 * instead of each to a random place of the index. */
static uint32_t elem_segment(const uint8_t *name, size_t nlen, int kind, size_t klen,
			     const uint8_t *elem, size_t elen)
{
	const uint8_t *node;
	size_t node_len;
	uint64_t counter;
	if (kind != GROVE_ITEM_LIST || !grove_listpos_dot(elem, elen, &node, &node_len, &counter))
		return grove_tree_segment(name, nlen);
	GROVE_ASSERT(klen <= GROVE_KEY_MAX && node_len <= GROVE_NODE_ID_MAX);
	uint8_t b[3 + GROVE_KEY_MAX + GROVE_NODE_ID_MAX + 1 + 8];
	size_t at = 3 + klen;
	memcpy(b, name, at);
	memcpy(b + at, node, node_len);
	at += node_len;
	b[at++] = 0;
	grove_be64_put(b + at, counter >> GROVE_DB_LIST_SEG_BITS);
	return grove_tree_segment(b, at + 8);
}

/* The element record key 'e' klen(2) key kind elem into r (room for
 * 4 + klen + elen bytes); returns its length. */
static size_t elem_rkey(uint8_t *r, const uint8_t *key, size_t klen, int kind, const void *elem,
			size_t elen)
{
	r[0] = GROVE_DB_PFX_ELEM;
	r[1] = (uint8_t)(klen >> 8);
	r[2] = (uint8_t)klen;
	memcpy(r + 3, key, klen);
	r[3 + klen] = (uint8_t)kind;
	if (elen)
		memcpy(r + 4 + klen, elem, elen);
	return 4 + klen + elen;
}

/* en's names for element elem of key k.  en (from grove_db__ename_take)
 * still holds the names of its last element: when that was this one (a
 * hot element's writes), they stand as they are, segment included, and
 * nothing is copied or hashed. */
static void ename_init(ename_t *en, const grove_db_key_t *k, int kind, const void *elem,
		       size_t elen)
{
	if (en->nlen == 3 + k->klen + elen && en->kind == kind && en->elen == elen &&
	    memcmp(en->name + 3, k->key, k->klen) == 0 &&
	    (!elen || memcmp(en->name + 3 + k->klen, elem, elen) == 0))
		return;
	en->kind = kind;
	en->elen = elen;
	uint8_t *n = en->name;
	n[0] = (uint8_t)kind;
	n[1] = (uint8_t)(k->klen >> 8);
	n[2] = (uint8_t)k->klen;
	memcpy(n + 3, k->key, k->klen);
	if (elen)
		memcpy(n + 3 + k->klen, elem, elen);
	en->nlen = 3 + k->klen + elen;
	en->elem = n + 3 + k->klen;
	en->rlen = elem_rkey(en->rkey, k->key, k->klen, kind, elem, elen);
	en->segment = elem_segment(en->name, en->nlen, kind, k->klen, en->elem, elen);
	en->dkey[0] = GROVE_DB_PFX_DIGEST;
	en->dkey[1] = (uint8_t)(en->segment >> 8);
	en->dkey[2] = (uint8_t)en->segment;
	memcpy(en->dkey + 3, en->name, en->nlen);
	en->dlen = 3 + en->nlen;
}

struct grove_db_ename *grove_db__ename_take(grove_db_t *db)
{
	for (int i = 0; i < GROVE_DB_ENAME_SPARES; i++) {
		ename_t *en = atomic_exchange(&db->ename_spare[i], NULL);
		if (en)
			return en;
	}
	ename_t *en = grove_malloc(sizeof(ename_t));
	if (en)
		en->nlen = 0; /* no names yet (ename_init) */
	return en;
}

void grove_db__ename_give(grove_db_t *db, struct grove_db_ename *en)
{
	for (int i = 0; en && i < GROVE_DB_ENAME_SPARES; i++) {
		ename_t *none = NULL;
		if (atomic_compare_exchange_strong(&db->ename_spare[i], &none, en))
			return;
	}
	grove_free(en);
}

void grove_db__ename_spares_free(grove_db_t *db)
{
	for (int i = 0; i < GROVE_DB_ENAME_SPARES; i++)
		grove_free(atomic_exchange(&db->ename_spare[i], NULL));
}

int grove_db_item_parse(const void *name, size_t nlen, int *kind, const uint8_t **key,
			size_t *klen, const uint8_t **elem, size_t *elen)
{
	const uint8_t *n = name;
	if (!n || nlen < 2 || nlen > GROVE_ITEM_NAME_MAX)
		return GROVE_EINVAL;
	if (n[0] == GROVE_ITEM_HEAD) {
		if (nlen - 1 > GROVE_KEY_MAX)
			return GROVE_EINVAL;
		*kind = GROVE_ITEM_HEAD;
		*key = n + 1;
		*klen = nlen - 1;
		*elem = NULL;
		*elen = 0;
		return 0;
	}
	if (n[0] < GROVE_ITEM_MEMBER || n[0] > GROVE_ITEM_LIST || nlen < 4)
		return GROVE_EINVAL;
	size_t kl = (size_t)n[1] << 8 | n[2];
	if (kl < 1 || kl > GROVE_KEY_MAX || kl > nlen - 3 || nlen - 3 - kl > GROVE_ELEM_MAX)
		return GROVE_EINVAL;
	*kind = n[0];
	*key = n + 3;
	*klen = kl;
	*elem = n + 3 + kl;
	*elen = nlen - 3 - kl;
	return 0;
}

uint32_t grove_db_item_segment(const void *name, size_t nlen)
{
	int kind;
	const uint8_t *key, *elem;
	size_t klen, elen;
	if (grove_db_item_parse(name, nlen, &kind, &key, &klen, &elem, &elen) != 0)
		return 0;
	return kind == GROVE_ITEM_HEAD ? grove_tree_segment(key, klen)
				       : elem_segment(name, nlen, kind, klen, elem, elen);
}

/* ---- accumulator of live element items (128-bit sum) ---- */

/* acc_t: db_coll_int.h */

static void acc_add(acc_t *a, const uint8_t item[GROVE_DIGEST_BYTES], bool sub)
{
	uint64_t lo = grove_le64_get(item), hi = grove_le64_get(item + 8);
	if (sub) {
		uint64_t nlo = a->lo - lo;
		a->hi = a->hi - hi - (a->lo < lo);
		a->lo = nlo;
	} else {
		uint64_t nlo = a->lo + lo;
		a->hi = a->hi + hi + (nlo < a->lo);
		a->lo = nlo;
	}
}

static void acc_bytes(const acc_t *a, uint8_t out[16])
{
	grove_le64_put(out, a->lo);
	grove_le64_put(out + 8, a->hi);
}

/* ---- metadata ---- */

/* meta_t: db_coll_int.h */

static void meta_free(meta_t *m)
{
	grove_ctx_free(&m->pctx);
	grove_free(m->bound[0]);
	grove_free(m->bound[1]);
	memset(m, 0, sizeof(*m));
}

static int meta_bound_set(meta_t *m, int which, const uint8_t *id, size_t len)
{
	GROVE_ASSERT(which == 0 || which == 1);
	uint8_t *p = len ? grove_malloc(len) : NULL;
	if (len && !p)
		return GROVE_ENOMEM;
	if (len)
		memcpy(p, id, len);
	grove_free(m->bound[which]);
	m->bound[which] = p;
	m->bound_len[which] = len;
	return 0;
}

/* A list element id written live: the bounds stay bounds (the first
 * element sets both). */
static int meta_bounds_widen(meta_t *m, const uint8_t *id, size_t len)
{
	bool first = m->count[GROVE_ELEM_LIST] == 0;
	int rc = 0;
	for (int i = 0; i < 2 && rc == 0; i++) {
		int c = m->bound[i] ? grove_key_cmp(id, len, m->bound[i], m->bound_len[i]) : 0;
		if (first || (m->bound[i] && (i == 0 ? c < 0 : c > 0)))
			rc = meta_bound_set(m, i, id, len);
	}
	return rc;
}

/* Version 3's list bounds at p[*at..len): each a u16 LE length (0: none)
 * and the id. */
static int meta_bounds_decode(const uint8_t *p, size_t len, size_t *at, meta_t *m)
{
	for (int b = 0; b < 2; b++) {
		if (len - *at < 2)
			return GROVE_ECORRUPT;
		size_t bl = (size_t)p[*at] | (size_t)p[*at + 1] << 8;
		*at += 2;
		if (bl > len - *at || bl > GROVE_ELEM_MAX)
			return GROVE_ECORRUPT;
		int rc = bl ? meta_bound_set(m, b, p + *at, bl) : 0;
		if (rc)
			return rc;
		*at += bl;
	}
	return 0;
}

static int meta_decode(const uint8_t *p, size_t len, meta_t *m)
{
	memset(m, 0, sizeof(*m));
	if (len < 1 || p[0] < META_VERSION || p[0] > META_VERSION_L)
		return GROVE_ECORRUPT;
	size_t fixed = p[0] == META_VERSION_L	? META_FIXED_L
		       : p[0] == META_VERSION_Z ? META_FIXED_Z
						: META_FIXED_BYTES;
	if (len < fixed)
		return GROVE_ECORRUPT;
	m->count[GROVE_ELEM_MEMBER] = grove_le64_get(p + 1);
	m->count[GROVE_ELEM_FIELD] = grove_le64_get(p + 9);
	m->acc.lo = grove_le64_get(p + 17);
	m->acc.hi = grove_le64_get(p + 25);
	if (p[0] >= META_VERSION_Z)
		m->count[GROVE_ELEM_ZMEMBER] = grove_le64_get(p + 33);
	if (p[0] == META_VERSION_L) {
		m->count[GROVE_ELEM_LIST] = grove_le64_get(p + 41);
		int rc = meta_bounds_decode(p, len, &fixed, m);
		if (rc)
			return rc;
	}
	if (len == fixed)
		return 0;
	int rc = grove_ctx_decode(p + fixed, len - fixed, &m->pctx);
	return rc == GROVE_ENOMEM ? rc : rc ? GROVE_ECORRUPT : 0;
}

size_t grove_db__item_state_max = GROVE_ITEM_STATE_MAX;

int grove_db__meta_check(const uint8_t *p, size_t len)
{
	meta_t m;
	int rc = meta_decode(p, len, &m);
	meta_free(&m);
	return rc;
}

/* Live elements of every kind. */
static uint64_t meta_total(const meta_t *m)
{
	uint64_t n = 0;
	for (int i = 1; i <= KIND_LAST; i++)
		n += m->count[i];
	return n;
}

static bool meta_empty(const meta_t *m)
{
	return !meta_total(m) && !m->acc.lo && !m->acc.hi && grove_ctx_empty(&m->pctx);
}

/* Version 1, or 2 when the key has sorted-set members, or 3 when it has
 * list elements (then with the list bounds). */
static int meta_encode(const meta_t *m, grove_buf_t *b)
{
	uint8_t f[META_FIXED_L];
	bool l = m->count[GROVE_ELEM_LIST] != 0, z = m->count[GROVE_ELEM_ZMEMBER] != 0;
	f[0] = l ? META_VERSION_L : z ? META_VERSION_Z : META_VERSION;
	grove_le64_put(f + 1, m->count[GROVE_ELEM_MEMBER]);
	grove_le64_put(f + 9, m->count[GROVE_ELEM_FIELD]);
	grove_le64_put(f + 17, m->acc.lo);
	grove_le64_put(f + 25, m->acc.hi);
	grove_le64_put(f + 33, m->count[GROVE_ELEM_ZMEMBER]);
	grove_le64_put(f + 41, m->count[GROVE_ELEM_LIST]);
	grove_buf_reset(b);
	grove_buf_append(b, f, l ? META_FIXED_L : z ? META_FIXED_Z : META_FIXED_BYTES);
	for (int i = 0; i < 2 && l; i++) {
		size_t bl = m->bound_len[i];
		uint8_t n[2] = { (uint8_t)bl, (uint8_t)(bl >> 8) };
		grove_buf_append(b, n, 2);
		if (bl)
			grove_buf_append(b, m->bound[i], bl);
	}
	if (grove_buf_failed(b))
		return GROVE_ENOMEM;
	return grove_ctx_empty(&m->pctx) ? 0 : grove_ctx_encode(b, &m->pctx);
}

static void meta_key(const grove_db_key_t *k, uint8_t *out)
{
	out[0] = GROVE_DB_PFX_KMETA;
	memcpy(out + 1, k->key, k->klen);
}

static int raw_copy(void *ctx, const uint8_t *val, size_t vlen)
{
	raw_t *r = ctx;
	r->p = vlen <= sizeof(r->in) ? r->in : grove_malloc(vlen ? vlen : 1);
	if (!r->p)
		return GROVE_ENOMEM;
	if (vlen)
		memcpy(r->p, val, vlen);
	r->len = vlen;
	return 0;
}

static void raw_free(raw_t *r)
{
	if (r->p != r->in)
		grove_free(r->p);
	r->p = NULL;
	r->len = 0;
}

/* A record read by a writer under the key's stripe lock into r: a
 * pending one (queued but not yet written) first, else the latest
 * committed one through the store's point cache, so a hot key's
 * metadata or element is a cache hit, not a LevelDB lookup (every
 * memtable and level).  No write of the key runs under its lock, and a
 * settled record is in the cache before it leaves the stripe's pending
 * set. */
static int raw_get(grove_db_t *db, const grove_db_key_t *locked, const uint8_t *key, size_t klen,
		   raw_t *r)
{
	const grove_db_pending_t *pd =
		grove_db__pending_find(&db->stripes[locked->stripe], key, klen);
	if (pd)
		return pd->val ? raw_copy(r, pd->val, pd->vlen) : GROVE_ENOTFOUND;
	return grove_store_read_latest(db->store, key, klen, raw_copy, r);
}

/* Key k's metadata into m: a writer's (raw: under the key lock, the
 * record kept in raw for coll_commit's comparison; raw->p NULL when
 * absent), else a reader's in snap. */
static int meta_read(grove_db_t *db, const grove_snapshot_t *snap, const grove_db_key_t *k,
		     meta_t *m, raw_t *raw)
{
	uint8_t mk[1 + GROVE_KEY_MAX];
	meta_key(k, mk);
	memset(m, 0, sizeof(*m));
	if (raw) {
		GROVE_ASSERT(!snap);
		raw->p = NULL;
		raw->len = 0;
		int rc = raw_get(db, k, mk, 1 + k->klen, raw);
		if (rc == GROVE_ENOTFOUND)
			return 0;
		return rc ? rc : meta_decode(raw->p, raw->len, m);
	}
	uint8_t *p = NULL;
	size_t len = 0;
	int rc = grove_store_get(db->store, snap, mk, 1 + k->klen, &p, &len);
	if (rc == GROVE_ENOTFOUND)
		return 0;
	if (rc == 0)
		rc = meta_decode(p, len, m);
	grove_free(p);
	return rc;
}

/* ---- element records ---- */

/* The tree item of an element record given its encoding. */
static void elem_item(const ename_t *en, const uint8_t *rec, size_t len,
		      uint8_t out[GROVE_DIGEST_BYTES])
{
	grove_tree_item(en->name, en->nlen, rec, len, out);
}

static int elem_item_of(const ename_t *en, const grove_elem_t *x, uint8_t out[GROVE_DIGEST_BYTES])
{
	grove_buf_t b = { 0 };
	int rc = grove_elem_encode(&b, x, en->kind);
	if (rc == 0)
		elem_item(en, b.data, b.len, out);
	grove_buf_close(&b);
	return rc;
}

/* ---- a key during one write ---- */

/* coll_t: db_coll_int.h */

/* The kept form of m (grove_db_cached_t.meta_kept): only a metadata
 * record without a pending delete or list bounds, whose live elements
 * are of one kind at most, is kept in the key's cache entry. */
static bool meta_keepable(const meta_t *m, int *kind)
{
	*kind = 0;
	if (!grove_ctx_empty(&m->pctx) || m->bound[0] || m->bound[1])
		return false;
	for (int i = 1; i <= KIND_LAST; i++) {
		if (!m->count[i])
			continue;
		if (*kind)
			return false;
		*kind = i;
	}
	return true;
}

/* After a commit under the key lock: e keeps m, which the store now
 * holds (or forgets what it kept, when m is not keepable: kind < 0). */
static void meta_keep(grove_db_cached_t *e, const meta_t *m, int kind)
{
	e->meta_kept = kind >= 0;
	kind = kind > 0 ? kind : 0;
	e->meta_kind = (uint8_t)kind;
	e->meta_count = kind ? m->count[kind] : 0;
	e->meta_acc[0] = m->acc.lo;
	e->meta_acc[1] = m->acc.hi;
}

/* A writer's metadata from the key's entry (meta_kept), instead of
 * reading and decoding the record: c->kept notes that the store holds
 * exactly m (coll_commit compares against it). */
static void meta_take_kept(coll_t *c, const grove_db_cached_t *e)
{
	GROVE_ASSERT(e->meta_kept && e->meta_kind <= KIND_LAST);
	memset(&c->m, 0, sizeof(c->m));
	if (e->meta_kind)
		c->m.count[e->meta_kind] = e->meta_count;
	c->m.acc.lo = e->meta_acc[0];
	c->m.acc.hi = e->meta_acc[1];
	c->kept = true;
	c->kept_kind = e->meta_kind;
	c->kept_count = e->meta_count;
	c->kept_acc = c->m.acc;
}

/* Whether the metadata record c's write started from exists (kept, or
 * read). */
static bool meta_had(const coll_t *c)
{
	return c->kept ? c->kept_count || c->kept_acc.lo || c->kept_acc.hi : c->meta_raw.p != NULL;
}

/* Whether m, not empty and encoded in b, is the record c's write started
 * from (then it is not written again); kind: meta_keepable's (< 0: not
 * keepable). */
static bool meta_same(const coll_t *c, const meta_t *m, const grove_buf_t *b, int kind)
{
	if (!c->kept)
		return c->meta_raw.p && c->meta_raw.len == b->len &&
		       memcmp(c->meta_raw.p, b->data, b->len) == 0;
	return kind >= 0 && kind == c->kept_kind &&
	       (kind ? m->count[kind] : 0) == c->kept_count && m->acc.lo == c->kept_acc.lo &&
	       m->acc.hi == c->kept_acc.hi;
}

static grove_ctx_t *coll_ctx(coll_t *c)
{
	return &c->st.v->set;
}

static int coll_load(coll_t *c, grove_db_t *db, const grove_db_key_t *k)
{
	memset(c, 0, sizeof(*c));
	c->db = db;
	c->k = k;
	grove_batch_t *spare = &db->stripes[k->stripe].extra_spare; /* its buffer, if any */
	c->extra = *spare;
	grove_batch_init(spare);
	grove_batch_clear(&c->extra);
	grove_db__cloud_init(&c->cl, db, k);
	int rc = grove_db__state_load(db, k, &c->st);
	c->loaded = true;
	if (rc == 0 && c->st.entry && c->st.entry->meta_kept)
		meta_take_kept(c, c->st.entry);
	else if (rc == 0)
		rc = meta_read(db, NULL, k, &c->m, &c->meta_raw);
	if (rc == 0) /* a head written with its cloud: it moves to records */
		rc = grove_db__cloud_migrate(&c->cl, coll_ctx(c));
	return rc;
}

/* Under the key lock, after the commit: the extra records' buffer goes
 * back to the stripe for the next write (unless big). */
static void coll_keep_extra(coll_t *c)
{
	grove_batch_t *spare = &c->db->stripes[c->k->stripe].extra_spare;
	if (!c->loaded || spare->buf || c->extra.cap_bytes > GROVE_DB_SCRATCH_KEEP_BYTES)
		return;
	*spare = c->extra;
	grove_batch_init(&c->extra);
}

static void coll_free(coll_t *c)
{
	if (!c->loaded)
		return;
	grove_db__state_free(&c->st);
	meta_free(&c->m);
	raw_free(&c->meta_raw);
	grove_batch_close(&c->extra);
	grove_db__cloud_free(&c->cl);
	c->loaded = false;
}

static grove_type_t type_of(const grove_value_t *v, const meta_t *m)
{
	switch ((grove_type_t)v->treg.type) {
	case GROVE_TYPE_SET:
		return m->count[GROVE_ELEM_MEMBER] ? GROVE_TYPE_SET : GROVE_TYPE_NONE;
	case GROVE_TYPE_MAP:
		return m->count[GROVE_ELEM_FIELD] ? GROVE_TYPE_MAP : GROVE_TYPE_NONE;
	case GROVE_TYPE_ZSET:
		return m->count[GROVE_ELEM_ZMEMBER] ? GROVE_TYPE_ZSET : GROVE_TYPE_NONE;
	case GROVE_TYPE_LIST:
		return m->count[GROVE_ELEM_LIST] ? GROVE_TYPE_LIST : GROVE_TYPE_NONE;
	case GROVE_TYPE_NONE:
		/* elements arrived before the head that created the key: they
		 * name its type (members first when both came) */
		if (v->treg.id.ts == 0 && m->count[GROVE_ELEM_MEMBER])
			return GROVE_TYPE_SET;
		if (v->treg.id.ts == 0 && m->count[GROVE_ELEM_FIELD])
			return GROVE_TYPE_MAP;
		if (v->treg.id.ts == 0 && m->count[GROVE_ELEM_ZMEMBER])
			return GROVE_TYPE_ZSET;
		if (v->treg.id.ts == 0 && m->count[GROVE_ELEM_LIST])
			return GROVE_TYPE_LIST;
		return grove_value_type(v);
	default:
		return grove_value_type(v);
	}
}

static int dot_qcmp(const void *a, const void *b)
{
	return grove_value__dot_cmp(a, b);
}

/* The part of the key's context that decides the dots of x and extra:
 * the vv and the cloud dots among them (a cut context: O(dots) point
 * reads, whatever the cloud's size). */
static int ctx_for(coll_t *c, const grove_elem_t *x, const grove_value__dot_t *extra,
		   size_t nextra, grove_ctx_t *out)
{
	memset(out, 0, sizeof(*out));
	const grove_ctx_t *h = coll_ctx(c);
	int rc = grove_ctx_copy(out, h);
	for (size_t i = 0; i < x->len + nextra && rc == 0; i++) {
		const grove_value__dot_t *d = i < x->len ? &x->e[i].dot : &extra[i - x->len];
		bool has;
		if (grove_value__vv_get(&h->vv, d->node) >= d->counter ||
		    (rc = grove_db__cloud_has(&c->cl, h, d, &has)) != 0 || !has)
			continue;
		rc = grove_grow((void **)&out->cloud.d, &out->cloud.cap, out->cloud.len + 1,
				sizeof(*out->cloud.d), 0, 0);
		if (rc == 0)
			out->cloud.d[out->cloud.len++] = *d;
	}
	if (rc == 0 && out->cloud.len > 1) {
		qsort(out->cloud.d, out->cloud.len, sizeof(*out->cloud.d), dot_qcmp);
		size_t u = 0;
		for (size_t i = 0; i < out->cloud.len; i++)
			if (!u || grove_value__dot_cmp(&out->cloud.d[u - 1], &out->cloud.d[i]) != 0)
				out->cloud.d[u++] = out->cloud.d[i];
		out->cloud.len = u;
	}
	if (rc)
		grove_ctx_free(out);
	return rc;
}

/* Element en's record as a writer reads it under the key lock, in
 * place: a queued one (*pd; a hot element of pipelined writes), else,
 * unless the presence set tells it is absent, the store's latest copied
 * into r.  *rec NULL: none (absent, or deleted while queued). */
static int elem_raw(coll_t *c, const ename_t *en, raw_t *r, const grove_db_pending_t **pd,
		    const uint8_t **rec, size_t *len)
{
	*rec = NULL;
	*len = 0;
	*pd = grove_db__pending_find(&c->db->stripes[c->k->stripe], en->rkey, en->rlen);
	if (*pd) {
		*rec = (*pd)->val;
		*len = (*pd)->vlen;
		return 0;
	}
	if (en->kind != GROVE_ELEM_LIST) { /* its presence set */
		if (!c->pres_begun) {
			c->pres_begun = true;
			grove_db__presence_begin(c);
		}
		if (grove_db__presence_absent(c->db, c->k, en->rkey + 3 + c->k->klen,
					      en->rlen - 3 - c->k->klen))
			return 0;
	}
	int rc = grove_store_read_latest(c->db->store, en->rkey, en->rlen, raw_copy, r);
	if (rc == 0) {
		*rec = r->p;
		*len = r->len;
	}
	return rc == GROVE_ENOTFOUND ? 0 : rc;
}

/* Loads element en: raw (as stored) and l (filtered by the pending
 * delete); *had: a record exists; raw_item: its tree item. */
static int elem_load(coll_t *c, const grove_snapshot_t *snap, const ename_t *en, grove_elem_t *l,
		     bool *had, uint8_t raw_item[GROVE_DIGEST_BYTES])
{
	uint8_t *p = NULL; /* a reader's copy (snap) */
	raw_t r = { 0 };   /* a writer's */
	const grove_db_pending_t *pd = NULL;
	const uint8_t *rec = NULL;
	size_t len = 0;
	memset(l, 0, sizeof(*l));
	*had = false;
	c->zraw_has = false;
	c->raw_live = false;
	int rc = 0;
	if (snap) {
		rc = grove_store_get(c->db->store, snap, en->rkey, en->rlen, &p, &len);
		rec = p;
	} else {
		rc = elem_raw(c, en, &r, &pd, &rec, &len);
	}
	if (rc == GROVE_ENOTFOUND || (rc == 0 && !rec))
		return 0;
	if (rc)
		return rc;
	rc = grove_elem_decode(rec, len, en->kind, l);
	if (rc == 0) {
		*had = true;
		if (raw_item && pd && pd->has_item) /* hashed by the write that queued it */
			memcpy(raw_item, pd->item, GROVE_DIGEST_BYTES);
		else if (raw_item)
			elem_item(en, rec, len, raw_item);
		if (en->kind == GROVE_ELEM_ZMEMBER) /* its index key holds this score */
			c->zraw_has = grove_zscore_eval(l, &c->zraw) == 0;
		c->raw_live = grove_elem_filter(l, &c->m.pctx) == 0 && raw_item;
	}
	grove_free(p);
	raw_free(&r);
	return rc == 0 || rc == GROVE_ENOMEM ? rc : GROVE_ECORRUPT;
}

/* The tree item of the element l that elem_load just loaded (with
 * raw_item): raw_item itself when nothing was filtered out, else hashed
 * again over l's encoding.  Saves one hash per write of an existing
 * element. */
static int elem_live_item(const coll_t *c, const ename_t *en, const grove_elem_t *l,
			  const uint8_t raw_item[GROVE_DIGEST_BYTES],
			  uint8_t out[GROVE_DIGEST_BYTES])
{
	if (c->raw_live) {
		memcpy(out, raw_item, GROVE_DIGEST_BYTES);
		return 0;
	}
	return elem_item_of(en, l, out);
}

/* b, a copy of the stripe's encoding buffer *enc grown by one use, goes
 * back to it (freed when grown beyond the keep size). */
static void enc_keep(grove_buf_t *enc, grove_buf_t *b)
{
	if (b->cap > GROVE_DB_SCRATCH_KEEP_BYTES) {
		grove_buf_close(b);
		grove_buf_init(b, 0);
	}
	*enc = *b;
}

/* Replaces element en's logical record old (live or empty) by x: writes
 * or deletes its record, its index record and tree delta; keeps count and
 * accumulator. */
static int elem_store(coll_t *c, const ename_t *en, bool had, const uint8_t raw_item[16],
		      const uint8_t *old_item, const grove_elem_t *x)
{
	if (c->nd == (c->dx ? c->dx_cap : GROVE_DB_ITEM_DELTAS_MAX))
		return GROVE_EINVAL;
	int rc = 0;
	if (old_item) {
		acc_add(&c->m.acc, old_item, true);
		c->m.count[en->kind]--;
	}
	grove_db_item_delta_t *d = c->dx ? &c->dx[c->nd] : &c->deltas[c->nd];
	memset(d, 0, sizeof(*d));
	d->segment = en->segment;
	d->had_old = had;
	if (had)
		memcpy(d->old_item, raw_item, GROVE_DIGEST_BYTES);
	if (x->len == 0) {
		if (had) {
			rc = grove_batch_delete(&c->extra, en->rkey, en->rlen);
			if (rc == 0)
				rc = grove_batch_delete(&c->extra, en->dkey, en->dlen);
		}
	} else {
		/* the record after its tree item prefix (name length, name):
		 * hashed in one piece */
		grove_buf_t *enc = &c->db->stripes[c->k->stripe].enc, b = *enc;
		size_t pre = GROVE_TREE_ITEM_PREFIX_BYTES(en->nlen);
		grove_buf_reset(&b);
		if (grove_buf_reserve(&b, pre)) {
			grove_tree_item_prefix(b.data, en->name, en->nlen);
			b.len = pre;
		}
		rc = grove_elem_encode(&b, x, en->kind);
		/* the key's presence set holds it before any put; a record that
		 * exists (had) is in the set already (db_presence.c's invariant) */
		if (rc == 0 && !had)
			grove_db__presence_note(c->db, c->k, en->rkey + 3 + c->k->klen,
						en->rlen - 3 - c->k->klen);
		if (rc == 0)
			rc = grove_batch_put(&c->extra, en->rkey, en->rlen, b.data + pre, b.len - pre);
		if (rc == 0 && en->kind == GROVE_ELEM_LIST)
			rc = meta_bounds_widen(&c->m, en->elem, en->elen);
		if (rc == 0 && !had)
			rc = grove_batch_put(&c->extra, en->dkey, en->dlen, NULL, 0);
		if (rc == 0) {
			grove_tree_item_bytes(b.data, b.len, d->new_item);
			d->has_new = true;
			d->rkey = en->rkey;
			d->rlen = en->rlen;
			/* a field's scan, for the next HSET (add_in_place) */
			d->new_scan = en->kind == GROVE_ELEM_FIELD;
			if (d->new_scan)
				d->new_max_ts = grove_elem_max_ts(x);
			for (size_t i = 0; d->new_scan && i < x->len; i++)
				d->new_tagged = d->new_tagged || x->e[i].tag;
			acc_add(&c->m.acc, d->new_item, false);
			c->m.count[en->kind]++;
		}
		enc_keep(enc, &b);
	}
	if (rc == 0 && (d->had_old || d->has_new))
		c->nd++;
	if (rc == 0 && en->kind == GROVE_ELEM_ZMEMBER) { /* the score index, same batch */
		double s = 0;
		bool has = x->len && grove_zscore_eval(x, &s) == 0;
		int64_t zc = grove_ctx_empty(&c->m.pctx) ? (int64_t)c->m.count[GROVE_ELEM_ZMEMBER]
							  : -1; /* counts kept: no pending delete */
		rc = grove_db__zindex_move(c->db, &c->extra, c->k, zc, en->elem, en->elen,
					   c->zraw_has, c->zraw, has, s);
		c->zraw_has = has;
		c->zraw = s;
	}
	return rc;
}

/* A key delete of the elements: every element this replica holds is
 * covered by the key's context; it becomes the pending-delete context. */
static int coll_delete_elements(coll_t *c)
{
	if (!meta_total(&c->m))
		return 0;
	grove_ctx_t full; /* O(cloud), once per key delete */
	int rc = grove_db__cloud_load(&c->cl, coll_ctx(c), &full);
	if (rc)
		return rc;
	rc = grove_ctx_union(&c->m.pctx, &full);
	grove_ctx_free(&full);
	if (rc)
		return rc;
	memset(c->m.count, 0, sizeof(c->m.count));
	c->m.acc = (acc_t){ 0 };
	c->purge = true;
	return 0;
}

/* Adds the metadata record to the batch when it changed, and commits. */
static int coll_commit(coll_t *c, bool *wrote)
{
	grove_buf_t *enc = &c->db->stripes[c->k->stripe].enc, b = *enc;
	grove_buf_reset(&b);
	int rc = grove_db__cloud_flush(&c->cl, &c->extra);
	uint8_t mk[1 + GROVE_KEY_MAX];
	meta_key(c->k, mk);
	int kind; /* the element kind of a keepable m, else -1 */
	if (!meta_keepable(&c->m, &kind))
		kind = -1;
	if (rc) {
	} else if (meta_empty(&c->m)) {
		if (meta_had(c))
			rc = grove_batch_delete(&c->extra, mk, 1 + c->k->klen);
	} else {
		rc = meta_encode(&c->m, &b);
		if (rc == 0 && !meta_same(c, &c->m, &b, kind))
			rc = grove_batch_put(&c->extra, mk, 1 + c->k->klen, b.data, b.len);
	}
	enc_keep(enc, &b);
	if (rc == 0 && c->purge) { /* resumed at the next open if interrupted */
		uint8_t pk[1 + GROVE_KEY_MAX];
		pk[0] = GROVE_DB_PFX_PURGE;
		memcpy(pk + 1, c->k->key, c->k->klen);
		rc = grove_batch_put(&c->extra, pk, 1 + c->k->klen, NULL, 0);
	}
	if (rc)
		return rc;
	c->st.has_type = true;
	c->st.type = type_of(c->st.v, &c->m);
	c->st.extra = c->extra.count ? &c->extra : NULL;
	c->st.deltas = c->dx ? c->dx : c->deltas;
	c->st.ndeltas = c->nd;
	/* a never-written key left blank with nothing else to write: nothing */
	const grove_value_t *v = c->st.v;
	if (!c->st.rec && !c->st.extra && v->treg.id.ts == 0 && v->counter.len == 0 &&
	    !v->reg.has && v->reg.tomb.ts == 0 && grove_ctx_empty(coll_ctx(c)) &&
	    v->map.live.len == 0 && v->map.tomb.len == 0) {
		*wrote = false;
		return 0;
	}
	rc = grove_db__state_commit(c->db, c->k, &c->st, wrote);
	if (rc == 0 && !c->st.unlocked) { /* the key's entry (installed by the commit or kept) */
		grove_db_cached_t *e = grove_db__cache_find(c->db, c->k);
		if (e) /* what this commit leaves */
			meta_keep(e, &c->m, kind);
		if (e) /* a new entry learns what this write knew of the cloud */
			grove_db__cloud_known_keep(&c->cl, e);
	}
	return rc;
}

/* ---- hook ---- */

void grove_db__call_hooks(grove_db_t *db, const void *elem, size_t elen, const void *head,
			  size_t hlen)
{
	if (!atomic_load(&db->hook) || (!elem && !head))
		return;
	pthread_mutex_lock(&db->hook_mu);
	grove_db_change_fn fn = db->hook;
	void *ctx = db->hook_ctx;
	pthread_mutex_unlock(&db->hook_mu);
	if (fn && elem)
		fn(ctx, elem, elen);
	if (fn && head)
		fn(ctx, head, hlen);
}

/* ---- typed writes ---- */

enum { OP_COUNTER, OP_REGISTER, OP_SADD, OP_SREM, OP_HSET, OP_HDEL, OP_DEL, OP_ZSET, OP_EXPIRE,
       OP_PERSIST, OP_EXPIRE_DUE };

typedef struct wop {
	int what;
	const void *a;
	size_t alen;
	const void *b;
	size_t blen;
	int64_t delta;
	bool from_register; /* OP_COUNTER: a register holding an integer converts */
	bool replace_counter; /* OP_REGISTER: a live counter is deleted first */
	bool want_value;
	int64_t out_i64;
	bool out_flag;
	grove_db__zop_fn zfn; /* OP_ZSET: decides the member's write */
	void *zctx;
	int ttl_mode;   /* OP_REGISTER: GROVE_DB_TTL_* */
	uint64_t at_ms; /* OP_REGISTER with GROVE_DB_TTL_AT, OP_EXPIRE: the deadline */
	unsigned flags; /* OP_EXPIRE: GROVE_EXPIRE_* */
	uint64_t due_at; /* OP_EXPIRE_DUE: the deadline of the index entry */
} wop_t;

static int op_kind(int what)
{
	return what == OP_SADD || what == OP_SREM ? GROVE_ELEM_MEMBER
	       : what == OP_ZSET		  ? GROVE_ELEM_ZMEMBER
						  : GROVE_ELEM_FIELD;
}

static grove_type_t kind_type(int kind)
{
	return kind == GROVE_ELEM_MEMBER ? GROVE_TYPE_SET
	       : kind == GROVE_ELEM_FIELD ? GROVE_TYPE_MAP
					  : GROVE_TYPE_ZSET;
}

/* After rc, a write that turned the key into another type (INCR on a
 * string, SET KEEPTTL on a counter: the old state deleted, observed-
 * remove, TTL included), writes the deadline at the key had back, as
 * Redis keeps a TTL across them; returns rc. */
static int keep_ttl(coll_t *c, const char *node, uint64_t at, int rc)
{
	if (rc || !at || grove_expiry_get(c->st.v) == at)
		return rc;
	uint64_t ts;
	rc = grove_db__hlc_local(c->db, grove_value_max_ts(c->st.v), &ts);
	return rc ? rc : grove_expiry_set(c->st.v, node, ts, at);
}

/* Counter and register writes, and key deletes: the head changes. */
static int apply_head(coll_t *c, wop_t *o, grove_type_t vis, const char *node)
{
	grove_value_t *v = c->st.v;
	if (o->what == OP_DEL) {
		o->out_flag = vis != GROVE_TYPE_NONE;
		if (!o->out_flag)
			return 0; /* nothing visible to remove: left as is */
		int rc = grove_value_delete(v, node, 0);
		return rc ? rc : coll_delete_elements(c);
	}
	grove_type_t want = o->what == OP_COUNTER ? GROVE_TYPE_COUNTER : GROVE_TYPE_REGISTER;
	if (o->what == OP_COUNTER && o->from_register && vis == GROVE_TYPE_REGISTER) {
		uint64_t at = grove_expiry_get(v); /* before the conversion clears it */
		int rc = grove_pncounter_from_register(v, node, o->delta, &o->out_i64);
		return keep_ttl(c, node, at, rc);
	}
	uint64_t kept = 0; /* KEEPTTL over a replaced counter */
	if (o->what == OP_REGISTER && o->replace_counter && vis == GROVE_TYPE_COUNTER) {
		kept = o->ttl_mode == GROVE_DB_TTL_KEEP ? grove_expiry_get(v) : 0;
		int rc = grove_value_delete(v, node, 0); /* observed reset, then a creation */
		if (rc)
			return rc;
		vis = GROVE_TYPE_NONE;
	}
	if (vis != want && vis != GROVE_TYPE_NONE)
		return GROVE_EWRONGTYPE;
	int rc = vis == GROVE_TYPE_NONE ? coll_delete_elements(c) : 0; /* hidden ones */
	if (rc)
		return rc;
	if (o->what == OP_REGISTER) {
		uint64_t ts;
		rc = grove_db__hlc_local(c->db, grove_value_max_ts(v), &ts);
		if (rc == 0)
			rc = grove_lwwreg_set(v, node, ts, o->a, o->alen);
		if (rc == 0 && o->ttl_mode == GROVE_DB_TTL_CLEAR)
			grove_expiry_clear(v); /* SET: removes the TTL it saw */
		if (rc == 0 && o->ttl_mode == GROVE_DB_TTL_AT)
			rc = grove_expiry_set(v, node, ts, o->at_ms);
		return kept ? keep_ttl(c, node, kept, rc) : rc;
	}
	rc = grove_pncounter_add(v, node, o->delta);
	if (rc == 0 && o->want_value)
		rc = grove_pncounter_get(v, &o->out_i64);
	if (rc == GROVE_ENOTFOUND) { /* adding 0 to an absent counter: reads 0 */
		o->out_i64 = 0;
		rc = 0;
	}
	return rc;
}

int grove_db__elem_new_dot(coll_t *c, uint64_t elem_ts, uint64_t *ts, grove_value__dot_t *d)
{
	int rc = 0;
	if (ts) {
		uint64_t hm = grove_value_max_ts(c->st.v);
		rc = grove_db__hlc_local(c->db, elem_ts > hm ? elem_ts : hm, ts);
	}
	if (rc == 0)
		rc = grove_db__cloud_next_dot(&c->cl, coll_ctx(c), c->db->node_id, d);
	return rc ? rc : grove_db__cloud_add(&c->cl, coll_ctx(c), d);
}

/* An SADD or HSET of element en of a key without a pending delete: the
 * new entry does not depend on the old ones (a member's; a field's when
 * none is a counter field's tagged entry, whose baselines an HSET carries
 * on), so the write reads the record in place for what it needs, never
 * decoding it: whether it holds entries (scanned, with their greatest
 * timestamp; a member record this node queued with its tree item known,
 * a hot member of pipelined writes, from its first byte) and its tree
 * item (a queued record's from the write that queued it, else hashed).
 * Returns 1 when it ran (rc in *rc), 0 to take the general path. */
static int add_in_place(coll_t *c, wop_t *o, const ename_t *en, int *rc)
{
	if (!grove_ctx_empty(&c->m.pctx) || c->db->add_in_place_off)
		return 0;
	raw_t r; /* its buffer is written only by a store read */
	r.p = NULL;
	r.len = 0;
	const grove_db_pending_t *pd;
	const uint8_t *rec;
	size_t len;
	*rc = elem_raw(c, en, &r, &pd, &rec, &len);
	if (*rc)
		return 1;
	bool had = rec != NULL, field = en->kind == GROVE_ELEM_FIELD, live = false;
	bool known = had && pd && pd->has_item;
	uint64_t elem_ts = 0;
	size_t n;
	bool tagged;
	uint8_t raw_item[GROVE_DIGEST_BYTES];
	if (known && (!field || pd->has_scan)) { /* a field's scan kept with it */
		live = grove_elem_rec_has_entries(rec, len);
		elem_ts = field ? pd->max_ts : 0;
		if (field && pd->tagged) {
			raw_free(&r);
			return 0; /* the general path carries the counter's baselines */
		}
	} else if (had) {
		if (grove_elem_rec_scan(rec, len, en->kind, &n, &elem_ts, &tagged) != 0 || tagged) {
			raw_free(&r);
			return 0; /* the general path decodes it (and answers its error) */
		}
		live = n > 0;
	}
	if (known)
		memcpy(raw_item, pd->item, GROVE_DIGEST_BYTES);
	else if (had)
		elem_item(en, rec, len, raw_item);
	raw_free(&r);
	o->out_flag = !live;
	uint64_t ts = 0; /* a member's dot takes no timestamp */
	grove_value__dot_t d;
	*rc = grove_db__elem_new_dot(c, elem_ts, field ? &ts : NULL, &d);
	if (*rc == 0) { /* the new record, only encoded: a view of the value */
		grove_elem_t x;
		grove_entry_t e;
		grove_elem_one_view(&x, &e, &d, ts, field ? o->b : NULL, field ? o->blen : 0);
		*rc = elem_store(c, en, had, raw_item, live ? raw_item : NULL, &x);
	}
	return 1;
}

static int apply_elem(coll_t *c, wop_t *o, grove_type_t vis, const char *node, ename_t *en)
{
	int kind = op_kind(o->what);
	grove_type_t want = kind_type(kind);
	bool adding = o->what == OP_SADD || o->what == OP_HSET;
	if (vis != want && vis != GROVE_TYPE_NONE)
		return GROVE_EWRONGTYPE;
	if (!adding && vis == GROVE_TYPE_NONE)
		return 0; /* removing from an empty key: a no-op */
	int rc;
	if (adding && vis == want && add_in_place(c, o, en, &rc))
		return rc;
	grove_elem_t l, x = { 0 };
	bool had;
	uint8_t raw_item[GROVE_DIGEST_BYTES];
	rc = elem_load(c, NULL, en, &l, &had, raw_item);
	if (rc)
		return rc;
	o->out_flag = adding ? l.len == 0 : l.len > 0;
	uint8_t old_item[GROVE_DIGEST_BYTES];
	if (l.len && (rc = elem_live_item(c, en, &l, raw_item, old_item)) != 0) {
		grove_elem_free(&l);
		return rc;
	}
	if (!adding) {
		rc = l.len ? elem_store(c, en, had, raw_item, old_item, &x) : 0;
		grove_elem_free(&l);
		return rc;
	}
	if (vis == GROVE_TYPE_NONE) { /* creating write: hidden state goes */
		rc = coll_delete_elements(c);
		if (rc == 0)
			rc = grove_value_create_as(c->st.v, want, node);
		if (rc == 0 && had) { /* the delete covers the element's entries */
			grove_elem_free(&l);
			rc = elem_load(c, NULL, en, &l, &had, raw_item);
			o->out_flag = true;
		}
	}
	uint64_t ts = 0;
	grove_value__dot_t d;
	if (rc == 0)
		rc = grove_db__elem_new_dot(c, grove_elem_max_ts(&l), kind == GROVE_ELEM_FIELD ? &ts : NULL,
					    &d);
	if (rc == 0)
		rc = kind == GROVE_ELEM_FIELD ? grove_hfield_set(&l, &d, ts, o->b, o->blen, &x)
					      : grove_elem_set_one(&x, &d, ts, NULL, 0);
	if (rc == 0)
		rc = elem_store(c, en, had, raw_item, l.len ? old_item : NULL, &x);
	grove_elem_free(&l);
	grove_elem_free(&x);
	return rc;
}

/* Whether EXPIRE's condition (NX, XX, GT, LT; Redis 7.0) lets deadline at
 * replace cur (0: no TTL, an infinite one for GT and LT). */
static bool expire_allowed(unsigned flags, uint64_t cur, uint64_t at)
{
	if ((flags & GROVE_EXPIRE_NX) && cur)
		return false;
	if ((flags & GROVE_EXPIRE_XX) && !cur)
		return false;
	if ((flags & GROVE_EXPIRE_GT) && (!cur || at <= cur))
		return false;
	if ((flags & GROVE_EXPIRE_LT) && cur && at >= cur)
		return false;
	return true;
}

/* EXPIRE (a deadline) and PERSIST (a write of "no TTL") on a live key; a
 * deadline already past deletes the key (observed-remove), as Redis does. */
static int apply_ttl(coll_t *c, wop_t *o, grove_type_t vis, const char *node)
{
	grove_value_t *v = c->st.v;
	uint64_t cur = grove_expiry_get(v);
	o->out_flag = false;
	if (vis == GROVE_TYPE_NONE)
		return 0;
	if (o->what == OP_PERSIST ? cur == 0 : !expire_allowed(o->flags, cur, o->at_ms))
		return 0;
	o->out_flag = true;
	if (o->what == OP_EXPIRE && o->at_ms <= grove_db__now_ms(c->db)) {
		int rc = grove_value_delete(v, node, 0);
		return rc ? rc : coll_delete_elements(c);
	}
	uint64_t ts;
	int rc = grove_db__hlc_local(c->db, grove_value_max_ts(v), &ts);
	return rc ? rc : grove_expiry_set(v, node, ts, o->what == OP_PERSIST ? 0 : o->at_ms);
}

/* Before any write: a key whose deadline has passed is removed first, as
 * by DEL (observed-remove: what this replica holds, its TTL included), so
 * the write starts a new key; *vis becomes none.  Counted once per visible
 * key removed. */
static int expire_due(coll_t *c, grove_type_t *vis, const char *node, bool *expired)
{
	grove_value_t *v = c->st.v;
	*expired = false;
	if (!grove_db__expired_now(c->db, grove_expiry_get(v)))
		return 0;
	int rc = grove_value_delete(v, node, 0); /* clears the TTL too */
	if (rc == 0)
		rc = coll_delete_elements(c);
	if (rc == 0 && *vis != GROVE_TYPE_NONE)
		*expired = true;
	*vis = GROVE_TYPE_NONE;
	return rc;
}

/* A sorted-set member's write: the caller's zfn decides from the member's
 * live entries (none when the key reads as empty) what to write. */
static int apply_zelem(coll_t *c, wop_t *o, grove_type_t vis, const char *node, ename_t *en)
{
	if (vis != GROVE_TYPE_ZSET && vis != GROVE_TYPE_NONE)
		return GROVE_EWRONGTYPE;
	grove_elem_t l, x = { 0 };
	bool had;
	uint8_t raw_item[GROVE_DIGEST_BYTES], old_item[GROVE_DIGEST_BYTES];
	int rc = elem_load(c, NULL, en, &l, &had, raw_item);
	if (rc)
		return rc;
	static const grove_elem_t none = { 0 };
	grove_db__zop_t op = { 0 };
	rc = o->zfn(o->zctx, vis == GROVE_TYPE_NONE ? &none : &l, &op);
	if (rc == 0 && l.len)
		rc = elem_live_item(c, en, &l, raw_item, old_item);
	if (rc || op.action == GROVE_DB_ZOP_NONE)
		goto out;
	if (op.action == GROVE_DB_ZOP_REM) {
		if (vis == GROVE_TYPE_ZSET && l.len)
			rc = elem_store(c, en, had, raw_item, old_item, &x);
		o->out_flag = vis == GROVE_TYPE_ZSET && l.len;
		goto out;
	}
	if (vis == GROVE_TYPE_NONE) { /* creating write: hidden state goes */
		rc = coll_delete_elements(c);
		if (rc == 0)
			rc = grove_value_create_as(c->st.v, GROVE_TYPE_ZSET, node);
		if (rc == 0 && had) {
			grove_elem_free(&l);
			rc = elem_load(c, NULL, en, &l, &had, raw_item);
			if (rc == 0 && l.len)
				rc = elem_live_item(c, en, &l, raw_item, old_item);
		}
	}
	uint64_t ts = 0;
	grove_value__dot_t d;
	if (rc == 0)
		rc = grove_db__elem_new_dot(c, grove_elem_max_ts(&l), &ts, &d);
	if (rc == 0)
		rc = op.action == GROVE_DB_ZOP_SET ? grove_zscore_set(&l, &d, ts, op.value, &x)
						   : grove_zscore_incr(&l, &d, ts, op.value, &x);
	if (rc == 0)
		rc = elem_store(c, en, had, raw_item, l.len ? old_item : NULL, &x);
	if (rc == 0) {
		o->out_flag = true;
		rc = grove_zscore_eval(&x, &op.value);
		o->out_i64 = 0;
		memcpy(&o->out_i64, &op.value, sizeof(op.value));
	}
out:
	grove_elem_free(&l);
	grove_elem_free(&x);
	return rc;
}

static int check_sizes(const wop_t *o)
{
	switch (o->what) {
	case OP_REGISTER:
		return o->alen > GROVE_REGISTER_VALUE_MAX ? GROVE_ETOOBIG : 0;
	case OP_SADD:
	case OP_SREM:
	case OP_HDEL:
	case OP_ZSET:
		return o->alen > GROVE_ELEM_MAX ? GROVE_ETOOBIG : !o->a && o->alen ? GROVE_EINVAL : 0;
	case OP_HSET:
		if (o->alen > GROVE_ELEM_MAX || o->blen > GROVE_FIELD_VALUE_MAX)
			return GROVE_ETOOBIG;
		return (!o->a && o->alen) || (!o->b && o->blen) ? GROVE_EINVAL : 0;
	default:
		return 0;
	}
}

static int write_key(grove_db_t *db, const void *key, size_t klen, wop_t *o)
{
	grove_db_key_t k;
	int rc = grove_db__key_prepare_writer(db, &k, key, klen);
	if (rc == 0)
		rc = check_sizes(o);
	if (rc)
		return rc;
	bool elem = (o->what >= OP_SADD && o->what <= OP_HDEL) || o->what == OP_ZSET;
	ename_t *en = NULL;
	if (elem) {
		en = grove_db__ename_take(db);
		if (!en)
			return GROVE_ENOMEM;
		ename_init(en, &k, op_kind(o->what), o->a, o->alen);
	}
	coll_t c;
	bool wrote = false, expired = false;
	pthread_mutex_lock(&db->stripes[k.stripe].mu);
	rc = coll_load(&c, db, &k);
	grove_type_t vis = GROVE_TYPE_NONE;
	if (rc == 0) {
		vis = type_of(c.st.v, &c.m);
		rc = expire_due(&c, &vis, db->node_id, &expired);
	}
	if (rc == 0 && o->what == OP_EXPIRE_DUE)
		o->out_flag = expired;
	else if (rc == 0)
		rc = o->what == OP_ZSET				  ? apply_zelem(&c, o, vis, db->node_id, en)
		     : elem					  ? apply_elem(&c, o, vis, db->node_id, en)
		     : o->what == OP_EXPIRE || o->what == OP_PERSIST ? apply_ttl(&c, o, vis, db->node_id)
								  : apply_head(&c, o, vis, db->node_id);
	if (rc == 0)
		rc = coll_commit(&c, &wrote);
	coll_keep_extra(&c);
	pthread_mutex_unlock(&db->stripes[k.stripe].mu);
	bool purge = c.purge && rc == 0;
	coll_free(&c);
	if (rc == 0 && expired)
		atomic_fetch_add(&db->expired_keys, 1);
	if (wrote) {
		atomic_fetch_add(&db->writes, 1);
		bool head = !elem || o->what == OP_SADD || o->what == OP_HSET || o->what == OP_ZSET;
		grove_db__call_hooks(db, elem ? en->name : NULL, elem ? en->nlen : 0,
				     head ? k.drec + 3 : NULL, 1 + klen);
	}
	grove_db__ename_give(db, en);
	if (purge)
		rc = grove_db__purge_request(db, key, klen);
	return rc;
}

static int write_flag(grove_db_t *db, const void *key, size_t klen, wop_t *o, bool *flag)
{
	int rc = write_key(db, key, klen, o);
	if (rc == 0 && flag)
		*flag = o->out_flag;
	return rc;
}

int grove_db_counter_add(grove_db_t *db, const void *key, size_t klen, int64_t delta,
			 int64_t *new_value)
{
	wop_t o = { .what = OP_COUNTER, .delta = delta, .want_value = new_value != NULL };
	int rc = write_key(db, key, klen, &o);
	if (rc == 0 && new_value)
		*new_value = o.out_i64;
	return rc;
}

int grove_db_counter_incr(grove_db_t *db, const void *key, size_t klen, int64_t delta,
			  int64_t *new_value)
{
	wop_t o = { .what = OP_COUNTER, .delta = delta, .from_register = true, .want_value = true };
	int rc = write_key(db, key, klen, &o);
	if (rc == 0 && new_value)
		*new_value = o.out_i64;
	return rc;
}

int grove_db_string_set(grove_db_t *db, const void *key, size_t klen, const void *val, size_t vlen)
{
	return grove_db_string_write(db, key, klen, val, vlen, GROVE_DB_TTL_CLEAR, 0);
}

/* A register write (SET's TTL rules); replace: a live counter is replaced. */
static int register_write(grove_db_t *db, const void *key, size_t klen, const void *val,
			  size_t vlen, int ttl_mode, uint64_t at_ms, bool replace)
{
	if (ttl_mode < GROVE_DB_TTL_CLEAR || ttl_mode > GROVE_DB_TTL_AT ||
	    (ttl_mode == GROVE_DB_TTL_AT && (at_ms == 0 || at_ms > GROVE_EXPIRY_AT_MAX)))
		return GROVE_EINVAL;
	wop_t o = { .what = OP_REGISTER, .a = val, .alen = vlen, .ttl_mode = ttl_mode,
		    .at_ms = at_ms, .replace_counter = replace };
	return write_key(db, key, klen, &o);
}

int grove_db_string_write(grove_db_t *db, const void *key, size_t klen, const void *val,
			  size_t vlen, int ttl_mode, uint64_t at_ms)
{
	return register_write(db, key, klen, val, vlen, ttl_mode, at_ms, true);
}

int grove_db_register_set(grove_db_t *db, const void *key, size_t klen, const void *val,
			  size_t vlen)
{
	return grove_db_register_write(db, key, klen, val, vlen, GROVE_DB_TTL_CLEAR, 0);
}

int grove_db_register_write(grove_db_t *db, const void *key, size_t klen, const void *val,
			    size_t vlen, int ttl_mode, uint64_t at_ms)
{
	return register_write(db, key, klen, val, vlen, ttl_mode, at_ms, false);
}

int grove_db_expire(grove_db_t *db, const void *key, size_t klen, uint64_t at_ms, unsigned flags,
		    bool *set)
{
	if (at_ms > GROVE_EXPIRY_AT_MAX || (flags & ~(GROVE_EXPIRE_NX | GROVE_EXPIRE_XX |
						      GROVE_EXPIRE_GT | GROVE_EXPIRE_LT)))
		return GROVE_EINVAL;
	wop_t o = { .what = OP_EXPIRE, .at_ms = at_ms, .flags = flags };
	return write_flag(db, key, klen, &o, set);
}

int grove_db_persist(grove_db_t *db, const void *key, size_t klen, bool *removed)
{
	wop_t o = { .what = OP_PERSIST };
	return write_flag(db, key, klen, &o, removed);
}

int grove_db__expire_key(grove_db_t *db, const void *key, size_t klen, bool *expired)
{
	wop_t o = { .what = OP_EXPIRE_DUE };
	return write_flag(db, key, klen, &o, expired);
}

int grove_db_set_add(grove_db_t *db, const void *key, size_t klen, const void *elem, size_t elen,
		     bool *added)
{
	wop_t o = { .what = OP_SADD, .a = elem, .alen = elen };
	return write_flag(db, key, klen, &o, added);
}

int grove_db_set_remove(grove_db_t *db, const void *key, size_t klen, const void *elem,
			size_t elen, bool *removed)
{
	wop_t o = { .what = OP_SREM, .a = elem, .alen = elen };
	return write_flag(db, key, klen, &o, removed);
}

int grove_db_map_set(grove_db_t *db, const void *key, size_t klen, const void *field,
		     size_t flen, const void *val, size_t vlen, bool *created)
{
	wop_t o = { .what = OP_HSET, .a = field, .alen = flen, .b = val, .blen = vlen };
	return write_flag(db, key, klen, &o, created);
}

int grove_db_map_delete(grove_db_t *db, const void *key, size_t klen, const void *field,
			size_t flen, bool *removed)
{
	wop_t o = { .what = OP_HDEL, .a = field, .alen = flen };
	return write_flag(db, key, klen, &o, removed);
}

int grove_db__zset_write(grove_db_t *db, const void *key, size_t klen, const void *member,
			 size_t mlen, grove_db__zop_fn fn, void *ctx, bool *changed, double *score)
{
	wop_t o = { .what = OP_ZSET, .a = member, .alen = mlen, .zfn = fn, .zctx = ctx };
	int rc = write_key(db, key, klen, &o);
	if (rc == 0) {
		if (changed)
			*changed = o.out_flag;
		if (score)
			memcpy(score, &o.out_i64, sizeof(*score));
	}
	return rc;
}

int grove_db_delete(grove_db_t *db, const void *key, size_t klen, bool *existed)
{
	wop_t o = { .what = OP_DEL };
	return write_flag(db, key, klen, &o, existed);
}

/* ---- reads ---- */

/* A head record read through the point cache: its type and deadline. */
typedef struct {
	grove_type_t type;
	uint64_t deadline;
} head_dec_t;

static int head_dec(void *ctx, const uint8_t *rec, size_t len)
{
	head_dec_t *h = ctx;
	if (len < 1)
		return GROVE_ECORRUPT;
	h->type = grove_db__rec_type(rec, len);
	h->deadline = grove_db__rec_deadline(rec, len);
	return 0;
}

static int meta_dec(void *ctx, const uint8_t *rec, size_t len)
{
	return meta_decode(rec, len, ctx);
}

/* The key's head and metadata as read_head reads them, but the latest
 * committed records through the store's point cache (store.h; a hit makes
 * no LevelDB lookup): the caller brackets it with grove_store_read_begin
 * and _end, which tell whether both belong to one state.  m is read only
 * when *type is want.  next (or NULL): the element the caller reads next,
 * whose cache entry is prefetched meanwhile. */
static int read_head_latest(grove_db_t *db, const grove_db_key_t *k, grove_type_t want,
			    const ename_t *next, grove_type_t *type, meta_t *m)
{
	head_dec_t h = { GROVE_TYPE_NONE, 0 };
	memset(m, 0, sizeof(*m));
	*type = GROVE_TYPE_NONE;
	uint64_t hint = 0;
	if (next) { /* the element read next: its cache set comes meanwhile */
		hint = grove_store_read_hint(db->store, next->rkey, next->rlen);
		grove_store_read_prefetch_slots(db->store, &hint, 1);
	}
	int rc = grove_store_read_latest(db->store, k->urec, 1 + k->klen, head_dec, &h);
	if (rc)
		return rc == GROVE_ENOTFOUND ? 0 : rc;
	(void)grove_store_read_prefetch_entries(db->store, &hint, 1);
	*type = grove_db__expired_now(db, h.deadline) ? GROVE_TYPE_NONE : h.type;
	if (*type != want)
		return 0;
	uint8_t mk[1 + GROVE_KEY_MAX];
	meta_key(k, mk);
	rc = grove_store_read_latest(db->store, mk, 1 + k->klen, meta_dec, m);
	return rc == GROVE_ENOTFOUND ? 0 : rc;
}

/* The key's head record and metadata in snap: *type its visible type. */
static int read_head(grove_db_t *db, const grove_snapshot_t *snap, const grove_db_key_t *k,
		     grove_type_t *type, meta_t *m)
{
	uint8_t *rec = NULL;
	size_t len = 0;
	if (m)
		memset(m, 0, sizeof(*m));
	int rc = grove_store_get(db->store, snap, k->urec, 1 + k->klen, &rec, &len);
	if (rc == GROVE_ENOTFOUND) {
		*type = GROVE_TYPE_NONE;
		return 0;
	}
	if (rc)
		return rc;
	*type = len >= 1 ? grove_db__rec_type(rec, len) : GROVE_TYPE_NONE;
	if (len >= 1 && grove_db__expired_now(db, grove_db__rec_deadline(rec, len)))
		*type = GROVE_TYPE_NONE; /* hidden at once; active expiry removes it */
	grove_free(rec);
	if (len < 1)
		return GROVE_ECORRUPT;
	return m ? meta_read(db, snap, k, m, NULL) : 0;
}

int grove_db_type(grove_db_t *db, const void *key, size_t klen, grove_type_t *out)
{
	grove_db_key_t k;
	int rc = grove_db__key_prepare(&k, key, klen);
	return rc ? rc : read_head(db, NULL, &k, out, NULL);
}

/* A read through the point cache alone met a write: read again in a
 * snapshot. */
#define READ_AGAIN 2

/* Snapshot + type check + metadata for one collection read.  Returns 1
 * when the key reads as empty.  seq (NULL: not wanted): the head and
 * metadata through the point cache (no LevelDB lookup on a hit) when no
 * write of cached keys began or ran from before the snapshot was taken to
 * after they were read: they are then the snapshot's (every write of a
 * key's head or metadata bumps the sequence), and *seq, that sequence
 * (even), stays valid for element reads after it; else *seq is odd. */
static int coll_read_begin(grove_db_t *db, const grove_db_key_t *k, grove_type_t want,
			   grove_snapshot_t **snap, meta_t *m, uint64_t *seq)
{
	uint64_t at = seq ? grove_store_read_begin(db->store) : 1;
	int rc = grove_snapshot_create(db->store, snap);
	if (rc)
		return rc;
	grove_type_t t = GROVE_TYPE_NONE;
	rc = READ_AGAIN;
	if (!(at & 1)) {
		rc = read_head_latest(db, k, want, NULL, &t, m);
		if (!grove_store_read_end(db->store, at)) {
			meta_free(m);
			rc = READ_AGAIN;
		}
	}
	if (rc == READ_AGAIN) {
		at = 1;
		rc = read_head(db, *snap, k, &t, m);
	}
	if (seq)
		*seq = at;
	if (rc == 0 && t != want)
		rc = t == GROVE_TYPE_NONE ? 1 : GROVE_EWRONGTYPE;
	if (rc) {
		meta_free(m);
		grove_snapshot_release(db->store, *snap);
		*snap = NULL;
	}
	return rc;
}

/* A reader's element en: its latest committed record (the store's point
 * cache, store.h: no lookup in the store when it holds it), filtered by
 * pctx, the pending delete of the head and metadata the reader read in its
 * snapshot.  The record may be newer than that snapshot: the answer is
 * then the element as some write racing the read left it, and the
 * pending delete only grows until the purge removes what it covers. */
typedef struct {
	int kind;
	grove_elem_t *out;
} elem_dec_t;

static int elem_dec(void *ctx, const uint8_t *rec, size_t len)
{
	elem_dec_t *d = ctx;
	return grove_elem_decode(rec, len, d->kind, d->out);
}

static int elem_read_latest(grove_db_t *db, const ename_t *en, const grove_ctx_t *pctx,
			    grove_elem_t *out, bool near)
{
	elem_dec_t d = { en->kind, out };
	/* a miss fills the key's next elements of the kind too (near) */
	int rc = grove_store_read_latest_near(db->store, en->rkey, en->rlen,
					      near ? en->rlen - en->elen : 0, elem_dec, &d);
	if (rc == GROVE_ENOTFOUND)
		return 0;
	if (rc == 0)
		grove_elem_filter(out, pctx);
	return rc == 0 || rc == GROVE_ENOMEM || rc == GROVE_EIO ? rc : GROVE_ECORRUPT;
}

/* read_elem from the point cache alone: head, metadata and element as
 * one state (grove_store_read_begin/_end), no snapshot.  READ_AGAIN when
 * a write ran meanwhile (*out left empty): the caller reads in a snapshot. */
static int read_elem_latest(grove_db_t *db, const grove_db_key_t *k, const ename_t *en,
			    grove_elem_t *out)
{
	uint64_t seq = grove_store_read_begin(db->store);
	if (seq & 1)
		return READ_AGAIN;
	grove_type_t want = kind_type(en->kind), t;
	meta_t m;
	int rc = read_head_latest(db, k, want, en, &t, &m);
	if (rc == 0 && t != want)
		rc = t == GROVE_TYPE_NONE ? 1 : GROVE_EWRONGTYPE;
	if (rc == 0)
		rc = elem_read_latest(db, en, &m.pctx, out, true);
	meta_free(&m);
	if (grove_store_read_end(db->store, seq))
		return rc;
	grove_elem_free(out);
	memset(out, 0, sizeof(*out));
	return READ_AGAIN;
}

static int read_elem(grove_db_t *db, const void *key, size_t klen, int kind, const void *elem,
		     size_t elen, grove_elem_t *out)
{
	grove_db_key_t k;
	memset(out, 0, sizeof(*out));
	int rc = grove_db__key_prepare(&k, key, klen);
	if (rc)
		return rc;
	if (elen > GROVE_ELEM_MAX || (!elem && elen))
		return elen > GROVE_ELEM_MAX ? 1 : GROVE_EINVAL; /* too long to be stored */
	ename_t *en = grove_db__ename_take(db);
	if (!en)
		return GROVE_ENOMEM;
	ename_init(en, &k, kind, elem, elen);
	rc = read_elem_latest(db, &k, en, out);
	if (rc == READ_AGAIN) { /* a write ran: the head and metadata in a snapshot */
		grove_snapshot_t *snap;
		meta_t m;
		rc = coll_read_begin(db, &k, kind_type(kind), &snap, &m, NULL);
		if (rc == 0) {
			rc = elem_read_latest(db, en, &m.pctx, out, true);
			meta_free(&m);
			grove_snapshot_release(db->store, snap);
		}
	}
	grove_db__ename_give(db, en);
	return rc;
}

uint64_t grove_db_read_hint(grove_db_t *db, const void *key, size_t klen, grove_type_t type,
			    const void *elem, size_t elen)
{
	int kind = type == GROVE_TYPE_SET ? GROVE_ELEM_MEMBER
		   : type == GROVE_TYPE_MAP ? GROVE_ELEM_FIELD
					    : -1;
	uint8_t r[GROVE_DB_PREFETCH_KEY_MAX];
	if (kind < 0 || !key || klen == 0 || (!elem && elen) ||
	    4 + klen + elen > GROVE_DB_PREFETCH_KEY_MAX)
		return 0; /* keys too long for it read as before */
	return grove_store_read_hint(db->store, r, elem_rkey(r, key, klen, kind, elem, elen));
}

_Static_assert(GROVE_DB_PREFETCH_READS <= GROVE_STORE_PREFETCH_MAX, "prefetch group");

void grove_db_read_prefetch_slots(grove_db_t *db, const uint64_t *hints, size_t n)
{
	grove_store_read_prefetch_slots(db->store, hints, n);
}

void grove_db_read_prefetch_entries(grove_db_t *db, const uint64_t *hints, size_t n)
{
	(void)grove_store_read_prefetch_entries(db->store, hints, n);
}

int grove_db__zset_member(grove_db_t *db, const void *key, size_t klen, const void *member,
			  size_t mlen, grove_elem_t *out)
{
	return read_elem(db, key, klen, GROVE_ELEM_ZMEMBER, member, mlen, out);
}

int grove_db__zset_read_begin(grove_db_t *db, const grove_db_key_t *k, grove_snapshot_t **snap,
			      uint64_t *count, grove_ctx_t *pctx, uint64_t *seq)
{
	meta_t m;
	int rc = coll_read_begin(db, k, GROVE_TYPE_ZSET, snap, &m, seq);
	if (rc)
		return rc;
	*count = m.count[GROVE_ELEM_ZMEMBER];
	*pctx = m.pctx;
	memset(&m.pctx, 0, sizeof(m.pctx));
	meta_free(&m);
	return 0;
}

int grove_db__zset_member_in(grove_db_t *db, const grove_snapshot_t *snap, uint64_t seq,
			     const grove_db_key_t *k, const grove_ctx_t *pctx, const void *member,
			     size_t mlen, grove_elem_t *out)
{
	memset(out, 0, sizeof(*out));
	ename_t *en = grove_db__ename_take(db);
	if (!en)
		return GROVE_ENOMEM;
	ename_init(en, k, GROVE_ELEM_ZMEMBER, member, mlen);
	/* through the point cache while no write began since seq: the
	 * snapshot's record then; a miss fills nothing more (a ZRANK reads a
	 * member's record only when the rank cache's hint lacks it: its
	 * neighbours in name order are no likelier to come next, and
	 * filling 256 of them cost more than the read) */
	int rc = READ_AGAIN;
	if (!(seq & 1)) {
		rc = elem_read_latest(db, en, pctx, out, false);
		if (rc == 0 && !grove_store_read_end(db->store, seq))
			rc = READ_AGAIN;
		if (rc != 0) {
			grove_elem_free(out);
			memset(out, 0, sizeof(*out));
		}
	}
	if (rc != READ_AGAIN) {
		grove_db__ename_give(db, en);
		return rc;
	}
	uint8_t *p = NULL;
	size_t len = 0;
	rc = grove_store_get(db->store, snap, en->rkey, en->rlen, &p, &len);
	grove_db__ename_give(db, en);
	if (rc == GROVE_ENOTFOUND)
		return 0;
	if (rc == 0)
		rc = grove_elem_decode(p, len, GROVE_ELEM_ZMEMBER, out);
	grove_free(p);
	if (rc == 0 && pctx)
		grove_elem_filter(out, pctx);
	return rc == 0 || rc == GROVE_ENOMEM ? rc : GROVE_ECORRUPT;
}

int grove_db_set_contains(grove_db_t *db, const void *key, size_t klen, const void *elem,
			  size_t elen, bool *out)
{
	grove_elem_t x;
	int rc = read_elem(db, key, klen, GROVE_ELEM_MEMBER, elem, elen, &x);
	if (rc < 0)
		return rc;
	*out = rc == 0 && x.len > 0;
	grove_elem_free(&x);
	return 0;
}

int grove_db_map_lookup(grove_db_t *db, const void *key, size_t klen, const void *field,
			size_t flen, uint8_t **val, size_t *vlen, bool *counter)
{
	grove_elem_t x;
	int rc = read_elem(db, key, klen, GROVE_ELEM_FIELD, field, flen, &x);
	if (rc < 0)
		return rc;
	grove_hfield_val_t v;
	rc = rc == 0 ? grove_hfield_eval(&x, &v) : GROVE_ENOTFOUND;
	uint8_t *p = rc == 0 ? grove_malloc(v.len ? v.len : 1) : NULL;
	if (p) {
		if (v.len)
			memcpy(p, v.p, v.len);
		*val = p;
		*vlen = v.len;
		if (counter)
			*counter = v.counter;
	}
	grove_elem_free(&x);
	return rc ? rc : p ? 0 : GROVE_ENOMEM;
}

int grove_db_map_get(grove_db_t *db, const void *key, size_t klen, const void *field, size_t flen,
		     uint8_t **val, size_t *vlen)
{
	return grove_db_map_lookup(db, key, klen, field, flen, val, vlen, NULL);
}

int grove_db_coll_count(grove_db_t *db, const void *key, size_t klen, grove_type_t type,
			uint64_t *out)
{
	if (type != GROVE_TYPE_SET && type != GROVE_TYPE_MAP && type != GROVE_TYPE_ZSET &&
	    type != GROVE_TYPE_LIST)
		return GROVE_EINVAL;
	grove_db_key_t k;
	int rc = grove_db__key_prepare(&k, key, klen);
	if (rc)
		return rc;
	grove_type_t t;
	meta_t m;
	rc = read_head(db, NULL, &k, &t, &m);
	if (rc == 0 && t != type && t != GROVE_TYPE_NONE)
		rc = GROVE_EWRONGTYPE;
	if (rc == 0)
		*out = t == GROVE_TYPE_NONE ? 0
		       : type == GROVE_TYPE_SET ? m.count[GROVE_ELEM_MEMBER]
		       : type == GROVE_TYPE_MAP ? m.count[GROVE_ELEM_FIELD]
		       : type == GROVE_TYPE_LIST ? m.count[GROVE_ELEM_LIST]
						 : m.count[GROVE_ELEM_ZMEMBER];
	meta_free(&m);
	return rc;
}

/* Walks the element records of one key and kind in snap from >= start;
 * fn gets each record's name part, decoded (unfiltered). */
typedef int (*elem_rec_fn)(void *ctx, const uint8_t *elem, size_t elen, const uint8_t *rec,
			   size_t rlen);

static size_t elem_prefix(const grove_db_key_t *k, int kind, uint8_t *out)
{
	out[0] = GROVE_DB_PFX_ELEM;
	out[1] = (uint8_t)(k->klen >> 8);
	out[2] = (uint8_t)k->klen;
	memcpy(out + 3, k->key, k->klen);
	if (kind == 0)
		return 3 + k->klen;
	out[3 + k->klen] = (uint8_t)kind;
	return 4 + k->klen;
}

typedef struct scan_ctx {
	grove_db_elem_fn fn;
	void *ctx;
	const meta_t *m;
	int kind;
	size_t plen, max, visited;
	bool stopped;
	uint8_t *next;
	size_t next_len;
	int rc;
} scan_ctx_t;

static int scan_rec(void *vctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	scan_ctx_t *s = vctx;
	const uint8_t *elem = key + s->plen;
	size_t elen = klen - s->plen;
	if (s->stopped) {
		s->next = grove_malloc(elen ? elen : 1);
		if (!s->next)
			s->rc = GROVE_ENOMEM;
		else if (elen)
			memcpy(s->next, elem, elen);
		s->next_len = elen;
		return 1;
	}
	grove_elem_t x;
	int rc = grove_elem_decode(val, vlen, s->kind, &x);
	if (rc) {
		s->rc = rc == GROVE_ENOMEM ? rc : GROVE_ECORRUPT;
		return 1;
	}
	grove_elem_filter(&x, &s->m->pctx);
	const grove_entry_t *w = grove_elem_winner(&x);
	double score = 0;
	grove_hfield_val_t hv = { .p = w ? w->val.p : NULL, .len = w ? w->val.len : 0 };
	if (w && s->kind == GROVE_ELEM_ZMEMBER && grove_zscore_eval(&x, &score) != 0)
		w = NULL;
	if (w && s->kind == GROVE_ELEM_FIELD && grove_hfield_eval(&x, &hv) != 0)
		w = NULL;
	if (w) {
		s->visited++;
		int stop = s->kind == GROVE_ELEM_ZMEMBER
				   ? s->fn(s->ctx, elem, elen, &score, sizeof(score))
				   : s->fn(s->ctx, elem, elen, hv.p, hv.len);
		if (stop != 0 || s->visited >= s->max)
			s->stopped = true;
	}
	grove_elem_free(&x);
	return 0;
}

int grove_db_coll_scan(grove_db_t *db, const void *key, size_t klen, grove_type_t type,
		       const void *start, size_t slen, size_t max, grove_db_elem_fn fn, void *ctx,
		       uint8_t **next, size_t *next_len)
{
	if ((type != GROVE_TYPE_SET && type != GROVE_TYPE_MAP && type != GROVE_TYPE_ZSET) || !fn ||
	    max == 0 || slen > GROVE_ELEM_MAX)
		return GROVE_EINVAL;
	grove_db_key_t k;
	int rc = grove_db__key_prepare(&k, key, klen);
	if (rc)
		return rc;
	if (next)
		*next = NULL;
	if (next_len)
		*next_len = 0;
	grove_snapshot_t *snap;
	meta_t m;
	rc = coll_read_begin(db, &k, type, &snap, &m, NULL);
	if (rc == 1)
		return 0;
	if (rc)
		return rc;
	int kind = type == GROVE_TYPE_SET ? GROVE_ELEM_MEMBER
		   : type == GROVE_TYPE_MAP ? GROVE_ELEM_FIELD
					    : GROVE_ELEM_ZMEMBER;
	uint8_t *lo = grove_malloc(ELEM_REC_MAX), hi[4 + GROVE_KEY_MAX];
	if (!lo) {
		meta_free(&m);
		grove_snapshot_release(db->store, snap);
		return GROVE_ENOMEM;
	}
	size_t plen = elem_prefix(&k, kind, lo);
	memcpy(hi, lo, plen);
	hi[plen - 1]++; /* the next kind: end of this one */
	if (start && slen)
		memcpy(lo + plen, start, slen);
	scan_ctx_t s = { .fn = fn, .ctx = ctx, .m = &m, .kind = kind, .plen = plen, .max = max };
	rc = grove_store_scan(db->store, snap, lo, plen + (start ? slen : 0), hi, plen, scan_rec, &s);
	if (rc == 0)
		rc = s.rc;
	grove_free(lo);
	meta_free(&m);
	grove_snapshot_release(db->store, snap);
	if (rc == 0 && next) {
		*next = s.next;
		if (next_len)
			*next_len = s.next_len;
	} else {
		grove_free(s.next);
	}
	return rc;
}

/* ---- materialized value ---- */

typedef struct mat_ctx {
	grove_value_t *v;
	const meta_t *m;
	size_t plen;
	int rc;
} mat_ctx_t;

static int mat_rec(void *vctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	mat_ctx_t *mc = vctx;
	if (klen <= mc->plen - 1) {
		mc->rc = GROVE_ECORRUPT;
		return 1;
	}
	int kind = key[mc->plen - 1];
	const uint8_t *elem = key + mc->plen;
	size_t elen = klen - mc->plen;
	grove_elem_t x;
	int rc = kind >= GROVE_ELEM_MEMBER && kind <= KIND_LAST
			 ? grove_elem_decode(val, vlen, kind, &x)
			 : GROVE_ECORRUPT;
	if (rc) {
		mc->rc = rc == GROVE_ENOMEM ? rc : GROVE_ECORRUPT;
		return 1;
	}
	grove_elem_filter(&x, &mc->m->pctx);
	grove_value_t *v = mc->v;
	if (x.len && kind == GROVE_ELEM_MEMBER) {
		grove_value__elem_t e = { 0 };
		rc = grove_grow((void **)&v->set.e, &v->set.cap, v->set.len + 1,
					      sizeof(e), 0, 0);
		if (!rc)
			rc = grove_value__blob_set(&e.elem, elem, elen);
		if (!rc)
			rc = grove_grow((void **)&e.dots.d, &e.dots.cap, x.len,
						      sizeof(*e.dots.d), 0, 0);
		for (size_t i = 0; i < x.len && !rc; i++)
			e.dots.d[e.dots.len++] = x.e[i].dot;
		if (rc) {
			grove_value__blob_free(&e.elem);
			grove_free(e.dots.d);
		} else {
			v->set.e[v->set.len++] = e;
		}
	} else if (x.len && kind == GROVE_ELEM_FIELD) {
		const grove_entry_t *w = grove_elem_winner(&x);
		grove_hfield_val_t hv;
		grove_value__field_t f = { .has = true };
		rc = grove_hfield_eval(&x, &hv); /* x is not empty */
		f.id.ts = w->ts;
		memcpy(f.id.node, w->dot.node, sizeof(f.id.node));
		grove_value__fields_t *fs = &v->map.live;
		if (!rc)
			rc = grove_grow((void **)&fs->f, &fs->cap, fs->len + 1, sizeof(f), 0, 0);
		if (!rc)
			rc = grove_value__blob_set(&f.field, elem, elen);
		if (!rc)
			rc = grove_value__blob_set(&f.val, hv.p, hv.len);
		if (rc) {
			grove_value__blob_free(&f.field);
			grove_value__blob_free(&f.val);
		} else {
			fs->f[fs->len++] = f;
		}
	}
	grove_elem_free(&x);
	mc->rc = rc;
	return rc != 0;
}

int grove_db__materialize(grove_db_t *db, const grove_db_key_t *k, grove_value_t **out)
{
	grove_snapshot_t *snap;
	int rc = grove_snapshot_create(db->store, &snap);
	if (rc)
		return rc;
	uint8_t *rec = NULL;
	size_t len = 0;
	grove_value_t *v = NULL;
	meta_t m;
	memset(&m, 0, sizeof(m));
	rc = grove_store_get(db->store, snap, k->urec, 1 + k->klen, &rec, &len);
	if (rc == 0 && len < 1)
		rc = GROVE_ECORRUPT;
	if (rc == 0 && (rc = grove_value_decode(rec, len - 1, &v)) != 0 && rc != GROVE_ENOMEM)
		rc = GROVE_ECORRUPT;
	grove_free(rec);
	if (rc == 0)
		rc = grove_db__cloud_read(db, snap, k, &v->set);
	if (rc == 0)
		rc = meta_read(db, snap, k, &m, NULL);
	if (rc == 0 && (m.count[1] || m.count[2])) { /* sorted-set members are not materialized */
		uint8_t p[3 + GROVE_KEY_MAX];
		size_t plen = elem_prefix(k, 0, p);
		mat_ctx_t mc = { .v = v, .m = &m, .plen = plen + 1 };
		rc = grove_store_scan_prefix(db->store, snap, p, plen, mat_rec, &mc);
		if (rc == 0)
			rc = mc.rc;
	}
	meta_free(&m);
	grove_snapshot_release(db->store, snap);
	if (rc) {
		grove_value_destroy(v);
		return rc;
	}
	*out = v;
	return 0;
}

/* ---- purge of deleted element records ---- */

typedef struct purge_ctx {
	grove_db_t *db;
	const grove_db_key_t *k;
	const grove_db_stripe_t *s; /* the key's: its pending records */
	const meta_t *m;
	grove_batch_t *b;
	grove_db_item_delta_t *d;
	size_t nd, seen;
	uint8_t *last; /* the last record key visited */
	size_t last_len;
	int rc;
} purge_ctx_t;

static int purge_rec(void *vctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	purge_ctx_t *p = vctx;
	size_t pre = 3 + p->k->klen;
	if (p->seen == PURGE_BATCH)
		return 1;
	p->seen++;
	memcpy(p->last, key, klen);
	p->last_len = klen;
	if (klen <= pre) {
		p->rc = GROVE_ECORRUPT;
		return 1;
	}
	/* a record with a queued newer state (pending) is replaced by it: a
	 * purge write queued after that state would undo it */
	if (grove_db__pending_has(p->s, key, klen))
		return 0;
	int kind = key[pre];
	grove_elem_t x;
	int rc = kind >= GROVE_ELEM_MEMBER && kind <= KIND_LAST
			 ? grove_elem_decode(val, vlen, kind, &x)
			 : GROVE_ECORRUPT;
	if (rc) {
		p->rc = rc == GROVE_ENOMEM ? rc : GROVE_ECORRUPT;
		return 1;
	}
	double zold = 0, znew = 0;
	bool zhad = kind == GROVE_ELEM_ZMEMBER && grove_zscore_eval(&x, &zold) == 0;
	if (grove_elem_filter(&x, &p->m->pctx) > 0) {
		ename_t *en = grove_malloc(sizeof(*en));
		if (!en) {
			rc = GROVE_ENOMEM;
		} else {
			ename_init(en, p->k, kind, key + pre + 1, klen - pre - 1);
			grove_db_item_delta_t *d = &p->d[p->nd];
			memset(d, 0, sizeof(*d));
			d->segment = en->segment;
			d->had_old = true;
			elem_item(en, val, vlen, d->old_item);
			if (x.len == 0) {
				rc = grove_batch_delete(p->b, en->rkey, en->rlen);
				if (!rc)
					rc = grove_batch_delete(p->b, en->dkey, en->dlen);
			} else {
				grove_buf_t b = { 0 };
				rc = grove_elem_encode(&b, &x, kind);
				if (!rc) { /* in the key's presence set before the put */
					grove_db__presence_note(p->db, p->k, key + pre,
								klen - pre);
					rc = grove_batch_put(p->b, en->rkey, en->rlen, b.data, b.len);
				}
				if (!rc) {
					elem_item(en, b.data, b.len, d->new_item);
					d->has_new = true;
				}
				grove_buf_close(&b);
			}
			p->nd += rc == 0;
			bool zhas = kind == GROVE_ELEM_ZMEMBER && x.len &&
				    grove_zscore_eval(&x, &znew) == 0;
			if (rc == 0 && kind == GROVE_ELEM_ZMEMBER)
				rc = grove_db__zindex_move(NULL, p->b, p->k, -1, en->elem,
							   en->elen, zhad, zold, zhas, znew);
		}
		grove_free(en);
	}
	grove_elem_free(&x);
	p->rc = rc;
	return rc != 0;
}

/* One batch under the key lock: *done when the key has no pending delete left. */
static int purge_step(grove_db_t *db, const grove_db_key_t *k, uint8_t *cursor, size_t *cursor_len,
		      grove_buf_t *pctx_seen, bool *done)
{
	meta_t m;
	raw_t raw;
	int rc = meta_read(db, NULL, k, &m, &raw);
	*done = true;
	if (rc || grove_ctx_empty(&m.pctx)) {
		meta_free(&m);
		raw_free(&raw);
		return rc;
	}
	*done = false;
	grove_buf_t now = { 0 };
	rc = grove_ctx_encode(&now, &m.pctx);
	if (rc == 0 && (pctx_seen->len != now.len || memcmp(pctx_seen->data, now.data, now.len) != 0)) {
		/* a new delete since the walk began: walk again from the start */
		*cursor_len = elem_prefix(k, 0, cursor);
		grove_buf_close(pctx_seen);
		*pctx_seen = now;
		now = (grove_buf_t){ 0 };
	}
	grove_buf_close(&now);
	grove_batch_t b;
	grove_batch_init(&b);
	grove_db_item_delta_t *d = grove_malloc(PURGE_BATCH * sizeof(*d));
	uint8_t *last = grove_malloc(ELEM_REC_MAX);
	uint8_t hi[4 + GROVE_KEY_MAX];
	size_t hlen = elem_prefix(k, 0, hi);
	hi[hlen++] = KIND_LAST + 1; /* past every kind of the key */
	purge_ctx_t p = { .db = db, .k = k, .s = &db->stripes[k->stripe], .m = &m, .b = &b, .d = d,
			  .last = last };
	if (rc == 0 && (!d || !last))
		rc = GROVE_ENOMEM;
	if (rc == 0)
		rc = grove_store_scan(db->store, NULL, cursor, *cursor_len, hi, hlen, purge_rec, &p);
	if (rc == 0)
		rc = p.rc;
	if (rc == 0 && b.count) /* the sorted-set counts stop being kept */
		rc = grove_db__zrank_invalidate(db, &b, k);
	if (rc == 0 && b.count)
		rc = grove_commit_write(&db->commit, &b);
	if (rc == 0) {
		for (size_t i = 0; i < p.nd; i++)
			grove_tree_update(&db->tree, d[i].segment, d[i].old_item,
					  d[i].has_new ? d[i].new_item : NULL);
		atomic_fetch_add(&db->purged, p.nd);
	}
	if (rc == 0 && p.seen == PURGE_BATCH) { /* more: resume after the last */
		memcpy(cursor, last, p.last_len);
		cursor[p.last_len] = 0;
		*cursor_len = p.last_len + 1;
	} else if (rc == 0) { /* walked to the end: the pending delete is done */
		grove_ctx_free(&m.pctx);
		grove_batch_clear(&b);
		uint8_t mk[1 + GROVE_KEY_MAX];
		meta_key(k, mk);
		grove_buf_t enc = { 0 };
		rc = meta_empty(&m) ? grove_batch_delete(&b, mk, 1 + k->klen) : meta_encode(&m, &enc);
		if (rc == 0 && !meta_empty(&m))
			rc = grove_batch_put(&b, mk, 1 + k->klen, enc.data, enc.len);
		mk[0] = GROVE_DB_PFX_PURGE;
		if (rc == 0)
			rc = grove_batch_delete(&b, mk, 1 + k->klen);
		grove_db_cached_t *e = grove_db__cache_find(db, k);
		if (e) /* not written by a collection commit: read it again */
			e->meta_kept = false;
		if (rc == 0) /* counts rebuilt by the key's next quiet write */
			rc = grove_db__zrank_clear(db, &b, k);
		if (rc == 0)
			rc = grove_commit_write(&db->commit, &b);
		grove_buf_close(&enc);
		*done = rc == 0;
	}
	grove_batch_close(&b);
	grove_free(d);
	grove_free(last);
	raw_free(&raw);
	meta_free(&m);
	return rc;
}

static bool purge_stopping(grove_db_t *db)
{
	if (!db->purge_thread_on)
		return false;
	pthread_mutex_lock(&db->purge_mu);
	bool stop = db->purge_stop;
	pthread_mutex_unlock(&db->purge_mu);
	return stop;
}

int grove_db__coll_purge(grove_db_t *db, const void *key, size_t klen)
{
	grove_db_key_t k;
	int rc = grove_db__key_prepare(&k, key, klen);
	if (rc)
		return rc;
	uint8_t *cursor = grove_malloc(ELEM_REC_MAX + 1);
	if (!cursor)
		return GROVE_ENOMEM;
	size_t cursor_len = elem_prefix(&k, 0, cursor);
	grove_buf_t seen = { 0 };
	bool done = false;
	/* a transaction's own purge (inline) writes into it; any other waits
	 * for it to end, step by step */
	bool gate = !grove_commit_txn_owned(&db->commit);
	while (rc == 0 && !done && !purge_stopping(db)) {
		if (gate)
			GROVE_ASSERT(pthread_rwlock_rdlock(&db->txn_gate) == 0);
		pthread_mutex_lock(&db->stripes[k.stripe].mu);
		rc = purge_step(db, &k, cursor, &cursor_len, &seen, &done);
		pthread_mutex_unlock(&db->stripes[k.stripe].mu);
		if (gate)
			GROVE_ASSERT(pthread_rwlock_unlock(&db->txn_gate) == 0);
	}
	grove_buf_close(&seen);
	grove_free(cursor);
	return rc;
}

/* ---- reply hints (db_int.h) ---- */

#define HINT_SLOTS 1024
#define HINT_DOTS 16

struct grove_db_hint {
	uint8_t id[16]; /* BLAKE2b-128 of the item name; all zero: free */
	uint32_t n;
	grove_value__dot_t d[HINT_DOTS];
};

static uint32_t hint_id(const void *name, size_t nlen, uint8_t id[16])
{
	crypto_generichash(id, 16, name, nlen, NULL, 0);
	id[0] |= 1; /* never all zero */
	return (uint32_t)(grove_le64_get(id + 8) % HINT_SLOTS);
}

/* Remembers the dots of remote element r that c covers and l (the merged
 * record) does not hold: the peer missed their removal. */
static void hint_put(grove_db_t *db, const void *name, size_t nlen, const grove_elem_t *l,
		     const grove_elem_t *r, const grove_ctx_t *c)
{
	struct grove_db_hint h = { .n = 0 };
	for (size_t j = 0, i = 0; j < r->len && h.n < HINT_DOTS; j++) {
		while (i < l->len && grove_value__dot_cmp(&l->e[i].dot, &r->e[j].dot) < 0)
			i++;
		if (i < l->len && grove_value__dot_cmp(&l->e[i].dot, &r->e[j].dot) == 0)
			continue;
		if (grove_ctx_has(c, &r->e[j].dot))
			h.d[h.n++] = r->e[j].dot;
	}
	if (!h.n)
		return;
	uint32_t slot = hint_id(name, nlen, h.id);
	pthread_mutex_lock(&db->hint_mu);
	if (!db->hints)
		db->hints = grove_calloc(HINT_SLOTS, sizeof(*db->hints));
	if (db->hints)
		db->hints[slot] = h; /* lossy: the peer asks again if it is lost */
	pthread_mutex_unlock(&db->hint_mu);
}

/* The hint for name (its dots into d); 0 when none. */
static size_t hint_get(grove_db_t *db, const void *name, size_t nlen,
		       grove_value__dot_t d[HINT_DOTS])
{
	uint8_t id[16];
	uint32_t slot = hint_id(name, nlen, id);
	size_t n = 0;
	pthread_mutex_lock(&db->hint_mu);
	if (db->hints && memcmp(db->hints[slot].id, id, 16) == 0) {
		n = db->hints[slot].n;
		memcpy(d, db->hints[slot].d, n * sizeof(*d));
	}
	pthread_mutex_unlock(&db->hint_mu);
	return n;
}

/* ---- items: state and merge ---- */

int grove_db_item_state(grove_db_t *db, const void *name, size_t nlen, uint8_t **out,
			size_t *out_len)
{
	int kind;
	const uint8_t *key, *elem;
	size_t klen, elen;
	grove_db_key_t k;
	int rc = grove_db_item_parse(name, nlen, &kind, &key, &klen, &elem, &elen);
	if (rc == 0)
		rc = grove_db__key_prepare(&k, key, klen);
	if (rc)
		return rc;
	ename_t *en = NULL;
	if (kind != GROVE_ITEM_HEAD) {
		if (!(en = grove_db__ename_take(db)))
			return GROVE_ENOMEM;
		ename_init(en, &k, kind, elem, elen);
	}
	coll_t c;
	grove_buf_t b = { 0 };
	pthread_mutex_lock(&db->stripes[k.stripe].mu);
	rc = coll_load(&c, db, &k);
	if (rc == 0 && !c.st.rec)
		rc = GROVE_ENOTFOUND;
	if (rc == 0 && !en) {
		uint8_t acc[16];
		acc_bytes(&c.m.acc, acc);
		rc = grove_head_state_encode(&b, c.st.rec, c.st.rec_len - 1,
					     meta_total(&c.m), acc);
		if (rc == 0 && b.len > grove_db__item_state_max) {
			/* a context too large: the head without its cloud (a
			 * subset of the context: safe under both rules) */
			grove_value__dots_t cloud = c.st.v->set.cloud;
			uint8_t *enc = NULL;
			size_t elen = 0;
			memset(&c.st.v->set.cloud, 0, sizeof(cloud));
			rc = grove_value_encode(c.st.v, &enc, &elen);
			c.st.v->set.cloud = cloud;
			grove_buf_reset(&b);
			if (rc == 0)
				rc = grove_head_state_encode(&b, enc, elen, meta_total(&c.m),
							     acc);
			grove_free(enc);
		}
	} else if (rc == 0) {
		grove_elem_t l;
		bool had;
		rc = elem_load(&c, NULL, en, &l, &had, NULL);
		/* always cut: the vv and the cloud dots that decide this
		 * element's, so the state's size is the element's, not the
		 * context's (doc/value_format.md) */
		grove_value__dot_t extra[HINT_DOTS];
		size_t nextra = rc == 0 ? hint_get(db, name, nlen, extra) : 0;
		grove_ctx_t cut = { 0 };
		if (rc == 0)
			rc = ctx_for(&c, &l, extra, nextra, &cut);
		if (rc == 0)
			rc = grove_elem_state_encode_cut(&b, &cut, &l, kind, extra, nextra);
		grove_ctx_free(&cut);
		grove_elem_free(&l);
	}
	pthread_mutex_unlock(&db->stripes[k.stripe].mu);
	coll_free(&c);
	grove_db__ename_give(db, en);
	if (rc) {
		grove_buf_close(&b);
		return rc;
	}
	*out = b.data;
	*out_len = b.len;
	return 0;
}

/* A remote delete (rctx, the peer holding no element) over local elements
 * not all covered: recounts the survivors (O(elements), under the lock). */
typedef struct rescan_ctx {
	coll_t *c;
	const grove_ctx_t *rctx;
	int rc;
} rescan_ctx_t;

static int rescan_rec(void *vctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	rescan_ctx_t *r = vctx;
	const grove_db_key_t *k = r->c->k;
	size_t pre = 3 + k->klen;
	int kind = klen > pre ? key[pre] : 0;
	grove_elem_t x;
	int rc = kind >= GROVE_ELEM_MEMBER && kind <= KIND_LAST
			 ? grove_elem_decode(val, vlen, kind, &x)
			 : GROVE_ECORRUPT;
	if (rc) {
		r->rc = rc == GROVE_ENOMEM ? rc : GROVE_ECORRUPT;
		return 1;
	}
	grove_elem_filter(&x, &r->c->m.pctx);
	ename_t *en = x.len ? grove_db__ename_take(r->c->db) : NULL;
	if (x.len && !en)
		rc = GROVE_ENOMEM;
	if (en) {
		uint8_t item[GROVE_DIGEST_BYTES];
		ename_init(en, k, kind, key + pre + 1, klen - pre - 1);
		rc = elem_item_of(en, &x, item);
		if (rc == 0 && grove_elem_filter(&x, r->rctx) > 0) {
			acc_add(&r->c->m.acc, item, true);
			r->c->m.count[kind]--;
			if (x.len && (rc = elem_item_of(en, &x, item)) == 0) {
				acc_add(&r->c->m.acc, item, false);
				r->c->m.count[kind]++;
			}
		}
	}
	grove_db__ename_give(r->c->db, en);
	grove_elem_free(&x);
	r->rc = rc;
	return rc != 0;
}

static int merge_head(coll_t *c, grove_value_t *r, uint64_t n, const uint8_t racc[16])
{
	grove_ctx_t rctx = { 0 };
	rctx.vv = r->set.vv;
	rctx.cloud = r->set.cloud;
	memset(&r->set, 0, sizeof(r->set));
	int rc = grove_value_merge(c->st.v, r, NULL);
	grove_ctx_t *lctx = coll_ctx(c);
	uint64_t total = meta_total(&c->m);
	uint8_t lacc[16];
	acc_bytes(&c->m.acc, lacc);
	bool take = false;
	bool covers = false;
	if (rc == 0 && n == 0 && total > 0) { /* O(cloud), once per remote delete */
		grove_ctx_t full;
		rc = grove_db__cloud_load(&c->cl, lctx, &full);
		if (rc == 0) {
			covers = grove_ctx_covers(&rctx, &full);
			grove_ctx_free(&full);
		}
	}
	if (rc == 0 && n == 0) {
		/* the peer holds no element: every dot of its context is removed */
		take = true;
		if (total > 0 && covers) {
			rc = coll_delete_elements(c);
		} else if (total > 0) {
			uint8_t p[3 + GROVE_KEY_MAX];
			size_t plen = elem_prefix(c->k, 0, p);
			rescan_ctx_t rs = { .c = c, .rctx = &rctx };
			rc = grove_store_scan_prefix(c->db->store, NULL, p, plen, rescan_rec, &rs);
			if (rc == 0)
				rc = rs.rc;
			if (rc == 0)
				rc = grove_ctx_union(&c->m.pctx, &rctx);
			c->purge = rc == 0;
		}
	} else if (rc == 0) {
		/* the peer holds exactly our elements: its context is safe to take */
		take = n == total && memcmp(racc, lacc, 16) == 0;
	}
	if (rc == 0 && take)
		rc = grove_db__cloud_union(&c->cl, lctx, &rctx);
	grove_ctx_free(&rctx);
	return rc;
}

/* Keeps a merged record one its own decoder reads back.  Many concurrent
 * writes of a field or list element (large values, or more writers than
 * GROVE_ELEM_ENTRIES_MAX) keep the winner: the others are removed as
 * observed, their dots are in the context.  A set member's dots or a
 * counter's entries cannot be dropped without losing an add or an
 * increment: past the limit the merge is refused (GROVE_ETOOBIG, counted
 * in items_rejected) and the record stays as it was. */
static int elem_bound(int kind, grove_elem_t *l)
{
	if (l->len > 1 && (kind == GROVE_ELEM_FIELD || kind == GROVE_ELEM_LIST)) {
		bool big = l->len > GROVE_ELEM_ENTRIES_MAX;
		if (!big) {
			grove_buf_t sz = { 0 };
			int rc = grove_elem_encode(&sz, l, kind);
			big = sz.len > GROVE_ELEM_RECORD_MAX;
			grove_buf_close(&sz);
			if (rc)
				return rc;
		}
		if (big && kind == GROVE_ELEM_FIELD) {
			grove_hfield_trim(l); /* the winner, and the counter's entries */
		} else if (big) {
			const grove_entry_t *w = grove_elem_winner(l);
			grove_entry_t keep = *w;
			for (size_t i = 0; i < l->len; i++)
				if (&l->e[i] != w)
					grove_value__blob_free(&l->e[i].val);
			l->e[0] = keep;
			l->len = 1;
		}
	}
	return l->len > GROVE_ELEM_ENTRIES_MAX ? GROVE_ETOOBIG : 0;
}

/* What merge_elem did to the key beyond *reply (grove_db_items_merge). */
typedef struct merge_out {
	bool news;    /* the record changed or the context gained a dot */
	bool touched; /* c changed: a failure past this point leaves c dirty */
} merge_out_t;

/* Merges one element state into the loaded key c.  *reply: our element
 * differs from relem afterwards; out (may be NULL): see merge_out_t.  A
 * refused state (GROVE_EDECODE, GROVE_ETOOBIG) leaves c untouched. */
static int merge_elem(coll_t *c, const ename_t *en, const grove_ctx_t *rctx,
		      const grove_elem_t *relem, bool *reply, merge_out_t *out)
{
	grove_elem_t l;
	bool had, changed = false;
	uint8_t raw_item[GROVE_DIGEST_BYTES], old_item[GROVE_DIGEST_BYTES];
	if (out)
		*out = (merge_out_t){ 0 };
	int rc = elem_load(c, NULL, en, &l, &had, raw_item);
	if (rc)
		return rc;
	grove_buf_t before = { 0 }, after = { 0 };
	grove_ctx_t lctx; /* the context as far as relem's dots go */
	rc = ctx_for(c, relem, NULL, 0, &lctx);
	if (rc) {
		grove_elem_free(&l);
		return rc;
	}
	rc = grove_elem_encode(&before, &l, en->kind);
	bool was = l.len > 0;
	if (rc == 0 && was && c->raw_live)
		memcpy(old_item, raw_item, GROVE_DIGEST_BYTES);
	else if (rc == 0 && was)
		elem_item(en, before.data, before.len, old_item);
	if (rc == 0)
		rc = grove_elem_merge(&l, &lctx, relem, rctx, &changed);
	if (rc == 0 && changed)
		rc = elem_bound(en->kind, &l);
	bool gained = false;
	if (out)
		out->touched = rc == 0;
	for (size_t i = 0; i < relem->len && rc == 0; i++) { /* the context gains relem's dots */
		bool has = true;
		if (out)
			rc = grove_db__cloud_has(&c->cl, coll_ctx(c), &relem->e[i].dot, &has);
		gained |= !has;
		if (rc == 0)
			rc = grove_db__cloud_add(&c->cl, coll_ctx(c), &relem->e[i].dot);
	}
	if (rc == 0 && changed)
		rc = grove_elem_encode(&after, &l, en->kind);
	bool store = rc == 0 && changed &&
		     (after.len != before.len || memcmp(after.data, before.data, after.len) != 0);
	if (store)
		rc = elem_store(c, en, had, raw_item, was ? old_item : NULL, &l);
	if (out)
		out->news = gained || store;
	bool differs = rc == 0 && !grove_elem_eq(&l, relem);
	if (reply)
		*reply = differs;
	if (differs) /* whoever asks next for this element learns of them */
		hint_put(c->db, en->name, en->nlen, &l, relem, &lctx);
	grove_ctx_free(&lctx);
	grove_buf_close(&before);
	grove_buf_close(&after);
	grove_elem_free(&l);
	return rc;
}

/* A peer's element state as every merge takes it: decoded (a partial
 * state too), then its writes' clock observed (a skewed one refused). */
static int elem_state_take(grove_db_t *db, const uint8_t *state, size_t slen, int kind,
			   grove_ctx_t *rctx, grove_elem_t *relem)
{
	bool partial;
	int rc = grove_elem_state_decode(state, slen, kind, rctx, relem, &partial);
	if (rc == 0)
		rc = grove_db__hlc_observe(db, grove_elem_max_ts(relem));
	return rc;
}

int grove_db_item_merge(grove_db_t *db, const void *name, size_t nlen, const uint8_t *state,
			size_t slen, bool *changed, bool *reply)
{
	int kind;
	const uint8_t *key, *elem;
	size_t klen, elen;
	grove_db_key_t k;
	if (reply)
		*reply = false;
	int rc = grove_db_item_parse(name, nlen, &kind, &key, &klen, &elem, &elen);
	if (rc == 0)
		rc = grove_db__key_prepare(&k, key, klen);
	if (rc == 0 && (!state || slen == 0 || slen > GROVE_VALUE_BYTES_MAX))
		rc = GROVE_EDECODE;
	if (rc) {
		atomic_fetch_add(&db->merges_rejected, 1);
		atomic_fetch_add(&db->items_rejected, 1);
		return GROVE_EDECODE;
	}
	grove_value_t *r = NULL;
	grove_ctx_t rctx = { 0 };
	grove_elem_t relem = { 0 };
	ename_t *en = NULL;
	uint64_t n = 0;
	uint8_t racc[16];
	if (kind == GROVE_ITEM_HEAD) {
		const uint8_t *enc;
		size_t enc_len;
		rc = grove_head_state_decode(state, slen, &enc, &enc_len, &n, racc);
		static const uint8_t zero[16];
		if (rc == 0 && (n == 0) != (memcmp(racc, zero, 16) == 0))
			rc = GROVE_EDECODE; /* a count that lies: the sum of no element is 0 */
		if (rc == 0)
			rc = grove_value_decode(enc, enc_len, &r);
		if (rc == 0 && (r->set.len || r->map.live.len || r->map.tomb.len))
			rc = GROVE_EDECODE; /* a head holds no element */
		if (rc == 0)
			rc = grove_db__hlc_observe(db, grove_value_max_ts(r));
	} else {
		rc = elem_state_take(db, state, slen, kind, &rctx, &relem);
		if (rc == 0 && !(en = grove_db__ename_take(db)))
			rc = GROVE_ENOMEM;
		if (rc == 0)
			ename_init(en, &k, kind, elem, elen);
	}
	if (rc) {
		atomic_fetch_add(&db->merges_rejected, 1);
		if (rc != GROVE_ENOMEM)
			atomic_fetch_add(&db->items_rejected, 1);
		grove_value_destroy(r);
		grove_ctx_free(&rctx);
		grove_elem_free(&relem);
		grove_db__ename_give(db, en);
		return rc;
	}
	coll_t c;
	bool wrote = false;
	pthread_mutex_lock(&db->stripes[k.stripe].mu);
	rc = coll_load(&c, db, &k);
	if (rc == 0)
		rc = en ? merge_elem(&c, en, &rctx, &relem, reply, NULL)
			: merge_head(&c, r, n, racc);
	if (rc == 0)
		rc = coll_commit(&c, &wrote);
	coll_keep_extra(&c);
	pthread_mutex_unlock(&db->stripes[k.stripe].mu);
	bool purge = c.purge && rc == 0;
	coll_free(&c);
	grove_value_destroy(r);
	grove_ctx_free(&rctx);
	grove_elem_free(&relem);
	grove_db__ename_give(db, en);
	if (rc == GROVE_EDECODE || rc == GROVE_ETOOBIG) {
		atomic_fetch_add(&db->merges_rejected, 1);
		atomic_fetch_add(&db->items_rejected, 1);
	}
	if (rc)
		return rc;
	if (purge)
		rc = grove_db__purge_request(db, key, klen);
	atomic_fetch_add(wrote ? &db->merges_changed : &db->merges_unchanged, 1);
	if (changed)
		*changed = wrote;
	return rc;
}

/* ---- several items at once (an anti-entropy frame) ---- */

/* One item alone, as grove_db_item_merge. */
static void item_one(grove_db_t *db, grove_db_item_t *it)
{
	it->changed = it->reply = false;
	it->rc = grove_db_item_merge(db, it->name, it->nlen, it->state, it->slen, &it->changed,
				     &it->reply);
}

/* How many items from it[0] on form one group: elements (no head) of one
 * key, each name once (a second state of an element must see the first
 * one's record), at most GROVE_DB_ITEMS_GROUP_MAX; 1 when it[0] is not an
 * element or is malformed. */
static size_t group_len(grove_db_item_t *const *it, size_t n)
{
	int kind;
	const uint8_t *key, *key0, *elem;
	size_t klen, klen0, elen;
	if (grove_db_item_parse(it[0]->name, it[0]->nlen, &kind, &key0, &klen0, &elem, &elen) ||
	    kind == GROVE_ITEM_HEAD)
		return 1;
	size_t m = 1;
	for (; m < n && m < GROVE_DB_ITEMS_GROUP_MAX; m++) {
		if (grove_db_item_parse(it[m]->name, it[m]->nlen, &kind, &key, &klen, &elem, &elen) ||
		    kind == GROVE_ITEM_HEAD || klen != klen0 || memcmp(key, key0, klen) != 0)
			break;
		size_t j = 0;
		while (j < m && (it[j]->nlen != it[m]->nlen || memcmp(it[j]->name, it[m]->name, it[m]->nlen)))
			j++;
		if (j < m)
			break;
	}
	return m;
}

/* A group's decoded states and what its merge under one lock gave. */
typedef struct gstate {
	grove_ctx_t rctx;
	grove_elem_t relem;
	bool reply;
	merge_out_t out;
} gstate_t;

/* Decodes it[0..n) and observes their clocks as grove_db_item_merge does;
 * returns how many decoded (the first failure ends the prefix). */
static size_t group_decode(grove_db_t *db, grove_db_item_t *const *it, size_t n, gstate_t *g)
{
	size_t j = 0;
	for (; j < n; j++) {
		int kind;
		const uint8_t *key, *elem;
		size_t klen, elen;
		memset(&g[j], 0, sizeof(g[j]));
		int rc = grove_db_item_parse(it[j]->name, it[j]->nlen, &kind, &key, &klen, &elem, &elen);
		if (rc == 0 && (!it[j]->state || it[j]->slen == 0 || it[j]->slen > GROVE_VALUE_BYTES_MAX))
			rc = GROVE_EDECODE;
		if (rc == 0)
			rc = elem_state_take(db, it[j]->state, it[j]->slen, kind, &g[j].rctx,
					     &g[j].relem);
		if (rc) {
			grove_ctx_free(&g[j].rctx);
			grove_elem_free(&g[j].relem);
			break;
		}
	}
	return j;
}

/* Merges the decoded group it[0..n) under one key lock into one write:
 * *done items merged (a refused element ends the group before it, the
 * key untouched by it: it then merges alone).  Nonzero: nothing was
 * written (an error other than a refusal; the merges worked on a copy of
 * the key's cached value, so the cache is as it was). */
static int group_apply(grove_db_t *db, grove_db_item_t *const *it, gstate_t *g, size_t n,
		       size_t *done, bool *wrote, bool *purge)
{
	int kind;
	const uint8_t *key, *elem;
	size_t klen, elen;
	grove_db_key_t k;
	*done = 0;
	int rc = grove_db_item_parse(it[0]->name, it[0]->nlen, &kind, &key, &klen, &elem, &elen);
	if (rc == 0)
		rc = grove_db__key_prepare(&k, key, klen);
	ename_t *en = rc == 0 ? grove_db__ename_take(db) : NULL;
	grove_db_item_delta_t *dx = grove_malloc(n * sizeof(*dx));
	size_t *doff = grove_malloc(n * sizeof(*doff)); /* a delta's rkey in arena */
	grove_buf_t arena = { 0 };
	if (rc == 0 && (!en || !dx || !doff))
		rc = GROVE_ENOMEM;
	if (rc) {
		grove_db__ename_give(db, en);
		grove_free(dx);
		grove_free(doff);
		return rc;
	}
	coll_t c;
	size_t j = 0;
	pthread_mutex_lock(&db->stripes[k.stripe].mu);
	rc = coll_load(&c, db, &k);
	if (rc == 0 && c.st.v_cached) { /* merged on a copy: a dropped group leaves the cache as it was */
		grove_value_t *v;
		rc = grove_value_clone(c.st.v, &v);
		if (rc == 0) {
			c.st.v = v;
			c.st.v_cached = false;
		}
	}
	c.dx = dx;
	c.dx_cap = n;
	for (; j < n && rc == 0; j++) {
		GROVE_ASSERT(grove_db_item_parse(it[j]->name, it[j]->nlen, &kind, &key, &klen, &elem,
						 &elen) == 0);
		ename_init(en, &k, kind, elem, elen);
		size_t nd = c.nd;
		rc = merge_elem(&c, en, &g[j].rctx, &g[j].relem, &g[j].reply, &g[j].out);
		if (rc && !g[j].out.touched && (rc == GROVE_EDECODE || rc == GROVE_ETOOBIG)) {
			rc = 0; /* refused: it merges alone, after the others */
			break;
		}
		if (rc == 0 && c.nd > nd) { /* its delta borrows en's rkey: keep a copy */
			doff[nd] = arena.len;
			grove_buf_append(&arena, en->rkey, en->rlen);
			if (grove_buf_failed(&arena))
				rc = GROVE_ENOMEM;
		}
	}
	for (size_t d = 0; d < c.nd && rc == 0; d++)
		if (dx[d].has_new)
			dx[d].rkey = arena.data + doff[d];
	if (rc == 0 && j > 0)
		rc = coll_commit(&c, wrote);
	pthread_mutex_unlock(&db->stripes[k.stripe].mu);
	*purge = rc == 0 && c.purge;
	*done = rc == 0 ? j : 0;
	coll_free(&c);
	grove_db__ename_give(db, en);
	grove_buf_close(&arena);
	grove_free(dx);
	grove_free(doff);
	return rc;
}

/* Merges one group it[0..n) (group_len); returns how many items it took. */
static size_t group_merge(grove_db_t *db, grove_db_item_t *const *it, size_t n)
{
	gstate_t *g = grove_malloc(n * sizeof(*g));
	size_t m = g ? group_decode(db, it, n, g) : 0, done = 0;
	bool wrote = false, purge = false;
	int rc = m > 1 ? group_apply(db, it, g, m, &done, &wrote, &purge) : GROVE_EINVAL;
	for (size_t j = 0; j < m; j++) {
		grove_ctx_free(&g[j].rctx);
		grove_elem_free(&g[j].relem);
	}
	if (rc || done == 0) { /* one by one: each item's own result and count */
		size_t todo = rc == 0 || m < 2 ? 1 : m;
		for (size_t j = 0; j < todo; j++)
			item_one(db, it[j]);
		grove_free(g);
		return todo;
	}
	bool any = false;
	for (size_t j = 0; j < done; j++) {
		it[j]->rc = 0;
		it[j]->reply = g[j].reply;
		it[j]->changed = wrote && g[j].out.news;
		any |= it[j]->changed;
	}
	if (wrote && !any) /* a write none of them made (a context migrated): the first's */
		it[0]->changed = true;
	for (size_t j = 0; j < done; j++)
		atomic_fetch_add(it[j]->changed ? &db->merges_changed : &db->merges_unchanged, 1);
	grove_free(g);
	if (purge) {
		int kind;
		const uint8_t *key, *elem;
		size_t klen, elen;
		GROVE_ASSERT(grove_db_item_parse(it[0]->name, it[0]->nlen, &kind, &key, &klen, &elem,
						 &elen) == 0);
		it[done - 1]->rc = grove_db__purge_request(db, key, klen);
	}
	return done;
}

/* A span's item with its key, for the sort that brings each key's
 * elements together. */
typedef struct span_ent {
	const uint8_t *key;
	size_t klen, pos;
	grove_db_item_t *it;
} span_ent_t;

static int span_cmp(const void *va, const void *vb)
{
	const span_ent_t *a = va, *b = vb;
	size_t l = a->klen < b->klen ? a->klen : b->klen;
	int c = memcmp(a->key, b->key, l);
	if (c == 0 && a->klen != b->klen)
		c = a->klen < b->klen ? -1 : 1;
	return c ? c : (a->pos < b->pos ? -1 : a->pos > b->pos);
}

/* Merges the elements e[0..n), sorted by key (in order within a key), in
 * groups. */
static void span_merge(grove_db_t *db, span_ent_t *e, size_t n, grove_db_item_t **ptr)
{
	for (size_t j = 0; j < n; j++)
		ptr[j] = e[j].it;
	for (size_t i = 0; i < n;) {
		size_t m = group_len(&ptr[i], n - i);
		i += m > 1 ? group_merge(db, &ptr[i], m) : (item_one(db, ptr[i]), 1);
	}
}

void grove_db_items_merge(grove_db_t *db, grove_db_item_t *items, size_t n)
{
	span_ent_t *e = grove_malloc(n * sizeof(*e));
	grove_db_item_t **ptr = grove_malloc(n * sizeof(*ptr));
	if (!e || !ptr) { /* no room to sort: one by one */
		for (size_t i = 0; i < n; i++)
			item_one(db, &items[i]);
		n = 0;
	}
	/* Heads (and malformed names) merge alone, in place: the elements
	 * between two of them merge by key (merges of distinct items of
	 * distinct or equal keys commute; one name's states keep their order). */
	size_t ne = 0;
	for (size_t i = 0; i <= n; i++) {
		int kind = GROVE_ITEM_HEAD;
		const uint8_t *key = NULL, *elem;
		size_t klen = 0, elen;
		bool elem_item = i < n && grove_db_item_parse(items[i].name, items[i].nlen, &kind, &key,
							     &klen, &elem, &elen) == 0 &&
				 kind != GROVE_ITEM_HEAD;
		if (elem_item) {
			e[ne++] = (span_ent_t){ .key = key, .klen = klen, .pos = i, .it = &items[i] };
			continue;
		}
		if (ne > 1)
			qsort(e, ne, sizeof(*e), span_cmp);
		span_merge(db, e, ne, ptr);
		ne = 0;
		if (i < n)
			item_one(db, &items[i]);
	}
	grove_free(e);
	grove_free(ptr);
}

/* ---- the items of one key ---- */

typedef struct items_ctx {
	grove_db_name_fn fn;
	void *ctx;
	size_t pre;
	uint8_t *name;
	int stop;
} items_ctx_t;

static int items_rec(void *vctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	items_ctx_t *it = vctx;
	(void)val;
	(void)vlen;
	if (klen <= it->pre)
		return 0;
	size_t nlen = grove_db__elem_rec_name(key, klen, it->name);
	it->stop = it->fn(it->ctx, it->name, nlen);
	return it->stop;
}

int grove_db_key_items(grove_db_t *db, const void *key, size_t klen, grove_db_name_fn fn,
		       void *ctx)
{
	grove_db_key_t k;
	int rc = grove_db__key_prepare(&k, key, klen);
	if (rc || !fn)
		return rc ? rc : GROVE_EINVAL;
	items_ctx_t it = { .fn = fn, .ctx = ctx, .pre = 3 + klen };
	it.name = grove_malloc(GROVE_ITEM_NAME_MAX);
	if (!it.name)
		return GROVE_ENOMEM;
	grove_snapshot_t *snap;
	rc = grove_snapshot_create(db->store, &snap);
	uint8_t p[3 + GROVE_KEY_MAX];
	size_t plen = elem_prefix(&k, 0, p);
	if (rc == 0)
		rc = grove_store_scan_prefix(db->store, snap, p, plen, items_rec, &it);
	if (rc == 0 && !it.stop) {
		uint8_t *rec = NULL;
		size_t len = 0;
		rc = grove_store_get(db->store, snap, k.urec, 1 + klen, &rec, &len);
		grove_free(rec);
		if (rc == 0)
			fn(ctx, k.drec + 3, 1 + klen);
		else if (rc == GROVE_ENOTFOUND)
			rc = 0;
	}
	if (snap)
		grove_snapshot_release(db->store, snap);
	grove_free(it.name);
	return rc;
}


/* ---- the purge queue and its thread ---- */

static void *purge_main(void *arg)
{
	grove_db_t *db = arg;
	pthread_mutex_lock(&db->purge_mu);
	for (;;) {
		while (!db->purge_stop && db->npurge == 0)
			pthread_cond_wait(&db->purge_cv, &db->purge_mu);
		if (db->purge_stop)
			break;
		struct grove_db_purge_key pk = db->purgeq[0];
		memmove(db->purgeq, db->purgeq + 1, (db->npurge - 1) * sizeof(*db->purgeq));
		db->npurge--;
		db->purge_busy = true;
		pthread_mutex_unlock(&db->purge_mu);
		/* a failure leaves the 'p' record: the next open tries again */
		int rc = grove_db__coll_purge(db, pk.key, pk.klen);
		(void)rc;
		grove_free(pk.key);
		pthread_mutex_lock(&db->purge_mu);
		db->purge_busy = false;
		pthread_cond_broadcast(&db->purge_cv);
	}
	pthread_mutex_unlock(&db->purge_mu);
	return NULL;
}

int grove_db__purge_request(grove_db_t *db, const void *key, size_t klen)
{
	if (!db->purge_thread_on)
		return grove_db__coll_purge(db, key, klen);
	pthread_mutex_lock(&db->purge_mu);
	for (size_t i = 0; i < db->npurge; i++) {
		if (db->purgeq[i].klen == klen && memcmp(db->purgeq[i].key, key, klen) == 0) {
			pthread_mutex_unlock(&db->purge_mu);
			return 0; /* queued already: it reads the latest pending delete */
		}
	}
	uint8_t *copy = grove_malloc(klen);
	int rc = copy ? grove_grow((void **)&db->purgeq, &db->purge_cap, db->npurge + 1,
				  sizeof(*db->purgeq), 8, 0)
		      : GROVE_ENOMEM;
	if (rc == 0) {
		memcpy(copy, key, klen);
		db->purgeq[db->npurge++] = (struct grove_db_purge_key){ copy, klen };
		pthread_cond_broadcast(&db->purge_cv);
	} else {
		grove_free(copy); /* the 'p' record stays: the next open purges */
	}
	pthread_mutex_unlock(&db->purge_mu);
	return 0;
}

typedef struct resume_ctx {
	grove_db_t *db;
	uint8_t (*keys)[1 + GROVE_KEY_MAX];
	size_t *lens;
	size_t n, cap;
	int rc;
} resume_ctx_t;

static int resume_rec(void *vctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	resume_ctx_t *r = vctx;
	(void)val;
	(void)vlen;
	if (klen < 2 || klen > 1 + GROVE_KEY_MAX)
		return 0;
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		void *k = grove_realloc(r->keys, cap * sizeof(*r->keys));
		if (k)
			r->keys = k;
		void *l = k ? grove_realloc(r->lens, cap * sizeof(*r->lens)) : NULL;
		if (!k || !l) {
			r->rc = GROVE_ENOMEM;
			return 1;
		}
		r->lens = l;
		r->cap = cap;
	}
	memcpy(r->keys[r->n], key + 1, klen - 1);
	r->lens[r->n++] = klen - 1;
	return 0;
}

int grove_db__purge_open(grove_db_t *db, bool background)
{
	pthread_mutex_init(&db->purge_mu, NULL);
	pthread_cond_init(&db->purge_cv, NULL);
	db->purge_inited = true;
	if (background) {
		if (pthread_create(&db->purge_thread, NULL, purge_main, db) != 0)
			return GROVE_ENOMEM;
		db->purge_thread_on = true;
	}
	resume_ctx_t r = { .db = db };
	uint8_t p = GROVE_DB_PFX_PURGE;
	int rc = grove_store_scan_prefix(db->store, NULL, &p, 1, resume_rec, &r);
	if (rc == 0)
		rc = r.rc;
	for (size_t i = 0; i < r.n && rc == 0; i++)
		rc = grove_db__purge_request(db, r.keys[i], r.lens[i]);
	grove_free(r.keys);
	grove_free(r.lens);
	return rc;
}

void grove_db__purge_close(grove_db_t *db)
{
	if (!db->purge_inited)
		return;
	if (db->purge_thread_on) {
		pthread_mutex_lock(&db->purge_mu);
		db->purge_stop = true;
		pthread_cond_broadcast(&db->purge_cv);
		pthread_mutex_unlock(&db->purge_mu);
		pthread_join(db->purge_thread, NULL);
		db->purge_thread_on = false;
	}
	for (size_t i = 0; i < db->npurge; i++)
		grove_free(db->purgeq[i].key);
	grove_free(db->purgeq);
	db->purgeq = NULL;
	db->npurge = 0;
	pthread_cond_destroy(&db->purge_cv);
	pthread_mutex_destroy(&db->purge_mu);
	db->purge_inited = false;
}

void grove_db__purge_drain(grove_db_t *db)
{
	if (!db->purge_thread_on)
		return;
	pthread_mutex_lock(&db->purge_mu);
	while (db->npurge > 0 || db->purge_busy)
		pthread_cond_wait(&db->purge_cv, &db->purge_mu);
	pthread_mutex_unlock(&db->purge_mu);
}

/* ---- the write flow for per-type files (db_coll_int.h: db_list.c) ---- */

void grove_db__ename_init(ename_t *en, const grove_db_key_t *k, int kind, const void *elem,
			  size_t elen)
{
	ename_init(en, k, kind, elem, elen);
}

void grove_db__meta_free(meta_t *m)
{
	meta_free(m);
}

int grove_db__meta_bound_set(meta_t *m, int which, const uint8_t *id, size_t len)
{
	return meta_bound_set(m, which, id, len);
}

size_t grove_db__elem_prefix(const grove_db_key_t *k, int kind, uint8_t *out)
{
	return elem_prefix(k, kind, out);
}

int grove_db__coll_load(coll_t *c, grove_db_t *db, const grove_db_key_t *k)
{
	return coll_load(c, db, k);
}

int grove_db__expire_due(coll_t *c, bool *expired)
{
	grove_type_t vis = type_of(c->st.v, &c->m);
	return expire_due(c, &vis, c->db->node_id, expired);
}

void grove_db__coll_free(coll_t *c)
{
	coll_free(c);
}

grove_type_t grove_db__type_of(const grove_value_t *v, const meta_t *m)
{
	return type_of(v, m);
}

grove_ctx_t *grove_db__coll_ctx(coll_t *c)
{
	return coll_ctx(c);
}

int grove_db__elem_load(coll_t *c, const grove_snapshot_t *snap, const ename_t *en,
			grove_elem_t *l, bool *had, uint8_t raw_item[GROVE_DIGEST_BYTES])
{
	return elem_load(c, snap, en, l, had, raw_item);
}

int grove_db__elem_store(coll_t *c, const ename_t *en, bool had, const uint8_t raw_item[16],
			 const uint8_t *old_item, const grove_elem_t *x)
{
	return elem_store(c, en, had, raw_item, old_item, x);
}

int grove_db__elem_item_of(const ename_t *en, const grove_elem_t *x,
			   uint8_t out[GROVE_DIGEST_BYTES])
{
	return elem_item_of(en, x, out);
}

int grove_db__coll_delete_elements(coll_t *c)
{
	return coll_delete_elements(c);
}

int grove_db__coll_commit(coll_t *c, bool *wrote)
{
	return coll_commit(c, wrote);
}

int grove_db__coll_read_begin(grove_db_t *db, const grove_db_key_t *k, grove_type_t want,
			      grove_snapshot_t **snap, meta_t *m)
{
	return coll_read_begin(db, k, want, snap, m, NULL);
}
