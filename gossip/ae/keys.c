/*
 * keys.c - key FIFO and sorted segment lists of anti-entropy sessions
 * (see keys.h).  The FIFO is one buffer of (varint length, key) records;
 * popped records are reclaimed by compaction once they are half of it.
 * A segment list keeps keys and digests in one buffer and sorts an index
 * of offsets over it (the buffer does not move once loading is over).
 */
#include "gossip/ae/keys.h"

#include <stdlib.h>
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "base/buf.h"

#define SEG_ENTS_MIN 64 /* entries of a segment's first allocation */

void grove_ae_keyq_init(grove_ae_keyq_t *q)
{
	memset(q, 0, sizeof(*q));
	grove_buf_init(&q->buf, 0);
}

void grove_ae_keyq_close(grove_ae_keyq_t *q)
{
	grove_buf_close(&q->buf);
	q->head = 0;
	q->count = 0;
}

int grove_ae_keyq_push(grove_ae_keyq_t *q, const uint8_t *key, size_t klen)
{
	GROVE_ASSERT(klen >= 1 && klen <= GROVE_AE_KEYQ_REC_MAX);
	size_t before = q->buf.len;
	grove_ae_put_blob(&q->buf, key, klen);
	if (q->buf.failed) {
		q->buf.failed = false;
		q->buf.len = before;
		return GROVE_ENOMEM;
	}
	q->count++;
	return 0;
}

/* Decodes the varint length at p (written by put_blob, so well-formed). */
static size_t rec_len(const uint8_t *p, size_t *hdr)
{
	size_t v = 0, i = 0;
	for (unsigned shift = 0;; shift += 7, i++) {
		v |= (size_t)(p[i] & 0x7f) << shift;
		if (!(p[i] & 0x80))
			break;
	}
	*hdr = i + 1;
	return v;
}

size_t grove_ae_keyq_drop_if(grove_ae_keyq_t *q, bool (*drop)(void *ctx, const uint8_t *key, size_t klen),
			     void *ctx)
{
	size_t r = q->head, w = 0, kept = 0, n = q->count;
	for (size_t i = 0; i < n; i++) {
		size_t hdr, klen = rec_len(q->buf.data + r, &hdr);
		if (!drop(ctx, q->buf.data + r + hdr, klen)) {
			memmove(q->buf.data + w, q->buf.data + r, hdr + klen);
			w += hdr + klen;
			kept++;
		}
		r += hdr + klen;
	}
	GROVE_ASSERT(r == q->buf.len);
	q->head = 0;
	q->buf.len = w;
	q->count = kept;
	return n - kept;
}

bool grove_ae_keyq_front(const grove_ae_keyq_t *q, const uint8_t **key, size_t *klen)
{
	if (q->count == 0)
		return false;
	size_t hdr;
	*klen = rec_len(q->buf.data + q->head, &hdr);
	*key = q->buf.data + q->head + hdr;
	return true;
}

void grove_ae_keyq_pop(grove_ae_keyq_t *q)
{
	GROVE_ASSERT(q->count > 0);
	size_t hdr;
	size_t klen = rec_len(q->buf.data + q->head, &hdr);
	q->head += hdr + klen;
	q->count--;
	if (q->count == 0) {
		q->head = 0;
		q->buf.len = 0;
	} else if (q->head > 4096 && q->head * 2 > q->buf.len) {
		memmove(q->buf.data, q->buf.data + q->head, q->buf.len - q->head);
		q->buf.len -= q->head;
		q->head = 0;
	}
}

/* ---- segment lists ---- */

void grove_ae_seg_init(grove_ae_seg_t *g)
{
	memset(g, 0, sizeof(*g));
	grove_buf_init(&g->buf, 0);
}

void grove_ae_seg_close(grove_ae_seg_t *g)
{
	grove_buf_close(&g->buf);
	grove_free(g->ents);
	memset(g, 0, sizeof(*g));
}

void grove_ae_seg_unload(grove_ae_seg_t *g)
{
	g->loaded = false;
	g->count = 0;
	g->pos = 0;
	grove_buf_reset(&g->buf);
}

static int seg_collect(void *ctx, const void *key, size_t klen,
			      const uint8_t digest[GROVE_DIGEST_BYTES])
{
	grove_ae_seg_t *g = ctx;
	if (g->count >= GROVE_AE_SEGMENT_KEYS_MAX)
		return GROVE_ETOOBIG;
	if (klen < 1 || klen > GROVE_ITEM_NAME_MAX || g->buf.len > UINT32_MAX / 2)
		return GROVE_ETOOBIG;
	int rc = grove_grow((void **)&g->ents, &g->cap, g->count + 1, sizeof(*g->ents), SEG_ENTS_MIN, 0);
	if (rc < 0)
		return rc;
	g->ents[g->count] = (grove_ae_seg_ent_t){ (uint32_t)g->buf.len, (uint32_t)klen, false };
	grove_buf_append(&g->buf, key, klen);
	grove_buf_append(&g->buf, digest, GROVE_DIGEST_BYTES);
	if (g->buf.failed)
		return GROVE_ENOMEM;
	g->count++;
	return 0;
}

static int keycmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static int ent_cmp(const void *x, const void *y, void *base)
{
	const grove_ae_seg_ent_t *a = x, *b = y;
	const uint8_t *d = base;
	return keycmp(d + a->off, a->klen, d + b->off, b->klen);
}

int grove_ae_seg_load(grove_ae_seg_t *g, grove_db_t *db, uint32_t segment)
{
	GROVE_ASSERT(segment < GROVE_TREE_SEGMENTS);
	grove_ae_seg_unload(g);
	int rc = grove_db_segment_keys(db, segment, seg_collect, g);
	if (rc == 0 && g->buf.failed)
		rc = GROVE_ENOMEM;
	if (rc != 0) {
		grove_ae_seg_unload(g);
		return rc;
	}
	if (g->count > 1)
		qsort_r(g->ents, g->count, sizeof(*g->ents), ent_cmp, g->buf.data);
	g->segment = segment;
	g->loaded = true;
	return 0;
}

long grove_ae_seg_find(const grove_ae_seg_t *g, const uint8_t *key, size_t klen)
{
	size_t lo = 0, hi = g->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = keycmp(grove_ae_seg_key(g, mid), g->ents[mid].klen, key, klen);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}
