/*
 * resp_commands.c - the command table, dispatch (lookup, arity, AUTH gate,
 * MULTI queueing, the EXEC lock) and the connection commands: PING, ECHO,
 * QUIT, AUTH, SELECT, HELLO.
 *
 * Data commands live in resp_cmd_keys.c and resp_cmd_types.c, server and cluster
 * commands in resp_cmd_server.c, transactions in resp_cmd_multi.c.  Replies and error texts follow Redis 7 so
 * that clients which match on them (redis-cli, client libraries) behave.
 */
#include "node/resp_commands.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "grove/alloc.h"
#include "grove/backup.h"
#include "base/assert.h"
#include "base/num.h"
#include "node/resp_commands_int.h"

static void cmd_ping(grove_cmd_call_t *c);
static void cmd_echo(grove_cmd_call_t *c);
static void cmd_quit(grove_cmd_call_t *c);
static void cmd_auth(grove_cmd_call_t *c);
static void cmd_select(grove_cmd_call_t *c);
static void cmd_hello(grove_cmd_call_t *c);

#define W GROVE_CMD_WRITE
#define L GROVE_CMD_LOOP
#define N GROVE_CMD_NOAUTH
#define Q GROVE_CMD_NOQUEUE
#define D GROVE_CMD_DEFER

