/*
 * member_codec.c - encoder and validating decoder of membership messages.
 *
 * Format: doc/membership.md (tables).  Integers are big-endian; a "str8" is
 * a length byte followed by that many bytes, no NUL inside.  The decoder
 * walks the whole input once, checking every length against its named
 * maximum and against the bytes left, and rejects trailing bytes; only then
 * does the caller iterate the body with grove_member_body_next, which cannot
 * fail on validated input.
 */
#include <string.h>

#include "crdt/assert.h"
#include "gossip/member_codec.h"

/* --- writer ---------------------------------------------------------------- */

int grove_member_write_raw(grove_member_writer_t *w, const uint8_t *p, size_t n)
{
	if (n > w->cap - w->len)
		return GROVE_ETOOBIG;
	if (n)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
	return 0;
}

static int grove__w_u8(grove_member_writer_t *w, uint8_t v)
{
	return grove_member_write_raw(w, &v, 1);
}

static int grove__w_be(grove_member_writer_t *w, uint64_t v, size_t n)
{
	uint8_t b[8];
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	return grove_member_write_raw(w, b, n);
}

static int grove__w_bytes8(grove_member_writer_t *w, const void *p, size_t n)
{
	if (n > 255)
		return GROVE_ETOOBIG;
	if (n + 1 > w->cap - w->len)
		return GROVE_ETOOBIG;
	(void)grove__w_u8(w, (uint8_t)n);
	return grove_member_write_raw(w, p, n);
}

static int grove__w_str8(grove_member_writer_t *w, const char *s)
{
	return grove__w_bytes8(w, s, strlen(s));
}

/* Runs a sequence of appends; on any failure restores len. */
#define GROVE__TRY(w, start, expr)                                            \
	do {                                                                  \
		if ((expr) < 0) {                                             \
			(w)->len = (start);                                   \
			return GROVE_ETOOBIG;                                 \
		}                                                             \
	} while (0)

int grove_member_msg_begin(grove_member_writer_t *w, const grove_member_msg_t *h, size_t *count_off)
{
	size_t start = w->len;
	GROVE__TRY(w, start, grove__w_u8(w, GROVE_MEMBER_WIRE_VERSION));
	GROVE__TRY(w, start, grove__w_u8(w, h->type));
	GROVE__TRY(w, start, grove__w_str8(w, h->sender));
	if (h->type != GROVE_MEMBER_MSG_GOSSIP)
		GROVE__TRY(w, start, grove__w_be(w, h->seq, 4));
	if (h->type == GROVE_MEMBER_MSG_PING || h->type == GROVE_MEMBER_MSG_PING_REQ)
		GROVE__TRY(w, start, grove__w_str8(w, h->target));
	if (h->type == GROVE_MEMBER_MSG_PING_REQ)
		GROVE__TRY(w, start, grove__w_str8(w, h->target_addr));
	*count_off = w->len;
	GROVE__TRY(w, start, grove__w_u8(w, 0));
	return 0;
}

int grove_member_frame_begin(grove_member_writer_t *w, const grove_member_msg_t *h, size_t *count_off)
{
	size_t start = w->len;
	GROVE__TRY(w, start, grove__w_u8(w, GROVE_MEMBER_WIRE_VERSION));
	GROVE__TRY(w, start, grove__w_u8(w, h->type));
	GROVE__TRY(w, start, grove__w_u8(w, h->flags));
	GROVE__TRY(w, start, grove__w_str8(w, h->sender));
	*count_off = w->len;
	GROVE__TRY(w, start, grove__w_be(w, 0, 2));
	return 0;
}

static int grove__w_node_fields(grove_member_writer_t *w, const grove_member_update_t *u)
{
	size_t start = w->len;
	GROVE__TRY(w, start, grove__w_str8(w, u->addr));
	GROVE__TRY(w, start, grove__w_bytes8(w, u->key, u->key_len));
	GROVE__TRY(w, start, grove__w_be(w, u->cert_len, 2));
	GROVE__TRY(w, start, grove_member_write_raw(w, u->cert, u->cert_len));
	return 0;
}

int grove_member_update_encode(grove_member_writer_t *w, const grove_member_update_t *u)
{
	size_t start = w->len;
	GROVE_ASSERT(u->kind >= GROVE_MEMBER_ALIVE && u->kind <= GROVE_MEMBER_LEFT);
	GROVE__TRY(w, start, grove__w_u8(w, u->kind));
	GROVE__TRY(w, start, grove__w_str8(w, u->id));
	GROVE__TRY(w, start, grove__w_be(w, u->incarnation, 8));
	if (u->kind == GROVE_MEMBER_ALIVE)
		GROVE__TRY(w, start, grove__w_node_fields(w, u));
	else if (u->kind != GROVE_MEMBER_LEFT)
		GROVE__TRY(w, start, grove__w_str8(w, u->from));
	return 0;
}

