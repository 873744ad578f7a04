/*
 * test_cert_lifecycle.c - certificates over time in a running cluster, on
 * the simulated network with its injected clock: expiry warnings at 30, 7
 * and 1 days; a peer whose certificate expires is refused and reported
 * (never silently), then rejoins once renewed; renewal with the same key
 * and rotation to a new key reloaded in place (as on SIGHUP) and accepted
 * by every other node without restarting them; a revocation list issued at
 * one node spreads to every node and its key is refused everywhere; two
 * live instances of one node id (copied key directory, or a new key) are
 * reported on both instances and by the others, the newer one knowing it
 * is the newer, and the report ends once one instance is gone.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "gossip/secure/revoke.h"
#include "tests/util_identity.h"
#include "tests/util_netsim_member.h"

#define SEC 1000ULL
#define DAY (86400ULL * SEC)

static bool pred_all_alive(const grove_simcluster_t *cl, const void *arg)
{
	return grove_simcluster_all_see_alive(cl, *(const size_t *)arg);
}

/* n nodes with version 2 certificates issued at now - 1 day, valid
 * life_ms from now; all alive through seed 0. */
static void form(grove_simcluster_t *cl, uint64_t seed, size_t n, uint64_t life_ms)
{
	printf("seed %llu\n", (unsigned long long)seed);
	grove_simcluster_init(cl, n, seed, NULL, true);
	uint64_t now = grove_simcluster_now(cl);
	size_t seeds[1] = { 0 };
	for (size_t i = 0; i < n; i++) {
		grove_simcluster_set_cert(cl, i, 0, now - DAY, now + life_ms);
		grove_simcluster_start(cl, i, seeds, i == 0 ? 0 : 1, false);
	}
	assert_true(grove_simcluster_run_until_pred(cl, now + 60 * SEC, 100, pred_all_alive, &n) != 0);
}

static const grove_cert_t *cert_at(const grove_simcluster_t *cl, size_t i, size_t of)
{
	return grove_peerbook_find(cl->nodes[i].book, cl->nodes[of].id);
}

static uint64_t conflicts(const grove_simcluster_t *cl)
{
	uint64_t c = 0;
	for (size_t i = 0; i < cl->n; i++)
		if (cl->nodes[i].m)
			c += grove_peerbook_stats(cl->nodes[i].book)->conflicts;
	return c;
}

static void test_expiry_warnings_30_7_1(void **state)
{
	(void)state;
	const uint64_t exp = GROVE_TEST_NOW_MS + 40 * DAY;
	grove_cert_watch_t w = { 0 };
	unsigned days = 99;
	assert_false(grove_cert_watch_due(&w, exp, exp - 31 * DAY, &days));
	assert_true(grove_cert_watch_due(&w, exp, exp - 30 * DAY, &days));
	assert_int_equal(days, 30);
	assert_false(grove_cert_watch_due(&w, exp, exp - 29 * DAY, &days)); /* once */
	assert_false(grove_cert_watch_due(&w, exp, exp - 8 * DAY, &days));
	assert_true(grove_cert_watch_due(&w, exp, exp - 7 * DAY + 1, &days));
	assert_int_equal(days, 7);
	assert_true(grove_cert_watch_due(&w, exp, exp - 1 * DAY, &days));
	assert_int_equal(days, 1);
	assert_false(grove_cert_watch_due(&w, exp, exp - 1, &days));
	assert_true(grove_cert_watch_due(&w, exp, exp, &days));
	assert_int_equal(days, 0); /* expired */
	assert_false(grove_cert_watch_due(&w, exp, exp + DAY, &days));
	/* A renewal rearms it; a node started 3 days before expiry warns once,
	 * at the nearest threshold. */
	assert_false(grove_cert_watch_due(&w, exp + 365 * DAY, exp + DAY, &days));
	grove_cert_watch_t late = { 0 };
	assert_true(grove_cert_watch_due(&late, exp, exp - 3 * DAY, &days));
	assert_int_equal(days, 7);
	assert_false(grove_cert_watch_due(&late, exp, exp - 2 * DAY, &days));
}

