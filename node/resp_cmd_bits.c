/*
 * resp_cmd_bits.c - strings as bytes: SETBIT, GETBIT, BITCOUNT, BITPOS
 * with Redis 7.0's index rules (bit 0 is the most significant bit of byte
 * 0; BYTE and BIT ranges; negative indexes from the end) and error texts,
 * and LCS (longest common subsequence, Redis 7.0's algorithm and reply
 * shapes; its table of (len1 + 1) * (len2 + 1) counters is bounded by
 * GROVE_LCS_TABLE_BYTES_MAX).
 *
 * Reads work on a register's bytes or a counter's decimal digits.  SETBIT
 * is a read-modify-write of the register on this node under the exclusive
 * lock (as APPEND): the whole new value is written as one LWW register
 * write, so concurrent SETBITs of one key on two nodes keep one node's
 * result, bits set on the other are lost (as CRDT-backed Redis does for
 * strings); on a counter it writes the digits' bits back as a register
 * (which replaces the counter, as SET does); a set or map answers
 * WRONGTYPE.
 */
#include <string.h>

#include "grove/alloc.h"
#include "node/resp_commands_int.h"

#define BIT_OFFSET_MAX ((1ull << 32) - 1) /* Redis: 512 MiB of bits */
#define GROVE_LCS_TABLE_BYTES_MAX (64ull * 1024 * 1024)

/* A key's bytes as a string: a register's value or a counter's digits.
 * *type NONE when absent; false after replying (WRONGTYPE, db error). */
typedef struct bytes_val {
	grove_value_t *v;
	grove_type_t type;
	const uint8_t *p;
	size_t len;
	char digits[24];
} bytes_val_t;

/* Returns 0, GROVE_EWRONGTYPE (a set or map) or a db error; no reply. */
static int bytes_get(grove_cmd_call_t *c, size_t i, bytes_val_t *b)
{
	memset(b, 0, sizeof(*b));
	b->p = (const uint8_t *)"";
	if (!grove_cmd__key_valid(c, i))
		return 0;
	/* the type first: a set or map is not materialized (it may be huge) */
	int rc = grove_db_type(c->env->db, c->argv[i], c->argl[i], &b->type);
	if (rc == 0 && (b->type == GROVE_TYPE_SET || b->type == GROVE_TYPE_MAP || b->type == GROVE_TYPE_ZSET ||
			b->type == GROVE_TYPE_LIST))
		return GROVE_EWRONGTYPE;
	if (rc == 0)
		rc = grove_db_get(c->env->db, c->argv[i], c->argl[i], &b->v);
	if (rc == GROVE_ENOTFOUND) {
		b->type = GROVE_TYPE_NONE;
		return 0;
	}
	if (rc < 0)
		return rc;
	b->type = grove_value_type(b->v);
	const void *val;
	int64_t n;
	if (b->type == GROVE_TYPE_REGISTER) {
		if (grove_lwwreg_get(b->v, &val, &b->len) == 0)
			b->p = val;
		else
			b->type = GROVE_TYPE_NONE;
	} else if (b->type == GROVE_TYPE_COUNTER && grove_pncounter_get(b->v, &n) == 0) {
		b->len = (size_t)snprintf(b->digits, sizeof(b->digits), "%lld", (long long)n);
		b->p = (const uint8_t *)b->digits;
	} else if (b->type != GROVE_TYPE_NONE) {
		grove_value_destroy(b->v);
		b->v = NULL;
		return GROVE_EWRONGTYPE;
	}
	return 0;
}

/* bytes_get, replying WRONGTYPE or the db error; false after a reply. */
static bool bytes_load(grove_cmd_call_t *c, size_t i, bytes_val_t *b)
{
	int rc = bytes_get(c, i, b);
	if (rc < 0)
		grove_cmd_reply_db_error(c, rc);
	return rc == 0;
}

static bool bit_offset(grove_cmd_call_t *c, size_t i, uint64_t *out)
{
	long long v;
	if (!grove_cmd__parse_ll(c->argv[i], c->argl[i], &v) || v < 0 ||
	    (unsigned long long)v > BIT_OFFSET_MAX) {
		grove_resp_error(c->out, "ERR bit offset is not an integer or out of range");
		return false;
	}
	*out = (uint64_t)v;
	return true;
}

void grove_cmd_do_getbit(grove_cmd_call_t *c)
{
	uint64_t off;
	bytes_val_t b;
	if (!bit_offset(c, 2, &off) || !bytes_load(c, 1, &b))
		return;
	size_t byte = (size_t)(off >> 3);
	grove_resp_int(c->out, byte < b.len ? (b.p[byte] >> (7 - (off & 7))) & 1 : 0);
	grove_value_destroy(b.v);
}

