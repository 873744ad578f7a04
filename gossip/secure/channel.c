/*
 * channel.c - authenticated, encrypted stream sessions (sans-IO).
 *
 * The handshake and record layouts are in doc/wire_format.md, section
 * "Stream session"; channel.h describes the protocol.  Internals: a state
 * machine (WAIT_HELLO_I / WAIT_HELLO_R / WAIT_AUTH_I / OPEN / FAILED), an
 * inbound record assembler that buffers at most one record (its length is
 * checked against the limit of the current state before anything is
 * allocated), and an outbound byte queue bounded by GROVE_CHANNEL_OUTBUF_MAX.
 * All key material lives in the session and is wiped on destroy.
 */
#include "gossip/secure/channel.h"

#include <string.h>

#include <sodium.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "base/buf.h"
#include "gossip/secure/wirebuf.h"

#define SS_HEADER_BYTES crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define SS_ABYTES crypto_secretstream_xchacha20poly1305_ABYTES
#define KX_PK_BYTES crypto_kx_PUBLICKEYBYTES
#define REC_HDR_BYTES 4
#define REC_FRAME_MAX (GROVE_FRAME_BYTES_MAX + SS_ABYTES)
#define CHANNEL_BUF_BYTES_MIN 256 /* first allocation of each buffer */
#define HS_MAGIC0 0x47 /* 'G' */
#define HS_MAGIC1 0x53 /* 'S' */
#define HS_VERSION 1
#define HS_HELLO_I 1
#define HS_HELLO_R 2
#define HS_AUTH_I 3
#define TRANSCRIPT_MAX (sizeof transcript_context + 4 + 2 * (1 + GROVE_NODE_ID_MAX) + 2 * KX_PK_BYTES)

_Static_assert(GROVE_CHANNEL_KX_SEED_BYTES == crypto_kx_SEEDBYTES, "kx seed size");
_Static_assert(crypto_kx_SESSIONKEYBYTES == crypto_secretstream_xchacha20poly1305_KEYBYTES, "key size");

static const char transcript_context[] = "grove-session-v1"; /* signed with its NUL */

enum state { ST_WAIT_HELLO_I = 1, ST_WAIT_HELLO_R, ST_WAIT_AUTH_I, ST_OPEN, ST_FAILED };

struct grove_channel {
	const grove_identity_t *self;
	grove_channel_role_t role;
	char expected_peer[GROVE_NODE_ID_MAX + 1]; /* "" = any */
	bool own_id_ok;
	uint64_t now_ms;
	grove_frame_fn on_frame;
	void *frame_ctx;
	enum state state;
	int error;
	bool finish_sent;
	bool peer_finished;
	uint8_t eph_pk[KX_PK_BYTES];
	uint8_t eph_sk[crypto_kx_SECRETKEYBYTES];
	uint8_t peer_eph_pk[KX_PK_BYTES];
	grove_cert_t peer_cert;
	uint8_t rx[crypto_kx_SESSIONKEYBYTES];
	uint8_t tx[crypto_kx_SESSIONKEYBYTES];
	crypto_secretstream_xchacha20poly1305_state push;
	crypto_secretstream_xchacha20poly1305_state pull;
	uint8_t rec_hdr[REC_HDR_BYTES]; /* inbound record assembly */
	size_t rec_hdr_have;
	uint8_t *rec;
	size_t rec_len;
	size_t rec_have;
	size_t rec_cap;
	uint8_t *plain; /* decrypted frame */
	size_t plain_cap;
	uint8_t *out; /* outbound queue: bytes [out_off, out_len) pending */
	size_t out_off;
	size_t out_len;
	size_t out_cap;
};

/* Record the first error; every later call returns it. */
static int fail(grove_channel_t *s, int code)
{
	GROVE_ASSERT(code < 0);
	if (s->error == 0)
		s->error = code;
	s->state = ST_FAILED;
	return s->error;
}

