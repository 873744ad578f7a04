/*
 * handles.c - the typed handles of handles.h: each call forwards to db.h;
 * reads decode the key's value once and copy out what was asked.
 */
#include <string.h>

#include "grove/alloc.h"
#include "grove/handles.h"

/* --- shared helpers --- */

static int handle_init(grove_handle_t *h, grove_db_t *db, const void *key, size_t klen)
{
	memset(h, 0, sizeof(*h));
	if (!db || !key || klen == 0 || klen > GROVE_KEY_MAX)
		return GROVE_EINVAL;
	h->key = grove_malloc(klen);
	if (!h->key)
		return GROVE_ENOMEM;
	memcpy(h->key, key, klen);
	h->klen = klen;
	h->db = db;
	return 0;
}

static void handle_close(grove_handle_t *h)
{
	grove_free(h->key);
	memset(h, 0, sizeof(*h));
}

/* The key's live value if it has type t: 0 with *out set, GROVE_ENOTFOUND
 * (absent or deleted), GROVE_EWRONGTYPE, or another code. */
static int handle_read(grove_handle_t *h, grove_type_t t, grove_value_t **out)
{
	grove_value_t *v;
	int rc = grove_db_get(h->db, h->key, h->klen, &v);
	if (rc)
		return rc;
	if (grove_value_type(v) != t) {
		grove_value_destroy(v);
		return GROVE_EWRONGTYPE;
	}
	*out = v;
	return 0;
}

static int handle_delete(grove_handle_t *h, grove_type_t t, bool *existed)
{
	grove_value_t *v;
	int rc = handle_read(h, t, &v);
	if (rc == GROVE_ENOTFOUND) {
		if (existed)
			*existed = false;
		return 0;
	}
	if (rc)
		return rc;
	grove_value_destroy(v);
	/* a concurrent writer may have changed the type meanwhile: delete is
	 * typeless in db.h, and removing what is there is what was asked */
	return grove_db_delete(h->db, h->key, h->klen, existed);
}

static int bytes_copy(grove_bytes_t *dst, const void *src, size_t len)
{
	dst->data = grove_malloc(len);
	if (!dst->data)
		return GROVE_ENOMEM;
	if (len)
		memcpy(dst->data, src, len);
	dst->len = len;
	return 0;
}

void grove_bytes_list_free(grove_bytes_list_t *list)
{
	for (size_t i = 0; i < list->count; i++)
		grove_free(list->items[i].data);
	grove_free(list->items);
	list->items = NULL;
	list->count = 0;
}

static int list_alloc(grove_bytes_list_t *list, size_t n)
{
	list->count = 0;
	list->items = grove_calloc(n, sizeof(*list->items));
	return list->items ? 0 : GROVE_ENOMEM;
}

/* --- counter --- */

int grove_counter_init(grove_counter_t *c, grove_db_t *db, const void *key, size_t klen)
{
	return handle_init(&c->h, db, key, klen);
}

void grove_counter_close(grove_counter_t *c)
{
	handle_close(&c->h);
}

int grove_counter_incr(grove_counter_t *c, int64_t delta, int64_t *new_value)
{
	return grove_db_counter_add(c->h.db, c->h.key, c->h.klen, delta, new_value);
}

int grove_counter_decr(grove_counter_t *c, int64_t delta, int64_t *new_value)
{
	if (delta == INT64_MIN)
		return GROVE_EOVERFLOW;
	return grove_db_counter_add(c->h.db, c->h.key, c->h.klen, -delta, new_value);
}

int grove_counter_value(grove_counter_t *c, int64_t *out)
{
	grove_value_t *v;
	int rc = handle_read(&c->h, GROVE_TYPE_COUNTER, &v);
	if (rc == GROVE_ENOTFOUND) {
		*out = 0;
		return 0;
	}
	if (rc)
		return rc;
	rc = grove_pncounter_get(v, out);
	grove_value_destroy(v);
	return rc;
}

int grove_counter_delete_key(grove_counter_t *c, bool *existed)
{
	return handle_delete(&c->h, GROVE_TYPE_COUNTER, existed);
}

/* --- register --- */

int grove_register_init(grove_register_t *r, grove_db_t *db, const void *key, size_t klen)
{
	return handle_init(&r->h, db, key, klen);
}

void grove_register_close(grove_register_t *r)
{
	handle_close(&r->h);
}

int grove_register_set(grove_register_t *r, const void *val, size_t len)
{
	return grove_db_register_set(r->h.db, r->h.key, r->h.klen, val, len);
}

int grove_register_get(grove_register_t *r, uint8_t **val, size_t *len)
{
	grove_value_t *v;
	int rc = handle_read(&r->h, GROVE_TYPE_REGISTER, &v);
	if (rc)
		return rc;
	const void *p;
	size_t n;
	grove_bytes_t out;
	rc = grove_lwwreg_get(v, &p, &n);
	if (rc == 0)
		rc = bytes_copy(&out, p, n);
	grove_value_destroy(v);
	if (rc == 0) {
		*val = out.data;
		*len = out.len;
	}
	return rc;
}

