#include "hosts.hpp"

#include <algorithm>
#include <cstdio>

namespace eamclat {

std::string mac_str(const Mac &m) {
    char b[18];
    snprintf(b, sizeof b, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    return b;
}

Host *HostTable::get(const Mac &mac, uint64_t now) {
    auto it = hosts_.find(mac);
    if (it == hosts_.end()) {
        if (hosts_.size() >= max_hosts_) {
            refused_++;
            return nullptr;
        }
        it = hosts_.emplace(mac, Host{}).first;
        it->second.mac = mac;
        it->second.first_seen = now;
    }
    it->second.last_seen = now;
    return &it->second;
}

bool HostTable::saw_ipv4(const Mac &mac, Ip4 addr, uint64_t now) {
    Host *h = get(mac, now);
    if (!h) return false;
    if (std::find(h->ipv4.begin(), h->ipv4.end(), addr) == h->ipv4.end()) {
        // The address moved from another MAC (DHCP reuse): the old binding goes.
        auto prev = by_ipv4_.find(addr);
        if (prev != by_ipv4_.end() && prev->second != mac) {
            auto old = hosts_.find(prev->second);
            if (old != hosts_.end()) std::erase(old->second.ipv4, addr);
        }
        h->ipv4.push_back(addr);
        by_ipv4_[addr] = mac;
    }
    return false;
}

bool HostTable::saw_ipv6(const Mac &mac, const Ip6 &addr, uint64_t now) {
    Host *h = get(mac, now);
    if (!h) return false;
    bool turned = h->ipv4_only();
    if (h->ipv6.size() < 4 && std::find(h->ipv6.begin(), h->ipv6.end(), addr) == h->ipv6.end())
        h->ipv6.push_back(addr);
    h->seen_ipv6 = true;
    return turned;
}

bool HostTable::ipv4_only(Ip4 addr) const {
    const Host *h = by_ipv4(addr);
    return h && h->ipv4_only();
}

const Host *HostTable::by_ipv4(Ip4 addr) const {
    auto it = by_ipv4_.find(addr);
    if (it == by_ipv4_.end()) return nullptr;
    auto h = hosts_.find(it->second);
    return h == hosts_.end() ? nullptr : &h->second;
}

void HostTable::expire(uint64_t now, uint64_t idle) {
    for (auto it = hosts_.begin(); it != hosts_.end();) {
        if (now - it->second.last_seen > idle) {
            for (Ip4 a : it->second.ipv4) {
                auto b = by_ipv4_.find(a);
                if (b != by_ipv4_.end() && b->second == it->first) by_ipv4_.erase(b);
            }
            it = hosts_.erase(it);
        } else {
            ++it;
        }
    }
}

}  // namespace eamclat
