/*
 * test_ae_harness.h - an in-process cluster for anti-entropy tests and
 * benchmarks: N nodes, each a memory (or LevelDB) grove_db_t with a
 * grove_ae_t, on one virtual clock, joined by a simulated network.
 *
 * Datagrams: delivered after a random delay (reordering), with seeded loss
 * and duplication, dropped across a partition.  Streams: reliable, in
 * order, delivered after stream_delay_ms (0: in the same virtual instant),
 * with flow control as the node layer does it: frames wait in a per-link
 * queue, the receiver reads them as they are due, and the sender is made
 * unwritable while its link queue holds more than link_cap_bytes.  A partition closes
 * the streams that cross it.  Everything is replayable from the seed.
 *
 * Header-only (each test is one binary); functions are static and marked
 * unused so a test may use a subset.
 */
#ifndef GROVE_TEST_AE_HARNESS_H
#define GROVE_TEST_AE_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "base/rng.h"
#include "gossip/ae/antientropy.h"
#include "grove/db.h"

#define TH_FN static __attribute__((unused))
#define TH_NODES_MAX 300
#define TH_LINKS_MAX 4096
#define TH_DGRAMS_MAX 200000
#define TH_STEP_LOOPS_MAX 100000000

typedef struct th_frame {
	struct th_frame *next;
	uint64_t at_ms; /* due time */
	size_t len;
	bool close;
	uint8_t bytes[];
} th_frame_t;

typedef struct th_link {
	bool used;
	int a, b;         /* a opened to b */
	uint32_t sa, sb;  /* stream ids at a and b */
	th_frame_t *q_head[2], *q_tail[2]; /* [0]: a->b, [1]: b->a */
	size_t q_bytes[2];
	bool a_closed, b_closed;
} th_link_t;

typedef struct th_dgram {
	uint64_t at_ms;
	int from, to;
	size_t len;
	uint8_t *bytes;
} th_dgram_t;

typedef struct th_node {
	grove_db_t *db;
	grove_ae_t *ae;
	grove_rng_t rng;
	char addr[16];
	int group; /* partition group */
	bool joined; /* known to others as a peer */
} th_node_t;

typedef struct th_cluster {
	int n;
	th_node_t node[TH_NODES_MAX];
	uint64_t now_ms;
	grove_rng_t net_rng;
	double loss, dup;
	uint32_t delay_min_ms, delay_max_ms;
	size_t link_cap_bytes;
	uint32_t stream_delay_ms; /* one-way latency of stream frames (0: same instant) */
	th_link_t link[TH_LINKS_MAX];
	th_dgram_t *dgrams;
	size_t ndgrams;
	/* measurements */
	size_t link_peak_bytes;
	uint64_t dgrams_sent, dgrams_lost;
	uint64_t stream_bytes;
	uint64_t opens_refused;
} th_cluster_t;

typedef struct th_peers_ctx {
	th_cluster_t *c;
	int self;
} th_peers_ctx_t;

static th_peers_ctx_t th_peer_ctx[TH_NODES_MAX];

static uint64_t th_clock(void *ctx)
{
	return ((th_cluster_t *)ctx)->now_ms;
}

static int th_find_addr(const th_cluster_t *c, const char *addr)
{
	if (addr[0] != 'n')
		return -1;
	int i = atoi(addr + 1);
	return i >= 0 && i < c->n ? i : -1;
}

/* Random distinct joined peers other than self (what membership gives). */
static size_t th_peers(void *vctx, char (*addrs)[GROVE_AE_ADDR_MAX + 1], size_t max)
{
	th_peers_ctx_t *p = vctx;
	th_cluster_t *c = p->c;
	int cand[TH_NODES_MAX];
	size_t n = 0;
	for (int i = 0; i < c->n; i++)
		if (i != p->self && c->node[i].joined)
			cand[n++] = i;
	size_t k = 0;
	for (; k < max && n > 0; k++) {
		size_t j = grove_rng_below(&c->node[p->self].rng, n);
		snprintf(addrs[k], GROVE_AE_ADDR_MAX + 1, "%s", c->node[cand[j]].addr);
		cand[j] = cand[--n];
	}
	return k;
}

/* Opens node i's db (dir NULL: memory) and its core with cfg (NULL:
 * defaults, interval 200 ms). */
