#!/bin/bash
# test_node_startup.sh - groved start-up rules and security of the client
# port: --help, bad flags (exit 2 naming the flag), protected mode, AUTH /
# NOAUTH, a data directory owned by another node id, and durable (batch)
# writes acknowledged in order through worker threads, idle timeout and
# max clients, and the malloc tunable groved runs itself again with.
source "$(dirname "$0")/node_lib.sh"

P=$((PORT_BASE + 10))

out=$("$GROVED" --help)
expect_eq "--help exit status" "$?" 0
for flag in --id --data --gossip --advertise --client --seeds --ca --cert --key --durability \
	--gossip-interval --probe-interval --max-offset --requirepass --log-level --log-file --config; do
	[[ $out == *"$flag "* ]] || fail "--help lacks $flag"
done
pass "--help lists every flag"

out=$("$GROVED" --id x --durability sometimes 2>&1)
expect_eq "bad value exit status" "$?" 2
expect_match "bad value names the flag" "$out" "--durability: expected none, batch or always"
out=$("$GROVED" --id x --no-such-flag 2>&1)
expect_eq "unknown flag exit status" "$?" 2
expect_match "unknown flag named" "$out" "unknown flag '--no-such-flag'"

# --- protected mode ---
mkdir -p "$SCRATCH/p"
out=$("$GROVED" --id p --data "$SCRATCH/p" --client "0.0.0.0:$P" --gossip "127.0.0.1:$((P + 1000))" 2>&1)
expect_eq "non-loopback without password exit status" "$?" 2
expect_match "protected mode explained" "$out" "protected mode"

printf 'requirepass = "s3 cret"\n' >"$SCRATCH/pw.conf"
AUTH_ARGS=(--no-auth-warning -a 's3 cret')
start_node p p "$P" --config "$SCRATCH/pw.conf" || finish
AUTH_ARGS=()
expect_eq "NOAUTH before AUTH" "$(redis-cli -p "$P" get k 2>&1)" "NOAUTH Authentication required."
expect_match "wrong password" "$(redis-cli -p "$P" --no-auth-warning -a wrong get k 2>&1)" "WRONGPASS|NOAUTH"
expect_eq "AUTH then command" "$(redis-cli -p "$P" --no-auth-warning -a 's3 cret' incr k 2>&1)" 1
grep -q "s3 cret" "$SCRATCH/p.log" && fail "password in the log" || pass "password not logged"
expect_eq "CONFIG GET requirepass hides it" \
	"$(redis-cli -p "$P" --no-auth-warning -a 's3 cret' config get requirepass | tail -1)" ""
stop_node "$NODE_PID"
expect_eq "password node exit status" "$STOP_RC" 0

# --- identity: the certificate must name --id; the store must be ours ---
if [[ -x $GROVE ]]; then
	out=$("$GROVED" --id other --data "$SCRATCH/p" --client "127.0.0.1:$P" \
		--gossip "127.0.0.1:$((P + 1000))" 2>&1)
	expect_eq "certificate for another id: exit status" "$?" 1
	expect_match "certificate for another id explained" "$out" "is for node 'p', not --id 'other'"
	"$GROVE" ca init "$SCRATCH/ca2" >/dev/null && "$GROVE" cert "$SCRATCH/ca2" --id p --out "$SCRATCH/rogue" >/dev/null
	out=$("$GROVED" --id p --data "$SCRATCH/p" --cert "$SCRATCH/rogue/node.crt" --key "$SCRATCH/rogue/node.key" \
		--client "127.0.0.1:$P" --gossip "127.0.0.1:$((P + 1000))" 2>&1)
	expect_eq "certificate from another CA: exit status" "$?" 1
	expect_match "certificate from another CA explained" "$out" "identity: .*node.crt: certificate not signed by the cluster CA"
	make_identity "$SCRATCH/otherkeys" other
	keys=(--ca "$SCRATCH/otherkeys/ca.pub" --cert "$SCRATCH/otherkeys/node.crt" --key "$SCRATCH/otherkeys/node.key")
else
	keys=()
fi
out=$("$GROVED" --id other --data "$SCRATCH/p" "${keys[@]}" --client "127.0.0.1:$P" \
	--gossip "127.0.0.1:$((P + 1000))" 2>&1)
expect_eq "store of another node: exit status" "$?" 1
expect_match "store of another node explained" "$out" "belongs to node 'p'"

# --- batch durability: pipelined writes acked in order after fsync ---
start_node b nb "$((P + 1))" --durability batch || finish
for i in $(seq 500); do printf '*3\r\n$6\r\nINCRBY\r\n$1\r\nd\r\n$1\r\n2\r\n*2\r\n$3\r\nGET\r\n$1\r\nd\r\n'; done \
	>"$SCRATCH/batch.resp"
