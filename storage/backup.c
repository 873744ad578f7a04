/*
 * backup.c - backups of a store (include/grove/backup.h; the file layout
 * is doc/backup_format.md).
 *
 * The reader walks one LevelDB snapshot in key order and keeps only the
 * data records: `c` format and hlc, `e`, `k`, `p`, `u`.  It seeks over the
 * digest index (`d`) and the node-local records (`m`), so a chunk costs
 * the bytes it returns.  Files are read as hostile input: every length is
 * bounded before it is trusted, every record name is checked, and the
 * BLAKE2b-256 checksum covers every byte before it.
 */
#include "grove/backup.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/assert.h"
#include "base/buf.h"
#include "grove/alloc.h"
#include "storage/db_int.h"
#include "storage/le.h"
#include "storage/store.h"

#define RESTORE_BATCH_BYTES (1u << 20) /* records per restore write batch */
#define FIELD_MAX 64                   /* a manifest value, numbers and ids */

struct grove_backup_reader {
	grove_db_t *db;
	grove_snapshot_t *snap;
	grove_iter_t *it;
	bool started, done;
	uint64_t records;
	crypto_generichash_state hash;
};

struct grove_backup_writer {
	FILE *f;
	uint64_t records, bytes;
	crypto_generichash_state hash;
};

uint32_t grove_backup_storage_format(void)
{
	return GROVE_DB_FORMAT_VERSION;
}

uint32_t grove_backup_value_format(void)
{
	return 2; /* doc/value_format.md: 1, or 2 for heads with expiry state */
}

/* True for a store key a backup may hold (the data records). */
static bool record_allowed(const uint8_t *k, size_t klen)
{
	if (klen < 2)
		return false;
	switch (k[0]) {
	case GROVE_DB_PFX_ELEM:
	case GROVE_DB_PFX_KMETA:
	case GROVE_DB_PFX_PURGE:
	case GROVE_DB_PFX_USER:
	case GROVE_DB_PFX_ZINDEX: /* the sorted-set index, consistent with the 'e' records */
	case GROVE_DB_PFX_ZRANK:  /* its counts, consistent with the 'z' records */
	case GROVE_DB_PFX_CLOUD:  /* the collections' context clouds */
	case GROVE_DB_PFX_EXPIRE: /* the TTL index, consistent with the 'u' records */
		return true;
	case GROVE_DB_PFX_SYS:
		return (klen == 1 + strlen(GROVE_DB_SYS_FORMAT) &&
			!memcmp(k + 1, GROVE_DB_SYS_FORMAT, klen - 1)) ||
		       (klen == 1 + strlen(GROVE_DB_SYS_HLC) && !memcmp(k + 1, GROVE_DB_SYS_HLC, klen - 1));
	default:
		return false;
	}
}

int grove_backup_reader_open(grove_db_t *db, grove_backup_reader_t **out)
{
	grove_backup_reader_t *r = grove_malloc(sizeof(*r));
	if (!r)
		return GROVE_ENOMEM;
	memset(r, 0, sizeof(*r));
	r->db = db;
	int rc = grove_snapshot_create(db->store, &r->snap);
	if (rc == 0)
		rc = grove_iter_create(db->store, r->snap, &r->it);
	if (rc < 0) {
		grove_backup_reader_close(r);
		return rc;
	}
	crypto_generichash_init(&r->hash, NULL, 0, GROVE_BACKUP_HASH_BYTES);
	*out = r;
	return 0;
}

void grove_backup_reader_close(grove_backup_reader_t *r)
{
	if (!r)
		return;
	grove_iter_destroy(r->it);
	grove_snapshot_release(r->db->store, r->snap);
	grove_free(r);
}

/* Moves the iterator to the next data record (seeking over `d` and `m`);
 * false at the end. */
