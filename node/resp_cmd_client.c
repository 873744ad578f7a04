/*
 * resp_cmd_client.c - CLIENT: SETNAME, GETNAME, ID, INFO, LIST [TYPE t]
 * [ID id...], KILL (addr, or ID / ADDR / LADDR / TYPE / USER / SKIPME
 * filters), REPLY ON|OFF|SKIP, PAUSE timeout [WRITE|ALL], UNPAUSE, HELP,
 * and SETINFO / NO-EVICT / NO-TOUCH accepted as no-ops.
 *
 * LIST and KILL see every connection through the server's hooks
 * (env->server, resp_server.c); without them (tests, embedded use) only
 * the calling connection exists.  A CLIENT LIST line carries Redis 7.0's
 * fields; those Grove has no counterpart for are constant (db=0, sub=0,
 * flags=N, user=default, resp=2) and the memory fields count the input
 * and output buffers only.
 */
#include <stdio.h>
#include <string.h>

#include "grove/alloc.h"
#include "node/resp_commands_int.h"

#define CLIENT_LINE_BYTES (GROVE_CLIENT_NAME_MAX + 3 * GROVE_ADDR_MAX + 512)

static bool valid_client_name(const uint8_t *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return false;
	return n <= GROVE_CLIENT_NAME_MAX;
}

/* The caller as a view, when the server cannot list connections. */
static void self_view(const grove_cmd_call_t *c, grove_client_view_t *v)
{
	memset(v, 0, sizeof(*v));
	v->id = c->client->id;
	v->fd = -1;
	snprintf(v->addr, sizeof(v->addr), "%s", c->client->addr);
	snprintf(v->name, sizeof(v->name), "%s", c->client->name);
	v->multi = c->client->in_multi ? (long long)c->client->queue_n : -1;
}

static void format_line(const grove_cmd_call_t *c, const grove_client_view_t *v, char *line)
{
	const char *laddr = c->env->server.laddr ? c->env->server.laddr : c->env->client_addr;
	snprintf(line, CLIENT_LINE_BYTES,
		 "id=%llu addr=%s laddr=%s fd=%d name=%s age=%llu idle=%llu flags=%s db=0 sub=0 "
		 "psub=0 ssub=0 multi=%lld qbuf=%llu qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 "
		 "rbp=0 obl=%llu oll=0 omem=%llu tot-mem=%llu events=r cmd=NULL user=default "
		 "redir=-1 resp=2\n",
		 (unsigned long long)v->id, v->addr, laddr, v->fd, v->name,
		 (unsigned long long)v->age_s, (unsigned long long)v->idle_s,
		 v->multi >= 0 ? "x" : "N", v->multi, (unsigned long long)v->qbuf,
		 (unsigned long long)v->obl, (unsigned long long)v->obl,
		 (unsigned long long)(v->qbuf + v->obl));
}

/* Every connection (or just the caller); *n views, malloc'd. */
static grove_client_view_t *list_views(const grove_cmd_call_t *c, size_t *n)
{
	const grove_cmd_server_hooks_t *h = &c->env->server;
	size_t max = h->list ? GROVE_CLIENTS_LIST_MAX : 1;
	grove_client_view_t *v = grove_malloc(max * sizeof(*v));
	if (!v)
		return NULL;
	if (h->list) {
		*n = h->list(h->ctx, v, max);
	} else {
		self_view(c, v);
		*n = 1;
	}
	for (size_t i = 0; i < *n; i++) /* the caller's own state is current */
		if (v[i].id == c->client->id)
			v[i].multi = c->client->in_multi ? (long long)c->client->queue_n : -1;
	return v;
}

/* Strict unsigned decimal (client ids). */
static bool parse_id(const uint8_t *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0 || n > 19)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

