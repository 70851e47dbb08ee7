#include "flow_table.hpp"

#include "hash.hpp"
#include <rte_malloc.h>
#include <rte_prefetch.h>

#include <cstdio>
#include <cstring>
#include <new>
#include <stdexcept>

namespace eamclat::tables {

namespace {

enum RetireKind : uint32_t { retire_flow, retire_slot };

std::atomic<unsigned> g_instances{0};

inline void *idx_ptr(uint32_t idx) { return reinterpret_cast<void *>(static_cast<uintptr_t>(idx)); }
inline uint32_t ptr_idx(void *p) { return static_cast<uint32_t>(reinterpret_cast<uintptr_t>(p)); }

constexpr uint8_t proto_icmp = 1, proto_tcp = 6, proto_udp = 17, proto_icmp6 = 58;

}  // namespace

FlowKey FlowTable::forward_key(const FlowTuple &t) {
    FlowKey k;
    memset(&k, 0, sizeof k);
    k.host = t.host;
    memcpy(k.remote, &t.remote, sizeof t.remote);
    k.host_port = t.host_port;
    k.remote_port = t.remote_port;
    k.proto = t.proto;
    return k;
}

FlowKey FlowTable::reverse_key(Ip4 host, const Ip6 &remote6, uint8_t proto, uint16_t host_port, uint16_t remote_port) {
    FlowKey k;
    memset(&k, 0, sizeof k);
    k.host = host;
    memcpy(k.remote, remote6.b.data(), 16);
    k.host_port = host_port;
    k.remote_port = remote_port;
    k.proto = proto;
    k.kind = 1;
    return k;
}

FlowTable::FlowTable(uint32_t capacity, const FlowTimeouts &timeouts, Rcu &rcu, int socket_id)
    : capacity_(capacity == 0 ? 1 : capacity), timeouts_(timeouts), rcu_(rcu) {
    rte_spinlock_init(&lock_);
    flows_ = static_cast<Flow *>(rte_zmalloc_socket("flows", sizeof(Flow) * capacity_, RTE_CACHE_LINE_SIZE, socket_id));
    if (!flows_)
        throw std::bad_alloc();
    for (uint32_t i = 0; i < capacity_; ++i)
        new (&flows_[i]) Flow();
    free_.reserve(capacity_);
    for (uint32_t i = capacity_; i-- > 0;)
        free_.push_back(i);

    char name[RTE_HASH_NAMESIZE];
    snprintf(name, sizeof name, "flows_%u", g_instances.fetch_add(1));
    rte_hash_parameters p{};
    p.name = name;
    // Two keys per flow. A record and its two key slots are freed after the same grace period, so
    // live + retired flows <= capacity implies keys <= 2 * capacity: the hash never fills first.
    p.entries = std::max<uint32_t>(2 * capacity_, 8);
    p.key_len = sizeof(FlowKey);
    p.hash_func = hash_crc;
    p.socket_id = socket_id;
    // Writers are serialized by lock_, so the hash itself runs in single-writer mode (no per-lcore
    // slot caches: any thread may create flows).
    p.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
    hash_ = rte_hash_create(&p);
    if (!hash_) {
        rte_free(flows_);
        throw std::runtime_error("rte_hash_create failed for the flow table");
    }
    rte_hash_set_cmp_func(hash_, key_cmp<sizeof(FlowKey)>);
}

FlowTable::~FlowTable() {
    reclaim_all();
    rte_hash_free(hash_);
    rte_free(flows_);
}

Flow *FlowTable::find(const FlowTuple &t) const {
    FlowKey k = forward_key(t);
    void *data;
    if (rte_hash_lookup_data(hash_, &k, &data) < 0)
        return nullptr;
    return &flows_[ptr_idx(data)];
}

Flow *FlowTable::find6(Ip4 host, const Ip6 &remote6, uint8_t proto, uint16_t host_port, uint16_t remote_port) const {
    FlowKey k = reverse_key(host, remote6, proto, host_port, remote_port);
    void *data;
    if (rte_hash_lookup_data(hash_, &k, &data) < 0)
        return nullptr;
    return &flows_[ptr_idx(data)];
}

void FlowTable::find_bulk(const FlowKey **keys, unsigned n, Flow **found) const {
    void *data[RTE_HASH_LOOKUP_BULK_MAX];
    uint64_t hits = 0;
    n = RTE_MIN(n, static_cast<unsigned>(RTE_HASH_LOOKUP_BULK_MAX));
    if (n == 0)
        return;
    rte_hash_lookup_bulk_data(hash_, reinterpret_cast<const void **>(keys), n, &hits, data);
    for (unsigned i = 0; i < n; ++i) {
        if (!(hits >> i & 1)) {
            found[i] = nullptr;
            continue;
        }
        Flow *f = &flows_[ptr_idx(data[i])];
        // A record is 40 bytes, not line-aligned: it may straddle two lines.
        rte_prefetch0(f);
        rte_prefetch0(reinterpret_cast<const char *>(f) + sizeof(Flow) - 1);
        found[i] = f;
    }
}

Flow *FlowTable::create(const FlowTuple &t, const Ip6 &remote6, xlat::Path path, uint32_t eamt_id, uint32_t now,
                        Refusal *why) {
    if (why)
        *why = Refusal::none;
    FlowKey fk = forward_key(t);
    FlowKey rk = reverse_key(t.host, remote6, t.proto, t.host_port, t.remote_port);
    void *data;
    rte_spinlock_lock(&lock_);
    if (rte_hash_lookup_data(hash_, &fk, &data) >= 0) {
        // Another worker created it first (e.g. both directions' first packets at once).
        rte_spinlock_unlock(&lock_);
        return &flows_[ptr_idx(data)];
    }
    if (rte_hash_lookup_data(hash_, &rk, &data) >= 0) {
        // Another flow already answers IPv6->IPv4 packets from this remote IPv6 tuple (two remote
        // IPv4 addresses reached through the same IPv6 address): pinning this one would make its
        // return traffic ambiguous.
        rte_spinlock_unlock(&lock_);
        conflicts_.fetch_add(1, std::memory_order_relaxed);
        if (why)
            *why = Refusal::conflict;
        return nullptr;
    }
    if (free_.empty()) {
        rte_spinlock_unlock(&lock_);
        full_.fetch_add(1, std::memory_order_relaxed);
        if (why)
            *why = Refusal::full;
        return nullptr;
    }
    uint32_t idx = free_.back();
    free_.pop_back();
    Flow &f = flows_[idx];
    f.remote6 = remote6;
    f.host = t.host;
    f.remote4 = t.remote;
    f.host_port = t.host_port;
    f.remote_port = t.remote_port;
    f.eamt_id = eamt_id;
    f.last_seen.store(now, std::memory_order_relaxed);
    f.proto = t.proto;
    f.path = path;
    f.tcp.store(0, std::memory_order_relaxed);
    f.live.store(1, std::memory_order_relaxed);
    // The record is complete before either key makes it reachable (rte_hash publishes with
    // release stores in lock-free mode; the fence documents the requirement).
    std::atomic_thread_fence(std::memory_order_release);
    if (rte_hash_add_key_data(hash_, &rk, idx_ptr(idx)) != 0) {
        f.live.store(0, std::memory_order_relaxed);
        free_.push_back(idx);  // never published
        rte_spinlock_unlock(&lock_);
        full_.fetch_add(1, std::memory_order_relaxed);
        if (why)
            *why = Refusal::full;
        return nullptr;
    }
    if (rte_hash_add_key_data(hash_, &fk, idx_ptr(idx)) != 0) {
        f.live.store(0, std::memory_order_relaxed);
        int32_t pos = rte_hash_del_key(hash_, &rk);
        if (pos >= 0)
            retirer_.retire(rcu_, retire_slot, static_cast<uint64_t>(pos));
        retirer_.retire(rcu_, retire_flow, idx);
        rte_spinlock_unlock(&lock_);
        full_.fetch_add(1, std::memory_order_relaxed);
        if (why)
            *why = Refusal::full;
        return nullptr;
    }
    live_.fetch_add(1, std::memory_order_relaxed);
    rte_spinlock_unlock(&lock_);
    created_.fetch_add(1, std::memory_order_relaxed);
    return &f;
}

void FlowTable::touch(Flow &f, uint32_t now, bool from_v4, uint8_t tcp_flags) {
    // Skip the store when nothing changed: the line stays shared between the workers that
    // handle the two directions.
    if (f.last_seen.load(std::memory_order_relaxed) != now)
        f.last_seen.store(now, std::memory_order_relaxed);
    if (f.proto != proto_tcp)
        return;
    uint8_t bits = from_v4 ? tcp_seen::data4 : tcp_seen::data6;
    if (tcp_flags & tcp_syn)
        bits |= from_v4 ? tcp_seen::syn4 : tcp_seen::syn6;
    if (tcp_flags & tcp_fin)
        bits |= from_v4 ? tcp_seen::fin4 : tcp_seen::fin6;
    if (tcp_flags & tcp_rst)
        bits |= tcp_seen::rst;
    uint8_t cur = f.tcp.load(std::memory_order_relaxed);
    bool closed = (cur & tcp_seen::rst) || ((cur & tcp_seen::fin4) && (cur & tcp_seen::fin6));
    if (closed && (tcp_flags & (tcp_syn | tcp_ack | tcp_rst)) == tcp_syn) {
        // A new connection reusing the tuple of a closed one (RFC 6146 §3.5.2.2 TRANS state).
        f.tcp.store(bits, std::memory_order_relaxed);
        return;
    }
    if ((cur | bits) != cur)
        f.tcp.fetch_or(bits, std::memory_order_relaxed);
}

// RFC 6146 §3.5.2-like: a connection is established once both sides sent packets, transitory
// while half-open, after a RST, or once both sides sent a FIN.
uint32_t FlowTable::timeout_of(const Flow &f) const {
    switch (f.proto) {
    case proto_tcp: {
        uint8_t t = f.tcp.load(std::memory_order_relaxed);
        if ((t & tcp_seen::rst) || ((t & tcp_seen::fin4) && (t & tcp_seen::fin6)))
            return timeouts_.tcp_transitory;
        if ((t & tcp_seen::data4) && (t & tcp_seen::data6))
            return timeouts_.tcp_established;
        return timeouts_.tcp_transitory;
    }
    case proto_icmp:
    case proto_icmp6:
        return timeouts_.icmp;
    case proto_udp:
    default:
        return timeouts_.udp;
    }
}

bool FlowTable::delete_flow_locked(uint32_t idx) {
    Flow &f = flows_[idx];
    if (!f.live.load(std::memory_order_relaxed))
        return false;
    FlowTuple t{f.host, f.remote4, f.host_port, f.remote_port, f.proto};
    FlowKey fk = forward_key(t);
    FlowKey rk = reverse_key(f.host, f.remote6, f.proto, f.host_port, f.remote_port);
    int32_t pos = rte_hash_del_key(hash_, &fk);
    if (pos >= 0)
        retirer_.retire(rcu_, retire_slot, static_cast<uint64_t>(pos));
    pos = rte_hash_del_key(hash_, &rk);
    if (pos >= 0)
        retirer_.retire(rcu_, retire_slot, static_cast<uint64_t>(pos));
    f.live.store(0, std::memory_order_release);
    retirer_.retire(rcu_, retire_flow, idx);
    live_.fetch_sub(1, std::memory_order_relaxed);
    return true;
}

size_t FlowTable::expire(uint32_t now, uint32_t budget) {
    size_t n = 0;
    for (uint32_t scanned = 0; scanned < budget && scanned < capacity_; ++scanned) {
        uint32_t idx = cursor_;
        cursor_ = cursor_ + 1 == capacity_ ? 0 : cursor_ + 1;
        Flow &f = flows_[idx];
        if (!f.live.load(std::memory_order_acquire))
            continue;
        uint32_t seen = f.last_seen.load(std::memory_order_relaxed);
        // Workers may be a second ahead of the control thread's clock.
        uint32_t idle = now > seen ? now - seen : 0;
        if (idle < timeout_of(f))
            continue;
        rte_spinlock_lock(&lock_);
        // A packet between the check and the lock keeps the flow. (A packet arriving after the
        // delete starts a new flow that picks its path afresh.)
        seen = f.last_seen.load(std::memory_order_relaxed);
        idle = now > seen ? now - seen : 0;
        if (idle >= timeout_of(f) && delete_flow_locked(idx))
            ++n;
        rte_spinlock_unlock(&lock_);
    }
    expired_.fetch_add(n, std::memory_order_relaxed);
    return n;
}

void FlowTable::count_pins(std::unordered_map<uint32_t, uint32_t> &out) const {
    for (uint32_t i = 0; i < capacity_; ++i) {
        const Flow &f = flows_[i];
        if (f.live.load(std::memory_order_acquire) && f.eamt_id != 0)
            ++out[f.eamt_id];
    }
}

uint32_t FlowTable::pins(uint32_t eamt_id) const {
    uint32_t n = 0;
    for (uint32_t i = 0; i < capacity_; ++i)
        if (flows_[i].live.load(std::memory_order_acquire) && flows_[i].eamt_id == eamt_id)
            ++n;
    return n;
}

void FlowTable::free_retired(const Retirer::Item &it) {
    if (it.kind == retire_slot)
        rte_hash_free_key_with_position(hash_, static_cast<int32_t>(it.value));
    else
        free_.push_back(static_cast<uint32_t>(it.value));
}

size_t FlowTable::reclaim() {
    rte_spinlock_lock(&lock_);
    size_t n = retirer_.reclaim(rcu_, [this](const Retirer::Item &it) { free_retired(it); });
    rte_spinlock_unlock(&lock_);
    return n;
}

size_t FlowTable::reclaim_all() {
    // Never wait for a grace period while holding lock_: a worker spinning on it would never
    // report its quiescent state.
    rcu_.synchronize();
    return reclaim();
}

FlowStats FlowTable::stats() const {
    FlowStats s;
    s.created = created_.load(std::memory_order_relaxed);
    s.full = full_.load(std::memory_order_relaxed);
    s.conflicts = conflicts_.load(std::memory_order_relaxed);
    s.expired = expired_.load(std::memory_order_relaxed);
    return s;
}

}  // namespace eamclat::tables
