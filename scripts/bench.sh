#!/usr/bin/env bash
# Benchmarks eamclat against dpdk-testpmd on the same vdevs, pcaps and EAL arguments, plus the
# tables' memory and the DNS proxy (dnsperf against unbound, directly and through the proxy);
# prints the table and writes docs/PERFORMANCE.md. Method and caveats: docs/BENCHMARKING.md.
#
#   scripts/bench.sh            full run (~10 minutes)
#   scripts/bench.sh --quick    smoke run (about 4 minutes): 4 cases, short windows and peer trials
# Other options are passed to scripts/bench/bench.py (--no-dns, --json FILE, --output FILE,
# --work DIR to keep the pcaps and logs). BUILD=dir changes the build directory (build-bench).
#
# Needs root (DPDK EAL without hugepages still locks memory), dpdk-testpmd (package dpdk),
# dnsperf and unbound. Run it on an otherwise idle machine: the report records the load average.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-bench}

for tool in meson ninja dpdk-testpmd stdbuf; do
    command -v "$tool" >/dev/null || { echo "bench.sh: $tool not found" >&2; exit 1; }
done
# Release with link-time optimization, as a deployment should build (LTO inlines the translator's
# helpers across files: about 6% fewer cycles per packet 4->6 and 15% 6->4 on this kind of machine).
if [ ! -d "$BUILD" ]; then
    meson setup "$BUILD" --buildtype=release -Db_lto=true -Dtests=true -Dbench=true >/dev/null
else
    meson configure "$BUILD" --buildtype=release -Db_lto=true -Dtests=true -Dbench=true >/dev/null
fi
ninja -C "$BUILD" -j2 tests/bench/eamclat-bench tests/bench/eamclat-dns-bench >/dev/null

exec /usr/bin/python3 scripts/bench/bench.py --build-dir "$BUILD" "$@"
