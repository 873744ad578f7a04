/*
 * groved_main.c - the groved program: parse flags and config file, then
 * run the node (node/daemon.c).  Exit status: 0 after a clean stop
 * (SIGTERM/SIGINT), 1 when start-up or the node fails, 2 for a bad flag,
 * config value or an unsafe configuration (protected mode).
 * `groved --check-config FILE` checks FILE (and any other flags), the
 * certificate and keys, and exits 0 (valid), 1 or 2 (node/daemon.h).
 * `groved --man` (alone, not in --help) prints the groved(8) page; the
 * Makefile runs it at build time.
 * Before it runs the node, groved executes itself again with glibc's
 * malloc told to ask for transparent huge pages (malloc_hugepages below).
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/config.h"
#include "node/daemon.h"

#define MALLOC_HUGEPAGES_TUNABLE "glibc.malloc.hugetlb"
#define MALLOC_TUNABLES_BYTES_MAX 4096u

/* Runs this program again (same pid, arguments and descriptors) with
 * GLIBC_TUNABLES=glibc.malloc.hugetlb=1 added: glibc's malloc then grows
 * its heaps in 2 MiB steps and madvises them MADV_HUGEPAGE, so with the
 * kernel's transparent huge pages in "madvise" mode (the default of most
 * distributions) what groved allocates sits on 2 MiB pages.  At 10^6
 * members a ZRANGE or ZRANK takes a handful of dependent cache misses in
 * the rank cache's leaves, which are malloc'd; on 4 KiB pages each also
 * missed the TLB (bench_zset.sh's read steps, the same groved binary
 * with and without the tunable, 2 alternated rounds of 3 runs: at 10^6
 * ZRANGE BYSCORE medians 6.10 -> 4.65 us of server CPU per request,
 * ZRANK 4.00 -> 3.30; at 10^3 3.65 -> 3.60 and 2.40 -> 1.80).  Returns
 * without running it again when the tunable is set already (by this, or
 * by the user: glibc.malloc.hugetlb=0 turns it off), under valgrind
 * (whose tools follow no exec unless told) or a sanitizer (its malloc is
 * not glibc's), or when the exec fails (groved then runs on as it is). */
static void malloc_hugepages(char **argv)
{
#if defined(__SANITIZE_ADDRESS__)
	(void)argv;
	return;
#else
	const char *was = getenv("GLIBC_TUNABLES"), *pre = getenv("LD_PRELOAD");
	if ((was && strstr(was, MALLOC_HUGEPAGES_TUNABLE)) || (pre && strstr(pre, "vgpreload")))
		return;
	char self[PATH_MAX], now[MALLOC_TUNABLES_BYTES_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int len = snprintf(now, sizeof(now), "%s%s" MALLOC_HUGEPAGES_TUNABLE "=1", was ? was : "",
			   was && was[0] ? ":" : "");
	if (n <= 0 || len < 0 || (size_t)len >= sizeof(now))
		return;
	self[n] = '\0'; /* exec'd by its own name: /proc/self/exe would rename it "exe" */
	bool had = was != NULL;
	size_t wl = had ? strlen(was) : 0; /* was may go with setenv */
	if (setenv("GLIBC_TUNABLES", now, 1) != 0)
		return;
	execv(self, argv);
	if (had) { /* not run again: the environment as it was (now's start) */
		now[wl] = '\0';
		setenv("GLIBC_TUNABLES", now, 1);
	} else {
		unsetenv("GLIBC_TUNABLES");
	}
#endif
}

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
	malloc_hugepages(argv);
	return grove_daemon_run(&cfg);
}
