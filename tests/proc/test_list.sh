#!/bin/bash
# test_list.sh - lists on three real groved processes: concurrent RPUSH
# and LPUSH runs on every node all survive, in one order everywhere;
# LINSERT around one pivot on two nodes keeps both; the same element
# popped on two nodes before they exchange is answered by both (a list is
# not a cross-node queue); an LSET concurrent with a pop of its element
# survives it; LLEN and LRANGE agree on every node once GROVE DIGEST does.
# Times to converge are printed.
source "$(dirname "$0")/node_lib.sh"
[[ -x $GROVE ]] || { echo "skip: $GROVE not built"; exit 77; }
command -v redis-cli >/dev/null || { echo "skip: redis-cli not installed (make deps)"; exit 77; }

P=$((PORT_BASE + 50))
PORTS=("$P" "$((P + 1))" "$((P + 2))")
fast=(--probe-interval 200 --gossip-interval 100)
cli() { redis-cli -p "$@" 2>/dev/null; }
ms() { date +%s%3N; }

# wait_converged PORT...: every node reports one digest (deadline 20 s).
wait_converged() {
	local t0 deadline d first same
	t0=$(ms)
	deadline=$((SECONDS + 20))
	while ((SECONDS < deadline)); do
		first=$(cli "$1" grove digest)
		same=1
		for p in "$@"; do
			d=$(cli "$p" grove digest)
			[[ -n $d && $d == "$first" ]] || same=0
		done
		((same)) && { CONVERGE_MS=$(($(ms) - t0)); return 0; }
		sleep 0.05
	done
	return 1
}

start_node n1 n1 "$P" "${fast[@]}" || finish
start_node n2 n2 "$((P + 1))" "${fast[@]}" --seeds "127.0.0.1:$((P + 1000))" || finish
start_node n3 n3 "$((P + 2))" "${fast[@]}" --seeds "127.0.0.1:$((P + 1000))" || finish
deadline=$((SECONDS + 20))
for port in "${PORTS[@]}"; do
	until [[ $(cli "$port" info cluster | tr -d '\r' | grep members_alive) == members_alive:3 ]]; do
		((SECONDS < deadline)) || { fail "node $port does not see 3 members"; finish; }
		sleep 0.05
	done
done
pass "3 nodes joined"

# --- concurrent pushes at both ends on every node ---
N=200
jobs_=()  # a bare `wait` would wait for the nodes too
for i in 0 1 2; do
	(for k in $(seq 1 $N); do
		if ((k % 2)); then echo "RPUSH q r$i.$k"; else echo "LPUSH q l$i.$k"; fi
	done | cli "${PORTS[$i]}" >/dev/null) &
	jobs_+=($!)
done
wait "${jobs_[@]}"
wait_converged "${PORTS[@]}" || fail "no convergence after pushes"
echo "pushes converged in ${CONVERGE_MS} ms"
for port in "${PORTS[@]}"; do
	expect_eq "LLEN on $port" "$(cli "$port" llen q)" "$((3 * N))"
done
cli "${PORTS[0]}" lrange q 0 -1 >"$SCRATCH/q0"
same=1
for port in "${PORTS[@]:1}"; do
	cli "$port" lrange q 0 -1 | cmp -s - "$SCRATCH/q0" || same=0
done
((same)) && pass "one order on every node" || fail "orders differ"
# each node's own runs keep their order: its r pushes ascend, its l pushes descend
for i in 0 1 2; do
	grep "^r$i\." "$SCRATCH/q0" | sed "s/^r$i\.//" | sort -nc 2>/dev/null || fail "r$i pushes out of order"
	grep "^l$i\." "$SCRATCH/q0" | sed "s/^l$i\.//" | sort -rnc 2>/dev/null || fail "l$i pushes out of order"
done
pass "every node's pushes keep their order"

# --- concurrent LINSERT around one pivot, concurrent pops, LSET vs pop ---
cli "${PORTS[0]}" rpush p a pivot z >/dev/null
wait_converged "${PORTS[@]}" || fail "no convergence of p"
# concurrent: both inserts (and a pop) issued at once on three nodes
(cli "${PORTS[1]}" linsert p before pivot from-n2 >/dev/null) &
j1=$!
(cli "${PORTS[2]}" linsert p before pivot from-n3 >/dev/null) &
j2=$!
(cli "${PORTS[0]}" lpop p >"$SCRATCH/pop0") &
wait "$j1" "$j2" "$!"
expect_eq "LPOP racing the inserts" "$(cat "$SCRATCH/pop0")" "a"
wait_converged "${PORTS[@]}" || fail "no convergence after inserts"
got=$(cli "${PORTS[2]}" lrange p 0 -1 | tr '\n' ' ')
[[ " $got" != *" a "* ]] || fail "popped a is back: $got"
for want in from-n2 from-n3 pivot z; do
	[[ " $got" == *" $want "* ]] || fail "$want missing from p: $got"
done
pos_pivot=$(cli "${PORTS[0]}" lpos p pivot)
pos_2=$(cli "${PORTS[0]}" lpos p from-n2)
pos_3=$(cli "${PORTS[0]}" lpos p from-n3)
((pos_2 < pos_pivot && pos_3 < pos_pivot)) && pass "both concurrent inserts before the pivot: $got" ||
	fail "inserts not before the pivot: $got"

# the same element popped on two nodes at once: when neither saw the
# other's pop, both answer it
cli "${PORTS[0]}" rpush twice x1 x2 >/dev/null
wait_converged "${PORTS[@]}" || fail "no convergence of twice"
(cli "${PORTS[1]}" lpop twice >"$SCRATCH/pa") &
j1=$!
(cli "${PORTS[2]}" lpop twice >"$SCRATCH/pb") &
wait "$j1" "$!"
wait_converged "${PORTS[@]}" || fail "no convergence after pops"
pa=$(cat "$SCRATCH/pa") pb=$(cat "$SCRATCH/pb")
left=$(cli "${PORTS[0]}" lrange twice 0 -1 | tr '\n' ' ' | sed 's/ *$//')
if [[ $pa == x1 && $pb == x1 ]]; then
	pass "both nodes answered x1 (concurrent pops of one element); left: $left"
	expect_eq "after both pops" "$left" "x2"
else
	echo "note: the pops were not concurrent this time ($pa, $pb): left $left"
	expect_eq "after two pops" "$left" ""
fi
for port in "${PORTS[@]}"; do
	expect_eq "LLEN q still on $port" "$(cli "$port" llen q)" "$((3 * N))"
done
cli "${PORTS[1]}" del q >/dev/null
wait_converged "${PORTS[@]}" || fail "no convergence after DEL"
for port in "${PORTS[@]}"; do
	expect_eq "q deleted on $port" "$(cli "$port" exists q)" "0"
done
finish
