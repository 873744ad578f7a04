/*
 * coll.h - the CRDT pieces of a collection stored per element (storage/
 * db_coll.c keeps the records; this file owns the rules and the codecs).
 * Format and rules: doc/value_format.md, "Collections stored per element".
 *
 * A collection key (set or hash) has one causal context (version vector +
 * dot cloud), kept in its head value's set component (no elements there),
 * and one element record per set member or hash field:
 *   member: its dots                      [[node, counter], ...]
 *   field:  its entries (dot, ts, value)  [[node, counter, ts, value], ...]
 * sorted by dot.  A field is an observed-remove field whose value is an LWW
 * register: HSET replaces the entries it observed by one new entry, so
 * concurrent HSETs may leave several; reads pick the greatest (ts, node).
 * HSET/SADD draw a fresh dot; SREM/HDEL/DEL drop the observed dots (the
 * context keeps them): no tombstones.
 *
 * Per-element merge (grove_elem_merge): a dot both sides hold stays; a dot
 * only the local side holds stays unless the remote context covers it; a
 * dot only the remote side holds is added unless the local context covers
 * it; the local context gains the remote element's dots (and only those:
 * merging a remote context wholesale would drop later-arriving elements
 * whose dots it covers).
 *
 * This header exposes crdt internals (value_int.h) to storage/ on purpose:
 * the head's context is the head value's set component.
 */
#ifndef GROVE_CRDT_COLL_H
#define GROVE_CRDT_COLL_H

#include "base/buf.h"
#include "crdt/value_int.h"

#define GROVE_ELEM_MEMBER 1 /* set member */
#define GROVE_ELEM_FIELD 2  /* hash field */
#define GROVE_ELEM_ZMEMBER 3 /* sorted-set member: entries as a field's, values in zscore.h */
#define GROVE_ELEM_LIST 4 /* list element, named by its position id (crdt/listpos.h): entries as a field's */
/* Limits refused at write time (and by the decoders): a member or field
 * name, a field value, the entries of one record. */
#define GROVE_ELEM_NAME_MAX GROVE_ELEM_MAX
#define GROVE_ELEM_VALUE_MAX GROVE_FIELD_VALUE_MAX
#define GROVE_ELEM_ENTRIES_MAX 1024
/* Dots in one decoded context (vv + cloud). */
#define GROVE_CTX_DOTS_MAX (1u << 20)

typedef grove_value__set_t grove_ctx_t; /* vv + cloud; e/len unused (0) */

typedef struct grove_entry {
	grove_value__dot_t dot;
	uint64_t ts;               /* fields: the write's HLC timestamp */
	grove_value__blob_t val;   /* fields: the value (tagged: the payload) */
	uint8_t tag;               /* hash fields: GROVE_HENTRY_* (crdt/hcount.h); 0 plain */
} grove_entry_t;

typedef struct grove_elem {
	grove_entry_t *e; /* sorted by dot, no duplicates */
	size_t len, cap;
} grove_elem_t;

void grove_elem_free(grove_elem_t *x);
void grove_ctx_free(grove_ctx_t *c);
int grove_ctx_copy(grove_ctx_t *dst, const grove_ctx_t *src) GROVE_MUST_CHECK;

/* The encoders append to a grove_buf_t (base/buf.h); on failure they
 * return GROVE_ENOMEM and the buffer's content is unspecified. */

/* Element record: [entries]; canonical.  decode: GROVE_EDECODE on anything
 * not canonical (unsorted, duplicate dots, counter 0, bad node, a field
 * entry without value or a member entry with one, a tagged entry outside
 * hash fields or with a bad payload), GROVE_ETOOBIG over the limits.  An
 * empty entry list is valid (an absent element).  A hash field's entry is
 * [node, counter, ts, value] (plain) or [node, counter, ts, tag, payload]
 * (a counter field's, crdt/hcount.h). */
int grove_elem_encode(grove_buf_t *b, const grove_elem_t *x, int kind) GROVE_MUST_CHECK;
int grove_elem_decode(const uint8_t *p, size_t len, int kind, grove_elem_t *out) GROVE_MUST_CHECK;
/* Context: [vv, cloud], as in the value format's set component. */
int grove_ctx_encode(grove_buf_t *b, const grove_ctx_t *c) GROVE_MUST_CHECK;
int grove_ctx_decode(const uint8_t *p, size_t len, grove_ctx_t *out) GROVE_MUST_CHECK;
/* Element state (anti-entropy, push): [vv, cloud, entries] - the sender's
 * context and its record of the element (empty: absent).  decode also
 * rejects entries whose dots the context does not cover (forged). */
int grove_elem_state_encode(grove_buf_t *b, const grove_ctx_t *c, const grove_elem_t *x,
			    int kind) GROVE_MUST_CHECK;
int grove_elem_state_decode(const uint8_t *p, size_t len, int kind, grove_ctx_t *c,
			    grove_elem_t *x, bool *partial) GROVE_MUST_CHECK;
/* A cut element state, [vv, cloud, entries, 1]: the cloud cut down to the
 * dots that matter to the receiver for this element - the entries' dots
 * and extra (the dots a peer still holds for it that c covers: a reply to
 * a peer that missed their removal; see doc/value_format.md) - so its
 * size does not depend on the context's.  A subset of the context: the
 * receiver drops fewer of its entries, never a wrong one; it keeps the
 * dots it cannot decide and replies with them, and the answer carries
 * their coverage.  _partial is _cut without extra. */
int grove_elem_state_encode_cut(grove_buf_t *b, const grove_ctx_t *c, const grove_elem_t *x,
				int kind, const grove_value__dot_t *extra,
				size_t nextra) GROVE_MUST_CHECK;
