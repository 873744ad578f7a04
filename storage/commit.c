/*
 * commit.c - durability modes and the group commit of commit.h: a
 * leader/follower queue under one mutex and two condition variables.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "base/assert.h"
#include "storage/commit.h"

int grove_commit_init(grove_commit_t *c, grove_store_t *store, grove_durability_t mode,
		      uint32_t window_us)
{
	memset(c, 0, sizeof(*c));
	if (mode != GROVE_DURABILITY_NONE && mode != GROVE_DURABILITY_BATCH &&
	    mode != GROVE_DURABILITY_ALWAYS)
		return GROVE_EINVAL;
	c->store = store;
	c->mode = mode;
	c->window_us = window_us;
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->done_cv, NULL);
	pthread_cond_init(&c->window_cv, &attr);
	pthread_condattr_destroy(&attr);
	atomic_init(&c->syncs, 0);
	atomic_init(&c->durable_seq, 0);
	c->inited = true;
	return 0;
}

void grove_commit_close(grove_commit_t *c)
{
	if (!c->inited)
		return;
	GROVE_ASSERT(c->head == NULL && !c->leader_active);
	pthread_cond_destroy(&c->window_cv);
	pthread_cond_destroy(&c->done_cv);
	pthread_mutex_destroy(&c->mu);
	c->inited = false;
}

/* The leader's optional wait for more writers.  Caller holds c->mu. */
static void leader_window(grove_commit_t *c)
{
	if (c->window_us == 0)
		return;
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += (long)(c->window_us % 1000000) * 1000;
	until.tv_sec += c->window_us / 1000000 + until.tv_nsec / 1000000000;
	until.tv_nsec %= 1000000000;
	while (c->queued < GROVE_COMMIT_GROUP_MAX)
		if (pthread_cond_timedwait(&c->window_cv, &c->mu, &until) == ETIMEDOUT)
			break;
}

/* Writes a detached group (at most GROUP_MAX batches) as one store write,
 * synced unless the mode is none: the store takes the batches as a list
 * (merged into one batch without the ops a later one of the same key
 * overrides).  Only the leader runs it, so the group_bs array is its own. */
static int write_group(grove_commit_t *c, grove_commit_waiter_t *group)
{
	bool sync = c->mode != GROVE_DURABILITY_NONE;
	size_t n = 0;
	for (grove_commit_waiter_t *w = group; w; w = w->next) {
		GROVE_ASSERT(n < GROVE_COMMIT_GROUP_MAX);
		c->group_bs[n++] = w->batch;
	}
	return grove_store_write_list(c->store, c->group_bs, n, sync);
}

/* Leads one group: detaches up to GROUP_MAX queued batches, writes them
 * with one sync (none once the commit failed), and wakes their writers.
 * Called and returns with c->mu held; drops it during the write. */
static void lead_group(grove_commit_t *c)
{
	c->leader_active = true;
	if (!c->failed_rc && c->mode == GROVE_DURABILITY_BATCH)
		leader_window(c);
	grove_commit_waiter_t *group = c->head, *last = group;
	size_t n = 1;
	if (c->queued <= GROVE_COMMIT_GROUP_MAX) { /* all of them: no walk */
		last = c->tail;
		n = c->queued;
	}
	while (n < GROVE_COMMIT_GROUP_MAX && last->next) {
		last = last->next;
		n++;
	}
	c->head = last->next;
	if (!c->head)
		c->tail = NULL;
	last->next = NULL;
	c->queued -= n;
	int rc = GROVE_EREADONLY;
	if (!c->failed_rc) {
		pthread_mutex_unlock(&c->mu);
		rc = write_group(c, group);
		if (c->mode != GROVE_DURABILITY_NONE)
			atomic_fetch_add(&c->syncs, 1);
		pthread_mutex_lock(&c->mu);
		if (rc)
			c->failed_rc = rc;
		else
			atomic_store(&c->durable_seq, last->seq);
	}
	c->done_seq = last->seq;
	for (grove_commit_waiter_t *w = group, *nx; w; w = nx) {
		nx = w->next;
		w->rc = rc;
		w->done = true;
	}
	c->leader_active = false;
	pthread_cond_broadcast(&c->done_cv);
}

int grove_commit_enqueue(grove_commit_t *c, const grove_batch_t *b, grove_commit_waiter_t *w)
{
	GROVE_ASSERT(!grove_store_txn_owned(c->store)); /* it stages (grove_commit_write) */
	*w = (grove_commit_waiter_t){ .batch = b };
	if (grove_store_txn_open(c->store))
		return GROVE_EAGAIN; /* another thread's transaction is open */
	pthread_mutex_lock(&c->mu);
	if (c->failed_rc) {
		pthread_mutex_unlock(&c->mu);
		return GROVE_EREADONLY;
	}
	w->seq = ++c->next_seq;
	if (c->tail)
		c->tail->next = w;
	else
		c->head = w;
	c->tail = w;
	if (++c->queued >= GROVE_COMMIT_GROUP_MAX)
		pthread_cond_signal(&c->window_cv);
	pthread_mutex_unlock(&c->mu);
	return 0;
}

