/*
 * db_index.c - the digest index of db.h: tree queries, the clean-shutdown
 * record and the rebuild from data.
 *
 * Segment index records ('d' seg key, empty) are written in the same batch
 * as a new key's first user record, so on disk they always match the data;
 * a key's digest is computed from its user record when its segment is
 * listed (in one snapshot).  The tree's accumulators live in memory.  On close they are saved
 * in one system record "clean" (format in doc/storage_format.md) with the
 * live-key count, the root digest and a checksum; on open the record is
 * read, its checksum and root verified, a sample of segments re-summed from
 * their digest records and checked against both the record and the user
 * records, and then the record is deleted (synced) before any write, so a
 * crash leaves no stale record behind.  Anything missing or inconsistent
 * triggers a rebuild from the user records: O(keys).
 */
#include <sodium.h>
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "storage/db_int.h"
#include "storage/le.h"

#define CLEAN_MAGIC "GRVT"
#define CLEAN_VERSION 1
#define CLEAN_HEADER_BYTES 16 /* magic 4, version u32, live keys u64 */
#define CLEAN_BYTES \
	(CLEAN_HEADER_BYTES + GROVE_TREE_SEGMENTS * GROVE_TREE_ACC_BYTES + 2 * GROVE_DIGEST_BYTES)
#define INDEX_VERIFY_SEGMENTS 16   /* non-empty segments re-summed when loading */
#define INDEX_VERIFY_VISITS 1024   /* bound on segments visited to find them */
#define INDEX_VERIFY_STRIDE 4099   /* odd stride: spreads samples over the tree */
#define REBUILD_BATCH_OPS 1024

/* --- queries --- */

void grove_db_root_digest(grove_db_t *db, uint8_t out[GROVE_DIGEST_BYTES])
{
	int rc = grove_tree_node(&db->tree, 0, 0, out, NULL);
	GROVE_ASSERT(rc == 0);
}

int grove_db_tree_node(grove_db_t *db, unsigned level, uint32_t index,
		       uint8_t digest[GROVE_DIGEST_BYTES], uint64_t *count)
{
	return grove_tree_node(&db->tree, level, index, digest, count);
}

/* The tree item of a record given its item name. */
static void name_item(const uint8_t *name, size_t nlen, const uint8_t *rec, size_t rec_len,
		      uint8_t out[GROVE_DIGEST_BYTES])
{
	if (name[0] == GROVE_ITEM_HEAD)
		grove_tree_item(name + 1, nlen - 1, rec, rec_len, out);
	else
		grove_tree_item(name, nlen, rec, rec_len, out);
}

/* The record key of an item: 'u' key, or 'e' klen key kind elem. */
static size_t name_rec_key(const uint8_t *name, size_t nlen, uint8_t *out)
{
	if (name[0] == GROVE_ITEM_HEAD) {
		out[0] = GROVE_DB_PFX_USER;
		memcpy(out + 1, name + 1, nlen - 1);
		return nlen;
	}
	size_t klen = (size_t)name[1] << 8 | name[2];
	out[0] = GROVE_DB_PFX_ELEM;
	out[1] = name[1];
	out[2] = name[2];
	memcpy(out + 3, name + 3, klen);
	out[3 + klen] = name[0];
	memcpy(out + 4 + klen, name + 3 + klen, nlen - 3 - klen);
	return nlen + 1;
}

size_t grove_db__elem_rec_name(const uint8_t *key, size_t klen, uint8_t *name)
{
	size_t kl = (size_t)key[1] << 8 | key[2];
	GROVE_ASSERT(klen >= 4 + kl && key[0] == GROVE_DB_PFX_ELEM);
	name[0] = key[3 + kl];
	name[1] = key[1];
	name[2] = key[2];
	memcpy(name + 3, key + 3, kl);
	memcpy(name + 3 + kl, key + 4 + kl, klen - 4 - kl);
	return klen - 1;
}

/* Walks one segment's index records in a snapshot, handing each item's
 * record (read in the same snapshot) to fn. */
typedef int (*seg_rec_fn)(void *ctx, const uint8_t *name, size_t nlen, const uint8_t *rec,
			  size_t rec_len);

typedef struct seg_ctx {
	grove_db_t *db;
	const grove_snapshot_t *snap;
	seg_rec_fn fn;
	void *ctx;
	uint8_t *rkey;
	int rc;
} seg_ctx_t;

