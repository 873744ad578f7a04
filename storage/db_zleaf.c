/*
 * db_zleaf.c - a leaf's entries in memory: the sorted suffixes (score(8)
 * member) of the 'z' records one leaf of the counted index holds, kept by
 * db_zrank.c's boundary cache so that ZRANK finds a member's place in its
 * leaf by a search in memory instead of a store walk (doc/storage_format.md
 * "The counted index", "Leaf entries in memory").
 *
 * Layout: buf holds the suffixes back to back in bytewise order, off[i]
 * the start of entry i and off[n] the end; pre[i] entry i's first 8 bytes
 * as a big-endian integer, mtag[i] a 16-bit tag of its member (the bytes
 * after the score).  mtag, off and pre sit in one block right after the
 * header (in that order: a search by member reads the tags and offsets,
 * the lines nearest the header).  A search by suffix (grove_zleaf_find) counts the prefixes
 * below the sought one in one pass (a leaf of up to 64 entries: 512
 * bytes, loads that do not wait for each other, where a binary search
 * of the entries waited for one line per step, at 10^6 members mostly
 * cache misses) and compares whole entries only where a prefix is equal;
 * a search by member (grove_zleaf_find_member: ZRANK, which knows the
 * member's leaf from the hint but not its score) reads the tags (128
 * bytes for 64 entries) and compares the entries whose tag matches.
 * A leaf holds fewer than GROVE_ZLEAF_ENTRIES_MAX entries (a pass splits
 * it at 64); an insert or removal moves the entries after its place
 * (O(leaf bytes)), in place (the arrays keep room: an insert into a full
 * leaf grows them by an eighth, which may move the block).
 *
 * Also the hint (grove_zhint_t): members' leaf locators by member hash
 * in sets of GROVE_ZHINT_WAYS ways of 8 bytes (one 64-byte line), O(1)
 * per put and get.  Pure: no locks, no store.
 */
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

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

/* A leaf's block with room for ocap entries: the header, then mtag, off
 * and pre (in that order: what a search by member reads first sits next
 * to the header), each aligned for its type; *off_at and *pre_at their
 * byte offsets.  Returns its bytes. */
static size_t block_layout(size_t ocap, size_t *off_at, size_t *pre_at)
{
	size_t mtag_at = sizeof(grove_zleaf_t);
	*off_at = (mtag_at + 2 * ocap + 3) & ~(size_t)3;
	*pre_at = (*off_at + 4 * ocap + 7) & ~(size_t)7;
	return *pre_at + 8 * ocap;
}

static size_t block_bytes(size_t ocap)
{
	size_t o, p;
	return block_layout(ocap, &o, &p);
}

size_t grove_zleaf_bytes(const grove_zleaf_t *l)
{
	return l ? block_bytes(l->ocap) + l->bcap : 0;
}

/* l's mtag, off and pre pointers set for a block of room for ocap
 * entries. */
static void block_point(grove_zleaf_t *l, uint32_t ocap)
{
	size_t off_at, pre_at;
	block_layout(ocap, &off_at, &pre_at);
	l->mtag = (uint16_t *)(void *)(l + 1);
	l->off = (uint32_t *)(void *)((char *)l + off_at);
	l->pre = (uint64_t *)(void *)((char *)l + pre_at);
	l->ocap = ocap;
}

uint16_t grove_zleaf_mtag(const uint8_t *m, size_t mlen)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < mlen; i++)
		h = (h ^ m[i]) * 16777619u;
	return (uint16_t)(h ^ h >> 16);
}

/* The tag of entry s (slen bytes): of its member, the bytes after its
 * score's 8 (none when shorter). */
