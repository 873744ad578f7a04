/*
 * codec.c - canonical msgpack encoding of a value (format:
 * doc/value_format.md).  The decoder, which treats input as hostile, is
 * codec_read.c.
 *
 * A small writer emits msgpack items straight into a byte buffer, always in
 * the smallest form (positive fixint / uint8..uint64, fixstr / str8, bin8..
 * bin32, fixarray / array16 / array32: the forms msgpack-c's packer picks).
 * The buffer is the caller's (grove_value_encode_at) or a fresh one, grown
 * with grove_realloc (so allocation failures are testable).  Room is
 * reserved once per group of small items (an id, a counter entry, a dot)
 * at its largest size, then the put_* helpers write without checks; a
 * reused buffer costs no allocation.  Components are already canonical in memory (sorted,
 * compacted), so the encoder only walks them in order.
 */
#include <string.h>

#include "grove/alloc.h"
#include "crdt/value_int.h"

#define GROVE_ENCODE_INITIAL_BYTES 256 /* most values fit: one allocation */
/* Largest encodings of the small items, for reserving room at once. */
#define GROVE_WR_UINT_MAX 9                         /* uint64 */
#define GROVE_WR_HEAD_MAX 5                         /* array32, bin32 header */
#define GROVE_WR_STR_MAX (2 + GROVE_NODE_ID_MAX)    /* str8 node id */
#define GROVE_WR_ID_MAX (GROVE_WR_UINT_MAX + GROVE_WR_STR_MAX)

typedef struct grove_wr {
	uint8_t *p;
	size_t len, cap;
	bool failed; /* an allocation failed: the output is incomplete */
} grove_wr_t;

/* Room for n more bytes: where to write them, or NULL (w->failed). */
static inline uint8_t *wr_room(grove_wr_t *w, size_t n)
{
	if (w->failed)
		return NULL;
	if (n <= w->cap - w->len)
		return w->p + w->len;
	if (n > SIZE_MAX - w->len ||
	    grove_grow((void **)&w->p, &w->cap, w->len + n, 1, 0, 0) != 0) {
		w->failed = true;
		return NULL;
	}
	return w->p + w->len;
}

/* Ends a write begun by wr_room at o (one past the last byte). */
static inline void wr_done(grove_wr_t *w, const uint8_t *o)
{
	w->len = (size_t)(o - w->p);
}

/* The put_* helpers write one item at o, into room already reserved, and
 * return the end. */
static inline uint8_t *put_tag(uint8_t *o, uint8_t tag, uint64_t x, size_t n)
{
	*o++ = tag;
	switch (n) { /* big-endian */
	case 8:
		*o++ = (uint8_t)(x >> 56);
		*o++ = (uint8_t)(x >> 48);
		*o++ = (uint8_t)(x >> 40);
		*o++ = (uint8_t)(x >> 32);
		/* fall through */
	case 4:
		*o++ = (uint8_t)(x >> 24);
		*o++ = (uint8_t)(x >> 16);
		/* fall through */
	case 2:
		*o++ = (uint8_t)(x >> 8);
		/* fall through */
	case 1:
		*o++ = (uint8_t)x;
		break;
	default:
		break;
	}
	return o;
}

static inline uint8_t *put_uint(uint8_t *o, uint64_t x)
{
	if (x < 0x80)
		return put_tag(o, (uint8_t)x, 0, 0);
	if (x < 0x100)
		return put_tag(o, 0xcc, x, 1);
	if (x < 0x10000)
		return put_tag(o, 0xcd, x, 2);
	if (x < 0x100000000ULL)
		return put_tag(o, 0xce, x, 4);
	return put_tag(o, 0xcf, x, 8);
}

static inline uint8_t *put_array(uint8_t *o, size_t n)
{
	if (n < 16)
		return put_tag(o, (uint8_t)(0x90 | n), 0, 0);
	if (n < 0x10000)
		return put_tag(o, 0xdc, n, 2);
	return put_tag(o, 0xdd, n, 4);
}

/* A node id: 0..GROVE_NODE_ID_MAX bytes, so fixstr or str8. */
static inline uint8_t *put_str(uint8_t *o, const char *s)
{
	size_t n = s[0] ? strlen(s) : 0;
	o = n < 32 ? put_tag(o, (uint8_t)(0xa0 | n), 0, 0) : put_tag(o, 0xd9, n, 1);
	memcpy(o, s, n);
	return o + n;
}

static inline uint8_t *put_id(uint8_t *o, const grove_value__id_t *id)
{
	return put_str(put_uint(o, id->ts), id->node);
}

/* A blob's header and bytes, or nil when absent (!has). */
static void wr_blob(grove_wr_t *w, bool has, const grove_value__blob_t *b)
{
	uint8_t *o = wr_room(w, GROVE_WR_HEAD_MAX);
	if (!o)
		return;
	if (!has)
		o = put_tag(o, 0xc0, 0, 0);
	else if (b->len < 0x100)
		o = put_tag(o, 0xc4, b->len, 1);
	else if (b->len < 0x10000)
		o = put_tag(o, 0xc5, b->len, 2);
	else
		o = put_tag(o, 0xc6, b->len, 4);
	wr_done(w, o);
	if (has && b->len && (o = wr_room(w, b->len)) != NULL) {
		memcpy(o, b->p, b->len);
		wr_done(w, o + b->len);
	}
}

static inline void wr_array(grove_wr_t *w, size_t n)
{
	uint8_t *o = wr_room(w, GROVE_WR_HEAD_MAX);
	if (o)
		wr_done(w, put_array(o, n));
}

