// Translator configuration: sealed before workers start, read-only on the fast path.
// Key names follow Jool where Jool has the concept (see configs/README.md).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "types.hpp"

namespace eamclat::xlat {

enum class Mode : uint8_t {
    siit,  // every address through the EAMT, else pool6 (RFC 7915 §6, RFC 7757)
    clat,  // RFC 6877: LAN IPv4 source -> clat_prefix, destination -> EAMT else plat_prefix
};

// RFC 7757 §4.2
enum class HairpinMode : uint8_t { off, simple, intrinsic };

// Where an EAMT entry came from. Precedence: static over operator over learned.
enum class EamtSource : uint8_t { static_config, operator_table, learned };

struct EamtEntry {
    Prefix4 ipv4;
    Prefix6 ipv6;
    EamtSource source = EamtSource::static_config;
};

struct Config {
    Mode mode = Mode::siit;

    std::optional<Prefix6> pool6;        // siit: RFC 6052 prefix for addresses not in the EAMT
    std::optional<Prefix6> clat_prefix;  // clat: RFC 6052 prefix for the LAN's IPv4 hosts (CLAT side)
    std::optional<Prefix6> plat_prefix;  // clat: the PLAT's (NAT64's) pref64

    std::vector<EamtEntry> eamt;  // static entries from the config file

    std::optional<Prefix4> rfc6791v4_prefix;  // RFC 6791 pool: source of ICMPv4 errors from untranslatable IPv6
    std::optional<Prefix6> rfc6791v6_prefix;  // Jool's counterpart for ICMPv6 errors from untranslatable IPv4

    uint16_t lowest_ipv6_mtu = 1280;  // RFC 7915 §4.1 / §6
    uint16_t ipv4_mtu = 1500;         // egress MTU toward the IPv4 side
    uint16_t ipv6_mtu = 1500;         // egress MTU toward the IPv6 side

    bool amend_udp_checksum_zero = false;  // RFC 7915 §4.5
    HairpinMode eam_hairpin_mode = HairpinMode::intrinsic;

    // RFC 7915 §4.1 Traffic Class / §5.1 TOS: copied by default; optionally zeroed / overridden.
    bool zeroize_traffic_class = false;
    bool reset_tos = false;
    uint8_t new_tos = 0;
    // RFC 7915 §5.1: DF set on translated unfragmented IPv6 packets larger than 1260 bytes... Jool's
    // "compute/copy"; we follow the RFC's default (DF=1 when not fragmented, DF=0 for fragments).
};

}  // namespace eamclat::xlat
