/*
 * test_crdt_codec.c - the value codec: the documented example bytes
 * (doc/value_format.md), round trips of every type, a corpus of malformed
 * inputs (truncated, wrong tags, huge claimed lengths, deep nesting, wrong
 * types, non-canonical forms) that must each return an error, byte
 * mutations that must either fail or decode to a state re-encoding to the
 * very same bytes, and allocation failures injected at every allocation of
 * every operation (the value must stay unchanged and nothing may leak).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "grove/alloc.h"
#include "grove/value.h"

#define CODEC_ALLOC_STEPS_MAX 10000 /* bound on the fail-the-Nth loop */

static grove_value_t *mk(void)
{
	grove_value_t *v = NULL;
	assert_int_equal(grove_value_create(&v), 0);
	return v;
}

static void enc(const grove_value_t *v, uint8_t **buf, size_t *len)
{
	assert_int_equal(grove_value_encode(v, buf, len), 0);
}

/* A value with every component in use: a visible set (created at epoch 3,
 * after a counter and a register were deleted) and a hidden map (created
 * concurrently at epoch 1) with a field tombstone. */
static grove_value_t *rich_value(void)
{
	grove_value_t *a = mk(), *b = mk(), *c = mk();
	assert_int_equal(grove_pncounter_add(a, "n1", 300), 0);
	assert_int_equal(grove_pncounter_add(a, "n1", -70000), 0);
	assert_int_equal(grove_pncounter_add(a, "n0", 1), 0);
	assert_int_equal(grove_value_delete(a, "n0", 50), 0);
	assert_int_equal(grove_lwwreg_set(a, "n1", 60, "reg", 3), 0);
	assert_int_equal(grove_value_delete(a, "n1", 70), 0);
	assert_int_equal(grove_orset_add(a, "n1", "x", 1, NULL), 0);
	assert_int_equal(grove_orset_add(a, "n1", "y", 1, NULL), 0);
	assert_int_equal(grove_orset_remove(a, "n1", "x", 1, NULL), 0);
	assert_int_equal(grove_lwwmap_set(b, "n9", 80, "f1", 2, "v1", 2, NULL), 0);
	assert_int_equal(grove_lwwmap_set(b, "n9", 81, "f2", 2, "", 0, NULL), 0);
	assert_int_equal(grove_lwwmap_delete(b, "n9", 82, "f1", 2, NULL), 0);
	assert_int_equal(grove_lwwmap_set(c, "n2", 90, "f0", 2, "zz", 2, NULL), 0);
	assert_int_equal(grove_value_merge(a, b, NULL), 0);
	assert_int_equal(grove_value_merge(a, c, NULL), 0);
	assert_int_equal(grove_value_type(a), GROVE_TYPE_SET);
	grove_value_destroy(b);
	grove_value_destroy(c);
	return a;
}

/* The example of doc/value_format.md: counter, node "a" added 5. */
static const uint8_t doc_example[] = {
	0x97, 0x01, 0x01,                         /* array(7), version 1, type counter */
	0x93, 0x01, 0xa1, 0x61, 0x01,             /* type register [1, "a", counter] */
	0x91, 0x95, 0xa1, 0x61, 0x05, 0x00, 0x00, 0x00, /* counter [["a", 5, 0, 0, 0]] */
	0x95, 0x00, 0xa0, 0xc0, 0x00, 0xa0,       /* register [0, "", nil, 0, ""] */
	0x93, 0x90, 0x90, 0x90,                   /* set [[], [], []] */
	0x90,                                     /* map [] */
};

static void test_documented_example(void **state)
{
	(void)state;
	grove_value_t *v;
	int64_t n = 0;
	assert_int_equal(grove_value_decode(doc_example, sizeof(doc_example), &v), 0);
	assert_int_equal(grove_value_type(v), GROVE_TYPE_COUNTER);
	assert_int_equal(grove_pncounter_get(v, &n), 0);
	assert_int_equal(n, 5);
	grove_value_t *w = mk();
	assert_int_equal(grove_pncounter_add(w, "a", 5), 0);
	uint8_t *buf;
	size_t len;
	enc(w, &buf, &len);
	assert_int_equal(len, sizeof(doc_example));
	assert_memory_equal(buf, doc_example, len);
	grove_free(buf);
	grove_value_destroy(v);
	grove_value_destroy(w);
}

