/*
 * coll.c - element records, contexts and their canonical codecs, and the
 * per-element merge of coll.h.  Encodings follow doc/value_format.md's
 * conventions (smallest msgpack forms, str node ids, bin data, sorted
 * lists); the decoders accept canonical input only and treat it as hostile.
 */
#include <stdlib.h>
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "crdt/coll.h"
#include "crdt/hcount.h"
#include "crdt/zscore.h"

/* ---- memory ---- */

void grove_elem_free(grove_elem_t *x)
{
	for (size_t i = 0; i < x->len; i++)
		grove_value__blob_free(&x->e[i].val);
	grove_free(x->e);
	memset(x, 0, sizeof(*x));
}

void grove_ctx_free(grove_ctx_t *c)
{
	grove_value__set_free(c);
}

static int dots_copy(grove_value__dots_t *dst, const grove_value__dots_t *src)
{
	memset(dst, 0, sizeof(*dst));
	if (!src->len)
		return 0;
	int rc = grove_grow((void **)&dst->d, &dst->cap, src->len, sizeof(*dst->d), 0, 0);
	if (rc)
		return rc;
	memcpy(dst->d, src->d, src->len * sizeof(*dst->d));
	dst->len = src->len;
	return 0;
}

int grove_ctx_copy(grove_ctx_t *dst, const grove_ctx_t *src)
{
	memset(dst, 0, sizeof(*dst));
	int rc = dots_copy(&dst->vv, &src->vv);
	if (!rc)
		rc = dots_copy(&dst->cloud, &src->cloud);
	if (rc)
		grove_ctx_free(dst);
	return rc;
}

/* ---- writer ---- */

static uint8_t *room(grove_buf_t *b, size_t n)
{
	return grove_buf_reserve(b, n) ? b->data + b->len : NULL;
}

static void put_be(grove_buf_t *b, uint8_t tag, uint64_t x, size_t n)
{
	uint8_t *o = room(b, 1 + n);
	if (!o)
		return;
	*o++ = tag;
	for (size_t i = n; i > 0; i--)
		*o++ = (uint8_t)(x >> (8 * (i - 1)));
	b->len += 1 + n;
}

static void put_uint(grove_buf_t *b, uint64_t x)
{
	if (x <= 0x7f)
		put_be(b, (uint8_t)x, 0, 0);
	else if (x <= 0xff)
		put_be(b, 0xcc, x, 1);
	else if (x <= 0xffff)
		put_be(b, 0xcd, x, 2);
	else if (x <= 0xffffffffu)
		put_be(b, 0xce, x, 4);
	else
		put_be(b, 0xcf, x, 8);
}

static void put_array(grove_buf_t *b, size_t n)
{
	if (n <= 15)
		put_be(b, (uint8_t)(0x90 | n), 0, 0);
	else if (n <= 0xffff)
		put_be(b, 0xdc, n, 2);
	else
		put_be(b, 0xdd, n, 4);
}

static void put_raw(grove_buf_t *b, const void *p, size_t n)
{
	uint8_t *o = room(b, n);
	if (!o)
		return;
	if (n)
		memcpy(o, p, n);
	b->len += n;
}

static void put_str(grove_buf_t *b, const char *s)
{
	size_t n = strlen(s);
	if (n <= 31)
		put_be(b, (uint8_t)(0xa0 | n), 0, 0);
	else
		put_be(b, 0xd9, n, 1);
	put_raw(b, s, n);
}

static void put_bin(grove_buf_t *b, const void *p, size_t n)
{
	if (n <= 0xff)
		put_be(b, 0xc4, n, 1);
	else if (n <= 0xffff)
		put_be(b, 0xc5, n, 2);
	else
		put_be(b, 0xc6, n, 4);
	put_raw(b, p, n);
}

static void put_dots(grove_buf_t *b, const grove_value__dots_t *ds)
{
	put_array(b, ds->len);
	for (size_t i = 0; i < ds->len; i++) {
		put_array(b, 2);
		put_str(b, ds->d[i].node);
		put_uint(b, ds->d[i].counter);
	}
}

