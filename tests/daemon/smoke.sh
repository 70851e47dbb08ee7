#!/bin/bash
# Smoke test of the eamclat daemon without a network: the LAN and WAN ports are net_pcap vdevs
# reading fixtures made by smoke.py (scapy) and writing what the worker transmits; the daemon runs
# ~2 s, gets SIGTERM, prints its counters; smoke.py checks every output packet.
#   tests/daemon/smoke.sh [path/to/eamclat]     (default: build/control/eamclat)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../../build/control/eamclat}
py=/usr/bin/python3   # the system Python has scapy
work=$(mktemp -d /tmp/eamclat-smoke.XXXXXX)
pid=
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
    rm -rf "$work"
}
trap cleanup EXIT

"$py" "$here/smoke.py" gen "$work"
"$bin" --check-config "$here/smoke.yaml"

"$bin" -l 0-1 --no-huge -m 1024 --no-pci --no-shconf --file-prefix "eamclat-smoke-$$" --no-telemetry \
    --log-level 'lib.*:warning' \
    --vdev "net_pcap0,rx_pcap=$work/lan_in.pcap,tx_pcap=$work/lan_out.pcap" \
    --vdev "net_pcap1,rx_pcap=$work/wan_in.pcap,tx_pcap=$work/wan_out.pcap" \
    -- --config "$here/smoke.yaml" >"$work/out.txt" 2>&1 &
pid=$!
sleep 2
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=
cat "$work/out.txt"
[ "$rc" -eq 0 ] || { echo "smoke: eamclat exited with $rc"; exit 1; }

# Every received frame ends in one counter.
counter() { awk -v n="$1" '$1 == n { print $2; found=1 } END { if (!found) print 0 }' "$work/out.txt"; }
fail=0
want() {
    local got; got=$(counter "$1")
    if [ "$got" = "$2" ]; then echo "ok   counter $1 = $2"; else echo "FAIL counter $1 = $got, want $2"; fail=1; fi
}
want translated_4to6 2
want translated_6to4 2
want icmp4_error_sent 1
want forwarded6_lan_to_wan 1
want forwarded6_wan_to_lan 1
want punted_own_address 1
want punted_arp 1
want drop_vlan 1
want drop_not_for_us 1
want drop_ipv4_on_wan 1
want drop_no_route 1
want drop_src_not_on_lan 1
want icmp6_time_exceeded_sent 1
want tx.dropped_off_link 1
grep -q "port lan (net_pcap0): rx 10" "$work/out.txt" || { echo "FAIL lan rx 10"; fail=1; }
grep -q "port wan (net_pcap1): rx 5" "$work/out.txt" || { echo "FAIL wan rx 5"; fail=1; }

"$py" "$here/smoke.py" check "$work" || fail=1
[ "$fail" -eq 0 ] && echo "smoke.sh: PASS" || { echo "smoke.sh: FAIL"; exit 1; }
