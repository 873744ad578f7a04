/*
 * test_member_secure.c - membership over signed envelopes: a CA-certified
 * cluster forms and caches every member's certificate; forged, tampered,
 * replayed, truncated, oversize, unsigned and random datagrams are dropped,
 * counted by reason, and never change membership.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "base/rng.h"
#include "gossip/member/codec.h"
#include "tests/util_identity.h"
#include "tests/util_netsim_member.h"

#define SEC 1000ULL
#define N 8

static bool pred_all_alive(const grove_simcluster_t *cl, const void *arg)
{
	(void)arg;
	return grove_simcluster_all_see_alive(cl, N);
}


/* A gossip payload from `sender` carrying one update. */
static size_t make_payload(uint8_t *buf, size_t cap, const char *sender, const grove_member_update_t *u)
{
	grove_member_writer_t w = { .buf = buf, .cap = cap, .len = 0 };
	grove_member_msg_t h = { .type = GROVE_MEMBER_MSG_GOSSIP };
	size_t count_off;
	strcpy(h.sender, sender);
	assert_int_equal(grove_member_msg_begin(&w, &h, &count_off), 0);
	assert_int_equal(grove_member_update_encode(&w, u), 0);
	buf[count_off] = 1;
	return w.len;
}

/* Sealed for node 0 (encrypted for it, as every membership datagram). */
static size_t seal_to0(const grove_simcluster_t *cl, grove_sender_t *s, const uint8_t *p, size_t len, uint8_t *out)
{
	size_t out_len = 0;
	assert_int_equal(grove_envelope_seal_for(s, GROVE_MEMBER_ENVELOPE_KIND, &cl->nodes[0].ident.cert, true, p,
						 len, out, GROVE_DATAGRAM_MAX, &out_len), 0);
	return out_len;
}
#define seal(s, p, len, out) seal_to0(cl, s, p, len, out)

typedef struct snapshot {
	uint64_t inc[N];
	grove_member_state_t st[N];
} snapshot_t;

static void snap(const grove_simcluster_t *cl, snapshot_t *s)
{
	grove_member_info_t info;
	for (size_t j = 0; j < N; j++) {
		assert_int_equal(grove_member_find(cl->nodes[0].m, cl->nodes[j].id, &info), 0);
		s->inc[j] = info.incarnation;
		s->st[j] = info.state;
	}
}

static void deliver(grove_simcluster_t *cl, const uint8_t *d, size_t len)
{
	grove_member_recv_datagram(cl->nodes[0].m, grove_simcluster_now(cl), "n1:7946", d, len);
}

static uint64_t drops(const grove_simcluster_t *cl, grove_drop_t reason)
{
	return grove_peerbook_stats(cl->nodes[0].book)->dropped[reason];
}

/* An N-node signed cluster through seed node 0, all alive. */
static void form(grove_simcluster_t *cl, uint64_t seed, size_t n)
{
	printf("seed %llu\n", (unsigned long long)seed);
	grove_simcluster_init(cl, n, seed, NULL, true);
	size_t seeds[1] = { 0 };
	for (size_t i = 0; i < N; i++)
		grove_simcluster_start(cl, i, seeds, 1, false);
	uint64_t t = grove_simcluster_run_until_pred(cl, grove_simcluster_now(cl) + 60 * SEC, 100, pred_all_alive,
						     NULL);
	assert_true(t != 0);
}

/* Forged, unsigned, tampered, truncated, oversize, replayed, mislabelled
 * and garbage datagrams into node 0; returns how many. */
