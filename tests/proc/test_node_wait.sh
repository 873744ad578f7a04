#!/bin/bash
# test_node_wait.sh - WAIT numreplicas timeout on three real groved processes
# with default flags (README "WAIT"), and `grove --wait`.
#
# Healthy: after each of 20 writes on node 1, WAIT 2 1000 answers 2 within
# the timeout (figures: median and max time to the answer, next to the
# same-run baseline of a write becoming readable on nodes 2 and 3 by
# polling GET); a client without writes gets 2 at once.  Partition 1,2|3
# (nftables): after a write on node 1, WAIT 2 1000 answers 1 and returns
# at the timeout (elapsed >= 1000 ms and < 1000 + SLACK_MS), while another
# client is served meanwhile (the loop is not blocked) and INFO shows
# blocked_clients:1; WAIT 1 1000 answers 1 promptly; `grove set --wait 2`
# exits 3, `--wait 1` exits 0.  Heal: WAIT 2 answers 2, and `grove set
# --wait 2` exits 0.  Commands go over bash /dev/tcp connections (one per
# client, inline RESP), timed with $EPOCHREALTIME.  Env: TRIES (20),
# SLACK_MS (1000), PROMPT_MS (800: "promptly" above).
set -uo pipefail
export LC_ALL=C
source "$(dirname "$0")/util_cluster.sh"

TRIES=${TRIES:-20}
SLACK_MS=${SLACK_MS:-1000}
# An answer "at once" (well inside WAIT's 1000 ms timeout) on a loaded machine.
PROMPT_MS=${PROMPT_MS:-800}

require_binaries
require_nft
t_init
up_or_skip 3
require_anti_entropy

# conn VAR I: a RESP connection to node I on a new fd, stored in VAR.
conn() {
	local -n fd_=$1
	exec {fd_}<>"/dev/tcp/$GROVE_CLUSTER_NET.$((10 + $2))/7379" || fail "cannot connect to node $2"
}

# send FD WORDS...: one inline command; the send time goes to SENT_US.
send() {
	local fd=$1
	shift
	SENT_US=${EPOCHREALTIME/./} # no fork: the timing stays exact
	printf '%s\r\n' "$*" >&"$fd"
}

# recv FD: one reply (simple, error, integer or bulk) into REPLY ("(nil)"
# for a null bulk); ELAPSED_MS since the last send.
recv() {
	local line data n
	IFS= read -r -t 30 line <&"$1" || fail "no reply within 30 s"
	line=${line%$'\r'}
	if [[ $line == \$* ]]; then
		n=${line:1}
		if ((n < 0)); then
			REPLY="(nil)"
		else
			IFS= read -r -N $((n + 2)) -t 30 data <&"$1" || fail "short bulk reply"
			REPLY=${data%$'\r\n'}
		fi
	else
		REPLY=$line
	fi
	local now_us=${EPOCHREALTIME/./}
	ELAPSED_MS=$(((now_us - SENT_US) / 1000))
}

req() {
	local fd=$1
	shift
	send "$fd" "$@"
	recv "$fd"
}

# stats FILE: "median M ms, max X ms" of the numbers in FILE.
stats() {
	sort -n "$1" | awk '{ v[NR] = $1 } END { printf "median %d ms, max %d ms", v[int((NR + 1) / 2)], v[NR] }'
}

conn c1 1
conn c2 2
conn c3 3

# --- healthy ---------------------------------------------------------------
# Baseline: a write on node 1 until GET sees it on nodes 2 and 3.
: >"$T_TMP/visible"
for ((i = 1; i <= TRIES; i++)); do
	req "$c1" SET "base:$i" "v$i"
	[[ $REPLY == +OK ]] || fail "SET base:$i: $REPLY"
	start=$SENT_US deadline=$((SENT_US + 10000000))
	for n in 2 3; do
		fd=$c2
		((n == 3)) && fd=$c3
		until req "$fd" GET "base:$i"; [[ $REPLY == "v$i" ]]; do
			((${EPOCHREALTIME/./} < deadline)) || fail "base:$i never became readable on node $n"
		done
	done
	end=${EPOCHREALTIME/./}
	echo $(((end - start) / 1000)) >>"$T_TMP/visible"
done