void grove_cmd_do_setbit(grove_cmd_call_t *c)
{
	uint64_t off;
	long long on;
	if (!bit_offset(c, 2, &off))
		return;
	if (!grove_cmd__parse_ll(c->argv[3], c->argl[3], &on) || (on != 0 && on != 1)) {
		grove_resp_error(c->out, "ERR bit is not an integer or out of range");
		return;
	}
	if (!grove_cmd__key_writable(c, 1))
		return;
	grove_cmd__lock_exclusive(c);
	bytes_val_t b;
	if (!bytes_load(c, 1, &b))
		return;
	size_t byte = (size_t)(off >> 3), nlen = byte + 1 > b.len ? byte + 1 : b.len;
	if (nlen > GROVE_REGISTER_VALUE_MAX && nlen > b.len) { /* refused before allocating */
		grove_value_destroy(b.v);
		grove_cmd__reply_value_too_big(c);
		return;
	}
	uint8_t *buf = grove_calloc(nlen, 1);
	if (!buf) {
		grove_value_destroy(b.v);
		grove_resp_error(c->out, "ERR out of memory");
		return;
	}
	memcpy(buf, b.p, b.len);
	uint8_t mask = (uint8_t)(1u << (7 - (off & 7)));
	int old = (buf[byte] & mask) != 0;
	buf[byte] = (uint8_t)(on ? buf[byte] | mask : buf[byte] & ~mask);
	int rc = grove_db_string_write(c->env->db, c->argv[1], c->argl[1], buf, nlen,
				       GROVE_DB_TTL_KEEP, 0); /* SETBIT keeps the TTL */
	if (rc < 0)
		grove_cmd_reply_db_error(c, rc);
	else
		grove_resp_int(c->out, old);
	grove_free(buf);
	grove_value_destroy(b.v);
}

static long long popcount(const uint8_t *p, size_t n)
{
	long long count = 0;
	for (size_t i = 0; i < n; i++)
		count += __builtin_popcount(p[i]);
	return count;
}

/* A range [start, end] in bytes or bits, clamped as Redis does, with the
 * masks of the edge bits outside it (bit ranges). */
typedef struct range {
	long long start, end;
	unsigned first_mask, last_mask;
} range_t;

static void range_clamp(range_t *r, long long totlen, bool isbit)
{
	if (r->start < 0)
		r->start = totlen + r->start;
	if (r->end < 0)
		r->end = totlen + r->end;
	if (r->start < 0)
		r->start = 0;
	if (r->end < 0)
		r->end = 0;
	if (r->end >= totlen)
		r->end = totlen - 1;
	r->first_mask = r->last_mask = 0;
	if (isbit && r->start <= r->end) {
		r->first_mask = ~((1u << (8 - (r->start & 7))) - 1) & 0xFF;
		r->last_mask = (1u << (7 - (r->end & 7))) - 1;
		r->start >>= 3;
		r->end >>= 3;
	}
}

/* BYTE or BIT at argument i; replies a syntax error otherwise. */
static bool unit_arg(grove_cmd_call_t *c, size_t i, bool *isbit)
{
	*isbit = grove_cmd_arg_is(c, i, "bit");
	if (*isbit || grove_cmd_arg_is(c, i, "byte"))
		return true;
	grove_cmd_reply_syntax(c);
	return false;
}

void grove_cmd_do_bitcount(grove_cmd_call_t *c)
{
	range_t r = {0};
	bool isbit = false;
	if (c->argc == 4 || c->argc == 5) {
		if (!grove_cmd_arg_ll(c, 2, &r.start) || !grove_cmd_arg_ll(c, 3, &r.end))
			return;
		if (c->argc == 5 && !unit_arg(c, 4, &isbit))
			return;
	} else if (c->argc != 2) {
		grove_cmd_reply_syntax(c);
		return;
	}
	bytes_val_t b;
	if (!bytes_load(c, 1, &b))
		return;
	if (c->argc == 2) {
		r.start = 0;
		r.end = (long long)b.len - 1;
	} else {
		range_clamp(&r, isbit ? (long long)b.len << 3 : (long long)b.len, isbit);
	}
	long long count = 0;
	if (r.start <= r.end) {
		count = popcount(b.p + r.start, (size_t)(r.end - r.start + 1));
		uint8_t edges[2] = {(uint8_t)(b.p[r.start] & r.first_mask),
				    (uint8_t)(b.p[r.end] & r.last_mask)};
		count -= popcount(edges, 2);
	}
	grove_resp_int(c->out, count);
	grove_value_destroy(b.v);
}

