/*
 * cli_node.h - grove subcommands that talk to a running node over RESP
 * (tools/cli_node.c) and the offline store-to-store sync
 * (tools/cli_sync.c).  Rows for them sit in tools/grove_main.c's table.
 */
#ifndef GROVE_CMD_NODE_H
#define GROVE_CMD_NODE_H

#define GROVE_NODE_OPTIONS_HELP                                                 \
	"\n  --node HOST:PORT  node to ask (default $GROVE_NODE, else 127.0.0.1:7379)\n" \
	"  --password PW     AUTH password (prefer $GROVE_PASSWORD: flags show in ps)\n" \
	"Options go before or after the command (grove --node H:P get k), as\n"   \
	"--opt VALUE or --opt=VALUE.\n"                                            \
	"\nexit codes: 0 success, 1 runtime error, 2 usage error, 3 written but\n"   \
	"fewer than --wait N peers confirmed it, 4 nil reply (get, hget: the key\n" \
	"or field does not exist; prints (nil))\n"

extern const char grove_cli_members_help[];
extern const char grove_cli_status_help[];
extern const char grove_cli_op_help[];
extern const char grove_cli_sync_help[];

/* How many arguments the node option at argv[0] (--node, --password,
 * --wait, --wait-timeout) spans: 1 for "--node=H:P", 2 for "--node H:P"
 * (0 when the value is missing), -1 when argv[0] is no node option.  argc
 * counts argv's remaining entries. */
int grove_cli_node_option_span(int argc, char **argv);

int grove_cli_members(int argc, char **argv);
int grove_cli_status(int argc, char **argv);
/* Typed operations: argv[0] names the operation (get, set, incr, ...). */
int grove_cli_op(int argc, char **argv);
int grove_cli_sync(int argc, char **argv);

#endif
