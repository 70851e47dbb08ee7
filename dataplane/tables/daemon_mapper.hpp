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
#include <cstring>
#include <optional>
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

// An RFC 6052 prefix prepared once for the fast path: the checks that do not depend on the
// address (§2.2 valid length, Well-Known Prefix) made at construction, /96 (the usual CLAT and
// PLAT length) without a loop. Same answers as xlat::rfc6052_embed / rfc6052_extract with the
// §3.1 rule ("MUST NOT translate packets in which an address is composed of the Well-Known Prefix
// and a non-global IPv4 address"), as StaticMapper applies them.
class Rfc6052Prefix {
public:
    Rfc6052Prefix() = default;
    explicit Rfc6052Prefix(const std::optional<Prefix6> &prefix);
    bool embed(Ip4 addr, Ip6 &out) const {
        if (!usable_ || (wkp_ && !xlat::is_global4(addr)))
            return false;
        if (len96_) {
            out = prefix_.addr;
            const uint32_t be = __builtin_bswap32(addr);
            memcpy(out.b.data() + 12, &be, 4);
            return true;
        }
        out = xlat::rfc6052_embed(prefix_, addr);
        return true;
    }
    bool extract(const Ip6 &addr, Ip4 &out) const {
        if (!usable_)
            return false;
        if (len96_) {
            // The first 96 bits equal the prefix's, and the u octet (bits 64..71) zero (§2.2).
            uint64_t a, p;
            uint32_t a2, p2;
            memcpy(&a, addr.b.data(), 8);
            memcpy(&p, prefix_.addr.b.data(), 8);
            memcpy(&a2, addr.b.data() + 8, 4);
            memcpy(&p2, prefix_.addr.b.data() + 8, 4);
            if (a != p || a2 != p2 || addr.b[8] != 0)
                return false;
            uint32_t be;
            memcpy(&be, addr.b.data() + 12, 4);
            const Ip4 v = __builtin_bswap32(be);
            if (wkp_ && !xlat::is_global4(v))
                return false;
            out = v;
            return true;
        }
        return extract_slow(addr, out);
    }

private:
    bool extract_slow(const Ip6 &addr, Ip4 &out) const;
    bool present_ = false, usable_ = false, wkp_ = false, len96_ = false;
    Prefix6 prefix_{};
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
    void begin_stateless() { ctx_.active = false; flow_ = nullptr; found_ = nullptr; hint_ = nullptr; }

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
    // begin_4to6 / begin_6to4 / begin_stateless into a context of the caller's (a staged burst
    // describes each packet straight into its own slot, which resume() later copies in whole).
    void describe_4to6(PacketContext &c, Ip4 src, Ip4 dst, uint8_t proto, uint16_t sport, uint16_t dport,
                       uint8_t tcp_flags) const;
    bool describe_6to4(PacketContext &c, const Ip6 &src, const Ip6 &dst, uint8_t proto, uint16_t sport,
                       uint16_t dport, uint8_t tcp_flags) const;
    static void describe_stateless(PacketContext &c) { c.active = false; }
    bool flow_key(const PacketContext &c, FlowKey &k) const;
    FlowTable *flow_table() const { return flows_; }
    EamtTables &eamt() const { return eamt_; }
    bool flow_key(FlowKey &k) const { return flow_key(ctx_, k); }
    // EAMT lookups a staged burst made in advance for one packet (EamtTables::*_bulk): the
    // global entry of the remote address (4->6 destination, 6->4 source) and, 4->6, the learned
    // entry of (source host, destination). The mapper uses a hint only for the very address (and
    // host) it was made for; every other question goes to the tables.
    struct EamtHint {
        bool has4 = false, has6 = false, has_learned4 = false;
        Ip4 addr4 = 0;
        Ip4 host4 = 0;
        Ip6 addr6;
        const EamtRecord *global4 = nullptr;
        const EamtRecord *global6 = nullptr;
        const EamtRecord *learned4 = nullptr;
    };
    void resume(const PacketContext &ctx, Flow *found, const EamtHint *hint = nullptr) {
        ctx_ = ctx;
        flow_ = nullptr;
        found_ = found;
        hint_ = hint;
    }
    // Without a flow description (no flow table): only the EAMT hint.
    void set_hint(const EamtHint *hint) { hint_ = hint; }

    // The flow the current packet was translated through (after translation), or null.
    const Flow *flow() const { return flow_; }
    const MapperCounters &counters() const { return counters_; }

    xlat::MapResult v4_to_v6(Ip4 addr, xlat::Role role, xlat::MapFlags flags, Ip6 &out) override;
    xlat::MapResult v6_to_v4(const Ip6 &addr, xlat::Role role, xlat::MapFlags flags, Ip4 &out) override;
    bool eamt_has_v4(Ip4 addr) override { return global4(addr) != nullptr; }

private:
    // EamtTables::lookup_global4 / lookup_global6 / select4 / select6, through the hint.
    const EamtRecord *global4(Ip4 addr) const {
        if (hint_ && hint_->has4 && hint_->addr4 == addr)
            return hint_->global4;
        return eamt_.lookup_global4(addr);
    }
    const EamtRecord *global6(const Ip6 &addr) const {
        if (hint_ && hint_->has6 && hint_->addr6 == addr)
            return hint_->global6;
        return eamt_.lookup_global6(addr);
    }
    const EamtRecord *select4(Ip4 host, Ip4 remote) const;
    const EamtRecord *select6(Ip4 host, const Ip6 &remote) const;
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
    Rfc6052Prefix clat_, plat_, pool6_;  // cfg_'s, prepared
    uint32_t now_ = 0;
    PacketContext ctx_;
    Flow *flow_ = nullptr;
    Flow *found_ = nullptr;  // resume(): the current packet's flow, already looked up
    const EamtHint *hint_ = nullptr;  // resume()/set_hint(): the current packet's EAMT lookups
    MapperCounters counters_;
};

}  // namespace eamclat::tables
