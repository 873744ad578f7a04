/*
 * backup.h - consistent backups of a store and restores from them.
 *
 * A backup holds the store's data records (key heads, collection elements,
 * their local metadata and pending purges, the format and HLC records)
 * read under ONE snapshot, so it is a state the node really had.  It holds
 * no digest index (rebuilt at restore), no node-local records (identity,
 * incarnation, peers) and no clean-shutdown record.  File layout:
 * doc/backup_format.md.
 *
 * Conventions:
 *  1. Reader side (the node): grove_backup_reader_open takes the snapshot;
 *     each grove_backup_reader_next returns the next chunk of encoded
 *     records, about max_bytes long, so a caller on an event loop streams a
 *     store of any size in bounded steps; _close releases the snapshot.
 *     Chunks are consecutive pieces of the file's record section.
 *  2. Writer side (the client): the file is header, the chunks' bytes,
 *     trailer (end marker, manifest, checksum); grove_backup_writer_t
 *     keeps the running checksum.
 *  3. Files are hostile input: grove_backup_file_scan checks magic, format
 *     version, every record's framing and name, the end marker, the
 *     manifest, the record count and the checksum, and names what is
 *     wrong; nothing is written to a store before the whole file checked.
 *  4. Returns 0 or a negative code from grove/error.h; buffers returned
 *     through uint8_t ** are grove_malloc'd (free with grove_free).
 */
#ifndef GROVE_BACKUP_H
#define GROVE_BACKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "grove/db.h"
#include "grove/error.h"
#include "grove/value.h"

#define GROVE_BACKUP_MAGIC "GROVEBAK"
#define GROVE_BACKUP_MAGIC_BYTES 8
#define GROVE_BACKUP_FORMAT_VERSION 1
#define GROVE_BACKUP_HEADER_BYTES 12
#define GROVE_BACKUP_KEY_MAX (64u * 1024)            /* one record's store key */
#define GROVE_BACKUP_VALUE_MAX (64u * 1024 * 1024)   /* one record's value */
#define GROVE_BACKUP_MANIFEST_MAX 4096
#define GROVE_BACKUP_HASH_BYTES 32                   /* BLAKE2b-256 */
#define GROVE_BACKUP_CHUNK_BYTES (256u * 1024)       /* default chunk target */
#define GROVE_BACKUP_VERSION_MAX 31                  /* "grove" field */

typedef struct grove_backup_manifest {
	uint32_t format;         /* backup file format (GROVE_BACKUP_FORMAT_VERSION) */
	uint32_t storage_format; /* of the records (doc/storage_format.md) */
	uint32_t value_format;   /* of the values inside them (doc/value_format.md) */
	char node_id[GROVE_NODE_ID_MAX + 1]; /* the node backed up */
	char version[GROVE_BACKUP_VERSION_MAX + 1]; /* grove release that wrote it */
	uint64_t records;
	uint64_t created_ms;     /* snapshot time, Unix ms */
} grove_backup_manifest_t;

/* The storage and value formats this build writes and reads. */
uint32_t grove_backup_storage_format(void);
uint32_t grove_backup_value_format(void);

/* --- reader (on the node) --- */
typedef struct grove_backup_reader grove_backup_reader_t;
/* Takes the snapshot; O(1).  Release with _close before closing db. */
int grove_backup_reader_open(grove_db_t *db, grove_backup_reader_t **out) GROVE_MUST_CHECK;
/* The next chunk: whole records until at least max_bytes (or the end);
 * *len 0 (and *chunk NULL) at the end.  O(bytes returned). */
int grove_backup_reader_next(grove_backup_reader_t *r, size_t max_bytes, uint8_t **chunk,
			     size_t *len) GROVE_MUST_CHECK;
/* Records and BLAKE2b-256 of every chunk byte returned so far. */
void grove_backup_reader_sum(const grove_backup_reader_t *r, uint64_t *records,
			     uint8_t hash[GROVE_BACKUP_HASH_BYTES]);
void grove_backup_reader_close(grove_backup_reader_t *r); /* NULL is a no-op */

/* --- chunks and manifests --- */
/* Checks the framing and the names of the records in p (whole records
 * only); *records += their count.  GROVE_EDECODE when damaged. */
int grove_backup_chunk_check(const uint8_t *p, size_t len, uint64_t *records) GROVE_MUST_CHECK;
/* Manifest text: "name=value\n" lines (doc/backup_format.md).  encode
 * returns the length (< cap) or GROVE_ETOOBIG; decode ignores unknown
 * names and fails with GROVE_EDECODE on a malformed or missing field. */
int grove_backup_manifest_encode(const grove_backup_manifest_t *m, char *out, size_t cap);
int grove_backup_manifest_decode(const char *p, size_t len, grove_backup_manifest_t *m) GROVE_MUST_CHECK;

/* --- files --- */
/* Writer: _open writes the header; _chunk appends one chunk (as the
 * reader made it; checked with grove_backup_chunk_check); _finish writes
 * the end marker, the manifest (m->records set from the count, m->format
 * to this format) and the checksum, and flushes.  The caller owns f. */
typedef struct grove_backup_writer grove_backup_writer_t;
int grove_backup_writer_open(FILE *f, grove_backup_writer_t **out) GROVE_MUST_CHECK;
int grove_backup_writer_chunk(grove_backup_writer_t *w, const uint8_t *p, size_t len) GROVE_MUST_CHECK;
int grove_backup_writer_finish(grove_backup_writer_t *w, grove_backup_manifest_t *m) GROVE_MUST_CHECK;
/* Bytes written so far. */
uint64_t grove_backup_writer_bytes(const grove_backup_writer_t *w);
void grove_backup_writer_close(grove_backup_writer_t *w); /* NULL is a no-op */

/* Reads a whole backup from f (at its start), checking everything (see
 * convention 3); fn (may be NULL) gets each record; records reach fn before
 * the checksum is known, so call once with NULL to check, then again to
 * use.  err gets a message naming the fault ("truncated ...", "checksum
 * mismatch ...", "written by a newer grove ...").  GROVE_EDECODE for a
 * damaged file, GROVE_EVERSION for a newer format, GROVE_EIO for reads. */
typedef int (*grove_backup_record_fn)(void *ctx, const uint8_t *key, size_t klen,
				      const uint8_t *val, size_t vlen);
int grove_backup_file_scan(FILE *f, grove_backup_manifest_t *m, grove_backup_record_fn fn,
			   void *ctx, char *err, size_t err_len) GROVE_MUST_CHECK;

/* Restores a checked backup into a NEW store at db_dir (missing or empty
 * directory) and opens it as node_id, which must differ from the backup's
 * node (GROVE_EINVAL otherwise: its old dots would be issued again).  The
 * digest index is rebuilt from the data.  *out: the open db (close it). */
int grove_backup_restore(FILE *f, const char *db_dir, const char *node_id, grove_db_t **out,
			 grove_backup_manifest_t *m, char *err, size_t err_len) GROVE_MUST_CHECK;

#endif
