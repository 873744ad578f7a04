/*
 * tree.c - the digest tree of tree.h: additive accumulators (128-bit
 * modular sum of item hashes plus a count) per segment and per ancestor.
 */
#include <sodium.h>
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "storage/le.h"
#include "storage/tree.h"

#define TREE_FANOUT_BITS 4 /* log2(GROVE_TREE_FANOUT) */

_Static_assert(1u << TREE_FANOUT_BITS == GROVE_TREE_FANOUT, "fanout is a power of two");
_Static_assert(1u << (TREE_FANOUT_BITS * GROVE_TREE_LEVELS) == GROVE_TREE_SEGMENTS,
	       "segments = fanout ^ levels");

static size_t level_size(unsigned level)
{
	return (size_t)1 << (TREE_FANOUT_BITS * level);
}

int grove_tree_init(grove_tree_t *t)
{
	memset(t, 0, sizeof(*t));
	for (unsigned l = 0; l <= GROVE_TREE_LEVELS; l++) {
		t->level[l] = grove_calloc(level_size(l), sizeof(grove_tree_acc_t));
		if (!t->level[l]) {
			grove_tree_close(t);
			return GROVE_ENOMEM;
		}
	}
	if (pthread_mutex_init(&t->lock, NULL) != 0) {
		grove_tree_close(t);
		return GROVE_ENOMEM;
	}
	return 0;
}

void grove_tree_close(grove_tree_t *t)
{
	bool inited = t->level[GROVE_TREE_LEVELS] != NULL;
	for (unsigned l = 0; l <= GROVE_TREE_LEVELS; l++)
		grove_free(t->level[l]);
	if (inited)
		pthread_mutex_destroy(&t->lock);
	memset(t, 0, sizeof(*t));
}

void grove_tree_reset(grove_tree_t *t)
{
	pthread_mutex_lock(&t->lock);
	/* A clean tree is still all zero: leaving it alone keeps the pages of a
	 * fresh tree untouched (an empty store costs no 1.7 MB of RSS). */
	for (unsigned l = 0; t->dirty && l <= GROVE_TREE_LEVELS; l++)
		memset(t->level[l], 0, level_size(l) * sizeof(grove_tree_acc_t));
	t->dirty = false;
	pthread_mutex_unlock(&t->lock);
}

_Static_assert(sizeof(GROVE_TREE_HASH_KEY) - 1 == crypto_shorthash_KEYBYTES, "siphash key");

