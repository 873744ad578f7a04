/*
 * db_zset.c - sorted sets: the score index and the reads and writes of
 * db.h's grove_db_zset_* (doc/value_format.md "Sorted sets",
 * doc/storage_format.md records 'e' kind 3 and 'z').
 *
 * A member is an element record of kind GROVE_ELEM_ZMEMBER written by
 * db_coll.c's write flow (grove_db__zset_write); the rule deciding the
 * write (NX, XX, GT, LT, INCR) is here.  Beside each member record, in the
 * same batch, a local index record 'z' klen K score(8, order-preserving)
 * member holds the score of the record as stored, so LevelDB's key order
 * is (score, member) order.  While the key has a pending delete (its
 * records not yet purged), a walk checks each index entry against the
 * member record filtered by the delete.
 *
 * Costs: a write is the member record's cost plus one index delete and
 * put and the counted index's changes (db_zrank.c: 2 count records for an
 * added or removed member); ZSCORE a point read; ranges by score
 * O(log n + k), by lex O(log n + k) when every score is equal (as
 * ZRANGEBYLEX expects; else from the bound at the first score); by rank
 * O(offset + k); ZRANK and ZREVRANK from the counts
 * (point reads and a walk of the member's leaf), or O(rank) walks where
 * the key has none (under 128 members, a pending delete); reverse forms
 * (REV, ZREVRANGE, ZPOPMAX) walk the index backwards from the top.
 */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "crdt/zscore.h"
#include "storage/db_int.h"

/* ---- index keys ---- */

static size_t zprefix(const grove_db_key_t *k, uint8_t *out)
{
	out[0] = GROVE_DB_PFX_ZINDEX;
	out[1] = (uint8_t)(k->klen >> 8);
	out[2] = (uint8_t)k->klen;
	memcpy(out + 3, k->key, k->klen);
	return 3 + k->klen;
}

size_t grove_db__zindex_key(const grove_db_key_t *k, double score, const void *member, size_t mlen,
			    uint8_t *out)
{
	size_t n = zprefix(k, out);
	grove_zscore_key(score, out + n);
	if (mlen)
		memcpy(out + n + 8, member, mlen);
	return n + 8 + mlen;
}

int grove_db__zindex_move(grove_db_t *db, grove_batch_t *b, const grove_db_key_t *k,
			  int64_t zcount, const void *member, size_t mlen, bool had, double old,
			  bool has, double now)
{
	uint8_t ko[8], kn[8];
	grove_zscore_key(old, ko);
	grove_zscore_key(now, kn);
	if (had && has && memcmp(ko, kn, 8) == 0)
		return 0;
	/* the counts first: a build or pass it may write reads the store
	 * without this move */
	int rc = grove_db__zrank_move(db, b, k, zcount, member, mlen, had, old, has, now);
	if (rc)
		return rc;
	uint8_t key[GROVE_DB_ZINDEX_KEY_MAX];
	if (had)
		rc = grove_batch_delete(b, key, grove_db__zindex_key(k, old, member, mlen, key));
	if (rc == 0 && has)
		rc = grove_batch_put(b, key, grove_db__zindex_key(k, now, member, mlen, key), NULL, 0);
	return rc;
}

/* ---- writes ---- */

typedef struct zadd_ctx {
	double score;
	unsigned flags;
	int result;
	bool nan;
} zadd_ctx_t;

static int zadd_decide(void *vctx, const grove_elem_t *cur, grove_db__zop_t *op)
{
	zadd_ctx_t *z = vctx;
	double old = 0;
	bool exists = grove_zscore_eval(cur, &old) == 0;
	op->action = GROVE_DB_ZOP_NONE;
	z->result = 0;
	if ((z->flags & GROVE_ZADD_NX) && exists)
		return 0;
	if ((z->flags & GROVE_ZADD_XX) && !exists)
		return 0;
	double now = z->flags & GROVE_ZADD_INCR ? old + z->score : z->score;
	if (isnan(now)) {
		z->nan = true;
		return GROVE_ERANGE;
	}
	if (exists && (z->flags & GROVE_ZADD_GT) && !(now > old))
		return 0;
	if (exists && (z->flags & GROVE_ZADD_LT) && !(now < old))
		return 0;
	if (exists && now == old && !(z->flags & GROVE_ZADD_INCR))
		return 0; /* same score: nothing to write (Redis: not changed) */
	if (z->flags & GROVE_ZADD_INCR) { /* an increment, also of a new member: counts add up */
		op->action = GROVE_DB_ZOP_INCR;
		op->value = z->score;
	} else {
		op->action = GROVE_DB_ZOP_SET;
		op->value = now;
	}
	z->result = exists ? (now != old ? 2 : 3) : 1; /* 3: an INCR of 0 (Redis: processed) */
	return 0;
}

