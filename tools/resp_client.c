/*
 * resp_client.c - blocking RESP2 client (see resp_client.h): requests are
 * written with node/resp_codec.h's writer, replies read through a 16 KiB buffer
 * and parsed recursively with a depth bound.
 */
#include "tools/resp_client.h"

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "grove/alloc.h"
#include "node/config.h"
#include "node/resp_codec.h"

int grove_rc_connect(grove_rc_t *rc, const char *hostport, char *err, size_t elen)
{
	memset(rc, 0, sizeof(*rc));
	rc->fd = -1;
	grove_hostport_t hp;
	if (grove_hostport_parse(hostport, &hp) < 0) {
		snprintf(err, elen, "bad node address '%s' (expected HOST:PORT)", hostport);
		return GROVE_EINVAL;
	}
	char port[8];
	snprintf(port, sizeof(port), "%u", hp.port);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
	int gai = getaddrinfo(hp.host, port, &hints, &ai);
	if (gai != 0) {
		snprintf(err, elen, "%s: %s", hostport, gai_strerror(gai));
		return GROVE_EIO;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = {GROVE_RC_TIMEOUT_MS / 1000, 0};
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	}
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		snprintf(err, elen, "cannot connect to %s: %s (is groved running?)", hostport,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return GROVE_EIO;
	}
	freeaddrinfo(ai);
	rc->fd = fd;
	return 0;
}

int grove_rc_set_timeout(grove_rc_t *rc, uint64_t timeout_ms)
{
	struct timeval tv = {(time_t)(timeout_ms / 1000), (suseconds_t)(timeout_ms % 1000 * 1000)};
	if (setsockopt(rc->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0)
		return GROVE_EIO;
	return 0;
}

/* OpenSSL's reason for the last failure (queue cleared), or fallback;
 * a failed certificate check names the verify result. */
static void tls_reason(const grove_rc_t *rc, char *out, size_t len, const char *fallback)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;
	long v = rc->ssl ? SSL_get_verify_result(rc->ssl) : X509_V_OK;
	if (v != X509_V_OK)
		snprintf(out, len, "%s: %s", r ? r : "certificate verify failed", X509_verify_cert_error_string(v));
	else
		snprintf(out, len, "%s", r ? r : fallback);
	ERR_clear_error();
}

/* The context: TLS 1.2+, the CA (or the system's), the client pair. */
static int tls_context(grove_rc_t *rc, const grove_rc_tls_t *tls, char *err, size_t elen)
{
	char why[256];
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	rc->ssl_ctx = ctx;
	if (ctx == NULL) {
		snprintf(err, elen, "TLS: cannot create a context");
		return GROVE_ENOMEM;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (tls->ca_file ? SSL_CTX_load_verify_locations(ctx, tls->ca_file, NULL) != 1
			 : SSL_CTX_set_default_verify_paths(ctx) != 1) {
		tls_reason(rc, why, sizeof why, "unreadable");
		snprintf(err, elen, "--tls-ca-cert-file %s: %s", tls->ca_file ? tls->ca_file : "(system)", why);
		return GROVE_ECONFIG;
	}
	if ((tls->cert_file == NULL) != (tls->key_file == NULL)) {
		snprintf(err, elen, "--tls-cert-file and --tls-key-file go together");
		return GROVE_ECONFIG;
	}
	if (tls->cert_file && (SSL_CTX_use_certificate_chain_file(ctx, tls->cert_file) != 1 ||
			       SSL_CTX_use_PrivateKey_file(ctx, tls->key_file, SSL_FILETYPE_PEM) != 1 ||
			       SSL_CTX_check_private_key(ctx) != 1)) {
		tls_reason(rc, why, sizeof why, "unreadable or not a pair");
		snprintf(err, elen, "--tls-cert-file %s / --tls-key-file %s: %s", tls->cert_file, tls->key_file, why);
		return GROVE_ECONFIG;
	}
	return 0;
}

/* TLS handshake on the connected socket; the server must name host. */
static int tls_start(grove_rc_t *rc, const char *host, const grove_rc_tls_t *tls, char *err, size_t elen)
{
	char why[256];
	int e = tls_context(rc, tls, err, elen);
	if (e < 0)
		return e;
	SSL *ssl = SSL_new(rc->ssl_ctx);
	rc->ssl = ssl;
	unsigned char ip[16];
	bool is_ip = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
	if (ssl == NULL || SSL_set_fd(ssl, rc->fd) != 1 ||
	    (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host) != 1
		   : SSL_set_tlsext_host_name(ssl, host) != 1 || SSL_set1_host(ssl, host) != 1)) {
		snprintf(err, elen, "TLS: cannot set up the connection");
		return GROVE_ENOMEM;
	}
	if (SSL_connect(ssl) != 1) {
		tls_reason(rc, why, sizeof why, "handshake failed (is this the node's --tls-port?)");
		snprintf(err, elen, "TLS handshake with %s refused: %s", host, why);
		return GROVE_EAUTH;
	}
	return 0;
}

