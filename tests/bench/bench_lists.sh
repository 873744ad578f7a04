#!/bin/bash
# bench_lists.sh - lists through RESP (issue 17), each figure beside a
# redis-server (AOF, appendfsync everysec) started in the same run, on
# loopback, one groved (durability none, its default):
#  1. fill one list to each size of GROVE_BENCH_LIST_SIZES with pipelined
#     RPUSH (tests/proc/resp_pipe.py, at most 2,000 unanswered);
#  2. at that size, GROVE_BENCH_LIST_ROUNDS rounds (default 1) of the
#     reads, then as many of the pushes, the servers alternating within a
#     round (redis-benchmark -P 16 -c 4: pipelined, 4 connections,
#     GROVE_BENCH_LIST_OPS requests each): LRANGE key 0 99 (100 elements a
#     reply), LINDEX key 50, then LPUSH and RPUSH of one more element (each
#     push round grows the list by 2 x OPS: the length after is printed);
#     the figure of an op is the median of its rounds.
# GROVE_BENCH_LIST_BASE=PATH also runs a second groved from that binary
# (for instance a copy of bin/groved built from main) on its own store,
# filled and measured the same way in the same rounds ("base" column).
# Prints one table: rates, grove/redis, and the largest size's rate over
# the smallest's (goal: >= 0.3x redis at both sizes, >= 0.7 size ratio),
# with the load average before and after, and the CPU time each server
# spent per request (us/req, from /proc/PID/stat: a figure the machine's
# load does not inflate as much as the rates).  GROVE_BENCH_PERF=DIR also
# records groved under perf (perf record --call-graph dwarf) during each
# op's first round into DIR/OP.SIZE.data.  Every fill has a time budget
# (GROVE_BENCH_LIST_BUDGET_S, 300 s); a fill that does not end in it is
# reported with how far it got.  Exit 77 (skip) without redis-server,
# redis-benchmark, redis-cli or /usr/bin/python3.
source "$(dirname "$0")/../proc/node_lib.sh"
SIZES=${GROVE_BENCH_LIST_SIZES:-1000 1000000}
OPS=${GROVE_BENCH_LIST_OPS:-200000}
BUDGET_S=${GROVE_BENCH_LIST_BUDGET_S:-300}
ROUNDS=${GROVE_BENCH_LIST_ROUNDS:-1}
BASE_BIN=${GROVE_BENCH_LIST_BASE:-}
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
SIDES="grove redis"
BP=$((P + 2))
if [[ -n $BASE_BIN ]]; then
	[[ -x $BASE_BIN ]] || { echo "GROVE_BENCH_LIST_BASE: $BASE_BIN is not executable"; exit 1; }
	GROVED_NEW=$GROVED
	GROVED=$BASE_BIN
	start_node b n2 "$BP" || finish
	BASE_PID=$NODE_PID
	GROVED=$GROVED_NEW
	SIDES="grove base redis"
fi
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
# side_pid SIDE / side_port SIDE: the server of a column
side_pid() { case $1 in grove) echo "$GROVED_PID" ;; base) echo "$BASE_PID" ;; *) echo "$REDIS_PID" ;; esac; }
side_port() { case $1 in grove) echo "$P" ;; base) echo "$BP" ;; *) echo "$RP" ;; esac; }
# measure SIDE OP SIZE ROUND CMD...: R[SIDE.OP.SIZE] and C[...] (rate, CPU
# us/req) get this round's figures appended
measure() {
	local side=$1 op=$2 size=$3 round=$4 pid port perf_pid=
	shift 4
	pid=$(side_pid "$side")
	port=$(side_port "$side")
	if [[ -n $PERF_DIR && $side == grove && $round == 1 ]]; then
		perf record -q --call-graph dwarf,16384 -F 499 -p "$pid" -o "$PERF_DIR/$op.$size.data" 2>/dev/null &
		perf_pid=$!
		wait_for 10 test -s "$PERF_DIR/$op.$size.data" || echo "perf did not start"
	fi
	local t0
	t0=$(cpu_ticks "$pid")
	R[$side.$op.$size]+=" $(rate "$port" "$@")"
	C[$side.$op.$size]+=" $(awk -v t=$(($(cpu_ticks "$pid") - t0)) -v hz="$(getconf CLK_TCK)" -v n="$OPS" \
		'BEGIN { printf "%.2f", t * 1e6 / hz / n }')"
	if [[ -n $perf_pid ]]; then
		kill -INT "$perf_pid"
		wait "$perf_pid"
	fi
}
# median VALUES...: the median (the lower middle of an even count)
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "-" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else printf "-" }'; }

