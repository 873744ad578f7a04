/*
 * resp_cmd_types.c - commands on typed values: the PN-counter (INCR, INCRBY,
 * DECR, DECRBY), the add-wins set (SADD, SREM, SMEMBERS, SISMEMBER, SCARD)
 * and the per-field LWW map (HSET, HGET, HDEL, HGETALL, HKEYS, HVALS, HLEN,
 * HEXISTS).
 *
 * Multi-member writes (SADD k a b c, HSET k f1 v1 f2 v2) apply one db
 * operation per member: each is atomic and durable on its own, and the
 * reply counts the members that changed.  A WRONGTYPE can only come from
 * the first member (the key's type is fixed by then), so a failed command
 * changed nothing.
 */
#include <limits.h>
#include <string.h>

#include "node/resp_commands_int.h"

/* ---- counter ---- */

static void counter_add(grove_cmd_call_t *c, long long delta)
{
	int64_t now;
	int rc = grove_db_counter_add(c->env->db, c->argv[1], c->argl[1], delta, &now);
	if (rc < 0)
		grove_cmd_reply_db_error(c, rc);
	else
		grove_resp_int(c->out, now);
}

void grove_cmd_do_incr(grove_cmd_call_t *c)
{
	counter_add(c, 1);
}

void grove_cmd_do_decr(grove_cmd_call_t *c)
{
	counter_add(c, -1);
}

void grove_cmd_do_incrby(grove_cmd_call_t *c)
{
	long long n;
	if (grove_cmd_arg_ll(c, 2, &n))
		counter_add(c, n);
}

void grove_cmd_do_decrby(grove_cmd_call_t *c)
{
	long long n;
	if (!grove_cmd_arg_ll(c, 2, &n))
		return;
	if (n == LLONG_MIN)
		grove_resp_error(c->out, "ERR decrement would overflow");
	else
		counter_add(c, -n);
}

/* Loads a key expected to hold `type`.  Returns true with *v (NULL when
 * absent); false after replying (WRONGTYPE or a db error). */
static bool load_typed(grove_cmd_call_t *c, grove_type_t type, grove_value_t **v)
{
	int rc = grove_db_get(c->env->db, c->argv[1], c->argl[1], v);
	if (rc == GROVE_ENOTFOUND) {
		*v = NULL;
		return true;
	}
	if (rc < 0) {
		grove_cmd_reply_db_error(c, rc);
		return false;
	}
	grove_type_t t = grove_value_type(*v);
	if (t != type && t != GROVE_TYPE_NONE) {
		grove_value_destroy(*v);
		grove_cmd_reply_db_error(c, GROVE_EWRONGTYPE);
		return false;
	}
	return true;
}

/* ---- set ---- */

typedef int (*set_op_fn)(grove_db_t *db, const void *key, size_t klen, const void *elem,
			 size_t elen, bool *changed);

static void set_write(grove_cmd_call_t *c, set_op_fn op)
{
	long long n = 0;
	for (size_t i = 2; i < c->argc; i++) {
		bool changed = false;
		int rc = op(c->env->db, c->argv[1], c->argl[1], c->argv[i], c->argl[i], &changed);
		if (rc < 0) {
			grove_cmd_reply_db_error(c, rc);
			return;
		}
		n += changed;
	}
	grove_resp_int(c->out, n);
}

void grove_cmd_do_sadd(grove_cmd_call_t *c)
{
	set_write(c, grove_db_set_add);
}

void grove_cmd_do_srem(grove_cmd_call_t *c)
{
	set_write(c, grove_db_set_remove);
}

void grove_cmd_do_smembers(grove_cmd_call_t *c)
{
	grove_value_t *v;
	if (!load_typed(c, GROVE_TYPE_SET, &v))
		return;
	size_t n = v ? grove_orset_count(v) : 0;
	grove_resp_array(c->out, n);
	for (size_t i = 0; i < n; i++) {
		const void *e;
		size_t len;
		grove_orset_member(v, i, &e, &len);
		grove_resp_bulk(c->out, e, len);
	}
	grove_value_destroy(v);
}