static bool reader_skip(grove_backup_reader_t *r)
{
	while (grove_iter_valid(r->it)) {
		size_t klen;
		const uint8_t *k = grove_iter_key(r->it, &klen);
		if (record_allowed(k, klen))
			return true;
		uint8_t next = klen ? k[0] : 0;
		if (next == GROVE_DB_PFX_DIGEST || next == GROVE_DB_PFX_META) {
			uint8_t to = (uint8_t)(next + 1);
			grove_iter_seek(r->it, &to, 1);
		} else {
			grove_iter_next(r->it);
		}
	}
	return false;
}

static void put_record(grove_buf_t *b, const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen)
{
	uint8_t n[4];
	grove_le32_put(n, (uint32_t)klen);
	grove_buf_append(b, n, 4);
	grove_buf_append(b, k, klen);
	grove_le32_put(n, (uint32_t)vlen);
	grove_buf_append(b, n, 4);
	grove_buf_append(b, v, vlen);
}

int grove_backup_reader_next(grove_backup_reader_t *r, size_t max_bytes, uint8_t **chunk, size_t *len)
{
	if (!r->started) {
		grove_iter_seek(r->it, "", 0);
		r->started = true;
	}
	grove_buf_t b;
	grove_buf_init(&b, 0);
	uint64_t n = 0;
	while (!r->done && b.len < max_bytes) {
		if (!reader_skip(r)) {
			r->done = true;
			break;
		}
		size_t klen, vlen;
		const uint8_t *k = grove_iter_key(r->it, &klen);
		const uint8_t *v = grove_iter_value(r->it, &vlen);
		if (klen > GROVE_BACKUP_KEY_MAX || vlen > GROVE_BACKUP_VALUE_MAX) {
			grove_buf_close(&b);
			return GROVE_ETOOBIG;
		}
		put_record(&b, k, klen, v, vlen);
		n++;
		grove_iter_next(r->it);
	}
	int rc = grove_iter_status(r->it);
	if (rc == 0 && grove_buf_failed(&b))
		rc = GROVE_ENOMEM;
	if (rc < 0) {
		grove_buf_close(&b);
		return rc;
	}
	r->records += n;
	crypto_generichash_update(&r->hash, b.data, b.len);
	*len = b.len;
	*chunk = b.len ? b.data : NULL;
	if (!b.len)
		grove_buf_close(&b);
	return 0;
}

void grove_backup_reader_sum(const grove_backup_reader_t *r, uint64_t *records,
			     uint8_t hash[GROVE_BACKUP_HASH_BYTES])
{
	crypto_generichash_state copy = r->hash;
	crypto_generichash_final(&copy, hash, GROVE_BACKUP_HASH_BYTES);
	*records = r->records;
}

int grove_backup_chunk_check(const uint8_t *p, size_t len, uint64_t *records)
{
	size_t off = 0;
	uint64_t n = 0;
	while (off < len) {
		if (len - off < 4)
			return GROVE_EDECODE;
		uint32_t klen = grove_le32_get(p + off);
		if (klen == 0 || klen > GROVE_BACKUP_KEY_MAX || len - off - 4 < (size_t)klen + 4)
			return GROVE_EDECODE;
		if (!record_allowed(p + off + 4, klen))
			return GROVE_EDECODE;
		off += 4 + klen;
		uint32_t vlen = grove_le32_get(p + off);
		if (vlen > GROVE_BACKUP_VALUE_MAX || len - off - 4 < vlen)
			return GROVE_EDECODE;
		off += 4 + (size_t)vlen;
		n++;
	}
	*records += n;
	return 0;
}

/* --- manifest --- */

int grove_backup_manifest_encode(const grove_backup_manifest_t *m, char *out, size_t cap)
{
	int n = snprintf(out, cap,
			 "format=%" PRIu32 "\ngrove=%s\nnode=%s\nstorage-format=%" PRIu32
			 "\nvalue-format=%" PRIu32 "\nrecords=%" PRIu64 "\ncreated-ms=%" PRIu64 "\n",
			 m->format, m->version, m->node_id, m->storage_format, m->value_format,
			 m->records, m->created_ms);
	return n < 0 || (size_t)n >= cap ? GROVE_ETOOBIG : n;
}

