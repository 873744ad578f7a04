#!/bin/bash
# test_cert_duplicate.sh - two live processes with one node id, with real
# processes (issue 14, failure 5):
#  1. a copied data directory started next to the original, with no third
#     node (the copy's seed is the original): the two meet only through
#     each other's sessions and tell each other apart by instance nonce;
#     both log ERROR, the copy (started later) refuses writes.
#  2. a key rotation done by starting a new process (new key, newer
#     certificate) while the old one keeps running: the peers answer the
#     old process's refused datagrams with a notice sealed for its old key,
#     so it logs ERROR (superseded) and refuses writes, and tells the new
#     process, which logs ERROR too; the peer refuses the old one's streams
#     as "superseded", not "expired".
. "$(dirname "$0")/node_lib.sh"
[[ -x $GROVE ]] || { echo "skip: $GROVE not built"; exit 77; }
P=$((PORT_BASE + 70))
fast=(--probe-interval 200 --gossip-interval 100)

# 1. x and its copy x2, nobody else.
start_node x x "$P" "${fast[@]}" || finish
PX=$NODE_PID
cp -a "$SCRATCH/x" "$SCRATCH/x2"
start_node x2 x "$((P + 1))" "${fast[@]}" --seeds "127.0.0.1:$((P + 1000))" || finish
PX2=$NODE_PID
wait_for 15 log_has x2 "ERROR.*another live instance of this node's id 'x' runs at 127.0.0.1:$((P + 1000)) and has precedence" &&
	pass "the copy logs ERROR naming the original" || fail "x2.log: $(tail -3 "$SCRATCH/x2.log")"
wait_for 15 log_has x "ERROR.*another live instance of this node's id 'x' runs at 127.0.0.1:$((P + 1001)) and gives way to this one" &&
	pass "the original logs ERROR naming the copy" || fail "x.log: $(tail -3 "$SCRATCH/x.log")"
expect_match "write on the copy" "$(redis-cli -p "$((P + 1))" set k v 2>&1)" "^DUPLICATE .*'x'"
expect_eq "write on the original" "$(redis-cli -p "$P" set k v 2>&1)" OK
expect_eq "INFO duplicate_instance on the original" "$(info_field "$P" duplicate_instance)" 1
expect_eq "INFO writes_refused_duplicate on the copy" "$(info_field "$((P + 1))" writes_refused_duplicate)" 1
stop_node "$PX2"
stop_node "$PX"

# 2. a and b; then a new b (new key, newer certificate) while the old b runs.
start_node a a "$((P + 2))" "${fast[@]}" || finish
PA=$NODE_PID
start_node b b "$((P + 3))" "${fast[@]}" --seeds "127.0.0.1:$((P + 1002))" || finish
PB=$NODE_PID
both() { [[ $(redis-cli -p "$((P + 2))" grove members 2>/dev/null | paste -sd' ') =~ b\ [^\ ]+\ alive ]]; }
wait_for 15 both && pass "a sees b alive" || fail "a does not see b"
"$GROVE" keygen --dir "$SCRATCH/b-new" >/dev/null
"$GROVE" cert "$SCRATCH/ca" --id b --pubkey "$SCRATCH/b-new/node.pub" --out "$SCRATCH/b-new/node.crt" >/dev/null
cp "$SCRATCH/ca/ca.pub" "$SCRATCH/b-new/"
start_node b-new b "$((P + 4))" "${fast[@]}" --seeds "127.0.0.1:$((P + 1002))" || finish
wait_for 20 log_has b "ERROR.*this node's certificate (key [0-9a-f]*) is superseded by a newer one for id 'b'" &&
	pass "the old b logs ERROR: superseded" || fail "b.log: $(tail -3 "$SCRATCH/b.log")"
wait_for 20 log_has b-new "ERROR.*another live instance of this node's id 'b' runs at 127.0.0.1:$((P + 1003)) and gives way to this one" &&
	pass "the new b logs ERROR naming the old one (told by it)" || fail "b-new.log: $(tail -3 "$SCRATCH/b-new.log")"
expect_match "write on the old b" "$(redis-cli -p "$((P + 3))" set k2 v 2>&1)" "^DUPLICATE .*'b'"
expect_eq "write on the new b" "$(redis-cli -p "$((P + 4))" set k2 v 2>&1)" OK
expect_eq "INFO writes_refused_duplicate on the old b" "$(info_field "$((P + 3))" writes_refused_duplicate)" 1
expect_eq "INFO cert_superseded on the old b" "$(info_field "$((P + 3))" cert_superseded)" 1
# (the new b may have told the old one first: it asks an older instance of
# its id directly; a's notice answers the old b's next refused datagram)
notices_sent() { (($(info_field "$((P + 2))" superseded_notices_sent) > 0)); }
wait_for 10 notices_sent && pass "a counts superseded_notices_sent" || fail "a: superseded_notices_sent 0"
n=$(grep -c "ERROR.*is superseded by a newer one for id 'b'" "$SCRATCH/b.log")
expect_eq "one superseded ERROR on the old b" "$n" 1
wait_for 20 log_has a "gossip stream from b refused: certificate superseded" &&
	pass "a names the stream refusal: superseded" || fail "a.log: no superseded stream refusal"
if grep -q "stream from b refused: certificate expired" "$SCRATCH/a.log"; then
	fail "a.log says expired"
else
	pass "a never says expired"
fi
finish
