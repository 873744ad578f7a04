/*
 * buf.c - growable byte buffer and the shared growth policy (see buf.h).
 */
#include "base/buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "grove/alloc.h"

int grove_grow(void **arr, size_t *cap, size_t need, size_t elem_size, size_t min_count,
	       size_t max_count)
{
	GROVE_ASSERT(elem_size > 0);
	if (need <= *cap)
		return 0;
	if (max_count && need > max_count)
		return GROVE_EFULL;
	size_t ncap = *cap <= SIZE_MAX / 2 ? *cap * 2 : SIZE_MAX;
	if (ncap < need)
		ncap = need;
	if (ncap < min_count)
		ncap = min_count;
	if (max_count && ncap > max_count)
		ncap = max_count;
	if (ncap > SIZE_MAX / elem_size)
		return GROVE_ENOMEM;
	void *p = grove_realloc(*arr, ncap * elem_size);
	if (p == NULL)
		return GROVE_ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

void grove_buf_init(grove_buf_t *b, size_t max_bytes)
{
	memset(b, 0, sizeof(*b));
	b->max_bytes = max_bytes;
}

void grove_buf_close(grove_buf_t *b)
{
	grove_free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->failed = false;
}

void grove_buf_reset(grove_buf_t *b)
{
	b->len = 0;
	b->failed = false;
}

bool grove_buf_reserve(grove_buf_t *b, size_t n)
{
	if (b->failed)
		return false;
	if (b->cap - b->len >= n)
		return true;
	if (b->len + n < b->len || grove_grow((void **)&b->data, &b->cap, b->len + n, 1,
					      GROVE_BUF_MIN_BYTES, b->max_bytes) < 0) {
		b->failed = true;
		return false;
	}
	return true;
}

void grove_buf_append(grove_buf_t *b, const void *p, size_t n)
{
	if (n && grove_buf_reserve(b, n)) {
		memcpy(b->data + b->len, p, n);
		b->len += n;
	}
}

void grove_buf_consume(grove_buf_t *b, size_t n)
{
	GROVE_ASSERT(n <= b->len);
	if (n == 0)
		return;
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}

void grove_buf_appendf(grove_buf_t *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		grove_buf_append(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}
