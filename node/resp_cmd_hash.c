/*
 * resp_cmd_hash.c - INCRBYFLOAT and the hash commands beyond HSET/HGET/
 * HDEL/HGETALL...: HMGET, HSETNX, HSTRLEN, HRANDFIELD, HINCRBY,
 * HINCRBYFLOAT; and the long-double parse and format Redis uses for
 * floats (string2ld, ld2string "human"), so replies match byte for byte.
 *
 * CRDT semantics (README, "RESP commands"):
 * - INCRBYFLOAT on a register (or an absent key) is a read-modify-write of
 *   the register on this node, under the node's exclusive lock: no
 *   increment is lost on one node, but concurrent ones on two nodes keep
 *   one result (LWW), as APPEND.  On a counter key it adds an integral
 *   increment to the PN-counter (concurrent ones add up) and refuses a
 *   fractional one, since a counter holds an integer.
 * - HINCRBY makes the field a counter field (crdt/hcount.h; storage's
 *   grove_db_map_incr): concurrent increments on several nodes add up, an
 *   HSET-written integer converts (its value the base, counted once), an
 *   HSET replaces what it saw (increments it had not seen add to it).
 * - HINCRBYFLOAT on a counter field adds an integral increment as HINCRBY
 *   does and refuses a fractional one (INCRBYFLOAT on a counter key's
 *   rule); on any other field (or a missing one) it is a read-modify-write
 *   of the field's LWW value on this node, under the exclusive lock, so
 *   concurrent ones on two nodes keep one result (as INCRBYFLOAT on a
 *   string).
 * - HSETNX decides on this node's state, as SETNX.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "grove/alloc.h"
#include "node/resp_commands_int.h"

/* Redis's MAX_LONG_DOUBLE_CHARS: longer numbers are not valid floats. */
#define LD_CHARS_MAX (5 * 1024)

bool grove_cmd__parse_ld(const uint8_t *s, size_t n, long double *out)
{
	char buf[LD_CHARS_MAX];
	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = 0;
	if (memchr(buf, 0, n) || buf[0] == ' ' || (buf[0] >= '\t' && buf[0] <= '\r'))
		return false;
	char *end;
	errno = 0;
	long double v = strtold(buf, &end);
	if (*end || errno == EINVAL || isnan(v) ||
	    (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || fpclassify(v) == FP_ZERO)))
		return false;
	*out = v;
	return true;
}

size_t grove_cmd__format_ld(char *buf, size_t cap, long double v)
{
	GROVE_ASSERT(isfinite(v) && cap >= 64);
	int l = snprintf(buf, cap, "%.17Lf", v);
	if (l < 0 || (size_t)l >= cap)
		return 0;
	if (strchr(buf, '.')) { /* trailing zeros, then the dot */
		while (buf[l - 1] == '0')
			l--;
		if (buf[l - 1] == '.')
			l--;
	}
	if (l == 2 && buf[0] == '-' && buf[1] == '0') {
		buf[0] = '0';
		l = 1;
	}
	buf[l] = 0;
	return (size_t)l;
}

/* ---- INCRBYFLOAT ---- */

/* cur + incr as Redis's text in buf (LD_CHARS_MAX bytes); its length, or
 * 0 after replying Redis's error for a NaN or infinite sum. */
static size_t float_sum(grove_cmd_call_t *c, long double cur, long double incr, char *buf)
{
	long double next = cur + incr;
	if (isnan(next) || isinf(next)) {
		grove_resp_error(c->out, "ERR increment would produce NaN or Infinity");
		return 0;
	}
	return grove_cmd__format_ld(buf, LD_CHARS_MAX, next);
}

/* INCRBYFLOAT on a counter: an integral increment of the PN-counter. */
static void incrbyfloat_counter(grove_cmd_call_t *c, long double incr)
{
	if (incr != floorl(incr) || incr >= 0x1p63L || incr < -0x1p63L) {
		grove_resp_error(c->out, "ERR Grove counter keys hold integers: INCRBYFLOAT on a "
					 "counter takes an integral increment (DEL the key to store "
					 "a float)");
		return;
	}
	int64_t now;
	int rc = grove_db_counter_add(c->env->db, c->argv[1], c->argl[1], (int64_t)incr, &now);
	if (rc < 0) {
		grove_cmd_reply_db_error(c, rc);
		return;
	}
	char digits[24];
	int n = snprintf(digits, sizeof(digits), "%lld", (long long)now);
	grove_resp_bulk(c->out, digits, (size_t)n);
}

