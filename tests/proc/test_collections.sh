#!/bin/bash
# test_collections.sh - collections replicate element by element (issue
# 11).  Three nodes; node 1 takes a pipelined fill (tests/proc/resp_pipe.py)
# of a set and a hash to COLL_N elements each; every node must then hold exactly
# those members and fields (SMEMBERS, HGETALL, the same SCARD and HLEN; a
# full SSCAN / HSCAN iteration on node 3), and equal digests.  Then node 1
# removes every second element (SREM, HDEL) and the same is checked again.
# Every wait polls against a deadline.
# Size: 3,000 in `make test`.  The issue's 100,000 runs in `make soak`
# (tests/soak/soak_collections.sh, deadlines of 900 s); replicating a big
# collection is linear (README, "Anti-entropy in groved": the other nodes
# hold 10^5 elements a few seconds after the fill).
# Env: COLL_N (3000), COLL_FILL_S (deadline of one fill, 60),
# COLL_CONV_S (deadline for the nodes to agree, 60).
set -uo pipefail
source "$(dirname "$0")/util_cluster.sh"

N=${COLL_N:-3000}
FILL_S=${COLL_FILL_S:-60}
CONV_S=${COLL_CONV_S:-60}
PY=/usr/bin/python3
PIPE=$ROOT/tests/proc/resp_pipe.py
SET=coll:set HASH=coll:hash

require_binaries
[[ -x $PY ]] || skip "needs Debian's /usr/bin/python3 for tests/proc/resp_pipe.py"
source "$(dirname "$0")/util_collections.sh"
t_init
up_or_skip 3 -- "${FAST_FLAGS[@]}"
require_anti_entropy

# pipe NODE OP KEY FIRST LAST [STEP]: a pipelined run on NODE, which must
# answer every command without an error within FILL_S.
pipe() {
	local out t0
	t0=$(now_ms)
	out=$("$PY" "$PIPE" "$GROVE_CLUSTER_NET.$((10 + $1))" 7379 "$2" "$3" "$4" "$5" --step "${6:-1}" \
		--budget "$FILL_S")
	[[ $out == "end done "* && $out == *" errors 0 "* ]] ||
		fail "node $1: $2 $3 [$4, $5) step ${6:-1}: did not finish in $FILL_S s: $out"
	say "node $1: $2 $3 [$4, $5) step ${6:-1} in $(($(now_ms) - t0)) ms"
}

# check_all FIRST STEP: every node holds exactly the members m:i and fields
# f:i (value i) for i = FIRST, FIRST + STEP, ... < N.
check_all() {
	local want=$(((N - $1 + $2 - 1) / $2)) n t0
	t0=$(now_ms)
	expect_members "$T_TMP/want.s" "$T_TMP/want.h" "$1" "$N" "$2"
	wait_counts "$SET" "$HASH" "$want" "$CONV_S" ||
		fail "SCARD/HLEN not $want on every node $CONV_S s after the writes: $(count_line "$SET" "$HASH")"
	say "SCARD and HLEN $want on every node $(($(now_ms) - t0)) ms after the writes"
	for n in 1 2 3; do
		check_set "$n" "$SET" "$T_TMP/want.s" exact
		check_hash "$n" "$HASH" "$T_TMP/want.h" exact
	done
	# a full SSCAN / HSCAN iteration on a node that received the writes
	check_scan 3 "$SET" "$HASH" "$T_TMP/want.s" "$T_TMP/want.h"
	cluster wait-converged --timeout "$CONV_S" >"$T_TMP/conv" 2>&1 ||
		fail "same members everywhere but digests differ: $(cat "$T_TMP/conv")"
	say "3 nodes: the same $want members and $want fields (SMEMBERS, HGETALL; node 3${SCAN_NOTE}), equal digests"
}

pipe 1 mix "$SET,$HASH" 0 "$N"
check_all 0 1
pipe 1 srem "$SET" 0 "$N" 2
pipe 1 hdel "$HASH" 0 "$N" 2
check_all 1 2
say "PASS: a set and a hash of $N elements, then half removed, identical on 3 nodes"
