// Neighbor table (ARP on the LAN, ND on both links) and the LAN sightings the workers report.
//
// One writer, many readers: only the control thread writes (from snooped ARP/ND, from the
// workers' sightings, from static config); workers read lock-free. Each slot is a seqlock
// (odd sequence = being written; readers retry) whose payload words are relaxed atomics, so
// a reader never sees a torn MAC and never blocks the writer. A slot is bound to its key forever
// (no deletion, so linear probing stays correct without tombstones); a MAC change rewrites the
// slot. The table is sized at start-up: a home LAN has tens of hosts, not thousands.
#pragma once

#include <rte_ether.h>

#include <atomic>
#include <cstdint>
#include <memory>

#include "classify.hpp"

struct rte_mbuf;
struct rte_mempool;
#include "xlat/types.hpp"

namespace eamclat::dp {

// IPv4 keys live in the same table as ::ffff:a.b.c.d (RFC 4291 §2.5.5.2).
Ip6 neighbor_key4(Ip4 addr);
bool neighbor_key_is4(const Ip6 &key, Ip4 *addr = nullptr);

enum class NeighborState : uint8_t { empty, learned, static_entry };

class NeighborTable {
public:
    // capacity is rounded up to a power of two; at most 3/4 of it is filled.
    explicit NeighborTable(unsigned capacity = 1024);

    // Any lcore. False if the key is unknown.
    bool lookup(const Ip6 &key, rte_ether_addr &mac) const;

    // Control thread only.
    enum class Update : uint8_t { added, changed, unchanged, kept_static, full };
    Update learn(const Ip6 &key, const rte_ether_addr &mac);
    Update set_static(const Ip6 &key, const rte_ether_addr &mac);
    unsigned size() const { return used_; }
    unsigned capacity() const { return mask_ + 1; }
    // Calls f(key, mac, state) for every entry (control thread only).
    template <typename F> void for_each(F &&f) const;

private:
    struct alignas(32) Slot {
        std::atomic<uint32_t> seq{0};  // 0: empty; odd: being written; even > 0: valid
        std::atomic<uint64_t> key_hi{0};
        std::atomic<uint64_t> key_lo{0};
        std::atomic<uint64_t> mac_state{0};  // MAC in bits 0..47, state in 48..55
    };
    static uint64_t pack(const rte_ether_addr &mac, NeighborState s);
    static void unpack(uint64_t w, rte_ether_addr &mac, NeighborState &s);
    unsigned home(uint64_t hi, uint64_t lo) const;
    Update write(const Ip6 &key, const rte_ether_addr &mac, NeighborState state);

    std::unique_ptr<Slot[]> slots_;
    unsigned mask_;
    unsigned used_ = 0;
};

// A LAN sighting or a resolution request, produced by workers, consumed by the control thread
// through an rte_ring of fixed-size elements (draft-ietf-v6ops-464xlat-optimization §5.2.2: the
// DNS learner needs to know which LAN hosts are IPv4-only, i.e. never sent IPv6).
struct Sighting {
    enum Kind : uint8_t {
        ipv4_host,  // mac sent IPv4 from addr (a host of the LAN subnet)
        ipv6_host,  // mac sent IPv6 from addr
        resolve,    // a worker needs the MAC of addr (a neighbor key) on port
    };
    uint8_t kind;
    uint8_t port;  // PortRole
    rte_ether_addr mac;
    Ip6 addr;  // neighbor key: IPv4 as ::ffff:a.b.c.d
};
static_assert(sizeof(Sighting) == 24 && sizeof(Sighting) % 4 == 0, "rte_ring element size");

// Per-worker filter so that a stream of packets from one host yields one sighting, not one per
// packet, while the control thread catches up. Direct-mapped, forgetful by design.
class SightingFilter {
public:
    // True if (kind, addr, mac) was reported (or found already known) less than `interval` TSC
    // cycles ago; otherwise remembers it as of now and returns false.
    bool recently_reported(const Sighting &s, uint64_t now, uint64_t interval);

private:
    struct Entry {
        Ip6 addr{};
        rte_ether_addr mac{};
        uint8_t kind = 0xff;
        uint64_t when = 0;
    };
    static_assert(sizeof(Entry) == 32);
    // Two-way set associative (a set is half a cache line): a LAN's hosts with room against
    // collisions, in 8 KiB.
    static constexpr unsigned sets = 128;
    alignas(64) Entry entries_[sets][2];
};

// ARP / ND on the wire (control thread).
struct Learned {
    Ip6 key;  // neighbor key
    rte_ether_addr mac;
};
// The neighbor a frame announces: ARP sender (request or reply), NS source with its Source
// Link-Layer Address option, NA target with its Target Link-Layer Address option (RFC 4861 §4.3,
// §4.4, §7.2.5). Only ND messages with hop limit 255 (RFC 4861 §7.1.1/§7.1.2) and ICMPv6 directly
// after the IPv6 header. False if the frame tells nothing.
bool snoop_neighbor(const uint8_t *frame, uint32_t len, Learned &out);
// Broadcast ARP request (RFC 826) for target from sender.
rte_mbuf *build_arp_request(rte_mempool *pool, const rte_ether_addr &mac, Ip4 sender, Ip4 target);
// Neighbor Solicitation to target's solicited-node multicast group with a Source Link-Layer
// Address option (RFC 4861 §4.3, §7.2.2).
rte_mbuf *build_neighbor_solicitation(rte_mempool *pool, const rte_ether_addr &mac, const Ip6 &src, const Ip6 &target);
// fe80::/64 with the modified EUI-64 interface identifier of mac (RFC 4291 §2.5.1, RFC 2464 §4).
Ip6 link_local_eui64(const rte_ether_addr &mac);

template <typename F> void NeighborTable::for_each(F &&f) const {
    for (unsigned i = 0; i <= mask_; ++i) {
        const Slot &s = slots_[i];
        if (s.seq.load(std::memory_order_acquire) == 0) continue;
        Ip6 key;
        uint64_t hi = s.key_hi.load(std::memory_order_relaxed), lo = s.key_lo.load(std::memory_order_relaxed);
        for (int b = 0; b < 8; ++b) {
            key.b[b] = static_cast<uint8_t>(hi >> (56 - 8 * b));
            key.b[8 + b] = static_cast<uint8_t>(lo >> (56 - 8 * b));
        }
        rte_ether_addr mac;
        NeighborState st;
        unpack(s.mac_state.load(std::memory_order_relaxed), mac, st);
        f(key, mac, st);
    }
}

}  // namespace eamclat::dp
