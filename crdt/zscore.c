/*
 * zscore.c - the score rule of sorted-set members and the codec of their
 * entry values (zscore.h has the rule; doc/value_format.md the format).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "base/num.h"
#include "grove/alloc.h"
#include "crdt/zscore.h"

#define SET_FIXED 11 /* tag, score, count */
#define INC_BYTES 17 /* tag, chain, cum */

static double f64(const uint8_t *p)
{
	uint64_t u = grove_be64_get(p);
	double d;
	memcpy(&d, &u, sizeof(d));
	return d;
}

static void putf64(uint8_t *p, double d)
{
	uint64_t u;
	memcpy(&u, &d, sizeof(u));
	grove_be64_put(p, u);
}

/* ---- entry values ---- */

typedef struct zent {
	int tag;
	double v;     /* SET: score; INC: cum */
	uint64_t chain; /* INC */
	const uint8_t *bases; /* SET: the baselines */
	size_t nbases;
} zent_t;

/* Parses a checked value. */
static void zent_parse(const grove_entry_t *e, zent_t *z)
{
	const uint8_t *p = e->val.p;
	memset(z, 0, sizeof(*z));
	z->tag = p[0];
	if (z->tag == GROVE_ZENTRY_SET) {
		z->v = f64(p + 1);
		z->nbases = (size_t)p[9] << 8 | p[10];
		z->bases = p + SET_FIXED;
	} else {
		z->chain = grove_be64_get(p + 1);
		z->v = f64(p + 9);
	}
}

/* The i-th... baselines are walked in order: *p advances. */
static void base_next(const uint8_t **p, grove_zbase_t *b)
{
	const uint8_t *q = *p;
	size_t n = q[0];
	memcpy(b->node, q + 1, n);
	b->node[n] = '\0';
	b->chain = grove_be64_get(q + 1 + n);
	b->k = grove_be64_get(q + 9 + n);
	b->cum = f64(q + 17 + n);
	*p = q + 25 + n;
}

int grove_zentry_check(const uint8_t *p, size_t len, uint64_t counter)
{
	if (!p || len < 1)
		return GROVE_EDECODE;
	if (p[0] == GROVE_ZENTRY_INC) {
		if (len != INC_BYTES)
			return GROVE_EDECODE;
		uint64_t chain = grove_be64_get(p + 1);
		if (chain < 1 || chain > counter || isnan(f64(p + 9)))
			return GROVE_EDECODE;
		return 0;
	}
	if (p[0] != GROVE_ZENTRY_SET || len < SET_FIXED || isnan(f64(p + 1)))
		return GROVE_EDECODE;
	size_t n = (size_t)p[9] << 8 | p[10], at = SET_FIXED;
	if (n > GROVE_ZBASE_MAX)
		return GROVE_EDECODE;
	const uint8_t *prev = NULL;
	size_t prev_len = 0;
	for (size_t i = 0; i < n; i++) {
		if (at >= len)
			return GROVE_EDECODE;
		size_t nl = p[at];
		if (nl < 1 || nl > GROVE_NODE_ID_MAX || len - at < 1 + nl + 24)
			return GROVE_EDECODE;
		const uint8_t *node = p + at + 1;
		if (memchr(node, 0, nl))
			return GROVE_EDECODE;
		if (prev && grove_key_cmp(prev, prev_len, node, nl) >= 0)
			return GROVE_EDECODE;
		uint64_t chain = grove_be64_get(node + nl), k = grove_be64_get(node + nl + 8);
		if (chain < 1 || k < chain || isnan(f64(node + nl + 16)))
			return GROVE_EDECODE;
		prev = node;
		prev_len = nl;
		at += 1 + nl + 24;
	}
	return at == len ? 0 : GROVE_EDECODE;
}

/* ---- the read rule ---- */

static const grove_entry_t *set_winner(const grove_elem_t *x)
{
	const grove_entry_t *w = NULL;
	for (size_t i = 0; i < x->len; i++)
		if (x->e[i].val.p[0] == GROVE_ZENTRY_SET && (!w || grove_entry_wins(&x->e[i], w)))
			w = &x->e[i];
	return w;
}

