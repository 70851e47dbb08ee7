#!/bin/bash
# Runs every packet-level conformance case through eamclat-pcap and compares the output with the
# case's expected.pcap (tests/pcap/compare.py). Usage:
#   tests/pcap/run.sh [path/to/eamclat-pcap] [case-name-substring]
# Prints PASS/FAIL per case and "N passed, N failed"; exits non-zero on any failure.
set -u
here="$(cd "$(dirname "$0")" && pwd)"
bin="${1:-build/control/eamclat-pcap}"
filter="${2:-}"
python="${PYTHON:-/usr/bin/python3}"   # Debian's python3 has python3-scapy

if [ ! -x "$bin" ]; then
    echo "eamclat-pcap not found or not executable: $bin" >&2
    echo "0 passed, 1 failed"
    exit 2
fi
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

passed=0
failed=0
for dir in "$here"/cases/*/; do
    name="$(basename "$dir")"
    [ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && continue
    out="$work/$name.pcap"
    log="$work/$name.log"
    timeout 60 "$bin" --config "$dir/config.yaml" "$dir/in.pcap" "$out" >"$log" 2>&1
    rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "FAIL $name: eamclat-pcap exited with status $rc: $(tail -n 3 "$log" | tr '\n' ' ')"
        failed=$((failed + 1))
        continue
    fi
    if diff_out="$("$python" "$here/compare.py" "$dir/expected.pcap" "$out" "$dir/case.txt" 2>&1)"; then
        echo "PASS $name"
        passed=$((passed + 1))
    else
        echo "FAIL $name: $(head -n 1 <<<"$diff_out")"
        echo "  case: $(head -n 1 "$dir/case.txt")"
        tail -n +2 <<<"$diff_out" | head -n 40
        failed=$((failed + 1))
    fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
