// eamclat-dns-bench: the DNS proxy (dns::Proxy, as the daemon's control plane runs it) on an
// EventLoop of its own, so that dnsperf can measure it against a real resolver on loopback without
// DPDK ports or the LAN TAP the daemon's proxy listens behind.
//
//   eamclat-dns-bench --listen 127.0.0.1:PORT --upstream 127.0.0.1:PORT [--ipv4-only yes|no]
//
// --ipv4-only yes (default): every client is an IPv4-only LAN host, so every A query takes the
// learner's path (draft §5.2.3: a parallel AAAA query, the A answer held until it arrives); the
// learned pairs are counted, not installed (the table's own cost is measured by eamclat-bench's
// churn cases). Runs until SIGINT/SIGTERM, then prints the proxy's counters on stderr.
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "event_loop.hpp"
#include "proxy.hpp"

using namespace eamclat;

int main(int argc, char **argv) {
    dns::ProxyConfig cfg;
    bool ipv4_only = true;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string k = argv[i], v = argv[i + 1];
        if (k == "--listen") cfg.listen.push_back(v);
        else if (k == "--upstream") cfg.upstream.push_back(v);
        else if (k == "--ipv4-only") ipv4_only = v == "yes";
        else {
            fprintf(stderr, "eamclat-dns-bench: unknown option %s\n", k.c_str());
            return 2;
        }
    }
    if (cfg.listen.empty() || cfg.upstream.empty()) {
        fprintf(stderr, "usage: eamclat-dns-bench --listen ADDR:PORT --upstream ADDR:PORT [--ipv4-only yes|no]\n");
        return 2;
    }
    cfg.discover_pref64 = false;  // no PLAT in the benchmark: every AAAA is native
    cfg.max_pending = 65536;      // dnsperf keeps many queries in flight

    EventLoop::block_signals({SIGINT, SIGTERM});
    EventLoop loop;
    uint64_t learned = 0;
    dns::ProxyHooks hooks;
    hooks.is_ipv4_only = [ipv4_only](Ip4) { return ipv4_only; };
    hooks.learn = [&learned](Ip4, const std::string &, Ip4, const Ip6 &, uint32_t) {
        ++learned;
        return 0;
    };
    hooks.pref64_discovered = [](const std::vector<Prefix6> &) {};
    dns::Proxy proxy(loop, cfg, hooks);
    std::string err;
    if (!proxy.start(err)) {
        fprintf(stderr, "eamclat-dns-bench: %s\n", err.c_str());
        return 1;
    }
    loop.on_signals({SIGINT, SIGTERM}, [&loop](int) { loop.stop(); });
    fprintf(stderr, "eamclat-dns-bench: ready\n");
    loop.run();
    fprintf(stderr, "%s", proxy.stats_text().c_str());
    fprintf(stderr, "learned pairs (counted, not installed): %llu\n", static_cast<unsigned long long>(learned));
    return 0;
}
