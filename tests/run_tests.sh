#!/bin/bash
# run_tests.sh KIND PROGRAM... - run each test program, show its output,
# and end with one line "KIND: N passed, N failed".  Exit 1 if any failed.
# Programs ending in .sh run under bash.  A program that exits 77 is skipped.
#
# GROVE_TEST_JOBS programs run at once (default 1).  The unit passes set it
# to the core count: unit programs bind port 0 and use their own temporary
# directories, so they can share the machine; the real-process tests use
# fixed ports and global nftables rules and always run one at a time.  With
# more than one job each program's output is held until it ends and printed
# whole, so the log stays readable.
kind=$1
shift
jobs=${GROVE_TEST_JOBS:-1}
((jobs >= 1)) || jobs=1
passed=0 failed=0 skipped=0 failures=()
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

run_one() { # run_one INDEX PROGRAM: output to stdout, exit code to $out/INDEX.rc
	local start rc
	start=$(date +%s)
	echo "== $2"
	if [[ $2 == *.sh ]]; then bash "$2"; else "$2"; fi
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
		failures+=("$2")
	fi
}

progs=("$@")
if ((jobs == 1)); then
	for i in "${!progs[@]}"; do
		run_one "$i" "${progs[$i]}"
		count "$i" "${progs[$i]}"
	done
else
	declare -A running=() # pid -> index
	next=0
	while ((next < ${#progs[@]} || ${#running[@]} > 0)); do
		while ((next < ${#progs[@]} && ${#running[@]} < jobs)); do
			run_one "$next" "${progs[$next]}" >"$out/$next.log" 2>&1 &
			running[$!]=$next
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
fi
((failed > 0)) && echo "failed: ${failures[*]}"
echo "$kind: $passed passed, $failed failed, $skipped skipped"
((failed == 0))
