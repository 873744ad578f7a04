/*
 * sim_loop.c - the simulator's clock and event loop: a binary heap of events
 * ordered by (virtual time, sequence number), the fault schedule drawn from
 * the one seed, the BLAKE2b trace hash over every delivered event with a
 * ring of the last ones for failure reports, and sim_run (fault phase, then
 * settle until convergence within the bound, then the model check).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "tests/sim/sim_int.h"

static const char *const sim_kind_names[] = {
	"?", "dgram", "sopen", "sframe", "sclose", "timer", "crash", "restart",
	"part+", "part-", "op", "forge", "check",
};

void sim_config_init(sim_config_t *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->seed = 1;
	cfg->nodes = 5;
	cfg->membership = true;
	cfg->antientropy = true;
	cfg->secure = true;
	cfg->peers = SIM_PEERS_MEMBER;
	cfg->lat_min_ms = 1;
	cfg->lat_max_ms = 20;
	cfg->jitter_ms = 5;
	cfg->loss = 0.05;
	cfg->dup = 0.02;
	cfg->fault_ms = 10000;
	cfg->partitions = 2;
	cfg->crashes = 2;
	cfg->skew_max_ms = 100;
	cfg->forgeries = 20;
	cfg->ops = 200;
	cfg->keys = 4;
	cfg->settle_max_ms = 60000;
	cfg->check_every_ms = 250;
	cfg->trace_tail = 40;
}

/* --- heap ----------------------------------------------------------------- */

static bool sim_ev_less(const sim_ev_t *a, const sim_ev_t *b)
{
	return a->at_ms < b->at_ms || (a->at_ms == b->at_ms && a->seq < b->seq);
}

void sim_push(sim_t *s, sim_ev_t *ev)
{
	sim_heap_t *h = &s->heap;
	if (h->count == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 1024;
		if (cap > SIM_EVENTS_MAX) {
			sim_fail(s, "event queue full (%zu events)", h->count);
			grove_free(ev->bytes);
			return;
		}
		sim_ev_t *n = grove_realloc(h->ev, cap * sizeof(*n));
		GROVE_ASSERT(n != NULL);
		h->ev = n;
		h->cap = cap;
	}
	if (ev->at_ms < s->now)
		ev->at_ms = s->now;
	ev->seq = h->next_seq++;
	size_t i = h->count++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (!sim_ev_less(ev, &h->ev[p]))
			break;
		h->ev[i] = h->ev[p];
		i = p;
	}
	h->ev[i] = *ev;
}

bool sim_pop(sim_t *s, sim_ev_t *out)
{
	sim_heap_t *h = &s->heap;
	if (h->count == 0)
		return false;
	*out = h->ev[0];
	sim_ev_t last = h->ev[--h->count];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= h->count)
			break;
		if (c + 1 < h->count && sim_ev_less(&h->ev[c + 1], &h->ev[c]))
			c++;
		if (!sim_ev_less(&h->ev[c], &last))
			break;
		h->ev[i] = h->ev[c];
		i = c;
	}
	if (h->count > 0)
		h->ev[i] = last;
	return true;
}

/* --- trace ---------------------------------------------------------------- */

void sim_trace_note(sim_t *s, const sim_ev_t *ev, int note)
{
	uint8_t hdr[8 + 1 + 1 + 4 + 4 + 4 + 4];
	uint64_t t = ev->at_ms;
	memcpy(hdr, &t, 8);
	hdr[8] = ev->kind;
	hdr[9] = ev->layer;
	memcpy(hdr + 10, &ev->dst, 4);
	memcpy(hdr + 14, &ev->src, 4);
	memcpy(hdr + 18, &ev->len, 4);
	int32_t n32 = note;
	memcpy(hdr + 22, &n32, 4);
	crypto_generichash_update(&s->trace, hdr, sizeof(hdr));
	if (ev->len > 0)
		crypto_generichash_update(&s->trace, ev->bytes, ev->len);
	sim_trace_rec_t *r = &s->tail[s->tail_count++ % SIM_TRACE_TAIL_MAX];
	*r = (sim_trace_rec_t){ ev->at_ms, ev->kind, ev->layer, ev->src, ev->dst, ev->len, note };
	s->res.events++;
}

static void sim_print_tail(const sim_t *s, FILE *f)
{
	uint64_t want = s->cfg.trace_tail < SIM_TRACE_TAIL_MAX ? s->cfg.trace_tail : SIM_TRACE_TAIL_MAX;
	uint64_t first = s->tail_count > want ? s->tail_count - want : 0;
	fprintf(f, "last %llu events (t_ms kind layer src->dst len note):\n",
		(unsigned long long)(s->tail_count - first));
	for (uint64_t k = first; k < s->tail_count; k++) {
		const sim_trace_rec_t *r = &s->tail[k % SIM_TRACE_TAIL_MAX];
		fprintf(f, "  %8llu %-7s %s n%u->n%u %u %d\n", (unsigned long long)r->at_ms,
			sim_kind_names[r->kind], r->layer == SIM_L_AE ? "ae" : "mb", r->src, r->dst,
			r->len, r->note);
	}
}

void sim_print_replay(const sim_config_t *c, void *fp)
{
	FILE *f = fp;
	fprintf(f, "replay: %s --seed %llu --nodes %u --membership %d --antientropy %d --secure %d"
		" --push %d --oracle %d --loss %g --dup %g --loss-after %g --fault-ms %llu"
		" --partitions %u --crashes %u --skew %u --forge %u --ops %u --keys %u"
		" --lat %u:%u --jitter %u --settle-ms %llu\n",
		c->argv0 ? c->argv0 : "bin/grove-sim", (unsigned long long)c->seed, c->nodes,
		c->membership, c->antientropy, c->secure, c->ae_push, c->peers == SIM_PEERS_ORACLE,
		c->loss, c->dup, c->loss_after, (unsigned long long)c->fault_ms, c->partitions,
		c->crashes, c->skew_max_ms, c->forgeries, c->ops, c->keys, c->lat_min_ms,
		c->lat_max_ms, c->jitter_ms, (unsigned long long)c->settle_max_ms);
}

void sim_fail(sim_t *s, const char *fmt, ...)
{
	if (s->failed)
		return;
	s->failed = true;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->res.failure, sizeof(s->res.failure), fmt, ap);
	va_end(ap);
	if (s->cfg.quiet)
		return;
	fprintf(stderr, "SIM FAILURE seed=%llu t=%llu ms: %s\n", (unsigned long long)s->cfg.seed,
		(unsigned long long)s->now, s->res.failure);
	sim_print_replay(&s->cfg, stderr);
	sim_print_tail(s, stderr);
}

uint64_t sim_local_ms(const sim_t *s, const sim_node_t *nd)
{
	return (uint64_t)((int64_t)(SIM_START_MS + s->now) + nd->skew_ms);
}

void sim_hash_hex(const uint8_t hash[32], char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", hash[i]);
}
