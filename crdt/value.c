/*
 * value.c - the replicated value as a whole: lifecycle, visible type, the
 * type-conflict rule, merge, key-level delete and digest, plus the small
 * helpers (blobs, ids, growable arrays) the per-type files share.
 *
 * Type conflicts (doc/value_format.md, "type register"): the value keeps
 * one state per type side by side and an LWW type register (epoch, node,
 * type).  A write that finds the value logically empty "creates" the key:
 * it resets every component as a key delete does (observed-remove: hidden
 * state of a lost type conflict included) and sets the register to
 * (epoch + 1, node, type).  Merge joins every component and the register
 * independently, so it is a join of a product of semilattices: commutative,
 * associative and idempotent.  The visible type is the register's type when
 * that component is live, otherwise none.
 */
#include <string.h>

#include <sodium.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "crdt/coll.h"

int grove_value__blob_cmp(const grove_value__blob_t *a, const void *p, size_t len)
{
	size_t n = a->len < len ? a->len : len;
	int c = n ? memcmp(a->p, p, n) : 0;
	if (c)
		return c;
	return (a->len > len) - (a->len < len);
}

int grove_value__blob_set(grove_value__blob_t *b, const void *p, size_t len)
{
	GROVE_ASSERT(len <= GROVE_BLOB_MAX);
	uint8_t *copy = NULL;
	if (len) {
		copy = grove_malloc(len);
		if (!copy)
			return GROVE_ENOMEM;
		memcpy(copy, p, len);
	}
	grove_free(b->p);
	b->p = copy;
	b->len = (uint32_t)len;
	return 0;
}

bool grove_value__blob_eq(const grove_value__blob_t *a, const grove_value__blob_t *b)
{
	return grove_value__blob_cmp(a, b->p, b->len) == 0;
}

bool grove_value__dots_eq(const grove_value__dots_t *a, const grove_value__dots_t *b)
{
	if (a->len != b->len)
		return false;
	for (size_t i = 0; i < a->len; i++)
		if (grove_value__dot_cmp(&a->d[i], &b->d[i]) != 0)
			return false;
	return true;
}

void grove_value__blob_free(grove_value__blob_t *b)
{
	grove_free(b->p);
	b->p = NULL;
	b->len = 0;
}

int grove_value__id_cmp(const grove_value__id_t *a, const grove_value__id_t *b)
{
	if (a->ts != b->ts)
		return a->ts < b->ts ? -1 : 1;
	return strcmp(a->node, b->node);
}

int grove_value__dot_cmp(const grove_value__dot_t *a, const grove_value__dot_t *b)
{
	int c = strcmp(a->node, b->node);
	if (c)
		return c;
	return (a->counter > b->counter) - (a->counter < b->counter);
}

bool grove_value__node_valid(const char *node)
{
	if (!node)
		return false;
	size_t n = strnlen(node, GROVE_NODE_ID_MAX + 1);
	return n >= 1 && n <= GROVE_NODE_ID_MAX;
}

