/*
 * resp_cmd_keyspace.c - whole-keyspace commands: FLUSHDB, FLUSHALL and
 * RANDOMKEY (UNLINK and TOUCH share DEL's and EXISTS's handlers), and the
 * key-moving ones: COPY, RENAME, RENAMENX.
 *
 * FLUSHDB / FLUSHALL are an observed-remove delete of every key this node
 * holds, the same delete as DEL: each key's removal replicates to the
 * other nodes, so the command clears the whole cluster, except writes
 * made elsewhere that this node had not seen yet (they survive the merge,
 * as for DEL).  It runs under the node's exclusive lock (no other command
 * of this node in between) and costs O(keys): it visits the keys in
 * chunks of FLUSH_CHUNK and deletes them one by one.  ASYNC is accepted
 * and runs synchronously.
 *
 * COPY writes the source's value under the destination as this node's own
 * writes (a register's value; a counter's total as a fresh counter; each
 * member of a set; each field of a map); with REPLACE, or for RENAME, an
 * existing destination is first deleted (observed-remove).  RENAME is that
 * copy followed by an observed-remove delete of the source.  All of it runs
 * under the node's exclusive lock, so no client of this node sees a half
 * done rename; it is several store writes (one per member or field), not
 * one batch, and each replicates on its own.  The source is read whole
 * (grove_db_get): O(elements) memory for a set or map.  Concurrency across nodes: a
 * write to the source made on another node that this node had not seen
 * survives the delete, so the source reappears holding just that write;
 * the destination merges with concurrent writes to it by its type's rule.
 *
 * The source's TTL goes with it: the destination gets the same deadline
 * (an EXPIRE write of its own), as in Redis.
 *
 * RANDOMKEY picks a random position in the key order and answers the first
 * key at or after it (wrapping around): any key can come out, but not
 * uniformly (a key after a long gap in the key space comes out more often).
 */
#include <string.h>

#include <sodium.h>

#include "grove/alloc.h"
#include "node/resp_commands_int.h"

#define FLUSH_CHUNK 1024
#define RANDOM_START_BYTES 8

/* Keys of one chunk, copied out of the scan. */
typedef struct key_list {
	uint8_t *keys[FLUSH_CHUNK];
	size_t lens[FLUSH_CHUNK];
	size_t n;
	bool nomem;
} key_list_t;

static int collect(void *ctx, const void *key, size_t klen, grove_type_t type)
{
	(void)type;
	key_list_t *l = ctx;
	if (l->n == FLUSH_CHUNK)
		return 1;
	uint8_t *k = grove_malloc(klen);
	if (!k) {
		l->nomem = true;
		return 1;
	}
	memcpy(k, key, klen);
	l->keys[l->n] = k;
	l->lens[l->n++] = klen;
	return 0;
}

/* Deletes the chunk's keys; frees them.  Returns 0 or the first error. */
static int delete_chunk(grove_db_t *db, key_list_t *l)
{
	int first = 0;
	for (size_t i = 0; i < l->n; i++) {
		bool existed;
		int rc = grove_db_delete(db, l->keys[i], l->lens[i], &existed);
		if (rc < 0 && rc != GROVE_ENOTFOUND && first == 0)
			first = rc;
		grove_free(l->keys[i]);
	}
	l->n = 0;
	return first;
}

/* Deletes every live key, chunk by chunk (the scan resumes after the
 * chunk's last key, so deleted keys are not visited again). */
static int flush_all(grove_db_t *db)
{
	key_list_t *l = grove_calloc(1, sizeof(*l));
	if (!l)
		return GROVE_ENOMEM;
	uint8_t *start = NULL;
	size_t slen = 0;
	int rc;
	do {
		uint8_t *next = NULL;
		size_t next_len = 0;
		rc = grove_db_scan(db, start, slen, FLUSH_CHUNK, collect, l, &next, &next_len);
		grove_free(start);
		start = next;
		slen = next_len;
		if (rc == 0 && l->nomem)
			rc = GROVE_ENOMEM;
		int drc = delete_chunk(db, l);
		if (rc == 0)
			rc = drc;
	} while (rc == 0 && start);
	grove_free(start);
	grove_free(l);
	return rc;
}

void grove_cmd_do_flushdb(grove_cmd_call_t *c)
{
	if (c->argc > 2 || (c->argc == 2 && !grove_cmd_arg_is(c, 1, "async") &&
			    !grove_cmd_arg_is(c, 1, "sync"))) {
		grove_cmd_reply_syntax(c);
		return;
	}
	grove_cmd__lock_exclusive(c);
	int rc = flush_all(c->env->db);
	if (rc < 0)
		grove_cmd_reply_db_error(c, rc);
	else
		grove_resp_simple(c->out, "OK");
}

/* The first key at or after start, or NULL; a malloc'd copy. */
typedef struct first_key {
	uint8_t *key;
	size_t klen;
} first_key_t;

