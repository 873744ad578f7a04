/*
 * grove_main.c - entry point of the `grove` command-line tool: global help,
 * node options given before the command, and dispatch to the subcommands
 * in tools/cli_*.c through one table (see tools/grove_cli.h for how to add
 * a command).  `grove --man` (not in
 * --help) prints grove(1) from the same table; the Makefile runs it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "node/daemon.h" /* GROVE_VERSION */
#include "node/man.h"
#include "tools/grove_cli.h"
#include "tools/cli_node.h" /* node engineer: commands over RESP, sync */

static const grove_cli_cmd_t commands[] = {
	{ "ca", "create the cluster CA key pair (ca init DIR)", grove_cli_ca_help, grove_cli_ca },
	{ "cert", "issue (or renew, or show) a node certificate signed by the CA", grove_cli_cert_help, grove_cli_cert },
	{ "keygen", "make a node key pair on the node (keygen --dir DIR)", grove_cli_keygen_help, grove_cli_keygen },
	{ "revoke", "make a CA-signed revocation list of node keys", grove_cli_revoke_help, grove_cli_revoke },
	/* --- node engineer: tools/cli_node.c, tools/cli_sync.c --- */
	{ "members", "list a node's cluster members", grove_cli_members_help, grove_cli_members },
	{ "status", "summarize a node (members, keys, digest)", grove_cli_status_help, grove_cli_status },
	{ "get", "GET KEY from a node", grove_cli_op_help, grove_cli_op },
	{ "set", "SET KEY VALUE (register)", grove_cli_op_help, grove_cli_op },
	{ "del", "DEL KEY...", grove_cli_op_help, grove_cli_op },
	{ "incr", "INCRBY KEY [N] (counter)", grove_cli_op_help, grove_cli_op },
	{ "decr", "DECRBY KEY [N] (counter)", grove_cli_op_help, grove_cli_op },
	{ "sadd", "SADD KEY MEMBER... (set)", grove_cli_op_help, grove_cli_op },
	{ "srem", "SREM KEY MEMBER... (set)", grove_cli_op_help, grove_cli_op },
	{ "smembers", "SMEMBERS KEY (set)", grove_cli_op_help, grove_cli_op },
	{ "hset", "HSET KEY FIELD VALUE... (map)", grove_cli_op_help, grove_cli_op },
	{ "hget", "HGET KEY FIELD (map)", grove_cli_op_help, grove_cli_op },
	{ "hdel", "HDEL KEY FIELD... (map)", grove_cli_op_help, grove_cli_op },
	{ "hgetall", "HGETALL KEY (map)", grove_cli_op_help, grove_cli_op },
	{ "lpush", "LPUSH KEY ELEMENT... (list)", grove_cli_op_help, grove_cli_op },
	{ "rpush", "RPUSH KEY ELEMENT... (list)", grove_cli_op_help, grove_cli_op },
	{ "lpop", "LPOP KEY (list)", grove_cli_op_help, grove_cli_op },
	{ "rpop", "RPOP KEY (list)", grove_cli_op_help, grove_cli_op },
	{ "lrange", "LRANGE KEY START STOP (list)", grove_cli_op_help, grove_cli_op },
	{ "keys", "KEYS [PATTERN]", grove_cli_op_help, grove_cli_op },
	{ "digest", "a node's hex root digest", grove_cli_op_help, grove_cli_op },
	{ "sync", "offline sync of two stopped nodes' data directories", grove_cli_sync_help, grove_cli_sync },
	{ "backup", "consistent backup of a running node into a file", grove_cli_backup_help, grove_cli_backup },
	{ "restore", "a data directory for a new node, or a merge into a node, from a backup", grove_cli_restore_help, grove_cli_restore },
	/* --- end node engineer --- */
};

#define COMMANDS_COUNT (sizeof commands / sizeof commands[0])

void grove_cli_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "grove %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int grove_cli_usage(const char *cmd, const char *help)
{
	const char *nl = strchr(help, '\n');
	int len = nl != NULL ? (int)(nl - help) : (int)strlen(help);
	fprintf(stderr, "%.*s\n(grove help %s for details)\n", len, help, cmd);
	return GROVE_CLI_USAGE;
}

int grove_cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
	return 0;
}

/* Text shared by --help and the man page (man_page). */
static const char synopsis1[] = "grove [--node HOST:PORT] [--password PW] [--tls [--tls-ca-cert-file F]] COMMAND [ARGS...]";
static const char synopsis2[] = "grove help COMMAND | grove COMMAND --help";
static const char exit_codes[] =
	"0 success, 1 runtime error, 2 usage error, 3 written but not confirmed by --wait N peers,\n"
	"4 nil reply (get, hget: the key or field does not exist)\n";

