// EamtTables (dataplane/tables/eamt_tables.*) and the siit / stateless side of DaemonMapper:
// RFC 7757 §3.3 longest-prefix lookups with bit-by-bit suffix copy, draft §5.2.5 host scoping,
// source precedence, valid/stale, RCU-safe updates under concurrent readers, memory per entry.
#include <catch2/catch.hpp>

#include <rte_lcore.h>
#include <rte_malloc.h>

#include <array>
#include <atomic>
#include <random>
#include <cstdio>
#include <thread>
#include <vector>

#include "tables/daemon_mapper.hpp"
#include "tables/eamt_tables.hpp"
#include "tables/rcu.hpp"
#include "xlat/mapper.hpp"

using namespace eamclat;
using namespace eamclat::tables;
using xlat::EamtEntry;
using xlat::EamtSource;

namespace {

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
EamtEntry entry(const char *p4, const char *p6, EamtSource src = EamtSource::static_config) {
    auto a = Prefix4::parse(p4);
    auto b = Prefix6::parse(p6);
    REQUIRE(a);
    REQUIRE(b);
    return EamtEntry{*a, *b, src};
}
Ip6 with_low32(Ip6 a, uint32_t v) {
    a.b[12] = static_cast<uint8_t>(v >> 24);
    a.b[13] = static_cast<uint8_t>(v >> 16);
    a.b[14] = static_cast<uint8_t>(v >> 8);
    a.b[15] = static_cast<uint8_t>(v);
    return a;
}
Prefix4 pfx4(const char *s) {
    auto a = Prefix4::parse(s);
    REQUIRE(a);
    return *a;
}

EamtCapacity small_capacity() {
    EamtCapacity c;
    c.global_entries = 1024;
    c.prefix_entries = 64;
    c.lpm_tbl8_groups = 64;
    c.learned_entries = 1024;
    c.learned_per_host = 16;
    return c;
}

std::string xlat4(const EamtTables &t, const char *a) {
    const EamtRecord *r = t.lookup_global4(ip4(a));
    return r ? eam_translate4(*r, ip4(a)).str() : "none";
}
std::string xlat6(const EamtTables &t, const char *a) {
    const EamtRecord *r = t.lookup_global6(ip6(a));
    return r ? ip4_str(eam_translate6(*r, ip6(a))) : "none";
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

// RFC 7757 Figure 1.
void add_figure1(EamtTables &t) {
    const char *rows[][2] = {{"192.0.2.1", "2001:db8:aaaa::"},         {"192.0.2.2/32", "2001:db8:bbbb::b/128"},
                             {"192.0.2.16/28", "2001:db8:cccc::/124"}, {"192.0.2.128/26", "2001:db8:dddd::/64"},
                             {"192.0.2.192/29", "2001:db8:eeee:8::/62"}, {"192.0.2.224/31", "64:ff9b::/127"}};
    for (auto &r : rows) {
        std::string err;
        INFO(r[0] << " " << r[1]);
        REQUIRE(t.add(entry(r[0], r[1]), &err));
        CHECK(err.empty());
    }
}

}  // namespace

TEST_CASE("EAMT: RFC 7757 Appendix B translations, both directions", "[eamt]") {
    Rcu rcu(4);
    EamtTables t(small_capacity(), rcu);
    add_figure1(t);
    // Figure 7 (the RFC 6052 row is covered by the mapper test below).
    const char *rows[][2] = {{"192.0.2.1", "2001:db8:aaaa::"},          {"192.0.2.2", "2001:db8:bbbb::b"},
                             {"192.0.2.16", "2001:db8:cccc::"},          {"192.0.2.24", "2001:db8:cccc::8"},
                             {"192.0.2.31", "2001:db8:cccc::f"},         {"192.0.2.128", "2001:db8:dddd::"},
                             {"192.0.2.152", "2001:db8:dddd:0:6000::"},  {"192.0.2.183", "2001:db8:dddd:0:dc00::"},
                             {"192.0.2.191", "2001:db8:dddd:0:fc00::"},  {"192.0.2.195", "2001:db8:eeee:9:8000::"},
                             {"192.0.2.225", "64:ff9b::1"}};
    for (auto &r : rows) {
        INFO(r[0] << " <-> " << r[1]);
        CHECK(xlat4(t, r[0]) == ip6(r[1]).str());
        CHECK(xlat6(t, r[1]) == r[0]);
    }
    CHECK(xlat4(t, "192.0.2.248") == "none");
    CHECK(xlat4(t, "192.0.2.3") == "none");
    CHECK(xlat6(t, "2001:db8:bbbb::c") == "none");
    CHECK(t.global_count() == 6);
}

TEST_CASE("EAMT: longest prefix wins; exact entries beat prefixes; removal falls back", "[eamt]") {
    Rcu rcu(4);
    EamtTables t(small_capacity(), rcu);
    REQUIRE(t.add(entry("198.51.100.0/24", "2001:db8:1::/120")));
    REQUIRE(t.add(entry("198.51.100.128/25", "2001:db8:2::/121")));
    REQUIRE(t.add(entry("198.51.100.130/32", "2001:db8:3::1/128")));
    CHECK(xlat4(t, "198.51.100.5") == "2001:db8:1::5");
    CHECK(xlat4(t, "198.51.100.129") == "2001:db8:2::1");
    CHECK(xlat4(t, "198.51.100.130") == "2001:db8:3::1");
    CHECK(xlat6(t, "2001:db8:2::7f") == "198.51.100.255");
    CHECK(xlat6(t, "2001:db8:3::1") == "198.51.100.130");
    // A /120 contains ::80..::ff too; the /121 covers only 2001:db8:2::/121.
    CHECK(xlat6(t, "2001:db8:1::80") == "198.51.100.128");

    REQUIRE(t.remove(EamtSource::static_config, pfx4("198.51.100.130/32")));
    CHECK(xlat4(t, "198.51.100.130") == "2001:db8:2::2");
    CHECK(xlat6(t, "2001:db8:3::1") == "none");
    REQUIRE(t.remove(EamtSource::static_config, pfx4("198.51.100.128/25")));
    CHECK(xlat4(t, "198.51.100.130") == "2001:db8:1::82");
    CHECK(xlat6(t, "2001:db8:2::2") == "none");
    CHECK_FALSE(t.remove(EamtSource::static_config, pfx4("198.51.100.128/25")));
    CHECK(t.global_count() == 1);
    t.reclaim();
    CHECK(t.retired_pending() == 0);
}

TEST_CASE("EAMT: IPv6 suffix longer than IPv4 suffix (RFC 7757 §3.2/§3.3 padding and truncation)", "[eamt]") {
    Rcu rcu(4);
    EamtTables t(small_capacity(), rcu);
    REQUIRE(t.add(entry("192.0.2.1/32", "2001:db8:a::/120")));
    REQUIRE(t.add(entry("10.0.0.0/24", "2001:db8:b::/64")));
    CHECK(xlat4(t, "192.0.2.1") == "2001:db8:a::");
    CHECK(xlat6(t, "2001:db8:a::ff") == "192.0.2.1");      // trailing bits discarded
    CHECK(xlat4(t, "10.0.0.7") == "2001:db8:b:0:700::");  // suffix right after the /64, zero padded
    CHECK(xlat6(t, "2001:db8:b:0:712:3456:789a:bcde") == "10.0.0.7");
}

TEST_CASE("EAMT: validation refuses inconsistent entries", "[eamt]") {
    Rcu rcu(4);
    EamtTables t(small_capacity(), rcu);
    std::string err;
    CHECK_FALSE(t.add(entry("192.0.2.0/24", "2001:db8::/128"), &err));  // 8 IPv4 suffix bits, 0 IPv6
    CHECK(err.find("§3.2") != std::string::npos);
    EamtEntry bad = entry("192.0.2.0/24", "2001:db8::/120");
    bad.ipv4.addr |= 1;  // host bits
    CHECK_FALSE(t.add(bad, &err));
    CHECK_FALSE(t.add(entry("192.0.2.1", "2001:db8::1", EamtSource::learned), &err));
    CHECK_FALSE(t.add(entry("0.0.0.0/0", "2001:db8::/96"), &err));
    CHECK(err.find("/0") != std::string::npos);
    REQUIRE(t.add(entry("192.0.2.1", "2001:db8::1")));
    CHECK_FALSE(t.add(entry("192.0.2.1", "2001:db8::2"), &err));  // same source, same IPv4
    CHECK(err.find("§5") != std::string::npos);
    CHECK_FALSE(t.add(entry("192.0.2.2", "2001:db8::1"), &err));  // same source, same IPv6
    CHECK(t.global_count() == 1);

    EamtCapacity c = small_capacity();
    c.global_entries = 2;
    EamtTables full(c, rcu);
    REQUIRE(full.add(entry("192.0.2.1", "2001:db8::1")));
    REQUIRE(full.add(entry("192.0.2.2", "2001:db8::2")));
    CHECK_FALSE(full.add(entry("192.0.2.3", "2001:db8::3"), &err));
    CHECK(err.find("full") != std::string::npos);
}

TEST_CASE("EAMT: static over operator for the same prefix, whatever the insertion order", "[eamt]") {
    Rcu rcu(4);
    EamtTables t(small_capacity(), rcu);
    uint32_t op_id = 0, st_id = 0;
    REQUIRE(t.add(entry("198.51.100.1", "2001:db8::a", EamtSource::operator_table), nullptr, &op_id));
    REQUIRE(t.add(entry("198.51.100.1", "2001:db8::b", EamtSource::static_config), nullptr, &st_id));
    CHECK(op_id != st_id);
    const EamtRecord *r = t.lookup_global4(ip4("198.51.100.1"));
    REQUIRE(r);
    CHECK(r->source == EamtSource::static_config);
    CHECK(r->id == st_id);
    CHECK(xlat4(t, "198.51.100.1") == "2001:db8::b");
    CHECK(xlat6(t, "2001:db8::a") == "198.51.100.1");  // the operator's IPv6 key is its own

    REQUIRE(t.remove(EamtSource::static_config, pfx4("198.51.100.1/32")));
    CHECK(xlat4(t, "198.51.100.1") == "2001:db8::a");
    CHECK(xlat6(t, "2001:db8::b") == "none");

    // Same prefixes, static added second on a prefix entry (LPM path).
    REQUIRE(t.add(entry("203.0.113.0/24", "2001:db8:1::/120", EamtSource::operator_table)));
    REQUIRE(t.add(entry("203.0.113.0/24", "2001:db8:1::/120", EamtSource::static_config)));
    r = t.lookup_global4(ip4("203.0.113.9"));
    REQUIRE(r);
    CHECK(r->source == EamtSource::static_config);
    r = t.lookup_global6(ip6("2001:db8:1::9"));
    REQUIRE(r);
    CHECK(r->source == EamtSource::static_config);
    REQUIRE(t.remove(EamtSource::static_config, pfx4("203.0.113.0/24")));
    r = t.lookup_global6(ip6("2001:db8:1::9"));
    REQUIRE(r);
    CHECK(r->source == EamtSource::operator_table);

    CHECK(t.remove_source(EamtSource::operator_table) == 2);
    CHECK(t.global_count() == 0);
    CHECK(t.lookup_global4(ip4("203.0.113.9")) == nullptr);
    CHECK(t.lookup_global6(ip6("2001:db8:1::9")) == nullptr);
}

TEST_CASE("EAMT: learned entries are scoped to their LAN host (draft §5.2.5)", "[eamt]") {
    Rcu rcu(4);
    EamtTables t(small_capacity(), rcu);
    Ip4 a = ip4("192.168.1.10"), b = ip4("192.168.1.11"), remote = ip4("203.0.113.5");
    uint32_t id = 0;
    REQUIRE(t.add_learned(a, remote, ip6("2001:db8:5::5"), nullptr, &id));
    CHECK(id != 0);
    const EamtRecord *r = t.select4(a, remote);
    REQUIRE(r);
    CHECK(r->source == EamtSource::learned);
    CHECK(eam_translate4(*r, remote) == ip6("2001:db8:5::5"));
    CHECK(t.select4(b, remote) == nullptr);
    CHECK(t.lookup_global4(remote) == nullptr);
    r = t.select6(a, ip6("2001:db8:5::5"));
    REQUIRE(r);
    CHECK(eam_translate6(*r, ip6("2001:db8:5::5")) == remote);
    CHECK(t.select6(b, ip6("2001:db8:5::5")) == nullptr);
    CHECK(t.learned_count(a) == 1);
    CHECK(t.learned_count(b) == 0);

    // A global (static) entry takes precedence over the host's learned one.
    REQUIRE(t.add(entry("203.0.113.5", "2001:db8:99::5")));
    r = t.select4(a, remote);
    REQUIRE(r);
    CHECK(r->source == EamtSource::static_config);
    // ... unless it is stale: then the host's learned entry is next.
    REQUIRE(t.set_state(EamtSource::static_config, pfx4("203.0.113.5/32"), EntryState::stale));
    r = t.select4(a, remote);
    REQUIRE(r);
    CHECK(r->source == EamtSource::learned);
    CHECK(t.select4(b, remote) == nullptr);  // stale global, no learned entry: pref64 for host b
    CHECK(t.lookup_global4(remote) != nullptr);  // still there for pinned flows and hairpinning
}

TEST_CASE("EAMT: stale learned entries are not selected for new flows; refresh and replacement", "[eamt]") {
    Rcu rcu(4);
    EamtTables t(small_capacity(), rcu);
    Ip4 h = ip4("192.168.1.10"), remote = ip4("203.0.113.5");
    uint32_t id1 = 0, id2 = 0, id3 = 0;
    REQUIRE(t.add_learned(h, remote, ip6("2001:db8:5::5"), nullptr, &id1));
    REQUIRE(t.set_learned_state(h, remote, EntryState::stale));
    CHECK(t.select4(h, remote) == nullptr);
    CHECK(t.select6(h, ip6("2001:db8:5::5")) == nullptr);
    const EamtRecord *r = t.lookup_learned4(h, remote);
    REQUIRE(r);
    CHECK(r->load_state() == EntryState::stale);

    // Same answer again: valid again, same entry.
    REQUIRE(t.add_learned(h, remote, ip6("2001:db8:5::5"), nullptr, &id2));
    CHECK(id2 == id1);
    CHECK(t.select4(h, remote) != nullptr);

    // A different IPv6 address: a new mapping (new id), the old IPv6 key is gone.
    REQUIRE(t.add_learned(h, remote, ip6("2001:db8:5::6"), nullptr, &id3));
    CHECK(id3 != id1);
    CHECK(t.lookup_learned6(h, ip6("2001:db8:5::5")) == nullptr);
    r = t.lookup_learned6(h, ip6("2001:db8:5::6"));
    REQUIRE(r);
    CHECK(r->ipv4.addr == remote);
    CHECK(t.learned_count() == 1);

    // RFC 7757 §5: one IPv6 address, one IPv4 address per host.
    std::string err;
    CHECK_FALSE(t.add_learned(h, ip4("203.0.113.6"), ip6("2001:db8:5::6"), &err));
    CHECK_FALSE(err.empty());
    CHECK_FALSE(t.add_learned(0, remote, ip6("2001:db8:5::7"), &err));

    // Per-host limit (16 in small_capacity): the host has one entry, 15 more fit.
    for (uint32_t i = 0; i < 15; ++i)
        REQUIRE(t.add_learned(h, ip4("198.18.0.0") + i, with_low32(ip6("2001:db8:6::"), i)));
    CHECK_FALSE(t.add_learned(h, ip4("198.18.1.0"), ip6("2001:db8:7::1"), &err));
    CHECK(err.find("host") != std::string::npos);
    CHECK(t.add_learned(ip4("192.168.1.99"), ip4("198.18.1.0"), ip6("2001:db8:7::1")));  // other host
    CHECK(t.remove_learned_host(h) == 16);
    CHECK(t.learned_count() == 1);
    CHECK_FALSE(t.remove_learned(h, remote));
    t.reclaim();
    CHECK(t.retired_pending() == 0);
}

TEST_CASE("EAMT: records are reused only after reclamation; for_each lists installed and shadowed", "[eamt]") {
    Rcu rcu(4);
    EamtTables t(small_capacity(), rcu);
    REQUIRE(t.add(entry("198.51.100.1", "2001:db8::a", EamtSource::operator_table)));
    REQUIRE(t.add(entry("198.51.100.1", "2001:db8::b")));
    REQUIRE(t.add_learned(ip4("192.168.1.2"), ip4("198.51.100.9"), ip6("2001:db8::9")));
    int installed = 0, shadowed = 0;
    t.for_each([&](const EamtRecord &r, bool inst) {
        (inst ? installed : shadowed)++;
        if (!inst)
            CHECK(r.source == EamtSource::operator_table);
    });
    CHECK(installed == 2);
    CHECK(shadowed == 1);
    const EamtRecord *before = t.find(EamtSource::static_config, pfx4("198.51.100.1/32"));
    REQUIRE(before);
    CHECK(t.find(EamtSource::learned, pfx4("198.51.100.1/32")) == nullptr);
    CHECK(t.find_learned(ip4("192.168.1.2"), ip4("198.51.100.9")) != nullptr);
    REQUIRE(t.remove(EamtSource::static_config, pfx4("198.51.100.1/32")));
    CHECK(t.retired_pending() >= 2);  // the record and the IPv6 hash slot
    CHECK(t.reclaim() >= 2);
    CHECK(t.retired_pending() == 0);
}

TEST_CASE("DaemonMapper siit: EAMT then pool6, same answers as StaticMapper", "[eamt][mapper]") {
    xlat::Config cfg;
    cfg.mode = xlat::Mode::siit;
    cfg.pool6 = Prefix6::parse("64:ff9b::/96");
    const char *rows[][2] = {{"192.0.2.1", "2001:db8:aaaa::"},         {"192.0.2.2/32", "2001:db8:bbbb::b/128"},
                             {"192.0.2.16/28", "2001:db8:cccc::/124"}, {"192.0.2.128/26", "2001:db8:dddd::/64"},
                             {"192.0.2.192/29", "2001:db8:eeee:8::/62"}, {"192.0.2.224/31", "64:ff9b::/127"}};
    for (auto &r : rows)
        cfg.eamt.push_back(entry(r[0], r[1]));
    xlat::StaticMapper reference(cfg);
    Rcu rcu(4);
    EamtTables t(small_capacity(), rcu);
    for (auto &e : cfg.eamt)
        REQUIRE(t.add(e));
    DaemonMapper m(cfg, t, nullptr);
    const char *v4s[] = {"192.0.2.1", "192.0.2.2", "192.0.2.24", "192.0.2.152", "192.0.2.195", "192.0.2.225",
                         "192.0.2.248", "8.8.8.8", "10.1.2.3"};
    for (const char *a : v4s) {
        for (auto role : {xlat::Role::source, xlat::Role::destination}) {
            for (bool no_eamt : {false, true}) {
                INFO(a << " role " << int(role) << " no_eamt " << no_eamt);
                Ip6 got{}, want{};
                xlat::MapResult rg = m.v4_to_v6(ip4(a), role, {no_eamt}, got);
                xlat::MapResult rw = reference.v4_to_v6(ip4(a), role, {no_eamt}, want);
                CHECK(rg.path == rw.path);
                if (rw.ok())
                    CHECK(got == want);
                if (!rw.ok())
                    continue;
                Ip4 back = 0, back_ref = 0;
                xlat::MapResult bg = m.v6_to_v4(want, role, {no_eamt}, back);
                xlat::MapResult bw = reference.v6_to_v4(want, role, {no_eamt}, back_ref);
                CHECK(bg.path == bw.path);
                CHECK(back == back_ref);
            }
        }
    }
    CHECK(m.eamt_has_v4(ip4("192.0.2.20")));
    CHECK_FALSE(m.eamt_has_v4(ip4("192.0.2.3")));
    Ip6 out;
    CHECK(m.v4_to_v6(ip4("8.8.8.8"), xlat::Role::destination, {}, out).path == xlat::Path::pref64);
    CHECK(out == ip6("64:ff9b::808:808"));
    // A stale entry is not used for new translations in siit mode either.
    REQUIRE(t.set_state(EamtSource::static_config, pfx4("192.0.2.1/32"), EntryState::stale));
    CHECK(m.v4_to_v6(ip4("192.0.2.1"), xlat::Role::destination, {}, out).path == xlat::Path::none);  // WKP + non-global
}

TEST_CASE("DaemonMapper clat, stateless: CLAT prefix for the host, EAMT/learned/PLAT for remotes", "[eamt][mapper]") {
    xlat::Config cfg;
    cfg.mode = xlat::Mode::clat;
    cfg.clat_prefix = Prefix6::parse("2001:db8:c1a7::/96");
    cfg.plat_prefix = Prefix6::parse("2001:db8:64::/96");
    Rcu rcu(4);
    EamtTables t(small_capacity(), rcu);
    REQUIRE(t.add_learned(ip4("192.168.1.10"), ip4("203.0.113.5"), ip6("2001:db8:5::5")));
    DaemonMapper m(cfg, t, nullptr);
    Ip6 out;
    m.begin_4to6(ip4("192.168.1.10"), ip4("203.0.113.5"), 17, 5000, 53, 0);
    CHECK(m.v4_to_v6(ip4("192.168.1.10"), xlat::Role::source, {}, out).path == xlat::Path::clat_prefix);
    CHECK(out == ip6("2001:db8:c1a7::c0a8:10a"));
    // No flow table: the destination is mapped statelessly (no context host -> no learned entry).
    CHECK(m.v4_to_v6(ip4("203.0.113.5"), xlat::Role::destination, {}, out).path == xlat::Path::pref64);
    CHECK(out == ip6("2001:db8:64::cb00:7105"));
    Ip4 v4;
    CHECK(m.v6_to_v4(ip6("2001:db8:c1a7::c0a8:10a"), xlat::Role::destination, {}, v4).path == xlat::Path::clat_prefix);
    CHECK(v4 == ip4("192.168.1.10"));
    CHECK(m.v6_to_v4(ip6("2001:db8:99::1"), xlat::Role::source, {}, v4).path == xlat::Path::none);
    CHECK(m.counters().stateless.load() >= 2);
}

TEST_CASE("EAMT concurrency: readers under churn never see torn or freed entries", "[eamt][rcu]") {
    constexpr unsigned readers = 3;
    constexpr uint32_t stable = 1000;
    constexpr uint32_t churn = 100000;
    Rcu rcu(readers);
    EamtCapacity cap;
    cap.global_entries = 8192;
    cap.prefix_entries = 256;
    cap.lpm_tbl8_groups = 512;
    cap.learned_entries = 8192;
    cap.learned_per_host = 0;
    EamtTables t(cap, rcu);
    // Every mapping is self-describing: IPv4 a.b.c.d <-> 2001:db8:<kind>::<a.b.c.d>, so a reader can
    // check that whatever record it finds is internally consistent (not torn, not reused).
    auto v6_of = [](uint32_t kind, Ip4 a) {
        Ip6 x{};
        x.b[0] = 0x20; x.b[1] = 0x01; x.b[2] = 0x0d; x.b[3] = 0xb8;
        x.b[4] = static_cast<uint8_t>(kind >> 8); x.b[5] = static_cast<uint8_t>(kind);
        x.b[12] = static_cast<uint8_t>(a >> 24); x.b[13] = static_cast<uint8_t>(a >> 16);
        x.b[14] = static_cast<uint8_t>(a >> 8); x.b[15] = static_cast<uint8_t>(a);
        return x;
    };
    const Ip4 stable_base = 0x0a000000, churn_base = 0x0b000000, host = 0xc0a80001;
    for (uint32_t i = 0; i < stable; ++i) {
        REQUIRE(t.add(EamtEntry{{stable_base + i, 32}, {v6_of(1, stable_base + i), 128}, EamtSource::static_config}));
        REQUIRE(t.add_learned(host, stable_base + i, v6_of(2, stable_base + i)));
    }
    // A stable IPv4 prefix entry (LPM4, updated in place around it) and IPv6 prefix (LPM6 rebuilt).
    REQUIRE(t.add(entry("100.64.0.0/16", "2001:db8:100::/112")));

    std::atomic<bool> stop{false};
    std::atomic<uint64_t> lookups{0}, failures{0}, torn{0}, hits{0};
    std::vector<std::thread> th;
    for (unsigned id = 0; id < readers; ++id) {
        th.emplace_back([&, id] {
            // Catch2 assertions are not thread-safe: readers only count.
            if (rte_thread_register() != 0)
                failures.fetch_add(1);
            rcu.reader_online(id);
            uint64_t n = 0, seen = 0;
            uint32_t i = id;
            while (!stop.load(std::memory_order_relaxed)) {
                i = (i * 1103515245u + 12345u);
                Ip4 s = stable_base + i % stable;
                const EamtRecord *r = t.lookup_global4(s);
                if (!r || eam_translate4(*r, s) != v6_of(1, s))
                    failures.fetch_add(1);
                r = t.select6(host, v6_of(2, s));
                if (!r || eam_translate6(*r, v6_of(2, s)) != s)
                    failures.fetch_add(1);
                Ip4 p = 0x64400000 | (i & 0xffff);
                r = t.lookup_global4(p);
                if (!r || eam_translate4(*r, p) != [&] { Ip6 x = *Ip6::parse("2001:db8:100::"); x.b[14] = p >> 8; x.b[15] = p; return x; }())
                    failures.fetch_add(1);
                // Churned entries: may or may not be there; if found, must be whole.
                Ip4 c = churn_base + i % 4096;
                if ((r = t.lookup_global4(c))) {
                    ++seen;
                    if (r->id == 0 || r->ipv4.len != 32 || r->ipv4.addr != c || r->ipv6 != Prefix6{v6_of(3, c), 128})
                        torn.fetch_add(1);
                }
                if ((r = t.lookup_learned6(host, v6_of(4, c)))) {
                    ++seen;
                    if (r->host != host || r->ipv4.addr != c || r->ipv6.addr != v6_of(4, c))
                        torn.fetch_add(1);
                }
                Ip6 c6 = *Ip6::parse("2001:db8:200::");
                c6.b[13] = static_cast<uint8_t>(i % 8);
                c6.b[15] = static_cast<uint8_t>(i);
                if ((r = t.lookup_global6(c6))) {
                    ++seen;
                    if (r->ipv6.len != 120 || r->ipv4.len != 24 || eam_translate6(*r, c6) != (0x0c000000u | ((i % 8) << 8) | (i & 0xff)))
                        torn.fetch_add(1);
                }
                ++n;
                rcu.quiescent(id);
            }
            lookups.fetch_add(n);
            hits.fetch_add(seen);
            rcu.reader_offline(id);
            rte_thread_unregister();
        });
    }

    // No REQUIRE while the readers run (a throw would skip the joins): count writer failures.
    uint64_t writer_failures = 0;
#define WRITER_OK(x) (void)((x) || ++writer_failures)
    uint32_t done = 0;
    for (uint32_t round = 0; done < churn; ++round) {
        for (uint32_t k = 0; k < 4096 && done < churn; ++k, ++done) {
            Ip4 c = churn_base + k;
            if (round % 2 == 0) {
                WRITER_OK(t.add(EamtEntry{{c, 32}, {v6_of(3, c), 128}, EamtSource::operator_table}));
                WRITER_OK(t.add_learned(host, c, v6_of(4, c)));
            } else {
                WRITER_OK(t.remove(EamtSource::operator_table, {c, 32}));
                WRITER_OK(t.remove_learned(host, c));
            }
            if (k % 512 == 0)
                t.reclaim();
        }
        // LPM churn: IPv4 prefixes in place (rte_lpm + RCU tbl8 reclamation), IPv6 rebuilds.
        Ip4 p4 = 0x64400000 | (((round / 2) % 200) << 8);  // /25 inside the stable /16: needs tbl8 groups
        if (round % 2 == 0) {
            Ip6 v6 = *Ip6::parse("2001:db8:100::");
            v6.b[14] = static_cast<uint8_t>((round / 2) % 200);
            WRITER_OK(t.add(EamtEntry{{p4, 25}, {v6, 121}, EamtSource::operator_table}));  // same mapping as the /16
        } else {
            WRITER_OK(t.remove(EamtSource::operator_table, {p4, 25}));
        }
        if (round < 16) {
            Ip6 v6 = *Ip6::parse("2001:db8:200::");
            v6.b[13] = static_cast<uint8_t>(round % 8);
            Ip4 v4 = 0x0c000000u | ((round % 8) << 8);
            if (round < 8)
                WRITER_OK(t.add(EamtEntry{{v4, 24}, {v6, 120}, EamtSource::operator_table}));
            else
                WRITER_OK(t.remove(EamtSource::operator_table, {v4, 24}));
        }
        t.reclaim();
    }
#undef WRITER_OK
    stop = true;
    for (auto &x : th)
        x.join();
    t.reclaim_all();
    INFO("lookups " << lookups.load() << " churn hits " << hits.load());
    CHECK(lookups.load() > 0);
    CHECK(hits.load() > 0);  // the readers did meet churned entries
    CHECK(writer_failures == 0);
    CHECK(failures.load() == 0);
    CHECK(torn.load() == 0);
    CHECK(t.retired_pending() == 0);
}

TEST_CASE("EAMT: one million exact entries, memory per entry", "[eamt][scale]") {
    constexpr uint32_t n = 1000000;
    size_t before = heap_allocated();
    Rcu rcu(4);
    EamtCapacity cap;
    cap.global_entries = n;
    cap.prefix_entries = 16;
    cap.learned_entries = 8;
    {
        EamtTables t(cap, rcu);
        for (uint32_t i = 0; i < n; ++i) {
            Ip6 v6 = *Ip6::parse("2001:db8::");
            v6.b[12] = static_cast<uint8_t>(i >> 24); v6.b[13] = static_cast<uint8_t>(i >> 16);
            v6.b[14] = static_cast<uint8_t>(i >> 8); v6.b[15] = static_cast<uint8_t>(i);
            if (!t.add(EamtEntry{{0x0a000000 + i, 32}, {v6, 128}, EamtSource::operator_table})) {
                FAIL("add failed at " << i);
            }
        }
        CHECK(t.global_count() == n);
        size_t after = heap_allocated();
        // Writer-side bookkeeping outside the DPDK heap: free list (4 B) + status (1 B) per record.
        double per_entry = double(after - before) / n + 5.0 * (cap.global_entries + cap.learned_entries) * 1.125 / n;
        printf("EAMT memory: %.1f bytes per global exact entry (%u entries, DPDK heap %zu bytes)\n", per_entry, n,
               after - before);
        const EamtRecord *r = t.lookup_global4(0x0a000000 + 777777);
        REQUIRE(r);
        CHECK(r->ipv6.addr.b[13] == static_cast<uint8_t>(777777 >> 16));
        Ip6 v6 = *Ip6::parse("2001:db8::");
        v6.b[13] = static_cast<uint8_t>(999999 >> 16); v6.b[14] = static_cast<uint8_t>(999999 >> 8);
        v6.b[15] = static_cast<uint8_t>(999999);
        r = t.lookup_global6(v6);
        REQUIRE(r);
        CHECK(r->ipv4.addr == 0x0a000000u + 999999);
    }
}

TEST_CASE("EAMT: a removed record stays intact until every online reader reported a quiescent state", "[eamt][rcu]") {
    Rcu rcu(2);
    EamtTables t(small_capacity(), rcu);
    REQUIRE(t.add(entry("192.0.2.1", "2001:db8::1")));
    REQUIRE(t.add(entry("198.51.100.0/24", "2001:db8:1::/120")));
    rcu.reader_online(1);  // this thread plays a worker that is inside its loop
    const EamtRecord *held = t.lookup_global4(ip4("192.0.2.1"));
    const EamtRecord *held_prefix = t.lookup_global6(ip6("2001:db8:1::7"));
    REQUIRE(held);
    REQUIRE(held_prefix);
    REQUIRE(t.remove(EamtSource::static_config, pfx4("192.0.2.1/32")));
    REQUIRE(t.remove(EamtSource::static_config, pfx4("198.51.100.0/24")));
    CHECK(t.lookup_global4(ip4("192.0.2.1")) == nullptr);  // gone for new lookups
    CHECK(t.lookup_global6(ip6("2001:db8:1::7")) == nullptr);
    size_t pending = t.retired_pending();
    CHECK(pending >= 4);
    CHECK(t.reclaim() == 0);  // the reader has not passed a quiescent state
    // New entries do not reuse the held records meanwhile.
    for (uint32_t i = 0; i < 100; ++i)
        REQUIRE(t.add(EamtEntry{{0x0a000000 + i, 32}, {with_low32(ip6("2001:db8:2::"), i), 128}, EamtSource::static_config}));
    CHECK(held->ipv4 == pfx4("192.0.2.1/32"));
    CHECK(held->ipv6.addr == ip6("2001:db8::1"));
    CHECK(held_prefix->ipv4 == pfx4("198.51.100.0/24"));
    CHECK(eam_translate6(*held_prefix, ip6("2001:db8:1::7")) == ip4("198.51.100.7"));
    rcu.quiescent(1);
    CHECK(t.reclaim() == pending);
    CHECK(t.retired_pending() == 0);
    rcu.reader_offline(1);
}

TEST_CASE("EAMT: one million learned entries, memory per entry", "[eamt][scale]") {
    constexpr uint32_t n = 1000000;
    size_t before = heap_allocated();
    Rcu rcu(4);
    EamtCapacity cap;
    cap.global_entries = 8;
    cap.prefix_entries = 8;
    cap.learned_entries = n;
    cap.learned_per_host = 0;
    {
        EamtTables t(cap, rcu);
        const Ip6 base = ip6("2001:db8:9::");
        for (uint32_t i = 0; i < n; ++i) {
            // 250 LAN hosts, 4000 remotes each.
            Ip4 host = 0xc0a80100u + i % 250, remote = 0xcb000000u + i / 250;
            Ip6 v6 = with_low32(base, i / 250);
            if (!t.add_learned(host, remote, v6))
                FAIL("add_learned failed at " << i);
        }
        CHECK(t.learned_count() == n);
        size_t after = heap_allocated();
        double per_entry = double(after - before) / n + 5.0 * (cap.global_entries + cap.learned_entries) * 1.125 / n;
        printf("EAMT memory: %.1f bytes per learned entry (%u entries, DPDK heap %zu bytes; sizeof(EamtRecord) %zu)\n",
               per_entry, n, after - before, sizeof(EamtRecord));
        const EamtRecord *r = t.select4(0xc0a80100u + 17, 0xcb000000u + 1234);
        REQUIRE(r);
        CHECK(r->ipv6.addr == with_low32(ip6("2001:db8:9::"), 1234));
        CHECK(t.select4(0xc0a80100u + 251, 0xcb000000u + 1234) == nullptr);
    }
}

TEST_CASE("EAMT: rte_lpm tbl8 exhaustion refuses the entry and leaves the table consistent", "[eamt]") {
    Rcu rcu(2);
    EamtCapacity c = small_capacity();
    c.lpm_tbl8_groups = 2;  // one group per IPv4 prefix longer than /24 in a distinct /24
    EamtTables t(c, rcu);
    REQUIRE(t.add(entry("198.51.100.0/25", "2001:db8:1::/121")));
    REQUIRE(t.add(entry("198.51.101.0/25", "2001:db8:2::/121")));
    std::string err;
    CHECK_FALSE(t.add(entry("198.51.102.0/25", "2001:db8:3::/121"), &err));
    CHECK(err.find("tbl8") != std::string::npos);
    CHECK(t.global_count() == 2);
    CHECK(xlat4(t, "198.51.102.1") == "none");
    CHECK(xlat6(t, "2001:db8:3::1") == "none");
    CHECK(xlat4(t, "198.51.101.127") == "2001:db8:2::7f");
    // Freeing a group (after its grace period) makes room again.
    REQUIRE(t.remove(EamtSource::static_config, pfx4("198.51.100.0/25")));
    t.reclaim();
    REQUIRE(t.add(entry("198.51.102.0/25", "2001:db8:3::/121"), &err));
    CHECK(xlat4(t, "198.51.102.1") == "2001:db8:3::1");
    CHECK(xlat6(t, "2001:db8:3::1") == "198.51.102.1");
}

// The staged burst's bulk readers must give, key for key, what the single lookups give: exact
// entries, prefixes (rte_lpm / rte_lpm6), misses, learned entries, any mix in one call.
TEST_CASE("EAMT bulk lookups agree with the single lookups, key for key", "[eamt][bulk]") {
    Rcu rcu(4);
    EamtTables t(small_capacity(), rcu);
    add_figure1(t);
    REQUIRE(t.add(entry("198.51.100.7", "2001:db8:7::7")));
    REQUIRE(t.add_learned(ip4("192.168.1.10"), ip4("203.0.113.5"), ip6("2001:db8:5::5")));
    REQUIRE(t.add_learned(ip4("192.168.1.11"), ip4("203.0.113.6"), ip6("2001:db8:5::6")));
    std::vector<Ip4> a4;
    std::vector<Ip6> a6;
    for (const char *s : {"192.0.2.1", "192.0.2.2", "192.0.2.17", "192.0.2.130", "192.0.2.193", "192.0.2.225",
                          "198.51.100.7", "198.51.100.8", "10.0.0.1", "192.0.2.3", "203.0.113.5"})
        a4.push_back(ip4(s));
    for (const char *s : {"2001:db8:aaaa::", "2001:db8:bbbb::b", "2001:db8:cccc::5", "2001:db8:dddd::1:2",
                          "2001:db8:eeee:9::1", "64:ff9b::1", "2001:db8:7::7", "2001:db8:7::8", "2001:db8:5::5"})
        a6.push_back(ip6(s));
    // Every length from 1 to bulk_max, with the keys repeated.
    for (unsigned n = 1; n <= EamtTables::bulk_max; ++n) {
        std::vector<Ip4> k4(n), hosts(n);
        std::vector<Ip6> k6(n);
        for (unsigned i = 0; i < n; ++i) {
            k4[i] = a4[(i * 7 + n) % a4.size()];
            k6[i] = a6[(i * 5 + n) % a6.size()];
            hosts[i] = i % 2 ? ip4("192.168.1.10") : ip4("192.168.1.11");
        }
        const EamtRecord *g4[EamtTables::bulk_max], *g6[EamtTables::bulk_max], *l4[EamtTables::bulk_max];
        t.lookup_global4_bulk(k4.data(), n, g4);
        t.lookup_global6_bulk(k6.data(), n, g6);
        t.lookup_learned4_bulk(hosts.data(), k4.data(), n, l4);
        for (unsigned i = 0; i < n; ++i) {
            INFO("n " << n << " i " << i << " " << ip4_str(k4[i]) << " " << k6[i].str());
            CHECK(g4[i] == t.lookup_global4(k4[i]));
            CHECK(g6[i] == t.lookup_global6(k6[i]));
            CHECK(l4[i] == t.lookup_learned4(hosts[i], k4[i]));
        }
    }
    const EamtRecord *r[1];
    Ip4 learned = ip4("203.0.113.5"), host = ip4("192.168.1.10");
    t.lookup_learned4_bulk(&host, &learned, 1, r);
    REQUIRE(r[0] != nullptr);
    CHECK(eam_translate4(*r[0], learned) == ip6("2001:db8:5::5"));
}

// A hint is used only for the address (and host) it was made for: the mapper must give the same
// answers with a correct hint, with a hint for another address, and without one.
TEST_CASE("DaemonMapper: EAMT hints change nothing but where the answer comes from", "[eamt][mapper][bulk]") {
    xlat::Config cfg;
    cfg.mode = xlat::Mode::siit;
    cfg.pool6 = Prefix6::parse("2001:db8:46::/96");
    Rcu rcu(4);
    EamtTables t(small_capacity(), rcu);
    add_figure1(t);
    DaemonMapper m(cfg, t, nullptr);
    for (const char *s : {"192.0.2.1", "192.0.2.17", "192.0.2.130", "198.51.100.9"}) {
        const Ip4 a = ip4(s);
        Ip6 plain, hinted, other;
        m.set_hint(nullptr);
        const auto p0 = m.v4_to_v6(a, xlat::Role::destination, {}, plain);
        DaemonMapper::EamtHint h;
        h.has4 = true;
        h.addr4 = a;
        t.lookup_global4_bulk(&a, 1, &h.global4);
        m.set_hint(&h);
        const auto p1 = m.v4_to_v6(a, xlat::Role::destination, {}, hinted);
        // A hint about another address must not be applied to this one.
        DaemonMapper::EamtHint wrong;
        wrong.has4 = true;
        wrong.addr4 = a + 1;
        wrong.global4 = t.lookup_global4(ip4("192.0.2.1"));
        m.set_hint(&wrong);
        const auto p2 = m.v4_to_v6(a, xlat::Role::destination, {}, other);
        INFO(s);
        CHECK(p0.path == p1.path);
        CHECK(p0.path == p2.path);
        CHECK(plain == hinted);
        CHECK(plain == other);
    }
    // A stale entry behind a hint is not used for a new mapping, as without the hint.
    REQUIRE(t.set_state(EamtSource::static_config, pfx4("192.0.2.1/32"), EntryState::stale));
    const Ip4 a = ip4("192.0.2.1");
    DaemonMapper::EamtHint h;
    h.has4 = true;
    h.addr4 = a;
    h.global4 = t.lookup_global4(a);
    m.set_hint(&h);
    Ip6 out;
    CHECK(m.v4_to_v6(a, xlat::Role::destination, {}, out).path == xlat::Path::pref64);
    CHECK(out == ip6("2001:db8:46::c000:201"));
}

// DaemonMapper's prepared RFC 6052 prefixes (a /96 fast path, the §3.1 Well-Known Prefix rule
// decided once) against the reference functions, for every valid length and the WKP.
TEST_CASE("Rfc6052Prefix gives the reference answers for every length, WKP included", "[mapper][rfc6052]") {
    const char *prefixes[] = {"2001:db8::/32", "2001:db8:100::/40", "2001:db8:122::/48", "2001:db8:122:300::/56",
                              "2001:db8:122:344::/64", "2001:db8:122:344::/96", "64:ff9b::/96", "2001:db8::/33"};
    std::mt19937 rng(7);
    for (const char *ps : prefixes) {
        const Prefix6 p = *Prefix6::parse(ps);
        const Rfc6052Prefix fast{std::optional<Prefix6>(p)};
        const bool valid = xlat::rfc6052_valid_length(p.len);
        const bool wkp = xlat::is_well_known_prefix(p);
        for (int i = 0; i < 2000; ++i) {
            Ip4 a = rng();
            if (i < 8) a = std::array<Ip4, 8>{0, 0x0a000001, 0xc0000201, 0xc0a80101, 0x08080808, 0xffffffff, 0x7f000001, 0xc6336401}[i];
            INFO(ps << " " << ip4_str(a));
            Ip6 out{};
            const bool ok = fast.embed(a, out);
            const bool ref_ok = valid && !(wkp && !xlat::is_global4(a));
            REQUIRE(ok == ref_ok);
            if (ok) {
                CHECK(out == xlat::rfc6052_embed(p, a));
                Ip4 back = 0;
                CHECK(fast.extract(out, back));
                CHECK(back == a);
            }
            // Extraction of arbitrary addresses, inside and outside the prefix, u octet set or not.
            Ip6 probe = valid ? xlat::rfc6052_embed(p, a) : p.addr;
            if (i % 3 == 1) probe.b[8] = static_cast<uint8_t>(rng());
            if (i % 5 == 2) probe.b[rng() % 16] ^= static_cast<uint8_t>(1u << (rng() % 8));
            Ip4 ref_v = 0, v = 0;
            bool ref = valid && xlat::rfc6052_extract(p, probe, ref_v) && !(wkp && !xlat::is_global4(ref_v));
            CHECK(fast.extract(probe, v) == ref);
            if (ref) CHECK(v == ref_v);
        }
    }
    const Rfc6052Prefix none{std::optional<Prefix6>{}};
    Ip6 out;
    Ip4 v;
    CHECK_FALSE(none.embed(0x08080808, out));
    CHECK_FALSE(none.extract(out, v));
}
