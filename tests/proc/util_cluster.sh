#!/bin/bash
# util_cluster.sh - shared helpers for the cluster fault tests (sourced, not
# run): a private cluster directory and address range per test, cleanup in
# an EXIT trap (processes, nftables tables, files) that also runs on failure,
# precondition checks that skip (exit 77) with the reason, and the RESP
# helpers the tests use.  The random seed is printed; set GROVE_TEST_SEED to
# replay a run.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CLUSTER=$ROOT/tools/cluster
GROVED=${GROVED:-$ROOT/bin/groved}
GROVE=${GROVE:-$ROOT/bin/grove}
export GROVED GROVE

# Timers short enough for tests: a dead node is noticed within seconds.
FAST_FLAGS=(--probe-interval 200 --gossip-interval 100)

T_NAME=$(basename "$0" .sh)
T_BG_PIDS=()

say() { echo "$T_NAME: [$(( ($(now_ms) - ${T_START_MS:-$(now_ms)}) / 1000 ))s] $*"; }
fail() { echo "$T_NAME: FAIL: $*" >&2; exit 1; }
skip() { echo "$T_NAME: SKIP: ${SKIP_NOTE:-}$*"; exit 77; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# t_init: seed, scratch dir, cluster dir, own 127.x.y.0/24 range, EXIT trap.
t_init() {
	T_START_MS=$(now_ms)
	T_SEED=${GROVE_TEST_SEED:-$(( $(date +%s%N) % 32768 ))}
	RANDOM=$T_SEED
	say "seed $T_SEED (GROVE_TEST_SEED=$T_SEED to replay)"
	T_TMP=$(mktemp -d "/tmp/grove_${T_NAME}.XXXXXX") || fail "mktemp"
	export GROVE_CLUSTER_DIR=$T_TMP/cluster
	# A private address range, so tests of several worktrees running at
	# once never share addresses, ports or nftables rules.
	export GROVE_CLUSTER_NET=127.$((100 + $$ % 150)).$((RANDOM % 250))
	trap t_cleanup EXIT
	trap 'exit 130' INT TERM
}

t_cleanup() {
	local rc=$? p
	for p in "${T_BG_PIDS[@]+"${T_BG_PIDS[@]}"}"; do kill "$p" 2>/dev/null; done
	if [[ -f $GROVE_CLUSTER_DIR/cluster.env ]]; then
		if ((rc != 0 && rc != 77)); then
			for p in "$GROVE_CLUSTER_DIR"/n*/groved.log; do
				[[ -f $p ]] || continue
				echo "--- last lines of $p" >&2
				grep -v "^== " "$p" | tail -n 8 >&2
			done
		fi
		"$CLUSTER" clean >/dev/null 2>&1
	fi
	rm -rf "$T_TMP"
	exit "$rc"
}

require_binaries() {
	[[ -x $GROVED ]] || skip "bin/groved is not built (node/groved_main.c missing)"
	[[ -x $GROVE ]] || skip "bin/grove is not built (tools/grove_main.c missing)"
	command -v redis-cli >/dev/null || skip "redis-cli missing (apt-get install redis-tools)"
}

require_nft() {
	[[ $EUID -eq 0 ]] || skip "needs root for nftables rules on the loopback device"
	command -v nft >/dev/null || skip "needs nft (apt-get install nftables)"
	nft list tables >/dev/null 2>&1 || skip "nftables unusable here: $(nft list tables 2>&1 | head -1)"
}

cluster() { "$CLUSTER" "$@"; }

# cli I ARGS: one command against node I, raw reply on stdout.
cli() {
	local i=$1
	shift
	timeout 5 redis-cli -h "$GROVE_CLUSTER_NET.$((10 + i))" -p 7379 "$@" 2>/dev/null
}

# batch I FILE OUT: run FILE's commands (one per line) through one
# connection to node I; OUT gets one --no-raw reply line per command.
# Fed from stdin, redis-cli runs its interactive loop, which prints a
# "(0.61s)" line after any reply that took 500 ms or more (a loaded
# machine): no reply looks like that in --no-raw, so those lines go, or
# the replies would no longer pair with the commands.  The status is
# redis-cli's.
batch() {
	(
		set -o pipefail
		timeout 120 redis-cli --no-raw -h "$GROVE_CLUSTER_NET.$((10 + $1))" -p 7379 <"$2" 2>"$3.err" |
			sed -u -E '/^\([0-9]+\.[0-9]+s\)$/d' >"$3"
	)
}

digest() { cli "$1" GROVE DIGEST; }

# info_sum I REGEX: sum of the INFO fields whose name matches REGEX.
info_sum() {
	cli "$1" INFO | tr -d '\r' | awk -F: -v re="$2" '$1 ~ re && $2 ~ /^[0-9]+$/ { s += $2 } END { printf "%d\n", s }'
}

# info_value N FIELD: one INFO field of node N as printed (exact: awk's
# doubles would round a 64-bit value such as hlc_last); empty if absent.
info_value() { cli "$1" INFO | tr -d '\r' | sed -n "s/^$2://p" | head -1; }

# INFO fields that count anti-entropy activity.
AE_FIELDS='^sync_rounds$|^ae_|anti_?entropy|reconcil'

# ae_running: true when node 1 shows any anti-entropy activity in INFO,
# waiting (bounded) for 3 s: at the test gossip interval (100 ms) a node
# that runs anti-entropy has started rounds by then.
ae_running() {
	local deadline=$(($(now_ms) + 3000))
	until (($(info_sum 1 "$AE_FIELDS") > 0)); do
		(($(now_ms) < deadline)) || return 1
		sleep 0.2
	done
}

# Skip when groved does not run anti-entropy (no activity in INFO); when it
# does, a key written on node 1 must reach every node within ${1:-15} s.
require_anti_entropy() {
	local probe=ae-probe-$RANDOM
	[[ $(digest 1) =~ ^[0-9a-fA-F]+$ ]] || skip "groved has no GROVE DIGEST"
	ae_running || skip "groved does not run anti-entropy (INFO sync_rounds stays 0): not wired in yet"
	cli 1 SET "$probe" x >/dev/null
	cluster wait-converged --timeout "${1:-15}" >/dev/null 2>&1 ||
		fail "anti-entropy runs (INFO sync_rounds > 0) but a write on node 1 did not reach every node in ${1:-15} s"
}

bg() { "$@" & T_BG_PIDS+=($!); }

# members I: node I's view as "id state" lines (GROVE MEMBERS replies one
# [id, address, state, incarnation] entry per member; redis-cli prints the
# nested array flat, four lines per member).
members() {
	cli "$1" GROVE MEMBERS | awk 'NR % 4 == 1 { id = $0 } NR % 4 == 3 { print id, $0 }'
}

# up_or_skip N ARGS...: tools/cluster up.  Skip when groved exchanges no
# gossip at all (membership not wired in yet): every node runs and answers,
# yet after 4 s (20 probe periods) no node has received a single gossip
# datagram (INFO gossip_received).  Any other failure to form fails.
up_or_skip() {
	local n received up_pid start
	start=$(now_ms)
	cluster up "$@" >"$T_TMP/up.out" 2>&1 &
	up_pid=$!
	while kill -0 "$up_pid" 2>/dev/null; do
		if (($(now_ms) - start > 4000)) && [[ $(cluster running 2>/dev/null | wc -l) == "$1" ]]; then
			received=0
			for ((n = 1; n <= $1; n++)); do
				[[ $(cli "$n" PING) == PONG ]] || { received=-1; break; }
				received=$((received + $(info_sum "$n" '^gossip_received$')))
			done
			if ((received == 0 && $1 > 1)); then
				kill "$up_pid" 2>/dev/null
				wait "$up_pid" 2>/dev/null
				skip "groved nodes exchange no gossip (INFO gossip_received 0 on all $1 running nodes after 4 s): membership not wired in yet"
			fi
		fi
		sleep 0.5
	done
	wait "$up_pid" && return 0
	fail "cluster up $*: $(cat "$T_TMP/up.out")"
}
