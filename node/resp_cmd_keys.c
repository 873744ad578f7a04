/*
 * resp_cmd_keys.c - key-space commands: GET, DEL, EXISTS, TYPE, KEYS, SCAN,
 * DBSIZE (patterns use storage/glob.h).  SET is in resp_cmd_strings.c.
 *
 * SCAN cursors.  Redis clients (redis-cli --scan among them) parse the
 * cursor as an unsigned 64-bit decimal, while Grove's iteration resumes
 * from a key.  The node therefore keeps a table of GROVE_SCAN_CURSORS_MAX
 * cursors: SCAN returns a fresh id whose slot (id mod the table size) holds
 * the key to resume from; "0" starts and ends an iteration.  A cursor is
 * good until GROVE_SCAN_CURSORS_MAX newer cursors have been issued on the
 * node; an unknown or overwritten cursor answers "ERR invalid cursor".
 * Keys present for the whole iteration are returned exactly once (the
 * iteration is in key order); COUNT bounds the keys visited per call.
 */
#include <limits.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "grove/alloc.h"
#include "base/assert.h"
#include "node/resp_commands_int.h"
#include "storage/glob.h"

#define SCAN_COUNT_DEFAULT 10
#define KEYS_CHUNK 1024

/* Reads a key; replies and returns false unless it is live (or absent,
 * which gives *v = NULL).  A key that cannot exist (empty, over
 * GROVE_KEY_MAX) is absent, as Redis answers for a missing key. */
static bool load(grove_cmd_call_t *c, size_t i, grove_value_t **v)
{
	*v = NULL;
	if (!grove_cmd__key_valid(c, i))
		return true;
	int rc = grove_db_get(c->env->db, c->argv[i], c->argl[i], v);
	if (rc == GROVE_ENOTFOUND) {
		*v = NULL;
		return true;
	}
	if (rc < 0) {
		grove_cmd_reply_db_error(c, rc);
		return false;
	}
	return true;
}

/* The key's visible type from its head record (O(1) whatever its size);
 * replies and returns false on an error. */
static bool type_of(grove_cmd_call_t *c, size_t i, grove_type_t *t)
{
	*t = GROVE_TYPE_NONE;
	if (!grove_cmd__key_valid(c, i)) /* cannot exist: as a missing key */
		return true;
	int rc = grove_db_type(c->env->db, c->argv[i], c->argl[i], t);
	if (rc < 0) {
		grove_cmd_reply_db_error(c, rc);
		return false;
	}
	return true;
}

/* GET's reply for a key of visible type t (v: its value when a live
 * counter or register, else NULL). */
static void get_reply(void *ctx, grove_type_t t, const grove_value_t *v)
{
	grove_cmd_call_t *c = ctx;
	const void *val;
	size_t len;
	int64_t n;
	switch (v ? grove_value_type(v) : t) { /* a collection (no v): WRONGTYPE */
	case GROVE_TYPE_NONE:
		grove_resp_null(c->out);
		break;
	case GROVE_TYPE_COUNTER:
		if (grove_pncounter_get(v, &n) == 0)
			grove_resp_bulk_int(c->out, n);
		else
			grove_resp_error(c->out, "ERR corrupt counter");
		break;
	case GROVE_TYPE_REGISTER:
		if (grove_lwwreg_get(v, &val, &len) == 0)
			grove_resp_bulk(c->out, val, len);
		else
			grove_resp_null(c->out);
		break;
	default:
		grove_cmd_reply_db_error(c, GROVE_EWRONGTYPE);
		break;
	}
}

/* GET: from the record cache when it holds the key (no store read, no
 * allocation), else the type from the head and the value from the store.
 * A key whose head reads as no type (missing, deleted, emptied, expired)
 * is nil, as TYPE and EXISTS answer, without the second read (a snapshot
 * and a store get: most of a GET of a missing key). */
void grove_cmd_do_get(grove_cmd_call_t *c)
{
	if (grove_cmd__key_valid(c, 1)) {
		int rc = grove_db_peek(c->env->db, c->argv[1], c->argl[1], get_reply, c);
		if (rc < 0)
			grove_cmd_reply_db_error(c, rc);
		if (rc != 0)
			return;
	}
	grove_value_t *v;
	grove_type_t t;
	if (!type_of(c, 1, &t))
		return;
	if (t == GROVE_TYPE_NONE) {
		grove_resp_null(c->out);
		return;
	}
	if (t == GROVE_TYPE_SET || t == GROVE_TYPE_MAP || t == GROVE_TYPE_ZSET ||
	    t == GROVE_TYPE_LIST) { /* not decoded: may be huge */
		grove_cmd_reply_db_error(c, GROVE_EWRONGTYPE);
		return;
	}
	if (!load(c, 1, &v))
		return;
	get_reply(c, v ? grove_value_type(v) : GROVE_TYPE_NONE, v);
	grove_value_destroy(v);
}

