// The control thread's parts above the dataplane: the table manager (static > operator >
// learned) and its sink into the RCU tables, the LAN host table, the DNS proxy/learner, the
// shell with eamclat-ctl's socket, and the telemetry snapshot. Everything runs on the daemon's
// event loop; nothing here is touched by a worker.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "config.hpp"
#include "ctl_server.hpp"
#include "dataplane_sink.hpp"
#include "hosts.hpp"
#include "proxy.hpp"
#include "pull_client.hpp"
#include "shell.hpp"
#include "table_manager.hpp"

namespace eamclat {

class Daemon;

class ControlPlane {
public:
    ControlPlane(Daemon &daemon, const DaemonConfig &cfg);
    ~ControlPlane();
    // Tables (config entries, the saved learned table), DNS proxy, control socket, timers.
    bool start(std::string &err);
    // Saves the learned table. Called before the workers stop.
    void stop();
    // Runs a batch file of shell commands (testpmd's --cmdline-file); output to stdout.
    bool run_batch(const std::string &path);
    // The shell on this terminal, fed by the event loop.
    bool attach_terminal();

    // For the command handlers (one file per area: cmd_*.cpp).
    Daemon &daemon;
    const DaemonConfig &cfg;
    Shell shell;
    std::unique_ptr<DataplaneSink> sink;
    std::unique_ptr<TableManager> tables;
    HostTable hosts;
    std::unique_ptr<dns::Proxy> proxy;
    std::unique_ptr<CtlServer> ctl;
    std::unique_ptr<PullClient> pull;  // operator-table (draft §5.3)
    bool optimization = true;  // draft §5.2.1 / §5.2.15: `set optimization on|off`

    std::string learned_path() const;
    bool save_learned(std::string &err);
    void publish_telemetry();
    // Counters as shown: totals since start minus the baseline taken by `clear stats`.
    std::vector<std::pair<std::string, uint64_t>> counters_since_clear() const;
    void clear_counters();
    uint64_t now_seconds() const;

    // `show port stats`: the previous sample per port, for rates (testpmd style).
    struct PortSample {
        uint64_t ipackets = 0, opackets = 0, ibytes = 0, obytes = 0;
        std::chrono::steady_clock::time_point at{};
    };
    PortSample port_samples[2];
    std::vector<std::pair<std::string, uint64_t>> baseline;

private:
    void on_sighting_mac(const uint8_t mac[6], bool ipv6, const Ip6 &addr);
    int learn(Ip4 host, const std::string &name, Ip4 v4, const Ip6 &v6, uint32_t ttl);
    void tick();
    bool terminal_ = false;
    uint64_t last_save_ = 0;
};

// Command registration, one function per area.
void register_stats_commands(ControlPlane &cp);
void register_table_commands(ControlPlane &cp);
void register_dns_commands(ControlPlane &cp);
void register_system_commands(ControlPlane &cp);
void register_operator_commands(ControlPlane &cp);

}  // namespace eamclat
