/*
 * store_txn.c - a store's one open transaction (store.h "transactions"):
 * batches staged by the owner thread instead of written, read back by it,
 * and handed out as one batch at the end.
 *
 * The staged state is an overlay: a memory store (store_memory.c) holding,
 * for every key the transaction wrote, a tagged value: 1 then the value
 * for a put, a lone 0 for a delete.  Beside it the transaction keeps every
 * staged op in order (the batch the caller writes at the end).  The owner's
 * get looks in the overlay first; its snapshots pair a backend snapshot
 * with an overlay one; its iterators merge a backend iterator and an
 * overlay one (txn_iter_t): the smaller key first going forward (the
 * larger going backward), the overlay's entry winning over the backend's
 * on an equal key, deleted keys skipped.  Other threads never reach this
 * file: store.c dispatches here only for the owner, recognised by the
 * address of a thread-local variable (so no lock is needed to tell).
 */
#include <string.h>

#include "base/assert.h"
#include "base/buf.h"
#include "grove/alloc.h"
#include "storage/store_int.h"

#define TAG_DEL 0
#define TAG_PUT 1

/* Its address identifies the calling thread. */
static _Thread_local char txn_self;

typedef struct txn_snap {
	grove_snapshot_t *base, *ovl;
	struct txn_snap *next;
} txn_snap_t;

typedef struct grove_store_txn {
	grove_store_t *ovl; /* the overlay: a memory store of tagged values */
	grove_batch_t batch; /* every staged op, in order */
	txn_snap_t *snaps;  /* the owner's live snapshots of the transaction */
	size_t iters;       /* its live iterators */
} grove_store_txn_t;

bool grove_store_txn_owned(const grove_store_t *s)
{
	return atomic_load_explicit(&((grove_store_t *)s)->txn_owner, memory_order_relaxed) ==
	       &txn_self;
}

bool grove_store_txn_open(const grove_store_t *s)
{
	return atomic_load(&((grove_store_t *)s)->txn_owner) != NULL;
}

int grove_store_txn_begin(grove_store_t *s)
{
	if (grove_store_txn_open(s))
		return GROVE_EINVAL;
	grove_store_txn_t *t = grove_calloc(1, sizeof(*t));
	if (!t)
		return GROVE_ENOMEM;
	int rc = grove_store_open_memory(&t->ovl);
	if (rc) {
		grove_free(t);
		return rc;
	}
	grove_batch_init(&t->batch);
	const void *none = NULL;
	if (!atomic_compare_exchange_strong(&s->txn_owner, &none, &txn_self)) {
		grove_store_close(t->ovl);
		grove_free(t);
		return GROVE_EINVAL; /* another thread began one meanwhile */
	}
	s->txn = t;
	return 0;
}

typedef struct {
	grove_batch_t *tagged;
	uint8_t *buf;
	size_t cap;
	int rc;
} tag_ctx_t;

/* One op of the staged batch as its tagged overlay record. */
static void tag_op(void *ctx, int op, const uint8_t *key, size_t klen, const uint8_t *val,
		   size_t vlen)
{
	tag_ctx_t *t = ctx;
	if (t->rc)
		return;
	if (op != GROVE_BATCH_PUT) {
		uint8_t del = TAG_DEL;
		t->rc = grove_batch_put(t->tagged, key, klen, &del, 1);
		return;
	}
	t->rc = grove_grow((void **)&t->buf, &t->cap, vlen + 1, 1, 256, 0);
	if (t->rc)
		return;
	t->buf[0] = TAG_PUT;
	if (vlen)
		memcpy(t->buf + 1, val, vlen);
	t->rc = grove_batch_put(t->tagged, key, klen, t->buf, vlen + 1);
}