/* Node 3's certificate runs out: every other node refuses it, reports it
 * by name and reason, and marks it dead; renewed in place (same key), it is
 * accepted again without restarting anyone. */
static void test_peer_expires_refused_reported_then_renewed(void **state)
{
	(void)state;
	const size_t n = 4;
	grove_simcluster_t cl;
	form(&cl, 0xce47, n, 30 * DAY);
	uint64_t now = grove_simcluster_now(&cl);
	grove_simcluster_set_cert(&cl, 3, 0, now - DAY, now + 5 * SEC); /* a short one */
	grove_simcluster_run(&cl, now + 60 * SEC);
	for (size_t i = 0; i < 3; i++) {
		assert_true(cl.nodes[i].refused[GROVE_DROP_EXPIRED] > 0);
		assert_string_equal(cl.nodes[i].last_refused, "node-3");
		assert_true(grove_peerbook_stats(cl.nodes[i].book)->dropped[GROVE_DROP_EXPIRED] > 0);
		grove_member_state_t st = grove_simcluster_view(&cl, i, 3);
		assert_true(st == GROVE_MEMBER_DEAD || st == GROVE_MEMBER_SUSPECT);
		/* rate-limited: far fewer reports than drops */
		assert_true(cl.nodes[i].refused[GROVE_DROP_EXPIRED] <=
			    grove_peerbook_stats(cl.nodes[i].book)->dropped[GROVE_DROP_EXPIRED]);
		assert_true(cl.nodes[i].refused[GROVE_DROP_EXPIRED] <= 2);
	}
	now = grove_simcluster_now(&cl);
	grove_simcluster_set_cert(&cl, 3, 0, now, now + 365 * DAY); /* renewed, same key */
	assert_true(grove_simcluster_run_until_pred(&cl, now + 60 * SEC, 100, pred_all_alive, &n) != 0);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(cert_at(&cl, i, 3)->issued_ms, now);
	assert_int_equal(conflicts(&cl), 0);
	grove_simcluster_close(&cl);
}

/* Renewal (same key) then rotation (new key) of node 2, each reloaded in
 * place: every other node holds the new certificate and keeps node 2
 * alive, with no identity conflict and no restart.  An older certificate
 * presented afterwards is refused as superseded. */
static void test_renewal_and_rotation_without_restart(void **state)
{
	(void)state;
	const size_t n = 5;
	grove_simcluster_t cl;
	form(&cl, 0x20a7e, n, 365 * DAY);
	uint64_t t1 = grove_simcluster_now(&cl);
	grove_simcluster_set_cert(&cl, 2, 0, t1, t1 + 400 * DAY);
	grove_simcluster_run(&cl, t1 + 10 * SEC);
	for (size_t i = 0; i < n; i++)
		if (i != 2)
			assert_int_equal(cert_at(&cl, i, 2)->issued_ms, t1);
	uint64_t t2 = grove_simcluster_now(&cl);
	grove_simcluster_set_cert(&cl, 2, 1, t2, t2 + 400 * DAY); /* new key */
	assert_true(grove_simcluster_run_until_pred(&cl, t2 + 30 * SEC, 100, pred_all_alive, &n) != 0);
	grove_simcluster_run(&cl, t2 + 30 * SEC);
	assert_true(grove_simcluster_all_see_alive(&cl, n));
	for (size_t i = 0; i < n; i++) {
		if (i == 2)
			continue;
		const grove_cert_t *c = cert_at(&cl, i, 2);
		assert_int_equal(c->issued_ms, t2);
		assert_memory_equal(c->node_pk, cl.nodes[2].ident.cert.node_pk, GROVE_SIGN_PUBLIC_BYTES);
		assert_true(grove_peerbook_stats(cl.nodes[i].book)->certs_renewed >= 2);
	}
	assert_int_equal(conflicts(&cl), 0);
	assert_int_equal(cl.false_dead, 0);
	/* The old certificate is refused now, before any signature check. */
	grove_identity_t old;
	grove_test_identity_v2(&old, grove_simcluster_ca(), grove_simcluster_ca(), "node-2", 0, t1, t1 + 400 * DAY);
	assert_int_equal(grove_peerbook_add(cl.nodes[0].book, &old.cert, grove_simcluster_now(&cl)), GROVE_ESUPERSEDED);
	assert_true(cl.nodes[0].refused[GROVE_DROP_SUPERSEDED] > 0);
	grove_identity_close(&old);
	grove_simcluster_close(&cl);
}

