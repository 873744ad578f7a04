/*
 * basev.c - baseline lists, INC entries and the shared half of the read
 * and write rules of sorted-set scores and counter fields (basev_int.h has
 * the format and the rule; zscore.c and hcount.c what is their own).
 */
#include <stdlib.h>
#include <string.h>

#include "base/bytes.h"
#include "base/num.h"
#include "grove/alloc.h"
#include "crdt/basev_int.h"

/* One baseline, its cum as stored (8 bytes BE as a u64). */
typedef struct basev {
	char node[GROVE_NODE_ID_MAX + 1];
	uint64_t chain, k, cum;
} basev_t;

/* A growable list of baselines: zeroed to start, vec_free. */
typedef struct basev_vec {
	basev_t *b;
	size_t len, cap;
} basev_vec_t;

/* ---- codec ---- */

static bool cum_ok(const grove_basev_rule_t *r, uint64_t cum)
{
	return !r->cum_ok || r->cum_ok(cum);
}

int grove_basev__check(const grove_basev_rule_t *r, const uint8_t *p, size_t len, size_t *n,
		       size_t *used)
{
	if (len < 2)
		return GROVE_EDECODE;
	size_t cnt = (size_t)p[0] << 8 | p[1], at = 2;
	if (cnt > GROVE_BASEV_MAX)
		return GROVE_EDECODE;
	const uint8_t *prev = NULL;
	size_t prev_len = 0;
	for (size_t i = 0; i < cnt; i++) {
		if (at >= len)
			return GROVE_EDECODE;
		size_t nl = p[at];
		if (nl < 1 || nl > GROVE_NODE_ID_MAX || len - at < 1 + nl + GROVE_BASEV_FIXED)
			return GROVE_EDECODE;
		const uint8_t *node = p + at + 1;
		if (memchr(node, 0, nl) || (prev && grove_key_cmp(prev, prev_len, node, nl) >= 0))
			return GROVE_EDECODE;
		uint64_t chain = grove_be64_get(node + nl), k = grove_be64_get(node + nl + 8);
		if (chain < 1 || k < chain || !cum_ok(r, grove_be64_get(node + nl + 16)))
			return GROVE_EDECODE;
		prev = node;
		prev_len = nl;
		at += 1 + nl + GROVE_BASEV_FIXED;
	}
	*n = cnt;
	*used = at;
	return 0;
}

int grove_basev__inc_check(const grove_basev_rule_t *r, const uint8_t *p, size_t len,
			   uint64_t counter)
{
	if (len != r->inc_at + GROVE_BASEV_INC_BYTES)
		return GROVE_EDECODE;
	uint64_t chain = grove_be64_get(p + r->inc_at);
	if (chain < 1 || chain > counter || !cum_ok(r, grove_be64_get(p + r->inc_at + 8)))
		return GROVE_EDECODE;
	return 0;
}

/* ---- checked entries ---- */

static uint8_t entry_tag(const grove_basev_rule_t *r, const grove_entry_t *e)
{
	return r->tag_in_val ? e->val.p[0] : e->tag;
}

/* A checked INC entry's chain and cum. */
static uint64_t inc_chain(const grove_basev_rule_t *r, const grove_entry_t *e)
{
	return grove_be64_get(e->val.p + r->inc_at);
}

static uint64_t inc_cum(const grove_basev_rule_t *r, const grove_entry_t *e)
{
	return grove_be64_get(e->val.p + r->inc_at + 8);
}

/* A checked SET entry's first baseline and their count *n. */
static const uint8_t *set_list(const grove_basev_rule_t *r, const grove_entry_t *e, size_t *n)
{
	const uint8_t *p = e->val.p + r->set_at;
	*n = (size_t)p[0] << 8 | p[1];
	return p + 2;
}

/* Reads the baseline at *p into b and moves *p past it. */
static void base_next(const uint8_t **p, basev_t *b)
{
	const uint8_t *q = *p;
	size_t n = q[0];
	memcpy(b->node, q + 1, n);
	b->node[n] = '\0';
	b->chain = grove_be64_get(q + 1 + n);
	b->k = grove_be64_get(q + 9 + n);
	b->cum = grove_be64_get(q + 17 + n);
	*p = q + 1 + n + GROVE_BASEV_FIXED;
}

const uint8_t *grove_basev__set_tail(const grove_basev_rule_t *r, const grove_entry_t *e,
				     size_t *len)
{
	size_t n;
	const uint8_t *p = set_list(r, e, &n);
	for (size_t i = 0; i < n; i++)
		p += 1 + p[0] + GROVE_BASEV_FIXED;
	*len = e->val.len - (size_t)(p - e->val.p);
	return p;
}

