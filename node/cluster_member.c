/*
 * cluster_member.c - the membership and anti-entropy cores on libuv (see
 * cluster.h): the membership binding and the lifecycle of both.
 *
 * After every input (datagram, stream bytes, timer) grove_cluster_pump() drains both
 * cores' outputs (datagrams to send, streams to open, frames to send,
 * streams to close) and membership's events (logged; PERSIST saves the
 * restart state), then re-arms both timers for the cores' next deadlines.
 * Datagrams go to exactly one core, chosen by the envelope kind (byte 3),
 * so no envelope is opened twice.  The anti-entropy binding is in
 * cluster_ae.c and the shared TCP stream table in cluster_stream.c
 * (cluster_int.h).
 */
#include "node/cluster_int.h"

#include <netdb.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "grove/alloc.h"
#include "node/keyfile.h"

static void on_datagram(void *ctx, const char *from, const uint8_t *bytes, size_t len)
{
	grove_cluster_t *mn = ctx;
	if (mn->closing)
		return;
	if (len > 3 && bytes[3] == GROVE_AE_ENVELOPE_KIND)
		grove_ae_recv_datagram(mn->ae, grove_cluster_now_ms(), from, bytes, len);
	else
		grove_member_recv_datagram(mn->m, grove_cluster_now_ms(), from, bytes, len);
	grove_cluster_pump(mn);
}

static void save_state(grove_cluster_t *mn)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = grove_member_save(mn->m, &buf, &len);
	if (rc == 0)
		rc = grove_db_meta_put(mn->db, GROVE_MEMBER_META, buf, len);
	if (rc < 0)
		grove_log_warn(mn->log, "membership: cannot save restart state: %s", grove_strerror(rc));
	grove_free(buf);
}

static void log_event(grove_cluster_t *mn, const grove_member_event_t *ev)
{
	static const char *names[] = {"?", "joined the cluster", "joined", "is alive again",
				      "is suspect", "is dead", "left", "changed address or key",
				      "conflicts", "persist", "was forgotten", "has two instances"};
	const char *what = (unsigned)ev->kind < sizeof(names) / sizeof(names[0]) ? names[ev->kind] : "?";
	if (mn->wait && ev->kind != GROVE_MEMBER_EV_SUSPECT && ev->kind != GROVE_MEMBER_EV_PERSIST &&
	    ev->kind != GROVE_MEMBER_EV_JOINED)
		grove_wait_peer_forget(mn->wait, ev->id); /* not the peer WAIT knew any more */
	if (ev->kind == GROVE_MEMBER_EV_PERSIST) {
		save_state(mn);
	} else if (ev->kind == GROVE_MEMBER_EV_JOINED) {
		grove_log_info(mn->log, "membership: this node %s", what);
	} else if (ev->kind == GROVE_MEMBER_EV_CONFLICT) {
		grove_log_error(mn->log, "membership: node id '%s' is claimed by two nodes (other one at %s): "
					 "a configuration error",
				ev->id, ev->addr);
	} else if (ev->kind == GROVE_MEMBER_EV_DUPLICATE) {
		grove_cluster__log_duplicate(mn, ev);
	} else {
		grove_log_level_t level = ev->kind >= GROVE_MEMBER_EV_UPDATE ? GROVE_LOG_DEBUG
					  : ev->kind == GROVE_MEMBER_EV_SUSPECT || ev->kind == GROVE_MEMBER_EV_DEAD
						  ? GROVE_LOG_WARN /* on the status page's warnings */
						  : GROVE_LOG_INFO;
		grove_log(mn->log, level,
			  "membership: %s (%s) %s, incarnation %llu", ev->id, ev->addr, what,
			  (unsigned long long)ev->incarnation);
	}
}

static void on_timer(uv_timer_t *t)
{
	grove_cluster_t *mn = t->data;
	grove_cluster_reap_streams(mn, grove_cluster_now_ms());
	grove_member_tick(mn->m, grove_cluster_now_ms());
	grove_cluster__cert_tick(mn, grove_cluster_now_ms());
	grove_cluster_pump(mn);
}

static void rearm(uv_timer_t *t, uv_timer_cb cb, uint64_t deadline)
{
	uint64_t now = grove_cluster_now_ms();
	uv_timer_start(t, cb, deadline > now ? deadline - now : 0, 0);
}

