#!/usr/bin/env bash
# Operator-table integration test (draft §5.3): the publisher side and its agreement with the CE.
#   1. eamclat-publish check gives, for every shared fixture, the result the CE's parser gives
#      (tests/operator/fixtures/expected.txt; ut_operator_table checks the CE side of the same file)
#   2. keygen / build --csv / sign / check --pubkey, and refusals of tampered or wrongly signed tables
#   3. build --names against a local unbound (A/AAAA pairs, CNAME TTLs, synthesized AAAA skipped)
#   4. the HTTPS test server (test CA made here) serves the table and its signature to curl
#   5. the CE side: ut_pull_client (pulls from the same server script) when BUILD has it
# Last line: "N passed, N failed". Usage: tests/operator/run.sh [BUILD_DIR]
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${1:-${BUILD:-build}}
PUBLISH=$ROOT/scripts/eamclat-publish
FIX=$ROOT/tests/operator/fixtures
work=$(mktemp -d /tmp/operator-test.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
pass=0
fail=0
ok() { echo "ok   $*"; pass=$((pass + 1)); }
ko() { echo "FAIL $*"; fail=$((fail + 1)); }
expect() {  # expect DESCRIPTION CMD... : the command must succeed
    local d=$1; shift
    if "$@" >"$work/out" 2>&1; then ok "$d"; else ko "$d: $(tail -n 3 "$work/out")"; fi
}
refuse() {  # refuse DESCRIPTION CMD... : the command must fail
    local d=$1; shift
    if "$@" >"$work/out" 2>&1; then ko "$d (accepted)"; else ok "$d"; fi
}

echo "--- 1. fixtures: eamclat-publish check agrees with expected.txt (the CE's results)"
while read -r file kind line; do
    [[ -z $file || $file == \#* ]] && continue
    out=$("$PUBLISH" check "$FIX/$file")
    if [ "$kind" = ok ]; then
        [[ $out == OK* ]] && ok "$file accepted" || ko "$file: $out"
    else
        [[ $out == "REFUSED ($kind): line $line:"* ]] && ok "$file refused ($kind, line $line)" || ko "$file: expected $kind at line $line, got: $out"
    fi
done <"$FIX/expected.txt"

echo "--- 2. keygen, build --csv, sign, check"
expect "keygen" "$PUBLISH" keygen --out "$work/op"
expect "keygen of a second key" "$PUBLISH" keygen --out "$work/other"
refuse "keygen does not overwrite" "$PUBLISH" keygen --out "$work/op"
[ "$(stat -c %a "$work/op.key")" = 600 ] && ok "private key is mode 600" || ko "private key mode $(stat -c %a "$work/op.key")"
cat >"$work/entries.csv" <<'EOF'
# ipv4,ipv6|do-not-optimise,ttl,name
198.51.100.0/24,2001:db8:30::/120,600,cdn-a
203.0.113.7,2001:db8:31::7,,
192.0.2.0/25,do-not-optimise,60,bank
EOF
expect "build --csv" "$PUBLISH" build --csv "$work/entries.csv" --serial 100 --default-ttl 900 -o "$work/table.json"
expect "sign" "$PUBLISH" sign --key "$work/op.key" "$work/table.json"
[ "$(base64 -d <"$work/table.json.sig" | wc -c)" = 64 ] && ok "signature is 64 bytes of base64" || ko "signature size"
expect "check --pubkey (good)" "$PUBLISH" check "$work/table.json" --pubkey "$work/op.pub"
refuse "check --pubkey with another key" "$PUBLISH" check "$work/table.json" --pubkey "$work/other.pub"
cp "$work/table.json" "$work/tampered.json"
cp "$work/table.json.sig" "$work/tampered.json.sig"
sed -i 's/"ttl": 600/"ttl": 601/' "$work/tampered.json"
refuse "check --pubkey on a tampered table" "$PUBLISH" check "$work/tampered.json" --pubkey "$work/op.pub"
cp "$work/table.json" "$work/unsigned.json"
refuse "check --pubkey without a .sig" "$PUBLISH" check "$work/unsigned.json" --pubkey "$work/op.pub"
refuse "check --forbid (a CE's own LAN prefix)" "$PUBLISH" check "$work/table.json" --forbid 192.0.2.0/24
refuse "check --max-entries" "$PUBLISH" check "$work/table.json" --max-entries 2
printf '10.0.0.0/24,2001:db8:30::/120,60,\n' >"$work/bad.csv"
refuse "build refuses what a CE would refuse" "$PUBLISH" build --csv "$work/bad.csv" -o "$work/bad.json"
[ ! -e "$work/bad.json" ] && ok "no output file for a refused build" || ko "bad.json written"

echo "--- 3. build --names against a local unbound"
if command -v unbound >/dev/null; then
    port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    cat >"$work/unbound.conf" <<EOF
server:
  interface: 127.0.0.1
  port: $port
  do-daemonize: no
  username: ""
  chroot: ""
  directory: "$work"
  pidfile: ""
  use-syslog: no
  logfile: "$work/unbound.log"
  do-ip6: no
  access-control: 127.0.0.0/8 allow
  local-zone: "example." static
  local-data: "dual.example. 300 IN A 198.51.100.10"
  local-data: "dual.example. 120 IN AAAA 2001:db8:30::10"
  local-data: "multi.example. 600 IN A 198.51.100.21"
  local-data: "multi.example. 600 IN A 198.51.100.20"
  local-data: "multi.example. 600 IN AAAA 2001:db8:30::21"
  local-data: "multi.example. 600 IN AAAA 2001:db8:30::20"
  local-data: "synth.example. 300 IN A 198.51.100.30"
  local-data: "synth.example. 300 IN AAAA 64:ff9b::c633:641e"
  local-data: "synth2.example. 300 IN A 198.51.100.31"
  local-data: "synth2.example. 300 IN AAAA 2001:db8:64::c633:641f"
  local-data: "v4only.example. 300 IN A 198.51.100.40"
  local-data: "alias.example. 90 IN CNAME dual2.example."
  local-data: "dual2.example. 3000 IN A 203.0.113.50"
  local-data: "dual2.example. 3000 IN AAAA 2001:db8:31::50"
EOF
    unbound -d -c "$work/unbound.conf" &
    pids+=($!)
    for _ in $(seq 50); do dig +short +time=1 +tries=1 -p "$port" @127.0.0.1 dual.example A 2>/dev/null | grep -q . && break; sleep 0.1; done
    printf 'dual.example\nmulti.example  # two pairs\nsynth.example\nsynth2.example\nv4only.example\nalias.example\nmissing.example\n' >"$work/names"
    expect "build --names" "$PUBLISH" build --names "$work/names" --resolver "127.0.0.1#$port" \
        --nat64-prefix 2001:db8:64::/96 --serial 7 -o "$work/dns.json"
    expect "check of the DNS-built table" "$PUBLISH" check "$work/dns.json"
    got=$(/usr/bin/python3 - "$work/dns.json" <<'EOF'
import json, sys
t = json.load(open(sys.argv[1]))
print(" ".join("%s=%s/%d/%s" % (e["ipv4"], e["ipv6"], e["ttl"], e["name"]) for e in t["entries"]))
EOF
)
    want="198.51.100.10=2001:db8:30::10/120/dual.example 198.51.100.20=2001:db8:30::20/600/multi.example 198.51.100.21=2001:db8:30::21/600/multi.example 203.0.113.50=2001:db8:31::50/90/alias.example"
    [ "$got" = "$want" ] && ok "DNS pairs: min TTL along the CNAME chain, synthesized AAAA skipped" || ko "DNS pairs: got '$got' want '$want'"
else
    echo "skip: unbound not installed (scripts/setup-deps.sh installs it)"
fi

echo "--- 4. the HTTPS test server serves the table and its signature"
expect "make-ca" "$ROOT/tests/operator/make-ca.sh" "$work/pki"
mkdir -p "$work/www"
cp "$work/table.json" "$work/table.json.sig" "$work/www/"
/usr/bin/python3 "$ROOT/tests/operator/server.py" "$work/www" "$work/pki/server.pem" "$work/pki/server.key" &
pids+=($!)
for _ in $(seq 100); do [ -e "$work/www/port" ] && break; sleep 0.05; done
hport=$(cat "$work/www/port" 2>/dev/null || echo 0)
expect "HTTPS fetch with the test CA" curl -sSf --cacert "$work/pki/ca.pem" -o "$work/fetched.json" "https://127.0.0.1:$hport/table.json"
cmp -s "$work/fetched.json" "$work/table.json" && ok "fetched bytes identical" || ko "fetched bytes differ"
refuse "HTTPS fetch without the test CA" curl -sSf -o /dev/null "https://127.0.0.1:$hport/table.json"
etag=$(curl -sSf --cacert "$work/pki/ca.pem" -D - -o /dev/null "https://127.0.0.1:$hport/table.json" | awk -F': ' 'tolower($1)=="etag"{print $2}' | tr -d '\r')
code=$(curl -s --cacert "$work/pki/ca.pem" -H "If-None-Match: $etag" -o /dev/null -w '%{http_code}' "https://127.0.0.1:$hport/table.json")
[ "$code" = 304 ] && ok "conditional GET -> 304" || ko "conditional GET -> $code"

echo "--- 5. the CE side (ut_pull_client)"
if [ -x "$BUILD/tests/unit/ut_pull_client" ]; then
    expect "ut_pull_client" "$BUILD/tests/unit/ut_pull_client"
else
    echo "skip: $BUILD/tests/unit/ut_pull_client not built"
fi

echo "operator: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
