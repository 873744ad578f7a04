/*
 * test_backup.c - backups (include/grove/backup.h, doc/backup_format.md):
 * the documented layout byte for byte, a round trip through a restore
 * (same digest, same values, new owner id), a snapshot that ignores
 * writes made after it, and damaged files: every truncation, every changed
 * byte, a newer format, the backed-up node's own id, an existing store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "grove/alloc.h"
#include "grove/backup.h"
#include "tests/util_storage.h"

typedef struct fixture {
	grove_test_db_t src;
	char *out; /* scratch dir for restores */
} fixture_t;

static int setup(void **state)
{
	fixture_t *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	assert_int_equal(grove_test_db_open(&f->src, "backup_src", true), 0);
	f->out = grove_test_storage_tmpdir("backup_out");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fixture_t *f = *state;
	grove_test_db_close(&f->src);
	grove_test_storage_rmdir(f->out);
	free(f);
	return 0;
}

/* The whole backup from reader r of db (chunks of chunk_bytes) into a
 * tmpfile; closes r. */
static FILE *backup_r(grove_backup_reader_t *r, grove_db_t *db, size_t chunk_bytes,
		      grove_backup_manifest_t *m)
{
	FILE *fp = tmpfile();
	assert_non_null(fp);
	grove_backup_writer_t *w;
	assert_int_equal(grove_backup_writer_open(fp, &w), 0);
	for (;;) {
		uint8_t *chunk;
		size_t len;
		assert_int_equal(grove_backup_reader_next(r, chunk_bytes, &chunk, &len), 0);
		if (!len)
			break;
		assert_int_equal(grove_backup_writer_chunk(w, chunk, len), 0);
		grove_free(chunk);
	}
	memset(m, 0, sizeof(*m));
	snprintf(m->node_id, sizeof(m->node_id), "%s", grove_db_node_id(db));
	snprintf(m->version, sizeof(m->version), "test");
	m->storage_format = grove_backup_storage_format();
	m->value_format = grove_backup_value_format();
	m->created_ms = 1234;
	assert_int_equal(grove_backup_writer_finish(w, m), 0);
	uint64_t records;
	uint8_t hash[GROVE_BACKUP_HASH_BYTES];
	grove_backup_reader_sum(r, &records, hash);
	assert_int_equal(records, m->records);
	grove_backup_writer_close(w);
	grove_backup_reader_close(r);
	return fp;
}

static FILE *backup(grove_db_t *db, size_t chunk_bytes, grove_backup_manifest_t *m)
{
	grove_backup_reader_t *r;
	assert_int_equal(grove_backup_reader_open(db, &r), 0);
	return backup_r(r, db, chunk_bytes, m);
}

static size_t file_bytes(FILE *fp, uint8_t **out)
{
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	long n = ftell(fp);
	assert_true(n > 0);
	*out = malloc((size_t)n);
	assert_non_null(*out);
	rewind(fp);
	assert_int_equal(fread(*out, 1, (size_t)n, fp), (size_t)n);
	return (size_t)n;
}

/* doc/backup_format.md's example: counter c = 1 of node n1. */
static void test_layout(void **state)
{
	fixture_t *f = *state;
	grove_test_db_t t = {0};
	assert_int_equal(grove_test_db_open(&t, "backup_layout", true), 0);
	(void)f;
	assert_int_equal(grove_db_counter_add(t.db, "c", 1, 1, NULL), 0);
	grove_backup_manifest_t m;
	FILE *fp = backup(t.db, GROVE_BACKUP_CHUNK_BYTES, &m);
	uint8_t *b;
	size_t n = file_bytes(fp, &b);
	assert_memory_equal(b, "GROVEBAK\x01\x00\x00\x00", 12);
	assert_memory_equal(b + 12, "\x07\x00\x00\x00" "cformat" "\x04\x00\x00\x00\x06\x00\x00\x00", 19);
	assert_memory_equal(b + 31, "\x02\x00\x00\x00" "uc", 6);
	uint32_t hl = b[37] | (uint32_t)b[38] << 8;
	size_t end = 41 + hl;
	assert_memory_equal(b + end, "\x00\x00\x00\x00", 4);
	uint32_t ml = b[end + 4] | (uint32_t)b[end + 5] << 8;
	const char *text = "format=1\ngrove=test\nnode=node-a\nstorage-format=6\nvalue-format=2\n"
			   "records=2\ncreated-ms=1234\n";
	assert_int_equal(ml, strlen(text));
	assert_memory_equal(b + end + 8, text, ml);
	assert_int_equal(n, end + 8 + ml + GROVE_BACKUP_HASH_BYTES);
	assert_int_equal(m.records, 2);
	grove_backup_manifest_t got;
	char err[256];
	assert_int_equal(grove_backup_file_scan(fp, &got, NULL, NULL, err, sizeof(err)), 0);
	assert_string_equal(got.node_id, "node-a");
	assert_int_equal(got.records, 2);
	free(b);
	fclose(fp);
	grove_test_db_close(&t);
}