void grove_cmd_do_del(grove_cmd_call_t *c)
{
	long long n = 0;
	for (size_t i = 1; i < c->argc; i++) {
		bool existed = false;
		if (!grove_cmd__key_valid(c, i))
			continue; /* cannot exist: nothing to delete */
		int rc = grove_db_delete(c->env->db, c->argv[i], c->argl[i], &existed);
		if (rc < 0 && rc != GROVE_ENOTFOUND) {
			grove_cmd_reply_db_error(c, rc);
			return;
		}
		n += rc == 0 && existed;
	}
	grove_resp_int(c->out, n);
}

void grove_cmd_do_exists(grove_cmd_call_t *c)
{
	long long n = 0;
	for (size_t i = 1; i < c->argc; i++) {
		grove_type_t t;
		if (!type_of(c, i, &t))
			return;
		n += t != GROVE_TYPE_NONE;
	}
	grove_resp_int(c->out, n);
}

static const char *redis_type_name(grove_type_t t)
{
	switch (t) {
	case GROVE_TYPE_COUNTER:
	case GROVE_TYPE_REGISTER:
		return "string";
	case GROVE_TYPE_SET:
		return "set";
	case GROVE_TYPE_MAP:
		return "hash";
	case GROVE_TYPE_ZSET:
		return "zset";
	case GROVE_TYPE_LIST:
		return "list";
	default:
		return "none";
	}
}

void grove_cmd_do_type(grove_cmd_call_t *c)
{
	grove_type_t t;
	if (type_of(c, 1, &t))
		grove_resp_simple(c->out, redis_type_name(t));
}

void grove_cmd_do_dbsize(grove_cmd_call_t *c)
{
	grove_resp_int(c->out, (long long)grove_db_count_visible(c->env->db));
}

/* Keys collected by KEYS and SCAN: replies into a side buffer, counted. */
typedef struct key_collector {
	const uint8_t *pattern;
	size_t plen;
	const char *type; /* SCAN TYPE filter or NULL */
	size_t type_len;
	grove_buf_t items;
	size_t count;
} key_collector_t;

static int collect_key(void *ctx, const void *key, size_t klen, grove_type_t type)
{
	key_collector_t *k = ctx;
	if (k->pattern && !grove_glob_match(k->pattern, k->plen, key, klen))
		return 0;
	if (k->type) {
		const char *name = redis_type_name(type);
		if (strlen(name) != k->type_len || strncasecmp(name, k->type, k->type_len) != 0)
			return 0;
	}
	if (k->count >= GROVE_KEYS_REPLY_MAX)
		return 1;
	grove_resp_bulk(&k->items, key, klen);
	k->count++;
	return 0;
}

/* Writes "*count" then the collected items; frees them. */
static void reply_collected(grove_cmd_call_t *c, key_collector_t *k)
{
	if (grove_buf_failed(&k->items)) {
		grove_resp_error(c->out, "ERR out of memory building the reply");
	} else {
		grove_resp_array(c->out, k->count);
		grove_buf_append(c->out, k->items.data, k->items.len);
	}
	grove_buf_close(&k->items);
}

/* KEYS pattern: O(keys in the store), in chunks of KEYS_CHUNK. */
void grove_cmd_do_keys(grove_cmd_call_t *c)
{
	key_collector_t k = {.pattern = c->argv[1], .plen = c->argl[1]};
	if (c->argl[1] == 1 && c->argv[1][0] == '*')
		k.pattern = NULL;
	grove_buf_init(&k.items, 0);
	uint8_t *start = NULL;
	size_t slen = 0;
	do {
		uint8_t *next = NULL;
		size_t next_len = 0;
		int rc = grove_db_scan(c->env->db, start, slen, KEYS_CHUNK, collect_key, &k, &next,
				       &next_len);
		grove_free(start);
		if (rc < 0) {
			grove_buf_close(&k.items);
			grove_cmd_reply_db_error(c, rc);
			return;
		}
		start = next;
		slen = next_len;
	} while (start && k.count < GROVE_KEYS_REPLY_MAX);
	grove_free(start);
	reply_collected(c, &k);
}

/* Parses SCAN's options into k and *count; replies and returns false on a
 * bad option. */