/* Reserve n bytes at the end of the outbound queue, compacting first. */
static int out_reserve(grove_channel_t *s, size_t n, uint8_t **at)
{
	if (s->out_off > 0) {
		memmove(s->out, s->out + s->out_off, s->out_len - s->out_off);
		s->out_len -= s->out_off;
		s->out_off = 0;
	}
	if (n > GROVE_CHANNEL_OUTBUF_MAX - s->out_len)
		return GROVE_EFULL;
	int rc = grove_grow((void **)&s->out, &s->out_cap, s->out_len + n, 1, CHANNEL_BUF_BYTES_MIN, 0);
	if (rc < 0)
		return rc;
	*at = s->out + s->out_len;
	return 0;
}

/* Queue one record with the given body length; *body gets where to write. */
static int out_record(grove_channel_t *s, size_t body_len, uint8_t **body)
{
	uint8_t *at;
	int rc = out_reserve(s, REC_HDR_BYTES + body_len, &at);
	if (rc < 0)
		return rc;
	grove_wbuf_t w;
	grove_wbuf_init(&w, at, REC_HDR_BYTES);
	grove_wbuf_u32(&w, (uint32_t)body_len);
	s->out_len += REC_HDR_BYTES + body_len;
	*body = at + REC_HDR_BYTES;
	return 0;
}

static int out_handshake(grove_channel_t *s, const grove_wbuf_t *w)
{
	GROVE_ASSERT(!w->overflow);
	uint8_t *body;
	int rc = out_record(s, w->len, &body);
	if (rc < 0)
		return rc;
	memcpy(body, w->buf, w->len);
	return 0;
}

/* The transcript each side signs (see channel.h). */
static size_t transcript(const grove_channel_t *s, const char *label, uint8_t *buf)
{
	bool init = s->role == GROVE_CHANNEL_INITIATOR;
	const char *id_i = init ? s->self->cert.node_id : s->peer_cert.node_id;
	const char *id_r = init ? s->peer_cert.node_id : s->self->cert.node_id;
	const uint8_t *e_i = init ? s->eph_pk : s->peer_eph_pk;
	const uint8_t *e_r = init ? s->peer_eph_pk : s->eph_pk;
	grove_wbuf_t w;
	grove_wbuf_init(&w, buf, TRANSCRIPT_MAX);
	grove_wbuf_bytes(&w, transcript_context, sizeof transcript_context);
	grove_wbuf_bytes(&w, label, 4);
	grove_wbuf_u8(&w, (uint8_t)strlen(id_i));
	grove_wbuf_bytes(&w, id_i, strlen(id_i));
	grove_wbuf_u8(&w, (uint8_t)strlen(id_r));
	grove_wbuf_bytes(&w, id_r, strlen(id_r));
	grove_wbuf_bytes(&w, e_i, KX_PK_BYTES);
	grove_wbuf_bytes(&w, e_r, KX_PK_BYTES);
	GROVE_ASSERT(!w.overflow);
	return w.len;
}

static void sign_transcript(const grove_channel_t *s, const char *label, uint8_t sig[GROVE_SIGNATURE_BYTES])
{
	uint8_t t[TRANSCRIPT_MAX];
	grove_identity_sign(s->self, sig, t, transcript(s, label, t));
}

static int verify_transcript(const grove_channel_t *s, const char *label, const uint8_t *sig)
{
	uint8_t t[TRANSCRIPT_MAX];
	size_t n = transcript(s, label, t);
	return crypto_sign_verify_detached(sig, t, n, s->peer_cert.node_pk) == 0 ? 0 : GROVE_EBADSIG;
}

static void write_hs_prefix(grove_wbuf_t *w, uint8_t type)
{
	grove_wbuf_u8(w, HS_MAGIC0);
	grove_wbuf_u8(w, HS_MAGIC1);
	grove_wbuf_u8(w, HS_VERSION);
	grove_wbuf_u8(w, type);
}

