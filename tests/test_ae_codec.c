/*
 * test_ae_codec.c - the anti-entropy wire codec (gossip/ae/codec.h): round
 * trips of every message, the documented example bytes of
 * doc/antientropy.md, and hostile inputs (truncation, trailing bytes, bad
 * versions, levels, indices, huge claimed lengths and counts).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "base/rng.h"
#include "gossip/ae/codec.h"
#include "gossip/output.h" /* GROVE_DATAGRAM_MAX */

static void test_documented_examples(void **state)
{
	(void)state;
	/* doc/antientropy.md, "Examples". */
	static const uint8_t idle[] = { 0x01, 0x15, 0x05, 0x83, 0x01 };
	grove_ae_frame_t f;
	assert_int_equal(grove_ae_frame_decode(idle, sizeof(idle), 64, &f), 0);
	assert_int_equal(f.type, GROVE_AE_IDLE);
	assert_int_equal(f.sent, 5);
	assert_int_equal(f.received, 131);

	static const uint8_t want[] = { 0x01, 0x13, 0x00, 0x00, 0x00, 0x02,
					0x01, 'a', 0x03, 'k', 'e', 'y' };
	assert_int_equal(grove_ae_frame_decode(want, sizeof(want), 64, &f), 0);
	assert_int_equal(f.type, GROVE_AE_WANT);
	assert_int_equal(f.count, 2);
	grove_ae_rd_t rd;
	grove_ae_rd_init(&rd, &f);
	const uint8_t *k;
	size_t klen;
	grove_ae_rd_key(&rd, &k, &klen);
	assert_int_equal(klen, 1);
	assert_memory_equal(k, "a", 1);
	grove_ae_rd_key(&rd, &k, &klen);
	assert_int_equal(klen, 3);
	assert_memory_equal(k, "key", 3);

	static const uint8_t bye[] = { 0x01, 0x16, 0x17 };
	assert_int_equal(grove_ae_frame_decode(bye, sizeof(bye), 64, &f), 0);
	assert_int_equal(f.reason, 23); /* -GROVE_EPROTO */
}

static void fill(uint8_t *d, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		d[i] = (uint8_t)(seed + i * 7);
}

static void test_digest_roundtrip(void **state)
{
	(void)state;
	grove_buf_t b;
	grove_buf_init(&b, 0);
	uint8_t root[16], l1[256];
	fill(root, sizeof(root), 1);
	fill(l1, sizeof(l1), 9);
	grove_ae_put_header(&b, GROVE_AE_DIGEST, 0);
	grove_ae_put_u8(&b, 1);
	grove_ae_put_varint(&b, 1000000);
	grove_buf_append(&b, root, 16);
	grove_buf_append(&b, l1, 256);
	assert_false(grove_buf_failed(&b));
	assert_true(b.len < 300);
	grove_ae_frame_t f;
	assert_int_equal(grove_ae_frame_decode(b.data, b.len, GROVE_DATAGRAM_MAX, &f), 0);
	assert_int_equal(f.type, GROVE_AE_DIGEST);
	assert_int_equal(f.key_count, 1000000);
	assert_memory_equal(f.root, root, 16);
	assert_non_null(f.level1);
	assert_memory_equal(f.level1, l1, 256);
	/* Every truncation is refused. */
	for (size_t n = 0; n < b.len; n++)
		assert_int_equal(grove_ae_frame_decode(b.data, n, 2000, &f), GROVE_EDECODE);
	/* Trailing byte refused. */
	grove_ae_put_u8(&b, 0);
	assert_int_equal(grove_ae_frame_decode(b.data, b.len, 2000, &f), GROVE_EDECODE);
	grove_buf_close(&b);
}

/* Two groups: parent (all 16 children non-empty), parent + 1 (children 0
 * and 15 only). */
static void build_nodes(grove_buf_t *b, uint8_t level, uint32_t parent)
{
	uint8_t d[256];
	fill(d, sizeof(d), (uint8_t)parent);
	size_t at = grove_ae_put_header(b, GROVE_AE_NODES, level);
	grove_ae_put_varint(b, parent);
	grove_ae_put_u8(b, 0xff);
	grove_ae_put_u8(b, 0xff);
	grove_buf_append(b, d, sizeof(d));
	grove_ae_put_varint(b, parent + 1);
	grove_ae_put_u8(b, 0x80);
	grove_ae_put_u8(b, 0x01);
	grove_buf_append(b, d, 32);
	grove_ae_patch_u32(b, at, 2);
}

