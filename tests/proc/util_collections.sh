#!/bin/bash
# util_collections.sh - checks of big sets and hashes for the collection
# tests (sourced after util_cluster.sh, not run).  Members and fields are
# the ones tests/proc/resp_pipe.py writes: member m:%012d, field f:%012d
# with value %012d of the same index, so sorted text order is index order.

# bigcli I ARGS: like cli, with time for replies of 10^5 elements.
bigcli() {
	local i=$1
	shift
	timeout 120 redis-cli -h "$GROVE_CLUSTER_NET.$((10 + i))" -p 7379 "$@" 2>/dev/null
}

# expect_members SETFILE HASHFILE FIRST LAST STEP: the sorted member lines
# and "field value" lines for the indexes FIRST, FIRST + STEP, ... < LAST.
expect_members() {
	awk -v a="$3" -v b="$4" -v s="$5" 'BEGIN { for (i = a; i < b; i += s) printf "m:%012d\n", i }' >"$1"
	awk -v a="$3" -v b="$4" -v s="$5" 'BEGIN { for (i = a; i < b; i += s) printf "f:%012d %012d\n", i, i }' >"$2"
}

# count_line SET HASH: "nodeI SCARD/HLEN" of every running node.
count_line() {
	local n out=
	for n in $(cluster running); do out+="node$n $(cli "$n" SCARD "$1" || echo "?")/$(cli "$n" HLEN "$2" || echo "?") "; done
	echo "$out"
}

# wait_counts SET HASH WANT TIMEOUT_S: until every running node answers
# SCARD SET = HLEN HASH = WANT; 1 on timeout.
wait_counts() {
	local deadline=$(($(now_ms) + $4 * 1000)) n ok
	while :; do
		ok=1
		for n in $(cluster running); do
			[[ $(cli "$n" SCARD "$1") == "$3" && $(cli "$n" HLEN "$2") == "$3" ]] || { ok=0; break; }
		done
		((ok)) && return 0
		(($(now_ms) < deadline)) || return 1
		sleep 0.2
	done
}

# compare WHAT HAVE WANT MODE [ALLOWED]: MODE exact: HAVE = WANT; subset:
# WANT is in HAVE and whatever else HAVE holds is in ALLOWED (sorted files).
compare() {
	local missing extra
	missing=$(LC_ALL=C comm -23 "$3" "$2" | wc -l)
	if [[ $4 == exact ]]; then
		extra=$(LC_ALL=C comm -13 "$3" "$2" | wc -l)
	else
		extra=$(LC_ALL=C comm -13 "$3" "$2" | LC_ALL=C comm -23 - "$5" | wc -l)
	fi
	((missing == 0)) ||
		fail "$1: $missing missing, e.g. $(LC_ALL=C comm -23 "$3" "$2" | head -3 | tr '\n' ' ')(has $(wc -l <"$2"))"
	((extra == 0)) || fail "$1: $extra unexpected, e.g. $(LC_ALL=C comm -13 "$3" "$2" | head -3 | tr '\n' ' ')"
}

# check_set I KEY WANTFILE MODE [ALLOWED]: SMEMBERS KEY on node I.
check_set() {
	bigcli "$1" SMEMBERS "$2" | LC_ALL=C sort >"$T_TMP/have.s"
	compare "node $1 SMEMBERS $2" "$T_TMP/have.s" "$3" "$4" "${5:-}"
}

# check_hash I KEY WANTFILE MODE [ALLOWED]: HGETALL KEY on node I.
check_hash() {
	bigcli "$1" HGETALL "$2" | paste -d' ' - - | LC_ALL=C sort >"$T_TMP/have.h"
	compare "node $1 HGETALL $2" "$T_TMP/have.h" "$3" "$4" "${5:-}"
}

# scan_all I CMD KEY PAIRS: every element of a full SSCAN / HSCAN iteration
# (COUNT 1000; PAIRS 2 joins field and value), sorted and unique.  Bounded:
# at most 10^6 calls.  Returns 2 when groved has no such command.
scan_all() {
	local cursor=0 calls=0 out
	: >"$T_TMP/scan"
	while :; do
		out=$(bigcli "$1" "$2" "$3" "$cursor" COUNT 1000)
		[[ $out == ERR* || $out == *"unknown command"* ]] && return 2
		cursor=$(head -n 1 <<<"$out")
		[[ $cursor =~ ^[0-9]+$ ]] || fail "node $1: $2 $3: bad reply '$(head -c 80 <<<"$out")'"
		if (($4 == 2)); then tail -n +2 <<<"$out" | paste -d' ' - -; else tail -n +2 <<<"$out"; fi |
			grep . >>"$T_TMP/scan"
		[[ $cursor == 0 ]] && break
		((++calls < 1000000)) || fail "node $1: $2 $3 did not end after $calls calls"
	done
	LC_ALL=C sort -u -o "$T_TMP/scan" "$T_TMP/scan"
}

# check_scan I SET HASH SETFILE HASHFILE: full SSCAN and HSCAN iterations
# return exactly the expected elements; skipped (SCAN_NOTE empty) while
# groved has no SSCAN.
SCAN_NOTE= SCAN_MISSING=
check_scan() {
	[[ -n $SCAN_MISSING ]] && return
	scan_all "$1" SSCAN "$2" 1
	if (($? == 2)); then
		SCAN_MISSING=1 SCAN_NOTE=
		say "no SSCAN in this groved: full-iteration check skipped"
		return
	fi
	compare "node $1 SSCAN $2" "$T_TMP/scan" "$4" exact
	scan_all "$1" HSCAN "$3" 2 || fail "node $1: SSCAN works but HSCAN does not"
	compare "node $1 HSCAN $3" "$T_TMP/scan" "$5" exact
	SCAN_NOTE=", SSCAN, HSCAN"
}
