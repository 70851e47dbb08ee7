#!/usr/bin/python3
"""Fixtures and checks of the daemon smoke test (smoke.sh).

  smoke.py gen DIR     writes DIR/lan_in.pcap and DIR/wan_in.pcap
  smoke.py check DIR   checks DIR/lan_out.pcap and DIR/wan_out.pcap against the expectations

Each input frame is built by scapy (not by the code under test); each expectation names the
packet it checks. Checksums of output packets are verified by recomputing them with scapy.
"""
import sys
from scapy.all import (ARP, ICMP, IP, TCP, UDP, Dot1Q, Ether, ICMPv6EchoRequest, ICMPv6ND_NS,
                       ICMPv6NDOptSrcLLAddr, ICMPv6ND_NA, ICMPv6EchoReply, ICMPv6TimeExceeded, IPv6, Raw, rdpcap, wrpcap)

LAN_MAC, WAN_MAC = "02:00:00:00:01:01", "02:00:00:00:02:02"
HOST_MAC, GW_MAC = "02:00:00:00:00:64", "02:00:00:00:ff:01"
HOST4, HOST6 = "192.168.1.100", "2001:db8:1:1::100"
HOST4_CLAT = "2001:db8:1:ff::c0a8:164"  # CLAT prefix + 192.168.1.100 (RFC 6052 /96)


def lan_inputs():
    h = Ether(src=HOST_MAC, dst=LAN_MAC)
    return [
        # 1: EAMT destination -> 2001:db8:20::20
        h / IP(src=HOST4, dst="203.0.113.20", ttl=64, id=1) / UDP(sport=1234, dport=80) / Raw(b"eamt"),
        # 2: no EAMT entry -> PLAT prefix
        h / IP(src=HOST4, dst="203.0.113.10", ttl=64, id=2) / TCP(sport=40000, dport=80, flags="S", seq=1000),
        # 3: ping of the box: to the kernel (no TAP here: counted, dropped)
        h / IP(src=HOST4, dst="192.168.1.1") / ICMP(type=8, id=7, seq=1),
        # 4: native IPv6 from the delegated prefix -> WAN gateway, hop limit 64 -> 63
        h / IPv6(src=HOST6, dst="2001:db8:20::20", hlim=64) / ICMPv6EchoRequest(id=9, seq=1),
        # 5: VLAN-tagged: dropped
        h / Dot1Q(vlan=5) / IP(src=HOST4, dst="203.0.113.20") / UDP(),
        # 6: unicast to another MAC: dropped
        Ether(src=HOST_MAC, dst="02:00:00:00:99:99") / IP(src=HOST4, dst="203.0.113.20") / UDP(),
        # 7: ARP request for the box: to the kernel
        Ether(src=HOST_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=HOST_MAC, psrc=HOST4, pdst="192.168.1.1"),
        # 8: TTL 1: ICMPv4 Time Exceeded back to the host (RFC 7915 §4.1 / RFC 1812)
        h / IP(src=HOST4, dst="203.0.113.20", ttl=1, id=8) / UDP(sport=5555, dport=53) / Raw(b"ttl1"),
        # 9: source outside the LAN subnet (spoofed): dropped, nothing leaves with a CLAT address
        h / IP(src="10.0.0.5", dst="203.0.113.20") / UDP(sport=1, dport=2),
        # 10: native IPv6 with hop limit 1: ICMPv6 Time Exceeded from the box's LAN address
        h / IPv6(src=HOST6, dst="2001:db8:20::20", hlim=1) / UDP(sport=33434, dport=33435) / Raw(b"trace6"),
    ]


def wan_inputs():
    g = Ether(src=GW_MAC, dst=WAN_MAC)
    return [
        # 1: reply from the EAMT peer -> 203.0.113.20 -> 192.168.1.100 (host MAC learned from LAN traffic)
        g / IPv6(src="2001:db8:20::20", dst=HOST4_CLAT, hlim=60) / UDP(sport=80, dport=1234) / Raw(b"back"),
        # 2: native IPv6 to a LAN host
        g / IPv6(src="2001:db8:20::20", dst=HOST6, hlim=60) / ICMPv6EchoRequest(id=9, seq=2),
        # 3: IPv4 on the WAN: dropped
        g / IP(src="203.0.113.1", dst="192.168.1.100") / UDP(),
        # 4: to nobody: dropped (no route)
        g / IPv6(src="2001:db8:20::20", dst="2001:db8:99::1") / UDP(),
        # 5: CLAT prefix + 8.8.8.8: translated, but no LAN host can be that: not ARPed, dropped
        g / IPv6(src="2001:db8:20::20", dst="2001:db8:1:ff::808:808") / UDP(sport=80, dport=1234),
    ]


