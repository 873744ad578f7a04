/*
 * util_netsim_ae.c - anti-entropy cores on the simulated network (see
 * util_netsim_ae.h).  Each network event feeds one core, then the harness
 * "pumps" it: outputs go to the network (a frame that leaves too much in
 * flight makes the stream unwritable) and the node's timer is armed at the
 * core's next deadline (one millisecond on when a tick left it due).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "grove/alloc.h"
#include "tests/util_netsim_ae.h"
#include "tests/util_storage.h"

#define START_MS 1700000000000ULL

static uint64_t cluster_clock(void *ctx)
{
	return grove_netsim_now(((grove_aecluster_t *)ctx)->net);
}

/* Random distinct joined peers other than self (what membership gives). */
static size_t cluster_peers(void *ctx, char (*addrs)[GROVE_AE_ADDR_MAX + 1], size_t max)
{
	grove_aenode_t *nd = ctx;
	grove_aecluster_t *c = nd->cl;
	int cand[GROVE_AECL_NODES_MAX];
	size_t n = 0, k = 0;
	for (int i = 0; i < c->n; i++)
		if (i != nd->index && c->node[i].joined)
			cand[n++] = i;
	for (; k < max && n > 0; k++) {
		size_t j = grove_rng_below(&nd->rng, n);
		snprintf(addrs[k], GROVE_AE_ADDR_MAX + 1, "%s", c->node[cand[j]].addr);
		cand[j] = cand[--n];
	}
	return k;
}

static void node_init(grove_aecluster_t *c, int i, const grove_ae_config_t *cfg)
{
	grove_aenode_t *nd = &c->node[i];
	nd->cl = c;
	nd->index = i;
	snprintf(nd->addr, sizeof(nd->addr), "n%d", i);
	GROVE_ASSERT(grove_netsim_add_node(c->net, nd->addr) == i);
	grove_rng_seed(&nd->rng, grove_rng_next(&c->rng));
	grove_db_options_t o;
	grove_test_db_options_init(&o);
	o.node_id = nd->addr;
	o.clock = cluster_clock;
	o.clock_ctx = c;
	char err[256];
	int rc = grove_db_open(NULL, &o, &nd->db, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "db open: %s\n", err);
	GROVE_ASSERT(rc == 0);
	grove_ae_config_t k = *cfg;
	k.peers = cluster_peers;
	k.peers_ctx = nd;
	rc = grove_ae_create(&k, nd->db, &nd->rng, &nd->ae);
	GROVE_ASSERT(rc == 0);
	nd->joined = true;
}

grove_aecluster_t *grove_aecluster_create(int n, uint64_t seed, const grove_ae_config_t *cfg)
{
	GROVE_ASSERT(n > 0 && n <= GROVE_AECL_NODES_MAX);
	grove_aecluster_t *c = calloc(1, sizeof(*c));
	GROVE_ASSERT(c != NULL);
	c->n = n;
	grove_rng_seed(&c->rng, seed);
	c->net = grove_netsim_create(grove_rng_next(&c->rng), START_MS);
	c->faults = (grove_netsim_faults_t){ .delay_min_ms = 1, .delay_max_ms = 5, .streams_fixed = true,
					     .stream_cap_bytes = 256 * 1024 };
	grove_ae_config_t def;
	if (cfg == NULL) {
		grove_ae_config_init(&def);
		def.interval_ms = 200;
		cfg = &def;
	}
	for (int i = 0; i < n; i++)
		node_init(c, i, cfg);
	return c;
}

void grove_aecluster_destroy(grove_aecluster_t *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->n; i++) {
		grove_ae_destroy(c->node[i].ae);
		grove_db_close(c->node[i].db);
	}
	grove_netsim_destroy(c->net);
	free(c);
}

uint64_t grove_aecluster_now(const grove_aecluster_t *c)
{
	return grove_netsim_now(c->net);
}

/* --- pumping ------------------------------------------------------------------------ */

static void route(grove_aecluster_t *c, int i, const grove_out_t *o)
{
	grove_netsim_ep_t ep;
	switch (o->kind) {
	case GROVE_OUT_DATAGRAM: grove_netsim_send(c->net, i, o->addr, 0, o->bytes, o->len); break;
	case GROVE_OUT_STREAM_OPEN: grove_netsim_stream_open(c->net, i, o->addr, 0, o->stream_id); break;
	case GROVE_OUT_STREAM_FRAME:
		ep = grove_netsim_stream_find(c->net, i, 0, o->stream_id);
		if (ep && !grove_netsim_stream_send(c->net, ep, o->bytes, o->len))
			grove_ae_stream_set_writable(c->node[i].ae, o->stream_id, false);
		break;
	case GROVE_OUT_STREAM_CLOSE:
		ep = grove_netsim_stream_find(c->net, i, 0, o->stream_id);
		if (ep)
			grove_netsim_stream_close(c->net, ep);
		break;
	}
}

static void pump(grove_aecluster_t *c, int i, bool after_tick)
{
	grove_aenode_t *nd = &c->node[i];
	uint64_t now = grove_netsim_now(c->net);
	grove_out_t o;
	for (long k = 0; grove_ae_poll(nd->ae, now, &o); k++) {
		GROVE_ASSERT(k < GROVE_AECL_POLL_MAX);
		route(c, i, &o);
	}
	uint64_t dl = grove_ae_next_deadline(nd->ae);
	grove_netsim_timer_set(c->net, i, after_tick && dl <= now ? now + 1 : dl);
}