/* w's baseline for node, if any. */
static bool set_base(const grove_entry_t *w, const char *node, grove_zbase_t *out)
{
	if (!w)
		return false;
	zent_t z;
	zent_parse(w, &z);
	const uint8_t *p = z.bases;
	for (size_t i = 0; i < z.nbases; i++) {
		base_next(&p, out);
		int c = strcmp(out->node, node);
		if (c == 0)
			return true;
		if (c > 0)
			break;
	}
	return false;
}

/* The INC entry of node with the greatest counter (entries are sorted by
 * dot: node, then counter). */
static const grove_entry_t *node_inc(const grove_elem_t *x, const char *node)
{
	const grove_entry_t *e = NULL;
	for (size_t i = 0; i < x->len; i++)
		if (x->e[i].val.p[0] == GROVE_ZENTRY_INC && strcmp(x->e[i].dot.node, node) == 0)
			e = &x->e[i];
	return e;
}

int grove_zscore_eval(const grove_elem_t *x, double *score)
{
	if (x->len == 0)
		return GROVE_ENOTFOUND;
	const grove_entry_t *w = set_winner(x);
	double s = 0;
	if (w) {
		zent_t z;
		zent_parse(w, &z);
		s = z.v;
	}
	for (size_t i = 0; i < x->len; i++) {
		const grove_entry_t *e = &x->e[i];
		if (e->val.p[0] != GROVE_ZENTRY_INC)
			continue;
		if (i + 1 < x->len && x->e[i + 1].val.p[0] == GROVE_ZENTRY_INC &&
		    strcmp(x->e[i + 1].dot.node, e->dot.node) == 0)
			continue; /* not this node's latest */
		zent_t z;
		zent_parse(e, &z);
		grove_zbase_t b;
		if (set_base(w, e->dot.node, &b) && b.chain == z.chain)
			s += e->dot.counter > b.k ? z.v - b.cum : 0;
		else
			s += z.v;
	}
	*score = isnan(s) ? 0 : s;
	return 0;
}

/* ---- writes ---- */

static int entry_make(grove_entry_t *e, const grove_value__dot_t *d, uint64_t ts,
		      const uint8_t *val, size_t len)
{
	memset(e, 0, sizeof(*e));
	e->dot = *d;
	e->ts = ts;
	return grove_value__blob_set(&e->val, val, len);
}

static bool pos_less(uint64_t c1, uint64_t k1, uint64_t c2, uint64_t k2)
{
	return c1 != c2 ? c1 < c2 : k1 < k2;
}

typedef struct basev {
	grove_zbase_t *b;
	size_t len, cap;
} basev_t;

static grove_zbase_t *basev_find(basev_t *v, const char *node)
{
	for (size_t i = 0; i < v->len; i++)
		if (strcmp(v->b[i].node, node) == 0)
			return &v->b[i];
	return NULL;
}

/* Records position (chain, k, cum) for node when greater. */
static int basev_put(basev_t *v, const char *node, uint64_t chain, uint64_t k, double cum)
{
	grove_zbase_t *b = basev_find(v, node);
	if (b) {
		if (pos_less(b->chain, b->k, chain, k))
			*b = (grove_zbase_t){ .chain = chain, .k = k, .cum = cum },
			strcpy(b->node, node);
		return 0;
	}
	if (v->len == GROVE_ZBASE_MAX)
		return GROVE_ETOOBIG;
	int rc = grove_grow((void **)&v->b, &v->cap, v->len + 1, sizeof(*v->b), 8, 0);
	if (rc)
		return rc;
	b = &v->b[v->len++];
	memset(b, 0, sizeof(*b));
	strcpy(b->node, node);
	b->chain = chain;
	b->k = k;
	b->cum = cum;
	return 0;
}

static int base_cmp(const void *a, const void *b)
{
	const grove_zbase_t *x = a, *y = b;
	return grove_key_cmp((const uint8_t *)x->node, strlen(x->node), (const uint8_t *)y->node,
			strlen(y->node));
}

