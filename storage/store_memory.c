/*
 * store_memory.c - the memory backend of store.h: a skip list ordered
 * bytewise (as LevelDB), with multi-version records for snapshots.
 *
 * Every committed batch gets the next sequence number; each key keeps a
 * chain of versions (newest first, a delete being a version too).  A
 * snapshot is a sequence number registered in a list of live snapshots and
 * sees, for each key, the newest version not newer than it.  Writes prune
 * the versions no live snapshot can see, and unlink deleted keys' nodes when
 * no snapshot (nor iterator, which always holds one) is live, so a node an
 * iterator stands on is never freed under it.
 *
 * One rwlock guards everything: writers take it exclusively for the whole
 * batch (atomic visibility), readers and iterator moves take it shared.
 * The skip list's tower heights come from a fixed-seed grove_rng_t.
 */
#include <pthread.h>
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "base/list.h"
#include "base/rng.h"
#include "storage/store.h"

#define MEM_HEIGHT_MAX 24
#define MEM_RNG_SEED 0x67726f7665ULL /* "grove": heights need no secrecy */

typedef struct mem_version {
	struct mem_version *older;
	uint64_t seq;
	bool deleted;
	size_t vlen;
	uint8_t val[];
} mem_version_t;

typedef struct mem_node {
	uint8_t *key;
	size_t klen;
	mem_version_t *versions; /* newest first; NULL only in the head node */
	int height;
	struct mem_node *next[];
} mem_node_t;

typedef struct mem_snapshot {
	uint64_t seq;
	grove_list_t link; /* in the store's live list, oldest first */
} mem_snapshot_t;

typedef struct mem_store {
	grove_store_t base;
	pthread_rwlock_t lock;
	mem_node_t *head;
	int height;
	uint64_t seq;         /* sequence number of the last committed batch */
	grove_list_t live;    /* live snapshots (mem_snapshot_t), oldest first */
	size_t live_count;
	grove_rng_t rng;
} mem_store_t;

typedef struct mem_iter {
	grove_iter_t base;
	mem_store_t *store;
	const mem_snapshot_t *snap;
	mem_snapshot_t *own_snap; /* non-NULL when created without a snapshot */
	mem_node_t *cur;
	const mem_version_t *ver; /* cur's version visible in snap */
} mem_iter_t;

static const grove_store_ops_t mem_ops;

static mem_node_t *node_new(const void *key, size_t klen, int height)
{
	mem_node_t *n = grove_calloc(1, sizeof(*n) + (size_t)height * sizeof(n->next[0]));
	if (!n)
		return NULL;
	n->key = grove_malloc(klen);
	if (!n->key) {
		grove_free(n);
		return NULL;
	}
	if (klen)
		memcpy(n->key, key, klen);
	n->klen = klen;
	n->height = height;
	return n;
}

static void node_free(mem_node_t *n)
{
	mem_version_t *v = n->versions;
	while (v) {
		mem_version_t *o = v->older;
		grove_free(v);
		v = o;
	}
	grove_free(n->key);
	grove_free(n);
}

/* The version of n visible at seq, or NULL when absent or deleted. */
static const mem_version_t *visible(const mem_node_t *n, uint64_t seq)
{
	const mem_version_t *v = n->versions;
	while (v && v->seq > seq)
		v = v->older;
	return v && !v->deleted ? v : NULL;
}

/* First node with key >= key; fills prev[] (may be NULL) with the last node
 * before it on every level.  O(log n) expected. */
static mem_node_t *find_ge(mem_store_t *m, const void *key, size_t klen,
			   mem_node_t *prev[MEM_HEIGHT_MAX])
{
	mem_node_t *x = m->head;
	for (int lvl = MEM_HEIGHT_MAX - 1; lvl >= 0; lvl--) {
		while (x->next[lvl] &&
		       grove_key_cmp(x->next[lvl]->key, x->next[lvl]->klen, key, klen) < 0)
			x = x->next[lvl];
		if (prev)
			prev[lvl] = x;
	}
	return x->next[0];
}

static int random_height(mem_store_t *m)
{
	int h = 1;
	while (h < MEM_HEIGHT_MAX && grove_rng_below(&m->rng, 4) == 0)
		h++;
	return h;
}

/* Drops versions no live snapshot can see; unlinks a deleted key's node
 * when no snapshot is live.  Caller holds the write lock. */
