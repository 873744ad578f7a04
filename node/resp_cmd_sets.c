/*
 * resp_cmd_sets.c - the set commands beyond SADD/SREM/SMEMBERS/SISMEMBER/
 * SCARD: SMISMEMBER, SRANDMEMBER, SPOP, SMOVE, SINTER, SUNION, SDIFF,
 * their STORE forms and SINTERCARD; and the random sampler of a
 * collection that SRANDMEMBER, SPOP and HRANDFIELD share.
 *
 * No command builds a set in memory: the multi-key reads stream one set's
 * element records in chunks (grove_db_coll_scan) and ask the others with
 * point reads (grove_db_set_contains), so their memory is the reply (or,
 * for the STORE forms, the result) and their cost is O(size of the streamed
 * sets x number of keys) point reads:
 *   SINTER:  stream the smallest set, keep what every other set contains;
 *   SUNION:  stream every set, keep what no earlier set contains (so no
 *            member is listed twice and no dedup table is needed);
 *   SDIFF:   stream the first set, keep what no other set contains.
 * Results come in bytewise member order (Redis: its hash order).
 *
 * CRDT semantics.  SPOP is an SREM of the picked members: an
 * observed-remove of the dots this node holds, so a concurrent SADD of the
 * same member on another node survives it (add wins), and two nodes
 * popping at once may return the same member.  SMOVE is an SREM from the
 * source and an SADD to the destination, both decided on this node's state
 * under the node's exclusive lock.  The STORE forms are an observed-remove
 * DEL of the destination and one SADD per result member, all under the
 * exclusive lock (each member replicates on its own).
 */
#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/rng.h"
#include "grove/alloc.h"
#include "node/resp_commands_int.h"

#define SET_CHUNK 1024 /* elements read per store scan */
/* Picks of one SRANDMEMBER / HRANDFIELD with a negative count (repeats
 * allowed): beyond this the command is refused rather than building a
 * reply of that many members. */
#define GROVE_RAND_COUNT_MAX (1u << 22)

/* ---- streaming every element of a collection ---- */

/* Visits every element of key (type) in bytewise order, SET_CHUNK per
 * store scan; fn returns non-zero to stop.  An absent key visits nothing.
 * Returns 0 or a db error (GROVE_EWRONGTYPE for another type). */
static int coll_each(grove_db_t *db, const uint8_t *key, size_t klen, grove_type_t type,
		     grove_db_elem_fn fn, void *ctx, const bool *stop)
{
	uint8_t *start = NULL;
	size_t slen = 0;
	do {
		uint8_t *next = NULL;
		size_t next_len = 0;
		int rc = grove_db_coll_scan(db, key, klen, type, start, slen, SET_CHUNK, fn, ctx,
					    &next, &next_len);
		grove_free(start);
		if (rc < 0) {
			grove_free(next);
			return rc;
		}
		start = next;
		slen = next_len;
		if (stop && *stop) {
			grove_free(start);
			start = NULL;
		}
	} while (start);
	return 0;
}

/* ---- random sampling (SRANDMEMBER, SPOP, HRANDFIELD) ---- */

typedef struct sample {
	grove_cmd_pick_t *picks;
	size_t n, cap;
	/* distinct: selection sampling (Knuth's algorithm S) */
	uint64_t total, seen, want;
	/* repeats: sorted positions, one pick per entry */
	uint64_t *pos;
	size_t pos_n, pos_at;
	bool distinct, stop;
	grove_rng_t *rng;
	int rc;
} sample_t;

static int pick_add(sample_t *s, const void *elem, size_t elen, const void *val, size_t vlen)
{
	if (s->n == s->cap &&
	    grove_grow((void **)&s->picks, &s->cap, s->n + 1, sizeof(*s->picks), 0, 0) != 0)
		return GROVE_ENOMEM;
	grove_cmd_pick_t *p = &s->picks[s->n];
	p->elem = grove_malloc(elen + vlen + 1);
	if (!p->elem)
		return GROVE_ENOMEM;
	memcpy(p->elem, elem, elen);
	if (vlen)
		memcpy(p->elem + elen, val, vlen);
	p->elen = elen;
	p->val = p->elem + elen;
	p->vlen = vlen;
	s->n++;
	return 0;
}

