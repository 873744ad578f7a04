#!/bin/bash
# run_demo.sh - what `make run` shows: a three-node Grove cluster on
# 127.0.0.1 converging on concurrent writes.  `make stop` (run_demo.sh stop)
# stops it and removes its scratch directory.
#
# A throwaway CA and three node certificates are made under tmp/demo; the
# nodes listen on 127.0.0.1 (clients 7001-7003, gossip 7101-7103) and join
# through a seed list.  Each node increments one counter, the set and the
# map are written on different nodes, and once the three report the same
# GROVE DIGEST each node's view is printed: the counter is the sum
# everywhere.  The cluster is left running.  Uses tools/cluster.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEMO=${GROVE_DEMO_DIR:-$ROOT/tmp/demo}
CLUSTER=("$ROOT/tools/cluster" --dir "$DEMO")

cli() { # I ARGS...
	local i=$1
	shift
	redis-cli -h 127.0.0.1 -p $((7000 + i)) "$@"
}

if [[ ${1:-} == stop ]]; then
	if [[ -f $DEMO/cluster.env ]]; then
		"${CLUSTER[@]}" clean && echo "demo cluster stopped; $DEMO removed"
	else
		echo "no demo cluster is running ($DEMO)"
	fi
	exit 0
fi

command -v redis-cli >/dev/null || { echo "run_demo: redis-cli is missing (apt-get install redis-tools)" >&2; exit 1; }
if [[ -f $DEMO/cluster.env ]]; then
	echo "== stopping the previous demo cluster"
	"${CLUSTER[@]}" clean || exit 1
fi

echo "== starting three nodes on 127.0.0.1 (CA and certificates in $DEMO)"
"${CLUSTER[@]}" up 3 --host 127.0.0.1 || {
	echo "run_demo: the cluster did not start; logs: $DEMO/n*/groved.log" >&2
	exit 1
}

echo "== writing on different nodes"
for i in 1 2 3; do
	echo "node$i: INCRBY demo:counter $i -> $(cli "$i" INCRBY demo:counter "$i")"
done
echo "node1: SADD demo:fruit apple -> $(cli 1 SADD demo:fruit apple)"
echo "node2: SADD demo:fruit banana -> $(cli 2 SADD demo:fruit banana)"
echo "node3: SADD demo:fruit cherry -> $(cli 3 SADD demo:fruit cherry)"
echo "node2: HSET demo:user name ada lang c -> $(cli 2 HSET demo:user name ada lang c)"
echo "node3: SET demo:greeting hello -> $(cli 3 SET demo:greeting hello)"

echo "== waiting until the three nodes hold the same state"
# Anti-entropy rounds so far (-1 when INFO has no such field).
sync_rounds() {
	cli 1 INFO | tr -d '\r' |
		awk -F: '$1 ~ /^(sync|ae)_rounds$/ { v += $2; f = 1 } END { print f ? v : -1 }'
}
deadline=$(($(date +%s) + 5))
while (($(sync_rounds) == 0)); do
	if (($(date +%s) > deadline)); then
		echo "run_demo: groved runs no anti-entropy (INFO sync_rounds/ae_rounds 0), so the nodes cannot converge;" \
			"the cluster is left running (make stop)" >&2
		exit 1
	fi
	sleep 0.2
done
"${CLUSTER[@]}" wait-converged --timeout 60 || {
	echo "run_demo: the nodes did not converge; the cluster is left running for a look (make stop)" >&2
	exit 1
}

echo "== each node's view"
for i in 1 2 3; do
	printf 'node%s (127.0.0.1:%s): counter=%s fruit={%s} user={%s} greeting=%s\n' "$i" $((7000 + i)) \
		"$(cli "$i" GET demo:counter)" \
		"$(cli "$i" SMEMBERS demo:fruit | sort | paste -sd, -)" \
		"$(cli "$i" HGETALL demo:user | paste -d= - - | sort | paste -sd, -)" \
		"$(cli "$i" GET demo:greeting)"
done
echo "   (the counter reads 1+2+3 = 6 on every node)"
echo
echo "The cluster keeps running. Connect with:  redis-cli -p 7001   (or 7002, 7003)"
echo "Members:  redis-cli -p 7001 GROVE MEMBERS     Stop it:  make stop"
