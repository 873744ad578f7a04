/*
 * resp_commands.h - the RESP command dispatcher: a table of Redis-compatible
 * commands executed against a grove_db_t, with no sockets involved (the
 * server feeds it parsed requests; tests call it directly).
 *
 * Conventions:
 *  1. A grove_cmd_env_t describes the node a command runs on: its db,
 *     password, statistics and hooks into membership.  The caller owns it;
 *     grove_cmd_env_init / grove_cmd_env_close pair (close frees the SCAN
 *     cursor table).  Hooks may be NULL (single node, no anti-entropy).
 *  2. A grove_cmd_client_t is one connection's protocol state (AUTH, name,
 *     the MULTI queue and WATCHed keys); grove_cmd_client_init /
 *     grove_cmd_client_close pair (close frees the queue and watches).
 *  3. grove_cmd_exec appends exactly one reply to `out` for every request,
 *     except when it returns GROVE_CMD_BLOCK (WAIT, loop thread only): the
 *     server then holds the client and appends the reply itself later.
 *  4. Threads: commands flagged GROVE_CMD_LOOP touch env or client state
 *     and must run on the thread that owns env (the event loop); every other
 *     command only reads `client` and calls the thread-safe db, so the
 *     server may run it on a worker thread, as long as one client's
 *     commands run one at a time in order.
 *  5. Transactions (resp_cmd_multi.c): EXEC runs its queue on the loop
 *     thread holding env->exec_lock for writing; every other command holds
 *     it for reading while it runs, so no command of another client (on the
 *     loop or on a worker) runs between two commands of an EXEC.  Read-then-
 *     write commands (SETNX, APPEND, MSET, FLUSHDB...) take it for writing
 *     too, from their first read to their last write.
 *
 * Type mapping (documented in README "groved, RESP and CLI"): a counter and
 * a register both answer TYPE "string" and GET (a counter reads as its
 * decimal value); a set is "set", a map "hash".  Counters and registers
 * stay distinct types: INCR on a register and SET on a counter answer
 * WRONGTYPE (DEL the key first to change its type).
 */
#ifndef GROVE_COMMANDS_H
#define GROVE_COMMANDS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "node/config.h"
#include "node/histogram.h"
#include "node/resp_codec.h"
#include "node/wait.h"
#include "grove/db.h"

#define GROVE_CLIENT_NAME_MAX 128
#define GROVE_SCAN_CURSORS_MAX 1024    /* live SCAN cursors per node */
#define GROVE_SCAN_COUNT_MAX 100000    /* keys visited by one SCAN call */
#define GROVE_KEYS_REPLY_MAX 10000000  /* keys one KEYS call returns */
#define GROVE_MEMBERS_MAX 4096         /* members one GROVE MEMBERS lists */
#define GROVE_ADDR_MAX 64              /* "[v6 literal]:port" */
#define GROVE_MULTI_QUEUE_MAX 100000   /* commands one MULTI may queue */
#define GROVE_MULTI_QUEUE_BYTES_MAX (64u * 1024 * 1024) /* their bytes */
#define GROVE_WATCH_KEYS_MAX 1024      /* keys one connection may WATCH */
#define GROVE_CLIENTS_LIST_MAX 100000  /* connections one CLIENT LIST shows */
#define GROVE_CONFIG_NOOPS_MAX 32      /* CONFIG SET settings kept as no-ops */
#define GROVE_CONFIG_NOOP_BYTES 24
#define GROVE_CMD_STATS_MAX 256        /* command table rows with INFO counters */
#define GROVE_ERRORSTATS_MAX 64        /* error prefixes INFO errorstats tells apart */
#define GROVE_ERRORSTAT_NAME_MAX 32

/* Command flags. */
#define GROVE_CMD_WRITE 0x1  /* changes the db: needs durability */
#define GROVE_CMD_LOOP 0x2   /* must run on the loop thread */
#define GROVE_CMD_NOAUTH 0x4 /* allowed before AUTH */
#define GROVE_CMD_NOQUEUE 0x8 /* runs at once inside MULTI (EXEC, DISCARD...) */
#define GROVE_CMD_DEFER 0x10 /* pure writes: each db call is one atomic read-modify-
			      * write whose result is the reply, no separate read,
			      * so the server may defer their durability
			      * (grove_db_defer_begin; see grove_cmd_deferrable) */

/* Bits of grove_cmd_exec's result. */
#define GROVE_CMD_CLOSE 0x1 /* close the connection after this reply */
#define GROVE_CMD_BLOCK 0x2 /* no reply yet: block the client (WAIT, see
			       client->block_*); the server answers later */

typedef struct grove_member_view {
	char id[GROVE_NODE_ID_MAX + 1];
	char addr[GROVE_ADDR_MAX];
	const char *state; /* "alive", "suspect", "dead", "left" */
	uint64_t incarnation;
} grove_member_view_t;

