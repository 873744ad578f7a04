/*
 * resp_cmd_multi.c - transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH,
 * with Redis 7's replies and error texts.
 *
 * MULTI.  After MULTI every command except EXEC, DISCARD, MULTI and WATCH
 * is checked (it exists, its arity, AUTH) and queued, and answers QUEUED; a
 * command refused at that point answers its error and marks the
 * transaction so that EXEC answers EXECABORT and runs nothing.  A queued
 * command owns a copy of its arguments (the request bytes belong to the
 * connection's parser).  The queue is bounded: GROVE_MULTI_QUEUE_MAX
 * commands and GROVE_MULTI_QUEUE_BYTES_MAX bytes; past either, the command
 * answers an error and the transaction is doomed the same way, as is a
 * BACKUP (its snapshot would outlive EXEC's store transaction).
 *
 * EXEC.  Runs on the loop thread (GROVE_CMD_LOOP), holding env->exec_lock
 * for writing (grove_cmd__lock_exclusive), so that no other command of any client, on the loop or on
 * a worker thread, runs between two of its commands: the queue is atomic
 * on this node.  The queue runs inside one store transaction
 * (grove_db_txn_begin/_commit): each queued write is applied under its key
 * lock and staged, later commands of the queue read it, and at the end
 * every staged record goes to the store as ONE write batch, durable per
 * the durability mode (one fsync in batch and always) before EXEC's reply
 * is produced: after a crash all of an acknowledged EXEC is there, and of
 * an unacknowledged one all or nothing.  Each write replicates on its own,
 * so another node may see part of a transaction before the rest:
 * atomicity is per node, not cluster-wide.  A command
 * that fails while running (WRONGTYPE...) answers its error inside EXEC's
 * array and the others still run, as in Redis.
 *
 * WATCH.  A watched key is remembered with a digest of its head item state
 * (grove_db_item_state; absent is its own value), which covers a
 * collection's elements through their count and hash sum.  Every change of
 * the state changes it - a local write carries a new HLC timestamp, a
 * merge that brings news changes the state - so EXEC
 * compares the digests again and answers a nil array, running nothing,
 * when a watched key was changed on this node by anyone (this connection
 * included) since WATCH, whether by a local write or by a merged remote
 * one.  A merge that brings nothing new leaves the digest, and the
 * transaction, alone.  Cost: one head read and hash per watched key at
 * WATCH and at EXEC, whatever the collection's size.  At most
 * GROVE_WATCH_KEYS_MAX keys per connection.
 */
#include <string.h>

#include <sodium.h>

#include "base/assert.h"
#include "base/buf.h"
#include "grove/alloc.h"
#include "node/resp_commands_int.h"

#define WATCH_DIGEST_BYTES 16

struct grove_cmd_queued {
	const grove_cmd_t *cmd;
	size_t argc;
	size_t bytes;       /* accounted against GROVE_MULTI_QUEUE_BYTES_MAX */
	size_t *argl;       /* argc lengths, then argc pointers, then the bytes */
	const uint8_t **argv;
};

struct grove_cmd_watch {
	uint8_t *key;
	size_t klen;
	bool present; /* the key had a stored state */
	uint8_t digest[WATCH_DIGEST_BYTES];
};

/* ---- the queue ---- */

/* One allocation holding the command's lengths, pointers and bytes. */
static grove_cmd_queued_t *queued_new(const grove_cmd_call_t *c, const grove_cmd_t *cmd)
{
	size_t data = 0;
	for (size_t i = 0; i < c->argc; i++)
		data += c->argl[i];
	size_t head = sizeof(grove_cmd_queued_t) + c->argc * (sizeof(size_t) + sizeof(uint8_t *));
	grove_cmd_queued_t *q = grove_malloc(head + data);
	if (!q)
		return NULL;
	q->cmd = cmd;
	q->argc = c->argc;
	q->bytes = head + data;
	q->argl = (size_t *)(q + 1);
	q->argv = (const uint8_t **)(q->argl + c->argc);
	uint8_t *p = (uint8_t *)(q->argv + c->argc);
	for (size_t i = 0; i < c->argc; i++) {
		q->argl[i] = c->argl[i];
		if (c->argl[i])
			memcpy(p, c->argv[i], c->argl[i]);
		q->argv[i] = p;
		p += c->argl[i];
	}
	return q;
}

/* Refuses the command and dooms the transaction. */
static void queue_refuse(grove_cmd_call_t *c, const char *why)
{
	c->client->multi_dirty = true;
	grove_resp_errorf(c->out, "ERR %s; the transaction is discarded at EXEC", why);
}

