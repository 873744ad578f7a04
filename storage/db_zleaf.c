/*
 * db_zleaf.c - a leaf's entries in memory: the sorted suffixes (score(8)
 * member) of the 'z' records one leaf of the counted index holds, kept by
 * db_zrank.c's boundary cache so that ZRANK finds a member's place in its
 * leaf by a search in memory instead of a store walk (doc/storage_format.md
 * "The counted index", "Leaf entries in memory").
 *
 * Layout: buf holds the suffixes back to back in bytewise order, off[i]
 * the start of entry i and off[n] the end; pre[i] entry i's first 8 bytes
 * as a big-endian integer.  pre and off sit in one block right after the
 * header, so a search reads a few adjacent lines: it counts the prefixes
 * below the sought one in one pass (a leaf of up to 64 entries: 512
 * bytes, loads that do not wait for each other, where a binary search
 * of the entries waited for one line per step, at 10^6 members mostly
 * cache misses) and compares whole entries only where a prefix is equal.
 * A leaf holds fewer than GROVE_ZLEAF_ENTRIES_MAX entries (a pass splits
 * it at 64); an insert or removal moves the entries after its place
 * (O(leaf bytes)), in place (the arrays keep room: an insert into a full
 * leaf grows them by half, which may move the block).
 *
 * Also the score hint (grove_zhint_t): members' score bytes and leaf
 * locators by member hash in sets of GROVE_ZHINT_WAYS ways of 16 bytes
 * (one 64-byte line), O(1) per put and get.  Pure: no locks, no store.
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
	grove_free(l);
}

/* Bytes of a leaf's block (header, pre, off) with room for ocap entries. */
static size_t block_bytes(size_t ocap)
{
	return sizeof(grove_zleaf_t) + ocap * (sizeof(uint64_t) + sizeof(uint32_t));
}

size_t grove_zleaf_bytes(const grove_zleaf_t *l)
{
	return l ? block_bytes(l->ocap) + l->bcap : 0;
}

/* l's pre and off pointers set for a block of room for ocap entries. */
static void block_point(grove_zleaf_t *l, uint32_t ocap)
{
	l->pre = (uint64_t *)(void *)(l + 1);
	l->off = (uint32_t *)(void *)(l->pre + ocap);
	l->ocap = ocap;
}

uint64_t grove_zleaf_pre(const uint8_t *s, size_t slen)
{
	if (slen >= 8)
		return grove_be64_get(s);
	uint64_t v = 0;
	for (size_t i = 0; i < 8; i++)
		v = v << 8 | (i < slen ? s[i] : 0);
	return v;
}

void grove_zleaf_prefetch(const grove_zleaf_t *l)
{
	/* the header and the first prefixes, the rest of a usual leaf's
	 * (up to 64 entries: 512 bytes), then the offsets' first line */
	const char *p = (const char *)l;
	size_t n = l->n < 64 ? l->n : 64;
	for (size_t at = 0; at < sizeof(*l) + 8 * n; at += 64)
		__builtin_prefetch(p + at);
	__builtin_prefetch(l->off);
}

/* Entry i of l: its bytes and length. */
static const uint8_t *entry(const grove_zleaf_t *l, uint32_t i, size_t *len)
{
	*len = l->off[i + 1] - l->off[i];
	return l->buf + l->off[i];
}

/* Leaves up to this many entries count their prefixes below s's in one
 * pass over them all; longer ones binary-search them. */
#define ZLEAF_SCAN_MAX 128u

uint32_t grove_zleaf_find(const grove_zleaf_t *l, const uint8_t *s, size_t slen, bool *found)
{
	uint64_t sp = grove_zleaf_pre(s, slen);
	uint32_t lo = 0;
	if (l->n <= ZLEAF_SCAN_MAX) {
		/* no branch on the data: the prefixes' loads all go at once */
		for (uint32_t i = 0; i < l->n; i++)
			lo += l->pre[i] < sp;
	} else {
		uint32_t hi = l->n; /* prefixes before lo are < sp, from hi >= sp */
		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;
			if (l->pre[mid] < sp)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	/* the entries of s's prefix, whole (a score's members: usually one) */
	int c = 1;
	for (; lo < l->n && l->pre[lo] == sp; lo++) {
		size_t el;
		const uint8_t *e = entry(l, lo, &el);
		c = grove_key_cmp(e, el, s, slen);
		if (c >= 0)
			break;
	}
	*found = c == 0;
	return lo;
}

/* A leaf with n entries and bytes of room (pre[] and off[] filled by the
 * caller). */
static grove_zleaf_t *alloc_leaf(uint32_t n, size_t bytes)
{
	grove_zleaf_t *x = grove_malloc(block_bytes((size_t)n + 1));
	if (!x)
		return NULL;
	memset(x, 0, sizeof(*x));
	block_point(x, n + 1);
	x->buf = grove_malloc(bytes ? bytes : 1);
	if (!x->buf) {
		grove_zleaf_free(x);
		return NULL;
	}
	x->n = n;
	x->bcap = (uint32_t)(bytes ? bytes : 1);
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
		x->pre[i] = grove_zleaf_pre(ents[i], lens[i]);
		if (lens[i])
			memcpy(x->buf + at, ents[i], lens[i]);
		at += (uint32_t)lens[i];
	}
	x->off[n] = at;
	*out = x;
	return 0;
}