static int take_first(void *ctx, const void *key, size_t klen, grove_type_t type)
{
	(void)type;
	first_key_t *f = ctx;
	f->key = grove_malloc(klen);
	if (f->key) {
		memcpy(f->key, key, klen);
		f->klen = klen;
	}
	return 1;
}

void grove_cmd_do_randomkey(grove_cmd_call_t *c)
{
	uint8_t start[RANDOM_START_BYTES];
	randombytes_buf(start, sizeof(start));
	first_key_t f = {0};
	int rc = grove_db_scan(c->env->db, start, sizeof(start), 1, take_first, &f, NULL, NULL);
	if (rc == 0 && !f.key) /* past the last key: wrap around */
		rc = grove_db_scan(c->env->db, NULL, 0, 1, take_first, &f, NULL, NULL);
	if (rc < 0)
		grove_cmd_reply_db_error(c, rc);
	else if (f.key)
		grove_resp_bulk(c->out, f.key, f.klen);
	else
		grove_resp_null(c->out);
	grove_free(f.key);
}

/* ---- COPY, RENAME, RENAMENX ---- */

/* Writes value v (any type) under key dst as this node's writes: a
 * register's value, a counter's total as one increment of a fresh counter,
 * every member of a set, every field of a map.  dst must be empty. */
static int write_copy(grove_db_t *db, const uint8_t *dst, size_t dlen, const grove_value_t *v)
{
	int rc = 0;
	const void *a, *b;
	size_t al, bl;
	int64_t n;
	bool changed;
	switch (grove_value_type(v)) {
	case GROVE_TYPE_REGISTER:
		if (grove_lwwreg_get(v, &a, &al) == 0)
			rc = grove_db_register_set(db, dst, dlen, a, al);
		break;
	case GROVE_TYPE_COUNTER:
		rc = grove_pncounter_get(v, &n);
		if (rc == 0)
			rc = grove_db_counter_add(db, dst, dlen, n, &n);
		break;
	case GROVE_TYPE_SET:
		for (size_t i = 0; rc == 0 && i < grove_orset_count(v); i++) {
			grove_orset_member(v, i, &a, &al);
			rc = grove_db_set_add(db, dst, dlen, a, al, &changed);
		}
		break;
	case GROVE_TYPE_MAP:
		for (size_t i = 0; rc == 0 && i < grove_lwwmap_count(v); i++) {
			grove_lwwmap_entry(v, i, &a, &al, &b, &bl);
			rc = grove_db_map_set(db, dst, dlen, a, al, b, bl, &changed);
		}
		break;
	default:
		break;
	}
	return rc;
}

/* The live value of key i, or NULL (absent, or a key that cannot exist).
 * A set or map is materialized: O(elements) memory. */
static int live_value(grove_cmd_call_t *c, size_t i, grove_value_t **v)
{
	*v = NULL;
	if (!grove_cmd__key_valid(c, i))
		return 0;
	int rc = grove_db_get(c->env->db, c->argv[i], c->argl[i], v);
	if (rc == GROVE_ENOTFOUND)
		return 0;
	if (rc == 0 && grove_value_type(*v) == GROVE_TYPE_NONE) {
		grove_value_destroy(*v);
		*v = NULL;
	}
	return rc;
}

/* A sorted set's members written under dst as this node's ZADDs. */
typedef struct zcopy {
	grove_db_t *db;
	const uint8_t *dst;
	size_t dlen;
	int rc;
} zcopy_t;

static int zcopy_member(void *ctx, const void *m, size_t ml, double score)
{
	zcopy_t *z = ctx;
	z->rc = grove_db_zset_add(z->db, z->dst, z->dlen, m, ml, score, 0, NULL, NULL);
	return z->rc ? -1 : 0;
}

static int zset_copy(grove_db_t *db, const grove_cmd_call_t *c)
{
	zcopy_t z = { .db = db, .dst = c->argv[2], .dlen = c->argl[2] };
	grove_zrange_t all = { .by = GROVE_ZRANGE_RANK, .start = 0, .stop = -1, .count = -1 };
	int rc = grove_db_zset_range(db, c->argv[1], c->argl[1], &all, zcopy_member, &z);
	return z.rc ? z.rc : rc;
}

/* Copies key 1 to key 2 (replace: an existing key 2 is deleted first),
 * then deletes key 1 if move.  Returns 1 when copied, 0 when key 2 exists
 * and !replace, GROVE_ENOTFOUND when key 1 is absent, or an error. */
