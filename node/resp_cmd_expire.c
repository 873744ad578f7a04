/*
 * resp_cmd_expire.c - key expiry commands: EXPIRE, PEXPIRE, EXPIREAT,
 * PEXPIREAT (NX, XX, GT, LT), TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST,
 * SETEX, PSETEX, and the TTL options parser SET and GETEX share
 * (grove_cmd__expire_ms).  Redis 7.0's replies and error texts.
 *
 * A deadline is absolute (unix ms from the db's clock, which tests inject)
 * and replicates with the key (doc/value_format.md, "Expiry"): EXPIRE and
 * PERSIST are LWW writes of the deadline ordered by HLC; SET without
 * KEEPTTL, DEL and the expiry itself remove the TTL they saw.  The flags
 * NX/XX/GT/LT are decided on this node's state, under the node's exclusive
 * lock (no other command of this node between the read and the write).
 */
#include <stdint.h>

#include "node/resp_commands_int.h"

uint64_t grove_cmd__now_ms(grove_cmd_call_t *c)
{
	return grove_db_now_ms(c->env->db);
}

bool grove_cmd__expire_ms(grove_cmd_call_t *c, size_t i, bool seconds, bool relative,
			  const char *cmd, uint64_t *at_ms)
{
	long long t;
	if (!grove_cmd_arg_ll(c, i, &t))
		return false;
	long long now = (long long)grove_cmd__now_ms(c);
	if (t <= 0 || (seconds && t > INT64_MAX / 1000) ||
	    (relative && (seconds ? t * 1000 : t) > INT64_MAX - now)) {
		grove_resp_errorf(c->out, "ERR invalid expire time in '%s' command", cmd);
		return false;
	}
	if (seconds)
		t *= 1000;
	*at_ms = (uint64_t)(relative ? t + now : t);
	return true;
}

/* EXPIRE's options from argument 3 on; replies and returns false on error. */
static bool expire_flags(grove_cmd_call_t *c, unsigned *flags)
{
	*flags = 0;
	for (size_t i = 3; i < c->argc; i++) {
		if (grove_cmd_arg_is(c, i, "nx")) {
			*flags |= GROVE_EXPIRE_NX;
		} else if (grove_cmd_arg_is(c, i, "xx")) {
			*flags |= GROVE_EXPIRE_XX;
		} else if (grove_cmd_arg_is(c, i, "gt")) {
			*flags |= GROVE_EXPIRE_GT;
		} else if (grove_cmd_arg_is(c, i, "lt")) {
			*flags |= GROVE_EXPIRE_LT;
		} else {
			grove_resp_errorf(c->out, "ERR Unsupported option %.*s", (int)c->argl[i],
					  (const char *)c->argv[i]);
			return false;
		}
	}
	if ((*flags & GROVE_EXPIRE_NX) && (*flags & ~GROVE_EXPIRE_NX)) {
		grove_resp_error(c->out, "ERR NX and XX, GT or LT options at the same time are not compatible");
		return false;
	}
	if ((*flags & GROVE_EXPIRE_GT) && (*flags & GROVE_EXPIRE_LT)) {
		grove_resp_error(c->out, "ERR GT and LT options at the same time are not compatible");
		return false;
	}
	return true;
}

/* EXPIRE key seconds, PEXPIRE key ms, EXPIREAT key unix-s, PEXPIREAT key
 * unix-ms [NX|XX|GT|LT]: 1 when set (or the key deleted for a deadline
 * already past), 0 when the key is absent or a flag refused it. */
