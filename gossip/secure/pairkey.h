/*
 * pairkey.h - pairwise datagram keys between two certified nodes.
 *
 * Every node has one long-term Ed25519 key (its certificate's node key).
 * Two nodes A and B derive, without any message, one X25519 shared secret
 * from those keys (both converted to Curve25519: libsodium's
 * crypto_sign_ed25519_{sk,pk}_to_curve25519), and from it one 32-byte
 * XChaCha20-Poly1305 key per direction:
 *
 *     q        = X25519(curve(sk_A), curve(pk_B))        (= X25519(curve(sk_B), curve(pk_A)))
 *     k(A->B)  = BLAKE2b-256(key = q, "grove-dgram-v2" NUL || pk_A || pk_B)
 *
 * so A seals for B with k(A->B) and B opens it with the same key, and the
 * two directions never share a key (each direction's nonces are unique on
 * their own: doc/wire_format.md, "Sealed payload").  Static-static: no
 * forward secrecy for datagrams (streams have it: gossip/secure/channel.h).
 *
 * Cost: a derivation is about two X25519 operations' worth (~60 us);
 * grove_pairkeys_t caches the last GROVE_PAIRKEYS_SLOTS peers
 * (direct-mapped on the peer key), so a steady cluster derives each key
 * once.  The cache is caller-allocated (init/close pair), holds secrets
 * and is wiped on close.  Sans-IO, no allocation, not thread-safe.
 */
#ifndef GROVE_PAIRKEY_H
#define GROVE_PAIRKEY_H

#include <stdbool.h>
#include <stdint.h>

#include "gossip/secure/identity.h"

#define GROVE_PAIRKEY_BYTES 32
#define GROVE_PAIRKEYS_SLOTS 64

typedef struct grove_pairkey_slot {
	bool used;
	uint8_t peer_pk[GROVE_SIGN_PUBLIC_BYTES];
	uint8_t tx[GROVE_PAIRKEY_BYTES]; /* self -> peer */
	uint8_t rx[GROVE_PAIRKEY_BYTES]; /* peer -> self */
} grove_pairkey_slot_t;

typedef struct grove_pairkeys {
	const grove_identity_t *self; /* borrowed */
	bool ok;                      /* x_sk derived */
	uint8_t x_sk[32];             /* secret: wiped on close */
	uint64_t derived;             /* derivations done (cache misses) */
	grove_pairkey_slot_t slot[GROVE_PAIRKEYS_SLOTS];
} grove_pairkeys_t;

void grove_pairkeys_init(grove_pairkeys_t *k, const grove_identity_t *self);
void grove_pairkeys_close(grove_pairkeys_t *k); /* wipes; safe on a zeroed struct */

/* The two keys for the peer with Ed25519 key peer_pk: *tx seals self ->
 * peer, *rx opens peer -> self; both point into the cache and stay valid
 * until the next call.  GROVE_EAUTH when the key cannot be converted or
 * the shared point is degenerate (a low-order key). */
int grove_pairkeys_get(grove_pairkeys_t *k, const uint8_t peer_pk[GROVE_SIGN_PUBLIC_BYTES],
		       const uint8_t **tx, const uint8_t **rx) GROVE_MUST_CHECK;

#endif
