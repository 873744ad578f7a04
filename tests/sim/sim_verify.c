/*
 * sim_verify.c - the checks on stored state and on the converged cluster:
 * canonical decode / re-encode of every state of a node, merge commutativity
 * and idempotence between two nodes' states of one key, the convergence
 * test (one root digest, one membership view), the comparison of the
 * converged values with the reference model (sim_check.c), and the queries
 * the figure experiments use.
 */
#include <stdio.h>
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "tests/sim/sim_int.h"

#define SIM_SCAN_MAX 100000

typedef struct sim_scan {
	sim_t *s;
	uint32_t node, other;
} sim_scan_t;

static bool sim_enc_equal(const grove_value_t *v, const uint8_t *b, size_t len)
{
	uint8_t *e = NULL;
	size_t el = 0;
	if (grove_value_encode(v, &e, &el) != 0)
		return false;
	bool eq = el == len && memcmp(e, b, len) == 0;
	grove_free(e);
	return eq;
}

static bool sim_values_equal(const grove_value_t *a, const grove_value_t *b)
{
	uint8_t *e = NULL;
	size_t el = 0;
	if (grove_value_encode(b, &e, &el) != 0)
		return false;
	bool eq = sim_enc_equal(a, e, el);
	grove_free(e);
	return eq;
}

/* merge(a, b) == merge(b, a) and merge(a, a) == a, on the bytes. */
static void sim_check_merge(sim_t *s, const grove_value_t *a, const grove_value_t *b, const char *key)
{
	grove_value_t *ab = NULL, *ba = NULL, *aa = NULL;
	bool changed = true;
	if (grove_value_clone(a, &ab) || grove_value_clone(b, &ba) || grove_value_clone(a, &aa) ||
	    grove_value_merge(ab, b, NULL) || grove_value_merge(ba, a, NULL) ||
	    grove_value_merge(aa, a, &changed))
		sim_fail(s, "key %s: clone/merge failed", key);
	else if (!sim_values_equal(ab, ba))
		sim_fail(s, "key %s: merge is not commutative", key);
	else if (changed || !sim_values_equal(aa, a))
		sim_fail(s, "key %s: merge is not idempotent", key);
	s->res.merges_checked++;
	grove_value_destroy(ab);
	grove_value_destroy(ba);
	grove_value_destroy(aa);
}

static grove_value_t *sim_load(sim_t *s, uint32_t node, const void *key, size_t klen, bool must)
{
	uint8_t *enc = NULL;
	size_t len = 0;
	grove_value_t *v = NULL;
	int rc = grove_db_get_encoded(s->nodes[node].db, key, klen, &enc, &len);
	if (rc != 0) {
		if (must || rc != GROVE_ENOTFOUND)
			sim_fail(s, "n%u: key %.*s: get_encoded: %s", node, (int)klen, (const char *)key,
				 grove_strerror(rc));
		return NULL;
	}
	rc = grove_value_decode(enc, len, &v);
	if (rc != 0)
		sim_fail(s, "n%u: key %.*s: stored state does not decode: %s", node, (int)klen,
			 (const char *)key, grove_strerror(rc));
	else if (!sim_enc_equal(v, enc, len))
		sim_fail(s, "n%u: key %.*s: state does not re-encode canonically", node, (int)klen,
			 (const char *)key);
	grove_free(enc);
	s->res.states_checked++;
	return v;
}

static int sim_scan_key(void *ctx, const void *key, size_t klen, grove_type_t type)
{
	(void)type;
	sim_scan_t *sc = ctx;
	grove_value_t *a = sim_load(sc->s, sc->node, key, klen, true);
	grove_value_t *b = a && sc->other != sc->node ? sim_load(sc->s, sc->other, key, klen, false) : NULL;
	if (a && b) {
		char k[64];
		snprintf(k, sizeof(k), "%.*s", (int)(klen < 60 ? klen : 60), (const char *)key);
		sim_check_merge(sc->s, a, b, k);
	}
	grove_value_destroy(a);
	grove_value_destroy(b);
	return sc->s->failed;
}

