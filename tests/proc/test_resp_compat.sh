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
echo "compat: $equal equal, $design differing by design, $mistake differing by mistake ($stale design notes now equal)"
((total > 200)) && pass "$total replies compared" || fail "only $total replies compared"
((mistake == 0)) && pass "no reply differs by mistake" || fail "$mistake replies differ by mistake"
finish