static void put_entries(grove_buf_t *b, const grove_elem_t *x, int kind)
{
	put_array(b, x->len);
	for (size_t i = 0; i < x->len; i++) {
		const grove_entry_t *e = &x->e[i];
		put_array(b, kind == GROVE_ELEM_MEMBER ? 2 : e->tag ? 5 : 4);
		put_str(b, e->dot.node);
		put_uint(b, e->dot.counter);
		if (kind != GROVE_ELEM_MEMBER) {
			put_uint(b, e->ts);
			if (e->tag)
				put_uint(b, e->tag);
			put_bin(b, e->val.p, e->val.len);
		}
	}
}

int grove_elem_encode(grove_buf_t *b, const grove_elem_t *x, int kind)
{
	put_entries(b, x, kind);
	return b->failed ? GROVE_ENOMEM : 0;
}

int grove_ctx_encode(grove_buf_t *b, const grove_ctx_t *c)
{
	put_array(b, 2);
	put_dots(b, &c->vv);
	put_dots(b, &c->cloud);
	return b->failed ? GROVE_ENOMEM : 0;
}

int grove_elem_state_encode(grove_buf_t *b, const grove_ctx_t *c, const grove_elem_t *x,
			    int kind)
{
	put_array(b, 3);
	put_dots(b, &c->vv);
	put_dots(b, &c->cloud);
	put_entries(b, x, kind);
	return b->failed ? GROVE_ENOMEM : 0;
}

static int dot_qcmp(const void *a, const void *b)
{
	return grove_value__dot_cmp(a, b);
}

int grove_elem_state_encode_cut(grove_buf_t *b, const grove_ctx_t *c, const grove_elem_t *x,
				int kind, const grove_value__dot_t *extra, size_t nextra)
{
	/* the cloud dots among the entries' and the extra dots: sorted, unique */
	grove_value__dot_t *q = NULL;
	size_t n = 0, cap = 0;
	if (x->len + nextra &&
	    grove_grow((void **)&q, &cap, x->len + nextra, sizeof(*q), 0, 0) != 0)
		return GROVE_ENOMEM;
	for (size_t i = 0; i < x->len + nextra; i++) {
		const grove_value__dot_t *d = i < x->len ? &x->e[i].dot : &extra[i - x->len];
		if (grove_value__vv_get(&c->vv, d->node) < d->counter && grove_ctx_has(c, d))
			q[n++] = *d;
	}
	if (n > 1)
		qsort(q, n, sizeof(*q), dot_qcmp);
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		if (!u || grove_value__dot_cmp(&q[u - 1], &q[i]) != 0)
			q[u++] = q[i];
	put_array(b, 4);
	put_dots(b, &c->vv);
	put_array(b, u);
	for (size_t i = 0; i < u; i++) {
		put_array(b, 2);
		put_str(b, q[i].node);
		put_uint(b, q[i].counter);
	}
	put_entries(b, x, kind);
	put_uint(b, 1);
	grove_free(q);
	return b->failed ? GROVE_ENOMEM : 0;
}

int grove_elem_state_encode_partial(grove_buf_t *b, const grove_ctx_t *c, const grove_elem_t *x,
				    int kind)
{
	return grove_elem_state_encode_cut(b, c, x, kind, NULL, 0);
}

/* ---- reader (hostile input: every read bounds-checked, canonical only) ---- */

typedef struct rd {
	const uint8_t *p;
	size_t len, pos;
} rd_t;

static int rd_be(rd_t *r, size_t n, uint64_t *out)
{
	if (r->len - r->pos < n)
		return GROVE_EDECODE;
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++)
		x = x << 8 | r->p[r->pos++];
	*out = x;
	return 0;
}

static int rd_tag(rd_t *r, uint8_t *t)
{
	if (r->pos >= r->len)
		return GROVE_EDECODE;
	*t = r->p[r->pos++];
	return 0;
}

static int rd_uint(rd_t *r, uint64_t *out)
{
	uint8_t t;
	int rc = rd_tag(r, &t);
	if (rc)
		return rc;
	if (t <= 0x7f) {
		*out = t;
		return 0;
	}
	static const uint64_t min[4] = { 0x80, 0x100, 0x10000, 0x100000000ull };
	if (t < 0xcc || t > 0xcf)
		return GROVE_EDECODE;
	rc = rd_be(r, (size_t)1 << (t - 0xcc), out);
	return rc ? rc : *out < min[t - 0xcc] ? GROVE_EDECODE : 0;
}