static int inject_crafted(grove_simcluster_t *cl, const snapshot_t *before)
{
	uint8_t p[GROVE_MEMBER_PAYLOAD_MAX], d[GROVE_DATAGRAM_MAX + 600];
	grove_member_update_t kill3 = { .kind = GROVE_MEMBER_DEAD, .id = "node-3", .from = "node-1" };
	kill3.incarnation = before->inc[3] + 5;
	size_t plen = make_payload(p, sizeof(p), "node-1", &kill3);
	grove_test_ca_t evil;
	grove_identity_t fake;
	grove_sender_t fake_sender;
	grove_test_ca_init(&evil, "evil-ca");
	grove_test_identity(&fake, &evil, &evil, "node-1", 9, GROVE_TEST_EXPIRES_MS);
	grove_sender_init(&fake_sender, &fake, 99);
	deliver(cl, d, seal(&fake_sender, p, plen, d)); /* node-1's id, another CA */
	grove_identity_close(&fake);
	deliver(cl, p, plen); /* unsigned */
	size_t dlen = seal(&cl->nodes[1].sender, p, plen, d);
	d[dlen - 64 - 3] ^= 0x01; /* tampered payload byte */
	deliver(cl, d, dlen);
	dlen = seal(&cl->nodes[1].sender, p, plen, d);
	deliver(cl, d, dlen - 10); /* truncated */
	memset(d, 0x47, sizeof(d));
	deliver(cl, d, sizeof(d)); /* oversize: refused by the core before the envelope */
	grove_member_update_t hello = { .kind = GROVE_MEMBER_ALIVE, .id = "node-1", .addr = "n1:7946" };
	hello.incarnation = before->inc[1];
	size_t hlen = make_payload(p, sizeof(p), "node-1", &hello);
	dlen = seal(&cl->nodes[1].sender, p, hlen, d);
	deliver(cl, d, dlen); /* harmless and accepted ... */
	uint64_t replays = drops(cl, GROVE_DROP_REPLAY);
	deliver(cl, d, dlen); /* ... then replayed */
	assert_int_equal(drops(cl, GROVE_DROP_REPLAY), replays + 1);
	plen = make_payload(p, sizeof(p), "node-4", &kill3);
	deliver(cl, d, seal(&cl->nodes[1].sender, p, plen, d)); /* signed by node-1, says node-4 inside */
	memset(p, 0xee, 40);
	deliver(cl, d, seal(&cl->nodes[1].sender, p, 40, d)); /* signed garbage */
	plen = make_payload(p, sizeof(p), "node-1", &kill3);
	uint64_t clear0 = cl->nodes[0].sec.cleartext_refused;
	dlen = 0;
	assert_int_equal(grove_envelope_seal(&cl->nodes[1].sender, GROVE_MEMBER_ENVELOPE_KIND, "node-0", true, p, plen,
					     d, GROVE_DATAGRAM_MAX, &dlen), 0);
	deliver(cl, d, dlen); /* genuine but signed-only: nothing of membership travels in clear */
	assert_int_equal(cl->nodes[0].sec.cleartext_refused, clear0 + 1);
	return 10;
}

static void inject_random(grove_simcluster_t *cl, uint64_t seed, int count)
{
	uint8_t d[GROVE_DATAGRAM_MAX];
	grove_rng_t rng;
	grove_rng_seed(&rng, seed);
	for (int i = 0; i < count; i++) {
		size_t len = (size_t)grove_rng_below(&rng, GROVE_DATAGRAM_MAX + 1);
		for (size_t k = 0; k < len; k++)
			d[k] = (uint8_t)grove_rng_next(&rng);
		if (len > 2 && i % 2) {
			d[0] = 0x47; /* valid magic and version, so deeper checks run */
			d[1] = 0x56;
			d[2] = 1;
		}
		deliver(cl, d, len);
	}
}

static void test_secure_cluster_forms(void **state)
{
	(void)state;
	grove_simcluster_t cl;
	form(&cl, 2000, N);
	for (size_t i = 0; i < N; i++)
		assert_int_equal(grove_peerbook_count(cl.nodes[i].book), N - 1);
	assert_true(cl.sessions_established >= 2 * (N - 1)); /* both ends of every join */
	assert_int_equal(cl.sessions_refused, 0);
	assert_true(cl.max_datagram_bytes <= GROVE_DATAGRAM_MAX);
	printf("%llu encrypted push-pull sessions, largest datagram %zu bytes\n",
	       (unsigned long long)cl.sessions_established, cl.max_datagram_bytes);
	/* a restart raises the envelope epoch: replay windows take the new
	 * epoch and the node is alive again everywhere, without seeds */
	grove_simcluster_kill(&cl, 5);
	grove_simcluster_run(&cl, grove_simcluster_now(&cl) + 60 * SEC);
	assert_int_equal(grove_simcluster_view(&cl, 0, 5), GROVE_MEMBER_DEAD);
	grove_simcluster_start(&cl, 5, NULL, 0, true);
	assert_true(grove_simcluster_run_until_pred(&cl, grove_simcluster_now(&cl) + 30 * SEC, 100, pred_all_alive,
						    NULL) != 0);
	grove_simcluster_close(&cl);
}

