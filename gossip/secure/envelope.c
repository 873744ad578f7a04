/*
 * envelope.c - seal and open authenticated datagrams.
 *
 * Format: doc/wire_format.md, section "Datagram envelope".  Opening parses
 * the whole layout with a bounded reader (every length checked against what
 * is left, the total must match exactly), then asks the peer book for the
 * cheap checks (sender, certificate, expiry, replay window), then
 * authenticates: a sealed envelope by decrypting its payload under the
 * pairwise key (the AEAD tag covers the header as associated data, and only
 * the sender and we can compute the key), an open one by its Ed25519
 * signature; only then it commits the sequence number and any learned
 * certificate to the book.  Sealing encrypts the payload in place in the
 * output buffer, the header before it as associated data; it signs only
 * open envelopes (a signature on a sealed one would prove nothing the tag
 * does not, at ~20 us to make and ~40 us to check per datagram).
 */
#include "gossip/secure/envelope.h"

#include <stddef.h>
#include <string.h>

#include <sodium.h>

#include "base/assert.h"
#include "grove/alloc.h"
#include "gossip/secure/peerbook_int.h"
#include "gossip/secure/wirebuf.h"

/* Fixed bytes around the variable fields of an open envelope: magic(2)
 * version(1) kind(1) flags(1) from_len(1) to_len(1) epoch(8) seq(8)
 * payload_len(2) sig(64).  A sealed one has salt(8) and tag(16) instead of
 * the signature. */
#define FIXED_BYTES (2 + 1 + 1 + 1 + 1 + 1 + 8 + 8 + 2 + GROVE_SIGNATURE_BYTES)
#define SEALED_SAVES (GROVE_SIGNATURE_BYTES - GROVE_ENVELOPE_SEAL_BYTES)

typedef struct parsed {
	uint8_t kind;
	uint8_t flags;
	char from[GROVE_NODE_ID_MAX + 1];
	char to[GROVE_NODE_ID_MAX + 1];
	grove_stamp_t stamp;
	grove_cert_t cert; /* when flags has GROVE_ENVELOPE_FLAG_CERT */
	uint64_t salt;             /* when flags has GROVE_ENVELOPE_FLAG_SEALED */
	const uint8_t *payload;    /* as on the wire (ciphertext and tag when sealed) */
	size_t payload_len;
	size_t ad_len;             /* header bytes before the payload */
	size_t signed_len; /* open envelopes: bytes covered by the signature */
	bool learned;      /* the book added, renewed or rotated a certificate */
} parsed_t;

void grove_sender_init(grove_sender_t *s, const grove_identity_t *self, uint64_t epoch)
{
	GROVE_ASSERT(self != NULL);
	s->self = self;
	s->epoch = epoch;
	s->next_seq = 0;
	s->salt = 0;
	grove_pairkeys_init(&s->keys, self);
}

void grove_sender_close(grove_sender_t *s)
{
	grove_pairkeys_close(&s->keys);
}

/* XChaCha20 nonce of a sealed payload: salt || epoch || seq, big-endian.
 * Unique per direction key: the epoch rises at every start, the sequence
 * within it, and the salt (random per start) separates two instances that
 * would reuse one epoch (a copied data directory). */