static void test_roundtrip_every_type(void **state)
{
	(void)state;
	grove_value_t *vs[5] = { mk(), mk(), mk(), mk(), rich_value() };
	assert_int_equal(grove_pncounter_add(vs[0], "n", -3), 0);
	assert_int_equal(grove_lwwreg_set(vs[1], "n", 5, "\0\1", 2), 0);
	assert_int_equal(grove_orset_add(vs[2], "n", "e", 1, NULL), 0);
	assert_int_equal(grove_lwwmap_set(vs[3], "n", 5, "f", 1, "v", 1, NULL), 0);
	static const grove_type_t want[5] = { GROVE_TYPE_COUNTER, GROVE_TYPE_REGISTER,
					      GROVE_TYPE_SET, GROVE_TYPE_MAP, GROVE_TYPE_SET };
	for (int i = 0; i < 5; i++) {
		uint8_t *a, *b;
		size_t alen, blen;
		grove_value_t *d;
		enc(vs[i], &a, &alen);
		assert_int_equal(grove_value_decode(a, alen, &d), 0);
		assert_int_equal(grove_value_type(d), want[i]);
		enc(d, &b, &blen);
		assert_int_equal(alen, blen);
		assert_memory_equal(a, b, alen);
		grove_free(a);
		grove_free(b);
		grove_value_destroy(d);
		grove_value_destroy(vs[i]);
	}
}

static void expect_error(const uint8_t *buf, size_t len, int want)
{
	grove_value_t *v = NULL;
	int rc = grove_value_decode(buf, len, &v);
	if (rc != want)
		fail_msg("decode of %zu bytes: got %s, want %s", len, grove_err_name(rc),
			 grove_err_name(want));
	assert_null(v);
}

static void test_truncations_fail(void **state)
{
	(void)state;
	grove_value_t *v = rich_value();
	uint8_t *buf;
	size_t len;
	enc(v, &buf, &len);
	for (size_t n = 0; n < len; n++)
		expect_error(buf, n, GROVE_EDECODE);
	/* trailing garbage */
	uint8_t *more = grove_malloc(len + 1);
	assert_non_null(more);
	memcpy(more, buf, len);
	more[len] = 0x00;
	expect_error(more, len + 1, GROVE_EDECODE);
	grove_free(more);
	grove_free(buf);
	grove_value_destroy(v);
}

/* One hand-made input: hex bytes (spaces ignored) and the expected result
 * (0: must decode and re-encode to the same bytes). */
typedef struct codec_case {
	const char *name;
	const char *hex;
	int want;
} codec_case_t;

#define HDR_COUNTER "97 01 01 93 01 a1 61 01 "
#define HDR_REG "97 01 02 93 01 a1 61 02 90 "
#define HDR_SET "97 01 03 93 01 a1 61 03 90 95 00 a0 c0 00 a0 "
#define HDR_MAP "97 01 04 93 01 a1 61 04 90 95 00 a0 c0 00 a0 93 90 90 90 "
#define CNT "91 95 a1 61 05 00 00 00 "
#define REG0 "95 00 a0 c0 00 a0 "
#define SET0 "93 90 90 90 "
#define MAP0 "90 "

