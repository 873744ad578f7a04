/*
 * codec_read.c - decoder for the canonical value encoding
 * (doc/value_format.md).  Input is hostile.
 *
 * A small cursor reads msgpack items straight from the bytes: every read is
 * bounds-checked, every integer, string, binary and array header must be in
 * msgpack's smallest form, every array count is checked against the bytes
 * left and GROVE_VALUE_ENTRIES_MAX before anything is allocated, and blobs
 * are at most GROVE_BLOB_MAX.  The schema has fixed depth
 * (GROVE_VALUE_DEPTH_MAX) and the decoder never recurses.  Beyond syntax it
 * accepts only canonical states (sorted, unique, compacted, invariants such
 * as bp <= p and "every dot inside the context" hold), so that one state has
 * exactly one encoding and decode followed by encode gives the input back.
 * Errors: GROVE_EDECODE (malformed or non-canonical), GROVE_ETOOBIG (a
 * limit), GROVE_EVERSION (unknown format version), GROVE_ENOMEM.
 */
#include <string.h>

#include "grove/alloc.h"
#include "crdt/value_int.h"

typedef struct grove_rd {
	const uint8_t *p;
	size_t len, pos;
} grove_rd_t;

static int rd_bytes(grove_rd_t *r, size_t n, const uint8_t **out)
{
	if (n > r->len - r->pos)
		return GROVE_EDECODE;
	*out = r->p + r->pos;
	r->pos += n;
	return 0;
}

/* A big-endian unsigned integer of n bytes (1, 2, 4 or 8). */
static int rd_be(grove_rd_t *r, size_t n, uint64_t *out)
{
	const uint8_t *b;
	int rc = rd_bytes(r, n, &b);
	if (rc)
		return rc;
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++)
		x = (x << 8) | b[i];
	*out = x;
	return 0;
}

/* A big-endian number of `width` bytes that must be at least `min`, so
 * that no smaller msgpack form could have held it. */
static int rd_len(grove_rd_t *r, size_t width, uint64_t min, uint64_t *out)
{
	int rc = rd_be(r, width, out);
	return rc ? rc : *out < min ? GROVE_EDECODE : 0;
}

static int rd_tag(grove_rd_t *r, uint8_t *tag)
{
	const uint8_t *b;
	int rc = rd_bytes(r, 1, &b);
	if (rc == 0)
		*tag = *b;
	return rc;
}

static int rd_uint(grove_rd_t *r, uint64_t *out)
{
	uint8_t tag;
	int rc = rd_tag(r, &tag);
	if (rc)
		return rc;
	if (tag <= 0x7f) {
		*out = tag;
		return 0;
	}
	static const uint64_t floor[4] = { 0x80, 0x100, 0x10000, 0x100000000ULL };
	if (tag < 0xcc || tag > 0xcf)
		return GROVE_EDECODE;
	size_t k = (size_t)(tag - 0xcc);
	return rd_len(r, (size_t)1 << k, floor[k], out);
}

/* An array header with exactly `want` entries (want < 16). */
static int rd_tuple(grove_rd_t *r, uint8_t want)
{
	uint8_t tag;
	int rc = rd_tag(r, &tag);
	if (rc)
		return rc;
	return tag == (0x90 | want) ? 0 : GROVE_EDECODE;
}

/* A variable array header: count checked before any allocation. */
static int rd_array(grove_rd_t *r, size_t *count)
{
	uint8_t tag;
	uint64_t n;
	int rc = rd_tag(r, &tag);
	if (rc)
		return rc;
	if (tag >= 0x90 && tag <= 0x9f)
		n = tag & 0x0f;
	else if (tag == 0xdc)
		rc = rd_len(r, 2, 16, &n);
	else if (tag == 0xdd)
		rc = rd_len(r, 4, 0x10000, &n);
	else
		return GROVE_EDECODE;
	if (rc)
		return rc;
	if (n > GROVE_VALUE_ENTRIES_MAX)
		return GROVE_ETOOBIG;
	if (n > r->len - r->pos)
		return GROVE_EDECODE; /* every entry takes at least one byte */
	*count = (size_t)n;
	return 0;
}