/* The first bit equal to bit in p[0, n): its index, or for bit 0 not
 * found n * 8, for bit 1 not found -1 (Redis's redisBitpos). */
static long long bitpos(const uint8_t *p, size_t n, int bit)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t x = bit ? p[i] : (uint8_t)~p[i];
		if (x)
			return (long long)i * 8 + __builtin_clz((unsigned)x << 24);
	}
	return bit ? -1 : (long long)n * 8;
}

/* BITPOS's search over a clamped range (Redis 7.0's bitposCommand). */
static long long bitpos_range(const uint8_t *p, const range_t *r, int bit, bool end_given)
{
	long long start = r->start, bytes = r->end - r->start + 1, pos;
	uint8_t tmp;
	if (r->first_mask) {
		tmp = (uint8_t)(bit ? p[start] & ~r->first_mask : p[start] | r->first_mask);
		if (r->last_mask && bytes == 1)
			tmp = (uint8_t)(bit ? tmp & ~r->last_mask : tmp | r->last_mask);
		pos = bitpos(&tmp, 1, bit);
		if (bytes == 1 || (pos != -1 && pos != 8))
			goto out_result;
		start++;
		bytes--;
	}
	long long cur = bytes - (r->last_mask ? 1 : 0);
	if (cur > 0) {
		pos = bitpos(p + start, (size_t)cur, bit);
		if (bytes == cur || (pos != -1 && pos != cur << 3))
			goto out_result;
		start += cur;
		bytes -= cur;
	}
	tmp = (uint8_t)(bit ? p[r->end] & ~r->last_mask : p[r->end] | r->last_mask);
	pos = bitpos(&tmp, 1, bit);
out_result:
	if (end_given && bit == 0 && pos == bytes << 3)
		return -1;
	return pos != -1 ? pos + (start << 3) : -1;
}

void grove_cmd_do_bitpos(grove_cmd_call_t *c)
{
	long long bit;
	if (!grove_cmd_arg_ll(c, 2, &bit))
		return;
	if (bit != 0 && bit != 1) {
		grove_resp_error(c->out, "ERR The bit argument must be 1 or 0.");
		return;
	}
	bytes_val_t b;
	if (!bytes_load(c, 1, &b))
		return;
	if (b.type == GROVE_TYPE_NONE) {
		grove_resp_int(c->out, bit ? -1 : 0);
		return;
	}
	range_t r = {0};
	bool isbit = false, end_given = false;
	if (c->argc >= 4 && c->argc <= 6) {
		long long totlen = (long long)b.len;
		if (!grove_cmd_arg_ll(c, 3, &r.start) || (c->argc == 6 && !unit_arg(c, 5, &isbit)) ||
		    (c->argc >= 5 && !grove_cmd_arg_ll(c, 4, &r.end)))
			goto out;
		end_given = c->argc >= 5;
		if (!end_given)
			r.end = isbit ? (totlen << 3) + 7 : totlen - 1;
		range_clamp(&r, isbit ? totlen << 3 : totlen, isbit);
	} else if (c->argc == 3) {
		r.end = (long long)b.len - 1;
	} else {
		grove_cmd_reply_syntax(c);
		goto out;
	}
	grove_resp_int(c->out, r.start > r.end ? -1 : bitpos_range(b.p, &r, (int)bit, end_given));
out:
	grove_value_destroy(b.v);
}

/* ---- LCS ---- */

typedef struct lcs_opts {
	bool len, idx, withmatchlen;
	long long minmatchlen;
} lcs_opts_t;

static bool lcs_options(grove_cmd_call_t *c, lcs_opts_t *o)
{
	memset(o, 0, sizeof(*o));
	for (size_t j = 3; j < c->argc; j++) {
		if (grove_cmd_arg_is(c, j, "idx")) {
			o->idx = true;
		} else if (grove_cmd_arg_is(c, j, "len")) {
			o->len = true;
		} else if (grove_cmd_arg_is(c, j, "withmatchlen")) {
			o->withmatchlen = true;
		} else if (grove_cmd_arg_is(c, j, "minmatchlen") && j + 1 < c->argc) {
			if (!grove_cmd_arg_ll(c, ++j, &o->minmatchlen))
				return false;
			if (o->minmatchlen < 0)
				o->minmatchlen = 0;
		} else {
			grove_cmd_reply_syntax(c);
			return false;
		}
	}
	if (o->idx && o->len) {
		grove_resp_error(c->out, "ERR If you want both the length and indexes, please just use IDX.");
		return false;
	}
	return true;
}

#define LCS(A, B) dp[(B) + (A) * (blen + 1)]

/* Walks the table back from (alen, blen) as Redis does: fills result (the
 * subsequence) and, with IDX, appends the matches to *items (counted in
 * *n). */