static int rd_array(rd_t *r, size_t *n)
{
	uint8_t t;
	uint64_t x;
	int rc = rd_tag(r, &t);
	if (rc)
		return rc;
	if ((t & 0xf0) == 0x90) {
		*n = t & 0x0f;
		return 0;
	}
	if (t == 0xdc) {
		rc = rd_be(r, 2, &x);
		if (!rc && x <= 15)
			rc = GROVE_EDECODE;
	} else if (t == 0xdd) {
		rc = rd_be(r, 4, &x);
		if (!rc && x <= 0xffff)
			rc = GROVE_EDECODE;
	} else {
		return GROVE_EDECODE;
	}
	if (rc)
		return rc;
	if (x > r->len - r->pos) /* every item takes at least one byte */
		return GROVE_EDECODE;
	*n = (size_t)x;
	return 0;
}

static int rd_tuple(rd_t *r, size_t want)
{
	size_t n;
	int rc = rd_array(r, &n);
	return rc ? rc : n == want ? 0 : GROVE_EDECODE;
}

static int rd_node(rd_t *r, char node[GROVE_NODE_ID_MAX + 1])
{
	uint8_t t;
	uint64_t n;
	int rc = rd_tag(r, &t);
	if (rc)
		return rc;
	if ((t & 0xe0) == 0xa0) {
		n = t & 0x1f;
	} else if (t == 0xd9) {
		rc = rd_be(r, 1, &n);
		if (!rc && n <= 31)
			rc = GROVE_EDECODE;
		if (rc)
			return rc;
	} else {
		return GROVE_EDECODE;
	}
	if (n < 1 || n > GROVE_NODE_ID_MAX || n > r->len - r->pos)
		return GROVE_EDECODE;
	if (memchr(r->p + r->pos, 0, (size_t)n))
		return GROVE_EDECODE;
	memcpy(node, r->p + r->pos, (size_t)n);
	node[n] = '\0';
	r->pos += (size_t)n;
	return 0;
}

/* A bin left in place: *out points into the input. */
static int rd_bin_view(rd_t *r, const uint8_t **out, size_t *out_len, size_t max)
{
	uint8_t t;
	uint64_t n;
	int rc = rd_tag(r, &t);
	if (rc)
		return rc;
	static const uint64_t min[3] = { 0, 0x100, 0x10000 };
	if (t < 0xc4 || t > 0xc6)
		return GROVE_EDECODE;
	rc = rd_be(r, (size_t)1 << (t - 0xc4), &n);
	if (rc)
		return rc;
	if (n < min[t - 0xc4])
		return GROVE_EDECODE;
	if (n > max)
		return GROVE_ETOOBIG;
	if (n > r->len - r->pos)
		return GROVE_EDECODE;
	*out = r->p + r->pos;
	*out_len = (size_t)n;
	r->pos += (size_t)n;
	return 0;
}

static int rd_dot(rd_t *r, grove_value__dot_t *d)
{
	int rc = rd_node(r, d->node);
	if (!rc)
		rc = rd_uint(r, &d->counter);
	return rc ? rc : d->counter ? 0 : GROVE_EDECODE;
}

/* A dot list sorted by node (by_node: one per node) or by dot. */
static int rd_dots(rd_t *r, grove_value__dots_t *ds, bool by_node, size_t *budget)
{
	size_t n;
	int rc = rd_array(r, &n);
	if (rc)
		return rc;
	if (n > *budget)
		return GROVE_ETOOBIG;
	*budget -= n;
	if (n && (rc = grove_grow((void **)&ds->d, &ds->cap, n, sizeof(*ds->d), 0, 0)) != 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		grove_value__dot_t d;
		if ((rc = rd_tuple(r, 2)) != 0 || (rc = rd_dot(r, &d)) != 0)
			return rc;
		if (i) {
			const grove_value__dot_t *p = &ds->d[i - 1];
			int c = by_node ? strcmp(p->node, d.node) : grove_value__dot_cmp(p, &d);
			if (c >= 0)
				return GROVE_EDECODE;
		}
		ds->d[ds->len++] = d;
	}
	return 0;
}