TH_FN void th_node_init(th_cluster_t *c, int i, const char *dir, const grove_ae_config_t *cfg)
{
	th_node_t *nd = &c->node[i];
	snprintf(nd->addr, sizeof(nd->addr), "n%d", i);
	grove_rng_seed(&nd->rng, grove_rng_next(&c->net_rng));
	grove_db_options_t o;
	grove_db_options_init(&o);
	o.node_id = nd->addr;
	o.clock = th_clock;
	o.clock_ctx = c;
	char err[256];
	int rc = grove_db_open(dir, &o, &nd->db, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "db open: %s\n", err);
	GROVE_ASSERT(rc == 0);
	grove_ae_config_t def;
	if (cfg == NULL) {
		grove_ae_config_init(&def);
		def.interval_ms = 200;
		cfg = &def;
	}
	grove_ae_config_t k = *cfg;
	th_peer_ctx[i] = (th_peers_ctx_t){ c, i };
	k.peers = th_peers;
	k.peers_ctx = &th_peer_ctx[i];
	rc = grove_ae_create(&k, nd->db, &nd->rng, &nd->ae);
	GROVE_ASSERT(rc == 0);
	nd->joined = true;
}

TH_FN th_cluster_t *th_cluster_new(int n, uint64_t seed, const grove_ae_config_t *cfg)
{
	GROVE_ASSERT(n <= TH_NODES_MAX);
	th_cluster_t *c = calloc(1, sizeof(*c));
	GROVE_ASSERT(c != NULL);
	c->dgrams = calloc(TH_DGRAMS_MAX, sizeof(th_dgram_t));
	GROVE_ASSERT(c->dgrams != NULL);
	c->n = n;
	c->now_ms = 1700000000000ULL;
	grove_rng_seed(&c->net_rng, seed);
	c->delay_min_ms = 1;
	c->delay_max_ms = 5;
	c->link_cap_bytes = 256 * 1024;
	for (int i = 0; i < n; i++)
		th_node_init(c, i, NULL, cfg);
	return c;
}

static void th_link_free_queues(th_link_t *l)
{
	for (int d = 0; d < 2; d++) {
		while (l->q_head[d]) {
			th_frame_t *f = l->q_head[d];
			l->q_head[d] = f->next;
			free(f);
		}
		l->q_tail[d] = NULL;
		l->q_bytes[d] = 0;
	}
}

TH_FN void th_cluster_free(th_cluster_t *c)
{
	for (int i = 0; i < TH_LINKS_MAX; i++)
		th_link_free_queues(&c->link[i]);
	for (size_t i = 0; i < c->ndgrams; i++)
		free(c->dgrams[i].bytes);
	for (int i = 0; i < c->n; i++) {
		grove_ae_destroy(c->node[i].ae);
		grove_db_close(c->node[i].db);
	}
	free(c->dgrams);
	free(c);
}

static bool th_reachable(const th_cluster_t *c, int a, int b)
{
	return c->node[a].group == c->node[b].group;
}

static void th_dgram_push(th_cluster_t *c, int from, int to, const uint8_t *b, size_t len)
{
	if (c->ndgrams >= TH_DGRAMS_MAX)
		return;
	uint32_t span = c->delay_max_ms - c->delay_min_ms + 1;
	th_dgram_t *d = &c->dgrams[c->ndgrams++];
	d->at_ms = c->now_ms + c->delay_min_ms + grove_rng_below(&c->net_rng, span);
	d->from = from;
	d->to = to;
	d->len = len;
	d->bytes = malloc(len ? len : 1);
	memcpy(d->bytes, b, len);
}

static void th_send_dgram(th_cluster_t *c, int from, const grove_out_t *o)
{
	int to = th_find_addr(c, o->addr);
	c->dgrams_sent++;
	if (to < 0 || !th_reachable(c, from, to) || grove_rng_unit(&c->net_rng) < c->loss) {
		c->dgrams_lost++;
		return;
	}
	th_dgram_push(c, from, to, o->bytes, o->len);
	if (grove_rng_unit(&c->net_rng) < c->dup)
		th_dgram_push(c, from, to, o->bytes, o->len);
}

static th_link_t *th_link_of(th_cluster_t *c, int node, uint32_t sid, int *dir)
{
	for (int i = 0; i < TH_LINKS_MAX; i++) {
		th_link_t *l = &c->link[i];
		if (!l->used)
			continue;
		if (l->a == node && l->sa == sid && !l->a_closed) {
			*dir = 0;
			return l;
		}
		if (l->b == node && l->sb == sid && !l->b_closed) {
			*dir = 1;
			return l;
		}
	}
	return NULL;
}

