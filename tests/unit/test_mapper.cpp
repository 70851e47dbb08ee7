// Address mapping: RFC 6052 §2.2-§2.4 and §3.1, RFC 7757 §3 / §5 / Appendix B, RFC 6877 §6.
#include <catch2/catch.hpp>

#include <stdexcept>

#include "xlat/mapper.hpp"

using namespace eamclat;
using namespace eamclat::xlat;

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
Prefix6 p6(const char *s) {
    auto p = Prefix6::parse(s);
    REQUIRE(p);
    return *p;
}
Prefix4 p4(const char *s) {
    auto p = Prefix4::parse(s);
    REQUIRE(p);
    return *p;
}
EamtEntry eam(const char *v4, const char *v6, EamtSource src = EamtSource::static_config) {
    return {p4(v4), p6(v6), src};
}

// RFC 7757 Figure 1.
EamtTable figure1() {
    EamtTable t;
    for (auto [a, b] : {std::pair{"192.0.2.1", "2001:db8:aaaa::"},
                        {"192.0.2.2/32", "2001:db8:bbbb::b/128"},
                        {"192.0.2.16/28", "2001:db8:cccc::/124"},
                        {"192.0.2.128/26", "2001:db8:dddd::/64"},
                        {"192.0.2.192/29", "2001:db8:eeee:8::/62"},
                        {"192.0.2.224/31", "64:ff9b::/127"}}) {
        std::string err;
        INFO(a << " " << b);
        REQUIRE(t.add(eam(a, b), &err));
        CHECK(err.empty());
    }
    return t;
}

}  // namespace

TEST_CASE("RFC 6052 §2.4 Table 1 and Table 2, byte for byte", "[mapper][rfc6052]") {
    struct Row {
        const char *prefix, *v4, *v6;
        uint8_t bytes[16];
    };
    const Row rows[] = {
        {"2001:db8::/32", "192.0.2.33", "2001:db8:c000:221::",
         {0x20, 0x01, 0x0d, 0xb8, 0xc0, 0x00, 0x02, 0x21, 0, 0, 0, 0, 0, 0, 0, 0}},
        {"2001:db8:100::/40", "192.0.2.33", "2001:db8:1c0:2:21::",
         {0x20, 0x01, 0x0d, 0xb8, 0x01, 0xc0, 0x00, 0x02, 0x00, 0x21, 0, 0, 0, 0, 0, 0}},
        {"2001:db8:122::/48", "192.0.2.33", "2001:db8:122:c000:2:2100::",
         {0x20, 0x01, 0x0d, 0xb8, 0x01, 0x22, 0xc0, 0x00, 0x00, 0x02, 0x21, 0, 0, 0, 0, 0}},
        {"2001:db8:122:300::/56", "192.0.2.33", "2001:db8:122:3c0:0:221::",
         {0x20, 0x01, 0x0d, 0xb8, 0x01, 0x22, 0x03, 0xc0, 0x00, 0x00, 0x02, 0x21, 0, 0, 0, 0}},
        {"2001:db8:122:344::/64", "192.0.2.33", "2001:db8:122:344:c0:2:2100:0",
         {0x20, 0x01, 0x0d, 0xb8, 0x01, 0x22, 0x03, 0x44, 0x00, 0xc0, 0x00, 0x02, 0x21, 0, 0, 0}},
        {"2001:db8:122:344::/96", "192.0.2.33", "2001:db8:122:344::192.0.2.33",
         {0x20, 0x01, 0x0d, 0xb8, 0x01, 0x22, 0x03, 0x44, 0, 0, 0, 0, 0xc0, 0x00, 0x02, 0x21}},
        {"64:ff9b::/96", "192.0.2.33", "64:ff9b::192.0.2.33",
         {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 0xc0, 0x00, 0x02, 0x21}},
    };
    for (const Row &r : rows) {
        INFO(r.prefix);
        Prefix6 pfx = p6(r.prefix);
        REQUIRE(rfc6052_valid_length(pfx.len));
        Ip6 got = rfc6052_embed(pfx, ip4(r.v4));
        CHECK(got == ip6(r.v6));
        CHECK(std::equal(got.b.begin(), got.b.end(), r.bytes));
        Ip4 back = 0;
        REQUIRE(rfc6052_extract(pfx, got, back));
        CHECK(back == ip4(r.v4));
    }
}