int grove_rc_connect_tls(grove_rc_t *rc, const char *hostport, const grove_rc_tls_t *tls, char *err, size_t elen)
{
	int e = grove_rc_connect(rc, hostport, err, elen);
	if (e < 0 || tls == NULL || !tls->on)
		return e;
	grove_hostport_t hp;
	e = grove_hostport_parse(hostport, &hp);
	if (e == 0)
		e = tls_start(rc, hp.host, tls, err, elen);
	if (e < 0)
		grove_rc_close(rc);
	return e;
}

void grove_rc_close(grove_rc_t *rc)
{
	if (rc->ssl) {
		SSL_shutdown(rc->ssl);
		SSL_free(rc->ssl);
	}
	SSL_CTX_free(rc->ssl_ctx);
	rc->ssl = rc->ssl_ctx = NULL;
	if (rc->fd >= 0)
		close(rc->fd);
	rc->fd = -1;
}

void grove_rc_reply_free(grove_rc_reply_t *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->count; i++)
		grove_rc_reply_free(r->elements[i]);
	grove_free(r->elements);
	grove_free(r->str);
	grove_free(r);
}

static int fill(grove_rc_t *rc)
{
	if (rc->pos == rc->len)
		rc->pos = rc->len = 0;
	if (rc->len == sizeof(rc->buf)) {
		memmove(rc->buf, rc->buf + rc->pos, rc->len - rc->pos);
		rc->len -= rc->pos;
		rc->pos = 0;
	}
	size_t room = sizeof(rc->buf) - rc->len;
	ssize_t n = rc->ssl ? (ssize_t)SSL_read(rc->ssl, rc->buf + rc->len, (int)room)
			    : recv(rc->fd, rc->buf + rc->len, room, 0);
	if (n <= 0 && rc->ssl)
		tls_reason(rc, rc->why, sizeof rc->why, "connection closed");
	if (n <= 0)
		return GROVE_EIO;
	rc->len += (size_t)n;
	return 0;
}

/* Reads n raw bytes into dst. */
static int read_bytes(grove_rc_t *rc, char *dst, size_t n)
{
	while (n > 0) {
		if (rc->pos == rc->len && fill(rc) < 0)
			return GROVE_EIO;
		size_t k = rc->len - rc->pos < n ? rc->len - rc->pos : n;
		memcpy(dst, rc->buf + rc->pos, k);
		rc->pos += k;
		dst += k;
		n -= k;
	}
	return 0;
}

/* Reads one CRLF-terminated line (without CRLF) of at most cap-1 bytes. */
static int read_line(grove_rc_t *rc, char *line, size_t cap)
{
	size_t n = 0;
	for (;;) {
		if (rc->pos == rc->len && fill(rc) < 0)
			return GROVE_EIO;
		char c = (char)rc->buf[rc->pos++];
		if (c == '\n') {
			if (n == 0 || line[n - 1] != '\r')
				return GROVE_EPROTO;
			line[n - 1] = 0;
			return 0;
		}
		if (n + 1 >= cap)
			return GROVE_EPROTO;
		line[n++] = c;
	}
}

static int read_reply(grove_rc_t *rc, unsigned depth, grove_rc_reply_t **out);

