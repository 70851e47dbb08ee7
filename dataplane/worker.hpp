// The fast path: one Worker per EAL worker lcore, each owning RX queue i and TX queue i of both
// ports (DPDK examples/l3fwd style). All its state is in the Worker object, which no other lcore
// writes; the control thread only reads the counters (relaxed atomic loads) and sets `stop`.
#pragma once

#include <rte_common.h>
#include <rte_ether.h>

#include <atomic>
#include <cstdint>

#include "classify.hpp"
#include "neighbors.hpp"
#include "tables/daemon_mapper.hpp"
#include "xlat/translator.hpp"

struct rte_mbuf;
struct rte_ring;
struct rte_rcu_qsbr;

namespace eamclat::dp {

constexpr unsigned path_count = static_cast<unsigned>(xlat::Path::rfc6791) + 1;

// What happened to each packet a worker sent out (translated, forwarded, or the kernel's via the
// kernel_tx ring). Every packet handed to output ends in exactly one of these.
#define EAMCLAT_EGRESS_FATES(X)                                                                   \
    X(sent, "handed to the port's TX queue")                                                      \
    X(kernel_sent, "exception path: a kernel packet handed to the port's TX queue by worker 0")   \
    X(dropped_tx_full, "TX queue full")                                                           \
    X(dropped_no_neighbor, "no MAC for the next hop (resolution requested; queue full or timed out)") \
    X(dropped_no_headroom, "no headroom left for the Ethernet header")                           \
    X(dropped_off_link, "IPv4 destination on none of the LAN's subnets and no ipv4-gateway")

enum class Egress : uint8_t {
#define EAMCLAT_X(name, desc) name,
    EAMCLAT_EGRESS_FATES(EAMCLAT_X)
#undef EAMCLAT_X
        count
};
constexpr unsigned egress_count = static_cast<unsigned>(Egress::count);
inline constexpr FateInfo egress_info[egress_count] = {
#define EAMCLAT_X(name, desc) {#name, desc},
    EAMCLAT_EGRESS_FATES(EAMCLAT_X)
#undef EAMCLAT_X
};

// Written only by the owning worker (relaxed atomic stores compile to plain stores on x86), read by
// the control thread with relaxed loads: no torn values, no shared cache line written twice.
struct alignas(RTE_CACHE_LINE_SIZE) WorkerCounters {
    uint64_t loops = 0;
    uint64_t rx[port_role_count]{};
    uint64_t fate[fate_count]{};                 // daemon fates of received frames
    uint64_t xlat_fate[xlat::fate_count]{};      // translator fates of received frames
    uint64_t translated_4to6_by_path[path_count]{};
    uint64_t translated_6to4_by_path[path_count]{};
    uint64_t egress[port_role_count][egress_count]{};
    uint64_t neighbor_queued = 0;      // packets held while their next hop was resolved
    uint64_t sightings_sent = 0;
    uint64_t sightings_ring_full = 0;  // sightings lost (the packets themselves were not)
    uint64_t dns_snooped = 0;          // DNS answers copied to the learner (dns.snooping)
    uint64_t dns_snoop_dropped = 0;    // not copied: no mbuf or ring full (the answer itself went out)
};

inline void bump(uint64_t &counter, uint64_t n = 1) {
    __atomic_store_n(&counter, __atomic_load_n(&counter, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}
inline uint64_t read_counter(const uint64_t &counter) { return __atomic_load_n(&counter, __ATOMIC_RELAXED); }

// One port as a worker sees it.
struct WorkerPort {
    uint16_t port_id = UINT16_MAX;
    uint16_t queue = 0;  // this worker's RX and TX queue
    rte_ether_addr mac{};
    NeighborTable *neighbors = nullptr;
    rte_ring *punt_ring = nullptr;       // exception path, multi-producer
    rte_ring *kernel_tx_ring = nullptr;  // set on worker 0 only, when the port has no exception TX queue
};

struct WorkerSetup {
    unsigned index = 0;
    const ClassifyConfig *classify = nullptr;
    WorkerPort ports[port_role_count];
    bool has_gateway = false;
    Ip6 gateway{};  // WAN next hop for everything (neighbor key)
    bool has_gateway4 = false;
    Ip4 gateway4 = 0;  // siit: LAN next hop for IPv4 destinations off the LAN's subnets
    // Per worker: its own Mapper and the mempool of its socket for fragments.
    xlat::Context xlat{};
    // When xlat.mapper is the daemon's flow-pinning mapper (draft §5.2.6), the same object: the
    // worker describes each packet's flow to it before translating. Null for any other Mapper.
    tables::DaemonMapper *flow_mapper = nullptr;
    uint64_t tsc_hz = 1;  // the flow clock is rte_rdtsc() / tsc_hz seconds, as the control thread's
    rte_ring *sightings = nullptr;  // to the control thread, multi-producer
    rte_ring *dns_snoop = nullptr;  // dns.snooping: copies of translated DNS answers (mbufs), MP
    rte_rcu_qsbr *qsbr = nullptr;   // when set, the worker reports a quiescent state once per loop
    unsigned qsbr_thread_id = 0;
    const std::atomic<bool> *stop = nullptr;
    uint64_t drain_tsc = 0;               // flush partial TX bursts after this many cycles
    uint64_t sighting_interval_tsc = 0;   // repeat a sighting / resolution request at most this often
    uint64_t neighbor_hold_tsc = 0;       // how long a packet waits for its next hop's MAC
    uint64_t icmp6_error_interval_tsc = 0;  // RFC 4443 §2.4 (f): token bucket refill period
    // The box's IPv6 source for ICMPv6 errors it originates on each link (RFC 4443 §2.2: an
    // address of the interface the invoking packet arrived on); has_error_source false = none.
    bool has_error_source[port_role_count]{};
    Ip6 error_source[port_role_count]{};
};

class Worker {
public:
    static constexpr unsigned burst = 32;
    static constexpr unsigned prefetch_ahead = 3;
    static constexpr unsigned pending_max = 16;
    // EAMT entries from which handle_burst looks a burst's entries up in bulk (below: one by one,
    // as the translator asks).
    static constexpr uint32_t bulk_eamt_threshold = 2048;  // packets held awaiting a neighbor, per worker

    explicit Worker(const WorkerSetup &setup);
    Worker(const Worker &) = delete;
    Worker &operator=(const Worker &) = delete;

    // The loop; returns when *stop becomes true, after flushing and freeing what it holds.
    int run();
    // rte_eal_remote_launch entry point: arg is a Worker*.
    static int launch(void *arg);
    // Handles n frames received on `in` (the loop calls it per RX burst; entries of pkts may be
    // overwritten). In stages as DPDK's l3fwd: classify every frame and describe the flows of
    // those to translate, look all their flows up at once, then the EAMT entries of those no flow
    // answers, at once too (their cache misses overlap instead of serializing), then translate /
    // forward / punt in arrival order. Each frame ends in one counter.
    void handle_burst(PortRole in, rte_mbuf **pkts, unsigned n, uint64_t now);
    // One received frame: a burst of one (unit tests).
    void handle(PortRole in, rte_mbuf *m, uint64_t now) { handle_burst(in, &m, 1, now); }
    // Flushes partial TX bursts and retries held packets.
    void drain(uint64_t now);

    const WorkerCounters &counters() const { return counters_; }
    const WorkerSetup &setup() const { return setup_; }

private:
    struct TxBuffer {
        uint16_t n = 0;
        rte_mbuf *pkts[burst];
        Egress fate[burst];  // counted once the TX queue has taken the packet
    };
    struct Pending {
        rte_mbuf *m;
        Ip6 key;
        uint64_t deadline;
        PortRole port;
    };

    // handle_burst's EAMT stage: bulk lookups for the frames no flow answers, one hint each.
    void prefetch_eamt(rte_mbuf *const *pkts, unsigned n);
    // Strips the Ethernet header (keeping the sender's MAC) and describes the flow to the mapper.
    void prepare_translate(rte_mbuf *m, bool four_to_six, rte_ether_addr &sender,
                           tables::DaemonMapper::PacketContext *ctx);
    void translate(PortRole in, rte_mbuf *m, bool four_to_six, const rte_ether_addr &sender);
    void snoop_dns(const rte_mbuf *p);
    void describe_flow_4to6(const rte_mbuf *m, tables::DaemonMapper::PacketContext &c);
    void describe_flow_6to4(const rte_mbuf *m, tables::DaemonMapper::PacketContext &c);
    void forward6(PortRole in, rte_mbuf *m, Fate fate);
    // RFC 4443 §3.3: ICMPv6 Time Exceeded (code 0) back to the sender of m, when §2.4 allows it.
    void time_exceeded6(PortRole in, rte_mbuf *m);
    bool icmp6_error_allowed(const rte_mbuf *m);  // §2.4 (e) and (f)
    void punt(PortRole in, rte_mbuf *m, Fate fate);
    void report_sender(Sight sight, const uint8_t *frame, uint64_t now);
    // Adds the Ethernet header (prepend = true) or rewrites it, resolves the destination MAC
    // (dst_mac given, or the neighbor next_hop) and queues for TX.
    void output(PortRole out, rte_mbuf *m, bool prepend, uint16_t ethertype, const rte_ether_addr *dst_mac,
                const Ip6 &next_hop);
    void request_resolution(PortRole out, const Ip6 &key);
    void send_sighting(const Sighting &s);
    // The neighbor table's answer for next_hop, remembered for the rest of the burst (most
    // packets of a burst share a next hop: the WAN gateway, or one LAN host).
    bool neighbor_mac(unsigned port, const Ip6 &next_hop, rte_ether_addr &mac);
    void queue_tx(PortRole out, rte_mbuf *m, Egress fate);
    void flush(PortRole out);
    void drain_kernel_tx();

    WorkerSetup setup_;
    WorkerCounters counters_;
    TxBuffer tx_[port_role_count];
    Pending pending_[pending_max];
    unsigned n_pending_ = 0;
    uint64_t now_ = 0;
    SightingFilter sighting_filter_;
    struct NeighborMemo {
        bool valid = false;
        Ip6 key;
        rte_ether_addr mac;
    };
    NeighborMemo neighbor_memo_[port_role_count];  // reset at each burst
    // handle_burst's per-frame state between its stages (a member: not re-initialized per burst).
    struct BurstStage {
        Decision decision[burst];
        rte_ether_addr sender[burst];
        tables::DaemonMapper::PacketContext flow_ctx[burst];
        tables::FlowKey keys[burst];
        const tables::FlowKey *key_ptr[burst];
        uint8_t key_of[burst];
        tables::Flow *found[burst];
        bool hinted[burst];  // hint[i] was made for this burst (prefetch_eamt)
        tables::DaemonMapper::EamtHint hint[burst];
    };
    BurstStage stage_;
    static constexpr unsigned icmp6_error_burst = 10;
    unsigned icmp6_error_tokens_ = icmp6_error_burst;
    uint64_t icmp6_error_refill_ = 0;
};

}  // namespace eamclat::dp