TEST_CASE("RFC 6052 valid lengths, u octet, suffix and prefix membership", "[mapper][rfc6052]") {
    for (unsigned len = 0; len <= 128; len++) {
        bool valid = len == 32 || len == 40 || len == 48 || len == 56 || len == 64 || len == 96;
        CHECK(rfc6052_valid_length(static_cast<uint8_t>(len)) == valid);
    }
    Ip4 out = 0;
    // u octet (bits 64..71) not zero: not an RFC 6052 address (§2.2 "MUST be set to zero").
    CHECK_FALSE(rfc6052_extract(p6("2001:db8::/32"), ip6("2001:db8:c000:221:100::"), out));
    CHECK_FALSE(rfc6052_extract(p6("2001:db8:122:344::/64"), ip6("2001:db8:122:344:1c0:2:2100:0"), out));
    // A /96 prefix whose u octet is not zero can never extract (the loader refuses such a pool6).
    CHECK_FALSE(rfc6052_extract(p6("2001:db8:0:0:100::/96"), ip6("2001:db8:0:0:100::c000:221"), out));
    // Suffix bits are ignored "as if the bits' value were zero" (§2.2).
    REQUIRE(rfc6052_extract(p6("2001:db8::/32"), ip6("2001:db8:c000:221:ff:ffff:ffff:ffff"), out));
    CHECK(out == ip4("192.0.2.33"));
    // Outside the prefix.
    CHECK_FALSE(rfc6052_extract(p6("2001:db8::/32"), ip6("2001:db9:c000:221::"), out));
    // Invalid length.
    CHECK_FALSE(rfc6052_extract(Prefix6{ip6("2001:db8::"), 33}, ip6("2001:db8::"), out));
    // Lengths outside RFC 6052 are a caller error, but never write past the address.
    CHECK(rfc6052_embed(Prefix6{ip6("2001:db8::1"), 128}, ip4("192.0.2.33")) == ip6("2001:db8::1"));
    CHECK(rfc6052_embed(Prefix6{ip6("2001:db8::"), 120}, ip4("192.0.2.33")) == ip6("2001:db8::c0"));
    // Entries add() refuses have no translation; the static helpers stay defined on them.
    EamtEntry bad{Prefix4{ip4("192.0.2.0"), 24}, Prefix6{ip6("2001:db8::"), 124}};
    CHECK(EamtTable::translate4(bad, ip4("192.0.2.255")) == ip6("2001:db8::"));
    CHECK(EamtTable::translate6(bad, ip6("2001:db8::f")) == ip4("192.0.2.0"));
    // Extremes of the IPv4 space survive every length.
    for (const char *pfx : {"2001:db8::/32", "2001:db8:100::/40", "2001:db8:122::/48",
                            "2001:db8:122:300::/56", "2001:db8:122:344::/64", "2001:db8:122:344::/96"}) {
        for (Ip4 a : {Ip4{0}, Ip4{0xffffffff}, Ip4{0x01020304}}) {
            INFO(pfx << " " << ip4_str(a));
            Ip6 e = rfc6052_embed(p6(pfx), a);
            CHECK(e.b[8] == 0);
            REQUIRE(rfc6052_extract(p6(pfx), e, out));
            CHECK(out == a);
        }
    }
}