/* Room in *lp for one more entry of slen bytes: its arrays grown by half
 * when full (the block may move: *lp follows; on error *lp holds the same
 * entries). */
static int zleaf_room(grove_zleaf_t **lp, size_t slen)
{
	grove_zleaf_t *l = *lp;
	size_t used = l->off[l->n], need_b = used + slen, need_o = (size_t)l->n + 2;
	if (need_b > l->bcap) {
		size_t cap = need_b + need_b / 2;
		uint8_t *b = grove_realloc(l->buf, cap);
		if (!b)
			return GROVE_ENOMEM;
		l->buf = b;
		l->bcap = (uint32_t)cap;
	}
	if (need_o > l->ocap) {
		size_t cap = need_o + need_o / 2;
		uint32_t was = l->ocap;
		grove_zleaf_t *x = grove_realloc(l, block_bytes(cap));
		if (!x)
			return GROVE_ENOMEM;
		/* pre stays where it is; off moves up past pre's new room */
		uint32_t *old_off = (uint32_t *)(void *)((uint64_t *)(void *)(x + 1) + was);
		block_point(x, (uint32_t)cap);
		memmove(x->off, old_off, 4 * ((size_t)x->n + 1));
		*lp = x;
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
		memmove(l->pre + at + 1, l->pre + at, 8 * (size_t)(l->n - at));
		l->pre[at] = grove_zleaf_pre(s, slen);
		l->off[at] = head;
		l->n++;
		return;
	}
	uint32_t del = l->off[at + 1] - head;
	memmove(l->buf + head, l->buf + head + del, end - head - del);
	for (uint32_t i = at; i < l->n; i++)
		l->off[i] = l->off[i + 1] - del;
	memmove(l->pre + at, l->pre + at + 1, 8 * (size_t)(l->n - at - 1));
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
	int rc = zleaf_room(lp, slen);
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
	if (to > from)
		memcpy(x->pre, l->pre + from, 8 * (size_t)(to - from));
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

/* mh's set in h, and its tag (never 0). */
static uint64_t *hint_set(const grove_zhint_t *h, uint64_t mh, uint32_t *tag)
{
	*tag = (uint32_t)(mh >> 32) | 1;
	return h->slot + (mh >> 1 & (h->sets - 1)) * GROVE_ZHINT_WAYS * 2;
}

static uint32_t way_tag(uint64_t w)
{
	return (uint32_t)(w >> 32);
}

void grove_zhint_put(grove_zhint_t *h, uint64_t mh, const uint8_t *score, uint32_t loc)
{
	if (!h->sets)
		return;
	uint32_t tag;
	uint64_t *set = hint_set(h, mh, &tag), sc = score_u64(score);
	unsigned way = GROVE_ZHINT_WAYS;
	for (unsigned w = 0; w < GROVE_ZHINT_WAYS && way == GROVE_ZHINT_WAYS; w++)
		if (way_tag(set[2 * w]) == tag)
			way = w;
	if (way < GROVE_ZHINT_WAYS && loc == GROVE_ZHINT_NOLOC && set[2 * way + 1] == sc)
		loc = (uint32_t)set[2 * way]; /* the same score: its leaf stays known */
	for (unsigned w = 0; w < GROVE_ZHINT_WAYS && way == GROVE_ZHINT_WAYS; w++)
		if (set[2 * w] == 0)
			way = w;
	if (way == GROVE_ZHINT_WAYS)
		way = (unsigned)(mh >> 58) % GROVE_ZHINT_WAYS;
	set[2 * way] = (uint64_t)tag << 32 | loc;
	set[2 * way + 1] = sc;
	h->puts++;
}

bool grove_zhint_get(const grove_zhint_t *h, uint64_t mh, uint8_t *score, uint32_t *loc)
{
	if (!h->sets)
		return false;
	uint32_t tag;
	const uint64_t *set = hint_set(h, mh, &tag);
	for (unsigned w = 0; w < GROVE_ZHINT_WAYS; w++)
		if (way_tag(set[2 * w]) == tag) {
			memcpy(score, &set[2 * w + 1], 8);
			*loc = (uint32_t)set[2 * w];
			return true;
		}
	return false;
}

void grove_zhint_locate(grove_zhint_t *h, uint64_t mh, uint32_t loc)
{
	if (!h->sets)
		return;
	uint32_t tag;
	uint64_t *set = hint_set(h, mh, &tag);
	for (unsigned w = 0; w < GROVE_ZHINT_WAYS; w++)
		if (way_tag(set[2 * w]) == tag)
			set[2 * w] = (uint64_t)tag << 32 | loc;
}

void grove_zhint_prefetch(const grove_zhint_t *h, uint64_t mh)
{
	uint32_t tag;
	if (h->sets)
		__builtin_prefetch(hint_set(h, mh, &tag));
}
