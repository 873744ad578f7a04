/*
 * lwwmap.c - map of last-writer-wins fields with field tombstones.
 *
 * Each field holds its latest write: a value or a tombstone, with the write
 * id (ts, node).  Writes to one field are ordered by id; at equal ids a
 * tombstone beats a value and values compare bytewise, so merge stays
 * commutative.  Deleting a field writes a tombstone, so an older value
 * arriving later does not resurrect it (tombstones are kept; garbage
 * collection by causal stability is future work).  A key delete raises the
 * map's delete id to at least every field id it saw and its own id; fields
 * whose id is <= the delete id are dropped, so fields written concurrently
 * with a later id survive and older unseen ones are removed.
 *
 * Live fields and tombstones sit in two arrays sorted bytewise by field
 * name; lookups are binary searches, set/delete cost O(fields) for the
 * memmove, merge O(fields).
 */
#include <string.h>

#include "crdt/alloc.h"
#include "crdt/assert.h"
#include "crdt/value_impl.h"

static void grove__field_free(grove__field_t *f)
{
	grove__blob_free(&f->field);
	grove__blob_free(&f->val);
}

static void grove__fields_free(grove__fields_t *fs)
{
	for (size_t i = 0; i < fs->len; i++)
		grove__field_free(&fs->f[i]);
	grove_free(fs->f);
	memset(fs, 0, sizeof(*fs));
}

void grove__map_free(grove__map_t *m)
{
	grove__fields_free(&m->live);
	grove__fields_free(&m->tomb);
	memset(m, 0, sizeof(*m));
}

bool grove__map_live(const grove__map_t *m)
{
	return m->live.len > 0;
}

static void grove__id_raise(grove__id_t *to, const grove__id_t *id)
{
	if (grove__id_cmp(id, to) > 0)
		*to = *id;
}

void grove__map_reset(grove__map_t *m, const grove__id_t *del)
{
	grove__id_raise(&m->del, del);
	for (size_t i = 0; i < m->live.len; i++)
		grove__id_raise(&m->del, &m->live.f[i].id);
	for (size_t i = 0; i < m->tomb.len; i++)
		grove__id_raise(&m->del, &m->tomb.f[i].id);
	grove__id_t keep = m->del;
	grove__map_free(m);
	m->del = keep;
}

uint64_t grove__map_max_ts(const grove__map_t *m)
{
	uint64_t ts = m->del.ts;
	for (size_t i = 0; i < m->live.len; i++)
		ts = m->live.f[i].id.ts > ts ? m->live.f[i].id.ts : ts;
	for (size_t i = 0; i < m->tomb.len; i++)
		ts = m->tomb.f[i].id.ts > ts ? m->tomb.f[i].id.ts : ts;
	return ts;
}

static bool grove__fields_eq(const grove__fields_t *a, const grove__fields_t *b)
{
	if (a->len != b->len)
		return false;
	for (size_t i = 0; i < a->len; i++) {
		const grove__field_t *x = &a->f[i], *y = &b->f[i];
		if (!grove__blob_eq(&x->field, &y->field) || grove__id_cmp(&x->id, &y->id) ||
		    !grove__blob_eq(&x->val, &y->val))
			return false;
	}
	return true;
}

bool grove__map_eq(const grove__map_t *a, const grove__map_t *b)
{
	return grove__id_cmp(&a->del, &b->del) == 0 && grove__fields_eq(&a->live, &b->live) &&
	       grove__fields_eq(&a->tomb, &b->tomb);
}

/* Orders two writes of one field: id, then tombstone over value, then
 * value bytes. */
static int grove__field_order(const grove__field_t *a, const grove__field_t *b)
{
	int c = grove__id_cmp(&a->id, &b->id);
	if (c)
		return c;
	if (a->has != b->has)
		return a->has ? -1 : 1;
	return a->has ? grove__blob_cmp(&a->val, b->val.p, b->val.len) : 0;
}