/* A cloud dot must lie beyond its node's vv entry + 1 (else it would
 * have been compacted into the vv). */
static int check_ctx(const grove_ctx_t *c)
{
	for (size_t i = 0; i < c->cloud.len; i++) {
		const grove_value__dot_t *d = &c->cloud.d[i];
		if (d->counter <= grove_value__vv_get(&c->vv, d->node) + 1)
			return GROVE_EDECODE;
	}
	return 0;
}

static int rd_ctx(rd_t *r, grove_ctx_t *c)
{
	size_t budget = GROVE_CTX_DOTS_MAX;
	int rc = rd_dots(r, &c->vv, true, &budget);
	if (!rc)
		rc = rd_dots(r, &c->cloud, false, &budget);
	return rc ? rc : check_ctx(c);
}

/* An entry's tuple and dot (then, after the caller's order check,
 * rd_entry_rest); *items: the tuple's length (5: a hash field's tagged
 * entry, crdt/hcount.h). */
static int rd_entry_dot(rd_t *r, int kind, grove_value__dot_t *d, size_t *items)
{
	int rc = rd_array(r, items);
	if (!rc && *items != (kind == GROVE_ELEM_MEMBER ? 2u : 4u) &&
	    !(kind == GROVE_ELEM_FIELD && *items == 5))
		rc = GROVE_EDECODE;
	return rc ? rc : rd_dot(r, d);
}

/* The rest of a field-like entry: ts, the tag of a tagged entry (e->tag,
 * 0 for a plain one), and the value left in place. */
static int rd_entry_rest(rd_t *r, int kind, size_t items, grove_entry_t *e, const uint8_t **val,
			 size_t *vlen)
{
	e->tag = 0;
	if (kind == GROVE_ELEM_MEMBER)
		return 0;
	uint64_t tag = 0;
	int rc = rd_uint(r, &e->ts);
	if (!rc && items == 5) {
		rc = rd_uint(r, &tag);
		if (!rc && tag != GROVE_HENTRY_SET && tag != GROVE_HENTRY_INC)
			rc = GROVE_EDECODE;
		e->tag = (uint8_t)tag;
	}
	if (!rc)
		rc = rd_bin_view(r, val, vlen, tag ? GROVE_HSET_PAYLOAD_MAX : GROVE_ELEM_VALUE_MAX);
	if (!rc && tag) /* a counter field's entry (hcount.h) */
		rc = grove_hentry_check(e->tag, *val, *vlen, e->dot.counter);
	if (!rc && kind == GROVE_ELEM_ZMEMBER) /* a score entry (zscore.h) */
		rc = grove_zentry_check(*val, *vlen, e->dot.counter);
	return rc;
}

/* The next of a record's entries read in place (i: its index, prev: the
 * one before): checked as rd_entries checks it; *v points into the
 * record. */
static int rd_entry_view(rd_t *r, int kind, size_t i, const grove_value__dot_t *prev,
			 grove_entry_t *cur, const uint8_t **v, size_t *vl)
{
	size_t items = 0;
	*v = NULL;
	*vl = 0;
	int rc = rd_entry_dot(r, kind, &cur->dot, &items);
	if (!rc && i && grove_value__dot_cmp(prev, &cur->dot) >= 0)
		rc = GROVE_EDECODE;
	return rc ? rc : rd_entry_rest(r, kind, items, cur, v, vl);
}

/* The entries' array header of a record (n bounded as rd_entries bounds it). */
static int rd_entries_len(rd_t *r, size_t *n)
{
	int rc = rd_array(r, n);
	return rc ? rc : *n > GROVE_ELEM_ENTRIES_MAX ? GROVE_ETOOBIG : 0;
}

