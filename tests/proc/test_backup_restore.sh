#!/bin/bash
# test_backup_restore.sh - README "Backup and restore", end to end.
#
# A 3-node cluster takes writes (A); node 2 is backed up while a writer
# keeps writing to node 1; more writes follow (B), among them a DEL and an
# overwrite of keys the backup holds.  Damaged backups (truncated, one byte
# changed, not a backup) and a restore under the backed-up node's own id
# are refused, leaving nothing behind.  Node 3 then loses its disk (kill -9,
# data directory removed); the backup is restored as a NEW node (node4)
# that joins, and merged into the running node 1.  Every acknowledged write
# of A and B must then be on nodes 1, 2 and 4, the DEL and the overwrite
# must not be rolled back, and all digests must agree.
set -uo pipefail
source "$(dirname "$0")/util_cluster.sh"

N_KEYS=${N_KEYS:-200}

require_binaries
t_init
up_or_skip 3 -- "${FAST_FLAGS[@]}"
require_anti_entropy 15

# writes PHASE NODE: SET/SADD/HSET/INCRBY through one connection; the
# acknowledged ones are appended to $T_TMP/acked.
writes() {
	local phase=$1 n=$2 i f=$T_TMP/w.$1
	for ((i = 0; i < N_KEYS; i++)); do
		echo "SET bk:$phase:$i v$phase.$i"
		echo "SADD bk:set $phase.$i"
		echo "HSET bk:hash $phase.$i $i"
		echo "INCRBY bk:count 1"
	done >"$f.cmd"
	batch "$n" "$f.cmd" "$f.rep"
	paste -d'\t' "$f.cmd" "$f.rep" | awk -F'\t' '$2 ~ /^\(integer\) [0-9]+$/ || $2 == "OK" { print $1 }' >>"$T_TMP/acked"
	(($(wc -l <"$T_TMP/acked") > 0)) || fail "phase $phase: nothing acknowledged"
}

# check NODE: every acknowledged write present on NODE; the DEL and the
# overwrite done after the backup hold.
check() {
	local n=$1 want have
	awk '$1 == "SET" { print "GET " $2 }' "$T_TMP/acked" >"$T_TMP/get.cmd"
	timeout 60 redis-cli -h "$GROVE_CLUSTER_NET.$((10 + n))" -p 7379 <"$T_TMP/get.cmd" >"$T_TMP/get.rep" 2>/dev/null
	awk '$1 == "SET" { print $3 }' "$T_TMP/acked" >"$T_TMP/want.r"
	cmp -s "$T_TMP/want.r" "$T_TMP/get.rep" ||
		fail "node $n: registers differ from the acknowledged SETs: $(diff "$T_TMP/want.r" "$T_TMP/get.rep" | head -4 | tr '\n' ' ')"
	cli "$n" SMEMBERS bk:set | sort >"$T_TMP/have.s"
	awk '$1 == "SADD" { print $3 }' "$T_TMP/acked" | sort >"$T_TMP/want.s"
	want=$(comm -23 "$T_TMP/want.s" "$T_TMP/have.s" | wc -l)
	((want == 0)) || fail "node $n lost $want acknowledged SADDs"
	have=$(cli "$n" HLEN bk:hash)
	want=$(grep -c '^HSET' "$T_TMP/acked")
	[[ $have == "$want" ]] || fail "node $n: HLEN bk:hash $have, $want fields acknowledged"
	have=$(cli "$n" GET bk:count)
	want=$(grep -c '^INCRBY' "$T_TMP/acked")
	[[ $have == "$want" ]] || fail "node $n: counter $have, $want increments acknowledged"
	[[ $(cli "$n" EXISTS bk:gone) == 0 ]] || fail "node $n: the restore brought back bk:gone, deleted after the backup"
	[[ $(cli "$n" GET bk:over) == after ]] || fail "node $n: bk:over is '$(cli "$n" GET bk:over)', not the write made after the backup"
}

: >"$T_TMP/acked"
cli 1 SET bk:gone old >/dev/null
cli 1 SET bk:over before >/dev/null
writes A 1
cluster wait-converged --timeout 20 >/dev/null || fail "no convergence after phase A"

