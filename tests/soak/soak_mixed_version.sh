#!/bin/bash
# soak_mixed_version.sh - README "Upgrading": the previous release and this
# one in one cluster, and a rolling upgrade from one to the other.
#
# Builds the previous release (tag v0.1.0, pinned below by its commit so the
# test does not depend on the tag) in a throwaway `git worktree` under /tmp,
# starts a 3-node cluster of it (its own grove makes the CA and the
# certificates, as a cluster deployed with that release would have), writes,
# then upgrades one node at a time (SIGTERM, start this build's groved on
# the same data directory and certificate).  After each step writes go to
# the upgraded node and to a node still on the previous release; the
# cluster must converge (equal digests) and every acknowledged write must
# be on every node.  The first step is the mixed-version check proper: one
# new node among two old ones, replicating both ways.  When the two trees'
# envelope versions differ (doc/wire_format.md: a mixed cluster does not
# gossip across them), it tests the documented upgrade instead: every node
# stopped, then all restarted on this build, data kept, cluster converged.
#
# GROVE_PREV_RELEASE=REV tests against another commit or tag.
# GROVE_PREV_DIR=DIR keeps the previous release's worktree and build in DIR
# (made there when missing, reused when DIR/bin/groved exists, never
# removed); with GROVE_PREV_BUILD_ONLY=1 the script stops after the build.
set -uo pipefail
source "$(dirname "$0")/../proc/util_cluster.sh"

PREV_COMMIT=5fd1adb26bd4fed70182ddcd55861b3bfa4bce3d # v0.1.0
PREV=${GROVE_PREV_RELEASE:-$PREV_COMMIT}
N_KEYS=${N_KEYS:-200}
NEW_GROVED=$GROVED

require_binaries
t_init
PREV_DIR=${GROVE_PREV_DIR:-$T_TMP/prev}
prev_cleanup() {
	[[ -z ${GROVE_PREV_DIR:-} && -d $PREV_DIR ]] && git -C "$ROOT" worktree remove --force "$PREV_DIR" >/dev/null 2>&1
	git -C "$ROOT" worktree prune >/dev/null 2>&1
	return 0
}
trap 'rc=$?; prev_cleanup; (exit $rc); t_cleanup' EXIT

if [[ ! -x $PREV_DIR/bin/groved ]]; then
	git -C "$ROOT" rev-parse -q --verify "$PREV^{commit}" >/dev/null ||
		fail "previous release $PREV is not in this repository"
	git -C "$ROOT" worktree add --detach "$PREV_DIR" "$PREV" >"$T_TMP/wt.log" 2>&1 ||
		fail "git worktree add: $(cat "$T_TMP/wt.log")"
	say "building the previous release $(git -C "$ROOT" describe --tags --always "$PREV") ($PREV) in $PREV_DIR"
	make -C "$PREV_DIR" GROVE_DEPS_OK=1 -j2 programs >"$T_TMP/build.log" 2>&1 ||
		fail "building $PREV: $(tail -5 "$T_TMP/build.log")"
fi
[[ $(git -C "$PREV_DIR" rev-parse HEAD) == $(git -C "$ROOT" rev-parse "$PREV^{commit}") ]] ||
	fail "$PREV_DIR holds $(git -C "$PREV_DIR" rev-parse HEAD), not $PREV"
[[ ${GROVE_PREV_BUILD_ONLY:-0} == 1 ]] && { say "built in $PREV_DIR"; exit 0; }
OLD_GROVED=$PREV_DIR/bin/groved
say "built: $("$OLD_GROVED" --version) (previous) beside $("$NEW_GROVED" --version) (this tree, $(git -C "$ROOT" describe --tags --always --dirty))"

# binary_of I: the executable node I runs.
binary_of() { readlink -f "/proc/$(cluster pid "$1")/exe"; }

# writes PHASE NODE: SET/SADD/HSET/INCRBY; acknowledged ones to $T_TMP/acked.
writes() {
	local phase=$1 n=$2 i f=$T_TMP/w.$1.$2
	for ((i = 0; i < N_KEYS; i++)); do
		echo "SET mv:$phase:$n:$i v$i"
		echo "SADD mv:set $phase.$n.$i"
		echo "HSET mv:hash $phase.$n.$i $i"
		echo "INCRBY mv:count 1"
	done >"$f.cmd"
	batch "$n" "$f.cmd" "$f.rep"
	paste -d'\t' "$f.cmd" "$f.rep" | awk -F'\t' '$2 ~ /^\(integer\) [0-9]+$/ || $2 == "OK" { print $1 }' >>"$T_TMP/acked"
}