/* A string (node id): fixstr or str8 only, since node ids are short. */
static int rd_node(grove_rd_t *r, char node[GROVE_NODE_ID_MAX + 1])
{
	uint8_t tag;
	uint64_t n;
	int rc = rd_tag(r, &tag);
	if (rc)
		return rc;
	if (tag >= 0xa0 && tag <= 0xbf)
		n = tag & 0x1f;
	else if (tag == 0xd9)
		rc = rd_len(r, 1, 32, &n);
	else
		return GROVE_EDECODE;
	if (rc)
		return rc;
	if (n > GROVE_NODE_ID_MAX)
		return GROVE_ETOOBIG;
	const uint8_t *b;
	rc = rd_bytes(r, (size_t)n, &b);
	if (rc)
		return rc;
	if (memchr(b, 0, (size_t)n))
		return GROVE_EDECODE;
	memcpy(node, b, (size_t)n);
	node[n] = '\0';
	return 0;
}

/* A binary string, copied; *is_nil set instead when nil_ok and nil. */
static int rd_blob(grove_rd_t *r, grove_value__blob_t *out, bool nil_ok, bool *is_nil)
{
	uint8_t tag;
	uint64_t n = 0;
	int rc = rd_tag(r, &tag);
	if (rc)
		return rc;
	if (nil_ok)
		*is_nil = tag == 0xc0;
	if (nil_ok && tag == 0xc0)
		return 0;
	if (tag == 0xc4)
		rc = rd_len(r, 1, 0, &n);
	else if (tag == 0xc5)
		rc = rd_len(r, 2, 0x100, &n);
	else if (tag == 0xc6)
		rc = rd_len(r, 4, 0x10000, &n);
	else
		return GROVE_EDECODE;
	if (rc)
		return rc;
	if (n > GROVE_BLOB_MAX)
		return GROVE_ETOOBIG;
	const uint8_t *b;
	rc = rd_bytes(r, (size_t)n, &b);
	return rc ? rc : grove_value__blob_set(out, b, (size_t)n);
}

/* An id (ts, node): the none id is (0, ""); otherwise a valid node. */
static int rd_id(grove_rd_t *r, grove_value__id_t *id)
{
	int rc = rd_uint(r, &id->ts);
	if (!rc)
		rc = rd_node(r, id->node);
	if (!rc && id->node[0] == '\0' && id->ts != 0)
		rc = GROVE_EDECODE;
	return rc;
}

static int rd_dot(grove_rd_t *r, grove_value__dot_t *d)
{
	int rc = rd_tuple(r, 2);
	if (!rc)
		rc = rd_node(r, d->node);
	if (!rc)
		rc = rd_uint(r, &d->counter);
	if (!rc && (d->node[0] == '\0' || d->counter == 0))
		rc = GROVE_EDECODE;
	return rc;
}

/* A strictly increasing list of dots; with by_node, at most one per node. */
static int rd_dots(grove_rd_t *r, grove_value__dots_t *ds, bool by_node)
{
	size_t n;
	int rc = rd_array(r, &n);
	if (!rc)
		rc = grove_grow((void **)&ds->d, &ds->cap, n, sizeof(*ds->d), 0, 0);
	for (size_t i = 0; i < n && !rc; i++) {
		rc = rd_dot(r, &ds->d[i]);
		if (rc || i == 0)
			continue;
		int c = by_node ? strcmp(ds->d[i - 1].node, ds->d[i].node)
				: grove_value__dot_cmp(&ds->d[i - 1], &ds->d[i]);
		if (c >= 0)
			rc = GROVE_EDECODE;
	}
	if (!rc)
		ds->len = n;
	return rc;
}

static int rd_treg(grove_rd_t *r, grove_value__treg_t *t)
{
	uint64_t type = 0;
	int rc = rd_tuple(r, 3);
	if (!rc)
		rc = rd_uint(r, &t->id.ts);
	if (!rc)
		rc = rd_node(r, t->id.node);
	if (!rc)
		rc = rd_uint(r, &type);
	if (rc)
		return rc;
	bool none = t->id.ts == 0 && t->id.node[0] == '\0' && type == GROVE_TYPE_NONE;
	bool some = t->id.ts >= 1 && t->id.node[0] != '\0' && type >= GROVE_TYPE_COUNTER &&
		    type <= GROVE_TYPE_LIST;
	t->type = (uint8_t)type;
	return none || some ? 0 : GROVE_EDECODE;
}

