/*
 * channel.h - authenticated, encrypted stream sessions (push-pull, state
 * exchange), sans-IO.
 *
 * A session turns a byte stream (TCP in node/, memory in tests) into a
 * sequence of frames, each at most GROVE_FRAME_BYTES_MAX bytes, encrypted and
 * authenticated, between two nodes that proved their certificates to each
 * other.  It opens no socket: the caller feeds received bytes in, drains the
 * bytes to send, and gets decrypted frames through a callback.
 *
 * Handshake (three records; layout in doc/wire_format.md, "Stream session"):
 *   1. initiator -> responder  HELLO_I: cert_I, ephemeral kx key e_I
 *   2. responder -> initiator  HELLO_R: cert_R, e_R, sig_R, stream header_R
 *   3. initiator -> responder  AUTH_I:  sig_I, stream header_I
 * sig_X is the Ed25519 signature by X's node key over the transcript
 *   "grove-session-v1\0" || role label ("resp" or "init") || len(id_I) || id_I
 *   || len(id_R) || id_R || e_I || e_R,
 * so it binds both identities and both fresh ephemeral keys (no replay) and
 * its role (no reflection).  Each side verifies the peer certificate against
 * its CA at now_ms, the expected peer id when given, that the peer is not
 * itself (unless own_id_ok: see the config), and the signature.  Session keys come from crypto_kx (initiator =
 * client) over the ephemeral keys; each direction is a
 * crypto_secretstream_xchacha20poly1305 stream.  The initiator may send
 * frames right after AUTH_I; the responder once AUTH_I verified.
 *
 * Records on the wire: u32 big-endian length, then that many bytes.  Frames
 * are secretstream messages (TAG_MESSAGE); grove_channel_finish sends an
 * empty TAG_FINAL record, and a stream that ends (grove_channel_eof) without
 * one is truncated (GROVE_ECLOSED).
 *
 * Errors are sticky: the first error ends the session and every later call
 * returns it.  Codes: GROVE_EPROTO (bad record or out-of-order message),
 * GROVE_EVERSION, GROVE_EDECODE, GROVE_EUNTRUSTED / GROVE_EEXPIRED (peer
 * certificate), GROVE_EBADSIG (handshake signature), GROVE_EAUTH (peer id not
 * the expected one, or a frame that fails decryption), GROVE_ECONFLICT (peer
 * claims our own id), GROVE_ETOOBIG (frame over the limit), GROVE_ECLOSED
 * (truncated stream, or use after finish), GROVE_EFULL (outbound buffer
 * over GROVE_CHANNEL_OUTBUF_MAX: drain first), GROVE_ENOMEM.
 *
 * Ownership: opaque (create/destroy); borrows `self`, which must outlive it.
 * Keys and stream states are wiped on destroy.  Not thread-safe.
 */
#ifndef GROVE_CHANNEL_H
#define GROVE_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip/secure/cert.h"
#include "gossip/secure/identity.h"

#define GROVE_FRAME_BYTES_MAX (1024u * 1024)           /* plaintext per frame */
#define GROVE_CHANNEL_OUTBUF_MAX (4u * 1024 * 1024)    /* pending outbound bytes */
#define GROVE_CHANNEL_HANDSHAKE_BYTES_MAX 512          /* one handshake record */
#define GROVE_CHANNEL_KX_SEED_BYTES 32

typedef enum grove_channel_role {
	GROVE_CHANNEL_INITIATOR = 1,
	GROVE_CHANNEL_RESPONDER = 2,
} grove_channel_role_t;

typedef struct grove_channel grove_channel_t;

/* Called for each decrypted frame; frame is borrowed for the call only.  The
 * callback may call grove_channel_send.  A negative return ends the session
 * with that code. */
typedef int (*grove_frame_fn)(void *ctx, const uint8_t *frame, size_t len);

typedef struct grove_channel_config {
	const grove_identity_t *self;  /* borrowed; outlives the session */
	grove_channel_role_t role;
	const char *expected_peer;     /* peer node id to insist on, or NULL (copied) */
	uint64_t now_ms;               /* for certificate expiry checks */
	grove_frame_fn on_frame;       /* may be NULL: frames are then dropped */
	void *frame_ctx;
	const uint8_t *kx_seed;        /* NULL: random ephemeral key; tests pass a
					  GROVE_CHANNEL_KX_SEED_BYTES seed */
	bool own_id_ok;                /* accept a peer with a valid certificate for
					  our own id (another instance of this node,
					  or this process reached at another address):
					  the caller tells them apart (membership by
					  instance nonce); false: GROVE_ECONFLICT */
} grove_channel_config_t;

/* Create a session.  An initiator's HELLO_I is queued at once (drain it with
 * grove_channel_pending). */
int grove_channel_create(const grove_channel_config_t *cfg, grove_channel_t **out) GROVE_MUST_CHECK;
void grove_channel_destroy(grove_channel_t *s); /* NULL is a no-op; wipes keys */

/* Feed received bytes (any split).  Handshake records are answered into the
 * outbound buffer; frames go to on_frame.  Consumes all of in[0..len) or
 * fails.  Buffers at most one incomplete record. */
int grove_channel_feed(grove_channel_t *s, const uint8_t *in, size_t len) GROVE_MUST_CHECK;

/* Encrypt one frame (len <= GROVE_FRAME_BYTES_MAX; len 0 allowed) into the
 * outbound buffer.  GROVE_EAGAIN before the session is established. */
int grove_channel_send(grove_channel_t *s, const uint8_t *frame, size_t len) GROVE_MUST_CHECK;

/* Queue the end-of-stream record; no more sends afterwards. */
int grove_channel_finish(grove_channel_t *s) GROVE_MUST_CHECK;

/* The transport reached end of stream.  0 when the peer had finished
 * cleanly, GROVE_ECLOSED (truncated) otherwise. */
int grove_channel_eof(grove_channel_t *s) GROVE_MUST_CHECK;

/* Outbound bytes waiting to be written: *data borrowed until the next call
 * that changes the session.  Then grove_channel_consume(s, n) for the n
 * bytes actually written. */
void grove_channel_pending(const grove_channel_t *s, const uint8_t **data, size_t *len);
void grove_channel_consume(grove_channel_t *s, size_t n);

bool grove_channel_established(const grove_channel_t *s);
bool grove_channel_peer_finished(const grove_channel_t *s);
/* 0 while healthy, else the sticky error. */
int grove_channel_error(const grove_channel_t *s);
/* The verified peer certificate once established, else NULL (borrowed). */
const grove_cert_t *grove_channel_peer_cert(const grove_channel_t *s);
/* After a failed handshake: the certificate the peer presented (decoded,
 * not trusted: for naming the peer in a log line), or NULL. */
const grove_cert_t *grove_channel_refused_cert(const grove_channel_t *s);

#endif
