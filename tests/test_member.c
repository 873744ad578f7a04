/*
 * test_member.c - the membership core in whole simulated clusters
 * (tests/util_netsim_member.h): join through seeds, failure detection,
 * pause and refutation, graceful leave, datagram loss, partitions, restarts
 * and id conflicts.  Every run is deterministic from the seed it prints.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "tests/util_netsim_member.h"

#define SEC 1000ULL

typedef struct alive_arg {
	size_t alive;
} alive_arg_t;

static bool pred_all_alive(const grove_simcluster_t *cl, const void *arg)
{
	return grove_simcluster_all_see_alive(cl, ((const alive_arg_t *)arg)->alive);
}

typedef struct state_arg {
	size_t node;
	grove_member_state_t state;
} state_arg_t;

static bool pred_all_see(const grove_simcluster_t *cl, const void *arg)
{
	const state_arg_t *a = arg;
	return grove_simcluster_all_see(cl, a->node, a->state);
}

/* Starts n nodes through seeds 0 and 1, node i at i * 50 ms, the seeds
 * themselves last (so early joiners must retry); returns when all see n
 * alive (asserting it happens within limit_s). */
static uint64_t start_cluster(grove_simcluster_t *cl, size_t n, uint64_t limit_s)
{
	size_t seeds[2] = { 0, 1 };
	uint64_t t0 = grove_simcluster_now(cl);
	for (size_t i = 2; i < n; i++) {
		grove_simcluster_run(cl, t0 + i * 50);
		grove_simcluster_start(cl, i, seeds, 2, false);
	}
	grove_simcluster_run(cl, t0 + n * 50 + 500);
	grove_simcluster_start(cl, 0, seeds, 2, false);
	grove_simcluster_start(cl, 1, seeds, 2, false);
	alive_arg_t a = { n };
	uint64_t t = grove_simcluster_run_until_pred(cl, t0 + limit_s * SEC, 100, pred_all_alive, &a);
	assert_true(t != 0);
	return t - t0;
}

static uint64_t count_events(const grove_simcluster_t *cl, grove_member_event_kind_t kind)
{
	uint64_t n = 0;
	for (size_t i = 0; i < cl->n; i++)
		n += cl->nodes[i].events[kind];
	return n;
}

/* Graceful leave of node j: left everywhere, never dead; then it comes
 * back from its saved state without seeds. */
static void leave_and_return(grove_simcluster_t *cl, size_t j)
{
	uint64_t dead_events = count_events(cl, GROVE_MEMBER_EV_DEAD);
	grove_simcluster_leave(cl, j);
	uint64_t t0 = grove_simcluster_now(cl);
	state_arg_t left = { j, GROVE_MEMBER_LEFT };
	uint64_t t = grove_simcluster_run_until_pred(cl, t0 + 30 * SEC, 100, pred_all_see, &left);
	assert_true(t != 0);
	grove_simcluster_run(cl, t + 20 * SEC);
	assert_true(grove_simcluster_all_see(cl, j, GROVE_MEMBER_LEFT));
	assert_int_equal(count_events(cl, GROVE_MEMBER_EV_DEAD), dead_events);
	printf("leave: all see it left after %.1f s, no dead event\n", (t - t0 + 2000) / 1000.0);
	/* the node that left comes back from its saved state, without seeds */
	grove_simcluster_start(cl, j, NULL, 0, true);
	state_arg_t alive = { j, GROVE_MEMBER_ALIVE };
	assert_true(grove_simcluster_run_until_pred(cl, grove_simcluster_now(cl) + 30 * SEC, 100, pred_all_see,
						    &alive) != 0);
}

