/*
 * codec.c - encoder helpers and the validating decoder of anti-entropy
 * datagrams and stream frames (format: doc/antientropy.md).
 *
 * The decoder walks a message once with bounds-checked readers that report
 * failure through a flag; only a message read completely and exactly is
 * accepted.  The grove_ae_rd_* iterators reuse the same readers on the
 * validated body, so they cannot overrun it.
 */
#include "gossip/ae/codec.h"

#include <string.h>

#include "base/assert.h"

/* ---- reading ---- */

typedef struct cur {
	const uint8_t *p;
	const uint8_t *end;
	bool bad;
} cur_t;

static uint8_t get_u8(cur_t *c)
{
	if (c->bad || c->p >= c->end) {
		c->bad = true;
		return 0;
	}
	return *c->p++;
}

static uint32_t get_u32(cur_t *c)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v = (v << 8) | get_u8(c);
	return v;
}

/* LEB128, at most 10 bytes, no bits beyond 64. */
static uint64_t get_varint(cur_t *c)
{
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		uint8_t b = get_u8(c);
		if (c->bad)
			return 0;
		if (shift == 63 && (b & 0x7e)) {
			c->bad = true;
			return 0;
		}
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	c->bad = true;
	return 0;
}

static const uint8_t *get_bytes(cur_t *c, size_t n)
{
	if (c->bad || (size_t)(c->end - c->p) < n) {
		c->bad = true;
		return NULL;
	}
	const uint8_t *p = c->p;
	c->p += n;
	return p;
}

/* A varint length in [min, max] followed by that many bytes. */
static const uint8_t *get_blob(cur_t *c, size_t min, size_t max, size_t *len)
{
	uint64_t n = get_varint(c);
	if (c->bad || n < min || n > max) {
		c->bad = true;
		*len = 0;
		return NULL;
	}
	*len = (size_t)n;
	return get_bytes(c, (size_t)n);
}

/* ---- entry readers shared by validation and iteration ---- */

static void rd_group(cur_t *c, uint32_t *parent, uint16_t *mask,
			    const uint8_t **digests)
{
	uint64_t p = get_varint(c);
	uint16_t m = (uint16_t)(get_u8(c) << 8);
	m |= get_u8(c);
	if (p > UINT32_MAX)
		c->bad = true;
	*parent = (uint32_t)p;
	*mask = m;
	*digests = get_bytes(c, (size_t)__builtin_popcount(m) * GROVE_DIGEST_BYTES);
}

static void rd_segment(cur_t *c, uint32_t *segment, bool *final, uint32_t *nkeys)
{
	uint64_t s = get_varint(c);
	uint8_t f = get_u8(c);
	uint64_t n = get_varint(c);
	if (s >= GROVE_TREE_SEGMENTS || f > 1 || n > GROVE_AE_ENTRIES_MAX)
		c->bad = true;
	*segment = (uint32_t)s;
	*final = f == 1;
	*nkeys = (uint32_t)n;
}

static void rd_keydig(cur_t *c, const uint8_t **key, size_t *klen,
			     const uint8_t **digest)
{
	*key = get_blob(c, 1, GROVE_ITEM_NAME_MAX, klen);
	*digest = get_bytes(c, GROVE_DIGEST_BYTES);
}

static void rd_key(cur_t *c, const uint8_t **key, size_t *klen)
{
	*key = get_blob(c, 1, GROVE_ITEM_NAME_MAX, klen);
}

static void rd_state(cur_t *c, const uint8_t **key, size_t *klen,
			    const uint8_t **state, size_t *slen)
{
	*key = get_blob(c, 1, GROVE_ITEM_NAME_MAX, klen);
	*state = get_blob(c, 1, GROVE_AE_FRAME_BYTES_LIMIT, slen);
}

/* ---- validation per type ---- */

static uint32_t level_width(unsigned level)
{
	return 1u << (4 * level); /* GROVE_TREE_FANOUT ^ level */
}

