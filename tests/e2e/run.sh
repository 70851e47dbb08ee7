#!/usr/bin/env bash
# End-to-end test of eamclat as the CLAT of a home CE (issue 3), in network namespaces with real
# peers: an IPv4-only LAN host, the operator's DNS64 (unbound) and NAT64 (TAYGA), a dual-stack and
# an IPv4-only web server (nginx). See tests/e2e/README.md.
#
#   tests/e2e/run.sh                  the real daemon ($EAMCLAT, default build/control/eamclat)
#   CE=standin tests/e2e/run.sh       a TAYGA-based stand-in CE, to prove the network and the checks
#   ONLY=isp tests/e2e/run.sh         only the operator's side (no CE at all)
#
# Environment: EAMCLAT, EAMCLAT_CTL (default build/control/eamclat-ctl, called as
# `eamclat-ctl $EAMCLAT_CTL_SOCKET_OPT SOCKET -c CMD`, option default -s), ECL_KEEP=1 keeps the run
# directory (it is kept anyway when something fails), ECL_ID names the namespaces (default: PID).
# Prints PASS/FAIL/SKIP per check and ends with "e2e: N passed, N failed, N skipped";
# exits non-zero if any check failed.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=lib/net.sh
source "$ROOT/tests/e2e/lib/net.sh"

CE=${CE:-eamclat}
ONLY=${ONLY:-}
EAMCLAT=${EAMCLAT:-$ROOT/build/control/eamclat}
EAMCLAT_CTL=${EAMCLAT_CTL:-$ROOT/build/control/eamclat-ctl}
EAMCLAT_CTL_SOCKET_OPT=${EAMCLAT_CTL_SOCKET_OPT:--s}   # how eamclat-ctl is told the socket path
case "$CE" in eamclat|standin) ;; *) echo "CE must be eamclat or standin, not '$CE'" >&2; exit 2 ;; esac

# The whole run must stay under 3 minutes; every wait below has its own timeout as well.
ECL_BUDGET=${ECL_BUDGET:-260}
PASSED=0 FAILED=0 SKIPPED=0 LAST_RC=0
FAILED_NAMES=()

# check NAME FUNCTION [ARGS...]: runs the check with its output in checks/NAME.log.
# The function returns 0 (PASS), 77 (SKIP: its last output line says why) or anything else (FAIL).
check() {
    local name=$1; shift
    local log="$ECL_RUN/checks/$name.log" rc t0=$SECONDS
    if ((SECONDS > ECL_BUDGET)); then
        echo "not run: the run is over its ${ECL_BUDGET}s budget" >"$log"
        rc=1
    else
        "$@" >"$log" 2>&1
        rc=$?
    fi
    LAST_RC=$rc
    if [ $rc -eq 0 ]; then
        PASSED=$((PASSED + 1))
        printf 'PASS %-28s (%ds) %s\n' "$name" $((SECONDS - t0)) "$(tail -n1 "$log")"
    elif [ $rc -eq 77 ]; then
        SKIPPED=$((SKIPPED + 1))
        printf 'SKIP %-28s %s\n' "$name" "$(tail -n1 "$log")"
    else
        FAILED=$((FAILED + 1))
        FAILED_NAMES+=("$name")
        printf 'FAIL %-28s (%ds) see %s\n' "$name" $((SECONDS - t0)) "$log"
        tail -n 8 "$log" | sed 's/^/     | /'
    fi
}

h4() { nsx "$NS_HOST4" "$@"; }
isp() { nsx "$NS_ISP" "$@"; }

# ---- the operator's side, without the CE ----

dig6() { isp dig +time=2 +tries=1 @"$RESOLVER6" "$@"; }

# expect_answer TYPE NAME EXPECTED...: the sorted +short answer equals the expected lines.
expect_answer() {
    local type=$1 name=$2; shift 2
    local got want
    got=$(dig6 +short "$type" "$name" | sort)
    want=$(printf '%s\n' "$@" | sort)
    echo "$type $name -> $(echo "$got" | tr '\n' ' ')"
    [ "$got" = "$want" ] || { echo "expected: $(echo "$want" | tr '\n' ' ')"; return 1; }
}

# expect_status TYPE NAME STATUS [ANCOUNT]: rcode and number of answers.
expect_status() {
    local out st an
    out=$(dig6 "$1" "$2") || true
    st=$(sed -n 's/.*status: \([A-Z]*\),.*/\1/p' <<<"$out")
    an=$(sed -n 's/.*ANSWER: \([0-9]*\),.*/\1/p' <<<"$out")
    echo "$1 $2 -> $st, $an answers"
    [ "$st" = "$3" ] && { [ -z "${4:-}" ] || [ "$an" = "$4" ]; }
}