static bool pred_crl_everywhere(const grove_simcluster_t *cl, const void *arg)
{
	uint64_t issued = *(const uint64_t *)arg;
	for (size_t i = 0; i < cl->n; i++) {
		const grove_crl_t *crl = cl->nodes[i].m ? grove_peerbook_crl(cl->nodes[i].book) : NULL;
		if (crl == NULL || crl->issued_ms != issued)
			return false;
	}
	return true;
}

/* A revocation list naming node 5's key, installed at node 0 only, reaches
 * every node (node 5 too); every other node refuses node 5 from then on and
 * marks it dead. */
static void test_revocation_spreads_to_every_node(void **state)
{
	(void)state;
	const size_t n = 6;
	grove_simcluster_t cl;
	form(&cl, 0x4e70c, n, 365 * DAY);
	uint64_t t = grove_simcluster_now(&cl);
	const char *ids[1] = { "node-5" };
	const uint8_t variants[1] = { 0 };
	grove_simcluster_revoke(&cl, 0, t, ids, variants, 1);
	uint64_t at = grove_simcluster_run_until_pred(&cl, t + 60 * SEC, 100, pred_crl_everywhere, &t);
	assert_true(at != 0);
	printf("revocation list at every node after %llu ms\n", (unsigned long long)(at - t));
	grove_simcluster_run(&cl, grove_simcluster_now(&cl) + 60 * SEC);
	for (size_t i = 0; i < 5; i++) {
		assert_true(cl.nodes[i].refused[GROVE_DROP_REVOKED] > 0 ||
			    grove_peerbook_stats(cl.nodes[i].book)->dropped[GROVE_DROP_REVOKED] > 0);
		assert_int_equal(grove_simcluster_view(&cl, i, 5), GROVE_MEMBER_DEAD);
		for (size_t j = 0; j < 5; j++)
			assert_int_equal(grove_simcluster_view(&cl, i, j), GROVE_MEMBER_ALIVE);
	}
	/* An older list changes nothing; a forged one is refused. */
	grove_crl_t crl = *grove_peerbook_crl(cl.nodes[1].book);
	crl.issued_ms++;
	assert_int_equal(grove_peerbook_set_crl(cl.nodes[1].book, &crl), GROVE_EBADSIG);
	crl.issued_ms -= 2;
	assert_int_equal(grove_peerbook_set_crl(cl.nodes[1].book, &crl), 0);
	grove_simcluster_close(&cl);
}

/* Node 3 starts as a second instance of node-2 (key `variant`, v2
 * certificate issued `issued_delta_ms` after node 2's).  The instance that
 * must yield knows it; the other nodes report the duplicate (copied key)
 * or refuse the superseded certificate by name (new key).  After node 3 is
 * stopped, every report ends within the hold time. */