int grove_db_zset_add(grove_db_t *db, const void *key, size_t klen, const void *member,
		      size_t mlen, double score, unsigned flags, int *result, double *out)
{
	if (isnan(score) || ((flags & GROVE_ZADD_NX) && (flags & (GROVE_ZADD_XX | GROVE_ZADD_GT |
								   GROVE_ZADD_LT))) ||
	    ((flags & GROVE_ZADD_GT) && (flags & GROVE_ZADD_LT)))
		return GROVE_EINVAL;
	zadd_ctx_t z = { .score = score, .flags = flags };
	bool changed = false;
	double s = 0;
	int rc = grove_db__zset_write(db, key, klen, member, mlen, zadd_decide, &z, &changed, &s);
	if (rc)
		return rc;
	if (result)
		*result = changed ? z.result : 0;
	if (out) {
		*out = s;
		if (!changed && (flags & GROVE_ZADD_INCR) == 0)
			*out = score;
	}
	return 0;
}

static int zrem_decide(void *vctx, const grove_elem_t *cur, grove_db__zop_t *op)
{
	(void)vctx;
	op->action = cur->len ? GROVE_DB_ZOP_REM : GROVE_DB_ZOP_NONE;
	return 0;
}

int grove_db_zset_remove(grove_db_t *db, const void *key, size_t klen, const void *member,
			 size_t mlen, bool *removed)
{
	bool changed = false;
	int rc = grove_db__zset_write(db, key, klen, member, mlen, zrem_decide, NULL, &changed, NULL);
	if (rc == 0 && removed)
		*removed = changed;
	return rc;
}

/* ---- reads ---- */

int grove_db_zset_score(grove_db_t *db, const void *key, size_t klen, const void *member,
			size_t mlen, double *score)
{
	grove_elem_t x;
	int rc = grove_db__zset_member(db, key, klen, member, mlen, &x);
	if (rc < 0)
		return rc;
	rc = rc == 1 ? GROVE_ENOTFOUND : grove_zscore_eval(&x, score);
	grove_elem_free(&x);
	return rc;
}

/* One walk of the index in (score, member) order. */
typedef int (*zvisit_fn)(void *ctx, const uint8_t *member, size_t mlen, double score);

typedef struct zwalk {
	grove_db_t *db;
	grove_snapshot_t *snap;
	grove_ctx_t pctx;
	uint64_t count;
	uint64_t seq;  /* the store's write sequence the snapshot is (even), or odd */
	uint64_t zgen; /* the counted index's generation before the snapshot */
	bool zquiet;   /* ... read with nothing of the stripe queued */
	bool checked;  /* a pending delete: entries are checked against their records */
	uint32_t first; /* entries the walk's first chunk from memory copies (0: a whole chunk) */
	grove_db_key_t k; /* last: zwalk_begin clears what is before it */
} zwalk_t;

static int zwalk_begin(zwalk_t *w, grove_db_t *db, const void *key, size_t klen)
{
	/* not k: its 8 KiB of record names (key_prepare fills what it uses)
	 * cleared for every read cost more than the rest of a ZRANK's setup */
	memset(w, 0, offsetof(zwalk_t, k));
	w->db = db;
	int rc = grove_db__key_prepare(&w->k, key, klen);
	if (rc)
		return rc;
	w->zgen = grove_db__zrank_gen(db, &w->k, &w->zquiet);
	rc = grove_db__zset_read_begin(db, &w->k, &w->snap, &w->count, &w->pctx, &w->seq);
	w->checked = rc == 0 && (w->pctx.vv.len || w->pctx.cloud.len);
	return rc;
}

