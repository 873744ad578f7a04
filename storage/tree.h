/*
 * tree.h - the in-memory digest tree over key segments (used by db.c; the
 * format is in doc/storage_format.md).
 *
 * Every key contributes one 16-byte item hash, BLAKE2b-128(klen u32 LE ||
 * key || canonical value encoding): it binds key and state, so swapping two
 * keys' states changes the sums.  A node of the tree holds an accumulator: the sum of
 * its items' hashes as 128-bit little-endian integers modulo 2^128, and
 * their count.  Sums and counts are additive, so a write updates the
 * accumulators of its segment and of every ancestor in O(GROVE_TREE_LEVELS),
 * and equal sets of (key, digest) pairs give equal accumulators whatever the
 * order of writes.  A node's digest is BLAKE2b-128(sum || count u64 LE); a
 * modular sum (unlike XOR) does not cancel out pairs of chosen inputs.
 *
 * Levels: 0 is the root (1 node), level l has GROVE_TREE_FANOUT^l nodes, and
 * level GROVE_TREE_LEVELS holds the GROVE_TREE_SEGMENTS segments.  All
 * levels live in memory (about 1.7 MB).  A mutex makes every function
 * thread-safe.
 */
#ifndef GROVE_TREE_H
#define GROVE_TREE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "grove/value.h"
#include "grove/db.h"

#define GROVE_TREE_ACC_BYTES 24 /* serialized accumulator: sum 16 + count 8 */

typedef struct grove_tree_acc {
	uint64_t lo, hi; /* 128-bit sum, little-endian limbs */
	uint64_t count;
} grove_tree_acc_t;

typedef struct grove_tree {
	pthread_mutex_t lock;
	grove_tree_acc_t *level[GROVE_TREE_LEVELS + 1];
	bool dirty; /* changed since init or reset: a clean tree is all zero */
} grove_tree_t;

int grove_tree_init(grove_tree_t *t) GROVE_MUST_CHECK; /* all empty */
void grove_tree_close(grove_tree_t *t);                 /* safe when zeroed */
void grove_tree_reset(grove_tree_t *t);

/* The key hash: the first four bytes, big-endian, of SipHash-2-4 of the
 * key under the fixed public key GROVE_TREE_HASH_KEY.  Its top 16 bits are
 * the key's segment; the rest serve db.c's record cache.  Every node must
 * compute it alike (it places keys in the tree); it needs no secrecy. */
#define GROVE_TREE_HASH_KEY "grove-segment-v1" /* 16 bytes */
uint32_t grove_tree_key_hash(const void *key, size_t klen);
uint32_t grove_tree_segment(const void *key, size_t klen); /* key hash >> 16 */
void grove_tree_item(const void *key, size_t klen, const uint8_t *enc, size_t enc_len,
		     uint8_t out[GROVE_DIGEST_BYTES]);
/* The same item from one contiguous buffer: GROVE_TREE_ITEM_PREFIX_BYTES
 * written by grove_tree_item_prefix (klen u32 LE, key), then the encoding;
 * len counts both.  One hash call, for writers that build records there. */
#define GROVE_TREE_ITEM_PREFIX_BYTES(klen) (4 + (size_t)(klen))
void grove_tree_item_prefix(uint8_t *out, const void *key, size_t klen);
void grove_tree_item_bytes(const uint8_t *bytes, size_t len, uint8_t out[GROVE_DIGEST_BYTES]);

/* Replaces item old (NULL: none) by item new (NULL: none) in segment seg:
 * O(GROVE_TREE_LEVELS). */
void grove_tree_update(grove_tree_t *t, uint32_t seg, const uint8_t *old_item,
		       const uint8_t *new_item);

/* Brings the accumulators of segment seg and of its parent toward the
 * CPU (the upper levels are small and stay cached): a writer that will
 * update seg after its store write calls it first, so that the leaf's
 * cache miss overlaps the write instead of stalling the update.  Touches
 * nothing but the CPU's cache; no lock. */
void grove_tree_prefetch(const grove_tree_t *t, uint32_t seg);

/* A run of updates of one segment, summed before they reach the tree:
 * grove_tree_run_update adds one (as grove_tree_update would) to r,
 * first applying r's sum when seg is another segment; grove_tree_run_flush
 * applies what r holds (caller: before the tree must show it).  So
 * consecutive updates of a segment (a hot element's pipelined writes:
 * each one's old item is the previous one's new item, and the sum
 * telescopes) take the tree's lock and touch its levels once.  Start
 * from a zeroed run. */
typedef struct grove_tree_run {
	uint32_t seg;
	bool any;
	grove_tree_acc_t d;
} grove_tree_run_t;
void grove_tree_run_update(grove_tree_t *t, grove_tree_run_t *r, uint32_t seg,
			   const uint8_t *old_item, const uint8_t *new_item);
void grove_tree_run_flush(grove_tree_t *t, grove_tree_run_t *r);

int grove_tree_node(grove_tree_t *t, unsigned level, uint32_t index,
		    uint8_t digest[GROVE_DIGEST_BYTES], uint64_t *count) GROVE_MUST_CHECK;

/* Segment accumulators as GROVE_TREE_SEGMENTS * GROVE_TREE_ACC_BYTES bytes
 * (for the clean-shutdown record); load rebuilds the upper levels. */
void grove_tree_save(grove_tree_t *t, uint8_t *out);
void grove_tree_load(grove_tree_t *t, const uint8_t *in);
/* The accumulator of one segment, and adding an item to a free-standing
 * accumulator (for verifying a segment against its records). */
grove_tree_acc_t grove_tree_segment_acc(grove_tree_t *t, uint32_t seg);
void grove_tree_acc_add(grove_tree_acc_t *acc, const uint8_t item[GROVE_DIGEST_BYTES]);

#endif
