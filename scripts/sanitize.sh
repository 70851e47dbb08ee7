#!/usr/bin/env bash
# Builds the unit tests with AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/) and runs
# every one of them; exits non-zero if any build or test fails.
#
#   scripts/sanitize.sh              # all unit tests
#   scripts/sanitize.sh malformed property   # only ut_malformed and ut_property
#
# -Db_lundef=false: with -fsanitize the sanitizer runtimes resolve symbols at load time, which
# meson's default -Wl,--no-undefined would refuse.
# DPDK runs as in the plain tests (EAL with --no-huge, see tests/unit/main.cpp); DPDK's own
# libraries are not instrumented, so ASan sees the translator's accesses to mbuf data but cannot
# tell where a mempool element ends: reads past pkt_len are caught by the tests' own rules
# (pull_up / rte_pktmbuf_read bounds), reads past the malloc'ed test buffers by ASan.
# detect_leaks=0: the EAL keeps allocations until exit by design (LeakSanitizer would report them);
# mbuf leaks are checked by the tests themselves (pool_in_use()).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-asan}
JOBS=${JOBS:-2}

if [ ! -d "$BUILD" ]; then
  meson setup "$BUILD" -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debugoptimized
fi

# The unit test executables, from meson's own list (tests/unit/meson.build).
mapfile -t all < <(meson introspect --tests "$BUILD" | python3 -c '
import json, sys
for t in json.load(sys.stdin):
    if "unit" in t.get("suite", []) or any(s.endswith(":unit") for s in t.get("suite", [])):
        print(t["name"] + " " + t["cmd"][0])')

want=("$@")
names=(); exes=()
for line in "${all[@]}"; do
  name=${line%% *}; exe=${line#* }
  if [ ${#want[@]} -gt 0 ]; then
    keep=0
    for w in "${want[@]}"; do [ "$w" = "$name" ] && keep=1; done
    [ $keep = 1 ] || continue
  fi
  names+=("$name"); exes+=("$exe")
done
if [ ${#names[@]} -eq 0 ]; then
  echo "sanitize: no unit test matches: ${want[*]}" >&2
  exit 2
fi

targets=()
for exe in "${exes[@]}"; do targets+=("${exe#$(pwd)/$BUILD/}"); done
ninja -C "$BUILD" -j"$JOBS" "${targets[@]}"

export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
passed=0; failed=0; failures=()
for i in "${!names[@]}"; do
  name=${names[$i]}; exe=${exes[$i]}
  log="$BUILD/sanitize-${name}.log"
  printf 'sanitize: %-16s ' "$name"
  start=$SECONDS
  if "$exe" >"$log" 2>&1; then
    passed=$((passed + 1)); echo "ok ($((SECONDS - start)) s)"
  else
    failed=$((failed + 1)); failures+=("$name"); echo "FAILED ($((SECONDS - start)) s), see $log"
    tail -n 30 "$log" | sed 's/^/    /'
  fi
done
echo "sanitize: ${failures[*]:+failed: ${failures[*]}}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