check_dns_ttls() {
    # cname.test (300) -> c1.test (60) -> ds.test (600): the resolver passes each TTL through
    # (counting down in its cache, hence a window rather than the exact value).
    local out
    out=$(dig6 +noall +answer AAAA cname.test)
    echo "$out"
    awk '$1 == "cname.test." && $4 == "CNAME" && $5 == "c1.test." && $2 > 240 && $2 <= 300 { a = 1 }
         $1 == "c1.test." && $4 == "CNAME" && $5 == "ds.test." && $2 > 0 && $2 <= 60 { b = 1 }
         $1 == "ds.test." && $4 == "AAAA" && $5 == "2001:db8:20::20" && $2 > 540 && $2 <= 600 { c = 1 }
         END { exit !(a && b && c) }' <<<"$out" && echo "TTLs 300/60/600 along the chain"
}

check_dns_truncation() {
    local udp tcp
    udp=$(dig6 +ignore +notcp AAAA large.test)
    tcp=$(dig6 +tcp AAAA large.test)
    grep -q 'flags: qr tc' <<<"$udp" || { echo "UDP answer not truncated"; echo "$udp"; return 1; }
    grep -q 'ANSWER: 100,' <<<"$tcp" || { echo "TCP answer lacks 100 records"; echo "$tcp"; return 1; }
    echo "UDP: TC set; TCP: 100 AAAA"
}

# Transfers give up after 60 s, or as soon as they stall (under 100 kB/s for 5 s).
CURL_LIMITS=(-m 60 --connect-timeout 5 --speed-limit 100000 --speed-time 5)

# fetch NS URL OUT [CURL ARGS...]: downloads URL to OUT.
fetch() {
    local ns=$1 url=$2 out=$3; shift 3
    nsx "$ns" curl -sS -f "${CURL_LIMITS[@]}" -o "$out" "$@" "$url"
}

# expect_sha FILE: the file is the 20 MB big.bin, byte for byte.
expect_sha() {
    local got
    got=$(sha256sum "$1" | cut -d' ' -f1)
    echo "sha256 $got (expected $BIG_SHA), $(stat -c %s "$1") bytes"
    [ "$got" = "$BIG_SHA" ]
}

# log_source LOG TAG: the remote address of the access log line whose URI carries TAG.
log_source() { awk -v t="$2" '$2 ~ ("[?]" t "$") { a = $1 } END { print a }' "$1"; }

in_nat64_pool() { [[ $1 =~ ^198\.51\.100\.([0-9]+)$ ]] && ((BASH_REMATCH[1] >= 128)); }

check_isp_http_native() {
    local tag="isp-native-$RANDOM" src
    fetch "$NS_ISP" "http://[$SRVDS_ADDR6]/index.html?$tag" /dev/null || return 1
    src=$(log_source "$ECL_RUN/nginx-srvds/access.log" "$tag")
    echo "ds server saw $src"
    [[ $src == 2001:db8:* ]]
}

check_isp_http_nat64() {
    local tag="isp-nat64-$RANDOM" src
    fetch "$NS_ISP" "http://[$SRV4_SYNTH6]/index.html?$tag" /dev/null || return 1
    src=$(log_source "$ECL_RUN/nginx-srv4/access.log" "$tag")
    echo "v4-only server saw $src (TAYGA pool $NAT64_POOL)"
    in_nat64_pool "$src"
}

check_isp_download_nat64() {
    local out="$ECL_RUN/dl-isp-nat64.bin"
    fetch "$NS_ISP" "http://[$SRV4_SYNTH6]/big.bin" "$out" && expect_sha "$out"
}

run_isp_checks() {
    check isp-dns-native    expect_answer AAAA ds.test "$SRVDS_ADDR6"
    check isp-dns64-synth   expect_answer AAAA v4only.test "$SRV4_SYNTH6"
    check isp-dns-a         expect_answer A v4only.test "$SRV4_ADDR"
    check isp-dns-cname     check_dns_ttls
    check isp-dns-multi     expect_answer AAAA multi.test 2001:db8:30::31 2001:db8:30::32 2001:db8:30::33
    check isp-dns-conflict  expect_answer AAAA conflict-b.test 2001:db8:30::40b
    check isp-dns-nodata    expect_status AAAA nodata.test NOERROR 0
    check isp-dns-nxdomain  expect_status A nosuchname.test NXDOMAIN 0
    check isp-dns-servfail  expect_status A servfail.test SERVFAIL
    check isp-dns-tcp       check_dns_truncation
    check isp-http-native6  check_isp_http_native
    check isp-http-nat64    check_isp_http_nat64
    check isp-20mb-nat64    check_isp_download_nat64
}

# ---- the CE ----

