/*
 * cli_backup.c - `grove backup` and `grove restore` (README "Backup and
 * restore"; file layout doc/backup_format.md).
 *
 * backup: BACKUP BEGIN on the node (one snapshot), BACKUP NEXT until an
 * empty chunk, each chunk checked and appended to OUT.tmp, BACKUP END to
 * compare the node's record count and BLAKE2b-256 of the chunks with ours;
 * then the trailer, fsync, and a rename to OUT: a failed or interrupted
 * backup never leaves a file under the name OUT.
 *
 * restore --dir D --id NEWID: checks the whole file, then writes the
 * records into the new store D/db and opens it as NEWID (the digest index
 * is rebuilt), recording NEWID as the store's owner as groved does.
 * restore --node H:P: the same into a temporary store, then every item
 * state (heads and elements, as anti-entropy ships them) is sent in
 * MERGEITEM batches: the running node merges them like a peer's state.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "grove/alloc.h"
#include "grove/backup.h"
#include "node/daemon.h"
#include "tools/cli_node.h"
#include "tools/grove_cli.h"
#include "tools/resp_client.h"

#define MERGE_BATCH_BYTES (1u << 20) /* item states per MERGEITEM */
#define MERGE_BATCH_ITEMS 4096
#define PATH_BYTES 4096

const char grove_cli_backup_help[] =
	"usage: grove backup OUT [--node HOST:PORT]\n\n"
	"Take a consistent backup of a running node: one snapshot of its store,\n"
	"streamed over the client port in chunks (the node keeps serving), into\n"
	"the file OUT (written as OUT.tmp, renamed when complete and checked).\n"
	"The file holds a manifest (format, node id, record count, time) and a\n"
	"BLAKE2b-256 checksum; layout in doc/backup_format.md.  Prints the\n"
	"manifest.\n" GROVE_NODE_OPTIONS_HELP;
const char grove_cli_restore_help[] =
	"usage: grove restore IN --dir DATA --id NEWID\n"
	"       grove restore IN --node HOST:PORT\n"
	"       grove restore IN --check\n\n"
	"--dir: build the data directory DATA (created with its parents; its\n"
	"store DATA/db must not exist yet) for a NEW node id NEWID, never the\n"
	"backed-up node's own id: its dots and counter entries, already seen by\n"
	"peers, would be issued again.  Then give DATA a key set (grove cert\n"
	"CA_DIR --id NEWID --out DATA) and start groved --id NEWID --data DATA\n"
	"with the cluster's seeds.\n"
	"--node: merge the backup into a running node (and through it into the\n"
	"cluster).  State merges: an old backup adds what the cluster forgot,\n"
	"and never rolls back a later write or delete.\n"
	"--check: check the file and print its manifest.\n"
	"A truncated or damaged file is refused before anything is written.\n"
	"\nexit codes: 0 success, 1 runtime error (damaged file, refused), 2 usage\n";

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void print_manifest(const grove_backup_manifest_t *m, uint64_t bytes)
{
	printf("format          %" PRIu32 "\nnode            %s\ngrove           %s\n"
	       "storage format  %" PRIu32 "\nvalue format    %" PRIu32 "\nrecords         %" PRIu64
	       "\ncreated ms      %" PRIu64 "\nbytes           %" PRIu64 "\n",
	       m->format, m->node_id, m->version, m->storage_format, m->value_format, m->records,
	       m->created_ms, bytes);
}

/* One command on rc; the reply (not an error) in *out, or a printed error. */
static int call(grove_rc_t *rc, const char *cmd, size_t argc, const char *const *argv,
		const size_t *argl, grove_rc_reply_t **out)
{
	int err = grove_rc_command(rc, argc, argv, argl, out);
	if (err < 0) {
		grove_cli_error(cmd, "%s: %s", argv[0], grove_strerror(err));
		return GROVE_CLI_ERROR;
	}
	if ((*out)->type == GROVE_RC_ERROR) {
		grove_cli_error(cmd, "%s: %s", argv[0], (*out)->str);
		grove_rc_reply_free(*out);
		return GROVE_CLI_ERROR;
	}
	return 0;
}

