#!/bin/bash
# test_cluster_tool.sh - tools/cluster itself.
#  1. Process management on a one-node cluster (needs only groved): up
#     prints "id client gossip pid datadir", status/ports/pid, kill -9 and
#     start keep the data, stop (SIGTERM) exits, down, clean; an up that
#     fails (a port taken) stops the nodes it had started.
#  2. The network rules (root): on a three-node layout, a small C probe
#     (compiled at run time) sends UDP datagrams and opens TCP connections
#     from one node address to another: `partition "1|2,3"` must cut 1<->2
#     and 1<->3 both ways for both protocols, and leave 2<->3 and clients
#     from 127.0.0.1 alone; `loss 50 2` must drop about half of the
#     datagrams to node 2 and none elsewhere; `heal` and `down` remove the
#     tables.
set -uo pipefail
source "$(dirname "$0")/util_cluster.sh"

require_binaries
t_init
checks=0
ok() { checks=$((checks + 1)); }

# 1. Process management.
out=$(cluster up 1 -- "${FAST_FLAGS[@]}") || fail "up 1: $out"
read -r id client gossip pid data <<<"$out"
[[ $id == node1 && $client == "$GROVE_CLUSTER_NET.11:7379" && $gossip == "$GROVE_CLUSTER_NET.11:7946" &&
	-d $data && $pid =~ ^[0-9]+$ ]] || fail "up printed '$out'"; ok
[[ $(cluster status) == "node1 $client $gossip $pid running alive=1" ]] || fail "status: $(cluster status)"; ok
[[ $(cluster ports) == "$client" && $(cluster pid 1) == "$pid" && $(cluster running) == 1 ]] || fail "ports/pid/running"; ok
[[ $(cli 1 INCRBY tool:c 5) == 5 ]] || fail "INCRBY"; ok
cluster kill 1 >/dev/null || fail "kill 1"
[[ -z $(cluster running) ]] || fail "node 1 survived kill"; ok
[[ $(cluster status) == *" stopped -" ]] || fail "status after kill: $(cluster status)"; ok
cluster start 1 >/dev/null || fail "start 1"
[[ $(cli 1 INCRBY tool:c 1) == 6 ]] || fail "counter lost across kill -9 + start"; ok

cluster stop 1 >/dev/null || fail "stop 1"
[[ -z $(cluster running) ]] || fail "node 1 survived SIGTERM"; ok
grep -q "start:" "$(cluster dir 1)/groved.log" || fail "no groved.log"; ok
cluster start 1 >/dev/null && cluster down >/dev/null || fail "start, down"
[[ -z $(cluster running) ]] || fail "down left nodes running"; ok
cluster clean >/dev/null && [[ ! -e $GROVE_CLUSTER_DIR ]] || fail "clean left $GROVE_CLUSTER_DIR"; ok

# A failed up (node 2's client port taken by another server, which answers
# PING too) stops the nodes it had started.
if command -v redis-server >/dev/null; then
	redis-server --bind "$GROVE_CLUSTER_NET.12" --port 7379 --save '' --appendonly no >/dev/null 2>&1 &
	T_BG_PIDS+=($!)
	deadline=$(($(now_ms) + 10000))
	until [[ $(redis-cli -h "$GROVE_CLUSTER_NET.12" -p 7379 PING 2>/dev/null) == PONG ]]; do
		(($(now_ms) < deadline)) || fail "redis-server did not start"
		sleep 0.05
	done
	out=$(cluster up 3 -- "${FAST_FLAGS[@]}" 2>&1) && fail "up 3 with a port taken succeeded: $out"
	[[ $out == *"node 2 did not start; stopped the nodes it had started"* ]] || fail "failed up said: $out"; ok
	[[ -z $(cluster running) ]] || fail "a failed up left nodes running: $(cluster running)"; ok
	kill "${T_BG_PIDS[-1]}" && wait "${T_BG_PIDS[-1]}" 2>/dev/null
	cluster clean >/dev/null || fail "clean after a failed up"
fi
say "process management: $checks checks"

# 2. nftables rules.
[[ $EUID -eq 0 ]] && command -v nft >/dev/null && nft list tables >/dev/null 2>&1 ||
	skip "process management passed ($checks checks); the partition/loss rules need root and nftables"
command -v cc >/dev/null || skip "process management passed ($checks checks); the rule probe needs cc"
cat >"$T_TMP/probe.c" <<'CEOF'
/* probe udp SRC DST PORT N: send N datagrams SRC -> DST:PORT, print how many
 * arrived.  probe tcp SRC DST PORT: print "open" if a connection from SRC to
 * DST:PORT is accepted within 300 ms, else "cut". */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
