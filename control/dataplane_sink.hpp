// The table manager's view of the dataplane: applies its decisions to the lock-free tables the
// workers read (dataplane/tables), and asks the flow table how many flows pin an entry.
#pragma once

#include <unordered_map>

#include "table_manager.hpp"
#include "tables/eamt_tables.hpp"
#include "tables/flow_table.hpp"

namespace eamclat {

class DataplaneSink final : public TableSink {
public:
    DataplaneSink(tables::EamtTables &eamt, tables::FlowTable *flows) : eamt_(eamt), flows_(flows) {}
    bool install(const TableEntry &e) override;
    void mark_stale(const TableEntry &e) override;
    void remove(const TableEntry &e) override;
    uint32_t pinned_flows(uint64_t entry_id) override;
    std::string last_error() const { return err_; }
    // Counts the pinned flows of every entry in one pass over the flow table; call once before
    // TableManager::tick() (pinned_flows() answers from this count, not with a scan per entry).
    void refresh_pins();

private:
    tables::EamtTables &eamt_;
    tables::FlowTable *flows_;
    std::unordered_map<uint64_t, uint32_t> ids_;  // table manager id -> dataplane record id
    std::string err_;
    std::unordered_map<uint32_t, uint32_t> pins_;  // dataplane record id -> pinned flows
};

}  // namespace eamclat
