/*
 * pncounter.c - PN-counter with observed-remove reset.
 *
 * Each node that touched the counter has an entry (p, n, bp, bn): its
 * increment and decrement totals, and the baselines a key delete recorded
 * (the totals the deleting replica had seen).  Merge takes the per-node
 * maximum of all four, so a delete never erases increments it had not seen.
 * value = sum over nodes of (p - bp) - (n - bn).  Entries are sorted by node
 * id (bytewise); cost of add and get is O(nodes).
 */
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "base/num.h"
#include "crdt/value_int.h"

void grove_value__counter_free(grove_value__counter_t *c)
{
	grove_free(c->e);
	c->e = NULL;
	c->len = c->cap = 0;
}

bool grove_value__counter_live(const grove_value__counter_t *c)
{
	for (size_t i = 0; i < c->len; i++)
		if (c->e[i].p > c->e[i].bp || c->e[i].n > c->e[i].bn)
			return true;
	return false;
}

void grove_value__counter_reset(grove_value__counter_t *c)
{
	for (size_t i = 0; i < c->len; i++) {
		c->e[i].bp = c->e[i].p;
		c->e[i].bn = c->e[i].n;
	}
}

static uint64_t max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

int grove_value__counter_merge(grove_value__counter_t *out, const grove_value__counter_t *a, const grove_value__counter_t *b)
{
	int rc = grove_grow((void **)&out->e, &out->cap, a->len + b->len, sizeof(*out->e), 0, 0);
	if (rc)
		return rc;
	size_t i = 0, j = 0;
	while (i < a->len || j < b->len) {
		int c = i == a->len ? 1 : j == b->len ? -1 : strcmp(a->e[i].node, b->e[j].node);
		grove_value__pnentry_t e = c <= 0 ? a->e[i] : b->e[j];
		if (c == 0) {
			const grove_value__pnentry_t *o = &b->e[j];
			e.p = max64(e.p, o->p);
			e.n = max64(e.n, o->n);
			e.bp = max64(e.bp, o->bp);
			e.bn = max64(e.bn, o->bn);
		}
		i += c <= 0;
		j += c >= 0;
		out->e[out->len++] = e;
	}
	return 0;
}

bool grove_value__counter_eq(const grove_value__counter_t *a, const grove_value__counter_t *b)
{
	if (a->len != b->len)
		return false;
	for (size_t i = 0; i < a->len; i++) {
		const grove_value__pnentry_t *x = &a->e[i], *y = &b->e[i];
		if (strcmp(x->node, y->node) || x->p != y->p || x->n != y->n || x->bp != y->bp ||
		    x->bn != y->bn)
			return false;
	}
	return true;
}

/* Sum of (p - bp) - (n - bn); fits easily: at most 2^24 entries of < 2^64. */
static __int128 counter_sum(const grove_value__counter_t *c)
{
	__int128 s = 0;
	for (size_t i = 0; i < c->len; i++)
		s += (__int128)(c->e[i].p - c->e[i].bp) - (__int128)(c->e[i].n - c->e[i].bn);
	return s;
}

static int pnentry_cmp_node(const void *elem, const void *key)
{
	return strcmp(((const grove_value__pnentry_t *)elem)->node, key);
}

static size_t counter_find(const grove_value__counter_t *c, const char *node, bool *found)
{
	return grove_value__sorted_find(c->e, c->len, sizeof(*c->e), node, pnentry_cmp_node, found);
}

/* Applies a non-zero delta for node on a counter that is already the
 * visible type (a zero delta would leave an all-zero entry, which is not
 * canonical). */
static int counter_add(grove_value__counter_t *c, const char *node, int64_t delta)
{
	GROVE_ASSERT(delta != 0);
	__int128 next = counter_sum(c) + delta;
	if (next > INT64_MAX || next < INT64_MIN)
		return GROVE_EOVERFLOW;
	bool found;
	size_t at = counter_find(c, node, &found);
	uint64_t mag = delta >= 0 ? (uint64_t)delta : (uint64_t)(-(delta + 1)) + 1;
	if (found) {
		uint64_t total = delta >= 0 ? c->e[at].p : c->e[at].n;
		if (total > UINT64_MAX - mag)
			return GROVE_EOVERFLOW;
	} else {
		int rc = grove_grow((void **)&c->e, &c->cap, c->len + 1, sizeof(*c->e), 0, 0);
		if (rc)
			return rc;
		memmove(&c->e[at + 1], &c->e[at], (c->len - at) * sizeof(*c->e));
		memset(&c->e[at], 0, sizeof(*c->e));
		memcpy(c->e[at].node, node, strlen(node) + 1);
		c->len++;
	}
	if (delta >= 0)
		c->e[at].p += mag;
	else
		c->e[at].n += mag;
	return 0;
}

int grove_pncounter_add(grove_value_t *v, const char *node, int64_t delta)
{
	if (delta == 0) { /* changes nothing, creates nothing; still type-checked */
		grove_type_t t = grove_value_type(v);
		if (!grove_value__node_valid(node))
			return GROVE_EINVAL;
		return t == GROVE_TYPE_NONE || t == GROVE_TYPE_COUNTER ? 0 : GROVE_EWRONGTYPE;
	}
	grove_value_t *w;
	int rc = grove_value__value_begin(v, GROVE_TYPE_COUNTER, node, &w);
	if (rc)
		return rc;
	return grove_value_end(v, w, counter_add(&w->counter, node, delta));
}

int grove_pncounter_get(const grove_value_t *v, int64_t *out)
{
	grove_type_t t = grove_value_type(v);
	if (t == GROVE_TYPE_NONE)
		return GROVE_ENOTFOUND;
	if (t != GROVE_TYPE_COUNTER)
		return GROVE_EWRONGTYPE;
	__int128 s = counter_sum(&v->counter);
	if (s > INT64_MAX || s < INT64_MIN)
		return GROVE_EOVERFLOW;
	*out = (int64_t)s;
	return 0;
}

int grove_pncounter_from_register(grove_value_t *v, const char *node, int64_t delta, int64_t *out)
{
	if (!grove_value__node_valid(node))
		return GROVE_EINVAL;
	if (grove_value_type(v) != GROVE_TYPE_REGISTER)
		return GROVE_EWRONGTYPE;
	int64_t n;
	if (!grove_parse_i64(v->reg.val.p, v->reg.val.len, &n))
		return GROVE_ERANGE;
	if ((delta > 0 && n > INT64_MAX - delta) || (delta < 0 && n < INT64_MIN - delta))
		return GROVE_EOVERFLOW;
	if (delta == 0) {
		*out = n;
		return 0;
	}
	char writer[GROVE_NODE_ID_MAX + 1];
	memcpy(writer, v->reg.id.node, sizeof(writer));
	grove_value_t *w;
	int rc = grove_value_clone(v, &w);
	if (rc)
		return rc;
	rc = grove_value_delete(w, node, 0); /* the register, observed-remove */
	if (rc == 0 && n != 0)
		rc = grove_pncounter_add(w, writer, n); /* creates the counter */
	if (rc == 0)
		rc = grove_pncounter_add(w, node, delta);
	if (rc == 0)
		rc = grove_pncounter_get(w, out);
	return grove_value_end(v, w, rc);
}
