/*
 * resp_cmd_zset.c - sorted-set commands (ZADD, ZINCRBY, ZREM, ZSCORE,
 * ZMSCORE, ZCARD, ZCOUNT, ZLEXCOUNT, ZRANGE, ZRANGEBYSCORE, ZREVRANGEBYSCORE,
 * ZRANGEBYLEX, ZREVRANGE, ZRANK, ZREVRANK, ZPOPMIN, ZPOPMAX, ZRANDMEMBER,
 * ZSCAN, ZREMRANGEBYSCORE, ZREMRANGEBYRANK) over db.h's grove_db_zset_*.
 *
 * Replies, score formatting ("%.17g", inf, -inf: Redis 7.0's) and error
 * texts follow Redis.  A multi-member write (ZADD k 1 a 2 b, ZREM k a b)
 * checks every argument first, then writes one member at a time, each
 * atomic and durable on its own; commands that read then write (ZPOPMIN,
 * ZREMRANGEBY*, ZADD with a condition) hold the node's exclusive command
 * lock, so they are atomic on this node.  Semantics across nodes:
 * doc/value_format.md "Sorted sets".
 */
#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grove/alloc.h"
#include "base/rng.h"
#include "node/resp_commands_int.h"
#include "storage/glob.h"

/* ---- parsing and replies ---- */

/* A score written as a plain integer of 1 to 15 digits (a sign allowed)
 * is exact as a double: converted without strtod (its copy and locale
 * work were about 600 instructions of a pipelined ZADD's ~38,000).
 * false: not of that form (strtod's turn). */
#define SCORE_INT_DIGITS_MAX 15
static bool parse_int_score(const uint8_t *p, size_t n, double *out)
{
	size_t i = n > 0 && (p[0] == '-' || p[0] == '+') ? 1 : 0;
	if (n == i || n - i > SCORE_INT_DIGITS_MAX)
		return false;
	int64_t v = 0;
	for (size_t j = i; j < n; j++) {
		if (p[j] < '0' || p[j] > '9')
			return false;
		v = v * 10 + (p[j] - '0');
	}
	*out = p[0] == '-' ? -(double)v : (double)v; /* "-0": -0, as strtod */
	return true;
}

/* Redis's string2d: strtod over the whole argument, no leading space, no NaN. */
static bool parse_double(const uint8_t *p, size_t n, double *out)
{
	if (parse_int_score(p, n, out))
		return true;
	char buf[128];
	if (n == 0 || n >= sizeof(buf) || p[0] == ' ' || (p[0] >= '\t' && p[0] <= '\r'))
		return false;
	memcpy(buf, p, n);
	buf[n] = '\0';
	if (strlen(buf) != n)
		return false;
	char *end;
	errno = 0;
	double d = strtod(buf, &end);
	if (end != buf + n || isnan(d) || (errno == ERANGE && (isinf(d) || d == 0)))
		return false; /* as Redis: an overflow or underflow is not a float */
	*out = d;
	return true;
}

static bool arg_double(grove_cmd_call_t *c, size_t i, double *out)
{
	if (parse_double(c->argv[i], c->argl[i], out))
		return true;
	grove_resp_error(c->out, "ERR value is not a valid float");
	return false;
}

static void reply_double(grove_buf_t *b, double d)
{
	if (isinf(d)) {
		grove_resp_bulk_str(b, d > 0 ? "inf" : "-inf");
		return;
	}
	char s[64];
	int n = snprintf(s, sizeof(s), "%.17g", d);
	grove_resp_bulk(b, s, (size_t)n);
}

/* Score bound: "(1.5", "1.5", "-inf", "+inf". */
static bool parse_score_bound(const uint8_t *p, size_t n, double *v, bool *excl)
{
	*excl = n > 0 && p[0] == '(';
	return parse_double(p + *excl, n - *excl, v);
}

/* Lex bound: "-", "+", "[x", "(x". */
static bool parse_lex_bound(const uint8_t *p, size_t n, const void **v, size_t *len, int *inf,
			    bool *excl)
{
	*v = NULL;
	*len = 0;
	*inf = 0;
	*excl = false;
	if (n == 1 && p[0] == '-')
		return *inf = -1, true;
	if (n == 1 && p[0] == '+')
		return *inf = 1, true;
	if (n == 0 || (p[0] != '[' && p[0] != '('))
		return false;
	*excl = p[0] == '(';
	*v = p + 1;
	*len = n - 1;
	return true;
}