static void duplicate_case(uint64_t seed, uint8_t variant, uint64_t issued_delta_ms)
{
	const size_t n = 3;
	grove_simcluster_t cl;
	grove_member_config_t base;
	grove_member_config_init(&base);
	base.duplicate_hold_ms = 20 * SEC;
	base.pushpull_interval_ms = 5 * SEC;
	printf("seed %llu\n", (unsigned long long)seed);
	grove_simcluster_init(&cl, n + 1, seed, &base, true);
	uint64_t now = grove_simcluster_now(&cl);
	size_t seeds[1] = { 0 };
	for (size_t i = 0; i < n; i++) {
		grove_simcluster_set_cert(&cl, i, 0, now - DAY, now + 365 * DAY);
		grove_simcluster_start(&cl, i, seeds, i == 0 ? 0 : 1, false);
	}
	assert_true(grove_simcluster_run_until_pred(&cl, now + 60 * SEC, 100, pred_all_alive, &n) != 0);
	grove_simcluster_set_identity(&cl, 3, "node-2", variant);
	grove_simcluster_set_cert(&cl, 3, variant, now - DAY + issued_delta_ms, now + 365 * DAY);
	grove_simcluster_start(&cl, 3, seeds, 1, false);
	now = grove_simcluster_now(&cl);
	grove_simcluster_run(&cl, now + 30 * SEC);
	uint64_t t = grove_simcluster_now(&cl);
	bool yield = false;
	if (issued_delta_ms == 0) {
		/* Same certificate: the later start (node 3) yields; both know. */
		assert_true(cl.nodes[2].events[GROVE_MEMBER_EV_DUPLICATE] > 0);
		assert_true(cl.nodes[3].events[GROVE_MEMBER_EV_DUPLICATE] > 0);
		assert_true(grove_member_duplicate_self(cl.nodes[3].m, t, &yield, NULL));
		assert_true(yield);
		assert_true(grove_member_duplicate_self(cl.nodes[2].m, t, &yield, NULL));
		assert_false(yield);
		assert_true(grove_member_duplicates(cl.nodes[0].m, t) + grove_member_duplicates(cl.nodes[1].m, t) > 0);
	} else {
		/* A newer certificate with another key: it supersedes node 2's
		 * everywhere and node 2 is refused by name.  Node 2 cannot open
		 * what the others seal for the new key; they answer its refused
		 * datagrams with a notice sealed for its old key, so it knows it
		 * is superseded and yields (one report, however many notices). */
		uint64_t notices = 0;
		for (size_t i = 0; i < 2; i++) {
			assert_true(cl.nodes[i].refused[GROVE_DROP_SUPERSEDED] > 0);
			assert_int_equal(cert_at(&cl, i, 3)->issued_ms, cl.nodes[3].ident.cert.issued_ms);
			grove_member_stats_t st;
			grove_member_get_stats(cl.nodes[i].m, &st);
			notices += st.notices_sent;
		}
		printf("superseded notices sent: %llu\n", (unsigned long long)notices);
		assert_true(notices > 0);
		assert_true(grove_member_cert_superseded(cl.nodes[2].m));
		assert_true(grove_member_duplicate_self(cl.nodes[2].m, t, &yield, NULL));
		assert_true(yield);
		assert_int_equal(cl.nodes[2].events[GROVE_MEMBER_EV_DUPLICATE], 1);
		/* ... and tells node 3 itself, which reports it and keeps serving. */
		assert_false(grove_member_cert_superseded(cl.nodes[3].m));
		assert_int_equal(cl.nodes[3].events[GROVE_MEMBER_EV_DUPLICATE], 1);
		assert_true(grove_member_duplicate_self(cl.nodes[3].m, t, &yield, NULL));
		assert_false(yield);
	}
	grove_simcluster_kill(&cl, 3);
	grove_simcluster_run(&cl, t + 60 * SEC);
	t = grove_simcluster_now(&cl);
	if (issued_delta_ms != 0) {
		/* Node 2 is back once it loads a newer certificate. */
		grove_simcluster_set_cert(&cl, 2, 0, t, t + 365 * DAY);
		assert_true(grove_simcluster_run_until_pred(&cl, t + 60 * SEC, 100, pred_all_alive, &n) != 0);
		t = grove_simcluster_now(&cl);
	}
	assert_false(grove_member_duplicate_self(cl.nodes[2].m, t, NULL, NULL));
	assert_int_equal(grove_member_duplicates(cl.nodes[0].m, t), 0);
	assert_int_equal(grove_member_duplicates(cl.nodes[1].m, t), 0);
	grove_simcluster_close(&cl);
}

