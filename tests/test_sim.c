/*
 * test_sim.c - the short version of the deterministic cluster simulation
 * (tests/sim/): dozens of seeds of small clusters with partitions,
 * crashes and restarts, loss, duplication, reordering, clock skew, forged
 * datagrams and a random workload of all four types, each checked for
 * safety at every step, convergence within the bound and the reference
 * model; determinism by trace hash; and tests that each checker can fail.
 *
 * The binary links the simulator's objects (all of tests/sim/ but
 * sim_main.c; see the Makefile) and reads its internals (sim_int.h).
 * Seeds run from GROVE_SIM_SEED (default 1) upward, GROVE_SIM_SEEDS of
 * them; a failing seed prints its replay command.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gossip/ae/codec.h"
#include "gossip/secure/envelope.h"
#include "tests/sim/sim_int.h"

#if defined(__SANITIZE_ADDRESS__)
#define SEEDS_DEFAULT 8 /* ASan+UBSan pass: fewer seeds, same checks */
#define BIG_NODES 15
#else
#define SEEDS_DEFAULT 64
#define BIG_NODES 40
#endif

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);
	return v && *v ? strtoull(v, NULL, 0) : def;
}

/* Small cluster, short fault phase: sizes 3..7 by seed. */
static void small_config(sim_config_t *c, uint64_t seed)
{
	sim_config_init(c);
	c->seed = seed;
	c->nodes = 3 + (uint32_t)(seed % 5);
	c->fault_ms = 5000;
	c->ops = 100;
	c->argv0 = "bin/grove-sim";
}

static uint32_t run_seeds(uint64_t first, uint64_t count, bool secure, bool push, uint64_t *worst_ms)
{
	uint32_t failed = 0;
	for (uint64_t k = 0; k < count; k++) {
		sim_config_t c;
		small_config(&c, first + k);
		c.secure = secure;
		c.ae_push = push;
		sim_t *s = sim_create(&c);
		assert_non_null(s);
		sim_result_t r;
		if (!sim_run(s, &r))
			failed++; /* sim_fail printed the seed, replay command and trace */
		else if (r.converged_ms > *worst_ms)
			*worst_ms = r.converged_ms;
		assert_true(!r.ok || r.states_checked > 0);
		sim_destroy(s);
	}
	return failed;
}

static void test_sim_seeds_secure(void **state)
{
	(void)state;
	uint64_t first = env_u64("GROVE_SIM_SEED", 1), n = env_u64("GROVE_SIM_SEEDS", SEEDS_DEFAULT);
	uint64_t worst = 0;
	uint32_t failed = run_seeds(first, n, true, false, &worst);
	printf("sim: seeds %llu..%llu signed: %u failed; worst convergence %llu ms after faults\n",
	       (unsigned long long)first, (unsigned long long)(first + n - 1), failed, (unsigned long long)worst);
	assert_int_equal(failed, 0);
}

static void test_sim_seeds_plain_push(void **state)
{
	(void)state;
	uint64_t first = env_u64("GROVE_SIM_SEED", 1) + 100000, n = env_u64("GROVE_SIM_SEEDS", SEEDS_DEFAULT) / 4;
	uint64_t worst = 0;
	uint32_t failed = run_seeds(first, n, false, true, &worst);
	printf("sim: seeds %llu..%llu plaintext+push: %u failed; worst convergence %llu ms\n",
	       (unsigned long long)first, (unsigned long long)(first + n - 1), failed, (unsigned long long)worst);
	assert_int_equal(failed, 0);
}

static void run_hash(uint64_t seed, uint8_t out[32])
{
	sim_config_t c;
	small_config(&c, seed);
	sim_t *s = sim_create(&c);
	assert_non_null(s);
	sim_result_t r;
	assert_true(sim_run(s, &r));
	assert_true(r.events > 300);
	memcpy(out, r.trace_hash, 32);
	sim_destroy(s);
}

static void test_sim_deterministic(void **state)
{
	(void)state;
	uint8_t a[32], b[32], c[32];
	for (uint64_t seed = 7; seed < 9; seed++) {
		run_hash(seed, a);
		run_hash(seed, b);
		run_hash(seed + 1000, c);
		assert_memory_equal(a, b, 32);
		assert_memory_not_equal(a, c, 32);
	}
}

static sim_t *started(uint64_t seed, bool quiet)
{
	sim_config_t c;
	small_config(&c, seed);
	c.quiet = quiet;
	c.forgeries = 0;
	sim_t *s = sim_create(&c);
	assert_non_null(s);
	assert_true(sim_run_until(s, 3000));
	return s;
}

