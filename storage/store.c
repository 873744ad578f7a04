/*
 * store.c - the backend-independent half of store.h: write batches, the
 * dispatching wrappers around a backend's function table, and range scans
 * built on iterators.  See store.h for the contract.
 */
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "base/buf.h"
#include "storage/store.h"
#include "storage/store_int.h"

#define GROVE_BATCH_HEADER_BYTES 9 /* op:1, klen:4, vlen:4 */
#define BATCH_BYTES_MIN 256 /* first allocation of a batch */

/* --- batches --- */

void grove_batch_init(grove_batch_t *b)
{
	memset(b, 0, sizeof(*b));
}

void grove_batch_close(grove_batch_t *b)
{
	grove_free(b->buf);
	memset(b, 0, sizeof(*b));
}

void grove_batch_clear(grove_batch_t *b)
{
	b->len_bytes = 0;
	b->count = 0;
}

static int batch_reserve(grove_batch_t *b, size_t extra)
{
	if (extra > SIZE_MAX / 2 - b->len_bytes)
		return GROVE_ETOOBIG;
	return grove_grow((void **)&b->buf, &b->cap_bytes, b->len_bytes + extra, 1, BATCH_BYTES_MIN, 0);
}

static void put_u32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static int batch_add(grove_batch_t *b, int op, const void *key, size_t klen, const void *val,
		     size_t vlen)
{
	if (klen > GROVE_STORE_KEY_BYTES_MAX || vlen > GROVE_STORE_VALUE_BYTES_MAX)
		return GROVE_ETOOBIG;
	int rc = batch_reserve(b, GROVE_BATCH_HEADER_BYTES + klen + vlen);
	if (rc)
		return rc;
	uint8_t *p = b->buf + b->len_bytes;
	p[0] = (uint8_t)op;
	put_u32(p + 1, (uint32_t)klen);
	if (klen)
		memcpy(p + 5, key, klen);
	put_u32(p + 5 + klen, (uint32_t)vlen);
	if (vlen)
		memcpy(p + 9 + klen, val, vlen);
	b->len_bytes += GROVE_BATCH_HEADER_BYTES + klen + vlen;
	b->count++;
	return 0;
}

int grove_batch_put(grove_batch_t *b, const void *key, size_t klen, const void *val, size_t vlen)
{
	return batch_add(b, GROVE_BATCH_PUT, key, klen, val, vlen);
}

int grove_batch_delete(grove_batch_t *b, const void *key, size_t klen)
{
	return batch_add(b, GROVE_BATCH_DEL, key, klen, NULL, 0);
}

int grove_batch_append(grove_batch_t *dst, const grove_batch_t *src)
{
	int rc = batch_reserve(dst, src->len_bytes);
	if (rc)
		return rc;
	if (src->len_bytes)
		memcpy(dst->buf + dst->len_bytes, src->buf, src->len_bytes);
	dst->len_bytes += src->len_bytes;
	dst->count += src->count;
	return 0;
}

/* The bytes of the op whose header is at p (header, key, value). */
static size_t op_bytes(const uint8_t *p)
{
	size_t klen = get_u32(p + 1);
	return GROVE_BATCH_HEADER_BYTES + klen + get_u32(p + 5 + klen);
}

/* Whether the ops at headers p and q have the same key. */
static bool same_key(const uint8_t *p, const uint8_t *q)
{
	size_t klen = get_u32(p + 1);
	return get_u32(q + 1) == klen && memcmp(q + 5, p + 5, klen) == 0;
}

void grove_batch_iterate(const grove_batch_t *b, grove_batch_fn fn, void *ctx)
{
	grove_batch_iterate_n(b, b->count, fn, ctx);
}

void grove_batch_iterate_n(const grove_batch_t *b, size_t max, grove_batch_fn fn, void *ctx)
{
	size_t off = 0, n = max < b->count ? max : b->count;
	for (size_t i = 0; i < n; i++) {
		GROVE_ASSERT(off + GROVE_BATCH_HEADER_BYTES <= b->len_bytes);
		const uint8_t *p = b->buf + off;
		size_t klen = get_u32(p + 1);
		size_t vlen = get_u32(p + 5 + klen);
		const uint8_t *val = p[0] == GROVE_BATCH_PUT ? p + 9 + klen : NULL;
		fn(ctx, p[0], p + 5, klen, val, vlen);
		off += GROVE_BATCH_HEADER_BYTES + klen + vlen;
	}
	GROVE_ASSERT(n < b->count || off == b->len_bytes);
}

