/*
 * test_ae_spacing.c - a peer whose last anti-entropy session took long
 * waits three times its duration before this node opens the next one
 * (differing digests meanwhile are counted in sessions_spaced), at most
 * ten digest intervals, while a short session leaves no gap and the wait
 * ends on time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "gossip/ae/antientropy.h"
#include "tests/util_netsim_ae.h"
#include "tests/util_storage.h"

static uint64_t now_ms = 1700000000000ULL;

typedef struct snode {
	grove_db_t *db;
	grove_ae_t *ae;
	grove_rng_t rng;
} snode_t;

static void snode_open(snode_t *n, const char *id, const char *peer)
{
	assert_int_equal(grove_test_storage_db_open(NULL, id, &now_ms, GROVE_DURABILITY_NONE, &n->db), 0);
	grove_ae_config_t cfg;
	grove_ae_config_init(&cfg);
	cfg.peers = grove_test_ae_one_peer; /* each side's only peer: the other one */
	cfg.peers_ctx = (void *)peer;
	cfg.interval_ms = 1000;
	grove_rng_seed(&n->rng, 5);
	assert_int_equal(grove_ae_create(&cfg, n->db, &n->rng, &n->ae), 0);
}

static void snode_close(snode_t *n)
{
	grove_ae_destroy(n->ae);
	grove_db_close(n->db);
}

/* b sends its DIGEST to a; returns the stream a opened to b (0: none). */
static uint32_t digest_b_to_a(snode_t *a, snode_t *b)
{
	grove_out_t o;
	assert_int_equal(grove_ae_round_now(b->ae, now_ms), 1);
	int digests = 0;
	while (grove_ae_poll(b->ae, now_ms, &o))
		if (o.kind == GROVE_OUT_DATAGRAM) {
			grove_ae_recv_datagram(a->ae, now_ms, "b", o.bytes, o.len);
			digests++;
		}
	assert_int_equal(digests, 1);
	uint32_t opened = 0;
	while (grove_ae_poll(a->ae, now_ms, &o))
		if (o.kind == GROVE_OUT_STREAM_OPEN)
			opened = o.stream_id;
	return opened;
}

static void test_long_session_spaces_the_next(void **state)
{
	(void)state;
	snode_t a, b;
	snode_open(&a, "a", "b");
	snode_open(&b, "b", "a");
	assert_int_equal(grove_db_counter_add(a.db, "x", 1, 1, NULL), 0); /* roots differ */
	grove_ae_stats_t st;

	uint32_t s1 = digest_b_to_a(&a, &b);
	assert_true(s1 != 0);
	now_ms += 100; /* a short session: no gap */
	grove_ae_stream_closed(a.ae, now_ms, s1);
	uint32_t s2 = digest_b_to_a(&a, &b);
	assert_true(s2 != 0);

	now_ms += 2000; /* a long one: the next waits 6 s */
	grove_ae_stream_closed(a.ae, now_ms, s2);
	now_ms += 100;
	assert_int_equal(digest_b_to_a(&a, &b), 0);
	now_ms += 5800;
	assert_int_equal(digest_b_to_a(&a, &b), 0);
	grove_ae_get_stats(a.ae, &st);
	assert_int_equal(st.sessions_spaced, 2);
	now_ms += 101;
	uint32_t s3 = digest_b_to_a(&a, &b);
	assert_true(s3 != 0);
	grove_ae_get_stats(a.ae, &st);
	assert_int_equal(st.sessions_spaced, 2);
	assert_int_equal(st.sessions_opened, 3);

	now_ms += 60000; /* 180 s by the rule: 10 intervals at most */
	grove_ae_stream_closed(a.ae, now_ms, s3);
	now_ms += 9999;
	assert_int_equal(digest_b_to_a(&a, &b), 0);
	now_ms += 2;
	assert_true(digest_b_to_a(&a, &b) != 0);
	snode_close(&a);
	snode_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_long_session_spaces_the_next),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
