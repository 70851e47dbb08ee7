// The table manager: the control thread's authoritative EAMT, from three sources with a fixed
// precedence (static over operator over learned), with the entry lifecycle of
// draft-ietf-v6ops-464xlat-optimization §5.2.5-§5.2.7 and the capacity policy. It owns no packet
// path: every change is pushed to a TableSink (the dataplane's RCU tables), and the sink tells how
// many pinned flows still use an entry (§5.2.7 Stale -> Invalid).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "xlat/config.hpp"
#include "xlat/types.hpp"

namespace eamclat {

enum class EntryState : uint8_t { valid, stale, invalid };
const char *entry_state_name(EntryState s);
const char *entry_source_name(xlat::EamtSource s);

// Why an Auto entry went Stale (shown by `show eamt`, and it decides whether a fresh DNS answer
// may make it Valid again: only a TTL expiry can be undone by a fresh identical answer).
enum class StaleReason : uint8_t { none, ttl_expired, conflict, host_dual_stack, withdrawn, manual };
const char *stale_reason_name(StaleReason r);

struct TableEntry {
    uint64_t id = 0;  // never reused; the dataplane keys pinned flows by it
    xlat::EamtSource source = xlat::EamtSource::static_config;
    Prefix4 ipv4;
    Prefix6 ipv6;                 // unused when do_not_optimise
    bool do_not_optimise = false; // §5.2.15: force the destination through pref64
    std::optional<Ip4> host;      // learned entries: the LAN host they belong to (§5.2.5 item 2)
    std::string name;             // learned: the FQDN asked (§5.2.5 item 6); operator: optional label
    uint32_t ttl = 0;             // seconds; 0 = no expiry
    uint64_t created = 0;         // monotonic seconds
    uint64_t expires = 0;         // monotonic seconds; 0 = never
    EntryState state = EntryState::valid;
    StaleReason stale_reason = StaleReason::none;
    bool is_static = false;       // the draft's Auto/Static flag: never changed automatically
};

// What the dataplane provides to the manager.
class TableSink {
public:
    virtual ~TableSink() = default;
    // Entry usable for new flows (added, or changed back to Valid). Returns false if the dataplane
    // could not take it (its tables are full): the manager then refuses the entry.
    virtual bool install(const TableEntry &e) = 0;
    // No new flows may use it; pinned flows keep working.
    virtual void mark_stale(const TableEntry &e) = 0;
    virtual void remove(const TableEntry &e) = 0;
    virtual uint32_t pinned_flows(uint64_t entry_id) = 0;
};

struct Clock {
    std::function<uint64_t()> mono;  // seconds, monotonic
    std::function<int64_t()> wall;   // seconds since the epoch (for persistence)
    static Clock system();
};

struct TableLimits {
    uint32_t total = 65536;           // all sources together
    uint32_t learned_per_host = 1024;
};

#define EAMCLAT_TABLE_COUNTERS(X)                                                              \
    X(learned_created, "learned entries created")                                               \
    X(learned_refreshed, "learned entries refreshed by a new answer")                          \
    X(learned_conflict, "answers conflicting with an entry (§5.2.5): entry made Stale")        \
    X(learned_refused_v6_reused, "refused: IPv6 already used for another IPv4 of this host")   \
    X(learned_refused_capacity, "refused: table full")                                         \
    X(learned_refused_host_capacity, "refused: the host's share of the table is full")        \
    X(learned_refused_covered, "refused: a static or operator entry covers the address")      \
    X(learned_refused_stale, "refused: an entry for the address is Stale after a conflict")    \
    X(learned_refused_sink, "refused: the dataplane tables are full")                          \
    X(stale_ttl, "entries made Stale at TTL expiry")                                           \
    X(stale_dual_stack, "learned entries made Stale because their host turned dual-stack")     \
    X(stale_withdrawn, "operator entries made Stale because a new table dropped them")         \
    X(removed_invalid, "entries removed when Invalid (no pinned flow left)")                   \
    X(restored, "learned entries restored from disk at start")

enum class TableCounter : uint8_t {
#define EAMCLAT_X(n, d) n,
    EAMCLAT_TABLE_COUNTERS(EAMCLAT_X)
#undef EAMCLAT_X
        count
};

// Result of learn(): what happened to the DNS answer.
enum class LearnResult : uint8_t {
    created, refreshed, conflict, refused_v6_reused, refused_capacity, refused_host_capacity,
    refused_covered, refused_stale, refused_sink,
};
const char *learn_result_name(LearnResult r);

class TableManager {
public:
    TableManager(TableSink &sink, Clock clock, TableLimits limits);

