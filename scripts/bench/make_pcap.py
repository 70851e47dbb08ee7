#!/usr/bin/python3
"""Writes the benchmark's input pcaps (no scapy: 256k packets must take a second, not a minute).

The address plan is shared with tests/bench/bench.cpp (keep both in sync; both cite this list):
  LAN hosts         198.18.0.1 .. 198.18.0.200      (LAN subnet 198.18.0.0/24, RFC 2544 range)
  EAMT entry i      IPv4 base4 + i  <->  IPv6 2001:2:0:1::i (low 32 bits = i)   (RFC 2544 / RFC 5180)
                    base4 = 198.19.0.0 while the table fits in it (<= 65536 entries); the 1M table
                    does not fit in 198.18.0.0/15 (131,072 addresses) and uses 10.0.0.0/12.
  CLAT prefix       2001:2:0:c1a7::/96    PLAT prefix 2001:2:0:6464::/96
  flow f            host 198.18.0.(1 + f % 200), host port 1024 + (f // 200) % 64000,
                    remote = entry (f * 2654435761) % eamt, remote port 53 (UDP) / 443 (TCP)
  MACs              LAN port 02:00:00:00:00:01, WAN port 02:00:00:00:00:02,
                    LAN hosts 02:00:00:00:01:xx, WAN gateway 02:00:00:00:00:fe

Packet kinds:
  udp64     4->6: 64-byte frames (60 bytes without FCS) of IPv4 UDP   -> 84-byte IPv6 frames
            6->4: 84-byte frames of IPv6 UDP                           -> 64-byte IPv4 frames
            (--frame-size for the other RFC 2544 sizes: the IPv4 frame's size, the IPv6 one 20 more)
  imix      4->6 TCP (ACK, established), simple IMIX 7:4:1 of 64/594/1498-byte frames (1498: the
            largest IPv4 frame whose translation fits a 1500-byte IPv6 MTU)
  icmperr   4->6: ICMPv4 port unreachable from a LAN host about a packet of the remote
            6->4: ICMPv6 port unreachable from the remote about a packet of the LAN host
Each packet picks (uniformly at random, fixed seed) an EAMT entry, or a flow when --flows is given.
"""
import argparse
import random
import struct
import sys

LAN_MAC = bytes.fromhex('020000000001')
WAN_MAC = bytes.fromhex('020000000002')
GW_MAC = bytes.fromhex('0200000000fe')
HOSTS = 200


def host_mac(h):
    return bytes.fromhex('0200000001') + bytes([h & 0xff])


def csum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def ip4(a):
    return struct.pack('!I', a)


def ip6_entry(i):
    return bytes.fromhex('20010002000000010000000000000000')[:12] + struct.pack('!I', i)


def clat6(v4):
    return bytes.fromhex('200100020000c1a70000000000000000')[:12] + ip4(v4)


def host4(h):
    return (198 << 24) | (18 << 16) | h


def ipv4_header(src, dst, proto, payload_len, ttl=64):
    hdr = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + payload_len, 0x1234, 0x4000, ttl, proto, 0, ip4(src), ip4(dst))
    return hdr[:10] + struct.pack('!H', csum(hdr)) + hdr[12:]


def l4_csum4(src, dst, proto, seg):
    return csum(ip4(src) + ip4(dst) + struct.pack('!BBH', 0, proto, len(seg)) + seg)


def l4_csum6(src, dst, nh, seg):
    return csum(src + dst + struct.pack('!IxxxB', len(seg), nh) + seg)


def udp4(src, dst, sport, dport, payload):
    seg = struct.pack('!HHHH', sport, dport, 8 + len(payload), 0) + payload
    c = l4_csum4(src, dst, 17, seg) or 0xffff
    return seg[:6] + struct.pack('!H', c) + seg[8:]


def udp6(src, dst, sport, dport, payload):
    seg = struct.pack('!HHHH', sport, dport, 8 + len(payload), 0) + payload
    c = l4_csum6(src, dst, 17, seg) or 0xffff
    return seg[:6] + struct.pack('!H', c) + seg[8:]


def tcp4(src, dst, sport, dport, payload):
    seg = struct.pack('!HHIIBBHHH', sport, dport, 1000, 2000, 5 << 4, 0x10, 65535, 0, 0) + payload
    c = l4_csum4(src, dst, 6, seg)
    return seg[:16] + struct.pack('!H', c) + seg[18:]


def ipv6_header(src, dst, nh, payload_len, hlim=64):
    return struct.pack('!IHBB', 6 << 28, payload_len, nh, hlim) + src + dst


def eth(dst, src, ethertype, payload):
    return dst + src + struct.pack('!H', ethertype) + payload


def pad60(frame):
    return frame + b'\0' * (60 - len(frame)) if len(frame) < 60 else frame


