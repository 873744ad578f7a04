/*
 * syncer.c - the Syncer of syncer.h: a bounded-depth descent of the two
 * digest trees, a merge-join of differing segments, per-key two-way merges,
 * and a background loop on a pthread.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "base/buf.h"
#include "storage/glob.h"
#include "storage/store.h"
#include "grove/syncer.h"

#define SEG_LIST_MIN 32 /* entries of a segment list's first allocation */

struct grove_syncer {
	grove_db_t *a, *b;
	uint8_t pattern[GROVE_SYNCER_PATTERN_MAX];
	size_t plen;
	uint32_t interval_ms;
	pthread_mutex_t sync_mu; /* one sync at a time */
	pthread_mutex_t mu;      /* guards the fields below */
	pthread_cond_t cv;       /* CLOCK_MONOTONIC: the loop's sleep */
	pthread_t thread;
	bool running, stopping;
	uint64_t rounds;
	grove_sync_report_t last;
};

void grove_syncer_options_init(grove_syncer_options_t *opts)
{
	opts->pattern = GROVE_SYNCER_PATTERN_DEFAULT;
	opts->interval_ms = GROVE_SYNCER_INTERVAL_MS_DEFAULT;
}

int grove_syncer_create(grove_db_t *a, grove_db_t *b, const grove_syncer_options_t *opts,
			grove_syncer_t **out)
{
	grove_syncer_options_t defaults;
	if (!opts) {
		grove_syncer_options_init(&defaults);
		opts = &defaults;
	}
	size_t plen = opts->pattern ? strlen(opts->pattern) : 0;
	if (!a || !b || a == b || plen > GROVE_SYNCER_PATTERN_MAX || opts->interval_ms == 0)
		return GROVE_EINVAL;
	grove_syncer_t *s = grove_calloc(1, sizeof(*s));
	if (!s)
		return GROVE_ENOMEM;
	s->a = a;
	s->b = b;
	memcpy(s->pattern, opts->pattern ? opts->pattern : "", plen);
	s->plen = plen;
	s->interval_ms = opts->interval_ms;
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &attr);
	pthread_condattr_destroy(&attr);
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->sync_mu, NULL);
	*out = s;
	return 0;
}

void grove_syncer_destroy(grove_syncer_t *s)
{
	if (!s)
		return;
	grove_syncer_stop(s);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->sync_mu);
	grove_free(s);
}

/* --- one segment --- */

typedef struct seg_entry {
	uint8_t *key;
	size_t klen;
	uint8_t digest[GROVE_DIGEST_BYTES];
} seg_entry_t;

typedef struct seg_list {
	seg_entry_t *e;
	size_t len, cap;
	int rc;
} seg_list_t;

static int collect_entry(void *ctx, const void *key, size_t klen,
			 const uint8_t digest[GROVE_DIGEST_BYTES])
{
	seg_list_t *l = ctx;
	if (l->len == GROVE_SYNC_SEGMENT_KEYS_MAX) {
		l->rc = GROVE_ETOOBIG;
		return 1;
	}
	int rc = grove_grow((void **)&l->e, &l->cap, l->len + 1, sizeof(*l->e), SEG_LIST_MIN, 0);
	if (rc < 0) {
		l->rc = rc;
		return 1;
	}
	seg_entry_t *e = &l->e[l->len];
	e->key = grove_malloc(klen);
	if (!e->key) {
		l->rc = GROVE_ENOMEM;
		return 1;
	}
	memcpy(e->key, key, klen);
	e->klen = klen;
	memcpy(e->digest, digest, GROVE_DIGEST_BYTES);
	l->len++;
	return 0;
}

static void seg_list_free(seg_list_t *l)
{
	for (size_t i = 0; i < l->len; i++)
		grove_free(l->e[i].key);
	grove_free(l->e);
}

static void report_error(grove_sync_report_t *r, const void *key, size_t klen, char side, int code)
{
	r->errors++;
	if (r->errors_listed == GROVE_SYNC_ERRORS_MAX)
		return;
	grove_sync_error_t *e = &r->error[r->errors_listed++];
	size_t n = klen < GROVE_SYNC_ERROR_KEY_MAX ? klen : GROVE_SYNC_ERROR_KEY_MAX;
	memcpy(e->key, key, n);
	e->klen = klen;
	e->side = side;
	e->code = code;
}

/* Merges src's state of key into dst.  A missing state on src is not an
 * error (nothing to give).  Returns whether dst changed. */
static bool merge_one(grove_db_t *src, grove_db_t *dst, char dst_side, const void *name,
		      size_t nlen, const void *key, size_t klen, grove_sync_report_t *r)
{
	uint8_t *enc;
	size_t len;
	bool changed = false;
	int rc = grove_db_item_state(src, name, nlen, &enc, &len);
	if (rc == GROVE_ENOTFOUND)
		return false;
	if (rc == 0) {
		rc = grove_db_item_merge(dst, name, nlen, enc, len, &changed, NULL);
		grove_free(enc);
	}
	if (rc) {
		report_error(r, key, klen, dst_side, rc);
		return false;
	}
	return changed;
}

/* One item (a key's head or one element, both ways). */
static void sync_key(grove_syncer_t *s, const void *name, size_t nlen, grove_sync_report_t *r)
{
	int kind;
	const uint8_t *key, *elem;
	size_t klen, elen;
	if (grove_db_item_parse(name, nlen, &kind, &key, &klen, &elem, &elen) != 0 ||
	    !grove_glob_match(s->pattern, s->plen, key, klen)) {
		r->skipped_pattern++;
		return;
	}
	r->keys_touched++;
	/* a->b then b->a: b's removal that a missed reaches a in the second */
	bool a_changed = merge_one(s->b, s->a, 'a', name, nlen, key, klen, r);
	bool b_changed = merge_one(s->a, s->b, 'b', name, nlen, key, klen, r);
	r->pulled += a_changed;
	r->pushed += b_changed;
	r->merged += a_changed && b_changed;
}

