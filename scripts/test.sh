#!/usr/bin/env bash
# Installs the dependencies, builds eamclat and runs every test suite:
#   unit tests (Catch2), the same under ASan+UBSan, the pcap conformance cases, the daemon smoke
#   test on vdevs and the end-to-end tests in network namespaces.
# Each suite prints its own results; the last line is the total: "N passed, N failed".
# Environment: SKIP_DEPS=1 skips apt; SUITES="unit pcap" runs a subset; BUILD=dir changes build dir.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD:-build}
SUITES=${SUITES:-"configs unit sanitize pcap pktgen daemon operator e2e"}
LOGDIR=${LOGDIR:-$ROOT/$BUILD/test-logs}
total_pass=0
total_fail=0

note() { printf '\n=== %s ===\n' "$*"; }
count() {  # count SUITE PASSED FAILED
    printf '%s: %d passed, %d failed\n' "$1" "$2" "$3"
    total_pass=$((total_pass + $2))
    total_fail=$((total_fail + $3))
}
# Runs a suite script whose output ends with "N passed, N failed"; a crash or a missing summary
# counts as one failure.
run_counted() {  # run_counted NAME LOG CMD...
    local name=$1 log=$2; shift 2
    "$@" 2>&1 | tee "$log"
    local rc=${PIPESTATUS[0]}
    local line
    line=$(grep -E '^([A-Za-z0-9 _-]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -z "$line" ]; then
        echo "$name: no summary line (exit $rc)"
        count "$name" 0 1
        return
    fi
    local p f
    p=$(sed -E 's/^([A-Za-z0-9 _-]+: )?([0-9]+) passed.*/\2/' <<<"$line")
    f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    count "$name" "$p" "$f"
}
# meson test: one test per executable; parse its Ok/Fail summary.
run_meson_tests() {  # run_meson_tests NAME BUILDDIR LOG
    local name=$1 dir=$2 log=$3
    meson test -C "$dir" --suite unit --print-errorlogs --num-processes 2 2>&1 | tee "$log"
    local ok fail to
    ok=$(awk '/^Ok:/{print $2}' "$log" | tail -n1)
    fail=$(awk '/^Fail:/{print $2}' "$log" | tail -n1)
    to=$(awk '/^Timeout:/{print $2}' "$log" | tail -n1)
    count "$name" "${ok:-0}" "$(( ${fail:-1} + ${to:-0} ))"
}

if [ "${SKIP_DEPS:-0}" != 1 ]; then
    note "dependencies"
    bash scripts/setup-deps.sh || { echo "setup-deps failed"; echo "0 passed, 1 failed"; exit 1; }
fi

note "build ($BUILD)"
# The benchmark harness is not part of the tests (scripts/bench.sh builds it in its own tree).
if [ ! -d "$BUILD" ]; then meson setup "$BUILD" -Dbench=false >/dev/null || { echo "0 passed, 1 failed"; exit 1; }; fi
if ! ninja -C "$BUILD"; then
    echo "build failed"
    echo "0 passed, 1 failed"
    exit 1
fi
mkdir -p "$LOGDIR"

for suite in $SUITES; do
    case $suite in
    configs)
        note "shipped configurations validate"
        p=0 f=0
        for c in configs/clat.yaml configs/siit-box.yaml configs/bng.yaml; do
            if "$BUILD/control/eamclat" --check-config "$c"; then p=$((p + 1)); else f=$((f + 1)); fi
        done
        if "$BUILD/control/eamclat-pcap" --config configs/siit.yaml --check-config; then p=$((p + 1)); else f=$((f + 1)); fi
        count configs $p $f ;;
    unit)
        note "unit tests"
        run_meson_tests unit "$BUILD" "$LOGDIR/unit.log" ;;
    sanitize)
        note "unit tests under ASan+UBSan"
        if [ -x scripts/sanitize.sh ] || [ -f scripts/sanitize.sh ]; then
            run_counted sanitize "$LOGDIR/sanitize.log" bash scripts/sanitize.sh
        fi ;;
    pcap)
        note "pcap conformance cases"
        if [ -f tests/pcap/run.sh ]; then
            run_counted pcap "$LOGDIR/pcap.log" bash tests/pcap/run.sh "$ROOT/$BUILD/control/eamclat-pcap"
        fi ;;
    pktgen)
        note "pktgen-dpdk RFC 2544 script against a simulated DUT"
        run_counted pktgen "$LOGDIR/pktgen.log" bash tests/pktgen/run.sh ;;
    daemon)
        note "daemon smoke test on vdevs"
        if [ -f tests/daemon/smoke.sh ]; then
            run_counted daemon "$LOGDIR/daemon.log" bash tests/daemon/smoke.sh "$ROOT/$BUILD"
        fi ;;
    operator)
        note "operator table: publisher, HTTPS pull client, test CA"
        if [ -f tests/operator/run.sh ]; then
            run_counted operator "$LOGDIR/operator.log" bash tests/operator/run.sh "$ROOT/$BUILD"
        fi ;;
    e2e)
        note "end-to-end tests in network namespaces"
        if [ -f tests/e2e/run.sh ]; then
            EAMCLAT=$ROOT/$BUILD/control/eamclat run_counted e2e "$LOGDIR/e2e.log" bash tests/e2e/run.sh
        fi ;;
    *) echo "unknown suite $suite"; count "$suite" 0 1 ;;
    esac
done

echo
echo "${total_pass} passed, ${total_fail} failed"
[ "$total_fail" -eq 0 ]
