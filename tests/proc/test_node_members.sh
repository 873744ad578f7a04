#!/bin/bash
# test_node_members.sh - membership between real groved processes: three
# nodes join through seeds (one given by name), a kill -9 is detected
# (suspect, then dead), SIGTERM leaves gracefully (others see "left", exit
# status 0), and a restarted node rejoins from its saved peers without
# seeds, with a higher incarnation.
source "$(dirname "$0")/node_lib.sh"
[[ -x $GROVE ]] || { echo "skip: $GROVE not built"; exit 77; }

P=$((PORT_BASE + 30))
members() { redis-cli -p "$1" grove members 2>/dev/null | paste -sd' '; }
# wait_members PORT REGEX [SECONDS]: polls GROVE MEMBERS until it matches.
wait_members() {
	local deadline=$((SECONDS + ${3:-30}))
	while ((SECONDS < deadline)); do
		[[ $(members "$1") =~ $2 ]] && return 0
		sleep 0.1
	done
	return 1
}

fast=(--probe-interval 200 --gossip-interval 100)
start_node n1 n1 "$P" "${fast[@]}" || finish
P1=$NODE_PID
start_node n2 n2 "$((P + 1))" "${fast[@]}" --seeds "localhost:$((P + 1000))" || finish
P2=$NODE_PID
start_node n3 n3 "$((P + 2))" "${fast[@]}" --seeds "127.0.0.1:$((P + 1000)),127.0.0.1:$((P + 1001))" || finish
P3=$NODE_PID

for port in "$P" "$((P + 1))" "$((P + 2))"; do
	if wait_members "$port" "(n[123] [^ ]+ alive [0-9]+ ?){3}"; then
		pass "node on $port sees 3 alive members"
	else
		fail "node on $port: $(members "$port")"
	fi
done
expect_match "INFO cluster" "$(redis-cli -p "$P" info cluster | tr -d '\r' | grep members_alive)" "members_alive:3"
expect_match "INFO gossip" "$(redis-cli -p "$P" info gossip | tr -d '\r' | grep -E '^(joined|datagrams_in):' | paste -sd' ')" \
	"^joined:1 datagrams_in:[1-9]"
expect_match "grove members" "$("$GROVE" members --node "127.0.0.1:$P" | grep -c alive)" "^3$"

{ kill -KILL "$P3" && wait "$P3"; } 2>/dev/null
wait_members "$P" "n3 [^ ]+ dead" 40 && pass "kill -9 detected: n3 dead" || fail "n3 not dead: $(members "$P")"
grep -q "n3 .* is suspect" "$SCRATCH/n1.log" && pass "n3 was suspect first" || fail "no suspicion logged"

stop_node "$P2"
expect_eq "SIGTERM exit status" "$STOP_RC" 0
wait_members "$P" "n2 [^ ]+ left" 10 && pass "n2 left gracefully" || fail "n2 not left: $(members "$P")"

start_node n2 n2 "$((P + 1))" "${fast[@]}" || finish
if wait_members "$P" "n2 [^ ]+ alive [1-9]"; then
	pass "restarted n2 rejoined without seeds, higher incarnation"
else
	fail "n2 after restart: $(members "$P")"
fi
stop_node "$NODE_PID"
stop_node "$P1"
expect_eq "n1 exit status" "$STOP_RC" 0
finish
