// FlowTable (dataplane/tables/flow_table.*) and DaemonMapper's flow pinning in clat mode:
// draft-ietf-v6ops-464xlat-optimization-03 §5.2.6 (EAMT used to create per-flow state, flows keep
// their path) and §5.2.7 (Stale -> Invalid once no pinned flow uses the entry).
#include <catch2/catch.hpp>

#include <rte_lcore.h>
#include <rte_malloc.h>

#include <atomic>
#include <cstdio>
#include <thread>
#include <unordered_map>
#include <vector>

#include "tables/daemon_mapper.hpp"
#include "tables/eamt_tables.hpp"
#include "tables/flow_table.hpp"
#include "tables/rcu.hpp"

using namespace eamclat;
using namespace eamclat::tables;
using xlat::Path;
using xlat::Role;

namespace {

constexpr uint8_t tcp = 6, udp = 17, icmp = 1, icmp6 = 58;

Ip6 ip6(const char *s) {
    auto a = Ip6::parse(s);
    REQUIRE(a);
    return *a;
}
Ip4 ip4(const char *s) {
    auto a = parse_ip4(s);
    REQUIRE(a);
    return *a;
}

EamtCapacity small_capacity() {
    EamtCapacity c;
    c.global_entries = 256;
    c.prefix_entries = 16;
    c.lpm_tbl8_groups = 16;
    c.learned_entries = 256;
    c.learned_per_host = 64;
    return c;
}

xlat::Config clat_config() {
    xlat::Config cfg;
    cfg.mode = xlat::Mode::clat;
    cfg.clat_prefix = Prefix6::parse("2001:db8:c1a7::/96");
    cfg.plat_prefix = Prefix6::parse("2001:db8:64::/96");
    return cfg;
}

size_t heap_allocated() {
    size_t total = 0;
    for (unsigned i = 0; i < rte_socket_count(); ++i) {
        rte_malloc_socket_stats s{};
        if (rte_malloc_get_socket_stats(rte_socket_id_by_idx(i), &s) == 0)
            total += s.heap_allocsz_bytes;
    }
    return total;
}

// One LAN host, one remote, in clat mode: the mapper plus helpers that translate the remote address
// of a packet the way the translator would (begin_* then the destination / source lookup).
struct Clat {
    xlat::Config cfg = clat_config();
    Rcu rcu{4};
    EamtTables eamt{small_capacity(), rcu};
    FlowTable flows;
    DaemonMapper m;
    Ip4 host = ip4("192.168.1.10");
    Ip6 host6 = ip6("2001:db8:c1a7::c0a8:10a");

    explicit Clat(uint32_t capacity = 1024, FlowTimeouts to = {}) : flows(capacity, to, rcu), m(cfg, eamt, &flows) {}

    // 4->6: remote IPv4 -> IPv6 for a packet from host:sport to remote:dport.
    Path out(Ip4 remote, uint8_t proto, uint16_t sport, uint16_t dport, Ip6 &remote6, uint8_t flags = 0) {
        m.begin_4to6(host, remote, proto, sport, dport, flags);
        Ip6 src;
        REQUIRE(m.v4_to_v6(host, Role::source, {}, src).path == Path::clat_prefix);
        REQUIRE(src == host6);
        return m.v4_to_v6(remote, Role::destination, {}, remote6).path;
    }
    // 6->4: remote IPv6 -> IPv4 for a packet from remote6:sport to host:dport.
    Path in(const Ip6 &remote6, uint8_t proto, uint16_t sport, uint16_t dport, Ip4 &remote4, uint8_t flags = 0) {
        REQUIRE(m.begin_6to4(remote6, host6, proto, sport, dport, flags));
        Ip4 dst;
        REQUIRE(m.v6_to_v4(host6, Role::destination, {}, dst).path == Path::clat_prefix);
        REQUIRE(dst == host);
        return m.v6_to_v4(remote6, Role::source, {}, remote4).path;
    }
};

}  // namespace

