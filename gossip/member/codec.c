/*
 * codec.c - encoder and validating decoder of membership messages.
 *
 * Format: doc/membership.md (tables).  Integers are big-endian; a "str8" is
 * a length byte followed by that many bytes, no NUL inside.  Reading and
 * writing go through the bounded cursors of gossip/secure/wirebuf.h, shared with
 * the certificate, envelope and session codecs.  The decoder
 * walks the whole input once, checking every length against its named
 * maximum and against the bytes left, and rejects trailing bytes; only then
 * does the caller iterate the body with grove_member_body_next, which cannot
 * fail on validated input.
 */
#include <string.h>

#include "base/assert.h"
#include "gossip/member/codec.h"
#include "gossip/secure/wirebuf.h"

/* --- writer ---------------------------------------------------------------- */

/* Every encoder writes through the sticky-overflow grove_wbuf_t and ends
 * here: on overflow the writer is rolled back to start and the call fails. */
static int w_end(grove_member_writer_t *w, size_t start)
{
	if (!w->overflow)
		return 0;
	w->len = start;
	w->overflow = false;
	return GROVE_ETOOBIG;
}

int grove_member_write_raw(grove_member_writer_t *w, const uint8_t *p, size_t n)
{
	size_t start = w->len;
	grove_wbuf_bytes(w, p, n);
	return w_end(w, start);
}

/* A length byte and n bytes (n <= 255). */
static void w_bytes8(grove_member_writer_t *w, const void *p, size_t n)
{
	if (n > UINT8_MAX) {
		w->overflow = true;
		return;
	}
	grove_wbuf_u8(w, (uint8_t)n);
	grove_wbuf_bytes(w, p, n);
}

static void w_str8(grove_member_writer_t *w, const char *s)
{
	w_bytes8(w, s, strlen(s));
}

int grove_member_msg_begin(grove_member_writer_t *w, const grove_member_msg_t *h, size_t *count_off)
{
	size_t start = w->len;
	grove_wbuf_u8(w, GROVE_MEMBER_WIRE_VERSION);
	grove_wbuf_u8(w, h->type);
	w_str8(w, h->sender);
	if (h->type != GROVE_MEMBER_MSG_GOSSIP)
		grove_wbuf_u32(w, h->seq);
	if (h->type == GROVE_MEMBER_MSG_PING || h->type == GROVE_MEMBER_MSG_PING_REQ)
		w_str8(w, h->target);
	if (h->type == GROVE_MEMBER_MSG_PING_REQ)
		w_str8(w, h->target_addr);
	*count_off = w->len;
	grove_wbuf_u8(w, 0);
	return w_end(w, start);
}

int grove_member_doc_encode(grove_member_writer_t *w, const char *sender, const uint8_t *doc, size_t len)
{
	size_t start = w->len;
	if (len > GROVE_MEMBER_DOC_MAX)
		return GROVE_ETOOBIG;
	grove_wbuf_u8(w, GROVE_MEMBER_WIRE_VERSION);
	grove_wbuf_u8(w, GROVE_MEMBER_MSG_DOC);
	w_str8(w, sender);
	grove_wbuf_u16(w, (uint16_t)len);
	grove_wbuf_bytes(w, doc, len);
	return w_end(w, start);
}

int grove_member_frame_begin(grove_member_writer_t *w, const grove_member_msg_t *h, size_t *count_off)
{
	size_t start = w->len;
	grove_wbuf_u8(w, GROVE_MEMBER_WIRE_VERSION);
	grove_wbuf_u8(w, h->type);
	grove_wbuf_u8(w, h->flags);
	w_str8(w, h->sender);
	*count_off = w->len;
	grove_wbuf_u16(w, 0);
	return w_end(w, start);
}

/* One update (record = false) or record (record = true); the mirror of
 * r_update. */
static int w_update(grove_member_writer_t *w, bool record, const grove_member_update_t *u)
{
	size_t start = w->len;
	GROVE_ASSERT(u->kind >= GROVE_MEMBER_ALIVE && u->kind <= GROVE_MEMBER_LEFT);
	bool full = record || u->kind == GROVE_MEMBER_ALIVE;
	bool ext = full && u->instance != 0;
	grove_wbuf_u8(w, (uint8_t)(u->kind | (ext ? GROVE_MEMBER_KIND_INSTANCE : 0)));
	w_str8(w, u->id);
	grove_wbuf_u64(w, u->incarnation);
	if (full) {
		w_str8(w, u->addr);
		w_bytes8(w, u->key, u->key_len);
		if (u->cert_len > UINT16_MAX)
			w->overflow = true;
		grove_wbuf_u16(w, (uint16_t)u->cert_len);
		grove_wbuf_bytes(w, u->cert, u->cert_len);
		if (ext) {
			grove_wbuf_u64(w, u->instance);
			grove_wbuf_u64(w, u->started_ms);
		}
	} else if (u->kind != GROVE_MEMBER_LEFT) {
		w_str8(w, u->from);
	}
	return w_end(w, start);
}

