// DNS message parsing and the learner's decision (draft-ietf-v6ops-464xlat-optimization §5.2).
#include <catch2/catch.hpp>

#include <set>

#include "dns_build.hpp"
#include "learner.hpp"
#include "message.hpp"

using namespace eamclat;
using namespace eamclat::dns;
using test::Rr;
using test::a_rdata;
using test::aaaa_rdata;
using test::response;

namespace {
Ip6 a6(const char *s) { return *Ip6::parse(s); }
Ip4 a4(const char *s) { return *parse_ip4(s); }

struct Parsed {
    std::vector<uint8_t> wire;
    Message m;
};
Parsed P(std::vector<uint8_t> w) {
    std::string err;
    auto m = parse(w, &err);
    INFO(err);
    REQUIRE(m);
    return {std::move(w), *m};
}

Decision run(const Parsed &a, const Parsed *aaaa, bool v4only = true, LearnPolicy pol = {}, uint64_t seed = 42) {
    Nat64Prefixes n64;
    n64.add(*Prefix6::parse("2001:db8:64::/96"), "config");
    return decide(pol, v4only, a.m, a.wire, aaaa ? &aaaa->m : nullptr,
                  aaaa ? std::span<const uint8_t>(aaaa->wire) : std::span<const uint8_t>(), n64, seed);
}
}  // namespace

TEST_CASE("RFC 1035 parsing: header, question, compressed answers", "[dns]") {
    auto w = response(0xbeef, "CDN.Example", dns::type::A, 0, {{"", dns::type::A, 300, a_rdata(203, 0, 113, 20)}});
    auto p = P(w);
    CHECK(p.m.id == 0xbeef);
    CHECK(p.m.qr());
    REQUIRE(p.m.questions.size() == 1);
    CHECK(p.m.questions[0].name == "cdn.example");
    // The wire name keeps the client's case (0x20 randomisation survives our AAAA query).
    CHECK(p.m.questions[0].wire == test::wire_name("CDN.Example"));
    auto ad = addresses(p.m, p.wire);
    REQUIRE(ad.a.size() == 1);
    CHECK(ad.a[0].first == a4("203.0.113.20"));
    CHECK(ad.a[0].second == 300);
}

TEST_CASE("parsing hostile messages fails cleanly at every truncation", "[dns]") {
    auto w = response(1, "a.example", dns::type::AAAA, 0,
                      {{"", dns::type::CNAME, 60, test::wire_name("b.example")},
                       {"b.example", dns::type::AAAA, 60, aaaa_rdata({0x2001, 0xdb8, 0, 0, 0, 0, 0, 1})}});
    REQUIRE(parse(w));
    for (size_t len = 0; len < w.size(); len++) {
        std::vector<uint8_t> t(w.begin(), w.begin() + long(len));
        CHECK_FALSE(parse(t));
    }
    // A pointer to itself (loop) and a forward pointer are refused.
    auto loop = w;
    loop[12] = 0xc0;
    loop[13] = 12;
    CHECK_FALSE(parse(loop));
    auto fwd = w;
    fwd[12] = 0xc0;
    fwd[13] = 40;
    CHECK_FALSE(parse(fwd));
    // A record with a wrong rdata length is refused.
    auto bad = response(1, "x", dns::type::A, 0, {{"", dns::type::A, 60, {1, 2, 3}}});
    std::string err;
    CHECK_FALSE(parse(bad, &err));
    CHECK(err.find("A rdata") != std::string::npos);
}

TEST_CASE("draft §5.2.3/§5.2.5: a native AAAA is learned with the min TTL", "[dns][learner]") {
    auto a = P(response(1, "ds.test", dns::type::A, 0, {{"", dns::type::A, 300, a_rdata(203, 0, 113, 20)}}));
    auto q = P(response(2, "ds.test", dns::type::AAAA, 0,
                        {{"", dns::type::AAAA, 120, aaaa_rdata({0x2001, 0xdb8, 0x20, 0, 0, 0, 0, 0x20})}}));
    auto d = run(a, &q);
    REQUIRE(d.outcome == Outcome::learn);
    REQUIRE(d.pairs.size() == 1);
    CHECK(d.pairs[0].ipv4 == a4("203.0.113.20"));
    CHECK(d.pairs[0].ipv6 == a6("2001:db8:20::20"));
    CHECK(d.pairs[0].ttl == 120);
}