write_eamclat_config() {
    local file=$1 wan_mtu=$2
    mkdir -p "$ECL_RUN/eamclat-state"
    cat >"$file" <<EOF
# Generated by tests/e2e/run.sh (topology: tests/e2e/README.md).
mode: clat
clat-prefix: $CLAT_PREFIX
plat-prefix: $PLAT_PREFIX
eamt:
  - { ipv4: $SRVDS_ADDR4/32, ipv6: "$SRVDS_ADDR6/128" }
rfc6791v4-prefix: 192.0.0.8/32
lowest-ipv6-mtu: 1280
ipv4-mtu: 1500
ipv6-mtu: $wan_mtu
ports:
  lan:
    device: net_af_packet0
    mtu: 1500
    tap: eamclat-lan
    ipv4-address: $CE_LAN4/24
    ipv6-address: "$CE_LAN6/64"
  wan:
    device: net_af_packet1
    mtu: $wan_mtu
    tap: eamclat-wan
    ipv6-address: "$CE_WAN6/64"
    ipv6-gateway: $ISP_CE6
delegated-prefix: $DELEGATED
workers: 1
dns:
  upstream: ["$RESOLVER6"]
  # The draft's 50 ms bound is tested against a fake upstream in ut_dns_proxy; here the resolver
  # shares two loaded cores with the whole network, so the AAAA gets more time to arrive.
  resolution-delay-ms: 300
  snooping: true
operator-table:
  max-entries: 1000
control:
  socket: $ECL_RUN/eamclat.sock
  state-dir: $ECL_RUN/eamclat-state
  log-level: info
  cmdline-file: $ECL_RUN/startup.cmds
EOF
    # A batch of shell commands run at start (testpmd's --cmdline-file).
    printf '%s\n' "# e2e start-up batch" "add eamt 198.51.100.77/32 2001:db8:20::77/128" "show eamt static" \
        >"$ECL_RUN/startup.cmds"
}

# ce_path_ready: the LAN host reaches the dual-stack server through the CE (ARP, ND, translation).
ce_path_ready() { h4 ping -c1 -W1 "$SRVDS_ADDR4"; }

start_eamclat() {
    local wan_mtu=$1 cfg="$ECL_RUN/eamclat-$1.yaml" deadline
    write_eamclat_config "$cfg" "$wan_mtu"
    ecl_start eamclat "$NS_CE" "$EAMCLAT" --no-huge -m 1024 --no-pci --no-shconf \
        --file-prefix "ecl-$ECL_ID" -l 0,1 \
        --vdev net_af_packet0,iface=ce-lan --vdev net_af_packet1,iface=ce-wan \
        -- --config "$cfg"
    deadline=$((SECONDS + 45))
    while ((SECONDS < deadline)); do
        if ! ecl_alive eamclat; then
            echo "eamclat exited during start-up; its output:"
            tail -n 30 "$ECL_RUN/eamclat.out"
            return 1
        fi
        if ce_path_ready >/dev/null 2>&1; then
            echo "eamclat ready (pid $(ecl_pid eamclat)), TAPs: $(nsx "$NS_CE" ip -br link | awk '/^eamclat-/ {printf "%s ", $1}')"
            return 0
        fi
        sleep 0.5
    done
    echo "eamclat not forwarding after 45 s; its output:"
    tail -n 30 "$ECL_RUN/eamclat.out"
    return 1
}

standin_ready() {
    ecl_wait 15 "stand-in CE path" ce_path_ready || return 1
    echo "stand-in CE (TAYGA pid $(ecl_pid tayga-clat)) forwarding"
}

check_ping() {
    local out rx
    out=$(h4 ping -c 3 -i 0.3 -W 2 "$1")
    echo "$out"
    rx=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' <<<"$out")
    echo "$rx/3 replies from $1"
    [ "${rx:-0}" -ge 2 ]
}

# check_http DEST LOG EXPECT: GET through the CE; the server's log names the expected source.
# EXPECT: "clat" = the host's CLAT address over native IPv6, "nat64" = an address of TAYGA's pool.
check_http() {
    local dest=$1 log=$2 expect=$3 tag="h4-$3-$RANDOM" body src
    body=$(h4 curl -sS -f -m 10 --connect-timeout 5 "http://$dest/index.html?$tag") || return 1
    [ "$body" = "eamclat e2e" ] || { echo "unexpected body: $body"; return 1; }
    src=$(log_source "$log" "$tag")
    echo "server saw $src"
    case $expect in
        clat) [ "$src" = "$HOST4_CLAT6" ] ;;
        nat64) in_nat64_pool "$src" ;;
    esac
}

check_download() {
    local dest=$1 out="$ECL_RUN/dl-$2.bin"
    fetch "$NS_HOST4" "http://$dest/big.bin" "$out" && expect_sha "$out" && rm -f "$out"
}