TEST_CASE("RFC 6052 §3.1: global / non-global IPv4 addresses", "[mapper][rfc6052]") {
    for (const char *a : {"0.1.2.3", "10.0.0.1", "100.64.0.1", "100.127.255.255", "127.0.0.1",
                          "169.254.1.1", "172.16.0.1", "172.31.255.255", "192.0.0.1", "192.0.0.8",
                          "192.0.0.11", "192.0.2.33", "192.168.1.1", "198.18.0.1", "198.19.255.255",
                          "198.51.100.7", "203.0.113.9", "224.0.0.1", "239.255.255.255",
                          "240.0.0.1", "255.255.255.255"}) {
        INFO(a);
        CHECK_FALSE(is_global4(ip4(a)));
    }
    for (const char *a : {"1.1.1.1", "8.8.8.8", "100.63.255.255", "100.128.0.0", "172.15.255.255",
                          "172.32.0.0", "192.0.0.9", "192.0.0.10", "192.0.1.1", "192.0.3.1",
                          "192.88.99.1", "198.17.255.255", "198.20.0.0", "198.51.99.1",
                          "203.0.112.1", "223.255.255.255"}) {
        INFO(a);
        CHECK(is_global4(ip4(a)));
    }
    CHECK(is_well_known_prefix(p6("64:ff9b::/96")));
    CHECK_FALSE(is_well_known_prefix(p6("64:ff9b:1::/48")));
    CHECK_FALSE(is_well_known_prefix(p6("64:ff9b::/64")));
}

TEST_CASE("EAMT validity (RFC 7757 §3.2) and duplicates (§5)", "[mapper][eamt]") {
    EamtTable t;
    std::string err;
    // IPv4 suffix (8 bits) longer than the IPv6 suffix (4 bits): MUST NOT.
    CHECK_FALSE(t.add(eam("192.0.2.0/24", "2001:db8::/124"), &err));
    CHECK(err.find("suffix bits") != std::string::npos);
    // Host bits set (an entry built by hand, not by the parser).
    CHECK_FALSE(t.add({Prefix4{ip4("192.0.2.1"), 24}, p6("2001:db8::/120")}, &err));
    CHECK(err.find("host bits") != std::string::npos);
    CHECK_FALSE(t.add({p4("192.0.2.0/24"), Prefix6{ip6("2001:db8::1"), 120}}, &err));
    CHECK(err.find("host bits") != std::string::npos);
    CHECK_FALSE(t.add({Prefix4{0, 33}, p6("2001:db8::/120")}, &err));
    CHECK(t.size() == 0);

    REQUIRE(t.add(eam("192.0.2.0/24", "2001:db8::/120")));
    // Same IPv4 prefix or same IPv6 prefix: refused (§5).
    CHECK_FALSE(t.add(eam("192.0.2.0/24", "2001:db8:1::/120"), &err));
    CHECK(err.find("IPv4 prefix 192.0.2.0/24 is already") != std::string::npos);
    CHECK_FALSE(t.add(eam("198.51.100.0/24", "2001:db8::/120"), &err));
    CHECK(err.find("IPv6 prefix 2001:db8::/120 is already") != std::string::npos);
    // Overlapping but different prefixes are allowed.
    CHECK(t.add(eam("192.0.2.0/25", "2001:db8:1::/121")));
    CHECK(t.add(eam("198.51.100.0/24", "2001:db8::/112")));
    CHECK(t.size() == 3);
    CHECK(t.remove(p4("192.0.2.0/25")));
    CHECK_FALSE(t.remove(p4("192.0.2.0/25")));
    CHECK(t.size() == 2);
    t.clear();
    CHECK(t.size() == 0);
    CHECK(t.lookup4(ip4("192.0.2.1")) == nullptr);
}

