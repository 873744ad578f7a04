/*
 * fuzz_coll_decode.c - libFuzzer target for the decoders of collections
 * stored per element (crdt/coll.h) and of their metadata records
 * (storage/db_coll.c): the first byte picks the decoder, the rest is its
 * input.  Element records, contexts and element states are canonical:
 * whatever decodes must re-encode to exactly the input; an element record
 * scanned in place (grove_elem_rec_scan) gets the decoder's answer, and
 * its count, greatest timestamp and tagged entries.  A decoded element
 * state merges into an empty local element and into itself without error
 * (or with GROVE_EDECODE for forged entries only).  A decoded hash field
 * (plain or counter entries, crdt/hcount.h) is read, and HSET and HINCRBY
 * are applied to it: they succeed (or refuse an overflow) and write a
 * record that encodes and decodes again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/coll.h"
#include "crdt/hcount.h"
#include "storage/db_int.h"

static void fuzz_check(int cond)
{
	if (!cond)
		abort();
}

/* HSET and HINCRBY on a decoded field record x, by a node whose dot is
 * above every dot of x: the records they write decode again. */
static void field_writes(const grove_elem_t *x)
{
	grove_hfield_val_t v;
	int rc = grove_hfield_eval(x, &v);
	fuzz_check(rc == 0 || (rc == GROVE_ENOTFOUND && x->len == 0));
	fuzz_check(rc != 0 || v.len == 0 || v.p != NULL);
	grove_value__dot_t d = { .node = "~fuzz", .counter = 1 };
	for (size_t i = 0; i < x->len; i++) /* the writer's dots are above x's */
		if (strcmp(x->e[i].dot.node, d.node) == 0 && x->e[i].dot.counter > d.counter)
			d.counter = x->e[i].dot.counter;
	if (d.counter > UINT64_MAX - 4)
		return;
	grove_elem_t w = { 0 };
	grove_buf_t b = { 0 };
	for (int op = 0; op < 3; op++) {
		grove_elem_t *cur = op == 0 ? (grove_elem_t *)x : &w;
		grove_elem_t out = { 0 };
		d.counter++;
		rc = op == 1 ? grove_hfield_set(cur, &d, 1, "v", 1, &out)
			     : grove_hfield_incr(cur, &d, 1, op ? INT64_MIN : 5, &out);
		fuzz_check(rc == 0 || rc == GROVE_EOVERFLOW || rc == GROVE_ETOOBIG);
		if (rc == 0) {
			grove_elem_t y;
			b.len = 0;
			fuzz_check(grove_elem_encode(&b, &out, GROVE_ELEM_FIELD) == 0);
			fuzz_check(grove_elem_decode(b.data, b.len, GROVE_ELEM_FIELD, &y) == 0);
			fuzz_check(grove_elem_eq(&y, &out) && grove_hfield_eval(&y, &v) == 0);
			grove_elem_free(&y);
			grove_elem_free(&w);
			w = out;
		} else {
			grove_elem_free(&out);
		}
	}
	grove_elem_free(&w);
	grove_buf_close(&b);
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
		size_t cnt = 0;
		uint64_t ts = 0;
		bool tagged = false;
		int src = grove_elem_rec_scan(p, n, kind, &cnt, &ts, &tagged);
		int drc = grove_elem_decode(p, n, kind, &x);
		fuzz_check(src == drc || drc == GROVE_ENOMEM);
		if (drc == 0) {
			fuzz_check(grove_elem_encode(&b, &x, kind) == 0);
			same_bytes(&b, p, n);
			(void)grove_elem_winner(&x);
			fuzz_check(cnt == x.len && ts == grove_elem_max_ts(&x));
			bool any = false;
			for (size_t i = 0; i < x.len; i++)
				any = any || x.e[i].tag != GROVE_HENTRY_PLAIN;
			fuzz_check(tagged == any);
			if (kind == GROVE_ELEM_FIELD)
				field_writes(&x);
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
