#!/bin/bash
# test_node_multi.sh - transactions on real groved processes (durability
# batch, so queued writes go through the worker threads): MULTI / EXEC /
# DISCARD / WATCH replies over RESP, one connection and several, sent one
# by one and pipelined; EXECABORT applying nothing; the README's redis-py
# block run as printed; redis-py's pipeline with a bad command applying
# nothing (the increments must not be applied, so a retry cannot apply them
# twice); no reader ever sees half a transaction while other clients run
# write batches on workers; a transaction on one node reaches a second.
source "$(dirname "$0")/node_lib.sh"
PY=/usr/bin/python3
TOOL=$ROOT/tests/proc/resp_tool.py
$PY -c 'import redis' 2>/dev/null || { echo "skip: python3-redis not installed (apt-get install python3-redis)"; exit 77; }

P=$((PORT_BASE + 60))
fast=(--probe-interval 200 --gossip-interval 100)
start_node a n1 "$P" --durability batch "${fast[@]}" || finish

# check_script NAME [--pipe]: runs the script on stdin; compares the
# replies with $SCRATCH/want (lines "N reply").
check_script() {
	local name=$1
	shift
	$PY "$TOOL" "$P" "$@" >"$SCRATCH/got" 2>&1
	if diff -u "$SCRATCH/want" "$SCRATCH/got" >"$SCRATCH/diff"; then
		pass "$name"
	else
		fail "$name"
		cat "$SCRATCH/diff"
	fi
}

cat >"$SCRATCH/want" <<'EOF'
1 +OK
2 +QUEUED
3 +QUEUED
4 +QUEUED
5 :0
6 [+OK, :1, "1"]
7 -ERR EXEC without MULTI
8 -ERR DISCARD without MULTI
9 +OK
10 -ERR MULTI calls can not be nested
11 -ERR WATCH inside MULTI is not allowed
12 +QUEUED
13 -ERR unknown command 'NOSUCH', with args beginning with: 'x' 
14 -EXECABORT Transaction discarded because of previous errors.
15 "1"
16 +OK
17 +QUEUED
18 +QUEUED
19 [:2, :2]
20 +OK
21 +OK
22 +OK
23 +QUEUED
24 (nil-array)
25 "other"
26 +OK
27 +QUEUED
28 [:3]
EOF
check_script "MULTI/EXEC/WATCH replies" <<'EOF'
MULTI
SET t1 1
INCR t2
GET t1
2> EXISTS t1 t2
EXEC
EXEC
DISCARD
MULTI
MULTI
WATCH t1
INCR t2
NOSUCH x
EXEC
GET t2
MULTI
INCR t1
INCR t2
EXEC
WATCH t1
2> SET t1 other
MULTI
SET t1 mine
EXEC
GET t1
MULTI
INCR t2
EXEC
EOF

# pipelined as client libraries send it: one write, replies read after
cat >"$SCRATCH/want" <<'EOF'
1 +OK
2 +QUEUED
3 +QUEUED
4 +QUEUED
5 [:1, :5, "5"]
EOF
check_script "pipelined MULTI ... EXEC" --pipe <<'EOF'
MULTI
INCR p1
INCRBY p1 4
GET p1
EXEC
EOF

# --- the README's redis-py block, as printed ---
awk '/^<!-- test: redis-py-multi -->$/ {f = 1; next} f && /^```python$/ {on = 1; next}
     on && /^```$/ {exit} on' "$ROOT/README.md" | sed "s/port=7379/port=$P/" >"$SCRATCH/readme.py"
grep -q 'pipeline()' "$SCRATCH/readme.py" || fail "README redis-py block not found"
expect_eq "README redis-py block" "$($PY "$SCRATCH/readme.py" 2>&1)" \
	$'[1, 11, True]\n[True] b\'22\''

# --- the issue's bug: a failing transaction applies nothing ---
out=$($PY - "$P" <<'EOF' 2>&1
import sys, redis
r = redis.Redis(port=int(sys.argv[1]))
p = r.pipeline()
p.incr("retry").incr("retry").execute_command("NOSUCHCMD", "x")
try:
    p.execute()
    print("no error")
except redis.exceptions.ResponseError as e:
    print("error:", type(e).__name__)
print("retry =", r.get("retry"))
EOF
)
expect_eq "redis-py failed pipeline applies nothing" "$out" $'error: ResponseError\nretry = None'

# --- isolation: readers whose batches run on workers never see half ---
out=$($PY - "$P" <<'EOF' 2>&1
import sys, threading, redis
port = int(sys.argv[1])
seen = {0: 0, 1: 0, 2: 0}
stop = threading.Event()
def reader():
    r = redis.Redis(port=port)
    while not stop.is_set():
        p = r.pipeline(transaction=False)
        p.incr("iso_noise").exists("iso_a", "iso_b")  # a write: the batch runs on a worker
        seen[p.execute()[1]] += 1
threads = [threading.Thread(target=reader) for _ in range(2)]
for t in threads:
    t.start()
w = redis.Redis(port=port)
for i in range(300):
    with w.pipeline() as p:
        p.set("iso_a", i).set("iso_b", i).execute()
    with w.pipeline() as p:
        p.delete("iso_a").delete("iso_b").execute()
stop.set()
for t in threads:
    t.join()
print("half seen:", seen[1], "reads:", seen[0] + seen[2] > 0)
EOF
)
expect_eq "no reader sees half a transaction" "$out" "half seen: 0 reads: True"

# --- a transaction on one node reaches another ---
start_node b n2 "$((P + 1))" --durability batch "${fast[@]}" --seeds "127.0.0.1:$((P + 1000))" || finish
printf 'MULTI\nSET x1 a\nSADD x2 m\nINCRBY x3 7\nEXEC\n' | $PY "$TOOL" "$P" --pipe >"$SCRATCH/got"
expect_eq "EXEC on node a" "$(tail -1 "$SCRATCH/got")" "5 [+OK, :1, :7]"
deadline=$((SECONDS + 20))
got=
while ((SECONDS < deadline)); do
	got=$(printf 'GET x1\nSMEMBERS x2\nGET x3\n' | $PY "$TOOL" "$((P + 1))" | tr '\n' ' ')
	[[ $got == '1 "a" 2 ["m"] 3 "7" ' ]] && break
	sleep 0.05
done
expect_eq "node b sees the transaction's writes" "$got" '1 "a" 2 ["m"] 3 "7" '
finish
