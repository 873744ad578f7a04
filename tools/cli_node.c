/*
 * cli_node.c - grove subcommands over RESP: members, status and typed
 * operations (get, set, del, incr, decr, sadd, srem, smembers, hset, hget,
 * hdel, hgetall, lpush, rpush, lpop, rpop, lrange, keys, digest).
 *
 * Every command takes --node HOST:PORT (default $GROVE_NODE, else
 * 127.0.0.1:7379) and reads the password from $GROVE_PASSWORD (or
 * --password, which other users can see in ps); --tls and the TLS file
 * options (groved's --tls-* names) talk to a node's --tls-port.  Output is plain text, one
 * value per line; a server error goes to stderr with exit status 1; a nil
 * reply prints "(nil)", as redis-cli does, with exit status 4
 * (GROVE_CLI_NIL).  Write operations take --wait N [--wait-timeout MS]:
 * after the write, the same connection sends WAIT N MS; fewer than N
 * confirming peers is reported on stderr with exit status 3
 * (GROVE_CLI_UNCONFIRMED).  Every option goes before or after the command,
 * as --opt VALUE or --opt=VALUE.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cli_node.h"
#include "tools/grove_cli.h"
#include "tools/resp_client.h"

#define OP_ARGS_MAX 64
#define WAIT_TIMEOUT_DEFAULT_MS 5000 /* --wait-timeout */
#define WAIT_REPLY_SLACK_MS 5000     /* socket timeout beyond the WAIT timeout */

const char grove_cli_members_help[] =
	"usage: grove members [--node HOST:PORT]\n\n"
	"List the cluster members a node knows: id, gossip address, state\n"
	"(alive, suspect, dead, left) and incarnation.\n" GROVE_NODE_OPTIONS_HELP;
const char grove_cli_status_help[] =
	"usage: grove status [--node HOST:PORT]\n\n"
	"Summarize a node: id, addresses, durability, members by state, keys,\n"
	"root digest (equal digests = converged), uptime and clients.\n" GROVE_NODE_OPTIONS_HELP;
const char grove_cli_op_help[] =
	"usage: grove OP ARGS... [--node HOST:PORT]\n\n"
	"Typed operations against a node (RESP commands in brackets):\n"
	"  get KEY                 register value or counter value  [GET]\n"
	"  set KEY VALUE           LWW register write               [SET]\n"
	"  del KEY...              observed-remove delete           [DEL]\n"
	"  incr KEY [N]            PN-counter += N (default 1)      [INCRBY]\n"
	"  decr KEY [N]            PN-counter -= N (default 1)      [DECRBY]\n"
	"  sadd KEY MEMBER...      add-wins set add                 [SADD]\n"
	"  srem KEY MEMBER...      set remove                       [SREM]\n"
	"  smembers KEY            set members                      [SMEMBERS]\n"
	"  hset KEY FIELD VALUE... per-field LWW map write          [HSET]\n"
	"  hget KEY FIELD          map field                        [HGET]\n"
	"  hdel KEY FIELD...       map field delete                 [HDEL]\n"
	"  hgetall KEY             map fields and values            [HGETALL]\n"
	"  lpush KEY ELEMENT...    list push at the head            [LPUSH]\n"
	"  rpush KEY ELEMENT...    list push at the tail            [RPUSH]\n"
	"  lpop KEY / rpop KEY     list pop (observed-remove)       [LPOP, RPOP]\n"
	"  lrange KEY START STOP   list elements by index           [LRANGE]\n"
	"  keys [PATTERN]          keys matching a glob (default *)  [KEYS]\n"
	"  digest                  hex root digest of the node      [GROVE DIGEST]\n"
	"\n  --wait N          after a write (set, del, incr, decr, sadd, srem, hset,\n"
	"                    hdel, lpush, rpush, lpop, rpop), wait until N peers are\n"
	"                    known to hold it  [WAIT]\n"
	"  --wait-timeout MS give up waiting after MS ms (default 5000; 0: never);\n"
	"                    fewer than N peers by then: exit status 3\n" GROVE_NODE_OPTIONS_HELP;

