// The decision of the DNS-proxy EAMT learner (draft-ietf-v6ops-464xlat-optimization §5.2.3-§5.2.9):
// from the A and AAAA answers a host received, which IPv4<->IPv6 pairs may become EAMT entries.
// Pure functions: the proxy feeds them parsed answers; unit tests feed recorded messages.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "message.hpp"
#include "xlat/types.hpp"

namespace eamclat::dns {

// The NAT64 prefixes an AAAA may have been synthesized from (§5.2.3): configured ones,
// 64:ff9b::/96 and 64:ff9b:1::/48 (RFC 8215), PREF64 from RAs (RFC 8781), RFC 7050 discovery.
class Nat64Prefixes {
public:
    Nat64Prefixes();  // starts with the two well-known ones
    void add(const Prefix6 &p, const char *origin);
    void remove_origin(const char *origin);  // e.g. refresh of discovered prefixes
    bool synthesized(const Ip6 &a) const;
    struct Item {
        Prefix6 prefix;
        const char *origin;
    };
    const std::vector<Item> &items() const { return items_; }

private:
    std::vector<Item> items_;
};

// RFC 7050 §3: the Pref64::/n prefixes in the AAAA answer for ipv4only.arpa, found by locating the
// well-known IPv4 addresses 192.0.0.170 / 192.0.0.171 at each RFC 6052 position. Duplicates removed.
std::vector<Prefix6> rfc7050_prefixes(std::span<const Ip6> aaaa);

// RFC 8781: the PREF64 option of a Router Advertisement (type 38, length 2 units of 8 octets):
// 13-bit scaled lifetime (units of 8 s) and 3-bit PLC (0..5 = /96,/64,/56,/48,/40,/32), then the
// highest 96 bits of the prefix. nullopt if malformed (wrong length, PLC 6 or 7).
struct Pref64Option {
    Prefix6 prefix;
    uint32_t lifetime_seconds;
};
std::optional<Pref64Option> parse_pref64_option(std::span<const uint8_t> option);

enum class Outcome : uint8_t {
    learn,              // pairs to install
    disabled,           // optimisation off (§5.2.1)
    host_not_ipv4_only, // §5.2.2: the host was seen with IPv6
    negative_a,         // the A answer is an error, NXDOMAIN or has no A record
    no_aaaa,            // no AAAA answer in time, SERVFAIL/NXDOMAIN/NODATA for AAAA (§5.2.4)
    only_synthesized,   // every AAAA is inside a NAT64 prefix (§5.2.3)
    not_validated,      // DNSSEC required and the answers lack the AD bit from a trusted resolver
    malformed,          // a CNAME loop, or answers for another name
};
const char *outcome_name(Outcome o);

struct Pair {
    Ip4 ipv4;
    Ip6 ipv6;
    uint32_t ttl;  // §5.2.5 item 5: min of the A and AAAA TTLs (CNAMEs included)
};

struct Decision {
    Outcome outcome;
    std::vector<Pair> pairs;
    unsigned synthesized = 0;  // AAAA records dropped as synthesized
};

struct LearnPolicy {
    bool enabled = true;
    bool require_dnssec = false;  // §5.2.5 item 4: only answers with AD from a trusted resolver
    uint32_t max_ttl = 86400;     // cap on what the table keeps
    uint32_t min_ttl = 1;         // a TTL-0 answer may not be cached, so it creates nothing
    size_t max_pairs = 16;        // per answer: a host uses few of a large RRset
};

// a_answer/aaaa_answer: parsed messages with their wire bytes; aaaa may be null (timeout).
// pairing_seed permutes the pairing (§5.2.9): the proxy derives it from a secret and the host, so
// different hosts get different A/AAAA combinations while one host gets the same pairing on every
// query, whatever order the resolver rotates the records into (a new pairing for the same host
// would look like a §5.2.5 conflict and make its entries Stale).
Decision decide(const LearnPolicy &policy, bool host_ipv4_only, const Message &a_msg,
                std::span<const uint8_t> a_wire, const Message *aaaa_msg,
                std::span<const uint8_t> aaaa_wire, const Nat64Prefixes &nat64, uint64_t pairing_seed);

// AAAA records for `name` carried in the additional section of an A answer (RFC 3596 §3).
std::vector<std::pair<Ip6, uint32_t>> additional_aaaa(const Message &m, std::span<const uint8_t> wire,
                                                       const std::string &name);

// Only addresses that can name a remote service are learned: IPv4 global-ish unicast (not 0/8,
// 127/8, 169.254/16, 224/4, 240/4) and IPv6 unicast (not ::/128, ::1, ::ffff:0:0/96, fe80::/10, ff00::/8).
bool learnable_v4(Ip4 a);
bool learnable_v6(const Ip6 &a);

}  // namespace eamclat::dns
