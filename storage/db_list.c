/*
 * db_list.c - lists stored per element (doc/value_format.md "Lists",
 * doc/storage_format.md).  A list element is an element record of kind
 * GROVE_ELEM_LIST named by its position id (crdt/listpos.h): the store
 * keeps a list's records in list order, so an end is one seek away
 * (O(log n)) whatever the list's length, and LLEN is the maintained count.
 *
 * A record holds the element's entries (dot, HLC ts, value), as a hash
 * field does: LSET replaces the entries it saw by a new one (concurrent
 * LSETs keep both, reads take the greatest (ts, node): LWW), a pop or
 * LREM removes the entries it saw (observed-remove: no tombstone; the
 * key's context keeps the dots), so an LSET concurrent with a pop of the
 * same element survives it.  Merge, anti-entropy, key delete and purge
 * are db_coll.c's, per element.
 *
 * Writes go through db_coll.c's write flow (coll_t: key lock, head and
 * metadata, one batch).  A writer finds its neighbours with a cursor over
 * the live records under the key lock; in BATCH mode records queued for
 * the group commit but not yet in the store (the stripe's pending list)
 * are overlaid on the store's, so the next writer of the key sees them.
 * Multi-element commands (LPUSH k a b c, pops with a count, LREM, LTRIM)
 * are a sequence of single-element writes, each atomic and durable.
 * Reads take a snapshot and walk from the nearer end; a range inside the
 * head window of an unchanged list (db_lwin.c) reads no element record.
 */
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "crdt/listpos.h"
#include "storage/db_coll_int.h"
#include "storage/db_lwin_int.h"

/* ---- a cursor over a list's live elements ---- */

typedef struct lcur {
	grove_db_t *db;
	const meta_t *m;              /* the key's metadata (bounds) */
	const grove_ctx_t *filter;    /* the pending delete, NULL when empty */
	const grove_db_stripe_t *ovl; /* pending records overlaid (writer), or NULL */
	grove_iter_t *it;
	uint8_t prefix[4 + GROVE_KEY_MAX];
	size_t plen;
	uint8_t *cur; /* the current element's record key (ELEM_REC_MAX bytes) */
	size_t cur_len;
	bool valid, it_at_cur;
	/* the current element's value (its winning live entry's), in place:
	 * in the iterator's record or a pending one, valid until the cursor
	 * moves (no copy, no allocation per element) */
	const uint8_t *val;
	size_t vlen;
	int rc;
} lcur_t;

static int lcur_open(lcur_t *lc, grove_db_t *db, const grove_snapshot_t *snap,
		     const grove_db_key_t *k, const meta_t *m, bool overlay)
{
	memset(lc, 0, sizeof(*lc));
	lc->db = db;
	lc->m = m;
	lc->filter = grove_ctx_empty(&m->pctx) ? NULL : &m->pctx;
	lc->ovl = overlay ? &db->stripes[k->stripe] : NULL;
	lc->plen = grove_db__elem_prefix(k, GROVE_ELEM_LIST, lc->prefix);
	lc->cur = grove_malloc(ELEM_REC_MAX + 1); /* + 1: a bound with a 0 byte after it */
	if (!lc->cur)
		return GROVE_ENOMEM;
	int rc = grove_iter_create_hot(db->store, snap, &lc->it);
	if (rc) {
		grove_free(lc->cur);
		lc->cur = NULL;
	}
	return rc;
}

static void lcur_close(lcur_t *lc)
{
	grove_iter_destroy(lc->it);
	grove_free(lc->cur);
	memset(lc, 0, sizeof(*lc));
}

static bool in_list(const lcur_t *lc, const uint8_t *key, size_t klen)
{
	return klen > lc->plen && memcmp(key, lc->prefix, lc->plen) == 0;
}

/* The pending record of key (overlay), or NULL. */
static const grove_db_pending_t *pend_of(const lcur_t *lc, const uint8_t *key, size_t klen)
{
	return lc->ovl ? grove_db__pending_find(lc->ovl, key, klen) : NULL;
}

/* A record's value (filtered by the pending delete), in place: 1 live,
 * 0 dead, or an error. */
static int live_view(const lcur_t *lc, const uint8_t *rec, size_t rlen, const uint8_t **val,
		     size_t *vlen)
{
	bool live;
	int rc = grove_elem_winner_view(rec, rlen, GROVE_ELEM_LIST, lc->filter, &live, val, vlen);
	if (rc)
		return GROVE_ECORRUPT;
	return live ? 1 : 0;
}

/* The live store record next after (fwd) or before the iterator's
 * position, starting at the current one: skips dead and overlaid ones;
 * *found, with its value in *val. */