TEST_CASE("Flows: both directions find the same flow", "[flows]") {
    Rcu rcu(4);
    FlowTable ft(16, {}, rcu);
    FlowTuple t{ip4("192.168.1.10"), ip4("203.0.113.5"), 40000, 443, tcp};
    Flow *f = ft.create(t, ip6("2001:db8:5::5"), Path::eamt_learned, 7, 100);
    REQUIRE(f);
    CHECK(ft.size() == 1);
    CHECK(ft.find(t) == f);
    CHECK(ft.find6(t.host, ip6("2001:db8:5::5"), tcp, 40000, 443) == f);
    CHECK(ft.find6(t.host, ip6("2001:db8:5::5"), tcp, 443, 40000) == nullptr);  // ports are not swapped
    CHECK(ft.find6(t.host, ip6("2001:db8:5::6"), tcp, 40000, 443) == nullptr);
    FlowTuple other = t;
    other.proto = udp;
    CHECK(ft.find(other) == nullptr);
    // Creating it again returns the existing flow (the path of the first creator wins).
    CHECK(ft.create(t, ip6("2001:db8:64::cb00:7105"), Path::pref64, 0, 101) == f);
    CHECK(f->remote6 == ip6("2001:db8:5::5"));
    CHECK(f->eamt_id == 7);
    CHECK(ft.stats().created == 1);
    // Another remote IPv4 whose IPv6 tuple is already taken: refused (ambiguous return traffic).
    FlowTuple clash = t;
    clash.remote = ip4("203.0.113.6");
    FlowTable::Refusal why;
    CHECK(ft.create(clash, ip6("2001:db8:5::5"), Path::pref64, 0, 100, &why) == nullptr);
    CHECK(why == FlowTable::Refusal::conflict);
    CHECK(ft.stats().conflicts == 1);
}

TEST_CASE("Flows: bulk lookup finds what find / find6 find, keys from the mapper's packet description",
          "[flows][mapper]") {
    Clat c;
    REQUIRE(c.eamt.add(xlat::EamtEntry{{ip4("203.0.113.5"), 32}, {ip6("2001:db8:5::5"), 128}, xlat::EamtSource::operator_table}));
    // Two flows through the mapper (as the worker's burst would create them), plus unknown tuples.
    Ip6 r6;
    REQUIRE(c.out(ip4("203.0.113.5"), udp, 1000, 53, r6) == Path::eamt_operator);
    REQUIRE(c.out(ip4("203.0.113.7"), tcp, 2000, 443, r6) == Path::pref64);
    const Ip6 pref64_remote = r6;
    std::vector<FlowKey> keys;
    std::vector<DaemonMapper::PacketContext> ctx;
    auto describe = [&] {
        FlowKey k;
        REQUIRE(c.m.flow_key(k));
        keys.push_back(k);
        ctx.push_back(c.m.packet());
    };
    c.m.begin_4to6(c.host, ip4("203.0.113.5"), udp, 1000, 53, 0);
    describe();
    c.m.begin_4to6(c.host, ip4("203.0.113.5"), udp, 1001, 53, 0);  // no such flow
    describe();
    REQUIRE(c.m.begin_6to4(pref64_remote, c.host6, tcp, 443, 2000, 0));
    describe();
    REQUIRE(c.m.begin_6to4(ip6("2001:db8:5::5"), c.host6, udp, 53, 1000, 0));
    describe();
    c.m.begin_stateless();
    FlowKey unused;
    CHECK_FALSE(c.m.flow_key(unused));

    const FlowKey *ptr[4] = {&keys[0], &keys[1], &keys[2], &keys[3]};
    Flow *found[4];
    c.flows.find_bulk(ptr, 4, found);
    Flow *udp_flow = c.flows.find({c.host, ip4("203.0.113.5"), 1000, 53, udp});
    Flow *tcp_flow = c.flows.find6(c.host, pref64_remote, tcp, 2000, 443);
    REQUIRE(udp_flow);
    REQUIRE(tcp_flow);
    CHECK(found[0] == udp_flow);
    CHECK(found[1] == nullptr);
    CHECK(found[2] == tcp_flow);
    CHECK(found[3] == udp_flow);  // the same flow by its reverse key

    // resume() with the flow found: translated through it, as after begin_* alone.
    const uint64_t hits = c.m.counters().flow_hits.load();
    c.m.resume(ctx[3], found[3]);
    Ip4 r4;
    CHECK(c.m.v6_to_v4(ip6("2001:db8:5::5"), Role::source, {}, r4).path == Path::eamt_operator);
    CHECK(r4 == ip4("203.0.113.5"));
    CHECK(c.m.flow() == udp_flow);
    CHECK(c.m.counters().flow_hits.load() == hits + 1);
    // resume() with nothing found: looked up again, then created.
    const uint64_t created = c.m.counters().flows_created.load();
    c.m.resume(ctx[1], nullptr);
    CHECK(c.m.v4_to_v6(ip4("203.0.113.5"), Role::destination, {}, r6).path == Path::eamt_operator);
    CHECK(c.m.counters().flows_created.load() == created + 1);
    CHECK(c.flows.find({c.host, ip4("203.0.113.5"), 1001, 53, udp}) == c.m.flow());
    // A found flow expired before its packet is translated: not used, a new one is created.
    c.flows.expire_all(1u << 30);
    CHECK(c.flows.size() == 0);
    c.m.resume(ctx[0], found[0]);
    CHECK(c.m.v4_to_v6(ip4("203.0.113.5"), Role::destination, {}, r6).path == Path::eamt_operator);
    CHECK(c.m.flow() != nullptr);
    CHECK(c.flows.size() == 1);
    CHECK(c.m.counters().flows_created.load() == created + 2);
}