TEST_CASE("RFC 7757 Appendix B, Figure 7, both directions", "[mapper][eamt]") {
    EamtTable t = figure1();
    struct Row {
        const char *v4, *v6;
        int eam;  // 1-based index in Figure 1
    };
    const Row rows[] = {
        {"192.0.2.1", "2001:db8:aaaa::", 1},        {"192.0.2.2", "2001:db8:bbbb::b", 2},
        {"192.0.2.16", "2001:db8:cccc::", 3},       {"192.0.2.24", "2001:db8:cccc::8", 3},
        {"192.0.2.31", "2001:db8:cccc::f", 3},      {"192.0.2.128", "2001:db8:dddd::", 4},
        {"192.0.2.152", "2001:db8:dddd:0:6000::", 4}, {"192.0.2.183", "2001:db8:dddd:0:dc00::", 4},
        {"192.0.2.191", "2001:db8:dddd:0:fc00::", 4}, {"192.0.2.195", "2001:db8:eeee:9:8000::", 5},
        {"192.0.2.225", "64:ff9b::1", 6},
    };
    for (const Row &r : rows) {
        INFO(r.v4 << " <-> " << r.v6);
        const EamtEntry *e4 = t.lookup4(ip4(r.v4));
        REQUIRE(e4);
        CHECK(e4 == &t.entries()[static_cast<size_t>(r.eam - 1)]);
        CHECK(EamtTable::translate4(*e4, ip4(r.v4)) == ip6(r.v6));
        const EamtEntry *e6 = t.lookup6(ip6(r.v6));
        REQUIRE(e6);
        CHECK(e6 == e4);
        CHECK(EamtTable::translate6(*e6, ip6(r.v6)) == ip4(r.v4));
    }
    // Last row: "According to RFC 6052": no EAM.
    CHECK(t.lookup4(ip4("192.0.2.248")) == nullptr);
    CHECK(t.lookup6(ip6("64:ff9b::c000:2f8")) == nullptr);
    CHECK(rfc6052_embed(p6("64:ff9b::/96"), ip4("192.0.2.248")) == ip6("64:ff9b::c000:2f8"));
    // §3.3.2 step 5: IPv6 bits beyond the IPv4 suffix are discarded.
    CHECK(EamtTable::translate6(*t.lookup6(ip6("2001:db8:dddd:0:6000::1")),
                                ip6("2001:db8:dddd:0:6000::1")) == ip4("192.0.2.152"));
    // Inside EAM #5's /62 but outside the 3 suffix bits the IPv4 side carries.
    CHECK(EamtTable::translate6(*t.lookup6(ip6("2001:db8:eeee:b:ffff::")),
                                ip6("2001:db8:eeee:b:ffff::")) == ip4("192.0.2.199"));
}

TEST_CASE("EAMT longest prefix match on overlapping entries (RFC 7757 §5, Figure 2)", "[mapper][eamt]") {
    EamtTable t;
    REQUIRE(t.add(eam("0.0.0.0/0", "2001:db8:ff00::/40")));
    REQUIRE(t.add(eam("198.51.100.64/32", "2001:db8::abcd/128")));
    // The example of §5: asymmetric, as the RFC explains.
    const EamtEntry *e = t.lookup6(ip6("2001:db8:ffc6:3364:4000::"));
    REQUIRE(e);
    CHECK(EamtTable::translate6(*e, ip6("2001:db8:ffc6:3364:4000::")) == ip4("198.51.100.64"));
    e = t.lookup4(ip4("198.51.100.64"));
    REQUIRE(e);
    CHECK(EamtTable::translate4(*e, ip4("198.51.100.64")) == ip6("2001:db8::abcd"));
    e = t.lookup4(ip4("198.51.100.65"));
    REQUIRE(e);
    CHECK(EamtTable::translate4(*e, ip4("198.51.100.65")) == ip6("2001:db8:ffc6:3364:4100::"));
    // Longest match independent of insertion order.
    EamtTable u;
    REQUIRE(u.add(eam("10.1.2.0/24", "2001:db8:2::/120")));
    REQUIRE(u.add(eam("10.0.0.0/8", "2001:db8:1::/104")));
    REQUIRE(u.add(eam("10.1.2.128/25", "2001:db8:3::/121")));
    CHECK(u.lookup4(ip4("10.1.2.200")) == &u.entries()[2]);
    CHECK(u.lookup4(ip4("10.1.2.1")) == &u.entries()[0]);
    CHECK(u.lookup4(ip4("10.9.9.9")) == &u.entries()[1]);
    CHECK(u.lookup4(ip4("11.0.0.0")) == nullptr);
    CHECK(u.lookup6(ip6("2001:db8:3::7f")) == &u.entries()[2]);
    CHECK(u.lookup6(ip6("2001:db8:3::80")) == nullptr);
}

