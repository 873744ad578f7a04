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

# all_answer CMD WANT DEADLINE_MS: polls CMD on every node until each
# answers WANT; 1 if that has not happened by the deadline.
all_answer() {
	local port ok
	while :; do
		ok=1
		for port in "${PORTS[@]}"; do
			[[ $(cli "$port" $1 | tr '\n' ' ') == "$2" ]] || { ok=0; break; }
		done
		((ok)) && return 0
		(($(date +%s%3N) < $3)) || return 1
		sleep 0.05
	done
}

# --- a TTL set on node 1 reaches the others ---
# Past its deadline a node hides the key, so the deadline must spread
# before it: where that took more than half the TTL (a loaded machine),
# again with a longer one (4, 8, then 16 s).
cli "$((P + 1))" sadd s a b >/dev/null
expect_all "the set reached every node" "scard s" "2 "
for ttl in 4000 8000 16000; do
	cli "$P" set k old >/dev/null
	cli "$P" pexpire k "$ttl" >/dev/null
	cli "$((P + 1))" pexpire s "$ttl" >/dev/null
	at=$(cli "$P" pexpiretime k)
	sat=$(cli "$((P + 1))" pexpiretime s)
	if all_answer "pexpiretime k" "$at " "$((at - ttl / 2))" &&
		all_answer "pexpiretime s" "$sat " "$((at - ttl / 2))"; then
		pass "the deadlines of k and s reached every node (${ttl} ms TTL, at $((SECONDS - t0)) s)"
		break
	fi
	((ttl < 16000)) || fail "the deadlines did not reach every node in 8 s: k $(for port in "${PORTS[@]}"; do echo -n "[$(cli "$port" pexpiretime k)]"; done) want $at, s $(for port in "${PORTS[@]}"; do echo -n "[$(cli "$port" pexpiretime s)]"; done) want $sat"
	echo "the deadlines spread too late for a ${ttl} ms TTL; again with a longer one"
done

# --- past the deadline: gone everywhere ---
# (10 s past the later deadline: the TTL may be 16 s after retries)
all_answer "exists k s" "0 " "$(( (sat > at ? sat : at) + 10000))" &&
	pass "k and s expired on every node (at $((SECONDS - t0)) s)" ||
	fail "k and s expired on every node: $(for port in "${PORTS[@]}"; do echo -n "[$(cli "$port" exists k s)]"; done)"
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
