/*
 * commit.h - durable writes for db.c according to the durability mode.
 *
 *  none:   each batch written unsynced (LevelDB's log is in the page cache:
 *          survives a process crash, not an OS crash or power loss).
 *  always: each batch written with sync before returning.
 *  batch:  group commit.  Writers queue their batches; the first writer
 *          with no commit in flight becomes the leader, optionally waits
 *          window_us for more writers (up to GROVE_COMMIT_GROUP_MAX), takes
 *          every queued batch, writes them as one synced store write
 *          (grove_store_write_list: the last op per key), and wakes
 *          them.  Writers that arrive during that fsync form the next group.
 *          Every writer returns only after the write holding its batch was
 *          synced, with that write's result.  A writer may split the commit:
 *          grove_commit_enqueue (under its own key lock: queue order is the
 *          order of the writes on disk) then grove_commit_wait (after
 *          releasing the lock, so later writers of the key join this group
 *          or the next).  Queued batches get increasing sequence numbers;
 *          grove_commit_durable_seq is the last one synced (FIFO: all
 *          smaller ones were synced too).
 *  Deferred writes (any mode; db.h grove_db_defer_begin): batches are
 *          queued with grove_commit_enqueue and nobody waits for each;
 *          grove_commit_sync_to(seq) later leads (or waits for) the groups
 *          up to seq, so a client's pipelined writes, and every other
 *          client's queued with them, become one store write (one fsync
 *          in batch and always).  Groups are written synced except in
 *          none.  While anything is queued or in flight, grove_commit_write
 *          in none and always goes through the queue too (FIFO: a queued
 *          batch may hold an older state of the key being written).
 *          A failed group write fails the commit for good: the group's
 *          writers get the store's error, every writer queued after it and
 *          every later enqueue GROVE_EREADONLY (later batches may build on
 *          the lost state, so none is written).  Reopening the db recovers.
 *
 *  Transactions (grove_commit_txn_begin/_commit): between the two, the
 *          calling thread's grove_commit_write stages its batch in the
 *          store's transaction (store.h) and returns at once, durable or
 *          not; the thread reads what it staged.  _commit then writes
 *          every staged op as ONE batch through grove_commit_write (one
 *          store write: all of it or none survives a crash; in batch and
 *          always one fsync, shared with the group it joins) and returns
 *          once it is as durable as the mode promises.  Its failure fails
 *          the commit for good, in every mode (the caller's tree and cache
 *          already show the staged writes).  While a transaction is open,
 *          other threads' grove_commit_write and _enqueue fail with
 *          GROVE_EAGAIN and write nothing (their states could build on
 *          staged ones and reach the disk before them); groups queued
 *          before it are still written by whoever leads them.
 *
 * The window uses a timed wait on CLOCK_MONOTONIC (a timeout, not a clock
 * read that affects any logic).  Thread-safe.
 */
#ifndef GROVE_COMMIT_H
#define GROVE_COMMIT_H

#include <pthread.h>
#include <stdatomic.h>

#include "grove/db.h"
#include "storage/store.h"

#define GROVE_COMMIT_GROUP_MAX 1024 /* batches merged into one store write */

/* One queued batch (BATCH mode); the writer owns it until the wait. */
typedef struct grove_commit_waiter {
	const grove_batch_t *batch;
	struct grove_commit_waiter *next;
	uint64_t seq;
	int rc;
	bool done;
} grove_commit_waiter_t;

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
	uint64_t next_seq;          /* the last sequence number given out */
	uint64_t done_seq;          /* the last one written or failed (FIFO) */
	int failed_rc;              /* BATCH: nonzero once a group write failed */
	atomic_uint_fast64_t durable_seq; /* the last sequence number synced */
	atomic_uint_fast64_t syncs; /* synced writes issued */
	const grove_batch_t *group_bs[GROVE_COMMIT_GROUP_MAX]; /* the leader's group */
	bool inited;
} grove_commit_t;

int grove_commit_init(grove_commit_t *c, grove_store_t *store, grove_durability_t mode,
		      uint32_t window_us) GROVE_MUST_CHECK;
void grove_commit_close(grove_commit_t *c); /* safe when zeroed */
/* Writes b as durably as the mode promises; returns the store's result. */
int grove_commit_write(grove_commit_t *c, const grove_batch_t *b) GROVE_MUST_CHECK;
/* Queues b (kept valid by the caller until the wait
 * returns) and sets w->seq; GROVE_EREADONLY when the commit has failed
 * (then there is nothing to wait for). */
int grove_commit_enqueue(grove_commit_t *c, const grove_batch_t *b,
			 grove_commit_waiter_t *w) GROVE_MUST_CHECK;
/* When w is the last queued batch and no group has taken it (nor failed,
 * nor is another thread's transaction open), swaps the contents of its
 * batch (queued, w's) and *with under the commit's lock and returns true:
 * the group that takes w writes the new contents, in w's place and under
 * w's sequence number.  Else changes nothing and returns false.  For a
 * deferring writer whose write of a key follows its own queued write of
 * the same key (db_state.c): the two become one queued batch. */
bool grove_commit_tail_swap(grove_commit_t *c, grove_commit_waiter_t *w, grove_batch_t *queued,
			    grove_batch_t *with);
/* Returns once w's batch was synced (0) or failed (the error). */
int grove_commit_wait(grove_commit_t *c, grove_commit_waiter_t *w) GROVE_MUST_CHECK;
static inline uint64_t grove_commit_durable_seq(grove_commit_t *c)
{
	return atomic_load(&c->durable_seq);
}
bool grove_commit_failed(grove_commit_t *c); /* a group write failed */
/* Returns once every batch queued up to seq was written as the mode
 * promises (0) or failed (the error); leads the groups itself when no
 * other thread does.  Afterwards no queued waiter up to seq is touched by
 * the commit again. */
int grove_commit_sync_to(grove_commit_t *c, uint64_t seq) GROVE_MUST_CHECK;
uint64_t grove_commit_last_seq(grove_commit_t *c); /* the last seq queued */
/* Transactions (see above): one at a time (GROVE_EINVAL); _commit by the
 * thread that began it. */
int grove_commit_txn_begin(grove_commit_t *c) GROVE_MUST_CHECK;
bool grove_commit_txn_owned(grove_commit_t *c); /* by the calling thread */
int grove_commit_txn_commit(grove_commit_t *c) GROVE_MUST_CHECK;

#endif
