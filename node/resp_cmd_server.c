/*
 * resp_cmd_server.c - server and cluster commands: INFO, GROVE (MEMBERS,
 * DIGEST, SYNC, TYPE) and WAIT.  COMMAND is in resp_cmd_introspect.c,
 * CLIENT in resp_cmd_client.c, CONFIG in resp_cmd_config.c, INFO's Redis
 * sections in resp_cmd_info.c.
 *
 * CONFIG and COMMAND answer just enough for redis-cli and redis-benchmark
 * to start cleanly; CONFIG SET is refused (groved is configured by flags
 * and its config file).  No reply ever contains the password.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "grove/alloc.h"
#include "node/resp_commands_int.h"
#include "storage/glob.h"

/* ---- INFO ---- */

static const grove_node_stats_t *stats_of(const grove_cmd_env_t *env)
{
	static const grove_node_stats_t zero;
	return env->stats ? env->stats : &zero;
}

static void info_server(const grove_cmd_env_t *env, grove_buf_t *t)
{
	const grove_node_stats_t *s = stats_of(env);
	uint64_t now = env->now_ms ? env->now_ms(NULL) : s->start_ms;
	grove_buf_appendf(t, "# Server\r\ngrove_version:%s\r\nredis_version:7.0.0\r\nredis_mode:standalone\r\n"
		     "node_id:%s\r\nprocess_id:%ld\r\nclient_address:%s\r\ngossip_address:%s\r\n"
		     "durability:%s\r\nuptime_in_seconds:%llu\r\n",
		  env->version, env->node_id, (long)getpid(), env->client_addr, env->gossip_addr,
		  env->durability, (unsigned long long)((now - s->start_ms) / 1000));
}

static void info_clients(const grove_cmd_env_t *env, grove_buf_t *t)
{
	const grove_node_stats_t *s = stats_of(env);
	grove_buf_appendf(t, "# Clients\r\nconnected_clients:%llu\r\nblocked_clients:%zu\r\n",
			 (unsigned long long)s->connected_clients,
			 env->wait ? grove_wait_blocked(env->wait) : (size_t)0);
}

/* Counts members by state through the hook (self only without one). */
static void info_cluster(const grove_cmd_env_t *env, grove_buf_t *t)
{
	size_t counts[4] = {0}, total = 1;
	const char *names[4] = {"alive", "suspect", "dead", "left"};
	grove_member_view_t *m = NULL;
	if (env->hooks.members && (m = grove_malloc(GROVE_MEMBERS_MAX * sizeof(*m))) != NULL) {
		total = env->hooks.members(env->hooks.ctx, m, GROVE_MEMBERS_MAX);
		for (size_t i = 0; i < total; i++)
			for (size_t k = 0; k < 4; k++)
				counts[k] += strcmp(m[i].state, names[k]) == 0;
	} else {
		counts[0] = 1;
	}
	grove_free(m);
	grove_buf_appendf(t, "# Cluster\r\ncluster_enabled:0\r\ngrove_members:%zu\r\nmembers_alive:%zu\r\n"
		     "members_suspect:%zu\r\nmembers_dead:%zu\r\nmembers_left:%zu\r\n",
		  total, counts[0], counts[1], counts[2], counts[3]);
}

static void info_gossip(const grove_cmd_env_t *env, grove_buf_t *t)
{
	const grove_node_stats_t *s = stats_of(env);
	grove_buf_appendf(t, "# Gossip\r\ngossip_address:%s\r\ngossip_sent:%llu\r\ngossip_received:%llu\r\n"
		     "gossip_dropped:%llu\r\nsync_rounds:%llu\r\n",
		  env->gossip_addr, (unsigned long long)s->gossip_sent,
		  (unsigned long long)s->gossip_received, (unsigned long long)s->gossip_dropped,
		  (unsigned long long)s->sync_rounds);
	if (env->hooks.gossip_info)
		env->hooks.gossip_info(env->hooks.ctx, t);
}

/* The db's root digest in lower-case hex (GROVE DIGEST, INFO storage). */
static void root_digest_hex(grove_db_t *db, char out[2 * GROVE_DIGEST_BYTES + 1])
{
	uint8_t d[GROVE_DIGEST_BYTES];
	grove_db_root_digest(db, d);
	sodium_bin2hex(out, 2 * GROVE_DIGEST_BYTES + 1, d, sizeof(d));
}

