/*
 * peerbook.c - known peer certificates, per-sender replay windows, drop
 * counters (see peerbook.h for the rules).
 *
 * The table is open addressing with linear probing and backward-shift
 * deletion, keyed by FNV-1a of the node id.  Only CA-verified certificates
 * are ever inserted, so an attacker cannot choose keys to degrade it.  It
 * starts small and doubles while the load would exceed 1/2, up to the slots
 * needed for peers_max.  Admission is two-phase (peerbook_int.h) so that a
 * datagram's signature or tag is checked only after every cheap check
 * passed, and nothing changes before it verified.
 */
#include "gossip/secure/peerbook.h"

#include <string.h>

#include <sodium.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "gossip/secure/peerbook_int.h"
#include "gossip/secure/revoke.h"

#define SLOTS_MIN 16
#define NO_SLOT ((size_t)-1)

typedef struct pb_entry {
	bool used;
	grove_cert_t cert;
	grove_replay_t replay;
	uint64_t conflicts;
	uint8_t last_conflict_pk[GROVE_SIGN_PUBLIC_BYTES]; /* last reported claim */
	bool revoked; /* cert's key is in the revocation list */
} pb_entry_t;

/* Refusal reports remembered for rate limiting: (id hash, reason) -> last
 * report time, a small direct-mapped table (a collision only lets one more
 * report through). */
#define REPORT_SLOTS 256
typedef struct pb_report {
	uint64_t key;
	uint64_t at_ms;
} pb_report_t;

struct grove_peerbook {
	const grove_identity_t *self;
	size_t peers_max;
	grove_conflict_fn on_conflict;
	grove_refuse_fn on_refuse;
	void *conflict_ctx;
	grove_crl_t *crl; /* newest verified revocation list, or NULL */
	pb_report_t reports[REPORT_SLOTS];
	uint64_t window_start_ms; /* global report budget window */
	uint32_t window_reports;
	pb_entry_t *slots;
	size_t slots_count; /* power of two */
	size_t count;
	uint64_t self_conflicts;
	uint8_t self_last_conflict_pk[GROVE_SIGN_PUBLIC_BYTES];
	grove_drop_stats_t stats;
};

static const char *const drop_names[GROVE_DROP_COUNT] = {
	[GROVE_DROP_NONE] = "accepted",
	[GROVE_DROP_OVERSIZE] = "oversize",
	[GROVE_DROP_MALFORMED] = "malformed",
	[GROVE_DROP_VERSION] = "bad_version",
	[GROVE_DROP_MISDIRECTED] = "misdirected",
	[GROVE_DROP_SELF] = "from_self",
	[GROVE_DROP_UNKNOWN_SENDER] = "unknown_sender",
	[GROVE_DROP_UNTRUSTED] = "untrusted_cert",
	[GROVE_DROP_EXPIRED] = "expired_cert",
	[GROVE_DROP_BADSIG] = "bad_signature",
	[GROVE_DROP_REPLAY] = "replay",
	[GROVE_DROP_ID_CONFLICT] = "id_conflict",
	[GROVE_DROP_BOOK_FULL] = "book_full",
	[GROVE_DROP_SUPERSEDED] = "superseded_cert",
	[GROVE_DROP_REVOKED] = "revoked_cert",
};

static const int drop_codes[GROVE_DROP_COUNT] = {
	[GROVE_DROP_NONE] = 0,
	[GROVE_DROP_OVERSIZE] = GROVE_ETOOBIG,
	[GROVE_DROP_MALFORMED] = GROVE_EDECODE,
	[GROVE_DROP_VERSION] = GROVE_EVERSION,
	[GROVE_DROP_MISDIRECTED] = GROVE_EPROTO,
	[GROVE_DROP_SELF] = GROVE_EPROTO,
	[GROVE_DROP_UNKNOWN_SENDER] = GROVE_EAUTH,
	[GROVE_DROP_UNTRUSTED] = GROVE_EUNTRUSTED,
	[GROVE_DROP_EXPIRED] = GROVE_EEXPIRED,
	[GROVE_DROP_BADSIG] = GROVE_EBADSIG,
	[GROVE_DROP_REPLAY] = GROVE_EREPLAY,
	[GROVE_DROP_ID_CONFLICT] = GROVE_ECONFLICT,
	[GROVE_DROP_BOOK_FULL] = GROVE_EFULL,
	[GROVE_DROP_SUPERSEDED] = GROVE_ESUPERSEDED,
	[GROVE_DROP_REVOKED] = GROVE_EREVOKED,
};

