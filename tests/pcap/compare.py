#!/usr/bin/python3
"""Compares the translator's output pcap with a case's expected pcap, packet by packet.

    compare.py EXPECTED.pcap ACTUAL.pcap [CASE.txt]

Exit 0 when every record matches byte for byte (after normalizing the fields case.txt lists
after "| ignore:", see gen.py), 1 otherwise; the first line printed is a one-line reason, then a
field-level diff (decoded with scapy) of each differing packet.

Ignored fields are not skipped blindly: the actual packet's checksums must be valid before the
field is zeroed (and the checksums recomputed) on both sides, so an implementation that leaves a
stale checksum still fails.
"""
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pkt import checksum  # noqa: E402

LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101


def read_pcap(path):
    with open(path, 'rb') as f:
        blob = f.read()
    if len(blob) < 24:
        raise ValueError(f'{path}: {len(blob)} bytes, no pcap header')
    magic = blob[:4]
    if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
        e = '<'
    elif magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
        e = '>'
    else:
        raise ValueError(f'{path}: not a pcap file (magic {magic.hex()})')
    linktype = struct.unpack_from(e + 'I', blob, 20)[0] & 0x0fffffff
    recs, off = [], 24
    while off < len(blob):
        if off + 16 > len(blob):
            raise ValueError(f'{path}: truncated record header at byte {off}')
        _, _, incl, orig = struct.unpack_from(e + 'IIII', blob, off)
        off += 16
        if off + incl > len(blob):
            raise ValueError(f'{path}: truncated record at byte {off}')
        if incl != orig:
            raise ValueError(f'{path}: record {len(recs) + 1} captured {incl} of {orig} bytes')
        recs.append(blob[off:off + incl])
        off += incl
    return linktype, recs


def parse_spec(case_txt):
    """Returns ({packet index: set of fields}, [same-id packet indexes])."""
    ignore, same = {}, []
    if not case_txt or not os.path.exists(case_txt):
        return ignore, same
    with open(case_txt) as f:
        line = f.readline().strip()
    for part in line.split(' | ')[1:]:
        key, _, val = part.partition(':')
        key, val = key.strip(), val.strip()
        if key == 'ignore':
            for item in val.split(';'):
                idx, _, fields = item.strip().partition('=')
                ignore[int(idx)] = set(x.strip() for x in fields.split(','))
        elif key == 'same-id':
            same = [int(x) for x in val.split(',')]
    return ignore, same


class Invalid(Exception):
    pass


def _fix_ipv4_header(b, start, ihl):
    struct.pack_into('!H', b, start + 10, 0)
    struct.pack_into('!H', b, start + 10, checksum(bytes(b[start:start + ihl])))


def normalize(pkt, fields, check):
    """Zeroes the ignored fields and recomputes the checksums that cover them. With check=True
    (the actual packet) the checksums must first be valid."""
    if not fields:
        return pkt
    b = bytearray(pkt)
    if len(b) < 20 or b[0] >> 4 != 4:
        raise Invalid('ignored IPv4 fields listed but the packet is not IPv4')
    ihl = (b[0] & 0xf) * 4
    if check and checksum(bytes(b[:ihl])) != 0:
        raise Invalid('IPv4 header checksum invalid')
    if 'id' in fields:
        struct.pack_into('!H', b, 4, 0)
    if 'df' in fields:
        b[6] &= ~0x40
    _fix_ipv4_header(b, 0, ihl)
    if fields & {'inner-id', 'inner-df'}:
        total = struct.unpack_from('!H', b, 2)[0]
        if b[9] != 1 or total < ihl + 28 or total > len(b):
            raise Invalid('inner fields listed but the packet is not an ICMPv4 error with an '
                          'inner IPv4 header')
        icmp = ihl
        if check and checksum(bytes(b[icmp:total])) != 0:
            raise Invalid('ICMPv4 checksum invalid')
        inner = icmp + 8
        if b[inner] >> 4 != 4:
            raise Invalid('quoted packet is not IPv4')
        iihl = (b[inner] & 0xf) * 4
        if inner + iihl > total:
            raise Invalid('quoted IPv4 header truncated')
        if check and checksum(bytes(b[inner:inner + iihl])) != 0:
            raise Invalid('quoted IPv4 header checksum invalid')
        if 'inner-id' in fields:
            struct.pack_into('!H', b, inner + 4, 0)
        if 'inner-df' in fields:
            b[inner + 6] &= ~0x40
        _fix_ipv4_header(b, inner, iihl)
        struct.pack_into('!H', b, icmp + 2, 0)
        struct.pack_into('!H', b, icmp + 2, checksum(bytes(b[icmp:total])))
    return bytes(b)


