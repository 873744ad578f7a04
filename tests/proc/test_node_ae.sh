#!/bin/bash
# test_node_ae.sh - anti-entropy between real groved processes: three nodes
# take concurrent writes of all four types and converge (exact counter
# sums, add-wins sets, per-field maps, observed-remove DEL, equal GROVE
# DIGEST everywhere); a node killed -9 and restarted catches up on what it
# missed; a fourth node joining later catches up on ~1,000 keys (push is on,
# as by default, but the killed and the late node can only catch up through
# digest rounds).  Times to converge are printed.
source "$(dirname "$0")/node_lib.sh"
[[ -x $GROVE ]] || { echo "skip: $GROVE not built"; exit 77; }

P=$((PORT_BASE + 40))
PORTS=("$P" "$((P + 1))" "$((P + 2))")
fast=(--probe-interval 200 --gossip-interval 100)
cli() { redis-cli -p "$@" 2>/dev/null; }
digest() { cli "$1" grove digest; }
ms() { date +%s%3N; }

# wait_converged PORT... : polls until every node reports the same digest
# (deadline 20 s); prints the time it took.
wait_converged() {
	local t0 deadline d first same
	t0=$(ms)
	deadline=$((SECONDS + 20))
	while ((SECONDS < deadline)); do
		first=$(digest "$1")
		same=1
		for p in "$@"; do
			d=$(digest "$p")
			[[ -n $d && $d == "$first" ]] || same=0
		done
		if ((same)); then
			CONVERGE_MS=$(($(ms) - t0))
			return 0
		fi
		sleep 0.05
	done
	return 1
}

start_node n1 n1 "$P" "${fast[@]}" || finish
P1=$NODE_PID
start_node n2 n2 "$((P + 1))" "${fast[@]}" --seeds "127.0.0.1:$((P + 1000))" || finish
P2=$NODE_PID
start_node n3 n3 "$((P + 2))" "${fast[@]}" --seeds "127.0.0.1:$((P + 1000))" || finish
P3=$NODE_PID
deadline=$((SECONDS + 20))
for port in "${PORTS[@]}"; do
	until [[ $(cli "$port" info cluster | tr -d '\r' | grep members_alive) == members_alive:3 ]]; do
		((SECONDS < deadline)) || { fail "node $port does not see 3 members"; finish; }
		sleep 0.05
	done
done
pass "3 nodes joined"

# --- concurrent writes on all nodes ---
want=0
writers=()
for i in 0 1 2; do
	(for k in $(seq 1 50); do echo "INCRBY ctr $((i * 100 + k))"; done | cli "${PORTS[$i]}" >/dev/null) &
	writers+=($!)
	for k in $(seq 1 50); do want=$((want + i * 100 + k)); done
done
wait "${writers[@]}"
cli "$P" sadd s a b c >/dev/null
cli "$((P + 1))" sadd s d >/dev/null
cli "$P" hset h f1 v1 f2 v2 >/dev/null
cli "$((P + 2))" hset h f3 v3 >/dev/null
cli "$P" set reg hello >/dev/null
cli "$((P + 1))" set gone x >/dev/null
wait_converged "${PORTS[@]}" && pass "converged after writes in ${CONVERGE_MS} ms" || fail "no convergence after writes"
for port in "${PORTS[@]}"; do
	expect_eq "counter sum on $port" "$(cli "$port" get ctr)" "$want"
	expect_eq "set on $port" "$(cli "$port" smembers s | sort | paste -sd,)" "a,b,c,d"
done
# a node with alive peers pushes its writes (a node alone does not queue them)
for port in "${PORTS[@]}"; do
	deadline=$((SECONDS + 5))
	until sent=$(info_field "$port" ae_push_keys_sent); ((${sent:-0} > 0 || SECONDS >= deadline)); do
		sleep 0.05
	done
	((${sent:-0} > 0)) && pass "node $port pushed its writes ($sent keys)" || fail "node $port pushed no key in 5 s (ae_push_keys_sent '${sent}')"
done