uint32_t grove_tree_key_hash(const void *key, size_t klen)
{
	uint8_t h[crypto_shorthash_BYTES];
	crypto_shorthash(h, key, klen, (const uint8_t *)GROVE_TREE_HASH_KEY);
	return (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
}

uint32_t grove_tree_segment(const void *key, size_t klen)
{
	return (grove_tree_key_hash(key, klen) >> 16) % GROVE_TREE_SEGMENTS;
}

/* An item hash's initial state (unkeyed BLAKE2b of GROVE_DIGEST_BYTES),
 * built once and copied: crypto_generichash builds it from the parameter
 * block at every call, about 100 of the ~1,030 instructions of hashing
 * a short record (callgrind), and a typed write hashes one to three
 * items.  The state holds no pointers: a copy hashes as the original. */
static crypto_generichash_state item_start;
static pthread_once_t item_start_once = PTHREAD_ONCE_INIT;

static void item_start_init(void)
{
	GROVE_ASSERT(crypto_generichash_init(&item_start, NULL, 0, GROVE_DIGEST_BYTES) == 0);
}

static void item_begin(crypto_generichash_state *st)
{
	GROVE_ASSERT(pthread_once(&item_start_once, item_start_init) == 0);
	memcpy(st, &item_start, sizeof(*st));
}

void grove_tree_item(const void *key, size_t klen, const uint8_t *enc, size_t enc_len,
		     uint8_t out[GROVE_DIGEST_BYTES])
{
	uint8_t len_le[4];
	grove_le32_put(len_le, (uint32_t)klen);
	crypto_generichash_state st;
	item_begin(&st);
	crypto_generichash_update(&st, len_le, sizeof(len_le));
	crypto_generichash_update(&st, key, klen);
	crypto_generichash_update(&st, enc, enc_len);
	crypto_generichash_final(&st, out, GROVE_DIGEST_BYTES);
}

void grove_tree_item_prefix(uint8_t *out, const void *key, size_t klen)
{
	grove_le32_put(out, (uint32_t)klen);
	memcpy(out + 4, key, klen);
}

void grove_tree_item_bytes(const uint8_t *bytes, size_t len, uint8_t out[GROVE_DIGEST_BYTES])
{
	crypto_generichash_state st;
	item_begin(&st);
	crypto_generichash_update(&st, bytes, len);
	crypto_generichash_final(&st, out, GROVE_DIGEST_BYTES);
}

/* acc += d: the sum modulo 2^128, the count modulo 2^64 (modular like the
 * sum, so a lying marker cannot abort).  Subtracting is adding d's
 * negation (acc_neg). */
static void acc_add(grove_tree_acc_t *acc, const grove_tree_acc_t *d)
{
	uint64_t nlo = acc->lo + d->lo;
	acc->hi += d->hi + (nlo < d->lo);
	acc->lo = nlo;
	acc->count += d->count;
}

static grove_tree_acc_t acc_neg(grove_tree_acc_t a)
{
	grove_tree_acc_t n = { ~a.lo + 1, ~a.hi + (a.lo == 0), -a.count };
	return n;
}

static grove_tree_acc_t item_acc(const uint8_t item[GROVE_DIGEST_BYTES])
{
	grove_tree_acc_t a = { grove_le64_get(item), grove_le64_get(item + 8), 1 };
	return a;
}

void grove_tree_acc_add(grove_tree_acc_t *acc, const uint8_t item[GROVE_DIGEST_BYTES])
{
	grove_tree_acc_t a = item_acc(item);
	acc_add(acc, &a);
}

/* Adds d to segment seg and its ancestors.  Caller holds t->lock. */
static void tree_add(grove_tree_t *t, uint32_t seg, const grove_tree_acc_t *d)
{
	t->dirty = true;
	for (unsigned l = 0; l <= GROVE_TREE_LEVELS; l++)
		acc_add(&t->level[l][seg >> (TREE_FANOUT_BITS * (GROVE_TREE_LEVELS - l))], d);
}

/* new_item - old_item (either NULL: none). */
static grove_tree_acc_t item_delta(const uint8_t *old_item, const uint8_t *new_item)
{
	grove_tree_acc_t d = { 0 };
	if (new_item)
		d = item_acc(new_item);
	if (old_item) {
		grove_tree_acc_t o = acc_neg(item_acc(old_item));
		acc_add(&d, &o);
	}
	return d;
}

void grove_tree_update(grove_tree_t *t, uint32_t seg, const uint8_t *old_item,
		       const uint8_t *new_item)
{
	grove_tree_run_t r = { 0 };
	grove_tree_run_update(t, &r, seg, old_item, new_item);
	grove_tree_run_flush(t, &r);
}

void grove_tree_prefetch(const grove_tree_t *t, uint32_t seg)
{
	GROVE_ASSERT(seg < GROVE_TREE_SEGMENTS);
	__builtin_prefetch(&t->level[GROVE_TREE_LEVELS][seg], 1);
	__builtin_prefetch(&t->level[GROVE_TREE_LEVELS - 1][seg >> TREE_FANOUT_BITS], 1);
}

void grove_tree_run_update(grove_tree_t *t, grove_tree_run_t *r, uint32_t seg,
			   const uint8_t *old_item, const uint8_t *new_item)
{
	GROVE_ASSERT(seg < GROVE_TREE_SEGMENTS);
	if (r->any && r->seg != seg)
		grove_tree_run_flush(t, r);
	grove_tree_acc_t d = item_delta(old_item, new_item);
	if (r->any) {
		acc_add(&r->d, &d);
		return;
	}
	r->any = true;
	r->seg = seg;
	r->d = d;
}

void grove_tree_run_flush(grove_tree_t *t, grove_tree_run_t *r)
{
	if (!r->any)
		return;
	pthread_mutex_lock(&t->lock);
	tree_add(t, r->seg, &r->d);
	pthread_mutex_unlock(&t->lock);
	r->any = false;
}

static void acc_digest(const grove_tree_acc_t *acc, uint8_t digest[GROVE_DIGEST_BYTES])
{
	uint8_t buf[GROVE_TREE_ACC_BYTES];
	grove_le64_put(buf, acc->lo);
	grove_le64_put(buf + 8, acc->hi);
	grove_le64_put(buf + 16, acc->count);
	crypto_generichash(digest, GROVE_DIGEST_BYTES, buf, sizeof(buf), NULL, 0);
}

int grove_tree_node(grove_tree_t *t, unsigned level, uint32_t index,
		    uint8_t digest[GROVE_DIGEST_BYTES], uint64_t *count)
{
	if (level > GROVE_TREE_LEVELS || index >= level_size(level))
		return GROVE_EINVAL;
	pthread_mutex_lock(&t->lock);
	grove_tree_acc_t acc = t->level[level][index];
	pthread_mutex_unlock(&t->lock);
	if (digest)
		acc_digest(&acc, digest);
	if (count)
		*count = acc.count;
	return 0;
}

grove_tree_acc_t grove_tree_segment_acc(grove_tree_t *t, uint32_t seg)
{
	GROVE_ASSERT(seg < GROVE_TREE_SEGMENTS);
	pthread_mutex_lock(&t->lock);
	grove_tree_acc_t acc = t->level[GROVE_TREE_LEVELS][seg];
	pthread_mutex_unlock(&t->lock);
	return acc;
}

void grove_tree_save(grove_tree_t *t, uint8_t *out)
{
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < GROVE_TREE_SEGMENTS; i++) {
		const grove_tree_acc_t *a = &t->level[GROVE_TREE_LEVELS][i];
		uint8_t *p = out + i * GROVE_TREE_ACC_BYTES;
		grove_le64_put(p, a->lo);
		grove_le64_put(p + 8, a->hi);
		grove_le64_put(p + 16, a->count);
	}
	pthread_mutex_unlock(&t->lock);
}

void grove_tree_load(grove_tree_t *t, const uint8_t *in)
{
	grove_tree_reset(t);
	pthread_mutex_lock(&t->lock);
	for (uint32_t seg = 0; seg < GROVE_TREE_SEGMENTS; seg++) {
		const uint8_t *p = in + (size_t)seg * GROVE_TREE_ACC_BYTES;
		grove_tree_acc_t a = { grove_le64_get(p), grove_le64_get(p + 8), grove_le64_get(p + 16) };
		tree_add(t, seg, &a);
	}
	pthread_mutex_unlock(&t->lock);
}
