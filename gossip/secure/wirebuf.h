/*
 * wirebuf.h - bounded big-endian writer and reader for fixed-layout wire
 * formats (certificates, datagram envelopes, session records).
 *
 * Both are cursor structs over a caller buffer.  They never read or write
 * out of bounds: a write past the capacity sets `overflow`, a read past the
 * end sets `bad` and returns zeros / NULL, so a decoder can read a whole
 * layout and test the flag once.  Header-only (static inline).
 */
#ifndef GROVE_WIREBUF_H
#define GROVE_WIREBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct grove_wbuf {
	uint8_t *buf;
	size_t cap;
	size_t len;
	bool overflow;
} grove_wbuf_t;

typedef struct grove_rbuf {
	const uint8_t *buf;
	size_t len;
	size_t pos;
	bool bad;
} grove_rbuf_t;

static inline void grove_wbuf_init(grove_wbuf_t *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	w->overflow = false;
}

static inline void grove_wbuf_bytes(grove_wbuf_t *w, const void *p, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return;
	}
	if (n > 0)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static inline void grove_wbuf_uint(grove_wbuf_t *w, uint64_t v, size_t width)
{
	uint8_t b[8];
	for (size_t i = 0; i < width; i++)
		b[i] = (uint8_t)(v >> (8 * (width - 1 - i)));
	grove_wbuf_bytes(w, b, width);
}

static inline void grove_wbuf_u8(grove_wbuf_t *w, uint8_t v) { grove_wbuf_uint(w, v, 1); }
static inline void grove_wbuf_u16(grove_wbuf_t *w, uint16_t v) { grove_wbuf_uint(w, v, 2); }
static inline void grove_wbuf_u32(grove_wbuf_t *w, uint32_t v) { grove_wbuf_uint(w, v, 4); }
static inline void grove_wbuf_u64(grove_wbuf_t *w, uint64_t v) { grove_wbuf_uint(w, v, 8); }

static inline void grove_rbuf_init(grove_rbuf_t *r, const uint8_t *buf, size_t len)
{
	r->buf = buf;
	r->len = len;
	r->pos = 0;
	r->bad = false;
}

/* Borrow the next n bytes, or NULL (and bad) when fewer remain. */
static inline const uint8_t *grove_rbuf_take(grove_rbuf_t *r, size_t n)
{
	if (r->bad || n > r->len - r->pos) {
		r->bad = true;
		return NULL;
	}
	const uint8_t *p = r->buf + r->pos;
	r->pos += n;
	return p;
}

static inline void grove_rbuf_copy(grove_rbuf_t *r, void *dst, size_t n)
{
	const uint8_t *p = grove_rbuf_take(r, n);
	if (p != NULL && n > 0)
		memcpy(dst, p, n);
}

static inline uint64_t grove_rbuf_uint(grove_rbuf_t *r, size_t width)
{
	const uint8_t *p = grove_rbuf_take(r, width);
	uint64_t v = 0;
	for (size_t i = 0; p != NULL && i < width; i++)
		v = (v << 8) | p[i];
	return v;
}

static inline uint8_t grove_rbuf_u8(grove_rbuf_t *r) { return (uint8_t)grove_rbuf_uint(r, 1); }
static inline uint16_t grove_rbuf_u16(grove_rbuf_t *r) { return (uint16_t)grove_rbuf_uint(r, 2); }
static inline uint32_t grove_rbuf_u32(grove_rbuf_t *r) { return (uint32_t)grove_rbuf_uint(r, 4); }
static inline uint64_t grove_rbuf_u64(grove_rbuf_t *r) { return grove_rbuf_uint(r, 8); }

static inline size_t grove_rbuf_left(const grove_rbuf_t *r) { return r->len - r->pos; }

#endif
