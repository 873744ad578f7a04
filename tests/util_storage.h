/*
 * util_storage.h - helpers for the storage tests: scratch directories under
 * /tmp that are removed afterwards, and a seed taken from GROVE_TEST_SEED
 * (or a fixed default) and printed so any random test replays.
 */
#ifndef GROVE_TEST_UTIL_STORAGE_H
#define GROVE_TEST_UTIL_STORAGE_H

#include <stddef.h>
#include <stdint.h>

/* Creates a fresh empty directory; returns its malloc'd path (free()). */
char *grove_test_tmpdir(const char *tag);
/* Removes dir recursively and frees the path (NULL is a no-op). */
void grove_test_rmdir(char *dir);
/* The test seed (GROVE_TEST_SEED, default 1), printed once with the name. */
uint64_t grove_test_seed(const char *test_name);

#endif
