// First decision on a received frame: translate, forward natively, hand to the kernel, or drop.
// Reads only the Ethernet header and the fixed IP header (no L4): everything addressed to the
// box itself (ARP, ND, DHCP, DNS, SSH, ping) is recognised by its destination alone and goes to
// the kernel through the exception path, which then sorts it out by protocol.
#pragma once

#include <cstdint>

#include "xlat/config.hpp"
#include "xlat/types.hpp"

namespace eamclat::dp {

enum class PortRole : uint8_t { lan, wan };
constexpr unsigned port_role_count = 2;
inline const char *port_role_name(PortRole r) { return r == PortRole::lan ? "lan" : "wan"; }
inline PortRole other_port(PortRole r) { return r == PortRole::lan ? PortRole::wan : PortRole::lan; }

// What the daemon does with a frame, when the translator is not the one to decide. Every frame
// a worker receives ends in exactly one of these or in one of the translator's xlat::Fate.
// X(name, description): successes, then punts, then drops (keep the groups in this order).
#define EAMCLAT_DAEMON_FATES(X)                                                                      \
    X(forwarded6_lan_to_wan, "native IPv6 from the delegated prefix forwarded to the WAN gateway")  \
    X(forwarded6_wan_to_lan, "native IPv6 from the WAN forwarded to a LAN host")                    \
    X(icmp6_time_exceeded_sent, "native IPv6 with hop limit <= 1: ICMPv6 Time Exceeded sent back (RFC 4443 §3.3)") \
    X(punted_arp, "ARP: to the kernel (exception interface), snooped for the neighbor table")       \
    X(punted_own_address, "addressed to one of the box's own addresses: to the kernel")            \
    X(punted_multicast, "broadcast or multicast frame or address (DHCP, ND, RS, mDNS): to the kernel") \
    X(punted_link_local, "IPv6 link-local destination: to the kernel")                              \
    X(drop_truncated_frame, "frame shorter than its Ethernet and fixed IP/ARP headers")             \
    X(drop_vlan, "VLAN-tagged frame (802.1Q / 802.1ad are not supported)")                          \
    X(drop_unknown_ethertype, "EtherType neither IPv4, IPv6 nor ARP")                               \
    X(drop_bad_ip_version, "IP version nibble does not match the EtherType")                        \
    X(drop_not_for_us, "unicast frame for another MAC, or a packet for another host on the link")  \
    X(drop_ipv4_on_wan, "IPv4 on the IPv6-only WAN")                                                \
    X(drop_src_not_on_lan, "clat: LAN IPv4 from a source outside the LAN's subnets (BCP 38)")        \
    X(drop_src_not_delegated, "native IPv6 from the LAN from outside the delegated prefix (or none configured)") \
    X(drop_no_route, "IPv6 from the WAN neither to the CLAT prefix, the box nor a LAN subnet")     \
    X(drop_hop_limit_expired, "native IPv6 with hop limit <= 1, no ICMPv6 error allowed (RFC 4443 §2.4) or possible") \
    X(drop_punt_ring_full, "for the kernel, but the exception ring was full")

enum class Fate : uint8_t {
#define EAMCLAT_X(name, desc) name,
    EAMCLAT_DAEMON_FATES(EAMCLAT_X)
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
    EAMCLAT_DAEMON_FATES(EAMCLAT_X)
#undef EAMCLAT_X
};

inline bool fate_is_punt(Fate f) { return f >= Fate::punted_arp && f <= Fate::punted_link_local; }
inline bool fate_is_drop(Fate f) { return f >= Fate::drop_truncated_frame; }

// The box's presence on one link. Filled once at start-up, read-only afterwards.
struct LinkAddresses {
    static constexpr unsigned max = 8;
    uint8_t mac[6]{};
    Ip4 ipv4[max]{};        // own IPv4 addresses (host order)
    Prefix4 subnet4[max]{};  // their on-link prefixes
    unsigned n_ipv4 = 0;
    Ip6 ipv6[max]{};         // own IPv6 addresses
    Prefix6 onlink6[max]{};  // their on-link prefixes
    unsigned n_ipv6 = 0;

    bool add4(Ip4 addr, uint8_t len);
    bool add6(const Ip6 &addr, uint8_t len);
    bool is_own4(Ip4 a) const;
    bool is_own6(const Ip6 &a) const;
    bool on_link4(Ip4 a) const;
    bool on_link6(const Ip6 &a) const;
    bool is_broadcast4(Ip4 a) const;  // limited or a subnet's directed broadcast
};

struct ClassifyConfig {
    xlat::Mode mode = xlat::Mode::clat;
    LinkAddresses lan;
    LinkAddresses wan;
    bool has_clat_prefix = false;
    Prefix6 clat_prefix{};
    bool has_delegated = false;
    Prefix6 delegated{};

    const LinkAddresses &link(PortRole r) const { return r == PortRole::lan ? lan : wan; }
};

enum class Action : uint8_t {
    translate_4to6,  // strip L2, xlat::translate_4to6
    translate_6to4,  // strip L2, xlat::translate_6to4
    forward6,        // native IPv6 to the other port, hop limit decremented
    hop_limit_expired,  // native IPv6 that would be forwarded but its hop limit is <= 1
    punt,            // to the kernel through the exception path
    drop,
};

// What a worker should report to the control thread about the frame's sender (a LAN host).
enum class Sight : uint8_t { none, ipv4_source, ipv6_source };

struct Decision {
    Action action;
    Fate fate;  // for forward6/punt/drop: the fate to count once the frame's outcome is final
    Sight sight = Sight::none;
    uint8_t reserved = 0;  // four bytes: returned, stored and reloaded as one word
};
static_assert(sizeof(Decision) == 4);

constexpr uint32_t ether_header_len = 14;
constexpr uint16_t ethertype_ipv4 = 0x0800;
constexpr uint16_t ethertype_arp = 0x0806;
constexpr uint16_t ethertype_ipv6 = 0x86dd;

// `frame` holds the first `len` bytes of the frame, contiguous (the worker pulls up at least
// Ethernet + 40 bytes, or the whole frame if shorter). Pure function: no side effects.
Decision classify(const ClassifyConfig &cfg, PortRole in, const uint8_t *frame, uint32_t len);

}  // namespace eamclat::dp
