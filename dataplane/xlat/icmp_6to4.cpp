// RFC 7915 §5.2 (ICMPv6 -> ICMPv4 headers) and §5.3 (the packet in error inside ICMPv6 errors),
// with RFC 4884 (length attribute, extensions) and RFC 6791 (source of errors from IPv6 nodes
// that have no IPv4 form).
#include <cstring>

#include "checksum.hpp"
#include "xlat_6to4.hpp"

namespace eamclat::xlat::v6to4 {

namespace {

constexpr uint8_t icmp4_echo_reply = 0;
constexpr uint8_t icmp4_dest_unreach = 3;
constexpr uint8_t icmp4_echo_request = 8;
constexpr uint8_t icmp4_time_exceeded = 11;
constexpr uint8_t icmp4_param_problem = 12;
constexpr uint32_t rfc4884_min_original = 128;  // RFC 4884 §4: "at least 128 octets"

// The ICMPv4 header chosen for an ICMPv6 error.
struct Icmp4Error {
    uint8_t type = 0;
    uint8_t code = 0;
    uint8_t pointer = 0;  // Parameter Problem
    bool packet_too_big = false;
    bool length_attribute = false;  // RFC 4884: the ICMPv6 message may carry one (types 1 and 3)
};

// RFC 7915 §5.2 Figure 6. Returns -1 for "n/a" and for values the figure does not list.
int map_pointer(uint32_t p6) {
    if (p6 == 0 || p6 == 1) return static_cast<int>(p6);
    if (p6 == 4 || p6 == 5) return 2;
    if (p6 == 6) return 9;
    if (p6 == 7) return 8;
    if (p6 >= 8 && p6 <= 23) return 12;
    if (p6 >= 24 && p6 <= 39) return 16;
    return -1;
}

// RFC 7915 §5.2 "ICMPv6 error messages". False: "Silently drop".
bool map_error(uint8_t type, uint8_t code, const uint8_t *rest6, Icmp4Error &e) {
    switch (type) {
    case icmp6_dest_unreach:
        e.type = icmp4_dest_unreach;
        e.length_attribute = true;
        switch (code) {
        case 0:  // No route to destination
        case 2:  // Beyond scope of source address
        case 3:  // Address unreachable
            e.code = 1;  // Host unreachable
            return true;
        case 1:  // Communication with destination administratively prohibited
            e.code = 10;
            return true;
        case 4:  // Port unreachable
            e.code = 3;
            return true;
        default:
            return false;
        }
    case icmp6_packet_too_big:
        e.type = icmp4_dest_unreach;
        e.code = 4;
        e.packet_too_big = true;
        return true;
    case icmp6_time_exceeded:
        e.type = icmp4_time_exceeded;
        e.code = code;  // "The Code is unchanged."
        e.length_attribute = true;
        return true;
    case icmp6_param_problem:
        if (code == 0) {
            int p = map_pointer(load32(rest6));
            if (p < 0) return false;
            e.type = icmp4_param_problem;
            e.code = 0;
            e.pointer = static_cast<uint8_t>(p);
            return true;
        }
        if (code == 1) {  // Unrecognized Next Header -> Protocol unreachable
            e.type = icmp4_dest_unreach;
            e.code = 2;
            return true;
        }
        return false;  // code 2 (unrecognized option) and unknown codes
    default:
        return false;  // "Unknown error messages: Silently drop."
    }
}

// §5.2 Packet Too Big: "minimum((MTU value in the Packet Too Big Message)-20,
// MTU_of_IPv4_nexthop, (MTU_of_IPv6_nexthop)-20)", "taking into account whether or not the packet
// in error includes a Fragment Header": a packet that crossed the translator with a Fragment
// header (an IPv4 fragment, §4.1) grew by 28 bytes, not 20.
uint16_t ptb_mtu(const Context &ctx, uint32_t mtu6, bool inner_fragment) {
    uint32_t overhead = ipv6_header_len - ipv4_header_len + (inner_fragment ? fragment_header_len : 0);
    uint32_t mtu = mtu6 > overhead ? mtu6 - overhead : 0;
    if (ctx.config->ipv4_mtu < mtu) mtu = ctx.config->ipv4_mtu;
    uint32_t via6 = ctx.config->ipv6_mtu > overhead ? ctx.config->ipv6_mtu - overhead : 0;
    if (via6 < mtu) mtu = via6;
    return static_cast<uint16_t>(mtu);
}

// §5.2 Echo Request / Echo Reply: "Adjust the Type values to 8 and 0, respectively, and adjust
// the ICMP checksum both to take the type change into account and to exclude the ICMPv6
// pseudo-header." The ICMPv6 checksum has been verified, so the ICMPv4 one is computed afresh.
Result translate_echo(const Context &ctx, rte_mbuf *m, Output &out, const Ip6Header &h) {
    Addresses a;
    Fate fate = map_addresses(ctx, h, a);
    if (fate != Fate::translated_6to4) return drop(m, fate);
    if (h.hop_limit <= 1) return send_icmp6_error(ctx, m, out, h, icmp6_time_exceeded, 0, 0, Fate::drop_ttl_expired_no_error);
    if (h.segments_left_off)
        return send_icmp6_error(ctx, m, out, h, icmp6_param_problem, 0, h.segments_left_off, Fate::drop_routing_header);
    uint32_t total_len = ipv4_header_len + h.l4_len();
    bool hairpin_it = hairpin_condition(ctx, a.dst_path, a.dst);
    if (too_big_for_ipv4(ctx, h, total_len, hairpin_it))
        return send_icmp6_error(ctx, m, out, h, icmp6_packet_too_big, 0, packet_too_big_mtu(ctx),
                                Fate::drop_fragment_too_big);

    uint8_t *p = pull_up(m, h.l4_off + icmp_header_len);
    if (!p) return drop(m, Fate::drop_no_room);
    uint8_t *icmp = p + h.l4_off;
    icmp[0] = icmp[0] == icmp6_echo_request ? icmp4_echo_request : icmp4_echo_reply;
    icmp[2] = icmp[3] = 0;
    csum::store16(icmp + 2, csum::finish(sum_packet(m, h.l4_off, h.l4_len(), 0)));

    FragmentFields frag = ipv4_fragment_fields(h, a.src, a.dst, proto_icmp, total_len, icmp, icmp_header_len);
    write_ipv4_header(icmp - ipv4_header_len, ipv4_tos(ctx, h.traffic_class), static_cast<uint16_t>(total_len),
                      frag, static_cast<uint8_t>(h.hop_limit - 1), proto_icmp, a.src, a.dst);
    rte_pktmbuf_adj(m, static_cast<uint16_t>(h.l4_off - ipv4_header_len));
    return finish_ipv4(ctx, m, out, total_len, hairpin_it, a.dst_path);
}

// §5.2 / §5.3: an ICMPv6 error becomes an ICMPv4 error whose payload is the translated packet in
// error. The new packet is built on the stack (576 bytes at most, RFC 1812 §4.3.2.3) and then
// replaces the content of m.
Result translate_error(const Context &ctx, rte_mbuf *m, Output &out, const Ip6Header &h) {
    uint8_t icmp6[icmp_header_len];
    copy_packet(m, h.l4_off, icmp_header_len, icmp6);
    Icmp4Error e;
    if (!map_error(icmp6[0], icmp6[1], icmp6 + 4, e)) return drop(m, Fate::drop_icmp_untranslatable);

    Addresses a;
    MapResult d = ctx.mapper->v6_to_v4(h.dst, Role::destination, MapFlags{}, a.dst);
    if (!d.ok()) return drop(m, Fate::drop_dst_untranslatable);
    a.dst_path = d.path;
    // §5.1 / RFC 6791: errors from IPv6 routers without an IPv4 form get a pool address.
    if (!ctx.mapper->v6_to_v4(h.src, Role::source, MapFlags{}, a.src).ok()) a.src = rfc6791_source(ctx, h.src);
    // No ICMPv6 error about an ICMPv6 error (RFC 4443 §2.4 (e.1)).
    if (h.hop_limit <= 1) return drop(m, Fate::drop_ttl_expired_no_error);
    if (h.segments_left_off) return drop(m, Fate::drop_routing_header);

    // RFC 4884 §4: a non-zero length attribute (ICMPv6 octet 5, 64-bit words) delimits the
    // original datagram; an ICMP Extension Structure follows it.
    uint32_t body_off = h.l4_off + icmp_header_len;
    uint32_t body_len = h.l4_len() - icmp_header_len;
    uint32_t original_len = body_len;
    uint32_t ext_len = 0;
    if (e.length_attribute && icmp6[4] != 0) {
        original_len = icmp6[4] * 8u;
        if (original_len > body_len) return drop(m, Fate::drop_icmp_inner_invalid);
        ext_len = body_len - original_len;
    }

    // The inner packet as received: an ICMPv6 error holds at most 1280 - 48 bytes of it
    // (RFC 4443 §2.4 (c)); more is never needed to fill a 576-byte ICMPv4 error.
    uint8_t in6[ipv6_min_mtu];
    uint32_t in_len = original_len < sizeof in6 ? original_len : static_cast<uint32_t>(sizeof in6);
    copy_packet(m, body_off, in_len, in6);
    if (original_len > sizeof in6) ext_len = 0;  // not RFC 4884-conformant: extensions not kept

    uint8_t pkt[icmp4_error_max_len];
    uint8_t *icmp4 = pkt + ipv4_header_len;
    uint8_t *inner4 = icmp4 + icmp_header_len;
    constexpr uint32_t inner_cap = icmp4_error_max_len - ipv4_header_len - icmp_header_len;
    InnerResult inner;
    Fate fate = translate_inner(ctx, in6, in_len, inner4, inner_cap, inner);
    if (fate != Fate::translated_6to4) return drop(m, fate);

    // §5.2 "ICMP Error Payload": the length attribute follows the shorter original datagram, now
    // counted in 32-bit words (ICMPv4 octet 6), zero padded to 32 bits and to 128 octets
    // (RFC 4884 §4). When the message must be cut to 576 bytes, the original datagram is cut and
    // the extensions kept; if even 128 octets of it do not fit beside them, they are left out.
    uint32_t body4_len = inner.full_len < inner_cap ? inner.full_len : inner_cap;
    uint8_t length_words = 0;
    if (ext_len) {
        uint32_t padded = (inner.full_len + 3) & ~3u;
        if (padded < rfc4884_min_original) padded = rfc4884_min_original;
        if (padded + ext_len > inner_cap) padded = ext_len < inner_cap ? (inner_cap - ext_len) & ~3u : 0;
        if (padded >= rfc4884_min_original) {
            if (inner.full_len < padded) memset(inner4 + inner.full_len, 0, padded - inner.full_len);
            copy_packet(m, body_off + original_len, ext_len, inner4 + padded);
            body4_len = padded + ext_len;
            length_words = static_cast<uint8_t>(padded / 4);
        }
    }

    icmp4[0] = e.type;
    icmp4[1] = e.code;
    icmp4[2] = icmp4[3] = 0;
    icmp4[4] = e.pointer;
    icmp4[5] = length_words;
    csum::store16(icmp4 + 6, e.packet_too_big ? ptb_mtu(ctx, load32(icmp6 + 4), inner.fragment) : 0);
    uint32_t icmp4_len = icmp_header_len + body4_len;
    csum::store16(icmp4 + 2, csum::finish(csum::add_bytes(0, icmp4, icmp4_len)));

    uint32_t total_len = ipv4_header_len + icmp4_len;
    FragmentFields frag = ipv4_fragment_fields(h, a.src, a.dst, proto_icmp, total_len, icmp4, icmp_header_len);
    write_ipv4_header(pkt, ipv4_tos(ctx, h.traffic_class), static_cast<uint16_t>(total_len), frag,
                      static_cast<uint8_t>(h.hop_limit - 1), proto_icmp, a.src, a.dst);
    if (!rewrite_packet(m, pkt, total_len)) return drop(m, Fate::drop_no_room);
    // RFC 7757 §4.2.2 condition set B: the inner source came from RFC 6052 and is in the EAMT.
    return finish_ipv4(ctx, m, out, total_len, hairpin_condition(ctx, inner.src_path, inner.src), a.dst_path);
}

}  // namespace

// RFC 7915 §5.3: "The ICMP error messages containing the packet in error MUST be translated just
// like a normal IP packet (except that the TTL/Hop Limit value of the inner IPv4/IPv6 packet are
// not decremented)", with the addresses' roles swapped (the packet travelled the other way), and
// "This process MUST stop at the first embedded header": an inner ICMPv6 error is dropped.
// The inner packet is usually truncated: the transport checksum is updated only when its field
// was quoted, and the Total Length keeps describing the original packet.
Fate translate_inner(const Context &ctx, uint8_t *in, uint32_t in_len, uint8_t *out, uint32_t out_cap,
                     InnerResult &r) {
    if (in_len < ipv6_header_len || in[0] >> 4 != 6) return Fate::drop_icmp_inner_invalid;
    Ip6Header ih;
    read_ipv6_header(in, ih);
    uint32_t end = ih.end() < in_len ? ih.end() : in_len;
    auto at = [in](uint32_t off, uint32_t) -> const uint8_t * { return in + off; };
    if (walk_chain(at, end, ih, Fate::drop_icmp_inner_invalid) != Fate::translated_6to4)
        return Fate::drop_icmp_inner_invalid;
    if (ih.proto == proto_icmp) return Fate::drop_icmp_inner_invalid;

    Ip4 src, dst;
    MapResult s = ctx.mapper->v6_to_v4(ih.src, Role::destination, MapFlags{}, src);
    if (!s.ok() || !ctx.mapper->v6_to_v4(ih.dst, Role::source, MapFlags{}, dst).ok())
        return Fate::drop_icmp_inner_invalid;
    r.src_path = s.path;
    r.src = src;
    r.fragment = ih.fragment;

    uint8_t *l4 = in + ih.l4_off;
    uint32_t avail = in_len - ih.l4_off;
    uint8_t proto = ih.proto == proto_icmpv6 ? proto_icmp : ih.proto;
    if (ih.has_l4_header()) {
        uint32_t old_sum = csum::add_ip6(csum::add_ip6(0, ih.src), ih.dst);
        uint32_t new_sum = csum::add_ip4(csum::add_ip4(0, src), dst);
        if (ih.proto == proto_icmpv6) {
            if (avail < 1) return Fate::drop_icmp_inner_invalid;
            if (icmp6_is_error(l4[0])) return Fate::drop_icmp_error_about_icmp_error;
            if (l4[0] != icmp6_echo_request && l4[0] != icmp6_echo_reply) return Fate::drop_icmp_untranslatable;
            uint8_t type4 = l4[0] == icmp6_echo_request ? icmp4_echo_request : icmp4_echo_reply;
            if (avail >= 4) {
                // The inner message is partial: update incrementally, removing the pseudo-header
                // (its length is the original ICMPv6 length) and the old type.
                uint32_t old_icmp = csum::pseudo6(ih.src, ih.dst, proto_icmpv6, ih.end() - ih.l4_off) +
                                    (static_cast<uint32_t>(l4[0]) << 8 | l4[1]);
                uint32_t new_icmp = static_cast<uint32_t>(type4) << 8 | l4[1];
                csum::store16(l4 + 2, csum::update(csum::load16(l4 + 2), old_icmp, new_icmp));
            }
            l4[0] = type4;
        } else if (ih.proto == proto_tcp && avail >= 18) {
            csum::store16(l4 + 16, csum::update(csum::load16(l4 + 16), old_sum, new_sum));
        } else if (ih.proto == proto_udp && avail >= 8 && csum::load16(l4 + 6) != 0) {
            uint16_t c = csum::update(csum::load16(l4 + 6), old_sum, new_sum);
            csum::store16(l4 + 6, c == 0 ? 0xffff : c);
        }
    }

    uint32_t total_len = ipv4_header_len + ih.end() - ih.l4_off;
    // An inner IPv6 packet whose (claimed) length cannot be an IPv4 Total Length: translating it
    // would wrap the 16-bit field and misdescribe the packet in error.
    if (total_len > 0xffff) return Fate::drop_icmp_inner_invalid;
    FragmentFields frag = ipv4_fragment_fields(ih, src, dst, proto, total_len, l4, avail);
    write_ipv4_header(out, ipv4_tos(ctx, ih.traffic_class), static_cast<uint16_t>(total_len), frag, ih.hop_limit,
                      proto, src, dst);
    uint32_t n = avail < out_cap - ipv4_header_len ? avail : out_cap - ipv4_header_len;
    memcpy(out + ipv4_header_len, l4, n);
    r.full_len = ipv4_header_len + avail;
    return Fate::translated_6to4;
}

// RFC 7915 §5.2. ICMPv6 carries its checksum over a pseudo-header; ICMPv4 does not. The ICMPv6
// checksum is verified first so that a corrupt message is not given a valid ICMPv4 checksum
// (§5: "the checksum MUST be evaluated before translation").
Result translate_icmp6(const Context &ctx, rte_mbuf *m, Output &out, const Ip6Header &outer) {
    // A fragment of an ICMPv6 message cannot get its new checksum without reassembly; an atomic
    // fragment (RFC 6946) holds the whole message and is translated.
    if (outer.is_fragmented()) return drop(m, Fate::drop_icmp_fragmented);
    if (outer.l4_len() < icmp_header_len) return drop(m, Fate::drop_truncated);
    uint32_t sum = sum_packet(m, outer.l4_off, outer.l4_len(),
                              csum::pseudo6(outer.src, outer.dst, proto_icmpv6, outer.l4_len()));
    if (csum::fold(sum) != 0xffff) return drop(m, Fate::drop_icmp6_bad_checksum);

    uint8_t type;
    copy_packet(m, outer.l4_off, 1, &type);
    Ip6Header h = outer;
    h.icmp_error = icmp6_is_error(type);
    if (h.icmp_error) return translate_error(ctx, m, out, h);
    // §5.2: MLD (130-132), Neighbor Discovery (133-137) and unknown informational messages:
    // "Silently drop".
    if (type != icmp6_echo_request && type != icmp6_echo_reply) return drop(m, Fate::drop_icmp_untranslatable);
    return translate_echo(ctx, m, out, h);
}

}  // namespace eamclat::xlat::v6to4
