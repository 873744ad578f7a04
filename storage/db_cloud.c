/*
 * db_cloud.c - the cloud of a collection key's causal context (its dots
 * above the version vector) in records of their own (db_cloud_int.h;
 * doc/storage_format.md, "Cloud records"):
 *
 *   'g' klen(2 BE) K node 0x00 block(u64 BE)  -> 32 bytes: bit i (byte i/8,
 *        least significant bit first) is dot (node, block * 256 + i)
 *   'g' klen(2 BE) K node 0x00 FF x 8         -> u64 BE: the greatest cloud
 *        counter of this replica's own node (its next dot must pass it)
 *
 * Invariant: every bit set is above the head's vv for its node (a dot at
 * vv + 1 raises the vv over the run of set bits above it, and a raise
 * clears what it covers); a block without bits is deleted; the top record
 * exists only while above the vv.  The common write, a dot at vv + 1 of a
 * key known to have no cloud at all, raises the vv in place and touches no
 * block (add_next_plain).  Node ids hold no NUL, so 'node 0x00'
 * sorts records by (node, block) in the order of grove_value__dot_cmp.
 */
#include <stdlib.h>
#include <string.h>

#include "base/num.h"
#include "grove/alloc.h"
#include "storage/db_cloud_int.h"

#define BLK GROVE_DB_CLOUD_BLOCK
#define BLK_BYTES (BLK / 8)
#define TOP_BLOCK UINT64_MAX
#define CKEY_MAX (1 + 2 + GROVE_KEY_MAX + GROVE_NODE_ID_MAX + 1 + 8)
#define RANGE_POINT_READS 64 /* a raise over fewer blocks reads them one by one */

struct grove_db_cblk {
	char node[GROVE_NODE_ID_MAX + 1];
	uint64_t blk;
	uint8_t bits[BLK_BYTES];
	bool had, dirty; /* had: the record exists (as last read) */
};

static size_t key_prefix(const grove_db_key_t *k, uint8_t *out)
{
	out[0] = GROVE_DB_PFX_CLOUD;
	out[1] = (uint8_t)(k->klen >> 8);
	out[2] = (uint8_t)k->klen;
	memcpy(out + 3, k->key, k->klen);
	return 3 + k->klen;
}

static size_t ckey(const grove_db_key_t *k, const char *node, uint64_t blk, uint8_t *out)
{
	size_t n = key_prefix(k, out), nl = strlen(node);
	memcpy(out + n, node, nl + 1);
	n += nl + 1;
	grove_be64_put(out + n, blk);
	return n + 8;
}

/* Parses a record key of k: node and block; false when it is not one. */
static bool ckey_parse(const grove_db_key_t *k, const uint8_t *key, size_t klen, char *node,
		       uint64_t *blk)
{
	size_t pre = 3 + k->klen;
	if (klen < pre + 2 + 8 || klen - pre - 9 > GROVE_NODE_ID_MAX)
		return false;
	size_t nl = klen - pre - 9;
	if (memchr(key + pre, 0, nl) || key[pre + nl] != 0)
		return false;
	memcpy(node, key + pre, nl);
	node[nl] = 0;
	*blk = grove_be64_get(key + pre + nl + 1);
	return true;
}

static int locked_get(grove_db_cloud_t *cl, const uint8_t *key, size_t klen, uint8_t **p,
		      size_t *len)
{
	int rc = grove_db__pending_get(&cl->db->stripes[cl->k->stripe], key, klen, p, len);
	if (rc < 0)
		return rc;
	if (rc == 1)
		return *p ? 0 : GROVE_ENOTFOUND;
	return grove_store_get(cl->db->store, NULL, key, klen, p, len);
}

/* ---- what is known of a key's records (db->cloud_known) ---- */

enum { KNOWN_FREE, KNOWN_NONE, KNOWN_SOME };

static grove_db_cloud_known_t *known_slot(grove_db_t *db, const grove_db_key_t *k)
{
	return &db->cloud_known[k->stripe][k->hash % GROVE_DB_CLOUD_KNOWN_WAYS];
}

/* The slot's state for k, else its cache entry's (KNOWN_FREE: neither
 * knows). */
