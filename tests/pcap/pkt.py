"""Byte-exact packet builders for the conformance fixtures (used by gen.py).

Every header is built from its RFC layout with struct, and every checksum is computed here
(RFC 1071 one's complement sum), so the expected packets do not depend on the code under test
nor on scapy's defaults. scapy is used by gen.py for Ethernet framing and for writing pcaps.
"""
import ipaddress
import struct

PROTO_ICMP = 1
PROTO_TCP = 6
PROTO_UDP = 17
PROTO_ICMP6 = 58
NH_HOPOPT = 0
NH_ROUTING = 43
NH_FRAGMENT = 44
NH_DSTOPTS = 60


def a4(s):
    return ipaddress.IPv4Address(s).packed


def a6(s):
    return ipaddress.IPv6Address(s).packed


def is6(s):
    return ':' in s


def addr(s):
    return a6(s) if is6(s) else a4(s)


def csum_fold(data, initial=0):
    """RFC 1071 one's complement sum, folded to 16 bits (not inverted)."""
    if len(data) % 2:
        data += b'\0'
    s = initial
    for (w,) in struct.iter_unpack('!H', data):
        s += w
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def checksum(data, initial=0):
    return (~csum_fold(data, initial)) & 0xffff


def pseudo(src, dst, proto, length):
    """RFC 768/793 IPv4 pseudo-header or RFC 8200 §8.1 IPv6 pseudo-header."""
    if is6(src):
        return a6(src) + a6(dst) + struct.pack('!IxxxB', length, proto)
    return a4(src) + a4(dst) + struct.pack('!xBH', proto, length)


# ---------------------------------------------------------------------------------------------
# Transport layers. src/dst give the pseudo-header family; length_for_pseudo lets a caller build
# the first bytes of a longer datagram (the checksum always covers the whole datagram).

def udp(src, dst, sport, dport, data, csum=None, length=None):
    length = 8 + len(data) if length is None else length
    hdr = struct.pack('!HHHH', sport, dport, length, 0)
    if csum is None:
        c = checksum(pseudo(src, dst, PROTO_UDP, length) + hdr + data)
        csum = 0xffff if c == 0 else c  # RFC 768: a computed zero is sent as all ones
    return struct.pack('!HHHH', sport, dport, length, csum) + data


def tcp(src, dst, sport, dport, seq, ack, flags, data, window=8192):
    hdr = struct.pack('!HHIIBBHHH', sport, dport, seq, ack, 5 << 4, flags, window, 0, 0)
    c = checksum(pseudo(src, dst, PROTO_TCP, len(hdr) + len(data)) + hdr + data)
    return hdr[:16] + struct.pack('!H', c) + hdr[18:] + data


def icmp4(typ, code, rest, body):
    """ICMPv4 (RFC 792): type, code, checksum, 4 bytes of 'rest' (id/seq, unused, MTU, pointer)."""
    assert len(rest) == 4
    msg = struct.pack('!BBH', typ, code, 0) + rest + body
    return msg[:2] + struct.pack('!H', checksum(msg)) + msg[4:]


def icmp6(src, dst, typ, code, rest, body, length=None):
    """ICMPv6 (RFC 4443 §2.3): checksum over the pseudo-header too. length: the upper-layer
    length used in the pseudo-header (the message's own length unless building a prefix)."""
    assert len(rest) == 4
    msg = struct.pack('!BBH', typ, code, 0) + rest + body
    length = len(msg) if length is None else length
    c = checksum(pseudo(src, dst, PROTO_ICMP6, length) + msg)
    return msg[:2] + struct.pack('!H', c) + msg[4:]


def echo_rest(ident, seq):
    return struct.pack('!HH', ident, seq)


def mtu4_rest(mtu):
    return struct.pack('!HH', 0, mtu)  # RFC 1191: unused(16) + next-hop MTU(16)


def mtu6_rest(mtu):
    return struct.pack('!I', mtu)


def ptr4_rest(ptr):
    return struct.pack('!Bxxx', ptr)


def ptr6_rest(ptr):
    return struct.pack('!I', ptr)


ZERO4 = b'\0\0\0\0'


# ---------------------------------------------------------------------------------------------
# IP layers.

def ip4(src, dst, proto, payload, ttl=64, tos=0, ident=0, df=False, mf=False, frag_off=0,
        options=b'', total_len=None, ihl=None, hdr_csum=None, version=4):
    assert len(options) % 4 == 0
    ihl = 5 + len(options) // 4 if ihl is None else ihl
    total_len = 20 + len(options) + len(payload) if total_len is None else total_len
    flags = (0x4000 if df else 0) | (0x2000 if mf else 0) | (frag_off & 0x1fff)
    hdr = struct.pack('!BBHHHBBH4s4s', (version << 4) | ihl, tos, total_len, ident, flags, ttl,
                      proto, 0, a4(src), a4(dst)) + options
    if hdr_csum is None:
        hdr_csum = checksum(hdr)
    return hdr[:10] + struct.pack('!H', hdr_csum) + hdr[12:] + payload


def ip6(src, dst, nh, payload, hlim=64, tc=0, fl=0, plen=None):
    plen = len(payload) if plen is None else plen
    first = (6 << 28) | (tc << 20) | fl
    return struct.pack('!IHBB16s16s', first, plen, nh, hlim, a6(src), a6(dst)) + payload


def frag6(nh, offset_bytes, more, ident):
    """RFC 8200 §4.5 Fragment header; offset in bytes (must be a multiple of 8)."""
    assert offset_bytes % 8 == 0
    return struct.pack('!BxHI', nh, (offset_bytes // 8) << 3 | (1 if more else 0), ident)


def ext_opts(nh, length_units=0, pad_options=None):
    """Hop-by-Hop / Destination Options header (RFC 8200 §4.3/4.6) filled with PadN."""
    total = 8 * (length_units + 1)
    if pad_options is None:
        padn = total - 2
        pad_options = struct.pack('!BB', 1, padn - 2) + b'\0' * (padn - 2)
    body = struct.pack('!BB', nh, length_units) + pad_options
    assert len(body) == total
    return body


def routing_hdr(nh, segments_left, routing_type=4, segments=('2001:db8::99',)):
    """Routing header (RFC 8200 §4.4) laid out as a Segment Routing Header (RFC 8754 §2)."""
    segs = b''.join(a6(s) for s in segments)
    hdr_len = len(segs) // 8
    return struct.pack('!BBBBBBH', nh, hdr_len, routing_type, segments_left,
                       len(segments) - 1, 0, 0) + segs


def set_ipv4_id_df(pkt, ident, df):
    """Rewrite ID/DF of an IPv4 header and fix its checksum."""
    b = bytearray(pkt)
    ihl = (b[0] & 0xf) * 4
    struct.pack_into('!H', b, 4, ident)
    flags = struct.unpack_from('!H', b, 6)[0]
    flags = (flags & ~0x4000) | (0x4000 if df else 0)
    struct.pack_into('!H', b, 6, flags)
    struct.pack_into('!H', b, 10, 0)
    struct.pack_into('!H', b, 10, checksum(bytes(b[:ihl])))
    return bytes(b)


def l4_csum_offset(proto):
    return {PROTO_UDP: 6, PROTO_TCP: 16, PROTO_ICMP6: 2, PROTO_ICMP: 2}[proto]