static void on_event(grove_aecluster_t *c, const grove_netsim_ev_t *ev)
{
	grove_ae_t *ae = c->node[ev->node].ae;
	uint32_t sid;
	switch (ev->kind) {
	case GROVE_NETSIM_EV_DATAGRAM:
		grove_ae_recv_datagram(ae, ev->at_ms, grove_netsim_addr(c->net, ev->from), ev->bytes, ev->len);
		break;
	case GROVE_NETSIM_EV_STREAM_OPEN:
		if (grove_ae_stream_accept(ae, ev->at_ms, grove_netsim_addr(c->net, ev->from), &sid) != 0) {
			c->opens_refused++;
			grove_netsim_stream_close(c->net, ev->ep);
			return;
		}
		grove_netsim_stream_bind(c->net, ev->ep, sid);
		break;
	case GROVE_NETSIM_EV_STREAM_FRAME: grove_ae_stream_recv(ae, ev->at_ms, ev->sid, ev->bytes, ev->len); break;
	case GROVE_NETSIM_EV_STREAM_CLOSED: grove_ae_stream_closed(ae, ev->at_ms, ev->sid); break;
	case GROVE_NETSIM_EV_STREAM_WRITABLE: grove_ae_stream_set_writable(ae, ev->sid, true); break;
	case GROVE_NETSIM_EV_TIMER:
		grove_ae_tick(ae, ev->at_ms);
		pump(c, ev->node, true);
		return;
	case GROVE_NETSIM_EV_USER: GROVE_ASSERT(!"no user events here");
	}
	pump(c, ev->node, false);
}

void grove_aecluster_run(grove_aecluster_t *c, uint64_t ms)
{
	uint64_t until = grove_netsim_now(c->net) + ms;
	grove_netsim_set_faults(c->net, &c->faults);
	for (int i = 0; i < c->n; i++)
		pump(c, i, false);
	grove_netsim_ev_t ev;
	while (grove_netsim_next(c->net, until, &ev))
		on_event(c, &ev);
}

void grove_aecluster_partition(grove_aecluster_t *c, const int *groups)
{
	for (int i = 0; i < c->n; i++)
		grove_netsim_set_group(c->net, i, groups ? groups[i] : 0);
}

/* --- convergence ---------------------------------------------------------------------- */

bool grove_aecluster_converged(const grove_aecluster_t *c)
{
	uint8_t r0[GROVE_DIGEST_BYTES], r[GROVE_DIGEST_BYTES];
	grove_db_root_digest(c->node[0].db, r0);
	for (int i = 1; i < c->n; i++) {
		grove_db_root_digest(c->node[i].db, r);
		if (memcmp(r, r0, sizeof(r)) != 0)
			return false;
	}
	return true;
}

uint64_t grove_aecluster_run_until_converged(grove_aecluster_t *c, uint64_t step_ms, uint64_t max_ms)
{
	uint64_t start = grove_aecluster_now(c);
	while (grove_aecluster_now(c) - start < max_ms) {
		if (grove_aecluster_converged(c))
			return grove_aecluster_now(c) - start;
		grove_aecluster_run(c, step_ms);
	}
	return grove_aecluster_converged(c) ? grove_aecluster_now(c) - start : UINT64_MAX;
}

typedef struct cmp_ctx {
	grove_db_t *a, *b;
	uint64_t keys, mismatches;
} cmp_ctx_t;

static int cmp_key(void *vctx, const void *key, size_t klen, grove_type_t type)
{
	(void)type;
	cmp_ctx_t *x = vctx;
	uint8_t *ea = NULL, *eb = NULL;
	size_t la = 0, lb = 0;
	int ra = grove_db_get_encoded(x->a, key, klen, &ea, &la);
	int rb = grove_db_get_encoded(x->b, key, klen, &eb, &lb);
	x->keys++;
	if (ra != 0 || rb != 0 || la != lb || memcmp(ea, eb, la) != 0)
		x->mismatches++;
	grove_free(ea);
	grove_free(eb);
	return 0;
}

uint64_t grove_aecluster_state_mismatches(grove_db_t *a, grove_db_t *b)
{
	cmp_ctx_t x = { a, b, 0, 0 };
	uint8_t *start = NULL;
	size_t slen = 0;
	for (int round = 0; round < 10000000; round++) {
		uint8_t *next = NULL;
		size_t nlen = 0;
		int rc = grove_db_scan(a, start, slen, 1024, cmp_key, &x, &next, &nlen);
		grove_free(start);
		start = next;
		slen = nlen;
		if (rc != 0) {
			x.mismatches++;
			break;
		}
		if (start == NULL)
			break;
	}
	grove_free(start);
	uint64_t ca = grove_db_count(a), cb = grove_db_count(b);
	return x.mismatches + (ca > cb ? ca - cb : cb - ca);
}

size_t grove_test_ae_one_peer(void *ctx, char (*addrs)[GROVE_AE_ADDR_MAX + 1], size_t max)
{
	if (max == 0)
		return 0;
	snprintf(addrs[0], sizeof(addrs[0]), "%s", (const char *)ctx);
	return 1;
}