typedef struct op {
	const char *name, *resp;
	int min_args, max_args; /* after the op name; -1: unbounded */
	const char *default_last; /* appended when only min_args were given */
	bool write;               /* --wait applies */
} op_t;

static const op_t ops[] = {
	{"get", "GET", 1, 1, NULL, false},          {"set", "SET", 2, 2, NULL, true},
	{"del", "DEL", 1, -1, NULL, true},          {"incr", "INCRBY", 1, 2, "1", true},
	{"decr", "DECRBY", 1, 2, "1", true},        {"sadd", "SADD", 2, -1, NULL, true},
	{"srem", "SREM", 2, -1, NULL, true},        {"smembers", "SMEMBERS", 1, 1, NULL, false},
	{"hset", "HSET", 3, -1, NULL, true},        {"hget", "HGET", 2, 2, NULL, false},
	{"hdel", "HDEL", 2, -1, NULL, true},        {"hgetall", "HGETALL", 1, 1, NULL, false},
	{"lpush", "LPUSH", 2, -1, NULL, true},      {"rpush", "RPUSH", 2, -1, NULL, true},
	{"lpop", "LPOP", 1, 1, NULL, true},         {"rpop", "RPOP", 1, 1, NULL, true},
	{"lrange", "LRANGE", 3, 3, NULL, false},
	{"keys", "KEYS", 0, 1, "*", false},         {"digest", "GROVE", 0, 0, "DIGEST", false},
};

typedef struct node_args {
	const char *node, *password;
	grove_rc_tls_t tls;
	const char *pos[OP_ARGS_MAX];
	int npos;
	long long wait_n;          /* --wait N; -1: not given */
	long long wait_timeout_ms; /* --wait-timeout MS */
	bool wait_timeout_given;
} node_args_t;

/* A non-negative decimal option value; false if malformed. */
static bool parse_count(const char *s, long long *out)
{
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < 0 || s[0] == '-' || s[0] == '+')
		return false;
	*out = v;
	return true;
}

/* The options of the commands that talk to a node; the OPT_ indexes name
 * them.  --tls alone takes no value; the TLS file options have groved's
 * names and redis-cli-like short aliases, and each implies --tls. */
enum { OPT_NODE, OPT_PASSWORD, OPT_WAIT, OPT_WAIT_TIMEOUT, OPT_TLS, OPT_TLS_CA, OPT_TLS_CERT, OPT_TLS_KEY };
typedef struct node_opt {
	const char *name;
	int opt;
	bool value; /* takes a value */
} node_opt_t;
static const node_opt_t node_options[] = {
	{"--node", OPT_NODE, true},
	{"--password", OPT_PASSWORD, true},
	{"--wait", OPT_WAIT, true},
	{"--wait-timeout", OPT_WAIT_TIMEOUT, true},
	{"--tls", OPT_TLS, false},
	{"--tls-ca-cert-file", OPT_TLS_CA, true},
	{"--tls-ca", OPT_TLS_CA, true},
	{"--tls-cert-file", OPT_TLS_CERT, true},
	{"--tls-cert", OPT_TLS_CERT, true},
	{"--tls-key-file", OPT_TLS_KEY, true},
	{"--tls-key", OPT_TLS_KEY, true},
};
#define NODE_OPTIONS_COUNT (sizeof(node_options) / sizeof(node_options[0]))

/* The node option argument a is ("--node" or "--node=..."): its table
 * entry, or NULL; *value is set for the "=" form. */
static const node_opt_t *node_option(const char *a, const char **value)
{
	*value = NULL;
	for (size_t k = 0; k < NODE_OPTIONS_COUNT; k++) {
		size_t n = strlen(node_options[k].name);
		if (strncmp(a, node_options[k].name, n) != 0 || (a[n] != '\0' && (a[n] != '=' || !node_options[k].value)))
			continue;
		if (a[n] == '=')
			*value = a + n + 1;
		return &node_options[k];
	}
	return NULL;
}

