/*
 * util_storage.h - helpers for the storage tests: scratch directories under
 * /tmp that are removed afterwards, and a seed taken from GROVE_TEST_SEED
 * (or a fixed default) and printed so any random test replays.
 */
#ifndef GROVE_TEST_UTIL_STORAGE_H
#define GROVE_TEST_UTIL_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#include "grove/db.h"
#include "storage/store.h"

/* Creates a fresh empty directory; returns its malloc'd path (free()). */
char *grove_test_storage_tmpdir(const char *tag);
/* Removes dir recursively and frees the path (NULL is a no-op). */
void grove_test_storage_rmdir(char *dir);
/* The test seed (GROVE_TEST_SEED, default 1), printed once with the name. */
uint64_t grove_test_storage_seed(const char *test_name);

/* A fake clock for grove_db_options_t.clock: returns *(uint64_t *)ctx. */
uint64_t grove_test_storage_clock_ms(void *ctx);

/* The element cache of a test's db: the default's 256 MiB cost a test
 * that opens hundreds of dbs their slot tables' page clearing (and, under
 * ASan, the shadow of every region), while tests hold thousands of
 * elements; the cache's own tests choose their budgets. */
#define GROVE_TEST_ELEM_CACHE_BYTES ((size_t)16 << 20)

/* grove_db_options_init with the test element cache budget. */
void grove_test_db_options_init(grove_db_options_t *o);

/* Opens a db (dir NULL: memory) with the given node id, fake clock and
 * durability (grove_test_db_options_init otherwise); returns the
 * grove_db_open result (message printed on error). */
int grove_test_storage_db_open(const char *dir, const char *node, uint64_t *clock_ms,
		       grove_durability_t durability, grove_db_t **out);

/* A test's db: node "node-a", durability none, on a fake clock starting at
 * GROVE_TEST_T0_MS, in memory or in a fresh LevelDB directory. */
#define GROVE_TEST_T0_MS 1700000000000ULL
typedef struct grove_test_db {
	char *dir; /* NULL: memory backend */
	uint64_t clock_ms;
	grove_db_t *db;
} grove_test_db_t;
/* Opens t (directory tagged tag if leveldb); returns the grove_db_open result. */
int grove_test_db_open(grove_test_db_t *t, const char *tag, bool leveldb);
/* Closes the db and removes its directory. */
void grove_test_db_close(grove_test_db_t *t);

/* An element item's name into out (3 + key and element lengths): kind,
 * key length (2 bytes, big-endian), key, element. */
size_t grove_test_elem_name(uint8_t *out, int kind, const char *key, const char *elem);

/* Store operations counted behind one db at a time (its store's ops
 * wrapped): gets, writes (a group's batches are one write), the writes
 * that asked for a sync, the operations they carried (a group's: the last
 * op per key), iterators
 * created and their steps (an iterator created while counting counts its
 * steps until it is destroyed). */
typedef struct grove_test_ops {
	uint64_t gets, writes, synced, batch_ops, iters, nexts, prevs;
	/* set after grove_test_ops_count (NULL: none): called with every
	 * batch written, before the store writes it */
	void (*on_write)(const grove_batch_t *b, void *ctx);
	void *on_write_ctx;
} grove_test_ops_t;
extern grove_test_ops_t grove_test_ops;
/* Wraps db's store ops with counting ones and zeroes grove_test_ops. */
void grove_test_ops_count(grove_db_t *db);
/* Gives db its own store ops back. */
void grove_test_ops_uncount(grove_db_t *db);

/* One cmocka test run twice, on the memory backend and on LevelDB: the
 * test file defines setup_memory, setup_leveldb and teardown. */
#define GROVE_TEST_BOTH_BACKENDS(name)                                        \
	cmocka_unit_test_setup_teardown(name, setup_memory, teardown),         \
		cmocka_unit_test_setup_teardown(name, setup_leveldb, teardown)

/* cmocka fixtures shared by the db tests.  grove_test_db_setup_*: the state
 * is a grove_test_db_t opened on that backend (grove_test_db_teardown closes
 * and frees it).  grove_test_flag_*: no state; grove_test_leveldb says which
 * backend the test should open its own dbs on. */
int grove_test_db_setup_memory(void **state);
int grove_test_db_setup_leveldb(void **state);
int grove_test_db_teardown(void **state);
extern bool grove_test_leveldb;
int grove_test_flag_memory(void **state);
int grove_test_flag_leveldb(void **state);

/* One cmocka test run on each backend with the shared fixtures above. */
#define GROVE_TEST_DB_BOTH_BACKENDS(name)                                                    \
	cmocka_unit_test_setup_teardown(name, grove_test_db_setup_memory, grove_test_db_teardown), \
		cmocka_unit_test_setup_teardown(name, grove_test_db_setup_leveldb, grove_test_db_teardown)
#define GROVE_TEST_FLAG_BOTH_BACKENDS(name)                   \
	cmocka_unit_test_setup(name, grove_test_flag_memory), \
		cmocka_unit_test_setup(name, grove_test_flag_leveldb)

/* Replicas "ra".."re" for multi-replica db tests: replica i's clock starts
 * at GROVE_TEST_T0_MS + i; on LevelDB (fresh directories named by tag)
 * when grove_test_leveldb, else in memory.  open returns the first error;
 * close closes the n opened and removes their directories. */
#define GROVE_TEST_REPS_MAX 5
typedef struct grove_test_reps {
	int n;
	uint64_t clk[GROVE_TEST_REPS_MAX];
	grove_db_t *db[GROVE_TEST_REPS_MAX];
	char *dir[GROVE_TEST_REPS_MAX];
} grove_test_reps_t;
int grove_test_reps_open(grove_test_reps_t *r, int n, const char *tag);
void grove_test_reps_close(grove_test_reps_t *r);

/* Copies key from src into dst as anti-entropy would (one direction):
 * every element item either side holds, then the head, each state of src
 * merged into dst.  Returns the first error. */
int grove_test_storage_copy_key(grove_db_t *src, grove_db_t *dst, const void *key, size_t klen);

/* With the db closed: opens its LevelDB store raw (asserts success), for
 * tests that damage or inspect records behind the db's back. */
grove_store_t *grove_test_storage_raw_open(const char *dir);

#endif