static const codec_case_t cases[] = {
	{ "doc example", HDR_COUNTER CNT REG0 SET0 MAP0, 0 },
	{ "empty input", "", GROVE_EDECODE },
	{ "nil at top", "c0", GROVE_EDECODE },
	{ "empty array", "90", GROVE_EDECODE },
	{ "version 3", "97 03 01 90 90 90 90 90", GROVE_EVERSION },
	{ "version 2 without expiry", "97 02 00 93 00 a0 00 90 95 00 a0 c0 00 a0 93 90 90 90 90", GROVE_EDECODE },
	{ "version as uint8", "97 cc 01 01", GROVE_EDECODE },
	{ "six fields", "96 01 01 93 01 a1 61 01 " CNT REG0 SET0, GROVE_EDECODE },
	{ "type tag is a string", "97 01 a1 61", GROVE_EDECODE },
	{ "type tag mismatch", "97 01 02 93 01 a1 61 01 " CNT REG0 SET0 MAP0, GROVE_EDECODE },
	{ "type tag 9", "97 01 09 93 01 a1 61 01 " CNT REG0 SET0 MAP0, GROVE_EDECODE },
	{ "type register none with node", "97 01 00 93 00 a1 61 00 90 " REG0 SET0 MAP0, GROVE_EDECODE },
	{ "type register type 7", "97 01 00 93 01 a1 61 07 90 " REG0 SET0 MAP0, GROVE_EDECODE },
	{ "array32 count 2^31", HDR_COUNTER "dd 7f ff ff ff", GROVE_ETOOBIG },
	{ "array16 count past end", HDR_COUNTER "dc 03 e8 95", GROVE_EDECODE },
	{ "array16 for 3 entries", HDR_COUNTER "dc 00 01 95 a1 61 05 00 00 00 " REG0 SET0 MAP0,
	  GROVE_EDECODE },
	{ "counter p as uint8 5", HDR_COUNTER "91 95 a1 61 cc 05 00 00 00 " REG0 SET0 MAP0,
	  GROVE_EDECODE },
	{ "counter p = 2^32 as uint64", HDR_COUNTER "91 95 a1 61 cf 00 00 00 01 00 00 00 00 00 00 00 "
	  REG0 SET0 MAP0, 0 },
	{ "counter p = 2^32-1 as uint64",
	  HDR_COUNTER "91 95 a1 61 cf 00 00 00 00 ff ff ff ff 00 00 00 " REG0 SET0 MAP0, GROVE_EDECODE },
	{ "counter p = 300 as uint32", HDR_COUNTER "91 95 a1 61 ce 00 00 01 2c 00 00 00 " REG0 SET0 MAP0,
	  GROVE_EDECODE },
	{ "counter p as string", HDR_COUNTER "91 95 a1 61 a1 35 00 00 00 " REG0 SET0 MAP0,
	  GROVE_EDECODE },
	{ "counter baseline above total", HDR_COUNTER "91 95 a1 61 05 00 06 00 " REG0 SET0 MAP0,
	  GROVE_EDECODE },
	{ "counter all-zero entry", "97 01 00 93 01 a1 61 01 91 95 a1 61 00 00 00 00 " REG0 SET0 MAP0,
	  GROVE_EDECODE },
	{ "counter nodes unsorted",
	  HDR_COUNTER "92 95 a1 62 05 00 00 00 95 a1 61 05 00 00 00 " REG0 SET0 MAP0, GROVE_EDECODE },
	{ "counter node duplicated",
	  HDR_COUNTER "92 95 a1 61 05 00 00 00 95 a1 61 05 00 00 00 " REG0 SET0 MAP0, GROVE_EDECODE },
	{ "counter empty node", HDR_COUNTER "91 95 a0 05 00 00 00 " REG0 SET0 MAP0, GROVE_EDECODE },
	{ "node id with NUL", HDR_COUNTER "91 95 a2 61 00 05 00 00 00 " REG0 SET0 MAP0, GROVE_EDECODE },
	{ "node id of 100 bytes", HDR_COUNTER "91 95 d9 64", GROVE_ETOOBIG },
	{ "node id as str8 of 3", HDR_COUNTER "91 95 d9 03 61 61 61", GROVE_EDECODE },
	{ "counter entry nested", HDR_COUNTER "91 91 91 91 91 91 91 91", GROVE_EDECODE },
	{ "register ok", HDR_REG "95 05 a1 61 c4 01 76 00 a0 " SET0 MAP0, 0 },
	{ "register bin32 huge", HDR_REG "95 05 a1 61 c6 ff ff ff ff", GROVE_ETOOBIG },
	{ "register bin32 past end", HDR_REG "95 05 a1 61 c6 00 01 00 00 76", GROVE_EDECODE },
	{ "register bin16 for 1 byte", HDR_REG "95 05 a1 61 c5 00 01 76 00 a0 " SET0 MAP0,
	  GROVE_EDECODE },
	{ "register value as str", HDR_REG "95 05 a1 61 a1 76 00 a0 " SET0 MAP0, GROVE_EDECODE },
	{ "register value not above tombstone", HDR_REG "95 05 a1 61 c4 01 76 07 a1 62 " SET0 MAP0,
	  GROVE_EDECODE },
	{ "register id without value", "97 01 00 93 00 a0 00 90 95 05 a1 61 c0 00 a0 " SET0 MAP0,
	  GROVE_EDECODE },
	{ "id with empty node and ts", HDR_REG "95 05 a0 c4 01 76 00 a0 " SET0 MAP0, GROVE_EDECODE },
	{ "set ok", HDR_SET "93 91 92 a1 61 01 90 91 92 c4 01 78 91 92 a1 61 01 " MAP0, 0 },
	{ "set ok with cloud",
	  HDR_SET "93 91 92 a1 61 01 91 92 a1 61 03 91 92 c4 01 78 91 92 a1 61 03 " MAP0, 0 },
	{ "set dot outside context",
	  HDR_SET "93 91 92 a1 61 01 90 91 92 c4 01 78 91 92 a1 61 02 " MAP0, GROVE_EDECODE },
	{ "set cloud dot absorbable",
	  HDR_SET "93 91 92 a1 61 01 91 92 a1 61 02 91 92 c4 01 78 91 92 a1 61 01 " MAP0,
	  GROVE_EDECODE },
	{ "set vv counter zero", HDR_SET "93 91 92 a1 61 00 90 90 " MAP0, GROVE_EDECODE },
	{ "set vv node twice", HDR_SET "93 92 92 a1 61 01 92 a1 61 02 90 90 " MAP0, GROVE_EDECODE },
	{ "set element without dots", HDR_SET "93 91 92 a1 61 01 90 91 92 c4 01 78 90 " MAP0,
	  GROVE_EDECODE },
	{ "set elements duplicated",
	  HDR_SET "93 91 92 a1 61 02 90 92 92 c4 01 78 91 92 a1 61 01 92 c4 01 78 91 92 a1 61 02 " MAP0,
	  GROVE_EDECODE },
	{ "set element dots unsorted",
	  HDR_SET "93 91 92 a1 61 02 90 91 92 c4 01 78 92 92 a1 61 02 92 a1 61 01 " MAP0,
	  GROVE_EDECODE },
	{ "map ok", HDR_MAP "91 94 c4 01 66 05 a1 61 c4 01 76", 0 },
	{ "map only tombstones is empty",
	  "97 01 00 93 01 a1 61 04 90 " REG0 SET0 "91 94 c4 01 66 05 a1 61 c0", 0 },
	{ "map field with the none id", HDR_MAP "91 94 c4 01 66 00 a0 c4 01 76", GROVE_EDECODE },
	{ "map in the old [del, fields] layout", HDR_COUNTER CNT REG0 SET0 "93 00 a0 90",
	  GROVE_EDECODE },
	{ "map fields unsorted",
	  HDR_MAP "92 94 c4 01 67 05 a1 61 c4 01 76 94 c4 01 66 05 a1 61 c4 01 76",
	  GROVE_EDECODE },
	{ "map field value is a number", HDR_MAP "91 94 c4 01 66 05 a1 61 05",
	  GROVE_EDECODE },
};

