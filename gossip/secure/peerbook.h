/*
 * peerbook.h - what a receiver knows about its peers: their CA-verified
 * certificates, a replay window per sender, and drop counters by reason.
 *
 * The book is the receiving half of the authenticated-datagram layer
 * (gossip/secure/envelope.h): grove_envelope_open looks the sender up here, checks
 * and advances its replay window, and learns certificates that datagrams
 * carry.  Certificates also arrive through push-pull and stream sessions
 * (grove_peerbook_add).  Entries live in an open-addressing hash table of
 * bounded size (peers_max), keyed by node id; lookups are O(1).
 *
 * Superseding: of two CA-valid certificates for one node id, the one
 * issued later (grove_cert_order: issue time, then expiry) supersedes the
 * other: with the same key it is a renewal, with another key a rotation
 * (the replay window starts afresh).  A certificate older than the cached
 * one is refused (GROVE_DROP_SUPERSEDED).  Certificates with the same issue
 * time (two v1 certificates, or one CA run issuing twice in a millisecond)
 * and different keys are an identity conflict, a configuration error: the
 * first one known stays; the other is refused, counted (stats.conflicts and
 * per id) and reported through on_conflict with both certificates, unless
 * the cached one has expired (then it is replaced).
 *
 * Revocation: the book holds the cluster's revocation list
 * (gossip/secure/revoke.h); a certificate whose key it names is refused
 * (GROVE_DROP_REVOKED), cached or attached.
 *
 * Refusals: every datagram refused for its sender's certificate (unknown,
 * untrusted, expired, revoked, superseded, conflicting) is reported through
 * on_refuse with the claimed sender id, at most once per sender and reason
 * per GROVE_PEERBOOK_REPORT_MS, and at most GROVE_PEERBOOK_REPORTS_MAX
 * reports per GROVE_PEERBOOK_REPORT_MS in all (the datagram was not
 * authenticated yet, so the id is a claim: the limit keeps forged ids from
 * flooding the log; the stats still count every drop).
 *
 * Replay window: per sender, the highest (epoch, seq) accepted and a 64-bit
 * bitmap of the sequence numbers just below it.  A newer epoch resets the
 * window; an older epoch, a seen sequence number, or one 64 or more below
 * the highest is a replay.  Senders must persist their epoch and raise it at
 * every start (the sequence number restarts at 0).  A receiver that has
 * never heard from a sender (or restarted) accepts any epoch first.
 *
 * Ownership: the book is opaque (create/destroy).  It borrows cfg->self,
 * which must outlive it.  Certificates returned by find are borrowed and
 * stay valid until the next call that changes the book (add, remove, open).
 * Not thread-safe: one owner (the protocol core) calls it.
 */
#ifndef GROVE_PEERBOOK_H
#define GROVE_PEERBOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip/secure/cert.h"
#include "gossip/secure/identity.h"
#include "gossip/secure/revoke.h"

#define GROVE_PEERBOOK_PEERS_DEFAULT 4096
#define GROVE_PEERBOOK_PEERS_MAX 65536
#define GROVE_REPLAY_WINDOW 64 /* sequence numbers remembered below the highest */
#define GROVE_PEERBOOK_REPORT_MS 60000 /* one refusal report per sender and reason per minute */
#define GROVE_PEERBOOK_REPORTS_MAX 32  /* refusal reports per GROVE_PEERBOOK_REPORT_MS in all */

/* Why a datagram was dropped.  Every drop is counted by one reason. */
typedef enum grove_drop {
	GROVE_DROP_NONE = 0,      /* accepted */
	GROVE_DROP_OVERSIZE,      /* longer than GROVE_DATAGRAM_MAX */
	GROVE_DROP_MALFORMED,     /* truncated, bad lengths, bad id, trailing bytes */
	GROVE_DROP_VERSION,       /* bad magic or unsupported version */
	GROVE_DROP_MISDIRECTED,   /* addressed to another node id */
	GROVE_DROP_SELF,          /* claims to come from this node (same key) */
	GROVE_DROP_UNKNOWN_SENDER,/* no cached certificate and none attached */
	GROVE_DROP_UNTRUSTED,     /* attached certificate from another CA */
	GROVE_DROP_EXPIRED,       /* sender certificate expired */
	GROVE_DROP_BADSIG,        /* datagram or certificate signature invalid */
	GROVE_DROP_REPLAY,        /* sequence seen, too old, or stale epoch */
	GROVE_DROP_ID_CONFLICT,   /* valid certificate, other key, same node id */
	GROVE_DROP_BOOK_FULL,     /* new sender but the book holds peers_max */
	GROVE_DROP_SUPERSEDED,    /* certificate older than the cached one */
	GROVE_DROP_REVOKED,       /* certificate key in the revocation list */
	GROVE_DROP_COUNT
} grove_drop_t;

typedef struct grove_drop_stats {
	uint64_t accepted;
	uint64_t dropped[GROVE_DROP_COUNT]; /* [GROVE_DROP_NONE] stays 0 */
	uint64_t certs_learned;             /* new peers added (datagram or add) */
	uint64_t certs_renewed;             /* renewals and rotations */
	uint64_t conflicts;                 /* id conflicts seen (datagram or add) */
} grove_drop_stats_t;

/* Static name of a reason ("bad_signature"); never NULL. */
const char *grove_drop_name(grove_drop_t reason);
/* The error code a drop reason maps to (GROVE_EBADSIG, GROVE_EREPLAY...). */
int grove_drop_code(grove_drop_t reason);

