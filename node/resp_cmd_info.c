/*
 * resp_cmd_info.c - the INFO sections monitoring tools read beyond Grove's
 * own (memory, persistence, replication, cpu, keyspace, commandstats,
 * errorstats), and the per-command and per-error counters behind the last
 * two (Redis 7.0's field names).
 *
 * Counters.  grove_cmd__stats_record runs after every command (on the loop
 * or a worker thread), so the counters are atomics in env: calls,
 * microseconds, rejected calls (refused before running: arity, NOAUTH) and
 * failed calls (an error reply) per command table row, and a count per
 * error prefix ("ERR", "WRONGTYPE"...) in a table of GROVE_ERRORSTATS_MAX
 * prefixes under a mutex (further new prefixes count under the last row,
 * "other").  CONFIG RESETSTAT zeroes them.
 *
 * What the sections say.  memory: the allocator's in-use bytes (mallinfo2)
 * and the resident set (/proc/self/statm); LevelDB's own caches are not
 * counted.  persistence: Grove writes through on every command (no RDB, no
 * AOF rewrite): aof_enabled is 1 unless the durability is none, plus the
 * durability mode and the fsyncs issued.  replication: every node is a
 * master; the peers the membership sees are listed as grove_peer<i>.
 * keyspace: db0 with the keys not hidden by their TTL (as DBSIZE), the keys
 * with a deadline (expires=; hidden ones not yet removed included) and
 * avg_ttl=0 (not tracked).
 */
#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "base/assert.h"
#include "base/buf.h"
#include "grove/alloc.h"
#include "node/histogram.h"
#include "node/resp_commands_int.h"

/* Command latency buckets (the metrics' grove_command_duration_seconds). */
const uint64_t grove_cmd_latency_bounds_us[GROVE_CMD_LATENCY_BUCKETS - 1] = {
	50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 100000, 1000000};

/* ---- counters ---- */

uint64_t grove_cmd__now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Counts an error reply under its first word. */
static void count_error(grove_cmd_env_t *env, const uint8_t *msg, size_t len)
{
	size_t n = 0;
	while (n < len && n < GROVE_ERRORSTAT_NAME_MAX && msg[n] != ' ' && msg[n] != '\r')
		n++;
	pthread_mutex_lock(&env->err_mu);
	size_t i = 0;
	for (; i < env->err_n; i++)
		if (strlen(env->errs[i].name) == n && memcmp(env->errs[i].name, msg, n) == 0)
			break;
	if (i == env->err_n) {
		if (env->err_n < GROVE_ERRORSTATS_MAX - 1) {
			memcpy(env->errs[i].name, msg, n);
			env->errs[i].name[n] = 0;
			env->err_n++;
		} else {
			i = GROVE_ERRORSTATS_MAX - 1;
			snprintf(env->errs[i].name, sizeof(env->errs[i].name), "other");
			env->err_n = GROVE_ERRORSTATS_MAX;
		}
	}
	env->errs[i].count++;
	pthread_mutex_unlock(&env->err_mu);
}

void grove_cmd__stats_record(grove_cmd_env_t *env, const grove_cmd_t *cmd, const grove_buf_t *out,
			     size_t reply_at, uint64_t usec, bool rejected)
{
	bool failed = out->len > reply_at && out->data[reply_at] == '-';
	if (failed)
		count_error(env, out->data + reply_at + 1, out->len - reply_at - 1);
	if (!cmd)
		return;
	size_t i = (size_t)(cmd - grove_cmd_table);
	GROVE_ASSERT(i < grove_cmd_count && i < GROVE_CMD_STATS_MAX);
	struct grove_cmd_stat *s = &env->cmd_stats[i];
	if (rejected) {
		atomic_fetch_add_explicit(&s->rejected, 1, memory_order_relaxed);
		return;
	}
	atomic_fetch_add_explicit(&s->calls, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->usec, usec, memory_order_relaxed);
	size_t b = grove_histogram_bucket(grove_cmd_latency_bounds_us, GROVE_CMD_LATENCY_BUCKETS - 1, usec);
	atomic_fetch_add_explicit(&s->latency[b], 1, memory_order_relaxed);
	if (failed)
		atomic_fetch_add_explicit(&s->failed, 1, memory_order_relaxed);
}

void grove_cmd__stats_reset(grove_cmd_env_t *env)
{
	for (size_t i = 0; i < GROVE_CMD_STATS_MAX; i++) {
		atomic_store(&env->cmd_stats[i].calls, 0);
		atomic_store(&env->cmd_stats[i].usec, 0);
		atomic_store(&env->cmd_stats[i].rejected, 0);
		atomic_store(&env->cmd_stats[i].failed, 0);
		for (size_t b = 0; b < GROVE_CMD_LATENCY_BUCKETS; b++)
			atomic_store(&env->cmd_stats[i].latency[b], 0);
	}
	pthread_mutex_lock(&env->err_mu);
	env->err_n = 0;
	pthread_mutex_unlock(&env->err_mu);
}

/* ---- sections ---- */

static void human(char *out, size_t len, uint64_t bytes)
{
	if (bytes >= (1u << 30))
		snprintf(out, len, "%.2fG", (double)bytes / (1u << 30));
	else if (bytes >= (1u << 20))
		snprintf(out, len, "%.2fM", (double)bytes / (1u << 20));
	else
		snprintf(out, len, "%.2fK", (double)bytes / 1024);
}