static bool parse_range_bounds(grove_cmd_call_t *c, grove_zrange_t *r, size_t imin, size_t imax)
{
	if (r->by == GROVE_ZRANGE_SCORE) {
		if (!parse_score_bound(c->argv[imin], c->argl[imin], &r->min, &r->min_excl) ||
		    !parse_score_bound(c->argv[imax], c->argl[imax], &r->max, &r->max_excl)) {
			grove_resp_error(c->out, "ERR min or max is not a float");
			return false;
		}
		return true;
	}
	if (!parse_lex_bound(c->argv[imin], c->argl[imin], &r->lmin, &r->lmin_len, &r->lmin_inf,
			     &r->min_excl) ||
	    !parse_lex_bound(c->argv[imax], c->argl[imax], &r->lmax, &r->lmax_len, &r->lmax_inf,
			     &r->max_excl)) {
		grove_resp_error(c->out, "ERR min or max not valid string range item");
		return false;
	}
	return true;
}

/* Collected members for an array reply. */
typedef struct zout {
	grove_buf_t items;
	size_t n;
	bool scores;
} zout_t;

static int zout_add(void *ctx, const void *m, size_t ml, double s)
{
	zout_t *o = ctx;
	grove_resp_bulk(&o->items, m, ml);
	if (o->scores)
		reply_double(&o->items, s);
	o->n++;
	return grove_buf_failed(&o->items) ? -1 : 0;
}

static void zout_reply(grove_cmd_call_t *c, zout_t *o)
{
	if (grove_buf_failed(&o->items)) {
		grove_resp_error(c->out, "ERR out of memory building the reply");
	} else {
		grove_resp_array(c->out, o->n * (o->scores ? 2 : 1));
		grove_buf_append(c->out, o->items.data, o->items.len);
	}
	grove_buf_close(&o->items);
}

static bool key_ok_read(grove_cmd_call_t *c)
{
	return grove_cmd__key_valid(c, 1);
}

/* ---- writes ---- */

/* ZADD's options, before its first score: NX XX GT LT CH INCR (any case;
 * an argument of another length is a score, with no compare). */
static size_t zadd_options(const grove_cmd_call_t *c, unsigned *flags, bool *ch)
{
	size_t i = 2;
	for (; i < c->argc && (c->argl[i] == 2 || c->argl[i] == 4); i++) {
		if (grove_cmd_arg_is(c, i, "nx"))
			*flags |= GROVE_ZADD_NX;
		else if (grove_cmd_arg_is(c, i, "xx"))
			*flags |= GROVE_ZADD_XX;
		else if (grove_cmd_arg_is(c, i, "gt"))
			*flags |= GROVE_ZADD_GT;
		else if (grove_cmd_arg_is(c, i, "lt"))
			*flags |= GROVE_ZADD_LT;
		else if (grove_cmd_arg_is(c, i, "ch"))
			*ch = true;
		else if (grove_cmd_arg_is(c, i, "incr"))
			*flags |= GROVE_ZADD_INCR;
		else
			break;
	}
	return i;
}

/* Scores of up to ZADD_STACK_PAIRS pairs parse into the stack (a
 * pipelined ZADD of one member made a malloc and a free). */
#define ZADD_STACK_PAIRS 8

