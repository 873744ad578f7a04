/*
 * resp_codec.c - RESP2 request parser and reply writer (see resp_codec.h for the
 * contract and doc/resp.md for the accepted grammar and limits).
 *
 * The parser keeps unparsed input in [head, tail) of one buffer.  A
 * multibulk request in progress remembers how many arguments it announced,
 * the offsets of the ones already complete and where parsing resumes, so
 * each received byte is examined a bounded number of times.  Inline
 * requests are parsed only once their whole line is present, and decoded in
 * place (decoding never lengthens a word).
 */
#include "node/resp_codec.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "grove/alloc.h"
#include "base/assert.h"

#define RESP_HEADER_BYTES_MAX 32 /* "*<n>\r\n" or "$<n>\r\n" lines */
#define RESP_READ_CHUNK_MIN 4096
#define RESP_READ_BYTES_MIN 16384 /* first allocation of the input buffer */
#define RESP_IDLE_BYTES_MAX (256u * 1024) /* buffer kept between requests */

void grove_resp_parser_init(grove_resp_parser_t *p, size_t max_request_bytes, size_t max_args)
{
	memset(p, 0, sizeof(*p));
	if (max_request_bytes == 0)
		max_request_bytes = GROVE_RESP_REQUEST_BYTES_DEFAULT;
	if (max_request_bytes > GROVE_RESP_REQUEST_BYTES_MAX)
		max_request_bytes = GROVE_RESP_REQUEST_BYTES_MAX;
	p->max_request_bytes = max_request_bytes;
	p->max_args = max_args ? max_args : GROVE_RESP_ARGS_DEFAULT;
	p->want_args = -1;
}

void grove_resp_parser_close(grove_resp_parser_t *p)
{
	grove_free(p->buf);
	grove_free(p->arg_off);
	grove_free(p->arg_len);
	grove_free((void *)p->argv);
	p->buf = NULL;
	p->arg_off = p->arg_len = NULL;
	p->argv = NULL;
	p->cap = p->head = p->tail = 0;
}

int grove_resp_parser_space(grove_resp_parser_t *p, size_t min_bytes, uint8_t **ptr, size_t *len)
{
	if (min_bytes < RESP_READ_CHUNK_MIN)
		min_bytes = RESP_READ_CHUNK_MIN;
	p->head += p->consumed;
	p->consumed = 0;
	if (p->head == p->tail && p->want_args < 0) {
		p->head = p->tail = 0;
		if (p->cap > RESP_IDLE_BYTES_MAX) { /* give back a big request's room */
			grove_free(p->buf);
			p->buf = NULL;
			p->cap = 0;
		}
	}
	if (p->cap - p->tail < min_bytes && p->head > 0) {
		memmove(p->buf, p->buf + p->head, p->tail - p->head);
		p->tail -= p->head;
		p->head = 0;
	}
	if (min_bytes > SIZE_MAX - p->tail)
		return GROVE_ENOMEM;
	int rc = grove_grow((void **)&p->buf, &p->cap, p->tail + min_bytes, 1, RESP_READ_BYTES_MIN, 0);
	if (rc < 0)
		return rc;
	*ptr = p->buf + p->tail;
	*len = p->cap - p->tail;
	return 0;
}

void grove_resp_parser_commit(grove_resp_parser_t *p, size_t len)
{
	GROVE_ASSERT(len <= p->cap - p->tail);
	p->tail += len;
}

int grove_resp_parser_feed(grove_resp_parser_t *p, const void *data, size_t len)
{
	uint8_t *dst;
	size_t room;
	int rc = grove_resp_parser_space(p, len, &dst, &room);
	if (rc < 0)
		return rc;
	if (len)
		memcpy(dst, data, len);
	grove_resp_parser_commit(p, len);
	return 0;
}

const char *grove_resp_parser_error(const grove_resp_parser_t *p)
{
	return p->error;
}

size_t grove_resp_parser_pending(const grove_resp_parser_t *p)
{
	return p->tail - p->head - p->consumed;
}

static int fail(grove_resp_parser_t *p, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(grove_resp_parser_t *p, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->error, sizeof(p->error), fmt, ap);
	va_end(ap);
	p->dead = code;
	return code;
}

