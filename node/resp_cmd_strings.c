/*
 * resp_cmd_strings.c - string commands beyond GET/SET: SET's options
 * (NX, XX, GET, KEEPTTL, EX, PX, EXAT, PXAT), SETNX, GETSET, GETDEL, GETEX,
 * MGET, MSET, MSETNX, APPEND, STRLEN, GETRANGE, SETRANGE.
 *
 * A Redis string is a Grove register (an LWW register) or a counter (read
 * as its decimal value).  Writes go to registers: a write of a counter key
 * replaces the counter by a register (grove_db_string_set), and INCR of a
 * register holding an integer turns it into a counter (resp_cmd_types.c).
 *
 * Read-then-write commands (SET NX/XX/GET, SETNX, GETSET, GETDEL, MSETNX,
 * MSET, APPEND, SETRANGE) decide on this node's state and hold the node's
 * exec lock for writing (grove_cmd__lock_exclusive), so no other command of
 * this node runs between their read and their write, and MSET's keys are
 * all written before any other command runs.  Other nodes are not asked: a
 * concurrent SETNX of one key on two nodes can succeed on both (the LWW
 * rule then keeps one value everywhere), and two concurrent APPENDs on two
 * nodes keep one of the two results, as CRDT-backed Redis does for strings.
 * Every check (types, sizes) happens before the first write, so a refused
 * command changes nothing.
 *
 * Expiry: SET's EX/PX/EXAT/PXAT write the deadline with the value, KEEPTTL
 * keeps the key's TTL, a plain SET (MSET, GETSET, SETNX too) removes the TTL
 * it saw; APPEND and SETRANGE keep it; GETEX changes it after the read.
 * The rules and the other expiry commands are in resp_cmd_expire.c.
 * INCRBYFLOAT is in resp_cmd_hash.c, beside HINCRBYFLOAT.
 */
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "grove/alloc.h"
#include "node/resp_commands_int.h"

/* Redis's proto-max-bulk-len (its error text past it); Grove's registers
 * stop earlier, at GROVE_REGISTER_VALUE_MAX. */
#define GROVE_STRING_BYTES_MAX (512u * 1024 * 1024)

/* A key's value as a Redis string. */
typedef struct str_val {
	grove_value_t *v;    /* owned; NULL when absent */
	grove_type_t type;   /* GROVE_TYPE_NONE when absent or deleted */
	const uint8_t *data; /* register bytes or counter digits */
	size_t len;
	char digits[24];
} str_val_t;

static bool is_string(grove_type_t t)
{
	return t == GROVE_TYPE_REGISTER || t == GROVE_TYPE_COUNTER;
}

/* Loads key i.  A key that cannot exist (empty, too long) is absent.
 * Replies and returns false on a db error. */
static bool str_load(grove_cmd_call_t *c, size_t i, str_val_t *s)
{
	memset(s, 0, sizeof(*s));
	s->data = (const uint8_t *)"";
	if (!grove_cmd__key_valid(c, i))
		return true;
	/* the type first: a set or map is not materialized (it may be huge) */
	int rc = grove_db_type(c->env->db, c->argv[i], c->argl[i], &s->type);
	if (rc == 0 && (s->type == GROVE_TYPE_SET || s->type == GROVE_TYPE_MAP || s->type == GROVE_TYPE_ZSET ||
			s->type == GROVE_TYPE_LIST))
		return true;
	if (rc == 0)
		rc = grove_db_get(c->env->db, c->argv[i], c->argl[i], &s->v);
	if (rc == GROVE_ENOTFOUND) {
		s->type = GROVE_TYPE_NONE;
		return true;
	}
	if (rc < 0) {
		grove_cmd_reply_db_error(c, rc);
		return false;
	}
	s->type = grove_value_type(s->v);
	const void *val;
	int64_t n;
	if (s->type == GROVE_TYPE_REGISTER) {
		if (grove_lwwreg_get(s->v, &val, &s->len) == 0)
			s->data = val;
		else
			s->type = GROVE_TYPE_NONE;
	} else if (s->type == GROVE_TYPE_COUNTER && grove_pncounter_get(s->v, &n) == 0) {
		s->len = (size_t)snprintf(s->digits, sizeof(s->digits), "%lld", (long long)n);
		s->data = (const uint8_t *)s->digits;
	}
	return true;
}

static void str_free(str_val_t *s)
{
	grove_value_destroy(s->v);
	s->v = NULL;
}

/* Loads key i as a string; replies WRONGTYPE (and frees) for a set or map. */
static bool str_load_string(grove_cmd_call_t *c, size_t i, str_val_t *s)
{
	if (!str_load(c, i, s))
		return false;
	if (s->type == GROVE_TYPE_NONE || is_string(s->type))
		return true;
	str_free(s);
	grove_cmd_reply_db_error(c, GROVE_EWRONGTYPE);
	return false;
}

