#include "telemetry.hpp"

#include <rte_telemetry.h>

#include <algorithm>
#include <cctype>
#include <cstring>

namespace eamclat {

namespace {
// rte_telemetry limits: dict keys and string values are bounded, a dict holds at most
// RTE_TEL_MAX_DICT_ENTRIES entries; longer lists are cut and the cut is said in the reply.
constexpr size_t max_entries = RTE_TEL_MAX_DICT_ENTRIES - 2;

// Telemetry names may only hold alphanumerics, '_' and '/': "lan.tx.sent" -> "lan_tx_sent".
std::string tel_name(const std::string &k) {
    std::string s = k.substr(0, RTE_TEL_MAX_STRING_LEN - 1);
    for (auto &c : s)
        if (!isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '/') c = '_';
    return s;
}

void add_u64(rte_tel_data *d, const std::vector<std::pair<std::string, uint64_t>> &v) {
    size_t n = 0;
    for (const auto &[k, x] : v) {
        if (n++ >= max_entries) break;
        rte_tel_data_add_dict_u64(d, tel_name(k).c_str(), x);
    }
}

int on_stats(const char *, const char *, rte_tel_data *d) {
    auto s = Telemetry::instance().copy();
    rte_tel_data_start_dict(d);
    add_u64(d, s.stats);
    return 0;
}

int on_dns(const char *, const char *, rte_tel_data *d) {
    auto s = Telemetry::instance().copy();
    rte_tel_data_start_dict(d);
    add_u64(d, s.dns);
    return 0;
}

int on_flows(const char *, const char *, rte_tel_data *d) {
    auto s = Telemetry::instance().copy();
    rte_tel_data_start_dict(d);
    add_u64(d, s.flows);
    return 0;
}

// /eamclat/eamt[,FILTER]: entries whose key or description contains FILTER (e.g. "learned",
// a host address or a name).
int on_eamt(const char *, const char *params, rte_tel_data *d) {
    auto s = Telemetry::instance().copy();
    std::string filter = params ? params : "";
    rte_tel_data_start_dict(d);
    rte_tel_data_add_dict_u64(d, "total", s.eamt_total);
    size_t shown = 0, matched = 0;
    for (const auto &[k, v] : s.eamt) {
        if (!filter.empty() && k.find(filter) == std::string::npos && v.find(filter) == std::string::npos) continue;
        matched++;
        if (shown >= max_entries - 1) continue;
        rte_tel_data_add_dict_string(d, tel_name(k).c_str(), v.substr(0, RTE_TEL_MAX_STRING_LEN - 1).c_str());
        shown++;
    }
    if (shown < matched) rte_tel_data_add_dict_u64(d, "truncated", matched - shown);
    return 0;
}
}  // namespace

Telemetry &Telemetry::instance() {
    static Telemetry t;
    return t;
}

bool Telemetry::register_endpoints() {
    if (registered_) return true;
    bool ok = rte_telemetry_register_cmd("/eamclat/stats", on_stats,
                                         "Packet fates, translations by path, port counters. No parameters") == 0;
    ok &= rte_telemetry_register_cmd("/eamclat/eamt", on_eamt,
                                     "EAMT entries (source, state, TTL, host, name). Parameter: optional filter") == 0;
    ok &= rte_telemetry_register_cmd("/eamclat/dns", on_dns, "DNS proxy and learner counters. No parameters") == 0;
    ok &= rte_telemetry_register_cmd("/eamclat/flows", on_flows, "Flow table (path pinning) summary. No parameters") == 0;
    registered_ = ok;
    return ok;
}

void Telemetry::publish(TelemetrySnapshot s) {
    std::lock_guard<std::mutex> g(mu_);
    snap_ = std::move(s);
}

TelemetrySnapshot Telemetry::copy() const {
    std::lock_guard<std::mutex> g(mu_);
    return snap_;
}

}  // namespace eamclat
