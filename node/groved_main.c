/*
 * groved_main.c - the groved program: parse flags and config file, then
 * run the node (node/daemon.c).  Exit status: 0 after a clean stop
 * (SIGTERM/SIGINT), 1 when start-up or the node fails, 2 for a bad flag,
 * config value or an unsafe configuration (protected mode).
 * `groved --check-config FILE` checks FILE (and any other flags), the
 * certificate and keys, and exits 0 (valid), 1 or 2 (node/daemon.h).
 * `groved --man` (alone, not in --help) prints the groved(8) page; the
 * Makefile runs it at build time.
 */
#include <stdio.h>
#include <string.h>

#include "node/config.h"
#include "node/daemon.h"

int main(int argc, char **argv)
{
	static grove_config_t cfg; /* large: keep it off the stack */
	char err[GROVE_CONFIG_ERROR_BYTES];
	if (argc == 2 && strcmp(argv[1], "--man") == 0) { /* the build writes groved.8 */
		grove_config_man(stdout, GROVE_VERSION);
		return 0;
	}
	grove_config_defaults(&cfg);
	if (grove_config_parse(&cfg, argc, argv, err, sizeof(err)) < 0) {
		fprintf(stderr, "groved: %s\n", err);
		return 2;
	}
	if (cfg.help) {
		grove_config_usage(stdout);
		return 0;
	}
	if (cfg.version) {
		printf("groved %s\n", GROVE_VERSION);
		return 0;
	}
	if (cfg.check_config) {
		const char *path = "--check-config";
		for (int i = 1; i + 1 < argc; i++) /* the FILE named, for the message */
			if (strcmp(argv[i], "--check-config") == 0)
				path = argv[i + 1];
		for (int i = 1; i < argc; i++)
			if (strncmp(argv[i], "--check-config=", 15) == 0)
				path = argv[i] + 15;
		return grove_daemon_check(&cfg, path);
	}
	return grove_daemon_run(&cfg);
}
