#!/usr/bin/env bash
# eamclat demo: a home network in network namespaces with eamclat as the CE's CLAT.
#
#   TV (IPv4-only, 192.168.1.100) -- eamclat CE -- operator (DNS64 unbound, NAT64 TAYGA) -- servers
#
# The TV looks up a dual-stack CDN name through the CE's DNS proxy; eamclat learns an EAMT entry
# (draft-ietf-v6ops-464xlat-optimization §5.2) and the TV's download reaches the CDN over native
# IPv6, while an IPv4-only site is still reached through the operator's NAT64. Everything is torn
# down at the end (also on ^C).
#
#   scripts/demo.sh            the demo network (root, Debian 12)
#   scripts/demo.sh --offline  the translator core alone: a sample capture through eamclat-pcap
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
[ "${SKIP_DEPS:-0}" = 1 ] || bash scripts/setup-deps.sh >/dev/null
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build control/eamclat control/eamclat-ctl control/eamclat-pcap >/dev/null

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

if [ "${1:-}" = --offline ]; then
    in=scripts/demo/sample-clat.pcap
    out=$(mktemp --suffix=.pcap)
    trap 'rm -f "$out"' EXIT
    say "configuration (scripts/demo/clat-demo.yaml)"
    grep -v '^#' scripts/demo/clat-demo.yaml
    say "what the CE receives ($in)"
    tcpdump -nr "$in" 2>/dev/null
    say "eamclat-pcap"
    build/control/eamclat-pcap --config scripts/demo/clat-demo.yaml "$in" "$out"
    say "what the CE sends"
    tcpdump -nvr "$out" 2>/dev/null
    exit 0
fi

ECL_ID=demo$$
source tests/e2e/lib/net.sh
ecl_init
say "building the network: TV, CE, operator (unbound DNS64 + TAYGA NAT64), a dual-stack CDN, an IPv4-only site"
ecl_build_isp
ecl_build_ce_bare
cfg=$ECL_RUN/eamclat.yaml
mkdir -p "$ECL_RUN/state"
cat >"$cfg" <<EOF
mode: clat
clat-prefix: $CLAT_PREFIX
plat-prefix: $PLAT_PREFIX
rfc6791v4-prefix: 192.0.0.8/32
ports:
  lan: { device: net_af_packet0, tap: eamclat-lan, ipv4-address: $CE_LAN4/24, ipv6-address: "$CE_LAN6/64" }
  wan: { device: net_af_packet1, tap: eamclat-wan, ipv6-address: "$CE_WAN6/64", ipv6-gateway: "$ISP_CE6" }
delegated-prefix: $DELEGATED
workers: 1
dns:
  upstream: ["$RESOLVER6"]
control:
  socket: $ECL_RUN/eamclat.sock
  state-dir: $ECL_RUN/state
EOF
say "the CE's configuration"
cat "$cfg"
ecl_start eamclat "$NS_CE" "$ROOT/build/control/eamclat" --no-huge -m 1024 --no-pci --no-shconf \
    --file-prefix "ecl-$ECL_ID" -l 0,1 --vdev net_af_packet0,iface=ce-lan --vdev net_af_packet1,iface=ce-wan \
    -- --config "$cfg"
ecl_wait 45 "eamclat forwarding" nsx "$NS_HOST4" ping -c1 -W1 "$SRV4_ADDR" >/dev/null
ctl() { nsx "$NS_CE" "$ROOT/build/control/eamclat-ctl" -s "$ECL_RUN/eamclat.sock" -c "$*"; }
tv() { nsx "$NS_HOST4" "$@"; }

say "the TV asks the CE's DNS proxy for the CDN (dsl.test has A and a native AAAA)"
tv dig +noall +answer @"$CE_LAN4" A dsl.test
say "eamclat learned an EAMT entry for the TV, before the answer left (show eamt)"
ctl show eamt learned
say "the TV downloads from the CDN: the CDN sees the TV's CLAT address, native IPv6, no NAT64"
tv curl -sS -o /dev/null -w 'downloaded %{size_download} bytes\n' "http://203.0.113.21/big.bin?tv-cdn"
grep 'tv-cdn' "$ECL_RUN/nginx-srvds/access.log" | awk '{print "  CDN log: client " $1}'
say "an IPv4-only site (v4only.test: the AAAA is synthesized by DNS64, so nothing is learned)"
tv dig +short @"$CE_LAN4" A v4only.test
tv curl -sS -o /dev/null "http://$SRV4_ADDR/index.html?tv-v4only"
grep 'tv-v4only' "$ECL_RUN/nginx-srv4/access.log" | awk '{print "  site log: client " $1 " (the NAT64)"}'
say "the CE's counters (show xlat stats) and DNS learner (show dns stats)"
ctl show xlat stats
ctl show dns stats
say "flows pinned to their path (show flows)"
ctl show flows
say "done: tearing the network down"