void grove_cmd_do_zadd(grove_cmd_call_t *c)
{
	unsigned flags = 0;
	bool ch = false;
	size_t i = zadd_options(c, &flags, &ch);
	size_t pairs = c->argc - i;
	if (pairs == 0 || pairs % 2 != 0) {
		grove_cmd_reply_syntax(c);
		return;
	}
	if ((flags & GROVE_ZADD_NX) && (flags & GROVE_ZADD_XX)) {
		grove_resp_error(c->out, "ERR XX and NX options at the same time are not compatible");
		return;
	}
	if (((flags & GROVE_ZADD_GT) && (flags & GROVE_ZADD_LT)) ||
	    ((flags & GROVE_ZADD_NX) && (flags & (GROVE_ZADD_GT | GROVE_ZADD_LT)))) {
		grove_resp_error(c->out,
				 "ERR GT, LT, and/or NX options at the same time are not compatible");
		return;
	}
	if ((flags & GROVE_ZADD_INCR) && pairs > 2) {
		grove_resp_error(c->out, "ERR INCR option supports a single increment-element pair");
		return;
	}
	double stack[ZADD_STACK_PAIRS];
	double *scores = pairs / 2 <= ZADD_STACK_PAIRS ? stack
						       : grove_malloc(pairs / 2 * sizeof(*scores));
	if (!scores) {
		grove_resp_error(c->out, "ERR out of memory");
		return;
	}
	for (size_t j = 0; j < pairs / 2; j++)
		if (!arg_double(c, i + 2 * j, &scores[j]))
			goto out_free_scores;
	if (!grove_cmd__key_writable(c, 1))
		goto out_free_scores;
	long long n = 0;
	double out = 0;
	int result = 0;
	for (size_t j = 0; j < pairs / 2; j++) {
		int rc = grove_db_zset_add(c->env->db, c->argv[1], c->argl[1], c->argv[i + 2 * j + 1],
					   c->argl[i + 2 * j + 1], scores[j], flags, &result, &out);
		if (rc == GROVE_ERANGE) {
			grove_resp_error(c->out, "ERR resulting score is not a number (NaN)");
			goto out_free_scores;
		}
		if (rc < 0) {
			grove_cmd_reply_db_error(c, rc);
			goto out_free_scores;
		}
		n += result == 1 || (ch && result == 2);
	}
	if (!(flags & GROVE_ZADD_INCR))
		grove_resp_int(c->out, n);
	else if (result == 0 && (flags & (GROVE_ZADD_NX | GROVE_ZADD_XX | GROVE_ZADD_GT |
					   GROVE_ZADD_LT)))
		grove_resp_null(c->out);
	else
		reply_double(c->out, out);
out_free_scores:
	if (scores != stack)
		grove_free(scores);
}

void grove_cmd_do_zincrby(grove_cmd_call_t *c)
{
	double d, out = 0;
	if (!arg_double(c, 2, &d) || !grove_cmd__key_writable(c, 1))
		return;
	int rc = grove_db_zset_add(c->env->db, c->argv[1], c->argl[1], c->argv[3], c->argl[3], d,
				   GROVE_ZADD_INCR, NULL, &out);
	if (rc == GROVE_ERANGE)
		grove_resp_error(c->out, "ERR resulting score is not a number (NaN)");
	else if (rc < 0)
		grove_cmd_reply_db_error(c, rc);
	else
		reply_double(c->out, out);
}

void grove_cmd_do_zrem(grove_cmd_call_t *c)
{
	long long n = 0;
	if (!key_ok_read(c)) {
		grove_resp_int(c->out, 0);
		return;
	}
	for (size_t i = 2; i < c->argc; i++) {
		bool removed = false;
		if (c->argl[i] > GROVE_ELEM_MAX)
			continue;
		int rc = grove_db_zset_remove(c->env->db, c->argv[1], c->argl[1], c->argv[i],
					      c->argl[i], &removed);
		if (rc < 0) {
			grove_cmd_reply_db_error(c, rc);
			return;
		}
		n += removed;
	}
	grove_resp_int(c->out, n);
}

/* ---- point reads ---- */

/* 0 found, 1 absent, < 0 replied an error. */
static int score_of(grove_cmd_call_t *c, size_t i, double *s)
{
	if (!key_ok_read(c) || c->argl[i] > GROVE_ELEM_MAX)
		return 1;
	int rc = grove_db_zset_score(c->env->db, c->argv[1], c->argl[1], c->argv[i], c->argl[i], s);
	if (rc == GROVE_ENOTFOUND)
		return 1;
	if (rc < 0) {
		grove_cmd_reply_db_error(c, rc);
		return -1;
	}
	return 0;
}