size_t grove_value__sorted_find(const void *base, size_t count, size_t elem_size, const void *key,
			  grove_value__cmp_fn cmp, bool *found)
{
	size_t lo = 0, hi = count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = cmp((const uint8_t *)base + mid * elem_size, key);
		if (r == 0) {
			*found = true;
			return mid;
		}
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

int grove_value_create(grove_value_t **out)
{
	grove_value_t *v = grove_calloc(1, sizeof(*v));
	if (!v)
		return GROVE_ENOMEM;
	*out = v;
	return 0;
}

void grove_value_free_parts(grove_value_t *v)
{
	grove_value__counter_free(&v->counter);
	grove_value__reg_free(&v->reg);
	grove_value__set_free(&v->set);
	grove_value__map_free(&v->map);
	memset(v, 0, sizeof(*v));
}

void grove_value_destroy(grove_value_t *v)
{
	if (!v)
		return;
	grove_value_free_parts(v);
	grove_free(v);
}

/* Clone through the codec: one code path, and canonical by construction. */
int grove_value_clone(const grove_value_t *v, grove_value_t **out)
{
	uint8_t *buf;
	size_t len;
	int rc = grove_value_encode(v, &buf, &len);
	if (rc)
		return rc;
	rc = grove_value_decode(buf, len, out);
	grove_free(buf);
	return rc;
}

static bool component_live(const grove_value_t *v, grove_type_t t)
{
	switch (t) {
	case GROVE_TYPE_COUNTER:
		return grove_value__counter_live(&v->counter);
	case GROVE_TYPE_REGISTER:
		return grove_value__reg_live(&v->reg);
	case GROVE_TYPE_SET:
		return grove_value__set_live(&v->set);
	case GROVE_TYPE_MAP:
		return grove_value__map_live(&v->map);
	case GROVE_TYPE_ZSET: /* members live in element records only */
	case GROVE_TYPE_LIST: /* so do list elements */
	case GROVE_TYPE_NONE:
		break;
	}
	return false;
}

grove_type_t grove_value_type(const grove_value_t *v)
{
	grove_type_t t = (grove_type_t)v->treg.type;
	return component_live(v, t) ? t : GROVE_TYPE_NONE;
}

bool grove_value_is_empty(const grove_value_t *v)
{
	return grove_value_type(v) == GROVE_TYPE_NONE;
}

const char *grove_type_name(grove_type_t t)
{
	switch (t) {
	case GROVE_TYPE_COUNTER:
		return "counter";
	case GROVE_TYPE_REGISTER:
		return "register";
	case GROVE_TYPE_SET:
		return "set";
	case GROVE_TYPE_MAP:
		return "map";
	case GROVE_TYPE_ZSET:
		return "zset";
	case GROVE_TYPE_LIST:
		return "list";
	case GROVE_TYPE_NONE:
		break;
	}
	return "none";
}

/* Observed-remove reset of every component, for a key delete and for a
 * creating write alike: each removes exactly what it holds (counter
 * baselines raised to the totals, set elements dropped with their dots kept
 * in the context, the register's value and the map's live fields turned
 * into tombstones at their own ids) and is a no-op on a dead component.
 * The map goes first: it is the only step that allocates, so on failure
 * nothing has changed. */
static int value_reset(grove_value_t *v)
{
	int rc = grove_value__map_reset(&v->map);
	if (rc)
		return rc;
	grove_value__counter_reset(&v->counter);
	grove_value__reg_reset(&v->reg);
	grove_value__set_reset(&v->set);
	grove_value__exp_reset(&v->exp);
	return 0;
}

int grove_value__value_begin(grove_value_t *v, grove_type_t t, const char *node, grove_value_t **work)
{
	if (!grove_value__node_valid(node))
		return GROVE_EINVAL;
	grove_type_t vis = grove_value_type(v);
	if (vis == t) {
		*work = v;
		return 0;
	}
	if (vis != GROVE_TYPE_NONE)
		return GROVE_EWRONGTYPE;
	if (v->treg.id.ts == UINT64_MAX)
		return GROVE_EOVERFLOW;
	grove_value_t *w;
	int rc = grove_value_clone(v, &w);
	if (rc)
		return rc;
	rc = value_reset(w);
	if (rc) {
		grove_value_destroy(w);
		return rc;
	}
	w->treg.id.ts = v->treg.id.ts + 1;
	memcpy(w->treg.id.node, node, strlen(node) + 1);
	w->treg.type = (uint8_t)t;
	*work = w;
	return 0;
}

static void value_swap(grove_value_t *a, grove_value_t *b);

int grove_value_create_as(grove_value_t *v, grove_type_t t, const char *node)
{
	if (!grove_value__node_valid(node))
		return GROVE_EINVAL;
	if (v->treg.id.ts == UINT64_MAX)
		return GROVE_EOVERFLOW;
	grove_value_t *w;
	int rc = grove_value_clone(v, &w);
	if (rc == 0)
		rc = value_reset(w);
	if (rc == 0) {
		w->treg.id.ts = v->treg.id.ts + 1;
		memcpy(w->treg.id.node, node, strlen(node) + 1);
		w->treg.type = (uint8_t)t;
	}
	return grove_value_end(v, w, rc);
}

static void value_swap(grove_value_t *a, grove_value_t *b)
{
	grove_value_t t = *a;
	*a = *b;
	*b = t;
}

int grove_value_end(grove_value_t *v, grove_value_t *work, int rc)
{
	if (work == v)
		return rc;
	if (rc == 0)
		value_swap(v, work);
	grove_value_destroy(work);
	return rc;
}

/* Structural equality of canonical states (same as equal encodings). */
static bool value_eq(const grove_value_t *a, const grove_value_t *b)
{
	return grove_value__id_cmp(&a->treg.id, &b->treg.id) == 0 && a->treg.type == b->treg.type &&
	       grove_value__counter_eq(&a->counter, &b->counter) && grove_value__reg_eq(&a->reg, &b->reg) &&
	       grove_value__set_eq(&a->set, &b->set) && grove_value__map_eq(&a->map, &b->map) &&
	       grove_value__exp_eq(&a->exp, &b->exp);
}

int grove_value_merge(grove_value_t *dst, const grove_value_t *src, bool *changed)
{
	grove_value_t *m;
	int rc = grove_value_create(&m);
	if (rc)
		return rc;
	const grove_value__treg_t *a = &dst->treg, *b = &src->treg;
	int c = grove_value__id_cmp(&a->id, &b->id);
	m->treg = (c > 0 || (c == 0 && a->type >= b->type)) ? *a : *b;
	rc = grove_value__counter_merge(&m->counter, &dst->counter, &src->counter);
	if (!rc)
		rc = grove_value__reg_merge(&m->reg, &dst->reg, &src->reg);
	if (!rc)
		rc = grove_value__set_merge(&m->set, &dst->set, &src->set);
	if (!rc)
		rc = grove_value__map_merge(&m->map, &dst->map, &src->map);
	if (rc) {
		grove_value_destroy(m);
		return rc;
	}
	grove_value__exp_merge(&m->exp, &dst->exp, &src->exp);
	if (changed)
		*changed = !value_eq(dst, m);
	value_swap(dst, m);
	grove_value_destroy(m);
	return 0;
}

uint64_t grove_value_max_ts(const grove_value_t *v)
{
	uint64_t a = grove_value__reg_max_ts(&v->reg), b = grove_value__map_max_ts(&v->map);
	uint64_t e = grove_value__exp_max_ts(&v->exp);
	a = a > b ? a : b;
	return a > e ? a : e;
}

/* The delete records no id of its own (ts is unused): what it removes is
 * named by the ids and dots it saw, so a lagging clock elsewhere cannot make
 * it swallow writes it never saw. */
int grove_value_delete(grove_value_t *v, const char *node, uint64_t ts)
{
	(void)ts;
	if (!grove_value__node_valid(node))
		return GROVE_EINVAL;
	return value_reset(v);
}

void grove_digest(const uint8_t *buf, size_t len, uint8_t out[GROVE_DIGEST_BYTES])
{
	crypto_generichash(out, GROVE_DIGEST_BYTES, buf, len, NULL, 0);
}
