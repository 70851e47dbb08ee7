// Address translation interface (RFC 7915 §6, RFC 7757 §3.3, RFC 6052 §2.3, RFC 6877 §6).
// The translator calls it for every address it rewrites; the offline tool uses StaticMapper,
// the daemon implements it over its lock-free RCU tables (and flow pinning).
#pragma once

#include <cstdint>

#include "config.hpp"
#include "types.hpp"

namespace eamclat::xlat {

// Which side of the *outer* packet an address plays. For the inner packet of an ICMP error the
// roles swap: the inner source is looked up as a destination and the inner destination as a source
// (the inner packet travelled the other way). In clat mode, 4->6 source = a LAN host (CLAT prefix),
// 4->6 destination = remote (EAMT, else PLAT prefix); 6->4 source = remote, 6->4 destination = LAN.
enum class Role : uint8_t { source, destination };

// How an address was translated. The daemon counts translated packets by the destination's path.
enum class Path : uint8_t {
    none,           // no mapping
    eamt_static,    // RFC 7757 entry from config or shell
    eamt_operator,  // RFC 7757 entry pulled from the operator
    eamt_learned,   // RFC 7757 entry learned by the DNS proxy
    pref64,         // RFC 6052 with pool6 (siit) or the PLAT prefix (clat)
    clat_prefix,    // RFC 6052 with the CLAT prefix (clat mode, the LAN host's side)
    rfc6791,        // RFC 6791 pool (ICMP error sources only; chosen by the translator, not the mapper)
};

const char *path_name(Path p);

struct MapResult {
    Path path = Path::none;
    bool ok() const { return path != Path::none; }
};

// Flags that let the translator apply RFC 7757 §4.2.1 (simple hairpinning rules).
struct MapFlags {
    bool no_eamt = false;  // "the EAM algorithm MUST NOT be used" for this address
};

class Mapper {
public:
    virtual ~Mapper() = default;
    virtual MapResult v4_to_v6(Ip4 addr, Role role, MapFlags flags, Ip6 &out) = 0;
    virtual MapResult v6_to_v4(const Ip6 &addr, Role role, MapFlags flags, Ip4 &out) = 0;
    // True if the IPv4 address is covered by an EAMT entry's IPv4 prefix (RFC 7757 §4.2.2 A3/B3).
    virtual bool eamt_has_v4(Ip4 addr) = 0;
};

// RFC 6052 §2.2 / §2.3: embed and extract an IPv4 address in an IPv6 prefix of length
// 32, 40, 48, 56, 64 or 96, skipping the u octet (bits 64..71, which must be zero).
bool rfc6052_valid_length(uint8_t len);
Ip6 rfc6052_embed(const Prefix6 &prefix, Ip4 addr);
// Returns false if the address is not inside the prefix or its u octet is not zero.
bool rfc6052_extract(const Prefix6 &prefix, const Ip6 &addr, Ip4 &out);
// RFC 6052 §3.1: the Well-Known Prefix 64:ff9b::/96 and the IPv4 addresses it may not carry
// (RFC 1918, RFC 6890 special-purpose blocks that are not globally reachable).
bool is_well_known_prefix(const Prefix6 &p);
bool is_global4(Ip4 addr);

// RFC 7757 §3.3: longest-prefix match in each direction, suffix copied bit by bit.
// A plain sorted table: what the offline tool and the unit tests use.
class EamtTable {
public:
    // Validates (host bits zero; the IPv4 suffix no longer than the IPv6 suffix:
    // 32-len4 <= 128-len6, RFC 7757 §3.2) and refuses
    // an entry whose IPv4 or IPv6 prefix equals an existing one (RFC 7757 §5). err says why.
    bool add(const EamtEntry &e, std::string *err = nullptr);
    bool remove(const Prefix4 &p);
    void clear() { entries_.clear(); }
    size_t size() const { return entries_.size(); }
    const std::vector<EamtEntry> &entries() const { return entries_; }

    const EamtEntry *lookup4(Ip4 addr) const;
    const EamtEntry *lookup6(const Ip6 &addr) const;
    static Ip6 translate4(const EamtEntry &e, Ip4 addr);
    static Ip4 translate6(const EamtEntry &e, const Ip6 &addr);

private:
    std::vector<EamtEntry> entries_;
};

Path path_of(EamtSource s);

// The Mapper of a Config: EAMT, then pool6 (siit) or CLAT/PLAT prefixes (clat).
class StaticMapper final : public Mapper {
public:
    // Keeps a reference to cfg (which must outlive the mapper). Throws std::invalid_argument if
    // cfg.eamt holds an entry EamtTable::add refuses (the config loader reports those first).
    explicit StaticMapper(const Config &cfg);
    MapResult v4_to_v6(Ip4 addr, Role role, MapFlags flags, Ip6 &out) override;
    MapResult v6_to_v4(const Ip6 &addr, Role role, MapFlags flags, Ip4 &out) override;
    bool eamt_has_v4(Ip4 addr) override { return eamt_.lookup4(addr) != nullptr; }
    EamtTable &eamt() { return eamt_; }

private:
    const Config &cfg_;
    EamtTable eamt_;
};

}  // namespace eamclat::xlat
