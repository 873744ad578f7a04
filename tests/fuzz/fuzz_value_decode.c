/*
 * fuzz_value_decode.c - libFuzzer target for grove_value_decode.
 *
 * Any input must decode to an error or to a value; a decoded value must
 * re-encode to exactly the input (the decoder accepts only canonical
 * encodings), survive a decode/encode round trip, merge with itself
 * without change, and answer every getter without tripping an assertion.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "grove/alloc.h"
#include "grove/value.h"

static void fuzz_check(int cond)
{
	if (!cond)
		abort();
}

static void fuzz_read_all(const grove_value_t *v)
{
	int64_t n;
	const void *p, *q;
	size_t len, qlen;
	(void)grove_pncounter_get(v, &n);
	(void)grove_lwwreg_get(v, &p, &len);
	for (size_t i = 0; i < grove_orset_count(v); i++) {
		grove_orset_member(v, i, &p, &len);
		fuzz_check(grove_orset_contains(v, p, len));
	}
	for (size_t i = 0; i < grove_lwwmap_count(v); i++) {
		grove_lwwmap_entry(v, i, &p, &len, &q, &qlen);
		fuzz_check(grove_lwwmap_get(v, p, len, &q, &qlen) == 0);
	}
	(void)grove_value_max_ts(v);
	fuzz_check(grove_value_is_empty(v) == (grove_value_type(v) == GROVE_TYPE_NONE));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	grove_value_t *v, *w;
	uint8_t *enc, *enc2;
	size_t len, len2;
	if (grove_value_decode(data, size, &v) != 0)
		return 0;
	fuzz_read_all(v);
	fuzz_check(grove_value_encode(v, &enc, &len) == 0);
	fuzz_check(len == size && memcmp(enc, data, size) == 0);
	fuzz_check(grove_value_decode(enc, len, &w) == 0);
	bool changed = true;
	fuzz_check(grove_value_merge(w, v, &changed) == 0);
	fuzz_check(!changed);
	fuzz_check(grove_value_encode(w, &enc2, &len2) == 0);
	fuzz_check(len2 == len && memcmp(enc, enc2, len) == 0);
	grove_free(enc);
	grove_free(enc2);
	grove_value_destroy(w);
	grove_value_destroy(v);
	return 0;
}
