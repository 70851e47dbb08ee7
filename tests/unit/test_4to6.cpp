// RFC 7915 §4 (IPv4 -> IPv6) requirement by requirement. Inputs and expected outputs come from
// hand-written bytes or from the independent builder in pktcheck.hpp (which shares no code with
// the translator); every emitted packet also goes through pktcheck::check (lengths, IPv4 header
// checksums, transport/ICMP checksums) and every run checks that no mbuf leaked.
#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "mbuf_util.hpp"
#include "pktcheck.hpp"
#include "xlat/internal.hpp"
#include "xlat/translator.hpp"

using namespace eamclat;
using namespace eamclat::xlat;
namespace pc = eamclat::pktcheck;
using pc::Bytes;

namespace Catch {
template <>
struct StringMaker<Fate> {
    static std::string convert(Fate f) { return fate_info[static_cast<unsigned>(f)].name; }
};
template <>
struct StringMaker<std::vector<uint8_t>> {
    static std::string convert(const std::vector<uint8_t> &b) { return eamclat::pktcheck::hex(b); }
};
template <>
struct StringMaker<Side> {
    static std::string convert(Side s) { return s == Side::v4 ? "v4" : "v6"; }
};
}  // namespace Catch

namespace {

Ip4 ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    return static_cast<Ip4>(a) << 24 | static_cast<Ip4>(b) << 16 | static_cast<Ip4>(c) << 8 | d;
}

// RFC 6052 §2.2 with 64:ff9b::/96, written out by hand (no dependency on mapper.cpp).
Ip6 nat64(Ip4 a) {
    Ip6 r{};
    r.b[1] = 0x64;
    r.b[2] = 0xff;
    r.b[3] = 0x9b;
    r.b[12] = static_cast<uint8_t>(a >> 24);
    r.b[13] = static_cast<uint8_t>(a >> 16);
    r.b[14] = static_cast<uint8_t>(a >> 8);
    r.b[15] = static_cast<uint8_t>(a);
    return r;
}

Ip6 v6(const char *text) { return *Ip6::parse(text); }

// A Mapper for the tests: /32 "EAM" entries, otherwise 64:ff9b::/96; records every call.
struct TestMapper final : Mapper {
    std::map<Ip4, Ip6> eam;
    std::set<Ip4> untranslatable;
    struct Call {
        Ip4 addr;
        Role role;
        bool no_eamt;
    };
    std::vector<Call> calls;

    MapResult v4_to_v6(Ip4 a, Role role, MapFlags flags, Ip6 &out) override {
        calls.push_back({a, role, flags.no_eamt});
        if (untranslatable.count(a)) return {};
        if (!flags.no_eamt) {
            auto it = eam.find(a);
            if (it != eam.end()) {
                out = it->second;
                return {Path::eamt_static};
            }
        }
        out = nat64(a);
        return {Path::pref64};
    }
    MapResult v6_to_v4(const Ip6 &, Role, MapFlags, Ip4 &) override { return {}; }
    bool eamt_has_v4(Ip4 a) override { return eam.count(a) != 0; }

    const Call *find(Ip4 a, Role r) const {
        for (const auto &c : calls)
            if (c.addr == a && c.role == r) return &c;
        return nullptr;
    }
};

// Addresses of the tests: an IPv4 host A (192.0.2.1) talks to B (198.51.100.2), which lives on
// the IPv6 side as 64:ff9b::c633:6402. R (203.0.113.1) is an IPv4 router sending errors.
const uint8_t A4[4] = {192, 0, 2, 1};
const uint8_t B4[4] = {198, 51, 100, 2};
const uint8_t R4[4] = {203, 0, 113, 1};
const uint8_t A6[16] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 192, 0, 2, 1};
const uint8_t B6[16] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 198, 51, 100, 2};
const uint8_t R6[16] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 203, 0, 113, 1};
const Ip4 A = ip4(192, 0, 2, 1);
const Ip4 B = ip4(198, 51, 100, 2);
const Ip4 R = ip4(203, 0, 113, 1);

Bytes pattern(size_t n, uint8_t seed = 0) {
    Bytes b(n);
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(seed + i * 7 + (i >> 8));
    return b;
}

Bytes slice(const Bytes &b, size_t off, size_t len) {
    return Bytes(b.begin() + static_cast<long>(off), b.begin() + static_cast<long>(off + len));
}

pc::V4 h4(uint8_t proto, const uint8_t *src = A4, const uint8_t *dst = B4) {
    pc::V4 h;
    h.proto = proto;
    h.id = 0x1234;
    h.ttl = 64;
    memcpy(h.src, src, 4);
    memcpy(h.dst, dst, 4);
    return h;
}

pc::V6 h6(uint8_t next, const uint8_t *src = A6, const uint8_t *dst = B6, uint8_t hlim = 63) {
    pc::V6 h;
    h.next = next;
    h.hlim = hlim;
    memcpy(h.src, src, 16);
    memcpy(h.dst, dst, 16);
    return h;
}

struct Emitted6 {
    Bytes bytes;
    Side side;
};

struct Run {
    Result result;
    std::vector<Emitted6> pkts;
    const Bytes &only() const {
        REQUIRE(pkts.size() == 1);
        return pkts[0].bytes;
    }
};

struct Fixture {
    Config cfg;
    TestMapper mapper;
    rte_mempool *pool = test::g_pool;

    bool check_packets = true;  // off for hostile inputs whose corrupt checksums are carried over

    Run run(const Bytes &in, size_t seg_len = 0, Pass4to6 pass = {}) {
        unsigned before = test::pool_in_use();
        rte_mbuf *m = test::make_mbuf(in, seg_len);
        Context ctx{&cfg, &mapper, pool};
        Output out;
        Run r;
        r.result = translate_4to6_pass(ctx, m, out, pass);
        for (unsigned i = 0; i < out.n; ++i) {
            r.pkts.push_back({test::mbuf_bytes(out.pkts[i].m), out.pkts[i].side});
            CHECK(rte_pktmbuf_pkt_len(out.pkts[i].m) == r.pkts.back().bytes.size());
            rte_pktmbuf_free(out.pkts[i].m);
        }
        CHECK(test::pool_in_use() == before);
        if (fate_is_drop(r.result.fate)) {
            CHECK(out.n == 0);
        } else {
            CHECK(out.n >= 1);
        }
        for (const auto &p : r.pkts) {
            if (!check_packets) break;
            auto problems = pc::check(p.bytes);
            INFO(pc::hex(p.bytes));
            CHECK(pc::join(problems) == "");
        }
        return r;
    }

    Fate fate(const Bytes &in, size_t seg_len = 0) { return run(in, seg_len).result.fate; }
};

// UDP from A to B, with the IPv4 and the IPv6 checksum.
Bytes udp4(const Bytes &payload, bool zero = false) { return pc::udp(A4, B4, 4, 1234, 53, payload, zero); }
Bytes udp6(const Bytes &payload) { return pc::udp(A6, B6, 16, 1234, 53, payload); }

// An ICMPv4 error from R to B about a packet B sent to A (the usual direction: B's packet was
// translated 6->4, an IPv4 router answers). inner = the quoted IPv4 packet.
Bytes icmp4_error(uint8_t type, uint8_t code, uint32_t rest, const Bytes &inner) {
    return pc::ipv4(h4(1, R4, B4), pc::icmp4(type, code, rest, inner));
}
// The quoted packet: UDP from B to A, TTL 5.
Bytes inner_udp4(const Bytes &payload) {
    pc::V4 h = h4(17, B4, A4);
    h.ttl = 5;
    h.id = 0x4321;
    return pc::ipv4(h, pc::udp(B4, A4, 4, 53, 1234, payload));
}
Bytes inner_udp6(const Bytes &payload) {
    return pc::ipv6(h6(17, B6, A6, 5), pc::udp(B6, A6, 16, 53, 1234, payload));
}
Bytes icmp6_error(uint8_t type, uint8_t code, uint32_t rest, const Bytes &inner6) {
    return pc::ipv6(h6(58, R6, B6), pc::icmp6(R6, B6, type, code, rest, inner6));
}

