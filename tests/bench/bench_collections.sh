#!/bin/bash
# bench_collections.sh - big sets and hashes through RESP (issue 11), each
# figure beside a redis-server (AOF, appendfsync everysec) started in the
# same run and beside groved's own small-key rate:
#  1. SADD and HSET rate while one key fills to each size of
#     GROVE_BENCH_COLL_SIZES (pipelined: tests/proc/resp_pipe.py, one connection,
#     at most 2,000 commands unanswered); rate in the first and the last
#     tenth of the fill; the largest size vs the smallest and vs redis-server;
#     beside it, the rate of the same commands on keys of 10 elements.
#  2. SISMEMBER / HGET rate (redis-benchmark -P 16 -c 16, random existing
#     members) on the largest key vs a 10-element key: the same number of
#     requests per run, big and small key alternating, median of 3 runs,
#     after a first run on the big key, printed apart as the cold run
#     (groved's element cache is filled by reads, not by the fill's
#     writes: its first reads miss).
#  3. RSS and disk bytes per element (groved: /proc VmRSS and du of the
#     data directory; redis-server: INFO used_memory, VmRSS, du of the
#     AOF directory), measured around each fill.
#  4. Three nodes (tools/cluster, probe 200 ms, gossip 100 ms): node 1
#     fills a set and a hash to GROVE_BENCH_COLL_CLUSTER_SIZE; time until every
#     node holds them; then one more SADD and one HSET of an existing
#     field: anti-entropy bytes sent by all nodes until every digest is
#     equal (INFO: the ae_bytes_sent_<phase> counters plus
#     ae_state_bytes_sent, i.e. frame payloads before encryption and
#     TCP/IP), once no anti-entropy but the digests has been sent for a
#     second (printed: how long that took and what was sent; a session
#     still running when the roots become equal ends at its peer's next
#     digest); the figure held
#     against the 4 KiB target leaves out the
#     digest datagrams every node sends each round anyway; beside it, the
#     same counters over an idle window of the same length; with root and
#     nft, also every IP byte to or from the gossip port (nftables
#     counters, membership included).
#  5. A fresh 4th node catches up on both: time and bytes it received,
#     beside `cp -r` of node 1's data directory (time and size).
# Every phase has a time budget: a phase that does not end in it prints
# "did not finish in N s" with how far it got, and larger sizes of that
# kind are not tried.  The script fails only when it cannot set up.
#
# Env: GROVE_BENCH_COLL_SIZES ("1000 100000 1000000"), GROVE_BENCH_COLL_CLUSTER_SIZE
# (the largest of the sizes), GROVE_BENCH_COLL_BUDGET_S (120, per phase),
# GROVE_BENCH_COLL_READS (200000 per read run), GROVE_BENCH_COLL_READS_REPS (3 runs, median), GROVE_BENCH_COLL_SMALL_N (100000
# commands on 10-element keys), GROVE_BENCH_COLL_DURABILITY (groved's mode,
# none; redis-server always runs AOF everysec), GROVE_BENCH_COLL_CLUSTER (1; 0
# skips sections 4-5).
# Exit 77 (skip) when redis-server, redis-benchmark, redis-cli or
# /usr/bin/python3 is missing.
set -uo pipefail
source "$(dirname "$0")/../proc/util_cluster.sh"

SIZES=${GROVE_BENCH_COLL_SIZES:-1000 100000 1000000}
BUDGET_S=${GROVE_BENCH_COLL_BUDGET_S:-120}
READS=${GROVE_BENCH_COLL_READS:-200000}
READS_REPS=${GROVE_BENCH_COLL_READS_REPS:-3}
SMALL_N=${GROVE_BENCH_COLL_SMALL_N:-100000}
MODE=${GROVE_BENCH_COLL_DURABILITY:-none}
DO_CLUSTER=${GROVE_BENCH_COLL_CLUSTER:-1}
PY=/usr/bin/python3
PIPE=$ROOT/tests/proc/resp_pipe.py
largest=0
for s in $SIZES; do ((s > largest)) && largest=$s; done
CSIZE=${GROVE_BENCH_COLL_CLUSTER_SIZE:-$largest}

for t in redis-server redis-benchmark redis-cli; do
	command -v $t >/dev/null || skip "$t not installed (apt-get install redis-server redis-tools)"