void grove_cmd_do_zscore(grove_cmd_call_t *c)
{
	double s;
	int rc = score_of(c, 2, &s);
	if (rc == 0)
		reply_double(c->out, s);
	else if (rc == 1)
		grove_resp_null(c->out);
}

void grove_cmd_do_zmscore(grove_cmd_call_t *c)
{
	grove_buf_t items;
	grove_buf_init(&items, 0);
	for (size_t i = 2; i < c->argc; i++) {
		double s;
		int rc = score_of(c, i, &s);
		if (rc < 0) {
			grove_buf_close(&items);
			return;
		}
		if (rc == 0)
			reply_double(&items, s);
		else
			grove_resp_null(&items);
	}
	grove_resp_array(c->out, c->argc - 2);
	grove_buf_append(c->out, items.data, items.len);
	grove_buf_close(&items);
}

void grove_cmd_do_zcard(grove_cmd_call_t *c)
{
	uint64_t n = 0;
	int rc = key_ok_read(c) ? grove_db_coll_count(c->env->db, c->argv[1], c->argl[1],
						      GROVE_TYPE_ZSET, &n)
				: 0;
	if (rc < 0)
		grove_cmd_reply_db_error(c, rc);
	else
		grove_resp_int(c->out, (long long)n);
}

static void count_by(grove_cmd_call_t *c, int by)
{
	grove_zrange_t r = { .by = by, .count = -1 };
	if (!parse_range_bounds(c, &r, 2, 3))
		return;
	uint64_t n = 0;
	int rc = key_ok_read(c) ? grove_db_zset_count(c->env->db, c->argv[1], c->argl[1], &r, &n) : 0;
	if (rc < 0)
		grove_cmd_reply_db_error(c, rc);
	else
		grove_resp_int(c->out, (long long)n);
}

void grove_cmd_do_zcount(grove_cmd_call_t *c)
{
	count_by(c, GROVE_ZRANGE_SCORE);
}

void grove_cmd_do_zlexcount(grove_cmd_call_t *c)
{
	count_by(c, GROVE_ZRANGE_LEX);
}

/* ---- ranges ---- */

/* Runs r over key 1 and replies the members (with scores if asked). */
static void range_reply(grove_cmd_call_t *c, const grove_zrange_t *r, bool scores)
{
	zout_t o = { .scores = scores };
	grove_buf_init(&o.items, 0);
	int rc = key_ok_read(c) ? grove_db_zset_range(c->env->db, c->argv[1], c->argl[1], r, zout_add,
						     &o)
				: 0;
	if (rc < 0) {
		grove_buf_close(&o.items);
		grove_cmd_reply_db_error(c, rc);
		return;
	}
	zout_reply(c, &o);
}

/* ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count]
 * [WITHSCORES] and the older forms (how: 0 ZRANGE, 1 ZRANGEBYSCORE,
 * 2 ZREVRANGEBYSCORE, 3 ZRANGEBYLEX, 4 ZREVRANGEBYLEX, 5 ZREVRANGE). */
