/*
 * cert.c - node certificates: issue, canonical encode/decode, verify.
 *
 * Format: doc/wire_format.md, section "Certificate".  The CA signs the
 * domain-separated message "grove-cert-v1\0" (version 1) or
 * "grove-cert-v2\0" (version 2) || encoding-without-signature, so a
 * certificate signature can never be confused with any other Grove
 * signature, nor a v1 signature replayed as a v2 one.  Also home of grove_crypto_init (libsodium, once).
 */
#include "gossip/secure/cert.h"

#include <pthread.h>
#include <string.h>

#include <sodium.h>

#include "base/assert.h"
#include "gossip/secure/wirebuf.h"

_Static_assert(GROVE_SIGN_PUBLIC_BYTES == crypto_sign_PUBLICKEYBYTES, "pk size");
_Static_assert(GROVE_SIGN_SECRET_BYTES == crypto_sign_SECRETKEYBYTES, "sk size");
_Static_assert(GROVE_SIGN_SEED_BYTES == crypto_sign_SEEDBYTES, "seed size");
_Static_assert(GROVE_SIGNATURE_BYTES == crypto_sign_BYTES, "sig size");

static const char cert_context_v1[] = "grove-cert-v1"; /* signed with its NUL */
static const char cert_context_v2[] = "grove-cert-v2";
_Static_assert(sizeof cert_context_v1 == sizeof cert_context_v2, "one context length");

static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;
static int crypto_status;

static void crypto_init_once(void)
{
	crypto_status = sodium_init() < 0 ? GROVE_EIO : 0;
}

int grove_crypto_init(void)
{
	GROVE_ASSERT(pthread_once(&crypto_once, crypto_init_once) == 0);
	return crypto_status;
}

bool grove_node_id_valid(const char *id, size_t len)
{
	if (id == NULL || len == 0 || len > GROVE_NODE_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)id[i];
		if (c < 0x21 || c > 0x7e)
			return false;
	}
	return true;
}

void grove_ca_id(uint8_t out[GROVE_CA_ID_BYTES], const uint8_t ca_pk[GROVE_SIGN_PUBLIC_BYTES])
{
	uint8_t h[32];
	GROVE_ASSERT(grove_crypto_init() == 0);
	crypto_generichash(h, sizeof h, ca_pk, GROVE_SIGN_PUBLIC_BYTES, NULL, 0);
	memcpy(out, h, GROVE_CA_ID_BYTES);
}

/* Encoding without the signature: what the CA signs (after the context). */
static size_t cert_encode_body(const grove_cert_t *c, uint8_t *buf)
{
	grove_wbuf_t w;
	grove_wbuf_init(&w, buf, GROVE_CERT_BYTES_MAX);
	size_t id_len = strlen(c->node_id);
	GROVE_ASSERT(c->version == GROVE_CERT_VERSION_1 || c->version == GROVE_CERT_VERSION);
	grove_wbuf_u8(&w, c->version);
	grove_wbuf_u8(&w, (uint8_t)id_len);
	grove_wbuf_bytes(&w, c->node_id, id_len);
	grove_wbuf_bytes(&w, c->node_pk, sizeof c->node_pk);
	grove_wbuf_bytes(&w, c->ca_id, sizeof c->ca_id);
	if (c->version >= GROVE_CERT_VERSION)
		grove_wbuf_u64(&w, c->issued_ms);
	grove_wbuf_u64(&w, c->expires_ms);
	GROVE_ASSERT(!w.overflow);
	return w.len;
}

/* The signed message: context (with NUL) || body. */
static size_t cert_signed_message(const grove_cert_t *c, uint8_t *msg)
{
	const char *ctx = c->version == GROVE_CERT_VERSION_1 ? cert_context_v1 : cert_context_v2;
	memcpy(msg, ctx, sizeof cert_context_v1);
	return sizeof cert_context_v1 + cert_encode_body(c, msg + sizeof cert_context_v1);
}

#define CERT_MSG_MAX (sizeof cert_context_v1 + GROVE_CERT_BYTES_MAX)

