// Table manager: precedence, the §5.2.5-§5.2.7 lifecycle with a fake clock, capacity, persistence.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <map>
#include <set>

#include "table_manager.hpp"

using namespace eamclat;

namespace {
struct FakeSink : TableSink {
    std::set<uint64_t> installed, stale;
    std::map<uint64_t, uint32_t> pinned;
    size_t capacity = 1000000;
    bool install(const TableEntry &e) override {
        if (installed.size() >= capacity && !installed.count(e.id)) return false;
        installed.insert(e.id);
        stale.erase(e.id);
        return true;
    }
    void mark_stale(const TableEntry &e) override { stale.insert(e.id); }
    void remove(const TableEntry &e) override {
        installed.erase(e.id);
        stale.erase(e.id);
    }
    uint32_t pinned_flows(uint64_t id) override { return pinned.count(id) ? pinned[id] : 0; }
};

struct FakeClock {
    uint64_t mono = 1000;
    int64_t wall = 1'700'000'000;
    Clock clock() {
        return Clock{[this] { return mono; }, [this] { return wall; }};
    }
};

Ip4 a4(const char *s) { return *parse_ip4(s); }
Ip6 a6(const char *s) { return *Ip6::parse(s); }
Prefix4 p4(const char *s) { return *Prefix4::parse(s); }
Prefix6 p6(const char *s) { return *Prefix6::parse(s); }

const Ip4 tv = a4("192.168.1.100");
const Ip4 phone = a4("192.168.1.101");
}  // namespace

TEST_CASE("draft §5.2.5: a learned entry holds host, /32, /128, TTL, name, Valid, Auto", "[table]") {
    FakeSink sink;
    FakeClock fc;
    TableManager tm(sink, fc.clock(), {});
    REQUIRE(tm.learn(tv, "cdn.example", a4("203.0.113.20"), a6("2001:db8:20::20"), 300) == LearnResult::created);
    auto l = tm.list({xlat::EamtSource::learned});
    REQUIRE(l.size() == 1);
    const TableEntry &e = *l[0];
    CHECK(e.host == tv);
    CHECK(e.ipv4 == p4("203.0.113.20/32"));
    CHECK(e.ipv6 == p6("2001:db8:20::20/128"));
    CHECK(e.ttl == 300);
    CHECK(e.expires == 1300);
    CHECK(e.name == "cdn.example");
    CHECK(e.state == EntryState::valid);
    CHECK_FALSE(e.is_static);
    CHECK(sink.installed.count(e.id));
    CHECK(tm.counter(TableCounter::learned_created) == 1);
}

TEST_CASE("draft §5.2.5: entries are scoped per host", "[table]") {
    FakeSink sink;
    FakeClock fc;
    TableManager tm(sink, fc.clock(), {});
    CHECK(tm.learn(tv, "a", a4("203.0.113.20"), a6("2001:db8:20::20"), 300) == LearnResult::created);
    CHECK(tm.learn(phone, "a", a4("203.0.113.20"), a6("2001:db8:20::20"), 300) == LearnResult::created);
    CHECK(tm.list({std::nullopt, tv}).size() == 1);
    CHECK(tm.list({std::nullopt, phone}).size() == 1);
    CHECK(tm.learned_count(tv) == 1);
}

TEST_CASE("draft §5.2.5/§5.2.8: another name with the same IPv4 and a different IPv6 makes the entry Stale", "[table]") {
    FakeSink sink;
    FakeClock fc;
    TableManager tm(sink, fc.clock(), {});
    REQUIRE(tm.learn(tv, "www.example.com", a4("192.0.2.1"), a6("2001:db8::a:b:c:d"), 300) == LearnResult::created);
    CHECK(tm.learn(tv, "www.example.net", a4("192.0.2.1"), a6("2001:db8::e:e:f:f"), 300) == LearnResult::conflict);
    auto l = tm.list();
    REQUIRE(l.size() == 1);  // nothing new created
    CHECK(l[0]->state == EntryState::stale);
    CHECK(l[0]->stale_reason == StaleReason::conflict);
    CHECK(sink.stale.count(l[0]->id));
    // While Stale after a conflict, even the original pair is not re-learned.
    CHECK(tm.learn(tv, "www.example.com", a4("192.0.2.1"), a6("2001:db8::a:b:c:d"), 300) == LearnResult::refused_stale);
    // Another host is unaffected (§5.2.5: Stale only affects the relevant host).
    CHECK(tm.learn(phone, "www.example.net", a4("192.0.2.1"), a6("2001:db8::e:e:f:f"), 300) == LearnResult::created);
    // The Stale entry goes Invalid and is deleted when no flow uses it; then learning works again.
    tm.tick();
    CHECK(tm.list({std::nullopt, tv}).empty());
    CHECK(tm.learn(tv, "www.example.com", a4("192.0.2.1"), a6("2001:db8::a:b:c:d"), 300) == LearnResult::created);
}