TEST_CASE("Flows: a flow started through an EAMT entry keeps its IPv6 address after the entry is removed",
          "[flows][mapper]") {
    Clat c;
    Ip4 remote = ip4("203.0.113.5");
    uint32_t id = 0;
    REQUIRE(c.eamt.add_learned(c.host, remote, ip6("2001:db8:5::5"), nullptr, &id));
    Ip6 r6;
    c.m.set_now(10);
    CHECK(c.out(remote, tcp, 40000, 443, r6, tcp_syn) == Path::eamt_learned);
    CHECK(r6 == ip6("2001:db8:5::5"));
    REQUIRE(c.m.flow());
    CHECK(c.m.flow()->eamt_id == id);
    CHECK(c.flows.pins(id) == 1);

    // The reply comes back through the reverse key.
    Ip4 r4;
    CHECK(c.in(ip6("2001:db8:5::5"), tcp, 443, 40000, r4, tcp_syn | tcp_ack) == Path::eamt_learned);
    CHECK(r4 == remote);

    // Stale, then removed (draft §5.2.7): the pinned flow is unaffected in both directions...
    REQUIRE(c.eamt.set_learned_state(c.host, remote, EntryState::stale));
    CHECK(c.out(remote, tcp, 40000, 443, r6) == Path::eamt_learned);
    CHECK(r6 == ip6("2001:db8:5::5"));
    REQUIRE(c.eamt.remove_learned(c.host, remote));
    c.eamt.reclaim();
    CHECK(c.out(remote, tcp, 40000, 443, r6) == Path::eamt_learned);
    CHECK(r6 == ip6("2001:db8:5::5"));
    CHECK(c.in(ip6("2001:db8:5::5"), tcp, 443, 40000, r4) == Path::eamt_learned);
    CHECK(r4 == remote);
    // ...while a new flow to the same remote goes through the PLAT.
    CHECK(c.out(remote, tcp, 40001, 443, r6, tcp_syn) == Path::pref64);
    CHECK(r6 == ip6("2001:db8:64::cb00:7105"));
    CHECK(c.m.counters().flow_hits.load() == 4);
    CHECK(c.m.counters().flows_created.load() == 2);
    CHECK(c.m.counters().new_flow_eamt.load() == 1);
    CHECK(c.m.counters().new_flow_pref64.load() == 1);
}

TEST_CASE("Flows: a flow started through pref64 keeps pref64 after an EAMT entry appears", "[flows][mapper]") {
    Clat c;
    Ip4 remote = ip4("203.0.113.5");
    Ip6 r6;
    CHECK(c.out(remote, udp, 5000, 443, r6) == Path::pref64);
    CHECK(r6 == ip6("2001:db8:64::cb00:7105"));
    REQUIRE(c.eamt.add_learned(c.host, remote, ip6("2001:db8:5::5")));
    CHECK(c.out(remote, udp, 5000, 443, r6) == Path::pref64);
    CHECK(r6 == ip6("2001:db8:64::cb00:7105"));
    Ip4 r4;
    CHECK(c.in(ip6("2001:db8:64::cb00:7105"), udp, 443, 5000, r4) == Path::pref64);
    CHECK(r4 == remote);
    // New flows take the entry; other hosts do not see it (draft §5.2.5).
    CHECK(c.out(remote, udp, 5001, 443, r6) == Path::eamt_learned);
    CHECK(r6 == ip6("2001:db8:5::5"));
    c.m.begin_4to6(ip4("192.168.1.11"), remote, udp, 5001, 443, 0);
    CHECK(c.m.v4_to_v6(remote, Role::destination, {}, r6).path == Path::pref64);
    // A global static entry wins over the host's learned entry for new flows.
    REQUIRE(c.eamt.add(xlat::EamtEntry{{remote, 32}, *Prefix6::parse("2001:db8:99::5/128"), xlat::EamtSource::static_config}));
    CHECK(c.out(remote, udp, 5002, 443, r6) == Path::eamt_static);
    CHECK(r6 == ip6("2001:db8:99::5"));
}

