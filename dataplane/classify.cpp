#include "classify.hpp"

#include <cstring>

namespace eamclat::dp {

namespace {

uint16_t load16(const uint8_t *p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }
Ip4 load_ip4(const uint8_t *p) {
    return static_cast<Ip4>(p[0]) << 24 | static_cast<Ip4>(p[1]) << 16 | static_cast<Ip4>(p[2]) << 8 | p[3];
}
Ip6 load_ip6(const uint8_t *p) {
    Ip6 a;
    memcpy(a.b.data(), p, 16);
    return a;
}

// Addresses as two 64-bit words: one compare per word instead of a memcmp call (the classifier
// runs on every frame).
struct Words6 {
    uint64_t hi, lo;
};
Words6 words(const Ip6 &a) {
    uint64_t w[2];
    memcpy(w, a.b.data(), 16);
    return {__builtin_bswap64(w[0]), __builtin_bswap64(w[1])};
}
bool same6(const Ip6 &a, const Ip6 &b) {
    uint64_t x[2], y[2];
    memcpy(x, a.b.data(), 16);
    memcpy(y, b.b.data(), 16);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
}
// Prefix6::contains, word-wise, with the same answer for any prefix: the first len / 8 bytes
// equal, and the partial byte's masked bits equal to the prefix's byte (so a prefix with host bits
// set in that byte contains nothing, as there).
bool contains6(const Prefix6 &p, const Ip6 &a) {
    const unsigned len = p.len > 128 ? 128 : p.len;
    const unsigned rest = len % 8;
    if (rest && (p.addr.b[len / 8] & static_cast<uint8_t>(0xff >> rest)) != 0) return false;
    const Words6 x = words(a), y = words(p.addr);
    const uint64_t mask_hi = len >= 64 ? ~uint64_t{0} : len == 0 ? 0 : ~uint64_t{0} << (64 - len);
    const uint64_t mask_lo = len <= 64 ? 0 : len >= 128 ? ~uint64_t{0} : ~uint64_t{0} << (128 - len);
    return (((x.hi ^ y.hi) & mask_hi) | ((x.lo ^ y.lo) & mask_lo)) == 0;
}
bool same_mac(const uint8_t *a, const uint8_t *b) {
    uint32_t a4, b4;
    uint16_t a2, b2;
    memcpy(&a4, a, 4);
    memcpy(&b4, b, 4);
    memcpy(&a2, a + 4, 2);
    memcpy(&b2, b + 4, 2);
    return a4 == b4 && a2 == b2;
}

constexpr Decision to_kernel(Fate f) { return {Action::punt, f}; }
constexpr Decision drop(Fate f) { return {Action::drop, f}; }

bool is_multicast4(Ip4 a) { return (a >> 28) == 0xe; }  // 224.0.0.0/4

Decision classify_ipv4(const ClassifyConfig &cfg, PortRole in, bool group_mac, const uint8_t *ip,
                       uint32_t len) {
    if (len < 20) return drop(Fate::drop_truncated_frame);
    if ((ip[0] >> 4) != 4) return drop(Fate::drop_bad_ip_version);
    // The WAN is IPv6-only in both modes (siit: the LAN is the IPv4 side).
    if (in == PortRole::wan) return drop(Fate::drop_ipv4_on_wan);

    const LinkAddresses &lan = cfg.lan;
    const Ip4 src = load_ip4(ip + 12);
    const Ip4 dst = load_ip4(ip + 16);
    // Only hosts of the LAN's own subnets are neighbors worth learning (and reporting to the DNS
    // learner); anything else arriving here was routed by some other box.
    const Sight sight = lan.on_link4(src) && !lan.is_own4(src) ? Sight::ipv4_source : Sight::none;

    Decision d;
    if (group_mac || is_multicast4(dst) || lan.is_broadcast4(dst)) {
        d = to_kernel(Fate::punted_multicast);
    } else if (lan.is_own4(dst)) {
        d = to_kernel(Fate::punted_own_address);
    } else if (lan.on_link4(dst)) {
        // Sent to our MAC for a neighbor of the sender's own link: not ours to route.
        d = drop(Fate::drop_not_for_us);
    } else if (cfg.mode == xlat::Mode::clat && sight == Sight::none) {
        // RFC 6877 §6.3: the CLAT serves the LAN's hosts; anything else would leave with a CLAT
        // address the replies could never be delivered to (and is spoofed, BCP 38).
        d = drop(Fate::drop_src_not_on_lan);
    } else {
        d = {Action::translate_4to6, Fate::count};
    }
    d.sight = sight;
    return d;
}

Decision classify_ipv6(const ClassifyConfig &cfg, PortRole in, bool group_mac, const uint8_t *ip,
                       uint32_t len) {
    if (len < 40) return drop(Fate::drop_truncated_frame);
    if ((ip[0] >> 4) != 6) return drop(Fate::drop_bad_ip_version);

    const Ip6 src = load_ip6(ip + 8);
    const Ip6 dst = load_ip6(ip + 24);
    const uint8_t hop_limit = ip[7];
    static const Ip6 unspecified{};

    Decision d;
    if (group_mac || dst.b[0] == 0xff) {
        d = to_kernel(Fate::punted_multicast);
    } else if (dst.b[0] == 0xfe && (dst.b[1] & 0xc0) == 0x80) {  // fe80::/10
        d = to_kernel(Fate::punted_link_local);
    } else if (cfg.lan.is_own6(dst) || cfg.wan.is_own6(dst)) {
        d = to_kernel(Fate::punted_own_address);
    } else if (in == PortRole::lan) {
        if (cfg.lan.on_link6(dst)) {
            d = drop(Fate::drop_not_for_us);
        } else if (!cfg.has_delegated || !contains6(cfg.delegated, src)) {
            d = drop(Fate::drop_src_not_delegated);
        } else if (hop_limit <= 1) {
            d = {Action::hop_limit_expired, Fate::drop_hop_limit_expired};
        } else {
            d = {Action::forward6, Fate::forwarded6_lan_to_wan};
        }
    } else {
        const bool to_lan = cfg.lan.on_link6(dst);
        if (cfg.mode == xlat::Mode::clat && cfg.has_clat_prefix && contains6(cfg.clat_prefix, dst)) {
            d = {Action::translate_6to4, Fate::count};
        } else if (to_lan) {
            d = hop_limit <= 1 ? Decision{Action::hop_limit_expired, Fate::drop_hop_limit_expired}
                               : Decision{Action::forward6, Fate::forwarded6_wan_to_lan};
        } else if (cfg.mode == xlat::Mode::siit) {
            // siit: any other destination may be in the EAMT or pool6; the translator decides.
            d = {Action::translate_6to4, Fate::count};
        } else {
            d = drop(Fate::drop_no_route);
        }
    }
    // "This MAC sent IPv6" (draft §5.2.2) is true of link-local senders too; only :: (DAD) says
    // nothing about a host.
    if (in == PortRole::lan && !same6(src, unspecified)) d.sight = Sight::ipv6_source;
    return d;
}

}  // namespace

bool LinkAddresses::add4(Ip4 addr, uint8_t len) {
    if (n_ipv4 >= max || len > 32) return false;
    ipv4[n_ipv4] = addr;
    subnet4[n_ipv4] = {addr & Prefix4::mask(len), len};
    ++n_ipv4;
    return true;
}

bool LinkAddresses::add6(const Ip6 &addr, uint8_t len) {
    if (n_ipv6 >= max || len > 128) return false;
    ipv6[n_ipv6] = addr;
    Prefix6 p{addr, len};
    for (unsigned bit = len; bit < 128; ++bit) p.addr.b[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
    onlink6[n_ipv6] = p;
    ++n_ipv6;
    return true;
}

bool LinkAddresses::is_own4(Ip4 a) const {
    for (unsigned i = 0; i < n_ipv4; ++i)
        if (ipv4[i] == a) return true;
    return false;
}

bool LinkAddresses::is_own6(const Ip6 &a) const {
    for (unsigned i = 0; i < n_ipv6; ++i)
        if (same6(ipv6[i], a)) return true;
    return false;
}

bool LinkAddresses::on_link4(Ip4 a) const {
    for (unsigned i = 0; i < n_ipv4; ++i)
        if (subnet4[i].contains(a)) return true;
    return false;
}

bool LinkAddresses::on_link6(const Ip6 &a) const {
    for (unsigned i = 0; i < n_ipv6; ++i)
        if (contains6(onlink6[i], a)) return true;
    return false;
}

bool LinkAddresses::is_broadcast4(Ip4 a) const {
    if (a == 0xffffffff) return true;
    for (unsigned i = 0; i < n_ipv4; ++i) {
        // /31 (RFC 3021) and /32 have no directed broadcast.
        if (subnet4[i].len < 31 && a == (subnet4[i].addr | ~Prefix4::mask(subnet4[i].len))) return true;
    }
    return false;
}

Decision classify(const ClassifyConfig &cfg, PortRole in, const uint8_t *frame, uint32_t len) {
    if (len < ether_header_len) return drop(Fate::drop_truncated_frame);
    const bool group_mac = frame[0] & 1;  // broadcast or multicast
    if (!group_mac && !same_mac(frame, cfg.link(in).mac)) return drop(Fate::drop_not_for_us);

    const uint16_t type = load16(frame + 12);
    const uint8_t *l3 = frame + ether_header_len;
    const uint32_t l3_len = len - ether_header_len;
    switch (type) {
    case ethertype_ipv4:
        return classify_ipv4(cfg, in, group_mac, l3, l3_len);
    case ethertype_ipv6:
        return classify_ipv6(cfg, in, group_mac, l3, l3_len);
    case ethertype_arp:
        // Hardware type 1 + protocol IPv4 + lengths 6/4 + opcode: 28 bytes.
        if (l3_len < 28) return drop(Fate::drop_truncated_frame);
        return to_kernel(Fate::punted_arp);
    case 0x8100:  // 802.1Q
    case 0x88a8:  // 802.1ad
    case 0x9100:  // pre-standard QinQ
        return drop(Fate::drop_vlan);
    default:
        return drop(Fate::drop_unknown_ethertype);
    }
}

}  // namespace eamclat::dp
