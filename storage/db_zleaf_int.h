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

typedef struct grove_zleaf {
	uint8_t *buf;  /* the suffixes back to back, sorted bytewise */
	uint32_t *off; /* n + 1 offsets into buf */
	uint32_t n;
} grove_zleaf_t;

void grove_zleaf_free(grove_zleaf_t *l); /* NULL is fine */
/* Memory charged for l (0 for NULL). */
size_t grove_zleaf_bytes(const grove_zleaf_t *l);
/* The number of entries of l below s; *found: s is one of them. */
uint32_t grove_zleaf_find(const grove_zleaf_t *l, const uint8_t *s, size_t slen, bool *found);
/* A leaf of the n entries ents[i] (lens[i] bytes), which must be strictly
 * increasing (GROVE_EINVAL) and fewer than GROVE_ZLEAF_ENTRIES_MAX
 * (GROVE_ETOOBIG); *out malloc'd (grove_zleaf_free). */
int grove_zleaf_build(const uint8_t *const *ents, const size_t *lens, uint32_t n,
		      grove_zleaf_t **out) GROVE_MUST_CHECK;
/* *lp replaced by a copy with s added (GROVE_EEXISTS: there already) or
 * removed (GROVE_ENOTFOUND: not there); on error *lp is unchanged. */
int grove_zleaf_insert(grove_zleaf_t **lp, const uint8_t *s, size_t slen) GROVE_MUST_CHECK;
int grove_zleaf_remove(grove_zleaf_t **lp, const uint8_t *s, size_t slen) GROVE_MUST_CHECK;
/* *out: a new leaf of l's entries [from, to). */
int grove_zleaf_slice(const grove_zleaf_t *l, uint32_t from, uint32_t to,
		      grove_zleaf_t **out) GROVE_MUST_CHECK;

#endif