static int seg_record(void *vctx, const uint8_t *key, size_t klen, const uint8_t *val,
		      size_t vlen)
{
	seg_ctx_t *s = vctx;
	uint8_t *rec = NULL;
	size_t rec_len = 0;
	int kind;
	const uint8_t *k, *e;
	size_t kl, el;
	(void)val;
	(void)vlen;
	s->rc = klen < 5 ? GROVE_ECORRUPT
			 : grove_db_item_parse(key + 3, klen - 3, &kind, &k, &kl, &e, &el);
	if (s->rc == 0) {
		size_t rlen = name_rec_key(key + 3, klen - 3, s->rkey);
		s->rc = grove_store_get(s->db->store, s->snap, s->rkey, rlen, &rec, &rec_len);
	}
	if (s->rc == 0 && kind == GROVE_ITEM_HEAD && rec_len < 1)
		s->rc = GROVE_ECORRUPT;
	if (s->rc) {
		grove_free(rec);
		if (s->rc == GROVE_ENOTFOUND || s->rc == GROVE_EINVAL)
			s->rc = GROVE_ECORRUPT; /* an index record without its data */
		return 1;
	}
	int stop = s->fn(s->ctx, key + 3, klen - 3, rec, rec_len);
	grove_free(rec);
	return stop;
}

/* Walks the index records of segments [first, first + count). */
static int segment_walk(grove_db_t *db, uint32_t first, uint32_t count, seg_rec_fn fn, void *ctx)
{
	GROVE_ASSERT(count >= 1 && first + count <= GROVE_TREE_SEGMENTS);
	uint32_t end = first + count;
	uint8_t lo[3] = { GROVE_DB_PFX_DIGEST, (uint8_t)(first >> 8), (uint8_t)first };
	uint8_t hi[3] = { GROVE_DB_PFX_DIGEST, (uint8_t)(end >> 8), (uint8_t)end };
	if (end == GROVE_TREE_SEGMENTS) /* past the last segment: the next prefix */
		hi[0] = GROVE_DB_PFX_DIGEST + 1, hi[1] = hi[2] = 0;
	uint8_t *rkey = grove_malloc(1 + GROVE_ITEM_NAME_MAX);
	if (!rkey)
		return GROVE_ENOMEM;
	grove_snapshot_t *snap;
	int rc = grove_snapshot_create(db->store, &snap);
	if (rc) {
		grove_free(rkey);
		return rc;
	}
	seg_ctx_t s = { .db = db, .snap = snap, .fn = fn, .ctx = ctx, .rkey = rkey };
	rc = grove_store_scan(db->store, snap, lo, sizeof(lo), hi, sizeof(hi), seg_record, &s);
	grove_snapshot_release(db->store, snap);
	grove_free(rkey);
	return rc ? rc : s.rc;
}

typedef struct digest_ctx {
	grove_db_digest_fn fn;
	void *ctx;
} digest_ctx_t;

static int digest_record(void *vctx, const uint8_t *name, size_t nlen, const uint8_t *rec,
			 size_t rec_len)
{
	digest_ctx_t *d = vctx;
	uint8_t digest[GROVE_DIGEST_BYTES];
	grove_digest(rec, rec_len, digest);
	return d->fn(d->ctx, name, nlen, digest);
}

int grove_db_segment_keys(grove_db_t *db, uint32_t segment, grove_db_digest_fn fn, void *ctx)
{
	return grove_db_subtree_keys(db, GROVE_TREE_LEVELS, segment, fn, ctx);
}

int grove_db_subtree_keys(grove_db_t *db, unsigned level, uint32_t index, grove_db_digest_fn fn,
			  void *ctx)
{
	if (level > GROVE_TREE_LEVELS || !fn)
		return GROVE_EINVAL;
	unsigned shift = 4 * (GROVE_TREE_LEVELS - level); /* log2(FANOUT) = 4 */
	if (index >= ((uint32_t)GROVE_TREE_SEGMENTS >> shift))
		return GROVE_EINVAL;
	digest_ctx_t d = { .fn = fn, .ctx = ctx };
	return segment_walk(db, index << shift, 1u << shift, digest_record, &d);
}

/* --- system record helpers --- */

static int sys_key(const char *name, uint8_t *k)
{
	int klen = grove_db__name_key(GROVE_DB_PFX_SYS, name, k);
	GROVE_ASSERT(klen > 0);
	return klen;
}

/* --- verification of a loaded tree --- */

/* Adds one item to a running accumulator. */
static int verify_record(void *vctx, const uint8_t *name, size_t nlen, const uint8_t *rec,
			 size_t rec_len)
{
	uint8_t item[GROVE_DIGEST_BYTES];
	name_item(name, nlen, rec, rec_len, item);
	grove_tree_acc_add(vctx, item);
	return 0;
}

