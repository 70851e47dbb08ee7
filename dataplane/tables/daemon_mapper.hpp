// The daemon's xlat::Mapper: one per worker, over the shared EamtTables and FlowTable.
//
// clat mode (RFC 6877 §6.3 with draft-ietf-v6ops-464xlat-optimization-03 §5.2.5-§5.2.6):
//   4->6 source (LAN host)  -> CLAT prefix (RFC 6052)
//   4->6 destination        -> the flow's pinned IPv6 address if the flow exists, else for a new
//                              flow: global EAMT entry (static > operator, valid only), else this
//                              host's learned entry (valid only), else the PLAT prefix; the choice
//                              is pinned in the flow table
//   6->4 source (remote)    -> symmetric, through the flow's reverse key
//   6->4 destination        -> CLAT prefix extraction
// siit mode (RFC 7915 §6 + RFC 7757): every address through the global EAMT (valid entries),
// else pool6. No flow state.
//
// The worker describes each packet before translating it (begin_4to6 / begin_6to4; for ICMP errors
// begin_*_error with the tuple of the packet quoted inside, so that errors about a pinned flow, Packet
// Too Big included, follow the flow's path). Other addresses the translator asks about (routers
// sending errors, hairpinning) are mapped statelessly by the same rules, without creating flows.
#pragma once

#include <atomic>
#include <cstdint>

#include "eamt_tables.hpp"
#include "flow_table.hpp"
#include "xlat/config.hpp"
#include "xlat/mapper.hpp"

namespace eamclat::tables {

// Per-worker counters (written by the owning worker only, read by telemetry with relaxed loads).
#define EAMCLAT_MAPPER_COUNTERS(X)                                                                \
    X(flow_hits, "packets translated through an existing flow's pinned path")                    \
    X(flows_created, "new flows pinned (EAMT entry or pref64)")                                  \
    X(new_flow_eamt, "new flows that started on an EAMT entry")                                  \
    X(new_flow_pref64, "new flows that started on pref64 (PLAT prefix)")                         \
    X(unpinned_table_full, "new flows translated unpinned: flow table full")                     \
    X(unpinned_conflict, "new flows translated unpinned: remote IPv6 tuple owned by another flow") \
    X(stateless, "addresses mapped without flow state (ICMP error inner packets, fragments, siit)")

struct MapperCounters {
#define EAMCLAT_X(name, desc) std::atomic<uint64_t> name{0};
    EAMCLAT_MAPPER_COUNTERS(EAMCLAT_X)
#undef EAMCLAT_X
};

class DaemonMapper final : public xlat::Mapper {
public:
    // flows may be null (clat without pinning): every new packet then picks its path afresh.
    DaemonMapper(const xlat::Config &cfg, EamtTables &eamt, FlowTable *flows);

    // Once per burst: seconds on the clock the flow table's timeouts use.
    void set_now(uint32_t now) { now_ = now; }

    // Per packet, before translate_4to6 / translate_6to4. Ports in packet order (source,
    // destination); for ICMP queries pass the identifier as both. tcp_flags: the TCP header's
    // flag byte (0 for other protocols).
    void begin_4to6(Ip4 src, Ip4 dst, uint8_t proto, uint16_t sport, uint16_t dport, uint8_t tcp_flags);
    // Returns false (and maps statelessly) if dst is not inside the CLAT prefix.
    bool begin_6to4(const Ip6 &src, const Ip6 &dst, uint8_t proto, uint16_t sport, uint16_t dport,
                    uint8_t tcp_flags);
    // ICMP errors: the tuple of the quoted (inner) packet, in its own order. Flows are looked up,
    // never created or refreshed, by errors. A 4->6 error comes from the LAN host about a packet it
    // received (inner: remote -> host); a 6->4 error is about a packet the host sent (inner: host ->
    // remote), from the remote or from a router on the way.
    void begin_4to6_error(Ip4 inner_src, Ip4 inner_dst, uint8_t inner_proto, uint16_t inner_sport,
                          uint16_t inner_dport);
    bool begin_6to4_error(const Ip6 &inner_src, const Ip6 &inner_dst, uint8_t inner_proto, uint16_t inner_sport,
                          uint16_t inner_dport);
    // Packets without a usable tuple (non-first fragments): no flow lookup/creation.
    void begin_stateless() { ctx_.active = false; flow_ = nullptr; found_ = nullptr; }

    // A worker handling a burst in stages describes every packet first, looks the flows of the
    // whole burst up at once (FlowTable::find_bulk), then translates: packet() saves what begin_*
    // recorded, flow_key() gives the key the translation would look up (false: none), and
    // resume() restores the description with the flow found for that key (null: not found then,
    // so it is looked up again; the flow may have been created by an earlier packet since).
    struct PacketContext {
        bool active = false;
        bool from_v4 = false;
        bool lookup_only = false;  // ICMP error: find the flow, never create or refresh it
        Ip4 host = 0;
        Ip4 remote4 = 0;  // 4->6 only
        Ip6 remote6;      // 6->4 only
        uint8_t proto = 0;  // IPv4 terms (ICMPv6 -> ICMP)
        uint16_t host_port = 0;
        uint16_t remote_port = 0;
        uint8_t tcp_flags = 0;
    };
    const PacketContext &packet() const { return ctx_; }
    FlowTable *flow_table() const { return flows_; }
    bool flow_key(FlowKey &k) const;
    void resume(const PacketContext &ctx, Flow *found) {
        ctx_ = ctx;
        flow_ = nullptr;
        found_ = found;
    }

    // The flow the current packet was translated through (after translation), or null.
    const Flow *flow() const { return flow_; }
    const MapperCounters &counters() const { return counters_; }

    xlat::MapResult v4_to_v6(Ip4 addr, xlat::Role role, xlat::MapFlags flags, Ip6 &out) override;
    xlat::MapResult v6_to_v4(const Ip6 &addr, xlat::Role role, xlat::MapFlags flags, Ip4 &out) override;
    bool eamt_has_v4(Ip4 addr) override { return eamt_.lookup_global4(addr) != nullptr; }

private:
    xlat::MapResult remote4_to_6(Ip4 host, Ip4 addr, Ip6 &out, uint32_t &entry_id);
    xlat::MapResult remote6_to_4(Ip4 host, const Ip6 &addr, Ip4 &out, uint32_t &entry_id);
    Flow *lookup_4to6(const FlowTuple &t);
    Flow *lookup_6to4(const Ip6 &addr);
    xlat::MapResult pinned_4to6(Ip4 addr, Ip6 &out);
    xlat::MapResult pinned_6to4(const Ip6 &addr, Ip4 &out);
    static void bump(std::atomic<uint64_t> &c) { c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }

    const xlat::Config &cfg_;
    EamtTables &eamt_;
    FlowTable *flows_;
    uint32_t now_ = 0;
    PacketContext ctx_;
    Flow *flow_ = nullptr;
    Flow *found_ = nullptr;  // resume(): the current packet's flow, already looked up
    MapperCounters counters_;
};

}  // namespace eamclat::tables