TEST_CASE("EAMT with odd prefix lengths copies the suffix bit by bit", "[mapper][eamt]") {
    EamtTable t;
    REQUIRE(t.add(eam("198.51.100.32/27", "2001:db8:1:2:3:4:5:60/123")));
    REQUIRE(t.add(eam("10.8.0.0/13", "2001:db8:1234:5678:9abc:def0:8000:0/109")));
    const EamtEntry *e = t.lookup4(ip4("198.51.100.45"));
    REQUIRE(e);
    CHECK(EamtTable::translate4(*e, ip4("198.51.100.45")) == ip6("2001:db8:1:2:3:4:5:6d"));
    CHECK(EamtTable::translate6(*e, ip6("2001:db8:1:2:3:4:5:6d")) == ip4("198.51.100.45"));
    CHECK(t.lookup6(ip6("2001:db8:1:2:3:4:5:80")) == nullptr);
    // 10.8.0.0/13: 19 suffix bits; 10.15.255.255 -> all 19 bits set after bit 109.
    e = t.lookup4(ip4("10.15.255.255"));
    REQUIRE(e);
    CHECK(EamtTable::translate4(*e, ip4("10.15.255.255")) == ip6("2001:db8:1234:5678:9abc:def0:8007:ffff"));
    CHECK(EamtTable::translate4(*e, ip4("10.12.170.85")) == ip6("2001:db8:1234:5678:9abc:def0:8004:aa55"));
    CHECK(EamtTable::translate6(*e, ip6("2001:db8:1234:5678:9abc:def0:8004:aa55")) == ip4("10.12.170.85"));
    CHECK(t.lookup4(ip4("10.16.0.0")) == nullptr);
    CHECK(t.lookup6(ip6("2001:db8:1234:5678:9abc:def0:8008:0")) == nullptr);
    // /0 <-> /96 and /32 <-> /128 extremes.
    EamtTable x;
    REQUIRE(x.add(eam("0.0.0.0/0", "2001:db8:abcd::/96")));
    REQUIRE(x.add(eam("203.0.113.7/32", "2001:db8::7/128")));
    e = x.lookup4(ip4("1.2.3.4"));
    REQUIRE(e);
    CHECK(EamtTable::translate4(*e, ip4("1.2.3.4")) == ip6("2001:db8:abcd::102:304"));
    CHECK(EamtTable::translate6(*e, ip6("2001:db8:abcd::102:304")) == ip4("1.2.3.4"));
    e = x.lookup6(ip6("2001:db8::7"));
    REQUIRE(e);
    CHECK(EamtTable::translate6(*e, ip6("2001:db8::7")) == ip4("203.0.113.7"));
}

