/*
 * revoke.c - revocation lists: issue, canonical encode/decode, verify,
 * lookup.  Format: doc/wire_format.md, section "Revocation list".  The CA
 * signs "grove-crl-v1\0" || encoding-without-signature (its own domain, so
 * no other Grove signature can pass for a list).
 */
#include "gossip/secure/revoke.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "gossip/secure/wirebuf.h"

static const char crl_context[] = "grove-crl-v1"; /* signed with its NUL */
#define CRL_MSG_MAX (sizeof crl_context + GROVE_CRL_BYTES_MAX)

static int fp_cmp(const void *a, const void *b)
{
	return memcmp(a, b, GROVE_KEY_FINGERPRINT_BYTES);
}

static size_t crl_body(const grove_crl_t *c, uint8_t *buf, size_t cap)
{
	grove_wbuf_t w;
	grove_wbuf_init(&w, buf, cap);
	grove_wbuf_u8(&w, GROVE_CRL_VERSION);
	grove_wbuf_bytes(&w, c->ca_id, sizeof c->ca_id);
	grove_wbuf_u64(&w, c->issued_ms);
	grove_wbuf_u16(&w, (uint16_t)c->count);
	for (size_t i = 0; i < c->count; i++)
		grove_wbuf_bytes(&w, c->keys[i], GROVE_KEY_FINGERPRINT_BYTES);
	GROVE_ASSERT(!w.overflow);
	return w.len;
}

static size_t crl_message(const grove_crl_t *c, uint8_t *msg)
{
	memcpy(msg, crl_context, sizeof crl_context);
	return sizeof crl_context + crl_body(c, msg + sizeof crl_context, GROVE_CRL_BYTES_MAX);
}

int grove_crl_issue(grove_crl_t *out, uint64_t issued_ms, const uint8_t (*keys)[GROVE_KEY_FINGERPRINT_BYTES],
		    size_t count, const uint8_t ca_sk[GROVE_SIGN_SECRET_BYTES])
{
	int rc = grove_crypto_init();
	if (rc < 0)
		return rc;
	uint8_t(*sorted)[GROVE_KEY_FINGERPRINT_BYTES] = NULL;
	if (count > 0) {
		sorted = grove_malloc(count * GROVE_KEY_FINGERPRINT_BYTES);
		if (sorted == NULL)
			return GROVE_ENOMEM;
		memcpy(sorted, keys, count * GROVE_KEY_FINGERPRINT_BYTES);
		qsort(sorted, count, GROVE_KEY_FINGERPRINT_BYTES, fp_cmp);
	}
	grove_crl_t c;
	memset(&c, 0, sizeof c);
	for (size_t i = 0; i < count; i++) {
		if (c.count > 0 && fp_cmp(c.keys[c.count - 1], sorted[i]) == 0)
			continue;
		if (c.count == GROVE_CRL_ENTRIES_MAX) {
			grove_free(sorted);
			return GROVE_ETOOBIG;
		}
		memcpy(c.keys[c.count++], sorted[i], GROVE_KEY_FINGERPRINT_BYTES);
	}
	grove_free(sorted);
	uint8_t ca_pk[GROVE_SIGN_PUBLIC_BYTES];
	crypto_sign_ed25519_sk_to_pk(ca_pk, ca_sk);
	grove_ca_id(c.ca_id, ca_pk);
	c.issued_ms = issued_ms;
	uint8_t msg[CRL_MSG_MAX];
	size_t n = crl_message(&c, msg);
	crypto_sign_detached(c.sig, NULL, msg, n, ca_sk);
	*out = c;
	return 0;
}

int grove_crl_encode(const grove_crl_t *c, uint8_t *buf, size_t cap, size_t *out_len)
{
	GROVE_ASSERT(c->count <= GROVE_CRL_ENTRIES_MAX);
	uint8_t tmp[GROVE_CRL_BYTES_MAX];
	size_t n = crl_body(c, tmp, sizeof tmp);
	if (n + GROVE_SIGNATURE_BYTES > cap)
		return GROVE_ETOOBIG;
	memcpy(buf, tmp, n);
	memcpy(buf + n, c->sig, GROVE_SIGNATURE_BYTES);
	*out_len = n + GROVE_SIGNATURE_BYTES;
	return 0;
}

int grove_crl_decode(const uint8_t *buf, size_t len, grove_crl_t *out)
{
	grove_rbuf_t r;
	grove_rbuf_init(&r, buf, len);
	uint8_t version = grove_rbuf_u8(&r);
	if (r.bad)
		return GROVE_EDECODE;
	if (version != GROVE_CRL_VERSION)
		return GROVE_EVERSION;
	grove_crl_t c;
	memset(&c, 0, sizeof c);
	grove_rbuf_copy(&r, c.ca_id, sizeof c.ca_id);
	c.issued_ms = grove_rbuf_u64(&r);
	c.count = grove_rbuf_u16(&r);
	if (r.bad || c.count > GROVE_CRL_ENTRIES_MAX)
		return GROVE_EDECODE;
	for (size_t i = 0; i < c.count; i++) {
		grove_rbuf_copy(&r, c.keys[i], GROVE_KEY_FINGERPRINT_BYTES);
		if (!r.bad && i > 0 && fp_cmp(c.keys[i - 1], c.keys[i]) >= 0)
			return GROVE_EDECODE; /* not canonical: unsorted or duplicate */
	}
	grove_rbuf_copy(&r, c.sig, sizeof c.sig);
	if (r.bad || grove_rbuf_left(&r) != 0)
		return GROVE_EDECODE;
	*out = c;
	return 0;
}

int grove_crl_verify(const grove_crl_t *c, const uint8_t ca_pk[GROVE_SIGN_PUBLIC_BYTES])
{
	if (c->count > GROVE_CRL_ENTRIES_MAX)
		return GROVE_EINVAL;
	int rc = grove_crypto_init();
	if (rc < 0)
		return rc;
	uint8_t want[GROVE_CA_ID_BYTES];
	grove_ca_id(want, ca_pk);
	if (sodium_memcmp(want, c->ca_id, sizeof want) != 0)
		return GROVE_EUNTRUSTED;
	uint8_t msg[CRL_MSG_MAX];
	size_t n = crl_message(c, msg);
	return crypto_sign_verify_detached(c->sig, msg, n, ca_pk) == 0 ? 0 : GROVE_EBADSIG;
}

bool grove_crl_has(const grove_crl_t *c, const uint8_t fp[GROVE_KEY_FINGERPRINT_BYTES])
{
	size_t lo = 0, hi = c->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int cmp = fp_cmp(c->keys[mid], fp);
		if (cmp == 0)
			return true;
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

bool grove_crl_revokes(const grove_crl_t *c, const grove_cert_t *cert)
{
	uint8_t fp[GROVE_KEY_FINGERPRINT_BYTES];
	grove_key_fingerprint(fp, cert->node_pk);
	return grove_crl_has(c, fp);
}
