/*
 * db_zleaf_int.h - one leaf's 'z' suffixes in memory (db_zleaf.c), for the
 * boundary cache of the counted index (db_zrank.c).  A grove_zleaf_t is
 * owned by the cache entry that holds it; every function that replaces it
 * frees the old copy.
 */
#ifndef GROVE_DB_ZLEAF_INT_H
#define GROVE_DB_ZLEAF_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "grove/error.h"

/* More entries than a leaf ever holds (a pass splits at 64; the counts
 * record allows 65,535): a leaf past this is not kept in memory. */
#define GROVE_ZLEAF_ENTRIES_MAX 4096u

/* One allocation holds the header, mtag, off and pre (a leaf's search
 * reads them from adjacent lines near where the pointer to the leaf
 * points, before any entry byte); buf is its own. */
typedef struct grove_zleaf {
	uint16_t *mtag; /* per entry, grove_zleaf_mtag of its member (the bytes
			 * after its score's 8), right after the header */
	uint32_t *off;  /* n + 1 offsets into buf, after mtag's ocap entries */
	uint64_t *pre;  /* per entry, its first 8 bytes as a big-endian integer
			 * (zero-padded: grove_zleaf_pre's order), after off's */
	uint8_t *buf;   /* the suffixes back to back, sorted bytewise */
	uint32_t n;
	uint32_t bcap, ocap; /* bytes of buf, entries of pre, off and mtag allocated */
} grove_zleaf_t;

void grove_zleaf_free(grove_zleaf_t *l); /* NULL is fine */
/* Memory charged for l (0 for NULL). */
size_t grove_zleaf_bytes(const grove_zleaf_t *l);
/* The number of entries of l below s; *found: s is one of them.  Counts
 * the prefixes below s's in one pass (loads that do not wait for each
 * other), then compares whole entries only where a prefix equals s's. */
uint32_t grove_zleaf_find(const grove_zleaf_t *l, const uint8_t *s, size_t slen, bool *found);
/* A leaf of the n entries ents[i] (lens[i] bytes), which must be strictly
 * increasing (GROVE_EINVAL) and fewer than GROVE_ZLEAF_ENTRIES_MAX
 * (GROVE_ETOOBIG); *out malloc'd (grove_zleaf_free). */
int grove_zleaf_build(const uint8_t *const *ents, const size_t *lens, uint32_t n,
		      grove_zleaf_t **out) GROVE_MUST_CHECK;
/* *lp with s added (GROVE_EEXISTS: there already) or removed
 * (GROVE_ENOTFOUND: not there), in place (an insert grows the arrays by
 * an eighth when full, which may move the leaf: *lp is then the new place);
 * on error *lp holds the same entries as before. */
int grove_zleaf_insert(grove_zleaf_t **lp, const uint8_t *s, size_t slen) GROVE_MUST_CHECK;
int grove_zleaf_remove(grove_zleaf_t **lp, const uint8_t *s, size_t slen) GROVE_MUST_CHECK;
/* *out: a new leaf of l's entries [from, to). */
int grove_zleaf_slice(const grove_zleaf_t *l, uint32_t from, uint32_t to,
		      grove_zleaf_t **out) GROVE_MUST_CHECK;
/* The first 8 bytes of s (zero-padded) as a big-endian integer: two
 * strings whose prefixes differ compare as their prefixes do. */
uint64_t grove_zleaf_pre(const uint8_t *s, size_t slen);
/* How many of the n sorted prefixes pre[] are below sp. */
size_t grove_zpre_below(const uint64_t *pre, size_t n, uint64_t sp);
/* The same with a summary of pre: sum[j] = pre[j * GROVE_ZPRE_GROUP], for
 * each of the grove_zpre_groups(n) groups (grove_zpre_summarize).  Scans
 * the summary, then one group (one 64-byte line): n / 8 + 8 prefixes
 * compared instead of n (at 10^6 members a ZRANGE searches over a hundred
 * supers, then about 180 leaves of one). */