static void prune(mem_store_t *m, mem_node_t *n, mem_node_t *prev[MEM_HEIGHT_MAX])
{
	if (m->live_count == 0 && n->versions->deleted) {
		for (int lvl = 0; lvl < n->height; lvl++)
			prev[lvl]->next[lvl] = n->next[lvl];
		node_free(n);
		return;
	}
	uint64_t oldest = m->live_count ? GROVE_LIST_ENTRY(m->live.next, mem_snapshot_t, link)->seq : UINT64_MAX;
	mem_version_t *keep = n->versions;
	while (keep->older && keep->seq > oldest)
		keep = keep->older;
	mem_version_t *drop = keep->older;
	keep->older = NULL;
	while (drop) {
		mem_version_t *o = drop->older;
		grove_free(drop);
		drop = o;
	}
}

/* One op's memory, allocated before the batch touches the list so that an
 * allocation failure leaves the store unchanged (atomic batches). */
typedef struct mem_prealloc {
	mem_version_t *v;
	mem_node_t *n; /* used only when the key is new */
} mem_prealloc_t;

typedef struct mem_apply {
	mem_store_t *m;
	mem_prealloc_t *pre;
	size_t i;
	uint64_t seq;
	int rc;
} mem_apply_t;

static void prealloc_op(void *ctx, int op, const uint8_t *key, size_t klen, const uint8_t *val,
			size_t vlen)
{
	mem_apply_t *a = ctx;
	mem_prealloc_t *p = &a->pre[a->i++];
	if (a->rc)
		return;
	p->v = grove_malloc(sizeof(*p->v) + vlen);
	if (op == GROVE_BATCH_PUT)
		p->n = node_new(key, klen, random_height(a->m));
	if (!p->v || (op == GROVE_BATCH_PUT && !p->n)) {
		a->rc = GROVE_ENOMEM;
		return;
	}
	p->v->seq = a->seq;
	p->v->deleted = op == GROVE_BATCH_DEL;
	p->v->vlen = vlen;
	if (vlen)
		memcpy(p->v->val, val, vlen);
}

static void apply_op(void *ctx, int op, const uint8_t *key, size_t klen, const uint8_t *val,
		     size_t vlen)
{
	mem_apply_t *a = ctx;
	mem_prealloc_t *p = &a->pre[a->i++];
	mem_node_t *prev[MEM_HEIGHT_MAX];
	(void)val;
	(void)vlen;
	mem_node_t *n = find_ge(a->m, key, klen, prev);
	if (!n || grove_key_cmp(n->key, n->klen, key, klen) != 0) {
		if (op == GROVE_BATCH_DEL)
			return; /* p->v freed by mem_write */
		n = p->n;
		p->n = NULL;
		for (int lvl = 0; lvl < n->height; lvl++) {
			n->next[lvl] = prev[lvl]->next[lvl];
			prev[lvl]->next[lvl] = n;
		}
	}
	p->v->older = n->versions;
	n->versions = p->v;
	p->v = NULL;
	prune(a->m, n, prev);
}

static void prealloc_free(mem_prealloc_t *pre, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		grove_free(pre[i].v);
		if (pre[i].n)
			node_free(pre[i].n);
	}
	grove_free(pre);
}

/* Allocates every op's memory first (under the lock, for the rng), then
 * applies the whole batch under one sequence number.  O(ops log n). */
static int mem_write(grove_store_t *s, const grove_batch_t *b, bool sync)
{
	mem_store_t *m = (mem_store_t *)s;
	(void)sync;
	mem_prealloc_t *pre = grove_calloc(b->count, sizeof(*pre));
	if (!pre)
		return GROVE_ENOMEM;
	GROVE_ASSERT(pthread_rwlock_wrlock(&m->lock) == 0);
	mem_apply_t a = { .m = m, .pre = pre, .seq = m->seq + 1 };
	grove_batch_iterate(b, prealloc_op, &a);
	if (a.rc == 0) {
		a.i = 0;
		grove_batch_iterate(b, apply_op, &a);
		m->seq++;
	}
	pthread_rwlock_unlock(&m->lock);
	prealloc_free(pre, b->count);
	return a.rc;
}

