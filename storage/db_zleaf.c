/*
 * db_zleaf.c - a leaf's entries in memory: the sorted suffixes (score(8)
 * member) of the 'z' records one leaf of the counted index holds, kept by
 * db_zrank.c's boundary cache so that ZRANK finds a member's place in its
 * leaf by a binary search instead of a store walk (doc/storage_format.md
 * "The counted index", "Leaf entries in memory").
 *
 * Layout: buf holds the suffixes back to back in bytewise order, off[i]
 * the start of entry i and off[n] the end.  A leaf holds fewer than
 * GROVE_ZLEAF_ENTRIES_MAX entries (a pass splits it at 64); an insert or
 * removal moves the entries after its place (O(leaf bytes)), in place
 * (the arrays keep room: an insert into a full leaf grows them by half).
 *
 * Also the score hint (grove_zhint_t): members' score bytes by member
 * hash in sets of GROVE_ZHINT_WAYS ways of 16 bytes (one 64-byte line),
 * O(1) per put and get.  Pure: no locks, no store.
 */
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "base/bytes.h"
#include "base/num.h"
#include "storage/db_zleaf_int.h"

void grove_zleaf_free(grove_zleaf_t *l)
{
	if (!l)
		return;
	grove_free(l->buf);
	grove_free(l->off);
	grove_free(l);
}

size_t grove_zleaf_bytes(const grove_zleaf_t *l)
{
	return l ? sizeof(*l) + l->bcap + 4 * (size_t)l->ocap : 0;
}

/* Entry i of l: its bytes and length. */
static const uint8_t *entry(const grove_zleaf_t *l, uint32_t i, size_t *len)
{
	*len = l->off[i + 1] - l->off[i];
	return l->buf + l->off[i];
}

/* e against s, whose first 8 bytes (slen >= 8) are sp as a big-endian
 * integer: entries are a score's 8 bytes, then a member, so the scores
 * decide most comparisons without a call to memcmp. */
static int ent_cmp(const uint8_t *e, size_t el, const uint8_t *s, size_t slen, uint64_t sp)
{
	if (el >= 8 && slen >= 8) {
		uint64_t ep = grove_be64_get(e);
		if (ep != sp)
			return ep < sp ? -1 : 1;
		return grove_key_cmp(e + 8, el - 8, s + 8, slen - 8);
	}
	return grove_key_cmp(e, el, s, slen);
}

uint32_t grove_zleaf_find(const grove_zleaf_t *l, const uint8_t *s, size_t slen, bool *found)
{
	uint32_t lo = 0, hi = l->n; /* entries before lo are < s, from hi >= s */
	uint64_t sp = slen >= 8 ? grove_be64_get(s) : 0;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		size_t el;
		const uint8_t *e = entry(l, mid, &el);
		if (ent_cmp(e, el, s, slen, sp) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	size_t el = 0;
	const uint8_t *e = lo < l->n ? entry(l, lo, &el) : NULL;
	*found = e && grove_key_cmp(e, el, s, slen) == 0;
	return lo;
}

/* A copy of l with n entries and bytes of room (off[] filled by the caller). */
static grove_zleaf_t *alloc_leaf(uint32_t n, size_t bytes)
{
	grove_zleaf_t *x = grove_calloc(1, sizeof(*x));
	if (!x)
		return NULL;
	x->off = grove_malloc(4 * ((size_t)n + 1));
	x->buf = grove_malloc(bytes ? bytes : 1);
	if (!x->off || !x->buf) {
		grove_zleaf_free(x);
		return NULL;
	}
	x->n = n;
	x->bcap = (uint32_t)(bytes ? bytes : 1);
	x->ocap = n + 1;
	return x;
}

int grove_zleaf_build(const uint8_t *const *ents, const size_t *lens, uint32_t n,
		      grove_zleaf_t **out)
{
	*out = NULL;
	if (n >= GROVE_ZLEAF_ENTRIES_MAX)
		return GROVE_ETOOBIG;
	size_t bytes = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (i && grove_key_cmp(ents[i - 1], lens[i - 1], ents[i], lens[i]) >= 0)
			return GROVE_EINVAL; /* not in order: the caller's walk is wrong */
		bytes += lens[i];
	}
	grove_zleaf_t *x = alloc_leaf(n, bytes);
	if (!x)
		return GROVE_ENOMEM;
	uint32_t at = 0;
	for (uint32_t i = 0; i < n; i++) {
		x->off[i] = at;
		if (lens[i])
			memcpy(x->buf + at, ents[i], lens[i]);
		at += (uint32_t)lens[i];
	}
	x->off[n] = at;
	*out = x;
	return 0;
}

/* Room in l for one more entry of slen bytes: its arrays grown by half
 * when full (on error l is as it was). */