static int rd_entries(rd_t *r, int kind, grove_elem_t *x)
{
	size_t n;
	int rc = rd_entries_len(r, &n);
	if (rc)
		return rc;
	if (n && (rc = grove_grow((void **)&x->e, &x->cap, n, sizeof(*x->e), 0, 0)) != 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		grove_entry_t *e = &x->e[x->len];
		memset(e, 0, sizeof(*e));
		const uint8_t *val = NULL;
		size_t vlen = 0;
		rc = rd_entry_view(r, kind, i, i ? &x->e[x->len - 1].dot : NULL, e, &val, &vlen);
		if (!rc && kind != GROVE_ELEM_MEMBER)
			rc = grove_value__blob_set(&e->val, val, vlen);
		if (rc) {
			grove_value__blob_free(&e->val);
			return rc;
		}
		x->len++;
	}
	return 0;
}

static int check_kind(int kind)
{
	return kind == GROVE_ELEM_MEMBER || kind == GROVE_ELEM_FIELD || kind == GROVE_ELEM_ZMEMBER ||
			       kind == GROVE_ELEM_LIST
		       ? 0
		       : GROVE_EINVAL;
}

int grove_elem_decode(const uint8_t *p, size_t len, int kind, grove_elem_t *out)
{
	memset(out, 0, sizeof(*out));
	int rc = check_kind(kind);
	rd_t r = { p, len, 0 };
	if (!rc)
		rc = rd_entries(&r, kind, out);
	if (!rc && r.pos != len)
		rc = GROVE_EDECODE;
	if (rc)
		grove_elem_free(out);
	return rc;
}

bool grove_entry_wins(const grove_entry_t *e, const grove_entry_t *w)
{
	int c = strcmp(e->dot.node, w->dot.node);
	return e->ts > w->ts || (e->ts == w->ts && (c > 0 || (c == 0 && e->dot.counter > w->dot.counter)));
}

int grove_elem_winner_view(const uint8_t *p, size_t len, int kind, const grove_ctx_t *filter,
			   bool *live, const uint8_t **val, size_t *vlen)
{
	*live = false;
	*val = NULL;
	*vlen = 0;
	if (kind != GROVE_ELEM_FIELD && kind != GROVE_ELEM_ZMEMBER && kind != GROVE_ELEM_LIST)
		return GROVE_EINVAL;
	rd_t r = { p, len, 0 };
	size_t n;
	int rc = rd_entries_len(&r, &n);
	grove_entry_t cur = { 0 }, win = { 0 };
	const uint8_t *wv = NULL;
	size_t wl = 0;
	bool has = false;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const uint8_t *v;
		size_t vl;
		grove_value__dot_t prev = cur.dot;
		rc = rd_entry_view(&r, kind, i, &prev, &cur, &v, &vl);
		if (!rc && cur.tag)
			rc = GROVE_EINVAL; /* a counter field: grove_hfield_eval reads it */
		if (rc)
			break;
		if ((filter && grove_ctx_has(filter, &cur.dot)) || (has && !grove_entry_wins(&cur, &win)))
			continue;
		win = cur;
		wv = v;
		wl = vl;
		has = true;
	}
	if (!rc && r.pos != len)
		rc = GROVE_EDECODE;
	if (rc || !has)
		return rc;
	*live = true;
	*val = wv;
	*vlen = wl;
	return 0;
}

int grove_elem_rec_scan(const uint8_t *p, size_t len, int kind, size_t *n, uint64_t *max_ts,
			bool *tagged)
{
	int rc = check_kind(kind);
	rd_t r = { p, len, 0 };
	size_t cnt = 0;
	uint64_t ts = 0;
	bool tag = false;
	if (!rc)
		rc = rd_entries_len(&r, &cnt);
	grove_entry_t cur = { 0 };
	for (size_t i = 0; rc == 0 && i < cnt; i++) {
		const uint8_t *v;
		size_t vl;
		grove_value__dot_t prev = cur.dot;
		rc = rd_entry_view(&r, kind, i, &prev, &cur, &v, &vl);
		ts = cur.ts > ts ? cur.ts : ts;
		tag = tag || cur.tag;
	}
	if (!rc && r.pos != len)
		rc = GROVE_EDECODE;
	if (rc)
		return rc;
	*n = cnt;
	*max_ts = ts;
	*tagged = tag;
	return 0;
}

