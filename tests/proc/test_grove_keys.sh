#!/bin/bash
# test_grove_keys.sh - the `grove` key commands as a user runs them:
# ca init and cert create the documented files with the documented modes
# (and missing directories with their parents),
# refuse to overwrite, refuse a group/world-readable CA key, and exit
# 0 / 1 / 2 for success / runtime error / usage error.
set -u
grove=${GROVE_BIN:-bin/grove}
[[ -x $grove ]] || { echo "skip: $grove not built"; exit 77; }
tmp=$(mktemp -d /tmp/grove-keys-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { # check WANT_RC DESCRIPTION CMD...
	local want=$1 what=$2
	shift 2
	"$@" >"$tmp/out" 2>&1
	local rc=$?
	if ((rc != want)); then
		echo "FAIL: $what: exit $rc, want $want"; cat "$tmp/out"; fails=$((fails + 1))
	else
		echo "ok: $what"
	fi
}
mode() { stat -c %a "$1"; }
expect_mode() { # expect_mode FILE MODE
	if [[ $(mode "$1") != "$2" ]]; then echo "FAIL: $1 mode $(mode "$1"), want $2"; fails=$((fails + 1)); fi
}

check 0 "grove --help" "$grove" --help
check 2 "grove without command" "$grove"
check 2 "unknown command" "$grove" nosuch
check 0 "help cert" "$grove" help cert
check 0 "ca init" "$grove" ca init "$tmp/ca"
expect_mode "$tmp/ca/ca.key" 600
expect_mode "$tmp/ca" 700
check 1 "ca init again (no overwrite)" "$grove" ca init "$tmp/ca"
check 2 "ca without init" "$grove" ca "$tmp/ca2"
check 0 "cert node-1" "$grove" cert "$tmp/ca" --id node-1 --out "$tmp/n1" --days 30
expect_mode "$tmp/n1/node.key" 600
for f in node.key node.crt ca.pub; do
	[[ -s $tmp/n1/$f ]] || { echo "FAIL: $f missing"; fails=$((fails + 1)); }
done
cmp -s "$tmp/ca/ca.pub" "$tmp/n1/ca.pub" || { echo "FAIL: ca.pub not copied"; fails=$((fails + 1)); }
head -1 "$tmp/n1/node.crt" | grep -qx 'grove-node-cert-v1' || { echo "FAIL: cert header"; fails=$((fails + 1)); }
key_before=$(cat "$tmp/n1/node.key")
check 0 "cert into an existing key set renews (same key)" "$grove" cert "$tmp/ca" --id node-1 --out "$tmp/n1"
[[ $(cat "$tmp/n1/node.key") == "$key_before" ]] || { echo "FAIL: renewal changed node.key"; fails=$((fails + 1)); }
grep -q 'renewed (same key)' "$tmp/out" || { echo "FAIL: no renewal message"; fails=$((fails + 1)); }
check 2 "cert with a bad id" "$grove" cert "$tmp/ca" --id "has space" --out "$tmp/n2"
check 2 "cert with --days 0" "$grove" cert "$tmp/ca" --id n2 --out "$tmp/n2" --days 0
check 2 "cert without --out" "$grove" cert "$tmp/ca" --id n2
chmod 644 "$tmp/ca/ca.key"
check 1 "cert with a world-readable CA key" "$grove" cert "$tmp/ca" --id n3 --out "$tmp/n3"
grep -q 'chmod 600' "$tmp/out" || { echo "FAIL: no chmod hint"; fails=$((fails + 1)); }
[[ ! -e $tmp/n3/node.key ]] || { echo "FAIL: key written despite refusal"; fails=$((fails + 1)); }
chmod 600 "$tmp/ca/ca.key"
check 0 "second node in the same OUTDIR parent" "$grove" cert "$tmp/ca" --id node-2 --out "$tmp/n2"
check 0 "cert --out with missing parents" "$grove" cert "$tmp/ca" --id node-3 --out "$tmp/data3/keys"
[[ -s $tmp/data3/keys/node.crt ]] || { echo "FAIL: data3/keys/node.crt missing"; fails=$((fails + 1)); }
expect_mode "$tmp/data3" 700
check 0 "ca init with missing parents" "$grove" ca init "$tmp/a/b/ca"
[[ -s $tmp/a/b/ca/ca.pub ]] || { echo "FAIL: a/b/ca/ca.pub missing"; fails=$((fails + 1)); }
: >"$tmp/file"
check 1 "cert --out under a regular file" "$grove" cert "$tmp/ca" --id node-4 --out "$tmp/file/keys"
grep -q "$tmp/file: not a directory" "$tmp/out" || { echo "FAIL: no 'not a directory': $(cat "$tmp/out")"; fails=$((fails + 1)); }
((fails == 0)) || { echo "$fails failure(s)"; exit 1; }
echo "grove key commands: all checks passed"