void sim_check_states(sim_t *s, uint32_t node)
{
	if (!s->cfg.antientropy && s->cfg.ops == 0)
		return;
	sim_scan_t sc = { s, node, (uint32_t)grove_rng_below(&s->rng, s->n) };
	int rc = grove_db_scan(s->nodes[node].db, NULL, 0, SIM_SCAN_MAX, sim_scan_key, &sc, NULL, NULL);
	if (rc != 0 && !s->failed)
		sim_fail(s, "n%u: scan failed: %s", node, grove_strerror(rc));
}

/* Order-independent hash of a node's membership view. */
static uint64_t sim_view_hash(const grove_member_t *m, size_t *alive)
{
	uint64_t h = 0;
	size_t n = grove_member_count(m);
	*alive = grove_member_count_state(m, GROVE_MEMBER_ALIVE);
	for (size_t i = 0; i < n; i++) {
		grove_member_info_t in;
		if (grove_member_get(m, i, &in) != 0)
			continue;
		uint8_t d[8];
		char buf[GROVE_MEMBER_ID_MAX + 48];
		int len = snprintf(buf, sizeof(buf), "%s/%llu/%d", in.id, (unsigned long long)in.incarnation,
				   (int)in.state);
		crypto_generichash(d, sizeof(d), (const uint8_t *)buf, (size_t)len, NULL, 0);
		uint64_t x;
		memcpy(&x, d, sizeof(x));
		h += x;
	}
	return h;
}

/* Names the first member whose record differs between n0 and node i. */
static const char *sim_view_diff(sim_t *s, uint32_t i, char *why, size_t cap)
{
	grove_member_t *m0 = s->nodes[0].member, *mi = s->nodes[i].member;
	for (size_t k = 0; k < grove_member_count(m0); k++) {
		grove_member_info_t a, b;
		if (grove_member_get(m0, k, &a) != 0)
			continue;
		if (grove_member_find(mi, a.id, &b) != 0)
			return snprintf(why, cap, "n%u does not know %s", i, a.id), why;
		if (a.incarnation != b.incarnation || a.state != b.state)
			return snprintf(why, cap, "%s is %s/%llu at n0 but %s/%llu at n%u (since %llu ms)", a.id,
					grove_member_state_name(a.state), (unsigned long long)a.incarnation,
					grove_member_state_name(b.state), (unsigned long long)b.incarnation, i,
					(unsigned long long)(b.state_since_ms - SIM_START_MS)), why;
	}
	return snprintf(why, cap, "n%u knows members n0 does not", i), why;
}

/* NULL when converged, else what still differs (in why[]). */
static const char *sim_divergence(sim_t *s, char *why, size_t cap)
{
	uint8_t root0[GROVE_DIGEST_BYTES], root[GROVE_DIGEST_BYTES];
	for (uint32_t i = 0; i < s->n; i++)
		if (!s->nodes[i].up)
			return snprintf(why, cap, "n%u is down", i), why;
	if (s->cfg.antientropy) {
		grove_db_root_digest(s->nodes[0].db, root0);
		for (uint32_t i = 1; i < s->n; i++) {
			grove_db_root_digest(s->nodes[i].db, root);
			if (memcmp(root, root0, sizeof(root)) != 0)
				return snprintf(why, cap, "root digest of n%u differs from n0's (%llu vs %llu keys)", i,
						(unsigned long long)grove_db_count(s->nodes[i].db),
						(unsigned long long)grove_db_count(s->nodes[0].db)), why;
		}
	}
	if (!s->cfg.membership)
		return NULL;
	for (uint32_t i = 0; i < s->n; i++) {
		size_t alive = grove_member_count_state(s->nodes[i].member, GROVE_MEMBER_ALIVE);
		if (alive != s->n)
			return snprintf(why, cap, "n%u sees %zu of %u members alive (%zu suspect, %zu dead)", i, alive,
					s->n, grove_member_count_state(s->nodes[i].member, GROVE_MEMBER_SUSPECT),
					grove_member_count_state(s->nodes[i].member, GROVE_MEMBER_DEAD)), why;
	}
	size_t alive;
	uint64_t h0 = sim_view_hash(s->nodes[0].member, &alive);
	for (uint32_t i = 1; i < s->n; i++)
		if (sim_view_hash(s->nodes[i].member, &alive) != h0)
			return sim_view_diff(s, i, why, cap);
	return NULL;
}