done
[[ -x $PY ]] || skip "$PY missing (Debian's python3)"
require_binaries
t_init
REDIS_PID=
NFT_TABLE=
bench_cleanup() {
	local rc=$?
	[[ -n $REDIS_PID ]] && kill -9 "$REDIS_PID" 2>/dev/null
	[[ -n $NFT_TABLE ]] && nft delete table inet "$NFT_TABLE" 2>/dev/null
	(exit "$rc")
	t_cleanup
}
trap bench_cleanup EXIT

RHOST=$GROVE_CLUSTER_NET.250
RPORT=6379
GHOST=$GROVE_CLUSTER_NET.11
GPORT=7379

# --- helpers ---------------------------------------------------------------

# ratio A B [DIGITS]: A / B, or "-" when either is not a positive number.
ratio() {
	awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN {
		if (a + 0 > 0 && b + 0 > 0) printf "%.*f", d, a / b; else printf "-" }'
}
# verdict VALUE OP LIMIT: "met" / "missed" / "-" (no value).
verdict() {
	[[ $1 == - ]] && { echo "not measured"; return; }
	awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
		ok = (op == ">=") ? v >= l : v <= l; print ok ? "met" : "MISSED" }'
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
# cpu_ms PID: CPU time (user + system, every thread) the process used so far:
# figures in CPU time per element are less disturbed by a loaded machine.
CLK_TCK=$(getconf CLK_TCK)
cpu_ms() { awk -v t="$CLK_TCK" '{ sub(/^.*\) /, ""); print int(($12 + $13) * 1000 / t) }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# us_per CPU_MS_BEFORE CPU_MS_AFTER N: CPU microseconds per element.
us_per() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { if (n + 0 > 0) printf "%.2f", (b - a) * 1000 / n; else printf "-" }'; }
du_b() { du -sb "$1" 2>/dev/null | cut -f1; }
fmt_s() { awk -v ms="$1" 'BEGIN { printf "%.2f", ms / 1000 }'; }
rcli() { timeout 20 redis-cli -h "$1" -p "$2" "${@:3}" 2>/dev/null; }

# fill HOST PORT OP KEY N: one pipelined fill, N indexes, marks at every
# tenth.  Sets FILL_STATUS (done | budget | closed), FILL_ACKED, FILL_S,
# FILL_RATE (overall), FIRST_RATE and LAST_RATE (first and last tenth;
# "-" when a tenth is under DECILE_MIN elements: replies arrive in
# bursts, so a smaller tenth cannot be timed; tenths under 10,000 elements
# of a fast server are coarse).  A fill cut by the budget gets as
# LAST_RATE the rate of the last tenth it completed, LAST_TENTH.
DECILE_MIN=1000
fill() {
	local out=$T_TMP/fill.out pregen=()
	((${5} <= 2000000)) && pregen=(--pregen)
	"$PY" "$PIPE" "$1" "$2" "$3" "$4" 0 "$5" --marks 10 --budget "$BUDGET_S" "${pregen[@]}" >"$out" 2>&1
	read -r FILL_STATUS FILL_ACKED FILL_S < <(awk '$1 == "end" { print $2, $6, $10 }' "$out")
	[[ -n ${FILL_STATUS:-} ]] || { FILL_STATUS=closed FILL_ACKED=0 FILL_S=0; sed 's/^/  /' "$out" >&2; }
	FILL_RATE=$(ratio "$FILL_ACKED" "$FILL_S" 0)
	read -r FIRST_RATE LAST_RATE LAST_TENTH < <(awk -v n="$5" -v min="$DECILE_MIN" '
		$1 == "mark" { k++; a[k] = $2; t[k] = $3 }
		END {
			if (n / 10 < min) k = 0
			f = (k >= 1 && t[1] > 0) ? sprintf("%.0f", a[1] / t[1]) : "-"
			l = (k >= 2 && t[k] > t[k - 1]) ? sprintf("%.0f", (a[k] - a[k - 1]) / (t[k] - t[k - 1])) : "-"
			print f, l, k }' "$out")
}

# --- redis-server and a single groved ----------------------------------------

mkdir -p "$T_TMP/redis"
redis-server --bind "$RHOST" --port "$RPORT" --save '' --appendonly yes --appendfsync everysec \
	--dir "$T_TMP/redis" --logfile "$T_TMP/redis/redis.log" --daemonize no &
REDIS_PID=$!
deadline=$(($(now_ms) + 20000))
until [[ $(rcli "$RHOST" "$RPORT" PING) == PONG ]]; do
	(($(now_ms) < deadline)) || fail "redis-server did not start: $(tail -3 "$T_TMP/redis/redis.log")"
	sleep 0.05
done
cluster up 1 --durability "$MODE" -- "${FAST_FLAGS[@]}" >/dev/null || fail "cluster up 1"
GPID=$(cluster pid 1)
GDATA=$(cluster dir 1)/data

redis_mem() { rcli "$RHOST" "$RPORT" INFO memory | tr -d '\r' | awk -F: '$1 == "used_memory" { print $2 }'; }
# measure SERVER: "rss_kb disk_bytes used_memory" of redis or groved now.
measure() {
	if [[ $1 == redis ]]; then
		echo "$(rss_kb "$REDIS_PID") $(du_b "$T_TMP/redis") $(redis_mem)"
	else
		echo "$(rss_kb "$GPID") $(du_b "$GDATA") 0"
	fi
}

say "groved durability $MODE; redis-server appendonly yes, appendfsync everysec; sizes: $SIZES; budget $BUDGET_S s per phase"
say "$(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null), groved $GROVED"

# --- 1 and 3: fills --------------------------------------------------------

declare -A R    # R[server,type,size,field] and R[server,type,small]

# Small keys first, on fresh stores (the big fills leave compactions
# behind): the same commands on keys of 10 elements (SMALL_N commands).
for type in set hash; do
	op=ssmall
	[[ $type == hash ]] && op=hsmall
	for srv in redis groved; do
		host=$RHOST port=$RPORT
		[[ $srv == groved ]] && host=$GHOST port=$GPORT
		pid=$REDIS_PID
		[[ $srv == groved ]] && pid=$GPID
		c0=$(cpu_ms "$pid")
		fill "$host" "$port" "$op" "small:$type" "$SMALL_N"
		R[$srv,$type,small]=$([[ $FILL_STATUS == done ]] && echo "$FILL_RATE" || echo -)
		R[$srv,$type,small,cpu]=$(us_per "$c0" "$(cpu_ms "$pid")" "$FILL_ACKED")
		[[ $FILL_STATUS == done ]] || say "$srv: $SMALL_N small-key ${op} did not finish in $BUDGET_S s"
	done
done

declare -A GAVE_UP
ROWS=$T_TMP/rows
: >"$ROWS"
for size in $SIZES; do
	for type in set hash; do
		op=sadd
		[[ $type == hash ]] && op=hset
		for srv in redis groved; do
			host=$RHOST port=$RPORT
			[[ $srv == groved ]] && host=$GHOST port=$GPORT
			if [[ -n ${GAVE_UP[$srv,$type]:-} ]]; then
				echo "$type $size $srv not-tried ${GAVE_UP[$srv,$type]}" >>"$ROWS"
				continue
			fi
			pid=$REDIS_PID
			[[ $srv == groved ]] && pid=$GPID
			read -r rss0 disk0 mem0 < <(measure "$srv")
			c0=$(cpu_ms "$pid")
			fill "$host" "$port" "$op" "b:$type:$size" "$size"
			c1=$(cpu_ms "$pid")
			read -r rss1 disk1 mem1 < <(measure "$srv")
			R[$srv,$type,$size,status]=$FILL_STATUS
			R[$srv,$type,$size,acked]=$FILL_ACKED
			R[$srv,$type,$size,rate]=$FILL_RATE
			R[$srv,$type,$size,first]=$FIRST_RATE
			R[$srv,$type,$size,last]=$LAST_RATE
			n=$FILL_ACKED
			((n > 0)) || n=1
			R[$srv,$type,$size,rss]=$(awk -v a="$rss0" -v b="$rss1" -v n="$n" 'BEGIN { printf "%.1f", (b - a) * 1024 / n }')
			R[$srv,$type,$size,disk]=$(awk -v a="$disk0" -v b="$disk1" -v n="$n" 'BEGIN { printf "%.1f", (b - a) / n }')
			R[$srv,$type,$size,mem]=$(awk -v a="$mem0" -v b="$mem1" -v n="$n" 'BEGIN { printf "%.1f", (b - a) / n }')
			if [[ $FILL_STATUS != done ]]; then
				GAVE_UP[$srv,$type]="($size did not finish)"
				echo "$type $size $srv unfinished $FILL_STATUS $FILL_ACKED $FIRST_RATE $LAST_TENTH $LAST_RATE" >>"$ROWS"
				say "$srv: $type of $size: did not finish in $BUDGET_S s ($FILL_STATUS after $FILL_ACKED elements)"
			else
				echo "$type $size $srv done $FILL_S $FILL_RATE $FIRST_RATE $LAST_RATE $(us_per "$c0" "$c1" "$FILL_ACKED")" >>"$ROWS"
				say "$srv: $type of $size in $FILL_S s"
			fi
		done
	done
done


echo
echo "== 1. fill one key, pipelined (window 2000, one connection): elements/s"
echo "   groved durability $MODE; redis-server AOF everysec; same run"
printf '%-5s %9s %-7s %10s %10s %10s %10s %8s %10s\n' type size server total_s rate first10% last10% last/1st cpu_us/el
while read -r type size srv st a b c d e; do
	case $st in
	done) printf '%-5s %9s %-7s %10s %10s %10s %10s %8s %10s\n' "$type" "$size" "$srv" "$a" "$b" "$c" "$d" "$(ratio "$d" "$c")" "$e" ;;
	unfinished)
		printf '%-5s %9s %-7s  did not finish in %s s (%s: %s of %s elements acknowledged' \
			"$type" "$size" "$srv" "$BUDGET_S" "$a" "$b" "$size"
		[[ $c != - ]] && printf '; first tenth %s/s' "$c"
		[[ $e != - ]] && printf ', tenth %s %s/s, ratio %s' "$d" "$e" "$(ratio "$e" "$c")"
		echo ")" ;;
	not-tried) printf '%-5s %9s %-7s  not tried %s\n' "$type" "$size" "$srv" "$a $b $c" ;;
	esac
