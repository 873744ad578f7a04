#!/bin/bash
# run.sh SECONDS TARGET... - run each libFuzzer target built by `make fuzz`
# (build-fuzz/fuzz/TARGET) for SECONDS, starting from tests/fuzz/corpus/TARGET
# when present.  Prints the executions each target ran; exits 1 on the first
# crash, leaving its input in build-fuzz/.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=$1
shift
out=build-fuzz
for t in "$@"; do
	[[ -x $out/fuzz/$t ]] || { echo "fuzz: $out/fuzz/$t is not built (make fuzz)" >&2; exit 1; }
	corpus="tests/fuzz/corpus-run/$t"
	mkdir -p "$corpus"
	seeds=()
	[[ -d tests/fuzz/corpus/$t ]] && seeds+=("tests/fuzz/corpus/$t")
	echo "== fuzz $t for ${secs}s"
	"$out/fuzz/$t" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$out/$t-" "$corpus" "${seeds[@]}" 2>"$out/$t.log" || {
		tail -40 "$out/$t.log"
		echo "fuzz: $t crashed (log: $out/$t.log, input: $out/$t-crash-*)"
		exit 1
	}
	grep -E 'stat::number_of_executed_units' "$out/$t.log" | sed "s/^/$t: /"
done
