/*
 * codec.h - wire codec of the membership protocol (internal to
 * gossip/member*.c, the fuzz target and the tests).
 *
 * A hand-written, bounded big-endian format, defined by the tables in
 * doc/membership.md: datagram payloads (ping, ack, ping-req, nack, gossip,
 * each followed by piggybacked updates), push-pull stream frames (member
 * records) and the persisted restart state.  Decoders validate a whole
 * message before anything is applied, so a bad byte anywhere drops the
 * datagram or frame entirely.  Decoded strings are copied into fixed
 * NUL-terminated arrays; key and cert point into the input buffer.
 */
#ifndef GROVE_MEMBER_CODEC_H
#define GROVE_MEMBER_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip/member/member.h"
#include "gossip/secure/wirebuf.h"

#define GROVE_MEMBER_WIRE_VERSION 1
#define GROVE_MEMBER_UPDATES_MAX 255 /* piggybacked updates per datagram */
#define GROVE_MEMBER_RECORDS_MAX 4096 /* records per push-pull frame */
#define GROVE_MEMBER_DOC_MAX 1024     /* bytes of a DOC datagram's document */

enum grove_member_msg_type {
	GROVE_MEMBER_MSG_PING = 1,
	GROVE_MEMBER_MSG_ACK = 2,
	GROVE_MEMBER_MSG_PING_REQ = 3,
	GROVE_MEMBER_MSG_NACK = 4,
	GROVE_MEMBER_MSG_GOSSIP = 5,
	GROVE_MEMBER_MSG_DOC = 6,   /* the cluster document (revocation list) */
	GROVE_MEMBER_MSG_PP_REQ = 16, /* push-pull frames (stream) */
	GROVE_MEMBER_MSG_PP_RESP = 17,
	GROVE_MEMBER_MSG_STREAM_PING = 18, /* probe over a stream (no records) */
	GROVE_MEMBER_MSG_STREAM_ACK = 19,
};

/* High bit of an update's kind byte: instance(8) and started_ms(8) follow
 * the certificate (alive updates and records only). */
#define GROVE_MEMBER_KIND_INSTANCE 0x80

#define GROVE_MEMBER_FRAME_JOIN 0x01
#define GROVE_MEMBER_FRAME_LAST 0x02

/* One update (datagram) or record (push-pull); kind is a grove_member_state_t. */
typedef struct grove_member_update {
	uint8_t kind;
	char id[GROVE_MEMBER_ID_MAX + 1];
	uint64_t incarnation;
	char addr[GROVE_MEMBER_ADDR_MAX + 1];   /* alive updates, records */
	char from[GROVE_MEMBER_ID_MAX + 1];     /* suspect and dead updates */
	const uint8_t *key;                     /* alive updates, records */
	size_t key_len;
	const uint8_t *cert;
	size_t cert_len;
	uint64_t instance;      /* alive updates, records: 0 = not carried */
	uint64_t started_ms;
} grove_member_update_t;

typedef struct grove_member_msg {
	uint8_t type;
	char sender[GROVE_MEMBER_ID_MAX + 1];
	uint32_t seq;                                 /* ping, ack, ping-req, nack */
	char target[GROVE_MEMBER_ID_MAX + 1];         /* ping, ping-req */
	char target_addr[GROVE_MEMBER_ADDR_MAX + 1];  /* ping-req */
	uint8_t flags;                                /* push-pull frames */
	uint32_t count;                               /* updates or records */
	const uint8_t *body;                          /* the updates or records;
							 DOC: the document */
	size_t body_len;
} grove_member_msg_t;

/* Bounded writer: a grove_wbuf_t (gossip/secure/wirebuf.h) over a caller buffer,
 * e.g. { .buf = b, .cap = sizeof b }.  Each encoder below either appends
 * whole or fails with GROVE_ETOOBIG and leaves len (and the flag) as it
 * found them, so a caller can close a full frame and retry. */
typedef grove_wbuf_t grove_member_writer_t;

/* Datagram header; the update count byte follows at the returned offset. */
int grove_member_msg_begin(grove_member_writer_t *w, const grove_member_msg_t *hdr,
			   size_t *count_off) GROVE_MUST_CHECK;
/* Push-pull frame header; the u16 record count follows at *count_off. */
int grove_member_frame_begin(grove_member_writer_t *w, const grove_member_msg_t *hdr,
			     size_t *count_off) GROVE_MUST_CHECK;
/* One update (datagram form) or record (frame form). */
int grove_member_update_encode(grove_member_writer_t *w, const grove_member_update_t *u) GROVE_MUST_CHECK;
int grove_member_record_encode(grove_member_writer_t *w, const grove_member_update_t *r) GROVE_MUST_CHECK;
/* A whole DOC datagram payload: header, u16 length, the document. */
int grove_member_doc_encode(grove_member_writer_t *w, const char *sender, const uint8_t *doc,
			    size_t len) GROVE_MUST_CHECK;
/* Raw bytes (a pre-encoded update). */
int grove_member_write_raw(grove_member_writer_t *w, const uint8_t *p, size_t n) GROVE_MUST_CHECK;

/* Whole datagram payload or frame, with every update/record validated.
 * GROVE_EDECODE / GROVE_EVERSION on bad input. */
int grove_member_msg_decode(const uint8_t *buf, size_t len, grove_member_msg_t *msg) GROVE_MUST_CHECK;

/* Iterate a validated body: *off starts at 0; 1 = filled, 0 = end. */
int grove_member_body_next(const grove_member_msg_t *msg, size_t *off, grove_member_update_t *u);

/* Persisted state: incarnation and peers. */
typedef struct grove_member_peer {
	char id[GROVE_MEMBER_ID_MAX + 1];
	char addr[GROVE_MEMBER_ADDR_MAX + 1];
} grove_member_peer_t;

int grove_member_persist_encode(grove_member_writer_t *w, uint64_t incarnation,
				const grove_member_peer_t *peers, size_t count) GROVE_MUST_CHECK;
/* peers must hold GROVE_MEMBER_PERSIST_PEERS_MAX entries.  On failure
 * *incarnation and *count are untouched but peers may have been partly
 * written (it is scratch: grove_member_restore passes a fresh array). */
int grove_member_persist_decode(const uint8_t *buf, size_t len, uint64_t *incarnation,
				grove_member_peer_t *peers, size_t *count) GROVE_MUST_CHECK;

/* Encoded size bound of one alive update, for the payload budget. */
#define GROVE_MEMBER_UPDATE_BYTES_MAX \
	(1 + 1 + GROVE_MEMBER_ID_MAX + 8 + 1 + GROVE_MEMBER_ADDR_MAX + 1 + \
	 GROVE_MEMBER_KEY_MAX + 2 + GROVE_MEMBER_CERT_MAX + 16)

#endif