def field_diff(exp, act):
    """Readable field-level differences, decoded with scapy."""
    import logging
    logging.getLogger('scapy.runtime').setLevel(logging.ERROR)
    from scapy.all import IP, IPv6, Raw

    def decode(b):
        if not b:
            return None
        return IPv6(b) if b[0] >> 4 == 6 else IP(b)

    out = []
    first = next((i for i in range(min(len(exp), len(act))) if exp[i] != act[i]),
                 min(len(exp), len(act)))
    out.append(f'    length expected {len(exp)}, actual {len(act)}; first differing byte at '
               f'offset {first}')
    try:
        e, a = decode(exp), decode(act)
    except Exception as ex:  # scapy cannot decode: bytes are all we have
        out.append(f'    (scapy could not decode: {ex})')
        return out
    le, la = e, a
    depth = 0
    while le is not None and la is not None and depth < 12:
        if type(le) is not type(la):
            out.append(f'    layer {depth}: expected {le.name}, actual {la.name}')
            break
        if isinstance(le, Raw):
            if le.load != la.load:
                out.append(f'    {le.name}: payload differs ({len(le.load)} vs {len(la.load)} '
                           'bytes)')
            break
        for fd in le.fields_desc:
            ve, va = le.getfieldval(fd.name), la.getfieldval(fd.name)
            if ve != va:
                out.append(f'    {le.name}.{fd.name}: expected {fd.i2repr(le, ve)}, actual '
                           f'{fd.i2repr(la, va)}')
        le = le.payload if le.payload else None
        la = la.payload if la.payload else None
        depth += 1
    if (le is None) != (la is None):
        out.append('    one packet has more layers than the other')
    return out


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__)
        return 2
    exp_path, act_path = sys.argv[1], sys.argv[2]
    ignore, same = parse_spec(sys.argv[3] if len(sys.argv) == 4 else None)
    try:
        exp_lt, exp = read_pcap(exp_path)
        act_lt, act = read_pcap(act_path)
    except (OSError, ValueError) as ex:
        print(f'unreadable pcap: {ex}')
        return 1
    problems = []
    if act_lt != LINKTYPE_RAW:
        problems.append(f'output linktype {act_lt}, expected {LINKTYPE_RAW} (raw IP)')
    assert exp_lt == LINKTYPE_RAW, 'expected.pcap must be raw IP'
    if len(exp) != len(act):
        problems.append(f'{len(act)} packets emitted, expected {len(exp)}')
    details = []
    for i in range(min(len(exp), len(act))):
        fields = ignore.get(i + 1, set())
        try:
            a = normalize(act[i], fields, check=True)
        except Invalid as ex:
            problems.append(f'packet {i + 1}: {ex}')
            details += [f'  packet {i + 1}:'] + field_diff(exp[i], act[i])
            continue
        e = normalize(exp[i], fields, check=False)
        if a != e:
            problems.append(f'packet {i + 1} differs')
            details += [f'  packet {i + 1}' + (f' (ignoring {",".join(sorted(fields))})'
                                                if fields else '') + ':'] + field_diff(e, a)
    if same and all(i <= len(act) for i in same):
        ids = {struct.unpack_from('!H', act[i - 1], 4)[0] for i in same
               if len(act[i - 1]) >= 20 and act[i - 1][0] >> 4 == 4}
        if len(ids) != 1:
            problems.append(f'packets {same} must share one IPv4 ID, got {sorted(ids)}')
    for i in range(len(exp), len(act)):
        details.append(f'  unexpected packet {i + 1} ({len(act[i])} bytes):')
        try:
            import logging
            logging.getLogger('scapy.runtime').setLevel(logging.ERROR)
            from scapy.all import IP, IPv6
            p = IPv6(act[i]) if act[i] and act[i][0] >> 4 == 6 else IP(act[i])
            details.append('    ' + p.summary())
        except Exception:
            details.append('    ' + act[i][:64].hex())
    for i in range(len(act), len(exp)):
        details.append(f'  missing packet {i + 1} ({len(exp[i])} bytes)')
    if problems:
        print('; '.join(problems))
        for d in details:
            print(d)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