static int sample_elem(void *ctx, const void *elem, size_t elen, const void *val, size_t vlen)
{
	sample_t *s = ctx;
	uint64_t at = s->seen++;
	if (s->distinct) {
		/* select with probability (wanted - picked) / (left to see) */
		uint64_t left = s->total > at ? s->total - at : 1;
		if (s->n < s->want && grove_rng_below(s->rng, left) < s->want - s->n)
			s->rc = pick_add(s, elem, elen, val, vlen);
		s->stop = s->rc != 0 || s->n >= s->want;
	} else {
		while (s->rc == 0 && s->pos_at < s->pos_n && s->pos[s->pos_at] == at) {
			s->rc = pick_add(s, elem, elen, val, vlen);
			s->pos_at++;
		}
		s->stop = s->rc != 0 || s->pos_at >= s->pos_n;
	}
	return s->stop;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

void grove_cmd__picks_free(grove_cmd_pick_t *picks, size_t n)
{
	for (size_t i = 0; i < n; i++)
		grove_free(picks[i].elem);
	grove_free(picks);
}

int grove_cmd__coll_sample(grove_db_t *db, const uint8_t *key, size_t klen, grove_type_t type,
			   long long count, grove_cmd_pick_t **out, size_t *out_n)
{
	*out = NULL;
	*out_n = 0;
	uint64_t total = 0;
	int rc = grove_db_coll_count(db, key, klen, type, &total);
	if (rc < 0 || total == 0 || count == 0)
		return rc == GROVE_ENOTFOUND ? 0 : rc < 0 ? rc : 0;
	grove_rng_t rng;
	uint64_t seed;
	randombytes_buf(&seed, sizeof(seed));
	grove_rng_seed(&rng, seed);
	sample_t s = { .total = total, .rng = &rng, .distinct = count > 0 };
	if (count > 0) {
		s.want = (uint64_t)count < total ? (uint64_t)count : total;
	} else {
		GROVE_ASSERT(count >= -(long long)GROVE_RAND_COUNT_MAX);
		s.pos_n = (size_t)-count;
		s.pos = grove_malloc(s.pos_n * sizeof(*s.pos));
		if (!s.pos)
			return GROVE_ENOMEM;
		for (size_t i = 0; i < s.pos_n; i++)
			s.pos[i] = grove_rng_below(&rng, total);
		qsort(s.pos, s.pos_n, sizeof(*s.pos), cmp_u64);
	}
	rc = coll_each(db, key, klen, type, sample_elem, &s, &s.stop);
	if (rc == 0)
		rc = s.rc;
	grove_free(s.pos);
	if (rc) {
		grove_cmd__picks_free(s.picks, s.n);
		return rc;
	}
	for (size_t i = s.n; i > 1; i--) { /* shuffle: the stream is in member order */
		size_t j = (size_t)grove_rng_below(&rng, i);
		grove_cmd_pick_t t = s.picks[i - 1];
		s.picks[i - 1] = s.picks[j];
		s.picks[j] = t;
	}
	*out = s.picks;
	*out_n = s.n;
	return 0;
}

/* [count] of SRANDMEMBER / HRANDFIELD / SPOP at argument i: false after a
 * reply.  positive: SPOP's rule (no negative count). */
bool grove_cmd__rand_count(grove_cmd_call_t *c, size_t i, bool positive, long long *count)
{
	if (!grove_cmd_arg_ll(c, i, count))
		return false;
	if (positive && *count < 0) {
		grove_resp_error(c->out, "ERR value is out of range, must be positive");
		return false;
	}
	if (*count < -(long long)GROVE_RAND_COUNT_MAX) {
		grove_resp_errorf(c->out, "ERR value is out of range: Grove draws at most %u "
					  "members with repetition (GROVE_RAND_COUNT_MAX)",
				  GROVE_RAND_COUNT_MAX);
		return false;
	}
	return true;
}

void grove_cmd__reply_picks(grove_cmd_call_t *c, const grove_cmd_pick_t *picks, size_t n,
			    bool single, bool values)
{
	if (single) {
		if (n)
			grove_resp_bulk(c->out, picks[0].elem, picks[0].elen);
		else
			grove_resp_null(c->out);
		return;
	}
	grove_resp_array(c->out, values ? 2 * n : n);
	for (size_t i = 0; i < n; i++) {
		grove_resp_bulk(c->out, picks[i].elem, picks[i].elen);
		if (values)
			grove_resp_bulk(c->out, picks[i].val, picks[i].vlen);
	}
}

/* SRANDMEMBER key [count]: O(n) store reads (a selection pass over the
 * members, stopping once the picks are made), O(count) memory. */
void grove_cmd_do_srandmember(grove_cmd_call_t *c)
{
	long long count = -1;
	if (c->argc > 3) {
		grove_cmd_reply_syntax(c);
		return;
	}
	if (c->argc == 3 && !grove_cmd__rand_count(c, 2, false, &count))
		return;
	grove_cmd_pick_t *picks = NULL;
	size_t n = 0;
	int rc = grove_cmd__key_valid(c, 1) ? grove_cmd__coll_sample(c->env->db, c->argv[1], c->argl[1],
								      GROVE_TYPE_SET, count, &picks, &n)
					    : 0;
	if (rc < 0)
		grove_cmd_reply_db_error(c, rc);
	else
		grove_cmd__reply_picks(c, picks, n, c->argc == 2, false);
	grove_cmd__picks_free(picks, n);
}

/* SPOP key [count]: distinct random members, each then SREMmed on this
 * node (observed-remove), under the exclusive lock. */
void grove_cmd_do_spop(grove_cmd_call_t *c)
{
	long long count = 1;
	if (c->argc > 3) {
		grove_cmd_reply_syntax(c);
		return;
	}
	if (c->argc == 3 && !grove_cmd__rand_count(c, 2, true, &count))
		return;
	grove_cmd__lock_exclusive(c);
	grove_cmd_pick_t *picks = NULL;
	size_t n = 0;
	int rc = grove_cmd__key_valid(c, 1) ? grove_cmd__coll_sample(c->env->db, c->argv[1], c->argl[1],
								      GROVE_TYPE_SET, count, &picks, &n)
					    : 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		bool removed;
		rc = grove_db_set_remove(c->env->db, c->argv[1], c->argl[1], picks[i].elem,
					 picks[i].elen, &removed);
	}
	if (rc < 0)
		grove_cmd_reply_db_error(c, rc);
	else
		grove_cmd__reply_picks(c, picks, n, c->argc == 2, false);
	grove_cmd__picks_free(picks, n);
}

