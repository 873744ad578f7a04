#!/bin/bash
# soak_sim.sh - the long simulation: many seeds, larger clusters, and the
# figure table at N = 100, 1,000, 10,000 (with and without 10% loss).
# Every seed runs twice (--twice: the trace hashes must match).  A failure
# prints the seed and the command that replays it.
#   SOAK_SEEDS   seeds of small clusters (default 1000)
#   SOAK_SIZES   figure sizes (default 100,1000,10000)
#   SOAK_SEED    first seed (default: from the date, printed)
set -euo pipefail
cd "$(dirname "$0")/../.."
make --no-print-directory GROVE_DEPS_OK=1 sim >/dev/null
SIM=bin/grove-sim
seeds=${SOAK_SEEDS:-1000}
first=${SOAK_SEED:-$(date +%s)}
echo "soak_sim: first seed $first"
rc=0
for n in 3 5 8 12; do
	"$SIM" --seed "$first" --runs $((seeds / 4)) --twice --nodes "$n" --fault-ms 15000 --ops 400 \
		--partitions 4 --crashes 4 --forge 60 | tail -1 | sed "s/^/n=$n: /" || rc=1
done
"$SIM" --seed $((first + 1000000)) --runs 20 --nodes 50 --fault-ms 20000 --ops 1000 --crashes 8 \
	--partitions 4 --loss 0.1 | tail -1 | sed 's/^/n=50: /' || rc=1
"$SIM" --seed $((first + 2000000)) --runs 3 --nodes 200 --fault-ms 20000 --ops 2000 --crashes 10 \
	--partitions 3 --loss 0.1 | tail -1 | sed 's/^/n=200: /' || rc=1
"$SIM" --seed "$first" --figures "${SOAK_SIZES:-100,1000,10000}" || rc=1
exit $rc