/* CLIENT LIST [TYPE t] [ID id ...]: Redis takes one of the two. */
static void client_list(grove_cmd_call_t *c)
{
	if (c->argc == 4 && grove_cmd_arg_is(c, 2, "type")) {
		bool normal = grove_cmd_arg_is(c, 3, "normal");
		if (!normal && !grove_cmd_arg_is(c, 3, "master") && !grove_cmd_arg_is(c, 3, "replica") &&
		    !grove_cmd_arg_is(c, 3, "slave") && !grove_cmd_arg_is(c, 3, "pubsub")) {
			grove_resp_errorf(c->out, "ERR Unknown client type '%.*s'",
					  (int)(c->argl[3] > 64 ? 64 : c->argl[3]), (const char *)c->argv[3]);
			return;
		}
		if (!normal) { /* Grove has no replica or pubsub connections */
			grove_resp_bulk(c->out, "", 0);
			return;
		}
	} else if (c->argc >= 4 && grove_cmd_arg_is(c, 2, "id")) {
		for (size_t i = 3; i < c->argc; i++) {
			uint64_t id;
			if (!parse_id(c->argv[i], c->argl[i], &id) || id == 0) {
				grove_resp_error(c->out, "ERR Invalid client ID");
				return;
			}
		}
	} else if (c->argc != 2) {
		grove_cmd_reply_syntax(c);
		return;
	}
	bool by_id = c->argc >= 4 && grove_cmd_arg_is(c, 2, "id");
	size_t n = 0;
	grove_client_view_t *v = list_views(c, &n);
	grove_buf_t text;
	grove_buf_init(&text, 0);
	char *line = grove_malloc(CLIENT_LINE_BYTES);
	for (size_t i = 0; v && line && i < n; i++) {
		bool want = !by_id;
		for (size_t k = 3; by_id && k < c->argc && !want; k++) {
			uint64_t id;
			want = parse_id(c->argv[k], c->argl[k], &id) && id == v[i].id;
		}
		if (!want)
			continue;
		format_line(c, &v[i], line);
		grove_buf_append(&text, line, strlen(line));
	}
	if (!v || !line || grove_buf_failed(&text))
		grove_resp_error(c->out, "ERR out of memory");
	else
		grove_resp_bulk(c->out, text.data, text.len);
	grove_free(line);
	grove_free(v);
	grove_buf_close(&text);
}

/* CLIENT KILL filters; ok false after a reply (syntax, bad id). */
typedef struct kill_filter {
	bool has_id, has_addr, has_laddr, skipme, none;
	uint64_t id;
	const uint8_t *addr, *laddr;
	size_t addr_len, laddr_len;
} kill_filter_t;

static bool kill_filter_parse(grove_cmd_call_t *c, kill_filter_t *f)
{
	memset(f, 0, sizeof(*f));
	f->skipme = true;
	for (size_t i = 2; i < c->argc; i += 2) {
		if (i + 1 >= c->argc) {
			grove_cmd_reply_syntax(c);
			return false;
		}
		const uint8_t *val = c->argv[i + 1];
		size_t vl = c->argl[i + 1];
		if (grove_cmd_arg_is(c, i, "id")) {
			if (!parse_id(val, vl, &f->id) || f->id == 0) {
				grove_resp_error(c->out, "ERR client-id should be greater than 0");
				return false;
			}
			f->has_id = true;
		} else if (grove_cmd_arg_is(c, i, "addr")) {
			f->has_addr = true, f->addr = val, f->addr_len = vl;
		} else if (grove_cmd_arg_is(c, i, "laddr")) {
			f->has_laddr = true, f->laddr = val, f->laddr_len = vl;
		} else if (grove_cmd_arg_is(c, i, "type")) {
			if (!grove_cmd_arg_is(c, i + 1, "normal")) {
				if (!grove_cmd_arg_is(c, i + 1, "master") && !grove_cmd_arg_is(c, i + 1, "replica") &&
				    !grove_cmd_arg_is(c, i + 1, "slave") && !grove_cmd_arg_is(c, i + 1, "pubsub")) {
					grove_resp_errorf(c->out, "ERR Unknown client type '%.*s'",
							  (int)(vl > 64 ? 64 : vl), (const char *)val);
					return false;
				}
				f->none = true;
			}
		} else if (grove_cmd_arg_is(c, i, "user")) {
			f->none |= !grove_cmd_arg_is(c, i + 1, "default");
		} else if (grove_cmd_arg_is(c, i, "skipme")) {
			if (grove_cmd_arg_is(c, i + 1, "yes"))
				f->skipme = true;
			else if (grove_cmd_arg_is(c, i + 1, "no"))
				f->skipme = false;
			else {
				grove_cmd_reply_syntax(c);
				return false;
			}
		} else {
			grove_cmd_reply_syntax(c);
			return false;
		}
	}
	return true;
}

