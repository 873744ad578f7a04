/*
 * db_ops.c - the typed operations, merge, reads and scans of db.h.
 *
 * Every write is one read-modify-write under the key's stripe lock (one of
 * GROVE_DB_STRIPES mutexes, chosen by the key's segment): load the state
 * (db_state.c), draw a timestamp from the HLC advanced past it, apply the
 * operation, and commit, which writes only when the encoding changed.
 * Merges take the same lock, so no update is lost between local writers
 * and remote state.  Reads need no lock: a single store get is atomic.
 */
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "storage/db_int.h"

int grove_db__key_prepare(grove_db_key_t *k, const void *key, size_t klen)
{
	if (!key || klen == 0 || klen > GROVE_KEY_MAX)
		return GROVE_EINVAL;
	k->key = key;
	k->klen = klen;
	uint32_t h = grove_tree_key_hash(key, klen);
	k->hash = h;
	k->segment = (h >> 16) % GROVE_TREE_SEGMENTS;
	k->stripe = k->segment % GROVE_DB_STRIPES;
	/* a set of the key's stripe: the stripe lock guards it */
	k->cache_set = ((h % GROVE_DB_CACHE_SETS) * GROVE_DB_STRIPES + k->stripe) * GROVE_DB_CACHE_WAYS;
	k->urec[0] = GROVE_DB_PFX_USER;
	memcpy(k->urec + 1, key, klen);
	k->drec[0] = GROVE_DB_PFX_DIGEST;
	k->drec[1] = (uint8_t)(k->segment >> 8);
	k->drec[2] = (uint8_t)k->segment;
	memcpy(k->drec + 3, key, klen);
	return 0;
}

size_t grove_db__drec_len(const grove_db_key_t *k)
{
	return 3 + k->klen;
}

uint32_t grove_db_segment_of(const void *key, size_t klen)
{
	return grove_tree_segment(key, klen);
}

/* One local operation on a decoded value, with a fresh timestamp. */
typedef int (*db_op_fn)(grove_db_t *db, grove_value_t *v, uint64_t ts, void *ctx);

/* With no hook set (the common embedded case) this costs one atomic load. */
static void call_hook(grove_db_t *db, const void *key, size_t klen)
{
	if (!atomic_load(&db->hook))
		return;
	pthread_mutex_lock(&db->hook_mu);
	grove_db_change_fn fn = db->hook;
	void *ctx = db->hook_ctx;
	pthread_mutex_unlock(&db->hook_mu);
	if (fn)
		fn(ctx, key, klen);
}

/* The atomic read-modify-write shared by every typed write. */
static int db_apply(grove_db_t *db, const void *key, size_t klen, db_op_fn op, void *ctx)
{
	grove_db_key_t k;
	int rc = grove_db__key_prepare(&k, key, klen);
	if (rc)
		return rc;
	grove_db_state_t st;
	bool wrote = false;
	pthread_mutex_lock(&db->stripes[k.stripe].mu);
	rc = grove_db__state_load(db, &k, &st);
	uint64_t ts = 0;
	if (rc == 0)
		rc = grove_db__hlc_local(db, grove_value_max_ts(st.v), &ts);
	if (rc == 0)
		rc = op(db, st.v, ts, ctx);
	/* a local op that leaves a never-written key empty (delete, remove of
	 * an absent element) has nothing to record */
	if (rc == 0 && (st.rec || !grove_value_is_empty(st.v)))
		rc = grove_db__state_commit(db, &k, &st, &wrote);
	pthread_mutex_unlock(&db->stripes[k.stripe].mu);
	grove_db__state_free(&st);
	if (wrote) {
		atomic_fetch_add(&db->writes, 1);
		call_hook(db, key, klen);
	}
	return rc;
}

/* --- typed writes: each an op callback plus its public wrapper --- */

typedef struct op_args {
	const void *a;
	size_t alen;
	const void *b;
	size_t blen;
	int64_t delta;
	bool want_value; /* the caller asked for out_i64 */
	int64_t out_i64;
	bool out_flag;
} op_args_t;

