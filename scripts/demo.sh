#!/usr/bin/env bash
# eamclat demo: installs what is needed, builds, and runs the CLAT translator core offline on a
# sample capture of a home network (an IPv4-only TV talking to a dual-stack CDN reached over
# native IPv6 through an EAMT entry, and to an IPv4-only site through the operator's NAT64).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${SKIP_DEPS:-0}" = 1 ] || bash scripts/setup-deps.sh >/dev/null
[ -d build ] || meson setup build >/dev/null
ninja -C build control/eamclat-pcap >/dev/null

in=scripts/demo/sample-clat.pcap
out=$(mktemp --suffix=.pcap)
trap 'rm -f "$out"' EXIT
echo "== configuration (scripts/demo/clat-demo.yaml)"
grep -v '^#' scripts/demo/clat-demo.yaml
echo
echo "== what the CE receives ($in)"
tcpdump -nr "$in" 2>/dev/null
echo
echo "== eamclat-pcap"
build/control/eamclat-pcap --config scripts/demo/clat-demo.yaml "$in" "$out"
echo
echo "== what the CE sends ($out)"
tcpdump -nvr "$out" 2>/dev/null