static bool parse_u64(const char *v, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t x = 0;
	if (n == 0 || n > 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		unsigned d = (unsigned)(v[i] - '0');
		if (x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
	}
	if (x > max)
		return false;
	*out = x;
	return true;
}

/* A printable text field of 1..max bytes without '=' or spaces. */
static bool parse_text(const char *v, size_t n, size_t max, char *out)
{
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)v[i] <= ' ' || (unsigned char)v[i] >= 0x7f)
			return false;
	memcpy(out, v, n);
	out[n] = '\0';
	return true;
}

/* One "name=value" line into m; *seen gets the field's bit. */
static bool manifest_field(const char *name, size_t nl, const char *v, size_t vl,
			   grove_backup_manifest_t *m, unsigned *seen)
{
	uint64_t x;
#define IS(s) (nl == strlen(s) && !memcmp(name, s, nl))
	if (IS("format") && parse_u64(v, vl, UINT32_MAX, &x))
		m->format = (uint32_t)x, *seen |= 1;
	else if (IS("node") && parse_text(v, vl, GROVE_NODE_ID_MAX, m->node_id))
		*seen |= 2;
	else if (IS("storage-format") && parse_u64(v, vl, UINT32_MAX, &x))
		m->storage_format = (uint32_t)x, *seen |= 4;
	else if (IS("value-format") && parse_u64(v, vl, UINT32_MAX, &x))
		m->value_format = (uint32_t)x, *seen |= 8;
	else if (IS("records") && parse_u64(v, vl, UINT64_MAX, &x))
		m->records = x, *seen |= 16;
	else if (IS("created-ms") && parse_u64(v, vl, UINT64_MAX, &x))
		m->created_ms = x, *seen |= 32;
	else if (IS("grove") && parse_text(v, vl, GROVE_BACKUP_VERSION_MAX, m->version))
		;
	else if (IS("format") || IS("node") || IS("storage-format") || IS("value-format") ||
		 IS("records") || IS("created-ms") || IS("grove"))
		return false; /* a known field with a bad value */
#undef IS
	return true;
}

int grove_backup_manifest_decode(const char *p, size_t len, grove_backup_manifest_t *out)
{
	grove_backup_manifest_t m;
	memset(&m, 0, sizeof(m));
	unsigned seen = 0;
	size_t off = 0;
	if (len > GROVE_BACKUP_MANIFEST_MAX)
		return GROVE_EDECODE;
	while (off < len) {
		const char *line = p + off;
		const char *nl = memchr(line, '\n', len - off);
		if (!nl)
			return GROVE_EDECODE;
		size_t ll = (size_t)(nl - line);
		const char *eq = memchr(line, '=', ll);
		if (!eq || eq == line)
			return GROVE_EDECODE;
		size_t nlen = (size_t)(eq - line);
		if (!manifest_field(line, nlen, eq + 1, ll - nlen - 1, &m, &seen))
			return GROVE_EDECODE;
		off += ll + 1;
	}
	if (seen != 63)
		return GROVE_EDECODE;
	*out = m;
	return 0;
}

/* --- writer --- */

static int writer_put(grove_backup_writer_t *w, const void *p, size_t n)
{
	if (n && fwrite(p, 1, n, w->f) != n)
		return GROVE_EIO;
	crypto_generichash_update(&w->hash, p, n);
	w->bytes += n;
	return 0;
}

int grove_backup_writer_open(FILE *f, grove_backup_writer_t **out)
{
	grove_backup_writer_t *w = grove_malloc(sizeof(*w));
	if (!w)
		return GROVE_ENOMEM;
	memset(w, 0, sizeof(*w));
	w->f = f;
	crypto_generichash_init(&w->hash, NULL, 0, GROVE_BACKUP_HASH_BYTES);
	uint8_t h[GROVE_BACKUP_HEADER_BYTES];
	memcpy(h, GROVE_BACKUP_MAGIC, GROVE_BACKUP_MAGIC_BYTES);
	grove_le32_put(h + 8, GROVE_BACKUP_FORMAT_VERSION);
	int rc = writer_put(w, h, sizeof(h));
	if (rc < 0) {
		grove_free(w);
		return rc;
	}
	*out = w;
	return 0;
}