int grove_member_record_encode(grove_member_writer_t *w, const grove_member_update_t *r)
{
	size_t start = w->len;
	GROVE_ASSERT(r->kind >= GROVE_MEMBER_ALIVE && r->kind <= GROVE_MEMBER_LEFT);
	GROVE__TRY(w, start, grove__w_u8(w, r->kind));
	GROVE__TRY(w, start, grove__w_str8(w, r->id));
	GROVE__TRY(w, start, grove__w_be(w, r->incarnation, 8));
	GROVE__TRY(w, start, grove__w_node_fields(w, r));
	return 0;
}

/* --- reader ---------------------------------------------------------------- */

typedef struct grove__reader {
	const uint8_t *p;
	size_t len;
	size_t off;
} grove__reader_t;

static int grove__r_be(grove__reader_t *r, size_t n, uint64_t *v)
{
	if (n > r->len - r->off)
		return GROVE_EDECODE;
	uint64_t x = 0;
	for (size_t i = 0; i < n; i++)
		x = (x << 8) | r->p[r->off + i];
	r->off += n;
	*v = x;
	return 0;
}

static int grove__r_u8(grove__reader_t *r, uint8_t *v)
{
	uint64_t x = 0;
	int rc = grove__r_be(r, 1, &x);
	*v = (uint8_t)x;
	return rc;
}

/* Bytes with a length prefix of lbytes (1 or 2) and at most max bytes. */
static int grove__r_blob(grove__reader_t *r, size_t lbytes, size_t max, const uint8_t **p, size_t *n)
{
	uint64_t l;
	if (grove__r_be(r, lbytes, &l) < 0 || l > max || l > r->len - r->off)
		return GROVE_EDECODE;
	*p = r->p + r->off;
	*n = (size_t)l;
	r->off += (size_t)l;
	return 0;
}

/* A str8 of 1..max printable ASCII bytes (0x21..0x7e), copied
 * NUL-terminated into dst. */
static int grove__r_str(grove__reader_t *r, size_t max, char *dst)
{
	const uint8_t *p;
	size_t n;
	if (grove__r_blob(r, 1, max, &p, &n) < 0 || n == 0)
		return GROVE_EDECODE;
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x21 || p[i] > 0x7e)
			return GROVE_EDECODE;
	memcpy(dst, p, n);
	dst[n] = '\0';
	return 0;
}

static int grove__r_node_fields(grove__reader_t *r, grove_member_update_t *u)
{
	if (grove__r_str(r, GROVE_MEMBER_ADDR_MAX, u->addr) < 0 ||
	    grove__r_blob(r, 1, GROVE_MEMBER_KEY_MAX, &u->key, &u->key_len) < 0 ||
	    grove__r_blob(r, 2, GROVE_MEMBER_CERT_MAX, &u->cert, &u->cert_len) < 0)
		return GROVE_EDECODE;
	return 0;
}

/* One update (record = false) or record (record = true). */
static int grove__r_update(grove__reader_t *r, bool record, grove_member_update_t *u)
{
	memset(u, 0, sizeof(*u));
	if (grove__r_u8(r, &u->kind) < 0 || u->kind < GROVE_MEMBER_ALIVE || u->kind > GROVE_MEMBER_LEFT)
		return GROVE_EDECODE;
	if (grove__r_str(r, GROVE_MEMBER_ID_MAX, u->id) < 0 || grove__r_be(r, 8, &u->incarnation) < 0)
		return GROVE_EDECODE;
	if (record || u->kind == GROVE_MEMBER_ALIVE)
		return grove__r_node_fields(r, u);
	if (u->kind != GROVE_MEMBER_LEFT)
		return grove__r_str(r, GROVE_MEMBER_ID_MAX, u->from);
	return 0;
}

static bool grove__is_frame(uint8_t type)
{
	return type >= GROVE_MEMBER_MSG_PP_REQ && type <= GROVE_MEMBER_MSG_STREAM_ACK;
}

