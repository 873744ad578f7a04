/*
 * error.h - the one table of Grove error codes.
 *
 * Every fallible function in libgrove returns 0 on success or one of these
 * negative codes.  The table is an X-macro (as libuv's UV_ERRNO_MAP) so the
 * enum and grove_strerror() can never drift apart.  Append new codes at the
 * end; never renumber, since codes are visible to embedding programs.
 */
#ifndef GROVE_ERROR_H
#define GROVE_ERROR_H

#define GROVE_ERROR_MAP(X)                                                    \
	X(NOMEM, -1, "out of memory")                                         \
	X(INVAL, -2, "invalid argument")                                      \
	X(NOTFOUND, -3, "not found")                                          \
	X(WRONGTYPE, -4, "operation against a key holding the wrong kind of value") \
	X(OVERFLOW, -5, "integer overflow")                                   \
	X(DECODE, -6, "malformed encoding")                                   \
	X(TOOBIG, -7, "size or count limit exceeded")                         \
	X(VERSION, -8, "unsupported format version")                          \
	X(CLOCK_OFFSET, -9, "remote timestamp beyond max clock offset")       \
	X(IO, -10, "I/O error")                                               \
	X(CORRUPT, -11, "corrupt data")                                       \
	X(LOCKED, -12, "locked by another process")                           \
	X(PERM, -13, "permission denied")                                     \
	X(BADSIG, -14, "bad signature")                                       \
	X(EXPIRED, -15, "certificate expired")                                \
	X(UNTRUSTED, -16, "certificate not signed by the cluster CA")         \
	X(REPLAY, -17, "replayed or stale message")                           \
	X(AGAIN, -18, "resource temporarily unavailable")                     \
	X(CLOSED, -19, "closed")                                              \
	X(FULL, -20, "queue or table full")                                   \
	X(EXISTS, -21, "already exists")                                      \
	X(CONFLICT, -22, "conflicting identity")                              \
	X(PROTO, -23, "protocol violation")                                   \
	X(AUTH, -24, "authentication failed")                                 \
	X(TIMEOUT, -25, "timed out")                                          \
	X(CONFIG, -26, "bad configuration")                                   \
	X(RANGE, -27, "value out of range")                                   \
	X(READONLY, -28, "read-only after a failed durable write (reopen)")   \
	X(SUPERSEDED, -29, "certificate superseded by a newer one for its node id") \
	X(REVOKED, -30, "certificate revoked")

enum grove_error {
	GROVE_OK = 0,
#define GROVE__ERR_ENUM(name, code, msg) GROVE_E##name = (code),
	GROVE_ERROR_MAP(GROVE__ERR_ENUM)
#undef GROVE__ERR_ENUM
};

/* Static string for any code (0 included); never NULL. */
const char *grove_strerror(int code);

/* Short symbolic name ("GROVE_ENOTFOUND"); never NULL. */
const char *grove_err_name(int code);

#define GROVE_MUST_CHECK __attribute__((warn_unused_result))

#endif
