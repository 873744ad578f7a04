/*
 * db_state.c - loading and committing one key's state for db_ops.c, with
 * the record cache of db_internal.h.
 *
 * Load: the key's cache entry if it holds this key, else a
 * store get; then decode.  Commit: encode; if the bytes equal the stored
 * ones, nothing is written.  Otherwise one batch goes through the
 * durability mode: the 'u' record, plus the key's 'd' segment-index record
 * when the key is new.  After it is durable, the digest tree swaps the old
 * item hash for the new one, the live-key count follows the type byte, and
 * the new record replaces the cache entry.  The caller holds the key's
 * stripe lock throughout, which also guards the segment's cache entry.
 */
#include <string.h>

#include "crdt/alloc.h"
#include "crdt/assert.h"
#include "storage/db_internal.h"

void grove_db__rec_digest(const uint8_t *rec, size_t rec_len, uint8_t out[GROVE_DIGEST_BYTES])
{
	GROVE_ASSERT(rec_len >= 1);
	grove_digest(rec, rec_len - 1, out);
}

void grove_db__rec_item(const grove_db_key_t *k, const uint8_t *rec, size_t rec_len,
			uint8_t out[GROVE_DIGEST_BYTES])
{
	GROVE_ASSERT(rec_len >= 1);
	grove_tree_item(k->key, k->klen, rec, rec_len - 1, out);
}

int grove_db__cache_init(grove_db_t *db)
{
	db->cache = grove_calloc(GROVE_DB_CACHE_SLOTS, sizeof(*db->cache));
	return db->cache ? 0 : GROVE_ENOMEM;
}

static void cache_clear(grove_db_cached_t *e)
{
	grove_free(e->key);
	grove_free(e->rec);
	memset(e, 0, sizeof(*e));
}

void grove_db__cache_close(grove_db_t *db)
{
	if (!db->cache)
		return;
	for (size_t i = 0; i < GROVE_DB_CACHE_SLOTS; i++)
		cache_clear(&db->cache[i]);
	grove_free(db->cache);
	db->cache = NULL;
}

static bool cache_holds(const grove_db_cached_t *e, const grove_db_key_t *k)
{
	return e->key && e->klen == k->klen && memcmp(e->key, k->key, k->klen) == 0;
}

/* Makes rec (ownership passes to the cache) the entry of k's slot, or
 * drops a stale entry for k when rec is too big to cache. */
static void cache_install(grove_db_t *db, const grove_db_key_t *k, uint8_t *rec, size_t rec_len,
			  const uint8_t item[GROVE_DIGEST_BYTES])
{
	grove_db_cached_t *e = &db->cache[k->cache_slot];
	bool same = cache_holds(e, k);
	if (rec_len > GROVE_DB_CACHE_REC_MAX) {
		if (same)
			cache_clear(e);
		grove_free(rec);
		return;
	}
	if (!same) {
		uint8_t *key = grove_malloc(k->klen);
		if (!key) { /* caching is optional */
			grove_free(rec);
			return;
		}
		cache_clear(e);
		memcpy(key, k->key, k->klen);
		e->key = key;
		e->klen = k->klen;
	}
	grove_free(e->rec);
	e->rec = rec;
	e->rec_len = rec_len;
	memcpy(e->item, item, GROVE_DIGEST_BYTES);
}

void grove_db__state_free(grove_db_state_t *st)
{
	if (!st->borrowed)
		grove_free(st->rec);
	grove_value_destroy(st->v);
	memset(st, 0, sizeof(*st));
}

int grove_db__state_load(grove_db_t *db, const grove_db_key_t *k, grove_db_state_t *st)
{
	memset(st, 0, sizeof(*st));
	grove_db_cached_t *e = &db->cache[k->cache_slot];
	if (cache_holds(e, k)) {
		st->rec = e->rec;
		st->rec_len = e->rec_len;
		st->borrowed = true;
		st->have_item = true;
		memcpy(st->item, e->item, GROVE_DIGEST_BYTES);
	} else {
		int rc = grove_store_get(db->store, NULL, k->urec, 1 + k->klen, &st->rec,
					 &st->rec_len);
		if (rc == GROVE_ENOTFOUND)
			return grove_value_create(&st->v);
		if (rc)
			return rc;
	}
	if (st->rec_len < 1)
		return GROVE_ECORRUPT;
	int rc = grove_value_decode(st->rec, st->rec_len - 1, &st->v);
	/* our own record failing to decode is damage on disk */
	return rc == 0 || rc == GROVE_ENOMEM ? rc : GROVE_ECORRUPT;
}

/* The new 'u' record for st->v (the encoding grown by the type byte);
 * NULL when unchanged. */
static int state_record(grove_db_state_t *st, uint8_t **out, size_t *out_len)
{
	uint8_t *enc;
	size_t enc_len;
	*out = NULL;
	int rc = grove_value_encode(st->v, &enc, &enc_len);
	if (rc)
		return rc;
	if (st->rec && st->rec_len - 1 == enc_len && memcmp(st->rec, enc, enc_len) == 0) {
		grove_free(enc);
		return 0;
	}
	uint8_t *rec = grove_realloc(enc, enc_len + 1);
	if (!rec) {
		grove_free(enc);
		return GROVE_ENOMEM;
	}
	rec[enc_len] = (uint8_t)grove_value_type(st->v);
	*out = rec;
	*out_len = enc_len + 1;
	return 0;
}

/* Tree, live count and cache after the batch is durable. */
static void state_apply(grove_db_t *db, const grove_db_key_t *k, grove_db_state_t *st,
			uint8_t *rec, size_t rec_len)
{
	uint8_t item[GROVE_DIGEST_BYTES];
	if (st->rec && !st->have_item)
		grove_db__rec_item(k, st->rec, st->rec_len, st->item);
	grove_db__rec_item(k, rec, rec_len, item);
	grove_tree_update(&db->tree, k->segment, st->rec ? st->item : NULL, item);
	bool old_live = st->rec && grove_db__rec_type(st->rec, st->rec_len) != GROVE_TYPE_NONE;
	bool new_live = grove_db__rec_type(rec, rec_len) != GROVE_TYPE_NONE;
	if (new_live && !old_live)
		atomic_fetch_add(&db->live_keys, 1);
	else if (old_live && !new_live)
		atomic_fetch_sub(&db->live_keys, 1);
	uint8_t *own = st->borrowed ? NULL : st->rec;
	cache_install(db, k, rec, rec_len, item); /* may free the borrowed st->rec */
	grove_free(own);
	st->rec = NULL;
	st->rec_len = 0;
	st->borrowed = false;
}

int grove_db__state_commit(grove_db_t *db, const grove_db_key_t *k, grove_db_state_t *st,
			   bool *wrote)
{
	uint8_t *rec;
	size_t rec_len = 0;
	*wrote = false;
	int rc = state_record(st, &rec, &rec_len);
	if (rc || !rec)
		return rc;
	grove_batch_t b;
	grove_batch_init(&b);
	rc = grove_batch_put(&b, k->urec, 1 + k->klen, rec, rec_len);
	if (rc == 0 && !st->rec)
		rc = grove_batch_put(&b, k->drec, grove_db__drec_len(k), NULL, 0);
	if (rc == 0)
		rc = grove_commit_write(&db->commit, &b);
	grove_batch_close(&b);
	if (rc) {
		grove_free(rec);
		return rc;
	}
	state_apply(db, k, st, rec, rec_len);
	*wrote = true;
	return 0;
}