static int store_settle(lcur_t *lc, bool fwd, const uint8_t **val, size_t *vlen, bool *found)
{
	*found = false;
	for (; grove_iter_valid(lc->it); fwd ? grove_iter_next(lc->it) : grove_iter_prev(lc->it)) {
		size_t kl, vl;
		const uint8_t *key = grove_iter_key(lc->it, &kl);
		if (!in_list(lc, key, kl))
			break;
		if (pend_of(lc, key, kl))
			continue;
		const uint8_t *rec = grove_iter_value(lc->it, &vl);
		int rc = live_view(lc, rec, vl, val, vlen);
		if (rc < 0)
			return rc;
		if (rc == 1) {
			*found = true;
			return 0;
		}
	}
	return grove_iter_status(lc->it) ? grove_iter_status(lc->it) : 0;
}

/* The nearest live pending record strictly after (fwd) or before from
 * (NULL: from the end opposite to the direction). */
static int pend_best(lcur_t *lc, bool fwd, const uint8_t *from, size_t from_len,
		     const grove_db_pending_t **best, const uint8_t **bval, size_t *bvlen)
{
	*best = NULL;
	if (!lc->ovl)
		return 0;
	for (size_t i = 0; i < lc->ovl->npend; i++) {
		const grove_db_pending_t *p = &lc->ovl->pend[i];
		if (!p->val || !in_list(lc, p->key, p->klen))
			continue;
		int c = from ? grove_key_cmp(p->key, p->klen, from, from_len) : 0;
		if (from && (fwd ? c <= 0 : c >= 0))
			continue;
		if (*best) {
			int b = grove_key_cmp(p->key, p->klen, (*best)->key, (*best)->klen);
			if (fwd ? b >= 0 : b <= 0)
				continue;
		}
		const uint8_t *v;
		size_t vl;
		int rc = live_view(lc, p->val, p->vlen, &v, &vl);
		if (rc < 0)
			return rc;
		if (rc == 1) {
			*bval = v;
			*bvlen = vl;
			*best = p;
		}
	}
	return 0;
}

/* Moves to the live element after (fwd) or before the current one, or to
 * the first (fwd) / last when start is set.  lc->valid tells if there is
 * one; returns 0 or an error. */
static int lcur_step(lcur_t *lc, bool fwd, bool start)
{
	lc->val = NULL;
	lc->vlen = 0;
	bool from_cur = !start && lc->valid;
	if (!start && !lc->valid)
		return 0;
	if (from_cur && lc->it_at_cur) {
		fwd ? grove_iter_next(lc->it) : grove_iter_prev(lc->it);
	} else if (fwd && !from_cur && lc->m->bound[0]) { /* past popped elements' markers */
		memcpy(lc->cur, lc->prefix, lc->plen);
		memcpy(lc->cur + lc->plen, lc->m->bound[0], lc->m->bound_len[0]);
		grove_iter_seek(lc->it, lc->cur, lc->plen + lc->m->bound_len[0]);
	} else if (fwd) {
		grove_iter_seek(lc->it, from_cur ? lc->cur : lc->prefix, from_cur ? lc->cur_len : lc->plen);
		if (from_cur && grove_iter_valid(lc->it)) {
			size_t kl;
			const uint8_t *key = grove_iter_key(lc->it, &kl);
			if (grove_key_cmp(key, kl, lc->cur, lc->cur_len) == 0)
				grove_iter_next(lc->it);
		}
	} else if (from_cur) {
		grove_iter_seek_before(lc->it, lc->cur, lc->cur_len);
	} else if (lc->m->bound[1]) { /* the last record <= the high bound */
		size_t bl = lc->plen + lc->m->bound_len[1], kl = 0;
		memcpy(lc->cur, lc->prefix, lc->plen);
		memcpy(lc->cur + lc->plen, lc->m->bound[1], lc->m->bound_len[1]);
		/* the bound is mostly a live element: a seek lands on it (a seek
		 * past it would first skip popped elements' deletion markers) */
		grove_iter_seek(lc->it, lc->cur, bl);
		const uint8_t *key = grove_iter_valid(lc->it) ? grove_iter_key(lc->it, &kl) : NULL;
		if (!key || grove_key_cmp(key, kl, lc->cur, bl) != 0) {
			lc->cur[bl] = 0;
			grove_iter_seek_before(lc->it, lc->cur, bl + 1);
		}
	} else {
		uint8_t end[4 + GROVE_KEY_MAX];
		memcpy(end, lc->prefix, lc->plen);
		end[lc->plen - 1]++; /* the next kind: past the list */
		grove_iter_seek_before(lc->it, end, lc->plen);
	}
	const uint8_t *sval = NULL, *pval = NULL;
	size_t svlen = 0, pvlen = 0;
	bool sfound = false;
	int rc = store_settle(lc, fwd, &sval, &svlen, &sfound);
	const grove_db_pending_t *p = NULL;
	if (rc == 0)
		rc = pend_best(lc, fwd, from_cur ? lc->cur : NULL, lc->cur_len, &p, &pval, &pvlen);
	if (rc) {
		lc->valid = false;
		return lc->rc = rc;
	}
	size_t kl = 0;
	const uint8_t *skey = sfound ? grove_iter_key(lc->it, &kl) : NULL;
	bool take_p = p && (!skey || (fwd ? grove_key_cmp(p->key, p->klen, skey, kl) < 0
					  : grove_key_cmp(p->key, p->klen, skey, kl) > 0));
	lc->valid = take_p || skey;
	lc->it_at_cur = !take_p && skey;
	if (take_p) {
		memcpy(lc->cur, p->key, p->klen);
		lc->cur_len = p->klen;
		lc->val = pval;
		lc->vlen = pvlen;
	} else if (skey) {
		memcpy(lc->cur, skey, kl);
		lc->cur_len = kl;
		lc->val = sval;
		lc->vlen = svlen;
	}
	return 0;
}