TEST_CASE("Flows: a stale entry is not used for new flows; flows started from IPv6 are pinned too", "[flows][mapper]") {
    Clat c;
    Ip4 remote = ip4("203.0.113.5");
    REQUIRE(c.eamt.add_learned(c.host, remote, ip6("2001:db8:5::5")));
    REQUIRE(c.eamt.set_learned_state(c.host, remote, EntryState::stale));
    Ip6 r6;
    CHECK(c.out(remote, udp, 6000, 53, r6) == Path::pref64);
    // IPv6 -> IPv4 first packet from the entry's address: stale, so not mapped by it; the
    // address is not inside the PLAT prefix either.
    Ip4 r4;
    CHECK(c.in(ip6("2001:db8:5::5"), udp, 53, 6001, r4) == Path::none);
    REQUIRE(c.eamt.add_learned(c.host, remote, ip6("2001:db8:5::5")));  // valid again
    CHECK(c.in(ip6("2001:db8:5::5"), udp, 53, 6001, r4) == Path::eamt_learned);
    CHECK(r4 == remote);
    REQUIRE(c.eamt.remove_learned(c.host, remote));
    CHECK(c.out(remote, udp, 6001, 53, r6) == Path::eamt_learned);  // the flow the IPv6 side started
    CHECK(r6 == ip6("2001:db8:5::5"));
    // ICMP echo: request out (ICMP), reply in (ICMPv6), identifier in both port slots.
    CHECK(c.out(remote, icmp, 77, 77, r6) == Path::pref64);
    CHECK(c.in(r6, icmp6, 77, 77, r4) == Path::pref64);
    CHECK(c.m.counters().flow_hits.load() == 2);
    // Addresses other than the packet's remote (ICMP error inner packets) are mapped statelessly.
    c.m.begin_stateless();
    CHECK(c.m.v4_to_v6(remote, Role::destination, {}, r6).path == Path::pref64);
    CHECK(c.m.flow() == nullptr);
}

TEST_CASE("Flows: table full -> new flows translated unpinned and counted; active flows kept", "[flows][mapper]") {
    Clat c(4);
    Ip4 remote = ip4("203.0.113.5");
    REQUIRE(c.eamt.add_learned(c.host, remote, ip6("2001:db8:5::5")));
    Ip6 r6;
    for (uint16_t p = 1; p <= 4; ++p)
        CHECK(c.out(remote, udp, p, 53, r6) == Path::eamt_learned);
    CHECK(c.flows.size() == 4);
    CHECK(c.out(remote, udp, 5, 53, r6) == Path::eamt_learned);  // still translated
    CHECK(r6 == ip6("2001:db8:5::5"));
    CHECK(c.m.flow() == nullptr);
    CHECK(c.m.counters().unpinned_table_full.load() == 1);
    CHECK(c.flows.stats().full == 1);
    CHECK(c.flows.size() == 4);
    for (uint16_t p = 1; p <= 4; ++p)
        CHECK(c.flows.find({c.host, remote, p, 53, udp}) != nullptr);
    // After expiry and reclamation, room again.
    CHECK(c.flows.expire_all(10000) == 4);
    c.flows.reclaim();
    CHECK(c.out(remote, udp, 5, 53, r6) == Path::eamt_learned);
    CHECK(c.m.flow() != nullptr);
}

