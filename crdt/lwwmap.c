/*
 * lwwmap.c - map of last-writer-wins fields with field tombstones.
 *
 * Each field holds its latest write: a value or a tombstone, with the write
 * id (ts, node).  Writes to one field are ordered by id; at equal ids a
 * tombstone beats a value and values compare bytewise, so merge stays
 * commutative.  Deleting a field writes a tombstone, so an older value
 * arriving later does not resurrect it (tombstones are kept; garbage
 * collection by causal stability is future work).  A key delete is
 * observed-remove: it turns every live field it sees into a tombstone at
 * that field's own id (at equal ids a tombstone wins), and leaves the
 * fields it has not seen alone.  So an unseen field survives whatever its
 * timestamp, and an unseen update of a seen field survives when its id is
 * greater than the deleted write's (it would have overwritten it anyway).
 * A key delete has no id of its own: merge is the per-field LWW join.
 *
 * Live fields and tombstones sit in two arrays sorted bytewise by field
 * name; lookups are binary searches, set/delete cost O(fields) for the
 * memmove, merge O(fields).
 */
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "crdt/value_int.h"

static void field_free(grove_value__field_t *f)
{
	grove_value__blob_free(&f->field);
	grove_value__blob_free(&f->val);
}

static void fields_free(grove_value__fields_t *fs)
{
	for (size_t i = 0; i < fs->len; i++)
		field_free(&fs->f[i]);
	grove_free(fs->f);
	memset(fs, 0, sizeof(*fs));
}

void grove_value__map_free(grove_value__map_t *m)
{
	fields_free(&m->live);
	fields_free(&m->tomb);
	memset(m, 0, sizeof(*m));
}

bool grove_value__map_live(const grove_value__map_t *m)
{
	return m->live.len > 0;
}

uint64_t grove_value__map_max_ts(const grove_value__map_t *m)
{
	uint64_t ts = 0;
	for (size_t i = 0; i < m->live.len; i++)
		ts = m->live.f[i].id.ts > ts ? m->live.f[i].id.ts : ts;
	for (size_t i = 0; i < m->tomb.len; i++)
		ts = m->tomb.f[i].id.ts > ts ? m->tomb.f[i].id.ts : ts;
	return ts;
}

static bool fields_eq(const grove_value__fields_t *a, const grove_value__fields_t *b)
{
	if (a->len != b->len)
		return false;
	for (size_t i = 0; i < a->len; i++) {
		const grove_value__field_t *x = &a->f[i], *y = &b->f[i];
		if (!grove_value__blob_eq(&x->field, &y->field) || grove_value__id_cmp(&x->id, &y->id) ||
		    !grove_value__blob_eq(&x->val, &y->val))
			return false;
	}
	return true;
}

bool grove_value__map_eq(const grove_value__map_t *a, const grove_value__map_t *b)
{
	return fields_eq(&a->live, &b->live) && fields_eq(&a->tomb, &b->tomb);
}

/* Orders two writes of one field: id, then tombstone over value, then
 * value bytes. */
static int field_order(const grove_value__field_t *a, const grove_value__field_t *b)
{
	int c = grove_value__id_cmp(&a->id, &b->id);
	if (c)
		return c;
	if (a->has != b->has)
		return a->has ? -1 : 1;
	return a->has ? grove_value__blob_cmp(&a->val, b->val.p, b->val.len) : 0;
}

static int field_cmp_name(const void *elem, const void *key)
{
	const grove_value__bytes_t *k = key;
	return grove_value__blob_cmp(&((const grove_value__field_t *)elem)->field, k->p, k->len);
}

static size_t fields_find(const grove_value__fields_t *fs, const void *field, size_t flen,
				bool *found)
{
	grove_value__bytes_t k = { field, flen };
	return grove_value__sorted_find(fs->f, fs->len, sizeof(*fs->f), &k, field_cmp_name, found);
}

/* Walks a map's live fields and tombstones as one list sorted by name. */
typedef struct map_iter {
	const grove_value__map_t *m;
	size_t i, j;
} map_iter_t;