static void check_nodes(cur_t *c, grove_ae_frame_t *f)
{
	f->level = get_u8(c);
	f->count = get_u32(c);
	if (f->level < 1 || f->level > GROVE_TREE_LEVELS || f->count > GROVE_AE_ENTRIES_MAX) {
		c->bad = true;
		return;
	}
	uint32_t parents = level_width(f->level - 1u);
	for (uint32_t i = 0; i < f->count && !c->bad; i++) {
		uint32_t parent;
		uint16_t mask;
		const uint8_t *d;
		rd_group(c, &parent, &mask, &d);
		if (parent >= parents)
			c->bad = true;
	}
}

static void check_keys(cur_t *c, grove_ae_frame_t *f)
{
	f->count = get_u32(c);
	if (f->count > GROVE_AE_ENTRIES_MAX) {
		c->bad = true;
		return;
	}
	for (uint32_t i = 0; i < f->count && !c->bad; i++) {
		uint32_t seg, n;
		bool fin;
		rd_segment(c, &seg, &fin, &n);
		for (uint32_t k = 0; k < n && !c->bad; k++) {
			const uint8_t *key, *dig;
			size_t klen;
			rd_keydig(c, &key, &klen, &dig);
		}
	}
}

static void check_list(cur_t *c, grove_ae_frame_t *f)
{
	f->count = get_u32(c);
	if (f->count > GROVE_AE_ENTRIES_MAX) {
		c->bad = true;
		return;
	}
	for (uint32_t i = 0; i < f->count && !c->bad; i++) {
		const uint8_t *key, *st;
		size_t klen, slen;
		if (f->type == GROVE_AE_WANT)
			rd_key(c, &key, &klen);
		else
			rd_state(c, &key, &klen, &st, &slen);
	}
}

static void check_digest(cur_t *c, grove_ae_frame_t *f)
{
	f->flags = get_u8(c);
	f->key_count = get_varint(c);
	f->root = get_bytes(c, GROVE_DIGEST_BYTES);
	if (f->flags & ~(GROVE_AE_DIGEST_LEVEL1 | GROVE_AE_DIGEST_REPLY))
		c->bad = true;
	else if (f->flags & GROVE_AE_DIGEST_LEVEL1)
		f->level1 = get_bytes(c, GROVE_TREE_FANOUT * GROVE_DIGEST_BYTES);
}

static void check_body(cur_t *c, grove_ae_frame_t *f)
{
	switch (f->type) {
	case GROVE_AE_DIGEST:
		check_digest(c, f);
		break;
	case GROVE_AE_NODES:
		check_nodes(c, f);
		break;
	case GROVE_AE_KEYS:
		check_keys(c, f);
		break;
	case GROVE_AE_PUSH:
	case GROVE_AE_WANT:
	case GROVE_AE_STATES:
		check_list(c, f);
		break;
	case GROVE_AE_IDLE:
		f->sent = get_varint(c);
		f->received = get_varint(c);
		break;
	case GROVE_AE_BYE:
		f->reason = get_u8(c);
		break;
	case GROVE_AE_CREDIT:
		f->units = get_varint(c);
		break;
	default:
		c->bad = true;
	}
}

/* Offset of the entries inside a list message (after header and count),
 * 0 for the other types. */
static size_t body_offset(uint8_t type)
{
	switch (type) {
	case GROVE_AE_NODES:
		return GROVE_AE_HDR_BYTES + 1u + 4u;
	case GROVE_AE_PUSH:
	case GROVE_AE_KEYS:
	case GROVE_AE_WANT:
	case GROVE_AE_STATES:
		return GROVE_AE_HDR_BYTES + 4u;
	default:
		return 0;
	}
}

int grove_ae_frame_decode(const uint8_t *buf, size_t len, size_t limit, grove_ae_frame_t *out)
{
	if (limit > GROVE_AE_FRAME_BYTES_LIMIT)
		limit = GROVE_AE_FRAME_BYTES_LIMIT;
	if (len > limit)
		return GROVE_ETOOBIG;
	if (buf == NULL || len < GROVE_AE_HDR_BYTES)
		return GROVE_EDECODE;
	if (buf[0] != GROVE_AE_VERSION)
		return GROVE_EVERSION;
	grove_ae_frame_t f;
	memset(&f, 0, sizeof(f));
	f.type = buf[1];
	cur_t c = { buf + GROVE_AE_HDR_BYTES, buf + len, false };
	check_body(&c, &f);
	if (c.bad || c.p != c.end)
		return GROVE_EDECODE;
	size_t off = body_offset(f.type);
	if (off > 0) {
		GROVE_ASSERT(off <= len); /* the count was read */
		f.body = buf + off;
		f.body_len = len - off;
	}
	*out = f;
	return 0;
}

