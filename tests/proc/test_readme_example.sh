#!/bin/bash
# test_readme_example.sh - the embedded-API example in README.md compiles
# against build/libgrove.a exactly as printed, and prints "8 8" (the seed's
# two-store counter example: 5 on node-a, 3 on node-b, one sync).
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
awk '/^```c$/ {on = 1; next} /^```$/ && on {exit} on' README.md >"$work/example.c"
grep -q grove_syncer_sync "$work/example.c" || { echo "README example not found"; exit 1; }
cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Iinclude "$work/example.c" -o "$work/example" \
	build/libgrove.a -lleveldb $(pkg-config --libs libsodium msgpack) -lpthread
out=$(cd "$work" && ./example)
echo "example printed: $out"
[[ $out == "8 8" ]]
