#!/bin/bash
# util_model.sh - the reference model behind the partition test (sourced).
#
# A round runs while the cluster is partitioned and starts from a converged
# state, so every operation of earlier rounds was seen by every node, and
# two nodes in different groups never see each other's operations of this
# round.  Each "item" (set element, map field, register key) is written in a
# round by at most one node per group (model_writer), and one node's
# operations are sequential through one connection; so the outcome of the
# round is known from each node's last operation on the item:
#   counter   the exact sum of every acknowledged INCRBY/DECRBY
#   set       add-wins: present iff some node's last op was SADD;
#             untouched: as before
#   map field per-field LWW with timestamped delete: one of the candidates
#             (the value of each node whose last op was HSET, absent for each
#             node whose last op was HDEL); exact when one node wrote it
#   register  LWW with a timestamped key delete (doc/value_format.md: a DEL
#             raises the tombstone to its own id, so a concurrent SET with a
#             smaller id is deleted): one of the candidates, as for a map
#             field (each SET's value, absent for each DEL)
# Concurrent LWW winners depend on HLC timestamps the client cannot see, so
# those items are checked against the candidate set, then the observed value
# becomes the model for the next round.
#
# Files: ops lines "node OP key member value" ("-" for none), acknowledged
# only, in each node's order; a model/dump line per item:
#   C key - value | S key elem - | H key field value | R key - value
# Expected-state lines have a list of candidates: "X T key member c1 c2 .."
# where candidate "-" means absent.

# model_writer ITEM_INDEX GROUP_CSV SALT: the one node of the group that may
# write the item this round.
model_writer() {
	local -a g
	IFS=, read -ra g <<<"$2"
	echo "${g[$((($1 + $3) % ${#g[@]}))]}"
}

# model_expect MODEL OPS > EXPECTED
model_expect() {
	awk '
	FILENAME == ARGV[1] {             # previous model (exact)
		if ($1 == "C") cnt[$2] = $4
		else { id = $1 SUBSEP $2 SUBSEP $3; prev[id] = ($1 == "S") ? "+" : $4; items[id] = 1 }
		next
	}
	{
		node = $1; op = $2; key = $3; mem = $4; val = $5
		if (op == "INCRBY") { cnt[key] += mem; next }
		if (op == "DECRBY") { cnt[key] -= mem; next }
		t = (op == "SADD" || op == "SREM") ? "S" : (op == "HSET" || op == "HDEL") ? "H" : "R"
		id = t SUBSEP key SUBSEP mem
		items[id] = 1; touched[id] = 1
		last[id, node] = op " " val
		if (!((id, node) in seen)) { seen[id, node] = 1; writers[id] = writers[id] " " node }
	}
	END {
		for (k in cnt) print "X C", k, "-", cnt[k]
		for (id in items) {
			split(id, p, SUBSEP)
			if (!(id in touched)) {
				if (p[1] == "S") print "X S", p[2], p[3], "+"
				else print "X", p[1], p[2], p[3], prev[id]
				continue
			}
			n = split(substr(writers[id], 2), w, " ")
			c = ""; add = 0
			for (i = 1; i <= n; i++) {
				split(last[id, w[i]], o, " ")
				if (o[1] == "SADD") add = 1
				else if (o[1] == "HSET" || o[1] == "SET") c = c " " o[2]
				else if (o[1] == "HDEL" || o[1] == "DEL") c = c " -"
			}
			if (p[1] == "S") { print "X S", p[2], p[3], add ? "+" : "-"; continue }
			print "X", p[1], p[2], p[3] c
		}
	}' "$1" "$2" | sort
}

# model_check EXPECTED DUMP: print one line per mismatch, then "checked N".
# Untouched items must match exactly; items absent from both pass.
model_check() {
	awk '
	FILENAME == ARGV[1] {
		id = $2 SUBSEP $3 SUBSEP $4
		exp_items[id] = 1
		c = ""; for (i = 5; i <= NF; i++) c = c " " $i " "
		cands[id] = c
		next
	}
	{
		id = $1 SUBSEP $2 SUBSEP $3
		v = ($1 == "S") ? "+" : $4
		got[id] = v
	}
	END {
		bad = 0; n = 0
		for (id in exp_items) {
			split(id, p, SUBSEP)
			v = (id in got) ? got[id] : (p[1] == "C" ? "0" : "-")
			n++
			if (index(cands[id], " " v " ") == 0) {
				bad++
				if (bad <= 20) printf "mismatch %s %s %s: got %s, expected one of:%s\n", p[1], p[2], p[3], v, cands[id]
			}
		}
		for (id in got) if (!(id in exp_items)) {
			split(id, p, SUBSEP)
			bad++
			if (bad <= 20) printf "unexpected %s %s %s = %s\n", p[1], p[2], p[3], got[id]
		}
		printf "checked %d items, %d bad\n", n, bad
		exit bad > 0
	}' "$1" "$2"
}

# model_dump I KEYS_FILE > DUMP: node I's state of the given keys as model
# lines, sorted (one redis-cli connection; ECHO lines separate replies).
model_dump() {
	local i=$1 keys=$2
	awk '{
		print "ECHO @@" $1
		if ($1 ~ /^s:/) print "SMEMBERS " $1
		else if ($1 ~ /^h:/) print "HGETALL " $1
		else print "GET " $1
	}' "$keys" |
		timeout 30 redis-cli -h "$GROVE_CLUSTER_NET.$((10 + i))" -p 7379 2>/dev/null |
		tr -d '\r' | awk '
		/^@@/ { key = substr($0, 3); field = ""; next }
		$0 == "" { next }
		key ~ /^c:/ { print "C", key, "-", $0; next }
		key ~ /^r:/ { print "R", key, "-", $0; next }
		key ~ /^s:/ { print "S", key, $0, "-"; next }
		key ~ /^h:/ { if (field == "") field = $0; else { print "H", key, field, $0; field = "" } }
		' | sort
}