/* ---- point reads ---- */

/* Whether key i is absent or a set (its type, in *t); false after a
 * WRONGTYPE or db error reply. */
static bool set_or_none(grove_cmd_call_t *c, size_t i, grove_type_t *t)
{
	*t = GROVE_TYPE_NONE;
	if (!grove_cmd__key_valid(c, i))
		return true;
	int rc = grove_db_type(c->env->db, c->argv[i], c->argl[i], t);
	if (rc == 0 && *t != GROVE_TYPE_NONE && *t != GROVE_TYPE_SET)
		rc = GROVE_EWRONGTYPE;
	if (rc < 0) {
		grove_cmd_reply_db_error(c, rc);
		return false;
	}
	return true;
}

/* SMISMEMBER key member...: one point read per member. */
void grove_cmd_do_smismember(grove_cmd_call_t *c)
{
	grove_type_t t;
	if (!set_or_none(c, 1, &t))
		return;
	grove_buf_t items;
	grove_buf_init(&items, 0);
	for (size_t i = 2; i < c->argc; i++) {
		bool in = false;
		int rc = t == GROVE_TYPE_SET ? grove_db_set_contains(c->env->db, c->argv[1], c->argl[1],
								     c->argv[i], c->argl[i], &in)
					     : 0;
		if (rc < 0) {
			grove_buf_close(&items);
			grove_cmd_reply_db_error(c, rc);
			return;
		}
		grove_resp_int(&items, in);
	}
	grove_resp_array(c->out, c->argc - 2);
	grove_buf_append(c->out, items.data, items.len);
	grove_buf_close(&items);
}

/* SMOVE source destination member: decided on this node's state. */
void grove_cmd_do_smove(grove_cmd_call_t *c)
{
	grove_cmd__lock_exclusive(c);
	grove_type_t src, dst;
	if (!set_or_none(c, 1, &src))
		return;
	if (src == GROVE_TYPE_NONE) {
		grove_resp_int(c->out, 0);
		return;
	}
	if (!set_or_none(c, 2, &dst))
		return;
	if (!grove_cmd__key_writable(c, 2))
		return;
	bool in = false;
	int rc = grove_db_set_contains(c->env->db, c->argv[1], c->argl[1], c->argv[3], c->argl[3],
				       &in);
	bool same = c->argl[1] == c->argl[2] && memcmp(c->argv[1], c->argv[2], c->argl[1]) == 0;
	bool changed;
	if (rc == 0 && in && !same)
		rc = grove_db_set_remove(c->env->db, c->argv[1], c->argl[1], c->argv[3], c->argl[3],
					 &changed);
	if (rc == 0 && in && !same)
		rc = grove_db_set_add(c->env->db, c->argv[2], c->argl[2], c->argv[3], c->argl[3],
				      &changed);
	if (rc < 0)
		grove_cmd_reply_db_error(c, rc);
	else
		grove_resp_int(c->out, in);
}

