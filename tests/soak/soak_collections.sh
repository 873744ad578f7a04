#!/bin/bash
# soak_collections.sh - the big versions of the collection figures and
# tests (issue 11): tests/bench/bench_collections.sh with keys of 10^7
# elements (the 3-node sections at 10^6), then tests/proc/test_collections.sh
# at 10^5 elements (the size); the kill -9 test is
# soak_collections_crash.sh beside this file.  Each keeps its own
# deadlines; sizes and deadlines can be overridden with the same variables.
# Heavy, not quadratic: replicating a big collection is linear (README,
# "Anti-entropy in groved"); a fresh node catches up on a set and a hash
# of 10^5 elements each in about 10 s, of 10^6 in a few minutes.
set -u
d=$(dirname "$0")
rc=0
run() {
	"$@"
	local r=$?
	((r == 0 || r == 77)) || rc=1
}
run env GROVE_BENCH_COLL_SIZES="${GROVE_BENCH_COLL_SIZES:-1000 1000000 10000000}" \
	GROVE_BENCH_COLL_CLUSTER_SIZE="${GROVE_BENCH_COLL_CLUSTER_SIZE:-1000000}" \
	GROVE_BENCH_COLL_BUDGET_S="${GROVE_BENCH_COLL_BUDGET_S:-1200}" bash "$d/../bench/bench_collections.sh"
run env COLL_N="${COLL_N:-100000}" COLL_FILL_S="${COLL_FILL_S:-900}" COLL_CONV_S="${COLL_CONV_S:-900}" \
	bash "$d/../proc/test_collections.sh"
exit $rc
