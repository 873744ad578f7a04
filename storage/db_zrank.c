/*
 * db_zrank.c - the counted index of sorted sets, so ZRANK and ZREVRANK
 * need not walk the score index from one end (doc/storage_format.md,
 * "The counted index").
 *
 * The entries of a key's score index ('z' records, db_zset.c) are grouped
 * by their suffix S = score(8) member into leaves (runs of about leaf_fill
 * entries) and the leaves into supers (runs of about super_fill entries).
 * Local records (not replicated, not in the tree), 'r' klen K then:
 *   0            -> version (1 byte): the key has counts
 *   1 boundary   -> u32 LE: a super's index (stable: written by passes)
 *   2 boundary   -> u32 LE: a leaf's label (stable; labels increase
 *                   within a super, so a split adds records, not shifts)
 *   3            -> the number of supers and the entry counts of the
 *                   first params.group of them (hot; zr_dir_get)
 *   4 boundary   -> flags (1 byte), u16 LE per leaf of the super at
 *                   boundary: their entry counts (hot)
 *   5 boundary   -> u32 LE per leaf of the super at boundary: their
 *                   labels (stable); a leaf's position is its label's
 *   6 group(BE4) -> the entry counts of group i >= 1's supers (hot)
 * A bucket holds the entries from its boundary to the next one's; the
 * first leaf and super have the empty boundary, every super's boundary is
 * a leaf's.  Records written by every write (3, 4) are only ever read by
 * point reads: LevelDB keeps every version of a rewritten record until a
 * compaction, and an iterator steps over all of them.
 *
 * ZRANK of S: the version record, two seeks (the super and the leaf of
 * S), the counts record, the super's counts and labels (sums of the
 * buckets before S's), and a walk of S's leaf up to S (< leaf_max
 * entries usually: leaves are small, as a split writes only the new
 * leaves and level 5).  With the key's boundaries in the stripe's cache:
 * no version record, seeks or labels, and for a key of one super no
 * counts record either (its leaves' sum checked against the key's count).  A write adds -1/+1 to the old and new buckets of the member
 * it moves, in its own batch: 2 records for a member added or removed
 * (its super's group, its super), 1 for a score change within a super.  Counts are read as the writer sees
 * them (its batch, the stripe's pending records, the store; the boundary
 * cache's copies, which follow every batch handed to the store, when it
 * holds them), and a pass takes the supers, leaves, labels, counts and
 * the entries it splits at from the cache when it holds the key.  Boundaries
 * change only in a separate write made under the key lock while its
 * stripe holds no pending record (the store is then all there is): the
 * build (from the 'z' records, when a key without counts reaches
 * build_min members) and the pass over one super (leaves split at
 * leaf_max, small neighbours merged; the super split at super_max or
 * merged into its predecessor at super_min).  A writer that cannot run a
 * pass sets the super's dirty flag; the next quiet writer in it runs it,
 * and the next quiet writer of the key up to ZR_DIRTY_PASSES of the
 * dirty ones the cache knows (zr_pass_dirty).
 * While a key delete is pending the counts are not kept: its purge drops
 * the version record in each of its batches, the next quiet write
 * rebuilds.  Counts a writer or pass finds out of step are dropped too.
 */
#include <sodium.h>
#include <stdatomic.h>
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "base/buf.h"
#include "crdt/zscore.h"
#include "storage/db_int.h"
#include "storage/db_zleaf_int.h"

#define ZR_HEADER 0
#define ZR_SUPER 1
#define ZR_LEAF 2
#define ZR_DIR 3
#define ZR_SREC 4
#define ZR_LABELS 5
#define ZR_GROUP 6
#define ZR_VERSION 4
#define ZR_DIRTY 1
#define ZR_DIRTY_PASSES 2 /* a quiet write's passes over other dirty supers */
#define ZR_LEAF_COUNT_MAX 65535u
#define ZR_SUF_MAX (8 + GROVE_ELEM_MAX)
#define ZR_KEY_MAX (4 + GROVE_KEY_MAX + ZR_SUF_MAX + 1)

grove_db__zrank_params_t grove_db__zrank_params = {
	.leaf_max = 64,
	.leaf_fill = 32,
	.leaf_min = 8,
	.super_max = 8192,
	.super_fill = 4096,
	.super_min = 1024,
	.build_min = 128,
	.label_gap = 65536,
	.group = 16,
};

/* ---- keys and values ---- */

static size_t zr_key(const grove_db_key_t *k, int lvl, const uint8_t *b, size_t blen, uint8_t *out)
{
	out[0] = GROVE_DB_PFX_ZRANK;
	out[1] = (uint8_t)(k->klen >> 8);
	out[2] = (uint8_t)k->klen;
	memcpy(out + 3, k->key, k->klen);
	out[3 + k->klen] = (uint8_t)lvl;
	if (blen)
		memcpy(out + 4 + k->klen, b, blen);
	return 4 + k->klen + blen;
}

static size_t zr_suffix(double s, const void *m, size_t ml, uint8_t *out)
{
	grove_zscore_key(s, out);
	if (ml)
		memcpy(out + 8, m, ml);
	return 8 + ml;
}

/* The 'z' prefix of k (as db_zset.c's). */
static size_t zr_zpre(const grove_db_key_t *k, uint8_t *out)
{
	out[0] = GROVE_DB_PFX_ZINDEX;
	out[1] = (uint8_t)(k->klen >> 8);
	out[2] = (uint8_t)k->klen;
	memcpy(out + 3, k->key, k->klen);
	return 3 + k->klen;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(uint8_t *p, uint32_t u)
{
	p[0] = (uint8_t)u;
	p[1] = (uint8_t)(u >> 8);
	p[2] = (uint8_t)(u >> 16);
	p[3] = (uint8_t)(u >> 24);
}

static int bcmp_(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	return grove_key_cmp(a, al, b, bl);
}

/* A decoded counts record (3) or super record (4). */
typedef struct zr_arr {
	uint32_t *v;
	size_t n, cap;
	uint8_t flags;
} zr_arr_t;

static void arr_free(zr_arr_t *a)
{
	grove_free(a->v);
	memset(a, 0, sizeof(*a));
}

static int arr_push(zr_arr_t *a, uint32_t x)
{
	int rc = grove_grow((void **)&a->v, &a->cap, a->n + 1, sizeof(*a->v), 16, 0);
	if (rc == 0)
		a->v[a->n++] = x;
	return rc;
}

/* Encodings: counts (3): a width byte (2 or 4) then the totals, u16 or
 * u32 LE; a super (4): flags (bit 0 dirty, bit 1 one-byte counts) then
 * the leaves' counts, u8 or u16 LE.  The narrow form when every count
 * fits. */
#define ZR_NARROW 2

/* The width of each value of a record of level lvl (ZR_DIR: counts,
 * else a super) in p (len bytes); 0 when it is not one. */
static size_t arr_width(int lvl, const uint8_t *p, size_t len)
{
	if (len < 1)
		return 0;
	size_t w = lvl == ZR_DIR ? p[0] : (p[0] & ZR_NARROW) ? 1 : 2;
	if ((lvl == ZR_DIR && w != 2 && w != 4) || (len - 1) % w)
		return 0;
	return w;
}

/* The (len - 1) / w values of a record of width w into v. */
static void arr_values(const uint8_t *p, size_t len, size_t w, uint32_t *v)
{
	for (size_t i = 1; i < len; i += w)
		*v++ = w == 4 ? get32(p + i) : w == 2 ? (uint32_t)(p[i] | p[i + 1] << 8) : p[i];
}

static int arr_decode(int lvl, const uint8_t *p, size_t len, zr_arr_t *a)
{
	memset(a, 0, sizeof(*a));
	size_t w = arr_width(lvl, p, len);
	if (w == 0)
		return GROVE_ECORRUPT;
	a->flags = lvl == ZR_DIR ? 0 : p[0] & ZR_DIRTY;
	int rc = grove_grow((void **)&a->v, &a->cap, (len - 1) / w + 1, sizeof(*a->v), 16, 0);
	if (rc)
		return rc;
	arr_values(p, len, w, a->v);
	a->n = (len - 1) / w;
	return 0;
}

/* a's encoding into p (NULL: its length only); returns its length. */
static size_t arr_encode(int lvl, const zr_arr_t *a, uint8_t *p)
{
	uint32_t max = 0;
	for (size_t i = 0; i < a->n; i++)
		max = a->v[i] > max ? a->v[i] : max;
	size_t w = lvl == ZR_DIR ? (max < 65535 ? 2 : 4) : (max < 255 ? 1 : 2);
	if (!p)
		return 1 + w * a->n;
	p[0] = lvl == ZR_DIR ? (uint8_t)w : (uint8_t)((a->flags & ZR_DIRTY) | (w == 1 ? ZR_NARROW : 0));
	for (size_t i = 0; i < a->n; i++) {
		uint8_t *q = p + 1 + w * i;
		if (w == 4)
			put32(q, a->v[i]);
		else if (w == 2)
			q[0] = (uint8_t)a->v[i], q[1] = (uint8_t)(a->v[i] >> 8);
		else
			q[0] = (uint8_t)a->v[i];
	}
	return 1 + w * a->n;
}

/* Encodes of up to ZR_ENC_STACK bytes (a super of up to 511 leaves, or
 * 255 two-byte counts) go through the stack: one is put per sorted-set
 * write that moves an entry to another leaf. */
#define ZR_ENC_STACK 512

static int arr_put(grove_batch_t *b, int lvl, const uint8_t *key, size_t kl, const zr_arr_t *a)
{
	uint8_t buf[ZR_ENC_STACK];
	size_t len = arr_encode(lvl, a, NULL);
	uint8_t *p = len <= sizeof(buf) ? buf : grove_malloc(len);
	if (!p)
		return GROVE_ENOMEM;
	arr_encode(lvl, a, p);
	int rc = grove_batch_put(b, key, kl, p, len);
	if (p != buf)
		grove_free(p);
	return rc;
}

/* A super record (4) of exactly n counts (p, len) decoded into v and
 * *flags; false (nothing written) when it is not one. */
static bool arr_decode_srec_in(const uint8_t *p, size_t len, uint32_t *v, size_t n, uint8_t *flags)
{
	size_t w = arr_width(ZR_SUPER, p, len);
	if (w == 0 || (len - 1) / w != n)
		return false;
	arr_values(p, len, w, v);
	*flags = p[0] & ZR_DIRTY;
	return true;
}

/* The counts of a counts record (3 after its 5-byte header, or 6: a
 * width byte, then u16 or u32 LE each) decoded into v, which has room for
 * max, their number into *n; false (nothing written) when malformed or
 * more than max.  The note of a write's count records takes this path:
 * no array allocated, decoded and copied. */
static bool arr_decode_dir_in(const uint8_t *p, size_t len, uint32_t *v, size_t max, size_t *n)
{
	size_t w = arr_width(ZR_DIR, p, len);
	if (w == 0 || (len - 1) / w > max)
		return false;
	*n = (len - 1) / w;
	arr_values(p, len, w, v);
	return true;
}

/* ---- reads: the writer's view (its batch, pending, the store) or a snapshot ---- */

typedef struct bfind {
	const uint8_t *key;
	size_t klen;
	bool found;
	uint8_t *val; /* copy, NULL when deleted */
	size_t vlen;
	int rc;
} bfind_t;

static void bfind_op(void *ctx, int op, const uint8_t *key, size_t klen, const uint8_t *val,
		     size_t vlen)
{
	bfind_t *f = ctx;
	if (klen != f->klen || memcmp(key, f->key, klen) != 0)
		return;
	grove_free(f->val);
	f->val = NULL;
	f->vlen = 0;
	f->found = true;
	if (op == GROVE_BATCH_PUT) {
		f->val = grove_malloc(vlen + 1);
		if (!f->val) {
			f->rc = GROVE_ENOMEM;
			return;
		}
		if (vlen)
			memcpy(f->val, val, vlen);
		f->vlen = vlen;
	}
}

/* A record: b (may be NULL) then pending (locked) then the store (snap).
 * GROVE_ENOTFOUND when absent. */
static int zr_get(grove_db_t *db, const grove_batch_t *b, const grove_db_key_t *locked,
		  const grove_snapshot_t *snap, const uint8_t *key, size_t kl, uint8_t **val,
		  size_t *len)
{
	*val = NULL;
	*len = 0;
	if (b) {
		bfind_t f = { .key = key, .klen = kl };
		grove_batch_iterate(b, bfind_op, &f);
		if (f.rc) {
			grove_free(f.val);
			return f.rc;
		}
		if (f.found) {
			*val = f.val;
			*len = f.vlen;
			return f.val ? 0 : GROVE_ENOTFOUND;
		}
	}
	if (locked) {
		int rc = grove_db__pending_get(&db->stripes[locked->stripe], key, kl, val, len);
		if (rc < 0)
			return rc;
		if (rc == 1)
			return *val ? 0 : GROVE_ENOTFOUND;
	}
	return grove_store_get(db->store, snap, key, kl, val, len);
}

/* ---- the supers' counts: groups of params.group supers (3, 6) ----
 *
 * The supers' counts cut in groups of g supers (the last may be short),
 * each encoded as a width byte (2 or 4) and their counts (u16 or u32 LE).
 * Level 3 holds g (1 byte), the number of supers n (u32 LE) and the first
 * group; level 6 + a group's index i >= 1 (u32 BE) holds group i.  A
 * write that moves a member rewrites the group of each super it changed
 * (and level 3 when n changes: a pass): one record of at most
 * 6 + 4g bytes whatever the set's size (one record of every super's count,
 * as before, was 280 bytes a ZADD at 10^6 members).  The groups' sum is
 * checked against the key's member count by every writer (zrank_move) and
 * reader (zrank_counted).  In memory (zr_arr_t, the boundary cache) the
 * counts are one array. */

/* A group record's key (its index as u32 BE after the level byte), and
 * the index back from those 4 bytes. */
static size_t zr_group_key(const grove_db_key_t *k, size_t gi, uint8_t *out)
{
	uint8_t be[4] = { (uint8_t)(gi >> 24), (uint8_t)(gi >> 16), (uint8_t)(gi >> 8), (uint8_t)gi };
	return zr_key(k, ZR_GROUP, be, 4, out);
}

static size_t zr_group_index(const uint8_t be[4])
{
	return (size_t)((uint32_t)be[0] << 24 | (uint32_t)be[1] << 16 | (uint32_t)be[2] << 8 | be[3]);
}

/* The level 6 records of n supers: every group but the first. */
static size_t zr_groups(size_t n)
{
	size_t g = (size_t)grove_db__zrank_params.group;
	return n <= g ? 0 : (n + g - 1) / g - 1;
}

/* Group i of a's counts (n of them, groups of g). */
static zr_arr_t zr_group_of(const zr_arr_t *a, size_t g, size_t i)
{
	size_t lo = i * g;
	return (zr_arr_t){ .v = a->v + lo, .n = a->n - lo < g ? a->n - lo : g };
}

/* Appends the counts of a group record (p, len) to a; want: how many. */
static int zr_group_decode(const uint8_t *p, size_t len, size_t want, zr_arr_t *a)
{
	zr_arr_t x = { 0 };
	int rc = arr_decode(ZR_DIR, p, len, &x);
	if (rc == 0 && x.n != want)
		rc = GROVE_ECORRUPT;
	for (size_t j = 0; rc == 0 && j < x.n; j++)
		rc = arr_push(a, x.v[j]);
	arr_free(&x);
	return rc;
}

/* The supers' counts as one array (b, pending, the store as zr_get);
 * GROVE_ECORRUPT when a record is missing or malformed. */
static int zr_dir_get(grove_db_t *db, const grove_batch_t *b, const grove_db_key_t *k,
		      const grove_snapshot_t *snap, bool locked, uint8_t *key, zr_arr_t *a)
{
	size_t g = (size_t)grove_db__zrank_params.group;
	uint8_t *p = NULL;
	size_t len = 0;
	memset(a, 0, sizeof(*a));
	int rc = zr_get(db, b, locked ? k : NULL, snap, key, zr_key(k, ZR_DIR, NULL, 0, key), &p,
			&len);
	size_t n = rc == 0 && len >= 6 ? get32(p + 1) : 0, ng = zr_groups(n);
	if (rc == 0 && (len < 6 || p[0] != g || n == 0))
		rc = GROVE_ECORRUPT;
	if (rc == 0)
		rc = zr_group_decode(p + 5, len - 5, n < g ? n : g, a);
	for (size_t i = 1; rc == 0 && i <= ng; i++) {
		uint8_t *q = NULL;
		size_t ql = 0;
		rc = zr_get(db, b, locked ? k : NULL, snap, key, zr_group_key(k, i, key), &q, &ql);
		if (rc == 0)
			rc = zr_group_decode(q, ql, i < ng ? g : n - i * g, a);
		grove_free(q);
	}
	grove_free(p);
	if (rc)
		arr_free(a);
	return rc == GROVE_ENOTFOUND ? GROVE_ECORRUPT : rc;
}

/* Adds to b the groups of now that differ from was's (NULL: every group;
 * the first with the number of supers, when that changed too), deleting
 * was's groups past now's. */
static int zr_dir_put(grove_batch_t *b, const grove_db_key_t *k, uint8_t *key, const zr_arr_t *now,
		      const zr_arr_t *was)
{
	size_t g = (size_t)grove_db__zrank_params.group, ng = zr_groups(now->n);
	size_t wg = was ? zr_groups(was->n) : 0;
	GROVE_ASSERT(now->n > 0 && g > 0 && g < 256);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i <= ng; i++) {
		zr_arr_t x = zr_group_of(now, g, i), w = { 0 };
		if (was && i <= wg)
			w = zr_group_of(was, g, i);
		if (was && i <= wg && w.n == x.n && memcmp(w.v, x.v, 4 * x.n) == 0 &&
		    (i || was->n == now->n))
			continue; /* unchanged */
		size_t len = arr_encode(ZR_DIR, &x, NULL);
		uint8_t p[5 + 1 + 4 * 255]; /* g < 256 counts of up to 4 bytes */
		GROVE_ASSERT(5 + len <= sizeof(p));
		p[0] = (uint8_t)g;
		put32(p + 1, (uint32_t)now->n);
		arr_encode(ZR_DIR, &x, p + 5);
		if (i == 0)
			rc = grove_batch_put(b, key, zr_key(k, ZR_DIR, NULL, 0, key), p, 5 + len);
		else
			rc = grove_batch_put(b, key, zr_group_key(k, i, key), p + 5, len);
	}
	for (size_t i = ng + 1; rc == 0 && i <= wg; i++)
		rc = grove_batch_delete(b, key, zr_group_key(k, i, key));
	return rc;
}

static int zr_get_arr(grove_db_t *db, const grove_batch_t *b, const grove_db_key_t *k,
		      const grove_snapshot_t *snap, bool locked, int lvl, const uint8_t *bnd,
		      size_t blen, zr_arr_t *a)
{
	uint8_t *key = grove_malloc(ZR_KEY_MAX);
	if (!key)
		return GROVE_ENOMEM;
	if (lvl == ZR_DIR) {
		int rc = zr_dir_get(db, b, k, snap, locked, key, a);
		grove_free(key);
		return rc;
	}
	uint8_t *p = NULL;
	size_t len = 0;
	int rc = zr_get(db, b, locked ? k : NULL, snap, key, zr_key(k, lvl, bnd, blen, key), &p,
			&len);
	if (rc == 0)
		rc = arr_decode(lvl, p, len, a);
	else if (rc == GROVE_ENOTFOUND)
		rc = GROVE_ECORRUPT; /* the key has counts: every record is there */
	grove_free(p);
	grove_free(key);
	return rc;
}