static int cert_issue(grove_cert_t *out, uint8_t version, const char *node_id,
		      const uint8_t node_pk[GROVE_SIGN_PUBLIC_BYTES], uint64_t issued_ms, uint64_t expires_ms,
		      const uint8_t ca_sk[GROVE_SIGN_SECRET_BYTES])
{
	if (node_id == NULL || !grove_node_id_valid(node_id, strnlen(node_id, GROVE_NODE_ID_MAX + 1)))
		return GROVE_EINVAL;
	if (version == GROVE_CERT_VERSION && issued_ms >= expires_ms)
		return GROVE_EINVAL;
	int rc = grove_crypto_init();
	if (rc < 0)
		return rc;
	grove_cert_t c;
	memset(&c, 0, sizeof c);
	c.version = version;
	c.issued_ms = issued_ms;
	memcpy(c.node_id, node_id, strlen(node_id));
	memcpy(c.node_pk, node_pk, sizeof c.node_pk);
	uint8_t ca_pk[GROVE_SIGN_PUBLIC_BYTES];
	crypto_sign_ed25519_sk_to_pk(ca_pk, ca_sk);
	grove_ca_id(c.ca_id, ca_pk);
	c.expires_ms = expires_ms;
	uint8_t msg[CERT_MSG_MAX];
	size_t msg_len = cert_signed_message(&c, msg);
	crypto_sign_detached(c.sig, NULL, msg, msg_len, ca_sk);
	*out = c;
	return 0;
}

int grove_cert_issue_v2(grove_cert_t *out, const char *node_id, const uint8_t node_pk[GROVE_SIGN_PUBLIC_BYTES],
			uint64_t issued_ms, uint64_t expires_ms, const uint8_t ca_sk[GROVE_SIGN_SECRET_BYTES])
{
	return cert_issue(out, GROVE_CERT_VERSION, node_id, node_pk, issued_ms, expires_ms, ca_sk);
}

int grove_cert_issue(grove_cert_t *out, const char *node_id, const uint8_t node_pk[GROVE_SIGN_PUBLIC_BYTES],
		     uint64_t expires_ms, const uint8_t ca_sk[GROVE_SIGN_SECRET_BYTES])
{
	return cert_issue(out, GROVE_CERT_VERSION_1, node_id, node_pk, 0, expires_ms, ca_sk);
}

size_t grove_cert_encoded_len(const grove_cert_t *c)
{
	size_t n = GROVE_CERT_BYTES_MIN - 1 + strnlen(c->node_id, sizeof c->node_id);
	return c->version >= GROVE_CERT_VERSION ? n + 8 : n;
}

int grove_cert_order(const grove_cert_t *a, const grove_cert_t *b)
{
	if (a->issued_ms != b->issued_ms)
		return a->issued_ms > b->issued_ms ? 1 : -1;
	if (a->expires_ms != b->expires_ms)
		return a->expires_ms > b->expires_ms ? 1 : -1;
	return 0;
}

void grove_key_fingerprint(uint8_t out[GROVE_KEY_FINGERPRINT_BYTES], const uint8_t pk[GROVE_SIGN_PUBLIC_BYTES])
{
	uint8_t h[32];
	GROVE_ASSERT(grove_crypto_init() == 0);
	crypto_generichash(h, sizeof h, pk, GROVE_SIGN_PUBLIC_BYTES, NULL, 0);
	memcpy(out, h, GROVE_KEY_FINGERPRINT_BYTES);
}

int grove_cert_encode(const grove_cert_t *c, uint8_t *buf, size_t cap, size_t *out_len)
{
	uint8_t tmp[GROVE_CERT_BYTES_MAX];
	size_t id_len = strnlen(c->node_id, sizeof c->node_id);
	if (!grove_node_id_valid(c->node_id, id_len) ||
	    (c->version != GROVE_CERT_VERSION_1 && c->version != GROVE_CERT_VERSION))
		return GROVE_EINVAL;
	size_t n = cert_encode_body(c, tmp);
	if (n + GROVE_SIGNATURE_BYTES > cap)
		return GROVE_ETOOBIG;
	memcpy(buf, tmp, n);
	memcpy(buf + n, c->sig, GROVE_SIGNATURE_BYTES);
	*out_len = n + GROVE_SIGNATURE_BYTES;
	return 0;
}

