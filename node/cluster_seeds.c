/*
 * cluster_seeds.c - the seeds of the membership binding (cluster_int.h).
 *
 * Seeds are configured by name or address.  At start each is resolved
 * once (blocking, like the rest of start-up) to the numeric "ip:port" the
 * membership core contacts; one that does not resolve keeps its name as
 * text, so the slot exists and a later resolution can fill it.  Whenever
 * the core opens a stream to a seed (its join attempts with back-off, and
 * its periodic reconnects), the name is resolved again with
 * uv_getaddrinfo (off the loop); a changed address goes into the core with
 * grove_member_set_seed and is used from the next contact on.  So a seed
 * whose DNS name moves, or that did not exist yet at start, is found
 * without a restart.
 *
 * Failures (no resolution, connection refused or timed out, handshake
 * refused) are remembered per seed; while this node sees no other member
 * alive for SEED_WARN_AFTER_MS, a WARN names every seed and its last cause,
 * again every SEED_WARN_EVERY_MS.  Cost: O(seeds) per pump, seeds <=
 * GROVE_SEEDS_MAX.
 */
#include "node/cluster_int.h"

#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SEED_WARN_AFTER_MS 10000
#define SEED_WARN_EVERY_MS 30000

/* "ip:port" of the first address in ai ("[ip]:port" for IPv6). */
static void numeric(const struct addrinfo *ai, uint16_t port, char *out, size_t cap)
{
	char ip[64] = "";
	if (ai->ai_family == AF_INET6)
		uv_ip6_name((const struct sockaddr_in6 *)ai->ai_addr, ip, sizeof(ip));
	else
		uv_ip4_name((const struct sockaddr_in *)ai->ai_addr, ip, sizeof(ip));
	snprintf(out, cap, ai->ai_family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip, port);
}

size_t grove_cluster_seeds_init(grove_cluster_t *mn, const grove_config_t *cfg)
{
	mn->seed_family = strchr(cfg->gossip.host, ':') ? AF_INET6 : AF_INET;
	for (size_t i = 0; i < cfg->seed_count; i++) {
		cseed_t *sd = &mn->seed_state[i];
		char port[8];
		sd->name = cfg->seeds[i];
		sd->mn = mn;
		sd->index = i;
		snprintf(port, sizeof(port), "%u", sd->name.port);
		struct addrinfo hints = {.ai_family = mn->seed_family, .ai_socktype = SOCK_DGRAM}, *ai = NULL;
		int rc = getaddrinfo(sd->name.host, port, &hints, &ai);
		if (rc != 0 || !ai) {
			grove_hostport_format(&sd->name, mn->seeds[i], sizeof(mn->seeds[i]));
			snprintf(sd->cause, sizeof(sd->cause), "cannot resolve: %s", gai_strerror(rc));
			grove_log_warn(mn->log, "seed %s: %s; resolved again at every contact", mn->seeds[i],
				       sd->cause);
		} else {
			numeric(ai, sd->name.port, mn->seeds[i], sizeof(mn->seeds[i]));
		}
		if (ai)
			freeaddrinfo(ai);
		mn->seed_ptrs[i] = mn->seeds[i];
	}
	mn->seed_count = cfg->seed_count;
	return mn->seed_count;
}

static cseed_t *seed_at(grove_cluster_t *mn, const char *addr)
{
	for (size_t i = 0; i < mn->seed_count; i++)
		if (strcmp(mn->seeds[i], addr) == 0)
			return &mn->seed_state[i];
	return NULL;
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	cseed_t *sd = req->data;
	grove_cluster_t *mn = sd->mn;
	sd->resolving = false;
	mn->resolving--;
	if (mn->closing) {
		uv_freeaddrinfo(res);
		grove_cluster__handle_done(mn);
		return;
	}
	char now[GROVE_MEMBER_ADDR_MAX + 1], name[GROVE_HOST_MAX + 8];
	grove_hostport_format(&sd->name, name, sizeof(name));
	if (status < 0 || !res) {
		snprintf(sd->cause, sizeof(sd->cause), "cannot resolve: %s", uv_strerror(status));
	} else {
		numeric(res, sd->name.port, now, sizeof(now));
		if (strcmp(now, mn->seeds[sd->index]) != 0 && grove_member_set_seed(mn->m, sd->index, now) == 0) {
			grove_log_info(mn->log, "seed %s: now resolves to %s (was %s)", name, now,
				       mn->seeds[sd->index]);
			snprintf(mn->seeds[sd->index], sizeof(mn->seeds[sd->index]), "%s", now);
		}
	}
	uv_freeaddrinfo(res);
}

