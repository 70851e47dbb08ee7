#!/usr/bin/env bash
# Builds the libFuzzer targets (build-fuzz/, clang), seeds their corpora from the property and
# malformed-input tests, and runs each target for SECONDS_EACH seconds (default 60).
#   tests/fuzz/run.sh            # both targets, 60 s each
#   SECONDS_EACH=600 tests/fuzz/run.sh fuzz_6to4
# Corpora and crash artifacts stay in build-fuzz/fuzz-work/ (corpus-4to6/, corpus-6to4/, artifacts/).
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_EACH=${SECONDS_EACH:-60}
BUILD=${BUILD:-build-fuzz}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_4to6 fuzz_6to4)

if [ ! -d "$BUILD" ]; then
  CC=clang CXX=clang++ meson setup "$BUILD" -Dfuzz=true
fi
ninja -C "$BUILD" -j2 $(printf 'tests/fuzz/%s ' "${targets[@]}")

work="$BUILD/fuzz-work"
mkdir -p "$work/artifacts"
if [ ! -d "$work/seeds" ]; then
  # The seeds: random valid packets of the property test and the samples of the malformed test,
  # written by the plain (gcc) unit tests.
  [ -d build-seeds ] || meson setup build-seeds >/dev/null
  ninja -C build-seeds -j2 tests/unit/ut_property tests/unit/ut_malformed
  EAMCLAT_PROP_CORPUS="$work/seeds" EAMCLAT_PROP_N=150 build-seeds/tests/unit/ut_property >/dev/null
  EAMCLAT_PROP_CORPUS="$work/seeds" build-seeds/tests/unit/ut_malformed 'malformed: every*' >/dev/null || true
fi

status=0
for t in "${targets[@]}"; do
  dir=${t#fuzz_}
  mkdir -p "$work/corpus-$dir"
  echo "fuzz: $t for $SECONDS_EACH s"
  if ! "$BUILD/tests/fuzz/$t" -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
      -artifact_prefix="$work/artifacts/$t-" "$work/corpus-$dir" "$work/seeds/$dir" 2>"$work/$t.log"; then
    status=1
    echo "fuzz: $t FAILED, see $work/$t.log and $work/artifacts/"
    grep -A20 '^fuzz: \|ERROR: ' "$work/$t.log" | head -40
  else
    grep -E '^#[0-9]+ +DONE|stat::number_of_executed_units' "$work/$t.log" || true
  fi
done
exit $status
