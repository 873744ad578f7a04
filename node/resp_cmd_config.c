/*
 * resp_cmd_config.c - CONFIG GET, CONFIG SET, CONFIG RESETSTAT, CONFIG HELP.
 *
 * CONFIG GET pattern... sees three kinds of parameters:
 *  - every groved setting under its flag name ("durability",
 *    "gossip-interval", ...; node/config.c's table), the password as "";
 *  - the Redis names clients ask for, answered from Grove's state (port,
 *    bind, timeout, maxclients, loglevel, appendonly, appendfsync,
 *    databases 1, save "", maxmemory 0, ...);
 *  - Redis settings that only tune an internal encoding
 *    (hash-max-listpack-entries, set-max-intset-entries, ...): Grove has no
 *    such encodings, so CONFIG SET accepts them (an integer, or yes/no) and
 *    stores the value for CONFIG GET, with no other effect.
 * CONFIG SET changes at run time what the node can change: maxclients /
 * max-clients, timeout / idle-timeout, loglevel / log-level (through the
 * server's limit hook); every other known parameter answers Redis's "can't
 * set immutable config" (groved's flags and config file set them at
 * start).  Several pairs are checked first and applied only if all are
 * valid, as Redis 7 does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "node/resp_commands_int.h"
#include "storage/glob.h"

#define VALUE_BYTES 1100 /* a setting's value as text (paths, seed lists cut) */

/* The encoding thresholds accepted as no-ops, with Redis 7.0's defaults. */
static const struct noop_param {
	const char *name, *def;
	bool yes_no;
} noops[] = {
	{"hash-max-listpack-entries", "128", false}, {"hash-max-listpack-value", "64", false},
	{"hash-max-ziplist-entries", "128", false},  {"hash-max-ziplist-value", "64", false},
	{"set-max-intset-entries", "512", false},    {"zset-max-listpack-entries", "128", false},
	{"zset-max-listpack-value", "64", false},    {"zset-max-ziplist-entries", "128", false},
	{"zset-max-ziplist-value", "64", false},     {"list-max-listpack-size", "-2", false},
	{"list-max-ziplist-size", "-2", false},      {"list-compress-depth", "0", false},
	{"stream-node-max-bytes", "4096", false},    {"stream-node-max-entries", "100", false},
	{"hll-sparse-max-bytes", "3000", false},     {"activerehashing", "yes", true},
};
#define NOOPS (sizeof(noops) / sizeof(noops[0]))
_Static_assert(NOOPS <= GROVE_CONFIG_NOOPS_MAX, "room for every no-op parameter");

/* A run-time limit through the server hook (value left alone without one). */
static void limit_get(const grove_cmd_env_t *env, const char *name, uint64_t *value)
{
	if (env->server.limit)
		env->server.limit(env->server.ctx, name, NULL, value);
}

static const char *redis_level(uint64_t level)
{
	return level >= GROVE_LOG_DEBUG ? "debug" : level == GROVE_LOG_INFO ? "notice" : "warning";
}

typedef void (*emit_fn)(void *ctx, const char *name, const char *value);

/* The Redis names, from Grove's state. */
static void redis_params(const grove_cmd_env_t *env, emit_fn emit, void *ctx)
{
	const grove_config_t *cfg = env->cfg;
	char v[VALUE_BYTES];
	const char *d = env->durability;
	emit(ctx, "save", "");
	emit(ctx, "appendonly", strcmp(d, "none") ? "yes" : "no");
	emit(ctx, "appendfsync", !strcmp(d, "always") ? "always" : !strcmp(d, "batch") ? "everysec" : "no");
	emit(ctx, "databases", "1");
	emit(ctx, "maxmemory", "0");
	emit(ctx, "maxmemory-policy", "noeviction");
	if (!env->cfg) /* else Grove's own setting of that name says it */
		emit(ctx, "requirepass", "");
	emit(ctx, "protected-mode", "yes");
	emit(ctx, "cluster-enabled", "no");
	uint64_t max_clients = cfg ? cfg->max_clients : 10000, idle = cfg ? cfg->idle_timeout_s : 0;
	uint64_t level = cfg ? cfg->log_level : GROVE_LOG_INFO;
	limit_get(env, "max-clients", &max_clients);
	limit_get(env, "idle-timeout", &idle);
	limit_get(env, "log-level", &level);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)max_clients);
	emit(ctx, "maxclients", v);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)idle);
	emit(ctx, "timeout", v);
	emit(ctx, "loglevel", redis_level(level));
	if (!cfg)
		return;
	snprintf(v, sizeof(v), "%u", cfg->client.port);
	emit(ctx, "port", v);
	emit(ctx, "bind", cfg->client.host);
	emit(ctx, "logfile", cfg->log_file);
	emit(ctx, "dir", cfg->data_dir);
	snprintf(v, sizeof(v), "%llu", (unsigned long long)cfg->max_request_bytes);
	emit(ctx, "proto-max-bulk-len", v);
}

