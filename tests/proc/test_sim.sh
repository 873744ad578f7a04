#!/bin/bash
# grove-test: alone (see tests/run_tests.sh)
# test_sim.sh - builds bin/grove-sim (make sim) and runs it as a
# program: 6 seeds of 6-node clusters, each twice (the trace hashes must
# match), one replayed from the command a run prints, and a small figure
# table.  Real signatures throughout.  The cmocka short run is
# tests/test_sim.c; the long one tests/soak/soak_sim.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
SIM=${BUILD:-build}/grove-sim
make --no-print-directory GROVE_DEPS_OK=1 BUILD="${BUILD:-build}" SIM_OUT="$SIM" sim >/dev/null
out=$(mktemp)
trap 'rm -f "$out"' EXIT

"$SIM" --seed 500 --runs 6 --twice --nodes 6 --fault-ms 6000 | tee "$out" | tail -1
grep -q "6 runs, 0 failed" "$out"

# A run that cannot converge fails with the seed, the replay command and
# the last events; the printed replay command fails the same way.
if "$SIM" --seed 3 --nodes 4 --loss 1 --loss-after 1 --settle-ms 2000 --tail 5 >"$out" 2>&1; then
	echo "a run with 100% loss passed"; exit 1
fi
grep -q "SIM FAILURE seed=3" "$out" && grep -q "last 5 events" "$out"
want=$(grep "SIM FAILURE" "$out")
replay=$(grep "^replay: " "$out" | sed 's/^replay: //')
got=$($replay 2>&1 | grep "SIM FAILURE" || true)
[ -n "$want" ] && [ "$want" = "$got" ] || { echo "replay differs: '$want' vs '$got'"; exit 1; }

"$SIM" --figures 30 --fig-kinds oracle,detect --fig-loss 0.1 | tee "$out"
grep -q "^detect " "$out"
echo "test_sim.sh: ok"
