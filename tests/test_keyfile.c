/*
 * test_keyfile.c - key and certificate files: round trips, 0600 creation,
 * refusal of group/world-accessible secret keys, no overwriting, malformed
 * and oversized files, loading a node identity from a directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "node/keyfile.h"
#include "tests/util_identity.h"

static char dir[64];
static grove_test_ca_t ca;

static void path_of(char *out, const char *name)
{
	snprintf(out, 256, "%s/%s", dir, name);
}

static void write_raw(const char *name, const char *text, mode_t mode)
{
	char p[256];
	path_of(p, name);
	unlink(p);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(p, mode), 0);
}

static mode_t mode_of(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/grove-keyfile-XXXXXX");
	assert_non_null(mkdtemp(dir));
	grove_test_ca_init(&ca, "ca-main");
	umask(022);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static void test_secret_roundtrip_mode_and_no_overwrite(void **state)
{
	(void)state;
	char p[256];
	path_of(p, "ca.key");
	assert_int_equal(grove_keyfile_write_ca_secret(p, ca.sk), 0);
	assert_int_equal(mode_of(p), 0600);
	uint8_t sk[GROVE_SIGN_SECRET_BYTES];
	assert_int_equal(grove_keyfile_read_ca_secret(p, sk), 0);
	assert_memory_equal(sk, ca.sk, sizeof sk);
	assert_int_equal(grove_keyfile_write_ca_secret(p, ca.sk), GROVE_EEXISTS);
	/* Same format, other kind: a CA key is not a node key. */
	assert_int_equal(grove_keyfile_read_node_secret(p, sk), GROVE_EDECODE);

	path_of(p, "ca.pub");
	assert_int_equal(grove_keyfile_write_ca_public(p, ca.pk), 0);
	assert_int_equal(mode_of(p), 0644);
	uint8_t pk[GROVE_SIGN_PUBLIC_BYTES];
	assert_int_equal(grove_keyfile_read_ca_public(p, pk), 0);
	assert_memory_equal(pk, ca.pk, sizeof pk);
	assert_int_equal(grove_keyfile_write_ca_public(p, ca.pk), GROVE_EEXISTS);
}

static void test_group_or_world_readable_secret_refused(void **state)
{
	(void)state;
	char p[256];
	path_of(p, "node.key");
	unlink(p);
	grove_identity_t id;
	grove_test_identity(&id, &ca, &ca, "node-k", 0, GROVE_TEST_EXPIRES_MS);
	assert_int_equal(grove_keyfile_write_node_secret(p, id.sk), 0);
	assert_int_equal(mode_of(p), 0600);
	const mode_t too_open[] = { 0640, 0604, 0660, 0644, 0610, 0601, 0777, 0620 };
	uint8_t sk[GROVE_SIGN_SECRET_BYTES];
	for (size_t i = 0; i < sizeof too_open / sizeof too_open[0]; i++) {
		assert_int_equal(chmod(p, too_open[i]), 0);
		memset(sk, 0x77, sizeof sk);
		assert_int_equal(grove_keyfile_read_node_secret(p, sk), GROVE_EPERM);
		for (size_t j = 0; j < sizeof sk; j++)
			assert_int_equal(sk[j], 0x77); /* untouched */
	}
	const mode_t ok[] = { 0600, 0400, 0700 };
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		assert_int_equal(chmod(p, ok[i]), 0);
		assert_int_equal(grove_keyfile_read_node_secret(p, sk), 0);
		assert_memory_equal(sk, id.sk, sizeof sk);
	}
	/* Under a permissive umask the secret is still created 0600. */
	unlink(p);
	mode_t old = umask(0);
	assert_int_equal(grove_keyfile_write_node_secret(p, id.sk), 0);
	umask(old);
	assert_int_equal(mode_of(p), 0600);
	assert_string_equal(grove_keyfile_strerror(GROVE_EPERM),
			    "secret key file is readable by group or others, or not readable by us: chmod 600 it");
	grove_identity_close(&id);
}

