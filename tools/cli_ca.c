/*
 * cli_ca.c - `grove ca init DIR` and `grove cert CA_DIR --id ID ...`:
 * create the cluster CA and node certificates (version 2, with their issue
 * time).  `grove cert` signs a public key handed to the CA (--pubkey, from
 * `grove keygen` on the node: the secret never leaves it), renews a key
 * set in place (--out DIR holding node.key: same key, new node.crt), or
 * creates a fresh key set.  `grove keygen`, `grove cert show` and
 * `grove revoke` are in cli_cert.c.
 *
 * All file formats and permission rules are those of node/keyfile.h: secret
 * keys are created 0600 and never overwritten; the CA secret key is refused
 * when group/world accessible.  Directories that do not exist are created
 * 0700, with their missing parents.  A failed `cert` removes the files it
 * had created (not the directories).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "grove/hlc.h"
#include "gossip/secure/cert.h"
#include "gossip/secure/identity.h"
#include "node/keyfile.h"
#include "tools/grove_cli.h"

#define CERT_DAYS_DEFAULT 365
#define CERT_DAYS_MAX 36500
#define MS_PER_DAY 86400000ull

const char grove_cli_ca_help[] =
	"usage: grove ca init DIR\n\n"
	"Create the cluster CA key pair: DIR/ca.key (secret, mode 0600) and\n"
	"DIR/ca.pub.  DIR is created (0700, with its parents) if missing.\n"
	"Existing files are never overwritten.  Keep ca.key offline; every node\n"
	"gets a copy of ca.pub.\n\n"
	"exit codes: 0 success, 1 runtime error, 2 usage error\n";

const char grove_cli_cert_help[] =
	"usage: grove cert CA_DIR --id ID --out OUTDIR [--days N]\n"
	"       grove cert CA_DIR --id ID --pubkey FILE --out CERT [--days N]\n"
	"       grove cert show FILE\n\n"
	"Issue a certificate for node ID signed by the CA in CA_DIR (CA_DIR/ca.key,\n"
	"CA_DIR/ca.pub).  Certificates are version 2: they carry their issue time,\n"
	"and a newer certificate for an id supersedes older ones on every node\n"
	"(renewal, key rotation) without restarting them.\n\n"
	"With --out OUTDIR only: if OUTDIR/node.key exists the key is kept and\n"
	"OUTDIR/node.crt is replaced (renewal); otherwise a new key pair is made:\n"
	"OUTDIR/node.key (secret, mode 0600), OUTDIR/node.crt and a copy of ca.pub.\n"
	"Use the node's data directory as OUTDIR.  Then send the node SIGHUP.\n\n"
	"With --pubkey FILE (a node.pub made by grove keygen on the node): sign that\n"
	"key; the secret key never leaves its node.  --out CERT is the certificate\n"
	"file to write (replaced if it exists), or a directory (CERT/node.crt).\n\n"
	"  --id ID       node id: 1..63 printable ASCII characters, no spaces\n"
	"  --out PATH    output directory or certificate file (see above)\n"
	"  --pubkey FILE node public key to certify\n"
	"  --days N      validity in days, 1..36500 (default 365)\n\n"
	"grove cert show FILE prints a certificate: id, key fingerprint, version,\n"
	"issue time, validity, issuer (CA id).\n\n"
	"exit codes: 0 success, 1 runtime error, 2 usage error\n";

/* Create dir (0700) unless it already is a directory, with its missing
 * parents (0700 too), as mkdir -p does.  Errors name the component at
 * fault ("a/file: not a directory"). */
static int ensure_dir(const char *cmd, const char *dir)
{
	char path[PATH_MAX];
	size_t len = strlen(dir);
	if (len == 0 || len >= sizeof path) {
		grove_cli_error(cmd, "'%s': not a usable directory name", dir);
		return -1;
	}
	memcpy(path, dir, len + 1);
	/* Each prefix that ends before a '/' (and the whole path), in order. */
	for (size_t i = 1; i <= len; i++) {
		if (i < len && path[i] != '/')
			continue;
		if (i < len && path[i - 1] == '/')
			continue; /* "a//b" */
		char saved = path[i];
		path[i] = '\0';
		struct stat st;
		int rc = 0;
		if (stat(path, &st) == 0) {
			if (!S_ISDIR(st.st_mode)) {
				grove_cli_error(cmd, "%s: not a directory (needed for %s)", path, dir);
				rc = -1;
			}
		} else if (errno != ENOENT || (mkdir(path, 0700) != 0 && errno != EEXIST)) {
			grove_cli_error(cmd, "%s: cannot create directory: %s", path, strerror(errno));
			rc = -1;
		}
		path[i] = saved;
		if (rc < 0)
			return -1;
	}
	return 0;
}