static const uint8_t *lcur_id(const lcur_t *lc, size_t *len)
{
	*len = lc->cur_len - lc->plen;
	return lc->cur + lc->plen;
}

/* Moves to the element at index i (0-based from the head; negative from
 * the tail) among n, walking from the nearer end: O(min(i, n - i)). */
static int lcur_index(lcur_t *lc, int64_t i, uint64_t n)
{
	if (i < 0)
		i += (int64_t)n;
	lc->valid = false;
	if (i < 0 || (uint64_t)i >= n)
		return 0;
	bool fwd = (uint64_t)i <= n / 2;
	uint64_t steps = fwd ? (uint64_t)i : n - 1 - (uint64_t)i;
	int rc = lcur_step(lc, fwd, true);
	for (uint64_t s = 0; rc == 0 && lc->valid && s < steps; s++)
		rc = lcur_step(lc, fwd, false);
	return rc;
}

/* ---- the ends of a list, remembered per stripe ----
 *
 * A push needs the list's live end element: without help an iterator, a
 * seek, a decode, and with writes pending a scan of the stripe's pending
 * records.  Each stripe remembers the ends of the last list pushed to
 * under its lock (written and read under it), with the list's live count
 * and element sum (meta_t count and acc) after that push.  The live
 * elements decide the ends, and every change to them - a write of this
 * node, a peer's element merged, a delete, an expiry, a queued write
 * undone by a failed group commit (the metadata read back is the older
 * one) - changes the count or the 128-bit sum of their items.  So an entry
 * whose count and sum equal the key's metadata holds the key's ends (short
 * of a collision of the sums); any other entry is stale and is ignored.
 * Only pushes set it; other writes leave it stale, which the next push
 * sees. */
struct grove_db_lend {
	uint8_t *key;
	size_t klen, kcap;
	uint64_t count;
	acc_t acc;
	uint8_t *id[2]; /* 0: the head's, 1: the tail's */
	size_t len[2], cap[2];
	bool known[2];
};
typedef struct grove_db_lend lend_t;

static void lend_free(grove_db_stripe_t *s)
{
	lend_t *e = s->lend;
	if (!e)
		return;
	grove_free(e->key);
	grove_free(e->id[0]);
	grove_free(e->id[1]);
	grove_free(e);
	s->lend = NULL;
}

void grove_db__list_stripe_free(grove_db_stripe_t *s)
{
	lend_free(s);
	grove_db__lwin_release(s->lwin);
	s->lwin = NULL;
}

/* The stripe's entry when it holds the ends of c's list as c sees it. */
static const lend_t *lend_find(const coll_t *c)
{
	const lend_t *e = c->db->stripes[c->k->stripe].lend;
	uint64_t n = c->m.count[GROVE_ELEM_LIST];
	if (!e || n == 0 || e->klen != c->k->klen || memcmp(e->key, c->k->key, e->klen) != 0 ||
	    e->count != n || e->acc.lo != c->m.acc.lo || e->acc.hi != c->m.acc.hi)
		return NULL;
	return e;
}

static int lend_copy(uint8_t **dst, size_t *cap, size_t *len, const uint8_t *src, size_t n)
{
	int rc = grove_grow((void **)dst, cap, n ? n : 1, 1, 0, 0);
	if (rc)
		return rc;
	if (n)
		memcpy(*dst, src, n);
	*len = n;
	return 0;
}

