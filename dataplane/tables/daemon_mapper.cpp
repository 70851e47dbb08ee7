#include "daemon_mapper.hpp"

namespace eamclat::tables {

using xlat::MapFlags;
using xlat::MapResult;
using xlat::Mode;
using xlat::Path;
using xlat::Role;

namespace {

constexpr uint8_t proto_icmp = 1, proto_icmp6 = 58;

}  // namespace

Rfc6052Prefix::Rfc6052Prefix(const std::optional<Prefix6> &prefix) {
    if (!prefix)
        return;
    present_ = true;
    usable_ = xlat::rfc6052_valid_length(prefix->len);
    wkp_ = xlat::is_well_known_prefix(*prefix);
    len96_ = prefix->len == 96;
    prefix_ = *prefix;
}

bool Rfc6052Prefix::extract_slow(const Ip6 &addr, Ip4 &out) const {
    Ip4 v;
    if (!xlat::rfc6052_extract(prefix_, addr, v))
        return false;
    if (wkp_ && !xlat::is_global4(v))
        return false;
    out = v;
    return true;
}

DaemonMapper::DaemonMapper(const xlat::Config &cfg, EamtTables &eamt, FlowTable *flows)
    : cfg_(cfg), eamt_(eamt), flows_(cfg.mode == Mode::clat ? flows : nullptr), clat_(cfg.clat_prefix),
      plat_(cfg.plat_prefix), pool6_(cfg.pool6) {}

void DaemonMapper::describe_4to6(PacketContext &c, Ip4 src, Ip4 dst, uint8_t proto, uint16_t sport, uint16_t dport,
                                 uint8_t tcp_flags) const {
    c.active = flows_ != nullptr;
    c.from_v4 = true;
    c.lookup_only = false;
    c.host = src;
    c.remote4 = dst;
    c.proto = proto;
    c.host_port = sport;
    c.remote_port = dport;
    c.tcp_flags = tcp_flags;
}

bool DaemonMapper::describe_6to4(PacketContext &c, const Ip6 &src, const Ip6 &dst, uint8_t proto, uint16_t sport,
                                 uint16_t dport, uint8_t tcp_flags) const {
    c.active = false;
    Ip4 host;
    if (!flows_ || !clat_.extract(dst, host))
        return false;
    c.active = true;
    c.from_v4 = false;
    c.lookup_only = false;
    c.host = host;
    c.remote6 = src;
    // Flows are keyed in IPv4 terms: an ICMPv6 echo reply belongs to the ICMP echo flow.
    c.proto = proto == proto_icmp6 ? proto_icmp : proto;
    c.host_port = dport;
    c.remote_port = sport;
    c.tcp_flags = tcp_flags;
    return true;
}

void DaemonMapper::begin_4to6(Ip4 src, Ip4 dst, uint8_t proto, uint16_t sport, uint16_t dport, uint8_t tcp_flags) {
    flow_ = nullptr;
    found_ = nullptr;
    hint_ = nullptr;
    describe_4to6(ctx_, src, dst, proto, sport, dport, tcp_flags);
}

bool DaemonMapper::begin_6to4(const Ip6 &src, const Ip6 &dst, uint8_t proto, uint16_t sport, uint16_t dport,
                              uint8_t tcp_flags) {
    flow_ = nullptr;
    found_ = nullptr;
    hint_ = nullptr;
    return describe_6to4(ctx_, src, dst, proto, sport, dport, tcp_flags);
}

void DaemonMapper::begin_4to6_error(Ip4 inner_src, Ip4 inner_dst, uint8_t inner_proto, uint16_t inner_sport,
                                    uint16_t inner_dport) {
    // The quoted packet went remote -> host: its source is the flow's remote.
    begin_4to6(inner_dst, inner_src, inner_proto, inner_dport, inner_sport, 0);
    ctx_.lookup_only = true;
}

bool DaemonMapper::begin_6to4_error(const Ip6 &inner_src, const Ip6 &inner_dst, uint8_t inner_proto,
                                    uint16_t inner_sport, uint16_t inner_dport) {
    // The quoted packet went host -> remote: its destination is the flow's remote.
    if (!begin_6to4(inner_dst, inner_src, inner_proto, inner_dport, inner_sport, 0))
        return false;
    ctx_.lookup_only = true;
    return true;
}

bool DaemonMapper::flow_key(const PacketContext &c, FlowKey &k) const {
    if (!c.active)
        return false;
    if (c.from_v4)
        k = FlowTable::forward_key({c.host, c.remote4, c.host_port, c.remote_port, c.proto});
    else
        k = FlowTable::reverse_key(c.host, c.remote6, c.proto, c.host_port, c.remote_port);
    return true;
}

// The flow found by the burst's bulk lookup is the one find() would return now, unless the control
// thread expired it in between (its memory stays valid until this worker's quiescent state; it is
// no longer live): then look again, as a packet arriving after the expiry would.
Flow *DaemonMapper::lookup_4to6(const FlowTuple &t) {
    if (found_ && found_->live.load(std::memory_order_acquire))
        return found_;
    return flows_->find(t);
}

Flow *DaemonMapper::lookup_6to4(const Ip6 &addr) {
    if (found_ && found_->live.load(std::memory_order_acquire))
        return found_;
    return flows_->find6(ctx_.host, addr, ctx_.proto, ctx_.host_port, ctx_.remote_port);
}

// EamtTables::select4 / select6 (a valid global entry, else the host's valid learned entry), with
// the lookups a staged burst made in advance.
const EamtRecord *DaemonMapper::select4(Ip4 host, Ip4 remote) const {
    const EamtRecord *r = global4(remote);
    if (r && r->usable_for_new_flows())
        return r;
    if (hint_ && hint_->has_learned4 && hint_->addr4 == remote && hint_->host4 == host)
        r = hint_->learned4;
    else
        r = eamt_.lookup_learned4(host, remote);
    return r && r->usable_for_new_flows() ? r : nullptr;
}

const EamtRecord *DaemonMapper::select6(Ip4 host, const Ip6 &remote) const {
    const EamtRecord *r = global6(remote);
    if (r && r->usable_for_new_flows())
        return r;
    r = eamt_.lookup_learned6(host, remote);
    return r && r->usable_for_new_flows() ? r : nullptr;
}

// A remote IPv4 address for a new flow (or statelessly): draft §5.2.6 "if there is a valid EAMT
// entry ... the IPv6-native path ... will take precedence versus the NAT64 path"; RFC 7757 §3.3.1
// for the entry, RFC 6052 with the PLAT prefix (RFC 6877 §6.3) otherwise.
MapResult DaemonMapper::remote4_to_6(Ip4 host, Ip4 addr, Ip6 &out, uint32_t &entry_id) {
    entry_id = 0;
    const EamtRecord *r = select4(host, addr);
    if (r && !r->do_not_optimise) {
        out = eam_translate4(*r, addr);
        entry_id = r->id;
        return {xlat::path_of(r->source)};
    }
    return {plat_.embed(addr, out) ? Path::pref64 : Path::none};
}

MapResult DaemonMapper::remote6_to_4(Ip4 host, const Ip6 &addr, Ip4 &out, uint32_t &entry_id) {
    entry_id = 0;
    if (const EamtRecord *r = select6(host, addr)) {
        // The IPv4 address it maps to may be under a do-not-optimise entry (draft §5.2.15): that
        // forces IPv4->IPv6 traffic to pref64, so IPv6->IPv4 traffic from this address is not
        // mapped by the EAMT either (it would be answered through another path).
        Ip4 v4 = eam_translate6(*r, addr);
        if (eamt_.may_have_do_not_optimise()) {
            const EamtRecord *g = global4(v4);
            if (g && g->do_not_optimise && g->usable_for_new_flows())
                return {plat_.extract(addr, out) ? Path::pref64 : Path::none};
        }
        out = v4;
        entry_id = r->id;
        return {xlat::path_of(r->source)};
    }
    return {plat_.extract(addr, out) ? Path::pref64 : Path::none};
}

// Draft §5.2.6: the EAMT (or pref64) decides once, when the flow starts; the flow keeps it.
MapResult DaemonMapper::pinned_4to6(Ip4 addr, Ip6 &out) {
    FlowTuple t{ctx_.host, addr, ctx_.host_port, ctx_.remote_port, ctx_.proto};
    if (Flow *f = lookup_4to6(t)) {
        if (!ctx_.lookup_only)
            FlowTable::touch(*f, now_, true, ctx_.tcp_flags);
        flow_ = f;
        out = f->remote6;
        bump(counters_.flow_hits);
        return {f->path};
    }
    uint32_t id;
    MapResult r = remote4_to_6(ctx_.host, addr, out, id);
    if (!r.ok() || ctx_.lookup_only) {
        bump(counters_.stateless);
        return r;
    }
    FlowTable::Refusal why;
    Flow *f = flows_->create(t, out, r.path, id, now_, &why);
    if (!f) {
        bump(why == FlowTable::Refusal::full ? counters_.unpinned_table_full : counters_.unpinned_conflict);
        return r;
    }
    FlowTable::touch(*f, now_, true, ctx_.tcp_flags);
    flow_ = f;
    // A racing worker may have created the flow first with its own choice: follow it.
    out = f->remote6;
    bump(counters_.flows_created);
    bump(f->path == Path::pref64 ? counters_.new_flow_pref64 : counters_.new_flow_eamt);
    return {f->path};
}

MapResult DaemonMapper::pinned_6to4(const Ip6 &addr, Ip4 &out) {
    if (Flow *f = lookup_6to4(addr)) {
        if (!ctx_.lookup_only)
            FlowTable::touch(*f, now_, false, ctx_.tcp_flags);
        flow_ = f;
        out = f->remote4;
        bump(counters_.flow_hits);
        return {f->path};
    }
    uint32_t id;
    MapResult r = remote6_to_4(ctx_.host, addr, out, id);
    if (!r.ok() || ctx_.lookup_only) {
        bump(counters_.stateless);
        return r;
    }
    FlowTuple t{ctx_.host, out, ctx_.host_port, ctx_.remote_port, ctx_.proto};
    FlowTable::Refusal why;
    Flow *f = flows_->create(t, addr, r.path, id, now_, &why);
    if (!f) {
        bump(why == FlowTable::Refusal::full ? counters_.unpinned_table_full : counters_.unpinned_conflict);
        return r;
    }
    FlowTable::touch(*f, now_, false, ctx_.tcp_flags);
    flow_ = f;
    out = f->remote4;
    bump(counters_.flows_created);
    bump(f->path == Path::pref64 ? counters_.new_flow_pref64 : counters_.new_flow_eamt);
    return {f->path};
}

MapResult DaemonMapper::v4_to_v6(Ip4 addr, Role role, MapFlags flags, Ip6 &out) {
    if (cfg_.mode == Mode::clat) {
        if (role == Role::source)  // RFC 6877 §6.3: the LAN host in the CLAT prefix
            return {clat_.embed(addr, out) ? Path::clat_prefix : Path::none};
        if (flags.no_eamt)
            return {plat_.embed(addr, out) ? Path::pref64 : Path::none};
        if (ctx_.active && ctx_.from_v4 && addr == ctx_.remote4)
            return pinned_4to6(addr, out);
        bump(counters_.stateless);
        uint32_t id;
        return remote4_to_6(ctx_.active ? ctx_.host : 0, addr, out, id);
    }
    // siit, RFC 7915 §6 / RFC 7757 §3.3.1: EAMT, else pool6.
    bump(counters_.stateless);
    if (!flags.no_eamt) {
        const EamtRecord *r = global4(addr);
        if (r && r->usable_for_new_flows() && !r->do_not_optimise) {
            out = eam_translate4(*r, addr);
            return {xlat::path_of(r->source)};
        }
    }
    return {pool6_.embed(addr, out) ? Path::pref64 : Path::none};
}

MapResult DaemonMapper::v6_to_v4(const Ip6 &addr, Role role, MapFlags flags, Ip4 &out) {
    if (cfg_.mode == Mode::clat) {
        if (role == Role::destination)
            return {clat_.extract(addr, out) ? Path::clat_prefix : Path::none};
        if (flags.no_eamt)
            return {plat_.extract(addr, out) ? Path::pref64 : Path::none};
        if (ctx_.active && !ctx_.from_v4 && addr == ctx_.remote6)
            return pinned_6to4(addr, out);
        bump(counters_.stateless);
        uint32_t id;
        return remote6_to_4(ctx_.active ? ctx_.host : 0, addr, out, id);
    }
    // siit, RFC 7915 §6 / RFC 7757 §3.3.2: EAMT, else pool6.
    bump(counters_.stateless);
    if (!flags.no_eamt) {
        const EamtRecord *r = global6(addr);
        if (r && r->usable_for_new_flows()) {
            out = eam_translate6(*r, addr);
            return {xlat::path_of(r->source)};
        }
    }
    return {pool6_.extract(addr, out) ? Path::pref64 : Path::none};
}

}  // namespace eamclat::tables
