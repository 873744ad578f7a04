#!/bin/bash
# grove-test: alone (see tests/run_tests.sh)
# test_install.sh - `make install` into a staging DESTDIR with a PREFIX, then
# use only what it installed:
#   1. every file is where it should be; libgrove.so.0 is the soname;
#   2. the README's embedded example compiles with nothing but
#      `pkg-config --cflags --libs grove` (shared libgrove) and prints "8 8";
#      again with `pkg-config --static --libs grove` against libgrove.a
#      (so Libs.private / Requires.private are complete);
#   3. both man pages render without groff warnings; every flag in
#      `groved --help` is in groved(8), every command in `grove --help` in
#      grove(1);
#   4. the systemd unit is installed with the installed groved's path, and
#      `systemd-analyze verify` accepts it (run on a copy that points at
#      the staged binary: the staged tree is not at PREFIX; --man=no: the
#      man page is staged, not where man looks);
#   5. `make uninstall` with the same DESTDIR and PREFIX leaves no file.
# The staged tree is read through PKG_CONFIG_SYSROOT_DIR=DESTDIR, as a
# cross or package build would.  Needs no root, ports or network.
set -euo pipefail
cd "$(dirname "$0")/../.."
src=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest=$work/stage
prefix=/opt/grove-test
root=$dest$prefix
fail() { echo "FAIL: $*" >&2; exit 1; }
# Run make on its own (not as part of the make that runs this test).
mk() { env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s --no-print-directory GROVE_DEPS_OK=1 \
	DESTDIR="$dest" PREFIX="$prefix" "$@"; }

mk install >"$work/install.log" 2>&1 || { cat "$work/install.log"; fail "make install"; }

# 1. The files.
version=$(sed -n 's/^#define GROVE_VERSION "\(.*\)"/\1/p' node/daemon.h)
[[ -n $version ]] || fail "no GROVE_VERSION in node/daemon.h"
expect=(bin/groved bin/grove lib/libgrove.a "lib/libgrove.so.$version" lib/pkgconfig/grove.pc
	share/man/man8/groved.8 share/man/man1/grove.1 lib/systemd/system/groved.service)
for h in include/grove/*.h; do expect+=("$h"); done
for f in "${expect[@]}"; do
	[[ -f $root/$f && ! -L $root/$f ]] || fail "not installed: $prefix/$f"
done
[[ $(readlink "$root/lib/libgrove.so.0") == "libgrove.so.$version" ]] || fail "libgrove.so.0 link"
[[ $(readlink "$root/lib/libgrove.so") == libgrove.so.0 ]] || fail "libgrove.so link"
readelf -d "$root/lib/libgrove.so.$version" | grep -q 'SONAME.*\[libgrove\.so\.0\]' ||
	fail "soname is not libgrove.so.0"
"$root/bin/groved" --version | grep -qx "groved $version" || fail "installed groved --version"
echo "installed $(find "$dest" -type f | wc -l) files and 2 links under DESTDIR$prefix"

# 2. The README example, built outside the source tree from the staged files.
awk '/^```c$/ {on = 1; next} /^```$/ && on {exit} on' README.md >"$work/example.c"
grep -q grove_syncer_sync "$work/example.c" || fail "README example not found"
export PKG_CONFIG_PATH=$root/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest
pkg-config --exists grove || fail "pkg-config does not find grove"
[[ $(pkg-config --modversion grove) == "$version" ]] || fail "grove.pc version"
cd "$work"
cflags=$(pkg-config --cflags grove)
[[ $cflags == *"-I$root/include"* ]] || fail "cflags '$cflags' lack $root/include"
# shared: pkg-config alone
cc -std=c11 -Wall -Wextra -Werror example.c -o example_shared $(pkg-config --cflags --libs grove)
readelf -d example_shared | grep -q 'NEEDED.*\[libgrove\.so\.0\]' || fail "example_shared not linked to libgrove.so.0"
out=$(LD_LIBRARY_PATH=$root/lib ./example_shared)
echo "shared example printed: $out"
[[ $out == "8 8" ]] || fail "shared example printed '$out'"
# static: the same flags with libgrove.a chosen over the .so beside it
libs=$(pkg-config --static --libs grove)
cc -std=c11 -Wall -Wextra -Werror example.c -o example_static $cflags ${libs//-lgrove/-l:libgrove.a}
if readelf -d example_static | grep -q 'NEEDED.*libgrove'; then fail "example_static needs libgrove.so"; fi
rm -rf data-a data-b
out=$(./example_static)
echo "static example printed: $out"
[[ $out == "8 8" ]] || fail "static example printed '$out'"
cd "$src"

# 3. The man pages.
render() { # PAGE -> plain text; groff warnings fail the test
	local warn
	warn=$(groff -man -Tascii -ww -z "$1" 2>&1) || fail "groff failed on $1"
	[[ -z $warn ]] || fail "groff warnings on $1: $warn"
	MANWIDTH=100 man -l "$1" 2>/dev/null | col -b
}
render "$root/share/man/man8/groved.8" >"$work/groved.txt"
render "$root/share/man/man1/grove.1" >"$work/grove.txt"
grep -q '^NAME' "$work/groved.txt" && grep -q '^OPTIONS' "$work/groved.txt" || fail "groved.8 did not render"
grep -q '^NAME' "$work/grove.txt" && grep -q '^COMMANDS' "$work/grove.txt" || fail "grove.1 did not render"
flags=$(bin/groved --help | sed -n 's/^  \(--[a-z][a-z-]*\).*/\1/p')
nflags=$(wc -w <<<"$flags")
((nflags >= 20)) || fail "only $nflags flags parsed from groved --help"
for f in $flags; do
	grep -qE -- "^ *$f( |$)" "$work/groved.txt" || fail "groved.8 lacks $f"
done
cmds=$(bin/grove --help | sed -n '/^commands:/,/^$/s/^  \([a-z]*\) .*/\1/p')
ncmds=$(wc -w <<<"$cmds")
((ncmds >= 10)) || fail "only $ncmds commands parsed from grove --help"
for c in $cmds; do
	grep -qE "^ *$c( |$)" "$work/grove.txt" || fail "grove.1 lacks $c"
done
echo "man pages: all $nflags flags of groved --help in groved(8), all $ncmds commands of grove --help in grove(1)"

# 4. The systemd unit.
unit=$root/lib/systemd/system/groved.service
grep -qx "ExecStart=$prefix/bin/groved --config /etc/grove/groved.conf --data /var/lib/grove" "$unit" ||
	fail "unit ExecStart: $(grep ExecStart= "$unit")"
grep -qx 'Type=notify' "$unit" || fail "unit is not Type=notify"
command -v systemd-analyze >/dev/null || fail "systemd-analyze missing (make deps installs systemd)"
mkdir -p "$work/unit"
sed "s|$prefix/bin/groved|$root/bin/groved|g" "$unit" >"$work/unit/groved.service"
verify=$(systemd-analyze verify --man=no "$work/unit/groved.service" 2>&1) || fail "systemd-analyze verify: $verify"
[[ -z $verify ]] || fail "systemd-analyze verify warns: $verify"
echo "unit: installed, Type=notify, systemd-analyze verify: no warning"

# 5. Uninstall.
mk uninstall >"$work/uninstall.log" 2>&1 || { cat "$work/uninstall.log"; fail "make uninstall"; }
left=$(find "$dest" -type f -o -type l)
[[ -z $left ]] || fail "left after uninstall: $left"
echo "uninstall: no file left"
