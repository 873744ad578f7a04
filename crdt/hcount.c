/*
 * hcount.c - counter fields of hashes: the read rule, the HSET and HINCRBY
 * writes and the codec of the tagged entry payloads (hcount.h has the
 * rule; doc/value_format.md, "Counter fields", the format).  The rule is
 * the sorted-set score's on int64 sums with a 128-bit total: the baselines,
 * INC entries and the shape of the rule are crdt/basev.c's; this file owns
 * the layout of a payload (the tag the entry's, a SET's value after its
 * baselines), plain entries, the int64 sums and the decimal reading.
 */
#include <string.h>

#include "base/num.h"
#include "crdt/basev_int.h"
#include "crdt/hcount.h"

_Static_assert(GROVE_HENTRY_SET == GROVE_BASEV_SET && GROVE_HENTRY_INC == GROVE_BASEV_INC,
	       "hcount tags are basev's");
_Static_assert(GROVE_HBASE_MAX == GROVE_BASEV_MAX, "hcount baselines are basev's");

/* The tag is the entry's; a SET payload is the baselines then the value,
 * an INC payload chain, cum (an int64). */
static const grove_basev_rule_t hrule = {
	.tag_in_val = false,
	.inc_at = 0,
	.set_at = 0,
	.entries_max = GROVE_ELEM_ENTRIES_MAX, /* the decoder's bound */
	.set_plain = true,
	.cum_ok = NULL,
};

int grove_hentry_check(uint8_t tag, const uint8_t *p, size_t len, uint64_t counter)
{
	if (tag == GROVE_HENTRY_INC)
		return grove_basev__inc_check(&hrule, p, len, counter);
	if (tag != GROVE_HENTRY_SET)
		return GROVE_EDECODE;
	size_t n, used;
	int rc = grove_basev__check(&hrule, p, len, &n, &used);
	if (rc == 0 && n < 1) /* no baseline: a plain entry */
		rc = GROVE_EDECODE;
	return rc ? rc : len - used > GROVE_ELEM_VALUE_MAX ? GROVE_EDECODE : 0;
}

/* ---- the read rule ---- */

static void entry_value(const grove_entry_t *e, const uint8_t **p, size_t *len)
{
	if (e->tag == GROVE_HENTRY_SET) {
		*p = grove_basev__set_tail(&hrule, e, len);
	} else {
		*p = e->val.p;
		*len = e->val.len;
	}
}

bool grove_hfield_has_counter(const grove_elem_t *x)
{
	for (size_t i = 0; i < x->len; i++)
		if (x->e[i].tag != GROVE_HENTRY_PLAIN)
			return true;
	return false;
}

static size_t i128_text(__int128 v, char *buf)
{
	char tmp[GROVE_HFIELD_DIGITS];
	size_t n = 0, o = 0;
	unsigned __int128 u = v < 0 ? (unsigned __int128)0 - (unsigned __int128)v
				    : (unsigned __int128)v;
	do {
		tmp[n++] = (char)('0' + (int)(u % 10));
		u /= 10;
	} while (u);
	if (v < 0)
		buf[o++] = '-';
	while (n)
		buf[o++] = tmp[--n];
	buf[o] = '\0';
	return o;
}

int grove_hfield_eval(const grove_elem_t *x, grove_hfield_val_t *out)
{
	memset(out, 0, sizeof(*out));
	if (x->len == 0)
		return GROVE_ENOTFOUND;
	const grove_entry_t *w = grove_basev__winner(&hrule, x);
	bool inc = false;
	for (size_t i = 0; i < x->len && !inc; i++)
		inc = x->e[i].tag == GROVE_HENTRY_INC;
	int64_t base = 0;
	if (w)
		entry_value(w, &out->p, &out->len);
	if (!inc || (w && !grove_parse_i64(out->p, out->len, &base)))
		return 0; /* an LWW field, or a non-integer HSET hiding increments */
	__int128 s = base;
	grove_basev_add_t a;
	for (size_t i = 0; grove_basev__add_next(&hrule, x, w, &i, &a);)
		s += a.how == GROVE_BASEV_ADD_DIFF ? (__int128)(int64_t)a.cum - (int64_t)a.base
		     : a.how == GROVE_BASEV_ADD_CUM ? (int64_t)a.cum : 0;
	out->counter = true;
	out->fits = s >= INT64_MIN && s <= INT64_MAX;
	out->i64 = out->fits ? (int64_t)s : 0;
	out->len = i128_text(s, out->digits);
	out->p = (const uint8_t *)out->digits;
	return 0;
}

/* ---- writes ---- */

int grove_hfield_set(const grove_elem_t *cur, const grove_value__dot_t *d, uint64_t ts,
		     const void *val, size_t vlen, grove_elem_t *out)
{
	return grove_basev__set(&hrule, cur, d, ts, NULL, val, vlen, out);
}

int grove_hfield_incr(const grove_elem_t *cur, const grove_value__dot_t *d, uint64_t ts,
		      int64_t delta, grove_elem_t *out)
{
	uint64_t chain = d->counter, raw;
	int64_t cum = delta; /* a new chain, or this node's latest continued */
	if (grove_basev__chain(&hrule, cur, d->node, &chain, &raw)) {
		int64_t had = (int64_t)raw;
		if ((delta > 0 && had > INT64_MAX - delta) || (delta < 0 && had < INT64_MIN - delta))
			return GROVE_EOVERFLOW;
		cum = had + delta;
	}
	uint8_t buf[GROVE_BASEV_INC_BYTES];
	grove_be64_put(buf, chain);
	grove_be64_put(buf + 8, (uint64_t)cum);
	return grove_basev__incr(&hrule, cur, d, ts, buf, sizeof(buf), out);
}

void grove_hfield_trim(grove_elem_t *x)
{
	const grove_entry_t *w =
		grove_hfield_has_counter(x) ? grove_basev__winner(&hrule, x) : grove_elem_winner(x);
	size_t o = 0;
	for (size_t i = 0; i < x->len; i++) {
		if (&x->e[i] == w || x->e[i].tag == GROVE_HENTRY_INC)
			x->e[o++] = x->e[i];
		else
			grove_value__blob_free(&x->e[i].val);
	}
	x->len = o;
}
