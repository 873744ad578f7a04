/*
 * resp_commands_int.h - what the command implementation files (resp_commands.c,
 * resp_cmd_keys.c, resp_cmd_types.c, resp_cmd_server.c, resp_cmd_multi.c...)
 * share: the call context handed to every handler and the reply helpers for
 * common errors.  Not installed; nothing outside node/ includes it.
 */
#ifndef GROVE_COMMANDS_INT_H
#define GROVE_COMMANDS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/resp_commands.h"

typedef struct grove_cmd_call {
	grove_cmd_env_t *env;
	grove_cmd_client_t *client;
	size_t argc;
	const uint8_t *const *argv;
	const size_t *argl;
	grove_buf_t *out;
	unsigned result; /* GROVE_CMD_* bits */
	unsigned lock;   /* how env->exec_lock is held: GROVE_CMD_LOCK_* */
	/* the clock (grove_cmd__now_us) when the command starts, 0 when not
	 * read yet; grove_cmd__run leaves the time it ended here, so a run of
	 * requests reads the clock once per request, not twice */
	uint64_t now_us;
} grove_cmd_call_t;

#define GROVE_CMD_LOCK_READ 1
#define GROVE_CMD_LOCK_WRITE 2

typedef void (*grove_cmd_fn)(grove_cmd_call_t *c);

struct grove_cmd {
	const char *name;   /* lower case */
	int arity;          /* Redis convention: n exact, -n at least n */
	unsigned flags;
	grove_cmd_fn fn;
	const char *summary; /* for COMMAND DOCS and the README */
};

/* The table (resp_commands.c) and its size. */
extern const grove_cmd_t grove_cmd_table[];
extern const size_t grove_cmd_count;

/* Runs a looked-up, arity-checked command (no lock, no queueing): the
 * dispatcher and EXEC call it. */
void grove_cmd__run(grove_cmd_call_t *c, const grove_cmd_t *cmd);
/* Holds env->exec_lock for writing from here to the end of the command:
 * a read-then-write command (SETNX, APPEND, MSETNX, SET NX...) calls it
 * before reading, so no other command of this node runs in between.  A
 * no-op when already held so (inside EXEC).  It may wait for the commands
 * running on worker threads to finish. */
void grove_cmd__lock_exclusive(grove_cmd_call_t *c);

/* MULTI support (resp_cmd_multi.c): queues a checked command and replies
 * QUEUED (or an error that dooms the transaction); drops the queue and
 * leaves MULTI; forgets every watched key. */
void grove_cmd__multi_queue(grove_cmd_call_t *c, const grove_cmd_t *cmd);
void grove_cmd__multi_reset(grove_cmd_client_t *client);
void grove_cmd__unwatch_all(grove_cmd_client_t *client);

/* INFO counters (resp_cmd_info.c): records one command (cmd NULL: an
 * unknown one) whose reply starts at out->data[reply_at]; rejected: refused
 * before it ran.  Thread-safe.  _reset zeroes them (CONFIG RESETSTAT). */
uint64_t grove_cmd__now_us(void);
/* Replies an array of n simple strings (HELP texts). */
void grove_cmd__reply_lines(grove_cmd_call_t *c, const char *const *lines, size_t n);
void grove_cmd__stats_record(grove_cmd_env_t *env, const grove_cmd_t *cmd, const grove_buf_t *out,
			     size_t reply_at, uint64_t usec, bool rejected);
void grove_cmd__stats_reset(grove_cmd_env_t *env);
/* INFO sections of resp_cmd_info.c. */
void grove_cmd__info_memory(const grove_cmd_env_t *env, grove_buf_t *t);
void grove_cmd__info_persistence(const grove_cmd_env_t *env, grove_buf_t *t);
void grove_cmd__info_replication(const grove_cmd_env_t *env, grove_buf_t *t);
void grove_cmd__info_cpu(const grove_cmd_env_t *env, grove_buf_t *t);
void grove_cmd__info_keyspace(const grove_cmd_env_t *env, grove_buf_t *t);
void grove_cmd__info_commandstats(const grove_cmd_env_t *env, grove_buf_t *t);
void grove_cmd__info_errorstats(const grove_cmd_env_t *env, grove_buf_t *t);

/* Case-insensitive comparison of argument i with a lower-case word. */
bool grove_cmd_arg_is(const grove_cmd_call_t *c, size_t i, const char *word);
/* Strict Redis integer parse of argument i (no spaces, no '+', no leading
 * zeros).  On failure replies "ERR value is not an integer or out of
 * range" and returns false. */