static bool scan_options(grove_cmd_call_t *c, key_collector_t *k, long long *count)
{
	for (size_t i = 2; i < c->argc; i += 2) {
		if (i + 1 >= c->argc) {
			grove_cmd_reply_syntax(c);
			return false;
		}
		if (grove_cmd_arg_is(c, i, "match")) {
			k->pattern = c->argv[i + 1];
			k->plen = c->argl[i + 1];
		} else if (grove_cmd_arg_is(c, i, "count")) {
			if (!grove_cmd_arg_ll(c, i + 1, count))
				return false;
			if (*count < 1) {
				grove_cmd_reply_syntax(c);
				return false;
			}
		} else if (grove_cmd_arg_is(c, i, "type")) {
			k->type = (const char *)c->argv[i + 1];
			k->type_len = c->argl[i + 1];
		} else {
			grove_cmd_reply_syntax(c);
			return false;
		}
	}
	if (*count > GROVE_SCAN_COUNT_MAX)
		*count = GROVE_SCAN_COUNT_MAX;
	return true;
}

bool grove_cmd__scan_match_count(grove_cmd_call_t *c, size_t from, const uint8_t **pattern,
				 size_t *plen, long long *count)
{
	for (size_t i = from; i < c->argc; i += 2) {
		if (i + 1 >= c->argc) {
			grove_cmd_reply_syntax(c);
			return false;
		}
		if (grove_cmd_arg_is(c, i, "match")) {
			*pattern = c->argv[i + 1];
			*plen = c->argl[i + 1];
		} else if (grove_cmd_arg_is(c, i, "count")) {
			if (!grove_cmd_arg_ll(c, i + 1, count))
				return false;
			if (*count < 1) {
				grove_cmd_reply_syntax(c);
				return false;
			}
		} else {
			grove_cmd_reply_syntax(c);
			return false;
		}
	}
	if (*count > GROVE_SCAN_COUNT_MAX)
		*count = GROVE_SCAN_COUNT_MAX;
	return true;
}

/* Stores a resume key under a fresh cursor id; returns the id (0 if the
 * table cannot be allocated: then the scan restarts, which is allowed). */
uint64_t grove_cmd__cursor_put(grove_cmd_env_t *env, uint8_t *key, size_t klen)
{
	if (!env->cursors) {
		env->cursors = grove_calloc(GROVE_SCAN_CURSORS_MAX, sizeof(*env->cursors));
		if (!env->cursors) {
			grove_free(key);
			return 0;
		}
	}
	uint64_t id = env->next_cursor++;
	struct grove_scan_cursor *slot = &env->cursors[id % GROVE_SCAN_CURSORS_MAX];
	grove_free(slot->key);
	slot->id = id;
	slot->key = key;
	slot->klen = klen;
	return id;
}

struct grove_scan_cursor *grove_cmd__cursor_get(grove_cmd_env_t *env, long long cursor)
{
	struct grove_scan_cursor *slot =
		env->cursors && cursor > 0 ? &env->cursors[(uint64_t)cursor % GROVE_SCAN_CURSORS_MAX]
					   : NULL;
	return slot && slot->id == (uint64_t)cursor ? slot : NULL;
}

/* A cursor as Redis parses it: an unsigned 64-bit decimal (SCAN, SSCAN,
 * HSCAN; anything else answers "ERR invalid cursor"). */
bool grove_cmd__parse_cursor(const uint8_t *s, size_t n, uint64_t *out)
{
	if (n == 0 || n > 20 || (s[0] == '0' && n > 1))
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

void grove_cmd_do_scan(grove_cmd_call_t *c)
{
	uint64_t cursor;
	long long count = SCAN_COUNT_DEFAULT;
	key_collector_t k = {0};
	if (!grove_cmd__parse_cursor(c->argv[1], c->argl[1], &cursor)) {
		grove_resp_error(c->out, "ERR invalid cursor");
		return;
	}
	if (!scan_options(c, &k, &count))
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
	grove_buf_init(&k.items, 0);
	uint8_t *next = NULL;
	size_t next_len = 0;
	int rc = grove_db_scan(c->env->db, start, slen, (size_t)count, collect_key, &k, &next,
			       &next_len);
	if (rc < 0) {
		grove_buf_close(&k.items);
		grove_cmd_reply_db_error(c, rc);
		return;
	}
	uint64_t id = next ? grove_cmd__cursor_put(c->env, next, next_len) : 0;
	grove_resp_array(c->out, 2);
	grove_resp_bulk_int(c->out, (long long)id);
	reply_collected(c, &k);
}
