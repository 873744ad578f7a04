/*
 * db_index.c - the digest index of db.h: tree queries, the clean-shutdown
 * record and the rebuild from data.
 *
 * Per-key digest records ('d' seg key -> digest) are written in the same
 * batch as the user record, so on disk they are always consistent with the
 * data.  The tree's accumulators live in memory.  On close they are saved
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

#include "crdt/alloc.h"
#include "crdt/assert.h"
#include "storage/db_internal.h"

#define CLEAN_MAGIC "GRVT"
#define CLEAN_VERSION 1
#define CLEAN_HEADER_BYTES 16 /* magic 4, version u32, live keys u64 */
#define CLEAN_BYTES \
	(CLEAN_HEADER_BYTES + GROVE_TREE_SEGMENTS * GROVE_TREE_ACC_BYTES + 2 * GROVE_DIGEST_BYTES)
#define INDEX_VERIFY_SEGMENTS 16   /* segments re-summed when loading */
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

typedef struct seg_ctx {
	grove_db_digest_fn fn;
	void *ctx;
	int rc;
} seg_ctx_t;

static int seg_record(void *vctx, const uint8_t *key, size_t klen, const uint8_t *val,
		      size_t vlen)
{
	seg_ctx_t *s = vctx;
	if (klen < 4 || vlen != GROVE_DIGEST_BYTES) {
		s->rc = GROVE_ECORRUPT;
		return 1;
	}
	return s->fn(s->ctx, key + 3, klen - 3, val);
}

int grove_db_segment_keys(grove_db_t *db, uint32_t segment, grove_db_digest_fn fn, void *ctx)
{
	if (segment >= GROVE_TREE_SEGMENTS || !fn)
		return GROVE_EINVAL;
	uint8_t pfx[3] = { GROVE_DB_PFX_DIGEST, (uint8_t)(segment >> 8), (uint8_t)segment };
	seg_ctx_t s = { .fn = fn, .ctx = ctx };
	int rc = grove_store_scan_prefix(db->store, NULL, pfx, sizeof(pfx), seg_record, &s);
	return rc ? rc : s.rc;
}

/* --- system record helpers --- */

static int sys_key(const char *name, uint8_t *k)
{
	int klen = grove_db__name_key(GROVE_DB_PFX_SYS, name, k);
	GROVE_ASSERT(klen > 0);
	return klen;
}

/* --- verification of a loaded tree --- */

typedef struct verify_ctx {
	grove_db_t *db;
	grove_tree_acc_t acc;
	bool bad;
} verify_ctx_t;

/* Re-sums one digest record and checks it against the user record. */
static int verify_record(void *vctx, const void *key, size_t klen,
			 const uint8_t digest[GROVE_DIGEST_BYTES])
{
	verify_ctx_t *v = vctx;
	grove_db_key_t k;
	uint8_t *rec = NULL, item[GROVE_DIGEST_BYTES], actual[GROVE_DIGEST_BYTES];
	size_t rec_len = 0;
	if (grove_db__key_prepare(&k, key, klen) != 0 ||
	    grove_store_get(v->db->store, NULL, k.urec, 1 + klen, &rec, &rec_len) != 0 ||
	    rec_len < 1) {
		grove_free(rec);
		v->bad = true;
		return 1;
	}
	grove_digest(rec + 1, rec_len - 1, actual);
	grove_free(rec);
	if (memcmp(actual, digest, GROVE_DIGEST_BYTES) != 0) {
		v->bad = true;
		return 1;
	}
	grove_tree_item(key, klen, digest, item);
	grove_tree_acc_add(&v->acc, item);
	return 0;
}

/* Samples INDEX_VERIFY_SEGMENTS segments (starting where the checksum
 * points): their digest records must sum to the loaded accumulators and
 * match the user records.  Returns true when all agree. */
static bool verify_sample(grove_db_t *db, const uint8_t *checksum)
{
	uint32_t seg = ((uint32_t)checksum[0] << 8 | checksum[1]) % GROVE_TREE_SEGMENTS;
	for (int i = 0; i < INDEX_VERIFY_SEGMENTS; i++) {
		verify_ctx_t v = { .db = db };
		if (grove_db_segment_keys(db, seg, verify_record, &v) != 0 || v.bad)
			return false;
		grove_tree_acc_t want = grove_tree_segment_acc(&db->tree, seg);
		if (want.lo != v.acc.lo || want.hi != v.acc.hi || want.count != v.acc.count)
			return false;
		seg = (seg + INDEX_VERIFY_STRIDE) % GROVE_TREE_SEGMENTS;
	}
	return true;
}

/* --- clean-shutdown record --- */

static void le64_put(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void le32_put(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t le32_get(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64_get(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

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
	    le32_get(rec + 4) == CLEAN_VERSION) {
		crypto_generichash(sum, sizeof(sum), rec, CLEAN_BYTES - GROVE_DIGEST_BYTES, NULL,
				   0);
		const uint8_t *stored_root = rec + CLEAN_BYTES - 2 * GROVE_DIGEST_BYTES;
		if (memcmp(sum, rec + CLEAN_BYTES - GROVE_DIGEST_BYTES, sizeof(sum)) == 0) {
			grove_tree_load(&db->tree, rec + CLEAN_HEADER_BYTES);
			grove_db_root_digest(db, root);
			if (memcmp(root, stored_root, sizeof(root)) == 0 && verify_sample(db, sum)) {
				atomic_store(&db->live_keys, le64_get(rec + 8));
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
	le32_put(rec + 4, CLEAN_VERSION);
	le64_put(rec + 8, atomic_load(&db->live_keys));
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
	uint8_t digest[GROVE_DIGEST_BYTES], item[GROVE_DIGEST_BYTES];
	if (grove_db__key_prepare(&k, key + 1, klen - 1) != 0)
		return 0; /* not a valid user key: cannot have been written by us */
	const uint8_t *enc = vlen ? val + 1 : val;
	size_t enc_len = vlen ? vlen - 1 : 0;
	grove_digest(enc, enc_len, digest);
	grove_tree_item(k.key, k.klen, digest, item);
	grove_tree_update(&r->db->tree, k.segment, NULL, item);
	if (vlen && val[0] != GROVE_TYPE_NONE)
		r->live++;
	r->rc = grove_batch_put(&r->batch, k.drec, grove_db__drec_len(&k), digest, sizeof(digest));
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
	if (rc == 0)
		rc = rebuild_flush(&r, true);
	grove_batch_close(&r.batch);
	if (rc == 0) {
		atomic_store(&db->live_keys, r.live);
		atomic_fetch_add(&db->index_rebuilds, 1);
	}
	return rc;
}