/* Ensures room for one more argument index (grows by doubling). */
static int reserve_arg(grove_resp_parser_t *p)
{
	if (p->argc < p->args_cap)
		return 0;
	size_t ncap = p->args_cap ? p->args_cap * 2 : 16;
	size_t *off = grove_realloc(p->arg_off, ncap * sizeof(*off));
	if (!off)
		return GROVE_ENOMEM;
	p->arg_off = off;
	size_t *len = grove_realloc(p->arg_len, ncap * sizeof(*len));
	if (!len)
		return GROVE_ENOMEM;
	p->arg_len = len;
	const uint8_t **argv = grove_realloc((void *)p->argv, ncap * sizeof(*argv));
	if (!argv)
		return GROVE_ENOMEM;
	p->argv = argv;
	p->args_cap = ncap;
	return 0;
}

/* A header line's integer at s (avail bytes, its CR looked for in the
 * first limit): 1 and the value, 0 when incomplete, -1 when malformed. */
static int parse_header_any(const uint8_t *s, size_t avail, size_t limit, long long *value,
			    size_t *hdr_len)
{
	const uint8_t *cr = memchr(s, '\r', limit);
	if (!cr || (size_t)(cr - s) + 1 >= avail)
		return avail >= RESP_HEADER_BYTES_MAX ? -1 : 0;
	if (cr[1] != '\n')
		return -1;
	size_t i = 1, n = (size_t)(cr - s);
	bool neg = false;
	if (i < n && s[i] == '-') {
		neg = true;
		i++;
	}
	if (i == n || n - i > 18)
		return -1;
	long long v = 0;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*value = neg ? -v : v;
	*hdr_len = n + 2;
	return 1;
}

/* Parses a "<c><integer>\r\n" header at rel offset `at`.  Returns 1 with
 * *value and *hdr_len, 0 if incomplete, -1 if malformed. */
static int parse_header(const grove_resp_parser_t *p, size_t at, long long *value,
			size_t *hdr_len)
{
	const uint8_t *s = p->buf + p->head + at;
	size_t avail = p->tail - p->head - at;
	size_t limit = avail < RESP_HEADER_BYTES_MAX ? avail : RESP_HEADER_BYTES_MAX;
	/* the common case, a whole well-formed header: [-]1..18 digits, CR LF,
	 * read in one pass; anything else as parse_header_any decides */
	size_t i = 1, d0;
	bool neg = i < limit && s[i] == '-';
	i += neg;
	d0 = i;
	long long v = 0;
	for (; i < limit && i - d0 < 18 && s[i] >= '0' && s[i] <= '9'; i++)
		v = v * 10 + (s[i] - '0');
	if (i > d0 && i < limit && i + 1 < avail && s[i] == '\r' && s[i + 1] == '\n') {
		*value = neg ? -v : v;
		*hdr_len = i + 2;
		return 1;
	}
	return parse_header_any(s, avail, limit, value, hdr_len);
}

/* Resets the in-progress request state. */
static void request_reset(grove_resp_parser_t *p)
{
	p->want_args = -1;
	p->pos = 0;
	p->argc = 0;
}

/* Parses bulk arguments from p->pos on.  Returns 1 when the request is
 * complete, 0 when more input is needed, or a negative code. */
static int parse_bulks(grove_resp_parser_t *p)
{
	while ((long long)p->argc < p->want_args) {
		size_t avail = p->tail - p->head - p->pos;
		if (avail == 0)
			return 0;
		uint8_t c = p->buf[p->head + p->pos];
		if (c != '$')
			return fail(p, GROVE_EPROTO, "ERR Protocol error: expected '$', got '%c'",
				    (c >= 32 && c < 127) ? c : '?');
		long long blen;
		size_t hlen;
		int rc = parse_header(p, p->pos, &blen, &hlen);
		if (rc == 0)
			return 0;
		/* one bulk over the limit: Redis's text for a bulk over its
		 * proto-max-bulk-len */
		if (rc < 0 || blen < 0 || (unsigned long long)blen > p->max_request_bytes)
			return fail(p, GROVE_EPROTO, "ERR Protocol error: invalid bulk length");
		if (p->pos + hlen + (size_t)blen + 2 > p->max_request_bytes)
			return fail(p, GROVE_EPROTO,
				    "ERR Protocol error: request larger than the %zu-byte limit",
				    p->max_request_bytes);
		if (avail < hlen + (size_t)blen + 2)
			return 0;
		size_t data = p->pos + hlen;
		const uint8_t *end = p->buf + p->head + data + (size_t)blen;
		if (end[0] != '\r' || end[1] != '\n')
			return fail(p, GROVE_EPROTO, "ERR Protocol error: expected CRLF after bulk");
		if (reserve_arg(p) < 0)
			return fail(p, GROVE_ENOMEM, "ERR Protocol error: out of memory");
		p->arg_off[p->argc] = data;
		p->arg_len[p->argc] = (size_t)blen;
		p->argc++;
		p->pos = data + (size_t)blen + 2;
	}
	return 1;
}

