#include "neighbors.hpp"

#include <cstring>

namespace eamclat::dp {

namespace {

void split(const Ip6 &k, uint64_t &hi, uint64_t &lo) {  // big-endian halves
    memcpy(&hi, k.b.data(), 8);
    memcpy(&lo, k.b.data() + 8, 8);
    hi = __builtin_bswap64(hi);
    lo = __builtin_bswap64(lo);
}

unsigned round_pow2(unsigned n) {
    unsigned p = 16;
    while (p < n) p <<= 1;
    return p;
}

}  // namespace

Ip6 neighbor_key4(Ip4 addr) {
    Ip6 k;
    k.b[10] = k.b[11] = 0xff;
    k.b[12] = static_cast<uint8_t>(addr >> 24);
    k.b[13] = static_cast<uint8_t>(addr >> 16);
    k.b[14] = static_cast<uint8_t>(addr >> 8);
    k.b[15] = static_cast<uint8_t>(addr);
    return k;
}

bool neighbor_key_is4(const Ip6 &key, Ip4 *addr) {
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(key.b.data(), mapped, 12) != 0) return false;
    if (addr)
        *addr = static_cast<Ip4>(key.b[12]) << 24 | static_cast<Ip4>(key.b[13]) << 16 |
                static_cast<Ip4>(key.b[14]) << 8 | key.b[15];
    return true;
}

NeighborTable::NeighborTable(unsigned capacity)
    : slots_(new Slot[round_pow2(capacity)]()), mask_(round_pow2(capacity) - 1) {}

uint64_t NeighborTable::pack(const rte_ether_addr &mac, NeighborState s) {
    uint64_t w = 0;
    for (int i = 0; i < 6; ++i) w |= static_cast<uint64_t>(mac.addr_bytes[i]) << (8 * i);
    return w | static_cast<uint64_t>(s) << 48;
}

void NeighborTable::unpack(uint64_t w, rte_ether_addr &mac, NeighborState &s) {
    for (int i = 0; i < 6; ++i) mac.addr_bytes[i] = static_cast<uint8_t>(w >> (8 * i));
    s = static_cast<NeighborState>(w >> 48 & 0xff);
}

unsigned NeighborTable::home(uint64_t hi, uint64_t lo) const {
    // Fibonacci hashing of the folded key: LAN hosts differ in the low bits only.
    uint64_t h = (hi ^ (lo * 0x9e3779b97f4a7c15ULL)) * 0xbf58476d1ce4e5b9ULL;
    return static_cast<unsigned>(h >> 32) & mask_;
}

bool NeighborTable::lookup(const Ip6 &key, rte_ether_addr &mac) const {
    uint64_t hi, lo;
    split(key, hi, lo);
    for (unsigned i = home(hi, lo), probes = 0; probes <= mask_; i = (i + 1) & mask_, ++probes) {
        const Slot &s = slots_[i];
        for (;;) {
            const uint32_t seq1 = s.seq.load(std::memory_order_acquire);
            if (seq1 == 0) return false;  // empty slot ends the probe sequence
            if (seq1 & 1) continue;        // the writer is mid-update: a few cycles
            const uint64_t khi = s.key_hi.load(std::memory_order_relaxed);
            const uint64_t klo = s.key_lo.load(std::memory_order_relaxed);
            const uint64_t w = s.mac_state.load(std::memory_order_relaxed);
            std::atomic_thread_fence(std::memory_order_acquire);
            if (s.seq.load(std::memory_order_relaxed) != seq1) continue;
            if (khi != hi || klo != lo) break;  // another key: next slot
            NeighborState st;
            unpack(w, mac, st);
            return st != NeighborState::empty;
        }
    }
    return false;
}

NeighborTable::Update NeighborTable::write(const Ip6 &key, const rte_ether_addr &mac, NeighborState state) {
    uint64_t hi, lo;
    split(key, hi, lo);
    for (unsigned i = home(hi, lo), probes = 0; probes <= mask_; i = (i + 1) & mask_, ++probes) {
        Slot &s = slots_[i];
        const uint32_t seq = s.seq.load(std::memory_order_relaxed);  // we are the only writer
        const bool empty = seq == 0;
        if (!empty && (s.key_hi.load(std::memory_order_relaxed) != hi ||
                       s.key_lo.load(std::memory_order_relaxed) != lo))
            continue;
        Update result = Update::added;
        if (!empty) {
            rte_ether_addr old;
            NeighborState old_state;
            unpack(s.mac_state.load(std::memory_order_relaxed), old, old_state);
            if (old_state == NeighborState::static_entry && state != NeighborState::static_entry)
                return Update::kept_static;
            if (rte_is_same_ether_addr(&old, &mac) && old_state == state) return Update::unchanged;
            result = Update::changed;
        } else if ((used_ + 1) * 4 > (mask_ + 1) * 3) {
            return Update::full;
        }
        // Seqlock write: odd, payload, even (release orders the payload before the final seq).
        s.seq.store(seq + 1, std::memory_order_relaxed);
        std::atomic_thread_fence(std::memory_order_release);
        s.key_hi.store(hi, std::memory_order_relaxed);
        s.key_lo.store(lo, std::memory_order_relaxed);
        s.mac_state.store(pack(mac, state), std::memory_order_relaxed);
        s.seq.store(seq + 2, std::memory_order_release);
        if (empty) ++used_;
        return result;
    }
    return Update::full;
}

