#!/bin/bash
# bench_resp.sh - redis-benchmark against one groved (durability none, then
# batch) and against a redis-server started here on another port, in the
# same run on the same machine: SET, GET, INCR, SADD, HSET, unpipelined
# and with -P 16.  Prints requests/s for each and the ratio groved/redis.
#
# Keys: see run() below.
# Environment: BENCH_N (requests per unpipelined test, default 50000;
# pipelined tests run 4x as many), BENCH_CLIENTS (default 50).
# Exit 77 (skip) when redis-server or redis-benchmark is missing.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
GROVED=$ROOT/bin/groved
GROVE=$ROOT/bin/grove
N=${BENCH_N:-50000}
C=${BENCH_CLIENTS:-50}
for t in redis-server redis-benchmark redis-cli; do
	command -v $t >/dev/null || { echo "skip: $t not installed"; exit 77; }
done
[[ -x $GROVED && -x $GROVE ]] || { echo "skip: bin/groved or bin/grove not built"; exit 77; }

SCRATCH=$(mktemp -d /tmp/grove-bench.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
	rm -rf "$SCRATCH"
}
trap cleanup EXIT
BASE=$((30000 + ($$ * 11) % 20000))

wait_ping() {
	local deadline=$((SECONDS + 30))
	while ((SECONDS < deadline)); do
		[[ $(redis-cli -p "$1" ping 2>/dev/null) == PONG ]] && return 0
		sleep 0.05
	done
	echo "server on port $1 did not start"
	exit 1
}

# run PORT PIPELINE -> "test rps" lines.  SET/GET/INCR spread over 100000
# keys (-r), as distinct keys commit in parallel; SADD/HSET use
# redis-benchmark's single set and hash with a single member (without -r),
# since a Grove collection is one CRDT value whose updates cost in its size.
run() {
	local n=$N
	(($2 > 1)) && n=$((N * 4))
	{
		redis-benchmark -p "$1" -t set,get,incr -r 100000 -n "$n" -c "$C" -P "$2" --csv 2>/dev/null
		redis-benchmark -p "$1" -t sadd,hset -n "$n" -c "$C" -P "$2" --csv 2>/dev/null
	} | awk -F'","' '$1 != "\"test" { gsub(/"/, "", $1); gsub(/"/, "", $2); print $1, $2 }'
}

redis-server --port "$BASE" --save '' --appendonly no --daemonize no --dir "$SCRATCH" \
	--logfile "$SCRATCH/redis.log" &
PIDS+=($!)
wait_ping "$BASE"

"$GROVE" ca init "$SCRATCH/ca" >/dev/null
declare -A R
for p in 1 16; do
	while read -r t rps; do R[redis,$p,$t]=$rps; done < <(run "$BASE" "$p")
done
for mode in none batch; do
	port=$((BASE + 1))
	dir=$SCRATCH/$mode
	"$GROVE" cert "$SCRATCH/ca" --id "bench-$mode" --out "$dir" >/dev/null
	"$GROVED" --id "bench-$mode" --data "$dir" --client "127.0.0.1:$port" \
		--gossip "127.0.0.1:$((port + 1))" --durability "$mode" --log-level warn \
		--log-file "$SCRATCH/groved-$mode.log" &
	gp=$!
	PIDS+=($gp)
	wait_ping "$port"
	for p in 1 16; do
		while read -r t rps; do R[$mode,$p,$t]=$rps; done < <(run "$port" "$p")
	done
	kill -TERM "$gp"
	wait "$gp"
done

echo "redis-benchmark -c $C (SET/GET/INCR -r 100000; SADD/HSET one key), n=$N (x4 pipelined); requests/s; $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
printf '%-6s %-3s %12s %12s %7s %12s %7s\n' test P redis-server "groved-none" ratio "groved-batch" ratio
for p in 1 16; do
	for t in SET GET INCR SADD HSET; do
		r=${R[redis,$p,$t]:-0} a=${R[none,$p,$t]:-0} b=${R[batch,$p,$t]:-0}
		printf '%-6s %-3s %12.0f %12.0f %7.2f %12.0f %7.2f\n' "$t" "$p" "$r" "$a" \
			"$(echo "$a / ($r + 0.001)" | bc -l)" "$b" "$(echo "$b / ($r + 0.001)" | bc -l)"
	done
done