/* Drains outputs and events, then re-arms the timers.  Bounded by the
 * cores' queue limits (GROVE_MEMBER_OUT_MAX, GROVE_MEMBER_EVENTS_MAX,
 * GROVE_AE_OUT_MAX) and, for anti-entropy frames, by its credit window and
 * the write-queue mark that makes a stream unwritable. */
void grove_cluster_pump(grove_cluster_t *mn)
{
	if (mn->in_pump || mn->closing)
		return;
	mn->in_pump = true;
	grove_out_t out;
	grove_member_event_t ev;
	bool more = true;
	while (more) {
		more = false;
		while (grove_member_poll(mn->m, &out)) {
			grove_cluster_output(mn, LAYER_MEMBER, &out);
			more = true;
		}
		while (grove_member_next_event(mn->m, &ev)) {
			log_event(mn, &ev);
			more = true;
		}
		if (grove_cluster_ae_drain(mn))
			more = true;
	}
	grove_cluster_ae_peers_watch(mn);
	grove_cluster_seeds_watch(mn, grove_cluster_now_ms());
	rearm(&mn->timer, on_timer, grove_member_next_deadline(mn->m));
	rearm(&mn->ae_timer, grove_cluster_on_ae_timer, grove_ae_next_deadline(mn->ae));
	mn->in_pump = false;
}

/* ---- start, members, leave, close ---- */
/* The envelope epoch: one more than the last start's, persisted first. */
static int next_epoch(grove_db_t *db, uint64_t *epoch)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	uint64_t e = 0;
	int rc = grove_db_meta_get(db, GROVE_EPOCH_META, &buf, &len);
	if (rc == 0 && len == 8)
		for (int i = 0; i < 8; i++)
			e = e << 8 | buf[i];
	grove_free(buf);
	if (rc < 0 && rc != GROVE_ENOTFOUND)
		return rc;
	e++;
	uint8_t out[8];
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(e >> (56 - 8 * i));
	rc = grove_db_meta_put(db, GROVE_EPOCH_META, out, sizeof(out));
	if (rc == 0)
		*epoch = e;
	return rc;
}

/* Builds the core from the configuration and restores its saved state. */
static int create_core(grove_cluster_t *mn, const grove_config_t *cfg, char *err, size_t elen)
{
	grove_member_config_t mc;
	grove_member_config_init(&mc);
	mc.id = cfg->id;
	grove_hostport_format(&cfg->advertise, mn->addr, sizeof(mn->addr));
	mc.addr = mn->addr;
	mc.seeds = mn->seed_ptrs;
	mc.seed_count = grove_cluster_seeds_init(mn, cfg);
	randombytes_buf(&mc.rng_seed, sizeof(mc.rng_seed));
	randombytes_buf(&mc.instance, sizeof(mc.instance)); /* this start (duplicate ids) */
	mc.instance |= 1;
	mc.instance_started_ms = grove_cluster_now_ms();
	mc.probe_interval_ms = cfg->probe_interval_ms;
	mc.gossip_interval_ms = cfg->gossip_interval_ms;
	if (mc.probe_timeout_ms >= mc.probe_interval_ms)
		mc.probe_timeout_ms = mc.probe_interval_ms / 2;
	int rc = grove_secure_hooks_config_member(&mn->sec, &mc);
	if (rc == 0)
		rc = grove_member_create(&mc, &mn->m);
	if (rc < 0) {
		snprintf(err, elen, "membership: %s", grove_strerror(rc));
		return rc;
	}
	uint8_t *buf = NULL;
	size_t len = 0;
	if (grove_db_meta_get(mn->db, GROVE_MEMBER_META, &buf, &len) == 0 &&
	    grove_member_restore(mn->m, buf, len) < 0)
		grove_log_warn(mn->log, "membership: saved state unreadable; starting fresh");
	grove_free(buf);
	return 0;
}