const grove_cmd_t grove_cmd_table[] = {
	{"ping", -1, 0, cmd_ping, "PING [message]: PONG, or the message"},
	{"echo", 2, 0, cmd_echo, "ECHO message"},
	{"quit", -1, L | N, cmd_quit, "QUIT: reply OK and close"},
	{"auth", -2, L | N, cmd_auth, "AUTH [default] password"},
	{"select", 2, 0, cmd_select, "SELECT 0 (the only database)"},
	{"hello", -1, L | N, cmd_hello, "HELLO [2 [AUTH default pw] [SETNAME name]]"},
	{"client", -2, L, grove_cmd_do_client, "CLIENT SETNAME|GETNAME|ID|INFO|LIST|SETINFO"},
	{"command", -1, 0, grove_cmd_do_command, "COMMAND [COUNT|DOCS|INFO|LIST]"},
	{"config", -2, L, grove_cmd_do_config, "CONFIG GET pattern | RESETSTAT"},
	{"info", -1, L, grove_cmd_do_info, "INFO [section ...]"},
	{"get", 2, 0, grove_cmd_do_get, "GET key: register value, or counter value"},
	{"set", -3, W | D, grove_cmd_do_set, "SET key value [NX|XX] [GET] [EX s|PX ms|EXAT t|PXAT t|KEEPTTL]: LWW register write; without KEEPTTL removes the TTL it saw"},
	{"del", -2, W, grove_cmd_do_del, "DEL key ...: observed-remove delete"},
	{"exists", -2, 0, grove_cmd_do_exists, "EXISTS key ..."},
	{"type", 2, 0, grove_cmd_do_type, "TYPE key: string|set|hash|zset|list|none"},
	{"keys", 2, 0, grove_cmd_do_keys, "KEYS pattern"},
	{"scan", -2, L, grove_cmd_do_scan, "SCAN cursor [MATCH p] [COUNT n] [TYPE t]"},
	{"dbsize", 1, 0, grove_cmd_do_dbsize, "DBSIZE"},
	{"incr", 2, W | D, grove_cmd_do_incr, "INCR key: PN-counter +1"},
	{"decr", 2, W | D, grove_cmd_do_decr, "DECR key: PN-counter -1"},
	{"incrby", 3, W | D, grove_cmd_do_incrby, "INCRBY key n"},
	{"decrby", 3, W | D, grove_cmd_do_decrby, "DECRBY key n"},
	{"sadd", -3, W | D, grove_cmd_do_sadd, "SADD key member ...: add-wins set"},
	{"srem", -3, W | D, grove_cmd_do_srem, "SREM key member ..."},
	{"smembers", 2, 0, grove_cmd_do_smembers, "SMEMBERS key"},
	{"sismember", 3, 0, grove_cmd_do_sismember, "SISMEMBER key member"},
	{"scard", 2, 0, grove_cmd_do_scard, "SCARD key"},
	{"smismember", -3, 0, grove_cmd_do_smismember, "SMISMEMBER key member ..."},
	{"srandmember", -2, 0, grove_cmd_do_srandmember, "SRANDMEMBER key [count]: O(n) selection pass"},
	{"spop", -2, W, grove_cmd_do_spop, "SPOP key [count]: random members, observed-remove on this node"},
	{"smove", 4, W, grove_cmd_do_smove, "SMOVE source destination member: SREM + SADD on this node"},
	{"sinter", -2, 0, grove_cmd_do_sinter, "SINTER key ...: streams the smallest set"},
	{"sunion", -2, 0, grove_cmd_do_sunion, "SUNION key ...: streams every set"},
	{"sdiff", -2, 0, grove_cmd_do_sdiff, "SDIFF key ...: streams the first set"},
	{"sinterstore", -3, W, grove_cmd_do_sinterstore, "SINTERSTORE destination key ...: DEL + SADD"},
	{"sunionstore", -3, W, grove_cmd_do_sunionstore, "SUNIONSTORE destination key ..."},
	{"sdiffstore", -3, W, grove_cmd_do_sdiffstore, "SDIFFSTORE destination key ..."},
	{"sintercard", -3, 0, grove_cmd_do_sintercard, "SINTERCARD numkeys key ... [LIMIT n]"},
	{"sscan", -3, 0, grove_cmd_do_sscan, "SSCAN key cursor [MATCH p] [COUNT n]"},
	{"hscan", -3, 0, grove_cmd_do_hscan, "HSCAN key cursor [MATCH p] [COUNT n]"},
	{"hset", -4, W | D, grove_cmd_do_hset, "HSET key field value ...: per-field LWW"},
	{"hget", 3, 0, grove_cmd_do_hget, "HGET key field"},
	{"hdel", -3, W | D, grove_cmd_do_hdel, "HDEL key field ..."},
	{"hgetall", 2, 0, grove_cmd_do_hgetall, "HGETALL key"},
	{"hkeys", 2, 0, grove_cmd_do_hkeys, "HKEYS key"},
	{"hvals", 2, 0, grove_cmd_do_hvals, "HVALS key"},
	{"hlen", 2, 0, grove_cmd_do_hlen, "HLEN key"},
	{"hexists", 3, 0, grove_cmd_do_hexists, "HEXISTS key field"},
	{"hmget", -3, 0, grove_cmd_do_hmget, "HMGET key field ..."},
	{"hsetnx", 4, W, grove_cmd_do_hsetnx, "HSETNX key field value: only if absent on this node"},
	{"hstrlen", 3, 0, grove_cmd_do_hstrlen, "HSTRLEN key field"},
	{"hrandfield", -2, 0, grove_cmd_do_hrandfield, "HRANDFIELD key [count [WITHVALUES]]: O(n) selection pass"},
	{"hincrby", 4, W, grove_cmd_do_hincrby, "HINCRBY key field n: counter field (concurrent increments add up)"},
	{"hincrbyfloat", 4, W, grove_cmd_do_hincrbyfloat, "HINCRBYFLOAT key field incr: integral on a counter field; else field read-modify-write (LWW)"},
	{"lpush", -3, W | D, grove_cmd_do_lpush, "LPUSH key element ...: sequence CRDT, see Lists"},
	{"rpush", -3, W | D, grove_cmd_do_rpush, "RPUSH key element ..."},
	{"lpushx", -3, W | D, grove_cmd_do_lpushx, "LPUSHX key element ...: only onto a list"},
	{"rpushx", -3, W | D, grove_cmd_do_rpushx, "RPUSHX key element ..."},
	{"lpop", -2, W | D, grove_cmd_do_lpop, "LPOP key [count]: observed-remove of the head"},
	{"rpop", -2, W | D, grove_cmd_do_rpop, "RPOP key [count]"},
	{"llen", 2, 0, grove_cmd_do_llen, "LLEN key"},
	{"lrange", 4, 0, grove_cmd_do_lrange, "LRANGE key start stop"},
	{"lindex", 3, 0, grove_cmd_do_lindex, "LINDEX key index"},
	{"lpos", -3, 0, grove_cmd_do_lpos, "LPOS key element [RANK r] [COUNT n] [MAXLEN len]"},
	{"lset", 4, W, grove_cmd_do_lset, "LSET key index element: LWW value of the element"},
	{"linsert", 5, W, grove_cmd_do_linsert, "LINSERT key BEFORE|AFTER pivot element"},
	{"lrem", 4, W, grove_cmd_do_lrem, "LREM key count element"},
	{"ltrim", 4, W, grove_cmd_do_ltrim, "LTRIM key start stop"},
	{"lmove", 5, W, grove_cmd_do_lmove, "LMOVE source destination LEFT|RIGHT LEFT|RIGHT"},
	{"rpoplpush", 3, W, grove_cmd_do_rpoplpush, "RPOPLPUSH source destination"},
	{"zadd", -4, W | D, grove_cmd_do_zadd, "ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member ...: sorted set"},
	{"zincrby", 4, W | D, grove_cmd_do_zincrby, "ZINCRBY key increment member: increments add up across nodes"},
	{"zrem", -3, W | D, grove_cmd_do_zrem, "ZREM key member ..."},
	{"zscore", 3, 0, grove_cmd_do_zscore, "ZSCORE key member"},
	{"zmscore", -3, 0, grove_cmd_do_zmscore, "ZMSCORE key member ..."},
	{"zcard", 2, 0, grove_cmd_do_zcard, "ZCARD key"},
	{"zcount", 4, 0, grove_cmd_do_zcount, "ZCOUNT key min max"},
	{"zlexcount", 4, 0, grove_cmd_do_zlexcount, "ZLEXCOUNT key min max"},
	{"zrange", -4, 0, grove_cmd_do_zrange, "ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT o c] [WITHSCORES]"},
	{"zrangebyscore", -4, 0, grove_cmd_do_zrangebyscore, "ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT o c]"},
	{"zrevrangebyscore", -4, 0, grove_cmd_do_zrevrangebyscore, "ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT o c]"},
	{"zrangebylex", -4, 0, grove_cmd_do_zrangebylex, "ZRANGEBYLEX key min max [LIMIT o c]"},
	{"zrevrangebylex", -4, 0, grove_cmd_do_zrevrangebylex, "ZREVRANGEBYLEX key max min [LIMIT o c]"},
	{"zrevrange", -4, 0, grove_cmd_do_zrevrange, "ZREVRANGE key start stop [WITHSCORES]"},
	{"zrank", 3, 0, grove_cmd_do_zrank, "ZRANK key member: O(rank)"},
	{"zrevrank", 3, 0, grove_cmd_do_zrevrank, "ZREVRANK key member: O(rank)"},
	{"zpopmin", -2, W, grove_cmd_do_zpopmin, "ZPOPMIN key [count]: removes what this node holds"},
	{"zpopmax", -2, W, grove_cmd_do_zpopmax, "ZPOPMAX key [count]"},
	{"zremrangebyscore", 4, W, grove_cmd_do_zremrangebyscore, "ZREMRANGEBYSCORE key min max"},
	{"zremrangebyrank", 4, W, grove_cmd_do_zremrangebyrank, "ZREMRANGEBYRANK key start stop"},
	{"zremrangebylex", 4, W, grove_cmd_do_zremrangebylex, "ZREMRANGEBYLEX key min max"},
	{"zrandmember", -2, 0, grove_cmd_do_zrandmember, "ZRANDMEMBER key [count [WITHSCORES]]"},
	{"zscan", -3, 0, grove_cmd_do_zscan, "ZSCAN key cursor [MATCH p] [COUNT n]"},
	{"grove", -2, L, grove_cmd_do_grove, "GROVE MEMBERS|DIGEST|SYNC|TYPE key"},
	{"wait", 3, L, grove_cmd_do_wait, "WAIT numreplicas timeout: peers known to hold this client's writes"},
	{"getset", 3, W, grove_cmd_do_getset, "GETSET key value: SET ... GET"},
	{"mget", -2, 0, grove_cmd_do_mget, "MGET key ...: nil for absent and non-string keys"},
	{"mset", -3, W, grove_cmd_do_mset, "MSET key value ...: all or none, atomic on this node"},
	{"msetnx", -3, W, grove_cmd_do_msetnx, "MSETNX key value ...: only if no key exists here"},
	{"setnx", 3, W, grove_cmd_do_setnx, "SETNX key value: only if absent on this node"},
	{"getdel", 2, W, grove_cmd_do_getdel, "GETDEL key: GET, then observed-remove delete"},
	{"append", 3, W, grove_cmd_do_append, "APPEND key value: register read-modify-write"},
	{"setrange", 4, W, grove_cmd_do_setrange, "SETRANGE key offset value"},
	{"strlen", 2, 0, grove_cmd_do_strlen, "STRLEN key"},
	{"getrange", 4, 0, grove_cmd_do_getrange, "GETRANGE key start end"},
	{"substr", 4, 0, grove_cmd_do_getrange, "SUBSTR key start end (= GETRANGE)"},
	{"getex", -2, W, grove_cmd_do_getex, "GETEX key [EX s|PX ms|EXAT t|PXAT t|PERSIST]: GET, then the TTL changed"},
	{"ttl", 2, 0, grove_cmd_do_ttl, "TTL key: seconds left, -1 without TTL, -2 if absent"},
	{"pttl", 2, 0, grove_cmd_do_ttl, "PTTL key: milliseconds left, -1, -2"},
	{"expiretime", 2, 0, grove_cmd_do_ttl, "EXPIRETIME key: the deadline (unix s), -1, -2"},
	{"pexpiretime", 2, 0, grove_cmd_do_ttl, "PEXPIRETIME key: the deadline (unix ms), -1, -2"},
	{"persist", 2, W, grove_cmd_do_persist, "PERSIST key: removes the TTL (an LWW write of no TTL, replicated)"},
	{"expire", -3, W, grove_cmd_do_expire, "EXPIRE key s [NX|XX|GT|LT]: replicated deadline, LWW by HLC"},
	{"pexpire", -3, W, grove_cmd_do_expire, "PEXPIRE key ms [NX|XX|GT|LT]"},
	{"expireat", -3, W, grove_cmd_do_expire, "EXPIREAT key unix-s [NX|XX|GT|LT]"},
	{"pexpireat", -3, W, grove_cmd_do_expire, "PEXPIREAT key unix-ms [NX|XX|GT|LT]"},
	{"setex", 4, W, grove_cmd_do_setex, "SETEX key s value: SET with EX"},
	{"psetex", 4, W, grove_cmd_do_setex, "PSETEX key ms value: SET with PX"},
	{"getbit", 3, 0, grove_cmd_do_getbit, "GETBIT key offset"},
	{"setbit", 4, W, grove_cmd_do_setbit, "SETBIT key offset 0|1: register read-modify-write"},
	{"bitcount", -2, 0, grove_cmd_do_bitcount, "BITCOUNT key [start end [BYTE|BIT]]"},
	{"bitpos", -3, 0, grove_cmd_do_bitpos, "BITPOS key bit [start [end [BYTE|BIT]]]"},
	{"lcs", -3, 0, grove_cmd_do_lcs, "LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]"},
	{"unlink", -2, W, grove_cmd_do_del, "UNLINK key ...: as DEL"},
	{"touch", -2, 0, grove_cmd_do_exists, "TOUCH key ...: counts the keys that exist"},
	{"flushdb", -1, W, grove_cmd_do_flushdb, "FLUSHDB [ASYNC|SYNC]: observed-remove of every key, cluster-wide"},
	{"flushall", -1, W, grove_cmd_do_flushdb, "FLUSHALL [ASYNC|SYNC]: as FLUSHDB"},
	{"rename", 3, W, grove_cmd_do_rename, "RENAME key newkey: copy, then observed-remove delete"},
	{"renamenx", 3, W, grove_cmd_do_renamenx, "RENAMENX key newkey: only if newkey is absent here"},
	{"copy", -3, W, grove_cmd_do_copy, "COPY source destination [DB 0] [REPLACE]"},
	{"monitor", 1, L, grove_cmd_do_monitor, "MONITOR: stream every command this node executes"},
	{"object", -2, 0, grove_cmd_do_object, "OBJECT ENCODING|FREQ|IDLETIME|REFCOUNT key | HELP: Redis 7.0's answers for the value"},
	{"randomkey", 1, 0, grove_cmd_do_randomkey, "RANDOMKEY: some key, not uniformly chosen"},
	{"incrbyfloat", 3, W, grove_cmd_do_incrbyfloat, "INCRBYFLOAT key incr: register read-modify-write; integral on a counter"},
	{"multi", 1, Q, grove_cmd_do_multi, "MULTI: queue the next commands until EXEC"},
	{"exec", 1, W | L | Q, grove_cmd_do_exec, "EXEC: run the queue atomically on this node"},
	{"discard", 1, Q, grove_cmd_do_discard, "DISCARD: drop the queue"},
	{"watch", -2, Q, grove_cmd_do_watch, "WATCH key ...: EXEC fails if one changes"},
	{"unwatch", 1, 0, grove_cmd_do_unwatch, "UNWATCH"},
	{"backup", -2, L, grove_cmd_do_backup, "BACKUP BEGIN | NEXT [bytes] | END: stream a consistent snapshot (grove backup)"},
	{"mergeitem", -3, W, grove_cmd_do_mergeitem, "MERGEITEM name state ...: merge item states as from a peer (grove restore --node)"},
};
const size_t grove_cmd_count = sizeof(grove_cmd_table) / sizeof(grove_cmd_table[0]);

