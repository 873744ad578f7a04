#!/bin/bash
# test_cluster_hostile.sh - hostile traffic at the gossip port.
# A small C sender (below, compiled with cc at run time) first captures real
# signed datagrams that nodes 1 and 2 send to the address of node 3 while it
# is down; once node 3 is back, it sends thousands of datagrams to every
# node (random, oversize, empty, and the captured ones truncated, with one
# bit flipped, and replayed as they are) and opens connections of junk
# stream frames, while a client keeps INCRementing a counter on node 1.
# Part 1 does the same (without captured datagrams) to a lone node.
# Then: every node still runs, its INFO drop counters (gossip_dropped,
# dropped_by_security, dropped_malformed) rose by at least 90% of the
# random, oversize, truncated and forged datagrams sent to it (less those
# the kernel dropped for a full receive buffer, which never reached it), the
# membership is unchanged (three alive, no phantom member), and every INCR
# was acknowledged and counted.  Env: DATAGRAMS per node (3000).
set -uo pipefail
source "$(dirname "$0")/util_cluster.sh"

DATAGRAMS=${DATAGRAMS:-3000}
# INFO fields counting dropped datagrams (socket level, security, decode).
DROPS='^(gossip_dropped|dropped_by_security|dropped_malformed)$'

require_binaries
command -v cc >/dev/null || skip "needs a C compiler (cc) for the hostile sender"
t_init
cat >"$T_TMP/hostile.c" <<'CEOF'
/* hostile.c - hostile gossip traffic for test_cluster_hostile.sh.
 *   hostile capture HOST PORT MS MAX FILE  receive real datagrams sent to a
 *                                          dead node's address into FILE
 *                                          (for MS, or 5 x MS if none came),
 *                                          binding once the node is gone
 *   hostile udp HOST PORT FILE COUNT SEED  send COUNT datagrams: random,
 *                                          oversize, empty, and the captured
 *                                          ones truncated, bit-flipped, replayed
 *   hostile tcp HOST PORT COUNT SEED       COUNT connections of junk frames
 * Prints what it sent per kind. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CAP_MAX 256
#define DGRAM_MAX 9000

static uint8_t cap[CAP_MAX][1500];
static size_t cap_len[CAP_MAX];
static size_t cap_n;
static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return rng;
}

static int addr_of(const char *host, const char *port, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(port));
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

static int capture(struct sockaddr_in *sa, int ms, int max, const char *file)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0), n = 0;
	FILE *f = fopen(file, "wb");
	uint8_t buf[65536];
	struct timespec t0, t;
	if (fd < 0 || !f) {
		perror("capture");
		return 1;
	}
	/* Started while the node still holds the port: bind the moment its
	 * process is gone (up to 30 s), so that the probes of a suspect are
	 * caught however long the kill took on a loaded machine. */
	fprintf(stderr, "ready\n");
	for (int i = 0; bind(fd, (struct sockaddr *)sa, sizeof(*sa)) < 0; i++) {
		if (errno != EADDRINUSE || i >= 30000) {
			perror("capture: bind");
			return 1;
		}
		usleep(1000);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		/* Up to 5 x MS while nothing came (a loaded machine probes late). */
		long left = (n == 0 ? 5L * ms : ms) - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (left <= 0 || n >= max || poll(&p, 1, (int)left) <= 0)
			break;
		ssize_t r = recv(fd, buf, sizeof(buf), 0);
		if (r <= 0 || r > 1500)
			continue;
		uint16_t len = (uint16_t)r;
		fwrite(&len, 2, 1, f);
		fwrite(buf, 1, (size_t)r, f);
		n++;
	}
	fclose(f);
	printf("captured %d\n", n);
	return 0;
}

static void load(const char *file)
{
	FILE *f = fopen(file, "rb");
	uint16_t len;
	while (f && cap_n < CAP_MAX && fread(&len, 2, 1, f) == 1 && len <= 1500 &&
	       fread(cap[cap_n], 1, len, f) == len)
		cap_len[cap_n++] = len;
	if (f)
		fclose(f);
}

