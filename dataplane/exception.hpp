// Exception path: packets for the box itself go to the kernel through a TAP interface carrying the
// box's addresses, and what the kernel sends goes out of the physical port.
//
//   worker --punt ring (MP/SC)--> control thread --TX--> net_tap port ==> kernel (eamclat-lan)
//   kernel ==> net_tap port --RX--> control thread --dedicated TX queue--> physical port
//                                                 \--kernel_tx ring (SP/SC)--> worker 0 --TX-->
//
// The TAP is a DPDK net_tap port (hot-plugged with rte_dev_probe) whose MAC is set to the physical
// port's, so the kernel's ARP and ND answers carry the right MAC. The kernel answers ARP, NS, ping,
// DHCP, DNS and SSH with its ordinary stack; the DNS proxy later uses ordinary sockets.
#pragma once

#include <rte_ether.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "classify.hpp"
#include "ports.hpp"
#include "xlat/types.hpp"

struct rte_mbuf;
struct rte_mempool;
struct rte_ring;

namespace eamclat::dp {

struct ExceptionSetup {
    PortRole role = PortRole::lan;
    std::string tap;  // kernel interface name; "" = no TAP (punted packets are snooped, then dropped)
    rte_ether_addr mac{};
    uint16_t mtu = 1500;
    std::vector<std::pair<Ip4, uint8_t>> ipv4;  // address, on-link prefix length
    std::vector<std::pair<Ip6, uint8_t>> ipv6;
    std::optional<Ip6> ipv6_gateway;  // default route of the kernel on this interface
    rte_mempool *pool = nullptr;
    unsigned ring_size = 1024;
};

// Counters of the exception path (control thread writes, read at shutdown / by the shell).
struct ExceptionCounters {
    uint64_t to_kernel = 0;           // punted packets written to the TAP
    uint64_t to_kernel_no_tap = 0;    // punted packets dropped: no TAP configured
    uint64_t to_kernel_tx_full = 0;   // punted packets dropped: TAP TX full
    uint64_t from_kernel = 0;         // kernel packets handed to the physical port (queue or ring)
    uint64_t from_kernel_dropped = 0; // kernel packets dropped: TX queue / ring full
    uint64_t generated = 0;           // ARP requests / NS built by the control thread
    uint64_t generated_dropped = 0;
};

class ExceptionPath {
public:
    ExceptionPath() = default;
    ExceptionPath(const ExceptionPath &) = delete;
    ExceptionPath &operator=(const ExceptionPath &) = delete;
    ~ExceptionPath() { close(); }

    // Creates the rings, and the TAP (if setup.tap is set): probe, queues, start, then the box's
    // addresses with `ip` (start-up only). `physical` is the port the kernel's packets leave by.
    bool open(const ExceptionSetup &setup, const Port &physical, std::string &err);
    void close();

    rte_ring *punt_ring() const { return punt_ring_; }          // workers enqueue (MP)
    rte_ring *kernel_tx_ring() const { return kernel_tx_ring_; }  // worker 0 dequeues when non-null
    bool has_tap() const { return tap_.id != UINT16_MAX; }

    // Control thread. Drains the punt ring into the TAP, calling snoop(frame mbuf) on each first.
    // Returns the number of packets moved.
    template <typename Snoop> unsigned to_kernel(Snoop &&snoop);
    // Control thread. Moves what the kernel sent to the physical port.
    unsigned from_kernel();
    // Control thread. Sends a frame the control thread built (ARP request, NS). Consumes m.
    bool send(rte_mbuf *m);

    const ExceptionCounters &counters() const { return counters_; }

private:
    unsigned transmit(rte_mbuf **pkts, unsigned n);  // to the physical port; returns sent

    ExceptionSetup setup_;
    Port tap_;
    uint16_t physical_port_ = UINT16_MAX;
    int physical_txq_ = -1;
    rte_ring *punt_ring_ = nullptr;
    rte_ring *kernel_tx_ring_ = nullptr;
    ExceptionCounters counters_;
};

// Runs `ip ARGS...` (no shell). Start-up only.
bool run_ip(const std::vector<std::string> &args, std::string &err);

}  // namespace eamclat::dp

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

namespace eamclat::dp {

template <typename Snoop> unsigned ExceptionPath::to_kernel(Snoop &&snoop) {
    constexpr unsigned burst = 32;
    rte_mbuf *pkts[burst];
    const unsigned n = rte_ring_sc_dequeue_burst(punt_ring_, reinterpret_cast<void **>(pkts), burst, nullptr);
    for (unsigned i = 0; i < n; ++i) snoop(pkts[i]);
    if (n == 0) return 0;
    if (!has_tap()) {
        rte_pktmbuf_free_bulk(pkts, n);
        counters_.to_kernel_no_tap += n;
        return n;
    }
    const unsigned sent = rte_eth_tx_burst(tap_.id, 0, pkts, static_cast<uint16_t>(n));
    counters_.to_kernel += sent;
    if (sent < n) {
        rte_pktmbuf_free_bulk(pkts + sent, n - sent);
        counters_.to_kernel_tx_full += n - sent;
    }
    return n;
}

}  // namespace eamclat::dp
