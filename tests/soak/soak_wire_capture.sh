#!/bin/bash
# soak_wire_capture.sh - nothing written crosses the gossip network in
# clear, on real groved processes.  tcpdump captures every packet of a
# three-node cluster's private address range on the loopback device while
# clients write distinctive keys and values (plain SET, a hash, a set) and
# the cluster converges; then every packet that is not client traffic
# (port 7379: gossip datagrams and the encrypted streams, both ways) must
# hold none of the written bytes.  Control: the client traffic itself
# (plain RESP on this port) does show them, so the search can fail.
# Needs root (tcpdump on lo) and tcpdump (make deps installs it).  In make
# soak, not make test: about 30 s on a loaded 2-core machine; make test
# runs the in-process capture (tests/test_sim.c, nothing_in_clear).
set -uo pipefail
source "$(dirname "$0")/../proc/util_cluster.sh"

require_binaries
[[ $EUID -eq 0 ]] || skip "needs root to capture on the loopback device"
command -v tcpdump >/dev/null || fail "tcpdump missing: run make deps (tools/deps.sh installs it)"
t_init

tag=$(printf '%04x%04x' $RANDOM $RANDOM)
tcpdump -i lo -U -s 0 -w "$T_TMP/all.pcap" "net $GROVE_CLUSTER_NET.0/24" >"$T_TMP/tcpdump.out" 2>&1 &
dump=$!
T_BG_PIDS+=("$dump")
deadline=$(($(now_ms) + 5000))
until grep -q "listening on" "$T_TMP/tcpdump.out"; do
	(($(now_ms) < deadline)) || fail "tcpdump did not start: $(cat "$T_TMP/tcpdump.out")"
	sleep 0.05
done

up_or_skip 3 -- "${FAST_FLAGS[@]}"
require_anti_entropy
: >"$T_TMP/secrets"
for ((k = 0; k < 12; k++)); do
	n=$((k % 3 + 1))
	key="wirekey:$tag:$k" val="wirevalue-$tag-$k"
	[[ $(cli "$n" SET "$key" "$val") == OK ]] || fail "SET $key on node $n"
	printf '%s\n%s\n' "$key" "$val" >>"$T_TMP/secrets"
done
[[ $(cli 2 HSET "wirehash:$tag" "wirefield-$tag" "wirehval-$tag") == 1 ]] || fail "HSET"
[[ $(cli 3 SADD "wireset:$tag" "wiremember-$tag") == 1 ]] || fail "SADD"
printf '%s\n' "wirehash:$tag" "wirefield-$tag" "wirehval-$tag" "wireset:$tag" "wiremember-$tag" >>"$T_TMP/secrets"
conv=$(cluster wait-converged --timeout 60) || fail "the cluster did not converge"
for ((n = 1; n <= 3; n++)); do
	[[ $(cli "$n" GET "wirekey:$tag:0") == "wirevalue-$tag-0" ]] || fail "node $n lacks the first key"
	[[ $(cli "$n" SISMEMBER "wireset:$tag" "wiremember-$tag") == 1 ]] || fail "node $n lacks the set member"
done
say "$conv"
kill -INT "$dump"
wait "$dump" 2>/dev/null

tcpdump -r "$T_TMP/all.pcap" -w "$T_TMP/gossip.pcap" "not port 7379" 2>/dev/null || fail "tcpdump -r (gossip)"
tcpdump -r "$T_TMP/all.pcap" -w "$T_TMP/client.pcap" "port 7379" 2>/dev/null || fail "tcpdump -r (client)"
udp=$(tcpdump -r "$T_TMP/gossip.pcap" udp 2>/dev/null | wc -l)
tcp=$(tcpdump -r "$T_TMP/gossip.pcap" "tcp and greater 100" 2>/dev/null | wc -l)
((udp > 50)) || fail "only $udp gossip datagrams captured"
((tcp > 0)) || fail "no gossip stream data captured"
in_client=$(grep -a -c -F -f "$T_TMP/secrets" "$T_TMP/client.pcap")
in_gossip=$(grep -a -o -F -f "$T_TMP/secrets" "$T_TMP/gossip.pcap" | sort | uniq -c)
say "captured $udp gossip datagrams, $tcp gossip stream segments with data; written bytes found in client traffic: $in_client lines, in gossip traffic: ${in_gossip:-none}"
((in_client > 0)) || fail "control: the written keys are not even in the client traffic (capture broken?)"
[[ -z $in_gossip ]] || fail "written keys or values in clear on the gossip network: $in_gossip"
echo "$T_NAME: OK"
