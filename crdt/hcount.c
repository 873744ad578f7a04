/*
 * hcount.c - counter fields of hashes: the read rule, the HSET and HINCRBY
 * writes and the codec of the tagged entry payloads (hcount.h has the
 * rule; doc/value_format.md, "Counter fields", the format).  The rule is
 * the sorted-set score's (zscore.c) on int64 sums with a 128-bit total.
 */
#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "base/num.h"
#include "grove/alloc.h"
#include "crdt/hcount.h"

#define INC_BYTES 16 /* chain, cum */
#define BASE_FIXED 24 /* chain, k, cum after the node */

typedef struct hbase {
	char node[GROVE_NODE_ID_MAX + 1];
	uint64_t chain, k;
	int64_t cum;
} hbase_t;

/* ---- payloads ---- */

/* A checked SET payload: its baselines and its value. */
static void set_parse(const grove_entry_t *e, const uint8_t **bases, size_t *nbases,
		      const uint8_t **val, size_t *vlen)
{
	const uint8_t *p = e->val.p;
	size_t n = (size_t)p[0] << 8 | p[1], at = 2;
	for (size_t i = 0; i < n; i++)
		at += 1 + p[at] + BASE_FIXED;
	*bases = p + 2;
	*nbases = n;
	*val = p + at;
	*vlen = e->val.len - at;
}

static void base_next(const uint8_t **p, hbase_t *b)
{
	const uint8_t *q = *p;
	size_t n = q[0];
	memcpy(b->node, q + 1, n);
	b->node[n] = '\0';
	b->chain = grove_be64_get(q + 1 + n);
	b->k = grove_be64_get(q + 9 + n);
	b->cum = (int64_t)grove_be64_get(q + 17 + n);
	*p = q + 1 + n + BASE_FIXED;
}

int grove_hentry_check(uint8_t tag, const uint8_t *p, size_t len, uint64_t counter)
{
	if (tag == GROVE_HENTRY_INC) {
		if (len != INC_BYTES)
			return GROVE_EDECODE;
		uint64_t chain = grove_be64_get(p);
		return chain < 1 || chain > counter ? GROVE_EDECODE : 0;
	}
	if (tag != GROVE_HENTRY_SET || len < 2)
		return GROVE_EDECODE;
	size_t n = (size_t)p[0] << 8 | p[1], at = 2;
	if (n < 1 || n > GROVE_HBASE_MAX) /* no baseline: a plain entry */
		return GROVE_EDECODE;
	const uint8_t *prev = NULL;
	size_t prev_len = 0;
	for (size_t i = 0; i < n; i++) {
		if (at >= len)
			return GROVE_EDECODE;
		size_t nl = p[at];
		if (nl < 1 || nl > GROVE_NODE_ID_MAX || len - at < 1 + nl + BASE_FIXED)
			return GROVE_EDECODE;
		const uint8_t *node = p + at + 1;
		if (memchr(node, 0, nl) || (prev && grove_key_cmp(prev, prev_len, node, nl) >= 0))
			return GROVE_EDECODE;
		uint64_t chain = grove_be64_get(node + nl), k = grove_be64_get(node + nl + 8);
		if (chain < 1 || k < chain)
			return GROVE_EDECODE;
		prev = node;
		prev_len = nl;
		at += 1 + nl + BASE_FIXED;
	}
	return len - at > GROVE_ELEM_VALUE_MAX ? GROVE_EDECODE : 0;
}

/* ---- the read rule ---- */

/* The plain or SET entry with the greatest (ts, node, counter). */
static const grove_entry_t *value_winner(const grove_elem_t *x)
{
	const grove_entry_t *w = NULL;
	for (size_t i = 0; i < x->len; i++)
		if (x->e[i].tag != GROVE_HENTRY_INC && (!w || grove_entry_wins(&x->e[i], w)))
			w = &x->e[i];
	return w;
}

static void entry_value(const grove_entry_t *e, const uint8_t **p, size_t *len)
{
	if (e->tag == GROVE_HENTRY_SET) {
		const uint8_t *b;
		size_t nb;
		set_parse(e, &b, &nb, p, len);
	} else {
		*p = e->val.p;
		*len = e->val.len;
	}
}

/* w's baseline for node, if any. */
static bool set_base(const grove_entry_t *w, const char *node, hbase_t *out)
{
	if (!w || w->tag != GROVE_HENTRY_SET)
		return false;
	const uint8_t *p, *v;
	size_t n, vl;
	set_parse(w, &p, &n, &v, &vl);
	for (size_t i = 0; i < n; i++) {
		base_next(&p, out);
		int c = strcmp(out->node, node);
		if (c == 0)
			return true;
		if (c > 0)
			break;
	}
	return false;
}

bool grove_hfield_has_counter(const grove_elem_t *x)
{
	for (size_t i = 0; i < x->len; i++)
		if (x->e[i].tag != GROVE_HENTRY_PLAIN)
			return true;
	return false;
}