/* Fills r as a bulk string of length n (read with its CRLF). */
static int read_bulk(grove_rc_t *rc, grove_rc_reply_t *r, long long n)
{
	if (n < 0) {
		r->type = GROVE_RC_NIL;
		return 0;
	}
	if ((unsigned long long)n > GROVE_RC_BULK_MAX || !(r->str = grove_malloc((size_t)n + 3)))
		return GROVE_EPROTO;
	r->len = (size_t)n;
	int err = read_bytes(rc, r->str, (size_t)n + 2);
	if (err < 0)
		return err;
	if (r->str[n] != '\r' || r->str[n + 1] != '\n')
		return GROVE_EPROTO;
	r->str[n] = 0;
	return 0;
}

static int read_array(grove_rc_t *rc, grove_rc_reply_t *r, long long n, unsigned depth)
{
	if (n < 0) {
		r->type = GROVE_RC_NIL;
		return 0;
	}
	if ((unsigned long long)n > GROVE_RC_ELEMENTS_MAX || depth >= GROVE_RC_DEPTH_MAX)
		return GROVE_EPROTO;
	r->elements = grove_calloc((size_t)n ? (size_t)n : 1, sizeof(*r->elements));
	if (!r->elements)
		return GROVE_ENOMEM;
	for (; r->count < (size_t)n; r->count++) {
		int err = read_reply(rc, depth + 1, &r->elements[r->count]);
		if (err < 0)
			return err;
	}
	return 0;
}

static int read_reply(grove_rc_t *rc, unsigned depth, grove_rc_reply_t **out)
{
	char line[256];
	int err = read_line(rc, line, sizeof(line));
	if (err < 0)
		return err;
	grove_rc_reply_t *r = grove_calloc(1, sizeof(*r));
	if (!r)
		return GROVE_ENOMEM;
	r->type = (grove_rc_type_t)line[0];
	char *end;
	long long n = strtoll(line + 1, &end, 10);
	switch (line[0]) {
	case '+':
	case '-':
		r->len = strlen(line + 1);
		r->str = grove_malloc(r->len + 1);
		err = r->str ? (memcpy(r->str, line + 1, r->len + 1), 0) : GROVE_ENOMEM;
		break;
	case ':':
		r->integer = n;
		err = *end || end == line + 1 ? GROVE_EPROTO : 0;
		break;
	case '$':
		err = *end || end == line + 1 ? GROVE_EPROTO : read_bulk(rc, r, n);
		break;
	case '*':
		err = *end || end == line + 1 ? GROVE_EPROTO : read_array(rc, r, n, depth);
		break;
	default:
		err = GROVE_EPROTO;
	}
	if (err < 0) {
		grove_rc_reply_free(r);
		return err;
	}
	*out = r;
	return 0;
}

int grove_rc_command(grove_rc_t *rc, size_t argc, const char *const *argv, const size_t *argl,
		     grove_rc_reply_t **out)
{
	grove_buf_t req;
	grove_buf_init(&req, 0);
	grove_resp_array(&req, argc);
	for (size_t i = 0; i < argc; i++)
		grove_resp_bulk(&req, argv[i], argl ? argl[i] : strlen(argv[i]));
	int err = grove_buf_failed(&req) ? GROVE_ENOMEM : 0;
	for (size_t off = 0; err == 0 && off < req.len;) {
		size_t left = req.len - off;
		ssize_t n = rc->ssl ? (ssize_t)SSL_write(rc->ssl, req.data + off, left > INT_MAX ? INT_MAX : (int)left)
				    : send(rc->fd, req.data + off, left, MSG_NOSIGNAL);
		if (n <= 0)
			err = GROVE_EIO;
		else
			off += (size_t)n;
	}
	grove_buf_close(&req);
	return err < 0 ? err : read_reply(rc, 0, out);
}

static void print_indented(FILE *out, const grove_rc_reply_t *r)
{
	switch (r->type) {
	case GROVE_RC_INTEGER:
		fprintf(out, "%lld\n", r->integer);
		break;
	case GROVE_RC_NIL:
		fputs("(nil)\n", out);
		break;
	case GROVE_RC_ARRAY:
		for (size_t i = 0; i < r->count; i++)
			print_indented(out, r->elements[i]);
		break;
	default:
		fwrite(r->str, 1, r->len, out);
		fputc('\n', out);
	}
}

void grove_rc_reply_print(FILE *out, const grove_rc_reply_t *r)
{
	print_indented(out, r);
}