check_upload() {
    local dest=$1 name="up-$2.bin"
    h4 curl -sS -f "${CURL_LIMITS[@]}" -T "$ECL_RUN/www/big.bin" "http://$dest/upload/$name" \
        -o /dev/null || return 1
    expect_sha "$ECL_RUN/www/upload/$name" && rm -f "$ECL_RUN/www/upload/$name"
}

# check_traceroute DEST NEED_BEYOND: the CE answers hop 1 itself (a translator is a router: it
# decrements the TTL and sends Time Exceeded, RFC 7915 §4.1), the destination answers (translated
# Port Unreachable), and with NEED_BEYOND=1 at least one router beyond the CE answers with a
# translated Time Exceeded. The stand-in CE is three hops (kernel, TAYGA, kernel), eamclat one.
check_traceroute() {
    local dest=$1 need_beyond=$2 ce_hops out first last beyond
    ce_hops=$([ "$CE" = standin ] && echo 3 || echo 1)
    out=$(h4 timeout 40 traceroute -n -N 1 -q 1 -w 1 -m 10 "$dest")
    echo "$out"
    first=$(awk 'NR == 2 { print $2 }' <<<"$out")
    last=$(tail -n1 <<<"$out" | awk '{ print $2 }')
    beyond=$(awk -v n="$ce_hops" -v d="$dest" 'NR > 1 && $1 > n && $2 != "*" && $2 != d { printf "%s ", $2 }' <<<"$out")
    echo "hop 1: $first; destination answered: $([ "$last" = "$dest" ] && echo yes || echo no); routers beyond the CE (hop > $ce_hops): ${beyond:-none}"
    [ "$first" != "*" ] && [ -n "$first" ] || return 1
    [ "$last" = "$dest" ] || return 1
    [ "$need_beyond" = 0 ] || [ -n "$beyond" ]
}

# Path MTU discovery across the CE: DF pings of the size the last Fragmentation Needed allowed,
# starting from the LAN's 1500 with the host's PMTU cache flushed, until one is answered. The CE must
# report the MTU the IPv6 side allows minus the header growth (IPv6 MTU - 20, RFC 7915 §4.4 / §5.3),
# so the path MTU must end at WANT (1480 for a 1500 WAN, 1260 for a 1280 WAN).
# With MODE=report, WANT only has to be reported: through the PLAT a reply larger than 1260 bytes
# cannot come back, because Linux sends echo replies without DF, so TAYGA (the PLAT) fragments the
# translated reply to 1280 (RFC 7915 §4) and ICMP fragments are not translatable back.
check_pmtu() {
    local dest=$1 want=$2 mode=${3:-reply} mtu=1500 i out new
    h4 ip route flush cache
    for i in 1 2 3 4 5; do
        out=$(h4 ping -c 1 -W 2 -M "do" -s $((mtu - 28)) "$dest" 2>&1)
        grep -E 'bytes from|mtu' <<<"$out"
        if grep -q ' bytes from ' <<<"$out"; then
            echo "path MTU to $dest: $mtu (expected $want)"
            [ "$mtu" = "$want" ]
            return
        fi
        new=$(grep -Eo 'mtu ?= ?[0-9]+' <<<"$out" | grep -Eo '[0-9]+$' | head -n1)
        if [ -z "$new" ] || [ "$new" -ge "$mtu" ]; then
            echo "no answer to a $mtu-byte DF ping and no smaller MTU reported"
            return 1
        fi
        mtu=$new
        if [ "$mode" = report ] && [ "$mtu" = "$want" ]; then
            echo "Fragmentation Needed with MTU $mtu for $dest (expected $want)"
            return 0
        fi
    done
    echo "path MTU discovery did not converge"
    return 1
}

# The EAMT entry of a running download is deleted: the flow stays pinned to its mapping (draft
# §5.2.6) and completes intact; a new connection then goes through the PLAT.
check_eamt_update() {
    if [ "$CE" = standin ]; then echo "SKIP: the stand-in CE has no runtime EAMT"; return 77; fi
    if [ ! -x "$EAMCLAT_CTL" ]; then echo "SKIP: eamclat-ctl not built ($EAMCLAT_CTL)"; return 77; fi
    local out="$ECL_RUN/dl-pinned.bin" tag="pinned-$RANDOM" pid rc src
    h4 curl -sS -f -m 40 --connect-timeout 5 -o "$out" "http://$SRVDS_ADDR4/slow.bin?$tag" &
    pid=$!
    sleep 1.5
    kill -0 $pid 2>/dev/null || { echo "download ended before the update"; wait $pid; return 1; }
    echo "download running ($(stat -c %s "$out" 2>/dev/null || echo 0) bytes); deleting the EAMT entry"
    nsx "$NS_CE" timeout 10 "$EAMCLAT_CTL" "$EAMCLAT_CTL_SOCKET_OPT" "$ECL_RUN/eamclat.sock" \
        -c "del eamt $SRVDS_ADDR4/32"
    rc=$?
    echo "eamclat-ctl exit $rc"
    local inconclusive=0
    kill -0 $pid 2>/dev/null || inconclusive=1
    wait $pid || { echo "download failed after the update"; return 1; }
    # A download that ended before the update proves nothing about pinning.
    [ $inconclusive = 0 ] || { echo "the download finished before the update returned: inconclusive"; return 1; }
    [ $rc -eq 0 ] || return 1
    expect_sha "$out" || return 1
    src=$(log_source "$ECL_RUN/nginx-srvds/access.log" "$tag")
    echo "pinned download came from $src"
    [ "$src" = "$HOST4_CLAT6" ]
}

