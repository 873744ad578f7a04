/*
 * resp_tls.c - TLS on the RESP client port over OpenSSL memory BIOs (see
 * resp_tls.h).  The SSL_CTX holds the server certificate, key and client
 * CA; each connection is an SSL object between two memory BIOs: rbio
 * takes the bytes read from the socket, wbio collects the bytes to write.
 * A reload (SIGHUP) swaps in a new context: SSL objects hold a reference
 * to theirs, so open connections go on with the old certificate.
 */
#include "node/resp_tls.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "base/assert.h"
#include "grove/alloc.h"

struct grove_resp_tls {
	SSL_CTX *ctx;
};

struct grove_resp_tls_conn {
	SSL *ssl;
	BIO *rbio, *wbio; /* owned by ssl */
	uint8_t in[GROVE_TLS_READ_BYTES];
};

/* OpenSSL's last queued reason (cleared), or fallback. */
static void ssl_reason(char *out, size_t len, const char *fallback)
{
	unsigned long e = ERR_peek_last_error();
	if (e == 0) {
		snprintf(out, len, "%s", fallback);
	} else {
		const char *r = ERR_reason_error_string(e);
		snprintf(out, len, "%s", r ? r : fallback);
	}
	ERR_clear_error();
}

static int load(SSL_CTX *ctx, const grove_config_t *cfg, char *err, size_t elen)
{
	char why[256];
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->tls_cert_file) != 1) {
		ssl_reason(why, sizeof why, "unreadable");
		snprintf(err, elen, "--tls-cert-file %s: %s", cfg->tls_cert_file, why);
		return GROVE_ECONFIG;
	}
	bool loaded = SSL_CTX_use_PrivateKey_file(ctx, cfg->tls_key_file, SSL_FILETYPE_PEM) == 1;
	if (!loaded && ERR_GET_REASON(ERR_peek_last_error()) != X509_R_KEY_VALUES_MISMATCH) {
		ssl_reason(why, sizeof why, "unreadable");
		snprintf(err, elen, "--tls-key-file %s: %s", cfg->tls_key_file, why);
		return GROVE_ECONFIG;
	}
	if (!loaded || SSL_CTX_check_private_key(ctx) != 1) {
		ssl_reason(why, sizeof why, "mismatch");
		snprintf(err, elen, "--tls-key-file %s does not match --tls-cert-file %s: %s", cfg->tls_key_file,
			 cfg->tls_cert_file, why);
		return GROVE_ECONFIG;
	}
	if (cfg->tls_ca_cert_file[0]) {
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->tls_ca_cert_file);
		if (SSL_CTX_load_verify_locations(ctx, cfg->tls_ca_cert_file, NULL) != 1 || !names) {
			ssl_reason(why, sizeof why, "no certificate in it");
			snprintf(err, elen, "--tls-ca-cert-file %s: %s", cfg->tls_ca_cert_file, why);
			if (names)
				sk_X509_NAME_pop_free(names, X509_NAME_free);
			return GROVE_ECONFIG;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
	}
	int mode = cfg->tls_auth_clients == GROVE_TLS_AUTH_YES ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
		   : cfg->tls_auth_clients == GROVE_TLS_AUTH_OPTIONAL ? SSL_VERIFY_PEER
								      : SSL_VERIFY_NONE;
	SSL_CTX_set_verify(ctx, mode, NULL);
	return 0;
}

/* A server context loaded from cfg's files, or NULL with err set. */
static SSL_CTX *context_new(const grove_config_t *cfg, int *rc, char *err, size_t elen)
{
	ERR_clear_error();
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		snprintf(err, elen, "TLS: cannot create a context");
		*rc = GROVE_ENOMEM;
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"groved", 6);
	*rc = load(ctx, cfg, err, elen);
	if (*rc < 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int grove_resp_tls_create(const grove_config_t *cfg, grove_resp_tls_t **out, char *err, size_t elen)
{
	grove_resp_tls_t *t = grove_calloc(1, sizeof(*t));
	if (!t)
		return GROVE_ENOMEM;
	int rc;
	t->ctx = context_new(cfg, &rc, err, elen);
	if (!t->ctx) {
		grove_free(t);
		return rc;
	}
	*out = t;
	return 0;
}

int grove_resp_tls_reload(grove_resp_tls_t *t, const grove_config_t *cfg, bool *changed, char *err, size_t elen)
{
	int rc;
	SSL_CTX *fresh = context_new(cfg, &rc, err, elen);
	if (!fresh)
		return rc;
	if (changed)
		*changed = X509_cmp(SSL_CTX_get0_certificate(fresh), SSL_CTX_get0_certificate(t->ctx)) != 0;
	SSL_CTX_free(t->ctx); /* open connections keep their own reference */
	t->ctx = fresh;
	return 0;
}

void grove_resp_tls_destroy(grove_resp_tls_t *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ctx);
	grove_free(t);
}