TEST_CASE("one IPv6 address for two IPv4 addresses of the same host is refused", "[table]") {
    FakeSink sink;
    FakeClock fc;
    TableManager tm(sink, fc.clock(), {});
    REQUIRE(tm.learn(tv, "a", a4("203.0.113.1"), a6("2001:db8::1"), 60) == LearnResult::created);
    CHECK(tm.learn(tv, "b", a4("203.0.113.2"), a6("2001:db8::1"), 60) == LearnResult::refused_v6_reused);
    CHECK(tm.counter(TableCounter::learned_refused_v6_reused) == 1);
    CHECK(tm.learn(phone, "b", a4("203.0.113.2"), a6("2001:db8::1"), 60) == LearnResult::created);
}

TEST_CASE("draft §5.2.7: TTL expiry -> Stale; Stale -> Invalid -> removed once no pinned flow", "[table]") {
    FakeSink sink;
    FakeClock fc;
    TableManager tm(sink, fc.clock(), {});
    REQUIRE(tm.learn(tv, "cdn", a4("203.0.113.20"), a6("2001:db8:20::20"), 30) == LearnResult::created);
    uint64_t id = tm.list()[0]->id;
    sink.pinned[id] = 2;  // a download is running on it
    fc.mono += 29;
    tm.tick();
    CHECK(tm.find(id)->state == EntryState::valid);
    fc.mono += 1;
    tm.tick();
    REQUIRE(tm.find(id));
    CHECK(tm.find(id)->state == EntryState::stale);
    CHECK(tm.find(id)->stale_reason == StaleReason::ttl_expired);
    CHECK(sink.stale.count(id));
    CHECK(sink.installed.count(id));  // still there for the pinned flows
    fc.mono += 3600;
    tm.tick();
    CHECK(tm.find(id));  // flows still pinned: stays Stale
    sink.pinned[id] = 0;
    tm.tick();
    CHECK_FALSE(tm.find(id));
    CHECK_FALSE(sink.installed.count(id));
    CHECK(tm.counter(TableCounter::removed_invalid) == 1);
}

TEST_CASE("a fresh identical answer makes a TTL-expired entry Valid again", "[table]") {
    FakeSink sink;
    FakeClock fc;
    TableManager tm(sink, fc.clock(), {});
    REQUIRE(tm.learn(tv, "cdn", a4("203.0.113.20"), a6("2001:db8:20::20"), 30) == LearnResult::created);
    uint64_t id = tm.list()[0]->id;
    sink.pinned[id] = 1;
    fc.mono += 31;
    tm.tick();
    REQUIRE(tm.find(id)->state == EntryState::stale);
    CHECK(tm.learn(tv, "cdn", a4("203.0.113.20"), a6("2001:db8:20::20"), 60) == LearnResult::refreshed);
    CHECK(tm.find(id)->state == EntryState::valid);
    CHECK(tm.find(id)->expires == fc.mono + 60);
    CHECK_FALSE(sink.stale.count(id));
}

TEST_CASE("draft §5.2.7: static entries are never changed automatically", "[table]") {
    FakeSink sink;
    FakeClock fc;
    TableManager tm(sink, fc.clock(), {});
    std::string err;
    REQUIRE(tm.add_static(p4("203.0.113.0/24"), p6("2001:db8:20::/120"), 10, err));
    fc.mono += 100000;
    tm.tick();
    REQUIRE(tm.list().size() == 1);
    CHECK(tm.list()[0]->state == EntryState::valid);
    CHECK(tm.list()[0]->is_static);
}