exec 3<>"/dev/tcp/127.0.0.1/$((P + 1))"
cat "$SCRATCH/batch.resp" >&3
ok=1
for i in $(seq 500); do
	IFS= read -r -t 10 a <&3 && IFS= read -r -t 10 b <&3 && IFS= read -r -t 10 c <&3 || { ok=0; break; }
	[[ ${a%$'\r'} == ":$((2 * i))" && ${c%$'\r'} == "$((2 * i))" ]] || { ok=0; break; }
done
exec 3>&-
((ok)) && pass "batch mode: 1000 pipelined replies in order" || fail "batch mode reply $i: '$a' '$c'"
expect_match "batch mode fsyncs" "$(redis-cli -p "$((P + 1))" info storage | tr -d '\r' | grep fsyncs)" \
	"^fsyncs:[1-9]"
stop_node "$NODE_PID"
expect_eq "batch node exit status" "$STOP_RC" 0

# --- client limits: idle timeout, max clients ---
start_node c nc "$((P + 2))" --idle-timeout 1 --max-clients 2 || finish
exec 3<>"/dev/tcp/127.0.0.1/$((P + 2))"
printf 'PING\r\n' >&3
IFS= read -r -t 5 line <&3
expect_eq "first client served" "${line%$'\r'}" "+PONG"
exec 4<>"/dev/tcp/127.0.0.1/$((P + 2))"
exec 5<>"/dev/tcp/127.0.0.1/$((P + 2))"
IFS= read -r -t 5 line <&5
expect_eq "client beyond --max-clients refused" "${line%$'\r'}" "-ERR max number of clients reached"
exec 5>&-
# the idle client is closed by the server (read sees EOF) within the deadline
if IFS= read -r -t 10 line <&3; then fail "idle client got data: $line"; else
	[[ -z ${line:-} ]] && pass "idle client closed after --idle-timeout" || fail "idle client: '$line'"
fi
exec 3>&- 4>&-
expect_match "idle disconnects counted" "$(redis-cli -p "$((P + 2))" info stats | tr -d '\r' | grep idle_disconnects)" \
	"idle_disconnects:[1-9]"
stop_node "$NODE_PID"
expect_eq "limits node exit status" "$STOP_RC" 0

# --- malloc on huge pages: groved runs itself again (same pid, same name)
# with glibc.malloc.hugetlb=1 added to GLIBC_TUNABLES, and leaves the
# tunable alone when it is set already.  (glibc, parsing the variable,
# writes a NUL over the ':' after each tunable in the process's own copy
# of the environment, which /proc/PID/environ shows: ':' or NUL between.) ---
name=$(basename "$GROVED")
for c in "|glibc.malloc.hugetlb=1" "glibc.malloc.hugetlb=0|glibc.malloc.hugetlb=0" \
	"glibc.malloc.arena_max=4|glibc.malloc.arena_max=4[:|]glibc.malloc.hugetlb=1"; do
	if [[ -n ${c%%|*} ]]; then export GLIBC_TUNABLES=${c%%|*}; else unset GLIBC_TUNABLES; fi
	start_node h nh "$((P + 3))" || finish
	unset GLIBC_TUNABLES
	got=$(tr '\0' '\n' <"/proc/$NODE_PID/environ" |
		awk '/^GLIBC_TUNABLES=/ { p = 1; printf "%s", $0; next } p && /^glibc[.]/ { printf "|%s", $0; next } { p = 0 }')
	expect_match "GLIBC_TUNABLES '${c%%|*}' -> '${c#*|}'" "$got" "^GLIBC_TUNABLES=${c#*|}$"
	[[ ${c%%|*} == *hugetlb=0 && $got == *hugetlb=1* ]] && fail "hugetlb=0 set, yet hugetlb=1 added"
	expect_eq "still named $name" "$(cat "/proc/$NODE_PID/comm")" "${name:0:15}"
	stop_node "$NODE_PID"
	expect_eq "huge pages node exit status" "$STOP_RC" 0
done
finish
	unset GLIBC_TUNABLES
	got=$(tr '\0' '\n' <"/proc/$NODE_PID/environ" | sed -n 's/^GLIBC_TUNABLES=//p')
	expect_eq "GLIBC_TUNABLES '${c%%|*}' -> '${c#*|}'" "$got" "${c#*|}"
	expect_eq "still named $name" "$(cat "/proc/$NODE_PID/comm")" "${name:0:15}"
	stop_node "$NODE_PID"
	expect_eq "huge pages node exit status" "$STOP_RC" 0
done
finish