static void zwalk_end(zwalk_t *w)
{
	if (w->snap)
		grove_snapshot_release(w->db->store, w->snap);
	grove_ctx_free(&w->pctx);
	w->snap = NULL;
}

#define ZWALK_CACHED_CHUNK 64 /* entries copied from the cached leaves at once */

/* The walk's first entries from the counted index's cached leaves (when
 * they hold them for w's snapshot: no iterator, no deletion markers
 * stepped over), fed to fn; on return *stop when fn stopped or the key
 * has no more, else lo holds the prefix and the suffix the store walk
 * starts from (*flen its length), after the last entry fed. */
static int zwalk_cached(zwalk_t *w, bool rev, uint8_t *lo, size_t plen, size_t *flen,
			zvisit_fn fn, void *ctx, bool *stop)
{
	size_t lens[ZWALK_CACHED_CHUNK];
	grove_buf_t b;
	grove_buf_init(&b, 0);
	int rc = 0;
	/* a first chunk of what the caller expects to take (LIMIT 0 10: 10
	 * entries, not 64 copied), then whole ones */
	uint32_t max = w->first && w->first < ZWALK_CACHED_CHUNK ? w->first : ZWALK_CACHED_CHUNK;
	*stop = false;
	while (rc == 0 && !*stop && !w->checked) {
		uint32_t n = 0;
		bool end = false;
		grove_buf_reset(&b);
		rc = grove_db__zrank_entries(w->db, &w->k, w->zgen, w->zquiet, rev, lo + plen, *flen,
					     max, &b, lens, &n, &end);
		max = ZWALK_CACHED_CHUNK;
		size_t at = 0;
		for (uint32_t i = 0; rc == 0 && !*stop && i < n; at += lens[i++]) {
			const uint8_t *e = b.data + at;
			int r = fn(ctx, e + 8, lens[i] - 8, grove_zscore_from_key(e));
			*stop = r != 0;
			rc = r < 0 ? r : 0;
		}
		if (rc || *stop || end || n == 0) {
			*stop = *stop || end;
			break;
		}
		/* the next chunk (or the store walk) from past the last entry */
		at -= lens[n - 1];
		memcpy(lo + plen, b.data + at, lens[n - 1]);
		*flen = lens[n - 1];
		if (!rev)
			lo[plen + (*flen)++] = 0; /* the least suffix above it */
	}
	grove_buf_close(&b);
	return rc;
}

/* Forward from the first entry >= prefix + from (flen bytes), or backwards
 * from the last entry < prefix + from: fn returns 0 to go on, 1 to stop,
 * < 0 an error.  The first entries come from the cached leaves when they
 * hold them (zwalk_cached). */
static int zwalk_run(zwalk_t *w, bool rev, const uint8_t *from, size_t flen, zvisit_fn fn, void *ctx)
{
	uint8_t lo[GROVE_DB_ZINDEX_KEY_MAX + 1];
	size_t plen = zprefix(&w->k, lo);
	if (flen)
		memcpy(lo + plen, from, flen);
	bool stop = false;
	int rc = zwalk_cached(w, rev, lo, plen, &flen, fn, ctx, &stop);
	if (rc || stop)
		return rc;
	grove_iter_t *it = NULL;
	rc = grove_iter_create(w->db->store, w->snap, &it);
	if (rc == 0 && rev)
		grove_iter_seek_before(it, lo, plen + flen);
	else if (rc == 0)
		grove_iter_seek(it, lo, plen + flen);
	while (rc == 0 && grove_iter_valid(it)) {
		size_t kl;
		const uint8_t *kp = grove_iter_key(it, &kl);
		if (kl < plen + 8 || memcmp(kp, lo, plen) != 0)
			break;
		double s = grove_zscore_from_key(kp + plen);
		const uint8_t *m = kp + plen + 8;
		size_t ml = kl - plen - 8;
		int r = 0;
		if (w->checked) {
			grove_elem_t x;
			rc = grove_db__zset_member_in(w->db, w->snap, w->seq, &w->k, &w->pctx, m, ml, &x);
			double fs = 0;
			bool live = rc == 0 && grove_zscore_eval(&x, &fs) == 0;
			grove_elem_free(&x);
			if (rc)
				break;
			if (live) /* a record cut by the delete reads with its filtered score */
				r = fn(ctx, m, ml, fs);
		} else {
			r = fn(ctx, m, ml, s);
		}
		if (r) {
			rc = r < 0 ? r : 0;
			break;
		}
		if (rev)
			grove_iter_prev(it);
		else
			grove_iter_next(it);
	}
	if (rc == 0 && it)
		rc = grove_iter_status(it);
	grove_iter_destroy(it);
	return rc;
}