// ICMPv4 error generated by the translator (§4.4): from 192.0.0.8 unless an RFC 6791 pool is set.
Bytes generated_error(uint8_t type, uint8_t code, uint32_t rest, const Bytes &offending,
                      const uint8_t src[4] = nullptr) {
    static const uint8_t dummy[4] = {192, 0, 0, 8};
    pc::V4 h;
    h.tos = 0xc0;
    h.id = 0;
    h.ttl = 64;
    h.proto = 1;
    memcpy(h.src, src ? src : dummy, 4);
    memcpy(h.dst, offending.data() + 12, 4);
    Bytes quoted = slice(offending, 0, std::min<size_t>(offending.size(), 548));
    return pc::ipv4(h, pc::icmp4(type, code, rest, quoted));
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// §4.1 Translating IPv4 headers into IPv6 headers
// ---------------------------------------------------------------------------------------------

TEST_CASE("RFC 7915 §4.1/§4.5: UDP, hand-computed bytes", "[x46][4.1]") {
    // 192.0.2.1:1234 -> 198.51.100.2:53 "hello", TOS 0x00, ID 0x1234, DF, TTL 64 (same packet as
    // pktcheck's reference v4_udp), and its translation computed by hand (Python struct + RFC 1071).
    const Bytes in = {0x45, 0x00, 0x00, 0x21, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0x3c, 0x61, 0xc0, 0x00, 0x02, 0x01,
                      0xc6, 0x33, 0x64, 0x02, 0x04, 0xd2, 0x00, 0x35, 0x00, 0x0d, 0xca, 0xc3, 0x68, 0x65, 0x6c, 0x6c,
                      0x6f};
    const Bytes expected = {
        0x60, 0x00, 0x00, 0x00, 0x00, 0x0d, 0x11, 0x3f, 0x00, 0x64, 0xff, 0x9b, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x02, 0x01, 0x00, 0x64, 0xff, 0x9b, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0xc6, 0x33, 0x64, 0x02, 0x04, 0xd2, 0x00, 0x35, 0x00, 0x0d, 0xca, 0xc3,
        0x68, 0x65, 0x6c, 0x6c, 0x6f};
    // (The UDP checksum is unchanged: 64:ff9b::/96 is checksum neutral, RFC 6052 §4.1.)
    for (size_t seg : {size_t{0}, size_t{60}, size_t{21}, size_t{7}}) {
        Fixture f;
        Run r = f.run(in, seg);
        CHECK(r.result.fate == Fate::translated_4to6);
        CHECK(r.result.path == Path::pref64);
        CHECK(r.pkts[0].side == Side::v6);
        CHECK(r.only() == expected);
    }
}

TEST_CASE("RFC 7915 §4.1: header fields (traffic class, flow label 0, lengths, hop limit) and §4.5 checksum update",
          "[x46][4.1]") {
    Fixture f;
    // A non-checksum-neutral address (EAM) so that the update really changes the checksum.
    f.mapper.eam[B] = v6("2001:db8:1::5");
    const uint8_t b6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5};
    Bytes payload = pattern(301);
    pc::V4 h = h4(17);
    h.tos = 0xb9;  // DSCP 46 + ECN 01: the whole octet is copied
    h.df = true;
    Bytes in = pc::ipv4(h, udp4(payload));
    pc::V6 e = h6(17, A6, b6);
    e.tc = 0xb9;
    Bytes exp = pc::ipv6(e, pc::udp(A6, b6, 16, 1234, 53, payload));
    for (size_t seg : {size_t{0}, size_t{60}, size_t{13}}) {
        Run r = f.run(in, seg);
        REQUIRE(r.result.fate == Fate::translated_4to6);
        CHECK(r.result.path == Path::eamt_static);
        CHECK(r.only() == exp);
    }

    SECTION("zeroize_traffic_class sets the traffic class to 0") {
        f.cfg.zeroize_traffic_class = true;
        e.tc = 0;
        CHECK(f.run(in).only() == pc::ipv6(e, pc::udp(A6, b6, 16, 1234, 53, payload)));
    }
}

TEST_CASE("RFC 7915 §4.1/§4.5: TCP with IPv4 options (options ignored)", "[x46][4.1]") {
    Fixture f;
    pc::TcpFields t;
    t.sport = 40000;
    t.dport = 443;
    t.seq = 0x01020304;
    t.options = {2, 4, 0x05, 0xb4};  // MSS
    Bytes payload = pattern(77, 3);
    pc::V4 h = h4(6);
    h.ttl = 2;
    // NOP, NOP, Record Route (7) with one empty slot, Timestamp (68) with pointer past its data.
    h.options = {1, 1, 7, 7, 4, 0, 0, 0, 0, 68, 4, 5, 0};
    Bytes in = pc::ipv4(h, pc::tcp(A4, B4, 4, t, payload));
    REQUIRE(in[0] == 0x49);
    Bytes exp = pc::ipv6(h6(6, A6, B6, 1), pc::tcp(A6, B6, 16, t, payload));
    CHECK(f.run(in).only() == exp);
    CHECK(f.run(in, 40).only() == exp);
}

TEST_CASE("RFC 7915 §4.1: trailing bytes beyond Total Length (Ethernet padding) are removed", "[x46][4.1]") {
    Fixture f;
    Bytes in = pc::ipv4(h4(17), udp4({1, 2}));
    Bytes padded = in;
    padded.resize(46 + 14, 0);  // padded Ethernet payload plus junk
    Bytes exp = pc::ipv6(h6(17), udp6({1, 2}));
    CHECK(f.run(padded).only() == exp);
    CHECK(f.run(padded, 31).only() == exp);
}

TEST_CASE("RFC 7915 §4.5: other transport protocols are forwarded with Next Header = Protocol", "[x46][4.5]") {
    Fixture f;
    for (uint8_t proto : {uint8_t{47}, uint8_t{50}, uint8_t{132}, uint8_t{253}}) {
        Bytes data = pattern(40, proto);
        Bytes in = pc::ipv4(h4(proto), data);
        CHECK(f.run(in).only() == pc::ipv6(h6(proto), data));
    }
}

TEST_CASE("RFC 7915 §4.2 IGMP silently dropped; IPv6 extension-header and ICMPv6 numbers not forwarded",
          "[x46][4.2][4.5]") {
    Fixture f;
    for (uint8_t proto : {uint8_t{2}, uint8_t{0}, uint8_t{43}, uint8_t{44}, uint8_t{58}, uint8_t{60}}) {
        INFO("protocol " << int(proto));
        pc::V4 h = h4(proto);
        h.ttl = 1;  // IGMP is sent with TTL 1: no Time Exceeded either
        CHECK(f.fate(pc::ipv4(h, pattern(16))) == Fate::drop_unsupported_protocol);
    }
}

TEST_CASE("RFC 7915 §4.1 Hop Limit: TTL decremented; TTL <= 1 answered with ICMPv4 Time Exceeded (§4.4)",
          "[x46][4.1][4.4]") {
    Fixture f;
    Bytes payload = pattern(10);
    SECTION("TTL 2 -> hop limit 1") {
        pc::V4 h = h4(17);
        h.ttl = 2;
        CHECK(f.run(pc::ipv4(h, udp4(payload))).only() == pc::ipv6(h6(17, A6, B6, 1), udp6(payload)));
    }
    for (uint8_t ttl : {uint8_t{1}, uint8_t{0}}) {
        pc::V4 h = h4(17);
        h.ttl = ttl;
        Bytes in = pc::ipv4(h, udp4(payload));
        Run r = f.run(in, 30);
        CHECK(r.result.fate == Fate::icmp4_error_sent);
        REQUIRE(r.pkts.size() == 1);
        CHECK(r.pkts[0].side == Side::v4);
        CHECK(r.pkts[0].bytes == generated_error(11, 0, 0, in));
    }
    SECTION("the error comes from the RFC 6791 pool when one is configured") {
        f.cfg.rfc6791v4_prefix = Prefix4{ip4(203, 0, 113, 64), 26};
        pc::V4 h = h4(17);
        h.ttl = 1;
        Bytes in = pc::ipv4(h, udp4(payload));
        const uint8_t pool[4] = {203, 0, 113, 64};
        CHECK(f.run(in).only() == generated_error(11, 0, 0, in, pool));
    }
    SECTION("an echo request with TTL 1 is answered (it is not an error)") {
        pc::V4 h = h4(1);
        h.ttl = 1;
        Bytes in = pc::ipv4(h, pc::icmp4(8, 0, 0x00010002, pattern(20)));
        CHECK(f.run(in).only() == generated_error(11, 0, 0, in));
    }
}

TEST_CASE("RFC 7915 §4.4: no ICMPv4 error about an ICMP error, a non-first fragment, or to a non-unicast source",
          "[x46][4.4]") {
    Fixture f;
    SECTION("ICMP error with TTL 1") {
        Bytes in = icmp4_error(3, 1, 0, inner_udp4(pattern(8)));
        in[8] = 1;
        pc::fix_ipv4_header_checksum(in.data());
        CHECK(f.fate(in) == Fate::drop_ttl_expired_no_error);
    }
    SECTION("non-first fragment with TTL 1") {
        pc::V4 h = h4(17);
        h.ttl = 1;
        h.frag_offset = 100;
        CHECK(f.fate(pc::ipv4(h, pattern(16))) == Fate::drop_ttl_expired_no_error);
    }
    SECTION("sources that are not a single host: discarded before anything else (§4.1)") {
        for (const auto &src : {std::array<uint8_t, 4>{0, 0, 0, 0}, std::array<uint8_t, 4>{127, 0, 0, 1},
                                std::array<uint8_t, 4>{224, 0, 0, 5}, std::array<uint8_t, 4>{255, 255, 255, 255},
                                std::array<uint8_t, 4>{240, 1, 2, 3}}) {
            pc::V4 h = h4(17, src.data());
            h.ttl = 1;
            CHECK(f.fate(pc::ipv4(h, pc::udp(src.data(), B4, 4, 1, 2, {}))) == Fate::drop_src_illegal);
        }
    }
    SECTION("multicast destination") {
        const uint8_t mc[4] = {239, 1, 1, 1};
        pc::V4 h = h4(17, A4, mc);
        h.ttl = 1;
        CHECK(f.fate(pc::ipv4(h, pc::udp(A4, mc, 4, 1, 2, {}))) == Fate::drop_ttl_expired_no_error);
    }
}

