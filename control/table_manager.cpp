#include "table_manager.hpp"

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <unistd.h>

namespace eamclat {

const char *entry_state_name(EntryState s) {
    switch (s) {
    case EntryState::valid: return "valid";
    case EntryState::stale: return "stale";
    case EntryState::invalid: return "invalid";
    }
    return "?";
}

const char *entry_source_name(xlat::EamtSource s) {
    switch (s) {
    case xlat::EamtSource::static_config: return "static";
    case xlat::EamtSource::operator_table: return "operator";
    case xlat::EamtSource::learned: return "learned";
    }
    return "?";
}

const char *stale_reason_name(StaleReason r) {
    switch (r) {
    case StaleReason::none: return "";
    case StaleReason::ttl_expired: return "ttl-expired";
    case StaleReason::conflict: return "conflict";
    case StaleReason::host_dual_stack: return "host-dual-stack";
    case StaleReason::withdrawn: return "withdrawn";
    case StaleReason::manual: return "manual";
    }
    return "?";
}

const char *learn_result_name(LearnResult r) {
    switch (r) {
    case LearnResult::created: return "created";
    case LearnResult::refreshed: return "refreshed";
    case LearnResult::conflict: return "conflict";
    case LearnResult::refused_v6_reused: return "refused-v6-reused";
    case LearnResult::refused_capacity: return "refused-capacity";
    case LearnResult::refused_host_capacity: return "refused-host-capacity";
    case LearnResult::refused_covered: return "refused-covered";
    case LearnResult::refused_stale: return "refused-stale";
    case LearnResult::refused_sink: return "refused-dataplane-full";
    }
    return "?";
}

Clock Clock::system() {
    return Clock{
        [] {
            return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                             std::chrono::steady_clock::now().time_since_epoch())
                                             .count());
        },
        [] {
            return static_cast<int64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count());
        }};
}

TableManager::TableManager(TableSink &sink, Clock clock, TableLimits limits)
    : sink_(sink), clock_(std::move(clock)), limits_(limits) {}

namespace {
// RFC 7757 §3.2: "An EAM's IPv4 prefix value MUST have an identical or smaller number of suffix
// bits than its corresponding IPv6 prefix value" (the IPv6 side pads with zeros).
bool suffixes_match(const Prefix4 &v4, const Prefix6 &v6, std::string &err) {
    if (32 - v4.len > 128 - v6.len) {
        err = "suffix lengths: " + v4.str() + " has " + std::to_string(32 - v4.len) + " suffix bits, more than the " +
              std::to_string(128 - v6.len) + " of " + v6.str() + " (RFC 7757 §3.2)";
        return false;
    }
    return true;
}
}  // namespace

TableEntry *TableManager::find_static(const Prefix4 &v4) {
    auto it = global_by_v4_.find({xlat::EamtSource::static_config, v4.addr, v4.len});
    return it == global_by_v4_.end() ? nullptr : &entries_.at(it->second);
}

TableEntry *TableManager::find_learned(Ip4 host, Ip4 v4) {
    auto it = learned_by_v4_.find({host, v4});
    return it == learned_by_v4_.end() ? nullptr : &entries_.at(it->second);
}

bool TableManager::covered_by_global(Ip4 v4) const {
    for (int l = 32; l >= 0; l--) {
        auto len = static_cast<uint8_t>(l);
        Ip4 net = v4 & Prefix4::mask(len);
        if (global_by_v4_.count({xlat::EamtSource::static_config, net, len}) ||
            global_by_v4_.count({xlat::EamtSource::operator_table, net, len}))
            return true;
    }
    return false;
}

void TableManager::index(const TableEntry &e) {
    if (e.source == xlat::EamtSource::learned) {
        learned_by_v4_[{*e.host, e.ipv4.addr}] = e.id;
        learned_by_v6_[{*e.host, e.ipv6.addr}] = e.id;
    } else if (e.state == EntryState::valid) {
        global_by_v4_[{e.source, e.ipv4.addr, e.ipv4.len}] = e.id;
    }
}