class Plan:
    def __init__(self, eamt, base4, flows):
        self.eamt, self.base4, self.flows = eamt, base4, flows

    def pick(self, rng):
        """(host index 1..200, entry index, host port, remote-port salt)"""
        if self.flows:
            f = rng.randrange(self.flows)
            return 1 + f % HOSTS, (f * 2654435761) % self.eamt, 1024 + (f // HOSTS) % 64000
        return 1 + rng.randrange(HOSTS), rng.randrange(self.eamt), 1024 + rng.randrange(64000)


FRAME = {'size': 64}  # --frame-size: IPv4 frame on the wire, FCS included


def udp64_4to6(p, rng):
    h, e, hp = p.pick(rng)
    src, dst = host4(h), p.base4 + e
    # 64-byte frame on the wire = 14 + 20 + 8 + 18 payload + 4 FCS (not in the pcap)
    l4 = udp4(src, dst, hp, 53, b'\0' * (FRAME['size'] - 4 - 14 - 20 - 8))
    return eth(LAN_MAC, host_mac(h), 0x0800, ipv4_header(src, dst, 17, len(l4)) + l4)


def udp64_6to4(p, rng):
    h, e, hp = p.pick(rng)
    src, dst = ip6_entry(e), clat6(host4(h))
    # 84-byte frame on the wire = 14 + 40 + 8 + 18 payload + 4 FCS: what a 64-byte IPv4 frame
    # becomes 4->6, and becomes again 6->4
    l4 = udp6(src, dst, 53, hp, b'\0' * (FRAME['size'] - 4 - 14 - 20 - 8))
    return eth(WAN_MAC, GW_MAC, 0x86dd, ipv6_header(src, dst, 17, len(l4)) + l4)


# Simple IMIX 7:4:1 of 64/594/1518-byte frames, except that the large frame is 1498 bytes: a
# 1500-byte IPv4 packet becomes 1520 bytes of IPv6, over the 1500-byte IPv6 MTU, and is answered
# with an ICMPv4 "fragmentation needed" (RFC 7915 §4 / RFC 1191) instead of being translated.
IMIX = [60] * 7 + [590] * 4 + [1494]


def imix_4to6(p, rng):
    h, e, hp = p.pick(rng)
    size = IMIX[rng.randrange(len(IMIX))]
    src, dst = host4(h), p.base4 + e
    payload = b'\0' * (size - 14 - 20 - 20)
    l4 = tcp4(src, dst, hp, 443, payload)
    return eth(LAN_MAC, host_mac(h), 0x0800, ipv4_header(src, dst, 6, len(l4)) + l4)


def icmperr_4to6(p, rng):
    h, e, hp = p.pick(rng)
    host, remote = host4(h), p.base4 + e
    # The packet the host refuses: remote -> host UDP, 8 bytes of payload.
    inner_l4 = udp4(remote, host, 53, hp, b'\0' * 8)
    inner = ipv4_header(remote, host, 17, len(inner_l4)) + inner_l4
    icmp = struct.pack('!BBHI', 3, 3, 0, 0) + inner
    icmp = icmp[:2] + struct.pack('!H', csum(icmp)) + icmp[4:]
    return eth(LAN_MAC, host_mac(h), 0x0800, ipv4_header(host, remote, 1, len(icmp)) + icmp)


def icmperr_6to4(p, rng):
    h, e, hp = p.pick(rng)
    remote, host = ip6_entry(e), clat6(host4(h))
    inner_l4 = udp6(host, remote, hp, 53, b'\0' * 8)
    inner = ipv6_header(host, remote, 17, len(inner_l4)) + inner_l4
    icmp = struct.pack('!BBHI', 1, 4, 0, 0) + inner
    c = l4_csum6(remote, host, 58, icmp)
    icmp = icmp[:2] + struct.pack('!H', c) + icmp[4:]
    return eth(WAN_MAC, GW_MAC, 0x86dd, ipv6_header(remote, host, 58, len(icmp)) + icmp)


KINDS = {
    ('udp64', '4to6'): udp64_4to6,
    ('udp64', '6to4'): udp64_6to4,
    ('imix', '4to6'): imix_4to6,
    ('icmperr', '4to6'): icmperr_4to6,
    ('icmperr', '6to4'): icmperr_6to4,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--kind', choices=['udp64', 'imix', 'icmperr'], required=True)
    ap.add_argument('--direction', choices=['4to6', '6to4'], required=True)
    ap.add_argument('--eamt', type=int, required=True, help='EAMT entries in the table under test')
    ap.add_argument('--base4', default=None, help='IPv4 of entry 0 (default: 198.19.0.0, 10.0.0.0 above 65536 entries)')
    ap.add_argument('--flows', type=int, default=0, help='pick packets among this many pre-created flows')
    ap.add_argument('--packets', type=int, required=True, help='distinct packets in the pcap')
    ap.add_argument('--seed', type=int, default=2544)
    ap.add_argument('--frame-size', type=int, default=64,
                    help='udp64 kind: size of the IPv4 frame (FCS included) of the 4->6 packet or of the 6->4 result '
                         '(RFC 2544 §9.1 / RFC 8219 §5.1 sizes: 64 128 256 512 1024 1280 1518)')
    ap.add_argument('-o', '--output', required=True)
    a = ap.parse_args()
    if not 64 <= a.frame_size <= 1518:
        sys.exit('--frame-size must be 64..1518')
    FRAME['size'] = a.frame_size
    gen = KINDS.get((a.kind, a.direction))
    if gen is None:
        sys.exit(f'no {a.kind} generator for {a.direction}')
    base4 = a.base4 or ('198.19.0.0' if a.eamt <= 65536 else '10.0.0.0')
    b = [int(x) for x in base4.split('.')]
    plan = Plan(a.eamt, (b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3], a.flows)
    rng = random.Random(a.seed)
    with open(a.output, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i in range(a.packets):
            frame = pad60(gen(plan, rng))
            f.write(struct.pack('<IIII', i // 1000000, i % 1000000, len(frame), len(frame)))
            f.write(frame)


if __name__ == '__main__':
    main()