TEST_CASE("Flows: idle timeouts per protocol and TCP state, on a fake clock", "[flows]") {
    FlowTimeouts to;  // 7440 / 240 / 300 / 60
    Rcu rcu(4);
    FlowTable ft(64, to, rcu);
    Ip4 h = ip4("192.168.1.10"), r = ip4("203.0.113.5");
    Ip6 r6 = ip6("2001:db8:5::5");
    Flow *u = ft.create({h, r, 1000, 53, udp}, r6, Path::pref64, 0, 1000);
    Flow *i = ft.create({h, r, 7, 7, icmp}, r6, Path::pref64, 0, 1000);
    Flow *syn = ft.create({h, r, 2000, 80, tcp}, r6, Path::pref64, 0, 1000);
    Flow *est = ft.create({h, r, 2001, 80, tcp}, r6, Path::pref64, 0, 1000);
    Flow *fin = ft.create({h, r, 2002, 80, tcp}, r6, Path::pref64, 0, 1000);
    Flow *rst = ft.create({h, r, 2003, 80, tcp}, r6, Path::pref64, 0, 1000);
    REQUIRE((u && i && syn && est && fin && rst));
    FlowTable::touch(*syn, 1000, true, tcp_syn);
    for (Flow *f : {est, fin, rst}) {
        FlowTable::touch(*f, 1000, true, tcp_syn);
        FlowTable::touch(*f, 1000, false, tcp_syn | tcp_ack);
        FlowTable::touch(*f, 1000, true, tcp_ack);
    }
    FlowTable::touch(*fin, 1000, true, tcp_fin | tcp_ack);
    CHECK(ft.timeout_of(*fin) == to.tcp_established);  // half-closed: still established
    FlowTable::touch(*fin, 1000, false, tcp_fin | tcp_ack);
    FlowTable::touch(*rst, 1000, false, tcp_rst);
    CHECK(ft.timeout_of(*u) == to.udp);
    CHECK(ft.timeout_of(*i) == to.icmp);
    CHECK(ft.timeout_of(*syn) == to.tcp_transitory);
    CHECK(ft.timeout_of(*est) == to.tcp_established);
    CHECK(ft.timeout_of(*fin) == to.tcp_transitory);
    CHECK(ft.timeout_of(*rst) == to.tcp_transitory);

    CHECK(ft.expire_all(1059) == 0);
    CHECK(ft.expire_all(1060) == 1);  // ICMP
    CHECK(ft.find({h, r, 7, 7, icmp}) == nullptr);
    FlowTable::touch(*u, 1200, true, 0);  // activity keeps the UDP flow
    CHECK(ft.expire_all(1240) == 3);      // SYN-only, FIN/FIN, RST
    CHECK(ft.size() == 2);
    CHECK(ft.expire_all(1499) == 0);
    CHECK(ft.expire_all(1500) == 1);  // UDP, 300 s after its last packet
    CHECK(ft.expire_all(1000 + 7439) == 0);
    CHECK(ft.expire_all(1000 + 7440) == 1);
    CHECK(ft.size() == 0);
    CHECK(ft.stats().expired == 6);
    // A clock a second behind a worker does not underflow into "idle forever".
    Flow *f = ft.create({h, r, 3000, 53, udp}, r6, Path::pref64, 0, 5000);
    REQUIRE(f);
    CHECK(ft.expire_all(4999) == 0);
    // A new SYN on a closed tuple starts over.
    Flow *reuse = ft.create({h, r, 4000, 80, tcp}, r6, Path::pref64, 0, 5000);
    REQUIRE(reuse);
    FlowTable::touch(*reuse, 5000, true, tcp_rst);
    FlowTable::touch(*reuse, 5000, true, tcp_syn);
    CHECK(reuse->tcp.load() == (tcp_seen::syn4 | tcp_seen::data4));
    // Incremental scan: a small budget walks the table in steps.
    size_t n = 0;
    for (int k = 0; k < 64; ++k)
        n += ft.expire(20000, 1);
    CHECK(n == 2);
    ft.reclaim();
}

TEST_CASE("Flows: pins per EAMT entry drive Stale -> Invalid (draft §5.2.7)", "[flows][mapper]") {
    Clat c;
    Ip4 remote = ip4("203.0.113.5");
    uint32_t id = 0;
    REQUIRE(c.eamt.add_learned(c.host, remote, ip6("2001:db8:5::5"), nullptr, &id));
    Ip6 r6;
    c.m.set_now(100);
    REQUIRE(c.out(remote, udp, 1, 53, r6) == Path::eamt_learned);
    c.m.set_now(200);
    REQUIRE(c.out(remote, tcp, 2, 443, r6, tcp_syn) == Path::eamt_learned);
    std::unordered_map<uint32_t, uint32_t> pins;
    c.flows.count_pins(pins);
    CHECK(pins[id] == 2);
    REQUIRE(c.eamt.set_learned_state(c.host, remote, EntryState::stale));
    CHECK(c.flows.expire_all(400) == 1);  // the UDP flow
    CHECK(c.flows.pins(id) == 1);
    CHECK(c.flows.expire_all(440) == 1);  // the half-open TCP flow
    CHECK(c.flows.pins(id) == 0);          // the control thread may now delete the entry
    pins.clear();
    c.flows.count_pins(pins);
    CHECK(pins.count(id) == 0);
}