const char *grove_drop_name(grove_drop_t reason)
{
	return (unsigned)reason < GROVE_DROP_COUNT ? drop_names[reason] : "unknown";
}

int grove_drop_code(grove_drop_t reason)
{
	return (unsigned)reason < GROVE_DROP_COUNT ? drop_codes[reason] : GROVE_EINVAL;
}

/* ---- replay window ---- */

int grove_replay_check(const grove_replay_t *r, uint64_t epoch, uint64_t seq)
{
	if (!r->primed || epoch > r->epoch)
		return 0;
	if (epoch < r->epoch)
		return GROVE_EREPLAY;
	if (seq > r->max_seq)
		return 0;
	uint64_t back = r->max_seq - seq;
	if (back >= GROVE_REPLAY_WINDOW || (r->seen >> back) & 1)
		return GROVE_EREPLAY;
	return 0;
}

void grove_replay_mark(grove_replay_t *r, uint64_t epoch, uint64_t seq)
{
	GROVE_ASSERT(grove_replay_check(r, epoch, seq) == 0);
	if (!r->primed || epoch > r->epoch) {
		r->primed = true;
		r->epoch = epoch;
		r->max_seq = seq;
		r->seen = 1;
	} else if (seq > r->max_seq) {
		uint64_t shift = seq - r->max_seq;
		r->seen = shift >= GROVE_REPLAY_WINDOW ? 0 : r->seen << shift;
		r->seen |= 1;
		r->max_seq = seq;
	} else {
		r->seen |= (uint64_t)1 << (r->max_seq - seq);
	}
}

/* ---- table ---- */

static uint64_t id_hash(const char *id)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < GROVE_NODE_ID_MAX && id[i] != '\0'; i++) {
		h ^= (unsigned char)id[i];
		h *= 1099511628211ull;
	}
	return h;
}

static size_t find_slot(const grove_peerbook_t *b, const char *id)
{
	size_t mask = b->slots_count - 1;
	size_t i = id_hash(id) & mask;
	for (size_t probes = 0; probes < b->slots_count && b->slots[i].used; probes++) {
		if (strcmp(b->slots[i].cert.node_id, id) == 0)
			return i;
		i = (i + 1) & mask;
	}
	return NO_SLOT;
}

/* Place an entry whose id is absent; the table has a free slot. */
static size_t place(pb_entry_t *slots, size_t slots_count, const pb_entry_t *e)
{
	size_t mask = slots_count - 1;
	size_t i = id_hash(e->cert.node_id) & mask;
	for (size_t probes = 0; probes < slots_count; probes++) {
		if (!slots[i].used) {
			slots[i] = *e;
			return i;
		}
		i = (i + 1) & mask;
	}
	GROVE_ASSERT(!"peer table has no free slot");
	return NO_SLOT;
}

static size_t slots_for(size_t peers)
{
	size_t n = SLOTS_MIN;
	while (n < 2 * peers)
		n *= 2;
	return n;
}

/* Make room for one more entry (load stays <= 1/2).  0 or GROVE_ENOMEM. */
static int reserve_one(grove_peerbook_t *b)
{
	size_t want = slots_for(b->count + 1);
	if (want <= b->slots_count)
		return 0;
	pb_entry_t *fresh = grove_calloc(want, sizeof *fresh);
	if (fresh == NULL)
		return GROVE_ENOMEM;
	for (size_t i = 0; i < b->slots_count; i++)
		if (b->slots[i].used)
			place(fresh, want, &b->slots[i]);
	grove_free(b->slots);
	b->slots = fresh;
	b->slots_count = want;
	return 0;
}