static void test_join_kill_pause_leave(void **state)
{
	(void)state;
	const size_t n = 32;
	grove_simcluster_t cl;
	uint64_t seed = 1001;
	printf("seed %llu\n", (unsigned long long)seed);
	grove_simcluster_init(&cl, n, seed, NULL, false);
	uint64_t join_ms = start_cluster(&cl, n, 60);
	printf("32 nodes: all see 32 alive %.1f s after the first start\n", join_ms / 1000.0);

	/* kill: every other node declares it dead */
	grove_simcluster_kill(&cl, 5);
	uint64_t t0 = grove_simcluster_now(&cl);
	state_arg_t dead5 = { 5, GROVE_MEMBER_DEAD };
	uint64_t t = grove_simcluster_run_until_pred(&cl, t0 + 60 * SEC, 100, pred_all_see, &dead5);
	assert_true(t != 0);
	printf("kill: all 31 see it dead after %.1f s\n", (t - t0) / 1000.0);

	/* pause past suspicion: declared dead, then refutes and is alive */
	grove_simcluster_pause(&cl, 7, true);
	t0 = grove_simcluster_now(&cl);
	state_arg_t dead7 = { 7, GROVE_MEMBER_DEAD };
	assert_true(grove_simcluster_run_until_pred(&cl, t0 + 60 * SEC, 100, pred_all_see, &dead7) != 0);
	grove_member_info_t before;
	assert_int_equal(grove_member_find(cl.nodes[0].m, "node-7", &before), 0);
	uint64_t inc_before = before.incarnation;
	grove_simcluster_pause(&cl, 7, false);
	t0 = grove_simcluster_now(&cl);
	state_arg_t alive7 = { 7, GROVE_MEMBER_ALIVE };
	t = grove_simcluster_run_until_pred(&cl, t0 + 60 * SEC, 100, pred_all_see, &alive7);
	assert_true(t != 0);
	assert_true(grove_member_incarnation(cl.nodes[7].m) > inc_before);
	printf("pause: alive again everywhere %.1f s after resuming (incarnation %llu)\n", (t - t0) / 1000.0,
	       (unsigned long long)grove_member_incarnation(cl.nodes[7].m));
	alive_arg_t a31 = { n - 1 };
	assert_true(grove_simcluster_run_until_pred(&cl, t + 30 * SEC, 100, pred_all_alive, &a31) != 0);

	leave_and_return(&cl, 9);
	printf("false positives: dead %llu, suspect %llu\n", (unsigned long long)cl.false_dead,
	       (unsigned long long)cl.false_suspect);
	grove_simcluster_close(&cl);
}



/* Loss tests run the UDP protocol alone: the simulated streams are
 * lossless, so the stream fallback probe would hide every lost datagram. */
static grove_member_config_t udp_only;

static void setup_udp_only(void)
{
	grove_member_config_init(&udp_only);
	udp_only.stream_probe = false;
}

/* 10% loss both ways for 30 simulated minutes: no alive member declared
 * dead (suspicions are counted and reported). */
static void test_loss_10_no_false_dead(void **state)
{
	(void)state;
	setup_udp_only();
	const size_t n = 32;
	grove_simcluster_t cl;
	uint64_t seed = 1010;
	printf("seed %llu\n", (unsigned long long)seed);
	grove_simcluster_init(&cl, n, seed, &udp_only, false);
	start_cluster(&cl, n, 60);
	grove_netsim_faults_t f = { .loss = 0.10, .duplicate = 0.01, .delay_min_ms = 1, .delay_max_ms = 20 };
	grove_netsim_set_faults(cl.net, &f);
	uint64_t t0 = grove_simcluster_now(&cl);
	grove_simcluster_run(&cl, t0 + 1800 * SEC);
	grove_member_stats_t st;
	uint64_t probes = 0, fails = 0, accusations = 0, refutes = 0;
	for (size_t i = 0; i < n; i++) {
		grove_member_get_stats(cl.nodes[i].m, &st);
		probes += st.probes;
		fails += st.probe_fails;
		accusations += st.suspicions;
		refutes += st.refutes;
	}
	printf("10%% loss, %zu nodes, 1800 s: %llu probes, %llu failed, %llu accusations, %llu refutations, "
	       "suspect events about live nodes %llu, false dead %llu\n",
	       n, (unsigned long long)probes, (unsigned long long)fails, (unsigned long long)accusations,
	       (unsigned long long)refutes, (unsigned long long)cl.false_suspect, (unsigned long long)cl.false_dead);
	assert_int_equal(cl.false_dead, 0);
	assert_true(grove_simcluster_all_see_alive(&cl, n) || count_events(&cl, GROVE_MEMBER_EV_DEAD) == 0);
	grove_simcluster_close(&cl);
}

/* 30% loss from the start: the cluster still forms and converges. */
static void test_loss_30_converges(void **state)
{
	(void)state;
	setup_udp_only();
	const size_t n = 16;
	grove_simcluster_t cl;
	uint64_t seed = 1030;
	printf("seed %llu\n", (unsigned long long)seed);
	grove_simcluster_init(&cl, n, seed, &udp_only, false);
	grove_netsim_faults_t f = { .loss = 0.30, .duplicate = 0.05, .delay_min_ms = 1, .delay_max_ms = 30 };
	grove_netsim_set_faults(cl.net, &f);
	uint64_t ms = start_cluster(&cl, n, 180);
	printf("30%% loss, %zu nodes: all see all alive after %.1f s\n", n, ms / 1000.0);
	/* keep running: views may flap under 30% loss, but must keep coming back */
	uint64_t t0 = grove_simcluster_now(&cl), converged = 0;
	for (int k = 0; k < 10; k++) {
		alive_arg_t a = { n };
		uint64_t t = grove_simcluster_run_until_pred(&cl, grove_simcluster_now(&cl) + 120 * SEC, 100,
							     pred_all_alive, &a);
		assert_true(t != 0);
		converged++;
		grove_simcluster_run(&cl, t + 60 * SEC);
	}
	printf("30%% loss: converged again %llu times in %.0f s; suspect events about live nodes %llu, "
	       "false dead %llu\n",
	       (unsigned long long)converged, (grove_simcluster_now(&cl) - t0) / 1000.0,
	       (unsigned long long)cl.false_suspect, (unsigned long long)cl.false_dead);
	grove_simcluster_close(&cl);
}

