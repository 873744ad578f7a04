/*
 * cli_cert.c - `grove keygen --dir DIR` (a node's key pair, made on the
 * node), `grove cert show FILE` (print a certificate) and `grove revoke
 * CA_DIR --out FILE ...` (a CA-signed revocation list of node keys).
 *
 * File formats are node/keyfile.h's.  The revocation list is complete, not
 * a delta: when --out names an existing list, its keys are kept and the new
 * ones added, and the list gets a new issue time (a later list replaces an
 * earlier one on every node).  Nodes read DATA/revoked.crl at start and on
 * SIGHUP, then gossip it.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "grove/clock.h"
#include "gossip/secure/cert.h"
#include "gossip/secure/identity.h"
#include "gossip/secure/revoke.h"
#include "node/keyfile.h"
#include "tools/grove_cli.h"

const char grove_cli_keygen_help[] =
	"usage: grove keygen --dir DIR\n\n"
	"Make a node key pair on the node itself: DIR/node.key (secret, mode 0600)\n"
	"and DIR/node.pub.  Hand only node.pub to the CA operator, who signs it with\n"
	"grove cert CA_DIR --id ID --pubkey node.pub --out node.crt; put node.crt and\n"
	"ca.pub in DIR.  DIR is created (0700) if missing; key files are never\n"
	"overwritten.\n\n"
	"exit codes: 0 success, 1 runtime error, 2 usage error\n";

const char grove_cli_revoke_help[] =
	"usage: grove revoke CA_DIR --out FILE [--cert CERT]... [--key FINGERPRINT]...\n\n"
	"Write FILE, a revocation list signed by the CA in CA_DIR, naming the keys of\n"
	"the given certificates and the given key fingerprints (32 hex digits, as\n"
	"grove cert show prints them).  If FILE already holds a list of this CA, its\n"
	"keys are kept: the list is complete, at most 32 keys.  Copy FILE to a\n"
	"node's data directory as revoked.crl and send it SIGHUP: the node gossips\n"
	"it, every node keeps it, and certificates with those keys are refused.\n\n"
	"exit codes: 0 success, 1 runtime error, 2 usage error\n";

static void fmt_time(char *out, size_t cap, uint64_t ms)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	if (gmtime_r(&s, &tm) == NULL || strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, cap, "%llu ms", (unsigned long long)ms);
}

int grove_cli_keygen(int argc, char **argv)
{
	if (argc != 3 || strcmp(argv[1], "--dir") != 0)
		return grove_cli_usage("keygen", grove_cli_keygen_help);
	const char *dir = argv[2];
	char key_path[PATH_MAX], pub_path[PATH_MAX];
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		grove_cli_error("keygen", "%s: cannot create directory: %s", dir, strerror(errno));
		return GROVE_CLI_ERROR;
	}
	if (snprintf(key_path, sizeof key_path, "%s/%s", dir, GROVE_KEYFILE_NODE_KEY) >= (int)sizeof key_path ||
	    snprintf(pub_path, sizeof pub_path, "%s/%s", dir, GROVE_KEYFILE_NODE_PUB) >= (int)sizeof pub_path) {
		grove_cli_error("keygen", "%s: path too long", dir);
		return GROVE_CLI_ERROR;
	}
	uint8_t pk[GROVE_SIGN_PUBLIC_BYTES], sk[GROVE_SIGN_SECRET_BYTES];
	int exit_code = GROVE_CLI_ERROR;
	int rc = grove_sign_keypair(pk, sk);
	if (rc == 0 && (rc = grove_keyfile_write_node_secret(key_path, sk)) < 0) {
		grove_cli_error("keygen", "%s: %s", key_path, grove_keyfile_strerror(rc));
		goto out_wipe;
	}
	if (rc == 0 && (rc = grove_keyfile_write_node_public(pub_path, pk)) < 0) {
		grove_cli_error("keygen", "%s: %s", pub_path, grove_keyfile_strerror(rc));
		unlink(key_path);
		goto out_wipe;
	}
	if (rc < 0) {
		grove_cli_error("keygen", "key generation failed: %s", grove_strerror(rc));
		goto out_wipe;
	}
	uint8_t fp[GROVE_KEY_FINGERPRINT_BYTES];
	char hex[2 * GROVE_KEY_FINGERPRINT_BYTES + 1];
	grove_key_fingerprint(fp, pk);
	sodium_bin2hex(hex, sizeof hex, fp, sizeof fp);
	printf("created %s (secret, 0600) and %s\nkey %s: send %s to the CA (grove cert --pubkey)\n", key_path,
	       pub_path, hex, pub_path);
	exit_code = GROVE_CLI_OK;
out_wipe:
	sodium_memzero(sk, sizeof sk);
	return exit_code;
}

int grove_cli_cert_show(int argc, char **argv)
{
	if (argc != 2)
		return grove_cli_usage("cert", grove_cli_cert_help);
	grove_cert_t c;
	int rc = grove_keyfile_read_cert(argv[1], &c);
	if (rc < 0) {
		grove_cli_error("cert", "%s: %s", argv[1], grove_keyfile_strerror(rc));
		return GROVE_CLI_ERROR;
	}
	uint8_t fp[GROVE_KEY_FINGERPRINT_BYTES];
	char hex[2 * GROVE_KEY_FINGERPRINT_BYTES + 1], ca[2 * GROVE_CA_ID_BYTES + 1];
	char issued[32] = "-", expires[32];
	grove_key_fingerprint(fp, c.node_pk);
	sodium_bin2hex(hex, sizeof hex, fp, sizeof fp);
	sodium_bin2hex(ca, sizeof ca, c.ca_id, sizeof c.ca_id);
	if (c.version >= GROVE_CERT_VERSION)
		fmt_time(issued, sizeof issued, c.issued_ms);
	fmt_time(expires, sizeof expires, c.expires_ms);
	uint64_t now = grove_clock_system_ms(NULL);
	long long left_days = ((long long)c.expires_ms - (long long)now) / 86400000LL;
	printf("id:          %s\n"
	       "key:         %s\n"
	       "version:     %u%s\n"
	       "serial:      %llu (issue time, ms)\n"
	       "not before:  %s\n"
	       "not after:   %s (%s)\n"
	       "issuer:      CA %s\n",
	       c.node_id, hex, c.version, c.version < GROVE_CERT_VERSION ? " (old format: no issue time; reissue "
									 "with grove cert to rotate or renew it)" : "",
	       (unsigned long long)c.issued_ms, issued, expires,
	       now >= c.expires_ms ? "EXPIRED" : left_days < 1 ? "less than a day left" : "valid", ca);
	if (now < c.expires_ms && left_days >= 1)
		printf("days left:   %lld\n", left_days);
	return GROVE_CLI_OK;
}

typedef struct revoke_args {
	const char *ca_dir, *out;
	uint8_t keys[GROVE_CRL_ENTRIES_MAX * 2][GROVE_KEY_FINGERPRINT_BYTES];
	size_t count;
} revoke_args_t;

static int add_key(revoke_args_t *a, const uint8_t fp[GROVE_KEY_FINGERPRINT_BYTES])
{
	if (a->count == sizeof a->keys / sizeof a->keys[0]) {
		grove_cli_error("revoke", "more than %d keys", GROVE_CRL_ENTRIES_MAX);
		return -1;
	}
	memcpy(a->keys[a->count++], fp, GROVE_KEY_FINGERPRINT_BYTES);
	return 0;
}

static int add_cert_key(revoke_args_t *a, const char *path)
{
	grove_cert_t c;
	int rc = grove_keyfile_read_cert(path, &c);
	if (rc < 0) {
		grove_cli_error("revoke", "%s: %s", path, grove_keyfile_strerror(rc));
		return -1;
	}
	uint8_t fp[GROVE_KEY_FINGERPRINT_BYTES];
	grove_key_fingerprint(fp, c.node_pk);
	return add_key(a, fp);
}

static int add_hex_key(revoke_args_t *a, const char *hex)
{
	uint8_t fp[GROVE_KEY_FINGERPRINT_BYTES];
	size_t n = 0;
	const char *end = NULL;
	if (sodium_hex2bin(fp, sizeof fp, hex, strlen(hex), NULL, &n, &end) != 0 || n != sizeof fp || *end != '\0') {
		grove_cli_error("revoke", "--key: expected %d hex digits, got '%s'", 2 * GROVE_KEY_FINGERPRINT_BYTES,
				hex);
		return -1;
	}
	return add_key(a, fp);
}

/* 0, -1 (runtime error, printed) or -2 (usage). */
static int parse_revoke(int argc, char **argv, revoke_args_t *a)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	optind = 0;
	opterr = 1;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'o')
			a->out = optarg;
		else if (c == 'c' && add_cert_key(a, optarg) < 0)
			return -1;
		else if (c == 'k' && add_hex_key(a, optarg) < 0)
			return -1;
		else if (c != 'c' && c != 'k')
			return -2;
	}
	if (optind != argc - 1 || a->out == NULL)
		return -2;
	a->ca_dir = argv[optind];
	return 0;
}