static size_t i128_text(__int128 v, char *buf)
{
	char tmp[GROVE_HFIELD_DIGITS];
	size_t n = 0, o = 0;
	unsigned __int128 u = v < 0 ? (unsigned __int128)0 - (unsigned __int128)v
				    : (unsigned __int128)v;
	do {
		tmp[n++] = (char)('0' + (int)(u % 10));
		u /= 10;
	} while (u);
	if (v < 0)
		buf[o++] = '-';
	while (n)
		buf[o++] = tmp[--n];
	buf[o] = '\0';
	return o;
}

int grove_hfield_eval(const grove_elem_t *x, grove_hfield_val_t *out)
{
	memset(out, 0, sizeof(*out));
	if (x->len == 0)
		return GROVE_ENOTFOUND;
	const grove_entry_t *w = value_winner(x);
	bool inc = false;
	for (size_t i = 0; i < x->len && !inc; i++)
		inc = x->e[i].tag == GROVE_HENTRY_INC;
	int64_t base = 0;
	if (w)
		entry_value(w, &out->p, &out->len);
	if (!inc || (w && !grove_parse_i64(out->p, out->len, &base)))
		return 0; /* an LWW field, or a non-integer HSET hiding increments */
	__int128 s = base;
	for (size_t i = 0; i < x->len; i++) {
		const grove_entry_t *e = &x->e[i];
		if (e->tag != GROVE_HENTRY_INC)
			continue;
		const grove_entry_t *nx = i + 1 < x->len ? &x->e[i + 1] : NULL;
		if (nx && nx->tag == GROVE_HENTRY_INC && strcmp(nx->dot.node, e->dot.node) == 0)
			continue; /* not this node's latest */
		uint64_t chain = grove_be64_get(e->val.p);
		int64_t cum = (int64_t)grove_be64_get(e->val.p + 8);
		hbase_t b;
		if (set_base(w, e->dot.node, &b) && b.chain == chain)
			s += e->dot.counter > b.k ? (__int128)cum - b.cum : 0;
		else
			s += cum;
	}
	out->counter = true;
	out->fits = s >= INT64_MIN && s <= INT64_MAX;
	out->i64 = out->fits ? (int64_t)s : 0;
	out->len = i128_text(s, out->digits);
	out->p = (const uint8_t *)out->digits;
	return 0;
}

/* ---- writes ---- */

static int entry_make(grove_entry_t *e, const grove_value__dot_t *d, uint64_t ts, uint8_t tag,
		      const uint8_t *val, size_t len)
{
	memset(e, 0, sizeof(*e));
	e->dot = *d;
	e->ts = ts;
	e->tag = tag;
	return grove_value__blob_set(&e->val, val, len);
}

static bool pos_less(uint64_t c1, uint64_t k1, uint64_t c2, uint64_t k2)
{
	return c1 != c2 ? c1 < c2 : k1 < k2;
}

typedef struct basev {
	hbase_t *b;
	size_t len, cap;
} basev_t;

/* Records position (chain, k, cum) for node when greater. */
static int basev_put(basev_t *v, const char *node, uint64_t chain, uint64_t k, int64_t cum)
{
	for (size_t i = 0; i < v->len; i++) {
		hbase_t *b = &v->b[i];
		if (strcmp(b->node, node) != 0)
			continue;
		if (pos_less(b->chain, b->k, chain, k))
			b->chain = chain, b->k = k, b->cum = cum;
		return 0;
	}
	if (v->len == GROVE_HBASE_MAX)
		return GROVE_ETOOBIG;
	int rc = grove_grow((void **)&v->b, &v->cap, v->len + 1, sizeof(*v->b), 8, 0);
	if (rc)
		return rc;
	hbase_t *b = &v->b[v->len++];
	memset(b, 0, sizeof(*b));
	strcpy(b->node, node);
	b->chain = chain;
	b->k = k;
	b->cum = cum;
	return 0;
}

static int base_cmp(const void *a, const void *b)
{
	const hbase_t *x = a, *y = b;
	return grove_key_cmp((const uint8_t *)x->node, strlen(x->node), (const uint8_t *)y->node,
			strlen(y->node));
}

/* The baselines an HSET of cur carries. */
static int bases_of(const grove_elem_t *cur, basev_t *v)
{
	int rc = 0;
	for (size_t i = 0; i < cur->len && !rc; i++) {
		const grove_entry_t *e = &cur->e[i];
		if (e->tag == GROVE_HENTRY_INC) {
			rc = basev_put(v, e->dot.node, grove_be64_get(e->val.p), e->dot.counter,
				       (int64_t)grove_be64_get(e->val.p + 8));
		} else if (e->tag == GROVE_HENTRY_SET) {
			const uint8_t *p, *val;
			size_t n, vl;
			set_parse(e, &p, &n, &val, &vl);
			for (size_t j = 0; j < n && !rc; j++) {
				hbase_t b;
				base_next(&p, &b);
				rc = basev_put(v, b.node, b.chain, b.k, b.cum);
			}
		}
	}
	return rc;
}