int grove_peerbook_create(const grove_peerbook_config_t *cfg, grove_peerbook_t **out)
{
	GROVE_ASSERT(cfg != NULL && cfg->self != NULL);
	size_t peers_max = cfg->peers_max == 0 ? GROVE_PEERBOOK_PEERS_DEFAULT : cfg->peers_max;
	if (peers_max > GROVE_PEERBOOK_PEERS_MAX)
		return GROVE_EINVAL;
	int rc = grove_crypto_init();
	if (rc < 0)
		return rc;
	grove_peerbook_t *b = grove_calloc(1, sizeof *b);
	if (b == NULL)
		return GROVE_ENOMEM;
	b->slots = grove_calloc(SLOTS_MIN, sizeof *b->slots);
	if (b->slots == NULL) {
		grove_free(b);
		return GROVE_ENOMEM;
	}
	b->slots_count = SLOTS_MIN;
	b->self = cfg->self;
	b->peers_max = peers_max;
	b->on_conflict = cfg->on_conflict;
	b->on_refuse = cfg->on_refuse;
	b->conflict_ctx = cfg->conflict_ctx;
	*out = b;
	return 0;
}

void grove_peerbook_destroy(grove_peerbook_t *b)
{
	if (b == NULL)
		return;
	grove_free(b->slots);
	grove_free(b->crl);
	grove_free(b);
}

const grove_cert_t *grove_peerbook_find(const grove_peerbook_t *b, const char *node_id)
{
	size_t i = find_slot(b, node_id);
	return i == NO_SLOT ? NULL : &b->slots[i].cert;
}

int grove_peerbook_remove(grove_peerbook_t *b, const char *node_id)
{
	size_t i = find_slot(b, node_id);
	if (i == NO_SLOT)
		return GROVE_ENOTFOUND;
	size_t mask = b->slots_count - 1;
	size_t j = i;
	for (size_t probes = 0; probes < b->slots_count; probes++) {
		j = (j + 1) & mask;
		if (!b->slots[j].used)
			break;
		size_t home = id_hash(b->slots[j].cert.node_id) & mask;
		/* Move j back into the hole at i unless its home lies in (i, j]. */
		bool home_between = i <= j ? (home > i && home <= j) : (home > i || home <= j);
		if (!home_between) {
			b->slots[i] = b->slots[j];
			i = j;
		}
	}
	memset(&b->slots[i], 0, sizeof b->slots[i]);
	b->count--;
	return 0;
}

size_t grove_peerbook_count(const grove_peerbook_t *b)
{
	return b->count;
}

uint64_t grove_peerbook_conflicts(const grove_peerbook_t *b, const char *node_id)
{
	if (strcmp(node_id, b->self->cert.node_id) == 0)
		return b->self_conflicts;
	size_t i = find_slot(b, node_id);
	return i == NO_SLOT ? 0 : b->slots[i].conflicts;
}

void grove_peerbook_foreach(const grove_peerbook_t *b, void (*fn)(void *ctx, const grove_cert_t *cert),
			    void *ctx)
{
	for (size_t i = 0; i < b->slots_count; i++)
		if (b->slots[i].used)
			fn(ctx, &b->slots[i].cert);
}

const grove_drop_stats_t *grove_peerbook_stats(const grove_peerbook_t *b)
{
	return &b->stats;
}

const grove_identity_t *grove_peerbook_self(const grove_peerbook_t *b)
{
	return b->self;
}

void grove_peerbook_note(grove_peerbook_t *b, grove_drop_t reason)
{
	GROVE_ASSERT((unsigned)reason < GROVE_DROP_COUNT);
	if (reason == GROVE_DROP_NONE)
		b->stats.accepted++;
	else
		b->stats.dropped[reason]++;
}

/* ---- admission ---- */

static grove_drop_t drop_for_cert_error(int rc)
{
	switch (rc) {
	case GROVE_EUNTRUSTED: return GROVE_DROP_UNTRUSTED;
	case GROVE_EEXPIRED: return GROVE_DROP_EXPIRED;
	case GROVE_EBADSIG: return GROVE_DROP_BADSIG;
	default: return GROVE_DROP_MALFORMED;
	}
}

