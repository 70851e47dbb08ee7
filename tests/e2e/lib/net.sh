# shellcheck shell=bash
# shellcheck disable=SC2034  # the address variables are the topology, used by the scripts that source this
# The e2e test network for eamclat, in network namespaces (see tests/e2e/README.md for the picture).
# Source this file, then:  ecl_init; ecl_build_isp; ecl_build_ce_standin (or ecl_build_ce_bare and
# start eamclat in $NS_CE); ... The EXIT trap that ecl_init installs tears everything down, also on
# failure; /etc/netns/$NS_HOST4/resolv.conf (nameserver 192.168.1.1) is removed with it.
#
# Everything this file creates is named from ECL_ID, so two runs cannot collide:
# namespaces ecl-host4-$ECL_ID, ecl-ce-$ECL_ID, ecl-isp-$ECL_ID, ecl-srv4-$ECL_ID, ecl-srvds-$ECL_ID.
# Links are created directly inside those namespaces: nothing is created in, or changed in, the
# namespace the script runs in. Every daemon started is recorded by PID in $ECL_RUN/pids and killed by
# PID on teardown; any process still left inside our namespaces is then killed by PID too.

ECL_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ECL_ID=${ECL_ID:-$$}
NS_HOST4=ecl-host4-$ECL_ID
NS_CE=ecl-ce-$ECL_ID
NS_ISP=ecl-isp-$ECL_ID
NS_SRV4=ecl-srv4-$ECL_ID
NS_SRVDS=ecl-srvds-$ECL_ID
ECL_NAMESPACES=("$NS_HOST4" "$NS_CE" "$NS_ISP" "$NS_SRV4" "$NS_SRVDS")

# Addresses of the topology (/tmp/topology.md, agreed with the daemon).
HOST4_ADDR=192.168.1.100
CE_LAN4=192.168.1.1
CE_LAN6=2001:db8:1:1::1
CE_WAN6=2001:db8:ffff::2
ISP_CE6=2001:db8:ffff::1
RESOLVER6=2001:db8:ffff::53
DELEGATED=2001:db8:1::/56
CLAT_PREFIX=2001:db8:1:ff::/96
PLAT_PREFIX=2001:db8:64::/96
HOST4_CLAT6=2001:db8:1:ff::c0a8:164   # CLAT prefix + 192.168.1.100 (RFC 6052 /96)
SRV4_ADDR=203.0.113.10
SRV4_SYNTH6=2001:db8:64::cb00:710a     # PLAT prefix + 203.0.113.10
SRVDS_ADDR4=203.0.113.20
SRVDS_ADDR6=2001:db8:20::20
SRV_GW4=203.0.113.1
SRV_GW6=2001:db8:20::1
NAT64_ADDR4=198.51.100.1
NAT64_POOL=198.51.100.128/25
BIG_SIZE=$((20 * 1024 * 1024))

ecl_log() { printf '[e2e %s] %s\n' "$(date +%T)" "$*" >&2; }
ecl_die() { ecl_log "ERROR: $*"; exit 1; }
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# ecl_wait TIMEOUT_S DESCRIPTION CMD...: polls CMD every 0.2 s until it succeeds; 1 on timeout.
ecl_wait() {
    local timeout=$1 what=$2; shift 2
    local deadline=$((SECONDS + timeout))
    while ! "$@" >/dev/null 2>&1; do
        if ((SECONDS >= deadline)); then
            ecl_log "timeout (${timeout}s) waiting for $what"
            return 1
        fi
        sleep 0.2
    done
}

# ecl_start NAME NS CMD...: starts CMD in NS in the background (it must not daemonize itself),
# output to $ECL_RUN/NAME.out, PID recorded for teardown. `ip netns exec` execs CMD, so $! is CMD.
ecl_start() {
    local name=$1 ns=$2; shift 2
    echo "=== $(date +%T) $*" >>"$ECL_RUN/$name.out"
    ip netns exec "$ns" "$@" >>"$ECL_RUN/$name.out" 2>&1 </dev/null &
    local pid=$!
    echo "$name $pid" >>"$ECL_RUN/pids"
    eval "ECL_PID_${name//-/_}=$pid"
    ecl_log "started $name (pid $pid) in $ns"
}

