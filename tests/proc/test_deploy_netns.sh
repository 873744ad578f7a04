#!/bin/bash
# test_deploy_netns.sh - README's "Deploy on several hosts", run as written
# on three hosts made of network namespaces.  Builds namespaces h1..h3 with
# the README's addresses (192.0.2.11..13/24) on veth pairs whose other ends
# sit on a bridge in a fourth namespace (the "switch"), makes the key sets
# with the README's commands, starts one groved per namespace from the
# README's config file for that host (only --data, the test timers and a
# log file added as flags: flags win over the file).  Checks: the wildcard
# gossip address is advertised as the host's own address (never 0.0.0.0);
# all three alive in every view; a write converges everywhere; taking host
# 3's link down partitions it (both sides see the other dead, both take
# writes); bringing it up heals (members alive, the writes of both sides
# everywhere).  Then seed names: a fourth node (host 3, port 7947) whose
# only seed is a name its resolver does not know yet (the namespace's
# /etc/netns/NAME/hosts) logs that it cannot resolve it, and joins once
# the name is added - without a restart, since seeds are resolved again at
# every contact.  Needs root (ip netns); iproute2 comes from make deps.
set -uo pipefail
source "$(dirname "$0")/util_cluster.sh"
source "$(dirname "$0")/readme_lib.sh"

require_binaries
[[ $EUID -eq 0 ]] || skip "needs root to create network namespaces"
command -v ip >/dev/null || fail "ip missing: run make deps (iproute2)"
t_init

tag=$$
SW=gsw$tag
PASS="use a long random password"
NS=()
PIDS=()
netns_cleanup() {
	local p n
	for p in "${PIDS[@]+"${PIDS[@]}"}"; do kill -9 "$p" 2>/dev/null; done
	for p in "${PIDS[@]+"${PIDS[@]}"}"; do wait "$p" 2>/dev/null; done
	for n in "${NS[@]+"${NS[@]}"}" "$SW"; do ip netns del "$n" 2>/dev/null; done
	if [[ -n ${HOSTS_DIR:-} ]]; then rm -rf "$HOSTS_DIR"; rmdir /etc/netns 2>/dev/null; fi
}
trap 'rc=$?; netns_cleanup; (exit $rc); t_cleanup' EXIT

ip netns add "$SW" || skip "cannot create network namespaces here"
ip -n "$SW" link add br0 type bridge && ip -n "$SW" link set br0 up || fail "bridge"
for i in 1 2 3; do
	ns=gh$i.$tag
	NS+=("$ns")
	ip netns add "$ns" || fail "netns $ns"
	ip link add "v$i.$tag" netns "$ns" type veth peer name "p$i" netns "$SW" || fail "veth $i"
	ip -n "$ns" link set "v$i.$tag" name eth0
	ip -n "$ns" addr add "192.0.2.1$i/24" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" link set lo up
	ip -n "$SW" link set "p$i" master br0
	ip -n "$SW" link set "p$i" up
done
say "namespaces ${NS[*]} on bridge $SW: 192.0.2.11-13/24"

# keys, as the README makes them (grove from bin/)
cd "$T_TMP" || fail "cd"
while read -r line; do
	eval "${line/#grove /$GROVE }" >/dev/null || fail "README deploy-keys: $line"
done < <(readme_commands deploy-keys)
for i in 1 2 3; do
	readme_block "deploy-node-$i" >"$T_TMP/host$i.conf"
	grep -q "^gossip = 0.0.0.0:7946" "$T_TMP/host$i.conf" || fail "README config $i lost its wildcard gossip line"
	ip netns exec "${NS[i - 1]}" "$GROVED" --config "$T_TMP/host$i.conf" --data "$T_TMP/node-$i" \
		--log-file "$T_TMP/host$i.log" "${FAST_FLAGS[@]}" &
	PIDS+=($!)
done

ncli() { # ncli I ARGS: redis-cli inside host I against its own address
	local i=$1
	shift
	timeout 5 ip netns exec "${NS[i - 1]}" redis-cli -h "192.0.2.1$i" -p 7379 --no-auth-warning -a "$PASS" "$@" 2>/dev/null
}
# view I: "id addr state" per member
view() { ncli "$1" GROVE MEMBERS | awk 'NR % 4 == 1 { id = $0 } NR % 4 == 2 { a = $0 } NR % 4 == 3 { print id, a, $0 }'; }
# until_ok SECONDS WHAT CMD...: poll CMD until it succeeds
until_ok() {
	local s=$1 what=$2 deadline
	shift 2
	deadline=$(($(now_ms) + s * 1000))
	until "$@"; do
		(($(now_ms) < deadline)) || fail "$what not within $s s"
		sleep 0.1
	done
}
all_alive() {
	local i
	for i in 1 2 3; do [[ $(view "$i" | grep -c ' alive$') == 3 ]] || return 1; done
}
holds() { # holds KEY VALUE NODES...
	local k=$1 v=$2 i
	shift 2
	for i in "$@"; do [[ $(ncli "$i" GET "$k") == "$v" ]] || return 1; done
}
state_of() { view "$1" | awk -v id="$2" '$1 == id { print $3 }'; }

