// Address translation: the EAMT (RFC 7757 §3), RFC 6052 embedding (§2.2/§2.3) and the two mapping
// policies of StaticMapper (siit: RFC 7915 §6 + RFC 7757; clat: RFC 6877 §6).
#include "mapper.hpp"

#include <stdexcept>

namespace eamclat::xlat {

namespace {

// 128-bit arithmetic makes the EAMT's bit-by-bit suffix copy (prefixes of any length, RFC 7757
// §3.3) a pair of shifts instead of a byte/bit loop.
using U128 = unsigned __int128;

U128 to_u128(const Ip6 &a) {
    U128 v = 0;
    for (uint8_t byte : a.b) v = (v << 8) | byte;
    return v;
}

Ip6 from_u128(U128 v) {
    Ip6 a;
    for (int i = 15; i >= 0; i--) {
        a.b[static_cast<size_t>(i)] = static_cast<uint8_t>(v);
        v >>= 8;
    }
    return a;
}

// The Well-Known Prefix of RFC 6052 §2.1.
bool is_wkp(const Prefix6 &p) {
    static const Prefix6 wkp{Ip6{{0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}}, 96};
    return p == wkp;
}

struct Block4 {
    Ip4 addr;
    uint8_t len;
};

// RFC 6052 §3.1 forbids the Well-Known Prefix with non-global IPv4 addresses "such as those
// defined in [RFC1918] or listed in Section 3 of [RFC5735]". This is that list, brought up to date
// with the IANA IPv4 Special-Purpose Address Registry (RFC 6890): the blocks whose "Globally
// Reachable" column is False. 192.0.0.9/32 (PCP anycast, RFC 7723) and 192.0.0.10/32 (TURN
// anycast, RFC 8155) are globally reachable and are carved out of 192.0.0.0/24 below.
constexpr Block4 non_global4[] = {
    {0x00000000, 8},   // 0.0.0.0/8       "this network" (RFC 791 / RFC 1122)
    {0x0a000000, 8},   // 10.0.0.0/8      private (RFC 1918)
    {0x64400000, 10},  // 100.64.0.0/10   shared address space (RFC 6598)
    {0x7f000000, 8},   // 127.0.0.0/8     loopback (RFC 1122)
    {0xa9fe0000, 16},  // 169.254.0.0/16  link local (RFC 3927)
    {0xac100000, 12},  // 172.16.0.0/12   private (RFC 1918)
    {0xc0000000, 24},  // 192.0.0.0/24    IETF protocol assignments (RFC 6890), see exceptions
    {0xc0000200, 24},  // 192.0.2.0/24    TEST-NET-1 (RFC 5737)
    {0xc0a80000, 16},  // 192.168.0.0/16  private (RFC 1918)
    {0xc6120000, 15},  // 198.18.0.0/15   benchmarking (RFC 2544)
    {0xc6336400, 24},  // 198.51.100.0/24 TEST-NET-2 (RFC 5737)
    {0xcb007100, 24},  // 203.0.113.0/24  TEST-NET-3 (RFC 5737)
    {0xe0000000, 4},   // 224.0.0.0/4     multicast (RFC 5771): never a unicast host behind a WKP
    {0xf0000000, 4},   // 240.0.0.0/4     reserved (RFC 1112), incl. 255.255.255.255
};

}  // namespace

bool is_global4(Ip4 addr) {
    if (addr == 0xc0000009 || addr == 0xc000000a) return true;  // 192.0.0.9, 192.0.0.10
    for (const Block4 &b : non_global4)
        if ((addr & Prefix4::mask(b.len)) == b.addr) return false;
    return true;
}

bool is_well_known_prefix(const Prefix6 &p) { return is_wkp(p); }

const char *path_name(Path p) {
    switch (p) {
    case Path::none: return "none";
    case Path::eamt_static: return "eamt_static";
    case Path::eamt_operator: return "eamt_operator";
    case Path::eamt_learned: return "eamt_learned";
    case Path::pref64: return "pref64";
    case Path::clat_prefix: return "clat_prefix";
    case Path::rfc6791: return "rfc6791";
    }
    return "unknown";
}

Path path_of(EamtSource s) {
    switch (s) {
    case EamtSource::static_config: return Path::eamt_static;
    case EamtSource::operator_table: return Path::eamt_operator;
    case EamtSource::learned: return Path::eamt_learned;
    }
    return Path::none;
}

// ---------------------------------------------------------------------------------------------
// RFC 6052 §2.2 / §2.3

bool rfc6052_valid_length(uint8_t len) {
    return len == 32 || len == 40 || len == 48 || len == 56 || len == 64 || len == 96;
}

// The IPv4 address's 4 octets go right after the prefix, skipping octet 8 (bits 64..71, "u"),
// which stays zero. For /96 the u octet is part of the prefix (the administrator keeps it zero,
// §2.2; the config loader checks that).
Ip6 rfc6052_embed(const Prefix6 &prefix, Ip4 addr) {
    Ip6 out = prefix.addr;
    const uint8_t v4[4] = {static_cast<uint8_t>(addr >> 24), static_cast<uint8_t>(addr >> 16),
                           static_cast<uint8_t>(addr >> 8), static_cast<uint8_t>(addr)};
    unsigned pos = prefix.len / 8;
    // Callers check rfc6052_valid_length(); the bound keeps any other length memory-safe.
    for (uint8_t octet : v4) {
        if (pos == 8) out.b[pos++] = 0;  // u
        if (pos >= 16) break;
        out.b[pos++] = octet;
    }
    // Suffix: "reserved for future extensions and SHOULD be set to zero" (§2.2).
    for (; pos < 16; pos++) out.b[pos] = 0;
    return out;
}

bool rfc6052_extract(const Prefix6 &prefix, const Ip6 &addr, Ip4 &out) {
    if (!rfc6052_valid_length(prefix.len) || !prefix.contains(addr)) return false;
    // Bits 64..71 "MUST be set to zero" (§2.2): an address with a non-zero u octet was not built
    // by this algorithm, so it does not name an IPv4 host.
    if (addr.b[8] != 0) return false;
    unsigned pos = prefix.len / 8;
    Ip4 v = 0;
    for (int i = 0; i < 4; i++) {
        if (pos == 8) pos++;  // skip u
        v = (v << 8) | addr.b[pos++];
    }
    // The suffix bits are ignored, "as if the bits' value were zero" (§2.2).
    out = v;
    return true;
}

// ---------------------------------------------------------------------------------------------
// RFC 7757 EAMT

bool EamtTable::add(const EamtEntry &e, std::string *err) {
    auto fail = [&](std::string why) {
        if (err) *err = std::move(why);
        return false;
    };
    if (e.ipv4.len > 32) return fail("IPv4 prefix length above 32");
    if (e.ipv6.len > 128) return fail("IPv6 prefix length above 128");
    if ((e.ipv4.addr & ~Prefix4::mask(e.ipv4.len)) != 0)
        return fail("host bits set in IPv4 prefix " + e.ipv4.str());
    for (unsigned i = e.ipv6.len; i < 128; i++)
        if (e.ipv6.addr.bit(i)) return fail("host bits set in IPv6 prefix " + e.ipv6.str());
    // §3.2: "An EAM's IPv4 prefix value MUST have an identical or smaller number of suffix bits
    // than its corresponding IPv6 prefix value." IPv6 suffix bits beyond the IPv4 suffix are
    // padded with zeros (4->6) and discarded (6->4) by §3.3.
    unsigned suffix4 = 32u - e.ipv4.len, suffix6 = 128u - e.ipv6.len;
    if (suffix4 > suffix6)
        return fail("IPv4 prefix " + e.ipv4.str() + " has " + std::to_string(suffix4) +
                    " suffix bits, more than the " + std::to_string(suffix6) + " of IPv6 prefix " +
                    e.ipv6.str() + " (RFC 7757 §3.2)");
    // §5: identical prefixes make one direction's translation unspecified; refuse them (Jool does
    // too). Overlapping prefixes of different lengths are legal and resolved by longest match.
    for (const EamtEntry &x : entries_) {
        if (x.ipv4 == e.ipv4)
            return fail("IPv4 prefix " + e.ipv4.str() + " is already in the EAMT (mapped to " +
                        x.ipv6.str() + "; RFC 7757 §5)");
        if (x.ipv6 == e.ipv6)
            return fail("IPv6 prefix " + e.ipv6.str() + " is already in the EAMT (mapped to " +
                        x.ipv4.str() + "; RFC 7757 §5)");
    }
    entries_.push_back(e);
    return true;
}

bool EamtTable::remove(const Prefix4 &p) {
    for (auto it = entries_.begin(); it != entries_.end(); ++it)
        if (it->ipv4 == p) {
            entries_.erase(it);
            return true;
        }
    return false;
}

// §3.3.1 step 1: the entry whose IPv4 prefix shares the longest common prefix with the address.
// Identical prefixes are refused by add(), so the longest match is unique.
const EamtEntry *EamtTable::lookup4(Ip4 addr) const {
    const EamtEntry *best = nullptr;
    for (const EamtEntry &e : entries_)
        if (e.ipv4.contains(addr) && (!best || e.ipv4.len > best->ipv4.len)) best = &e;
    return best;
}

// §3.3.2 step 1.
const EamtEntry *EamtTable::lookup6(const Ip6 &addr) const {
    const EamtEntry *best = nullptr;
    for (const EamtEntry &e : entries_)
        if (e.ipv6.contains(addr) && (!best || e.ipv6.len > best->ipv6.len)) best = &e;
    return best;
}

// §3.3.1 steps 3-6: EAM6's prefix bits, then the address's IPv4 suffix bits, then zeros.
Ip6 EamtTable::translate4(const EamtEntry &e, Ip4 addr) {
    unsigned suffix4 = 32u - e.ipv4.len;
    U128 v = to_u128(e.ipv6.addr);
    // An entry add() would refuse has no defined translation; refuse to shift out of range.
    if (e.ipv4.len > 32 || e.ipv6.len > 128 || suffix4 > 128u - e.ipv6.len) return e.ipv6.addr;
    if (suffix4 != 0) {
        U128 suffix = addr & ~Prefix4::mask(e.ipv4.len);
        v |= suffix << (128u - e.ipv6.len - suffix4);  // add() guarantees suffix4 <= 128 - len6
    }
    return from_u128(v);
}

// §3.3.2 steps 3-6: EAM4's prefix bits, then the first (32 - len4) bits after EAM6's prefix;
// trailing IPv6 bits are discarded.
Ip4 EamtTable::translate6(const EamtEntry &e, const Ip6 &addr) {
    unsigned suffix4 = 32u - e.ipv4.len;
    if (suffix4 == 0 || e.ipv4.len > 32 || e.ipv6.len > 128 || suffix4 > 128u - e.ipv6.len)
        return e.ipv4.addr;
    U128 v = to_u128(addr);
    // suffix4 > 0 implies len6 < 128, so the shifts stay below 128.
    U128 suffix = (v << e.ipv6.len) >> (128u - suffix4);
    return e.ipv4.addr | static_cast<Ip4>(suffix);
}

// ---------------------------------------------------------------------------------------------
// StaticMapper

namespace {

// RFC 6052 with the §3.1 restriction on the Well-Known Prefix: "Address translators MUST NOT
// translate packets in which an address is composed of the Well-Known Prefix and a non-global
// IPv4 address". Network-specific prefixes, 64:ff9b:1::/48 included (RFC 8215 §5), are exempt.
bool embed(const std::optional<Prefix6> &prefix, Ip4 addr, Ip6 &out) {
    if (!prefix || !rfc6052_valid_length(prefix->len)) return false;
    if (is_wkp(*prefix) && !is_global4(addr)) return false;
    out = rfc6052_embed(*prefix, addr);
    return true;
}

bool extract(const std::optional<Prefix6> &prefix, const Ip6 &addr, Ip4 &out) {
    if (!prefix) return false;
    Ip4 v;
    if (!rfc6052_extract(*prefix, addr, v)) return false;
    if (is_wkp(*prefix) && !is_global4(v)) return false;
    out = v;
    return true;
}

}  // namespace

StaticMapper::StaticMapper(const Config &cfg) : cfg_(cfg) {
    for (const EamtEntry &e : cfg.eamt) {
        std::string err;
        // The config loader validates the same rules with file positions; this only fires for a
        // Config built by hand, and a half-loaded table would translate silently wrong.
        if (!eamt_.add(e, &err)) throw std::invalid_argument("EAMT entry " + e.ipv4.str() + " " +
                                                             e.ipv6.str() + ": " + err);
    }
}

MapResult StaticMapper::v4_to_v6(Ip4 addr, Role role, MapFlags flags, Ip6 &out) {
    if (cfg_.mode == Mode::clat && role == Role::source) {
        // RFC 6877 §6.3: a LAN host's IPv4 address is embedded in the CLAT's own prefix.
        return {embed(cfg_.clat_prefix, addr, out) ? Path::clat_prefix : Path::none};
    }
    // siit (either role) and clat destinations: RFC 7757 §3.3.1 first, then RFC 6052 with pool6
    // (siit, RFC 7915 §6) or the PLAT prefix (clat, RFC 6877 §6.3).
    if (!flags.no_eamt) {
        if (const EamtEntry *e = eamt_.lookup4(addr)) {
            out = EamtTable::translate4(*e, addr);
            return {path_of(e->source)};
        }
    }
    const auto &prefix = cfg_.mode == Mode::clat ? cfg_.plat_prefix : cfg_.pool6;
    return {embed(prefix, addr, out) ? Path::pref64 : Path::none};
}

MapResult StaticMapper::v6_to_v4(const Ip6 &addr, Role role, MapFlags flags, Ip4 &out) {
    if (cfg_.mode == Mode::clat && role == Role::destination) {
        return {extract(cfg_.clat_prefix, addr, out) ? Path::clat_prefix : Path::none};
    }
    // RFC 7757 §3.3.2, then RFC 6052 §2.3 extraction. no_eamt is honoured here too: the flag
    // means "not by the EAM algorithm" whichever way the address goes.
    if (!flags.no_eamt) {
        if (const EamtEntry *e = eamt_.lookup6(addr)) {
            out = EamtTable::translate6(*e, addr);
            return {path_of(e->source)};
        }
    }
    const auto &prefix = cfg_.mode == Mode::clat ? cfg_.plat_prefix : cfg_.pool6;
    return {extract(prefix, addr, out) ? Path::pref64 : Path::none};
}

}  // namespace eamclat::xlat
