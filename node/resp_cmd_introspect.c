/*
 * resp_cmd_introspect.c - COMMAND: COUNT, LIST [FILTERBY ...], INFO,
 * GETKEYS, DOCS, HELP, with Redis 7.0's reply shapes and error texts.
 *
 * A command's key positions (first, last, step, as Redis's legacy COMMAND
 * INFO fields) come from key_range: most commands take one key at
 * argument 1; the multi-key and keyless ones are named in two lists here.
 * COMMAND INFO entries have Redis 7's ten fields; the flags are "write" or
 * "readonly", the ACL categories @write or @read, and tips, key specs and
 * subcommands are empty (Grove has no ACLs and no cluster slots).  COMMAND
 * DOCS answers each command's summary (with its CRDT rule), the Grove
 * version and Redis's command group, without argument specs.
 */
#include <string.h>

#include "base/buf.h"
#include "node/resp_commands_int.h"
#include "storage/glob.h"

static const char *const multi_key[] = {"del",         "unlink",      "exists",     "touch",
					"mget",        "watch",       "sinter",     "sunion",
					"sdiff",       "sinterstore", "sunionstore", "sdiffstore",
					NULL};
static const char *const pair_keys[] = {"mset", "msetnx", NULL};
static const char *const two_keys[] = {"rename", "renamenx", "copy", "lcs", "smove", NULL};
static const char *const keyless[] = {
	"ping",     "echo",     "select", "command",   "keys",    "dbsize", "scan",
	"info",     "config",   "client", "hello",     "auth",    "quit",   "multi",
	"exec",     "discard",  "unwatch", "randomkey", "flushdb", "flushall", "grove",
	"wait",     "sintercard", "object", "monitor", NULL, /* sintercard: movable keys, as Redis's 0 0 0 */
};

static bool named(const char *const *list, const char *name)
{
	for (; *list; list++)
		if (strcmp(*list, name) == 0)
			return true;
	return false;
}

/* Key positions; first 0 when the command takes no key. */
static void key_range(const grove_cmd_t *cmd, int *first, int *last, int *step)
{
	*first = *last = *step = 0;
	if (named(keyless, cmd->name) || cmd->arity == 1 || cmd->arity == -1)
		return;
	*first = 1;
	*step = 1;
	*last = 1;
	if (named(multi_key, cmd->name)) {
		*last = -1;
	} else if (named(two_keys, cmd->name)) {
		*last = 2;
	} else if (named(pair_keys, cmd->name)) {
		*last = -1;
		*step = 2;
	}
}

static void command_entry(grove_buf_t *out, const grove_cmd_t *cmd)
{
	int first, last, step;
	key_range(cmd, &first, &last, &step);
	bool write = cmd->flags & GROVE_CMD_WRITE;
	grove_resp_array(out, 10);
	grove_resp_bulk_str(out, cmd->name);
	grove_resp_int(out, cmd->arity);
	grove_resp_array(out, 1);
	grove_resp_simple(out, write ? "write" : "readonly");
	grove_resp_int(out, first);
	grove_resp_int(out, last);
	grove_resp_int(out, step);
	grove_resp_array(out, 1);
	grove_resp_simple(out, write ? "@write" : "@read");
	grove_resp_array(out, 0); /* tips */
	grove_resp_array(out, 0); /* key specs */
	grove_resp_array(out, 0); /* subcommands */
}

static bool arity_ok(const grove_cmd_t *cmd, size_t argc)
{
	return cmd->arity >= 0 ? argc == (size_t)cmd->arity : argc >= (size_t)-cmd->arity;
}

/* COMMAND GETKEYS command arg...: the keys the command would touch. */
static void command_getkeys(grove_cmd_call_t *c)
{
	const grove_cmd_t *cmd = grove_cmd_lookup(c->argv[2], c->argl[2]);
	size_t argc = c->argc - 2;
	if (!cmd) {
		grove_resp_error(c->out, "ERR Invalid command specified");
		return;
	}
	if (!arity_ok(cmd, argc)) {
		grove_resp_error(c->out, "ERR Invalid number of arguments specified for command");
		return;
	}
	int first, last, step;
	key_range(cmd, &first, &last, &step);
	if (first == 0) {
		grove_resp_error(c->out, "ERR The command has no key arguments");
		return;
	}
	size_t end = last < 0 ? argc - 1 : (size_t)last;
	size_t n = 0;
	for (size_t i = (size_t)first; i <= end && i < argc; i += (size_t)step)
		n++;
	grove_resp_array(c->out, n);
	for (size_t i = (size_t)first; i <= end && i < argc; i += (size_t)step)
		grove_resp_bulk(c->out, c->argv[2 + i], c->argl[2 + i]);
}

