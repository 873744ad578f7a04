/*
 * test_ae_secure.c - anti-entropy datagrams through the signed envelope
 * (gossip/secure_hooks.h): a sealed DIGEST opens at the peer and starts a
 * session; replayed, tampered, unsigned, other-kind and unknown-sender
 * datagrams are dropped and counted, and change nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "gossip/secure_hooks.h"
#include "tests/util_identity.h"
#include "tests/util_storage.h"

typedef struct snode {
	grove_identity_t id;
	grove_sender_t tx;
	grove_peerbook_t *book;
	grove_secure_hooks_t sec;
	grove_db_t *db;
	grove_ae_t *ae;
	grove_rng_t rng;
	const char *peer;
} snode_t;

static grove_test_ca_t ca;
static uint64_t now_ms = GROVE_TEST_NOW_MS;

static uint64_t clock_fn(void *ctx)
{
	(void)ctx;
	return now_ms;
}

static size_t one_peer(void *ctx, char (*addrs)[GROVE_AE_ADDR_MAX + 1], size_t max)
{
	(void)max;
	snprintf(addrs[0], GROVE_AE_ADDR_MAX + 1, "%s", ((snode_t *)ctx)->peer);
	return 1;
}

static void snode_init(snode_t *n, const char *name, const char *peer)
{
	memset(n, 0, sizeof(*n));
	grove_test_identity(&n->id, &ca, &ca, name, 0, GROVE_TEST_EXPIRES_MS);
	grove_sender_init(&n->tx, &n->id, 1);
	grove_peerbook_config_t bc = { .self = &n->id };
	assert_int_equal(grove_peerbook_create(&bc, &n->book), 0);
	grove_db_options_t o;
	grove_test_db_options_init(&o);
	o.node_id = name;
	o.clock = clock_fn;
	assert_int_equal(grove_db_open(NULL, &o, &n->db, NULL, 0), 0);
	grove_ae_config_t cfg;
	grove_ae_config_init(&cfg);
	cfg.peers = one_peer;
	cfg.peers_ctx = n;
	n->peer = peer;
	grove_secure_hooks_init(&n->sec, &n->tx, n->book, GROVE_AE_ENVELOPE_KIND);
	grove_secure_hooks_config_ae(&n->sec, &cfg);
	assert_true(cfg.security.overhead_bytes > 64 && cfg.security.overhead_bytes < 300);
	grove_rng_seed(&n->rng, 5);
	assert_int_equal(grove_ae_create(&cfg, n->db, &n->rng, &n->ae), 0);
}

static void snode_close(snode_t *n)
{
	grove_ae_destroy(n->ae);
	grove_db_close(n->db);
	grove_peerbook_destroy(n->book);
	grove_identity_close(&n->id);
}

/* One DIGEST datagram from n (its next round). */
static size_t digest_from(snode_t *n, uint8_t *out)
{
	grove_ae_tick(n->ae, now_ms);
	now_ms += 1000;
	grove_ae_tick(n->ae, now_ms);
	grove_out_t o;
	size_t len = 0;
	while (grove_ae_poll(n->ae, now_ms, &o)) {
		if (o.kind == GROVE_OUT_DATAGRAM) {
			assert_true(o.len <= GROVE_DATAGRAM_MAX);
			memcpy(out, o.bytes, o.len);
			len = o.len;
		}
	}
	assert_true(len > 0);
	return len;
}

static void test_sealed_digest_and_drops(void **state)
{
	(void)state;
	grove_test_ca_init(&ca, "ae-secure-ca");
	snode_t a, b;
	snode_init(&a, "node-a", "addr-b");
	snode_init(&b, "node-b", "addr-a");
	bool added;
	assert_int_equal(grove_db_set_add(a.db, "k", 1, "x", 1, &added), 0);
	uint8_t dg[GROVE_DATAGRAM_MAX];
	size_t len = digest_from(&a, dg);
	assert_int_equal(dg[3], GROVE_AE_ENVELOPE_KIND); /* the kind the node dispatches on */

	/* b does not know a yet: unknown sender, dropped. */
	grove_ae_recv_datagram(b.ae, now_ms, "addr-a", dg, len);
	grove_ae_stats_t st;
	grove_ae_get_stats(b.ae, &st);
	assert_int_equal(st.datagrams_dropped, 1);
	assert_int_equal(b.sec.last_drop, GROVE_DROP_UNKNOWN_SENDER);

	/* Once b learned a's certificate (as membership does), it opens. */
	assert_int_equal(grove_peerbook_add(b.book, &a.id.cert, now_ms), 0);
	grove_ae_recv_datagram(b.ae, now_ms, "addr-a", dg, len);
	grove_ae_get_stats(b.ae, &st);
	assert_int_equal(st.digests_different, 1);
	assert_int_equal(grove_ae_session_count(b.ae), 1);

	/* Replayed: dropped. */
	grove_ae_recv_datagram(b.ae, now_ms, "addr-a", dg, len);
	assert_int_equal(b.sec.last_drop, GROVE_DROP_REPLAY);
	/* Tampered (a payload byte): bad signature. */
	len = digest_from(&a, dg);
	dg[len - 70] ^= 1;
	grove_ae_recv_datagram(b.ae, now_ms, "addr-a", dg, len);
	assert_int_equal(b.sec.last_drop, GROVE_DROP_BADSIG);
	/* A plaintext payload, as an unsecured node would send. */
	static const uint8_t plain[] = { 0x01, 0x15, 0x00, 0x00 };
	grove_ae_recv_datagram(b.ae, now_ms, "addr-a", plain, sizeof(plain));
	/* A valid envelope of the membership kind. */
	size_t mlen;
	assert_int_equal(grove_envelope_seal(&a.tx, 1, NULL, false, plain, sizeof(plain), dg,
					     sizeof(dg), &mlen), 0);
	grove_ae_recv_datagram(b.ae, now_ms, "addr-a", dg, mlen);
	assert_int_equal(b.sec.wrong_kind, 1);
	grove_ae_get_stats(b.ae, &st);
	assert_int_equal(st.datagrams_dropped, 5);
	assert_int_equal(st.digests_different, 1);
	assert_int_equal(grove_ae_session_count(b.ae), 1);
	snode_close(&a);
	snode_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sealed_digest_and_drops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