static int zr_has_header(grove_db_t *db, const grove_batch_t *b, const grove_db_key_t *k,
			 const grove_snapshot_t *snap, bool locked, bool *present)
{
	uint8_t key[4 + GROVE_KEY_MAX];
	uint8_t *p = NULL;
	size_t len = 0;
	int rc = zr_get(db, b, locked ? k : NULL, snap, key, zr_key(k, ZR_HEADER, NULL, 0, key), &p,
			&len);
	*present = rc == 0 && len == 1 && p[0] == ZR_VERSION;
	grove_free(p);
	return rc == GROVE_ENOTFOUND ? 0 : rc;
}

/* ---- a super's leaf labels (level 5, stable) ----
 *
 * A leaf record's value is its label: labels increase with the
 * boundaries within a super, so a pass that splits or merges leaves
 * writes only the leaves it adds (a label between its neighbours') and
 * this list, not every leaf after them.  A leaf's position in its super
 * (its count's index in the record 4) is its label's index here. */

static int zr_get_labels(grove_db_t *db, const grove_snapshot_t *snap, const grove_db_key_t *k,
			 const uint8_t *sb, size_t sbl, zr_arr_t *a)
{
	memset(a, 0, sizeof(*a));
	uint8_t *key = grove_malloc(ZR_KEY_MAX);
	if (!key)
		return GROVE_ENOMEM;
	uint8_t *p = NULL;
	size_t len = 0;
	int rc = grove_store_get(db->store, snap, key, zr_key(k, ZR_LABELS, sb, sbl, key), &p, &len);
	if (rc == GROVE_ENOTFOUND || (rc == 0 && (len == 0 || len % 4)))
		rc = GROVE_ECORRUPT;
	for (size_t i = 0; rc == 0 && i < len; i += 4) {
		uint32_t x = get32(p + i);
		rc = a->n && x <= a->v[a->n - 1] ? GROVE_ECORRUPT : arr_push(a, x);
	}
	if (rc)
		arr_free(a);
	grove_free(p);
	grove_free(key);
	return rc;
}

static int zr_put_labels(grove_batch_t *b, const grove_db_key_t *k, const uint8_t *sb, size_t sbl,
			 const zr_arr_t *a, uint8_t *key)
{
	uint8_t *p = grove_malloc(4 * a->n + 1);
	if (!p)
		return GROVE_ENOMEM;
	for (size_t i = 0; i < a->n; i++)
		put32(p + 4 * i, a->v[i]);
	int rc = grove_batch_put(b, key, zr_key(k, ZR_LABELS, sb, sbl, key), p, 4 * a->n);
	grove_free(p);
	return rc;
}

/* The index of label in a (increasing), or -1. */
static long zr_label_find(const zr_arr_t *a, uint32_t label)
{
	size_t lo = 0, hi = a->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (a->v[mid] < label)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < a->n && a->v[lo] == label ? (long)lo : -1;
}

/* ---- where a suffix is: its super and leaf (stable records, seeks) ---- */

typedef struct zr_pos {
	uint8_t *sb, *lb; /* boundaries (ZR_SUF_MAX bytes each) */
	size_t sbl, lbl;
	uint32_t si, li;
	uint32_t supers; /* the key's supers, when located from the cache (else 0) */
} zr_pos_t;

/* The record of level lvl with the greatest boundary <= suf: its
 * boundary and index.  0, 1 when there is none (broken), < 0. */
static int zr_floor(grove_iter_t *it, const grove_db_key_t *k, int lvl, const uint8_t *suf,
		    size_t slen, uint8_t *key, uint8_t *bnd, size_t *blen, uint32_t *index)
{
	size_t pre = zr_key(k, lvl, suf, slen, key) - slen;
	key[pre + slen] = 0; /* suf + 00: the least key above suf */
	grove_iter_seek_before(it, key, pre + slen + 1);
	if (!grove_iter_valid(it))
		return grove_iter_status(it) ? grove_iter_status(it) : 1;
	size_t kl, vl;
	const uint8_t *kp = grove_iter_key(it, &kl);
	if (kl < pre || memcmp(kp, key, pre) != 0 || kl - pre > ZR_SUF_MAX)
		return 1;
	const uint8_t *vp = grove_iter_value(it, &vl);
	if (vl != 4)
		return 1;
	*blen = kl - pre;
	if (*blen)
		memcpy(bnd, kp + pre, *blen);
	*index = get32(vp);
	return 0;
}

/* The super and leaf of suf, the leaf's position from its label (the
 * super's labels record).  0, 1 broken, < 0. */
static int zr_locate(grove_db_t *db, const grove_snapshot_t *snap, grove_iter_t *it,
		     const grove_db_key_t *k, const uint8_t *suf, size_t slen, uint8_t *key,
		     zr_pos_t *p)
{
	uint32_t label = 0;
	int rc = zr_floor(it, k, ZR_SUPER, suf, slen, key, p->sb, &p->sbl, &p->si);
	if (rc == 0)
		rc = zr_floor(it, k, ZR_LEAF, suf, slen, key, p->lb, &p->lbl, &label);
	if (rc == 0 && bcmp_(p->lb, p->lbl, p->sb, p->sbl) < 0)
		rc = 1; /* the super's first leaf is missing */
	zr_arr_t labels = { 0 };
	if (rc == 0)
		rc = zr_get_labels(db, snap, k, p->sb, p->sbl, &labels);
	long at = rc == 0 ? zr_label_find(&labels, label) : -1;
	if (rc == 0)
		rc = at < 0 ? 1 : 0;
	p->li = (uint32_t)(at < 0 ? 0 : at);
	arr_free(&labels);
	return rc == GROVE_ECORRUPT ? 1 : rc;
}

/* ---- a super's leaves (stable records) ---- */

typedef struct zr_leaf {
	uint8_t *b; /* boundary (malloc'd; NULL when empty) */
	size_t blen;
	uint64_t pre; /* its first 8 bytes, big-endian, zero-padded (grove_zleaf_pre):
		       * the cache's searches compare them before the boundaries */
	uint64_t count;
	uint32_t label; /* a leaf's: its record's value (the boundary cache's too) */
	uint32_t id;    /* the boundary cache's, of a leaf: its hint locator (zr_id_new) */
	bool fresh;     /* a pass: its record is to be written */
	grove_zleaf_t *ents; /* the boundary cache's: its entries, or NULL (unknown) */
	uint32_t *cnt;       /* the boundary cache's, of a super: its leaves' counts
			      * (record 4), ncnt of them, or NULL (unknown) */
	size_t ncnt;
	uint8_t cflags;      /* with cnt: record 4's flags (ZR_DIRTY) */
} zr_leaf_t;

typedef struct zr_leaves {
	zr_leaf_t *v;
	size_t n, cap;
	uint64_t *pk; /* the boundary cache's: v's pre, n of them back to back,
		       * then their summary (grove_zpre_summarize) (leaves_index),
		       * or NULL: zr_cache_floor's search reads these 8 bytes a
		       * boundary instead of a 72-byte zr_leaf_t */
} zr_leaves_t;

static void leaves_free(zr_leaves_t *l)
{
	for (size_t i = 0; i < l->n; i++) {
		grove_free(l->v[i].b);
		grove_zleaf_free(l->v[i].ents);
		grove_free(l->v[i].cnt);
	}
	grove_free(l->v);
	grove_free(l->pk);
	memset(l, 0, sizeof(*l));
}

/* l's dense prefixes (pk) dropped: l changes. */
static void leaves_unindex(zr_leaves_t *l)
{
	grove_free(l->pk);
	l->pk = NULL;
}

/* l's dense prefixes made (left NULL when out of memory: the search then
 * reads v). */
static void leaves_index(zr_leaves_t *l)
{
	leaves_unindex(l);
	l->pk = grove_malloc((l->n + grove_zpre_groups(l->n)) * sizeof(*l->pk) + 1);
	for (size_t i = 0; l->pk && i < l->n; i++)
		l->pk[i] = l->v[i].pre;
	if (l->pk)
		grove_zpre_summarize(l->pk, l->n, l->pk + l->n);
}

static int leaves_push(zr_leaves_t *l, const uint8_t *b, size_t blen, uint64_t count)
{
	leaves_unindex(l);
	int rc = grove_grow((void **)&l->v, &l->cap, l->n + 1, sizeof(*l->v), 16, 0);
	if (rc)
		return rc;
	zr_leaf_t *x = &l->v[l->n];
	memset(x, 0, sizeof(*x));
	if (blen) {
		x->b = grove_malloc(blen);
		if (!x->b)
			return GROVE_ENOMEM;
		memcpy(x->b, b, blen);
	}
	x->blen = blen;
	x->pre = grove_zleaf_pre(b, blen);
	x->count = count;
	x->label = (uint32_t)count;
	x->id = GROVE_ZHINT_NOLOC;
	l->n++;
	return 0;
}

/* *out: a leaf of the n entries back to back in b (lens[i] bytes each),
 * or NULL (out of memory, or not in order: the caller does without). */
static void zr_ents_from_buf(const grove_buf_t *b, const size_t *lens, uint32_t n,
			     grove_zleaf_t **out)
{
	*out = NULL;
	const uint8_t **ents = grove_malloc(n * sizeof(*ents) + 1);
	size_t at = 0;
	for (uint32_t i = 0; ents && i < n; at += lens[i++])
		ents[i] = b->data + at;
	if (ents && grove_zleaf_build(ents, lens, n, out) != 0)
		*out = NULL;
	grove_free(ents);
}

/* Records of level lvl from boundary from (inclusive) to hi (exclusive;
 * NULL: to the level's end), boundaries and u32 values, into out (the
 * value as count). */
static int zr_list(grove_iter_t *it, const grove_db_key_t *k, int lvl, const uint8_t *from,
		   size_t flen, const uint8_t *hi, size_t hlen, uint8_t *key, zr_leaves_t *out)
{
	size_t kl0 = zr_key(k, lvl, from, flen, key), pre = kl0 - flen;
	int rc = 0;
	for (grove_iter_seek(it, key, kl0); rc == 0 && grove_iter_valid(it); grove_iter_next(it)) {
		size_t kl, vl;
		const uint8_t *kp = grove_iter_key(it, &kl);
		if (kl < pre || memcmp(kp, key, pre) != 0)
			break;
		if (hi && bcmp_(kp + pre, kl - pre, hi, hlen) >= 0)
			break;
		const uint8_t *vp = grove_iter_value(it, &vl);
		rc = vl == 4 ? leaves_push(out, kp + pre, kl - pre, get32(vp)) : GROVE_ECORRUPT;
	}
	return rc ? rc : grove_iter_status(it);
}

/* ---- the boundary cache of a stripe ----
 *
 * Boundaries (levels 1 and 2) change only in the build, a pass or a drop,
 * each under the key lock and written at once (never pending), so a copy
 * kept under the lock stays exact: a pass patches its super's leaves
 * (and the supers, when it split or merged its super), anything else
 * drops the copy.  A stripe keeps the
 * boundaries of one key, loaded (O(buckets)) at the second write in a row
 * of that key to the stripe (never inside a transaction, whose reads see
 * its staged writes; a pass staged in one drops it), or into an empty
 * cache at the second ZRANK in a row (zr_cache_load_reader); others
 * locate by seeks.  ZRANK reads it under the lock when the stripe's generation
 * (bumped after a build or pass is written, and by a load) is the one it
 * read before taking its snapshot.  At most ZR_CACHE_BYTES_MAX over all
 * stripes. */

#define ZR_CACHE_BYTES_MAX (64u * 1024 * 1024)

struct grove_db_zrcache {
	uint8_t *key;
	size_t klen, charge;
	zr_leaves_t supers;  /* count: a super's index */
	zr_leaves_t *leaves; /* per super, its leaves (count: the position; label) */
	uint32_t *dir;       /* the supers' counts (record 3), ndir, or NULL (unknown) */
	size_t ndir;
	grove_zhint_t hint;  /* members' leaves (their ids), checked against the leaves' entries */
	size_t dirty_from;   /* where zr_pass_dirty looks for a dirty super first */
	uint32_t *lpos;      /* per leaf id: zr_loc of its leaf, or GROVE_ZHINT_NOLOC (free) */
	uint32_t *lfree;     /* ids free for reuse */
	size_t nid, idcap, nfree, freecap;
};

static size_t leaves_charge(const zr_leaves_t *l)
{
	size_t n = l->cap * sizeof(zr_leaf_t) +
		   (l->pk ? (l->n + grove_zpre_groups(l->n)) * sizeof(*l->pk) : 0);
	for (size_t i = 0; i < l->n; i++)
		n += l->v[i].blen + grove_zleaf_bytes(l->v[i].ents) + 4 * l->v[i].ncnt;
	return n;
}

void grove_db__zrank_cache_free(grove_db_t *db, grove_db_stripe_t *s)
{
	struct grove_db_zrcache *c = s->zr;
	if (!c)
		return;
	atomic_fetch_sub(&db->zrcache_bytes, c->charge);
	for (size_t i = 0; c->leaves && i < c->supers.n; i++)
		leaves_free(&c->leaves[i]);
	grove_free(c->leaves);
	leaves_free(&c->supers);
	grove_free(c->dir);
	grove_zhint_free(&c->hint);
	grove_free(c->lpos);
	grove_free(c->lfree);
	grove_free(c->key);
	grove_free(c);
	s->zr = NULL;
}

static bool zr_cache_is(const struct grove_db_zrcache *c, const grove_db_key_t *k)
{
	return c && c->klen == k->klen && memcmp(c->key, k->key, k->klen) == 0;
}

/* Drops k's boundaries from its stripe's cache (they are rewritten). */
static void zr_cache_drop(grove_db_t *db, const grove_db_key_t *k)
{
	grove_db_stripe_t *s = &db->stripes[k->stripe];
	if (zr_cache_is(s->zr, k)) {
		grove_db__zrank_cache_free(db, s);
		s->zr_gen++; /* a reader's snapshot may predate the change */
	}
	s->zr_last = 0;
}

static int zr_list(grove_iter_t *it, const grove_db_key_t *k, int lvl, const uint8_t *from,
		   size_t flen, const uint8_t *hi, size_t hlen, uint8_t *key, zr_leaves_t *out);
static void zr_cache_recharge(grove_db_t *db, struct grove_db_zrcache *c, size_t was, size_t is);
static uint32_t zr_loc(size_t si, size_t li);

/* ---- leaf ids: the hint's locators ----
 *
 * The hint names a member's leaf by the leaf's id, not its place: a pass
 * that splits a leaf moves every later leaf of its super up one place,
 * and a split or merge of a super renumbers the supers after it, so a
 * place noted at a write is soon another leaf's (a fill of 10^6 members
 * in score order unlike insertion order left 83% of its members' places
 * stale, each ZRANK then reading the member's record).  A leaf keeps its
 * id while the cache holds it: through passes that keep it, split it
 * (the first piece keeps it; the members of the others are found in the
 * leaves after it) or merge its successors into it, and through splits
 * and merges of its super.  lpos maps ids to places, redone for the
 * leaves of a super a pass rewrote (O(its leaves)) and for all leaves
 * when the supers change.  The ids of leaves merged away are freed and
 * reused: a hint that names one names some other leaf, where the member
 * is not found (a hint is always checked against the leaf). */

/* A leaf id of c (a freed one first), its place GROVE_ZHINT_NOLOC until
 * zr_ids_place; GROVE_ZHINT_NOLOC when out of memory (its leaf then gets
 * no hints). */
static uint32_t zr_id_new(grove_db_t *db, struct grove_db_zrcache *c)
{
	if (c->nfree)
		return c->lfree[--c->nfree];
	size_t was = 4 * c->idcap;
	if (c->nid >= GROVE_ZHINT_NOLOC - 1 ||
	    grove_grow((void **)&c->lpos, &c->idcap, c->nid + 1, 4, 64, 0) != 0)
		return GROVE_ZHINT_NOLOC;
	zr_cache_recharge(db, c, was, 4 * c->idcap);
	c->lpos[c->nid] = GROVE_ZHINT_NOLOC;
	return (uint32_t)c->nid++;
}

/* id (a leaf's, now gone) free for reuse. */
static void zr_id_free(grove_db_t *db, struct grove_db_zrcache *c, uint32_t id)
{
	if (id >= c->nid)
		return;
	c->lpos[id] = GROVE_ZHINT_NOLOC;
	size_t was = 4 * c->freecap;
	if (grove_grow((void **)&c->lfree, &c->freecap, c->nfree + 1, 4, 64, 0) != 0)
		return; /* out of memory: the id is lost (its place stays unknown) */
	zr_cache_recharge(db, c, was, 4 * c->freecap);
	c->lfree[c->nfree++] = id;
}

/* The places of super si's leaves into lpos. */
static void zr_ids_place(struct grove_db_zrcache *c, size_t si)
{
	const zr_leaves_t *l = &c->leaves[si];
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].id < c->nid)
			c->lpos[l->v[i].id] = zr_loc(si, i);
}

/* An id for each leaf of super si that has none (GROVE_ZHINT_NOLOC), and
 * the places of its leaves. */
static void zr_ids_fill(grove_db_t *db, struct grove_db_zrcache *c, size_t si)
{
	zr_leaves_t *l = &c->leaves[si];
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].id == GROVE_ZHINT_NOLOC)
			l->v[i].id = zr_id_new(db, c);
	zr_ids_place(c, si);
}

static void zr_hint_leaf(grove_db_t *db, struct grove_db_zrcache *c, const grove_zleaf_t *x,
			 uint32_t loc);
static void zr_hint_grow(grove_db_t *db, struct grove_db_zrcache *c);

/* Before fresh (a pass's leaves, ids unset, their entries carried)
 * replaces old (the cached leaves of the super it passed over): each
 * fresh leaf whose boundary is an old one's takes that one's id (the leaf
 * it kept, the first piece of one it split, the one it merged others
 * into), the others new ones, and the ids of the old leaves none took are
 * freed.  The members of a fresh leaf that is not within an old one (a
 * later piece of a split, a merge) are noted in the hint with its id (a
 * first piece's were noted with the id it keeps): a fill
 * splits most leaves, and the members of the later pieces would else be
 * found one or two leaves after the one their hint names (the hint is
 * not resized here: its refill would miss the entries fresh holds).
 * O(leaves), and O(entries) of the leaves split or merged: both lists
 * are in boundary order. */