static void info_storage(const grove_cmd_env_t *env, grove_buf_t *t)
{
	grove_db_stats_t st;
	grove_db_stats(env->db, &st);
	char dh[2 * GROVE_DIGEST_BYTES + 1];
	root_digest_hex(env->db, dh);
	/* in pieces: grove_buf_appendf writes up to 511 bytes at once */
	grove_buf_appendf(t, "# Storage\r\ndurability:%s\r\nkeys:%llu\r\nwrites:%llu\r\nmerges_changed:%llu\r\n"
		     "merges_unchanged:%llu\r\nmerges_rejected:%llu\r\nfsyncs:%llu\r\nhlc_last:%llu\r\n"
		     "root_digest:%s\r\nitems_rejected:%llu\r\nelements_purged:%llu\r\n"
		     "purges_pending:%llu\r\nindex_rebuilds:%llu\r\npresence_bytes:%llu\r\n"
		     "presence_reads_skipped:%llu\r\npresence_walks:%llu\r\npresence_drops:%llu\r\n",
		  env->durability, (unsigned long long)st.keys, (unsigned long long)st.writes,
		  (unsigned long long)st.merges_changed, (unsigned long long)st.merges_unchanged,
		  (unsigned long long)st.merges_rejected, (unsigned long long)st.syncs,
		  (unsigned long long)st.hlc_last, dh, (unsigned long long)st.items_rejected,
		  (unsigned long long)st.purged, (unsigned long long)st.purges_pending,
		  (unsigned long long)st.index_rebuilds, (unsigned long long)st.presence_bytes,
		  (unsigned long long)st.presence_skipped, (unsigned long long)st.presence_walks,
		  (unsigned long long)st.presence_drops);
	grove_buf_appendf(t, "zset_rank_cache_bytes:%llu\r\nzset_rank_leaf_hits:%llu\r\n"
			     "zset_rank_leaf_loads:%llu\r\nzset_rank_leaf_drops:%llu\r\n"
			     "zset_rank_score_hits:%llu\r\nzset_rank_passes:%llu\r\n"
			     "zset_rank_drops:%llu\r\n",
			  (unsigned long long)st.zrank_cache_bytes, (unsigned long long)st.zrank_leaf_hits,
			  (unsigned long long)st.zrank_leaf_loads, (unsigned long long)st.zrank_leaf_drops,
			  (unsigned long long)st.zrank_score_hits, (unsigned long long)st.zrank_passes,
			  (unsigned long long)st.zrank_drops);
	grove_buf_appendf(t, "elem_cache_bytes:%llu\r\nelem_cache_entries:%llu\r\nelem_cache_hits:%llu\r\n"
			     "elem_cache_misses:%llu\r\nelem_cache_evictions:%llu\r\n",
			  (unsigned long long)st.elem_cache_bytes, (unsigned long long)st.elem_cache_entries,
			  (unsigned long long)st.elem_cache_hits, (unsigned long long)st.elem_cache_misses,
			  (unsigned long long)st.elem_cache_evictions);
}

static void info_stats(const grove_cmd_env_t *env, grove_buf_t *t)
{
	const grove_node_stats_t *s = stats_of(env);
	grove_buf_appendf(t, "# Stats\r\ntotal_connections_received:%llu\r\ntotal_commands_processed:%llu\r\n"
		     "rejected_connections:%llu\r\nprotocol_errors:%llu\r\nidle_disconnects:%llu\r\n"
		     "output_buffer_overflows:%llu\r\ntotal_net_input_bytes:%llu\r\n"
		     "total_net_output_bytes:%llu\r\nexpired_keys:%llu\r\n",
		  (unsigned long long)s->total_connections, (unsigned long long)s->total_commands,
		  (unsigned long long)s->rejected_connections, (unsigned long long)s->protocol_errors,
		  (unsigned long long)s->idle_disconnects, (unsigned long long)s->output_overflows,
		  (unsigned long long)s->net_input_bytes, (unsigned long long)s->net_output_bytes,
		  (unsigned long long)grove_db_expired_keys(env->db));
}

static const struct info_section {
	const char *name;
	void (*fn)(const grove_cmd_env_t *env, grove_buf_t *t);
	bool all_only; /* not in the default INFO (as Redis's commandstats) */
} info_sections[] = {
	{"server", info_server, false},
	{"clients", info_clients, false},
	{"memory", grove_cmd__info_memory, false},
	{"persistence", grove_cmd__info_persistence, false},
	{"stats", info_stats, false},
	{"replication", grove_cmd__info_replication, false},
	{"cpu", grove_cmd__info_cpu, false},
	{"commandstats", grove_cmd__info_commandstats, true},
	{"errorstats", grove_cmd__info_errorstats, false},
	{"cluster", info_cluster, false},
	{"keyspace", grove_cmd__info_keyspace, false},
	{"gossip", info_gossip, false},
	{"storage", info_storage, false},
};
#define INFO_SECTIONS (sizeof(info_sections) / sizeof(info_sections[0]))

/* Whether a section was asked for: by name, by all or everything, or by
 * default (also no argument) unless it is all_only. */
static bool info_wanted(const grove_cmd_call_t *c, const struct info_section *s)
{
	if (c->argc == 1)
		return !s->all_only;
	for (size_t i = 1; i < c->argc; i++)
		if (grove_cmd_arg_is(c, i, s->name) || grove_cmd_arg_is(c, i, "all") ||
		    grove_cmd_arg_is(c, i, "everything") ||
		    (!s->all_only && grove_cmd_arg_is(c, i, "default")))
			return true;
	return false;
}