check_after_eamt_delete() {
    if [ "$CE" = standin ]; then echo "SKIP: the stand-in CE has no runtime EAMT"; return 77; fi
    if [ ! -x "$EAMCLAT_CTL" ]; then echo "SKIP: eamclat-ctl not built ($EAMCLAT_CTL)"; return 77; fi
    check_http "$SRVDS_ADDR4" "$ECL_RUN/nginx-srvds/access.log" nat64
}

run_ce_checks() {
    check ping-eamt          check_ping "$SRVDS_ADDR4"
    check ping-plat          check_ping "$SRV4_ADDR"
    check pmtu-1480-eamt     check_pmtu "$SRVDS_ADDR4" 1480
    check pmtu-1480-plat     check_pmtu "$SRV4_ADDR" 1480 report
    check http-eamt-native6  check_http "$SRVDS_ADDR4" "$ECL_RUN/nginx-srvds/access.log" clat
    check http-plat-nat64    check_http "$SRV4_ADDR" "$ECL_RUN/nginx-srv4/access.log" nat64
    check 20mb-eamt          check_download "$SRVDS_ADDR4" eamt
    check 20mb-plat          check_download "$SRV4_ADDR" plat
    check upload-20mb-eamt   check_upload "$SRVDS_ADDR4" eamt
    check upload-20mb-plat   check_upload "$SRV4_ADDR" plat
    check traceroute-plat    check_traceroute "$SRV4_ADDR" 1
    # Through the EAMT path the first router beyond the CE is the ISP's, whose ICMPv6 Time Exceeded
    # comes from 2001:db8:ffff::1: no IPv4 form, so eamclat must use its RFC 6791 pool (192.0.0.8).
    # TAYGA has no such pool and drops them: the stand-in shows '*' there.
    check traceroute-eamt    check_traceroute "$SRVDS_ADDR4" "$([ "$CE" = eamclat ] && echo 1 || echo 0)"
}

run_mtu_checks() {
    check mtu1280-pmtu-eamt   check_pmtu "$SRVDS_ADDR4" 1260
    check mtu1280-pmtu-plat   check_pmtu "$SRV4_ADDR" 1260
    check mtu1280-20mb-eamt   check_download "$SRVDS_ADDR4" eamt-1280
    check mtu1280-20mb-plat   check_download "$SRV4_ADDR" plat-1280
    check mtu1280-upload-eamt check_upload "$SRVDS_ADDR4" eamt-1280
    check mtu1280-upload-plat check_upload "$SRV4_ADDR" plat-1280
}

# ---- the DNS proxy and the EAMT learner (issue 5), the shell and telemetry (issue 4) ----

ctl() { nsx "$NS_CE" timeout 10 "$EAMCLAT_CTL" "$EAMCLAT_CTL_SOCKET_OPT" "$ECL_RUN/eamclat.sock" -c "$*"; }
cedig() { h4 dig +time=2 +tries=1 @"$CE_LAN4" "$@"; }

# learned NAME: the learned entries for NAME as "ipv4 ipv6 state ttl host" lines.
learned() { ctl "show eamt learned name $1" | awk '$2 == "learned" { print $3, $4, $5, $7, $8 }'; }

check_batch_file() {
    grep -q 'eamclat> add eamt 198.51.100.77/32' "$ECL_RUN/eamclat.out" || { echo "batch not echoed"; return 1; }
    ctl "show eamt static" | grep -q '198.51.100.77/32 *2001:db8:20::77/128' || return 1
    echo "start-up batch applied: 198.51.100.77/32 <-> 2001:db8:20::77/128 is a static entry"
}

check_ctl_usage() {
    local out rc
    out=$(ctl "add eamt 203.0.113.0/24 2001:db8::/124" 2>&1); rc=$?
    echo "$out"
    { [ $rc -eq 1 ] && grep -q 'suffix lengths' <<<"$out"; } || return 1
    out=$(ctl "add eamt nonsense" 2>&1); rc=$?
    { [ $rc -eq 1 ] && grep -q 'usage: add eamt' <<<"$out"; } || { echo "$out"; return 1; }
    if ctl "show eamt static" | grep -q '203.0.113.0/24'; then echo "a refused entry was added"; return 1; fi
    echo "bad commands: usage, exit 1, nothing changed"
}

