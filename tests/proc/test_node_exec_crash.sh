#!/bin/bash
# test_node_exec_crash.sh - EXEC is one durable write batch (issue 15):
# in batch and always modes, 6 clients run MULTI / INCR a / GET a / INCR b /
# INCR c:C / SADD s:C m:I / EXEC rounds while groved is killed with -9;
# every EXEC reply shows a and b moved together and GET a reading the INCR
# before it; after the restart a == b == the sum of the clients' counters,
# each client's counter equals its set's size (no transaction
# half-applied), and every acknowledged round is there
# (tests/proc/exec_crash.py).
source "$(dirname "$0")/node_lib.sh"
command -v python3 >/dev/null || { echo "skip: python3 not installed"; exit 77; }
PY=$(dirname "$0")/exec_crash.py
P=$((PORT_BASE + 95))

i=0
for mode in batch always; do
	port=$((P + i))
	ack=$SCRATCH/ack-$mode
	kill_mid_burst "x-$mode" "exec-$mode" "$port" "$mode" "$ack" 60 python3 "$PY" burst "$port" 6 "$ack"
	echo "$mode: $ACKED transactions acknowledged before kill -9"
	out=$(python3 "$PY" check "$port" "$ack")
	rc=$?
	echo "$out" | head -5
	((rc == 0)) && pass "$mode: kill -9 mid-burst: every acknowledged EXEC whole, none half-applied" ||
		fail "$mode: kill -9 mid-burst lost or half-applied a transaction"
	i=$((i + 1))
done
finish