/* db_apply, then reports the op's out_flag (added, removed, created,
 * existed) when the caller asked for it and the op succeeded. */
static int db_apply_flag(grove_db_t *db, const void *key, size_t klen, db_op_fn op,
			 op_args_t *o, bool *flag)
{
	int rc = db_apply(db, key, klen, op, o);
	if (rc == 0 && flag)
		*flag = o->out_flag;
	return rc;
}

static int op_counter_add(grove_db_t *db, grove_value_t *v, uint64_t ts, void *ctx)
{
	op_args_t *o = ctx;
	(void)ts;
	int rc = grove_pncounter_add(v, db->node_id, o->delta);
	if (rc == 0 && o->want_value) /* after an add the sum fits int64 */
		rc = grove_pncounter_get(v, &o->out_i64);
	if (rc == GROVE_ENOTFOUND) { /* adding 0 to an absent counter: reads 0 */
		o->out_i64 = 0;
		rc = 0;
	}
	return rc;
}

int grove_db_counter_add(grove_db_t *db, const void *key, size_t klen, int64_t delta,
			 int64_t *new_value)
{
	op_args_t o = { .delta = delta, .want_value = new_value != NULL };
	int rc = db_apply(db, key, klen, op_counter_add, &o);
	if (rc == 0 && new_value)
		*new_value = o.out_i64;
	return rc;
}

static int op_register_set(grove_db_t *db, grove_value_t *v, uint64_t ts, void *ctx)
{
	op_args_t *o = ctx;
	return grove_lwwreg_set(v, db->node_id, ts, o->a, o->alen);
}

int grove_db_register_set(grove_db_t *db, const void *key, size_t klen, const void *val,
			  size_t vlen)
{
	op_args_t o = { .a = val, .alen = vlen };
	return db_apply(db, key, klen, op_register_set, &o);
}

static int op_set_add(grove_db_t *db, grove_value_t *v, uint64_t ts, void *ctx)
{
	op_args_t *o = ctx;
	(void)ts;
	return grove_orset_add(v, db->node_id, o->a, o->alen, &o->out_flag);
}

int grove_db_set_add(grove_db_t *db, const void *key, size_t klen, const void *elem, size_t elen,
		     bool *added)
{
	op_args_t o = { .a = elem, .alen = elen };
	return db_apply_flag(db, key, klen, op_set_add, &o, added);
}

static int op_set_remove(grove_db_t *db, grove_value_t *v, uint64_t ts, void *ctx)
{
	op_args_t *o = ctx;
	(void)ts;
	return grove_orset_remove(v, db->node_id, o->a, o->alen, &o->out_flag);
}

int grove_db_set_remove(grove_db_t *db, const void *key, size_t klen, const void *elem,
			size_t elen, bool *removed)
{
	op_args_t o = { .a = elem, .alen = elen };
	return db_apply_flag(db, key, klen, op_set_remove, &o, removed);
}

static int op_map_set(grove_db_t *db, grove_value_t *v, uint64_t ts, void *ctx)
{
	op_args_t *o = ctx;
	return grove_lwwmap_set(v, db->node_id, ts, o->a, o->alen, o->b, o->blen, &o->out_flag);
}

int grove_db_map_set(grove_db_t *db, const void *key, size_t klen, const void *field,
		     size_t flen, const void *val, size_t vlen, bool *created)
{
	op_args_t o = { .a = field, .alen = flen, .b = val, .blen = vlen };
	return db_apply_flag(db, key, klen, op_map_set, &o, created);
}

static int op_map_delete(grove_db_t *db, grove_value_t *v, uint64_t ts, void *ctx)
{
	op_args_t *o = ctx;
	return grove_lwwmap_delete(v, db->node_id, ts, o->a, o->alen, &o->out_flag);
}

int grove_db_map_delete(grove_db_t *db, const void *key, size_t klen, const void *field,
			size_t flen, bool *removed)
{
	op_args_t o = { .a = field, .alen = flen };
	return db_apply_flag(db, key, klen, op_map_delete, &o, removed);
}

