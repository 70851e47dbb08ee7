#include "learner.hpp"

#include <algorithm>
#include <cstring>

#include "xlat/mapper.hpp"

namespace eamclat::dns {

const char *outcome_name(Outcome o) {
    switch (o) {
    case Outcome::learn: return "learn";
    case Outcome::disabled: return "disabled";
    case Outcome::host_not_ipv4_only: return "host-not-ipv4-only";
    case Outcome::negative_a: return "negative-a";
    case Outcome::no_aaaa: return "no-aaaa";
    case Outcome::only_synthesized: return "only-synthesized";
    case Outcome::not_validated: return "not-validated";
    case Outcome::malformed: return "malformed";
    }
    return "?";
}

Nat64Prefixes::Nat64Prefixes() {
    add(*Prefix6::parse("64:ff9b::/96"), "rfc6052-wkp");
    add(*Prefix6::parse("64:ff9b:1::/48"), "rfc8215");
}

void Nat64Prefixes::add(const Prefix6 &p, const char *origin) {
    for (const auto &i : items_)
        if (i.prefix == p) return;
    items_.push_back({p, origin});
}

void Nat64Prefixes::remove_origin(const char *origin) {
    std::erase_if(items_, [origin](const Item &i) { return std::strcmp(i.origin, origin) == 0; });
}

bool Nat64Prefixes::synthesized(const Ip6 &a) const {
    for (const auto &i : items_)
        if (i.prefix.contains(a)) return true;
    return false;
}

namespace {
constexpr Ip4 wka_170 = 0xc00000aa;  // 192.0.0.170 (RFC 7050 §2.2)
constexpr Ip4 wka_171 = 0xc00000ab;  // 192.0.0.171
constexpr uint8_t rfc6052_lengths[] = {96, 64, 56, 48, 40, 32};

Prefix6 truncate(const Ip6 &a, uint8_t len) {
    Prefix6 p{a, len};
    for (unsigned i = len; i < 128; i++) p.addr.b[i / 8] &= uint8_t(~(0x80 >> (i % 8)));
    return p;
}
}  // namespace

std::vector<Prefix6> rfc7050_prefixes(std::span<const Ip6> aaaa) {
    std::vector<Prefix6> out;
    for (const Ip6 &a : aaaa) {
        // RFC 7050 §3: the WKA must be found at exactly one RFC 6052 position; if the value shows
        // up more than once, repeat the search with the other WKA.
        for (Ip4 wka : {wka_170, wka_171}) {
            std::vector<Prefix6> found;
            for (uint8_t len : rfc6052_lengths) {
                Prefix6 p = truncate(a, len);
                Ip4 v4;
                if (xlat::rfc6052_extract(p, a, v4) && v4 == wka) found.push_back(p);
            }
            if (found.size() == 1) {
                if (std::find(out.begin(), out.end(), found[0]) == out.end()) out.push_back(found[0]);
                break;
            }
        }
    }
    return out;
}

std::optional<Pref64Option> parse_pref64_option(std::span<const uint8_t> o) {
    // RFC 8781 §4: Type 38, Length 2 (16 octets).
    if (o.size() != 16 || o[0] != 38 || o[1] != 2) return std::nullopt;
    uint16_t word = uint16_t(o[2] << 8 | o[3]);
    uint16_t scaled = word >> 3;
    uint8_t plc = word & 7;
    static constexpr uint8_t plc_len[] = {96, 64, 56, 48, 40, 32};
    if (plc > 5) return std::nullopt;
    Ip6 a;
    memcpy(a.b.data(), o.data() + 4, 12);
    Prefix6 p = truncate(a, plc_len[plc]);
    // Bits beyond the prefix length are ignored by receivers (§4): masked above.
    return Pref64Option{p, uint32_t(scaled) * 8};
}

std::vector<std::pair<Ip6, uint32_t>> additional_aaaa(const Message &m, std::span<const uint8_t> wire,
                                                       const std::string &name) {
    std::vector<std::pair<Ip6, uint32_t>> out;
    for (const auto &r : m.additional) {
        if (r.rtype != type::AAAA || r.rclass != 1 || r.name != name) continue;
        Ip6 a;
        memcpy(a.b.data(), wire.data() + r.rdata_offset, 16);
        out.emplace_back(a, r.ttl);
    }
    return out;
}

bool learnable_v4(Ip4 a) {
    uint8_t first = uint8_t(a >> 24);
    if (first == 0 || first == 127 || first >= 224) return false;
    if ((a & 0xffff0000) == 0xa9fe0000) return false;  // 169.254/16
    return true;
}

bool learnable_v6(const Ip6 &a) {
    static const Prefix6 bad[] = {
        *Prefix6::parse("::/127"),         // unspecified and loopback
        *Prefix6::parse("::ffff:0:0/96"),  // IPv4-mapped
        *Prefix6::parse("fe80::/10"),      // link-local
        *Prefix6::parse("ff00::/8"),       // multicast
    };
    for (const auto &p : bad)
        if (p.contains(a)) return false;
    return true;
}

Decision decide(const LearnPolicy &policy, bool host_ipv4_only, const Message &a_msg,
                std::span<const uint8_t> a_wire, const Message *aaaa_msg, std::span<const uint8_t> aaaa_wire,
                const Nat64Prefixes &nat64, uint64_t pairing_seed) {
    Decision d{Outcome::learn, {}, 0};
    if (!policy.enabled) return {Outcome::disabled, {}, 0};
    if (!host_ipv4_only) return {Outcome::host_not_ipv4_only, {}, 0};
    if (a_msg.rcode() != rcode::NOERROR || a_msg.tc() || a_msg.questions.empty())
        return {Outcome::negative_a, {}, 0};
    Addresses a = addresses(a_msg, a_wire);
    if (a.chain_broken) return {Outcome::malformed, {}, 0};
    std::erase_if(a.a, [](const auto &r) { return !learnable_v4(r.first); });
    if (a.a.empty()) return {Outcome::negative_a, {}, 0};
    Addresses six;
    if (!aaaa_msg) {
        // RFC 3596 §3 / §5.2.3: the A answer may already carry the AAAA in its additional section.
        six.aaaa = additional_aaaa(a_msg, a_wire, a.final_name);
        if (six.aaaa.empty()) return {Outcome::no_aaaa, {}, 0};
        if (policy.require_dnssec && !a_msg.ad()) return {Outcome::not_validated, {}, 0};
    } else {
        if (aaaa_msg->rcode() != rcode::NOERROR || aaaa_msg->tc() || aaaa_msg->questions.empty())
            return {Outcome::no_aaaa, {}, 0};
        // The AAAA must answer the same name the host asked (case-insensitive).
        if (aaaa_msg->questions[0].name != a_msg.questions[0].name) return {Outcome::malformed, {}, 0};
        if (policy.require_dnssec && !(a_msg.ad() && aaaa_msg->ad())) return {Outcome::not_validated, {}, 0};
        six = addresses(*aaaa_msg, aaaa_wire);
        if (six.chain_broken) return {Outcome::malformed, {}, 0};
    }
    std::vector<std::pair<Ip6, uint32_t>> native;
    for (const auto &r : six.aaaa) {
        if (nat64.synthesized(r.first)) {
            d.synthesized++;
            continue;
        }
        if (!learnable_v6(r.first)) continue;
        // Each IPv6 once (§5.2.9: each IPv6 used at most once per host).
        if (std::none_of(native.begin(), native.end(), [&](const auto &n) { return n.first == r.first; }))
            native.push_back(r);
    }
    if (native.empty()) {
        d.outcome = six.aaaa.empty() ? Outcome::no_aaaa : Outcome::only_synthesized;
        return d;
    }
    // Distinct IPv4s, in answer order.
    std::vector<std::pair<Ip4, uint32_t>> v4s;
    for (const auto &r : a.a)
        if (std::none_of(v4s.begin(), v4s.end(), [&](const auto &n) { return n.first == r.first; }))
            v4s.push_back(r);
    // §5.2.9: pair the RR sets through a permutation chosen by the seed (per host), so different
    // hosts end up on different A/AAAA combinations; min(#A, #AAAA) pairs, no address twice.
    // Sorted first: the permutation must not depend on the resolver's round-robin order.
    std::sort(native.begin(), native.end(), [](const auto &x, const auto &y) { return x.first < y.first; });
    std::sort(v4s.begin(), v4s.end(), [](const auto &x, const auto &y) { return x.first < y.first; });
    // Seeding mt19937_64 costs thousands of instructions, and std::shuffle draws nothing for one
    // element: with a single A and a single AAAA (most answers) the pairing is fixed anyway.
    if (native.size() > 1 || v4s.size() > 1) {
        std::mt19937_64 rng(pairing_seed);
        std::shuffle(native.begin(), native.end(), rng);
        std::shuffle(v4s.begin(), v4s.end(), rng);
    }
    size_t n = std::min({native.size(), v4s.size(), policy.max_pairs});
    for (size_t i = 0; i < n; i++) {
        uint32_t ttl = std::min(v4s[i].second, native[i].second);
        if (ttl < policy.min_ttl) continue;
        ttl = std::min(ttl, policy.max_ttl);
        d.pairs.push_back({v4s[i].first, native[i].first, ttl});
    }
    if (d.pairs.empty()) d.outcome = Outcome::no_aaaa;
    return d;
}

}  // namespace eamclat::dns