void grove_cmd_do_sismember(grove_cmd_call_t *c)
{
	grove_value_t *v;
	if (!load_typed(c, GROVE_TYPE_SET, &v))
		return;
	grove_resp_int(c->out, v && grove_orset_contains(v, c->argv[2], c->argl[2]));
	grove_value_destroy(v);
}

void grove_cmd_do_scard(grove_cmd_call_t *c)
{
	grove_value_t *v;
	if (!load_typed(c, GROVE_TYPE_SET, &v))
		return;
	grove_resp_int(c->out, v ? (long long)grove_orset_count(v) : 0);
	grove_value_destroy(v);
}

/* ---- map ---- */

void grove_cmd_do_hset(grove_cmd_call_t *c)
{
	if (c->argc % 2 != 0) {
		grove_resp_error(c->out, "ERR wrong number of arguments for 'hset' command");
		return;
	}
	long long created_n = 0;
	for (size_t i = 2; i < c->argc; i += 2) {
		bool created = false;
		int rc = grove_db_map_set(c->env->db, c->argv[1], c->argl[1], c->argv[i], c->argl[i],
					  c->argv[i + 1], c->argl[i + 1], &created);
		if (rc < 0) {
			grove_cmd_reply_db_error(c, rc);
			return;
		}
		created_n += created;
	}
	grove_resp_int(c->out, created_n);
}

void grove_cmd_do_hdel(grove_cmd_call_t *c)
{
	set_write(c, grove_db_map_delete);
}

void grove_cmd_do_hget(grove_cmd_call_t *c)
{
	grove_value_t *v;
	if (!load_typed(c, GROVE_TYPE_MAP, &v))
		return;
	const void *val;
	size_t len;
	if (v && grove_lwwmap_get(v, c->argv[2], c->argl[2], &val, &len) == 0)
		grove_resp_bulk(c->out, val, len);
	else
		grove_resp_null(c->out);
	grove_value_destroy(v);
}

void grove_cmd_do_hexists(grove_cmd_call_t *c)
{
	grove_value_t *v;
	if (!load_typed(c, GROVE_TYPE_MAP, &v))
		return;
	const void *val;
	size_t len;
	grove_resp_int(c->out, v && grove_lwwmap_get(v, c->argv[2], c->argl[2], &val, &len) == 0);
	grove_value_destroy(v);
}

void grove_cmd_do_hlen(grove_cmd_call_t *c)
{
	grove_value_t *v;
	if (!load_typed(c, GROVE_TYPE_MAP, &v))
		return;
	grove_resp_int(c->out, v ? (long long)grove_lwwmap_count(v) : 0);
	grove_value_destroy(v);
}

/* HGETALL / HKEYS / HVALS: fields and/or values in field order. */
static void map_list(grove_cmd_call_t *c, bool fields, bool values)
{
	grove_value_t *v;
	if (!load_typed(c, GROVE_TYPE_MAP, &v))
		return;
	size_t n = v ? grove_lwwmap_count(v) : 0;
	grove_resp_array(c->out, n * ((size_t)fields + (size_t)values));
	for (size_t i = 0; i < n; i++) {
		const void *f, *val;
		size_t flen, vlen;
		grove_lwwmap_entry(v, i, &f, &flen, &val, &vlen);
		if (fields)
			grove_resp_bulk(c->out, f, flen);
		if (values)
			grove_resp_bulk(c->out, val, vlen);
	}
	grove_value_destroy(v);
}

void grove_cmd_do_hgetall(grove_cmd_call_t *c)
{
	map_list(c, true, true);
}

void grove_cmd_do_hkeys(grove_cmd_call_t *c)
{
	map_list(c, true, false);
}

void grove_cmd_do_hvals(grove_cmd_call_t *c)
{
	map_list(c, false, true);
}
