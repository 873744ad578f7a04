#!/bin/bash
# test_node_metrics.sh - the --metrics port of real groved processes
# (README "Monitoring", node/monitor.h):
#   1. a 3-node cluster, each with --metrics on loopback; node 1's /metrics
#      passes `promtool check metrics` (Debian's prometheus package: the
#      exposition format and its naming lint: units, _total, HELP, TYPE);
#   2. every numeric INFO everything field of the node is exported: its
#      name appears in a HELP line "(INFO field NAME)" or under a prefix
#      "(INFO fields PREFIX*)", or in the "# grove: ... not exported" list;
#   3. counters move when work is done: 50 SETs raise
#      grove_command_calls_total{command="set"} by 50 and the latency
#      histogram's _count by 50, grove_writes_total, and on node 2
#      grove_ae_received_bytes_total / merges; every peer shows
#      grove_peer_digest_equal 1 once the writes replicated;
#   4. /status.json is valid JSON naming the 3 members; / is the page;
#      an unknown path is 404, POST is 405;
#   5. protected mode: --metrics on a non-loopback address without
#      --requirepass refuses to start (exit 2); with it, requests without
#      the password get 401 and with it (HTTP Basic auth) 200.
source "$(dirname "$0")/node_lib.sh"
[[ -x $GROVE ]] || { echo "skip: $GROVE not built"; exit 77; }
command -v promtool >/dev/null || { echo "FAIL: promtool missing (make deps installs prometheus)"; exit 1; }
command -v curl >/dev/null || { echo "FAIL: curl missing"; exit 1; }

P=$((PORT_BASE + 50))
M=$((PORT_BASE + 55))
scrape() { curl -sf "http://127.0.0.1:$1/metrics"; }
# metric PORT 'NAME{LABELS}': the sample's value (empty when absent)
metric() { scrape "$1" | awk -v n="$2" '$1 == n { print $2 }'; }
# wait_metric PORT NAME TEST: polls until the value passes the awk test
wait_metric() {
	local deadline=$((SECONDS + 20)) v
	while ((SECONDS < deadline)); do
		v=$(metric "$1" "$2")
		[[ -n $v ]] && awk -v v="$v" "BEGIN { exit !($3) }" && return 0
		sleep 0.2
	done
	echo "  $2 = '$v'"
	return 1
}

fast=(--probe-interval 200 --gossip-interval 100)
start_node n1 n1 "$P" "${fast[@]}" --metrics "$M" || finish
start_node n2 n2 "$((P + 1))" "${fast[@]}" --metrics "127.0.0.1:$((M + 1))" --seeds "127.0.0.1:$((P + 1000))" || finish
start_node n3 n3 "$((P + 2))" "${fast[@]}" --metrics "127.0.0.1:$((M + 2))" --seeds "127.0.0.1:$((P + 1000))" || finish
wait_metric "$M" 'grove_members_by_state{state="alive"}' 'v == 3' && pass "node 1 sees 3 alive members" ||
	fail "node 1 does not see 3 alive members"

# 1. promtool
scrape "$M" >"$SCRATCH/metrics.txt" || fail "GET /metrics"
if out=$(promtool check metrics <"$SCRATCH/metrics.txt" 2>&1); then
	pass "promtool check metrics: no problem in $(grep -c '^# TYPE' "$SCRATCH/metrics.txt") families, $(grep -vc '^#' "$SCRATCH/metrics.txt") samples"
else
	fail "promtool check metrics: $out"
fi

# 2. every numeric INFO field
redis-cli -p "$P" info everything | tr -d '\r' >"$SCRATCH/info.txt"
missing=$(awk -F: '
	NR == FNR {
		if ($0 ~ /^# HELP /) { while (match($0, /INFO fields? [a-z0-9_]+\*?\)/)) {
			f = substr($0, RSTART, RLENGTH); sub(/^INFO fields? /, "", f); sub(/\)$/, "", f)
			if (f ~ /\*$/) pre[substr(f, 1, length(f) - 1)] = 1; else ex[f] = 1
			$0 = substr($0, RSTART + RLENGTH) } }
		if ($0 ~ /^# grove: INFO fields not exported/) { sub(/^[^:]*: */, ""); n = split($0, s, " "); for (i = 1; i <= n; i++) ex[s[i]] = 1 }
		next
	}
	/^# / { sec = $2; next }
	/^[a-z_0-9]+:-?[0-9]+(\.[0-9]+)?$/ {
		if (sec == "Commandstats" || sec == "Errorstats" || sec == "Keyspace") next
		if ($1 in ex) next
		ok = 0; for (p in pre) if (index($1, p) == 1) ok = 1
		if (!ok) print $1
	}' "$SCRATCH/metrics.txt" "$SCRATCH/info.txt" | paste -sd' ')
