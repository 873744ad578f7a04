#!/bin/bash
# node_lib.sh - helpers for the groved real-process tests (sourced by
# tests/proc/test_node_*.sh; not a test itself).
#
# Every process started here is recorded and killed by the EXIT trap; every
# wait polls with a deadline instead of sleeping a fixed time.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
GROVED=$ROOT/bin/groved
GROVE=$ROOT/bin/grove
SCRATCH=$(mktemp -d /tmp/grove-proc.XXXXXX)
PIDS=()
FAILS=0
# A port range per test run, so parallel runs and other helpers don't clash;
# kept below the kernel's ephemeral range (32768+ by default), whose ports
# outgoing gossip and client connections take on 127.0.0.1 (a restarted node
# could find its port taken).  Tests use PORT_BASE+0..99 and +1000..1099.
PORT_BASE=$((10000 + ($$ * 7) % 20000))

cleanup() {
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$SCRATCH"
}
trap cleanup EXIT

command -v redis-cli >/dev/null || { echo "skip: redis-cli not installed"; exit 77; }
[[ -x $GROVED ]] || { echo "skip: $GROVED not built"; exit 77; }

fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }

# expect_eq NAME GOT WANT
expect_eq() {
	if [[ "$2" == "$3" ]]; then pass "$1"; else fail "$1: got '$2', want '$3'"; fi
}
# expect_match NAME GOT REGEX
expect_match() {
	if [[ "$2" =~ $3 ]]; then pass "$1"; else fail "$1: got '$2', want /$3/"; fi
}

# wait_for SECONDS CMD...: polls CMD until it succeeds (false after SECONDS).
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	while ((SECONDS < deadline)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
# log_has NAME REGEX: $SCRATCH/NAME.log (start_node's log) has a match.
log_has() { grep -q -- "$2" "$SCRATCH/$1.log"; }
# info_field PORT FIELD: the field of INFO gossip on the node at PORT.
info_field() { redis-cli -p "$1" info gossip | tr -d '\r' | sed -n "s/^$2://p"; }

# make_identity DIR ID: CA (shared per run) + node key and certificate in
# DIR, when bin/grove can make them (groved built without the security
# layer does not check them).
make_identity() {
	local dir=$1 id=$2
	mkdir -p "$dir"
	[[ -x $GROVE ]] || return 0
	if [[ ! -e $SCRATCH/ca/ca.key ]]; then
		"$GROVE" ca init "$SCRATCH/ca" >/dev/null || { fail "grove ca init"; return 1; }
	fi
	"$GROVE" cert "$SCRATCH/ca" --id "$id" --out "$dir" >/dev/null || { fail "grove cert $id"; return 1; }
}

# start_node NAME ID CLIENT_PORT [groved flags...]: starts groved with data
# in $SCRATCH/NAME, client on 127.0.0.1:CLIENT_PORT, gossip on
# 127.0.0.1:CLIENT_PORT+1000; sets NODE_PID.  Waits until PING answers.
start_node() {
	local name=$1 id=$2 port=$3
	shift 3
	local dir=$SCRATCH/$name
	[[ -e $dir/node.crt || ! -x $GROVE ]] || make_identity "$dir" "$id" || return 1
	mkdir -p "$dir"
	"$GROVED" --id "$id" --data "$dir" --client "127.0.0.1:$port" \
		--gossip "127.0.0.1:$((port + 1000))" --log-file "$SCRATCH/$name.log" "$@" &
	NODE_PID=$!
	PIDS+=("$NODE_PID")
	wait_ping "$port" "${AUTH_ARGS[@]}" || { fail "node $name did not answer PING"; tail -5 "$SCRATCH/$name.log"; return 1; }
}
AUTH_ARGS=()

# kill_mid_burst NAME ID PORT MODE ACK N CMD...: starts node NAME (id ID) on
# PORT in durability MODE, runs CMD in the background (a client burst that
# appends a line to ACK per acknowledged unit), SIGKILLs the node once ACK
# has N lines (at most 30 s), waits for CMD, sets ACKED to ACK's lines and
# restarts the node on the same data.
kill_mid_burst() {
	local name=$1 id=$2 port=$3 mode=$4 ack=$5 n=$6 pid bp deadline
	shift 6
	: >"$ack"
	start_node "$name" "$id" "$port" --durability "$mode" || finish
	pid=$NODE_PID
	"$@" &
	bp=$!
	deadline=$((SECONDS + 30))
	while (($(wc -l <"$ack") < n && SECONDS < deadline)); do sleep 0.02; done
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	wait "$bp"
	ACKED=$(wc -l <"$ack")
	start_node "$name" "$id" "$port" --durability "$mode" || finish
}

# wait_ping PORT [redis-cli args]: polls PING for up to 30 s (opening a
# store can take seconds on a loaded machine).
wait_ping() {
	local port=$1
	shift
	local deadline=$((SECONDS + 30))
	while ((SECONDS < deadline)); do
		[[ $(redis-cli -p "$port" "$@" ping 2>/dev/null) == PONG ]] && return 0
		sleep 0.05
	done
	return 1
}

# stop_node PID: SIGTERM, then waits (deadline 10 s) and sets STOP_RC to
# the exit status ("timeout" if it did not stop).
stop_node() {
	local pid=$1 deadline=$((SECONDS + 10)) st
	kill -TERM "$pid"
	while ((SECONDS < deadline)); do
		st=$(ps -o stat= -p "$pid" 2>/dev/null)
		[[ -z $st || $st == Z* ]] && break
		sleep 0.05
	done
	if [[ -n $st && $st != Z* ]]; then
		STOP_RC=timeout
		return
	fi
	wait "$pid"
	STOP_RC=$?
}

# start_three PORT [groved flags...]: nodes n1, n2, n3 on clients PORT,
# PORT+1, PORT+2 (n2 and n3 seeded with n1), then waits (deadline 20 s)
# until each sees 3 members alive; finishes the test on failure.
start_three() {
	local p=$1 port deadline
	shift
	start_node n1 n1 "$p" "$@" || finish
	start_node n2 n2 "$((p + 1))" "$@" --seeds "127.0.0.1:$((p + 1000))" || finish
	start_node n3 n3 "$((p + 2))" "$@" --seeds "127.0.0.1:$((p + 1000))" || finish
	deadline=$((SECONDS + 20))
	for port in "$p" "$((p + 1))" "$((p + 2))"; do
		until [[ $(redis-cli -p "$port" info cluster 2>/dev/null | tr -d '\r' | grep members_alive) == members_alive:3 ]]; do
			((SECONDS < deadline)) || { fail "node $port does not see 3 members"; finish; }
			sleep 0.05
		done
	done
	pass "3 nodes joined"
}

finish() {
	if ((FAILS > 0)); then
		echo "$FAILS check(s) failed"
		exit 1
	fi
	echo "all checks passed"
	exit 0
}