int grove_zscore_set(const grove_elem_t *cur, const grove_value__dot_t *d, uint64_t ts, double s,
		     grove_elem_t *out)
{
	basev_t v = { 0 };
	int rc = 0;
	for (size_t i = 0; i < cur->len && !rc; i++) {
		zent_t z;
		zent_parse(&cur->e[i], &z);
		if (z.tag == GROVE_ZENTRY_INC) {
			rc = basev_put(&v, cur->e[i].dot.node, z.chain, cur->e[i].dot.counter, z.v);
			continue;
		}
		const uint8_t *p = z.bases;
		for (size_t j = 0; j < z.nbases && !rc; j++) {
			grove_zbase_t b;
			base_next(&p, &b);
			rc = basev_put(&v, b.node, b.chain, b.k, b.cum);
		}
	}
	size_t len = SET_FIXED;
	for (size_t i = 0; i < v.len; i++)
		len += 1 + strlen(v.b[i].node) + 24;
	uint8_t *buf = rc ? NULL : grove_malloc(len);
	if (!rc && !buf)
		rc = GROVE_ENOMEM;
	if (!rc) {
		if (v.len > 1)
			qsort(v.b, v.len, sizeof(*v.b), base_cmp);
		buf[0] = GROVE_ZENTRY_SET;
		putf64(buf + 1, s == 0 ? 0.0 : s);
		buf[9] = (uint8_t)(v.len >> 8);
		buf[10] = (uint8_t)v.len;
		uint8_t *o = buf + SET_FIXED;
		for (size_t i = 0; i < v.len; i++) {
			size_t n = strlen(v.b[i].node);
			*o++ = (uint8_t)n;
			memcpy(o, v.b[i].node, n);
			grove_be64_put(o + n, v.b[i].chain);
			grove_be64_put(o + n + 8, v.b[i].k);
			putf64(o + n + 16, v.b[i].cum);
			o += n + 24;
		}
		grove_entry_t e;
		rc = entry_make(&e, d, ts, buf, len);
		if (!rc)
			rc = grove_grow((void **)&out->e, &out->cap, 1, sizeof(*out->e), 0, 0);
		if (rc) {
			grove_value__blob_free(&e.val);
		} else {
			for (size_t i = 0; i < out->len; i++)
				grove_value__blob_free(&out->e[i].val);
			out->e[0] = e;
			out->len = 1;
		}
	}
	grove_free(buf);
	grove_free(v.b);
	return rc;
}

int grove_zscore_incr(const grove_elem_t *cur, const grove_value__dot_t *d, uint64_t ts,
		      double delta, grove_elem_t *out)
{
	const grove_entry_t *mine = node_inc(cur, d->node);
	uint64_t chain = d->counter;
	double cum = delta;
	if (mine) { /* continue this node's chain; else a new one (its last was removed) */
		zent_t z;
		zent_parse(mine, &z);
		chain = z.chain;
		cum = z.v + delta;
	}
	if (isnan(cum))
		return GROVE_EINVAL;
	uint8_t buf[INC_BYTES];
	buf[0] = GROVE_ZENTRY_INC;
	grove_be64_put(buf + 1, chain);
	putf64(buf + 9, cum);
	grove_elem_t x = { 0 };
	int rc = grove_grow((void **)&x.e, &x.cap, cur->len + 1, sizeof(*x.e), 0, 0);
	bool placed = false;
	for (size_t i = 0; i <= cur->len && !rc; i++) {
		const grove_entry_t *e = i < cur->len ? &cur->e[i] : NULL;
		if (!placed && (!e || grove_value__dot_cmp(d, &e->dot) < 0)) {
			rc = entry_make(&x.e[x.len], d, ts, buf, sizeof(buf));
			if (rc)
				break;
			x.len++;
			placed = true;
		}
		if (!e)
			break;
		if (e->val.p[0] == GROVE_ZENTRY_INC && strcmp(e->dot.node, d->node) == 0)
			continue;
		rc = entry_make(&x.e[x.len], &e->dot, e->ts, e->val.p, e->val.len);
		if (!rc)
			x.len++;
	}
	if (rc) {
		grove_elem_free(&x);
		return rc;
	}
	grove_elem_free(out);
	*out = x;
	return 0;
}

/* ---- index keys ---- */

void grove_zscore_key(double s, uint8_t out[8])
{
	if (s == 0)
		s = 0.0; /* -0 as +0 */
	uint64_t u;
	memcpy(&u, &s, sizeof(u));
	u = (u >> 63) ? ~u : u | (1ull << 63);
	grove_be64_put(out, u);
}

double grove_zscore_from_key(const uint8_t in[8])
{
	uint64_t u = grove_be64_get(in);
	u = (u >> 63) ? u & ~(1ull << 63) : ~u;
	double d;
	memcpy(&d, &u, sizeof(d));
	return d;
}