TEST_CASE("RFC 7915 §4.1: illegal sources silently discarded, but translated in ICMP errors", "[x46][4.1]") {
    Fixture f;
    for (const auto &src : {std::array<uint8_t, 4>{0, 0, 0, 0}, std::array<uint8_t, 4>{0, 1, 2, 3},
                            std::array<uint8_t, 4>{127, 0, 0, 1}, std::array<uint8_t, 4>{127, 255, 0, 9},
                            std::array<uint8_t, 4>{224, 0, 0, 1}, std::array<uint8_t, 4>{239, 255, 255, 250},
                            std::array<uint8_t, 4>{240, 0, 0, 1}, std::array<uint8_t, 4>{255, 255, 255, 255}}) {
        CHECK(f.fate(pc::ipv4(h4(17, src.data()), pc::udp(src.data(), B4, 4, 1, 2, {}))) == Fate::drop_src_illegal);
        CHECK(f.fate(pc::ipv4(h4(1, src.data()), pc::icmp4(8, 0, 0, {}))) == Fate::drop_src_illegal);
        f.mapper.calls.clear();
    }
    // Edges of the illegal blocks are legal.
    for (const auto &src : {std::array<uint8_t, 4>{1, 0, 0, 0}, std::array<uint8_t, 4>{126, 255, 255, 255},
                            std::array<uint8_t, 4>{128, 0, 0, 0}, std::array<uint8_t, 4>{223, 255, 255, 255}}) {
        CHECK(f.fate(pc::ipv4(h4(17, src.data()), pc::udp(src.data(), B4, 4, 1, 2, {}))) == Fate::translated_4to6);
    }
    SECTION("an ICMP error from 127.0.0.1 is translated") {
        const uint8_t lo[4] = {127, 0, 0, 1};
        const uint8_t lo6[16] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 127, 0, 0, 1};
        Bytes in = pc::ipv4(h4(1, lo, B4), pc::icmp4(3, 1, 0, inner_udp4(pattern(8))));
        CHECK(f.run(in).only() == pc::ipv6(h6(58, lo6, B6), pc::icmp6(lo6, B6, 1, 0, 0, inner_udp6(pattern(8)))));
    }
}

TEST_CASE("RFC 7915 §4.1/§6: untranslatable addresses are dropped silently", "[x46][4.1]") {
    Fixture f;
    Bytes in = pc::ipv4(h4(17), udp4(pattern(4)));
    f.mapper.untranslatable = {A};
    CHECK(f.fate(in) == Fate::drop_src_untranslatable);
    f.mapper.untranslatable = {B};
    CHECK(f.fate(in) == Fate::drop_dst_untranslatable);
    // RFC 6791's pool is for ICMP errors only: an echo from an untranslatable source is dropped.
    f.cfg.rfc6791v6_prefix = Prefix6{v6("2001:db8:6791::"), 64};
    f.mapper.untranslatable = {A};
    CHECK(f.fate(pc::ipv4(h4(1), pc::icmp4(8, 0, 1, {}))) == Fate::drop_src_untranslatable);
}

TEST_CASE("RFC 7915 §4.1: unexpired source route -> ICMPv4 Source Route Failed; other options ignored",
          "[x46][4.1][4.4]") {
    Fixture f;
    Bytes payload = pattern(12);
    for (uint8_t type : {uint8_t{131}, uint8_t{137}}) {
        pc::V4 h = h4(17);
        h.options = {1, type, 11, 4, 10, 0, 0, 1, 10, 0, 0, 2};  // NOP + route with two hops, pointer 4
        Bytes in = pc::ipv4(h, udp4(payload));
        Run r = f.run(in);
        CHECK(r.result.fate == Fate::icmp4_error_sent);
        CHECK(r.only() == generated_error(3, 5, 0, in));
        // pointer 8 <= length 11: still unexpired
        h.options[3] = 8;
        CHECK(f.run(pc::ipv4(h, udp4(payload))).result.fate == Fate::icmp4_error_sent);
        // pointer 12 > length 11: route exhausted, translated normally
        h.options[3] = 12;
        CHECK(f.run(pc::ipv4(h, udp4(payload))).only() == pc::ipv6(h6(17), udp6(payload)));
    }
    SECTION("a source route after End of Option List is not an option") {
        pc::V4 h = h4(17);
        h.options = {0, 131, 7, 4, 10, 0, 0, 1};
        CHECK(f.run(pc::ipv4(h, udp4(payload))).only() == pc::ipv6(h6(17), udp6(payload)));
    }
    SECTION("malformed option lengths are ignored") {
        pc::V4 h = h4(17);
        h.options = {7, 0, 131, 7};
        CHECK(f.run(pc::ipv4(h, udp4(payload))).only() == pc::ipv6(h6(17), udp6(payload)));
        h.options = {1, 1, 1, 131, 9, 4, 0, 0};  // length beyond the header
        CHECK(f.run(pc::ipv4(h, udp4(payload))).only() == pc::ipv6(h6(17), udp6(payload)));
    }
    SECTION("source route and an ICMP error: dropped without an error") {
        Bytes in = icmp4_error(11, 0, 0, inner_udp4(pattern(8)));
        pc::V4 h = h4(1, R4, B4);
        h.options = {131, 7, 4, 10, 0, 0, 1};
        in = pc::ipv4(h, slice(in, 20, in.size() - 20));
        CHECK(f.fate(in) == Fate::drop_source_route);
    }
}

// ---------------------------------------------------------------------------------------------
// §4.1 Fragments
// ---------------------------------------------------------------------------------------------

TEST_CASE("RFC 7915 §4.1: an IPv4 fragment gets a Fragment header (offset, M, identification)", "[x46][4.1]") {
    Fixture f;
    Bytes payload = pattern(200);
    Bytes dgram4 = udp4(payload);  // 208 bytes, checksum over the whole datagram
    Bytes dgram6 = udp6(payload);
    pc::V4 h = h4(17);
    h.id = 0xabcd;
    SECTION("first fragment: UDP checksum updated for the whole datagram") {
        h.mf = true;
        Bytes in = pc::ipv4(h, slice(dgram4, 0, 104));
        Bytes exp = pc::ipv6_fragment(h6(17), {0, true, 0xabcd}, slice(dgram6, 0, 104));
        CHECK(f.run(in).only() == exp);
        CHECK(f.run(in, 60).only() == exp);
    }
    SECTION("last fragment: payload untouched") {
        h.frag_offset = 13;
        Bytes in = pc::ipv4(h, slice(dgram4, 104, 104));
        CHECK(f.run(in).only() == pc::ipv6_fragment(h6(17), {13, false, 0xabcd}, slice(dgram4, 104, 104)));
    }
    SECTION("middle fragment of TCP: payload untouched") {
        h.proto = 6;
        h.mf = true;
        h.frag_offset = 0x1ffd;
        Bytes chunk = pattern(16, 9);
        CHECK(f.run(pc::ipv4(h, chunk)).only() == pc::ipv6_fragment(h6(6), {0x1ffd, true, 0xabcd}, chunk));
    }
    SECTION("first fragment too short for the transport header") {
        h.mf = true;
        h.proto = 6;
        CHECK(f.fate(pc::ipv4(h, pattern(16))) == Fate::drop_truncated);
        h.proto = 17;
        CHECK(f.fate(pc::ipv4(h, pattern(0))) == Fate::drop_truncated);
    }
}

