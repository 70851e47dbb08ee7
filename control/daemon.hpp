// The daemon: start-up (mempools, ports, neighbor tables, exception paths, workers), the control
// thread's periodic work on the main lcore, and an orderly shutdown with a counter report.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "config.hpp"
#include "classify.hpp"
#include "exception.hpp"
#include "neighbors.hpp"
#include "ports.hpp"
#include "tables/daemon_mapper.hpp"
#include "tables/eamt_tables.hpp"
#include "tables/flow_table.hpp"
#include "tables/rcu.hpp"
#include "worker.hpp"
#include "event_loop.hpp"

namespace eamclat { class ControlPlane; }

struct rte_mempool;
struct rte_ring;

namespace eamclat {

class Daemon {
public:
    explicit Daemon(DaemonConfig cfg);
    ~Daemon();
    Daemon(const Daemon &) = delete;
    Daemon &operator=(const Daemon &) = delete;

    // Everything up to and including launching the workers. On failure err says why; call
    // shutdown() to release what was set up.
    bool start(std::string &err);
    // The control thread: the event loop until SIGINT/SIGTERM (or stop()).
    void run();
    void stop() { loop_.stop(); }
    // Stops the workers, prints the counters to stdout, closes ports and TAPs. Idempotent.
    void shutdown();

    // Hooks for the parts that come later (shell, DNS proxy, pull client).
    EventLoop &loop() { return loop_; }
    // Called on the control thread for every LAN sighting (a worker's, or from snooped ARP/ND);
    // the DNS learner (draft §5.2.2) subscribes here.
    void on_sighting(std::function<void(const dp::Sighting &)> f) { sighting_hooks_.push_back(std::move(f)); }
    // Called on the control thread with each option of a Router Advertisement seen on the WAN
    // (RFC 8781 PREF64 for the DNS learner).
    void on_ra_option(std::function<void(std::span<const uint8_t>)> f) { ra_hooks_.push_back(std::move(f)); }
    // dns.snooping: each DNS answer (UDP payload) a worker translated to a LAN host.
    void on_dns_answer(std::function<void(Ip4 host, std::span<const uint8_t>)> f) {
        dns_snoop_hooks_.push_back(std::move(f));
    }
    const dp::NeighborTable &neighbors(dp::PortRole r) const { return *neighbors_[static_cast<unsigned>(r)]; }
    // The EAMT the workers read (control thread: the table manager's sink writes here).
    tables::EamtTables *eamt() { return eamt_.get(); }
    tables::FlowTable *flows() { return flows_.get(); }

    // Prints every non-zero counter (workers summed, exception path, neighbors).
    void print_counters(FILE *out) const;

    // For the control plane (shell, telemetry): configuration, ports, counters by name.
    const DaemonConfig &config() const { return cfg_; }
    const dp::Port &port(dp::PortRole r) const { return ports_[static_cast<unsigned>(r)]; }
    size_t worker_count() const { return workers_.size(); }
    // Every dataplane counter summed over the workers, as (name, value), in a stable order:
    // fates (translator, daemon), translations by path, egress per port, mapper, exception path.
    std::vector<std::pair<std::string, uint64_t>> counter_list() const;
    dp::WorkerCounters sum_counters() const;
    std::vector<uint64_t> mapper_totals() const;
    uint32_t flow_clock_now() const { return flow_clock(); }
    ControlPlane *control() { return control_.get(); }

private:
    bool create_pools(std::string &err);
    bool open_ports(std::string &err);
    bool open_exception_paths(std::string &err);
    void build_classify_config();
    bool create_tables(std::string &err);
    bool launch_workers(std::string &err);
    void maintain_tables();
    uint32_t flow_clock() const;  // seconds, the clock the workers give the mappers

    // Control thread work.
    unsigned poll_exception_paths();
    unsigned poll_sightings();
    void snoop(dp::PortRole role, const rte_mbuf *m);
    void snoop_router_advertisement(const rte_mbuf *m);
    unsigned poll_dns_snoop();
    void learn(dp::PortRole role, const Ip6 &key, const rte_ether_addr &mac, bool from_wire);
    void resolve(dp::PortRole role, const Ip6 &key);
    void maintain_neighbors();
    rte_mempool *control_pool() const;

    DaemonConfig cfg_;
    EventLoop loop_;
    std::vector<unsigned> worker_lcores_;
    std::map<int, rte_mempool *> pools_;  // by socket
    dp::Port ports_[dp::port_role_count];
    std::unique_ptr<dp::NeighborTable> neighbors_[dp::port_role_count];
    std::unique_ptr<dp::ExceptionPath> exceptions_[dp::port_role_count];
    rte_ring *sightings_ = nullptr;
    dp::ClassifyConfig classify_;
    // The tables the workers read (RCU): EAMT from the config (later also the operator's and the
    // learned entries) and the flow pinning table (clat mode).
    std::unique_ptr<tables::Rcu> rcu_;
    std::unique_ptr<tables::EamtTables> eamt_;
    std::unique_ptr<tables::FlowTable> flows_;
    std::vector<std::unique_ptr<tables::DaemonMapper>> mappers_;  // one per worker
    std::vector<std::unique_ptr<dp::Worker>> workers_;
    std::atomic<bool> stop_workers_{false};
    bool workers_running_ = false;
    bool shut_down_ = false;
    std::map<Ip6, uint64_t> last_resolve_;  // neighbor key -> TSC of the last ARP request / NS sent
    std::vector<std::function<void(const dp::Sighting &)>> sighting_hooks_;
    std::unique_ptr<ControlPlane> control_;
    std::vector<std::function<void(std::span<const uint8_t>)>> ra_hooks_;
    std::vector<std::function<void(Ip4, std::span<const uint8_t>)>> dns_snoop_hooks_;
    rte_ring *dns_snoop_ = nullptr;  // table manager, DNS learner, shell, telemetry
    unsigned neighbor_ticks_ = 0;  // seconds of maintain_neighbors
    uint64_t sightings_consumed_ = 0;
    uint64_t neighbors_learned_ = 0;
    uint64_t neighbors_refused_ = 0;
};

}  // namespace eamclat
