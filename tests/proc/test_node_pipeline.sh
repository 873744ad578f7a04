#!/bin/bash
# test_node_pipeline.sh - pipelined units (issue 13).  In each durability
# mode, 8 clients send bursts of up to 32 mixed commands (writes and the
# reads that must see them, on keys of their own, lists pushed, popped and
# read among them, sorted sets written and ranked, plus one shared counter), each burst in one write so it
# runs as one deferred unit; every reply must equal what Redis answers in
# that order on one node (tests/proc/pipe_model.py holds the model);
# pipelined writers and writers that do not defer (HINCRBY, SMOVE, LPOP,
# ZPOPMIN) on the same set, hash, list and sorted set at once lose and keep
# nothing (and the sorted set's ranks agree with its order), and the
# sorted sets' counted index is never found out of step (INFO
# zset_rank_drops 0, zset_rank_passes > 0); runs of deferrable writes
# longer than a batch (up to 1,000), the reads after them right, and 2,048
# pipelined ZADDs in one write at most 6 fsyncs in batch and always (a
# run of several batches is one store write; it took 15 with one per
# batch); and
# one client's pipeline whose replies (8 MB) run far past the socket
# buffers and the output high mark, leaving in parts.  Then, in none,
# batch and always, kill -9 during a pipelined write burst: after the
# restart every acknowledged write is there (none too: its writes are
# acknowledged once in LevelDB's log, which survives the process; lists:
# every acknowledged RPUSH, in push order), and every set's, hash's, sorted
# set's and list's maintained count equals the elements present (no command
# half-applied).
source "$(dirname "$0")/node_lib.sh"
command -v python3 >/dev/null || { echo "skip: python3 not installed"; exit 77; }
PY=$(dirname "$0")/pipe_model.py
P=$((PORT_BASE + 60))
SEED=${GROVE_TEST_SEED:-$RANDOM}
echo "seed $SEED (GROVE_TEST_SEED replays)"

i=0
for mode in none batch always; do
	port=$((P + i))
	start_node "m-$mode" "pipe-$mode" "$port" --durability "$mode" || finish
	out=$(python3 "$PY" model "$port" 8 25 "$SEED")
	rc=$?
	echo "$out"
	((rc == 0)) && pass "$mode: pipelined replies equal the model's" || fail "$mode: pipelined replies differ (seed $SEED)"
	out=$(python3 "$PY" shared "$port" 6 3 12 "$SEED")
	rc=$?
	echo "$out"
	((rc == 0)) && pass "$mode: pipelined and plain writers of shared keys: nothing lost" ||
		fail "$mode: shared keys lost or kept writes (seed $SEED)"
	# the sorted sets' counted index kept in step by pipelined writes
	# (replies stay right without it: a dropped index is rebuilt)
	zi=$(redis-cli -p "$port" info storage | tr -d '\r')
	passes=$(sed -n 's/^zset_rank_passes://p' <<<"$zi")
	drops=$(sed -n 's/^zset_rank_drops://p' <<<"$zi")
	[[ $drops == 0 && ${passes:-0} -gt 0 ]] && pass "$mode: counted index passes $passes, none dropped" ||
		fail "$mode: counted index passes '$passes', dropped '$drops'"
	# runs of several batches of deferrable writes, reads after them; a
	# run's batches are written together (each run of at most 256 writes
	# took its own fsync: 2,048 ZADDs in one write took at least 8)
	maxs=-1
	[[ $mode != none ]] && maxs=6
	out=$(python3 "$PY" runs "$port" 6 "$maxs")
	rc=$?
	echo "$out"
	((rc == 0)) && pass "$mode: long deferred runs, their reads, their fsyncs" || fail "$mode: long deferred runs wrong"
	out=$(python3 "$PY" bigreply "$port" 40)
	rc=$?
	echo "$out"
	((rc == 0)) && pass "$mode: 8 MB of pipelined replies in order" || fail "$mode: big pipelined replies wrong"
	i=$((i + 1))
done

for mode in none batch always; do
	port=$((P + i))
	ack=$SCRATCH/ack-$mode
	kill_mid_burst "k-$mode" "kill-$mode" "$port" "$mode" "$ack" 200 python3 "$PY" burst "$port" 8 "$ack" "$SEED"
	echo "$mode: $ACKED writes x6 acknowledged before kill -9"
	out=$(python3 "$PY" check "$port" "$ack")
	rc=$?
	echo "$out" | head -5
	((rc == 0)) && pass "$mode: kill -9 mid-burst: every acknowledged write survives" ||
		fail "$mode: kill -9 mid-burst lost or half-applied writes"
	i=$((i + 1))
done
finish