/* After a push committed (c->m: the metadata after it): the new end at
 * side is id; the other end is id too when the list was empty, is kept
 * when keep_other (the entry held this list's before the push), else
 * unknown.  Nothing is remembered when memory is short. */
static void lend_pushed(coll_t *c, int side, const uint8_t *id, size_t len, bool was_empty,
			bool keep_other)
{
	grove_db_stripe_t *s = &c->db->stripes[c->k->stripe];
	if (!s->lend && !(s->lend = grove_calloc(1, sizeof(*s->lend))))
		return;
	lend_t *e = s->lend;
	e->known[side] = false;
	if (!keep_other || was_empty)
		e->known[!side] = false;
	if (!keep_other && lend_copy(&e->key, &e->kcap, &e->klen, c->k->key, c->k->klen) != 0)
		return;
	if (lend_copy(&e->id[side], &e->cap[side], &e->len[side], id, len) != 0)
		return;
	e->known[side] = true;
	if (was_empty)
		e->known[!side] = lend_copy(&e->id[!side], &e->cap[!side], &e->len[!side], id, len) == 0;
	e->count = c->m.count[GROVE_ELEM_LIST];
	e->acc = c->m.acc;
}

/* ---- writes ---- */

enum { LOP_PUSH, LOP_POP, LOP_SET, LOP_INSERT, LOP_REM };

typedef struct lop {
	int what;
	bool left;          /* push/pop: the head end; insert: before the pivot */
	bool only_existing; /* LPUSHX / RPUSHX */
	const void *val;
	size_t vlen;
	const void *pivot; /* insert; rem: the value matched */
	size_t plen;
	int64_t index;     /* set */
	const uint8_t *after; /* rem: walk from after this id (NULL: from the end) */
	size_t after_len;
	ename_t *en; /* the element written (the stripe's, during list_write) */
	uint8_t *rem_id; /* rem: GROVE_LISTPOS_MAX bytes for the removed id, or NULL */
	size_t rem_id_len;
	bool wrote_elem, head_changed;
	bool was_empty, keep_other; /* push: for lend_pushed */
	int64_t out_len; /* push/insert: length after (insert: -1 pivot not found) */
	uint8_t *out_val; /* pop: the value (malloc'd) */
	size_t out_vlen;
	bool found;
} lop_t;

/* Whether the cursor's element holds value v. */
static bool value_is(const lcur_t *lc, const void *v, size_t vlen)
{
	return lc->vlen == vlen && (vlen == 0 || memcmp(lc->val, v, vlen) == 0);
}

/* Writes element en as one fresh entry (a new dot) holding o->val,
 * replacing the entries it had (LSET) or none (fresh: a new id, which no
 * record can hold: its last triple is a dot never drawn before). */
static int put_entry(coll_t *c, lop_t *o, const ename_t *en, bool fresh)
{
	grove_elem_t l = { 0 }, x = { 0 };
	bool had = false;
	uint8_t raw_item[GROVE_DIGEST_BYTES], old_item[GROVE_DIGEST_BYTES];
	int rc = fresh ? 0 : grove_db__elem_load(c, NULL, en, &l, &had, raw_item);
	if (rc)
		return rc;
	if (l.len)
		rc = grove_db__elem_item_of(en, &l, old_item);
	uint64_t ts = 0;
	grove_value__dot_t d;
	if (rc == 0)
		rc = grove_db__elem_new_dot(c, grove_elem_max_ts(&l), &ts, &d);
	if (rc == 0)
		rc = grove_elem_set_one(&x, &d, ts, o->val, o->vlen);
	if (rc == 0)
		rc = grove_db__elem_store(c, en, had, raw_item, l.len ? old_item : NULL, &x);
	grove_elem_free(&l);
	grove_elem_free(&x);
	o->head_changed = true;
	o->wrote_elem = rc == 0;
	return rc;
}

/* Removes the element the cursor stands on (its observed entries). */
static int drop_current(coll_t *c, lop_t *o, const lcur_t *lc)
{
	size_t idlen;
	const uint8_t *id = lcur_id(lc, &idlen);
	grove_db__ename_init(o->en, c->k, GROVE_ELEM_LIST, id, idlen);
	grove_elem_t l, x = { 0 };
	bool had;
	uint8_t raw_item[GROVE_DIGEST_BYTES], old_item[GROVE_DIGEST_BYTES];
	int rc = grove_db__elem_load(c, NULL, o->en, &l, &had, raw_item);
	if (rc == 0 && l.len)
		rc = grove_db__elem_item_of(o->en, &l, old_item);
	if (rc == 0 && l.len)
		rc = grove_db__elem_store(c, o->en, had, raw_item, old_item, &x);
	grove_elem_free(&l);
	o->wrote_elem = rc == 0;
	return rc;
}