static void write_own_cert(const grove_channel_t *s, grove_wbuf_t *w)
{
	uint8_t c[GROVE_CERT_BYTES_MAX];
	size_t n;
	GROVE_ASSERT(grove_cert_encode(&s->self->cert, c, sizeof c, &n) == 0);
	grove_wbuf_u16(w, (uint16_t)n);
	grove_wbuf_bytes(w, c, n);
}

/* Read a handshake prefix; GROVE_EVERSION / GROVE_EPROTO on mismatch. */
static int read_hs_prefix(grove_rbuf_t *r, uint8_t want_type)
{
	uint8_t m0 = grove_rbuf_u8(r), m1 = grove_rbuf_u8(r);
	uint8_t version = grove_rbuf_u8(r), type = grove_rbuf_u8(r);
	if (r->bad || m0 != HS_MAGIC0 || m1 != HS_MAGIC1)
		return GROVE_EPROTO;
	if (version != HS_VERSION)
		return GROVE_EVERSION;
	return type == want_type ? 0 : GROVE_EPROTO;
}

/* Peer certificate and ephemeral key from a HELLO, then the trust checks. */
static int read_peer_hello(grove_channel_t *s, grove_rbuf_t *r)
{
	uint16_t n = grove_rbuf_u16(r);
	const uint8_t *c = grove_rbuf_take(r, n);
	grove_rbuf_copy(r, s->peer_eph_pk, KX_PK_BYTES);
	if (r->bad || grove_cert_decode(c, n, &s->peer_cert, NULL) < 0)
		return GROVE_EDECODE;
	int rc = grove_cert_verify(&s->peer_cert, s->self->ca_pk, s->now_ms);
	if (rc < 0)
		return rc;
	if (strcmp(s->peer_cert.node_id, s->self->cert.node_id) == 0 && !s->own_id_ok)
		return GROVE_ECONFLICT; /* ourselves, or another instance of us */
	if (s->expected_peer[0] != '\0' && strcmp(s->peer_cert.node_id, s->expected_peer) != 0)
		return GROVE_EAUTH;
	return 0;
}

/* Derive session keys and start our outbound stream; header goes to w. */
static int start_streams(grove_channel_t *s, grove_wbuf_t *w)
{
	int rc = s->role == GROVE_CHANNEL_INITIATOR
			 ? crypto_kx_client_session_keys(s->rx, s->tx, s->eph_pk, s->eph_sk, s->peer_eph_pk)
			 : crypto_kx_server_session_keys(s->rx, s->tx, s->eph_pk, s->eph_sk, s->peer_eph_pk);
	sodium_memzero(s->eph_sk, sizeof s->eph_sk);
	if (rc != 0)
		return GROVE_EAUTH; /* degenerate peer key */
	uint8_t header[SS_HEADER_BYTES];
	crypto_secretstream_xchacha20poly1305_init_push(&s->push, header, s->tx);
	sodium_memzero(s->tx, sizeof s->tx);
	grove_wbuf_bytes(w, header, sizeof header);
	return 0;
}

static int start_pull(grove_channel_t *s, const uint8_t *header)
{
	int rc = crypto_secretstream_xchacha20poly1305_init_pull(&s->pull, header, s->rx);
	sodium_memzero(s->rx, sizeof s->rx);
	return rc == 0 ? 0 : GROVE_EAUTH;
}

/* A HELLO record into buf (GROVE_CHANNEL_HANDSHAKE_BYTES_MAX bytes): prefix,
 * own certificate, own ephemeral key. */
static void write_hello(const grove_channel_t *s, grove_wbuf_t *w, uint8_t *buf, uint8_t type)
{
	grove_wbuf_init(w, buf, GROVE_CHANNEL_HANDSHAKE_BYTES_MAX);
	write_hs_prefix(w, type);
	write_own_cert(s, w);
	grove_wbuf_bytes(w, s->eph_pk, KX_PK_BYTES);
}

/* Our signature over the transcript with this role label. */
static void write_signature(const grove_channel_t *s, grove_wbuf_t *w, const char *label)
{
	uint8_t sig[GROVE_SIGNATURE_BYTES];
	sign_transcript(s, label, sig);
	grove_wbuf_bytes(w, sig, sizeof sig);
}

