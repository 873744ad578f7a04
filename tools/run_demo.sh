#!/bin/bash
# run_demo.sh - what `make run` shows: a three-node Grove cluster on
# 127.0.0.1 converging on concurrent writes.  `make stop` (run_demo.sh
# stop) stops it and keeps its data.
#
# A throwaway CA and three node certificates are made under tmp/demo
# ($GROVE_DEMO_DIR); the nodes listen on 127.0.0.1 (clients 7001-7003,
# gossip 7101-7103) and join through a seed list.  Each node increments one
# counter, the set and the map are written on different nodes, and once the
# three report the same GROVE DIGEST each node's view is printed: the
# counter grew by 1+2+3 everywhere.  The cluster is left running.
#
# An existing demo keeps its data: running nodes are left alone, stopped
# ones are started again on their data directories.  FRESH=1 (`make run
# FRESH=1`) deletes the old demo first.  Every start-up says which of the
# three it did.  A failed start stops the nodes this run started.  Uses
# tools/cluster.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEMO=${GROVE_DEMO_DIR:-$ROOT/tmp/demo}
CLUSTER=("$ROOT/tools/cluster" --dir "$DEMO")
NODES=3
STARTED=() # nodes this run started, stopped again if the run fails

cli() { # I ARGS...
	local i=$1
	shift
	redis-cli -h 127.0.0.1 -p $((7000 + i)) "$@"
}

die() { echo "run_demo: $*" >&2; exit 1; }

# Stops the nodes this run started, then dies with the message.
start_failed() { # MESSAGE
	local i
	for i in "${STARTED[@]+"${STARTED[@]}"}"; do "${CLUSTER[@]}" kill "$i" >/dev/null 2>&1; done
	die "$1; stopped what this run had started (logs: $DEMO/n*/groved.log)"
}

# Fails when a port node I needs is taken by another process.
check_ports() { # I...
	local i p busy sockets
	sockets=$(ss -Htanup 2>/dev/null | awk '$2 == "LISTEN" || $1 == "udp"')
	for i in "$@"; do
		for p in $((7000 + i)) $((7100 + i)); do
			busy=$(awk -v p="$p" '$5 == "127.0.0.1:" p || $5 == "0.0.0.0:" p || $5 == "*:" p ||
				$5 == "[::]:" p' <<<"$sockets" | head -1)
			[[ -z $busy ]] && continue
			[[ $busy =~ users:\(\(\"([^\"]+)\",pid=([0-9]+) ]] &&
				busy="${BASH_REMATCH[1]} (pid ${BASH_REMATCH[2]})"
			die "port $p (node $i) is in use by ${busy:-another process}; the demo needs 127.0.0.1 ports" \
				"7001-7003 and 7101-7103"
		done
	done
}

if [[ ${1:-} == stop ]]; then
	if [[ -f $DEMO/cluster.env ]]; then
		"${CLUSTER[@]}" down || exit 1
		echo "demo cluster stopped; its data stays in $DEMO"
		echo "(make run starts it again on that data, make run FRESH=1 starts over, rm -rf $DEMO removes it)"
	else
		echo "no demo cluster in $DEMO"
	fi
	exit 0
fi

command -v redis-cli >/dev/null || die "redis-cli is missing (apt-get install redis-tools)"
if [[ ${FRESH:-0} == 1 && -e $DEMO ]]; then
	echo "== FRESH=1: removing the previous demo cluster and its data in $DEMO"
	"${CLUSTER[@]}" clean || exit 1
fi

if [[ -f $DEMO/cluster.env ]]; then
	mapfile -t running < <("${CLUSTER[@]}" running)
	stopped=()
	for ((i = 1; i <= NODES; i++)); do
		[[ " ${running[*]} " == *" $i "* ]] || stopped+=("$i")
	done
	if ((${#stopped[@]} == 0)); then
		echo "== the demo cluster is already running in $DEMO; keeping its data (make run FRESH=1 starts over)"
	else
		echo "== keeping the demo's data in $DEMO (make run FRESH=1 starts over); starting node(s) ${stopped[*]} again"
		check_ports "${stopped[@]}"
		for i in "${stopped[@]}"; do
			"${CLUSTER[@]}" start "$i" --no-wait >/dev/null || start_failed "node $i did not start"
			STARTED+=("$i")
		done
		"${CLUSTER[@]}" wait-members >/dev/null || start_failed "the nodes did not find each other"
	fi
	"${CLUSTER[@]}" wait-converged --timeout 60 >/dev/null || start_failed "the nodes did not converge"
	before=$(cli 1 GET demo:counter)
	[[ $before =~ ^-?[0-9]+$ ]] || before=0
else
	check_ports 1 2 3
	echo "== starting a new demo cluster: three nodes on 127.0.0.1 (CA and certificates in $DEMO)"
	# tools/cluster up stops the nodes it started when it fails.
	"${CLUSTER[@]}" up "$NODES" --host 127.0.0.1 || die "the cluster did not start (logs: $DEMO/n*/groved.log)"
	before=0
fi

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
if ((before == 0)); then
	echo "   (the counter reads 1+2+3 = 6 on every node)"
else
	echo "   (the counter reads $before from before + 1+2+3 = $((before + 6)) on every node)"
fi
echo
echo "The cluster keeps running. Connect with:  redis-cli -p 7001   (or 7002, 7003)"
echo "Members:  redis-cli -p 7001 GROVE MEMBERS     Stop it:  make stop (keeps the data)"
