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
	"\nexit codes: 0 success, 1 runtime error, 2 usage error\n"

extern const char grove_cli_members_help[];
extern const char grove_cli_status_help[];
extern const char grove_cli_op_help[];
extern const char grove_cli_sync_help[];

int grove_cli_members(int argc, char **argv);
int grove_cli_status(int argc, char **argv);
/* Typed operations: argv[0] names the operation (get, set, incr, ...). */
int grove_cli_op(int argc, char **argv);
int grove_cli_sync(int argc, char **argv);

#endif
