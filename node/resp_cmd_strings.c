/*
 * resp_cmd_strings.c - string commands beyond GET/SET: SET's options
 * (NX, XX, GET, KEEPTTL), SETNX, GETSET, GETDEL, GETEX, MGET, MSET,
 * MSETNX, APPEND, STRLEN, GETRANGE, SETRANGE; the expiry commands Grove can
 * answer honestly (TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST) and the
 * ones it refuses (EXPIRE, SET EX...).
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
 * Expiry.  Grove keeps no TTL: a key never expires.  So TTL and PTTL answer
 * -1 for a key and -2 for no key, EXPIRETIME likewise, PERSIST 0, KEEPTTL
 * is accepted and GETEX PERSIST is a GET; every command that would set a
 * TTL (EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT, SETEX, PSETEX, SET and GETEX
 * with EX/PX/EXAT/PXAT) is refused with GROVE_EXPIRY_ERROR and no effect.
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

#define GROVE_EXPIRY_ERROR                                                       \
	"ERR Grove keeps no key expiry: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT, "  \
	"SETEX, PSETEX and the EX/PX/EXAT/PXAT options are refused (keys never " \
	"expire; TTL answers -1)"

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

static bool reg_set(grove_cmd_call_t *c, size_t ki, const void *val, size_t len)
{
	int rc = grove_db_string_set(c->env->db, c->argv[ki], c->argl[ki], val, len);
	if (rc < 0) {
		grove_cmd_reply_db_error(c, rc);
		return false;
	}
	return true;
}

/* ---- SET and its options ---- */

#define SET_NX 0x1
#define SET_XX 0x2
#define SET_GET 0x4
#define SET_KEEPTTL 0x8
#define SET_EXPIRE 0x10

/* Parses SET's options from argument 3 on, with Redis 7.0's rules and
 * errors; replies and returns false on a bad option. */
static bool set_options(grove_cmd_call_t *c, unsigned *flags)
{
	for (size_t i = 3; i < c->argc; i++) {
		bool has_next = i + 1 < c->argc;
		if (grove_cmd_arg_is(c, i, "nx") && !(*flags & SET_XX)) {
			*flags |= SET_NX;
		} else if (grove_cmd_arg_is(c, i, "xx") && !(*flags & SET_NX)) {
			*flags |= SET_XX;
		} else if (grove_cmd_arg_is(c, i, "get")) {
			*flags |= SET_GET;
		} else if (grove_cmd_arg_is(c, i, "keepttl") && !(*flags & SET_EXPIRE)) {
			*flags |= SET_KEEPTTL;
		} else if ((grove_cmd_arg_is(c, i, "ex") || grove_cmd_arg_is(c, i, "px") ||
			    grove_cmd_arg_is(c, i, "exat") || grove_cmd_arg_is(c, i, "pxat")) &&
			   has_next && !(*flags & (SET_KEEPTTL | SET_EXPIRE))) {
			long long t;
			if (!grove_cmd_arg_ll(c, ++i, &t))
				return false;
			if (t <= 0) {
				grove_resp_error(c->out, "ERR invalid expire time in 'set' command");
				return false;
			}
			*flags |= SET_EXPIRE;
		} else {
			grove_cmd_reply_syntax(c);
			return false;
		}
	}
	if (*flags & SET_EXPIRE) {
		grove_resp_error(c->out, GROVE_EXPIRY_ERROR);
		return false;
	}
	return true;
}

/* SET key value with NX / XX / GET decided on the local state. */
static void set_conditional(grove_cmd_call_t *c, unsigned flags)
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
	} else if (str_writable(c, &s) && reg_set(c, 1, c->argv[2], c->argl[2])) {
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
	if (!set_options(c, &flags) || !grove_cmd__key_writable(c, 1))
		return;
	if (flags & (SET_NX | SET_XX | SET_GET)) {
		set_conditional(c, flags);
		return;
	}
	if (reg_set(c, 1, c->argv[2], c->argl[2]))
		grove_resp_simple(c->out, "OK");
}

void grove_cmd_do_getset(grove_cmd_call_t *c)
{
	if (grove_cmd__key_writable(c, 1))
		set_conditional(c, SET_GET);
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
	if (reg_set(c, 1, buf, nlen))
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

/* GETEX key [PERSIST]: a GET (no key has a TTL); EX/PX/EXAT/PXAT refused. */
void grove_cmd_do_getex(grove_cmd_call_t *c)
{
	if (c->argc > 2) {
		bool expire = c->argc == 4 && (grove_cmd_arg_is(c, 2, "ex") ||
					       grove_cmd_arg_is(c, 2, "px") ||
					       grove_cmd_arg_is(c, 2, "exat") ||
					       grove_cmd_arg_is(c, 2, "pxat"));
		long long t;
		if (expire) {
			if (!grove_cmd_arg_ll(c, 3, &t))
				return;
			if (t <= 0) {
				grove_resp_error(c->out, "ERR invalid expire time in 'getex' command");
				return;
			}
			grove_resp_error(c->out, GROVE_EXPIRY_ERROR);
			return;
		}
		if (c->argc != 3 || !grove_cmd_arg_is(c, 2, "persist")) {
			grove_cmd_reply_syntax(c);
			return;
		}
	}
	str_val_t s;
	if (!str_load_string(c, 1, &s))
		return;
	reply_str(c->out, &s);
	str_free(&s);
}

/* ---- expiry ---- */

/* TTL, PTTL, EXPIRETIME, PEXPIRETIME: -1 for a key (no TTL), -2 for none. */
void grove_cmd_do_ttl(grove_cmd_call_t *c)
{
	str_val_t s;
	if (!str_load(c, 1, &s))
		return;
	grove_resp_int(c->out, s.type == GROVE_TYPE_NONE ? -2 : -1);
	str_free(&s);
}

/* PERSIST: 0, there is never a TTL to remove. */
void grove_cmd_do_persist(grove_cmd_call_t *c)
{
	grove_resp_int(c->out, 0);
}

/* EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT, SETEX, PSETEX: refused; the time
 * argument is checked first, as Redis does. */
void grove_cmd_do_expire(grove_cmd_call_t *c)
{
	long long t;
	if (grove_cmd_arg_ll(c, 2, &t))
		grove_resp_error(c->out, GROVE_EXPIRY_ERROR);
}
