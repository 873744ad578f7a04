#!/bin/bash
# run.sh SECONDS TARGET... - build each libFuzzer target with clang
# (-fsanitize=fuzzer,address,undefined; the library rebuilt with coverage)
# and run it for SECONDS, starting from tests/fuzz/corpus/TARGET when present.
# Fuzz targets also link tests/util_keys.c (deterministic identities; the
# other tests/util_*.c need cmocka).  Prints the executions each target ran;
# exits 1 on the first crash.
set -euo pipefail
secs=$1
shift
out=build-fuzz
flags="-std=c11 -D_GNU_SOURCE -O1 -g -I. $(pkg-config --cflags libsodium msgpack libuv)"
san="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all"
libs="$(pkg-config --libs libsodium msgpack libuv) -lleveldb -lpthread -lm"
mkdir -p "$out/obj"
objs=()
# An object is rebuilt when its source or any header is newer: a struct
# changed in a header must not leave stale layouts in older objects.
newest_h=$(ls -t crdt/*.h storage/*.h gossip/*.h node/*.h tests/*.h 2>/dev/null | head -1)
for src in crdt/*.c storage/*.c gossip/*.c node/*.c tests/util_keys.c; do
	[[ -e $src && $src != *_main.c ]] || continue
	obj="$out/obj/${src//\//_}.o"
	if [[ ! -e $obj || $src -nt $obj || $newest_h -nt $obj ]]; then
		clang $flags $san -c "$src" -o "$obj"
	fi
	objs+=("$obj")
done
for t in "$@"; do
	clang $flags -fsanitize=fuzzer,address,undefined "tests/fuzz/$t.c" "${objs[@]}" $libs -o "$out/$t"
	corpus="tests/fuzz/corpus-run/$t"
	mkdir -p "$corpus"
	seeds=()
	[[ -d tests/fuzz/corpus/$t ]] && seeds+=("tests/fuzz/corpus/$t")
	echo "== fuzz $t for ${secs}s"
	"$out/$t" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$out/$t-" "$corpus" "${seeds[@]}" 2>"$out/$t.log" || {
		tail -40 "$out/$t.log"
		echo "fuzz: $t crashed (log: $out/$t.log, input: $out/$t-crash-*)"
		exit 1
	}
	grep -E 'stat::number_of_executed_units' "$out/$t.log" | sed "s/^/$t: /"
done