/* A new element with an id between lo and hi (NULL: open), holding o->val. */
static int insert_between(coll_t *c, lop_t *o, const uint8_t *lo, size_t lo_len,
			  const uint8_t *hi, size_t hi_len, int hint)
{
	grove_value__dot_t d;
	int rc = grove_db__cloud_next_dot(&c->cl, grove_db__coll_ctx(c), c->db->node_id, &d);
	uint8_t id[GROVE_LISTPOS_MAX];
	size_t idlen = 0;
	if (rc == 0)
		rc = grove_listpos_between(lo, lo_len, hi, hi_len, c->db->node_id, d.counter, hint, id,
					   &idlen);
	if (rc == 0) {
		grove_db__ename_init(o->en, c->k, GROVE_ELEM_LIST, id, idlen);
		rc = put_entry(c, o, o->en, true); /* draws the same dot d */
	}
	if (rc == 0)
		o->out_len = (int64_t)c->m.count[GROVE_ELEM_LIST];
	return rc;
}

static int apply_push(coll_t *c, lop_t *o, grove_type_t vis)
{
	if (vis == GROVE_TYPE_NONE && o->only_existing)
		return 0;
	int rc = 0;
	if (vis == GROVE_TYPE_NONE) { /* creating write: hidden state goes */
		rc = grove_db__coll_delete_elements(c);
		if (rc == 0)
			rc = grove_value_create_as(c->st.v, GROVE_TYPE_LIST, c->db->node_id);
	}
	int side = o->left ? 0 : 1;
	const lend_t *e = rc == 0 && vis == GROVE_TYPE_LIST ? lend_find(c) : NULL;
	lcur_t lc = { 0 };
	size_t elen = 0;
	const uint8_t *end = NULL;
	if (e && e->known[side]) { /* the end remembered: no seek */
		end = e->id[side];
		elen = e->len[side];
	} else {
		if (rc == 0)
			rc = lcur_open(&lc, c->db, NULL, c->k, &c->m, true);
		if (rc)
			return rc;
		rc = lcur_step(&lc, o->left, true);
		end = rc == 0 && lc.valid ? lcur_id(&lc, &elen) : NULL;
	}
	o->was_empty = end == NULL;
	o->keep_other = e && e->known[!side];
	if (rc == 0 && o->left)
		rc = insert_between(c, o, NULL, 0, end, elen, GROVE_LISTPOS_NEAR_HI);
	else if (rc == 0)
		rc = insert_between(c, o, end, elen, NULL, 0, GROVE_LISTPOS_NEAR_LO);
	if (lc.it)
		lcur_close(&lc);
	return rc;
}

static int copy_value(lop_t *o, const lcur_t *lc)
{
	GROVE_ASSERT(lc->valid);
	o->out_val = grove_malloc(lc->vlen ? lc->vlen : 1);
	if (!o->out_val)
		return GROVE_ENOMEM;
	if (lc->vlen)
		memcpy(o->out_val, lc->val, lc->vlen);
	o->out_vlen = lc->vlen;
	return 0;
}

static int apply_pop(coll_t *c, lop_t *o, grove_type_t vis)
{
	if (vis == GROVE_TYPE_NONE)
		return 0;
	lcur_t lc;
	int rc = lcur_open(&lc, c->db, NULL, c->k, &c->m, true);
	if (rc == 0)
		rc = lcur_step(&lc, o->left, true);
	if (rc == 0 && lc.valid) {
		rc = copy_value(o, &lc);
		if (rc == 0)
			rc = drop_current(c, o, &lc);
		o->found = rc == 0;
		/* nothing live is beyond the popped element: its neighbour (or
		 * itself) bounds the list now */
		if (rc == 0) /* towards the list's other end */
			rc = lcur_step(&lc, o->left, false);
		size_t idlen = o->en->elen;
		const uint8_t *id = o->en->elem;
		if (rc == 0 && lc.valid)
			id = lcur_id(&lc, &idlen);
		if (rc == 0)
			rc = grove_db__meta_bound_set(&c->m, o->left ? 0 : 1, id, idlen);
	}
	lcur_close(&lc);
	return rc;
}

static int apply_set(coll_t *c, lop_t *o, grove_type_t vis)
{
	if (vis == GROVE_TYPE_NONE)
		return GROVE_ENOTFOUND;
	lcur_t lc;
	int rc = lcur_open(&lc, c->db, NULL, c->k, &c->m, true);
	if (rc == 0)
		rc = lcur_index(&lc, o->index, c->m.count[GROVE_ELEM_LIST]);
	if (rc == 0 && !lc.valid)
		rc = GROVE_ERANGE;
	if (rc == 0) {
		size_t idlen;
		const uint8_t *id = lcur_id(&lc, &idlen);
		grove_db__ename_init(o->en, c->k, GROVE_ELEM_LIST, id, idlen);
		rc = put_entry(c, o, o->en, false);
	}
	lcur_close(&lc);
	return rc;
}

