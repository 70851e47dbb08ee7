// Per-flow path pinning (draft-ietf-v6ops-464xlat-optimization-03 §5.2.6): "the EAMT entries MUST
// NOT be used directly to establish a forwarding path, but instead, MUST be used to create a
// stateful NAT entry for the 4-tuple for the duration of the session/connection".
//
// A flow is identified by its IPv4-side tuple (LAN host, remote IPv4, protocol, host port, remote
// port; ICMP queries use the identifier as host port and 0 as remote port). Its value is the path
// chosen when it started: the remote's IPv6 address (from an EAMT entry or pref64) and the entry's
// id. A flow that started on an EAMT entry keeps its IPv6 address after the entry goes stale or is
// removed; a flow that started on pref64 keeps pref64 after an entry appears.
//
// Both directions reach the same state from any worker: ONE shared rte_hash (lock-free readers)
// holds two keys per flow pointing to the same record:
//   forward key (host, remote IPv4, ports, proto)      looked up by IPv4->IPv6 packets;
//   reverse key (host, remote IPv6, ports, proto)      looked up by IPv6->IPv4 packets, whose
//                                                      remote IPv4 may only be known by the flow
//                                                      (entry removed since the flow started).
// Design choice for the writers: creation takes one spinlock (serializing workers that create
// flows, and the control thread's expiry). rte_hash's own MULTI_WRITER_ADD mode takes a writer lock
// too, but offers no insert-if-absent: two workers racing to create the same flow would overwrite
// each other's record. Under our lock, creation is lookup-then-insert, atomic. Lookups and the
// per-packet updates (last-seen, TCP state) never take it.
#pragma once

#include <rte_hash.h>
#include <rte_spinlock.h>

#include <atomic>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "rcu.hpp"
#include "xlat/mapper.hpp"
#include "xlat/types.hpp"

namespace eamclat::tables {

// Idle timeouts in seconds; the daemon copies DaemonConfig::timeouts (control/config.hpp) here.
struct FlowTimeouts {
    uint32_t tcp_established = 7440;
    uint32_t tcp_transitory = 240;
    uint32_t udp = 300;  // also every protocol other than TCP and ICMP
    uint32_t icmp = 60;
};

// The IPv4-side view of a flow.
struct FlowTuple {
    Ip4 host = 0;    // LAN host
    Ip4 remote = 0;  // remote IPv4 (real, or the one the CLAT presents for an IPv6-only remote)
    uint16_t host_port = 0;
    uint16_t remote_port = 0;
    uint8_t proto = 0;
};

// TCP state bits (RFC 6146 §3.5.2-like, enough to tell established from transitory).
namespace tcp_seen {
inline constexpr uint8_t syn4 = 0x01, syn6 = 0x02, fin4 = 0x04, fin6 = 0x08, rst = 0x10, data4 = 0x20, data6 = 0x40;
}
// TCP header flag bits as on the wire.
inline constexpr uint8_t tcp_fin = 0x01, tcp_syn = 0x02, tcp_rst = 0x04, tcp_ack = 0x10;

struct Flow {
    Ip6 remote6;         // pinned: the remote's IPv6 address used by this flow
    Ip4 host = 0;
    Ip4 remote4 = 0;
    uint16_t host_port = 0;
    uint16_t remote_port = 0;
    uint32_t eamt_id = 0;  // EAMT entry the flow started on; 0 for pref64
    std::atomic<uint32_t> last_seen{0};  // seconds; workers store with relaxed order
    uint8_t proto = 0;
    xlat::Path path = xlat::Path::none;  // eamt_static / eamt_operator / eamt_learned / pref64
    std::atomic<uint8_t> tcp{0};         // tcp_seen bits
    std::atomic<uint8_t> live{0};        // set under the creation lock, cleared on expiry
};
// Not cache-line aligned on purpose: last_seen is stored at most once per second per flow, so
// false sharing costs less than 24 more bytes per flow at 1M flows.
static_assert(sizeof(Flow) == 40);

// A hash key (rte_hash has one key length for both kinds): the remote is an IPv4 address in the
// first 4 bytes (forward key) or an IPv6 address (reverse key); `kind` keeps them apart. Public so
// that a worker can build a burst's keys and look them up at once (FlowTable::find_bulk).
struct FlowKey {
    Ip4 host;
    uint8_t remote[16];
    uint16_t host_port;
    uint16_t remote_port;
    uint8_t proto;
    uint8_t kind;  // 0 forward, 1 reverse
    uint16_t zero;
};
static_assert(sizeof(FlowKey) == 28);

struct FlowStats {
    uint64_t created = 0;
    uint64_t full = 0;       // new flows translated unpinned: table full
    uint64_t conflicts = 0;  // new flows translated unpinned: reverse key owned by another flow
    uint64_t expired = 0;
};

class FlowTable {
public:
    FlowTable(uint32_t capacity, const FlowTimeouts &timeouts, Rcu &rcu, int socket_id = SOCKET_ID_ANY);
    ~FlowTable();
    FlowTable(const FlowTable &) = delete;
    FlowTable &operator=(const FlowTable &) = delete;

