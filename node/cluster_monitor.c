/*
 * cluster_monitor.c - what the status page and the metrics endpoint
 * (node/monitor.h) learn from the cluster binding: per peer, the outcome
 * of the last root-digest comparison (equal or different, from the
 * anti-entropy core's watch hooks) and when it was last equal; the
 * duration of every anti-entropy session (TCP stream open to close) as a
 * histogram; and the member table with each peer's certificate expiry as
 * the peer book holds it.
 *
 * State lives in grove_cluster_t.mon (cluster_int.h), loop thread only:
 * the monitor copies it out once a second (grove_cluster_peers,
 * grove_cluster_ae_sessions) and publishes the copy to the HTTP thread.
 * The peer table is bounded (GROVE_MON_PEERS_MAX); a peer beyond it is not
 * tracked (its digest shows as unknown).
 */
#include "node/cluster_int.h"

#include <stdio.h>
#include <string.h>

const uint64_t grove_ae_session_bounds_us[GROVE_AE_SESSION_BUCKETS - 1] = {
	5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000, 30000000};

/* The tracked record of peer id, created when create is set (NULL when
 * the table is full or the id is unknown). */
static struct grove_mon_peer *mon_peer(grove_cluster_t *mn, const char *id, bool create)
{
	struct grove_cluster_mon *mo = &mn->mon;
	for (size_t i = 0; i < mo->npeers; i++)
		if (strcmp(mo->peers[i].id, id) == 0)
			return &mo->peers[i];
	if (!create || mo->npeers == GROVE_MON_PEERS_MAX)
		return NULL;
	struct grove_mon_peer *p = &mo->peers[mo->npeers++];
	memset(p, 0, sizeof(*p));
	snprintf(p->id, sizeof(p->id), "%s", id);
	return p;
}

void grove_cluster_mon_digest(grove_cluster_t *mn, const char *peer_id, bool equal)
{
	struct grove_mon_peer *p = mon_peer(mn, peer_id, true);
	if (!p)
		return;
	uint64_t now = grove_cluster_now_ms();
	if (equal) {
		p->last_equal_ms = now;
		p->diverged_since_ms = 0;
	} else if (p->digest != GROVE_PEER_DIGEST_DIFFERENT) {
		p->diverged_since_ms = now;
	}
	p->digest = equal ? GROVE_PEER_DIGEST_EQUAL : GROVE_PEER_DIGEST_DIFFERENT;
}

void grove_cluster_mon_session(grove_cluster_t *mn, uint64_t duration_ms)
{
	struct grove_cluster_mon *mo = &mn->mon;
	uint64_t us = duration_ms * 1000;
	mo->sessions[grove_histogram_bucket(grove_ae_session_bounds_us, GROVE_AE_SESSION_BUCKETS - 1, us)]++;
	mo->session_sum_us += us;
	mo->session_count++;
}

void grove_cluster_ae_sessions(const grove_cluster_t *mn, uint64_t counts[GROVE_AE_SESSION_BUCKETS],
			       uint64_t *sum_us, uint64_t *count)
{
	memcpy(counts, mn->mon.sessions, sizeof(mn->mon.sessions));
	*sum_us = mn->mon.session_sum_us;
	*count = mn->mon.session_count;
}

bool grove_cluster_joined(const grove_cluster_t *mn)
{
	return grove_member_is_joined(mn->m);
}

size_t grove_cluster_peers(grove_cluster_t *mn, grove_peer_view_t *out, size_t max)
{
	size_t n = grove_member_count(mn->m), k = 0;
	const char *self = grove_identity_node_id(mn->identity);
	for (size_t i = 0; i < n && k < max; i++) {
		grove_member_info_t info;
		if (grove_member_get(mn->m, i, &info) < 0)
			continue;
		grove_peer_view_t *v = &out[k++];
		memset(v, 0, sizeof(*v));
		snprintf(v->id, sizeof(v->id), "%s", info.id);
		snprintf(v->addr, sizeof(v->addr), "%s", info.addr);
		v->state = grove_member_state_name(info.state);
		v->incarnation = info.incarnation;
		v->state_since_ms = info.state_since_ms;
		v->self = strcmp(info.id, self) == 0;
		const grove_cert_t *cert = v->self ? &mn->identity->cert
						   : grove_peerbook_find(mn->book, info.id);
		v->cert_expires_ms = cert ? cert->expires_ms : 0;
		const struct grove_mon_peer *p = v->self ? NULL : mon_peer(mn, info.id, false);
		v->digest = v->self ? GROVE_PEER_DIGEST_EQUAL : p ? p->digest : GROVE_PEER_DIGEST_UNKNOWN;
		v->last_equal_ms = p ? p->last_equal_ms : 0;
		v->diverged_since_ms = p ? p->diverged_since_ms : 0;
	}
	return k;
}
