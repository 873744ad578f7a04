/*
 * resp_cmd_list.c - list commands (storage/db_list.c; rules in
 * doc/value_format.md, "Lists"): LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP, RPOP,
 * LLEN, LRANGE, LINDEX, LSET, LINSERT, LREM, LTRIM, LPOS, LMOVE, RPOPLPUSH.
 * Replies and error texts are Redis 7's.
 *
 * Costs: the ends are O(log n) (one seek), LLEN O(1), an index i (LINDEX,
 * LSET, LRANGE's start) O(min(i, n - i)) steps from the nearer end; LINSERT,
 * LREM and LPOS walk from an end, as in Redis.  Commands that change more
 * than one element (LPUSH k a b c, LPOP k 3, LREM, LTRIM, LMOVE) are a
 * sequence of single-element writes; they hold the node's command lock
 * exclusively, so no other command of this node runs in between (merges
 * from peers may).  Pushes, and pops without a count, are deferrable
 * (GROVE_CMD_DEFER): each element is one atomic write whose result is the
 * reply, so a client's pipelined pushes and pops are one store write
 * (node/resp_server.h), and storage/db_list.c remembers the list's ends so
 * a push needs no seek.
 */
#include <limits.h>
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "node/resp_commands_int.h"

/* Replies an error for rc; a key that cannot exist reads as absent. */
static bool key_ok_for_read(grove_cmd_call_t *c, size_t i)
{
	return grove_cmd__key_valid(c, i);
}

static void reply_null_array(grove_cmd_call_t *c)
{
	grove_buf_append(c->out, "*-1\r\n", 5);
}

/* ---- pushes ---- */

static void push(grove_cmd_call_t *c, bool left, bool only_existing)
{
	if (!grove_cmd__key_writable(c, 1))
		return;
	if (c->argc > 3)
		grove_cmd__lock_exclusive(c);
	uint64_t len = 0;
	for (size_t i = 2; i < c->argc; i++) {
		int rc = grove_db_list_push(c->env->db, c->argv[1], c->argl[1], left, only_existing,
					    c->argv[i], c->argl[i], &len);
		if (rc < 0) {
			grove_cmd_reply_db_error(c, rc);
			return;
		}
		if (only_existing && len == 0)
			break; /* no list: nothing pushed */
	}
	grove_resp_int(c->out, (long long)len);
}

void grove_cmd_do_lpush(grove_cmd_call_t *c)
{
	push(c, true, false);
}

void grove_cmd_do_rpush(grove_cmd_call_t *c)
{
	push(c, false, false);
}

void grove_cmd_do_lpushx(grove_cmd_call_t *c)
{
	push(c, true, true);
}

void grove_cmd_do_rpushx(grove_cmd_call_t *c)
{
	push(c, false, true);
}

/* ---- pops ---- */

static void pop(grove_cmd_call_t *c, bool left)
{
	long long count = 1;
	bool with_count = c->argc == 3;
	if (c->argc > 3) {
		grove_resp_errorf(c->out, "ERR wrong number of arguments for '%s' command",
				  left ? "lpop" : "rpop");
		return;
	}
	if (with_count && !grove_cmd__parse_ll(c->argv[2], c->argl[2], &count)) {
		grove_resp_error(c->out, "ERR value is out of range, must be positive");
		return;
	}
	if (with_count && count < 0) {
		grove_resp_error(c->out, "ERR value is out of range, must be positive");
		return;
	}
	if (!key_ok_for_read(c, 1)) {
		with_count ? reply_null_array(c) : grove_resp_null(c->out);
		return;
	}
	uint8_t *v = NULL;
	size_t vl = 0;
	int rc;
	if (!with_count) { /* one write, its result the reply: deferrable */
		rc = grove_db_list_pop(c->env->db, c->argv[1], c->argl[1], left, &v, &vl);
		if (rc == 0)
			grove_resp_bulk(c->out, v, vl);
		else if (rc == GROVE_ENOTFOUND)
			grove_resp_null(c->out);
		else
			grove_cmd_reply_db_error(c, rc);
		grove_free(v);
		return;
	}
	uint64_t n = 0;
	rc = grove_db_coll_count(c->env->db, c->argv[1], c->argl[1], GROVE_TYPE_LIST, &n);
	if (rc < 0) {
		grove_cmd_reply_db_error(c, rc);
		return;
	}
	if (n == 0) {
		reply_null_array(c);
		return;
	}
	grove_cmd__lock_exclusive(c);
	if ((uint64_t)count > n)
		count = (long long)n;
	grove_resp_array(c->out, (size_t)count);
	for (long long i = 0; i < count; i++) {
		rc = grove_db_list_pop(c->env->db, c->argv[1], c->argl[1], left, &v, &vl);
		if (rc == 0) {
			grove_resp_bulk(c->out, v, vl);
			grove_free(v);
		} else if (rc == GROVE_ENOTFOUND) {
			grove_resp_null(c->out); /* emptied by a merge meanwhile */
		} else {
			grove_cmd_reply_db_error(c, rc);
		}
	}
}