static int grove__field_cmp_name(const void *elem, const void *key)
{
	const grove__bytes_t *k = key;
	return grove__blob_cmp(&((const grove__field_t *)elem)->field, k->p, k->len);
}

static size_t grove__fields_find(const grove__fields_t *fs, const void *field, size_t flen,
				bool *found)
{
	grove__bytes_t k = { field, flen };
	return grove__sorted_find(fs->f, fs->len, sizeof(*fs->f), &k, grove__field_cmp_name, found);
}

/* Walks a map's live fields and tombstones as one list sorted by name. */
typedef struct grove__map_iter {
	const grove__map_t *m;
	size_t i, j;
} grove__map_iter_t;

static const grove__field_t *grove__map_iter_peek(const grove__map_iter_t *it)
{
	const grove__fields_t *l = &it->m->live, *t = &it->m->tomb;
	if (it->i == l->len)
		return it->j == t->len ? NULL : &t->f[it->j];
	if (it->j == t->len)
		return &l->f[it->i];
	const grove__field_t *a = &l->f[it->i], *b = &t->f[it->j];
	return grove__blob_cmp(&a->field, b->field.p, b->field.len) < 0 ? a : b;
}

static void grove__map_iter_next(grove__map_iter_t *it)
{
	const grove__field_t *f = grove__map_iter_peek(it);
	if (f && f->has)
		it->i++;
	else if (f)
		it->j++;
}

static int grove__fields_push_copy(grove__fields_t *fs, const grove__field_t *src)
{
	grove__field_t f = { .id = src->id, .has = src->has };
	int rc = grove__blob_set(&f.field, src->field.p, src->field.len);
	if (!rc)
		rc = grove__blob_set(&f.val, src->val.p, src->val.len);
	if (!rc)
		rc = grove__vec_reserve((void **)&fs->f, &fs->cap, fs->len + 1, sizeof(*fs->f));
	if (rc) {
		grove__field_free(&f);
		return rc;
	}
	fs->f[fs->len++] = f;
	return 0;
}

int grove__map_merge(grove__map_t *out, const grove__map_t *a, const grove__map_t *b)
{
	out->del = grove__id_cmp(&a->del, &b->del) >= 0 ? a->del : b->del;
	grove__map_iter_t ia = { a, 0, 0 }, ib = { b, 0, 0 };
	for (;;) {
		const grove__field_t *x = grove__map_iter_peek(&ia), *y = grove__map_iter_peek(&ib);
		if (!x && !y)
			return 0;
		int c = !x ? 1 : !y ? -1 : grove__blob_cmp(&x->field, y->field.p, y->field.len);
		const grove__field_t *win = c < 0 ? x : c > 0 ? y : grove__field_order(x, y) >= 0 ? x : y;
		if (c <= 0)
			grove__map_iter_next(&ia);
		if (c >= 0)
			grove__map_iter_next(&ib);
		if (grove__id_cmp(&win->id, &out->del) <= 0)
			continue;
		int rc = grove__fields_push_copy(win->has ? &out->live : &out->tomb, win);
		if (rc)
			return rc;
	}
}

static void grove__fields_insert(grove__fields_t *fs, size_t at, const grove__field_t *f)
{
	GROVE_ASSERT(fs->len < fs->cap);
	memmove(&fs->f[at + 1], &fs->f[at], (fs->len - at) * sizeof(*fs->f));
	fs->f[at] = *f;
	fs->len++;
}

static void grove__fields_remove(grove__fields_t *fs, size_t at)
{
	memmove(&fs->f[at], &fs->f[at + 1], (fs->len - at - 1) * sizeof(*fs->f));
	fs->len--;
}

