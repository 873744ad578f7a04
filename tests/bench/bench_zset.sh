#!/bin/bash
# bench_zset.sh - sorted sets through RESP (issue 17), beside a redis-server
# (AOF, appendfsync everysec) started in the same run, on one groved
# (durability GROVE_BENCH_ZSET_DURABILITY, none by default), for each size
# of GROVE_BENCH_ZSET_SIZES:
#  1. ZADD: one key filled to the size, pipelined (tests/proc/resp_pipe.py
#     zadd, one connection, 2,000 commands unanswered, commands encoded
#     before the clock starts); the rate of the whole fill and of its last
#     tenth (the rate at that size); at sizes up to 10^4 the figures are
#     those of 40 keys filled to the size at once (resp_pipe.py zkeys:
#     runs of 100 ZADDs per key; the last tenth is 4,000 ZADDs at 10^3),
#     as one key's last tenth at 10^3 is 100 ZADDs, a round trip or two,
#     and reads 0.00 us of CPU; the one key is filled after them (the
#     reads below use it: a stripe's rank cache holds the key last
#     written) and its rates are printed after the table ("one key"), with
#     the flatness they give (the definition before the 40 keys);
#     Then, with GROVE_BENCH_ZSET_SETTLE=1 (the default), the server is let
#     settle (its CPU idle for a second: at 10^6 LevelDB's compactions of
#     the fill run on for seconds after it, and a read step right after the
#     fill counted them); the seconds and CPU that took are printed after
#     the table ("settle");
#  2. ZRANGE key BYSCORE x +inf LIMIT 0 10 (x random): redis-benchmark -P 16
#     -c 16, GROVE_BENCH_ZSET_QUERIES requests;
#  3. ZRANK key m (m a random member): redis-benchmark -P 16 -c 16; Grove's
#     ZRANK reads the counted index (doc/storage_format.md); at sizes above
#     10^4 it runs GROVE_BENCH_ZSET_RANKS_BIG requests (default: as many as
#     the other queries; lower it to time a store whose ZRANK walks).
# Each step also gives the server's CPU per request (utime + stime from
# /proc/PID/stat: the figure to trust on a loaded machine).  With
# GROVE_BENCH_ZSET_BASELINE=PATH (a groved built from another commit) a
# second groved runs the same steps beside them ("base").
# Then the ratios: Grove / redis-server at each size, and Grove's rate at
# the largest size / at the smallest (goals: >= 0.3 and >= 0.7).
# Then a leaderboard (GROVE_BENCH_ZSET_BOARD members, 1,000 by default,
# written once, then GROVE_BENCH_ZSET_UPDATES ZINCRBYs of random ones,
# 21,000 by default: every score change moves the member's index entry):
# ZRANK and ZRANGE BYSCORE rates and the server's CPU per ZRANK request
# (/proc/PID/stat, -P 16 -c 4), beside redis-server.  Every
# step has a time budget (GROVE_BENCH_ZSET_BUDGET_S, 120 s): past it the
# step prints "did not finish".  Exit 77 (skip) without redis-server,
# redis-benchmark or /usr/bin/python3.
source "$(dirname "$0")/../proc/node_lib.sh"
SIZES=${GROVE_BENCH_ZSET_SIZES:-1000 1000000}
BUDGET_S=${GROVE_BENCH_ZSET_BUDGET_S:-120}
QUERIES=${GROVE_BENCH_ZSET_QUERIES:-50000}
RANKS_BIG=${GROVE_BENCH_ZSET_RANKS_BIG:-$QUERIES}
MODE=${GROVE_BENCH_ZSET_DURABILITY:-none}
BOARD=${GROVE_BENCH_ZSET_BOARD:-1000}
UPDATES=${GROVE_BENCH_ZSET_UPDATES:-21000}
SETTLE=${GROVE_BENCH_ZSET_SETTLE:-1}
SMALL_MAX=10000 # sizes filled as 40 keys for the ZADD figures
ZKEYS=40        # resp_pipe.py's zkeys
PY=/usr/bin/python3
PIPE=$ROOT/tests/proc/resp_pipe.py
for t in redis-server redis-benchmark; do
	command -v $t >/dev/null || { echo "skip: $t not installed"; exit 77; }