void grove_cmd_do_expire(grove_cmd_call_t *c)
{
	bool ms = grove_cmd_arg_is(c, 0, "pexpire") || grove_cmd_arg_is(c, 0, "pexpireat");
	bool at = grove_cmd_arg_is(c, 0, "expireat") || grove_cmd_arg_is(c, 0, "pexpireat");
	unsigned flags;
	long long t;
	if (!expire_flags(c, &flags) || !grove_cmd_arg_ll(c, 2, &t))
		return;
	const char *name = ms ? (at ? "pexpireat" : "pexpire") : (at ? "expireat" : "expire");
	long long base = at ? 0 : (long long)grove_cmd__now_ms(c);
	if (!ms && (t > INT64_MAX / 1000 || t < INT64_MIN / 1000)) {
		grove_resp_errorf(c->out, "ERR invalid expire time in '%s' command", name);
		return;
	}
	if (!ms)
		t *= 1000;
	if (t > INT64_MAX - base) {
		grove_resp_errorf(c->out, "ERR invalid expire time in '%s' command", name);
		return;
	}
	t += base;
	if (!grove_cmd__key_valid(c, 1)) {
		grove_resp_int(c->out, 0);
		return;
	}
	grove_cmd__lock_exclusive(c);
	bool set = false;
	/* a deadline at or before 0 is in the past like any other: 1 keeps it
	 * apart from "no TTL" */
	int rc = grove_db_expire(c->env->db, c->argv[1], c->argl[1], t < 1 ? 1 : (uint64_t)t, flags,
				 &set);
	if (rc < 0)
		grove_cmd_reply_db_error(c, rc);
	else
		grove_resp_int(c->out, set ? 1 : 0);
}

/* TTL, PTTL (remaining), EXPIRETIME, PEXPIRETIME (absolute): -2 for no
 * key, -1 for a key without TTL. */
void grove_cmd_do_ttl(grove_cmd_call_t *c)
{
	bool ms = grove_cmd_arg_is(c, 0, "pttl") || grove_cmd_arg_is(c, 0, "pexpiretime");
	bool abs = grove_cmd_arg_is(c, 0, "expiretime") || grove_cmd_arg_is(c, 0, "pexpiretime");
	uint64_t at = 0, now = 0;
	int rc = grove_cmd__key_valid(c, 1)
			 ? grove_db_ttl(c->env->db, c->argv[1], c->argl[1], &at, &now)
			 : GROVE_ENOTFOUND;
	if (rc == GROVE_ENOTFOUND) {
		grove_resp_int(c->out, -2);
		return;
	}
	if (rc < 0) {
		grove_cmd_reply_db_error(c, rc);
		return;
	}
	if (at == 0) {
		grove_resp_int(c->out, -1);
		return;
	}
	long long ttl = abs ? (long long)at : (long long)at - (long long)now;
	if (ttl < 0)
		ttl = 0;
	grove_resp_int(c->out, ms ? ttl : (ttl + 500) / 1000);
}

/* PERSIST key: 1 when the key had a TTL (now removed, as a replicated
 * write of "no TTL"), else 0. */
void grove_cmd_do_persist(grove_cmd_call_t *c)
{
	if (!grove_cmd__key_valid(c, 1)) {
		grove_resp_int(c->out, 0);
		return;
	}
	bool removed = false;
	int rc = grove_db_persist(c->env->db, c->argv[1], c->argl[1], &removed);
	if (rc < 0)
		grove_cmd_reply_db_error(c, rc);
	else
		grove_resp_int(c->out, removed ? 1 : 0);
}

/* SETEX key seconds value, PSETEX key ms value: SET with EX / PX. */
void grove_cmd_do_setex(grove_cmd_call_t *c)
{
	bool ms = grove_cmd_arg_is(c, 0, "psetex");
	uint64_t at;
	if (!grove_cmd__expire_ms(c, 2, !ms, true, ms ? "psetex" : "setex", &at) ||
	    !grove_cmd__key_writable(c, 1))
		return;
	int rc = grove_db_register_write(c->env->db, c->argv[1], c->argl[1], c->argv[3], c->argl[3],
					 GROVE_DB_TTL_AT, at);
	if (rc < 0)
		grove_cmd_reply_db_error(c, rc);
	else
		grove_resp_simple(c->out, "OK");
}