t0=$(now_ms)
until_ok 20 "three members alive in every view" all_alive
say "membership formed in $(($(now_ms) - t0)) ms; node-1's view:"
view 1 | sed 's/^/    /'
view 1 | grep -q "0\.0\.0\.0" && fail "a node is advertised as 0.0.0.0"
v2=$(view 2)
for i in 1 2 3; do
	[[ $(awk -v id="node-$i" '$1 == id { print $2 }' <<<"$v2") == "192.0.2.1$i:7946" ]] ||
		fail "node-$i is not known at 192.0.2.1$i:7946: $(tr '\n' ';' <<<"$v2")"
	grep -q "advertising 192.0.2.1$i:7946" "$T_TMP/host$i.log" || fail "host $i did not log its derived address"
done

[[ $(ncli 1 SET deploy:a one) == OK ]] || fail "SET on host 1"
t0=$(now_ms)
until_ok 10 "the write on host 1 everywhere" holds deploy:a one 2 3
say "a write on host 1 reached hosts 2 and 3 in $(($(now_ms) - t0)) ms"

ip -n "$SW" link set p3 down
t0=$(now_ms)
until_ok 30 "hosts 1 and 2 see node-3 dead" eval '[[ $(state_of 1 node-3) == dead && $(state_of 2 node-3) == dead ]]'
until_ok 30 "host 3 sees the others dead" eval '[[ $(state_of 3 node-1) == dead && $(state_of 3 node-2) == dead ]]'
say "partition (host 3's link down) seen on both sides in $(($(now_ms) - t0)) ms"
[[ $(ncli 2 SET deploy:b majority) == OK ]] || fail "SET on host 2 during the partition"
[[ $(ncli 3 SET deploy:c minority) == OK ]] || fail "SET on host 3 during the partition"
sleep 1 # a second of partition: the writes must not cross it (checked next)
[[ $(ncli 3 GET deploy:b) == "" ]] || fail "host 3 got a write across the partition"
[[ $(ncli 1 GET deploy:c) == "" ]] || fail "host 1 got a write across the partition"

ip -n "$SW" link set p3 up
t0=$(now_ms)
until_ok 40 "members alive again after the heal" all_alive
until_ok 20 "both sides' writes everywhere after the heal" eval 'holds deploy:b majority 1 2 3 && holds deploy:c minority 1 2 3'
say "healed: all alive and both sides' writes on every host $(($(now_ms) - t0)) ms after the link came up"

# a seed known by name only, and not resolvable yet
HOSTS_DIR=/etc/netns/${NS[2]}
mkdir -p "$HOSTS_DIR" && printf '127.0.0.1 localhost\n' >"$HOSTS_DIR/hosts" || fail "$HOSTS_DIR/hosts"
"$GROVE" cert "$T_TMP/ca" --id node-4 --out "$T_TMP/node-4" >/dev/null || fail "grove cert node-4"
ip netns exec "${NS[2]}" "$GROVED" --id node-4 --data "$T_TMP/node-4" --gossip 0.0.0.0:7947 \
	--advertise 192.0.2.13:7947 --client 127.0.0.1:7380 --seeds grove-seed-one:7946 \
	--log-file "$T_TMP/host4.log" "${FAST_FLAGS[@]}" &
PIDS+=($!)
until_ok 10 "node-4 reporting its unresolvable seed" grep -q "seed grove-seed-one:7946: cannot resolve" "$T_TMP/host4.log"
printf '127.0.0.1 localhost\n192.0.2.11 grove-seed-one\n' >"$HOSTS_DIR/hosts" # same file: the mount sees it
t0=$(now_ms)
until_ok 30 "node-4 joining through the seed name once it resolves" \
	eval '[[ $(state_of 1 node-4) == alive ]]'
grep -q "seed grove-seed-one:7946: now resolves to 192.0.2.11:7946" "$T_TMP/host4.log" ||
	fail "node-4 did not log the new resolution: $(tail -3 "$T_TMP/host4.log")"
say "node-4 joined through seed grove-seed-one $(($(now_ms) - t0)) ms after the name became resolvable, without a restart"
grep -h "WARN\|ERROR" "$T_TMP"/host*.log | head -5 | sed 's/^/    log: /'
echo "$T_NAME: OK"
