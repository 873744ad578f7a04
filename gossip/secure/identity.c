/*
 * identity.c - a node's own identity: certificate, secret key, CA key;
 * signing, and Ed25519 key-pair generation.  Secrets are wiped on close.
 */
#include "gossip/secure/identity.h"

#include <string.h>

#include <sodium.h>

#include "base/assert.h"

int grove_identity_init(grove_identity_t *id, const grove_cert_t *cert,
			const uint8_t sk[GROVE_SIGN_SECRET_BYTES],
			const uint8_t ca_pk[GROVE_SIGN_PUBLIC_BYTES], uint64_t now_ms)
{
	sodium_memzero(id, sizeof *id);
	int rc = grove_crypto_init();
	if (rc < 0)
		return rc;
	uint8_t pk[GROVE_SIGN_PUBLIC_BYTES];
	crypto_sign_ed25519_sk_to_pk(pk, sk);
	if (sodium_memcmp(pk, cert->node_pk, sizeof pk) != 0)
		return GROVE_EINVAL;
	rc = grove_cert_verify(cert, ca_pk, now_ms);
	if (rc < 0)
		return rc;
	id->cert = *cert;
	memcpy(id->sk, sk, sizeof id->sk);
	memcpy(id->ca_pk, ca_pk, sizeof id->ca_pk);
	return 0;
}

void grove_identity_close(grove_identity_t *id)
{
	if (id != NULL)
		sodium_memzero(id, sizeof *id);
}

const char *grove_identity_node_id(const grove_identity_t *id)
{
	return id->cert.node_id;
}

void grove_identity_sign(const grove_identity_t *id, uint8_t sig[GROVE_SIGNATURE_BYTES],
			 const uint8_t *msg, size_t len)
{
	GROVE_ASSERT(id->cert.node_id[0] != '\0'); /* initialized */
	crypto_sign_detached(sig, NULL, msg, len, id->sk);
}

int grove_sign_keypair(uint8_t pk[GROVE_SIGN_PUBLIC_BYTES], uint8_t sk[GROVE_SIGN_SECRET_BYTES])
{
	int rc = grove_crypto_init();
	if (rc < 0)
		return rc;
	crypto_sign_keypair(pk, sk);
	return 0;
}

int grove_sign_seed_keypair(uint8_t pk[GROVE_SIGN_PUBLIC_BYTES], uint8_t sk[GROVE_SIGN_SECRET_BYTES],
			    const uint8_t seed[GROVE_SIGN_SEED_BYTES])
{
	int rc = grove_crypto_init();
	if (rc < 0)
		return rc;
	crypto_sign_seed_keypair(pk, sk, seed);
	return 0;
}
