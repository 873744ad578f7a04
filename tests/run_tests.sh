#!/bin/bash
# run_tests.sh KIND PROGRAM... - run each test program, show its output,
# and end with one line "KIND: N passed, N failed".  Exit 1 if any failed.
# Programs ending in .sh run under bash.  A program that exits 77 is skipped.
kind=$1
shift
passed=0 failed=0 skipped=0 failures=()
for t in "$@"; do
	echo "== $t"
	start=$(date +%s)
	if [[ $t == *.sh ]]; then bash "$t"; else "$t"; fi
	rc=$?
	echo "== $t: exit $rc in $(($(date +%s) - start)) s"
	if ((rc == 0)); then
		passed=$((passed + 1))
	elif ((rc == 77)); then
		skipped=$((skipped + 1))
	else
		failed=$((failed + 1))
		failures+=("$t")
	fi
done
((failed > 0)) && echo "failed: ${failures[*]}"
echo "$kind: $passed passed, $failed failed, $skipped skipped"
((failed == 0))