grove_resp_tls_conn_t *grove_resp_tls_conn_create(grove_resp_tls_t *t)
{
	grove_resp_tls_conn_t *c = grove_calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->ssl = SSL_new(t->ctx);
	c->rbio = BIO_new(BIO_s_mem());
	c->wbio = BIO_new(BIO_s_mem());
	if (!c->ssl || !c->rbio || !c->wbio) {
		BIO_free(c->rbio);
		BIO_free(c->wbio);
		SSL_free(c->ssl);
		grove_free(c);
		ERR_clear_error();
		return NULL;
	}
	SSL_set_bio(c->ssl, c->rbio, c->wbio);
	SSL_set_accept_state(c->ssl);
	return c;
}

void grove_resp_tls_conn_destroy(grove_resp_tls_conn_t *c)
{
	if (!c)
		return;
	SSL_free(c->ssl); /* frees both BIOs */
	grove_free(c);
}

uint8_t *grove_resp_tls_inbuf(grove_resp_tls_conn_t *c)
{
	return c->in;
}

/* Why the handshake or a record failed, with the certificate verdict. */
static int failure(grove_resp_tls_conn_t *c, int ssl_err, char *err, size_t elen)
{
	char why[256];
	ssl_reason(why, sizeof why, ssl_err == SSL_ERROR_SYSCALL ? "unexpected end of stream" : "TLS error");
	long v = SSL_get_verify_result(c->ssl);
	bool handshake = !SSL_is_init_finished(c->ssl);
	if (handshake && v != X509_V_OK)
		snprintf(err, elen, "TLS handshake refused: %s (client certificate: %s)", why,
			 X509_verify_cert_error_string(v));
	else
		snprintf(err, elen, "TLS %s: %s", handshake ? "handshake refused" : "error", why);
	return handshake ? GROVE_EAUTH : GROVE_EPROTO;
}

int grove_resp_tls_input(grove_resp_tls_conn_t *c, size_t n, grove_buf_t *plain, char *err, size_t elen)
{
	GROVE_ASSERT(n <= sizeof c->in);
	if (n > 0 && BIO_write(c->rbio, c->in, (int)n) != (int)n)
		return GROVE_ENOMEM;
	for (;;) {
		uint8_t chunk[GROVE_TLS_READ_BYTES];
		int r = SSL_read(c->ssl, chunk, sizeof chunk);
		if (r > 0) {
			grove_buf_append(plain, chunk, (size_t)r);
			continue;
		}
		int e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return 0;
		if (e == SSL_ERROR_ZERO_RETURN)
			return GROVE_ECLOSED;
		return failure(c, e, err, elen);
	}
}

int grove_resp_tls_write(grove_resp_tls_conn_t *c, const uint8_t *p, size_t n)
{
	while (n > 0) {
		int chunk = n > (1u << 30) ? 1 << 30 : (int)n;
		int w = SSL_write(c->ssl, p, chunk);
		if (w <= 0) {
			ERR_clear_error();
			return GROVE_EPROTO;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

size_t grove_resp_tls_drain(grove_resp_tls_conn_t *c, grove_buf_t *out)
{
	size_t total = 0;
	size_t pending;
	while ((pending = BIO_ctrl_pending(c->wbio)) > 0) {
		if (!grove_buf_reserve(out, pending))
			break;
		int r = BIO_read(c->wbio, out->data + out->len, (int)pending);
		if (r <= 0)
			break;
		out->len += (size_t)r;
		total += (size_t)r;
	}
	return total;
}

bool grove_resp_tls_ready(const grove_resp_tls_conn_t *c)
{
	return SSL_is_init_finished(c->ssl);
}

void grove_resp_tls_describe(const grove_resp_tls_conn_t *c, char *out, size_t len)
{
	char subject[128] = "none";
	X509 *peer = SSL_get1_peer_certificate(c->ssl);
	if (peer) {
		X509_NAME_oneline(X509_get_subject_name(peer), subject, sizeof subject);
		X509_free(peer);
	}
	snprintf(out, len, "%s %s, client certificate %s", SSL_get_version(c->ssl), SSL_get_cipher_name(c->ssl),
		 subject);
}
