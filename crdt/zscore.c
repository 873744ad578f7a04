/*
 * zscore.c - the score rule of sorted-set members and the codec of their
 * entry values (zscore.h has the rule; doc/value_format.md the format).
 * The baselines, INC entries and the shape of the rule are crdt/basev.c's,
 * shared with counter fields; this file owns the layout of a value (the tag
 * its first byte, a SET's score before its baselines), the double sums and
 * the order-preserving score keys.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "base/num.h"
#include "crdt/basev_int.h"
#include "crdt/zscore.h"

#define SET_AT 9 /* the baseline list after the tag and the score */
#define INC_BYTES (1 + GROVE_BASEV_INC_BYTES) /* tag, chain, cum */

_Static_assert(GROVE_ZENTRY_SET == GROVE_BASEV_SET && GROVE_ZENTRY_INC == GROVE_BASEV_INC,
	       "zscore tags are basev's");
_Static_assert(GROVE_ZBASE_MAX == GROVE_BASEV_MAX, "zscore baselines are basev's");

static double dbl(uint64_t u)
{
	double d;
	memcpy(&d, &u, sizeof(d));
	return d;
}

static double f64(const uint8_t *p)
{
	return dbl(grove_be64_get(p));
}

static uint64_t bits(double d)
{
	uint64_t u;
	memcpy(&u, &d, sizeof(u));
	return u;
}

static bool cum_ok(uint64_t cum)
{
	return !isnan(dbl(cum));
}

/* The tag is a value's first byte; a SET is tag, score, baselines; an
 * INC tag, chain, cum (a double); no NaN anywhere. */
static const grove_basev_rule_t zrule = {
	.tag_in_val = true,
	.inc_at = 1,
	.set_at = SET_AT,
	.entries_max = GROVE_ELEM_ENTRIES_MAX, /* the decoder's bound */
	.set_plain = false,
	.cum_ok = cum_ok,
};

int grove_zentry_check(const uint8_t *p, size_t len, uint64_t counter)
{
	if (!p || len < 1)
		return GROVE_EDECODE;
	if (p[0] == GROVE_ZENTRY_INC)
		return grove_basev__inc_check(&zrule, p, len, counter);
	if (p[0] != GROVE_ZENTRY_SET || len < SET_AT || isnan(f64(p + 1)))
		return GROVE_EDECODE;
	size_t n, used;
	int rc = grove_basev__check(&zrule, p + SET_AT, len - SET_AT, &n, &used);
	return rc ? rc : SET_AT + used == len ? 0 : GROVE_EDECODE;
}

int grove_zscore_eval(const grove_elem_t *x, double *score)
{
	if (x->len == 0)
		return GROVE_ENOTFOUND;
	const grove_entry_t *w = grove_basev__winner(&zrule, x);
	double s = w ? f64(w->val.p + 1) : 0;
	grove_basev_add_t a;
	for (size_t i = 0; grove_basev__add_next(&zrule, x, w, &i, &a);)
		s += a.how == GROVE_BASEV_ADD_DIFF ? dbl(a.cum) - dbl(a.base)
		     : a.how == GROVE_BASEV_ADD_CUM ? dbl(a.cum) : 0;
	*score = isnan(s) ? 0 : s;
	return 0;
}

int grove_zscore_set(const grove_elem_t *cur, const grove_value__dot_t *d, uint64_t ts, double s,
		     grove_elem_t *out)
{
	uint8_t head[SET_AT];
	head[0] = GROVE_ZENTRY_SET;
	grove_be64_put(head + 1, bits(s == 0 ? 0.0 : s));
	return grove_basev__set(&zrule, cur, d, ts, head, NULL, 0, out);
}

int grove_zscore_incr(const grove_elem_t *cur, const grove_value__dot_t *d, uint64_t ts,
		      double delta, grove_elem_t *out)
{
	uint64_t chain = d->counter, had;
	double cum = delta; /* a new chain, or this node's latest continued */
	if (grove_basev__chain(&zrule, cur, d->node, &chain, &had))
		cum = dbl(had) + delta;
	if (isnan(cum))
		return GROVE_EINVAL;
	uint8_t buf[INC_BYTES];
	buf[0] = GROVE_ZENTRY_INC;
	grove_be64_put(buf + 1, chain);
	grove_be64_put(buf + 9, bits(cum));
	return grove_basev__incr(&zrule, cur, d, ts, buf, sizeof(buf), out);
}

/* ---- index keys ---- */

void grove_zscore_key(double s, uint8_t out[8])
{
	if (s == 0)
		s = 0.0; /* -0 as +0 */
	uint64_t u = bits(s);
	u = (u >> 63) ? ~u : u | (1ull << 63);
	grove_be64_put(out, u);
}

double grove_zscore_from_key(const uint8_t in[8])
{
	uint64_t u = grove_be64_get(in);
	u = (u >> 63) ? u & ~(1ull << 63) : ~u;
	return dbl(u);
}