# --- add-wins, map deletes, observed-remove DEL ---
cli "$P" srem s a >/dev/null          # n1 removes a (it observed a)
cli "$((P + 2))" srem s b >/dev/null  # n3 removes b
cli "$((P + 1))" hdel h f1 >/dev/null
cli "$((P + 2))" hset h f2 v2b >/dev/null
cli "$P" del gone >/dev/null
wait_converged "${PORTS[@]}" || fail "no convergence after removes"
# n1 removes c, n2 re-adds c at once (before or after the remove reaches
# it: either way n1 never observed the new tag), so the add wins everywhere.
# Issued in this order so that no timing can make n1's remove observe it.
cli "$P" srem s c >/dev/null
cli "$((P + 1))" sadd s c >/dev/null
wait_converged "${PORTS[@]}" && pass "converged after removes (${CONVERGE_MS} ms)" || fail "no convergence"
for port in "${PORTS[@]}"; do
	expect_eq "set after SREM on $port" "$(cli "$port" smembers s | sort | paste -sd,)" "c,d"
	expect_eq "map on $port" "$(cli "$port" hgetall h | paste -sd,)" \
		"$(cli "$P" hgetall h | paste -sd,)"
	expect_eq "map fields on $port" "$(cli "$port" hkeys h | sort | paste -sd,)" "f2,f3"
	expect_eq "map f2 on $port" "$(cli "$port" hget h f2)" "v2b"
	expect_eq "DEL on $port" "$(cli "$port" exists gone)" "0"
	expect_eq "register on $port" "$(cli "$port" get reg)" "hello"
done
d=$(digest "$P")
expect_match "digests equal" "$(digest "$((P + 1))") $(digest "$((P + 2))")" "^$d $d$"
expect_match "GROVE SYNC contacts peers" "$(cli "$P" grove sync)" "^[12]$"
expect_match "INFO gossip counters" \
	"$(cli "$P" info gossip | tr -d '\r' | grep -E '^ae_(rounds|digests_equal|merged_changed):' | paste -sd' ')" \
	"^ae_rounds:[1-9][0-9]* ae_digests_equal:[1-9][0-9]* ae_merged_changed:[0-9]+$"

# --- kill -9, writes elsewhere, restart: catches up ---
{ kill -KILL "$P3" && wait "$P3"; } 2>/dev/null
for k in $(seq 1 100); do echo "INCRBY ctr 1"; echo "SET missed:$k v$k"; done | cli "$P" >/dev/null
want=$((want + 100))
t0=$(ms)
start_node n3 n3 "$((P + 2))" "${fast[@]}" || finish
P3=$NODE_PID
wait_converged "${PORTS[@]}" && pass "restarted n3 caught up in $(($(ms) - t0)) ms from restart" || fail "n3 did not catch up"
expect_eq "n3 counter after restart" "$(cli "$((P + 2))" get ctr)" "$want"
expect_eq "n3 missed keys" "$(cli "$((P + 2))" get missed:100)" "v100"

# --- a fourth node joins later and catches up on ~1,000 keys ---
for k in $(seq 1 1000); do echo "SET bulk:$k value-$k"; done | cli "$((P + 1))" >/dev/null
wait_converged "${PORTS[@]}" || fail "3 nodes after bulk load"
t0=$(ms)
start_node n4 n4 "$((P + 3))" "${fast[@]}" --seeds "127.0.0.1:$((P + 1000))" || finish
wait_converged "${PORTS[@]}" "$((P + 3))" && pass "n4 caught up on $(cli "$((P + 3))" dbsize) keys in $(($(ms) - t0)) ms from start" \
	|| fail "n4 did not catch up: dbsize $(cli "$((P + 3))" dbsize)"
expect_eq "n4 dbsize" "$(cli "$((P + 3))" dbsize)" "$(cli "$P" dbsize)"
expect_eq "n4 counter" "$(cli "$((P + 3))" get ctr)" "$want"
for port in "$P" "$((P + 2))" "$((P + 3))"; do
	expect_match "no rejected states on $port" \
		"$(cli "$port" info gossip | tr -d '\r' | grep -E '^ae_rejected_(decode|clock|other):' | paste -sd' ')" \
		"^ae_rejected_decode:0 ae_rejected_clock:0 ae_rejected_other:0$"
done
# graceful stops (under ASan, each exit also runs the leak check)
for pid in "$NODE_PID" "$P1" "$P2" "$P3"; do
	stop_node "$pid"
	expect_eq "SIGTERM exit status of $pid" "$STOP_RC" 0
done
finish