int grove_elem_state_encode_partial(grove_buf_t *b, const grove_ctx_t *c, const grove_elem_t *x,
				    int kind) GROVE_MUST_CHECK;
/* The largest item state sent whole (half the default anti-entropy frame);
 * larger ones are cut (partial element states; heads without their cloud),
 * and a field or list record larger than GROVE_ELEM_RECORD_MAX bytes or
 * GROVE_ELEM_ENTRIES_MAX entries after a merge keeps its winning entry only
 * (the others removed as observed; a counter field its INC entries too). */
#define GROVE_ITEM_STATE_MAX (512u * 1024)
#define GROVE_ELEM_RECORD_MAX (2u * GROVE_FIELD_VALUE_MAX)

bool grove_elem_eq(const grove_elem_t *a, const grove_elem_t *b);
uint64_t grove_elem_max_ts(const grove_elem_t *x);
/* Whether entry e wins a read over w: the greater (ts, node, counter).
 * The one order of LWW values in element records (fields, list values,
 * and the SET entries of counter fields and sorted-set scores). */
bool grove_entry_wins(const grove_entry_t *e, const grove_entry_t *w);
/* The entry a read returns: greatest (ts, node, counter); NULL when empty. */
const grove_entry_t *grove_elem_winner(const grove_elem_t *x);
/* The value a read returns of a field-like element record (kind FIELD,
 * ZMEMBER or LIST), read in place without allocating: the record checked
 * as grove_elem_decode checks it, the entries whose dots filter covers
 * skipped (filter NULL: none), then the winner as grove_elem_winner picks
 * it.  *val points into p (valid as long as p); *live false (and *val
 * NULL) when no entry is left.  Errors as grove_elem_decode's, and
 * GROVE_EINVAL for a hash field holding counter entries (crdt/hcount.h:
 * grove_hfield_eval reads those). */
int grove_elem_winner_view(const uint8_t *p, size_t len, int kind, const grove_ctx_t *filter,
			   bool *live, const uint8_t **val, size_t *vlen) GROVE_MUST_CHECK;
/* An element record's entries without decoding them (no allocation):
 * checked as grove_elem_decode checks it, then *n their number, *max_ts
 * the greatest entry timestamp (grove_elem_max_ts) and *tagged whether
 * any is a counter field's tagged entry (crdt/hcount.h).  Errors as
 * grove_elem_decode's; the outputs untouched on failure. */
int grove_elem_rec_scan(const uint8_t *p, size_t len, int kind, size_t *n, uint64_t *max_ts,
			bool *tagged) GROVE_MUST_CHECK;
/* Whether an element record as grove_elem_encode writes it holds an
 * entry, from its first byte (the canonical array header; 0x90 is the
 * empty array) without decoding it: for records this node wrote. */
bool grove_elem_rec_has_entries(const uint8_t *p, size_t len);
/* Drops the entries whose dots c covers; returns how many. */
size_t grove_elem_filter(grove_elem_t *x, const grove_ctx_t *c);
/* x := one entry (d, ts, val). */
int grove_elem_set_one(grove_elem_t *x, const grove_value__dot_t *d, uint64_t ts, const void *val,
		       size_t vlen) GROVE_MUST_CHECK;

/* x := a view of one entry (d, ts, val) held in *e, borrowing val (no
 * copy, no allocation): as grove_elem_set_one would make it, for a caller
 * that only reads x (encodes it) while val and *e live.  Never free x. */
void grove_elem_one_view(grove_elem_t *x, grove_entry_t *e, const grove_value__dot_t *d,
			 uint64_t ts, const void *val, size_t vlen);

/* The next dot of node in c (above all it holds for node); GROVE_EOVERFLOW. */
int grove_ctx_next_dot(const grove_ctx_t *c, const char *node, grove_value__dot_t *d) GROVE_MUST_CHECK;
int grove_ctx_add(grove_ctx_t *c, const grove_value__dot_t *d) GROVE_MUST_CHECK;
int grove_ctx_union(grove_ctx_t *dst, const grove_ctx_t *src) GROVE_MUST_CHECK;
bool grove_ctx_has(const grove_ctx_t *c, const grove_value__dot_t *d);
/* Whether big covers every dot of small. */
bool grove_ctx_covers(const grove_ctx_t *big, const grove_ctx_t *small);
bool grove_ctx_eq(const grove_ctx_t *a, const grove_ctx_t *b);
bool grove_ctx_empty(const grove_ctx_t *c);

/* Per-element merge (see above): l (local record, already filtered by
 * any pending delete) and lctx are updated.  GROVE_EDECODE when r holds a
 * dot l holds too with another (ts, value): a forged entry.  *changed:
 * l or lctx changed. */
int grove_elem_merge(grove_elem_t *l, grove_ctx_t *lctx, const grove_elem_t *r,
		     const grove_ctx_t *rctx, bool *changed) GROVE_MUST_CHECK;

/* Head state (anti-entropy, push): [bin value encoding, uint live
 * elements, bin16 element accumulator sum].  decode returns a pointer into
 * p for the encoding. */
int grove_head_state_encode(grove_buf_t *b, const uint8_t *enc, size_t enc_len, uint64_t n,
			    const uint8_t acc[16]) GROVE_MUST_CHECK;
int grove_head_state_decode(const uint8_t *p, size_t len, const uint8_t **enc, size_t *enc_len,
			    uint64_t *n, uint8_t acc[16]) GROVE_MUST_CHECK;

/* Makes v a fresh key of type t by node: every component reset as by a key
 * delete, type register (epoch + 1, node, t).  For the head of a
 * collection, whose visible type the caller knows better than v. */
int grove_value_create_as(grove_value_t *v, grove_type_t t, const char *node) GROVE_MUST_CHECK;

#endif
