/*
 * codec.h - wire encoding of anti-entropy datagrams and stream frames
 * (format: doc/antientropy.md).
 *
 * Every message starts with a version byte and a type byte.  Multi-byte
 * counts are fixed 32-bit big-endian (so a builder can patch them after
 * appending entries); lengths and indices inside entries are LEB128 varints.
 *
 * Decoding is two-step and treats its input as hostile:
 *  1. grove_ae_frame_decode validates the whole message (every length,
 *     count, index and level against the named maxima below) and fills a
 *     grove_ae_frame_t whose pointers borrow from the input buffer;
 *  2. the grove_ae_rd_* iterators then walk the entries.  They cannot fail
 *     on a frame that step 1 accepted: validation and iteration share the
 *     same entry readers.
 *
 * Building: the grove_ae_put_* helpers append to a grove_buf_t
 * (base/buf.h).  A failed allocation is remembered in the buffer (its
 * sticky failed flag) and reported once by the caller.
 */
#ifndef GROVE_AE_CODEC_H
#define GROVE_AE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "grove/value.h"
#include "grove/db.h"

#define GROVE_AE_VERSION 1

/* Message types: datagrams (0x0_) and stream frames (0x1_). */
enum grove_ae_msg_type {
	GROVE_AE_DIGEST = 0x01, /* datagram: root digest, key count, level-1 digests */
	GROVE_AE_PUSH = 0x02,   /* datagram: fresh (key, state) pairs */
	GROVE_AE_NODES = 0x11,  /* frame: groups of 16 child digests at one level */
	GROVE_AE_KEYS = 0x12,   /* frame: (key, digest) lists of differing segments */
	GROVE_AE_WANT = 0x13,   /* frame: keys whose state the sender asks for */
	GROVE_AE_STATES = 0x14, /* frame: (key, encoded state) pairs */
	GROVE_AE_IDLE = 0x15,   /* frame: sender has no work; frame counters */
	GROVE_AE_BYE = 0x16,    /* frame: session over; reason */
	GROVE_AE_CREDIT = 0x17, /* frame: request units the sender has worked off */
};

/* DIGEST flags. */
#define GROVE_AE_DIGEST_LEVEL1 0x01 /* the 16 level-1 digests follow the root */
#define GROVE_AE_DIGEST_REPLY 0x02  /* the receiver answers with its own DIGEST
				       (without this bit): WAIT's evidence */

/* Named maxima for decoding. */
#define GROVE_AE_FRAME_BYTES_LIMIT (16u * 1024 * 1024) /* hard cap on any frame */
#define GROVE_AE_ENTRIES_MAX (1u << 20)   /* entries of one frame */
#define GROVE_AE_HDR_BYTES 2              /* version + type */

typedef struct grove_ae_frame {
	uint8_t type;
	uint8_t level;      /* NODES: level of the children (1..GROVE_TREE_LEVELS) */
	uint8_t flags;      /* DIGEST: GROVE_AE_DIGEST_* bits */
	uint32_t count;     /* entries: groups, segments, keys or states */
	uint64_t key_count; /* DIGEST */
	const uint8_t *root;      /* DIGEST: GROVE_DIGEST_BYTES */
	const uint8_t *level1;    /* DIGEST: 16 x GROVE_DIGEST_BYTES, or NULL */
	uint64_t sent;      /* IDLE: frames sent (IDLE/BYE excluded) */
	uint64_t received;  /* IDLE: frames received (IDLE/BYE excluded) */
	uint8_t reason;     /* BYE: 0 = done, else -error code */
	uint64_t units;     /* CREDIT */
	const uint8_t *body; /* entries, validated */
	size_t body_len;
} grove_ae_frame_t;

/* Entry reader over a validated body. */
typedef struct grove_ae_rd {
	const uint8_t *p;
	const uint8_t *end;
} grove_ae_rd_t;

/* Decodes and validates one message of len bytes; limit is the largest
 * acceptable len (<= GROVE_AE_FRAME_BYTES_LIMIT).  Returns 0,
 * GROVE_EDECODE (malformed, truncated, trailing bytes, unknown type),
 * GROVE_EVERSION or GROVE_ETOOBIG; *out is untouched on failure. */
int grove_ae_frame_decode(const uint8_t *buf, size_t len, size_t limit,
			  grove_ae_frame_t *out) GROVE_MUST_CHECK;

void grove_ae_rd_init(grove_ae_rd_t *rd, const grove_ae_frame_t *f);
/* NODES group: parent index at level-1, the mask of its non-empty
 * children (bit i = child i) and their digests in child order, one per set
 * bit (borrowed). */
void grove_ae_rd_group(grove_ae_rd_t *rd, uint32_t *parent, uint16_t *mask,
		       const uint8_t **digests);
/* KEYS segment header; *nkeys key entries (grove_ae_rd_keydig) follow. */
void grove_ae_rd_segment(grove_ae_rd_t *rd, uint32_t *segment, bool *final, uint32_t *nkeys);
void grove_ae_rd_keydig(grove_ae_rd_t *rd, const uint8_t **key, size_t *klen,
			const uint8_t **digest);
/* WANT entry. */
void grove_ae_rd_key(grove_ae_rd_t *rd, const uint8_t **key, size_t *klen);
/* STATES / PUSH entry. */
void grove_ae_rd_state(grove_ae_rd_t *rd, const uint8_t **key, size_t *klen,
		       const uint8_t **state, size_t *slen);

/* --- building (raw bytes: grove_buf_append) --- */
void grove_ae_put_u8(grove_buf_t *b, uint8_t v);
void grove_ae_put_u32(grove_buf_t *b, uint32_t v);
void grove_ae_put_varint(grove_buf_t *b, uint64_t v);
/* Length-prefixed bytes (varint length). */
void grove_ae_put_blob(grove_buf_t *b, const void *p, size_t n);
void grove_ae_patch_u32(grove_buf_t *b, size_t at, uint32_t v);
/* Starts a message: version, type.  For list types also a zero u32 count
 * (and for NODES the level byte first); returns the count's offset. */
size_t grove_ae_put_header(grove_buf_t *b, uint8_t type, uint8_t level);
size_t grove_ae_varint_len(uint64_t v);

#endif
