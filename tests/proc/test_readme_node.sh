#!/bin/bash
# test_readme_node.sh - README.md's node blocks, run as written with the
# defaults (127.0.0.1:7379 for clients, 127.0.0.1:7946 for gossip):
#   node        "Running a node": CA, key set into ./data1, groved, redis-cli
#   cli         "The grove CLI": the transcript against that node, output
#               compared with the README's (tests/proc/readme_lib.sh)
#   config      the example grove.conf, written to a file as printed
#   config-run  groved --config grove.conf on the same data, AUTH
#   security    "Security set-up": grove ca init / cert (grove and groved
#               from bin/ on PATH), then groved on the key set as printed
# and around them, the start-up errors the README promises: a node.key
# readable by others ("chmod 600 it"), a key that does not match the
# certificate (both files named), a missing key file, and config-file
# errors (unterminated quote, a key set twice: both lines named).
# `make` lines are not run (make test built bin/).  Each block runs in a
# scratch directory of its own, with bin -> the checkout's bin/.  Needs
# the proc-test lock (fixed ports).
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
ROOT=$(pwd)
source tests/proc/readme_lib.sh
command -v redis-cli >/dev/null || { echo "skip: redis-cli not installed"; exit 77; }
[[ -x bin/groved && -x bin/grove ]] || { echo "skip: bin/groved, bin/grove not built"; exit 77; }
for p in 7379 7946; do
	[[ -n $(ss -Htanu "( sport = :$p )" 2>/dev/null | awk '$2 == "LISTEN" || $1 == "udp"' |
		awk '$5 ~ /^(127\.0\.0\.1|0\.0\.0\.0|\*|\[::\]):/') ]] &&
		{ echo "skip: port $p is in use on 127.0.0.1"; exit 77; }
done

SCRATCH=$(mktemp -d /tmp/grove-readme-node.XXXXXX)
NODE_PID=
cleanup() {
	[[ -n $NODE_PID ]] && kill -KILL "$NODE_PID" 2>/dev/null && wait "$NODE_PID" 2>/dev/null
	rm -rf "$SCRATCH"
}
trap cleanup EXIT
fail() { readme_fail "$*"; }
ok() { echo "ok: $*"; }

# start_bg DIR COMMAND: runs COMMAND (a groved line) in the background in
# DIR and waits until INFO on 7379 answers with its pid (30 s deadline).
start_bg() {
	local dir=$1 cmd=$2 auth=() deadline
	[[ $cmd == *--config* ]] && auth=(--no-auth-warning -a 'correct horse #1')
	(cd "$dir" && exec bash -c "exec $cmd" >"$SCRATCH/groved.out" 2>&1) &
	NODE_PID=$!
	deadline=$((SECONDS + 30))
	until redis-cli -p 7379 "${auth[@]}" INFO server 2>/dev/null | tr -d '\r' | grep -qx "process_id:$NODE_PID"; do
		if ! kill -0 "$NODE_PID" 2>/dev/null || ((SECONDS > deadline)); then
			fail "$cmd did not start: $(tail -5 "$SCRATCH/groved.out")"
			NODE_PID=
			return 1
		fi
		sleep 0.05
	done
	ok "$cmd: answering on 127.0.0.1:7379"
}

# stop_bg: SIGTERM the node, expect exit status 0 (10 s deadline).
stop_bg() {
	local i
	[[ -n $NODE_PID ]] || return 0
	kill -TERM "$NODE_PID"
	for ((i = 0; i < 200; i++)); do kill -0 "$NODE_PID" 2>/dev/null || break; sleep 0.05; done
	wait "$NODE_PID"
	local rc=$?
	((rc == 0)) && ok "groved stopped on SIGTERM, exit status 0" || fail "groved exit status $rc after SIGTERM"
	NODE_PID=
}

# run_block NAME DIR: runs the command block NAME in DIR line by line:
# "make" is skipped, a groved line starts in the background, anything else
# must exit 0; EXPECT[line] (if set) is its expected output.
declare -A EXPECT=()
run_block() {
	local name=$1 dir=$2 line cmd out
	while IFS= read -r line; do
		cmd=$(readme_strip_comment "$line")
		case $cmd in
		make) echo "-- $name: not run: make (bin/ is built)" ;;
		bin/groved* | groved*) start_bg "$dir" "$cmd" || return 1 ;;
		*)
			out=$(cd "$dir" && bash -c "$cmd" 2>&1)
			local rc=$?
			((rc == 0)) || { fail "$name: $cmd: exit $rc: $out"; return 1; }
			if [[ -n ${EXPECT[$cmd]+x} ]]; then
				[[ $out == "${EXPECT[$cmd]}" ]] && ok "$name: $cmd -> $out" ||
					{ fail "$name: $cmd -> '$out', want '${EXPECT[$cmd]}'"; return 1; }
			else
				ok "$name: $cmd"
			fi ;;
		esac
	done < <(readme_commands "$name")
}

