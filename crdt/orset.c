/*
 * orset.c - add-wins observed-remove set without tombstones (ORSWOT).
 *
 * Every add draws a fresh dot (node, counter) and records it in the causal
 * context: a version vector (node -> highest contiguous counter) plus a
 * cloud of dots not yet contiguous with it.  An element is present while it
 * has at least one dot.  Add replaces the element's dots by the new one (so
 * re-adding adds no state); remove drops the element and its dots, leaving
 * the context as the only trace.  Merge keeps a dot that both sides hold,
 * and a dot one side holds only if the other side's context has not seen
 * it (had it seen it and dropped it, that was a remove).
 *
 * Elements are sorted bytewise; lookups are binary searches, add and remove
 * cost O(elements) for the memmove, merge O(elements + dots).
 */
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "crdt/value_int.h"

static void dots_free(grove_value__dots_t *d)
{
	grove_free(d->d);
	d->d = NULL;
	d->len = d->cap = 0;
}

static int dots_push(grove_value__dots_t *ds, const grove_value__dot_t *d)
{
	int rc = grove_grow((void **)&ds->d, &ds->cap, ds->len + 1, sizeof(*ds->d), 0, 0);
	if (rc == 0)
		ds->d[ds->len++] = *d;
	return rc;
}

static void elem_free(grove_value__elem_t *e)
{
	grove_value__blob_free(&e->elem);
	dots_free(&e->dots);
}

void grove_value__set_reset(grove_value__set_t *s)
{
	for (size_t i = 0; i < s->len; i++)
		elem_free(&s->e[i]);
	s->len = 0;
}

void grove_value__set_free(grove_value__set_t *s)
{
	grove_value__set_reset(s);
	grove_free(s->e);
	dots_free(&s->vv);
	dots_free(&s->cloud);
	memset(s, 0, sizeof(*s));
}

bool grove_value__set_live(const grove_value__set_t *s)
{
	return s->len > 0;
}

/* Index of the vv entry for node, or of the cloud dot d (by_dot). */
static int dot_cmp_node(const void *elem, const void *key)
{
	return strcmp(((const grove_value__dot_t *)elem)->node, ((const grove_value__dot_t *)key)->node);
}

static int dot_cmp_full(const void *elem, const void *key)
{
	return grove_value__dot_cmp(elem, key);
}

static size_t dots_find(const grove_value__dots_t *ds, const grove_value__dot_t *d, bool by_dot,
			      bool *found)
{
	return grove_value__sorted_find(ds->d, ds->len, sizeof(*ds->d), d,
				  by_dot ? dot_cmp_full : dot_cmp_node, found);
}

uint64_t grove_value__vv_get(const grove_value__dots_t *vv, const char *node)
{
	grove_value__dot_t d = { .counter = 0 };
	memcpy(d.node, node, strlen(node) + 1);
	bool found;
	size_t i = dots_find(vv, &d, false, &found);
	return found ? vv->d[i].counter : 0;
}

bool grove_value__ctx_contains(const grove_value__set_t *s, const grove_value__dot_t *d)
{
	if (grove_value__vv_get(&s->vv, d->node) >= d->counter)
		return true;
	bool found;
	dots_find(&s->cloud, d, true, &found);
	return found;
}

int grove_value__ctx_compact(grove_value__dots_t *vv, grove_value__dots_t *cloud)
{
	grove_value__dots_t nvv = { 0 }, ncl = { 0 };
	int rc = grove_grow((void **)&nvv.d, &nvv.cap, vv->len + cloud->len, sizeof(grove_value__dot_t), 0, 0);
	if (!rc)
		rc = grove_grow((void **)&ncl.d, &ncl.cap, cloud->len, sizeof(grove_value__dot_t), 0, 0);
	if (rc) {
		dots_free(&nvv);
		return rc;
	}
	size_t i = 0, j = 0;
	while (i < vv->len || j < cloud->len) {
		const char *node = i == vv->len ? cloud->d[j].node
				 : j == cloud->len ? vv->d[i].node
				 : strcmp(vv->d[i].node, cloud->d[j].node) <= 0 ? vv->d[i].node
										 : cloud->d[j].node;
		grove_value__dot_t base = { .counter = 0 };
		memcpy(base.node, node, strlen(node) + 1);
		if (i < vv->len && strcmp(vv->d[i].node, node) == 0)
			base.counter = vv->d[i++].counter;
		for (; j < cloud->len && strcmp(cloud->d[j].node, node) == 0; j++) {
			uint64_t c = cloud->d[j].counter;
			if (c == base.counter + 1)
				base.counter = c;
			else if (c > base.counter)
				ncl.d[ncl.len++] = cloud->d[j];
		}
		if (base.counter)
			nvv.d[nvv.len++] = base;
	}
	dots_free(vv);
	dots_free(cloud);
	*vv = nvv;
	*cloud = ncl;
	return 0;
}