static void test_nodes_roundtrip_and_bounds(void **state)
{
	(void)state;
	grove_buf_t b;
	grove_buf_init(&b, 0);
	build_nodes(&b, 3, 200);
	grove_ae_frame_t f;
	assert_int_equal(grove_ae_frame_decode(b.data, b.len, 1 << 20, &f), 0);
	assert_int_equal(f.level, 3);
	assert_int_equal(f.count, 2);
	grove_ae_rd_t rd;
	grove_ae_rd_init(&rd, &f);
	uint32_t parent;
	uint16_t mask;
	const uint8_t *d;
	grove_ae_rd_group(&rd, &parent, &mask, &d);
	assert_int_equal(parent, 200);
	assert_int_equal(mask, 0xffff);
	grove_ae_rd_group(&rd, &parent, &mask, &d);
	assert_int_equal(parent, 201);
	assert_int_equal(mask, 0x8001);
	assert_memory_equal(d + 16, b.data + b.len - 16, 16);
	assert_ptr_equal(rd.p, rd.end);

	/* Parent beyond its level (level 1 has one parent: the root). */
	grove_buf_reset(&b);
	build_nodes(&b, 1, 0);
	assert_int_equal(grove_ae_frame_decode(b.data, b.len, 1 << 20, &f), GROVE_EDECODE);
	grove_buf_reset(&b);
	build_nodes(&b, 2, 15); /* parents 15 and 16 at level 1: 16 is out */
	assert_int_equal(grove_ae_frame_decode(b.data, b.len, 1 << 20, &f), GROVE_EDECODE);
	/* Level 0 and level 5 do not exist. */
	grove_buf_reset(&b);
	build_nodes(&b, 5, 0);
	assert_int_equal(grove_ae_frame_decode(b.data, b.len, 1 << 20, &f), GROVE_EDECODE);
	grove_buf_reset(&b);
	build_nodes(&b, 0, 0);
	assert_int_equal(grove_ae_frame_decode(b.data, b.len, 1 << 20, &f), GROVE_EDECODE);
	/* Over the caller's limit. */
	grove_buf_reset(&b);
	build_nodes(&b, 4, 7);
	assert_int_equal(grove_ae_frame_decode(b.data, b.len, 100, &f), GROVE_ETOOBIG);
	/* Claimed count larger than present. */
	grove_ae_patch_u32(&b, 3, 3);
	assert_int_equal(grove_ae_frame_decode(b.data, b.len, 1 << 20, &f), GROVE_EDECODE);
	grove_ae_patch_u32(&b, 3, 0xffffffffu);
	assert_int_equal(grove_ae_frame_decode(b.data, b.len, 1 << 20, &f), GROVE_EDECODE);
	grove_buf_close(&b);
}

static void test_keys_and_states_roundtrip(void **state)
{
	(void)state;
	grove_buf_t b;
	grove_buf_init(&b, 0);
	uint8_t dig[16];
	fill(dig, 16, 3);
	size_t at = grove_ae_put_header(&b, GROVE_AE_KEYS, 0);
	grove_ae_put_varint(&b, 65535);
	grove_ae_put_u8(&b, 1);
	grove_ae_put_varint(&b, 2);
	grove_ae_put_blob(&b, "k1", 2);
	grove_buf_append(&b, dig, 16);
	grove_ae_put_blob(&b, "key2", 4);
	grove_buf_append(&b, dig, 16);
	grove_ae_put_varint(&b, 7); /* an empty segment, not final */
	grove_ae_put_u8(&b, 0);
	grove_ae_put_varint(&b, 0);
	grove_ae_patch_u32(&b, at, 2);
	grove_ae_frame_t f;
	assert_int_equal(grove_ae_frame_decode(b.data, b.len, 1 << 20, &f), 0);
	grove_ae_rd_t rd;
	grove_ae_rd_init(&rd, &f);
	uint32_t seg, n;
	bool fin;
	const uint8_t *k, *d;
	size_t klen;
	grove_ae_rd_segment(&rd, &seg, &fin, &n);
	assert_int_equal(seg, 65535);
	assert_true(fin);
	assert_int_equal(n, 2);
	grove_ae_rd_keydig(&rd, &k, &klen, &d);
	assert_int_equal(klen, 2);
	grove_ae_rd_keydig(&rd, &k, &klen, &d);
	assert_memory_equal(k, "key2", 4);
	assert_memory_equal(d, dig, 16);
	grove_ae_rd_segment(&rd, &seg, &fin, &n);
	assert_int_equal(seg, 7);
	assert_false(fin);
	assert_int_equal(n, 0);

	/* Segment index out of range. */
	b.data[6] = 0x80;
	b.data[7] = 0x80;
	b.data[8] = 0x04; /* 65536 */
	assert_int_equal(grove_ae_frame_decode(b.data, b.len, 1 << 20, &f), GROVE_EDECODE);

	grove_buf_reset(&b);
	at = grove_ae_put_header(&b, GROVE_AE_STATES, 0);
	grove_ae_put_blob(&b, "k", 1);
	grove_ae_put_blob(&b, "\x01\x02\x03", 3);
	grove_ae_patch_u32(&b, at, 1);
	assert_int_equal(grove_ae_frame_decode(b.data, b.len, 1 << 20, &f), 0);
	grove_ae_rd_init(&rd, &f);
	const uint8_t *st;
	size_t slen;
	grove_ae_rd_state(&rd, &k, &klen, &st, &slen);
	assert_int_equal(slen, 3);
	assert_memory_equal(st, "\x01\x02\x03", 3);
	grove_buf_close(&b);
}