/* Whether cmd passes COMMAND LIST's filter (argv[3] kind, argv[4] value). */
static bool list_match(const grove_cmd_call_t *c, const grove_cmd_t *cmd)
{
	if (c->argc == 2)
		return true;
	if (grove_cmd_arg_is(c, 3, "pattern"))
		return grove_glob_match(c->argv[4], c->argl[4], cmd->name, strlen(cmd->name));
	if (grove_cmd_arg_is(c, 3, "aclcat")) {
		int first, last, step;
		key_range(cmd, &first, &last, &step);
		bool write = cmd->flags & GROVE_CMD_WRITE;
		return (grove_cmd_arg_is(c, 4, "write") && write) ||
		       (grove_cmd_arg_is(c, 4, "read") && !write && first > 0);
	}
	return false; /* MODULE: Grove has none */
}

static void command_list(grove_cmd_call_t *c)
{
	if (c->argc != 2 && !(c->argc == 5 && grove_cmd_arg_is(c, 2, "filterby") &&
			      (grove_cmd_arg_is(c, 3, "pattern") || grove_cmd_arg_is(c, 3, "aclcat") ||
			       grove_cmd_arg_is(c, 3, "module")))) {
		grove_cmd_reply_syntax(c);
		return;
	}
	size_t n = 0;
	for (size_t i = 0; i < grove_cmd_count; i++)
		n += list_match(c, &grove_cmd_table[i]);
	grove_resp_array(c->out, n);
	for (size_t i = 0; i < grove_cmd_count; i++)
		if (list_match(c, &grove_cmd_table[i]))
			grove_resp_bulk_str(c->out, grove_cmd_table[i].name);
}

static void command_info(grove_cmd_call_t *c)
{
	if (c->argc <= 2) { /* COMMAND, COMMAND INFO: every command */
		grove_resp_array(c->out, grove_cmd_count);
		for (size_t i = 0; i < grove_cmd_count; i++)
			command_entry(c->out, &grove_cmd_table[i]);
		return;
	}
	grove_resp_array(c->out, c->argc - 2);
	for (size_t i = 2; i < c->argc; i++) {
		const grove_cmd_t *cmd = grove_cmd_lookup(c->argv[i], c->argl[i]);
		if (cmd)
			command_entry(c->out, cmd);
		else
			grove_resp_null(c->out); /* Redis: a null bulk */
	}
}

/* Redis's command groups, by name. */
static const char *command_group(const char *name)
{
	static const char *const generic[] = {
		"del",	   "unlink",   "exists", "touch",   "type",	     "keys",       "scan",
		"rename",  "renamenx", "copy",	 "randomkey", "object",   "ttl",	       "pttl",
		"expire",  "pexpire",  "expireat", "pexpireat", "expiretime", "pexpiretime",
		"persist", NULL,
	};
	static const char *const connection[] = {"ping", "echo", "quit",   "auth",
						 "select", "hello", "client", NULL};
	static const char *const transactions[] = {"multi", "exec", "discard", "watch", "unwatch",
						   NULL};
	static const char *const bitmap[] = {"getbit", "setbit", "bitcount", "bitpos", NULL};
	static const char *const server[] = {"command", "config", "info",   "dbsize", "flushdb", "monitor",
					     "flushall", "wait",   "backup", "mergeitem", "grove",
					     NULL};
	if (named(generic, name))
		return "generic";
	if (named(connection, name))
		return "connection";
	if (named(transactions, name))
		return "transactions";
	if (named(bitmap, name))
		return "bitmap";
	if (named(server, name))
		return "server";
	if (name[0] == 's' && strcmp(name, "set") && strncmp(name, "set", 3) && strcmp(name, "strlen") &&
	    strcmp(name, "substr"))
		return "set";
	if (name[0] == 'h')
		return "hash";
	if (name[0] == 'z')
		return "sorted-set";
	if ((name[0] == 'l' && strcmp(name, "lcs")) || (name[0] == 'r' && strstr(name, "pop")) ||
	    (name[0] == 'r' && strstr(name, "push")) || strncmp(name, "bl", 2) == 0 ||
	    strncmp(name, "br", 2) == 0)
		return "list";
	return "string";
}

