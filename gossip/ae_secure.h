/*
 * ae_secure.h - binds the anti-entropy core's security hooks
 * (grove_ae_security_t) to the signed datagram envelope and the peer book
 * (gossip/secure/envelope.h, gossip/secure/peerbook.h), as gossip/member_secure.h does for
 * membership.
 *
 * Outbound DIGEST and PUSH payloads are sealed as envelopes of kind
 * GROVE_AE_ENVELOPE_KIND, signed with the node key and numbered by the
 * node's one grove_sender_t (shared with membership: one sequence space per
 * node).  By default no certificate is attached: anti-entropy talks only to
 * alive members, whose certificates the book learned from membership.
 * Inbound datagrams are opened through the book (size, syntax, recipient,
 * sender certificate, expiry, replay window, then signature); refusals are
 * counted there by reason, and envelopes of another kind are refused here
 * (wrong_kind).  The node layer dispatches each received datagram on its
 * envelope kind (byte 3, doc/wire_format.md) to exactly one layer, so no
 * datagram is opened twice (a second open would be a replay).
 *
 * The struct is caller-owned and borrows the sender and the book, which must
 * outlive the grove_ae_t using the hooks.  Not thread-safe.
 */
#ifndef GROVE_AE_SECURE_H
#define GROVE_AE_SECURE_H

#include <stdbool.h>

#include "gossip/ae/antientropy.h"
#include "gossip/secure/envelope.h"
#include "gossip/secure/peerbook.h"

typedef struct grove_ae_secure {
	grove_sender_t *sender;  /* borrowed */
	grove_peerbook_t *book;  /* borrowed */
	bool attach_cert;        /* default false */
	grove_envelope_t env;    /* the last opened envelope */
	grove_drop_t last_drop;  /* why the last refused datagram was dropped */
	uint64_t wrong_kind;     /* valid envelopes of another layer's kind */
} grove_ae_secure_t;

void grove_ae_secure_init(grove_ae_secure_t *s, grove_sender_t *sender, grove_peerbook_t *book);

/* Fills cfg->security (hooks and worst-case overhead) and sets
 * cfg->datagram_bytes_max to GROVE_DATAGRAM_MAX.  cfg keeps a pointer to s. */
void grove_ae_secure_config(grove_ae_secure_t *s, grove_ae_config_t *cfg);

#endif
