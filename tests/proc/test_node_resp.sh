#!/bin/bash
# test_node_resp.sh - one groved driven by redis-cli and raw sockets: typed
# commands and their errors, pipelining, a malformed stream closing only its
# own connection, a 10 MiB request beyond the limit, SIGTERM exit 0 and a
# restart that keeps every value.
source "$(dirname "$0")/node_lib.sh"

P=$PORT_BASE
cli() { redis-cli -p "$P" "$@" 2>&1; }

start_node a n1 "$P" || finish
PID=$NODE_PID

# --- counter, register, set, map ---
expect_eq "INCRBY" "$(cli incrby c 40)" 40
expect_eq "INCR" "$(cli incr c)" 41
expect_eq "DECRBY" "$(cli decrby c 11)" 30
expect_eq "GET counter" "$(cli get c)" 30
expect_eq "TYPE counter" "$(cli type c)" string
expect_eq "SET" "$(cli set r hello)" OK
expect_eq "GET register" "$(cli get r)" hello
expect_eq "SADD" "$(cli sadd s a b c)" 3
expect_eq "SREM" "$(cli srem s b zz)" 1
expect_eq "SMEMBERS" "$(cli smembers s | tr '\n' ' ')" "a c "
expect_eq "SISMEMBER" "$(cli sismember s a)" 1
expect_eq "HSET" "$(cli hset h f1 v1 f2 v2)" 2
expect_eq "HDEL" "$(cli hdel h f1)" 1
expect_eq "HGETALL" "$(cli hgetall h | tr '\n' ' ')" "f2 v2 "
expect_eq "DEL" "$(cli del r s nope)" 2
expect_eq "EXISTS after DEL" "$(cli exists r s h c)" 2
expect_eq "DBSIZE" "$(cli dbsize)" 2

# --- errors ---
expect_eq "WRONGTYPE INCR on map" "$(cli incr h)" \
	"WRONGTYPE Operation against a key holding the wrong kind of value"
expect_eq "INCR, then SET replaces the counter" "$(cli incr sc) $(cli set sc x)" "1 OK"
expect_eq "INCR of a non-integer string" "$(cli incr sc)" "ERR value is not an integer or out of range"
expect_eq "arity" "$(cli get)" "ERR wrong number of arguments for 'get' command"
expect_eq "SET bad option" "$(cli set k v nx xx)" "ERR syntax error"
expect_eq "not an integer" "$(cli incrby c abc)" "ERR value is not an integer or out of range"
expect_match "unknown command" "$(cli frobnicate x)" "^ERR unknown command 'frobnicate'"
expect_eq "SELECT 1" "$(cli select 1)" "ERR DB index is out of range"

# --- pipelining: 2000 INCRs through redis-cli --pipe, then raw socket ---
for i in $(seq 2000); do printf '*2\r\n$4\r\nINCR\r\n$2\r\npc\r\n'; done >"$SCRATCH/pipe.resp"
expect_match "redis-cli --pipe" "$(redis-cli -p "$P" --pipe <"$SCRATCH/pipe.resp" 2>&1 | tail -1)" \
	"errors: 0, replies: 2000"
expect_eq "pipelined sum" "$(cli get pc)" 2000
exec 3<>"/dev/tcp/127.0.0.1/$P"
printf 'PING\r\n*2\r\n$4\r\nINCR\r\n$2\r\npc\r\nECHO "x y"\r\n*2\r\n$3\r\nGET\r\n$2\r\npc\r\n' >&3
replies=()
for i in 1 2 3 4 5; do IFS= read -r -t 5 line <&3 && replies+=("${line%$'\r'}"); done
expect_eq "raw pipeline in order" "${replies[*]}" "+PONG :2001 \$3 x y \$4"
exec 3>&-

# --- a malformed stream closes only its own connection ---
exec 3<>"/dev/tcp/127.0.0.1/$P"
exec 4<>"/dev/tcp/127.0.0.1/$P"
printf '*1\r\n$x\r\n' >&3
IFS= read -r -t 5 line <&3
expect_eq "protocol error reply" "${line%$'\r'}" "-ERR Protocol error: invalid bulk length"
if IFS= read -r -t 5 line <&3; then fail "malformed client still open"; else pass "malformed client closed"; fi
printf 'PING\r\n' >&4
IFS= read -r -t 5 line <&4
expect_eq "other client unaffected" "${line%$'\r'}" "+PONG"
exec 3>&- 4>&-

# --- a 10 MiB request beyond the 8 MiB default limit ---
out=$(head -c 10485760 /dev/zero | tr '\0' x | redis-cli -p "$P" -x set big 2>&1)
if [[ $out == OK ]]; then fail "10 MiB request accepted"; else pass "10 MiB request refused: ${out:0:70}"; fi
expect_eq "server alive after big request" "$(cli ping)" PONG
expect_eq "big key not written" "$(cli exists big)" 0
expect_match "INFO stats counts protocol errors" "$(cli info stats | tr -d '\r' | grep protocol_errors)" \
	"^protocol_errors:[2-9]"

# --- SIGTERM: exit 0, restart keeps the data ---
stop_node "$PID"
expect_eq "SIGTERM exit status" "$STOP_RC" 0
grep -q "SIGTERM" "$SCRATCH/a.log" && pass "SIGTERM logged" || fail "SIGTERM not logged"
start_node a n1 "$P" || finish
expect_eq "counter after restart" "$(cli get c)" 30
expect_eq "pipelined counter after restart" "$(cli get pc)" 2001
expect_eq "map after restart" "$(cli hget h f2)" v2
expect_eq "deleted set stays deleted" "$(cli exists s)" 0
stop_node "$NODE_PID"
expect_eq "SIGTERM exit status (2)" "$STOP_RC" 0
finish
