#!/bin/bash
# build.sh - builds bin/grove-sim (the deterministic cluster simulator) from
# tests/sim/*.c against libgrove.a.  The Makefile does not know tests/sim;
# `make sim` can call this script (BUILD=build-asan SAN=1 for sanitizers).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SAN=${SAN:-}
OUT=${OUT:-bin/grove-sim}
make --no-print-directory GROVE_DEPS_OK=1 BUILD="$BUILD" SAN="$SAN" "$BUILD/libgrove.a" >/dev/null
CFLAGS="-std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O2 -g -I. $(pkg-config --cflags libsodium msgpack)"
LDSAN=""
if [ "$SAN" = 1 ]; then
	CFLAGS="$CFLAGS -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
	LDSAN="-fsanitize=address,undefined"
fi
mkdir -p "$(dirname "$OUT")"
# shellcheck disable=SC2086
${CC:-cc} $CFLAGS tests/sim/*.c "$BUILD/libgrove.a" $(pkg-config --libs libuv libsodium msgpack) \
	-lleveldb -lpthread -lm $LDSAN -o "$OUT"
echo "built $OUT"
