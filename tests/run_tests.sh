#!/bin/bash
# run_tests.sh KIND PROGRAM... - run each test program, show its output,
# and end with one line "KIND: N passed, N failed".  Exit 1 if any failed.
# Programs ending in .sh run under bash.  A program that exits 77 is skipped.
#
# GROVE_TEST_JOBS programs run at once (default 1); with more than one,
# each program's output is held until it ends and printed whole, so the
# log stays readable.  Unit programs bind port 0 and use their own
# temporary directories, so they can share the machine.
#
# GROVE_TEST_ISOLATE=netns (the real-process tests): those tests use fixed
# ports and nftables rules, so each runs in a private network namespace
# (unshare -n, loopback up), where ports and rules are its own.  A script
# that says "# grove-test: alone" in its header (it needs the registry, or
# builds or installs in the tree) runs first, one at a time, in the
# machine's own namespace.  Without root or unshare everything runs one at
# a time in the machine's namespace.
kind=$1
shift
jobs=${GROVE_TEST_JOBS:-1}
((jobs >= 1)) || jobs=1
isolate=
if [[ ${GROVE_TEST_ISOLATE:-} == netns ]]; then
	if ((EUID == 0)) && command -v ip >/dev/null && unshare -n true 2>/dev/null; then
		isolate=netns
	else
		jobs=1
	fi
fi
passed=0 failed=0 skipped=0 failures=()
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

run_one() { # run_one INDEX PROGRAM [netns]: output to stdout, exit code to $out/INDEX.rc
	local start rc
	start=$(date +%s)
	echo "== $2"
	if [[ ${3:-} == netns ]]; then
		unshare -n bash -c 'ip link set lo up && exec bash "$0"' "$2"
	elif [[ $2 == *.sh ]]; then
		bash "$2"
	else
		"$2"
	fi
	rc=$?
	echo "== $2: exit $rc in $(($(date +%s) - start)) s"
	echo "$rc" >"$out/$1.rc"
}

count() { # count INDEX PROGRAM
	local rc
	rc=$(cat "$out/$1.rc")
	if ((rc == 0)); then
		passed=$((passed + 1))
	elif ((rc == 77)); then
		skipped=$((skipped + 1))
	else
		failed=$((failed + 1))
		failures+=("$1")
	fi
}

progs=("$@")
shared=() # indexes that may run beside others
for i in "${!progs[@]}"; do
	if ((jobs == 1)) || { [[ -n $isolate ]] && head -20 "${progs[$i]}" | grep -q '^# grove-test: alone'; }; then
		run_one "$i" "${progs[$i]}" 2>&1 | tee "$out/$i.log"
		count "$i" "${progs[$i]}"
	else
		shared+=("$i")
	fi
done

declare -A running=() # pid -> index
next=0
while ((next < ${#shared[@]} || ${#running[@]} > 0)); do
	while ((next < ${#shared[@]} && ${#running[@]} < jobs)); do
		i=${shared[$next]}
		run_one "$i" "${progs[$i]}" "$isolate" >"$out/$i.log" 2>&1 &
		running[$!]=$i
		next=$((next + 1))
	done
	wait -n
	for pid in "${!running[@]}"; do
		kill -0 "$pid" 2>/dev/null && continue
		wait "$pid"
		i=${running[$pid]}
		unset "running[$pid]"
		cat "$out/$i.log"
		count "$i" "${progs[$i]}"
	done
done
# The failures' last lines again at the very end, where a CI log's tail
# (often all that is kept) shows why.
# A proc test's failure line comes before the node logs it dumps: the
# FAIL lines first, then the tail.
for i in "${failures[@]}"; do
	echo "== FAIL lines of ${progs[$i]}:"
	grep -m 10 'FAIL' "$out/$i.log"
	echo "== last lines of ${progs[$i]}:"
	tail -n 25 "$out/$i.log"
done
((failed > 0)) && echo "failed:$(for i in "${failures[@]}"; do printf ' %s' "${progs[$i]}"; done)"
echo "$kind: $passed passed, $failed failed, $skipped skipped"
((failed == 0))
