/*
 * config_file.h - the config file's grammar (doc/config_format.md): splits
 * the text of a file into settings (line, key, value), resolving quotes
 * and escapes and dropping comments, and refuses anything else with a
 * message naming the file and the line.
 *
 * It knows no setting: the caller (node/config.c) is handed each
 * (line, key, value) in file order and checks the key, repeats and the
 * value.  Pure: no I/O, no allocation; the text is borrowed, never
 * changed, and need not be NUL-terminated.
 */
#ifndef GROVE_CONFIG_FILE_H
#define GROVE_CONFIG_FILE_H

#include <stddef.h>

#include "grove/error.h"

#define GROVE_CONFIG_LINE_MAX 4096              /* bytes per line, with its LF and a NUL */
#define GROVE_CONFIG_LINES_MAX 10000
#define GROVE_CONFIG_FILE_BYTES_MAX (1024 * 1024) /* a config file is read whole */
#define GROVE_CONFIG_KEY_MAX 64                 /* no setting's name is longer */

typedef struct grove_config_entry {
	unsigned line;     /* 1-based line number */
	const char *key;   /* as written: 1..GROVE_CONFIG_KEY_MAX bytes, no blank, '=' or '#' */
	const char *value; /* quotes and escapes resolved; holds no NUL byte */
} grove_config_entry_t;

/* Called once per setting; returns 0, or an error code after writing a
 * message into err.  The entry's strings live until the call returns. */
typedef int (*grove_config_entry_fn)(void *ctx, const grove_config_entry_t *entry, char *err,
				     size_t err_len);

/* Parses text[0..len) (path names it in messages) and hands every setting
 * to fn.  0; or GROVE_ECONFIG with "PATH:LINE: why" in err (err_len > 0)
 * at the first line that breaks the grammar; or fn's code, unchanged.
 * Cost: one pass over the text. */
int grove_config_file_parse(const char *text, size_t len, const char *path, grove_config_entry_fn fn,
			    void *ctx, char *err, size_t err_len) GROVE_MUST_CHECK;

#endif
