/*
 * resp_codec.h - RESP2 (the Redis serialization protocol, version 2): a sans-IO
 * request parser and a reply writer.
 *
 * Parser.  A grove_resp_parser_t owns one input buffer.  The caller appends
 * bytes as they arrive (grove_resp_parser_feed, or _space/_commit to read
 * straight into the buffer) and pulls complete requests out with
 * grove_resp_parser_next, as many as the buffer holds (pipelining).  Both
 * request forms are accepted:
 *   - multibulk: "*<n>\r\n" then n times "$<len>\r\n<len bytes>\r\n"
 *     (binary-safe);
 *   - inline: one line of space-separated words ending in "\n" (optionally
 *     "\r\n"), with "double quotes" (escapes \n \r \t \b \a \\ \" \xHH) and
 *     'single quotes' (escape \') as redis-cli and telnet users send them.
 * Parsing is incremental: a partly received multibulk request keeps the
 * arguments already parsed, so a request arriving in many reads costs time
 * in its size, not in the number of reads.  Limits (named maxima, set per
 * parser): the bytes of one request (header, lengths and payload) and the
 * number of its arguments.  A request that breaks the protocol or a limit
 * makes _next return GROVE_EPROTO with a Redis-style message
 * ("ERR Protocol error: ...") in grove_resp_parser_error; the parser is then
 * dead (every later _next returns the same error): the connection should
 * send the message and close, as Redis does.  Empty requests ("*0", "*-1",
 * blank inline lines) are skipped.
 *
 * Writer.  Reply writers append to a grove_buf_t (base/buf.h; raw bytes
 * with grove_buf_append).  Writers do not return codes: an allocation
 * failure or a growth beyond the buffer's max_bytes sets its sticky flag
 * (grove_buf_failed) that the caller checks once per batch of replies.
 *
 * Memory: the parser owns its storage (grove_malloc); argument
 * bytes from _next borrow the parser's buffer and stay valid until the next
 * call to _feed, _space or _close (so a caller may collect several
 * pipelined requests before executing them); the argv/argl arrays
 * themselves are reused by the next call to _next.
 */
#ifndef GROVE_RESP_H
#define GROVE_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "grove/error.h"

#define GROVE_RESP_REQUEST_BYTES_DEFAULT (8u * 1024 * 1024) /* one request */
#define GROVE_RESP_REQUEST_BYTES_MAX (1024u * 1024 * 1024)  /* hard ceiling */
#define GROVE_RESP_ARGS_DEFAULT (1024u * 1024)              /* as Redis */
#define GROVE_RESP_INLINE_BYTES_MAX (64u * 1024)            /* one inline line */
#define GROVE_RESP_ERROR_BYTES 128

typedef struct grove_resp_parser {
	/* configuration */
	size_t max_request_bytes;
	size_t max_args;
	/* input buffer: bytes [head, tail) are unparsed, [0, head) consumed */
	uint8_t *buf;
	size_t cap, head, tail;
	/* the request being parsed (multibulk), offsets relative to head */
	long long want_args; /* -1: no request in progress */
	size_t pos;          /* next byte to parse, relative to head */
	size_t argc, args_cap;
	size_t *arg_off, *arg_len;
	const uint8_t **argv; /* built for the caller by _next */
	size_t consumed;      /* bytes of the last returned request */
	int dead;             /* 0, or the error code of a protocol error */
	char error[GROVE_RESP_ERROR_BYTES];
} grove_resp_parser_t;

typedef struct grove_resp_request {
	size_t argc;
	const uint8_t *const *argv; /* argv[i] has argl[i] bytes, not NUL-terminated */
	const size_t *argl;
} grove_resp_request_t;

/* max_request_bytes 0 = default, clamped to GROVE_RESP_REQUEST_BYTES_MAX;
 * max_args 0 = default. */
void grove_resp_parser_init(grove_resp_parser_t *p, size_t max_request_bytes, size_t max_args);
void grove_resp_parser_close(grove_resp_parser_t *p);

/* Appends len bytes.  GROVE_ENOMEM leaves the parser as it was. */
int grove_resp_parser_feed(grove_resp_parser_t *p, const void *data, size_t len) GROVE_MUST_CHECK;
/* Room for at least min_bytes at the end of the buffer, to read into
 * directly; commit the bytes actually written.  O(unparsed bytes) when it
 * compacts. */
int grove_resp_parser_space(grove_resp_parser_t *p, size_t min_bytes, uint8_t **ptr,
			    size_t *len) GROVE_MUST_CHECK;
void grove_resp_parser_commit(grove_resp_parser_t *p, size_t len);

/* 1: a complete request in *req; 0: more bytes needed; GROVE_EPROTO or
 * GROVE_ENOMEM: the parser is dead, see grove_resp_parser_error. */
int grove_resp_parser_next(grove_resp_parser_t *p, grove_resp_request_t *req) GROVE_MUST_CHECK;
const char *grove_resp_parser_error(const grove_resp_parser_t *p);
/* Bytes received but not yet returned as requests. */
size_t grove_resp_parser_pending(const grove_resp_parser_t *p);

/* ---- replies ---- */

/* "+OK\r\n"; s must hold no CR or LF (asserted). */
void grove_resp_simple(grove_buf_t *b, const char *s);
/* "-ERR ...\r\n"; msg includes its prefix (ERR, WRONGTYPE...); CR/LF in it
 * are replaced by spaces. */
void grove_resp_error(grove_buf_t *b, const char *msg);
void grove_resp_errorf(grove_buf_t *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void grove_resp_int(grove_buf_t *b, long long v);
void grove_resp_bulk(grove_buf_t *b, const void *data, size_t len);
void grove_resp_bulk_str(grove_buf_t *b, const char *s);
void grove_resp_bulk_int(grove_buf_t *b, long long v);
void grove_resp_null(grove_buf_t *b); /* "$-1\r\n" */
void grove_resp_array(grove_buf_t *b, size_t n);

#endif
