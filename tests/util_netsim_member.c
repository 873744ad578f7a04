/*
 * util_netsim_member.c - membership cores on the simulated network (see
 * util_netsim_member.h).  Each netsim callback feeds one core, then
 * "pumps" it: outputs go to the network, events are counted (and the
 * state saved), and the node's timer is set to the core's next deadline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/alloc.h"
#include "crdt/assert.h"
#include "tests/util_identity.h"
#include "tests/util_netsim_member.h"

static grove_test_ca_t grove__sim_ca;
static bool grove__sim_ca_ready;

/* --- stream id map -------------------------------------------------------------- */

static void map_add(grove_simnode_t *s, uint32_t id, uint32_t ep)
{
	GROVE_ASSERT(s->map_len < GROVE_SIM_MAP_MAX);
	s->map_id[s->map_len] = id;
	s->map_ep[s->map_len] = ep;
	s->map_len++;
}

/* Index of the pair with this endpoint (by_ep) or stream id, or -1. */
static int map_find(const grove_simnode_t *s, uint32_t v, bool by_ep)
{
	for (size_t i = 0; i < s->map_len; i++)
		if ((by_ep ? s->map_ep[i] : s->map_id[i]) == v)
			return (int)i;
	return -1;
}

static void map_del(grove_simnode_t *s, int i)
{
	s->map_len--;
	s->map_id[i] = s->map_id[s->map_len];
	s->map_ep[i] = s->map_ep[s->map_len];
}

/* --- pumping ---------------------------------------------------------------------- */

static long node_index(const char *id)
{
	return strncmp(id, "node-", 5) == 0 ? strtol(id + 5, NULL, 10) : -1;
}

static void save(grove_simnode_t *s)
{
	uint8_t *buf;
	size_t len;
	if (grove_member_save(s->m, &buf, &len) < 0)
		return;
	grove_free(s->saved);
	s->saved = buf;
	s->saved_len = len;
}

static void on_event(grove_simnode_t *s, const grove_member_event_t *ev)
{
	grove_simcluster_t *cl = s->cl;
	s->events[ev->kind]++;
	long j = node_index(ev->id);
	bool truly_up = j >= 0 && (size_t)j < cl->n && cl->nodes[j].up && !cl->nodes[j].left &&
			cl->nodes[j].m != NULL && strcmp(cl->nodes[j].addr, ev->addr) == 0;
	if (ev->kind == GROVE_MEMBER_EV_DEAD && truly_up)
		cl->false_dead++;
	if (ev->kind == GROVE_MEMBER_EV_SUSPECT && truly_up)
		cl->false_suspect++;
	if (ev->kind == GROVE_MEMBER_EV_PERSIST ||
	    (cl->save_on_change && (ev->kind == GROVE_MEMBER_EV_JOIN || ev->kind == GROVE_MEMBER_EV_ALIVE)))
		save(s);
}

static void pump(grove_simnode_t *s)
{
	grove_netsim_t *net = s->cl->net;
	grove_member_out_t o;
	grove_member_event_t ev;
	int k;
	while (s->m && grove_member_poll(s->m, &o)) {
		switch (o.kind) {
		case GROVE_MEMBER_OUT_DATAGRAM:
			GROVE_ASSERT(o.len <= GROVE_MEMBER_DATAGRAM_MAX);
			if (o.len > s->cl->max_datagram_bytes)
				s->cl->max_datagram_bytes = o.len;
			grove_netsim_send(net, s->net_node, o.addr, o.bytes, o.len);
			break;
		case GROVE_MEMBER_OUT_STREAM_OPEN:
			map_add(s, o.stream_id, grove_netsim_stream_open(net, s->net_node, o.addr));
			break;
		case GROVE_MEMBER_OUT_STREAM_FRAME:
			if ((k = map_find(s, o.stream_id, false)) >= 0)
				grove_netsim_stream_send(net, s->map_ep[k], o.bytes, o.len);
			break;
		case GROVE_MEMBER_OUT_STREAM_CLOSE:
			if ((k = map_find(s, o.stream_id, false)) >= 0) {
				grove_netsim_stream_close(net, s->map_ep[k]);
				map_del(s, k);
			}
			break;
		}
	}
	while (s->m && grove_member_next_event(s->m, &ev))
		on_event(s, &ev);
	if (s->m)
		grove_netsim_timer_set(net, s->net_node, grove_member_next_deadline(s->m));
}

