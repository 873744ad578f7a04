#!/bin/bash
# test_cluster_join.sh - a sixth node joins a loaded cluster under writes.
# Five nodes are loaded with KEYS registers (spread over the nodes) and
# converge; then a writer keeps running INCRBY and SADD against nodes 1 and
# 2 while node 6 joins through the seeds.  Node 6 must catch up: every
# preloaded key, the exact counter sum and every acknowledged set element,
# and the same digest as everyone.  Prints how long node 6 took to hold all
# preloaded keys.  Env: KEYS (3000; the soak uses 100000).
set -uo pipefail
source "$(dirname "$0")/util_cluster.sh"

KEYS=${KEYS:-3000}
NODES=5

require_binaries
t_init
up_or_skip $NODES -- "${FAST_FLAGS[@]}"
require_anti_entropy

t0=$(now_ms)
for ((n = 1; n <= NODES; n++)); do
	awk -v n="$n" -v N="$NODES" -v K="$KEYS" \
		'BEGIN { for (i = n - 1; i < K; i += N) printf "SET join:k%d v%d\n", i, i }' >"$T_TMP/load.$n"
	batch "$n" "$T_TMP/load.$n" "$T_TMP/load.$n.rep" &
done
wait
for ((n = 1; n <= NODES; n++)); do
	ok=$(grep -c '^OK$' "$T_TMP/load.$n.rep")
	[[ $ok == $(wc -l <"$T_TMP/load.$n") ]] || fail "node $n acknowledged $ok of $(wc -l <"$T_TMP/load.$n") SETs"
done
conv=$(cluster wait-converged --timeout 120) || fail "the loaded cluster did not converge"
base=$(cli 1 DBSIZE)
say "$KEYS keys loaded in $(($(now_ms) - t0)) ms; $conv; DBSIZE $base"

# writer ROUND: a batch of INCRBY to node 1 and SADD to node 2; loops until
# the stop file exists.  Acknowledged replies go to files per round.
writer() {
	local r=0 i
	while [[ ! -e $T_TMP/stop ]]; do
		r=$((r + 1))
		for ((i = 0; i < 100; i++)); do echo "INCRBY join:c 1"; done >"$T_TMP/wc.$r"
		for ((i = 0; i < 100; i++)); do echo "SADD join:s e$r.$i"; done >"$T_TMP/ws.$r"
		batch 1 "$T_TMP/wc.$r" "$T_TMP/wc.$r.rep"
		batch 2 "$T_TMP/ws.$r" "$T_TMP/ws.$r.rep"
	done
	echo "$r" >"$T_TMP/rounds"
}
writer &
wpid=$!
T_BG_PIDS+=("$wpid")

t0=$(now_ms)
cluster add --timeout 60 >/dev/null || fail "node 6 did not join"
joined=$(($(now_ms) - t0))
deadline=$(($(now_ms) + 120000))
until (($(cli 6 DBSIZE || echo 0) >= base)); do
	(($(now_ms) < deadline)) || fail "node 6 holds $(cli 6 DBSIZE) of $base keys after 120 s"
	sleep 0.2
done
caught=$(($(now_ms) - t0))
touch "$T_TMP/stop"
wait "$wpid"
rounds=$(cat "$T_TMP/rounds")

conv=$(cluster wait-converged --timeout 120) || fail "no convergence after the join"
incr=$(cat "$T_TMP"/wc.*.rep | grep -c '^(integer)')
[[ $(cli 6 GET join:c) == "$incr" ]] || fail "node 6: join:c = $(cli 6 GET join:c), want $incr"
for ((r = 1; r <= rounds; r++)); do
	paste -d' ' "$T_TMP/ws.$r" "$T_TMP/ws.$r.rep" | awk '$4 == "(integer)" { print $3 }'
done | sort >"$T_TMP/want"
cli 6 SMEMBERS join:s | sort >"$T_TMP/have"
missing=$(comm -23 "$T_TMP/want" "$T_TMP/have" | wc -l)
((missing == 0)) || fail "node 6 lacks $missing acknowledged set elements"
for ((i = 0; i < KEYS; i += KEYS / 50 + 1)); do
	[[ $(cli 6 GET "join:k$i") == "v$i" ]] || fail "node 6: join:k$i = '$(cli 6 GET "join:k$i")'"
done
say "node 6 joined in $joined ms, held all $base keys after $caught ms; $conv"
say "PASS: $KEYS preloaded keys, $incr INCRBY + $(wc -l <"$T_TMP/want") SADD acknowledged during the join, checked on node 6"
