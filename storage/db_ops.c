/*
 * db_ops.c - key preparation, the whole-value merge and reads of db.h, and
 * the key scan.  Typed writes and item merges are in db_coll.c: each is
 * one read-modify-write under the key's stripe lock (one of
 * GROVE_DB_STRIPES mutexes, chosen by the key's segment), so no update is
 * lost between local writers and remote state.
 */
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "crdt/coll.h"
#include "storage/db_int.h"

int grove_db__key_prepare(grove_db_key_t *k, const void *key, size_t klen)
{
	if (!key || klen == 0 || klen > GROVE_KEY_MAX)
		return GROVE_EINVAL;
	grove_db__key_prepare_hashed(k, key, klen, grove_tree_key_hash(key, klen));
	return 0;
}

uint32_t grove_db__key_stripe(uint32_t hash)
{
	return ((hash >> 16) % GROVE_TREE_SEGMENTS) % GROVE_DB_STRIPES;
}

/* What a writer of k touches first under its stripe lock (the lock, the
 * key's cache set) and, unless deferring, last (the digest tree's leaf,
 * after the store write), brought toward the CPU at once: with many keys
 * each is a cache miss (perf of an embedded counter-increment loop over
 * 50,000 keys: the leaf's update and the cache set's lookup took 6% of
 * its samples, on their first load), and issued together they overlap
 * instead of stalling one after another.  (The set's prefetch still
 * waits for its page walk: the record cache is on 4 KiB pages.)  A
 * deferred write updates the tree only when its group settles. */
static void key_writer_prefetch(const grove_db_t *db, const grove_db_key_t *k, bool tree)
{
	const grove_db_cached_t *set = &db->cache[k->cache_set];
	__builtin_prefetch(&db->stripes[k->stripe].mu, 1);
	for (int w = 0; w < GROVE_DB_CACHE_WAYS; w++)
		__builtin_prefetch(&set[w], 1);
	if (tree)
		grove_tree_prefetch(&db->tree, k->segment);
}

int grove_db__key_prepare_writer(grove_db_t *db, grove_db_key_t *k, const void *key, size_t klen)
{
	bool defer = grove_db__defer_active(db);
	if (!key || klen == 0 || klen > GROVE_DB_KEY_MEMO_MAX || !defer) {
		int rc = grove_db__key_prepare(k, key, klen);
		if (rc == 0)
			key_writer_prefetch(db, k, !defer);
		return rc;
	}
	/* only the deferring thread reads or writes the memo */
	if (db->defer_memo_klen != klen || memcmp(db->defer_memo_key, key, klen) != 0) {
		db->defer_memo_hash = grove_tree_key_hash(key, klen);
		memcpy(db->defer_memo_key, key, klen);
		db->defer_memo_klen = (uint32_t)klen;
	}
	grove_db__key_prepare_hashed(k, key, klen, db->defer_memo_hash);
	key_writer_prefetch(db, k, false);
	return 0;
}

void grove_db__key_prepare_hashed(grove_db_key_t *k, const void *key, size_t klen, uint32_t h)
{
	GROVE_ASSERT(key && klen >= 1 && klen <= GROVE_KEY_MAX);
	k->key = key;
	k->klen = klen;
	k->hash = h;
	k->segment = (h >> 16) % GROVE_TREE_SEGMENTS;
	k->stripe = grove_db__key_stripe(h);
	/* a set of the key's stripe: the stripe lock guards it */
	k->cache_set = ((h % GROVE_DB_CACHE_SETS) * GROVE_DB_STRIPES + k->stripe) * GROVE_DB_CACHE_WAYS;
	k->urec[0] = GROVE_DB_PFX_USER;
	memcpy(k->urec + 1, key, klen);
	k->drec[0] = GROVE_DB_PFX_DIGEST;
	k->drec[1] = (uint8_t)(k->segment >> 8);
	k->drec[2] = (uint8_t)k->segment;
	k->drec[3] = GROVE_ITEM_HEAD;
	memcpy(k->drec + 4, key, klen);
}

size_t grove_db__drec_len(const grove_db_key_t *k)
{
	return 4 + k->klen;
}

uint32_t grove_db_segment_of(const void *key, size_t klen)
{
	return grove_tree_segment(key, klen);
}

/* --- merge of a whole value (no collection elements): its head --- */

int grove_db_merge(grove_db_t *db, const void *key, size_t klen, const uint8_t *enc,
		   size_t enc_len, bool *changed)
{
	grove_db_key_t k;
	int rc = grove_db__key_prepare(&k, key, klen);
	if (rc)
		return rc;
	if (enc_len > GROVE_VALUE_BYTES_MAX)
		return GROVE_ETOOBIG;
	grove_value_t *v = NULL;
	rc = grove_value_decode(enc, enc_len, &v);
	if (rc == 0 && (v->set.len || v->map.live.len || v->map.tomb.len))
		rc = GROVE_EINVAL; /* collections replicate per item */
	grove_value_destroy(v);
	if (rc) {
		atomic_fetch_add(&db->merges_rejected, 1);
		return rc;
	}
	static const uint8_t zero[16];
	grove_buf_t b = { 0 };
	rc = grove_head_state_encode(&b, enc, enc_len, 0, zero);
	if (rc == 0)
		rc = grove_db_item_merge(db, k.drec + 3, 1 + klen, b.data, b.len, changed, NULL);
	grove_buf_close(&b);
	return rc;
}

