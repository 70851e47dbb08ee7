#include "control_plane.hpp"

#include <rte_ethdev.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.hpp"
#include "log.hpp"
#include "telemetry.hpp"

namespace eamclat {

namespace {
constexpr auto tick_period = std::chrono::seconds(1);
}

ControlPlane::ControlPlane(Daemon &d, const DaemonConfig &c) : daemon(d), cfg(c), hosts(4096) {
    optimization = cfg.learning.enabled.value_or(cfg.xlat.mode == xlat::Mode::clat);
}

ControlPlane::~ControlPlane() = default;

uint64_t ControlPlane::now_seconds() const { return daemon.flow_clock_now(); }

std::string ControlPlane::learned_path() const { return cfg.control.state_dir + "/learned.yaml"; }

bool ControlPlane::save_learned(std::string &err) {
    mkdir(cfg.control.state_dir.c_str(), 0750);
    return tables->save(learned_path(), err);
}

bool ControlPlane::start(std::string &err) {
    sink = std::make_unique<DataplaneSink>(*daemon.eamt(), daemon.flows());
    TableLimits limits;
    limits.total = cfg.limits.eamt_entries;
    limits.learned_per_host = cfg.limits.learned_per_host;
    Clock clock = Clock::system();
    clock.mono = [this] { return now_seconds(); };
    tables = std::make_unique<TableManager>(*sink, clock, limits);
    // Static entries from the config go through the manager like the shell's (one source of truth).
    for (const auto &e : cfg.xlat.eamt) {
        std::string why;
        if (!tables->add_static(e.ipv4, e.ipv6, 0, why)) {
            err = "eamt entry " + e.ipv4.str() + " <-> " + e.ipv6.str() + ": " + why;
            return false;
        }
    }
    for (const auto &p : cfg.do_not_optimise) {
        std::string why;
        if (!tables->add_do_not_optimise(p, why)) {
            err = "do-not-optimise " + p.str() + ": " + why;
            return false;
        }
    }
    // A restart does not forget what the LAN is using (entries keep their remaining TTL).
    {
        std::string why;
        size_t n = tables->restore(learned_path(), why);
        if (n) EAMCLAT_LOG(INFO, "restored %zu learned EAMT entries from %s\n", n, learned_path().c_str());
    }
    last_save_ = now_seconds();

    daemon.on_sighting([this](const dp::Sighting &s) {
        if (s.port != static_cast<uint8_t>(dp::PortRole::lan)) return;
        on_sighting_mac(s.mac.addr_bytes, s.kind == dp::Sighting::ipv6_host, s.addr);
    });

    if (cfg.xlat.mode == xlat::Mode::clat && cfg.dns.enabled && !cfg.dns.upstream.empty()) {
        dns::ProxyConfig pc;
        pc.listen = cfg.dns.listen;
        if (pc.listen.empty()) {
            for (const auto &a : cfg.ports.lan_ipv4) pc.listen.push_back(ip4_str(a.addr));
            // Dual-stack hosts may ask over IPv6 (relayed; they are never given entries).
            for (const auto &a : cfg.ports.lan_ipv6)
                if (a.addr.b[0] != 0xfe) pc.listen.push_back("[" + a.addr.str() + "]");
        }
        pc.upstream = cfg.dns.upstream;
        pc.resolution_delay = std::chrono::milliseconds(cfg.dns.resolution_delay_ms);
        pc.upstream_timeout = std::chrono::milliseconds(cfg.dns.upstream_timeout_ms);
        pc.discover_pref64 = cfg.dns.discover_pref64;
        pc.policy.enabled = optimization;
        pc.policy.require_dnssec = cfg.learning.require_dnssec;
        pc.policy.max_ttl = cfg.learning.max_ttl;
        dns::ProxyHooks hooks;
        hooks.is_ipv4_only = [this](Ip4 h) { return hosts.ipv4_only(h); };
        hooks.learn = [this](Ip4 h, const std::string &n, Ip4 v4, const Ip6 &v6, uint32_t ttl) {
            return learn(h, n, v4, v6, ttl);
        };
        proxy = std::make_unique<dns::Proxy>(daemon.loop(), pc, hooks);
        if (cfg.xlat.plat_prefix) proxy->nat64().add(*cfg.xlat.plat_prefix, "plat-prefix");
        for (const auto &p : cfg.dns.nat64_prefixes) proxy->nat64().add(p, "config");
        if (!proxy->start(err)) return false;
        // RFC 8781: the PLAT's prefix announced in the WAN's Router Advertisements is a NAT64
        // prefix too (AAAA inside it are synthesized); a zero lifetime withdraws it.
        if (cfg.dns.snooping)
            daemon.on_dns_answer([this](Ip4 host, std::span<const uint8_t> answer) { proxy->snoop_answer(host, answer); });
        daemon.on_ra_option([this](std::span<const uint8_t> opt) {
            if (opt.size() < 1 || opt[0] != 38) return;
            auto p = dns::parse_pref64_option(opt);
            if (!p) return;
            proxy->nat64().remove_origin("ra-pref64");
            if (p->lifetime_seconds) proxy->nat64().add(p->prefix, "ra-pref64");
        });
    }

    if (cfg.operator_table) {
        // The CE's own prefixes may never be taken over by an operator entry.
        OperatorTableLimits lim;
        lim.max_bytes = cfg.operator_table->max_bytes;
        lim.max_entries = cfg.operator_table->max_entries;
        for (const auto &a : cfg.ports.lan_ipv4)
            lim.forbidden4.push_back(Prefix4{a.addr & Prefix4::mask(a.len), a.len});
        for (const auto *p : {&cfg.xlat.clat_prefix, &cfg.xlat.plat_prefix, &cfg.delegated_prefix})
            if (*p) lim.forbidden6.push_back(**p);
        pull = std::make_unique<PullClient>(daemon.loop(), *cfg.operator_table, lim,
                                            [this](const std::vector<OperatorEntry> &e, std::string &why) {
                                                return tables->apply_operator_table(e, why);
                                            });
        if (!pull->start(err)) {
            err = "operator-table: " + err;
            return false;
        }
    }

    register_stats_commands(*this);
    register_operator_commands(*this);
    register_table_commands(*this);
    register_dns_commands(*this);
    register_system_commands(*this);

    if (!cfg.control.socket.empty()) {
        ctl = std::make_unique<CtlServer>(daemon.loop(), shell);
        if (!ctl->start(cfg.control.socket, err)) return false;
    }
    Telemetry::instance().register_endpoints();
    publish_telemetry();
    daemon.loop().add_timer(tick_period, [this] { tick(); });
    return true;
}

void ControlPlane::on_sighting_mac(const uint8_t m[6], bool ipv6, const Ip6 &addr) {
    Mac mac;
    memcpy(mac.data(), m, 6);
    Ip4 a4;
    if (!ipv6 && dp::neighbor_key_is4(addr, &a4)) {
        hosts.saw_ipv4(mac, a4, now_seconds());
        return;
    }
    if (ipv6 && hosts.saw_ipv6(mac, addr, now_seconds())) {
        // §5.2.13: an IPv4-only host turned IPv6-enabled: its entries go Stale.
        auto it = hosts.hosts().find(mac);
        if (it != hosts.hosts().end())
            for (Ip4 h : it->second.ipv4) tables->host_dual_stack(h);
    }
}

int ControlPlane::learn(Ip4 host, const std::string &name, Ip4 v4, const Ip6 &v6, uint32_t ttl) {
    if (!optimization) return 3;
    switch (tables->learn(host, name, v4, v6, ttl)) {
    case LearnResult::created: return 0;
    case LearnResult::refreshed: return 1;
    case LearnResult::conflict: return 2;
    default: return 3;
    }
}

void ControlPlane::tick() {
    sink->refresh_pins();
    tables->tick();
    hosts.expire(now_seconds(), cfg.learning.host_idle);
    if (now_seconds() - last_save_ >= cfg.learning.save_interval) {
        std::string err;
        if (!save_learned(err)) EAMCLAT_LOG(WARNING, "saving the learned table: %s\n", err.c_str());
        last_save_ = now_seconds();
    }
    publish_telemetry();
}

void ControlPlane::stop() {
    std::string err;
    if (tables && !save_learned(err)) EAMCLAT_LOG(WARNING, "saving the learned table: %s\n", err.c_str());
    if (terminal_) shell.terminal_close();
}

std::vector<std::pair<std::string, uint64_t>> ControlPlane::counters_since_clear() const {
    auto now = daemon.counter_list();
    if (baseline.size() == now.size())
        for (size_t i = 0; i < now.size(); i++) now[i].second -= std::min(now[i].second, baseline[i].second);
    return now;
}

void ControlPlane::clear_counters() {
    baseline = daemon.counter_list();
    for (unsigned r = 0; r < 2; r++) port_samples[r] = {};
    for (unsigned r = 0; r < 2; r++) rte_eth_stats_reset(daemon.port(static_cast<dp::PortRole>(r)).id);
    if (proxy) proxy->clear_counters();
    tables->clear_counters();
}

void ControlPlane::publish_telemetry() {
    TelemetrySnapshot s;
    s.stats = counters_since_clear();
    for (const auto *e : tables->list()) {
        // Keys are entry ids (telemetry names allow no dots or colons); the value says the rest.
        std::string key = "entry_" + std::to_string(e->id);
        std::string v = e->ipv4.str() + " " + (e->do_not_optimise ? std::string("do-not-optimise") : e->ipv6.str()) +
                        " " + entry_source_name(e->source) + " " + entry_state_name(e->state);
        if (e->host) v += " host " + ip4_str(*e->host);
        if (e->expires) v += " ttl " + std::to_string(e->expires > now_seconds() ? e->expires - now_seconds() : 0);
        if (!e->name.empty()) v += " " + e->name;
        s.eamt.emplace_back(key, v);
    }
    s.eamt_total = tables->size();
    if (proxy)
        for (unsigned i = 0; i < unsigned(dns::Counter::count); i++)
            s.dns.emplace_back(dns::counter_names[i], proxy->counter(dns::Counter(i)));
    if (auto *f = daemon.flows()) {
        auto st = f->stats();
        s.flows = {{"active", f->size()},      {"capacity", f->capacity()}, {"created", st.created},
                   {"unpinned_full", st.full}, {"unpinned_conflict", st.conflicts}, {"expired", st.expired}};
    }
    Telemetry::instance().publish(std::move(s));
}

bool ControlPlane::run_batch(const std::string &path) {
    std::string out;
    bool ok = shell.run_file(path, out);
    fputs(out.c_str(), stdout);
    fflush(stdout);
    return ok;
}

bool ControlPlane::attach_terminal() {
    if (!shell.terminal_open()) return false;
    terminal_ = true;
    daemon.loop().add_fd(0, EPOLLIN, [this](uint32_t) {
        if (!shell.terminal_input()) {
            daemon.loop().remove_fd(0);
            shell.terminal_close();
            terminal_ = false;
            daemon.stop();  // leaving the terminal ends the daemon, as testpmd's quit does
        }
    });
    return true;
}

}  // namespace eamclat