int grove_cli_revoke(int argc, char **argv)
{
	static revoke_args_t a;
	memset(&a, 0, sizeof a);
	int rc = parse_revoke(argc, argv, &a);
	if (rc == -2)
		return grove_cli_usage("revoke", grove_cli_revoke_help);
	if (rc < 0)
		return GROVE_CLI_ERROR;
	uint8_t ca_pk[GROVE_SIGN_PUBLIC_BYTES], ca_sk[GROVE_SIGN_SECRET_BYTES];
	if (grove_cli__load_ca(a.ca_dir, ca_pk, ca_sk) < 0)
		return GROVE_CLI_ERROR;
	int exit_code = GROVE_CLI_ERROR;
	grove_crl_t old, crl;
	uint64_t now = grove_clock_system_ms(NULL);
	rc = grove_keyfile_read_crl(a.out, &old);
	if (rc == 0 && grove_crl_verify(&old, ca_pk) == 0) {
		for (size_t i = 0; i < old.count; i++)
			if (add_key(&a, old.keys[i]) < 0)
				goto out_wipe;
		if (now <= old.issued_ms)
			now = old.issued_ms + 1; /* always newer than the list it replaces */
	} else if (rc == 0) {
		grove_cli_error("revoke", "%s: a list of another CA, or forged; not extended", a.out);
		goto out_wipe;
	} else if (rc != GROVE_ENOTFOUND) {
		grove_cli_error("revoke", "%s: %s", a.out, grove_keyfile_strerror(rc));
		goto out_wipe;
	}
	rc = grove_crl_issue(&crl, now, (const uint8_t(*)[GROVE_KEY_FINGERPRINT_BYTES])a.keys, a.count, ca_sk);
	if (rc == 0)
		rc = grove_keyfile_write_crl(a.out, &crl);
	if (rc < 0) {
		grove_cli_error("revoke", "%s: %s", a.out,
				rc == GROVE_ETOOBIG ? "more than 32 distinct keys" : grove_keyfile_strerror(rc));
		goto out_wipe;
	}
	char when[32];
	fmt_time(when, sizeof when, crl.issued_ms);
	printf("wrote %s: %zu revoked key(s), issued %s (serial %llu)\n", a.out, crl.count, when,
	       (unsigned long long)crl.issued_ms);
	for (size_t i = 0; i < crl.count; i++) {
		char hex[2 * GROVE_KEY_FINGERPRINT_BYTES + 1];
		sodium_bin2hex(hex, sizeof hex, crl.keys[i], GROVE_KEY_FINGERPRINT_BYTES);
		printf("  %s\n", hex);
	}
	printf("copy it to each node's data directory as %s (or to one: gossip spreads it) and send SIGHUP\n",
	       GROVE_KEYFILE_CRL);
	exit_code = GROVE_CLI_OK;
out_wipe:
	sodium_memzero(ca_sk, sizeof ca_sk);
	return exit_code;
}