TEST_CASE("Flows concurrency: racing creators get one flow per tuple; readers see whole flows", "[flows][rcu]") {
    constexpr unsigned creators = 2, readers = 1;
    constexpr uint32_t tuples = 20000;
    Rcu rcu(creators + readers);
    FlowTable ft(tuples + 1024, {}, rcu);
    auto remote6_of = [](uint32_t k) {
        Ip6 a = *Ip6::parse("2001:db8:77::");
        a.b[12] = static_cast<uint8_t>(k >> 24); a.b[13] = static_cast<uint8_t>(k >> 16);
        a.b[14] = static_cast<uint8_t>(k >> 8); a.b[15] = static_cast<uint8_t>(k);
        return a;
    };
    auto tuple_of = [](uint32_t k) {
        return FlowTuple{0xc0a80000u | (k % 200), 0xcb000000u | k, static_cast<uint16_t>(1024 + k % 50000), 443, 17};
    };
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> bad{0}, reads{0};
    std::vector<std::thread> th;
    for (unsigned id = 0; id < creators; ++id) {
        th.emplace_back([&, id] {
            if (rte_thread_register() != 0)
                bad.fetch_add(1);
            rcu.reader_online(id);
            // Both creators walk the same tuples in opposite orders.
            for (uint32_t n = 0; n < tuples; ++n) {
                uint32_t k = id == 0 ? n : tuples - 1 - n;
                Flow *f = ft.create(tuple_of(k), remote6_of(k), Path::pref64, k, 1);
                if (!f || f->remote6 != remote6_of(k) || f->eamt_id != k)
                    bad.fetch_add(1);
                else
                    FlowTable::touch(*f, 2, id == 0, 0);
                rcu.quiescent(id);
            }
            rcu.reader_offline(id);
            rte_thread_unregister();
        });
    }
    th.emplace_back([&] {
        unsigned id = creators;
        if (rte_thread_register() != 0)
            bad.fetch_add(1);
        rcu.reader_online(id);
        uint32_t k = 0;
        uint64_t n = 0;
        while (!stop.load(std::memory_order_relaxed)) {
            k = (k + 7919) % tuples;
            FlowTuple t = tuple_of(k);
            if (Flow *f = ft.find(t)) {
                if (f->remote4 != t.remote || f->host != t.host || f->remote6 != remote6_of(k))
                    bad.fetch_add(1);
                // The control thread may delete the flow between the two lookups; a hit must be it.
                Flow *g = ft.find6(t.host, remote6_of(k), t.proto, t.host_port, t.remote_port);
                if (g && g != f)
                    bad.fetch_add(1);
            }
            ++n;
            rcu.quiescent(id);
        }
        reads.fetch_add(n);
        rcu.reader_offline(id);
        rte_thread_unregister();
    });
    th[0].join();
    th[1].join();
    // Expire half while the reader keeps reading (control thread side).
    size_t expired = 0;
    for (uint32_t k = 0; k < tuples; k += 2)
        if (Flow *f = ft.find(tuple_of(k)))
            f->last_seen.store(0);  // idle since t=0: expires at t=300; the others (t=2) at t=302
    expired = ft.expire_all(301);
    ft.reclaim();
    stop = true;
    th[2].join();
    ft.reclaim_all();
    CHECK(bad.load() == 0);
    CHECK(reads.load() > 0);
    CHECK(ft.stats().created == tuples);
    CHECK(expired == tuples / 2);
    CHECK(ft.size() == tuples / 2);
    for (uint32_t k = 1; k < tuples; k += 2)
        REQUIRE(ft.find(tuple_of(k)) != nullptr);
}

