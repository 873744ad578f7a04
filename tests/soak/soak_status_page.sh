#!/bin/bash
# soak_status_page.sh - the status page in headless Chromium (Debian's
# chromium; `make soak`, not `make test`: each Chromium start takes 2-10 s
# on the 2-core CI machine, it starts five times, and detecting the dead
# node at a 6 s probe interval takes 30-60 s: ~90 s in all).
# A 3-node cluster with --metrics on node 1 (probe interval 6 s, so that a
# killed node stays suspect for 24 s or more (4 probe intervals), longer
# than a Chromium start on a loaded machine):
#   1. the page's DOM (chromium --headless --dump-dom, after the page's
#      script fetched /status.json) lists n1, n2, n3 alive and converged;
#   2. a screenshot of it is a PNG (written under /tmp, never in the repo);
#   3. n3 is killed (SIGKILL): the DOM shows n3 suspect, then n3 dead, with
#      the dead line among the recent warnings; a last screenshot is kept
#      as $GROVE_SCREENSHOT (default /tmp/grove-status-page.png) for a
#      person to look at.
# The DOM checks read attributes the page sets for this purpose:
# tr.member[data-id][data-state], #convergence[data-converged].
source "$(dirname "$0")/../proc/node_lib.sh"
[[ -x $GROVE ]] || { echo "skip: $GROVE not built"; exit 77; }
command -v chromium >/dev/null || { echo "FAIL: chromium missing (make deps installs it)"; exit 1; }
SHOT=${GROVE_SCREENSHOT:-/tmp/grove-status-page.png}
P=$((PORT_BASE + 80))
M=$((PORT_BASE + 85))
URL=http://127.0.0.1:$M/
export DBUS_SESSION_BUS_ADDRESS=disabled:
# Root needs --no-sandbox; the profile lives in the scratch directory.
chrome() {
	chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-extensions \
		--disable-dev-shm-usage --user-data-dir="$SCRATCH/chrome" --window-size=1280,1000 \
		--virtual-time-budget=4000 "$@" 2>>"$SCRATCH/chrome.err"
}
dom() { chrome --dump-dom "$URL" >"$SCRATCH/dom.html"; }
row() { grep -o "<tr class=\"member\" data-id=\"$1\"[^>]*>" "$SCRATCH/dom.html"; }
state_json() {
	curl -sf "${URL}status.json" | python3 -c 'import json,sys; d=json.load(sys.stdin); print([m["state"] for m in d["members"] if m["id"]==sys.argv[1]][0])' "$1" 2>/dev/null
}
wait_state() { # ID STATE SECONDS: polls /status.json
	local deadline=$((SECONDS + $3))
	while ((SECONDS < deadline)); do
		[[ $(state_json "$1") == "$2" ]] && return 0
		sleep 0.2
	done
	return 1
}

slow=(--probe-interval 6000 --gossip-interval 200)
start_node n1 n1 "$P" "${slow[@]}" --metrics "$M" || finish
start_node n2 n2 "$((P + 1))" "${slow[@]}" --seeds "127.0.0.1:$((P + 1000))" || finish
start_node n3 n3 "$((P + 2))" "${slow[@]}" --seeds "127.0.0.1:$((P + 1000))" || finish
N3=$NODE_PID
wait_state n2 alive 20 && wait_state n3 alive 20 || fail "n1 does not list n2, n3 alive"
redis-cli -p "$P" set page-key 1 >/dev/null

# 1. alive and converged
t0=$SECONDS
dom
echo "chromium --dump-dom took $((SECONDS - t0)) s"
for id in n1 n2 n3; do
	expect_match "DOM: $id alive" "$(row "$id")" 'data-state="alive"'
done
conv=$(grep -o '<div id="convergence" data-converged="[a-z]*">[^<]*' "$SCRATCH/dom.html")
for i in 1 2 3 4 5; do
	[[ $conv == *'data-converged="true"'* ]] && break
	sleep 1; dom
	conv=$(grep -o '<div id="convergence" data-converged="[a-z]*">[^<]*' "$SCRATCH/dom.html")
done
expect_match "DOM: converged" "$conv" 'data-converged="true">converged'
expect_match "DOM: charts drawn" "$(grep -c '<polyline' "$SCRATCH/dom.html")" '^[1-9]'

# 2. a screenshot
rm -f "$SCRATCH/alive.png"
chrome --screenshot="$SCRATCH/alive.png" "$URL" >/dev/null
[[ $(head -c 8 "$SCRATCH/alive.png" 2>/dev/null | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] &&
	pass "screenshot is a PNG ($(stat -c %s "$SCRATCH/alive.png") bytes)" || fail "no PNG screenshot"

# 3. kill n3: suspect, then dead
kill -KILL "$N3"
wait_state n3 suspect 60 && pass "status.json: n3 suspect" || fail "n3 never suspect in status.json"
dom
expect_match "DOM: n3 suspect" "$(row n3)" 'data-state="suspect"'
wait_state n3 dead 120 && pass "status.json: n3 dead" || fail "n3 never dead in status.json"
dom
expect_match "DOM: n3 dead" "$(row n3)" 'data-state="dead"'
expect_match "DOM: n1, n2 still alive" "$(row n1) $(row n2)" 'data-state="alive".*data-state="alive"'
expect_match "DOM: the recent warnings name n3 dead" "$(grep -o '<li>[^<]*n3 ([^)]*) is dead[^<]*</li>' "$SCRATCH/dom.html" | head -1)" 'WARN n1 membership: n3'
cp "$SCRATCH/dom.html" "${SHOT%.png}.html"
rm -f "$SHOT"
chrome --screenshot="$SHOT" "$URL" >/dev/null
[[ -s $SHOT ]] && pass "screenshot with n3 dead: $SHOT ($(stat -c %s "$SHOT") bytes), DOM: ${SHOT%.png}.html" ||
	fail "no screenshot at $SHOT"
finish