done <"$ROWS"
echo "   small keys ($SMALL_N commands over keys of 10 elements), elements/s:"
for type in set hash; do
	printf '   %-5s redis-server %s  groved %s  groved/redis %s; CPU us/element: redis-server %s, groved %s\n' "$type" "${R[redis,$type,small]}" \
		"${R[groved,$type,small]}" "$(ratio "${R[groved,$type,small]}" "${R[redis,$type,small]}")" \
		"${R[redis,$type,small,cpu]}" "${R[groved,$type,small,cpu]}"
done
smallest=$(tr ' ' '\n' <<<"$SIZES" | grep . | sort -n | head -1)
for type in set hash; do
	cmd=SADD
	[[ $type == hash ]] && cmd=HSET
	for size in $SIZES; do
		[[ $size == "$smallest" ]] && continue
		g=${R[groved,$type,$size,status]:-}
		if [[ $g != done ]]; then
			echo "   $cmd at $size: groved did not fill the key in $BUDGET_S s (${g:-not tried}): no rate"
			continue
		fi
		# the rate at SIZE: its last tenth, or the whole fill when too small to time
		at="last tenth" gl=${R[groved,$type,$size,last]} rl=${R[redis,$type,$size,last]:--}
		[[ $gl == - ]] && at="whole fill" gl=${R[groved,$type,$size,rate]} rl=${R[redis,$type,$size,rate]:--}
		gs=${R[groved,$type,$smallest,rate]:--} rs=${R[redis,$type,$smallest,rate]:--}
		x=$(ratio "$gl" "$gs")
		y=$(ratio "$gl" "$rl")
		echo "   $cmd at $size ($at) vs at $smallest (whole fill): groved $x ($(verdict "$x" ">=" 0.8), target >= 0.8), redis-server $(ratio "$rl" "$rs")"
		echo "   $cmd at $size ($at), groved / redis-server: $y ($(verdict "$y" ">=" 0.3), target >= 0.3); whole fills: $(ratio "${R[groved,$type,$size,rate]}" "${R[redis,$type,$size,rate]:--}"); groved / groved on 10-element keys: $(ratio "$gl" "${R[groved,$type,small]}")"
	done