int grove_ctx_decode(const uint8_t *p, size_t len, grove_ctx_t *out)
{
	memset(out, 0, sizeof(*out));
	rd_t r = { p, len, 0 };
	int rc = rd_tuple(&r, 2);
	if (!rc)
		rc = rd_ctx(&r, out);
	if (!rc && r.pos != len)
		rc = GROVE_EDECODE;
	if (rc)
		grove_ctx_free(out);
	return rc;
}

int grove_elem_state_decode(const uint8_t *p, size_t len, int kind, grove_ctx_t *c,
			    grove_elem_t *x, bool *partial)
{
	memset(c, 0, sizeof(*c));
	memset(x, 0, sizeof(*x));
	int rc = check_kind(kind);
	rd_t r = { p, len, 0 };
	size_t n = 0;
	uint64_t flag = 0;
	if (!rc)
		rc = rd_array(&r, &n);
	if (!rc && n != 3 && n != 4)
		rc = GROVE_EDECODE;
	if (!rc)
		rc = rd_ctx(&r, c);
	if (!rc)
		rc = rd_entries(&r, kind, x);
	if (!rc && n == 4) { /* cut: the cloud is a subset of the sender's */
		rc = rd_uint(&r, &flag);
		if (!rc && flag != 1)
			rc = GROVE_EDECODE;
	}
	if (partial)
		*partial = n == 4;
	if (!rc && r.pos != len)
		rc = GROVE_EDECODE;
	for (size_t i = 0; i < x->len && !rc; i++)
		if (!grove_ctx_has(c, &x->e[i].dot))
			rc = GROVE_EDECODE; /* a dot outside the sender's own context */
	if (rc) {
		grove_ctx_free(c);
		grove_elem_free(x);
	}
	return rc;
}

/* ---- elements ---- */

static bool entry_eq(const grove_entry_t *a, const grove_entry_t *b)
{
	return grove_value__dot_cmp(&a->dot, &b->dot) == 0 && a->ts == b->ts &&
	       a->tag == b->tag && grove_value__blob_eq(&a->val, &b->val);
}

bool grove_elem_eq(const grove_elem_t *a, const grove_elem_t *b)
{
	if (a->len != b->len)
		return false;
	for (size_t i = 0; i < a->len; i++)
		if (!entry_eq(&a->e[i], &b->e[i]))
			return false;
	return true;
}

uint64_t grove_elem_max_ts(const grove_elem_t *x)
{
	uint64_t ts = 0;
	for (size_t i = 0; i < x->len; i++)
		ts = x->e[i].ts > ts ? x->e[i].ts : ts;
	return ts;
}

const grove_entry_t *grove_elem_winner(const grove_elem_t *x)
{
	const grove_entry_t *w = NULL;
	for (size_t i = 0; i < x->len; i++) {
		const grove_entry_t *e = &x->e[i];
		if (!w || grove_entry_wins(e, w))
			w = e;
	}
	return w;
}

bool grove_elem_rec_has_entries(const uint8_t *p, size_t len)
{
	return len >= 1 && p[0] != 0x90;
}

size_t grove_elem_filter(grove_elem_t *x, const grove_ctx_t *c)
{
	size_t out = 0, dropped = 0;
	for (size_t i = 0; i < x->len; i++) {
		if (grove_ctx_has(c, &x->e[i].dot)) {
			grove_value__blob_free(&x->e[i].val);
			dropped++;
		} else {
			x->e[out++] = x->e[i];
		}
	}
	x->len = out;
	return dropped;
}

int grove_elem_set_one(grove_elem_t *x, const grove_value__dot_t *d, uint64_t ts, const void *val,
		       size_t vlen)
{
	grove_entry_t e = { .dot = *d, .ts = ts };
	int rc = grove_value__blob_set(&e.val, val, vlen);
	if (!rc)
		rc = grove_grow((void **)&x->e, &x->cap, 1, sizeof(*x->e), 0, 0);
	if (rc) {
		grove_value__blob_free(&e.val);
		return rc;
	}
	for (size_t i = 0; i < x->len; i++)
		grove_value__blob_free(&x->e[i].val);
	x->e[0] = e;
	x->len = 1;
	return 0;
}

