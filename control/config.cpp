// YAML configuration loader (see configs/README.md for every key).
//
// Every section is a table of keys (name, parser, help): a new section (dns, learning,
// operator-table) is one more table and one more line in the top-level table. Parsers never stop
// at the first problem: each error is recorded with its key path ("eamt[2].ipv6"), its line and
// what is wrong, and parsing goes on so that one run of --check-config shows them all.
#include "config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <charconv>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string_view>

#include "xlat/mapper.hpp"

namespace eamclat {

std::string ConfigError::str(const std::string &file) const {
    std::string out = file;
    if (line > 0) out += ":" + std::to_string(line);
    out += ": ";
    if (!key.empty()) out += "key '" + key + "': ";
    return out + message;
}

namespace {

int line_of(const YAML::Node &n) {
    if (!n.IsDefined()) return 0;
    const YAML::Mark m = n.Mark();
    return m.line >= 0 ? m.line + 1 : 0;
}

// Whether a mapping has a key (iterating instead of operator[], which on a const node builds a
// temporary yaml-cpp keeps pointers into).
bool has_key(const YAML::Node &map, std::string_view name) {
    if (!map.IsMap()) return false;
    for (auto it = map.begin(); it != map.end(); ++it) {
        const YAML::Node k = it->first;
        if (k.IsScalar() && k.Scalar() == name) return true;
    }
    return false;
}

struct Loader;
using ParseFn = void (*)(Loader &, const std::string &path, const YAML::Node &value);

// One key of a mapping: its name, its parser and a one-line description (printed by
// config_reference(), kept next to the parser so the two cannot drift apart).
struct KeySpec {
    std::string_view name;
    ParseFn parse;
    std::string_view help;
};

struct Loader {
    DaemonConfig cfg;
    ConfigScope scope;
    std::vector<ConfigError> &errs;

    // Keys present, with their lines: the cross-key checks run after every key is parsed.
    std::map<std::string, int> seen;
    YAML::Node root;

    // The port being parsed (ports.lan / ports.wan), for the per-port parsers.
    PortConfig *port = nullptr;
    std::vector<Address4> *port_ipv4 = nullptr;
    std::vector<Address6> *port_ipv6 = nullptr;
    bool port_is_wan = false;

    // EAMT entries and where they were written, for the RFC 7757 §5 duplicate check.
    struct EamtPos {
        std::string path;
        int line4, line6;
    };
    std::vector<EamtPos> eamt_pos;
    size_t eamt_items = 0;  // entries written, valid or not

    void error(const std::string &key, int line, std::string message) {
        errs.push_back({key, line, std::move(message)});
    }
    // An empty value ("pool6:") has no position of its own (yaml-cpp marks the next token):
    // its key's line is the useful one.
    int key_line = 0;
    void error(const std::string &key, const YAML::Node &n, std::string message) {
        error(key, n.IsNull() && key_line ? key_line : line_of(n), std::move(message));
    }
    int line(const std::string &key) const {
        auto it = seen.find(key);
        return it == seen.end() ? 0 : it->second;
    }
    bool has(const std::string &key) const { return seen.count(key) != 0; }

