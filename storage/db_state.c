/*
 * db_state.c - loading and committing one key's state for db_ops.c, through
 * the record cache of db_cache.c.
 *
 * Load: the key's cache entry if it holds the key (its decoded value when
 * kept, changed in place by the operation; else its record, decoded), or a
 * store get and decode.  Commit: encode into the stripe's scratch buffer,
 * right after the key's tree item prefix; if the bytes equal the stored
 * ones, nothing is written.  Otherwise one batch (the stripe's, reused) goes
 * through the durability mode: the 'u' record, plus the key's 'd'
 * segment-index record when the key is new.  After it is durable, the
 * digest tree swaps the old item hash for the new one (hashed once over
 * the scratch buffer), the live-key count follows the type byte, and the
 * record becomes the key's cache entry.  If the write fails, a cached value
 * that the operation changed in memory is dropped with its entry, so the
 * cache never holds state the store does not.  The caller holds the key's
 * stripe lock throughout, which also guards the stripe's cache sets and
 * buffers.
 */
#include <string.h>

#include "crdt/alloc.h"
#include "crdt/assert.h"
#include "storage/db_internal.h"

#define STATE_ENCODE_SLACK_BYTES 64 /* room beyond the old record: most writes fit */

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

void grove_db__state_free(grove_db_state_t *st)
{
	grove_free(st->owned_rec);
	if (!st->v_cached)
		grove_value_destroy(st->v);
	memset(st, 0, sizeof(*st));
}

int grove_db__state_load(grove_db_t *db, const grove_db_key_t *k, grove_db_state_t *st)
{
	memset(st, 0, sizeof(*st));
	grove_db_cached_t *e = grove_db__cache_find(db, k);
	if (e) {
		st->entry = e;
		st->rec = e->buf + GROVE_TREE_ITEM_PREFIX_BYTES(k->klen);
		st->rec_len = e->rec_len;
		st->have_item = true;
		memcpy(st->item, e->item, GROVE_DIGEST_BYTES);
		if (e->v) {
			st->v = e->v;
			st->v_cached = true;
			return 0;
		}
	} else {
		int rc = grove_store_get(db->store, NULL, k->urec, 1 + k->klen, &st->owned_rec,
					 &st->rec_len);
		if (rc == GROVE_ENOTFOUND)
			return grove_value_create(&st->v);
		if (rc)
			return rc;
		st->rec = st->owned_rec;
	}
	if (st->rec_len < 1)
		return GROVE_ECORRUPT;
	int rc = grove_value_decode(st->rec, st->rec_len - 1, &st->v);
	/* our own record failing to decode is damage on disk */
	return rc == 0 || rc == GROVE_ENOMEM ? rc : GROVE_ECORRUPT;
}

/* A failed commit: the store still holds the old record; a cached value
 * the operation changed goes, with its entry. */
static int state_fail(grove_db_t *db, grove_db_state_t *st, int rc)
{
	if (st->v_cached) {
		st->v = NULL; /* destroyed with the entry */
		st->v_cached = false;
		st->rec = NULL;
		grove_db__cache_drop(db, st->entry);
		st->entry = NULL;
	}
	return rc;
}

/* Encodes st->v after the item prefix in the stripe's scratch buffer, with
 * room for the type byte; *enc_len its length. */
static int state_encode(grove_db_stripe_t *s, const grove_db_key_t *k, const grove_db_state_t *st,
			size_t *enc_len)
{
	size_t pre = GROVE_TREE_ITEM_PREFIX_BYTES(k->klen);
	int rc = grove_db__scratch_reserve(s, pre + st->rec_len + STATE_ENCODE_SLACK_BYTES);
	if (rc)
		return rc;
	grove_tree_item_prefix(s->scratch, k->key, k->klen);
	rc = grove_value_encode_at(st->v, &s->scratch, &s->scratch_cap, pre, enc_len);
	return rc ? rc : grove_db__scratch_reserve(s, pre + *enc_len + 1);
}

/* Writes the record (and a new key's index record) durably. */
static int state_write(grove_db_t *db, grove_db_stripe_t *s, const grove_db_key_t *k,
		       const grove_db_state_t *st, const uint8_t *rec, size_t rec_len)
{
	grove_batch_clear(&s->batch);
	int rc = grove_batch_put(&s->batch, k->urec, 1 + k->klen, rec, rec_len);
	if (rc == 0 && !st->rec)
		rc = grove_batch_put(&s->batch, k->drec, grove_db__drec_len(k), NULL, 0);
	return rc ? rc : grove_commit_write(&db->commit, &s->batch);
}

/* Tree, live count and cache after the batch is durable; the new record
 * (rec_len bytes) is in the stripe's scratch buffer after the prefix. */
static void state_apply(grove_db_t *db, grove_db_stripe_t *s, const grove_db_key_t *k,
			grove_db_state_t *st, size_t rec_len)
{
	size_t pre = GROVE_TREE_ITEM_PREFIX_BYTES(k->klen);
	uint8_t item[GROVE_DIGEST_BYTES];
	grove_tree_item_bytes(s->scratch, pre + rec_len - 1, item);
	if (st->rec && !st->have_item)
		grove_db__rec_item(k, st->rec, st->rec_len, st->item);
	grove_tree_update(&db->tree, k->segment, st->rec ? st->item : NULL, item);
	bool old_live = st->rec && grove_db__rec_type(st->rec, st->rec_len) != GROVE_TYPE_NONE;
	bool new_live = grove_db__rec_type(s->scratch + pre, rec_len) != GROVE_TYPE_NONE;
	if (new_live && !old_live)
		atomic_fetch_add(&db->live_keys, 1);
	else if (old_live && !new_live)
		atomic_fetch_sub(&db->live_keys, 1);
	st->rec = NULL; /* the entry's buffer may be swapped or freed below */
	st->v_cached = false;
	grove_db__cache_install(db, k, st->entry, rec_len, item, &st->v);
	st->entry = NULL;
}

int grove_db__state_commit(grove_db_t *db, const grove_db_key_t *k, grove_db_state_t *st,
			   bool *wrote)
{
	grove_db_stripe_t *s = &db->stripes[k->stripe];
	size_t enc_len = 0;
	*wrote = false;
	int rc = state_encode(s, k, st, &enc_len);
	if (rc)
		return state_fail(db, st, rc);
	uint8_t *rec = s->scratch + GROVE_TREE_ITEM_PREFIX_BYTES(k->klen);
	if (st->rec && st->rec_len - 1 == enc_len && memcmp(st->rec, rec, enc_len) == 0)
		return 0; /* unchanged: a cached value still equals its record */
	rec[enc_len] = (uint8_t)grove_value_type(st->v);
	rc = state_write(db, s, k, st, rec, enc_len + 1);
	if (rc)
		return state_fail(db, st, rc);
	state_apply(db, s, k, st, enc_len + 1);
	*wrote = true;
	return 0;
}