TEST_CASE("RFC 7915 §4.1: DF=0 packets larger than lowest-ipv6-mtu are fragmented", "[x46][4.1]") {
    Fixture f;
    Bytes payload = pattern(1472);
    Bytes dgram6 = udp6(payload);  // 1480 bytes
    pc::V4 h = h4(17);
    h.id = 0x0102;
    Bytes in = pc::ipv4(h, udp4(payload));  // 1500 bytes -> 1520 untranslated
    auto frag = [&](uint16_t off8, bool m, size_t from, size_t len, uint8_t next = 17) {
        return pc::ipv6_fragment(h6(next), {off8, m, 0x0102}, slice(dgram6, from, len));
    };
    SECTION("default lowest-ipv6-mtu 1280: 1232-byte pieces") {
        for (size_t seg : {size_t{0}, size_t{60}, size_t{333}}) {
            Run r = f.run(in, seg);
            CHECK(r.result.fate == Fate::translated_4to6);
            REQUIRE(r.pkts.size() == 2);
            CHECK(r.pkts[0].bytes == frag(0, true, 0, 1232));
            CHECK(r.pkts[1].bytes == frag(154, false, 1232, 248));
            CHECK(r.pkts[0].bytes.size() == 1280);
        }
    }
    SECTION("lowest-ipv6-mtu 1500") {
        f.cfg.lowest_ipv6_mtu = 1500;
        Run r = f.run(in);
        REQUIRE(r.pkts.size() == 2);
        CHECK(r.pkts[0].bytes == frag(0, true, 0, 1448));
        CHECK(r.pkts[1].bytes == frag(181, false, 1448, 32));
    }
    SECTION("lowest-ipv6-mtu above the egress MTU: the egress MTU bounds the fragments") {
        f.cfg.lowest_ipv6_mtu = 9000;
        f.cfg.ipv6_mtu = 1400;
        Run r = f.run(in);
        REQUIRE(r.pkts.size() == 2);
        CHECK(r.pkts[0].bytes == frag(0, true, 0, 1352));
        CHECK(r.pkts[1].bytes == frag(169, false, 1352, 128));
    }
    SECTION("fits: no Fragment header (§1.4: MUST NOT for non-fragmented packets)") {
        f.cfg.lowest_ipv6_mtu = 1520;
        f.cfg.ipv6_mtu = 1520;
        CHECK(f.run(in).only() == pc::ipv6(h6(17), dgram6));
        f.cfg.lowest_ipv6_mtu = 1280;
        f.cfg.ipv6_mtu = 1500;
        Bytes small = pc::ipv4(h, udp4(pattern(1232)));  // 1260 -> exactly 1280
        CHECK(f.run(small).only() == pc::ipv6(h6(17), udp6(pattern(1232))));
    }
    SECTION("an IPv4 fragment that is still too large is cut further, keeping offset and M") {
        Bytes data = pattern(1480, 5);
        pc::V4 fh = h;
        fh.frag_offset = 200;
        fh.mf = true;
        Run r = f.run(pc::ipv4(fh, data));
        REQUIRE(r.pkts.size() == 2);
        CHECK(r.pkts[0].bytes == pc::ipv6_fragment(h6(17), {200, true, 0x0102}, slice(data, 0, 1232)));
        CHECK(r.pkts[1].bytes == pc::ipv6_fragment(h6(17), {354, true, 0x0102}, slice(data, 1232, 248)));
        fh.mf = false;
        r = f.run(pc::ipv4(fh, data));
        REQUIRE(r.pkts.size() == 2);
        CHECK(r.pkts[1].bytes == pc::ipv6_fragment(h6(17), {354, false, 0x0102}, slice(data, 1232, 248)));
    }
    SECTION("an ICMP echo is translated (checksum) before being fragmented") {
        Bytes body = pattern(1600, 1);
        Bytes in4 = pc::ipv4(h4(1), pc::icmp4(8, 0, 0x12340001, body));
        Bytes msg6 = pc::icmp6(A6, B6, 128, 0, 0x12340001, body);
        Run r = f.run(in4, 100);
        REQUIRE(r.pkts.size() == 2);
        CHECK(r.pkts[0].bytes == pc::ipv6_fragment(h6(58), {0, true, 0x1234}, slice(msg6, 0, 1232)));
        CHECK(r.pkts[1].bytes == pc::ipv6_fragment(h6(58), {154, false, 0x1234}, slice(msg6, 1232, 376)));
    }
    SECTION("a 65535-byte datagram becomes 54 fragments that reassemble to it") {
        Bytes big = pattern(65535 - 28, 2);
        Bytes in4 = pc::ipv4(h, udp4(big));
        REQUIRE(in4.size() == 65535);
        Run r = f.run(in4, 2000);
        REQUIRE(r.pkts.size() == 54);
        Bytes reassembled;
        for (size_t i = 0; i < r.pkts.size(); ++i) {
            const Bytes &p = r.pkts[i].bytes;
            CHECK(p.size() <= 1280);
            CHECK(pc::get16(&p[42]) == ((i * 1232 / 8) << 3 | (i + 1 < r.pkts.size() ? 1 : 0)));
            reassembled.insert(reassembled.end(), p.begin() + 48, p.end());
        }
        CHECK(reassembled == udp6(big));
    }
}

TEST_CASE("RFC 7915 §4.1: fragmentation without mbufs drops everything (drop_no_mbuf)", "[x46][4.1]") {
    Fixture f;
    rte_mempool *tiny = rte_pktmbuf_pool_create("x46_tiny", 3, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    REQUIRE(tiny);
    f.pool = tiny;
    Bytes in = pc::ipv4(h4(17), udp4(pattern(8000)));  // 7 fragments needed, 3 mbufs available
    CHECK(f.run(in, 1000).result.fate == Fate::drop_no_mbuf);
    CHECK(rte_mempool_in_use_count(tiny) == 0);
    // With room for the extra fragments it works, and fragments never exceed one mbuf.
    Bytes small = pc::ipv4(h4(17), udp4(pattern(3000)));
    Run r = f.run(small, 1000);
    CHECK(r.result.fate == Fate::translated_4to6);
    CHECK(r.pkts.size() == 3);
    rte_mempool_free(tiny);

    // A pool whose mbufs hold 600 bytes: fragments are cut to fit them.
    rte_mempool *narrow = rte_pktmbuf_pool_create("x46_narrow", 16, 0, 0, RTE_PKTMBUF_HEADROOM + 600, SOCKET_ID_ANY);
    REQUIRE(narrow);
    f.pool = narrow;
    Bytes payload = pattern(1400);
    Bytes dgram6 = udp6(payload);  // 1408 bytes
    r = f.run(pc::ipv4(h4(17), udp4(payload)));
    REQUIRE(r.pkts.size() == 3);
    CHECK(r.pkts[0].bytes == pc::ipv6_fragment(h6(17), {0, true, 0x1234}, slice(dgram6, 0, 552)));
    CHECK(r.pkts[1].bytes == pc::ipv6_fragment(h6(17), {69, true, 0x1234}, slice(dgram6, 552, 552)));
    CHECK(r.pkts[2].bytes == pc::ipv6_fragment(h6(17), {138, false, 0x1234}, slice(dgram6, 1104, 304)));
    rte_mempool_free(narrow);
}

TEST_CASE("RFC 7915 §4.1: DF=1 and too big for the IPv6 MTU -> ICMPv4 Fragmentation Needed", "[x46][4.1][4.4]") {
    Fixture f;
    pc::V4 h = h4(17);
    h.df = true;
    Bytes in = pc::ipv4(h, udp4(pattern(1472)));  // 1500 -> 1520 > 1500
    for (size_t seg : {size_t{0}, size_t{60}}) {
        Run r = f.run(in, seg);
        CHECK(r.result.fate == Fate::icmp4_error_sent);
        REQUIRE(r.pkts.size() == 1);
        CHECK(r.pkts[0].side == Side::v4);
        CHECK(r.pkts[0].bytes.size() == 576);
        CHECK(r.pkts[0].bytes == generated_error(3, 4, 1480, in));
    }
    SECTION("ipv6_mtu 1400 -> MTU 1380") {
        f.cfg.ipv6_mtu = 1400;
        CHECK(f.run(in).only() == generated_error(3, 4, 1380, in));
    }
    SECTION("a DF fragment also needs room for the Fragment header") {
        h.mf = true;
        Bytes frag = pc::ipv4(h, udp4(pattern(1452)));  // 1480 + 20 + 8 = 1508
        CHECK(f.run(frag).only() == generated_error(3, 4, 1472, frag));
    }
    SECTION("DF=1 and larger than lowest-ipv6-mtu but within the IPv6 MTU: translated whole") {
        Bytes ok = pc::ipv4(h, udp4(pattern(1452)));  // 1480 -> 1500
        CHECK(f.run(ok).only() == pc::ipv6(h6(17), udp6(pattern(1452))));
    }
    SECTION("a DF ICMP error larger than the MTU is truncated to 1280, not answered") {
        f.cfg.ipv6_mtu = 1280;
        Bytes err = icmp4_error(3, 3, 0, inner_udp4(pattern(1400)));
        err[6] |= 0x40;
        pc::fix_ipv4_header_checksum(err.data());
        Run r = f.run(err);
        CHECK(r.result.fate == Fate::translated_4to6);
        CHECK(r.only().size() == 1280);
    }
}

// ---------------------------------------------------------------------------------------------
// §4.5 Transport-layer headers: UDP zero checksum
// ---------------------------------------------------------------------------------------------

TEST_CASE("RFC 7915 §4.5: UDP with a zero checksum", "[x46][4.5]") {
    Fixture f;
    Bytes payload = pattern(333);
    Bytes in = pc::ipv4(h4(17), udp4(payload, true));
    SECTION("dropped by default") { CHECK(f.fate(in) == Fate::drop_udp_checksum_zero); }
    SECTION("amend-udp-checksum-zero computes it (odd-sized chain segments too)") {
        f.cfg.amend_udp_checksum_zero = true;
        for (size_t seg : {size_t{0}, size_t{60}, size_t{37}, size_t{13}})
            CHECK(f.run(in, seg).only() == pc::ipv6(h6(17), udp6(payload)));
    }
    SECTION("first fragment with zero checksum: always dropped") {
        f.cfg.amend_udp_checksum_zero = true;
        pc::V4 h = h4(17);
        h.mf = true;
        CHECK(f.fate(pc::ipv4(h, slice(udp4(payload, true), 0, 64))) == Fate::drop_udp_checksum_zero_fragment);
    }
    SECTION("a checksum that becomes zero is sent as 0xffff") {
        // Find a payload whose IPv6 checksum computes to zero (so the builder writes 0xffff).
        Bytes p2(2);
        const uint8_t b6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5};
        f.mapper.eam[B] = v6("2001:db8:1::5");
        bool found = false;
        for (unsigned v = 0; v < 65536 && !found; ++v) {
            p2[0] = static_cast<uint8_t>(v >> 8);
            p2[1] = static_cast<uint8_t>(v);
            Bytes u = pc::udp(A6, b6, 16, 1234, 53, p2);
            found = pc::get16(&u[6]) == 0xffff;
        }
        REQUIRE(found);
        Bytes exp = pc::ipv6(h6(17, A6, b6), pc::udp(A6, b6, 16, 1234, 53, p2));
        CHECK(f.run(pc::ipv4(h4(17), udp4(p2))).only() == exp);
    }
}