/* Counters the server maintains (loop thread) and INFO reports. */
typedef struct grove_node_stats {
	uint64_t start_ms;
	uint64_t connected_clients;
	uint64_t total_connections;
	uint64_t rejected_connections;
	uint64_t total_commands;
	uint64_t protocol_errors;
	uint64_t idle_disconnects;
	uint64_t output_overflows;
	uint64_t net_input_bytes;
	uint64_t net_output_bytes;
	/* gossip */
	uint64_t gossip_sent;
	uint64_t gossip_received;
	uint64_t gossip_dropped;
	uint64_t sync_rounds;
} grove_node_stats_t;

typedef struct grove_cmd_env grove_cmd_env_t;

/* One connection as CLIENT LIST shows it (filled by the server). */
typedef struct grove_client_view {
	uint64_t id;
	char addr[GROVE_ADDR_MAX];
	char name[GROVE_CLIENT_NAME_MAX + 1];
	int fd;
	uint64_t age_s, idle_s;
	long long multi;  /* queued commands, -1 outside MULTI */
	uint64_t qbuf;    /* received bytes not yet executed */
	uint64_t obl;     /* reply bytes not yet sent */
} grove_client_view_t;

/* The server's side of CLIENT LIST / CLIENT KILL (loop thread only).
 * list fills up to max views and returns how many; kill closes connection
 * id (after the current reply when it is the caller) and returns 0, or
 * GROVE_ENOTFOUND. */
typedef struct grove_cmd_server_hooks {
	size_t (*list)(void *ctx, grove_client_view_t *out, size_t max);
	int (*kill)(void *ctx, uint64_t id);
	/* CONFIG: reads (set NULL) or sets (value NULL) a run-time limit:
	 * "max-clients", "idle-timeout" (s), "log-level" (GROVE_LOG_*);
	 * 0 or GROVE_ENOTFOUND. */
	int (*limit)(void *ctx, const char *name, const uint64_t *set, uint64_t *value);
	/* CLIENT PAUSE timeout_ms [WRITE|ALL] (writes_only: WRITE), CLIENT
	 * UNPAUSE (unpause true).  May be NULL (then PAUSE is refused). */
	void (*pause)(void *ctx, uint64_t timeout_ms, bool writes_only, bool unpause);
	/* MONITOR: makes client id a monitor (0, or a negative code); and
	 * hands one formatted line (a RESP simple string) to every monitor,
	 * from any command thread.  May be NULL (MONITOR is then refused). */
	int (*monitor_start)(void *ctx, uint64_t id);
	void (*monitor_feed)(void *ctx, const char *line, size_t len);
	void *ctx;
	const char *laddr; /* the client address clients connect to */
} grove_cmd_server_hooks_t;

typedef struct grove_cmd_hooks {
	/* Fills up to max members (self included); returns how many. */
	size_t (*members)(void *ctx, grove_member_view_t *out, size_t max);
	/* Starts an anti-entropy round now; returns the peers contacted or a
	 * negative code. */
	int (*sync)(void *ctx);
	/* Appends "key:value\r\n" lines to INFO's gossip section. */
	void (*gossip_info)(void *ctx, grove_buf_t *text);
	/* WAIT: asks the alive peers not known to hold write position pos for
	 * their digest now; returns how many were asked. */
	int (*wait_ask)(void *ctx, uint64_t pos);
	/* True while writes are refused (another live instance of this node
	 * id has precedence); called from command threads.  May be NULL. */
	bool (*write_refused)(void *ctx);
	void *ctx;
} grove_cmd_hooks_t;

struct grove_cmd_env {
	grove_db_t *db;
	const char *requirepass;   /* NULL or "": no password */
	const char *node_id;
	const char *client_addr;   /* for INFO and CONFIG GET bind/port */
	const char *gossip_addr;
	const char *durability;    /* "none" | "batch" | "always" */
	const char *version;
	uint64_t (*now_ms)(void *ctx); /* for uptime; grove_clock_system_ms */
	grove_node_stats_t *stats; /* may be NULL */
	grove_wait_t *wait;        /* WAIT's bookkeeping; NULL: WAIT answers 0 at once */
	grove_cmd_hooks_t hooks;
	/* SCAN cursors: id -> resume key, slot = id % GROVE_SCAN_CURSORS_MAX */
	struct grove_scan_cursor {
		uint64_t id;
		uint8_t *key;
		size_t klen;
	} *cursors;
	uint64_t next_cursor;
	/* EXEC holds it for writing, every other command for reading */
	pthread_rwlock_t exec_lock;
	grove_cmd_server_hooks_t server; /* set by grove_resp_server_init */
	_Atomic unsigned monitors;       /* MONITOR clients: lines are formatted only when > 0 */
	const grove_config_t *cfg;       /* for CONFIG GET; NULL: Redis names only */
	/* CONFIG SET values of the encoding thresholds (no effect; "" = default) */
	char config_noops[GROVE_CONFIG_NOOPS_MAX][GROVE_CONFIG_NOOP_BYTES];
	/* INFO commandstats / errorstats (resp_cmd_info.c) */
	struct grove_cmd_stat {
		_Atomic uint64_t calls, usec, rejected, failed;
		_Atomic uint64_t latency[GROVE_CMD_LATENCY_BUCKETS]; /* node/histogram.h */
	} cmd_stats[GROVE_CMD_STATS_MAX];
	pthread_mutex_t err_mu;
	struct grove_errorstat {
		char name[GROVE_ERRORSTAT_NAME_MAX + 1];
		uint64_t count;
	} errs[GROVE_ERRORSTATS_MAX];
	size_t err_n;
};

