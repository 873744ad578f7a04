#!/bin/bash
# test_node_service.sh - groved as a service (README "Running as a
# service"), without systemd:
#   1. the notify protocol: a unix datagram socket stands in for systemd's
#      (tests/proc/notify_listen.py); with NOTIFY_SOCKET set, a lone node
#      sends READY=1 (and it answers PING by then), a second node joining
#      it sends READY=1 with "joined" in STATUS, over an abstract socket
#      (@name); SIGHUP (the unit's ExecReload) keeps the node up and
#      reopens the log; SIGTERM sends STOPPING=1 and exits 0;
#   2. groved --check-config FILE: a valid config exits 0 with a summary
#      and creates nothing; a key file readable by others, a missing key,
#      a certificate of another node exit 1 naming the file; a non-loopback
#      --metrics without a password exits 2; an unknown setting exits 2.
source "$(dirname "$0")/node_lib.sh"
[[ -x $GROVE ]] || { echo "skip: $GROVE not built"; exit 77; }
command -v python3 >/dev/null || { echo "FAIL: python3 missing"; exit 1; }
LISTEN=$ROOT/tests/proc/notify_listen.py
P=$((PORT_BASE + 70))

# listen SOCKET OUT: starts the stand-in and waits until it is bound (30 s:
# an interpreter's start on a loaded machine took more than 10)
listen() {
	python3 "$LISTEN" "$1" "$2" 120 &
	PIDS+=($!)
	local deadline=$((SECONDS + 30))
	until [[ -s $2.ready ]] || ((SECONDS >= deadline)); do sleep 0.05; done
	[[ -s $2.ready ]] || fail "notify listener did not start"
}
# wait_line FILE REGEX: polls FILE for a line matching REGEX (30 s)
wait_line() {
	local deadline=$((SECONDS + 30))
	while ((SECONDS < deadline)); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# 1. notify
listen "$SCRATCH/notify.sock" "$SCRATCH/n1.notify"
make_identity "$SCRATCH/n1" n1
NOTIFY_SOCKET=$SCRATCH/notify.sock "$GROVED" --id n1 --data "$SCRATCH/n1" --client "127.0.0.1:$P" \
	--gossip "127.0.0.1:$((P + 1000))" --log-file "$SCRATCH/n1.log" &
N1=$!
PIDS+=("$N1")
if wait_line "$SCRATCH/n1.notify" '(^|\|)READY=1(\||$)'; then
	pass "lone node: READY=1 ($(head -1 "$SCRATCH/n1.notify"))"
	expect_eq "it serves once READY=1 arrived" "$(redis-cli -p "$P" ping)" PONG
else
	fail "no READY=1 from n1"
fi
listen "@grove-test-$$" "$SCRATCH/n2.notify"
make_identity "$SCRATCH/n2" n2
NOTIFY_SOCKET=@grove-test-$$ "$GROVED" --id n2 --data "$SCRATCH/n2" --client "127.0.0.1:$((P + 1))" \
	--gossip "127.0.0.1:$((P + 1001))" --seeds "127.0.0.1:$((P + 1000))" --log-file "$SCRATCH/n2.log" &
N2=$!
PIDS+=("$N2")
wait_line "$SCRATCH/n2.notify" 'READY=1\|STATUS=serving; joined' &&
	pass "joining node, abstract socket: $(head -1 "$SCRATCH/n2.notify")" || fail "n2: $(cat "$SCRATCH/n2.notify" 2>/dev/null)"
kill -HUP "$N1"
wait_line "$SCRATCH/n1.log" 'SIGHUP: log reopened' && pass "SIGHUP (ExecReload): log reopened" || fail "SIGHUP"
expect_eq "still serving after SIGHUP" "$(redis-cli -p "$P" ping)" PONG
for n in 1 2; do
	pid=$([[ $n == 1 ]] && echo "$N1" || echo "$N2")
	stop_node "$pid"
	expect_eq "n$n: SIGTERM exit status" "$STOP_RC" 0
	wait_line "$SCRATCH/n$n.notify" '(^|\|)STOPPING=1(\||$)' && pass "n$n: STOPPING=1 sent" || fail "n$n: no STOPPING=1"
done
echo "notify datagrams from n1:"; sed 's/^/  /' "$SCRATCH/n1.notify"

# 2. --check-config
conf=$SCRATCH/n1.conf
printf 'id = n1\ndata = %s\nclient = 127.0.0.1:%d\ngossip = 127.0.0.1:%d\nmetrics = %d\n' \
	"$SCRATCH/n1" "$P" "$((P + 1000))" "$((P + 5))" >"$conf"
out=$("$GROVED" --check-config "$conf" 2>&1)
expect_eq "valid config: exit" "$?" 0
expect_match "... summary" "$out" "^groved: .*n1.conf: configuration valid: node n1, certificate valid until 20[0-9-]+ [0-9:]+ UTC, data .*, metrics 127.0.0.1:$((P + 5))$"
out=$("$GROVED" --check-config "$conf" --data "$SCRATCH/fresh/data" --ca "$SCRATCH/n1/ca.pub" \
	--cert "$SCRATCH/n1/node.crt" --key "$SCRATCH/n1/node.key" 2>&1)
expect_match "a data directory still to create (its parent missing): exit 1" "$?:$out" "^1:.*fresh/data: missing, and .*fresh cannot be written"
[[ ! -e $SCRATCH/fresh ]] && pass "check-config created nothing" || fail "check-config created $SCRATCH/fresh"
chmod 644 "$SCRATCH/n1/node.key"
out=$("$GROVED" --check-config "$conf" 2>&1)
expect_match "node.key readable by others: exit 1, named" "$?:$out" "^1:.*node.key.*chmod 600"
chmod 600 "$SCRATCH/n1/node.key"
out=$("$GROVED" --check-config "$conf" --key "$SCRATCH/nokey" 2>&1)
expect_match "missing key file: exit 1, named" "$?:$out" "^1:.*nokey: no such file"
out=$("$GROVED" --check-config "$conf" --cert "$SCRATCH/n2/node.crt" 2>&1)
expect_match "another node's certificate: exit 1" "$?:$out" "^1:.*does not match|^1:.*for node 'n2'"
out=$("$GROVED" --check-config "$conf" --metrics 0.0.0.0:9 2>&1)
expect_match "non-loopback metrics without a password: exit 2" "$?:$out" "^2:.*protected mode"
echo "bogus = 1" >>"$conf"
out=$("$GROVED" --check-config "$conf" 2>&1)
expect_match "unknown setting: exit 2, file and line" "$?:$out" "^2:.*n1.conf:6: unknown setting 'bogus'"
finish