static void test_secure_cluster_refuses_hostile_datagrams(void **state)
{
	(void)state;
	grove_simcluster_t cl;
	uint64_t seed = 2001;
	form(&cl, seed, N);
	snapshot_t before, after;
	grove_member_stats_t st0, st1;
	snap(&cl, &before);
	grove_member_get_stats(cl.nodes[0].m, &st0);
	int crafted = inject_crafted(&cl, &before);
	inject_random(&cl, seed, 20000);
	grove_member_get_stats(cl.nodes[0].m, &st1);
	snap(&cl, &after);
	assert_memory_equal(&before, &after, sizeof(before));
	/* crafted: 5 refused by the envelope, 1 accepted, oversize and garbage
	 * refused by the decoder, the mislabelled one by the sender check, the
	 * signed-only one by the hooks */
	assert_int_equal(crafted, 10);
	assert_int_equal(st1.drop_open - st0.drop_open, 20000 + 6);
	assert_int_equal(st1.drop_sender - st0.drop_sender, 1);
	assert_int_equal(st1.drop_decode - st0.drop_decode, 2);
	const grove_drop_stats_t *ds = grove_peerbook_stats(cl.nodes[0].book);
	for (int r = 1; r < GROVE_DROP_COUNT; r++)
		if (ds->dropped[r])
			printf("  dropped %-16s %llu\n", grove_drop_name((grove_drop_t)r),
			       (unsigned long long)ds->dropped[r]);
	assert_true(drops(&cl, GROVE_DROP_BADSIG) >= 1);
	assert_true(drops(&cl, GROVE_DROP_MALFORMED) >= 1);
	assert_true(drops(&cl, GROVE_DROP_VERSION) >= 1);
	assert_true(drops(&cl, GROVE_DROP_ID_CONFLICT) + drops(&cl, GROVE_DROP_UNTRUSTED) >= 1);
	/* the cluster carries on */
	grove_simcluster_run(&cl, grove_simcluster_now(&cl) + 30 * SEC);
	assert_true(grove_simcluster_all_see_alive(&cl, N));
	assert_int_equal(cl.false_dead, 0);
	grove_simcluster_close(&cl);
}

/* A certified node presenting node-2's id with another key (the CA signed
 * two certificates for one id): refused and reported everywhere, and the
 * real node-2 stays what every member knows. */
static void test_secure_id_conflict(void **state)
{
	(void)state;
	grove_simcluster_t cl;
	form(&cl, 2002, N + 1);
	grove_simcluster_set_identity(&cl, N, "node-2", 1);
	size_t seeds[1] = { 0 };
	grove_simcluster_start(&cl, N, seeds, 1, false);
	grove_simcluster_run(&cl, grove_simcluster_now(&cl) + 60 * SEC);
	uint64_t conflicts = 0;
	for (size_t i = 0; i < N; i++)
		conflicts += grove_peerbook_stats(cl.nodes[i].book)->conflicts;
	printf("conflict: %llu refusals by peer books, %llu sessions refused\n", (unsigned long long)conflicts,
	       (unsigned long long)cl.sessions_refused);
	assert_true(conflicts > 0);
	assert_true(cl.sessions_refused > 0);
	grove_member_info_t info;
	for (size_t i = 0; i < N; i++) {
		if (i == 2)
			continue;
		assert_int_equal(grove_member_find(cl.nodes[i].m, "node-2", &info), 0);
		assert_string_equal(info.addr, "n2:7946");
		assert_int_equal(info.state, GROVE_MEMBER_ALIVE);
	}
	assert_int_equal(cl.false_dead, 0);
	grove_simcluster_close(&cl);
}