/* --- reads --- */

int grove_db_get(grove_db_t *db, const void *key, size_t klen, grove_value_t **out)
{
	grove_db_key_t k;
	int rc = grove_db__key_prepare(&k, key, klen);
	grove_value_t *v = NULL;
	if (rc == 0)
		rc = grove_db__materialize(db, &k, &v);
	if (rc == 0 && (grove_value_is_empty(v) ||
			grove_db__expired_now(db, grove_expiry_get(v)))) {
		grove_value_destroy(v);
		rc = GROVE_ENOTFOUND;
	}
	if (rc == 0)
		*out = v;
	return rc;
}

int grove_db_get_encoded(grove_db_t *db, const void *key, size_t klen, uint8_t **out,
			 size_t *out_len)
{
	grove_db_key_t k;
	int rc = grove_db__key_prepare(&k, key, klen);
	grove_value_t *v = NULL;
	if (rc == 0)
		rc = grove_db__materialize(db, &k, &v);
	if (rc == 0)
		rc = grove_value_encode(v, out, out_len);
	grove_value_destroy(v);
	return rc;
}

/* --- the cached read of a head (GET) --- */

int grove_db_peek(grove_db_t *db, const void *key, size_t klen, grove_db_peek_fn fn, void *ctx)
{
	grove_db_key_t k;
	int rc = grove_db__key_prepare(&k, key, klen);
	if (rc)
		return rc;
	grove_db_stripe_t *s = &db->stripes[k.stripe];
	int served = 0;
	pthread_mutex_lock(&s->mu);
	grove_db_cached_t *e = grove_db__cache_find(db, &k);
	/* only a written state: a queued one is not durable yet (store reads
	 * do not see it either) */
	if (e && e->v && e->rec_len >= 1 &&
	    (e->pending_seq == 0 || e->pending_seq <= grove_commit_durable_seq(&db->commit))) {
		grove_type_t t = grove_db__rec_type(e->buf + GROVE_TREE_ITEM_PREFIX_BYTES(k.klen),
						    e->rec_len);
		bool head = t == GROVE_TYPE_COUNTER || t == GROVE_TYPE_REGISTER;
		if (head && grove_value_is_empty(e->v))
			t = GROVE_TYPE_NONE;
		if (grove_db__expired_now(db, grove_expiry_get(e->v)))
			t = GROVE_TYPE_NONE;
		fn(ctx, t, head && t != GROVE_TYPE_NONE ? e->v : NULL);
		served = 1;
	}
	pthread_mutex_unlock(&s->mu);
	return served;
}

/* --- scan --- */

typedef struct scan_ctx {
	uint64_t now_ms;
	grove_db_key_fn fn;
	void *ctx;
	size_t max_keys;
	size_t visited;
	bool stopped;
	uint8_t *next;
	size_t next_len;
	int rc;
} scan_ctx_t;

static int scan_record(void *vctx, const uint8_t *key, size_t klen, const uint8_t *val,
		       size_t vlen)
{
	scan_ctx_t *s = vctx;
	if (s->stopped) { /* the record after the last visited: resume point */
		s->next = grove_malloc(klen - 1);
		if (!s->next) {
			s->rc = GROVE_ENOMEM;
			return 1;
		}
		memcpy(s->next, key + 1, klen - 1);
		s->next_len = klen - 1;
		return 1;
	}
	if (vlen < 1 || grove_db__rec_type(val, vlen) == GROVE_TYPE_NONE ||
	    grove_db__expired(grove_db__rec_deadline(val, vlen), s->now_ms))
		return 0;
	s->visited++;
	if (s->fn(s->ctx, key + 1, klen - 1, grove_db__rec_type(val, vlen)) != 0 ||
	    s->visited >= s->max_keys)
		s->stopped = true;
	return 0;
}

int grove_db_scan(grove_db_t *db, const void *start, size_t slen, size_t max_keys,
		  grove_db_key_fn fn, void *ctx, uint8_t **next, size_t *next_len)
{
	if (slen > GROVE_KEY_MAX || max_keys == 0 || !fn)
		return GROVE_EINVAL;
	uint8_t lo[1 + GROVE_KEY_MAX];
	lo[0] = GROVE_DB_PFX_USER;
	if (start && slen)
		memcpy(lo + 1, start, slen);
	uint8_t hi = GROVE_DB_PFX_USER + 1;
	scan_ctx_t s = { .fn = fn, .ctx = ctx, .max_keys = max_keys, .now_ms = grove_db__now_ms(db) };
	int rc = grove_store_scan(db->store, NULL, lo, 1 + (start ? slen : 0), &hi, 1, scan_record,
				  &s);
	if (rc == 0)
		rc = s.rc;
	if (rc) {
		grove_free(s.next);
		return rc;
	}
	if (next) {
		*next = s.next;
		if (next_len)
			*next_len = s.next_len;
	} else {
		grove_free(s.next);
	}
	return 0;
}
