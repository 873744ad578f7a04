#!/bin/bash
# test_readme_cluster.sh - the "Cluster harness" section of README.md, run
# as written: the first session (block harness-session: up 3 with no flags,
# kill/start, restart, add, converge, status, clean) and, as root with
# nftables, the worked example with faults (block harness-faults: five
# nodes, partition, heal, kill and rejoin without seeds, loss).  Each
# command's output must match the README's (tests/proc/readme_lib.sh).
#
# The harness's defaults are used: addresses 127.0.0.11.., ports 7379 and
# 7946.  Only the cluster directory differs ($GROVE_CLUSTER_DIR, which the
# README documents), so that a cluster of the checkout's own tmp/cluster
# is never touched; the README shows that directory as tmp/cluster.
# Needs the proc-test lock (fixed ports, nftables): run under
# flock /work/proc.lock like every proc test.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
ROOT=$(pwd)
source tests/proc/readme_lib.sh
command -v redis-cli >/dev/null || { echo "skip: redis-cli not installed"; exit 77; }
[[ -x bin/groved && -x bin/grove ]] || { echo "skip: bin/groved, bin/grove not built"; exit 77; }

SCRATCH=$(mktemp -d /tmp/grove-readme-cluster.XXXXXX)
export GROVE_CLUSTER_DIR=$SCRATCH/cluster
unset GROVE_CLUSTER_NET GROVE_CLUSTER_PORT_OFFSET GROVED GROVE
cleanup() {
	[[ -f $GROVE_CLUSTER_DIR/cluster.env ]] && tools/cluster clean >/dev/null 2>&1
	rm -rf "$SCRATCH"
}
trap cleanup EXIT
README_PATHS=("$GROVE_CLUSTER_DIR=tmp/cluster")

readme_transcript harness-session "$ROOT" &&
	{ [[ ! -e $GROVE_CLUSTER_DIR ]] || readme_fail "harness-session: clean left $GROVE_CLUSTER_DIR"; }

if ((README_FAILS == 0)); then
	if [[ $EUID -eq 0 ]] && command -v nft >/dev/null && nft list tables >/dev/null 2>&1; then
		readme_transcript harness-faults "$ROOT"
	else
		echo "note: harness-faults not run (partition and loss need root and nftables)"
	fi
fi

if ((README_FAILS > 0)); then
	echo "$README_FAILS README block(s) failed"
	exit 1
fi
echo "all README cluster harness blocks passed"