/* ---- the read rule ---- */

const grove_entry_t *grove_basev__winner(const grove_basev_rule_t *r, const grove_elem_t *x)
{
	const grove_entry_t *w = NULL;
	for (size_t i = 0; i < x->len; i++)
		if (entry_tag(r, &x->e[i]) != GROVE_BASEV_INC &&
		    (!w || grove_entry_wins(&x->e[i], w)))
			w = &x->e[i];
	return w;
}

static bool is_inc_of(const grove_basev_rule_t *r, const grove_entry_t *e, const char *node)
{
	return entry_tag(r, e) == GROVE_BASEV_INC && strcmp(e->dot.node, node) == 0;
}

/* The INC entry of node with the greatest counter, NULL: none (entries
 * are sorted by dot, node then counter: the last is the latest). */
static const grove_entry_t *node_inc(const grove_basev_rule_t *r, const grove_elem_t *x,
				     const char *node)
{
	const grove_entry_t *e = NULL;
	for (size_t i = 0; i < x->len; i++)
		if (is_inc_of(r, &x->e[i], node))
			e = &x->e[i];
	return e;
}

bool grove_basev__chain(const grove_basev_rule_t *r, const grove_elem_t *x, const char *node,
			uint64_t *chain, uint64_t *cum)
{
	const grove_entry_t *e = node_inc(r, x, node);
	if (!e)
		return false;
	*chain = inc_chain(r, e);
	*cum = inc_cum(r, e);
	return true;
}