done
echo "   (whole-fill rates of the ${smallest}-element fill include one round trip and the connection's start)"

# --- 2: reads --------------------------------------------------------------

# rb N HOST PORT RANGE CMD...: requests/s of one redis-benchmark -P 16 -c 16
# run of N requests ("-" when it fails or passes the budget).
rb() {
	timeout "$BUDGET_S" redis-benchmark -h "$2" -p "$3" -c 16 -P 16 -n "$1" -r "$4" --csv "${@:5}" 2>/dev/null |
		awk -F'","' 'END { gsub(/"/, "", $2); print ($2 == "" ? "-" : $2) }'
}
median() { tr ' ' '\n' | grep -v '^-*$' | sort -g | awk '{ a[NR] = $1 } END { print NR ? a[int((NR + 1) / 2)] : "-" }'; }
echo
echo "== 2. reads (redis-benchmark -P 16 -c 16, random existing elements, $READS requests a run): requests/s"
echo "   median of $READS_REPS runs after a first (cold) run on the big key, printed apart; each round alternates the big and the 10-element key, redis-server then groved"
for type in set hash; do
	op=sadd cmd=(SISMEMBER) elem=m: name=SISMEMBER
	[[ $type == hash ]] && op=hset cmd=(HGET) elem=f: name=HGET
	# the largest key groved filled completely (or how far it got)
	big=0
	for size in $SIZES; do
		a=${R[groved,$type,$size,acked]:-0}
		((a > big)) && { big=$a; bigkey=b:$type:$size; }
	done
	if ((big == 0)); then
		echo "   $name: no filled key"
		continue
	fi
	declare -A RD=()
	for srv in redis groved; do
		host=$RHOST port=$RPORT
		[[ $srv == groved ]] && host=$GHOST port=$GPORT
		"$PY" "$PIPE" "$host" "$port" "$op" "b:$type:10" 0 10 >/dev/null
		# redis-server holds the same key, as far as groved got
		if [[ $srv == redis ]] && ((${R[redis,$type,${bigkey##*:},acked]:-0} < big)); then
			"$PY" "$PIPE" "$host" "$port" "$op" "$bigkey" 0 "$big" --pregen >/dev/null
		fi
	done
	# the first run after the fill, not in the medians: groved's cache
	# holds no element yet (reads fill it), so it measures the misses
	for srv in redis groved; do
		host=$RHOST port=$RPORT pid=$REDIS_PID
		[[ $srv == groved ]] && host=$GHOST port=$GPORT pid=$GPID
		c0=$(cpu_ms "$pid")
		RD[$srv,cold]=$(rb "$READS" "$host" "$port" "$big" "${cmd[@]}" "$bigkey" "$elem"__rand_int__)
		RD[$srv,cold,cpu]=$(us_per "$c0" "$(cpu_ms "$pid")" "$READS")
	done
	for ((rep = 0; rep < READS_REPS; rep++)); do
		for srv in redis groved; do
			host=$RHOST port=$RPORT
			[[ $srv == groved ]] && host=$GHOST port=$GPORT
			pid=$REDIS_PID
			[[ $srv == groved ]] && pid=$GPID
			c0=$(cpu_ms "$pid")
			RD[$srv,big]+="$(rb "$READS" "$host" "$port" "$big" "${cmd[@]}" "$bigkey" "$elem"__rand_int__) "
			c1=$(cpu_ms "$pid")
			RD[$srv,small]+="$(rb "$READS" "$host" "$port" 10 "${cmd[@]}" "b:$type:10" "$elem"__rand_int__) "
			c2=$(cpu_ms "$pid")
			RD[$srv,big,cpu]+="$(us_per "$c0" "$c1" "$READS") "
			RD[$srv,small,cpu]+="$(us_per "$c1" "$c2" "$READS") "
		done
	done
	for k in redis,big redis,small groved,big groved,small; do
		RD[$k,runs]=${RD[$k]}
		RD[$k]=$(median <<<"${RD[$k]}")
		RD[$k,cpu]=$(median <<<"${RD[$k,cpu]}")
	done
	x=$(ratio "${RD[groved,big]}" "${RD[groved,small]}")
	printf '   %-9s %-7s on %d elements %10s, on 10 elements %10s, ratio %s (%s, target >= 0.8)\n' \
		"$name" groved "$big" "${RD[groved,big]}" "${RD[groved,small]}" "$x" "$(verdict "$x" ">=" 0.8)"
	printf '   %-9s %-7s on %d elements %10s, on 10 elements %10s, ratio %s\n' "$name" redis "$big" \
		"${RD[redis,big]}" "${RD[redis,small]}" "$(ratio "${RD[redis,big]}" "${RD[redis,small]}")"
	printf '   %-9s groved / redis-server: %s on %d elements, %s on 10\n' "$name" \
		"$(ratio "${RD[groved,big]}" "${RD[redis,big]}")" "$big" "$(ratio "${RD[groved,small]}" "${RD[redis,small]}")"
	printf '   %-9s runs: groved big %s/ small %s; redis big %s/ small %s\n' "$name" "${RD[groved,big,runs]}" \
		"${RD[groved,small,runs]}" "${RD[redis,big,runs]}" "${RD[redis,small,runs]}"
	printf '   %-9s first run on %d elements (cold, not in the medians): groved %s (%s CPU us/request), redis-server %s (%s)\n' \
		"$name" "$big" "${RD[groved,cold]}" "${RD[groved,cold,cpu]}" "${RD[redis,cold]}" "${RD[redis,cold,cpu]}"
	printf '   %-9s CPU us/request (median): groved big %s, small %s (ratio %s); redis-server big %s, small %s (ratio %s)\n' \
		"$name" "${RD[groved,big,cpu]}" "${RD[groved,small,cpu]}" "$(ratio "${RD[groved,small,cpu]}" "${RD[groved,big,cpu]}")" \
		"${RD[redis,big,cpu]}" "${RD[redis,small,cpu]}" "$(ratio "${RD[redis,small,cpu]}" "${RD[redis,big,cpu]}")"
done

echo
echo "== 3. memory and disk per element, measured around each fill (bytes/element)"
echo "   groved: VmRSS and du of the data dir; redis-server: used_memory, VmRSS, du of the AOF dir"
printf '%-5s %9s %12s %12s %14s %12s %12s\n' type size groved-rss groved-disk redis-used_mem redis-rss redis-disk
for size in $SIZES; do
	for type in set hash; do
		[[ -n ${R[groved,$type,$size,status]:-} || -n ${R[redis,$type,$size,status]:-} ]] || continue
		st=""
		[[ ${R[groved,$type,$size,status]:-} == done ]] || st=" (groved: ${R[groved,$type,$size,acked]:-0} elements, unfinished)"
		printf '%-5s %9s %12s %12s %14s %12s %12s%s\n' "$type" "$size" "${R[groved,$type,$size,rss]:--}" \
			"${R[groved,$type,$size,disk]:--}" "${R[redis,$type,$size,mem]:--}" "${R[redis,$type,$size,rss]:--}" \
			"${R[redis,$type,$size,disk]:--}" "$st"
	done
done
echo "   totals now: groved RSS $(rss_kb "$GPID") kB, data dir $(du_b "$GDATA") B; redis-server RSS $(rss_kb "$REDIS_PID") kB, used_memory $(redis_mem) B, AOF dir $(du_b "$T_TMP/redis") B"

kill -9 "$REDIS_PID" 2>/dev/null
wait "$REDIS_PID" 2>/dev/null
REDIS_PID=
if [[ $DO_CLUSTER == 0 ]]; then
	say "GROVE_BENCH_COLL_CLUSTER=0: sections 4-5 not run"
	exit 0
fi

# --- 4: one element changed in a big collection on 3 nodes ---------------------

cluster clean >/dev/null 2>&1
up_or_skip 3 --durability "$MODE" -- "${FAST_FLAGS[@]}"

# ae_bytes: anti-entropy bytes sent by every running node so far (INFO).
ae_bytes() {
	local n s=0
	for n in $(cluster running); do
		s=$((s + $(info_sum "$n" '^ae_bytes_sent_|^ae_state_bytes_sent$')))
	done
	echo "$s"
}
# ae_phases: "phase bytes" lines, sent by all running nodes, by phase
# (state = ae_state_bytes_sent, the item states inside session frames).
ae_phases() {
	local n
	for n in $(cluster running); do cli "$n" INFO | tr -d '\r'; done |
		awk -F: '$1 ~ /^ae_bytes_sent_|^ae_state_bytes_sent$/ { sub(/^ae_(bytes_sent_)?/, "", $1); sub(/_bytes_sent$/, "", $1); s[$1] += $2 }
			END { for (k in s) print k, s[k] }' | sort
}
# phase_delta BEFORE AFTER: "phase +bytes ..." for the phases that moved.
phase_delta() {
	join -a 2 -e 0 -o 0,1.2,2.2 "$1" "$2" | awk '$3 != $2 { printf "%s +%d ", $1, $3 - $2 }'
}
# nondigest_delta BEFORE AFTER: bytes of every phase but the periodic digests.
nondigest_delta() {
	join -a 2 -e 0 -o 0,1.2,2.2 "$1" "$2" | awk '$1 != "digest" { s += $3 - $2 } END { print s + 0 }'
}
# nft counters on the gossip port (root): every IP byte between the nodes.
if [[ $EUID -eq 0 ]] && command -v nft >/dev/null && nft list tables >/dev/null 2>&1; then
	NFT_TABLE=grove_cb_$$
	nft -f - <<EOF || NFT_TABLE=
table inet $NFT_TABLE {
	chain in {
		type filter hook input priority -50;
		ip saddr $GROVE_CLUSTER_NET.0/24 ip daddr $GROVE_CLUSTER_NET.0/24 udp dport 7946 counter
		ip saddr $GROVE_CLUSTER_NET.0/24 ip daddr $GROVE_CLUSTER_NET.0/24 tcp dport 7946 counter
		ip saddr $GROVE_CLUSTER_NET.0/24 ip daddr $GROVE_CLUSTER_NET.0/24 tcp sport 7946 counter
	}
}
EOF
fi
nft_bytes() {
	[[ -n $NFT_TABLE ]] || { echo -; return; }
	nft list table inet "$NFT_TABLE" | awk '/counter/ { for (i = 1; i < NF; i++) if ($i == "bytes") s += $(i + 1) } END { print s + 0 }'
}
diff_or_dash() { [[ $1 == - || $2 == - ]] && echo - || echo $(($2 - $1)); }

# converge TIMEOUT_S: wait until every running digest is equal; sets CONV_MS
# (or returns 1).
converge() {
	local t0
	t0=$(now_ms)
	cluster wait-converged --timeout "$1" >/dev/null 2>&1 || return 1
	CONV_MS=$(($(now_ms) - t0))
}
# ae_quiet TIMEOUT_S: wait until no anti-entropy bytes but the periodic
# digests are sent for a second (equal roots can still leave a session
# running that started before they were equal); sets QUIET_S and
# QUIET_BYTES (the non-digest bytes sent meanwhile), or returns 1.
ae_quiet() {
	local t0 i
	t0=$(now_ms) QUIET_BYTES=0
	ae_phases >"$T_TMP/q0"
	for ((i = 0; i < $1; i++)); do
		sleep 1 # a one-second window of the counters: a measurement
		ae_phases >"$T_TMP/q1"
		local nd
		nd=$(nondigest_delta "$T_TMP/q0" "$T_TMP/q1")
		QUIET_S=$(fmt_s $(($(now_ms) - t0)))
		((nd == 0)) && return 0
		QUIET_BYTES=$((QUIET_BYTES + nd))
		mv "$T_TMP/q1" "$T_TMP/q0"
	done
	return 1
}
counts() { # "SCARD/HLEN" of c:set and c:hash on every running node ("?": no answer in 5 s)
	local n out= a b
	for n in $(cluster running); do
		a=$(cli "$n" SCARD c:set) b=$(cli "$n" HLEN c:hash)
		out+="node$n ${a:-?}/${b:-?} "
	done
	echo "$out"
}

echo
echo "== 4. one element changed in a collection of $CSIZE on 3 nodes (probe 200 ms, gossip 100 ms, durability $MODE)"
t0=$(now_ms)
for op in sadd hset; do
	key=c:set
	[[ $op == hset ]] && key=c:hash
	fill "$GHOST" "$GPORT" "$op" "$key" "$CSIZE"
	if [[ $FILL_STATUS == done ]]; then
		echo "   node 1: $op of $CSIZE into $key in $FILL_S s ($FILL_RATE/s)"
	else
		echo "   node 1: $op into $key did not finish in $BUDGET_S s ($FILL_STATUS after $FILL_ACKED elements)"
	fi
done
t1=$(now_ms)
if converge "$BUDGET_S"; then
	echo "   all 3 nodes equal $(fmt_s "$CONV_MS") s after the fills ended ($(fmt_s $((t1 - t0))) s of fills): $(counts)"
	CONVERGED=1
else
	echo "   did not converge in $BUDGET_S s after the fills: SCARD/HLEN $(counts); ae_states_oversize $(info_sum 1 '^ae_states_oversize$') on node 1"
	CONVERGED=0
fi
for change in "SADD c:set m:changed" "HSET c:hash f:000000000007 changed"; do
	if ((!CONVERGED)); then
		echo "   $change: not measured (the nodes never agreed on the fill)"
		continue
	fi
	if ae_quiet 60; then
		echo "   (before $change: anti-entropy quiet after $QUIET_S s; non-digest bytes sent meanwhile: $QUIET_BYTES)"
	else
		echo "   (before $change: anti-entropy still sending after 60 s: $QUIET_BYTES non-digest bytes; measured anyway)"
	fi
	b0=$(ae_bytes) n0=$(nft_bytes)
	ae_phases >"$T_TMP/p0"
	cli 1 $change >/dev/null
	if converge 60; then
		b1=$(ae_bytes) n1=$(nft_bytes)
		ae_phases >"$T_TMP/p1"
		idle_ms=$((CONV_MS < 1000 ? 1000 : CONV_MS))
		sleep "$(fmt_s "$idle_ms")" # an idle window of the same length: a measurement, not a wait
		b2=$(ae_bytes) n2=$(nft_bytes)
		ae_phases >"$T_TMP/p2"
		conv=$((b1 - b0)) idle=$((b2 - b1))
		idle_scaled=$((idle * CONV_MS / idle_ms))
		nd=$(nondigest_delta "$T_TMP/p0" "$T_TMP/p1")
		echo "   $change: converged in $(fmt_s "$CONV_MS") s; anti-entropy bytes sent by all nodes (INFO) except the periodic digest datagrams: $nd ($(verdict "$nd" "<=" 4096), target <= 4096)"
		echo "     all anti-entropy bytes: $conv; idle, in the same time: $idle_scaled (of which non-digest: $(nondigest_delta "$T_TMP/p1" "$T_TMP/p2") in $(fmt_s "$idle_ms") s)"
		echo "     by phase while converging: $(phase_delta "$T_TMP/p0" "$T_TMP/p1")"
		[[ -n $NFT_TABLE ]] && echo "     nftables, IP bytes to/from gossip port 7946 (membership too): $(diff_or_dash "$n0" "$n1") while converging, $(diff_or_dash "$n1" "$n2") in an idle window of $(fmt_s "$idle_ms") s"
	else
		echo "   $change: did not converge in 60 s ($(($(ae_bytes) - b0)) anti-entropy bytes sent meanwhile); SCARD/HLEN $(counts)"
	fi
done

# --- 5: a fresh node catches up ------------------------------------------

echo
echo "== 5. a fresh 4th node catches up on the set and the hash ($(counts | cut -d' ' -f2) on node 1)"
t0=$(now_ms)
cluster add --timeout 30 >"$T_TMP/add.out" 2>&1 ||
	echo "   (node 4 did not see every node alive in 30 s: $(tail -n 1 "$T_TMP/add.out"); measured anyway)"
if ! cluster running | grep -qx 4; then
	echo "   node 4 did not start: $(cat "$T_TMP/add.out")"
else
	if converge "$BUDGET_S"; then
		echo "   node 4 equal to the others $(fmt_s $(($(now_ms) - t0))) s after it started: $(counts)"
	else
		echo "   node 4 did not catch up in $BUDGET_S s: $(counts)"
	fi
	recv=$(info_sum 4 '^ae_bytes_received_|^ae_state_bytes_received$')
	sent=$(info_sum 4 '^ae_bytes_sent_|^ae_state_bytes_sent$')
	echo "   node 4 anti-entropy bytes received $recv, sent $sent (INFO)"
	src=$(cluster dir 1)/data
	c0=$(now_ms)
	cp -r "$src" "$T_TMP/copy"
	sync -f "$T_TMP/copy" 2>/dev/null
	c1=$(now_ms)
	echo "   beside: cp -r of node 1's data dir ($(du_b "$src") B, all keys) $(fmt_s $((c1 - c0))) s; node 4's data dir now $(du_b "$(cluster dir 4)/data") B"
	rm -rf "$T_TMP/copy"
fi
say "done; load $(cut -d' ' -f1-3 /proc/loadavg)"
exit 0