int grove_cli_node_option_span(int argc, char **argv)
{
	const char *value;
	const node_opt_t *o = argc >= 1 ? node_option(argv[0], &value) : NULL;
	if (o == NULL)
		return -1;
	if (value || !o->value)
		return 1;
	return argc >= 2 ? 2 : 0;
}

/* Stores option k's value; false: a malformed --wait/--wait-timeout. */
static bool set_node_option(node_args_t *a, int k, const char *value)
{
	long long v;
	switch (k) {
	case OPT_NODE: a->node = value; return true;
	case OPT_PASSWORD: a->password = value; return true;
	case OPT_TLS: a->tls.on = true; return true;
	case OPT_TLS_CA: a->tls.on = true, a->tls.ca_file = value; return true;
	case OPT_TLS_CERT: a->tls.on = true, a->tls.cert_file = value; return true;
	case OPT_TLS_KEY: a->tls.on = true, a->tls.key_file = value; return true;
	case OPT_WAIT:
		if (!parse_count(value, &v))
			return false;
		a->wait_n = v;
		return true;
	default:
		if (!parse_count(value, &v))
			return false;
		a->wait_timeout_ms = v;
		a->wait_timeout_given = true;
		return true;
	}
}

/* Splits argv[1..] into node options (--wait and --wait-timeout only
 * with allow_wait) and positional arguments. */
static int parse_node_args(const char *cmd, const char *help, int argc, char **argv, node_args_t *a,
			   bool allow_wait)
{
	a->node = getenv("GROVE_NODE") ? getenv("GROVE_NODE") : GROVE_RC_NODE_DEFAULT;
	a->password = getenv("GROVE_PASSWORD");
	memset(&a->tls, 0, sizeof a->tls);
	a->npos = 0;
	a->wait_n = -1;
	a->wait_timeout_ms = WAIT_TIMEOUT_DEFAULT_MS;
	a->wait_timeout_given = false;
	for (int i = 1; i < argc; i++) {
		const char *value;
		const node_opt_t *o = node_option(argv[i], &value);
		if (o != NULL) {
			bool wait = o->opt == OPT_WAIT || o->opt == OPT_WAIT_TIMEOUT;
			if ((wait && !allow_wait) || (o->value && !value && i + 1 >= argc))
				return grove_cli_usage(cmd, help);
			if (o->value && !value)
				value = argv[++i];
			if (!set_node_option(a, o->opt, value))
				return grove_cli_usage(cmd, help);
		} else if (a->npos < OP_ARGS_MAX) {
			a->pos[a->npos++] = argv[i];
		} else {
			return grove_cli_usage(cmd, help);
		}
	}
	return 0;
}

/* Connects and authenticates; prints the error and returns 1 on failure. */
static int node_connect(const char *cmd, const node_args_t *a, grove_rc_t *rc)
{
	char err[256];
	if (grove_rc_connect_tls(rc, a->node, &a->tls, err, sizeof(err)) < 0) {
		grove_cli_error(cmd, "%s", err);
		return GROVE_CLI_ERROR;
	}
	if (!a->password)
		return 0;
	const char *argv[] = {"AUTH", a->password};
	grove_rc_reply_t *r = NULL;
	int err2 = grove_rc_command(rc, 2, argv, NULL, &r);
	int bad = err2 < 0 || r->type == GROVE_RC_ERROR;
	if (bad)
		grove_cli_error(cmd, "AUTH: %s", err2 < 0 ? (rc->why[0] ? rc->why : grove_strerror(err2)) : r->str);
	grove_rc_reply_free(r);
	if (bad)
		grove_rc_close(rc);
	return bad ? GROVE_CLI_ERROR : 0;
}

/* WAIT a->wait_n a->wait_timeout_ms on rc; *confirmed gets the answer.
 * The socket waits WAIT_REPLY_SLACK_MS longer than WAIT itself (forever
 * with --wait-timeout 0). */