static void th_open(th_cluster_t *c, int from, const grove_out_t *o)
{
	int to = th_find_addr(c, o->addr);
	uint32_t sb = 0;
	th_link_t *l = NULL;
	for (int i = 0; i < TH_LINKS_MAX && l == NULL; i++)
		if (!c->link[i].used)
			l = &c->link[i];
	if (to < 0 || l == NULL || !th_reachable(c, from, to) ||
	    grove_ae_stream_accept(c->node[to].ae, c->now_ms, c->node[from].addr, &sb) != 0) {
		c->opens_refused++;
		grove_ae_stream_closed(c->node[from].ae, c->now_ms, o->stream_id);
		return;
	}
	memset(l, 0, sizeof(*l));
	*l = (th_link_t){ .used = true, .a = from, .b = to, .sa = o->stream_id, .sb = sb };
}

static void th_enqueue_frame(th_cluster_t *c, th_link_t *l, int dir, const uint8_t *b,
			     size_t len, bool close)
{
	th_frame_t *f = malloc(sizeof(*f) + len);
	GROVE_ASSERT(f != NULL);
	f->next = NULL;
	f->at_ms = c->now_ms + c->stream_delay_ms;
	f->len = len;
	f->close = close;
	if (len)
		memcpy(f->bytes, b, len);
	if (l->q_tail[dir])
		l->q_tail[dir]->next = f;
	else
		l->q_head[dir] = f;
	l->q_tail[dir] = f;
	l->q_bytes[dir] += len;
	c->stream_bytes += len;
	if (l->q_bytes[dir] > c->link_peak_bytes)
		c->link_peak_bytes = l->q_bytes[dir];
	if (l->q_bytes[dir] > c->link_cap_bytes) {
		int sender = dir == 0 ? l->a : l->b;
		grove_ae_stream_set_writable(c->node[sender].ae, dir == 0 ? l->sa : l->sb, false);
	}
}

/* Handles one output of node i; returns false when there was none. */
static bool th_poll_one(th_cluster_t *c, int i)
{
	grove_out_t o;
	if (!grove_ae_poll(c->node[i].ae, c->now_ms, &o))
		return false;
	int dir;
	th_link_t *l;
	switch (o.kind) {
	case GROVE_OUT_DATAGRAM:
		th_send_dgram(c, i, &o);
		break;
	case GROVE_OUT_STREAM_OPEN:
		th_open(c, i, &o);
		break;
	case GROVE_OUT_STREAM_FRAME:
	case GROVE_OUT_STREAM_CLOSE:
		l = th_link_of(c, i, o.stream_id, &dir);
		if (l == NULL)
			break;
		th_enqueue_frame(c, l, dir, o.bytes, o.len, o.kind == GROVE_OUT_STREAM_CLOSE);
		if (o.kind == GROVE_OUT_STREAM_CLOSE) {
			if (dir == 0)
				l->a_closed = true;
			else
				l->b_closed = true;
		}
		break;
	}
	return true;
}

/* Delivers queued frames of one direction while the receiver reads. */
static bool th_deliver_link(th_cluster_t *c, th_link_t *l, int dir)
{
	int to = dir == 0 ? l->b : l->a;
	uint32_t sid = dir == 0 ? l->sb : l->sa;
	bool to_closed = dir == 0 ? l->b_closed : l->a_closed;
	bool moved = false;
	while (l->q_head[dir]) {
		th_frame_t *f = l->q_head[dir];
		if (f->at_ms > c->now_ms)
			break;
		l->q_head[dir] = f->next;
		if (!l->q_head[dir])
			l->q_tail[dir] = NULL;
		l->q_bytes[dir] -= f->len;
		if (!to_closed && f->close) {
			grove_ae_stream_closed(c->node[to].ae, c->now_ms, sid);
			to_closed = true;
			if (dir == 0)
				l->b_closed = true;
			else
				l->a_closed = true;
		} else if (!to_closed) {
			grove_ae_stream_recv(c->node[to].ae, c->now_ms, sid, f->bytes, f->len);
		}
		free(f);
		moved = true;
	}
	if (l->q_bytes[dir] <= c->link_cap_bytes / 2) {
		int from = dir == 0 ? l->a : l->b;
		bool from_closed = dir == 0 ? l->a_closed : l->b_closed;
		if (!from_closed)
			grove_ae_stream_set_writable(c->node[from].ae, dir == 0 ? l->sa : l->sb, true);
	}
	if (l->a_closed && l->b_closed && !l->q_head[0] && !l->q_head[1])
		l->used = false;
	return moved;
}

/* Polls and delivers stream traffic until nothing moves at this instant. */
TH_FN void th_settle(th_cluster_t *c)
{
	for (long loops = 0; loops < TH_STEP_LOOPS_MAX; loops++) {
		bool moved = false;
		for (int i = 0; i < c->n; i++)
			while (th_poll_one(c, i))
				moved = true;
		for (int k = 0; k < TH_LINKS_MAX; k++) {
			th_link_t *l = &c->link[k];
			if (l->used) {
				moved |= th_deliver_link(c, l, 0);
				moved |= l->used && th_deliver_link(c, l, 1);
			}
		}
		if (!moved)
			return;
	}
	GROVE_ASSERT(!"harness did not settle");
}