/* The envelope's replay window is per receiver and starts empty, so a node
 * that restarted accepts the first captured datagram of any epoch (and the
 * later ones of that epoch, in order) until it hears the sender's current
 * epoch.  Membership incarnations make such replays stale: captured "node-3
 * is dead" and "node-0 is dead" (both once true at those incarnations, then
 * refuted) replayed into a freshly restarted node 0 change nothing. */
static void test_replay_into_restarted_node(void **state)
{
	(void)state;
	grove_simcluster_t cl;
	form(&cl, 2003, N);
	snapshot_t before;
	snap(&cl, &before);
	uint8_t p[GROVE_MEMBER_PAYLOAD_MAX], d3[GROVE_DATAGRAM_MAX], d0[GROVE_DATAGRAM_MAX];
	grove_member_update_t kill3 = { .kind = GROVE_MEMBER_DEAD, .id = "node-3", .from = "node-1" };
	grove_member_update_t kill0 = { .kind = GROVE_MEMBER_DEAD, .id = "node-0", .from = "node-1" };
	kill3.incarnation = before.inc[3];
	kill0.incarnation = before.inc[0];
	size_t len3 = seal_to0(&cl, &cl.nodes[1].sender, p, make_payload(p, sizeof(p), "node-1", &kill3), d3);
	size_t len0 = seal_to0(&cl, &cl.nodes[1].sender, p, make_payload(p, sizeof(p), "node-1", &kill0), d0);
	/* delivered once for real: node 0 believes node-3 dead and refutes
	 * its own death; node-3 hears it and refutes too */
	deliver(&cl, d3, len3);
	deliver(&cl, d0, len0);
	assert_int_equal(grove_simcluster_view(&cl, 0, 3), GROVE_MEMBER_DEAD);
	assert_true(grove_member_incarnation(cl.nodes[0].m) > before.inc[0]);
	assert_non_null(cl.nodes[0].saved);
	uint64_t t = grove_simcluster_run_until_pred(&cl, grove_simcluster_now(&cl) + 60 * SEC, 100, pred_all_alive, NULL);
	assert_true(t != 0);
	assert_true(grove_member_incarnation(cl.nodes[3].m) > before.inc[3]);

	grove_simcluster_kill(&cl, 0);
	grove_simcluster_run(&cl, grove_simcluster_now(&cl) + 5 * SEC);
	grove_simcluster_start(&cl, 0, NULL, 0, true);
	uint64_t inc0 = grove_member_incarnation(cl.nodes[0].m);
	assert_true(inc0 > before.inc[0] + 1);
	deliver(&cl, d3, len3); /* accepted by the fresh book: membership must ignore them */
	deliver(&cl, d0, len0);
	assert_int_equal(grove_peerbook_stats(cl.nodes[0].book)->accepted, 2);
	assert_int_equal(grove_member_incarnation(cl.nodes[0].m), inc0);
	assert_true(grove_simcluster_view(&cl, 0, 3) != GROVE_MEMBER_DEAD);
	t = grove_simcluster_run_until_pred(&cl, grove_simcluster_now(&cl) + 60 * SEC, 100, pred_all_alive, NULL);
	assert_true(t != 0);
	assert_int_equal(grove_member_incarnation(cl.nodes[0].m), inc0); /* never accused again */
	/* once node 0 has heard node-1's current epoch, the same bytes are replays */
	uint64_t replays = drops(&cl, GROVE_DROP_REPLAY);
	deliver(&cl, d3, len3);
	assert_int_equal(drops(&cl, GROVE_DROP_REPLAY), replays + 1);
	assert_int_equal(grove_simcluster_view(&cl, 0, 3), GROVE_MEMBER_ALIVE);
	grove_simcluster_close(&cl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secure_cluster_forms),
		cmocka_unit_test(test_secure_cluster_refuses_hostile_datagrams),
		cmocka_unit_test(test_secure_id_conflict),
		cmocka_unit_test(test_replay_into_restarted_node),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