/* Starts a multibulk request at head.  Returns 1 when a request header was
 * read (or an empty request skipped: then *skip is set), 0 for more input,
 * or a negative code. */
static int parse_multibulk_header(grove_resp_parser_t *p, bool *skip)
{
	long long n;
	size_t hlen;
	int rc = parse_header(p, 0, &n, &hlen);
	if (rc == 0)
		return 0;
	if (rc < 0 || n > (long long)p->max_args)
		return fail(p, GROVE_EPROTO, "ERR Protocol error: invalid multibulk length");
	if (n <= 0) {
		p->head += hlen;
		*skip = true;
		return 1;
	}
	p->want_args = n;
	p->pos = hlen;
	p->argc = 0;
	return 1;
}

/* Decodes "\xHH" at s (s[0..3] present).  Returns the byte or -1. */
static int hex_byte(const uint8_t *s)
{
	int v = 0;
	for (int i = 2; i < 4; i++) {
		uint8_t c = s[i];
		int d = (c >= '0' && c <= '9')   ? c - '0'
			: (c >= 'a' && c <= 'f') ? c - 'a' + 10
			: (c >= 'A' && c <= 'F') ? c - 'A' + 10
						 : -1;
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

/* Decodes one quoted word starting at line[*r] (the opening quote) into
 * line[*w...].  Returns 0 or -1 on unbalanced quotes. */
static int inline_quoted(uint8_t *line, size_t n, size_t *r, size_t *w)
{
	uint8_t q = line[(*r)++];
	while (*r < n) {
		uint8_t c = line[*r];
		if (c == q) {
			(*r)++;
			return (*r == n || line[*r] == ' ' || line[*r] == '\t') ? 0 : -1;
		}
		if (c == '\\' && q == '"' && *r + 3 < n && line[*r + 1] == 'x' &&
		    hex_byte(line + *r) >= 0) {
			line[(*w)++] = (uint8_t)hex_byte(line + *r);
			*r += 4;
		} else if (c == '\\' && *r + 1 < n && (q == '"' || line[*r + 1] == '\'')) {
			uint8_t e = line[*r + 1];
			line[(*w)++] = q == '\'' ? e
				       : e == 'n' ? '\n'
				       : e == 'r' ? '\r'
				       : e == 't' ? '\t'
				       : e == 'b' ? '\b'
				       : e == 'a' ? '\a'
						  : e;
			*r += 2;
		} else {
			line[(*w)++] = c;
			(*r)++;
		}
	}
	return -1;
}

/* Splits an inline line (without its newline) into arguments, in place. */
static int inline_split(grove_resp_parser_t *p, size_t n)
{
	uint8_t *line = p->buf + p->head;
	size_t r = 0, w = 0;
	p->argc = 0;
	for (;;) {
		while (r < n && (line[r] == ' ' || line[r] == '\t'))
			r++;
		if (r == n)
			return 0;
		if (p->argc >= p->max_args)
			return fail(p, GROVE_EPROTO, "ERR Protocol error: too many arguments");
		if (reserve_arg(p) < 0)
			return fail(p, GROVE_ENOMEM, "ERR Protocol error: out of memory");
		size_t start = w;
		if (line[r] == '"' || line[r] == '\'') {
			if (inline_quoted(line, n, &r, &w) < 0)
				return fail(p, GROVE_EPROTO,
					    "ERR Protocol error: unbalanced quotes in request");
		} else {
			while (r < n && line[r] != ' ' && line[r] != '\t')
				line[w++] = line[r++];
		}
		p->arg_off[p->argc] = start;
		p->arg_len[p->argc] = w - start;
		p->argc++;
	}
}

/* Parses one inline request.  Returns 1 (complete, possibly empty: argc
 * 0), 0 for more input, or a negative code. */
static int parse_inline(grove_resp_parser_t *p)
{
	size_t avail = p->tail - p->head;
	size_t limit = GROVE_RESP_INLINE_BYTES_MAX < p->max_request_bytes
			       ? GROVE_RESP_INLINE_BYTES_MAX
			       : p->max_request_bytes;
	size_t scan = avail < limit ? avail : limit;
	const uint8_t *nl = memchr(p->buf + p->head, '\n', scan);
	if (!nl)
		return avail >= limit ? fail(p, GROVE_EPROTO, "ERR Protocol error: too big inline request")
				      : 0;
	size_t n = (size_t)(nl - (p->buf + p->head));
	p->pos = n + 1;
	if (n > 0 && p->buf[p->head + n - 1] == '\r')
		n--;
	int rc = inline_split(p, n);
	return rc < 0 ? rc : 1;
}

/* Hands the complete request to the caller and marks its bytes consumed. */
static int emit(grove_resp_parser_t *p, grove_resp_request_t *req)
{
	for (size_t i = 0; i < p->argc; i++)
		p->argv[i] = p->buf + p->head + p->arg_off[i];
	req->argc = p->argc;
	req->argv = p->argv;
	req->argl = p->arg_len;
	p->consumed = p->pos;
	request_reset(p);
	return 1;
}

int grove_resp_parser_next(grove_resp_parser_t *p, grove_resp_request_t *req)
{
	if (p->dead)
		return p->dead;
	p->head += p->consumed;
	p->consumed = 0;
	if (p->head == p->tail)
		p->head = p->tail = 0;
	/* Bounded: each pass consumes at least one header or line. */
	while (p->head < p->tail) {
		int rc;
		if (p->want_args < 0) {
			if (p->buf[p->head] == '*') {
				bool skip = false;
				rc = parse_multibulk_header(p, &skip);
				if (rc <= 0)
					return rc;
				if (skip)
					continue;
			} else {
				rc = parse_inline(p);
				if (rc <= 0)
					return rc;
				if (p->argc == 0) {
					p->head += p->pos;
					request_reset(p);
					continue;
				}
				return emit(p, req);
			}
		}
		rc = parse_bulks(p);
		if (rc <= 0)
			return rc;
		return emit(p, req);
	}
	return 0;
}

/* ---- reply writer ---- */

/* "<c><n>\r\n", formatted by hand: replies write one per element (a bulk
 * header), where snprintf was a fifth of an LRANGE's CPU time. */
static void write_prefixed_int(grove_buf_t *b, char c, long long v)
{
	char tmp[24]; /* digits backwards: 20 for an unsigned 64-bit value */
	size_t nd = 0;
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
	do {
		tmp[nd++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (!grove_buf_reserve(b, nd + 4))
		return;
	uint8_t *p = b->data + b->len;
	*p++ = (uint8_t)c;
	if (v < 0)
		*p++ = '-';
	while (nd)
		*p++ = (uint8_t)tmp[--nd];
	*p++ = '\r';
	*p++ = '\n';
	b->len = (size_t)(p - b->data);
}

void grove_resp_simple(grove_buf_t *b, const char *s)
{
	size_t n = strlen(s);
	GROVE_ASSERT(!memchr(s, '\r', n) && !memchr(s, '\n', n));
	if (!grove_buf_reserve(b, n + 3))
		return;
	grove_buf_append(b, "+", 1);
	grove_buf_append(b, s, n);
	grove_buf_append(b, "\r\n", 2);
}

void grove_resp_error(grove_buf_t *b, const char *msg)
{
	size_t n = strlen(msg);
	if (!grove_buf_reserve(b, n + 3))
		return;
	b->data[b->len++] = '-';
	for (size_t i = 0; i < n; i++)
		b->data[b->len++] = (msg[i] == '\r' || msg[i] == '\n') ? ' ' : (uint8_t)msg[i];
	b->data[b->len++] = '\r';
	b->data[b->len++] = '\n';
}

void grove_resp_errorf(grove_buf_t *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	grove_resp_error(b, tmp);
}

void grove_resp_int(grove_buf_t *b, long long v)
{
	write_prefixed_int(b, ':', v);
}

void grove_resp_bulk(grove_buf_t *b, const void *data, size_t len)
{
	if (!grove_buf_reserve(b, len + 32))
		return;
	write_prefixed_int(b, '$', (long long)len);
	grove_buf_append(b, data, len);
	grove_buf_append(b, "\r\n", 2);
}

void grove_resp_bulk_str(grove_buf_t *b, const char *s)
{
	grove_resp_bulk(b, s, strlen(s));
}

void grove_resp_bulk_int(grove_buf_t *b, long long v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%lld", v);
	grove_resp_bulk(b, tmp, (size_t)n);
}

void grove_resp_null(grove_buf_t *b)
{
	grove_buf_append(b, "$-1\r\n", 5);
}

void grove_resp_array(grove_buf_t *b, size_t n)
{
	write_prefixed_int(b, '*', (long long)n);
}