// ---------------------------------------------------------------------------------------------
// §4.2 ICMPv4 -> ICMPv6
// ---------------------------------------------------------------------------------------------

TEST_CASE("RFC 7915 §4.2: Echo Request/Reply (8/0 -> 128/129) with the pseudo-header checksum", "[x46][4.2]") {
    Fixture f;
    Bytes body = pattern(56, 4);
    for (auto [t4, t6] : {std::pair<uint8_t, uint8_t>{8, 128}, std::pair<uint8_t, uint8_t>{0, 129}}) {
        Bytes in = pc::ipv4(h4(1), pc::icmp4(t4, 0, 0xbeef0007, body));
        Bytes exp = pc::ipv6(h6(58), pc::icmp6(A6, B6, t6, 0, 0xbeef0007, body));
        for (size_t seg : {size_t{0}, size_t{60}, size_t{22}, size_t{5}}) CHECK(f.run(in, seg).only() == exp);
    }
    SECTION("non-checksum-neutral addresses") {
        f.mapper.eam[A] = v6("2001:db8:a::1");
        const uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        Bytes in = pc::ipv4(h4(1), pc::icmp4(8, 0, 1, body));
        CHECK(f.run(in).only() == pc::ipv6(h6(58, a6, B6), pc::icmp6(a6, B6, 128, 0, 1, body)));
    }
}

TEST_CASE("RFC 7915 §4.2: obsolete, single-hop and unknown ICMPv4 types are silently dropped", "[x46][4.2]") {
    Fixture f;
    for (uint8_t type : {1, 2, 4, 5, 6, 7, 9, 10, 13, 14, 15, 16, 17, 18, 19, 30, 40, 253, 255}) {
        Bytes in = pc::ipv4(h4(1), pc::icmp4(type, 0, 0, inner_udp4({1, 2, 3, 4})));
        INFO("type " << int(type));
        CHECK(f.fate(in) == Fate::drop_icmp_untranslatable);
    }
}

TEST_CASE("RFC 7915 §4.2: Destination Unreachable code mapping", "[x46][4.2]") {
    Fixture f;
    Bytes inner4 = inner_udp4(pattern(30));
    Bytes inner6 = inner_udp6(pattern(30));
    struct Map {
        uint8_t code4;
        int type6;  // -1: dropped
        uint8_t code6;
        uint32_t rest6;
    };
    const Map maps[] = {
        {0, 1, 0, 0},   {1, 1, 0, 0},  {2, 4, 1, 6},   {3, 1, 4, 0},   {5, 1, 0, 0},   {6, 1, 0, 0},
        {7, 1, 0, 0},   {8, 1, 0, 0},  {9, 1, 1, 0},   {10, 1, 1, 0},  {11, 1, 0, 0},  {12, 1, 0, 0},
        {13, 1, 1, 0},  {14, -1, 0, 0}, {15, 1, 1, 0}, {16, -1, 0, 0}, {200, -1, 0, 0},
    };
    for (const Map &m : maps) {
        INFO("code " << int(m.code4));
        Bytes in = icmp4_error(3, m.code4, 0, inner4);
        Run r = f.run(in, 50);
        if (m.type6 < 0) {
            CHECK(r.result.fate == Fate::drop_icmp_untranslatable);
        } else {
            CHECK(r.result.fate == Fate::translated_4to6);
            CHECK(r.only() == icmp6_error(static_cast<uint8_t>(m.type6), m.code6, m.rest6, inner6));
        }
    }
    SECTION("Code 4 -> Packet Too Big") {
        Bytes in = icmp4_error(3, 4, 1400, inner4);
        CHECK(f.run(in).only() == icmp6_error(2, 0, 1420, inner6));
    }
}

TEST_CASE("RFC 7915 §4.2: Packet Too Big MTU = max(1280, min(MTU+20, IPv6 MTU, IPv4 MTU+20)), plateaus for 0",
          "[x46][4.2][7]") {
    struct Case {
        uint16_t mtu4;
        uint16_t inner_total;
        uint16_t ipv6_mtu;
        uint16_t ipv4_mtu;
        uint32_t expected;
    };
    const Case cases[] = {
        {1400, 1500, 1500, 1500, 1420},   // MTU + 20
        {1492, 1500, 1500, 1500, 1500},   // bounded by the IPv6 next hop
        {1500, 1500, 9000, 1400, 1420},   // bounded by the IPv4 next hop + 20
        {1000, 1500, 1500, 1500, 1280},   // never below 1280
        {576, 600, 1500, 1500, 1280},
        {0, 1500, 9000, 9000, 1512},      // plateau 1492 + 20
        {0, 1493, 9000, 9000, 1512},
        {0, 1492, 9000, 9000, 1280},      // plateau 1006: below 1280
        {0, 9000, 9000, 9000, 8186},      // plateau 8166
        {0, 65535, 65535, 65535, 32020},  // plateau 32000 (65535 is not below 65535)
        {0, 17915, 9000, 9000, 9000},     // plateau 17914, bounded by the next hops
        {0, 20, 1500, 1500, 1280},        // no plateau below 20: the floor
    };
    for (const Case &c : cases) {
        Fixture f;
        f.cfg.ipv6_mtu = c.ipv6_mtu;
        f.cfg.ipv4_mtu = c.ipv4_mtu;
        f.cfg.lowest_ipv6_mtu = 1280;
        // The quoted header claims inner_total bytes, of which 28 + 8 are quoted.
        Bytes inner = slice(inner_udp4(pattern(1500)), 0, 36);
        pc::put16(&inner[2], c.inner_total);
        pc::fix_ipv4_header_checksum(inner.data());
        Run r = f.run(icmp4_error(3, 4, c.mtu4, inner));
        INFO("mtu " << c.mtu4 << " inner total " << c.inner_total);
        REQUIRE(r.result.fate == Fate::translated_4to6);
        const Bytes &p = r.only();
        CHECK(p[40] == 2);
        CHECK(p[41] == 0);
        CHECK(pc::get32(&p[44]) == c.expected);
        CHECK(pc::get16(&p[48 + 4]) == c.inner_total - 20);  // inner payload length
    }
}

TEST_CASE("RFC 7915 §4.2: Time Exceeded (type 11 -> 3, code unchanged)", "[x46][4.2]") {
    Fixture f;
    for (uint8_t code : {0, 1}) {
        Bytes in = icmp4_error(11, code, 0, inner_udp4(pattern(20)));
        CHECK(f.run(in).only() == icmp6_error(3, code, 0, inner_udp6(pattern(20))));
    }
}

TEST_CASE("RFC 7915 §4.2: Parameter Problem and the Figure 3 pointer mapping", "[x46][4.2]") {
    Fixture f;
    const std::map<int, int> figure3 = {{0, 0},  {1, 1},  {2, 4},  {3, 4},  {8, 7},  {9, 6},  {12, 8},
                                        {13, 8}, {14, 8}, {15, 8}, {16, 24}, {17, 24}, {18, 24}, {19, 24}};
    Bytes inner4 = inner_udp4(pattern(8));
    Bytes inner6 = inner_udp6(pattern(8));
    for (uint8_t code : {0, 2}) {
        for (int ptr = 0; ptr < 64; ++ptr) {
            INFO("code " << int(code) << " pointer " << ptr);
            Bytes in = icmp4_error(12, code, static_cast<uint32_t>(ptr) << 24, inner4);
            Run r = f.run(in);
            auto it = figure3.find(ptr);
            if (it == figure3.end()) {
                CHECK(r.result.fate == Fate::drop_icmp_untranslatable);
            } else {
                CHECK(r.only() == icmp6_error(4, 0, static_cast<uint32_t>(it->second), inner6));
            }
        }
    }
    for (uint8_t code : {1, 3, 4, 255}) {
        CHECK(f.fate(icmp4_error(12, code, 0, inner4)) == Fate::drop_icmp_untranslatable);
    }
}