#undef W
#undef L
#undef N
#undef Q
#undef D

void grove_cmd_env_init(grove_cmd_env_t *env, grove_db_t *db)
{
	memset(env, 0, sizeof(*env));
	env->db = db;
	env->node_id = db ? grove_db_node_id(db) : "default";
	env->client_addr = "127.0.0.1:6379";
	env->gossip_addr = "";
	env->durability = "none";
	env->version = "0.1.0";
	env->next_cursor = 1;
	pthread_rwlockattr_t attr;
	GROVE_ASSERT(pthread_rwlockattr_init(&attr) == 0);
	/* a waiting EXEC stops new readers, so it cannot starve */
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	GROVE_ASSERT(pthread_rwlock_init(&env->exec_lock, &attr) == 0);
	pthread_rwlockattr_destroy(&attr);
	GROVE_ASSERT(pthread_mutex_init(&env->err_mu, NULL) == 0);
	GROVE_ASSERT(grove_cmd_count <= GROVE_CMD_STATS_MAX);
}

void grove_cmd_env_close(grove_cmd_env_t *env)
{
	if (env->cursors) {
		for (size_t i = 0; i < GROVE_SCAN_CURSORS_MAX; i++)
			grove_free(env->cursors[i].key);
		grove_free(env->cursors);
		env->cursors = NULL;
	}
	pthread_rwlock_destroy(&env->exec_lock);
	pthread_mutex_destroy(&env->err_mu);
}

