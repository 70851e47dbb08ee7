// Internals of the IPv4 -> IPv6 direction (RFC 7915 §4), shared by xlat_4to6.cpp (fast path),
// icmp_4to6.cpp (§4.2/§4.3), icmp4_errors.cpp (§4.4) and frag_4to6.cpp (§4.1 fragmentation).
#pragma once

#include <cstdint>

#include "internal.hpp"

namespace eamclat::xlat::v4to6 {

// §4.1/§4.2/§4.3: whether an IPv4 protocol number may become an IPv6 Next Header (xlat_4to6.cpp).
bool translatable_protocol(uint8_t proto);


inline constexpr uint8_t proto_icmp = 1;
inline constexpr uint8_t proto_tcp = 6;
inline constexpr uint8_t proto_udp = 17;
inline constexpr uint8_t proto_ipv6_frag = 44;
inline constexpr uint8_t proto_icmpv6 = 58;

inline constexpr uint32_t ipv6_header_len = 40;
inline constexpr uint32_t fragment_header_len = 8;
inline constexpr uint32_t ipv6_min_mtu = 1280;  // RFC 8200 §5

// The outer IPv4 header, validated by parse_ipv4().
struct Ip4Header {
    uint32_t ihl = 0;          // header length in bytes (20..60)
    uint32_t total_len = 0;    // Total Length (the packet is trimmed to it)
    uint8_t tos = 0;
    uint16_t id = 0;
    bool df = false;
    bool mf = false;
    uint32_t frag_offset = 0;  // in bytes
    uint8_t ttl = 0;
    uint8_t proto = 0;
    Ip4 src = 0;
    Ip4 dst = 0;
    // ICMPv4 error (types 3, 4, 5, 11, 12) in a first fragment or unfragmented packet: never
    // answered with an ICMP error (RFC 1812 §4.3.2.7, RFC 7915 §4.4).
    bool icmp_error = false;

    bool is_fragment() const { return mf || frag_offset != 0; }
};

// Addresses and destination path chosen for the outer IPv6 header.
struct Addresses {
    Ip6 src{};
    Ip6 dst{};
    Path path = Path::none;
};

inline bool icmp4_is_error(uint8_t type) {
    return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

// RFC 7757 §4.2.1 applies when simple hairpinning is configured and during the second pass of
// intrinsic hairpinning (§4.2.2).
inline bool simple_hairpin_rules(const Context &ctx, const Pass4to6 &pass) {
    return pass.hairpin_second_pass || ctx.config->eam_hairpin_mode == HairpinMode::simple;
}

inline uint8_t traffic_class(const Context &ctx, uint8_t tos) {
    return ctx.config->zeroize_traffic_class ? 0 : tos;
}

// Writes a 40-byte IPv6 header (RFC 7915 §4.1: flow label 0).
void write_ipv6_header(uint8_t *p, uint8_t traffic_class, uint16_t payload_len, uint8_t next_header,
                       uint8_t hop_limit, const Ip6 &src, const Ip6 &dst);
// Writes an 8-byte Fragment header; offset in bytes (a multiple of 8), identification zero-extended.
void write_fragment_header(uint8_t *p, uint8_t next_header, uint32_t offset, bool more, uint32_t id);

// §4.2/§4.3: translates the ICMPv4 part of the packet (the message after the h.ihl header bytes)
// into ICMPv6 and picks the outer addresses. Echo is updated in place; errors are rebuilt (the
// packet then holds h.ihl untouched bytes followed by the ICMPv6 message and h.total_len is
// updated). Returns Fate::translated_4to6 or the drop fate; never frees m.
Fate translate_icmp4(const Context &ctx, rte_mbuf *m, Ip4Header &h, const Pass4to6 &pass, Addresses &a);

// §4.4 / §4.1: consumes m, answering its sender with an ICMPv4 error built in m's buffer, or
// dropping it with `suppressed` when RFC 1812 §4.3.2.7 forbids an error.
// `rest` is the second 32-bit word of the ICMP header (e.g. the next-hop MTU of type 3 code 4).
Result send_icmp4_error(const Context &ctx, rte_mbuf *m, Output &out, const Ip4Header &h, uint8_t type,
                        uint8_t code, uint32_t rest, Fate suppressed);

// §4.1: m holds an IPv6 header and a Fragment header (48 bytes) followed by the payload; cuts it
// into fragments of at most max_len bytes, all emitted to the IPv6 side. Consumes m.
Result fragment_ipv6(const Context &ctx, rte_mbuf *m, Output &out, uint32_t max_len, Path path);

// mbuf helpers (mbuf_4to6.cpp).
// Shortens the packet to len bytes (freeing emptied segments). len <= pkt_len.
void truncate_packet(rte_mbuf *m, uint32_t len);
// Replaces the whole content of m by len bytes (freeing the other segments). False if the first
// segment's buffer cannot hold them.
bool replace_packet(rte_mbuf *m, const uint8_t *data, uint32_t len);
// Adds the 16-bit big-endian words of bytes [off, off+len) of the packet to sum (chain-aware,
// segments of odd length included). The range must be inside the packet.
uint32_t sum_packet(const rte_mbuf *m, uint32_t off, uint32_t len, uint32_t sum);
// Copies bytes [off, off+len) of the packet to dst. The range must be inside the packet.
void copy_packet(const rte_mbuf *m, uint32_t off, uint32_t len, uint8_t *dst);

}  // namespace eamclat::xlat::v4to6
