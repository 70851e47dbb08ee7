// ICMPv6 errors the translator sends back to an IPv6 sender (RFC 7915 §5.1 Hop Limit, Routing
// header, Packet Too Big; §5.4), and the RFC 6791 source of translated ICMPv6 errors.
#include <cstring>

#include "checksum.hpp"
#include "xlat_6to4.hpp"

namespace eamclat::xlat::v6to4 {

namespace {

constexpr Ip4 rfc7600_dummy_ipv4 = 0xc0000008;  // 192.0.0.8, RFC 7600 §4

bool is_multicast(const Ip6 &a) { return a.b[0] == 0xff; }
bool is_unspecified(const Ip6 &a) { return a == Ip6{}; }

// The source address of the errors the translator originates. The translator has no interface
// address of its own in Config, so, in order:
//  1. rfc6791v6_prefix (Jool's pool for ICMPv6 errors the translator has to source itself): the
//     address itself for a /128, else the prefix's address ending in 1, which avoids the
//     Subnet-Router anycast address (RFC 4291 §2.6.1) that the prefix's first address is.
//  2. 192.0.0.8 (the RFC 7600 IPv4 dummy address) embedded (RFC 6052) in pool6 (siit) or the
//     CLAT prefix (clat): both prefixes are routed to the translator from the IPv6 side, and the
//     address maps back to the IPv4 address a translator uses when it has none.
//  3. The destination of the offending packet, which the sender routed to the translator.
Ip6 translator_address(const Config &cfg, const Ip6Header &h) {
    if (cfg.rfc6791v6_prefix) {
        Ip6 a = cfg.rfc6791v6_prefix->addr;
        if (cfg.rfc6791v6_prefix->len < 128) a.b[15] |= 1;
        return a;
    }
    const std::optional<Prefix6> &prefix = cfg.mode == Mode::siit ? cfg.pool6 : cfg.clat_prefix;
    if (prefix && rfc6052_valid_length(prefix->len)) return rfc6052_embed(*prefix, rfc7600_dummy_ipv4);
    return h.dst;
}

// RFC 4443 §2.4 (e): no error about an ICMPv6 error, a packet from an address that does not
// identify one node (unspecified or multicast), a non-first fragment (RFC 1812 §4.3.2.7, whose
// sender cannot match it), or a packet sent to multicast (except Packet Too Big, e.3).
bool error_allowed(const Ip6Header &h, uint8_t type) {
    if (h.icmp_error) return false;
    if (h.fragment && h.frag_offset != 0) return false;
    if (is_multicast(h.src) || is_unspecified(h.src)) return false;
    if (is_multicast(h.dst) && type != icmp6_packet_too_big) return false;
    return true;
}

}  // namespace

// RFC 4443 §2.4 (c): "as much of invoking packet as possible without the ICMPv6 packet exceeding
// the minimum IPv6 MTU". The error is built in m: the offending packet, cut to fit, becomes the
// payload and the new headers go in front of it.
Result send_icmp6_error(const Context &ctx, rte_mbuf *m, Output &out, const Ip6Header &h, uint8_t type,
                        uint8_t code, uint32_t rest, Fate suppressed) {
    if (!error_allowed(h, type)) return drop(m, suppressed);
    if (out.n >= Output::max) return drop(m, Fate::drop_output_full);

    constexpr uint32_t headers = ipv6_header_len + icmp_header_len;
    uint32_t quoted = rte_pktmbuf_pkt_len(m);
    if (quoted > ipv6_min_mtu - headers) {
        quoted = ipv6_min_mtu - headers;
        trim_packet(m, quoted);
    }
    rte_mbuf *head = m;
    uint8_t *p = reinterpret_cast<uint8_t *>(rte_pktmbuf_prepend(m, headers));
    if (!p) {
        // No headroom (e.g. a segment shared with a previous L2 encapsulation): the headers go in
        // a segment of their own.
        head = rte_pktmbuf_alloc(ctx.pool);
        if (!head) return drop(m, Fate::drop_no_mbuf);
        p = reinterpret_cast<uint8_t *>(rte_pktmbuf_append(head, headers));
        if (!p || rte_pktmbuf_chain(head, m) != 0) {
            rte_pktmbuf_free(head);
            return drop(m, Fate::drop_no_room);
        }
    }

    Ip6 src = translator_address(*ctx.config, h);
    uint32_t icmp_len = icmp_header_len + quoted;
    p[0] = 0x60;  // version 6, traffic class 0, flow label 0
    p[1] = p[2] = p[3] = 0;
    csum::store16(p + 4, static_cast<uint16_t>(icmp_len));
    p[6] = proto_icmpv6;
    p[7] = error_hop_limit;
    memcpy(p + 8, src.b.data(), 16);
    memcpy(p + 24, h.src.b.data(), 16);
    uint8_t *icmp = p + ipv6_header_len;
    icmp[0] = type;
    icmp[1] = code;
    icmp[2] = icmp[3] = 0;
    store32(icmp + 4, rest);
    // RFC 4443 §2.3: checksum over the pseudo-header and the whole message.
    uint32_t sum = csum::pseudo6(src, h.src, proto_icmpv6, icmp_len);
    sum = csum::add_bytes(sum, icmp, icmp_header_len);
    sum = sum_packet(head, headers, quoted, csum::fold(sum));
    csum::store16(icmp + 2, csum::finish(sum));
    emit(out, head, Side::v6);
    return {Fate::icmp6_error_sent, Path::none};
}

// RFC 7915 §5.1 / RFC 6791 §5: "it is RECOMMENDED to randomly select the IPv4 source address
// from the pool". The choice is a hash of the ICMPv6 source: stateless and lock-free, spread over
// the pool like a random pick, and stable per originating router, so a traceroute shows distinct
// IPv6 routers as distinct IPv4 hops (the aim of RFC 6791 §3.1/§5) instead of a fake loop. The
// network and broadcast addresses of pools shorter than /31 are avoided. Without a pool the
// source is 192.0.0.8, the IPv4 dummy address of RFC 7600 §4 for translators lacking one.
Ip4 rfc6791_source(const Context &ctx, const Ip6 &icmp6_source) {
    const std::optional<Prefix4> &pool = ctx.config->rfc6791v4_prefix;
    if (!pool) return rfc7600_dummy_ipv4;
    if (pool->len == 32) return pool->addr;
    uint32_t h = 2166136261u;  // FNV-1a over the 16 octets
    for (uint8_t b : icmp6_source.b) h = (h ^ b) * 16777619u;
    if (pool->len == 31) return pool->addr + (h & 1);  // RFC 3021: both addresses usable
    uint64_t usable = (uint64_t{1} << (32 - pool->len)) - 2;
    return static_cast<Ip4>(pool->addr + 1 + h % usable);
}

}  // namespace eamclat::xlat::v6to4