static void zrange_generic(grove_cmd_call_t *c, int how)
{
	grove_zrange_t r = { .by = GROVE_ZRANGE_RANK, .count = -1 };
	bool scores = false, limit = false;
	long long off = 0, cnt = -1;
	if (how == 1 || how == 2)
		r.by = GROVE_ZRANGE_SCORE;
	if (how == 3 || how == 4)
		r.by = GROVE_ZRANGE_LEX;
	r.rev = how == 2 || how == 4 || how == 5;
	for (size_t i = 4; i < c->argc; i++) {
		if (grove_cmd_arg_is(c, i, "withscores") && how != 3 && how != 4) {
			scores = true;
		} else if (grove_cmd_arg_is(c, i, "limit") && how != 5 && i + 2 < c->argc) {
			if (!grove_cmd_arg_ll(c, i + 1, &off) || !grove_cmd_arg_ll(c, i + 2, &cnt))
				return;
			limit = true;
			i += 2;
		} else if (how == 0 && grove_cmd_arg_is(c, i, "byscore")) {
			r.by = GROVE_ZRANGE_SCORE;
		} else if (how == 0 && grove_cmd_arg_is(c, i, "bylex")) {
			r.by = GROVE_ZRANGE_LEX;
		} else if (how == 0 && grove_cmd_arg_is(c, i, "rev")) {
			r.rev = true;
		} else {
			grove_cmd_reply_syntax(c);
			return;
		}
	}
	if (limit && r.by == GROVE_ZRANGE_RANK) {
		grove_resp_error(c->out, "ERR syntax error, LIMIT is only supported in combination "
					 "with either BYSCORE or BYLEX");
		return;
	}
	if (scores && r.by == GROVE_ZRANGE_LEX) {
		grove_resp_error(c->out, "ERR syntax error, WITHSCORES not supported in combination "
					 "with BYLEX");
		return;
	}
	if (r.by == GROVE_ZRANGE_RANK) {
		long long a, b;
		if (!grove_cmd_arg_ll(c, 2, &a) || !grove_cmd_arg_ll(c, 3, &b))
			return;
		r.start = a;
		r.stop = b;
	} else {
		/* reverse forms name max first */
		size_t imin = r.rev ? 3 : 2, imax = r.rev ? 2 : 3;
		if (!parse_range_bounds(c, &r, imin, imax))
			return;
		if (off < 0) {
			grove_resp_array(c->out, 0);
			return;
		}
		r.offset = (uint64_t)off;
		r.count = cnt;
	}
	range_reply(c, &r, scores);
}

void grove_cmd_do_zrange(grove_cmd_call_t *c)
{
	zrange_generic(c, 0);
}

void grove_cmd_do_zrangebyscore(grove_cmd_call_t *c)
{
	zrange_generic(c, 1);
}

void grove_cmd_do_zrevrangebyscore(grove_cmd_call_t *c)
{
	zrange_generic(c, 2);
}

void grove_cmd_do_zrangebylex(grove_cmd_call_t *c)
{
	zrange_generic(c, 3);
}

void grove_cmd_do_zrevrangebylex(grove_cmd_call_t *c)
{
	zrange_generic(c, 4);
}

void grove_cmd_do_zrevrange(grove_cmd_call_t *c)
{
	zrange_generic(c, 5);
}

static void rank_generic(grove_cmd_call_t *c, bool rev)
{
	if (c->argc > 3) {
		grove_cmd_reply_syntax(c);
		return;
	}
	uint64_t rank = 0;
	int rc = key_ok_read(c) && c->argl[2] <= GROVE_ELEM_MAX
			 ? grove_db_zset_rank(c->env->db, c->argv[1], c->argl[1], c->argv[2],
					      c->argl[2], rev, &rank, NULL)
			 : GROVE_ENOTFOUND;
	if (rc == GROVE_ENOTFOUND)
		grove_resp_null(c->out);
	else if (rc < 0)
		grove_cmd_reply_db_error(c, rc);
	else
		grove_resp_int(c->out, (long long)rank);
}

void grove_cmd_do_zrank(grove_cmd_call_t *c)
{
	rank_generic(c, false);
}

void grove_cmd_do_zrevrank(grove_cmd_call_t *c)
{
	rank_generic(c, true);
}

/* ---- read-then-write ---- */

/* Removes the members of r (scores kept in o when wanted); replies. */
static void remove_range(grove_cmd_call_t *c, const grove_zrange_t *r, bool pop, bool count_given)
{
	grove_cmd__lock_exclusive(c);
	zout_t o = { .scores = true };
	grove_buf_init(&o.items, 0);
	/* collect first (members and scores as RESP), then remove */
	int rc = key_ok_read(c) ? grove_db_zset_range(c->env->db, c->argv[1], c->argl[1], r, zout_add,
						     &o)
				: 0;
	size_t n = o.n;
	/* walk the collected RESP: $len\r\nmember\r\n$len\r\nscore\r\n */
	const char *p = (const char *)o.items.data, *end = p + o.items.len;
	for (size_t i = 0; rc == 0 && i < n && p < end; i++) {
		long ml = strtol(p + 1, NULL, 10);
		const char *m = strchr(p, '\n') + 1;
		bool removed;
		rc = grove_db_zset_remove(c->env->db, c->argv[1], c->argl[1], m, (size_t)ml, &removed);
		p = m + ml + 2;
		long sl = strtol(p + 1, NULL, 10);
		p = strchr(p, '\n') + 1 + sl + 2;
	}
	if (rc < 0) {
		grove_buf_close(&o.items);
		grove_cmd_reply_db_error(c, rc);
		return;
	}
	if (!pop) {
		grove_buf_close(&o.items);
		grove_resp_int(c->out, (long long)n);
		return;
	}
	(void)count_given;
	zout_reply(c, &o);
}

