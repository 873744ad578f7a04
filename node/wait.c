/*
 * wait.c - WAIT's bookkeeping (see wait.h): the write-position counter,
 * the per-peer table of known positions and the blocked clients.
 *
 * Both tables are small unsorted arrays searched linearly: a cluster has
 * tens of peers, and the waiters are the clients blocked in WAIT right now.
 * Both grow by doubling up to their named maximum.
 */
#include "node/wait.h"

#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "grove/alloc.h"

void grove_wait_init(grove_wait_t *w)
{
	memset(w, 0, sizeof(*w));
	atomic_init(&w->write_pos, 0);
}

void grove_wait_close(grove_wait_t *w)
{
	grove_free(w->peers);
	grove_free(w->waiters);
	w->peers = NULL;
	w->waiters = NULL;
	w->npeers = w->nwaiters = w->peers_cap = w->waiters_cap = 0;
}

void grove_wait_set_notify(grove_wait_t *w, void (*fn)(void *ctx), void *ctx)
{
	w->notify = fn;
	w->notify_ctx = ctx;
}

uint64_t grove_wait_note_write(grove_wait_t *w)
{
	return (uint64_t)atomic_fetch_add(&w->write_pos, 1) + 1;
}

uint64_t grove_wait_position(grove_wait_t *w)
{
	return (uint64_t)atomic_load(&w->write_pos);
}

/* Doubles an array's capacity (at least 8 slots) up to max; false if full
 * or out of memory. */
static bool grow(void **arr, size_t *cap, size_t elem, size_t max)
{
	if (*cap >= max)
		return false;
	size_t ncap = *cap ? *cap * 2 : 8;
	if (ncap > max)
		ncap = max;
	void *n = grove_realloc(*arr, ncap * elem);
	if (n == NULL)
		return false;
	*arr = n;
	*cap = ncap;
	return true;
}

static grove_wait_peer_t *find_peer(const grove_wait_t *w, const char *peer)
{
	for (size_t i = 0; i < w->npeers; i++)
		if (strcmp(w->peers[i].name, peer) == 0)
			return &w->peers[i];
	return NULL;
}

void grove_wait_peer_holds(grove_wait_t *w, const char *peer, uint64_t pos, uint64_t now_ms)
{
	if (peer == NULL || peer[0] == '\0' || strlen(peer) > GROVE_WAIT_PEER_BYTES_MAX)
		return;
	grove_wait_peer_t *p = find_peer(w, peer);
	bool raised = p == NULL || pos > p->pos;
	if (p == NULL) {
		if (w->npeers == w->peers_cap &&
		    !grow((void **)&w->peers, &w->peers_cap, sizeof(*w->peers), GROVE_WAIT_PEERS_MAX)) {
			w->peers_dropped++;
			return;
		}
		p = &w->peers[w->npeers++];
		snprintf(p->name, sizeof(p->name), "%s", peer);
		p->pos = pos;
	} else if (pos > p->pos) {
		p->pos = pos;
	}
	p->seen_ms = now_ms;
	if (raised && w->nwaiters > 0 && w->notify)
		w->notify(w->notify_ctx);
}

void grove_wait_peer_forget(grove_wait_t *w, const char *peer)
{
	grove_wait_peer_t *p = peer ? find_peer(w, peer) : NULL;
	if (p == NULL)
		return;
	*p = w->peers[--w->npeers];
}

bool grove_wait_peer_known(const grove_wait_t *w, const char *peer, uint64_t pos)
{
	const grove_wait_peer_t *p = find_peer(w, peer);
	return p != NULL && p->pos >= pos;
}

size_t grove_wait_count(const grove_wait_t *w, uint64_t pos)
{
	size_t n = 0;
	for (size_t i = 0; i < w->npeers; i++)
		n += w->peers[i].pos >= pos;
	return n;
}

int grove_wait_block(grove_wait_t *w, void *owner, uint64_t pos, long long want,
		     uint64_t deadline_ms)
{
	GROVE_ASSERT(owner != NULL);
	for (size_t i = 0; i < w->nwaiters; i++)
		GROVE_ASSERT(w->waiters[i].owner != owner);
	if (w->nwaiters == w->waiters_cap &&
	    !grow((void **)&w->waiters, &w->waiters_cap, sizeof(*w->waiters), GROVE_WAIT_WAITERS_MAX))
		return w->waiters_cap >= GROVE_WAIT_WAITERS_MAX ? GROVE_EFULL : GROVE_ENOMEM;
	w->waiters[w->nwaiters++] = (grove_wait_waiter_t){owner, pos, want, deadline_ms};
	w->next_ask_ms = 0; /* ask at once */
	return 0;
}

static void remove_waiter(grove_wait_t *w, size_t i)
{
	GROVE_ASSERT(i < w->nwaiters);
	w->waiters[i] = w->waiters[--w->nwaiters];
}

void grove_wait_unblock(grove_wait_t *w, void *owner)
{
	for (size_t i = 0; i < w->nwaiters; i++) {
		if (w->waiters[i].owner == owner) {
			remove_waiter(w, i);
			return;
		}
	}
}

bool grove_wait_next_done(grove_wait_t *w, uint64_t now_ms, void **owner, size_t *count)
{
	for (size_t i = 0; i < w->nwaiters; i++) {
		const grove_wait_waiter_t *x = &w->waiters[i];
		size_t n = grove_wait_count(w, x->pos);
		bool expired = now_ms == GROVE_WAIT_NO_DEADLINE ||
			       (x->deadline_ms != GROVE_WAIT_NO_DEADLINE && now_ms >= x->deadline_ms);
		if (expired || (long long)n >= x->want) {
			*owner = x->owner;
			*count = n;
			remove_waiter(w, i);
			return true;
		}
	}
	return false;
}

size_t grove_wait_blocked(const grove_wait_t *w)
{
	return w->nwaiters;
}

bool grove_wait_ask_due(grove_wait_t *w, uint64_t now_ms, uint64_t *pos)
{
	if (w->nwaiters == 0 || now_ms < w->next_ask_ms)
		return false;
	uint64_t top = 0;
	for (size_t i = 0; i < w->nwaiters; i++)
		if (w->waiters[i].pos > top)
			top = w->waiters[i].pos;
	w->next_ask_ms = now_ms + GROVE_WAIT_ASK_MS;
	*pos = top;
	return true;
}

void grove_wait_ask_soon(grove_wait_t *w)
{
	if (w->nwaiters == 0)
		return;
	w->next_ask_ms = 0;
	if (w->notify)
		w->notify(w->notify_ctx);
}

uint64_t grove_wait_next_deadline(const grove_wait_t *w)
{
	if (w->nwaiters == 0)
		return GROVE_WAIT_NO_DEADLINE;
	uint64_t d = w->next_ask_ms;
	for (size_t i = 0; i < w->nwaiters; i++)
		if (w->waiters[i].deadline_ms < d)
			d = w->waiters[i].deadline_ms;
	return d;
}