static void make_nonce(uint8_t n[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES], uint64_t salt, uint64_t epoch,
		       uint64_t seq)
{
	grove_wbuf_t w;
	grove_wbuf_init(&w, n, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	grove_wbuf_u64(&w, salt);
	grove_wbuf_u64(&w, epoch);
	grove_wbuf_u64(&w, seq);
	GROVE_ASSERT(!w.overflow && w.len == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
}

static size_t id_len_or_zero(const char *id)
{
	return id == NULL ? 0 : strnlen(id, GROVE_NODE_ID_MAX + 1);
}

/* Envelope bytes besides the payload.  worst_cert: count the attached
 * certificate at its version 2 size, so a payload budget stays valid when
 * the node's certificate is reloaded (v1 -> v2) while it runs. */
static size_t overhead(const grove_sender_t *s, size_t to_len, bool attach_cert, bool worst_cert)
{
	size_t n = FIXED_BYTES + strlen(s->self->cert.node_id) + to_len;
	if (attach_cert)
		n += 2 + (worst_cert ? GROVE_CERT_BYTES_MAX - GROVE_NODE_ID_MAX + strlen(s->self->cert.node_id)
				     : grove_cert_encoded_len(&s->self->cert));
	return n;
}

size_t grove_envelope_payload_max(const grove_sender_t *s, const char *to, bool attach_cert)
{
	size_t o = overhead(s, id_len_or_zero(to), attach_cert, true);
	return o >= GROVE_DATAGRAM_MAX ? 0 : GROVE_DATAGRAM_MAX - o;
}

/* Writes the header up to and including payload_len (the wire length). */
static void write_header(grove_wbuf_t *w, const grove_sender_t *s, uint8_t kind, const char *to, size_t to_len,
			 bool attach_cert, bool sealed, size_t wire_len)
{
	const grove_cert_t *cert = &s->self->cert;
	size_t from_len = strlen(cert->node_id);
	grove_wbuf_u8(w, GROVE_ENVELOPE_MAGIC0);
	grove_wbuf_u8(w, GROVE_ENVELOPE_MAGIC1);
	grove_wbuf_u8(w, GROVE_ENVELOPE_VERSION);
	grove_wbuf_u8(w, kind);
	grove_wbuf_u8(w, (uint8_t)((attach_cert ? GROVE_ENVELOPE_FLAG_CERT : 0) |
				   (sealed ? GROVE_ENVELOPE_FLAG_SEALED : 0)));
	grove_wbuf_u8(w, (uint8_t)from_len);
	grove_wbuf_bytes(w, cert->node_id, from_len);
	grove_wbuf_u8(w, (uint8_t)to_len);
	grove_wbuf_bytes(w, to, to_len);
	grove_wbuf_u64(w, s->epoch);
	grove_wbuf_u64(w, s->next_seq);
	if (attach_cert) {
		uint8_t cbuf[GROVE_CERT_BYTES_MAX];
		size_t clen;
		GROVE_ASSERT(grove_cert_encode(cert, cbuf, sizeof cbuf, &clen) == 0);
		grove_wbuf_u16(w, (uint16_t)clen);
		grove_wbuf_bytes(w, cbuf, clen);
	}
	if (sealed)
		grove_wbuf_u64(w, s->salt);
	grove_wbuf_u16(w, (uint16_t)wire_len);
}

/* One envelope; key != NULL seals the payload under it. */
static int seal(grove_sender_t *s, uint8_t kind, const char *to, bool attach_cert, const uint8_t *key,
		const uint8_t *payload, size_t payload_len, uint8_t *out, size_t cap, size_t *out_len)
{
	size_t to_len = id_len_or_zero(to);
	bool sealed = key != NULL;
	if (kind == 0 || (to_len > 0 && !grove_node_id_valid(to, to_len)) || (sealed && to_len == 0))
		return GROVE_EINVAL;
	size_t wire_len = payload_len + (sealed ? GROVE_ENVELOPE_TAG_BYTES : 0);
	size_t total = overhead(s, to_len, attach_cert, false) + payload_len - (sealed ? SEALED_SAVES : 0);
	if (payload_len > GROVE_DATAGRAM_MAX || total > GROVE_DATAGRAM_MAX || total > cap)
		return GROVE_ETOOBIG;
	if (s->next_seq == UINT64_MAX)
		return GROVE_EOVERFLOW;
	grove_wbuf_t w;
	grove_wbuf_init(&w, out, cap);
	write_header(&w, s, kind, to, to_len, attach_cert, sealed, wire_len);
	GROVE_ASSERT(!w.overflow && w.len + wire_len + (sealed ? 0 : GROVE_SIGNATURE_BYTES) == total);
	if (sealed) {
		uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
		unsigned long long clen = 0;
		make_nonce(nonce, s->salt, s->epoch, s->next_seq);
		crypto_aead_xchacha20poly1305_ietf_encrypt(out + w.len, &clen, payload, payload_len, out, w.len,
							   NULL, nonce, key);
		GROVE_ASSERT(clen == wire_len);
		w.len += wire_len;
	} else {
		grove_wbuf_bytes(&w, payload, payload_len);
		GROVE_ASSERT(!w.overflow && w.len + GROVE_SIGNATURE_BYTES == total);
		grove_identity_sign(s->self, out + w.len, out, w.len);
	}
	s->next_seq++;
	*out_len = total;
	return 0;
}

int grove_envelope_seal(grove_sender_t *s, uint8_t kind, const char *to, bool attach_cert,
			const uint8_t *payload, size_t payload_len,
			uint8_t *out, size_t cap, size_t *out_len)
{
	return seal(s, kind, to, attach_cert, NULL, payload, payload_len, out, cap, out_len);
}

int grove_envelope_seal_for(grove_sender_t *s, uint8_t kind, const grove_cert_t *to_cert, bool attach_cert,
			    const uint8_t *payload, size_t payload_len,
			    uint8_t *out, size_t cap, size_t *out_len)
{
	GROVE_ASSERT(to_cert != NULL);
	const uint8_t *tx, *rx;
	int rc = grove_pairkeys_get(&s->keys, to_cert->node_pk, &tx, &rx);
	if (rc < 0)
		return rc;
	return seal(s, kind, to_cert->node_id, attach_cert, tx, payload, payload_len, out, cap, out_len);
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
	p->kind = d[3];
	p->flags = d[4];
	if (p->kind == 0 || (p->flags & ~(GROVE_ENVELOPE_FLAG_CERT | GROVE_ENVELOPE_FLAG_SEALED)) != 0)
		return GROVE_DROP_MALFORMED;
	bool sealed = (p->flags & GROVE_ENVELOPE_FLAG_SEALED) != 0;
	if (!sealed && len < GROVE_ENVELOPE_OPEN_BYTES_MIN)
		return GROVE_DROP_MALFORMED;
	grove_rbuf_t r;
	grove_rbuf_init(&r, d, len - (sealed ? 0 : GROVE_SIGNATURE_BYTES));
	grove_rbuf_take(&r, 5);
	if (!read_id(&r, p->from, 1) || !read_id(&r, p->to, 0))
		return GROVE_DROP_MALFORMED;
	if (sealed && p->to[0] == '\0')
		return GROVE_DROP_MALFORMED; /* a sealed payload has one recipient */
	p->stamp.epoch = grove_rbuf_u64(&r);
	p->stamp.seq = grove_rbuf_u64(&r);
	if ((p->flags & GROVE_ENVELOPE_FLAG_CERT) && !read_cert(&r, p->from, &p->cert))
		return GROVE_DROP_MALFORMED;
	if (sealed)
		p->salt = grove_rbuf_u64(&r);
	p->payload_len = grove_rbuf_u16(&r);
	p->ad_len = r.pos;
	p->payload = grove_rbuf_take(&r, p->payload_len);
	if (r.bad || grove_rbuf_left(&r) != 0 || (sealed && p->payload_len < GROVE_ENVELOPE_TAG_BYTES))
		return GROVE_DROP_MALFORMED;
	p->signed_len = r.pos;
	return GROVE_DROP_NONE;
}

/* Decrypts p's sealed payload into plain (GROVE_DATAGRAM_MAX bytes) and
 * points p->payload at it. */
static grove_drop_t unseal(grove_pairkeys_t *keys, const grove_cert_t *sender, const uint8_t *d, parsed_t *p,
			   uint8_t *plain)
{
	const uint8_t *tx, *rx;
	if (keys == NULL || grove_pairkeys_get(keys, sender->node_pk, &tx, &rx) < 0)
		return GROVE_DROP_BADSIG; /* no key (or no memory for one): refused */
	uint8_t nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
	unsigned long long n = 0;
	make_nonce(nonce, p->salt, p->stamp.epoch, p->stamp.seq);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(plain, &n, NULL, p->payload, p->payload_len, d, p->ad_len,
						       nonce, rx) != 0)
		return GROVE_DROP_BADSIG;
	p->payload = plain;
	p->payload_len = (size_t)n;
	return GROVE_DROP_NONE;
}

static grove_drop_t check(grove_peerbook_t *book, grove_pairkeys_t *keys, const grove_identity_t *self,
			  const uint8_t *d, size_t len, uint64_t now_ms, parsed_t *p, uint8_t *plain)
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
	if (p->flags & GROVE_ENVELOPE_FLAG_SEALED)
		reason = unseal(keys, &a.cert, d, p, plain);
	else if (crypto_sign_verify_detached(d + p->signed_len, d, p->signed_len, a.cert.node_pk) != 0)
		reason = GROVE_DROP_BADSIG;
	if (reason != GROVE_DROP_NONE)
		return reason;
	reason = grove_peerbook__commit(book, &a, &p->stamp);
	p->learned = reason == GROVE_DROP_NONE && a.action != GROVE_ADMIT_USE;
	return reason;
}