static void zr_ids_carry(grove_db_t *db, struct grove_db_zrcache *c, zr_leaves_t *old,
			 zr_leaves_t *fresh)
{
	size_t i = 0, j = 0;
	for (size_t t = 0; t < fresh->n; t++)
		fresh->v[t].id = GROVE_ZHINT_NOLOC;
	while (i < fresh->n && j < old->n) {
		zr_leaf_t *f = &fresh->v[i], *o = &old->v[j];
		int cmp = bcmp_(f->b, f->blen, o->b, o->blen);
		if (cmp == 0) {
			const zr_leaf_t *fn = i + 1 < fresh->n ? f + 1 : NULL;
			const zr_leaf_t *on = j + 1 < old->n ? o + 1 : NULL;
			/* within o (o whole, or the first piece of a split): its
			 * members were noted with o's id, which it keeps */
			bool within = !on || (fn && bcmp_(fn->b, fn->blen, on->b, on->blen) <= 0);
			f->id = o->id;
			o->id = GROVE_ZHINT_NOLOC;
			if (!within)
				zr_hint_leaf(db, c, f->ents, f->id);
		}
		i += cmp <= 0;
		j += cmp >= 0;
	}
	for (j = 0; j < old->n; j++)
		if (old->v[j].id != GROVE_ZHINT_NOLOC) {
			zr_id_free(db, c, old->v[j].id);
			old->v[j].id = GROVE_ZHINT_NOLOC;
		}
	for (i = 0; i < fresh->n; i++)
		if (fresh->v[i].id == GROVE_ZHINT_NOLOC) {
			fresh->v[i].id = zr_id_new(db, c);
			zr_hint_leaf(db, c, fresh->v[i].ents, fresh->v[i].id);
		}
}

/* The place lpos gives id, when it is within c: *si, *li (not checked
 * against the leaf there: zr_id_find). */
static bool zr_id_place(const struct grove_db_zrcache *c, uint32_t id, size_t *si, size_t *li)
{
	uint32_t loc = id < c->nid ? c->lpos[id] : GROVE_ZHINT_NOLOC;
	if (loc == GROVE_ZHINT_NOLOC)
		return false;
	*si = loc >> 16;
	*li = loc & 0xFFFF;
	return *si < c->supers.n && *li < c->leaves[*si].n;
}

/* The place of the leaf of id, when it is one of c's: *si, *li. */
static bool zr_id_find(const struct grove_db_zrcache *c, uint32_t id, size_t *si, size_t *li)
{
	return zr_id_place(c, id, si, li) && c->leaves[*si].v[*li].id == id;
}

/* Every leaf of k (all) into its super's list, with its position. */
static int zr_cache_split(struct grove_db_zrcache *c, const zr_leaves_t *all)
{
	c->leaves = grove_calloc(c->supers.n, sizeof(*c->leaves));
	if (!c->leaves)
		return GROVE_ENOMEM;
	for (size_t i = 0; i < c->supers.n; i++)
		if (c->supers.v[i].count != i)
			return GROVE_ECORRUPT;
	size_t j = 0;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < all->n; i++) {
		const zr_leaf_t *l = &all->v[i];
		while (j + 1 < c->supers.n &&
		       bcmp_(l->b, l->blen, c->supers.v[j + 1].b, c->supers.v[j + 1].blen) >= 0)
			j++;
		zr_leaves_t *to = &c->leaves[j];
		if (to->n == 0 && bcmp_(l->b, l->blen, c->supers.v[j].b, c->supers.v[j].blen) != 0)
			return GROVE_ECORRUPT; /* a super's first leaf missing */
		rc = leaves_push(to, l->b, l->blen, to->n);
		if (rc == 0)
			to->v[to->n - 1].label = (uint32_t)l->count; /* zr_list: the record's value */
	}
	for (size_t i = 0; rc == 0 && i < c->supers.n; i++)
		if (c->leaves[i].n == 0)
			rc = GROVE_ECORRUPT;
	return rc;
}

/* k's cached boundaries, loading them when k was also the stripe's last
 * key; NULL: locate by seeks. */
static struct grove_db_zrcache *zr_cache_get(grove_db_t *db, const grove_db_key_t *k, uint8_t *key)
{
	grove_db_stripe_t *s = &db->stripes[k->stripe];
	if (zr_cache_is(s->zr, k))
		return s->zr;
	if (grove_commit_txn_owned(&db->commit))
		return NULL; /* a transaction's reads see its staged writes: not loaded from them */
	uint32_t h = k->hash | 1;
	if (s->zr_last != h || atomic_load(&db->zrcache_bytes) > ZR_CACHE_BYTES_MAX) {
		s->zr_last = h;
		return NULL;
	}
	grove_db__zrank_cache_free(db, s);
	s->zr_gen++; /* a reader whose snapshot predates the load does not use it */
	struct grove_db_zrcache *c = grove_calloc(1, sizeof(*c));
	zr_leaves_t all = { 0 };
	grove_iter_t *it = NULL;
	int rc = c ? grove_iter_create(db->store, NULL, &it) : GROVE_ENOMEM;
	if (rc == 0 && !(c->key = grove_malloc(k->klen ? k->klen : 1)))
		rc = GROVE_ENOMEM;
	if (rc == 0) {
		memcpy(c->key, k->key, k->klen);
		c->klen = k->klen;
		rc = zr_list(it, k, ZR_SUPER, NULL, 0, NULL, 0, key, &c->supers);
	}
	if (rc == 0)
		rc = zr_list(it, k, ZR_LEAF, NULL, 0, NULL, 0, key, &all);
	grove_iter_destroy(it);
	if (rc == 0 && (!c->supers.n || !all.n))
		rc = GROVE_ECORRUPT;
	if (rc == 0)
		rc = zr_cache_split(c, &all);
	leaves_free(&all);
	if (rc == 0) {
		leaves_index(&c->supers);
		for (size_t i = 0; i < c->supers.n; i++)
			leaves_index(&c->leaves[i]);
	}
	if (c) {
		c->charge = sizeof(*c) + leaves_charge(&c->supers);
		for (size_t i = 0; c->leaves && i < c->supers.n; i++)
			c->charge += sizeof(zr_leaves_t) + leaves_charge(&c->leaves[i]);
		atomic_fetch_add(&db->zrcache_bytes, c->charge);
		s->zr = c;
	}
	if (rc) {
		grove_db__zrank_cache_free(db, s);
		return NULL;
	}
	for (size_t i = 0; i < c->supers.n; i++)
		zr_ids_fill(db, c, i);
	return c;
}

static const zr_leaf_t *zr_cache_floor(const zr_leaves_t *l, const uint8_t *suf, size_t slen);
static void zr_ents_charge(grove_db_t *db, struct grove_db_zrcache *c, zr_leaf_t *l,
			   grove_zleaf_t *x, size_t was_bytes);

/* Cached counts *dst (*dn of them; NULL: unknown) set to a copy of a's
 * (NULL: unknown), with the cache's charge. */
static void zr_counts_set(grove_db_t *db, struct grove_db_zrcache *c, uint32_t **dst, size_t *dn,
			  const zr_arr_t *a)
{
	if (a && a->n && *dst && *dn == a->n) { /* the same size: in place */
		memmove(*dst, a->v, 4 * a->n);
		return;
	}
	size_t was = 4 * *dn;
	grove_free(*dst);
	*dst = NULL;
	*dn = 0;
	uint32_t *v = a && a->n ? grove_malloc(4 * a->n) : NULL;
	if (v) {
		memcpy(v, a->v, 4 * a->n);
		*dst = v;
		*dn = a->n;
	}
	c->charge = c->charge - was + 4 * *dn;
	atomic_fetch_sub(&db->zrcache_bytes, was);
	atomic_fetch_add(&db->zrcache_bytes, 4 * *dn);
}

/* Super sp's cached counts and flags (record 4) set to a copy of a's
 * (NULL: unknown). */
static void zr_srec_set(grove_db_t *db, struct grove_db_zrcache *c, zr_leaf_t *sp,
			const zr_arr_t *a)
{
	zr_counts_set(db, c, &sp->cnt, &sp->ncnt, a);
	sp->cflags = a ? a->flags : 0;
}

/* Leaf i of fresh (a pass's leaf i of now) takes the entries of the old
 * cached leaves its range covers (one it kept or split, or the neighbours
 * it merged), when all of those are known and their number in its range
 * is the pass's count: a kept leaf's are moved, the others copied. */
static int zr_ents_carry(zr_leaves_t *old, const zr_leaves_t *now, zr_leaves_t *fresh, size_t i)
{
	const zr_leaf_t *x = &now->v[i], *nx = i + 1 < now->n ? &now->v[i + 1] : NULL;
	size_t j0 = (size_t)(zr_cache_floor(old, x->b, x->blen) - old->v), j = j0;
	zr_leaf_t *o = &old->v[j0], *onx = j0 + 1 < old->n ? &old->v[j0 + 1] : NULL;
	if (x->count >= GROVE_ZLEAF_ENTRIES_MAX || !o->ents)
		return 0;
	if (bcmp_(o->b, o->blen, x->b, x->blen) == 0 && !nx == !onx &&
	    (!nx || bcmp_(onx->b, onx->blen, nx->b, nx->blen) == 0)) { /* kept */
		if (o->ents->n == x->count) {
			fresh->v[i].ents = o->ents;
			o->ents = NULL;
		}
		return 0;
	}
	const uint8_t **ents = grove_malloc(x->count * sizeof(*ents) + 1);
	size_t *lens = grove_malloc(x->count * sizeof(*lens) + 1);
	uint32_t n = 0;
	int rc = ents && lens ? 0 : GROVE_ENOMEM;
	bool ok = rc == 0;
	for (; ok && j < old->n &&
	       (j == j0 || !nx || bcmp_(old->v[j].b, old->v[j].blen, nx->b, nx->blen) < 0);
	     j++) {
		const grove_zleaf_t *e = old->v[j].ents;
		bool f;
		uint32_t from = e && j == j0 ? grove_zleaf_find(e, x->b, x->blen, &f) : 0;
		uint32_t to = e && nx ? grove_zleaf_find(e, nx->b, nx->blen, &f) : e ? e->n : 0;
		/* unknown, or more than the pass counted: not carried */
		ok = e && to >= from && n + (to - from) <= x->count;
		for (uint32_t t = from; ok && t < to; t++, n++) {
			ents[n] = e->buf + e->off[t];
			lens[n] = e->off[t + 1] - e->off[t];
		}
	}
	if (ok && n == x->count)
		rc = grove_zleaf_build(ents, lens, n, &fresh->v[i].ents);
	grove_free(ents);
	grove_free(lens);
	return rc == GROVE_ENOMEM ? rc : 0;
}

/* The entries a pass walked (the leaves it split, walked[i].ents) given
 * to super si's cached leaves that lack them: the pass read them from the
 * store under the key lock, with nothing of the stripe queued. */
static void zr_ents_adopt(grove_db_t *db, struct grove_db_zrcache *c, size_t si,
			  zr_leaves_t *walked)
{
	zr_leaves_t *l = &c->leaves[si];
	if (l->n != walked->n)
		return;
	for (size_t i = 0; i < l->n; i++)
		if (bcmp_(l->v[i].b, l->v[i].blen, walked->v[i].b, walked->v[i].blen) != 0)
			return; /* not the leaves the pass saw: not taken */
	for (size_t i = 0; i < l->n; i++) {
		if (!walked->v[i].ents || l->v[i].ents ||
		    atomic_load(&db->zrcache_bytes) >= ZR_CACHE_BYTES_MAX)
			continue;
		zr_ents_charge(db, c, &l->v[i], walked->v[i].ents, 0);
		zr_hint_grow(db, c);
		zr_hint_leaf(db, c, walked->v[i].ents, l->v[i].id);
		walked->v[i].ents = NULL;
		atomic_fetch_add(&db->zleaf_loads, 1);
	}
}

/* x moved to the end of to (its position: to's count); x left empty. */
static int leaves_move(zr_leaves_t *to, zr_leaf_t *x)
{
	leaves_unindex(to);
	int rc = grove_grow((void **)&to->v, &to->cap, to->n + 1, sizeof(*to->v), 16, 0);
	if (rc)
		return rc;
	to->v[to->n] = *x;
	to->v[to->n].count = to->n;
	to->n++;
	memset(x, 0, sizeof(*x));
	return 0;
}

/* c's charge changed from was to is bytes (a part of what it holds). */
static void zr_cache_recharge(grove_db_t *db, struct grove_db_zrcache *c, size_t was, size_t is)
{
	c->charge = c->charge - was + is;
	atomic_fetch_sub(&db->zrcache_bytes, was);
	atomic_fetch_add(&db->zrcache_bytes, is);
}

/* The supers after a pass over si that cut it into the supers opening at
 * fresh's leaves opens[0] (0) .. opens[nopen - 1], or merged it into its
 * predecessor (nopen 0): new supers and leaves lists into c (the others'
 * leaves and counts moved over, the changed supers' counts unknown), and
 * the charge of what changed (was_si: super si's leaves' before the
 * carry).  O(supers + the changed supers' leaves). */
static int zr_cache_resuper(grove_db_t *db, struct grove_db_zrcache *c, size_t si,
			    size_t was_si, zr_leaves_t *fresh, const uint32_t *opens, size_t nopen)
{
	size_t ns = c->supers.n - 1 + nopen, first = nopen ? si : si - 1;
	size_t was = leaves_charge(&c->supers) + c->supers.n * sizeof(zr_leaves_t) + was_si;
	if (!nopen)
		was += leaves_charge(&c->leaves[si - 1]);
	zr_leaves_t sup = { 0 };
	zr_leaves_t *lv = grove_calloc(ns ? ns : 1, sizeof(*lv));
	int rc = lv ? 0 : GROVE_ENOMEM;
	for (size_t i = 0, o = 0; rc == 0 && i < c->supers.n; i++) {
		if (i != si) { /* kept: its leaves and counts move over */
			rc = leaves_push(&sup, c->supers.v[i].b, c->supers.v[i].blen, o);
			if (rc == 0 && !(nopen == 0 && i + 1 == si)) {
				sup.v[o].cnt = c->supers.v[i].cnt, sup.v[o].ncnt = c->supers.v[i].ncnt;
				sup.v[o].cflags = c->supers.v[i].cflags;
				c->supers.v[i].cnt = NULL, c->supers.v[i].ncnt = 0;
			}
			if (rc == 0)
				lv[o++] = c->leaves[i], memset(&c->leaves[i], 0, sizeof(c->leaves[i]));
			continue;
		}
		for (size_t j = 0; rc == 0 && j < nopen; j++, o++) {
			const zr_leaf_t *f = &fresh->v[opens[j]];
			rc = leaves_push(&sup, f->b, f->blen, o);
			size_t end = j + 1 < nopen ? opens[j + 1] : fresh->n;
			for (size_t t = opens[j]; rc == 0 && t < end; t++)
				rc = leaves_move(&lv[o], &fresh->v[t]);
		}
		for (size_t t = 0; rc == 0 && nopen == 0 && t < fresh->n; t++)
			rc = leaves_move(&lv[o - 1], &fresh->v[t]); /* after the predecessor's */
	}
	if (rc == 0 && (sup.n != ns || (nopen && opens[0] != 0)))
		rc = GROVE_ECORRUPT;
	for (size_t i = 0; rc == 0 && i < ns; i++)
		rc = lv[i].n ? 0 : GROVE_ECORRUPT;
	if (rc) {
		for (size_t i = 0; lv && i < ns; i++)
			leaves_free(&lv[i]);
		grove_free(lv);
		leaves_free(&sup);
		return rc;
	}
	leaves_index(&sup);
	for (size_t i = first; i < first + (nopen ? nopen : 1); i++)
		leaves_index(&lv[i]);
	size_t is = leaves_charge(&sup) + ns * sizeof(zr_leaves_t);
	for (size_t i = first; i < first + (nopen ? nopen : 1); i++)
		is += leaves_charge(&lv[i]);
	for (size_t i = 0; i < c->supers.n; i++)
		leaves_free(&c->leaves[i]);
	grove_free(c->leaves);
	leaves_free(&c->supers);
	c->supers = sup;
	c->leaves = lv;
	zr_cache_recharge(db, c, was, is);
	return 0;
}

/* After a pass over super si: its new leaves (now, whose boundaries
 * move to the cache) replace its cached ones, with the entries of those it kept, split (walked: the entries its
 * walks read) or merged; the super kept (nopen 1), cut into the supers
 * opening at now's leaves opens[], or merged into its predecessor (nopen
 * 0).  The counts it rewrote are read again; on failure the cache goes. */
static void zr_cache_patch(grove_db_t *db, const grove_db_key_t *k, size_t si,
			   zr_leaves_t *walked, zr_leaves_t *now, const uint32_t *opens,
			   size_t nopen)
{
	grove_db_stripe_t *s = &db->stripes[k->stripe];
	struct grove_db_zrcache *c = s->zr;
	if (!zr_cache_is(c, k))
		return;
	zr_leaves_t fresh = { 0 };
	int rc = si < c->supers.n && (nopen || si > 0) ? 0 : GROVE_ECORRUPT;
	if (rc == 0)
		zr_ents_adopt(db, c, si, walked);
	size_t was_si = rc == 0 ? leaves_charge(&c->leaves[si]) : 0; /* before the carry */
	if (rc == 0) /* now's leaves move over: their boundaries are fresh's */
		rc = grove_grow((void **)&fresh.v, &fresh.cap, now->n + 1, sizeof(*fresh.v), 16, 0);
	if (rc == 0) {
		memcpy(fresh.v, now->v, now->n * sizeof(*now->v));
		fresh.n = now->n;
		for (size_t i = 0; i < now->n; i++) {
			fresh.v[i].ents = NULL;
			fresh.v[i].cnt = NULL;
			fresh.v[i].ncnt = 0;
			now->v[i].b = NULL;
		}
	}
	/* (fresh's counts are still the pass's: the carry checks them) */
	for (size_t i = 0; rc == 0 && i < fresh.n; i++)
		rc = zr_ents_carry(&c->leaves[si], &fresh, &fresh, i);
	for (size_t i = 0; i < fresh.n; i++)
		fresh.v[i].count = i; /* the position */
	if (rc == 0)
		zr_ids_carry(db, c, &c->leaves[si], &fresh);
	/* its super's counts and the supers' are read again (the pass wrote them) */
	if (rc == 0 && nopen == 1) {
		zr_srec_set(db, c, &c->supers.v[si], NULL);
		leaves_index(&fresh);
		zr_cache_recharge(db, c, was_si, leaves_charge(&fresh));
		leaves_free(&c->leaves[si]);
		c->leaves[si] = fresh;
		fresh = (zr_leaves_t){ 0 };
		zr_ids_fill(db, c, si);
	} else if (rc == 0) { /* the supers after si move: every leaf's place */
		rc = zr_cache_resuper(db, c, si, was_si, &fresh, opens, nopen);
		for (size_t i = 0; rc == 0 && i < c->supers.n; i++)
			zr_ids_fill(db, c, i);
	}
	leaves_free(&fresh);
	if (rc) {
		zr_cache_drop(db, k);
		return;
	}
	zr_counts_set(db, c, &c->dir, &c->ndir, NULL);
}

/* The entry of l with the greatest boundary <= suf (l->n > 0, l->v[0]
 * the empty boundary, or one <= suf). */