/* The end of HELLO_R and AUTH_I: the peer's transcript signature (checked
 * here) and its stream header (*header), nothing after. */
static int read_signed_tail(const grove_channel_t *s, grove_rbuf_t *r, const char *label, const uint8_t **header)
{
	const uint8_t *sig = grove_rbuf_take(r, GROVE_SIGNATURE_BYTES);
	*header = grove_rbuf_take(r, SS_HEADER_BYTES);
	if (r->bad || grove_rbuf_left(r) != 0)
		return GROVE_EPROTO;
	return verify_transcript(s, label, sig);
}

/* Start our outbound stream (its header ends w), the inbound one when the
 * peer's header is known, and queue w. */
static int finish_handshake(grove_channel_t *s, grove_wbuf_t *w, const uint8_t *peer_header)
{
	int rc = start_streams(s, w);
	if (rc == 0 && peer_header != NULL)
		rc = start_pull(s, peer_header);
	if (rc == 0)
		rc = out_handshake(s, w);
	return rc;
}

/* Responder: HELLO_I in, HELLO_R out. */
static int on_hello_i(grove_channel_t *s, grove_rbuf_t *r)
{
	int rc = read_hs_prefix(r, HS_HELLO_I);
	if (rc == 0)
		rc = read_peer_hello(s, r);
	if (rc == 0 && grove_rbuf_left(r) != 0)
		rc = GROVE_EPROTO;
	if (rc < 0)
		return rc;
	uint8_t buf[GROVE_CHANNEL_HANDSHAKE_BYTES_MAX];
	grove_wbuf_t w;
	write_hello(s, &w, buf, HS_HELLO_R);
	write_signature(s, &w, "resp");
	s->state = ST_WAIT_AUTH_I;
	return finish_handshake(s, &w, NULL);
}

/* Initiator: HELLO_R in, AUTH_I out; established. */
static int on_hello_r(grove_channel_t *s, grove_rbuf_t *r)
{
	int rc = read_hs_prefix(r, HS_HELLO_R);
	if (rc == 0)
		rc = read_peer_hello(s, r);
	if (rc < 0)
		return rc;
	const uint8_t *header;
	rc = read_signed_tail(s, r, "resp", &header);
	if (rc < 0)
		return rc;
	uint8_t buf[GROVE_CHANNEL_HANDSHAKE_BYTES_MAX];
	grove_wbuf_t w;
	grove_wbuf_init(&w, buf, sizeof buf);
	write_hs_prefix(&w, HS_AUTH_I);
	write_signature(s, &w, "init");
	s->state = ST_OPEN;
	return finish_handshake(s, &w, header);
}

/* Responder: AUTH_I in; established. */
static int on_auth_i(grove_channel_t *s, grove_rbuf_t *r)
{
	int rc = read_hs_prefix(r, HS_AUTH_I);
	if (rc < 0)
		return rc;
	const uint8_t *header;
	rc = read_signed_tail(s, r, "init", &header);
	if (rc == 0)
		rc = start_pull(s, header);
	s->state = ST_OPEN;
	return rc;
}

/* One encrypted record: a frame for on_frame, or the end of stream. */
static int on_frame_record(grove_channel_t *s)
{
	if (s->peer_finished)
		return GROVE_EPROTO; /* nothing may follow the final record */
	int rc = grove_grow((void **)&s->plain, &s->plain_cap, s->rec_len - SS_ABYTES + 1, 1,
			    CHANNEL_BUF_BYTES_MIN, 0);
	if (rc < 0)
		return rc;
	unsigned long long plain_len;
	uint8_t tag;
	if (crypto_secretstream_xchacha20poly1305_pull(&s->pull, s->plain, &plain_len, &tag, s->rec, s->rec_len,
						       NULL, 0) != 0)
		return GROVE_EAUTH;
	if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
		s->peer_finished = true;
		return plain_len == 0 ? 0 : GROVE_EPROTO;
	}
	if (tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE)
		return GROVE_EPROTO;
	return s->on_frame != NULL ? s->on_frame(s->frame_ctx, s->plain, (size_t)plain_len) : 0;
}

