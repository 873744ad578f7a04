#!/bin/bash
# test_cluster_partition.sh - partition and heal, checked against a model.
#
# Five real groved processes.  Each round: cut the cluster into 2 or 3 random
# groups (nftables), run concurrent INCRBY/DECRBY, SADD/SREM, HSET/HDEL and
# SET/DEL through one redis-cli connection per node, keep every acknowledged
# operation, check that the groups really diverged, hold the cut until
# membership declares the other side dead, heal, wait until all digests are
# equal, then check every node against the model of
# tests/proc/util_model.sh: counters are exact sums, sets add-wins, map
# fields and registers one of the concurrent candidates, and every node's
# state identical.  Env: ROUNDS (3), OPS per node per round (150).
set -uo pipefail
source "$(dirname "$0")/util_cluster.sh"
source "$(dirname "$0")/util_model.sh"

ROUNDS=${ROUNDS:-3}
OPS=${OPS:-150}
NODES=5
COUNTERS=6 SETS=3 ELEMS=10 MAPS=3 FIELDS=8 REGS=12

require_binaries
require_nft
t_init
up_or_skip $NODES -- "${FAST_FLAGS[@]}"
require_anti_entropy

keys=$T_TMP/keys
{
	for ((k = 0; k < COUNTERS; k++)); do echo "c:$k"; done
	for ((k = 0; k < SETS; k++)); do echo "s:$k"; done
	for ((k = 0; k < MAPS; k++)); do echo "h:$k"; done
	for ((k = 0; k < REGS; k++)); do echo "r:$k"; done
} >"$keys"
model=$T_TMP/model
: >"$model"

# random_groups: the nodes shuffled and cut into 2 or 3 non-empty groups,
# as "1,4|2,3,5".
random_groups() {
	local -a perm=() g=()
	local i j t ngroups=$((2 + RANDOM % 2))
	for ((i = 1; i <= NODES; i++)); do perm+=("$i"); done
	for ((i = NODES - 1; i > 0; i--)); do
		j=$((RANDOM % (i + 1))); t=${perm[i]}; perm[i]=${perm[j]}; perm[j]=$t
	done
	for ((i = 0; i < NODES; i++)); do
		j=$((i < ngroups ? i : RANDOM % ngroups))
		g[j]+=${g[j]:+,}${perm[i]}
	done
	local IFS='|'
	echo "${g[*]}"
}