declare -A R C M
OPNAMES="lrange lindex lpush rpush"
opcmd() {
	case $1 in
	lrange) echo "LRANGE $2 0 99" ;;
	lindex) echo "LINDEX $2 50" ;;
	lpush) echo "LPUSH $2 x" ;;
	rpush) echo "RPUSH $2 y" ;;
	esac
}
for size in $SIZES; do
	key="L$size"
	for side in $SIDES; do
		port=$(side_port "$side")
		t0=$(date +%s%N)
		out=$("$PY" "$PIPE" 127.0.0.1 "$port" rpush "$key" 0 "$size" --budget "$BUDGET_S" --pregen)
		t1=$(date +%s%N)
		acked=$(sed -n 's/.* acked \([0-9]*\).*/\1/p' <<<"$out")
		M[$side.fill.$size]=$(awk -v n="${acked:-0}" -v ns=$((t1 - t0)) 'BEGIN { printf "%.0f", n / (ns / 1e9) }')
		[[ $acked == "$size" ]] || echo "$side: fill of $size did not finish in $BUDGET_S s ($acked acknowledged)"
	done
	for ops in "lrange lindex" "lpush rpush"; do
		for ((round = 1; round <= ROUNDS; round++)); do
			for op in $ops; do
				for side in $SIDES; do
					# shellcheck disable=SC2046
					measure "$side" "$op" "$size" "$round" $(opcmd "$op" "$key")
				done
			done
		done
	done
	for side in $SIDES; do
		for op in $OPNAMES; do
			# shellcheck disable=SC2086
			M[$side.$op.$size]=$(median ${R[$side.$op.$size]})
			# shellcheck disable=SC2086
			M[c.$side.$op.$size]=$(median ${C[$side.$op.$size]})
		done
		echo "$side size $size: fill ${M[$side.fill.$size]}/s; rates${R[$side.lpush.$size]:+ LPUSH${R[$side.lpush.$size]}} RPUSH${R[$side.rpush.$size]} LRANGE${R[$side.lrange.$size]} LINDEX${R[$side.lindex.$size]}; CPU us/req LPUSH${C[$side.lpush.$size]} RPUSH${C[$side.rpush.$size]} LRANGE${C[$side.lrange.$size]} LINDEX${C[$side.lindex.$size]}; LLEN after $(redis-cli -p "$(side_port "$side")" llen "$key")"
	done
done
first=${SIZES%% *}
last=${SIZES##* }
hb=
cb=
[[ -n $BASE_BIN ]] && hb=' base /s | base/redis |' cb='---|---|'
printf '\n| size | op | grove /s | redis-server /s | grove/redis |%s grove CPU us/req |%s redis CPU us/req |\n|---|---|---|---|---|%s---|%s---|\n' \
	"$hb" "${BASE_BIN:+ base CPU us/req |}" "$cb" "${BASE_BIN:+---|}"
for size in $SIZES; do
	for op in $OPNAMES fill; do
		b1='' b2=''
		if [[ -n $BASE_BIN ]]; then
			b1=" ${M[base.$op.$size]} | $(ratio "${M[base.$op.$size]}" "${M[redis.$op.$size]}") |"
			b2=" ${M[c.base.$op.$size]:--} |"
		fi
		printf '| %s | %s | %s | %s | %s |%s %s |%s %s |\n' "$size" "$op" "${M[grove.$op.$size]}" "${M[redis.$op.$size]}" \
			"$(ratio "${M[grove.$op.$size]}" "${M[redis.$op.$size]}")" "$b1" "${M[c.grove.$op.$size]:--}" "$b2" "${M[c.redis.$op.$size]:--}"
	done
done
for op in $OPNAMES; do
	echo "grove $op at $last / at $first: $(ratio "${M[grove.$op.$last]}" "${M[grove.$op.$first]}") (redis: $(ratio "${M[redis.$op.$last]}" "${M[redis.$op.$first]}")${BASE_BIN:+; base: $(ratio "${M[base.$op.$last]}" "${M[base.$op.$first]}")})"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
finish