/* The register's value as a float (0 when absent); false after a reply. */
static bool register_ld(grove_cmd_call_t *c, grove_type_t t, long double *cur)
{
	*cur = 0;
	if (t == GROVE_TYPE_NONE)
		return true;
	grove_value_t *v = NULL;
	int rc = grove_db_get(c->env->db, c->argv[1], c->argl[1], &v);
	const void *val = NULL;
	size_t len = 0;
	if (rc == 0 && grove_lwwreg_get(v, &val, &len) != 0)
		len = 0, val = NULL;
	bool ok = rc == GROVE_ENOTFOUND || (rc == 0 && !val) ||
		  (rc == 0 && grove_cmd__parse_ld(val, len, cur));
	grove_value_destroy(v);
	if (rc < 0 && rc != GROVE_ENOTFOUND)
		grove_cmd_reply_db_error(c, rc);
	else if (!ok)
		grove_resp_error(c->out, "ERR value is not a valid float");
	return ok && (rc == 0 || rc == GROVE_ENOTFOUND);
}

void grove_cmd_do_incrbyfloat(grove_cmd_call_t *c)
{
	if (!grove_cmd__key_writable(c, 1))
		return;
	grove_cmd__lock_exclusive(c);
	grove_type_t t;
	int rc = grove_db_type(c->env->db, c->argv[1], c->argl[1], &t);
	if (rc == 0 && t != GROVE_TYPE_NONE && t != GROVE_TYPE_REGISTER && t != GROVE_TYPE_COUNTER)
		rc = GROVE_EWRONGTYPE;
	if (rc < 0) {
		grove_cmd_reply_db_error(c, rc);
		return;
	}
	long double cur = 0, incr;
	if (t != GROVE_TYPE_COUNTER && !register_ld(c, t, &cur))
		return;
	if (!grove_cmd__parse_ld(c->argv[2], c->argl[2], &incr)) {
		grove_resp_error(c->out, "ERR value is not a valid float");
		return;
	}
	if (t == GROVE_TYPE_COUNTER) {
		incrbyfloat_counter(c, incr);
		return;
	}
	char buf[LD_CHARS_MAX];
	size_t n = float_sum(c, cur, incr, buf);
	if (n == 0)
		return;
	rc = grove_db_register_write(c->env->db, c->argv[1], c->argl[1], buf, n, GROVE_DB_TTL_KEEP,
				     0); /* INCRBYFLOAT keeps the TTL, as Redis */
	if (rc < 0)
		grove_cmd_reply_db_error(c, rc);
	else
		grove_resp_bulk(c->out, buf, n);
}

/* ---- hash reads ---- */

/* Field argument fi of key 1: *val malloc'd (NULL when absent).  Reads of
 * a key that cannot exist find nothing.  Replies and returns false on
 * WRONGTYPE or a db error. */
static bool field_get(grove_cmd_call_t *c, size_t fi, uint8_t **val, size_t *vlen)
{
	*val = NULL;
	*vlen = 0;
	if (!grove_cmd__key_valid(c, 1))
		return true;
	int rc = grove_db_map_get(c->env->db, c->argv[1], c->argl[1], c->argv[fi], c->argl[fi], val,
				  vlen);
	if (rc == GROVE_ENOTFOUND) {
		*val = NULL;
		return true;
	}
	if (rc < 0) {
		grove_cmd_reply_db_error(c, rc);
		return false;
	}
	return true;
}

/* HMGET key field...: nil per absent field; WRONGTYPE on another type. */
void grove_cmd_do_hmget(grove_cmd_call_t *c)
{
	grove_buf_t items;
	grove_buf_init(&items, 0);
	for (size_t i = 2; i < c->argc; i++) {
		uint8_t *val;
		size_t vlen;
		if (!field_get(c, i, &val, &vlen)) {
			grove_buf_close(&items);
			return;
		}
		if (val)
			grove_resp_bulk(&items, val, vlen);
		else
			grove_resp_null(&items);
		grove_free(val);
	}
	grove_resp_array(c->out, c->argc - 2);
	grove_buf_append(c->out, items.data, items.len);
	grove_buf_close(&items);
}

void grove_cmd_do_hstrlen(grove_cmd_call_t *c)
{
	uint8_t *val;
	size_t vlen;
	if (!field_get(c, 2, &val, &vlen))
		return;
	grove_resp_int(c->out, val ? (long long)vlen : 0);
	grove_free(val);
}

/* HRANDFIELD key [count [WITHVALUES]]: the sampler of SRANDMEMBER. */
void grove_cmd_do_hrandfield(grove_cmd_call_t *c)
{
	long long count = -1;
	bool values = c->argc == 4;
	if (c->argc > 4 || (values && !grove_cmd_arg_is(c, 3, "withvalues"))) {
		grove_cmd_reply_syntax(c);
		return;
	}
	if (c->argc >= 3 && !grove_cmd__rand_count(c, 2, false, &count))
		return;
	grove_cmd_pick_t *picks = NULL;
	size_t n = 0;
	int rc = grove_cmd__key_valid(c, 1) ? grove_cmd__coll_sample(c->env->db, c->argv[1], c->argl[1],
								      GROVE_TYPE_MAP, count, &picks, &n)
					    : 0;
	if (rc < 0)
		grove_cmd_reply_db_error(c, rc);
	else
		grove_cmd__reply_picks(c, picks, n, c->argc == 2, values);
	grove_cmd__picks_free(picks, n);
}