static bool same_key(const grove_cert_t *a, const grove_cert_t *b)
{
	return memcmp(a->node_pk, b->node_pk, sizeof a->node_pk) == 0;
}

/* A datagram claiming our own id: drop it, unless it carries a CA-valid
 * certificate with another key, which is an id conflict to report. */
static grove_drop_t admit_self(grove_peerbook_t *b, const grove_cert_t *attached, uint64_t now_ms,
			       grove_admit_t *a)
{
	const grove_cert_t *own = &b->self->cert;
	if (attached == NULL || same_key(attached, own))
		return GROVE_DROP_SELF;
	int rc = grove_cert_verify(attached, b->self->ca_pk, now_ms);
	if (rc < 0)
		return drop_for_cert_error(rc);
	a->action = GROVE_ADMIT_CONFLICT;
	a->cert = *attached;
	a->slot = NO_SLOT;
	a->self = true;
	return GROVE_DROP_NONE;
}

/* What a CA-valid attached certificate that differs from the cached one
 * means (see "Superseding" in peerbook.h). */
static grove_admit_action_t supersede_action(const pb_entry_t *e, const grove_cert_t *attached, uint64_t now_ms)
{
	bool same = same_key(attached, &e->cert);
	if (attached->issued_ms != e->cert.issued_ms)
		return same ? GROVE_ADMIT_RENEW : GROVE_ADMIT_ROTATE; /* newer: the caller checked */
	if (same)
		return attached->expires_ms > e->cert.expires_ms ? GROVE_ADMIT_RENEW : GROVE_ADMIT_USE;
	return now_ms >= e->cert.expires_ms ? GROVE_ADMIT_ROTATE : GROVE_ADMIT_CONFLICT;
}

static bool is_revoked(const grove_peerbook_t *b, const grove_cert_t *c)
{
	return b->crl != NULL && grove_crl_revokes(b->crl, c);
}

/* Decide what an attached certificate that differs from the cached one (or
 * teaches a new peer) means. */
static grove_drop_t admit_attached(grove_peerbook_t *b, const pb_entry_t *e, const grove_cert_t *attached,
				   uint64_t now_ms, grove_admit_t *a)
{
	if (e != NULL && attached->issued_ms < e->cert.issued_ms) {
		a->cert = *attached;
		return GROVE_DROP_SUPERSEDED; /* cheap: before any signature */
	}
	int rc = grove_cert_verify(attached, b->self->ca_pk, now_ms);
	if (rc < 0)
		return drop_for_cert_error(rc);
	a->cert = *attached;
	if (is_revoked(b, attached))
		return GROVE_DROP_REVOKED;
	if (e == NULL) {
		if (b->count >= b->peers_max || reserve_one(b) < 0)
			return GROVE_DROP_BOOK_FULL;
		a->action = GROVE_ADMIT_LEARN;
		return GROVE_DROP_NONE;
	}
	a->action = supersede_action(e, attached, now_ms);
	if (a->action == GROVE_ADMIT_USE)
		a->cert = e->cert;
	return GROVE_DROP_NONE;
}

static bool is_cert_refusal(grove_drop_t d)
{
	return d == GROVE_DROP_UNKNOWN_SENDER || d == GROVE_DROP_UNTRUSTED || d == GROVE_DROP_EXPIRED ||
	       d == GROVE_DROP_REVOKED || d == GROVE_DROP_SUPERSEDED || d == GROVE_DROP_ID_CONFLICT;
}