/* Merge-joins the two segments' sorted (key, digest) lists. */
static int sync_segment(grove_syncer_t *s, uint32_t seg, grove_sync_report_t *r)
{
	seg_list_t la = { 0 }, lb = { 0 };
	int rc = grove_db_segment_keys(s->a, seg, collect_entry, &la);
	if (rc == 0)
		rc = la.rc;
	if (rc == 0)
		rc = grove_db_segment_keys(s->b, seg, collect_entry, &lb);
	if (rc == 0)
		rc = lb.rc;
	size_t i = 0, j = 0;
	while (rc == 0 && (i < la.len || j < lb.len)) {
		seg_entry_t *ea = i < la.len ? &la.e[i] : NULL, *eb = j < lb.len ? &lb.e[j] : NULL;
		int c = !ea ? 1 : !eb ? -1 : grove_key_cmp(ea->key, ea->klen, eb->key, eb->klen);
		r->keys_compared++;
		if (c == 0 && memcmp(ea->digest, eb->digest, GROVE_DIGEST_BYTES) == 0) {
			i++, j++;
			continue;
		}
		const seg_entry_t *e = c <= 0 ? ea : eb;
		sync_key(s, e->key, e->klen, r);
		i += c <= 0;
		j += c >= 0;
	}
	seg_list_free(&la);
	seg_list_free(&lb);
	return rc;
}

/* --- the tree walk (depth bounded by GROVE_TREE_LEVELS) --- */

static int descend(grove_syncer_t *s, unsigned level, uint32_t index, grove_sync_report_t *r)
{
	GROVE_ASSERT(level <= GROVE_TREE_LEVELS);
	uint8_t da[GROVE_DIGEST_BYTES], db[GROVE_DIGEST_BYTES];
	int rc = grove_db_tree_node(s->a, level, index, da, NULL);
	if (rc == 0)
		rc = grove_db_tree_node(s->b, level, index, db, NULL);
	if (rc)
		return rc;
	r->nodes_compared++;
	if (memcmp(da, db, sizeof(da)) == 0)
		return 0;
	if (level == GROVE_TREE_LEVELS) {
		r->segments_diff++;
		return sync_segment(s, index, r);
	}
	for (uint32_t c = 0; c < GROVE_TREE_FANOUT && rc == 0; c++)
		rc = descend(s, level + 1, index * GROVE_TREE_FANOUT + c, r);
	return rc;
}

int grove_syncer_sync(grove_syncer_t *s, grove_sync_report_t *report)
{
	grove_sync_report_t r;
	memset(&r, 0, sizeof(r));
	pthread_mutex_lock(&s->sync_mu);
	int rc = descend(s, 0, 0, &r);
	pthread_mutex_unlock(&s->sync_mu);
	if (report)
		*report = r;
	return rc;
}

/* --- background loop --- */

static struct timespec deadline(uint32_t ms)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000;
	t.tv_sec += t.tv_nsec / 1000000000;
	t.tv_nsec %= 1000000000;
	return t;
}

static void *loop_main(void *arg)
{
	grove_syncer_t *s = arg;
	pthread_mutex_lock(&s->mu);
	while (!s->stopping) {
		pthread_mutex_unlock(&s->mu);
		grove_sync_report_t r;
		int rc = grove_syncer_sync(s, &r);
		if (rc)
			report_error(&r, "", 0, '-', rc); /* the walk itself failed */
		pthread_mutex_lock(&s->mu);
		s->last = r;
		s->rounds++;
		pthread_cond_broadcast(&s->cv); /* wakes waiters on rounds too */
		struct timespec until = deadline(s->interval_ms);
		while (!s->stopping)
			if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT)
				break;
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

int grove_syncer_start(grove_syncer_t *s)
{
	pthread_mutex_lock(&s->mu);
	int rc = 0;
	if (s->running) {
		rc = GROVE_EEXISTS;
	} else {
		s->stopping = false;
		if (pthread_create(&s->thread, NULL, loop_main, s) != 0)
			rc = GROVE_EAGAIN;
		else
			s->running = true;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

void grove_syncer_stop(grove_syncer_t *s)
{
	pthread_mutex_lock(&s->mu);
	if (!s->running) {
		pthread_mutex_unlock(&s->mu);
		return;
	}
	s->stopping = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->thread, NULL);
	pthread_mutex_lock(&s->mu);
	s->running = false;
	pthread_mutex_unlock(&s->mu);
}

void grove_syncer_last(grove_syncer_t *s, grove_sync_report_t *report, uint64_t *rounds)
{
	pthread_mutex_lock(&s->mu);
	if (report)
		*report = s->last;
	if (rounds)
		*rounds = s->rounds;
	pthread_mutex_unlock(&s->mu);
}

int grove_syncer_wait_rounds(grove_syncer_t *s, uint64_t rounds, uint32_t timeout_ms)
{
	struct timespec until = deadline(timeout_ms);
	int rc = 0;
	pthread_mutex_lock(&s->mu);
	while (s->rounds < rounds && rc == 0)
		if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT)
			rc = s->rounds < rounds ? GROVE_ETIMEOUT : 0;
	pthread_mutex_unlock(&s->mu);
	return rc;
}