int grove_envelope_open_keyed(grove_peerbook_t *book, grove_pairkeys_t *keys, const uint8_t *dgram,
			      size_t len, uint64_t now_ms, grove_envelope_t *out, grove_drop_t *reason)
{
	parsed_t p;
	memset(&p, 0, sizeof p);
	uint8_t plain[GROVE_DATAGRAM_MAX];
	grove_pairkeys_t *own = NULL;
	const grove_identity_t *self = grove_peerbook_self(book);
	if (keys == NULL && len >= 5 && (dgram[4] & GROVE_ENVELOPE_FLAG_SEALED)) {
		own = grove_malloc(sizeof *own);
		if (own != NULL)
			grove_pairkeys_init(own, self);
	}
	grove_drop_t r = check(book, keys ? keys : own, self, dgram, len, now_ms, &p, plain);
	if (own != NULL) {
		grove_pairkeys_close(own);
		grove_free(own);
	}
	grove_peerbook_note(book, r);
	if (reason != NULL)
		*reason = r;
	if (r != GROVE_DROP_NONE)
		return grove_drop_code(r);
	memset(out, 0, offsetof(grove_envelope_t, plain));
	out->kind = p.kind;
	memcpy(out->from, p.from, sizeof out->from);
	out->addressed = p.to[0] != '\0';
	out->cert_attached = (p.flags & GROVE_ENVELOPE_FLAG_CERT) != 0;
	out->cert_learned = p.learned;
	out->sealed = (p.flags & GROVE_ENVELOPE_FLAG_SEALED) != 0;
	out->epoch = p.stamp.epoch;
	out->seq = p.stamp.seq;
	if (out->sealed) {
		memcpy(out->plain, plain, p.payload_len);
		out->payload = out->plain;
	} else {
		out->payload = p.payload;
	}
	out->payload_len = p.payload_len;
	sodium_memzero(plain, sizeof plain);
	return 0;
}