// ---------------------------------------------------------------------------------------------
// §4.3 ICMPv4 error messages: the inner packet
// ---------------------------------------------------------------------------------------------

TEST_CASE("RFC 7915 §4.3: inner packet translated (swapped roles, TTL kept, checksums updated)", "[x46][4.3]") {
    Fixture f;
    SECTION("inner UDP: addresses, lengths, TTL and checksum; outer hop limit decremented") {
        Bytes in = icmp4_error(3, 3, 0, inner_udp4(pattern(30)));
        Run r = f.run(in, 40);
        CHECK(r.only() == icmp6_error(1, 4, 0, inner_udp6(pattern(30))));
        CHECK(r.result.path == Path::pref64);
        const auto *c = f.mapper.find(B, Role::destination);  // inner source
        REQUIRE(c);
        CHECK_FALSE(c->no_eamt);
        CHECK(f.mapper.find(A, Role::source));  // inner destination
        CHECK(f.mapper.find(R, Role::source));  // outer source
    }
    SECTION("inner UDP quoted partially: checksum still updated (header present)") {
        Bytes full = inner_udp4(pattern(500));
        Bytes in = icmp4_error(11, 0, 0, slice(full, 0, 28 + 64));
        Bytes exp6 = slice(inner_udp6(pattern(500)), 0, 48 + 64);
        CHECK(f.run(in).only() == icmp6_error(3, 0, 0, exp6));
    }
    SECTION("inner UDP with zero checksum stays zero") {
        pc::V4 ih = h4(17, B4, A4);
        ih.ttl = 5;
        ih.id = 0x4321;
        Bytes in = icmp4_error(3, 1, 0, pc::ipv4(ih, pc::udp(B4, A4, 4, 53, 1234, pattern(9), true)));
        Bytes exp6 = pc::ipv6(h6(17, B6, A6, 5), pc::udp(B6, A6, 16, 53, 1234, pattern(9), true));
        CHECK(f.run(in).only() == icmp6_error(1, 0, 0, exp6));
    }
    SECTION("inner TCP, quoted header of 8 bytes only (no checksum field): copied") {
        pc::TcpFields t;
        pc::V4 ih = h4(6, B4, A4);
        ih.ttl = 9;
        Bytes tcp4 = pc::tcp(B4, A4, 4, t, pattern(10));
        Bytes in = icmp4_error(3, 13, 0, slice(pc::ipv4(ih, tcp4), 0, 28));
        Bytes exp6 = slice(pc::ipv6(h6(6, B6, A6, 9), tcp4), 0, 48);
        CHECK(f.run(in).only() == icmp6_error(1, 1, 0, exp6));
    }
    SECTION("inner TCP complete: checksum updated") {
        pc::TcpFields t;
        pc::V4 ih = h4(6, B4, A4);
        ih.ttl = 9;
        Bytes in = icmp4_error(3, 13, 0, pc::ipv4(ih, pc::tcp(B4, A4, 4, t, pattern(10))));
        Bytes exp6 = pc::ipv6(h6(6, B6, A6, 9), pc::tcp(B6, A6, 16, t, pattern(10)));
        CHECK(f.run(in).only() == icmp6_error(1, 1, 0, exp6));
    }
    SECTION("inner ICMP echo: type and checksum translated") {
        pc::V4 ih = h4(1, B4, A4);
        ih.ttl = 3;
        Bytes in = icmp4_error(11, 0, 0, pc::ipv4(ih, pc::icmp4(8, 0, 0x00070001, pattern(24))));
        Bytes exp6 = pc::ipv6(h6(58, B6, A6, 3), pc::icmp6(B6, A6, 128, 0, 0x00070001, pattern(24)));
        CHECK(f.run(in).only() == icmp6_error(3, 0, 0, exp6));
    }
    SECTION("inner fragment: inner Fragment header") {
        pc::V4 ih = h4(17, B4, A4);
        ih.ttl = 5;
        ih.id = 0x4321;
        ih.frag_offset = 10;
        ih.mf = true;
        Bytes chunk = pattern(24);
        Bytes in = icmp4_error(3, 1, 0, pc::ipv4(ih, chunk));
        pc::V6 e = h6(17, B6, A6, 5);
        CHECK(f.run(in).only() == icmp6_error(1, 0, 0, pc::ipv6_fragment(e, {10, true, 0x4321}, chunk)));
    }
    SECTION("inner TOS follows the traffic class rule") {
        pc::V4 ih = h4(17, B4, A4);
        ih.ttl = 5;
        ih.id = 0x4321;
        ih.tos = 0x28;
        Bytes in = icmp4_error(3, 1, 0, pc::ipv4(ih, pc::udp(B4, A4, 4, 53, 1234, {})));
        pc::V6 e = h6(17, B6, A6, 5);
        e.tc = 0x28;
        CHECK(f.run(in).only() == icmp6_error(1, 0, 0, pc::ipv6(e, pc::udp(B6, A6, 16, 53, 1234, {}))));
    }
}

TEST_CASE("RFC 7915 §4.3: the translated error is truncated to 1280 bytes", "[x46][4.3]") {
    Fixture f;
    Bytes in = icmp4_error(3, 3, 0, inner_udp4(pattern(1372)));  // inner 1400, whole error 1428
    Bytes inner6 = inner_udp6(pattern(1372));                      // 1420
    Bytes exp = icmp6_error(1, 4, 0, slice(inner6, 0, 1280 - 48));
    for (size_t seg : {size_t{0}, size_t{60}, size_t{500}}) {
        Run r = f.run(in, seg);
        CHECK(r.only().size() == 1280);
        CHECK(r.only() == exp);
    }
    SECTION("an error that fits exactly is not cut") {
        Bytes in2 = icmp4_error(3, 3, 0, inner_udp4(pattern(1372 - 188)));
        CHECK(f.run(in2).only() == icmp6_error(1, 4, 0, inner_udp6(pattern(1372 - 188))));
        CHECK(f.run(in2).only().size() == 1280);
    }
}

TEST_CASE("RFC 7915 §4.2 ICMP Error Payload / RFC 4884: length attribute and extension", "[x46][4.2][rfc4884]") {
    Fixture f;
    // An ICMP extension structure (RFC 4884 §7): version 2 header + one 12-byte object.
    const Bytes ext = {0x20, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x02, 0x01, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88};
    auto with_ext = [&](uint8_t type, uint8_t code, uint32_t rest, const Bytes &dgram4) {
        Bytes body = dgram4;
        uint32_t words = static_cast<uint32_t>(body.size() / 4);
        body.insert(body.end(), ext.begin(), ext.end());
        return icmp4_error(type, code, rest | words << 16, body);
    };
    SECTION("Time Exceeded: 128-byte datagram -> 148 padded to 152 (length 19)") {
        Bytes d4 = inner_udp4(pattern(100));  // 128 bytes
        Bytes d6 = inner_udp6(pattern(100));  // 148
        Bytes body6 = d6;
        body6.resize(152, 0);
        body6.insert(body6.end(), ext.begin(), ext.end());
        for (size_t seg : {size_t{0}, size_t{60}})
            CHECK(f.run(with_ext(11, 0, 0, d4), seg).only() == icmp6_error(3, 0, 19u << 24, body6));
    }
    SECTION("Destination Unreachable, non-compliant short datagram: padded to 128 octets (length 16)") {
        Bytes d4 = inner_udp4(pattern(32));  // 60 bytes
        Bytes d6 = inner_udp6(pattern(32));  // 80
        Bytes body6 = d6;
        body6.resize(128, 0);
        body6.insert(body6.end(), ext.begin(), ext.end());
        CHECK(f.run(with_ext(3, 1, 0, d4)).only() == icmp6_error(1, 0, 16u << 24, body6));
    }
    SECTION("Parameter Problem and Packet Too Big cannot carry extensions: dropped from the output") {
        Bytes d4 = inner_udp4(pattern(100));
        Bytes d6 = inner_udp6(pattern(100));
        CHECK(f.run(with_ext(12, 0, 9u << 24, d4)).only() == icmp6_error(4, 0, 6, d6));
        CHECK(f.run(with_ext(3, 4, 1400, d4)).only() == icmp6_error(2, 0, 1420, d6));
        CHECK(f.run(with_ext(3, 2, 0, d4)).only() == icmp6_error(4, 1, 6, d6));
    }
    SECTION("extension truncated at 1280 bytes") {
        Bytes d4 = inner_udp4(pattern(1020 - 28));  // 1020 bytes: length 255
        Bytes big_ext(400);
        for (size_t i = 0; i < big_ext.size(); ++i) big_ext[i] = static_cast<uint8_t>(i);
        Bytes body = d4;
        body.insert(body.end(), big_ext.begin(), big_ext.end());
        Bytes in = icmp4_error(11, 1, 255u << 16, body);
        Bytes body6 = inner_udp6(pattern(1020 - 28));  // 1040
        body6.insert(body6.end(), big_ext.begin(), big_ext.begin() + (1240 - 8 - 1040));
        Run r = f.run(in, 100);
        CHECK(r.only().size() == 1280);
        CHECK(r.only() == icmp6_error(3, 1, 130u << 24, body6));
    }
    SECTION("length attribute beyond the message: inner invalid") {
        Bytes d4 = inner_udp4(pattern(8));  // 36 bytes = 9 words
        CHECK(f.fate(icmp4_error(11, 0, 10u << 16, d4)) == Fate::drop_icmp_inner_invalid);
    }
    SECTION("length attribute equal to the datagram, no extension after it") {
        Bytes d4 = inner_udp4(pattern(8));  // 36 bytes = 9 words
        CHECK(f.run(icmp4_error(11, 0, 9u << 16, d4)).only() == icmp6_error(3, 0, 0, inner_udp6(pattern(8))));
    }
}

