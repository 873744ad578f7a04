/*
 * identity.h - a node's own identity: its certificate, its Ed25519 secret
 * key and the cluster CA public key it trusts.
 *
 * The identity is a caller-allocated struct (init/close pair).  It signs on
 * the node's behalf (datagrams, session handshakes) and verifies peers
 * against its CA key.  grove_identity_close wipes the secret key with
 * sodium_memzero; it is safe on a zeroed or half-initialized struct.
 * Loading an identity from files lives in node/keyfile.h (I/O stays in node/).
 * After init the identity is only read, so threads may share it.
 */
#ifndef GROVE_IDENTITY_H
#define GROVE_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "gossip/secure/cert.h"

typedef struct grove_identity {
	grove_cert_t cert;                        /* own certificate */
	uint8_t sk[GROVE_SIGN_SECRET_BYTES];      /* secret: wiped on close */
	uint8_t ca_pk[GROVE_SIGN_PUBLIC_BYTES];   /* the trusted cluster CA */
} grove_identity_t;

/* Copy cert, secret key and CA key into *id.  Checks that sk's public half
 * equals cert->node_pk (GROVE_EINVAL otherwise) and that the certificate
 * verifies against ca_pk at now_ms (GROVE_EUNTRUSTED / GROVE_EEXPIRED /
 * GROVE_EBADSIG).  On failure *id is left zeroed. */
int grove_identity_init(grove_identity_t *id, const grove_cert_t *cert,
			const uint8_t sk[GROVE_SIGN_SECRET_BYTES],
			const uint8_t ca_pk[GROVE_SIGN_PUBLIC_BYTES], uint64_t now_ms) GROVE_MUST_CHECK;

/* Wipe the secret key and everything else (sodium_memzero). */
void grove_identity_close(grove_identity_t *id);

/* The node id (borrowed from id->cert, valid until close). */
const char *grove_identity_node_id(const grove_identity_t *id);

/* Detached Ed25519 signature of msg[0..len) with the node key. */
void grove_identity_sign(const grove_identity_t *id, uint8_t sig[GROVE_SIGNATURE_BYTES],
			 const uint8_t *msg, size_t len);

/* Fresh random Ed25519 key pair (libsodium randombytes).  sk in libsodium's
 * 64-byte layout; wipe it with sodium_memzero when done. */
int grove_sign_keypair(uint8_t pk[GROVE_SIGN_PUBLIC_BYTES], uint8_t sk[GROVE_SIGN_SECRET_BYTES]) GROVE_MUST_CHECK;

/* Deterministic key pair from a 32-byte seed (key files store the seed;
 * tests use fixed seeds for known-answer vectors). */
int grove_sign_seed_keypair(uint8_t pk[GROVE_SIGN_PUBLIC_BYTES], uint8_t sk[GROVE_SIGN_SECRET_BYTES],
			    const uint8_t seed[GROVE_SIGN_SEED_BYTES]) GROVE_MUST_CHECK;

#endif