bool grove_batch_same_keys(const grove_batch_t *a, const grove_batch_t *b)
{
	if (a->count != b->count)
		return false;
	size_t ao = 0, bo = 0;
	for (size_t i = 0; i < a->count; i++) {
		GROVE_ASSERT(ao + GROVE_BATCH_HEADER_BYTES <= a->len_bytes &&
			     bo + GROVE_BATCH_HEADER_BYTES <= b->len_bytes);
		const uint8_t *p = a->buf + ao, *q = b->buf + bo;
		if (!same_key(p, q))
			return false;
		ao += op_bytes(p);
		bo += op_bytes(q);
	}
	return true;
}

/* --- the last op of each key in a list of batches --- */

typedef struct op_ref {
	const uint8_t *p; /* the op's header in its batch */
	uint32_t slot;    /* its slot in the table */
	bool skip;        /* a later op of the same key overrides it */
} op_ref_t;

static uint64_t list_hash_seed;
static pthread_once_t list_hash_once = PTHREAD_ONCE_INIT;

static void list_hash_init(void)
{
	randombytes_buf(&list_hash_seed, sizeof(list_hash_seed));
}

int grove_batch_list_iterate_last(const grove_batch_t *const *bs, size_t n, grove_batch_fn fn,
				  void *ctx)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += bs[i]->count;
	if (total > UINT32_MAX / 4)
		return GROVE_ENOMEM;
	size_t cap = 16;
	while (cap < 2 * total)
		cap *= 2;
	op_ref_t *refs = grove_malloc(total * sizeof(*refs) + cap * sizeof(uint32_t) + 1);
	if (!refs)
		return GROVE_ENOMEM;
	uint32_t *slots = (uint32_t *)(refs + total); /* op index + 1, 0: empty */
	memset(slots, 0, cap * sizeof(uint32_t));
	pthread_once(&list_hash_once, list_hash_init);
	size_t j = 0, prev = 0, prev_n = 0; /* the previous batch's first op and count */
	for (size_t i = 0; i < n; i++) {
		size_t off = 0, first = j;
		for (size_t c = 0; c < bs[i]->count; c++, j++) {
			const uint8_t *p = bs[i]->buf + off;
			size_t klen = get_u32(p + 1);
			off += op_bytes(p);
			refs[j] = (op_ref_t){ .p = p };
			/* the writes of one hot key repeat one layout: the op at the
			 * same place of the previous batch, still its key's latest,
			 * has the same key (no hash, no probe) */
			op_ref_t *o = c < prev_n ? &refs[prev + c] : NULL;
			size_t x;
			if (o && slots[o->slot] == prev + c + 1 && same_key(o->p, p)) {
				x = o->slot;
				o->skip = true;
			} else {
				x = (size_t)grove_store__key_hash(list_hash_seed, p + 5, klen) & (cap - 1);
				for (; slots[x]; x = (x + 1) & (cap - 1)) {
					if (same_key(refs[slots[x] - 1].p, p)) {
						refs[slots[x] - 1].skip = true;
						break;
					}
				}
			}
			slots[x] = (uint32_t)(j + 1);
			refs[j].slot = (uint32_t)x;
		}
		GROVE_ASSERT(off == bs[i]->len_bytes);
		prev = first;
		prev_n = bs[i]->count;
	}
	for (j = 0; j < total; j++) {
		if (refs[j].skip)
			continue;
		const uint8_t *p = refs[j].p;
		size_t klen = get_u32(p + 1), vlen = get_u32(p + 5 + klen);
		fn(ctx, p[0], p + 5, klen, p[0] == GROVE_BATCH_PUT ? p + 9 + klen : NULL, vlen);
	}
	grove_free(refs);
	return 0;
}

/* Appends an op to a batch with room reserved for it (list_merge). */
static void merge_op(void *ctx, int op, const uint8_t *key, size_t klen, const uint8_t *val,
		     size_t vlen)
{
	int rc = batch_add(ctx, op, key, klen, val, vlen);
	GROVE_ASSERT(rc == 0); /* room reserved, sizes checked when first added */
}

