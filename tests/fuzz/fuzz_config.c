/*
 * fuzz_config.c - libFuzzer target for the config file: its grammar
 * (node/config_file.c, doc/config_format.md) and the settings it sets
 * (grove_config_parse_text).
 *
 * The input is a config file's text.  It must parse or fail with a
 * message that names the file; after either, every string setting is
 * NUL-terminated within its field.  Then the input is taken as a value:
 * written as a quoted value with escapes, it must read back as the same
 * bytes; written bare (when the grammar allows it bare), likewise.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/assert.h"
#include "node/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PATH "fuzz.conf"
#define KEY "requirepass = "

static void check_strings(const grove_config_t *cfg)
{
	GROVE_ASSERT(memchr(cfg->id, 0, sizeof(cfg->id)));
	GROVE_ASSERT(memchr(cfg->data_dir, 0, sizeof(cfg->data_dir)));
	GROVE_ASSERT(memchr(cfg->ca, 0, sizeof(cfg->ca)));
	GROVE_ASSERT(memchr(cfg->cert, 0, sizeof(cfg->cert)));
	GROVE_ASSERT(memchr(cfg->key, 0, sizeof(cfg->key)));
	GROVE_ASSERT(memchr(cfg->requirepass, 0, sizeof(cfg->requirepass)));
	GROVE_ASSERT(memchr(cfg->log_file, 0, sizeof(cfg->log_file)));
	GROVE_ASSERT(cfg->seed_count <= GROVE_SEEDS_MAX);
}

/* Parses "requirepass = " + v (len bytes) and checks that it sets want. */
static void expect_password(const char *v, size_t len, const uint8_t *want, size_t want_len)
{
	static char line[sizeof(KEY) + 2 * GROVE_PASSWORD_MAX + 8];
	GROVE_ASSERT(sizeof(KEY) - 1 + len <= sizeof(line));
	memcpy(line, KEY, sizeof(KEY) - 1);
	memcpy(line + sizeof(KEY) - 1, v, len);
	grove_config_t cfg;
	char err[GROVE_CONFIG_ERROR_BYTES] = "";
	grove_config_defaults(&cfg);
	int rc = grove_config_parse_text(&cfg, line, sizeof(KEY) - 1 + len, PATH, err, sizeof(err));
	GROVE_ASSERT(rc == 0);
	GROVE_ASSERT(strlen(cfg.requirepass) == want_len && memcmp(cfg.requirepass, want, want_len) == 0);
}

/* The input as a value: quoted with escapes, and bare when allowed. */
static void round_trip(const uint8_t *data, size_t size)
{
	if (size > GROVE_PASSWORD_MAX)
		return;
	char quoted[2 * GROVE_PASSWORD_MAX + 2];
	size_t q = 0;
	bool bare_ok = size > 0 && data[0] != ' ' && data[0] != '\t' && data[size - 1] != ' ' &&
		       data[size - 1] != '\t';
	quoted[q++] = '"';
	for (size_t i = 0; i < size; i++) {
		uint8_t c = data[i];
		if (c == '"' || c == '\\' || c == '\n' || c == '\t') {
			quoted[q++] = '\\';
			quoted[q++] = c == '\n' ? 'n' : c == '\t' ? 't' : (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			return; /* no way to write it */
		} else {
			quoted[q++] = (char)c;
		}
		if (c == '"' || c == '\\' || c == '#' || c == '\n')
			bare_ok = false;
	}
	quoted[q++] = '"';
	expect_password(quoted, q, data, size);
	if (bare_ok)
		expect_password((const char *)data, size, data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	grove_config_t cfg;
	char err[GROVE_CONFIG_ERROR_BYTES] = "";
	grove_config_defaults(&cfg);
	int rc = grove_config_parse_text(&cfg, (const char *)data, size, PATH, err, sizeof(err));
	GROVE_ASSERT(rc == 0 || rc == GROVE_ECONFIG);
	if (rc < 0)
		GROVE_ASSERT(strncmp(err, PATH ":", sizeof(PATH)) == 0);
	check_strings(&cfg);
	round_trip(data, size);
	return 0;
}
