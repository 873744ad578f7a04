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

static void grove_field_free(grove_field_t *f)
{
	grove_blob_free(&f->field);
	grove_blob_free(&f->val);
}

static void grove_fields_free(grove_fields_t *fs)
{
	for (size_t i = 0; i < fs->len; i++)
		grove_field_free(&fs->f[i]);
	grove_free(fs->f);
	memset(fs, 0, sizeof(*fs));
}

void grove_map_free(grove_map_t *m)
{
	grove_fields_free(&m->live);
	grove_fields_free(&m->tomb);
	memset(m, 0, sizeof(*m));
}

bool grove_map_live(const grove_map_t *m)
{
	return m->live.len > 0;
}

static void grove_id_raise(grove_id_t *to, const grove_id_t *id)
{
	if (grove_id_cmp(id, to) > 0)
		*to = *id;
}

void grove_map_reset(grove_map_t *m, const grove_id_t *del)
{
	grove_id_raise(&m->del, del);
	for (size_t i = 0; i < m->live.len; i++)
		grove_id_raise(&m->del, &m->live.f[i].id);
	for (size_t i = 0; i < m->tomb.len; i++)
		grove_id_raise(&m->del, &m->tomb.f[i].id);
	grove_id_t keep = m->del;
	grove_map_free(m);
	m->del = keep;
}

uint64_t grove_map_max_ts(const grove_map_t *m)
{
	uint64_t ts = m->del.ts;
	for (size_t i = 0; i < m->live.len; i++)
		ts = m->live.f[i].id.ts > ts ? m->live.f[i].id.ts : ts;
	for (size_t i = 0; i < m->tomb.len; i++)
		ts = m->tomb.f[i].id.ts > ts ? m->tomb.f[i].id.ts : ts;
	return ts;
}

static bool grove_fields_eq(const grove_fields_t *a, const grove_fields_t *b)
{
	if (a->len != b->len)
		return false;
	for (size_t i = 0; i < a->len; i++) {
		const grove_field_t *x = &a->f[i], *y = &b->f[i];
		if (!grove_blob_eq(&x->field, &y->field) || grove_id_cmp(&x->id, &y->id) ||
		    !grove_blob_eq(&x->val, &y->val))
			return false;
	}
	return true;
}

bool grove_map_eq(const grove_map_t *a, const grove_map_t *b)
{
	return grove_id_cmp(&a->del, &b->del) == 0 && grove_fields_eq(&a->live, &b->live) &&
	       grove_fields_eq(&a->tomb, &b->tomb);
}

/* Orders two writes of one field: id, then tombstone over value, then
 * value bytes. */
static int grove_field_order(const grove_field_t *a, const grove_field_t *b)
{
	int c = grove_id_cmp(&a->id, &b->id);
	if (c)
		return c;
	if (a->has != b->has)
		return a->has ? -1 : 1;
	return a->has ? grove_blob_cmp(&a->val, b->val.p, b->val.len) : 0;
}