TEST_CASE("RFC 7915 §4.3: malformed or untranslatable ICMP errors are dropped", "[x46][4.3]") {
    Fixture f;
    Bytes good = inner_udp4(pattern(8));
    SECTION("inner packet shorter than an IPv4 header") {
        for (size_t n = 0; n < 20; ++n) {
            INFO(n);
            CHECK(f.fate(icmp4_error(3, 1, 0, slice(good, 0, n))) == Fate::drop_icmp_inner_invalid);
        }
    }
    SECTION("inner version, IHL, total length") {
        Bytes b = good;
        b[0] = 0x65;
        CHECK(f.fate(icmp4_error(3, 1, 0, b)) == Fate::drop_icmp_inner_invalid);
        b = good;
        b[0] = 0x44;
        CHECK(f.fate(icmp4_error(3, 1, 0, b)) == Fate::drop_icmp_inner_invalid);
        b = slice(good, 0, 22);
        b[0] = 0x46;  // 24-byte header, 22 bytes quoted
        CHECK(f.fate(icmp4_error(3, 1, 0, b)) == Fate::drop_icmp_inner_invalid);
        b = good;
        pc::put16(&b[2], 19);
        CHECK(f.fate(icmp4_error(3, 1, 0, b)) == Fate::drop_icmp_inner_invalid);
    }
    SECTION("inner addresses untranslatable") {
        f.mapper.untranslatable = {A};
        CHECK(f.fate(icmp4_error(3, 1, 0, good)) == Fate::drop_icmp_inner_invalid);
    }
    SECTION("an ICMP error inside an ICMP error") {
        for (uint8_t t : {3, 4, 5, 11, 12}) {
            pc::V4 ih = h4(1, B4, A4);
            Bytes in = icmp4_error(3, 1, 0, pc::ipv4(ih, pc::icmp4(t, 0, 0, good)));
            CHECK(f.fate(in) == Fate::drop_icmp_error_about_icmp_error);
        }
    }
    SECTION("an inner ICMP message without a translation") {
        pc::V4 ih = h4(1, B4, A4);
        CHECK(f.fate(icmp4_error(3, 1, 0, pc::ipv4(ih, pc::icmp4(13, 0, 0, pattern(12))))) ==
              Fate::drop_icmp_inner_invalid);
    }
    SECTION("ICMPv4 header shorter than 8 bytes") {
        for (size_t n = 0; n < 8; ++n) {
            Bytes in = pc::ipv4(h4(1, R4, B4), slice(pc::icmp4(3, 1, 0, {}), 0, n));
            CHECK(f.fate(in) == Fate::drop_truncated);
        }
    }
    SECTION("wrong ICMPv4 checksum") {
        Bytes in = icmp4_error(3, 1, 0, good);
        in[30] ^= 0x01;
        CHECK(f.fate(in) == Fate::drop_icmp_bad_checksum);
        CHECK(f.fate(in, 31) == Fate::drop_icmp_bad_checksum);
    }
    SECTION("fragmented ICMP (§4.2: checksum needs the whole message)") {
        pc::V4 h = h4(1);
        h.mf = true;
        CHECK(f.fate(pc::ipv4(h, pc::icmp4(8, 0, 0, pattern(64)))) == Fate::drop_icmp_fragmented);
        h.mf = false;
        h.frag_offset = 9;
        CHECK(f.fate(pc::ipv4(h, pattern(64))) == Fate::drop_icmp_fragmented);
    }
}

