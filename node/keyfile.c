/*
 * keyfile.c - read and write key and certificate files (format in
 * keyfile.h and doc/wire_format.md, section "Key files").
 *
 * One writer and one reader do all the work; the typed functions only pick
 * the header line, the payload and whether the file is secret.  Secret
 * files are created 0600 with O_EXCL and refused on load when group/world
 * accessible; every buffer that held secret bytes (binary or hex) is wiped.
 */
#include "node/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define HDR_CA_SECRET "grove-ca-secret-key-v1"
#define HDR_CA_PUBLIC "grove-ca-public-key-v1"
#define HDR_NODE_SECRET "grove-node-secret-key-v1"
#define HDR_NODE_CERT "grove-node-cert-v1"
#define HDR_NODE_PUBLIC "grove-node-public-key-v1"
#define HDR_CRL "grove-revocation-list-v1"
#define PAYLOAD_MAX GROVE_CRL_BYTES_MAX
_Static_assert(GROVE_CRL_BYTES_MAX >= GROVE_CERT_BYTES_MAX, "one payload buffer");
#define MODE_SECRET 0600
#define MODE_PUBLIC 0644

static int from_errno(int e)
{
	switch (e) {
	case ENOENT: return GROVE_ENOTFOUND;
	case EEXIST: return GROVE_EEXISTS;
	case EACCES:
	case EPERM: return GROVE_EPERM;
	case ENOMEM: return GROVE_ENOMEM;
	default: return GROVE_EIO;
	}
}

static int write_all(int fd, const char *buf, size_t len)
{
	size_t off = 0;
	while (off < len) {
		ssize_t n = write(fd, buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return GROVE_EIO;
		off += (size_t)n;
	}
	return 0;
}

/* Create path (never overwrite) holding "header\nhex(payload)\n", fsynced. */
static int write_keyfile(const char *path, const char *header, const uint8_t *payload, size_t len, mode_t mode)
{
	char text[GROVE_KEYFILE_BYTES_MAX];
	size_t hlen = strlen(header);
	if (hlen + 1 + 2 * len + 2 > sizeof text)
		return GROVE_ETOOBIG;
	memcpy(text, header, hlen);
	text[hlen] = '\n';
	sodium_bin2hex(text + hlen + 1, 2 * len + 1, payload, len);
	size_t total = hlen + 1 + 2 * len;
	text[total++] = '\n';
	int rc = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		rc = from_errno(errno);
		goto out_wipe;
	}
	rc = write_all(fd, text, total);
	if (rc == 0 && fsync(fd) != 0)
		rc = GROVE_EIO;
	if (close(fd) != 0 && rc == 0)
		rc = GROVE_EIO;
	if (rc < 0)
		unlink(path);
out_wipe:
	sodium_memzero(text, sizeof text);
	return rc;
}

/* Read at most cap bytes of an open regular file into buf. */
static int read_bounded(int fd, char *buf, size_t cap, size_t *len)
{
	size_t off = 0;
	for (;;) {
		ssize_t n = read(fd, buf + off, cap - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return GROVE_EIO;
		if (n == 0)
			break;
		off += (size_t)n;
		if (off == cap)
			return GROVE_ETOOBIG;
	}
	*len = off;
	return 0;
}

/* Parse "header\nhex\n" with exactly len payload bytes. */
static int parse_keyfile(const char *text, size_t text_len, const char *header, uint8_t *payload, size_t *len,
			 size_t cap)
{
	size_t hlen = strlen(header);
	if (text_len < hlen + 2 || memcmp(text, header, hlen) != 0 || text[hlen] != '\n' ||
	    text[text_len - 1] != '\n')
		return GROVE_EDECODE;
	const char *hex = text + hlen + 1;
	size_t hex_len = text_len - hlen - 2;
	const char *end = NULL;
	size_t n = 0;
	if (sodium_hex2bin(payload, cap, hex, hex_len, NULL, &n, &end) != 0 || end != hex + hex_len)
		return GROVE_EDECODE;
	*len = n;
	return 0;
}

/* Read path; secret files must not be group/world accessible. */
static int read_keyfile(const char *path, const char *header, bool secret, uint8_t *payload, size_t *len,
			size_t cap)
{
	char text[GROVE_KEYFILE_BYTES_MAX];
	size_t text_len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not block */
	if (fd < 0)
		return from_errno(errno);
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) != 0)
		rc = GROVE_EIO;
	else if (!S_ISREG(st.st_mode))
		rc = GROVE_EINVAL;
	else if (secret && (st.st_mode & 077) != 0)
		rc = GROVE_EPERM;
	if (rc == 0)
		rc = read_bounded(fd, text, sizeof text, &text_len);
	close(fd);
	if (rc == 0)
		rc = parse_keyfile(text, text_len, header, payload, len, cap);
	sodium_memzero(text, sizeof text);
	return rc;
}

