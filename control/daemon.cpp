#include "daemon.hpp"

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <signal.h>

#include <cinttypes>
#include <cstring>
#include <set>

#include "control_plane.hpp"
#include "log.hpp"

namespace eamclat {

using dp::PortRole;

namespace {

constexpr unsigned sightings_ring_size = 1024;
// The exception path is polled every millisecond and re-polled at once while it has work: the
// kernel's traffic (ARP, ND, DNS, SSH) is light, a millisecond is invisible to it, and the main
// lcore does not spin (on a CE it often shares a physical core with other work).
constexpr auto exception_poll_period = std::chrono::milliseconds(1);
constexpr unsigned exception_max_rounds = 64;  // per wake-up, so timers and signals still run
constexpr auto neighbor_period = std::chrono::seconds(1);
constexpr unsigned gateway_refresh_seconds = 30;  // re-solicit the gateway even when known
constexpr unsigned mempool_cache = 256;

rte_ether_addr to_ether(const MacAddr &m) {
    rte_ether_addr e;
    memcpy(e.addr_bytes, m.b, 6);
    return e;
}

uint32_t pool_size_for(unsigned workers, bool control_socket, uint16_t rxd, uint16_t txd) {
    // Per worker: its RX rings and TX rings on both ports, its TX buffers, held packets and the
    // fragments one translation may produce. The control socket also holds the exception rings
    // and the TAP queues. Then the per-lcore caches.
    uint64_t n = static_cast<uint64_t>(workers) *
                 (dp::port_role_count * (rxd + txd) + dp::port_role_count * dp::Worker::burst +
                  dp::Worker::pending_max + xlat::Output::max);
    if (control_socket) n += dp::port_role_count * (2 * 1024 + 2 * 512 + 64);
    n += static_cast<uint64_t>(rte_lcore_count()) * mempool_cache;
    uint32_t size = 1023;
    while (size < n) size = size * 2 + 1;  // 2^k - 1 is the mempool's optimum
    return size;
}

}  // namespace

Daemon::Daemon(DaemonConfig cfg) : cfg_(std::move(cfg)) {}

Daemon::~Daemon() { shutdown(); }

bool Daemon::start(std::string &err) {
    const int level = cfg_.control.log_level == "debug"     ? RTE_LOG_DEBUG
                      : cfg_.control.log_level == "warning" ? RTE_LOG_WARNING
                      : cfg_.control.log_level == "error"   ? RTE_LOG_ERR
                      : cfg_.control.log_level == "notice"  ? RTE_LOG_NOTICE
                                                            : RTE_LOG_INFO;
    rte_log_set_level(eamclat_logtype, level);

    unsigned lcore;
    RTE_LCORE_FOREACH_WORKER(lcore) {
        if (cfg_.workers != 0 && worker_lcores_.size() == cfg_.workers) break;
        worker_lcores_.push_back(lcore);
    }
    if (worker_lcores_.empty()) {
        err = "no EAL worker lcore: give at least two lcores (e.g. -l 0-1; the main lcore runs the control thread)";
        return false;
    }
    if (cfg_.workers != 0 && worker_lcores_.size() < cfg_.workers) {
        err = "workers: " + std::to_string(cfg_.workers) + " configured but only " +
              std::to_string(worker_lcores_.size()) + " EAL worker lcores";
        return false;
    }
    if (!create_pools(err) || !open_ports(err)) return false;

    for (unsigned r = 0; r < dp::port_role_count; ++r) neighbors_[r] = std::make_unique<dp::NeighborTable>(1024);
    sightings_ = rte_ring_create_elem("eamclat_sightings", sizeof(dp::Sighting), sightings_ring_size,
                                      static_cast<int>(rte_socket_id()), RING_F_SC_DEQ);
    if (!sightings_) {
        err = std::string("cannot create the sightings ring: ") + rte_strerror(rte_errno);
        return false;
    }
    if (cfg_.dns.snooping) {
        dns_snoop_ = rte_ring_create("eamclat_dns_snoop", 1024, static_cast<int>(rte_socket_id()), RING_F_SC_DEQ);
        if (!dns_snoop_) {
            err = std::string("cannot create the dns snooping ring: ") + rte_strerror(rte_errno);
            return false;
        }
    }
    if (cfg_.ports.wan.ipv6_gateway && cfg_.ports.wan.gateway_mac)
        neighbors_[static_cast<unsigned>(PortRole::wan)]->set_static(*cfg_.ports.wan.ipv6_gateway,
                                                                    to_ether(*cfg_.ports.wan.gateway_mac));
    if (cfg_.ports.lan.ipv4_gateway && cfg_.ports.lan.gateway_mac)
        neighbors_[static_cast<unsigned>(PortRole::lan)]->set_static(dp::neighbor_key4(*cfg_.ports.lan.ipv4_gateway),
                                                                    to_ether(*cfg_.ports.lan.gateway_mac));

    build_classify_config();
    if (!create_tables(err)) return false;
    if (!open_exception_paths(err)) return false;
    for (auto &port : ports_)
        if (!dp::start_port(port, err)) return false;
    // The tables are filled (static entries, the saved learned table) before the first packet.
    control_ = std::make_unique<ControlPlane>(*this, cfg_);
    if (!control_->start(err)) return false;
    if (!launch_workers(err)) return false;

    loop_.on_signals({SIGINT, SIGTERM}, [this](int signo) {
        EAMCLAT_LOG(NOTICE, "signal %d: shutting down\n", signo);
        loop_.stop();
    });
    loop_.add_timer(exception_poll_period, [this] {
        for (unsigned round = 0; round < exception_max_rounds; ++round)
            if (poll_exception_paths() + poll_sightings() + poll_dns_snoop() == 0) break;
    });
    loop_.add_timer(neighbor_period, [this] {
        maintain_neighbors();
        maintain_tables();
    });
    maintain_neighbors();  // solicit the gateway now, not in a second
    return true;
}

bool Daemon::create_pools(std::string &err) {
    std::map<int, unsigned> workers_on;
    for (unsigned lc : worker_lcores_) ++workers_on[static_cast<int>(rte_lcore_to_socket_id(lc))];
    const int main_socket = static_cast<int>(rte_lcore_to_socket_id(rte_get_main_lcore()));
    workers_on.try_emplace(main_socket, 0);
    for (auto [socket, n] : workers_on) {
        const uint32_t size = pool_size_for(n, socket == main_socket, 1024, 1024);
        const std::string name = "eamclat_mbuf_s" + std::to_string(socket);
        // Headroom RTE_PKTMBUF_HEADROOM (128): room for the 20 bytes IPv4->IPv6 adds and an
        // Ethernet header without moving data.
        rte_mempool *p = rte_pktmbuf_pool_create(name.c_str(), size, mempool_cache, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                                 socket);
        if (!p) {
            err = "cannot create mempool " + name + " (" + std::to_string(size) + " mbufs): " + rte_strerror(rte_errno);
            return false;
        }
        pools_[socket] = p;
        EAMCLAT_LOG(INFO, "mempool %s: %u mbufs\n", name.c_str(), size);
    }
    return true;
}

rte_mempool *Daemon::control_pool() const {
    return pools_.at(static_cast<int>(rte_lcore_to_socket_id(rte_get_main_lcore())));
}

bool Daemon::open_ports(std::string &err) {
    const PortConfig *pc[dp::port_role_count] = {&cfg_.ports.lan, &cfg_.ports.wan};
    for (unsigned r = 0; r < dp::port_role_count; ++r) {
        dp::PortSetup setup;
        setup.device = pc[r]->device;
        if (pc[r]->mac) setup.mac = to_ether(*pc[r]->mac);
        setup.mtu = pc[r]->mtu;
        setup.workers = static_cast<unsigned>(worker_lcores_.size());
        for (unsigned lc : worker_lcores_) setup.rx_pools.push_back(pools_.at(static_cast<int>(rte_lcore_to_socket_id(lc))));
        auto port = dp::open_port(setup, err);
        if (!port) {
            err = std::string("ports.") + dp::port_role_name(static_cast<PortRole>(r)) + ": " + err;
            return false;
        }
        ports_[r] = *port;
    }
    if (ports_[0].id == ports_[1].id) {
        err = "ports.lan and ports.wan are the same port";
        return false;
    }
    return true;
}

void Daemon::build_classify_config() {
    classify_.mode = cfg_.xlat.mode;
    for (const auto &a : cfg_.ports.lan_ipv4) classify_.lan.add4(a.addr, a.len);
    for (const auto &a : cfg_.ports.lan_ipv6) classify_.lan.add6(a.addr, a.len);
    for (const auto &a : cfg_.ports.wan_ipv6) classify_.wan.add6(a.addr, a.len);
    memcpy(classify_.lan.mac, ports_[0].mac.addr_bytes, 6);
    memcpy(classify_.wan.mac, ports_[1].mac.addr_bytes, 6);
    if (cfg_.xlat.clat_prefix) {
        classify_.has_clat_prefix = true;
        classify_.clat_prefix = *cfg_.xlat.clat_prefix;
    }
    if (cfg_.delegated_prefix) {
        classify_.has_delegated = true;
        classify_.delegated = *cfg_.delegated_prefix;
    }
}

bool Daemon::open_exception_paths(std::string &err) {
    const PortConfig *pc[dp::port_role_count] = {&cfg_.ports.lan, &cfg_.ports.wan};
    for (unsigned r = 0; r < dp::port_role_count; ++r) {
        dp::ExceptionSetup s;
        s.role = static_cast<PortRole>(r);
        s.tap = pc[r]->tap;
        s.mac = ports_[r].mac;
        s.mtu = pc[r]->mtu;
        if (r == 0)
            for (const auto &a : cfg_.ports.lan_ipv4) s.ipv4.emplace_back(a.addr, a.len);
        for (const auto &a : r == 0 ? cfg_.ports.lan_ipv6 : cfg_.ports.wan_ipv6) s.ipv6.emplace_back(a.addr, a.len);
        if (r == 1) s.ipv6_gateway = pc[r]->ipv6_gateway;
        s.pool = control_pool();
        exceptions_[r] = std::make_unique<dp::ExceptionPath>();
        if (!exceptions_[r]->open(s, ports_[r], err)) {
            err = std::string("ports.") + dp::port_role_name(s.role) + ".tap: " + err;
            return false;
        }
    }
    return true;
}

bool Daemon::create_tables(std::string &err) {
    rcu_ = std::make_unique<tables::Rcu>(static_cast<uint32_t>(worker_lcores_.size()));
    tables::EamtCapacity cap;
    cap.global_entries = cfg_.limits.eamt_entries;
    cap.learned_entries = cfg_.limits.eamt_entries;
    cap.learned_per_host = cfg_.limits.learned_per_host;
    const int socket = static_cast<int>(rte_socket_id());
    eamt_ = std::make_unique<tables::EamtTables>(cap, *rcu_, socket);
    // The entries (static from the config, saved learned ones) come in through the control
    // plane's table manager, the single writer of these tables (control_plane.cpp).
    // Flow pinning (draft §5.2.6) is a CLAT matter; siit mode is stateless.
    if (cfg_.xlat.mode == xlat::Mode::clat && cfg_.limits.flows > 0) {
        tables::FlowTimeouts t;
        t.tcp_established = cfg_.timeouts.tcp_established;
        t.tcp_transitory = cfg_.timeouts.tcp_transitory;
        t.udp = cfg_.timeouts.udp;
        t.icmp = cfg_.timeouts.icmp;
        flows_ = std::make_unique<tables::FlowTable>(cfg_.limits.flows, t, *rcu_, socket);
    }
    EAMCLAT_LOG(INFO, "flow table: %u flows%s\n", flows_ ? cfg_.limits.flows : 0, flows_ ? "" : " (stateless)");
    return true;
}

uint32_t Daemon::flow_clock() const { return static_cast<uint32_t>(rte_get_tsc_cycles() / rte_get_tsc_hz()); }

void Daemon::maintain_tables() {
    // A slice of the flow table per second, so that the control thread never stalls on a full scan.
    constexpr uint32_t expiry_budget = 8192;
    if (flows_) {
        flows_->expire(flow_clock(), expiry_budget);
        flows_->reclaim();
    }
    if (eamt_) eamt_->reclaim();
}

bool Daemon::launch_workers(std::string &err) {
    const uint64_t hz = rte_get_tsc_hz();
    for (unsigned i = 0; i < worker_lcores_.size(); ++i) {
        const unsigned lc = worker_lcores_[i];
        // The worker's Mapper: over the RCU tables, pinning flows (draft §5.2.6).
        mappers_.push_back(std::make_unique<tables::DaemonMapper>(cfg_.xlat, *eamt_, flows_.get()));

        dp::WorkerSetup s;
        s.index = i;
        s.classify = &classify_;
        for (unsigned r = 0; r < dp::port_role_count; ++r) {
            dp::WorkerPort &wp = s.ports[r];
            wp.port_id = ports_[r].id;
            wp.queue = static_cast<uint16_t>(i);
            wp.mac = ports_[r].mac;
            wp.neighbors = neighbors_[r].get();
            wp.punt_ring = exceptions_[r]->punt_ring();
            wp.kernel_tx_ring = i == 0 ? exceptions_[r]->kernel_tx_ring() : nullptr;
        }
        if (cfg_.ports.wan.ipv6_gateway) {
            s.has_gateway = true;
            s.gateway = *cfg_.ports.wan.ipv6_gateway;
        }
        if (cfg_.ports.lan.ipv4_gateway) {
            s.has_gateway4 = true;
            s.gateway4 = *cfg_.ports.lan.ipv4_gateway;
        }
        s.xlat = xlat::Context{&cfg_.xlat, mappers_.back().get(),
                               pools_.at(static_cast<int>(rte_lcore_to_socket_id(lc)))};
        s.flow_mapper = mappers_.back().get();
        s.tsc_hz = hz;
        s.qsbr = rcu_->qsbr();
        s.qsbr_thread_id = i;
        s.sightings = sightings_;
        s.dns_snoop = dns_snoop_;
        s.stop = &stop_workers_;
        s.drain_tsc = hz / 10000;              // 100 us, as l3fwd
        s.sighting_interval_tsc = hz / 10;     // 100 ms
        s.neighbor_hold_tsc = hz;              // 1 s (the kernel holds unresolved packets ~1 s per probe)
        s.icmp6_error_interval_tsc = hz / 100;  // 100 ICMPv6 errors a second per worker, bursts of 10
        for (unsigned r = 0; r < dp::port_role_count; ++r) {
            // A global address of the link the invoking packet came in on (its sender must be able
            // to tell which router it was; traceroute6 shows it).
            const dp::LinkAddresses &link = classify_.link(static_cast<PortRole>(r));
            for (unsigned a = 0; a < link.n_ipv6 && !s.has_error_source[r]; ++a)
                if (link.ipv6[a].b[0] != 0xfe && link.ipv6[a].b[0] != 0xff) {
                    s.has_error_source[r] = true;
                    s.error_source[r] = link.ipv6[a];
                }
        }
        workers_.push_back(std::make_unique<dp::Worker>(s));
    }
    for (unsigned i = 0; i < workers_.size(); ++i) {
        int rc = rte_eal_remote_launch(dp::Worker::launch, workers_[i].get(), worker_lcores_[i]);
        if (rc != 0) {
            err = "cannot launch worker on lcore " + std::to_string(worker_lcores_[i]) + ": " + rte_strerror(-rc);
            stop_workers_.store(true, std::memory_order_release);
            rte_eal_mp_wait_lcore();
            return false;
        }
        workers_running_ = true;
    }
    EAMCLAT_LOG(INFO, "%zu worker(s) running\n", workers_.size());
    return true;
}

void Daemon::run() { loop_.run(); }

unsigned Daemon::poll_exception_paths() {
    unsigned work = 0;
    for (unsigned r = 0; r < dp::port_role_count; ++r) {
        auto &ex = exceptions_[r];
        if (!ex) continue;
        const PortRole role = static_cast<PortRole>(r);
        work += ex->to_kernel([this, role](rte_mbuf *m) { snoop(role, m); });
        work += ex->from_kernel();
    }
    return work;
}

// dns.snooping: copies of DNS answers the workers translated for LAN hosts.
unsigned Daemon::poll_dns_snoop() {
    if (!dns_snoop_) return 0;
    void *batch[16];
    const unsigned n = rte_ring_sc_dequeue_burst(dns_snoop_, batch, 16, nullptr);
    for (unsigned i = 0; i < n; ++i) {
        auto *m = static_cast<rte_mbuf *>(batch[i]);
        static thread_local uint8_t copy[65535];
        const uint32_t len = rte_pktmbuf_pkt_len(m);
        const uint8_t *ip = static_cast<const uint8_t *>(rte_pktmbuf_read(m, 0, len, copy));
        if (ip && len >= 28) {
            const uint32_t ihl = (ip[0] & 0x0fu) * 4;
            if (len >= ihl + 8 + 12) {
                const Ip4 host = static_cast<Ip4>(ip[16]) << 24 | static_cast<Ip4>(ip[17]) << 16 |
                                 static_cast<Ip4>(ip[18]) << 8 | ip[19];
                for (auto &hook : dns_snoop_hooks_) hook(host, std::span<const uint8_t>(ip + ihl + 8, len - ihl - 8));
            }
        }
        rte_pktmbuf_free(m);
    }
    return n;
}

unsigned Daemon::poll_sightings() {
    if (!sightings_) return 0;
    dp::Sighting batch[32];
    const unsigned n = rte_ring_sc_dequeue_burst_elem(sightings_, batch, sizeof(dp::Sighting), 32, nullptr);
    for (unsigned i = 0; i < n; ++i) {
        const dp::Sighting &s = batch[i];
        ++sightings_consumed_;
        if (s.port >= dp::port_role_count) continue;
        const PortRole role = static_cast<PortRole>(s.port);
        if (s.kind == dp::Sighting::resolve) {
            resolve(role, s.addr);
            continue;
        }
        learn(role, s.addr, s.mac, false);
        for (auto &hook : sighting_hooks_) hook(s);
    }
    return n;
}

void Daemon::snoop(PortRole role, const rte_mbuf *m) {
    if (role == PortRole::wan && !ra_hooks_.empty()) snoop_router_advertisement(m);
    uint8_t copy[128];
    const uint32_t len = RTE_MIN(rte_pktmbuf_pkt_len(m), static_cast<uint32_t>(sizeof copy));
    const uint8_t *frame = static_cast<const uint8_t *>(rte_pktmbuf_read(m, 0, len, copy));
    if (!frame) return;
    dp::Learned l;
    if (!dp::snoop_neighbor(frame, len, l)) return;
    learn(role, l.key, l.mac, true);
}

// RFC 4861 §4.2 Router Advertisement on the WAN (on its way to the kernel): hands each option to
// the subscribers (the DNS learner takes RFC 8781 PREF64, type 38). Only RAs that a router on the
// link could have sent: hop limit 255, ICMPv6 directly after the IPv6 header.
void Daemon::snoop_router_advertisement(const rte_mbuf *m) {
    uint8_t copy[1514];
    const uint32_t len = RTE_MIN(rte_pktmbuf_pkt_len(m), static_cast<uint32_t>(sizeof copy));
    const uint8_t *f = static_cast<const uint8_t *>(rte_pktmbuf_read(m, 0, len, copy));
    constexpr uint32_t ip6 = 14, icmp = ip6 + 40, opts = icmp + 16;
    if (!f || len < opts || f[12] != 0x86 || f[13] != 0xdd || (f[ip6] >> 4) != 6) return;
    if (f[ip6 + 6] != 58 || f[ip6 + 7] != 255 || f[icmp] != 134 || f[icmp + 1] != 0) return;
    const uint32_t end = RTE_MIN(len, opts + (static_cast<uint32_t>(f[ip6 + 4]) << 8 | f[ip6 + 5]) - 16);
    for (uint32_t off = opts; off + 2 <= end;) {
        const uint32_t olen = f[off + 1] * 8u;
        if (olen == 0 || off + olen > end) return;  // RFC 4861 §4.6: length 0 is invalid
        for (auto &hook : ra_hooks_) hook(std::span<const uint8_t>(f + off, olen));
        off += olen;
    }
}

void Daemon::learn(PortRole role, const Ip6 &key, const rte_ether_addr &mac, bool from_wire) {
    Ip4 a4;
    const bool is4 = dp::neighbor_key_is4(key, &a4);
    if (is4 && !classify_.link(role).on_link4(a4)) return;  // ARP for other subnets: not a neighbor of ours
    const auto u = neighbors_[static_cast<unsigned>(role)]->learn(key, mac);
    if (u == dp::NeighborTable::Update::added || u == dp::NeighborTable::Update::changed) {
        ++neighbors_learned_;
        EAMCLAT_LOG(DEBUG, "neighbor %s %s -> %s (%s)\n", dp::port_role_name(role),
                    is4 ? ip4_str(a4).c_str() : key.str().c_str(), dp::mac_str(mac).c_str(),
                    from_wire ? "arp/nd" : "sighting");
    } else if (u == dp::NeighborTable::Update::full) {
        ++neighbors_refused_;
    }
    if (from_wire && role == PortRole::lan) {
        // ARP / ND seen by the control thread is a sighting too (for the DNS learner).
        dp::Sighting s{};
        s.kind = is4 ? dp::Sighting::ipv4_host : dp::Sighting::ipv6_host;
        s.port = static_cast<uint8_t>(role);
        s.mac = mac;
        s.addr = key;
        for (auto &hook : sighting_hooks_) hook(s);
    }
}

void Daemon::resolve(PortRole role, const Ip6 &key) {
    const uint64_t now = rte_get_tsc_cycles();
    auto it = last_resolve_.find(key);
    if (it != last_resolve_.end() && now - it->second < rte_get_tsc_hz()) return;  // once a second
    if (last_resolve_.size() > 4096) last_resolve_.clear();  // bounded: hostile traffic can name many
    last_resolve_[key] = now;

    const unsigned r = static_cast<unsigned>(role);
    const dp::LinkAddresses &link = classify_.link(role);
    rte_mbuf *m = nullptr;
    Ip4 target4;
    if (dp::neighbor_key_is4(key, &target4)) {
        if (!link.on_link4(target4)) return;  // never ARP for what cannot be on the link
        Ip4 sender = link.ipv4[0];
        for (unsigned i = 0; i < link.n_ipv4; ++i)
            if (link.subnet4[i].contains(target4)) sender = link.ipv4[i];
        m = dp::build_arp_request(control_pool(), ports_[r].mac, sender, target4);
    } else {
        // Source: our address on the target's prefix, else a global one, else the link-local the
        // kernel also derives from the same MAC (the NA comes back to an address we punt).
        Ip6 src = dp::link_local_eui64(ports_[r].mac);
        bool chosen = false;
        for (unsigned i = 0; i < link.n_ipv6 && !chosen; ++i)
            if (link.onlink6[i].contains(key)) src = link.ipv6[i], chosen = true;
        for (unsigned i = 0; i < link.n_ipv6 && !chosen; ++i)
            if (link.ipv6[i].b[0] != 0xfe) src = link.ipv6[i], chosen = true;
        m = dp::build_neighbor_solicitation(control_pool(), ports_[r].mac, src, key);
    }
    if (m) exceptions_[r]->send(m);
}

void Daemon::maintain_neighbors() {
    if (!cfg_.ports.wan.ipv6_gateway || cfg_.ports.wan.gateway_mac) return;
    rte_ether_addr mac;
    const bool known = neighbors_[static_cast<unsigned>(PortRole::wan)]->lookup(*cfg_.ports.wan.ipv6_gateway, mac);
    if (!known || neighbor_ticks_++ % gateway_refresh_seconds == 0) {
        last_resolve_.erase(*cfg_.ports.wan.ipv6_gateway);
        resolve(PortRole::wan, *cfg_.ports.wan.ipv6_gateway);
    }
}

void Daemon::shutdown() {
    if (shut_down_) return;
    shut_down_ = true;
    if (control_) control_->stop();  // saves the learned table while everything still runs
    if (workers_running_) {
        stop_workers_.store(true, std::memory_order_release);
        rte_eal_mp_wait_lcore();
        workers_running_ = false;
    }
    // Deliver what is still queued for the kernel, then report.
    if (!workers_.empty()) {
        poll_exception_paths();
        poll_sightings();
        print_counters(stdout);
    }
    for (auto &ex : exceptions_)
        if (ex) ex->close();
    for (auto &port : ports_) dp::close_port(port);
    if (sightings_) rte_ring_free(sightings_);
    sightings_ = nullptr;
    if (dns_snoop_) {
        void *m;
        while (rte_ring_sc_dequeue(dns_snoop_, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf *>(m));
        rte_ring_free(dns_snoop_);
    }
    dns_snoop_ = nullptr;
    workers_.clear();
    mappers_.clear();
    control_.reset();  // its sink points into the tables freed below
    // Workers are offline: the grace periods are over, everything retired can go.
    if (flows_) flows_->reclaim_all();
    if (eamt_) eamt_->reclaim_all();
    flows_.reset();
    eamt_.reset();
    rcu_.reset();
    for (auto &[socket, pool] : pools_) rte_mempool_free(pool);
    pools_.clear();
}

dp::WorkerCounters Daemon::sum_counters() const {
    dp::WorkerCounters sum;
    for (const auto &w : workers_) {
        const dp::WorkerCounters &c = w->counters();
        sum.loops += dp::read_counter(c.loops);
        for (unsigned i = 0; i < dp::port_role_count; ++i) sum.rx[i] += dp::read_counter(c.rx[i]);
        for (unsigned i = 0; i < dp::fate_count; ++i) sum.fate[i] += dp::read_counter(c.fate[i]);
        for (unsigned i = 0; i < xlat::fate_count; ++i) sum.xlat_fate[i] += dp::read_counter(c.xlat_fate[i]);
        for (unsigned i = 0; i < dp::path_count; ++i) {
            sum.translated_4to6_by_path[i] += dp::read_counter(c.translated_4to6_by_path[i]);
            sum.translated_6to4_by_path[i] += dp::read_counter(c.translated_6to4_by_path[i]);
        }
        for (unsigned p = 0; p < dp::port_role_count; ++p)
            for (unsigned i = 0; i < dp::egress_count; ++i) sum.egress[p][i] += dp::read_counter(c.egress[p][i]);
        sum.neighbor_queued += dp::read_counter(c.neighbor_queued);
        sum.sightings_sent += dp::read_counter(c.sightings_sent);
        sum.sightings_ring_full += dp::read_counter(c.sightings_ring_full);
        sum.dns_snooped += dp::read_counter(c.dns_snooped);
        sum.dns_snoop_dropped += dp::read_counter(c.dns_snoop_dropped);
    }
    return sum;
}

// The mappers' flow counters (EAMCLAT_MAPPER_COUNTERS order), summed over the workers.
std::vector<uint64_t> Daemon::mapper_totals() const {
    std::vector<uint64_t> totals;
    for (const auto &m : mappers_) {
        std::vector<uint64_t> one = {
#define EAMCLAT_X(name, desc) m->counters().name.load(std::memory_order_relaxed),
            EAMCLAT_MAPPER_COUNTERS(EAMCLAT_X)
#undef EAMCLAT_X
        };
        totals.resize(one.size());
        for (size_t i = 0; i < one.size(); i++) totals[i] += one[i];
    }
    if (totals.empty()) {
        totals = {
#define EAMCLAT_X(name, desc) 0,
            EAMCLAT_MAPPER_COUNTERS(EAMCLAT_X)
#undef EAMCLAT_X
        };
    }
    return totals;
}

std::vector<std::pair<std::string, uint64_t>> Daemon::counter_list() const {
    std::vector<std::pair<std::string, uint64_t>> out;
    const dp::WorkerCounters sum = sum_counters();
    for (unsigned r = 0; r < dp::port_role_count; ++r) {
        const std::string port = dp::port_role_name(static_cast<PortRole>(r));
        out.emplace_back(port + ".rx", sum.rx[r]);
        for (unsigned i = 0; i < dp::egress_count; ++i)
            out.emplace_back(port + ".tx." + dp::egress_info[i].name, sum.egress[r][i]);
    }
    for (unsigned i = 0; i < xlat::fate_count; ++i) out.emplace_back(xlat::fate_info[i].name, sum.xlat_fate[i]);
    for (unsigned i = 0; i < dp::fate_count; ++i) out.emplace_back(dp::fate_info[i].name, sum.fate[i]);
    for (unsigned i = 1; i < dp::path_count; ++i) {
        const std::string path = xlat::path_name(static_cast<xlat::Path>(i));
        out.emplace_back("translated_4to6." + path, sum.translated_4to6_by_path[i]);
        out.emplace_back("translated_6to4." + path, sum.translated_6to4_by_path[i]);
    }
    const auto mapper_counts = mapper_totals();
    {
        unsigned i = 0;
#define EAMCLAT_X(name, desc) out.emplace_back(std::string("mapper.") + #name, mapper_counts[i++]);
        EAMCLAT_MAPPER_COUNTERS(EAMCLAT_X)
#undef EAMCLAT_X
    }
    for (unsigned r = 0; r < dp::port_role_count; ++r) {
        if (!exceptions_[r]) continue;
        const dp::ExceptionCounters &c = exceptions_[r]->counters();
        const std::string p = std::string("exception.") + dp::port_role_name(static_cast<PortRole>(r)) + ".";
        out.emplace_back(p + "to_kernel", c.to_kernel);
        out.emplace_back(p + "from_kernel", c.from_kernel);
        out.emplace_back(p + "generated", c.generated);
        out.emplace_back(p + "to_kernel_dropped", c.to_kernel_no_tap + c.to_kernel_tx_full);
        out.emplace_back(p + "from_kernel_dropped", c.from_kernel_dropped + c.generated_dropped);
    }
    out.emplace_back("neighbors.held", sum.neighbor_queued);
    out.emplace_back("sightings.sent", sum.sightings_sent);
    out.emplace_back("sightings.ring_full", sum.sightings_ring_full);
    out.emplace_back("dns_snoop.copied", sum.dns_snooped);
    out.emplace_back("dns_snoop.dropped", sum.dns_snoop_dropped);
    return out;
}

void Daemon::print_counters(FILE *out) const {
    const dp::WorkerCounters sum = sum_counters();
    fprintf(out, "eamclat counters (%zu workers, %" PRIu64 " loops)\n", workers_.size(), sum.loops);
    for (unsigned r = 0; r < dp::port_role_count; ++r) {
        const char *name = dp::port_role_name(static_cast<PortRole>(r));
        fprintf(out, "  port %s (%s): rx %" PRIu64 "\n", name, ports_[r].name.c_str(), sum.rx[r]);
        for (unsigned i = 0; i < dp::egress_count; ++i)
            if (sum.egress[r][i])
                fprintf(out, "    tx.%-24s %12" PRIu64 "  %s\n", dp::egress_info[i].name, sum.egress[r][i],
                        dp::egress_info[i].description);
    }
    fprintf(out, "  fates of received frames:\n");
    for (unsigned i = 0; i < xlat::fate_count; ++i)
        if (sum.xlat_fate[i])
            fprintf(out, "    %-30s %12" PRIu64 "  %s\n", xlat::fate_info[i].name, sum.xlat_fate[i],
                    xlat::fate_info[i].description);
    for (unsigned i = 0; i < dp::fate_count; ++i)
        if (sum.fate[i])
            fprintf(out, "    %-30s %12" PRIu64 "  %s\n", dp::fate_info[i].name, sum.fate[i], dp::fate_info[i].description);
    for (unsigned i = 0; i < dp::path_count; ++i) {
        const char *path = xlat::path_name(static_cast<xlat::Path>(i));
        if (sum.translated_4to6_by_path[i])
            fprintf(out, "    translated_4to6.%-14s %12" PRIu64 "\n", path, sum.translated_4to6_by_path[i]);
        if (sum.translated_6to4_by_path[i])
            fprintf(out, "    translated_6to4.%-14s %12" PRIu64 "\n", path, sum.translated_6to4_by_path[i]);
    }
    static const dp::FateInfo mapper_info[] = {
#define EAMCLAT_X(name, desc) {#name, desc},
        EAMCLAT_MAPPER_COUNTERS(EAMCLAT_X)
#undef EAMCLAT_X
    };
    const auto mapper_counts = mapper_totals();
    for (unsigned i = 0; i < mapper_counts.size(); ++i)
        if (mapper_counts[i])
            fprintf(out, "    mapper.%-23s %12" PRIu64 "  %s\n", mapper_info[i].name, mapper_counts[i],
                    mapper_info[i].description);
    fprintf(out, "  neighbors: held %" PRIu64 ", sightings sent %" PRIu64 " (ring full %" PRIu64
                 "), consumed %" PRIu64 ", learned %" PRIu64 ", table full %" PRIu64 "\n",
            sum.neighbor_queued, sum.sightings_sent, sum.sightings_ring_full, sightings_consumed_, neighbors_learned_,
            neighbors_refused_);
    for (unsigned r = 0; r < dp::port_role_count; ++r) {
        if (!neighbors_[r]) continue;
        neighbors_[r]->for_each([&](const Ip6 &key, const rte_ether_addr &mac, dp::NeighborState st) {
            Ip4 a4;
            fprintf(out, "    %s %-40s %s%s\n", dp::port_role_name(static_cast<PortRole>(r)),
                    dp::neighbor_key_is4(key, &a4) ? ip4_str(a4).c_str() : key.str().c_str(), dp::mac_str(mac).c_str(),
                    st == dp::NeighborState::static_entry ? " static" : "");
        });
    }
    for (unsigned r = 0; r < dp::port_role_count; ++r) {
        if (!exceptions_[r]) continue;
        const dp::ExceptionCounters &c = exceptions_[r]->counters();
        fprintf(out,
                "  exception %s: to kernel %" PRIu64 " (no tap %" PRIu64 ", tap full %" PRIu64 "), from kernel %" PRIu64
                " (dropped %" PRIu64 "), generated %" PRIu64 " (dropped %" PRIu64 ")\n",
                dp::port_role_name(static_cast<PortRole>(r)), c.to_kernel, c.to_kernel_no_tap, c.to_kernel_tx_full,
                c.from_kernel, c.from_kernel_dropped, c.generated, c.generated_dropped);
    }
    fflush(out);
}

}  // namespace eamclat