void grove_cmd_do_lpop(grove_cmd_call_t *c)
{
	pop(c, true);
}

void grove_cmd_do_rpop(grove_cmd_call_t *c)
{
	pop(c, false);
}

/* ---- reads ---- */

void grove_cmd_do_llen(grove_cmd_call_t *c)
{
	uint64_t n = 0;
	int rc = key_ok_for_read(c, 1)
			 ? grove_db_coll_count(c->env->db, c->argv[1], c->argl[1], GROVE_TYPE_LIST, &n)
			 : 0;
	if (rc < 0)
		grove_cmd_reply_db_error(c, rc);
	else
		grove_resp_int(c->out, (long long)n);
}

typedef struct collect {
	grove_buf_t items;
	size_t n;
} collect_t;

static int collect_one(void *ctx, const void *id, size_t idlen, const void *val, size_t vlen)
{
	(void)id;
	(void)idlen;
	collect_t *k = ctx;
	grove_resp_bulk(&k->items, val, vlen);
	k->n++;
	return 0;
}

/* LRANGE's elements go straight into the reply, after room for the
 * array header of the largest count ("*" 20 digits CRLF); the header is
 * written once the count is known and the elements moved up to it (no
 * second buffer, no copy of the reply). */
#define ARRAY_HEAD_MAX 23

static int reply_one(void *ctx, const void *id, size_t idlen, const void *val, size_t vlen)
{
	(void)id;
	(void)idlen;
	grove_cmd_call_t *c = ((void **)ctx)[0];
	size_t *n = ((void **)ctx)[1];
	grove_resp_bulk(c->out, val, vlen);
	(*n)++;
	return 0;
}

void grove_cmd_do_lrange(grove_cmd_call_t *c)
{
	long long start, stop;
	if (!grove_cmd_arg_ll(c, 2, &start) || !grove_cmd_arg_ll(c, 3, &stop))
		return;
	size_t n = 0, at = c->out->len;
	void *ctx[2] = { c, &n };
	static const char room[ARRAY_HEAD_MAX] = { 0 };
	grove_buf_append(c->out, room, sizeof(room));
	int rc = key_ok_for_read(c, 1) ? grove_db_list_range(c->env->db, c->argv[1], c->argl[1],
							       start, stop, reply_one, ctx)
				       : 0;
	if (grove_buf_failed(c->out))
		return; /* the reply buffer is lost anyway */
	if (rc < 0) {
		c->out->len = at;
		grove_cmd_reply_db_error(c, rc);
		return;
	}
	char head[ARRAY_HEAD_MAX + 1];
	int hl = snprintf(head, sizeof(head), "*%zu\r\n", n);
	GROVE_ASSERT(hl > 0 && hl <= ARRAY_HEAD_MAX);
	uint8_t *p = c->out->data + at;
	memcpy(p, head, (size_t)hl);
	memmove(p + hl, p + ARRAY_HEAD_MAX, c->out->len - at - ARRAY_HEAD_MAX);
	c->out->len -= ARRAY_HEAD_MAX - (size_t)hl;
}

void grove_cmd_do_lindex(grove_cmd_call_t *c)
{
	long long i;
	if (!grove_cmd_arg_ll(c, 2, &i))
		return;
	collect_t k = { .n = 0 };
	grove_buf_init(&k.items, 0);
	int rc = key_ok_for_read(c, 1) && i != LLONG_MIN
			 ? grove_db_list_range(c->env->db, c->argv[1], c->argl[1], i, i, collect_one, &k)
			 : 0;
	if (rc < 0)
		grove_cmd_reply_db_error(c, rc);
	else if (k.n == 0)
		grove_resp_null(c->out);
	else
		grove_buf_append(c->out, k.items.data, k.items.len);
	grove_buf_close(&k.items);
}

/* LPOS key element [RANK rank] [COUNT num] [MAXLEN len] */
typedef struct lpos {
	const uint8_t *elem;
	size_t elen;
	long long rank, count, maxlen;
	long long index, seen, found;
	bool reverse;
	grove_buf_t out;
} lpos_t;

