#include "dataplane_sink.hpp"

namespace eamclat {

bool DataplaneSink::install(const TableEntry &e) {
    uint32_t id = 0;
    err_.clear();
    if (e.source == xlat::EamtSource::learned) {
        const tables::EamtRecord *cur = eamt_.find_learned(*e.host, e.ipv4.addr);
        auto known = ids_.find(e.id);
        if (cur && known != ids_.end() && cur->id == known->second)  // Stale -> Valid again
            return eamt_.set_learned_state(*e.host, e.ipv4.addr, tables::EntryState::valid);
        if (cur) eamt_.remove_learned(*e.host, e.ipv4.addr);  // a drained predecessor
        if (!eamt_.add_learned(*e.host, e.ipv4.addr, e.ipv6.addr, &err_, &id)) return false;
    } else {
        const tables::EamtRecord *cur = eamt_.find(e.source, e.ipv4);
        auto known = ids_.find(e.id);
        if (cur && known != ids_.end() && cur->id == known->second)
            return eamt_.set_state(e.source, e.ipv4, tables::EntryState::valid);
        // A Stale predecessor with the same prefix (operator mapping changed): its pinned flows
        // keep their own copy of the mapping, so the record can go now.
        if (cur) eamt_.remove(e.source, e.ipv4);
        bool ok = e.do_not_optimise ? eamt_.add_do_not_optimise(e.source, e.ipv4, &err_, &id)
                                    : eamt_.add(xlat::EamtEntry{e.ipv4, e.ipv6, e.source}, &err_, &id);
        if (!ok) return false;
    }
    ids_[e.id] = id;
    return true;
}

void DataplaneSink::mark_stale(const TableEntry &e) {
    auto known = ids_.find(e.id);
    if (known == ids_.end()) return;
    if (e.source == xlat::EamtSource::learned) {
        const tables::EamtRecord *cur = eamt_.find_learned(*e.host, e.ipv4.addr);
        if (cur && cur->id == known->second) eamt_.set_learned_state(*e.host, e.ipv4.addr, tables::EntryState::stale);
    } else {
        const tables::EamtRecord *cur = eamt_.find(e.source, e.ipv4);
        if (cur && cur->id == known->second) eamt_.set_state(e.source, e.ipv4, tables::EntryState::stale);
    }
}

void DataplaneSink::remove(const TableEntry &e) {
    auto known = ids_.find(e.id);
    if (known == ids_.end()) return;
    // Only remove the record if it is still this entry's (a successor may have replaced it).
    if (e.source == xlat::EamtSource::learned) {
        const tables::EamtRecord *cur = eamt_.find_learned(*e.host, e.ipv4.addr);
        if (cur && cur->id == known->second) eamt_.remove_learned(*e.host, e.ipv4.addr);
    } else {
        const tables::EamtRecord *cur = eamt_.find(e.source, e.ipv4);
        if (cur && cur->id == known->second) eamt_.remove(e.source, e.ipv4);
    }
    ids_.erase(known);
}

void DataplaneSink::refresh_pins() {
    pins_.clear();
    if (flows_) flows_->count_pins(pins_);
}

uint32_t DataplaneSink::pinned_flows(uint64_t entry_id) {
    auto known = ids_.find(entry_id);
    if (known == ids_.end()) return 0;
    auto p = pins_.find(known->second);
    return p == pins_.end() ? 0 : p->second;
}

}  // namespace eamclat