int grove_cluster_start(grove_cluster_t **out, uv_loop_t *loop, const grove_config_t *cfg,
			   const grove_identity_t *identity, grove_db_t *db,
			   grove_cluster_sockets_t *gossip, grove_log_t *log, char *err, size_t elen)
{
	grove_cluster_t *mn = grove_calloc(1, sizeof(*mn));
	if (!mn)
		return GROVE_ENOMEM;
	*mn = (grove_cluster_t){.loop = loop, .identity = identity, .db = db, .gossip = gossip, .log = log};
	grove_list_init(&mn->streams);
	uint64_t epoch = 0;
	grove_peerbook_config_t bc = {.self = identity};
	grove_cluster__peerbook_config(mn, &bc);
	snprintf(mn->crl_path, sizeof(mn->crl_path), "%s/%s", cfg->data_dir, GROVE_KEYFILE_CRL);
	int rc = next_epoch(db, &epoch);
	if (rc == 0)
		rc = grove_peerbook_create(&bc, &mn->book);
	if (rc < 0) {
		snprintf(err, elen, "membership: %s", grove_strerror(rc));
	} else {
		grove_sender_init(&mn->sender, identity, epoch);
		randombytes_buf(&mn->sender.salt, sizeof mn->sender.salt);
		grove_secure_hooks_init(&mn->sec, &mn->sender, mn->book, GROVE_MEMBER_ENVELOPE_KIND);
		rc = create_core(mn, cfg, err, elen);
		if (rc == 0)
			rc = grove_cluster_create_ae(mn, cfg, err, elen);
	}
	if (rc == 0 && (rc = grove_member_join(mn->m, grove_cluster_now_ms())) < 0)
		snprintf(err, elen, "membership: join: %s", grove_strerror(rc));
	if (rc < 0) {
		grove_ae_destroy(mn->ae);
		grove_member_destroy(mn->m);
		grove_peerbook_destroy(mn->book);
		grove_sender_close(&mn->sender);
		grove_free(mn);
		return rc;
	}
	grove_cluster__crl_load(mn);
	grove_cluster__cert_tick(mn, grove_cluster_now_ms());
	uv_timer_init(loop, &mn->timer);
	uv_timer_init(loop, &mn->leave_timer);
	uv_timer_init(loop, &mn->ae_timer);
	mn->timer.data = mn->leave_timer.data = mn->ae_timer.data = mn;
	grove_ae_tick(mn->ae, grove_cluster_now_ms());
	gossip->cb = (grove_cluster_sockets_callbacks_t){.datagram = on_datagram, .stream = grove_cluster_on_inbound,
						    .ctx = mn};
	grove_cluster_pump(mn);
	*out = mn;
	return 0;
}

size_t grove_cluster_members(void *ctx, grove_member_view_t *out, size_t max)
{
	grove_cluster_t *mn = ctx;
	size_t n = grove_member_count(mn->m), k = 0;
	for (size_t i = 0; i < n && k < max; i++) {
		grove_member_info_t info;
		if (grove_member_get(mn->m, i, &info) < 0)
			continue;
		snprintf(out[k].id, sizeof(out[k].id), "%s", info.id);
		snprintf(out[k].addr, sizeof(out[k].addr), "%s", info.addr);
		out[k].state = grove_member_state_name(info.state);
		out[k].incarnation = info.incarnation;
		k++;
	}
	return k;
}

void grove_cluster_info_line(grove_buf_t *text, const char *name, uint64_t v)
{
	char buf[96];
	int n = snprintf(buf, sizeof(buf), "%s:%llu\r\n", name, (unsigned long long)v);
	if (n > 0 && (size_t)n < sizeof(buf))
		grove_buf_append(text, buf, (size_t)n);
}

/* Datagram envelopes accepted and dropped by reason (both layers). */
static void drop_info(grove_cluster_t *mn, grove_buf_t *text)
{
	const grove_drop_stats_t *st = grove_peerbook_stats(mn->book);
	grove_cluster_info_line(text, "envelopes_accepted", st->accepted);
	for (int r = GROVE_DROP_NONE + 1; r < GROVE_DROP_COUNT; r++) {
		char name[64];
		snprintf(name, sizeof(name), "envelopes_dropped_%s", grove_drop_name((grove_drop_t)r));
		grove_cluster_info_line(text, name, st->dropped[r]);
	}
	grove_cluster_info_line(text, "envelopes_wrong_kind", mn->aesec.wrong_kind);
	/* nothing in clear: unsealed payloads refused, and payloads not sent
	 * for want of the recipient's key (gossip/secure_hooks.h) */
	grove_cluster_info_line(text, "envelopes_cleartext_refused",
				mn->sec.cleartext_refused + mn->aesec.cleartext_refused);
	grove_cluster_info_line(text, "envelopes_unsealable", mn->sec.unsealable + mn->aesec.unsealable);
}

