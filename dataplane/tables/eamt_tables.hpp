// The EAMT as the workers see it (RFC 7757 §3, draft-ietf-v6ops-464xlat-optimization-03 §5.2.5-§5.2.7).
//
// Readers (workers) look up without locks; one writer (the control thread) adds, updates and
// removes entries. Published records are immutable except their state byte, so a reader never
// sees a half-written mapping: an update publishes a new record (atomic pointer-sized store into
// the hash / LPM) and the old one is freed after an RCU grace period.
//
// Layout:
//  - global entries (static config, operator table), visible to every LAN host:
//      IPv4 side /32  -> rte_hash  (addr -> record)      IPv4 side shorter -> rte_lpm (in place,
//      IPv6 side /128 -> rte_hash  (addr -> record)         tbl8 groups reclaimed through RCU)
//      IPv6 side shorter -> rte_lpm6, rebuilt and swapped (rte_lpm6 has no RCU support)
//    Exact /32 and /128 entries are the longest possible prefixes, so "hash first, then LPM" gives
//    RFC 7757 §3.3's longest-prefix match.
//  - learned entries (DNS proxy, draft §5.2.5), scoped to the LAN host that asked:
//      (host IPv4, remote IPv4) -> record and (host IPv4, remote IPv6) -> record, /32<->/128 only.
//
// Precedence (static > operator > learned): between entries of the same IPv4 (or IPv6) prefix the
// higher-precedence source is the one installed, lower ones wait behind it and come back when it
// is removed. Between different prefixes the RFC 7757 longest-prefix rule applies whatever the
// source. A global entry is preferred to a host's learned entry for a new flow (select4/select6),
// since static and operator entries are explicit policy (draft §5.2.5 "manual explicit
// optimization and non-optimization configuration").
#pragma once

#include <rte_hash.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "rcu.hpp"
#include "xlat/config.hpp"
#include "xlat/types.hpp"

struct rte_lpm;
struct rte_lpm6;

namespace eamclat::tables {

// Draft §5.2.5 item 7. Invalid entries are deleted (remove*), so only two states are stored.
enum class EntryState : uint8_t {
    valid,  // used for new flows
    stale,  // MUST NOT be used for new connections; flows pinned to it keep their IPv6 address
};

const char *entry_state_name(EntryState s);

struct EamtCapacity {
    uint32_t global_entries = 65536;   // static + operator entries (exact and prefix)
    uint32_t prefix_entries = 4096;    // of which have an IPv4 side shorter than /32 or an IPv6
                                       // side shorter than /128 (LPM rules per family)
    uint32_t lpm_tbl8_groups = 1024;   // rte_lpm tbl8 groups (one per IPv4 prefix longer than /24)
    uint32_t learned_entries = 65536;  // learned entries, all LAN hosts together
    uint32_t learned_per_host = 1024;  // draft §5.2.5 entries per LAN host (0 = no limit)
};

// One mapping as the readers see it. Immutable once published, except `state`.
struct EamtRecord {
    Prefix6 ipv6;
    Prefix4 ipv4;
    Ip4 host = 0;     // learned: the LAN host it belongs to (draft §5.2.5 item 2); 0 for global
    uint32_t id = 0;  // unique per published mapping, never reused (flows pin it)
    xlat::EamtSource source = xlat::EamtSource::static_config;
    std::atomic<uint8_t> state{0};  // EntryState
    bool scoped = false;            // learned, host-scoped
    // Draft §5.2.15 "non-optimization" entry: the IPv4 prefix is forced through pref64; the
    // record has no IPv6 side and is never used for RFC 7757 translation.
    bool do_not_optimise = false;
    // Writer-only: next record, in precedence order, with the same IPv4 / IPv6 prefix.
    uint32_t shadow4 = 0;
    uint32_t shadow6 = 0;

    EntryState load_state() const { return static_cast<EntryState>(state.load(std::memory_order_relaxed)); }
    bool usable_for_new_flows() const { return load_state() == EntryState::valid; }
};

// RFC 7757 §3.3.1 / §3.3.2: prefix bits of the other side, suffix copied bit by bit; IPv6 padded
// with trailing zeros, IPv4 trailing bits discarded.
Ip6 eam_translate4(const EamtRecord &e, Ip4 addr);
Ip4 eam_translate6(const EamtRecord &e, const Ip6 &addr);

class EamtTables {
public:
    EamtTables(const EamtCapacity &cap, Rcu &rcu, int socket_id = SOCKET_ID_ANY);
    ~EamtTables();
    EamtTables(const EamtTables &) = delete;
    EamtTables &operator=(const EamtTables &) = delete;