static size_t grove_fields_find(const grove_fields_t *fs, const void *field, size_t flen,
				bool *found)
{
	size_t lo = 0, hi = fs->len;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = grove_blob_cmp(&fs->f[mid].field, field, flen);
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

/* Walks a map's live fields and tombstones as one list sorted by name. */
typedef struct grove_map_iter {
	const grove_map_t *m;
	size_t i, j;
} grove_map_iter_t;

static const grove_field_t *grove_map_iter_peek(const grove_map_iter_t *it)
{
	const grove_fields_t *l = &it->m->live, *t = &it->m->tomb;
	if (it->i == l->len)
		return it->j == t->len ? NULL : &t->f[it->j];
	if (it->j == t->len)
		return &l->f[it->i];
	const grove_field_t *a = &l->f[it->i], *b = &t->f[it->j];
	return grove_blob_cmp(&a->field, b->field.p, b->field.len) < 0 ? a : b;
}

static void grove_map_iter_next(grove_map_iter_t *it)
{
	const grove_field_t *f = grove_map_iter_peek(it);
	if (f && f->has)
		it->i++;
	else if (f)
		it->j++;
}

static int grove_fields_push_copy(grove_fields_t *fs, const grove_field_t *src)
{
	grove_field_t f = { .id = src->id, .has = src->has };
	int rc = grove_blob_set(&f.field, src->field.p, src->field.len);
	if (!rc)
		rc = grove_blob_set(&f.val, src->val.p, src->val.len);
	if (!rc)
		rc = grove_vec_reserve((void **)&fs->f, &fs->cap, fs->len + 1, sizeof(*fs->f));
	if (rc) {
		grove_field_free(&f);
		return rc;
	}
	fs->f[fs->len++] = f;
	return 0;
}

int grove_map_merge(grove_map_t *out, const grove_map_t *a, const grove_map_t *b)
{
	out->del = grove_id_cmp(&a->del, &b->del) >= 0 ? a->del : b->del;
	grove_map_iter_t ia = { a, 0, 0 }, ib = { b, 0, 0 };
	for (;;) {
		const grove_field_t *x = grove_map_iter_peek(&ia), *y = grove_map_iter_peek(&ib);
		if (!x && !y)
			return 0;
		int c = !x ? 1 : !y ? -1 : grove_blob_cmp(&x->field, y->field.p, y->field.len);
		const grove_field_t *win = c < 0 ? x : c > 0 ? y : grove_field_order(x, y) >= 0 ? x : y;
		if (c <= 0)
			grove_map_iter_next(&ia);
		if (c >= 0)
			grove_map_iter_next(&ib);
		if (grove_id_cmp(&win->id, &out->del) <= 0)
			continue;
		int rc = grove_fields_push_copy(win->has ? &out->live : &out->tomb, win);
		if (rc)
			return rc;
	}
}

static void grove_fields_insert(grove_fields_t *fs, size_t at, const grove_field_t *f)
{
	GROVE_ASSERT(fs->len < fs->cap);
	memmove(&fs->f[at + 1], &fs->f[at], (fs->len - at) * sizeof(*fs->f));
	fs->f[at] = *f;
	fs->len++;
}

static void grove_fields_remove(grove_fields_t *fs, size_t at)
{
	memmove(&fs->f[at], &fs->f[at + 1], (fs->len - at - 1) * sizeof(*fs->f));
	fs->len--;
}

/* Writes a new field value into a map that is already the visible type. */
static int grove_map_set(grove_map_t *m, const grove_field_t *w, bool *created)
{
	*created = false;
	if (grove_id_cmp(&w->id, &m->del) <= 0)
		return 0; /* older than the key delete: lost */
	bool found, tfound;
	size_t at = grove_fields_find(&m->live, w->field.p, w->field.len, &found);
	if (found) {
		grove_field_t *e = &m->live.f[at];
		if (grove_field_order(w, e) <= 0)
			return 0;
		int rc = grove_blob_set(&e->val, w->val.p, w->val.len);
		if (rc == 0)
			e->id = w->id;
		return rc;
	}
	size_t tat = grove_fields_find(&m->tomb, w->field.p, w->field.len, &tfound);
	if (tfound && grove_field_order(w, &m->tomb.f[tat]) <= 0)
		return 0;
	grove_field_t f = { .id = w->id, .has = true };
	int rc = grove_blob_set(&f.field, w->field.p, w->field.len);
	if (!rc)
		rc = grove_blob_set(&f.val, w->val.p, w->val.len);
	if (!rc)
		rc = grove_vec_reserve((void **)&m->live.f, &m->live.cap, m->live.len + 1, sizeof(f));
	if (rc) {
		grove_field_free(&f);
		return rc;
	}
	if (tfound) {
		grove_field_free(&m->tomb.f[tat]);
		grove_fields_remove(&m->tomb, tat);
	}
	grove_fields_insert(&m->live, at, &f);
	*created = true;
	return 0;
}

int grove_lwwmap_set(grove_value_t *v, const char *node, uint64_t ts, const void *field,
		     size_t flen, const void *val, size_t vlen, bool *created)
{
	if (flen > GROVE_BLOB_MAX || vlen > GROVE_BLOB_MAX || (flen && !field) || (vlen && !val))
		return GROVE_EINVAL;
	grove_value_t *w;
	int rc = grove_value_begin(v, GROVE_TYPE_MAP, node, &w);
	if (rc)
		return rc;
	grove_field_t f = {
		.field = { (uint8_t *)field, (uint32_t)flen },
		.id = { .ts = ts },
		.has = true,
		.val = { (uint8_t *)val, (uint32_t)vlen },
	};
	memcpy(f.id.node, node, strlen(node) + 1);
	bool made;
	rc = grove_map_set(&w->map, &f, &made);
	if (rc == 0 && created)
		*created = made;
	return grove_value_end(v, w, rc);
}

int grove_lwwmap_delete(grove_value_t *v, const char *node, uint64_t ts, const void *field,
			size_t flen, bool *removed)
{
	if (!grove_node_valid(node) || flen > GROVE_BLOB_MAX || (flen && !field))
		return GROVE_EINVAL;
	grove_type_t t = grove_value_type(v);
	if (t != GROVE_TYPE_MAP && t != GROVE_TYPE_NONE)
		return GROVE_EWRONGTYPE;
	grove_map_t *m = &v->map;
	grove_field_t tomb = { .id = { .ts = ts }, .has = false };
	memcpy(tomb.id.node, node, strlen(node) + 1);
	bool found = false, tfound;
	size_t at = t == GROVE_TYPE_MAP ? grove_fields_find(&m->live, field, flen, &found) : 0;
	if (found && grove_field_order(&tomb, &m->live.f[at]) <= 0)
		found = false; /* older than the value it would delete */
	if (found) {
		int rc = grove_vec_reserve((void **)&m->tomb.f, &m->tomb.cap, m->tomb.len + 1,
					   sizeof(tomb));
		if (rc)
			return rc;
		grove_field_t e = m->live.f[at];
		grove_blob_free(&e.val);
		e.id = tomb.id;
		e.has = false;
		grove_fields_remove(&m->live, at);
		grove_fields_insert(&m->tomb, grove_fields_find(&m->tomb, field, flen, &tfound), &e);
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
	size_t at = t == GROVE_TYPE_MAP ? grove_fields_find(&v->map.live, field, flen, &found) : 0;
	if (!found)
		return GROVE_ENOTFOUND;
	const grove_blob_t *b = &v->map.live.f[at].val;
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
	const grove_field_t *f = &v->map.live.f[i];
	*field = f->field.p ? (const void *)f->field.p : (const void *)"";
	*flen = f->field.len;
	*val = f->val.p ? (const void *)f->val.p : (const void *)"";
	*vlen = f->val.len;
}