static int rd_pnentry(grove_rd_t *r, grove_value__pnentry_t *e)
{
	int rc = rd_tuple(r, 5);
	if (!rc)
		rc = rd_node(r, e->node);
	if (!rc)
		rc = rd_uint(r, &e->p);
	if (!rc)
		rc = rd_uint(r, &e->n);
	if (!rc)
		rc = rd_uint(r, &e->bp);
	if (!rc)
		rc = rd_uint(r, &e->bn);
	if (!rc && (e->node[0] == '\0' || e->bp > e->p || e->bn > e->n || (e->p | e->n) == 0))
		rc = GROVE_EDECODE;
	return rc;
}

static int rd_counter(grove_rd_t *r, grove_value__counter_t *c)
{
	size_t n;
	int rc = rd_array(r, &n);
	if (!rc)
		rc = grove_grow((void **)&c->e, &c->cap, n, sizeof(*c->e), 0, 0);
	for (size_t i = 0; i < n && !rc; i++) {
		rc = rd_pnentry(r, &c->e[i]);
		if (!rc && i > 0 && strcmp(c->e[i - 1].node, c->e[i].node) >= 0)
			rc = GROVE_EDECODE;
	}
	if (!rc)
		c->len = n;
	return rc;
}

static int rd_reg(grove_rd_t *r, grove_value__reg_t *g)
{
	bool nil = true;
	int rc = rd_tuple(r, 5);
	if (!rc)
		rc = rd_id(r, &g->id);
	if (!rc)
		rc = rd_blob(r, &g->val, true, &nil);
	if (!rc)
		rc = rd_id(r, &g->tomb);
	if (rc)
		return rc;
	grove_value__id_t none = { 0 };
	g->has = !nil;
	if (nil ? grove_value__id_cmp(&g->id, &none) != 0 : grove_value__id_cmp(&g->id, &g->tomb) <= 0)
		return GROVE_EDECODE;
	return 0;
}

/* Cloud dots must lie strictly above vv + 1 (else compaction absorbs them). */
static int rd_check_cloud(const grove_value__set_t *s)
{
	for (size_t i = 0; i < s->cloud.len; i++) {
		const grove_value__dot_t *d = &s->cloud.d[i];
		if (d->counter - 1 <= grove_value__vv_get(&s->vv, d->node))
			return GROVE_EDECODE;
	}
	return 0;
}

static int rd_elem(grove_rd_t *r, const grove_value__set_t *s, grove_value__elem_t *e)
{
	int rc = rd_tuple(r, 2);
	if (!rc)
		rc = rd_blob(r, &e->elem, false, NULL);
	if (!rc)
		rc = rd_dots(r, &e->dots, false);
	if (!rc && e->dots.len == 0)
		rc = GROVE_EDECODE;
	for (size_t i = 0; i < e->dots.len && !rc; i++)
		if (!grove_value__ctx_contains(s, &e->dots.d[i]))
			rc = GROVE_EDECODE;
	return rc;
}

static int rd_set(grove_rd_t *r, grove_value__set_t *s)
{
	size_t n = 0;
	int rc = rd_tuple(r, 3);
	if (!rc)
		rc = rd_dots(r, &s->vv, true);
	if (!rc)
		rc = rd_dots(r, &s->cloud, false);
	if (!rc)
		rc = rd_check_cloud(s);
	if (!rc)
		rc = rd_array(r, &n);
	if (!rc)
		rc = grove_grow((void **)&s->e, &s->cap, n, sizeof(*s->e), 0, 0);
	for (size_t i = 0; i < n && !rc; i++) {
		grove_value__elem_t *e = &s->e[i];
		memset(e, 0, sizeof(*e));
		s->len = i + 1; /* e is owned by s from here, even half-read */
		rc = rd_elem(r, s, e);
		if (!rc && i > 0 && grove_value__blob_cmp(&s->e[i - 1].elem, e->elem.p, e->elem.len) >= 0)
			rc = GROVE_EDECODE;
	}
	return rc;
}

/* One map field, appended to the live or tombstone array (*live says
 * which); prev is the previous field name, which it must follow. */
