// Every fate of a packet in the translator, declared once: name, description, index.
// The shell, telemetry and eamclat-pcap print from this list.
#pragma once

#include <cstdint>

namespace eamclat::xlat {

// X(name, description). The first group are successes, the rest are drops.
#define EAMCLAT_XLAT_FATES(X)                                                                        \
    X(translated_4to6, "IPv4 packet translated to IPv6")                                            \
    X(translated_6to4, "IPv6 packet translated to IPv4")                                            \
    X(hairpinned, "IPv6 packet hairpinned back to IPv6 (RFC 7757 §4.2.2)")                          \
    X(icmp4_error_sent, "packet dropped and an ICMPv4 error sent back to its IPv4 sender")          \
    X(icmp6_error_sent, "packet dropped and an ICMPv6 error sent back to its IPv6 sender")          \
    X(drop_truncated, "header shorter than its fixed part or beyond the end of the packet")          \
    X(drop_bad_version, "IP version field does not match the packet's side")                        \
    X(drop_bad_ihl, "IPv4 IHL below 5 or beyond the packet")                                        \
    X(drop_bad_length, "IPv4 total length / IPv6 payload length inconsistent with the packet")      \
    X(drop_bad_checksum, "IPv4 header checksum wrong")                                              \
    X(drop_ext_header_chain, "IPv6 extension header chain malformed or past the end of the packet") \
    X(drop_source_route, "IPv4 unexpired source route (ICMP error sent where allowed)")             \
    X(drop_ttl_expired_no_error, "TTL/hop limit expired and no ICMP error may be sent")             \
    X(drop_src_untranslatable, "source address has no mapping (EAMT, pool6, CLAT prefix)")          \
    X(drop_dst_untranslatable, "destination address has no mapping (EAMT, pool6, PLAT prefix)")     \
    X(drop_udp_checksum_zero, "IPv4 UDP checksum zero and amend-udp-checksum-zero off")             \
    X(drop_udp_checksum_zero_fragment, "fragmented IPv4 UDP packet with zero checksum")             \
    X(drop_icmp_untranslatable, "ICMP type/code with no mapping in RFC 7915 §4.2 / §5.2")           \
    X(drop_icmp_inner_invalid, "ICMP error whose inner packet is malformed or untranslatable")      \
    X(drop_icmp_error_about_icmp_error, "ICMP error about an ICMP error: no error sent (RFC 1812)") \
    X(drop_icmp_fragmented, "fragmented ICMP packet: checksum cannot be recomputed without reassembly") \
    X(drop_fragment_too_big, "needs fragmentation but cannot (DF set) and no error may be sent")    \
    X(drop_ipv6_frag_atomic_bad, "IPv6 fragment header malformed")                                  \
    X(drop_unsupported_protocol, "next header not translatable (e.g. ICMPv6 in IPv4 or nested frag)") \
    X(drop_no_mbuf, "mbuf allocation failed for a fragment or an ICMP error")                      \
    X(drop_hairpin_loop, "hairpinned packet would be hairpinned again")                             \
    X(drop_mode, "packet not for this translator in this mode (e.g. not from the CLAT's LAN)")    \
    X(drop_icmp_bad_checksum, "ICMPv4 error checksum wrong (its ICMPv6 checksum is recomputed)")    \
    X(drop_no_room, "mbuf segment lacks headroom/tailroom for the translated headers")            \
    X(drop_output_full, "Output has no slot left for the packet or its fragments")  \
    X(drop_udp_checksum_zero_ipv6, "IPv6 UDP checksum zero, invalid in IPv6 (RFC 8200 §8.1)")      \
    X(drop_icmp6_bad_checksum, "ICMPv6 checksum wrong: not recomputed over a corrupt message")     \
    X(drop_routing_header, "IPv6 Routing header with Segments Left != 0 and no ICMPv6 error may be sent") \
    X(drop_src_illegal, "IPv4 source not a unicast host (0/8, 127/8, 224/4, 240/4): RFC 7915 §4.1")

enum class Fate : uint8_t {
#define EAMCLAT_X(name, desc) name,
    EAMCLAT_XLAT_FATES(EAMCLAT_X)
#undef EAMCLAT_X
        count
};

constexpr unsigned fate_count = static_cast<unsigned>(Fate::count);

struct FateInfo {
    const char *name;
    const char *description;
};

inline constexpr FateInfo fate_info[fate_count] = {
#define EAMCLAT_X(name, desc) {#name, desc},
    EAMCLAT_XLAT_FATES(EAMCLAT_X)
#undef EAMCLAT_X
};

inline bool fate_is_drop(Fate f) { return f >= Fate::drop_truncated; }

}  // namespace eamclat::xlat
