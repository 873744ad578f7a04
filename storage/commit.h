/*
 * commit.h - durable writes for db.c according to the durability mode.
 *
 *  none:   each batch written unsynced (LevelDB's log is in the page cache:
 *          survives a process crash, not an OS crash or power loss).
 *  always: each batch written with sync before returning.
 *  batch:  group commit.  Writers queue their batches; the first writer
 *          with no commit in flight becomes the leader, optionally waits
 *          window_us for more writers (up to GROVE_COMMIT_GROUP_MAX), takes
 *          every queued batch, writes them as one synced batch, and wakes
 *          them.  Writers that arrive during that fsync form the next group.
 *          Every writer returns only after the write holding its batch was
 *          synced, with that write's result.
 *
 * The window uses a timed wait on CLOCK_MONOTONIC (a timeout, not a clock
 * read that affects any logic).  Thread-safe.
 */
#ifndef GROVE_COMMIT_H
#define GROVE_COMMIT_H

#include <pthread.h>
#include <stdatomic.h>

#include "storage/db.h"
#include "storage/store.h"

#define GROVE_COMMIT_GROUP_MAX 256 /* batches merged into one synced write */

typedef struct grove_commit_waiter grove_commit_waiter_t;

typedef struct grove_commit {
	grove_store_t *store;
	grove_durability_t mode;
	uint32_t window_us;
	pthread_mutex_t mu;
	pthread_cond_t done_cv;   /* followers wait here */
	pthread_cond_t window_cv; /* the leader's window wait (CLOCK_MONOTONIC) */
	grove_commit_waiter_t *head, *tail;
	size_t queued;
	bool leader_active;
	atomic_uint_fast64_t syncs; /* synced writes issued */
	bool inited;
} grove_commit_t;

int grove_commit_init(grove_commit_t *c, grove_store_t *store, grove_durability_t mode,
		      uint32_t window_us) GROVE_MUST_CHECK;
void grove_commit_close(grove_commit_t *c); /* safe when zeroed */
/* Writes b as durably as the mode promises; returns the store's result. */
int grove_commit_write(grove_commit_t *c, const grove_batch_t *b) GROVE_MUST_CHECK;

#endif