static void reply_str(grove_buf_t *out, const str_val_t *s)
{
	if (is_string(s->type))
		grove_resp_bulk(out, s->data, s->len);
	else
		grove_resp_null(out);
}

/* Whether key i may be written as a register: WRONGTYPE for a set, map or
 * sorted set (a counter is replaced). */
static bool str_writable(grove_cmd_call_t *c, const str_val_t *s)
{
	if (s->type == GROVE_TYPE_NONE || is_string(s->type))
		return true;
	grove_cmd_reply_db_error(c, GROVE_EWRONGTYPE);
	return false;
}

/* A register write; ttl_mode GROVE_DB_TTL_* (deadline at_ms for AT). */
static bool reg_write(grove_cmd_call_t *c, size_t ki, const void *val, size_t len, int ttl_mode,
		      uint64_t at_ms)
{
	int rc = grove_db_string_write(c->env->db, c->argv[ki], c->argl[ki], val, len, ttl_mode,
				       at_ms);
	if (rc < 0) {
		grove_cmd_reply_db_error(c, rc);
		return false;
	}
	return true;
}

/* SET, MSET, GETSET, SETNX: the TTL the key had goes. */
static bool reg_set(grove_cmd_call_t *c, size_t ki, const void *val, size_t len)
{
	return reg_write(c, ki, val, len, GROVE_DB_TTL_CLEAR, 0);
}

/* ---- SET and its options ---- */

#define SET_NX 0x1
#define SET_XX 0x2
#define SET_GET 0x4
#define SET_KEEPTTL 0x8
#define SET_EX 0x10
#define SET_PX 0x20
#define SET_EXAT 0x40
#define SET_PXAT 0x80
#define SET_PERSIST 0x100 /* GETEX only */
#define SET_EXPIRE (SET_EX | SET_PX | SET_EXAT | SET_PXAT)

/* Parses the options of SET (from argument 3) or GETEX (getex: from 2)
 * with Redis 7.0's rules (parseExtendedStringArgumentsOrReply): *ei is the
 * index of the time argument (0: none).  Replies and returns false on a
 * syntax error. */
static bool str_options(grove_cmd_call_t *c, bool getex, unsigned *flags, size_t *ei)
{
	static const struct {
		const char *word;
		unsigned flag;
	} units[] = { { "ex", SET_EX }, { "px", SET_PX }, { "exat", SET_EXAT }, { "pxat", SET_PXAT } };
	*ei = 0;
	for (size_t i = getex ? 2 : 3; i < c->argc; i++) {
		bool has_next = i + 1 < c->argc;
		unsigned f = 0;
		for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++)
			if (grove_cmd_arg_is(c, i, units[u].word))
				f = units[u].flag;
		if (!getex && grove_cmd_arg_is(c, i, "nx") && !(*flags & SET_XX)) {
			*flags |= SET_NX;
		} else if (!getex && grove_cmd_arg_is(c, i, "xx") && !(*flags & SET_NX)) {
			*flags |= SET_XX;
		} else if (!getex && grove_cmd_arg_is(c, i, "get")) {
			*flags |= SET_GET;
		} else if (!getex && grove_cmd_arg_is(c, i, "keepttl") && !(*flags & SET_EXPIRE)) {
			*flags |= SET_KEEPTTL;
		} else if (getex && grove_cmd_arg_is(c, i, "persist") && !(*flags & SET_EXPIRE)) {
			*flags |= SET_PERSIST;
		} else if (f && has_next && !(*flags & (SET_KEEPTTL | SET_PERSIST | (SET_EXPIRE & ~f)))) {
			*flags |= f;
			*ei = ++i;
		} else {
			grove_cmd_reply_syntax(c);
			return false;
		}
	}
	return true;
}

/* The deadline of the parsed time option (getMillisecondsOrReply). */
static bool str_deadline(grove_cmd_call_t *c, unsigned flags, size_t ei, const char *cmd,
			 uint64_t *at_ms)
{
	bool seconds = flags & (SET_EX | SET_EXAT), relative = flags & (SET_EX | SET_PX);
	return grove_cmd__expire_ms(c, ei, seconds, relative, cmd, at_ms);
}

static int ttl_mode(unsigned flags)
{
	return (flags & SET_EXPIRE) ? GROVE_DB_TTL_AT : (flags & SET_KEEPTTL) ? GROVE_DB_TTL_KEEP
									       : GROVE_DB_TTL_CLEAR;
}