static int udp(struct sockaddr_in *sa, const char *file, long count)
{
	static uint8_t buf[DGRAM_MAX];
	long sent[6] = {0};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	load(file);
	for (long i = 0; i < count; i++) {
		int kind = (int)(rnd() % (cap_n ? 6 : 3));
		size_t len = 0, k = cap_n ? rnd() % cap_n : 0;
		switch (kind) {
		case 0: len = rnd() % 1400; break;                      /* random */
		case 1: len = 1401 + rnd() % (DGRAM_MAX - 1401); break; /* oversize */
		case 2: len = 0; break;                                 /* empty */
		case 3: len = cap_len[k] ? rnd() % cap_len[k] : 0;      /* truncated */
			memcpy(buf, cap[k], len); break;
		case 4: len = cap_len[k]; memcpy(buf, cap[k], len);     /* forged */
			if (len) buf[rnd() % len] ^= (uint8_t)(1u << (rnd() % 8));
			break;
		case 5: len = cap_len[k]; memcpy(buf, cap[k], len); break; /* replayed */
		}
		if (kind < 2)
			for (size_t j = 0; j < len; j++)
				buf[j] = (uint8_t)rnd();
		if (sendto(fd, buf, len, 0, (struct sockaddr *)sa, sizeof(*sa)) >= 0)
			sent[kind]++;
		if (i % 16 == 15)
			usleep(1000); /* stay under the receiver's socket buffer */
	}
	printf("random %ld oversize %ld empty %ld truncated %ld forged %ld replayed %ld\n",
	       sent[0], sent[1], sent[2], sent[3], sent[4], sent[5]);
	return 0;
}

static int tcp(struct sockaddr_in *sa, long count)
{
	static uint8_t buf[8192];
	long done = 0;
	for (long i = 0; i < count; i++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || connect(fd, (struct sockaddr *)sa, sizeof(*sa)) < 0) {
			if (fd >= 0)
				close(fd);
			continue;
		}
		size_t len = 1 + rnd() % sizeof(buf);
		for (size_t j = 0; j < len; j++)
			buf[j] = (uint8_t)rnd();
		if (i % 4 == 0)
			memset(buf, 0xff, 8); /* a frame claiming a huge length */
		(void)!write(fd, buf, len);
		close(fd);
		done++;
	}
	printf("tcp connections %ld\n", done);
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa;
	if (argc < 6 || addr_of(argv[2], argv[3], &sa) < 0) {
		fprintf(stderr, "usage: see the comment in hostile.c\n");
		return 2;
	}
	if (strcmp(argv[1], "capture") == 0 && argc == 7)
		return capture(&sa, atoi(argv[4]), atoi(argv[5]), argv[6]);
	if (strcmp(argv[1], "udp") == 0 && argc == 7) {
		rng = strtoull(argv[6], NULL, 10) * 2654435761u + 1;
		return udp(&sa, argv[4], atol(argv[5]));
	}
	if (strcmp(argv[1], "tcp") == 0 && argc == 6) {
		rng = strtoull(argv[5], NULL, 10) * 2654435761u + 1;
		return tcp(&sa, atol(argv[4]));
	}
	fprintf(stderr, "hostile: bad arguments\n");
	return 2;
}
CEOF
cc -std=c11 -O2 -o "$T_TMP/hostile" "$T_TMP/hostile.c" || fail "cannot build the hostile sender"

incr_loop() { # until the stop file exists; the count of acknowledged INCRs -> incr
	local ok=0
	while [[ ! -e $T_TMP/stop ]]; do
		[[ $(cli 1 INCR hostile:c) =~ ^[0-9]+$ ]] && ok=$((ok + 1))
	done
	echo "$ok" >"$T_TMP/incr"
}