static int lpos_visit(void *ctx, const void *id, size_t idlen, const void *val, size_t vlen)
{
	(void)id;
	(void)idlen;
	lpos_t *p = ctx;
	if (p->maxlen && p->seen >= p->maxlen)
		return 1;
	p->seen++;
	long long at = p->reverse ? p->index-- : p->index++;
	if (vlen != p->elen || (vlen && memcmp(val, p->elem, vlen) != 0))
		return 0;
	if (--p->rank > 0)
		return 0;
	p->rank = 1;
	grove_resp_int(&p->out, at);
	p->found++;
	return p->count && p->found >= p->count;
}

static bool lpos_opts(grove_cmd_call_t *c, lpos_t *p, bool *with_count)
{
	for (size_t i = 3; i < c->argc; i += 2) {
		long long v;
		if (i + 1 >= c->argc) {
			grove_cmd_reply_syntax(c);
			return false;
		}
		if (!grove_cmd_arg_ll(c, i + 1, &v))
			return false;
		if (grove_cmd_arg_is(c, i, "rank")) {
			if (v == 0 || v == LLONG_MIN) {
				grove_resp_error(c->out, v == 0 ? "ERR RANK can't be zero: use 1 to start "
								  "from the first match, 2 from the "
								  "second ... or use negative to start "
								  "from the end of the list"
								: "ERR value is out of range");
				return false;
			}
			p->rank = v;
		} else if (grove_cmd_arg_is(c, i, "count")) {
			if (v < 0) {
				grove_resp_error(c->out, "ERR COUNT can't be negative");
				return false;
			}
			p->count = v;
			*with_count = true;
		} else if (grove_cmd_arg_is(c, i, "maxlen")) {
			if (v < 0) {
				grove_resp_error(c->out, "ERR MAXLEN can't be negative");
				return false;
			}
			p->maxlen = v;
		} else {
			grove_cmd_reply_syntax(c);
			return false;
		}
	}
	return true;
}

void grove_cmd_do_lpos(grove_cmd_call_t *c)
{
	lpos_t p = { .elem = c->argv[2], .elen = c->argl[2], .rank = 1, .count = 1 };
	bool with_count = false;
	if (!lpos_opts(c, &p, &with_count))
		return;
	p.reverse = p.rank < 0;
	if (p.reverse)
		p.rank = -p.rank;
	uint64_t n = 0;
	int rc = key_ok_for_read(c, 1)
			 ? grove_db_coll_count(c->env->db, c->argv[1], c->argl[1], GROVE_TYPE_LIST, &n)
			 : 0;
	grove_buf_init(&p.out, 0);
	if (rc == 0 && n > 0) {
		if (p.reverse) /* indexes count from the head */
			p.index = (long long)n - 1;
		rc = grove_db_list_walk(c->env->db, c->argv[1], c->argl[1], p.reverse, lpos_visit,
					&p);
	}
	if (rc < 0) {
		grove_cmd_reply_db_error(c, rc);
	} else if (with_count) {
		grove_resp_array(c->out, (size_t)p.found);
		grove_buf_append(c->out, p.out.data, p.out.len);
	} else if (p.found) {
		grove_buf_append(c->out, p.out.data, p.out.len);
	} else {
		grove_resp_null(c->out);
	}
	grove_buf_close(&p.out);
}

/* ---- writes in place ---- */

void grove_cmd_do_lset(grove_cmd_call_t *c)
{
	long long i;
	if (!grove_cmd_arg_ll(c, 2, &i))
		return;
	int rc = grove_cmd__key_valid(c, 1) ? grove_db_list_set(c->env->db, c->argv[1], c->argl[1],
								i, c->argv[3], c->argl[3])
					    : GROVE_ENOTFOUND;
	if (rc == GROVE_ENOTFOUND)
		grove_resp_error(c->out, "ERR no such key");
	else if (rc == GROVE_ERANGE)
		grove_resp_error(c->out, "ERR index out of range");
	else if (rc < 0)
		grove_cmd_reply_db_error(c, rc);
	else
		grove_resp_simple(c->out, "OK");
}

void grove_cmd_do_linsert(grove_cmd_call_t *c)
{
	bool before = grove_cmd_arg_is(c, 2, "before");
	if (!before && !grove_cmd_arg_is(c, 2, "after")) {
		grove_cmd_reply_syntax(c);
		return;
	}
	int64_t len = 0;
	int rc = grove_cmd__key_valid(c, 1)
			 ? grove_db_list_insert(c->env->db, c->argv[1], c->argl[1], before, c->argv[3],
						c->argl[3], c->argv[4], c->argl[4], &len)
			 : 0;
	if (rc < 0)
		grove_cmd_reply_db_error(c, rc);
	else
		grove_resp_int(c->out, len);
}

