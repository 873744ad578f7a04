/*
 * resp_client.h - a small blocking RESP2 client for the grove CLI: connect
 * to a node, send one command, read one reply tree.
 *
 * Replies are parsed with bounds (GROVE_RC_DEPTH_MAX nesting,
 * GROVE_RC_ELEMENTS_MAX elements per array, GROVE_RC_BULK_MAX bytes per
 * bulk), so a misbehaving server gets an error, not a crash.  Sockets have
 * a receive and send timeout (GROVE_RC_TIMEOUT_MS).
 *
 * TLS (grove_rc_connect_tls) runs OpenSSL over the same blocking socket.
 *
 * Ownership: grove_rc_command returns a reply tree allocated with
 * grove_malloc; free it with grove_rc_reply_free.
 */
#ifndef GROVE_RESP_CLIENT_H
#define GROVE_RESP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "grove/error.h"

#define GROVE_RC_DEPTH_MAX 8
#define GROVE_RC_ELEMENTS_MAX (1u << 24)
#define GROVE_RC_BULK_MAX (512u * 1024 * 1024)
#define GROVE_RC_TIMEOUT_MS 10000
#define GROVE_RC_NODE_DEFAULT "127.0.0.1:7379"

typedef enum grove_rc_type {
	GROVE_RC_STATUS = '+',
	GROVE_RC_ERROR = '-',
	GROVE_RC_INTEGER = ':',
	GROVE_RC_BULK = '$',
	GROVE_RC_NIL = 'n',
	GROVE_RC_ARRAY = '*',
} grove_rc_type_t;

typedef struct grove_rc_reply {
	grove_rc_type_t type;
	long long integer;
	char *str; /* STATUS, ERROR, BULK: NUL-terminated, len bytes */
	size_t len;
	struct grove_rc_reply **elements;
	size_t count;
} grove_rc_reply_t;

/* TLS to a node's --tls-port (groved's --tls-* options, redis-cli's
 * --tls --cacert --cert --key).  The server certificate must chain to
 * ca_file (NULL: the system's trust store) and name the host connected to
 * (DNS name or IP address in its subjectAltName); cert_file and key_file
 * (PEM) are the client certificate, for a node that requires one. */
typedef struct grove_rc_tls {
	bool on;
	const char *ca_file;
	const char *cert_file;
	const char *key_file;
} grove_rc_tls_t;

typedef struct grove_rc {
	int fd;
	void *ssl_ctx; /* SSL_CTX *, SSL *: with TLS only */
	void *ssl;
	char why[160]; /* the last TLS failure's reason, "" if none */
	uint8_t buf[16384];
	size_t len, pos;
} grove_rc_t;

/* Connects to "host:port" ([v6]:port); err gets the reason on failure. */
int grove_rc_connect(grove_rc_t *rc, const char *hostport, char *err, size_t err_len) GROVE_MUST_CHECK;
/* The same over TLS when tls->on (tls may be NULL: plain); the handshake
 * completes before it returns, err names a refused one (certificate
 * verify failed, certificate required...). */
int grove_rc_connect_tls(grove_rc_t *rc, const char *hostport, const grove_rc_tls_t *tls, char *err,
			 size_t err_len) GROVE_MUST_CHECK;
void grove_rc_close(grove_rc_t *rc);
/* Sets the receive timeout of the connection (0: none; the default is
 * GROVE_RC_TIMEOUT_MS), e.g. before a WAIT that may block longer. */
int grove_rc_set_timeout(grove_rc_t *rc, uint64_t timeout_ms) GROVE_MUST_CHECK;
/* Sends argv as a multibulk request and reads the reply.  GROVE_EIO on
 * socket errors (rc->why names a TLS one, e.g. the node's alert for a
 * missing client certificate), GROVE_EPROTO on a malformed reply. */
int grove_rc_command(grove_rc_t *rc, size_t argc, const char *const *argv, const size_t *argl,
		     grove_rc_reply_t **out) GROVE_MUST_CHECK;
void grove_rc_reply_free(grove_rc_reply_t *r);
/* Prints a reply as redis-cli does without a tty: one line per element;
 * a nil prints "(nil)" (as redis-cli does on a tty: an empty line would
 * look like an empty value). */
void grove_rc_reply_print(FILE *out, const grove_rc_reply_t *r);

#endif