static int process_record(grove_channel_t *s)
{
	grove_rbuf_t r;
	grove_rbuf_init(&r, s->rec, s->rec_len);
	switch (s->state) {
	case ST_WAIT_HELLO_I: return on_hello_i(s, &r);
	case ST_WAIT_HELLO_R: return on_hello_r(s, &r);
	case ST_WAIT_AUTH_I: return on_auth_i(s, &r);
	case ST_OPEN: return on_frame_record(s);
	case ST_FAILED: break;
	}
	GROVE_ASSERT(!"record in failed session");
	return GROVE_EPROTO;
}

/* A record header is complete: check its length for the current state. */
static int begin_record(grove_channel_t *s)
{
	grove_rbuf_t r;
	grove_rbuf_init(&r, s->rec_hdr, REC_HDR_BYTES);
	size_t len = grove_rbuf_u32(&r);
	if (s->state == ST_OPEN) {
		if (len > REC_FRAME_MAX)
			return GROVE_ETOOBIG;
		if (len < SS_ABYTES)
			return GROVE_EPROTO;
	} else if (len > GROVE_CHANNEL_HANDSHAKE_BYTES_MAX || len == 0) {
		return GROVE_EPROTO;
	}
	s->rec_len = len;
	s->rec_have = 0;
	return grove_grow((void **)&s->rec, &s->rec_cap, len, 1, CHANNEL_BUF_BYTES_MIN, 0);
}

int grove_channel_feed(grove_channel_t *s, const uint8_t *in, size_t len)
{
	if (s->error != 0)
		return s->error;
	size_t pos = 0;
	while (pos < len) {
		if (s->rec_hdr_have < REC_HDR_BYTES) {
			s->rec_hdr[s->rec_hdr_have++] = in[pos++];
			if (s->rec_hdr_have < REC_HDR_BYTES)
				continue;
			int rc = begin_record(s);
			if (rc < 0)
				return fail(s, rc);
		}
		size_t take = s->rec_len - s->rec_have;
		if (take > len - pos)
			take = len - pos;
		memcpy(s->rec + s->rec_have, in + pos, take);
		s->rec_have += take;
		pos += take;
		if (s->rec_have == s->rec_len) {
			s->rec_hdr_have = 0;
			int rc = process_record(s);
			if (rc < 0)
				return fail(s, rc);
		}
	}
	return 0;
}

static int send_record(grove_channel_t *s, const uint8_t *frame, size_t len, uint8_t tag)
{
	static const uint8_t empty[1];
	uint8_t *body;
	int rc = out_record(s, len + SS_ABYTES, &body);
	if (rc < 0)
		return rc;
	crypto_secretstream_xchacha20poly1305_push(&s->push, body, NULL, len > 0 ? frame : empty, len, NULL, 0,
						   tag);
	return 0;
}

/* 0 when frames may be sent now, else why not. */
static int send_allowed(const grove_channel_t *s)
{
	if (s->error != 0)
		return s->error;
	if (s->finish_sent)
		return GROVE_ECLOSED;
	return s->state == ST_OPEN ? 0 : GROVE_EAGAIN;
}