void grove_cluster_info(void *ctx, grove_buf_t *text)
{
	grove_cluster_t *mn = ctx;
	grove_member_stats_t st;
	grove_member_get_stats(mn->m, &st);
	char buf[1024];
	int n = snprintf(buf, sizeof(buf),
			 "incarnation:%llu\r\njoined:%d\r\ndatagrams_in:%llu\r\ndatagrams_out:%llu\r\n"
			 "dropped_by_security:%llu\r\ndropped_malformed:%llu\r\nprobes:%llu\r\n"
			 "probe_failures:%llu\r\nsuspicions:%llu\r\nrefutes:%llu\r\npushpull_ok:%llu\r\n"
			 "pushpull_failed:%llu\r\nid_conflicts:%llu\r\nstreams_open:%zu\r\nknown_certificates:%zu\r\n",
			 (unsigned long long)grove_member_incarnation(mn->m), grove_member_is_joined(mn->m),
			 (unsigned long long)st.datagrams_in, (unsigned long long)st.datagrams_out,
			 (unsigned long long)st.drop_open, (unsigned long long)st.drop_decode,
			 (unsigned long long)st.probes, (unsigned long long)st.probe_fails,
			 (unsigned long long)st.suspicions, (unsigned long long)st.refutes,
			 (unsigned long long)st.pushpull_ok, (unsigned long long)st.pushpull_fail,
			 (unsigned long long)st.conflicts, mn->nstreams, grove_peerbook_count(mn->book));
	if (n > 0)
		grove_buf_append(text, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
	grove_cluster_ae_info(mn, text);
	drop_info(mn, text);
	grove_cluster__cert_info(mn, text);
}

static void on_leave_done(uv_timer_t *t)
{
	grove_cluster_t *mn = t->data;
	void (*cb)(void *) = mn->leave_cb;
	mn->leave_cb = NULL;
	if (cb)
		cb(mn->leave_ctx);
}

void grove_cluster_leave(grove_cluster_t *mn, void (*cb)(void *ctx), void *ctx)
{
	uint64_t now = grove_cluster_now_ms(), done_by = now;
	mn->leave_cb = cb;
	mn->leave_ctx = ctx;
	if (grove_member_leave(mn->m, now, &done_by) < 0)
		done_by = now;
	grove_cluster_pump(mn);
	uv_timer_start(&mn->leave_timer, on_leave_done, done_by > now ? done_by - now : 0, 0);
}

void grove_cluster__handle_done(grove_cluster_t *mn)
{
	if (--mn->handles_open == 0 && mn->close_cb)
		mn->close_cb(mn->close_ctx);
}

static void on_handle_closed(uv_handle_t *h)
{
	grove_cluster__handle_done(h->data);
}

/* Saves the restart state, closes every stream and both timers; cb when
 * all are closed.  Then grove_cluster_destroy frees the core. */
void grove_cluster_close(grove_cluster_t *mn, void (*cb)(void *ctx), void *ctx)
{
	save_state(mn);
	mn->closing = true;
	mn->close_cb = cb;
	mn->close_ctx = ctx;
	mn->handles_open = 3 + (int)mn->nstreams; /* closing streams count too */
	mn->handles_open += grove_cluster_seeds_close(mn); /* look-ups in flight */
	grove_list_t *l, *tmp;
	GROVE_LIST_FOREACH_SAFE(l, tmp, &mn->streams) {
		mstream_t *s = GROVE_LIST_ENTRY(l, mstream_t, link);
		if (!s->closed) {
			s->closed = true;
			uv_close((uv_handle_t *)s->tcp, grove_cluster_on_stream_closed);
		}
	}
	uv_close((uv_handle_t *)&mn->timer, on_handle_closed);
	uv_close((uv_handle_t *)&mn->leave_timer, on_handle_closed);
	uv_close((uv_handle_t *)&mn->ae_timer, on_handle_closed);
}

void grove_cluster_destroy(grove_cluster_t *mn)
{
	if (!mn)
		return;
	grove_ae_destroy(mn->ae);
	grove_member_destroy(mn->m);
	grove_peerbook_destroy(mn->book);
	grove_sender_close(&mn->sender);
	grove_free(mn);
}
