/*
 * sim_run.c - building a simulated cluster, the fault schedule, the event
 * dispatch and the two phases of sim_run: faults (partitions, crashes and
 * restarts, loss, duplication, forged datagrams, client operations), then
 * settling (faults off, every node restarted) until every node holds one
 * root digest and one membership view, or the bound passes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "tests/sim/sim_int.h"

/* One of the simulator's own events (enum sim_ev_kind), in order with the
 * network's. */
static void sim_at(sim_t *s, uint64_t at, uint8_t kind, uint32_t dst, uint32_t gen)
{
	grove_netsim_post(s->net, at, (int)dst, kind, gen);
}

static uint64_t sim_rand_time(sim_t *s, uint64_t lo, uint64_t hi)
{
	return hi > lo ? lo + grove_rng_below(&s->rng, hi - lo) : lo;
}

/* Every fault, operation and forgery of the fault phase, drawn up front. */
static void sim_schedule(sim_t *s)
{
	const sim_config_t *c = &s->cfg;
	uint64_t end = c->fault_ms;
	for (uint32_t k = 0; k < c->partitions && end > 1000; k++) {
		uint64_t t = sim_rand_time(s, 0, end - 500);
		sim_at(s, t, SIM_EV_PART_START, 0, 0);
		sim_at(s, sim_rand_time(s, t + 200, t + 200 + end / 3), SIM_EV_PART_END, 0, 0);
	}
	for (uint32_t k = 0; k < c->crashes && end > 1000; k++)
		sim_at(s, sim_rand_time(s, 500, end - 500), SIM_EV_CRASH,
		       (uint32_t)grove_rng_below(&s->rng, s->n), 0);
	for (uint32_t k = 0; k < c->ops; k++)
		sim_at(s, sim_rand_time(s, 0, end), SIM_EV_OP, (uint32_t)grove_rng_below(&s->rng, s->n), 0);
	for (uint32_t k = 0; k < c->forgeries && c->secure; k++)
		sim_at(s, sim_rand_time(s, 1000, end + 1000), SIM_EV_FORGE,
		       (uint32_t)grove_rng_below(&s->rng, s->n), 0);
	for (uint64_t t = c->check_every_ms; c->check_every_ms && t < end; t += c->check_every_ms)
		sim_at(s, t, SIM_EV_CHECK, (uint32_t)grove_rng_below(&s->rng, s->n), 0);
}

/* Current resident set size (Linux /proc/self/statm); 0 if unknown. */
static size_t sim_rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size = 0, resident = 0;
	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

sim_t *sim_create(const sim_config_t *cfg)
{
	if (cfg->nodes == 0 || cfg->nodes > SIM_NODES_MAX || sodium_init() < 0)
		return NULL;
	sim_t *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->cfg = *cfg;
	s->n = cfg->nodes;
	grove_rng_seed(&s->rng, cfg->seed);
	crypto_generichash_init(&s->trace, NULL, 0, 32);
	s->nodes = calloc(s->n, sizeof(*s->nodes));
	if (!s->nodes || sim_net_create(s) != 0 || sim_model_init(s) != 0)
		goto fail;
	/* CA and an outsider CA (forgeries), deterministic from the seed. */
	uint8_t seed[GROVE_SIGN_SEED_BYTES];
	for (size_t k = 0; k < sizeof(seed); k++)
		seed[k] = (uint8_t)grove_rng_next(&s->rng);
	if (grove_sign_seed_keypair(s->ca_pk, s->ca_sk, seed) != 0)
		goto fail;
	seed[0] ^= 0xff;
	if (grove_sign_seed_keypair(s->evil_pk, s->evil_sk, seed) != 0)
		goto fail;
	for (uint32_t i = 0; i < s->n; i++)
		if (sim_node_init(s, i) != 0)
			goto fail;
	for (uint32_t i = 0; i < s->n; i++)
		if (sim_node_start(s, i) != 0)
			goto fail;
	sim_schedule(s);
	s->res.rss_bytes = sim_rss_bytes();
	return s;
fail:
	sim_destroy(s);
	return NULL;
}

