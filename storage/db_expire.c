/*
 * db_expire.c - key expiry in the store: the TTL index, the reads of a
 * key's deadline, active expiry and its counters (doc/storage_format.md,
 * "The TTL index"; the replicated rule is doc/value_format.md, "Expiry").
 *
 * A key's deadline lives in its head (value format 2) and is read from the
 * last bytes of the 'u' record without decoding (grove_db__rec_deadline).
 * Every head write keeps one local 'x' record per key with a deadline,
 * keyed by (deadline big-endian, key), in the same batch (db_state.c), so
 * the index is always the heads' deadlines and needs no rebuild.  Reads
 * compare the deadline with the db's clock and hide an expired key at
 * once; active expiry walks the index from its start (the earliest
 * deadline) up to now and removes each key by an observed-remove delete
 * (db_coll.c, grove_db__expire_key): exact where Redis samples, and
 * bounded by max_keys per call.
 */
#include <string.h>

#include "grove/alloc.h"
#include "storage/db_int.h"

uint64_t grove_db__now_ms(grove_db_t *db)
{
	return db->clock(db->clock_ctx);
}

uint64_t grove_db_now_ms(grove_db_t *db)
{
	return grove_db__now_ms(db);
}

size_t grove_db__xkey(uint64_t at, const uint8_t *key, size_t klen, uint8_t *out)
{
	out[0] = GROVE_DB_PFX_EXPIRE;
	for (int i = 0; i < 8; i++)
		out[1 + i] = (uint8_t)(at >> (8 * (7 - i)));
	if (klen)
		memcpy(out + 9, key, klen);
	return 9 + klen;
}

static int count_rec(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	(void)key, (void)klen, (void)val, (void)vlen;
	(*(uint64_t *)ctx)++;
	return 0;
}

int grove_db__expire_open(grove_db_t *db)
{
	uint64_t n = 0;
	uint8_t p = GROVE_DB_PFX_EXPIRE;
	int rc = grove_store_scan_prefix(db->store, NULL, &p, 1, count_rec, &n);
	if (rc == 0)
		atomic_store(&db->expires, n);
	return rc;
}

int grove_db_ttl(grove_db_t *db, const void *key, size_t klen, uint64_t *at_ms, uint64_t *now_ms)
{
	grove_db_key_t k;
	int rc = grove_db__key_prepare(&k, key, klen);
	if (rc)
		return rc;
	uint8_t *rec = NULL;
	size_t len = 0;
	rc = grove_store_get(db->store, NULL, k.urec, 1 + k.klen, &rec, &len);
	if (rc)
		return rc;
	uint64_t now = grove_db__now_ms(db);
	uint64_t at = len >= 1 ? grove_db__rec_deadline(rec, len) : 0;
	bool live = len >= 1 && grove_db__rec_type(rec, len) != GROVE_TYPE_NONE;
	grove_free(rec);
	if (len < 1)
		return GROVE_ECORRUPT;
	if (!live || grove_db__expired(at, now))
		return GROVE_ENOTFOUND;
	*at_ms = at;
	if (now_ms)
		*now_ms = now;
	return 0;
}

/* The keys of the index entries with deadline < now (expired), copied. */
typedef struct due {
	grove_db_t *db;
	size_t max, n;
	struct {
		uint8_t *key;
		size_t klen;
	} *keys;
	int rc;
} due_t;

static int due_rec(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
	(void)val, (void)vlen;
	due_t *d = ctx;
	if (klen < 10)
		return 0; /* not an index record: skipped */
	if (d->n == d->max)
		return 1;
	uint8_t *copy = grove_malloc(klen - 9);
	if (!copy) {
		d->rc = GROVE_ENOMEM;
		return 1;
	}
	memcpy(copy, key + 9, klen - 9);
	d->keys[d->n].key = copy;
	d->keys[d->n].klen = klen - 9;
	d->n++;
	return 0;
}

/* Collects up to d->max keys whose deadline is behind now. */
static int due_collect(grove_db_t *db, due_t *d)
{
	d->keys = grove_calloc(d->max ? d->max : 1, sizeof(*d->keys));
	if (!d->keys)
		return GROVE_ENOMEM;
	uint8_t lo = GROVE_DB_PFX_EXPIRE, hi[9];
	grove_db__xkey(grove_db__now_ms(db), NULL, 0, hi); /* deadlines < now */
	int rc = grove_store_scan(db->store, NULL, &lo, 1, hi, sizeof(hi), due_rec, d);
	return rc ? rc : d->rc;
}

static void due_free(due_t *d)
{
	for (size_t i = 0; i < d->n; i++)
		grove_free(d->keys[i].key);
	grove_free(d->keys);
}

int grove_db_expire_cycle(grove_db_t *db, size_t max_keys, uint64_t *removed)
{
	due_t d = { .db = db, .max = max_keys };
	uint64_t n = 0;
	int rc = max_keys ? due_collect(db, &d) : 0;
	for (size_t i = 0; i < d.n && rc == 0; i++) {
		bool expired = false;
		rc = grove_db__expire_key(db, d.keys[i].key, d.keys[i].klen, &expired);
		n += expired;
	}
	bool more = rc == 0 && max_keys && d.n == max_keys;
	due_free(&d);
	if (removed)
		*removed = n;
	return rc ? rc : more ? 1 : 0;
}

uint64_t grove_db_expires(grove_db_t *db)
{
	return atomic_load(&db->expires);
}

uint64_t grove_db_expired_keys(grove_db_t *db)
{
	return atomic_load(&db->expired_keys);
}

/* Bound of the index walk of grove_db_count_visible (active expiry keeps
 * the expired-but-not-removed keys far below it). */
#define GROVE_DB_VISIBLE_WALK_MAX 4096

uint64_t grove_db_count_visible(grove_db_t *db)
{
	uint64_t live = grove_db_count(db);
	due_t d = { .db = db, .max = GROVE_DB_VISIBLE_WALK_MAX };
	if (due_collect(db, &d) == 0) {
		for (size_t i = 0; i < d.n && live; i++) {
			grove_type_t t;
			grove_db_key_t k;
			uint8_t *rec = NULL;
			size_t len = 0;
			if (grove_db__key_prepare(&k, d.keys[i].key, d.keys[i].klen) != 0 ||
			    grove_store_get(db->store, NULL, k.urec, 1 + k.klen, &rec, &len) != 0)
				continue;
			t = len >= 1 ? grove_db__rec_type(rec, len) : GROVE_TYPE_NONE;
			live -= t != GROVE_TYPE_NONE;
			grove_free(rec);
		}
	}
	due_free(&d);
	return live;
}
