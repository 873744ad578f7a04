/*
 * cli_sync.c - `grove sync DIR_A DIR_B [--pattern P]`: the offline
 * store-to-store Syncer (include/grove/syncer.h) between the stores of two
 * stopped nodes (DIR/db inside each data directory), printing its report.
 *
 * Both nodes must be stopped: a running node holds its store's lock and
 * the open fails with "locked by another process".  Only existing stores
 * are opened: a folder without DIR/db (a LevelDB with its CURRENT file) is
 * an error, and nothing is created in it.  The stores are opened
 * under the id "grove-sync"; a merge creates no new writes of its own, so
 * that id never appears in the data.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "grove/db.h"
#include "grove/syncer.h"
#include "tools/cli_node.h"
#include "tools/grove_cli.h"

const char grove_cli_sync_help[] =
	"usage: grove sync DIR_A DIR_B [--pattern GLOB]\n\n"
	"Merge the stores of two stopped nodes both ways (data directories\n"
	"DIR_A and DIR_B, store in DIR/db), for the keys matching GLOB\n"
	"(default '*': every key).  Only keys whose digests differ are read and\n"
	"merged, each by its own type's CRDT merge; prints the report.\n\n"
	"Both stores must exist: DIR_A and DIR_B are data directories that\n"
	"groved --data has used.\n\n"
	"exit codes: 0 success, 1 runtime error (no store, or store locked: stop\n"
	"the node), 2 usage error\n";

/* True when path/name is a regular file. */
static bool has_file(const char *path, const char *name)
{
	char p[4096];
	struct stat st;
	return (size_t)snprintf(p, sizeof(p), "%s/%s", path, name) < sizeof(p) && stat(p, &st) == 0 &&
	       S_ISREG(st.st_mode);
}

/* Opens the existing store DIR/db; never creates one (a store made by a
 * sync would merge into a folder that is no node's). */
static int open_store(const char *dir, grove_db_t **db)
{
	char path[4096], err[512] = "";
	if ((size_t)snprintf(path, sizeof(path), "%s/db", dir) >= sizeof(path)) {
		grove_cli_error("sync", "%s: path too long", dir);
		return GROVE_ETOOBIG;
	}
	if (!has_file(path, "CURRENT")) {
		grove_cli_error("sync", "%s: no Grove store in %s (give a stopped node's data directory, "
					"the DIR of groved --data DIR)%s",
				dir, path,
				has_file(dir, "CURRENT") ? "; this folder is a store itself: give its parent" : "");
		return GROVE_ENOTFOUND;
	}
	grove_db_options_t opts;
	grove_db_options_init(&opts);
	opts.node_id = "grove-sync";
	int rc = grove_db_open(path, &opts, db, err, sizeof(err));
	if (rc < 0)
		grove_cli_error("sync", "%s", err[0] ? err : grove_strerror(rc));
	return rc;
}

static void print_report(const grove_sync_report_t *r)
{
	printf("tree nodes compared  %llu\nsegments differing   %llu\nitems compared       %llu\n"
	       "items merged         %llu\n  A took B's state   %llu\n  B took A's state   %llu\n"
	       "  both changed       %llu\noutside the pattern  %llu\nerrors               %llu\n",
	       (unsigned long long)r->nodes_compared, (unsigned long long)r->segments_diff,
	       (unsigned long long)r->keys_compared, (unsigned long long)r->keys_touched,
	       (unsigned long long)r->pulled, (unsigned long long)r->pushed,
	       (unsigned long long)r->merged, (unsigned long long)r->skipped_pattern,
	       (unsigned long long)r->errors);
	for (size_t i = 0; i < r->errors_listed; i++)
		printf("  error on store %c, key '%.*s': %s\n", r->error[i].side,
		       (int)(r->error[i].klen < GROVE_SYNC_ERROR_KEY_MAX ? r->error[i].klen
									 : GROVE_SYNC_ERROR_KEY_MAX),
		       (const char *)r->error[i].key, grove_strerror(r->error[i].code));
}

int grove_cli_sync(int argc, char **argv)
{
	const char *dirs[2] = {NULL, NULL}, *pattern = "*";
	int ndirs = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--pattern") && i + 1 < argc)
			pattern = argv[++i];
		else if (argv[i][0] != '-' && ndirs < 2)
			dirs[ndirs++] = argv[i];
		else
			return grove_cli_usage("sync", grove_cli_sync_help);
	}
	if (ndirs != 2)
		return grove_cli_usage("sync", grove_cli_sync_help);
	grove_db_t *a = NULL, *b = NULL;
	grove_syncer_t *s = NULL;
	grove_syncer_options_t opts;
	grove_syncer_options_init(&opts);
	opts.pattern = pattern;
	grove_sync_report_t report;
	int rc = open_store(dirs[0], &a);
	if (rc == 0)
		rc = open_store(dirs[1], &b);
	if (rc == 0 && (rc = grove_syncer_create(a, b, &opts, &s)) < 0)
		grove_cli_error("sync", "%s", grove_strerror(rc));
	if (rc == 0 && (rc = grove_syncer_sync(s, &report)) < 0)
		grove_cli_error("sync", "%s", grove_strerror(rc));
	if (rc == 0)
		print_report(&report);
	grove_syncer_destroy(s);
	if (b)
		grove_db_close(b);
	if (a)
		grove_db_close(a);
	return rc < 0 || (rc == 0 && report.errors) ? GROVE_CLI_ERROR : GROVE_CLI_OK;
}