static bool pred_halves_dead(const grove_simcluster_t *cl, const void *arg)
{
	size_t half = *(const size_t *)arg;
	for (size_t i = 0; i < cl->n; i++)
		for (size_t j = 0; j < cl->n; j++)
			if ((i < half) != (j < half) && grove_simcluster_view(cl, i, j) != GROVE_MEMBER_DEAD)
				return false;
	return true;
}

/* Two halves declare each other dead, then the network heals. */
static void test_partition_heals(void **state)
{
	(void)state;
	const size_t n = 16, half = 8;
	grove_simcluster_t cl;
	uint64_t seed = 1040;
	printf("seed %llu\n", (unsigned long long)seed);
	grove_simcluster_init(&cl, n, seed, NULL, false);
	start_cluster(&cl, n, 60);
	for (size_t i = half; i < n; i++)
		grove_netsim_set_group(cl.net, cl.nodes[i].net_node, 1);
	uint64_t t0 = grove_simcluster_now(&cl);
	uint64_t t = grove_simcluster_run_until_pred(&cl, t0 + 180 * SEC, 500, pred_halves_dead, &half);
	assert_true(t != 0);
	printf("partition: each half declared the other dead after %.1f s\n", (t - t0) / 1000.0);
	grove_simcluster_run(&cl, t + 30 * SEC);
	for (size_t i = half; i < n; i++)
		grove_netsim_set_group(cl.net, cl.nodes[i].net_node, 0);
	t0 = grove_simcluster_now(&cl);
	alive_arg_t a = { n };
	t = grove_simcluster_run_until_pred(&cl, t0 + 120 * SEC, 100, pred_all_alive, &a);
	assert_true(t != 0);
	printf("heal: all %zu alive everywhere %.1f s after the network healed\n", n, (t - t0) / 1000.0);
	grove_simcluster_close(&cl);
}

/* A node restarted from its persisted state rejoins without seeds, with an
 * incarnation above anything it used before. */
static void test_restart_rejoins_without_seeds(void **state)
{
	(void)state;
	const size_t n = 12;
	grove_simcluster_t cl;
	uint64_t seed = 1050;
	printf("seed %llu\n", (unsigned long long)seed);
	grove_simcluster_init(&cl, n, seed, NULL, false);
	start_cluster(&cl, n, 60);
	/* make node 3 refute once so its incarnation is above 0 */
	grove_simcluster_pause(&cl, 3, true);
	uint64_t t0 = grove_simcluster_now(&cl);
	state_arg_t dead3 = { 3, GROVE_MEMBER_DEAD };
	assert_true(grove_simcluster_run_until_pred(&cl, t0 + 60 * SEC, 100, pred_all_see, &dead3) != 0);
	grove_simcluster_pause(&cl, 3, false);
	state_arg_t alive3 = { 3, GROVE_MEMBER_ALIVE };
	assert_true(grove_simcluster_run_until_pred(&cl, t0 + 120 * SEC, 100, pred_all_see, &alive3) != 0);
	uint64_t inc_used = grove_member_incarnation(cl.nodes[3].m);
	assert_true(inc_used > 0);
	assert_non_null(cl.nodes[3].saved);

	grove_simcluster_kill(&cl, 3);
	t0 = grove_simcluster_now(&cl);
	assert_true(grove_simcluster_run_until_pred(&cl, t0 + 60 * SEC, 100, pred_all_see, &dead3) != 0);
	grove_simcluster_start(&cl, 3, NULL, 0, true); /* no seeds: persisted peers only */
	assert_true(grove_member_incarnation(cl.nodes[3].m) > inc_used);
	t0 = grove_simcluster_now(&cl);
	alive_arg_t a = { n };
	uint64_t t = grove_simcluster_run_until_pred(&cl, t0 + 60 * SEC, 100, pred_all_alive, &a);
	assert_true(t != 0);
	assert_true(grove_member_is_joined(cl.nodes[3].m));
	printf("restart: incarnation %llu -> %llu, all %zu alive %.1f s after the restart, no seeds\n",
	       (unsigned long long)inc_used, (unsigned long long)grove_member_incarnation(cl.nodes[3].m), n,
	       (t - t0) / 1000.0);
	grove_simcluster_close(&cl);
}