ecl_pid() { local v="ECL_PID_${1//-/_}"; echo "${!v:-}"; }
ecl_alive() { local pid; pid=$(ecl_pid "$1"); [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }

# ecl_stop NAME: stops one daemon started by ecl_start (TERM, then KILL after 3 s) and forgets its
# PID, so that teardown cannot hit another process that reuses it.
ecl_stop() {
    local pid; pid=$(ecl_pid "$1")
    [ -n "$pid" ] || return 0
    ecl_kill_pid "$pid"
    wait "$pid" 2>/dev/null
    sed -i "/^$1 $pid\$/d" "$ECL_RUN/pids"
    eval "ECL_PID_${1//-/_}="
}

# ecl_ours PID: the process lives in one of our namespaces (so a PID reused by someone else after
# our process ended is never signalled).
ecl_ours() {
    local ns
    ns=$(ip netns identify "$1" 2>/dev/null) || return 1
    [[ " ${ECL_NAMESPACES[*]} " == *" $ns "* ]]
}

ecl_kill_pid() {
    local pid=$1 i
    ecl_ours "$pid" || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 30); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

ecl_init() {
    [ "$(id -u)" = 0 ] || ecl_die "must run as root (network namespaces)"
    local ns
    for ns in "${ECL_NAMESPACES[@]}"; do
        [ -e "/run/netns/$ns" ] && ecl_die "namespace $ns exists already (another run with ECL_ID=$ECL_ID?)"
    done
    ECL_RUN=$(mktemp -d /tmp/ecl-e2e.XXXXXX)
    : >"$ECL_RUN/pids"
    ECL_CREATED_NS=()
    trap ecl_teardown EXIT
    trap 'exit 130' INT TERM
    ecl_log "run dir $ECL_RUN, namespaces *-$ECL_ID"
}

ecl_teardown() {
    local rc=$?
    trap - EXIT
    [ -n "${ECL_RUN:-}" ] || return $rc
    local name pid ns
    # Daemons we started, newest first.
    if [ -f "$ECL_RUN/pids" ]; then
        while read -r name pid; do
            ecl_kill_pid "$pid"
        done < <(tac "$ECL_RUN/pids")
    fi
    # Anything still running inside our namespaces (nginx workers, a stuck curl) was started by us.
    for ns in "${ECL_CREATED_NS[@]}"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            kill -KILL "$pid" 2>/dev/null || true
        done
    done
    for ns in "${ECL_CREATED_NS[@]}"; do
        ip netns del "$ns" 2>/dev/null || true
        rm -rf "/etc/netns/$ns"
    done
    if [ "${ECL_KEEP:-0}" = 1 ] || { [ $rc -ne 0 ] && [ "${ECL_KEEP:-auto}" = auto ]; }; then
        ecl_log "logs kept in $ECL_RUN"
    else
        rm -rf "$ECL_RUN"
    fi
    return $rc
}

ecl_ns_add() {
    local ns=$1
    ip netns add "$ns"
    ECL_CREATED_NS+=("$ns")
    nsx "$ns" ip link set lo up
    # New links take the "default" values: no DAD so addresses are usable at once, no RA/autoconf
    # noise, no reverse-path filter (the NAT64 and the CLAT route asymmetrically).
    nsx "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
        net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.default.autoconf=0 \
        net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
}

# ecl_veth NS_A IF_A NS_B IF_B: a veth pair created directly inside the two namespaces.
ecl_veth() {
    ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
    nsx "$1" ip link set "$2" up
    nsx "$3" ip link set "$4" up
}

# The namespaces, links, addresses and routes of every side but the CE's own configuration.
ecl_build_links() {
    local ns
    for ns in "${ECL_NAMESPACES[@]}"; do ecl_ns_add "$ns"; done

    # ecl-isp routes IPv6 and IPv4 (the NAT64 sits between them).
    nsx "$NS_ISP" sysctl -qw net.ipv6.conf.all.forwarding=1 net.ipv4.ip_forward=1

    # IPv4-only LAN host.
    ecl_veth "$NS_HOST4" h4-eth0 "$NS_CE" ce-lan
    nsx "$NS_HOST4" sysctl -qw net.ipv6.conf.h4-eth0.disable_ipv6=1
    nsx "$NS_HOST4" ip addr add "$HOST4_ADDR/24" dev h4-eth0
    nsx "$NS_HOST4" ip route add default via "$CE_LAN4"
    mkdir -p "/etc/netns/$NS_HOST4"
    echo "nameserver $CE_LAN4" >"/etc/netns/$NS_HOST4/resolv.conf"

    # CE <-> ISP.
    ecl_veth "$NS_CE" ce-wan "$NS_ISP" isp-ce
    nsx "$NS_ISP" ip addr add "$ISP_CE6/64" dev isp-ce nodad
    nsx "$NS_ISP" ip addr add "$RESOLVER6/64" dev isp-ce nodad
    nsx "$NS_ISP" ip -6 route add "$DELEGATED" via "$CE_WAN6" dev isp-ce

    # The devices transmitting toward the CE's af_packet ports must finish checksums and segment in
    # software (see offload.py). Harmless for the stand-in CE.
    nsx "$NS_HOST4" python3 "$ECL_LIB_DIR/offload.py" h4-eth0
    nsx "$NS_ISP" python3 "$ECL_LIB_DIR/offload.py" isp-ce
    nsx "$NS_CE" python3 "$ECL_LIB_DIR/offload.py" ce-lan ce-wan

    # Server segment: a bridge in ecl-isp with both servers on it.
    nsx "$NS_ISP" ip link add br-srv type bridge stp_state 0 forward_delay 0 mcast_snooping 0
    nsx "$NS_ISP" ip link set br-srv up
    nsx "$NS_ISP" ip addr add "$SRV_GW4/24" dev br-srv
    nsx "$NS_ISP" ip addr add "$SRV_GW6/64" dev br-srv nodad
    ecl_veth "$NS_SRV4" srv4-eth0 "$NS_ISP" isp-srv4
    ecl_veth "$NS_SRVDS" srvds-eth0 "$NS_ISP" isp-srvds
    nsx "$NS_ISP" ip link set isp-srv4 master br-srv
    nsx "$NS_ISP" ip link set isp-srvds master br-srv

    nsx "$NS_SRV4" sysctl -qw net.ipv6.conf.srv4-eth0.disable_ipv6=1
    nsx "$NS_SRV4" ip addr add "$SRV4_ADDR/24" dev srv4-eth0
    nsx "$NS_SRV4" ip route add default via "$SRV_GW4"

    nsx "$NS_SRVDS" ip addr add "$SRVDS_ADDR4/24" dev srvds-eth0
    nsx "$NS_SRVDS" ip addr add "$SRVDS_ADDR6/64" dev srvds-eth0 nodad
    # The names the DNS learner tests resolve (test.zone: dsl, dsl2, shortds, firstpkt, dsh).
    local i
    for i in 21 22 23 24 25 26; do
        nsx "$NS_SRVDS" ip addr add "203.0.113.$i/24" dev srvds-eth0
        nsx "$NS_SRVDS" ip addr add "2001:db8:20::$i/64" dev srvds-eth0 nodad
    done
    nsx "$NS_SRVDS" ip route add default via "$SRV_GW4"
    nsx "$NS_SRVDS" ip -6 route add default via "$SRV_GW6"
}

# ---- DNS: an authoritative unbound for test. and a DNS64 resolver forwarding to it ----

ecl_start_dns() {
    local d="$ECL_RUN/dns" i
    mkdir -p "$d"
    {
        cat "$ECL_LIB_DIR/test.zone"
        for i in $(seq 1 100); do
            printf 'large 300 IN A 203.0.113.%d\n' $((100 + i))
            printf 'large 300 IN AAAA 2001:db8:31::%x\n' "$i"
        done
    } >"$d/test.zone"

    # Authoritative (auth-zone gives the AA bit and real NODATA/NXDOMAIN with the SOA).
    # servfail.test: REFUSED here, which the resolver turns into SERVFAIL for its clients.
    cat >"$d/auth.conf" <<EOF
server:
    interface: ::1@5353
    # Also a "foreign" resolver on IPv4, reached by the LAN host through the NAT64 (the DNS
    # learner's snooping mode: a host that does not use the CE's proxy).
    interface: $SRV_GW4@53
    access-control: ::1/128 allow
    access-control: $NAT64_POOL allow
    port: 5353
    do-ip4: yes
    do-daemonize: no
    chroot: ""
    username: ""
    directory: "$d"
    pidfile: "$d/auth.pid"
    use-syslog: no
    logfile: "$d/auth.log"
    verbosity: 1
    module-config: "iterator"
    local-zone: "test." nodefault
    local-zone: "servfail.test." refuse
auth-zone:
    name: "test."
    zonefile: "$d/test.zone"
    for-downstream: yes
    for-upstream: no
    fallback-enabled: no
EOF
    # DNS64 resolver: unbound's dns64 module only synthesizes from answers it got from upstream,
    # not from its own local-data, hence the separate authoritative server above.
    cat >"$d/resolver.conf" <<EOF
server:
    interface: $RESOLVER6
    port: 53
    do-ip4: no
    do-daemonize: no
    chroot: ""
    username: ""
    directory: "$d"
    pidfile: "$d/resolver.pid"
    use-syslog: no
    logfile: "$d/resolver.log"
    verbosity: 1
    module-config: "dns64 iterator"
    dns64-prefix: $PLAT_PREFIX
    access-control: ::1/128 allow
    access-control: 2001:db8:ffff::/64 allow
    access-control: $DELEGATED allow
    do-not-query-localhost: no
    local-zone: "test." nodefault
    domain-insecure: "test."
    qname-minimisation: no
    edns-buffer-size: 1232
    max-udp-size: 1232
    # A failing upstream must not be remembered between tests.
    infra-host-ttl: 1
    serve-expired: no
forward-zone:
    name: "test."
    forward-addr: ::1@5353
EOF
    nsx "$NS_ISP" unbound-checkconf "$d/auth.conf" >/dev/null || ecl_die "auth.conf invalid"
    nsx "$NS_ISP" unbound-checkconf "$d/resolver.conf" >/dev/null || ecl_die "resolver.conf invalid"
    ecl_start unbound-auth "$NS_ISP" unbound -d -c "$d/auth.conf"
    ecl_start unbound-dns64 "$NS_ISP" unbound -d -c "$d/resolver.conf"
    ecl_wait 10 "authoritative unbound" nsx "$NS_ISP" dig +time=1 +tries=1 -p 5353 @::1 SOA test. \
        || ecl_die "authoritative unbound did not start ($d/auth.log)"
    ecl_wait 10 "DNS64 resolver" nsx "$NS_ISP" dig +time=1 +tries=1 @"$RESOLVER6" SOA test. \
        || ecl_die "DNS64 resolver did not start ($d/resolver.log)"
}

# ---- TAYGA ----

# ecl_tayga NAME NS TUN CONFIG_BODY: writes the config, creates the tun, starts tayga on it.
ecl_tayga() {
    local name=$1 ns=$2 tun=$3 body=$4 d="$ECL_RUN/$1"
    mkdir -p "$d/data"
    printf 'tun-device %s\ndata-dir %s\n%s\n' "$tun" "$d/data" "$body" >"$d/tayga.conf"
    nsx "$ns" tayga -c "$d/tayga.conf" --mktun >"$d/mktun.out" 2>&1 || ecl_die "tayga --mktun failed: $(cat "$d/mktun.out")"
    nsx "$ns" ip link set "$tun" up
    ecl_start "$name" "$ns" tayga -c "$d/tayga.conf" --nodetach
}

# The operator's NAT64 (PLAT): stateful, RFC 6052 network-specific prefix (the well-known prefix
# 64:ff9b::/96 may not carry non-global IPv4 such as 203.0.113.0/24, RFC 6052 §3.1; TAYGA enforces it).
ecl_start_nat64() {
    ecl_tayga tayga-nat64 "$NS_ISP" nat64 "$(printf 'ipv4-addr %s\nprefix %s\ndynamic-pool %s' \
        "$NAT64_ADDR4" "$PLAT_PREFIX" "$NAT64_POOL")"
    nsx "$NS_ISP" ip route add 198.51.100.0/24 dev nat64
    nsx "$NS_ISP" ip -6 route add "$PLAT_PREFIX" dev nat64
}

# ---- nginx ----

ecl_make_content() {
    local w="$ECL_RUN/www"
    mkdir -p "$w"
    head -c "$BIG_SIZE" /dev/urandom >"$w/big.bin"
    BIG_SHA=$(sha256sum "$w/big.bin" | cut -d' ' -f1)
    echo "eamclat e2e" >"$w/index.html"
}

# ecl_nginx NAME NS LISTEN...: one nginx, its own config, pid, logs and temp dirs.
# Access log line: "$remote_addr $request_uri $status $body_bytes_sent".
# /slow.bin is big.bin at 2 MB/s (10 s), for the downloads that must outlive an EAMT update or a TTL.
# /upload/NAME takes a PUT (WebDAV module) so that the LAN host can send full-size packets upstream.
ecl_nginx() {
    local name=$1 ns=$2; shift 2
    local d="$ECL_RUN/$name" listen="" l
    mkdir -p "$d/tmp"
    for l in "$@"; do listen+="        listen $l;"$'\n'; done
    cat >"$d/nginx.conf" <<EOF
user root;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 256; }
http {
    log_format ecl '\$remote_addr \$request_uri \$status \$body_bytes_sent';
    access_log $d/access.log ecl;
    client_body_temp_path $d/tmp/body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    types { application/octet-stream bin; text/html html; }
    sendfile on;
    keepalive_timeout 5;
    server {
$listen        root $ECL_RUN/www;
        location = /slow.bin {
            alias $ECL_RUN/www/big.bin;
            limit_rate 2m;
        }
        location /upload/ {
            dav_methods PUT;
            create_full_put_path on;
            client_max_body_size 64m;
        }
    }
}
EOF
    nsx "$ns" nginx -t -q -c "$d/nginx.conf" -e "$d/error.log" || ecl_die "nginx config $name invalid"
    ecl_start "$name" "$ns" nginx -c "$d/nginx.conf" -e "$d/error.log" -g 'daemon off;'
}