typedef struct grove_cmd_queued grove_cmd_queued_t; /* resp_cmd_multi.c */
typedef struct grove_cmd_watch grove_cmd_watch_t;

typedef struct grove_cmd_client {
	uint64_t id;
	bool authed;
	char name[GROVE_CLIENT_NAME_MAX + 1];
	char addr[GROVE_ADDR_MAX];
	uint64_t write_pos;         /* position of its last write (node/wait.h), 0: none */
	long long block_want;       /* GROVE_CMD_BLOCK: peers wanted */
	uint64_t block_timeout_ms;  /* GROVE_CMD_BLOCK: 0 = no timeout */
	/* MULTI: queued commands (owned), and whether one was refused */
	bool in_multi, multi_dirty;
	grove_cmd_queued_t **queue;
	size_t queue_n, queue_cap, queue_bytes;
	/* CLIENT REPLY: replies dropped while off; skip counts down 2, 1, 0
	 * (the SKIP itself, then the next command) */
	bool reply_off;
	unsigned reply_skip;
	/* WATCH: keys with the digest of their state when watched (owned) */
	grove_cmd_watch_t *watch;
	size_t watch_n, watch_cap;
	/* BACKUP: the snapshot being streamed (owned; resp_cmd_backup.c) */
	struct grove_backup_reader *backup;
} grove_cmd_client_t;

typedef struct grove_cmd grove_cmd_t;

void grove_cmd_env_init(grove_cmd_env_t *env, grove_db_t *db);
void grove_cmd_env_close(grove_cmd_env_t *env);
void grove_cmd_client_init(grove_cmd_client_t *c, const grove_cmd_env_t *env, uint64_t id);
/* Frees the client's MULTI queue, watched keys and backup snapshot; safe
 * twice. */
void grove_cmd_client_close(grove_cmd_client_t *c);

/* The table entry for argv[0] (case-insensitive), or NULL if unknown. */
const grove_cmd_t *grove_cmd_lookup(const void *name, size_t len);
unsigned grove_cmd_flags(const grove_cmd_t *cmd);
/* Whether this request may run with deferred writes: GROVE_CMD_DEFER and
 * no options that read first (SET only as SET key value, LPOP and RPOP
 * only without a count). */
bool grove_cmd_deferrable(const grove_cmd_t *cmd, size_t argc);

/* GROVE_TYPE_SET (SISMEMBER) or GROVE_TYPE_MAP (HGET, HEXISTS) when a
 * request of cmd (NULL: unknown) with argc arguments is a point read of
 * one element of one key (argv[1], argv[2]), whose cache slot and record
 * grove_db_read_hint and its prefetches can bring ahead; GROVE_TYPE_ZSET (ZRANK,
 * ZREVRANK) for a member's rank, which grove_db_zrank_prefetch can bring
 * ahead; else GROVE_TYPE_NONE. */
grove_type_t grove_cmd_point_read(const grove_cmd_t *cmd, size_t argc);

/* Appends the text of INFO everything (every section, as the command
 * returns it) to t: what the metrics endpoint derives its numbers from
 * (node/metrics.h).  Loop thread (the hooks read the cluster). */
void grove_cmd_info_all(const grove_cmd_env_t *env, grove_buf_t *t);

/* Executes one request (argc >= 1) and appends its reply.  Returns a mask
 * of GROVE_CMD_* result bits. */
unsigned grove_cmd_exec(grove_cmd_env_t *env, grove_cmd_client_t *client,
			const grove_resp_request_t *req, grove_buf_t *out);

/* grove_cmd_exec for a server that looked the request's command up
 * already: cmd is grove_cmd_lookup(argv[0], argl[0]) (NULL: unknown).
 * *now_us carries the clock (grove_cmd__now_us) from one request to the
 * next: the time this one starts (0: read it here), and on return the
 * time it ended (unchanged when it did not run), so a run of requests
 * looks each command up once and reads the clock once per request. */
unsigned grove_cmd_exec_found(grove_cmd_env_t *env, grove_cmd_client_t *client,
			      const grove_resp_request_t *req, const grove_cmd_t *cmd,
			      grove_buf_t *out, uint64_t *now_us);

#endif
