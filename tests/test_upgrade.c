/*
 * test_upgrade.c - README "Upgrading": every on-disk format this release
 * cannot read is refused with a message that names the fix, before
 * anything is written: a store of a newer format (and of the old format
 * 1), a backup of a newer backup format or of another storage format, a
 * certificate of a newer format.  And the older format this release does
 * read: a format 2 to 5 store opens and is marked format 6.
 * (Older value and wire versions: test_crdt_codec.c, test_ae_codec.c,
 * test_member_codec.c, test_cert.c check GROVE_EVERSION.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "grove/alloc.h"
#include "grove/backup.h"
#include "node/keyfile.h"
#include "storage/store.h"
#include "tests/util_storage.h"

/* A store whose format record says version, holding one key. */
static char *store_of_format(uint32_t version)
{
	char *dir = grove_test_storage_tmpdir("upgrade");
	grove_store_t *s;
	char err[512];
	assert_int_equal(grove_store_open_leveldb(dir, &s, err, sizeof(err)), 0);
	const uint8_t f[4] = {(uint8_t)version, (uint8_t)(version >> 8), 0, 0};
	assert_int_equal(grove_store_put(s, "cformat", 7, f, 4, true), 0);
	assert_int_equal(grove_store_put(s, "ukey", 4, "\x01", 1, true), 0);
	grove_store_close(s);
	return dir;
}

static void test_newer_store_refused(void **state)
{
	(void)state;
	char *dir = store_of_format(grove_backup_storage_format() + 1);
	grove_db_options_t o;
	grove_test_db_options_init(&o);
	grove_db_t *db = NULL;
	char err[512] = "";
	assert_int_equal(grove_db_open(dir, &o, &db, err, sizeof(err)), GROVE_EVERSION);
	printf("%s\n", err);
	assert_non_null(strstr(err, "is newer than this version reads"));
	assert_non_null(strstr(err, "run that release (or a later one)"));
	assert_null(db);
	grove_test_storage_rmdir(dir);
	dir = store_of_format(0);
	assert_int_equal(grove_db_open(dir, &o, &db, err, sizeof(err)), GROVE_EVERSION);
	assert_non_null(strstr(err, "unknown store format 0"));
	grove_test_storage_rmdir(dir);
}

/* A backup file claiming storage format sf; restore's message. */
static void restore_of_format(uint32_t sf, const char *want)
{
	FILE *fp = tmpfile();
	grove_backup_writer_t *w;
	assert_int_equal(grove_backup_writer_open(fp, &w), 0);
	grove_backup_manifest_t m = {.storage_format = sf, .value_format = 1, .created_ms = 1};
	snprintf(m.node_id, sizeof(m.node_id), "old");
	snprintf(m.version, sizeof(m.version), "9.9.9");
	assert_int_equal(grove_backup_writer_finish(w, &m), 0);
	grove_backup_writer_close(w);
	char *dir = grove_test_storage_tmpdir("upgrade_restore");
	char db_dir[4096], err[512] = "";
	snprintf(db_dir, sizeof(db_dir), "%s/db", dir);
	grove_db_t *db = NULL;
	grove_backup_manifest_t got;
	assert_int_equal(grove_backup_restore(fp, db_dir, "new", &db, &got, err, sizeof(err)),
			 GROVE_EVERSION);
	printf("%s\n", err);
	assert_non_null(strstr(err, want));
	assert_non_null(strstr(err, "9.9.9"));
	assert_null(db);
	grove_test_storage_rmdir(dir);
	fclose(fp);
}

/* Formats 2 and 3 (before the TTL index) hold no TTL, 2 to 4 no counter
 * field, 2 to 5 list elements' index records at hash(name): they open,
 * their data is there, and the format record says 6 afterwards
 * (test_db_hash: a format 4 store's hash fields read unchanged;
 * test_db_list: a format 5 store's list index moved). */
static void format_upgraded(uint32_t from)
{
	char *dir = store_of_format(from);
	grove_db_options_t o;
	grove_test_db_options_init(&o);
	grove_db_t *db = NULL;
	char err[512] = "";
	assert_int_equal(grove_db_open(dir, &o, &db, err, sizeof(err)), 0);
	assert_int_equal(grove_db_expires(db), 0);
	grove_db_close(db);
	grove_store_t *s = grove_test_storage_raw_open(dir);
	uint8_t *v = NULL;
	size_t n = 0;
	assert_int_equal(grove_store_get(s, NULL, "cformat", 7, &v, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(v[0], 6);
	grove_free(v);
	assert_int_equal(grove_store_get(s, NULL, "ukey", 4, &v, &n), 0);
	grove_free(v);
	grove_store_close(s);
	grove_test_storage_rmdir(dir);
}

static void test_format2_store_upgraded(void **state)
{
	(void)state;
	format_upgraded(2);
	format_upgraded(3);
	format_upgraded(4);
	format_upgraded(5);
}

static void test_backup_of_other_format_refused(void **state)
{
	(void)state;
	restore_of_format(grove_backup_storage_format() + 1, "newer than this grove");
	restore_of_format(1, "let anti-entropy carry the data");
}

/* A certificate of a newer format: refused with a message naming the fix
 * (groved prints it with the file name at start-up). */
static void test_newer_certificate_refused(void **state)
{
	(void)state;
	char *dir = grove_test_storage_tmpdir("upgrade_cert");
	char path[4096];
	snprintf(path, sizeof(path), "%s/node.crt", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("grove-node-cert-v1\n03", f); /* version 3 (newer than 1 and 2), then zeros */
	for (int i = 0; i < 150; i++)
		fputs("00", f);
	fputs("\n", f);
	fclose(f);
	grove_cert_t c;
	assert_int_equal(grove_keyfile_read_cert(path, &c), GROVE_EVERSION);
	printf("%s\n", grove_keyfile_strerror(GROVE_EVERSION));
	assert_non_null(strstr(grove_keyfile_strerror(GROVE_EVERSION), "newer than this groved reads"));
	grove_test_storage_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_newer_store_refused),
		cmocka_unit_test(test_format2_store_upgraded),
		cmocka_unit_test(test_backup_of_other_format_refused),
		cmocka_unit_test(test_newer_certificate_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
