/*
 * fuzz_zset_decode.c - libFuzzer target for the sorted-set decoders
 * (crdt/zscore.h, crdt/coll.h kind 3): the first byte picks the decoder,
 * the rest is its input.
 *   0: a member record: whatever decodes re-encodes to exactly the input,
 *      and its score is never NaN;
 *   1: one entry value (grove_zentry_check, counter from the next 8 bytes):
 *      an accepted value evaluates, and a ZADD and a ZINCRBY over it give
 *      values the checker accepts;
 *   2: a member state (anti-entropy): decodes, merges into an empty local
 *      member and into itself, the result still decodes;
 *   3: score index keys: 8 bytes back to a double and again to the same
 *      bytes (unless they are a NaN or -0).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/zscore.h"

static void fuzz_check(int cond)
{
	if (!cond)
		abort();
}

static void check_elem(const grove_elem_t *x)
{
	grove_buf_t b = { 0 };
	fuzz_check(grove_elem_encode(&b, x, GROVE_ELEM_ZMEMBER) == 0);
	grove_elem_t y = { 0 };
	fuzz_check(grove_elem_decode(b.data, b.len, GROVE_ELEM_ZMEMBER, &y) == 0);
	grove_elem_free(&y);
	grove_buf_close(&b);
	double s;
	if (grove_zscore_eval(x, &s) == 0)
		fuzz_check(!isnan(s));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	grove_buf_t b = { 0 };
	grove_elem_t x = { 0 }, l = { 0 }, w = { 0 };
	grove_ctx_t c = { 0 }, lc = { 0 };
	switch (data[0] % 4) {
	case 0:
		if (grove_elem_decode(p, n, GROVE_ELEM_ZMEMBER, &x) == 0) {
			fuzz_check(grove_elem_encode(&b, &x, GROVE_ELEM_ZMEMBER) == 0);
			fuzz_check(b.len == n && (n == 0 || memcmp(b.data, p, n) == 0));
			check_elem(&x);
		}
		break;
	case 1: {
		if (n < 8)
			break;
		uint64_t counter = 0;
		memcpy(&counter, p, 8);
		counter = counter % 1000 + 1;
		if (grove_zentry_check(p + 8, n - 8, counter) != 0)
			break;
		grove_entry_t e = { .dot = { .node = "n", .counter = counter }, .ts = 1 };
		e.val.p = (uint8_t *)(uintptr_t)(p + 8);
		e.val.len = (uint32_t)(n - 8);
		grove_elem_t one = { .e = &e, .len = 1, .cap = 1 };
		double s;
		fuzz_check(grove_zscore_eval(&one, &s) == 0 && !isnan(s));
		grove_value__dot_t d = { .node = "m", .counter = 1 };
		if (grove_zscore_set(&one, &d, 2, 1.5, &w) == 0) {
			fuzz_check(grove_zentry_check(w.e[0].val.p, w.e[0].val.len, 1) == 0);
			grove_elem_free(&w);
		}
		grove_value__dot_t d2 = { .node = "n", .counter = counter + 1 };
		if (grove_zscore_incr(&one, &d2, 2, 2.0, &w) == 0) {
			for (size_t i = 0; i < w.len; i++)
				fuzz_check(grove_zentry_check(w.e[i].val.p, w.e[i].val.len,
							      w.e[i].dot.counter) == 0);
			grove_elem_free(&w);
		}
		break;
	}
	case 2: {
		bool partial = false, changed = false;
		if (grove_elem_state_decode(p, n, GROVE_ELEM_ZMEMBER, &c, &x, &partial) != 0)
			break;
		check_elem(&x);
		int rc = grove_elem_merge(&l, &lc, &x, &c, &changed);
		fuzz_check(rc == 0);
		check_elem(&l);
		rc = grove_elem_merge(&l, &lc, &x, &c, &changed);
		fuzz_check(rc == 0 && !changed);
		break;
	}
	default:
		if (n >= 8) {
			double d = grove_zscore_from_key(p);
			uint8_t k[8];
			grove_zscore_key(d, k);
			if (!isnan(d) && !(d == 0 && signbit(d)))
				fuzz_check(memcmp(k, p, 8) == 0);
		}
		break;
	}
	grove_buf_close(&b);
	grove_elem_free(&x);
	grove_elem_free(&l);
	grove_ctx_free(&c);
	grove_ctx_free(&lc);
	return 0;
}