# WAIT 2 1000 after each write: 2, within the timeout.
: >"$T_TMP/wait2"
for ((i = 1; i <= TRIES; i++)); do
	req "$c1" SET "wait:$i" "v$i"
	[[ $REPLY == +OK ]] || fail "SET wait:$i: $REPLY"
	req "$c1" WAIT 2 1000
	[[ $REPLY == :2 ]] || fail "healthy try $i: WAIT 2 1000 answered '$REPLY' after $ELAPSED_MS ms, want :2"
	((ELAPSED_MS < 1000)) || fail "healthy try $i: WAIT 2 answered 2 only after $ELAPSED_MS ms"
	echo "$ELAPSED_MS" >>"$T_TMP/wait2"
done
healthy_wait=$(stats "$T_TMP/wait2")
healthy_visible=$(stats "$T_TMP/visible")
say "healthy, $TRIES writes on node 1: WAIT 2 1000 answered 2 after $healthy_wait; baseline, write until GET sees it on nodes 2 and 3: $healthy_visible"

# A client without writes: peers known to hold position 0, at once.
conn c0 1
req "$c0" WAIT 2 1000
[[ $REPLY == :2 ]] || fail "a client without writes: WAIT 2 1000 answered '$REPLY', want :2"
((ELAPSED_MS < PROMPT_MS)) || fail "a client without writes waited $ELAPSED_MS ms"

# --- partition 1,2 | 3 ---------------------------------------------------------
cluster partition "1,2|3" >/dev/null || fail "partition 1,2|3"
req "$c1" SET part:1 v
[[ $REPLY == +OK ]] || fail "SET during the partition: $REPLY"
send "$c1" WAIT 2 1000
wait_sent=$SENT_US
# Meanwhile the node serves other clients, and counts the blocked one.
req "$c0" PING
[[ $REPLY == +PONG ]] || fail "PING while a client waits: $REPLY"
((ELAPSED_MS < PROMPT_MS)) || fail "PING took $ELAPSED_MS ms while a client waits (the loop must not block)"
req "$c0" INFO clients
[[ $REPLY == *blocked_clients:1* ]] || fail "INFO clients while one client waits: $REPLY"
SENT_US=$wait_sent
recv "$c1"
[[ $REPLY == :1 ]] || fail "partitioned: WAIT 2 1000 answered '$REPLY', want :1 (node 2 only)"
((ELAPSED_MS >= 1000 && ELAPSED_MS < 1000 + SLACK_MS)) ||
	fail "partitioned: WAIT 2 1000 returned after $ELAPSED_MS ms, want [1000, $((1000 + SLACK_MS)))"
part_wait2=$ELAPSED_MS
req "$c1" WAIT 1 1000
[[ $REPLY == :1 ]] || fail "partitioned: WAIT 1 1000 answered '$REPLY', want :1"
((ELAPSED_MS < PROMPT_MS)) || fail "partitioned: WAIT 1 1000 took $ELAPSED_MS ms, want a prompt answer"
part_wait1=$ELAPSED_MS
req "$c3" GET part:1
[[ $REPLY == "(nil)" ]] || fail "node 3 has part:1 ('$REPLY') although partitioned away"
node1=$(cluster addr 1)
out=$("$GROVE" set part:2 v --node "$node1" --wait 2 --wait-timeout 3000 2>&1)
rc=$?
((rc == 3)) || fail "grove set --wait 2 during the partition: exit $rc, want 3 ($out)"
[[ $out == *"only 1 of 2 peers"* ]] || fail "grove set --wait 2 during the partition said: $out"
"$GROVE" set part:3 v --node "$node1" --wait 1 >/dev/null 2>&1 ||
	fail "grove set --wait 1 during the partition: exit $?, want 0"
say "partition 1,2|3: WAIT 2 1000 answered 1 after $part_wait2 ms; WAIT 1 1000 answered 1 after $part_wait1 ms; grove set --wait 2 exit 3"

# --- heal ----------------------------------------------------------------------
cluster heal >/dev/null || fail "heal"
req "$c1" WAIT 2 15000
[[ $REPLY == :2 ]] || fail "healed: WAIT 2 15000 answered '$REPLY' after $ELAPSED_MS ms, want :2"
heal_wait=$ELAPSED_MS
"$GROVE" set heal:1 v --node "$node1" --wait 2 >/dev/null 2>&1 || fail "grove set --wait 2 after the heal: exit $?"
say "healed: WAIT 2 15000 answered 2 after $heal_wait ms; grove set --wait 2 exit 0"
say "PASS"