static uint64_t rss_bytes(void)
{
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

void grove_cmd__info_memory(const grove_cmd_env_t *env, grove_buf_t *t)
{
	(void)env;
	struct mallinfo2 mi = mallinfo2();
	uint64_t used = mi.uordblks + mi.hblkhd, rss = rss_bytes();
	char h[32], hr[32];
	human(h, sizeof(h), used);
	human(hr, sizeof(hr), rss);
	grove_buf_appendf(t, "# Memory\r\nused_memory:%llu\r\nused_memory_human:%s\r\nused_memory_rss:%llu\r\n"
		"used_memory_rss_human:%s\r\nmaxmemory:0\r\nmaxmemory_human:0B\r\n"
		"maxmemory_policy:noeviction\r\nmem_fragmentation_ratio:%.2f\r\n"
		"mem_allocator:libc\r\n",
	     (unsigned long long)used, h, (unsigned long long)rss, hr,
	     used ? (double)rss / (double)used : 0.0);
}

void grove_cmd__info_persistence(const grove_cmd_env_t *env, grove_buf_t *t)
{
	grove_db_stats_t st;
	grove_db_stats(env->db, &st);
	grove_buf_appendf(t, "# Persistence\r\nloading:0\r\nasync_loading:0\r\nrdb_changes_since_last_save:0\r\n"
		"rdb_bgsave_in_progress:0\r\nrdb_last_bgsave_status:ok\r\naof_enabled:%d\r\n"
		"aof_rewrite_in_progress:0\r\naof_last_write_status:ok\r\ngrove_durability:%s\r\n"
		"grove_fsyncs:%llu\r\n",
	     strcmp(env->durability, "none") != 0, env->durability, (unsigned long long)st.syncs);
}

void grove_cmd__info_replication(const grove_cmd_env_t *env, grove_buf_t *t)
{
	grove_member_view_t *m = NULL;
	size_t n = 0;
	if (env->hooks.members && (m = grove_malloc(GROVE_MEMBERS_MAX * sizeof(*m))) != NULL)
		n = env->hooks.members(env->hooks.ctx, m, GROVE_MEMBERS_MAX);
	size_t peers = 0;
	for (size_t i = 0; i < n; i++)
		peers += strcmp(m[i].id, env->node_id) != 0;
	grove_buf_appendf(t, "# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_failover_state:"
		"no-failover\r\nmaster_repl_offset:0\r\ngrove_replication:multi-master CRDT "
		"(every node takes writes)\r\ngrove_peers:%zu\r\n",
	     peers);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(m[i].id, env->node_id) != 0)
			grove_buf_appendf(t, "grove_peer%zu:id=%s,addr=%s,state=%s\r\n", k++, m[i].id, m[i].addr,
			     m[i].state);
	grove_free(m);
}

void grove_cmd__info_cpu(const grove_cmd_env_t *env, grove_buf_t *t)
{
	(void)env;
	struct rusage self = {0}, kids = {0};
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
#define SECS(tv) ((double)(tv).tv_sec + (double)(tv).tv_usec / 1e6)
	grove_buf_appendf(t, "# CPU\r\nused_cpu_sys:%.6f\r\nused_cpu_user:%.6f\r\nused_cpu_sys_children:%.6f\r\n"
		"used_cpu_user_children:%.6f\r\n",
	     SECS(self.ru_stime), SECS(self.ru_utime), SECS(kids.ru_stime), SECS(kids.ru_utime));
#undef SECS
}

void grove_cmd__info_keyspace(const grove_cmd_env_t *env, grove_buf_t *t)
{
	uint64_t keys = grove_db_count_visible(env->db), expires = grove_db_expires(env->db);
	grove_buf_appendf(t, "# Keyspace\r\n");
	if (keys)
		grove_buf_appendf(t, "db0:keys=%llu,expires=%llu,avg_ttl=0\r\n", (unsigned long long)keys,
				  (unsigned long long)(expires < keys ? expires : keys));
}

void grove_cmd__info_commandstats(const grove_cmd_env_t *env, grove_buf_t *t)
{
	grove_buf_appendf(t, "# Commandstats\r\n");
	for (size_t i = 0; i < grove_cmd_count && i < GROVE_CMD_STATS_MAX; i++) {
		const struct grove_cmd_stat *s = &env->cmd_stats[i];
		uint64_t calls = atomic_load(&s->calls), rejected = atomic_load(&s->rejected);
		if (!calls && !rejected)
			continue;
		uint64_t usec = atomic_load(&s->usec);
		grove_buf_appendf(t, "cmdstat_%s:calls=%llu,usec=%llu,usec_per_call=%.2f,rejected_calls=%llu,"
			"failed_calls=%llu\r\n",
		     grove_cmd_table[i].name, (unsigned long long)calls, (unsigned long long)usec,
		     calls ? (double)usec / (double)calls : 0.0, (unsigned long long)rejected,
		     (unsigned long long)atomic_load(&s->failed));
	}
}

void grove_cmd__info_errorstats(const grove_cmd_env_t *env, grove_buf_t *t)
{
	grove_cmd_env_t *e = (grove_cmd_env_t *)env; /* the mutex, not the data */
	grove_buf_appendf(t, "# Errorstats\r\n");
	pthread_mutex_lock(&e->err_mu);
	for (size_t i = 0; i < env->err_n; i++)
		grove_buf_appendf(t, "errorstat_%s:count=%llu\r\n", env->errs[i].name,
		     (unsigned long long)env->errs[i].count);
	pthread_mutex_unlock(&e->err_mu);
}
