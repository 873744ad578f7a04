#!/bin/bash
# test_node_expire.sh - key expiry across real groved processes: a TTL set
# on node 1 reaches nodes 2 and 3; past the deadline the key is gone on all
# three (hidden at once, removed by active expiry: expired_keys counts it,
# expires= drops to 0); a write made after the deadline on node 3 survives
# everywhere, without TTL; a collection with a TTL set on node 2 behaves the
# same; PERSIST on one node reaches the others.  Every wait polls with a
# deadline (the TTLs are 4 s, so the test takes about 10 s after the join).
source "$(dirname "$0")/node_lib.sh"
[[ -x $GROVE ]] || { echo "skip: $GROVE not built"; exit 77; }

P=$((PORT_BASE + 60))
PORTS=("$P" "$((P + 1))" "$((P + 2))")
fast=(--probe-interval 200 --gossip-interval 100)
cli() { redis-cli -p "$@" 2>/dev/null; }

# expect_all NAME CMD WANT: polls CMD on every node until each answers WANT
# (deadline 10 s).
expect_all() {
	local name=$1 cmd=$2 want=$3 deadline=$((SECONDS + 10)) port ok
	while ((SECONDS < deadline)); do
		ok=1
		for port in "${PORTS[@]}"; do
			[[ $(cli "$port" $cmd | tr '\n' ' ') == "$want" ]] || ok=0
		done
		((ok)) && { pass "$name (at $((SECONDS - t0)) s)"; return 0; }
		sleep 0.05
	done
	fail "$name: $(for port in "${PORTS[@]}"; do echo -n "[$(cli "$port" $cmd | tr '\n' ' ')]"; done), want [$want]"
	return 1
}

start_three "$P" "${fast[@]}"

# expires_everywhere N: polls until INFO keyspace says expires=N on every
# node (deadline 10 s).
expires_everywhere() {
	local deadline=$((SECONDS + 10)) port ok
	while ((SECONDS < deadline)); do
		ok=1
		for port in "${PORTS[@]}"; do
			[[ $(cli "$port" info keyspace | tr -d '\r' | grep -o 'expires=[0-9]*') == "expires=$1" ]] || ok=0
		done
		((ok)) && { pass "INFO keyspace expires=$1 on every node"; return 0; }
		sleep 0.05
	done
	fail "INFO keyspace expires=$1: $(cli "$P" info keyspace | tr -d '\r' | tail -1)"
}

t0=$SECONDS
# --- PERSIST on one node reaches the others ---
cli "$P" set p v ex 100 >/dev/null
pat=$(cli "$P" pexpiretime p)
expect_all "p has its deadline everywhere" "pexpiretime p" "$pat "
expires_everywhere 1
cli "$((P + 2))" persist p >/dev/null
expect_all "PERSIST on node 3 reached every node" "ttl p" "-1 "
expires_everywhere 0

# --- a TTL set on node 1 reaches the others ---
cli "$P" set k old >/dev/null
cli "$P" pexpire k 4000 >/dev/null
at=$(cli "$P" pexpiretime k)
expect_all "the deadline reached every node" "pexpiretime k" "$at "
cli "$((P + 1))" sadd s a b >/dev/null
expect_all "the set reached every node" "scard s" "2 "
cli "$((P + 1))" pexpire s 4000 >/dev/null
sat=$(cli "$((P + 1))" pexpiretime s)
expect_all "the set's deadline reached every node" "pexpiretime s" "$sat "

# --- past the deadline: gone everywhere ---
expect_all "k expired on every node" "exists k s" "0 "
expect_all "TTL answers -2" "ttl k" "-2 "
expired=0
for port in "${PORTS[@]}"; do
	n=$(cli "$port" info stats | tr -d '\r' | sed -n 's/^expired_keys://p')
	expired=$((expired + n))
done
((expired >= 2)) && pass "active expiry removed the keys (expired_keys total $expired)" ||
	fail "expired_keys total $expired"
expires_everywhere 0

# --- a write after the deadline on node 3 survives everywhere ---
cli "$((P + 2))" set k new >/dev/null
cli "$((P + 2))" sadd s c >/dev/null
expect_all "node 3's later write survives on every node" "get k" "new "
expect_all "... without TTL" "ttl k" "-1 "
expect_all "the set holds only node 3's member" "smembers s" "c "
expect_eq "the digests agree" "$(cli "$P" grove digest)" "$(cli "$((P + 1))" grove digest)"
echo "expiry checks took $((SECONDS - t0)) s after the join"
finish
