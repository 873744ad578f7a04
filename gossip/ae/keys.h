/*
 * keys.h - key containers of an anti-entropy session (internal):
 *  - grove_ae_keyq_t, a FIFO of keys (one growable buffer of length-prefixed
 *    records, compacted as it drains);
 *  - grove_ae_seg_t, the local (key, digest) list of one segment, loaded
 *    from grove_db_segment_keys and sorted by key for lookups.
 */
#ifndef GROVE_AE_KEYS_H
#define GROVE_AE_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip/ae/codec.h"

#define GROVE_AE_SEGMENT_KEYS_MAX (1u << 20) /* keys of one local segment handled */
#define GROVE_AE_KEYQ_REC_MAX (GROVE_ITEM_NAME_MAX + 1) /* an item name, or a tag byte + name */

typedef struct grove_ae_keyq {
	grove_buf_t buf;
	size_t head;  /* offset of the first record */
	size_t count; /* records */
} grove_ae_keyq_t;

void grove_ae_keyq_init(grove_ae_keyq_t *q);
void grove_ae_keyq_close(grove_ae_keyq_t *q);
/* GROVE_ENOMEM on allocation failure (queue unchanged). */
int grove_ae_keyq_push(grove_ae_keyq_t *q, const uint8_t *key, size_t klen) GROVE_MUST_CHECK;
/* Front key (borrowed until the next push or pop); false when empty. */
bool grove_ae_keyq_front(const grove_ae_keyq_t *q, const uint8_t **key, size_t *klen);
void grove_ae_keyq_pop(grove_ae_keyq_t *q);
/* Removes the keys for which drop(ctx, key, klen) is true, keeping the
 * others in order; returns how many went.  In place, O(bytes queued). */
size_t grove_ae_keyq_drop_if(grove_ae_keyq_t *q, bool (*drop)(void *ctx, const uint8_t *key, size_t klen),
			     void *ctx);

typedef struct grove_ae_seg_ent {
	uint32_t off;  /* of the key in buf; its digest follows it */
	uint32_t klen;
	bool matched;  /* seen in the peer's list */
} grove_ae_seg_ent_t;

typedef struct grove_ae_seg {
	bool loaded;
	uint32_t segment;
	grove_buf_t buf;
	grove_ae_seg_ent_t *ents;
	size_t count;
	size_t cap;
	size_t pos; /* next entry to emit (KEYS output) */
} grove_ae_seg_t;

void grove_ae_seg_init(grove_ae_seg_t *g);
void grove_ae_seg_close(grove_ae_seg_t *g);
/* Loads and sorts segment `segment` of db (replacing what was loaded).
 * GROVE_ETOOBIG beyond GROVE_AE_SEGMENT_KEYS_MAX keys, GROVE_ENOMEM, or the
 * db's error; on failure nothing is loaded. */
int grove_ae_seg_load(grove_ae_seg_t *g, grove_db_t *db, uint32_t segment) GROVE_MUST_CHECK;
void grove_ae_seg_unload(grove_ae_seg_t *g);
static inline const uint8_t *grove_ae_seg_key(const grove_ae_seg_t *g, size_t i)
{
	return g->buf.data + g->ents[i].off;
}
static inline const uint8_t *grove_ae_seg_digest(const grove_ae_seg_t *g, size_t i)
{
	return g->buf.data + g->ents[i].off + g->ents[i].klen;
}
/* Index of key, or -1.  O(log count). */
long grove_ae_seg_find(const grove_ae_seg_t *g, const uint8_t *key, size_t klen);

#endif