/* BACKUP BEGIN's reply into the manifest fields. */
static int backup_begin(grove_rc_t *rc, grove_backup_manifest_t *m)
{
	const char *argv[] = {"BACKUP", "BEGIN"};
	grove_rc_reply_t *r;
	int status = call(rc, "backup", 2, argv, NULL, &r);
	if (status)
		return status;
	bool ok = r->type == GROVE_RC_ARRAY && r->count == 5 && r->elements[0]->type == GROVE_RC_BULK &&
		  r->elements[0]->len <= GROVE_NODE_ID_MAX && r->elements[4]->type == GROVE_RC_BULK &&
		  r->elements[4]->len <= GROVE_BACKUP_VERSION_MAX;
	if (ok) {
		memset(m, 0, sizeof(*m));
		snprintf(m->node_id, sizeof(m->node_id), "%s", r->elements[0]->str);
		m->storage_format = (uint32_t)r->elements[1]->integer;
		m->value_format = (uint32_t)r->elements[2]->integer;
		m->created_ms = (uint64_t)r->elements[3]->integer;
		snprintf(m->version, sizeof(m->version), "%s", r->elements[4]->str);
	} else {
		grove_cli_error("backup", "BACKUP BEGIN: unexpected reply");
	}
	grove_rc_reply_free(r);
	return ok ? 0 : GROVE_CLI_ERROR;
}

/* What arrived: the writer, and the count and hash of the chunks. */
typedef struct recv {
	grove_backup_writer_t *w;
	uint64_t records;
	crypto_generichash_state hash;
} recv_t;

/* BACKUP NEXT until the empty chunk, each into v->w. */
static int backup_chunks(grove_rc_t *rc, recv_t *v)
{
	const char *argv[] = {"BACKUP", "NEXT"};
	for (;;) {
		grove_rc_reply_t *r;
		int status = call(rc, "backup", 2, argv, NULL, &r);
		if (status)
			return status;
		if (r->type != GROVE_RC_BULK) {
			grove_rc_reply_free(r);
			grove_cli_error("backup", "BACKUP NEXT: not a bulk string");
			return GROVE_CLI_ERROR;
		}
		size_t len = r->len;
		const uint8_t *p = (const uint8_t *)r->str;
		int err = len ? grove_backup_chunk_check(p, len, &v->records) : 0;
		if (err == 0 && len)
			err = grove_backup_writer_chunk(v->w, p, len);
		crypto_generichash_update(&v->hash, p, len);
		grove_rc_reply_free(r);
		if (err < 0) {
			grove_cli_error("backup", "chunk: %s", grove_strerror(err));
			return GROVE_CLI_ERROR;
		}
		if (!len)
			return 0;
	}
}

