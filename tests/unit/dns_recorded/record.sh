#!/usr/bin/env bash
# Records real DNS answers for ut_dns_recorded: an authoritative unbound with the e2e zone
# (tests/e2e/lib/test.zone) and an unbound DNS64 resolver in front of it (2001:db8:64::/96), both
# on loopback; every query's raw answer is saved as NAME-TYPE.bin. Re-run to refresh the files.
set -euo pipefail
cd "$(dirname "$0")"
here=$PWD
d=$(mktemp -d)
trap 'kill $(cat "$d"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$d"' EXIT
cp ../../e2e/lib/test.zone "$d/test.zone"
cat >"$d/auth.conf" <<EOF
server:
    interface: 127.0.0.1@53531
    do-ip6: no
    do-daemonize: no
    chroot: ""
    username: ""
    directory: "$d"
    pidfile: "$d/auth.pid"
    use-syslog: no
    module-config: "iterator"
    local-zone: "test." nodefault
auth-zone:
    name: "test."
    zonefile: "$d/test.zone"
    for-downstream: yes
    for-upstream: no
EOF
cat >"$d/res.conf" <<EOF
server:
    interface: 127.0.0.1@53532
    do-ip6: no
    do-daemonize: no
    chroot: ""
    username: ""
    directory: "$d"
    pidfile: "$d/res.pid"
    use-syslog: no
    module-config: "dns64 iterator"
    dns64-prefix: 2001:db8:64::/96
    dns64-synthall: no
    do-not-query-localhost: no
    local-zone: "test." nodefault
    rrset-roundrobin: no
forward-zone:
    name: "test."
    forward-addr: 127.0.0.1@53531
EOF
unbound -c "$d/auth.conf" & echo $! >"$d/auth.pid"
unbound -c "$d/res.conf" & echo $! >"$d/res.pid"
sleep 1
/usr/bin/python3 - "$here" <<'EOF'
import socket, struct, sys, random, time
out = sys.argv[1]
def q(name, qtype):
    qid = random.randrange(65536)
    wire = b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"
    pkt = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 1) + wire + struct.pack("!HH", qtype, 1)
    pkt += b"\0" + struct.pack("!HHIH", 41, 1232, 0, 0)  # EDNS, 1232
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3)
    for _ in range(5):
        s.sendto(pkt, ("127.0.0.1", 53532))
        try:
            return s.recv(65535)
        except socket.timeout:
            time.sleep(0.2)
    raise SystemExit(f"no answer for {name} {qtype}")
for name in ["ds.test", "v4only.test", "cname.test", "cname4.test", "multi.test", "conflict-a.test",
             "conflict-b.test", "nodata.test", "nosuchname.test", "v6only.test"]:
    for qtype, tname in ((1, "A"), (28, "AAAA")):
        with open(f"{out}/{name}-{tname}.bin", "wb") as f:
            f.write(q(name, qtype))
print("recorded")
EOF