bool grove_cmd_arg_ll(grove_cmd_call_t *c, size_t i, long long *out);
/* The same parse without a reply. */
bool grove_cmd__parse_ll(const uint8_t *s, size_t n, long long *out);
/* Replies for a db error code (WRONGTYPE, overflow, I/O...). */
void grove_cmd_reply_db_error(grove_cmd_call_t *c, int rc);
void grove_cmd_reply_syntax(grove_cmd_call_t *c);
/* Whether argument i can be a stored key (1..GROVE_KEY_MAX bytes).  Reads
 * treat any other key as absent; writes call grove_cmd__key_writable,
 * which replies an error naming the limit and returns false. */
bool grove_cmd__key_valid(const grove_cmd_call_t *c, size_t i);
/* APPEND / SETRANGE / SETBIT past GROVE_REGISTER_VALUE_MAX. */
void grove_cmd__reply_value_too_big(grove_cmd_call_t *c);
bool grove_cmd__key_writable(grove_cmd_call_t *c, size_t i);

/* Handlers, by file. */
void grove_cmd_do_get(grove_cmd_call_t *c);
void grove_cmd_do_set(grove_cmd_call_t *c);
void grove_cmd_do_del(grove_cmd_call_t *c);
void grove_cmd_do_exists(grove_cmd_call_t *c);
void grove_cmd_do_type(grove_cmd_call_t *c);
void grove_cmd_do_keys(grove_cmd_call_t *c);
void grove_cmd_do_scan(grove_cmd_call_t *c);
void grove_cmd_do_dbsize(grove_cmd_call_t *c);

void grove_cmd_do_incr(grove_cmd_call_t *c);
void grove_cmd_do_decr(grove_cmd_call_t *c);
void grove_cmd_do_incrby(grove_cmd_call_t *c);
void grove_cmd_do_decrby(grove_cmd_call_t *c);
void grove_cmd_do_sadd(grove_cmd_call_t *c);
void grove_cmd_do_srem(grove_cmd_call_t *c);
void grove_cmd_do_smembers(grove_cmd_call_t *c);
void grove_cmd_do_sismember(grove_cmd_call_t *c);
void grove_cmd_do_scard(grove_cmd_call_t *c);
void grove_cmd_do_sscan(grove_cmd_call_t *c);
void grove_cmd_do_hscan(grove_cmd_call_t *c);
/* SCAN-style cursors (resp_cmd_keys.c): a resume key under a fresh id
 * (takes key), and the slot of a live id (NULL: unknown or expired). */
uint64_t grove_cmd__cursor_put(grove_cmd_env_t *env, uint8_t *key, size_t klen);
struct grove_scan_cursor *grove_cmd__cursor_get(grove_cmd_env_t *env, long long cursor);
/* A cursor argument as Redis parses it: an unsigned 64-bit decimal. */
bool grove_cmd__parse_cursor(const uint8_t *s, size_t n, uint64_t *out);
/* SSCAN/HSCAN/ZSCAN's [MATCH p] [COUNT n] from argv[from]: *pattern stays
 * as given without MATCH; *count is capped at GROVE_SCAN_COUNT_MAX.
 * Replies and returns false on a bad option. */
bool grove_cmd__scan_match_count(grove_cmd_call_t *c, size_t from, const uint8_t **pattern,
				 size_t *plen, long long *count);
/* Sets beyond the basics (resp_cmd_sets.c). */
void grove_cmd_do_smismember(grove_cmd_call_t *c);
void grove_cmd_do_srandmember(grove_cmd_call_t *c);
void grove_cmd_do_spop(grove_cmd_call_t *c);
void grove_cmd_do_smove(grove_cmd_call_t *c);
void grove_cmd_do_sinter(grove_cmd_call_t *c);
void grove_cmd_do_sunion(grove_cmd_call_t *c);
void grove_cmd_do_sdiff(grove_cmd_call_t *c);
void grove_cmd_do_sinterstore(grove_cmd_call_t *c);
void grove_cmd_do_sunionstore(grove_cmd_call_t *c);
void grove_cmd_do_sdiffstore(grove_cmd_call_t *c);
void grove_cmd_do_sintercard(grove_cmd_call_t *c);
/* A random pick of a collection (resp_cmd_sets.c): the element and its
 * value (hash fields; empty for members) in one allocation at elem. */
typedef struct grove_cmd_pick {
	uint8_t *elem;
	size_t elen;
	const uint8_t *val;
	size_t vlen;
} grove_cmd_pick_t;
/* count > 0: min(count, size) distinct elements; count < 0: -count
 * elements drawn uniformly with repetition; in random order.  One pass
 * over the elements (stopping once the picks are made): O(size) store
 * reads, O(count) memory.  An absent key: none.  *out: free with
 * grove_cmd__picks_free. */
