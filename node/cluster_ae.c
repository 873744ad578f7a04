/*
 * cluster_ae.c - the anti-entropy core (gossip/ae/antientropy.h) on libuv (see
 * cluster.h, cluster_int.h).
 *
 * Creates the core (sharing the envelope sender and the peer book with
 * membership, peers chosen among alive members), runs its timer, drains
 * its outputs into the shared stream table (cluster_stream.c) during
 * grove_cluster_pump(), reports its "ae_" INFO counters, runs a round on
 * SYNC, and feeds WAIT (node/wait.h): the core's digest equalities become
 * per-peer known write positions, and WAIT's asks become digest requests.
 * Its datagrams and stream frames reach it from cluster_member.c and
 * cluster_stream.c.
 */
#include "node/cluster_int.h"

#include <sodium.h>
#include <stdio.h>

void grove_cluster_on_ae_timer(uv_timer_t *t)
{
	grove_cluster_t *mn = t->data;
	grove_ae_tick(mn->ae, grove_cluster_now_ms());
	grove_cluster_pump(mn);
}

/* Drains the anti-entropy core's outputs; true if there were any. */
bool grove_cluster_ae_drain(grove_cluster_t *mn)
{
	grove_out_t aout;
	bool more = false;
	while (grove_ae_poll(mn->ae, grove_cluster_now_ms(), &aout)) {
		grove_cluster_output(mn, LAYER_AE, &aout);
		more = true;
	}
	return more;
}

/* Pushes go to alive peers: tells the core whether there is one, so that
 * a node alone skips the push queue on every write.  O(1). */
void grove_cluster_ae_peers_watch(grove_cluster_t *mn)
{
	grove_member_info_t self;
	size_t alive = grove_member_count_state(mn->m, GROVE_MEMBER_ALIVE);
	bool self_alive = grove_member_get(mn->m, 0, &self) == 0 && self.state == GROVE_MEMBER_ALIVE;
	grove_ae_set_push_peers(mn->ae, alive > (self_alive ? 1u : 0u));
}

/* Anti-entropy peers: random alive members (grove_ae_peers_fn). */
static size_t ae_peers(void *ctx, char (*addrs)[GROVE_AE_ADDR_MAX + 1], size_t max)
{
	grove_cluster_t *mn = ctx;
	grove_member_info_t info[GROVE_AE_FANOUT_MAX];
	size_t n = grove_member_random_alive(mn->m, info, max < GROVE_AE_FANOUT_MAX ? max : GROVE_AE_FANOUT_MAX);
	for (size_t i = 0; i < n; i++)
		snprintf(addrs[i], GROVE_AE_ADDR_MAX + 1, "%s", info[i].addr);
	return n;
}

/* grove_ae_watch_t.mark: this node's write position, read by the core just
 * before it reads the root digest. */
static uint64_t ae_mark(void *ctx)
{
	grove_cluster_t *mn = ctx;
	return mn->wait ? grove_wait_position(mn->wait) : 0;
}

/* grove_ae_watch_t.equal: the peer holds every write up to mark.  Peers are
 * named by their authenticated node id (the address without security). */
static void ae_equal(void *ctx, const char *from_addr, const char *sender_id, uint64_t mark)
{
	grove_cluster_t *mn = ctx;
	if (mn->wait)
		grove_wait_peer_holds(mn->wait, sender_id ? sender_id : from_addr, mark,
				      grove_cluster_now_ms());
	grove_cluster_mon_digest(mn, sender_id ? sender_id : from_addr, true);
}

/* grove_ae_watch_t.different: for the status page (cluster_monitor.c). */
static void ae_different(void *ctx, const char *from_addr, const char *sender_id)
{
	grove_cluster_mon_digest(ctx, sender_id ? sender_id : from_addr, false);
}

/* grove_ae_watch_t.synced: a session reconciled; WAIT asks again now. */
static void ae_synced(void *ctx)
{
	grove_cluster_t *mn = ctx;
	if (mn->wait)
		grove_wait_ask_soon(mn->wait);
}

void grove_cluster_set_wait(grove_cluster_t *mn, grove_wait_t *w)
{
	mn->wait = w;
}

int grove_cluster_wait_ask(void *ctx, uint64_t pos)
{
	grove_cluster_t *mn = ctx;
	grove_member_info_t info[GROVE_AE_REQUEST_MAX];
	char addrs[GROVE_AE_REQUEST_MAX][GROVE_AE_ADDR_MAX + 1];
	size_t n = grove_member_random_alive(mn->m, info, GROVE_AE_REQUEST_MAX), k = 0;
	for (size_t i = 0; i < n; i++)
		if (!mn->wait || !grove_wait_peer_known(mn->wait, info[i].id, pos))
			snprintf(addrs[k++], GROVE_AE_ADDR_MAX + 1, "%s", info[i].addr);
	size_t sent = grove_ae_request_digests(mn->ae, grove_cluster_now_ms(),
					       (const char(*)[GROVE_AE_ADDR_MAX + 1])addrs, k);
	grove_cluster_pump(mn);
	return (int)sent;
}