expect_eq "every numeric INFO field is exported or listed as not" "$missing" ""
grep -q '^# TYPE grove_info_' "$SCRATCH/metrics.txt" &&
	echo "note: INFO fields without metadata: $(grep '^# TYPE grove_info_' "$SCRATCH/metrics.txt" | cut -d' ' -f3 | paste -sd' ')"

# 3. counters move
set0=$(metric "$M" 'grove_command_calls_total{command="set"}')
w0=$(metric "$M" grove_writes_total)
r0=$(metric "$((M + 1))" 'grove_merges_total{result="changed"}')
for i in $(seq 1 50); do echo "SET mkey$i v$i"; done | redis-cli -p "$P" >/dev/null
want=$(( ${set0:-0} + 50 ))
wait_metric "$M" 'grove_command_calls_total{command="set"}' "v == $want" &&
	pass "50 SETs: grove_command_calls_total{command=\"set\"} ${set0:-0} -> $want" || fail "set calls did not reach $want"
expect_eq "latency histogram counts every SET" "$(metric "$M" 'grove_command_duration_seconds_count{command="set"}')" "$want"
expect_eq "histogram +Inf bucket = count" "$(metric "$M" 'grove_command_duration_seconds_bucket{command="set",le="+Inf"}')" "$want"
wait_metric "$M" grove_writes_total "v >= $w0 + 50" && pass "grove_writes_total rose by 50" || fail "grove_writes_total"
wait_metric "$((M + 1))" 'grove_merges_total{result="changed"}' "v >= ${r0:-0} + 50" &&
	pass "node 2 merged the 50 writes (grove_merges_total{result=\"changed\"})" || fail "node 2 merges"
wait_metric "$M" 'grove_peer_digest_equal{peer="n2"}' 'v == 1' && wait_metric "$M" 'grove_peer_digest_equal{peer="n3"}' 'v == 1' &&
	wait_metric "$M" grove_converged 'v == 1' && pass "node 1: both peers' digests equal, grove_converged 1" ||
	fail "digests not equal"
age=$(metric "$M" 'grove_peer_last_equal_digest_age_seconds{peer="n2"}')
awk -v a="$age" 'BEGIN { exit !(a < 5) }' && pass "time since n2's last equal digest: $age s" || fail "last equal age '$age'"
s=$(metric "$M" grove_ae_session_duration_seconds_count)
[[ -n $s ]] && pass "anti-entropy session histogram present (count $s)" || fail "no AE session histogram"

# 4. status.json, the page, errors
curl -sf "http://127.0.0.1:$M/status.json" >"$SCRATCH/status.json" || fail "GET /status.json"
ids=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join(sorted(m["id"] for m in d["members"])), d["converged"], d["keys"])' "$SCRATCH/status.json" 2>&1)
expect_eq "status.json members, converged, keys" "$ids" "n1 n2 n3 True 50"
expect_match "GET / is the page" "$(curl -sf "http://127.0.0.1:$M/" | grep -o '<title>[^<]*</title>')" "Grove node status"
expect_eq "unknown path" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$M/nope")" 404
expect_eq "POST" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$M/metrics")" 405

# 5. protected mode
ip=$(ip -4 -o addr show scope global 2>/dev/null | awk '{ sub(/\/.*/, "", $4); print $4; exit }')
if [[ -z $ip ]]; then
	ip=0.0.0.0
fi
make_identity "$SCRATCH/n4" n4
"$GROVED" --id n4 --data "$SCRATCH/n4" --client "127.0.0.1:$((P + 3))" --gossip "127.0.0.1:$((P + 1003))" \
	--metrics "$ip:$((M + 3))" >"$SCRATCH/n4.out" 2>&1
expect_eq "non-loopback --metrics without a password: exit" "$?" 2
expect_match "... and says why" "$(head -1 "$SCRATCH/n4.out")" "--metrics $ip is not a loopback address"
AUTH_ARGS=(--no-auth-warning -a 'pw 4')
start_node n4 n4 "$((P + 3))" --requirepass 'pw 4' --metrics "$ip:$((M + 3))" || finish
AUTH_ARGS=()
expect_eq "no password: 401" "$(curl -s -o /dev/null -w '%{http_code}' "http://$ip:$((M + 3))/metrics")" 401
expect_eq "wrong password: 401" "$(curl -s -o /dev/null -w '%{http_code}' -u 'x:pw' "http://$ip:$((M + 3))/metrics")" 401
expect_eq "the password (Basic auth): 200" "$(curl -s -o /dev/null -w '%{http_code}' -u 'prometheus:pw 4' "http://$ip:$((M + 3))/metrics")" 200
stop_node "$NODE_PID"
expect_eq "node with --metrics stops cleanly" "$STOP_RC" 0
finish