int grove_cmd__coll_sample(grove_db_t *db, const uint8_t *key, size_t klen, grove_type_t type,
			   long long count, grove_cmd_pick_t **out, size_t *out_n) GROVE_MUST_CHECK;
void grove_cmd__picks_free(grove_cmd_pick_t *picks, size_t n);
/* Replies picks: one bulk (nil if none) when single, else an array (of
 * name, value pairs when values). */
void grove_cmd__reply_picks(grove_cmd_call_t *c, const grove_cmd_pick_t *picks, size_t n,
			    bool single, bool values);
/* The count argument i of SRANDMEMBER / HRANDFIELD (positive: SPOP's, no
 * negative); false after an error reply. */
bool grove_cmd__rand_count(grove_cmd_call_t *c, size_t i, bool positive, long long *count);
/* Hashes beyond the basics, INCRBYFLOAT, Redis's float text
 * (resp_cmd_hash.c). */
void grove_cmd_do_hmget(grove_cmd_call_t *c);
void grove_cmd_do_hsetnx(grove_cmd_call_t *c);
void grove_cmd_do_hstrlen(grove_cmd_call_t *c);
void grove_cmd_do_hrandfield(grove_cmd_call_t *c);
void grove_cmd_do_hincrby(grove_cmd_call_t *c);
void grove_cmd_do_hincrbyfloat(grove_cmd_call_t *c);
/* Redis's string2ld: no spaces, no NaN, no overflow; at most 5 KiB. */
bool grove_cmd__parse_ld(const uint8_t *s, size_t n, long double *out);
/* Redis's ld2string "human" form (%.17Lf, trailing zeros cut, "-0" as
 * "0") of a finite v into buf (cap >= 64, NUL-terminated); its length. */
size_t grove_cmd__format_ld(char *buf, size_t cap, long double v);
void grove_cmd_do_hset(grove_cmd_call_t *c);
void grove_cmd_do_hget(grove_cmd_call_t *c);
void grove_cmd_do_hdel(grove_cmd_call_t *c);
void grove_cmd_do_hgetall(grove_cmd_call_t *c);
void grove_cmd_do_hkeys(grove_cmd_call_t *c);
void grove_cmd_do_hvals(grove_cmd_call_t *c);
void grove_cmd_do_hlen(grove_cmd_call_t *c);
void grove_cmd_do_hexists(grove_cmd_call_t *c);

/* Lists (resp_cmd_list.c). */
void grove_cmd_do_lpush(grove_cmd_call_t *c);
void grove_cmd_do_rpush(grove_cmd_call_t *c);
void grove_cmd_do_lpushx(grove_cmd_call_t *c);
void grove_cmd_do_rpushx(grove_cmd_call_t *c);
void grove_cmd_do_lpop(grove_cmd_call_t *c);
void grove_cmd_do_rpop(grove_cmd_call_t *c);
void grove_cmd_do_llen(grove_cmd_call_t *c);
void grove_cmd_do_lrange(grove_cmd_call_t *c);
void grove_cmd_do_lindex(grove_cmd_call_t *c);
void grove_cmd_do_lpos(grove_cmd_call_t *c);
void grove_cmd_do_lset(grove_cmd_call_t *c);
void grove_cmd_do_linsert(grove_cmd_call_t *c);
void grove_cmd_do_lrem(grove_cmd_call_t *c);
void grove_cmd_do_ltrim(grove_cmd_call_t *c);
void grove_cmd_do_lmove(grove_cmd_call_t *c);
void grove_cmd_do_rpoplpush(grove_cmd_call_t *c);
/* Appends every element of list src to list dst (RENAME, COPY). */
int grove_cmd__list_copy(grove_db_t *db, const uint8_t *src, size_t slen, const uint8_t *dst,
			 size_t dlen);