void grove_cmd_do_lrem(grove_cmd_call_t *c)
{
	long long count;
	if (!grove_cmd_arg_ll(c, 2, &count))
		return;
	grove_cmd__lock_exclusive(c);
	uint64_t removed = 0;
	int rc = grove_cmd__key_valid(c, 1) ? grove_db_list_rem(c->env->db, c->argv[1], c->argl[1],
								count, c->argv[3], c->argl[3],
								&removed)
					    : 0;
	if (rc < 0)
		grove_cmd_reply_db_error(c, rc);
	else
		grove_resp_int(c->out, (long long)removed);
}

void grove_cmd_do_ltrim(grove_cmd_call_t *c)
{
	long long start, stop;
	if (!grove_cmd_arg_ll(c, 2, &start) || !grove_cmd_arg_ll(c, 3, &stop))
		return;
	grove_cmd__lock_exclusive(c);
	int rc = grove_cmd__key_valid(c, 1)
			 ? grove_db_list_trim(c->env->db, c->argv[1], c->argl[1], start, stop)
			 : 0;
	if (rc < 0)
		grove_cmd_reply_db_error(c, rc);
	else
		grove_resp_simple(c->out, "OK");
}

/* ---- LMOVE / RPOPLPUSH ---- */

static void move(grove_cmd_call_t *c, bool from_left, bool to_left)
{
	grove_cmd__lock_exclusive(c);
	grove_type_t ts = GROVE_TYPE_NONE, td = GROVE_TYPE_NONE;
	int rc = grove_cmd__key_valid(c, 1) ? grove_db_type(c->env->db, c->argv[1], c->argl[1], &ts)
					    : 0;
	if (rc == 0 && ts == GROVE_TYPE_NONE) {
		grove_resp_null(c->out);
		return;
	}
	if (rc == 0 && grove_cmd__key_valid(c, 2))
		rc = grove_db_type(c->env->db, c->argv[2], c->argl[2], &td);
	if (rc == 0 && ((ts != GROVE_TYPE_LIST) || (td != GROVE_TYPE_LIST && td != GROVE_TYPE_NONE)))
		rc = GROVE_EWRONGTYPE;
	if (rc == 0 && !grove_cmd__key_writable(c, 2))
		return;
	uint8_t *v = NULL;
	size_t vl = 0;
	if (rc == 0)
		rc = grove_db_list_pop(c->env->db, c->argv[1], c->argl[1], from_left, &v, &vl);
	if (rc == GROVE_ENOTFOUND) {
		grove_resp_null(c->out);
		return;
	}
	if (rc == 0)
		rc = grove_db_list_push(c->env->db, c->argv[2], c->argl[2], to_left, false, v, vl,
					NULL);
	if (rc < 0)
		grove_cmd_reply_db_error(c, rc);
	else
		grove_resp_bulk(c->out, v, vl);
	grove_free(v);
}

static bool side(grove_cmd_call_t *c, size_t i, bool *left)
{
	*left = grove_cmd_arg_is(c, i, "left");
	if (*left || grove_cmd_arg_is(c, i, "right"))
		return true;
	grove_cmd_reply_syntax(c);
	return false;
}

void grove_cmd_do_lmove(grove_cmd_call_t *c)
{
	bool from_left, to_left;
	if (side(c, 3, &from_left) && side(c, 4, &to_left))
		move(c, from_left, to_left);
}

void grove_cmd_do_rpoplpush(grove_cmd_call_t *c)
{
	move(c, false, true);
}

/* ---- RENAME / COPY of a list ---- */

typedef struct copy_ctx {
	grove_db_t *db;
	const uint8_t *dst;
	size_t dlen;
	int rc;
} copy_ctx_t;

static int copy_one(void *ctx, const void *id, size_t idlen, const void *val, size_t vlen)
{
	(void)id;
	(void)idlen;
	copy_ctx_t *k = ctx;
	k->rc = grove_db_list_push(k->db, k->dst, k->dlen, false, false, val, vlen, NULL);
	return k->rc != 0;
}

int grove_cmd__list_copy(grove_db_t *db, const uint8_t *src, size_t slen, const uint8_t *dst,
			 size_t dlen)
{
	copy_ctx_t k = { .db = db, .dst = dst, .dlen = dlen };
	int rc = grove_db_list_walk(db, src, slen, false, copy_one, &k);
	return rc ? rc : k.rc;
}
