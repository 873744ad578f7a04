/*
 * resp_cmd_object.c - OBJECT ENCODING / FREQ / IDLETIME / REFCOUNT / HELP,
 * answered as Redis 7.0 would for the same value, since Grove has none of
 * Redis's encodings:
 *   ENCODING: the encoding Redis 7.0 would pick with its default
 *     thresholds (a string: "int" for a decimal long, "embstr" up to 44
 *     bytes, "raw" beyond; a counter: "int"; a set: "intset" for at most
 *     512 integer members, else "hashtable"; a hash: "listpack" for at
 *     most 128 fields with names and values of at most 64 bytes, else
 *     "hashtable"; a sorted set: "listpack" likewise, else "skiplist").
 *     Small collections are read (at most 513 elements), large ones only
 *     counted.  Redis's history-dependent cases (an APPENDed string is
 *     "raw" there, a set that once held a non-integer stays "hashtable")
 *     are not reproduced.
 *   FREQ: Redis's error, since no LFU policy is ever selected.
 *   IDLETIME: 0 (Grove keeps no access times).
 *   REFCOUNT: 1, or Redis's shared-integer count (2147483647) for a string
 *     holding an integer 0..9999, as Redis shares those objects.
 * Missing keys answer nil, as Redis.
 */
#include <limits.h>
#include <string.h>

#include "grove/alloc.h"
#include "node/resp_commands_int.h"

#define STR_EMBSTR_MAX 44
#define SET_INTSET_MAX 512
#define PACK_ENTRIES_MAX 128
#define PACK_VALUE_MAX 64
#define SHARED_INTEGERS 10000
#define SHARED_REFCOUNT INT_MAX

typedef struct small_scan {
	bool ints, short_names, short_values;
} small_scan_t;

static int small_elem(void *ctx, const void *elem, size_t elen, const void *val, size_t vlen)
{
	small_scan_t *s = ctx;
	(void)val;
	long long n;
	s->ints &= grove_cmd__parse_ll(elem, elen, &n);
	s->short_names &= elen <= PACK_VALUE_MAX;
	s->short_values &= vlen <= PACK_VALUE_MAX || vlen == sizeof(double) /* a zset score */;
	return 0;
}

/* The encoding name of a collection; NULL after an error reply. */
static const char *coll_encoding(grove_cmd_call_t *c, grove_type_t t)
{
	uint64_t n = 0;
	int rc = grove_db_coll_count(c->env->db, c->argv[2], c->argl[2], t, &n);
	size_t limit = t == GROVE_TYPE_SET ? SET_INTSET_MAX : PACK_ENTRIES_MAX;
	small_scan_t s = { true, true, true };
	if (rc == 0 && n <= limit)
		rc = grove_db_coll_scan(c->env->db, c->argv[2], c->argl[2], t, NULL, 0, limit + 1,
					small_elem, &s, NULL, NULL);
	if (rc < 0) {
		grove_cmd_reply_db_error(c, rc);
		return NULL;
	}
	if (t == GROVE_TYPE_SET)
		return n <= limit && s.ints ? "intset" : "hashtable";
	bool pack = n <= limit && s.short_names && (t == GROVE_TYPE_ZSET || s.short_values);
	return pack ? "listpack" : t == GROVE_TYPE_MAP ? "hashtable" : "skiplist";
}

/* A string key's value: *len bytes, *is_int and *n when it is a long. */
static bool string_shape(grove_cmd_call_t *c, grove_type_t t, size_t *len, bool *is_int,
			 long long *n)
{
	grove_value_t *v = NULL;
	int rc = grove_db_get(c->env->db, c->argv[2], c->argl[2], &v);
	const void *val = NULL;
	int64_t cn = 0;
	*len = 0;
	*is_int = false;
	if (rc == 0 && t == GROVE_TYPE_COUNTER && grove_pncounter_get(v, &cn) == 0) {
		*is_int = true;
		*n = cn;
	} else if (rc == 0 && grove_lwwreg_get(v, &val, len) == 0) {
		*is_int = *len <= 20 && grove_cmd__parse_ll(val, *len, n);
	}
	grove_value_destroy(v);
	if (rc < 0 && rc != GROVE_ENOTFOUND) {
		grove_cmd_reply_db_error(c, rc);
		return false;
	}
	return true;
}

static void object_help(grove_cmd_call_t *c)
{
	static const char *const lines[] = {
		"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"ENCODING <key>",
		"    Return the kind of internal representation used in order to store the value",
		"    associated with a <key>.",
		"FREQ <key>",
		"    Return the access frequency index of the <key>. The returned integer is",
		"    proportional to the logarithm of the recent access frequency of the key.",
		"IDLETIME <key>",
		"    Return the idle time of the <key>, that is the approximated number of",
		"    seconds elapsed since the last access to the key.",
		"REFCOUNT <key>",
		"    Return the number of references of the value associated with the specified",
		"    <key>.",
		"HELP",
		"    Prints this help.",
	};
	grove_cmd__reply_lines(c, lines, sizeof(lines) / sizeof(lines[0]));
}

static void object_key(grove_cmd_call_t *c, const char *sub)
{
	grove_type_t t = GROVE_TYPE_NONE;
	int rc = grove_cmd__key_valid(c, 2) ? grove_db_type(c->env->db, c->argv[2], c->argl[2], &t)
					    : 0;
	if (rc < 0) {
		grove_cmd_reply_db_error(c, rc);
		return;
	}
	if (t == GROVE_TYPE_NONE) {
		grove_resp_null(c->out);
		return;
	}
	if (strcmp(sub, "freq") == 0) {
		grove_resp_error(c->out, "ERR An LFU maxmemory policy is not selected, access frequency "
					 "not tracked. Please note that when switching between policies "
					 "at runtime LRU and LFU data will take some time to adjust.");
		return;
	}
	if (strcmp(sub, "idletime") == 0) {
		grove_resp_int(c->out, 0);
		return;
	}
	bool str = t == GROVE_TYPE_REGISTER || t == GROVE_TYPE_COUNTER;
	size_t len = 0;
	bool is_int = false;
	long long n = 0;
	if (str && !string_shape(c, t, &len, &is_int, &n))
		return;
	if (strcmp(sub, "refcount") == 0) {
		bool shared = is_int && n >= 0 && n < SHARED_INTEGERS;
		grove_resp_int(c->out, shared ? SHARED_REFCOUNT : 1);
		return;
	}
	const char *enc = str			? (is_int ? "int" : len <= STR_EMBSTR_MAX ? "embstr" : "raw")
			  : t == GROVE_TYPE_LIST ? "quicklist" /* Redis 7.0's for every list */
						 : coll_encoding(c, t);
	if (enc)
		grove_resp_bulk_str(c->out, enc);
}

void grove_cmd_do_object(grove_cmd_call_t *c)
{
	static const char *const subs[] = {"encoding", "freq", "idletime", "refcount"};
	if (grove_cmd_arg_is(c, 1, "help") && c->argc == 2) {
		object_help(c);
		return;
	}
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (!grove_cmd_arg_is(c, 1, subs[i]))
			continue;
		if (c->argc != 3)
			grove_resp_errorf(c->out, "ERR wrong number of arguments for 'object|%s' command",
					  subs[i]);
		else
			object_key(c, subs[i]);
		return;
	}
	grove_resp_errorf(c->out, "ERR unknown subcommand '%.*s'. Try OBJECT HELP.",
			  (int)(c->argl[1] > 64 ? 64 : c->argl[1]), (const char *)c->argv[1]);
}