static int mem_get(grove_store_t *s, const grove_snapshot_t *snap, const void *key, size_t klen,
		   uint8_t **val, size_t *vlen)
{
	mem_store_t *m = (mem_store_t *)s;
	int rc = GROVE_ENOTFOUND;
	GROVE_ASSERT(pthread_rwlock_rdlock(&m->lock) == 0);
	uint64_t seq = snap ? ((const mem_snapshot_t *)snap)->seq : m->seq;
	mem_node_t *n = find_ge(m, key, klen, NULL);
	const mem_version_t *v = NULL;
	if (n && grove_key_cmp(n->key, n->klen, key, klen) == 0)
		v = visible(n, seq);
	if (v) {
		uint8_t *copy = grove_malloc(v->vlen);
		rc = copy ? 0 : GROVE_ENOMEM;
		if (copy) {
			if (v->vlen)
				memcpy(copy, v->val, v->vlen);
			*val = copy;
			*vlen = v->vlen;
		}
	}
	pthread_rwlock_unlock(&m->lock);
	return rc;
}

static int mem_snapshot_create(grove_store_t *s, grove_snapshot_t **out)
{
	mem_store_t *m = (mem_store_t *)s;
	mem_snapshot_t *snap = grove_calloc(1, sizeof(*snap));
	if (!snap)
		return GROVE_ENOMEM;
	GROVE_ASSERT(pthread_rwlock_wrlock(&m->lock) == 0);
	snap->seq = m->seq;
	grove_list_insert_tail(&m->live, &snap->link); /* newest, so last */
	m->live_count++;
	pthread_rwlock_unlock(&m->lock);
	*out = (grove_snapshot_t *)snap;
	return 0;
}

static void mem_snapshot_release(grove_store_t *s, grove_snapshot_t *gs)
{
	mem_store_t *m = (mem_store_t *)s;
	mem_snapshot_t *snap = (mem_snapshot_t *)gs;
	GROVE_ASSERT(pthread_rwlock_wrlock(&m->lock) == 0);
	grove_list_remove(&snap->link);
	GROVE_ASSERT(m->live_count > 0);
	m->live_count--;
	pthread_rwlock_unlock(&m->lock);
	grove_free(snap);
}

/* Moves it to the first node at or after n with a version visible in its
 * snapshot.  Caller holds the read lock. */
static void iter_settle(mem_iter_t *it, mem_node_t *n)
{
	while (n && !(it->ver = visible(n, it->snap->seq)))
		n = n->next[0];
	it->cur = n;
	if (!n)
		it->ver = NULL;
}

static int mem_iter_create(grove_store_t *s, const grove_snapshot_t *snap, grove_iter_t **out)
{
	mem_store_t *m = (mem_store_t *)s;
	mem_iter_t *it = grove_calloc(1, sizeof(*it));
	if (!it)
		return GROVE_ENOMEM;
	if (!snap) {
		int rc = mem_snapshot_create(s, (grove_snapshot_t **)&it->own_snap);
		if (rc) {
			grove_free(it);
			return rc;
		}
		snap = (const grove_snapshot_t *)it->own_snap;
	}
	it->base.ops = &mem_ops;
	it->store = m;
	it->snap = (const mem_snapshot_t *)snap;
	*out = &it->base;
	return 0;
}

static void mem_iter_destroy(grove_iter_t *gi)
{
	mem_iter_t *it = (mem_iter_t *)gi;
	if (it->own_snap)
		mem_snapshot_release(&it->store->base, (grove_snapshot_t *)it->own_snap);
	grove_free(it);
}

static void mem_iter_seek(grove_iter_t *gi, const void *key, size_t klen)
{
	mem_iter_t *it = (mem_iter_t *)gi;
	GROVE_ASSERT(pthread_rwlock_rdlock(&it->store->lock) == 0);
	iter_settle(it, find_ge(it->store, key, klen, NULL));
	pthread_rwlock_unlock(&it->store->lock);
}

static bool mem_iter_valid(const grove_iter_t *gi)
{
	return ((const mem_iter_t *)gi)->cur != NULL;
}

static void mem_iter_next(grove_iter_t *gi)
{
	mem_iter_t *it = (mem_iter_t *)gi;
	GROVE_ASSERT(it->cur);
	GROVE_ASSERT(pthread_rwlock_rdlock(&it->store->lock) == 0);
	iter_settle(it, it->cur->next[0]);
	pthread_rwlock_unlock(&it->store->lock);
}