static void h_datagram(void *ctx, uint64_t now, const char *from, const uint8_t *b, size_t len)
{
	grove_simnode_t *s = ctx;
	if (!s->m)
		return;
	grove_member_recv_datagram(s->m, now, from, b, len);
	pump(s);
}

static void h_open(void *ctx, uint64_t now, uint32_t ep, const char *from)
{
	grove_simnode_t *s = ctx;
	uint32_t id;
	if (!s->m || grove_member_stream_accept(s->m, now, from, &id) < 0) {
		grove_netsim_stream_close(s->cl->net, ep);
		return;
	}
	map_add(s, id, ep);
	pump(s);
}

static void h_frame(void *ctx, uint64_t now, uint32_t ep, const uint8_t *b, size_t len)
{
	grove_simnode_t *s = ctx;
	int k = map_find(s, ep, true);
	if (!s->m || k < 0)
		return;
	grove_member_stream_recv(s->m, now, s->map_id[k], b, len);
	pump(s);
}

static void h_closed(void *ctx, uint64_t now, uint32_t ep)
{
	grove_simnode_t *s = ctx;
	int k = map_find(s, ep, true);
	if (k < 0)
		return;
	uint32_t id = s->map_id[k];
	map_del(s, k);
	if (!s->m)
		return;
	grove_member_stream_closed(s->m, now, id);
	pump(s);
}

static void h_timer(void *ctx, uint64_t now)
{
	grove_simnode_t *s = ctx;
	if (!s->m)
		return;
	grove_member_tick(s->m, now);
	pump(s);
}

static const grove_netsim_handlers_t grove__sim_handlers = {
	.on_datagram = h_datagram,
	.on_stream_open = h_open,
	.on_stream_frame = h_frame,
	.on_stream_closed = h_closed,
	.on_timer = h_timer,
};

/* --- lifecycle ----------------------------------------------------------------------- */

void grove_simcluster_init(grove_simcluster_t *cl, size_t n, uint64_t seed, const grove_member_config_t *base,
			   bool secure)
{
	memset(cl, 0, sizeof(*cl));
	cl->net = grove_netsim_create(seed, GROVE_TEST_NOW_MS);
	cl->nodes = calloc(n, sizeof(*cl->nodes));
	GROVE_ASSERT(cl->nodes != NULL);
	cl->n = n;
	cl->seed = seed;
	cl->secure = secure;
	cl->save_on_change = true;
	if (base)
		cl->base = *base;
	else
		grove_member_config_init(&cl->base);
	if (secure && !grove__sim_ca_ready) {
		grove_test_ca_init(&grove__sim_ca, "sim-ca");
		grove__sim_ca_ready = true;
	}
	for (size_t i = 0; i < n; i++) {
		grove_simnode_t *s = &cl->nodes[i];
		s->cl = cl;
		s->index = i;
		snprintf(s->id, sizeof(s->id), "node-%zu", i);
		snprintf(s->addr, sizeof(s->addr), "n%zu:7946", i);
		s->net_node = grove_netsim_add_node(cl->net, s->addr, &grove__sim_handlers, s);
		GROVE_ASSERT(s->net_node == (int)i);
		grove_netsim_set_down(cl->net, s->net_node, true);
		if (secure)
			grove_test_identity(&s->ident, &grove__sim_ca, &grove__sim_ca, s->id, 0, GROVE_TEST_EXPIRES_MS);
	}
}

static void destroy_core(grove_simnode_t *s)
{
	grove_member_destroy(s->m);
	s->m = NULL;
	grove_peerbook_destroy(s->book);
	s->book = NULL;
	s->map_len = 0;
}

void grove_simcluster_close(grove_simcluster_t *cl)
{
	for (size_t i = 0; i < cl->n; i++) {
		destroy_core(&cl->nodes[i]);
		grove_free(cl->nodes[i].saved);
		if (cl->secure)
			grove_identity_close(&cl->nodes[i].ident);
	}
	free(cl->nodes);
	grove_netsim_destroy(cl->net);
}

static void make_secure(grove_simnode_t *s, grove_member_config_t *cfg)
{
	grove_peerbook_config_t pc = { .self = &s->ident };
	int rc = grove_peerbook_create(&pc, &s->book);
	GROVE_ASSERT(rc == 0);
	grove_sender_init(&s->sender, &s->ident, ++s->epoch);
	grove_member_secure_init(&s->sec, &s->sender, s->book);
	rc = grove_member_secure_config(&s->sec, cfg);
	GROVE_ASSERT(rc == 0);
}

