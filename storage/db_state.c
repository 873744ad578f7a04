/*
 * db_state.c - loading and committing one key's state for db_ops.c, through
 * the record cache of db_cache.c.
 *
 * Load: the key's cache entry if it holds the key (its decoded value when
 * kept, changed in place by the operation; else its record, decoded), or a
 * store get and decode.  Commit: encode into the stripe's scratch buffer,
 * right after the key's tree item prefix; if the bytes equal the stored
 * ones, nothing is written.  Otherwise the 'u' record, plus the key's 'd'
 * segment-index record when the key is new, goes through the durability
 * mode, and the digest tree swaps the old item hash for the new one
 * (hashed once over the scratch buffer) once the write is durable, the
 * live-key count following the type byte; the record becomes the key's
 * cache entry.
 *
 * Modes none and always (and BATCH writes whose set has no entry to pin):
 * the write is durable before the key's stripe lock is released; the
 * stripe's batch is reused.  If the write fails, a cached value that the
 * operation changed in memory is dropped with its entry, so the cache
 * never holds state the store does not.
 *
 * BATCH: the record is queued to the group commit and installed as the
 * key's pinned cache entry under the lock (queue order = order of the
 * read-modify-writes = order on disk); the lock is released while the
 * writer waits for its group's fsync and taken again afterwards (the
 * caller unlocks it), so the next writer of the key builds on the queued
 * state and joins the same or the next group.  The tree delta (additive,
 * so order-free) is applied only once durable: the tree never shows a
 * queued write.  A failed group makes the commit refuse all later writes
 * (commit.h); each failed writer drops its key's entry, which holds its
 * state or one built on it.  The stripe lock also guards the stripe's
 * cache sets and buffers.
 *
 * Deferred writes (a server's pipelined requests, any mode) do not hash
 * their new head: the entry's item stays unknown and the key's deferred
 * head writes form a chain; when a sync settles them, consecutive durable
 * writes of one key telescope (the old item of the first, the new item of
 * the last), so a head is hashed once per key per sync, not per write.
 */
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "crdt/coll.h" /* grove_value_t's size (state_prefetch) */
#include "storage/db_int.h"

#define STATE_ENCODE_SLACK_BYTES 64 /* room beyond the old record: most writes fit */

void grove_db__rec_digest(const uint8_t *rec, size_t rec_len, uint8_t out[GROVE_DIGEST_BYTES])
{
	GROVE_ASSERT(rec_len >= 1);
	grove_digest(rec, rec_len, out);
}

void grove_db__rec_item(const grove_db_key_t *k, const uint8_t *rec, size_t rec_len,
			uint8_t out[GROVE_DIGEST_BYTES])
{
	GROVE_ASSERT(rec_len >= 1);
	grove_tree_item(k->key, k->klen, rec, rec_len, out);
}

void grove_db__state_free(grove_db_state_t *st)
{
	grove_free(st->owned_rec);
	if (!st->v_cached)
		grove_value_destroy(st->v);
	memset(st, 0, sizeof(*st));
}

/* A cached value found, its lines (the operation reads and changes it,
 * the encoding reads all of it) and the stripe's scratch buffer (the
 * encoding writes there) brought toward the CPU at once: over many keys
 * each is a cache miss, which the first field read would otherwise take
 * one after another. */
static void state_prefetch(const grove_db_stripe_t *s, const grove_value_t *v)
{
	for (size_t i = 0; i < sizeof(*v); i += 64)
		__builtin_prefetch((const char *)v + i, 1);
	if (s->scratch)
		__builtin_prefetch(s->scratch, 1);
}