void grove_cmd__multi_queue(grove_cmd_call_t *c, const grove_cmd_t *cmd)
{
	grove_cmd_client_t *cl = c->client;
	GROVE_ASSERT(cl->in_multi);
	if (cmd->fn == grove_cmd_do_backup) { /* its snapshot would outlive EXEC's transaction */
		queue_refuse(c, "BACKUP inside MULTI is not allowed");
		return;
	}
	if (cl->queue_n >= GROVE_MULTI_QUEUE_MAX) {
		queue_refuse(c, "transaction too long: at most 100000 commands between MULTI "
				"and EXEC (GROVE_MULTI_QUEUE_MAX)");
		return;
	}
	if (grove_grow((void **)&cl->queue, &cl->queue_cap, cl->queue_n + 1, sizeof(*cl->queue), 16,
		       GROVE_MULTI_QUEUE_MAX) < 0) {
		queue_refuse(c, "out of memory queueing the command");
		return;
	}
	grove_cmd_queued_t *q = queued_new(c, cmd);
	if (!q) {
		queue_refuse(c, "out of memory queueing the command");
		return;
	}
	if (cl->queue_bytes + q->bytes > GROVE_MULTI_QUEUE_BYTES_MAX) {
		grove_free(q);
		queue_refuse(c, "transaction too large: at most 64 MiB of queued commands "
				"(GROVE_MULTI_QUEUE_BYTES_MAX)");
		return;
	}
	cl->queue[cl->queue_n++] = q;
	cl->queue_bytes += q->bytes;
	grove_resp_simple(c->out, "QUEUED");
}

void grove_cmd__multi_reset(grove_cmd_client_t *client)
{
	for (size_t i = 0; i < client->queue_n; i++)
		grove_free(client->queue[i]);
	client->queue_n = 0;
	client->queue_bytes = 0;
	client->in_multi = false;
	client->multi_dirty = false;
	if (client->queue_cap > 64) { /* give back a long transaction's room */
		grove_free(client->queue);
		client->queue = NULL;
		client->queue_cap = 0;
	}
}

/* ---- watched keys ---- */

/* The digest of a key's head item state (grove_db_item_state of name
 * 0x00 + key): a counter's or register's whole state, a collection's head
 * with its element count and the sum of its element items' hashes, so any
 * change of any element changes it.  O(1) store reads whatever the size.
 * *present false when the key has no head; keys that cannot be stored
 * (empty, too long) are simply absent. */
static int state_digest(grove_db_t *db, const uint8_t *key, size_t klen, bool *present,
			uint8_t digest[WATCH_DIGEST_BYTES])
{
	memset(digest, 0, WATCH_DIGEST_BYTES);
	*present = false;
	if (klen == 0 || klen > GROVE_KEY_MAX)
		return 0;
	uint8_t name[1 + GROVE_KEY_MAX];
	name[0] = GROVE_ITEM_HEAD;
	memcpy(name + 1, key, klen);
	uint8_t *state = NULL;
	size_t len = 0;
	int rc = grove_db_item_state(db, name, klen + 1, &state, &len);
	if (rc == GROVE_ENOTFOUND)
		return 0;
	if (rc < 0)
		return rc;
	crypto_generichash(digest, WATCH_DIGEST_BYTES, state, len, NULL, 0);
	grove_free(state);
	*present = true;
	return 0;
}

void grove_cmd__unwatch_all(grove_cmd_client_t *client)
{
	for (size_t i = 0; i < client->watch_n; i++)
		grove_free(client->watch[i].key);
	client->watch_n = 0;
}

static bool watching(const grove_cmd_client_t *cl, const uint8_t *key, size_t klen)
{
	for (size_t i = 0; i < cl->watch_n; i++)
		if (cl->watch[i].klen == klen && memcmp(cl->watch[i].key, key, klen) == 0)
			return true;
	return false;
}

/* Adds one key; replies with an error and returns false on failure. */
static bool watch_add(grove_cmd_call_t *c, size_t i)
{
	grove_cmd_client_t *cl = c->client;
	if (watching(cl, c->argv[i], c->argl[i]))
		return true;
	if (cl->watch_n >= GROVE_WATCH_KEYS_MAX) {
		grove_resp_error(c->out, "ERR too many watched keys: at most 1024 per connection "
					 "(GROVE_WATCH_KEYS_MAX)");
		return false;
	}
	if (grove_grow((void **)&cl->watch, &cl->watch_cap, cl->watch_n + 1, sizeof(*cl->watch), 8,
		       GROVE_WATCH_KEYS_MAX) < 0)
		goto out_nomem;
	grove_cmd_watch_t *w = &cl->watch[cl->watch_n];
	int rc = state_digest(c->env->db, c->argv[i], c->argl[i], &w->present, w->digest);
	if (rc < 0) {
		grove_cmd_reply_db_error(c, rc);
		return false;
	}
	w->key = grove_malloc(c->argl[i] ? c->argl[i] : 1);
	if (!w->key)
		goto out_nomem;
	if (c->argl[i])
		memcpy(w->key, c->argv[i], c->argl[i]);
	w->klen = c->argl[i];
	cl->watch_n++;
	return true;
out_nomem:
	grove_resp_error(c->out, "ERR out of memory");
	return false;
}

