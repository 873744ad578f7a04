#!/bin/bash
# bench_lists.sh - lists through RESP (issue 17), each figure beside a
# redis-server (AOF, appendfsync everysec) started in the same run, on
# loopback, one groved (durability none, its default):
#  1. fill one list to each size of GROVE_BENCH_LIST_SIZES with pipelined
#     RPUSH (tests/proc/resp_pipe.py, at most 2,000 unanswered);
#  2. at that size: LPUSH rate, pushing GROVE_BENCH_LIST_OPS more elements
#     (redis-benchmark -P 16 -c 4: pipelined, 4 connections);
#  3. LRANGE key 0 99 rate (same settings), 100 elements a reply.
# Prints one table: rates, grove/redis, and the largest size's rate over
# the smallest's (goal: >= 0.3x redis at both sizes, >= 0.7 size ratio),
# with the load average before and after, and the CPU time each server
# spent per request (us/req, from /proc/PID/stat: a figure the machine's
# load does not inflate as much as the rates).  GROVE_BENCH_PERF=DIR also
# records groved under perf (perf record --call-graph dwarf) during each LPUSH and LRANGE
# run into DIR/{lpush,lrange}.SIZE.data.  Every fill has a time budget
# (GROVE_BENCH_LIST_BUDGET_S, 300 s); a fill that does not end in it is
# reported with how far it got.  Exit 77 (skip) without redis-server,
# redis-benchmark, redis-cli or /usr/bin/python3.
source "$(dirname "$0")/../proc/node_lib.sh"
SIZES=${GROVE_BENCH_LIST_SIZES:-1000 1000000}
OPS=${GROVE_BENCH_LIST_OPS:-200000}
BUDGET_S=${GROVE_BENCH_LIST_BUDGET_S:-300}
PY=/usr/bin/python3
PIPE=$ROOT/tests/proc/resp_pipe.py
for t in redis-server redis-benchmark redis-cli; do
	command -v $t >/dev/null || { echo "skip: $t not installed"; exit 77; }
done
[[ -x $PY ]] || { echo "skip: $PY missing"; exit 77; }
[[ -x $GROVED ]] || { echo "skip: $GROVED not built"; exit 77; }

P=$((PORT_BASE + 95))
RP=$((P + 1))
mkdir -p "$SCRATCH/redis"
redis-server --port "$RP" --bind 127.0.0.1 --save "" --appendonly yes --appendfsync everysec \
	--dir "$SCRATCH/redis" --logfile "$SCRATCH/redis.log" &
REDIS_PID=$!
PIDS+=($REDIS_PID)
wait_ping "$RP" || { fail "redis-server did not answer PING"; finish; }
start_node a n1 "$P" || finish
GROVED_PID=$NODE_PID
PERF_DIR=${GROVE_BENCH_PERF:-}
if [[ -n $PERF_DIR ]]; then
	command -v perf >/dev/null || { echo "GROVE_BENCH_PERF: perf not installed"; exit 1; }
	mkdir -p "$PERF_DIR"
fi
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "redis-server: $(redis-server --version | cut -d' ' -f1-3); groved: durability none"

# rate PORT CMD...: requests/s of redis-benchmark (pipelined 16, 4 clients)
rate() {
	local port=$1
	shift
	redis-benchmark -h 127.0.0.1 -p "$port" -n "$OPS" -c 4 -P 16 -q "$@" 2>/dev/null |
		tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -1 | cut -d' ' -f1
}
# cpu_ticks PID: user + system clock ticks the process has used
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# measure SIDE OP SIZE CMD...: R[SIDE.OP.SIZE] = rate, C[...] = CPU us/req
measure() {
	local side=$1 op=$2 size=$3 pid port=$P perf_pid=
	shift 3
	pid=$GROVED_PID
	[[ $side == redis ]] && pid=$REDIS_PID port=$RP
	if [[ -n $PERF_DIR && $side == grove ]]; then
		perf record -q --call-graph dwarf,16384 -F 499 -p "$pid" -o "$PERF_DIR/$op.$size.data" 2>/dev/null &
		perf_pid=$!
		wait_for 10 test -s "$PERF_DIR/$op.$size.data" || echo "perf did not start"
	fi
	local t0
	t0=$(cpu_ticks "$pid")
	R[$side.$op.$size]=$(rate "$port" "$@")
	C[$side.$op.$size]=$(awk -v t=$(($(cpu_ticks "$pid") - t0)) -v hz="$(getconf CLK_TCK)" -v n="$OPS" \
		'BEGIN { printf "%.1f", t * 1e6 / hz / n }')
	if [[ -n $perf_pid ]]; then
		kill -INT "$perf_pid"
		wait "$perf_pid"
	fi
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else printf "-" }'; }

declare -A R C
for size in $SIZES; do
	for side in grove redis; do
		port=$P
		[[ $side == redis ]] && port=$RP
		key="L$size"
		t0=$(date +%s%N)
		out=$("$PY" "$PIPE" 127.0.0.1 "$port" rpush "$key" 0 "$size" --budget "$BUDGET_S" --pregen)
		t1=$(date +%s%N)
		acked=$(sed -n 's/.* acked \([0-9]*\).*/\1/p' <<<"$out")
		R[$side.fill.$size]=$(awk -v n="${acked:-0}" -v ns=$((t1 - t0)) 'BEGIN { printf "%.0f", n / (ns / 1e9) }')
		[[ $acked == "$size" ]] || echo "$side: fill of $size did not finish in $BUDGET_S s ($acked acknowledged)"
		measure "$side" lrange "$size" LRANGE "$key" 0 99
		measure "$side" lpush "$size" LPUSH "$key" x
		echo "$side size $size: fill ${R[$side.fill.$size]}/s, LPUSH ${R[$side.lpush.$size]}/s, LRANGE 0 99 ${R[$side.lrange.$size]}/s, LLEN after $(redis-cli -p "$port" llen "$key")"
	done
done
first=${SIZES%% *}
last=${SIZES##* }
printf '\n| size | op | grove /s | redis-server /s | grove/redis | grove CPU us/req | redis CPU us/req |\n|---|---|---|---|---|---|---|\n'
for size in $SIZES; do
	for op in lpush lrange fill; do
		printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$size" "$op" "${R[grove.$op.$size]}" "${R[redis.$op.$size]}" \
			"$(ratio "${R[grove.$op.$size]}" "${R[redis.$op.$size]}")" "${C[grove.$op.$size]:--}" "${C[redis.$op.$size]:--}"
	done
done
for op in lpush lrange; do
	echo "grove $op at $last / at $first: $(ratio "${R[grove.$op.$last]}" "${R[grove.$op.$first]}") (redis: $(ratio "${R[redis.$op.$last]}" "${R[redis.$op.$first]}"))"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
finish