int grove_register_delete_key(grove_register_t *r, bool *existed)
{
	return handle_delete(&r->h, GROVE_TYPE_REGISTER, existed);
}

/* --- set --- */

int grove_set_init(grove_set_t *s, grove_db_t *db, const void *key, size_t klen)
{
	return handle_init(&s->h, db, key, klen);
}

void grove_set_close(grove_set_t *s)
{
	handle_close(&s->h);
}

int grove_set_add(grove_set_t *s, const void *elem, size_t len, bool *added)
{
	return grove_db_set_add(s->h.db, s->h.key, s->h.klen, elem, len, added);
}

int grove_set_remove(grove_set_t *s, const void *elem, size_t len, bool *removed)
{
	return grove_db_set_remove(s->h.db, s->h.key, s->h.klen, elem, len, removed);
}

int grove_set_contains(grove_set_t *s, const void *elem, size_t len, bool *out)
{
	return grove_db_set_contains(s->h.db, s->h.key, s->h.klen, elem, len, out);
}

int grove_set_members(grove_set_t *s, grove_bytes_list_t *out)
{
	grove_value_t *v;
	int rc = handle_read(&s->h, GROVE_TYPE_SET, &v);
	if (rc == GROVE_ENOTFOUND)
		return list_alloc(out, 0);
	if (rc)
		return rc;
	size_t n = grove_orset_count(v);
	grove_bytes_list_t list;
	rc = list_alloc(&list, n);
	for (size_t i = 0; i < n && rc == 0; i++) {
		const void *p;
		size_t len;
		grove_orset_member(v, i, &p, &len);
		rc = bytes_copy(&list.items[i], p, len);
		list.count += rc == 0;
	}
	grove_value_destroy(v);
	if (rc) {
		grove_bytes_list_free(&list);
		return rc;
	}
	*out = list;
	return 0;
}

int grove_set_delete_key(grove_set_t *s, bool *existed)
{
	return handle_delete(&s->h, GROVE_TYPE_SET, existed);
}

/* --- map --- */

int grove_map_init(grove_map_t *m, grove_db_t *db, const void *key, size_t klen)
{
	return handle_init(&m->h, db, key, klen);
}

void grove_map_close(grove_map_t *m)
{
	handle_close(&m->h);
}

int grove_map_set(grove_map_t *m, const void *field, size_t flen, const void *val, size_t vlen,
		  bool *created)
{
	return grove_db_map_set(m->h.db, m->h.key, m->h.klen, field, flen, val, vlen, created);
}

int grove_map_get(grove_map_t *m, const void *field, size_t flen, uint8_t **val, size_t *vlen)
{
	return grove_db_map_get(m->h.db, m->h.key, m->h.klen, field, flen, val, vlen);
}

int grove_map_delete(grove_map_t *m, const void *field, size_t flen, bool *removed)
{
	return grove_db_map_delete(m->h.db, m->h.key, m->h.klen, field, flen, removed);
}

/* Copies every live field (and, when values is non-NULL, its value). */
static int map_entries(grove_map_t *m, grove_bytes_list_t *fields, grove_bytes_list_t *values)
{
	grove_value_t *v = NULL;
	int rc = handle_read(&m->h, GROVE_TYPE_MAP, &v);
	if (rc && rc != GROVE_ENOTFOUND)
		return rc;
	size_t n = rc == 0 ? grove_lwwmap_count(v) : 0;
	grove_bytes_list_t f = { 0 }, vals = { 0 };
	rc = list_alloc(&f, n);
	if (rc == 0 && values)
		rc = list_alloc(&vals, n);
	for (size_t i = 0; i < n && rc == 0; i++) {
		const void *fp, *vp;
		size_t fl, vl;
		grove_lwwmap_entry(v, i, &fp, &fl, &vp, &vl);
		rc = bytes_copy(&f.items[i], fp, fl);
		f.count += rc == 0;
		if (rc == 0 && values) {
			rc = bytes_copy(&vals.items[i], vp, vl);
			vals.count += rc == 0;
		}
	}
	grove_value_destroy(v); /* NULL when absent */
	if (rc) {
		grove_bytes_list_free(&f);
		grove_bytes_list_free(&vals);
		return rc;
	}
	*fields = f;
	if (values)
		*values = vals;
	return 0;
}

int grove_map_keys(grove_map_t *m, grove_bytes_list_t *fields)
{
	return map_entries(m, fields, NULL);
}

int grove_map_all(grove_map_t *m, grove_bytes_list_t *fields, grove_bytes_list_t *values)
{
	return map_entries(m, fields, values);
}

int grove_map_delete_key(grove_map_t *m, bool *existed)
{
	return handle_delete(&m->h, GROVE_TYPE_MAP, existed);
}