void TableManager::unindex_global(const TableEntry &e) {
    auto it = global_by_v4_.find({e.source, e.ipv4.addr, e.ipv4.len});
    if (it != global_by_v4_.end() && it->second == e.id) global_by_v4_.erase(it);
}

bool TableManager::have_room(bool learned, std::optional<Ip4> host, bool &host_full) const {
    host_full = false;
    if (learned && host) {
        auto it = learned_per_host_.find(*host);
        if (it != learned_per_host_.end() && it->second >= limits_.learned_per_host) {
            host_full = true;
            return false;
        }
    }
    if (!learned) return true;  // static and operator entries are never refused for capacity
    return entries_.size() < limits_.total;
}

uint64_t TableManager::insert(TableEntry e) {
    e.id = next_id_++;
    if (!sink_.install(e)) return 0;
    if (e.source == xlat::EamtSource::learned && e.host) learned_per_host_[*e.host]++;
    uint64_t id = e.id;
    index(entries_.emplace(id, std::move(e)).first->second);
    return id;
}

void TableManager::make_stale(TableEntry &e, StaleReason why) {
    if (e.state != EntryState::valid) return;
    e.state = EntryState::stale;
    e.stale_reason = why;
    if (e.source != xlat::EamtSource::learned) unindex_global(e);
    sink_.mark_stale(e);
}

void TableManager::erase(uint64_t id) {
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    auto &e = it->second;
    sink_.remove(e);
    if (e.source == xlat::EamtSource::learned && e.host) {
        auto h = learned_per_host_.find(*e.host);
        if (h != learned_per_host_.end() && --h->second == 0) learned_per_host_.erase(h);
        learned_by_v4_.erase({*e.host, e.ipv4.addr});
        learned_by_v6_.erase({*e.host, e.ipv6.addr});
    } else {
        unindex_global(e);
    }
    entries_.erase(it);
}

bool TableManager::add_static(const Prefix4 &v4, const Prefix6 &v6, uint32_t ttl, std::string &err) {
    if (!suffixes_match(v4, v6, err)) return false;
    for (auto &[id, e] : entries_) {
        if (e.source != xlat::EamtSource::static_config) continue;
        if (e.ipv4 == v4) {
            err = "a static entry for " + v4.str() + " exists (del eamt first)";
            return false;
        }
        if (!e.do_not_optimise && e.ipv6 == v6) {
            err = "a static entry already maps " + v6.str() + " (to " + e.ipv4.str() + ")";
            return false;
        }
    }
    TableEntry e;
    e.source = xlat::EamtSource::static_config;
    e.ipv4 = v4;
    e.ipv6 = v6;
    e.ttl = ttl;
    e.created = clock_.mono();
    e.expires = ttl ? e.created + ttl : 0;
    e.is_static = true;
    if (!insert(std::move(e))) {
        err = "dataplane tables are full";
        return false;
    }
    return true;
}

bool TableManager::add_do_not_optimise(const Prefix4 &v4, std::string &err) {
    if (find_static(v4)) {
        err = "a static entry for " + v4.str() + " exists";
        return false;
    }
    TableEntry e;
    e.source = xlat::EamtSource::static_config;
    e.ipv4 = v4;
    e.do_not_optimise = true;
    e.created = clock_.mono();
    e.is_static = true;
    if (!insert(std::move(e))) {
        err = "dataplane tables are full";
        return false;
    }
    return true;
}

bool TableManager::del_static(const Prefix4 &v4, std::string &err) {
    TableEntry *e = find_static(v4);
    if (!e) {
        err = "no static entry for " + v4.str();
        return false;
    }
    // A deleted static entry stops serving new flows at once; flows pinned to it finish on it.
    e->is_static = false;
    e->state = EntryState::valid;
    make_stale(*e, StaleReason::manual);
    if (sink_.pinned_flows(e->id) == 0) erase(e->id);
    return true;
}