/* Every parameter: Grove's settings (live limits), Redis's names, no-ops. */
static void all_params(const grove_cmd_env_t *env, emit_fn emit, void *ctx)
{
	const char *name;
	char v[VALUE_BYTES];
	for (size_t i = 0; env->cfg && grove_config_setting(env->cfg, i, &name, v, sizeof(v)); i++) {
		if (!name)
			continue;
		uint64_t live;
		if (!strcmp(name, "max-clients") || !strcmp(name, "idle-timeout")) {
			live = strtoull(v, NULL, 10);
			limit_get(env, name, &live);
			snprintf(v, sizeof(v), "%llu", (unsigned long long)live);
		} else if (!strcmp(name, "log-level")) {
			live = env->cfg->log_level;
			limit_get(env, name, &live);
			snprintf(v, sizeof(v), "%s", grove_log_level_name((grove_log_level_t)live));
		}
		emit(ctx, name, v);
	}
	redis_params(env, emit, ctx);
	for (size_t i = 0; i < NOOPS; i++)
		emit(ctx, noops[i].name, env->config_noops[i][0] ? env->config_noops[i] : noops[i].def);
}

/* ---- CONFIG GET ---- */

typedef struct get_ctx {
	const grove_cmd_call_t *c;
	grove_buf_t items;
	size_t n;
} get_ctx_t;

static void get_emit(void *ctx, const char *name, const char *value)
{
	get_ctx_t *g = ctx;
	for (size_t i = 2; i < g->c->argc; i++) {
		if (grove_glob_match(g->c->argv[i], g->c->argl[i], name, strlen(name))) {
			grove_resp_bulk_str(&g->items, name);
			grove_resp_bulk_str(&g->items, value);
			g->n += 2;
			return;
		}
	}
}

static void config_get(grove_cmd_call_t *c)
{
	get_ctx_t g = {.c = c};
	grove_buf_init(&g.items, 0);
	all_params(c->env, get_emit, &g);
	if (grove_buf_failed(&g.items)) {
		grove_resp_error(c->out, "ERR out of memory");
	} else {
		grove_resp_array(c->out, g.n);
		grove_buf_append(c->out, g.items.data, g.items.len);
	}
	grove_buf_close(&g.items);
}

/* ---- CONFIG SET ---- */

typedef struct known_ctx {
	const uint8_t *name;
	size_t len;
	bool found;
} known_ctx_t;

static void known_emit(void *ctx, const char *name, const char *value)
{
	(void)value;
	known_ctx_t *k = ctx;
	k->found |= strlen(name) == k->len && strncasecmp(name, (const char *)k->name, k->len) == 0;
}

/* One parsed pair: what it changes. */
typedef struct set_op {
	int noop;          /* index in noops, or -1 */
	const char *limit; /* "max-clients", "idle-timeout", "log-level", or NULL */
	uint64_t value;
} set_op_t;

static bool parse_u64(const uint8_t *s, size_t n, uint64_t lo, uint64_t hi, uint64_t *out)
{
	long long v;
	char buf[24];
	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n);
	buf[n] = 0;
	char *end;
	v = strtoll(buf, &end, 10);
	if (*end || v < 0 || (uint64_t)v < lo || (uint64_t)v > hi)
		return false;
	*out = (uint64_t)v;
	return true;
}

/* Log level names of both worlds. */
static bool parse_level(const grove_cmd_call_t *c, size_t i, uint64_t *out)
{
	static const struct {
		const char *name;
		grove_log_level_t level;
	} names[] = {{"debug", GROVE_LOG_DEBUG},  {"verbose", GROVE_LOG_DEBUG}, {"notice", GROVE_LOG_INFO},
		     {"info", GROVE_LOG_INFO},    {"warning", GROVE_LOG_WARN},  {"warn", GROVE_LOG_WARN},
		     {"error", GROVE_LOG_ERROR}};
	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (grove_cmd_arg_is(c, i, names[k].name)) {
			*out = names[k].level;
			return true;
		}
	return false;
}

static void set_failed(grove_cmd_call_t *c, size_t i, const char *why)
{
	grove_resp_errorf(c->out, "ERR CONFIG SET failed (possibly related to argument '%.*s') - %s",
			  (int)(c->argl[i] > 64 ? 64 : c->argl[i]), (const char *)c->argv[i], why);
}

/* Parses the pair at argument i into op; replies and returns false if
 * unknown, immutable or invalid. */