static const zr_leaf_t *zr_cache_floor(const zr_leaves_t *l, const uint8_t *suf, size_t slen)
{
	if (l->n <= 1)
		return &l->v[0]; /* one bucket (a key's one super, up to 8,192 members) */
	size_t lo = 0, hi = l->n; /* v[lo] <= suf < v[hi] */
	uint64_t sp = grove_zleaf_pre(suf, slen);
	if (l->pk) {
		/* lo: the boundaries whose prefix is below suf's (the binary
		 * search over v waited for a 72-byte entry's line per step),
		 * then those of suf's prefix up to suf, whole (the floor is the
		 * last) */
		lo = grove_zpre_below_grouped(l->pk, l->n, l->pk + l->n, sp);
		while (lo < l->n && l->pk[lo] == sp && bcmp_(l->v[lo].b, l->v[lo].blen, suf, slen) <= 0)
			lo++;
		return &l->v[lo ? lo - 1 : 0];
	}
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		const zr_leaf_t *m = &l->v[mid];
		if (m->pre != sp ? m->pre < sp : bcmp_(m->b, m->blen, suf, slen) <= 0)
			lo = mid;
		else
			hi = mid;
	}
	return &l->v[lo];
}

static void zr_cache_locate(const struct grove_db_zrcache *c, const uint8_t *suf, size_t slen,
			    zr_pos_t *p)
{
	const zr_leaf_t *s = zr_cache_floor(&c->supers, suf, slen);
	size_t si = (size_t)(s - c->supers.v);
	const zr_leaf_t *l = zr_cache_floor(&c->leaves[si], suf, slen);
	if (s->blen) /* the empty boundary has no bytes (b NULL) */
		memcpy(p->sb, s->b, s->blen);
	p->sbl = s->blen;
	p->si = (uint32_t)si;
	if (l->blen)
		memcpy(p->lb, l->b, l->blen);
	p->lbl = l->blen;
	p->li = (uint32_t)l->count;
	p->supers = (uint32_t)c->supers.n;
}

/* ---- the build: every count from the 'z' records ---- */

typedef struct zr_build {
	const grove_db_key_t *k;
	grove_batch_t *b;
	uint8_t *key;
	size_t zpre;
	uint64_t i;
	zr_arr_t dir, srec, labels;
	uint8_t *sb; /* the open super's boundary */
	size_t sbl;
	int rc;
} zr_build_t;

static int zr_del_rec(void *vctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	(void)val;
	(void)vlen;
	zr_build_t *z = vctx;
	z->rc = grove_batch_delete(z->b, key, klen);
	return z->rc != 0;
}

/* Adds a stable record (level lvl, boundary, index) to b. */
static int zr_put_index(grove_batch_t *b, const grove_db_key_t *k, int lvl, const uint8_t *bnd,
			size_t blen, uint32_t index, uint8_t *key)
{
	uint8_t v[4];
	put32(v, index);
	return grove_batch_put(b, key, zr_key(k, lvl, bnd, blen, key), v, 4);
}

static int zr_build_close_super(zr_build_t *z)
{
	int rc = arr_put(z->b, ZR_SREC, z->key, zr_key(z->k, ZR_SREC, z->sb, z->sbl, z->key),
			 &z->srec);
	return rc ? rc : zr_put_labels(z->b, z->k, z->sb, z->sbl, &z->labels, z->key);
}

static int zr_build_rec(void *vctx, const uint8_t *key, size_t klen, const uint8_t *val,
			size_t vlen)
{
	(void)val;
	(void)vlen;
	zr_build_t *z = vctx;
	const grove_db__zrank_params_t *p = &grove_db__zrank_params;
	if (klen < z->zpre + 8 || klen - z->zpre > ZR_SUF_MAX) {
		z->rc = GROVE_ECORRUPT;
		return 1;
	}
	const uint8_t *s = key + z->zpre;
	size_t sl = z->i ? klen - z->zpre : 0; /* the first buckets: the empty boundary */
	int rc = 0;
	if (z->i % p->super_fill == 0) {
		if (z->i)
			rc = zr_build_close_super(z);
		if (rc == 0)
			rc = zr_put_index(z->b, z->k, ZR_SUPER, s, sl, (uint32_t)z->dir.n, z->key);
		if (rc == 0)
			rc = arr_push(&z->dir, 0);
		z->srec.n = 0;
		z->labels.n = 0;
		if (sl)
			memcpy(z->sb, s, sl);
		z->sbl = sl;
	}
	if (rc == 0 && z->i % p->leaf_fill == 0) {
		uint32_t label = (uint32_t)z->srec.n * p->label_gap;
		rc = zr_put_index(z->b, z->k, ZR_LEAF, s, sl, label, z->key);
		if (rc == 0)
			rc = arr_push(&z->srec, 0);
		if (rc == 0)
			rc = arr_push(&z->labels, label);
	}
	if (rc == 0) {
		z->dir.v[z->dir.n - 1]++;
		z->srec.v[z->srec.n - 1]++;
		z->i++;
	}
	z->rc = rc;
	return rc != 0;
}

/* Under the key lock, nothing pending: replaces every 'r' record of k by
 * counts of its 'z' records, in one write.  O(members). */
static int zr_build(grove_db_t *db, const grove_db_key_t *k)
{
	const grove_db__zrank_params_t *p = &grove_db__zrank_params;
	GROVE_ASSERT(p->leaf_fill && p->super_fill % p->leaf_fill == 0 && p->label_gap &&
		     p->super_fill / p->leaf_fill < UINT32_MAX / p->label_gap && p->group &&
		     p->group < 256);
	grove_batch_t b;
	grove_batch_init(&b);
	uint8_t *buf = grove_malloc(2 * ZR_KEY_MAX);
	zr_build_t z = { .k = k, .b = &b, .key = buf };
	int rc = buf ? 0 : GROVE_ENOMEM;
	if (rc == 0) {
		z.sb = buf + ZR_KEY_MAX;
		size_t pl = zr_key(k, 0, NULL, 0, buf) - 1; /* every level */
		rc = grove_store_scan_prefix(db->store, NULL, buf, pl, zr_del_rec, &z);
	}
	if (rc == 0 && (rc = z.rc) == 0) {
		z.zpre = zr_zpre(k, buf);
		uint8_t zp[3 + GROVE_KEY_MAX];
		memcpy(zp, buf, z.zpre);
		rc = grove_store_scan_prefix(db->store, NULL, zp, z.zpre, zr_build_rec, &z);
	}
	if (rc == 0 && (rc = z.rc) == 0 && z.i == 0) { /* no member: one empty leaf and super */
		rc = zr_put_index(&b, k, ZR_SUPER, NULL, 0, 0, buf);
		if (rc == 0)
			rc = zr_put_index(&b, k, ZR_LEAF, NULL, 0, 0, buf);
		if (rc == 0)
			rc = arr_push(&z.dir, 0);
		if (rc == 0)
			rc = arr_push(&z.srec, 0);
		if (rc == 0)
			rc = arr_push(&z.labels, 0);
		z.sbl = 0;
	}
	if (rc == 0)
		rc = zr_build_close_super(&z);
	if (rc == 0)
		rc = zr_dir_put(&b, k, buf, &z.dir, NULL);
	if (rc == 0) {
		uint8_t v = ZR_VERSION;
		rc = grove_batch_put(&b, buf, zr_key(k, ZR_HEADER, NULL, 0, buf), &v, 1);
	}
	zr_cache_drop(db, k);
	if (rc == 0)
		rc = grove_commit_write(&db->commit, &b);
	db->stripes[k->stripe].zr_gen++; /* after the write: readers' snapshots */
	if (rc == 0)
		atomic_fetch_add(&db->zrank_builds, 1);
	arr_free(&z.dir);
	arr_free(&z.srec);
	arr_free(&z.labels);
	grove_batch_close(&b);
	grove_free(buf);
	return rc;
}

/* ---- the pass over one super ---- */

/* The pieces of a leaf of n entries. */
static uint64_t zr_split_pieces(uint64_t n)
{
	const grove_db__zrank_params_t *p = &grove_db__zrank_params;
	uint64_t pieces = (n + p->leaf_fill / 2) / p->leaf_fill;
	return pieces < 2 ? 2 : pieces;
}

/* Splits leaf lf into pieces of about leaf_fill, appended to out, at the
 * entries of known (the boundary cache's, exact for the store under the
 * key lock with nothing queued; GROVE_ECORRUPT when they do not number
 * lf->count): no read. */
static int zr_split_known(zr_leaf_t *lf, const grove_zleaf_t *known, zr_leaves_t *out)
{
	if (known->n != lf->count)
		return GROVE_ECORRUPT;
	uint64_t pieces = zr_split_pieces(lf->count), start = 0;
	int rc = leaves_push(out, lf->b, lf->blen, 0);
	if (rc == 0)
		out->v[out->n - 1].label = lf->label; /* the first piece keeps the leaf's record */
	for (uint64_t next = 1; rc == 0 && next < pieces; next++) {
		uint64_t i = next * lf->count / pieces;
		if (i <= start)
			continue;
		out->v[out->n - 1].count = i - start;
		start = i;
		rc = leaves_push(out, known->buf + known->off[i], known->off[i + 1] - known->off[i], 0);
		if (rc == 0)
			out->v[out->n - 1].fresh = true;
	}
	if (rc == 0)
		out->v[out->n - 1].count = lf->count - start;
	return rc;
}

/* Splits leaf lf (its entries up to hi; NULL: the key's end) into pieces
 * of about leaf_fill, appended to out: walks its 'z' entries
 * (GROVE_ECORRUPT when they do not number lf->count), and keeps them in
 * lf->ents (the boundary cache takes them: zr_cache_patch). */
static int zr_split_leaf(grove_iter_t *it, const grove_db_key_t *k, uint8_t *key,
			 zr_leaf_t *lf, const uint8_t *hi, size_t hilen, zr_leaves_t *out)
{
	uint64_t pieces = zr_split_pieces(lf->count);
	size_t zp = zr_zpre(k, key);
	if (lf->blen)
		memcpy(key + zp, lf->b, lf->blen);
	grove_iter_seek(it, key, zp + lf->blen);
	uint64_t i = 0, next = 1, start = 0;
	grove_buf_t ents; /* the walk's entries, back to back (lens: their lengths) */
	grove_buf_init(&ents, 0);
	size_t *lens = lf->count < GROVE_ZLEAF_ENTRIES_MAX ? grove_malloc(lf->count * sizeof(*lens) + 1)
							  : NULL;
	int rc = leaves_push(out, lf->b, lf->blen, 0);
	if (rc == 0)
		out->v[out->n - 1].label = lf->label; /* the first piece keeps the leaf's record */
	while (rc == 0 && grove_iter_valid(it)) {
		size_t kl;
		const uint8_t *kp = grove_iter_key(it, &kl);
		if (kl < zp + 8 || memcmp(kp, key, zp) != 0)
			break;
		if (hi && bcmp_(kp + zp, kl - zp, hi, hilen) >= 0)
			break;
		if (i >= lf->count || kl - zp > ZR_SUF_MAX) {
			rc = GROVE_ECORRUPT;
			break;
		}
		if (lens) {
			lens[i] = kl - zp;
			grove_buf_append(&ents, kp + zp, kl - zp);
		}
		if (next < pieces && i == next * lf->count / pieces) {
			out->v[out->n - 1].count = i - start;
			start = i;
			next++;
			rc = leaves_push(out, kp + zp, kl - zp, 0);
			if (rc == 0)
				out->v[out->n - 1].fresh = true;
		}
		i++;
		grove_iter_next(it);
	}
	if (rc == 0)
		rc = grove_iter_status(it);
	if (rc == 0 && i != lf->count)
		rc = GROVE_ECORRUPT;
	if (rc == 0)
		out->v[out->n - 1].count = i - start;
	if (rc == 0 && lens && !grove_buf_failed(&ents))
		zr_ents_from_buf(&ents, lens, (uint32_t)i, &lf->ents);
	grove_buf_close(&ents);
	grove_free(lens);
	return rc;
}

/* *it, created (hot: the pass reads where writes go) when still NULL. */
static int zr_iter_need(grove_db_t *db, grove_iter_t **it)
{
	return *it ? 0 : grove_iter_create_hot(db->store, NULL, it);
}

/* The new leaves of a super: big ones split (at the entries the boundary
 * cache knows, known: its leaves of the super, as old, or NULL; else by
 * walks of *it, created when needed), small neighbours merged. */
static int zr_plan_leaves(grove_db_t *db, grove_iter_t **it, const grove_db_key_t *k, uint8_t *key,
			  zr_leaves_t *old, const zr_leaves_t *known, const uint8_t *nsb,
			  size_t nsbl, bool has_next, zr_leaves_t *now)
{
	const grove_db__zrank_params_t *p = &grove_db__zrank_params;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < old->n; i++) {
		zr_leaf_t *lf = &old->v[i];
		if (lf->count >= p->leaf_max) {
			const uint8_t *hi = i + 1 < old->n ? old->v[i + 1].b : has_next ? nsb : NULL;
			size_t hl = i + 1 < old->n ? old->v[i + 1].blen : nsbl;
			const grove_zleaf_t *kn = known ? known->v[i].ents : NULL;
			if (kn) {
				rc = zr_split_known(lf, kn, now);
				continue;
			}
			rc = zr_iter_need(db, it);
			if (rc == 0)
				rc = zr_split_leaf(*it, k, key, lf, hi, hl, now);
			continue;
		}
		rc = leaves_push(now, lf->b, lf->blen, lf->count);
		if (rc == 0)
			now->v[now->n - 1].label = lf->label;
		zr_leaf_t *a = now->n >= 2 ? &now->v[now->n - 2] : NULL, *z = &now->v[now->n - 1];
		if (rc == 0 && a && (a->count <= p->leaf_min || z->count <= p->leaf_min) &&
		    a->count + z->count <= p->leaf_max * 3 / 4) {
			a->count += z->count;
			grove_free(z->b);
			now->n--;
		}
	}
	return rc;
}

/* Labels for the fresh leaves of now (the pieces of splits, each after
 * a kept leaf), evenly between their neighbours'; where a gap is too
 * small, every leaf of the super is relabelled (and rewritten). */
static void zr_plan_labels(zr_leaves_t *now)
{
	const uint64_t gap = grove_db__zrank_params.label_gap;
	bool relabel = now->n == 0 || now->v[0].fresh;
	for (size_t i = 0; !relabel && i < now->n;) {
		if (!now->v[i].fresh) {
			i++;
			continue;
		}
		size_t j = i;
		while (j < now->n && now->v[j].fresh)
			j++;
		uint64_t lo = now->v[i - 1].label, m = j - i;
		/* at the end: a gap each, as a build leaves them */
		uint64_t hi = j < now->n ? now->v[j].label : lo + (m + 1) * gap;
		if (hi <= lo || hi - lo <= m || hi > UINT32_MAX) {
			relabel = true;
			break;
		}
		for (size_t t = 0; t < m; t++)
			now->v[i + t].label = (uint32_t)(lo + (hi - lo) * (t + 1) / (m + 1));
		i = j;
	}
	for (size_t i = 0; relabel && i < now->n; i++) {
		now->v[i].label = (uint32_t)(i * gap);
		now->v[i].fresh = true;
	}
}

/* Deletes the leaf records of old whose boundary is not in now. */
static int zr_del_leaves(grove_batch_t *b, const grove_db_key_t *k, uint8_t *key,
			 const zr_leaves_t *old, const zr_leaves_t *now)
{
	int rc = 0;
	size_t j = 0;
	for (size_t i = 0; rc == 0 && i < old->n; i++) {
		const zr_leaf_t *o = &old->v[i];
		while (j < now->n && bcmp_(now->v[j].b, now->v[j].blen, o->b, o->blen) < 0)
			j++;
		bool kept = j < now->n && bcmp_(now->v[j].b, now->v[j].blen, o->b, o->blen) == 0;
		if (!kept)
			rc = grove_batch_delete(b, key, zr_key(k, ZR_LEAF, o->b, o->blen, key));
	}
	return rc;
}

/* Leaves now[from, to) as leaves of one super: the fresh ones written,
 * their counts and labels appended to srec and labels. */
static int zr_put_leaves(grove_batch_t *b, const grove_db_key_t *k, uint8_t *key,
			 const zr_leaves_t *now, size_t from, size_t to, zr_arr_t *srec,
			 zr_arr_t *labels)
{
	int rc = 0;
	for (size_t i = from; rc == 0 && i < to; i++) {
		const zr_leaf_t *l = &now->v[i];
		if (l->count > ZR_LEAF_COUNT_MAX)
			return GROVE_ECORRUPT;
		if (l->fresh)
			rc = zr_put_index(b, k, ZR_LEAF, l->b, l->blen, l->label, key);
		if (rc == 0)
			rc = arr_push(srec, (uint32_t)l->count);
		if (rc == 0)
			rc = arr_push(labels, l->label);
	}
	return rc;
}

/* Rewrites the indices of the supers after boundary sb (sb, sbl) shifted
 * by delta (the supers listed in next). */
static int zr_shift_supers(grove_batch_t *b, const grove_db_key_t *k, uint8_t *key,
			   const zr_leaves_t *next, int delta)
{
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < next->n; i++)
		rc = zr_put_index(b, k, ZR_SUPER, next->v[i].b, next->v[i].blen,
				  (uint32_t)((int64_t)next->v[i].count + delta), key);
	return rc;
}

typedef struct zr_pass {
	grove_db_t *db;
	const grove_db_key_t *k;
	grove_iter_t *it;
	grove_batch_t b;
	uint8_t *key;
	zr_leaves_t supers;  /* every super (boundary, index) */
	zr_leaves_t old, now; /* the super's leaves before and after */
	zr_arr_t dir, srec, labels;
	zr_arr_t ndir; /* the supers' counts it wrote */
	size_t si;
	zr_arr_t opens; /* the supers written: the index in now of each one's first leaf
			 * (none: the super merged into its predecessor) */
	bool lent; /* supers and old lent by the boundary cache: their boundaries
		    * are the cache's (valid until its patch), not freed here */
} zr_pass_t;

/* to: l's leaves (boundaries, counts: index or position; labels), their
 * boundaries lent (not copied), without entries or counts. */
static int leaves_lend(zr_leaves_t *to, const zr_leaves_t *l)
{
	int rc = grove_grow((void **)&to->v, &to->cap, l->n + 1, sizeof(*to->v), 16, 0);
	if (rc)
		return rc;
	memcpy(to->v, l->v, l->n * sizeof(*l->v));
	to->n = l->n;
	for (size_t i = 0; i < to->n; i++) {
		to->v[i].ents = NULL;
		to->v[i].cnt = NULL;
		to->v[i].ncnt = 0;
	}
	return 0;
}

/* Frees a list of leaves_lend: its own entries (a pass's walks), not the
 * lent boundaries. */
static void leaves_unlend(zr_leaves_t *l)
{
	for (size_t i = 0; i < l->n; i++)
		grove_zleaf_free(l->v[i].ents);
	grove_free(l->v);
	grove_free(l->pk);
	memset(l, 0, sizeof(*l));
}

/* a: a copy of the cache's counts v (n of them) and flags. */
static int zr_arr_from(zr_arr_t *a, const uint32_t *v, size_t n, uint8_t flags)
{
	int rc = grove_grow((void **)&a->v, &a->cap, n + 1, sizeof(*a->v), 16, 0);
	if (rc == 0) {
		memcpy(a->v, v, 4 * n);
		a->n = n;
		a->flags = flags;
	}
	return rc;
}