/* bs[0..n) as one batch *all: the ops a later op of the same key
 * overrides left out (a hot key written by many pipelined clients reaches
 * the backend and the point cache once per group), or, when the table
 * cannot be allocated, every op. */
static int list_merge(const grove_batch_t *const *bs, size_t n, grove_batch_t *all)
{
	size_t bytes = 0;
	for (size_t i = 0; i < n; i++)
		bytes += bs[i]->len_bytes;
	grove_batch_init(all);
	int rc = batch_reserve(all, bytes);
	if (rc == 0 && grove_batch_list_iterate_last(bs, n, merge_op, all) != 0) {
		grove_batch_clear(all);
		for (size_t i = 0; i < n && rc == 0; i++)
			rc = grove_batch_append(all, bs[i]);
	}
	if (rc)
		grove_batch_close(all);
	return rc;
}

/* --- dispatch --- */

void grove_store_close(grove_store_t *s)
{
	if (!s)
		return;
	grove_store__txn_free(s);
	grove_store__cache_free(s);
	s->ops->close(s);
}

const char *grove_store_backend(const grove_store_t *s)
{
	return s->ops->name;
}

int grove_store_get(grove_store_t *s, const grove_snapshot_t *snap, const void *key, size_t klen,
		    uint8_t **val, size_t *vlen)
{
	if (grove_store_txn_owned(s))
		return grove_store__txn_get(s, snap, key, klen, val, vlen);
	return s->ops->get(s, snap, key, klen, val, vlen);
}

static atomic_long store_fail_countdown; /* the write seam: 0 disarmed */

void grove_store_fail_write_after(long n)
{
	atomic_store(&store_fail_countdown, n > 0 ? n : 0);
}

/* Whether the seam fails this write (counting it down when armed). */
static bool store_fail_now(void)
{
	long n = atomic_load(&store_fail_countdown);
	while (n > 0 && !atomic_compare_exchange_weak(&store_fail_countdown, &n, n - 1))
		;
	return n == 1;
}

/* The backend's write of b, and the point cache updated in the same
 * order when b holds cached keys (store.h "point cache"). */
static int write_cached(grove_store_t *s, const grove_batch_t *b, bool sync)
{
	grove_store_cache_hashes_t hs;
	hs.n = hs.used = 0;
	if (!grove_store__cache_touches(s, b, &hs)) /* it also prefetches */
		return s->ops->write(s, b, sync);
	grove_store__cache_write_lock(s);
	int rc = s->ops->write(s, b, sync);
	grove_store__cache_apply(s, b, rc == 0, &hs);
	grove_store__cache_write_unlock(s);
	return rc;
}

int grove_store_write(grove_store_t *s, const grove_batch_t *b, bool sync)
{
	if (store_fail_now())
		return GROVE_EIO;
	return write_cached(s, b, sync);
}

int grove_store_write_list(grove_store_t *s, const grove_batch_t *const *bs, size_t n, bool sync)
{
	GROVE_ASSERT(n >= 1);
	if (store_fail_now())
		return GROVE_EIO;
	if (n == 1)
		return write_cached(s, bs[0], sync);
	grove_batch_t all;
	int rc = list_merge(bs, n, &all);
	if (rc == 0)
		rc = write_cached(s, &all, sync);
	grove_batch_close(&all);
	return rc;
}

static int store_single(grove_store_t *s, int op, const void *key, size_t klen, const void *val,
			size_t vlen, bool sync)
{
	grove_batch_t b;
	grove_batch_init(&b);
	int rc = batch_add(&b, op, key, klen, val, vlen);
	if (rc == 0)
		rc = write_cached(s, &b, sync);
	grove_batch_close(&b);
	return rc;
}

int grove_store_put(grove_store_t *s, const void *key, size_t klen, const void *val, size_t vlen,
		    bool sync)
{
	return store_single(s, GROVE_BATCH_PUT, key, klen, val, vlen, sync);
}

int grove_store_delete(grove_store_t *s, const void *key, size_t klen, bool sync)
{
	return store_single(s, GROVE_BATCH_DEL, key, klen, NULL, 0, sync);
}

int grove_snapshot_create(grove_store_t *s, grove_snapshot_t **out)
{
	if (grove_store_txn_owned(s))
		return grove_store__txn_snapshot_create(s, out);
	return s->ops->snapshot_create(s, out);
}