/* Called once per conflicting claim: `known` is the cached certificate,
 * `claimed` the refused one.  Both are borrowed for the call only. */
typedef void (*grove_conflict_fn)(void *ctx, const grove_cert_t *known, const grove_cert_t *claimed);

/* A datagram or stream of `from` refused for its certificate: reason, and
 * the certificate at fault (attached or cached; NULL for unknown_sender).
 * Rate-limited (see the header comment).  Borrowed for the call only. */
typedef void (*grove_refuse_fn)(void *ctx, const char *from, grove_drop_t reason, const grove_cert_t *cert);

typedef struct grove_peerbook_config {
	const grove_identity_t *self; /* borrowed; own id and CA key */
	size_t peers_max;             /* 0 = GROVE_PEERBOOK_PEERS_DEFAULT */
	grove_conflict_fn on_conflict;/* may be NULL */
	void *conflict_ctx;
	grove_refuse_fn on_refuse;    /* may be NULL; ctx is conflict_ctx */
} grove_peerbook_config_t;

typedef struct grove_peerbook grove_peerbook_t;

int grove_peerbook_create(const grove_peerbook_config_t *cfg, grove_peerbook_t **out) GROVE_MUST_CHECK;
void grove_peerbook_destroy(grove_peerbook_t *book); /* NULL is a no-op */

/* Add or refresh a certificate learned out of band (push-pull, session).
 * Verified against the CA at now_ms first (GROVE_EUNTRUSTED, GROVE_EEXPIRED,
 * GROVE_EBADSIG).  0 when added, already known, renewed or rotated;
 * GROVE_ECONFLICT (counted, reported) for another key under a known id or
 * under the book's own id; GROVE_ESUPERSEDED when older than the one held;
 * GROVE_EREVOKED when its key is revoked; GROVE_EFULL when peers_max are
 * held. */
int grove_peerbook_add(grove_peerbook_t *book, const grove_cert_t *cert, uint64_t now_ms) GROVE_MUST_CHECK;

/* The verified peer certificate of a stream session: as
 * grove_peerbook_add, except a certificate for the book's own id (this
 * process reached at another address, or another instance of this node,
 * which membership tells apart by instance nonce) is only checked against
 * the revocation list (GROVE_EREVOKED) and never enters the book. */
int grove_peerbook_add_session(grove_peerbook_t *book, const grove_cert_t *cert, uint64_t now_ms) GROVE_MUST_CHECK;

/* Report a refusal of `from` for reason (streams: the node layer calls it
 * when a session's certificate is refused), rate-limited as datagrams are. */
void grove_peerbook_report(grove_peerbook_t *book, const char *from, grove_drop_t reason,
			   const grove_cert_t *cert, uint64_t now_ms);

/* Smallest expiry among the cached certificates (UINT64_MAX when none);
 * *id (may be NULL) gets that peer's id.  O(peers_max). */
uint64_t grove_peerbook_nearest_expiry(const grove_peerbook_t *book, char id[GROVE_NODE_ID_MAX + 1]);

/* Install a revocation list when it verifies against the CA and is newer
 * than the one held: 1 installed, 0 not newer (nothing changed),
 * GROVE_EUNTRUSTED / GROVE_EBADSIG, GROVE_ENOMEM.  Cached certificates whose
 * key it names are refused from then on.  O(peers_max). */
int grove_peerbook_set_crl(grove_peerbook_t *book, const grove_crl_t *crl) GROVE_MUST_CHECK;

/* The revocation list held, or NULL.  Borrowed until the next set_crl. */
const grove_crl_t *grove_peerbook_crl(const grove_peerbook_t *book);

/* Cached certificate of node_id, or NULL.  Borrowed (see header comment). */
const grove_cert_t *grove_peerbook_find(const grove_peerbook_t *book, const char *node_id);

/* Forget a peer (certificate and replay window).  GROVE_ENOTFOUND if absent. */
int grove_peerbook_remove(grove_peerbook_t *book, const char *node_id);

size_t grove_peerbook_count(const grove_peerbook_t *book);

/* Number of conflicting claims seen for node_id (0 if none or unknown). */
uint64_t grove_peerbook_conflicts(const grove_peerbook_t *book, const char *node_id);

/* Calls fn for every cached certificate, in table order.  The book must not
 * be changed from inside fn.  O(peers_max). */
void grove_peerbook_foreach(const grove_peerbook_t *book,
			    void (*fn)(void *ctx, const grove_cert_t *cert), void *ctx);

const grove_drop_stats_t *grove_peerbook_stats(const grove_peerbook_t *book);

/* ---- replay window (pure; exposed for tests and envelope.c) ---- */

typedef struct grove_replay {
	bool primed;      /* false until the first accepted datagram */
	uint64_t epoch;
	uint64_t max_seq; /* highest sequence accepted in epoch */
	uint64_t seen;    /* bit i set: max_seq - i was accepted (bit 0 = max_seq) */
} grove_replay_t;

/* 0 when (epoch, seq) would be fresh, GROVE_EREPLAY otherwise.  Pure. */
int grove_replay_check(const grove_replay_t *r, uint64_t epoch, uint64_t seq);
/* Record (epoch, seq) as seen; precondition: grove_replay_check passed. */
void grove_replay_mark(grove_replay_t *r, uint64_t epoch, uint64_t seq);

#endif