/* BACKUP END: the node's count and hash must equal what arrived. */
static int backup_end(grove_rc_t *rc, recv_t *v)
{
	const char *argv[] = {"BACKUP", "END"};
	grove_rc_reply_t *r;
	int status = call(rc, "backup", 2, argv, NULL, &r);
	if (status)
		return status;
	uint8_t h[GROVE_BACKUP_HASH_BYTES];
	char hex[2 * GROVE_BACKUP_HASH_BYTES + 1];
	crypto_generichash_final(&v->hash, h, sizeof(h));
	for (size_t i = 0; i < sizeof(h); i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	bool shape = r->type == GROVE_RC_ARRAY && r->count == 2 &&
		     r->elements[0]->type == GROVE_RC_INTEGER && r->elements[1]->type == GROVE_RC_BULK;
	bool ok = shape && (uint64_t)r->elements[0]->integer == v->records &&
		  !strcmp(r->elements[1]->str, hex);
	if (!ok)
		grove_cli_error("backup", "the node sent %lld records (hash %s), %" PRIu64
					  " arrived (hash %s): the stream was damaged",
				shape ? r->elements[0]->integer : -1LL, shape ? r->elements[1]->str : "?",
				v->records, hex);
	grove_rc_reply_free(r);
	return ok ? 0 : GROVE_CLI_ERROR;
}

/* The whole transfer into f; m gets the manifest, *bytes the file size. */
static int backup_to(grove_rc_t *rc, FILE *f, grove_backup_manifest_t *m, uint64_t *bytes)
{
	recv_t v = {0};
	int status = backup_begin(rc, m);
	if (status)
		return status;
	crypto_generichash_init(&v.hash, NULL, 0, GROVE_BACKUP_HASH_BYTES);
	int err = grove_backup_writer_open(f, &v.w);
	if (err < 0) {
		grove_cli_error("backup", "write: %s", grove_strerror(err));
		return GROVE_CLI_ERROR;
	}
	status = backup_chunks(rc, &v);
	if (!status)
		status = backup_end(rc, &v);
	if (!status && (err = grove_backup_writer_finish(v.w, m)) < 0) {
		grove_cli_error("backup", "write: %s", grove_strerror(err));
		status = GROVE_CLI_ERROR;
	}
	*bytes = grove_backup_writer_bytes(v.w);
	grove_backup_writer_close(v.w);
	return status;
}

int grove_cli_backup(int argc, char **argv)
{
	const char *pos[1], *node;
	int npos = 1;
	grove_rc_t rc;
	int status = grove_cli_node_connect("backup", grove_cli_backup_help, argc, argv, NULL, pos,
					    &npos, &node);
	if (status)
		return status;
	if (npos != 1 || pos[0][0] == '-')
		return grove_cli_usage("backup", grove_cli_backup_help);
	char tmp[PATH_BYTES];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", pos[0]) >= sizeof(tmp)) {
		grove_cli_error("backup", "%s: path too long", pos[0]);
		return GROVE_CLI_ERROR;
	}
	if ((status = grove_cli_node_connect("backup", grove_cli_backup_help, argc, argv, &rc, pos,
					     &npos, &node)) != 0)
		return status;
	FILE *f = fopen(tmp, "wbx");
	if (!f) {
		grove_cli_error("backup", "%s: %s%s", tmp, strerror(errno),
				errno == EEXIST ? " (a backup in progress, or left by one: remove it)" : "");
		grove_rc_close(&rc);
		return GROVE_CLI_ERROR;
	}
	grove_backup_manifest_t m;
	uint64_t bytes = 0;
	uint64_t t0 = now_ms();
	status = backup_to(&rc, f, &m, &bytes);
	grove_rc_close(&rc);
	if (!status && (fflush(f) != 0 || fsync(fileno(f)) != 0)) {
		grove_cli_error("backup", "%s: %s", tmp, strerror(errno));
		status = GROVE_CLI_ERROR;
	}
	if (fclose(f) != 0 && !status) {
		grove_cli_error("backup", "%s: %s", tmp, strerror(errno));
		status = GROVE_CLI_ERROR;
	}
	if (!status && rename(tmp, pos[0]) != 0) {
		grove_cli_error("backup", "rename %s to %s: %s", tmp, pos[0], strerror(errno));
		status = GROVE_CLI_ERROR;
	}
	if (status) {
		unlink(tmp);
		return status;
	}
	print_manifest(&m, bytes);
	printf("seconds         %.3f\n", (double)(now_ms() - t0) / 1000.0);
	return GROVE_CLI_OK;
}

/* --- restore --- */

typedef struct merge {
	grove_db_t *db;
	grove_rc_t *rc;
	const char *argv[1 + 2 * MERGE_BATCH_ITEMS];
	size_t argl[1 + 2 * MERGE_BATCH_ITEMS];
	size_t n, bytes;
	uint64_t items, changed;
	int status;
} merge_t;

static void merge_drop(merge_t *g)
{
	for (size_t i = 1; i < 1 + 2 * g->n; i++)
		grove_free((void *)g->argv[i]);
	g->n = g->bytes = 0;
}

/* Sends the batch as one MERGEITEM. */
static int merge_flush(merge_t *g)
{
	if (!g->n)
		return 0;
	grove_rc_reply_t *r;
	g->argv[0] = "MERGEITEM";
	g->argl[0] = 9;
	int status = call(g->rc, "restore", 1 + 2 * g->n, g->argv, g->argl, &r);
	if (!status) {
		g->items += g->n;
		g->changed += r->type == GROVE_RC_INTEGER ? (uint64_t)r->integer : 0;
		grove_rc_reply_free(r);
	}
	merge_drop(g);
	return status;
}