/* The supers, the counts and super si's leaves with their labels and
 * counts from the stripe's boundary cache when it holds k (exact for the
 * store: a pass runs under the key lock with nothing queued), the counts
 * it does not know by point reads; 1: it does not hold k. */
static int zr_pass_cached(zr_pass_t *z)
{
	struct grove_db_zrcache *c = z->db->stripes[z->k->stripe].zr;
	if (!zr_cache_is(c, z->k) || z->si >= c->supers.n)
		return 1;
	const zr_leaf_t *s = &c->supers.v[z->si];
	z->lent = true;
	int rc = leaves_lend(&z->supers, &c->supers);
	if (rc == 0)
		rc = leaves_lend(&z->old, &c->leaves[z->si]);
	for (size_t i = 0; rc == 0 && i < z->old.n; i++)
		rc = arr_push(&z->labels, z->old.v[i].label);
	if (rc == 0 && c->dir && c->supers.n == c->ndir)
		rc = zr_arr_from(&z->dir, c->dir, c->ndir, 0);
	else if (rc == 0)
		rc = zr_get_arr(z->db, NULL, z->k, NULL, false, ZR_DIR, NULL, 0, &z->dir);
	if (rc == 0 && s->cnt && s->ncnt == z->old.n)
		rc = zr_arr_from(&z->srec, s->cnt, s->ncnt, s->cflags);
	else if (rc == 0)
		rc = zr_get_arr(z->db, NULL, z->k, NULL, false, ZR_SREC, s->b, s->blen, &z->srec);
	return rc;
}

/* The supers and super si's leaves, labels and counts (zr_pass_load) as
 * checks require: the indices of the supers, a count and label per leaf. */
static int zr_pass_check(zr_pass_t *z)
{
	if (z->dir.n != z->supers.n || z->si >= z->supers.n)
		return GROVE_ECORRUPT;
	for (size_t i = 0; i < z->supers.n; i++)
		if (z->supers.v[i].count != i)
			return GROVE_ECORRUPT;
	const zr_leaf_t *s = &z->supers.v[z->si];
	if (z->old.n != z->srec.n || z->old.n != z->labels.n || z->old.n == 0 ||
	    bcmp_(z->old.v[0].b, z->old.v[0].blen, s->b, s->blen) != 0)
		return GROVE_ECORRUPT;
	for (size_t i = 0; i < z->old.n; i++) {
		if (z->old.v[i].label != z->labels.v[i])
			return GROVE_ECORRUPT;
		z->old.v[i].count = z->srec.v[i];
	}
	return 0;
}

/* zr_pass_cached from the store: the supers and leaves listed (seeks),
 * the counts and labels by point reads. */
static int zr_pass_listed(zr_pass_t *z)
{
	int rc = zr_iter_need(z->db, &z->it);
	if (rc == 0)
		rc = zr_list(z->it, z->k, ZR_SUPER, NULL, 0, NULL, 0, z->key, &z->supers);
	if (rc == 0)
		rc = zr_get_arr(z->db, NULL, z->k, NULL, false, ZR_DIR, NULL, 0, &z->dir);
	if (rc == 0 && z->si >= z->supers.n)
		rc = GROVE_ECORRUPT;
	if (rc)
		return rc;
	const zr_leaf_t *s = &z->supers.v[z->si];
	const zr_leaf_t *n = z->si + 1 < z->supers.n ? &z->supers.v[z->si + 1] : NULL;
	rc = zr_get_arr(z->db, NULL, z->k, NULL, false, ZR_SREC, s->b, s->blen, &z->srec);
	if (rc == 0)
		rc = zr_list(z->it, z->k, ZR_LEAF, s->b, s->blen, n ? n->b : NULL, n ? n->blen : 0,
			     z->key, &z->old);
	if (rc == 0)
		rc = zr_get_labels(z->db, NULL, z->k, s->b, s->blen, &z->labels);
	return rc;
}

/* Loads the supers, the counts and super si's leaves with their counts
 * (from the boundary cache when it holds k, else from the store), and
 * plans the super's new leaves. */
static int zr_pass_load(zr_pass_t *z)
{
	int rc = zr_pass_cached(z);
	const zr_leaves_t *known = rc == 0 ? &z->db->stripes[z->k->stripe].zr->leaves[z->si] : NULL;
	if (rc == 1)
		rc = zr_pass_listed(z);
	if (rc == 0)
		rc = zr_pass_check(z);
	if (rc == 0) {
		const zr_leaf_t *n = z->si + 1 < z->supers.n ? &z->supers.v[z->si + 1] : NULL;
		rc = zr_plan_leaves(z->db, &z->it, z->k, z->key, &z->old, known, n ? n->b : NULL,
				    n ? n->blen : 0, n != NULL, &z->now);
	}
	if (rc == 0)
		zr_plan_labels(&z->now);
	return rc;
}

/* The super's records after the plan: kept, split at super_max into
 * pieces of about super_fill, or merged into its predecessor. */
static int zr_pass_write(zr_pass_t *z, uint64_t total)
{
	const grove_db__zrank_params_t *p = &grove_db__zrank_params;
	const grove_db_key_t *k = z->k;
	const zr_leaf_t *s = &z->supers.v[z->si];
	zr_leaves_t after = { .v = z->supers.v + z->si + 1, .n = z->supers.n - z->si - 1 };
	zr_arr_t dir = { 0 }, srec = { 0 }, labels = { 0 };
	int rc = zr_del_leaves(&z->b, k, z->key, &z->old, &z->now);
	for (size_t i = 0; rc == 0 && i < z->si; i++)
		rc = arr_push(&dir, z->dir.v[i]);
	if (rc == 0 && total <= p->super_min && z->si > 0) { /* into the predecessor */
		const zr_leaf_t *pr = &z->supers.v[z->si - 1];
		zr_arr_t prec = { 0 }, plab = { 0 };
		rc = zr_get_arr(z->db, NULL, k, NULL, false, ZR_SREC, pr->b, pr->blen, &prec);
		if (rc == 0)
			rc = zr_get_labels(z->db, NULL, k, pr->b, pr->blen, &plab);
		/* the leaves move after the predecessor's last: new labels
		 * (out of labels: the counts are dropped and rebuilt) */
		uint64_t last = rc == 0 ? plab.v[plab.n - 1] : 0, gap = p->label_gap;
		if (rc == 0 && prec.n != plab.n)
			rc = GROVE_ECORRUPT;
		if (rc == 0 && last + (z->now.n + 1) * gap > UINT32_MAX)
			rc = GROVE_ECORRUPT;
		for (size_t i = 0; rc == 0 && i < z->now.n; i++) {
			z->now.v[i].label = (uint32_t)(last + (i + 1) * gap);
			z->now.v[i].fresh = true;
		}
		if (rc == 0)
			rc = zr_put_leaves(&z->b, k, z->key, &z->now, 0, z->now.n, &prec, &plab);
		if (rc == 0)
			rc = arr_put(&z->b, ZR_SREC, z->key,
				     zr_key(k, ZR_SREC, pr->b, pr->blen, z->key), &prec);
		if (rc == 0)
			rc = zr_put_labels(&z->b, k, pr->b, pr->blen, &plab, z->key);
		arr_free(&prec);
		arr_free(&plab);
		dir.v[z->si - 1] += (uint32_t)total;
		if (rc == 0)
			rc = grove_batch_delete(&z->b, z->key, zr_key(k, ZR_SUPER, s->b, s->blen, z->key));
		if (rc == 0)
			rc = grove_batch_delete(&z->b, z->key, zr_key(k, ZR_SREC, s->b, s->blen, z->key));
		if (rc == 0)
			rc = grove_batch_delete(&z->b, z->key,
						zr_key(k, ZR_LABELS, s->b, s->blen, z->key));
		if (rc == 0)
			rc = zr_shift_supers(&z->b, k, z->key, &after, -1);
	} else if (rc == 0) {
		uint64_t parts = total >= p->super_max ? (total + p->super_fill / 2) / p->super_fill : 1;
		uint64_t acc = 0, start = 0, next = 1;
		size_t open = 0; /* the leaf opening the current super */
		for (size_t i = 0; rc == 0 && i <= z->now.n; i++) {
			bool cut = i == z->now.n ||
				   (i && next < parts && acc >= next * total / parts);
			if (cut) {
				const zr_leaf_t *o = &z->now.v[open];
				srec.n = 0;
				srec.flags = 0;
				labels.n = 0;
				rc = zr_put_leaves(&z->b, k, z->key, &z->now, open, i, &srec, &labels);
				if (rc == 0)
					rc = arr_put(&z->b, ZR_SREC, z->key,
						     zr_key(k, ZR_SREC, o->b, o->blen, z->key), &srec);
				if (rc == 0)
					rc = zr_put_labels(&z->b, k, o->b, o->blen, &labels, z->key);
				if (rc == 0)
					rc = zr_put_index(&z->b, k, ZR_SUPER, o->b, o->blen,
							  (uint32_t)dir.n, z->key);
				if (rc == 0)
					rc = arr_push(&dir, (uint32_t)(acc - start));
				if (rc == 0)
					rc = arr_push(&z->opens, (uint32_t)open);
				start = acc;
				open = i;
				next++;
			}
			if (i < z->now.n)
				acc += z->now.v[i].count;
		}
		if (rc == 0 && dir.n != z->si + 1) /* the following supers move up */
			rc = zr_shift_supers(&z->b, k, z->key, &after, (int)(dir.n - z->si - 1));
	}
	for (size_t i = z->si + 1; rc == 0 && i < z->dir.n; i++)
		rc = arr_push(&dir, z->dir.v[i]);
	if (rc == 0)
		rc = zr_dir_put(&z->b, k, z->key, &dir, &z->dir);
	if (rc == 0)
		z->ndir = dir; /* for the boundary cache (zr_pass) */
	else
		arr_free(&dir);
	arr_free(&srec);
	arr_free(&labels);
	return rc;
}

typedef struct zr_kept {
	grove_db_t *db;
	struct grove_db_zrcache *c;
	const uint8_t *rp; /* the key's 'r' prefix */
	size_t rl;
} zr_kept_t;

static void zr_kept_op(void *ctx, int op, const uint8_t *key, size_t klen, const uint8_t *val,
		       size_t vlen)
{
	zr_kept_t *t = ctx;
	if (op != GROVE_BATCH_PUT || klen <= t->rl || memcmp(key, t->rp, t->rl) != 0)
		return;
	int lvl = key[t->rl];
	const uint8_t *b = key + t->rl + 1;
	size_t bl = klen - t->rl - 1;
	if (lvl != ZR_SREC) /* the supers' counts: zr_pass_kept */
		return;
	zr_leaf_t *sp = (zr_leaf_t *)zr_cache_floor(&t->c->supers, b, bl);
	if (bcmp_(sp->b, sp->blen, b, bl) != 0)
		return;
	zr_arr_t a = { 0 };
	if (arr_decode(lvl, val, vlen, &a) == 0 && a.n == t->c->leaves[sp - t->c->supers.v].n)
		zr_srec_set(t->db, t->c, sp, &a);
	arr_free(&a);
}

/* The count records a pass wrote (b; dir: the supers' counts) into k's
 * patched cache (its supers'): the next writer reads them from there. */
static void zr_pass_kept(grove_db_t *db, const grove_db_key_t *k, const grove_batch_t *b,
			 const zr_arr_t *dir)
{
	struct grove_db_zrcache *c = db->stripes[k->stripe].zr;
	if (!zr_cache_is(c, k) || atomic_load(&db->zrcache_bytes) >= ZR_CACHE_BYTES_MAX)
		return;
	uint8_t rp[4 + GROVE_KEY_MAX];
	zr_kept_t t = { .db = db, .c = c, .rp = rp, .rl = zr_key(k, 0, NULL, 0, rp) - 1 };
	grove_batch_iterate(b, zr_kept_op, &t);
	if (dir->n == c->supers.n)
		zr_counts_set(db, c, &c->dir, &c->ndir, dir);
}

/* Under the key lock, nothing pending: the pass over super si, one write.
 * GROVE_ECORRUPT: the counts do not match the 'z' records. */
static int zr_pass(grove_db_t *db, const grove_db_key_t *k, uint32_t si)
{
	zr_pass_t z = { .db = db, .k = k, .si = si };
	grove_batch_init(&z.b);
	z.key = grove_malloc(ZR_KEY_MAX);
	int rc = z.key ? zr_pass_load(&z) : GROVE_ENOMEM;
	uint64_t total = 0;
	for (size_t i = 0; rc == 0 && i < z.now.n; i++)
		total += z.now.v[i].count;
	if (rc == 0 && total != z.dir.v[si])
		rc = GROVE_ECORRUPT;
	if (rc == 0)
		rc = zr_pass_write(&z, total);
	if (rc == 0)
		rc = grove_commit_write(&db->commit, &z.b);
	db->stripes[k->stripe].zr_gen++; /* after the write: readers' snapshots */
	/* the cached boundaries follow, unless the pass is only staged in a
	 * transaction (the store and other threads do not see it yet) */
	if (rc == 0 && !grove_commit_txn_owned(&db->commit)) {
		zr_cache_patch(db, k, si, &z.old, &z.now, z.opens.v, z.opens.n);
		zr_pass_kept(db, k, &z.b, &z.ndir);
	} else
		zr_cache_drop(db, k);
	if (rc == 0)
		atomic_fetch_add(&db->zrank_passes, 1);
	grove_batch_close(&z.b);
	grove_iter_destroy(z.it);
	if (z.lent) {
		leaves_unlend(&z.supers);
		leaves_unlend(&z.old);
	} else {
		leaves_free(&z.supers);
		leaves_free(&z.old);
	}
	leaves_free(&z.now);
	arr_free(&z.dir);
	arr_free(&z.ndir);
	arr_free(&z.srec);
	arr_free(&z.labels);
	arr_free(&z.opens);
	grove_free(z.key);
	return rc;
}

/* Under the key lock, nothing of k pending: the pass over up to max
 * supers that the boundary cache shows dirty, looked for from where the
 * last such pass left off (*passed: one ran).  A pipelined run of writes
 * marks supers dirty that only a quiet write may pass, and the run's
 * first write (the quiet one) passes its own super when it needs it: a
 * super written only by the rest of each run would otherwise never be
 * passed, its leaves growing with every run.  GROVE_ECORRUPT: as
 * zr_pass. */
static int zr_pass_dirty(grove_db_t *db, const grove_db_key_t *k, unsigned max, bool *passed)
{
	int rc = 0;
	for (unsigned done = 0; rc == 0 && done < max; done++) {
		struct grove_db_zrcache *c = db->stripes[k->stripe].zr;
		if (!zr_cache_is(c, k))
			return 0;
		size_t n = c->supers.n, si = n;
		for (size_t j = 0; j < n && si == n; j++) {
			size_t x = (c->dirty_from + j) % n;
			const zr_leaf_t *sp = &c->supers.v[x];
			if (sp->cnt && (sp->cflags & ZR_DIRTY))
				si = x;
		}
		if (si == n)
			return 0;
		c->dirty_from = si + 1;
		*passed = true;
		rc = zr_pass(db, k, (uint32_t)si);
	}
	return rc;
}

/* Drops k's counts (the version record), in a write of its own. */
static int zr_drop(grove_db_t *db, const grove_db_key_t *k)
{
	grove_batch_t b;
	grove_batch_init(&b);
	int rc = grove_db__zrank_invalidate(db, &b, k);
	if (rc == 0)
		rc = grove_commit_write(&db->commit, &b);
	grove_batch_close(&b);
	atomic_fetch_add(&db->zrank_drops, 1);
	return rc;
}

int grove_db__zrank_invalidate(grove_db_t *db, grove_batch_t *b, const grove_db_key_t *k)
{
	zr_cache_drop(db, k);
	uint8_t hk[4 + GROVE_KEY_MAX];
	return grove_batch_delete(b, hk, zr_key(k, ZR_HEADER, NULL, 0, hk));
}

typedef struct zr_clear {
	grove_batch_t *b;
	int rc;
} zr_clear_t;

static int zr_clear_rec(void *vctx, const uint8_t *key, size_t klen, const uint8_t *val,
			size_t vlen)
{
	(void)val;
	(void)vlen;
	zr_clear_t *c = vctx;
	c->rc = grove_batch_delete(c->b, key, klen);
	return c->rc != 0;
}

int grove_db__zrank_clear(grove_db_t *db, grove_batch_t *b, const grove_db_key_t *k)
{
	uint8_t pre[4 + GROVE_KEY_MAX];
	zr_clear_t c = { .b = b };
	zr_cache_drop(db, k);
	int rc = grove_store_scan_prefix(db->store, NULL, pre, zr_key(k, 0, NULL, 0, pre) - 1,
					 zr_clear_rec, &c);
	return rc ? rc : c.rc;
}

/* ---- upkeep in a write ---- */

typedef struct bhas {
	const uint8_t *zp, *rp;
	size_t zl, rl;
	bool found;
} bhas_t;

static void bhas_op(void *ctx, int op, const uint8_t *key, size_t klen, const uint8_t *val,
		    size_t vlen)
{
	(void)op;
	(void)val;
	(void)vlen;
	bhas_t *h = ctx;
	if ((klen >= h->zl && memcmp(key, h->zp, h->zl) == 0) ||
	    (klen >= h->rl && memcmp(key, h->rp, h->rl) == 0))
		h->found = true;
}

/* b holds a 'z' or 'r' record of k. */
static bool batch_has_zr(const grove_batch_t *b, const grove_db_key_t *k)
{
	uint8_t zp[3 + GROVE_KEY_MAX], rp[4 + GROVE_KEY_MAX];
	bhas_t h = { .zp = zp, .rp = rp };
	h.zl = zr_zpre(k, zp);
	h.rl = zr_key(k, 0, NULL, 0, rp) - 1;
	grove_batch_iterate(b, bhas_op, &h);
	return h.found;
}

/* One write's view: the positions of the old and new suffixes, the counts
 * record, the super records involved (old's, new's: the same array when
 * one super). */
typedef struct zr_view {
	zr_pos_t po, pn;
	zr_arr_t dir, so, sn, was; /* was: dir before the write's deltas */
	bool same_super;
} zr_view_t;

/* The view's arrays emptied, their room kept. */
static void view_reset(zr_view_t *v)
{
	v->dir.n = v->so.n = v->sn.n = v->was.n = 0;
	v->dir.flags = v->so.flags = v->sn.flags = v->was.flags = 0;
}

/* The stripe's kept arrays lent to v (empty) and given back. */
static void view_lend(grove_db_stripe_t *st, zr_view_t *v)
{
	zr_arr_t *a[4] = { &v->dir, &v->so, &v->sn, &v->was };
	for (int i = 0; i < 4; i++) {
		*a[i] = (zr_arr_t){ .v = st->zr_view_v[i], .cap = st->zr_view_cap[i] };
		st->zr_view_v[i] = NULL;
		st->zr_view_cap[i] = 0;
	}
}

