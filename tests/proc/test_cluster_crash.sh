#!/bin/bash
# test_cluster_crash.sh - kill -9 in the middle of writes, in the `always`
# and `batch` durability modes.
#
# In each mode one redis-cli connection streams SADD, INCRBY and SET to a
# node that is SIGKILLed mid-stream (after about KILL_AFTER_BYTES of
# replies).  Every acknowledged write must then be:
#  1. on a single node restarted alone (no peer can give anything back:
#     this is the node's own durability);
#  2. in a three-node cluster, on node 3 restarted WITHOUT seeds after the
#     kill, which must rejoin from its persisted peers (all see 3 alive);
#  3. on every node once the cluster has converged (needs anti-entropy).
# The counter may hold the one write in flight at the kill: acknowledged
# <= value <= sent.
set -uo pipefail
source "$(dirname "$0")/util_cluster.sh"

STREAM=${STREAM:-10000}        # commands queued per stream (the kill cuts it)
KILL_AFTER_BYTES=${KILL_AFTER_BYTES:-8000}    # about 650 replies

require_binaries
t_init

# stream MODE PHASE NODE: write commands, start them against NODE in the
# background; sets STREAM_PID.  Commands cycle SADD / INCRBY / SET.
stream() {
	local mode=$1 phase=$2 n=$3 i f=$T_TMP/$1.$2
	for ((i = 0; i < STREAM; i++)); do
		case $((i % 3)) in
		0) echo "SADD crash:s e$phase.$i" ;;
		1) echo "INCRBY crash:c 1" ;;
		2) echo "SET crash:r$phase.$i v$i" ;;
		esac
	done >"$f.cmd"
	batch "$n" "$f.cmd" "$f.rep" &
	STREAM_PID=$!
}

# kill_mid_stream MODE PHASE NODE: wait until the stream has about
# KILL_AFTER_BYTES of replies, SIGKILL the node, wait for the client to end,
# and append the acknowledged commands to $T_TMP/MODE.acked.
kill_mid_stream() {
	local f=$T_TMP/$1.$2 deadline=$(($(now_ms) + 30000)) acked
	while (($(stat -c %s "$f.rep" 2>/dev/null || echo 0) < KILL_AFTER_BYTES)); do
		kill -0 "$STREAM_PID" 2>/dev/null || fail "$1: the write stream ended before the kill (raise STREAM)"
		(($(now_ms) < deadline)) || fail "$1: no progress in the write stream"
		sleep 0.05
	done
	cluster kill "$3" >/dev/null || fail "kill $3"
	wait "$STREAM_PID"
	paste -d'\t' "$f.cmd" "$f.rep" | awk -F'\t' '
		$2 ~ /^\(integer\) -?[0-9]+$/ || $2 == "OK" { print $1; next } { exit }' >"$f.acked"
	acked=$(wc -l <"$f.acked")
	((acked < STREAM)) || fail "$1: all $STREAM writes acknowledged: the kill came too late"
	# The first other reply is the kill's; none may be acknowledged after it.
	local later
	later=$(tail -n +$((acked + 2)) "$f.rep" | grep -cE '^(\(integer\) -?[0-9]+|OK)$')
	((later == 0)) || fail "$1: reply $((acked + 1)) was '$(sed -n "$((acked + 1))p" "$f.rep")' to '$(sed -n "$((acked + 1))p" "$f.cmd")', then $later more acknowledgements: an error in mid-stream"
	cat "$f.acked" >>"$T_TMP/$1.acked"
	# At most the command in flight at the kill is applied unacknowledged.
	SENT_INCR=$((SENT_INCR + $(head -n $((acked + 1)) "$f.cmd" | grep -c '^INCRBY')))
	say "$1: node $3 killed after $acked acknowledged writes"
}