/* Sorted sets (resp_cmd_zset.c). */
void grove_cmd_do_zadd(grove_cmd_call_t *c);
void grove_cmd_do_zincrby(grove_cmd_call_t *c);
void grove_cmd_do_zrem(grove_cmd_call_t *c);
void grove_cmd_do_zscore(grove_cmd_call_t *c);
void grove_cmd_do_zmscore(grove_cmd_call_t *c);
void grove_cmd_do_zcard(grove_cmd_call_t *c);
void grove_cmd_do_zcount(grove_cmd_call_t *c);
void grove_cmd_do_zlexcount(grove_cmd_call_t *c);
void grove_cmd_do_zrange(grove_cmd_call_t *c);
void grove_cmd_do_zrangebyscore(grove_cmd_call_t *c);
void grove_cmd_do_zrevrangebyscore(grove_cmd_call_t *c);
void grove_cmd_do_zrangebylex(grove_cmd_call_t *c);
void grove_cmd_do_zrevrangebylex(grove_cmd_call_t *c);
void grove_cmd_do_zrevrange(grove_cmd_call_t *c);
void grove_cmd_do_zrank(grove_cmd_call_t *c);
void grove_cmd_do_zrevrank(grove_cmd_call_t *c);
void grove_cmd_do_zpopmin(grove_cmd_call_t *c);
void grove_cmd_do_zpopmax(grove_cmd_call_t *c);
void grove_cmd_do_zremrangebyscore(grove_cmd_call_t *c);
void grove_cmd_do_zremrangebyrank(grove_cmd_call_t *c);
void grove_cmd_do_zremrangebylex(grove_cmd_call_t *c);
void grove_cmd_do_zrandmember(grove_cmd_call_t *c);
void grove_cmd_do_zscan(grove_cmd_call_t *c);

void grove_cmd_do_info(grove_cmd_call_t *c);
void grove_cmd_do_config(grove_cmd_call_t *c);
void grove_cmd_do_command(grove_cmd_call_t *c);
void grove_cmd_do_client(grove_cmd_call_t *c);
void grove_cmd_do_grove(grove_cmd_call_t *c);
void grove_cmd_do_wait(grove_cmd_call_t *c);
/* resp_cmd_backup.c */
void grove_cmd_do_backup(grove_cmd_call_t *c);
void grove_cmd_do_mergeitem(grove_cmd_call_t *c);

void grove_cmd_do_getset(grove_cmd_call_t *c);
void grove_cmd_do_mget(grove_cmd_call_t *c);
void grove_cmd_do_mset(grove_cmd_call_t *c);
void grove_cmd_do_msetnx(grove_cmd_call_t *c);
void grove_cmd_do_setnx(grove_cmd_call_t *c);
void grove_cmd_do_getdel(grove_cmd_call_t *c);
void grove_cmd_do_append(grove_cmd_call_t *c);
void grove_cmd_do_setrange(grove_cmd_call_t *c);
void grove_cmd_do_strlen(grove_cmd_call_t *c);
void grove_cmd_do_getrange(grove_cmd_call_t *c);
void grove_cmd_do_getex(grove_cmd_call_t *c);
void grove_cmd_do_ttl(grove_cmd_call_t *c);
void grove_cmd_do_persist(grove_cmd_call_t *c);
void grove_cmd_do_expire(grove_cmd_call_t *c);
void grove_cmd_do_setex(grove_cmd_call_t *c);
/* Expiry (resp_cmd_expire.c): the db's clock; the deadline of a SET /
 * GETEX / SETEX time argument i (seconds or ms, relative to now or
 * absolute), with Redis's "invalid expire time in 'cmd' command". */
uint64_t grove_cmd__now_ms(grove_cmd_call_t *c);
bool grove_cmd__expire_ms(grove_cmd_call_t *c, size_t i, bool seconds, bool relative,
			  const char *cmd, uint64_t *at_ms);
void grove_cmd_do_incrbyfloat(grove_cmd_call_t *c);

void grove_cmd_do_getbit(grove_cmd_call_t *c);
void grove_cmd_do_setbit(grove_cmd_call_t *c);
void grove_cmd_do_bitcount(grove_cmd_call_t *c);
void grove_cmd_do_bitpos(grove_cmd_call_t *c);
void grove_cmd_do_lcs(grove_cmd_call_t *c);
void grove_cmd_do_flushdb(grove_cmd_call_t *c);
void grove_cmd_do_randomkey(grove_cmd_call_t *c);
void grove_cmd_do_object(grove_cmd_call_t *c); /* resp_cmd_object.c */
/* resp_cmd_monitor.c: MONITOR, and the line of an executed command
 * handed to the monitors (a no-op while none is connected). */
void grove_cmd_do_monitor(grove_cmd_call_t *c);
void grove_cmd__monitor_feed(grove_cmd_call_t *c, const grove_cmd_t *cmd);
void grove_cmd_do_rename(grove_cmd_call_t *c);
void grove_cmd_do_renamenx(grove_cmd_call_t *c);
void grove_cmd_do_copy(grove_cmd_call_t *c);

void grove_cmd_do_multi(grove_cmd_call_t *c);
void grove_cmd_do_exec(grove_cmd_call_t *c);
void grove_cmd_do_discard(grove_cmd_call_t *c);
void grove_cmd_do_watch(grove_cmd_call_t *c);
void grove_cmd_do_unwatch(grove_cmd_call_t *c);

#endif
