/*
 * cert.h - node certificates signed by the cluster CA.
 *
 * A certificate binds a node id to the node's Ed25519 public key until an
 * expiry time, and is signed by the cluster CA's Ed25519 key.  Version 2
 * also carries its issue time (issued_ms, unix ms), which orders the
 * certificates of one node id: a later one supersedes an earlier one
 * (renewal with the same key, or rotation to a new key).  Version 1
 * certificates are still read and verified; they count as issued at 0, so
 * any version 2 certificate for the same id supersedes them.  It also names
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

#define GROVE_CERT_VERSION_1 1
#define GROVE_CERT_VERSION 2 /* what grove_cert_issue_v2 writes */
#define GROVE_KEY_FINGERPRINT_BYTES 16
/* v1: version(1) id_len(1) id(<=63) node_pk(32) ca_id(8) expires_ms(8) sig(64)
 * v2: version(1) id_len(1) id(<=63) node_pk(32) ca_id(8) issued_ms(8)
 *     expires_ms(8) sig(64) */
#define GROVE_CERT_BYTES_MIN (1 + 1 + 1 + GROVE_SIGN_PUBLIC_BYTES + GROVE_CA_ID_BYTES + 8 + GROVE_SIGNATURE_BYTES)
#define GROVE_CERT_V1_BYTES_MAX (GROVE_CERT_BYTES_MIN - 1 + GROVE_NODE_ID_MAX)
#define GROVE_CERT_BYTES_MAX (GROVE_CERT_V1_BYTES_MAX + 8)

typedef struct grove_cert {
	uint8_t version;                     /* GROVE_CERT_VERSION_1 or GROVE_CERT_VERSION */
	char node_id[GROVE_NODE_ID_MAX + 1]; /* NUL-terminated, validated */
	uint8_t node_pk[GROVE_SIGN_PUBLIC_BYTES];
	uint8_t ca_id[GROVE_CA_ID_BYTES];
	uint64_t issued_ms;  /* v2: issue time, orders certificates of one id; v1: 0 */
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

/* Fill *out with a version 2 certificate for (node_id, node_pk, issued_ms,
 * expires_ms) signed by the CA secret key ca_sk (libsodium 64-byte layout;
 * its public half is taken from the key itself).  GROVE_EINVAL for a bad
 * node id or issued_ms >= expires_ms. */
int grove_cert_issue_v2(grove_cert_t *out, const char *node_id,
			const uint8_t node_pk[GROVE_SIGN_PUBLIC_BYTES], uint64_t issued_ms, uint64_t expires_ms,
			const uint8_t ca_sk[GROVE_SIGN_SECRET_BYTES]) GROVE_MUST_CHECK;

/* The same as a version 1 certificate (no issue time): kept for the
 * documented v1 vectors and the tests built on them; new code issues v2. */
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

/* Ordering of two certificates of one node id: > 0 when a supersedes b
 * (later issue time; at equal issue time, later expiry), < 0 when b
 * supersedes a, 0 when neither does. */
int grove_cert_order(const grove_cert_t *a, const grove_cert_t *b);

/* Encoded length of *c (its version's layout). */
size_t grove_cert_encoded_len(const grove_cert_t *c);

/* Key fingerprint: the first GROVE_KEY_FINGERPRINT_BYTES of BLAKE2b-256 of
 * the public key; what `grove cert show` prints and revocation lists name. */
void grove_key_fingerprint(uint8_t out[GROVE_KEY_FINGERPRINT_BYTES], const uint8_t pk[GROVE_SIGN_PUBLIC_BYTES]);

/* Expiry warnings of the node's own certificate: one at each of
 * GROVE_CERT_WARN_DAYS (30, 7 and 1 days before expiry) and one once it has
 * expired, each given once.  A caller-owned watch, zeroed to start; a
 * certificate with a later expiry (renewal) rearms it.  Pure. */
#define GROVE_CERT_WARN_STAGES 3
extern const unsigned grove_cert_warn_days[GROVE_CERT_WARN_STAGES]; /* 30, 7, 1 */
typedef struct grove_cert_watch {
	uint64_t expires_ms; /* of the certificate watched */
	int stage;           /* warnings given: 0..GROVE_CERT_WARN_STAGES, +1 once expired */
} grove_cert_watch_t;
/* True when a warning is due at now_ms for a certificate expiring at
 * expires_ms; *days_left gets the threshold crossed (30, 7, 1) or 0 when
 * expired.  At most one warning per call (the nearest threshold). */
bool grove_cert_watch_due(grove_cert_watch_t *w, uint64_t expires_ms, uint64_t now_ms, unsigned *days_left);

/* True when both certificates are field-for-field identical. */
bool grove_cert_equal(const grove_cert_t *a, const grove_cert_t *b);

#endif