static void th_deliver_dgrams(th_cluster_t *c)
{
	size_t w = 0;
	for (size_t r = 0; r < c->ndgrams; r++) {
		th_dgram_t d = c->dgrams[r];
		if (d.at_ms <= c->now_ms) {
			if (th_reachable(c, d.from, d.to))
				grove_ae_recv_datagram(c->node[d.to].ae, c->now_ms, c->node[d.from].addr,
						       d.bytes, d.len);
			free(d.bytes);
		} else {
			c->dgrams[w++] = d;
		}
	}
	c->ndgrams = w;
}

static uint64_t th_next_time(const th_cluster_t *c, uint64_t until)
{
	uint64_t t = until;
	for (int i = 0; i < c->n; i++) {
		uint64_t d = grove_ae_next_deadline(c->node[i].ae);
		if (d < t)
			t = d;
	}
	for (size_t k = 0; k < c->ndgrams; k++)
		if (c->dgrams[k].at_ms < t)
			t = c->dgrams[k].at_ms;
	for (int k = 0; k < TH_LINKS_MAX; k++)
		for (int d = 0; d < 2; d++)
			if (c->link[k].used && c->link[k].q_head[d] && c->link[k].q_head[d]->at_ms < t)
				t = c->link[k].q_head[d]->at_ms;
	return t > c->now_ms ? t : c->now_ms;
}

/* Runs the cluster in virtual time up to now + ms. */
TH_FN void th_run(th_cluster_t *c, uint64_t ms)
{
	uint64_t until = c->now_ms + ms;
	while (c->now_ms < until) {
		c->now_ms = th_next_time(c, until);
		th_deliver_dgrams(c);
		for (int i = 0; i < c->n; i++)
			if (grove_ae_next_deadline(c->node[i].ae) <= c->now_ms)
				grove_ae_tick(c->node[i].ae, c->now_ms);
		th_settle(c);
		if (c->now_ms < until && th_next_time(c, until) == c->now_ms)
			c->now_ms++; /* deadlines already served at this instant */
	}
}

TH_FN bool th_converged(const th_cluster_t *c)
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

/* Runs until every root digest is equal (checked every step_ms), at most
 * max_ms; returns the virtual time it took, or UINT64_MAX. */
TH_FN uint64_t th_run_until_converged(th_cluster_t *c, uint64_t step_ms, uint64_t max_ms)
{
	uint64_t start = c->now_ms;
	while (c->now_ms - start < max_ms) {
		if (th_converged(c))
			return c->now_ms - start;
		th_run(c, step_ms);
	}
	return th_converged(c) ? c->now_ms - start : UINT64_MAX;
}

/* Closes every stream crossing groups (as a partition would). */
TH_FN void th_partition(th_cluster_t *c, const int *groups)
{
	for (int i = 0; i < c->n; i++)
		c->node[i].group = groups ? groups[i] : 0;
	for (int k = 0; k < TH_LINKS_MAX; k++) {
		th_link_t *l = &c->link[k];
		if (!l->used || th_reachable(c, l->a, l->b))
			continue;
		if (!l->a_closed)
			grove_ae_stream_closed(c->node[l->a].ae, c->now_ms, l->sa);
		if (!l->b_closed)
			grove_ae_stream_closed(c->node[l->b].ae, c->now_ms, l->sb);
		th_link_free_queues(l);
		l->used = false;
	}
}

typedef struct th_cmp_ctx {
	grove_db_t *a, *b;
	uint64_t keys, mismatches;
} th_cmp_ctx_t;

static int th_cmp_key(void *vctx, const void *key, size_t klen, grove_type_t type)
{
	(void)type;
	th_cmp_ctx_t *x = vctx;
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

/* Live keys of db a whose encoded state differs in db b (or is missing),
 * plus the difference of the live key counts: 0 means byte-identical. */
TH_FN uint64_t th_state_mismatches(grove_db_t *a, grove_db_t *b)
{
	th_cmp_ctx_t x = { a, b, 0, 0 };
	uint8_t *start = NULL;
	size_t slen = 0;
	for (int round = 0; round < 10000000; round++) {
		uint8_t *next = NULL;
		size_t nlen = 0;
		int rc = grove_db_scan(a, start, slen, 1024, th_cmp_key, &x, &next, &nlen);
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

#endif
