#!/usr/bin/env bash
# Writes the pcaps pktgen-dpdk replays in the RFC 2544 / RFC 8219 throughput test, one pair per
# frame size, with the address plan of scripts/bench/make_pcap.py (the software benchmark's):
#   OUT/4to6_<size>.pcap   IPv4 UDP frames of <size> bytes (FCS included) from the LAN hosts
#   OUT/6to4_<size>.pcap   IPv6 UDP frames of <size>+20 bytes toward the LAN hosts
# Usage: make_pcaps.sh OUT_DIR [EAMT_ENTRIES] [FLOWS] [PACKETS]
#   EAMT_ENTRIES  entries in the DUT's table (make_dut_config.py --eamt), default 10000
#   FLOWS         0: every packet picks a random entry; N: packets belong to N flows, default 0
#   PACKETS       distinct packets per pcap (pktgen loops over them), default 4096
# Sizes: RFC 2544 §9.1 (64 128 256 512 1024 1280 1518). The 6->4 frames are 20 bytes longer: the
# 1518 case needs an IPv6 MTU of 1520 on the tester-DUT WAN link, else it is skipped here.
set -euo pipefail
OUT=${1:?usage: make_pcaps.sh OUT_DIR [EAMT_ENTRIES] [FLOWS] [PACKETS]}
EAMT=${2:-10000}
FLOWS=${3:-0}
PACKETS=${4:-4096}
GEN="$(dirname "$0")/../bench/make_pcap.py"
mkdir -p "$OUT"
for size in 64 128 256 512 1024 1280 1518; do
    /usr/bin/python3 "$GEN" --kind udp64 --direction 4to6 --frame-size "$size" --eamt "$EAMT" --flows "$FLOWS" \
        --packets "$PACKETS" -o "$OUT/4to6_$size.pcap"
    if [ "$size" -le 1498 ] || [ "${WAN_MTU:-1500}" -ge 1520 ]; then
        /usr/bin/python3 "$GEN" --kind udp64 --direction 6to4 --frame-size "$size" --eamt "$EAMT" --flows "$FLOWS" \
            --packets "$PACKETS" -o "$OUT/6to4_$size.pcap"
    fi
done
ls -l "$OUT"
