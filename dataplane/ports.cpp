#include "ports.hpp"

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_ethdev.h>

#include <cstdio>

#include "log.hpp"

namespace eamclat::dp {

std::string mac_str(const rte_ether_addr &mac) {
    char buf[RTE_ETHER_ADDR_FMT_SIZE];
    rte_ether_format_addr(buf, sizeof buf, &mac);
    return buf;
}

std::optional<uint16_t> probe_device(const std::string &devargs, bool &hotplugged, std::string &err) {
    hotplugged = false;
    const std::string name = devargs.substr(0, devargs.find(','));
    uint16_t id;
    if (rte_eth_dev_get_port_by_name(name.c_str(), &id) == 0) {
        if (name != devargs) {
            err = "port '" + name + "' already exists (from EAL --vdev?): its devargs in the config are ignored, "
                  "give only the name";
            return std::nullopt;
        }
        return id;
    }
    int rc = rte_dev_probe(devargs.c_str());
    if (rc < 0) {
        err = "cannot probe device '" + devargs + "': " + rte_strerror(-rc);
        return std::nullopt;
    }
    hotplugged = true;
    // A PCI device's ports are named after its address; a vdev's port after the vdev name.
    if (rte_eth_dev_get_port_by_name(name.c_str(), &id) != 0) {
        err = "device '" + devargs + "' probed but no port named '" + name + "'";
        return std::nullopt;
    }
    return id;
}

std::optional<Port> open_port(const PortSetup &setup, std::string &err) {
    std::string devargs = setup.device;
    const bool af_packet = devargs.rfind("net_af_packet", 0) == 0;
    if (af_packet && devargs.find(',') != std::string::npos && devargs.find("qpairs=") == std::string::npos &&
        setup.workers > 1)
        devargs += ",qpairs=" + std::to_string(setup.workers);

    Port port;
    auto id = probe_device(devargs, port.hotplugged, err);
    if (!id) return std::nullopt;
    port.id = *id;
    char name[RTE_ETH_NAME_MAX_LEN];
    rte_eth_dev_get_name_by_port(port.id, name);
    port.name = name;

    rte_eth_dev_info info;
    int rc = rte_eth_dev_info_get(port.id, &info);
    if (rc != 0) {
        err = port.name + ": cannot get device info: " + rte_strerror(-rc);
        return std::nullopt;
    }
    port.driver = info.driver_name ? info.driver_name : "";
    if (info.max_rx_queues < setup.workers || info.max_tx_queues < setup.workers) {
        err = port.name + ": offers " + std::to_string(info.max_rx_queues) + " RX / " +
              std::to_string(info.max_tx_queues) + " TX queues, " + std::to_string(setup.workers) +
              " workers need one each" +
              (af_packet ? " (net_af_packet: add qpairs=N to its devargs)" : "");
        return std::nullopt;
    }
    port.rx_queues = static_cast<uint16_t>(setup.workers);
    port.tx_queues = static_cast<uint16_t>(setup.workers);
    if (info.max_tx_queues > setup.workers) {
        port.exception_tx_queue = static_cast<int>(setup.workers);
        port.tx_queues = static_cast<uint16_t>(setup.workers + 1);
    }

    rte_eth_conf conf{};
    const uint64_t rss_hf = info.flow_type_rss_offloads & RTE_ETH_RSS_IP;
    if (setup.workers > 1 && rss_hf != 0) {
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_hf = rss_hf;
        port.rss = true;
    } else if (setup.workers > 1) {
        EAMCLAT_LOG(WARNING, "%s: no RSS over IP; flows are spread by the driver (af_packet fanout) or not at all\n",
                    port.name.c_str());
    }
    // Checksums: the translator updates them incrementally in software (RFC 1624), which costs less
    // than preparing per-packet TX offload metadata, and validates the IPv4 header checksum itself;
    // vdevs offer no offloads anyway. So no checksum offload is requested.
    rc = rte_eth_dev_configure(port.id, port.rx_queues, port.tx_queues, &conf);
    if (rc != 0) {
        err = port.name + ": configure failed: " + rte_strerror(-rc);
        return std::nullopt;
    }
    uint16_t rxd = setup.rx_descriptors, txd = setup.tx_descriptors;
    rte_eth_dev_adjust_nb_rx_tx_desc(port.id, &rxd, &txd);
    const int socket = rte_eth_dev_socket_id(port.id);
    for (uint16_t q = 0; q < port.rx_queues; ++q) {
        rc = rte_eth_rx_queue_setup(port.id, q, rxd, socket, nullptr, setup.rx_pools.at(q));
        if (rc != 0) {
            err = port.name + ": RX queue " + std::to_string(q) + " setup failed: " + rte_strerror(-rc);
            return std::nullopt;
        }
    }
    for (uint16_t q = 0; q < port.tx_queues; ++q) {
        rc = rte_eth_tx_queue_setup(port.id, q, txd, socket, nullptr);
        if (rc != 0) {
            err = port.name + ": TX queue " + std::to_string(q) + " setup failed: " + rte_strerror(-rc);
            return std::nullopt;
        }
    }

    rte_eth_macaddr_get(port.id, &port.mac);
    if (setup.mac) {
        rc = rte_eth_dev_default_mac_addr_set(port.id, const_cast<rte_ether_addr *>(&*setup.mac));
        if (rc != 0)
            EAMCLAT_LOG(WARNING, "%s: cannot program MAC %s (%s); using it in software (promiscuous)\n",
                        port.name.c_str(), mac_str(*setup.mac).c_str(), rte_strerror(-rc));
        port.mac = *setup.mac;
    }
    rc = rte_eth_dev_set_mtu(port.id, setup.mtu);
    if (rc != 0)
        EAMCLAT_LOG(WARNING, "%s: cannot set MTU %u (%s); keeping the device's\n", port.name.c_str(),
                    setup.mtu, rte_strerror(-rc));
    return port;
}

bool start_port(Port &port, std::string &err) {
    int rc = rte_eth_dev_start(port.id);
    if (rc != 0) {
        err = port.name + ": start failed: " + rte_strerror(-rc);
        return false;
    }
    port.started = true;
    // Promiscuous: the box's MAC may be set in software only (vdevs), and the IPv6 solicited-node
    // multicast groups of the kernel's addresses are not programmed into the NIC; frames for other
    // MACs are dropped by the classifier with a counter (drop_not_for_us).
    rc = rte_eth_promiscuous_enable(port.id);
    if (rc != 0 && rc != -ENOTSUP)
        EAMCLAT_LOG(WARNING, "%s: promiscuous mode: %s\n", port.name.c_str(), rte_strerror(-rc));
    rte_eth_allmulticast_enable(port.id);
    rte_eth_link link{};
    rte_eth_link_get_nowait(port.id, &link);
    EAMCLAT_LOG(INFO, "port %u %s (%s) mac %s rxq %u txq %u%s%s link %s\n", port.id, port.name.c_str(),
                port.driver.c_str(), mac_str(port.mac).c_str(), port.rx_queues, port.tx_queues,
                port.rss ? " rss" : "", port.exception_tx_queue >= 0 ? " +exception txq" : "",
                link.link_status ? "up" : "down");
    return true;
}

void close_port(Port &port) {
    if (port.id == UINT16_MAX) return;
    if (port.started) rte_eth_dev_stop(port.id);
    port.started = false;
    rte_eth_dev_info info;
    rte_device *dev = rte_eth_dev_info_get(port.id, &info) == 0 ? info.device : nullptr;
    rte_eth_dev_close(port.id);
    if (port.hotplugged && dev) rte_dev_remove(dev);
    port.id = UINT16_MAX;
}

}  // namespace eamclat::dp