/* Sorted union of two sorted dot lists; with max_by_node, one entry per
 * node holding the larger counter (version vectors). */
static int dots_union(grove_value__dots_t *out, const grove_value__dots_t *a, const grove_value__dots_t *b,
			    bool max_by_node)
{
	int rc = grove_grow((void **)&out->d, &out->cap, a->len + b->len, sizeof(grove_value__dot_t), 0, 0);
	if (rc)
		return rc;
	size_t i = 0, j = 0;
	while (i < a->len || j < b->len) {
		int c = i == a->len ? 1
		      : j == b->len ? -1
		      : max_by_node ? strcmp(a->d[i].node, b->d[j].node)
				    : grove_value__dot_cmp(&a->d[i], &b->d[j]);
		grove_value__dot_t d = c <= 0 ? a->d[i] : b->d[j];
		if (c == 0 && b->d[j].counter > d.counter)
			d.counter = b->d[j].counter;
		i += c <= 0;
		j += c >= 0;
		out->d[out->len++] = d;
	}
	return 0;
}

/* Dots of one element after merge: kept if both hold it, or if the side
 * lacking it has not seen it.  x or y may be NULL (element on one side). */
static int elem_dots_merge(grove_value__dots_t *out, const grove_value__elem_t *x, const grove_value__set_t *a,
				 const grove_value__elem_t *y, const grove_value__set_t *b)
{
	static const grove_value__dots_t none = { 0 };
	const grove_value__dots_t *da = x ? &x->dots : &none, *db = y ? &y->dots : &none;
	size_t i = 0, j = 0;
	while (i < da->len || j < db->len) {
		int c = i == da->len ? 1 : j == db->len ? -1 : grove_value__dot_cmp(&da->d[i], &db->d[j]);
		const grove_value__dot_t *d = c <= 0 ? &da->d[i] : &db->d[j];
		bool keep = c == 0 || (c < 0 ? !grove_value__ctx_contains(b, d) : !grove_value__ctx_contains(a, d));
		i += c <= 0;
		j += c >= 0;
		if (keep) {
			int rc = dots_push(out, d);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int set_merge_elem(grove_value__set_t *out, const grove_value__elem_t *x, const grove_value__set_t *a,
				const grove_value__elem_t *y, const grove_value__set_t *b)
{
	grove_value__elem_t e = { 0 };
	int rc = elem_dots_merge(&e.dots, x, a, y, b);
	if (rc == 0 && e.dots.len > 0) {
		const grove_value__blob_t *src = x ? &x->elem : &y->elem;
		rc = grove_value__blob_set(&e.elem, src->p, src->len);
		if (rc == 0)
			rc = grove_grow((void **)&out->e, &out->cap, out->len + 1, sizeof(*out->e), 0, 0);
		if (rc == 0) {
			out->e[out->len++] = e;
			return 0;
		}
	}
	elem_free(&e);
	return rc;
}

int grove_value__set_merge(grove_value__set_t *out, const grove_value__set_t *a, const grove_value__set_t *b)
{
	int rc = dots_union(&out->vv, &a->vv, &b->vv, true);
	if (!rc)
		rc = dots_union(&out->cloud, &a->cloud, &b->cloud, false);
	if (!rc)
		rc = grove_value__ctx_compact(&out->vv, &out->cloud);
	size_t i = 0, j = 0;
	while (!rc && (i < a->len || j < b->len)) {
		int c = i == a->len ? 1
		      : j == b->len ? -1
		      : grove_value__blob_cmp(&a->e[i].elem, b->e[j].elem.p, b->e[j].elem.len);
		rc = set_merge_elem(out, c <= 0 ? &a->e[i] : NULL, a, c >= 0 ? &b->e[j] : NULL, b);
		i += c <= 0;
		j += c >= 0;
	}
	return rc;
}

bool grove_value__set_eq(const grove_value__set_t *a, const grove_value__set_t *b)
{
	if (a->len != b->len || !grove_value__dots_eq(&a->vv, &b->vv) || !grove_value__dots_eq(&a->cloud, &b->cloud))
		return false;
	for (size_t i = 0; i < a->len; i++)
		if (!grove_value__blob_eq(&a->e[i].elem, &b->e[i].elem) ||
		    !grove_value__dots_eq(&a->e[i].dots, &b->e[i].dots))
			return false;
	return true;
}

static int elem_cmp(const void *elem, const void *key)
{
	const grove_value__bytes_t *k = key;
	return grove_value__blob_cmp(&((const grove_value__elem_t *)elem)->elem, k->p, k->len);
}

static size_t set_find(const grove_value__set_t *s, const void *elem, size_t len, bool *found)
{
	grove_value__bytes_t k = { elem, len };
	return grove_value__sorted_find(s->e, s->len, sizeof(*s->e), &k, elem_cmp, found);
}

/* The next dot of node: above everything the context holds for it. */
static grove_value__dot_t set_next_dot(const grove_value__set_t *s, const char *node)
{
	grove_value__dot_t d = { .counter = grove_value__vv_get(&s->vv, node) };
	memcpy(d.node, node, strlen(node) + 1);
	for (size_t i = 0; i < s->cloud.len; i++)
		if (strcmp(s->cloud.d[i].node, node) == 0 && s->cloud.d[i].counter > d.counter)
			d.counter = s->cloud.d[i].counter;
	d.counter++;
	return d;
}

/* Records dot d (the next one of its node) in the context.  Needs one free
 * slot in vv and cloud (reserved by the caller), so it cannot fail. */
static void ctx_record(grove_value__set_t *s, const grove_value__dot_t *d)
{
	bool found;
	size_t i = dots_find(&s->vv, d, false, &found);
	if (found && s->vv.d[i].counter + 1 == d->counter) {
		s->vv.d[i].counter = d->counter;
		return;
	}
	grove_value__dots_t *ds = &s->vv;
	if (found || d->counter != 1) {
		ds = &s->cloud;
		i = dots_find(ds, d, true, &found);
	}
	memmove(&ds->d[i + 1], &ds->d[i], (ds->len - i) * sizeof(*ds->d));
	ds->d[i] = *d;
	ds->len++;
}

/* Adds elem with a fresh dot on a set that is already the visible type.
 * Reserves everything first, then mutates without failing. */
static int set_add(grove_value__set_t *s, const char *node, const void *elem, size_t len,
			 bool *added)
{
	grove_value__dot_t d = set_next_dot(s, node);
	if (d.counter == 0)
		return GROVE_EOVERFLOW; /* the node's counter space is exhausted */
	bool found;
	size_t at = set_find(s, elem, len, &found);
	grove_value__elem_t e = { 0 };
	int rc = grove_grow((void **)&s->vv.d, &s->vv.cap, s->vv.len + 1, sizeof(grove_value__dot_t), 0, 0);
	if (!rc)
		rc = grove_grow((void **)&s->cloud.d, &s->cloud.cap, s->cloud.len + 1,
				       sizeof(grove_value__dot_t), 0, 0);
	if (!rc && !found)
		rc = grove_grow((void **)&s->e, &s->cap, s->len + 1, sizeof(*s->e), 0, 0);
	if (!rc && !found)
		rc = grove_value__blob_set(&e.elem, elem, len);
	if (!rc && !found)
		rc = dots_push(&e.dots, &d);
	if (rc) {
		elem_free(&e);
		return rc;
	}
	ctx_record(s, &d);
	if (found) {
		s->e[at].dots.len = 1;
		s->e[at].dots.d[0] = d;
	} else {
		memmove(&s->e[at + 1], &s->e[at], (s->len - at) * sizeof(*s->e));
		s->e[at] = e;
		s->len++;
	}
	if (added)
		*added = !found;
	return 0;
}

int grove_orset_add(grove_value_t *v, const char *node, const void *elem, size_t len, bool *added)
{
	if (len > GROVE_BLOB_MAX || (len && !elem))
		return GROVE_EINVAL;
	grove_value_t *w;
	int rc = grove_value__value_begin(v, GROVE_TYPE_SET, node, &w);
	if (rc)
		return rc;
	return grove_value_end(v, w, set_add(&w->set, node, elem, len, added));
}

int grove_orset_remove(grove_value_t *v, const char *node, const void *elem, size_t len,
		       bool *removed)
{
	if (!grove_value__node_valid(node) || len > GROVE_BLOB_MAX || (len && !elem))
		return GROVE_EINVAL;
	grove_type_t t = grove_value_type(v);
	if (t != GROVE_TYPE_SET && t != GROVE_TYPE_NONE)
		return GROVE_EWRONGTYPE;
	bool found = false;
	grove_value__set_t *s = &v->set;
	size_t at = t == GROVE_TYPE_SET ? set_find(s, elem, len, &found) : 0;
	if (found) {
		elem_free(&s->e[at]);
		memmove(&s->e[at], &s->e[at + 1], (s->len - at - 1) * sizeof(*s->e));
		s->len--;
	}
	if (removed)
		*removed = found;
	return 0;
}

bool grove_orset_contains(const grove_value_t *v, const void *elem, size_t len)
{
	bool found = false;
	if (grove_value_type(v) == GROVE_TYPE_SET)
		set_find(&v->set, elem, len, &found);
	return found;
}

size_t grove_orset_count(const grove_value_t *v)
{
	return grove_value_type(v) == GROVE_TYPE_SET ? v->set.len : 0;
}

void grove_orset_member(const grove_value_t *v, size_t i, const void **elem, size_t *len)
{
	GROVE_ASSERT(i < grove_orset_count(v));
	const grove_value__blob_t *b = &v->set.e[i].elem;
	*elem = b->p ? (const void *)b->p : (const void *)"";
	*len = b->len;
}