static void docs_entry(grove_cmd_call_t *c, const grove_cmd_t *cmd)
{
	grove_resp_bulk_str(c->out, cmd->name);
	grove_resp_array(c->out, 6);
	grove_resp_bulk_str(c->out, "summary");
	grove_resp_bulk_str(c->out, cmd->summary);
	grove_resp_bulk_str(c->out, "since");
	grove_resp_bulk_str(c->out, c->env->version ? c->env->version : "0.1.0");
	grove_resp_bulk_str(c->out, "group");
	grove_resp_bulk_str(c->out, command_group(cmd->name));
}

/* COMMAND DOCS [name...]: per command its summary (the table's one line,
 * with the command's CRDT rule), the Grove version and Redis's group;
 * unknown names are left out, as Redis does.  No argument specs. */
static void command_docs(grove_cmd_call_t *c)
{
	if (c->argc == 2) {
		grove_resp_array(c->out, 2 * grove_cmd_count);
		for (size_t i = 0; i < grove_cmd_count; i++)
			docs_entry(c, &grove_cmd_table[i]);
		return;
	}
	size_t n = 0;
	for (size_t i = 2; i < c->argc; i++)
		n += grove_cmd_lookup(c->argv[i], c->argl[i]) != NULL;
	grove_resp_array(c->out, 2 * n);
	for (size_t i = 2; i < c->argc; i++) {
		const grove_cmd_t *cmd = grove_cmd_lookup(c->argv[i], c->argl[i]);
		if (cmd)
			docs_entry(c, cmd);
	}
}

static void command_help(grove_cmd_call_t *c)
{
	static const char *const lines[] = {
		"COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"(no subcommand)",
		"    Return details about all Grove commands.",
		"COUNT",
		"    Return the total number of commands in this Grove server.",
		"LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]",
		"    Return a list of all commands in this Grove server.",
		"INFO [<command-name> ...]",
		"    Return details about multiple Grove commands.",
		"    If no command names are given, documentation details for all",
		"    commands are returned.",
		"DOCS [<command-name> ...]",
		"    Return documentation details about multiple Grove commands.",
		"GETKEYS <full-command>",
		"    Return the keys from a full Grove command.",
		"HELP",
		"    Print this help.",
	};
	grove_cmd__reply_lines(c, lines, sizeof(lines) / sizeof(lines[0]));
}

static void wrong_args(grove_cmd_call_t *c, const char *sub)
{
	grove_resp_errorf(c->out, "ERR wrong number of arguments for 'command|%s' command", sub);
}

void grove_cmd_do_command(grove_cmd_call_t *c)
{
	if (c->argc == 1) {
		command_info(c);
	} else if (grove_cmd_arg_is(c, 1, "count")) {
		if (c->argc != 2)
			wrong_args(c, "count");
		else
			grove_resp_int(c->out, (long long)grove_cmd_count);
	} else if (grove_cmd_arg_is(c, 1, "docs")) {
		command_docs(c);
	} else if (grove_cmd_arg_is(c, 1, "list")) {
		command_list(c);
	} else if (grove_cmd_arg_is(c, 1, "info")) {
		command_info(c);
	} else if (grove_cmd_arg_is(c, 1, "getkeys")) {
		if (c->argc < 3)
			wrong_args(c, "getkeys");
		else
			command_getkeys(c);
	} else if (grove_cmd_arg_is(c, 1, "help") && c->argc == 2) {
		command_help(c);
	} else {
		grove_resp_errorf(c->out, "ERR unknown subcommand '%.*s'. Try COMMAND HELP.",
				  (int)(c->argl[1] > 64 ? 64 : c->argl[1]), (const char *)c->argv[1]);
	}
}