static int copy_key(grove_cmd_call_t *c, bool replace, bool move)
{
	grove_db_t *db = c->env->db;
	grove_value_t *src = NULL;
	grove_type_t stype = GROVE_TYPE_NONE; /* a sorted set or list is not materialized */
	int rc = grove_cmd__key_valid(c, 1) ? grove_db_type(db, c->argv[1], c->argl[1], &stype) : 0;
	bool zsrc = stype == GROVE_TYPE_ZSET, lsrc = stype == GROVE_TYPE_LIST;
	if (rc == 0 && !zsrc && !lsrc)
		rc = live_value(c, 1, &src);
	if (rc == 0 && !src && !zsrc && !lsrc)
		rc = GROVE_ENOTFOUND;
	grove_type_t dtype = GROVE_TYPE_NONE; /* the destination's type only */
	if (rc == 0 && grove_cmd__key_valid(c, 2))
		rc = grove_db_type(db, c->argv[2], c->argl[2], &dtype);
	if (rc < 0) {
		grove_value_destroy(src);
		return rc;
	}
	bool same = c->argl[1] == c->argl[2] && memcmp(c->argv[1], c->argv[2], c->argl[1]) == 0;
	bool exists = dtype != GROVE_TYPE_NONE;
	if (same) { /* RENAME k k: nothing to do */
		grove_value_destroy(src);
		return 1;
	}
	if (exists && !replace) {
		grove_value_destroy(src);
		return 0;
	}
	bool existed;
	if (exists)
		rc = grove_db_delete(db, c->argv[2], c->argl[2], &existed);
	uint64_t at = 0;
	if (rc == 0 && grove_db_ttl(db, c->argv[1], c->argl[1], &at, NULL) != 0)
		at = 0;
	if (rc == 0)
		rc = zsrc   ? zset_copy(db, c)
		     : lsrc ? grove_cmd__list_copy(db, c->argv[1], c->argl[1], c->argv[2], c->argl[2])
			    : write_copy(db, c->argv[2], c->argl[2], src);
	bool set;
	if (rc == 0 && at)
		rc = grove_db_expire(db, c->argv[2], c->argl[2], at, 0, &set);
	if (rc == 0 && move)
		rc = grove_db_delete(db, c->argv[1], c->argl[1], &existed);
	grove_value_destroy(src);
	return rc < 0 ? rc : 1;
}

/* RENAME (nx false) and RENAMENX (nx true). */
static void rename_key(grove_cmd_call_t *c, bool nx)
{
	if (!grove_cmd__key_writable(c, 2))
		return;
	grove_cmd__lock_exclusive(c);
	int rc = copy_key(c, !nx, true);
	if (rc == GROVE_ENOTFOUND)
		grove_resp_error(c->out, "ERR no such key");
	else if (rc < 0)
		grove_cmd_reply_db_error(c, rc);
	else if (nx)
		grove_resp_int(c->out, rc);
	else
		grove_resp_simple(c->out, "OK");
}

void grove_cmd_do_rename(grove_cmd_call_t *c)
{
	rename_key(c, false);
}

void grove_cmd_do_renamenx(grove_cmd_call_t *c)
{
	if (c->argl[1] == c->argl[2] && memcmp(c->argv[1], c->argv[2], c->argl[1]) == 0) {
		grove_value_t *v = NULL; /* RENAMENX k k: 0 if k exists, as Redis */
		grove_type_t t = GROVE_TYPE_NONE;
		int rc = grove_cmd__key_valid(c, 1) ? grove_db_type(c->env->db, c->argv[1], c->argl[1],
								     &t)
						    : 0;
		bool elems = t == GROVE_TYPE_ZSET || t == GROVE_TYPE_LIST; /* not materialized */
		if (rc == 0 && !elems)
			rc = live_value(c, 1, &v);
		if (rc < 0)
			grove_cmd_reply_db_error(c, rc);
		else if (!v && !elems)
			grove_resp_error(c->out, "ERR no such key");
		else
			grove_resp_int(c->out, 0);
		grove_value_destroy(v);
		return;
	}
	rename_key(c, true);
}

/* COPY source destination [DB 0] [REPLACE]. */
void grove_cmd_do_copy(grove_cmd_call_t *c)
{
	bool replace = false;
	for (size_t i = 3; i < c->argc; i++) {
		long long db;
		if (grove_cmd_arg_is(c, i, "replace")) {
			replace = true;
		} else if (grove_cmd_arg_is(c, i, "db") && i + 1 < c->argc) {
			if (!grove_cmd_arg_ll(c, ++i, &db))
				return;
			if (db != 0) {
				grove_resp_error(c->out, "ERR DB index is out of range");
				return;
			}
		} else {
			grove_cmd_reply_syntax(c);
			return;
		}
	}
	if (c->argl[1] == c->argl[2] && memcmp(c->argv[1], c->argv[2], c->argl[1]) == 0) {
		grove_resp_error(c->out, "ERR source and destination objects are the same");
		return;
	}
	if (!grove_cmd__key_writable(c, 2))
		return;
	grove_cmd__lock_exclusive(c);
	int rc = copy_key(c, replace, false);
	if (rc == GROVE_ENOTFOUND)
		grove_resp_int(c->out, 0);
	else if (rc < 0)
		grove_cmd_reply_db_error(c, rc);
	else
		grove_resp_int(c->out, rc);
}