static int zleaf_room(grove_zleaf_t *l, size_t slen)
{
	size_t used = l->off[l->n], need_b = used + slen, need_o = (size_t)l->n + 2;
	if (need_o > l->ocap) {
		size_t cap = need_o + need_o / 2;
		uint32_t *o = grove_realloc(l->off, 4 * cap);
		if (!o)
			return GROVE_ENOMEM;
		l->off = o;
		l->ocap = (uint32_t)cap;
	}
	if (need_b > l->bcap) {
		size_t cap = need_b + need_b / 2;
		uint8_t *b = grove_realloc(l->buf, cap);
		if (!b)
			return GROVE_ENOMEM;
		l->buf = b;
		l->bcap = (uint32_t)cap;
	}
	return 0;
}

/* Entry at of l replaced: removed (s NULL) or s inserted before it, in
 * place (zleaf_room made the room). */
static void splice(grove_zleaf_t *l, uint32_t at, const uint8_t *s, size_t slen)
{
	uint32_t head = l->off[at], end = l->off[l->n];
	if (s) {
		memmove(l->buf + head + slen, l->buf + head, end - head);
		if (slen)
			memcpy(l->buf + head, s, slen);
		for (uint32_t i = l->n + 1; i > at; i--)
			l->off[i] = l->off[i - 1] + (uint32_t)slen;
		l->off[at] = head;
		l->n++;
		return;
	}
	uint32_t del = l->off[at + 1] - head;
	memmove(l->buf + head, l->buf + head + del, end - head - del);
	for (uint32_t i = at; i < l->n; i++)
		l->off[i] = l->off[i + 1] - del;
	l->n--;
}

int grove_zleaf_insert(grove_zleaf_t **lp, const uint8_t *s, size_t slen)
{
	bool found;
	uint32_t at = grove_zleaf_find(*lp, s, slen, &found);
	if (found)
		return GROVE_EEXISTS;
	if ((*lp)->n + 1 >= GROVE_ZLEAF_ENTRIES_MAX)
		return GROVE_ETOOBIG;
	int rc = zleaf_room(*lp, slen);
	if (rc == 0)
		splice(*lp, at, s, slen);
	return rc;
}

int grove_zleaf_remove(grove_zleaf_t **lp, const uint8_t *s, size_t slen)
{
	bool found;
	uint32_t at = grove_zleaf_find(*lp, s, slen, &found);
	if (!found)
		return GROVE_ENOTFOUND;
	splice(*lp, at, NULL, 0);
	return 0;
}

int grove_zleaf_slice(const grove_zleaf_t *l, uint32_t from, uint32_t to, grove_zleaf_t **out)
{
	*out = NULL;
	if (from > to || to > l->n)
		return GROVE_EINVAL;
	grove_zleaf_t *x = alloc_leaf(to - from, l->off[to] - l->off[from]);
	if (!x)
		return GROVE_ENOMEM;
	memcpy(x->buf, l->buf + l->off[from], l->off[to] - l->off[from]);
	for (uint32_t i = from; i <= to; i++)
		x->off[i - from] = l->off[i] - l->off[from];
	*out = x;
	return 0;
}

/* ---- the score hint ---- */

void grove_zhint_free(grove_zhint_t *h)
{
	grove_free(h->slot);
	memset(h, 0, sizeof(*h));
}

size_t grove_zhint_bytes(const grove_zhint_t *h)
{
	return h->sets * GROVE_ZHINT_WAYS * 16;
}

int grove_zhint_resize(grove_zhint_t *h, size_t sets)
{
	GROVE_ASSERT(sets && (sets & (sets - 1)) == 0);
	uint64_t *s = grove_calloc(sets * GROVE_ZHINT_WAYS * 2, sizeof(*s));
	if (!s)
		return GROVE_ENOMEM;
	grove_free(h->slot);
	h->slot = s;
	h->sets = sets;
	h->puts = 0;
	return 0;
}

static uint64_t score_u64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

void grove_zhint_put(grove_zhint_t *h, uint64_t mh, const uint8_t *score)
{
	if (!h->sets)
		return;
	mh |= 1;
	uint64_t *set = h->slot + (mh >> 1 & (h->sets - 1)) * GROVE_ZHINT_WAYS * 2;
	unsigned way = GROVE_ZHINT_WAYS;
	for (unsigned w = 0; w < GROVE_ZHINT_WAYS && way == GROVE_ZHINT_WAYS; w++)
		if (set[2 * w] == mh)
			way = w;
	for (unsigned w = 0; w < GROVE_ZHINT_WAYS && way == GROVE_ZHINT_WAYS; w++)
		if (set[2 * w] == 0)
			way = w;
	if (way == GROVE_ZHINT_WAYS)
		way = (unsigned)(mh >> 58) % GROVE_ZHINT_WAYS;
	set[2 * way] = mh;
	set[2 * way + 1] = score_u64(score);
	h->puts++;
}

bool grove_zhint_get(const grove_zhint_t *h, uint64_t mh, uint8_t *score)
{
	if (!h->sets)
		return false;
	mh |= 1;
	const uint64_t *set = h->slot + (mh >> 1 & (h->sets - 1)) * GROVE_ZHINT_WAYS * 2;
	for (unsigned w = 0; w < GROVE_ZHINT_WAYS; w++)
		if (set[2 * w] == mh) {
			memcpy(score, &set[2 * w + 1], 8);
			return true;
		}
	return false;
}