def tap_lan_inputs():
    """For tap.sh: the kernel behind the TAP answers ARP, ping and ping6 of the box."""
    h = Ether(src=HOST_MAC, dst=LAN_MAC)
    return [
        Ether(src=HOST_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=HOST_MAC, psrc=HOST4, pdst="192.168.1.1"),
        h / IP(src=HOST4, dst="192.168.1.1") / ICMP(type=8, id=7, seq=1) / Raw(b"ping-the-box"),
        # NS with the host's link-layer address first, so that the kernel can answer the ping6
        Ether(src=HOST_MAC, dst="33:33:ff:00:00:01")
        / IPv6(src=HOST6, dst="ff02::1:ff00:1", hlim=255)
        / ICMPv6ND_NS(tgt="2001:db8:1:1::1") / ICMPv6NDOptSrcLLAddr(lladdr=HOST_MAC),
        h / IPv6(src=HOST6, dst="2001:db8:1:1::1") / ICMPv6EchoRequest(id=9, seq=3, data=b"ping6-the-box"),
    ]


def check_tap(d):
    lan = rdpcap(f"{d}/lan_out.pcap")
    print(f"lan_out: {len(lan)} packets")
    for p in lan:
        print("     ", p.summary())
    replies = [p for p in lan if ARP in p and p[ARP].op == 2]
    expect(len(replies) >= 1 and replies[0][ARP].psrc == "192.168.1.1" and replies[0][ARP].hwsrc == LAN_MAC
           and replies[0][Ether].src == LAN_MAC and replies[0][ARP].pdst == HOST4,
           "kernel ARP reply for 192.168.1.1 with the LAN port's MAC")
    echo = [p for p in lan if ICMP in p and p[ICMP].type == 0]
    expect(len(echo) == 1 and echo[0][IP].src == "192.168.1.1" and echo[0][IP].dst == HOST4
           and echo[0][Ether].dst == HOST_MAC and bytes(echo[0][ICMP].payload) == b"ping-the-box",
           "kernel echo reply to the host")
    na = [p for p in lan if ICMPv6ND_NA in p]
    expect(len(na) >= 1 and na[0][ICMPv6ND_NA].tgt == "2001:db8:1:1::1" and na[0][Ether].src == LAN_MAC,
           "kernel NA for 2001:db8:1:1::1 from the LAN port's MAC")
    echo6 = [p for p in lan if ICMPv6EchoReply in p]
    expect(len(echo6) == 1 and echo6[0][IPv6].dst == HOST6 and echo6[0][Ether].dst == HOST_MAC,
           "kernel echo6 reply to the host")
    return not failures


failures = []


