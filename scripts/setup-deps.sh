#!/usr/bin/env bash
# Installs everything eamclat needs to build and test, from Debian 12 packages only.
# Idempotent and non-interactive; safe to run again.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

BUILD_PKGS=(
  build-essential pkg-config meson ninja-build
  dpdk dpdk-dev libc-ares-dev libfmt-dev libyaml-cpp-dev catch2
  libcurl4-openssl-dev libssl-dev libpcap-dev libnuma-dev libbsd-dev
)
TEST_PKGS=(
  python3 python3-scapy python3-yaml tcpdump
  iproute2 iputils-ping traceroute procps psmisc
  unbound dnsutils dnsperf nginx-light tayga curl openssl
  clang libclang-rt-14-dev  # libFuzzer targets (tests/fuzz, -Dfuzz=true)
  lua5.3  # tests/pktgen: the pktgen-dpdk script against a simulated DUT
)

want=()
for p in "${BUILD_PKGS[@]}" "${TEST_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || want+=("$p")
done
if [ ${#want[@]} -eq 0 ]; then
  echo "setup-deps: all packages present"
  exit 0
fi
echo "setup-deps: installing ${want[*]}"
# Installing unbound/nginx/tayga must not start their system services: tests start their own instances.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; created_policy=1
fi
trap '[ $created_policy = 1 ] && rm -f "$policy"' EXIT
apt-get update -qq || apt-get update
apt-get install -y -qq --no-install-recommends "${want[@]}"
echo "setup-deps: done"