/* ---- hash writes decided on this node ---- */

static bool field_set(grove_cmd_call_t *c, const void *val, size_t vlen)
{
	bool created;
	int rc = grove_db_map_set(c->env->db, c->argv[1], c->argl[1], c->argv[2], c->argl[2], val,
				  vlen, &created);
	if (rc < 0)
		grove_cmd_reply_db_error(c, rc);
	return rc == 0;
}

/* Key 1's field 2 for a read-modify-write: a writable key name, the
 * exclusive lock, then the value (*val NULL when absent); false after a
 * reply. */
static bool field_for_update(grove_cmd_call_t *c, uint8_t **val, size_t *vlen)
{
	if (!grove_cmd__key_writable(c, 1))
		return false;
	grove_cmd__lock_exclusive(c);
	return field_get(c, 2, val, vlen);
}

void grove_cmd_do_hsetnx(grove_cmd_call_t *c)
{
	uint8_t *val;
	size_t vlen;
	if (!field_for_update(c, &val, &vlen))
		return;
	if (val) {
		grove_free(val);
		grove_resp_int(c->out, 0);
	} else if (field_set(c, c->argv[3], c->argl[3])) {
		grove_resp_int(c->out, 1);
	}
}

/* An increment of the counter field 2 of key 1 (grove_db_map_incr), with
 * Redis's error texts; false after an error reply. */
static bool field_incr(grove_cmd_call_t *c, int64_t incr, int64_t *now)
{
	int rc = grove_db_map_incr(c->env->db, c->argv[1], c->argl[1], c->argv[2], c->argl[2], incr,
				   now);
	if (rc == GROVE_ERANGE)
		grove_resp_error(c->out, "ERR hash value is not an integer");
	else if (rc == GROVE_EOVERFLOW)
		grove_resp_error(c->out, "ERR increment or decrement would overflow");
	else if (rc < 0)
		grove_cmd_reply_db_error(c, rc);
	return rc == 0;
}

void grove_cmd_do_hincrby(grove_cmd_call_t *c)
{
	long long incr;
	int64_t now;
	if (!grove_cmd_arg_ll(c, 3, &incr) || !grove_cmd__key_writable(c, 1))
		return;
	if (field_incr(c, incr, &now))
		grove_resp_int(c->out, now);
}

/* HINCRBYFLOAT on a counter field: an integral increment, as HINCRBY. */
static void hincrbyfloat_counter(grove_cmd_call_t *c, long double incr)
{
	if (incr != floorl(incr) || incr >= 0x1p63L || incr < -0x1p63L) {
		grove_resp_error(c->out, "ERR Grove counter fields hold integers: HINCRBYFLOAT on a "
					 "field written by HINCRBY takes an integral increment "
					 "(HSET or HDEL the field to store a float)");
		return;
	}
	int64_t now;
	if (!field_incr(c, (int64_t)incr, &now))
		return;
	char digits[24];
	int n = snprintf(digits, sizeof(digits), "%lld", (long long)now);
	grove_resp_bulk(c->out, digits, (size_t)n);
}

void grove_cmd_do_hincrbyfloat(grove_cmd_call_t *c)
{
	long double incr, cur = 0;
	if (!grove_cmd__parse_ld(c->argv[3], c->argl[3], &incr)) {
		grove_resp_error(c->out, "ERR value is not a valid float");
		return;
	}
	if (isnan(incr) || isinf(incr)) {
		grove_resp_error(c->out, "ERR value is NaN or Infinity");
		return;
	}
	uint8_t *val = NULL;
	size_t vlen = 0;
	bool counter = false;
	if (!grove_cmd__key_writable(c, 1))
		return;
	grove_cmd__lock_exclusive(c);
	int rc = grove_db_map_lookup(c->env->db, c->argv[1], c->argl[1], c->argv[2], c->argl[2],
				     &val, &vlen, &counter);
	if (rc < 0 && rc != GROVE_ENOTFOUND) {
		grove_cmd_reply_db_error(c, rc);
		return;
	}
	bool ok = rc == GROVE_ENOTFOUND || grove_cmd__parse_ld(val, vlen, &cur);
	if (rc == 0)
		grove_free(val);
	if (!ok) {
		grove_resp_error(c->out, "ERR hash value is not a float");
		return;
	}
	if (rc == 0 && counter) {
		hincrbyfloat_counter(c, incr);
		return;
	}
	char buf[LD_CHARS_MAX];
	size_t n = float_sum(c, cur, incr, buf);
	if (n && field_set(c, buf, n))
		grove_resp_bulk(c->out, buf, n);
}