void grove_elem_one_view(grove_elem_t *x, grove_entry_t *e, const grove_value__dot_t *d,
			 uint64_t ts, const void *val, size_t vlen)
{
	GROVE_ASSERT(vlen <= GROVE_BLOB_MAX && (val || !vlen));
	/* read only through x: the cast lends val, it is never written */
	*e = (grove_entry_t){ .dot = *d, .ts = ts,
			     .val = { vlen ? (uint8_t *)(uintptr_t)val : NULL, (uint32_t)vlen } };
	*x = (grove_elem_t){ .e = e, .len = 1, .cap = 1 };
}

/* ---- contexts ---- */

bool grove_ctx_has(const grove_ctx_t *c, const grove_value__dot_t *d)
{
	return grove_value__ctx_contains(c, d);
}

int grove_ctx_next_dot(const grove_ctx_t *c, const char *node, grove_value__dot_t *d)
{
	memset(d, 0, sizeof(*d));
	d->counter = grove_value__vv_get(&c->vv, node);
	memcpy(d->node, node, strlen(node) + 1);
	for (size_t i = 0; i < c->cloud.len; i++)
		if (strcmp(c->cloud.d[i].node, node) == 0 && c->cloud.d[i].counter > d->counter)
			d->counter = c->cloud.d[i].counter;
	if (d->counter == UINT64_MAX)
		return GROVE_EOVERFLOW;
	d->counter++;
	return 0;
}

/* Inserts d into the sorted cloud (no duplicate), then compacts. */
int grove_ctx_add(grove_ctx_t *c, const grove_value__dot_t *d)
{
	if (grove_ctx_has(c, d))
		return 0;
	int rc = grove_grow((void **)&c->cloud.d, &c->cloud.cap, c->cloud.len + 1,
					  sizeof(*c->cloud.d), 0, 0);
	if (rc)
		return rc;
	size_t i = c->cloud.len;
	while (i > 0 && grove_value__dot_cmp(&c->cloud.d[i - 1], d) > 0)
		i--;
	memmove(&c->cloud.d[i + 1], &c->cloud.d[i], (c->cloud.len - i) * sizeof(*c->cloud.d));
	c->cloud.d[i] = *d;
	c->cloud.len++;
	return grove_value__ctx_compact(&c->vv, &c->cloud);
}

int grove_ctx_union(grove_ctx_t *dst, const grove_ctx_t *src)
{
	grove_value__set_t a = { 0 }, b = { 0 }, out = { 0 };
	a.vv = dst->vv, a.cloud = dst->cloud;
	b.vv = src->vv, b.cloud = src->cloud;
	int rc = grove_value__set_merge(&out, &a, &b);
	if (rc) {
		grove_ctx_free(&out); /* what the merge built before it failed */
		return rc;
	}
	grove_ctx_free(dst);
	*dst = out;
	return 0;
}

bool grove_ctx_covers(const grove_ctx_t *big, const grove_ctx_t *small)
{
	for (size_t i = 0; i < small->vv.len; i++)
		if (grove_value__vv_get(&big->vv, small->vv.d[i].node) < small->vv.d[i].counter) {
			/* the range 1..counter must be in big's vv or cloud */
			const grove_value__dot_t *v = &small->vv.d[i];
			grove_value__dot_t d = *v;
			if (v->counter - grove_value__vv_get(&big->vv, v->node) > big->cloud.len)
				return false;
			for (uint64_t k = grove_value__vv_get(&big->vv, v->node) + 1; k <= v->counter;
			     k++) {
				d.counter = k;
				if (!grove_ctx_has(big, &d))
					return false;
			}
		}
	for (size_t i = 0; i < small->cloud.len; i++)
		if (!grove_ctx_has(big, &small->cloud.d[i]))
			return false;
	return true;
}

bool grove_ctx_eq(const grove_ctx_t *a, const grove_ctx_t *b)
{
	return grove_value__dots_eq(&a->vv, &b->vv) && grove_value__dots_eq(&a->cloud, &b->cloud);
}

bool grove_ctx_empty(const grove_ctx_t *c)
{
	return c->vv.len == 0 && c->cloud.len == 0;
}

/* ---- merge ---- */