static int grove__r_header(grove__reader_t *r, grove_member_msg_t *m)
{
	uint8_t version;
	uint64_t v = 0;
	if (grove__r_u8(r, &version) < 0 || grove__r_u8(r, &m->type) < 0)
		return GROVE_EDECODE;
	if (version != GROVE_MEMBER_WIRE_VERSION)
		return GROVE_EVERSION;
	if (grove__is_frame(m->type)) {
		if (grove__r_u8(r, &m->flags) < 0 || grove__r_str(r, GROVE_MEMBER_ID_MAX, m->sender) < 0 ||
		    grove__r_be(r, 2, &v) < 0 || v > GROVE_MEMBER_RECORDS_MAX)
			return GROVE_EDECODE;
		m->count = (uint32_t)v;
		return 0;
	}
	if (m->type < GROVE_MEMBER_MSG_PING || m->type > GROVE_MEMBER_MSG_GOSSIP ||
	    grove__r_str(r, GROVE_MEMBER_ID_MAX, m->sender) < 0)
		return GROVE_EDECODE;
	if (m->type != GROVE_MEMBER_MSG_GOSSIP && grove__r_be(r, 4, &v) < 0)
		return GROVE_EDECODE;
	m->seq = (uint32_t)v;
	if ((m->type == GROVE_MEMBER_MSG_PING || m->type == GROVE_MEMBER_MSG_PING_REQ) &&
	    grove__r_str(r, GROVE_MEMBER_ID_MAX, m->target) < 0)
		return GROVE_EDECODE;
	if (m->type == GROVE_MEMBER_MSG_PING_REQ && grove__r_str(r, GROVE_MEMBER_ADDR_MAX, m->target_addr) < 0)
		return GROVE_EDECODE;
	if (grove__r_be(r, 1, &v) < 0)
		return GROVE_EDECODE;
	m->count = (uint32_t)v;
	return 0;
}

int grove_member_msg_decode(const uint8_t *buf, size_t len, grove_member_msg_t *out)
{
	grove_member_msg_t m;
	grove_member_update_t u;
	grove__reader_t r = { .p = buf, .len = len, .off = 0 };
	memset(&m, 0, sizeof(m));
	if (!buf)
		return GROVE_EDECODE;
	int rc = grove__r_header(&r, &m);
	if (rc < 0)
		return rc;
	m.body = buf + r.off;
	for (uint32_t i = 0; i < m.count; i++)
		if (grove__r_update(&r, grove__is_frame(m.type), &u) < 0)
			return GROVE_EDECODE;
	if (r.off != len)
		return GROVE_EDECODE;
	m.body_len = (size_t)(buf + len - m.body);
	*out = m;
	return 0;
}

int grove_member_body_next(const grove_member_msg_t *msg, size_t *off, grove_member_update_t *u)
{
	if (*off >= msg->body_len)
		return 0;
	grove__reader_t r = { .p = msg->body, .len = msg->body_len, .off = *off };
	int rc = grove__r_update(&r, grove__is_frame(msg->type), u);
	GROVE_ASSERT(rc == 0); /* the body was validated by grove_member_msg_decode */
	*off = r.off;
	return 1;
}

/* --- persisted state ------------------------------------------------------- */

#define GROVE__PERSIST_MAGIC 0x47 /* 'G' */

int grove_member_persist_encode(grove_member_writer_t *w, uint64_t incarnation,
				const grove_member_peer_t *peers, size_t count)
{
	size_t start = w->len;
	GROVE_ASSERT(count <= GROVE_MEMBER_PERSIST_PEERS_MAX);
	GROVE__TRY(w, start, grove__w_u8(w, GROVE__PERSIST_MAGIC));
	GROVE__TRY(w, start, grove__w_u8(w, GROVE_MEMBER_WIRE_VERSION));
	GROVE__TRY(w, start, grove__w_be(w, incarnation, 8));
	GROVE__TRY(w, start, grove__w_be(w, count, 2));
	for (size_t i = 0; i < count; i++) {
		GROVE__TRY(w, start, grove__w_str8(w, peers[i].id));
		GROVE__TRY(w, start, grove__w_str8(w, peers[i].addr));
	}
	return 0;
}

int grove_member_persist_decode(const uint8_t *buf, size_t len, uint64_t *incarnation,
				grove_member_peer_t *peers, size_t *count)
{
	grove__reader_t r = { .p = buf, .len = len, .off = 0 };
	uint8_t magic, version;
	uint64_t inc, n;
	if (!buf || grove__r_u8(&r, &magic) < 0 || grove__r_u8(&r, &version) < 0 ||
	    magic != GROVE__PERSIST_MAGIC)
		return GROVE_EDECODE;
	if (version != GROVE_MEMBER_WIRE_VERSION)
		return GROVE_EVERSION;
	if (grove__r_be(&r, 8, &inc) < 0 || grove__r_be(&r, 2, &n) < 0 ||
	    n > GROVE_MEMBER_PERSIST_PEERS_MAX)
		return GROVE_EDECODE;
	for (size_t i = 0; i < n; i++)
		if (grove__r_str(&r, GROVE_MEMBER_ID_MAX, peers[i].id) < 0 ||
		    grove__r_str(&r, GROVE_MEMBER_ADDR_MAX, peers[i].addr) < 0)
			return GROVE_EDECODE;
	if (r.off != len)
		return GROVE_EDECODE;
	*incarnation = inc;
	*count = (size_t)n;
	return 0;
}