int grove_db__state_load(grove_db_t *db, const grove_db_key_t *k, grove_db_state_t *st)
{
	memset(st, 0, sizeof(*st));
	grove_db_cached_t *e = grove_db__cache_find(db, k);
	if (e) {
		if (e->v)
			state_prefetch(&db->stripes[k->stripe], e->v);
		st->entry = e;
		st->rec = e->buf + GROVE_TREE_ITEM_PREFIX_BYTES(k->klen);
		st->rec_len = e->rec_len;
		st->have_item = e->item_known;
		if (e->item_known)
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

/* Puts the record (and a new key's index record) into b. */
static int state_batch(grove_batch_t *b, const grove_db_key_t *k, const grove_db_state_t *st,
		       const uint8_t *rec, size_t rec_len)
{
	grove_batch_clear(b);
	int rc = rec ? grove_batch_put(b, k->urec, 1 + k->klen, rec, rec_len) : 0;
	if (rc == 0 && rec && !st->rec)
		rc = grove_batch_put(b, k->drec, grove_db__drec_len(k), NULL, 0);
	/* the TTL index follows the head's deadline, in the same batch */
	uint64_t od = st->rec ? grove_db__rec_deadline(st->rec, st->rec_len) : 0;
	uint64_t nd = rec ? grove_db__rec_deadline(rec, rec_len) : 0;
	uint8_t x[1 + 8 + GROVE_KEY_MAX];
	if (rc == 0 && rec && od != nd && od)
		rc = grove_batch_delete(b, x, grove_db__xkey(od, k->key, k->klen, x));
	if (rc == 0 && rec && od != nd && nd)
		rc = grove_batch_put(b, x, grove_db__xkey(nd, k->key, k->klen, x), NULL, 0);
	if (rc == 0 && st->extra)
		rc = grove_batch_append(b, st->extra);
	return rc;
}

/* The delta of replacing st's record by the new one (rec_len bytes) in the
 * stripe's scratch buffer after the prefix, but its items (state_delta). */
static void state_delta_flags(const grove_db_stripe_t *s, const grove_db_key_t *k,
			      const grove_db_state_t *st, size_t rec_len, grove_db_head_delta_t *d)
{
	size_t pre = GROVE_TREE_ITEM_PREFIX_BYTES(k->klen);
	d->segment = k->segment;
	d->had_old = st->rec != NULL;
	d->old_live = st->rec && grove_db__rec_type(st->rec, st->rec_len) != GROVE_TYPE_NONE;
	d->new_live = grove_db__rec_type(s->scratch + pre, rec_len) != GROVE_TYPE_NONE;
	d->old_ttl = st->rec && grove_db__rec_deadline(st->rec, st->rec_len) != 0;
	d->new_ttl = grove_db__rec_deadline(s->scratch + pre, rec_len) != 0;
}

/* The old record's tree item into st->item (hashed when not known). */
static void state_old_item(const grove_db_key_t *k, grove_db_state_t *st)
{
	if (st->rec && !st->have_item)
		grove_db__rec_item(k, st->rec, st->rec_len, st->item);
	st->have_item = st->rec != NULL;
}

/* state_delta_flags with both items: the new one hashed over the scratch
 * buffer. */
static void state_delta(const grove_db_stripe_t *s, const grove_db_key_t *k,
			grove_db_state_t *st, size_t rec_len, grove_db_head_delta_t *d)
{
	size_t pre = GROVE_TREE_ITEM_PREFIX_BYTES(k->klen);
	state_delta_flags(s, k, st, rec_len, d);
	grove_tree_item_bytes(s->scratch, pre + rec_len, d->new_item);
	state_old_item(k, st);
	memcpy(d->old_item, st->item, GROVE_DIGEST_BYTES);
}

/* A write's element item deltas into the digest tree: through run (a
 * deferred sync's, which flushes it) or, NULL, at once. */
static void extra_apply(grove_db_t *db, const grove_db_item_delta_t *deltas, size_t n,
			grove_tree_run_t *run)
{
	grove_tree_run_t own = { 0 };
	for (size_t i = 0; i < n; i++) {
		const grove_db_item_delta_t *x = &deltas[i];
		grove_tree_run_update(&db->tree, run ? run : &own, x->segment,
				      x->had_old ? x->old_item : NULL, x->has_new ? x->new_item : NULL);
	}
	grove_tree_run_flush(&db->tree, &own);
}

static void delta_apply(grove_db_t *db, const grove_db_head_delta_t *d)
{
	grove_tree_update(&db->tree, d->segment, d->had_old ? d->old_item : NULL, d->new_item);
	if (d->new_live && !d->old_live)
		atomic_fetch_add(&db->live_keys, 1);
	else if (d->old_live && !d->new_live)
		atomic_fetch_sub(&db->live_keys, 1);
	if (d->new_ttl && !d->old_ttl)
		atomic_fetch_add(&db->expires, 1);
	else if (d->old_ttl && !d->new_ttl)
		atomic_fetch_sub(&db->expires, 1);
}

/* The new record (rec_len bytes, in the stripe's scratch buffer) becomes
 * the key's cache entry with its item (NULL: not hashed yet), taking st->v
 * when the budget allows. */
static grove_db_cached_t *state_install(grove_db_t *db, const grove_db_key_t *k,
					grove_db_state_t *st, size_t rec_len,
					const uint8_t *item, bool pin)
{
	st->rec = NULL; /* the entry's buffer may be swapped or freed below */
	st->v_cached = false;
	grove_db_cached_t *e =
		grove_db__cache_install(db, k, st->entry, rec_len, item, &st->v, pin);
	st->entry = NULL;
	return e;
}

/* Modes none and always, and records the cache cannot hold: the write is
 * durable before the key lock is released. */
static int state_commit_locked(grove_db_t *db, const grove_db_key_t *k, grove_db_state_t *st,
			       size_t rec_len)
{
	grove_db_stripe_t *s = &db->stripes[k->stripe];
	const uint8_t *rec = s->scratch + GROVE_TREE_ITEM_PREFIX_BYTES(k->klen);
	int rc = state_batch(&s->batch, k, st, rec, rec_len);
	if (rc == 0)
		rc = grove_commit_write(&db->commit, &s->batch);
	if (rc)
		return state_fail(db, st, rc);
	if (st->extra) {
		grove_db__pending_forget(s, st->extra);
		grove_db__zrank_note(db, k, st->extra, true);
	}
	grove_db_head_delta_t d;
	state_delta(s, k, st, rec_len, &d);
	delta_apply(db, &d);
	extra_apply(db, st->deltas, st->ndeltas, NULL);
	state_install(db, k, st, rec_len, d.new_item, false);
	return 0;
}

/* A collection write whose head did not change: only its extra records. */
static int state_commit_extra(grove_db_t *db, const grove_db_key_t *k, grove_db_state_t *st)
{
	grove_db_stripe_t *s = &db->stripes[k->stripe];
	int rc = state_batch(&s->batch, k, st, NULL, 0);
	if (rc == 0)
		rc = grove_commit_write(&db->commit, &s->batch);
	if (rc)
		return state_fail(db, st, rc);
	grove_db__pending_forget(s, st->extra);
	grove_db__zrank_note(db, k, st->extra, true);
	extra_apply(db, st->deltas, st->ndeltas, NULL);
	return 0;
}

/* BATCH mode: queues the write and makes it the key's (pinned) cache entry
 * under the key lock, so the next writer of the key builds on it; waits
 * for the group's fsync with the lock released; then applies the delta to
 * the tree (additive, so in any order: the tree shows durable writes
 * only).  On failure the key's entry goes: it may hold this write or a
 * later one built on it, and the commit refuses all later writes. */
static int state_commit_queued(grove_db_t *db, const grove_db_key_t *k, grove_db_state_t *st,
			       size_t rec_len)
{
	grove_db_stripe_t *s = &db->stripes[k->stripe];
	const uint8_t *rec = rec_len ? s->scratch + GROVE_TREE_ITEM_PREFIX_BYTES(k->klen) : NULL;
	grove_batch_t b;
	grove_batch_init(&b);
	grove_commit_waiter_t w;
	int rc = state_batch(&b, k, st, rec, rec_len);
	if (rc == 0 && st->extra)
		rc = grove_db__pending_prepare(s, st->extra);
	if (rc == 0 && st->extra)
		grove_db__pending_note_items(s, st->deltas, st->ndeltas);
	if (rc == 0)
		rc = grove_commit_enqueue(&db->commit, &b, &w);
	if (rc) { /* a failed enqueue: the commit refuses every later write */
		grove_db__pending_discard(s);
		grove_batch_close(&b);
		return state_fail(db, st, rc);
	}
	grove_db__pending_install(s, w.seq);
	grove_db__zrank_note(db, k, st->extra, true);
	grove_db_head_delta_t d;
	if (rec_len) {
		state_delta(s, k, st, rec_len, &d);
		grove_db_cached_t *e = state_install(db, k, st, rec_len, d.new_item, true);
		GROVE_ASSERT(e); /* grove_db__cache_can_pin said so */
		e->pending_seq = w.seq;
	} else if (st->entry) { /* the install clears it; the extra records change it */
		st->entry->meta_kept = false;
	}
	st->unlocked = true; /* other writers of the key may run until relocked */
	pthread_mutex_unlock(&s->mu);
	rc = grove_commit_wait(&db->commit, &w);
	if (rc == 0) {
		if (rec_len)
			delta_apply(db, &d);
		extra_apply(db, st->deltas, st->ndeltas, NULL);
	}
	pthread_mutex_lock(&s->mu);
	grove_batch_close(&b);
	grove_db__pending_settle(s, w.seq);
	if (rec_len || rc) /* failed: the entry goes (its meta_kept may be this write's) */
		grove_db__cache_settle(db, k, w.seq, rc == 0);
	if (rc) /* the sorted-set leaves' entries showed it too */
		grove_db__zrank_note(db, k, NULL, false);
	return rc;
}

bool grove_db__defer_active(grove_db_t *db)
{
	return atomic_load(&db->defer_on) && pthread_equal(db->defer_thread, pthread_self());
}

#define DEFER_SPARE_MAX 4096          /* settled records kept for reuse */
#define DEFER_BATCH_KEEP_BYTES 65536  /* a reused record keeps a batch buffer up to this */

/* A record for a deferred write of a key of klen bytes, its batch empty:
 * a settled one reused when there is one (the deferring thread's stock,
 * refilled from the spares in one lock), else a new one. */
static grove_db_deferred_t *defer_record(grove_db_t *db, size_t klen)
{
	if (!db->defer_free) {
		pthread_mutex_lock(&db->defer_mu);
		db->defer_free = db->defer_spare;
		db->defer_spare = NULL;
		db->defer_nspare = 0;
		pthread_mutex_unlock(&db->defer_mu);
	}
	grove_db_deferred_t *r = db->defer_free;
	if (r && r->keycap >= klen) {
		db->defer_free = r->next;
		grove_batch_clear(&r->batch);
		return r;
	}
	size_t cap = klen < 64 ? 64 : klen;
	r = grove_calloc(1, sizeof(*r) + cap);
	if (!r)
		return NULL;
	grove_batch_init(&r->batch);
	r->keycap = cap;
	return r;
}

/* Frees a list of records. */
static void defer_free_list(grove_db_deferred_t *r)
{
	for (grove_db_deferred_t *nx; r; r = nx) {
		nx = r->next;
		grove_batch_close(&r->batch);
		grove_free(r);
	}
}

/* A deferred write's new head (rec_len bytes in the stripe's scratch
 * buffer): its delta without the new item (hashed once at settle time for
 * the key's last write of a group, defer_settle), the old item known,
 * hashed, or left to the key's previous deferred record (chained); the
 * record becomes the key's pinned entry, its item unknown. */
static void deferred_head(grove_db_t *db, const grove_db_key_t *k, grove_db_state_t *st,
			  size_t rec_len, grove_db_deferred_t *r)
{
	grove_db_stripe_t *s = &db->stripes[k->stripe];
	r->has_head = true;
	r->chain_next = NULL;
	state_delta_flags(s, k, st, rec_len, &r->head);
	grove_db_deferred_t *prev = st->entry ? st->entry->defer_last : NULL;
	GROVE_ASSERT(!prev || (st->rec && !st->have_item));
	r->old_known = prev == NULL;
	if (prev) {
		GROVE_ASSERT(prev->has_head && !prev->chain_next);
		prev->chain_next = r;
	} else {
		state_old_item(k, st);
		memcpy(r->head.old_item, st->item, GROVE_DIGEST_BYTES);
	}
	grove_db_cached_t *e = state_install(db, k, st, rec_len, NULL, true);
	GROVE_ASSERT(e); /* grove_db__cache_can_pin said so */
	e->pending_seq = r->w.seq;
	e->defer_last = r;
}

/* ---- a deferral's writes of one key folded into one queued record ----
 *
 * When a deferred write's key is the key of the deferral's last queued
 * record (a client's pipelined writes of one key), the write's batch
 * writes the same keys as that record's (grove_batch_same_keys: it
 * overwrites all of them; a hot element's writes), and that batch is
 * still the commit queue's last, not taken by a group, the write joins it
 * instead of queueing a record of its own: its batch is swapped in under
 * the commit's lock (grove_commit_tail_swap), so the group writes either
 * batch whole: each write stays atomic, and what reaches the disk is a
 * prefix of the writes.  (Writes of other keys, such as new elements,
 * queue their own: carrying the older batch's records into the new one
 * cost more instructions than the fold saved, 21,502 against 20,801 per
 * SADD of a new member in callgrind.)  The record's tree deltas telescope (the older head's old item,
 * the new head hashed at settle from the batch's first op; an element
 * whose new item the write replaces continues that delta), and its
 * sequence number stays the deferral's ticket.  A record, an enqueue, a
 * settle and the group's per-op merge saved per write. */

/* The deferral's last record when the write of k (rec_len: its new head,
 * 0 none) can fold into it, else NULL: same key, a head in both or in
 * neither, and with a head the key's entry still showing that record. */
static grove_db_deferred_t *fold_target(grove_db_t *db, const grove_db_key_t *k,
					const grove_db_state_t *st, size_t rec_len)
{
	grove_db_deferred_t *p = db->defer_run_last;
	if (!p || p->key_hash != k->hash || p->klen != k->klen ||
	    memcmp(p->key, k->key, k->klen) != 0 || (rec_len != 0) != p->has_head)
		return NULL;
	if (p->has_head && (!st->entry || st->entry->defer_last != p || p->chain_next))
		return NULL;
	return p;
}

/* Where each of st's element deltas goes in p: plan[i] < p->ndeltas
 * continues that delta (its new item is the write's old one, in the same
 * segment), else a new slot; false when p cannot hold them. */
static bool fold_deltas_plan(const grove_db_deferred_t *p, const grove_db_state_t *st,
			     size_t plan[GROVE_DB_ITEM_DELTAS_MAX])
{
	bool used[GROVE_DB_ITEM_DELTAS_MAX] = { false };
	size_t n = p->ndeltas;
	for (size_t i = 0; i < st->ndeltas; i++) {
		const grove_db_item_delta_t *d = &st->deltas[i];
		size_t j = 0;
		while (j < p->ndeltas &&
		       (used[j] || !p->deltas[j].has_new || !d->had_old ||
			p->deltas[j].segment != d->segment ||
			memcmp(p->deltas[j].new_item, d->old_item, GROVE_DIGEST_BYTES) != 0))
			j++;
		if (j == p->ndeltas && n == GROVE_DB_ITEM_DELTAS_MAX)
			return false;
		if (j < p->ndeltas)
			used[j] = true;
		plan[i] = j < p->ndeltas ? j : n++;
	}
	return true;
}

/* Folds the write queued in r's batch (its records prepared as pending)
 * into p (fold_target): true when done (r's batch then holds p's old one
 * and r goes back to the deferring thread's stock), false when the keys
 * differ or p's batch was taken or is no longer the queue's last (the
 * caller queues r itself). */
static bool defer_fold(grove_db_t *db, const grove_db_key_t *k, grove_db_state_t *st,
		       size_t rec_len, grove_db_deferred_t *p, grove_db_deferred_t *r)
{
	grove_db_stripe_t *s = &db->stripes[k->stripe];
	size_t plan[GROVE_DB_ITEM_DELTAS_MAX];
	/* the keys first: a new element's write (other keys) ends it there */
	if (!grove_batch_same_keys(&p->batch, &r->batch) || !fold_deltas_plan(p, st, plan) ||
	    !grove_commit_tail_swap(&db->commit, &p->w, &p->batch, &r->batch))
		return false;
	grove_db__pending_install(s, p->w.seq);
	grove_db__zrank_note(db, k, st->extra, true);
	if (rec_len) { /* the head delta keeps p's old side */
		grove_db_head_delta_t h;
		state_delta_flags(s, k, st, rec_len, &h);
		p->head.new_live = h.new_live;
		p->head.new_ttl = h.new_ttl;
		GROVE_ASSERT(st->entry && st->entry->defer_last == p); /* fold_target */
		grove_db_cached_t *e = state_install(db, k, st, rec_len, NULL, true);
		GROVE_ASSERT(e); /* the entry itself */
		e->pending_seq = p->w.seq;
		e->defer_last = p;
	}
	for (size_t i = 0; i < st->ndeltas; i++) {
		const grove_db_item_delta_t *d = &st->deltas[i];
		grove_db_item_delta_t *q = &p->deltas[plan[i]];
		if (plan[i] >= p->ndeltas) {
			*q = *d;
			p->ndeltas = plan[i] + 1;
		} else {
			q->has_new = d->has_new;
			memcpy(q->new_item, d->new_item, GROVE_DIGEST_BYTES);
		}
		q->rkey = NULL; /* borrowed until the commit returns */
	}
	r->next = db->defer_free;
	db->defer_free = r;
	db->defer_folds++;
	return true;
}

/* Deferred (any mode): queues the write like state_commit_queued (or
 * folds it into the deferral's last record of the key), makes it the
 * key's pinned cache entry, and returns with the lock held and without
 * waiting; grove_db_defer_sync settles it once its group is written.
 * The batch and waiter live in a heap record until then. */
static int state_commit_deferred(grove_db_t *db, const grove_db_key_t *k, grove_db_state_t *st,
				 size_t rec_len)
{
	grove_db_stripe_t *s = &db->stripes[k->stripe];
	const uint8_t *rec = rec_len ? s->scratch + GROVE_TREE_ITEM_PREFIX_BYTES(k->klen) : NULL;
	GROVE_ASSERT(st->ndeltas <= GROVE_DB_ITEM_DELTAS_MAX);
	grove_db_deferred_t *r = defer_record(db, k->klen);
	if (!r)
		return state_fail(db, st, GROVE_ENOMEM);
	int rc = state_batch(&r->batch, k, st, rec, rec_len);
	if (rc == 0 && st->extra)
		rc = grove_db__pending_prepare(s, st->extra);
	if (rc == 0 && st->extra)
		grove_db__pending_note_items(s, st->deltas, st->ndeltas);
	grove_db_deferred_t *p = rc == 0 ? fold_target(db, k, st, rec_len) : NULL;
	if (p && defer_fold(db, k, st, rec_len, p, r))
		return 0;
	if (rc == 0)
		rc = grove_commit_enqueue(&db->commit, &r->batch, &r->w);
	if (rc) {
		grove_db__pending_discard(s);
		grove_batch_close(&r->batch);
		grove_free(r);
		return state_fail(db, st, rc);
	}
	grove_db__pending_install(s, r->w.seq);
	grove_db__zrank_note(db, k, st->extra, true);
	r->has_head = false;
	r->next = NULL;
	if (rec_len)
		deferred_head(db, k, st, rec_len, r);
	r->ndeltas = st->ndeltas;
	if (st->ndeltas)
		memcpy(r->deltas, st->deltas, st->ndeltas * sizeof(*st->deltas));
	r->klen = k->klen;
	r->key_hash = k->hash;
	memcpy(r->key, k->key, k->klen);
	db->defer_last_seq = r->w.seq;
	db->defer_run_last = r;
	pthread_mutex_lock(&db->defer_mu);
	if (db->defer_tail)
		db->defer_tail->next = r;
	else
		db->defer_head = r;
	db->defer_tail = r;
	pthread_mutex_unlock(&db->defer_mu);
	return 0;
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
	/* a deferred record holds GROVE_DB_ITEM_DELTAS_MAX deltas: a merge of
	 * more elements (grove_db_items_merge) commits as when not deferring */
	bool defer = grove_db__defer_active(db) && st->ndeltas <= GROVE_DB_ITEM_DELTAS_MAX;
	uint8_t *rec = s->scratch + GROVE_TREE_ITEM_PREFIX_BYTES(k->klen);
	rec[enc_len] = (uint8_t)(st->has_type ? st->type : grove_value_type(st->v));
	size_t rec_len = enc_len + 1;
	if (st->rec && st->rec_len == rec_len && memcmp(st->rec, rec, rec_len) == 0) {
		/* unchanged head: a cached value still equals its record */
		if (!st->extra || st->extra->count == 0)
			return 0;
		if (grove_commit_txn_owned(&db->commit)) /* staged at once */
			rc = state_commit_extra(db, k, st);
		else if (defer)
			rc = state_commit_deferred(db, k, st, 0);
		else if (db->durability == GROVE_DURABILITY_BATCH)
			rc = state_commit_queued(db, k, st, 0);
		else
			rc = state_commit_extra(db, k, st);
		*wrote = rc == 0;
		return rc;
	}
	bool can_pin = grove_db__cache_can_pin(db, k, st->entry);
	if (grove_commit_txn_owned(&db->commit)) /* staged at once */
		rc = state_commit_locked(db, k, st, rec_len);
	else if (can_pin && defer)
		rc = state_commit_deferred(db, k, st, rec_len);
	else if (db->durability == GROVE_DURABILITY_BATCH && can_pin)
		rc = state_commit_queued(db, k, st, rec_len);
	else
		rc = state_commit_locked(db, k, st, rec_len);
	*wrote = rc == 0;
	return rc;
}

/* ---- deferred writes (db.h) ---- */

int grove_db_defer_begin(grove_db_t *db)
{
	if (atomic_load(&db->defer_on) || grove_commit_txn_owned(&db->commit))
		return GROVE_EINVAL;
	db->defer_thread = pthread_self();
	db->defer_last_seq = 0;
	db->defer_run_last = NULL;
	atomic_store(&db->defer_on, true);
	return 0;
}

uint64_t grove_db_defer_end(grove_db_t *db)
{
	GROVE_ASSERT(grove_db__defer_active(db));
	atomic_store(&db->defer_on, false);
	db->defer_run_last = NULL;
	return db->defer_last_seq;
}

_Static_assert(GROVE_DB_STRIPES % 64 == 0, "touched: a bit per stripe in whole words");

static void first_op(void *ctx, int op, const uint8_t *key, size_t klen, const uint8_t *val,
		     size_t vlen)
{
	(void)key;
	const uint8_t **rec = ctx;
	GROVE_ASSERT(op == GROVE_BATCH_PUT && klen >= 2 && key[0] == GROVE_DB_PFX_USER);
	rec[0] = val;
	rec[1] = val + vlen;
}

/* The tree item of a deferred write's head: its batch's first op puts the
 * 'u' record (state_batch). */
static void deferred_head_item(const grove_db_deferred_t *r, uint8_t out[GROVE_DIGEST_BYTES])
{
	const uint8_t *rec[2] = { NULL, NULL };
	grove_batch_iterate_n(&r->batch, 1, first_op, rec);
	GROVE_ASSERT(rec[0] != NULL);
	grove_tree_item(r->key, r->klen, rec[0], (size_t)(rec[1] - rec[0]), out);
}

/* A deferred head write settling (caller holds the key's stripe lock; the
 * records up to seq settled are written).  Durable: when the key's next
 * head write is among them and durable too, it takes this record's old
 * item and flags (the two deltas telescope: nothing to hash or apply);
 * otherwise the new item is hashed once and the delta applied, and the
 * next write (if any) learns it as its old item, as does the key's entry
 * when it still holds this record. */
static void deferred_head_settle(grove_db_t *db, const grove_db_key_t *k, grove_db_deferred_t *r,
				 uint64_t settled, bool durable)
{
	grove_db_deferred_t *n = r->chain_next;
	grove_db_cached_t *e = grove_db__cache_find(db, k);
	bool last = e && e->defer_last == r;
	GROVE_ASSERT(!n || n->w.seq > r->w.seq);
	if (last)
		e->defer_last = NULL;
	if (!durable) /* nor any later write: the entry goes (grove_db__cache_settle) */
		return;
	GROVE_ASSERT(r->old_known || !r->head.had_old);
	if (n && n->w.seq <= settled && n->w.rc == 0) {
		GROVE_ASSERT(!last);
		n->head.had_old = r->head.had_old;
		n->head.old_live = r->head.old_live;
		n->head.old_ttl = r->head.old_ttl;
		memcpy(n->head.old_item, r->head.old_item, GROVE_DIGEST_BYTES);
		n->old_known = true;
		return;
	}
	deferred_head_item(r, r->head.new_item);
	delta_apply(db, &r->head);
	if (n) {
		memcpy(n->head.old_item, r->head.new_item, GROVE_DIGEST_BYTES);
		n->old_known = true;
	}
	if (last) {
		memcpy(e->item, r->head.new_item, GROVE_DIGEST_BYTES);
		e->item_known = true;
	}
}

/* A sync's settling of consecutive records of one key (a hot key's
 * pipelined writes): the key prepared once, and its stripe lock held
 * across them (up to SETTLE_HOLD_MAX records) instead of taken per record. */
#define SETTLE_HOLD_MAX 256

typedef struct settle_key {
	grove_db_key_t k;
	bool prepared; /* k is the last settled record's key */
	bool locked;   /* k's stripe lock is held */
	unsigned held; /* records settled under it */
} settle_key_t;

static void settle_key_release(grove_db_t *db, settle_key_t *sk)
{
	if (sk->locked)
		pthread_mutex_unlock(&db->stripes[sk->k.stripe].mu);
	sk->locked = false;
	sk->held = 0;
}

/* sk prepared for r's key (its lock released when it was another key). */
static void settle_key_for(grove_db_t *db, settle_key_t *sk, const grove_db_deferred_t *r)
{
	if (sk->prepared && sk->k.hash == r->key_hash && sk->k.klen == r->klen &&
	    memcmp(sk->k.urec + 1, r->key, r->klen) == 0)
		return;
	settle_key_release(db, sk);
	grove_db__key_prepare_hashed(&sk->k, r->key, r->klen, r->key_hash);
	sk->k.key = sk->k.urec + 1; /* r goes to the spares: its copy of the key */
	sk->prepared = true;
}

/* Applies a written record's deltas (durable; through run, which
 * grove_db_defer_sync flushes) and releases its cache pin; the record goes
 * to *spare for reuse, its stripe to touched (whose pending records
 * grove_db_defer_sync settles once for all of them).  sk: the key of the
 * records before it (the caller releases it at the end). */
static void defer_settle(grove_db_t *db, grove_db_deferred_t *r, uint64_t settled,
			 grove_db_deferred_t **spare, uint64_t *touched, grove_tree_run_t *run,
			 settle_key_t *sk)
{
	bool durable = r->w.rc == 0;
	if (durable)
		extra_apply(db, r->deltas, r->ndeltas, run);
	settle_key_for(db, sk, r);
	const grove_db_key_t *k = &sk->k;
	touched[k->stripe / 64] |= (uint64_t)1 << (k->stripe % 64);
	if (r->has_head || !durable) { /* failed: the entry goes (its meta_kept too) */
		if (sk->locked && sk->held >= SETTLE_HOLD_MAX)
			settle_key_release(db, sk);
		if (!sk->locked)
			pthread_mutex_lock(&db->stripes[k->stripe].mu);
		sk->locked = true;
		sk->held++;
		if (r->has_head)
			deferred_head_settle(db, k, r, settled, durable);
		grove_db__cache_settle(db, k, r->w.seq, durable);
		if (!durable) /* the sorted-set leaves' entries showed it too */
			grove_db__zrank_note(db, k, NULL, false);
	}
	if (r->batch.cap_bytes > DEFER_BATCH_KEEP_BYTES)
		grove_batch_close(&r->batch);
	r->next = *spare;
	*spare = r;
}

int grove_db_defer_sync(grove_db_t *db, uint64_t ticket)
{
	if (ticket == 0)
		return 0;
	int rc = grove_commit_sync_to(&db->commit, ticket);
	/* the records up to ticket, detached at once (sequence order) */
	pthread_mutex_lock(&db->defer_mu);
	grove_db_deferred_t *first = db->defer_head, *last = NULL;
	for (grove_db_deferred_t *r = first; r && r->w.seq <= ticket; r = r->next)
		last = r;
	if (last) {
		db->defer_head = last->next;
		if (!db->defer_head)
			db->defer_tail = NULL;
		last->next = NULL;
	} else {
		first = NULL;
	}
	pthread_mutex_unlock(&db->defer_mu);
	grove_db_deferred_t *spare = NULL, *spare_last = NULL;
	uint64_t touched[GROVE_DB_STRIPES / 64] = {0}, settled = last ? last->w.seq : 0;
	size_t n = 0;
	grove_tree_run_t run = { 0 }; /* a hot element's writes: one tree update */
	settle_key_t sk = { .prepared = false };
	for (grove_db_deferred_t *r = first, *nx; r; r = nx) {
		nx = r->next;
		defer_settle(db, r, settled, &spare, touched, &run, &sk);
		if (!spare_last)
			spare_last = spare;
		n++;
	}
	settle_key_release(db, &sk);
	grove_tree_run_flush(&db->tree, &run);
	/* Once per stripe, up to the last record: every write up to it was
	 * written (or failed) by the sync above, whoever queued it. */
	for (size_t i = 0; i < GROVE_DB_STRIPES; i++) {
		if (!(touched[i / 64] >> (i % 64) & 1))
			continue;
		pthread_mutex_lock(&db->stripes[i].mu);
		grove_db__pending_settle(&db->stripes[i], settled);
		pthread_mutex_unlock(&db->stripes[i].mu);
	}
	if (!spare)
		return rc;
	pthread_mutex_lock(&db->defer_mu);
	if (db->defer_nspare + n <= DEFER_SPARE_MAX) {
		spare_last->next = db->defer_spare;
		db->defer_spare = spare;
		db->defer_nspare += n;
		spare = NULL;
	}
	pthread_mutex_unlock(&db->defer_mu);
	defer_free_list(spare); /* beyond what is kept */
	return rc;
}

uint64_t grove_db_defer_durable(grove_db_t *db)
{
	return grove_commit_durable_seq(&db->commit);
}

void grove_db__defer_close(grove_db_t *db)
{
	if (!db->commit.inited)
		return;
	uint64_t last = 0;
	pthread_mutex_lock(&db->defer_mu);
	if (db->defer_tail)
		last = db->defer_tail->w.seq;
	pthread_mutex_unlock(&db->defer_mu);
	if (grove_db_defer_sync(db, last) != 0) {
		/* settled too; the failed commit leaves no clean record */
	}
	defer_free_list(db->defer_free);
	defer_free_list(db->defer_spare);
	db->defer_free = db->defer_spare = NULL;
	db->defer_nspare = 0;
}

/* ---- transactions (db.h) ---- */

int grove_db_txn_begin(grove_db_t *db)
{
	if (grove_db__defer_active(db) || grove_commit_txn_owned(&db->commit))
		return GROVE_EINVAL;
	GROVE_ASSERT(pthread_rwlock_wrlock(&db->txn_gate) == 0);
	int rc = grove_commit_txn_begin(&db->commit);
	if (rc)
		GROVE_ASSERT(pthread_rwlock_unlock(&db->txn_gate) == 0);
	return rc;
}

int grove_db_txn_commit(grove_db_t *db)
{
	GROVE_ASSERT(grove_commit_txn_owned(&db->commit));
	int rc = grove_commit_txn_commit(&db->commit);
	if (rc) /* the entries may hold what never reached the store */
		grove_db__cache_drop_all(db);
	GROVE_ASSERT(pthread_rwlock_unlock(&db->txn_gate) == 0);
	return rc;
}