static int apply_insert(coll_t *c, lop_t *o, grove_type_t vis)
{
	o->out_len = 0;
	if (vis == GROVE_TYPE_NONE)
		return 0;
	lcur_t lc;
	int rc = lcur_open(&lc, c->db, NULL, c->k, &c->m, true);
	if (rc == 0)
		rc = lcur_step(&lc, true, true);
	while (rc == 0 && lc.valid && !value_is(&lc, o->pivot, o->plen))
		rc = lcur_step(&lc, true, false);
	if (rc == 0 && !lc.valid)
		o->out_len = -1;
	if (rc || !lc.valid) {
		lcur_close(&lc);
		return rc;
	}
	uint8_t *pid = grove_malloc(GROVE_LISTPOS_MAX);
	size_t plen = 0;
	if (!pid)
		rc = GROVE_ENOMEM;
	if (rc == 0) {
		const uint8_t *id = lcur_id(&lc, &plen);
		memcpy(pid, id, plen);
		rc = lcur_step(&lc, !o->left, false); /* the neighbour on the insert's side */
	}
	size_t nlen = 0;
	const uint8_t *nid = rc == 0 && lc.valid ? lcur_id(&lc, &nlen) : NULL;
	if (rc == 0 && o->left)
		rc = insert_between(c, o, nid, nlen, pid, plen, GROVE_LISTPOS_NEAR_LO);
	else if (rc == 0)
		rc = insert_between(c, o, pid, plen, nid, nlen, GROVE_LISTPOS_NEAR_HI);
	grove_free(pid);
	lcur_close(&lc);
	return rc;
}

/* LREM step: removes the first element equal to o->pivot after (o->left:
 * towards the tail) o->after; o->found, and the removed id in o->en. */
static int apply_rem(coll_t *c, lop_t *o, grove_type_t vis)
{
	if (vis == GROVE_TYPE_NONE)
		return 0;
	lcur_t lc;
	int rc = lcur_open(&lc, c->db, NULL, c->k, &c->m, true);
	if (rc)
		return rc;
	if (o->after) {
		memcpy(lc.cur, lc.prefix, lc.plen);
		memcpy(lc.cur + lc.plen, o->after, o->after_len);
		lc.cur_len = lc.plen + o->after_len;
		lc.valid = true;
		rc = lcur_step(&lc, o->left, false);
	} else {
		rc = lcur_step(&lc, o->left, true);
	}
	while (rc == 0 && lc.valid && !value_is(&lc, o->pivot, o->plen))
		rc = lcur_step(&lc, o->left, false);
	if (rc == 0 && lc.valid) {
		rc = drop_current(c, o, &lc);
		o->found = rc == 0;
	}
	lcur_close(&lc);
	return rc;
}

static int list_apply(coll_t *c, lop_t *o)
{
	grove_type_t vis = grove_db__type_of(c->st.v, &c->m);
	if (vis != GROVE_TYPE_LIST && vis != GROVE_TYPE_NONE)
		return GROVE_EWRONGTYPE;
	switch (o->what) {
	case LOP_PUSH:
		return apply_push(c, o, vis);
	case LOP_POP:
		return apply_pop(c, o, vis);
	case LOP_SET:
		return apply_set(c, o, vis);
	case LOP_INSERT:
		return apply_insert(c, o, vis);
	default:
		return apply_rem(c, o, vis);
	}
}