static bool kill_match(const grove_cmd_call_t *c, const kill_filter_t *f,
		       const grove_client_view_t *v)
{
	const char *laddr = c->env->server.laddr ? c->env->server.laddr : c->env->client_addr;
	if (f->none || (f->skipme && v->id == c->client->id))
		return false;
	if (f->has_id && f->id != v->id)
		return false;
	if (f->has_addr && (strlen(v->addr) != f->addr_len || memcmp(v->addr, f->addr, f->addr_len)))
		return false;
	return !f->has_laddr ||
	       (strlen(laddr) == f->laddr_len && memcmp(laddr, f->laddr, f->laddr_len) == 0);
}

/* Kills the matching connections; returns how many. */
static long long kill_matching(grove_cmd_call_t *c, const kill_filter_t *f)
{
	size_t n = 0;
	grove_client_view_t *v = list_views(c, &n);
	long long killed = 0;
	for (size_t i = 0; v && i < n; i++) {
		if (!kill_match(c, f, &v[i]))
			continue;
		if (v[i].id == c->client->id) { /* after this reply, as Redis */
			c->result |= GROVE_CMD_CLOSE;
			killed++;
		} else if (c->env->server.kill &&
			   c->env->server.kill(c->env->server.ctx, v[i].id) == 0) {
			killed++;
		}
	}
	grove_free(v);
	return killed;
}

static void client_kill(grove_cmd_call_t *c)
{
	kill_filter_t f;
	if (c->argc == 3) { /* old form: CLIENT KILL addr, the caller included */
		memset(&f, 0, sizeof(f));
		f.has_addr = true, f.addr = c->argv[2], f.addr_len = c->argl[2];
		if (kill_matching(c, &f) == 0)
			grove_resp_error(c->out, "ERR No such client");
		else
			grove_resp_simple(c->out, "OK");
		return;
	}
	if (kill_filter_parse(c, &f))
		grove_resp_int(c->out, kill_matching(c, &f));
}

static void client_help(grove_cmd_call_t *c)
{
	static const char *const lines[] = {
		"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"GETNAME",
		"    Return the name of the current connection.",
		"ID",
		"    Return the ID of the current connection.",
		"INFO",
		"    Return information about the current client connection.",
		"KILL <ip:port>",
		"    Kill connection made from <ip:port>.",
		"KILL <option> <value> [<option> <value> [...]]",
		"    Kill connections. Options are:",
		"    * ADDR (<ip:port>|<unixsocket>:0)",
		"      Kill connections made from the specified address",
		"    * LADDR (<ip:port>|<unixsocket>:0)",
		"      Kill connections made to specified local address",
		"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
		"      Kill connections by type.",
		"    * USER <username>",
		"      Kill connections authenticated by <username>.",
		"    * SKIPME (YES|NO)",
		"      Skip killing current connection (default: yes).",
		"    * ID <client-id>",
		"      Kill connections by client id.",
		"LIST [options ...]",
		"    Return information about client connections. Options:",
		"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
		"      Return clients of specified type.",
		"    * ID <client-id> [<client-id> ...]",
		"      Return clients of specified IDs only.",
		"PAUSE <timeout> [WRITE|ALL]",
		"    Suspend all, or just write, clients for <timeout> milliseconds.",
		"UNPAUSE",
		"    Stop the current client pause, resuming traffic.",
		"REPLY (ON|OFF|SKIP)",
		"    Control the replies sent to the current connection.",
		"SETNAME <name>",
		"    Assign the name <name> to the current connection.",
		"SETINFO <option> <value>, NO-EVICT (ON|OFF), NO-TOUCH (ON|OFF)",
		"    Accepted and ignored (Grove does not evict).",
		"HELP",
		"    Print this help.",
	};
	grove_cmd__reply_lines(c, lines, sizeof(lines) / sizeof(lines[0]));
}

/* CLIENT REPLY ON|OFF|SKIP: the dispatcher drops the replies (this one
 * included, for OFF and SKIP). */
static void client_reply(grove_cmd_call_t *c)
{
	if (grove_cmd_arg_is(c, 2, "on")) {
		c->client->reply_off = false;
		c->client->reply_skip = 0;
		grove_resp_simple(c->out, "OK");
	} else if (grove_cmd_arg_is(c, 2, "off")) {
		c->client->reply_off = true;
	} else if (grove_cmd_arg_is(c, 2, "skip")) {
		c->client->reply_skip = 2;
	} else {
		grove_cmd_reply_syntax(c);
	}
}