static void view_return(grove_db_stripe_t *st, zr_view_t *v)
{
	zr_arr_t *a[4] = { &v->dir, &v->so, &v->sn, &v->was };
	for (int i = 0; i < 4; i++) {
		GROVE_ASSERT(!st->zr_view_v[i]);
		st->zr_view_v[i] = a[i]->v;
		st->zr_view_cap[i] = a[i]->cap;
		*a[i] = (zr_arr_t){ 0 };
	}
}

/* A count record (lvl 3, or 4 of super si at its boundary) as the
 * writer sees it: from the boundary cache c (NULL: none) when it knows it
 * and b holds no count record of k (mine false), else read (b, pending,
 * the store) and, when not from b, kept in c: the cache's counts are
 * those of every batch handed to the store (grove_db__zrank_note), which
 * is what pending over the store holds. */
static int zr_view_counts(grove_db_t *db, const grove_batch_t *b, struct grove_db_zrcache *c,
			  bool mine, const grove_db_key_t *k, int lvl, const zr_pos_t *p,
			  zr_arr_t *a)
{
	zr_leaf_t *sp = lvl == ZR_SREC && c ? &c->supers.v[p->si] : NULL;
	uint32_t **cv = !c || mine ? NULL : sp ? &sp->cnt : &c->dir;
	size_t *cn = sp ? &sp->ncnt : c ? &c->ndir : NULL;
	size_t want = sp ? c->leaves[p->si].n : c ? c->supers.n : 0;
	if (cv && *cv && *cn == want)
		return zr_arr_from(a, *cv, *cn, sp ? sp->cflags : 0);
	arr_free(a); /* the reads below start from an empty array */
	int rc = zr_get_arr(db, b, k, NULL, true, lvl, lvl == ZR_SREC ? p->sb : NULL,
			    lvl == ZR_SREC ? p->sbl : 0, a);
	if (rc == 0 && cv && a->n == want && atomic_load(&db->zrcache_bytes) < ZR_CACHE_BYTES_MAX) {
		if (sp)
			zr_srec_set(db, c, sp, a);
		else
			zr_counts_set(db, c, cv, cn, a);
	}
	return rc;
}

/* 0, 1 broken, < 0.  mine: b holds 'z' or 'r' records of k. */
static int zr_view(grove_db_t *db, const grove_batch_t *b, const grove_db_key_t *k,
		   const uint8_t *so, size_t sol, const uint8_t *sn, size_t snl, bool mine,
		   uint8_t *key, zr_view_t *v)
{
	view_reset(v);
	int rc = 0;
	struct grove_db_zrcache *c = zr_cache_get(db, k, key);
	if (c) {
		if (so)
			zr_cache_locate(c, so, sol, &v->po);
		if (sn)
			zr_cache_locate(c, sn, snl, &v->pn);
	} else {
		grove_iter_t *it = NULL;
		rc = grove_iter_create_hot(db->store, NULL, &it);
		if (rc == 0 && so)
			rc = zr_locate(db, NULL, it, k, so, sol, key, &v->po);
		if (rc == 0 && sn)
			rc = zr_locate(db, NULL, it, k, sn, snl, key, &v->pn);
		grove_iter_destroy(it);
	}
	if (c && grove_commit_txn_owned(&db->commit))
		c = NULL; /* a transaction's reads see its staged writes: read */
	if (rc == 0)
		rc = zr_view_counts(db, b, c, mine, k, ZR_DIR, NULL, &v->dir);
	v->same_super = so && sn && v->po.si == v->pn.si;
	if (rc == 0 && so)
		rc = zr_view_counts(db, b, c, mine, k, ZR_SREC, &v->po, &v->so);
	if (rc == 0 && sn && !v->same_super)
		rc = zr_view_counts(db, b, c, mine, k, ZR_SREC, &v->pn, &v->sn);
	zr_arr_t *an = v->same_super ? &v->so : &v->sn;
	if (rc == 0 && so && (v->po.si >= v->dir.n || v->po.li >= v->so.n))
		rc = 1;
	if (rc == 0 && sn && (v->pn.si >= v->dir.n || v->pn.li >= an->n))
		rc = 1;
	return rc == GROVE_ECORRUPT ? 1 : rc;
}

/* Whether a quiet writer should run the pass over the super at p. */
static bool zr_needs_pass(const zr_view_t *v, const zr_pos_t *p, const zr_arr_t *s)
{
	const grove_db__zrank_params_t *q = &grove_db__zrank_params;
	uint32_t total = v->dir.v[p->si];
	return (s->flags & ZR_DIRTY) || s->v[p->li] >= q->leaf_max || total >= q->super_max ||
	       (total <= q->super_min && p->si > 0);
}

/* Adds delta to leaf li of s and super si of dir; marks s dirty when a
 * bound is crossed. */
static int zr_bump(zr_arr_t *dir, zr_arr_t *s, const zr_pos_t *p, int delta)
{
	const grove_db__zrank_params_t *q = &grove_db__zrank_params;
	uint32_t *l = &s->v[p->li], *t = &dir->v[p->si];
	if (delta < 0 && (*l == 0 || *t == 0))
		return GROVE_ECORRUPT;
	if (delta > 0 && *l >= ZR_LEAF_COUNT_MAX)
		return GROVE_ECORRUPT;
	*l = delta < 0 ? *l - 1 : *l + 1;
	*t = delta < 0 ? *t - 1 : *t + 1;
	if (*l == q->leaf_max || *l == q->leaf_min || *l == 0 || *t == q->super_max ||
	    (*t == q->super_min && p->si > 0))
		s->flags |= ZR_DIRTY;
	return 0;
}

static int zr_deltas(grove_batch_t *b, const grove_db_key_t *k, bool had, bool has, zr_view_t *v,
		     uint8_t *key)
{
	if (had && has && v->same_super && v->po.li == v->pn.li)
		return 0; /* the same leaf */
	zr_arr_t *an = v->same_super ? &v->so : &v->sn;
	int rc = v->same_super ? 0 : zr_arr_from(&v->was, v->dir.v, v->dir.n, 0);
	if (rc == 0 && had)
		rc = zr_bump(&v->dir, &v->so, &v->po, -1);
	if (rc == 0 && has)
		rc = zr_bump(&v->dir, an, &v->pn, 1);
	if (rc == 0 && had)
		rc = arr_put(b, ZR_SREC, key, zr_key(k, ZR_SREC, v->po.sb, v->po.sbl, key), &v->so);
	if (rc == 0 && has && !v->same_super)
		rc = arr_put(b, ZR_SREC, key, zr_key(k, ZR_SREC, v->pn.sb, v->pn.sbl, key), &v->sn);
	if (rc == 0 && !v->same_super) /* else the super's total is unchanged */
		rc = zr_dir_put(b, k, key, &v->dir, &v->was);
	return rc;
}

int grove_db__zrank_move(grove_db_t *db, grove_batch_t *b, const grove_db_key_t *k, int64_t zcount,
			 const void *member, size_t mlen, bool had, double old, bool has,
			 double now)
{
	if (zcount < 0 || (!had && !has))
		return 0;
	/* the stripe's buffers (57 KB: boundaries of any length), kept from
	 * its first sorted-set write on: a malloc of this size per write went
	 * through the allocator's slow path (2-4% of a ZADD at 10^6) */
	grove_db_stripe_t *st = &db->stripes[k->stripe];
	if (!st->zr_mem && !(st->zr_mem = grove_malloc(7 * ZR_KEY_MAX)))
		return GROVE_ENOMEM;
	uint8_t *mem = st->zr_mem;
	uint8_t *so = had ? mem : NULL, *sn = has ? mem + ZR_KEY_MAX : NULL, *key = mem + 2 * ZR_KEY_MAX;
	size_t sol = had ? zr_suffix(old, member, mlen, so) : 0;
	size_t snl = has ? zr_suffix(now, member, mlen, sn) : 0;
	zr_view_t v = { .po = { .sb = mem + 3 * ZR_KEY_MAX, .lb = mem + 4 * ZR_KEY_MAX },
			.pn = { .sb = mem + 5 * ZR_KEY_MAX, .lb = mem + 6 * ZR_KEY_MAX } };
	view_lend(st, &v);
	/* quiet: nothing of the key pending, the store is all there is */
	bool mine = batch_has_zr(b, k), quiet = st->npend == 0 && !mine;
	/* the version record is only ever written at once (the store has it);
	 * cached boundaries are dropped with it; its absence is remembered
	 * for the stripe's last key without it (a set under build_min members,
	 * or one whose build waits for a quiet write) until a build */
	bool header = zr_cache_is(st->zr, k);
	bool absent = !header && st->zr_nohdr_len == k->klen && k->klen &&
		      memcmp(st->zr_nohdr, k->key, k->klen) == 0;
	int rc = header || absent ? 0 : zr_has_header(db, NULL, k, NULL, false, &header);
	if (rc == 0 && !header && !absent && k->klen <= GROVE_DB_ZR_NOHDR_KEY_MAX &&
	    !grove_commit_txn_owned(&db->commit)) { /* a transaction may stage a build */
		memcpy(st->zr_nohdr, k->key, k->klen);
		st->zr_nohdr_len = (uint8_t)k->klen;
	}
	if (rc == 0 && !header && quiet && zcount >= (int64_t)grove_db__zrank_params.build_min) {
		st->zr_nohdr_len = 0;
		rc = zr_build(db, k);
		header = rc == 0;
	}
	int f = rc == 0 && header ? zr_view(db, b, k, so, sol, sn, snl, mine, key, &v) : 0;
	if (f < 0)
		rc = f;
	if (rc == 0 && header && quiet && !f) { /* supers left dirty by pipelined writes */
		bool passed = false;
		rc = zr_pass_dirty(db, k, ZR_DIRTY_PASSES, &passed);
		if (rc == GROVE_ECORRUPT) { /* out of step: dropped, rebuilt later */
			rc = zr_drop(db, k);
			header = false;
		} else if (rc == 0 && passed) { /* the boundaries moved */
			f = zr_view(db, b, k, so, sol, sn, snl, mine, key, &v);
			if (f < 0)
				rc = f;
		}
	}
	const zr_pos_t *pp = has ? &v.pn : &v.po;
	const zr_arr_t *ps = has && !v.same_super ? &v.sn : &v.so;
	if (rc == 0 && header && quiet && (f || zr_needs_pass(&v, pp, ps))) {
		rc = f ? GROVE_ECORRUPT : zr_pass(db, k, pp->si);
		if (rc == GROVE_ECORRUPT) { /* out of step: dropped, rebuilt later */
			rc = zr_drop(db, k);
			header = false;
		}
		f = rc == 0 && header ? zr_view(db, b, k, so, sol, sn, snl, mine, key, &v) : 0;
		if (f < 0)
			rc = f;
	}
	if (rc == 0 && header && f) /* a bucket missing: no longer trusted */
		rc = GROVE_ECORRUPT;
	else if (rc == 0 && header)
		rc = zr_deltas(b, k, had, has, &v, key);
	uint64_t sum = 0; /* the supers count every member (a release without
			   * counts may have written the key meanwhile) */
	for (size_t i = 0; rc == 0 && header && !f && i < v.dir.n; i++)
		sum += v.dir.v[i];
	if (rc == 0 && header && !f && sum != (uint64_t)zcount)
		rc = GROVE_ECORRUPT;
	if (rc == GROVE_ECORRUPT) /* a count out of step: dropped, in a write of its own */
		rc = zr_drop(db, k);
	view_return(st, &v);
	return rc;
}

/* ---- the leaves' entries in memory ----
 *
 * The boundary cache may hold a leaf's 'z' suffixes (zr_leaf_t.ents), so
 * ZRANK needs no walk of the leaf: the walk steps over every deletion
 * marker a score change left in the leaf's range until a compaction
 * reaches it (1,000 members after 21,000 score updates: 27 us per ZRANK
 * instead of 4.6).  They are exact for the store once everything written
 * under the key lock is in it:
 * - a write's 'z' records change them when it hands its batch to the
 *   store (written, queued or deferred: grove_db__zrank_note), in batch
 *   order, under the key lock; a batch that fails after that (its group
 *   write failed: the commit refuses every later write) drops the key's
 *   cache, as does one staged in a transaction (the store and other
 *   threads see it only at EXEC) and anything unexpected (an entry
 *   already there, a removed one missing);
 * - every change bumps the stripe's generation (zr_gen), so a reader uses
 *   the entries only if no change was made since before its snapshot and
 *   the stripe then had nothing queued (npend 0) and no transaction was
 *   open: its snapshot holds exactly what they show;
 * - a reader that walked a whole leaf whose entries are unknown, under
 *   those same conditions, installs them (zr_ents_install), and one that
 *   read the count records (3, and 4 of its super) those (zr_counts_install);
 *   a write's batch carries its count records whole: the copies follow;
 * - a pass installs the entries of the leaves it splits (its walk read
 *   them from the store, under the key lock with nothing queued) and
 *   carries known entries through the leaves it keeps, splits or merges
 *   and through a split or merge of its super; anything else that
 *   rewrites boundaries drops the cache (and bumps zr_gen).
 * Bounded with the boundaries by ZR_CACHE_BYTES_MAX (about 38 bytes per
 * member of 14 bytes); past it no leaf is installed and a changed one is
 * dropped. */

/* Sets leaf l's entries to x (NULL: unknown), freeing the old ones unless
 * they are x's predecessor freed already (was_bytes: their charge). */
static void zr_ents_charge(grove_db_t *db, struct grove_db_zrcache *c, zr_leaf_t *l,
			   grove_zleaf_t *x, size_t was_bytes)
{
	size_t is = grove_zleaf_bytes(x);
	l->ents = x;
	c->charge = c->charge - was_bytes + is;
	atomic_fetch_sub(&db->zrcache_bytes, was_bytes);
	atomic_fetch_add(&db->zrcache_bytes, is);
}

/* ---- the hint: members to their leaves ----
 *
 * ZRANK needs the member's score to find its leaf; at 10^6 members the
 * read of the member's record (LevelDB: index, filter, a data block not
 * in the block cache, snappy) costs more than everything else of it.  So
 * the cache keeps a lossy map member -> leaf (db_zleaf.c's grove_zhint_t,
 * under the key lock like everything here): every 'z' put a write hands
 * to the store (grove_db__zrank_note), the entries of every leaf
 * installed or split off by a pass, and the member a ZRANK read from a
 * record go in, with the id of the leaf they are in (see "leaf ids"
 * above: a leaf keeps it through passes).  It is only a hint:
 * grove_db__zrank_hinted answers only when the member is one of the
 * named leaf's known entries, which are exact for the reader's snapshot
 * (the generation and quiet rules above), and takes the score from that
 * entry: a 'z' entry is there exactly when the member's record holds
 * that score.  Sized for the known entries (2 ways each, ZR_HINT_SETS_MAX
 * sets at most: 2^21 ways, 16 MiB), within ZR_CACHE_BYTES_MAX with the
 * rest.  (With the score in 16-byte ways, 2^20 of them, 18% of the
 * members of a 10^6-member set had none: their ZRANKs read the member's
 * record.) */

#define ZR_HINT_SETS_MIN 16u
#define ZR_HINT_SETS_MAX ((size_t)1 << 18)
#define ZR_HINT_MEMBER_MAX 256u /* longer members are read from their record */

static uint64_t zr_member_hash(grove_db_t *db, const uint8_t *m, size_t ml)
{
	uint64_t h;
	crypto_shorthash((unsigned char *)&h, m, ml, db->pres_key);
	return h;
}

/* Where leaf li of super si of the cache is, for the hint: both in 16
 * bits (GROVE_ZHINT_NOLOC past that: such members are not in the hint,
 * their ZRANKs read the member's record). */
static uint32_t zr_loc(size_t si, size_t li)
{
	return si < 0xFFFF && li <= 0xFFFF ? (uint32_t)(si << 16 | li) : GROVE_ZHINT_NOLOC;
}

/* s (score(8) member), in the leaf at loc, into c's hint. */
static void zr_hint_one(grove_db_t *db, struct grove_db_zrcache *c, const uint8_t *s, size_t sl,
			uint32_t loc)
{
	if (sl >= 8 && sl - 8 <= ZR_HINT_MEMBER_MAX && loc != GROVE_ZHINT_NOLOC)
		grove_zhint_put(&c->hint, zr_member_hash(db, s + 8, sl - 8), loc);
}

static void zr_hint_leaf(grove_db_t *db, struct grove_db_zrcache *c, const grove_zleaf_t *x,
			 uint32_t loc)
{
	for (uint32_t i = 0; x && c->hint.sets && i < x->n; i++)
		zr_hint_one(db, c, x->buf + x->off[i], x->off[i + 1] - x->off[i], loc);
}

/* c's hint grown for its known entries and refilled from them, when that
 * is larger than it is and within the bound.  O(leaves), O(entries) when
 * it grows: run once per eighth of its ways put (zr_hint_grow). */
static void zr_hint_size(grove_db_t *db, struct grove_db_zrcache *c)
{
	size_t known = 0, sets = ZR_HINT_SETS_MIN;
	for (size_t i = 0; i < c->supers.n; i++)
		for (size_t j = 0; j < c->leaves[i].n; j++)
			known += c->leaves[i].v[j].ents ? c->leaves[i].v[j].ents->n : 0;
	while (sets < ZR_HINT_SETS_MAX && sets * GROVE_ZHINT_WAYS < 2 * known)
		sets *= 2;
	size_t was = grove_zhint_bytes(&c->hint), is = sets * GROVE_ZHINT_WAYS * sizeof(uint64_t);
	c->hint.puts = 0;
	if (sets <= c->hint.sets || atomic_load(&db->zrcache_bytes) - was + is > ZR_CACHE_BYTES_MAX ||
	    grove_zhint_resize(&c->hint, sets) != 0)
		return;
	c->charge = c->charge - was + is;
	atomic_fetch_sub(&db->zrcache_bytes, was);
	atomic_fetch_add(&db->zrcache_bytes, is);
	for (size_t i = 0; i < c->supers.n; i++)
		for (size_t j = 0; j < c->leaves[i].n; j++)
			zr_hint_leaf(db, c, c->leaves[i].v[j].ents, c->leaves[i].v[j].id);
	c->hint.puts = 0;
}

/* c's hint grown (zr_hint_size) when puts filled an eighth of its ways
 * since it was last sized: before puts that follow.  (Checked at half,
 * the hint of a set filled with its cache doubled only once its known
 * entries were as many as its ways, and at 10^6 members not at all
 * before the fill's end, when the leaves had taken the cache's bound.) */
static void zr_hint_grow(grove_db_t *db, struct grove_db_zrcache *c)
{
	if (!c->hint.sets || c->hint.puts >= c->hint.sets * GROVE_ZHINT_WAYS / 8)
		zr_hint_size(db, c);
}

/* s (score(8) member), written or read, in the leaf at loc, noted in
 * c's hint. */
static void zr_hint_note(grove_db_t *db, struct grove_db_zrcache *c, const uint8_t *s, size_t sl,
			 uint32_t loc)
{
	zr_hint_grow(db, c);
	zr_hint_one(db, c, s, sl, loc);
}

typedef struct zr_note {
	grove_db_t *db;
	struct grove_db_zrcache *c;
	const uint8_t *zp, *rp; /* the key's 'z' and 'r' prefixes */
	size_t zl, rl;
	bool any, broken;
} zr_note_t;