int grove_cert_decode(const uint8_t *buf, size_t len, grove_cert_t *out, size_t *consumed)
{
	grove_rbuf_t r;
	grove_rbuf_init(&r, buf, len);
	grove_cert_t c;
	memset(&c, 0, sizeof c);
	uint8_t version = grove_rbuf_u8(&r);
	if (r.bad)
		return GROVE_EDECODE;
	if (version != GROVE_CERT_VERSION_1 && version != GROVE_CERT_VERSION)
		return GROVE_EVERSION;
	c.version = version;
	uint8_t id_len = grove_rbuf_u8(&r);
	const uint8_t *id = grove_rbuf_take(&r, id_len);
	grove_rbuf_copy(&r, c.node_pk, sizeof c.node_pk);
	grove_rbuf_copy(&r, c.ca_id, sizeof c.ca_id);
	if (version == GROVE_CERT_VERSION)
		c.issued_ms = grove_rbuf_u64(&r);
	c.expires_ms = grove_rbuf_u64(&r);
	grove_rbuf_copy(&r, c.sig, sizeof c.sig);
	if (r.bad || !grove_node_id_valid((const char *)id, id_len))
		return GROVE_EDECODE;
	if (consumed == NULL && r.pos != len)
		return GROVE_EDECODE;
	memcpy(c.node_id, id, id_len);
	*out = c;
	if (consumed != NULL)
		*consumed = r.pos;
	return 0;
}

int grove_cert_verify(const grove_cert_t *c, const uint8_t ca_pk[GROVE_SIGN_PUBLIC_BYTES],
		      uint64_t now_ms)
{
	if (!grove_node_id_valid(c->node_id, strnlen(c->node_id, sizeof c->node_id)) ||
	    (c->version != GROVE_CERT_VERSION_1 && c->version != GROVE_CERT_VERSION))
		return GROVE_EINVAL;
	int rc = grove_crypto_init();
	if (rc < 0)
		return rc;
	uint8_t want[GROVE_CA_ID_BYTES];
	grove_ca_id(want, ca_pk);
	if (sodium_memcmp(want, c->ca_id, sizeof want) != 0)
		return GROVE_EUNTRUSTED;
	if (now_ms >= c->expires_ms)
		return GROVE_EEXPIRED;
	uint8_t msg[CERT_MSG_MAX];
	size_t msg_len = cert_signed_message(c, msg);
	if (crypto_sign_verify_detached(c->sig, msg, msg_len, ca_pk) != 0)
		return GROVE_EBADSIG;
	return 0;
}

bool grove_cert_equal(const grove_cert_t *a, const grove_cert_t *b)
{
	return a->version == b->version && a->issued_ms == b->issued_ms &&
	       strncmp(a->node_id, b->node_id, sizeof a->node_id) == 0 &&
	       memcmp(a->node_pk, b->node_pk, sizeof a->node_pk) == 0 &&
	       memcmp(a->ca_id, b->ca_id, sizeof a->ca_id) == 0 && a->expires_ms == b->expires_ms &&
	       memcmp(a->sig, b->sig, sizeof a->sig) == 0;
}

const unsigned grove_cert_warn_days[GROVE_CERT_WARN_STAGES] = { 30, 7, 1 };

#define MS_PER_DAY 86400000ull

bool grove_cert_watch_due(grove_cert_watch_t *w, uint64_t expires_ms, uint64_t now_ms, unsigned *days_left)
{
	if (expires_ms != w->expires_ms) { /* a new certificate: start over */
		w->expires_ms = expires_ms;
		w->stage = 0;
	}
	int due = 0; /* stages reached at now_ms */
	if (now_ms >= expires_ms)
		due = GROVE_CERT_WARN_STAGES + 1;
	else
		for (int i = 0; i < GROVE_CERT_WARN_STAGES; i++)
			if (expires_ms - now_ms <= grove_cert_warn_days[i] * MS_PER_DAY)
				due = i + 1;
	if (due <= w->stage)
		return false;
	w->stage = due;
	*days_left = due > GROVE_CERT_WARN_STAGES ? 0 : grove_cert_warn_days[due - 1];
	return true;
}