TEST_CASE("RFC 6791 / §4.1: untranslatable source of an ICMP error", "[x46][4.3]") {
    Fixture f;
    f.mapper.untranslatable = {R};
    Bytes in = icmp4_error(11, 0, 0, inner_udp4(pattern(8)));
    CHECK(f.fate(in) == Fate::drop_src_untranslatable);
    f.cfg.rfc6791v6_prefix = Prefix6{v6("2001:db8:6791::"), 64};
    const uint8_t pool6[16] = {0x20, 0x01, 0x0d, 0xb8, 0x67, 0x91, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    Bytes inner6 = inner_udp6(pattern(8));
    Run r = f.run(in);
    CHECK(r.result.path == Path::pref64);
    CHECK(r.only() == pc::ipv6(h6(58, pool6, B6), pc::icmp6(pool6, B6, 3, 0, 0, inner6)));
}

// ---------------------------------------------------------------------------------------------
// Validation of the outer IPv4 header
// ---------------------------------------------------------------------------------------------

TEST_CASE("RFC 7915 §4 input validation: truncation, version, IHL, total length, checksum", "[x46][4.1]") {
    Fixture f;
    Bytes good = pc::ipv4(h4(17), udp4({1, 2, 3}));  // 31 bytes
    SECTION("cut anywhere inside the IPv4 header") {
        for (size_t n = 0; n < 20; ++n) {
            INFO(n);
            CHECK(f.fate(slice(good, 0, n)) == Fate::drop_truncated);
        }
    }
    SECTION("cut after the header with Total Length still claiming 31 bytes") {
        for (size_t n = 20; n < good.size(); ++n) {
            INFO(n);
            CHECK(f.fate(slice(good, 0, n)) == Fate::drop_bad_length);
        }
    }
    SECTION("consistent packets whose transport header is cut") {
        for (size_t n = 20; n < 28; ++n) {
            INFO(n);
            Bytes b = slice(good, 0, n);
            pc::put16(&b[2], static_cast<uint16_t>(n));
            pc::fix_ipv4_header_checksum(b.data());
            CHECK(f.fate(b) == Fate::drop_truncated);
            CHECK(f.fate(b, 7) == Fate::drop_truncated);
        }
        pc::TcpFields t;
        Bytes tcp = pc::ipv4(h4(6), pc::tcp(A4, B4, 4, t, {}));
        for (size_t n = 20; n < 40; ++n) {
            Bytes b = slice(tcp, 0, n);
            pc::put16(&b[2], static_cast<uint16_t>(n));
            pc::fix_ipv4_header_checksum(b.data());
            CHECK(f.fate(b) == Fate::drop_truncated);
        }
    }
    SECTION("version") {
        for (uint8_t v : {0, 1, 5, 6, 15}) {
            Bytes b = good;
            b[0] = static_cast<uint8_t>(v << 4 | 5);
            pc::fix_ipv4_header_checksum(b.data());
            CHECK(f.fate(b) == Fate::drop_bad_version);
        }
    }
    SECTION("IHL below 5 or beyond the packet") {
        for (uint8_t ihl : {0, 1, 4}) {
            Bytes b = good;
            b[0] = static_cast<uint8_t>(0x40 | ihl);
            CHECK(f.fate(b) == Fate::drop_bad_ihl);
        }
        Bytes b = slice(good, 0, 20);
        b[0] = 0x4f;  // 60 bytes of header in a 20-byte packet
        CHECK(f.fate(b) == Fate::drop_bad_ihl);
    }
    SECTION("Total Length below the header or beyond the packet") {
        for (uint16_t len : {0, 19, 32, 1000, 65535}) {
            Bytes b = good;
            pc::put16(&b[2], len);
            pc::fix_ipv4_header_checksum(b.data());
            CHECK(f.fate(b) == Fate::drop_bad_length);
        }
        Bytes b = pc::ipv4([] {
            pc::V4 h = h4(17);
            h.options = {1, 1, 1, 1};
            return h;
        }(), udp4({}));
        pc::put16(&b[2], 22);  // below IHL 24
        pc::fix_ipv4_header_checksum(b.data());
        CHECK(f.fate(b) == Fate::drop_bad_length);
    }
    SECTION("a fragment reaching beyond 65535 bytes") {
        pc::V4 h = h4(17);
        h.frag_offset = 0x1fff;  // 65528
        CHECK(f.fate(pc::ipv4(h, pattern(7))) == Fate::translated_4to6);  // ends at byte 65535
        CHECK(f.fate(pc::ipv4(h, pattern(8))) == Fate::drop_bad_length);
    }
    SECTION("header checksum") {
        for (size_t i = 0; i < 20; ++i) {
            if (i == 0 || i == 2 || i == 3) continue;  // those fail earlier checks
            Bytes b = good;
            b[i] ^= 0x10;
            INFO(i);
            CHECK(f.fate(b) == Fate::drop_bad_checksum);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// RFC 7757 §4.2 hairpinning
// ---------------------------------------------------------------------------------------------

TEST_CASE("RFC 7757 §4.2.1: simple hairpinning rules", "[x46][rfc7757]") {
    Fixture f;
    f.mapper.eam[A] = v6("2001:db8:a::1");
    f.mapper.eam[B] = v6("2001:db8:b::2");
    const uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    const uint8_t b6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0x0b, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
    Bytes in = pc::ipv4(h4(17), udp4(pattern(5)));
    SECTION("intrinsic mode, first pass: EAM used for both addresses") {
        CHECK(f.run(in).only() == pc::ipv6(h6(17, a6, b6), pc::udp(a6, b6, 16, 1234, 53, pattern(5))));
    }
    SECTION("simple mode, rule #1: source not through the EAMT") {
        f.cfg.eam_hairpin_mode = HairpinMode::simple;
        CHECK(f.run(in).only() == pc::ipv6(h6(17, A6, b6), pc::udp(A6, b6, 16, 1234, 53, pattern(5))));
        CHECK(f.fate(pc::ipv4(h4(1), pc::icmp4(8, 0, 0, {}))) == Fate::translated_4to6);
        CHECK(f.mapper.calls.back().addr == B);
        CHECK(f.mapper.calls[f.mapper.calls.size() - 2].no_eamt);  // echo source
    }
    SECTION("intrinsic second pass (§4.2.2): rule #1 and the hop limit is not decremented") {
        Pass4to6 pass;
        pass.hairpin_second_pass = true;
        pc::V4 h = h4(17);
        h.ttl = 1;
        Bytes in1 = pc::ipv4(h, udp4(pattern(5)));
        Run r = f.run(in1, 0, pass);
        CHECK(r.only() == pc::ipv6(h6(17, A6, b6, 1), pc::udp(A6, b6, 16, 1234, 53, pattern(5))));
    }
    SECTION("simple mode, ICMP errors: rule #2 (inner destination) and rule #3 (outer source = inner dest)") {
        f.cfg.eam_hairpin_mode = HairpinMode::simple;
        // Error from A about a packet B sent to A (outer source == inner destination).
        Bytes inner = inner_udp4(pattern(8));
        Bytes in2 = pc::ipv4(h4(1, A4, B4), pc::icmp4(3, 3, 0, inner));
        Bytes inner6 = pc::ipv6(h6(17, b6, A6, 5), pc::udp(b6, A6, 16, 53, 1234, pattern(8)));
        CHECK(f.run(in2).only() == pc::ipv6(h6(58, A6, b6), pc::icmp6(A6, b6, 1, 4, 0, inner6)));
        // Error from R (not the inner destination): the outer source may use the EAMT.
        f.mapper.eam[R] = v6("2001:db8:c::3");
        const uint8_t r6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3};
        Bytes in3 = pc::ipv4(h4(1, R4, B4), pc::icmp4(3, 3, 0, inner));
        CHECK(f.run(in3).only() == pc::ipv6(h6(58, r6, b6), pc::icmp6(r6, b6, 1, 4, 0, inner6)));
    }
    SECTION("intrinsic mode, ICMP errors: no rule applies") {
        Bytes inner = inner_udp4(pattern(8));
        Bytes in2 = pc::ipv4(h4(1, A4, B4), pc::icmp4(3, 3, 0, inner));
        Bytes inner6 = pc::ipv6(h6(17, b6, a6, 5), pc::udp(b6, a6, 16, 53, 1234, pattern(8)));
        CHECK(f.run(in2).only() == pc::ipv6(h6(58, a6, b6), pc::icmp6(a6, b6, 1, 4, 0, inner6)));
    }
}

TEST_CASE("translate_4to6 is translate_4to6_pass with default options", "[x46]") {
    Config cfg;
    TestMapper mapper;
    Context ctx{&cfg, &mapper, test::g_pool};
    Bytes in = pc::ipv4(h4(17), udp4(pattern(3)));
    Output out;
    Result r = translate_4to6(ctx, test::make_mbuf(in), out);
    CHECK(r.fate == Fate::translated_4to6);
    REQUIRE(out.n == 1);
    CHECK(test::mbuf_bytes(out.pkts[0].m) == pc::ipv6(h6(17), udp6(pattern(3))));
    rte_pktmbuf_free(out.pkts[0].m);
}

TEST_CASE("Resource limits: no headroom for the IPv6 header, Output full", "[x46]") {
    Fixture f;
    Bytes in = pc::ipv4(h4(17), udp4(pattern(3)));
    SECTION("first segment without headroom: drop_no_room, nothing leaked") {
        unsigned before = test::pool_in_use();
        rte_mbuf *m = rte_pktmbuf_alloc(test::g_pool);
        REQUIRE(m);
        m->data_off = 0;
        memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(in.size())), in.data(), in.size());
        Context ctx{&f.cfg, &f.mapper, test::g_pool};
        Output out;
        CHECK(translate_4to6(ctx, m, out).fate == Fate::drop_no_room);
        CHECK(out.n == 0);
        CHECK(test::pool_in_use() == before);
    }
    SECTION("Output already full") {
        unsigned before = test::pool_in_use();
        Context ctx{&f.cfg, &f.mapper, test::g_pool};
        Output out;
        out.n = Output::max;
        CHECK(translate_4to6(ctx, test::make_mbuf(in), out).fate == Fate::drop_output_full);
        // Two fragments needed, one slot left.
        out.n = Output::max - 1;
        Bytes big = pc::ipv4(h4(17), udp4(pattern(1472)));
        CHECK(translate_4to6(ctx, test::make_mbuf(big), out).fate == Fate::drop_output_full);
        CHECK(out.n == Output::max - 1);
        CHECK(test::pool_in_use() == before);
    }
}

TEST_CASE("Hostile input: mutated packets never crash, leak or emit inconsistent lengths", "[x46][fuzz]") {
    Fixture f;
    f.check_packets = false;
    f.cfg.amend_udp_checksum_zero = true;
    f.cfg.rfc6791v6_prefix = Prefix6{v6("2001:db8:6791::"), 64};
    std::vector<Bytes> seeds = {
        pc::ipv4(h4(17), udp4(pattern(40))),
        pc::ipv4(h4(6), pc::tcp(A4, B4, 4, pc::TcpFields{}, pattern(30))),
        pc::ipv4(h4(1), pc::icmp4(8, 0, 1, pattern(20))),
        icmp4_error(3, 4, 1400, inner_udp4(pattern(40))),
        icmp4_error(11, 0, 0, pc::ipv4(h4(1, B4, A4), pc::icmp4(8, 0, 1, pattern(8)))),
        icmp4_error(12, 0, 12u << 24, inner_udp4(pattern(200))),
        pc::ipv4(h4(17), udp4(pattern(1600))),
    };
    std::mt19937 rng(7915);
    for (int iter = 0; iter < 6000; ++iter) {
        Bytes b = seeds[rng() % seeds.size()];
        unsigned flips = 1 + rng() % 4;
        for (unsigned k = 0; k < flips; ++k) {
            size_t i = rng() % std::min<size_t>(b.size(), 80);  // headers, where parsing happens
            b[i] = static_cast<uint8_t>(rng());
        }
        size_t ihl = (b[0] & 0x0f) * 4u;
        if (rng() % 4 == 0 && ihl >= 20 && ihl <= b.size())
            pc::fix_ipv4_header_checksum(b.data());  // get past the header checksum
        if (rng() % 5 == 0) b.resize(rng() % b.size());
        size_t seg = std::array<size_t, 4>{0, 1, 17, 60}[rng() % 4];
        if (b.size() > 2000 && seg == 0) seg = 1000;
        Run r = f.run(b, seg);
        for (const auto &p : r.pkts) {
            REQUIRE(p.bytes.size() >= 20);
            if (p.side == Side::v6) {
                CHECK(p.bytes[0] >> 4 == 6);
                CHECK(pc::get16(&p.bytes[4]) + 40u == p.bytes.size());
                CHECK(p.bytes.size() <= 1500);
            } else {
                CHECK(p.bytes[0] == 0x45);
                CHECK(pc::get16(&p.bytes[2]) == p.bytes.size());
                CHECK(p.bytes.size() <= 576);
            }
        }
    }
}
