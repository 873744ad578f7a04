#!/bin/bash
# test_node_pause_monitor.sh - CLIENT PAUSE / UNPAUSE on a real groved (both
# durability paths: batch, so writes go through workers): WRITE holds the
# writes of other clients (a SET answers only after the pause) while reads
# answer at once; UNPAUSE from a reading client releases a held SET; ALL
# holds every command, PING included; a pause never loses or reorders a
# command (the held SETs are applied, in order, after it).  MONITOR (same
# node): a monitoring connection receives Redis's line for each command of
# another client, writes run on workers included, in order, quoted as
# Redis does, AUTH hidden.
source "$(dirname "$0")/node_lib.sh"

P=$((PORT_BASE + 85))
start_node a n1 "$P" --durability batch || finish
cli() { redis-cli -p "$P" "$@"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# elapsed CMD...: runs a redis-cli command, prints "ms reply"
elapsed() {
	local t0 r
	t0=$(now_ms)
	r=$(cli "$@" 2>&1)
	echo "$(($(now_ms) - t0)) $r"
}

# bounds far from the pause's end, so a loaded machine does not matter
t0=$(now_ms)
expect_eq "CLIENT PAUSE 3000 WRITE" "$(cli client pause 3000 write)" OK
read -r ms reply < <(elapsed get nokey)
[[ -z $reply ]] && (($(now_ms) - t0 < 2500)) && pass "a read answers during a WRITE pause (${ms} ms)" ||
	fail "read during WRITE pause: '$reply' after $ms ms"
cli set k1 v1 >"$SCRATCH/set1.out" 2>&1
ms=$(($(now_ms) - t0))
[[ $(cat "$SCRATCH/set1.out") == OK ]] && ((ms >= 2900)) &&
	pass "a SET waits for the WRITE pause to end (${ms} ms after PAUSE)" ||
	fail "SET during WRITE pause: '$(cat "$SCRATCH/set1.out")' after $ms ms"

expect_eq "CLIENT PAUSE 20000 WRITE" "$(cli client pause 20000 write)" OK
t0=$(now_ms)
cli set k2 v2 >"$SCRATCH/held.out" 2>&1 &
held=$!
deadline=$((SECONDS + 5)) # the SET is held: no reply while paused
until [[ $(cli client list | grep -c 'cmd=') -ge 2 ]] || ((SECONDS >= deadline)); do sleep 0.05; done
[[ ! -s $SCRATCH/held.out ]] && pass "a SET is held by a 20 s WRITE pause" || fail "SET not held: $(cat "$SCRATCH/held.out")"
expect_eq "CLIENT UNPAUSE" "$(cli client unpause)" OK
wait "$held"
ms=$(($(now_ms) - t0))
[[ $(cat "$SCRATCH/held.out") == OK ]] && ((ms < 10000)) && pass "UNPAUSE releases the held SET (${ms} ms)" ||
	fail "held SET after UNPAUSE: '$(cat "$SCRATCH/held.out")' after $ms ms"
expect_eq "held SETs applied" "$(cli mget k1 k2 | tr '\n' ' ')" "v1 v2 "

expect_eq "CLIENT PAUSE 600 (ALL)" "$(cli client pause 600)" OK
read -r ms reply < <(elapsed ping)
[[ $reply == PONG ]] && ((ms >= 300)) && pass "PING waits for an ALL pause to end (${ms} ms)" ||
	fail "PING during ALL pause: '$reply' after $ms ms"

# pipelined writes held by a pause come out in order, none lost
expect_eq "CLIENT PAUSE 300 WRITE" "$(cli client pause 300 write)" OK
for i in $(seq 200); do printf 'INCR pc\r\nSET last %s\r\n' "$i"; done | cli --pipe >/dev/null 2>&1
expect_eq "pipelined writes after a pause: all applied in order" "$(cli get pc) $(cli get last)" "200 200"

# --- MONITOR ---
redis-cli -p "$P" monitor >"$SCRATCH/monitor.out" 2>&1 &
mon=$!
PIDS+=("$mon")
deadline=$((SECONDS + 10))
until grep -q '^OK$' "$SCRATCH/monitor.out" || ((SECONDS >= deadline)); do sleep 0.05; done
cli set "a b" "$(printf 'x\ny')" >/dev/null
cli get k1 >/dev/null
cli auth nopass >/dev/null 2>&1
cli incr done >/dev/null
deadline=$((SECONDS + 10))
until grep -q '"incr" "done"' "$SCRATCH/monitor.out" || ((SECONDS >= deadline)); do sleep 0.05; done
kill "$mon" 2>/dev/null
got=$(grep -E '"(set|get|incr|auth)"' "$SCRATCH/monitor.out")
expect_match "MONITOR: SET line as Redis prints it" "$(grep '"set"' <<<"$got")" \
	'^[0-9]+\.[0-9]{6} \[0 127\.0\.0\.1:[0-9]+\] "set" "a b" "x\\ny"$'
expect_match "MONITOR: GET then INCR, in order" "$(tr '\n' '|' <<<"$got")" '"get" "k1"\|[^|]*"incr" "done"\|$'
[[ $got != *'"auth"'* ]] && pass "MONITOR hides AUTH" || fail "MONITOR shows AUTH: $got"
expect_eq "node answers after the monitor left" "$(cli ping)" PONG

expect_eq "CLIENT PAUSE bad mode" "$(cli client pause 10 foo)" "ERR CLIENT PAUSE mode must be WRITE or ALL"
expect_eq "CLIENT PAUSE bad timeout" "$(cli client pause x)" "ERR timeout is not an integer or out of range"
expect_eq "CLIENT PAUSE negative" "$(cli client pause -1)" "ERR timeout is negative"
finish
