/*
 * syncer.h - the store-to-store Syncer of the embedded API (Grove's Go
 * kvcrdt Syncer, without its defects): merges two grove_db_t both ways for
 * the keys matching a glob pattern, one-shot or in a background loop.
 *
 * How a sync works: the two digest trees are compared from the root down;
 * equal subtrees are skipped; in each differing segment the two lists of
 * (key, digest) are merge-joined, and only keys whose digests differ (or
 * that one side lacks) are touched: b's state is merged into a, then a's
 * resulting state into b, each with grove_db_merge (its own type's merge,
 * type tags kept; a write only when the state changed).  The cost is
 * O(differing segments * keys per segment + tree nodes on their paths),
 * not O(keys).
 *
 * The pattern and the tree: the tree covers every key, so keys outside the
 * pattern that differ also make their segments differ; they are counted in
 * skipped_pattern and left alone, and their segments are descended again
 * on every sync.  Syncing a key set that mostly differs outside the pattern
 * therefore costs in those differences too.
 *
 * Errors (a value that does not decode, a remote clock too far ahead, I/O)
 * are counted and listed in the report (the first GROVE_SYNC_ERRORS_MAX);
 * the key is left untouched on the side that refused it and the sync goes
 * on.  The background loop runs on its own pthread and sleeps on a condition
 * variable with a CLOCK_MONOTONIC timeout, so stop is prompt.
 */
#ifndef GROVE_SYNCER_H
#define GROVE_SYNCER_H

#include "grove/db.h"

#define GROVE_SYNCER_PATTERN_DEFAULT "crdt:*"
#define GROVE_SYNCER_PATTERN_MAX 1024
#define GROVE_SYNCER_INTERVAL_MS_DEFAULT 1000
#define GROVE_SYNC_ERRORS_MAX 16
#define GROVE_SYNC_ERROR_KEY_MAX 128 /* bytes of a failing key kept */
#define GROVE_SYNC_SEGMENT_KEYS_MAX (1u << 22) /* keys of one segment, per side */

typedef struct grove_syncer grove_syncer_t;

typedef struct grove_syncer_options {
	const char *pattern;  /* glob (storage/glob.h); default "crdt:*" */
	uint32_t interval_ms; /* background loop period; default 1000 */
} grove_syncer_options_t;

typedef struct grove_sync_error {
	uint8_t key[GROVE_SYNC_ERROR_KEY_MAX];
	size_t klen;   /* full length (key holds at most the first 128 bytes) */
	char side;     /* 'a' or 'b': the store that refused the state */
	int code;      /* GROVE_EDECODE, GROVE_ECORRUPT, GROVE_ECLOCK_OFFSET, ... */
} grove_sync_error_t;

typedef struct grove_sync_report {
	uint64_t nodes_compared;  /* tree nodes whose digests were compared */
	uint64_t segments_diff;   /* differing segments descended into */
	/* "keys" below are items (doc/storage_format.md): a key's head, or
	 * one member or field of a set or hash */
	uint64_t keys_compared;   /* items whose digests were compared */
	uint64_t keys_touched;    /* items whose states were read and merged */
	uint64_t skipped_pattern; /* differing items of keys outside the pattern */
	uint64_t pulled;          /* items where a changed (took b's state) */
	uint64_t pushed;          /* items where b changed (took a's state) */
	uint64_t merged;          /* items where both changed */
	uint64_t errors;
	size_t errors_listed;
	grove_sync_error_t error[GROVE_SYNC_ERRORS_MAX];
} grove_sync_report_t;

void grove_syncer_options_init(grove_syncer_options_t *opts);

/* a and b are borrowed and must outlive the syncer.  opts may be NULL. */
int grove_syncer_create(grove_db_t *a, grove_db_t *b, const grove_syncer_options_t *opts,
			grove_syncer_t **out) GROVE_MUST_CHECK;
/* Stops the loop if running, then frees.  NULL is a no-op. */
void grove_syncer_destroy(grove_syncer_t *s);

/* One sync, both ways.  Returns 0 when the walk completed (per-key errors
 * are in the report), or a code when it could not (I/O on the trees). */
int grove_syncer_sync(grove_syncer_t *s, grove_sync_report_t *report) GROVE_MUST_CHECK;

/* Background loop: a sync every interval_ms until stop.  GROVE_EEXISTS if
 * already running; stop on a stopped syncer is a no-op. */
int grove_syncer_start(grove_syncer_t *s) GROVE_MUST_CHECK;
void grove_syncer_stop(grove_syncer_t *s);
/* The report of the loop's latest round and the number of rounds so far. */
void grove_syncer_last(grove_syncer_t *s, grove_sync_report_t *report, uint64_t *rounds);
/* Blocks until the loop completed at least `rounds` rounds in total:
 * 0, or GROVE_ETIMEOUT after timeout_ms. */
int grove_syncer_wait_rounds(grove_syncer_t *s, uint64_t rounds,
			     uint32_t timeout_ms) GROVE_MUST_CHECK;

#endif
