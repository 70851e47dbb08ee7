// DPDK ports: finding or hot-plugging the device the config names, queues, RSS, MTU, start/stop.
// Start-up and shutdown only (never called from a worker).
#pragma once

#include <rte_ether.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

struct rte_mempool;

namespace eamclat::dp {

struct PortSetup {
    std::string device;                   // port name / PCI address, or vdev devargs to hot-plug
    std::optional<rte_ether_addr> mac;    // override of the port's own MAC
    uint16_t mtu = 1500;                  // L3 MTU
    unsigned workers = 1;                 // one RX and one TX queue per worker
    std::vector<rte_mempool *> rx_pools;  // per worker: the mempool of the worker's socket
    uint16_t rx_descriptors = 1024;
    uint16_t tx_descriptors = 1024;
};

struct Port {
    uint16_t id = UINT16_MAX;
    std::string name;
    std::string driver;
    rte_ether_addr mac{};
    uint16_t rx_queues = 0;
    uint16_t tx_queues = 0;
    // A TX queue of its own for what the kernel sends (exception path), when the port has one
    // more TX queue than workers; otherwise -1 and worker 0 transmits those packets for the
    // control thread (handed over through a ring), so every TX queue keeps a single writer.
    int exception_tx_queue = -1;
    bool rss = false;
    bool hotplugged = false;  // we probed it: we remove it at shutdown
    bool started = false;
};

// Finds or probes the device, configures queues (RSS over IP when the port offers it and there is
// more than one worker), sets MAC and MTU, enables promiscuous mode. Does not start it.
// net_af_packet devargs without qpairs= get qpairs=<workers> appended (one socket per queue pair;
// af_packet's fanout spreads flows over them).
std::optional<Port> open_port(const PortSetup &setup, std::string &err);
bool start_port(Port &port, std::string &err);
// Stops, closes and (if we probed it) removes the device. Safe on a port never started.
void close_port(Port &port);

// Hot-plugs `devargs` ("driver_name,k=v,...") unless a port of that name already exists and
// returns the port id. Shared with the exception path (net_tap).
std::optional<uint16_t> probe_device(const std::string &devargs, bool &hotplugged, std::string &err);

std::string mac_str(const rte_ether_addr &mac);

}  // namespace eamclat::dp