bool TableManager::apply_operator_table(const std::vector<OperatorEntry> &entries, std::string &err) {
    // Validate everything before touching anything (RFC 7757 §3.2 and §5 within the table).
    std::map<std::pair<Ip4, uint8_t>, size_t> seen4;
    std::map<std::pair<Ip6, uint8_t>, size_t> seen6;
    for (size_t i = 0; i < entries.size(); i++) {
        const auto &o = entries[i];
        std::string why;
        if (!o.do_not_optimise && !suffixes_match(o.ipv4, o.ipv6, why)) {
            err = "entry " + std::to_string(i) + ": " + why;
            return false;
        }
        if (!seen4.emplace(std::make_pair(o.ipv4.addr, o.ipv4.len), i).second) {
            err = "entry " + std::to_string(i) + ": duplicate IPv4 prefix " + o.ipv4.str() +
                  " (also entry " + std::to_string(seen4[{o.ipv4.addr, o.ipv4.len}]) + ")";
            return false;
        }
        if (!o.do_not_optimise && !seen6.emplace(std::make_pair(o.ipv6.addr, o.ipv6.len), i).second) {
            err = "entry " + std::to_string(i) + ": duplicate IPv6 prefix " + o.ipv6.str();
            return false;
        }
    }
    uint64_t now = clock_.mono();
    std::map<std::pair<Ip4, uint8_t>, bool> kept;
    for (const auto &o : entries) {
        TableEntry *cur = nullptr;
        if (auto it = global_by_v4_.find({xlat::EamtSource::operator_table, o.ipv4.addr, o.ipv4.len});
            it != global_by_v4_.end())
            cur = &entries_.at(it->second);
        if (cur && cur->ipv6 == o.ipv6 && cur->do_not_optimise == o.do_not_optimise) {
            cur->ttl = o.ttl;
            cur->expires = o.ttl ? now + o.ttl : 0;
            cur->name = o.name;
            kept[{o.ipv4.addr, o.ipv4.len}] = true;
            continue;
        }
        if (cur) make_stale(*cur, StaleReason::withdrawn);  // mapping changed: old one drains
        TableEntry e;
        e.source = xlat::EamtSource::operator_table;
        e.ipv4 = o.ipv4;
        e.ipv6 = o.ipv6;
        e.do_not_optimise = o.do_not_optimise;
        e.name = o.name;
        e.ttl = o.ttl;
        e.created = now;
        e.expires = o.ttl ? now + o.ttl : 0;
        if (!insert(std::move(e))) {
            err = "dataplane tables are full while applying the operator table";
            return false;
        }
        kept[{o.ipv4.addr, o.ipv4.len}] = true;
    }
    std::vector<uint64_t> drained;
    for (auto &[id, e] : entries_) {
        if (e.source != xlat::EamtSource::operator_table || e.state != EntryState::valid) continue;
        if (kept.count({e.ipv4.addr, e.ipv4.len})) continue;
        make_stale(e, StaleReason::withdrawn);
        bump(TableCounter::stale_withdrawn);
        if (sink_.pinned_flows(e.id) == 0) drained.push_back(e.id);
    }
    for (auto id : drained) {
        erase(id);
        bump(TableCounter::removed_invalid);
    }
    return true;
}