static void test_duplicate_copied_keys_reported_on_both_sides(void **state)
{
	(void)state;
	duplicate_case(0xd0b1, 0, 0);
}

static void test_duplicate_new_key_reported_on_both_sides(void **state)
{
	(void)state;
	duplicate_case(0xd0b2, 7, 3600 * SEC); /* `grove cert` again: a newer certificate, another key */
}

/* Two instances of one id and no third node (a copied data directory;
 * the copy's seed is the original): they meet only through each other's
 * sessions, authenticated as their own id, and tell each other apart by
 * instance nonce.  Both report it, the later one yields; once it is gone
 * the other stops reporting after the hold time.  Then the same with a
 * newer certificate and key on the later one: the older one yields. */
static void two_alone(uint64_t seed, uint8_t variant, uint64_t issued_delta_ms)
{
	grove_simcluster_t cl;
	grove_member_config_t base;
	grove_member_config_init(&base);
	base.duplicate_hold_ms = 20 * SEC;
	printf("seed %llu\n", (unsigned long long)seed);
	grove_simcluster_init(&cl, 2, seed, &base, true);
	uint64_t now = grove_simcluster_now(&cl);
	size_t seeds[1] = { 0 };
	grove_simcluster_set_cert(&cl, 0, 0, now - DAY, now + 365 * DAY);
	grove_simcluster_start(&cl, 0, seeds, 0, false);
	grove_simcluster_run(&cl, now + 5 * SEC);
	grove_simcluster_set_identity(&cl, 1, "node-0", variant);
	grove_simcluster_set_cert(&cl, 1, variant, now - DAY + issued_delta_ms, now + 365 * DAY);
	grove_simcluster_start(&cl, 1, seeds, 1, false);
	grove_simcluster_run(&cl, grove_simcluster_now(&cl) + 30 * SEC);
	uint64_t t = grove_simcluster_now(&cl);
	bool yield = false;
	size_t older = issued_delta_ms == 0 ? 0 : 1; /* the one that keeps serving */
	assert_int_equal(cl.nodes[0].events[GROVE_MEMBER_EV_DUPLICATE], 1);
	assert_int_equal(cl.nodes[1].events[GROVE_MEMBER_EV_DUPLICATE], 1);
	assert_true(grove_member_duplicate_self(cl.nodes[1 - older].m, t, &yield, NULL));
	assert_true(yield);
	assert_true(grove_member_duplicate_self(cl.nodes[older].m, t, &yield, NULL));
	assert_false(yield);
	assert_int_equal(grove_member_cert_superseded(cl.nodes[0].m), issued_delta_ms != 0);
	assert_int_equal(conflicts(&cl), 0); /* the book never holds our own id */
	grove_simcluster_kill(&cl, 1 - older);
	grove_simcluster_run(&cl, t + 30 * SEC);
	t = grove_simcluster_now(&cl);
	assert_false(grove_member_duplicate_self(cl.nodes[older].m, t, NULL, NULL));
	grove_simcluster_close(&cl);
}

static void test_duplicate_without_third_node(void **state)
{
	(void)state;
	two_alone(0xd0b3, 0, 0);         /* copied key and certificate */
	two_alone(0xd0b4, 7, 3600 * SEC); /* a newer certificate, another key */
}

static bool pred_yields(const grove_simcluster_t *cl, const void *arg)
{
	const size_t *i = arg;
	bool yield = false;
	return grove_member_duplicate_self(cl->nodes[*i].m, grove_simcluster_now(cl), &yield, NULL) && yield;
}

