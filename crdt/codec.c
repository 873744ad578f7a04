/*
 * codec.c - canonical msgpack encoding of a value (format:
 * doc/value_format.md).  The decoder, which treats input as hostile, is
 * codec_read.c.
 *
 * Encoding goes through msgpack-c's packer, whose integer, string, binary
 * and array headers always take the smallest form; the packer writes into a
 * buffer grown with grove_realloc (so allocation failures are testable).
 * Components are already canonical in memory (sorted, compacted), so the
 * encoder only walks them in order.
 */
#include <string.h>

#include <msgpack.h>

#include "crdt/alloc.h"
#include "crdt/value_impl.h"

#define GROVE_ENCODE_INITIAL_BYTES 256 /* most values fit: one allocation */

typedef struct grove_wbuf {
	uint8_t *p;
	size_t len, cap;
} grove_wbuf_t;

static int grove_wbuf_write(void *data, const char *buf, size_t len)
{
	grove_wbuf_t *w = data;
	if (len > SIZE_MAX - w->len)
		return -1;
	if (grove__vec_reserve((void **)&w->p, &w->cap, w->len + len, 1))
		return -1;
	if (len)
		memcpy(w->p + w->len, buf, len);
	w->len += len;
	return 0;
}

/* Each packer call returns 0 or -1; encoders OR them together. */
static int grove_pack_str(msgpack_packer *pk, const char *s)
{
	size_t n = strlen(s);
	return msgpack_pack_str(pk, n) | msgpack_pack_str_body(pk, s, n);
}

static int grove_pack_blob(msgpack_packer *pk, const grove__blob_t *b)
{
	return msgpack_pack_bin(pk, b->len) | msgpack_pack_bin_body(pk, b->p, b->len);
}

static int grove_pack_id(msgpack_packer *pk, const grove__id_t *id)
{
	return msgpack_pack_uint64(pk, id->ts) | grove_pack_str(pk, id->node);
}

static int grove_pack_dot(msgpack_packer *pk, const grove__dot_t *d)
{
	return msgpack_pack_array(pk, 2) | grove_pack_str(pk, d->node) |
	       msgpack_pack_uint64(pk, d->counter);
}

static int grove_pack_dots(msgpack_packer *pk, const grove__dots_t *ds)
{
	int r = msgpack_pack_array(pk, ds->len);
	for (size_t i = 0; i < ds->len && !r; i++)
		r = grove_pack_dot(pk, &ds->d[i]);
	return r;
}

static int grove_pack_counter(msgpack_packer *pk, const grove__counter_t *c)
{
	int r = msgpack_pack_array(pk, c->len);
	for (size_t i = 0; i < c->len && !r; i++) {
		const grove__pnentry_t *e = &c->e[i];
		r = msgpack_pack_array(pk, 5) | grove_pack_str(pk, e->node) |
		    msgpack_pack_uint64(pk, e->p) | msgpack_pack_uint64(pk, e->n) |
		    msgpack_pack_uint64(pk, e->bp) | msgpack_pack_uint64(pk, e->bn);
	}
	return r;
}

static int grove_pack_reg(msgpack_packer *pk, const grove__reg_t *g)
{
	int r = msgpack_pack_array(pk, 5) | grove_pack_id(pk, &g->id);
	r |= g->has ? grove_pack_blob(pk, &g->val) : msgpack_pack_nil(pk);
	return r | grove_pack_id(pk, &g->tomb);
}

static int grove_pack_set(msgpack_packer *pk, const grove__set_t *s)
{
	int r = msgpack_pack_array(pk, 3) | grove_pack_dots(pk, &s->vv) |
		grove_pack_dots(pk, &s->cloud) | msgpack_pack_array(pk, s->len);
	for (size_t i = 0; i < s->len && !r; i++)
		r = msgpack_pack_array(pk, 2) | grove_pack_blob(pk, &s->e[i].elem) |
		    grove_pack_dots(pk, &s->e[i].dots);
	return r;
}

static int grove_pack_field(msgpack_packer *pk, const grove__field_t *f)
{
	int r = msgpack_pack_array(pk, 4) | grove_pack_blob(pk, &f->field) |
		grove_pack_id(pk, &f->id);
	return r | (f->has ? grove_pack_blob(pk, &f->val) : msgpack_pack_nil(pk));
}

/* Live fields and tombstones interleaved in field-name order. */
static int grove_pack_map(msgpack_packer *pk, const grove__map_t *m)
{
	const grove__fields_t *l = &m->live, *t = &m->tomb;
	int r = msgpack_pack_array(pk, 3) | grove_pack_id(pk, &m->del) |
		msgpack_pack_array(pk, l->len + t->len);
	size_t i = 0, j = 0;
	while (!r && (i < l->len || j < t->len)) {
		bool live = j == t->len ||
			    (i < l->len && grove__blob_cmp(&l->f[i].field, t->f[j].field.p,
							   t->f[j].field.len) < 0);
		r = grove_pack_field(pk, live ? &l->f[i++] : &t->f[j++]);
	}
	return r;
}

int grove_value_encode(const grove_value_t *v, uint8_t **out, size_t *out_len)
{
	grove_wbuf_t w = { 0 };
	if (grove__vec_reserve((void **)&w.p, &w.cap, GROVE_ENCODE_INITIAL_BYTES, 1))
		return GROVE_ENOMEM;
	msgpack_packer pk;
	msgpack_packer_init(&pk, &w, grove_wbuf_write);
	int r = msgpack_pack_array(&pk, 7) | msgpack_pack_uint8(&pk, GROVE_VALUE_FORMAT_VERSION) |
		msgpack_pack_uint8(&pk, (uint8_t)grove_value_type(v));
	r |= msgpack_pack_array(&pk, 3) | msgpack_pack_uint64(&pk, v->treg.id.ts) |
	     grove_pack_str(&pk, v->treg.id.node) | msgpack_pack_uint8(&pk, v->treg.type);
	if (!r)
		r = grove_pack_counter(&pk, &v->counter);
	if (!r)
		r = grove_pack_reg(&pk, &v->reg);
	if (!r)
		r = grove_pack_set(&pk, &v->set);
	if (!r)
		r = grove_pack_map(&pk, &v->map);
	if (r) {
		grove_free(w.p);
		return GROVE_ENOMEM;
	}
	*out = w.p;
	*out_len = w.len;
	return 0;
}
