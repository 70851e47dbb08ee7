// DPDK telemetry endpoints (/eamclat/stats, /eamclat/eamt, /eamclat/dns, /eamclat/flows), read
// with dpdk-telemetry.py like the rest of DPDK. Telemetry callbacks run on DPDK's telemetry
// thread, so they never touch the control thread's tables: the control thread publishes a
// snapshot (once a second and after changes) and the callbacks copy from it under a mutex.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace eamclat {

struct TelemetrySnapshot {
    std::vector<std::pair<std::string, uint64_t>> stats;        // packet fates, per path, ports
    std::vector<std::pair<std::string, std::string>> eamt;     // key -> "ipv6 source state ttl ..."
    uint64_t eamt_total = 0;
    std::vector<std::pair<std::string, uint64_t>> dns;
    std::vector<std::pair<std::string, uint64_t>> flows;
};

class Telemetry {
public:
    // Registers the endpoints (once per process; later calls only replace the snapshot source).
    static Telemetry &instance();
    bool register_endpoints();
    void publish(TelemetrySnapshot s);
    TelemetrySnapshot copy() const;

private:
    mutable std::mutex mu_;
    TelemetrySnapshot snap_;
    bool registered_ = false;
};

}  // namespace eamclat
