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
	"  --tls             talk TLS to the node's --tls-port (the server certificate\n" \
	"                    must chain to the CA and name the host)\n"              \
	"  --tls-ca-cert-file FILE  CA of the node's TLS certificate (default: the\n" \
	"                    system's); --tls-ca for short; implies --tls\n"       \
	"  --tls-cert-file FILE, --tls-key-file FILE  client certificate and key, for\n" \
	"                    a node with --tls-auth-clients (--tls-cert, --tls-key)\n" \
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
 * --wait, --wait-timeout, --tls and its file options) spans: 1 for
 * "--node=H:P" or "--tls", 2 for "--node H:P" (0 when the value is
 * missing), -1 when argv[0] is no node option.  argc
 * counts argv's remaining entries. */
int grove_cli_node_option_span(int argc, char **argv);

/* For other tools/ commands: splits argv[1..] into the node options
 * (--node, --password and their environment defaults, --tls...) and at most *npos
 * positional arguments (pos, *npos set to their count; more is a usage
 * error), sets *node, and with rc not NULL connects and AUTHs.  Returns 0,
 * or the exit status after printing the error. */
struct grove_rc;
int grove_cli_node_connect(const char *cmd, const char *help, int argc, char **argv,
			   struct grove_rc *rc, const char **pos, int *npos, const char **node);

int grove_cli_members(int argc, char **argv);
int grove_cli_status(int argc, char **argv);
/* Typed operations: argv[0] names the operation (get, set, incr, ...). */
int grove_cli_op(int argc, char **argv);
int grove_cli_sync(int argc, char **argv);

/* Backups (tools/cli_backup.c). */
extern const char grove_cli_backup_help[];
extern const char grove_cli_restore_help[];
int grove_cli_backup(int argc, char **argv);
int grove_cli_restore(int argc, char **argv);

#endif