static int path_in(const char *cmd, char out[PATH_MAX], const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
	if (n < 0 || n >= PATH_MAX) {
		grove_cli_error(cmd, "%s: path too long", dir);
		return -1;
	}
	return 0;
}

static void report(const char *cmd, const char *path, int rc)
{
	grove_cli_error(cmd, "%s: %s", path, grove_keyfile_strerror(rc));
}

static void print_ca_id(const char *label, const uint8_t pk[GROVE_SIGN_PUBLIC_BYTES])
{
	uint8_t id[GROVE_CA_ID_BYTES];
	char hex[2 * GROVE_CA_ID_BYTES + 1];
	grove_ca_id(id, pk);
	sodium_bin2hex(hex, sizeof hex, id, sizeof id);
	printf("%s%s\n", label, hex);
}

static int ca_init(const char *dir)
{
	char key_path[PATH_MAX], pub_path[PATH_MAX];
	if (ensure_dir("ca", dir) < 0 || path_in("ca", key_path, dir, GROVE_KEYFILE_CA_KEY) < 0 ||
	    path_in("ca", pub_path, dir, GROVE_KEYFILE_CA_PUB) < 0)
		return GROVE_CLI_ERROR;
	uint8_t pk[GROVE_SIGN_PUBLIC_BYTES], sk[GROVE_SIGN_SECRET_BYTES];
	int rc = grove_sign_keypair(pk, sk);
	int exit_code = GROVE_CLI_ERROR;
	if (rc < 0) {
		grove_cli_error("ca", "key generation failed: %s", grove_strerror(rc));
		goto out_wipe;
	}
	if ((rc = grove_keyfile_write_ca_secret(key_path, sk)) < 0) {
		report("ca", key_path, rc);
		goto out_wipe;
	}
	if ((rc = grove_keyfile_write_ca_public(pub_path, pk)) < 0) {
		report("ca", pub_path, rc);
		unlink(key_path);
		goto out_wipe;
	}
	printf("created %s (secret, 0600) and %s\n", key_path, pub_path);
	print_ca_id("ca id: ", pk);
	exit_code = GROVE_CLI_OK;
out_wipe:
	sodium_memzero(sk, sizeof sk);
	return exit_code;
}

int grove_cli_ca(int argc, char **argv)
{
	if (argc != 3 || strcmp(argv[1], "init") != 0)
		return grove_cli_usage("ca", grove_cli_ca_help);
	return ca_init(argv[2]);
}

typedef struct cert_args {
	const char *ca_dir;
	const char *id;
	const char *out_dir;
	const char *pubkey;
	long days;
} cert_args_t;

/* Parse `cert DIR --id ID --out OUTDIR [--days N]`; 0 or -1 (usage). */
static int parse_cert_args(int argc, char **argv, cert_args_t *a)
{
	static const struct option opts[] = {
		{ "id", required_argument, NULL, 'i' },
		{ "out", required_argument, NULL, 'o' },
		{ "days", required_argument, NULL, 'd' },
		{ "pubkey", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	memset(a, 0, sizeof *a);
	a->days = CERT_DAYS_DEFAULT;
	optind = 0; /* GNU: full re-initialization */
	opterr = 1;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end = NULL;
		if (c == 'i') {
			a->id = optarg;
		} else if (c == 'o') {
			a->out_dir = optarg;
		} else if (c == 'p') {
			a->pubkey = optarg;
		} else if (c == 'd') {
			errno = 0;
			a->days = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' || a->days < 1 || a->days > CERT_DAYS_MAX) {
				grove_cli_error("cert", "--days: expected 1..%d, got '%s'", CERT_DAYS_MAX, optarg);
				return -1;
			}
		} else {
			return -1;
		}
	}
	if (optind != argc - 1 || a->id == NULL || a->out_dir == NULL)
		return -1;
	a->ca_dir = argv[optind];
	if (!grove_node_id_valid(a->id, strnlen(a->id, GROVE_NODE_ID_MAX + 1))) {
		grove_cli_error("cert", "--id: '%s' is not a node id (1..%d printable ASCII, no spaces)", a->id,
				GROVE_NODE_ID_MAX);
		return -1;
	}
	return 0;
}

