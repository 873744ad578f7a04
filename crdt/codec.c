/*
 * codec.c - canonical msgpack encoding of a value (format:
 * doc/value_format.md).  The decoder, which treats input as hostile, is
 * codec_read.c.
 *
 * A small writer emits msgpack items straight into a byte buffer, always in
 * the smallest form (positive fixint / uint8..uint64, fixstr / str8, bin8..
 * bin32, fixarray / array16 / array32: the forms msgpack-c's packer picks).
 * The buffer is the caller's (grove_value_encode_at) or a fresh one, grown
 * with grove_realloc (so allocation failures are testable); each item checks
 * room inline and grows only when needed, so a reused buffer costs no
 * allocation.  Components are already canonical in memory (sorted,
 * compacted), so the encoder only walks them in order.
 */
#include <string.h>

#include "crdt/alloc.h"
#include "crdt/value_impl.h"

#define GROVE_ENCODE_INITIAL_BYTES 256 /* most values fit: one allocation */
#define GROVE_ITEM_HEADER_MAX 9        /* largest msgpack header: tag + u64 */

typedef struct grove_wr {
	uint8_t *p;
	size_t len, cap;
	bool failed; /* an allocation failed: the output is incomplete */
} grove_wr_t;

/* Makes room for n more bytes; false (and w->failed) when it cannot. */
static bool grove_wr_room(grove_wr_t *w, size_t n)
{
	if (w->failed)
		return false;
	if (n <= w->cap - w->len)
		return true;
	if (n > SIZE_MAX - w->len ||
	    grove__vec_reserve((void **)&w->p, &w->cap, w->len + n, 1) != 0) {
		w->failed = true;
		return false;
	}
	return true;
}

/* A tag followed by an n-byte big-endian number (n = 0, 1, 2, 4 or 8). */
static void grove_wr_head(grove_wr_t *w, uint8_t tag, uint64_t x, size_t n)
{
	if (!grove_wr_room(w, GROVE_ITEM_HEADER_MAX))
		return;
	uint8_t *o = w->p + w->len;
	o[0] = tag;
	for (size_t i = 0; i < n; i++)
		o[1 + i] = (uint8_t)(x >> (8 * (n - 1 - i)));
	w->len += 1 + n;
}

static void grove_wr_raw(grove_wr_t *w, const void *b, size_t n)
{
	if (n && grove_wr_room(w, n)) {
		memcpy(w->p + w->len, b, n);
		w->len += n;
	}
}

static void grove_wr_uint(grove_wr_t *w, uint64_t x)
{
	if (x < 0x80)
		grove_wr_head(w, (uint8_t)x, 0, 0);
	else if (x < 0x100)
		grove_wr_head(w, 0xcc, x, 1);
	else if (x < 0x10000)
		grove_wr_head(w, 0xcd, x, 2);
	else if (x < 0x100000000ULL)
		grove_wr_head(w, 0xce, x, 4);
	else
		grove_wr_head(w, 0xcf, x, 8);
}

static void grove_wr_array(grove_wr_t *w, size_t n)
{
	if (n < 16)
		grove_wr_head(w, (uint8_t)(0x90 | n), 0, 0);
	else if (n < 0x10000)
		grove_wr_head(w, 0xdc, n, 2);
	else
		grove_wr_head(w, 0xdd, n, 4);
}

/* A node id: 0..GROVE_NODE_ID_MAX bytes, so fixstr or str8. */
static void grove_wr_str(grove_wr_t *w, const char *s)
{
	size_t n = strlen(s);
	if (n < 32)
		grove_wr_head(w, (uint8_t)(0xa0 | n), 0, 0);
	else
		grove_wr_head(w, 0xd9, n, 1);
	grove_wr_raw(w, s, n);
}

static void grove_wr_blob(grove_wr_t *w, const grove__blob_t *b)
{
	if (b->len < 0x100)
		grove_wr_head(w, 0xc4, b->len, 1);
	else if (b->len < 0x10000)
		grove_wr_head(w, 0xc5, b->len, 2);
	else
		grove_wr_head(w, 0xc6, b->len, 4);
	grove_wr_raw(w, b->p, b->len);
}

