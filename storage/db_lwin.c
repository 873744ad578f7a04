/*
 * db_lwin.c - the head windows of lists (db_lwin_int.h).
 *
 * LRANGE key 0 N (the first page of a timeline, read over and over) walks
 * N + 1 element records through the store's iterator, and at 10^6
 * elements LevelDB's merging iterator costs three times per step what it
 * costs at 10^3.  So each key stripe remembers the first elements (ids and
 * winning values, at most LWIN_ELEMS_MAX of them in LWIN_BYTES_MAX bytes)
 * of the last list a read walked from its head, with the list's live count
 * and element sum (meta_t count and acc, from the `k` record) in the
 * snapshot that read them.
 *
 * Why that is enough: the live element records as read (filtered by the
 * pending delete) decide the list - its order is their ids', its values
 * their winners - and every change to them (a push, pop, LSET, LINSERT,
 * LREM, a peer's element merged, a delete, a purge) changes the count or
 * the 128-bit sum of their tree items, as storage/db_list.c's remembered
 * ends also rely on (short of a collision of the sums).  So a read whose
 * snapshot shows the same key with the same count and sum reads the same
 * list, and is answered from the window when its range lies in it: no
 * iterator, no seek, no decode.  Any other read walks the store; one that
 * starts at the head publishes what it walked as the stripe's new window.
 *
 * Windows are immutable once published and counted: a reader takes a
 * reference under the stripe lock with a try-lock (a reader never waits
 * for a writer: a busy lock reads as no window), and emits after releasing
 * it.  Memory: at most one window per stripe, each under 38 KB (a header
 * with the offsets, the key, the bytes).
 */
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "storage/db_lwin_int.h"

#define LWIN_ELEMS_MAX 128
#define LWIN_BYTES_MAX (32u * 1024) /* ids and values of one window */

struct grove_db_lwin {
	atomic_uint refs;
	uint64_t count; /* the list's live elements when read */
	acc_t acc;      /* their sum then */
	size_t klen, n, len;
	bool full; /* took no more elements: the window is a prefix */
	/* element i: id at data[off[2i] .. off[2i+1]), value up to off[2i+2] */
	uint32_t off[2 * LWIN_ELEMS_MAX + 1];
	/* then klen bytes of key, then the data (len bytes) */
};

static const uint8_t *lwin_key(const lwin_t *w)
{
	return (const uint8_t *)(w + 1);
}

static uint8_t *lwin_data(lwin_t *w)
{
	return (uint8_t *)(w + 1) + w->klen;
}

void grove_db__lwin_release(lwin_t *w)
{
	if (w && atomic_fetch_sub(&w->refs, 1) == 1)
		grove_free(w);
}

lwin_t *grove_db__lwin_get(grove_db_t *db, const grove_db_key_t *k, const meta_t *m)
{
	grove_db_stripe_t *s = &db->stripes[k->stripe];
	if (pthread_mutex_trylock(&s->mu) != 0)
		return NULL;
	lwin_t *w = s->lwin;
	if (w && w->klen == k->klen && memcmp(lwin_key(w), k->key, k->klen) == 0 &&
	    w->count == m->count[GROVE_ELEM_LIST] && w->acc.lo == m->acc.lo && w->acc.hi == m->acc.hi)
		atomic_fetch_add(&w->refs, 1);
	else
		w = NULL;
	pthread_mutex_unlock(&s->mu);
	return w;
}

size_t grove_db__lwin_len(const lwin_t *w)
{
	return w->n;
}

void grove_db__lwin_emit(const lwin_t *w, int64_t start, int64_t stop, grove_db_elem_fn fn,
			 void *ctx)
{
	GROVE_ASSERT(start >= 0 && start <= stop && (uint64_t)stop < w->n);
	const uint8_t *d = lwin_key(w) + w->klen;
	for (int64_t i = start; i <= stop; i++) {
		const uint32_t *o = &w->off[2 * i];
		if (fn(ctx, d + o[0], o[1] - o[0], d + o[1], o[2] - o[1]) != 0)
			break;
	}
}

lwin_t *grove_db__lwin_new(const grove_db_key_t *k, const meta_t *m)
{
	lwin_t *w = grove_malloc(sizeof(*w) + k->klen + LWIN_BYTES_MAX);
	if (!w)
		return NULL;
	atomic_init(&w->refs, 1);
	w->count = m->count[GROVE_ELEM_LIST];
	w->acc = m->acc;
	w->klen = k->klen;
	w->n = 0;
	w->len = 0;
	w->full = false;
	w->off[0] = 0;
	memcpy((uint8_t *)(w + 1), k->key, k->klen);
	return w;
}

void grove_db__lwin_take(lwin_t *w, const uint8_t *id, size_t idlen, const uint8_t *val,
			 size_t vlen)
{
	if (w->full || w->n == LWIN_ELEMS_MAX || idlen + vlen > LWIN_BYTES_MAX - w->len) {
		w->full = true;
		return;
	}
	uint8_t *d = lwin_data(w) + w->len;
	memcpy(d, id, idlen);
	if (vlen)
		memcpy(d + idlen, val, vlen);
	w->off[2 * w->n + 1] = (uint32_t)(w->len + idlen);
	w->len += idlen + vlen;
	w->off[2 * w->n + 2] = (uint32_t)w->len;
	w->n++;
}

void grove_db__lwin_publish(grove_db_t *db, const grove_db_key_t *k, lwin_t *w)
{
	grove_db_stripe_t *s = &db->stripes[k->stripe];
	GROVE_ASSERT(atomic_load(&w->refs) == 1); /* not shared before it is published */
	lwin_t *shrunk = w->n ? grove_realloc(w, sizeof(*w) + w->klen + w->len) : NULL;
	if (!shrunk || pthread_mutex_trylock(&s->mu) != 0) {
		grove_db__lwin_release(shrunk ? shrunk : w);
		return;
	}
	lwin_t *old = s->lwin;
	s->lwin = shrunk;
	pthread_mutex_unlock(&s->mu);
	grove_db__lwin_release(old);
}