static void usage(FILE *out)
{
	fprintf(out, "usage: %s\n       %s\n\ncommands:\n", synopsis1, synopsis2);
	for (size_t i = 0; i < COMMANDS_COUNT; i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(out, "\nOptions of the commands that talk to a node (--node, --password, --wait,\n"
		     "--wait-timeout, --tls, --tls-ca-cert-file, --tls-cert-file, --tls-key-file)\n"
		     "go before or after the command.\n");
	fprintf(out, "\nexit codes: %s", exit_codes);
}

/* Moves the node options given before the command to just after it, so
 * that "grove --node H:P get k" runs as "grove get --node H:P k" (argv[1..]
 * is permuted in place).  0, or GROVE_CLI_USAGE with a message when an
 * option lacks its value or nothing follows the options. */
static int move_leading_options(int argc, char **argv)
{
	int i = 1, span;
	while (i < argc && (span = grove_cli_node_option_span(argc - i, argv + i)) != -1) {
		if (span == 0) {
			fprintf(stderr, "grove: %s needs a value (grove --help)\n", argv[i]);
			return GROVE_CLI_USAGE;
		}
		i += span;
	}
	if (i == 1)
		return 0;
	if (i == argc) {
		fprintf(stderr, "grove: no command after %s (grove --help lists them)\n", argv[i - 1]);
		return GROVE_CLI_USAGE;
	}
	char *cmd = argv[i];
	memmove(&argv[2], &argv[1], (size_t)(i - 1) * sizeof(*argv));
	argv[1] = cmd;
	return 0;
}

/* The help of commands[i] was already printed under an earlier command. */
static int help_seen(size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (commands[j].help == commands[i].help)
			return 1;
	return 0;
}

/* `grove --man`: grove(1) in roff, from the command table and help texts
 * (the build writes it; see node/man.h).  Commands that share one help
 * text (the typed operations) get it once, under all their names. */
static void man_page(FILE *out)
{
	grove_man_begin(out, "grove", "1", GROVE_VERSION, "Grove cluster keys, node operations, offline sync");
	fputs(".SH SYNOPSIS\n", out);
	grove_man_text(out, synopsis1);
	fputs("\n.br\n", out);
	grove_man_text(out, synopsis2);
	fputc('\n', out);
	fputs(".SH COMMANDS\n", out);
	for (size_t i = 0; i < COMMANDS_COUNT; i++) {
		fputs(".TP\n\\fB", out);
		grove_man_text(out, commands[i].name);
		fputs("\\fR\n", out);
		grove_man_text(out, commands[i].summary);
		fputc('\n', out);
	}
	fputs(".SH COMMAND DETAILS\n", out);
	for (size_t i = 0; i < COMMANDS_COUNT; i++) {
		if (help_seen(i))
			continue;
		fputs(".SS ", out);
		for (size_t k = i; k < COMMANDS_COUNT; k++)
			if (commands[k].help == commands[i].help) {
				fputs(k == i ? "" : ", ", out);
				grove_man_text(out, commands[k].name);
			}
		fputc('\n', out);
		grove_man_literal(out, commands[i].help);
	}
	fputs(".SH EXIT STATUS\n", out);
	grove_man_text(out, exit_codes);
	fputs(".SH SEE ALSO\n.BR groved (8)\n", out);
}

static const grove_cli_cmd_t *find(const char *name)
{
	for (size_t i = 0; i < COMMANDS_COUNT; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return GROVE_CLI_USAGE;
	}
	int rc = move_leading_options(argc, argv);
	if (rc != 0)
		return rc;
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return GROVE_CLI_OK;
	}
	if (argc == 2 && strcmp(argv[1], "--man") == 0) {
		man_page(stdout);
		return GROVE_CLI_OK;
	}
	if (strcmp(argv[1], "help") == 0) {
		const grove_cli_cmd_t *c = argc > 2 ? find(argv[2]) : NULL;
		if (argc > 2 && c == NULL) {
			fprintf(stderr, "grove: unknown command '%s'\n", argv[2]);
			return GROVE_CLI_USAGE;
		}
		if (c == NULL)
			usage(stdout);
		else
			fputs(c->help, stdout);
		return GROVE_CLI_OK;
	}
	const grove_cli_cmd_t *c = find(argv[1]);
	if (c == NULL) {
		fprintf(stderr, "grove: unknown %s '%s' (grove --help lists them)\n",
			argv[1][0] == '-' ? "option" : "command", argv[1]);
		return GROVE_CLI_USAGE;
	}
	if (grove_cli_wants_help(argc - 1, argv + 1)) {
		fputs(c->help, stdout);
		return GROVE_CLI_OK;
	}
	return c->run(argc - 1, argv + 1);
}
