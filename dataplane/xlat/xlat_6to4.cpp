// RFC 7915 §5: IPv6 -> IPv4 translation, the fast path.
// A TCP/UDP packet goes: validate and walk the extension headers, map the addresses, update the
// transport checksum, replace the IPv6 header (and the skipped extension headers) by an IPv4
// header, emit. ICMPv6 (§5.2/§5.3) lives in icmp_6to4.cpp, the ICMPv6 errors the translator
// sends (§5.1/§5.4) in icmp6_errors.cpp, IPv4 fragmentation (§5.1.1) in frag_6to4.cpp.
#include <cstring>

#include "checksum.hpp"
#include "xlat_6to4.hpp"

namespace eamclat::xlat {

using namespace v6to4;

namespace v6to4 {

void read_ipv6_header(const uint8_t *p, Ip6Header &h) {
    h.traffic_class = static_cast<uint8_t>((p[0] & 0x0f) << 4 | p[1] >> 4);
    h.payload_len = csum::load16(p + 4);
    h.hop_limit = p[7];
    memcpy(h.src.b.data(), p + 8, 16);
    memcpy(h.dst.b.data(), p + 24, 16);
}

namespace {

constexpr uint32_t id_hash_bytes = 24;

// A murmur3-style finalizer: spreads every input bit over the 64 bits.
uint64_t mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

}  // namespace

// RFC 7915 §5.1 (no Fragment header): "Identification: Set according to a Fragment
// Identification generator at the translator"; DF "If the size of the translated IPv4 packet is
// less than or equal to 1260 bytes, it is set to zero; otherwise, it is set to one".
// - DF=1 packets are atomic datagrams: RFC 6864 §4.1 lets their source use any ID; we use 0.
// - DF=0 packets get a hash of addresses, protocol, length and the first upper-layer bytes the
//   caller has at hand (at most 24: ports and the TCP/UDP/ICMP checksum, which covers the payload). The translator is stateless and
//   runs on many lcores, so a shared counter is out; the hash is deterministic (eamclat-pcap
//   reproduces it), two different packets of a flow collide with probability 2^-16 like a random
//   generator, and identical retransmissions share an ID harmlessly (their fragments are equal).
// §5.1.1 (Fragment header, atomic fragments included, processed in isolation per RFC 6946 §4 /
// RFC 8021): ID = low 16 bits of the Identification, MF = M, offset copied, DF = 0.
FragmentFields ipv4_fragment_fields(const Ip6Header &h, Ip4 src, Ip4 dst, uint8_t proto, uint32_t total_len,
                                    const uint8_t *l4, uint32_t l4_avail) {
    FragmentFields f;
    if (h.fragment) {
        f.id = static_cast<uint16_t>(h.frag_id);
        f.flags_offset = static_cast<uint16_t>((h.more_fragments ? 0x2000 : 0) | h.frag_offset / 8);
        return f;
    }
    if (total_len > df_threshold) {
        f.flags_offset = 0x4000;
        return f;
    }
    uint64_t x = mix((static_cast<uint64_t>(src) << 32 | dst) ^ (static_cast<uint64_t>(proto) << 16 | total_len));
    for (uint32_t i = 0; i < id_hash_bytes && i < l4_avail; i += 8) {
        // The next (up to) 8 bytes as a big-endian word, zero-padded.
        uint64_t word = 0;
        if (i + 8 <= l4_avail) {
            memcpy(&word, l4 + i, 8);
            word = __builtin_bswap64(word);
        } else {
            for (uint32_t j = i; j < l4_avail; j++) word |= static_cast<uint64_t>(l4[j]) << (56 - 8 * (j - i));
        }
        x = mix(x ^ word);
    }
    f.id = static_cast<uint16_t>(x ^ x >> 16 ^ x >> 32 ^ x >> 48);
    return f;
}

void write_ipv4_header(uint8_t *p, uint8_t tos, uint16_t total_len, FragmentFields frag, uint8_t ttl,
                       uint8_t proto, Ip4 src, Ip4 dst) {
    p[0] = 0x45;  // §5.1: version 4, IHL 5 (no options)
    p[1] = tos;
    csum::store16(p + 2, total_len);
    csum::store16(p + 4, frag.id);
    csum::store16(p + 6, frag.flags_offset);
    p[8] = ttl;
    p[9] = proto;
    store_ip4(p + 12, src);
    store_ip4(p + 16, dst);
    // RFC 791 header checksum, summed from the field values (not read back from the bytes just
    // written: a wide load of fresh narrow stores stalls store forwarding).
    uint32_t sum = (0x45u << 8 | tos) + total_len + frag.id + frag.flags_offset + (static_cast<uint32_t>(ttl) << 8 | proto);
    sum = csum::add_ip4(csum::add_ip4(sum, src), dst);
    csum::store16(p + 10, csum::finish(sum));
}

bool hairpin_condition(const Context &ctx, Path path, Ip4 addr) {
    return ctx.config->mode == Mode::siit && ctx.config->eam_hairpin_mode == HairpinMode::intrinsic &&
           path == Path::pref64 && ctx.mapper->eamt_has_v4(addr);
}

uint32_t packet_too_big_mtu(const Context &ctx) {
    // The largest IPv6 packet whose translation fits the IPv4 MTU, never below the IPv6 minimum
    // MTU (RFC 8200 §5; an IPv6 packet of at most 1280 bytes is fragmented in IPv4, §5.1.1).
    uint32_t mtu = ctx.config->ipv4_mtu + (ipv6_header_len - ipv4_header_len);
    return mtu < ipv6_min_mtu ? ipv6_min_mtu : mtu;
}

// The translator does not fragment IPv6 packets larger than the IPv6 minimum MTU: their source
// learns the path MTU from a Packet Too Big (see packet_too_big_mtu), as it would from the IPv4
// router that drops the DF=1 packet (§5.1). Smaller packets are fragmented in IPv4 (§5.1.1), as
// are non-first fragments (DF=0 per §5.1.1, and nobody may be told about them, RFC 4443 §2.4).
// Hairpinned packets do not leave on the IPv4 side, but must still fit an IPv4 header.
bool too_big_for_ipv4(const Context &ctx, const Ip6Header &h, uint32_t total_len, bool hairpin_it) {
    if (total_len > 0xffff) return true;
    if (hairpin_it || total_len <= ctx.config->ipv4_mtu || h.end() <= ipv6_min_mtu) return false;
    return !h.fragment || h.frag_offset == 0;
}

// RFC 7915 §5.1 Source/Destination Address, §6. The destination first: a packet whose
// destination has no IPv4 form is not for the translator (§5.6).
Fate map_addresses(const Context &ctx, const Ip6Header &h, Addresses &a) {
    MapResult d = ctx.mapper->v6_to_v4(h.dst, Role::destination, MapFlags{}, a.dst);
    if (!d.ok()) return Fate::drop_dst_untranslatable;
    a.dst_path = d.path;
    // "If the translator gets an illegal source address (e.g., ::1, etc.), the translator SHOULD
    // silently drop the packet": the mapper refuses such addresses.
    if (!ctx.mapper->v6_to_v4(h.src, Role::source, MapFlags{}, a.src).ok()) return Fate::drop_src_untranslatable;
    return Fate::translated_6to4;
}

namespace {

// RFC 7757 §4.2.2 "translate the packet back to IPv6": the second pass must not produce a packet
// that this translator would hairpin once more (only possible with inconsistent EAMT/pool6
// configurations); such packets are dropped instead of looping.
bool would_hairpin_again(const Context &ctx, rte_mbuf *m) {
    uint8_t hdr[ipv6_header_len + icmp_header_len + ipv6_header_len];
    uint32_t len = rte_pktmbuf_pkt_len(m);
    if (len < ipv6_header_len) return false;
    uint32_t n = len < sizeof hdr ? len : static_cast<uint32_t>(sizeof hdr);
    copy_packet(m, 0, n, hdr);
    // Both addresses are looked up as destinations: the inner source plays that role (§5.3).
    Ip6 addr;
    if (hdr[6] == proto_icmpv6 && n == sizeof hdr && icmp6_is_error(hdr[40])) {
        memcpy(addr.b.data(), hdr + 48 + 8, 16);  // condition B: the inner source
    } else {
        memcpy(addr.b.data(), hdr + 24, 16);  // condition A: the destination
    }
    Ip4 v4;
    MapResult r = ctx.mapper->v6_to_v4(addr, Role::destination, MapFlags{}, v4);
    return r.ok() && hairpin_condition(ctx, r.path, v4);
}

Result hairpin(const Context &ctx, rte_mbuf *m, Output &out, Path path) {
    unsigned first = out.n;
    Pass4to6 pass;
    pass.hairpin_second_pass = true;
    Result r = translate_4to6_pass(ctx, m, out, pass);
    if (r.fate != Fate::translated_4to6) return r;
    for (unsigned i = first; i < out.n; i++) {
        if (out.pkts[i].side == Side::v6 && would_hairpin_again(ctx, out.pkts[i].m)) {
            for (unsigned j = first; j < out.n; j++) rte_pktmbuf_free(out.pkts[j].m);
            out.n = first;
            return {Fate::drop_hairpin_loop, Path::none};
        }
    }
    return {Fate::hairpinned, path};
}

}  // namespace

Result finish_ipv4(const Context &ctx, rte_mbuf *m, Output &out, uint32_t total_len, bool hairpin_it, Path path) {
    if (hairpin_it) return hairpin(ctx, m, out, path);
    if (total_len > ctx.config->ipv4_mtu) return fragment_ipv4(ctx, m, out, total_len, ctx.config->ipv4_mtu, path);
    if (!emit(out, m, Side::v4)) return drop(m, Fate::drop_output_full);
    return {Fate::translated_6to4, path};
}

}  // namespace v6to4

namespace {

// RFC 8200 §3: fixed header checks; trims bytes beyond Payload Length (L2 padding), walks the
// extension headers (RFC 7915 §5.1).
Fate parse_ipv6(rte_mbuf *m, Ip6Header &h) {
    uint32_t pkt_len = rte_pktmbuf_pkt_len(m);
    if (pkt_len < ipv6_header_len) return Fate::drop_truncated;
    const uint8_t *p = pull_up(m, ipv6_header_len);
    if (!p) return Fate::drop_no_room;
    if (p[0] >> 4 != 6) return Fate::drop_bad_version;
    read_ipv6_header(p, h);
    // A zero Payload Length with a Hop-by-Hop header is a jumbogram (RFC 2675), which has no IPv4
    // form; the walk below rejects it as a chain past the end.
    if (h.end() > pkt_len) return Fate::drop_bad_length;
    if (h.end() < pkt_len) trim_packet(m, h.end());
    auto at = [m](uint32_t off, uint32_t len) -> const uint8_t * {
        const uint8_t *q = pull_up(m, off + len);
        return q ? q + off : nullptr;
    };
    return walk_chain(at, h.end(), h, Fate::drop_ext_header_chain);
}

// Bytes of the transport header that must be contiguous: up to and including the checksum.
uint32_t transport_header_need(const Ip6Header &h) {
    if (!h.has_l4_header()) return 0;
    if (h.proto == proto_tcp) return 18;
    if (h.proto == proto_udp) return 8;
    return h.l4_len() < 8 ? h.l4_len() : 8;  // hashed into the IPv4 Identification
}

// RFC 7915 §5.5: TCP and UDP checksums cover a pseudo-header; only the addresses differ between
// the IPv6 and IPv4 pseudo-headers (the length and protocol are the same), so the update is
// incremental over them and right for first fragments too.
Fate update_transport_checksum(const Ip6Header &h, const Addresses &a, uint8_t *l4) {
    uint8_t *field;
    if (h.proto == proto_tcp) {
        field = l4 + 16;
    } else if (h.proto == proto_udp) {
        field = l4 + 6;
        // RFC 8200 §8.1: a zero UDP checksum is invalid in IPv6; translating it would turn an
        // invalid packet into an IPv4 one without checksum.
        if (csum::load16(field) == 0) return Fate::drop_udp_checksum_zero_ipv6;
    } else {
        return Fate::translated_6to4;  // §5.5: other protocols forwarded unchanged
    }
    uint32_t old_sum = csum::add_ip6(csum::add_ip6(0, h.src), h.dst);
    uint32_t new_sum = csum::add_ip4(csum::add_ip4(0, a.src), a.dst);
    uint16_t c = csum::update(csum::load16(field), old_sum, new_sum);
    if (h.proto == proto_udp && c == 0) c = 0xffff;  // RFC 768: zero means "no checksum"
    csum::store16(field, c);
    return Fate::translated_6to4;
}

}  // namespace

// RFC 7915 §5.1 (§5.1.1 for fragments).
Result translate_6to4(const Context &ctx, rte_mbuf *m, Output &out) {
    Ip6Header h;
    Fate fate = parse_ipv6(m, h);
    if (fate != Fate::translated_6to4) return drop(m, fate);
    if (h.proto == proto_icmpv6) return translate_icmp6(ctx, m, out, h);
    // An ICMPv4 message in IPv6 has no meaning (RFC 4443 §1); it would leave as IPv4 ICMP without
    // its checksum ever having been checked against IPv6 rules.
    if (h.proto == proto_icmp) return drop(m, Fate::drop_unsupported_protocol);

    Addresses a;
    fate = map_addresses(ctx, h, a);
    if (fate != Fate::translated_6to4) return drop(m, fate);

    // §5.1 Time to Live: "the translator (as any router) MUST check for zero and send the ...
    // ICMPv6 'Hop Limit Exceeded' error".
    if (h.hop_limit <= 1) return send_icmp6_error(ctx, m, out, h, icmp6_time_exceeded, 0, 0, Fate::drop_ttl_expired_no_error);
    // §5.1: "If a Routing header with a non-zero Segments Left field is present, then the packet
    // MUST NOT be translated, and an ICMPv6 'parameter problem/erroneous header field encountered'
    // (Type 4, Code 0) error message, with the Pointer field indicating the first byte of the
    // Segments Left field, SHOULD be returned to the sender."
    if (h.segments_left_off)
        return send_icmp6_error(ctx, m, out, h, icmp6_param_problem, 0, h.segments_left_off, Fate::drop_routing_header);

    uint32_t total_len = ipv4_header_len + h.l4_len();
    bool hairpin_it = hairpin_condition(ctx, a.dst_path, a.dst);
    if (too_big_for_ipv4(ctx, h, total_len, hairpin_it))
        return send_icmp6_error(ctx, m, out, h, icmp6_packet_too_big, 0, packet_too_big_mtu(ctx),
                                Fate::drop_fragment_too_big);

    uint32_t need = transport_header_need(h);
    if (h.l4_len() < need) return drop(m, Fate::drop_truncated);
    uint8_t *p = pull_up(m, h.l4_off + need);
    if (!p) return drop(m, Fate::drop_no_room);
    if (h.has_l4_header()) {
        fate = update_transport_checksum(h, a, p + h.l4_off);
        if (fate != Fate::translated_6to4) return drop(m, fate);
    }

    FragmentFields frag = ipv4_fragment_fields(h, a.src, a.dst, h.proto, total_len, p + h.l4_off, need);
    uint8_t *ip4 = p + h.l4_off - ipv4_header_len;
    write_ipv4_header(ip4, ipv4_tos(ctx, h.traffic_class), static_cast<uint16_t>(total_len), frag,
                      static_cast<uint8_t>(h.hop_limit - 1), h.proto, a.src, a.dst);
    rte_pktmbuf_adj(m, static_cast<uint16_t>(h.l4_off - ipv4_header_len));
    return finish_ipv4(ctx, m, out, total_len, hairpin_it, a.dst_path);
}

}  // namespace eamclat::xlat
