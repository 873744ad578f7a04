#!/bin/bash
# test_node_flush.sh - the keyspace commands' CRDT rules between two real
# groved processes: FLUSHALL on one node clears the other (every key's
# observed-remove delete replicates; equal digests after); a key written on
# the second node after it saw the flush survives it; RENAME and COPY on one
# node show on the other (new key there, old key gone), and MSET's keys all
# arrive.
source "$(dirname "$0")/node_lib.sh"
[[ -x $GROVE ]] || { echo "skip: $GROVE not built"; exit 77; }

P=$((PORT_BASE + 90))
fast=(--probe-interval 200 --gossip-interval 100)
cli() { redis-cli -p "$@" 2>/dev/null; }

# wait_eq NAME WANT CMD...: polls CMD's output until it equals WANT (20 s).
wait_eq() {
	local name=$1 want=$2 got deadline=$((SECONDS + 20))
	shift 2
	while ((SECONDS < deadline)); do
		got=$("$@")
		[[ $got == "$want" ]] && { pass "$name"; return 0; }
		sleep 0.05
	done
	fail "$name: got '$got', want '$want'"
}

start_node a n1 "$P" "${fast[@]}" || finish
start_node b n2 "$((P + 1))" "${fast[@]}" --seeds "127.0.0.1:$((P + 1000))" || finish

for i in $(seq 1 100); do
	echo "SET s:$i v$i"
	echo "INCRBY c:$i $i"
	echo "SADD set:$i m$i"
	echo "HSET h:$i f v$i"
done | cli "$P" >/dev/null
wait_eq "node b has the 400 keys" 400 cli "$((P + 1))" dbsize

expect_eq "FLUSHALL on node b" "$(cli "$((P + 1))" flushall)" OK
wait_eq "node a is empty after b's FLUSHALL" 0 cli "$P" dbsize
wait_eq "equal digests after the flush" "$(cli "$((P + 1))" grove digest)" cli "$P" grove digest

# a write made after the flush was seen survives it
cli "$((P + 1))" set after yes >/dev/null
wait_eq "a write after the flush reaches node a" yes cli "$P" get after

# RENAME / COPY / MSET on a, seen on b
cli "$P" incrby hits 5 >/dev/null
cli "$P" sadd tags x y >/dev/null
wait_eq "node b has hits" 5 cli "$((P + 1))" get hits
expect_eq "RENAME on node a" "$(cli "$P" rename hits hits2)" OK
expect_eq "COPY on node a" "$(cli "$P" copy tags tags2)" 1
expect_eq "MSET on node a" "$(cli "$P" mset m1 1 m2 2 m3 3)" OK
wait_eq "node b: renamed counter" 5 cli "$((P + 1))" get hits2
wait_eq "node b: old name gone" 0 cli "$((P + 1))" exists hits
wait_eq "node b: copied set" "x y" bash -c "redis-cli -p $((P + 1)) smembers tags2 | tr '\n' ' ' | sed 's/ $//'"
wait_eq "node b: every MSET key" "1 2 3" bash -c "redis-cli -p $((P + 1)) mget m1 m2 m3 | tr '\n' ' ' | sed 's/ $//'"
finish
