#!/bin/bash
# test_crdt_rules.sh - the documented CRDT rules of issue 15's commands, on
# three real groved processes cut apart by nftables (tools/cluster), each
# check against the rule as README.md ("Expiry", "Strings", the command
# table) and doc/value_format.md ("Expiry", "Counting on a register")
# state it.  One cluster for every case:
#
# round 1, partition 1|2|3, concurrent on the three nodes:
#  1. TTL races: EXPIRE vs a later PERSIST, PERSIST vs a later EXPIRE, a
#     long EXPIRE vs a later short one (and the reverse): the later write
#     wins (LWW by HLC, not Redis Active-Active's longer-TTL/PERSIST-wins);
#     a SET without KEEPTTL clears only the TTL it saw, so an unseen EXPIRE
#     on another node survives it.
#  2. a key expires on node 1 (active expiry removes it there) while node 3
#     writes it after the deadline: the write survives everywhere, without
#     TTL (register and set); a write on node 3 before the deadline without
#     KEEPTTL survives too.
#  3. RENAME on node 1 while node 2 writes the old key: the new key holds
#     what node 1 saw, the old key reappears holding just node 2's write
#     (register, set, counter); the destination keeps the source's TTL.
#  5. MULTI/EXEC on nodes 1 and 2 over the same keys with a reader on each:
#     no reader sees half a transaction (two counters and two registers
#     written together stay equal on the node); after the heal counters
#     hold both nodes' increments and every node agrees.
#  6. string/counter conversion: INCR of a register on three nodes at once
#     counts the SET value once and adds every increment; a SET of a
#     counter concurrent with an INCR elsewhere hides the INCR; an INCR
#     (conversion) concurrent with a SET elsewhere hides the SET; an INCR
#     of the winning register after the heal counts its value, not the
#     hidden counter's increments.
#  7. hash counter fields (doc/value_format.md "Counter fields"): HINCRBY
#     of one field on the three partitioned nodes (and an integral
#     HINCRBYFLOAT) adds up after the heal; an HSET-written integer
#     converted on two nodes at once counts once; an HSET of a counter
#     field concurrent with an HINCRBY elsewhere keeps the HSET's value
#     plus the increment it had not seen; HINCRBY after the heal continues
#     from the sum.
# after the heal: WATCH on node 1 fails EXEC when a write made on node 2
#     merges into the watched key.
# round 2, partition 1|2,3:
#  4. FLUSHALL on node 1 while node 2 writes (before and after the flush):
#     every key node 1 held is gone everywhere except the writes it had not
#     seen (a register, a set member, counter increments, a map field, a
#     new key).
#
# Every wait polls with a deadline.  Each check prints what it expected and
# what each node answered.  Runs in 13 to 20 s (2 cores, load 4 to 6).
set -uo pipefail
export LC_ALL=C
source "$(dirname "$0")/util_cluster.sh"

require_binaries
require_nft
t_init
up_or_skip 3 -- "${FAST_FLAGS[@]}"
require_anti_entropy

FAILS=0
NODES=(1 2 3)

ok() { say "ok: $*"; }
bad() { echo "$T_NAME: FAIL: $*" >&2; FAILS=$((FAILS + 1)); }

# q I CMD...: node I's reply, lines joined by single spaces.
q() { cli "$@" | tr -d '\r' | paste -sd' ' -; }

