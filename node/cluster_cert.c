/*
 * cluster_cert.c - the certificate lifecycle of a running node (see
 * cluster.h): loud refusals, expiry warnings, the revocation list, reload
 * on SIGHUP, duplicate instances of our id.
 *
 * Every refusal of a peer's datagrams or streams for its certificate
 * (unknown, untrusted, expired, revoked, superseded, conflicting) is logged
 * as an ERROR naming the peer and the reason; the peer book rate-limits
 * them (peerbook.h).  The node's own certificate is checked on every
 * membership tick: WARN lines at 30, 7 and 1 days before expiry and an
 * ERROR once expired (grove_cert_watch_t).  The revocation list is loaded
 * from the store (what gossip brought) and from DATA/revoked.crl (what
 * `grove revoke` made) at start and on SIGHUP; the newest one is
 * installed in the peer book, spread by membership and saved in the
 * store.  Two live instances of our id: ERROR on both sides and on the
 * others; the one that must yield refuses writes (an atomic flag read by
 * command threads) until the conflict is gone.
 */
#include "node/cluster_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "grove/alloc.h"
#include "node/keyfile.h"

#define CRL_META "revocation_list"

/* "2026-12-06T13:00:00Z" */
static void fmt_time(char *out, size_t cap, uint64_t ms)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	if (gmtime_r(&s, &tm) == NULL || strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, cap, "%llu ms", (unsigned long long)ms);
}

static void fingerprint_hex(char out[2 * GROVE_KEY_FINGERPRINT_BYTES + 1], const uint8_t pk[GROVE_SIGN_PUBLIC_BYTES])
{
	uint8_t fp[GROVE_KEY_FINGERPRINT_BYTES];
	grove_key_fingerprint(fp, pk);
	sodium_bin2hex(out, 2 * GROVE_KEY_FINGERPRINT_BYTES + 1, fp, sizeof fp);
}

/* Peer book: a peer refused for its certificate (rate-limited there). */
static void on_refuse(void *ctx, const char *from, grove_drop_t reason, const grove_cert_t *cert)
{
	grove_cluster_t *mn = ctx;
	char when[32] = "", fp[2 * GROVE_KEY_FINGERPRINT_BYTES + 1] = "?";
	if (cert) {
		fmt_time(when, sizeof when, cert->expires_ms);
		fingerprint_hex(fp, cert->node_pk);
	}
	switch (reason) {
	case GROVE_DROP_EXPIRED:
		grove_log_error(mn->log, "security: refusing peer '%s': its certificate expired at %s (key %s); "
					 "renew it there with grove cert and reload it (SIGHUP)", from, when, fp);
		break;
	case GROVE_DROP_REVOKED:
		grove_log_error(mn->log, "security: refusing peer '%s': its key %s is in the revocation list", from,
				fp);
		break;
	case GROVE_DROP_SUPERSEDED:
		grove_log_error(mn->log, "security: refusing peer '%s': its certificate (key %s) is superseded by a "
					 "newer one for that id; that process must load the new certificate or stop",
				from, fp);
		break;
	case GROVE_DROP_UNKNOWN_SENDER:
		grove_log_error(mn->log, "security: refusing peer '%s': no certificate known for it yet (it will be "
					 "accepted once its membership datagrams bring one)", from);
		break;
	default:
		grove_log_error(mn->log, "security: refusing peer '%s': %s certificate (key %s)", from,
				grove_drop_name(reason), fp);
		break;
	}
}

/* Peer book: a second key claims a known id (or ours) with the same issue
 * time: the first one known stays. */
static void on_conflict(void *ctx, const grove_cert_t *known, const grove_cert_t *claimed)
{
	grove_cluster_t *mn = ctx;
	char a[2 * GROVE_KEY_FINGERPRINT_BYTES + 1], b[sizeof a];
	fingerprint_hex(a, known->node_pk);
	fingerprint_hex(b, claimed->node_pk);
	grove_log_error(mn->log, "security: node id '%s' is claimed by two keys (known %s, refused %s) with "
				 "certificates of one issue time: a configuration error; give each node its own id, "
				 "or issue a newer certificate for the one that should stay", known->node_id, a, b);
}

void grove_cluster__peerbook_config(grove_cluster_t *mn, grove_peerbook_config_t *bc)
{
	bc->on_refuse = on_refuse;
	bc->on_conflict = on_conflict;
	bc->conflict_ctx = mn;
}

/* ---- revocation list ---- */