int grove_store_txn_stage(grove_store_t *s, const grove_batch_t *b)
{
	GROVE_ASSERT(grove_store_txn_owned(s));
	grove_store_txn_t *t = s->txn;
	if (b->count == 0)
		return 0;
	if (b->len_bytes > GROVE_STORE_TXN_BYTES_MAX - t->batch.len_bytes)
		return GROVE_ETOOBIG;
	grove_batch_t tagged;
	grove_batch_init(&tagged);
	tag_ctx_t tc = { .tagged = &tagged };
	grove_batch_iterate(b, tag_op, &tc);
	size_t len = t->batch.len_bytes, count = t->batch.count;
	int rc = tc.rc;
	if (rc == 0)
		rc = grove_batch_append(&t->batch, b);
	if (rc == 0) {
		rc = grove_store_write(t->ovl, &tagged, false);
		if (rc) { /* not staged: the batch as it was */
			t->batch.len_bytes = len;
			t->batch.count = count;
		}
	}
	grove_free(tc.buf);
	grove_batch_close(&tagged);
	return rc;
}

void grove_store_txn_end(grove_store_t *s, grove_batch_t *out)
{
	GROVE_ASSERT(grove_store_txn_owned(s));
	grove_store_txn_t *t = s->txn;
	GROVE_ASSERT(t->snaps == NULL && t->iters == 0);
	*out = t->batch;
	grove_batch_init(&t->batch);
	s->txn = NULL;
	atomic_store(&s->txn_owner, NULL);
	grove_store_close(t->ovl);
	grove_free(t);
}

void grove_store__txn_free(grove_store_t *s)
{
	grove_store_txn_t *t = s->txn;
	if (!t)
		return;
	GROVE_ASSERT(t->snaps == NULL && t->iters == 0);
	grove_batch_close(&t->batch);
	grove_store_close(t->ovl);
	grove_free(t);
	s->txn = NULL;
	atomic_store(&s->txn_owner, NULL);
}

/* ---- the owner's reads ---- */

static txn_snap_t *snap_find(grove_store_txn_t *t, const grove_snapshot_t *snap)
{
	for (txn_snap_t *p = t->snaps; p; p = p->next)
		if ((const grove_snapshot_t *)p == snap)
			return p;
	return NULL;
}

int grove_store__txn_get(grove_store_t *s, const grove_snapshot_t *snap, const void *key,
			 size_t klen, uint8_t **val, size_t *vlen)
{
	grove_store_txn_t *t = s->txn;
	const grove_snapshot_t *base_snap = snap, *ovl_snap = NULL;
	if (snap) {
		txn_snap_t *ts = snap_find(t, snap);
		if (!ts) /* taken before the transaction: its own view */
			return s->ops->get(s, snap, key, klen, val, vlen);
		base_snap = ts->base;
		ovl_snap = ts->ovl;
	}
	uint8_t *v = NULL;
	size_t len = 0;
	int rc = grove_store_get(t->ovl, ovl_snap, key, klen, &v, &len);
	if (rc == GROVE_ENOTFOUND)
		return s->ops->get(s, base_snap, key, klen, val, vlen);
	if (rc)
		return rc;
	GROVE_ASSERT(len >= 1);
	if (v[0] == TAG_DEL) {
		grove_free(v);
		return GROVE_ENOTFOUND;
	}
	memmove(v, v + 1, len - 1);
	*val = v;
	*vlen = len - 1;
	return 0;
}

int grove_store__txn_snapshot_create(grove_store_t *s, grove_snapshot_t **out)
{
	grove_store_txn_t *t = s->txn;
	txn_snap_t *ts = grove_calloc(1, sizeof(*ts));
	if (!ts)
		return GROVE_ENOMEM;
	int rc = s->ops->snapshot_create(s, &ts->base);
	if (rc == 0) {
		rc = grove_snapshot_create(t->ovl, &ts->ovl);
		if (rc)
			s->ops->snapshot_release(s, ts->base);
	}
	if (rc) {
		grove_free(ts);
		return rc;
	}
	ts->next = t->snaps;
	t->snaps = ts;
	*out = (grove_snapshot_t *)ts;
	return 0;
}

bool grove_store__txn_snapshot_release(grove_store_t *s, grove_snapshot_t *snap)
{
	grove_store_txn_t *t = s->txn;
	for (txn_snap_t **pp = &t->snaps; *pp; pp = &(*pp)->next) {
		txn_snap_t *ts = *pp;
		if ((grove_snapshot_t *)ts != snap)
			continue;
		*pp = ts->next;
		s->ops->snapshot_release(s, ts->base);
		grove_snapshot_release(t->ovl, ts->ovl);
		grove_free(ts);
		return true;
	}
	return false;
}