check_learn_native() {
    local a tag src l
    a=$(cedig +short A dsl.test)
    echo "A dsl.test via the CE -> $a"
    [ "$a" = 203.0.113.21 ] || return 1
    l=$(learned dsl.test); echo "learned: $l"
    [[ $l == "203.0.113.21/32 2001:db8:20::21/128 valid "*" $HOST4_ADDR" ]] || return 1
    tag="learn-$RANDOM"
    h4 curl -sS -f -m 10 "http://203.0.113.21/index.html?$tag" >/dev/null || return 1
    src=$(log_source "$ECL_RUN/nginx-srvds/access.log" "$tag")
    echo "next connection: server saw $src"
    [ "$src" = "$HOST4_CLAT6" ]
}

check_learn_synthesized() {
    local a l tag src
    a=$(cedig +short A v4only.test); echo "A v4only.test -> $a"
    [ "$a" = "$SRV4_ADDR" ] || return 1
    l=$(learned v4only.test)
    [ -z "$l" ] || { echo "learned a synthesized AAAA: $l"; return 1; }
    tag="synth-$RANDOM"
    h4 curl -sS -f -m 10 "http://$SRV4_ADDR/index.html?$tag" >/dev/null || return 1
    src=$(log_source "$ECL_RUN/nginx-srv4/access.log" "$tag")
    echo "not learned (AAAA synthesized by DNS64); server saw $src"
    in_nat64_pool "$src"
}

check_learn_cname() {
    local l ttl
    cedig +short A cnl.test >/dev/null
    l=$(learned cnl.test); echo "learned: $l"
    [[ $l == "203.0.113.22/32 2001:db8:20::22/128 valid "* ]] || return 1
    ttl=$(awk '{print $4}' <<<"$l")
    echo "TTL $ttl (chain 300/30/600: at most 30)"
    [ "$ttl" -le 30 ] && [ "$ttl" -gt 0 ]
}

check_learn_multi() {
    local l n v6
    cedig +short A multi.test >/dev/null
    l=$(learned multi.test); echo "$l"
    n=$(grep -c . <<<"$l"); v6=$(awk '{print $2}' <<<"$l" | sort -u | grep -c .)
    echo "$n pairs, $v6 distinct IPv6"
    [ "$n" = 3 ] && [ "$v6" = 3 ]
}

check_learn_conflict() {
    local l
    cedig +short A conflict-a.test >/dev/null
    l=$(learned conflict-a.test); echo "after conflict-a: $l"
    [[ $l == *"valid"* ]] || return 1
    cedig +short A conflict-b.test >/dev/null
    l=$(learned conflict-a.test); echo "after conflict-b: $l"
    [[ $l == *" stale "* ]] || return 1
    [ -z "$(learned conflict-b.test)" ] || { echo "conflict-b created an entry"; return 1; }
    echo "same IPv4, other IPv6 under another name: entry Stale, nothing created"
}

check_learn_negative() {
    local out q
    for q in "A nosuchname.test NXDOMAIN" "A nodata.test NOERROR" "A servfail.test SERVFAIL" "A v6only.test NOERROR"; do
        set -- $q
        out=$(cedig "$1" "$2")
        grep -q "status: $3," <<<"$out" || { echo "$2: expected $3"; echo "$out"; return 1; }
        [ -z "$(learned "$2")" ] || { echo "$2 created an entry"; return 1; }
        echo "$1 $2 -> $3 relayed, nothing learned"
    done
}

check_proxy_truncation() {
    local udp tcp
    udp=$(cedig +ignore +notcp +bufsize=1232 A large.test)
    tcp=$(cedig +tcp A large.test)
    grep -q 'flags: qr tc' <<<"$udp" || { echo "UDP answer through the CE not truncated"; echo "$udp"; return 1; }
    grep -q 'ANSWER: 100,' <<<"$tcp" || { echo "TCP answer through the CE lacks 100 records"; echo "$tcp"; return 1; }
    echo "UDP client: TC set; TCP client: 100 A"
}

# The first packet after the lookup already takes the native path: the entry is in the dataplane
# before the A answer leaves (issue 5 point 5). Captured on the operator's side of the WAN link.
check_first_packet_native() {
    local out="$ECL_RUN/firstpkt.txt" err="$ECL_RUN/firstpkt.err" pid tag="first-$RANDOM" first
    isp timeout 20 tcpdump -l -n -i isp-ce -c 1 'ip6 and tcp dst port 80 and (ip6[53] & 2 != 0)' >"$out" 2>"$err" &
    pid=$!
    for _ in $(seq 1 50); do grep -q 'listening on' "$err" 2>/dev/null && break; sleep 0.1; done
    h4 curl -4 -sS -f -m 10 "http://firstpkt.test/index.html?$tag" >/dev/null || { kill $pid; return 1; }
    for _ in $(seq 1 20); do [ -s "$out" ] && break; sleep 0.1; done
    kill $pid 2>/dev/null; wait $pid 2>/dev/null
    first=$(head -n1 "$out")
    echo "first SYN on the WAN: $first"
    grep -q '> 2001:db8:20::24\.80:' <<<"$first"
}

