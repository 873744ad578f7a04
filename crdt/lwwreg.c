/*
 * lwwreg.c - last-writer-wins register with an observed-remove tombstone.
 *
 * The register holds at most one value with its write id (ts, node).  Writes
 * are ordered by (ts, node id bytewise, value bytes): the value bytes only
 * matter when two writes share an id (two nodes misconfigured with one id),
 * and keep merge commutative even then.  A key delete raises the tombstone
 * to the id of the value it saw (observed-remove: not to its own id, which
 * would also drop unseen writes from nodes whose clocks lag); a value whose
 * id is <= the tombstone is dropped.  So a concurrent write the deleter had
 * not seen survives when its id is greater than the deleted value's, and
 * loses when it is smaller, as it would have lost to that value anyway.
 * Deleting an empty register changes nothing.
 */
#include <string.h>

#include "grove/alloc.h"
#include "crdt/value_int.h"

void grove_value__reg_free(grove_value__reg_t *r)
{
	grove_value__blob_free(&r->val);
	memset(r, 0, sizeof(*r));
}

bool grove_value__reg_live(const grove_value__reg_t *r)
{
	return r->has;
}

void grove_value__reg_reset(grove_value__reg_t *r)
{
	if (!r->has)
		return;
	r->tomb = r->id; /* a live value's id is greater than the tombstone */
	grove_value__blob_free(&r->val);
	r->has = false;
	memset(&r->id, 0, sizeof(r->id));
}

/* Orders two present values: id first, then value bytes. */
static int reg_order(const grove_value__id_t *ia, const grove_value__blob_t *va, const grove_value__id_t *ib,
			   const void *vb, size_t vb_len)
{
	int c = grove_value__id_cmp(ia, ib);
	return c ? c : grove_value__blob_cmp(va, vb, vb_len);
}

int grove_value__reg_merge(grove_value__reg_t *out, const grove_value__reg_t *a, const grove_value__reg_t *b)
{
	out->tomb = grove_value__id_cmp(&a->tomb, &b->tomb) >= 0 ? a->tomb : b->tomb;
	const grove_value__reg_t *win = a->has ? a : b;
	if (a->has && b->has && reg_order(&a->id, &a->val, &b->id, b->val.p, b->val.len) < 0)
		win = b;
	if (!win->has || grove_value__id_cmp(&win->id, &out->tomb) <= 0)
		return 0;
	int rc = grove_value__blob_set(&out->val, win->val.p, win->val.len);
	if (rc)
		return rc;
	out->has = true;
	out->id = win->id;
	return 0;
}

bool grove_value__reg_eq(const grove_value__reg_t *a, const grove_value__reg_t *b)
{
	return a->has == b->has && grove_value__id_cmp(&a->id, &b->id) == 0 &&
	       grove_value__id_cmp(&a->tomb, &b->tomb) == 0 && grove_value__blob_eq(&a->val, &b->val);
}

uint64_t grove_value__reg_max_ts(const grove_value__reg_t *r)
{
	return r->id.ts > r->tomb.ts ? r->id.ts : r->tomb.ts;
}

int grove_lwwreg_set(grove_value_t *v, const char *node, uint64_t ts, const void *val,
		     size_t len)
{
	if (len > GROVE_BLOB_MAX || (len && !val))
		return GROVE_EINVAL;
	grove_value_t *w;
	int rc = grove_value__value_begin(v, GROVE_TYPE_REGISTER, node, &w);
	if (rc)
		return rc;
	grove_value__reg_t *r = &w->reg;
	grove_value__id_t id = { .ts = ts };
	memcpy(id.node, node, strlen(node) + 1);
	if (grove_value__id_cmp(&id, &r->tomb) <= 0)
		return grove_value_end(v, w, 0); /* older than a delete: lost */
	if (r->has && reg_order(&id, &(grove_value__blob_t){ (uint8_t *)val, (uint32_t)len },
				      &r->id, r->val.p, r->val.len) <= 0)
		return grove_value_end(v, w, 0); /* older than the current value */
	rc = grove_value__blob_set(&r->val, val, len);
	if (rc == 0) {
		r->has = true;
		r->id = id;
	}
	return grove_value_end(v, w, rc);
}

int grove_lwwreg_get(const grove_value_t *v, const void **val, size_t *len)
{
	grove_type_t t = grove_value_type(v);
	if (t == GROVE_TYPE_NONE)
		return GROVE_ENOTFOUND;
	if (t != GROVE_TYPE_REGISTER)
		return GROVE_EWRONGTYPE;
	*val = v->reg.val.p ? (const void *)v->reg.val.p : (const void *)"";
	*len = v->reg.val.len;
	return 0;
}