/* A write's count record (level 3 or 4; a write writes no other 'r'
 * record of a key with counts): the cached copy follows it. */
static void zr_note_counts(zr_note_t *n, int op, const uint8_t *key, size_t klen,
			   const uint8_t *val, size_t vlen)
{
	int lvl = key[n->rl];
	const uint8_t *b = key + n->rl + 1;
	size_t bl = klen - n->rl - 1, dn;
	zr_leaf_t *sp = lvl == ZR_SREC ? (zr_leaf_t *)zr_cache_floor(&n->c->supers, b, bl) : NULL;
	if ((lvl != ZR_DIR && lvl != ZR_SREC && lvl != ZR_GROUP) || (lvl == ZR_DIR && bl) ||
	    (lvl == ZR_GROUP && bl != 4) || (lvl == ZR_SREC && bcmp_(sp->b, sp->blen, b, bl) != 0)) {
		n->broken = true;
		return;
	}
	n->any = true;
	if (lvl == ZR_DIR) { /* the first group, and the number of supers */
		size_t nd = op == GROVE_BATCH_PUT && vlen >= 6 ? get32(val + 1) : 0;
		if (nd && nd == n->c->ndir && n->c->dir &&
		    arr_decode_dir_in(val + 5, vlen - 5, n->c->dir, nd, &dn))
			return; /* the usual case: as many supers as the cache holds */
		zr_arr_t d = { 0 };
		int rc = nd ? arr_decode(ZR_DIR, val + 5, vlen - 5, &d) : GROVE_ECORRUPT;
		if (rc == 0 && nd == n->c->ndir && n->c->dir && d.n <= nd)
			memcpy(n->c->dir, d.v, 4 * d.n);
		else if (rc == 0 && nd == d.n)
			zr_counts_set(n->db, n->c, &n->c->dir, &n->c->ndir, &d);
		else
			zr_counts_set(n->db, n->c, &n->c->dir, &n->c->ndir, NULL);
		arr_free(&d);
		return;
	}
	if (lvl == ZR_SREC && op == GROVE_BATCH_PUT && sp->cnt &&
	    arr_decode_srec_in(val, vlen, sp->cnt, sp->ncnt, &sp->cflags))
		return; /* the usual case: as many counts as the cache holds */
	size_t lo = lvl == ZR_GROUP ? zr_group_index(b) * (size_t)grove_db__zrank_params.group : 0;
	if (lvl == ZR_GROUP && op == GROVE_BATCH_PUT && n->c->dir && lo < n->c->ndir &&
	    arr_decode_dir_in(val, vlen, n->c->dir + lo, n->c->ndir - lo, &dn))
		return; /* a group of known supers: its slice, in place */
	zr_arr_t a = { 0 };
	if (op == GROVE_BATCH_PUT && arr_decode(lvl == ZR_GROUP ? ZR_DIR : lvl, val, vlen, &a) != 0) {
		n->broken = true;
		return;
	}
	if (lvl == ZR_SREC) {
		zr_srec_set(n->db, n->c, sp, op == GROVE_BATCH_PUT ? &a : NULL);
	} else { /* a group: its slice of the cached counts, when known */
		if (op == GROVE_BATCH_PUT && n->c->dir && lo < n->c->ndir && a.n <= n->c->ndir - lo)
			memcpy(n->c->dir + lo, a.v, 4 * a.n);
		else
			zr_counts_set(n->db, n->c, &n->c->dir, &n->c->ndir, NULL);
	}
	arr_free(&a);
}

static void zr_note_op(void *ctx, int op, const uint8_t *key, size_t klen, const uint8_t *val,
		       size_t vlen)
{
	zr_note_t *n = ctx;
	if (!n->broken && klen > n->rl && memcmp(key, n->rp, n->rl) == 0)
		zr_note_counts(n, op, key, klen, val, vlen);
	if (n->broken || klen < n->zl || memcmp(key, n->zp, n->zl) != 0)
		return;
	n->any = true;
	const uint8_t *suf = key + n->zl;
	size_t slen = klen - n->zl;
	const zr_leaf_t *sp = zr_cache_floor(&n->c->supers, suf, slen);
	zr_leaves_t *ls = &n->c->leaves[sp - n->c->supers.v];
	zr_leaf_t *l = (zr_leaf_t *)zr_cache_floor(ls, suf, slen);
	if (op == GROVE_BATCH_PUT)
		zr_hint_note(n->db, n->c, suf, slen, l->id);
	if (!l->ents)
		return;
	grove_zleaf_t *x = l->ents;
	size_t was = grove_zleaf_bytes(x);
	int rc = op == GROVE_BATCH_PUT ? grove_zleaf_insert(&x, suf, slen)
				       : grove_zleaf_remove(&x, suf, slen);
	if (rc == 0 && atomic_load(&n->db->zrcache_bytes) > ZR_CACHE_BYTES_MAX)
		rc = GROVE_ETOOBIG; /* over the bound: this leaf is forgotten */
	if (rc == GROVE_EEXISTS || rc == GROVE_ENOTFOUND)
		n->broken = true; /* not what the store holds: the cache goes */
	if (rc) {
		grove_zleaf_free(x); /* unchanged on error: the old entries */
		x = NULL;
		atomic_fetch_add(&n->db->zleaf_drops, 1);
	}
	zr_ents_charge(n->db, n->c, l, x, was);
}

void grove_db__zrank_note(grove_db_t *db, const grove_db_key_t *k, const grove_batch_t *b, bool ok)
{
	grove_db_stripe_t *s = &db->stripes[k->stripe];
	if (!zr_cache_is(s->zr, k))
		return;
	if (!ok || grove_commit_txn_owned(&db->commit)) {
		zr_cache_drop(db, k);
		return;
	}
	if (!b)
		return;
	uint8_t zp[3 + GROVE_KEY_MAX], rp[4 + GROVE_KEY_MAX];
	zr_note_t n = { .db = db, .c = s->zr, .zp = zp, .zl = zr_zpre(k, zp), .rp = rp };
	n.rl = zr_key(k, 0, NULL, 0, rp) - 1;
	grove_batch_iterate(b, zr_note_op, &n);
	if (n.broken)
		zr_cache_drop(db, k);
	else if (n.any)
		s->zr_gen++; /* the entries changed: older snapshots do not use them */
}

/* ---- ZRANK from the counts ---- */

uint64_t grove_db__zrank_gen(grove_db_t *db, const grove_db_key_t *k, bool *quiet)
{
	grove_db_stripe_t *s = &db->stripes[k->stripe];
	*quiet = false;
	if (pthread_mutex_trylock(&s->mu) != 0)
		return UINT64_MAX; /* held (a writer, or this thread in EXEC): seeks */
	uint64_t g = s->zr_gen;
	/* nothing queued and no transaction open: the store holds every write
	 * made under the lock, as the leaves' entries do */
	if (s->npend == 0 && pthread_rwlock_tryrdlock(&db->txn_gate) == 0) {
		*quiet = true;
		GROVE_ASSERT(pthread_rwlock_unlock(&db->txn_gate) == 0);
	}
	pthread_mutex_unlock(&s->mu);
	return g;
}

/* Leaves after the one a ZRANK walks (in its super) that it walks on and
 * installs too, as the point cache fills a missed element's neighbours:
 * a key's leaves come back after a restart in an eighth of the seeks. */
#define ZR_NEAR_LEAVES 8

/* What the stripe's cache told a reader: the bucket (hit), and, when the
 * leaf's entries were known, the entries below suf (below >= 0) and
 * whether suf is one of them. */
typedef struct zr_read {
	bool hit, found;
	bool counts;      /* before, own, total: from the cached counts */
	uint64_t before, own, total;
	long below;       /* -1: the leaf's entries are unknown */
	uint64_t n;       /* the leaf's entries (below >= 0) */
	bool installable; /* unknown, and the reader may install them */
	uint32_t next[ZR_NEAR_LEAVES]; /* installable: the counts of the leaves */
	uint32_t nnext;                /* after it in its super (cached counts) */
} zr_read_t;

/* The counts of p's buckets from c, when c holds them all. */
static void zr_cache_counts(const struct grove_db_zrcache *c, const zr_pos_t *p, zr_read_t *r)
{
	const zr_leaf_t *sp = &c->supers.v[p->si];
	bool one = c->supers.n == 1;
	if (!sp->cnt || sp->ncnt != c->leaves[p->si].n || (!one && c->ndir != c->supers.n))
		return;
	/* before: the buckets before p's; total: all of them (plain sums) */
	uint64_t bs = 0, rest = 0, bl = 0, lrest = 0;
	for (size_t i = 0; !one && i < p->si; i++)
		bs += c->dir[i];
	for (size_t i = p->si; !one && i < c->ndir; i++)
		rest += c->dir[i];
	for (size_t i = 0; i < p->li; i++)
		bl += sp->cnt[i];
	for (size_t i = p->li; one && i < sp->ncnt; i++)
		lrest += sp->cnt[i];
	r->counts = true;
	r->before = bs + bl;
	r->total = one ? bl + lrest : bs + rest;
	r->own = sp->cnt[p->li];
}

/* The counts a reader read from its snapshot (dir NULL: one super),
 * cached when nothing changed since gen was read (quiet). */
static void zr_counts_install(grove_db_t *db, const grove_db_key_t *k, uint64_t gen,
			      const zr_pos_t *p, const zr_arr_t *dir, const zr_arr_t *srec)
{
	grove_db_stripe_t *s = &db->stripes[k->stripe];
	if (atomic_load(&db->zrcache_bytes) >= ZR_CACHE_BYTES_MAX ||
	    pthread_mutex_trylock(&s->mu) != 0)
		return;
	struct grove_db_zrcache *c = s->zr;
	if (s->zr_gen == gen && zr_cache_is(c, k) && srec->n == c->leaves[p->si].n &&
	    (dir ? dir->n == c->supers.n : c->supers.n == 1)) {
		zr_srec_set(db, c, &c->supers.v[p->si], srec);
		if (dir)
			zr_counts_set(db, c, &c->dir, &c->ndir, dir);
	}
	pthread_mutex_unlock(&s->mu);
}

/* suf's bucket from the stripe's boundary cache, when it holds k and no
 * build or pass was written since gen was read (before snap was taken:
 * then the cache and snap hold the same boundaries); with quiet (gen read
 * with nothing queued and no transaction open) also the leaf's entries. */
static void zr_cache_read(grove_db_t *db, const grove_db_key_t *k, uint64_t gen, bool quiet,
			  const uint8_t *suf, size_t slen, zr_pos_t *p, zr_read_t *r)
{
	grove_db_stripe_t *s = &db->stripes[k->stripe];
	memset(r, 0, sizeof(*r));
	r->below = -1;
	if (gen == UINT64_MAX || pthread_mutex_trylock(&s->mu) != 0)
		return;
	r->hit = s->zr_gen == gen && zr_cache_is(s->zr, k);
	if (r->hit)
		zr_cache_locate(s->zr, suf, slen, p);
	const zr_leaf_t *l = r->hit ? &s->zr->leaves[p->si].v[p->li] : NULL;
	if (l && quiet)
		zr_cache_counts(s->zr, p, r);
	if (l && quiet && l->ents) {
		r->below = grove_zleaf_find(l->ents, suf, slen, &r->found);
		r->n = l->ents->n;
	}
	else if (l && quiet)
		r->installable = atomic_load(&db->zrcache_bytes) < ZR_CACHE_BYTES_MAX;
	const zr_leaf_t *sp = r->installable && r->counts ? &s->zr->supers.v[p->si] : NULL;
	for (size_t i = p->li + 1; sp && i < sp->ncnt && r->nnext < ZR_NEAR_LEAVES; i++)
		r->next[r->nnext++] = sp->cnt[i];
	pthread_mutex_unlock(&s->mu);
}

/* A reader's walk of a whole leaf (from its boundary, own entries, and the
 * entry after them or none): the leaf's entries, installed when nothing
 * changed since gen was read. */
static bool zr_ents_install(grove_db_t *db, const grove_db_key_t *k, uint64_t gen,
			    const zr_pos_t *p, grove_zleaf_t *x, const uint8_t *after, size_t alen)
{
	grove_db_stripe_t *s = &db->stripes[k->stripe];
	if (pthread_mutex_trylock(&s->mu) != 0) {
		grove_zleaf_free(x);
		return false;
	}
	struct grove_db_zrcache *c = s->zr;
	zr_leaf_t *l = s->zr_gen == gen && zr_cache_is(c, k) ? &c->leaves[p->si].v[p->li] : NULL;
	/* the entry after the leaf is at or past the next bucket's boundary */
	const zr_leaf_t *nx = l && p->li + 1 < c->leaves[p->si].n ? l + 1
			      : l && p->si + 1 < c->supers.n	  ? &c->supers.v[p->si + 1]
								  : NULL;
	if (l && !l->ents && (!after || (nx && bcmp_(after, alen, nx->b, nx->blen) >= 0))) {
		zr_ents_charge(db, c, l, x, 0);
		zr_hint_grow(db, c);
		zr_hint_leaf(db, c, x, l->id);
		atomic_fetch_add(&db->zleaf_loads, 1);
		x = NULL;
	}
	pthread_mutex_unlock(&s->mu);
	bool done = x == NULL;
	grove_zleaf_free(x);
	return done;
}

/* The cache's entries from the leaf holding from (NULL: the first, or with
 * rev the last), or NULL when not usable (gen, quiet, an unknown leaf). */
static const zr_leaf_t *zr_entries_leaf(const struct grove_db_zrcache *c, const uint8_t *from,
					size_t flen, size_t *si, size_t *li)
{
	const zr_leaf_t *sp = zr_cache_floor(&c->supers, from, flen);
	*si = (size_t)(sp - c->supers.v);
	const zr_leaf_t *l = zr_cache_floor(&c->leaves[*si], from, flen);
	*li = (size_t)(l - c->leaves[*si].v);
	return l;
}

/* The leaf after (rev: before) si/li, or NULL at the key's end. */
static const zr_leaf_t *zr_entries_step(const struct grove_db_zrcache *c, bool rev, size_t *si,
					size_t *li)
{
	if (!rev && *li + 1 < c->leaves[*si].n)
		++*li;
	else if (!rev && *si + 1 < c->supers.n)
		++*si, *li = 0;
	else if (rev && *li > 0)
		--*li;
	else if (rev && *si > 0)
		--*si, *li = c->leaves[*si].n - 1;
	else
		return NULL;
	return &c->leaves[*si].v[*li];
}

int grove_db__zrank_entries(grove_db_t *db, const grove_db_key_t *k, uint64_t gen, bool quiet,
			    bool rev, const uint8_t *from, size_t flen, uint32_t max,
			    grove_buf_t *out, size_t *lens, uint32_t *n, bool *end)
{
	grove_db_stripe_t *s = &db->stripes[k->stripe];
	*n = 0;
	*end = false;
	if (gen == UINT64_MAX || !quiet || pthread_mutex_trylock(&s->mu) != 0)
		return 0;
	const struct grove_db_zrcache *c = s->zr_gen == gen && zr_cache_is(s->zr, k) ? s->zr : NULL;
	size_t si = 0, li = 0;
	const zr_leaf_t *l = c ? zr_entries_leaf(c, from, flen, &si, &li) : NULL;
	if (l && l->ents)
		grove_zleaf_prefetch_all(l->ents);
	bool f;
	uint32_t pos = l && l->ents ? grove_zleaf_find(l->ents, from, flen, &f) : 0;
	while (l && l->ents && *n < max) {
		if (rev ? pos == 0 : pos == l->ents->n) { /* on to the next leaf */
			l = zr_entries_step(c, rev, &si, &li);
			*end = l == NULL;
			pos = l && l->ents && rev ? l->ents->n : 0;
			continue;
		}
		uint32_t i = rev ? --pos : pos++;
		lens[*n] = l->ents->off[i + 1] - l->ents->off[i];
		grove_buf_append(out, l->ents->buf + l->ents->off[i], lens[(*n)++]);
	}
	pthread_mutex_unlock(&s->mu);
	if (grove_buf_failed(out))
		return GROVE_ENOMEM;
	if (*n)
		atomic_fetch_add(&db->zleaf_hits, 1);
	return 0;
}

/* A walk of suf's leaf in snap (it), from its boundary: n, the entries
 * below suf, and found.  With collect, on to the leaf's end (own
 * entries, then the one after it), which zr_ents_install takes. */
typedef struct zr_walk {
	uint64_t n;
	bool found, full;
	grove_buf_t buf; /* collect: the entries, back to back */
	size_t *lens;
	uint32_t m;
	size_t after; /* 0: no entry after the leaf, else its offset in buf + 1 */
	size_t alen;
} zr_walk_t;

/* One entry of a collecting walk: the leaf's while fewer than own were
 * taken, else the one after the leaf (true: the walk ends there). */
static bool zr_collect(zr_walk_t *w, const uint8_t *e, size_t el, uint64_t own)
{
	if (w->m == own) {
		w->after = w->buf.len + 1;
		w->alen = el;
		grove_buf_append(&w->buf, e, el);
		return true;
	}
	w->lens[w->m++] = el;
	grove_buf_append(&w->buf, e, el);
	return false;
}

static int zr_walk_leaf(grove_iter_t *it, const grove_db_key_t *k, uint8_t *key, const zr_pos_t *p,
			const uint8_t *suf, size_t slen, uint64_t own, bool collect, zr_walk_t *w)
{
	size_t zp = zr_zpre(k, key);
	if (p->lbl)
		memcpy(key + zp, p->lb, p->lbl);
	if (collect && !(w->lens = grove_malloc(own * sizeof(*w->lens) + 1)))
		return GROVE_ENOMEM;
	bool done = false; /* the place of suf is known */
	grove_iter_seek(it, key, zp + p->lbl);
	while (grove_iter_valid(it)) {
		size_t kl;
		const uint8_t *kp = grove_iter_key(it, &kl);
		if (kl < zp || memcmp(kp, key, zp) != 0)
			break;
		int c = done ? 1 : bcmp_(kp + zp, kl - zp, suf, slen);
		if (c >= 0 && !done) {
			w->found = c == 0;
			done = true;
		}
		if (!done)
			w->n++;
		if (done && (!collect || w->m > own))
			break;
		if (collect && zr_collect(w, kp + zp, kl - zp, own))
			break;
		if (!done && w->n > own)
			break;
		grove_iter_next(it);
	}
	w->full = collect && w->m == own && !grove_buf_failed(&w->buf);
	return grove_iter_status(it);
}

/* The next own entries from where it stands (a leaf's first), then the
 * one after them, collected as zr_walk_leaf's collect does. */
static int zr_walk_on(grove_iter_t *it, const uint8_t *zpre, size_t zp, uint64_t own,
		      zr_walk_t *w)
{
	if (!(w->lens = grove_malloc(own * sizeof(*w->lens) + 1)))
		return GROVE_ENOMEM;
	while (grove_iter_valid(it)) {
		size_t kl;
		const uint8_t *kp = grove_iter_key(it, &kl);
		if (kl < zp || memcmp(kp, zpre, zp) != 0 || zr_collect(w, kp + zp, kl - zp, own))
			break;
		grove_iter_next(it);
	}
	w->full = w->m == own && !grove_buf_failed(&w->buf);
	return grove_iter_status(it);
}

