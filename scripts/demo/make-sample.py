#!/usr/bin/python3
"""Builds sample-clat.pcap: what a home CE's CLAT sees from one IPv4-only TV (192.168.1.100)
and from the IPv6 side, for scripts/demo.sh. Regenerate with: python3 make-sample.py"""
from scapy.all import Ether, IP, IPv6, UDP, TCP, ICMP, ICMPv6EchoReply, Raw, wrpcap

TV = "192.168.1.100"
CDN4, CDN6 = "203.0.113.20", "2001:db8:20::20"      # dual-stack CDN with a static EAMT entry
WEB4 = "203.0.113.10"                              # IPv4-only site: through the PLAT (NAT64)
CLAT6 = "2001:db8:1:ff::c0a8:164"                  # 2001:db8:1:ff::/96 + 192.168.1.100
PLAT_WEB6 = "2001:db8:64::cb00:710a"               # 2001:db8:64::/96 + 203.0.113.10
lan = Ether(src="02:00:00:00:01:00", dst="02:00:00:00:00:01")

pkts = [
    # 4->6 over the EAMT: TCP SYN to the CDN.
    lan / IP(src=TV, dst=CDN4, ttl=64, id=0x1234) / TCP(sport=40000, dport=443, flags="S", seq=1000),
    # 4->6 through the PLAT prefix: TCP SYN to an IPv4-only site.
    lan / IP(src=TV, dst=WEB4, ttl=64, id=0x1235) / TCP(sport=40001, dport=80, flags="S", seq=2000),
    # 4->6 ping to the CDN.
    lan / IP(src=TV, dst=CDN4, ttl=64, id=0x1236) / ICMP(type=8, id=7, seq=1) / Raw(b"eamclat demo"),
    # TTL 1: the CLAT answers with ICMPv4 Time Exceeded (traceroute's first hop).
    lan / IP(src=TV, dst=CDN4, ttl=1, id=0x1237) / UDP(sport=33434, dport=33434) / Raw(b"trace"),
    # 6->4: the CDN's echo reply, back to the TV.
    IPv6(src=CDN6, dst=CLAT6, hlim=60) / ICMPv6EchoReply(id=7, seq=1, data=b"eamclat demo"),
    # 6->4: the IPv4-only site's SYN-ACK through the PLAT.
    IPv6(src=PLAT_WEB6, dst=CLAT6, hlim=60) / TCP(sport=80, dport=40001, flags="SA", seq=9000, ack=2001),
]
# Mixed link types are not allowed in one pcap: frame the IPv6 packets in Ethernet too.
wan = Ether(src="02:00:00:00:02:00", dst="02:00:00:00:00:02")
pkts = [p if isinstance(p, Ether) else wan / p for p in pkts]
wrpcap("sample-clat.pcap", pkts)
print(f"wrote sample-clat.pcap with {len(pkts)} packets")