# A backup of node 2 while node 1 takes writes (phase B0 runs during it).
B=$T_TMP/node2.bak
writes B0 1 &
writer=$!
"$GROVE" backup "$B" --node "$(cluster addr 2)" >"$T_TMP/backup.out" 2>&1 ||
	fail "grove backup: $(cat "$T_TMP/backup.out")"
wait "$writer"
records=$(awk '$1 == "records" { print $2 }' "$T_TMP/backup.out")
((records >= 3 * N_KEYS)) || fail "backup holds $records records, expected at least $((3 * N_KEYS)) (a record per key and per element)"
[[ ! -e $B.tmp ]] || fail "backup left $B.tmp"
"$GROVE" restore "$B" --check >"$T_TMP/check.out" 2>&1 || fail "restore --check: $(cat "$T_TMP/check.out")"
grep -qx "node            node2" "$T_TMP/check.out" || fail "manifest does not name node2: $(cat "$T_TMP/check.out")"
say "backup of node 2: $records records, $(stat -c %s "$B") bytes, during writes to node 1"

cli 1 DEL bk:gone >/dev/null
cli 1 SET bk:over after >/dev/null
writes B 1

# Damaged backups are refused with a message, and leave nothing behind.
refused() { # FILE WORDS DESCRIPTION
	local out
	out=$("$GROVE" restore "$1" --dir "$T_TMP/bad" --id node9 2>&1) && fail "$3 accepted"
	grep -q "$2" <<<"$out" || fail "$3: message '$out' does not say '$2'"
	[[ ! -e $T_TMP/bad ]] || fail "$3: restore left $T_TMP/bad behind"
	"$GROVE" restore "$1" --node "$(cluster addr 1)" >/dev/null 2>&1 && fail "$3 merged into node 1"
	say "refused ($3): $out"
}
size=$(stat -c %s "$B")
head -c $((size / 2)) "$B" >"$T_TMP/trunc.bak"
refused "$T_TMP/trunc.bak" "truncated" "a backup cut in half"
head -c $((size - 1)) "$B" >"$T_TMP/trunc1.bak"
refused "$T_TMP/trunc1.bak" "truncated" "a backup missing its last byte"
cp "$B" "$T_TMP/flip.bak"
printf '\xff' | dd of="$T_TMP/flip.bak" bs=1 seek=$((size / 3)) conv=notrunc status=none
cmp -s "$B" "$T_TMP/flip.bak" && printf '\x00' | dd of="$T_TMP/flip.bak" bs=1 seek=$((size / 3)) conv=notrunc status=none
refused "$T_TMP/flip.bak" "damaged" "a backup with one byte changed"
echo "not a backup" >"$T_TMP/text.bak"
refused "$T_TMP/text.bak" "not a grove backup\|truncated" "a text file"
out=$("$GROVE" restore "$B" --dir "$T_TMP/same" --id node2 2>&1) && fail "restore under the backed-up node's id accepted"
grep -q "new node id" <<<"$out" || fail "restore under node2's own id: '$out'"
say "refused (the backed-up node's own id): $out"

# Node 3 loses its disk; the backup comes back as node 4 and into node 1.
cluster kill 3 >/dev/null || fail "kill -9 node 3"
rm -rf "$GROVE_CLUSTER_DIR/n3/data"
"$GROVE" restore "$B" --dir "$GROVE_CLUSTER_DIR/n4/data" --id node4 >"$T_TMP/r4.out" 2>&1 ||
	fail "restore --dir: $(cat "$T_TMP/r4.out")"
say "restored as node4: $(grep '^restored' "$T_TMP/r4.out")"
cluster add >/dev/null 2>"$T_TMP/add.err" || fail "node 4 did not join: $(cat "$T_TMP/add.err")"
"$GROVE" restore "$B" --node "$(cluster addr 1)" >"$T_TMP/r1.out" 2>&1 || fail "restore --node: $(cat "$T_TMP/r1.out")"
say "merged into node 1: $(grep '^items merged' "$T_TMP/r1.out")"
cluster wait-converged --timeout 30 >"$T_TMP/conv" 2>&1 || fail "no convergence after the restore: $(cat "$T_TMP/conv")"
for n in 1 2 4; do check "$n"; done
say "PASS: $(wc -l <"$T_TMP/acked") acknowledged writes on nodes 1, 2 and 4; the DEL and the overwrite after the backup hold"