    // ---- readers (any worker; the record stays valid until the caller's next quiescent state)
    // Installed global entry with the longest IPv4 / IPv6 prefix containing addr, any state.
    const EamtRecord *lookup_global4(Ip4 addr) const;
    const EamtRecord *lookup_global6(const Ip6 &addr) const;
    // The learned entry of this LAN host for the remote address, any state.
    const EamtRecord *lookup_learned4(Ip4 host, Ip4 remote) const;
    const EamtRecord *lookup_learned6(Ip4 host, const Ip6 &remote) const;
    // The entry a NEW flow from `host` to `remote` uses: the global entry if valid, else the host's
    // learned entry if valid, else none (then pref64). A valid do_not_optimise global entry is
    // returned as is: the caller must then use pref64.
    const EamtRecord *select4(Ip4 host, Ip4 remote) const;
    const EamtRecord *select6(Ip4 host, const Ip6 &remote) const;
    // The same lookups for a whole burst at once (n <= bulk_max): out[i] is what the single
    // lookup returns for the i-th key. The hash lookups of the keys overlap (rte_hash bulk: the
    // buckets of all keys are prefetched before any is compared) and the records found are
    // prefetched, so that a table larger than the caches costs one memory latency per burst
    // rather than several per packet.
    static constexpr unsigned bulk_max = 32;
    // Entries installed (global + learned), for readers choosing between bulk and single lookups:
    // a table that fits the caches answers a single lookup faster than a bulk one (no misses to
    // overlap); a large one, the other way round. Relaxed: a heuristic, not a guarantee.
    uint32_t size_hint() const { return size_hint_.load(std::memory_order_relaxed); }
    // False while no "do not optimise" entry is installed (draft §5.2.15): a reader may then skip
    // looking for one. Relaxed: an entry being added is seen a moment later, as if the reader had
    // run just before the add.
    bool may_have_do_not_optimise() const { return dno_hint_.load(std::memory_order_relaxed) != 0; }
    void lookup_global4_bulk(const Ip4 *addrs, unsigned n, const EamtRecord **out) const;
    void lookup_global6_bulk(const Ip6 *addrs, unsigned n, const EamtRecord **out) const;
    void lookup_learned4_bulk(const Ip4 *hosts, const Ip4 *remotes, unsigned n, const EamtRecord **out) const;

    // ---- single writer (control thread)
    // Global entry (static_config or operator_table). Validates RFC 7757 §3.2 (IPv4 suffix no
    // longer than IPv6 suffix, host bits zero) and refuses an IPv4 or IPv6 prefix already used by
    // an entry of the same source (RFC 7757 §5). Same-prefix entries of other sources shadow by
    // precedence. id_out gets the new entry's id.
    bool add(const xlat::EamtEntry &e, std::string *err = nullptr, uint32_t *id_out = nullptr);
    // Draft §5.2.5/§5.2.15 explicit non-optimization: new flows to ipv4 use pref64 even where a
    // lower-precedence entry or a learned entry would map them. Indexed on the IPv4 side only.
    bool add_do_not_optimise(xlat::EamtSource source, const Prefix4 &ipv4, std::string *err = nullptr,
                             uint32_t *id_out = nullptr);
    bool remove(xlat::EamtSource source, const Prefix4 &ipv4);
    bool set_state(xlat::EamtSource source, const Prefix4 &ipv4, EntryState s);
    // Removes every global entry of a source (operator table refresh).
    size_t remove_source(xlat::EamtSource source);

    // Learned entry of one LAN host (draft §5.2.5): a /32 <-> /128 pair. If the host already has an
    // entry for remote4 with the same IPv6 address, it is marked valid again (same id); with a
    // different IPv6 address it is replaced by a new record (new id). Refused when the host has
    // another entry for remote6 (RFC 7757 §5 uniqueness) or is at its learned_per_host limit.
    bool add_learned(Ip4 host, Ip4 remote4, const Ip6 &remote6, std::string *err = nullptr,
                     uint32_t *id_out = nullptr);
    bool remove_learned(Ip4 host, Ip4 remote4);
    bool set_learned_state(Ip4 host, Ip4 remote4, EntryState s);
    size_t remove_learned_host(Ip4 host);