/* After a ZRANK installed the leaf at p (its walk stands at the entry
 * after it), the next leaves of its super, own[i] entries each, while
 * each installs (ZR_NEAR_LEAVES at most). */
static void zr_walk_near(grove_db_t *db, grove_iter_t *it, const grove_db_key_t *k, uint64_t gen,
			 const zr_pos_t *p, const uint32_t *own, uint32_t n, uint8_t *key)
{
	zr_pos_t q = *p;
	size_t zp = zr_zpre(k, key);
	bool on = true;
	for (uint32_t i = 0; on && i < n && own[i] > 0 && own[i] < GROVE_ZLEAF_ENTRIES_MAX; i++) {
		zr_walk_t w = { .n = 0 };
		grove_buf_init(&w.buf, 0);
		q.li = p->li + 1 + i;
		grove_zleaf_t *x = NULL;
		on = zr_walk_on(it, key, zp, own[i], &w) == 0 && w.full;
		if (on)
			zr_ents_from_buf(&w.buf, w.lens, w.m, &x);
		on = x && zr_ents_install(db, k, gen, &q, x, w.after ? w.buf.data + w.after - 1 : NULL,
					   w.alen);
		grove_buf_close(&w.buf);
		grove_free(w.lens);
	}
}

/* A ZRANK's member and score (suf), read from its record, into the hint. */
static void zr_hint_reader(grove_db_t *db, const grove_db_key_t *k, const uint8_t *suf, size_t slen,
			   const zr_pos_t *p)
{
	grove_db_stripe_t *s = &db->stripes[k->stripe];
	if (pthread_mutex_trylock(&s->mu) != 0)
		return;
	const struct grove_db_zrcache *c = s->zr;
	if (zr_cache_is(c, k) && p->si < c->supers.n && p->li < c->leaves[p->si].n)
		zr_hint_note(db, s->zr, suf, slen, c->leaves[p->si].v[p->li].id);
	pthread_mutex_unlock(&s->mu);
}

/* A reader that finds the stripe's cache empty loads k's boundaries into
 * it, as a writer does (zr_cache_get: at the second access in a row to k
 * of the stripe, readers' and writers' alike), so that a key only read
 * since a restart gets them too.  Only while quiet (the key lock free, nothing
 * of the stripe queued, no transaction open: the store holds every write
 * made under the lock, and no queued or staged write can delete the
 * version record the cache stands for) and with the version record in
 * the store; the load bumps the generation, so this reader goes on with
 * its seeks and the next ones use it. */
static void zr_cache_load_reader(grove_db_t *db, const grove_db_key_t *k, uint8_t *key)
{
	grove_db_stripe_t *s = &db->stripes[k->stripe];
	if (grove_commit_txn_owned(&db->commit) || pthread_mutex_trylock(&s->mu) != 0)
		return;
	/* a reader takes an empty cache only: it never evicts the key a
	 * writer keeps (two keys read in turn would reload each other) */
	if (s->npend == 0 && !s->zr && pthread_rwlock_tryrdlock(&db->txn_gate) == 0) {
		bool header = false;
		if (s->zr_last != (k->hash | 1))
			s->zr_last = k->hash | 1; /* the first access in a row */
		else if (zr_has_header(db, NULL, k, NULL, false, &header) == 0 && header &&
			 zr_cache_get(db, k, key))
			atomic_fetch_add(&db->zrcache_reader_loads, 1);
		GROVE_ASSERT(pthread_rwlock_unlock(&db->txn_gate) == 0);
	}
	pthread_mutex_unlock(&s->mu);
}

int grove_db__zrank_counted(grove_db_t *db, const grove_snapshot_t *snap, const grove_db_key_t *k,
			    uint64_t gen, bool quiet, uint64_t count, double score,
			    const void *member, size_t mlen, uint64_t *rank)
{
	uint8_t *mem = grove_malloc(4 * ZR_KEY_MAX);
	if (!mem)
		return GROVE_ENOMEM;
	uint8_t *key = mem, *suf = mem + ZR_KEY_MAX;
	size_t slen = zr_suffix(score, member, mlen, suf);
	zr_pos_t p = { .sb = mem + 2 * ZR_KEY_MAX, .lb = mem + 3 * ZR_KEY_MAX };
	/* A hit needs no read of the version record: the cache is loaded only
	 * once the record is in the store, and dropped before any write that
	 * deletes it (under the key lock, the write synchronous); a hit means
	 * it was there all along since before snap was taken. */
	zr_read_t cr;
	zr_cache_read(db, k, gen, quiet, suf, slen, &p, &cr);
	bool hit = cr.hit, header = hit;
	int rc = hit ? 0 : zr_has_header(db, NULL, k, snap, false, &header);
	if (rc || !header) {
		grove_free(mem);
		return rc ? rc : 1;
	}
	if (!hit && gen != UINT64_MAX)
		zr_cache_load_reader(db, k, key);
	zr_arr_t dir = { 0 }, s = { 0 };
	grove_iter_t *it = NULL;
	if (!hit) {
		rc = grove_iter_create_hot(db->store, snap, &it);
		if (rc == 0)
			rc = zr_locate(db, snap, it, k, suf, slen, key, &p);
	}
	/* one super (the cache shows the snapshot's boundaries): its leaves'
	 * counts are all there is, the supers' record is not read */
	bool one = p.supers == 1;
	uint64_t before = cr.before, own = cr.own, sum = cr.total;
	if (rc == 0 && !cr.counts) { /* the counts records */
		if (!one)
			rc = zr_get_arr(db, NULL, k, snap, false, ZR_DIR, NULL, 0, &dir);
		if (rc == 0)
			rc = zr_get_arr(db, NULL, k, snap, false, ZR_SREC, p.sb, p.sbl, &s);
		if (rc == 0 && ((one ? p.si != 0 : p.si >= dir.n) || p.li >= s.n))
			rc = 1;
		for (size_t i = 0; rc == 0 && i < dir.n; i++) {
			before += i < p.si ? dir.v[i] : 0;
			sum += dir.v[i];
		}
		for (size_t i = 0; rc == 0 && one && i < s.n; i++)
			sum += s.v[i];
		for (size_t i = 0; rc == 0 && i < p.li; i++)
			before += s.v[i];
		own = rc == 0 ? s.v[p.li] : 0;
		if (rc == 0 && hit && quiet)
			zr_counts_install(db, k, gen, &p, one ? NULL : &dir, &s);
	}
	if (rc == 0 && sum != count)
		rc = 1; /* not every member counted */
	zr_walk_t w = { .n = 0 };
	grove_buf_init(&w.buf, 0);
	if (rc == 0 && cr.below >= 0 && cr.n == own) { /* the leaf's entries in memory */
		w.n = (uint64_t)cr.below;
		w.found = cr.found;
		atomic_fetch_add(&db->zleaf_hits, 1);
	} else if (rc == 0) { /* suf's leaf up to suf (all of it to install it) */
		bool collect = cr.installable && own < GROVE_ZLEAF_ENTRIES_MAX;
		if (!it)
			rc = grove_iter_create_hot(db->store, snap, &it);
		if (rc == 0)
			rc = zr_walk_leaf(it, k, key, &p, suf, slen, own, collect, &w);
		grove_zleaf_t *x = NULL;
		if (rc == 0 && w.full && w.found && w.n < own)
			zr_ents_from_buf(&w.buf, w.lens, w.m, &x);
		/* the leaves after it too (their counts: the cache's, else s) */
		uint32_t nn = cr.nnext;
		for (size_t i = p.li + 1; !cr.counts && i < s.n && nn < ZR_NEAR_LEAVES; i++)
			cr.next[nn++] = s.v[i];
		if (x && zr_ents_install(db, k, gen, &p, x, w.after ? w.buf.data + w.after - 1 : NULL,
					 w.alen) && w.after)
			zr_walk_near(db, it, k, gen, &p, cr.next, nn, key);
	}
	if (rc == 0 && hit && w.found)
		zr_hint_reader(db, k, suf, slen, &p);
	grove_iter_destroy(it);
	grove_buf_close(&w.buf);
	grove_free(w.lens);
	arr_free(&dir);
	arr_free(&s);
	grove_free(mem);
	if (rc == GROVE_ECORRUPT)
		rc = 1;
	if (rc)
		return rc;
	if (!w.found || w.n >= own || before + w.n >= count)
		return 1; /* out of step with the index: the walk answers */
	*rank = before + w.n;
	atomic_fetch_add(&db->zrank_counted, 1);
	return 0;
}

/* Leaf li of super si of c when it exists and its entries are known and
 * hold member m: *at its index there; else NULL. */
static const zr_leaf_t *zr_hint_leaf_find(const struct grove_db_zrcache *c, size_t si, size_t li,
					  const void *m, size_t mlen, uint32_t *at)
{
	if (si >= c->supers.n || li >= c->leaves[si].n || !c->leaves[si].v[li].ents)
		return NULL;
	const zr_leaf_t *l = &c->leaves[si].v[li];
	bool found;
	*at = grove_zleaf_find_member(l->ents, m, mlen, &found);
	return found ? l : NULL;
}

int grove_db__zrank_hinted(grove_db_t *db, const grove_db_key_t *k, uint64_t gen, bool quiet,
			   uint64_t count, const void *member, size_t mlen, uint64_t *rank,
			   double *score)
{
	grove_db_stripe_t *s = &db->stripes[k->stripe];
	uint8_t sc8[8];
	if (gen == UINT64_MAX || !quiet || mlen > ZR_HINT_MEMBER_MAX ||
	    pthread_mutex_trylock(&s->mu) != 0)
		return 1;
	struct grove_db_zrcache *c = s->zr_gen == gen && zr_cache_is(s->zr, k) ? s->zr : NULL;
	const zr_leaf_t *l = NULL;
	uint32_t below = 0, loc = GROVE_ZHINT_NOLOC;
	zr_read_t r = { .counts = false };
	uint64_t mh = c ? zr_member_hash(db, member, mlen) : 0;
	size_t hsi = 0, hli = 0;
	if (c && grove_zhint_get(&c->hint, mh, &loc) && zr_id_find(c, loc, &hsi, &hli)) {
		zr_pos_t p = { .si = (uint32_t)hsi, .li = (uint32_t)hli };
		/* the leaf the hint names: the member there, it is the member's */
		l = zr_hint_leaf_find(c, p.si, p.li, member, mlen, &below);
		if (l) {
			memcpy(sc8, l->ents->buf + l->ents->off[below], 8);
			zr_cache_counts(c, &p, &r);
		}
	}
	bool found = l && r.counts && r.own == l->ents->n;
	pthread_mutex_unlock(&s->mu);
	double sc = found ? grove_zscore_from_key(sc8) : 0;
	/* a -0 score is indexed as +0: its record says which */
	if (!found || sc == 0 || r.total != count || r.before + below >= count)
		return 1;
	*rank = r.before + below;
	*score = sc;
	atomic_fetch_add(&db->zrank_counted, 1);
	atomic_fetch_add(&db->zleaf_hits, 1);
	atomic_fetch_add(&db->zhint_hits, 1);
	return 0;
}

/* ---- hints ahead of pipelined ZRANKs ----
 *
 * At 10^6 members a hinted ZRANK's loads (the hint's set, the leaf's
 * place, its entries, its super's counts) are cache misses each, and
 * each waits for the one before it.  A pipelined client's next requests
 * are known, so the RESP server brings them in steps, requests ahead
 * (grove_db_zrank_prefetch, _step): each step takes the stripe's lock
 * (trylock: a busy stripe is skipped), reads only what the previous step
 * brought, and prefetches the next lines.  Nothing is changed or
 * checked: the ZRANK itself does all of that. */

/* k's stripe locked (trylock) and its cache, when it holds k; else NULL
 * (and not locked). */
static const struct grove_db_zrcache *zr_ahead_lock(grove_db_t *db, const void *key, size_t klen,
						    grove_db_stripe_t **sp)
{
	if (!key || klen == 0 || klen > GROVE_KEY_MAX)
		return NULL;
	grove_db_stripe_t *s = &db->stripes[grove_db__key_stripe(grove_tree_key_hash(key, klen))];
	if (pthread_mutex_trylock(&s->mu) != 0)
		return NULL;
	const struct grove_db_zrcache *c = s->zr;
	if (c && c->klen == klen && memcmp(c->key, key, klen) == 0 && c->hint.sets) {
		*sp = s;
		return c;
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

uint64_t grove_db_zrank_prefetch(grove_db_t *db, const void *key, size_t klen, const void *member,
				 size_t mlen)
{
	grove_db_stripe_t *s;
	if (mlen > ZR_HINT_MEMBER_MAX || (!member && mlen))
		return 0;
	const struct grove_db_zrcache *c = zr_ahead_lock(db, key, klen, &s);
	if (!c)
		return 0;
	uint64_t mh = zr_member_hash(db, member, mlen);
	grove_zhint_prefetch(&c->hint, mh);
	pthread_mutex_unlock(&s->mu);
	return mh ? mh : 1;
}

void grove_db_zrank_prefetch_step(grove_db_t *db, const void *key, size_t klen, uint64_t hint,
				  int step)
{
	grove_db_stripe_t *s;
	const struct grove_db_zrcache *c = hint ? zr_ahead_lock(db, key, klen, &s) : NULL;
	if (!c)
		return;
	uint32_t id = GROVE_ZHINT_NOLOC;
	size_t si = 0, li = 0;
	if (grove_zhint_get(&c->hint, hint, &id) && zr_id_place(c, id, &si, &li)) {
		const zr_leaf_t *l = &c->leaves[si].v[li], *sp = &c->supers.v[si];
		if (step == 1) {
			__builtin_prefetch(l);
			for (size_t at = 0; sp->cnt && at <= li && at < sp->ncnt; at += 16)
				__builtin_prefetch(sp->cnt + at); /* the counts summed */
		} else if (l->ents) {
			grove_zleaf_prefetch(l->ents);
		}
	}
	pthread_mutex_unlock(&s->mu);
}

/* ---- tests: the counts recomputed from the 'z' records ---- */

typedef struct zr_chk {
	zr_leaves_t supers, leaves; /* every bucket; count: the recounted entries */
	size_t zpre, si, li;
	int rc;
} zr_chk_t;

static size_t chk_find(const zr_leaves_t *l, size_t from, const uint8_t *s, size_t sl)
{
	while (from + 1 < l->n && bcmp_(l->v[from + 1].b, l->v[from + 1].blen, s, sl) <= 0)
		from++;
	return from;
}

static int chk_z(void *vctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	(void)val;
	(void)vlen;
	zr_chk_t *c = vctx;
	const uint8_t *s = key + c->zpre;
	size_t sl = klen - c->zpre;
	c->li = chk_find(&c->leaves, c->li, s, sl);
	c->si = chk_find(&c->supers, c->si, s, sl);
	c->leaves.v[c->li].count++;
	c->supers.v[c->si].count++;
	return 0;
}

/* Every super's record against its leaves and their recounts. */
static int chk_supers(grove_db_t *db, const grove_db_key_t *k, zr_chk_t *c, const zr_arr_t *dir)
{
	int rc = 0;
	size_t j = 0;
	for (size_t i = 0; rc == 0 && i < c->supers.n; i++) {
		const zr_leaf_t *s = &c->supers.v[i];
		zr_arr_t r = { 0 }, lab = { 0 };
		rc = zr_get_arr(db, NULL, k, NULL, false, ZR_SREC, s->b, s->blen, &r);
		if (rc == 0)
			rc = zr_get_labels(db, NULL, k, s->b, s->blen, &lab);
		if (rc == 0 && (dir->v[i] != s->count || j >= c->leaves.n || r.n != lab.n ||
				bcmp_(c->leaves.v[j].b, c->leaves.v[j].blen, s->b, s->blen) != 0))
			rc = GROVE_ECORRUPT;
		for (size_t x = 0; rc == 0 && x < r.n; x++, j++) {
			const zr_leaf_t *l = j < c->leaves.n ? &c->leaves.v[j] : NULL;
			if (!l || r.v[x] != l->count || l->label != lab.v[x] ||
			    (i + 1 < c->supers.n && bcmp_(l->b, l->blen, c->supers.v[i + 1].b,
							  c->supers.v[i + 1].blen) >= 0))
				rc = GROVE_ECORRUPT;
		}
		arr_free(&r);
		arr_free(&lab);
	}
	return rc == 0 && j != c->leaves.n ? GROVE_ECORRUPT : rc;
}

static int chk_count(void *vctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	(void)key;
	(void)klen;
	(void)val;
	(void)vlen;
	(*(size_t *)vctx)++;
	return 0;
}

int grove_db__zrank_check(grove_db_t *db, const void *key, size_t klen, bool *present)
{
	grove_db_key_t k;
	int rc = grove_db__key_prepare(&k, key, klen);
	*present = false;
	if (rc == 0)
		rc = zr_has_header(db, NULL, &k, NULL, false, present);
	if (rc || !*present)
		return rc;
	uint8_t *buf = grove_malloc(ZR_KEY_MAX);
	zr_chk_t c = { 0 };
	zr_arr_t dir = { 0 };
	grove_iter_t *it = NULL;
	rc = buf ? grove_iter_create(db->store, NULL, &it) : GROVE_ENOMEM;
	if (rc == 0)
		rc = zr_list(it, &k, ZR_SUPER, NULL, 0, NULL, 0, buf, &c.supers);
	if (rc == 0)
		rc = zr_list(it, &k, ZR_LEAF, NULL, 0, NULL, 0, buf, &c.leaves);
	grove_iter_destroy(it);
	if (rc == 0)
		rc = zr_get_arr(db, NULL, &k, NULL, false, ZR_DIR, NULL, 0, &dir);
	size_t groups = 0; /* no group record past the supers' */
	if (rc == 0)
		rc = grove_store_scan_prefix(db->store, NULL, buf, zr_key(&k, ZR_GROUP, NULL, 0, buf),
					     chk_count, &groups);
	if (rc == 0 && groups != zr_groups(dir.n))
		rc = GROVE_ECORRUPT;
	/* both levels start at the empty boundary; indices in order */
	if (rc == 0 && (!c.supers.n || !c.leaves.n || c.supers.v[0].blen || c.leaves.v[0].blen ||
			dir.n != c.supers.n))
		rc = GROVE_ECORRUPT;
	for (size_t i = 0; rc == 0 && i < c.supers.n; i++)
		rc = c.supers.v[i].count == i ? 0 : GROVE_ECORRUPT;
	/* the leaves' labels: chk_supers (the labels records, increasing) */
	for (size_t i = 0; i < c.supers.n; i++)
		c.supers.v[i].count = 0;
	for (size_t i = 0; i < c.leaves.n; i++)
		c.leaves.v[i].count = 0;
	if (rc == 0) {
		c.zpre = zr_zpre(&k, buf);
		rc = grove_store_scan_prefix(db->store, NULL, buf, c.zpre, chk_z, &c);
	}
	if (rc == 0)
		rc = chk_supers(db, &k, &c, &dir);
	arr_free(&dir);
	leaves_free(&c.supers);
	leaves_free(&c.leaves);
	grove_free(buf);
	return rc;
}