static int list_write(grove_db_t *db, const void *key, size_t klen, lop_t *o)
{
	grove_db_key_t k;
	int rc = grove_db__key_prepare(&k, key, klen);
	if (rc == 0 && (o->vlen > GROVE_FIELD_VALUE_MAX || o->plen > GROVE_FIELD_VALUE_MAX))
		rc = GROVE_ETOOBIG;
	if (rc == 0 && ((!o->val && o->vlen) || (!o->pivot && o->plen)))
		rc = GROVE_EINVAL;
	if (rc)
		return rc;
	grove_db_stripe_t *s = &db->stripes[k.stripe];
	coll_t c;
	bool wrote = false, expired = false;
	o->en = grove_db__ename_take(db);
	if (!o->en)
		return GROVE_ENOMEM;
	pthread_mutex_lock(&s->mu);
	rc = grove_db__coll_load(&c, db, &k);
	if (rc == 0)
		rc = grove_db__expire_due(&c, &expired);
	if (rc == 0)
		rc = list_apply(&c, o);
	if (rc == 0)
		rc = grove_db__coll_commit(&c, &wrote);
	if (rc == 0 && o->what == LOP_PUSH && o->wrote_elem)
		lend_pushed(&c, o->left ? 0 : 1, o->en->elem, o->en->elen, o->was_empty,
			    o->keep_other);
	pthread_mutex_unlock(&s->mu);
	bool purge = c.purge && rc == 0;
	grove_db__coll_free(&c);
	if (rc == 0 && expired)
		atomic_fetch_add(&db->expired_keys, 1);
	if (wrote) {
		atomic_fetch_add(&db->writes, 1);
		bool elem = o->wrote_elem, head = o->head_changed || expired;
		grove_db__call_hooks(db, elem ? o->en->name : NULL, elem ? o->en->nlen : 0,
				     head ? k.drec + 3 : NULL, 1 + klen);
	}
	if (rc == 0 && purge)
		rc = grove_db__purge_request(db, key, klen);
	if (rc) {
		grove_free(o->out_val);
		o->out_val = NULL;
	}
	if (o->rem_id && o->found) { /* LREM: the removed id, for the next step */
		memcpy(o->rem_id, o->en->elem, o->en->elen);
		o->rem_id_len = o->en->elen;
	}
	grove_db__ename_give(db, o->en);
	o->en = NULL;
	return rc;
}

int grove_db_list_push(grove_db_t *db, const void *key, size_t klen, bool left,
		       bool only_existing, const void *val, size_t vlen, uint64_t *len)
{
	lop_t o = { .what = LOP_PUSH, .left = left, .only_existing = only_existing, .val = val,
		    .vlen = vlen };
	int rc = list_write(db, key, klen, &o);
	if (rc == 0 && len)
		*len = (uint64_t)o.out_len;
	return rc;
}

int grove_db_list_pop(grove_db_t *db, const void *key, size_t klen, bool left, uint8_t **val,
		      size_t *vlen)
{
	lop_t o = { .what = LOP_POP, .left = left };
	int rc = list_write(db, key, klen, &o);
	if (rc == 0 && !o.found)
		return GROVE_ENOTFOUND;
	if (rc == 0) {
		*val = o.out_val;
		*vlen = o.out_vlen;
	}
	return rc;
}

int grove_db_list_set(grove_db_t *db, const void *key, size_t klen, int64_t index,
		      const void *val, size_t vlen)
{
	lop_t o = { .what = LOP_SET, .index = index, .val = val, .vlen = vlen };
	int rc = list_write(db, key, klen, &o);
	return rc;
}

int grove_db_list_insert(grove_db_t *db, const void *key, size_t klen, bool before,
			 const void *pivot, size_t plen, const void *val, size_t vlen,
			 int64_t *len)
{
	lop_t o = { .what = LOP_INSERT, .left = before, .pivot = pivot, .plen = plen, .val = val,
		    .vlen = vlen };
	int rc = list_write(db, key, klen, &o);
	if (rc == 0 && len)
		*len = o.out_len;
	return rc;
}

int grove_db_list_rem(grove_db_t *db, const void *key, size_t klen, int64_t count,
		      const void *val, size_t vlen, uint64_t *removed)
{
	uint8_t *after = grove_malloc(GROVE_LISTPOS_MAX);
	size_t after_len = 0;
	bool walked = false; /* after holds the last removed id */
	uint64_t n = 0, max = count == 0 ? UINT64_MAX
			 : count < 0 ? (uint64_t)(-(count + 1)) + 1
				     : (uint64_t)count;
	int rc = after ? 0 : GROVE_ENOMEM;
	while (rc == 0 && n < max) {
		lop_t o = { .what = LOP_REM, .left = count >= 0, .pivot = val, .plen = vlen,
			    .after = walked ? after : NULL, .after_len = after_len,
			    .rem_id = after };
		rc = list_write(db, key, klen, &o);
		if (rc == 0 && !o.found)
			break;
		if (rc == 0) {
			n++;
			walked = true;
			after_len = o.rem_id_len;
		}
	}
	grove_free(after);
	if (removed)
		*removed = n;
	return rc;
}

/* ---- reads ---- */

/* Snapshot, type check and count; 1 when the key reads as empty. */
static int read_begin(grove_db_t *db, const void *key, size_t klen, grove_db_key_t *k,
		      grove_snapshot_t **snap, meta_t *m)
{
	int rc = grove_db__key_prepare(k, key, klen);
	if (rc)
		return rc;
	rc = grove_db__coll_read_begin(db, k, GROVE_TYPE_LIST, snap, m);
	return rc;
}