/* Whether any watched key's state differs from when it was watched (a
 * read error counts as a change: the transaction must not run blind). */
static bool watched_changed(grove_cmd_call_t *c)
{
	for (size_t i = 0; i < c->client->watch_n; i++) {
		const grove_cmd_watch_t *w = &c->client->watch[i];
		bool present;
		uint8_t d[WATCH_DIGEST_BYTES];
		if (state_digest(c->env->db, w->key, w->klen, &present, d) < 0)
			return true;
		if (present != w->present || memcmp(d, w->digest, sizeof(d)) != 0)
			return true;
	}
	return false;
}

/* ---- commands ---- */

void grove_cmd_do_multi(grove_cmd_call_t *c)
{
	if (c->client->in_multi) {
		grove_resp_error(c->out, "ERR MULTI calls can not be nested");
		return;
	}
	c->client->in_multi = true;
	c->client->multi_dirty = false;
	grove_resp_simple(c->out, "OK");
}

void grove_cmd_do_discard(grove_cmd_call_t *c)
{
	if (!c->client->in_multi) {
		grove_resp_error(c->out, "ERR DISCARD without MULTI");
		return;
	}
	grove_cmd__multi_reset(c->client);
	grove_cmd__unwatch_all(c->client);
	grove_resp_simple(c->out, "OK");
}

void grove_cmd_do_watch(grove_cmd_call_t *c)
{
	if (c->client->in_multi) {
		grove_resp_error(c->out, "ERR WATCH inside MULTI is not allowed");
		return;
	}
	for (size_t i = 1; i < c->argc; i++)
		if (!watch_add(c, i))
			return;
	grove_resp_simple(c->out, "OK");
}

void grove_cmd_do_unwatch(grove_cmd_call_t *c)
{
	grove_cmd__unwatch_all(c->client);
	grove_resp_simple(c->out, "OK");
}

/* Runs the queue under the exclusive lock inside one store transaction;
 * the replies form one array, sent only if the transaction's write
 * succeeded (else an error replaces them: nothing is claimed). */
static void exec_queue(grove_cmd_call_t *c)
{
	grove_cmd_client_t *cl = c->client;
	grove_db_t *db = c->env->db;
	int rc = grove_db_txn_begin(db);
	if (rc) {
		grove_cmd_reply_db_error(c, rc);
		return;
	}
	size_t mark = c->out->len;
	grove_resp_array(c->out, cl->queue_n);
	for (size_t i = 0; i < cl->queue_n; i++) {
		const grove_cmd_queued_t *q = cl->queue[i];
		grove_cmd_call_t sub = {
			.env = c->env, .client = cl, .argc = q->argc, .argv = q->argv,
			.argl = q->argl, .out = c->out, .result = 0, .lock = c->lock,
		};
		grove_cmd__run(&sub, q->cmd);
		c->result |= sub.result;
	}
	rc = grove_db_txn_commit(db);
	if (rc) {
		c->out->len = mark;
		grove_resp_errorf(c->out, "ERR EXEC's store write failed (%s): the node refuses "
				  "writes until restarted; none of the transaction's replies "
				  "is valid", grove_strerror(rc));
	}
}

void grove_cmd_do_exec(grove_cmd_call_t *c)
{
	grove_cmd_client_t *cl = c->client;
	if (!cl->in_multi) {
		grove_resp_error(c->out, "ERR EXEC without MULTI");
		return;
	}
	if (cl->multi_dirty) {
		grove_resp_error(c->out, "EXECABORT Transaction discarded because of previous errors.");
	} else {
		grove_cmd__lock_exclusive(c);
		cl->in_multi = false; /* queued commands run as themselves */
		if (watched_changed(c))
			grove_buf_append(c->out, "*-1\r\n", 5);
		else
			exec_queue(c);
	}
	grove_cmd__multi_reset(cl);
	grove_cmd__unwatch_all(cl);
}