/* The anti-entropy core: shares the sender (one sequence space) and the
 * peer book with membership; its rng is seeded afresh at every start. */
int grove_cluster_create_ae(grove_cluster_t *mn, const grove_config_t *cfg, char *err, size_t elen)
{
	grove_ae_config_t ac;
	uint64_t seed;
	grove_ae_config_init(&ac);
	ac.peers = ae_peers;
	ac.peers_ctx = mn;
	ac.watch = (grove_ae_watch_t){ae_mark, ae_equal, ae_synced, mn, ae_different};
	ac.interval_ms = cfg->gossip_interval_ms;
	ac.fanout = cfg->ae_fanout;
	ac.push = cfg->push_fanout > 0;
	if (ac.push)
		ac.push_fanout = cfg->push_fanout;
	grove_secure_hooks_init(&mn->aesec, &mn->sender, mn->book, GROVE_AE_ENVELOPE_KIND);
	grove_secure_hooks_config_ae(&mn->aesec, &ac);
	grove_secure_hooks_set_resolver(&mn->aesec, grove_secure_hooks_resolve_member, mn->m);
	randombytes_buf(&seed, sizeof(seed));
	grove_rng_seed(&mn->rng, seed);
	int rc = grove_ae_create(&ac, mn->db, &mn->rng, &mn->ae);
	if (rc < 0)
		snprintf(err, elen, "anti-entropy: %s", grove_strerror(rc));
	return rc;
}

/* Anti-entropy counters, prefixed "ae_" (README, INFO gossip). */
void grove_cluster_ae_info(grove_cluster_t *mn, grove_buf_t *text)
{
	static const char *phases[GROVE_AE_PH_COUNT] = {"digest", "tree", "keys", "states", "control", "push"};
	grove_ae_stats_t st;
	grove_ae_get_stats(mn->ae, &st);
	const struct {
		const char *name;
		uint64_t v;
	} lines[] = {
		{"ae_rounds", st.rounds}, {"ae_digests_sent", st.digests_sent},
		{"ae_digests_equal", st.digests_equal}, {"ae_digests_different", st.digests_different},
		{"ae_digest_requests_sent", st.digest_requests_sent},
		{"ae_digest_replies_sent", st.digest_replies_sent},
		{"ae_sessions_open", grove_ae_session_count(mn->ae)},
		{"ae_sessions_opened", st.sessions_opened}, {"ae_sessions_accepted", st.sessions_accepted},
		{"ae_sessions_done", st.sessions_done}, {"ae_sessions_refused", st.sessions_refused},
		{"ae_sessions_spaced", st.sessions_spaced}, {"ae_digests_held", st.digests_held},
		{"ae_sessions_ended_equal", st.sessions_ended_equal},
		{"ae_session_errors", st.session_errors}, {"ae_err_proto", st.err_proto},
		{"ae_err_decode", st.err_decode}, {"ae_err_limit", st.err_limit},
		{"ae_err_timeout", st.err_timeout}, {"ae_err_closed", st.err_closed},
		{"ae_err_nomem", st.err_nomem}, {"ae_keys_sent", st.keys_sent},
		{"ae_keys_received", st.keys_received}, {"ae_state_bytes_sent", st.state_bytes_sent},
		{"ae_state_bytes_received", st.state_bytes_received}, {"ae_frames_sent", st.frames_sent},
		{"ae_frames_received", st.frames_received}, {"ae_merged_changed", st.merged_changed},
		{"ae_merged_unchanged", st.merged_unchanged}, {"ae_rejected_decode", st.rejected_decode},
		{"ae_rejected_clock", st.rejected_clock}, {"ae_rejected_other", st.rejected_other},
		{"ae_keys_misplaced", st.keys_misplaced}, {"ae_states_oversize", st.states_oversize},
		{"ae_datagrams_dropped", st.datagrams_dropped}, {"ae_pushes_sent", st.pushes_sent},
		{"ae_push_keys_sent", st.push_keys_sent}, {"ae_push_keys_received", st.push_keys_received},
		{"ae_push_queue_drops", st.push_queue_drops}, {"ae_out_drops", st.out_drops},
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		grove_cluster_info_line(text, lines[i].name, lines[i].v);
	for (int p = 0; p < GROVE_AE_PH_COUNT; p++) {
		char name[48];
		snprintf(name, sizeof(name), "ae_bytes_sent_%s", phases[p]);
		grove_cluster_info_line(text, name, st.bytes_sent[p]);
		snprintf(name, sizeof(name), "ae_bytes_received_%s", phases[p]);
		grove_cluster_info_line(text, name, st.bytes_received[p]);
	}
}

int grove_cluster_sync(void *ctx)
{
	grove_cluster_t *mn = ctx;
	size_t n = grove_ae_round_now(mn->ae, grove_cluster_now_ms());
	grove_cluster_pump(mn);
	return (int)n;
}