check_ttl_expiry_pinned() {
    local out="$ECL_RUN/dl-short.bin" tag="short-$RANDOM" pid l src
    cedig +short A shortds.test >/dev/null
    l=$(learned shortds.test); echo "learned: $l"
    [[ $l == *valid* ]] || return 1
    h4 curl -sS -f -m 40 -o "$out" "http://203.0.113.23/slow.bin?$tag" &
    pid=$!
    for _ in $(seq 1 20); do  # the TTL (at most 4 s) runs out while the download goes on
        sleep 0.5
        l=$(learned shortds.test)
        [[ $l == *" stale "* ]] && break
    done
    echo "after the TTL: $l"
    kill -0 $pid 2>/dev/null || { echo "download ended before the TTL ran out: inconclusive"; wait $pid; return 1; }
    [[ $l == *" stale "* ]] || { wait $pid; return 1; }
    wait $pid || { echo "pinned download broke"; return 1; }
    expect_sha "$out" || return 1
    src=$(log_source "$ECL_RUN/nginx-srvds/access.log" "$tag")
    echo "download finished over the pinned native path from $src"
    [ "$src" = "$HOST4_CLAT6" ]
}

check_dual_stack_host() {
    h4 sysctl -qw net.ipv6.conf.h4-eth0.disable_ipv6=0
    h4 ip -6 addr add 2001:db8:1:1::100/64 dev h4-eth0 nodad 2>/dev/null
    h4 ping -6 -c 2 -W 2 "$CE_LAN6" >/dev/null 2>&1
    sleep 1.5
    ctl "show hosts"
    ctl "show hosts" | grep -q 'dual-stack' || { echo "host not seen as dual-stack"; return 1; }
    cedig +short A dsh.test >/dev/null
    [ -z "$(learned dsh.test)" ] || { echo "a dual-stack host got an entry"; return 1; }
    learned dsl.test | grep -q ' stale ' || { echo "its earlier entries did not go Stale"; ctl "show eamt learned"; return 1; }
    echo "dual-stack host: no new entries, earlier ones Stale (draft §5.2.13)"
}

check_dns_stats() {
    local out
    out=$(ctl "show dns stats"); echo "$out"
    grep -Eq 'entries_created +[1-9]' <<<"$out" && grep -q 'held-answer delay: p50' <<<"$out"
}

check_telemetry() {
    local out
    out=$(printf '/eamclat/stats\n/eamclat/eamt,learned\n/eamclat/dns\n/eamclat/flows\n' |
        timeout 10 dpdk-telemetry.py -f "ecl-$ECL_ID" 2>&1)
    echo "$out" | head -c 3000; echo
    grep -q '"translated_4to6_eamt_learned": [1-9]' <<<"$out" || { echo "no learned translations in /eamclat/stats"; return 1; }
    grep -q 'dsl.test' <<<"$out" || { echo "/eamclat/eamt lacks the learned entry"; return 1; }
    grep -q '"entries_created": [1-9]' <<<"$out" || { echo "/eamclat/dns lacks entries_created"; return 1; }
    grep -q '"active":' <<<"$out" || return 1
    echo "dpdk-telemetry.py reads /eamclat/stats, /eamclat/eamt, /eamclat/dns, /eamclat/flows"
}

# ---- the operator's table (issue 6), pushed with `table load` ----

check_operator_table() {
    local good="$ECL_RUN/optable-good.json" bad="$ECL_RUN/optable-bad.json" out tag src
    cat >"$good" <<EOF
{"version": 1, "serial": 1, "generated": "2026-11-29T23:00:00Z", "default-ttl": 600,
 "entries": [{"ipv4": "203.0.113.25", "ipv6": "2001:db8:20::25", "name": "cdn-op"}]}
EOF
    out=$(ctl "table load $good" 2>&1) || { echo "$out"; return 1; }
    echo "$out"
    ctl "show eamt operator" | grep -q '203.0.113.25/32 *2001:db8:20::25/128' || { echo "entry not in force"; return 1; }
    tag="op-$RANDOM"
    h4 curl -sS -f -m 10 "http://203.0.113.25/index.html?$tag" >/dev/null || return 1
    src=$(log_source "$ECL_RUN/nginx-srvds/access.log" "$tag")
    echo "operator entry used by the dataplane: server saw $src"
    [ "$src" = "$HOST4_CLAT6" ] || return 1
    # A newer table with one bad entry (host bits set) is refused as a whole; the old one stays.
    cat >"$bad" <<EOF
{"version": 1, "serial": 2, "generated": "2026-11-29T23:10:00Z", "default-ttl": 600,
 "entries": [{"ipv4": "203.0.113.26", "ipv6": "2001:db8:20::26"},
             {"ipv4": "203.0.113.1/24", "ipv6": "2001:db8:21::/120"}]}
EOF
    if out=$(ctl "table load $bad" 2>&1); then echo "bad table accepted: $out"; return 1; fi
    echo "bad table refused: $out"
    ctl "show eamt operator" | grep -q '203.0.113.25/32' || { echo "the good table was lost"; return 1; }
    ctl "show eamt operator" | grep -q '203.0.113.26' && { echo "half of the bad table applied"; return 1; }
    echo "good table in force and used; bad table refused whole, old one kept"
}