/* ---- iteration over a validated body ---- */

void grove_ae_rd_init(grove_ae_rd_t *rd, const grove_ae_frame_t *f)
{
	rd->p = f->body;
	rd->end = f->body ? f->body + f->body_len : NULL;
}

#define GROVE__RD_WRAP(rd, call)                                              \
	do {                                                                  \
		cur_t c_ = { (rd)->p, (rd)->end, false };              \
		cur_t *c = &c_;                                        \
		call;                                                         \
		GROVE_ASSERT(!c_.bad);                                        \
		(rd)->p = c_.p;                                               \
	} while (0)

void grove_ae_rd_group(grove_ae_rd_t *rd, uint32_t *parent, uint16_t *mask,
		       const uint8_t **digests)
{
	GROVE__RD_WRAP(rd, rd_group(c, parent, mask, digests));
}

void grove_ae_rd_segment(grove_ae_rd_t *rd, uint32_t *segment, bool *final, uint32_t *nkeys)
{
	GROVE__RD_WRAP(rd, rd_segment(c, segment, final, nkeys));
}

void grove_ae_rd_keydig(grove_ae_rd_t *rd, const uint8_t **key, size_t *klen,
			const uint8_t **digest)
{
	GROVE__RD_WRAP(rd, rd_keydig(c, key, klen, digest));
}

void grove_ae_rd_key(grove_ae_rd_t *rd, const uint8_t **key, size_t *klen)
{
	GROVE__RD_WRAP(rd, rd_key(c, key, klen));
}

void grove_ae_rd_state(grove_ae_rd_t *rd, const uint8_t **key, size_t *klen,
		       const uint8_t **state, size_t *slen)
{
	GROVE__RD_WRAP(rd, rd_state(c, key, klen, state, slen));
}

/* ---- building ---- */

void grove_ae_put_u8(grove_buf_t *b, uint8_t v)
{
	grove_buf_append(b, &v, 1);
}

void grove_ae_put_u32(grove_buf_t *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	grove_buf_append(b, x, 4);
}

void grove_ae_put_varint(grove_buf_t *b, uint64_t v)
{
	uint8_t x[10];
	size_t n = 0;
	do {
		x[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			x[n] |= 0x80;
		n++;
	} while (v);
	grove_buf_append(b, x, n);
}

size_t grove_ae_varint_len(uint64_t v)
{
	size_t n = 1;
	while (v >>= 7)
		n++;
	return n;
}

void grove_ae_put_blob(grove_buf_t *b, const void *p, size_t n)
{
	grove_ae_put_varint(b, n);
	grove_buf_append(b, p, n);
}

void grove_ae_patch_u32(grove_buf_t *b, size_t at, uint32_t v)
{
	if (b->failed)
		return;
	GROVE_ASSERT(at + 4 <= b->len);
	b->data[at] = (uint8_t)(v >> 24);
	b->data[at + 1] = (uint8_t)(v >> 16);
	b->data[at + 2] = (uint8_t)(v >> 8);
	b->data[at + 3] = (uint8_t)v;
}

size_t grove_ae_put_header(grove_buf_t *b, uint8_t type, uint8_t level)
{
	grove_ae_put_u8(b, GROVE_AE_VERSION);
	grove_ae_put_u8(b, type);
	if (type == GROVE_AE_NODES)
		grove_ae_put_u8(b, level);
	switch (type) {
	case GROVE_AE_PUSH:
	case GROVE_AE_NODES:
	case GROVE_AE_KEYS:
	case GROVE_AE_WANT:
	case GROVE_AE_STATES: {
		size_t at = b->len;
		grove_ae_put_u32(b, 0);
		return at;
	}
	default:
		return 0;
	}
}