int grove_backup_writer_chunk(grove_backup_writer_t *w, const uint8_t *p, size_t len)
{
	uint64_t n = 0;
	int rc = grove_backup_chunk_check(p, len, &n);
	if (rc == 0)
		rc = writer_put(w, p, len);
	if (rc == 0)
		w->records += n;
	return rc;
}

int grove_backup_writer_finish(grove_backup_writer_t *w, grove_backup_manifest_t *m)
{
	char text[GROVE_BACKUP_MANIFEST_MAX];
	m->format = GROVE_BACKUP_FORMAT_VERSION;
	m->records = w->records;
	int n = grove_backup_manifest_encode(m, text, sizeof(text));
	if (n < 0)
		return n;
	uint8_t word[8] = {0};
	grove_le32_put(word + 4, (uint32_t)n);
	int rc = writer_put(w, word, 8); /* end marker, manifest length */
	if (rc == 0)
		rc = writer_put(w, text, (size_t)n);
	uint8_t sum[GROVE_BACKUP_HASH_BYTES];
	crypto_generichash_final(&w->hash, sum, sizeof(sum));
	if (rc == 0 && fwrite(sum, 1, sizeof(sum), w->f) != sizeof(sum))
		rc = GROVE_EIO;
	if (rc == 0 && fflush(w->f) != 0)
		rc = GROVE_EIO;
	w->bytes += sizeof(sum);
	return rc;
}

uint64_t grove_backup_writer_bytes(const grove_backup_writer_t *w)
{
	return w->bytes;
}

void grove_backup_writer_close(grove_backup_writer_t *w)
{
	grove_free(w);
}

/* --- reading files --- */

typedef struct scan {
	FILE *f;
	uint64_t off;
	crypto_generichash_state hash;
	char *err;
	size_t err_len;
} scan_t;

