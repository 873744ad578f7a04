#!/bin/bash
# test_cluster_skew.sh - a node whose clock runs far ahead cannot make its
# writes win.  Node 3 runs with GROVE_TEST_CLOCK_SKEW_MS (its physical clock
# reads SKEW_MS ahead; groved's test seam) and writes a register and a map
# field first; node 1 writes the same register and field afterwards.  Nodes
# 1 and 2 must reject node 3's states (their HLC is beyond --max-offset),
# count the rejections in INFO, converge between themselves and keep node
# 1's values; their clocks must not have been dragged forward.
set -uo pipefail
source "$(dirname "$0")/util_cluster.sh"

SKEW_MS=${SKEW_MS:-3600000}

require_binaries
grep -qa GROVE_TEST_CLOCK_SKEW_MS "$GROVED" ||
	skip "groved has no clock-skew seam (env GROVE_TEST_CLOCK_SKEW_MS) to run a node with a skewed clock"
t_init
up_or_skip 3 -- "${FAST_FLAGS[@]}" --max-offset 500
require_anti_entropy
cluster stop 3 >/dev/null || fail "stop 3"
GROVE_TEST_CLOCK_SKEW_MS=$SKEW_MS cluster start 3 >/dev/null || fail "start 3 with skew"

# States refused for a timestamp beyond --max-offset, however groved names it.
REJECTED='^merges_rejected$|^ae_rejected_clock$'
rejected_before=$(($(info_sum 1 "$REJECTED") + $(info_sum 2 "$REJECTED")))
hlc_before=$(info_value 1 hlc_last)
[[ $(cli 3 SET skew:r from3) == OK ]] || fail "SET on node 3"
cli 3 HSET skew:h f from3 >/dev/null || fail "HSET on node 3"
# Node 3's writes must reach 1 and 2 and be refused there: wait for the count.
deadline=$(($(now_ms) + 30000))
while :; do
	rejected=$(($(info_sum 1 "$REJECTED") + $(info_sum 2 "$REJECTED") - rejected_before))
	((rejected > 0)) && break
	(($(now_ms) < deadline)) || fail "no rejected state counted on nodes 1, 2 in 30 s (INFO merges_rejected, ae_rejected_clock)"
	sleep 0.2
done
[[ $(cli 1 SET skew:r from1) == OK ]] || fail "SET on node 1"
cli 1 HSET skew:h f from1 >/dev/null || fail "HSET on node 1"
deadline=$(($(now_ms) + 30000))
until [[ $(cli 1 GROVE DIGEST) == "$(cli 2 GROVE DIGEST)" && $(cli 2 GET skew:r) == from1 ]]; do
	(($(now_ms) < deadline)) || fail "nodes 1 and 2 did not converge on node 1's write"
	sleep 0.2
done
for n in 1 2; do
	[[ $(cli "$n" GET skew:r) == from1 ]] || fail "node $n: skew:r = $(cli "$n" GET skew:r), want from1"
	[[ $(cli "$n" HGET skew:h f) == from1 ]] || fail "node $n: skew:h f = $(cli "$n" HGET skew:h f), want from1"
done
hlc_after=$(info_value 1 hlc_last)
[[ $hlc_before =~ ^[0-9]+$ && $hlc_after =~ ^[0-9]+$ ]] || fail "INFO hlc_last of node 1: '$hlc_before' then '$hlc_after'"
if ((hlc_before > 0)); then
	# hlc_last holds 48-bit milliseconds << 16: node 1 must not have jumped by the skew.
	jump_ms=$(((hlc_after - hlc_before) >> 16))
	((jump_ms < SKEW_MS / 2)) || fail "node 1's HLC moved $jump_ms ms ahead: it accepted the skewed clock"
fi
say "PASS: node 3 ${SKEW_MS} ms ahead; $rejected of its states rejected and counted; nodes 1, 2 keep node 1's later writes (4 values checked)"
