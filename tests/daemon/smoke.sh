#!/bin/bash
# Smoke test of the eamclat daemon without a network: the LAN and WAN ports are net_pcap vdevs
# reading fixtures made by smoke.py (scapy) and writing what the worker transmits; the daemon runs
# ~2 s, gets SIGTERM, prints its counters; smoke.py checks every output packet.
# Then, as root, tap.sh (the exception path through kernel TAPs). Ends with "N passed, N failed"
# (every "ok"/"FAIL" line of both).
#   tests/daemon/smoke.sh [BUILD_DIR | path/to/eamclat]     (default: build)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../../build}
[ -d "$bin" ] && bin=$bin/control/eamclat  # a build directory (scripts/test.sh) or the binary
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
if [ "$rc" -ne 0 ]; then echo "smoke: eamclat exited with $rc"; echo "daemon smoke: 0 passed, 1 failed"; exit 1; fi

# Results go to $work/results.txt as "ok ..." / "FAIL ..." lines, counted at the end.
results=$work/results.txt
: >"$results"
check() {  # check DESCRIPTION COMMAND...
    local what=$1; shift
    if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fi | tee -a "$results"
}
# Every received frame ends in one counter.
counter() { awk -v n="$1" '$1 == n { print $2; found=1 } END { if (!found) print 0 }' "$work/out.txt"; }
want() { check "counter $1 = $2 (got $(counter "$1"))" test "$(counter "$1")" = "$2"; }
want translated_4to6 2
want translated_6to4 2
want icmp4_error_sent 1
want forwarded6_lan_to_wan 1
want forwarded6_wan_to_lan 1
want icmp6_time_exceeded_sent 1
want punted_own_address 1
want punted_arp 1
want drop_vlan 1
want drop_not_for_us 1
want drop_ipv4_on_wan 1
want drop_no_route 1
want drop_src_not_on_lan 1
want tx.dropped_off_link 1
check "lan rx 10" grep -q "port lan (net_pcap0): rx 10" "$work/out.txt"
check "wan rx 5" grep -q "port wan (net_pcap1): rx 5" "$work/out.txt"

"$py" "$here/smoke.py" check "$work" | tee -a "$results" || echo "FAIL smoke.py check exited non-zero" >>"$results"
if [ "$(id -u)" -eq 0 ]; then
    bash "$here/tap.sh" "$bin" | tee -a "$results" || echo "FAIL tap.sh exited non-zero" >>"$results"
fi
passed=$(grep -c '^ok ' "$results" || true)
failed=$(grep -c '^FAIL' "$results" || true)
echo "daemon smoke: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