/* Writes a new field value into a map that is already the visible type. */
static int grove__map_set(grove__map_t *m, const grove__field_t *w, bool *created)
{
	*created = false;
	if (grove__id_cmp(&w->id, &m->del) <= 0)
		return 0; /* older than the key delete: lost */
	bool found, tfound;
	size_t at = grove__fields_find(&m->live, w->field.p, w->field.len, &found);
	if (found) {
		grove__field_t *e = &m->live.f[at];
		if (grove__field_order(w, e) <= 0)
			return 0;
		int rc = grove__blob_set(&e->val, w->val.p, w->val.len);
		if (rc == 0)
			e->id = w->id;
		return rc;
	}
	size_t tat = grove__fields_find(&m->tomb, w->field.p, w->field.len, &tfound);
	if (tfound && grove__field_order(w, &m->tomb.f[tat]) <= 0)
		return 0;
	grove__field_t f = { .id = w->id, .has = true };
	int rc = grove__blob_set(&f.field, w->field.p, w->field.len);
	if (!rc)
		rc = grove__blob_set(&f.val, w->val.p, w->val.len);
	if (!rc)
		rc = grove__vec_reserve((void **)&m->live.f, &m->live.cap, m->live.len + 1, sizeof(f));
	if (rc) {
		grove__field_free(&f);
		return rc;
	}
	if (tfound) {
		grove__field_free(&m->tomb.f[tat]);
		grove__fields_remove(&m->tomb, tat);
	}
	grove__fields_insert(&m->live, at, &f);
	*created = true;
	return 0;
}

int grove_lwwmap_set(grove_value_t *v, const char *node, uint64_t ts, const void *field,
		     size_t flen, const void *val, size_t vlen, bool *created)
{
	if (flen > GROVE_BLOB_MAX || vlen > GROVE_BLOB_MAX || (flen && !field) || (vlen && !val))
		return GROVE_EINVAL;
	grove_value_t *w;
	int rc = grove__value_begin(v, GROVE_TYPE_MAP, node, &w);
	if (rc)
		return rc;
	grove__field_t f = {
		.field = { (uint8_t *)field, (uint32_t)flen },
		.id = { .ts = ts },
		.has = true,
		.val = { (uint8_t *)val, (uint32_t)vlen },
	};
	memcpy(f.id.node, node, strlen(node) + 1);
	bool made;
	rc = grove__map_set(&w->map, &f, &made);
	if (rc == 0 && created)
		*created = made;
	return grove_value_end(v, w, rc);
}

int grove_lwwmap_delete(grove_value_t *v, const char *node, uint64_t ts, const void *field,
			size_t flen, bool *removed)
{
	if (!grove__node_valid(node) || flen > GROVE_BLOB_MAX || (flen && !field))
		return GROVE_EINVAL;
	grove_type_t t = grove_value_type(v);
	if (t != GROVE_TYPE_MAP && t != GROVE_TYPE_NONE)
		return GROVE_EWRONGTYPE;
	grove__map_t *m = &v->map;
	grove__field_t tomb = { .id = { .ts = ts }, .has = false };
	memcpy(tomb.id.node, node, strlen(node) + 1);
	bool found = false, tfound;
	size_t at = t == GROVE_TYPE_MAP ? grove__fields_find(&m->live, field, flen, &found) : 0;
	if (found && grove__field_order(&tomb, &m->live.f[at]) <= 0)
		found = false; /* older than the value it would delete */
	if (found) {
		int rc = grove__vec_reserve((void **)&m->tomb.f, &m->tomb.cap, m->tomb.len + 1,
					   sizeof(tomb));
		if (rc)
			return rc;
		grove__field_t e = m->live.f[at];
		grove__blob_free(&e.val);
		e.id = tomb.id;
		e.has = false;
		grove__fields_remove(&m->live, at);
		grove__fields_insert(&m->tomb, grove__fields_find(&m->tomb, field, flen, &tfound), &e);
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
	size_t at = t == GROVE_TYPE_MAP ? grove__fields_find(&v->map.live, field, flen, &found) : 0;
	if (!found)
		return GROVE_ENOTFOUND;
	const grove__blob_t *b = &v->map.live.f[at].val;
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
	const grove__field_t *f = &v->map.live.f[i];
	*field = f->field.p ? (const void *)f->field.p : (const void *)"";
	*flen = f->field.len;
	*val = f->val.p ? (const void *)f->val.p : (const void *)"";
	*vlen = f->val.len;
}