TEST_CASE("Flows: one million flows, memory per flow", "[flows][scale]") {
    constexpr uint32_t n = 1000000;
    size_t before = heap_allocated();
    Rcu rcu(4);
    {
        FlowTable ft(n, {}, rcu);
        Ip6 r6 = *Ip6::parse("2001:db8:64::");
        for (uint32_t k = 0; k < n; ++k) {
            FlowTuple t{0xc0a80000u | (k & 0xff), 0xcb000000u | (k >> 8), static_cast<uint16_t>(k), 443, 6};
            r6.b[12] = static_cast<uint8_t>(k >> 24); r6.b[13] = static_cast<uint8_t>(k >> 16);
            r6.b[14] = static_cast<uint8_t>(k >> 8); r6.b[15] = static_cast<uint8_t>(k);
            if (!ft.create(t, r6, Path::pref64, 0, 1))
                FAIL("create failed at " << k);
        }
        CHECK(ft.size() == n);
        size_t after = heap_allocated();
        double per_flow = double(after - before) / n + 4.0;  // + the writer's free list (4 B/flow)
        printf("Flow table memory: %.1f bytes per flow (%u flows, DPDK heap %zu bytes)\n", per_flow, n, after - before);
        CHECK(ft.find({0xc0a80000u | 0x41, 0xcb000000u | (123456 >> 8), static_cast<uint16_t>(123456), 443, 6}) == nullptr);
        uint32_t k = 123456;
        CHECK(ft.find({0xc0a80000u | (k & 0xff), 0xcb000000u | (k >> 8), static_cast<uint16_t>(k), 443, 6}) != nullptr);
        CHECK(ft.create({1, 2, 3, 4, 17}, r6, Path::pref64, 0, 1) == nullptr);
        CHECK(ft.stats().full == 1);
    }
}

TEST_CASE("Flows: an expired flow's record is reused only after the readers' grace period", "[flows][rcu]") {
    Rcu rcu(2);
    FlowTable ft(1, {}, rcu);
    Ip4 h = ip4("192.168.1.10"), r = ip4("203.0.113.5");
    Flow *f = ft.create({h, r, 1000, 53, udp}, ip6("2001:db8:5::5"), Path::pref64, 0, 0);
    REQUIRE(f);
    rcu.reader_online(1);  // a worker holding f
    CHECK(ft.expire_all(1000) == 1);
    CHECK(ft.find({h, r, 1000, 53, udp}) == nullptr);
    CHECK(ft.reclaim() == 0);
    // Capacity 1 and the record not reclaimed yet: a new flow is refused, f is untouched.
    CHECK(ft.create({h, r, 1001, 53, udp}, ip6("2001:db8:5::6"), Path::pref64, 0, 1000) == nullptr);
    CHECK(f->remote6 == ip6("2001:db8:5::5"));
    CHECK(f->host_port == 1000);
    rcu.quiescent(1);
    CHECK(ft.reclaim() == 3);  // the record and its two key slots
    CHECK(ft.create({h, r, 1001, 53, udp}, ip6("2001:db8:5::6"), Path::pref64, 0, 1000) == f);
    rcu.reader_offline(1);
}

TEST_CASE("DaemonMapper clat: no_eamt (RFC 7757 §4.2.1) bypasses flows and the EAMT", "[flows][mapper]") {
    Clat c;
    Ip4 remote = ip4("203.0.113.5");
    REQUIRE(c.eamt.add_learned(c.host, remote, ip6("2001:db8:5::5")));
    c.m.begin_4to6(c.host, remote, udp, 1, 2, 0);
    Ip6 r6;
    CHECK(c.m.v4_to_v6(remote, Role::destination, {true}, r6).path == Path::pref64);
    CHECK(r6 == ip6("2001:db8:64::cb00:7105"));
    CHECK(c.flows.size() == 0);
    Ip4 r4;
    REQUIRE(c.m.begin_6to4(ip6("2001:db8:5::5"), c.host6, udp, 2, 1, 0));
    CHECK(c.m.v6_to_v4(ip6("2001:db8:5::5"), Role::source, {true}, r4).path == Path::none);
    // A packet whose destination is not in the CLAT prefix has no flow context.
    CHECK_FALSE(c.m.begin_6to4(ip6("2001:db8:5::5"), ip6("2001:db8:abcd::1"), udp, 2, 1, 0));
}