static void lcs_walk(const uint32_t *dp, const uint8_t *a, uint32_t alen, const uint8_t *b,
		     uint32_t blen, const lcs_opts_t *o, uint8_t *result, grove_buf_t *items,
		     size_t *n)
{
	uint32_t i = alen, j = blen, idx = LCS(alen, blen);
	uint32_t as = alen, ae = 0, bs = 0, be = 0;
	while (i > 0 && j > 0) {
		bool emit = false;
		if (a[i - 1] == b[j - 1]) {
			result[idx - 1] = a[i - 1];
			if (as == alen) {
				as = ae = i - 1;
				bs = be = j - 1;
			} else if (as == i && bs == j) {
				as--;
				bs--;
			} else {
				emit = true;
			}
			if (as == 0 || bs == 0)
				emit = true;
			idx--, i--, j--;
		} else {
			if (LCS(i - 1, j) > LCS(i, j - 1))
				i--;
			else
				j--;
			if (as != alen)
				emit = true;
		}
		if (!emit)
			continue;
		long long mlen = (long long)ae - as + 1;
		if (o->idx && (o->minmatchlen == 0 || mlen >= o->minmatchlen)) {
			grove_resp_array(items, 2 + (size_t)o->withmatchlen);
			grove_resp_array(items, 2);
			grove_resp_int(items, as);
			grove_resp_int(items, ae);
			grove_resp_array(items, 2);
			grove_resp_int(items, bs);
			grove_resp_int(items, be);
			if (o->withmatchlen)
				grove_resp_int(items, mlen);
			(*n)++;
		}
		as = alen; /* the next match starts afresh */
	}
}

static void lcs_reply(grove_cmd_call_t *c, const bytes_val_t *x, const bytes_val_t *y,
		      const lcs_opts_t *o)
{
	uint32_t alen = (uint32_t)x->len, blen = (uint32_t)y->len;
	if ((uint64_t)(alen + 1ull) * (blen + 1ull) * sizeof(uint32_t) > GROVE_LCS_TABLE_BYTES_MAX) {
		grove_resp_error(c->out, "ERR Insufficient memory, transient memory for LCS exceeds "
					 "64 MiB (GROVE_LCS_TABLE_BYTES_MAX)");
		return;
	}
	uint32_t *dp = grove_malloc((size_t)(alen + 1) * (blen + 1) * sizeof(uint32_t));
	uint8_t *result = grove_malloc(alen + 1);
	grove_buf_t items;
	grove_buf_init(&items, 0);
	if (!dp || !result)
		goto out_nomem;
	const uint8_t *a = x->p, *b = y->p;
	for (uint32_t i = 0; i <= alen; i++)
		for (uint32_t j = 0; j <= blen; j++)
			LCS(i, j) = i == 0 || j == 0 ? 0
				    : a[i - 1] == b[j - 1] ? LCS(i - 1, j - 1) + 1
				    : LCS(i - 1, j) > LCS(i, j - 1) ? LCS(i - 1, j) : LCS(i, j - 1);
	size_t n = 0;
	if (!o->len)
		lcs_walk(dp, a, alen, b, blen, o, result, &items, &n);
	if (grove_buf_failed(&items))
		goto out_nomem;
	if (o->idx) {
		grove_resp_array(c->out, 4);
		grove_resp_bulk_str(c->out, "matches");
		grove_resp_array(c->out, n);
		grove_buf_append(c->out, items.data, items.len);
		grove_resp_bulk_str(c->out, "len");
		grove_resp_int(c->out, LCS(alen, blen));
	} else if (o->len) {
		grove_resp_int(c->out, LCS(alen, blen));
	} else {
		grove_resp_bulk(c->out, result, LCS(alen, blen));
	}
	goto out;
out_nomem:
	grove_resp_error(c->out, "ERR out of memory");
out:
	grove_buf_close(&items);
	grove_free(result);
	grove_free(dp);
}

#undef LCS

/* LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN] */
void grove_cmd_do_lcs(grove_cmd_call_t *c)
{
	bytes_val_t x, y;
	int rc = bytes_get(c, 1, &x), rc2 = bytes_get(c, 2, &y);
	lcs_opts_t o;
	if (rc == GROVE_EWRONGTYPE || rc2 == GROVE_EWRONGTYPE)
		grove_resp_error(c->out, "ERR The specified keys must contain string values");
	else if (rc < 0 || rc2 < 0)
		grove_cmd_reply_db_error(c, rc < 0 ? rc : rc2);
	else if (lcs_options(c, &o))
		lcs_reply(c, &x, &y, &o);
	grove_value_destroy(x.v);
	grove_value_destroy(y.v);
}
