// LAN hosts as the control thread knows them (draft-ietf-v6ops-464xlat-optimization §5.2.2):
// a host is its MAC; it is IPv4-only while the dataplane has seen it with IPv4 and never with
// IPv6. A wrong guess only ever means "no optimisation": unknown hosts are not IPv4-only.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <vector>

#include "xlat/types.hpp"

namespace eamclat {

using Mac = std::array<uint8_t, 6>;
std::string mac_str(const Mac &m);

struct Host {
    Mac mac{};
    std::vector<Ip4> ipv4;
    std::vector<Ip6> ipv6;  // the first few IPv6 addresses seen (evidence for `show hosts`)
    bool seen_ipv6 = false;
    uint64_t first_seen = 0;
    uint64_t last_seen = 0;
    bool ipv4_only() const { return !ipv4.empty() && !seen_ipv6; }
};

class HostTable {
public:
    explicit HostTable(size_t max_hosts = 4096) : max_hosts_(max_hosts) {}
    // From the dataplane's sightings. Returns true when this sighting turned an IPv4-only host
    // dual-stack (§5.2.13: the caller then makes its learned entries Stale).
    bool saw_ipv4(const Mac &mac, Ip4 addr, uint64_t now);
    bool saw_ipv6(const Mac &mac, const Ip6 &addr, uint64_t now);
    bool ipv4_only(Ip4 addr) const;
    const Host *by_ipv4(Ip4 addr) const;
    const std::map<Mac, Host> &hosts() const { return hosts_; }
    // Hosts not seen for `idle` seconds are forgotten (their IPv4 may be reused by another MAC).
    void expire(uint64_t now, uint64_t idle);
    uint64_t refused() const { return refused_; }

private:
    Host *get(const Mac &mac, uint64_t now);
    size_t max_hosts_;
    std::map<Mac, Host> hosts_;
    std::map<Ip4, Mac> by_ipv4_;
    uint64_t refused_ = 0;
};

}  // namespace eamclat