int grove_member_update_encode(grove_member_writer_t *w, const grove_member_update_t *u)
{
	return w_update(w, false, u);
}

int grove_member_record_encode(grove_member_writer_t *w, const grove_member_update_t *r)
{
	return w_update(w, true, r);
}

/* --- reader ---------------------------------------------------------------- */

/* Bytes with a length prefix of lbytes (1 or 2) and at most max bytes;
 * NULL (and r->bad) on error. */
static const uint8_t *r_blob(grove_rbuf_t *r, size_t lbytes, size_t max, size_t *n)
{
	*n = (size_t)grove_rbuf_uint(r, lbytes);
	if (*n > max)
		r->bad = true;
	return grove_rbuf_take(r, *n);
}

/* A str8 of 1..max printable ASCII bytes (0x21..0x7e), copied
 * NUL-terminated into dst; r->bad on error. */
static void r_str(grove_rbuf_t *r, size_t max, char *dst)
{
	size_t n;
	const uint8_t *p = r_blob(r, 1, max, &n);
	if (p == NULL || n == 0) {
		r->bad = true;
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x21 || p[i] > 0x7e) {
			r->bad = true;
			return;
		}
	memcpy(dst, p, n);
	dst[n] = '\0';
}

/* One update (record = false) or record (record = true). */
static int r_update(grove_rbuf_t *r, bool record, grove_member_update_t *u)
{
	memset(u, 0, sizeof(*u));
	uint8_t kind = grove_rbuf_u8(r);
	bool ext = (kind & GROVE_MEMBER_KIND_INSTANCE) != 0;
	u->kind = kind & (uint8_t)~GROVE_MEMBER_KIND_INSTANCE;
	if (u->kind < GROVE_MEMBER_ALIVE || u->kind > GROVE_MEMBER_LEFT)
		r->bad = true;
	bool full = record || u->kind == GROVE_MEMBER_ALIVE;
	if (ext && !full)
		r->bad = true;
	r_str(r, GROVE_MEMBER_ID_MAX, u->id);
	u->incarnation = grove_rbuf_u64(r);
	if (full) {
		r_str(r, GROVE_MEMBER_ADDR_MAX, u->addr);
		u->key = r_blob(r, 1, GROVE_MEMBER_KEY_MAX, &u->key_len);
		u->cert = r_blob(r, 2, GROVE_MEMBER_CERT_MAX, &u->cert_len);
		if (ext) {
			u->instance = grove_rbuf_u64(r);
			u->started_ms = grove_rbuf_u64(r);
			if (u->instance == 0)
				r->bad = true; /* canonical: 0 is written without the flag */
		}
	} else if (u->kind != GROVE_MEMBER_LEFT) {
		r_str(r, GROVE_MEMBER_ID_MAX, u->from);
	}
	return r->bad ? GROVE_EDECODE : 0;
}

static bool is_frame(uint8_t type)
{
	return type >= GROVE_MEMBER_MSG_PP_REQ && type <= GROVE_MEMBER_MSG_STREAM_ACK;
}

static int r_header(grove_rbuf_t *r, grove_member_msg_t *m)
{
	uint8_t version = grove_rbuf_u8(r);
	m->type = grove_rbuf_u8(r);
	if (r->bad)
		return GROVE_EDECODE;
	if (version != GROVE_MEMBER_WIRE_VERSION)
		return GROVE_EVERSION;
	if (is_frame(m->type)) {
		m->flags = grove_rbuf_u8(r);
		r_str(r, GROVE_MEMBER_ID_MAX, m->sender);
		m->count = grove_rbuf_u16(r);
		return r->bad || m->count > GROVE_MEMBER_RECORDS_MAX ? GROVE_EDECODE : 0;
	}
	if (m->type < GROVE_MEMBER_MSG_PING || m->type > GROVE_MEMBER_MSG_DOC)
		return GROVE_EDECODE;
	r_str(r, GROVE_MEMBER_ID_MAX, m->sender);
	if (m->type == GROVE_MEMBER_MSG_DOC) {
		m->body = r_blob(r, 2, GROVE_MEMBER_DOC_MAX, &m->body_len);
		return r->bad ? GROVE_EDECODE : 0;
	}
	if (m->type != GROVE_MEMBER_MSG_GOSSIP)
		m->seq = grove_rbuf_u32(r);
	if (m->type == GROVE_MEMBER_MSG_PING || m->type == GROVE_MEMBER_MSG_PING_REQ)
		r_str(r, GROVE_MEMBER_ID_MAX, m->target);
	if (m->type == GROVE_MEMBER_MSG_PING_REQ)
		r_str(r, GROVE_MEMBER_ADDR_MAX, m->target_addr);
	m->count = grove_rbuf_u8(r);
	return r->bad ? GROVE_EDECODE : 0;
}