static uint16_t ent_mtag(const uint8_t *s, size_t slen)
{
	return slen > 8 ? grove_zleaf_mtag(s + 8, slen - 8) : grove_zleaf_mtag(NULL, 0);
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

/* Brings bytes [p, p + len) toward the CPU, a line at a time. */
static void prefetch_span(const void *p, size_t len)
{
	uintptr_t at = (uintptr_t)p & ~(uintptr_t)63, end = (uintptr_t)p + len;
	for (; at < end; at += 64)
		__builtin_prefetch((const void *)at);
}

void grove_zleaf_prefetch(const grove_zleaf_t *l)
{
	/* the header, the tags and the offsets of a leaf of up to 64
	 * entries, without reading the header (it is not here yet) */
	size_t off_at, pre_at;
	block_layout(65, &off_at, &pre_at);
	prefetch_span(l, pre_at);
}

/* Leaves grow by an eighth from a split's 32 entries: up to 72 before
 * the next split at 64 usually. */
#define ZLEAF_PREFETCH_OCAP 72u

void grove_zleaf_prefetch_all(const grove_zleaf_t *l)
{
	/* the block of up to ZLEAF_PREFETCH_OCAP entries at once, without
	 * waiting for the header; then the entries (which waits for it) */
	prefetch_span(l, block_bytes(ZLEAF_PREFETCH_OCAP));
	prefetch_span(l->buf, l->bcap);
}

/* Entry i of l: its bytes and length. */
static const uint8_t *entry(const grove_zleaf_t *l, uint32_t i, size_t *len)
{
	*len = l->off[i + 1] - l->off[i];
	return l->buf + l->off[i];
}

uint32_t grove_zleaf_find_member(const grove_zleaf_t *l, const uint8_t *m, size_t mlen,
				 bool *found)
{
	uint16_t t = grove_zleaf_mtag(m, mlen);
	*found = false;
	for (uint32_t i = 0; i < l->n; i++) {
		if (l->mtag[i] != t)
			continue;
		size_t el;
		const uint8_t *e = entry(l, i, &el);
		if (el >= 8 && el - 8 == mlen && (mlen == 0 || memcmp(e + 8, m, mlen) == 0)) {
			*found = true;
			return i;
		}
	}
	return l->n;
}

/* Up to this many prefixes are counted in one pass over them all; more
 * are binary-searched.  (A super's leaves at 10^6 members: about 180,
 * 23 lines, whose loads do not wait for each other where a binary search
 * waits for one after the other.) */
#define ZPRE_SCAN_MAX 512u

size_t grove_zpre_below(const uint64_t *pre, size_t n, uint64_t sp)
{
	size_t lo = 0;
	if (n <= ZPRE_SCAN_MAX) {
		/* no branch on the data: the prefixes' loads all go at once */
		for (size_t i = 0; i < n; i++)
			lo += pre[i] < sp;
		return lo;
	}
	size_t hi = n; /* prefixes before lo are < sp, from hi >= sp */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (pre[mid] < sp)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t grove_zpre_groups(size_t n)
{
	return (n + GROVE_ZPRE_GROUP - 1) / GROVE_ZPRE_GROUP;
}

void grove_zpre_summarize(const uint64_t *pre, size_t n, uint64_t *sum)
{
	for (size_t j = 0; j < grove_zpre_groups(n); j++)
		sum[j] = pre[j * GROVE_ZPRE_GROUP];
}

size_t grove_zpre_below_grouped(const uint64_t *pre, size_t n, const uint64_t *sum, uint64_t sp)
{
	/* g groups open below sp: all before the last of them are below it
	 * (each is at most the next one's first), and the group after it
	 * is not (sorted) */
	size_t g = grove_zpre_below(sum, grove_zpre_groups(n), sp);
	if (g == 0)
		return 0;
	size_t from = (g - 1) * GROVE_ZPRE_GROUP;
	size_t len = n - from < GROVE_ZPRE_GROUP ? n - from : GROVE_ZPRE_GROUP;
	return from + grove_zpre_below(pre + from, len, sp);
}

uint32_t grove_zleaf_find(const grove_zleaf_t *l, const uint8_t *s, size_t slen, bool *found)
{
	uint64_t sp = grove_zleaf_pre(s, slen);
	uint32_t lo = (uint32_t)grove_zpre_below(l->pre, l->n, sp);
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
		x->mtag[i] = ent_mtag(ents[i], lens[i]);
		if (lens[i])
			memcpy(x->buf + at, ents[i], lens[i]);
		at += (uint32_t)lens[i];
	}
	x->off[n] = at;
	*out = x;
	return 0;
}

/* Room in *lp for one more entry of slen bytes: its arrays grown by an
 * eighth and a little when full (the block may move: *lp follows; on
 * error *lp holds the same entries).  An eighth, not a half: the leaves
 * of a set filled with its cache hold every entry of the set, and room
 * grown by half left a third of their bytes unused (10^6 members took
 * 50 MB of the cache's 64 MiB, and its hint could not grow); a leaf of
 * 64 entries grows about every 8 inserts. */
static int zleaf_room(grove_zleaf_t **lp, size_t slen)
{
	grove_zleaf_t *l = *lp;
	size_t used = l->off[l->n], need_b = used + slen, need_o = (size_t)l->n + 2;
	if (need_b > l->bcap) {
		size_t cap = need_b + need_b / 8 + 2 * slen;
		uint8_t *b = grove_realloc(l->buf, cap);
		if (!b)
			return GROVE_ENOMEM;
		l->buf = b;
		l->bcap = (uint32_t)cap;
	}
	if (need_o > l->ocap) {
		size_t cap = need_o + need_o / 8 + 2;
		uint32_t was = l->ocap;
		grove_zleaf_t *x = grove_realloc(l, block_bytes(cap));
		if (!x)
			return GROVE_ENOMEM;
		/* mtag stays where it is; pre, then off, move up past mtag's
		 * and off's new room (neither lands on what is still to move) */
		size_t off_was, pre_was;
		block_layout(was, &off_was, &pre_was);
		block_point(x, (uint32_t)cap);
		memmove(x->pre, (char *)x + pre_was, 8 * (size_t)x->n);
		memmove(x->off, (char *)x + off_was, 4 * ((size_t)x->n + 1));
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
		memmove(l->mtag + at + 1, l->mtag + at, 2 * (size_t)(l->n - at));
		l->mtag[at] = ent_mtag(s, slen);
		l->off[at] = head;
		l->n++;
		return;
	}
	uint32_t del = l->off[at + 1] - head;
	memmove(l->buf + head, l->buf + head + del, end - head - del);
	for (uint32_t i = at; i < l->n; i++)
		l->off[i] = l->off[i + 1] - del;
	memmove(l->pre + at, l->pre + at + 1, 8 * (size_t)(l->n - at - 1));
	memmove(l->mtag + at, l->mtag + at + 1, 2 * (size_t)(l->n - at - 1));
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
	if (to > from) {
		memcpy(x->pre, l->pre + from, 8 * (size_t)(to - from));
		memcpy(x->mtag, l->mtag + from, 2 * (size_t)(to - from));
	}
	*out = x;
	return 0;
}

/* ---- the hint: members to their leaves ---- */

void grove_zhint_free(grove_zhint_t *h)
{
	grove_free(h->mem);
	memset(h, 0, sizeof(*h));
}

size_t grove_zhint_bytes(const grove_zhint_t *h)
{
	return h->sets * GROVE_ZHINT_WAYS * sizeof(uint64_t);
}

int grove_zhint_resize(grove_zhint_t *h, size_t sets)
{
	GROVE_ASSERT(sets && (sets & (sets - 1)) == 0);
	size_t bytes = sets * GROVE_ZHINT_WAYS * sizeof(uint64_t);
	bool huge = bytes >= GROVE_HUGE_PAGE_BYTES;
	void *mem = NULL;
	uint64_t *s = huge ? grove_alloc_huge_aligned(bytes, false, &mem) : grove_malloc(bytes);
	if (!s)
		return GROVE_ENOMEM;
	if (huge)
		(void)madvise(s, bytes, MADV_HUGEPAGE); /* before the first touch below */
	else
		mem = s;
	memset(s, 0, bytes);
	grove_free(h->mem);
	h->mem = mem;
	h->slot = s;
	h->sets = sets;
	h->puts = 0;
	return 0;
}

/* mh's first set in h, and its tag (never 0). */
static uint64_t *hint_set(const grove_zhint_t *h, uint64_t mh, uint32_t *tag)
{
	*tag = (uint32_t)(mh >> 32) | 1;
	return h->slot + (mh >> 1 & (h->sets - 1)) * GROVE_ZHINT_WAYS;
}

/* mh's second set in h: from bits 19-36 and 45-62 of mh, none of which
 * picks the first set (bits 1-18 at most: ZR_HINT_SETS_MAX is 2^18); the
 * first again for some members (and for all when h has one set). */
static uint64_t *hint_set2(const grove_zhint_t *h, uint64_t mh)
{
	return h->slot + ((mh >> 19 ^ mh >> 45) & (h->sets - 1)) * GROVE_ZHINT_WAYS;
}

static uint32_t way_tag(uint64_t w)
{
	return (uint32_t)(w >> 32);
}

/* The way of set holding tag, or GROVE_ZHINT_WAYS. */
static unsigned way_find(const uint64_t *set, uint32_t tag)
{
	for (unsigned w = 0; w < GROVE_ZHINT_WAYS; w++)
		if (way_tag(set[w]) == tag)
			return w;
	return GROVE_ZHINT_WAYS;
}

/* The ways of set taken. */
static unsigned ways_taken(const uint64_t *set)
{
	unsigned n = 0;
	for (unsigned w = 0; w < GROVE_ZHINT_WAYS; w++)
		n += set[w] != 0;
	return n;
}

void grove_zhint_put(grove_zhint_t *h, uint64_t mh, uint32_t loc)
{
	if (!h->sets || loc == GROVE_ZHINT_NOLOC)
		return;
	uint32_t tag;
	uint64_t *set = hint_set(h, mh, &tag), *set2 = hint_set2(h, mh);
	unsigned way = way_find(set, tag);
	if (way == GROVE_ZHINT_WAYS && set2 != set && (way = way_find(set2, tag)) != GROVE_ZHINT_WAYS)
		set = set2;
	if (way == GROVE_ZHINT_WAYS) {
		unsigned n1 = ways_taken(set), n2 = ways_taken(set2);
		if (n2 < n1)
			set = set2;
		if (n1 < GROVE_ZHINT_WAYS || n2 < GROVE_ZHINT_WAYS)
			way = way_find(set, 0); /* an empty way: tag 0 */
		else
			way = (unsigned)(mh >> 58) % GROVE_ZHINT_WAYS;
	}
	set[way] = (uint64_t)tag << 32 | loc;
	h->puts++;
}

bool grove_zhint_get(const grove_zhint_t *h, uint64_t mh, uint32_t *loc)
{
	if (!h->sets)
		return false;
	uint32_t tag;
	const uint64_t *set = hint_set(h, mh, &tag);
	unsigned w = way_find(set, tag);
	if (w == GROVE_ZHINT_WAYS) {
		set = hint_set2(h, mh);
		w = way_find(set, tag);
	}
	if (w == GROVE_ZHINT_WAYS)
		return false;
	*loc = (uint32_t)set[w];
	return true;
}

void grove_zhint_prefetch(const grove_zhint_t *h, uint64_t mh)
{
	uint32_t tag;
	if (h->sets) {
		__builtin_prefetch(hint_set(h, mh, &tag));
		__builtin_prefetch(hint_set2(h, mh));
	}
}