/* SET key value with NX / XX / GET decided on the local state. */
static void set_conditional(grove_cmd_call_t *c, unsigned flags, uint64_t at_ms)
{
	grove_cmd__lock_exclusive(c);
	str_val_t s;
	if (!((flags & SET_GET) ? str_load_string(c, 1, &s) : str_load(c, 1, &s)))
		return;
	bool exists = s.type != GROVE_TYPE_NONE;
	if (((flags & SET_NX) && exists) || ((flags & SET_XX) && !exists)) {
		if (flags & SET_GET)
			reply_str(c->out, &s);
		else
			grove_resp_null(c->out);
	} else if (str_writable(c, &s) &&
		   reg_write(c, 1, c->argv[2], c->argl[2], ttl_mode(flags), at_ms)) {
		if (flags & SET_GET)
			reply_str(c->out, &s);
		else
			grove_resp_simple(c->out, "OK");
	}
	str_free(&s);
}

void grove_cmd_do_set(grove_cmd_call_t *c)
{
	unsigned flags = 0;
	size_t ei;
	uint64_t at = 0;
	if (!str_options(c, false, &flags, &ei) ||
	    (ei && !str_deadline(c, flags, ei, "set", &at)) || !grove_cmd__key_writable(c, 1))
		return;
	if (flags & (SET_NX | SET_XX | SET_GET)) {
		set_conditional(c, flags, at);
		return;
	}
	if (reg_write(c, 1, c->argv[2], c->argl[2], ttl_mode(flags), at))
		grove_resp_simple(c->out, "OK");
}

void grove_cmd_do_getset(grove_cmd_call_t *c)
{
	if (grove_cmd__key_writable(c, 1))
		set_conditional(c, SET_GET, 0);
}

/* ---- multi-key ---- */

void grove_cmd_do_mget(grove_cmd_call_t *c)
{
	grove_buf_t items;
	grove_buf_init(&items, 0);
	for (size_t i = 1; i < c->argc; i++) {
		str_val_t s;
		if (!str_load(c, i, &s)) {
			grove_buf_close(&items);
			return;
		}
		reply_str(&items, &s);
		str_free(&s);
	}
	if (grove_buf_failed(&items)) {
		grove_resp_error(c->out, "ERR out of memory building the reply");
	} else {
		grove_resp_array(c->out, c->argc - 1);
		grove_buf_append(c->out, items.data, items.len);
	}
	grove_buf_close(&items);
}

/* MSET / MSETNX / SETNX: checks every key, then writes every pair.
 * nx: write only if no key exists; replies 1 or 0 instead of OK. */
static void mset(grove_cmd_call_t *c, bool nx)
{
	if (c->argc % 2 == 0) {
		grove_resp_errorf(c->out, "ERR wrong number of arguments for '%s' command",
				  nx ? "msetnx" : "mset");
		return;
	}
	for (size_t i = 1; i < c->argc; i += 2)
		if (!grove_cmd__key_writable(c, i))
			return;
	grove_cmd__lock_exclusive(c);
	bool any = false;
	for (size_t i = 1; i < c->argc; i += 2) {
		str_val_t s;
		if (!str_load(c, i, &s))
			return;
		any |= s.type != GROVE_TYPE_NONE;
		bool ok = nx || str_writable(c, &s);
		str_free(&s);
		if (!ok)
			return;
	}
	if (nx && any) {
		grove_resp_int(c->out, 0);
		return;
	}
	for (size_t i = 1; i < c->argc; i += 2)
		if (!reg_set(c, i, c->argv[i + 1], c->argl[i + 1]))
			return;
	if (nx)
		grove_resp_int(c->out, 1);
	else
		grove_resp_simple(c->out, "OK");
}

void grove_cmd_do_mset(grove_cmd_call_t *c)
{
	mset(c, false);
}

void grove_cmd_do_msetnx(grove_cmd_call_t *c)
{
	mset(c, true);
}

void grove_cmd_do_setnx(grove_cmd_call_t *c)
{
	mset(c, true);
}

/* ---- read-modify-write ---- */

void grove_cmd_do_getdel(grove_cmd_call_t *c)
{
	grove_cmd__lock_exclusive(c);
	str_val_t s;
	if (!str_load_string(c, 1, &s))
		return;
	if (s.type != GROVE_TYPE_NONE) {
		bool existed;
		int rc = grove_db_delete(c->env->db, c->argv[1], c->argl[1], &existed);
		if (rc < 0) {
			grove_cmd_reply_db_error(c, rc);
			str_free(&s);
			return;
		}
	}
	reply_str(c->out, &s);
	str_free(&s);
}

/* Writes old[0, olen) with `add` placed at offset (zero-padded), as one
 * new value; replies the new length. */
