#!/bin/bash
# bench_cluster.sh - cluster figures from real processes (make bench).
#  1. Failure detection: 5 groved nodes with --probe-interval 1000 (Serf's
#     LAN profile: probe every 1 s, 500 ms timeout); kill -9 one node and
#     time until the first survivor suspects it and until every survivor
#     reports it dead.  Beside it, the same with 5 Serf agents (LAN profile)
#     on loopback, when the serf program is installed (Debian package serf;
#     installed here with apt-get when root and available).
#  2. Convergence after heal vs keys changed (root: nftables): 3 nodes,
#     node 1 cut off, K keys written on it, heal, time until all digests
#     are equal, for K = 10, 100, 1000, 10000.
# Env: DETECT_RUNS (3), BENCH_KEYS ("10 100 1000 10000").
set -uo pipefail
source "$(dirname "$0")/../proc/util_cluster.sh"

DETECT_RUNS=${DETECT_RUNS:-3}
BENCH_KEYS=${BENCH_KEYS:-10 100 1000 10000}
SERF_NODES=5
SERF_PIDS=()

require_binaries
t_init
bench_cleanup() {
	local rc=$? p
	for p in "${SERF_PIDS[@]+"${SERF_PIDS[@]}"}"; do kill -9 "$p" 2>/dev/null; done
	(exit "$rc")
	t_cleanup
}
trap bench_cleanup EXIT

fmt_ms() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }

# state_of I ID: node I's view of member ID's state.
state_of() { members "$1" | awk -v id="$2" '$1 == id { print $2 }'; }

# detect_groved: kill -9 node 5; sets SUSPECT_MS and DEAD_MS.
detect_groved() {
	local t0 n s first_suspect=0 all_dead deadline
	cluster kill 5 >/dev/null || fail "kill 5"
	t0=$(now_ms)
	deadline=$((t0 + 60000))
	while :; do
		all_dead=1
		for n in 1 2 3 4; do
			s=$(state_of "$n" node5)
			[[ $s != alive && $first_suspect == 0 ]] && first_suspect=$(($(now_ms) - t0))
			[[ $s == dead ]] || all_dead=0
		done
		((all_dead)) && break
		(($(now_ms) < deadline)) || fail "node 5 not dead everywhere 60 s after kill -9"
		sleep 0.05
	done
	DEAD_MS=$(($(now_ms) - t0)) SUSPECT_MS=$first_suspect
}

# serf_detect: 5 Serf agents on 127.0.3.x; kill -9 one, time until every
# other agent lists it as failed, DETECT_RUNS times.  Prints the times.
# Runs in this shell (not $(...)) so SERF_PIDS reaches the EXIT trap.
serf_detect() {
	local i t0 all deadline base=127.0.3 times=()
	for ((i = 1; i <= SERF_NODES; i++)); do
		serf agent -node="s$i" -bind="$base.$i:7946" -rpc-addr="$base.$i:7373" -log-level=err \
			$( ((i > 1)) && echo "-retry-join=$base.1:7946" "-retry-interval=200ms") >"$T_TMP/serf$i.log" 2>&1 &
		SERF_PIDS[i]=$!
		disown "$!"
	done
	for run in $(seq "$DETECT_RUNS"); do
		deadline=$(($(now_ms) + 30000))
		until (($(serf members -rpc-addr="$base.1:7373" -status=alive 2>/dev/null | wc -l) == SERF_NODES)); do
			(($(now_ms) < deadline)) || { echo "serf agents did not form"; return; }
			sleep 0.1
		done
		kill -9 "${SERF_PIDS[SERF_NODES]}"
		t0=$(now_ms)
		deadline=$((t0 + 60000))
		while :; do
			all=1
			for ((i = 1; i < SERF_NODES; i++)); do
				grep -q "^s$SERF_NODES .*failed" <<<"$(serf members -rpc-addr="$base.$i:7373" 2>/dev/null)" || { all=0; break; }
			done
			((all)) && break
			(($(now_ms) < deadline)) || { echo "serf: not failed in 60 s"; return; }
			sleep 0.05
		done
		times+=("$(fmt_ms $(($(now_ms) - t0)))")
		serf agent -node="s$SERF_NODES" -bind="$base.$SERF_NODES:7946" -rpc-addr="$base.$SERF_NODES:7373" \
			-log-level=err -join="$base.1:7946" >>"$T_TMP/serf$SERF_NODES.log" 2>&1 &
		SERF_PIDS[SERF_NODES]=$!
		disown "$!"
	done
	echo "${times[*]}"
}

# --- 1. failure detection ----------------------------------------------------
up_or_skip 5 -- --probe-interval 1000
say "failure detection, 5 nodes, probe interval 1000 ms, kill -9 of node 5 ($DETECT_RUNS runs)"
printf '  %-8s %-22s %-22s\n' run "first suspect (s)" "dead everywhere (s)"
for run in $(seq "$DETECT_RUNS"); do
	detect_groved
	printf '  %-8s %-22s %-22s\n' "$run" "$(fmt_ms "$SUSPECT_MS")" "$(fmt_ms "$DEAD_MS")"
	cluster start 5 >/dev/null || fail "node 5 did not rejoin"
done
if ! command -v serf >/dev/null && [[ $EUID -eq 0 ]] && apt-cache show serf >/dev/null 2>&1; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends serf >/dev/null 2>&1
fi
if command -v serf >/dev/null; then
	serf_detect >"$T_TMP/serf.out"
	say "Serf $(serf version 2>&1 | head -1), 5 agents, LAN profile (probe 1 s, timeout 500 ms): kill -9 -> failed everywhere (s): $(cat "$T_TMP/serf.out")"
	for p in "${SERF_PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
else
	say "serf not installed: no Serf figure (apt-get install serf)"
fi
cluster down >/dev/null

# --- 2. convergence after heal vs keys changed --------------------------------
if [[ $EUID -ne 0 ]] || ! nft list tables >/dev/null 2>&1; then
	say "convergence after heal: not measured (needs root for nftables)"
	exit 0
fi
cluster clean >/dev/null
up_or_skip 3 -- "${FAST_FLAGS[@]}"
if ! ae_running; then
	say "convergence after heal: not measured (no anti-entropy activity in INFO: not wired into groved)"
	exit 0
fi
cli 1 SET bench:probe x >/dev/null
cluster wait-converged --timeout 30 >/dev/null || fail "3 idle nodes do not converge"
say "convergence after heal, 3 nodes, node 1 cut off while K keys are written on it"
printf '  %-8s %-14s %-14s\n' K "write (s)" "converge (s)"
for k in $BENCH_KEYS; do
	cluster partition "1|2,3" >/dev/null || fail "partition"
	awk -v k="$k" -v r="$RANDOM" 'BEGIN { for (i = 0; i < k; i++) printf "SET bench:%d:%d v%d\n", r, i, i }' >"$T_TMP/w"
	t0=$(now_ms)
	batch 1 "$T_TMP/w" "$T_TMP/w.rep"
	tw=$(($(now_ms) - t0))
	[[ $(grep -c '^OK$' "$T_TMP/w.rep") == "$k" ]] || fail "node 1 acknowledged $(grep -c '^OK$' "$T_TMP/w.rep") of $k writes"
	cluster heal >/dev/null
	t0=$(now_ms)
	cluster wait-converged --timeout 300 >/dev/null || fail "no convergence after heal with $k keys"
	printf '  %-8s %-14s %-14s\n' "$k" "$(fmt_ms "$tw")" "$(fmt_ms $(($(now_ms) - t0)))"
done
