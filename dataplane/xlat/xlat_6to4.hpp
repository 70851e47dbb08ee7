// Internals of the IPv6 -> IPv4 direction (RFC 7915 §5), shared by xlat_6to4.cpp (fast path),
// icmp_6to4.cpp (§5.2/§5.3), icmp6_errors.cpp (ICMPv6 errors we generate, §5.1/§5.4),
// frag_6to4.cpp (§5.1.1 IPv4 fragmentation) and mbuf_6to4.cpp (chain-aware mbuf helpers).
#pragma once

#include <cstdint>

#include "internal.hpp"

namespace eamclat::xlat::v6to4 {

inline constexpr uint8_t nh_hop_by_hop = 0;
inline constexpr uint8_t proto_icmp = 1;
inline constexpr uint8_t proto_tcp = 6;
inline constexpr uint8_t proto_udp = 17;
inline constexpr uint8_t nh_routing = 43;
inline constexpr uint8_t nh_fragment = 44;
inline constexpr uint8_t nh_auth = 51;
inline constexpr uint8_t proto_icmpv6 = 58;
inline constexpr uint8_t nh_dest_options = 60;

inline constexpr uint32_t ipv6_header_len = 40;
inline constexpr uint32_t ipv4_header_len = 20;
inline constexpr uint32_t fragment_header_len = 8;
inline constexpr uint32_t icmp_header_len = 8;
inline constexpr uint32_t ipv6_min_mtu = 1280;         // RFC 8200 §5
inline constexpr uint32_t df_threshold = 1260;         // RFC 7915 §5: 1280 minus the header difference
inline constexpr uint32_t icmp4_error_max_len = 576;   // RFC 1812 §4.3.2.3, RFC 7915 §5.3 / RFC 4884
inline constexpr uint8_t error_hop_limit = 64;         // RFC 8200 / RFC 4443 leave it to the node; Linux's default

// ICMPv6 types (RFC 4443 §2.1, RFC 4884).
inline constexpr uint8_t icmp6_dest_unreach = 1;
inline constexpr uint8_t icmp6_packet_too_big = 2;
inline constexpr uint8_t icmp6_time_exceeded = 3;
inline constexpr uint8_t icmp6_param_problem = 4;
inline constexpr uint8_t icmp6_echo_request = 128;
inline constexpr uint8_t icmp6_echo_reply = 129;

inline bool icmp6_is_error(uint8_t type) { return type < 128; }  // RFC 4443 §2.1

// An IPv6 header and its extension header chain (RFC 8200 §4), as walk_chain() leaves it.
struct Ip6Header {
    uint32_t payload_len = 0;  // Payload Length (the outer packet is trimmed to 40 + this)
    uint8_t traffic_class = 0;
    uint8_t hop_limit = 0;
    Ip6 src{};
    Ip6 dst{};
    uint32_t l4_off = 0;  // offset of the upper-layer header: 40 + skipped headers (+ Fragment header)
    uint8_t proto = 0;    // RFC 7915 §5.1 Protocol: the first next header that is not skipped
    bool fragment = false;       // a Fragment header was present (RFC 7915 §5.1.1)
    uint32_t frag_id = 0;
    uint32_t frag_offset = 0;    // in bytes
    bool more_fragments = false;
    // Offset (from the IPv6 header) of the Segments Left octet of the first Routing header whose
    // Segments Left is not zero; 0 when there is none (RFC 7915 §5.1).
    uint32_t segments_left_off = 0;
    // Outer ICMPv6 error (type < 128) in an unfragmented packet: never answered with an error.
    bool icmp_error = false;

