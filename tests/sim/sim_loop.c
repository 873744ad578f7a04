/*
 * sim_loop.c - the simulator's defaults, the BLAKE2b trace hash over every
 * delivered event (the network's and the simulator's own, in the order the
 * network returns them) with a ring of the last ones for failure reports,
 * the failure report and its replay command, and each node's local clock.
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

/* --- trace ---------------------------------------------------------------- */

static uint8_t sim_trace_kind(const grove_netsim_ev_t *ev)
{
	switch (ev->kind) {
	case GROVE_NETSIM_EV_DATAGRAM: return SIM_EV_DGRAM;
	case GROVE_NETSIM_EV_STREAM_OPEN: return SIM_EV_SOPEN;
	case GROVE_NETSIM_EV_STREAM_FRAME: return SIM_EV_SFRAME;
	case GROVE_NETSIM_EV_STREAM_CLOSED: return SIM_EV_SCLOSE;
	case GROVE_NETSIM_EV_TIMER: return SIM_EV_TIMER;
	case GROVE_NETSIM_EV_USER: return (uint8_t)ev->user;
	default: return 0; /* writable: no flow control in the simulator */
	}
}

void sim_trace_note(sim_t *s, const grove_netsim_ev_t *ev, int note)
{
	uint8_t hdr[8 + 1 + 1 + 4 + 4 + 4 + 4];
	uint64_t t = ev->at_ms;
	uint32_t dst = (uint32_t)ev->node, src = ev->from >= 0 ? (uint32_t)ev->from : dst, len = (uint32_t)ev->len;
	uint8_t kind = sim_trace_kind(ev);
	memcpy(hdr, &t, 8);
	hdr[8] = kind;
	hdr[9] = ev->tag;
	memcpy(hdr + 10, &dst, 4);
	memcpy(hdr + 14, &src, 4);
	memcpy(hdr + 18, &len, 4);
	int32_t n32 = note;
	memcpy(hdr + 22, &n32, 4);
	crypto_generichash_update(&s->trace, hdr, sizeof(hdr));
	if (len > 0)
		crypto_generichash_update(&s->trace, ev->bytes, len);
	sim_trace_rec_t *r = &s->tail[s->tail_count++ % SIM_TRACE_TAIL_MAX];
	*r = (sim_trace_rec_t){ ev->at_ms, kind, ev->tag, src, dst, len, note };
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
		(unsigned long long)sim_now(s), s->res.failure);
	sim_print_replay(&s->cfg, stderr);
	sim_print_tail(s, stderr);
}

uint64_t sim_local_ms(const sim_t *s, const sim_node_t *nd)
{
	return (uint64_t)((int64_t)(SIM_START_MS + sim_now(s)) + nd->skew_ms);
}

void sim_hash_hex(const uint8_t hash[32], char out[65])
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", hash[i]);
}