void grove_peerbook_report(grove_peerbook_t *b, const char *from, grove_drop_t reason, const grove_cert_t *cert,
			   uint64_t now_ms)
{
	if (b->on_refuse == NULL)
		return;
	uint64_t key = (id_hash(from) ^ (uint64_t)reason) * 1099511628211ull;
	pb_report_t *r = &b->reports[key % REPORT_SLOTS];
	if (r->key == key && r->at_ms != 0 && now_ms < r->at_ms + GROVE_PEERBOOK_REPORT_MS)
		return;
	if (now_ms >= b->window_start_ms + GROVE_PEERBOOK_REPORT_MS || now_ms < b->window_start_ms) {
		b->window_start_ms = now_ms;
		b->window_reports = 0;
	}
	if (b->window_reports >= GROVE_PEERBOOK_REPORTS_MAX)
		return;
	b->window_reports++;
	r->key = key;
	r->at_ms = now_ms == 0 ? 1 : now_ms;
	b->on_refuse(b->conflict_ctx, from, reason, cert);
}

static grove_drop_t admit_decide(grove_peerbook_t *b, const char *from, const grove_cert_t *attached,
				 const grove_stamp_t *stamp, uint64_t now_ms, grove_admit_t *a);

grove_drop_t grove_peerbook__admit(grove_peerbook_t *b, const char *from, const grove_cert_t *attached,
				  const grove_stamp_t *stamp, uint64_t now_ms, grove_admit_t *a)
{
	grove_drop_t d = admit_decide(b, from, attached, stamp, now_ms, a);
	if (is_cert_refusal(d)) {
		const grove_cert_t *c = attached;
		if (c == NULL)
			c = grove_peerbook_find(b, from);
		grove_peerbook_report(b, from, d, c, now_ms);
	}
	return d;
}

static grove_drop_t admit_decide(grove_peerbook_t *b, const char *from, const grove_cert_t *attached,
				 const grove_stamp_t *stamp, uint64_t now_ms, grove_admit_t *a)
{
	memset(a, 0, sizeof *a);
	if (strcmp(from, b->self->cert.node_id) == 0)
		return admit_self(b, attached, now_ms, a);
	GROVE_ASSERT(attached == NULL || strcmp(attached->node_id, from) == 0);
	size_t slot = find_slot(b, from);
	pb_entry_t *e = slot == NO_SLOT ? NULL : &b->slots[slot];
	a->slot = slot;
	if (attached != NULL && (e == NULL || !grove_cert_equal(&e->cert, attached))) {
		grove_drop_t d = admit_attached(b, e, attached, now_ms, a);
		if (d != GROVE_DROP_NONE)
			return d;
		a->slot = find_slot(b, from); /* reserve_one may have moved it */
	} else if (e == NULL) {
		return GROVE_DROP_UNKNOWN_SENDER;
	} else {
		a->action = GROVE_ADMIT_USE;
		a->cert = e->cert;
		if (e->revoked)
			return GROVE_DROP_REVOKED;
	}
	if (now_ms >= a->cert.expires_ms)
		return GROVE_DROP_EXPIRED;
	bool fresh_window = a->action == GROVE_ADMIT_LEARN || a->action == GROVE_ADMIT_ROTATE;
	if (stamp != NULL && a->action != GROVE_ADMIT_CONFLICT && !fresh_window &&
	    grove_replay_check(&b->slots[a->slot].replay, stamp->epoch, stamp->seq) < 0)
		return GROVE_DROP_REPLAY;
	return GROVE_DROP_NONE;
}

/* Count a conflict; call back only when this claimed key was not the last
 * one reported for the id, so a chatty impostor does not flood the log. */
static void report_conflict(grove_peerbook_t *b, const grove_cert_t *known, const grove_cert_t *claimed,
			    uint64_t *counter, uint8_t last_pk[GROVE_SIGN_PUBLIC_BYTES])
{
	(*counter)++;
	b->stats.conflicts++;
	if (memcmp(last_pk, claimed->node_pk, GROVE_SIGN_PUBLIC_BYTES) == 0)
		return;
	memcpy(last_pk, claimed->node_pk, GROVE_SIGN_PUBLIC_BYTES);
	if (b->on_conflict != NULL)
		b->on_conflict(b->conflict_ctx, known, claimed);
}

static void fresh_entry(pb_entry_t *e, const grove_cert_t *cert)
{
	memset(e, 0, sizeof *e);
	e->used = true;
	e->cert = *cert;
}