bool sim_digests_equal(sim_t *s)
{
	char why[160];
	const char *w = sim_divergence(s, why, sizeof(why));
	return w == NULL || (strstr(w, "root digest") == NULL && strstr(w, "is down") == NULL);
}

bool sim_converged(sim_t *s)
{
	char why[160];
	return sim_divergence(s, why, sizeof(why)) == NULL;
}

void sim_fail_divergence(sim_t *s)
{
	char why[160];
	const char *w = sim_divergence(s, why, sizeof(why));
	sim_fail(s, "no convergence within %llu ms after the faults stopped: %s",
		 (unsigned long long)s->cfg.settle_max_ms, w ? w : "?");
}

/* --- the converged values against the reference model ---------------------- */

static void sim_model_counter(sim_t *s, uint32_t node, uint32_t k)
{
	char key[16];
	snprintf(key, sizeof(key), "c%u", k);
	grove_value_t *v = sim_load(s, node, key, strlen(key), false);
	int64_t got = 0;
	if (v && grove_pncounter_get(v, &got) != 0)
		sim_fail(s, "n%u: %s is not a counter", node, key);
	else if (got != s->model.counter[k])
		sim_fail(s, "n%u: counter %s = %lld, model %lld", node, key, (long long)got,
			 (long long)s->model.counter[k]);
	grove_value_destroy(v);
}

/* want == 0: absent (never set, or deleted last). */
static void sim_model_lww(sim_t *s, uint32_t node, const char *key, const char *field, uint32_t want)
{
	grove_value_t *v = sim_load(s, node, key, strlen(key), false);
	const void *val = NULL;
	size_t len = 0;
	int rc = GROVE_ENOTFOUND;
	if (v && field)
		rc = grove_lwwmap_get(v, field, strlen(field), &val, &len);
	else if (v)
		rc = grove_lwwreg_get(v, &val, &len);
	char exp[16] = "", got[16] = "";
	if (want)
		snprintf(exp, sizeof(exp), "v%u", want);
	if (rc == 0)
		snprintf(got, sizeof(got), "%.*s", (int)(len < 15 ? len : 15), (const char *)val);
	if ((rc == 0) != (want != 0) || strcmp(exp, got) != 0)
		sim_fail(s, "n%u: %s%s%s = '%s' (%s), model '%s'", node, key, field ? "." : "",
			 field ? field : "", got, rc == 0 ? "found" : grove_strerror(rc), exp);
	grove_value_destroy(v);
}

static bool sim_set_has(sim_t *s, uint32_t node, const char *key, const char *el)
{
	grove_value_t *v = sim_load(s, node, key, strlen(key), false);
	bool has = v && grove_orset_contains(v, el, strlen(el));
	grove_value_destroy(v);
	return has;
}

static void sim_model_sets(sim_t *s, uint32_t node, uint32_t k)
{
	char key[16], el[24];
	snprintf(key, sizeof(key), "s%u", k);
	for (uint32_t e = 0; e < SIM_ELEMS; e++) {
		uint64_t add = s->model.set_last_add[k * SIM_ELEMS + e];
		uint64_t rem = s->model.set_last_rem[k * SIM_ELEMS + e];
		snprintf(el, sizeof(el), "e%u", e);
		if (add > rem && !sim_set_has(s, node, key, el))
			sim_fail(s, "n%u: set %s lacks %s, added at %llu ms after its last remove (%llu ms):"
				 " add must win", node, key, el, (unsigned long long)add - 1,
				 (unsigned long long)(rem ? rem - 1 : 0));
		if (add == 0 && sim_set_has(s, node, key, el))
			sim_fail(s, "n%u: set %s holds %s, never added", node, key, el);
	}
}