/* ---- SINTER, SUNION, SDIFF, their STORE forms, SINTERCARD ---- */

#define SOP_INTER 0
#define SOP_UNION 1
#define SOP_DIFF 2

typedef struct setop {
	grove_cmd_call_t *c;
	int op;
	size_t first, nkeys;  /* the set keys: argv[first .. first + nkeys) */
	size_t streamed;      /* the key being streamed (argument index) */
	grove_type_t *types;  /* per key */
	uint64_t limit;       /* SINTERCARD: stop at this many (0: none) */
	grove_buf_t items;    /* the result: RESP bulks, or (STORE) u32 length + bytes */
	bool raw;             /* STORE: items as length-prefixed members */
	bool count_only;      /* SINTERCARD: no items */
	uint64_t n;
	bool stop;
	int rc;
} setop_t;

static bool in_key(setop_t *s, size_t i, const void *elem, size_t elen, bool *in)
{
	*in = false;
	if (s->types[i - s->first] != GROVE_TYPE_SET)
		return true;
	s->rc = grove_db_set_contains(s->c->env->db, s->c->argv[i], s->c->argl[i], elem, elen, in);
	return s->rc == 0;
}

/* Whether a streamed member belongs to the result. */
static bool setop_keep(setop_t *s, const void *elem, size_t elen)
{
	size_t end = s->first + s->nkeys;
	bool in;
	for (size_t i = s->first; i < end; i++) {
		if (i == s->streamed)
			continue;
		if (s->op == SOP_UNION && i > s->streamed)
			break; /* only the sets streamed before */
		if (!in_key(s, i, elem, elen, &in))
			return false;
		if (s->op == SOP_INTER ? !in : in)
			return false;
	}
	return true;
}

static int setop_elem(void *ctx, const void *elem, size_t elen, const void *val, size_t vlen)
{
	(void)val;
	(void)vlen;
	setop_t *s = ctx;
	if (!setop_keep(s, elem, elen))
		return s->rc != 0;
	if (s->count_only) {
		/* counted below */
	} else if (s->raw) {
		uint32_t l = (uint32_t)elen;
		grove_buf_append(&s->items, &l, sizeof(l));
		grove_buf_append(&s->items, elem, elen);
	} else {
		grove_resp_bulk(&s->items, elem, elen);
	}
	s->n++;
	s->stop = (s->limit && s->n >= s->limit) || grove_buf_failed(&s->items);
	return s->stop;
}

/* Checks every key's type (Redis does so before computing), then streams:
 * INTER the smallest set (none if one is absent), UNION every set, DIFF
 * the first. */
static int setop_run(setop_t *s)
{
	grove_cmd_call_t *c = s->c;
	uint64_t best = UINT64_MAX;
	size_t smallest = s->first;
	bool empty = false;
	for (size_t i = 0; i < s->nkeys; i++) {
		grove_type_t t;
		if (!set_or_none(c, s->first + i, &t))
			return -1;
		s->types[i] = t;
		uint64_t n = 0;
		if (t == GROVE_TYPE_SET && s->op == SOP_INTER) {
			int rc = grove_db_coll_count(c->env->db, c->argv[s->first + i],
						     c->argl[s->first + i], GROVE_TYPE_SET, &n);
			if (rc < 0)
				return rc;
		}
		empty |= t == GROVE_TYPE_NONE;
		if (n < best) {
			best = n;
			smallest = s->first + i;
		}
	}
	if (s->op == SOP_INTER && empty)
		return 0;
	size_t from = s->op == SOP_INTER ? smallest : s->first;
	size_t to = s->op == SOP_UNION ? s->first + s->nkeys : from + 1;
	for (s->streamed = from; s->streamed < to && !s->stop; s->streamed++) {
		if (s->types[s->streamed - s->first] != GROVE_TYPE_SET)
			continue;
		int rc = coll_each(c->env->db, c->argv[s->streamed], c->argl[s->streamed],
				   GROVE_TYPE_SET, setop_elem, s, &s->stop);
		if (rc == 0)
			rc = s->rc;
		if (rc)
			return rc;
	}
	return grove_buf_failed(&s->items) ? GROVE_ENOMEM : 0;
}