/* Install crl if it is newer; log and save it.  from names its source. */
static void crl_offer(grove_cluster_t *mn, const grove_crl_t *crl, const char *from)
{
	int rc = grove_peerbook_set_crl(mn->book, crl);
	if (rc < 0)
		grove_log_error(mn->log, "security: revocation list from %s refused: %s", from, grove_strerror(rc));
	else if (rc == 1)
		grove_member_doc_changed(mn->m);
}

/* The list held, if newer than the one saved: log it, save it. */
static void crl_persist(grove_cluster_t *mn)
{
	const grove_crl_t *crl = grove_peerbook_crl(mn->book);
	if (crl == NULL || crl->issued_ms == mn->crl_saved_ms)
		return;
	mn->crl_saved_ms = crl->issued_ms;
	char when[32];
	fmt_time(when, sizeof when, crl->issued_ms);
	grove_log_info(mn->log, "security: revocation list issued %s installed: %zu revoked key(s)", when, crl->count);
	if (grove_crl_revokes(crl, &mn->identity->cert))
		grove_log_error(mn->log, "security: this node's own key is in the revocation list: every peer "
					 "refuses it; issue it a new key and certificate");
	uint8_t buf[GROVE_CRL_BYTES_MAX];
	size_t len;
	int rc = grove_crl_encode(crl, buf, sizeof buf, &len);
	if (rc == 0)
		rc = grove_db_meta_put(mn->db, CRL_META, buf, len);
	if (rc < 0)
		grove_log_warn(mn->log, "security: cannot save the revocation list: %s", grove_strerror(rc));
}

/* From the store and from DATA/revoked.crl (missing file: nothing). */
void grove_cluster__crl_load(grove_cluster_t *mn)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	grove_crl_t crl;
	if (grove_db_meta_get(mn->db, CRL_META, &buf, &len) == 0 && grove_crl_decode(buf, len, &crl) == 0) {
		crl_offer(mn, &crl, "the store");
		mn->crl_saved_ms = crl.issued_ms;
	}
	grove_free(buf);
	if (mn->crl_path[0] == '\0')
		return;
	int rc = grove_keyfile_read_crl(mn->crl_path, &crl);
	if (rc == 0)
		crl_offer(mn, &crl, mn->crl_path);
	else if (rc != GROVE_ENOTFOUND)
		grove_log_error(mn->log, "security: %s: %s", mn->crl_path, grove_keyfile_strerror(rc));
	crl_persist(mn);
}

/* ---- per tick: own expiry, list learned from peers, duplicates ---- */

static void own_expiry(grove_cluster_t *mn, uint64_t now)
{
	unsigned days;
	const grove_cert_t *own = &mn->identity->cert;
	if (!grove_cert_watch_due(&mn->watch, own->expires_ms, now, &days))
		return;
	char when[32];
	fmt_time(when, sizeof when, own->expires_ms);
	if (days == 0)
		grove_log_error(mn->log, "security: this node's certificate expired at %s: every peer now refuses "
					 "it; renew it with grove cert (same key) and reload it with SIGHUP", when);
	else
		grove_log_warn(mn->log, "security: this node's certificate expires in %u day%s (%s): renew it "
					"with grove cert (same key) and reload it with SIGHUP", days, days == 1 ? "" : "s",
			       when);
}

static void duplicates(grove_cluster_t *mn, uint64_t now)
{
	bool yield = false;
	bool dup = grove_member_duplicate_self(mn->m, now, &yield, NULL);
	bool refuse = dup && yield;
	if (refuse != atomic_load(&mn->refuse_writes)) {
		atomic_store(&mn->refuse_writes, refuse);
		if (refuse)
			grove_log_error(mn->log, "membership: this instance refuses writes while another live "
						 "instance of node id '%s' exists (see above)", mn->identity->cert.node_id);
		else
			grove_log_info(mn->log, "membership: the other instance of node id '%s' is gone; writes "
						"accepted again", mn->identity->cert.node_id);
	}
}

void grove_cluster__cert_tick(grove_cluster_t *mn, uint64_t now)
{
	own_expiry(mn, now);
	crl_persist(mn);
	duplicates(mn, now);
}

/* Fingerprint of this node's key, in a static buffer (loop thread only). */
static const char *own_fp(grove_cluster_t *mn)
{
	static char fp[2 * GROVE_KEY_FINGERPRINT_BYTES + 1];
	fingerprint_hex(fp, mn->identity->cert.node_pk);
	return fp;
}