LearnResult TableManager::learn(Ip4 host, const std::string &name, Ip4 v4, const Ip6 &v6, uint32_t ttl) {
    // Static or operator entries covering the address win (precedence); learning adds nothing.
    if (covered_by_global(v4)) {
        bump(TableCounter::learned_refused_covered);
        return LearnResult::refused_covered;
    }
    uint64_t now = clock_.mono();
    if (TableEntry *cur = find_learned(host, v4)) {
        if (cur->ipv6.addr == v6) {
            if (cur->state == EntryState::stale && cur->stale_reason != StaleReason::ttl_expired) {
                bump(TableCounter::learned_refused_stale);
                return LearnResult::refused_stale;
            }
            cur->ttl = ttl;
            cur->expires = now + ttl;
            if (cur->state == EntryState::stale) {  // a fresh answer undoes a TTL expiry
                if (!sink_.install(*cur)) {
                    bump(TableCounter::learned_refused_sink);
                    return LearnResult::refused_sink;
                }
                cur->state = EntryState::valid;
                cur->stale_reason = StaleReason::none;
            }
            bump(TableCounter::learned_refreshed);
            return LearnResult::refreshed;
        }
        // §5.2.5: another name gives the same IPv4 with a different IPv6 (reverse proxy): the
        // entry goes Stale and nothing is created. The same name with a new IPv6 is treated alike:
        // the pairing is ambiguous, so the host falls back to the PLAT.
        make_stale(*cur, StaleReason::conflict);
        bump(TableCounter::learned_conflict);
        return LearnResult::conflict;
    }
    // The reverse conflict: this IPv6 already stands for another IPv4 of this host; a second
    // mapping would make the 6->4 direction ambiguous.
    if (learned_by_v6_.count({host, v6})) {
        bump(TableCounter::learned_refused_v6_reused);
        return LearnResult::refused_v6_reused;
    }
    bool host_full = false;
    if (!have_room(true, host, host_full)) {
        bump(host_full ? TableCounter::learned_refused_host_capacity : TableCounter::learned_refused_capacity);
        return host_full ? LearnResult::refused_host_capacity : LearnResult::refused_capacity;
    }
    TableEntry e;
    e.source = xlat::EamtSource::learned;
    e.ipv4 = Prefix4{v4, 32};
    e.ipv6 = Prefix6{v6, 128};
    e.host = host;
    e.name = name;
    e.ttl = ttl;
    e.created = now;
    e.expires = now + ttl;
    if (!insert(std::move(e))) {
        bump(TableCounter::learned_refused_sink);
        return LearnResult::refused_sink;
    }
    bump(TableCounter::learned_created);
    return LearnResult::created;
}

void TableManager::host_dual_stack(Ip4 host) {
    for (auto &[id, e] : entries_)
        if (e.source == xlat::EamtSource::learned && e.host == host && e.state == EntryState::valid) {
            make_stale(e, StaleReason::host_dual_stack);
            bump(TableCounter::stale_dual_stack);
        }
}

size_t TableManager::withdraw_learned() {
    size_t n = 0;
    for (auto &[id, e] : entries_)
        if (e.source == xlat::EamtSource::learned && e.state == EntryState::valid) {
            make_stale(e, StaleReason::manual);
            n++;
        }
    return n;
}

void TableManager::tick() {
    uint64_t now = clock_.mono();
    std::vector<uint64_t> gone;
    for (auto &[id, e] : entries_) {
        if (e.is_static) continue;  // §5.2.7: never modified automatically
        if (e.state == EntryState::valid && e.expires && now >= e.expires) {
            make_stale(e, StaleReason::ttl_expired);
            bump(TableCounter::stale_ttl);
        }
        if (e.state == EntryState::stale && sink_.pinned_flows(e.id) == 0) {
            e.state = EntryState::invalid;
            gone.push_back(id);
        }
    }
    for (auto id : gone) {
        erase(id);
        bump(TableCounter::removed_invalid);
    }
}