    // Frees records and hash slots whose grace period is over. Call from the control loop.
    size_t reclaim();
    // Waits for a grace period and frees everything retired so far.
    size_t reclaim_all();

    // ---- writer-side introspection (control thread)
    size_t global_count() const { return global_count_; }
    size_t learned_count() const { return learned_count_; }
    size_t learned_count(Ip4 host) const;
    size_t retired_pending() const { return retirer_.pending(); }
    // Every live record (installed or shadowed), global then learned; f(const EamtRecord &, bool
    // installed).
    void for_each(const std::function<void(const EamtRecord &, bool)> &f) const;
    const EamtRecord *find(xlat::EamtSource source, const Prefix4 &ipv4) const;
    const EamtRecord *find_learned(Ip4 host, Ip4 remote4) const;

private:
    struct Lpm6Snapshot;
    static constexpr uint32_t none = 0;  // record index 0 is never allocated

    uint32_t alloc_record();
    void retire_record(uint32_t idx);
    EamtRecord &rec(uint32_t idx) const { return records_[idx]; }
    uint32_t index_of(const EamtRecord *r) const { return static_cast<uint32_t>(r - records_); }

    uint32_t head4(const Prefix4 &p) const;
    uint32_t head6(const Prefix6 &p) const;
    bool set_head4(const Prefix4 &p, uint32_t idx);  // idx == none: uninstall
    bool set_head6(const Prefix6 &p, uint32_t idx);
    bool hash_set(rte_hash *h, const void *key, uint32_t idx);
    void hash_del(rte_hash *h, uint32_t kind, const void *key);
    bool rebuild_lpm6();
    bool ensure_lpm4();
    void unlink_global(uint32_t idx);
    bool add_global(const xlat::EamtEntry &e, bool do_not_optimise, std::string *err, uint32_t *id_out);
    void free_retired(const Retirer::Item &it);
    void publish_size() {
        size_hint_.store(static_cast<uint32_t>(global_count_ + learned_count_), std::memory_order_relaxed);
        dno_hint_.store(static_cast<uint32_t>(do_not_optimise_count_), std::memory_order_relaxed);
    }
    size_t reclaim_ready();

    EamtCapacity cap_;
    Rcu &rcu_;
    int socket_;
    EamtRecord *records_ = nullptr;
    uint32_t record_slots_ = 0;
    std::vector<uint32_t> free_records_;
    std::vector<uint8_t> status_;  // per record: free / live / retired (writer-only)
    uint32_t next_id_ = 1;

    rte_hash *exact4_ = nullptr;    // Ip4 (host order)             -> record index
    rte_hash *exact6_ = nullptr;    // Ip6                          -> record index
    rte_hash *learned4_ = nullptr;  // (host, remote Ip4)           -> record index
    rte_hash *learned6_ = nullptr;  // (host, remote Ip6)           -> record index
    std::atomic<rte_lpm *> lpm4_{nullptr};
    std::atomic<Lpm6Snapshot *> lpm6_{nullptr};

    // Writer-only indexes of the LPM rules (key -> installed record).
    std::map<std::pair<Ip4, uint8_t>, uint32_t> prefix_heads4_;
    std::map<std::pair<Ip6, uint8_t>, uint32_t> prefix_heads6_;
    std::unordered_map<Ip4, uint32_t> learned_per_host_;
    size_t global_count_ = 0;
    size_t learned_count_ = 0;
    std::atomic<uint32_t> size_hint_{0};
    size_t do_not_optimise_count_ = 0;
    std::atomic<uint32_t> dno_hint_{0};
    uint32_t lpm6_generation_ = 0;
    uint32_t lpm6_retired_ = 0;           // LPM6 generations waiting for their grace period
    bool lpm6_dirty_ = false;              // published LPM6 snapshot behind prefix_heads6_
    bool batch_ = false;                   // defer LPM6 rebuilds to the end of a batch
    std::vector<uint32_t> lpm6_zombies_;  // retired while dirty: may still be in the snapshot
    unsigned instance_;

    Retirer retirer_;
};

}  // namespace eamclat::tables