    // ---- workers (the Flow stays valid until the caller's next quiescent state)
    Flow *find(const FlowTuple &t) const;
    Flow *find6(Ip4 host, const Ip6 &remote6, uint8_t proto, uint16_t host_port, uint16_t remote_port) const;
    // The keys find() and find6() look up.
    static FlowKey forward_key(const FlowTuple &t);
    static FlowKey reverse_key(Ip4 host, const Ip6 &remote6, uint8_t proto, uint16_t host_port, uint16_t remote_port);
    // A burst's lookups at once (n <= 64): rte_hash pipelines the bucket and key reads of all the
    // keys instead of waiting for each miss in turn, and the found records are prefetched.
    // found[i] = the flow of *keys[i], or nullptr.
    void find_bulk(const FlowKey **keys, unsigned n, Flow **found) const;
    // Creates the flow, or returns the one another worker created meanwhile for the same tuple.
    // nullptr when the table is full (or the reverse key is taken): the packet is translated
    // unpinned and stats().full / conflicts say so. Active flows are never evicted.
    enum class Refusal : uint8_t { none, full, conflict };
    Flow *create(const FlowTuple &t, const Ip6 &remote6, xlat::Path path, uint32_t eamt_id, uint32_t now,
                 Refusal *why = nullptr);
    // Per packet: last-seen (relaxed store, only when the second changed) and TCP state.
    // from_v4: the packet came from the LAN host's side. tcp_flags: the TCP header's flag byte.
    static void touch(Flow &f, uint32_t now, bool from_v4, uint8_t tcp_flags);

    // ---- control thread
    uint32_t timeout_of(const Flow &f) const;
    // Scans up to `budget` records from an internal cursor and deletes flows idle for their
    // timeout; returns how many. Their memory is reclaimed by reclaim() after a grace period.
    size_t expire(uint32_t now, uint32_t budget);
    size_t expire_all(uint32_t now) { return expire(now, capacity_); }
    // How many live flows pin each EAMT entry id (draft §5.2.7: Stale -> Invalid when none).
    void count_pins(std::unordered_map<uint32_t, uint32_t> &out) const;
    uint32_t pins(uint32_t eamt_id) const;
    size_t reclaim();
    size_t reclaim_all();

    uint32_t capacity() const { return capacity_; }
    uint32_t size() const { return live_.load(std::memory_order_relaxed); }
    FlowStats stats() const;
    // Every live flow (control thread; racy but safe snapshot of each record).
    template <typename F>
    void for_each(F &&f) const {
        for (uint32_t i = 0; i < capacity_; ++i)
            if (flows_[i].live.load(std::memory_order_acquire))
                f(flows_[i]);
    }

private:
    bool delete_flow_locked(uint32_t idx);
    void free_retired(const Retirer::Item &it);

    uint32_t capacity_;
    FlowTimeouts timeouts_;
    Rcu &rcu_;
    rte_hash *hash_ = nullptr;
    Flow *flows_ = nullptr;
    std::vector<uint32_t> free_;  // under lock_
    Retirer retirer_;             // under lock_
    uint32_t cursor_ = 0;         // expiry scan position (control thread)
    std::atomic<uint32_t> live_{0};
    std::atomic<uint64_t> created_{0}, full_{0}, conflicts_{0}, expired_{0};
    alignas(64) rte_spinlock_t lock_;
};

}  // namespace eamclat::tables