static const grove_value__field_t *map_iter_peek(const map_iter_t *it)
{
	const grove_value__fields_t *l = &it->m->live, *t = &it->m->tomb;
	if (it->i == l->len)
		return it->j == t->len ? NULL : &t->f[it->j];
	if (it->j == t->len)
		return &l->f[it->i];
	const grove_value__field_t *a = &l->f[it->i], *b = &t->f[it->j];
	return grove_value__blob_cmp(&a->field, b->field.p, b->field.len) < 0 ? a : b;
}

static void map_iter_next(map_iter_t *it)
{
	const grove_value__field_t *f = map_iter_peek(it);
	if (f && f->has)
		it->i++;
	else if (f)
		it->j++;
}

int grove_value__map_reset(grove_value__map_t *m)
{
	size_t n = m->live.len + m->tomb.len;
	if (m->live.len == 0)
		return 0;
	grove_value__field_t *out = grove_malloc(n * sizeof(*out));
	if (!out)
		return GROVE_ENOMEM;
	/* the fields move (blobs included) into one name-sorted tombstone array */
	map_iter_t it = { m, 0, 0 };
	for (size_t k = 0; k < n; k++, map_iter_next(&it)) {
		out[k] = *map_iter_peek(&it);
		if (out[k].has) {
			grove_value__blob_free(&out[k].val);
			out[k].has = false;
		}
	}
	grove_free(m->live.f);
	grove_free(m->tomb.f);
	m->live = (grove_value__fields_t){ 0 };
	m->tomb = (grove_value__fields_t){ out, n, n };
	return 0;
}

static int fields_push_copy(grove_value__fields_t *fs, const grove_value__field_t *src)
{
	grove_value__field_t f = { .id = src->id, .has = src->has };
	int rc = grove_value__blob_set(&f.field, src->field.p, src->field.len);
	if (!rc)
		rc = grove_value__blob_set(&f.val, src->val.p, src->val.len);
	if (!rc)
		rc = grove_grow((void **)&fs->f, &fs->cap, fs->len + 1, sizeof(*fs->f), 0, 0);
	if (rc) {
		field_free(&f);
		return rc;
	}
	fs->f[fs->len++] = f;
	return 0;
}

int grove_value__map_merge(grove_value__map_t *out, const grove_value__map_t *a, const grove_value__map_t *b)
{
	map_iter_t ia = { a, 0, 0 }, ib = { b, 0, 0 };
	for (;;) {
		const grove_value__field_t *x = map_iter_peek(&ia), *y = map_iter_peek(&ib);
		if (!x && !y)
			return 0;
		int c = !x ? 1 : !y ? -1 : grove_value__blob_cmp(&x->field, y->field.p, y->field.len);
		const grove_value__field_t *win = c < 0 ? x : c > 0 ? y : field_order(x, y) >= 0 ? x : y;
		if (c <= 0)
			map_iter_next(&ia);
		if (c >= 0)
			map_iter_next(&ib);
		int rc = fields_push_copy(win->has ? &out->live : &out->tomb, win);
		if (rc)
			return rc;
	}
}

static void fields_insert(grove_value__fields_t *fs, size_t at, const grove_value__field_t *f)
{
	GROVE_ASSERT(fs->len < fs->cap);
	memmove(&fs->f[at + 1], &fs->f[at], (fs->len - at) * sizeof(*fs->f));
	fs->f[at] = *f;
	fs->len++;
}

static void fields_remove(grove_value__fields_t *fs, size_t at)
{
	memmove(&fs->f[at], &fs->f[at + 1], (fs->len - at - 1) * sizeof(*fs->f));
	fs->len--;
}

/* Writes a new field value into a map that is already the visible type. */
static int map_set(grove_value__map_t *m, const grove_value__field_t *w, bool *created)
{
	*created = false;
	bool found, tfound;
	size_t at = fields_find(&m->live, w->field.p, w->field.len, &found);
	if (found) {
		grove_value__field_t *e = &m->live.f[at];
		if (field_order(w, e) <= 0)
			return 0;
		int rc = grove_value__blob_set(&e->val, w->val.p, w->val.len);
		if (rc == 0)
			e->id = w->id;
		return rc;
	}
	size_t tat = fields_find(&m->tomb, w->field.p, w->field.len, &tfound);
	if (tfound && field_order(w, &m->tomb.f[tat]) <= 0)
		return 0;
	grove_value__field_t f = { .id = w->id, .has = true };
	int rc = grove_value__blob_set(&f.field, w->field.p, w->field.len);
	if (!rc)
		rc = grove_value__blob_set(&f.val, w->val.p, w->val.len);
	if (!rc)
		rc = grove_grow((void **)&m->live.f, &m->live.cap, m->live.len + 1, sizeof(f), 0, 0);
	if (rc) {
		field_free(&f);
		return rc;
	}
	if (tfound) {
		field_free(&m->tomb.f[tat]);
		fields_remove(&m->tomb, tat);
	}
	fields_insert(&m->live, at, &f);
	*created = true;
	return 0;
}

