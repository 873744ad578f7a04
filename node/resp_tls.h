/*
 * resp_tls.h - TLS on the RESP client port, as Redis does it (OpenSSL).
 *
 * groved listens on --tls-port (same host as --client) besides the plain
 * port when it is set; a connection there speaks RESP inside TLS (1.2 or
 * 1.3).  Server certificate and key: --tls-cert-file (PEM, chain allowed)
 * and --tls-key-file.  Client certificates are verified against
 * --tls-ca-cert-file and, as in Redis, required by default
 * (--tls-auth-clients yes); `optional` verifies one when given, `no` never
 * asks.  A refused handshake is logged with OpenSSL's reason (WARN) and
 * the client gets the TLS alert (redis-cli prints e.g. "SSL_connect
 * failed: ... certificate required").
 *
 * The TLS engine runs on memory BIOs, so it never touches a socket: the
 * RESP server (resp_server.c) hands it the bytes read (grove_resp_tls_feed,
 * then grove_resp_tls_read for the plaintext), gives it the replies
 * (grove_resp_tls_write) and writes out what grove_resp_tls_drain returns
 * (handshake records, encrypted replies, alerts).  Everything runs on the
 * loop thread.  Cost: one AES-GCM (or ChaCha20) pass over each byte each
 * way, plus a handshake (an ECDHE and a signature) per connection.
 *
 * Ownership: grove_resp_tls_t (one per server, from the configuration) and
 * grove_resp_tls_conn_t (one per TLS client) are opaque, create/destroy
 * pairs; destroy(NULL) is a no-op.
 */
#ifndef GROVE_RESP_TLS_H
#define GROVE_RESP_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "node/config.h"

#define GROVE_TLS_READ_BYTES 16384 /* ciphertext read at once: one TLS record */

typedef struct grove_resp_tls grove_resp_tls_t;
typedef struct grove_resp_tls_conn grove_resp_tls_conn_t;

/* Loads the certificate, key and CA of cfg.  GROVE_ECONFIG with a message
 * naming the flag, the file and OpenSSL's reason in err. */
int grove_resp_tls_create(const grove_config_t *cfg, grove_resp_tls_t **out, char *err,
			  size_t elen) GROVE_MUST_CHECK;
void grove_resp_tls_destroy(grove_resp_tls_t *t);
/* SIGHUP: loads cfg's certificate, key and CA files again into a new
 * context; new connections use it, open ones keep the one they started
 * with (each holds a reference).  On failure the running context stays
 * and err says why (GROVE_ECONFIG, as create).  *changed (may be NULL):
 * the server certificate differs from the one in use. */
int grove_resp_tls_reload(grove_resp_tls_t *t, const grove_config_t *cfg, bool *changed, char *err,
			  size_t elen) GROVE_MUST_CHECK;

/* A server-side connection in the accept state; NULL when out of memory. */
grove_resp_tls_conn_t *grove_resp_tls_conn_create(grove_resp_tls_t *t);
void grove_resp_tls_conn_destroy(grove_resp_tls_conn_t *c);

/* Where the next read from the socket goes (GROVE_TLS_READ_BYTES). */
uint8_t *grove_resp_tls_inbuf(grove_resp_tls_conn_t *c);

/* Hands n ciphertext bytes (read into the inbuf) to the engine, and
 * appends every plaintext byte they complete to plain.  0; GROVE_ECLOSED
 * when the client sent close_notify; GROVE_EAUTH (handshake refused: bad or
 * missing client certificate, no shared protocol) or GROVE_EPROTO (broken
 * record) with OpenSSL's reason in err.  Afterwards drain: the engine may
 * have handshake records or an alert to send. */
int grove_resp_tls_input(grove_resp_tls_conn_t *c, size_t n, grove_buf_t *plain, char *err,
			 size_t elen) GROVE_MUST_CHECK;

/* Encrypts n plaintext bytes (after the handshake).  GROVE_EPROTO. */
int grove_resp_tls_write(grove_resp_tls_conn_t *c, const uint8_t *p, size_t n) GROVE_MUST_CHECK;

/* Appends the ciphertext waiting to be sent to out; returns how many bytes. */
size_t grove_resp_tls_drain(grove_resp_tls_conn_t *c, grove_buf_t *out);

/* The handshake is complete (replies can be written). */
bool grove_resp_tls_ready(const grove_resp_tls_conn_t *c);

/* "TLSv1.3 TLS_AES_256_GCM_SHA384, client cert CN=..." for the log. */
void grove_resp_tls_describe(const grove_resp_tls_conn_t *c, char *out, size_t len);

#endif
