/*
 * envelope.c - seal and open signed datagrams.
 *
 * Format: doc/wire_format.md, section "Datagram envelope".  Opening parses
 * the whole layout with a bounded reader (every length checked against what
 * is left, the total must match exactly), then asks the peer book for the
 * cheap checks (sender, certificate, expiry, replay window), then verifies
 * the Ed25519 signature, and only then commits the sequence number and any
 * learned certificate to the book.
 */
#include "gossip/secure/envelope.h"

#include <string.h>

#include <sodium.h>

#include "base/assert.h"
#include "gossip/secure/peerbook_int.h"
#include "gossip/secure/wirebuf.h"

/* Fixed bytes around the variable fields: magic(2) version(1) kind(1)
 * flags(1) from_len(1) to_len(1) epoch(8) seq(8) payload_len(2) sig(64). */
#define FIXED_BYTES (2 + 1 + 1 + 1 + 1 + 1 + 8 + 8 + 2 + GROVE_SIGNATURE_BYTES)

typedef struct parsed {
	uint8_t kind;
	uint8_t flags;
	char from[GROVE_NODE_ID_MAX + 1];
	char to[GROVE_NODE_ID_MAX + 1];
	grove_stamp_t stamp;
	grove_cert_t cert; /* when flags has GROVE_ENVELOPE_FLAG_CERT */
	const uint8_t *payload;
	size_t payload_len;
	size_t signed_len; /* bytes covered by the signature */
	bool learned;      /* the book added, renewed or rotated a certificate */
} parsed_t;

void grove_sender_init(grove_sender_t *s, const grove_identity_t *self, uint64_t epoch)
{
	GROVE_ASSERT(self != NULL);
	s->self = self;
	s->epoch = epoch;
	s->next_seq = 0;
}

static size_t id_len_or_zero(const char *id)
{
	return id == NULL ? 0 : strnlen(id, GROVE_NODE_ID_MAX + 1);
}

static size_t overhead(const grove_sender_t *s, size_t to_len, bool attach_cert)
{
	size_t n = FIXED_BYTES + strlen(s->self->cert.node_id) + to_len;
	if (attach_cert)
		n += 2 + GROVE_CERT_BYTES_MIN - 1 + strlen(s->self->cert.node_id);
	return n;
}

size_t grove_envelope_payload_max(const grove_sender_t *s, const char *to, bool attach_cert)
{
	size_t o = overhead(s, id_len_or_zero(to), attach_cert);
	return o >= GROVE_DATAGRAM_MAX ? 0 : GROVE_DATAGRAM_MAX - o;
}

int grove_envelope_seal(grove_sender_t *s, uint8_t kind, const char *to, bool attach_cert,
			const uint8_t *payload, size_t payload_len,
			uint8_t *out, size_t cap, size_t *out_len)
{
	size_t to_len = id_len_or_zero(to);
	if (kind == 0 || (to_len > 0 && !grove_node_id_valid(to, to_len)))
		return GROVE_EINVAL;
	size_t total = overhead(s, to_len, attach_cert) + payload_len;
	if (payload_len > GROVE_DATAGRAM_MAX || total > GROVE_DATAGRAM_MAX || total > cap)
		return GROVE_ETOOBIG;
	if (s->next_seq == UINT64_MAX)
		return GROVE_EOVERFLOW;
	const grove_cert_t *cert = &s->self->cert;
	size_t from_len = strlen(cert->node_id);
	grove_wbuf_t w;
	grove_wbuf_init(&w, out, cap);
	grove_wbuf_u8(&w, GROVE_ENVELOPE_MAGIC0);
	grove_wbuf_u8(&w, GROVE_ENVELOPE_MAGIC1);
	grove_wbuf_u8(&w, GROVE_ENVELOPE_VERSION);
	grove_wbuf_u8(&w, kind);
	grove_wbuf_u8(&w, attach_cert ? GROVE_ENVELOPE_FLAG_CERT : 0);
	grove_wbuf_u8(&w, (uint8_t)from_len);
	grove_wbuf_bytes(&w, cert->node_id, from_len);
	grove_wbuf_u8(&w, (uint8_t)to_len);
	grove_wbuf_bytes(&w, to, to_len);
	grove_wbuf_u64(&w, s->epoch);
	grove_wbuf_u64(&w, s->next_seq);
	if (attach_cert) {
		uint8_t cbuf[GROVE_CERT_BYTES_MAX];
		size_t clen;
		GROVE_ASSERT(grove_cert_encode(cert, cbuf, sizeof cbuf, &clen) == 0);
		grove_wbuf_u16(&w, (uint16_t)clen);
		grove_wbuf_bytes(&w, cbuf, clen);
	}
	grove_wbuf_u16(&w, (uint16_t)payload_len);
	grove_wbuf_bytes(&w, payload, payload_len);
	GROVE_ASSERT(!w.overflow && w.len + GROVE_SIGNATURE_BYTES == total);
	grove_identity_sign(s->self, out + w.len, out, w.len);
	s->next_seq++;
	*out_len = total;
	return 0;
}