/* Where a walk starts, after the key prefix: from the lowest score (0 bytes),
 * at score s (8), past every entry of score s (8: s's key plus one), past
 * every entry (FF FF: above +inf's key, no score key is a NaN). */
static size_t start_at(double s, bool past, uint8_t out[8])
{
	grove_zscore_key(s, out);
	if (past)
		for (int i = 7; i >= 0 && ++out[i] == 0; i--)
			;
	return 8;
}

static const uint8_t k_end[2] = { 0xff, 0xff };

/* Range state: bounds, the position, and the output (direct, or collected
 * for a reverse walk). */
typedef struct zr {
	const grove_zrange_t *r;
	uint64_t pos, skip, take; /* entries in range seen; to skip; to take (UINT64_MAX: all) */
	uint64_t taken;
	grove_db_zmember_fn fn;
	void *ctx;
} zr_t;

static bool score_ge_min(const grove_zrange_t *r, double s)
{
	return r->min_excl ? s > r->min : s >= r->min;
}

static bool score_le_max(const grove_zrange_t *r, double s)
{
	return r->max_excl ? s < r->max : s <= r->max;
}

static int lex_cmp(const void *a, size_t al, const void *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	return c ? c : (al > bl) - (al < bl);
}

static bool lex_ge_min(const grove_zrange_t *r, const uint8_t *m, size_t ml)
{
	if (r->lmin_inf)
		return r->lmin_inf < 0;
	int c = lex_cmp(m, ml, r->lmin, r->lmin_len);
	return r->min_excl ? c > 0 : c >= 0;
}

static bool lex_le_max(const grove_zrange_t *r, const uint8_t *m, size_t ml)
{
	if (r->lmax_inf)
		return r->lmax_inf > 0;
	int c = lex_cmp(m, ml, r->lmax, r->lmax_len);
	return r->max_excl ? c < 0 : c <= 0;
}

/* In range: 0; before it (in the walk's direction): -1; past it: 1. */
static int in_range(const grove_zrange_t *r, const uint8_t *m, size_t ml, double s)
{
	bool ge, le;
	switch (r->by) {
	case GROVE_ZRANGE_SCORE:
		ge = score_ge_min(r, s);
		le = score_le_max(r, s);
		break;
	case GROVE_ZRANGE_LEX:
		ge = lex_ge_min(r, m, ml);
		le = lex_le_max(r, m, ml);
		break;
	default:
		return 0;
	}
	if (r->rev)
		return !le ? -1 : !ge ? 1 : 0;
	return !ge ? -1 : !le ? 1 : 0;
}

static int zr_visit(void *vctx, const uint8_t *m, size_t ml, double s)
{
	zr_t *z = vctx;
	int where = in_range(z->r, m, ml, s);
	if (where)
		return where > 0;
	if (z->pos++ < z->skip)
		return 0;
	z->taken++;
	if (z->fn(z->ctx, m, ml, s))
		return 1;
	return z->take != UINT64_MAX && z->taken >= z->take ? 1 : 0;
}

static int zlast_visit(void *vctx, const uint8_t *m, size_t ml, double s)
{
	(void)m;
	(void)ml;
	double *at = vctx;
	*at = s;
	return 1;
}

/* A walk's start key: a score (8 bytes), a member and one byte more. */
#define ZSET_FROM_MAX (8 + GROVE_ELEM_MAX + 1)

