/*
 * bytes.c - the bytewise order of byte strings (bytes.h).
 */
#include <string.h>

#include "base/bytes.h"

int grove_key_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n ? memcmp(a, b, n) : 0;
	if (c != 0)
		return c;
	return alen < blen ? -1 : (alen > blen ? 1 : 0);
}