/* Forgeries of every kind are dropped; a genuine datagram passed off as a
 * forgery is caught, so the checker can fail. */
static void test_sim_forgery_checker(void **state)
{
	(void)state;
	sim_t *s = started(21, true);
	/* 40 forgeries at the nodes that are up (a crash may have a node down
	 * at this time, depending on the run) */
	for (int k = 0, tries = 0; k < 40 && tries < 400; tries++)
		if (s->nodes[(uint32_t)tries % s->n].up) {
			sim_inject(s, (uint32_t)tries % s->n, 0, false);
			k++;
		}
	assert_false(sim_failed(s));
	assert_int_equal(s->res.forged, s->res.forged_dropped);
	assert_true(s->res.forged >= 30);
	uint32_t to = 1;
	while (to + 1 < s->n && !s->nodes[to].up)
		to++;
	assert_true(s->nodes[to].up);
	sim_inject(s, to, 0, true);
	assert_true(sim_failed(s));
	assert_non_null(strstr(s->res.failure, "accepted a forged datagram"));
	sim_destroy(s);
}

/* ---- capture: nothing written crosses the network in clear ---- */

#define CAPTURE_KEYS 24

typedef struct capture {
	char keys[CAPTURE_KEYS][40], vals[CAPTURE_KEYS][48];
	uint64_t datagrams, sealed, clear_digests, clear_other, frames;
	uint64_t hits_datagram, hits_stream; /* a written key or value found in the bytes */
} capture_t;

static bool holds_secret(const capture_t *c, const uint8_t *b, size_t len)
{
	for (int k = 0; k < CAPTURE_KEYS; k++)
		if (memmem(b, len, c->keys[k], strlen(c->keys[k])) || memmem(b, len, c->vals[k], strlen(c->vals[k])))
			return true;
	return false;
}

/* First payload byte of an unsealed envelope (doc/wire_format.md), or -1. */
static int first_payload_byte(const uint8_t *b, size_t len)
{
	size_t at = 5;
	at += 1 + (at < len ? b[at] : 0);             /* from */
	at += 1 + (at < len ? b[at] : 0) + 8 + 8;     /* to, epoch, seq */
	if (b[4] & GROVE_ENVELOPE_FLAG_CERT)
		at += 2 + (at + 1 < len ? ((size_t)b[at] << 8 | b[at + 1]) : 0);
	at += 2;                                      /* payload_len */
	return at < len ? b[at] : -1;
}

/* The tap sees every datagram and stream message as it is sent. */
static void capture_tap(void *ctx, bool stream, int from, uint8_t tag, const uint8_t *b, size_t len)
{
	capture_t *c = ctx;
	(void)from;
	(void)tag;
	bool hit = holds_secret(c, b, len);
	if (stream) {
		c->frames++;
		c->hits_stream += hit;
		return;
	}
	c->datagrams++;
	c->hits_datagram += hit;
	if (len > 5 && b[0] == GROVE_ENVELOPE_MAGIC0 && b[1] == GROVE_ENVELOPE_MAGIC1) {
		if (b[4] & GROVE_ENVELOPE_FLAG_SEALED)
			c->sealed++;
		else if (b[3] == GROVE_AE_ENVELOPE_KIND && first_payload_byte(b, len) == GROVE_AE_DIGEST)
			c->clear_digests++;
		else
			c->clear_other++; /* must stay 0 */
	}
}

/* A 5-node cluster (membership, anti-entropy with pushes, every datagram
 * through the security hooks) takes CAPTURE_KEYS writes of distinctive
 * keys and values; every datagram and stream message is captured. */