static void sim_model_node(sim_t *s, uint32_t node)
{
	char key[16], field[8];
	for (uint32_t k = 0; k < s->cfg.keys && !s->failed; k++) {
		sim_model_counter(s, node, k);
		snprintf(key, sizeof(key), "r%u", k);
		sim_model_lww(s, node, key, NULL, s->model.reg[k].set ? s->model.reg[k].val : 0);
		snprintf(key, sizeof(key), "m%u", k);
		for (uint32_t f = 0; f < SIM_FIELDS; f++) {
			const sim_model_reg_t *r = &s->model.field[k * SIM_FIELDS + f];
			snprintf(field, sizeof(field), "f%u", f);
			if (!r->set || r->at > r->rem_at) /* else: convergence only */
				sim_model_lww(s, node, key, field, r->set ? r->val : 0);
		}
		sim_model_sets(s, node, k);
	}
	for (uint32_t q = 0; q < s->model.uniq_count && !s->failed; q++) {
		char el[24];
		snprintf(key, sizeof(key), "u%u", q % s->cfg.keys);
		snprintf(el, sizeof(el), "q%u", q);
		bool want = s->model.uniq_state[q] == 1;
		if (sim_set_has(s, node, key, el) != want)
			sim_fail(s, "n%u: set %s %s %s (model: %s)", node, key, want ? "lacks" : "holds", el,
				 want ? "added, never removed" : "removed by a replica that held it");
	}
	s->res.model_keys_checked += 5ULL * s->cfg.keys;
}

/* No member table holds an id that is not one of the cluster's nodes
 * (forgeries claim ids evil<k>). */
static void sim_check_members(sim_t *s)
{
	for (uint32_t i = 0; i < s->n && !s->failed; i++) {
		grove_member_t *m = s->nodes[i].member;
		for (size_t k = 0; m && k < grove_member_count(m); k++) {
			grove_member_info_t in;
			if (grove_member_get(m, k, &in) == 0 && grove_netsim_find(s->net, in.id) < 0)
				sim_fail(s, "n%u lists a member %s that is no node of the cluster", i, in.id);
		}
	}
}

void sim_check_model(sim_t *s)
{
	if (s->n <= 256)
		sim_check_members(s);
	if (!s->cfg.antientropy)
		return;
	sim_model_node(s, 0);
	if (s->n > 1)
		sim_model_node(s, s->n - 1);
	for (uint32_t i = 0; i < s->n && !s->failed && s->n <= 64; i++)
		sim_check_states(s, i);
}

/* --- queries for the figure experiments ------------------------------------- */

int sim_write_probe(sim_t *s, uint32_t node, const char *key)
{
	int rc = grove_db_register_set(s->nodes[node].db, key, strlen(key), "1", 1);
	sim_node_drain(s, node);
	return rc;
}

uint32_t sim_count_holding(sim_t *s, const char *key)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < s->n; i++) {
		uint8_t *enc = NULL;
		size_t len = 0;
		if (s->nodes[i].up && grove_db_get_encoded(s->nodes[i].db, key, strlen(key), &enc, &len) == 0) {
			n++;
			grove_free(enc);
		}
	}
	return n;
}

uint32_t sim_count_seeing(sim_t *s, uint32_t node, int state)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < s->n; i++) {
		grove_member_info_t in;
		if (i == node || !s->nodes[i].up || !s->nodes[i].member ||
		    grove_member_find(s->nodes[i].member, s->nodes[node].id, &in) != 0)
			continue;
		if ((int)in.state == state || (state == GROVE_MEMBER_DEAD && in.state == GROVE_MEMBER_LEFT))
			n++;
	}
	return n;
}

uint32_t sim_count_full_view(sim_t *s)
{
	uint32_t up = 0, n = 0;
	for (uint32_t i = 0; i < s->n; i++)
		up += s->nodes[i].up;
	for (uint32_t i = 0; i < s->n; i++)
		if (s->nodes[i].up && s->nodes[i].member &&
		    grove_member_count_state(s->nodes[i].member, GROVE_MEMBER_ALIVE) == up)
			n++;
	return n;
}