static size_t parse_hex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	unsigned x;
	while (*hex) {
		if (*hex == ' ') {
			hex++;
			continue;
		}
		assert_int_equal(sscanf(hex, "%2x", &x), 1);
		assert_true(n < cap);
		out[n++] = (uint8_t)x;
		hex += 2;
	}
	return n;
}

static void test_malformed_corpus(void **state)
{
	(void)state;
	uint8_t buf[512];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len = parse_hex(cases[i].hex, buf, sizeof(buf));
		grove_value_t *v = NULL;
		int rc = grove_value_decode(buf, len, &v);
		if (rc != cases[i].want)
			fail_msg("case '%s': got %s, want %s", cases[i].name, grove_err_name(rc),
				 grove_err_name(cases[i].want));
		if (rc == 0) {
			uint8_t *again;
			size_t alen;
			enc(v, &again, &alen);
			assert_int_equal(alen, len);
			assert_memory_equal(again, buf, len);
			grove_free(again);
			grove_value_destroy(v);
		}
	}
}

static void test_limits(void **state)
{
	(void)state;
	static const uint8_t tiny[1] = { 0x97 };
	expect_error(tiny, (size_t)GROVE_VALUE_BYTES_MAX + 1, GROVE_ETOOBIG);
	/* 100,000 nested arrays: rejected at once, no recursion */
	enum { DEEP = 100000 };
	uint8_t *deep = grove_malloc(DEEP);
	assert_non_null(deep);
	memset(deep, 0x91, DEEP);
	expect_error(deep, DEEP, GROVE_EDECODE);
	memcpy(deep, "\x97\x01\x01\x93\x01\xa1\x61\x01", 8); /* nest inside the counter */
	expect_error(deep, DEEP, GROVE_EDECODE);
	grove_free(deep);
}