void sim_destroy(sim_t *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; s->net && s->nodes && i < s->n; i++)
		sim_node_free(s, i); /* takes the node off the network: network freed after */
	grove_netsim_destroy(s->net);
	free(s->nodes);
	grove_free(s->dup_accepted);
	sim_model_free(s);
	free(s);
}

static void sim_crash_ev(sim_t *s, uint32_t i)
{
	sim_node_t *nd = &s->nodes[i];
	if (!nd->up || s->faults_over)
		return;
	sim_crash(s, i);
	uint64_t back = sim_rand_time(s, sim_now(s) + 200, sim_now(s) + 5000);
	if (back > s->cfg.fault_ms)
		back = s->cfg.fault_ms;
	sim_at(s, back, SIM_EV_RESTART, i, nd->life);
}

void sim_crash(sim_t *s, uint32_t i)
{
	sim_node_stop(s, i);
	s->res.crashes++;
}

static void sim_restart(sim_t *s, uint32_t i)
{
	if (s->nodes[i].up)
		return;
	if (sim_node_start(s, i) != 0) {
		sim_fail(s, "node n%u failed to restart", i);
		return;
	}
	s->res.restarts++;
}

static uint64_t sim_drops(const sim_node_t *nd, uint64_t by_reason[GROVE_DROP_COUNT])
{
	uint64_t total = 0;
	const grove_drop_stats_t *st = nd->book ? grove_peerbook_stats(nd->book) : NULL;
	for (int r = 0; st && r < GROVE_DROP_COUNT; r++) {
		total += st->dropped[r];
		if (by_reason)
			by_reason[r] = st->dropped[r];
	}
	return total;
}

/* A hostile datagram must be dropped by the peer book (one drop counted,
 * nothing accepted). */
static void sim_forge_check(sim_t *s, uint32_t target, const uint8_t *buf, size_t len, uint8_t layer)
{
	sim_node_t *nd = &s->nodes[target];
	uint64_t before = sim_node_accepted(nd), r0[GROVE_DROP_COUNT], r1[GROVE_DROP_COUNT];
	uint64_t drops = sim_drops(nd, r0);
	bool fed = sim_node_datagram(s, target, layer, s->n, buf, len);
	s->res.forged++;
	if (sim_node_accepted(nd) != before)
		sim_fail(s, "n%u accepted a forged datagram (layer %u, %zu bytes)", target, layer, len);
	else if (sim_drops(nd, r1) != drops + (fed ? 1 : 0))
		sim_fail(s, "n%u: a forged datagram was not counted as one drop", target);
	else
		s->res.forged_dropped++;
	for (int r = 0; r < GROVE_DROP_COUNT && !s->failed; r++)
		s->res.forged_by_reason[r] += r1[r] - r0[r];
}

static void sim_forge_ev(sim_t *s, uint32_t target)
{
	uint8_t buf[GROVE_DATAGRAM_MAX];
	size_t len = 0;
	uint8_t layer = 0;
	if (s->nodes[target].up && sim_forge(s, target, buf, sizeof(buf), &len, &layer) == 0)
		sim_forge_check(s, target, buf, len, layer);
}

void sim_inject(sim_t *s, uint32_t target, uint32_t from, bool genuine)
{
	uint8_t buf[GROVE_DATAGRAM_MAX], payload[8] = { 0 };
	size_t len = 0;
	uint8_t layer = SIM_L_AE;
	int rc = genuine ? grove_envelope_seal(&s->nodes[from].sender, GROVE_AE_ENVELOPE_KIND,
					       s->nodes[target].id, true, payload, sizeof(payload), buf,
					       sizeof(buf), &len)
			 : sim_forge(s, target, buf, sizeof(buf), &len, &layer);
	if (rc == 0 && s->nodes[target].up)
		sim_forge_check(s, target, buf, len, layer);
}

void sim_model_skew(sim_t *s)
{
	s->model.counter[0]++;
}

bool sim_failed(const sim_t *s)
{
	return s->failed;
}