bool TableManager::save(const std::string &path, std::string &err) const {
    YAML::Emitter out;
    out << YAML::BeginMap << YAML::Key << "version" << YAML::Value << 1;
    out << YAML::Key << "learned" << YAML::Value << YAML::BeginSeq;
    uint64_t mono = clock_.mono();
    int64_t wall = clock_.wall();
    for (auto &[id, e] : entries_) {
        if (e.source != xlat::EamtSource::learned || e.state != EntryState::valid || !e.host) continue;
        int64_t expires_wall = wall + static_cast<int64_t>(e.expires > mono ? e.expires - mono : 0);
        out << YAML::BeginMap << YAML::Key << "host" << YAML::Value << ip4_str(*e.host)
            << YAML::Key << "ipv4" << YAML::Value << ip4_str(e.ipv4.addr)
            << YAML::Key << "ipv6" << YAML::Value << e.ipv6.addr.str()
            << YAML::Key << "name" << YAML::Value << YAML::DoubleQuoted << e.name
            << YAML::Key << "ttl" << YAML::Value << e.ttl
            << YAML::Key << "expires" << YAML::Value << expires_wall << YAML::EndMap;
    }
    out << YAML::EndSeq << YAML::EndMap;
    // Atomic: write a temporary file, flush it to disk, rename over the old one.
    std::string tmp = path + ".tmp";
    FILE *f = fopen(tmp.c_str(), "w");
    if (!f) {
        err = "cannot write " + tmp + ": " + strerror(errno);
        return false;
    }
    bool ok = fwrite(out.c_str(), 1, out.size(), f) == out.size() && fputc('\n', f) != EOF;
    ok = fflush(f) == 0 && ok;
    ok = fsync(fileno(f)) == 0 && ok;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp.c_str(), path.c_str()) != 0) {
        err = "cannot write " + path + ": " + strerror(errno);
        unlink(tmp.c_str());
        return false;
    }
    return true;
}

size_t TableManager::restore(const std::string &path, std::string &err) {
    YAML::Node doc;
    try {
        doc = YAML::LoadFile(path);
    } catch (const YAML::BadFile &) {
        err = "no saved table at " + path;
        return 0;
    } catch (const YAML::Exception &ex) {
        err = path + ": " + ex.what();
        return 0;
    }
    size_t n = 0;
    int64_t wall = clock_.wall();
    try {
        if (!doc.IsMap() || !doc["learned"] || !doc["learned"].IsSequence()) {
            err = path + ": not a saved learned table";
            return 0;
        }
        for (const auto &item : doc["learned"]) {
            auto host = parse_ip4(item["host"].as<std::string>());
            auto v4 = parse_ip4(item["ipv4"].as<std::string>());
            auto v6 = Ip6::parse(item["ipv6"].as<std::string>());
            int64_t expires = item["expires"].as<int64_t>();
            if (!host || !v4 || !v6) {
                err = path + ": line " + std::to_string(item.Mark().line + 1) + ": bad address";
                continue;
            }
            if (expires <= wall) continue;  // ran out while we were down
            uint32_t remaining = static_cast<uint32_t>(expires - wall);
            if (learn(*host, item["name"].as<std::string>(""), *v4, *v6, remaining) == LearnResult::created) {
                n++;
                bump(TableCounter::restored);
            }
        }
    } catch (const YAML::Exception &ex) {
        err = path + ": " + ex.what();
    }
    return n;
}

std::vector<const TableEntry *> TableManager::list(const Filter &f) const {
    std::vector<const TableEntry *> out;
    for (auto &[id, e] : entries_) {
        if (f.source && e.source != *f.source) continue;
        if (f.host && e.host != f.host) continue;
        if (!f.name.empty() && e.name != f.name) continue;
        out.push_back(&e);
    }
    return out;
}

const TableEntry *TableManager::find(uint64_t id) const {
    auto it = entries_.find(id);
    return it == entries_.end() ? nullptr : &it->second;
}

size_t TableManager::learned_count(Ip4 host) const {
    auto it = learned_per_host_.find(host);
    return it == learned_per_host_.end() ? 0 : it->second;
}

void TableManager::clear_counters() {
    for (auto &c : counters_) c = 0;
}

}  // namespace eamclat