/* w's baseline for node, if w is a SET that has one. */
static bool set_base(const grove_basev_rule_t *r, const grove_entry_t *w, const char *node,
		     basev_t *out)
{
	if (!w || entry_tag(r, w) != GROVE_BASEV_SET)
		return false;
	size_t n;
	const uint8_t *p = set_list(r, w, &n);
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

bool grove_basev__add_next(const grove_basev_rule_t *r, const grove_elem_t *x,
			   const grove_entry_t *w, size_t *i, grove_basev_add_t *out)
{
	for (; *i < x->len; (*i)++) {
		const grove_entry_t *e = &x->e[*i];
		if (entry_tag(r, e) != GROVE_BASEV_INC)
			continue;
		if (*i + 1 < x->len && is_inc_of(r, &x->e[*i + 1], e->dot.node))
			continue; /* not this node's latest */
		(*i)++;
		out->cum = inc_cum(r, e);
		out->base = 0;
		basev_t b;
		if (set_base(r, w, e->dot.node, &b) && b.chain == inc_chain(r, e)) {
			out->how = e->dot.counter > b.k ? GROVE_BASEV_ADD_DIFF : GROVE_BASEV_ADD_NONE;
			out->base = b.cum;
		} else {
			out->how = GROVE_BASEV_ADD_CUM;
		}
		return true;
	}
	return false;
}

/* ---- writes ---- */

static bool pos_less(uint64_t c1, uint64_t k1, uint64_t c2, uint64_t k2)
{
	return c1 != c2 ? c1 < c2 : k1 < k2;
}

/* Records position (chain, k, cum) for node when greater. */
static int vec_put(basev_vec_t *v, const char *node, uint64_t chain, uint64_t k,
		   uint64_t cum)
{
	for (size_t i = 0; i < v->len; i++) {
		basev_t *b = &v->b[i];
		if (strcmp(b->node, node) != 0)
			continue;
		if (pos_less(b->chain, b->k, chain, k))
			b->chain = chain, b->k = k, b->cum = cum;
		return 0;
	}
	if (v->len == GROVE_BASEV_MAX)
		return GROVE_ETOOBIG;
	int rc = grove_grow((void **)&v->b, &v->cap, v->len + 1, sizeof(*v->b), 8, 0);
	if (rc)
		return rc;
	basev_t *b = &v->b[v->len++];
	memset(b, 0, sizeof(*b));
	strcpy(b->node, node);
	b->chain = chain;
	b->k = k;
	b->cum = cum;
	return 0;
}

/* The baselines a SET replacing cur carries: per node the greatest
 * (chain, k) among cur's INC entries and its SETs' baselines. */
static int collect(const grove_basev_rule_t *r, const grove_elem_t *cur, basev_vec_t *v)
{
	int rc = 0;
	for (size_t i = 0; i < cur->len && !rc; i++) {
		const grove_entry_t *e = &cur->e[i];
		uint8_t tag = entry_tag(r, e);
		if (tag == GROVE_BASEV_INC) {
			rc = vec_put(v, e->dot.node, inc_chain(r, e), e->dot.counter,
				     inc_cum(r, e));
		} else if (tag == GROVE_BASEV_SET) {
			size_t n;
			const uint8_t *p = set_list(r, e, &n);
			for (size_t j = 0; j < n && !rc; j++) {
				basev_t b;
				base_next(&p, &b);
				rc = vec_put(v, b.node, b.chain, b.k, b.cum);
			}
		}
	}
	return rc;
}

/* The bytes of v's list (count included). */
static size_t vec_bytes(const basev_vec_t *v)
{
	size_t len = 2;
	for (size_t i = 0; i < v->len; i++)
		len += 1 + strlen(v->b[i].node) + GROVE_BASEV_FIXED;
	return len;
}

static int base_cmp(const void *a, const void *b)
{
	const basev_t *x = a, *y = b;
	return grove_key_cmp(x->node, strlen(x->node), y->node, strlen(y->node));
}

/* Sorts v and writes its list at o; returns the byte after it. */
static uint8_t *vec_write(basev_vec_t *v, uint8_t *o)
{
	if (v->len > 1)
		qsort(v->b, v->len, sizeof(*v->b), base_cmp);
	*o++ = (uint8_t)(v->len >> 8);
	*o++ = (uint8_t)v->len;
	for (size_t i = 0; i < v->len; i++) {
		size_t n = strlen(v->b[i].node);
		*o++ = (uint8_t)n;
		memcpy(o, v->b[i].node, n);
		grove_be64_put(o + n, v->b[i].chain);
		grove_be64_put(o + n + 8, v->b[i].k);
		grove_be64_put(o + n + 16, v->b[i].cum);
		o += n + GROVE_BASEV_FIXED;
	}
	return o;
}

static void vec_free(basev_vec_t *v)
{
	grove_free(v->b);
	memset(v, 0, sizeof(*v));
}

static int entry_make(grove_entry_t *e, const grove_value__dot_t *d, uint64_t ts, uint8_t tag,
		      const uint8_t *val, size_t len)
{
	memset(e, 0, sizeof(*e));
	e->dot = *d;
	e->ts = ts;
	e->tag = tag;
	return grove_value__blob_set(&e->val, val, len);
}

int grove_basev__set(const grove_basev_rule_t *r, const grove_elem_t *cur,
		     const grove_value__dot_t *d, uint64_t ts, const uint8_t *head, const void *tail,
		     size_t tail_len, grove_elem_t *out)
{
	basev_vec_t v = { 0 };
	int rc = collect(r, cur, &v);
	if (rc == 0 && v.len == 0 && r->set_plain) {
		vec_free(&v);
		return grove_elem_set_one(out, d, ts, tail, tail_len);
	}
	size_t len = r->set_at + vec_bytes(&v) + tail_len;
	uint8_t *buf = rc ? NULL : grove_malloc(len);
	if (!rc && !buf)
		rc = GROVE_ENOMEM;
	if (!rc) {
		if (r->set_at)
			memcpy(buf, head, r->set_at);
		uint8_t *o = vec_write(&v, buf + r->set_at);
		if (tail_len)
			memcpy(o, tail, tail_len);
		rc = grove_elem_set_one(out, d, ts, buf, len);
		if (!rc && !r->tag_in_val)
			out->e[0].tag = GROVE_BASEV_SET;
	}
	grove_free(buf);
	vec_free(&v);
	return rc;
}

int grove_basev__incr(const grove_basev_rule_t *r, const grove_elem_t *cur,
		      const grove_value__dot_t *d, uint64_t ts, const uint8_t *val, size_t len,
		      grove_elem_t *out)
{
	grove_elem_t x = { 0 };
	int rc = grove_grow((void **)&x.e, &x.cap, cur->len + 1, sizeof(*x.e), 0, 0);
	bool placed = false;
	for (size_t i = 0; i <= cur->len && !rc; i++) {
		const grove_entry_t *e = i < cur->len ? &cur->e[i] : NULL;
		if (!placed && (!e || grove_value__dot_cmp(d, &e->dot) < 0)) {
			rc = entry_make(&x.e[x.len], d, ts, r->tag_in_val ? 0 : GROVE_BASEV_INC, val,
					len);
			if (rc)
				break;
			x.len++;
			placed = true;
		}
		if (!e)
			break;
		if (is_inc_of(r, e, d->node))
			continue;
		rc = entry_make(&x.e[x.len], &e->dot, e->ts, e->tag, e->val.p, e->val.len);
		if (!rc)
			x.len++;
	}
	if (rc == 0 && x.len > r->entries_max)
		rc = GROVE_ETOOBIG;
	if (rc) {
		grove_elem_free(&x);
		return rc;
	}
	grove_elem_free(out);
	*out = x;
	return 0;
}