# check NODE: every acknowledged write on NODE.
check() {
	local n=$1 want have
	awk '$1 == "SET" { print "GET " $2 }' "$T_TMP/acked" >"$T_TMP/get.cmd"
	timeout 60 redis-cli -h "$GROVE_CLUSTER_NET.$((10 + n))" -p 7379 <"$T_TMP/get.cmd" >"$T_TMP/get.rep" 2>/dev/null
	awk '$1 == "SET" { print $3 }' "$T_TMP/acked" >"$T_TMP/want.r"
	cmp -s "$T_TMP/want.r" "$T_TMP/get.rep" || fail "node $n: registers differ from the acknowledged SETs"
	have=$(cli "$n" SCARD mv:set)
	want=$(grep -c '^SADD' "$T_TMP/acked")
	[[ $have == "$want" ]] || fail "node $n: SCARD $have, $want members acknowledged"
	have=$(cli "$n" HLEN mv:hash)
	[[ $have == "$want" ]] || fail "node $n: HLEN $have, $want fields acknowledged"
	have=$(cli "$n" GET mv:count)
	[[ $have == "$want" ]] || fail "node $n: counter $have, $want increments acknowledged"
}

converge_and_check() { # WHAT
	cluster wait-converged --timeout 60 >"$T_TMP/conv" 2>&1 || fail "$1: no convergence: $(cat "$T_TMP/conv")"
	local n
	for n in 1 2 3; do check "$n"; done
	say "$1: $(tr -d '\n' <"$T_TMP/conv"); all $(wc -l <"$T_TMP/acked") acknowledged writes on nodes 1-3"
}

: >"$T_TMP/acked"
export GROVED=$OLD_GROVED GROVE=$PREV_DIR/bin/grove
up_or_skip 3 -- "${FAST_FLAGS[@]}"
for n in 1 2 3; do [[ $(binary_of "$n") == "$(readlink -f "$OLD_GROVED")" ]] || fail "node $n does not run the previous release"; done
writes old 1
converge_and_check "3 nodes of the previous release"

# wire_of DIR: the envelope (datagram) version of the tree in DIR.
wire_of() { sed -n 's/^#define GROVE_ENVELOPE_VERSION \([0-9]*\).*/\1/p' "$1/gossip/secure/envelope.h"; }
old_wire=$(wire_of "$PREV_DIR")
new_wire=$(wire_of "$ROOT")
if [[ $old_wire != "$new_wire" ]]; then
	# doc/wire_format.md: a mixed cluster does not gossip across envelope
	# versions; the upgrade is a restart of every node on the new binary.
	say "envelope version $old_wire (previous) vs $new_wire (this tree): not wire-compatible; testing the full-restart upgrade instead of a rolling one"
	cluster down >/dev/null || fail "cluster down"
	for n in 1 2 3; do
		GROVED=$NEW_GROVED cluster start "$n" --no-wait >/dev/null 2>"$T_TMP/start.err" ||
			fail "node $n on this release did not start on the previous release's data: $(cat "$T_TMP/start.err")"
		[[ $(binary_of "$n") == "$(readlink -f "$NEW_GROVED")" ]] || fail "node $n does not run this release"
	done
	cluster wait-members --timeout 60 >/dev/null 2>&1 || fail "the restarted nodes did not see each other alive"
	check 1
	writes restart 1
	writes restart 2
	converge_and_check "all 3 nodes restarted on this release (writes on nodes 1 and 2)"
	say "PASS: full-restart upgrade from $PREV (envelope v$old_wire) to this tree (v$new_wire): every acknowledged write kept, converged; NOT a rolling upgrade"
	exit 0
fi

for up in 1 2 3; do
	GROVED=$OLD_GROVED cluster stop "$up" >/dev/null || fail "stop node $up"
	GROVED=$NEW_GROVED cluster start "$up" >/dev/null 2>"$T_TMP/start.err" ||
		fail "node $up on this release did not start on the previous release's data: $(cat "$T_TMP/start.err")"
	[[ $(binary_of "$up") == "$(readlink -f "$NEW_GROVED")" ]] || fail "node $up does not run this release"
	writes "up$up" "$up"
	other=$(( up % 3 + 1 ))
	writes "up$up" "$other"
	old_left=$((3 - up))
	converge_and_check "node $up upgraded ($up new, $old_left previous; writes on nodes $up and $other)"
done
say "PASS: rolling upgrade from $PREV to this tree, mixed-version cluster converged at every step"