static void sim_dispatch(sim_t *s, const grove_netsim_ev_t *ev)
{
	uint32_t i = (uint32_t)ev->node;
	if (ev->kind == GROVE_NETSIM_EV_TIMER) { /* the network holds it while the node is down */
		sim_trace_note(s, ev, 0);
		sim_node_timer(s, i);
		return;
	}
	if (ev->kind != GROVE_NETSIM_EV_USER) {
		sim_net_deliver(s, ev);
		return;
	}
	sim_trace_note(s, ev, 0);
	switch (ev->user) {
	case SIM_EV_CRASH: sim_crash_ev(s, i); break;
	case SIM_EV_RESTART:
		if (ev->arg == s->nodes[i].life)
			sim_restart(s, i);
		break;
	case SIM_EV_PART_START:
		if (!s->faults_over)
			sim_net_partition(s, true);
		break;
	case SIM_EV_PART_END: sim_net_partition(s, false); break;
	case SIM_EV_OP: sim_op(s, i); break;
	case SIM_EV_FORGE: sim_forge_ev(s, i); break;
	case SIM_EV_CHECK: sim_check_states(s, i); break;
	default: GROVE_ASSERT(0);
	}
}

bool sim_run_until(sim_t *s, uint64_t t_ms)
{
	grove_netsim_ev_t ev;
	grove_netsim_stats_t st;
	while (!s->failed && grove_netsim_next(s->net, t_ms, &ev)) {
		sim_dispatch(s, &ev);
		grove_netsim_get_stats(s->net, &st);
		if (st.events_dropped > 0)
			sim_fail(s, "event queue full (%u events)", GROVE_NETSIM_EVENTS_MAX);
	}
	return !s->failed;
}

/* Faults stop: partitions heal, crashed nodes come back, loss drops. */
static void sim_end_faults(sim_t *s)
{
	s->faults_over = true;
	sim_net_partition(s, false);
	sim_net_faults(s, s->cfg.loss_after, 0);
	for (uint32_t i = 0; i < s->n && !s->failed; i++)
		sim_restart(s, i);
}

void sim_get_result(sim_t *s, sim_result_t *res)
{
	grove_netsim_stats_t st;
	grove_netsim_get_stats(s->net, &st);
	s->res.datagrams = st.datagrams_sent;
	s->res.datagram_bytes = st.bytes_sent;
	s->res.frames = st.frames_sent;
	s->res.frame_bytes = st.stream_bytes;
	s->res.lost = st.datagrams_lost;
	s->res.duplicated = st.datagrams_duplicated;
	s->res.blocked = st.datagrams_blocked;
	s->res.end_ms = sim_now(s);
	crypto_generichash_state copy = s->trace;
	crypto_generichash_final(&copy, s->res.trace_hash, 32);
	s->res.ok = !s->failed;
	size_t rss = sim_rss_bytes();
	if (rss > s->res.rss_bytes)
		s->res.rss_bytes = rss;
	*res = s->res;
}

bool sim_run(sim_t *s, sim_result_t *res)
{
	s->res.converged_ms = UINT64_MAX;
	s->res.data_converged_ms = UINT64_MAX;
	sim_run_until(s, s->cfg.fault_ms);
	if (!s->failed)
		sim_end_faults(s);
	uint64_t start = sim_now(s);
	uint32_t step = s->cfg.check_every_ms ? s->cfg.check_every_ms : 250;
	while (!s->failed && sim_now(s) - start <= s->cfg.settle_max_ms) {
		if (s->res.data_converged_ms == UINT64_MAX && sim_digests_equal(s))
			s->res.data_converged_ms = sim_now(s) - start;
		if (sim_converged(s)) {
			s->res.converged_ms = sim_now(s) - start;
			break;
		}
		sim_run_until(s, sim_now(s) + step);
	}
	if (!s->failed && s->res.converged_ms == UINT64_MAX)
		sim_fail_divergence(s);
	if (!s->failed)
		sim_check_model(s);
	sim_get_result(s, res);
	return res->ok;
}

uint64_t sim_now(const sim_t *s)
{
	return grove_netsim_now(s->net);
}

void sim_set_loss(sim_t *s, double loss)
{
	grove_netsim_faults_t f;
	grove_netsim_get_faults(s->net, &f);
	f.loss = loss;
	grove_netsim_set_faults(s->net, &f);
}
