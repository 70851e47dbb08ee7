// The learner's decision on answers recorded from a real unbound DNS64 resolver in front of an
// authoritative unbound with the e2e zone (tests/unit/dns_recorded/record.sh made the files).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "learner.hpp"
#include "message.hpp"

using namespace eamclat;
using namespace eamclat::dns;
namespace fs = std::filesystem;

namespace {
fs::path dir() {
    fs::path file(__FILE__);
    if (!file.is_absolute())
        file = fs::weakly_canonical(fs::read_symlink("/proc/self/exe").parent_path().parent_path().parent_path() / file);
    return file.parent_path() / "dns_recorded";
}

struct Rec {
    std::vector<uint8_t> wire;
    Message m;
};
Rec load(const std::string &name) {
    std::ifstream in(dir() / name, std::ios::binary);
    INFO(name);
    REQUIRE(in);
    Rec r{std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {}), {}};
    std::string err;
    auto m = parse(r.wire, &err);
    INFO(err);
    REQUIRE(m);
    r.m = *m;
    return r;
}
Decision decide_for(const std::string &qname, uint64_t seed = 1) {
    Rec a = load(qname + "-A.bin"), q = load(qname + "-AAAA.bin");
    Nat64Prefixes n64;
    n64.add(*Prefix6::parse("2001:db8:64::/96"), "config");
    return decide(LearnPolicy{}, true, a.m, a.wire, &q.m, q.wire, n64, seed);
}
}  // namespace

TEST_CASE("recorded: a dual-stack name gives one pair with the smaller TTL", "[dns][recorded]") {
    auto d = decide_for("ds.test");
    REQUIRE(d.outcome == Outcome::learn);
    REQUIRE(d.pairs.size() == 1);
    CHECK(d.pairs[0].ipv4 == *parse_ip4("203.0.113.20"));
    CHECK(d.pairs[0].ipv6 == *Ip6::parse("2001:db8:20::20"));
    CHECK(d.pairs[0].ttl <= 600);
    CHECK(d.pairs[0].ttl > 500);
}

TEST_CASE("recorded: DNS64-synthesized AAAA (plain and behind a CNAME) is not learned", "[dns][recorded]") {
    auto d = decide_for("v4only.test");
    CHECK(d.outcome == Outcome::only_synthesized);
    CHECK(d.synthesized == 1);
    CHECK(decide_for("cname4.test").outcome == Outcome::only_synthesized);
}

TEST_CASE("recorded: a CNAME chain gives the smallest TTL on the way", "[dns][recorded]") {
    auto d = decide_for("cname.test");
    REQUIRE(d.pairs.size() == 1);
    CHECK(d.pairs[0].ipv6 == *Ip6::parse("2001:db8:20::20"));
    CHECK(d.pairs[0].ttl <= 60);  // cname.test 300 -> c1.test 60 -> ds.test 600
}

TEST_CASE("recorded: several records pair one to one", "[dns][recorded]") {
    auto d = decide_for("multi.test");
    REQUIRE(d.pairs.size() == 3);
    std::set<Ip4> v4;
    std::set<Ip6> v6;
    for (auto &p : d.pairs) {
        v4.insert(p.ipv4);
        v6.insert(p.ipv6);
    }
    CHECK(v4.size() == 3);
    CHECK(v6.size() == 3);
}

TEST_CASE("recorded: NODATA, NXDOMAIN and a name without A create nothing", "[dns][recorded]") {
    CHECK(decide_for("nodata.test").outcome == Outcome::negative_a);
    CHECK(decide_for("nosuchname.test").outcome == Outcome::negative_a);
    CHECK(decide_for("v6only.test").outcome == Outcome::negative_a);
    // The conflict pair is two valid answers on their own; the conflict is the table's (ut_table_manager).
    CHECK(decide_for("conflict-a.test").outcome == Outcome::learn);
    CHECK(decide_for("conflict-b.test").outcome == Outcome::learn);
}