void grove_cluster__log_duplicate(grove_cluster_t *mn, const grove_member_event_t *ev)
{
	if (!ev->about_self)
		grove_log_error(mn->log, "membership: node id '%s' has two live instances (one at %s): a "
					 "configuration error (a copied data directory, or one id given twice); the one "
					 "started later, or with the older certificate, refuses writes", ev->id, ev->addr);
	else if (ev->superseded)
		grove_log_error(mn->log, "security: this node's certificate (key %s) is superseded by a newer one "
					 "for id '%s' (another instance, at %s): every peer refuses this process and "
					 "it refuses writes; stop it, or load the newest certificate and key (SIGHUP)",
				own_fp(mn), ev->id, ev->addr);
	else if (ev->must_yield)
		grove_log_error(mn->log, "membership: another live instance of this node's id '%s' runs at %s and "
					 "has precedence (started first, or holds a newer certificate): this instance "
					 "refuses writes until it is gone; stop one of them, or give this node its own id",
				ev->id, ev->addr);
	else
		grove_log_error(mn->log, "membership: another live instance of this node's id '%s' runs at %s "
					 "and gives way to this one (it started later, or holds an older certificate): "
					 "it refuses writes; stop it, or give it its own id", ev->id, ev->addr);
	duplicates(mn, grove_cluster_now_ms());
}

bool grove_cluster_write_refused(void *ctx)
{
	grove_cluster_t *mn = ctx;
	return mn != NULL && atomic_load(&mn->refuse_writes);
}

/* ---- SIGHUP ---- */

void grove_cluster_reload(grove_cluster_t *mn)
{
	int rc = grove_secure_hooks_reload_member(&mn->sec, mn->m, grove_cluster_now_ms());
	const grove_cert_t *own = &mn->identity->cert;
	char when[32], fp[2 * GROVE_KEY_FINGERPRINT_BYTES + 1];
	fmt_time(when, sizeof when, own->expires_ms);
	fingerprint_hex(fp, own->node_pk);
	if (rc < 0)
		grove_log_error(mn->log, "security: reloaded certificate not taken by membership: %s",
				grove_strerror(rc));
	else
		grove_log_info(mn->log, "security: certificate reloaded: key %s, issued %llu, expires %s; "
					"peers learn it from the next datagrams", fp, (unsigned long long)own->issued_ms,
			       when);
	mn->watch.stage = 0; /* warn again about this one */
	grove_cluster__crl_load(mn);
	grove_cluster_pump(mn);
}

/* ---- INFO ---- */

void grove_cluster__cert_info(grove_cluster_t *mn, grove_buf_t *text)
{
	uint64_t now = grove_cluster_now_ms();
	const grove_cert_t *own = &mn->identity->cert;
	int64_t left_s = ((int64_t)own->expires_ms - (int64_t)now) / 1000;
	char line[160], peer[GROVE_NODE_ID_MAX + 1] = "";
	snprintf(line, sizeof line, "cert_expires_in_s:%lld\r\ncert_version:%u\r\ncert_issued_ms:%llu\r\n",
		 (long long)left_s, own->version, (unsigned long long)own->issued_ms);
	grove_buf_append(text, line, strlen(line));
	uint64_t nearest = grove_peerbook_nearest_expiry(mn->book, peer);
	if (nearest == UINT64_MAX) {
		snprintf(line, sizeof line, "peer_cert_nearest_expiry_s:-1\r\npeer_cert_nearest_expiry_id:\r\n");
	} else {
		int64_t s = ((int64_t)nearest - (int64_t)now) / 1000;
		snprintf(line, sizeof line, "peer_cert_nearest_expiry_s:%lld\r\npeer_cert_nearest_expiry_id:%s\r\n",
			 (long long)s, peer);
	}
	grove_buf_append(text, line, strlen(line));
	const grove_crl_t *crl = grove_peerbook_crl(mn->book);
	grove_cluster_info_line(text, "revocation_list_issued_ms", crl ? crl->issued_ms : 0);
	grove_cluster_info_line(text, "revoked_keys", crl ? crl->count : 0);
	bool yield = false;
	bool dup = grove_member_duplicate_self(mn->m, now, &yield, NULL);
	grove_cluster_info_line(text, "duplicate_instance", dup);
	grove_cluster_info_line(text, "writes_refused_duplicate", dup && yield);
	grove_cluster_info_line(text, "duplicate_ids_seen", grove_member_duplicates(mn->m, now));
	grove_cluster_info_line(text, "cert_superseded", grove_member_cert_superseded(mn->m));
	grove_member_stats_t st;
	grove_member_get_stats(mn->m, &st);
	grove_cluster_info_line(text, "superseded_notices_sent", st.notices_sent);
}