/* A logically empty value has nothing visible to remove: left as is. */
static int op_delete(grove_db_t *db, grove_value_t *v, uint64_t ts, void *ctx)
{
	op_args_t *o = ctx;
	o->out_flag = !grove_value_is_empty(v);
	return o->out_flag ? grove_value_delete(v, db->node_id, ts) : 0;
}

int grove_db_delete(grove_db_t *db, const void *key, size_t klen, bool *existed)
{
	op_args_t o = { 0 };
	return db_apply_flag(db, key, klen, op_delete, &o, existed);
}

/* --- merge --- */

int grove_db_merge(grove_db_t *db, const void *key, size_t klen, const uint8_t *enc,
		   size_t enc_len, bool *changed)
{
	grove_db_key_t k;
	int rc = grove_db__key_prepare(&k, key, klen);
	if (rc)
		return rc;
	if (enc_len > GROVE_VALUE_BYTES_MAX)
		return GROVE_ETOOBIG;
	grove_value_t *remote = NULL;
	rc = grove_value_decode(enc, enc_len, &remote);
	if (rc == 0)
		rc = grove_db__hlc_observe(db, grove_value_max_ts(remote));
	if (rc) {
		grove_value_destroy(remote);
		atomic_fetch_add(&db->merges_rejected, 1);
		return rc;
	}
	grove_db_state_t st;
	bool wrote = false;
	pthread_mutex_lock(&db->stripes[k.stripe].mu);
	rc = grove_db__state_load(db, &k, &st);
	if (rc == 0)
		rc = grove_value_merge(st.v, remote, NULL);
	if (rc == 0)
		rc = grove_db__state_commit(db, &k, &st, &wrote);
	pthread_mutex_unlock(&db->stripes[k.stripe].mu);
	grove_db__state_free(&st);
	grove_value_destroy(remote);
	if (rc)
		return rc;
	atomic_fetch_add(wrote ? &db->merges_changed : &db->merges_unchanged, 1);
	if (changed)
		*changed = wrote;
	return 0;
}

/* --- reads --- */

static int get_record(grove_db_t *db, const void *key, size_t klen, uint8_t **rec,
		      size_t *rec_len)
{
	grove_db_key_t k;
	int rc = grove_db__key_prepare(&k, key, klen);
	if (rc)
		return rc;
	rc = grove_store_get(db->store, NULL, k.urec, 1 + klen, rec, rec_len);
	if (rc == 0 && *rec_len < 1) {
		grove_free(*rec);
		return GROVE_ECORRUPT;
	}
	return rc;
}

int grove_db_get(grove_db_t *db, const void *key, size_t klen, grove_value_t **out)
{
	uint8_t *rec;
	size_t rec_len;
	int rc = get_record(db, key, klen, &rec, &rec_len);
	if (rc)
		return rc;
	grove_value_t *v = NULL;
	if (grove_db__rec_type(rec, rec_len) == GROVE_TYPE_NONE)
		rc = GROVE_ENOTFOUND;
	else if ((rc = grove_value_decode(rec, rec_len - 1, &v)) != 0 && rc != GROVE_ENOMEM)
		rc = GROVE_ECORRUPT;
	grove_free(rec);
	if (rc == 0)
		*out = v;
	return rc;
}

int grove_db_get_encoded(grove_db_t *db, const void *key, size_t klen, uint8_t **out,
			 size_t *out_len)
{
	uint8_t *rec;
	size_t rec_len;
	int rc = get_record(db, key, klen, &rec, &rec_len);
	if (rc)
		return rc;
	*out = rec; /* the trailing type byte stays in the buffer, unseen */
	*out_len = rec_len - 1;
	return 0;
}

/* --- scan --- */

typedef struct scan_ctx {
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
	if (vlen < 1 || grove_db__rec_type(val, vlen) == GROVE_TYPE_NONE)
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
	scan_ctx_t s = { .fn = fn, .ctx = ctx, .max_keys = max_keys };
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
