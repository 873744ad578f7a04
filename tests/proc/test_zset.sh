#!/bin/bash
# test_zset.sh - sorted sets on three real groved processes: ZINCRBY of one
# member on every node adds up everywhere; ZADD on one node concurrent with
# ZINCRBY on another keeps the increment (doc/value_format.md "Sorted
# sets"); members added on all nodes and removed on one converge to the same
# ZRANGE ... WITHSCORES, ZCARD, ZRANK and GROVE DIGEST everywhere; a DEL on
# one node removes what it saw; the key is a zset for TYPE and SCAN TYPE.
source "$(dirname "$0")/node_lib.sh"
[[ -x $GROVE ]] || { echo "skip: $GROVE not built"; exit 77; }

P=$((PORT_BASE + 70))
PORTS=("$P" "$((P + 1))" "$((P + 2))")
# push off and slow rounds: two writes issued back to back on two nodes are
# concurrent (neither node has merged the other's before its own)
fast=(--probe-interval 200 --gossip-interval 500 --push-fanout 0)
cli() { redis-cli -p "$@" 2>/dev/null; }

# wait_same WHAT CMD...: polls (deadline 20 s) until CMD answers the same on
# every node and GROVE DIGEST agrees; sets SAME to the answer.
wait_same() {
	local what=$1 deadline=$((SECONDS + 20)) a d first ok
	shift
	while ((SECONDS < deadline)); do
		ok=1
		first=$(cli "$P" "$@" | tr '\n' ' ')
		d=$(cli "$P" grove digest)
		for p in "${PORTS[@]}"; do
			a=$(cli "$p" "$@" | tr '\n' ' ')
			[[ $a == "$first" && $(cli "$p" grove digest) == "$d" ]] || ok=0
		done
		if ((ok)); then
			SAME=$first
			return 0
		fi
		sleep 0.05
	done
	fail "$what: nodes did not agree in 20 s"
	for p in "${PORTS[@]}"; do echo "  $p: $(cli "$p" "$@" | tr '\n' ' ')"; done
	return 1
}

start_three "$P" "${fast[@]}"

# --- ZINCRBY of one member on every node, concurrently: a counter ---
writers=()
for i in 0 1 2; do
	(for k in $(seq 1 40); do echo "ZINCRBY board $((i + 1)) player"; done |
		cli "${PORTS[$i]}" >/dev/null) &
	writers+=($!)
done
wait "${writers[@]}" # (not a bare wait: the nodes are children too)
wait_same "ZINCRBY on 3 nodes" zscore board player && expect_eq "ZINCRBY on 3 nodes adds up" "$SAME" "240 "

# --- ZADD on n1 concurrent with ZINCRBY on n2: the increment is kept ---
# (an anti-entropy round between the two writes makes them sequential, 10:
# tried up to 3 times, each converging to 15 or 10, at least one 15)
got=""
for try in 1 2 3; do
	cli "$P" zadd "race$try" 100 m >/dev/null
	wait_same "race created" zscore "race$try" m || break
	cli "$P" zadd "race$try" 10 m >/dev/null &
	w1=$!
	cli "$((P + 1))" zincrby "race$try" 5 m >/dev/null &
	wait "$w1" $!
	wait_same "ZADD vs ZINCRBY" zscore "race$try" m || break
	got+="$SAME"
	[[ $SAME == "15 " ]] && break
done
expect_match "ZADD concurrent with ZINCRBY keeps the increment (15; 10 if not concurrent)" "$got" '^(10 )*15 $'

# --- members on every node, removes on one, ranges agree ---
writers=()
for i in 0 1 2; do
	(for k in $(seq 1 100); do echo "ZADD lb $(((k * 37 + i * 11) % 1000)) n$i:$k"; done |
		cli "${PORTS[$i]}" >/dev/null) &
	writers+=($!)
done
wait "${writers[@]}"
wait_same "300 members" zcard lb && expect_eq "ZCARD after adds on 3 nodes" "$SAME" "300 "
(for k in $(seq 1 50); do echo "ZREM lb n1:$k"; done | cli "$((P + 2))" >/dev/null)
wait_same "removes" zcard lb && expect_eq "ZCARD after 50 removes on n3" "$SAME" "250 "
wait_same "ranges" zrange lb 0 -1 withscores
r1=$(cli "$P" zrange lb 0 -1 withscores | awk 'NR % 2 == 0' | sort -n -c 2>&1 && echo sorted)
expect_eq "ZRANGE WITHSCORES in score order" "$r1" "sorted"
wait_same "ZRANK" zrank lb n2:77
rank=$SAME
want=$(cli "$P" zrange lb 0 -1 | grep -n '^n2:77$' | cut -d: -f1)
expect_eq "ZRANK agrees with ZRANGE on every node" "$rank" "$((want - 1)) "
wait_same "BYSCORE" zrange lb 500 +inf byscore limit 0 5 withscores
expect_eq "TYPE" "$(cli "$((P + 1))" type lb)" "zset"
expect_match "SCAN TYPE zset" "$(cli "$((P + 2))" scan 0 type zset count 1000 | tr '\n' ' ')" "lb"

# --- DEL on one node ---
cli "$((P + 1))" del lb >/dev/null
wait_same "DEL" zcard lb && expect_eq "DEL removes the zset everywhere" "$SAME" "0 "
expect_eq "ZRANGE of a deleted zset" "$(cli "$P" zrange lb 0 -1 | tr -d '\n')" ""
finish
