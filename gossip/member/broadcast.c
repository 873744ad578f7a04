/*
 * broadcast.c - the transmit-limited update queue (see broadcast.h).
 *
 * Items stay in insertion order (oldest first) in one array; a count of
 * items per transmit number lets fill skip empty tiers.  fill walks tiers
 * from 0 transmits up and, inside a tier, the array from newest to oldest.
 */
#include <math.h>
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "base/buf.h"
#include "gossip/member/broadcast.h"

#define BROADCAST_MIN 16 /* items of the first allocation */

static uint64_t broadcast_key_hash(const char *key)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)key; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	return h;
}

void grove_broadcast_init(grove_broadcast_queue_t *q)
{
	memset(q, 0, sizeof(*q));
}

void grove_broadcast_reset(grove_broadcast_queue_t *q)
{
	for (size_t i = 0; i < q->count; i++)
		grove_free(q->items[i].bytes);
	q->count = 0;
	memset(q->per_transmits, 0, sizeof(q->per_transmits));
}

void grove_broadcast_close(grove_broadcast_queue_t *q)
{
	if (!q)
		return;
	grove_broadcast_reset(q);
	grove_free(q->items);
	q->items = NULL;
	q->cap = 0;
}

/* Removes item i, keeping order. */
static void broadcast_remove(grove_broadcast_queue_t *q, size_t i)
{
	grove_broadcast_item_t *it = &q->items[i];
	uint32_t t = it->transmits > GROVE_BROADCAST_TRANSMITS_MAX ? GROVE_BROADCAST_TRANSMITS_MAX : it->transmits;
	q->per_transmits[t]--;
	grove_free(it->bytes);
	memmove(it, it + 1, (q->count - i - 1) * sizeof(*it));
	q->count--;
}

/* Index of the most transmitted item, oldest among equals. */
static size_t broadcast_victim(const grove_broadcast_queue_t *q)
{
	size_t best = 0;
	for (size_t i = 1; i < q->count; i++)
		if (q->items[i].transmits > q->items[best].transmits)
			best = i;
	return best;
}

static int broadcast_reserve(grove_broadcast_queue_t *q)
{
	return grove_grow((void **)&q->items, &q->cap, q->count + 1, sizeof(*q->items), BROADCAST_MIN,
			  GROVE_BROADCAST_MAX);
}

int grove_broadcast_push(grove_broadcast_queue_t *q, const char *key, const uint8_t *bytes, size_t len)
{
	size_t klen = strlen(key);
	if (klen > GROVE_BROADCAST_KEY_MAX || len == 0 || len > GROVE_BROADCAST_ITEM_BYTES_MAX)
		return GROVE_EINVAL;
	uint8_t *copy = grove_malloc(len);
	if (!copy)
		return GROVE_ENOMEM;
	memcpy(copy, bytes, len);
	uint64_t h = broadcast_key_hash(key);
	for (size_t i = 0; i < q->count; i++)
		if (q->items[i].key_hash == h && strcmp(q->items[i].key, key) == 0) {
			broadcast_remove(q, i);
			break;
		}
	if (q->count == GROVE_BROADCAST_MAX) {
		broadcast_remove(q, broadcast_victim(q));
		q->dropped++;
	}
	if (broadcast_reserve(q) < 0) {
		grove_free(copy);
		return GROVE_ENOMEM;
	}
	grove_broadcast_item_t *it = &q->items[q->count++];
	memset(it, 0, sizeof(*it));
	it->key_hash = h;
	memcpy(it->key, key, klen + 1);
	it->bytes = copy;
	it->len = len;
	q->per_transmits[0]++;
	return 0;
}

/* Packs the items of one tier, newest first. */
static size_t fill_tier(grove_broadcast_queue_t *q, uint32_t t, uint8_t *buf, size_t budget,
			       size_t max_items, size_t *used)
{
	size_t n = 0, seen = 0, tier = q->per_transmits[t];
	for (size_t i = q->count; i-- > 0 && seen < tier && n < max_items && budget - *used > 0;) {
		grove_broadcast_item_t *it = &q->items[i];
		if (it->transmits != t || it->fill_mark == q->fills)
			continue;
		seen++;
		if (it->len > budget - *used)
			continue;
		memcpy(buf + *used, it->bytes, it->len);
		*used += it->len;
		it->fill_mark = q->fills;
		n++;
	}
	return n;
}

size_t grove_broadcast_fill(grove_broadcast_queue_t *q, uint32_t limit, uint8_t *buf, size_t budget,
			    size_t max_items, size_t *bytes_out)
{
	size_t n = 0, used = 0;
	if (limit > GROVE_BROADCAST_TRANSMITS_MAX)
		limit = GROVE_BROADCAST_TRANSMITS_MAX;
	if (limit == 0)
		limit = 1;
	q->fills++;
	for (uint32_t t = 0; t < GROVE_BROADCAST_TRANSMITS_MAX && n < max_items; t++)
		if (q->per_transmits[t])
			n += fill_tier(q, t, buf, budget, max_items - n, &used);
	for (size_t i = q->count; i-- > 0;) {
		grove_broadcast_item_t *it = &q->items[i];
		if (it->fill_mark != q->fills)
			continue;
		q->per_transmits[it->transmits]--;
		it->transmits++;
		q->per_transmits[it->transmits]++;
		if (it->transmits >= limit)
			broadcast_remove(q, i);
	}
	*bytes_out = used;
	return n;
}

uint32_t grove_broadcast_limit(uint32_t mult, size_t n)
{
	double l = ceil(log10((double)n + 1.0));
	uint32_t v = (uint32_t)((double)mult * l);
	return v ? v : 1;
}