static void test_hostile_lengths(void **state)
{
	(void)state;
	grove_ae_frame_t f;
	/* WANT with a key claiming 2^63 bytes. */
	static const uint8_t huge[] = { 0x01, 0x13, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff,
					0xff, 0xff, 0xff, 0x7f, 'x' };
	assert_int_equal(grove_ae_frame_decode(huge, sizeof(huge), 1 << 20, &f), GROVE_EDECODE);
	/* Overlong varint (11 bytes). */
	static const uint8_t overlong[] = { 0x01, 0x15, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
					    0x80, 0x80, 0x80, 0x80, 0x01, 0x00 };
	assert_int_equal(grove_ae_frame_decode(overlong, sizeof(overlong), 64, &f), GROVE_EDECODE);
	/* Empty key. */
	static const uint8_t empty_key[] = { 0x01, 0x13, 0, 0, 0, 1, 0x00 };
	assert_int_equal(grove_ae_frame_decode(empty_key, sizeof(empty_key), 64, &f), GROVE_EDECODE);
	/* Key longer than GROVE_KEY_MAX (4097 = 0x81 0x20). */
	static const uint8_t long_key[] = { 0x01, 0x13, 0, 0, 0, 1, 0x81, 0x20 };
	assert_int_equal(grove_ae_frame_decode(long_key, sizeof(long_key), 64, &f), GROVE_EDECODE);
	/* Unknown type, wrong version, too short. */
	static const uint8_t unknown[] = { 0x01, 0x7f };
	assert_int_equal(grove_ae_frame_decode(unknown, 2, 64, &f), GROVE_EDECODE);
	static const uint8_t v2[] = { 0x02, 0x15, 0, 0 };
	assert_int_equal(grove_ae_frame_decode(v2, sizeof(v2), 64, &f), GROVE_EVERSION);
	assert_int_equal(grove_ae_frame_decode(v2, 1, 64, &f), GROVE_EDECODE);
	assert_int_equal(grove_ae_frame_decode(NULL, 0, 64, &f), GROVE_EDECODE);
	/* DIGEST flags outside LEVEL1 | REPLY. */
	uint8_t dg[2 + 1 + 1 + 16] = { 0x01, 0x01, 0x04, 0x00 };
	assert_int_equal(grove_ae_frame_decode(dg, sizeof(dg), 2000, &f), GROVE_EDECODE);
	dg[2] = 0;
	assert_int_equal(grove_ae_frame_decode(dg, sizeof(dg), 2000, &f), 0);
	assert_null(f.level1);
	dg[2] = GROVE_AE_DIGEST_REPLY; /* a request for the receiver's digest */
	assert_int_equal(grove_ae_frame_decode(dg, sizeof(dg), 2000, &f), 0);
	assert_int_equal(f.flags, GROVE_AE_DIGEST_REPLY);
	assert_null(f.level1);
}

/* Random bytes and random mutations of valid frames never crash and
 * accepted frames iterate to their end (the fuzz target, briefly). */
static void test_random_mutations(void **state)
{
	(void)state;
	uint64_t seed = 0xae5eed;
	printf("seed %llu\n", (unsigned long long)seed);
	grove_rng_t rng;
	grove_rng_seed(&rng, seed);
	grove_buf_t b;
	grove_buf_init(&b, 0);
	int accepted = 0;
	for (int iter = 0; iter < 20000; iter++) {
		grove_buf_reset(&b);
		build_nodes(&b, (uint8_t)(1 + grove_rng_below(&rng, 4)), 0);
		size_t flips = 1 + grove_rng_below(&rng, 4);
		for (size_t i = 0; i < flips; i++)
			b.data[grove_rng_below(&rng, b.len)] = (uint8_t)grove_rng_next(&rng);
		size_t len = b.len - grove_rng_below(&rng, 3);
		grove_ae_frame_t f;
		if (grove_ae_frame_decode(b.data, len, 1 << 20, &f) == 0 && f.type == GROVE_AE_NODES) {
			accepted++;
			grove_ae_rd_t rd;
			grove_ae_rd_init(&rd, &f);
			for (uint32_t g = 0; g < f.count; g++) {
				uint32_t p;
				uint16_t mk;
				const uint8_t *d;
				grove_ae_rd_group(&rd, &p, &mk, &d);
			}
			assert_ptr_equal(rd.p, rd.end);
		}
	}
	assert_true(accepted > 0);
	grove_buf_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_documented_examples),
		cmocka_unit_test(test_digest_roundtrip),
		cmocka_unit_test(test_nodes_roundtrip_and_bounds),
		cmocka_unit_test(test_keys_and_states_roundtrip),
		cmocka_unit_test(test_hostile_lengths),
		cmocka_unit_test(test_random_mutations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