TEST_CASE("StaticMapper siit: EAMT, then pool6, then none", "[mapper][static]") {
    Config cfg;
    cfg.mode = Mode::siit;
    cfg.pool6 = p6("64:ff9b::/96");
    for (auto [a, b] : {std::pair{"192.0.2.1", "2001:db8:aaaa::"}, {"192.0.2.16/28", "2001:db8:cccc::/124"}})
        cfg.eamt.push_back(eam(a, b));
    cfg.eamt.push_back(eam("198.51.100.0/24", "2001:db8:6::/120", EamtSource::learned));
    StaticMapper m(cfg);
    CHECK(m.eamt().size() == 3);
    Ip6 o6;
    Ip4 o4;
    for (Role role : {Role::source, Role::destination}) {
        auto r = m.v4_to_v6(ip4("192.0.2.24"), role, {}, o6);
        CHECK(r.path == Path::eamt_static);
        CHECK(o6 == ip6("2001:db8:cccc::8"));
        r = m.v4_to_v6(ip4("198.51.100.3"), role, {}, o6);
        CHECK(r.path == Path::eamt_learned);
        CHECK(o6 == ip6("2001:db8:6::3"));
        r = m.v6_to_v4(ip6("2001:db8:cccc::8"), role, {}, o4);
        CHECK(r.path == Path::eamt_static);
        CHECK(o4 == ip4("192.0.2.24"));
        // Global address: pool6.
        r = m.v4_to_v6(ip4("8.8.8.8"), role, {}, o6);
        CHECK(r.path == Path::pref64);
        CHECK(o6 == ip6("64:ff9b::808:808"));
        r = m.v6_to_v4(ip6("64:ff9b::808:808"), role, {}, o4);
        CHECK(r.path == Path::pref64);
        CHECK(o4 == ip4("8.8.8.8"));
    }
    // RFC 7757 §4.2.1: no_eamt forces RFC 6052; with the WKP a non-global address then has no
    // mapping at all (RFC 6052 §3.1, which also makes Figure 7's last row untranslatable with
    // the WKP).
    auto r = m.v4_to_v6(ip4("192.0.2.1"), Role::source, {true}, o6);
    CHECK(r.path == Path::none);
    CHECK_FALSE(r.ok());
    CHECK(m.v4_to_v6(ip4("192.0.2.248"), Role::destination, {}, o6).path == Path::none);
    CHECK(m.v6_to_v4(ip6("64:ff9b::c000:2f8"), Role::destination, {}, o4).path == Path::none);
    CHECK(m.v6_to_v4(ip6("64:ff9b::10.0.0.1"), Role::source, {}, o4).path == Path::none);
    CHECK(m.v4_to_v6(ip4("192.168.1.1"), Role::source, {}, o6).path == Path::none);
    r = m.v4_to_v6(ip4("8.8.4.4"), Role::source, {true}, o6);
    CHECK(r.path == Path::pref64);
    CHECK(r.ok());
    CHECK(m.v6_to_v4(ip6("2001:db8:aaaa::"), Role::source, {true}, o4).path == Path::none);
    // Not in any prefix.
    CHECK(m.v6_to_v4(ip6("2001:db8:ffff::1"), Role::source, {}, o4).path == Path::none);
    CHECK(m.eamt_has_v4(ip4("192.0.2.1")));
    CHECK_FALSE(m.eamt_has_v4(ip4("192.0.2.2")));
}

TEST_CASE("StaticMapper siit: network-specific prefixes carry non-global addresses", "[mapper][static]") {
    for (const char *pfx : {"64:ff9b:1::/48", "2001:db8:122:344::/64", "2001:db8::/32"}) {
        INFO(pfx);
        Config cfg;
        cfg.pool6 = p6(pfx);
        StaticMapper m(cfg);
        Ip6 o6;
        Ip4 o4;
        REQUIRE(m.v4_to_v6(ip4("192.168.1.1"), Role::source, {}, o6).path == Path::pref64);
        CHECK(o6 == rfc6052_embed(p6(pfx), ip4("192.168.1.1")));
        REQUIRE(m.v6_to_v4(o6, Role::destination, {}, o4).path == Path::pref64);
        CHECK(o4 == ip4("192.168.1.1"));
    }
    // No pool6 and no EAMT: nothing maps.
    Config empty;
    StaticMapper m(empty);
    Ip6 o6;
    Ip4 o4;
    CHECK(m.v4_to_v6(ip4("8.8.8.8"), Role::source, {}, o6).path == Path::none);
    CHECK(m.v6_to_v4(ip6("64:ff9b::808:808"), Role::source, {}, o4).path == Path::none);
}