static int node_wait(const char *cmd, const node_args_t *a, grove_rc_t *rc, long long *confirmed)
{
	char n[24], t[24];
	snprintf(n, sizeof(n), "%lld", a->wait_n);
	snprintf(t, sizeof(t), "%lld", a->wait_timeout_ms);
	const char *argv[] = {"WAIT", n, t};
	uint64_t sock_ms = a->wait_timeout_ms ? (uint64_t)a->wait_timeout_ms + WAIT_REPLY_SLACK_MS : 0;
	grove_rc_reply_t *r = NULL;
	int err = grove_rc_set_timeout(rc, sock_ms);
	if (err == 0)
		err = grove_rc_command(rc, 3, argv, NULL, &r);
	int status = GROVE_CLI_ERROR;
	if (err < 0)
		grove_cli_error(cmd, "WAIT on %s: %s", a->node, grove_strerror(err));
	else if (r->type != GROVE_RC_INTEGER)
		grove_cli_error(cmd, "WAIT on %s: %s", a->node, r->type == GROVE_RC_ERROR ? r->str : "not an integer");
	else
		status = 0, *confirmed = r->integer;
	grove_rc_reply_free(r);
	return status;
}

/* Runs one command; on success *out holds a non-error reply.  With
 * confirmed (not NULL), then WAITs on the same connection (node_wait). */
static int node_call(const char *cmd, const node_args_t *a, size_t argc, const char *const *argv,
		     grove_rc_reply_t **out, long long *confirmed)
{
	grove_rc_t rc;
	int status = node_connect(cmd, a, &rc);
	if (status)
		return status;
	int err = grove_rc_command(&rc, argc, argv, NULL, out);
	if (err == 0 && (*out)->type != GROVE_RC_ERROR && confirmed &&
	    (status = node_wait(cmd, a, &rc, confirmed)) != 0) {
		grove_rc_reply_print(stdout, *out); /* the write itself succeeded */
		grove_rc_reply_free(*out);
	}
	grove_rc_close(&rc);
	if (status)
		return status;
	if (err < 0) {
		grove_cli_error(cmd, "%s: %s", a->node, rc.why[0] ? rc.why : grove_strerror(err));
		return GROVE_CLI_ERROR;
	}
	if ((*out)->type == GROVE_RC_ERROR) {
		grove_cli_error(cmd, "%s", (*out)->str);
		grove_rc_reply_free(*out);
		return GROVE_CLI_ERROR;
	}
	return 0;
}

int grove_cli_op(int argc, char **argv)
{
	const op_t *op = NULL;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]) && !op; i++)
		if (!strcmp(ops[i].name, argv[0]))
			op = &ops[i];
	node_args_t a;
	int status = op ? parse_node_args(argv[0], grove_cli_op_help, argc, argv, &a, true)
			: grove_cli_usage(argv[0], grove_cli_op_help);
	if (status)
		return status;
	if (a.npos < op->min_args || (op->max_args >= 0 && a.npos > op->max_args) ||
	    (!strcmp(op->name, "hset") && a.npos % 2 == 0))
		return grove_cli_usage(argv[0], grove_cli_op_help);
	if ((a.wait_n >= 0 || a.wait_timeout_given) && !op->write) {
		grove_cli_error(argv[0], "--wait applies to writes (set, del, incr, decr, sadd, srem, hset, hdel)");
		return GROVE_CLI_USAGE;
	}
	if (a.wait_timeout_given && a.wait_n < 0) {
		grove_cli_error(argv[0], "--wait-timeout needs --wait N");
		return GROVE_CLI_USAGE;
	}
	const char *req[OP_ARGS_MAX + 2];
	size_t n = 0;
	req[n++] = op->resp;
	for (int i = 0; i < a.npos; i++)
		req[n++] = a.pos[i];
	if (a.npos == op->min_args && op->default_last)
		req[n++] = op->default_last;
	grove_rc_reply_t *r;
	long long confirmed = 0;
	if ((status = node_call(argv[0], &a, n, req, &r, a.wait_n >= 0 ? &confirmed : NULL)) != 0)
		return status;
	grove_rc_reply_print(stdout, r);
	status = r->type == GROVE_RC_NIL ? GROVE_CLI_NIL : GROVE_CLI_OK;
	grove_rc_reply_free(r);
	if (a.wait_n >= 0 && confirmed < a.wait_n) {
		grove_cli_error(argv[0], "written on %s, but only %lld of %lld peers are known to hold it "
					 "after %lld ms",
				a.node, confirmed, a.wait_n, a.wait_timeout_ms);
		return GROVE_CLI_UNCONFIRMED;
	}
	return status;
}