/* out := the one entry e (taken over). */
static int elem_one(grove_elem_t *out, grove_entry_t *e)
{
	int rc = grove_grow((void **)&out->e, &out->cap, 1, sizeof(*out->e), 0, 0);
	if (rc) {
		grove_value__blob_free(&e->val);
		return rc;
	}
	for (size_t i = 0; i < out->len; i++)
		grove_value__blob_free(&out->e[i].val);
	out->e[0] = *e;
	out->len = 1;
	return 0;
}

int grove_hfield_set(const grove_elem_t *cur, const grove_value__dot_t *d, uint64_t ts,
		     const void *val, size_t vlen, grove_elem_t *out)
{
	basev_t v = { 0 };
	int rc = bases_of(cur, &v);
	if (rc == 0 && v.len == 0) {
		grove_free(v.b);
		return grove_elem_set_one(out, d, ts, val, vlen);
	}
	size_t len = 2 + vlen;
	for (size_t i = 0; i < v.len; i++)
		len += 1 + strlen(v.b[i].node) + BASE_FIXED;
	uint8_t *buf = rc ? NULL : grove_malloc(len);
	if (!rc && !buf)
		rc = GROVE_ENOMEM;
	if (!rc) {
		if (v.len > 1)
			qsort(v.b, v.len, sizeof(*v.b), base_cmp);
		buf[0] = (uint8_t)(v.len >> 8);
		buf[1] = (uint8_t)v.len;
		uint8_t *o = buf + 2;
		for (size_t i = 0; i < v.len; i++) {
			size_t n = strlen(v.b[i].node);
			*o++ = (uint8_t)n;
			memcpy(o, v.b[i].node, n);
			grove_be64_put(o + n, v.b[i].chain);
			grove_be64_put(o + n + 8, v.b[i].k);
			grove_be64_put(o + n + 16, (uint64_t)v.b[i].cum);
			o += n + BASE_FIXED;
		}
		if (vlen)
			memcpy(o, val, vlen);
		grove_entry_t e;
		rc = entry_make(&e, d, ts, GROVE_HENTRY_SET, buf, len);
		if (!rc)
			rc = elem_one(out, &e);
	}
	grove_free(buf);
	grove_free(v.b);
	return rc;
}

int grove_hfield_incr(const grove_elem_t *cur, const grove_value__dot_t *d, uint64_t ts,
		      int64_t delta, grove_elem_t *out)
{
	const grove_entry_t *mine = NULL; /* entries are sorted by dot: the last is the latest */
	for (size_t i = 0; i < cur->len; i++)
		if (cur->e[i].tag == GROVE_HENTRY_INC && strcmp(cur->e[i].dot.node, d->node) == 0)
			mine = &cur->e[i];
	uint64_t chain = d->counter;
	int64_t cum = delta;
	if (mine) { /* continue this node's chain; else a new one (its last was removed) */
		int64_t had = (int64_t)grove_be64_get(mine->val.p + 8);
		if ((delta > 0 && had > INT64_MAX - delta) || (delta < 0 && had < INT64_MIN - delta))
			return GROVE_EOVERFLOW;
		chain = grove_be64_get(mine->val.p);
		cum = had + delta;
	}
	uint8_t buf[INC_BYTES];
	grove_be64_put(buf, chain);
	grove_be64_put(buf + 8, (uint64_t)cum);
	grove_elem_t x = { 0 };
	int rc = grove_grow((void **)&x.e, &x.cap, cur->len + 1, sizeof(*x.e), 0, 0);
	bool placed = false;
	for (size_t i = 0; i <= cur->len && !rc; i++) {
		const grove_entry_t *e = i < cur->len ? &cur->e[i] : NULL;
		if (!placed && (!e || grove_value__dot_cmp(d, &e->dot) < 0)) {
			rc = entry_make(&x.e[x.len], d, ts, GROVE_HENTRY_INC, buf, sizeof(buf));
			if (rc)
				break;
			x.len++;
			placed = true;
		}
		if (!e)
			break;
		if (e->tag == GROVE_HENTRY_INC && strcmp(e->dot.node, d->node) == 0)
			continue;
		rc = entry_make(&x.e[x.len], &e->dot, e->ts, e->tag, e->val.p, e->val.len);
		if (!rc)
			x.len++;
	}
	if (rc == 0 && x.len > GROVE_ELEM_ENTRIES_MAX)
		rc = GROVE_ETOOBIG; /* the decoder's bound */
	if (rc) {
		grove_elem_free(&x);
		return rc;
	}
	grove_elem_free(out);
	*out = x;
	return 0;
}

void grove_hfield_trim(grove_elem_t *x)
{
	const grove_entry_t *w = grove_hfield_has_counter(x) ? value_winner(x) : grove_elem_winner(x);
	size_t o = 0;
	for (size_t i = 0; i < x->len; i++) {
		if (&x->e[i] == w || x->e[i].tag == GROVE_HENTRY_INC)
			x->e[o++] = x->e[i];
		else
			grove_value__blob_free(&x->e[i].val);
	}
	x->len = o;
}
