#!/usr/bin/env bash
# scripts/pktgen/rfc2544.lua (the RFC 2544 / RFC 8219 throughput search for pktgen-dpdk on real
# hardware) run under lua5.3 against mock_pktgen.lua's simulated DUT: the search must settle on the
# DUT's capacity within its resolution, in both directions, and write the CSV line. Ends with
# "N passed, N failed".
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SCRIPT=$HERE/../../scripts/pktgen/rfc2544.lua
LUA=$(command -v lua5.3 || command -v lua5.4 || command -v lua || true)
pass=0 fail=0
if [ -z "$LUA" ]; then echo "pktgen: no Lua interpreter (apt-get install lua5.3)"; echo "0 passed, 1 failed"; exit 1; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# check NAME DIRECTION CAPACITY RESOLUTION EXPECT_LOW EXPECT_HIGH
check() {
    local name=$1 dir=$2 cap=$3 res=$4 lo=$5 hi=$6
    local csv=$work/$name.csv send=0
    [ "$dir" = 6to4 ] && send=1
    local out
    out=$(cd "$work" && DIRECTION=$dir CAPACITY=$cap RESOLUTION=$res DURATION=2 PAUSE=0 PRIME=0 OUTPUT=$csv \
          EXPECT_SEND=$send "$LUA" -e "dofile('$HERE/mock_pktgen.lua')" "$SCRIPT" 2>&1)
    local rc=$?
    local line
    line=$(tail -n 1 "$csv" 2>/dev/null)
    local best
    best=$(cut -d, -f3 <<<"$line")
    if [ $rc -eq 0 ] && [ -n "$best" ] && awk -v b="$best" -v lo="$lo" -v hi="$hi" 'BEGIN { exit !(b >= lo && b <= hi) }' \
       && [ "$(cut -d, -f1 <<<"$line")" = "$dir" ]; then
        echo "ok   $name: $dir capacity $cap% -> zero-loss $best% (expected $lo..$hi)"
        pass=$((pass + 1))
    else
        echo "FAIL $name: $dir capacity $cap% -> '$line' (expected $lo..$hi), exit $rc"
        echo "$out" | tail -n 5
        fail=$((fail + 1))
    fi
}

check mid-4to6 4to6 37.3 0.1 37.2 37.3
check mid-6to4 6to4 62.5 0.1 62.4 62.5
check line-rate 4to6 100 0.1 100 100
check coarse 4to6 12 5 6.25 12
check none 4to6 0.01 0.1 0 0.01

echo "pktgen: $pass passed, $fail failed"
[ $fail -eq 0 ]