static void client_setname(grove_cmd_call_t *c)
{
	if (!valid_client_name(c->argv[2], c->argl[2])) {
		grove_resp_error(c->out, "ERR Client names cannot contain spaces, newlines "
					 "or special characters.");
		return;
	}
	memcpy(c->client->name, c->argv[2], c->argl[2]);
	c->client->name[c->argl[2]] = 0;
	grove_resp_simple(c->out, "OK");
}

/* CLIENT PAUSE timeout [WRITE|ALL]: the server holds every client's next
 * command (ALL) or next batch holding a write (WRITE) until the timeout
 * or CLIENT UNPAUSE; Redis's checks, in Redis's order. */
static void client_pause(grove_cmd_call_t *c)
{
	bool writes_only = false;
	if (c->argc == 4) {
		if (grove_cmd_arg_is(c, 3, "write")) {
			writes_only = true;
		} else if (!grove_cmd_arg_is(c, 3, "all")) {
			grove_resp_error(c->out, "ERR CLIENT PAUSE mode must be WRITE or ALL");
			return;
		}
	}
	long long ms;
	if (!grove_cmd__parse_ll(c->argv[2], c->argl[2], &ms)) {
		grove_resp_error(c->out, "ERR timeout is not an integer or out of range");
		return;
	}
	if (ms < 0) {
		grove_resp_error(c->out, "ERR timeout is negative");
		return;
	}
	if (!c->env->server.pause) {
		grove_resp_error(c->out, "ERR CLIENT PAUSE needs the server (not available here)");
		return;
	}
	c->env->server.pause(c->env->server.ctx, (uint64_t)ms, writes_only, false);
	grove_resp_simple(c->out, "OK");
}

void grove_cmd_do_client(grove_cmd_call_t *c)
{
	if (grove_cmd_arg_is(c, 1, "setname") && c->argc == 3) {
		client_setname(c);
	} else if (grove_cmd_arg_is(c, 1, "getname") && c->argc == 2) {
		if (c->client->name[0])
			grove_resp_bulk_str(c->out, c->client->name);
		else
			grove_resp_null(c->out);
	} else if (grove_cmd_arg_is(c, 1, "id") && c->argc == 2) {
		grove_resp_int(c->out, (long long)c->client->id);
	} else if (grove_cmd_arg_is(c, 1, "info") && c->argc == 2) {
		grove_client_view_t v;
		char line[CLIENT_LINE_BYTES];
		size_t n = 0;
		grove_client_view_t *all = list_views(c, &n);
		self_view(c, &v);
		for (size_t i = 0; all && i < n; i++)
			if (all[i].id == c->client->id)
				v = all[i];
		grove_free(all);
		format_line(c, &v, line);
		grove_resp_bulk_str(c->out, line);
	} else if (grove_cmd_arg_is(c, 1, "list")) {
		client_list(c);
	} else if (grove_cmd_arg_is(c, 1, "kill") && c->argc >= 3) {
		client_kill(c);
	} else if (grove_cmd_arg_is(c, 1, "help") && c->argc == 2) {
		client_help(c);
	} else if (grove_cmd_arg_is(c, 1, "reply") && c->argc == 3) {
		client_reply(c);
	} else if (grove_cmd_arg_is(c, 1, "pause") && c->argc >= 3) {
		if (c->argc > 4) /* Redis 7.0's text for this case */
			grove_resp_error(c->out, "ERR unknown subcommand or wrong number of arguments "
						 "for 'PAUSE'. Try CLIENT HELP.");
		else
			client_pause(c);
	} else if (grove_cmd_arg_is(c, 1, "unpause")) {
		if (c->argc != 2) {
			grove_resp_error(c->out,
					 "ERR wrong number of arguments for 'client|unpause' command");
			return;
		}
		if (c->env->server.pause)
			c->env->server.pause(c->env->server.ctx, 0, false, true);
		grove_resp_simple(c->out, "OK");
	} else if (grove_cmd_arg_is(c, 1, "setinfo") || grove_cmd_arg_is(c, 1, "no-evict") ||
		   grove_cmd_arg_is(c, 1, "no-touch")) {
		grove_resp_simple(c->out, "OK");
	} else {
		grove_resp_errorf(c->out, "ERR unknown subcommand '%.*s'. Try CLIENT HELP.",
				  (int)(c->argl[1] > 64 ? 64 : c->argl[1]), (const char *)c->argv[1]);
	}
}