int grove_channel_send(grove_channel_t *s, const uint8_t *frame, size_t len)
{
	int rc = send_allowed(s);
	if (rc < 0)
		return rc;
	if (len > GROVE_FRAME_BYTES_MAX)
		return GROVE_ETOOBIG;
	return send_record(s, frame, len, crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
}

int grove_channel_finish(grove_channel_t *s)
{
	int rc = send_allowed(s);
	if (rc == 0)
		rc = send_record(s, NULL, 0, crypto_secretstream_xchacha20poly1305_TAG_FINAL);
	if (rc == 0)
		s->finish_sent = true;
	return rc;
}

int grove_channel_eof(grove_channel_t *s)
{
	if (s->error != 0)
		return s->error;
	if (s->peer_finished && s->rec_hdr_have == 0)
		return 0;
	return fail(s, GROVE_ECLOSED);
}

void grove_channel_pending(const grove_channel_t *s, const uint8_t **data, size_t *len)
{
	*data = s->out + s->out_off;
	*len = s->out_len - s->out_off;
}

void grove_channel_consume(grove_channel_t *s, size_t n)
{
	GROVE_ASSERT(n <= s->out_len - s->out_off);
	s->out_off += n;
	if (s->out_off == s->out_len)
		s->out_off = s->out_len = 0;
}

bool grove_channel_established(const grove_channel_t *s)
{
	return s->state == ST_OPEN;
}

bool grove_channel_peer_finished(const grove_channel_t *s)
{
	return s->peer_finished;
}

int grove_channel_error(const grove_channel_t *s)
{
	return s->error;
}

const grove_cert_t *grove_channel_peer_cert(const grove_channel_t *s)
{
	return s->state == ST_OPEN ? &s->peer_cert : NULL;
}

const grove_cert_t *grove_channel_refused_cert(const grove_channel_t *s)
{
	return s->state == ST_FAILED && s->peer_cert.node_id[0] != '\0' ? &s->peer_cert : NULL;
}

/* Initiator: queue HELLO_I. */
static int send_hello_i(grove_channel_t *s)
{
	uint8_t buf[GROVE_CHANNEL_HANDSHAKE_BYTES_MAX];
	grove_wbuf_t w;
	write_hello(s, &w, buf, HS_HELLO_I);
	return out_handshake(s, &w);
}

static int check_config(const grove_channel_config_t *cfg)
{
	if (cfg == NULL || cfg->self == NULL)
		return GROVE_EINVAL;
	if (cfg->role != GROVE_CHANNEL_INITIATOR && cfg->role != GROVE_CHANNEL_RESPONDER)
		return GROVE_EINVAL;
	if (cfg->expected_peer != NULL &&
	    !grove_node_id_valid(cfg->expected_peer, strnlen(cfg->expected_peer, GROVE_NODE_ID_MAX + 1)))
		return GROVE_EINVAL;
	return grove_crypto_init();
}

int grove_channel_create(const grove_channel_config_t *cfg, grove_channel_t **out)
{
	int rc = check_config(cfg);
	if (rc < 0)
		return rc;
	grove_channel_t *s = grove_calloc(1, sizeof *s);
	if (s == NULL)
		return GROVE_ENOMEM;
	s->self = cfg->self;
	s->role = cfg->role;
	if (cfg->expected_peer != NULL)
		memcpy(s->expected_peer, cfg->expected_peer, strlen(cfg->expected_peer));
	s->own_id_ok = cfg->own_id_ok;
	s->now_ms = cfg->now_ms;
	s->on_frame = cfg->on_frame;
	s->frame_ctx = cfg->frame_ctx;
	if (cfg->kx_seed != NULL)
		crypto_kx_seed_keypair(s->eph_pk, s->eph_sk, cfg->kx_seed);
	else
		crypto_kx_keypair(s->eph_pk, s->eph_sk);
	s->state = cfg->role == GROVE_CHANNEL_INITIATOR ? ST_WAIT_HELLO_R : ST_WAIT_HELLO_I;
	if (cfg->role == GROVE_CHANNEL_INITIATOR && (rc = send_hello_i(s)) < 0) {
		grove_channel_destroy(s);
		return rc;
	}
	*out = s;
	return 0;
}

void grove_channel_destroy(grove_channel_t *s)
{
	if (s == NULL)
		return;
	if (s->plain != NULL)
		sodium_memzero(s->plain, s->plain_cap);
	if (s->rec != NULL)
		sodium_memzero(s->rec, s->rec_cap);
	if (s->out != NULL)
		sodium_memzero(s->out, s->out_cap);
	grove_free(s->plain);
	grove_free(s->rec);
	grove_free(s->out);
	sodium_memzero(s, sizeof *s);
	grove_free(s);
}
