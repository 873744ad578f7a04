#!/bin/bash
# bench_resp.sh - issue 13's table: redis-benchmark SET GET INCR SADD HSET
# against groved and redis-server in the same run on the same machine,
# alternating server by server, BENCH_RUNS runs (default 3), medians.
#   groved durability none  vs redis-server AOF appendfsync everysec
#   groved durability batch vs redis-server AOF appendfsync always
# (redis with always fsyncs once per event-loop pass: the fair peer of a
# group commit), each pipelined (-P 16) and unpipelined.  The ratio column
# is the median of the per-run ratios (each groved run against the redis
# run just before it); the load average is printed with every run.  Each
# test runs on its own so the servers' CPU time per request (utime+stime
# from /proc/PID/stat) is measured too: a second table gives it with the
# same-run ratio redis/groved, which the machine's load moves far less.
# Then, unless BENCH_PROFILE=0, `perf record -g` on groved (none) under the
# pipelined load and the top of its profile (self time).
#
# The command is the issue's: redis-benchmark -n N -c 50 [-P 16]
# -t set,get,incr,sadd,hset (no -r: every client on the same key, the
# worst case for per-key locks).
# Environment: BENCH_N (requests per test, default 100000), BENCH_N1 (per
# unpipelined test, default BENCH_N), BENCH_CLIENTS
# (default 50), BENCH_RUNS (default 3), BENCH_PROFILE (default 1),
# BENCH_BASELINE (another groved binary, e.g. main's: run beside this one
# in both modes, in the same runs, the two alternating which goes first;
# its rows say "base", and it is profiled too).
# Exit 77 (skip) when redis-server or redis-benchmark is missing.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
GROVED=$ROOT/bin/groved
GROVE=$ROOT/bin/grove
N=${BENCH_N:-100000}
N1=${BENCH_N1:-$N}
C=${BENCH_CLIENTS:-50}
RUNS=${BENCH_RUNS:-3}
PROFILE=${BENCH_PROFILE:-1}
BASELINE=${BENCH_BASELINE:-}
TESTS="SET GET INCR SADD HSET"
for t in redis-server redis-benchmark redis-cli; do
	command -v $t >/dev/null || { echo "skip: $t not installed"; exit 77; }
done
[[ -x $GROVED && -x $GROVE ]] || { echo "skip: bin/groved or bin/grove not built"; exit 77; }
[[ -z $BASELINE || -x $BASELINE ]] || { echo "BENCH_BASELINE $BASELINE: not an executable"; exit 2; }

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

# cpu_ticks PID: utime + stime of the process (all threads), clock ticks
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
TCK=$(getconf CLK_TCK)

# bench PORT PIPELINE [PID] -> "TEST rps" lines, or with PID "TEST rps
# cpu_us" (the server's CPU microseconds per request, one test at a time:
# less sensitive to the machine's load than the rate)
bench() {
	local n=$N
	[[ $2 == 1 ]] && n=$N1
	if [[ -z ${3:-} ]]; then
		redis-benchmark -p "$1" -t set,get,incr,sadd,hset -n "$n" -c "$C" -P "$2" --csv 2>/dev/null |
			awk -F'","' '$1 != "\"test" { gsub(/"/, "", $1); gsub(/"/, "", $2); print $1, $2 }'
		return
	fi
	local t c0 c1 rps
	for t in $TESTS; do
		c0=$(cpu_ticks "$3")
		rps=$(redis-benchmark -p "$1" -t "${t,,}" -n "$n" -c "$C" -P "$2" --csv 2>/dev/null |
			awk -F'","' '$1 != "\"test" { gsub(/"/, "", $2); print $2; exit }')
		c1=$(cpu_ticks "$3")
		echo "$t ${rps:-0} $(echo "($c1 - $c0) * 1000000 / $TCK / $n" | bc -l)"
	done
}

start_redis() { # PORT FSYNC
	mkdir -p "$SCRATCH/redis-$2"
	redis-server --port "$1" --save '' --appendonly yes --appendfsync "$2" --daemonize no \
		--dir "$SCRATCH/redis-$2" --logfile "$SCRATCH/redis-$2.log" &
	PIDS+=($!)
	RPID[$2]=$!
	wait_ping "$1"
}

start_groved() { # PORT NAME [BINARY]: NAME is the mode, "base-" before it for the baseline
	local dir=$SCRATCH/groved-$2
	"$GROVE" cert "$SCRATCH/ca" --id "bench-$2" --out "$dir" >/dev/null
	"${3:-$GROVED}" --id "bench-$2" --data "$dir" --client "127.0.0.1:$1" \
		--gossip "127.0.0.1:$(($1 + 1))" --durability "${2#base-}" --log-level warn \
		--log-file "$SCRATCH/groved-$2.log" &
	PIDS+=($!)
	GPID[$2]=$!
	wait_ping "$1"
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print NR ? a[int((NR + 1) / 2)] : 0 }'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

"$GROVE" ca init "$SCRATCH/ca" >/dev/null
declare -A GPID RPID PORT=([everysec]=$BASE [always]=$((BASE + 1)) [none]=$((BASE + 2)) [batch]=$((BASE + 4))
	[base-none]=$((BASE + 6)) [base-batch]=$((BASE + 8)))