static void pop_generic(grove_cmd_call_t *c, bool max)
{
	long long count = 1;
	if (c->argc > 3) {
		grove_cmd_reply_syntax(c);
		return;
	}
	if (c->argc == 3) {
		if (!grove_cmd__parse_ll(c->argv[2], c->argl[2], &count) || count < 0) {
			grove_resp_error(c->out, "ERR value is out of range, must be positive");
			return;
		}
		if (count == 0) {
			grove_resp_array(c->out, 0);
			return;
		}
	}
	grove_zrange_t r = { .by = GROVE_ZRANGE_RANK, .rev = max, .start = 0, .stop = count - 1 };
	remove_range(c, &r, true, c->argc == 3);
}

void grove_cmd_do_zpopmin(grove_cmd_call_t *c)
{
	pop_generic(c, false);
}

void grove_cmd_do_zpopmax(grove_cmd_call_t *c)
{
	pop_generic(c, true);
}

void grove_cmd_do_zremrangebyscore(grove_cmd_call_t *c)
{
	grove_zrange_t r = { .by = GROVE_ZRANGE_SCORE, .count = -1 };
	if (parse_range_bounds(c, &r, 2, 3))
		remove_range(c, &r, false, false);
}

void grove_cmd_do_zremrangebyrank(grove_cmd_call_t *c)
{
	long long a, b;
	if (!grove_cmd_arg_ll(c, 2, &a) || !grove_cmd_arg_ll(c, 3, &b))
		return;
	grove_zrange_t r = { .by = GROVE_ZRANGE_RANK, .start = a, .stop = b, .count = -1 };
	remove_range(c, &r, false, false);
}

void grove_cmd_do_zremrangebylex(grove_cmd_call_t *c)
{
	grove_zrange_t r = { .by = GROVE_ZRANGE_LEX, .count = -1 };
	if (parse_range_bounds(c, &r, 2, 3))
		remove_range(c, &r, false, false);
}

/* ---- random members, scan ---- */

typedef struct zall {
	grove_buf_t b; /* u32 len, double, member */
	size_t n;
} zall_t;

static int zall_add(void *ctx, const void *m, size_t ml, double s)
{
	zall_t *z = ctx;
	uint32_t l = (uint32_t)ml;
	grove_buf_append(&z->b, &l, sizeof(l));
	grove_buf_append(&z->b, &s, sizeof(s));
	grove_buf_append(&z->b, m, ml);
	z->n++;
	return grove_buf_failed(&z->b) ? -1 : 0;
}