TEST_CASE("static entries: RFC 7757 §3.2 suffix lengths and §5 duplicates are refused", "[table]") {
    FakeSink sink;
    FakeClock fc;
    TableManager tm(sink, fc.clock(), {});
    std::string err;
    CHECK_FALSE(tm.add_static(p4("203.0.113.0/24"), p6("2001:db8:20::/124"), 0, err));
    CHECK(err.find("suffix lengths") != std::string::npos);
    // RFC 7757 Figure 1 row 4: an IPv4 suffix shorter than the IPv6 one is valid.
    REQUIRE(tm.add_static(p4("192.0.2.128/26"), p6("2001:db8:dddd::/64"), 0, err));
    REQUIRE(tm.del_static(p4("192.0.2.128/26"), err));
    REQUIRE(tm.add_static(p4("203.0.113.0/24"), p6("2001:db8:20::/120"), 0, err));
    CHECK_FALSE(tm.add_static(p4("203.0.113.0/24"), p6("2001:db8:21::/120"), 0, err));
    CHECK(err.find("exists") != std::string::npos);
    CHECK_FALSE(tm.add_static(p4("198.51.100.0/24"), p6("2001:db8:20::/120"), 0, err));
    CHECK_FALSE(tm.del_static(p4("198.51.100.0/24"), err));
    CHECK(err.find("no static entry") != std::string::npos);
    REQUIRE(tm.del_static(p4("203.0.113.0/24"), err));
    CHECK(tm.size() == 0);
}

TEST_CASE("precedence: static and operator entries cover learned ones", "[table]") {
    FakeSink sink;
    FakeClock fc;
    TableManager tm(sink, fc.clock(), {});
    std::string err;
    REQUIRE(tm.add_static(p4("203.0.113.0/24"), p6("2001:db8:20::/120"), 0, err));
    CHECK(tm.learn(tv, "x", a4("203.0.113.7"), a6("2001:db8:99::7"), 60) == LearnResult::refused_covered);
    REQUIRE(tm.apply_operator_table({{p4("198.51.100.0/24"), p6("2001:db8:30::/120"), 600, false, "cache"}}, err));
    CHECK(tm.learn(tv, "y", a4("198.51.100.9"), a6("2001:db8:99::9"), 60) == LearnResult::refused_covered);
    // §5.2.15: a do-not-optimise static entry also wins over learning.
    REQUIRE(tm.add_do_not_optimise(p4("192.0.2.0/24"), err));
    CHECK(tm.learn(tv, "z", a4("192.0.2.5"), a6("2001:db8:99::5"), 60) == LearnResult::refused_covered);
    CHECK(tm.counter(TableCounter::learned_refused_covered) == 3);
}

TEST_CASE("operator table: all-or-nothing, withdrawn entries drain through Stale", "[table]") {
    FakeSink sink;
    FakeClock fc;
    TableManager tm(sink, fc.clock(), {});
    std::string err;
    REQUIRE(tm.apply_operator_table({{p4("198.51.100.0/24"), p6("2001:db8:30::/120"), 600, false, "a"},
                                     {p4("198.51.101.0/24"), p6("2001:db8:31::/120"), 600, false, "b"}},
                                    err));
    CHECK(tm.list({xlat::EamtSource::operator_table}).size() == 2);
    uint64_t b_id = 0;
    for (auto *e : tm.list())
        if (e->name == "b") b_id = e->id;
    sink.pinned[b_id] = 1;
    // A bad table (second entry malformed) changes nothing.
    CHECK_FALSE(tm.apply_operator_table({{p4("198.51.100.0/24"), p6("2001:db8:30::/120"), 600, false, "a"},
                                         {p4("198.51.102.0/24"), p6("2001:db8:32::/124"), 600, false, "bad"}},
                                        err));
    CHECK(err.find("entry 1") != std::string::npos);
    CHECK(tm.list({xlat::EamtSource::operator_table}).size() == 2);
    CHECK(tm.find(b_id)->state == EntryState::valid);
    // Duplicate prefixes inside one table are refused.
    CHECK_FALSE(tm.apply_operator_table({{p4("198.51.100.0/24"), p6("2001:db8:30::/120"), 600, false, ""},
                                         {p4("198.51.100.0/24"), p6("2001:db8:33::/120"), 600, false, ""}},
                                        err));
    // A new table without "b": b goes Stale (pinned flow), a is kept and refreshed.
    fc.mono += 100;
    REQUIRE(tm.apply_operator_table({{p4("198.51.100.0/24"), p6("2001:db8:30::/120"), 900, false, "a"}}, err));
    CHECK(tm.find(b_id)->state == EntryState::stale);
    CHECK(tm.find(b_id)->stale_reason == StaleReason::withdrawn);
    sink.pinned[b_id] = 0;
    tm.tick();
    CHECK_FALSE(tm.find(b_id));
    auto ops = tm.list({xlat::EamtSource::operator_table});
    REQUIRE(ops.size() == 1);
    CHECK(ops[0]->expires == fc.mono + 900);
}