/* Every byte of a rich encoding replaced by a few values: decode must fail
 * cleanly or give a state whose encoding is exactly the mutated input. */
static void test_mutations_fail_or_stay_canonical(void **state)
{
	(void)state;
	static const uint8_t subst[] = { 0x00, 0x01, 0x7f, 0x80, 0x90, 0x91, 0xa0, 0xc0,
					 0xc4, 0xcc, 0xcf, 0xdc, 0xdd, 0xff };
	grove_value_t *v = rich_value();
	uint8_t *buf;
	size_t len;
	long accepted = 0, rejected = 0;
	enc(v, &buf, &len);
	for (size_t i = 0; i < len; i++) {
		for (size_t s = 0; s < sizeof(subst) + 2; s++) {
			uint8_t keep = buf[i];
			buf[i] = s < sizeof(subst) ? subst[s] : s == sizeof(subst) ? keep ^ 1 : keep + 1;
			grove_value_t *d = NULL;
			if (grove_value_decode(buf, len, &d) == 0) {
				uint8_t *again;
				size_t alen;
				enc(d, &again, &alen);
				assert_int_equal(alen, len);
				assert_memory_equal(again, buf, len);
				grove_free(again);
				grove_value_destroy(d);
				accepted++;
			} else {
				rejected++;
			}
			buf[i] = keep;
		}
	}
	printf("mutations: %zu bytes, %ld accepted (canonical), %ld rejected\n", len, accepted,
	       rejected);
	assert_true(rejected > 0);
	grove_free(buf);
	grove_value_destroy(v);
}

/* --- allocation failures --- */

static grove_value_t *merge_src; /* built before any failure is armed */

static grove_value_t *base_counter(void)
{
	grove_value_t *v = mk();
	assert_int_equal(grove_pncounter_add(v, "n1", 4), 0);
	assert_int_equal(grove_pncounter_add(v, "n3", -2), 0);
	assert_int_equal(grove_pncounter_add(v, "n4", 1), 0);
	assert_int_equal(grove_pncounter_add(v, "n5", 1), 0); /* array full: next grows */
	return v;
}

static grove_value_t *base_reg(void)
{
	grove_value_t *v = mk();
	assert_int_equal(grove_lwwreg_set(v, "n1", 10, "abc", 3), 0);
	return v;
}

static grove_value_t *base_set(void)
{
	grove_value_t *v = mk();
	for (int i = 0; i < 20; i++)
		assert_int_equal(grove_orset_add(v, "n1", &"abcdefghijklmnopqrst"[i], 1, NULL), 0);
	return v;
}

static grove_value_t *base_map(void)
{
	grove_value_t *v = mk();
	assert_int_equal(grove_lwwmap_set(v, "n1", 10, "f1", 2, "v1", 2, NULL), 0);
	assert_int_equal(grove_lwwmap_set(v, "n1", 11, "f3", 2, "v3", 2, NULL), 0);
	assert_int_equal(grove_lwwmap_delete(v, "n1", 12, "f3", 2, NULL), 0);
	return v;
}

static grove_value_t *base_deleted_rich(void)
{
	grove_value_t *v = rich_value();
	assert_int_equal(grove_value_delete(v, "n1", 1000), 0);
	return v;
}