static int rd_field(grove_rd_t *r, grove_value__map_t *m, const grove_value__blob_t *prev, bool *live)
{
	grove_value__field_t f = { 0 };
	bool nil = false;
	int rc = rd_tuple(r, 4);
	if (!rc)
		rc = rd_blob(r, &f.field, false, NULL);
	if (!rc && prev && grove_value__blob_cmp(prev, f.field.p, f.field.len) >= 0)
		rc = GROVE_EDECODE;
	if (!rc)
		rc = rd_id(r, &f.id);
	if (!rc && !f.id.node[0])
		rc = GROVE_EDECODE; /* a write has a real id, never the none id */
	if (!rc)
		rc = rd_blob(r, &f.val, true, &nil);
	f.has = !nil;
	grove_value__fields_t *fs = f.has ? &m->live : &m->tomb;
	if (!rc)
		rc = grove_grow((void **)&fs->f, &fs->cap, fs->len + 1, sizeof(f), 0, 0);
	if (rc) {
		grove_value__blob_free(&f.field);
		grove_value__blob_free(&f.val);
		return rc;
	}
	fs->f[fs->len++] = f;
	*live = f.has;
	return 0;
}

static int rd_map(grove_rd_t *r, grove_value__map_t *m)
{
	size_t n;
	int rc = rd_array(r, &n);
	bool last_live = false;
	for (size_t i = 0; i < n && !rc; i++) {
		const grove_value__fields_t *fs = last_live ? &m->live : &m->tomb;
		rc = rd_field(r, m, i ? &fs->f[fs->len - 1].field : NULL, &last_live);
	}
	return rc;
}

/* Expiry (version 2): present only when not empty; a write's id is greater
 * than the tombstone; the none id comes with deadline 0. */
static int rd_exp(grove_rd_t *r, grove_value__exp_t *e)
{
	const uint8_t *b;
	int rc = rd_tuple(r, 5);
	if (!rc)
		rc = rd_id(r, &e->id);
	if (!rc)
		rc = rd_id(r, &e->tomb);
	if (!rc)
		rc = rd_bytes(r, 2, &b);
	if (!rc && (b[0] != 0xc4 || b[1] != 8))
		rc = GROVE_EDECODE;
	if (!rc)
		rc = rd_be(r, 8, &e->at_ms);
	if (rc)
		return rc;
	bool has = e->id.node[0] != '\0';
	if (grove_value__exp_empty(e) || e->at_ms > GROVE_EXPIRY_AT_MAX || (!has && e->at_ms) ||
	    (has && grove_value__id_cmp(&e->id, &e->tomb) <= 0))
		return GROVE_EDECODE;
	return 0;
}

int grove_value_decode(const uint8_t *buf, size_t len, grove_value_t **out)
{
	if (len > GROVE_VALUE_BYTES_MAX)
		return GROVE_ETOOBIG;
	grove_rd_t r = { buf, len, 0 };
	uint64_t version, type;
	size_t n;
	int rc = rd_array(&r, &n);
	if (!rc)
		rc = rd_uint(&r, &version);
	if (!rc && version != GROVE_VALUE_FORMAT_VERSION && version != GROVE_VALUE_FORMAT_VERSION_EXPIRY)
		rc = GROVE_EVERSION;
	if (!rc && n != (version == GROVE_VALUE_FORMAT_VERSION ? 7u : 8u))
		rc = GROVE_EDECODE;
	if (!rc)
		rc = rd_uint(&r, &type);
	if (rc)
		return rc;
	grove_value_t *v;
	rc = grove_value_create(&v);
	if (rc)
		return rc;
	rc = rd_treg(&r, &v->treg);
	if (!rc)
		rc = rd_counter(&r, &v->counter);
	if (!rc)
		rc = rd_reg(&r, &v->reg);
	if (!rc)
		rc = rd_set(&r, &v->set);
	if (!rc)
		rc = rd_map(&r, &v->map);
	if (!rc && version == GROVE_VALUE_FORMAT_VERSION_EXPIRY)
		rc = rd_exp(&r, &v->exp);
	if (!rc && (r.pos != len || type != (uint64_t)grove_value_type(v)))
		rc = GROVE_EDECODE;
	if (rc) {
		grove_value_destroy(v);
		return rc;
	}
	*out = v;
	return 0;
}
