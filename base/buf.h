/*
 * buf.h - the growable byte buffer and the growth policy of every growable
 * array in Grove.
 *
 * grove_grow is the one place that decides how an array grows: the capacity
 * doubles (so n appends cost O(n) copying in total), never drops below what
 * is needed nor below a caller's minimum, and never exceeds a caller's
 * maximum.  Array owners call it instead of writing their own doubling loop.
 *
 * grove_buf_t is a byte buffer built by appending: reply writers (RESP),
 * frame builders (anti-entropy) and queues of outbound frames use it.
 * Appends do not return codes: an allocation failure, or growth beyond the
 * buffer's max_bytes, sets a sticky flag (grove_buf_failed) that the caller
 * checks once per batch of appends; appends after a failure do nothing.
 *
 * Memory: the buffer owns data (grove_malloc); grove_buf_close frees it and
 * is safe on a zeroed or already closed buffer.  Pointers into data are
 * valid until the next append, consume or close.
 */
#ifndef GROVE_BUF_H
#define GROVE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "grove/error.h"

/* Smallest allocation of a grove_buf_t. */
#define GROVE_BUF_MIN_BYTES 256

/* Makes *arr, an array of *cap elements of elem_size bytes (grove_malloc'd,
 * or NULL with *cap 0), hold at least need elements.  The new capacity is
 * twice the old one, raised to need and to min_count, lowered to max_count
 * (0: no maximum).  Returns 0 (also when it already had room),
 * GROVE_EFULL when need > max_count, GROVE_ENOMEM when the allocation fails
 * or the size overflows; *arr and *cap are untouched on failure.
 * O(*cap) when it moves the array. */
int grove_grow(void **arr, size_t *cap, size_t need, size_t elem_size, size_t min_count,
	       size_t max_count) GROVE_MUST_CHECK;

typedef struct grove_buf {
	uint8_t *data; /* bytes [0, len) are the content */
	size_t len, cap;
	size_t max_bytes; /* largest len allowed; 0: unbounded */
	bool failed;      /* sticky: an append did not fit */
} grove_buf_t;

void grove_buf_init(grove_buf_t *b, size_t max_bytes);
void grove_buf_close(grove_buf_t *b);
/* Empties the buffer and clears the failure flag; the memory is kept. */
void grove_buf_reset(grove_buf_t *b);
/* Room for n more bytes at data + len.  false (and the failure flag set)
 * if the buffer has failed, n would pass max_bytes or memory is short. */
bool grove_buf_reserve(grove_buf_t *b, size_t n);
void grove_buf_append(grove_buf_t *b, const void *p, size_t n);
/* Appends printf-formatted text; one call writes at most 511 bytes (cut). */
void grove_buf_appendf(grove_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Drops the first n bytes (sent); O(remaining). */
void grove_buf_consume(grove_buf_t *b, size_t n);
static inline bool grove_buf_failed(const grove_buf_t *b)
{
	return b->failed;
}

#endif
