/*
 * fuzz_value_merge.c - libFuzzer target for grove_value_merge on hostile
 * (but decodable) states.
 *
 * The input is split at its first byte's position; both halves are decoded,
 * and when both decode, merge must be commutative on the encoded bytes,
 * idempotent (merging the result again changes nothing), and its result
 * must decode back to itself.  Local operations on the merged value must
 * never trip an assertion.
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

static uint8_t *fuzz_encode(const grove_value_t *v, size_t *len)
{
	uint8_t *buf;
	fuzz_check(grove_value_encode(v, &buf, len) == 0);
	return buf;
}

static void fuzz_ops(grove_value_t *v)
{
	bool flag;
	uint64_t ts = grove_value_max_ts(v) + 1;
	(void)grove_pncounter_add(v, "fz", 3);
	(void)grove_orset_add(v, "fz", "e", 1, &flag);
	(void)grove_lwwreg_set(v, "fz", ts, "r", 1);
	(void)grove_lwwmap_set(v, "fz", ts, "f", 1, "v", 1, &flag);
	(void)grove_lwwmap_delete(v, "fz", ts + 1, "f", 1, &flag);
	(void)grove_orset_remove(v, "fz", "e", 1, &flag);
	fuzz_check(grove_expiry_set(v, "fz", ts + 1, 12345) == 0);
	fuzz_check(grove_expiry_get(v) == 12345);
	fuzz_check(grove_value_delete(v, "fz", ts + 2) == 0);
	fuzz_check(grove_value_is_empty(v));
	fuzz_check(!grove_expiry_written(v)); /* the delete cleared the TTL it saw */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t cut = 1 + (size_t)data[0] * (size - 1) / 255;
	grove_value_t *a = NULL, *b = NULL, *ab = NULL, *ba = NULL;
	if (grove_value_decode(data + 1, cut - 1, &a) || grove_value_decode(data + cut, size - cut, &b))
		goto out;
	size_t la, lb, lab, lba;
	uint8_t *ea = fuzz_encode(a, &la), *eb = fuzz_encode(b, &lb);
	fuzz_check(grove_value_decode(ea, la, &ab) == 0 && grove_value_decode(eb, lb, &ba) == 0);
	fuzz_check(grove_value_merge(ab, b, NULL) == 0 && grove_value_merge(ba, a, NULL) == 0);
	uint8_t *eab = fuzz_encode(ab, &lab), *eba = fuzz_encode(ba, &lba);
	fuzz_check(lab == lba && memcmp(eab, eba, lab) == 0);
	bool changed = true;
	fuzz_check(grove_value_merge(ab, a, &changed) == 0 && !changed);
	fuzz_check(grove_value_merge(ab, b, &changed) == 0 && !changed);
	fuzz_ops(ab);
	grove_free(ea);
	grove_free(eb);
	grove_free(eab);
	grove_free(eba);
out:
	grove_value_destroy(a);
	grove_value_destroy(b);
	grove_value_destroy(ab);
	grove_value_destroy(ba);
	return 0;
}