/* ZRANDMEMBER key [count [WITHSCORES]]: reads the whole set (O(n)). */
void grove_cmd_do_zrandmember(grove_cmd_call_t *c)
{
	long long count = 1;
	bool scores = false;
	if (c->argc > 4 || (c->argc == 4 && !grove_cmd_arg_is(c, 3, "withscores"))) {
		grove_cmd_reply_syntax(c);
		return;
	}
	if (c->argc >= 3 && !grove_cmd_arg_ll(c, 2, &count))
		return;
	scores = c->argc == 4;
	zall_t z = { 0 };
	grove_buf_init(&z.b, 0);
	grove_zrange_t r = { .by = GROVE_ZRANGE_RANK, .start = 0, .stop = -1, .count = -1 };
	int rc = key_ok_read(c) && count != 0
			 ? grove_db_zset_range(c->env->db, c->argv[1], c->argl[1], &r, zall_add, &z)
			 : 0;
	if (rc < 0) {
		grove_buf_close(&z.b);
		grove_cmd_reply_db_error(c, rc);
		return;
	}
	const uint8_t **ents = z.n ? grove_malloc(z.n * sizeof(*ents)) : NULL;
	const uint8_t *p = z.b.data;
	for (size_t i = 0; ents && i < z.n; i++) {
		ents[i] = p;
		uint32_t l;
		memcpy(&l, p, sizeof(l));
		p += sizeof(l) + sizeof(double) + l;
	}
	grove_rng_t rng;
	uint64_t seed;
	randombytes_buf(&seed, sizeof(seed));
	grove_rng_seed(&rng, seed);
	size_t want = 0;
	if (c->argc == 2)
		want = z.n ? 1 : 0;
	else if (count > 0)
		want = (uint64_t)count < z.n ? (size_t)count : z.n;
	else if (count < 0 && z.n)
		want = (size_t)(-(count + 1)) + 1;
	if (count > 0) /* distinct: a partial shuffle */
		for (size_t i = 0; i < want; i++) {
			size_t j = i + (size_t)grove_rng_below(&rng, z.n - i);
			const uint8_t *t = ents[i];
			ents[i] = ents[j];
			ents[j] = t;
		}
	zout_t o = { .scores = scores };
	grove_buf_init(&o.items, 0);
	for (size_t i = 0; i < want && (ents || !z.n); i++) {
		const uint8_t *e = count > 0 || c->argc == 2 ? ents[count > 0 ? i : 0]
							    : ents[grove_rng_below(&rng, z.n)];
		if (c->argc == 2)
			e = ents[grove_rng_below(&rng, z.n)];
		uint32_t l;
		double s;
		memcpy(&l, e, sizeof(l));
		memcpy(&s, e + sizeof(l), sizeof(s));
		zout_add(&o, e + sizeof(l) + sizeof(s), l, s);
	}
	grove_free(ents);
	grove_buf_close(&z.b);
	if (c->argc == 2) {
		if (o.n == 0)
			grove_resp_null(c->out);
		else
			grove_buf_append(c->out, o.items.data, o.items.len);
		grove_buf_close(&o.items);
		return;
	}
	zout_reply(c, &o);
}

typedef struct zscan_out {
	zout_t o;
	const uint8_t *pattern;
	size_t plen;
} zscan_out_t;

static int zscan_add(void *ctx, const void *elem, size_t elen, const void *val, size_t vlen)
{
	zscan_out_t *z = ctx;
	double s;
	if (vlen != sizeof(s))
		return 1;
	memcpy(&s, val, sizeof(s));
	if (z->pattern && !grove_glob_match(z->pattern, z->plen, elem, elen))
		return 0;
	return zout_add(&z->o, elem, elen, s) ? 1 : 0;
}

/* ZSCAN key cursor [MATCH p] [COUNT n]: member order, as SSCAN. */
void grove_cmd_do_zscan(grove_cmd_call_t *c)
{
	long long cursor, count = 10;
	zscan_out_t z = { .o = { .scores = true } };
	if (!grove_cmd__parse_ll(c->argv[2], c->argl[2], &cursor)) {
		grove_resp_error(c->out, "ERR invalid cursor");
		return;
	}
	if (!grove_cmd__scan_match_count(c, 3, &z.pattern, &z.plen, &count))
		return;
	const uint8_t *start = NULL;
	size_t slen = 0;
	if (cursor != 0) {
		struct grove_scan_cursor *slot = grove_cmd__cursor_get(c->env, cursor);
		if (!slot) {
			grove_resp_error(c->out, "ERR invalid cursor");
			return;
		}
		start = slot->key;
		slen = slot->klen;
	}
	grove_buf_init(&z.o.items, 0);
	uint8_t *next = NULL;
	size_t next_len = 0;
	int rc = key_ok_read(c) ? grove_db_coll_scan(c->env->db, c->argv[1], c->argl[1],
						     GROVE_TYPE_ZSET, start, slen, (size_t)count,
						     zscan_add, &z, &next, &next_len)
				: 0;
	if (rc < 0) {
		grove_buf_close(&z.o.items);
		grove_cmd_reply_db_error(c, rc);
		return;
	}
	uint64_t id = next ? grove_cmd__cursor_put(c->env, next, next_len) : 0;
	grove_resp_array(c->out, 2);
	grove_resp_bulk_int(c->out, (long long)id);
	zout_reply(c, &z.o);
}
