#!/bin/bash
# test_cert_lifecycle.sh - the certificate lifecycle with real processes:
# a key made on the node (grove keygen) and only its public half signed by
# the CA (grove cert --pubkey), grove cert show, renewal and key rotation
# reloaded by SIGHUP while the other node keeps running (data still flows
# both ways, no identity conflict), INFO's expiry fields, a revocation
# list (grove revoke) loaded by SIGHUP on one node, gossiped to the other,
# and the revoked peer refused with an ERROR naming it; and a second
# instance of one id (copied data directory) refusing writes.
. "$(dirname "$0")/node_lib.sh"
[[ -x $GROVE ]] || { echo "skip: $GROVE not built"; exit 77; }
P=$((PORT_BASE + 60))
CA=$SCRATCH/ca
A=$SCRATCH/a
B=$SCRATCH/b
members() { redis-cli -p "$1" grove members 2>/dev/null | paste -sd' '; }
both_alive() { [[ $(members "$P") =~ (a [^ ]+ alive [0-9]+ ?b [^ ]+ alive|b [^ ]+ alive [0-9]+ ?a [^ ]+ alive) ]]; }
get_is() { [[ $(redis-cli -p "$1" get "$2" 2>/dev/null) == "$3" ]]; }

"$GROVE" ca init "$CA" >/dev/null || { fail "ca init"; finish; }
"$GROVE" cert "$CA" --id a --out "$A" >/dev/null || { fail "cert a"; finish; }
# b: the key is made where the node runs; only node.pub goes to the CA.
out=$("$GROVE" keygen --dir "$B") && pass "keygen" || fail "keygen: $out"
[[ $(stat -c %a "$B/node.key") == 600 ]] && pass "node.key is 0600" || fail "node.key mode"
"$GROVE" cert "$CA" --id b --pubkey "$B/node.pub" --out "$B/node.crt" --days 20 >/dev/null &&
	pass "cert --pubkey" || fail "cert --pubkey"
cp "$CA/ca.pub" "$B/"
show=$("$GROVE" cert show "$B/node.crt")
expect_match "cert show" "$(echo "$show" | paste -sd' ')" \
	"id: +b key: +[0-9a-f]{32} version: +2 serial: +[0-9]+ .*not before: .*not after: .*valid.*issuer: +CA [0-9a-f]{16}"

fast=(--probe-interval 200 --gossip-interval 100)
start_node a a "$P" "${fast[@]}" || finish
PA=$NODE_PID
start_node b b "$((P + 1))" "${fast[@]}" --seeds "127.0.0.1:$((P + 1000))" || finish
PB=$NODE_PID
wait_for 20 both_alive && pass "a and b alive" || fail "members: $(members "$P")"
log_has b "certificate expires in 30 days" && pass "b warned: 20-day certificate (30-day threshold)" ||
	fail "no expiry warning in b.log"
left=$(info_field "$((P + 1))" cert_expires_in_s)
((left > 19 * 86400 && left <= 20 * 86400)) && pass "INFO cert_expires_in_s $left" || fail "cert_expires_in_s '$left'"
expect_eq "INFO peer_cert_nearest_expiry_id on a" "$(info_field "$P" peer_cert_nearest_expiry_id)" b

# Renewal (same key), then rotation (new key): SIGHUP on b only.
"$GROVE" cert "$CA" --id b --pubkey "$B/node.pub" --out "$B/node.crt" >/dev/null || fail "renew"
kill -HUP "$PB"
wait_for 10 log_has b "certificate reloaded" && pass "b reloaded the renewed certificate" || fail "no reload in b.log"
"$GROVE" keygen --dir "$SCRATCH/b-new" >/dev/null
"$GROVE" cert "$CA" --id b --pubkey "$SCRATCH/b-new/node.pub" --out "$SCRATCH/b-new/node.crt" >/dev/null
newkey=$("$GROVE" cert show "$SCRATCH/b-new/node.crt" | sed -n 's/^key: *//p')
mv "$SCRATCH/b-new/node.key" "$B/node.key" && mv "$SCRATCH/b-new/node.crt" "$B/node.crt"
kill -HUP "$PB"
wait_for 10 log_has b "certificate reloaded: key $newkey" && pass "b rotated to key $newkey" || fail "no rotation"
redis-cli -p "$((P + 1))" set after-rotation yes >/dev/null
redis-cli -p "$P" set from-a yes >/dev/null
wait_for 20 get_is "$P" after-rotation yes && pass "a has b's write after the rotation" || fail "b's write missing on a"
wait_for 20 get_is "$((P + 1))" from-a yes && pass "b has a's write after the rotation" || fail "a's write missing on b"
both_alive && pass "still both alive, nobody restarted" || fail "members: $(members "$P")"
if grep -E "ERROR.*(refusing peer 'b'|claimed by two)" "$SCRATCH/a.log"; then fail "a refused b"; else pass "no refusal of b on a"; fi

# A second instance of a (a copy of its data directory, another port),
# while b runs and sees both.
stop_node "$PA"
cp -a "$A" "$SCRATCH/a2"
start_node a a "$P" "${fast[@]}" --seeds "127.0.0.1:$((P + 1001))" || finish
PA=$NODE_PID
start_node a2 a "$((P + 2))" "${fast[@]}" --seeds "127.0.0.1:$((P + 1001))" || finish
PA2=$NODE_PID
wait_for 40 log_has a2 "ERROR.*another live instance of this node's id 'a'.*refuses writes" &&
	pass "the newer instance logs ERROR" || fail "a2.log: no duplicate: $(tail -3 "$SCRATCH/a2.log")"
wait_for 40 log_has a "ERROR.*another live instance of this node's id 'a'" && pass "the older instance logs ERROR" ||
	fail "a.log: no duplicate"
wait_for 20 log_has b "ERROR.*node id 'a' has two live instances" && pass "b, seeing both, logs ERROR" ||
	fail "b.log: no duplicate"
expect_match "write on the newer instance" "$(redis-cli -p "$((P + 2))" set k v 2>&1)" "^DUPLICATE .*'a'"
expect_eq "write on the older instance" "$(redis-cli -p "$P" set k v 2>&1)" OK
expect_eq "INFO writes_refused_duplicate" "$(info_field "$((P + 2))" writes_refused_duplicate)" 1
stop_node "$PA2"

# Revocation: the list goes to a only; gossip brings it to b.
"$GROVE" revoke "$CA" --out "$A/revoked.crl" --cert "$B/node.crt" >/dev/null && pass "revoke" || fail "revoke"
kill -HUP "$PA"
wait_for 10 log_has a "revocation list issued .* installed: 1 revoked" && pass "a installed the list" || fail "a: no list"
wait_for 10 log_has b "revocation list issued .* installed: 1 revoked" && pass "gossip brought the list to b" ||
	fail "b: no list"
wait_for 10 log_has b "own key is in the revocation list" && pass "b knows it is revoked" || fail "b not told"
wait_for 10 log_has a "ERROR.*refusing peer 'b': its key $newkey is in the revocation list" &&
	pass "a logs ERROR naming b and the reason" || fail "no refusal ERROR in a.log"
expect_eq "INFO revoked_keys on b" "$(info_field "$((P + 1))" revoked_keys)" 1

finish