/* ---- the merged iterator ---- */

enum { CUR_NONE, CUR_BASE, CUR_OVL };

typedef struct txn_iter {
	grove_iter_t it;
	grove_store_txn_t *txn;
	grove_iter_t *b, *o; /* the backend's and the overlay's */
	int cur;
	bool fwd;
	uint8_t *key; /* a copy of the current key across a direction change */
	size_t key_cap;
} txn_iter_t;

/* The backend key against the overlay key (both valid). */
static int child_cmp(const txn_iter_t *ti)
{
	size_t bl, ol;
	const uint8_t *bk = grove_iter_key(ti->b, &bl), *ok = grove_iter_key(ti->o, &ol);
	return grove_key_cmp(bk, bl, ok, ol);
}

static bool ovl_deleted(const txn_iter_t *ti)
{
	size_t vl;
	const uint8_t *v = grove_iter_value(ti->o, &vl);
	GROVE_ASSERT(vl >= 1);
	return v[0] == TAG_DEL;
}

/* One step of child c: forward (next) or backward (prev). */
static void child_step(grove_iter_t *c, bool fwd)
{
	if (fwd)
		grove_iter_next(c);
	else
		grove_iter_prev(c);
}

/* Settles the iterator going fwd (or backward): the current entry is the
 * nearer key - the smaller going forward, the larger going backward - the
 * overlay's on a tie; a deleted overlay key is stepped over with the
 * backend's equal one.  Bounded: each turn moves the overlay on. */
static void settle(txn_iter_t *ti, bool fwd)
{
	ti->fwd = fwd;
	for (;;) {
		bool bv = grove_iter_valid(ti->b);
		if (!grove_iter_valid(ti->o)) {
			ti->cur = bv ? CUR_BASE : CUR_NONE;
			return;
		}
		int c = bv ? child_cmp(ti) : 0;
		if (bv && (fwd ? c < 0 : c > 0)) { /* the backend's key comes first */
			ti->cur = CUR_BASE;
			return;
		}
		if (!ovl_deleted(ti)) {
			ti->cur = CUR_OVL;
			return;
		}
		if (bv && c == 0)
			child_step(ti->b, fwd);
		child_step(ti->o, fwd);
	}
}

static grove_iter_t *cur_child(const txn_iter_t *ti)
{
	return ti->cur == CUR_OVL ? ti->o : ti->b;
}

/* Copies the current key (children move under it on a direction change);
 * false when out of memory (the iterator then ends). */
static bool save_key(txn_iter_t *ti, size_t *klen)
{
	const uint8_t *k = grove_iter_key(cur_child(ti), klen);
	if (grove_grow((void **)&ti->key, &ti->key_cap, *klen ? *klen : 1, 1, 64, 0) < 0) {
		ti->cur = CUR_NONE;
		return false;
	}
	if (*klen)
		memcpy(ti->key, k, *klen);
	return true;
}

static void ti_seek(grove_iter_t *it, const void *key, size_t klen)
{
	txn_iter_t *ti = (txn_iter_t *)it;
	grove_iter_seek(ti->b, key, klen);
	grove_iter_seek(ti->o, key, klen);
	settle(ti, true);
}

static void ti_seek_before(grove_iter_t *it, const void *key, size_t klen)
{
	txn_iter_t *ti = (txn_iter_t *)it;
	grove_iter_seek_before(ti->b, key, klen);
	grove_iter_seek_before(ti->o, key, klen);
	settle(ti, false);
}

static bool ti_valid(const grove_iter_t *it)
{
	return ((const txn_iter_t *)it)->cur != CUR_NONE;
}

/* Moves child c past key k going fwd (to the first key > k) or backward
 * (to the last key < k). */