# gen_ops NODE GROUP SALT CMDFILE METAFILE: OPS random operations that node
# NODE may run this round (items it writes for its group, any counter).
gen_ops() {
	local n=$1 group=$2 salt=$3 k r item m v
	local -a mine_s=() mine_h=() mine_r=()
	for ((k = 0; k < SETS * ELEMS; k++)); do
		[[ $(model_writer "$k" "$group" "$salt") == "$n" ]] && mine_s+=("s:$((k / ELEMS)) e$((k % ELEMS))")
	done
	for ((k = 0; k < MAPS * FIELDS; k++)); do
		[[ $(model_writer "$k" "$group" "$salt") == "$n" ]] && mine_h+=("h:$((k / FIELDS)) f$((k % FIELDS))")
	done
	for ((k = 0; k < REGS; k++)); do
		[[ $(model_writer "$k" "$group" "$salt") == "$n" ]] && mine_r+=("r:$k")
	done
	: >"$4"; : >"$5"
	for ((k = 0; k < OPS; k++)); do
		r=$((RANDOM % 8))
		v=v$n.$RANDOM
		case $r in
		0 | 1)
			m=$((1 + RANDOM % 20)) item="c:$((RANDOM % COUNTERS))"
			if ((r == 0)); then echo "INCRBY $item $m"; echo "$n INCRBY $item $m -" >&6
			else echo "DECRBY $item $m"; echo "$n DECRBY $item $m -" >&6; fi ;;
		2 | 3)
			item=${mine_s[RANDOM % ${#mine_s[@]}]}
			if ((r == 2)); then echo "SADD $item"; echo "$n SADD $item -" >&6
			else echo "SREM $item"; echo "$n SREM $item -" >&6; fi ;;
		4 | 5)
			item=${mine_h[RANDOM % ${#mine_h[@]}]}
			if ((r == 4)); then echo "HSET $item $v"; echo "$n HSET $item $v" >&6
			else echo "HDEL $item"; echo "$n HDEL $item -" >&6; fi ;;
		6)
			item=${mine_r[RANDOM % ${#mine_r[@]}]}
			echo "SET $item $v"; echo "$n SET $item - $v" >&6 ;;
		7)
			item=${mine_r[RANDOM % ${#mine_r[@]}]}
			echo "DEL $item"; echo "$n DEL $item - -" >&6 ;;
		esac
	done >"$4" 6>"$5"
}

# acked CMDFILE METAFILE REPLIES: print the metadata lines of the commands
# whose reply is an acknowledgement (integer or OK), in order; stop at the
# first other reply (the rest is unacknowledged).
acked() {
	paste -d'\t' "$2" "$3" | awk -F'\t' '
		$2 ~ /^\(integer\) -?[0-9]+$/ || $2 == "OK" { print $1; next }
		{ exit }'
}

total_ops=0 total_items=0
for ((round = 1; round <= ROUNDS; round++)); do
	groups=$(random_groups)
	salt=$RANDOM
	cluster partition "$groups" >/dev/null || fail "partition $groups"
	IFS='|' read -ra glist <<<"$groups"
	pids=()
	for g in "${glist[@]}"; do
		IFS=, read -ra members <<<"$g"
		for n in "${members[@]}"; do
			gen_ops "$n" "$g" "$salt" "$T_TMP/cmd.$n" "$T_TMP/meta.$n"
			batch "$n" "$T_TMP/cmd.$n" "$T_TMP/rep.$n" &
			pids+=($!)
		done
	done
	for p in "${pids[@]}"; do wait "$p"; done
	ops=$T_TMP/ops.$round
	: >"$ops"
	for ((n = 1; n <= NODES; n++)); do
		acked "$T_TMP/cmd.$n" "$T_TMP/meta.$n" "$T_TMP/rep.$n" >>"$ops"
		got=$(awk -v n="$n" '$1 == n' "$ops" | wc -l)
		((got == OPS)) || fail "round $round: node $n acknowledged $got of $OPS operations during the partition: $(sed -n "$((got + 1))p" "$T_TMP/rep.$n") $(head -c 300 "$T_TMP/rep.$n.err")"
	done
	total_ops=$((total_ops + $(wc -l <"$ops")))
	# The groups must have diverged: otherwise the partition did not cut.
	declare -A gd=()
	for g in "${glist[@]}"; do gd[$g]=$(digest "${g%%,*}"); done
	[[ $(printf '%s\n' "${gd[@]}" | sort -u | wc -l) -gt 1 ]] ||
		fail "round $round: groups $groups all report digest ${gd[*]} while partitioned (does groved bind its outgoing TCP and UDP to its gossip address?)"
	unset gd
	# Hold the partition until membership declares the other side dead, so
	# the heal also has to bring dead members back.
	a=${glist[0]%%,*} b=${glist[1]%%,*} deadline=$(($(now_ms) + 15000))
	until grep -qx "node$b dead" <<<"$(members "$a")"; do
		(($(now_ms) < deadline)) || fail "round $round: node $a never saw node $b dead while partitioned"
		sleep 0.1
	done
	cluster heal >/dev/null || fail "heal"
	conv=$(cluster wait-converged --timeout 60) || fail "round $round: no convergence after heal"
	model_expect "$model" "$ops" >"$T_TMP/expect"
	for ((n = 1; n <= NODES; n++)); do model_dump "$n" "$keys" >"$T_TMP/dump.$n"; done
	for ((n = 2; n <= NODES; n++)); do
		cmp -s "$T_TMP/dump.1" "$T_TMP/dump.$n" ||
			fail "round $round: equal digests but node 1 and node $n differ: $(diff "$T_TMP/dump.1" "$T_TMP/dump.$n" | head -5)"
	done
	res=$(model_check "$T_TMP/expect" "$T_TMP/dump.1") || fail "round $round ($groups): model mismatch:
$res"
	total_items=$((total_items + $(awk '{print $2}' <<<"${res##*$'\n'}")))
	say "round $round: groups $groups, $(wc -l <"$ops") acknowledged ops, ${res##*$'\n'}; $conv"
	cp "$T_TMP/dump.1" "$model"
done
say "PASS: $ROUNDS rounds, $total_ops acknowledged operations, $total_items item checks x $NODES nodes"
