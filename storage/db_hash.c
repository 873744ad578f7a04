/*
 * db_hash.c - counter fields of hashes: HINCRBY's write (grove_db_map_incr)
 * and the read that tells a counter field (grove_db_map_lookup).  The rule
 * and the entries are crdt/hcount.[ch]'s (doc/value_format.md, "Counter
 * fields"); the write goes through db_coll.c's write flow (coll_t: key
 * lock, head and metadata, one batch), as db_list.c does: the field's
 * live entries are loaded, the writer's INC entry replaced by one with a
 * fresh dot, and the record stored; merge, anti-entropy, HSET, HDEL and
 * key deletes are db_coll.c's, per element.  O(entries of the field).
 */
#include <string.h>

#include "base/num.h"
#include "grove/alloc.h"
#include "crdt/hcount.h"
#include "storage/db_coll_int.h"

typedef struct hop {
	ename_t *en;
	int64_t delta;
	int64_t out; /* the value after */
	bool wrote;
} hop_t;

/* The field's current integer: 0 when absent; GROVE_ERANGE when it holds
 * anything but a decimal int64. */
static int field_int(const grove_elem_t *l, int64_t *cur)
{
	grove_hfield_val_t v;
	int rc = grove_hfield_eval(l, &v);
	*cur = 0;
	if (rc == GROVE_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	if (v.counter) {
		*cur = v.i64;
		return v.fits ? 0 : GROVE_ERANGE;
	}
	return grove_parse_i64(v.p, v.len, cur) ? 0 : GROVE_ERANGE;
}

static int apply_incr(coll_t *c, hop_t *o)
{
	grove_type_t vis = grove_db__type_of(c->st.v, &c->m);
	if (vis != GROVE_TYPE_MAP && vis != GROVE_TYPE_NONE)
		return GROVE_EWRONGTYPE;
	grove_elem_t l = { 0 }, x = { 0 };
	bool had;
	uint8_t raw_item[GROVE_DIGEST_BYTES], old_item[GROVE_DIGEST_BYTES];
	int rc = grove_db__elem_load(c, NULL, o->en, &l, &had, raw_item);
	if (rc == 0 && vis == GROVE_TYPE_NONE) { /* creating write: hidden state goes */
		rc = grove_db__coll_delete_elements(c);
		if (rc == 0)
			rc = grove_value_create_as(c->st.v, GROVE_TYPE_MAP, c->db->node_id);
		if (rc == 0 && had) { /* the delete covers the element's entries */
			grove_elem_free(&l);
			rc = grove_db__elem_load(c, NULL, o->en, &l, &had, raw_item);
		}
	}
	int64_t cur = 0;
	if (rc == 0)
		rc = field_int(&l, &cur);
	if (rc == 0 && ((o->delta > 0 && cur > INT64_MAX - o->delta) ||
			(o->delta < 0 && cur < INT64_MIN - o->delta)))
		rc = GROVE_EOVERFLOW;
	if (rc == 0 && l.len)
		rc = grove_db__elem_item_of(o->en, &l, old_item);
	uint64_t ts = 0;
	grove_value__dot_t d;
	if (rc == 0)
		rc = grove_db__elem_new_dot(c, grove_elem_max_ts(&l), &ts, &d);
	if (rc == 0)
		rc = grove_hfield_incr(&l, &d, ts, o->delta, &x);
	if (rc == 0)
		rc = grove_db__elem_store(c, o->en, had, raw_item, l.len ? old_item : NULL, &x);
	if (rc == 0) {
		o->out = cur + o->delta;
		o->wrote = true;
	}
	grove_elem_free(&l);
	grove_elem_free(&x);
	return rc;
}

int grove_db_map_incr(grove_db_t *db, const void *key, size_t klen, const void *field, size_t flen,
		      int64_t delta, int64_t *new_value)
{
	grove_db_key_t k;
	int rc = grove_db__key_prepare_writer(db, &k, key, klen);
	if (rc == 0 && flen > GROVE_ELEM_MAX)
		rc = GROVE_ETOOBIG;
	if (rc == 0 && !field && flen)
		rc = GROVE_EINVAL;
	if (rc)
		return rc;
	hop_t o = { .delta = delta };
	o.en = grove_db__ename_take(db);
	if (!o.en)
		return GROVE_ENOMEM;
	grove_db__ename_init(o.en, &k, GROVE_ELEM_FIELD, field, flen);
	coll_t c;
	bool wrote = false, expired = false;
	pthread_mutex_lock(&db->stripes[k.stripe].mu);
	rc = grove_db__coll_load(&c, db, &k);
	if (rc == 0)
		rc = grove_db__expire_due(&c, &expired);
	if (rc == 0)
		rc = apply_incr(&c, &o);
	if (rc == 0)
		rc = grove_db__coll_commit(&c, &wrote);
	pthread_mutex_unlock(&db->stripes[k.stripe].mu);
	bool purge = c.purge && rc == 0;
	grove_db__coll_free(&c);
	if (rc == 0 && expired)
		atomic_fetch_add(&db->expired_keys, 1);
	if (wrote) {
		atomic_fetch_add(&db->writes, 1);
		grove_db__call_hooks(db, o.en->name, o.en->nlen, k.drec + 3, 1 + klen);
	}
	grove_db__ename_give(db, o.en);
	if (rc == 0 && purge)
		rc = grove_db__purge_request(db, key, klen);
	if (rc == 0 && new_value)
		*new_value = o.out;
	return rc;
}