# --- node, cli, config, config-run: one directory ------------------------
RUN=$SCRATCH/run
mkdir -p "$RUN" && ln -s "$ROOT/bin" "$RUN/bin"
EXPECT['redis-cli -p 7379 incrby visits 5']=5
run_block node "$RUN"
[[ $(stat -c %a "$RUN/data1/node.key" 2>/dev/null) == 600 ]] && ok "data1/node.key is 0600" ||
	fail "data1/node.key mode: $(stat -c %a "$RUN/data1/node.key" 2>&1)"
[[ -n $NODE_PID ]] && readme_transcript cli "$RUN"
stop_bg

readme_block config >"$RUN/grove.conf"
EXPECT=(["redis-cli -p 7379 --no-auth-warning -a 'correct horse #1' incrby visits 5"]=10)
run_block config-run "$RUN"
if [[ -n $NODE_PID ]]; then
	[[ $(redis-cli -p 7379 GET visits 2>&1) == NOAUTH* ]] && ok "config: requirepass enforced" ||
		fail "config: no password asked"
	[[ $(redis-cli -p 7379 --no-auth-warning -a 'correct horse #1' CONFIG GET appendfsync | tail -1) == everysec ]] &&
		ok "config: durability batch" || fail "config: durability not batch"
fi
stop_bg

# --- config-file errors ---------------------------------------------------
printf 'id = node-1\nrequirepass = "unterminated\n' >"$RUN/bad.conf"
out=$(cd "$RUN" && bin/groved --config bad.conf 2>&1)
rc=$?
((rc == 2)) && [[ $out == *"bad.conf:2: requirepass: "*unterminated* ]] && ok "unterminated quote: exit 2, '$out'" ||
	fail "unterminated quote: exit $rc, '$out'"
printf 'id = node-1\ndurability = batch\n# again\ndurability = always\n' >"$RUN/twice.conf"
out=$(cd "$RUN" && bin/groved --config twice.conf 2>&1)
rc=$?
((rc == 2)) && [[ $out == *"twice.conf:4: durability: set twice, first on line 2"* ]] &&
	ok "key set twice: exit 2, '$out'" || fail "key set twice: exit $rc, '$out'"

# --- security set-up ------------------------------------------------------
SEC=$SCRATCH/sec
mkdir -p "$SEC"
PATH=$ROOT/bin:$PATH run_block security "$SEC"
for f in ca/ca.key data1/node.key data2/node.key; do
	[[ $(stat -c %a "$SEC/$f" 2>/dev/null) == 600 ]] || fail "security: $f mode $(stat -c %a "$SEC/$f" 2>&1)"
done
for f in ca/ca.pub data1/node.crt data1/ca.pub data2/node.crt data2/ca.pub; do
	[[ -s $SEC/$f ]] || fail "security: $f missing"
done
ok "security: key files and modes as documented"
[[ -n $NODE_PID ]] && kill -KILL "$NODE_PID" && wait "$NODE_PID" 2>/dev/null
NODE_PID=

# --- start-up errors on the security set-up's key sets ---------------------
groved_fails() { # NAME PATTERN: groved --id node-1 --data ./data1 must exit 1 saying PATTERN
	local out rc
	out=$(cd "$SEC" && "$ROOT/bin/groved" --id node-1 --data ./data1 2>&1)
	rc=$?
	((rc == 1)) && [[ $out == *$2* ]] && ok "$1: exit 1: ${out##*identity: }" || fail "$1: exit $rc: $out"
}
chmod 644 "$SEC/data1/node.key"
groved_fails "node.key mode 0644" "./data1/node.key: secret key file is readable by group or others"*"chmod 600 it"
chmod 600 "$SEC/data1/node.key"
mv "$SEC/data1/node.key" "$SEC/data1/node.key.orig" && cp -p "$SEC/data2/node.key" "$SEC/data1/node.key"
groved_fails "another node's key" "node key ./data1/node.key does not match certificate ./data1/node.crt"
rm "$SEC/data1/node.key" && mv "$SEC/data1/node.key.orig" "$SEC/data1/node.key"
mv "$SEC/data1/ca.pub" "$SEC/ca.pub.away"
groved_fails "missing ca.pub" "./data1/ca.pub: no such file"*"grove cert"

if ((README_FAILS > 0)); then
	echo "$README_FAILS check(s) failed"
	exit 1
fi
echo "README node, CLI, config and security blocks: all checks passed ($SECONDS s)"