ecl_start_web() {
    ecl_make_content
    ecl_nginx nginx-srv4 "$NS_SRV4" "0.0.0.0:80"
    ecl_nginx nginx-srvds "$NS_SRVDS" "0.0.0.0:80" "[::]:80 ipv6only=on"
    ecl_wait 10 "nginx srv4" nsx "$NS_SRV4" curl -sf -o /dev/null "http://$SRV4_ADDR/" \
        || ecl_die "nginx in $NS_SRV4 did not start"
    ecl_wait 10 "nginx srvds" nsx "$NS_SRVDS" curl -sf -o /dev/null "http://[$SRVDS_ADDR6]/" \
        || ecl_die "nginx in $NS_SRVDS did not start"
}

# Everything on the operator's side.
ecl_build_isp() {
    ecl_build_links
    ecl_start_dns
    ecl_start_nat64
    ecl_start_web
}

# ---- CE ----

# A stand-in CE built from TAYGA in stateless mode, to prove the topology and the checks before the
# daemon exists: map 192.168.1.100 <-> CLAT address, static EAM 203.0.113.20 <-> 2001:db8:20::20,
# everything else through the PLAT prefix.
ecl_build_ce_standin() {
    nsx "$NS_CE" sysctl -qw net.ipv6.conf.all.forwarding=1 net.ipv4.ip_forward=1
    nsx "$NS_CE" ip addr add "$CE_LAN4/24" dev ce-lan
    nsx "$NS_CE" ip addr add "$CE_LAN6/64" dev ce-lan nodad
    nsx "$NS_CE" ip addr add "$CE_WAN6/64" dev ce-wan nodad
    nsx "$NS_CE" ip -6 route add default via "$ISP_CE6" dev ce-wan
    # TAYGA's own addresses (source of the ICMP errors it makes): 192.0.0.2 from the 464XLAT range
    # (RFC 7335) and an address of the delegated prefix that the ISP routes back to us.
    ecl_tayga tayga-clat "$NS_CE" clat "$(printf '%s\n' \
        "ipv4-addr 192.0.0.2" "ipv6-addr 2001:db8:1:fe::2" "prefix $PLAT_PREFIX" \
        "map $HOST4_ADDR $HOST4_CLAT6" "map $SRVDS_ADDR4 $SRVDS_ADDR6")"
    nsx "$NS_CE" ip route add default dev clat
    nsx "$NS_CE" ip route add 192.0.0.0/29 dev clat
    nsx "$NS_CE" ip -6 route add "$CLAT_PREFIX" dev clat
    nsx "$NS_CE" ip -6 route add 2001:db8:1:fe::/64 dev clat
}

# For eamclat: the veths stay bare (no addresses; the daemon's TAP interfaces carry the box's
# addresses). IPv6 off on them so that the kernel sends nothing of its own on the ports.
ecl_build_ce_bare() {
    nsx "$NS_CE" sysctl -qw net.ipv6.conf.ce-lan.disable_ipv6=1 net.ipv6.conf.ce-wan.disable_ipv6=1
}

# ecl_set_wan_mtu MTU: both ends of the CE <-> ISP link. Telling the daemon (its config) is the
# caller's business.
ecl_set_wan_mtu() {
    nsx "$NS_CE" ip link set ce-wan mtu "$1"
    nsx "$NS_ISP" ip link set isp-ce mtu "$1"
}
