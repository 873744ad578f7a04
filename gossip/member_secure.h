/*
 * member_secure.h - binds the membership core's security hooks
 * (grove_member_security_t) to the signed datagram envelope and the peer
 * book of gossip/secure/envelope.h and gossip/secure/peerbook.h.
 *
 * Outbound datagrams are sealed as envelopes of kind
 * GROVE_MEMBER_ENVELOPE_KIND, signed with the node key, carrying epoch and
 * sequence number and (by default) the node's certificate, so a receiver
 * that has never seen this node can verify it.  Inbound datagrams are opened
 * through the peer book (size, syntax, recipient, sender certificate,
 * expiry, replay window, then the signature); a refused datagram is counted
 * there by reason and never reaches the membership decoder.  Certificates
 * found in alive updates and push-pull records are checked (id and key must
 * match the record) and added to the book.
 *
 * The struct is caller-owned and borrows the sender and the book, which must
 * outlive the grove_member_t using the hooks.  Not thread-safe.
 */
#ifndef GROVE_MEMBER_SECURE_H
#define GROVE_MEMBER_SECURE_H

#include <stdbool.h>

#include "gossip/secure/envelope.h"
#include "gossip/member/member.h"
#include "gossip/secure/peerbook.h"

typedef struct grove_member_secure {
	grove_sender_t *sender;  /* borrowed */
	grove_peerbook_t *book;  /* borrowed */
	bool attach_cert;        /* attach own certificate to every datagram */
	uint8_t cert[GROVE_CERT_BYTES_MAX]; /* own certificate, encoded */
	size_t cert_len;
	grove_envelope_t env;    /* the last opened envelope */
	grove_drop_t last_drop;  /* why the last refused datagram was dropped */
	uint64_t wrong_kind;     /* valid envelopes of another layer's kind */
} grove_member_secure_t;

/* attach_cert defaults to true. */
void grove_member_secure_init(grove_member_secure_t *s, grove_sender_t *sender, grove_peerbook_t *book);

/* Fills cfg->security, cfg->key (node public key) and cfg->cert (encoded
 * certificate) from the sender's identity; cfg->id must be that identity's
 * node id (GROVE_EINVAL otherwise).  cfg keeps pointers into s. */
int grove_member_secure_config(grove_member_secure_t *s, grove_member_config_t *cfg) GROVE_MUST_CHECK;

#endif