/* Checks one segment: its index records must have user records whose
 * items sum to the loaded accumulator. */
static bool verify_segment(grove_db_t *db, uint32_t seg)
{
	grove_tree_acc_t acc = { 0 };
	if (segment_walk(db, seg, 1, verify_record, &acc) != 0)
		return false;
	grove_tree_acc_t want = grove_tree_segment_acc(&db->tree, seg);
	return want.lo == acc.lo && want.hi == acc.hi && want.count == acc.count;
}

/* Samples segments from where the checksum points, with a fixed stride,
 * until INDEX_VERIFY_SEGMENTS non-empty ones (by the loaded tree) were
 * checked or INDEX_VERIFY_VISITS visited (empty ones are checked too: they
 * must have no records).  Returns true when all agree.  A spot check, not a
 * proof: the clean record is trusted for what it does not sample. */
static bool verify_sample(grove_db_t *db, const uint8_t *checksum)
{
	uint32_t seg = ((uint32_t)checksum[0] << 8 | checksum[1]) % GROVE_TREE_SEGMENTS;
	int full = 0;
	for (int i = 0; i < INDEX_VERIFY_VISITS && full < INDEX_VERIFY_SEGMENTS; i++) {
		if (!verify_segment(db, seg))
			return false;
		full += grove_tree_segment_acc(&db->tree, seg).count > 0;
		seg = (seg + INDEX_VERIFY_STRIDE) % GROVE_TREE_SEGMENTS;
	}
	return true;
}

/* --- clean-shutdown record --- */

/* Loads the clean record into the tree.  Returns 0 when loaded and
 * verified, 1 when it is missing or unusable (rebuild), or an I/O code. */
static int load_clean(grove_db_t *db)
{
	uint8_t k[1 + GROVE_DB_META_NAME_MAX], *rec = NULL;
	size_t rec_len = 0;
	int klen = sys_key(GROVE_DB_SYS_CLEAN, k);
	int rc = grove_store_get(db->store, NULL, k, (size_t)klen, &rec, &rec_len);
	if (rc == GROVE_ENOTFOUND)
		return 1;
	if (rc)
		return rc;
	int result = 1;
	uint8_t sum[GROVE_DIGEST_BYTES], root[GROVE_DIGEST_BYTES];
	if (rec_len == CLEAN_BYTES && memcmp(rec, CLEAN_MAGIC, 4) == 0 &&
	    grove_le32_get(rec + 4) == CLEAN_VERSION) {
		crypto_generichash(sum, sizeof(sum), rec, CLEAN_BYTES - GROVE_DIGEST_BYTES, NULL,
				   0);
		const uint8_t *stored_root = rec + CLEAN_BYTES - 2 * GROVE_DIGEST_BYTES;
		if (memcmp(sum, rec + CLEAN_BYTES - GROVE_DIGEST_BYTES, sizeof(sum)) == 0) {
			grove_tree_load(&db->tree, rec + CLEAN_HEADER_BYTES);
			grove_db_root_digest(db, root);
			if (memcmp(root, stored_root, sizeof(root)) == 0 && verify_sample(db, sum)) {
				atomic_store(&db->live_keys, grove_le64_get(rec + 8));
				result = 0;
			}
		}
	}
	grove_free(rec);
	return result;
}

int grove_db__index_open(grove_db_t *db)
{
	int rc = load_clean(db);
	if (rc < 0)
		return rc;
	if (rc == 1) {
		rc = grove_db__index_rebuild(db);
		if (rc)
			return rc;
	}
	uint8_t k[1 + GROVE_DB_META_NAME_MAX];
	int klen = sys_key(GROVE_DB_SYS_CLEAN, k);
	return grove_store_delete(db->store, k, (size_t)klen, true);
}

void grove_db__index_close(grove_db_t *db)
{
	uint8_t *rec = grove_malloc(CLEAN_BYTES);
	if (!rec)
		return; /* no record: the next open rebuilds */
	memcpy(rec, CLEAN_MAGIC, 4);
	grove_le32_put(rec + 4, CLEAN_VERSION);
	grove_le64_put(rec + 8, atomic_load(&db->live_keys));
	grove_tree_save(&db->tree, rec + CLEAN_HEADER_BYTES);
	uint8_t *root = rec + CLEAN_BYTES - 2 * GROVE_DIGEST_BYTES;
	grove_db_root_digest(db, root);
	crypto_generichash(rec + CLEAN_BYTES - GROVE_DIGEST_BYTES, GROVE_DIGEST_BYTES, rec,
			   CLEAN_BYTES - GROVE_DIGEST_BYTES, NULL, 0);
	uint8_t k[1 + GROVE_DB_META_NAME_MAX];
	int klen = sys_key(GROVE_DB_SYS_CLEAN, k);
	int rc = grove_store_put(db->store, k, (size_t)klen, rec, CLEAN_BYTES, true);
	(void)rc; /* a failed write leaves no record: the next open rebuilds */
	grove_free(rec);
}