void grove_cmd_client_init(grove_cmd_client_t *c, const grove_cmd_env_t *env, uint64_t id)
{
	memset(c, 0, sizeof(*c));
	c->id = id;
	c->authed = !(env->requirepass && env->requirepass[0]);
}

void grove_cmd_client_close(grove_cmd_client_t *c)
{
	grove_cmd__multi_reset(c);
	grove_cmd__unwatch_all(c);
	grove_free(c->queue);
	grove_free(c->watch);
	grove_backup_reader_close(c->backup);
	c->backup = NULL;
	c->queue = NULL;
	c->watch = NULL;
	c->queue_cap = c->watch_cap = 0;
}

/* Command lookup: an open-addressing table of the command names, hashed
 * case-insensitively, built once (the linear scan with strncasecmp over
 * every name showed in the pipelined profile).  The longest name is short,
 * so names longer than CMD_NAME_MAX are unknown at once. */
#define CMD_HASH_SLOTS 512 /* > 2 x the table: short probes */
#define CMD_NAME_MAX 32
static const grove_cmd_t *cmd_hash[CMD_HASH_SLOTS];
static uint8_t cmd_hash_len[CMD_HASH_SLOTS]; /* strlen of the slot's name */
static pthread_once_t cmd_hash_once = PTHREAD_ONCE_INIT;