/* A second node presenting node-2's id from another address: reported by
 * counter and event, and the original is not replaced. */
static void test_id_conflict_reported(void **state)
{
	(void)state;
	const size_t n = 9;
	grove_simcluster_t cl;
	uint64_t seed = 1060;
	printf("seed %llu\n", (unsigned long long)seed);
	grove_simcluster_init(&cl, n, seed, NULL, false);
	size_t seeds[1] = { 0 };
	for (size_t i = 0; i < n - 1; i++)
		grove_simcluster_start(&cl, i, seeds, 1, false);
	alive_arg_t a = { n - 1 };
	assert_true(grove_simcluster_run_until_pred(&cl, 60 * SEC + grove_simcluster_now(&cl), 100, pred_all_alive,
						    &a) != 0);
	strcpy(cl.nodes[n - 1].id, "node-2"); /* the impostor, at address n8:7946 */
	grove_simcluster_start(&cl, n - 1, seeds, 1, false);
	grove_simcluster_run(&cl, grove_simcluster_now(&cl) + 60 * SEC);
	uint64_t conflicts = 0;
	grove_member_stats_t st;
	for (size_t i = 0; i < n; i++) {
		grove_member_get_stats(cl.nodes[i].m, &st);
		conflicts += st.conflicts;
	}
	/* A second live instance of an id (instance nonces differ) is
	 * reported as a duplicate; other conflicting claims as conflicts. */
	uint64_t events = count_events(&cl, GROVE_MEMBER_EV_CONFLICT) + count_events(&cl, GROVE_MEMBER_EV_DUPLICATE);
	printf("conflict: %llu reports, %llu events\n", (unsigned long long)conflicts, (unsigned long long)events);
	assert_true(conflicts > 0);
	assert_int_equal(events, conflicts);
	grove_member_info_t info;
	assert_int_equal(grove_member_find(cl.nodes[0].m, "node-2", &info), 0);
	assert_string_equal(info.addr, "n2:7946");
	assert_int_equal(grove_member_find(cl.nodes[2].m, "node-2", &info), 0);
	assert_string_equal(info.addr, "n2:7946");
	grove_simcluster_close(&cl);
}

/* UDP blocked to and from one node, TCP fine: with the stream fallback
 * probe it stays alive everywhere; without it, it is declared dead. */
static void udp_blocked_run(bool stream_probe, uint64_t *false_dead, uint64_t *stream_acks)
{
	const size_t n = 8;
	grove_simcluster_t cl;
	grove_member_config_t cfg;
	grove_member_config_init(&cfg);
	cfg.stream_probe = stream_probe;
	grove_simcluster_init(&cl, n, 1070, &cfg, false);
	start_cluster(&cl, n, 60);
	grove_netsim_set_udp_blocked(cl.net, cl.nodes[3].net_node, true);
	grove_simcluster_run(&cl, grove_simcluster_now(&cl) + 120 * SEC);
	*false_dead = cl.false_dead;
	*stream_acks = 0;
	grove_member_stats_t st;
	for (size_t i = 0; i < n; i++) {
		grove_member_get_stats(cl.nodes[i].m, &st);
		*stream_acks += st.stream_probe_acks;
	}
	grove_simcluster_close(&cl);
}

static void test_udp_blocked_stream_probe(void **state)
{
	(void)state;
	uint64_t dead_with, dead_without, acks_with, acks_without;
	printf("seed 1070\n");
	udp_blocked_run(true, &dead_with, &acks_with);
	udp_blocked_run(false, &dead_without, &acks_without);
	printf("UDP blocked at one node for 120 s: false dead %llu with stream probes (%llu acks over streams), "
	       "%llu without\n",
	       (unsigned long long)dead_with, (unsigned long long)acks_with, (unsigned long long)dead_without);
	assert_int_equal(dead_with, 0);
	assert_true(acks_with > 0);
	assert_true(dead_without > 0);
	assert_int_equal(acks_without, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_join_kill_pause_leave),
		cmocka_unit_test(test_loss_10_no_false_dead),
		cmocka_unit_test(test_loss_30_converges),
		cmocka_unit_test(test_partition_heals),
		cmocka_unit_test(test_restart_rejoins_without_seeds),
		cmocka_unit_test(test_id_conflict_reported),
		cmocka_unit_test(test_udp_blocked_stream_probe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