/* Read a length-prefixed node id into dst (NUL-terminated).  min_len 0
 * allows the empty id.  False on a bad length or character. */
static bool read_id(grove_rbuf_t *r, char dst[GROVE_NODE_ID_MAX + 1], size_t min_len)
{
	uint8_t n = grove_rbuf_u8(r);
	const uint8_t *p = grove_rbuf_take(r, n);
	if (r->bad || n < min_len || (n > 0 && !grove_node_id_valid((const char *)p, n)))
		return false;
	memcpy(dst, p, n);
	dst[n] = '\0';
	return true;
}

static bool read_cert(grove_rbuf_t *r, const char *from, grove_cert_t *cert)
{
	uint16_t n = grove_rbuf_u16(r);
	const uint8_t *p = grove_rbuf_take(r, n);
	return !r->bad && grove_cert_decode(p, n, cert, NULL) == 0 && strcmp(cert->node_id, from) == 0;
}

/* Syntax only: size, magic, version, every length exact. */
static grove_drop_t parse(const uint8_t *d, size_t len, parsed_t *p)
{
	if (len > GROVE_DATAGRAM_MAX)
		return GROVE_DROP_OVERSIZE;
	if (len < GROVE_ENVELOPE_BYTES_MIN)
		return GROVE_DROP_MALFORMED;
	if (d[0] != GROVE_ENVELOPE_MAGIC0 || d[1] != GROVE_ENVELOPE_MAGIC1 || d[2] != GROVE_ENVELOPE_VERSION)
		return GROVE_DROP_VERSION;
	grove_rbuf_t r;
	grove_rbuf_init(&r, d, len - GROVE_SIGNATURE_BYTES);
	grove_rbuf_take(&r, 3);
	p->kind = grove_rbuf_u8(&r);
	p->flags = grove_rbuf_u8(&r);
	if (p->kind == 0 || (p->flags & ~GROVE_ENVELOPE_FLAG_CERT) != 0)
		return GROVE_DROP_MALFORMED;
	if (!read_id(&r, p->from, 1) || !read_id(&r, p->to, 0))
		return GROVE_DROP_MALFORMED;
	p->stamp.epoch = grove_rbuf_u64(&r);
	p->stamp.seq = grove_rbuf_u64(&r);
	if ((p->flags & GROVE_ENVELOPE_FLAG_CERT) && !read_cert(&r, p->from, &p->cert))
		return GROVE_DROP_MALFORMED;
	p->payload_len = grove_rbuf_u16(&r);
	p->payload = grove_rbuf_take(&r, p->payload_len);
	if (r.bad || grove_rbuf_left(&r) != 0)
		return GROVE_DROP_MALFORMED;
	p->signed_len = r.pos;
	return GROVE_DROP_NONE;
}

static grove_drop_t check(grove_peerbook_t *book, const grove_identity_t *self, const uint8_t *d, size_t len,
			  uint64_t now_ms, parsed_t *p)
{
	grove_drop_t reason = parse(d, len, p);
	if (reason != GROVE_DROP_NONE)
		return reason;
	if (p->to[0] != '\0' && strcmp(p->to, self->cert.node_id) != 0)
		return GROVE_DROP_MISDIRECTED;
	bool has_cert = (p->flags & GROVE_ENVELOPE_FLAG_CERT) != 0;
	grove_admit_t a;
	reason = grove_peerbook__admit(book, p->from, has_cert ? &p->cert : NULL, &p->stamp, now_ms, &a);
	if (reason != GROVE_DROP_NONE)
		return reason;
	if (crypto_sign_verify_detached(d + p->signed_len, d, p->signed_len, a.cert.node_pk) != 0)
		return GROVE_DROP_BADSIG;
	reason = grove_peerbook__commit(book, &a, &p->stamp);
	p->learned = reason == GROVE_DROP_NONE && a.action != GROVE_ADMIT_USE;
	return reason;
}

int grove_envelope_open(grove_peerbook_t *book, const uint8_t *dgram, size_t len, uint64_t now_ms,
			grove_envelope_t *out, grove_drop_t *reason)
{
	parsed_t p;
	memset(&p, 0, sizeof p);
	grove_drop_t r = check(book, grove_peerbook_self(book), dgram, len, now_ms, &p);
	grove_peerbook_note(book, r);
	if (reason != NULL)
		*reason = r;
	if (r != GROVE_DROP_NONE)
		return grove_drop_code(r);
	memset(out, 0, sizeof *out);
	out->kind = p.kind;
	memcpy(out->from, p.from, sizeof out->from);
	out->addressed = p.to[0] != '\0';
	out->cert_attached = (p.flags & GROVE_ENVELOPE_FLAG_CERT) != 0;
	out->cert_learned = p.learned;
	out->epoch = p.stamp.epoch;
	out->seq = p.stamp.seq;
	out->payload = p.payload;
	out->payload_len = p.payload_len;
	return 0;
}