static uint32_t cmd_name_hash(const uint8_t *p, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)(p[i] | 0x20)) * 16777619u; /* ASCII letters fold */
	return h;
}

static void cmd_hash_build(void)
{
	GROVE_ASSERT(grove_cmd_count < CMD_HASH_SLOTS / 2);
	for (size_t i = 0; i < grove_cmd_count; i++) {
		const grove_cmd_t *cmd = &grove_cmd_table[i];
		size_t len = strlen(cmd->name);
		GROVE_ASSERT(len <= CMD_NAME_MAX);
		uint32_t at = cmd_name_hash((const uint8_t *)cmd->name, len) % CMD_HASH_SLOTS;
		while (cmd_hash[at])
			at = (at + 1) % CMD_HASH_SLOTS;
		cmd_hash[at] = cmd;
		cmd_hash_len[at] = (uint8_t)len;
	}
}

const grove_cmd_t *grove_cmd_lookup(const void *name, size_t len)
{
	if (len == 0 || len > CMD_NAME_MAX)
		return NULL;
	pthread_once(&cmd_hash_once, cmd_hash_build);
	uint32_t at = cmd_name_hash(name, len) % CMD_HASH_SLOTS;
	for (const grove_cmd_t *cmd; (cmd = cmd_hash[at]) != NULL; at = (at + 1) % CMD_HASH_SLOTS)
		if (cmd_hash_len[at] == len && strncasecmp(cmd->name, name, len) == 0)
			return cmd;
	return NULL;
}

unsigned grove_cmd_flags(const grove_cmd_t *cmd)
{
	return cmd->flags;
}

bool grove_cmd_deferrable(const grove_cmd_t *cmd, size_t argc)
{
	bool pop = cmd && (cmd->fn == grove_cmd_do_lpop || cmd->fn == grove_cmd_do_rpop);
	return cmd && (cmd->flags & GROVE_CMD_DEFER) && (cmd->fn != grove_cmd_do_set || argc == 3) &&
	       (!pop || argc == 2); /* a count reads the length first */
}

grove_type_t grove_cmd_point_read(const grove_cmd_t *cmd, size_t argc)
{
	if (!cmd || argc != 3)
		return GROVE_TYPE_NONE;
	if (cmd->fn == grove_cmd_do_sismember)
		return GROVE_TYPE_SET;
	if (cmd->fn == grove_cmd_do_hget || cmd->fn == grove_cmd_do_hexists)
		return GROVE_TYPE_MAP;
	if (cmd->fn == grove_cmd_do_zrank || cmd->fn == grove_cmd_do_zrevrank)
		return GROVE_TYPE_ZSET;
	return GROVE_TYPE_NONE;
}