# Checks after a heal, asked of every node through one connection each:
# check NAME WANT Q CMD... queues one (Q: q for the reply's lines as they
# come, qs to sort them: set members, key lists); run_checks asks every node every queued command (each reply
# followed by an ECHO separator), polling until all answer as wanted
# (deadline 10 s), then reports each check.
C_NAME=() C_WANT=() C_SORT=() C_CMD=()
check() {
	C_NAME+=("$1") C_WANT+=("$2") C_SORT+=("$3")
	shift 3
	C_CMD+=("$*")
}
run_checks() {
	local deadline=$(($(now_ms) + 10000)) n i all
	local -a got=()
	local -A G=()  # G[node,check]: the reply
	local f=$T_TMP/checks
	for i in "${!C_CMD[@]}"; do printf '%s\nECHO @@\n' "${C_CMD[i]}"; done >"$f"
	while :; do
		all=1
		for n in "${NODES[@]}"; do
			timeout 20 redis-cli -h "$GROVE_CLUSTER_NET.$((10 + n))" -p 7379 <"$f" 2>&1 | tr -d '\r' >"$f.$n"
			mapfile -t got < <(awk -v srt="${C_SORT[*]}" '
				BEGIN { ns = split(srt, s, " ") }
				$0 == "@@" { i++; out(); next }
				{ cur[++m] = $0 }
				function out(  j, k, t, line) {
					if (s[i] == "qs")  # insertion sort of the reply lines
						for (j = 2; j <= m; j++) { t = cur[j]; for (k = j - 1; k >= 1 && cur[k] > t; k--) cur[k + 1] = cur[k]; cur[k + 1] = t }
					line = ""
					for (j = 1; j <= m; j++) line = line (j > 1 ? " " : "") cur[j]
					print line; m = 0
				}' "$f.$n")
			for i in "${!C_CMD[@]}"; do
				G[$n,$i]=${got[i]-<no reply>}
				[[ ${got[i]-<no reply>} == "${C_WANT[i]}" ]] || all=0
			done
		done
		((all)) && break
		(($(now_ms) < deadline)) || break
		sleep 0.2
	done
	for i in "${!C_CMD[@]}"; do
		local line="" bad_one=0 r
		for n in "${NODES[@]}"; do
			r=${G[$n,$i]}
			line+=" n$n=[$r]"
			[[ $r == "${C_WANT[i]}" ]] || bad_one=1
		done
		if ((bad_one)); then
			bad "${C_NAME[i]}: want [${C_WANT[i]}] on every node (${C_CMD[i]}), got$line"
		else
			ok "${C_NAME[i]}: [${C_WANT[i]}] on every node"
		fi
	done
	C_NAME=() C_WANT=() C_SORT=() C_CMD=()
}

# expect_one NAME WANT GOT: a single answer.
expect_one() {
	if [[ $3 == "$2" ]]; then ok "$1: [$2]"; else bad "$1: want [$2], got [$3]"; fi
}

# wait_node I WANT CMD...: polls node I until CMD answers WANT (10 s).
wait_node() {
	wait_node_until "$1" "$(($(now_ms) + 10000))" "${@:2}"
}

# wait_node_until I DEADLINE_MS WANT CMD...: as wait_node, up to a deadline.
wait_node_until() {
	local i=$1 deadline=$2 want=$3
	shift 3
	until [[ $(q "$i" "$@") == "$want" ]]; do
		(($(now_ms) < deadline)) || return 1
		sleep 0.05
	done
}

# tick: lets the wall clock move on by a few milliseconds, so that the next
# write on another node gets a greater HLC timestamp (an ordering between
# two writes for the LWW rules, not a wait for an event).
tick() { sleep 0.02; }

converge() {
	cluster wait-converged --timeout 20 >"$T_TMP/conv.out" 2>&1 ||
		{ bad "no convergence after $1: $(cat "$T_TMP/conv.out")"; finish_now; }
	say "$1: $(cat "$T_TMP/conv.out")"
}

finish_now() {
	((FAILS == 0)) || fail "$FAILS check(s) failed"
	say "PASS"
	exit 0
}

# ---------------------------------------------------------------- setup
now=$(now_ms)
T_OLD=$((now + 600000))  # the TTL every case-1 key starts with
{
	for k in e1 e2 e5 e6; do echo "SET $k v0"; echo "PEXPIREAT $k $T_OLD"; done
	echo "SET e3 v0"; echo "SET e4 v0"
	echo "SET rs a"; echo "SADD rset x y"; echo "INCRBY rc 5"; echo "SET rd2 old"
	echo "SET rs2 a2"; echo "SET rt t"; echo "PEXPIREAT rt $T_OLD"
	echo "INCRBY cs 5"; echo "SET cr 10"
	echo "HSET hc base 10"; echo "HINCRBY hc s 5"
} >"$T_TMP/setup1"
batch 1 "$T_TMP/setup1" "$T_TMP/setup1.out" || fail "setup batch on node 1"
cli 3 SET cv 10 >/dev/null # written by node 3: the conversion credits it
converge "setup"

# Case 2's keys get one deadline last, so that it falls inside the
# partition; node 3 must hold it before the cut, and the cut must come a
# quarter of the window before it (case 2b writes in that time).  4 s ahead; on a
# loaded machine where spreading it or cutting took too long, heal and set
# a later one (8, 16, then 32 s) instead of testing nothing.
for window in 4000 8000 16000 32000; do
	T2=$(($(now_ms) + window))
	# Written again with each try: a late try's old deadline may have passed.
	{
		echo "SET x2 v0"; echo "SADD x2s a b"; echo "SET x2b v0"
		printf 'PEXPIREAT %s %s\n' x2 "$T2" x2s "$T2" x2b "$T2"
	} >"$T_TMP/ttl2"
	batch 1 "$T_TMP/ttl2" "$T_TMP/ttl2.out"
	# Past the deadline node 3 hides the keys (PEXPIRETIME -2): a spread
	# slower than the window is a retry with a longer one, not a failure.
	spread=1
	for k in x2 x2s x2b; do
		wait_node_until 3 "$((T2 - window / 2))" "$T2" PEXPIRETIME "$k" || { spread=0; break; }
	done
	((spread || window < 32000)) || fail "setup: node 3 did not receive the keys' TTL within 16 s"
	if ((spread)); then
		expired1=$(info_value 1 expired_keys)
		cluster partition "1|2|3" >/dev/null || fail "partition 1|2|3"
		partition_ms=$(now_ms)
		((partition_ms + window / 4 < T2)) && break
		((window < 32000)) || { bad "case 2: the partition began $((T2 - partition_ms)) ms before the keys' deadline, less than $((window / 4)) ms (setup too slow: the case tests nothing)"; break; }
		cluster heal >/dev/null || fail "heal after a late partition"
	fi
	say "setup: case 2's deadline spread or the cut came too late for a ${window} ms window; again with a longer one"
done
say "round 1: partitioned 1|2|3, $((T2 - partition_ms)) ms before case 2's deadline"

# Case 2b first: node 3 overwrites x2b before the deadline, without KEEPTTL.
expect_one "case 2b: node 3 SET x2b before the deadline" OK "$(q 3 SET x2b v3)"
(($(now_ms) < T2)) || bad "case 2b: node 3's write of x2b was not before the deadline (setup too slow)"

# Case 5: transactions on nodes 1 and 2, each with a reader on its node
# that samples MGET m:a m:b m:r1 m:r2 over one connection (bash /dev/tcp,
# inline commands) from before the first transaction until after the last.
TXS=80
# reader I OUT STOPFILE: samples until STOPFILE exists, then once more.
reader() {
	local fd l v i last=0 out
	exec {fd}<>"/dev/tcp/$GROVE_CLUSTER_NET.$((10 + $1))/7379" || return 1
	while :; do
		[[ -e $3 ]] && last=1
		printf 'MGET m:a m:b m:r1 m:r2\r\n' >&"$fd"
		IFS= read -r -t 5 l <&"$fd" || return 1
		[[ ${l%$'\r'} == '*4' ]] || { echo "bad reply: $l"; return 1; }
		out=""
		for i in 1 2 3 4; do
			IFS= read -r -t 5 l <&"$fd" || return 1
			if [[ ${l%$'\r'} == '$-1' ]]; then v=nil; else IFS= read -r -t 5 v <&"$fd" || return 1; v=${v%$'\r'}; fi
			out+="$v "
		done
		echo "$out"
		((last)) && break
	done >"$2"
	exec {fd}>&-
}
tx_pids=() rd_pids=()
for n in 1 2; do
	for ((i = 1; i <= TXS; i++)); do
		printf 'MULTI\nINCR m:a\nINCR m:b\nSET m:r1 v%d.%d\nSET m:r2 v%d.%d\nEXEC\n' "$n" "$i" "$n" "$i"
	done >"$T_TMP/tx.$n"
	reader "$n" "$T_TMP/rd.$n.out" "$T_TMP/rd.stop" &
	rd_pids+=($!)
done
for n in 1 2; do
	deadline=$(($(now_ms) + 10000))
	until [[ -s $T_TMP/rd.$n.out ]]; do
		(($(now_ms) < deadline)) || { bad "case 5: the reader on node $n took no sample"; break; }
		sleep 0.02
	done
done
for n in 1 2; do
	batch "$n" "$T_TMP/tx.$n" "$T_TMP/tx.$n.out" &
	tx_pids+=($!)
done

# Case 1: TTL races (T_A < T_B are both in the future).
now=$(now_ms)
T_A=$((now + 300000)) T_B=$((now + 400000)) T_C=$((now + 500000))
# Cases 1, 3 and 6 run in two steps; in each step every node runs its
# commands through one connection, the three nodes at once (distinct keys
# in one step), and each reply is checked.  Step B starts after step A, so
# the LWW orderings below ("then") hold.
# w I CMD WANT: queues CMD for node I in the current step.
w() { printf '%s\n' "$2" >>"$T_TMP/step.$1"; printf '%s\t%s\n' "$2" "$3" >>"$T_TMP/want.$1"; }
run_step() {
	local n pids=()
	for n in "${NODES[@]}"; do
		[[ -s $T_TMP/step.$n ]] || continue
		timeout 60 redis-cli -h "$GROVE_CLUSTER_NET.$((10 + n))" -p 7379 <"$T_TMP/step.$n" 2>&1 | tr -d '\r' >"$T_TMP/got.$n" &
		pids+=($!)
	done
	for n in "${pids[@]}"; do wait "$n"; done
	for n in "${NODES[@]}"; do
		[[ -s $T_TMP/step.$n ]] || continue
		while IFS=$'\t' read -r cmd want got; do
			expect_one "$1: node $n $cmd" "$want" "$got"
		done < <(paste "$T_TMP/want.$n" "$T_TMP/got.$n")
		rm -f "$T_TMP/step.$n" "$T_TMP/want.$n"
	done
}
# case 1 (TTL races)          # case 3 (RENAME)              # case 6 (conversions)
w 1 "PEXPIREAT e1 $T_A" 1;    w 2 "SET rd2 n2" OK;           w 1 "INCR cv" 11
w 2 "PERSIST e2" 1;           w 1 "RENAME rs rd" OK;         w 2 "INCRBY cv 5" 15
w 1 "PEXPIREAT e3 $T_B" 1;    w 1 "RENAME rset rset2" OK;    w 3 "INCR cv" 11
w 2 "PEXPIREAT e4 $T_A" 1;    w 1 "RENAME rc rc2" OK;        w 1 "SET cs 100" OK
w 3 "SET e5 v3" OK;           w 1 "RENAME rt rt2" OK;        w 2 "INCRBY cs 3" 8
w 1 "PEXPIREAT e6 $T_C" 1;                                   w 1 "INCR cr" 11
                                                             w 2 "SET cr 50" OK
# case 7 (hash counter fields)
w 1 "HINCRBY hc f 1" 1;       w 2 "HINCRBY hc f 10" 10;      w 3 "HINCRBY hc f 100" 100
w 1 "HINCRBY hc base 1" 11;   w 2 "HINCRBY hc base 2" 12
w 1 "HSET hc s 50" 0;         w 2 "HINCRBY hc s 1" 6
run_step "step A"
tick
w 2 "PERSIST e1" 1;           w 2 "SET rs b" OK
w 1 "PEXPIREAT e2 $T_A" 1;    w 2 "SADD rset z" 1
w 2 "PEXPIREAT e3 $T_A" 1;    w 2 "INCRBY rc 3" 8
w 1 "PEXPIREAT e4 $T_B" 1;    w 1 "RENAME rs2 rd2" OK
w 1 "PEXPIREAT e5 $T_C" 1
w 3 "SET e6 v3" OK
w 3 "PTTL e6" -1  # node 3's SET cleared the TTL it saw
w 3 "HINCRBYFLOAT hc f 1000" 1100
run_step "step B"

# Case 2: wait past the deadline, until node 1 removed the keys by active
# expiry (expired_keys counts them), then node 3 writes them.
deadline=$(($(now_ms) > T2 ? $(now_ms) + 10000 : T2 + 10000))
until (($(info_value 1 expired_keys) >= expired1 + 3)); do
	if (($(now_ms) > deadline)); then
		bad "case 2: node 1's active expiry did not remove x2, x2s, x2b within 10 s of the deadline (expired_keys $(info_value 1 expired_keys), was $expired1; $(q 1 INFO keyspace); PTTL: $(for k in x2 x2s x2b; do echo -n "$k $(q 1 PTTL $k) $(q 1 GROVE TYPE $k) "; done))"
		break
	fi
	sleep 0.1
done
(($(info_value 1 expired_keys) >= expired1 + 3)) && ok "case 2: node 1 removed x2, x2s, x2b by active expiry while partitioned (expired_keys $expired1 -> $(info_value 1 expired_keys))"
expect_one "case 2: node 1 hides x2 after the deadline" -2 "$(q 1 PTTL x2)"
expect_one "case 2: node 3 hides x2 after the deadline" -2 "$(q 3 PTTL x2)"
(($(now_ms) > T2)) || bad "case 2: the clock is not past x2's deadline $T2"
expect_one "case 2: node 3 SET x2 after the deadline" OK "$(q 3 SET x2 late)"
expect_one "case 2: node 3 SADD x2s c after the deadline" 1 "$(q 3 SADD x2s c)"

for p in "${tx_pids[@]}"; do wait "$p"; done
touch "$T_TMP/rd.stop"
for p in "${rd_pids[@]}"; do wait "$p" || bad "case 5: a reader failed"; done
for n in 1 2; do
	execs=$(grep -c '(integer) [0-9]' "$T_TMP/tx.$n.out")
	((execs == 2 * TXS)) || bad "case 5: node $n's transactions: $execs of $((2 * TXS)) INCR replies (tx.$n.out: $(head -c 300 "$T_TMP/tx.$n.out"))"
	# a sample is torn when m:a != m:b or m:r1 != m:r2
	read -r samples torn distinct first < <(awk '
		{ s++; if ($1 != $2 || $3 != $4) { torn++; if (!f) f = $0 } if ($1 != last) { d++; last = $1 } }
		END { printf "%d %d %d %s\n", s, torn, d, f }' "$T_TMP/rd.$n.out")
	if ((torn > 0)); then
		bad "case 5: the reader on node $n saw half a transaction in $torn of $samples samples (first: m:a m:b m:r1 m:r2 = $first)"
	elif ((distinct < 2)); then
		bad "case 5: the reader on node $n saw $distinct state(s) in $samples samples: it did not overlap the transactions"
	else
		ok "case 5: the reader on node $n: $samples samples during the transactions, $distinct distinct states, none torn"
	fi
done
expect_one "case 5: node 1 alone (partitioned) holds its own increments" "$TXS $TXS" "$(q 1 MGET m:a m:b)"
say "round 1 writes took $(( ($(now_ms) - partition_ms) / 1000 )) s; healing"

cluster heal >/dev/null || fail "heal"
converge "round 1 heal"

# Case 1: the later TTL write wins (LWW by HLC).
check "case 1: EXPIRE(n1) then PERSIST(n2): PERSIST wins" -1 q PEXPIRETIME e1
check "case 1: PERSIST(n2) then EXPIRE(n1): EXPIRE wins" "$T_A" q PEXPIRETIME e2
check "case 1: long EXPIRE(n1) then short EXPIRE(n2): the later (shorter) wins" "$T_A" q PEXPIRETIME e3
check "case 1: short EXPIRE(n2) then long EXPIRE(n1): the later (longer) wins" "$T_B" q PEXPIRETIME e4
check "case 1: SET(n3) then unseen EXPIRE(n1): value" v3 q GET e5
check "case 1: SET(n3) then unseen EXPIRE(n1): the EXPIRE survives" "$T_C" q PEXPIRETIME e5
check "case 1: EXPIRE(n1) then SET(n3) that had not seen it: value" v3 q GET e6
check "case 1: EXPIRE(n1) then SET(n3) that had not seen it: the clear removes only the TTL it saw" "$T_C" q PEXPIRETIME e6

# Case 2: writes made after the deadline survive, without TTL.
check "case 2: x2 written on node 3 after the deadline" late q GET x2
check "case 2: x2 has no TTL" -1 q PTTL x2
check "case 2: x2s holds just node 3's late SADD" c qs SMEMBERS x2s
check "case 2: x2s has no TTL" -1 q PTTL x2s
check "case 2b: x2b written on node 3 before the deadline (no KEEPTTL)" v3 q GET x2b
check "case 2b: x2b has no TTL" -1 q PTTL x2b

# Case 3: RENAME = COPY + observed-remove DEL of the source.
check "case 3: rd holds what node 1 renamed" a q GET rd
check "case 3: rs reappears holding node 2's write" b q GET rs
check "case 3: rset2 holds what node 1 renamed" "x y" qs SMEMBERS rset2
check "case 3: rset holds just node 2's SADD" z qs SMEMBERS rset
check "case 3: rc2 holds the counter node 1 renamed" 5 q GET rc2
check "case 3: rc holds just node 2's increment" 3 q GET rc
check "case 3: rd2: RENAME after node 2's SET of the destination wins (later)" a2 q GET rd2
check "case 3: rs2 gone" 0 q EXISTS rs2
check "case 3: rt2 keeps rt's deadline" "$T_OLD" q PEXPIRETIME rt2
check "case 3: rt gone" 0 q EXISTS rt

# Case 5: increments of both nodes add up; every node agrees.
check "case 5: counters hold both nodes' transactions" "$((2 * TXS)) $((2 * TXS))" q MGET m:a m:b
r12=$(q 1 MGET m:r1 m:r2)
check "case 5: registers agree" "$r12" q MGET m:r1 m:r2
for v in $r12; do
	[[ $v == "v1.$TXS" || $v == "v2.$TXS" ]] || bad "case 5: register value $v is not a last transaction's (v1.$TXS or v2.$TXS)"
done
[[ $r12 =~ ^v[12]\.$TXS\ v[12]\.$TXS$ ]] && ok "case 5: m:r1 m:r2 on node 1 [$r12]: each a last transaction's value"

# Case 6: conversions.
check "case 6: INCR of register 10 on 3 nodes: 10 once + 1 + 5 + 1" 17 q GET cv
check "case 6: cv is a counter" counter q GROVE TYPE cv
check "case 6: SET of a counter beats a concurrent INCR (hidden)" 100 q GET cs
check "case 6: cs is a register" register q GROVE TYPE cs
check "case 6: INCR (conversion) beats a concurrent SET (hidden)" 11 q GET cr
check "case 6: cr is a counter" counter q GROVE TYPE cr
# Case 7: hash counter fields.
check "case 7: HINCRBY hc f on 3 partitioned nodes (1 + 10 + 100) and HINCRBYFLOAT 1000" 1111 q HGET hc f
check "case 7: HSET-written 10 converted on 2 nodes at once: 10 once + 1 + 2" 13 q HGET hc base
check "case 7: HSET 50 (n1) with a concurrent HINCRBY 1 (n2): the HSET's value + the unseen increment" 51 q HGET hc s
run_checks
expect_one "case 7: HINCRBY hc f 1 on node 2 after the heal" 1112 "$(q 2 HINCRBY hc f 1)"
check "case 7: hc f after the heal's HINCRBY" 1112 q HGET hc f
expect_one "case 6: INCR cs on node 2 (register 100, a hidden +3 counter)" 101 "$(q 2 INCR cs)"
check "case 6: cs after the conversion" 101 q GET cs

# WATCH on node 1 with a write merged from node 2 (one connection held
# open through bash's /dev/tcp, inline commands).
exec {W}<>"/dev/tcp/$GROVE_CLUSTER_NET.11/7379" || fail "connect to node 1"
rd() { local l; IFS= read -r -t 5 l <&"$W"; printf '%s' "${l%$'\r'}"; }
cli 1 SET w before >/dev/null
wait_node 2 before GET w || bad "WATCH: node 2 did not receive w"
printf 'WATCH w\r\n' >&"$W"; expect_one "WATCH w on node 1" +OK "$(rd)"
cli 2 SET w remote >/dev/null
wait_node 1 remote GET w || bad "WATCH: node 1 did not merge node 2's SET w"
printf 'MULTI\r\nSET w mine\r\nEXEC\r\n' >&"$W"
got="$(rd) $(rd) $(rd)"
expect_one "WATCH: EXEC on node 1 after a merged remote write of w" "+OK +QUEUED *-1" "$got"
printf 'WATCH w\r\nMULTI\r\nSET w mine\r\nEXEC\r\n' >&"$W"
got="$(rd) $(rd) $(rd) $(rd) $(rd)"
expect_one "WATCH: EXEC on node 1 without a change" "+OK +OK +QUEUED *1 +OK" "$got"
exec {W}>&-
check "WATCH: w" mine q GET w
run_checks

# ------------------------------------------------------------ round 2
converge "before round 2"
{
	echo "SET f:1 v"; echo "SET f:2 v"; echo "SADD fs a b"; echo "INCRBY fc 10"
	echo "HSET fh f1 v1"
} >"$T_TMP/setup2"
batch 2 "$T_TMP/setup2" "$T_TMP/setup2.out" || fail "setup 2 batch"
converge "setup 2"
nkeys=$(q 1 DBSIZE)
cluster partition "1|2,3" >/dev/null || fail "partition 1|2,3"
say "round 2: partitioned 1|2,3 ($nkeys keys)"
{ echo "SET f:1 n2"; echo "SADD fs c"; echo "INCRBY fc 4"; echo "HSET fh f2 v2"; } >"$T_TMP/w2a"
batch 2 "$T_TMP/w2a" "$T_TMP/w2a.out" || bad "case 4: node 2's writes before the flush"
tick
expect_one "case 4: FLUSHALL on node 1" OK "$(q 1 FLUSHALL)"
expect_one "case 4: node 1 empty" 0 "$(q 1 DBSIZE)"
tick
{ echo "SET f:new x"; echo "INCRBY fc 1"; } >"$T_TMP/w2b"
batch 2 "$T_TMP/w2b" "$T_TMP/w2b.out" || bad "case 4: node 2's writes after the flush"
# node 3, on node 2's side, receives f:new and keeps every key
if wait_node 3 "$((nkeys + 1))" DBSIZE; then
	ok "case 4: node 3 (with node 2) holds every key and f:new: [$((nkeys + 1))]"
else
	bad "case 4: node 3 (with node 2): DBSIZE want [$((nkeys + 1))], got [$(q 3 DBSIZE)]"
fi
cluster heal >/dev/null || fail "heal"
converge "round 2 heal"
check "case 4: only the writes the flush had not seen remain" "f:1 f:new fc fh fs" qs KEYS '*'
check "case 4: f:1 written by node 2" n2 q GET f:1
check "case 4: f:new written by node 2 after the flush" x q GET f:new
check "case 4: fs holds just node 2's SADD" c qs SMEMBERS fs
check "case 4: fc holds just node 2's increments (4 + 1)" 5 q GET fc
check "case 4: fh holds just node 2's field" "f2 v2" q HGETALL fh
run_checks

finish_now
