/*
 * envelope.h - authenticated datagrams: every UDP datagram Grove sends
 * is one envelope.
 *
 * An envelope carries a message kind, the sender's node id, an optional
 * recipient node id, the sender's epoch and sequence number, optionally the
 * sender's certificate, and the payload.  An envelope addressed to a node
 * whose certificate the sender knows is SEALED: its payload is encrypted
 * and authenticated with XChaCha20-Poly1305 under the pairwise key of the
 * two nodes (gossip/secure/pairkey.h), the header as associated data, so an
 * observer sees the header (kind, ids, epoch, sequence, certificate) and
 * the sizes, never the payload, and only the two nodes can make a valid
 * tag.  Open envelopes (no recipient certificate yet) end with an Ed25519
 * signature by the sender's node key over every byte before it; they
 * remain for what may travel in clear: the layers above decide
 * (gossip/secure_hooks.h refuses anything but anti-entropy digests).
 * Version 3: sealed envelopes carry no signature (version 2 signed them
 * too, which cost a signature per recipient and a verification per
 * datagram for nothing the tag does not prove).  The layout is a table in
 * doc/wire_format.md, section "Datagram envelope"; at most
 * GROVE_DATAGRAM_MAX bytes in all.
 *
 * Sending: a grove_sender_t holds the identity, the epoch (persisted by the
 * node and raised at each start) and the next sequence number;
 * grove_envelope_seal writes one datagram into a caller buffer.
 *
 * Receiving: grove_envelope_open checks, cheapest first: size, magic and
 * version, syntax, recipient, sender known (or its attached certificate valid
 * under the CA), certificate expiry, replay window; only then the tag of a
 * sealed payload (a cached pairwise key, ~1 us per datagram) or the
 * signature of an open one (about 26k verifies/s per core).  The sequence
 * number is marked seen only after either passes.  Every drop is counted in the peer book's
 * stats by reason (gossip/secure/peerbook.h).
 *
 * Conventions: sans-IO (now_ms passed in); 0 or a negative code from
 * include/grove/error.h; payload pointers borrow from the caller's buffer.
 */
#ifndef GROVE_ENVELOPE_H
#define GROVE_ENVELOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip/secure/cert.h"
#include "gossip/secure/identity.h"
#include "gossip/output.h" /* GROVE_DATAGRAM_MAX */
#include "gossip/secure/pairkey.h"
#include "gossip/secure/peerbook.h"

#define GROVE_ENVELOPE_MAGIC0 0x47 /* 'G' */
#define GROVE_ENVELOPE_MAGIC1 0x56 /* 'V' */
#define GROVE_ENVELOPE_VERSION 3 /* 1: signed-only payloads; 2: sealed ones signed too (both refused) */
#define GROVE_ENVELOPE_FLAG_CERT 0x01 /* a certificate follows the sequence number */
#define GROVE_ENVELOPE_FLAG_SEALED 0x02 /* salt, then an encrypted payload (needs a recipient) */
#define GROVE_ENVELOPE_SALT_BYTES 8
#define GROVE_ENVELOPE_TAG_BYTES 16
/* What sealing adds to a payload: the salt and the AEAD tag. */
#define GROVE_ENVELOPE_SEAL_BYTES (GROVE_ENVELOPE_SALT_BYTES + GROVE_ENVELOPE_TAG_BYTES)
/* Smallest possible envelope: sealed, 1-byte sender and recipient ids, no
 * cert, empty plaintext.  An open (signed) one: 1-byte sender id, no
 * recipient, no cert, empty payload. */
#define GROVE_ENVELOPE_BYTES_MIN (2 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 8 + 8 + 2 + GROVE_ENVELOPE_SEAL_BYTES)
#define GROVE_ENVELOPE_OPEN_BYTES_MIN (2 + 1 + 1 + 1 + 1 + 1 + 1 + 8 + 8 + 2 + GROVE_SIGNATURE_BYTES)

/* Message kinds are defined by the layers above (membership, anti-entropy);
 * kind 0 is reserved and never valid on the wire. */

typedef struct grove_sender {
	const grove_identity_t *self; /* borrowed; must outlive the sender */
	uint64_t epoch;               /* persisted, strictly higher at each start */
	uint64_t next_seq;            /* starts at 0 for each epoch */
	uint64_t salt;                /* nonce salt: 0 after init; the node draws it at random */
	grove_pairkeys_t keys;        /* pairwise keys, for sealing and opening */
} grove_sender_t;

