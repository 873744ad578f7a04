/*
 * fuzz_backup.c - libFuzzer target for backup files (storage/backup.c,
 * doc/backup_format.md): grove_backup_file_scan on any bytes must answer
 * 0, GROVE_EDECODE or GROVE_EVERSION with a message, never crash or
 * assert; on 0 the manifest's record count equals the records seen, each
 * of which also passes grove_backup_chunk_check.  The input is also fed to
 * the chunk check and the manifest decoder directly.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/assert.h"
#include "grove/backup.h"
#include "storage/le.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count_record(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	static uint8_t rec[8 + GROVE_BACKUP_KEY_MAX + 64];
	uint64_t *n = ctx;
	if (vlen <= 64) { /* re-frame small records and check them as a chunk */
		grove_le32_put(rec, (uint32_t)klen);
		memcpy(rec + 4, key, klen);
		grove_le32_put(rec + 4 + klen, (uint32_t)vlen);
		memcpy(rec + 8 + klen, val, vlen);
		uint64_t one = 0;
		GROVE_ASSERT(grove_backup_chunk_check(rec, 8 + klen + vlen, &one) == 0 && one == 1);
	}
	(*n)++;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t records = 0, seen = 0;
	int rc = grove_backup_chunk_check(data, size, &records);
	GROVE_ASSERT(rc == 0 || rc == GROVE_EDECODE);
	grove_backup_manifest_t m;
	rc = grove_backup_manifest_decode((const char *)data, size, &m);
	GROVE_ASSERT(rc == 0 || rc == GROVE_EDECODE);
	if (rc == 0)
		GROVE_ASSERT(memchr(m.node_id, 0, sizeof(m.node_id)));
	if (size == 0) /* fmemopen needs a non-empty buffer */
		return 0;
	FILE *f = fmemopen((void *)data, size, "rb");
	if (!f)
		return 0;
	char err[512] = "";
	rc = grove_backup_file_scan(f, &m, count_record, &seen, err, sizeof(err));
	GROVE_ASSERT(rc == 0 || rc == GROVE_EDECODE || rc == GROVE_EVERSION);
	GROVE_ASSERT(rc == 0 || err[0] != '\0');
	if (rc == 0)
		GROVE_ASSERT(m.records == seen);
	fclose(f);
	return 0;
}
