#include "exception.hpp"

#include <rte_errno.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>

#include "log.hpp"

namespace eamclat::dp {

bool run_ip(const std::vector<std::string> &args, std::string &err) {
    std::vector<char *> argv;
    argv.push_back(const_cast<char *>("ip"));
    for (const auto &a : args) argv.push_back(const_cast<char *>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = fork();
    if (pid < 0) {
        err = "fork failed";
        return false;
    }
    if (pid == 0) {
        execvp("ip", argv.data());
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        err = "'ip";
        for (const auto &a : args) err += " " + a;
        err += "' failed (status " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")";
        return false;
    }
    return true;
}

namespace {

bool valid_ifname(const std::string &s) {
    if (s.empty() || s.size() > 15) return false;
    for (char c : s)
        if (!isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
    return true;
}

std::string prefix_str(const std::string &addr, uint8_t len) { return addr + "/" + std::to_string(len); }

}  // namespace

bool ExceptionPath::open(const ExceptionSetup &setup, const Port &physical, std::string &err) {
    setup_ = setup;
    physical_port_ = physical.id;
    physical_txq_ = physical.exception_tx_queue;
    const std::string role = port_role_name(setup.role);

    const std::string punt_name = "eamclat_punt_" + role;
    punt_ring_ = rte_ring_create(punt_name.c_str(), setup.ring_size, rte_socket_id(), RING_F_SC_DEQ);
    if (!punt_ring_) {
        err = "cannot create ring " + punt_name + ": " + rte_strerror(rte_errno);
        return false;
    }
    if (physical_txq_ < 0) {
        const std::string name = "eamclat_ktx_" + role;
        kernel_tx_ring_ = rte_ring_create(name.c_str(), setup.ring_size, rte_socket_id(), RING_F_SP_ENQ | RING_F_SC_DEQ);
        if (!kernel_tx_ring_) {
            err = "cannot create ring " + name + ": " + rte_strerror(rte_errno);
            return false;
        }
    }
    if (setup.tap.empty()) return true;

    if (!valid_ifname(setup.tap)) {
        err = "invalid tap interface name '" + setup.tap + "'";
        return false;
    }
    // net_tap creates the kernel interface; mac= makes the kernel's own frames (ARP replies, NA)
    // carry the physical port's MAC.
    const std::string devargs = "net_tap_eamclat_" + role + ",iface=" + setup.tap + ",mac=" + mac_str(setup.mac);
    bool hotplugged = false;
    auto id = probe_device(devargs, hotplugged, err);
    if (!id) return false;
    tap_.id = *id;
    tap_.hotplugged = hotplugged;
    tap_.name = "net_tap_eamclat_" + role;
    rte_eth_conf conf{};
    int rc = rte_eth_dev_configure(tap_.id, 1, 1, &conf);
    if (rc == 0) rc = rte_eth_rx_queue_setup(tap_.id, 0, 512, rte_eth_dev_socket_id(tap_.id), nullptr, setup.pool);
    if (rc == 0) rc = rte_eth_tx_queue_setup(tap_.id, 0, 512, rte_eth_dev_socket_id(tap_.id), nullptr);
    if (rc != 0) {
        err = setup.tap + ": TAP queue setup failed: " + rte_strerror(-rc);
        return false;
    }
    rte_eth_dev_set_mtu(tap_.id, setup.mtu);
    rc = rte_eth_dev_start(tap_.id);  // also brings the kernel interface up
    if (rc != 0) {
        err = setup.tap + ": TAP start failed: " + rte_strerror(-rc);
        return false;
    }
    tap_.started = true;

    // The kernel must not treat the TAP as a router port: the dataplane forwards, the kernel is a
    // host on each link. nodad: the addresses are the box's by configuration and DAD would delay
    // them by a second.
    for (const auto &[addr, len] : setup.ipv4)
        if (!run_ip({"addr", "replace", prefix_str(ip4_str(addr), len), "dev", setup.tap}, err)) return false;
    for (const auto &[addr, len] : setup.ipv6)
        if (!run_ip({"-6", "addr", "replace", prefix_str(addr.str(), len), "dev", setup.tap, "nodad"}, err))
            return false;
    if (setup.ipv6_gateway &&
        !run_ip({"-6", "route", "replace", "default", "via", setup.ipv6_gateway->str(), "dev", setup.tap}, err))
        return false;
    EAMCLAT_LOG(INFO, "exception path %s: tap %s (port %u) mac %s, kernel TX via %s\n", role.c_str(),
                setup.tap.c_str(), tap_.id, mac_str(setup.mac).c_str(),
                physical_txq_ >= 0 ? "dedicated queue" : "worker 0");
    return true;
}

void ExceptionPath::close() {
    if (tap_.id != UINT16_MAX) close_port(tap_);
    auto drain = [](rte_ring *r) {
        if (!r) return;
        void *m;
        while (rte_ring_dequeue(r, &m) == 0) rte_pktmbuf_free(static_cast<rte_mbuf *>(m));
        rte_ring_free(r);
    };
    drain(punt_ring_);
    drain(kernel_tx_ring_);
    punt_ring_ = kernel_tx_ring_ = nullptr;
}

unsigned ExceptionPath::transmit(rte_mbuf **pkts, unsigned n) {
    if (physical_txq_ >= 0)
        return rte_eth_tx_burst(physical_port_, static_cast<uint16_t>(physical_txq_), pkts, static_cast<uint16_t>(n));
    return rte_ring_sp_enqueue_burst(kernel_tx_ring_, reinterpret_cast<void **>(pkts), n, nullptr);
}

unsigned ExceptionPath::from_kernel() {
    if (!has_tap()) return 0;
    constexpr unsigned burst = 32;
    rte_mbuf *pkts[burst];
    const unsigned n = rte_eth_rx_burst(tap_.id, 0, pkts, burst);
    if (n == 0) return 0;
    const unsigned sent = transmit(pkts, n);
    counters_.from_kernel += sent;
    if (sent < n) {
        rte_pktmbuf_free_bulk(pkts + sent, n - sent);
        counters_.from_kernel_dropped += n - sent;
    }
    return n;
}

bool ExceptionPath::send(rte_mbuf *m) {
    if (transmit(&m, 1) == 1) {
        ++counters_.generated;
        return true;
    }
    rte_pktmbuf_free(m);
    ++counters_.generated_dropped;
    return false;
}

}  // namespace eamclat::dp
