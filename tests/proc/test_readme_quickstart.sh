#!/bin/bash
# grove-test: alone (see tests/run_tests.sh)
# test_readme_quickstart.sh - README.md's quick start (block quickstart),
# run as written: `make run` (no flags), the two redis-cli lines, `make
# stop`.  `make test` is the one line not run (it is what runs this).
#   - make run: three nodes converge, every node prints counter=6;
#   - INCR on 7001 answers 1; GET on 7003 answers 1 once replicated (the
#     time it took is printed: the README says a few hundred ms);
#   - grove incr --wait 2 on 7001, then GET on 7003: 2 and 2;
#   - make stop: every demo port is free again.
# Then the demo's promises around it:
#   - `make run` with a demo port taken fails naming the port, and leaves
#     no node running (tools/cluster's own cleanup of a failed `up` is in
#     test_cluster_tool.sh);
#   - a second `make run` keeps the data (after make stop, and while
#     running) and says so; `make run FRESH=1` starts over and says so.
# The demo's directory is $GROVE_DEMO_DIR (documented), so the checkout's
# own tmp/demo is never touched; its ports (7001-7003, 7101-7103) are the
# real ones: run under the proc-test lock.  Skips when one is taken.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
ROOT=$(pwd)
source tests/proc/readme_lib.sh
command -v redis-cli >/dev/null || { echo "skip: redis-cli not installed"; exit 77; }
command -v redis-server >/dev/null || { echo "skip: redis-server not installed"; exit 77; }
PORTS=(7001 7002 7003 7101 7102 7103)
port_busy() { [[ -n $(ss -Htanu "( sport = :$1 )" 2>/dev/null | awk '$2 == "LISTEN" || $1 == "udp"') ]]; }
for p in "${PORTS[@]}"; do
	port_busy "$p" && { echo "skip: demo port $p is in use (a demo cluster running?)"; exit 77; }
done

SCRATCH=$(mktemp -d /tmp/grove-readme-quick.XXXXXX)
export GROVE_DEMO_DIR=$SCRATCH/demo
BLOCKER=
cleanup() {
	[[ -n $BLOCKER ]] && kill "$BLOCKER" 2>/dev/null && wait "$BLOCKER" 2>/dev/null
	local f
	for f in "$GROVE_DEMO_DIR"/n*/pid; do # the demo's nodes: this test started them
		[[ -f $f ]] && kill -KILL "$(cat "$f")" 2>/dev/null
	done
	[[ -f $GROVE_DEMO_DIR/cluster.env ]] && tools/cluster --dir "$GROVE_DEMO_DIR" clean >/dev/null 2>&1
	rm -rf "$SCRATCH"
}
trap cleanup EXIT
fail() { readme_fail "$*"; }
ok() { echo "ok: $*"; }
ms_now() { echo $(($(date +%s%N) / 1000000)); }
HITS= # the value of hits the block left
demo_nodes_running() { pgrep -f -- "--data $GROVE_DEMO_DIR/" >/dev/null; }
get() { redis-cli -p "$1" GET "$2" 2>&1; }

# run_make NAME ARGS...: runs make in the checkout as a user types it (not
# as part of the make that runs this test), output in $OUT, status in $RC.
# After the block's first `make run`, GROVE_DEPS_OK=1 skips the package
# check that run already made (it costs seconds on a loaded machine).
DEPS_CHECKED=
run_make() {
	local name=$1
	shift
	OUT=$(env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make --no-print-directory ${DEPS_CHECKED:+GROVE_DEPS_OK=1} \
		"$@" 2>&1)
	RC=$?
	echo "-- $name: make $* (exit $RC)"
	printf '%s\n' "$OUT" | sed 's/^/   | /'
}