/* A verified datagram.  payload borrows from the buffer given to open. */
typedef struct grove_envelope {
	uint8_t kind;
	char from[GROVE_NODE_ID_MAX + 1];
	bool addressed;      /* carried a recipient id (always ours when accepted) */
	bool cert_attached;  /* the datagram carried the sender certificate */
	bool cert_learned;   /* ... and it added or refreshed the book */
	bool sealed;         /* the payload was encrypted (now decrypted into plain) */
	uint64_t epoch;
	uint64_t seq;
	const uint8_t *payload; /* into the datagram, or into plain when sealed */
	size_t payload_len;
	uint8_t plain[GROVE_DATAGRAM_MAX];
} grove_envelope_t;

/* Init/close pair; close wipes the key cache (safe on a zeroed struct). */
void grove_sender_init(grove_sender_t *s, const grove_identity_t *self, uint64_t epoch);
void grove_sender_close(grove_sender_t *s);

/* Largest payload that fits one open (signed) datagram for this sender and
 * recipient (to may be NULL or ""), with or without the certificate
 * attached; a sealed one holds more (its salt and tag take less room than
 * a signature), so this bounds both. */
size_t grove_envelope_payload_max(const grove_sender_t *s, const char *to, bool attach_cert);

/* Write one open (signed, not encrypted) datagram into out[0..cap): kind 1..255; to = recipient node id,
 * or NULL/"" when unknown (first contact with a seed); attach_cert to let a
 * receiver that does not know us yet learn our certificate.  Uses and
 * advances s->next_seq.  *out_len gets the datagram length.
 * GROVE_EINVAL (kind 0, bad recipient id), GROVE_ETOOBIG (beyond
 * GROVE_DATAGRAM_MAX or cap), GROVE_EOVERFLOW (sequence space exhausted). */
int grove_envelope_seal(grove_sender_t *s, uint8_t kind, const char *to, bool attach_cert,
			const uint8_t *payload, size_t payload_len,
			uint8_t *out, size_t cap, size_t *out_len) GROVE_MUST_CHECK;

/* As grove_envelope_seal, but SEALED for the node of to_cert (the
 * recipient id is to_cert's): the payload is encrypted and authenticated
 * under the pairwise key self -> recipient, nonce = salt || epoch || seq;
 * no signature.  GROVE_EAUTH when no
 * key can be derived from to_cert; the errors of grove_envelope_seal. */
int grove_envelope_seal_for(grove_sender_t *s, uint8_t kind, const grove_cert_t *to_cert, bool attach_cert,
			    const uint8_t *payload, size_t payload_len,
			    uint8_t *out, size_t cap, size_t *out_len) GROVE_MUST_CHECK;

/* Verify one received datagram against the book at now_ms.  0: accepted,
 * *out filled, the sequence number marked seen, a carried certificate
 * learned.  Otherwise the drop is counted in the book's stats, *reason (may
 * be NULL) says why, and the code is grove_drop_code(reason); the book's
 * certificates and windows are unchanged (except conflict counters). */
int grove_envelope_open(grove_peerbook_t *book, const uint8_t *dgram, size_t len, uint64_t now_ms,
			grove_envelope_t *out, grove_drop_t *reason) GROVE_MUST_CHECK;
/* The same with a key cache (the node's sender's): a sealed payload is
 * opened with keys->rx of the sender, derived once per peer.  A sealed
 * envelope must be addressed to this node; a payload that fails to
 * decrypt is dropped as GROVE_DROP_BADSIG (authentication failed) before
 * its sequence number is marked seen.  keys NULL: derived for this call. */
int grove_envelope_open_keyed(grove_peerbook_t *book, grove_pairkeys_t *keys, const uint8_t *dgram,
			      size_t len, uint64_t now_ms, grove_envelope_t *out,
			      grove_drop_t *reason) GROVE_MUST_CHECK;

/* A datagram the book refused for its attached certificate (a superseded
 * one, say): 0 when it is addressed to self's id (or to nobody), carries a
 * certificate valid under self's CA at now_ms, and is authenticated by that
 * certificate's key (sealed: its payload opens under the pairwise key
 * derived from it, through keys; open: its signature verifies), so its
 * sender holds that certificate's secret key; *cert then gets the
 * certificate.  GROVE_EAUTH otherwise.  One signature check or one
 * derivation and decryption; the book is not touched (the sequence number
 * is not marked). */
int grove_envelope_proven_cert(const grove_identity_t *self, grove_pairkeys_t *keys, const uint8_t *dgram,
			       size_t len, uint64_t now_ms, grove_cert_t *cert) GROVE_MUST_CHECK;

#endif