done
[[ -x $PY ]] || { echo "skip: $PY missing"; exit 77; }

P=$((PORT_BASE + 90))
RP=$((P + 1))
mkdir -p "$SCRATCH/redis"
redis-server --port "$RP" --bind 127.0.0.1 --save "" --appendonly yes --appendfsync everysec \
	--dir "$SCRATCH/redis" --logfile "$SCRATCH/redis.log" &
PIDS+=($!)
REDIS_PID=$!
wait_ping "$RP" || { fail "redis-server did not answer PING"; finish; }
start_node a n1 "$P" --durability "$MODE" || finish
GROVE_PID=$NODE_PID
BASELINE=${GROVE_BENCH_ZSET_BASELINE:-}
SERVERS="redis grove"
if [[ -n $BASELINE ]]; then
	GROVED_NEW=$GROVED
	GROVED=$BASELINE
	start_node b n2 "$((P + 2))" --durability "$MODE" || finish
	GROVED=$GROVED_NEW
	BASE_PID=$NODE_PID
	SERVERS="redis base grove"
fi
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg); nproc $(nproc); groved durability $MODE"

# rate N SECONDS
rate() { awk -v n="$1" -v t="$2" 'BEGIN { if (t + 0 > 0) printf "%.0f", n / t; else printf "-" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else printf "-" }'; }

# fill PORT KEY FROM TO [OP]: elapsed seconds, or "-" past the budget
fill() {
	local out
	out=$($PY "$PIPE" 127.0.0.1 "$1" "${5:-zadd}" "$2" "$3" "$4" --pregen --budget "$BUDGET_S" 2>&1 | tail -1)
	[[ $out == "end done "* ]] || { echo "-"; return; }
	echo "$out" | awk '{ for (i = 1; i < NF; i++) if ($i == "elapsed") print $(i + 1) }'
}

# rb PORT N RANGE CMD...: requests per second (redis-benchmark -P 16 -c 16)
rb() {
	timeout "$BUDGET_S" redis-benchmark -h 127.0.0.1 -p "$1" -c 16 -P 16 -n "$2" -r "$3" --csv "${@:4}" \
		2>/dev/null | awk -F'","' 'END { gsub(/"/, "", $2); print ($2 == "" ? "-" : $2) }'
}

# cpu PID: its user + system CPU time in clock ticks
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# cpu_us T0 T1 N: microseconds of CPU per request between two cpu readings
cpu_us() { awk -v a="$1" -v b="$2" -v n="$3" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / hz * 1e6 / n }'; }
# settle PID: waits (up to the budget) until PID's CPU is idle for a second
# (4 polls 0.25 s apart adding at most a tick each); prints the seconds
# and the CPU ms it took
settle() {
	local c0 last now quiet=0 t0=$SECONDS
	c0=$(cpu "$1")
	last=$c0
	while ((quiet < 4 && SECONDS - t0 < BUDGET_S)); do
		sleep 0.25
		now=$(cpu "$1")
		if ((now - last <= 1)); then quiet=$((quiet + 1)); else quiet=0; fi
		last=$now
	done
	echo "$((SECONDS - t0)) $(awk -v a="$c0" -v b="$last" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", (b - a) * 1000 / hz }')"
}

declare -A R
printf '%-9s %-6s %11s %11s %9s %16s %9s %10s %9s\n' size server "ZADD fill/s" "ZADD last/s" "(CPU us)" \
	"ZRANGE BYSCORE/s" "(CPU us)" "ZRANK/s" "(CPU us)"
