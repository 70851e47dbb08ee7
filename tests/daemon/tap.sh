#!/bin/bash
# Exception-path test of the eamclat daemon: pcap vdevs as in smoke.sh, plus the kernel TAPs
# (net_tap) carrying the box's addresses, in a private network namespace (unshare; needs root).
# The host's ARP request, ping and ping6 of the box go to the kernel through the punt ring and
# the TAP; the kernel's answers come back through the TAP and worker 0 to lan_out.pcap.
#   tests/daemon/tap.sh [path/to/eamclat]     (default: build/control/eamclat)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../../build}
[ -d "$bin" ] && bin=$bin/control/eamclat  # a build directory (scripts/test.sh) or the binary
py=/usr/bin/python3
[ "$(id -u)" -eq 0 ] || { echo "tap.sh: needs root (network namespace, TAP devices): SKIP"; exit 77; }
work=$(mktemp -d /tmp/eamclat-tap.XXXXXX)
pid=
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; fi
    rm -rf "$work"
}
trap cleanup EXIT

"$py" "$here/smoke.py" gen-tap "$work"
unshare --net -- "$bin" -l 0-1 --no-huge -m 1024 --no-pci --no-shconf --file-prefix "eamclat-tap-$$" --no-telemetry \
    --log-level 'lib.*:warning' \
    --vdev "net_pcap0,rx_pcap=$work/lan_in.pcap,tx_pcap=$work/lan_out.pcap" \
    --vdev "net_pcap1,rx_pcap=$work/wan_in.pcap,tx_pcap=$work/wan_out.pcap" \
    -- --config "$here/tap.yaml" >"$work/out.txt" 2>&1 &
pid=$!
sleep 3
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=
cat "$work/out.txt"
[ "$rc" -eq 0 ] || { echo "tap.sh: eamclat exited with $rc"; exit 1; }
"$py" "$here/smoke.py" check-tap "$work" && echo "tap.sh: PASS" || { echo "tap.sh: FAIL"; exit 1; }