static int sock(int type, const char *host, int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	int one = 1, fd = socket(AF_INET, type, 0);
	inet_pton(AF_INET, host, &a.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0) { perror("bind"); exit(1); }
	return fd;
}
int main(int argc, char **argv)
{
	if (argc < 5) return 2;
	int port = atoi(argv[4]);
	struct sockaddr_in d = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	inet_pton(AF_INET, argv[3], &d.sin_addr);
	if (strcmp(argv[1], "udp") == 0 && argc == 6) {
		int r = sock(SOCK_DGRAM, argv[3], port), s = sock(SOCK_DGRAM, argv[2], 0), n = atoi(argv[5]), got = 0;
		char b[64];
		for (int i = 0; i < n; i++) {
			sendto(s, "x", 1, 0, (struct sockaddr *)&d, sizeof(d));
			struct pollfd p = {.fd = r, .events = POLLIN};
			while (poll(&p, 1, 0) > 0 && recv(r, b, sizeof(b), 0) > 0) got++;
		}
		struct pollfd p = {.fd = r, .events = POLLIN};
		while (poll(&p, 1, 200) > 0 && recv(r, b, sizeof(b), 0) > 0) got++;
		printf("%d\n", got);
		return 0;
	}
	if (strcmp(argv[1], "tcp") == 0) {
		int l = sock(SOCK_STREAM, argv[3], port), c = sock(SOCK_STREAM, argv[2], 0);
		listen(l, 4);
		fcntl(c, F_SETFL, O_NONBLOCK);
		connect(c, (struct sockaddr *)&d, sizeof(d));
		struct pollfd p = {.fd = l, .events = POLLIN};
		puts(poll(&p, 1, 300) > 0 ? "open" : "cut");
		return 0;
	}
	return 2;
}
CEOF
cc -std=c11 -O2 -o "$T_TMP/probe" "$T_TMP/probe.c" || fail "cannot build the probe"
# A three-node layout with no processes: the rules only need the addresses.
N=$GROVE_CLUSTER_NET
mkdir -p "$GROVE_CLUSTER_DIR"
tag=grove_test_$$
printf 'NODES=3\nLAYOUT=net\nNET=%s\nHOST=\nCLIENT_PORT=7379\nGOSSIP_PORT=7946\nDURABILITY=\nTAG=%s\nEXTRA=()\n' "$N" "$tag" \
	>"$GROVE_CLUSTER_DIR/cluster.env"
P=$T_TMP/probe
udp() { "$P" udp "$N.$((10 + $1))" "$N.$((10 + $2))" 7946 "${3:-50}"; }
tcp() { "$P" tcp "$N.$((10 + $1))" "$N.$((10 + $2))" 7946; }
[[ $(udp 1 2) == 50 && $(tcp 1 2) == open ]] || fail "no connectivity before any rule"; ok
cluster partition "1|2,3" >/dev/null || fail "partition"
for pair in "1 2" "2 1" "1 3" "3 1"; do
	[[ $(udp $pair) == 0 && $(tcp $pair) == cut ]] || fail "partition does not cut $pair"; ok
done
for pair in "2 3" "3 2"; do
	[[ $(udp $pair) == 50 && $(tcp $pair) == open ]] || fail "partition cuts $pair inside a group"; ok
done
[[ $("$P" tcp 127.0.0.1 "$N.11" 7379) == open ]] || fail "partition cuts clients from 127.0.0.1"; ok
(($(cluster dropped | awk '$1 == "partition" { print $2 }') > 0)) || fail "dropped counts nothing"; ok
cluster heal >/dev/null || fail "heal"
[[ $(udp 1 2) == 50 && $(tcp 2 1) == open ]] || fail "heal did not restore 1<->2"; ok
cluster loss 50 2 >/dev/null || fail "loss 50 2"
got=$(udp 1 2 2000)
((got > 800 && got < 1200)) || fail "loss 50 at node 2: $got of 2000 datagrams arrived"; ok
[[ $(udp 2 3 200) == 200 && $(udp 2 1 200) == 200 ]] || fail "loss at node 2 hit other nodes"; ok
[[ $(tcp 1 2) == open ]] || fail "loss (datagrams only) cut TCP"; ok
cluster down >/dev/null
! grep -q "$tag" <<<"$(nft list tables)" || fail "down left nftables tables: $(nft list tables | grep "$tag")"; ok
say "PASS: $checks checks (process management, partition, heal, loss $got/2000 arrived at 50%, down)"