for size in $SIZES; do
	for srv in $SERVERS; do
		port=$RP pid=$REDIS_PID
		[[ $srv == grove ]] && port=$P pid=$GROVE_PID
		[[ $srv == base ]] && port=$((P + 2)) pid=$BASE_PID
		if ((size <= SMALL_MAX)); then # 40 keys (resp_pipe.py zkeys), before the one
			# key: the rank cache then holds the one key for the reads
			n=$((ZKEYS * size))
			t1=$(fill "$port" "zk:$size" 0 $((n * 9 / 10)) zkeys)
			c0=$(cpu "$pid")
			t2=$(fill "$port" "zk:$size" $((n * 9 / 10)) "$n" zkeys)
			c1=$(cpu "$pid")
			total=$(awk -v a="$t1" -v b="$t2" 'BEGIN { if (a != "-" && b != "-") print a + b; else print "-" }')
			for k in 0000 0039; do
				card=$(redis-cli -p "$port" zcard "zk:$size:$k")
				[[ $card == "$size" ]] || fail "$srv: ZCARD zk:$size:$k is $card, want $size"
			done
			zadd40=$(rate "$n" "$total")
			zlast40=$(rate $((n - n * 9 / 10)) "$t2")
			uadd40=$(cpu_us "$c0" "$c1" $((n - n * 9 / 10)))
		fi
		key="zs:$size"
		head=$((size * 9 / 10))
		t1=$(fill "$port" "$key" 0 "$head")
		c0=$(cpu "$pid")
		t2=$(fill "$port" "$key" "$head" "$size")
		c1=$(cpu "$pid")
		total=$(awk -v a="$t1" -v b="$t2" 'BEGIN { if (a != "-" && b != "-") print a + b; else print "-" }')
		card=$(redis-cli -p "$port" zcard "$key")
		[[ $card == "$size" ]] || fail "$srv: ZCARD $key is $card, want $size"
		zadd=$(rate "$size" "$total")
		zlast=$(rate $((size - head)) "$t2")
		uadd=$(cpu_us "$c0" "$c1" $((size - head)))
		R[$srv,$size,zadd1]=$zadd
		R[$srv,$size,zlast1]=$zlast
		R[$srv,$size,cpu1]=$uadd
		if ((size <= SMALL_MAX)); then
			zadd=$zadd40 zlast=$zlast40 uadd=$uadd40
		fi
		R[$srv,$size,settle]="- -"
		[[ $SETTLE == 1 ]] && R[$srv,$size,settle]=$(settle "$pid")
		c0=$(cpu "$pid")
		zr=$(rb "$port" "$QUERIES" 1000000 ZRANGE "$key" __rand_int__ +inf BYSCORE LIMIT 0 10)
		c1=$(cpu "$pid")
		urange=$(cpu_us "$c0" "$c1" "$QUERIES")
		n=$QUERIES
		((size > 10000)) && [[ $srv != redis ]] && n=$RANKS_BIG
		c0=$(cpu "$pid")
		zk=$(rb "$port" "$n" "$size" ZRANK "$key" m:__rand_int__)
		c1=$(cpu "$pid")
		urank=$(cpu_us "$c0" "$c1" "$n")
		R[$srv,$size,zadd]=$zlast
		R[$srv,$size,zrange]=$zr
		R[$srv,$size,zrank]=$zk
		printf '%-9s %-6s %11s %11s %9s %16s %9s %10s %9s\n' "$size" "$srv" "$zadd" "$zlast" "$uadd" \
			"$zr" "$urange" "$zk" "$urank"
	done