def expect(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def checksums_ok(pkt):
    """Rebuilds the packet with scapy computing every checksum; True if nothing changes."""
    clone = pkt.copy()
    for layer in (IP, TCP, UDP, ICMP):
        if layer in clone:
            del clone[layer].chksum
    if IPv6 in clone and clone[IPv6].nh == 58:
        del clone[IPv6].payload.cksum
    elif IPv6 in clone and ICMPv6EchoRequest in clone:
        del clone[ICMPv6EchoRequest].cksum
    elif IPv6 in clone and ICMPv6TimeExceeded in clone:
        del clone[ICMPv6TimeExceeded].cksum
    return bytes(clone.__class__(bytes(clone))) == bytes(pkt)


def check(d):
    wan = rdpcap(f"{d}/wan_out.pcap")
    lan = rdpcap(f"{d}/lan_out.pcap")
    print(f"wan_out: {len(wan)} packets, lan_out: {len(lan)} packets")
    for p in wan:
        expect(p[Ether].src == WAN_MAC and p[Ether].dst == GW_MAC and p.type == 0x86dd,
               f"WAN frame {p.summary()}: from the WAN MAC to the gateway MAC")
    # The WAN reply (WAN 1) and WAN 2 may arrive before the control thread has learned the host's
    # MACs from the LAN sightings: the worker then holds them and the control thread resolves.
    resolution = [p for p in lan if ARP in p or ICMPv6ND_NS in p]
    for p in resolution:
        if ARP in p:
            expect(p[Ether].dst == "ff:ff:ff:ff:ff:ff" and p[ARP].op == 1 and p[ARP].psrc == "192.168.1.1"
                   and p[ARP].hwsrc == LAN_MAC and p[ARP].pdst == HOST4, "resolution: ARP request for the host")
        else:
            expect(p[Ether].dst == "33:33:ff:00:01:00" and p[IPv6].dst == "ff02::1:ff00:100"
                   and p[IPv6].hlim == 255 and p[ICMPv6ND_NS].tgt == HOST6
                   and p[ICMPv6NDOptSrcLLAddr].lladdr == LAN_MAC and checksums_ok(p),
                   "resolution: NS for the host to its solicited-node group")
    lan = [p for p in lan if p not in resolution]
    for p in lan:
        expect(p[Ether].src == LAN_MAC and p[Ether].dst == HOST_MAC, f"LAN frame {p.summary()}: to the host MAC")

    udp = [p for p in wan if IPv6 in p and UDP in p and p[IPv6].dst == "2001:db8:20::20"]
    expect(len(udp) == 1, "LAN 1: translated to IPv6 toward the EAMT peer")
    if udp:
        p = udp[0]
        expect(p[IPv6].src == HOST4_CLAT, "LAN 1: source = CLAT prefix + 192.168.1.100")
        expect(p[IPv6].hlim == 63, "LAN 1: hop limit = TTL - 1")
        expect(p[UDP].sport == 1234 and bytes(p[UDP].payload) == b"eamt", "LAN 1: ports and payload kept")
        expect(checksums_ok(p), "LAN 1: UDP checksum correct")

    tcp = [p for p in wan if IPv6 in p and TCP in p]
    expect(len(tcp) == 1 and tcp[0][IPv6].dst == "2001:db8:64::cb00:710a",
           "LAN 2: 203.0.113.10 -> PLAT prefix 2001:db8:64::cb00:710a")
    if tcp:
        expect(checksums_ok(tcp[0]), "LAN 2: TCP checksum correct")

    native = [p for p in wan if IPv6 in p and ICMPv6EchoRequest in p]
    expect(len(native) == 1 and native[0][IPv6].src == HOST6 and native[0][IPv6].hlim == 63,
           "LAN 4: native IPv6 forwarded to the WAN, hop limit 63")
    expect(len(wan) == 3, "WAN: exactly the 3 packets above")

    back = [p for p in lan if IP in p and UDP in p and p[IP].src == "203.0.113.20"]
    expect(len(back) == 1, "WAN 1: translated to IPv4 toward the LAN host")
    if back:
        p = back[0]
        expect(p[IP].dst == HOST4 and p[UDP].dport == 1234 and bytes(p[UDP].payload) == b"back",
               "WAN 1: to 192.168.1.100:1234, payload kept")
        expect(p[IP].ttl == 59, "WAN 1: TTL = hop limit - 1")
        expect(checksums_ok(p), "WAN 1: IPv4 and UDP checksums correct")

    te = [p for p in lan if ICMP in p and p[ICMP].type == 11]
    expect(len(te) == 1, "LAN 8: ICMPv4 Time Exceeded back to the host")
    if te:
        expect(te[0][IP].dst == HOST4 and checksums_ok(te[0]), "LAN 8: to the host, checksums correct")

    n6 = [p for p in lan if ICMPv6EchoRequest in p]
    expect(len(n6) == 1 and n6[0][IPv6].dst == HOST6 and n6[0][IPv6].hlim == 59,
           "WAN 2: native IPv6 forwarded to the LAN host (MAC learned from its IPv6), hop limit 59")
    te6 = [p for p in lan if ICMPv6TimeExceeded in p]
    expect(len(te6) == 1, "LAN 10: ICMPv6 Time Exceeded back to the host")
    if te6:
        p = te6[0]
        expect(p[IPv6].src == "2001:db8:1:1::1" and p[IPv6].dst == HOST6 and p[IPv6].hlim == 255
               and p[ICMPv6TimeExceeded].code == 0, "LAN 10: from the box's LAN address, code 0")
        expect(bytes(p[ICMPv6TimeExceeded].payload) == bytes(lan_inputs()[9][IPv6]),
               "LAN 10: carries the invoking packet unchanged")
        expect(checksums_ok(p), "LAN 10: ICMPv6 checksum correct")
    expect(len(lan) == 4, "LAN: exactly the 4 packets above")
    return not failures


if __name__ == "__main__":
    cmd, d = sys.argv[1], sys.argv[2]
    if cmd == "gen":
        wrpcap(f"{d}/lan_in.pcap", lan_inputs())
        wrpcap(f"{d}/wan_in.pcap", wan_inputs())
    elif cmd == "gen-tap":
        wrpcap(f"{d}/lan_in.pcap", tap_lan_inputs())
        wrpcap(f"{d}/wan_in.pcap", [Ether(src=GW_MAC, dst=WAN_MAC) / IP(src="203.0.113.1", dst=HOST4) / UDP()])
    elif cmd == "check-tap":
        ok = check_tap(d)
        print("tap: PASS" if ok else f"tap: FAIL ({len(failures)} failed)")
        sys.exit(0 if ok else 1)
    elif cmd == "check":
        ok = check(d)
        print("smoke: PASS" if ok else f"smoke: FAIL ({len(failures)} failed)")
        sys.exit(0 if ok else 1)
    else:
        sys.exit("usage: smoke.py gen|check DIR")