static void run_capture(bool secure, capture_t *c)
{
	sim_config_t cfg;
	small_config(&cfg, 4242);
	cfg.nodes = 5;
	cfg.secure = secure;
	cfg.ae_push = true;
	cfg.ops = 0;
	cfg.forgeries = 0;
	cfg.crashes = 0;
	cfg.partitions = 0;
	cfg.quiet = true;
	memset(c, 0, sizeof *c);
	for (int k = 0; k < CAPTURE_KEYS; k++) {
		snprintf(c->keys[k], sizeof c->keys[k], "capture:key:%02d:Zq7", k);
		snprintf(c->vals[k], sizeof c->vals[k], "capture-value-%02d-W4xJ", k);
	}
	sim_t *s = sim_create(&cfg);
	assert_non_null(s);
	grove_netsim_set_tap(s->net, capture_tap, c);
	assert_true(sim_run_until(s, 3000));
	for (int k = 0; k < CAPTURE_KEYS; k++) {
		grove_db_t *db = s->nodes[(uint32_t)k % cfg.nodes].db;
		assert_int_equal(grove_db_register_set(db, c->keys[k], strlen(c->keys[k]), c->vals[k],
						       strlen(c->vals[k])), 0);
		assert_true(sim_run_until(s, sim_now(s) + 200));
	}
	assert_true(sim_run_until(s, sim_now(s) + 8000));
	/* the writes did travel: every node holds every key */
	for (uint32_t i = 0; i < cfg.nodes; i++)
		for (int k = 0; k < CAPTURE_KEYS; k++) {
			grove_value_t *v = NULL;
			assert_int_equal(grove_db_get(s->nodes[i].db, c->keys[k], strlen(c->keys[k]), &v), 0);
			grove_value_destroy(v);
		}
	grove_netsim_set_tap(s->net, NULL, NULL);
	sim_destroy(s);
	printf("capture (%s): %llu datagrams (%llu sealed, %llu signed-only digests, %llu other in clear), "
	       "%llu stream messages; written keys or values seen in %llu datagrams, %llu stream messages\n",
	       secure ? "secure" : "plaintext", (unsigned long long)c->datagrams, (unsigned long long)c->sealed,
	       (unsigned long long)c->clear_digests, (unsigned long long)c->clear_other,
	       (unsigned long long)c->frames, (unsigned long long)c->hits_datagram,
	       (unsigned long long)c->hits_stream);
}

/* Nothing written crosses the network in clear in datagrams: every
 * datagram but anti-entropy digests is sealed.  Controls: the same
 * cluster in plaintext mode shows the keys in its datagrams, and the
 * simulator's streams carry the bare frames (groved wraps every stream in
 * the encrypted session of gossip/secure/channel.h; the proc test
 * tests/soak/soak_wire_capture.sh captures a real cluster's streams too). */
static void test_sim_capture_nothing_in_clear(void **state)
{
	(void)state;
	capture_t plain, secure;
	run_capture(false, &plain);
	assert_true(plain.hits_datagram > 0); /* the detector finds what travels in clear */
	run_capture(true, &secure);
	assert_true(secure.datagrams > 100);
	assert_true(secure.sealed > secure.datagrams / 2);
	assert_int_equal(secure.clear_other, 0);
	assert_int_equal(secure.hits_datagram, 0);
	assert_true(secure.hits_stream > 0); /* bare frames in the simulator, see above */
}

static void test_sim_model_checker(void **state)
{
	(void)state;
	sim_config_t c;
	small_config(&c, 33);
	c.quiet = true;
	sim_t *s = sim_create(&c);
	assert_non_null(s);
	sim_model_skew(s);
	sim_result_t r;
	assert_false(sim_run(s, &r));
	assert_non_null(strstr(r.failure, "counter c0"));
	sim_destroy(s);
}

/* A network that drops everything cannot converge: the bound is enforced. */
static void test_sim_liveness_checker(void **state)
{
	(void)state;
	sim_config_t c;
	small_config(&c, 44);
	c.quiet = true;
	c.loss = 1.0;
	c.loss_after = 1.0;
	c.settle_max_ms = 3000;
	sim_t *s = sim_create(&c);
	assert_non_null(s);
	sim_result_t r;
	assert_false(sim_run(s, &r));
	assert_non_null(strstr(r.failure, "no convergence within 3000 ms"));
	sim_destroy(s);
}

/* One larger cluster: 40 nodes (15 under ASan), the default faults. */
static void test_sim_big_cluster(void **state)
{
	(void)state;
	sim_config_t c;
	small_config(&c, 55);
	c.nodes = BIG_NODES;
	c.fault_ms = 8000;
	c.ops = 300;
	sim_t *s = sim_create(&c);
	assert_non_null(s);
	sim_result_t r;
	assert_true(sim_run(s, &r));
	printf("sim: %u nodes: converged %llu ms after faults (digests %llu ms), %llu events\n",
	       c.nodes, (unsigned long long)r.converged_ms, (unsigned long long)r.data_converged_ms,
	       (unsigned long long)r.events);
	sim_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sim_deterministic),
		cmocka_unit_test(test_sim_forgery_checker),
		cmocka_unit_test(test_sim_capture_nothing_in_clear),
		cmocka_unit_test(test_sim_model_checker),
		cmocka_unit_test(test_sim_liveness_checker),
		cmocka_unit_test(test_sim_big_cluster),
		cmocka_unit_test(test_sim_seeds_secure),
		cmocka_unit_test(test_sim_seeds_plain_push),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