done
small=${SIZES%% *}
big=${SIZES##* }
echo
printf '%-28s' "ratio"
for op in zadd zrange zrank; do printf '%12s' "$op"; done
echo
for srv in ${SERVERS#redis }; do
	for size in $SIZES; do
		printf '%-28s' "$srv/redis at $size"
		for op in zadd zrange zrank; do printf '%12s' "$(ratio "${R[$srv,$size,$op]}" "${R[redis,$size,$op]}")"; done
		echo
	done
	printf '%-28s' "$srv $big / $srv $small"
	for op in zadd zrange zrank; do printf '%12s' "$(ratio "${R[$srv,$big,$op]}" "${R[$srv,$small,$op]}")"; done
	echo
done
printf '%-28s' "redis $big / redis $small"
for op in zadd zrange zrank; do printf '%12s' "$(ratio "${R[redis,$big,$op]}" "${R[redis,$small,$op]}")"; done
echo
if ((small <= SMALL_MAX)); then
	echo
	echo "one key (the ZADD figures before the $ZKEYS keys): at $small its last tenth is $((small - small * 9 / 10)) ZADDs"
	printf '%-9s %-6s %11s %11s %9s %16s\n' size server "ZADD fill/s" "ZADD last/s" "(CPU us)" "$big/$small last"
	for srv in $SERVERS; do
		printf '%-9s %-6s %11s %11s %9s %16s\n' "$small" "$srv" "${R[$srv,$small,zadd1]}" \
			"${R[$srv,$small,zlast1]}" "${R[$srv,$small,cpu1]}" "$(ratio "${R[$srv,$big,zadd]}" "${R[$srv,$small,zlast1]}")"
	done
fi
if [[ $SETTLE == 1 ]]; then
	echo
	echo "settle: after each fill, before the reads, until the server's CPU was idle for a second"
	printf '%-9s %-6s %10s %12s\n' size server seconds "CPU ms"
	for size in $SIZES; do
		for srv in $SERVERS; do
			read -r secs ms <<<"${R[$srv,$size,settle]}"
			printf '%-9s %-6s %10s %12s\n' "$size" "$srv" "$secs" "$ms"
		done
	done
fi
echo
echo "leaderboard: $BOARD members written once, then $UPDATES ZINCRBY of random members"
printf '%-10s %12s %16s %16s\n' server "ZRANK/s" "ZRANK CPU us" "ZRANGE BYSCORE/s"
for srv in $SERVERS; do
	port=$RP pid=$REDIS_PID
	[[ $srv == grove ]] && port=$P pid=$GROVE_PID
	[[ $srv == base ]] && port=$((P + 2)) pid=$BASE_PID
	key="board"
	[[ $(fill "$port" "$key" 0 "$BOARD") != - ]] || fail "$srv: leaderboard fill did not finish"
	timeout "$BUDGET_S" redis-benchmark -h 127.0.0.1 -p "$port" -c 4 -P 16 -n "$UPDATES" -r "$BOARD" \
		-q ZINCRBY "$key" 7 m:__rand_int__ >/dev/null 2>&1 || fail "$srv: ZINCRBY did not finish"
	card=$(redis-cli -p "$port" zcard "$key")
	[[ $card == "$BOARD" ]] || fail "$srv: ZCARD $key is $card, want $BOARD"
	t0=$(cpu "$pid")
	zk=$(timeout "$BUDGET_S" redis-benchmark -h 127.0.0.1 -p "$port" -c 4 -P 16 -n "$QUERIES" -r "$BOARD" \
		--csv ZRANK "$key" m:__rand_int__ 2>/dev/null | awk -F'","' 'END { gsub(/"/, "", $2); print ($2 == "" ? "-" : $2) }')
	t1=$(cpu "$pid")
	us=$(cpu_us "$t0" "$t1" "$QUERIES")
	zr=$(rb "$port" "$QUERIES" 1000000 ZRANGE "$key" __rand_int__ +inf BYSCORE LIMIT 0 10)
	R[$srv,board,zrank]=$zk
	R[$srv,board,cpu]=$us
	printf '%-10s %12s %16s %16s\n' "$srv" "$zk" "$us" "$zr"
done
printf '%-28s %12s %12s\n' "leaderboard grove/redis" "$(ratio "${R[grove,board,zrank]}" "${R[redis,board,zrank]}")" \
	"$(ratio "${R[redis,board,cpu]}" "${R[grove,board,cpu]}")"
echo "(ZRANK rate ratio, then CPU ratio: redis-server us / groved us per request)"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(ZADD: the rate of the last tenth of the fill, i.e. at that size)"
finish