static void setop_init(setop_t *s, grove_cmd_call_t *c, int op, size_t first, size_t nkeys)
{
	memset(s, 0, sizeof(*s));
	s->c = c;
	s->op = op;
	s->first = first;
	s->nkeys = nkeys;
	grove_buf_init(&s->items, 0);
}

/* Runs the operation; false after an error reply (the caller frees). */
static bool setop_go(setop_t *s)
{
	s->types = grove_calloc(s->nkeys, sizeof(*s->types));
	int rc = s->types ? setop_run(s) : GROVE_ENOMEM;
	grove_free(s->types);
	s->types = NULL;
	if (rc == -1)
		return false; /* replied */
	if (rc < 0) {
		grove_cmd_reply_db_error(s->c, rc);
		return false;
	}
	return true;
}

static void setop_read(grove_cmd_call_t *c, int op)
{
	setop_t s;
	setop_init(&s, c, op, 1, c->argc - 1);
	if (setop_go(&s)) {
		grove_resp_array(c->out, s.n);
		grove_buf_append(c->out, s.items.data, s.items.len);
	}
	grove_buf_close(&s.items);
}

/* ...STORE destination key...: the result first (the destination may be a
 * source), then an observed-remove DEL of the destination and one SADD
 * per member. */
static void setop_store(grove_cmd_call_t *c, int op)
{
	if (!grove_cmd__key_writable(c, 1))
		return;
	grove_cmd__lock_exclusive(c);
	setop_t s;
	setop_init(&s, c, op, 2, c->argc - 2);
	s.raw = true;
	if (!setop_go(&s)) {
		grove_buf_close(&s.items);
		return;
	}
	bool existed;
	int rc = grove_db_delete(c->env->db, c->argv[1], c->argl[1], &existed);
	const uint8_t *p = s.items.data, *end = s.items.len ? p + s.items.len : p; /* data NULL when empty */
	while (rc == 0 && p < end) {
		uint32_t l;
		memcpy(&l, p, sizeof(l));
		bool added;
		rc = grove_db_set_add(c->env->db, c->argv[1], c->argl[1], p + sizeof(l), l, &added);
		p += sizeof(l) + l;
	}
	if (rc < 0)
		grove_cmd_reply_db_error(c, rc);
	else
		grove_resp_int(c->out, (long long)s.n);
	grove_buf_close(&s.items);
}

void grove_cmd_do_sinter(grove_cmd_call_t *c)
{
	setop_read(c, SOP_INTER);
}

void grove_cmd_do_sunion(grove_cmd_call_t *c)
{
	setop_read(c, SOP_UNION);
}

void grove_cmd_do_sdiff(grove_cmd_call_t *c)
{
	setop_read(c, SOP_DIFF);
}

void grove_cmd_do_sinterstore(grove_cmd_call_t *c)
{
	setop_store(c, SOP_INTER);
}

void grove_cmd_do_sunionstore(grove_cmd_call_t *c)
{
	setop_store(c, SOP_UNION);
}

void grove_cmd_do_sdiffstore(grove_cmd_call_t *c)
{
	setop_store(c, SOP_DIFF);
}

/* SINTERCARD numkeys key... [LIMIT limit]: SINTER's stream, counted,
 * stopping at the limit. */
void grove_cmd_do_sintercard(grove_cmd_call_t *c)
{
	long long numkeys, limit = 0;
	if (!grove_cmd__parse_ll(c->argv[1], c->argl[1], &numkeys) || numkeys <= 0) {
		grove_resp_error(c->out, "ERR numkeys should be greater than 0");
		return;
	}
	if ((unsigned long long)numkeys > c->argc - 2) {
		grove_resp_error(c->out, "ERR Number of keys can't be greater than number of args");
		return;
	}
	for (size_t i = 2 + (size_t)numkeys; i < c->argc; i += 2) {
		if (!grove_cmd_arg_is(c, i, "limit") || i + 1 >= c->argc) {
			grove_cmd_reply_syntax(c);
			return;
		}
		if (!grove_cmd_arg_ll(c, i + 1, &limit))
			return;
		if (limit < 0) {
			grove_resp_error(c->out, "ERR LIMIT can't be negative");
			return;
		}
	}
	setop_t s;
	setop_init(&s, c, SOP_INTER, 2, (size_t)numkeys);
	s.count_only = true;
	s.limit = (uint64_t)limit;
	if (setop_go(&s))
		grove_resp_int(c->out, (long long)s.n);
	grove_buf_close(&s.items);
}
