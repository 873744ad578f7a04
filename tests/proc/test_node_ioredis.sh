#!/bin/bash
# grove-test: alone (see tests/run_tests.sh)
# test_node_ioredis.sh - the README's ioredis multi() block, run as printed
# against a groved: ioredis connects (its INFO ready check), queues the
# transaction and gets every reply.  ioredis is installed from npm into
# build/npm (kept between runs); the test is skipped (exit 77) only when
# node, npm or that install is not possible.
source "$(dirname "$0")/node_lib.sh"
IOREDIS_VERSION=5
NPM_DIR=$ROOT/build/npm
command -v node >/dev/null && command -v npm >/dev/null ||
	{ echo "skip: node and npm are needed (apt-get install nodejs npm)"; exit 77; }
if [[ ! -e $NPM_DIR/node_modules/ioredis/package.json ]]; then
	mkdir -p "$NPM_DIR"
	timeout 300 npm install --no-audit --no-fund --prefix "$NPM_DIR" "ioredis@$IOREDIS_VERSION" \
		>"$SCRATCH/npm.log" 2>&1 ||
		{ echo "skip: npm install ioredis failed:"; tail -5 "$SCRATCH/npm.log"; exit 77; }
fi

P=$((PORT_BASE + 70))
start_node a n1 "$P" || finish
awk '/^<!-- test: ioredis-multi -->$/ {f = 1; next} f && /^```js$/ {on = 1; next}
     on && /^```$/ {exit} on' "$ROOT/README.md" | sed "s/new Redis(7379)/new Redis($P)/" \
	>"$SCRATCH/readme.js"
grep -q 'multi()' "$SCRATCH/readme.js" || fail "README ioredis block not found"
redis-cli -p "$P" incrby visits 11 >/dev/null # as after the redis-py block
out=$(cd "$SCRATCH" && NODE_PATH=$NPM_DIR/node_modules timeout 20 node readme.js 2>&1)
expect_eq "README ioredis block" "$out" '[[null,12],[null,"OK"],[null,"bob"]]'
finish