static int known_get(grove_db_t *db, const grove_db_key_t *k)
{
	const grove_db_cloud_known_t *s = known_slot(db, k);
	if (s->state != KNOWN_FREE && s->klen == k->klen && memcmp(s->key, k->key, k->klen) == 0)
		return s->state;
	const grove_db_cached_t *e = grove_db__cache_find(db, k);
	return e ? e->cloud_known : KNOWN_FREE;
}

static void known_put(grove_db_t *db, const grove_db_key_t *k, int state)
{
	grove_db_cached_t *e = grove_db__cache_find(db, k);
	if (e)
		e->cloud_known = (uint8_t)state;
	if (k->klen > GROVE_DB_CLOUD_KNOWN_KEY_MAX)
		return;
	grove_db_cloud_known_t *s = known_slot(db, k);
	s->state = (uint8_t)state;
	s->klen = (uint8_t)k->klen;
	memcpy(s->key, k->key, k->klen);
}

static int first_rec(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	(void)key;
	(void)klen;
	(void)val;
	(void)vlen;
	*(bool *)ctx = true;
	return 1;
}

/* Learns whether the key has records (the store's or the stripe's
 * pending ones), once per write and key. */
static int probe(grove_db_cloud_t *cl)
{
	if (cl->known)
		return 0;
	uint8_t p[CKEY_MAX];
	size_t pl = key_prefix(cl->k, p);
	bool any = false;
	int rc = grove_store_scan_prefix(cl->db->store, NULL, p, pl, first_rec, &any);
	const grove_db_stripe_t *st = &cl->db->stripes[cl->k->stripe];
	for (size_t i = 0; rc == 0 && !any && i < st->npend; i++)
		any = st->pend[i].klen >= pl && memcmp(st->pend[i].key, p, pl) == 0;
	if (rc)
		return rc;
	cl->known = true;
	cl->none = !any;
	known_put(cl->db, cl->k, any ? KNOWN_SOME : KNOWN_NONE);
	return 0;
}

void grove_db__cloud_known_keep(const grove_db_cloud_t *cl, grove_db_cached_t *e)
{
	if (cl->known && e->cloud_known == KNOWN_FREE)
		e->cloud_known = cl->none ? KNOWN_NONE : KNOWN_SOME;
}

void grove_db__cloud_init(grove_db_cloud_t *cl, grove_db_t *db, const grove_db_key_t *k)
{
	memset(cl, 0, sizeof(*cl));
	cl->db = db;
	cl->k = k;
	int st = known_get(db, k);
	/* a key too long to remember reads as before, without probes */
	cl->known = st != KNOWN_FREE || k->klen > GROVE_DB_CLOUD_KNOWN_KEY_MAX;
	cl->none = st == KNOWN_NONE;
}

void grove_db__cloud_free(grove_db_cloud_t *cl)
{
	grove_free(cl->b);
	memset(cl, 0, sizeof(*cl));
}

static int blk_cmp(const char *node, uint64_t blk, const grove_db_cblk_t *b)
{
	int c = strcmp(node, b->node);
	return c ? c : (blk > b->blk) - (blk < b->blk);
}