static void test_malformed_files(void **state)
{
	(void)state;
	char p[256];
	uint8_t pk[GROVE_SIGN_PUBLIC_BYTES];
	const char *hex32 = "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c";
	char text[GROVE_KEYFILE_BYTES_MAX + 128];
	struct {
		const char *body;
		int want;
	} cases[] = {
		{ "", GROVE_EDECODE },
		{ "grove-ca-public-key-v1\n", GROVE_EDECODE },
		{ "grove-ca-public-key-v2\n%s\n", GROVE_EDECODE },
		{ "grove-ca-public-key-v1\n%s", GROVE_EDECODE },      /* no final newline */
		{ "grove-ca-public-key-v1\n%s\n\n", GROVE_EDECODE },  /* extra line */
		{ "grove-ca-public-key-v1\n%s00\n", GROVE_EDECODE },  /* 33 bytes */
		{ "grove-ca-public-key-v1\n%.62s\n", GROVE_EDECODE }, /* 31 bytes */
		{ "grove-ca-public-key-v1\n%.63s\n", GROVE_EDECODE }, /* odd hex */
		{ "grove-ca-public-key-v1\nzz%.62s\n", GROVE_EDECODE },
		{ "grove-ca-public-key-v1\r\n%s\r\n", GROVE_EDECODE },
		{ "grove-ca-public-key-v1\n%s\n", 0 },
	};
	path_of(p, "case.pub");
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(text, sizeof text, cases[i].body, hex32);
		write_raw("case.pub", text, 0644);
		assert_int_equal(grove_keyfile_read_ca_public(p, pk), cases[i].want);
	}
	memset(text, 'a', GROVE_KEYFILE_BYTES_MAX + 100);
	text[GROVE_KEYFILE_BYTES_MAX + 100] = '\0';
	write_raw("case.pub", text, 0644);
	assert_int_equal(grove_keyfile_read_ca_public(p, pk), GROVE_ETOOBIG);
	assert_int_equal(grove_keyfile_read_ca_public(dir, pk), GROVE_EINVAL); /* a directory */
	/* a FIFO is refused at once, not waited on for a writer (the alarm
	 * turns a hang into a failure) */
	path_of(p, "fifo.pub");
	assert_int_equal(mkfifo(p, 0644), 0);
	alarm(10);
	assert_int_equal(grove_keyfile_read_ca_public(p, pk), GROVE_EINVAL);
	alarm(0);
	path_of(p, "missing.pub");
	assert_int_equal(grove_keyfile_read_ca_public(p, pk), GROVE_ENOTFOUND);
	grove_cert_t c;
	write_raw("bad.crt", "grove-node-cert-v1\n0102\n", 0644);
	path_of(p, "bad.crt");
	assert_int_equal(grove_keyfile_read_cert(p, &c), GROVE_EDECODE);
}

/* Writes a node's key set into dir/name: node.key, node.crt, ca.pub. */
static void write_key_set(const char *sub, grove_identity_t *id)
{
	char d[128], p[256];
	snprintf(d, sizeof d, "%s/%s", dir, sub);
	assert_int_equal(mkdir(d, 0700), 0);
	snprintf(p, sizeof p, "%s/node.key", d);
	assert_int_equal(grove_keyfile_write_node_secret(p, id->sk), 0);
	snprintf(p, sizeof p, "%s/node.crt", d);
	assert_int_equal(grove_keyfile_write_cert(p, &id->cert), 0);
	snprintf(p, sizeof p, "%s/ca.pub", d);
	assert_int_equal(grove_keyfile_write_ca_public(p, ca.pk), 0);
}

static void test_load_identity(void **state)
{
	(void)state;
	grove_identity_t id, loaded, other;
	grove_test_identity(&id, &ca, &ca, "node-l", 0, GROVE_TEST_EXPIRES_MS);
	write_key_set("n1", &id);
	char d[256], p[256];
	snprintf(d, sizeof d, "%s/n1", dir);
	const char *bad = NULL;
	assert_int_equal(grove_keyfile_load_identity(d, GROVE_TEST_NOW_MS, &loaded, &bad), 0);
	assert_null(bad);
	assert_true(grove_cert_equal(&loaded.cert, &id.cert));
	assert_memory_equal(loaded.sk, id.sk, sizeof id.sk);
	grove_identity_close(&loaded);
	assert_int_equal(grove_keyfile_load_identity(d, GROVE_TEST_EXPIRES_MS, &loaded, &bad), GROVE_EEXPIRED);
	assert_string_equal(bad, GROVE_KEYFILE_NODE_CERT);
	/* Someone else's certificate next to our key. */
	grove_test_identity(&other, &ca, &ca, "node-m", 0, GROVE_TEST_EXPIRES_MS);
	write_key_set("n2", &other);
	snprintf(p, sizeof p, "%s/n2/node.crt", dir);
	unlink(p);
	assert_int_equal(grove_keyfile_write_cert(p, &id.cert), 0);
	snprintf(d, sizeof d, "%s/n2", dir);
	assert_int_equal(grove_keyfile_load_identity(d, GROVE_TEST_NOW_MS, &loaded, &bad), GROVE_EINVAL);
	assert_string_equal(bad, GROVE_KEYFILE_NODE_CERT);
	/* Missing CA key, then a world-readable node key. */
	snprintf(p, sizeof p, "%s/n1/ca.pub", dir);
	unlink(p);
	snprintf(d, sizeof d, "%s/n1", dir);
	assert_int_equal(grove_keyfile_load_identity(d, GROVE_TEST_NOW_MS, &loaded, &bad), GROVE_ENOTFOUND);
	assert_string_equal(bad, GROVE_KEYFILE_CA_PUB);
	snprintf(p, sizeof p, "%s/n1/node.key", dir);
	assert_int_equal(chmod(p, 0644), 0);
	assert_int_equal(grove_keyfile_load_identity(d, GROVE_TEST_NOW_MS, &loaded, &bad), GROVE_EPERM);
	assert_string_equal(bad, GROVE_KEYFILE_NODE_KEY);
	grove_identity_close(&id);
	grove_identity_close(&other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secret_roundtrip_mode_and_no_overwrite),
		cmocka_unit_test(test_group_or_world_readable_secret_refused),
		cmocka_unit_test(test_malformed_files),
		cmocka_unit_test(test_load_identity),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
