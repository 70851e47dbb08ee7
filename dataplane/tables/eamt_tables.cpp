#include "eamt_tables.hpp"

#include <rte_errno.h>
#include "hash.hpp"
#include <rte_lpm.h>
#include <rte_lpm6.h>
#include <rte_malloc.h>
#include <rte_prefetch.h>

#include <algorithm>
#include <cstdio>
#include <new>
#include <stdexcept>

namespace eamclat::tables {

namespace {

// Hash keys. Plain structs without padding: rte_hash compares key bytes.
struct LearnedKey4 {
    Ip4 host;
    Ip4 remote;
};
static_assert(sizeof(LearnedKey4) == 8);
struct LearnedKey6 {
    Ip4 host;
    uint8_t remote[16];
};
static_assert(sizeof(LearnedKey6) == 20);

// Retired object kinds.
enum RetireKind : uint32_t { kind_record, retire_slot_exact4, retire_slot_exact6,
                             retire_slot_learned4, retire_slot_learned6, retire_lpm6 };

enum RecordStatus : uint8_t { status_free, status_live, status_retired };

std::atomic<unsigned> g_instances{0};

rte_hash *make_hash(const char *what, unsigned inst, uint32_t entries, uint32_t key_len, int socket) {
    char name[RTE_HASH_NAMESIZE];
    snprintf(name, sizeof name, "eamt_%s_%u", what, inst);
    rte_hash_parameters p{};
    p.name = name;
    // rte_hash needs at least one full bucket.
    p.entries = std::max<uint32_t>(entries, 8);
    p.key_len = key_len;
    p.hash_func = hash_crc;
    p.hash_func_init_val = 0;
    p.socket_id = socket;
    // Lock-free readers against the single writer; the extendable bucket table guarantees that
    // `entries` keys fit whatever the cuckoo collisions (with LF, key slots are freed by us after
    // a grace period: rte_hash_free_key_with_position).
    p.extra_flag = RTE_HASH_EXTRA_FLAGS_RW_CONCURRENCY_LF | RTE_HASH_EXTRA_FLAGS_EXT_TABLE;
    rte_hash *h = rte_hash_create(&p);
    if (!h)
        throw std::runtime_error(std::string("rte_hash_create failed for EAMT table ") + name);
    return h;
}

bool ip6_host_bits_zero(const Prefix6 &p) {
    for (unsigned i = p.len; i < 128; ++i)
        if (p.addr.bit(i))
            return false;
    return true;
}

void set_bit6(Ip6 &a, unsigned i, bool v) {
    uint8_t m = static_cast<uint8_t>(0x80u >> (i % 8));
    if (v)
        a.b[i / 8] |= m;
    else
        a.b[i / 8] &= static_cast<uint8_t>(~m);
}

inline void *idx_ptr(uint32_t idx) { return reinterpret_cast<void *>(static_cast<uintptr_t>(idx)); }
inline uint32_t ptr_idx(void *p) { return static_cast<uint32_t>(reinterpret_cast<uintptr_t>(p)); }

}  // namespace

const char *entry_state_name(EntryState s) {
    switch (s) {
    case EntryState::valid: return "valid";
    case EntryState::stale: return "stale";
    }
    return "?";
}

// RFC 7757 §3.3.1 steps 3-6: EAM6 prefix bits, then the IPv4 suffix bits, then zero padding.
Ip6 eam_translate4(const EamtRecord &e, Ip4 addr) {
    Ip6 out = e.ipv6.addr;
    unsigned suffix = 32u - e.ipv4.len;
    for (unsigned i = 0; i < suffix; ++i)
        set_bit6(out, e.ipv6.len + i, (addr >> (suffix - 1 - i)) & 1u);
    return out;
}

// RFC 7757 §3.3.2 steps 3-6: EAM4 prefix bits, then the first (32 - len4) bits of the IPv6
// suffix; the remaining trailing IPv6 bits are discarded.
Ip4 eam_translate6(const EamtRecord &e, const Ip6 &addr) {
    Ip4 out = e.ipv4.addr;
    unsigned suffix = 32u - e.ipv4.len;
    for (unsigned i = 0; i < suffix; ++i)
        if (addr.bit(e.ipv6.len + i))
            out |= Ip4{1} << (suffix - 1 - i);
    return out;
}

// Every published LPM6 generation: the rte_lpm6 and the record index of each of its next hops
// (rte_lpm6 next hops are 21 bits, record indexes may be larger).
struct EamtTables::Lpm6Snapshot {
    rte_lpm6 *lpm = nullptr;
    std::vector<uint32_t> records;
    ~Lpm6Snapshot() { rte_lpm6_free(lpm); }
};

EamtTables::EamtTables(const EamtCapacity &cap, Rcu &rcu, int socket_id)
    : cap_(cap), rcu_(rcu), socket_(socket_id), instance_(g_instances.fetch_add(1)) {
    uint64_t live = uint64_t{cap.global_entries} + cap.learned_entries;
    // Updates publish the new record before the old one is freed: leave room for records waiting
    // for their grace period so that a burst of updates does not have to wait for the workers.
    uint64_t slack = std::max<uint64_t>(1024, live / 8);
    uint64_t slots = live + slack + 1;  // index 0 = none
    // rte_lpm next hops are 24 bits wide.
    if (slots >= (uint64_t{1} << 24))
        throw std::invalid_argument("EAMT capacity above 16M records");
    record_slots_ = static_cast<uint32_t>(slots);
    records_ = static_cast<EamtRecord *>(
        rte_zmalloc_socket("eamt_records", sizeof(EamtRecord) * record_slots_, RTE_CACHE_LINE_SIZE, socket_));
    if (!records_)
        throw std::bad_alloc();
    for (uint32_t i = 0; i < record_slots_; ++i)
        new (&records_[i]) EamtRecord();
    status_.assign(record_slots_, status_free);
    free_records_.reserve(record_slots_ - 1);
    for (uint32_t i = record_slots_ - 1; i >= 1; --i)
        free_records_.push_back(i);

    exact4_ = make_hash("x4", instance_, cap.global_entries, sizeof(Ip4), socket_);
    exact6_ = make_hash("x6", instance_, cap.global_entries, 16, socket_);
    learned4_ = make_hash("l4", instance_, cap.learned_entries, sizeof(LearnedKey4), socket_);
    learned6_ = make_hash("l6", instance_, cap.learned_entries, sizeof(LearnedKey6), socket_);
    rte_hash_set_cmp_func(exact4_, key_cmp<sizeof(Ip4)>);  // 16-byte keys: rte_hash's own SSE compare
    rte_hash_set_cmp_func(learned4_, key_cmp<sizeof(LearnedKey4)>);
    rte_hash_set_cmp_func(learned6_, key_cmp<sizeof(LearnedKey6)>);
}

EamtTables::~EamtTables() {
    reclaim_all();
    delete lpm6_.load();
    rte_lpm_free(lpm4_.load());
    rte_hash_free(exact4_);
    rte_hash_free(exact6_);
    rte_hash_free(learned4_);
    rte_hash_free(learned6_);
    rte_free(records_);
}

// ---------------------------------------------------------------- readers

const EamtRecord *EamtTables::lookup_global4(Ip4 addr) const {
    void *data;
    if (rte_hash_lookup_data(exact4_, &addr, &data) >= 0)
        return &rec(ptr_idx(data));
    rte_lpm *lpm = lpm4_.load(std::memory_order_acquire);
    uint32_t nh;
    if (lpm && rte_lpm_lookup(lpm, addr, &nh) == 0)
        return &rec(nh);
    return nullptr;
}

const EamtRecord *EamtTables::lookup_global6(const Ip6 &addr) const {
    void *data;
    if (rte_hash_lookup_data(exact6_, addr.b.data(), &data) >= 0)
        return &rec(ptr_idx(data));
    Lpm6Snapshot *snap = lpm6_.load(std::memory_order_acquire);
    uint32_t nh;
    if (snap && rte_lpm6_lookup(snap->lpm, addr.b.data(), &nh) == 0)
        return &rec(snap->records[nh]);
    return nullptr;
}

const EamtRecord *EamtTables::lookup_learned4(Ip4 host, Ip4 remote) const {
    LearnedKey4 k{host, remote};
    void *data;
    if (rte_hash_lookup_data(learned4_, &k, &data) >= 0)
        return &rec(ptr_idx(data));
    return nullptr;
}

const EamtRecord *EamtTables::lookup_learned6(Ip4 host, const Ip6 &remote) const {
    LearnedKey6 k{};
    k.host = host;
    memcpy(k.remote, remote.b.data(), 16);
    void *data;
    if (rte_hash_lookup_data(learned6_, &k, &data) >= 0)
        return &rec(ptr_idx(data));
    return nullptr;
}

namespace {

// One rte_hash_lookup_bulk_data over keys[0..n): hits[i] = the record index of key i, else
// miss(i) (an LPM lookup, or none); every record found is prefetched (a record is not
// line-aligned, so both of its ends). index_to_record: EamtTables::rec.
template <class Miss, class Rec>
void bulk_lookup(const rte_hash *h, const void **keys, unsigned n, const EamtRecord **out, Miss miss, Rec rec) {
    void *data[EamtTables::bulk_max];
    uint64_t hits = 0;
    rte_hash_lookup_bulk_data(h, keys, n, &hits, data);
    for (unsigned i = 0; i < n; ++i) {
        out[i] = hits >> i & 1 ? &rec(static_cast<uint32_t>(reinterpret_cast<uintptr_t>(data[i]))) : miss(i);
        if (out[i]) {
            rte_prefetch0(out[i]);
            rte_prefetch0(reinterpret_cast<const char *>(out[i]) + sizeof(EamtRecord) - 1);
        }
    }
}

}  // namespace

void EamtTables::lookup_global4_bulk(const Ip4 *addrs, unsigned n, const EamtRecord **out) const {
    static_assert(bulk_max <= RTE_HASH_LOOKUP_BULK_MAX);
    n = std::min(n, bulk_max);
    const void *keys[bulk_max];
    for (unsigned i = 0; i < n; ++i)
        keys[i] = &addrs[i];
    rte_lpm *lpm = lpm4_.load(std::memory_order_acquire);
    auto by_prefix = [&](unsigned i) -> const EamtRecord * {
        uint32_t nh;
        return lpm && rte_lpm_lookup(lpm, addrs[i], &nh) == 0 ? &rec(nh) : nullptr;
    };
    if (n)
        bulk_lookup(exact4_, keys, n, out, by_prefix, [this](uint32_t i) -> EamtRecord & { return rec(i); });
}

void EamtTables::lookup_global6_bulk(const Ip6 *addrs, unsigned n, const EamtRecord **out) const {
    n = std::min(n, bulk_max);
    const void *keys[bulk_max];
    for (unsigned i = 0; i < n; ++i)
        keys[i] = addrs[i].b.data();
    Lpm6Snapshot *snap = lpm6_.load(std::memory_order_acquire);
    auto by_prefix = [&](unsigned i) -> const EamtRecord * {
        uint32_t nh;
        return snap && rte_lpm6_lookup(snap->lpm, addrs[i].b.data(), &nh) == 0 ? &rec(snap->records[nh]) : nullptr;
    };
    if (n)
        bulk_lookup(exact6_, keys, n, out, by_prefix, [this](uint32_t i) -> EamtRecord & { return rec(i); });
}

void EamtTables::lookup_learned4_bulk(const Ip4 *hosts, const Ip4 *remotes, unsigned n,
                                      const EamtRecord **out) const {
    n = std::min(n, bulk_max);
    LearnedKey4 k[bulk_max];
    const void *keys[bulk_max];
    for (unsigned i = 0; i < n; ++i) {
        k[i] = {hosts[i], remotes[i]};
        keys[i] = &k[i];
    }
    auto none_found = [](unsigned) -> const EamtRecord * { return nullptr; };
    if (n)
        bulk_lookup(learned4_, keys, n, out, none_found, [this](uint32_t i) -> EamtRecord & { return rec(i); });
}

const EamtRecord *EamtTables::select4(Ip4 host, Ip4 remote) const {
    const EamtRecord *r = lookup_global4(remote);
    if (r && r->usable_for_new_flows())
        return r;
    r = lookup_learned4(host, remote);
    return r && r->usable_for_new_flows() ? r : nullptr;
}

const EamtRecord *EamtTables::select6(Ip4 host, const Ip6 &remote) const {
    const EamtRecord *r = lookup_global6(remote);
    if (r && r->usable_for_new_flows())
        return r;
    r = lookup_learned6(host, remote);
    return r && r->usable_for_new_flows() ? r : nullptr;
}

// ---------------------------------------------------------------- writer internals

uint32_t EamtTables::alloc_record() {
    if (free_records_.empty())
        reclaim();
    if (free_records_.empty())
        reclaim_all();
    if (free_records_.empty())
        return none;
    uint32_t idx = free_records_.back();
    free_records_.pop_back();
    EamtRecord &r = rec(idx);
    r.ipv4 = {};
    r.ipv6 = {};
    r.host = 0;
    r.id = 0;
    r.source = xlat::EamtSource::static_config;
    r.state.store(static_cast<uint8_t>(EntryState::valid), std::memory_order_relaxed);
    r.scoped = false;
    r.do_not_optimise = false;
    r.shadow4 = none;
    r.shadow6 = none;
    status_[idx] = status_live;
    return idx;
}

void EamtTables::retire_record(uint32_t idx) {
    status_[idx] = status_retired;
    // A failed LPM6 rebuild leaves a published snapshot that may still name this record: keep it
    // until a rebuild succeeds.
    if (lpm6_dirty_) {
        lpm6_zombies_.push_back(idx);
        return;
    }
    retirer_.retire(rcu_, kind_record, idx);
}

void EamtTables::free_retired(const Retirer::Item &it) {
    switch (it.kind) {
    case kind_record:
        status_[it.value] = status_free;
        free_records_.push_back(static_cast<uint32_t>(it.value));
        break;
    case retire_slot_exact4: rte_hash_free_key_with_position(exact4_, static_cast<int32_t>(it.value)); break;
    case retire_slot_exact6: rte_hash_free_key_with_position(exact6_, static_cast<int32_t>(it.value)); break;
    case retire_slot_learned4: rte_hash_free_key_with_position(learned4_, static_cast<int32_t>(it.value)); break;
    case retire_slot_learned6: rte_hash_free_key_with_position(learned6_, static_cast<int32_t>(it.value)); break;
    case retire_lpm6:
        delete reinterpret_cast<Lpm6Snapshot *>(it.value);
        --lpm6_retired_;
        break;
    }
}

size_t EamtTables::reclaim_ready() {
    return retirer_.reclaim(rcu_, [this](const Retirer::Item &it) { free_retired(it); });
}

size_t EamtTables::reclaim() {
    if (lpm6_dirty_)
        rebuild_lpm6();
    return reclaim_ready();
}

size_t EamtTables::reclaim_all() {
    if (lpm6_dirty_)
        rebuild_lpm6();
    return retirer_.drain(rcu_, [this](const Retirer::Item &it) { free_retired(it); });
}

bool EamtTables::hash_set(rte_hash *h, const void *key, uint32_t idx) {
    int rc = rte_hash_add_key_data(h, key, idx_ptr(idx));
    if (rc == -ENOSPC) {
        // Deleted keys keep their slot until their grace period ends.
        reclaim_all();
        rc = rte_hash_add_key_data(h, key, idx_ptr(idx));
    }
    return rc == 0;
}

void EamtTables::hash_del(rte_hash *h, uint32_t kind, const void *key) {
    int32_t pos = rte_hash_del_key(h, key);
    if (pos >= 0)
        retirer_.retire(rcu_, kind, static_cast<uint64_t>(pos));
}

uint32_t EamtTables::head4(const Prefix4 &p) const {
    if (p.len == 32) {
        void *data;
        return rte_hash_lookup_data(exact4_, &p.addr, &data) >= 0 ? ptr_idx(data) : none;
    }
    auto it = prefix_heads4_.find({p.addr, p.len});
    return it == prefix_heads4_.end() ? none : it->second;
}

uint32_t EamtTables::head6(const Prefix6 &p) const {
    if (p.len == 128) {
        void *data;
        return rte_hash_lookup_data(exact6_, p.addr.b.data(), &data) >= 0 ? ptr_idx(data) : none;
    }
    auto it = prefix_heads6_.find({p.addr, p.len});
    return it == prefix_heads6_.end() ? none : it->second;
}

bool EamtTables::ensure_lpm4() {
    if (lpm4_.load(std::memory_order_relaxed))
        return true;
    char name[RTE_LPM_NAMESIZE];
    snprintf(name, sizeof name, "eamt_p4_%u", instance_);
    rte_lpm_config c{};
    c.max_rules = std::max<uint32_t>(cap_.prefix_entries, 1);
    c.number_tbl8s = std::max<uint32_t>(cap_.lpm_tbl8_groups, 1);
    rte_lpm *lpm = rte_lpm_create(name, socket_, &c);
    if (!lpm)
        return false;
    // rte_lpm updates tbl24/tbl8 entries atomically; only freed tbl8 groups need a grace period
    // before reuse, which the defer queue attached here handles inside rte_lpm_add/delete.
    rte_lpm_rcu_config rc{};
    rc.v = rcu_.qsbr();
    rc.mode = RTE_LPM_QSBR_MODE_DQ;
    if (rte_lpm_rcu_qsbr_add(lpm, &rc) != 0) {
        rte_lpm_free(lpm);
        return false;
    }
    lpm4_.store(lpm, std::memory_order_release);
    return true;
}

bool EamtTables::set_head4(const Prefix4 &p, uint32_t idx) {
    std::atomic_thread_fence(std::memory_order_release);  // record contents before its index
    if (p.len == 32) {
        if (idx == none) {
            hash_del(exact4_, retire_slot_exact4, &p.addr);
            return true;
        }
        return hash_set(exact4_, &p.addr, idx);
    }
    if (idx == none) {
        if (rte_lpm *lpm = lpm4_.load(std::memory_order_relaxed))
            rte_lpm_delete(lpm, p.addr, p.len);
        prefix_heads4_.erase({p.addr, p.len});
        return true;
    }
    if (!ensure_lpm4())
        return false;
    if (rte_lpm_add(lpm4_.load(std::memory_order_relaxed), p.addr, p.len, idx) != 0)
        return false;
    prefix_heads4_[{p.addr, p.len}] = idx;
    return true;
}

bool EamtTables::set_head6(const Prefix6 &p, uint32_t idx) {
    std::atomic_thread_fence(std::memory_order_release);
    if (p.len == 128) {
        if (idx == none) {
            hash_del(exact6_, retire_slot_exact6, p.addr.b.data());
            return true;
        }
        return hash_set(exact6_, p.addr.b.data(), idx);
    }
    if (idx == none)
        prefix_heads6_.erase({p.addr, p.len});
    else
        prefix_heads6_[{p.addr, p.len}] = idx;
    if (batch_) {
        lpm6_dirty_ = true;
        return true;
    }
    // The writer index is the truth. If the rebuild fails (memory), the published snapshot lags
    // behind it: lpm6_dirty_ stays set, records retired meanwhile are parked (retire_record) and
    // every reclaim() retries the rebuild.
    rebuild_lpm6();
    return true;
}

// rte_lpm6 has no RCU hook: build the next generation aside, publish it with a release store,
// free the previous one after a grace period.
bool EamtTables::rebuild_lpm6() {
    // Each generation carries rte_lpm6's 64 MiB tbl24: keep at most two alive (the published one
    // and the one being built) by waiting, in the writer only, for the previous one's grace period.
    if (lpm6_retired_ > 0) {
        reclaim_ready();
        if (lpm6_retired_ > 0) {
            rcu_.synchronize();
            reclaim_ready();
        }
    }
    Lpm6Snapshot *next = nullptr;
    if (!prefix_heads6_.empty()) {
        next = new (std::nothrow) Lpm6Snapshot();
        if (!next) {
            lpm6_dirty_ = true;
            return false;
        }
        // tbl8 groups: one per started byte beyond the first 24 bits, per rule (upper bound).
        uint32_t tbl8s = 16;
        for (auto &[key, idx] : prefix_heads6_)
            tbl8s += key.second > 24 ? (key.second - 24 + 7) / 8 : 0;
        char name[RTE_LPM6_NAMESIZE];
        snprintf(name, sizeof name, "eamt_p6_%u_%u", instance_, ++lpm6_generation_);
        rte_lpm6_config c{};
        c.max_rules = static_cast<uint32_t>(prefix_heads6_.size());
        c.number_tbl8s = tbl8s;
        c.flags = 0;
        next->lpm = rte_lpm6_create(name, socket_, &c);
        if (!next->lpm) {
            delete next;
            lpm6_dirty_ = true;
            return false;
        }
        next->records.reserve(prefix_heads6_.size());
        for (auto &[key, idx] : prefix_heads6_) {
            uint32_t nh = static_cast<uint32_t>(next->records.size());
            if (rte_lpm6_add(next->lpm, key.first.b.data(), key.second, nh) != 0) {
                delete next;
                lpm6_dirty_ = true;
                return false;
            }
            next->records.push_back(idx);
        }
    }
    std::atomic_thread_fence(std::memory_order_release);
    Lpm6Snapshot *old = lpm6_.exchange(next, std::memory_order_acq_rel);
    if (old) {
        retirer_.retire(rcu_, retire_lpm6, reinterpret_cast<uint64_t>(old));
        ++lpm6_retired_;
    }
    lpm6_dirty_ = false;
    for (uint32_t z : lpm6_zombies_)
        retirer_.retire(rcu_, kind_record, z);
    lpm6_zombies_.clear();
    return true;
}

// ---------------------------------------------------------------- global entries

bool EamtTables::add(const xlat::EamtEntry &e, std::string *err, uint32_t *id_out) {
    return add_global(e, false, err, id_out);
}

bool EamtTables::add_do_not_optimise(xlat::EamtSource source, const Prefix4 &ipv4, std::string *err,
                                     uint32_t *id_out) {
    return add_global(xlat::EamtEntry{ipv4, Prefix6{}, source}, true, err, id_out);
}

bool EamtTables::add_global(const xlat::EamtEntry &e, bool dno, std::string *err, uint32_t *id_out) {
    auto fail = [&](const char *m) {
        if (err)
            *err = m;
        return false;
    };
    if (e.source == xlat::EamtSource::learned)
        return fail("learned entries are scoped to a LAN host (add_learned)");
    if (e.ipv4.len > 32 || e.ipv6.len > 128)
        return fail("prefix length out of range");
    // rte_lpm / rte_lpm6 rules have a depth of 1 or more; a /0 mapping is what pool6 and the PLAT
    // prefix are for.
    if (e.ipv4.len == 0 || (!dno && e.ipv6.len == 0))
        return fail("/0 prefixes are not supported in the EAMT (use pool6 or the PLAT prefix)");
    // RFC 7757 §3.2: the IPv4 prefix has no more suffix bits than the IPv6 prefix.
    if (!dno && 32u - e.ipv4.len > 128u - e.ipv6.len)
        return fail("IPv4 suffix longer than IPv6 suffix (RFC 7757 §3.2)");
    if ((e.ipv4.addr & ~Prefix4::mask(e.ipv4.len)) != 0 || !ip6_host_bits_zero(e.ipv6))
        return fail("prefix has host bits set");
    if (global_count_ >= cap_.global_entries)
        return fail("EAMT full (global entries)");
    uint32_t h4 = head4(e.ipv4), h6 = dno ? none : head6(e.ipv6);
    for (uint32_t i = h4; i != none; i = rec(i).shadow4)
        if (rec(i).source == e.source)
            return fail("IPv4 prefix already in the EAMT (RFC 7757 §5)");
    for (uint32_t i = h6; i != none; i = rec(i).shadow6)
        if (rec(i).source == e.source)
            return fail("IPv6 prefix already in the EAMT (RFC 7757 §5)");
    if (e.ipv4.len < 32 && h4 == none && prefix_heads4_.size() >= cap_.prefix_entries)
        return fail("EAMT full (IPv4 prefix entries)");
    if (!dno && e.ipv6.len < 128 && h6 == none && prefix_heads6_.size() >= cap_.prefix_entries)
        return fail("EAMT full (IPv6 prefix entries)");

    uint32_t idx = alloc_record();
    if (idx == none)
        return fail("EAMT full (records waiting for reclamation)");
    EamtRecord &r = rec(idx);
    r.ipv4 = e.ipv4;
    r.ipv6 = e.ipv6;
    r.source = e.source;
    r.do_not_optimise = dno;
    r.id = next_id_++;

    // Chains are ordered by precedence: the enum order is static_config < operator_table.
    uint32_t prev4 = none, cur4 = h4;
    while (cur4 != none && rec(cur4).source < e.source) {
        prev4 = cur4;
        cur4 = rec(cur4).shadow4;
    }
    uint32_t prev6 = none, cur6 = h6;
    while (cur6 != none && rec(cur6).source < e.source) {
        prev6 = cur6;
        cur6 = rec(cur6).shadow6;
    }
    r.shadow4 = cur4;
    r.shadow6 = cur6;
    if (prev4 == none && !set_head4(e.ipv4, idx)) {
        status_[idx] = status_free;  // never published
        free_records_.push_back(idx);
        return fail("IPv4 prefix table full (rte_lpm tbl8 groups)");
    }
    if (!dno && prev6 == none && !set_head6(e.ipv6, idx)) {
        if (prev4 == none)
            set_head4(e.ipv4, h4);  // restore the previous head (an update in place)
        retire_record(idx);
        return fail("IPv6 prefix table could not be rebuilt");
    }
    if (prev4 != none)
        rec(prev4).shadow4 = idx;
    if (!dno && prev6 != none)
        rec(prev6).shadow6 = idx;
    ++global_count_;
    if (dno)
        ++do_not_optimise_count_;
    publish_size();
    if (id_out)
        *id_out = r.id;
    return true;
}

void EamtTables::unlink_global(uint32_t idx) {
    EamtRecord &r = rec(idx);
    uint32_t h4 = head4(r.ipv4);
    if (h4 == idx) {
        set_head4(r.ipv4, r.shadow4);
    } else {
        for (uint32_t i = h4; i != none; i = rec(i).shadow4)
            if (rec(i).shadow4 == idx) {
                rec(i).shadow4 = r.shadow4;
                break;
            }
    }
    uint32_t h6 = r.do_not_optimise ? none : head6(r.ipv6);
    if (r.do_not_optimise) {
        // not indexed on the IPv6 side
    } else if (h6 == idx) {
        set_head6(r.ipv6, r.shadow6);
    } else {
        for (uint32_t i = h6; i != none; i = rec(i).shadow6)
            if (rec(i).shadow6 == idx) {
                rec(i).shadow6 = r.shadow6;
                break;
            }
    }
    if (r.do_not_optimise)
        --do_not_optimise_count_;
    retire_record(idx);
    --global_count_;
    publish_size();
}

const EamtRecord *EamtTables::find(xlat::EamtSource source, const Prefix4 &ipv4) const {
    for (uint32_t i = head4(ipv4); i != none; i = rec(i).shadow4)
        if (rec(i).source == source)
            return &rec(i);
    return nullptr;
}

bool EamtTables::remove(xlat::EamtSource source, const Prefix4 &ipv4) {
    const EamtRecord *r = find(source, ipv4);
    if (!r || r->scoped)
        return false;
    unlink_global(index_of(r));
    return true;
}

bool EamtTables::set_state(xlat::EamtSource source, const Prefix4 &ipv4, EntryState s) {
    const EamtRecord *r = find(source, ipv4);
    if (!r)
        return false;
    rec(index_of(r)).state.store(static_cast<uint8_t>(s), std::memory_order_relaxed);
    return true;
}

size_t EamtTables::remove_source(xlat::EamtSource source) {
    std::vector<uint32_t> victims;
    for (uint32_t i = 1; i < record_slots_; ++i)
        if (status_[i] == status_live && !rec(i).scoped && rec(i).source == source)
            victims.push_back(i);
    // One LPM6 rebuild for the whole batch.
    batch_ = true;
    for (uint32_t i : victims)
        unlink_global(i);
    batch_ = false;
    if (lpm6_dirty_)
        rebuild_lpm6();
    return victims.size();
}

// ---------------------------------------------------------------- learned entries

size_t EamtTables::learned_count(Ip4 host) const {
    auto it = learned_per_host_.find(host);
    return it == learned_per_host_.end() ? 0 : it->second;
}

const EamtRecord *EamtTables::find_learned(Ip4 host, Ip4 remote4) const { return lookup_learned4(host, remote4); }

bool EamtTables::add_learned(Ip4 host, Ip4 remote4, const Ip6 &remote6, std::string *err, uint32_t *id_out) {
    auto fail = [&](const char *m) {
        if (err)
            *err = m;
        return false;
    };
    if (host == 0)
        return fail("learned entry without a LAN host");
    LearnedKey4 k4{host, remote4};
    LearnedKey6 k6{};
    k6.host = host;
    memcpy(k6.remote, remote6.b.data(), 16);

    const EamtRecord *old = lookup_learned4(host, remote4);
    const EamtRecord *same6 = lookup_learned6(host, remote6);
    if (old && old->ipv6.addr == remote6) {
        // Draft §5.2.5: a fresh answer for the same pair makes the entry valid again.
        rec(index_of(old)).state.store(static_cast<uint8_t>(EntryState::valid), std::memory_order_relaxed);
        if (id_out)
            *id_out = old->id;
        return true;
    }
    if (same6)
        return fail("IPv6 address already mapped for this host (RFC 7757 §5)");
    if (!old) {
        if (learned_count_ >= cap_.learned_entries)
            return fail("EAMT full (learned entries)");
        if (cap_.learned_per_host && learned_count(host) >= cap_.learned_per_host)
            return fail("EAMT full (learned entries of this host)");
    }
    uint32_t idx = alloc_record();
    if (idx == none)
        return fail("EAMT full (records waiting for reclamation)");
    EamtRecord &r = rec(idx);
    r.ipv4 = {remote4, 32};
    r.ipv6 = {remote6, 128};
    r.host = host;
    r.source = xlat::EamtSource::learned;
    r.scoped = true;
    r.id = next_id_++;
    std::atomic_thread_fence(std::memory_order_release);
    // Both hashes were sized for learned_entries keys and we hold at most that many (plus keys
    // waiting for their grace period, which hash_set reclaims), so these cannot fail.
    if (!hash_set(learned6_, &k6, idx)) {
        status_[idx] = status_free;
        free_records_.push_back(idx);
        return fail("learned IPv6 table full");
    }
    if (!hash_set(learned4_, &k4, idx)) {
        hash_del(learned6_, retire_slot_learned6, &k6);
        retire_record(idx);
        return fail("learned IPv4 table full");
    }
    if (old) {
        // Replaced mapping: the previous IPv6 key goes, the record after a grace period.
        LearnedKey6 o6{};
        o6.host = host;
        memcpy(o6.remote, old->ipv6.addr.b.data(), 16);
        hash_del(learned6_, retire_slot_learned6, &o6);
        retire_record(index_of(old));
    } else {
        ++learned_count_;
        publish_size();
        ++learned_per_host_[host];
    }
    if (id_out)
        *id_out = r.id;
    return true;
}

bool EamtTables::remove_learned(Ip4 host, Ip4 remote4) {
    const EamtRecord *r = lookup_learned4(host, remote4);
    if (!r)
        return false;
    LearnedKey4 k4{host, remote4};
    LearnedKey6 k6{};
    k6.host = host;
    memcpy(k6.remote, r->ipv6.addr.b.data(), 16);
    hash_del(learned4_, retire_slot_learned4, &k4);
    hash_del(learned6_, retire_slot_learned6, &k6);
    retire_record(index_of(r));
    --learned_count_;
    publish_size();
    auto it = learned_per_host_.find(host);
    if (it != learned_per_host_.end() && --it->second == 0)
        learned_per_host_.erase(it);
    return true;
}

bool EamtTables::set_learned_state(Ip4 host, Ip4 remote4, EntryState s) {
    const EamtRecord *r = lookup_learned4(host, remote4);
    if (!r)
        return false;
    rec(index_of(r)).state.store(static_cast<uint8_t>(s), std::memory_order_relaxed);
    return true;
}

size_t EamtTables::remove_learned_host(Ip4 host) {
    std::vector<Ip4> remotes;
    for (uint32_t i = 1; i < record_slots_; ++i)
        if (status_[i] == status_live && rec(i).scoped && rec(i).host == host)
            remotes.push_back(rec(i).ipv4.addr);
    for (Ip4 r : remotes)
        remove_learned(host, r);
    return remotes.size();
}

void EamtTables::for_each(const std::function<void(const EamtRecord &, bool)> &f) const {
    for (uint32_t i = 1; i < record_slots_; ++i)
        if (status_[i] == status_live && !rec(i).scoped)
            f(rec(i), head4(rec(i).ipv4) == i);
    for (uint32_t i = 1; i < record_slots_; ++i)
        if (status_[i] == status_live && rec(i).scoped)
            f(rec(i), true);
}

}  // namespace eamclat::tables