/* Read a file whose payload has exactly want bytes. */
static int read_exact(const char *path, const char *header, bool secret, uint8_t *out, size_t want)
{
	uint8_t buf[PAYLOAD_MAX];
	size_t n = 0;
	int rc = read_keyfile(path, header, secret, buf, &n, sizeof buf);
	if (rc == 0 && n != want)
		rc = GROVE_EDECODE;
	if (rc == 0)
		memcpy(out, buf, want);
	sodium_memzero(buf, sizeof buf);
	return rc;
}

static int write_seed(const char *path, const char *header, const uint8_t sk[GROVE_SIGN_SECRET_BYTES])
{
	uint8_t seed[GROVE_SIGN_SEED_BYTES];
	crypto_sign_ed25519_sk_to_seed(seed, sk);
	int rc = write_keyfile(path, header, seed, sizeof seed, MODE_SECRET);
	sodium_memzero(seed, sizeof seed);
	return rc;
}

static int read_seed(const char *path, const char *header, uint8_t sk[GROVE_SIGN_SECRET_BYTES])
{
	uint8_t seed[GROVE_SIGN_SEED_BYTES], pk[GROVE_SIGN_PUBLIC_BYTES];
	int rc = read_exact(path, header, true, seed, sizeof seed);
	if (rc == 0)
		rc = grove_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(seed, sizeof seed);
	return rc;
}

int grove_keyfile_write_ca_secret(const char *path, const uint8_t sk[GROVE_SIGN_SECRET_BYTES])
{
	return write_seed(path, HDR_CA_SECRET, sk);
}

int grove_keyfile_read_ca_secret(const char *path, uint8_t sk[GROVE_SIGN_SECRET_BYTES])
{
	return read_seed(path, HDR_CA_SECRET, sk);
}

int grove_keyfile_write_node_secret(const char *path, const uint8_t sk[GROVE_SIGN_SECRET_BYTES])
{
	return write_seed(path, HDR_NODE_SECRET, sk);
}

int grove_keyfile_read_node_secret(const char *path, uint8_t sk[GROVE_SIGN_SECRET_BYTES])
{
	return read_seed(path, HDR_NODE_SECRET, sk);
}

int grove_keyfile_write_ca_public(const char *path, const uint8_t pk[GROVE_SIGN_PUBLIC_BYTES])
{
	return write_keyfile(path, HDR_CA_PUBLIC, pk, GROVE_SIGN_PUBLIC_BYTES, MODE_PUBLIC);
}

int grove_keyfile_read_ca_public(const char *path, uint8_t pk[GROVE_SIGN_PUBLIC_BYTES])
{
	return read_exact(path, HDR_CA_PUBLIC, false, pk, GROVE_SIGN_PUBLIC_BYTES);
}

int grove_keyfile_write_cert(const char *path, const grove_cert_t *cert)
{
	uint8_t buf[GROVE_CERT_BYTES_MAX];
	size_t n;
	int rc = grove_cert_encode(cert, buf, sizeof buf, &n);
	if (rc < 0)
		return rc;
	return write_keyfile(path, HDR_NODE_CERT, buf, n, MODE_PUBLIC);
}

int grove_keyfile_read_cert(const char *path, grove_cert_t *cert)
{
	uint8_t buf[GROVE_CERT_BYTES_MAX];
	size_t n = 0;
	int rc = read_keyfile(path, HDR_NODE_CERT, false, buf, &n, sizeof buf);
	if (rc < 0)
		return rc;
	return grove_cert_decode(buf, n, cert, NULL);
}

/* Write a fresh path.tmp, then rename it over path. */
static int replace_keyfile(const char *path, const char *header, const uint8_t *payload, size_t len)
{
	char tmp[PATH_MAX];
	int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof tmp)
		return GROVE_ETOOBIG;
	unlink(tmp); /* a leftover of a crash */
	int rc = write_keyfile(tmp, header, payload, len, MODE_PUBLIC);
	if (rc == 0 && rename(tmp, path) != 0) {
		rc = from_errno(errno);
		unlink(tmp);
	}
	return rc;
}