# --- the block, line by line -------------------------------------------
mapfile -t lines < <(readme_commands quickstart)
((${#lines[@]} >= 4)) || fail "quickstart block: ${#lines[@]} commands"
for line in "${lines[@]}"; do
	cmd=$(readme_strip_comment "$line")
	case $cmd in
	"make test")
		echo "-- not run: $cmd (it runs this test)" ;;
	"make run")
		run_make "quickstart" run
		DEPS_CHECKED=1
		((RC == 0)) || fail "make run: exit $RC"
		n=$(grep -c 'counter=6 ' <<<"$OUT")
		((n == 3)) && ok "make run: three nodes converged, counter=6 on each" ||
			fail "make run: $n nodes print counter=6"
		grep -q "new demo cluster" <<<"$OUT" && ok "make run says it started a new demo" ||
			fail "make run does not say it started a new demo" ;;
	"redis-cli -p 7001 INCR hits")
		t_write=$(ms_now)
		got=$(bash -c "$cmd" 2>&1)
		[[ $got == 1 ]] && ok "$cmd -> 1" || fail "$cmd -> '$got'"
		HITS=1 ;;
	"redis-cli -p 7003 GET hits")
		got=$(bash -c "$cmd" 2>&1)
		first=$got
		deadline=$((SECONDS + 10))
		while [[ $got != 1 ]] && ((SECONDS < deadline)); do
			sleep 0.02
			got=$(bash -c "$cmd" 2>&1)
		done
		ms=$(($(ms_now) - t_write))
		[[ $got == 1 ]] && ok "$cmd -> 1, $ms ms after the INCR (first try printed '$first')" ||
			fail "$cmd -> '$got' 10 s after the INCR" ;;
	"bin/grove incr hits --node 127.0.0.1:7001 --wait 2 && redis-cli -p 7003 GET hits")
		got=$(bash -c "$cmd" 2>&1)
		[[ $got == $'2\n2' ]] && ok "$cmd -> 2, 2 (read your write with --wait)" ||
			fail "$cmd -> '$got'"
		HITS=2 ;;
	"make stop")
		run_make "quickstart" stop
		((RC == 0)) || fail "make stop: exit $RC"
		demo_nodes_running && fail "make stop left demo nodes running" || ok "make stop stopped every node" ;;
	*)
		fail "quickstart block: no check for '$cmd' (add one to $0)" ;;
	esac
done

# --- a taken port: make run fails and leaves nothing running ---------------
redis-server --port 7002 --bind 127.0.0.1 --save '' --appendonly no >/dev/null 2>&1 &
BLOCKER=$!
deadline=$((SECONDS + 10))
until [[ $(redis-cli -p 7002 PING 2>/dev/null) == PONG ]] || ((SECONDS > deadline)); do sleep 0.05; done
run_make "port 7002 taken" run
((RC != 0)) && ok "make run with port 7002 taken fails" || fail "make run with port 7002 taken: exit 0"
demo_nodes_running && fail "make run left demo nodes running: $(pgrep -af -- "--data $GROVE_DEMO_DIR/")" ||
	ok "make run with a port taken leaves no node running"
grep -q "port 7002 (node 2) is in use by redis-server" <<<"$OUT" && ok "make run names the port and its user" ||
	fail "make run does not name the taken port"
kill "$BLOCKER" && wait "$BLOCKER" 2>/dev/null
BLOCKER=

# --- a second make run keeps the data --------------------------------------
run_make "after make stop" run
((RC == 0)) || fail "make run after make stop: exit $RC"
grep -qi "keeping" <<<"$OUT" && ok "make run after make stop says it keeps the data" ||
	fail "make run after make stop does not say it keeps the data"
[[ $(get 7003 hits) == "$HITS" ]] && ok "hits ($HITS) survived make stop + make run" ||
	fail "hits after make run: '$(get 7003 hits)', want $HITS"
grep -c 'counter=12 ' <<<"$OUT" | grep -qx 3 && ok "the counter grew to 12 on every node" ||
	fail "make run after make stop: counter is not 12 on every node"

run_make "while running" run
((RC == 0)) || fail "make run while running: exit $RC"
grep -qi "already running" <<<"$OUT" && ok "make run while running says so" ||
	fail "make run while running does not say the demo is running"
[[ $(get 7001 hits) == "$HITS" ]] && ok "hits kept by a second make run" ||
	fail "hits after a second make run: '$(get 7001 hits)', want $HITS"

run_make "FRESH=1" run FRESH=1
((RC == 0)) || fail "make run FRESH=1: exit $RC"
grep -q "FRESH=1" <<<"$OUT" && ok "make run FRESH=1 says it starts over" || fail "make run FRESH=1 says nothing"
[[ -z $(get 7001 hits) ]] && ok "FRESH=1: the old data is gone" || fail "FRESH=1: hits is '$(get 7001 hits)'"
grep -c 'counter=6 ' <<<"$OUT" | grep -qx 3 && ok "FRESH=1: counter=6 on every node" || fail "FRESH=1: counter is not 6"

echo "quick start test: $SECONDS s"
if ((README_FAILS > 0)); then
	echo "$README_FAILS check(s) failed"
	exit 1
fi
echo "quick start: all checks passed"
