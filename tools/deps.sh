#!/bin/bash
# deps.sh - install the Debian packages Grove needs, when any is missing.
# Build: libuv1-dev libsodium-dev libmsgpack-dev libleveldb-dev libcmocka-dev
# pkg-config.  Tests, fuzzing and benchmarks: clang and its sanitizer/fuzzer
# runtime, redis-tools (redis-cli, redis-benchmark), redis-server, hiredis,
# nftables, iproute2, python3-redis (client snippets and the RESP tests),
# tcpdump (the wire capture test), libssl-dev and openssl (client TLS),
# node and npm (the ioredis test installs ioredis from npm itself).
# Monitoring: libmicrohttpd-dev (the --metrics HTTP port), prometheus
# (promtool checks /metrics), chromium (the status page test, headless),
# curl; systemd (systemd-analyze verifies the unit file).
set -euo pipefail
pkgs=(libuv1-dev libsodium-dev libmsgpack-dev libleveldb-dev libcmocka-dev
      pkg-config clang libclang-rt-14-dev redis-tools redis-server
      libhiredis-dev nftables iproute2 python3-redis tcpdump libssl-dev openssl
      libmicrohttpd-dev prometheus chromium curl systemd)
missing=()
for p in "${pkgs[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[[ "$status" == "install ok installed" ]] || missing+=("$p")
done
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
((${#missing[@]} == 0)) && exit 0
echo "deps: installing ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
	echo "deps: missing packages and not root; run as root: apt-get install ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