void grove_simcluster_start(grove_simcluster_t *cl, size_t i, const size_t *seeds, size_t seed_count, bool restore)
{
	grove_simnode_t *s = &cl->nodes[i];
	const char *seed_addrs[GROVE_MEMBER_SEEDS_MAX];
	GROVE_ASSERT(seed_count <= GROVE_MEMBER_SEEDS_MAX);
	destroy_core(s);
	grove_member_config_t cfg = cl->base;
	cfg.id = s->id;
	cfg.addr = s->addr;
	for (size_t k = 0; k < seed_count; k++)
		seed_addrs[k] = cl->nodes[seeds[k]].addr;
	cfg.seeds = seed_addrs;
	cfg.seed_count = seed_count;
	cfg.rng_seed = cl->seed * 1000003ULL + i * 7919ULL + s->epoch;
	if (cl->secure)
		make_secure(s, &cfg);
	else
		s->epoch++;
	int rc = grove_member_create(&cfg, &s->m);
	GROVE_ASSERT(rc == 0);
	if (restore && s->saved) {
		rc = grove_member_restore(s->m, s->saved, s->saved_len);
		GROVE_ASSERT(rc == 0);
	}
	s->up = true;
	s->left = false;
	grove_netsim_set_down(cl->net, s->net_node, false);
	rc = grove_member_join(s->m, grove_netsim_now(cl->net));
	GROVE_ASSERT(rc == 0);
	pump(s);
}

void grove_simcluster_kill(grove_simcluster_t *cl, size_t i)
{
	grove_simnode_t *s = &cl->nodes[i];
	s->up = false;
	grove_netsim_set_down(cl->net, s->net_node, true);
	destroy_core(s);
}

void grove_simcluster_pause(grove_simcluster_t *cl, size_t i, bool paused)
{
	grove_simnode_t *s = &cl->nodes[i];
	s->up = !paused;
	grove_netsim_set_down(cl->net, s->net_node, paused);
}

void grove_simcluster_leave(grove_simcluster_t *cl, size_t i)
{
	grove_simnode_t *s = &cl->nodes[i];
	uint64_t done_by;
	int rc = grove_member_leave(s->m, grove_netsim_now(cl->net), &done_by);
	GROVE_ASSERT(rc == 0);
	s->left = true;
	pump(s);
	grove_simcluster_run(cl, done_by);
	grove_simcluster_kill(cl, i);
}

void grove_simcluster_run(grove_simcluster_t *cl, uint64_t until_ms)
{
	grove_netsim_run_until(cl->net, until_ms);
}

uint64_t grove_simcluster_now(const grove_simcluster_t *cl)
{
	return grove_netsim_now(cl->net);
}

/* --- views ------------------------------------------------------------------------- */

grove_member_state_t grove_simcluster_view(const grove_simcluster_t *cl, size_t i, size_t j)
{
	grove_member_info_t info;
	const grove_simnode_t *s = &cl->nodes[i];
	if (!s->m || grove_member_find(s->m, cl->nodes[j].id, &info) < 0)
		return 0;
	return info.state;
}

bool grove_simcluster_all_see_alive(const grove_simcluster_t *cl, size_t alive)
{
	for (size_t i = 0; i < cl->n; i++) {
		const grove_simnode_t *s = &cl->nodes[i];
		if (s->m && s->up && !s->left && grove_member_count_state(s->m, GROVE_MEMBER_ALIVE) != alive)
			return false;
	}
	return true;
}

bool grove_simcluster_all_see(const grove_simcluster_t *cl, size_t j, grove_member_state_t st)
{
	for (size_t i = 0; i < cl->n; i++) {
		const grove_simnode_t *s = &cl->nodes[i];
		if (i != j && s->m && s->up && !s->left && grove_simcluster_view(cl, i, j) != st)
			return false;
	}
	return true;
}

uint64_t grove_simcluster_run_until_pred(grove_simcluster_t *cl, uint64_t deadline_ms, uint64_t step_ms,
					 bool (*pred)(const grove_simcluster_t *, const void *), const void *arg)
{
	for (uint64_t t = grove_simcluster_now(cl); t <= deadline_ms; t += step_ms) {
		grove_simcluster_run(cl, t);
		if (pred(cl, arg))
			return t;
	}
	return 0;
}