bool grove_cmd_arg_is(const grove_cmd_call_t *c, size_t i, const char *word)
{
	return i < c->argc && strlen(word) == c->argl[i] &&
	       strncasecmp(word, (const char *)c->argv[i], c->argl[i]) == 0;
}

/* Strict decimal parse as Redis's string2ll (base/num.h). */
bool grove_cmd__parse_ll(const uint8_t *s, size_t n, long long *out)
{
	int64_t v;
	if (!grove_parse_i64(s, n, &v))
		return false;
	*out = v;
	return true;
}

bool grove_cmd_arg_ll(grove_cmd_call_t *c, size_t i, long long *out)
{
	if (grove_cmd__parse_ll(c->argv[i], c->argl[i], out))
		return true;
	grove_resp_error(c->out, "ERR value is not an integer or out of range");
	return false;
}

void grove_cmd__reply_lines(grove_cmd_call_t *c, const char *const *lines, size_t n)
{
	grove_resp_array(c->out, n);
	for (size_t i = 0; i < n; i++)
		grove_resp_simple(c->out, lines[i]);
}

void grove_cmd_reply_syntax(grove_cmd_call_t *c)
{
	grove_resp_error(c->out, "ERR syntax error");
}

bool grove_cmd__key_valid(const grove_cmd_call_t *c, size_t i)
{
	return c->argl[i] >= 1 && c->argl[i] <= GROVE_KEY_MAX;
}

bool grove_cmd__key_writable(grove_cmd_call_t *c, size_t i)
{
	if (grove_cmd__key_valid(c, i))
		return true;
	grove_resp_error(c->out, "ERR invalid key: Grove keys are 1 to 4096 bytes (GROVE_KEY_MAX)");
	return false;
}

void grove_cmd__reply_value_too_big(grove_cmd_call_t *c)
{
	grove_resp_error(c->out, "ERR string exceeds maximum allowed size: a Grove string is at most "
				 "256 KiB (GROVE_REGISTER_VALUE_MAX)");
}

void grove_cmd_reply_db_error(grove_cmd_call_t *c, int rc)
{
	switch (rc) {
	case GROVE_EWRONGTYPE:
		grove_resp_error(c->out,
				 "WRONGTYPE Operation against a key holding the wrong kind of value");
		break;
	case GROVE_EOVERFLOW:
		grove_resp_error(c->out, "ERR increment or decrement would overflow");
		break;
	case GROVE_EINVAL:
	case GROVE_ETOOBIG:
		grove_resp_errorf(c->out, "ERR invalid key or value: %s", grove_strerror(rc));
		break;
	default:
		grove_resp_errorf(c->out, "ERR storage: %s", grove_strerror(rc));
		break;
	}
}

/* "ERR unknown command 'x', with args beginning with: 'a' 'b' " */
static void reply_unknown(grove_cmd_call_t *c)
{
	char msg[512];
	int n = snprintf(msg, sizeof(msg), "ERR unknown command '%.*s', with args beginning with: ",
			 (int)(c->argl[0] > 128 ? 128 : c->argl[0]), (const char *)c->argv[0]);
	for (size_t i = 1; i < c->argc && n > 0 && (size_t)n < sizeof(msg) - 1; i++)
		n += snprintf(msg + n, sizeof(msg) - (size_t)n, "'%.*s' ",
			      (int)(c->argl[i] > 128 ? 128 : c->argl[i]), (const char *)c->argv[i]);
	grove_resp_error(c->out, msg);
}

static bool arity_ok(const grove_cmd_t *cmd, size_t argc)
{
	return cmd->arity >= 0 ? argc == (size_t)cmd->arity : argc >= (size_t)-cmd->arity;
}

/* A request refused before it ran: inside MULTI, EXEC will abort. */
static void refused(grove_cmd_client_t *client)
{
	if (client->in_multi)
		client->multi_dirty = true;
}