    // --- static (config and shell): validated, never aged ---
    // Adds a static entry. ttl 0 = permanent. Fails (err) on invalid prefixes (RFC 7757 §3.2:
    // the IPv4 suffix no longer than the IPv6 one) or an IPv4/IPv6 prefix already used by another static entry (§5).
    bool add_static(const Prefix4 &v4, const Prefix6 &v6, uint32_t ttl, std::string &err);
    bool add_do_not_optimise(const Prefix4 &v4, std::string &err);  // §5.2.15
    bool del_static(const Prefix4 &v4, std::string &err);

    // --- operator (pulled) ---
    struct OperatorEntry {
        Prefix4 ipv4;
        Prefix6 ipv6;
        uint32_t ttl = 0;
        bool do_not_optimise = false;
        std::string name;
    };
    // All-or-nothing: validates the whole set first (err names the first bad entry); on success
    // installs new entries, refreshes kept ones and makes withdrawn ones Stale (pinned flows keep
    // them until they end, then they are removed).
    bool apply_operator_table(const std::vector<OperatorEntry> &entries, std::string &err);

    // --- learned (DNS proxy, §5.2.5) ---
    LearnResult learn(Ip4 host, const std::string &name, Ip4 v4, const Ip6 &v6, uint32_t ttl);
    // §5.2.13: the host was seen with IPv6; its learned entries go Stale.
    void host_dual_stack(Ip4 host);
    // §5.2.1/§5.2.15: optimisation switched off: every learned entry goes Stale (pinned flows
    // finish on their path, new flows take the PLAT). Returns how many.
    size_t withdraw_learned();

    // §5.2.7 ageing: TTL expiry -> Stale; Stale with no pinned flow -> Invalid -> removed.
    void tick();

    // Persistence of the learned entries (remaining TTL kept through wall-clock expiry).
    bool save(const std::string &path, std::string &err) const;
    // Restores learned entries whose TTL has not run out; returns how many.
    size_t restore(const std::string &path, std::string &err);

    // --- inspection ---
    struct Filter {
        std::optional<xlat::EamtSource> source;
        std::optional<Ip4> host;
        std::string name;
    };
    std::vector<const TableEntry *> list(const Filter &f = {}) const;
    const TableEntry *find(uint64_t id) const;
    size_t size() const { return entries_.size(); }
    size_t learned_count(Ip4 host) const;
    uint64_t counter(TableCounter c) const { return counters_[static_cast<unsigned>(c)]; }
    void clear_counters();
    const TableLimits &limits() const { return limits_; }

private:
    TableEntry *find_static(const Prefix4 &v4);
    TableEntry *find_learned(Ip4 host, Ip4 v4);
    bool covered_by_global(Ip4 v4) const;
    bool have_room(bool learned, std::optional<Ip4> host, bool &host_full) const;
    uint64_t insert(TableEntry e);  // returns id, 0 when the sink refused
    void make_stale(TableEntry &e, StaleReason why);
    void erase(uint64_t id);
    void bump(TableCounter c) { counters_[static_cast<unsigned>(c)]++; }

    TableSink &sink_;
    Clock clock_;
    TableLimits limits_;
    uint64_t next_id_ = 1;
    std::map<uint64_t, TableEntry> entries_;
    std::map<Ip4, uint32_t> learned_per_host_;
    // Indexes, so that learning stays O(log n) at BNG scale.
    std::map<std::pair<Ip4, Ip4>, uint64_t> learned_by_v4_;  // (host, IPv4) -> Valid/Stale entry
    std::map<std::pair<Ip4, Ip6>, uint64_t> learned_by_v6_;  // (host, IPv6) -> Valid/Stale entry
    // Valid static and operator entries by (source, prefix)
    std::map<std::tuple<xlat::EamtSource, Ip4, uint8_t>, uint64_t> global_by_v4_;
    void index(const TableEntry &e);
    void unindex_global(const TableEntry &e);
    uint64_t counters_[static_cast<unsigned>(TableCounter::count)] = {};
};

}  // namespace eamclat
