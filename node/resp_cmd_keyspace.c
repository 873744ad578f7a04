/*
 * resp_cmd_keyspace.c - whole-keyspace commands: FLUSHDB, FLUSHALL and
 * RANDOMKEY (UNLINK and TOUCH share DEL's and EXISTS's handlers).
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
