/*
 * fuzz_item_merge.c - libFuzzer target for grove_db_item_merge, the entry
 * point of every state a peer sends (anti-entropy STATES, PUSH): a memory
 * db (opened once: opening one costs more than a merge; every input
 * starts by rewriting the same baseline) holding a set, a hash (field f
 * plain, field g a counter field, crdt/hcount.h) and a counter takes the input as (name, state)
 * pairs: byte 0 picks the item (one of the keys' heads or elements, or a
 * name from the input), the rest is the state.  Whatever is accepted or
 * refused, the db's invariants hold: every key's maintained count equals
 * its listed elements, and the key's items all have states to send.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "grove/alloc.h"
#include "grove/db.h"

static void fuzz_check(int cond)
{
	if (!cond)
		abort();
}

static uint64_t fake_ms = 1700000000000ULL;
static uint64_t fake_clock(void *ctx)
{
	(void)ctx;
	return fake_ms;
}

static int count_fn(void *ctx, const void *e, size_t el, const void *v, size_t vl)
{
	(void)e, (void)el, (void)v, (void)vl;
	++*(uint64_t *)ctx;
	return 0;
}

static void check_key(grove_db_t *db, const char *key, grove_type_t t)
{
	uint64_t n = 0, listed = 0;
	int rc = grove_db_coll_count(db, key, strlen(key), t, &n);
	if (rc == GROVE_EWRONGTYPE)
		return;
	fuzz_check(rc == 0);
	fuzz_check(grove_db_coll_scan(db, key, strlen(key), t, NULL, 0, 1u << 20, count_fn, &listed,
				      NULL, NULL) == 0);
	fuzz_check(n == listed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	static grove_db_t *db;
	if (!db) {
		grove_db_options_t o;
		grove_db_options_init(&o);
		o.node_id = "fuzz";
		o.clock = fake_clock;
		fuzz_check(grove_db_open(NULL, &o, &db, NULL, 0) == 0);
	}
	/* the baseline: a set, a hash and a counter (whatever the last input
	 * did to them; a key another input turned into another type is
	 * deleted first) */
	int rc0 = grove_db_set_add(db, "s", 1, "a", 1, NULL);
	if (rc0 == GROVE_EWRONGTYPE) {
		fuzz_check(grove_db_delete(db, "s", 1, NULL) == 0);
		rc0 = grove_db_set_add(db, "s", 1, "a", 1, NULL);
	}
	fuzz_check(rc0 == 0);
	rc0 = grove_db_map_set(db, "h", 1, "f", 1, "v", 1, NULL);
	if (rc0 == GROVE_EWRONGTYPE) {
		fuzz_check(grove_db_delete(db, "h", 1, NULL) == 0);
		rc0 = grove_db_map_set(db, "h", 1, "f", 1, "v", 1, NULL);
	}
	fuzz_check(rc0 == 0);
	rc0 = grove_db_map_incr(db, "h", 1, "g", 1, 1, NULL); /* a counter field */
	fuzz_check(rc0 == 0 || rc0 == GROVE_ERANGE || rc0 == GROVE_EOVERFLOW || rc0 == GROVE_ETOOBIG);
	rc0 = grove_db_counter_add(db, "c", 1, 3, NULL);
	if (rc0 == GROVE_EWRONGTYPE) {
		fuzz_check(grove_db_delete(db, "c", 1, NULL) == 0);
		rc0 = grove_db_counter_add(db, "c", 1, 3, NULL);
	}
	fuzz_check(rc0 == 0 || rc0 == GROVE_EOVERFLOW);
	static const uint8_t names[][5] = {
		{ 0, 's' }, { 0, 'h' }, { 0, 'c' }, { 1, 0, 1, 's', 'a' }, { 2, 0, 1, 'h', 'f' },
		{ 1, 0, 1, 's', 'b' }, { 2, 0, 1, 'h', 'g' }, { 1, 0, 1, 'c', 'a' },
	};
	static const size_t nlens[] = { 2, 2, 2, 5, 5, 5, 5, 5 };
	const uint8_t *name;
	size_t nlen, at;
	if (data[0] < 8 * 16) {
		name = names[data[0] % 8];
		nlen = nlens[data[0] % 8];
		at = 1;
	} else { /* a name from the input: its length in byte 1 */
		nlen = data[1] % 64;
		if (size < 2 + nlen)
			nlen = size - 2;
		name = data + 2;
		at = 2 + nlen;
	}
	bool changed = false, reply = false;
	int rc = grove_db_item_merge(db, name, nlen, data + at, size - at, &changed, &reply);
	fuzz_check(rc == 0 || rc == GROVE_EDECODE || rc == GROVE_ECLOCK_OFFSET || rc == GROVE_ETOOBIG);
	check_key(db, "s", GROVE_TYPE_SET);
	check_key(db, "h", GROVE_TYPE_MAP);
	check_key(db, "c", GROVE_TYPE_SET);
	for (size_t i = 0; i < 8; i++) {
		uint8_t *st = NULL;
		size_t sl = 0;
		int rc = grove_db_item_state(db, names[i], nlens[i], &st, &sl);
		fuzz_check(rc == 0 || rc == GROVE_ENOTFOUND);
		if (rc == 0) /* our own state merges back without error */
			fuzz_check(grove_db_item_merge(db, names[i], nlens[i], st, sl, NULL, NULL) == 0);
		grove_free(st);
	}
	return 0;
}
