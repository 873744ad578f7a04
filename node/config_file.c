/*
 * config_file.c - the config file's grammar (format: doc/config_format.md;
 * interface: config_file.h).
 *
 * One pass, line by line: a line is first checked for control characters,
 * then read left to right as blanks, key, '=', value, comment.  A quoted
 * value is unescaped into a buffer of one line's size (a value is never
 * longer than its line); a bare value is copied with its trailing blanks
 * dropped.  Every error names the file and the line (and the key, once
 * there is one).
 */
#include "node/config_file.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/assert.h"

/* One line being read: text[0..len), no LF, no trailing CR. */
typedef struct cline {
	const char *text;
	size_t len;
	unsigned no;
	const char *path;
	char *err;
	size_t err_len;
} cline_t;

static int line_error(const cline_t *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int line_error(const cline_t *l, const char *fmt, ...)
{
	if (l->err_len == 0)
		return GROVE_ECONFIG;
	int n = snprintf(l->err, l->err_len, "%s:%u: ", l->path, l->no);
	if (n >= 0 && (size_t)n < l->err_len) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(l->err + n, l->err_len - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return GROVE_ECONFIG;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_control(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

static size_t skip_blanks(const cline_t *l, size_t i)
{
	while (i < l->len && is_blank(l->text[i]))
		i++;
	return i;
}

/* Reads the quoted value opening at l->text[i] into out; *end gets the
 * index after the closing quote. */
static int read_quoted(const cline_t *l, const char *key, size_t i, char *out, size_t *end)
{
	size_t o = 0;
	GROVE_ASSERT(l->text[i] == '"');
	for (i++; i < l->len; i++) {
		char c = l->text[i];
		if (c == '"') {
			out[o] = '\0';
			*end = i + 1;
			return 0;
		}
		if (c == '\\') {
			if (++i == l->len)
				break;
			switch (l->text[i]) {
			case '"': c = '"'; break;
			case '\\': c = '\\'; break;
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			default:
				return line_error(l, "%s: unknown escape \\%c (use \\\", \\\\, \\n or \\t)", key,
						  l->text[i]);
			}
		}
		out[o++] = c;
	}
	return line_error(l, "%s: unterminated quoted value (no closing \")", key);
}

/* Reads the bare value starting at l->text[i] (not a blank, '#' or '"')
 * into out, up to a comment or the end of the line, without its trailing
 * blanks. */
static int read_bare(const cline_t *l, const char *key, size_t i, char *out)
{
	size_t o = 0, kept = 0;
	for (; i < l->len && l->text[i] != '#'; i++) {
		char c = l->text[i];
		if (c == '"')
			return line_error(l, "%s: '\"' in a bare value (quote the whole value and write \\\")",
					  key);
		if (c == '\\')
			return line_error(l, "%s: '\\' in a bare value (quote the whole value and write \\\\)",
					  key);
		out[o++] = c;
		if (!is_blank(c))
			kept = o;
	}
	out[kept] = '\0';
	return 0;
}

/* Reads one line; a setting goes to fn.  value has room for the line. */
static int parse_line(const cline_t *l, grove_config_entry_fn fn, void *ctx, char *value)
{
	for (size_t i = 0; i < l->len; i++)
		if (is_control((unsigned char)l->text[i]))
			return line_error(l, "control character 0x%02x in column %zu",
					  (unsigned char)l->text[i], i + 1);
	size_t i = skip_blanks(l, 0);
	if (i == l->len || l->text[i] == '#')
		return 0;
	size_t k = i;
	while (i < l->len && !is_blank(l->text[i]) && l->text[i] != '=' && l->text[i] != '#')
		i++;
	size_t klen = i - k;
	i = skip_blanks(l, i);
	if (klen == 0 || i == l->len || l->text[i] != '=')
		return line_error(l, "expected 'key = value'");
	if (klen > GROVE_CONFIG_KEY_MAX)
		return line_error(l, "unknown setting '%.*s...'", GROVE_CONFIG_KEY_MAX, l->text + k);
	char key[GROVE_CONFIG_KEY_MAX + 1];
	memcpy(key, l->text + k, klen);
	key[klen] = '\0';
	i = skip_blanks(l, i + 1);
	if (i == l->len || l->text[i] == '#')
		return line_error(l, "%s: missing value (write \"\" for an empty one)", key);
	int rc;
	if (l->text[i] == '"') {
		size_t end = 0;
		if ((rc = read_quoted(l, key, i, value, &end)) < 0)
			return rc;
		end = skip_blanks(l, end);
		if (end < l->len && l->text[end] != '#')
			return line_error(l, "%s: unexpected text after the closing quote", key);
	} else if ((rc = read_bare(l, key, i, value)) < 0) {
		return rc;
	}
	grove_config_entry_t e = {.line = l->no, .key = key, .value = value};
	return fn(ctx, &e, l->err, l->err_len);
}

int grove_config_file_parse(const char *text, size_t len, const char *path, grove_config_entry_fn fn,
			    void *ctx, char *err, size_t err_len)
{
	cline_t l = {.path = path, .err = err, .err_len = err_len};
	if (len > GROVE_CONFIG_FILE_BYTES_MAX) {
		if (err_len)
			snprintf(err, err_len, "%s: larger than %d bytes", path, GROVE_CONFIG_FILE_BYTES_MAX);
		return GROVE_ECONFIG;
	}
	char value[GROVE_CONFIG_LINE_MAX];
	for (size_t off = 0; off < len;) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (text + off)) : len - off;
		l.text = text + off;
		l.len = n;
		if (++l.no > GROVE_CONFIG_LINES_MAX) {
			if (err_len)
				snprintf(err, err_len, "%s: more than %d lines", path, GROVE_CONFIG_LINES_MAX);
			return GROVE_ECONFIG;
		}
		if (l.len > 0 && l.text[l.len - 1] == '\r')
			l.len--; /* CRLF */
		if (l.len > GROVE_CONFIG_LINE_MAX - 2)
			return line_error(&l, "line longer than %d bytes", GROVE_CONFIG_LINE_MAX - 2);
		int rc = parse_line(&l, fn, ctx, value);
		if (rc < 0)
			return rc;
		off += n + 1;
	}
	return 0;
}