    uint32_t end() const { return ipv6_header_len + payload_len; }
    uint32_t l4_len() const { return end() - l4_off; }  // upper-layer bytes in this packet
    // A true fragment (not an atomic fragment, RFC 6946): its upper layer is incomplete.
    bool is_fragmented() const { return fragment && (frag_offset != 0 || more_fragments); }
    bool has_l4_header() const { return frag_offset == 0; }
};

inline bool is_extension_header(uint8_t nh) {
    // RFC 8200 §4 and the IANA "IPv6 Extension Header Types" registry (ESP, 50, excluded as §5.1.1 says).
    return nh == nh_hop_by_hop || nh == nh_routing || nh == nh_fragment || nh == nh_dest_options ||
           nh == nh_auth || nh == 135 || nh == 139 || nh == 140 || nh == 253 || nh == 254;
}

// RFC 7915 §5.1 / §5.1.1: walks the extension headers of the IPv6 header at offset 0, skipping
// Hop-by-Hop, Destination Options and Routing headers, decoding one Fragment header, and stops at
// the first other next header. `at(off, len)` returns a pointer to bytes [off, off+len) or nullptr
// when they cannot be made contiguous; `end` bounds the chain (the packet's, or the available
// part of an ICMP error's inner packet). Returns translated_6to4, or `past_end` when a header
// crosses `end`, drop_unsupported_protocol for an extension header after the Fragment header
// (§5.1.1 "SHOULD be dropped", which covers a nested Fragment header), drop_no_room.
template <class At>
Fate walk_chain(At at, uint32_t end, Ip6Header &h, Fate past_end) {
    const uint8_t *p = at(0, ipv6_header_len);
    if (!p) return Fate::drop_no_room;
    uint8_t nh = p[6];
    uint32_t off = ipv6_header_len;
    for (;;) {
        if (h.fragment && is_extension_header(nh)) return Fate::drop_unsupported_protocol;
        if (nh == nh_hop_by_hop || nh == nh_dest_options || nh == nh_routing) {
            if (off + 8 > end) return past_end;
            p = at(off, 8);
            if (!p) return Fate::drop_no_room;
            uint32_t len = (p[1] + 1u) * 8;
            if (off + len > end) return past_end;
            if (nh == nh_routing && p[3] != 0 && h.segments_left_off == 0) h.segments_left_off = off + 3;
            nh = p[0];
            off += len;
        } else if (nh == nh_fragment) {
            if (off + fragment_header_len > end) return past_end;
            p = at(off, fragment_header_len);
            if (!p) return Fate::drop_no_room;
            h.fragment = true;
            h.frag_offset = (static_cast<uint32_t>(p[2]) << 8 | p[3]) & 0xfff8u;
            h.more_fragments = p[3] & 1;
            h.frag_id = static_cast<uint32_t>(p[4]) << 24 | static_cast<uint32_t>(p[5]) << 16 |
                        static_cast<uint32_t>(p[6]) << 8 | p[7];
            nh = p[0];
            off += fragment_header_len;
        } else {
            h.proto = nh;
            h.l4_off = off;
            return Fate::translated_6to4;
        }
    }
}

// Fills the fixed-header fields of h from the 40 bytes at p.
void read_ipv6_header(const uint8_t *p, Ip6Header &h);

// The IPv4 addresses chosen for a translated header, and how the destination was mapped.
struct Addresses {
    Ip4 src = 0;
    Ip4 dst = 0;
    Path dst_path = Path::none;
};

// RFC 7915 §5.1 Source/Destination Address (§6): translated_6to4, drop_dst_untranslatable or
// drop_src_untranslatable.
Fate map_addresses(const Context &ctx, const Ip6Header &h, Addresses &a);

// RFC 7915 §5.1 TOS: the Traffic Class, or the configured value ("SHOULD provide the ability to
// ignore the IPv6 traffic class and always set the IPv4 TOS Octet to a specified value").
inline uint8_t ipv4_tos(const Context &ctx, uint8_t traffic_class) {
    return ctx.config->reset_tos ? ctx.config->new_tos : traffic_class;
}

// RFC 7915 §5.1 Identification / Flags / Fragment Offset of a packet without a Fragment header
// (§5.1) or with one (§5.1.1). `l4`/`l4_avail`: the first upper-layer bytes, hashed into the
// Identification of small unfragmented packets.
struct FragmentFields {
    uint16_t id = 0;
    uint16_t flags_offset = 0;  // the 16-bit word: flags << 13 | offset / 8
};
FragmentFields ipv4_fragment_fields(const Ip6Header &h, Ip4 src, Ip4 dst, uint8_t proto, uint32_t total_len,
                                    const uint8_t *l4, uint32_t l4_avail);

// Writes a 20-byte IPv4 header with its checksum (RFC 791).
void write_ipv4_header(uint8_t *p, uint8_t tos, uint16_t total_len, FragmentFields frag, uint8_t ttl,
                       uint8_t proto, Ip4 src, Ip4 dst);

// RFC 6791 §5 / RFC 7915 §5.1: the source of a translated ICMPv6 error whose IPv6 source is not
// IPv4-translatable.
Ip4 rfc6791_source(const Context &ctx, const Ip6 &icmp6_source);

// RFC 7757 §4.2.2: true when intrinsic hairpinning applies (siit mode) and the mapped address
// (the destination, or an ICMP error's inner source) came from RFC 6052 and is also in the EAMT.
bool hairpin_condition(const Context &ctx, Path path, Ip4 addr);

// The end of every translation: the packet m holds a translated IPv4 packet of total_len bytes
// (header included). Hairpins it (RFC 7757 §4.2.2) or fragments it for the IPv4 MTU (§5.1.1)
// and emits it. Consumes m.
Result finish_ipv4(const Context &ctx, rte_mbuf *m, Output &out, uint32_t total_len, bool hairpin, Path path);

// §5.2/§5.3: translates an ICMPv6 packet (h.proto == 58, h.l4_off bytes of headers before it).
// Consumes m.
Result translate_icmp6(const Context &ctx, rte_mbuf *m, Output &out, const Ip6Header &h);

// §5.3: translates the IPv6 packet in error `in` (in_len available bytes, possibly truncated) into
// an IPv4 packet written to `out` (at most out_cap bytes, the rest is cut); `in` is a scratch copy
// whose transport checksum is updated in place. Returns
// translated_6to4 or the drop fate; `full_len` is the untruncated translated length.
struct InnerResult {
    uint32_t full_len = 0;
    bool fragment = false;   // the inner packet had a Fragment header (RFC 7915 §5.2 PTB)
    Path src_path = Path::none;
    Ip4 src = 0;
};
Fate translate_inner(const Context &ctx, uint8_t *in, uint32_t in_len, uint8_t *out, uint32_t out_cap,
                     InnerResult &r);

// §5.1 / §5.4: answers the sender of the IPv6 packet m (untouched, h parsed from it) with an
// ICMPv6 error built in m, or drops m with `suppressed` when RFC 4443 §2.4 (e) forbids an error.
// `rest` is the second 32-bit word of the ICMPv6 header (MTU, pointer). Consumes m.
Result send_icmp6_error(const Context &ctx, rte_mbuf *m, Output &out, const Ip6Header &h, uint8_t type,
                        uint8_t code, uint32_t rest, Fate suppressed);

// True when the IPv6 packet must be answered with a Packet Too Big instead of being translated.
bool too_big_for_ipv4(const Context &ctx, const Ip6Header &h, uint32_t total_len, bool hairpin_it);

// RFC 7915 §5.1: "Packet Too Big" MTU for an IPv6 packet that does not fit the IPv4 MTU.
uint32_t packet_too_big_mtu(const Context &ctx);

// §5.1.1: m holds an IPv4 packet (20-byte header) of total_len bytes; cuts it into fragments of
// at most mtu bytes, all emitted to the IPv4 side. Consumes m.
Result fragment_ipv4(const Context &ctx, rte_mbuf *m, Output &out, uint32_t total_len, uint32_t mtu, Path path);

// mbuf helpers (mbuf_6to4.cpp).
// Shortens the packet to len bytes (freeing emptied segments). len <= pkt_len.
void trim_packet(rte_mbuf *m, uint32_t len);
// Replaces the whole content of m by len bytes (freeing the other segments). False if the first
// segment's buffer cannot hold them.
bool rewrite_packet(rte_mbuf *m, const uint8_t *data, uint32_t len);
// Adds the 16-bit big-endian words of bytes [off, off+len) of the packet to sum; chain-aware,
// segments of odd length included. The range must be inside the packet.
uint32_t sum_packet(const rte_mbuf *m, uint32_t off, uint32_t len, uint32_t sum);
// Copies bytes [off, off+len) of the packet to dst. The range must be inside the packet.
void copy_packet(const rte_mbuf *m, uint32_t off, uint32_t len, uint8_t *dst);

inline Ip4 load_ip4(const uint8_t *p) {
    return static_cast<Ip4>(p[0]) << 24 | static_cast<Ip4>(p[1]) << 16 | static_cast<Ip4>(p[2]) << 8 | p[3];
}
inline void store_ip4(uint8_t *p, Ip4 a) {
    p[0] = static_cast<uint8_t>(a >> 24);
    p[1] = static_cast<uint8_t>(a >> 16);
    p[2] = static_cast<uint8_t>(a >> 8);
    p[3] = static_cast<uint8_t>(a);
}
inline void store32(uint8_t *p, uint32_t v) { store_ip4(p, v); }
inline uint32_t load32(const uint8_t *p) { return load_ip4(p); }

inline Result drop(rte_mbuf *m, Fate fate) {
    rte_pktmbuf_free(m);
    return {fate, Path::none};
}

}  // namespace eamclat::xlat::v6to4
