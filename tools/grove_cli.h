/*
 * grove_cli.h - the `grove` command-line tool: its command table and the
 * conventions every subcommand follows.
 *
 * Adding a command: write tools/cli_<name>.c with a function
 *   int grove_cli_<name>(int argc, char **argv)   (argv[0] is the command)
 * and its help text, declare both below, and add one row to the table in
 * tools/grove_main.c.  `grove --help` lists the table; `grove help CMD` and
 * `grove CMD --help` print the command's help.
 *
 * Exit codes (documented in `grove --help` and the README):
 *   0 success, 1 runtime error (I/O, bad key, refused), 2 usage error,
 *   3 a write with --wait N done, but fewer than N peers confirmed it,
 *   4 nil reply: the key or field does not exist (get, hget).
 *
 * Options of the commands that talk to a node (--node, --password, --wait,
 * --wait-timeout: see tools/cli_node.h) go before or after the command:
 * main moves those given before it to just after the command name.
 * Errors go to stderr as "grove CMD: what failed: why".
 */
#ifndef GROVE_CLI_H
#define GROVE_CLI_H

#include <stdint.h>

#define GROVE_CLI_OK 0
#define GROVE_CLI_ERROR 1
#define GROVE_CLI_USAGE 2
#define GROVE_CLI_UNCONFIRMED 3
#define GROVE_CLI_NIL 4

typedef struct grove_cli_cmd {
	const char *name;    /* first word after `grove` */
	const char *summary; /* one line for `grove --help` */
	const char *help;    /* full usage text for `grove help NAME` */
	int (*run)(int argc, char **argv);
} grove_cli_cmd_t;

/* Print "grove <cmd>: <msg>\n" to stderr (printf-style). */
void grove_cli_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A usage error: print the first line of help and a pointer to the rest
 * to stderr; returns GROVE_CLI_USAGE. */
int grove_cli_usage(const char *cmd, const char *help);

/* True when argv holds -h or --help (before any "--"). */
int grove_cli_wants_help(int argc, char **argv);

/* Key management (tools/cli_ca.c). */
extern const char grove_cli_ca_help[];
extern const char grove_cli_cert_help[];
int grove_cli_ca(int argc, char **argv);
int grove_cli_cert(int argc, char **argv);
/* tools/cli_cert.c: keygen, cert show, revoke. */
extern const char grove_cli_keygen_help[];
extern const char grove_cli_revoke_help[];
int grove_cli_keygen(int argc, char **argv);
int grove_cli_cert_show(int argc, char **argv);
int grove_cli_revoke(int argc, char **argv);
/* The CA key pair of dir (errors printed); 0 or -1.  Wipe sk after use. */
int grove_cli__load_ca(const char *dir, uint8_t pk[32], uint8_t sk[64]);

#endif
