/*
 * cert.h - node certificates signed by the cluster CA.
 *
 * A certificate binds a node id to the node's Ed25519 public key until an
 * expiry time, and is signed by the cluster CA's Ed25519 key.  It also names
 * the CA by a short key id (the first 8 bytes of BLAKE2b-256 of the CA public
 * key) so a certificate from another cluster's CA is told apart from a forged
 * one (GROVE_EUNTRUSTED vs GROVE_EBADSIG).  The encoding is canonical, fixed
 * order, big-endian and bounded (GROVE_CERT_BYTES_MAX); it is defined in
 * doc/wire_format.md, section "Certificate".
 *
 * Conventions:
 *  1. grove_cert_t is a plain caller-owned struct; no heap, nothing to free.
 *  2. Functions return 0 or a negative code from include/grove/error.h; outputs are
 *     left untouched on failure.
 *  3. Time is passed in (now_ms, unix milliseconds): no clock reads here.
 *  4. Decoders treat their input as hostile.
 *  5. libsodium is initialized lazily (grove_crypto_init, thread-safe); an
 *     embedding program may call grove_crypto_init itself first.
 */
#ifndef GROVE_CERT_H
#define GROVE_CERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "grove/error.h"
#include "grove/value.h" /* GROVE_NODE_ID_MAX */

/* Ed25519 sizes (equal to libsodium's crypto_sign_*BYTES; checked in cert.c). */
#define GROVE_SIGN_PUBLIC_BYTES 32
#define GROVE_SIGN_SECRET_BYTES 64 /* libsodium layout: seed || public key */
#define GROVE_SIGN_SEED_BYTES 32
#define GROVE_SIGNATURE_BYTES 64
#define GROVE_CA_ID_BYTES 8

#define GROVE_CERT_VERSION 1
/* version(1) id_len(1) id(<=63) node_pk(32) ca_id(8) expires_ms(8) sig(64) */
#define GROVE_CERT_BYTES_MIN (1 + 1 + 1 + GROVE_SIGN_PUBLIC_BYTES + GROVE_CA_ID_BYTES + 8 + GROVE_SIGNATURE_BYTES)
#define GROVE_CERT_BYTES_MAX (GROVE_CERT_BYTES_MIN - 1 + GROVE_NODE_ID_MAX)

typedef struct grove_cert {
	char node_id[GROVE_NODE_ID_MAX + 1]; /* NUL-terminated, validated */
	uint8_t node_pk[GROVE_SIGN_PUBLIC_BYTES];
	uint8_t ca_id[GROVE_CA_ID_BYTES];
	uint64_t expires_ms; /* valid while now_ms < expires_ms */
	uint8_t sig[GROVE_SIGNATURE_BYTES]; /* CA signature, see wire_format.md */
} grove_cert_t;

/* Initialize libsodium once (pthread_once); 0 or GROVE_EIO if it fails.
 * Every function in gossip/ that needs libsodium calls it lazily. */
int grove_crypto_init(void) GROVE_MUST_CHECK;

/* A node id is valid when it has 1..GROVE_NODE_ID_MAX bytes, each printable
 * ASCII other than space (0x21..0x7e).  Used by every decoder of ids. */
bool grove_node_id_valid(const char *id, size_t len);

/* The CA key id: first GROVE_CA_ID_BYTES of BLAKE2b-256(ca_pk). */
void grove_ca_id(uint8_t out[GROVE_CA_ID_BYTES], const uint8_t ca_pk[GROVE_SIGN_PUBLIC_BYTES]);

/* Fill *out with a certificate for (node_id, node_pk, expires_ms) signed by
 * the CA secret key ca_sk (libsodium 64-byte layout; its public half is taken
 * from the key itself).  GROVE_EINVAL for a bad node id. */
int grove_cert_issue(grove_cert_t *out, const char *node_id,
		     const uint8_t node_pk[GROVE_SIGN_PUBLIC_BYTES], uint64_t expires_ms,
		     const uint8_t ca_sk[GROVE_SIGN_SECRET_BYTES]) GROVE_MUST_CHECK;

/* Canonical encoding into buf[0..cap).  *out_len gets the length (at most
 * GROVE_CERT_BYTES_MAX).  GROVE_ETOOBIG when cap is too small. */
int grove_cert_encode(const grove_cert_t *c, uint8_t *buf, size_t cap, size_t *out_len) GROVE_MUST_CHECK;

/* Decode one certificate from the front of buf.  When consumed is NULL the
 * certificate must fill buf exactly; otherwise *consumed gets its length and
 * trailing bytes are allowed.  Only the syntax is checked (GROVE_EDECODE,
 * GROVE_EVERSION); call grove_cert_verify for trust. */
int grove_cert_decode(const uint8_t *buf, size_t len, grove_cert_t *out, size_t *consumed) GROVE_MUST_CHECK;

/* Verify against the CA public key at time now_ms.  Cheap checks first:
 * GROVE_EUNTRUSTED when ca_id does not name ca_pk, GROVE_EEXPIRED when
 * now_ms >= expires_ms, then GROVE_EBADSIG when the CA signature fails.
 * GROVE_EINVAL for a bad node id in *c.  0 when valid. */
int grove_cert_verify(const grove_cert_t *c, const uint8_t ca_pk[GROVE_SIGN_PUBLIC_BYTES],
		      uint64_t now_ms) GROVE_MUST_CHECK;

/* True when both certificates are field-for-field identical. */
bool grove_cert_equal(const grove_cert_t *a, const grove_cert_t *b);

#endif