void grove_cmd__run(grove_cmd_call_t *c, const grove_cmd_t *cmd)
{
	size_t reply_at = c->out->len;
	const grove_cmd_hooks_t *h = &c->env->hooks;
	if ((cmd->flags & GROVE_CMD_WRITE) && h->write_refused && h->write_refused(h->ctx)) {
		grove_resp_errorf(c->out, "DUPLICATE another live instance of node id '%s' has precedence; this "
					  "instance refuses writes until it is gone (see the log and INFO "
					  "duplicate_instance)", c->env->node_id ? c->env->node_id : "?");
		grove_cmd__stats_record(c->env, cmd, c->out, reply_at, 0, true);
		return;
	}
	uint64_t t0 = c->now_us ? c->now_us : grove_cmd__now_us();
	cmd->fn(c);
	c->now_us = grove_cmd__now_us();
	grove_cmd__stats_record(c->env, cmd, c->out, reply_at, c->now_us - t0, false);
	grove_cmd__monitor_feed(c, cmd);
}

unsigned grove_cmd_exec(grove_cmd_env_t *env, grove_cmd_client_t *client,
			const grove_resp_request_t *req, grove_buf_t *out)
{
	uint64_t now_us = 0;
	return grove_cmd_exec_found(env, client, req, grove_cmd_lookup(req->argv[0], req->argl[0]),
				    out, &now_us);
}

unsigned grove_cmd_exec_found(grove_cmd_env_t *env, grove_cmd_client_t *client,
			      const grove_resp_request_t *req, const grove_cmd_t *cmd,
			      grove_buf_t *out, uint64_t *now_us)
{
	GROVE_ASSERT(req->argc >= 1);
	grove_cmd_call_t c = {
		.env = env, .client = client, .argc = req->argc, .argv = req->argv,
		.argl = req->argl, .out = out, .result = 0, .now_us = *now_us,
	};
	size_t reply_at = out->len;
	if (!client->authed && !(cmd && (cmd->flags & GROVE_CMD_NOAUTH))) {
		grove_resp_error(out, "NOAUTH Authentication required.");
		goto out_refused;
	}
	if (!cmd) {
		reply_unknown(&c);
		goto out_refused;
	}
	if (!arity_ok(cmd, req->argc)) {
		grove_resp_errorf(out, "ERR wrong number of arguments for '%s' command", cmd->name);
		goto out_refused;
	}
	if (client->in_multi && !(cmd->flags & GROVE_CMD_NOQUEUE)) {
		grove_cmd__multi_queue(&c, cmd);
		grove_cmd__stats_record(env, NULL, out, reply_at, 0, false); /* its error, if any */
		return 0;
	}
	GROVE_ASSERT(pthread_rwlock_rdlock(&env->exec_lock) == 0);
	c.lock = GROVE_CMD_LOCK_READ;
	grove_cmd__run(&c, cmd);
	*now_us = c.now_us;
	GROVE_ASSERT(pthread_rwlock_unlock(&env->exec_lock) == 0);
	if ((cmd->flags & GROVE_CMD_WRITE) && env->wait)
		client->write_pos = grove_wait_note_write(env->wait); /* after the write */
	if (client->reply_off || client->reply_skip) { /* CLIENT REPLY OFF / SKIP */
		out->len = reply_at;
		if (client->reply_skip)
			client->reply_skip--;
	}
	return c.result;
out_refused:
	refused(client);
	grove_cmd__stats_record(env, cmd, out, reply_at, 0, true);
	return 0;
}

void grove_cmd__lock_exclusive(grove_cmd_call_t *c)
{
	GROVE_ASSERT(c->lock == GROVE_CMD_LOCK_READ || c->lock == GROVE_CMD_LOCK_WRITE);
	if (c->lock == GROVE_CMD_LOCK_WRITE)
		return;
	GROVE_ASSERT(pthread_rwlock_unlock(&c->env->exec_lock) == 0);
	GROVE_ASSERT(pthread_rwlock_wrlock(&c->env->exec_lock) == 0);
	c->lock = GROVE_CMD_LOCK_WRITE;
}

static void cmd_ping(grove_cmd_call_t *c)
{
	if (c->argc > 2)
		grove_resp_error(c->out, "ERR wrong number of arguments for 'ping' command");
	else if (c->argc == 2)
		grove_resp_bulk(c->out, c->argv[1], c->argl[1]);
	else
		grove_resp_simple(c->out, "PONG");
}

static void cmd_echo(grove_cmd_call_t *c)
{
	grove_resp_bulk(c->out, c->argv[1], c->argl[1]);
}

static void cmd_quit(grove_cmd_call_t *c)
{
	grove_resp_simple(c->out, "OK");
	c->result |= GROVE_CMD_CLOSE;
}

/* Constant-time comparison of a password argument with the configured one. */
static bool password_ok(const grove_cmd_env_t *env, const uint8_t *pw, size_t len)
{
	size_t n = strlen(env->requirepass);
	unsigned diff = (unsigned)(n ^ len);
	for (size_t i = 0; i < len; i++)
		diff |= (unsigned)(pw[i] ^ (uint8_t)env->requirepass[i < n ? i : 0]);
	return diff == 0 && n > 0;
}