static inline void wr_id(grove_wr_t *w, const grove_value__id_t *id)
{
	uint8_t *o = wr_room(w, GROVE_WR_ID_MAX);
	if (o)
		wr_done(w, put_id(o, id));
}

static void wr_dots(grove_wr_t *w, const grove_value__dots_t *ds)
{
	wr_array(w, ds->len);
	for (size_t i = 0; i < ds->len; i++) {
		uint8_t *o = wr_room(w, 1 + GROVE_WR_STR_MAX + GROVE_WR_UINT_MAX);
		if (!o)
			return;
		o = put_str(put_array(o, 2), ds->d[i].node);
		wr_done(w, put_uint(o, ds->d[i].counter));
	}
}

static void wr_counter(grove_wr_t *w, const grove_value__counter_t *c)
{
	wr_array(w, c->len);
	for (size_t i = 0; i < c->len; i++) {
		const grove_value__pnentry_t *e = &c->e[i];
		uint8_t *o = wr_room(w, 1 + GROVE_WR_STR_MAX + 4 * GROVE_WR_UINT_MAX);
		if (!o)
			return;
		o = put_str(put_array(o, 5), e->node);
		o = put_uint(put_uint(o, e->p), e->n);
		wr_done(w, put_uint(put_uint(o, e->bp), e->bn));
	}
}

static void wr_reg(grove_wr_t *w, const grove_value__reg_t *g)
{
	uint8_t *o = wr_room(w, 1 + GROVE_WR_ID_MAX);
	if (o)
		wr_done(w, put_id(put_array(o, 5), &g->id));
	wr_blob(w, g->has, &g->val);
	wr_id(w, &g->tomb);
}

static void wr_set(grove_wr_t *w, const grove_value__set_t *s)
{
	wr_array(w, 3);
	wr_dots(w, &s->vv);
	wr_dots(w, &s->cloud);
	wr_array(w, s->len);
	for (size_t i = 0; i < s->len && !w->failed; i++) {
		wr_array(w, 2);
		wr_blob(w, true, &s->e[i].elem);
		wr_dots(w, &s->e[i].dots);
	}
}

static void wr_field(grove_wr_t *w, const grove_value__field_t *f)
{
	wr_array(w, 4);
	wr_blob(w, true, &f->field);
	wr_id(w, &f->id);
	wr_blob(w, f->has, &f->val);
}

/* Live fields and tombstones interleaved in field-name order. */
static void wr_map(grove_wr_t *w, const grove_value__map_t *m)
{
	const grove_value__fields_t *l = &m->live, *t = &m->tomb;
	wr_array(w, l->len + t->len);
	size_t i = 0, j = 0;
	while (!w->failed && (i < l->len || j < t->len)) {
		bool live = j == t->len ||
			    (i < l->len && grove_value__blob_cmp(&l->f[i].field, t->f[j].field.p,
							   t->f[j].field.len) < 0);
		wr_field(w, live ? &l->f[i++] : &t->f[j++]);
	}
}

/* Version, visible type and type register. */
static void wr_top(grove_wr_t *w, const grove_value_t *v)
{
	uint8_t *o = wr_room(w, 4 + 2 * GROVE_WR_UINT_MAX + GROVE_WR_ID_MAX);
	if (!o)
		return;
	bool exp = !grove_value__exp_empty(&v->exp);
	o = put_uint(put_array(o, exp ? 8 : 7),
		     exp ? GROVE_VALUE_FORMAT_VERSION_EXPIRY : GROVE_VALUE_FORMAT_VERSION);
	o = put_array(put_uint(o, (uint8_t)grove_value_type(v)), 3);
	wr_done(w, put_uint(put_id(o, &v->treg.id), v->treg.type));
}

/* Expiry (version 2 only): [ts, node, tomb_ts, tomb_node, bin8 deadline],
 * the deadline last and of fixed width (8 bytes big-endian), so that
 * storage reads it from the end of a record without decoding. */
static void wr_exp(grove_wr_t *w, const grove_value__exp_t *e)
{
	if (grove_value__exp_empty(e))
		return;
	uint8_t *o = wr_room(w, 1 + 2 * GROVE_WR_ID_MAX + 10);
	if (!o)
		return;
	o = put_id(put_id(put_array(o, 5), &e->id), &e->tomb);
	o = put_tag(o, 0xc4, 8, 1);
	for (int i = 7; i >= 0; i--)
		*o++ = (uint8_t)(e->at_ms >> (8 * i));
	wr_done(w, o);
}

int grove_value_encode_at(const grove_value_t *v, uint8_t **buf, size_t *cap, size_t at,
			  size_t *out_len)
{
	if (at > *cap)
		return GROVE_EINVAL;
	grove_wr_t w = { .p = *buf, .len = at, .cap = *cap };
	if (!w.p) /* a fresh buffer: room for most values at once */
		wr_room(&w, GROVE_ENCODE_INITIAL_BYTES);
	wr_top(&w, v);
	wr_counter(&w, &v->counter);
	wr_reg(&w, &v->reg);
	wr_set(&w, &v->set);
	wr_map(&w, &v->map);
	wr_exp(&w, &v->exp);
	*buf = w.p; /* grown or not, the buffer stays the caller's */
	*cap = w.cap;
	if (w.failed)
		return GROVE_ENOMEM;
	*out_len = w.len - at;
	return 0;
}

int grove_value_encode(const grove_value_t *v, uint8_t **out, size_t *out_len)
{
	uint8_t *buf = NULL;
	size_t cap = 0;
	int rc = grove_value_encode_at(v, &buf, &cap, 0, out_len);
	if (rc) {
		grove_free(buf);
		return rc;
	}
	*out = buf;
	return 0;
}
