/*
 * listpos.c - position identifiers of list elements: parsing, validation
 * and allocation between two neighbours (listpos.h; format in
 * doc/value_format.md, "Lists").  Pure: no allocation, no clock.
 */
#include <string.h>

#include "base/bytes.h"
#include "base/num.h"
#include "crdt/listpos.h"

typedef struct triple {
	uint64_t digit, counter;
	size_t node_len;
	const uint8_t *raw;
	size_t raw_len;
} triple_t;

static bool triple_filler(const triple_t *t)
{
	return t->digit == 0 && t->node_len == 0 && t->counter == 0;
}

/* One triple at p; 0 when malformed (a filler or a full triple only). */
static size_t triple_parse(const uint8_t *p, size_t len, triple_t *t)
{
	if (len < GROVE_LISTPOS_TRIPLE_MIN)
		return 0;
	size_t i = 8;
	while (i < len && p[i] != 0 && i - 8 <= GROVE_NODE_ID_MAX)
		i++;
	if (i >= len || i - 8 > GROVE_NODE_ID_MAX || len - i - 1 < 8)
		return 0;
	t->digit = grove_be64_get(p);
	t->node_len = i - 8;
	t->counter = grove_be64_get(p + i + 1);
	t->raw = p;
	t->raw_len = i + 9;
	bool full = t->digit >= 1 && t->node_len >= 1 && t->counter >= 1;
	return full || triple_filler(t) ? t->raw_len : 0;
}

/* Parses a whole id; its last triple in *t.  False when p is not a
 * well-formed id. */
static bool id_parse(const uint8_t *p, size_t len, triple_t *t)
{
	if (!p || len == 0 || len > GROVE_LISTPOS_MAX)
		return false;
	for (size_t at = 0; at < len;) { /* at least 17 bytes a step */
		size_t n = triple_parse(p + at, len - at, t);
		if (n == 0)
			return false;
		at += n;
	}
	return !triple_filler(t);
}

bool grove_listpos_valid(const uint8_t *p, size_t len)
{
	triple_t t = { 0 };
	return id_parse(p, len, &t);
}

bool grove_listpos_dot(const uint8_t *p, size_t len, const uint8_t **node, size_t *node_len,
		       uint64_t *counter)
{
	triple_t t = { 0 };
	if (!id_parse(p, len, &t))
		return false;
	*node = t.raw + 8;
	*node_len = t.node_len;
	*counter = t.counter;
	return true;
}

/* The digit of the new triple in [lo_d, hi_d] (see listpos.h). */
static uint64_t pick_digit(uint64_t lo_d, uint64_t hi_d, bool open_lo, bool open_hi, int hint)
{
	if (open_lo && open_hi)
		return GROVE_LISTPOS_MID;
	uint64_t half = (hi_d - lo_d) / 2;
	uint64_t off = half < GROVE_LISTPOS_STEP - 1 ? half : GROVE_LISTPOS_STEP - 1;
	return hint == GROVE_LISTPOS_NEAR_HI ? hi_d - off : lo_d + off;
}

static int append(uint8_t *out, size_t *len, const uint8_t *p, size_t n)
{
	if (*len + n > GROVE_LISTPOS_MAX - GROVE_LISTPOS_TRIPLE_MIN)
		return GROVE_ETOOBIG; /* no room left for the final triple */
	memcpy(out + *len, p, n);
	*len += n;
	return 0;
}

int grove_listpos_between(const uint8_t *lo, size_t lo_len, const uint8_t *hi, size_t hi_len,
			  const char *node, uint64_t counter, int hint, uint8_t *out,
			  size_t *out_len)
{
	size_t node_len = node ? strlen(node) : 0;
	if (node_len < 1 || node_len > GROVE_NODE_ID_MAX || counter == 0 ||
	    (lo && !grove_listpos_valid(lo, lo_len)) || (hi && !grove_listpos_valid(hi, hi_len)) ||
	    (lo && hi && grove_key_cmp(lo, lo_len, hi, hi_len) >= 0))
		return GROVE_EINVAL;
	static const uint8_t filler[GROVE_LISTPOS_TRIPLE_MIN];
	size_t lo_at = 0, hi_at = 0, len = 0;
	bool hi_shares = hi != NULL; /* hi begins with out[0 .. len) */
	for (;;) {
		triple_t a = { 0 }, b = { 0 };
		bool has_a = lo && lo_at < lo_len, has_b = hi_shares && hi_at < hi_len;
		if (hi_shares && !has_b)
			return GROVE_EINVAL; /* hi a prefix of lo: lo > hi */
		if (has_a)
			(void)triple_parse(lo + lo_at, lo_len - lo_at, &a);
		if (has_b)
			(void)triple_parse(hi + hi_at, hi_len - hi_at, &b);
		bool room_lo = !has_a || a.digit < UINT64_MAX, room_hi = !has_b || b.digit > 0;
		uint64_t lo_d = has_a ? a.digit + 1 : 1, hi_d = has_b ? b.digit - 1 : UINT64_MAX;
		if (room_lo && room_hi && lo_d <= hi_d) {
			size_t need = 8 + node_len + 1 + 8;
			if (len + need > GROVE_LISTPOS_MAX)
				return GROVE_ETOOBIG;
			grove_be64_put(out + len, pick_digit(lo_d, hi_d, !has_a, !has_b, hint));
			memcpy(out + len + 8, node, node_len);
			out[len + 8 + node_len] = 0;
			grove_be64_put(out + len + 9 + node_len, counter);
			*out_len = len + need;
			return 0;
		}
		/* no free digit on this level: copy lo's triple (or a filler
		 * when lo has ended) and go one level down */
		const uint8_t *t = has_a ? a.raw : filler;
		size_t tl = has_a ? a.raw_len : sizeof(filler);
		int rc = append(out, &len, t, tl);
		if (rc)
			return rc;
		hi_shares = has_b && b.raw_len == tl && memcmp(b.raw, t, tl) == 0;
		if (has_a)
			lo_at += a.raw_len;
		if (hi_shares)
			hi_at += b.raw_len;
	}
}