static void splice(grove_cmd_call_t *c, const str_val_t *s, size_t offset)
{
	const uint8_t *add = c->argv[c->argc - 1];
	size_t alen = c->argl[c->argc - 1];
	if (offset > GROVE_STRING_BYTES_MAX || alen > GROVE_STRING_BYTES_MAX - offset) {
		grove_resp_error(c->out, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
		return;
	}
	if (offset + alen > GROVE_REGISTER_VALUE_MAX && offset + alen > s->len) {
		grove_cmd__reply_value_too_big(c);
		return;
	}
	size_t nlen = offset + alen > s->len ? offset + alen : s->len;
	uint8_t *buf = grove_malloc(nlen ? nlen : 1);
	if (!buf) {
		grove_resp_error(c->out, "ERR out of memory");
		return;
	}
	memcpy(buf, s->data, s->len);
	if (offset > s->len)
		memset(buf + s->len, 0, offset - s->len);
	memcpy(buf + offset, add, alen);
	if (reg_write(c, 1, buf, nlen, GROVE_DB_TTL_KEEP, 0))
		grove_resp_int(c->out, (long long)nlen);
	grove_free(buf);
}

/* Key 1 for a read-modify-write: a writable key name, the exclusive lock,
 * then its value; false after a reply. */
static bool load_for_update(grove_cmd_call_t *c, str_val_t *s)
{
	if (!grove_cmd__key_writable(c, 1))
		return false;
	grove_cmd__lock_exclusive(c);
	return str_load(c, 1, s);
}

void grove_cmd_do_append(grove_cmd_call_t *c)
{
	str_val_t s;
	if (!load_for_update(c, &s))
		return;
	if (str_writable(c, &s))
		splice(c, &s, s.len);
	str_free(&s);
}

void grove_cmd_do_setrange(grove_cmd_call_t *c)
{
	long long offset;
	if (!grove_cmd_arg_ll(c, 2, &offset))
		return;
	if (offset < 0) {
		grove_resp_error(c->out, "ERR offset is out of range");
		return;
	}
	str_val_t s;
	if (!load_for_update(c, &s))
		return;
	if (str_writable(c, &s)) {
		if (c->argl[3] == 0) /* nothing to write: no key is created */
			grove_resp_int(c->out, (long long)s.len);
		else
			splice(c, &s, (size_t)offset);
	}
	str_free(&s);
}

/* ---- reads ---- */

void grove_cmd_do_strlen(grove_cmd_call_t *c)
{
	str_val_t s;
	if (!str_load_string(c, 1, &s))
		return;
	grove_resp_int(c->out, (long long)s.len);
	str_free(&s);
}

void grove_cmd_do_getrange(grove_cmd_call_t *c)
{
	long long start, end;
	if (!grove_cmd_arg_ll(c, 2, &start) || !grove_cmd_arg_ll(c, 3, &end))
		return;
	str_val_t s;
	if (!str_load_string(c, 1, &s))
		return;
	long long n = (long long)s.len;
	if (start < 0 && end < 0 && start > end) {
		grove_resp_bulk(c->out, "", 0);
		str_free(&s);
		return;
	}
	if (start < 0)
		start = n + start;
	if (end < 0)
		end = n + end;
	if (start < 0)
		start = 0;
	if (end < 0)
		end = 0;
	if (end >= n)
		end = n - 1;
	if (n == 0 || start > end)
		grove_resp_bulk(c->out, "", 0);
	else
		grove_resp_bulk(c->out, s.data + start, (size_t)(end - start + 1));
	str_free(&s);
}

/* GETEX key [EX s|PX ms|EXAT t|PXAT t|PERSIST]: the value, then the TTL
 * changed (a deadline already past deletes the key), in Redis 7.0's order:
 * options, then the key (nil, WRONGTYPE), then the time. */
void grove_cmd_do_getex(grove_cmd_call_t *c)
{
	unsigned flags = 0;
	size_t ei;
	uint64_t at = 0;
	if (!str_options(c, true, &flags, &ei))
		return;
	if (flags)
		grove_cmd__lock_exclusive(c);
	str_val_t s;
	if (!str_load_string(c, 1, &s))
		return;
	if (s.type == GROVE_TYPE_NONE || !flags) {
		reply_str(c->out, &s);
		str_free(&s);
		return;
	}
	int rc = 0;
	bool done;
	if (ei && str_deadline(c, flags, ei, "getex", &at))
		rc = grove_db_expire(c->env->db, c->argv[1], c->argl[1], at, 0, &done);
	else if (!ei)
		rc = grove_db_persist(c->env->db, c->argv[1], c->argl[1], &done);
	else
		rc = 1; /* replied: invalid expire time */
	if (rc < 0)
		grove_cmd_reply_db_error(c, rc);
	else if (rc == 0)
		reply_str(c->out, &s);
	str_free(&s);
}