# dns.snooping: the host asks a resolver of its own (203.0.113.1, through the NAT64); the CE copies
# the translated answer to the learner, which asks AAAA itself and learns the entry for the host.
check_dns_snooping() {
    local a l tag src
    a=$(h4 dig +time=2 +tries=1 +short @"$SRV_GW4" A snoopf.test)
    echo "A snoopf.test from the foreign resolver $SRV_GW4 -> $a"
    [ "$a" = 203.0.113.26 ] || return 1
    for _ in $(seq 1 20); do l=$(learned snoopf.test); [ -n "$l" ] && break; sleep 0.1; done
    echo "learned: $l"
    [[ $l == "203.0.113.26/32 2001:db8:20::26/128 valid "*" $HOST4_ADDR" ]] || return 1
    tag="snoop-$RANDOM"
    h4 curl -sS -f -m 10 "http://203.0.113.26/index.html?$tag" >/dev/null || return 1
    src=$(log_source "$ECL_RUN/nginx-srvds/access.log" "$tag")
    echo "next connection: server saw $src"
    [ "$src" = "$HOST4_CLAT6" ]
}

run_learner_checks() {
    check shell-batch-file      check_batch_file
    check shell-ctl-usage       check_ctl_usage
    check learn-native          check_learn_native
    check learn-synthesized     check_learn_synthesized
    check learn-cname-min-ttl   check_learn_cname
    check learn-multi           check_learn_multi
    check learn-conflict        check_learn_conflict
    check learn-negative        check_learn_negative
    check proxy-truncation      check_proxy_truncation
    check learn-first-packet    check_first_packet_native
    check learn-ttl-pinned      check_ttl_expiry_pinned
    check dns-snooping          check_dns_snooping
    check dns-stats             check_dns_stats
    check telemetry             check_telemetry
    check learn-dual-stack-host check_dual_stack_host
    check operator-table-load   check_operator_table
}

summary() {
    echo "e2e ($CE CE, $((SECONDS))s): $PASSED passed, $FAILED failed, $SKIPPED skipped" >&2
    if [ $FAILED -gt 0 ]; then
        echo "failed: ${FAILED_NAMES[*]}; logs in $ECL_RUN" >&2
        [ -f "$ECL_RUN/eamclat.out" ] && { echo "--- eamclat output (tail) ---" >&2; tail -n 20 "$ECL_RUN/eamclat.out" >&2; }
    fi
    echo "e2e: $PASSED passed, $FAILED failed, $SKIPPED skipped"
    [ $FAILED -eq 0 ]
}

main() {
    SECONDS=0
    ecl_init
    mkdir -p "$ECL_RUN/checks"
    ecl_build_isp
    run_isp_checks
    if [ "$ONLY" = isp ]; then summary; return; fi

    if [ "$CE" = standin ]; then
        ecl_build_ce_standin
        check ce-ready standin_ready
    else
        ecl_build_ce_bare
        if [ ! -x "$EAMCLAT" ]; then
            check ce-ready sh -c "echo 'eamclat not built: $EAMCLAT (set EAMCLAT, or try CE=standin)'; exit 1"
            summary; return
        fi
        check ce-ready start_eamclat 1500
    fi
    if [ "$LAST_RC" != 0 ]; then summary; return; fi   # no CE: nothing else can pass
    run_ce_checks

    # WAN MTU 1280, LAN MTU 1500. The daemon reads its MTUs from its config: restart it.
    if [ "$CE" = eamclat ]; then ecl_stop eamclat; fi
    ecl_set_wan_mtu 1280
    if [ "$CE" = eamclat ]; then check ce-ready-mtu1280 start_eamclat 1280; fi
    run_mtu_checks

    check eamt-del-pinned-flow check_eamt_update
    check eamt-del-new-via-plat check_after_eamt_delete
    if [ "$CE" = eamclat ]; then run_learner_checks; fi
    summary
}

main