# attack NODES...: hostile datagrams and junk streams at every given node
# while node 1 serves INCRs; then each node runs, answers, and counted drops;
# node 1 counted every acknowledged INCR.  Adds to SENT.
attack() {
	local n d ipid deadline kdrop0 kdrop pids=()
	declare -A drop0
	for n in "$@"; do drop0[$n]=$(info_sum "$n" "$DROPS"); done
	kdrop0=$(udp_rcvbuf_errors)
	rm -f "$T_TMP/stop"
	cli 1 DEL hostile:c >/dev/null
	incr_loop &
	ipid=$!
	T_BG_PIDS+=("$ipid")
	for n in "$@"; do
		"$T_TMP/hostile" udp "$GROVE_CLUSTER_NET.$((10 + n))" 7946 "$T_TMP/cap" "$DATAGRAMS" "$((T_SEED + n))" >"$T_TMP/udp.$n" &
		pids+=($!)
		"$T_TMP/hostile" tcp "$GROVE_CLUSTER_NET.$((10 + n))" 7946 100 "$((T_SEED + n))" >"$T_TMP/tcp.$n" &
		pids+=($!)
	done
	wait "${pids[@]}"
	touch "$T_TMP/stop"
	wait "$ipid"
	for n in "$@"; do
		grep -qx "$n" <<<"$(cluster running)" || fail "node $n died: $(cluster status | tr "\n" ";")"
		[[ $(cli "$n" PING) == PONG ]] || fail "node $n does not answer PING"
	done
	# Drops are counted on the event loop: wait (bounded) for the counters.
	deadline=$(($(now_ms) + 10000))
	for n in "$@"; do
		# Every datagram but the replayed ones must be counted (empty ones too).
		want=$(awk '{ print int(0.9 * ($2 + $4 + $6 + $8 + $10)) }' "$T_TMP/udp.$n")
		# Datagrams the kernel dropped (receive buffer full on a busy
		# machine) never reached a node: they count towards every node.
		kdrop=$(($(udp_rcvbuf_errors) - kdrop0))
		while d=$(($(info_sum "$n" "$DROPS") - drop0[$n])); ((d + kdrop < want)); do
			(($(now_ms) < deadline)) || fail "node $n: INFO drop counters rose by $d, the kernel dropped $kdrop (RcvbufErrors), want >= $want together (90% of the random, oversize, empty, truncated and forged datagrams sent: $(cat "$T_TMP/udp.$n"))"
			sleep 0.2
		done
		say "node $n: sent $(cat "$T_TMP/udp.$n"); $(cat "$T_TMP/tcp.$n"); drops counted +$d (kernel receive-buffer drops in this namespace: $kdrop)"
	done
	INCRS=$(cat "$T_TMP/incr")
	((INCRS > 0)) || fail "no INCR acknowledged during the attack"
	[[ $(cli 1 GET hostile:c) == "$INCRS" ]] || fail "hostile:c = $(cli 1 GET hostile:c), want $INCRS"
	SENT=$((SENT + $# * DATAGRAMS))
}

# udp_rcvbuf_errors: the kernel's count of datagrams dropped for a full
# socket receive buffer (in this network namespace, /proc/net/snmp).
udp_rcvbuf_errors() {
	awk '$1 == "Udp:" && $2 ~ /^[0-9]+$/ { print $6; exit }' /proc/net/snmp
}

# 1. A lone node: random, oversize and empty datagrams, junk streams.
SENT=0
: >"$T_TMP/cap"
cluster up 1 -- "${FAST_FLAGS[@]}" >/dev/null || fail "cluster up 1"
attack 1
say "lone node: $DATAGRAMS datagrams, 100 junk connections, $INCRS INCRs counted"
cluster clean >/dev/null

# 2. Three nodes, with real datagrams captured, then truncated, forged, replayed.
SKIP_NOTE="part 1 passed (a lone node took $SENT hostile datagrams and 100 junk connections); part 2: "
up_or_skip 3 -- "${FAST_FLAGS[@]}"
"$T_TMP/hostile" capture "$GROVE_CLUSTER_NET.13" 7946 3000 64 "$T_TMP/cap" >"$T_TMP/cap.txt" 2>"$T_TMP/cap.err" &
cap_pid=$!
deadline=$((SECONDS + 20))
until grep -q ready "$T_TMP/cap.err"; do
	((SECONDS < deadline)) || fail "capture did not start: $(cat "$T_TMP/cap.err")"
	sleep 0.02
done
cluster kill 3 >/dev/null || fail "kill 3"
wait "$cap_pid" || fail "capture: $(cat "$T_TMP/cap.err")"
say "$(cat "$T_TMP/cap.txt") real datagrams addressed to node 3"
[[ $(cat "$T_TMP/cap.txt") != "captured 0" ]] || fail "nodes 1, 2 sent nothing to the dead node 3 in 15 s (no probes of a suspect?)"
cluster start 3 >/dev/null || fail "node 3 did not rejoin"
attack 1 2 3
cluster wait-members --timeout 20 || fail "membership disturbed"
for n in 1 2 3; do
	m=$(members "$n")
	[[ $(wc -l <<<"$m") == 3 && $(grep -c ' alive$' <<<"$m") == 3 ]] || fail "node $n members: $m"
done
say "PASS: $SENT hostile datagrams and 400 junk connections; nodes up, members intact, every INCR counted"