int grove_cli_members(int argc, char **argv)
{
	node_args_t a;
	int status = parse_node_args("members", grove_cli_members_help, argc, argv, &a, false);
	if (status || a.npos)
		return status ? status : grove_cli_usage("members", grove_cli_members_help);
	const char *req[] = {"GROVE", "MEMBERS"};
	grove_rc_reply_t *r;
	if ((status = node_call("members", &a, 2, req, &r, NULL)) != 0)
		return status;
	printf("%-24s %-28s %-8s %s\n", "ID", "ADDRESS", "STATE", "INCARNATION");
	for (size_t i = 0; r->type == GROVE_RC_ARRAY && i < r->count; i++) {
		const grove_rc_reply_t *m = r->elements[i];
		if (m->type != GROVE_RC_ARRAY || m->count != 4)
			continue;
		printf("%-24s %-28s %-8s %lld\n", m->elements[0]->str ? m->elements[0]->str : "",
		       m->elements[1]->str ? m->elements[1]->str : "",
		       m->elements[2]->str ? m->elements[2]->str : "", m->elements[3]->integer);
	}
	grove_rc_reply_free(r);
	return GROVE_CLI_OK;
}

/* Prints the INFO fields named in keys[] as "label: value". */
static void print_info_fields(const char *info)
{
	static const char *const keys[][2] = {
		{"node_id", "node"},           {"client_address", "clients on"},
		{"gossip_address", "gossip on"}, {"durability", "durability"},
		{"grove_members", "members"},  {"members_alive", "  alive"},
		{"members_suspect", "  suspect"}, {"members_dead", "  dead"},
		{"members_left", "  left"},    {"keys", "keys"},
		{"root_digest", "digest"},     {"uptime_in_seconds", "uptime (s)"},
		{"connected_clients", "connected clients"},
	};
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		size_t klen = strlen(keys[k][0]);
		for (const char *line = info; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
			if (!strncmp(line, keys[k][0], klen) && line[klen] == ':') {
				int vlen = (int)strcspn(line + klen + 1, "\r\n");
				printf("%-18s %.*s\n", keys[k][1], vlen, line + klen + 1);
				break;
			}
		}
	}
}

int grove_cli_status(int argc, char **argv)
{
	node_args_t a;
	int status = parse_node_args("status", grove_cli_status_help, argc, argv, &a, false);
	if (status || a.npos)
		return status ? status : grove_cli_usage("status", grove_cli_status_help);
	const char *req[] = {"INFO", "everything"};
	grove_rc_reply_t *r;
	if ((status = node_call("status", &a, 2, req, &r, NULL)) != 0)
		return status;
	if (r->type == GROVE_RC_BULK)
		print_info_fields(r->str);
	grove_rc_reply_free(r);
	return GROVE_CLI_OK;
}

int grove_cli_node_connect(const char *cmd, const char *help, int argc, char **argv, grove_rc_t *rc,
			   const char **pos, int *npos, const char **node)
{
	node_args_t a;
	int status = parse_node_args(cmd, help, argc, argv, &a, false);
	if (status)
		return status;
	if (a.npos > *npos)
		return grove_cli_usage(cmd, help);
	for (int i = 0; i < a.npos; i++)
		pos[i] = a.pos[i];
	*npos = a.npos;
	*node = a.node;
	return rc ? node_connect(cmd, &a, rc) : 0;
}