bool grove_commit_tail_swap(grove_commit_t *c, grove_commit_waiter_t *w, grove_batch_t *queued,
			    grove_batch_t *with)
{
	GROVE_ASSERT(w->batch == queued && queued != with);
	if (grove_store_txn_open(c->store))
		return false; /* as an enqueue would not */
	pthread_mutex_lock(&c->mu);
	bool ok = !c->failed_rc && c->tail == w && !w->done;
	if (ok) { /* no leader has it: one takes the group under mu */
		grove_batch_t t = *queued;
		*queued = *with;
		*with = t;
	}
	pthread_mutex_unlock(&c->mu);
	return ok;
}

int grove_commit_wait(grove_commit_t *c, grove_commit_waiter_t *w)
{
	pthread_mutex_lock(&c->mu);
	while (!w->done) {
		if (c->leader_active)
			pthread_cond_wait(&c->done_cv, &c->mu);
		else
			lead_group(c); /* our batch may be beyond this group: loop */
	}
	pthread_mutex_unlock(&c->mu);
	return w->rc;
}

int grove_commit_sync_to(grove_commit_t *c, uint64_t seq)
{
	pthread_mutex_lock(&c->mu);
	GROVE_ASSERT(seq <= c->next_seq);
	while (c->done_seq < seq) {
		if (c->leader_active) {
			pthread_cond_wait(&c->done_cv, &c->mu);
		} else {
			GROVE_ASSERT(c->head != NULL); /* seq is queued: not done, not in flight */
			lead_group(c);
		}
	}
	int rc = atomic_load(&c->durable_seq) >= seq ? 0 : c->failed_rc ? c->failed_rc : GROVE_EREADONLY;
	pthread_mutex_unlock(&c->mu);
	return rc;
}

uint64_t grove_commit_last_seq(grove_commit_t *c)
{
	pthread_mutex_lock(&c->mu);
	uint64_t seq = c->next_seq;
	pthread_mutex_unlock(&c->mu);
	return seq;
}

bool grove_commit_failed(grove_commit_t *c)
{
	pthread_mutex_lock(&c->mu);
	bool failed = c->failed_rc != 0;
	pthread_mutex_unlock(&c->mu);
	return failed;
}

/* Modes none and always write directly while nothing is queued or in
 * flight; otherwise behind what is (a queued batch may hold an older state
 * of the same key: writing around it would reorder them on disk). */
int grove_commit_write(grove_commit_t *c, const grove_batch_t *b)
{
	if (grove_store_txn_owned(c->store)) {
		if (grove_commit_failed(c))
			return GROVE_EREADONLY;
		return grove_store_txn_stage(c->store, b);
	}
	if (grove_store_txn_open(c->store))
		return GROVE_EAGAIN; /* another thread's transaction is open */
	if (c->mode != GROVE_DURABILITY_BATCH) {
		pthread_mutex_lock(&c->mu);
		bool idle = c->head == NULL && !c->leader_active && !c->failed_rc;
		pthread_mutex_unlock(&c->mu);
		if (idle) {
			if (c->mode == GROVE_DURABILITY_ALWAYS)
				atomic_fetch_add(&c->syncs, 1);
			return grove_store_write(c->store, b, c->mode == GROVE_DURABILITY_ALWAYS);
		}
	}
	grove_commit_waiter_t w;
	int rc = grove_commit_enqueue(c, b, &w);
	return rc ? rc : grove_commit_wait(c, &w);
}

/* ---- transactions ---- */

int grove_commit_txn_begin(grove_commit_t *c)
{
	return grove_store_txn_begin(c->store);
}

bool grove_commit_txn_owned(grove_commit_t *c)
{
	return grove_store_txn_owned(c->store);
}

/* The staged batch goes through grove_commit_write like any batch (FIFO
 * behind what is queued: those batches may hold older states of its keys),
 * whole: a group holds whole batches, and its one store write applies all
 * of them or none. */
int grove_commit_txn_commit(grove_commit_t *c)
{
	grove_batch_t b;
	grove_store_txn_end(c->store, &b);
	int rc = b.count ? grove_commit_write(c, &b) : 0;
	grove_batch_close(&b);
	if (rc) { /* the caller's state already shows it: refuse writes from now on */
		pthread_mutex_lock(&c->mu);
		if (!c->failed_rc)
			c->failed_rc = rc;
		pthread_mutex_unlock(&c->mu);
	}
	return rc;
}
