// RFC 7915 §4: IPv4 -> IPv6 translation, the fast path.
// A TCP/UDP packet goes: validate, map addresses, update the transport checksum, replace the IPv4
// header by an IPv6 header, emit. ICMP (§4.2/§4.3), ICMPv4 errors we generate (§4.4) and
// fragmentation (§4.1) live in icmp_4to6.cpp, icmp4_errors.cpp and frag_4to6.cpp.
#include <algorithm>
#include <cstring>

#include "checksum.hpp"
#include "xlat_4to6.hpp"

namespace eamclat::xlat {

using namespace v4to6;

namespace {

Result drop(rte_mbuf *m, Fate fate) {
    rte_pktmbuf_free(m);
    return {fate, Path::none};
}

// RFC 791 / RFC 1812 §5.2.2 header checks; trims what follows Total Length (L2 padding).
Fate parse_ipv4(rte_mbuf *m, Ip4Header &h) {
    uint32_t pkt_len = rte_pktmbuf_pkt_len(m);
    if (pkt_len < 20) return Fate::drop_truncated;
    const uint8_t *p = pull_up(m, 20);
    if (!p) return Fate::drop_no_room;
    if (p[0] >> 4 != 4) return Fate::drop_bad_version;
    h.ihl = (p[0] & 0x0f) * 4u;
    if (h.ihl < 20 || h.ihl > pkt_len) return Fate::drop_bad_ihl;
    p = pull_up(m, h.ihl);
    if (!p) return Fate::drop_no_room;
    h.total_len = csum::load16(p + 2);
    if (h.total_len < h.ihl || h.total_len > pkt_len) return Fate::drop_bad_length;
    if (csum::fold(csum::add_bytes(0, p, h.ihl)) != 0xffff) return Fate::drop_bad_checksum;
    if (pkt_len > h.total_len) truncate_packet(m, h.total_len);

    h.tos = p[1];
    h.id = csum::load16(p + 4);
    uint16_t frag = csum::load16(p + 6);
    h.df = frag & 0x4000;
    h.mf = frag & 0x2000;
    h.frag_offset = (frag & 0x1fffu) * 8;
    // RFC 791: a datagram is at most 65535 bytes; a fragment reaching beyond that is bogus and
    // would overflow the IPv6 Fragment Offset when cut further.
    if (h.frag_offset + (h.total_len - h.ihl) > 65535) return Fate::drop_bad_length;
    h.ttl = p[8];
    h.proto = p[9];
    h.src = static_cast<Ip4>(csum::load16(p + 12)) << 16 | csum::load16(p + 14);
    h.dst = static_cast<Ip4>(csum::load16(p + 16)) << 16 | csum::load16(p + 18);
    if (h.proto == proto_icmp && h.frag_offset == 0 && h.total_len > h.ihl) {
        uint8_t type;
        copy_packet(m, h.ihl, 1, &type);
        h.icmp_error = icmp4_is_error(type);
    }
    return Fate::translated_4to6;
}

// RFC 1812 §5.3.7 martian sources: this network (0/8), loopback (127/8), multicast (224/4) and
// class E with the limited broadcast (240/4). Directed broadcasts cannot be known here.
bool is_illegal_source(Ip4 a) {
    uint8_t first = static_cast<uint8_t>(a >> 24);
    return first == 0 || first == 127 || first >= 224;
}

// RFC 7915 §4.1: "if an unexpired source route option is present, then the packet MUST instead
// be discarded". LSRR (131) and SSRR (137) are unexpired while pointer <= length (RFC 791).
// Other options, and malformed option lists, are ignored as §4.1 says.
bool has_unexpired_source_route(const uint8_t *opt, uint32_t len) {
    uint32_t i = 0;
    while (i < len) {
        uint8_t type = opt[i];
        if (type == 0) return false;  // End of Option List
        if (type == 1) {              // No Operation
            ++i;
            continue;
        }
        if (i + 1 >= len) return false;
        uint8_t olen = opt[i + 1];
        if (olen < 2 || i + olen > len) return false;
        if ((type == 131 || type == 137) && olen >= 3 && opt[i + 2] <= olen) return true;
        i += olen;
    }
    return false;
}

// §4.1 Source/Destination Address, §6; RFC 7757 §4.2.1 rule 1 for non-error packets.
// Untranslatable addresses are dropped silently: §4.1 says so for illegal sources, and the
// optional §4.4 error (Type 3 Code 13) is left out as Jool does, since nothing configures or
// rate-limits it (§4.4 asks for both).
Fate map_addresses(const Context &ctx, const Ip4Header &h, const Pass4to6 &pass, Addresses &a) {
    MapFlags src_flags;
    src_flags.no_eamt = simple_hairpin_rules(ctx, pass);
    if (!ctx.mapper->v4_to_v6(h.src, Role::source, src_flags, a.src).ok()) return Fate::drop_src_untranslatable;
    MapResult d = ctx.mapper->v4_to_v6(h.dst, Role::destination, MapFlags{}, a.dst);
    if (!d.ok()) return Fate::drop_dst_untranslatable;
    a.path = d.path;
    return Fate::translated_4to6;
}

// §4.5: the transport checksum covers a pseudo-header whose addresses change; everything else
// of the pseudo-header (length, protocol) keeps its value, so an RFC 1624 update suffices and
// leaves the rest of a chained packet untouched.
Fate translate_transport(const Context &ctx, rte_mbuf *m, const Ip4Header &h, const Addresses &a) {
    if (h.frag_offset != 0) return Fate::translated_4to6;  // no transport header in this fragment
    uint32_t l4_len = h.total_len - h.ihl;
    uint32_t field;
    if (h.proto == proto_tcp) {
        if (l4_len < 20) return Fate::drop_truncated;
        field = 16;
    } else if (h.proto == proto_udp) {
        if (l4_len < 8) return Fate::drop_truncated;
        field = 6;
    } else {
        return Fate::translated_4to6;  // §4.5: other protocols are forwarded untouched
    }
    uint8_t *p = pull_up(m, h.ihl + field + 2);
    if (!p) return Fate::drop_no_room;
    uint8_t *ck = p + h.ihl + field;
    uint16_t old = csum::load16(ck);
    uint32_t new_sum = csum::add_ip6(csum::add_ip6(0, a.src), a.dst);
    if (h.proto == proto_udp && old == 0) {
        // §4.5: a stateless translator cannot checksum a fragmented datagram.
        if (h.mf) return Fate::drop_udp_checksum_zero_fragment;
        if (!ctx.config->amend_udp_checksum_zero) return Fate::drop_udp_checksum_zero;
        uint32_t sum = csum::pseudo6(a.src, a.dst, proto_udp, l4_len);
        uint16_t value = csum::finish(sum_packet(m, h.ihl, l4_len, sum));
        csum::store16(ck, value == 0 ? 0xffff : value);  // RFC 768: zero is sent as all ones
        return Fate::translated_4to6;
    }
    uint32_t old_sum = csum::add_ip4(csum::add_ip4(0, h.src), h.dst);
    uint16_t value = csum::update(old, old_sum, new_sum);
    if (h.proto == proto_udp && value == 0) value = 0xffff;
    csum::store16(ck, value);
    return Fate::translated_4to6;
}

// §4.1: replaces the IPv4 header by the IPv6 header (plus a Fragment header when the packet is
// a fragment or is about to be fragmented) and emits the packet or its fragments.
Result finish(const Context &ctx, rte_mbuf *m, Output &out, const Ip4Header &h, const Addresses &a,
              const Pass4to6 &pass) {
    const Config &cfg = *ctx.config;
    uint32_t payload = h.total_len - h.ihl;
    uint32_t size = ipv6_header_len + payload + (h.is_fragment() ? fragment_header_len : 0);
    if (h.df && size > cfg.ipv6_mtu) {
        // Only ICMP errors get here (the others were answered before being touched): no error
        // may be sent about an ICMP error.
        return drop(m, Fate::drop_fragment_too_big);
    }
    // §4.1: DF=0 packets larger than lowest-ipv6-mtu (and, as for any router, than the egress
    // MTU) are fragmented; §1.4: no Fragment header otherwise unless already a fragment.
    uint32_t limit = std::min(cfg.lowest_ipv6_mtu, cfg.ipv6_mtu);
    bool refragment = !h.df && size > limit;
    if (refragment && !h.is_fragment()) size += fragment_header_len;
    bool with_frag = h.is_fragment() || refragment;
    uint32_t hdr_len = ipv6_header_len + (with_frag ? fragment_header_len : 0);

    uint8_t *p;
    if (hdr_len > h.ihl) {
        p = reinterpret_cast<uint8_t *>(rte_pktmbuf_prepend(m, static_cast<uint16_t>(hdr_len - h.ihl)));
    } else {
        p = reinterpret_cast<uint8_t *>(rte_pktmbuf_adj(m, static_cast<uint16_t>(h.ihl - hdr_len)));
    }
    if (!p) return drop(m, Fate::drop_no_room);

    uint8_t next = h.proto == proto_icmp ? proto_icmpv6 : h.proto;
    // RFC 7757 §4.2.2: the second hairpinning pass does not decrement the hop limit.
    uint8_t hop_limit = pass.hairpin_second_pass ? h.ttl : static_cast<uint8_t>(h.ttl - 1);
    write_ipv6_header(p, traffic_class(ctx, h.tos), static_cast<uint16_t>(size - ipv6_header_len),
                      with_frag ? proto_ipv6_frag : next, hop_limit, a.src, a.dst);
    if (with_frag) write_fragment_header(p + ipv6_header_len, next, h.frag_offset, h.mf, h.id);

    if (refragment) return fragment_ipv6(ctx, m, out, limit, a.path);
    if (!emit(out, m, Side::v6)) return drop(m, Fate::drop_output_full);
    return {Fate::translated_4to6, a.path};
}

}  // namespace

namespace v4to6 {

// §4.1 copies the Protocol into Next Header and §4.5 forwards every transport protocol, with two
// exceptions. IGMP: "SHOULD be silently dropped" (§4.2). Numbers that IPv6 reads as something
// other than a transport (Hop-by-Hop 0, Routing 43, Fragment 44, Destination Options 60) or as
// ICMPv6 (58, which IPv4 never carries): copied, they would make the IPv6 receiver parse bytes an
// IPv4 sender wrote as IPv6 headers or ICMPv6 (e.g. forge fragments or Neighbor Discovery).
// AH (51) too: its ICV covers the IPv4 addresses, so it cannot verify after translation, and
// its own Next Header field would put whatever the IPv4 sender chose (0, 43, 44, 60) behind it.
// The same check applies to the inner packet of an ICMPv4 error (§4.3).
bool translatable_protocol(uint8_t proto) {
    switch (proto) {
    case 0: case 2: case 43: case 44: case 51: case 58: case 60: return false;
    default: return true;
    }
}

void write_ipv6_header(uint8_t *p, uint8_t tc, uint16_t payload_len, uint8_t next_header, uint8_t hop_limit,
                       const Ip6 &src, const Ip6 &dst) {
    p[0] = static_cast<uint8_t>(0x60 | tc >> 4);
    p[1] = static_cast<uint8_t>(tc << 4);
    p[2] = 0;
    p[3] = 0;
    csum::store16(p + 4, payload_len);
    p[6] = next_header;
    p[7] = hop_limit;
    memcpy(p + 8, src.b.data(), 16);
    memcpy(p + 24, dst.b.data(), 16);
}

void write_fragment_header(uint8_t *p, uint8_t next_header, uint32_t offset, bool more, uint32_t id) {
    p[0] = next_header;
    p[1] = 0;
    csum::store16(p + 2, static_cast<uint16_t>(offset | (more ? 1 : 0)));
    csum::store16(p + 4, static_cast<uint16_t>(id >> 16));
    csum::store16(p + 6, static_cast<uint16_t>(id));
}

}  // namespace v4to6

// RFC 7915 §4 (with RFC 7757 §4.2 hairpinning options).
Result translate_4to6_pass(const Context &ctx, rte_mbuf *m, Output &out, const Pass4to6 &pass) {
    Ip4Header h;
    Fate fate = parse_ipv4(m, h);
    if (fate != Fate::translated_4to6) return drop(m, fate);

    // §4.1: "If the translator gets an illegal source address (e.g., 0.0.0.0, 127.0.0.1, etc.),
    // the translator SHOULD silently discard the packet (as discussed in Section 5.3.7 of
    // [RFC1812])" -- except in ICMP errors, whose source "will be translated for the purpose of
    // trouble shooting".
    if (!h.icmp_error && is_illegal_source(h.src)) return drop(m, Fate::drop_src_illegal);
    if (!translatable_protocol(h.proto)) return drop(m, Fate::drop_unsupported_protocol);

    if (h.ihl > 20) {
        const uint8_t *opt = rte_pktmbuf_mtod_offset(m, const uint8_t *, 20);
        if (has_unexpired_source_route(opt, h.ihl - 20))
            return send_icmp4_error(ctx, m, out, h, 3, 5, 0, Fate::drop_source_route);
    }
    // §4.1 Hop Limit: the translator is a router; a packet that arrives with TTL 1 (or 0) would
    // leave with 0, so it is answered with Time Exceeded instead.
    if (!pass.hairpin_second_pass && h.ttl <= 1)
        return send_icmp4_error(ctx, m, out, h, 11, 0, 0, Fate::drop_ttl_expired_no_error);

    // §4.1: "If the DF bit is set and the MTU of the next-hop interface is less than the total
    // length value of the IPv4 packet plus 20" -> Fragmentation Needed. Checked before the packet
    // is modified so that the error quotes it as received. ICMP errors shrink to 1280 bytes when
    // translated; finish() checks their final size.
    if (h.df && !h.icmp_error) {
        uint32_t frag_len = h.is_fragment() ? fragment_header_len : 0;
        if (ipv6_header_len + frag_len + (h.total_len - h.ihl) > ctx.config->ipv6_mtu) {
            // The largest IPv4 packet that fits after translation (ipv6_mtu - 20 for a plain
            // packet, as §4.1 / §7 of RFC 7915 expect).
            uint32_t mtu = ctx.config->ipv6_mtu - (ipv6_header_len - 20 + frag_len);
            return send_icmp4_error(ctx, m, out, h, 3, 4, mtu & 0xffff, Fate::drop_fragment_too_big);
        }
    }

    Addresses a;
    if (h.proto == proto_icmp) {
        fate = translate_icmp4(ctx, m, h, pass, a);
    } else {
        fate = map_addresses(ctx, h, pass, a);
        if (fate == Fate::translated_4to6) fate = translate_transport(ctx, m, h, a);
    }
    if (fate != Fate::translated_4to6) return drop(m, fate);
    return finish(ctx, m, out, h, a, pass);
}

Result translate_4to6(const Context &ctx, rte_mbuf *m, Output &out) {
    return translate_4to6_pass(ctx, m, out, Pass4to6{});
}

}  // namespace eamclat::xlat
