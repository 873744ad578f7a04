/*
 * keyfile.h - key and certificate files: the CA key pair, node keys, node
 * certificates.
 *
 * Format (doc/wire_format.md, section "Key files"): a text file of two lines,
 *   <header line>\n<lower-case hex of the payload>\n
 * with headers
 *   "grove-ca-secret-key-v1"   payload: 32-byte Ed25519 seed   (secret)
 *   "grove-ca-public-key-v1"   payload: 32-byte public key
 *   "grove-node-secret-key-v1" payload: 32-byte Ed25519 seed   (secret)
 *   "grove-node-cert-v1"       payload: the certificate encoding (cert.h;
 *                              its first byte says version 1 or 2)
 *   "grove-node-public-key-v1" payload: 32-byte public key (grove keygen)
 *   "grove-revocation-list-v1" payload: a revocation list (revoke.h)
 * Files are at most GROVE_KEYFILE_BYTES_MAX bytes.
 *
 * Secret key files are created with O_CREAT|O_EXCL, mode 0600 (never
 * overwritten); loading one that is group- or world-accessible fails with
 * GROVE_EPERM before any byte is read.  Public files are created 0644, also
 * never overwritten (GROVE_EEXISTS).  Writes are fsynced.  Secrets read into
 * memory are wiped (sodium_memzero) on every path.
 *
 * The conventional data-directory names are GROVE_KEYFILE_NODE_KEY,
 * GROVE_KEYFILE_NODE_CERT and GROVE_KEYFILE_CA_PUB; CA directories hold
 * GROVE_KEYFILE_CA_KEY and GROVE_KEYFILE_CA_PUB.
 */
#ifndef GROVE_KEYFILE_H
#define GROVE_KEYFILE_H

#include <stdint.h>

#include "gossip/secure/cert.h"
#include "gossip/secure/identity.h"
#include "gossip/secure/revoke.h"

#define GROVE_KEYFILE_BYTES_MAX 2048
#define GROVE_KEYFILE_CA_KEY "ca.key"
#define GROVE_KEYFILE_CA_PUB "ca.pub"
#define GROVE_KEYFILE_NODE_KEY "node.key"
#define GROVE_KEYFILE_NODE_CERT "node.crt"
#define GROVE_KEYFILE_NODE_PUB "node.pub"
#define GROVE_KEYFILE_CRL "revoked.crl"

/* CA key pair: the secret file holds the seed; sk is libsodium's 64 bytes. */
int grove_keyfile_write_ca_secret(const char *path, const uint8_t sk[GROVE_SIGN_SECRET_BYTES]) GROVE_MUST_CHECK;
int grove_keyfile_read_ca_secret(const char *path, uint8_t sk[GROVE_SIGN_SECRET_BYTES]) GROVE_MUST_CHECK;
int grove_keyfile_write_ca_public(const char *path, const uint8_t pk[GROVE_SIGN_PUBLIC_BYTES]) GROVE_MUST_CHECK;
int grove_keyfile_read_ca_public(const char *path, uint8_t pk[GROVE_SIGN_PUBLIC_BYTES]) GROVE_MUST_CHECK;

/* Node secret key (seed on disk, 64-byte sk in memory). */
int grove_keyfile_write_node_secret(const char *path, const uint8_t sk[GROVE_SIGN_SECRET_BYTES]) GROVE_MUST_CHECK;
int grove_keyfile_read_node_secret(const char *path, uint8_t sk[GROVE_SIGN_SECRET_BYTES]) GROVE_MUST_CHECK;

/* Node certificate (syntax only on read; trust is checked by identity init). */
int grove_keyfile_write_cert(const char *path, const grove_cert_t *cert) GROVE_MUST_CHECK;
int grove_keyfile_read_cert(const char *path, grove_cert_t *cert) GROVE_MUST_CHECK;

/* Replace path's certificate (renewal): written to path.tmp, fsynced, then
 * renamed over path, so a reader sees the old or the new one whole. */
int grove_keyfile_replace_cert(const char *path, const grove_cert_t *cert) GROVE_MUST_CHECK;

/* Node public key (grove keygen writes it beside node.key; the CA signs it
 * with grove cert --pubkey). */
int grove_keyfile_write_node_public(const char *path, const uint8_t pk[GROVE_SIGN_PUBLIC_BYTES]) GROVE_MUST_CHECK;
int grove_keyfile_read_node_public(const char *path, uint8_t pk[GROVE_SIGN_PUBLIC_BYTES]) GROVE_MUST_CHECK;

/* Revocation list (syntax only on read; the CA signature is checked by the
 * peer book).  Write replaces path as replace_cert does. */
int grove_keyfile_write_crl(const char *path, const grove_crl_t *crl) GROVE_MUST_CHECK;
int grove_keyfile_read_crl(const char *path, grove_crl_t *crl) GROVE_MUST_CHECK;

/* Load DIR/node.key, DIR/node.crt and DIR/ca.pub into *id (see
 * grove_identity_init for the checks made at now_ms).  On failure *bad_file
 * (may be NULL) names the file at fault (one of the GROVE_KEYFILE_* names;
 * a certificate that does not match the key or the CA names node.crt). */
int grove_keyfile_load_identity(const char *dir, uint64_t now_ms, grove_identity_t *id,
				const char **bad_file) GROVE_MUST_CHECK;

/* A sentence for an error from this module, with the fix where there is one
 * (GROVE_EPERM: "secret key file is readable by group or others, or not
 * readable by us: chmod 600 it").  Static string, never NULL. */
const char *grove_keyfile_strerror(int code);

#endif
