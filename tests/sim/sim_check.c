/*
 * sim_check.c - the workload and its reference model.
 *
 * Workload: random operations at random live nodes, on key families
 *   c<k> counters (model: the sum of the deltas),
 *   r<k> registers (model: the write with the greatest (HLC ts, node id);
 *        the ts is read from the writer's HLC right after the write),
 *   m<k> maps, fields f0..f3 (observed-remove fields with LWW values;
 *        model, sound not exact: the set with the greatest (ts, node) must
 *        be the field's value when it came after every delete in virtual
 *        time - no delete can have observed it, and no later set replaced
 *        it without a greater ts; a field never set must be absent),
 *   s<k> sets over a shared pool e0..e3 (model, sound not exact: an element
 *        whose last add came after every remove in virtual time must be
 *        present: no remove can have observed that add, and add wins),
 *   u<k> sets of unique elements (exact: present iff added and no remove
 *        returned removed=true),
 *   x<k> any type, key deletes included (checked for convergence only).
 * sim_verify.c compares the converged cluster with this model.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "tests/sim/sim_int.h"


int sim_model_init(sim_t *s)
{
	uint32_t k = s->cfg.keys ? s->cfg.keys : 1;
	sim_model_t *m = &s->model;
	m->counter = grove_calloc(k, sizeof(*m->counter));
	m->reg = grove_calloc(k, sizeof(*m->reg));
	m->field = grove_calloc((size_t)k * SIM_FIELDS, sizeof(*m->field));
	m->set_last_add = grove_calloc((size_t)k * SIM_ELEMS, sizeof(uint64_t));
	m->set_last_rem = grove_calloc((size_t)k * SIM_ELEMS, sizeof(uint64_t));
	m->uniq_state = grove_calloc(SIM_UNIQ_MAX, 1);
	return m->counter && m->reg && m->field && m->set_last_add && m->set_last_rem && m->uniq_state
		       ? 0
		       : -1;
}

void sim_model_free(sim_t *s)
{
	sim_model_t *m = &s->model;
	grove_free(m->counter);
	grove_free(m->reg);
	grove_free(m->field);
	grove_free(m->set_last_add);
	grove_free(m->set_last_rem);
	grove_free(m->uniq_state);
	memset(m, 0, sizeof(*m));
}

/* (ts, node) of a over b: the LWW order of crdt/. */
static bool sim_lww_newer(uint64_t ts, const char *node, const sim_model_reg_t *b)
{
	return !b->set || ts > b->ts || (ts == b->ts && strcmp(node, b->node) > 0);
}

static void sim_lww_put(sim_model_reg_t *r, uint64_t ts, const char *node, uint32_t val)
{
	if (!sim_lww_newer(ts, node, r))
		return;
	r->set = true;
	r->ts = ts;
	snprintf(r->node, sizeof(r->node), "%s", node);
	r->val = val;
}

static void sim_op_check(sim_t *s, uint32_t node, const char *what, int rc)
{
	if (rc != 0)
		sim_fail(s, "n%u: %s failed: %s", node, what, grove_strerror(rc));
}

/* Shared pool (s<k>, elements e0..e3) or unique elements (u<q mod keys>,
 * element q<q>, each added once). */
static void sim_op_set(sim_t *s, sim_node_t *nd, uint32_t k, bool unique)
{
	sim_model_t *m = &s->model;
	char key[16], el[24];
	bool add = grove_rng_below(&s->rng, 3) != 0, changed = false;
	uint32_t q = 0;
	if (!unique) {
		uint32_t e = (uint32_t)grove_rng_below(&s->rng, SIM_ELEMS);
		snprintf(key, sizeof(key), "s%u", k);
		snprintf(el, sizeof(el), "e%u", e);
		uint64_t *last = add ? &m->set_last_add[k * SIM_ELEMS + e] : &m->set_last_rem[k * SIM_ELEMS + e];
		*last = sim_now(s) + 1;
	} else {
		if (m->uniq_count == 0)
			add = true;
		if (add && m->uniq_count >= SIM_UNIQ_MAX)
			return;
		q = add ? m->uniq_count++ : (uint32_t)grove_rng_below(&s->rng, m->uniq_count);
		snprintf(key, sizeof(key), "u%u", q % s->cfg.keys);
		snprintf(el, sizeof(el), "q%u", q);
	}
	int rc = add ? grove_db_set_add(nd->db, key, strlen(key), el, strlen(el), &changed)
		     : grove_db_set_remove(nd->db, key, strlen(key), el, strlen(el), &changed);
	sim_op_check(s, nd->idx, add ? "set add" : "set remove", rc);
	if (unique && rc == 0 && add)
		m->uniq_state[q] = 1;
	else if (unique && rc == 0 && changed)
		m->uniq_state[q] = 2;
}