static void child_past(grove_iter_t *c, const uint8_t *k, size_t klen, bool fwd)
{
	if (!fwd) {
		grove_iter_seek_before(c, k, klen);
		return;
	}
	grove_iter_seek(c, k, klen);
	if (!grove_iter_valid(c))
		return;
	size_t l;
	const uint8_t *at = grove_iter_key(c, &l);
	if (grove_key_cmp(at, l, k, klen) == 0)
		grove_iter_next(c);
}

/* ti_next (fwd) and ti_prev. */
static void step(txn_iter_t *ti, bool fwd)
{
	if (ti->cur == CUR_NONE)
		return;
	if (ti->fwd != fwd) { /* both children stand on the other side of the key */
		size_t klen;
		if (!save_key(ti, &klen))
			return;
		child_past(ti->b, ti->key, klen, fwd);
		child_past(ti->o, ti->key, klen, fwd);
	} else if (ti->cur == CUR_BASE) {
		child_step(ti->b, fwd);
	} else {
		if (grove_iter_valid(ti->b) && child_cmp(ti) == 0)
			child_step(ti->b, fwd);
		child_step(ti->o, fwd);
	}
	settle(ti, fwd);
}

static void ti_next(grove_iter_t *it)
{
	step((txn_iter_t *)it, true);
}

static void ti_prev(grove_iter_t *it)
{
	step((txn_iter_t *)it, false);
}

static const uint8_t *ti_key(const grove_iter_t *it, size_t *klen)
{
	return grove_iter_key(cur_child((const txn_iter_t *)it), klen);
}

static const uint8_t *ti_value(const grove_iter_t *it, size_t *vlen)
{
	const txn_iter_t *ti = (const txn_iter_t *)it;
	if (ti->cur == CUR_BASE)
		return grove_iter_value(ti->b, vlen);
	size_t l;
	const uint8_t *v = grove_iter_value(ti->o, &l);
	*vlen = l - 1;
	return v + 1;
}

static int ti_status(const grove_iter_t *it)
{
	const txn_iter_t *ti = (const txn_iter_t *)it;
	int rc = grove_iter_status(ti->b);
	return rc ? rc : grove_iter_status(ti->o);
}

static void ti_destroy(grove_iter_t *it)
{
	txn_iter_t *ti = (txn_iter_t *)it;
	grove_iter_destroy(ti->b);
	grove_iter_destroy(ti->o);
	GROVE_ASSERT(ti->txn->iters > 0);
	ti->txn->iters--;
	grove_free(ti->key);
	grove_free(ti);
}

static const grove_store_ops_t txn_iter_ops = {
	.name = "txn",
	.iter_destroy = ti_destroy,
	.iter_seek = ti_seek,
	.iter_valid = ti_valid,
	.iter_next = ti_next,
	.iter_seek_before = ti_seek_before,
	.iter_prev = ti_prev,
	.iter_key = ti_key,
	.iter_value = ti_value,
	.iter_status = ti_status,
};

int grove_store__txn_iter_create(grove_store_t *s, const grove_snapshot_t *snap, bool hot,
				 grove_iter_t **out)
{
	grove_store_txn_t *t = s->txn;
	const grove_snapshot_t *base_snap = NULL, *ovl_snap = NULL;
	if (snap) {
		txn_snap_t *ts = snap_find(t, snap);
		if (!ts) /* taken before the transaction: its own view */
			return grove_store__backend_iter(s, snap, hot, out);
		base_snap = ts->base;
		ovl_snap = ts->ovl;
	}
	txn_iter_t *ti = grove_calloc(1, sizeof(*ti));
	if (!ti)
		return GROVE_ENOMEM;
	int rc = grove_store__backend_iter(s, base_snap, hot, &ti->b);
	if (rc == 0) {
		rc = grove_iter_create(t->ovl, ovl_snap, &ti->o);
		if (rc)
			grove_iter_destroy(ti->b);
	}
	if (rc) {
		grove_free(ti);
		return rc;
	}
	ti->it.ops = &txn_iter_ops;
	ti->txn = t;
	ti->cur = CUR_NONE;
	ti->fwd = true;
	t->iters++;
	*out = &ti->it;
	return 0;
}