static int op_counter_add(grove_value_t *v) { return grove_pncounter_add(v, "n2", 7); }
static int op_reg_set(grove_value_t *v) { return grove_lwwreg_set(v, "n2", 2000, "new", 3); }
static int op_set_add_new(grove_value_t *v) { return grove_orset_add(v, "n2", "zz", 2, NULL); }
static int op_set_add_again(grove_value_t *v) { return grove_orset_add(v, "n2", "c", 1, NULL); }
static int op_set_remove(grove_value_t *v) { return grove_orset_remove(v, "n2", "c", 1, NULL); }
static int op_map_set_new(grove_value_t *v)
{
	return grove_lwwmap_set(v, "n2", 2000, "f2", 2, "v2", 2, NULL);
}
static int op_map_set_old(grove_value_t *v)
{
	return grove_lwwmap_set(v, "n2", 2000, "f1", 2, "longer value", 12, NULL);
}
static int op_map_set_tomb(grove_value_t *v)
{
	return grove_lwwmap_set(v, "n2", 2000, "f3", 2, "back", 4, NULL);
}
static int op_map_delete(grove_value_t *v) { return grove_lwwmap_delete(v, "n2", 2000, "f1", 2, NULL); }
static int op_key_delete(grove_value_t *v) { return grove_value_delete(v, "n2", 2000); }
static int op_merge(grove_value_t *v)
{
	bool changed;
	return grove_value_merge(v, merge_src, &changed);
}
static int op_clone(grove_value_t *v)
{
	grove_value_t *c;
	int rc = grove_value_clone(v, &c);
	if (rc == 0)
		grove_value_destroy(c);
	return rc;
}

typedef struct alloc_case {
	const char *name;
	grove_value_t *(*make)(void);
	int (*op)(grove_value_t *v);
} alloc_case_t;

/* Fails the 1st, 2nd, ... allocation of op until it succeeds; each failure
 * must return GROVE_ENOMEM and leave the value's encoding unchanged. */
static long check_alloc_case(const alloc_case_t *c)
{
	for (long n = 1; n < CODEC_ALLOC_STEPS_MAX; n++) {
		grove_value_t *v = c->make();
		uint8_t *before, *after;
		size_t blen, alen;
		enc(v, &before, &blen);
		grove_alloc_fail_after(n);
		int rc = c->op(v);
		grove_alloc_fail_reset();
		enc(v, &after, &alen);
		bool same = blen == alen && memcmp(before, after, alen) == 0;
		grove_free(before);
		grove_free(after);
		grove_value_destroy(v);
		if (rc == 0)
			return n - 1;
		if (rc != GROVE_ENOMEM || !same)
			fail_msg("%s: allocation %ld failed: rc %s, value %s", c->name, n,
				 grove_err_name(rc), same ? "unchanged" : "CHANGED");
	}
	fail_msg("%s: never succeeded", c->name);
	return 0;
}

static void test_alloc_failures(void **state)
{
	(void)state;
	static const alloc_case_t cases_alloc[] = {
		{ "counter add", base_counter, op_counter_add },
		{ "counter create", base_deleted_rich, op_counter_add },
		{ "register set", base_reg, op_reg_set },
		{ "register create", base_deleted_rich, op_reg_set },
		{ "set add new", base_set, op_set_add_new },
		{ "set add again", base_set, op_set_add_again },
		{ "set remove", base_set, op_set_remove },
		{ "set create", base_deleted_rich, op_set_add_new },
		{ "map set new", base_map, op_map_set_new },
		{ "map set old", base_map, op_map_set_old },
		{ "map set over tombstone", base_map, op_map_set_tomb },
		{ "map delete", base_map, op_map_delete },
		{ "map key delete", base_map, op_key_delete },
		{ "map create", base_deleted_rich, op_map_set_new },
		{ "merge into map", base_map, op_merge },
		{ "merge into set", base_set, op_merge },
		{ "merge into deleted", base_deleted_rich, op_merge },
		{ "clone (encode + decode)", rich_value, op_clone },
	};
	merge_src = rich_value();
	long injected = 0;
	for (size_t i = 0; i < sizeof(cases_alloc) / sizeof(cases_alloc[0]); i++) {
		long n = check_alloc_case(&cases_alloc[i]);
		printf("alloc failures: %-24s %ld\n", cases_alloc[i].name, n);
		if (strstr(cases_alloc[i].name, "create") || strstr(cases_alloc[i].name, "new"))
			assert_true(n > 0); /* these always allocate: failures were hit */
		injected += n;
	}
	printf("alloc failures: %ld injected over %zu operations\n", injected,
	       sizeof(cases_alloc) / sizeof(cases_alloc[0]));
	grove_value_destroy(merge_src);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_documented_example),
		cmocka_unit_test(test_roundtrip_every_type),
		cmocka_unit_test(test_truncations_fail),
		cmocka_unit_test(test_malformed_corpus),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_mutations_fail_or_stay_canonical),
		cmocka_unit_test(test_alloc_failures),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
