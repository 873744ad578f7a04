/*
 * broadcast.h - transmit-limited queue of gossip updates (memberlist's
 * TransmitLimitedQueue), piggybacked on protocol datagrams.
 *
 * Each item is a pre-encoded update with a key (the member id it is about):
 * pushing a new item invalidates the older one with the same key, since a
 * newer update about a member supersedes the old.  grove_broadcast_fill
 * packs the least-transmitted items first, newest first among equals, into
 * a byte budget, counts one transmission for each, and retires items that
 * reached the transmit limit (the caller passes
 * retransmit_mult * ceil(log10(n + 1))).
 *
 * Costs: push O(count) (key scan); fill O(limit * count) worst case, usually
 * much less since it stops when the budget is full.  The queue holds at most
 * GROVE_BROADCAST_MAX items; past that the most-transmitted oldest item is
 * dropped and counted.  Caller-allocated struct: _init / _close.
 */
#ifndef GROVE_BROADCAST_H
#define GROVE_BROADCAST_H

#include <stddef.h>
#include <stdint.h>

#include "grove/error.h"

#define GROVE_BROADCAST_MAX 4096
#define GROVE_BROADCAST_KEY_MAX 64
#define GROVE_BROADCAST_ITEM_BYTES_MAX 1024
#define GROVE_BROADCAST_TRANSMITS_MAX 64 /* cap on the transmit limit */

typedef struct grove_broadcast_item {
	uint64_t key_hash;
	char key[GROVE_BROADCAST_KEY_MAX + 1];
	uint8_t *bytes; /* grove_malloc'd, owned by the queue */
	size_t len;
	uint32_t transmits;
	uint64_t fill_mark; /* fill call that last packed it */
} grove_broadcast_item_t;

typedef struct grove_broadcast_queue {
	grove_broadcast_item_t *items; /* oldest first */
	size_t count;
	size_t cap;
	uint32_t per_transmits[GROVE_BROADCAST_TRANSMITS_MAX + 1]; /* items by transmits */
	uint64_t fills;
	uint64_t dropped;
} grove_broadcast_queue_t;

void grove_broadcast_init(grove_broadcast_queue_t *q);
void grove_broadcast_close(grove_broadcast_queue_t *q);

/* Queue a copy of bytes about key, replacing any item with the same key.
 * GROVE_EINVAL for an oversize key or item, GROVE_ENOMEM. */
int grove_broadcast_push(grove_broadcast_queue_t *q, const char *key, const uint8_t *bytes,
			 size_t len) GROVE_MUST_CHECK;

/* Append whole items to buf (at most budget bytes, at most max_items items);
 * *bytes_out receives the bytes written.  Returns the items written. */
size_t grove_broadcast_fill(grove_broadcast_queue_t *q, uint32_t transmit_limit, uint8_t *buf,
			    size_t budget, size_t max_items, size_t *bytes_out);

/* Drop every item (e.g. after a restart). */
void grove_broadcast_reset(grove_broadcast_queue_t *q);

/* Transmit limit for n members: mult * ceil(log10(n + 1)), at least 1. */
uint32_t grove_broadcast_limit(uint32_t mult, size_t n);

#endif