/* Where a lex range's walk starts (r->rev: backwards from), into from
 * (ZSET_FROM_MAX bytes): *flen (0: the first entry; with rev
 * k_end's 2 bytes: the last), or *empty.  The walk skips every entry
 * before its range's bound in its direction and stops at the first past
 * the other (in_range), so it may as well start at the first (rev: last)
 * entry's score with the bound: the entries before that have that score
 * and a member the walk would skip.  ZRANGEBYLEX expects every score
 * equal: it then seeks to its bound, O(log n + k), where it walked from
 * the key's first entry. */
static int lex_start(zwalk_t *w, const grove_zrange_t *r, uint8_t *from, size_t *flen, bool *empty)
{
	int inf = r->rev ? r->lmax_inf : r->lmin_inf;
	const void *b = r->rev ? r->lmax : r->lmin;
	size_t bl = r->rev ? r->lmax_len : r->lmin_len;
	*empty = inf == (r->rev ? -1 : 1); /* from past every member */
	*flen = 0;
	if (r->rev) {
		memcpy(from, k_end, sizeof(k_end));
		*flen = sizeof(k_end);
	}
	/* (a pending delete: the walk reads entries with their records'
	 * scores, which need not be where they stand in the index) */
	if (*empty || inf || bl > GROVE_ELEM_MAX || w->checked)
		return 0;
	double s = NAN;
	uint32_t first = w->first;
	w->first = 1;
	int rc = zwalk_run(w, r->rev, from, *flen, zlast_visit, &s);
	w->first = first;
	*empty = rc == 0 && isnan(s);
	if (rc || *empty)
		return rc;
	*flen = start_at(s, false, from);
	if (bl)
		memcpy(from + 8, b, bl);
	*flen += bl;
	if (r->rev)
		from[(*flen)++] = 0; /* backwards from the least key above the bound */
	return 0;
}

int grove_db_zset_range(grove_db_t *db, const void *key, size_t klen, const grove_zrange_t *r,
			grove_db_zmember_fn fn, void *ctx)
{
	if (!r || !fn)
		return GROVE_EINVAL;
	zwalk_t w;
	int rc = zwalk_begin(&w, db, key, klen);
	if (rc) {
		zwalk_end(&w);
		return rc == 1 ? 0 : rc;
	}
	zr_t z = { .r = r, .fn = fn, .ctx = ctx, .take = UINT64_MAX };
	uint8_t from[ZSET_FROM_MAX];
	size_t flen = 0;
	const uint8_t *fp = from;
	bool empty = false;
	if (r->by == GROVE_ZRANGE_RANK) {
		int64_t n = (int64_t)w.count, a = r->start, b = r->stop;
		if (a < 0)
			a += n;
		if (b < 0)
			b += n;
		if (a < 0)
			a = 0;
		if (b >= n)
			b = n - 1;
		if (a > b || a >= n)
			goto done;
		z.skip = (uint64_t)a;
		z.take = (uint64_t)(b - a + 1);
	} else {
		z.skip = r->offset;
		z.take = r->count < 0 ? UINT64_MAX : (uint64_t)r->count;
		if (z.take == 0)
			goto done;
	}
	if (r->rev && r->by == GROVE_ZRANGE_SCORE)
		flen = start_at(r->max, !r->max_excl, from);
	else if (r->by == GROVE_ZRANGE_SCORE)
		flen = start_at(r->min, false, from);
	else if (r->by == GROVE_ZRANGE_LEX)
		rc = lex_start(&w, r, from, &flen, &empty);
	if (r->rev && r->by == GROVE_ZRANGE_RANK) {
		fp = k_end;
		flen = sizeof(k_end);
	}
	/* a range starts at its bound: the first skip + take entries (and
	 * one excluded at the bound) are likely all it visits */
	if (z.take != UINT64_MAX && z.skip + z.take < ZWALK_CACHED_CHUNK)
		w.first = (uint32_t)(z.skip + z.take) + 1;
	if (rc == 0 && !empty)
		rc = zwalk_run(&w, r->rev, fp, flen, zr_visit, &z);
done:
	zwalk_end(&w);
	return rc;
}