/* Last node with key < key (klen 0 with key NULL: the last node), or NULL.
 * O(log n) expected. */
static mem_node_t *find_lt(mem_store_t *m, const void *key, size_t klen)
{
	mem_node_t *x = m->head;
	for (int lvl = MEM_HEIGHT_MAX - 1; lvl >= 0; lvl--)
		while (x->next[lvl] && (!key || grove_key_cmp(x->next[lvl]->key, x->next[lvl]->klen,
							      key, klen) < 0))
			x = x->next[lvl];
	return x == m->head ? NULL : x;
}

/* Moves it to the last node at or before n with a version visible in its
 * snapshot.  Caller holds the read lock. */
static void iter_settle_back(mem_iter_t *it, mem_node_t *n)
{
	while (n && !(it->ver = visible(n, it->snap->seq)))
		n = find_lt(it->store, n->key, n->klen);
	it->cur = n;
	if (!n)
		it->ver = NULL;
}

static void mem_iter_seek_before(grove_iter_t *gi, const void *key, size_t klen)
{
	mem_iter_t *it = (mem_iter_t *)gi;
	GROVE_ASSERT(pthread_rwlock_rdlock(&it->store->lock) == 0);
	iter_settle_back(it, find_lt(it->store, klen ? key : NULL, klen));
	pthread_rwlock_unlock(&it->store->lock);
}

static void mem_iter_prev(grove_iter_t *gi)
{
	mem_iter_t *it = (mem_iter_t *)gi;
	GROVE_ASSERT(it->cur);
	GROVE_ASSERT(pthread_rwlock_rdlock(&it->store->lock) == 0);
	iter_settle_back(it, find_lt(it->store, it->cur->key, it->cur->klen));
	pthread_rwlock_unlock(&it->store->lock);
}

static const uint8_t *mem_iter_key(const grove_iter_t *gi, size_t *klen)
{
	const mem_iter_t *it = (const mem_iter_t *)gi;
	GROVE_ASSERT(it->cur);
	*klen = it->cur->klen;
	return it->cur->key;
}

static const uint8_t *mem_iter_value(const grove_iter_t *gi, size_t *vlen)
{
	const mem_iter_t *it = (const mem_iter_t *)gi;
	GROVE_ASSERT(it->ver);
	*vlen = it->ver->vlen;
	return it->ver->val;
}

static int mem_iter_status(const grove_iter_t *gi)
{
	(void)gi;
	return 0;
}

static void mem_close(grove_store_t *s)
{
	mem_store_t *m = (mem_store_t *)s;
	GROVE_ASSERT(m->live_count == 0); /* iterators and snapshots released first */
	mem_node_t *n = m->head->next[0];
	while (n) {
		mem_node_t *nx = n->next[0];
		node_free(n);
		n = nx;
	}
	grove_free(m->head->key);
	grove_free(m->head);
	pthread_rwlock_destroy(&m->lock);
	grove_free(m);
}

static const grove_store_ops_t mem_ops = {
	.name = "memory",
	.get = mem_get,
	.write = mem_write,
	.snapshot_create = mem_snapshot_create,
	.snapshot_release = mem_snapshot_release,
	.iter_create = mem_iter_create,
	.iter_destroy = mem_iter_destroy,
	.iter_seek = mem_iter_seek,
	.iter_valid = mem_iter_valid,
	.iter_next = mem_iter_next,
	.iter_seek_before = mem_iter_seek_before,
	.iter_prev = mem_iter_prev,
	.iter_key = mem_iter_key,
	.iter_value = mem_iter_value,
	.iter_status = mem_iter_status,
	.close = mem_close,
};

int grove_store_open_memory(grove_store_t **out)
{
	mem_store_t *m = grove_calloc(1, sizeof(*m));
	if (!m)
		return GROVE_ENOMEM;
	m->head = node_new("", 0, MEM_HEIGHT_MAX);
	if (!m->head) {
		grove_free(m);
		return GROVE_ENOMEM;
	}
	if (pthread_rwlock_init(&m->lock, NULL) != 0) {
		grove_free(m->head->key);
		grove_free(m->head);
		grove_free(m);
		return GROVE_ENOMEM;
	}
	m->base.ops = &mem_ops;
	grove_list_init(&m->live);
	grove_rng_seed(&m->rng, MEM_RNG_SEED);
	*out = &m->base;
	return 0;
}