static void fill(grove_db_t *db, int n)
{
	char k[32], v[32];
	for (int i = 0; i < n; i++) {
		int kl = snprintf(k, sizeof(k), "reg%d", i);
		int vl = snprintf(v, sizeof(v), "value%d", i);
		assert_int_equal(grove_db_register_set(db, k, (size_t)kl, v, (size_t)vl), 0);
		assert_int_equal(grove_db_set_add(db, "set", 3, v, (size_t)vl, NULL), 0);
		assert_int_equal(grove_db_map_set(db, "map", 3, k, (size_t)kl, v, (size_t)vl, NULL), 0);
		assert_int_equal(grove_db_counter_add(db, "cnt", 3, 1, NULL), 0);
	}
	assert_int_equal(grove_db_delete(db, "reg0", 4, NULL), 0);
}

/* Restored under a new id: same root digest, values, counts. */
static void test_roundtrip(void **state)
{
	fixture_t *f = *state;
	fill(f->src.db, 500);
	grove_backup_reader_t *r;
	/* a snapshot: a write after the reader opened is not in it */
	assert_int_equal(grove_backup_reader_open(f->src.db, &r), 0);
	uint8_t a[GROVE_DIGEST_BYTES], b[GROVE_DIGEST_BYTES];
	grove_db_root_digest(f->src.db, a);
	assert_int_equal(grove_db_register_set(f->src.db, "late", 4, "x", 1), 0);
	grove_backup_manifest_t m;
	FILE *fp = backup_r(r, f->src.db, 1000, &m); /* many small chunks */
	char dir[4096], err[512] = "";
	snprintf(dir, sizeof(dir), "%s/db", f->out);
	grove_db_t *db = NULL;
	grove_backup_manifest_t got;
	assert_int_equal(grove_backup_restore(fp, dir, "node-b", &db, &got, err, sizeof(err)), 0);
	assert_int_equal(got.records, m.records);
	grove_db_root_digest(db, b);
	assert_memory_equal(a, b, sizeof(a)); /* the state at the snapshot */
	assert_int_equal(grove_db_count(db) + 1, grove_db_count(f->src.db));
	grove_value_t *v = NULL;
	assert_int_equal(grove_db_get(db, "reg7", 4, &v), 0);
	grove_value_destroy(v);
	assert_int_equal(grove_db_get(db, "reg0", 4, &v), GROVE_ENOTFOUND);
	assert_int_equal(grove_db_get(db, "late", 4, &v), GROVE_ENOTFOUND);
	uint64_t n = 0;
	assert_int_equal(grove_db_coll_count(db, "set", 3, GROVE_TYPE_SET, &n), 0);
	assert_int_equal(n, 500);
	/* the new node writes with its own id; the digest moves */
	assert_int_equal(grove_db_set_add(db, "set", 3, "new", 3, NULL), 0);
	assert_string_equal(grove_db_node_id(db), "node-b");
	grove_db_close(db);
	/* the store exists now: a second restore there is refused */
	db = NULL;
	assert_int_not_equal(grove_backup_restore(fp, dir, "node-c", &db, &got, err, sizeof(err)), 0);
	assert_null(db);
	fclose(fp);
}

/* Every truncation and every changed byte is refused, with a message;
 * a changed byte's message says the file is damaged. */