TEST_CASE("draft §5.2.3: synthesized AAAA (configured NSP, WKP, RFC 8215) is never learned", "[dns][learner]") {
    auto a = P(response(1, "v4only.test", dns::type::A, 0, {{"", dns::type::A, 300, a_rdata(203, 0, 113, 10)}}));
    for (auto g : {std::initializer_list<uint16_t>{0x2001, 0xdb8, 0x64, 0, 0, 0, 0xcb00, 0x710a},
                   std::initializer_list<uint16_t>{0x64, 0xff9b, 0, 0, 0, 0, 0xcb00, 0x710a},
                   std::initializer_list<uint16_t>{0x64, 0xff9b, 1, 0, 0, 0, 0xcb00, 0x710a}}) {
        auto q = P(response(2, "v4only.test", dns::type::AAAA, 0, {{"", dns::type::AAAA, 300, aaaa_rdata(g)}}));
        auto d = run(a, &q);
        CHECK(d.outcome == Outcome::only_synthesized);
        CHECK(d.pairs.empty());
        CHECK(d.synthesized == 1);
    }
}

TEST_CASE("draft §5.2.5 item 5: CNAME chains count in the TTL", "[dns][learner]") {
    auto a = P(response(1, "cname.test", dns::type::A, 0,
                        {{"", dns::type::CNAME, 30, test::wire_name("c1.test")},
                         {"c1.test", dns::type::CNAME, 600, test::wire_name("ds.test")},
                         {"ds.test", dns::type::A, 300, a_rdata(203, 0, 113, 20)}}));
    auto q = P(response(2, "cname.test", dns::type::AAAA, 0,
                        {{"", dns::type::CNAME, 45, test::wire_name("c1.test")},
                         {"c1.test", dns::type::CNAME, 600, test::wire_name("ds.test")},
                         {"ds.test", dns::type::AAAA, 300, aaaa_rdata({0x2001, 0xdb8, 0x20, 0, 0, 0, 0, 0x20})}}));
    auto d = run(a, &q);
    REQUIRE(d.pairs.size() == 1);
    CHECK(d.pairs[0].ttl == 30);
    // A CNAME loop is malformed and learns nothing.
    auto loop = P(response(1, "l.test", dns::type::A, 0,
                           {{"", dns::type::CNAME, 30, test::wire_name("m.test")},
                            {"m.test", dns::type::CNAME, 30, test::wire_name("l.test")}}));
    CHECK(run(loop, &q).outcome == Outcome::malformed);
}

TEST_CASE("draft §5.2.9: several A and AAAA are paired at random, each address once", "[dns][learner]") {
    auto a = P(response(1, "multi.test", dns::type::A, 0,
                        {{"", dns::type::A, 60, a_rdata(203, 0, 113, 31)},
                         {"", dns::type::A, 60, a_rdata(203, 0, 113, 32)},
                         {"", dns::type::A, 60, a_rdata(203, 0, 113, 33)}}));
    auto q = P(response(2, "multi.test", dns::type::AAAA, 0,
                        {{"", dns::type::AAAA, 60, aaaa_rdata({0x2001, 0xdb8, 0x30, 0, 0, 0, 0, 1})},
                         {"", dns::type::AAAA, 60, aaaa_rdata({0x2001, 0xdb8, 0x30, 0, 0, 0, 0, 2})}}));
    std::set<std::pair<Ip4, Ip6>> combos;
    for (uint64_t host = 0; host < 64; host++) {
        auto d = run(a, &q, true, {}, host);
        REQUIRE(d.pairs.size() == 2);
        CHECK(d.pairs[0].ipv4 != d.pairs[1].ipv4);
        CHECK(d.pairs[0].ipv6 != d.pairs[1].ipv6);
        for (auto &p : d.pairs) combos.insert({p.ipv4, p.ipv6});
    }
    CHECK(combos.size() == 6);  // every combination shows up across hosts
    // One host gets the same pairing on every query, even when the resolver rotates the records.
    auto rotated = P(response(1, "multi.test", dns::type::A, 0,
                              {{"", dns::type::A, 60, a_rdata(203, 0, 113, 33)},
                               {"", dns::type::A, 60, a_rdata(203, 0, 113, 31)},
                               {"", dns::type::A, 60, a_rdata(203, 0, 113, 32)}}));
    auto first = run(a, &q, true, {}, 7), again = run(rotated, &q, true, {}, 7);
    REQUIRE(first.pairs.size() == again.pairs.size());
    for (size_t i = 0; i < first.pairs.size(); i++) {
        CHECK(first.pairs[i].ipv4 == again.pairs[i].ipv4);
        CHECK(first.pairs[i].ipv6 == again.pairs[i].ipv6);
    }
    // A large RRset gives at most max_pairs entries.
    LearnPolicy small;
    small.max_pairs = 1;
    CHECK(run(a, &q, true, small).pairs.size() == 1);
}

