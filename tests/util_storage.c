/*
 * util_storage.c - scratch directories and replayable seeds for the
 * storage tests (see util_storage.h).
 */
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/util_storage.h"

char *grove_test_tmpdir(const char *tag)
{
	char tmpl[256];
	snprintf(tmpl, sizeof(tmpl), "/tmp/grove-test-%s-XXXXXX", tag);
	char *d = mkdtemp(tmpl);
	if (!d) {
		perror("mkdtemp");
		abort();
	}
	return strdup(d);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void grove_test_rmdir(char *dir)
{
	if (!dir)
		return;
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

uint64_t grove_test_seed(const char *test_name)
{
	const char *env = getenv("GROVE_TEST_SEED");
	uint64_t seed = env ? strtoull(env, NULL, 0) : 1;
	printf("%s: seed %" PRIu64 " (GROVE_TEST_SEED to replay)\n", test_name, seed);
	return seed;
}