void grove_snapshot_release(grove_store_t *s, grove_snapshot_t *snap)
{
	if (!snap)
		return;
	if (grove_store_txn_owned(s) && grove_store__txn_snapshot_release(s, snap))
		return;
	s->ops->snapshot_release(s, snap);
}

int grove_store__backend_iter(grove_store_t *s, const grove_snapshot_t *snap, bool hot,
			      grove_iter_t **out)
{
	return hot && s->ops->iter_create_hot ? s->ops->iter_create_hot(s, snap, out)
					      : s->ops->iter_create(s, snap, out);
}

int grove_iter_create(grove_store_t *s, const grove_snapshot_t *snap, grove_iter_t **out)
{
	if (grove_store_txn_owned(s))
		return grove_store__txn_iter_create(s, snap, false, out);
	return s->ops->iter_create(s, snap, out);
}

int grove_iter_create_hot(grove_store_t *s, const grove_snapshot_t *snap, grove_iter_t **out)
{
	if (grove_store_txn_owned(s))
		return grove_store__txn_iter_create(s, snap, true, out);
	return grove_store__backend_iter(s, snap, true, out);
}

void grove_iter_destroy(grove_iter_t *it)
{
	if (it)
		it->ops->iter_destroy(it);
}

void grove_iter_seek(grove_iter_t *it, const void *key, size_t klen)
{
	it->ops->iter_seek(it, key, klen);
}

bool grove_iter_valid(const grove_iter_t *it)
{
	return it->ops->iter_valid(it);
}

void grove_iter_next(grove_iter_t *it)
{
	it->ops->iter_next(it);
}

void grove_iter_seek_before(grove_iter_t *it, const void *key, size_t klen)
{
	it->ops->iter_seek_before(it, key, klen);
}

void grove_iter_prev(grove_iter_t *it)
{
	it->ops->iter_prev(it);
}

const uint8_t *grove_iter_key(const grove_iter_t *it, size_t *klen)
{
	return it->ops->iter_key(it, klen);
}

const uint8_t *grove_iter_value(const grove_iter_t *it, size_t *vlen)
{
	return it->ops->iter_value(it, vlen);
}

int grove_iter_status(const grove_iter_t *it)
{
	return it->ops->iter_status(it);
}

/* --- scans --- */

int grove_store_scan(grove_store_t *s, const grove_snapshot_t *snap, const void *lo,
		     size_t lo_len, const void *hi, size_t hi_len, grove_store_record_fn fn,
		     void *ctx)
{
	grove_iter_t *it;
	int rc = grove_iter_create(s, snap, &it);
	if (rc)
		return rc;
	grove_iter_seek(it, lo, lo_len);
	while (grove_iter_valid(it)) {
		size_t klen, vlen;
		const uint8_t *k = grove_iter_key(it, &klen);
		if (hi && grove_key_cmp(k, klen, hi, hi_len) >= 0)
			break;
		const uint8_t *v = grove_iter_value(it, &vlen);
		if (fn(ctx, k, klen, v, vlen) != 0)
			break;
		grove_iter_next(it);
	}
	rc = grove_iter_status(it);
	grove_iter_destroy(it);
	return rc;
}

/* The smallest key greater than every key starting with prefix: the prefix
 * with trailing 0xff bytes dropped and its last byte incremented.  Returns
 * its length, 0 when no such key exists (prefix all 0xff). */
static size_t prefix_successor(const uint8_t *prefix, size_t plen, uint8_t *out)
{
	while (plen > 0 && prefix[plen - 1] == 0xff)
		plen--;
	if (plen == 0)
		return 0;
	memcpy(out, prefix, plen);
	out[plen - 1]++;
	return plen;
}

int grove_store_scan_prefix(grove_store_t *s, const grove_snapshot_t *snap, const void *prefix,
			    size_t plen, grove_store_record_fn fn, void *ctx)
{
	if (plen > GROVE_STORE_KEY_BYTES_MAX)
		return GROVE_ETOOBIG;
	uint8_t *hi = grove_malloc(plen);
	if (!hi)
		return GROVE_ENOMEM;
	size_t hi_len = prefix_successor(prefix, plen, hi);
	int rc = grove_store_scan(s, snap, prefix, plen, hi_len ? hi : NULL, hi_len, fn, ctx);
	grove_free(hi);
	return rc;
}
