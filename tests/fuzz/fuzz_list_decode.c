/*
 * fuzz_list_decode.c - libFuzzer target for the decoders lists added
 * (crdt/listpos.h, storage/db_list.c): the first byte picks one.
 *   0  list element record (kind 4): canonical, re-encodes to the input;
 *      its value read in place (grove_elem_winner_view) is the decoded
 *      winner's, and it fails exactly when the decoder does
 *   1  list element state: re-encodes, merges into an empty element
 *   2  two position ids split at the second byte: validation never
 *      crashes, and an id allocated between two valid ones (any order,
 *      either missing) lies strictly between them or is refused
 *   3  collection metadata record (version 3 with list bounds)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/coll.h"
#include "crdt/listpos.h"
#include "storage/db_int.h"
#include "storage/store.h"

static void fuzz_check(int cond)
{
	if (!cond)
		abort();
}

static void ids(const uint8_t *p, size_t n)
{
	if (n < 2)
		return;
	size_t cut = p[0] % (n - 1) + 1; /* lo = p[1 .. cut), hi = p[cut .. n) */
	const uint8_t *lo = p + 1, *hi = p + cut;
	size_t lol = cut - 1, hil = n - cut;
	bool lv = grove_listpos_valid(lo, lol), hv = grove_listpos_valid(hi, hil);
	static uint8_t out[GROVE_LISTPOS_MAX];
	size_t ol = 0;
	const uint8_t *a = lv ? lo : NULL, *b = hv ? hi : NULL;
	int rc = grove_listpos_between(a, a ? lol : 0, b, b ? hil : 0, "fz", 1 + p[0], p[0] & 1, out,
				       &ol);
	if (rc == 0) {
		fuzz_check(grove_listpos_valid(out, ol));
		fuzz_check(!a || grove_key_cmp(a, lol, out, ol) < 0);
		fuzz_check(!b || grove_key_cmp(out, ol, b, hil) < 0);
	} else {
		fuzz_check(rc == GROVE_EINVAL || rc == GROVE_ETOOBIG);
		fuzz_check(rc == GROVE_ETOOBIG || (a && b && grove_key_cmp(a, lol, b, hil) >= 0));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	grove_buf_t b = { 0 };
	grove_elem_t x = { 0 }, l = { 0 };
	grove_ctx_t c = { 0 }, lc = { 0 };
	bool partial = false, changed = false;
	switch (data[0] % 4) {
	case 0: {
		bool live;
		const uint8_t *v;
		size_t vl;
		int vrc = grove_elem_winner_view(p, n, GROVE_ELEM_LIST, NULL, &live, &v, &vl);
		int drc = grove_elem_decode(p, n, GROVE_ELEM_LIST, &x);
		fuzz_check(vrc == drc || drc == GROVE_ENOMEM); /* read in place: as decoded */
		if (drc == 0) {
			fuzz_check(grove_elem_encode(&b, &x, GROVE_ELEM_LIST) == 0);
			fuzz_check(!b.failed && b.len == n && (n == 0 || memcmp(b.data, p, n) == 0));
			const grove_entry_t *w = grove_elem_winner(&x);
			fuzz_check(live == (w != NULL));
			fuzz_check(!w || (vl == w->val.len && (vl == 0 || memcmp(v, w->val.p, vl) == 0)));
		}
		break;
	}
	case 1:
		if (grove_elem_state_decode(p, n, GROVE_ELEM_LIST, &c, &x, &partial) == 0) {
			fuzz_check((partial ? grove_elem_state_encode_partial(&b, &c, &x, GROVE_ELEM_LIST)
					    : grove_elem_state_encode(&b, &c, &x, GROVE_ELEM_LIST)) == 0);
			fuzz_check(!b.failed && b.len == n && memcmp(b.data, p, n) == 0);
			fuzz_check(grove_elem_merge(&l, &lc, &x, &c, &changed) == 0);
			fuzz_check(grove_elem_eq(&l, &x));
		}
		break;
	case 2:
		ids(p, n);
		break;
	default: {
		int rc = grove_db__meta_check(p, n);
		fuzz_check(rc == 0 || rc == GROVE_ECORRUPT || rc == GROVE_ENOMEM);
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