TEST_CASE("capacity: learned entries refused when full, overall and per host; static never", "[table]") {
    FakeSink sink;
    FakeClock fc;
    TableManager tm(sink, fc.clock(), TableLimits{4, 2});
    CHECK(tm.learn(tv, "a", a4("203.0.113.1"), a6("2001:db8::1"), 60) == LearnResult::created);
    CHECK(tm.learn(tv, "b", a4("203.0.113.2"), a6("2001:db8::2"), 60) == LearnResult::created);
    CHECK(tm.learn(tv, "c", a4("203.0.113.3"), a6("2001:db8::3"), 60) == LearnResult::refused_host_capacity);
    CHECK(tm.learn(phone, "c", a4("203.0.113.3"), a6("2001:db8::3"), 60) == LearnResult::created);
    CHECK(tm.learn(phone, "d", a4("203.0.113.4"), a6("2001:db8::4"), 60) == LearnResult::created);
    CHECK(tm.learn(a4("192.168.1.102"), "e", a4("203.0.113.5"), a6("2001:db8::5"), 60) == LearnResult::refused_capacity);
    std::string err;
    CHECK(tm.add_static(p4("198.51.100.0/24"), p6("2001:db8:30::/120"), 0, err));  // never refused for capacity
    CHECK(tm.counter(TableCounter::learned_refused_capacity) == 1);
    CHECK(tm.counter(TableCounter::learned_refused_host_capacity) == 1);
    // The dataplane's own limit is honoured too.
    FakeSink small;
    small.capacity = 1;
    TableManager tm2(small, fc.clock(), {});
    CHECK(tm2.learn(tv, "a", a4("203.0.113.1"), a6("2001:db8::1"), 60) == LearnResult::created);
    CHECK(tm2.learn(tv, "b", a4("203.0.113.2"), a6("2001:db8::2"), 60) == LearnResult::refused_sink);
}

TEST_CASE("draft §5.2.13: a host that turns dual-stack has its entries made Stale", "[table]") {
    FakeSink sink;
    FakeClock fc;
    TableManager tm(sink, fc.clock(), {});
    REQUIRE(tm.learn(tv, "a", a4("203.0.113.1"), a6("2001:db8::1"), 60) == LearnResult::created);
    REQUIRE(tm.learn(phone, "a", a4("203.0.113.1"), a6("2001:db8::1"), 60) == LearnResult::created);
    tm.host_dual_stack(tv);
    for (auto *e : tm.list()) CHECK(e->state == (e->host == tv ? EntryState::stale : EntryState::valid));
    CHECK(tm.counter(TableCounter::stale_dual_stack) == 1);
}

TEST_CASE("persistence: learned entries survive a restart with their remaining TTL", "[table]") {
    char dir[] = "/tmp/eamclat-tm-XXXXXX";
    REQUIRE(mkdtemp(dir));
    std::string path = std::string(dir) + "/learned.yaml";
    FakeClock fc;
    {
        FakeSink sink;
        TableManager tm(sink, fc.clock(), {});
        REQUIRE(tm.learn(tv, "cdn \"quoted\".example", a4("203.0.113.20"), a6("2001:db8:20::20"), 300) == LearnResult::created);
        REQUIRE(tm.learn(phone, "short", a4("203.0.113.21"), a6("2001:db8:20::21"), 50) == LearnResult::created);
        std::string err;
        REQUIRE(tm.save(path, err));
        CHECK(access((path + ".tmp").c_str(), F_OK) != 0);  // no temporary left behind
    }
    // 100 s later, in a new process with a different monotonic origin.
    FakeClock later;
    later.mono = 5;
    later.wall = fc.wall + 100;
    FakeSink sink;
    TableManager tm(sink, later.clock(), {});
    std::string err;
    CHECK(tm.restore(path, err) == 1);  // the 50 s entry ran out meanwhile
    auto l = tm.list();
    REQUIRE(l.size() == 1);
    CHECK(l[0]->host == tv);
    CHECK(l[0]->name == "cdn \"quoted\".example");
    CHECK(l[0]->expires == later.mono + 200);
    CHECK(tm.counter(TableCounter::restored) == 1);
    // A corrupt file restores nothing and says why.
    FILE *f = fopen(path.c_str(), "w");
    fputs("learned: [ {host: 1.2.3, ipv4: x", f);
    fclose(f);
    FakeSink s2;
    TableManager tm2(s2, later.clock(), {});
    CHECK(tm2.restore(path, err) == 0);
    CHECK_FALSE(err.empty());
    unlink(path.c_str());
    rmdir(dir);
}
