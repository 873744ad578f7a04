/*
 * resp_cmd_backup.c - the commands behind `grove backup` and `grove
 * restore --node` (README "Backup and restore"; file layout
 * doc/backup_format.md).
 *
 * BACKUP BEGIN takes one LevelDB snapshot for this connection and answers
 * the manifest fields; each BACKUP NEXT [BYTES] answers the next chunk of
 * data records from that snapshot (about BYTES long, default 256 KiB, at
 * most 4 MiB; an empty string at the end); BACKUP END answers the record
 * count and the BLAKE2b-256 of every chunk byte sent, and releases the
 * snapshot (so does closing the connection).  The loop runs one bounded
 * chunk per request, so a backup of any size never stalls other clients.
 *
 * MERGEITEM name state [name state ...] merges item states (as
 * grove_db_item_state makes them and anti-entropy ships them) exactly as
 * a peer's would be merged: state can only grow, so an old state adds
 * what is missing and never rolls anything back.  It answers how many
 * items changed.  Both commands need AUTH like every other command.
 */
#include <stdio.h>
#include <string.h>

#include "grove/alloc.h"
#include "grove/backup.h"
#include "node/resp_commands_int.h"

#define BACKUP_CHUNK_BYTES_MAX (4u * 1024 * 1024)

static void backup_begin(grove_cmd_call_t *c)
{
	grove_backup_reader_close(c->client->backup);
	c->client->backup = NULL;
	int rc = grove_backup_reader_open(c->env->db, &c->client->backup);
	if (rc < 0) {
		grove_cmd_reply_db_error(c, rc);
		return;
	}
	uint64_t now = c->env->now_ms ? c->env->now_ms(NULL) : 0;
	grove_resp_array(c->out, 5);
	grove_resp_bulk_str(c->out, c->env->node_id);
	grove_resp_int(c->out, grove_backup_storage_format());
	grove_resp_int(c->out, grove_backup_value_format());
	grove_resp_int(c->out, (long long)now);
	grove_resp_bulk_str(c->out, c->env->version ? c->env->version : "");
}

static void backup_next(grove_cmd_call_t *c)
{
	long long want = GROVE_BACKUP_CHUNK_BYTES;
	if (c->argc == 3 && (!grove_cmd__parse_ll(c->argv[2], c->argl[2], &want) || want < 1 ||
			     want > BACKUP_CHUNK_BYTES_MAX)) {
		grove_resp_errorf(c->out, "ERR chunk size must be 1..%u bytes", BACKUP_CHUNK_BYTES_MAX);
		return;
	}
	uint8_t *chunk = NULL;
	size_t len = 0;
	int rc = grove_backup_reader_next(c->client->backup, (size_t)want, &chunk, &len);
	if (rc < 0) {
		grove_cmd_reply_db_error(c, rc);
		return;
	}
	grove_resp_bulk(c->out, chunk, len);
	grove_free(chunk);
}

static void backup_end(grove_cmd_call_t *c)
{
	uint64_t records;
	uint8_t hash[GROVE_BACKUP_HASH_BYTES];
	char hex[2 * GROVE_BACKUP_HASH_BYTES + 1];
	grove_backup_reader_sum(c->client->backup, &records, hash);
	for (size_t i = 0; i < sizeof(hash); i++)
		snprintf(hex + 2 * i, 3, "%02x", hash[i]);
	grove_backup_reader_close(c->client->backup);
	c->client->backup = NULL;
	grove_resp_array(c->out, 2);
	grove_resp_int(c->out, (long long)records);
	grove_resp_bulk_str(c->out, hex);
}

void grove_cmd_do_backup(grove_cmd_call_t *c)
{
	bool begin = grove_cmd_arg_is(c, 1, "begin") && c->argc == 2;
	bool next = grove_cmd_arg_is(c, 1, "next") && c->argc <= 3;
	bool end = grove_cmd_arg_is(c, 1, "end") && c->argc == 2;
	if (!begin && !next && !end) {
		grove_resp_error(c->out, "ERR syntax: BACKUP BEGIN | NEXT [bytes] | END");
		return;
	}
	if (!begin && !c->client->backup) {
		grove_resp_error(c->out, "ERR no backup in progress on this connection (BACKUP BEGIN)");
		return;
	}
	if (begin)
		backup_begin(c);
	else if (next)
		backup_next(c);
	else
		backup_end(c);
}

void grove_cmd_do_mergeitem(grove_cmd_call_t *c)
{
	if (c->argc % 2 != 1) {
		grove_resp_error(c->out, "ERR wrong number of arguments for 'mergeitem' command");
		return;
	}
	long long changed_n = 0;
	for (size_t i = 1; i < c->argc; i += 2) {
		bool changed = false;
		int rc = grove_db_item_merge(c->env->db, c->argv[i], c->argl[i], c->argv[i + 1],
					     c->argl[i + 1], &changed, NULL);
		if (rc < 0) {
			grove_resp_errorf(c->out, "ERR item %zu not merged (%lld before it changed): %s",
					  (i + 1) / 2, changed_n, grove_strerror(rc));
			return;
		}
		changed_n += changed;
	}
	grove_resp_int(c->out, changed_n);
}
