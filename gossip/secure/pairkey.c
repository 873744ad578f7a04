/*
 * pairkey.c - pairwise datagram keys (see pairkey.h for the derivation).
 */
#include "gossip/secure/pairkey.h"

#include <string.h>

#include <sodium.h>

#include "base/assert.h"
#include "grove/error.h"

_Static_assert(GROVE_PAIRKEY_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES, "key size");

static const char context[] = "grove-dgram-v2"; /* hashed with its NUL */

void grove_pairkeys_init(grove_pairkeys_t *k, const grove_identity_t *self)
{
	GROVE_ASSERT(self != NULL);
	memset(k, 0, sizeof *k);
	k->self = self;
	k->ok = crypto_sign_ed25519_sk_to_curve25519(k->x_sk, self->sk) == 0;
}

void grove_pairkeys_close(grove_pairkeys_t *k)
{
	sodium_memzero(k, sizeof *k);
}

static void direction_key(uint8_t out[GROVE_PAIRKEY_BYTES], const uint8_t q[32], const uint8_t *from_pk,
			  const uint8_t *to_pk)
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, q, 32, GROVE_PAIRKEY_BYTES);
	crypto_generichash_update(&st, (const uint8_t *)context, sizeof context);
	crypto_generichash_update(&st, from_pk, GROVE_SIGN_PUBLIC_BYTES);
	crypto_generichash_update(&st, to_pk, GROVE_SIGN_PUBLIC_BYTES);
	crypto_generichash_final(&st, out, GROVE_PAIRKEY_BYTES);
	sodium_memzero(&st, sizeof st);
}

static int derive(grove_pairkeys_t *k, const uint8_t *peer_pk, grove_pairkey_slot_t *slot)
{
	uint8_t x_pk[32], q[32];
	if (!k->ok || crypto_sign_ed25519_pk_to_curve25519(x_pk, peer_pk) != 0 ||
	    crypto_scalarmult(q, k->x_sk, x_pk) != 0)
		return GROVE_EAUTH;
	const uint8_t *self_pk = k->self->cert.node_pk;
	direction_key(slot->tx, q, self_pk, peer_pk);
	direction_key(slot->rx, q, peer_pk, self_pk);
	sodium_memzero(q, sizeof q);
	memcpy(slot->peer_pk, peer_pk, GROVE_SIGN_PUBLIC_BYTES);
	slot->used = true;
	k->derived++;
	return 0;
}

int grove_pairkeys_get(grove_pairkeys_t *k, const uint8_t peer_pk[GROVE_SIGN_PUBLIC_BYTES],
		       const uint8_t **tx, const uint8_t **rx)
{
	/* Peer keys are CA-certified, so their first bytes spread evenly. */
	grove_pairkey_slot_t *slot = &k->slot[(peer_pk[0] ^ peer_pk[31]) % GROVE_PAIRKEYS_SLOTS];
	if (!slot->used || memcmp(slot->peer_pk, peer_pk, GROVE_SIGN_PUBLIC_BYTES) != 0) {
		grove_pairkey_slot_t fresh;
		int rc = derive(k, peer_pk, &fresh);
		if (rc < 0) {
			sodium_memzero(&fresh, sizeof fresh);
			return rc;
		}
		*slot = fresh;
		sodium_memzero(&fresh, sizeof fresh);
	}
	*tx = slot->tx;
	*rx = slot->rx;
	return 0;
}