TEST_CASE("DaemonMapper clat: do-not-optimise entries force pref64 for new flows (draft §5.2.15)", "[flows][mapper]") {
    Clat c;
    Ip4 remote = ip4("203.0.113.5");
    REQUIRE(c.eamt.add_learned(c.host, remote, ip6("2001:db8:5::5")));
    REQUIRE(c.eamt.add(xlat::EamtEntry{*Prefix4::parse("203.0.113.0/24"), *Prefix6::parse("2001:db8:77::/120"),
                                       xlat::EamtSource::operator_table}));
    Ip6 r6;
    CHECK(c.out(remote, udp, 1, 53, r6) == Path::eamt_operator);  // global before learned
    CHECK(r6 == ip6("2001:db8:77::5"));
    uint32_t id = 0;
    REQUIRE(c.eamt.add_do_not_optimise(xlat::EamtSource::static_config, *Prefix4::parse("203.0.113.0/24"), nullptr, &id));
    CHECK(c.out(remote, udp, 2, 53, r6) == Path::pref64);
    CHECK(r6 == ip6("2001:db8:64::cb00:7105"));
    CHECK(c.out(remote, udp, 1, 53, r6) == Path::eamt_operator);  // the pinned flow keeps its path
    Ip4 r4;
    CHECK(c.in(ip6("2001:db8:5::5"), udp, 53, 3, r4) == Path::none);  // not mapped by the EAMT either
    // The operator entry's IPv6 side stays indexed for hairpinning and lookups.
    CHECK(c.eamt.lookup_global6(ip6("2001:db8:77::5")) != nullptr);
    CHECK(c.m.eamt_has_v4(remote));
    std::string err;
    CHECK_FALSE(c.eamt.add_do_not_optimise(xlat::EamtSource::static_config, *Prefix4::parse("203.0.113.0/24"), &err));
    CHECK(c.eamt.may_have_do_not_optimise());
    REQUIRE(c.eamt.remove(xlat::EamtSource::static_config, *Prefix4::parse("203.0.113.0/24")));
    CHECK_FALSE(c.eamt.may_have_do_not_optimise());
    CHECK(c.out(remote, udp, 4, 53, r6) == Path::eamt_operator);
    CHECK(c.in(ip6("2001:db8:5::5"), udp, 53, 5, r4) == Path::eamt_learned);  // mapped again
    CHECK(r4 == remote);
    CHECK(c.eamt.global_count() == 1);
}

TEST_CASE("DaemonMapper clat: ICMP errors about a pinned flow follow its path, without refreshing it",
          "[flows][mapper]") {
    Clat c;
    Ip4 remote = ip4("203.0.113.5");
    Ip6 remote6 = ip6("2001:db8:5::5");
    REQUIRE(c.eamt.add_learned(c.host, remote, remote6));
    Ip6 r6;
    c.m.set_now(100);
    REQUIRE(c.out(remote, tcp, 40000, 443, r6, tcp_syn) == Path::eamt_learned);
    REQUIRE(c.out(remote, udp, 5000, 53, r6) == Path::eamt_learned);
    REQUIRE(c.eamt.remove_learned(c.host, remote));
    c.eamt.reclaim();
    c.m.set_now(200);

    // ICMPv6 Packet Too Big from the remote about host:40000 -> remote:443.
    REQUIRE(c.m.begin_6to4_error(c.host6, remote6, tcp, 40000, 443));
    Ip4 v4;
    CHECK(c.m.v6_to_v4(remote6, Role::source, {}, v4).path == Path::eamt_learned);  // outer source
    CHECK(v4 == remote);
    CHECK(c.m.v6_to_v4(remote6, Role::source, {}, v4).path == Path::eamt_learned);  // inner destination
    CHECK(v4 == remote);
    CHECK(c.m.v6_to_v4(c.host6, Role::destination, {}, v4).path == Path::clat_prefix);
    // From a router on the way: mapped statelessly (not in the PLAT prefix here: untranslatable).
    CHECK(c.m.v6_to_v4(ip6("2001:db8:ffff::1"), Role::source, {}, v4).path == Path::none);
    // An error about a tuple without a flow does not create one.
    REQUIRE(c.m.begin_6to4_error(c.host6, remote6, tcp, 40001, 443));
    CHECK(c.m.v6_to_v4(remote6, Role::source, {}, v4).path == Path::none);

    // ICMP port unreachable from the host about remote:53 -> host:5000.
    c.m.begin_4to6_error(remote, c.host, udp, 53, 5000);
    CHECK(c.m.v4_to_v6(remote, Role::destination, {}, r6).path == Path::eamt_learned);
    CHECK(r6 == remote6);
    CHECK(c.m.v4_to_v6(c.host, Role::source, {}, r6).path == Path::clat_prefix);
    c.m.begin_4to6_error(remote, c.host, udp, 53, 5001);
    CHECK(c.m.v4_to_v6(remote, Role::destination, {}, r6).path == Path::pref64);

    CHECK(c.flows.size() == 2);
    c.flows.for_each([](const Flow &f) { CHECK(f.last_seen.load() == 100); });
}