static void test_damage(void **state)
{
	fixture_t *f = *state;
	fill(f->src.db, 3);
	grove_backup_manifest_t m, got;
	FILE *fp = backup(f->src.db, GROVE_BACKUP_CHUNK_BYTES, &m);
	uint8_t *b;
	size_t n = file_bytes(fp, &b);
	char err[512];
	for (size_t len = 0; len < n; len++) {
		FILE *t = tmpfile();
		assert_int_equal(fwrite(b, 1, len, t), len);
		err[0] = '\0';
		int rc = grove_backup_file_scan(t, &got, NULL, NULL, err, sizeof(err));
		assert_int_equal(rc, GROVE_EDECODE);
		assert_true(strstr(err, "truncated") || strstr(err, "not a grove backup") ||
			    strstr(err, "damaged"));
		fclose(t);
	}
	for (size_t i = 0; i < n; i++) {
		FILE *t = tmpfile();
		b[i] ^= 0x20;
		assert_int_equal(fwrite(b, 1, n, t), n);
		b[i] ^= 0x20;
		err[0] = '\0';
		int rc = grove_backup_file_scan(t, &got, NULL, NULL, err, sizeof(err));
		assert_true(rc == GROVE_EDECODE || (i >= 8 && i < 12 && rc == GROVE_EVERSION));
		/* a changed byte is named as damage (a changed length reads past
		 * the end: that message says so too), never only "truncated" */
		assert_true(rc == GROVE_EVERSION || strstr(err, "damaged") || strstr(err, "not a grove backup"));
		fclose(t);
	}
	/* trailing bytes */
	FILE *t = tmpfile();
	assert_int_equal(fwrite(b, 1, n, t), n);
	fputc(0, t);
	assert_int_equal(grove_backup_file_scan(t, &got, NULL, NULL, err, sizeof(err)), GROVE_EDECODE);
	fclose(t);
	/* a newer backup format names the fix */
	b[8] = 2;
	t = tmpfile();
	assert_int_equal(fwrite(b, 1, n, t), n);
	assert_int_equal(grove_backup_file_scan(t, &got, NULL, NULL, err, sizeof(err)), GROVE_EVERSION);
	assert_non_null(strstr(err, "newer"));
	fclose(t);
	free(b);
	/* the backed-up node's own id is refused */
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/db", f->out);
	grove_db_t *db = NULL;
	assert_int_equal(grove_backup_restore(fp, dir, "node-a", &db, &got, err, sizeof(err)), GROVE_EINVAL);
	assert_non_null(strstr(err, "new node id"));
	assert_null(db);
	struct stat st;
	assert_int_not_equal(stat(dir, &st), 0); /* nothing written */
	fclose(fp);
}

/* Manifest: unknown names ignored; missing or bad known ones refused. */
static void test_manifest(void **state)
{
	(void)state;
	grove_backup_manifest_t m;
	const char *ok = "format=1\nnode=a\nstorage-format=3\nvalue-format=2\nrecords=0\n"
			 "created-ms=5\nfuture=x\n";
	assert_int_equal(grove_backup_manifest_decode(ok, strlen(ok), &m), 0);
	assert_string_equal(m.node_id, "a");
	assert_int_equal(m.created_ms, 5);
	const char *bad[] = {
		"format=1\nstorage-format=3\nvalue-format=2\nrecords=0\ncreated-ms=5\n",
		"format=x\nnode=a\nstorage-format=3\nvalue-format=2\nrecords=0\ncreated-ms=5\n",
		"format=1\nnode=a b\nstorage-format=3\nvalue-format=2\nrecords=0\ncreated-ms=5\n",
		"format=1\nnode=a\nstorage-format=3\nvalue-format=2\nrecords=0\ncreated-ms=5",
		"format=1\nnode=a\nstorage-format=3\nvalue-format=2\nrecords=99999999999999999999\ncreated-ms=5\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(grove_backup_manifest_decode(bad[i], strlen(bad[i]), &m), GROVE_EDECODE);
	uint64_t records = 0;
	const uint8_t rec_m[] = {2, 0, 0, 0, 'm', 'x', 0, 0, 0, 0}; /* node-local: refused */
	assert_int_equal(grove_backup_chunk_check(rec_m, sizeof(rec_m), &records), GROVE_EDECODE);
	const uint8_t rec_u[] = {2, 0, 0, 0, 'u', 'x', 0, 0, 0, 0};
	assert_int_equal(grove_backup_chunk_check(rec_u, sizeof(rec_u), &records), 0);
	assert_int_equal(records, 1);
	assert_int_equal(grove_backup_chunk_check(rec_u, sizeof(rec_u) - 1, &records), GROVE_EDECODE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damage, setup, teardown),
		cmocka_unit_test(test_manifest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