TEST_CASE("StaticMapper clat (RFC 6877 §6)", "[mapper][static]") {
    Config cfg;
    cfg.mode = Mode::clat;
    cfg.clat_prefix = p6("2001:db8:aaaa:1::/96");
    cfg.plat_prefix = p6("64:ff9b::/96");
    cfg.eamt.push_back(eam("198.51.100.0/24", "2001:db8:5::/120"));
    StaticMapper m(cfg);
    Ip6 o6;
    Ip4 o4;
    // 4->6 source: the LAN host into the CLAT prefix (private addresses are fine: not the WKP).
    auto r = m.v4_to_v6(ip4("192.168.1.10"), Role::source, {}, o6);
    CHECK(r.path == Path::clat_prefix);
    CHECK(o6 == ip6("2001:db8:aaaa:1::c0a8:10a"));
    // The source never goes through the EAMT, even when covered by it.
    r = m.v4_to_v6(ip4("198.51.100.7"), Role::source, {}, o6);
    CHECK(r.path == Path::clat_prefix);
    CHECK(o6 == ip6("2001:db8:aaaa:1::c633:6407"));
    // 4->6 destination: EAMT, else the PLAT prefix.
    r = m.v4_to_v6(ip4("198.51.100.7"), Role::destination, {}, o6);
    CHECK(r.path == Path::eamt_static);
    CHECK(o6 == ip6("2001:db8:5::7"));
    r = m.v4_to_v6(ip4("1.1.1.1"), Role::destination, {}, o6);
    CHECK(r.path == Path::pref64);
    CHECK(o6 == ip6("64:ff9b::101:101"));
    r = m.v4_to_v6(ip4("10.0.0.1"), Role::destination, {}, o6);  // WKP + non-global
    CHECK(r.path == Path::none);
    // 6->4 source: EAMT reverse, else PLAT prefix extraction.
    r = m.v6_to_v4(ip6("2001:db8:5::7"), Role::source, {}, o4);
    CHECK(r.path == Path::eamt_static);
    CHECK(o4 == ip4("198.51.100.7"));
    r = m.v6_to_v4(ip6("64:ff9b::101:101"), Role::source, {}, o4);
    CHECK(r.path == Path::pref64);
    CHECK(o4 == ip4("1.1.1.1"));
    CHECK(m.v6_to_v4(ip6("2001:db8:9::1"), Role::source, {}, o4).path == Path::none);
    // 6->4 destination: the CLAT prefix only.
    r = m.v6_to_v4(ip6("2001:db8:aaaa:1::c0a8:10a"), Role::destination, {}, o4);
    CHECK(r.path == Path::clat_prefix);
    CHECK(o4 == ip4("192.168.1.10"));
    CHECK(m.v6_to_v4(ip6("2001:db8:5::7"), Role::destination, {}, o4).path == Path::none);
    CHECK(m.v6_to_v4(ip6("64:ff9b::101:101"), Role::destination, {}, o4).path == Path::none);
    // clat mode without prefixes maps nothing.
    Config bare;
    bare.mode = Mode::clat;
    StaticMapper b(bare);
    CHECK(b.v4_to_v6(ip4("192.168.1.10"), Role::source, {}, o6).path == Path::none);
    CHECK(b.v4_to_v6(ip4("1.1.1.1"), Role::destination, {}, o6).path == Path::none);
}

TEST_CASE("StaticMapper refuses an invalid hand-built EAMT; path names", "[mapper][static]") {
    Config cfg;
    cfg.eamt.push_back(eam("192.0.2.0/24", "2001:db8::/120"));
    cfg.eamt.push_back(eam("192.0.2.0/24", "2001:db8:1::/120"));
    CHECK_THROWS_AS(StaticMapper(cfg), std::invalid_argument);
    CHECK(std::string(path_name(Path::none)) == "none");
    CHECK(std::string(path_name(Path::eamt_static)) == "eamt_static");
    CHECK(std::string(path_name(Path::eamt_operator)) == "eamt_operator");
    CHECK(std::string(path_name(Path::eamt_learned)) == "eamt_learned");
    CHECK(std::string(path_name(Path::pref64)) == "pref64");
    CHECK(std::string(path_name(Path::clat_prefix)) == "clat_prefix");
    CHECK(std::string(path_name(Path::rfc6791)) == "rfc6791");
    CHECK(path_of(EamtSource::static_config) == Path::eamt_static);
    CHECK(path_of(EamtSource::operator_table) == Path::eamt_operator);
    CHECK(path_of(EamtSource::learned) == Path::eamt_learned);
}
