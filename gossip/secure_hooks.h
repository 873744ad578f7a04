/*
 * secure_hooks.h - binds the security hooks of both sans-IO cores
 * (grove_member_security_t of gossip/member/member.h, grove_ae_security_t
 * of gossip/ae/antientropy.h) to the authenticated datagram envelope and the peer
 * book (gossip/secure/envelope.h, gossip/secure/peerbook.h).  One
 * grove_secure_hooks_t serves one core; a node has one per core, all
 * sharing the node's one grove_sender_t (one sequence space per node) and
 * one peer book.
 *
 * Outbound datagrams are sealed as envelopes of the binding's kind
 * (GROVE_MEMBER_ENVELOPE_KIND or GROVE_AE_ENVELOPE_KIND), numbered by the
 * sender.  Nothing in clear: a datagram is SEALED (encrypted and
 * authenticated for its recipient, gossip/secure/pairkey.h) whenever
 * the recipient's certificate is in the book - the recipient id is the
 * core's, or for anti-entropy (which knows addresses only) the resolver's
 * (grove_secure_hooks_set_resolver: the node maps an address to a member
 * id).  Without a recipient key only an anti-entropy DIGEST (hashes and a
 * count) goes out open (signed with the node key); anything else is not sent (counted in
 * `unsealable`), and a received unsealed datagram of any other message is
 * refused (`cleartext_refused`).  Membership attaches the node's
 * certificate by default, so a receiver that has never seen this node can
 * verify it; anti-entropy does not, as it talks only to alive members,
 * whose certificates the book learned from membership.  Inbound datagrams
 * are opened through the book (size, syntax, recipient, sender
 * certificate, expiry, replay window, then the signature); refusals are
 * counted there by reason, and envelopes of another kind are refused here
 * (wrong_kind).  The node layer dispatches each received datagram on its
 * envelope kind (byte 3, doc/wire_format.md) to exactly one core, so no
 * datagram is opened twice (a second open would be a replay).  For
 * membership, certificates found in alive updates and push-pull records
 * are checked (id and key must match the record) and added to the book.
 *
 * A membership datagram refused because its certificate is superseded by
 * a newer one for its id, and signed under that old certificate (an old
 * process still running after a key rotation), is answered by the core
 * with a notice sealed for the old key (refused_superseded, seal_refused
 * of grove_member_security_t): the old process cannot open anything
 * sealed for the new key, and would otherwise never learn it is refused.
 *
 * Membership also gossips the book's revocation list as its cluster
 * document (doc_get / doc_offer): a list that verifies and is newer than
 * the book's is installed there and spread further.
 *
 * The struct is caller-owned and borrows the sender and the book, which
 * must outlive the core using the hooks; the core's config keeps a pointer
 * to it.  Not thread-safe.
 */
#ifndef GROVE_SECURE_HOOKS_H
#define GROVE_SECURE_HOOKS_H

#include <stdbool.h>

#include "gossip/ae/antientropy.h"
#include "gossip/member/member.h"
#include "gossip/secure/envelope.h"
#include "gossip/secure/peerbook.h"

typedef struct grove_secure_hooks {
	grove_sender_t *sender;  /* borrowed */
	grove_peerbook_t *book;  /* borrowed */
	uint8_t kind;            /* envelope kind sealed and accepted */
	bool attach_cert;        /* attach own certificate to every datagram */
	uint8_t cert[GROVE_CERT_BYTES_MAX]; /* membership: own certificate, encoded */
	size_t cert_len;
	grove_envelope_t env;    /* the last opened envelope */
	grove_drop_t last_drop;  /* why the last refused datagram was dropped */
	bool refused_proven;     /* the last datagram was refused as superseded, and
				    its sender signed it under refused_cert */
	grove_cert_t refused_cert;
	uint64_t wrong_kind;     /* valid envelopes of another layer's kind */
	uint64_t unsealable;     /* outbound payloads refused: no recipient key, not a digest */
	uint64_t cleartext_refused; /* inbound unsealed payloads that had to be sealed */
	/* addr -> member id (0, id written) or negative; see set_resolver */
	int (*resolve)(void *ctx, const char *addr, char id[GROVE_NODE_ID_MAX + 1]);
	void *resolve_ctx;
} grove_secure_hooks_t;

/* kind: GROVE_MEMBER_ENVELOPE_KIND (attach_cert defaults to true) or
 * GROVE_AE_ENVELOPE_KIND (false). */
void grove_secure_hooks_init(grove_secure_hooks_t *s, grove_sender_t *sender, grove_peerbook_t *book,
			     uint8_t kind);

/* Recipient ids for datagrams the core addresses by address only
 * (anti-entropy): resolve(ctx, addr, id) writes the node id of the member
 * at addr and returns 0, or returns a negative code when none is known. */
void grove_secure_hooks_set_resolver(grove_secure_hooks_t *s,
				     int (*resolve)(void *ctx, const char *addr, char id[GROVE_NODE_ID_MAX + 1]),
				     void *ctx);

/* A resolver over a membership core (ctx = the grove_member_t *): the
 * member whose address is addr.  O(members); GROVE_ENOTFOUND. */
int grove_secure_hooks_resolve_member(void *ctx, const char *addr, char id[GROVE_NODE_ID_MAX + 1]);

/* True when a payload of this kind may travel signed-only: anti-entropy
 * DIGESTs, which carry only hashes and a key count. */
bool grove_secure_hooks_may_be_clear(uint8_t kind, const uint8_t *payload, size_t len);

/* Membership binding: fills cfg->security, cfg->key (node public key) and
 * cfg->cert (encoded certificate) from the sender's identity; cfg->id must
 * be that identity's node id (GROVE_EINVAL otherwise). */
int grove_secure_hooks_config_member(grove_secure_hooks_t *s, grove_member_config_t *cfg) GROVE_MUST_CHECK;

/* Anti-entropy binding: fills cfg->security (hooks and worst-case
 * overhead) and sets cfg->datagram_bytes_max to GROVE_DATAGRAM_MAX. */
void grove_secure_hooks_config_ae(grove_secure_hooks_t *s, grove_ae_config_t *cfg);

/* The identity the sender borrows changed in place (certificate reload):
 * re-encode the certificate membership carries, derive the pairwise
 * datagram keys again (shared by every binding of this sender), and hand key and
 * certificate to the core (grove_member_set_identity), which broadcasts
 * them.  0 or a negative code. */
int grove_secure_hooks_reload_member(grove_secure_hooks_t *s, grove_member_t *m, uint64_t now_ms) GROVE_MUST_CHECK;

#endif