int grove_lwwmap_set(grove_value_t *v, const char *node, uint64_t ts, const void *field,
		     size_t flen, const void *val, size_t vlen, bool *created)
{
	if (flen > GROVE_BLOB_MAX || vlen > GROVE_BLOB_MAX || (flen && !field) || (vlen && !val))
		return GROVE_EINVAL;
	grove_value_t *w;
	int rc = grove_value__value_begin(v, GROVE_TYPE_MAP, node, &w);
	if (rc)
		return rc;
	grove_value__field_t f = {
		.field = { (uint8_t *)field, (uint32_t)flen },
		.id = { .ts = ts },
		.has = true,
		.val = { (uint8_t *)val, (uint32_t)vlen },
	};
	memcpy(f.id.node, node, strlen(node) + 1);
	bool made;
	rc = map_set(&w->map, &f, &made);
	if (rc == 0 && created)
		*created = made;
	return grove_value_end(v, w, rc);
}

int grove_lwwmap_delete(grove_value_t *v, const char *node, uint64_t ts, const void *field,
			size_t flen, bool *removed)
{
	if (!grove_value__node_valid(node) || flen > GROVE_BLOB_MAX || (flen && !field))
		return GROVE_EINVAL;
	grove_type_t t = grove_value_type(v);
	if (t != GROVE_TYPE_MAP && t != GROVE_TYPE_NONE)
		return GROVE_EWRONGTYPE;
	grove_value__map_t *m = &v->map;
	grove_value__field_t tomb = { .id = { .ts = ts }, .has = false };
	memcpy(tomb.id.node, node, strlen(node) + 1);
	bool found = false, tfound;
	size_t at = t == GROVE_TYPE_MAP ? fields_find(&m->live, field, flen, &found) : 0;
	if (found && field_order(&tomb, &m->live.f[at]) <= 0)
		found = false; /* older than the value it would delete */
	if (found) {
		int rc = grove_grow((void **)&m->tomb.f, &m->tomb.cap, m->tomb.len + 1,
					   sizeof(tomb), 0, 0);
		if (rc)
			return rc;
		grove_value__field_t e = m->live.f[at];
		grove_value__blob_free(&e.val);
		e.id = tomb.id;
		e.has = false;
		fields_remove(&m->live, at);
		fields_insert(&m->tomb, fields_find(&m->tomb, field, flen, &tfound), &e);
	}
	if (removed)
		*removed = found;
	return 0;
}

int grove_lwwmap_get(const grove_value_t *v, const void *field, size_t flen, const void **val,
		     size_t *vlen)
{
	grove_type_t t = grove_value_type(v);
	if (t != GROVE_TYPE_MAP && t != GROVE_TYPE_NONE)
		return GROVE_EWRONGTYPE;
	bool found = false;
	size_t at = t == GROVE_TYPE_MAP ? fields_find(&v->map.live, field, flen, &found) : 0;
	if (!found)
		return GROVE_ENOTFOUND;
	const grove_value__blob_t *b = &v->map.live.f[at].val;
	*val = b->p ? (const void *)b->p : (const void *)"";
	*vlen = b->len;
	return 0;
}

size_t grove_lwwmap_count(const grove_value_t *v)
{
	return grove_value_type(v) == GROVE_TYPE_MAP ? v->map.live.len : 0;
}

void grove_lwwmap_entry(const grove_value_t *v, size_t i, const void **field, size_t *flen,
			const void **val, size_t *vlen)
{
	GROVE_ASSERT(i < grove_lwwmap_count(v));
	const grove_value__field_t *f = &v->map.live.f[i];
	*field = f->field.p ? (const void *)f->field.p : (const void *)"";
	*flen = f->field.len;
	*val = f->val.p ? (const void *)f->val.p : (const void *)"";
	*vlen = f->val.len;
}
