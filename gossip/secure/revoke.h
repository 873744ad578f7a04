/*
 * revoke.h - the cluster's certificate revocation list, signed by the CA.
 *
 * A revocation list names node keys (by key fingerprint, see cert.h) whose
 * certificates are refused from then on, whatever their id or expiry.  It
 * carries its issue time: a list issued later replaces an earlier one (each
 * list is complete, not a delta).  Nodes gossip the newest list they hold
 * (membership, doc/membership.md "Revocation list datagram") and persist it.
 * The encoding is canonical (fingerprints sorted ascending, no duplicates),
 * fixed order, big-endian, bounded (GROVE_CRL_BYTES_MAX, so one list fits a
 * datagram); it is defined in doc/wire_format.md, section "Revocation list".
 *
 * Conventions as cert.h: plain caller-owned struct, 0 or a negative code,
 * outputs untouched on failure, decoders treat input as hostile.
 */
#ifndef GROVE_REVOKE_H
#define GROVE_REVOKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip/secure/cert.h"

#define GROVE_CRL_VERSION 1
#define GROVE_CRL_ENTRIES_MAX 32
/* version(1) ca_id(8) issued_ms(8) count(2) fingerprints(count x 16) sig(64) */
#define GROVE_CRL_BYTES_MIN (1 + GROVE_CA_ID_BYTES + 8 + 2 + GROVE_SIGNATURE_BYTES)
#define GROVE_CRL_BYTES_MAX (GROVE_CRL_BYTES_MIN + GROVE_CRL_ENTRIES_MAX * GROVE_KEY_FINGERPRINT_BYTES)

typedef struct grove_crl {
	uint8_t ca_id[GROVE_CA_ID_BYTES];
	uint64_t issued_ms;
	size_t count;
	uint8_t keys[GROVE_CRL_ENTRIES_MAX][GROVE_KEY_FINGERPRINT_BYTES]; /* sorted, unique */
	uint8_t sig[GROVE_SIGNATURE_BYTES];
} grove_crl_t;

/* A list of count fingerprints (any order, duplicates allowed: sorted and
 * merged here) issued at issued_ms, signed with ca_sk.  GROVE_ETOOBIG when
 * more than GROVE_CRL_ENTRIES_MAX distinct keys. */
int grove_crl_issue(grove_crl_t *out, uint64_t issued_ms, const uint8_t (*keys)[GROVE_KEY_FINGERPRINT_BYTES],
		    size_t count, const uint8_t ca_sk[GROVE_SIGN_SECRET_BYTES]) GROVE_MUST_CHECK;

/* Canonical encoding; GROVE_ETOOBIG when cap is too small. */
int grove_crl_encode(const grove_crl_t *crl, uint8_t *buf, size_t cap, size_t *out_len) GROVE_MUST_CHECK;

/* Decode a whole buffer (syntax only, including order of the fingerprints):
 * GROVE_EDECODE, GROVE_EVERSION.  Call grove_crl_verify for trust. */
int grove_crl_decode(const uint8_t *buf, size_t len, grove_crl_t *out) GROVE_MUST_CHECK;

/* GROVE_EUNTRUSTED when ca_id does not name ca_pk, GROVE_EBADSIG when the
 * signature fails, 0 when valid. */
int grove_crl_verify(const grove_crl_t *crl, const uint8_t ca_pk[GROVE_SIGN_PUBLIC_BYTES]) GROVE_MUST_CHECK;

/* True when the list names the key fingerprint fp.  O(log count). */
bool grove_crl_has(const grove_crl_t *crl, const uint8_t fp[GROVE_KEY_FINGERPRINT_BYTES]);

/* True when the list revokes cert's key. */
bool grove_crl_revokes(const grove_crl_t *crl, const grove_cert_t *cert);

#endif