    void parse_mapping(const std::string &path, const YAML::Node &node, const KeySpec *table,
                       size_t n);
};

std::string join(const std::string &path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
}

void Loader::parse_mapping(const std::string &path, const YAML::Node &node, const KeySpec *table,
                           size_t n) {
    if (!node.IsMap()) {
        error(path, node, node.IsNull() ? "is empty, expected a mapping of keys"
                                        : "must be a mapping of keys");
        return;
    }
    std::set<std::string> here;
    // Nodes are copied out of the iterator: yaml-cpp's it->first refers into a temporary.
    for (auto it = node.begin(); it != node.end(); ++it) {
        const YAML::Node k = it->first;
        const YAML::Node value = it->second;
        if (!k.IsScalar()) {
            error(path, k, "keys must be plain words");
            continue;
        }
        const std::string &name = k.Scalar();
        const std::string full = join(path, name);
        if (!here.insert(name).second) {
            error(full, k, "duplicate key (the first one would be silently overridden)");
            continue;
        }
        const KeySpec *spec = nullptr;
        for (size_t i = 0; i < n; i++)
            if (table[i].name == name) spec = &table[i];
        if (!spec) {
            std::string known;
            for (size_t i = 0; i < n; i++) known += (i ? ", " : "") + std::string(table[i].name);
            error(full, k, "unknown key (expected one of: " + known + ")");
            continue;
        }
        // The key's line: a block list or mapping value starts on the next line.
        seen[full] = line_of(k);
        const int outer = key_line;
        key_line = line_of(k);
        spec->parse(*this, full, value);
        key_line = outer;
    }
}

// ---- scalar helpers: each returns false after recording the error ----------------------------

bool scalar(Loader &l, const std::string &path, const YAML::Node &v, std::string &out) {
    if (!v.IsScalar()) {
        l.error(path, v, v.IsNull() ? "has no value" : "must be a single value, not a list or mapping");
        return false;
    }
    out = v.Scalar();
    return true;
}

bool boolean(Loader &l, const std::string &path, const YAML::Node &v, bool &out) {
    std::string s;
    if (!scalar(l, path, v, s)) return false;
    if (s == "true" || s == "yes" || s == "on") {
        out = true;
    } else if (s == "false" || s == "no" || s == "off") {
        out = false;
    } else {
        l.error(path, v, "must be true or false, not '" + s + "'");
        return false;
    }
    return true;
}

bool integer(Loader &l, const std::string &path, const YAML::Node &v, uint64_t lo, uint64_t hi,
             uint64_t &out, const char *why = nullptr) {
    std::string s;
    if (!scalar(l, path, v, s)) return false;
    uint64_t x = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
    std::string range = std::to_string(lo) + ".." + std::to_string(hi);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size()) {
        l.error(path, v, "must be an integer in " + range + ", not '" + s + "'");
        return false;
    }
    if (x < lo || x > hi) {
        l.error(path, v, "must be in " + range + (why ? std::string(" (") + why + ")" : "") +
                              ", not " + s);
        return false;
    }
    out = x;
    return true;
}

template <typename T>
void set_int(Loader &l, const std::string &path, const YAML::Node &v, uint64_t lo, uint64_t hi,
             T &field, const char *why = nullptr) {
    uint64_t x;
    if (integer(l, path, v, lo, hi, x, why)) field = static_cast<T>(x);
}

std::optional<Prefix6> prefix6(Loader &l, const std::string &path, const YAML::Node &v) {
    std::string s, err;
    if (!scalar(l, path, v, s)) return std::nullopt;
    auto p = Prefix6::parse(s, &err);
    if (!p) l.error(path, v, err);
    return p;
}

std::optional<Prefix4> prefix4(Loader &l, const std::string &path, const YAML::Node &v) {
    std::string s, err;
    if (!scalar(l, path, v, s)) return std::nullopt;
    auto p = Prefix4::parse(s, &err);
    if (!p) l.error(path, v, err);
    return p;
}

// RFC 6052 §2.2: lengths 32, 40, 48, 56, 64, 96; with a /96, bits 64..71 ("u") MUST be zero.
std::optional<Prefix6> rfc6052_prefix(Loader &l, const std::string &path, const YAML::Node &v) {
    auto p = prefix6(l, path, v);
    if (!p) return p;
    if (!xlat::rfc6052_valid_length(p->len)) {
        l.error(path, v, "prefix length /" + std::to_string(p->len) +
                             " not allowed: RFC 6052 §2.2 allows /32, /40, /48, /56, /64 or /96");
        return std::nullopt;
    }
    if (p->addr.b[8] != 0) {
        l.error(path, v, "bits 64..71 of a /96 prefix must be zero (the RFC 6052 §2.2 'u' octet)");
        return std::nullopt;
    }
    return p;
}

std::optional<MacAddr> mac(Loader &l, const std::string &path, const YAML::Node &v) {
    std::string s;
    if (!scalar(l, path, v, s)) return std::nullopt;
    MacAddr m;
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    bool ok = s.size() == 17;
    for (size_t i = 0; ok && i < 6; i++) {
        int hi = hex(s[3 * i]), lo = hex(s[3 * i + 1]);
        ok = hi >= 0 && lo >= 0 && (i == 5 || s[3 * i + 2] == ':');
        m.b[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    if (!ok) {
        l.error(path, v, "not a MAC address (expected aa:bb:cc:dd:ee:ff): '" + s + "'");
        return std::nullopt;
    }
    if (m.b[0] & 1) {
        l.error(path, v, "'" + s + "' is a multicast MAC address");
        return std::nullopt;
    }
    return m;
}

// Applies fn to each element of a list, or to the value itself when it is a single scalar.
template <typename Fn>
void each(Loader &l, const std::string &path, const YAML::Node &v, Fn fn) {
    if (v.IsSequence()) {
        if (v.size() == 0) l.error(path, v, "is an empty list");
        for (size_t i = 0; i < v.size(); i++) fn(path + "[" + std::to_string(i) + "]", v[i]);
    } else if (v.IsScalar()) {
        fn(path, v);
    } else {
        l.error(path, v, v.IsNull() ? "has no value" : "must be a value or a list of values");
    }
}

// "A.B.C.D/len": the box's address and its on-link prefix (host bits are the point here).
bool split_address(Loader &l, const std::string &path, const YAML::Node &v, const std::string &s,
                   unsigned max, std::string &addr, uint8_t &len) {
    auto slash = s.find('/');
    if (slash == std::string::npos) {
        l.error(path, v, "'" + s + "' needs its on-link prefix length (e.g. " +
                             (max == 32 ? "192.168.1.1/24" : "2001:db8::1/64") + ")");
        return false;
    }
    addr = s.substr(0, slash);
    std::string ls = s.substr(slash + 1);
    unsigned x = 0;
    auto [p, ec] = std::from_chars(ls.data(), ls.data() + ls.size(), x);
    if (ls.empty() || ec != std::errc() || p != ls.data() + ls.size() || x < 1 || x > max) {
        l.error(path, v, "prefix length of '" + s + "' must be 1.." + std::to_string(max));
        return false;
    }
    len = static_cast<uint8_t>(x);
    return true;
}

// ---- translator keys (xlat::Config) ----------------------------------------------------------

void parse_mode(Loader &l, const std::string &path, const YAML::Node &v) {
    std::string s;
    if (!scalar(l, path, v, s)) return;
    if (s == "siit") l.cfg.xlat.mode = xlat::Mode::siit;
    else if (s == "clat") l.cfg.xlat.mode = xlat::Mode::clat;
    else l.error(path, v, "must be siit or clat, not '" + s + "'");
}

void parse_pool6(Loader &l, const std::string &path, const YAML::Node &v) {
    l.cfg.xlat.pool6 = rfc6052_prefix(l, path, v);
}

void parse_clat_prefix(Loader &l, const std::string &path, const YAML::Node &v) {
    auto p = rfc6052_prefix(l, path, v);
    // RFC 6052 §3.1: the WKP cannot carry non-global IPv4 addresses, and the CLAT prefix carries
    // the LAN's (RFC 1918) addresses: every packet would be dropped.
    if (p && xlat::is_well_known_prefix(*p)) {
        l.error(path, v, "the Well-Known Prefix 64:ff9b::/96 cannot carry the LAN's private IPv4 "
                         "addresses (RFC 6052 §3.1); use a /96 of your own delegated prefix "
                         "(RFC 6877 §6.3)");
        return;
    }
    l.cfg.xlat.clat_prefix = p;
}

void parse_plat_prefix(Loader &l, const std::string &path, const YAML::Node &v) {
    if (v.IsScalar() && v.Scalar() == "discover") {
        // RFC 7050 / RFC 8781: learned at run time; the daemon does it, the offline tool cannot.
        l.cfg.plat_prefix_discover = true;
        return;
    }
    l.cfg.xlat.plat_prefix = rfc6052_prefix(l, path, v);
}

void parse_eamt(Loader &l, const std::string &path, const YAML::Node &v) {
    if (v.IsNull()) return;  // "eamt:" with nothing: an empty table
    if (!v.IsSequence()) {
        l.error(path, v, "must be a list of {ipv4: PREFIX, ipv6: PREFIX} entries");
        return;
    }
    l.eamt_items = v.size();
    for (size_t i = 0; i < v.size(); i++) {
        const std::string ep = path + "[" + std::to_string(i) + "]";
        const YAML::Node e = v[i];
        if (!e.IsMap()) {
            l.error(ep, e, "must be a mapping {ipv4: PREFIX, ipv6: PREFIX}");
            continue;
        }
        std::optional<Prefix4> p4;
        std::optional<Prefix6> p6;
        YAML::Node n4, n6;
        bool has4 = false, has6 = false, bad = false;
        std::set<std::string> here;
        for (auto it = e.begin(); it != e.end(); ++it) {
            const YAML::Node key = it->first;
            const YAML::Node value = it->second;
            std::string k = key.IsScalar() ? key.Scalar() : "";
            l.key_line = line_of(key);
            if (!here.insert(k).second) {
                l.error(ep + "." + k, key, "duplicate key");
                bad = true;
            } else if (k == "ipv4") {
                n4 = value;
                has4 = true;
                if (!(p4 = prefix4(l, ep + ".ipv4", n4))) bad = true;
            } else if (k == "ipv6") {
                n6 = value;
                has6 = true;
                if (!(p6 = prefix6(l, ep + ".ipv6", n6))) bad = true;
            } else {
                l.error(ep + (k.empty() ? "" : "." + k), key,
                        "unknown key (expected one of: ipv4, ipv6)");
                bad = true;
            }
        }
        if (!has4) l.error(ep + ".ipv4", e, "missing (each EAMT entry needs ipv4 and ipv6)");
        if (!has6) l.error(ep + ".ipv6", e, "missing (each EAMT entry needs ipv4 and ipv6)");
        if (bad || !p4 || !p6) continue;
        // RFC 7757 §3.2: "An EAM's IPv4 prefix value MUST have an identical or smaller number of
        // suffix bits than its corresponding IPv6 prefix value."
        unsigned s4 = 32u - p4->len, s6 = 128u - p6->len;
        if (s4 > s6) {
            l.error(ep, e, "IPv4 prefix " + p4->str() + " has " + std::to_string(s4) +
                               " suffix bits but IPv6 prefix " + p6->str() + " only " +
                               std::to_string(s6) + " (RFC 7757 §3.2: IPv6 /" +
                               std::to_string(p4->len + 96) + " or shorter)");
            continue;
        }
        // RFC 7757 §5: identical prefixes make one direction unspecified; refused like Jool does.
        bool dup = false;
        for (size_t j = 0; j < l.cfg.xlat.eamt.size(); j++) {
            const xlat::EamtEntry &o = l.cfg.xlat.eamt[j];
            const Loader::EamtPos &op = l.eamt_pos[j];
            if (o.ipv4 == *p4) {
                l.error(ep + ".ipv4", n4, p4->str() + " is already the IPv4 prefix of " + op.path +
                                              " (line " + std::to_string(op.line4) +
                                              "); RFC 7757 §5 forbids identical prefixes");
                dup = true;
            }
            if (o.ipv6 == *p6) {
                l.error(ep + ".ipv6", n6, p6->str() + " is already the IPv6 prefix of " + op.path +
                                              " (line " + std::to_string(op.line6) +
                                              "); RFC 7757 §5 forbids identical prefixes");
                dup = true;
            }
        }
        if (dup) continue;
        l.cfg.xlat.eamt.push_back({*p4, *p6, xlat::EamtSource::static_config});
        l.eamt_pos.push_back({ep, line_of(n4), line_of(n6)});
    }
}

void parse_rfc6791v4(Loader &l, const std::string &path, const YAML::Node &v) {
    l.cfg.xlat.rfc6791v4_prefix = prefix4(l, path, v);
}
void parse_rfc6791v6(Loader &l, const std::string &path, const YAML::Node &v) {
    l.cfg.xlat.rfc6791v6_prefix = prefix6(l, path, v);
}
void parse_lowest_ipv6_mtu(Loader &l, const std::string &path, const YAML::Node &v) {
    set_int(l, path, v, 1280, 65535, l.cfg.xlat.lowest_ipv6_mtu, "IPv6 minimum MTU, RFC 8200 §5");
}
void parse_ipv4_mtu(Loader &l, const std::string &path, const YAML::Node &v) {
    set_int(l, path, v, 68, 65535, l.cfg.xlat.ipv4_mtu, "IPv4 minimum MTU, RFC 791");
}
void parse_ipv6_mtu(Loader &l, const std::string &path, const YAML::Node &v) {
    set_int(l, path, v, 1280, 65535, l.cfg.xlat.ipv6_mtu, "IPv6 minimum MTU, RFC 8200 §5");
}
void parse_amend_udp(Loader &l, const std::string &path, const YAML::Node &v) {
    boolean(l, path, v, l.cfg.xlat.amend_udp_checksum_zero);
}
void parse_hairpin(Loader &l, const std::string &path, const YAML::Node &v) {
    std::string s;
    if (!scalar(l, path, v, s)) return;
    if (s == "off") l.cfg.xlat.eam_hairpin_mode = xlat::HairpinMode::off;
    else if (s == "simple") l.cfg.xlat.eam_hairpin_mode = xlat::HairpinMode::simple;
    else if (s == "intrinsic") l.cfg.xlat.eam_hairpin_mode = xlat::HairpinMode::intrinsic;
    else l.error(path, v, "must be off, simple or intrinsic (RFC 7757 §4.2), not '" + s + "'");
}
void parse_zeroize_tc(Loader &l, const std::string &path, const YAML::Node &v) {
    boolean(l, path, v, l.cfg.xlat.zeroize_traffic_class);
}
void parse_reset_tos(Loader &l, const std::string &path, const YAML::Node &v) {
    boolean(l, path, v, l.cfg.xlat.reset_tos);
}
void parse_new_tos(Loader &l, const std::string &path, const YAML::Node &v) {
    set_int(l, path, v, 0, 255, l.cfg.xlat.new_tos);
}

// ---- daemon keys -----------------------------------------------------------------------------

void port_device(Loader &l, const std::string &path, const YAML::Node &v) {
    std::string s;
    if (!scalar(l, path, v, s)) return;
    if (s.empty()) l.error(path, v, "is empty (a PCI address, a port name or vdev devargs)");
    l.port->device = s;
}
void port_mac(Loader &l, const std::string &path, const YAML::Node &v) { l.port->mac = mac(l, path, v); }
void port_gateway_mac(Loader &l, const std::string &path, const YAML::Node &v) {
    l.port->gateway_mac = mac(l, path, v);
}
void port_mtu(Loader &l, const std::string &path, const YAML::Node &v) {
    if (l.port_is_wan)
        set_int(l, path, v, 1280, 65535, l.port->mtu, "the wan port is IPv6: RFC 8200 §5");
    else
        set_int(l, path, v, 68, 65535, l.port->mtu, "IPv4 minimum MTU, RFC 791");
}
void port_tap(Loader &l, const std::string &path, const YAML::Node &v) {
    std::string s;
    if (!scalar(l, path, v, s)) return;
    // IFNAMSIZ is 16 including the terminating NUL.
    if (s.empty() || s.size() > 15 || s.find_first_of("/ \t:") != std::string::npos) {
        l.error(path, v, "'" + s + "' is not a valid interface name (1..15 characters, no '/', ':' "
                                   "or spaces)");
        return;
    }
    l.port->tap = s;
}
void port_ipv4_address(Loader &l, const std::string &path, const YAML::Node &v) {
    if (l.port_is_wan) {
        l.error(path, v, "the wan port is IPv6-only: IPv4 addresses belong on the lan port");
        return;
    }
    each(l, path, v, [&](const std::string &p, const YAML::Node &n) {
        std::string s, a;
        uint8_t len;
        if (!scalar(l, p, n, s) || !split_address(l, p, n, s, 32, a, len)) return;
        auto ip = parse_ip4(a);
        if (!ip) {
            l.error(p, n, "not an IPv4 address: '" + a + "'");
            return;
        }
        l.port->ipv4_addresses.push_back({*ip & Prefix4::mask(len), len});
        l.port_ipv4->push_back({*ip, len});
    });
}
void port_ipv6_address(Loader &l, const std::string &path, const YAML::Node &v) {
    each(l, path, v, [&](const std::string &p, const YAML::Node &n) {
        std::string s, a;
        uint8_t len;
        if (!scalar(l, p, n, s) || !split_address(l, p, n, s, 128, a, len)) return;
        auto ip = Ip6::parse(a);
        if (!ip) {
            l.error(p, n, "not an IPv6 address: '" + a + "'");
            return;
        }
        Prefix6 net{*ip, len};
        for (unsigned i = len; i < 128; i++) net.addr.b[i / 8] &= static_cast<uint8_t>(~(0x80u >> (i % 8)));
        l.port->ipv6_addresses.push_back(net);
        l.port_ipv6->push_back({*ip, len});
    });
}
void port_ipv6_gateway(Loader &l, const std::string &path, const YAML::Node &v) {
    std::string s;
    if (!scalar(l, path, v, s)) return;
    if (!l.port_is_wan) {
        l.error(path, v, "only valid on the wan port (the upstream IPv6 router)");
        return;
    }
    auto ip = Ip6::parse(s);
    if (!ip) {
        l.error(path, v, "not an IPv6 address: '" + s + "'");
        return;
    }
    if (ip->b[0] == 0xff || *ip == Ip6{}) {
        l.error(path, v, "'" + s + "' is not a unicast address");
        return;
    }
    l.port->ipv6_gateway = ip;
}
void port_ipv4_gateway(Loader &l, const std::string &path, const YAML::Node &v) {
    std::string s;
    if (!scalar(l, path, v, s)) return;
    if (l.port_is_wan) {
        l.error(path, v, "only valid on the lan port (the next hop on the IPv4 side)");
        return;
    }
    auto ip = parse_ip4(s);
    if (!ip) {
        l.error(path, v, "not an IPv4 address: '" + s + "'");
        return;
    }
    l.port->ipv4_gateway = ip;
}

constexpr KeySpec port_keys[] = {
    {"device", port_device, "DPDK port: PCI address, port name, or vdev devargs (required)"},
    {"mac", port_mac, "MAC address override for the port"},
    {"mtu", port_mtu, "L3 MTU of the link (lan >= 68, wan >= 1280)"},
    {"tap", port_tap, "kernel exception interface name (TAP), none if absent"},
    {"ipv4-address", port_ipv4_address, "the box's IPv4 address(es) on the lan, A.B.C.D/len"},
    {"ipv6-address", port_ipv6_address, "the box's IPv6 address(es), X::Y/len"},
    {"ipv6-gateway", port_ipv6_gateway, "wan: the upstream IPv6 router"},
    {"gateway-mac", port_gateway_mac, "static MAC of the gateway (skips ARP/ND)"},
    {"ipv4-gateway", port_ipv4_gateway, "lan, siit mode: next hop on the IPv4 side"},
};

void parse_one_port(Loader &l, const std::string &path, const YAML::Node &v, PortConfig &port,
                    std::vector<Address4> *v4, std::vector<Address6> *v6, bool wan) {
    std::vector<Address4> unused4;
    std::vector<Address6> unused6;
    l.port = &port;
    l.port_ipv4 = v4 ? v4 : &unused4;
    l.port_ipv6 = v6 ? v6 : &unused6;
    l.port_is_wan = wan;
    l.parse_mapping(path, v, port_keys, std::size(port_keys));
    l.port = nullptr;
    l.port_ipv4 = nullptr;
    l.port_ipv6 = nullptr;
    if (v.IsMap() && !has_key(v, "device")) l.error(path + ".device", v, "missing (every port needs a device)");
    if (port.gateway_mac && !port.ipv6_gateway && !port.ipv4_gateway)
        l.error(path + ".gateway-mac", l.line(path + ".gateway-mac"),
                "set without a gateway on this port (ipv6-gateway or ipv4-gateway)");
    if (port.ipv4_gateway) {
        bool onlink = false;
        for (const Prefix4 &p : port.ipv4_addresses) onlink |= p.contains(*port.ipv4_gateway);
        if (!onlink)
            l.error(path + ".ipv4-gateway", l.line(path + ".ipv4-gateway"),
                    ip4_str(*port.ipv4_gateway) + " is not on-link (inside no ipv4-address of this port)");
    }
}

void ports_lan(Loader &l, const std::string &path, const YAML::Node &v) {
    parse_one_port(l, path, v, l.cfg.ports.lan, &l.cfg.ports.lan_ipv4, &l.cfg.ports.lan_ipv6, false);
}
void ports_wan(Loader &l, const std::string &path, const YAML::Node &v) {
    parse_one_port(l, path, v, l.cfg.ports.wan, nullptr, &l.cfg.ports.wan_ipv6, true);
}

constexpr KeySpec ports_keys[] = {
    {"lan", ports_lan, "the IPv4 side (clat: the home LAN; siit: the IPv4 network)"},
    {"wan", ports_wan, "the IPv6-only side"},
};

void parse_ports(Loader &l, const std::string &path, const YAML::Node &v) {
    l.parse_mapping(path, v, ports_keys, std::size(ports_keys));
    if (!v.IsMap()) return;
    if (!has_key(v, "lan")) l.error(path + ".lan", v, "missing (ports needs both lan and wan)");
    if (!has_key(v, "wan")) l.error(path + ".wan", v, "missing (ports needs both lan and wan)");
}

void parse_delegated_prefix(Loader &l, const std::string &path, const YAML::Node &v) {
    auto p = prefix6(l, path, v);
    if (p && (p->len == 0 || p->len > 64)) {
        l.error(path, v, "must be between /1 and /64 (a LAN needs at least a /64, RFC 4291 §2.5.1)");
        return;
    }
    l.cfg.delegated_prefix = p;
}

void parse_workers(Loader &l, const std::string &path, const YAML::Node &v) {
    set_int(l, path, v, 0, 1024, l.cfg.workers, "0 = one per EAL worker lcore");
}

constexpr uint64_t week = 7 * 24 * 3600;
constexpr KeySpec timeout_keys[] = {
    {"tcp-established", [](Loader &l, const std::string &p, const YAML::Node &v) {
         set_int(l, p, v, 1, week, l.cfg.timeouts.tcp_established); }, "seconds an idle established TCP flow stays pinned"},
    {"tcp-transitory", [](Loader &l, const std::string &p, const YAML::Node &v) {
         set_int(l, p, v, 1, week, l.cfg.timeouts.tcp_transitory); }, "seconds for TCP flows opening or closing"},
    {"udp", [](Loader &l, const std::string &p, const YAML::Node &v) {
         set_int(l, p, v, 1, week, l.cfg.timeouts.udp); }, "seconds an idle UDP flow stays pinned"},
    {"icmp", [](Loader &l, const std::string &p, const YAML::Node &v) {
         set_int(l, p, v, 1, week, l.cfg.timeouts.icmp); }, "seconds an idle ICMP echo flow stays pinned"},
};

constexpr KeySpec limit_keys[] = {
    {"eamt-entries", [](Loader &l, const std::string &p, const YAML::Node &v) {
         set_int(l, p, v, 1, 1u << 24, l.cfg.limits.eamt_entries); }, "EAMT size, all sources together"},
    {"learned-per-host", [](Loader &l, const std::string &p, const YAML::Node &v) {
         set_int(l, p, v, 1, 1u << 24, l.cfg.limits.learned_per_host); }, "learned EAMT entries per LAN host"},
    {"flows", [](Loader &l, const std::string &p, const YAML::Node &v) {
         set_int(l, p, v, 1, 1u << 26, l.cfg.limits.flows); }, "pinned flows"},
};

bool absolute_path(Loader &l, const std::string &path, const YAML::Node &v, std::string &out) {
    std::string s;
    if (!scalar(l, path, v, s)) return false;
    if (s.empty() || s[0] != '/') {
        l.error(path, v, "must be an absolute path, not '" + s + "'");
        return false;
    }
    out = s;
    return true;
}

constexpr KeySpec control_keys[] = {
    {"socket", [](Loader &l, const std::string &p, const YAML::Node &v) {
         std::string s;
         if (!absolute_path(l, p, v, s)) return;
         // sockaddr_un.sun_path holds 108 bytes including the NUL.
         if (s.size() > 107) l.error(p, v, "longer than 107 characters (the sun_path limit)");
         else l.cfg.control.socket = s;
     }, "eamclat-ctl's UNIX socket"},
    {"state-dir", [](Loader &l, const std::string &p, const YAML::Node &v) {
         absolute_path(l, p, v, l.cfg.control.state_dir); }, "directory for the learned table and the last good operator table"},
    {"log-level", [](Loader &l, const std::string &p, const YAML::Node &v) {
         std::string s;
         if (!scalar(l, p, v, s)) return;
         static constexpr std::string_view levels[] = {"emerg", "alert", "crit", "error",
                                                       "warning", "notice", "info", "debug"};
         for (auto lv : levels)
             if (s == lv) { l.cfg.control.log_level = s; return; }
         l.error(p, v, "must be one of emerg, alert, crit, error, warning, notice, info, debug; not '" + s + "'");
     }, "log level"},
    {"cmdline-file", [](Loader &l, const std::string &p, const YAML::Node &v) {
         std::string s;
         if (!scalar(l, p, v, s)) return;
         if (s.empty()) l.error(p, v, "is empty");
         else l.cfg.control.cmdline_file = s;
     }, "shell commands run at start-up, one per line"},
};

// ---- dns, learning, do-not-optimise (draft-ietf-v6ops-464xlat-optimization §5.2) -------------

// "addr", "addr:port" (IPv4) or "addr", "[addr]:port" (IPv6): where the proxy listens or asks.
void endpoints(Loader &l, const std::string &path, const YAML::Node &v, std::vector<std::string> &out) {
    out.clear();
    each(l, path, v, [&](const std::string &p, const YAML::Node &n) {
        std::string s;
        if (!scalar(l, p, n, s)) return;
        std::string addr = s, port;
        if (!s.empty() && s[0] == '[') {
            auto close = s.find(']');
            if (close == std::string::npos || (close + 1 < s.size() && s[close + 1] != ':')) {
                l.error(p, n, "'" + s + "': expected [IPv6] or [IPv6]:port");
                return;
            }
            addr = s.substr(1, close - 1);
            if (close + 1 < s.size()) {
                port = s.substr(close + 2);
                if (port.empty()) port = "-";  // "[::1]:" is an error, not the default port
            }
        } else if (s.find(':') == s.rfind(':') && s.find(':') != std::string::npos) {
            addr = s.substr(0, s.find(':'));  // exactly one colon: IPv4:port
            port = s.substr(s.find(':') + 1);
        }
        if (!parse_ip4(addr) && !Ip6::parse(addr)) {
            l.error(p, n, "'" + s + "': not an IP address (A.B.C.D[:port], X::Y or [X::Y]:port)");
            return;
        }
        if (!port.empty()) {
            unsigned x = 0;
            auto [e, ec] = std::from_chars(port.data(), port.data() + port.size(), x);
            if (ec != std::errc() || e != port.data() + port.size() || x == 0 || x > 65535) {
                l.error(p, n, "'" + s + "': port must be 1..65535");
                return;
            }
        }
        out.push_back(s);
    });
}

constexpr KeySpec dns_keys[] = {
    {"enabled", [](Loader &l, const std::string &p, const YAML::Node &v) {
         boolean(l, p, v, l.cfg.dns.enabled); }, "run the LAN DNS proxy (RFC 5625)"},
    {"listen", [](Loader &l, const std::string &p, const YAML::Node &v) {
         endpoints(l, p, v, l.cfg.dns.listen); }, "addresses the proxy listens on (default: the lan addresses, port 53)"},
    {"upstream", [](Loader &l, const std::string &p, const YAML::Node &v) {
         endpoints(l, p, v, l.cfg.dns.upstream); }, "the resolvers the proxy asks (required when dns is enabled)"},
    {"resolution-delay-ms", [](Loader &l, const std::string &p, const YAML::Node &v) {
         set_int(l, p, v, 0, 10000, l.cfg.dns.resolution_delay_ms); }, "how long an A answer waits for the AAAA (draft §5.2.4, RFC 8305)"},
    {"upstream-timeout-ms", [](Loader &l, const std::string &p, const YAML::Node &v) {
         set_int(l, p, v, 100, 60000, l.cfg.dns.upstream_timeout_ms); }, "upstream query timeout"},
    {"snooping", [](Loader &l, const std::string &p, const YAML::Node &v) {
         boolean(l, p, v, l.cfg.dns.snooping); }, "also learn from DNS answers of resolvers the LAN hosts use directly (opt-in)"},
    {"discover-pref64", [](Loader &l, const std::string &p, const YAML::Node &v) {
         boolean(l, p, v, l.cfg.dns.discover_pref64); }, "learn synthesis prefixes from ipv4only.arpa (RFC 7050)"},
    {"nat64-prefixes", [](Loader &l, const std::string &p, const YAML::Node &v) {
         l.cfg.dns.nat64_prefixes.clear();
         each(l, p, v, [&](const std::string &ip, const YAML::Node &n) {
             if (auto pf = rfc6052_prefix(l, ip, n)) l.cfg.dns.nat64_prefixes.push_back(*pf);
         }); }, "DNS64 synthesis prefixes besides the PLAT prefix"},
};

constexpr uint64_t day = 24 * 3600;
constexpr KeySpec learning_keys[] = {
    {"enabled", [](Loader &l, const std::string &p, const YAML::Node &v) {
         bool b;
         if (boolean(l, p, v, b)) l.cfg.learning.enabled = b; }, "learn EAMT entries from DNS answers (default: on in clat mode)"},
    {"require-dnssec", [](Loader &l, const std::string &p, const YAML::Node &v) {
         boolean(l, p, v, l.cfg.learning.require_dnssec); }, "learn only from answers with AD from a trusted resolver (draft §5.2.5)"},
    {"max-ttl", [](Loader &l, const std::string &p, const YAML::Node &v) {
         set_int(l, p, v, 1, 7 * day, l.cfg.learning.max_ttl); }, "seconds: cap on a learned entry's lifetime"},
    {"host-idle", [](Loader &l, const std::string &p, const YAML::Node &v) {
         set_int(l, p, v, 1, 30 * day, l.cfg.learning.host_idle); }, "seconds: LAN hosts not seen for this long are forgotten"},
    {"save-interval", [](Loader &l, const std::string &p, const YAML::Node &v) {
         set_int(l, p, v, 1, day, l.cfg.learning.save_interval); }, "seconds between saves of the learned table"},
};

void parse_do_not_optimise(Loader &l, const std::string &path, const YAML::Node &v) {
    l.cfg.do_not_optimise.clear();
    each(l, path, v, [&](const std::string &p, const YAML::Node &n) {
        if (auto pf = prefix4(l, p, n)) l.cfg.do_not_optimise.push_back(*pf);
    });
}


// ---- operator-table (draft §5.3; docs/OPERATOR-TABLE.md) -----------------------------------

OperatorTableConfig &optable(Loader &l) {
    if (!l.cfg.operator_table) l.cfg.operator_table.emplace();
    return *l.cfg.operator_table;
}

constexpr KeySpec operator_keys[] = {
    {"url", [](Loader &l, const std::string &p, const YAML::Node &v) {
         std::string s;
         if (!scalar(l, p, v, s)) return;
         // Integrity needs TLS with certificate verification (the signature is optional).
         if (s.rfind("https://", 0) != 0 || s.size() <= 8) l.error(p, v, "must be an https:// URL, not '" + s + "'");
         else optable(l).url = s;
     }, "https URL of the operator's table (JSON or YAML)"},
    {"public-key", [](Loader &l, const std::string &p, const YAML::Node &v) {
         absolute_path(l, p, v, optable(l).public_key); }, "PEM Ed25519 public key: tables must carry a valid signature (URL.sig)"},
    {"ca-file", [](Loader &l, const std::string &p, const YAML::Node &v) {
         absolute_path(l, p, v, optable(l).ca_file); }, "CA bundle for the server certificate (default: the system's)"},
    {"state-file", [](Loader &l, const std::string &p, const YAML::Node &v) {
         absolute_path(l, p, v, optable(l).state_file); }, "last good table (default: STATE-DIR/operator-table.state)"},
    {"refresh-min", [](Loader &l, const std::string &p, const YAML::Node &v) {
         set_int(l, p, v, 1, day, optable(l).refresh_min); }, "seconds: shortest refresh interval"},
    {"refresh-max", [](Loader &l, const std::string &p, const YAML::Node &v) {
         set_int(l, p, v, 1, 7 * day, optable(l).refresh_max); }, "seconds: longest refresh interval"},
    {"initial-jitter", [](Loader &l, const std::string &p, const YAML::Node &v) {
         set_int(l, p, v, 0, day, optable(l).initial_jitter); }, "seconds: random delay of the first pull after boot"},
    {"max-bytes", [](Loader &l, const std::string &p, const YAML::Node &v) {
         set_int(l, p, v, 1024, uint64_t(1) << 30, optable(l).max_bytes); }, "largest table accepted, in bytes"},
    {"max-entries", [](Loader &l, const std::string &p, const YAML::Node &v) {
         set_int(l, p, v, 1, 16u << 20, optable(l).max_entries); }, "most entries accepted"},
    {"timeout", [](Loader &l, const std::string &p, const YAML::Node &v) {
         set_int(l, p, v, 1, 3600, optable(l).timeout); }, "seconds for a whole transfer"},
};

// ---- the top level ---------------------------------------------------------------------------

constexpr KeySpec top_keys[] = {
    {"mode", parse_mode, "siit or clat (required)"},
    {"pool6", parse_pool6, "siit: RFC 6052 prefix for addresses not in the EAMT"},
    {"eamt", parse_eamt, "static EAMT: list of {ipv4: PREFIX, ipv6: PREFIX} (RFC 7757)"},
    {"clat-prefix", parse_clat_prefix, "clat: RFC 6052 prefix for the LAN's IPv4 hosts (RFC 6877 §6.3)"},
    {"plat-prefix", parse_plat_prefix, "clat: the PLAT's pref64, or 'discover' (RFC 7050)"},
    {"rfc6791v4-prefix", parse_rfc6791v4, "IPv4 pool for sources of ICMPv4 errors (RFC 6791)"},
    {"rfc6791v6-prefix", parse_rfc6791v6, "IPv6 pool for sources of ICMPv6 errors"},
    {"lowest-ipv6-mtu", parse_lowest_ipv6_mtu, "smallest MTU of the IPv6 side (RFC 7915 §4.1, §6)"},
    {"ipv4-mtu", parse_ipv4_mtu, "egress MTU toward the IPv4 side"},
    {"ipv6-mtu", parse_ipv6_mtu, "egress MTU toward the IPv6 side"},
    {"amend-udp-checksum-zero", parse_amend_udp, "compute zero IPv4 UDP checksums (RFC 7915 §4.5)"},
    {"eam-hairpin-mode", parse_hairpin, "off, simple or intrinsic (RFC 7757 §4.2)"},
    {"zeroize-traffic-class", parse_zeroize_tc, "IPv6 traffic class 0 instead of the TOS (RFC 7915 §4.1)"},
    {"reset-tos", parse_reset_tos, "IPv4 TOS = new-tos instead of the traffic class (RFC 7915 §5.1)"},
    {"new-tos", parse_new_tos, "TOS used when reset-tos is true"},
    {"ports", parse_ports, "daemon: the lan and wan DPDK ports"},
    {"delegated-prefix", parse_delegated_prefix, "daemon: the LAN's IPv6 prefix, forwarded natively"},
    {"workers", parse_workers, "daemon: worker lcores (0 = all EAL workers)"},
    {"timeouts", [](Loader &l, const std::string &p, const YAML::Node &v) {
         l.parse_mapping(p, v, timeout_keys, std::size(timeout_keys)); }, "daemon: flow pinning timeouts"},
    {"limits", [](Loader &l, const std::string &p, const YAML::Node &v) {
         l.parse_mapping(p, v, limit_keys, std::size(limit_keys)); }, "daemon: table sizes"},
    {"control", [](Loader &l, const std::string &p, const YAML::Node &v) {
         l.parse_mapping(p, v, control_keys, std::size(control_keys)); }, "daemon: control socket, state, logging"},
    {"dns", [](Loader &l, const std::string &p, const YAML::Node &v) {
         l.parse_mapping(p, v, dns_keys, std::size(dns_keys)); }, "daemon: the LAN DNS proxy"},
    {"learning", [](Loader &l, const std::string &p, const YAML::Node &v) {
         l.parse_mapping(p, v, learning_keys, std::size(learning_keys)); }, "daemon: the EAMT learner (draft §5.2)"},
    {"do-not-optimise", parse_do_not_optimise, "daemon: IPv4 destinations always sent through the PLAT (draft §5.2.15)"},
    {"operator-table", [](Loader &l, const std::string &p, const YAML::Node &v) {
         optable(l);
         l.parse_mapping(p, v, operator_keys, std::size(operator_keys)); }, "daemon: pull the operator's EAMT table (draft §5.3)"},
};

// Checks that involve more than one key, after all keys are parsed.
void cross_checks(Loader &l) {
    const xlat::Config &x = l.cfg.xlat;
    const int top = line_of(l.root);
    if (!l.has("mode")) {
        l.error("mode", top, "missing (siit or clat)");
        return;
    }
    if (x.mode == xlat::Mode::siit) {
        // Entries with errors were reported already: only an eamt with no entries at all is.
        if (!l.has("pool6") && l.eamt_items == 0) {
            if (l.has("eamt"))
                l.error("eamt", l.line("eamt"), "is empty and there is no pool6: siit mode needs one of them");
            else
                l.error("pool6", top, "missing: siit mode needs pool6 or a non-empty eamt");
        }
        for (const char *k : {"clat-prefix", "plat-prefix"})
            if (l.has(k)) l.error(k, l.line(k), "only valid in clat mode");
    } else {
        if (!l.has("clat-prefix")) l.error("clat-prefix", top, "missing (clat mode needs it, RFC 6877 §6.3)");
        if (!l.has("plat-prefix"))
            l.error("plat-prefix", top, "missing (clat mode needs the PLAT's prefix, or 'discover')");
        if (l.has("pool6"))
            l.error("pool6", l.line("pool6"), "only valid in siit mode (in clat mode use plat-prefix)");
        if (x.clat_prefix && x.plat_prefix && *x.clat_prefix == *x.plat_prefix)
            l.error("clat-prefix", l.line("clat-prefix"), "must differ from plat-prefix");
        for (const char *k : {"ports.lan.ipv4-gateway"})
            if (l.has(k)) l.error(k, l.line(k), "only valid in siit mode");
    }
    // The smallest MTU of the IPv6 paths cannot exceed the first link's.
    if (x.lowest_ipv6_mtu > x.ipv6_mtu && l.has("lowest-ipv6-mtu"))
        l.error("lowest-ipv6-mtu", l.line("lowest-ipv6-mtu"),
                "is larger than ipv6-mtu (" + std::to_string(x.ipv6_mtu) +
                    (l.has("ipv6-mtu") ? ")" : ", its default)"));
    if (x.eamt.size() > l.cfg.limits.eamt_entries)
        l.error("eamt", l.line("eamt"), std::to_string(x.eamt.size()) + " entries exceed limits.eamt-entries (" +
                                            std::to_string(l.cfg.limits.eamt_entries) + ")");
    if (l.cfg.limits.learned_per_host > l.cfg.limits.eamt_entries && l.has("limits.learned-per-host"))
        l.error("limits.learned-per-host", l.line("limits.learned-per-host"), "is larger than limits.eamt-entries");
    if (l.has("dns") && l.cfg.dns.enabled && l.cfg.dns.upstream.empty() && !l.has("dns.upstream"))
        l.error("dns.upstream", l.line("dns"), "missing (the DNS proxy needs a resolver; or set dns.enabled: false)");
    if (l.has("learning") && l.cfg.learning.enabled.value_or(false) && x.mode != xlat::Mode::clat)
        l.error("learning.enabled", l.line("learning.enabled"), "learning is a CLAT function (draft §5.2): only valid in clat mode");
    if (auto &o = l.cfg.operator_table) {
        if (o->refresh_min > o->refresh_max)
            l.error("operator-table.refresh-min", l.line("operator-table.refresh-min"), "is larger than refresh-max");
        if (o->state_file.empty()) o->state_file = l.cfg.control.state_dir + "/operator-table.state";
    }
    if (l.scope == ConfigScope::daemon && !l.has("ports"))
        l.error("ports", top, "missing (the daemon needs ports.lan and ports.wan)");
}

}  // namespace

std::optional<DaemonConfig> parse_config(const std::string &yaml_text, ConfigScope scope,
                                         std::vector<ConfigError> &errs) {
    const size_t errs_before = errs.size();
    std::vector<ConfigError> found;
    Loader l{.cfg = {}, .scope = scope, .errs = found};
    try {
        l.root = YAML::Load(yaml_text);
    } catch (const YAML::Exception &e) {
        found.push_back({"", e.mark.line >= 0 ? e.mark.line + 1 : 0, "YAML syntax error: " + e.msg});
    }
    if (found.empty()) {
        try {
            if (!l.root.IsDefined() || l.root.IsNull()) {
                found.push_back({"", 0, "the configuration is empty (expected a mapping with at least 'mode')"});
            } else {
                l.parse_mapping("", l.root, top_keys, std::size(top_keys));
                if (l.root.IsMap()) cross_checks(l);
            }
        } catch (const YAML::Exception &e) {
            // yaml-cpp throws on some malformed documents only when a node is accessed.
            found.push_back({"", e.mark.line >= 0 ? e.mark.line + 1 : 0, "YAML error: " + e.msg});
        }
    }
    // File order (cross-key checks run last); errors without a line go after the others.
    std::stable_sort(found.begin(), found.end(), [](const ConfigError &a, const ConfigError &b) {
        return (a.line ? a.line : INT_MAX) < (b.line ? b.line : INT_MAX);
    });
    errs.insert(errs.end(), found.begin(), found.end());
    if (errs.size() != errs_before) return std::nullopt;
    return std::move(l.cfg);
}

std::optional<DaemonConfig> load_config(const std::string &path, ConfigScope scope,
                                        std::vector<ConfigError> &errs) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        errs.push_back({"", 0, std::string("cannot open: ") + std::strerror(errno)});
        return std::nullopt;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) {
        errs.push_back({"", 0, std::string("cannot read: ") + std::strerror(errno)});
        return std::nullopt;
    }
    return parse_config(ss.str(), scope, errs);
}

std::string config_reference() {
    std::string out;
    auto section = [&](const std::string &prefix, const KeySpec *t, size_t n) {
        for (size_t i = 0; i < n; i++)
            out += "  " + prefix + std::string(t[i].name) + "\n      " + std::string(t[i].help) + "\n";
    };
    section("", top_keys, std::size(top_keys));
    section("ports.{lan,wan}.", port_keys, std::size(port_keys));
    section("timeouts.", timeout_keys, std::size(timeout_keys));
    section("limits.", limit_keys, std::size(limit_keys));
    section("control.", control_keys, std::size(control_keys));
    section("dns.", dns_keys, std::size(dns_keys));
    section("learning.", learning_keys, std::size(learning_keys));
    section("operator-table.", operator_keys, std::size(operator_keys));
    return out;
}

}  // namespace eamclat