void grove_cmd_do_info(grove_cmd_call_t *c)
{
	grove_buf_t t;
	grove_buf_init(&t, 0);
	for (size_t i = 0; i < INFO_SECTIONS; i++) {
		if (!info_wanted(c, &info_sections[i]))
			continue;
		if (t.len)
			grove_buf_append(&t, "\r\n", 2);
		info_sections[i].fn(c->env, &t);
	}
	if (grove_buf_failed(&t))
		grove_resp_error(c->out, "ERR out of memory");
	else
		grove_resp_bulk(c->out, t.data, t.len);
	grove_buf_close(&t);
}

void grove_cmd_info_all(const grove_cmd_env_t *env, grove_buf_t *t)
{
	for (size_t i = 0; i < INFO_SECTIONS; i++) {
		if (t->len)
			grove_buf_append(t, "\r\n", 2);
		info_sections[i].fn(env, t);
	}
}

/* ---- GROVE ---- */

static void grove_members(grove_cmd_call_t *c)
{
	grove_member_view_t self = {.state = "alive"};
	grove_member_view_t *m = &self;
	size_t n = 1;
	if (c->env->hooks.members) {
		m = grove_malloc(GROVE_MEMBERS_MAX * sizeof(*m));
		if (!m) {
			grove_resp_error(c->out, "ERR out of memory");
			return;
		}
		n = c->env->hooks.members(c->env->hooks.ctx, m, GROVE_MEMBERS_MAX);
	} else {
		snprintf(self.id, sizeof(self.id), "%s", c->env->node_id);
		snprintf(self.addr, sizeof(self.addr), "%s", c->env->gossip_addr);
	}
	grove_resp_array(c->out, n);
	for (size_t i = 0; i < n; i++) {
		grove_resp_array(c->out, 4);
		grove_resp_bulk_str(c->out, m[i].id);
		grove_resp_bulk_str(c->out, m[i].addr);
		grove_resp_bulk_str(c->out, m[i].state);
		grove_resp_int(c->out, (long long)m[i].incarnation);
	}
	if (m != &self)
		grove_free(m);
}

void grove_cmd_do_grove(grove_cmd_call_t *c)
{
	if (grove_cmd_arg_is(c, 1, "members") && c->argc == 2) {
		grove_members(c);
	} else if (grove_cmd_arg_is(c, 1, "digest") && c->argc == 2) {
		char dh[2 * GROVE_DIGEST_BYTES + 1];
		root_digest_hex(c->env->db, dh);
		grove_resp_bulk_str(c->out, dh);
	} else if (grove_cmd_arg_is(c, 1, "sync") && c->argc == 2) {
		int rc = c->env->hooks.sync ? c->env->hooks.sync(c->env->hooks.ctx) : 0;
		if (rc < 0) {
			grove_resp_errorf(c->out, "ERR sync: %s", grove_strerror(rc));
		} else {
			grove_resp_int(c->out, rc);
			if (c->env->stats)
				c->env->stats->sync_rounds++;
		}
	} else if (grove_cmd_arg_is(c, 1, "type") && c->argc == 3) {
		grove_type_t t = GROVE_TYPE_NONE; /* from the head: O(1), per-element types too */
		int rc = grove_cmd__key_valid(c, 2)
				 ? grove_db_type(c->env->db, c->argv[2], c->argl[2], &t)
				 : 0;
		if (rc < 0)
			grove_cmd_reply_db_error(c, rc);
		else
			grove_resp_simple(c->out, grove_type_name(t));
	} else {
		grove_resp_errorf(c->out, "ERR unknown subcommand '%.*s'. Try MEMBERS, DIGEST, SYNC "
					  "or TYPE key.",
				  (int)(c->argl[1] > 64 ? 64 : c->argl[1]), (const char *)c->argv[1]);
	}
}

/* ---- WAIT ---- */

/* WAIT numreplicas timeout (README "WAIT"): the number of peers known to
 * hold this client's writes so far (node/wait.h), at once when at least
 * numreplicas do; otherwise the server blocks the client until they do or
 * timeout ms pass (0: no timeout).  Argument errors as Redis 7.2. */
void grove_cmd_do_wait(grove_cmd_call_t *c)
{
	long long want, timeout;
	if (!grove_cmd_arg_ll(c, 1, &want))
		return;
	if (!grove_cmd__parse_ll(c->argv[2], c->argl[2], &timeout)) {
		grove_resp_error(c->out, "ERR timeout is not an integer or out of range");
		return;
	}
	if (timeout < 0) {
		grove_resp_error(c->out, "ERR timeout is negative");
		return;
	}
	uint64_t now = c->env->now_ms ? c->env->now_ms(NULL) : 0;
	if (now > (uint64_t)LLONG_MAX || (uint64_t)timeout > (uint64_t)LLONG_MAX - now) {
		grove_resp_error(c->out, "ERR timeout is out of range");
		return;
	}
	size_t have = c->env->wait ? grove_wait_count(c->env->wait, c->client->write_pos) : 0;
	/* inside EXEC (lock held for writing) it answers at once, as Redis */
	if (c->env->wait == NULL || (long long)have >= want || c->lock == GROVE_CMD_LOCK_WRITE) {
		grove_resp_int(c->out, (long long)have);
		return;
	}
	c->client->block_want = want;
	c->client->block_timeout_ms = (uint64_t)timeout;
	c->result |= GROVE_CMD_BLOCK;
}