/* A node restarts and a copy of it (another address, the same key and
 * certificate) starts just after, with default timers.  The copy first
 * hears of the original from the third node, as an instance that started
 * before it (its own predecessor, as far as it can tell), and asks that
 * address directly: the original answers as our id, so the copy knows at
 * once that it must yield, instead of after the third node's next retell
 * (a third of the 90 s hold) while it takes writes under a shared id. */
static void test_duplicate_copy_yields_at_once(void **state)
{
	(void)state;
	const size_t n = 2;
	grove_simcluster_t cl;
	grove_simcluster_init(&cl, n + 1, 0xd0b5, NULL, true);
	const uint64_t t0 = grove_simcluster_now(&cl);
	uint64_t now = t0;
	size_t seeds[1] = { 0 };
	for (size_t i = 0; i < n; i++) {
		grove_simcluster_set_cert(&cl, i, 0, t0 - DAY, t0 + 365 * DAY);
		grove_simcluster_start(&cl, i, seeds, i == 0 ? 0 : 1, false);
	}
	assert_true(grove_simcluster_run_until_pred(&cl, t0 + 60 * SEC, 100, pred_all_alive, &n) != 0);
	now = grove_simcluster_now(&cl);
	grove_simcluster_leave(&cl, 1);
	grove_simcluster_run(&cl, now + 3 * SEC);
	grove_simcluster_start(&cl, 1, seeds, 1, true);
	grove_simcluster_run(&cl, grove_simcluster_now(&cl) + 200);
	grove_simcluster_set_identity(&cl, 2, "node-1", 0);
	grove_simcluster_set_cert(&cl, 2, 0, t0 - DAY, t0 + 365 * DAY); /* node 1's certificate */
	grove_simcluster_start(&cl, 2, seeds, 1, false);
	now = grove_simcluster_now(&cl);
	size_t copy = 2;
	uint64_t t = grove_simcluster_run_until_pred(&cl, now + 5 * SEC, 50, pred_yields, &copy);
	printf("the copy yields after %llu ms\n", t ? (unsigned long long)(t - now) : 0ULL);
	assert_true(t != 0);
	bool yield = true;
	assert_true(grove_member_duplicate_self(cl.nodes[1].m, t, &yield, NULL));
	assert_false(yield);
	grove_simcluster_close(&cl);
}

/* A restart of a node (same key, same address, saved state) is no
 * duplicate, though peers still hold the old instance as alive. */
static void test_restart_is_no_duplicate(void **state)
{
	(void)state;
	const size_t n = 4;
	grove_simcluster_t cl;
	form(&cl, 0x5e57a7, n, 365 * DAY);
	grove_simcluster_kill(&cl, 2);
	size_t seeds[1] = { 0 };
	grove_simcluster_start(&cl, 2, seeds, 1, true);
	grove_simcluster_run(&cl, grove_simcluster_now(&cl) + 60 * SEC);
	assert_true(grove_simcluster_all_see_alive(&cl, n));
	for (size_t i = 0; i < n; i++)
		assert_int_equal(cl.nodes[i].events[GROVE_MEMBER_EV_DUPLICATE], 0);
	grove_simcluster_close(&cl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expiry_warnings_30_7_1),
		cmocka_unit_test(test_peer_expires_refused_reported_then_renewed),
		cmocka_unit_test(test_renewal_and_rotation_without_restart),
		cmocka_unit_test(test_revocation_spreads_to_every_node),
		cmocka_unit_test(test_duplicate_copied_keys_reported_on_both_sides),
		cmocka_unit_test(test_duplicate_new_key_reported_on_both_sides),
		cmocka_unit_test(test_restart_is_no_duplicate),
		cmocka_unit_test(test_duplicate_without_third_node),
		cmocka_unit_test(test_duplicate_copy_yields_at_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
