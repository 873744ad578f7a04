/*
 * bench_crdt.c - throughput of the value codec and merge per type.
 *
 * Workloads: a counter touched by 16 nodes, a register of 100 bytes, a set
 * of 10,000 members added by 4 nodes, a map of 10,000 fields.  For each:
 * encode, decode and merge (a replica differing by one write merged into
 * the other, with the `changed` flag asked as storage does), in ops/s and
 * MB/s of encoded state; and the local write on the full value.  Baseline
 * in the same run: msgpack-c's own unpacker walking the same bytes into its
 * generic object tree (no validation, no CRDT structure).  Figures are
 * printed, never asserted.  Rates are per second of process CPU time, so
 * that other work on a shared machine does not skew them.
 */
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "grove/alloc.h"
#include "grove/value.h"

#define BENCH_MIN_SECONDS 0.3
#define BENCH_ITERS_MAX 10000000L

typedef struct bench_ctx {
	grove_value_t *a, *b; /* two replicas differing by one write */
	uint8_t *enc;
	size_t len;
	int kind;
	uint64_t seq;
	char val[100]; /* the register's value */
} bench_ctx_t;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void check(int rc, const char *what)
{
	if (rc) {
		fprintf(stderr, "bench_crdt: %s: %s\n", what, grove_strerror(rc));
		exit(1);
	}
}

static void run_encode(bench_ctx_t *c)
{
	uint8_t *buf;
	size_t len;
	check(grove_value_encode(c->a, &buf, &len), "encode");
	grove_free(buf);
}

static void run_decode(bench_ctx_t *c)
{
	grove_value_t *v;
	check(grove_value_decode(c->enc, c->len, &v), "decode");
	grove_value_destroy(v);
}

static void run_merge(bench_ctx_t *c)
{
	bool changed;
	check(grove_value_merge(c->a, c->b, &changed), "merge");
}

static void run_baseline(bench_ctx_t *c)
{
	msgpack_unpacked u;
	size_t off = 0;
	msgpack_unpacked_init(&u);
	if (msgpack_unpack_next(&u, (const char *)c->enc, c->len, &off) != MSGPACK_UNPACK_SUCCESS)
		check(GROVE_EDECODE, "msgpack_unpack_next");
	msgpack_unpacked_destroy(&u);
}

/* A local write on the full value: counter add, register set, set add of a
 * present member, map set of an existing field. */
static void run_write(bench_ctx_t *c)
{
	char key[16];
	uint64_t ts = 1000000 + ++c->seq;
	snprintf(key, sizeof(key), "k%05u", (unsigned)(c->seq % 10000));
	switch (c->kind) {
	case 0:
		check(grove_pncounter_add(c->a, "node-07", 1), "add");
		break;
	case 1:
		check(grove_lwwreg_set(c->a, "node-07", ts, c->val, sizeof(c->val)), "set");
		break;
	case 2:
		check(grove_orset_add(c->a, "node-01", key, 6, NULL), "sadd");
		break;
	default:
		check(grove_lwwmap_set(c->a, "node-01", ts, key, 6, "value", 5, NULL), "hset");
	}
}

static void measure(const char *type, const char *op, void (*fn)(bench_ctx_t *), bench_ctx_t *c,
		    size_t bytes_per_op)
{
	long n = 0, batch = 1;
	double t0 = now_s(), dt;
	do {
		for (long i = 0; i < batch; i++)
			fn(c);
		n += batch;
		batch *= 2;
		dt = now_s() - t0;
	} while (dt < BENCH_MIN_SECONDS && n < BENCH_ITERS_MAX);
	double ops = (double)n / dt;
	printf("%-9s %-17s %12.0f %10.1f %10zu\n", type, op, ops,
	       ops * (double)bytes_per_op / 1e6, bytes_per_op);
}

static void build(bench_ctx_t *c, int kind)
{
	char node[16], key[16];
	memset(c->val, 'v', sizeof(c->val));
	check(grove_value_create(&c->a), "create");
	for (int i = 0; i < (kind == 0 ? 16 : kind == 1 ? 1 : 10000); i++) {
		snprintf(node, sizeof(node), "node-%02d", i % (kind == 0 ? 16 : 4));
		snprintf(key, sizeof(key), "k%05d", i);
		uint64_t ts = 1000 + (uint64_t)i;
		if (kind == 0)
			check(grove_pncounter_add(c->a, node, 1000 + i), "add");
		else if (kind == 1)
			check(grove_lwwreg_set(c->a, node, ts, c->val, sizeof(c->val)), "set");
		else if (kind == 2)
			check(grove_orset_add(c->a, node, key, 6, NULL), "sadd");
		else
			check(grove_lwwmap_set(c->a, node, ts, key, 6, "value-0123456789", 16, NULL), "hset");
	}
	check(grove_value_clone(c->a, &c->b), "clone");
	c->kind = kind;
	c->seq = 0;
	run_write(c); /* a and b now differ by one write */
	check(grove_value_encode(c->a, &c->enc, &c->len), "encode");
}

int main(void)
{
	static const char *const names[4] = { "counter16", "reg100", "set10k", "map10k" };
	printf("%-9s %-17s %12s %10s %10s\n", "type", "operation", "ops/s", "MB/s", "bytes");
	for (int kind = 0; kind < 4; kind++) {
		bench_ctx_t c = { 0 };
		build(&c, kind);
		measure(names[kind], "encode", run_encode, &c, c.len);
		measure(names[kind], "decode", run_decode, &c, c.len);
		measure(names[kind], "baseline unpack", run_baseline, &c, c.len);
		measure(names[kind], "merge+changed", run_merge, &c, c.len);
		measure(names[kind], "local write", run_write, &c, 0);
		grove_free(c.enc);
		grove_value_destroy(c.a);
		grove_value_destroy(c.b);
	}
	return 0;
}