int grove_member_msg_decode(const uint8_t *buf, size_t len, grove_member_msg_t *out)
{
	grove_member_msg_t m;
	grove_member_update_t u;
	grove_rbuf_t r;
	memset(&m, 0, sizeof(m));
	if (!buf)
		return GROVE_EDECODE;
	grove_rbuf_init(&r, buf, len);
	int rc = r_header(&r, &m);
	if (rc < 0)
		return rc;
	if (m.type == GROVE_MEMBER_MSG_DOC) {
		if (grove_rbuf_left(&r) != 0)
			return GROVE_EDECODE;
		*out = m;
		return 0;
	}
	m.body = buf + r.pos;
	for (uint32_t i = 0; i < m.count; i++)
		if (r_update(&r, is_frame(m.type), &u) < 0)
			return GROVE_EDECODE;
	if (grove_rbuf_left(&r) != 0)
		return GROVE_EDECODE;
	m.body_len = (size_t)(buf + len - m.body);
	*out = m;
	return 0;
}

int grove_member_body_next(const grove_member_msg_t *msg, size_t *off, grove_member_update_t *u)
{
	if (*off >= msg->body_len || msg->type == GROVE_MEMBER_MSG_DOC)
		return 0;
	grove_rbuf_t r;
	grove_rbuf_init(&r, msg->body, msg->body_len);
	r.pos = *off;
	int rc = r_update(&r, is_frame(msg->type), u);
	GROVE_ASSERT(rc == 0); /* the body was validated by grove_member_msg_decode */
	*off = r.pos;
	return 1;
}

/* --- persisted state ------------------------------------------------------- */

#define GROVE__PERSIST_MAGIC 0x47 /* 'G' */

int grove_member_persist_encode(grove_member_writer_t *w, uint64_t incarnation,
				const grove_member_peer_t *peers, size_t count)
{
	size_t start = w->len;
	GROVE_ASSERT(count <= GROVE_MEMBER_PERSIST_PEERS_MAX);
	grove_wbuf_u8(w, GROVE__PERSIST_MAGIC);
	grove_wbuf_u8(w, GROVE_MEMBER_WIRE_VERSION);
	grove_wbuf_u64(w, incarnation);
	grove_wbuf_u16(w, (uint16_t)count);
	for (size_t i = 0; i < count; i++) {
		w_str8(w, peers[i].id);
		w_str8(w, peers[i].addr);
	}
	return w_end(w, start);
}

int grove_member_persist_decode(const uint8_t *buf, size_t len, uint64_t *incarnation,
				grove_member_peer_t *peers, size_t *count)
{
	grove_rbuf_t r;
	if (!buf)
		return GROVE_EDECODE;
	grove_rbuf_init(&r, buf, len);
	uint8_t magic = grove_rbuf_u8(&r), version = grove_rbuf_u8(&r);
	if (r.bad || magic != GROVE__PERSIST_MAGIC)
		return GROVE_EDECODE;
	if (version != GROVE_MEMBER_WIRE_VERSION)
		return GROVE_EVERSION;
	uint64_t inc = grove_rbuf_u64(&r);
	size_t n = grove_rbuf_u16(&r);
	if (r.bad || n > GROVE_MEMBER_PERSIST_PEERS_MAX)
		return GROVE_EDECODE;
	for (size_t i = 0; i < n; i++) {
		r_str(&r, GROVE_MEMBER_ID_MAX, peers[i].id);
		r_str(&r, GROVE_MEMBER_ADDR_MAX, peers[i].addr);
	}
	if (r.bad || grove_rbuf_left(&r) != 0)
		return GROVE_EDECODE;
	*incarnation = inc;
	*count = n;
	return 0;
}
