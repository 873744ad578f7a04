#!/bin/bash
# test_node_cli.sh - the grove CLI against real nodes: typed operations,
# members, status, usage and runtime exit codes, AUTH through
# $GROVE_PASSWORD, and `grove sync` between two stopped nodes' data
# directories (counter sums, set union, refusal while a node runs; a folder
# without a store is an error and gets no store created in it).
source "$(dirname "$0")/node_lib.sh"
[[ -x $GROVE ]] || { echo "skip: $GROVE not built"; exit 77; }

P=$((PORT_BASE + 20))
Q=$((PORT_BASE + 21))
start_node a n1 "$P" || finish
PA=$NODE_PID
start_node b n2 "$Q" || finish
PB=$NODE_PID
export GROVE_NODE=127.0.0.1:$P

expect_eq "grove incr" "$("$GROVE" incr c 5)" 5
expect_eq "grove incr default" "$("$GROVE" incr c)" 6
expect_eq "grove decr" "$("$GROVE" decr c 2)" 4
expect_eq "grove set" "$("$GROVE" set r hello)" OK
expect_eq "grove get" "$("$GROVE" get r)" hello
expect_eq "grove sadd" "$("$GROVE" sadd s a b)" 2
expect_eq "grove hset" "$("$GROVE" hset h f v)" 1
expect_eq "grove hgetall" "$("$GROVE" hgetall h | tr '\n' ' ')" "f v "
expect_eq "grove keys" "$("$GROVE" keys | tr '\n' ' ')" "c h r s "
expect_match "grove digest" "$("$GROVE" digest)" "^[0-9a-f]{32}$"
expect_match "grove members" "$("$GROVE" members | tail -1)" "^n1 +127.0.0.1:$((P + 1000)) +alive +[0-9]+$"
expect_match "grove status" "$("$GROVE" status | tr -s ' ' | tr '\n' '|')" "node n1\|.*keys 4\|"
"$GROVE" incr r >/dev/null 2>&1
expect_eq "server error exit status" "$?" 1
"$GROVE" get >/dev/null 2>&1
expect_eq "usage error exit status" "$?" 2
"$GROVE" get k --node 127.0.0.1:1 >/dev/null 2>&1
expect_eq "connection refused exit status" "$?" 1

expect_eq "grove incr on b" "$("$GROVE" incr c 100 --node "127.0.0.1:$Q")" 100
expect_eq "grove sadd on b" "$("$GROVE" sadd s z --node "127.0.0.1:$Q")" 1

out=$("$GROVE" sync "$SCRATCH/a" "$SCRATCH/b" 2>&1)
expect_eq "sync while running: exit status" "$?" 1
expect_match "sync while running explained" "$out" "lock"
stop_node "$PA"
stop_node "$PB"
# a folder that is not a data directory: an error, and nothing created in it
out=$("$GROVE" sync "$SCRATCH/a/db" "$SCRATCH/b" 2>&1)
expect_eq "sync of a store folder: exit status" "$?" 1
expect_match "sync of a store folder explained" "$out" "$SCRATCH/a/db: no Grove store in $SCRATCH/a/db/db.*data directory"
[[ -e $SCRATCH/a/db/db ]] && fail "sync created $SCRATCH/a/db/db" || pass "sync created nothing in the store folder"
mkdir -p "$SCRATCH/empty"
out=$("$GROVE" sync "$SCRATCH/a" "$SCRATCH/empty" 2>&1)
expect_eq "sync of an empty folder: exit status" "$?" 1
[[ -z $(ls -A "$SCRATCH/empty") ]] && pass "sync left the empty folder empty" || fail "sync wrote into $SCRATCH/empty"
"$GROVE" sync "$SCRATCH/a" "$SCRATCH/nosuch" >/dev/null 2>&1
expect_eq "sync of a missing folder: exit status" "$?" 1
[[ -e $SCRATCH/nosuch ]] && fail "sync created $SCRATCH/nosuch" || pass "sync created no missing folder"
out=$("$GROVE" sync "$SCRATCH/a" "$SCRATCH/b")
expect_eq "sync exit status" "$?" 0
# 8 items (a key's head or one element, doc/storage_format.md): the heads
# of c, r, s and h, the members a, b (on a) and z (on b) of s, h's field f
expect_match "sync report" "$out" "items merged +8"
out=$("$GROVE" sync "$SCRATCH/a" "$SCRATCH/b")
expect_match "second sync finds nothing" "$out" "segments differing +0"
start_node b n2 "$Q" || finish
expect_eq "counter sums after sync" "$("$GROVE" get c --node "127.0.0.1:$Q")" 104
expect_eq "set union after sync" "$("$GROVE" smembers s --node "127.0.0.1:$Q" | tr '\n' ' ')" "a b z "
stop_node "$NODE_PID"
expect_eq "node b exit status" "$STOP_RC" 0

# password through the environment
printf 'requirepass = pw1\n' >"$SCRATCH/pw.conf"
AUTH_ARGS=(--no-auth-warning -a pw1)
start_node a n1 "$P" --config "$SCRATCH/pw.conf" || finish
AUTH_ARGS=()
"$GROVE" get c >/dev/null 2>&1
expect_eq "no password: exit status" "$?" 1
expect_eq "GROVE_PASSWORD" "$(GROVE_PASSWORD=pw1 "$GROVE" get c)" 104
stop_node "$NODE_PID"
finish