static bool set_parse(grove_cmd_call_t *c, size_t i, set_op_t *op)
{
	op->noop = -1;
	op->limit = NULL;
	for (size_t k = 0; k < NOOPS; k++) {
		if (!grove_cmd_arg_is(c, i, noops[k].name))
			continue;
		op->noop = (int)k;
		bool ok = noops[k].yes_no ? grove_cmd_arg_is(c, i + 1, "yes") || grove_cmd_arg_is(c, i + 1, "no")
					  : c->argl[i + 1] < 20 && c->argl[i + 1] > 0;
		long long v;
		if (ok && !noops[k].yes_no)
			ok = grove_cmd__parse_ll(c->argv[i + 1], c->argl[i + 1], &v);
		if (!ok)
			set_failed(c, i, noops[k].yes_no ? "argument must be 'yes' or 'no'"
							 : "argument couldn't be parsed into an integer");
		return ok;
	}
	if (grove_cmd_arg_is(c, i, "maxclients") || grove_cmd_arg_is(c, i, "max-clients")) {
		op->limit = "max-clients";
		if (!parse_u64(c->argv[i + 1], c->argl[i + 1], 1, 1000000, &op->value)) {
			set_failed(c, i, "argument couldn't be parsed into an integer");
			return false;
		}
	} else if (grove_cmd_arg_is(c, i, "timeout") || grove_cmd_arg_is(c, i, "idle-timeout")) {
		op->limit = "idle-timeout";
		if (!parse_u64(c->argv[i + 1], c->argl[i + 1], 0, 86400u * 365, &op->value)) {
			set_failed(c, i, "argument couldn't be parsed into an integer");
			return false;
		}
	} else if (grove_cmd_arg_is(c, i, "loglevel") || grove_cmd_arg_is(c, i, "log-level")) {
		op->limit = "log-level";
		if (!parse_level(c, i + 1, &op->value)) {
			set_failed(c, i, "argument(s) must be one of the following: debug, verbose, notice, "
					 "warning"); /* Grove's names are accepted too */
			return false;
		}
	}
	if (op->limit && !c->env->server.limit) {
		set_failed(c, i, "can't set immutable config");
		return false;
	}
	if (op->limit)
		return true;
	known_ctx_t k = {.name = c->argv[i], .len = c->argl[i]};
	all_params(c->env, known_emit, &k);
	if (k.found)
		set_failed(c, i, "can't set immutable config");
	else
		grove_resp_errorf(c->out, "ERR Unknown option or number of arguments for CONFIG SET - '%.*s'",
				  (int)(c->argl[i] > 64 ? 64 : c->argl[i]), (const char *)c->argv[i]);
	return false;
}

#define SET_PAIRS_MAX 64

static void config_set(grove_cmd_call_t *c)
{
	if (c->argc < 4 || c->argc % 2 != 0 || (c->argc - 2) / 2 > SET_PAIRS_MAX) {
		grove_resp_error(c->out, "ERR wrong number of arguments for 'config|set' command");
		return;
	}
	set_op_t ops[SET_PAIRS_MAX];
	size_t n = (c->argc - 2) / 2;
	for (size_t p = 0; p < n; p++)
		if (!set_parse(c, 2 + 2 * p, &ops[p]))
			return;
	for (size_t p = 0; p < n; p++) {
		size_t vi = 3 + 2 * p;
		if (ops[p].noop >= 0) {
			char *dst = c->env->config_noops[ops[p].noop];
			snprintf(dst, GROVE_CONFIG_NOOP_BYTES, "%.*s", (int)c->argl[vi],
				 (const char *)c->argv[vi]);
			for (char *s = dst; *s; s++) /* yes/no in lower case, as Redis shows them */
				*s = (char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s);
		} else {
			c->env->server.limit(c->env->server.ctx, ops[p].limit, &ops[p].value, NULL);
		}
	}
	grove_resp_simple(c->out, "OK");
}

static void config_help(grove_cmd_call_t *c)
{
	static const char *const lines[] = {
		"CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"GET <pattern>",
		"    Return parameters matching the glob-like <pattern> and their values.",
		"SET <directive> <value>",
		"    Set the configuration <directive> to <value> (maxclients, timeout, loglevel;",
		"    encoding thresholds are accepted and have no effect).",
		"RESETSTAT",
		"    Reset statistics reported by the INFO command.",
		"HELP",
		"    Print this help.",
	};
	grove_cmd__reply_lines(c, lines, sizeof(lines) / sizeof(lines[0]));
}

void grove_cmd_do_config(grove_cmd_call_t *c)
{
	if (grove_cmd_arg_is(c, 1, "get")) {
		if (c->argc < 3)
			grove_resp_error(c->out, "ERR wrong number of arguments for 'config|get' command");
		else
			config_get(c);
	} else if (grove_cmd_arg_is(c, 1, "set")) {
		config_set(c);
	} else if (grove_cmd_arg_is(c, 1, "resetstat") && c->argc == 2) {
		grove_cmd__stats_reset(c->env);
		grove_resp_simple(c->out, "OK");
	} else if (grove_cmd_arg_is(c, 1, "help") && c->argc == 2) {
		config_help(c);
	} else {
		grove_resp_errorf(c->out, "ERR unknown subcommand or wrong number of arguments for "
					  "'%.*s'. Try CONFIG HELP.",
				  (int)(c->argl[1] > 64 ? 64 : c->argl[1]), (const char *)c->argv[1]);
	}
}