NeighborTable::Update NeighborTable::learn(const Ip6 &key, const rte_ether_addr &mac) {
    return write(key, mac, NeighborState::learned);
}

NeighborTable::Update NeighborTable::set_static(const Ip6 &key, const rte_ether_addr &mac) {
    return write(key, mac, NeighborState::static_entry);
}

bool SightingFilter::recently_reported(const Sighting &s, uint64_t now, uint64_t interval) {
    uint64_t w[2];
    memcpy(w, s.addr.b.data(), 16);
    static_assert((sets & (sets - 1)) == 0);
    const uint64_t h = ((w[0] ^ w[1] ^ s.kind) * 0x9e3779b97f4a7c15ULL) >> (64 - __builtin_ctz(sets));
    Entry *set = entries_[h];
    for (unsigned way = 0; way < 2; ++way) {
        Entry &e = set[way];
        if (e.kind == s.kind && e.addr == s.addr && rte_is_same_ether_addr(&e.mac, &s.mac)) {
            if (now - e.when < interval) return true;
            e.when = now;
            return false;
        }
    }
    // Not in the set: replace the way reported longer ago.
    Entry &e = now - set[0].when >= now - set[1].when ? set[0] : set[1];
    e.kind = s.kind;
    e.addr = s.addr;
    e.mac = s.mac;
    e.when = now;
    return false;
}

}  // namespace eamclat::dp

// ---- ARP / ND on the wire ------------------------------------------------------------------

#include <rte_mbuf.h>

#include "xlat/checksum.hpp"