int grove_envelope_open(grove_peerbook_t *book, const uint8_t *dgram, size_t len, uint64_t now_ms,
			grove_envelope_t *out, grove_drop_t *reason)
{
	return grove_envelope_open_keyed(book, NULL, dgram, len, now_ms, out, reason);
}

int grove_envelope_proven_cert(const grove_identity_t *self, grove_pairkeys_t *keys, const uint8_t *dgram,
			       size_t len, uint64_t now_ms, grove_cert_t *cert)
{
	parsed_t p;
	memset(&p, 0, sizeof p);
	if (parse(dgram, len, &p) != GROVE_DROP_NONE || !(p.flags & GROVE_ENVELOPE_FLAG_CERT) ||
	    (p.to[0] != '\0' && strcmp(p.to, self->cert.node_id) != 0) ||
	    grove_cert_verify(&p.cert, self->ca_pk, now_ms) < 0)
		return GROVE_EAUTH;
	bool proven;
	if (p.flags & GROVE_ENVELOPE_FLAG_SEALED) {
		uint8_t plain[GROVE_DATAGRAM_MAX];
		proven = unseal(keys, &p.cert, dgram, &p, plain) == GROVE_DROP_NONE;
		sodium_memzero(plain, sizeof plain);
	} else {
		proven = crypto_sign_verify_detached(dgram + p.signed_len, dgram, p.signed_len, p.cert.node_pk) == 0;
	}
	if (!proven)
		return GROVE_EAUTH;
	*cert = p.cert;
	return 0;
}