typedef struct zcount {
	const grove_zrange_t *r;
	uint64_t n;
} zcount_t;

static int zcount_visit(void *vctx, const uint8_t *m, size_t ml, double s)
{
	zcount_t *c = vctx;
	int where = in_range(c->r, m, ml, s);
	if (where)
		return where > 0;
	c->n++;
	return 0;
}

int grove_db_zset_count(grove_db_t *db, const void *key, size_t klen, const grove_zrange_t *r,
			uint64_t *out)
{
	if (!r || (r->by != GROVE_ZRANGE_SCORE && r->by != GROVE_ZRANGE_LEX))
		return GROVE_EINVAL;
	*out = 0;
	zwalk_t w;
	int rc = zwalk_begin(&w, db, key, klen);
	if (rc) {
		zwalk_end(&w);
		return rc == 1 ? 0 : rc;
	}
	grove_zrange_t fwd = *r;
	fwd.rev = false;
	zcount_t c = { .r = &fwd };
	uint8_t from[ZSET_FROM_MAX];
	size_t flen = 0;
	bool empty = false;
	if (r->by == GROVE_ZRANGE_SCORE)
		flen = start_at(r->min, false, from);
	else
		rc = lex_start(&w, &fwd, from, &flen, &empty);
	if (rc == 0 && !empty)
		rc = zwalk_run(&w, false, from, flen, zcount_visit, &c);
	if (rc == 0)
		*out = c.n;
	zwalk_end(&w);
	return rc;
}

typedef struct zrank {
	const uint8_t *m;
	size_t ml;
	double s;
	uint64_t n;
	bool found;
} zrank_t;

static int zrank_visit(void *vctx, const uint8_t *m, size_t ml, double s)
{
	zrank_t *z = vctx;
	if (s == z->s && ml == z->ml && (ml == 0 || memcmp(m, z->m, ml) == 0)) {
		z->found = true;
		return 1;
	}
	z->n++;
	return 0;
}

int grove_db_zset_rank(grove_db_t *db, const void *key, size_t klen, const void *member,
		       size_t mlen, bool rev, uint64_t *rank, double *score)
{
	zwalk_t w;
	int rc = zwalk_begin(&w, db, key, klen);
	if (rc) {
		zwalk_end(&w);
		return rc == 1 ? GROVE_ENOTFOUND : rc;
	}
	grove_elem_t x;
	double s = 0;
	uint64_t below = 0;
	/* the member's score and place from the counted index's cache alone */
	int counted = w.checked ? 1
				: grove_db__zrank_hinted(db, &w.k, w.zgen, w.zquiet, w.count, member,
							 mlen, &below, &s);
	if (counted == 0)
		rc = 0;
	else if (mlen > GROVE_ELEM_MAX)
		rc = GROVE_ENOTFOUND;
	else
		rc = grove_db__zset_member_in(db, w.snap, w.seq, &w.k, &w.pctx, member, mlen, &x);
	if (rc == 0 && counted) {
		rc = grove_zscore_eval(&x, &s);
		grove_elem_free(&x);
	}
	zrank_t z = { .m = member, .ml = mlen, .s = s };
	/* the counts, when the key has them and no pending delete */
	if (rc == 0 && counted && !w.checked)
		counted = grove_db__zrank_counted(db, w.snap, &w.k, w.zgen, w.zquiet, w.count, s,
						  member, mlen, &below);
	if (counted <= 0) {
		rc = counted;
		z.found = true;
		z.n = rev ? w.count - 1 - below : below;
	} else if (rc == 0) { /* else a walk, ZREVRANK from the top */
		rc = zwalk_run(&w, rev, rev ? k_end : NULL, rev ? sizeof(k_end) : 0, zrank_visit, &z);
	}
	if (rc == 0 && !z.found)
		rc = GROVE_ECORRUPT; /* a live member without its index entry */
	if (rc == 0) {
		*rank = z.n;
		if (score)
			*score = s;
	}
	zwalk_end(&w);
	return rc;
}