static int merge_item(void *ctx, const void *name, size_t nlen, const uint8_t *digest)
{
	(void)digest;
	merge_t *g = ctx;
	uint8_t *state = NULL, *copy = grove_malloc(nlen ? nlen : 1);
	size_t slen = 0;
	int rc = copy ? grove_db_item_state(g->db, name, nlen, &state, &slen) : GROVE_ENOMEM;
	if (rc == GROVE_ENOTFOUND) {
		grove_free(copy);
		return 0;
	}
	if (rc < 0) {
		grove_free(copy);
		grove_cli_error("restore", "item state: %s", grove_strerror(rc));
		g->status = GROVE_CLI_ERROR;
		return 1;
	}
	memcpy(copy, name, nlen);
	g->argv[1 + 2 * g->n] = (const char *)copy;
	g->argl[1 + 2 * g->n] = nlen;
	g->argv[2 + 2 * g->n] = (const char *)state;
	g->argl[2 + 2 * g->n] = slen;
	g->n++;
	g->bytes += nlen + slen;
	if (g->n == MERGE_BATCH_ITEMS || g->bytes >= MERGE_BATCH_BYTES)
		g->status = merge_flush(g);
	return g->status ? 1 : 0;
}

/* Removes the temporary store directory tmp/db and tmp (flat). */
static void remove_tmp(const char *tmp)
{
	char db[PATH_BYTES], p[PATH_BYTES + 256];
	snprintf(db, sizeof(db), "%s/db", tmp);
	DIR *d = opendir(db);
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(p, sizeof(p), "%s/%s", db, e->d_name);
			unlink(p);
		}
	}
	if (d)
		closedir(d);
	rmdir(db);
	rmdir(tmp);
}

static int restore_node(FILE *f, const char *in, int argc, char **argv)
{
	const char *pos[2], *node;
	int npos = 2;
	grove_rc_t rc;
	char tmp[] = "/tmp/grove-restore.XXXXXX", dbdir[64], err[512] = "";
	if (!mkdtemp(tmp)) {
		grove_cli_error("restore", "mkdtemp: %s", strerror(errno));
		return GROVE_CLI_ERROR;
	}
	snprintf(dbdir, sizeof(dbdir), "%s/db", tmp);
	grove_backup_manifest_t m;
	grove_db_t *db = NULL;
	uint64_t t0 = now_ms();
	/* any id but the backup's: the temporary store makes no writes */
	int e = grove_backup_restore(f, dbdir, "grove-restore", &db, &m, err, sizeof(err));
	if (e == GROVE_EINVAL && !db)
		e = grove_backup_restore(f, dbdir, "grove-restore-2", &db, &m, err, sizeof(err));
	if (e < 0) {
		grove_cli_error("restore", "%s: %s", in, err[0] ? err : grove_strerror(e));
		remove_tmp(tmp);
		return GROVE_CLI_ERROR;
	}
	int status = grove_cli_node_connect("restore", grove_cli_restore_help, argc, argv, &rc, pos,
					    &npos, &node);
	bool connected = !status;
	merge_t *g = NULL;
	if (!status && !(g = grove_malloc(sizeof(*g)))) {
		grove_cli_error("restore", "out of memory");
		status = GROVE_CLI_ERROR;
	}
	if (g) {
		memset(g, 0, sizeof(*g));
		g->db = db, g->rc = &rc;
		e = grove_db_subtree_keys(db, 0, 0, merge_item, g);
		status = g->status ? g->status : e < 0 ? GROVE_CLI_ERROR : merge_flush(g);
		if (e < 0 && !g->status)
			grove_cli_error("restore", "reading the backup's items: %s", grove_strerror(e));
		merge_drop(g);
		if (!status) {
			print_manifest(&m, (uint64_t)ftell(f));
			printf("items merged    %" PRIu64 " into %s (%" PRIu64 " changed it)\nseconds         %.3f\n",
			       g->items, node, g->changed, (double)(now_ms() - t0) / 1000.0);
		}
		grove_free(g);
	}
	if (connected)
		grove_rc_close(&rc);
	grove_db_close(db);
	remove_tmp(tmp);
	return status;
}

/* mkdir -p path (0700 for what it creates), as grove ca init and grove
 * cert do; true when path itself was created. */