/* Checks (user, password); replies with an error and returns false on
 * failure.  Only the "default" user exists. */
static bool authenticate(grove_cmd_call_t *c, size_t user_i, size_t pw_i)
{
	const grove_cmd_env_t *env = c->env;
	if (!env->requirepass || !env->requirepass[0]) {
		if (user_i == 0) {
			grove_resp_error(c->out, "ERR AUTH <password> called without any password "
						 "configured for the default user. Are you sure "
						 "your configuration is correct?");
			return false;
		}
	} else if ((user_i && !grove_cmd_arg_is(c, user_i, "default")) ||
		   !password_ok(env, c->argv[pw_i], c->argl[pw_i])) {
		grove_resp_error(c->out, "WRONGPASS invalid username-password pair or user is disabled.");
		return false;
	}
	c->client->authed = true;
	return true;
}

static void cmd_auth(grove_cmd_call_t *c)
{
	if (c->argc > 3) {
		grove_cmd_reply_syntax(c);
		return;
	}
	if (authenticate(c, c->argc == 3 ? 1 : 0, c->argc - 1))
		grove_resp_simple(c->out, "OK");
}

static void cmd_select(grove_cmd_call_t *c)
{
	long long db;
	if (!grove_cmd_arg_ll(c, 1, &db))
		return;
	if (db != 0)
		grove_resp_error(c->out, "ERR DB index is out of range");
	else
		grove_resp_simple(c->out, "OK");
}

/* The HELLO reply: a flat array of field/value pairs (RESP2 map). */
static void hello_reply(grove_cmd_call_t *c)
{
	grove_resp_array(c->out, 14);
	grove_resp_bulk_str(c->out, "server");
	grove_resp_bulk_str(c->out, "grove");
	grove_resp_bulk_str(c->out, "version");
	grove_resp_bulk_str(c->out, c->env->version);
	grove_resp_bulk_str(c->out, "proto");
	grove_resp_int(c->out, 2);
	grove_resp_bulk_str(c->out, "id");
	grove_resp_int(c->out, (long long)c->client->id);
	grove_resp_bulk_str(c->out, "mode");
	grove_resp_bulk_str(c->out, "standalone");
	grove_resp_bulk_str(c->out, "role");
	grove_resp_bulk_str(c->out, "master");
	grove_resp_bulk_str(c->out, "modules");
	grove_resp_array(c->out, 0);
}

/* Validates HELLO's options; returns false after replying an error. */
static bool hello_options(grove_cmd_call_t *c, size_t *auth_i, size_t *name_i)
{
	for (size_t i = 2; i < c->argc; i++) {
		if (grove_cmd_arg_is(c, i, "auth") && i + 2 < c->argc) {
			*auth_i = i + 1;
			i += 2;
		} else if (grove_cmd_arg_is(c, i, "setname") && i + 1 < c->argc) {
			*name_i = i + 1;
			i += 1;
		} else {
			grove_resp_errorf(c->out, "ERR Syntax error in HELLO option '%.*s'",
					  (int)(c->argl[i] > 64 ? 64 : c->argl[i]),
					  (const char *)c->argv[i]);
			return false;
		}
	}
	return true;
}

static void cmd_hello(grove_cmd_call_t *c)
{
	long long ver = 2;
	if (c->argc >= 2 && !grove_cmd__parse_ll(c->argv[1], c->argl[1], &ver)) {
		grove_resp_error(c->out, "ERR Protocol version is not an integer or out of range");
		return;
	}
	if (ver < 2 || ver > 3) {
		grove_resp_error(c->out, "NOPROTO unsupported protocol version");
		return;
	}
	if (ver == 3) {
		grove_resp_error(c->out, "NOPROTO unsupported protocol version");
		return;
	}
	size_t auth_i = 0, name_i = 0;
	if (!hello_options(c, &auth_i, &name_i))
		return;
	if (auth_i && !authenticate(c, auth_i, auth_i + 1))
		return;
	if (!c->client->authed) {
		grove_resp_error(c->out, "NOAUTH HELLO must be called with the client already "
					 "authenticated, otherwise the HELLO <proto> AUTH <user> "
					 "<pass> option can be used to authenticate the client and "
					 "select the RESP protocol version at the same time");
		return;
	}
	if (name_i) {
		size_t n = c->argl[name_i] > GROVE_CLIENT_NAME_MAX ? GROVE_CLIENT_NAME_MAX
								     : c->argl[name_i];
		memcpy(c->client->name, c->argv[name_i], n);
		c->client->name[n] = 0;
	}
	hello_reply(c);
}