namespace eamclat::dp {

namespace {

constexpr uint8_t icmp6_ns = 135;
constexpr uint8_t icmp6_na = 136;
constexpr uint8_t nd_opt_source_lla = 1;
constexpr uint8_t nd_opt_target_lla = 2;

Ip4 load_ip4(const uint8_t *p) {
    return static_cast<Ip4>(p[0]) << 24 | static_cast<Ip4>(p[1]) << 16 | static_cast<Ip4>(p[2]) << 8 | p[3];
}
void store_ip4(uint8_t *p, Ip4 a) {
    p[0] = static_cast<uint8_t>(a >> 24);
    p[1] = static_cast<uint8_t>(a >> 16);
    p[2] = static_cast<uint8_t>(a >> 8);
    p[3] = static_cast<uint8_t>(a);
}

// Finds an ND option of `type` carrying an Ethernet address (length 1 = 8 bytes, RFC 4861 §4.6.1).
bool find_lla(const uint8_t *opt, uint32_t len, uint8_t type, rte_ether_addr &mac) {
    while (len >= 8) {
        const uint32_t opt_len = opt[1] * 8u;
        if (opt_len == 0 || opt_len > len) return false;  // RFC 4861 §4.6: length 0 is invalid
        if (opt[0] == type && opt_len == 8) {
            memcpy(mac.addr_bytes, opt + 2, 6);
            return true;
        }
        opt += opt_len;
        len -= opt_len;
    }
    return false;
}

bool usable_mac(const rte_ether_addr &m) { return rte_is_unicast_ether_addr(&m) && !rte_is_zero_ether_addr(&m); }

}  // namespace

bool snoop_neighbor(const uint8_t *frame, uint32_t len, Learned &out) {
    if (len < ether_header_len) return false;
    const uint16_t type = static_cast<uint16_t>(frame[12] << 8 | frame[13]);
    const uint8_t *p = frame + ether_header_len;
    len -= ether_header_len;
    if (type == ethertype_arp) {
        // htype 1 (Ethernet), ptype 0x0800, hlen 6, plen 4, op request(1) or reply(2).
        if (len < 28 || p[0] != 0 || p[1] != 1 || p[2] != 0x08 || p[3] != 0 || p[4] != 6 || p[5] != 4) return false;
        if (p[6] != 0 || (p[7] != 1 && p[7] != 2)) return false;
        const Ip4 sender = load_ip4(p + 14);
        if (sender == 0) return false;  // ARP probe (RFC 5227): says nothing about a binding
        memcpy(out.mac.addr_bytes, p + 8, 6);
        out.key = neighbor_key4(sender);
        return usable_mac(out.mac);
    }
    if (type != ethertype_ipv6 || len < 40 + 24) return false;
    if ((p[0] >> 4) != 6 || p[6] != 58 || p[7] != 255) return false;
    const uint32_t payload = static_cast<uint32_t>(p[4] << 8 | p[5]);
    if (payload < 24 || payload > len - 40) return false;
    const uint8_t *icmp = p + 40;
    if (icmp[1] != 0) return false;  // code 0
    static const Ip6 unspecified{};
    if (icmp[0] == icmp6_ns) {
        memcpy(out.key.b.data(), p + 8, 16);  // the solicitor's source address
        if (out.key == unspecified) return false;  // DAD (RFC 4862 §5.4.2)
        if (!find_lla(icmp + 24, payload - 24, nd_opt_source_lla, out.mac)) return false;
        return usable_mac(out.mac);
    }
    if (icmp[0] == icmp6_na) {
        memcpy(out.key.b.data(), icmp + 8, 16);  // target
        if (!find_lla(icmp + 24, payload - 24, nd_opt_target_lla, out.mac)) memcpy(out.mac.addr_bytes, frame + 6, 6);
        return usable_mac(out.mac);
    }
    return false;
}

rte_mbuf *build_arp_request(rte_mempool *pool, const rte_ether_addr &mac, Ip4 sender, Ip4 target) {
    rte_mbuf *m = rte_pktmbuf_alloc(pool);
    if (!m) return nullptr;
    // 14 + 28, padded to the 60-byte Ethernet minimum (without FCS) that some drivers do not pad.
    uint8_t *f = reinterpret_cast<uint8_t *>(rte_pktmbuf_append(m, 60));
    if (!f) {
        rte_pktmbuf_free(m);
        return nullptr;
    }
    memset(f, 0, 60);
    memset(f, 0xff, 6);
    memcpy(f + 6, mac.addr_bytes, 6);
    f[12] = 0x08, f[13] = 0x06;
    uint8_t *a = f + 14;
    a[1] = 1;                 // Ethernet
    a[2] = 0x08, a[3] = 0x00;  // IPv4
    a[4] = 6, a[5] = 4;
    a[7] = 1;  // request
    memcpy(a + 8, mac.addr_bytes, 6);
    store_ip4(a + 14, sender);
    store_ip4(a + 24, target);  // target hardware address stays zero
    return m;
}

rte_mbuf *build_neighbor_solicitation(rte_mempool *pool, const rte_ether_addr &mac, const Ip6 &src, const Ip6 &target) {
    rte_mbuf *m = rte_pktmbuf_alloc(pool);
    if (!m) return nullptr;
    constexpr uint16_t icmp_len = 24 + 8;
    uint8_t *f = reinterpret_cast<uint8_t *>(rte_pktmbuf_append(m, 14 + 40 + icmp_len));
    if (!f) {
        rte_pktmbuf_free(m);
        return nullptr;
    }
    memset(f, 0, 14 + 40 + icmp_len);
    // Solicited-node multicast ff02::1:ffXX:XXXX (RFC 4291 §2.7.1) and its MAC 33:33:ff:XX:XX:XX
    // (RFC 2464 §7).
    Ip6 group;
    group.b[0] = 0xff, group.b[1] = 0x02, group.b[11] = 0x01, group.b[12] = 0xff;
    group.b[13] = target.b[13], group.b[14] = target.b[14], group.b[15] = target.b[15];
    f[0] = 0x33, f[1] = 0x33;
    memcpy(f + 2, group.b.data() + 12, 4);
    memcpy(f + 6, mac.addr_bytes, 6);
    f[12] = 0x86, f[13] = 0xdd;
    uint8_t *ip = f + 14;
    ip[0] = 0x60;
    ip[4] = 0, ip[5] = icmp_len;
    ip[6] = 58;
    ip[7] = 255;
    memcpy(ip + 8, src.b.data(), 16);
    memcpy(ip + 24, group.b.data(), 16);
    uint8_t *icmp = ip + 40;
    icmp[0] = icmp6_ns;
    memcpy(icmp + 8, target.b.data(), 16);
    icmp[24] = nd_opt_source_lla;
    icmp[25] = 1;
    memcpy(icmp + 26, mac.addr_bytes, 6);
    uint32_t sum = xlat::csum::pseudo6(src, group, 58, icmp_len);
    sum = xlat::csum::add_bytes(sum, icmp, icmp_len);
    xlat::csum::store16(icmp + 2, xlat::csum::finish(sum));
    return m;
}

Ip6 link_local_eui64(const rte_ether_addr &mac) {
    Ip6 a;
    a.b[0] = 0xfe, a.b[1] = 0x80;
    a.b[8] = mac.addr_bytes[0] ^ 0x02;  // universal/local bit inverted
    a.b[9] = mac.addr_bytes[1];
    a.b[10] = mac.addr_bytes[2];
    a.b[11] = 0xff, a.b[12] = 0xfe;
    a.b[13] = mac.addr_bytes[3];
    a.b[14] = mac.addr_bytes[4];
    a.b[15] = mac.addr_bytes[5];
    return a;
}

}  // namespace eamclat::dp