static bool mkdir_parents(const char *path, bool *made)
{
	char p[PATH_BYTES];
	if ((size_t)snprintf(p, sizeof(p), "%s", path) >= sizeof(p))
		return false;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST)
			return false;
		*s = '/';
	}
	*made = mkdir(p, 0700) == 0;
	return *made || errno == EEXIST;
}

static int restore_dir(FILE *f, const char *in, const char *dir, const char *id)
{
	char dbdir[PATH_BYTES], err[512] = "";
	if ((size_t)snprintf(dbdir, sizeof(dbdir), "%s/db", dir) >= sizeof(dbdir)) {
		grove_cli_error("restore", "%s: path too long", dir);
		return GROVE_CLI_ERROR;
	}
	struct stat st;
	if (stat(dbdir, &st) == 0) {
		grove_cli_error("restore", "%s exists: restore builds a new data directory (give a "
					   "new --dir, or move that one aside)", dbdir);
		return GROVE_CLI_ERROR;
	}
	bool made = false;
	if (!mkdir_parents(dir, &made)) {
		grove_cli_error("restore", "%s: %s", dir, strerror(errno));
		return GROVE_CLI_ERROR;
	}
	grove_backup_manifest_t m;
	grove_db_t *db = NULL;
	uint64_t t0 = now_ms();
	int e = grove_backup_restore(f, dbdir, id, &db, &m, err, sizeof(err));
	if (e == 0) {
		e = grove_db_meta_put(db, GROVE_META_NODE_ID, id, strlen(id));
		if (e < 0)
			snprintf(err, sizeof(err), "recording the node id: %s", grove_strerror(e));
	}
	uint64_t keys = db ? grove_db_count(db) : 0;
	if (db)
		grove_db_close(db);
	if (e < 0) {
		grove_cli_error("restore", "%s: %s", in, err[0] ? err : grove_strerror(e));
		if (made)
			rmdir(dir); /* only when the failure left it empty */
		return GROVE_CLI_ERROR;
	}
	print_manifest(&m, (uint64_t)ftell(f));
	printf("restored        %s for node %s (%" PRIu64 " keys)\nseconds         %.3f\n", dbdir, id,
	       keys, (double)(now_ms() - t0) / 1000.0);
	return GROVE_CLI_OK;
}

int grove_cli_restore(int argc, char **argv)
{
	const char *in = NULL, *dir = NULL, *id = NULL;
	bool check = false, node = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dir") && i + 1 < argc)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--id") && i + 1 < argc)
			id = argv[++i];
		else if (!strcmp(argv[i], "--check"))
			check = true;
		else if (!strncmp(argv[i], "--node", 6))
			node = true, i += strchr(argv[i], '=') ? 0 : 1;
		else if (grove_cli_node_option_span(argc - i, argv + i) > 0) /* --password, --tls... */
			i += grove_cli_node_option_span(argc - i, argv + i) - 1;
		else if (argv[i][0] != '-' && !in)
			in = argv[i];
		else
			return grove_cli_usage("restore", grove_cli_restore_help);
	}
	if (!in || (check + node + !!dir) != 1 || (dir && !id) || (!dir && id))
		return grove_cli_usage("restore", grove_cli_restore_help);
	FILE *f = fopen(in, "rb");
	if (!f) {
		grove_cli_error("restore", "%s: %s", in, strerror(errno));
		return GROVE_CLI_ERROR;
	}
	int status;
	if (check) {
		grove_backup_manifest_t m;
		char err[512] = "";
		int e = grove_backup_file_scan(f, &m, NULL, NULL, err, sizeof(err));
		status = e < 0 ? GROVE_CLI_ERROR : GROVE_CLI_OK;
		if (e < 0)
			grove_cli_error("restore", "%s: %s", in, err[0] ? err : grove_strerror(e));
		else
			print_manifest(&m, (uint64_t)ftell(f));
	} else if (dir) {
		status = restore_dir(f, in, dir, id);
	} else {
		/* grove_cli_node_connect wants argv without IN: give it the options */
		char *opts[argc];
		int n = 0;
		for (int i = 0; i < argc; i++)
			if (argv[i] != in)
				opts[n++] = argv[i];
		status = restore_node(f, in, n, opts);
	}
	fclose(f);
	return status;
}
