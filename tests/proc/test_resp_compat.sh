#!/bin/bash
# test_resp_compat.sh - replies compared with redis-server's: the session in
# tests/proc/resp_compat.script runs against a redis-server 7.0 started
# here on its own port and against a groved, through resp_tool.py (typed,
# one line per reply).  Each reply is equal, differs by design (the script
# line ends in "## design: REASON", listed below with the reason), or
# differs by mistake; the test fails on any mistake and prints the counts:
#   compat: N equal, N differing by design, N differing by mistake
# Skipped (77) without redis-server (Debian's redis-server; `make deps`).
source "$(dirname "$0")/node_lib.sh"
PY=/usr/bin/python3
TOOL=$ROOT/tests/proc/resp_tool.py
SCRIPT=$ROOT/tests/proc/resp_compat.script
command -v redis-server >/dev/null || { echo "skip: redis-server not installed (make deps)"; exit 77; }
[[ -x $PY ]] || { echo "skip: $PY missing"; exit 77; }

P=$((PORT_BASE + 80))
RP=$((P + 1))
mkdir -p "$SCRATCH/redis"
redis-server --port "$RP" --bind 127.0.0.1 --save "" --appendonly no --dir "$SCRATCH/redis" \
	--logfile "$SCRATCH/redis.log" &
PIDS+=($!)
wait_ping "$RP" || { fail "redis-server did not answer PING"; finish; }
echo "redis-server: $(redis-server --version | cut -d' ' -f1-3)"
start_node a n1 "$P" || finish

sed 's/  ## design:.*$//' "$SCRIPT" >"$SCRATCH/clean.script"
$PY "$TOOL" "$RP" <"$SCRATCH/clean.script" >"$SCRATCH/redis.out" 2>&1 || fail "script against redis-server"
$PY "$TOOL" "$P" <"$SCRATCH/clean.script" >"$SCRATCH/grove.out" 2>&1 || fail "script against groved"

declare -A reason
while IFS=: read -r n text; do
	reason[$n]=${text#*## design: }
done < <(grep -n '  ## design: ' "$SCRIPT")

equal=0 design=0 mistake=0 stale=0
while IFS= read -r -u 3 rline && IFS= read -r -u 4 gline; do
	n=${rline%% *}
	[[ ${gline%% *} == "$n" ]] || { fail "reply lists out of step at line $n"; break; }
	cmd=$(sed -n "${n}p" "$SCRATCH/clean.script")
	if [[ $rline == "$gline" ]]; then
		equal=$((equal + 1))
		[[ -n ${reason[$n]:-} ]] && stale=$((stale + 1)) && echo "note: line $n ($cmd) is marked by design but now equal"
	elif [[ -n ${reason[$n]:-} ]]; then
		design=$((design + 1))
		echo "by design: line $n: $cmd -> ${reason[$n]}"
		echo "    redis: ${rline#* }"
		echo "    grove: ${gline#* }"
	else
		mistake=$((mistake + 1))
		echo "MISTAKE: line $n: $cmd"
		echo "    redis: ${rline#* }"
		echo "    grove: ${gline#* }"
	fi
done 3<"$SCRATCH/redis.out" 4<"$SCRATCH/grove.out"
total=$(wc -l <"$SCRATCH/redis.out")
[[ $((equal + design + mistake)) == "$total" && $total == $(wc -l <"$SCRATCH/grove.out") ]] ||
	fail "compared $((equal + design + mistake)) of $total replies"
# Grove-only: CLIENT LIST shows every connection, CLIENT KILL ID closes another
got=$(printf '2> CLIENT SETNAME second\nCLIENT LIST\n' | $PY "$TOOL" "$P" | tail -1)
[[ $got == *"name=second "* && $got == *"\\nid="*"\\n\""* ]] && pass "CLIENT LIST shows both connections" ||
	fail "CLIENT LIST: $got"
got=$(printf '2> CLIENT ID\nCLIENT LIST TYPE normal\n' | $PY "$TOOL" "$P")
other=$(sed -n 's/^1 :\([0-9]*\)$/\1/p' <<<"$got")
got=$(printf "2> PING\nCLIENT KILL ID 1\nCLIENT KILL ID %s\n2> PING\n" "$((other + 2))" | $PY "$TOOL" "$P" | tr '\n' '|')
expect_match "CLIENT KILL ID closes the other connection" "$got" '^1 \+PONG\|2 :0\|3 :1\|4 \(closed'
# Grove-only: CONFIG SET of run-time limits acts on the server
exec 6<>"/dev/tcp/127.0.0.1/$P" # one client held open
redis-cli -p "$P" config set maxclients 1 >/dev/null
expect_eq "CONFIG SET maxclients 1 refuses a second client" "$(redis-cli -p "$P" ping 2>&1)" \
	"ERR max number of clients reached"
exec 6>&-
deadline=$((SECONDS + 10)) # once the server saw that close, a client gets in again
until [[ $(redis-cli -p "$P" config set maxclients 10000 2>&1) == OK ]]; do
	((SECONDS < deadline)) || { fail "CONFIG SET maxclients 10000 never accepted"; break; }
	sleep 0.05
done
got=$(printf 'CONFIG SET timeout 1\nCONFIG GET timeout\nCONFIG GET maxclients\n' |
	$PY "$TOOL" "$P" | tr '\n' '|')
expect_eq "CONFIG SET timeout and maxclients" "$got" \
	'1 +OK|2 ["timeout", "1"]|3 ["maxclients", "10000"]|'
exec 5<>"/dev/tcp/127.0.0.1/$P"
deadline=$((SECONDS + 10)) closed=0
while ((SECONDS < deadline)); do # an idle connection is closed within ~2 s
	IFS= read -r -t 0.2 line <&5
	rc=$?
	((rc > 128)) && continue # read timed out: still open
	((rc != 0)) && closed=1  # end of file: closed by the server
	break
done
exec 5>&-
((closed)) && pass "idle connection closed after CONFIG SET timeout 1" || fail "idle connection kept"
redis-cli -p "$P" config set timeout 0 >/dev/null
echo "compat: $equal equal, $design differing by design, $mistake differing by mistake ($stale design notes now equal)"
((total > 200)) && pass "$total replies compared" || fail "only $total replies compared"
((mistake == 0)) && pass "no reply differs by mistake" || fail "$mistake replies differ by mistake"
finish
