/*
 * expiry.c - a key's TTL: an LWW register of the deadline with an
 * observed-remove tombstone (doc/value_format.md, "Expiry").
 *
 * The component holds at most one deadline write (id, at_ms): id is the
 * write's HLC timestamp and node, at_ms the absolute deadline in unix
 * milliseconds, 0 for PERSIST (a write of "no TTL", so that it is ordered
 * against concurrent EXPIREs like any write).  Writes are ordered by id,
 * then by at_ms (only when two writes share an id).  Clearing the TTL as
 * a side effect (SET without KEEPTTL, DEL, the expiry of the key itself)
 * is observed-remove, as the register's delete: the tombstone becomes the
 * id of the write it saw, so a concurrent EXPIRE it had not seen survives
 * when its id is greater.  Merge: tombstone = max; the greater write,
 * dropped when its id is <= the tombstone.  That is the register's
 * join-semilattice, so commutative, associative and idempotent.
 */
#include <string.h>

#include "crdt/value_int.h"

bool grove_value__exp_empty(const grove_value__exp_t *e)
{
	return e->id.ts == 0 && !e->id.node[0] && e->tomb.ts == 0 && !e->tomb.node[0];
}

void grove_value__exp_reset(grove_value__exp_t *e)
{
	if (!e->id.node[0])
		return; /* no write to remove */
	e->tomb = e->id; /* a write's id is greater than the tombstone */
	memset(&e->id, 0, sizeof(e->id));
	e->at_ms = 0;
}

static int exp_order(const grove_value__exp_t *a, const grove_value__exp_t *b)
{
	int c = grove_value__id_cmp(&a->id, &b->id);
	return c ? c : (a->at_ms > b->at_ms) - (a->at_ms < b->at_ms);
}

void grove_value__exp_merge(grove_value__exp_t *out, const grove_value__exp_t *a,
			    const grove_value__exp_t *b)
{
	memset(out, 0, sizeof(*out));
	out->tomb = grove_value__id_cmp(&a->tomb, &b->tomb) >= 0 ? a->tomb : b->tomb;
	const grove_value__exp_t *win = exp_order(a, b) >= 0 ? a : b;
	if (!win->id.node[0] || grove_value__id_cmp(&win->id, &out->tomb) <= 0)
		return;
	out->id = win->id;
	out->at_ms = win->at_ms;
}

bool grove_value__exp_eq(const grove_value__exp_t *a, const grove_value__exp_t *b)
{
	return exp_order(a, b) == 0 && grove_value__id_cmp(&a->tomb, &b->tomb) == 0;
}

uint64_t grove_value__exp_max_ts(const grove_value__exp_t *e)
{
	return e->id.ts > e->tomb.ts ? e->id.ts : e->tomb.ts;
}

uint64_t grove_expiry_get(const grove_value_t *v)
{
	return v->exp.at_ms;
}

bool grove_expiry_written(const grove_value_t *v)
{
	return v->exp.id.node[0] != '\0';
}

int grove_expiry_set(grove_value_t *v, const char *node, uint64_t ts, uint64_t at_ms)
{
	if (!grove_value__node_valid(node) || ts == 0 || at_ms > GROVE_EXPIRY_AT_MAX)
		return GROVE_EINVAL;
	grove_value__exp_t w = { .id.ts = ts, .at_ms = at_ms, .tomb = v->exp.tomb };
	memcpy(w.id.node, node, strlen(node) + 1);
	if (grove_value__id_cmp(&w.id, &w.tomb) <= 0 || exp_order(&w, &v->exp) <= 0)
		return 0; /* older than what the key holds: lost */
	v->exp = w;
	return 0;
}

void grove_expiry_clear(grove_value_t *v)
{
	grove_value__exp_reset(&v->exp);
}
