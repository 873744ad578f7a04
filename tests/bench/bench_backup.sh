#!/bin/bash
# bench_backup.sh - grove backup and restore on one node holding N string
# keys plus a set and a hash of N/10 elements each, beside `cp -r` of the
# node's data directory in the same run (a plain copy of a live store: no
# snapshot, no check, just the bytes), for each N of GROVE_BENCH_BACKUP_SIZES.
# Figures: backup time and file size; cp -r time and copy size (du -sb);
# restore --dir and restore --check time; the node's PING latency while
# the backup runs, on a connection of its own (it must keep serving).
set -uo pipefail
source "$(dirname "$0")/../proc/util_cluster.sh"

SIZES=${GROVE_BENCH_BACKUP_SIZES:-100000 1000000}

require_binaries
t_init
cluster up 1 >/dev/null || fail "cluster up 1"
data=$GROVE_CLUSTER_DIR/n1/data
addr=$(cluster addr 1)
host=${addr%:*}
have=0

secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1000 }'; }

for n in $SIZES; do
	# fill up to n keys (keeping the ones of the previous size)
	awk -v from="$have" -v n="$n" 'BEGIN {
		for (i = from; i < n; i++) {
			printf "SET bench:key:%d value-%d\n", i, i
			if (i % 10 == 0) { printf "SADD bench:set m%d\nHSET bench:hash f%d %d\n", i, i, i }
		} }' | timeout 600 redis-cli -h "$host" -p 7379 --pipe >"$T_TMP/fill.out" 2>&1 ||
		fail "fill to $n: $(tail -2 "$T_TMP/fill.out")"
	have=$n
	keys=$(cli 1 DBSIZE)
	rm -rf "$T_TMP/cp" "$T_TMP/b.bak" "$T_TMP/r"
	sync
	t0=$(now_ms)
	cp -r "$data" "$T_TMP/cp"
	t1=$(now_ms)
	cp_bytes=$(du -sb "$T_TMP/cp" | cut -f1)
	# PING round trips on one open connection while the backup runs
	/usr/bin/python3 - "$host" 7379 >"$T_TMP/ping.us" <<'PY' &
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
while True:
    t = time.monotonic()
    s.sendall(b"PING\r\n")
    if s.recv(64) != b"+PONG\r\n":
        break
    print(int((time.monotonic() - t) * 1e6), flush=True)
PY
	pinger=$!
	t2=$(now_ms)
	"$GROVE" backup "$T_TMP/b.bak" --node "$addr" >"$T_TMP/b.out" 2>&1 || fail "backup: $(cat "$T_TMP/b.out")"
	t3=$(now_ms)
	kill "$pinger" 2>/dev/null; wait "$pinger" 2>/dev/null
	b_bytes=$(stat -c %s "$T_TMP/b.bak")
	records=$(awk '$1 == "records" { print $2 }' "$T_TMP/b.out")
	ping_max=$(sort -n "$T_TMP/ping.us" | tail -1)
	ping_n=$(wc -l <"$T_TMP/ping.us")
	ping_med=$(sort -n "$T_TMP/ping.us" | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }')
	t4=$(now_ms)
	"$GROVE" restore "$T_TMP/b.bak" --check >/dev/null 2>&1 || fail "restore --check"
	t5=$(now_ms)
	"$GROVE" restore "$T_TMP/b.bak" --dir "$T_TMP/r" --id bench-restored >"$T_TMP/r.out" 2>&1 || fail "restore: $(cat "$T_TMP/r.out")"
	t6=$(now_ms)
	rkeys=$(awk '$1 == "restored" { gsub(/[()]/, "", $6); print $6 }' "$T_TMP/r.out")
	echo "N=$n keys=$keys records=$records"
	echo "  cp -r data dir      $(secs "$t0" "$t1") s   $cp_bytes bytes"
	echo "  grove backup        $(secs "$t2" "$t3") s   $b_bytes bytes   (PING on another connection during it: $ping_n answered, slowest ${ping_max:-?} us, median ${ping_med:-?} us)"
	echo "  grove restore --check $(secs "$t4" "$t5") s"
	echo "  grove restore --dir $(secs "$t5" "$t6") s   keys in the restored store: $rkeys"
	[[ $rkeys == "$keys" ]] || fail "restored store holds $rkeys keys, the node $keys"
done