grove_drop_t grove_peerbook__commit(grove_peerbook_t *b, const grove_admit_t *a, const grove_stamp_t *stamp)
{
	if (a->action == GROVE_ADMIT_CONFLICT) {
		if (a->self)
			report_conflict(b, &b->self->cert, &a->cert, &b->self_conflicts, b->self_last_conflict_pk);
		else
			report_conflict(b, &b->slots[a->slot].cert, &a->cert, &b->slots[a->slot].conflicts,
					b->slots[a->slot].last_conflict_pk);
		return GROVE_DROP_ID_CONFLICT;
	}
	pb_entry_t *e;
	if (a->action == GROVE_ADMIT_LEARN) {
		pb_entry_t fresh;
		fresh_entry(&fresh, &a->cert);
		e = &b->slots[place(b->slots, b->slots_count, &fresh)];
		b->count++;
		b->stats.certs_learned++;
	} else {
		e = &b->slots[a->slot];
		if (a->action == GROVE_ADMIT_ROTATE)
			fresh_entry(e, &a->cert);
		else if (a->action == GROVE_ADMIT_RENEW)
			e->cert = a->cert;
		if (a->action != GROVE_ADMIT_USE)
			b->stats.certs_renewed++;
	}
	if (stamp != NULL)
		grove_replay_mark(&e->replay, stamp->epoch, stamp->seq);
	return GROVE_DROP_NONE;
}

int grove_peerbook_add(grove_peerbook_t *b, const grove_cert_t *cert, uint64_t now_ms)
{
	int rc = grove_cert_verify(cert, b->self->ca_pk, now_ms);
	if (rc < 0) {
		if (strcmp(cert->node_id, b->self->cert.node_id) != 0)
			grove_peerbook_report(b, cert->node_id, drop_for_cert_error(rc), cert, now_ms);
		return rc;
	}
	grove_admit_t a;
	grove_drop_t d = grove_peerbook__admit(b, cert->node_id, cert, NULL, now_ms, &a);
	if (d == GROVE_DROP_SELF)
		return 0; /* our own certificate */
	if (d == GROVE_DROP_NONE)
		d = grove_peerbook__commit(b, &a, NULL);
	return grove_drop_code(d);
}

int grove_peerbook_add_session(grove_peerbook_t *b, const grove_cert_t *cert, uint64_t now_ms)
{
	if (strcmp(cert->node_id, b->self->cert.node_id) != 0)
		return grove_peerbook_add(b, cert, now_ms);
	return b->crl != NULL && grove_crl_revokes(b->crl, cert) ? GROVE_EREVOKED : 0;
}

uint64_t grove_peerbook_nearest_expiry(const grove_peerbook_t *b, char id[GROVE_NODE_ID_MAX + 1])
{
	uint64_t best = UINT64_MAX;
	for (size_t i = 0; i < b->slots_count; i++) {
		const pb_entry_t *e = &b->slots[i];
		if (!e->used || e->revoked || e->cert.expires_ms >= best)
			continue;
		best = e->cert.expires_ms;
		if (id != NULL)
			memcpy(id, e->cert.node_id, GROVE_NODE_ID_MAX + 1);
	}
	return best;
}

int grove_peerbook_set_crl(grove_peerbook_t *b, const grove_crl_t *crl)
{
	if (b->crl != NULL && crl->issued_ms <= b->crl->issued_ms)
		return 0;
	int rc = grove_crl_verify(crl, b->self->ca_pk);
	if (rc < 0)
		return rc;
	if (b->crl == NULL && (b->crl = grove_malloc(sizeof *b->crl)) == NULL)
		return GROVE_ENOMEM;
	*b->crl = *crl;
	for (size_t i = 0; i < b->slots_count; i++)
		if (b->slots[i].used)
			b->slots[i].revoked = grove_crl_revokes(crl, &b->slots[i].cert);
	return 1;
}

const grove_crl_t *grove_peerbook_crl(const grove_peerbook_t *b)
{
	return b->crl;
}
