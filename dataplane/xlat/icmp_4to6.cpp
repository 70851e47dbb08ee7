// RFC 7915 §4.2 (ICMPv4 -> ICMPv6 header) and §4.3 (ICMPv4 error messages and their inner
// packet), with RFC 4884 extensions and RFC 7757 §4.2.1 simple hairpinning rules #2 and #3.
#include <algorithm>
#include <cstring>

#include "checksum.hpp"
#include "xlat_4to6.hpp"

namespace eamclat::xlat::v4to6 {

namespace {

// RFC 4443 §2.4 (c): an ICMPv6 error must not make the packet exceed the minimum IPv6 MTU.
constexpr uint32_t max_icmp6_len = ipv6_min_mtu - ipv6_header_len;  // 1232
constexpr uint32_t icmp_header_len = 8;
constexpr uint32_t max_ihl = 60;
// RFC 4884 §4: an original datagram followed by an extension holds at least 128 octets.
constexpr uint32_t rfc4884_min_datagram = 128;

enum : uint8_t {
    icmp6_dest_unreach = 1,
    icmp6_packet_too_big = 2,
    icmp6_time_exceeded = 3,
    icmp6_param_problem = 4,
    icmp6_echo_request = 128,
    icmp6_echo_reply = 129,
};

// The ICMPv6 header an ICMPv4 message translates to (§4.2).
struct Icmp6Head {
    uint8_t type = 0;
    uint8_t code = 0;
    uint32_t rest = 0;  // second word (pointer, or MTU filled in later)
    bool ok = false;
};

// §4.2 Figure 3. Returns -1 for values not listed and for "n/a".
int map_pointer(uint8_t ptr4) {
    switch (ptr4) {
    case 0: return 0;
    case 1: return 1;
    case 2:
    case 3: return 4;
    case 8: return 7;
    case 9: return 6;
    case 12: case 13: case 14: case 15: return 8;
    case 16: case 17: case 18: case 19: return 24;
    default: return -1;
    }
}

// §4.2: type and code of every ICMPv4 message with a translation; ok=false means "silently
// drop" (obsolete, single-hop, unknown, or a code without a counterpart).
Icmp6Head map_type(uint8_t type, uint8_t code, uint8_t pointer) {
    Icmp6Head r;
    auto set = [&](uint8_t t, uint8_t c, uint32_t rest = 0) {
        r.type = t;
        r.code = c;
        r.rest = rest;
        r.ok = true;
    };
    switch (type) {
    case 8: set(icmp6_echo_request, code); break;
    case 0: set(icmp6_echo_reply, code); break;
    case 3:  // Destination Unreachable
        switch (code) {
        case 0: case 1: case 5: case 6: case 7: case 8: case 11: case 12:
            set(icmp6_dest_unreach, 0);  // No route to destination
            break;
        case 9: case 10: case 13: case 15:
            set(icmp6_dest_unreach, 1);  // Communication administratively prohibited
            break;
        case 2: set(icmp6_param_problem, 1, 6); break;  // pointer to the IPv6 Next Header field
        case 3: set(icmp6_dest_unreach, 4); break;      // Port unreachable
        case 4: set(icmp6_packet_too_big, 0); break;    // MTU computed by the caller
        default: break;                                 // 14 and unknown codes: drop
        }
        break;
    case 11: set(icmp6_time_exceeded, code); break;  // "The Code is unchanged."
    case 12:                                         // Parameter Problem
        if (code == 0 || code == 2) {
            int p = map_pointer(pointer);
            if (p >= 0) set(icmp6_param_problem, 0, static_cast<uint32_t>(p));
        }
        break;
    default: break;  // 4, 5, 6, 9, 10, 13-18, unknown: drop
    }
    return r;
}

// RFC 1191 §7 table of MTU plateaus.
uint32_t plateau_below(uint32_t total_len) {
    static constexpr uint16_t plateaus[] = {65535, 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508, 296, 68};
    for (uint16_t p : plateaus)
        if (p < total_len) return p;
    return 68;  // the IPv4 minimum; the formula below raises it to 1280 anyway
}

// §4.2 Code 4: max(1280, min(MTU + 20, MTU_of_IPv6_nexthop, MTU_of_IPv4_nexthop + 20)), with the
// greatest RFC 1191 plateau below the returned Total Length when the router left MTU at zero.
// Plateaus below 1280 are allowed in the search; the max() then yields 1280, which is what
// "larger than or equal to 1280" asks for.
uint32_t packet_too_big_mtu(const Config &cfg, uint16_t mtu4, uint16_t inner_total_len) {
    uint32_t mtu = mtu4 ? mtu4 : plateau_below(inner_total_len);
    uint32_t v = std::min({mtu + 20, static_cast<uint32_t>(cfg.ipv6_mtu), cfg.ipv4_mtu + 20u});
    return std::max(ipv6_min_mtu, v);
}

Ip6 rfc6791v6_source(const Prefix6 &p) {
    // The first address of the pool that is not the Subnet-Router anycast address (RFC 4291
    // §2.6.1), so that a /64 pool does not source errors from an anycast address.
    Ip6 a = p.addr;
    if (p.len < 128) a.b[15] |= 1;
    return a;
}

// §4.1 addresses of the outer header of an ICMP message. RFC 7757 §4.2.1: rule #1 for queries
// (src_no_eamt), rule #3 for errors. §4.1: the source of an ICMP error is translated even when
// "illegal"; when the mapper has nothing, the RFC 6791 pool (Jool's pool6791v6) stands in.
Fate map_outer(const Context &ctx, const Ip4Header &h, bool src_no_eamt, bool is_error, Addresses &a) {
    MapFlags sf;
    sf.no_eamt = src_no_eamt;
    if (!ctx.mapper->v4_to_v6(h.src, Role::source, sf, a.src).ok()) {
        if (!is_error || !ctx.config->rfc6791v6_prefix) return Fate::drop_src_untranslatable;
        a.src = rfc6791v6_source(*ctx.config->rfc6791v6_prefix);
    }
    MapResult d = ctx.mapper->v4_to_v6(h.dst, Role::destination, MapFlags{}, a.dst);
    if (!d.ok()) return Fate::drop_dst_untranslatable;
    a.path = d.path;
    return Fate::translated_4to6;
}

// §4.2 Echo / Echo Reply: the type changes and the ICMPv6 checksum gains the pseudo-header.
// Updated incrementally (RFC 1624) so that a chained echo is not walked and a corrupted echo
// stays detectably corrupted end to end, as TCP and UDP do under §4.5.
Fate translate_query(const Context &ctx, rte_mbuf *m, const Ip4Header &h, const Pass4to6 &pass,
                     const Icmp6Head &head, Addresses &a) {
    Fate f = map_outer(ctx, h, simple_hairpin_rules(ctx, pass), false, a);
    if (f != Fate::translated_4to6) return f;
    uint8_t *p = pull_up(m, h.ihl + icmp_header_len);
    if (!p) return Fate::drop_no_room;
    uint8_t *icmp = p + h.ihl;
    uint32_t old_word = csum::load16(icmp);
    icmp[0] = head.type;
    uint32_t new_word = csum::load16(icmp);
    uint32_t new_sum = csum::pseudo6(a.src, a.dst, proto_icmpv6, h.total_len - h.ihl) + new_word;
    csum::store16(icmp + 2, csum::update(csum::load16(icmp + 2), old_word, new_sum));
    return Fate::translated_4to6;
}

// The packet quoted by an ICMPv4 error (§4.3), parsed from the copy of its first bytes.
struct Inner {
    uint32_t ihl;
    uint32_t total_len;
    uint32_t frag_offset;
    bool mf;
    uint16_t id;
    uint8_t tos, ttl, proto;
    Ip4 src, dst;
};

Fate parse_inner(const uint8_t *dg, uint32_t len, Inner &in) {
    if (len < 20 || dg[0] >> 4 != 4) return Fate::drop_icmp_inner_invalid;
    in.ihl = (dg[0] & 0x0f) * 4u;
    if (in.ihl < 20 || in.ihl > len) return Fate::drop_icmp_inner_invalid;
    in.total_len = csum::load16(dg + 2);
    if (in.total_len < in.ihl) return Fate::drop_icmp_inner_invalid;
    in.tos = dg[1];
    in.id = csum::load16(dg + 4);
    uint16_t frag = csum::load16(dg + 6);
    in.mf = frag & 0x2000;
    in.frag_offset = (frag & 0x1fffu) * 8;
    in.ttl = dg[8];
    in.proto = dg[9];
    if (!translatable_protocol(in.proto)) return Fate::drop_icmp_inner_invalid;
    in.src = static_cast<Ip4>(csum::load16(dg + 12)) << 16 | csum::load16(dg + 14);
    in.dst = static_cast<Ip4>(csum::load16(dg + 16)) << 16 | csum::load16(dg + 18);
    // §4.3: "stop at the first embedded header and drop the packet if it contains more embedded
    // headers": an error about an error is not translated (nor would it have been sent, RFC 1812).
    if (in.proto == proto_icmp && in.frag_offset == 0 && len > in.ihl) {
        uint8_t type = dg[in.ihl];
        if (icmp4_is_error(type)) return Fate::drop_icmp_error_about_icmp_error;
        if (type != 8 && type != 0) return Fate::drop_icmp_inner_invalid;
    }
    return Fate::translated_4to6;
}

// §4.3 inner transport header: the same checksum updates as for the outer packet, on whatever
// part of the header the error quotes (l4 holds `avail` bytes).
void translate_inner_transport(const Inner &in, const Ip6 &src6, const Ip6 &dst6, uint8_t *l4, uint32_t avail) {
    if (in.frag_offset != 0) return;
    uint32_t old_sum = csum::add_ip4(csum::add_ip4(0, in.src), in.dst);
    uint32_t new_sum = csum::add_ip6(csum::add_ip6(0, src6), dst6);
    if (in.proto == proto_tcp && avail >= 18) {
        csum::store16(l4 + 16, csum::update(csum::load16(l4 + 16), old_sum, new_sum));
    } else if (in.proto == proto_udp && avail >= 8) {
        uint16_t old = csum::load16(l4 + 6);
        if (old == 0) return;  // nothing to update; the quoted datagram is only informative
        uint16_t v = csum::update(old, old_sum, new_sum);
        csum::store16(l4 + 6, v == 0 ? 0xffff : v);
    } else if (in.proto == proto_icmp && avail >= 1) {
        uint32_t old_word = static_cast<uint32_t>(l4[0]) << 8 | (avail >= 2 ? l4[1] : 0);
        l4[0] = l4[0] == 8 ? icmp6_echo_request : icmp6_echo_reply;
        if (avail < 4) return;
        uint32_t new_word = static_cast<uint32_t>(l4[0]) << 8 | l4[1];
        uint32_t sum = csum::pseudo6(src6, dst6, proto_icmpv6, in.total_len - in.ihl) + new_word;
        csum::store16(l4 + 2, csum::update(csum::load16(l4 + 2), old_word, sum));
    }
}

// §4.2 error messages and §4.3: the message is rebuilt in a stack buffer (the inner header grows
// by 20 or 28 bytes) and replaces the packet's content after its IPv4 header.
Fate translate_error(const Context &ctx, rte_mbuf *m, Ip4Header &h, const Pass4to6 &pass, Icmp6Head head,
                     const uint8_t *icmp4, Addresses &a) {
    uint32_t icmp_len = h.total_len - h.ihl;
    // The ICMPv6 checksum is computed afresh below; verifying the ICMPv4 one first keeps a
    // corrupted error from leaving with a valid checksum.
    if (csum::fold(sum_packet(m, h.ihl, icmp_len, 0)) != 0xffff) return Fate::drop_icmp_bad_checksum;

    // RFC 4884 §4: octet 6 (index 5) holds the length of the original datagram in 32-bit words
    // when an extension follows it.
    uint32_t datagram_len = icmp_len - icmp_header_len;
    uint32_t ext_len = 0;
    if (icmp4[5] != 0) {
        uint32_t declared = icmp4[5] * 4u;
        if (declared > datagram_len) return Fate::drop_icmp_inner_invalid;
        ext_len = datagram_len - declared;
        datagram_len = declared;
    }
    // The translated datagram is longer than the original, so no byte beyond max_icmp6_len of
    // the original can reach the output.
    uint8_t dg[max_icmp6_len];
    uint32_t dg_len = std::min(datagram_len, max_icmp6_len);
    copy_packet(m, h.ihl + icmp_header_len, dg_len, dg);

    Inner in;
    Fate f = parse_inner(dg, dg_len, in);
    if (f != Fate::translated_4to6) return f;

    // Addresses: the inner packet travelled the other way (roles swapped); RFC 7757 §4.2.1 rule
    // #2 (inner destination) and rule #3 (outer source equal to the inner destination).
    bool simple = simple_hairpin_rules(ctx, pass);
    Ip6 isrc6, idst6;
    MapFlags idst_flags;
    idst_flags.no_eamt = simple;
    if (!ctx.mapper->v4_to_v6(in.src, Role::destination, MapFlags{}, isrc6).ok() ||
        !ctx.mapper->v4_to_v6(in.dst, Role::source, idst_flags, idst6).ok())
        return Fate::drop_icmp_inner_invalid;
    f = map_outer(ctx, h, simple && h.src == in.dst, true, a);
    if (f != Fate::translated_4to6) return f;

    if (head.type == icmp6_packet_too_big)
        head.rest = packet_too_big_mtu(*ctx.config, csum::load16(icmp4 + 6), static_cast<uint16_t>(in.total_len));

    // Output: [h.ihl bytes of the old IPv4 header, replaced later by finish()] [ICMPv6 message].
    uint8_t pkt[max_ihl + max_icmp6_len];
    copy_packet(m, 0, h.ihl, pkt);
    uint8_t *o = pkt + h.ihl;

    bool inner_frag = in.mf || in.frag_offset != 0;
    uint32_t ih = ipv6_header_len + (inner_frag ? fragment_header_len : 0);
    uint8_t inext = in.proto == proto_icmp ? proto_icmpv6 : in.proto;
    // §4.3: lengths as §4.1 computes them from the inner header, TTL copied (not decremented).
    write_ipv6_header(o + icmp_header_len, traffic_class(ctx, in.tos),
                      static_cast<uint16_t>(in.total_len - in.ihl + (inner_frag ? fragment_header_len : 0)),
                      inner_frag ? proto_ipv6_frag : inext, in.ttl, isrc6, idst6);
    if (inner_frag)
        write_fragment_header(o + icmp_header_len + ipv6_header_len, inext, in.frag_offset, in.mf, in.id);
    uint32_t l4_avail = dg_len - in.ihl;
    uint32_t room = max_icmp6_len - icmp_header_len - ih;
    uint32_t l4_copy = std::min(l4_avail, room);
    uint8_t *l4 = o + icmp_header_len + ih;
    memcpy(l4, dg + in.ihl, l4_copy);
    translate_inner_transport(in, isrc6, idst6, l4, l4_copy);

    uint32_t len = icmp_header_len + ih + l4_copy;  // already <= max_icmp6_len
    uint8_t length_attr = 0;
    // RFC 4884 §4.6: only Destination Unreachable and Time Exceeded carry extensions in ICMPv6;
    // for Packet Too Big and Parameter Problem the extension is left out.
    if (ext_len && (head.type == icmp6_dest_unreach || head.type == icmp6_time_exceeded)) {
        // The original datagram is zero padded to a 64-bit boundary and to at least 128 octets;
        // the extension follows, truncated to the 1280-byte limit (§4.2 "ICMP Error Payload").
        uint32_t dgram6 = ih + l4_avail;
        uint32_t padded = std::max(rfc4884_min_datagram, (dgram6 + 7) & ~7u);
        if (icmp_header_len + padded < max_icmp6_len) {  // always true: dgram6 <= 28 + 1020
            memset(o + len, 0, icmp_header_len + padded - len);
            len = icmp_header_len + padded;
            length_attr = static_cast<uint8_t>(padded / 8);
            uint32_t ext_copy = std::min(ext_len, max_icmp6_len - len);
            copy_packet(m, h.ihl + icmp_header_len + datagram_len, ext_copy, o + len);
            len += ext_copy;
        }
    }

    o[0] = head.type;
    o[1] = head.code;
    csum::store16(o + 2, 0);
    if (head.type == icmp6_dest_unreach || head.type == icmp6_time_exceeded) {
        o[4] = length_attr;  // RFC 4884 §4.4/§4.5: octet 5 in 64-bit words
        o[5] = o[6] = o[7] = 0;
    } else {
        csum::store16(o + 4, static_cast<uint16_t>(head.rest >> 16));
        csum::store16(o + 6, static_cast<uint16_t>(head.rest));
    }
    uint32_t sum = csum::pseudo6(a.src, a.dst, proto_icmpv6, len);
    csum::store16(o + 2, csum::finish(csum::add_bytes(sum, o, len)));

    if (!replace_packet(m, pkt, h.ihl + len)) return Fate::drop_no_room;
    h.total_len = h.ihl + len;
    return Fate::translated_4to6;
}

}  // namespace

// RFC 7915 §4.2 / §4.3.
Fate translate_icmp4(const Context &ctx, rte_mbuf *m, Ip4Header &h, const Pass4to6 &pass, Addresses &a) {
    // The ICMPv6 checksum covers the whole message, which a fragment does not hold.
    if (h.is_fragment()) return Fate::drop_icmp_fragmented;
    if (h.total_len - h.ihl < icmp_header_len) return Fate::drop_truncated;
    uint8_t icmp4[icmp_header_len];
    copy_packet(m, h.ihl, icmp_header_len, icmp4);
    Icmp6Head head = map_type(icmp4[0], icmp4[1], icmp4[4]);
    if (!head.ok) return Fate::drop_icmp_untranslatable;
    if (head.type == icmp6_echo_request || head.type == icmp6_echo_reply)
        return translate_query(ctx, m, h, pass, head, a);
    return translate_error(ctx, m, h, pass, head, icmp4, a);
}

}  // namespace eamclat::xlat::v4to6
