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

#include "crdt/alloc.h"
#include "crdt/assert.h"
#include "crdt/value_impl.h"

static void grove_dots_free(grove_dots_t *d)
{
	grove_free(d->d);
	d->d = NULL;
	d->len = d->cap = 0;
}

static int grove_dots_push(grove_dots_t *ds, const grove_dot_t *d)
{
	int rc = grove_vec_reserve((void **)&ds->d, &ds->cap, ds->len + 1, sizeof(*ds->d));
	if (rc == 0)
		ds->d[ds->len++] = *d;
	return rc;
}

static void grove_elem_free(grove_elem_t *e)
{
	grove_blob_free(&e->elem);
	grove_dots_free(&e->dots);
}

void grove_set_reset(grove_set_t *s)
{
	for (size_t i = 0; i < s->len; i++)
		grove_elem_free(&s->e[i]);
	s->len = 0;
}

void grove_set_free(grove_set_t *s)
{
	grove_set_reset(s);
	grove_free(s->e);
	grove_dots_free(&s->vv);
	grove_dots_free(&s->cloud);
	memset(s, 0, sizeof(*s));
}

bool grove_set_live(const grove_set_t *s)
{
	return s->len > 0;
}

/* Index of the vv entry for node, or of the cloud dot d (by_dot). */
static size_t grove_dots_find(const grove_dots_t *ds, const grove_dot_t *d, bool by_dot,
			      bool *found)
{
	size_t lo = 0, hi = ds->len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = by_dot ? grove_dot_cmp(&ds->d[mid], d) : strcmp(ds->d[mid].node, d->node);
		if (r == 0) {
			*found = true;
			return mid;
		}
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

uint64_t grove_vv_get(const grove_dots_t *vv, const char *node)
{
	grove_dot_t d = { .counter = 0 };
	memcpy(d.node, node, strlen(node) + 1);
	bool found;
	size_t i = grove_dots_find(vv, &d, false, &found);
	return found ? vv->d[i].counter : 0;
}

bool grove_ctx_contains(const grove_set_t *s, const grove_dot_t *d)
{
	if (grove_vv_get(&s->vv, d->node) >= d->counter)
		return true;
	bool found;
	grove_dots_find(&s->cloud, d, true, &found);
	return found;
}

int grove_ctx_compact(grove_dots_t *vv, grove_dots_t *cloud)
{
	grove_dots_t nvv = { 0 }, ncl = { 0 };
	int rc = grove_vec_reserve((void **)&nvv.d, &nvv.cap, vv->len + cloud->len, sizeof(grove_dot_t));
	if (!rc)
		rc = grove_vec_reserve((void **)&ncl.d, &ncl.cap, cloud->len, sizeof(grove_dot_t));
	if (rc) {
		grove_dots_free(&nvv);
		return rc;
	}
	size_t i = 0, j = 0;
	while (i < vv->len || j < cloud->len) {
		const char *node = i == vv->len ? cloud->d[j].node
				 : j == cloud->len ? vv->d[i].node
				 : strcmp(vv->d[i].node, cloud->d[j].node) <= 0 ? vv->d[i].node
										 : cloud->d[j].node;
		grove_dot_t base = { .counter = 0 };
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
	grove_dots_free(vv);
	grove_dots_free(cloud);
	*vv = nvv;
	*cloud = ncl;
	return 0;
}

/* Sorted union of two sorted dot lists; with max_by_node, one entry per
 * node holding the larger counter (version vectors). */
static int grove_dots_union(grove_dots_t *out, const grove_dots_t *a, const grove_dots_t *b,
			    bool max_by_node)
{
	int rc = grove_vec_reserve((void **)&out->d, &out->cap, a->len + b->len, sizeof(grove_dot_t));
	if (rc)
		return rc;
	size_t i = 0, j = 0;
	while (i < a->len || j < b->len) {
		int c = i == a->len ? 1
		      : j == b->len ? -1
		      : max_by_node ? strcmp(a->d[i].node, b->d[j].node)
				    : grove_dot_cmp(&a->d[i], &b->d[j]);
		grove_dot_t d = c <= 0 ? a->d[i] : b->d[j];
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
static int grove_elem_dots_merge(grove_dots_t *out, const grove_elem_t *x, const grove_set_t *a,
				 const grove_elem_t *y, const grove_set_t *b)
{
	static const grove_dots_t none = { 0 };
	const grove_dots_t *da = x ? &x->dots : &none, *db = y ? &y->dots : &none;
	size_t i = 0, j = 0;
	while (i < da->len || j < db->len) {
		int c = i == da->len ? 1 : j == db->len ? -1 : grove_dot_cmp(&da->d[i], &db->d[j]);
		const grove_dot_t *d = c <= 0 ? &da->d[i] : &db->d[j];
		bool keep = c == 0 || (c < 0 ? !grove_ctx_contains(b, d) : !grove_ctx_contains(a, d));
		i += c <= 0;
		j += c >= 0;
		if (keep) {
			int rc = grove_dots_push(out, d);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int grove_set_merge_elem(grove_set_t *out, const grove_elem_t *x, const grove_set_t *a,
				const grove_elem_t *y, const grove_set_t *b)
{
	grove_elem_t e = { 0 };
	int rc = grove_elem_dots_merge(&e.dots, x, a, y, b);
	if (rc == 0 && e.dots.len > 0) {
		const grove_blob_t *src = x ? &x->elem : &y->elem;
		rc = grove_blob_set(&e.elem, src->p, src->len);
		if (rc == 0)
			rc = grove_vec_reserve((void **)&out->e, &out->cap, out->len + 1, sizeof(*out->e));
		if (rc == 0) {
			out->e[out->len++] = e;
			return 0;
		}
	}
	grove_elem_free(&e);
	return rc;
}

int grove_set_merge(grove_set_t *out, const grove_set_t *a, const grove_set_t *b)
{
	int rc = grove_dots_union(&out->vv, &a->vv, &b->vv, true);
	if (!rc)
		rc = grove_dots_union(&out->cloud, &a->cloud, &b->cloud, false);
	if (!rc)
		rc = grove_ctx_compact(&out->vv, &out->cloud);
	size_t i = 0, j = 0;
	while (!rc && (i < a->len || j < b->len)) {
		int c = i == a->len ? 1
		      : j == b->len ? -1
		      : grove_blob_cmp(&a->e[i].elem, b->e[j].elem.p, b->e[j].elem.len);
		rc = grove_set_merge_elem(out, c <= 0 ? &a->e[i] : NULL, a, c >= 0 ? &b->e[j] : NULL, b);
		i += c <= 0;
		j += c >= 0;
	}
	return rc;
}

bool grove_set_eq(const grove_set_t *a, const grove_set_t *b)
{
	if (a->len != b->len || !grove_dots_eq(&a->vv, &b->vv) || !grove_dots_eq(&a->cloud, &b->cloud))
		return false;
	for (size_t i = 0; i < a->len; i++)
		if (!grove_blob_eq(&a->e[i].elem, &b->e[i].elem) ||
		    !grove_dots_eq(&a->e[i].dots, &b->e[i].dots))
			return false;
	return true;
}

static size_t grove_set_find(const grove_set_t *s, const void *elem, size_t len, bool *found)
{
	size_t lo = 0, hi = s->len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = grove_blob_cmp(&s->e[mid].elem, elem, len);
		if (r == 0) {
			*found = true;
			return mid;
		}
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

/* The next dot of node: above everything the context holds for it. */
static grove_dot_t grove_set_next_dot(const grove_set_t *s, const char *node)
{
	grove_dot_t d = { .counter = grove_vv_get(&s->vv, node) };
	memcpy(d.node, node, strlen(node) + 1);
	for (size_t i = 0; i < s->cloud.len; i++)
		if (strcmp(s->cloud.d[i].node, node) == 0 && s->cloud.d[i].counter > d.counter)
			d.counter = s->cloud.d[i].counter;
	d.counter++;
	return d;
}

/* Records dot d (the next one of its node) in the context.  Needs one free
 * slot in vv and cloud (reserved by the caller), so it cannot fail. */
static void grove_ctx_record(grove_set_t *s, const grove_dot_t *d)
{
	bool found;
	size_t i = grove_dots_find(&s->vv, d, false, &found);
	if (found && s->vv.d[i].counter + 1 == d->counter) {
		s->vv.d[i].counter = d->counter;
		return;
	}
	grove_dots_t *ds = &s->vv;
	if (found || d->counter != 1) {
		ds = &s->cloud;
		i = grove_dots_find(ds, d, true, &found);
	}
	memmove(&ds->d[i + 1], &ds->d[i], (ds->len - i) * sizeof(*ds->d));
	ds->d[i] = *d;
	ds->len++;
}

/* Adds elem with a fresh dot on a set that is already the visible type.
 * Reserves everything first, then mutates without failing. */
static int grove_set_add(grove_set_t *s, const char *node, const void *elem, size_t len,
			 bool *added)
{
	grove_dot_t d = grove_set_next_dot(s, node);
	if (d.counter == 0)
		return GROVE_EOVERFLOW; /* the node's counter space is exhausted */
	bool found;
	size_t at = grove_set_find(s, elem, len, &found);
	grove_elem_t e = { 0 };
	int rc = grove_vec_reserve((void **)&s->vv.d, &s->vv.cap, s->vv.len + 1, sizeof(grove_dot_t));
	if (!rc)
		rc = grove_vec_reserve((void **)&s->cloud.d, &s->cloud.cap, s->cloud.len + 1,
				       sizeof(grove_dot_t));
	if (!rc && !found)
		rc = grove_vec_reserve((void **)&s->e, &s->cap, s->len + 1, sizeof(*s->e));
	if (!rc && !found)
		rc = grove_blob_set(&e.elem, elem, len);
	if (!rc && !found)
		rc = grove_dots_push(&e.dots, &d);
	if (rc) {
		grove_elem_free(&e);
		return rc;
	}
	grove_ctx_record(s, &d);
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
	int rc = grove_value_begin(v, GROVE_TYPE_SET, node, &w);
	if (rc)
		return rc;
	return grove_value_end(v, w, grove_set_add(&w->set, node, elem, len, added));
}

int grove_orset_remove(grove_value_t *v, const char *node, const void *elem, size_t len,
		       bool *removed)
{
	if (!grove_node_valid(node) || len > GROVE_BLOB_MAX || (len && !elem))
		return GROVE_EINVAL;
	grove_type_t t = grove_value_type(v);
	if (t != GROVE_TYPE_SET && t != GROVE_TYPE_NONE)
		return GROVE_EWRONGTYPE;
	bool found = false;
	grove_set_t *s = &v->set;
	size_t at = t == GROVE_TYPE_SET ? grove_set_find(s, elem, len, &found) : 0;
	if (found) {
		grove_elem_free(&s->e[at]);
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
		grove_set_find(&v->set, elem, len, &found);
	return found;
}

size_t grove_orset_count(const grove_value_t *v)
{
	return grove_value_type(v) == GROVE_TYPE_SET ? v->set.len : 0;
}

void grove_orset_member(const grove_value_t *v, size_t i, const void **elem, size_t *len)
{
	GROVE_ASSERT(i < grove_orset_count(v));
	const grove_blob_t *b = &v->set.e[i].elem;
	*elem = b->p ? (const void *)b->p : (const void *)"";
	*len = b->len;
}