# verify MODE NODE: every acknowledged write of MODE present on NODE.
verify() {
	local mode=$1 n=$2 acked=$T_TMP/$1.acked want have incr
	incr=$(grep -c '^INCRBY' "$acked")
	have=$(cli "$n" GET crash:c)
	[[ $have =~ ^[0-9]+$ ]] || fail "$mode: node $n: GET crash:c gave '$have'"
	((have >= incr && have <= SENT_INCR)) ||
		fail "$mode: node $n: counter $have, acknowledged $incr, at most $SENT_INCR sent"
	cli "$n" SMEMBERS crash:s | sort >"$T_TMP/have.s"
	awk '$1 == "SADD" { print $3 }' "$acked" | sort >"$T_TMP/want.s"
	want=$(comm -23 "$T_TMP/want.s" "$T_TMP/have.s" | wc -l)
	((want == 0)) || fail "$mode: node $n lost $want acknowledged SADDs, e.g. $(comm -23 "$T_TMP/want.s" "$T_TMP/have.s" | head -3 | tr '\n' ' ')"
	awk '$1 == "SET" { print "GET " $2 }' "$acked" >"$T_TMP/get.cmd"
	timeout 60 redis-cli -h "$GROVE_CLUSTER_NET.$((10 + n))" -p 7379 <"$T_TMP/get.cmd" >"$T_TMP/get.rep" 2>/dev/null
	awk '$1 == "SET" { print $3 }' "$acked" >"$T_TMP/want.r"
	cmp -s "$T_TMP/want.r" "$T_TMP/get.rep" ||
		fail "$mode: node $n: registers differ from the acknowledged SETs: $(diff "$T_TMP/want.r" "$T_TMP/get.rep" | head -4 | tr '\n' ' ')"
	CHECKED=$(wc -l <"$acked")
}

total=0
for mode in always batch; do
	# 1. Durability of one node alone.
	SENT_INCR=0
	: >"$T_TMP/$mode.acked"
	cluster clean >/dev/null 2>&1
	cluster up 1 --durability "$mode" -- "${FAST_FLAGS[@]}" >/dev/null || fail "$mode: cluster up 1"
	stream "$mode" 1 1
	kill_mid_stream "$mode" 1 1
	cluster start 1 --no-wait >/dev/null || fail "$mode: restart node 1"
	verify "$mode" 1
	total=$((total + CHECKED))
	say "$mode: single node restarted after kill -9: all $CHECKED acknowledged writes present"
done

ae_missing=
for mode in always batch; do
	# 2. Rejoin from persisted peers, without seeds.
	SENT_INCR=0
	: >"$T_TMP/$mode.acked"
	cluster clean >/dev/null 2>&1
	SKIP_NOTE="part 1 passed ($total acknowledged writes on a lone node after kill -9); parts 2-3: "
	up_or_skip 3 --durability "$mode" -- "${FAST_FLAGS[@]}"
	stream "$mode" 2 3
	kill_mid_stream "$mode" 2 3
	cluster start 3 --no-seeds >/dev/null || fail "$mode: node 3 restarted without seeds did not rejoin"
	verify "$mode" 3
	total=$((total + CHECKED))
	say "$mode: node 3 rejoined without seeds after kill -9; all $CHECKED acknowledged writes present on it"

	# 3. Everywhere, once converged.
	if ! ae_running; then
		ae_missing=1
		say "$mode: no anti-entropy activity in INFO (sync_rounds 0): part 3 not checked"
		continue
	fi
	cluster wait-converged --timeout 30 >"$T_TMP/conv" 2>&1 ||
		fail "$mode: no convergence after the restart: $(cat "$T_TMP/conv")"
	for n in 1 2; do verify "$mode" "$n"; done
	total=$((total + 2 * CHECKED))
	say "$mode: $(cat "$T_TMP/conv"); all acknowledged writes on every node"
done
SKIP_NOTE=
[[ -z $ae_missing ]] || skip "parts 1-2 passed ($total acknowledged writes checked); part 3 needs anti-entropy in groved"
say "PASS: $total acknowledged writes checked after kill -9 (always + batch)"