/* --- rebuild --- */

typedef struct rebuild_ctx {
	grove_db_t *db;
	grove_batch_t batch;
	uint64_t live;
	int rc;
} rebuild_ctx_t;

static int rebuild_flush(rebuild_ctx_t *r, bool force)
{
	if (r->rc == 0 && (force || r->batch.count >= REBUILD_BATCH_OPS)) {
		r->rc = grove_store_write(r->db->store, &r->batch, force);
		grove_batch_clear(&r->batch);
	}
	return r->rc;
}

static int drop_digest(void *vctx, const uint8_t *key, size_t klen, const uint8_t *val,
		       size_t vlen)
{
	rebuild_ctx_t *r = vctx;
	(void)val;
	(void)vlen;
	if (r->rc == 0)
		r->rc = grove_batch_delete(&r->batch, key, klen);
	return rebuild_flush(r, false) != 0;
}

static int index_user(void *vctx, const uint8_t *key, size_t klen, const uint8_t *val,
		      size_t vlen)
{
	rebuild_ctx_t *r = vctx;
	grove_db_key_t k;
	uint8_t item[GROVE_DIGEST_BYTES];
	if (grove_db__key_prepare(&k, key + 1, klen - 1) != 0)
		return 0; /* not a valid user key: cannot have been written by us */
	if (vlen < 1)
		return 0; /* not a record we wrote: left out of the index */
	grove_db__rec_item(&k, val, vlen, item);
	grove_tree_update(&r->db->tree, k.segment, NULL, item);
	if (grove_db__rec_type(val, vlen) != GROVE_TYPE_NONE)
		r->live++;
	r->rc = grove_batch_put(&r->batch, k.drec, grove_db__drec_len(&k), NULL, 0);
	return rebuild_flush(r, false) != 0;
}

/* An element record: its name, segment, item and index record. */
static int index_elem(void *vctx, const uint8_t *key, size_t klen, const uint8_t *val,
		      size_t vlen)
{
	rebuild_ctx_t *r = vctx;
	if (klen < 5)
		return 0;
	size_t kl = (size_t)key[1] << 8 | key[2];
	if (kl < 1 || kl > GROVE_KEY_MAX || klen < 4 + kl || klen - 4 - kl > GROVE_ELEM_MAX)
		return 0; /* not a record we wrote */
	uint8_t *d = grove_malloc(3 + GROVE_ITEM_NAME_MAX);
	if (!d) {
		r->rc = GROVE_ENOMEM;
		return 1;
	}
	uint8_t *name = d + 3;
	size_t nlen = grove_db__elem_rec_name(key, klen, name);
	uint32_t seg = grove_db_item_segment(name, nlen);
	d[0] = GROVE_DB_PFX_DIGEST;
	d[1] = (uint8_t)(seg >> 8);
	d[2] = (uint8_t)seg;
	uint8_t item[GROVE_DIGEST_BYTES];
	name_item(name, nlen, val, vlen, item);
	grove_tree_update(&r->db->tree, seg, NULL, item);
	r->rc = grove_batch_put(&r->batch, d, 3 + nlen, NULL, 0);
	grove_free(d);
	return rebuild_flush(r, false) != 0;
}

int grove_db__index_rebuild(grove_db_t *db)
{
	rebuild_ctx_t r = { .db = db };
	grove_batch_init(&r.batch);
	grove_tree_reset(&db->tree);
	uint8_t dp = GROVE_DB_PFX_DIGEST, up = GROVE_DB_PFX_USER;
	int rc = grove_store_scan_prefix(db->store, NULL, &dp, 1, drop_digest, &r);
	if (rc == 0 && rebuild_flush(&r, true) == 0)
		rc = grove_store_scan_prefix(db->store, NULL, &up, 1, index_user, &r);
	uint8_t ep = GROVE_DB_PFX_ELEM;
	if (rc == 0 && r.rc == 0)
		rc = grove_store_scan_prefix(db->store, NULL, &ep, 1, index_elem, &r);
	if (rc == 0)
		rc = rebuild_flush(&r, true);
	grove_batch_close(&r.batch);
	if (rc == 0) {
		atomic_store(&db->live_keys, r.live);
		atomic_fetch_add(&db->index_rebuilds, 1);
	}
	return rc;
}