/* Normalizes a Redis range [start, stop] over n elements; false if empty. */
static bool range_norm(int64_t *start, int64_t *stop, uint64_t n)
{
	int64_t len = n > INT64_MAX ? INT64_MAX : (int64_t)n;
	if (*start < 0)
		*start = *start < -len ? 0 : *start + len;
	if (*stop < 0)
		*stop += len;
	if (*stop >= len)
		*stop = len - 1;
	return *start <= *stop && *start < len && *stop >= 0;
}

/* Hands the cursor's element to fn: its id and value in place. */
static int emit(lcur_t *lc, grove_db_elem_fn fn, void *ctx)
{
	size_t idlen;
	const uint8_t *id = lcur_id(lc, &idlen);
	return fn(ctx, id, idlen, lc->val, lc->vlen);
}

int grove_db_list_range(grove_db_t *db, const void *key, size_t klen, int64_t start,
			int64_t stop, grove_db_elem_fn fn, void *ctx)
{
	grove_db_key_t k;
	grove_snapshot_t *snap;
	meta_t m;
	if (!fn)
		return GROVE_EINVAL;
	int rc = read_begin(db, key, klen, &k, &snap, &m);
	if (rc == 1)
		return 0;
	if (rc)
		return rc;
	uint64_t n = m.count[GROVE_ELEM_LIST];
	bool some = range_norm(&start, &stop, n);
	lwin_t *w = some ? grove_db__lwin_get(db, &k, &m) : NULL;
	if (w && (uint64_t)stop < grove_db__lwin_len(w)) { /* the head window holds the range */
		grove_db__meta_free(&m);
		grove_snapshot_release(db->store, snap);
		atomic_fetch_add(&db->list_window_hits, 1);
		grove_db__lwin_emit(w, start, stop, fn, ctx);
		grove_db__lwin_release(w);
		return 0;
	}
	grove_db__lwin_release(w);
	/* a walk from the head fills a new window */
	w = some && start == 0 ? grove_db__lwin_new(&k, &m) : NULL;
	lcur_t lc;
	rc = lcur_open(&lc, db, snap, &k, &m, false);
	if (rc == 0 && some) {
		/* start from the nearer end, then forward: each value handed
		 * over in place (a range near the tail walks it twice) */
		rc = lcur_index(&lc, start, n);
		for (int64_t i = start; rc == 0 && lc.valid && i <= stop; i++) {
			if (w)
				grove_db__lwin_take(w, lc.cur + lc.plen, lc.cur_len - lc.plen, lc.val,
						    lc.vlen);
			if (emit(&lc, fn, ctx) != 0)
				break;
			if (i < stop)
				rc = lcur_step(&lc, true, false);
		}
	}
	lcur_close(&lc);
	grove_db__meta_free(&m);
	grove_snapshot_release(db->store, snap);
	if (w && rc == 0)
		grove_db__lwin_publish(db, &k, w);
	else
		grove_db__lwin_release(w);
	return rc;
}

int grove_db_list_walk(grove_db_t *db, const void *key, size_t klen, bool reverse,
		       grove_db_elem_fn fn, void *ctx)
{
	grove_db_key_t k;
	grove_snapshot_t *snap;
	meta_t m;
	if (!fn)
		return GROVE_EINVAL;
	int rc = read_begin(db, key, klen, &k, &snap, &m);
	if (rc == 1)
		return 0;
	if (rc)
		return rc;
	lcur_t lc;
	rc = lcur_open(&lc, db, snap, &k, &m, false);
	if (rc == 0)
		rc = lcur_step(&lc, !reverse, true);
	while (rc == 0 && lc.valid && emit(&lc, fn, ctx) == 0)
		rc = lcur_step(&lc, !reverse, false);
	lcur_close(&lc);
	grove_db__meta_free(&m);
	grove_snapshot_release(db->store, snap);
	return rc;
}

int grove_db_list_trim(grove_db_t *db, const void *key, size_t klen, int64_t start, int64_t stop)
{
	uint64_t n;
	int rc = grove_db_coll_count(db, key, klen, GROVE_TYPE_LIST, &n);
	if (rc || n == 0)
		return rc;
	if (!range_norm(&start, &stop, n)) {
		bool existed;
		return grove_db_delete(db, key, klen, &existed);
	}
	uint64_t left = (uint64_t)start, right = n - 1 - (uint64_t)stop;
	for (uint64_t i = 0; rc == 0 && i < left + right; i++) {
		uint8_t *v = NULL;
		size_t vl = 0;
		rc = grove_db_list_pop(db, key, klen, i < left, &v, &vl);
		grove_free(v);
		if (rc == GROVE_ENOTFOUND)
			return 0;
	}
	return rc;
}