/* The block (node, blk) of the overlay, read in when absent. */
static int blk_get(grove_db_cloud_t *cl, const char *node, uint64_t blk, grove_db_cblk_t **out)
{
	size_t lo = 0, hi = cl->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = blk_cmp(node, blk, &cl->b[mid]);
		if (c == 0) {
			*out = &cl->b[mid];
			return 0;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	uint8_t key[CKEY_MAX], *p = NULL;
	size_t len = 0;
	int rc = probe(cl);
	if (rc == 0)
		rc = cl->none ? GROVE_ENOTFOUND : locked_get(cl, key, ckey(cl->k, node, blk, key), &p, &len);
	if (rc && rc != GROVE_ENOTFOUND)
		return rc;
	if (rc == 0 && len != BLK_BYTES) {
		grove_free(p);
		return GROVE_ECORRUPT;
	}
	if ((rc = grove_grow((void **)&cl->b, &cl->cap, cl->n + 1, sizeof(*cl->b), 0, 0)) != 0) {
		grove_free(p);
		return rc;
	}
	memmove(&cl->b[lo + 1], &cl->b[lo], (cl->n - lo) * sizeof(*cl->b));
	cl->n++;
	grove_db_cblk_t *b = &cl->b[lo];
	memset(b, 0, sizeof(*b));
	memcpy(b->node, node, strlen(node) + 1);
	b->blk = blk;
	if (p) {
		memcpy(b->bits, p, BLK_BYTES);
		b->had = true;
	}
	grove_free(p);
	*out = b;
	return 0;
}

static bool bit_get(const grove_db_cblk_t *b, unsigned i)
{
	return b->bits[i / 8] >> (i % 8) & 1;
}

static void bit_put(grove_db_cblk_t *b, unsigned i, bool on)
{
	uint8_t m = (uint8_t)(1u << (i % 8));
	b->bits[i / 8] = on ? b->bits[i / 8] | m : b->bits[i / 8] & (uint8_t)~m;
	b->dirty = true;
}

static int top_read(grove_db_cloud_t *cl)
{
	if (cl->top_read)
		return 0;
	uint8_t key[CKEY_MAX], *p = NULL;
	size_t len = 0;
	int rc = probe(cl);
	if (rc == 0)
		rc = cl->none ? GROVE_ENOTFOUND
			      : locked_get(cl, key, ckey(cl->k, cl->db->node_id, TOP_BLOCK, key), &p, &len);
	if (rc == 0 && len != 8)
		rc = GROVE_ECORRUPT;
	if (rc == 0) {
		cl->top = grove_be64_get(p);
		cl->top_had = true;
	}
	grove_free(p);
	if (rc && rc != GROVE_ENOTFOUND)
		return rc;
	cl->top_read = true;
	return 0;
}

int grove_db__cloud_has(grove_db_cloud_t *cl, const grove_ctx_t *ctx, const grove_value__dot_t *d,
			bool *has)
{
	*has = grove_ctx_has(ctx, d);
	if (*has)
		return 0;
	grove_db_cblk_t *b;
	int rc = blk_get(cl, d->node, d->counter / BLK, &b);
	if (rc == 0)
		*has = bit_get(b, (unsigned)(d->counter % BLK));
	return rc;
}

/* vv[node] := counter (greater than it is) in ctx. */
static int vv_set(grove_ctx_t *ctx, const char *node, uint64_t counter)
{
	grove_ctx_t one = { 0 };
	grove_value__dot_t d = { .counter = counter };
	memcpy(d.node, node, strlen(node) + 1);
	one.vv.d = &d;
	one.vv.len = one.vv.cap = 1;
	return grove_ctx_union(ctx, &one);
}

/* Raises vv[node] over the run of cloud dots from vv + 1 up. */
static int fold(grove_db_cloud_t *cl, grove_ctx_t *ctx, const char *node)
{
	uint64_t vv = grove_value__vv_get(&ctx->vv, node), start = vv;
	int rc = 0;
	while (rc == 0 && vv < UINT64_MAX) {
		grove_db_cblk_t *b;
		if ((rc = blk_get(cl, node, (vv + 1) / BLK, &b)) != 0)
			break;
		unsigned i = (unsigned)((vv + 1) % BLK);
		while (i < BLK && bit_get(b, i)) {
			bit_put(b, i, false);
			i++;
			vv++;
		}
		if (i < BLK)
			break;
	}
	if (rc == 0 && vv > start)
		rc = vv_set(ctx, node, vv);
	if (rc == 0 && strcmp(node, cl->db->node_id) == 0 && (rc = top_read(cl)) == 0 &&
	    cl->top && cl->top <= vv) {
		cl->top = 0;
		cl->top_dirty = true;
	}
	return rc;
}

static int vv_cmp_node(const void *elem, const void *key)
{
	return strcmp(((const grove_value__dot_t *)elem)->node,
		      ((const grove_value__dot_t *)key)->node);
}

/* The common local write, a dot at vv + 1 of a key without any cloud (no
 * records, no overlay block, none in memory): raises vv[node] by one in
 * place, which is all that fold would do (no bits above it, no top
 * record).  False (nothing changed) when any of that does not hold. */
static bool add_next_plain(grove_db_cloud_t *cl, grove_ctx_t *ctx, const grove_value__dot_t *d)
{
	if (!cl->known || !cl->none || cl->n || ctx->cloud.len)
		return false;
	bool found;
	size_t i = grove_value__sorted_find(ctx->vv.d, ctx->vv.len, sizeof(*ctx->vv.d), d,
					    vv_cmp_node, &found);
	if (!found || ctx->vv.d[i].counter == UINT64_MAX || ctx->vv.d[i].counter + 1 != d->counter)
		return false;
	ctx->vv.d[i].counter = d->counter;
	return true;
}

int grove_db__cloud_add(grove_db_cloud_t *cl, grove_ctx_t *ctx, const grove_value__dot_t *d)
{
	if (add_next_plain(cl, ctx, d))
		return 0;
	bool has;
	int rc = grove_db__cloud_has(cl, ctx, d, &has);
	if (rc || has)
		return rc;
	grove_db_cblk_t *b;
	if ((rc = blk_get(cl, d->node, d->counter / BLK, &b)) != 0)
		return rc;
	bit_put(b, (unsigned)(d->counter % BLK), true);
	if (d->counter == grove_value__vv_get(&ctx->vv, d->node) + 1)
		return fold(cl, ctx, d->node);
	if (strcmp(d->node, cl->db->node_id) == 0 && (rc = top_read(cl)) == 0 &&
	    d->counter > cl->top) {
		cl->top = d->counter;
		cl->top_dirty = true;
	}
	return rc;
}

/* ---- blocks of a range: the store's, the stripe's pending, the overlay's ---- */

typedef struct ids {
	grove_db_cblk_t *id; /* node and blk only */
	size_t n, cap;
	const grove_db_key_t *k;
	int rc;
} ids_t;

static void ids_push(ids_t *s, const uint8_t *key, size_t klen)
{
	char node[GROVE_NODE_ID_MAX + 1];
	uint64_t blk;
	if (s->rc || !ckey_parse(s->k, key, klen, node, &blk) || blk == TOP_BLOCK)
		return;
	if ((s->rc = grove_grow((void **)&s->id, &s->cap, s->n + 1, sizeof(*s->id), 0, 0)) != 0)
		return;
	memcpy(s->id[s->n].node, node, sizeof(node));
	s->id[s->n++].blk = blk;
}

static int ids_rec(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	(void)val;
	(void)vlen;
	ids_push(ctx, key, klen);
	return ((ids_t *)ctx)->rc != 0;
}

static int id_qcmp(const void *a, const void *b)
{
	const grove_db_cblk_t *x = a;
	return blk_cmp(x->node, x->blk, b);
}

static bool in_range(const uint8_t *key, size_t klen, const uint8_t *lo, size_t lo_len,
		     const uint8_t *hi, size_t hi_len)
{
	if (!hi) /* every key starting with lo */
		return klen >= lo_len && memcmp(key, lo, lo_len) == 0;
	return grove_key_cmp(key, klen, lo, lo_len) >= 0 && grove_key_cmp(key, klen, hi, hi_len) < 0;
}

/* The blocks with lo <= key < hi (hi NULL: the keys starting with lo),
 * sorted, unique. */
static int ids_range(grove_db_cloud_t *cl, const uint8_t *lo, size_t lo_len, const uint8_t *hi,
		     size_t hi_len, ids_t *s)
{
	memset(s, 0, sizeof(*s));
	s->k = cl->k;
	int rc = 0;
	if (!cl->known || !cl->none) /* the store's (none when known to be none) */
		rc = hi ? grove_store_scan(cl->db->store, NULL, lo, lo_len, hi, hi_len, ids_rec, s)
			: grove_store_scan_prefix(cl->db->store, NULL, lo, lo_len, ids_rec, s);
	const grove_db_stripe_t *st = &cl->db->stripes[cl->k->stripe];
	for (size_t i = 0; rc == 0 && i < st->npend; i++) {
		const grove_db_pending_t *p = &st->pend[i];
		if (in_range(p->key, p->klen, lo, lo_len, hi, hi_len))
			ids_push(s, p->key, p->klen);
	}
	uint8_t key[CKEY_MAX];
	for (size_t i = 0; rc == 0 && i < cl->n; i++) {
		size_t kl = ckey(cl->k, cl->b[i].node, cl->b[i].blk, key);
		if (in_range(key, kl, lo, lo_len, hi, hi_len))
			ids_push(s, key, kl);
	}
	if (rc == 0)
		rc = s->rc;
	if (rc == 0 && s->n > 1) {
		qsort(s->id, s->n, sizeof(*s->id), id_qcmp);
		size_t u = 0;
		for (size_t i = 0; i < s->n; i++)
			if (!u || id_qcmp(&s->id[u - 1], &s->id[i]) != 0)
				s->id[u++] = s->id[i];
		s->n = u;
	}
	if (rc) {
		grove_free(s->id);
		s->id = NULL;
	}
	return rc;
}

int grove_db__cloud_raise(grove_db_cloud_t *cl, grove_ctx_t *ctx, const char *node, uint64_t counter)
{
	uint64_t vv = grove_value__vv_get(&ctx->vv, node);
	if (counter <= vv)
		return 0;
	uint64_t b0 = (vv + 1) / BLK, b1 = counter / BLK;
	int rc = 0;
	ids_t s = { 0 };
	if (b1 - b0 < RANGE_POINT_READS) {
		for (uint64_t blk = b0; blk <= b1 && rc == 0; blk++) {
			grove_db_cblk_t *b;
			if ((rc = blk_get(cl, node, blk, &b)) == 0)
				for (unsigned i = 0; i < BLK; i++)
					if (blk * BLK + i <= counter && bit_get(b, i))
						bit_put(b, i, false);
		}
	} else {
		uint8_t lo[CKEY_MAX], hi[CKEY_MAX];
		size_t lo_len = ckey(cl->k, node, b0, lo), hi_len = ckey(cl->k, node, b1 + 1, hi);
		rc = ids_range(cl, lo, lo_len, hi, hi_len, &s);
		for (size_t j = 0; j < s.n && rc == 0; j++) {
			grove_db_cblk_t *b;
			if ((rc = blk_get(cl, node, s.id[j].blk, &b)) == 0)
				for (unsigned i = 0; i < BLK; i++)
					if (s.id[j].blk * BLK + i <= counter && bit_get(b, i))
						bit_put(b, i, false);
		}
		grove_free(s.id);
	}
	if (rc == 0)
		rc = vv_set(ctx, node, counter);
	return rc ? rc : fold(cl, ctx, node);
}

int grove_db__cloud_union(grove_db_cloud_t *cl, grove_ctx_t *ctx, const grove_ctx_t *src)
{
	int rc = 0;
	for (size_t i = 0; i < src->vv.len && rc == 0; i++)
		rc = grove_db__cloud_raise(cl, ctx, src->vv.d[i].node, src->vv.d[i].counter);
	for (size_t i = 0; i < src->cloud.len && rc == 0; i++)
		rc = grove_db__cloud_add(cl, ctx, &src->cloud.d[i]);
	return rc;
}

int grove_db__cloud_next_dot(grove_db_cloud_t *cl, const grove_ctx_t *ctx, const char *node,
			     grove_value__dot_t *d)
{
	int rc = grove_ctx_next_dot(ctx, node, d);
	if (rc == 0 && strcmp(node, cl->db->node_id) == 0 && (rc = top_read(cl)) == 0 &&
	    cl->top >= d->counter) {
		if (cl->top == UINT64_MAX)
			return GROVE_EOVERFLOW;
		d->counter = cl->top + 1;
	}
	return rc;
}

int grove_db__cloud_migrate(grove_db_cloud_t *cl, grove_ctx_t *ctx)
{
	if (!ctx->cloud.len)
		return 0;
	grove_value__dots_t cloud = ctx->cloud;
	memset(&ctx->cloud, 0, sizeof(ctx->cloud));
	int rc = 0;
	for (size_t i = 0; i < cloud.len && rc == 0; i++)
		rc = grove_db__cloud_add(cl, ctx, &cloud.d[i]);
	grove_free(cloud.d);
	return rc;
}

/* Appends the set bits of block (node, blk, bits) above vv to cloud. */
static int blk_dots(const char *node, uint64_t blk, const uint8_t *bits, uint64_t vv,
		    grove_value__dots_t *cloud)
{
	for (unsigned i = 0; i < BLK; i++) {
		if (!(bits[i / 8] >> (i % 8) & 1) || blk * BLK + i <= vv || blk * BLK + i == 0)
			continue;
		int rc = grove_grow((void **)&cloud->d, &cloud->cap, cloud->len + 1, sizeof(*cloud->d),
				    0, 0);
		if (rc)
			return rc;
		grove_value__dot_t *d = &cloud->d[cloud->len++];
		memcpy(d->node, node, strlen(node) + 1);
		d->counter = blk * BLK + i;
	}
	return 0;
}

static int dot_qcmp(const void *a, const void *b)
{
	return grove_value__dot_cmp(a, b);
}

static void dots_sort(grove_value__dots_t *c)
{
	if (c->len < 2)
		return;
	qsort(c->d, c->len, sizeof(*c->d), dot_qcmp);
	size_t u = 0;
	for (size_t i = 0; i < c->len; i++)
		if (!u || grove_value__dot_cmp(&c->d[u - 1], &c->d[i]) != 0)
			c->d[u++] = c->d[i];
	c->len = u;
}

int grove_db__cloud_load(grove_db_cloud_t *cl, const grove_ctx_t *ctx, grove_ctx_t *out)
{
	memset(out, 0, sizeof(*out));
	int rc = grove_ctx_copy(out, ctx);
	if (rc)
		return rc;
	uint8_t p[CKEY_MAX];
	ids_t s;
	rc = ids_range(cl, p, key_prefix(cl->k, p), NULL, 0, &s);
	for (size_t j = 0; j < s.n && rc == 0; j++) {
		grove_db_cblk_t *b;
		if ((rc = blk_get(cl, s.id[j].node, s.id[j].blk, &b)) == 0)
			rc = blk_dots(b->node, b->blk, b->bits, grove_value__vv_get(&out->vv, b->node),
				      &out->cloud);
	}
	grove_free(s.id);
	if (rc == 0)
		dots_sort(&out->cloud);
	if (rc)
		grove_ctx_free(out);
	return rc;
}

int grove_db__cloud_flush(grove_db_cloud_t *cl, grove_batch_t *bt)
{
	uint8_t key[CKEY_MAX];
	static const uint8_t zero[BLK_BYTES];
	int rc = 0;
	bool added = false;
	for (size_t i = 0; i < cl->n && rc == 0; i++) {
		grove_db_cblk_t *b = &cl->b[i];
		if (!b->dirty)
			continue;
		size_t kl = ckey(cl->k, b->node, b->blk, key);
		bool empty = memcmp(b->bits, zero, BLK_BYTES) == 0;
		if (empty && b->had)
			rc = grove_batch_delete(bt, key, kl);
		else if (!empty)
			rc = grove_batch_put(bt, key, kl, b->bits, BLK_BYTES);
		if (!empty)
			added = true;
		b->had = !empty;
		b->dirty = false;
	}
	if (rc == 0 && cl->top_dirty) {
		size_t kl = ckey(cl->k, cl->db->node_id, TOP_BLOCK, key);
		uint8_t v[8];
		grove_be64_put(v, cl->top);
		if (!cl->top && cl->top_had)
			rc = grove_batch_delete(bt, key, kl);
		else if (cl->top)
			rc = grove_batch_put(bt, key, kl, v, sizeof(v));
		added = added || cl->top;
		cl->top_had = cl->top != 0;
		cl->top_dirty = false;
	}
	if (added) { /* before the batch is written: a failed write leaves "some" */
		cl->known = true;
		cl->none = false;
		known_put(cl->db, cl->k, KNOWN_SOME);
	}
	return rc;
}

typedef struct read_ctx {
	const grove_db_key_t *k;
	grove_ctx_t *ctx;
	int rc;
} read_ctx_t;

static int read_rec(void *vctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	read_ctx_t *r = vctx;
	char node[GROVE_NODE_ID_MAX + 1];
	uint64_t blk;
	if (!ckey_parse(r->k, key, klen, node, &blk))
		r->rc = GROVE_ECORRUPT;
	else if (blk != TOP_BLOCK && vlen != BLK_BYTES)
		r->rc = GROVE_ECORRUPT;
	else if (blk != TOP_BLOCK)
		r->rc = blk_dots(node, blk, val, grove_value__vv_get(&r->ctx->vv, node),
				 &r->ctx->cloud);
	return r->rc != 0;
}

int grove_db__cloud_read(grove_db_t *db, const grove_snapshot_t *snap, const grove_db_key_t *k,
			 grove_ctx_t *ctx)
{
	uint8_t p[CKEY_MAX];
	size_t plen = key_prefix(k, p);
	read_ctx_t r = { .k = k, .ctx = ctx };
	int rc = grove_store_scan_prefix(db->store, snap, p, plen, read_rec, &r);
	if (rc == 0)
		rc = r.rc;
	if (rc == 0)
		dots_sort(&ctx->cloud);
	return rc;
}