/* A blob, or nil when absent. */
static void grove_wr_opt_blob(grove_wr_t *w, bool has, const grove__blob_t *b)
{
	if (has)
		grove_wr_blob(w, b);
	else
		grove_wr_head(w, 0xc0, 0, 0);
}

static void grove_wr_id(grove_wr_t *w, const grove__id_t *id)
{
	grove_wr_uint(w, id->ts);
	grove_wr_str(w, id->node);
}

static void grove_wr_dots(grove_wr_t *w, const grove__dots_t *ds)
{
	grove_wr_array(w, ds->len);
	for (size_t i = 0; i < ds->len && !w->failed; i++) {
		grove_wr_array(w, 2);
		grove_wr_str(w, ds->d[i].node);
		grove_wr_uint(w, ds->d[i].counter);
	}
}

static void grove_wr_counter(grove_wr_t *w, const grove__counter_t *c)
{
	grove_wr_array(w, c->len);
	for (size_t i = 0; i < c->len && !w->failed; i++) {
		const grove__pnentry_t *e = &c->e[i];
		grove_wr_array(w, 5);
		grove_wr_str(w, e->node);
		grove_wr_uint(w, e->p);
		grove_wr_uint(w, e->n);
		grove_wr_uint(w, e->bp);
		grove_wr_uint(w, e->bn);
	}
}

static void grove_wr_reg(grove_wr_t *w, const grove__reg_t *g)
{
	grove_wr_array(w, 5);
	grove_wr_id(w, &g->id);
	grove_wr_opt_blob(w, g->has, &g->val);
	grove_wr_id(w, &g->tomb);
}

static void grove_wr_set(grove_wr_t *w, const grove__set_t *s)
{
	grove_wr_array(w, 3);
	grove_wr_dots(w, &s->vv);
	grove_wr_dots(w, &s->cloud);
	grove_wr_array(w, s->len);
	for (size_t i = 0; i < s->len && !w->failed; i++) {
		grove_wr_array(w, 2);
		grove_wr_blob(w, &s->e[i].elem);
		grove_wr_dots(w, &s->e[i].dots);
	}
}

static void grove_wr_field(grove_wr_t *w, const grove__field_t *f)
{
	grove_wr_array(w, 4);
	grove_wr_blob(w, &f->field);
	grove_wr_id(w, &f->id);
	grove_wr_opt_blob(w, f->has, &f->val);
}

/* Live fields and tombstones interleaved in field-name order. */
static void grove_wr_map(grove_wr_t *w, const grove__map_t *m)
{
	const grove__fields_t *l = &m->live, *t = &m->tomb;
	grove_wr_array(w, 3);
	grove_wr_id(w, &m->del);
	grove_wr_array(w, l->len + t->len);
	size_t i = 0, j = 0;
	while (!w->failed && (i < l->len || j < t->len)) {
		bool live = j == t->len ||
			    (i < l->len && grove__blob_cmp(&l->f[i].field, t->f[j].field.p,
							   t->f[j].field.len) < 0);
		grove_wr_field(w, live ? &l->f[i++] : &t->f[j++]);
	}
}

int grove_value_encode_at(const grove_value_t *v, uint8_t **buf, size_t *cap, size_t at,
			  size_t *out_len)
{
	if (at > *cap)
		return GROVE_EINVAL;
	grove_wr_t w = { .p = *buf, .len = at, .cap = *cap };
	grove_wr_room(&w, GROVE_ENCODE_INITIAL_BYTES);
	grove_wr_array(&w, 7);
	grove_wr_uint(&w, GROVE_VALUE_FORMAT_VERSION);
	grove_wr_uint(&w, (uint8_t)grove_value_type(v));
	grove_wr_array(&w, 3);
	grove_wr_id(&w, &v->treg.id);
	grove_wr_uint(&w, v->treg.type);
	grove_wr_counter(&w, &v->counter);
	grove_wr_reg(&w, &v->reg);
	grove_wr_set(&w, &v->set);
	grove_wr_map(&w, &v->map);
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
