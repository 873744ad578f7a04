#!/bin/bash
# soak_collections_crash.sh - kill -9 in the middle of a pipelined fill of
# a big set and a big hash (issue 11), in the `batch` and `always`
# durability modes.  Three nodes; node 1 takes SADD and HSET alternating
# (tests/proc/resp_pipe.py mix: command 2i adds member m:i, command 2i+1
# field f:i) and is SIGKILLed once CRASH_KILL_AT commands are acknowledged.
# Reply k answers command k, so the acknowledged writes are exactly the
# first A commands.  Then:
#  1. nodes 2 and 3 are stopped and node 1 restarts alone: every
#     acknowledged member and field is on it (its own durability: no peer
#     can give anything back), and nothing that was never sent;
#  2. nodes 2 and 3 start again (only their client port is awaited: a node
#     busy catching up may not answer GROVE MEMBERS in time, which is not
#     what this test checks): once the digests are equal, every node
#     holds every acknowledged element and the same SCARD and HLEN.
# In `make soak`, not `make test`: two 3-node clusters and fills in the
# fsync modes take 120 s on the shared 2-core machine (3,000 indexes,
# killed after 4,000 acknowledged commands).  Sizes stay small to keep
# the two clusters and four fsync-mode fills within the deadlines
# (replicating is linear: tests/proc/test_collections.sh).
# Env: CRASH_N (indexes in the fill, 3000: 6,000 commands),
# CRASH_KILL_AT (acknowledged commands before the kill, 4000),
# CRASH_KILL_S (deadline to reach CRASH_KILL_AT, 60), CRASH_MODES
# ("batch always"), CRASH_CONV_S (deadline to converge, 60).
set -uo pipefail
source "$(dirname "$0")/../proc/util_cluster.sh"

CN=${CRASH_N:-3000}
KILL_AT=${CRASH_KILL_AT:-4000}
MODES=${CRASH_MODES:-batch always}
CONV_S=${CRASH_CONV_S:-60}
KILL_S=${CRASH_KILL_S:-60}
PY=/usr/bin/python3
PIPE=$ROOT/tests/proc/resp_pipe.py
SET=crash:set HASH=crash:hash

require_binaries
[[ -x $PY ]] || skip "needs Debian's /usr/bin/python3 for tests/proc/resp_pipe.py"
source "$(dirname "$0")/../proc/util_collections.sh"
((KILL_AT < 2 * CN)) || fail "CRASH_KILL_AT ($KILL_AT) must be below 2 * CRASH_N ($((2 * CN)))"
t_init

# fill_and_kill MODE: start the fill on node 1, SIGKILL node 1 once
# KILL_AT commands are acknowledged; sets ACKED and SENT.
fill_and_kill() {
	local prog=$T_TMP/$1.progress out=$T_TMP/$1.fill deadline pid t0 end
	t0=$(now_ms)
	"$PY" "$PIPE" "$GROVE_CLUSTER_NET.11" 7379 mix "$SET,$HASH" 0 "$CN" --progress "$prog" >"$out" 2>&1 &
	pid=$!
	T_BG_PIDS+=("$pid")
	deadline=$((t0 + KILL_S * 1000))
	while (($(cat "$prog" 2>/dev/null || echo 0) < KILL_AT)); do
		kill -0 "$pid" 2>/dev/null || fail "$1: the fill ended before $KILL_AT acknowledged writes: $(cat "$out")"
		(($(now_ms) < deadline)) || fail "$1: fewer than $KILL_AT writes acknowledged after $KILL_S s ($(cat "$prog" 2>/dev/null))"
		sleep 0.02
	done
	cluster kill 1 >/dev/null || fail "$1: kill node 1"
	wait "$pid"
	end=$(grep '^end ' "$out")
	[[ $end == "end closed "* ]] || fail "$1: the fill was not cut by the kill: ${end:-$(cat "$out")}"
	read -r SENT ACKED < <(awk '{ print $4, $6 }' <<<"$end")
	[[ $end == *" errors 0 "* ]] || fail "$1: error replies before the kill: $end"
	say "$1: node 1 killed after $ACKED acknowledged writes ($SENT sent) in $(($(now_ms) - t0)) ms"
}

# verify MODE NODES...: every acknowledged member and field on each node,
# nothing beyond what was sent.
verify() {
	local mode=$1 n
	shift
	# command 2i is SADD m:i, 2i+1 is HSET f:i
	expect_members "$T_TMP/ack.s" "$T_TMP/x.h" 0 $(((ACKED + 1) / 2)) 1
	expect_members "$T_TMP/x.s" "$T_TMP/ack.h" 0 $((ACKED / 2)) 1
	expect_members "$T_TMP/sent.s" "$T_TMP/x.h" 0 $(((SENT + 1) / 2)) 1
	expect_members "$T_TMP/x.s" "$T_TMP/sent.h" 0 $((SENT / 2)) 1
	for n in "$@"; do
		check_set "$n" "$SET" "$T_TMP/ack.s" subset "$T_TMP/sent.s"
		check_hash "$n" "$HASH" "$T_TMP/ack.h" subset "$T_TMP/sent.h"
	done
}

checked=0
for mode in $MODES; do
	cluster clean >/dev/null 2>&1
	up_or_skip 3 --durability "$mode" -- "${FAST_FLAGS[@]}"
	((checked == 0)) && require_anti_entropy
	fill_and_kill "$mode"

	# 1. node 1 alone
	cluster stop 2 >/dev/null || fail "$mode: stop node 2"
	cluster stop 3 >/dev/null || fail "$mode: stop node 3"
	cluster start 1 --no-wait >/dev/null || fail "$mode: node 1 did not restart"
	verify "$mode" 1
	say "$mode: node 1 restarted alone holds all $(((ACKED + 1) / 2)) acknowledged members and $((ACKED / 2)) fields"

	# 2. everywhere
	cluster start 2 --no-wait >/dev/null || fail "$mode: node 2 did not restart"
	cluster start 3 --no-wait >/dev/null || fail "$mode: node 3 did not restart"
	cluster wait-converged --timeout "$CONV_S" >"$T_TMP/conv" 2>&1 ||
		fail "$mode: no convergence $CONV_S s after the restarts: $(cat "$T_TMP/conv"); $(count_line "$SET" "$HASH")"
	verify "$mode" 1 2 3
	c=$(count_line "$SET" "$HASH")
	[[ $(awk '{ for (i = 2; i <= NF; i += 2) print $i }' <<<"$c" | sort -u | wc -l) == 1 ]] ||
		fail "$mode: digests equal but SCARD/HLEN differ: $c"
	say "$mode: $(cat "$T_TMP/conv"); every acknowledged element on all 3 nodes ($c)"
	checked=$((checked + 1))
done
say "PASS: kill -9 mid-fill in $MODES: no acknowledged member or field lost"