static void sim_op_lww(sim_t *s, sim_node_t *nd, uint32_t k, bool map)
{
	char key[16], val[16], field[8];
	uint32_t v = (uint32_t)grove_rng_below(&s->rng, 1000000) + 1;
	uint32_t f = (uint32_t)grove_rng_below(&s->rng, SIM_FIELDS);
	bool del = map && grove_rng_below(&s->rng, 4) == 0, removed = false;
	snprintf(key, sizeof(key), map ? "m%u" : "r%u", k);
	snprintf(val, sizeof(val), "v%u", v);
	snprintf(field, sizeof(field), "f%u", f);
	int rc;
	if (!map)
		rc = grove_db_register_set(nd->db, key, strlen(key), val, strlen(val));
	else if (del)
		rc = grove_db_map_delete(nd->db, key, strlen(key), field, strlen(field), &removed);
	else
		rc = grove_db_map_set(nd->db, key, strlen(key), field, strlen(field), val, strlen(val), NULL);
	sim_op_check(s, nd->idx, map ? "map op" : "register set", rc);
	if (rc != 0 || (del && !removed))
		return;
	uint64_t ts = grove_db_hlc(nd->db)->last;
	sim_model_reg_t *r = map ? &s->model.field[k * SIM_FIELDS + f] : &s->model.reg[k];
	if (del) {
		r->rem_at = sim_now(s) + 1;
		return;
	}
	if (map && sim_lww_newer(ts, nd->id, r))
		r->at = sim_now(s) + 1;
	sim_lww_put(r, ts, nd->id, v);
}

/* Any type on the x<k> keys, key deletes included; WRONGTYPE is fine. */
static void sim_op_any(sim_t *s, sim_node_t *nd, uint32_t k)
{
	char key[16];
	snprintf(key, sizeof(key), "x%u", k);
	size_t kl = strlen(key);
	int rc;
	switch (grove_rng_below(&s->rng, 5)) {
	case 0: rc = grove_db_counter_add(nd->db, key, kl, 1, NULL); break;
	case 1: rc = grove_db_register_set(nd->db, key, kl, "x", 1); break;
	case 2: rc = grove_db_set_add(nd->db, key, kl, "x", 1, NULL); break;
	case 3: rc = grove_db_map_set(nd->db, key, kl, "f", 1, "x", 1, NULL); break;
	default: rc = grove_db_delete(nd->db, key, kl, NULL); break;
	}
	if (rc != GROVE_EWRONGTYPE)
		sim_op_check(s, nd->idx, "op on x key", rc);
}

void sim_op(sim_t *s, uint32_t node)
{
	for (uint32_t t = 0; t < s->n && !s->nodes[node].up; t++)
		node = (node + 1) % s->n;
	sim_node_t *nd = &s->nodes[node];
	if (!nd->up || s->cfg.keys == 0)
		return;
	uint32_t k = (uint32_t)grove_rng_below(&s->rng, s->cfg.keys);
	char key[16];
	switch (grove_rng_below(&s->rng, 6)) {
	case 0: {
		int64_t d = (int64_t)grove_rng_below(&s->rng, 201) - 100;
		snprintf(key, sizeof(key), "c%u", k);
		int rc = grove_db_counter_add(nd->db, key, strlen(key), d, NULL);
		sim_op_check(s, node, "counter add", rc);
		if (rc == 0)
			s->model.counter[k] += d;
		break;
	}
	case 1: sim_op_lww(s, nd, k, false); break;
	case 2: sim_op_lww(s, nd, k, true); break;
	case 3: sim_op_set(s, nd, k, false); break;
	case 4: sim_op_set(s, nd, k, true); break;
	default: sim_op_any(s, nd, k); break;
	}
	sim_node_drain(s, node);
}