TEST_CASE("draft §5.2.4 / issue point 10: negative answers create nothing", "[dns][learner]") {
    auto a = P(response(1, "ds.test", dns::type::A, 0, {{"", dns::type::A, 300, a_rdata(203, 0, 113, 20)}}));
    auto nx = P(response(2, "ds.test", dns::type::AAAA, dns::rcode::NXDOMAIN, {}));
    auto sf = P(response(2, "ds.test", dns::type::AAAA, dns::rcode::SERVFAIL, {}));
    auto nodata = P(response(2, "ds.test", dns::type::AAAA, 0, {}));
    CHECK(run(a, &nx).outcome == Outcome::no_aaaa);
    CHECK(run(a, &sf).outcome == Outcome::no_aaaa);
    CHECK(run(a, &nodata).outcome == Outcome::no_aaaa);
    CHECK(run(a, nullptr).outcome == Outcome::no_aaaa);  // timeout
    auto anx = P(response(1, "ds.test", dns::type::A, dns::rcode::NXDOMAIN, {}));
    auto q = P(response(2, "ds.test", dns::type::AAAA, 0,
                        {{"", dns::type::AAAA, 120, aaaa_rdata({0x2001, 0xdb8, 0x20, 0, 0, 0, 0, 0x20})}}));
    CHECK(run(anx, &q).outcome == Outcome::negative_a);
}

TEST_CASE("draft §5.2.1/§5.2.2/§5.2.5 item 4: disabled, dual-stack host, DNSSEC", "[dns][learner]") {
    auto a = P(response(1, "ds.test", dns::type::A, 0, {{"", dns::type::A, 300, a_rdata(203, 0, 113, 20)}}));
    auto q = P(response(2, "ds.test", dns::type::AAAA, 0,
                        {{"", dns::type::AAAA, 120, aaaa_rdata({0x2001, 0xdb8, 0x20, 0, 0, 0, 0, 0x20})}}));
    LearnPolicy off;
    off.enabled = false;
    CHECK(run(a, &q, true, off).outcome == Outcome::disabled);
    CHECK(run(a, &q, false).outcome == Outcome::host_not_ipv4_only);
    LearnPolicy sec;
    sec.require_dnssec = true;
    CHECK(run(a, &q, true, sec).outcome == Outcome::not_validated);
    auto a_ad = P(response(1, "ds.test", dns::type::A, 0, {{"", dns::type::A, 300, a_rdata(203, 0, 113, 20)}}, {}, true));
    auto q_ad = P(response(2, "ds.test", dns::type::AAAA, 0,
                           {{"", dns::type::AAAA, 120, aaaa_rdata({0x2001, 0xdb8, 0x20, 0, 0, 0, 0, 0x20})}}, {}, true));
    CHECK(run(a_ad, &q_ad, true, sec).outcome == Outcome::learn);
}

TEST_CASE("RFC 3596 §3: an AAAA in the A answer's additional section is used", "[dns][learner]") {
    auto a = P(response(1, "ds.test", dns::type::A, 0, {{"", dns::type::A, 300, a_rdata(203, 0, 113, 20)}},
                        {{"ds.test", dns::type::AAAA, 100, aaaa_rdata({0x2001, 0xdb8, 0x20, 0, 0, 0, 0, 0x20})}}));
    auto d = run(a, nullptr);
    REQUIRE(d.outcome == Outcome::learn);
    CHECK(d.pairs[0].ttl == 100);
}

