/*
 * resp_cmd_monitor.c - MONITOR: every command this node executes, as
 * Redis prints it, streamed to the monitoring connections:
 *   +1733500000.123456 [0 127.0.0.1:50012] "set" "k" "v"
 * (seconds.microseconds, db 0 and the client's address, the arguments
 * quoted as Redis's sdscatrepr does: \\ \" \n \r \t \a \b, other bytes
 * outside printable ASCII as \xHH).  Lines are built only while a monitor
 * is connected (env->monitors); the server (resp_server.c) takes them from
 * any command thread and appends them to each monitor's output on its
 * loop.  AUTH and HELLO are not shown (they carry passwords), as Redis
 * hides them; an argument is shown up to GROVE_MONITOR_ARG_SHOWN bytes,
 * then "..." (Redis shows it whole), so one line stays bounded.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "node/resp_commands_int.h"

#define GROVE_MONITOR_ARG_SHOWN 1024
#define GROVE_MONITOR_ARGS_SHOWN 256

static void repr(grove_buf_t *b, const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	bool cut = n > GROVE_MONITOR_ARG_SHOWN;
	if (cut)
		n = GROVE_MONITOR_ARG_SHOWN;
	grove_buf_append(b, " \"", 2);
	for (size_t i = 0; i < n; i++) {
		uint8_t ch = p[i];
		const char *esc = ch == '\\' ? "\\\\" : ch == '"' ? "\\\"" : ch == '\n' ? "\\n"
				  : ch == '\r' ? "\\r" : ch == '\t' ? "\\t" : ch == '\a' ? "\\a"
				  : ch == '\b' ? "\\b" : NULL;
		if (esc) {
			grove_buf_append(b, esc, 2);
		} else if (ch >= 0x20 && ch < 0x7f) {
			grove_buf_append(b, &ch, 1);
		} else {
			char x[4] = {'\\', 'x', hex[ch >> 4], hex[ch & 15]};
			grove_buf_append(b, x, 4);
		}
	}
	grove_buf_append(b, cut ? "...\"" : "\"", cut ? 4 : 1);
}

void grove_cmd__monitor_feed(grove_cmd_call_t *c, const grove_cmd_t *cmd)
{
	const grove_cmd_server_hooks_t *h = &c->env->server;
	if (atomic_load(&c->env->monitors) == 0 || !h->monitor_feed || !cmd)
		return;
	if (cmd->fn == grove_cmd_do_monitor || strcmp(cmd->name, "auth") == 0 ||
	    strcmp(cmd->name, "hello") == 0)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	grove_buf_t b;
	grove_buf_init(&b, 0);
	grove_buf_appendf(&b, "+%lld.%06ld [0 %s]", (long long)ts.tv_sec, ts.tv_nsec / 1000,
			  c->client->addr[0] ? c->client->addr : "127.0.0.1:0");
	for (size_t i = 0; i < c->argc && i < GROVE_MONITOR_ARGS_SHOWN; i++)
		repr(&b, c->argv[i], c->argl[i]);
	grove_buf_append(&b, "\r\n", 2);
	if (!grove_buf_failed(&b))
		h->monitor_feed(h->ctx, (const char *)b.data, b.len);
	grove_buf_close(&b);
}

/* MONITOR: this connection receives every later command's line. */
void grove_cmd_do_monitor(grove_cmd_call_t *c)
{
	const grove_cmd_server_hooks_t *h = &c->env->server;
	if (!h->monitor_start || !h->monitor_feed) {
		grove_resp_error(c->out, "ERR MONITOR needs the server (not available here)");
		return;
	}
	int rc = h->monitor_start(h->ctx, c->client->id);
	if (rc < 0)
		grove_cmd_reply_db_error(c, rc);
	else
		grove_resp_simple(c->out, "OK");
}