/* Load the CA key pair from dir and check that its halves match. */
static int load_ca(const char *dir, uint8_t pk[GROVE_SIGN_PUBLIC_BYTES], uint8_t sk[GROVE_SIGN_SECRET_BYTES])
{
	char key_path[PATH_MAX], pub_path[PATH_MAX];
	if (path_in("cert", key_path, dir, GROVE_KEYFILE_CA_KEY) < 0 ||
	    path_in("cert", pub_path, dir, GROVE_KEYFILE_CA_PUB) < 0)
		return -1;
	int rc = grove_keyfile_read_ca_secret(key_path, sk);
	if (rc < 0) {
		report("cert", key_path, rc);
		return -1;
	}
	if ((rc = grove_keyfile_read_ca_public(pub_path, pk)) < 0) {
		report("cert", pub_path, rc);
		return -1;
	}
	uint8_t derived[GROVE_SIGN_PUBLIC_BYTES];
	crypto_sign_ed25519_sk_to_pk(derived, sk);
	if (sodium_memcmp(pk, derived, sizeof derived) != 0) {
		grove_cli_error("cert", "%s does not belong to %s", pub_path, key_path);
		return -1;
	}
	return 0;
}

/* OUTDIR/ca.pub: create it, or accept an existing copy of the same key. */
static int copy_ca_public(const char *path, const uint8_t ca_pk[GROVE_SIGN_PUBLIC_BYTES])
{
	int rc = grove_keyfile_write_ca_public(path, ca_pk);
	if (rc == GROVE_EEXISTS) {
		uint8_t have[GROVE_SIGN_PUBLIC_BYTES];
		rc = grove_keyfile_read_ca_public(path, have);
		if (rc == 0 && sodium_memcmp(have, ca_pk, sizeof have) != 0) {
			grove_cli_error("cert", "%s: holds another CA's public key", path);
			return -1;
		}
	}
	if (rc < 0) {
		report("cert", path, rc);
		return -1;
	}
	return 0;
}

static void print_issued(const char *what, const char *path, const grove_cert_t *c)
{
	time_t expires_s = (time_t)(c->expires_ms / 1000);
	char when[32];
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&expires_s));
	uint8_t fp[GROVE_KEY_FINGERPRINT_BYTES];
	char hex[2 * GROVE_KEY_FINGERPRINT_BYTES + 1];
	grove_key_fingerprint(fp, c->node_pk);
	sodium_bin2hex(hex, sizeof hex, fp, sizeof fp);
	printf("%s %s\nnode %s, key %s, issued %llu, expires %s\n", what, path, c->node_id, hex,
	       (unsigned long long)c->issued_ms, when);
}

static int issue(const cert_args_t *a, const uint8_t pk[GROVE_SIGN_PUBLIC_BYTES],
		 const uint8_t ca_sk[GROVE_SIGN_SECRET_BYTES], grove_cert_t *cert)
{
	uint64_t now = grove_clock_system_ms(NULL);
	int rc = grove_cert_issue_v2(cert, a->id, pk, now, now + (uint64_t)a->days * MS_PER_DAY, ca_sk);
	if (rc < 0)
		grove_cli_error("cert", "cannot issue certificate: %s", grove_strerror(rc));
	return rc;
}

/* OUTDIR holds node.key already: keep the key, replace node.crt. */
static int renew_node_files(const cert_args_t *a, const char *key_path, const char *crt_path,
			    const uint8_t ca_sk[GROVE_SIGN_SECRET_BYTES])
{
	uint8_t sk[GROVE_SIGN_SECRET_BYTES], pk[GROVE_SIGN_PUBLIC_BYTES];
	grove_cert_t cert;
	int exit_code = GROVE_CLI_ERROR;
	int rc = grove_keyfile_read_node_secret(key_path, sk);
	if (rc < 0) {
		report("cert", key_path, rc);
		goto out_wipe;
	}
	crypto_sign_ed25519_sk_to_pk(pk, sk);
	if (issue(a, pk, ca_sk, &cert) < 0)
		goto out_wipe;
	if ((rc = grove_keyfile_replace_cert(crt_path, &cert)) < 0) {
		report("cert", crt_path, rc);
		goto out_wipe;
	}
	print_issued("renewed (same key)", crt_path, &cert);
	exit_code = GROVE_CLI_OK;
out_wipe:
	sodium_memzero(sk, sizeof sk);
	return exit_code;
}

/* Create node.key, node.crt and ca.pub in a->out_dir (or renew: see
 * above); on failure remove the key and certificate created here. */
