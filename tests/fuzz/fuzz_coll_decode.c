/*
 * fuzz_coll_decode.c - libFuzzer target for the decoders of collections
 * stored per element (crdt/coll.h) and of their metadata records
 * (storage/db_coll.c): the first byte picks the decoder, the rest is its
 * input.  Element records, contexts and element states are canonical:
 * whatever decodes must re-encode to exactly the input.  A decoded element
 * state merges into an empty local element and into itself without error
 * (or with GROVE_EDECODE for forged entries only).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/coll.h"
#include "storage/db_int.h"

static void fuzz_check(int cond)
{
	if (!cond)
		abort();
}

static void same_bytes(const grove_buf_t *b, const uint8_t *p, size_t n)
{
	fuzz_check(!b->failed && b->len == n && (n == 0 || memcmp(b->data, p, n) == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int which = data[0] % 6;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	grove_buf_t b = { 0 };
	grove_elem_t x = { 0 }, l = { 0 };
	grove_ctx_t c = { 0 }, lc = { 0 };
	switch (which) {
	case 0:
	case 1: {
		int kind = which ? GROVE_ELEM_FIELD : GROVE_ELEM_MEMBER;
		if (grove_elem_decode(p, n, kind, &x) == 0) {
			fuzz_check(grove_elem_encode(&b, &x, kind) == 0);
			same_bytes(&b, p, n);
			(void)grove_elem_winner(&x);
			(void)grove_elem_max_ts(&x);
		}
		break;
	}
	case 2:
		if (grove_ctx_decode(p, n, &c) == 0) {
			fuzz_check(grove_ctx_encode(&b, &c) == 0);
			same_bytes(&b, p, n);
			fuzz_check(grove_ctx_covers(&c, &c));
		}
		break;
	case 3:
	case 4: {
		int kind = which == 4 ? GROVE_ELEM_FIELD : GROVE_ELEM_MEMBER;
		bool partial = false;
		if (grove_elem_state_decode(p, n, kind, &c, &x, &partial) == 0) {
			/* a cut state's cloud is whatever the sender chose: re-encoded
			 * with every one of its dots as the extra ones */
			fuzz_check((partial ? grove_elem_state_encode_cut(&b, &c, &x, kind, c.cloud.d,
									  c.cloud.len)
					    : grove_elem_state_encode(&b, &c, &x, kind)) == 0);
			same_bytes(&b, p, n);
			bool changed = false;
			fuzz_check(grove_elem_merge(&l, &lc, &x, &c, &changed) == 0);
			fuzz_check(grove_elem_eq(&l, &x) && changed == (x.len > 0));
			fuzz_check(grove_elem_merge(&l, &lc, &x, &c, &changed) == 0 && !changed);
			fuzz_check(grove_elem_filter(&l, &c) == x.len && l.len == 0);
		}
		break;
	}
	default: {
		const uint8_t *enc;
		size_t elen;
		uint64_t cnt;
		uint8_t acc[16];
		if (grove_head_state_decode(p, n, &enc, &elen, &cnt, acc) == 0) {
			fuzz_check(grove_head_state_encode(&b, enc, elen, cnt, acc) == 0);
			same_bytes(&b, p, n);
		}
		(void)grove_db__meta_check(p, n);
		break;
	}
	}
	grove_buf_close(&b);
	grove_elem_free(&x);
	grove_elem_free(&l);
	grove_ctx_free(&c);
	grove_ctx_free(&lc);
	return 0;
}