static int scan_fail(scan_t *s, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int scan_fail(scan_t *s, int rc, const char *fmt, ...)
{
	if (s->err && s->err_len) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(s->err, s->err_len, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* Reads exactly n bytes into p (hashed); what names the field. */
static int scan_read(scan_t *s, void *p, size_t n, const char *what)
{
	size_t got = n ? fread(p, 1, n, s->f) : 0;
	if (got != n) {
		if (ferror(s->f))
			return scan_fail(s, GROVE_EIO, "read error at byte %" PRIu64 ": %s", s->off + got,
					 strerror(errno));
		return scan_fail(s, GROVE_EDECODE,
				 "truncated: the file ends at byte %" PRIu64 " inside %s (an incomplete "
				 "backup, or a damaged length before it: refused)",
				 s->off + got, what);
	}
	crypto_generichash_update(&s->hash, p, n);
	s->off += n;
	return 0;
}

static int scan_header(scan_t *s)
{
	uint8_t h[GROVE_BACKUP_HEADER_BYTES];
	int rc = scan_read(s, h, sizeof(h), "the header");
	if (rc < 0)
		return rc;
	if (memcmp(h, GROVE_BACKUP_MAGIC, GROVE_BACKUP_MAGIC_BYTES) != 0)
		return scan_fail(s, GROVE_EDECODE, "not a grove backup (the file does not start with '%s')",
				 GROVE_BACKUP_MAGIC);
	uint32_t v = grove_le32_get(h + 8);
	if (v > GROVE_BACKUP_FORMAT_VERSION)
		return scan_fail(s, GROVE_EVERSION,
				 "backup format %" PRIu32 " is newer than this grove reads (%d): restore it "
				 "with the grove release that wrote it, or a later one",
				 v, GROVE_BACKUP_FORMAT_VERSION);
	if (v == 0)
		return scan_fail(s, GROVE_EDECODE, "damaged header: backup format 0");
	return 0;
}

/* The record section: records until the end marker; fn gets each. */
static int scan_records(scan_t *s, grove_backup_record_fn fn, void *ctx, uint64_t *count)
{
	uint8_t *val = NULL, key[GROVE_BACKUP_KEY_MAX];
	size_t cap = 0;
	int rc = 0;
	for (uint64_t n = 0;; n++) {
		uint8_t w[4];
		uint64_t at = s->off;
		if ((rc = scan_read(s, w, 4, "a record")) < 0)
			break;
		uint32_t klen = grove_le32_get(w);
		if (klen == 0) {
			*count = n;
			break;
		}
		if (klen > GROVE_BACKUP_KEY_MAX) {
			rc = scan_fail(s, GROVE_EDECODE, "damaged: record %" PRIu64 " at byte %" PRIu64
						 " has a key length of %" PRIu32 " (at most %u)",
				       n + 1, at, klen, GROVE_BACKUP_KEY_MAX);
			break;
		}
		if ((rc = scan_read(s, key, klen, "a record")) < 0 || (rc = scan_read(s, w, 4, "a record")) < 0)
			break;
		uint32_t vlen = grove_le32_get(w);
		if (!record_allowed(key, klen) || vlen > GROVE_BACKUP_VALUE_MAX) {
			rc = scan_fail(s, GROVE_EDECODE, "damaged: record %" PRIu64 " at byte %" PRIu64
						 " is not a data record (name or length out of range)",
				       n + 1, at);
			break;
		}
		if (vlen > cap) {
			uint8_t *nv = grove_malloc(vlen);
			if (!nv) {
				rc = GROVE_ENOMEM;
				break;
			}
			grove_free(val);
			val = nv, cap = vlen;
		}
		if ((rc = scan_read(s, val, vlen, "a record")) < 0)
			break;
		static const uint8_t empty[1];
		if (fn && (rc = fn(ctx, key, klen, vlen ? val : empty, vlen)) < 0) {
			rc = scan_fail(s, rc, "record %" PRIu64 ": %s", n + 1, grove_strerror(rc));
			break;
		}
	}
	grove_free(val);
	return rc;
}

static int scan_trailer(scan_t *s, grove_backup_manifest_t *m, uint64_t count)
{
	uint8_t w[4];
	char text[GROVE_BACKUP_MANIFEST_MAX];
	int rc = scan_read(s, w, 4, "the manifest length");
	if (rc < 0)
		return rc;
	uint32_t mlen = grove_le32_get(w);
	if (mlen == 0 || mlen > GROVE_BACKUP_MANIFEST_MAX)
		return scan_fail(s, GROVE_EDECODE, "damaged: manifest length %" PRIu32, mlen);
	if ((rc = scan_read(s, text, mlen, "the manifest")) < 0)
		return rc;
	uint8_t want[GROVE_BACKUP_HASH_BYTES], have[GROVE_BACKUP_HASH_BYTES];
	crypto_generichash_final(&s->hash, want, sizeof(want));
	if (fread(have, 1, sizeof(have), s->f) != sizeof(have))
		return scan_fail(s, GROVE_EDECODE, "truncated: the file ends inside the checksum "
						   "(an incomplete backup, or a damaged length before it: "
						   "refused)");
	if (sodium_memcmp(want, have, sizeof(have)) != 0)
		return scan_fail(s, GROVE_EDECODE, "checksum mismatch: the file is damaged (BLAKE2b-256 "
						   "of its bytes differs from the one it ends with)");
	if (fgetc(s->f) != EOF)
		return scan_fail(s, GROVE_EDECODE, "damaged: bytes after the checksum");
	if (grove_backup_manifest_decode(text, mlen, m) < 0)
		return scan_fail(s, GROVE_EDECODE, "damaged manifest");
	if (m->records != count)
		return scan_fail(s, GROVE_EDECODE, "damaged: the manifest counts %" PRIu64
						   " records, the file holds %" PRIu64,
				 m->records, count);
	return 0;
}

int grove_backup_file_scan(FILE *f, grove_backup_manifest_t *m, grove_backup_record_fn fn, void *ctx,
			   char *err, size_t err_len)
{
	scan_t s = {.f = f, .err = err, .err_len = err_len};
	crypto_generichash_init(&s.hash, NULL, 0, GROVE_BACKUP_HASH_BYTES);
	if (fseek(f, 0, SEEK_SET) != 0)
		return scan_fail(&s, GROVE_EIO, "cannot seek: %s", strerror(errno));
	uint64_t count = 0;
	grove_backup_manifest_t got;
	int rc = scan_header(&s);
	if (rc == 0)
		rc = scan_records(&s, fn, ctx, &count);
	if (rc == 0)
		rc = scan_trailer(&s, &got, count);
	if (rc == 0)
		*m = got;
	return rc;
}

/* --- restore --- */

typedef struct restore {
	grove_store_t *store;
	grove_batch_t batch;
} restore_t;

static int restore_record(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	restore_t *r = ctx;
	int rc = grove_batch_put(&r->batch, key, klen, val, vlen);
	if (rc == 0 && r->batch.len_bytes >= RESTORE_BATCH_BYTES) {
		rc = grove_store_write(r->store, &r->batch, false);
		grove_batch_clear(&r->batch);
	}
	return rc;
}

/* Refuses a manifest of another storage format, naming the fix. */
static int check_formats(const grove_backup_manifest_t *m, char *err, size_t err_len)
{
	uint32_t have = GROVE_DB_FORMAT_VERSION;
	if (m->storage_format > have) {
		snprintf(err, err_len, "the backup holds storage format %" PRIu32 ", newer than this grove "
				       "(format %" PRIu32 "): restore it with grove %s or later",
			 m->storage_format, have, m->version[0] ? m->version : "(the release that wrote it)");
		return GROVE_EVERSION;
	}
	if (m->storage_format < GROVE_DB_FORMAT_VERSION_OLDEST) {
		snprintf(err, err_len, "the backup holds storage format %" PRIu32 ", which this grove "
				       "(format %" PRIu32 ") does not read: restore it with grove %s into a "
				       "node of that release and let anti-entropy carry the data to nodes "
				       "of this one",
			 m->storage_format, have, m->version[0] ? m->version : "(the release that wrote it)");
		return GROVE_EVERSION;
	}
	return 0;
}

/* True when dir exists and holds anything. */
static bool dir_in_use(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return errno != ENOENT;
	struct dirent *e;
	bool any = false;
	while (!any && (e = readdir(d)) != NULL)
		any = strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return any;
}

int grove_backup_restore(FILE *f, const char *db_dir, const char *node_id, grove_db_t **out,
			 grove_backup_manifest_t *m, char *err, size_t err_len)
{
	grove_backup_manifest_t got;
	int rc = grove_backup_file_scan(f, &got, NULL, NULL, err, err_len);
	if (rc < 0)
		return rc;
	if ((rc = check_formats(&got, err, err_len)) < 0)
		return rc;
	if (!strcmp(got.node_id, node_id)) {
		snprintf(err, err_len, "the backup was taken from node '%s': restore it under a new node "
				       "id (the old id's dots, already seen by peers, would be issued again)",
			 got.node_id);
		return GROVE_EINVAL;
	}
	if (dir_in_use(db_dir)) {
		snprintf(err, err_len, "%s exists: a restore builds a new store (give a new directory, "
				       "or move that one aside)", db_dir);
		return GROVE_EEXISTS;
	}
	restore_t r = {0};
	grove_batch_init(&r.batch);
	rc = grove_store_open_leveldb(db_dir, &r.store, err, err_len);
	if (rc == 0) {
		rc = grove_backup_file_scan(f, &got, restore_record, &r, err, err_len);
		if (rc == 0)
			rc = grove_store_write(r.store, &r.batch, true);
		grove_store_close(r.store);
	}
	grove_batch_close(&r.batch);
	if (rc < 0)
		return rc;
	grove_db_options_t o;
	grove_db_options_init(&o);
	o.node_id = node_id;
	if ((rc = grove_db_open(db_dir, &o, out, err, err_len)) < 0)
		return rc;
	*m = got;
	return 0;
}