int grove_keyfile_replace_cert(const char *path, const grove_cert_t *cert)
{
	uint8_t buf[GROVE_CERT_BYTES_MAX];
	size_t n;
	int rc = grove_cert_encode(cert, buf, sizeof buf, &n);
	return rc < 0 ? rc : replace_keyfile(path, HDR_NODE_CERT, buf, n);
}

int grove_keyfile_write_node_public(const char *path, const uint8_t pk[GROVE_SIGN_PUBLIC_BYTES])
{
	return write_keyfile(path, HDR_NODE_PUBLIC, pk, GROVE_SIGN_PUBLIC_BYTES, MODE_PUBLIC);
}

int grove_keyfile_read_node_public(const char *path, uint8_t pk[GROVE_SIGN_PUBLIC_BYTES])
{
	return read_exact(path, HDR_NODE_PUBLIC, false, pk, GROVE_SIGN_PUBLIC_BYTES);
}

int grove_keyfile_write_crl(const char *path, const grove_crl_t *crl)
{
	uint8_t buf[GROVE_CRL_BYTES_MAX];
	size_t n;
	int rc = grove_crl_encode(crl, buf, sizeof buf, &n);
	return rc < 0 ? rc : replace_keyfile(path, HDR_CRL, buf, n);
}

int grove_keyfile_read_crl(const char *path, grove_crl_t *crl)
{
	uint8_t buf[GROVE_CRL_BYTES_MAX];
	size_t n = 0;
	int rc = read_keyfile(path, HDR_CRL, false, buf, &n, sizeof buf);
	return rc < 0 ? rc : grove_crl_decode(buf, n, crl);
}

static int join_path(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
	return n < 0 || n >= PATH_MAX ? GROVE_ETOOBIG : 0;
}

int grove_keyfile_load_identity(const char *dir, uint64_t now_ms, grove_identity_t *id, const char **bad_file)
{
	char key_path[PATH_MAX], cert_path[PATH_MAX], ca_path[PATH_MAX];
	uint8_t sk[GROVE_SIGN_SECRET_BYTES], ca_pk[GROVE_SIGN_PUBLIC_BYTES];
	grove_cert_t cert;
	const char *bad = GROVE_KEYFILE_NODE_KEY;
	int rc = join_path(key_path, dir, GROVE_KEYFILE_NODE_KEY);
	if (rc == 0)
		rc = join_path(cert_path, dir, GROVE_KEYFILE_NODE_CERT);
	if (rc == 0)
		rc = join_path(ca_path, dir, GROVE_KEYFILE_CA_PUB);
	if (rc < 0)
		goto out;
	if ((rc = grove_keyfile_read_node_secret(key_path, sk)) < 0)
		goto out;
	bad = GROVE_KEYFILE_NODE_CERT;
	if ((rc = grove_keyfile_read_cert(cert_path, &cert)) < 0)
		goto out_wipe;
	bad = GROVE_KEYFILE_CA_PUB;
	if ((rc = grove_keyfile_read_ca_public(ca_path, ca_pk)) < 0)
		goto out_wipe;
	bad = GROVE_KEYFILE_NODE_CERT;
	rc = grove_identity_init(id, &cert, sk, ca_pk, now_ms);
out_wipe:
	sodium_memzero(sk, sizeof sk);
out:
	if (rc < 0 && bad_file != NULL)
		*bad_file = bad;
	return rc;
}

const char *grove_keyfile_strerror(int code)
{
	switch (code) {
	case GROVE_EPERM:
		return "secret key file is readable by group or others, or not readable by us: chmod 600 it";
	case GROVE_EEXISTS: return "file already exists; key files are never overwritten";
	case GROVE_ENOTFOUND: return "no such file or directory";
	case GROVE_EDECODE: return "not a Grove key file of the expected kind, or corrupt";
	case GROVE_ETOOBIG: return "file or path too long for a key file";
	case GROVE_EINVAL: return "not a regular file, or the certificate does not match the node key";
	case GROVE_EUNTRUSTED: return "certificate not signed by this cluster's CA (check ca.pub)";
	case GROVE_EEXPIRED: return "certificate expired: renew it with grove cert (same key) and reload (SIGHUP)";
	case GROVE_EBADSIG: return "certificate signature invalid (corrupt or forged)";
	case GROVE_EVERSION:
		return "a format newer than this groved reads (made by a later grove cert): "
		       "run that release, or issue the certificate with this release's grove cert";
	default: return grove_strerror(code);
	}
}
