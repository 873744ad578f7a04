/*
 * resp_cmd_types.c - commands on typed values: the PN-counter (INCR, INCRBY,
 * DECR, DECRBY), the add-wins set (SADD, SREM, SMEMBERS, SISMEMBER, SCARD)
 * and the per-field LWW map (HSET, HGET, HDEL, HGETALL, HKEYS, HVALS, HLEN,
 * HEXISTS).
 *
 * Reads of sets and maps are point reads of element records (SISMEMBER,
 * HGET, HEXISTS), maintained counts (SCARD, HLEN) or streamed walks of the
 * element records (SMEMBERS, HGETALL, HKEYS, HVALS, SSCAN, HSCAN).
 *
 * Multi-member writes (SADD k a b c, HSET k f1 v1 f2 v2) apply one db
 * operation per member: each is atomic and durable on its own, and the
 * reply counts the members that changed.  A WRONGTYPE can only come from
 * the first member (the key's type is fixed by then), so a failed command
 * changed nothing.
 */
#include <limits.h>
#include <string.h>

#include "grove/alloc.h"
#include "node/resp_commands_int.h"
#include "storage/glob.h"

/* ---- counter ---- */

static void counter_add(grove_cmd_call_t *c, long long delta)
{
	int64_t now;
	int rc = grove_db_counter_incr(c->env->db, c->argv[1], c->argl[1], delta, &now);
	if (rc == GROVE_ERANGE) /* a register that holds no integer */
		grove_resp_error(c->out, "ERR value is not an integer or out of range");
	else if (rc < 0)
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

/* ---- collection reads: point reads, counts, streamed lists, cursors ---- */

#define COLL_CHUNK 1024 /* elements read per store scan */

typedef struct elem_collector {
	grove_buf_t items;
	size_t count;
	bool fields, values;   /* what to emit per element */
	const uint8_t *pattern; /* MATCH, or NULL */
	size_t plen;
} elem_collector_t;

static int collect_elem(void *ctx, const void *elem, size_t elen, const void *val, size_t vlen)
{
	elem_collector_t *e = ctx;
	if (e->pattern && !grove_glob_match(e->pattern, e->plen, elem, elen))
		return 0;
	if (e->fields)
		grove_resp_bulk(&e->items, elem, elen);
	if (e->values)
		grove_resp_bulk(&e->items, val, vlen);
	e->count++;
	return 0;
}

static void reply_elems(grove_cmd_call_t *c, elem_collector_t *e)
{
	if (grove_buf_failed(&e->items)) {
		grove_resp_error(c->out, "ERR out of memory building the reply");
	} else {
		grove_resp_array(c->out, e->count * ((size_t)e->fields + (size_t)e->values));
		grove_buf_append(c->out, e->items.data, e->items.len);
	}
	grove_buf_close(&e->items);
}

/* SMEMBERS / HGETALL / HKEYS / HVALS: streamed from the element records
 * in chunks, never decoding the collection as a whole. */
static void coll_list(grove_cmd_call_t *c, grove_type_t type, bool fields, bool values)
{
	elem_collector_t e = { .fields = fields, .values = values };
	grove_buf_init(&e.items, 0);
	uint8_t *start = NULL;
	size_t slen = 0;
	do {
		uint8_t *next = NULL;
		size_t next_len = 0;
		int rc = grove_db_coll_scan(c->env->db, c->argv[1], c->argl[1], type, start, slen,
					    COLL_CHUNK, collect_elem, &e, &next, &next_len);
		grove_free(start);
		if (rc < 0) {
			grove_buf_close(&e.items);
			grove_cmd_reply_db_error(c, rc);
			return;
		}
		start = next;
		slen = next_len;
	} while (start);
	reply_elems(c, &e);
}

static void coll_count(grove_cmd_call_t *c, grove_type_t type)
{
	uint64_t n = 0;
	int rc = grove_db_coll_count(c->env->db, c->argv[1], c->argl[1], type, &n);
	if (rc < 0)
		grove_cmd_reply_db_error(c, rc);
	else
		grove_resp_int(c->out, (long long)n);
}

/* SSCAN / HSCAN key cursor [MATCH p] [COUNT n]: the cursor names a resume
 * element in the node's cursor table (as SCAN's); elements present for
 * the whole iteration are returned (the walk is in element order). */
static void coll_sscan(grove_cmd_call_t *c, grove_type_t type)
{
	uint64_t cursor;
	long long count = 10;
	elem_collector_t e = { .fields = true, .values = type == GROVE_TYPE_MAP };
	if (!grove_cmd__parse_cursor(c->argv[2], c->argl[2], &cursor)) {
		grove_resp_error(c->out, "ERR invalid cursor"); /* Redis's text */
		return;
	}
	if (!grove_cmd__scan_match_count(c, 3, &e.pattern, &e.plen, &count))
		return;
	const uint8_t *start = NULL;
	size_t slen = 0;
	if (cursor != 0) {
		struct grove_scan_cursor *slot =
			cursor <= LLONG_MAX ? grove_cmd__cursor_get(c->env, (long long)cursor) : NULL;
		if (!slot) {
			grove_resp_error(c->out, "ERR invalid cursor");
			return;
		}
		start = slot->key;
		slen = slot->klen;
	}
	grove_buf_init(&e.items, 0);
	uint8_t *next = NULL;
	size_t next_len = 0;
	int rc = grove_db_coll_scan(c->env->db, c->argv[1], c->argl[1], type, start, slen,
				    (size_t)count, collect_elem, &e, &next, &next_len);
	if (rc < 0) {
		grove_buf_close(&e.items);
		grove_cmd_reply_db_error(c, rc);
		return;
	}
	uint64_t id = next ? grove_cmd__cursor_put(c->env, next, next_len) : 0;
	grove_resp_array(c->out, 2);
	grove_resp_bulk_int(c->out, (long long)id);
	reply_elems(c, &e);
}

void grove_cmd_do_smembers(grove_cmd_call_t *c)
{
	coll_list(c, GROVE_TYPE_SET, true, false);
}

void grove_cmd_do_sismember(grove_cmd_call_t *c)
{
	bool in = false;
	int rc = grove_db_set_contains(c->env->db, c->argv[1], c->argl[1], c->argv[2], c->argl[2],
				       &in);
	if (rc < 0)
		grove_cmd_reply_db_error(c, rc);
	else
		grove_resp_int(c->out, in);
}

void grove_cmd_do_scard(grove_cmd_call_t *c)
{
	coll_count(c, GROVE_TYPE_SET);
}

void grove_cmd_do_sscan(grove_cmd_call_t *c)
{
	coll_sscan(c, GROVE_TYPE_SET);
}

void grove_cmd_do_hscan(grove_cmd_call_t *c)
{
	coll_sscan(c, GROVE_TYPE_MAP);
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

/* HGET / HEXISTS: one point read. */
static void map_get(grove_cmd_call_t *c, bool value)
{
	uint8_t *val = NULL;
	size_t vlen = 0;
	int rc = grove_db_map_get(c->env->db, c->argv[1], c->argl[1], c->argv[2], c->argl[2], &val,
				  &vlen);
	if (rc < 0 && rc != GROVE_ENOTFOUND) {
		grove_cmd_reply_db_error(c, rc);
		return;
	}
	if (!value)
		grove_resp_int(c->out, rc == 0);
	else if (rc == 0)
		grove_resp_bulk(c->out, val, vlen);
	else
		grove_resp_null(c->out);
	grove_free(val);
}

void grove_cmd_do_hget(grove_cmd_call_t *c)
{
	map_get(c, true);
}

void grove_cmd_do_hexists(grove_cmd_call_t *c)
{
	map_get(c, false);
}

void grove_cmd_do_hlen(grove_cmd_call_t *c)
{
	coll_count(c, GROVE_TYPE_MAP);
}

void grove_cmd_do_hgetall(grove_cmd_call_t *c)
{
	coll_list(c, GROVE_TYPE_MAP, true, true);
}

void grove_cmd_do_hkeys(grove_cmd_call_t *c)
{
	coll_list(c, GROVE_TYPE_MAP, true, false);
}

void grove_cmd_do_hvals(grove_cmd_call_t *c)
{
	coll_list(c, GROVE_TYPE_MAP, false, true);
}