static int write_node_files(const cert_args_t *a, const uint8_t ca_pk[GROVE_SIGN_PUBLIC_BYTES],
			    const uint8_t ca_sk[GROVE_SIGN_SECRET_BYTES])
{
	char key_path[PATH_MAX], crt_path[PATH_MAX], pub_path[PATH_MAX];
	if (ensure_dir("cert", a->out_dir) < 0 || path_in("cert", key_path, a->out_dir, GROVE_KEYFILE_NODE_KEY) < 0 ||
	    path_in("cert", crt_path, a->out_dir, GROVE_KEYFILE_NODE_CERT) < 0 ||
	    path_in("cert", pub_path, a->out_dir, GROVE_KEYFILE_CA_PUB) < 0)
		return GROVE_CLI_ERROR;
	if (access(key_path, F_OK) == 0) {
		if (copy_ca_public(pub_path, ca_pk) < 0)
			return GROVE_CLI_ERROR;
		return renew_node_files(a, key_path, crt_path, ca_sk);
	}
	uint8_t pk[GROVE_SIGN_PUBLIC_BYTES], sk[GROVE_SIGN_SECRET_BYTES];
	grove_cert_t cert;
	int exit_code = GROVE_CLI_ERROR;
	int rc = grove_sign_keypair(pk, sk);
	if (rc < 0) {
		grove_cli_error("cert", "key generation failed: %s", grove_strerror(rc));
		goto out_wipe;
	}
	if (issue(a, pk, ca_sk, &cert) < 0)
		goto out_wipe;
	if ((rc = grove_keyfile_write_node_secret(key_path, sk)) < 0) {
		report("cert", key_path, rc);
		goto out_wipe;
	}
	if ((rc = grove_keyfile_replace_cert(crt_path, &cert)) < 0) {
		report("cert", crt_path, rc);
		goto out_unlink_key;
	}
	if (copy_ca_public(pub_path, ca_pk) < 0)
		goto out_unlink_cert;
	printf("created %s (secret, 0600), %s and %s\n", key_path, crt_path, pub_path);
	print_issued("certificate", crt_path, &cert);
	exit_code = GROVE_CLI_OK;
	goto out_wipe;
out_unlink_cert:
	unlink(crt_path);
out_unlink_key:
	unlink(key_path);
out_wipe:
	sodium_memzero(sk, sizeof sk);
	return exit_code;
}

/* --pubkey FILE: certify a public key made elsewhere (grove keygen). */
static int sign_public_key(const cert_args_t *a, const uint8_t ca_sk[GROVE_SIGN_SECRET_BYTES])
{
	uint8_t pk[GROVE_SIGN_PUBLIC_BYTES];
	char crt_path[PATH_MAX];
	struct stat st;
	int rc = grove_keyfile_read_node_public(a->pubkey, pk);
	if (rc < 0) {
		grove_cli_error("cert", "%s: %s (expected a node.pub made by grove keygen)", a->pubkey,
				grove_keyfile_strerror(rc));
		return GROVE_CLI_ERROR;
	}
	if (stat(a->out_dir, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (path_in("cert", crt_path, a->out_dir, GROVE_KEYFILE_NODE_CERT) < 0)
			return GROVE_CLI_ERROR;
	} else if (snprintf(crt_path, sizeof crt_path, "%s", a->out_dir) >= (int)sizeof crt_path) {
		grove_cli_error("cert", "%s: path too long", a->out_dir);
		return GROVE_CLI_ERROR;
	}
	grove_cert_t cert;
	if (issue(a, pk, ca_sk, &cert) < 0)
		return GROVE_CLI_ERROR;
	if ((rc = grove_keyfile_replace_cert(crt_path, &cert)) < 0) {
		report("cert", crt_path, rc);
		return GROVE_CLI_ERROR;
	}
	print_issued("certificate", crt_path, &cert);
	return GROVE_CLI_OK;
}

int grove_cli_cert(int argc, char **argv)
{
	cert_args_t a;
	if (argc >= 2 && strcmp(argv[1], "show") == 0)
		return grove_cli_cert_show(argc - 1, argv + 1);
	if (parse_cert_args(argc, argv, &a) < 0)
		return grove_cli_usage("cert", grove_cli_cert_help);
	uint8_t ca_pk[GROVE_SIGN_PUBLIC_BYTES], ca_sk[GROVE_SIGN_SECRET_BYTES];
	int exit_code = GROVE_CLI_ERROR;
	if (load_ca(a.ca_dir, ca_pk, ca_sk) == 0)
		exit_code = a.pubkey ? sign_public_key(&a, ca_sk) : write_node_files(&a, ca_pk, ca_sk);
	sodium_memzero(ca_sk, sizeof ca_sk);
	return exit_code;
}

int grove_cli__load_ca(const char *dir, uint8_t pk[GROVE_SIGN_PUBLIC_BYTES], uint8_t sk[GROVE_SIGN_SECRET_BYTES])
{
	return load_ca(dir, pk, sk);
}
