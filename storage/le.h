/*
 * le.h - little-endian loads and stores for storage/'s fixed-width record
 * fields (HLC ceiling, clean-shutdown record, tree accumulators, tree item
 * prefix; doc/storage_format.md).  Header-only, no alignment assumed.
 */
#ifndef GROVE_STORAGE_LE_H
#define GROVE_STORAGE_LE_H

#include <endian.h>
#include <stdint.h>
#include <string.h>

static inline void grove_le32_put(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static inline uint32_t grove_le32_get(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return le32toh(v);
}

static inline void grove_le64_put(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

static inline uint64_t grove_le64_get(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return le64toh(v);
}

#endif