#define GROVE_ZPRE_GROUP 8u
size_t grove_zpre_groups(size_t n);
void grove_zpre_summarize(const uint64_t *pre, size_t n, uint64_t *sum);
size_t grove_zpre_below_grouped(const uint64_t *pre, size_t n, const uint64_t *sum, uint64_t sp);
/* A member's 16-bit tag (FNV-1a folded; not keyed: only a filter, every
 * match is checked against the entry's bytes). */
uint16_t grove_zleaf_mtag(const uint8_t *m, size_t mlen);
/* The index of l's entry whose member (its bytes after the score's 8) is
 * m, found by its tag (*found false: none; a leaf holds a member once).
 * O(entries) on 2-byte tags, one entry compared per tag that matches. */
uint32_t grove_zleaf_find_member(const grove_zleaf_t *l, const uint8_t *m, size_t mlen,
				 bool *found);
/* Brings l's header, its members' tags and its offsets toward the CPU (a
 * grove_zleaf_find_member of it will follow). */
void grove_zleaf_prefetch(const grove_zleaf_t *l);
/* Brings all of l toward the CPU: its block (the header, tags, offsets
 * and prefixes) without waiting for the header, then its entries (a
 * grove_zleaf_find and a copy of entries from there will follow). */
void grove_zleaf_prefetch_all(const grove_zleaf_t *l);

/* A lossy map from members to their leaves, so that ZRANK can find a
 * member's place without reading its record or searching the
 * boundaries: sets of GROVE_ZHINT_WAYS ways of 8 bytes (one 64-byte line
 * a set), each a tag (the high 32 bits of the member's 64-bit hash, the
 * caller's, | 1; 0: empty) and a locator (the caller's: where the
 * member's leaf was).  A member has two sets, picked by independent bits
 * of its hash.  A put replaces the way of the same tag in either, else
 * takes an empty way of the one with fewer taken, else one of the first
 * set picked by the hash; nothing is ever removed.  (With one set per
 * member, 8 ways at half the ways taken left 0.67% of a 10^6 fill's
 * members out, each ZRANK of them a store read; with two, none.)  Only
 * a hint: the caller finds the member among the named leaf's entries
 * (grove_zleaf_find_member: then that leaf is the member's, whatever the
 * locator's age) and takes its score from there. */
#define GROVE_ZHINT_WAYS 8u
#define GROVE_ZHINT_NOLOC UINT32_MAX

typedef struct grove_zhint {
	uint64_t *slot; /* per set: GROVE_ZHINT_WAYS ways, tag << 32 | locator */
	void *mem;      /* what was allocated (slot: inside it, aligned) */
	size_t sets;    /* a power of two; 0: none */
	size_t puts;    /* since the last grove_zhint_resize */
} grove_zhint_t;

void grove_zhint_free(grove_zhint_t *h); /* h left empty */
size_t grove_zhint_bytes(const grove_zhint_t *h);
/* h emptied with sets sets (a power of two); on error h is unchanged.
 * A table of 2 MiB or more is aligned to 2 MiB and backed by huge pages
 * where the kernel allows (a get at 10^6 members then misses the TLB no
 * more; the table is filled whole anyway). */
int grove_zhint_resize(grove_zhint_t *h, size_t sets) GROVE_MUST_CHECK;
/* mh's leaf is at loc (GROVE_ZHINT_NOLOC: nothing put). */
void grove_zhint_put(grove_zhint_t *h, uint64_t mh, uint32_t loc);
/* The locator last put for hash mh into *loc; false: none. */
bool grove_zhint_get(const grove_zhint_t *h, uint64_t mh, uint32_t *loc);
/* Brings mh's two sets toward the CPU (a get of it will follow). */
void grove_zhint_prefetch(const grove_zhint_t *h, uint64_t mh);

#endif