start_redis "${PORT[everysec]}" everysec
start_redis "${PORT[always]}" always
start_groved "${PORT[none]}" none
start_groved "${PORT[batch]}" batch
if [[ -n $BASELINE ]]; then
	start_groved "${PORT[base-none]}" base-none "$BASELINE"
	start_groved "${PORT[base-batch]}" base-batch "$BASELINE"
fi

# R[server,P,test] and Q[mode,P,test]: space-separated per-run values;
# RC, GC: CPU us/request of redis and groved, QC the same-run CPU ratios
# redis/groved (above 1: groved spends less per request)
declare -A R Q RC GC QC
echo "redis-benchmark -n $N (unpipelined $N1) -c $C -t set,get,incr,sadd,hset; $(nproc) cores; $RUNS runs alternating"
for ((run = 1; run <= RUNS; run++)); do
	for p in 16 1; do
		for pair in everysec:none always:batch; do
			rs=${pair%%:*} gm=${pair##*:}
			declare -A rr=() rc=()
			l1=$(load)
			while read -r t rps us; do
				rr[$t]=$rps rc[$t]=$us
				R[$rs,$p,$t]+=" $rps" RC[$rs,$p,$t]+=" $us"
			done < <(bench "${PORT[$rs]}" "$p" "${RPID[$rs]}")
			line="run $run P=$p load $l1: redis-$rs"
			for t in $TESTS; do line+=" $t=${rr[$t]:-0}"; done
			echo "$line"
			gms=("$gm")
			[[ -n $BASELINE ]] && { ((run % 2)) && gms=("$gm" "base-$gm") || gms=("base-$gm" "$gm"); }
			for g in "${gms[@]}"; do
				l2=$(load)
				line="run $run P=$p load $l2: groved-$g"
				while read -r t rps us; do
					Q[$g,$p,$t]+=" $(echo "$rps / (${rr[$t]:-0} + 0.001)" | bc -l)"
					GC[$g,$p,$t]+=" $us"
					QC[$g,$p,$t]+=" $(echo "${rc[$t]:-0} / ($us + 0.000001)" | bc -l)"
					line+=" $t=$rps"
				done < <(bench "${PORT[$g]}" "$p" "${GPID[$g]}")
				echo "$line"
			done
		done
	done
done

echo
# table_row LABEL P FORMAT ARRAY MODE: the medians of ARRAY[MODE,P,test].
table_row() {
	local -n cells=$4
	printf '%-22s %-3s' "$1" "$2"
	for t in $TESTS; do printf " $3" "$(echo "${cells[$5,$2,$t]:-}" | median)"; done
	echo
}
table_head() {
	printf '%-22s %-3s' "" P
	for t in $TESTS; do printf ' %10s' "$t"; done
	echo
}

echo "median requests/s of $RUNS runs, ratio = median of same-run ratios groved/redis"
table_head
for p in 16 1; do
	for pair in everysec:none always:batch; do
		rs=${pair%%:*} gm=${pair##*:}
		table_row "redis AOF $rs" "$p" '%10.0f' R "$rs"
		table_row "groved $gm / redis" "$p" '%10.2f' Q "$gm"
		[[ -n $BASELINE ]] && table_row "base $gm / redis" "$p" '%10.2f' Q "base-$gm"
	done
done
echo
echo "CPU microseconds per request (median of $RUNS runs; utime+stime from /proc/PID/stat),"
echo "ratio = median of same-run ratios redis/groved (above 1: groved spends less)"
table_head
for p in 16 1; do
	for pair in everysec:none always:batch; do
		rs=${pair%%:*} gm=${pair##*:}
		table_row "redis AOF $rs us" "$p" '%10.2f' RC "$rs"
		table_row "groved $gm us" "$p" '%10.2f' GC "$gm"
		table_row "redis/groved CPU" "$p" '%10.2f' QC "$gm"
		if [[ -n $BASELINE ]]; then
			table_row "base $gm us" "$p" '%10.2f' GC "base-$gm"
			table_row "redis/base CPU" "$p" '%10.2f' QC "base-$gm"
		fi
	done
done
echo "goals: -P 16 none >= 0.8, batch >= 0.8 (vs always); unpipelined >= 0.95"

profiled=(none)
[[ -n $BASELINE ]] && profiled+=(base-none)
for g in "${profiled[@]}"; do
	[[ $PROFILE == 1 ]] && command -v perf >/dev/null || break
	echo
	echo "profile: perf record -g on groved ($g) under -P 16, all five tests; top symbols by self time"
	perf record -q -g -o "$SCRATCH/perf.data" -p "${GPID[$g]}" 2>/dev/null &
	pp=$!
	sleep 0.5
	bench "${PORT[$g]}" 16 >/dev/null
	kill -INT "$pp"
	wait "$pp"
	perf report -q -i "$SCRATCH/perf.data" --no-children --sort symbol --stdio -g none 2>/dev/null |
		grep -v '^$' | head -20
done