TEST_CASE("RFC 7050 §3: Pref64::/n found at every RFC 6052 position", "[dns][rfc7050]") {
    // 192.0.0.170 = c0.00.00.aa embedded per RFC 6052 §2.2 (u octet zero).
    struct {
        const char *aaaa;
        const char *prefix;
    } cases[] = {
        {"64:ff9b::c000:aa", "64:ff9b::/96"},
        {"2001:db8:64::c000:aa", "2001:db8:64::/96"},
        {"2001:db8:100:200:c0:0:aa00::", "2001:db8:100:200::/64"},  // u octet (byte 8), then c0.00.00.aa
        {"2001:db8:100:2c0:0:aa::", "2001:db8:100:200::/56"},       // c0 in byte 7, u, then 00.00.aa
        {"2001:db8:100:c000:0:aa00::", "2001:db8:100::/48"},        // c0.00 in bytes 6-7, u, then 00.aa
        {"2001:db8:1c0:0:aa::", "2001:db8:100::/40"},               // c0.00.00 in bytes 5-7, u, then aa
        {"2001:db8:c000:aa::", "2001:db8::/32"},
    };
    for (auto &c : cases) {
        INFO(c.aaaa);
        Ip6 a = a6(c.aaaa);
        auto p = rfc7050_prefixes(std::span<const Ip6>(&a, 1));
        REQUIRE(p.size() == 1);
        CHECK(p[0] == *Prefix6::parse(c.prefix));
    }
    // An answer without the WKA finds nothing.
    Ip6 none = a6("2001:db8::1");
    CHECK(rfc7050_prefixes(std::span<const Ip6>(&none, 1)).empty());
}

TEST_CASE("RFC 8781: PREF64 router advertisement option", "[dns][rfc8781]") {
    // Lifetime 600 s = 75 units of 8 s; PLC 0 (/96); prefix 2001:db8:64::/96.
    uint8_t opt[16] = {38, 2, uint8_t((75 << 3) >> 8), uint8_t((75 << 3) & 0xff), 0x20, 0x01, 0x0d, 0xb8, 0, 0x64, 0, 0, 0, 0, 0, 0};
    auto p = parse_pref64_option(opt);
    REQUIRE(p);
    CHECK(p->prefix == *Prefix6::parse("2001:db8:64::/96"));
    CHECK(p->lifetime_seconds == 600);
    opt[3] = uint8_t(opt[3] | 5);  // PLC 5: /32
    p = parse_pref64_option(opt);
    REQUIRE(p);
    CHECK(p->prefix == *Prefix6::parse("2001:db8::/32"));
    opt[3] = uint8_t((opt[3] & ~7) | 6);  // PLC 6 is invalid
    CHECK_FALSE(parse_pref64_option(opt));
    CHECK_FALSE(parse_pref64_option(std::span<const uint8_t>(opt, 8)));
}

TEST_CASE("queries and truncation the proxy builds", "[dns]") {
    auto q = build_query(0x1234, "ds.test", dns::type::AAAA, 1232, true);
    auto p = parse(q);
    REQUIRE(p);
    CHECK(p->id == 0x1234);
    CHECK(p->rd());
    CHECK(p->questions[0].name == "ds.test");
    CHECK(p->questions[0].qtype == dns::type::AAAA);
    CHECK(p->has_edns);
    CHECK(p->edns_udp_size == 1232);
    CHECK(p->edns_do);
    auto big = P(response(7, "big.test", dns::type::A, 0, {{"", dns::type::A, 60, a_rdata(1, 2, 3, 4)}}));
    auto t = truncate_for_udp(big.wire, big.m);
    auto tp = parse(t);
    REQUIRE(tp);
    CHECK(tp->tc());
    CHECK(tp->id == 7);
    CHECK(tp->answers.empty());
    CHECK(tp->questions[0].name == "big.test");
}