void grove_cluster_seed_contact(grove_cluster_t *mn, const char *addr)
{
	cseed_t *sd = seed_at(mn, addr);
	if (!sd || sd->resolving || mn->closing)
		return;
	char port[8];
	snprintf(port, sizeof(port), "%u", sd->name.port);
	struct addrinfo hints = {.ai_family = mn->seed_family, .ai_socktype = SOCK_DGRAM};
	sd->req.data = sd;
	int rc = uv_getaddrinfo(mn->loop, &sd->req, on_resolved, sd->name.host, port, &hints);
	if (rc < 0) {
		snprintf(sd->cause, sizeof(sd->cause), "cannot resolve: %s", uv_strerror(rc));
		return;
	}
	sd->resolving = true;
	mn->resolving++;
}

void grove_cluster_seed_failed(grove_cluster_t *mn, const char *addr, const char *fmt, ...)
{
	cseed_t *sd = seed_at(mn, addr);
	if (!sd)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sd->cause, sizeof(sd->cause), fmt, ap);
	va_end(ap);
}

void grove_cluster_seed_reached(grove_cluster_t *mn, const char *addr)
{
	cseed_t *sd = seed_at(mn, addr);
	if (sd)
		sd->cause[0] = '\0';
}

void grove_cluster_seeds_watch(grove_cluster_t *mn, uint64_t now_ms)
{
	size_t others = 0;
	for (size_t i = 0; i < mn->seed_count; i++)
		others += strcmp(mn->seeds[i], mn->addr) != 0;
	bool alone = others > 0 && grove_member_count_state(mn->m, GROVE_MEMBER_ALIVE) +
					   grove_member_count_state(mn->m, GROVE_MEMBER_SUSPECT) <= 1;
	if (!alone) {
		mn->alone_since_ms = 0;
		return;
	}
	if (mn->alone_since_ms == 0)
		mn->alone_since_ms = now_ms;
	if (now_ms - mn->alone_since_ms < SEED_WARN_AFTER_MS ||
	    (mn->seed_warned_ms != 0 && now_ms - mn->seed_warned_ms < SEED_WARN_EVERY_MS))
		return;
	mn->seed_warned_ms = now_ms;
	char text[1024];
	size_t len = 0;
	for (size_t i = 0; i < mn->seed_count && len < sizeof(text); i++) {
		if (strcmp(mn->seeds[i], mn->addr) == 0)
			continue;
		char name[GROVE_HOST_MAX + 8];
		const cseed_t *sd = &mn->seed_state[i];
		grove_hostport_format(&sd->name, name, sizeof(name));
		int n = snprintf(text + len, sizeof(text) - len, "%s%s%s%s: %s", len ? "; " : "", name,
				 strcmp(name, mn->seeds[i]) ? " = " : "", strcmp(name, mn->seeds[i]) ? mn->seeds[i] : "",
				 sd->cause[0] ? sd->cause : "no answer yet (no error seen)");
		len += n > 0 ? (size_t)n : 0;
	}
	grove_log_warn(mn->log, "membership: no seed reached for %llu s, this node is alone: %s",
		       (unsigned long long)((now_ms - mn->alone_since_ms) / 1000), text);
}

int grove_cluster_seeds_close(grove_cluster_t *mn)
{
	for (size_t i = 0; i < mn->seed_count; i++)
		if (mn->seed_state[i].resolving)
			uv_cancel((uv_req_t *)&mn->seed_state[i].req);
	return mn->resolving;
}
