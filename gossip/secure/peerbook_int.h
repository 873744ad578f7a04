/*
 * peerbook_int.h - the peer book's two-phase admission, private to gossip/
 * (used by envelope.c; not part of the public API).
 *
 * grove_peerbook__admit decides, before any datagram signature is checked,
 * which certificate a datagram must be verified against and what to do with
 * the book if it verifies (the cheap checks: self, known sender, attached
 * certificate, expiry, replay window).  The caller then verifies the
 * signature with admit->cert.node_pk and, only if it holds, calls
 * grove_peerbook__commit, which marks the sequence seen and updates the book.
 * Nothing may change the book between the two calls.
 */
#ifndef GROVE_PEERBOOK_INT_H
#define GROVE_PEERBOOK_INT_H

#include "gossip/secure/peerbook.h"

typedef enum grove_admit_action {
	GROVE_ADMIT_USE = 1, /* cached certificate, nothing to change */
	GROVE_ADMIT_LEARN,   /* new peer: insert the attached certificate */
	GROVE_ADMIT_RENEW,   /* same key, later expiry: replace */
	GROVE_ADMIT_ROTATE,  /* new key, cached one expired: replace, new window */
	GROVE_ADMIT_CONFLICT /* other key under a live id: report, drop */
} grove_admit_action_t;

typedef struct grove_admit {
	grove_admit_action_t action;
	grove_cert_t cert; /* the certificate to verify the signature against */
	size_t slot;       /* table slot of the cached entry (USE/RENEW/ROTATE/CONFLICT) */
	bool self;         /* the conflict is with the book's own id */
} grove_admit_t;

/* A datagram's place in its sender's sequence. */
typedef struct grove_stamp {
	uint64_t epoch;
	uint64_t seq;
} grove_stamp_t;

/* Phase one for a message from `from` (attached may be NULL).  stamp is the
 * datagram's (epoch, seq), or NULL for a certificate learned out of band (no
 * replay check).  GROVE_DROP_NONE and *a filled, or the drop reason.
 * Counts nothing. */
grove_drop_t grove_peerbook__admit(grove_peerbook_t *book, const char *from, const grove_cert_t *attached,
				  const grove_stamp_t *stamp, uint64_t now_ms, grove_admit_t *a);

/* Phase two, after the signature verified: mark stamp seen (when not NULL)
 * and apply the action.  GROVE_DROP_NONE, or GROVE_DROP_ID_CONFLICT for a
 * conflict (counted and reported here). */
grove_drop_t grove_peerbook__commit(grove_peerbook_t *book, const grove_admit_t *a, const grove_stamp_t *stamp);

/* The identity the book was created with (borrowed). */
const grove_identity_t *grove_peerbook_self(const grove_peerbook_t *book);

/* Count one datagram outcome in the stats. */
void grove_peerbook_note(grove_peerbook_t *book, grove_drop_t reason);

#endif