static int entry_copy(grove_entry_t *dst, const grove_entry_t *src)
{
	*dst = *src;
	dst->val = (grove_value__blob_t){ 0 };
	return grove_value__blob_set(&dst->val, src->val.p, src->val.len);
}

int grove_elem_merge(grove_elem_t *l, grove_ctx_t *lctx, const grove_elem_t *r,
		     const grove_ctx_t *rctx, bool *changed)
{
	grove_elem_t out = { 0 };
	int rc = 0;
	if (l->len + r->len &&
	    (rc = grove_grow((void **)&out.e, &out.cap, l->len + r->len,
					   sizeof(*out.e), 0, 0)) != 0)
		return rc;
	size_t i = 0, j = 0;
	bool ch = false;
	while (rc == 0 && (i < l->len || j < r->len)) {
		int c = i == l->len ? 1 : j == r->len ? -1
			: grove_value__dot_cmp(&l->e[i].dot, &r->e[j].dot);
		if (c == 0) {
			if (!entry_eq(&l->e[i], &r->e[j]))
				rc = GROVE_EDECODE; /* one dot, two writes: forged */
			else
				rc = entry_copy(&out.e[out.len++], &l->e[i]);
			i++, j++;
		} else if (c < 0) {
			if (grove_ctx_has(rctx, &l->e[i].dot))
				ch = true; /* removed remotely */
			else
				rc = entry_copy(&out.e[out.len++], &l->e[i]);
			i++;
		} else {
			if (!grove_ctx_has(lctx, &r->e[j].dot)) {
				ch = true;
				rc = entry_copy(&out.e[out.len++], &r->e[j]);
			}
			j++;
		}
	}
	/* the local context gains the received element's dots, nothing else */
	grove_ctx_t nctx = { 0 };
	if (rc == 0)
		rc = grove_ctx_copy(&nctx, lctx);
	for (size_t k = 0; k < r->len && rc == 0; k++)
		rc = grove_ctx_add(&nctx, &r->e[k].dot);
	if (rc) {
		grove_elem_free(&out);
		grove_ctx_free(&nctx);
		return rc;
	}
	ch = ch || !grove_ctx_eq(&nctx, lctx);
	grove_elem_free(l);
	*l = out;
	grove_ctx_free(lctx);
	*lctx = nctx;
	if (changed)
		*changed = ch;
	return 0;
}

/* ---- head state ---- */

int grove_head_state_encode(grove_buf_t *b, const uint8_t *enc, size_t enc_len, uint64_t n,
			    const uint8_t acc[16])
{
	put_array(b, 3);
	put_bin(b, enc, enc_len);
	put_uint(b, n);
	put_bin(b, acc, 16);
	return b->failed ? GROVE_ENOMEM : 0;
}

/* A bin header; the bytes stay in place. */
static int rd_bin_ref(rd_t *r, const uint8_t **p, size_t *n)
{
	uint8_t t;
	uint64_t x;
	int rc = rd_tag(r, &t);
	if (rc)
		return rc;
	static const uint64_t min[3] = { 0, 0x100, 0x10000 };
	if (t < 0xc4 || t > 0xc6)
		return GROVE_EDECODE;
	rc = rd_be(r, (size_t)1 << (t - 0xc4), &x);
	if (rc)
		return rc;
	if (x < min[t - 0xc4] || x > r->len - r->pos)
		return GROVE_EDECODE;
	*p = r->p + r->pos;
	*n = (size_t)x;
	r->pos += (size_t)x;
	return 0;
}

int grove_head_state_decode(const uint8_t *p, size_t len, const uint8_t **enc, size_t *enc_len,
			    uint64_t *n, uint8_t acc[16])
{
	rd_t r = { p, len, 0 };
	const uint8_t *a;
	size_t alen;
	int rc = rd_tuple(&r, 3);
	if (!rc)
		rc = rd_bin_ref(&r, enc, enc_len);
	if (!rc)
		rc = rd_uint(&r, n);
	if (!rc)
		rc = rd_bin_ref(&r, &a, &alen);
	if (!rc && (alen != 16 || r.pos != len || *enc_len == 0))
		rc = GROVE_EDECODE;
	if (!rc)
		memcpy(acc, a, 16);
	return rc;
}
