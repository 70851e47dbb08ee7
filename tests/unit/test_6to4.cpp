// RFC 7915 §5 (IPv6 -> IPv4) tests, one TEST_CASE per requirement, named after its section.
//
// Inputs and expected outputs are built by the small builder below (RFC 8200 / 791 / 768 / 793 /
// 792 / 4443 / 1071 written out again, sharing no code with the translator, not even
// checksum.hpp) and compared byte for byte. The IPv4 Identification of unfragmented packets of at
// most 1260 bytes is the translator's own generator (RFC 7915 §5.1): those tests take it from the
// output (adopt_ids) and a dedicated test checks its properties.
//
// RFC 7915 §5 requirements without a test here:
//  - §5 "packets belonging to the same flow leave the translator in the same order": one call
//    translates one packet; ordering is the caller's (one RX queue -> one lcore).
//  - §5.4 errors for every discarded packet (Type 1 Code 1, SHOULD) and the administrator's
//    choice to send/rate-limit/suppress them: not implemented (no Config knob yet); the
//    translator sends the errors §5.1 names (Time Exceeded, Parameter Problem, Packet Too Big).
//  - §5.5 DCCP and other transports' checksums: OPTIONAL, not updated (tested: forwarded as is).
#include <catch2/catch.hpp>

#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "mbuf_util.hpp"
#include "xlat/internal.hpp"
#include "xlat/translator.hpp"

using namespace eamclat;
using namespace eamclat::xlat;
using eamclat::test::Bytes;
using eamclat::test::make_mbuf;
using eamclat::test::mbuf_bytes;
using eamclat::test::pool_in_use;

namespace {

// ---- builder ---------------------------------------------------------------------------------

uint32_t sum16(const uint8_t *p, size_t n, uint32_t s = 0) {
    for (size_t i = 0; i + 1 < n; i += 2) s += static_cast<uint32_t>(p[i]) << 8 | p[i + 1];
    if (n & 1) s += static_cast<uint32_t>(p[n - 1]) << 8;
    return s;
}
uint16_t cksum(uint32_t s) {
    while (s >> 16) s = (s & 0xffff) + (s >> 16);
    return static_cast<uint16_t>(~s);
}
void put16(Bytes &b, size_t off, uint16_t v) {
    b[off] = static_cast<uint8_t>(v >> 8);
    b[off + 1] = static_cast<uint8_t>(v);
}
uint16_t get16(const Bytes &b, size_t off) { return static_cast<uint16_t>(b[off] << 8 | b[off + 1]); }
void append(Bytes &b, const Bytes &x) { b.insert(b.end(), x.begin(), x.end()); }
Bytes cat(std::initializer_list<Bytes> parts) {
    Bytes r;
    for (const Bytes &p : parts) append(r, p);
    return r;
}
Bytes pattern(size_t n, uint8_t seed = 1) {
    Bytes b(n);
    for (size_t i = 0; i < n; i++) b[i] = static_cast<uint8_t>(seed + i * 7);
    return b;
}

Ip6 ip6(const char *s) { return *Ip6::parse(s); }
Ip4 ip4(const char *s) { return *parse_ip4(s); }
Bytes bytes4(Ip4 a) {
    return {static_cast<uint8_t>(a >> 24), static_cast<uint8_t>(a >> 16), static_cast<uint8_t>(a >> 8),
            static_cast<uint8_t>(a)};
}

uint32_t pseudo6(const Ip6 &s, const Ip6 &d, uint8_t nh, uint32_t len) {
    uint32_t r = sum16(s.b.data(), 16, sum16(d.b.data(), 16));
    return r + nh + (len >> 16) + (len & 0xffff);
}
uint32_t pseudo4(Ip4 s, Ip4 d, uint8_t proto, uint32_t len) {
    Bytes a = cat({bytes4(s), bytes4(d)});
    return sum16(a.data(), 8) + proto + len;
}

// IPv6 header + payload (payload already contains extension headers and the upper layer).
Bytes ipv6(const Ip6 &src, const Ip6 &dst, uint8_t nh, uint8_t hlim, const Bytes &payload, uint8_t tc = 0,
           uint32_t flow = 0) {
    Bytes b(40);
    b[0] = static_cast<uint8_t>(0x60 | tc >> 4);
    b[1] = static_cast<uint8_t>(tc << 4 | (flow >> 16 & 0xf));
    put16(b, 2, static_cast<uint16_t>(flow));
    put16(b, 4, static_cast<uint16_t>(payload.size()));
    b[6] = nh;
    b[7] = hlim;
    std::copy(src.b.begin(), src.b.end(), b.begin() + 8);
    std::copy(dst.b.begin(), dst.b.end(), b.begin() + 24);
    append(b, payload);
    return b;
}

// IPv4 header (20 bytes, checksum computed) + payload. flags_off: the 16-bit flags/offset word.
Bytes ipv4(Ip4 src, Ip4 dst, uint8_t proto, uint8_t ttl, const Bytes &payload, uint8_t tos = 0, uint16_t id = 0,
           uint16_t flags_off = 0, int total_len = -1) {
    Bytes b(20);
    b[0] = 0x45;
    b[1] = tos;
    put16(b, 2, static_cast<uint16_t>(total_len >= 0 ? total_len : static_cast<int>(20 + payload.size())));
    put16(b, 4, id);
    put16(b, 6, flags_off);
    b[8] = ttl;
    b[9] = proto;
    Bytes s = bytes4(src), d = bytes4(dst);
    std::copy(s.begin(), s.end(), b.begin() + 12);
    std::copy(d.begin(), d.end(), b.begin() + 16);
    put16(b, 10, cksum(sum16(b.data(), 20)));
    append(b, payload);
    return b;
}

// Hop-by-Hop / Destination Options header of len8 * 8 bytes (PadN filled), Routing header,
// Fragment header.
Bytes ext_options(uint8_t nh, unsigned len8) {
    Bytes b(len8 * 8, 0);
    b[0] = nh;
    b[1] = static_cast<uint8_t>(len8 - 1);
    b[2] = 1;  // PadN
    b[3] = static_cast<uint8_t>(len8 * 8 - 4);
    return b;
}
Bytes ext_routing(uint8_t nh, uint8_t segments_left) {
    Bytes b = cat({{nh, 2, 0, segments_left, 0, 0, 0, 0}, Bytes(16, 0xab)});  // type 0 layout, 1 address
    return b;
}
Bytes ext_fragment(uint8_t nh, uint32_t offset, bool more, uint32_t id) {
    Bytes b(8, 0);
    b[0] = nh;
    put16(b, 2, static_cast<uint16_t>(offset | (more ? 1 : 0)));
    put16(b, 4, static_cast<uint16_t>(id >> 16));
    put16(b, 6, static_cast<uint16_t>(id));
    return b;
}

// UDP / TCP segments with the checksum for a given pseudo-header sum (the sum over the full
// segment; a truncated copy keeps that checksum).
Bytes udp(uint16_t sport, uint16_t dport, const Bytes &data, uint32_t pseudo) {
    Bytes b(8);
    put16(b, 0, sport);
    put16(b, 2, dport);
    put16(b, 4, static_cast<uint16_t>(8 + data.size()));
    append(b, data);
    uint16_t c = cksum(sum16(b.data(), b.size(), pseudo));
    put16(b, 6, c == 0 ? 0xffff : c);
    return b;
}
Bytes udp6(const Ip6 &s, const Ip6 &d, uint16_t sp, uint16_t dp, const Bytes &data) {
    return udp(sp, dp, data, pseudo6(s, d, 17, static_cast<uint32_t>(8 + data.size())));
}
Bytes udp4(Ip4 s, Ip4 d, uint16_t sp, uint16_t dp, const Bytes &data) {
    return udp(sp, dp, data, pseudo4(s, d, 17, static_cast<uint32_t>(8 + data.size())));
}
Bytes tcp(uint16_t sport, uint16_t dport, const Bytes &data, uint32_t pseudo) {
    Bytes b(20, 0);
    put16(b, 0, sport);
    put16(b, 2, dport);
    b[4] = 0x11, b[5] = 0x22, b[6] = 0x33, b[7] = 0x44;  // sequence
    b[12] = 0x50;                                         // data offset 5
    b[13] = 0x18;                                         // PSH ACK
    put16(b, 14, 65535);
    append(b, data);
    put16(b, 16, cksum(sum16(b.data(), b.size(), pseudo)));
    return b;
}
Bytes tcp6(const Ip6 &s, const Ip6 &d, const Bytes &data) {
    return tcp(40000, 443, data, pseudo6(s, d, 6, static_cast<uint32_t>(20 + data.size())));
}
Bytes tcp4(Ip4 s, Ip4 d, const Bytes &data) {
    return tcp(40000, 443, data, pseudo4(s, d, 6, static_cast<uint32_t>(20 + data.size())));
}
// ICMPv6 message (RFC 4443 §2.3: checksum over the pseudo-header) / ICMPv4 (no pseudo-header).
Bytes icmp6(const Ip6 &s, const Ip6 &d, uint8_t type, uint8_t code, uint32_t rest, const Bytes &body) {
    Bytes b = {type, code, 0, 0, static_cast<uint8_t>(rest >> 24), static_cast<uint8_t>(rest >> 16),
               static_cast<uint8_t>(rest >> 8), static_cast<uint8_t>(rest)};
    append(b, body);
    put16(b, 2, cksum(sum16(b.data(), b.size(), pseudo6(s, d, 58, static_cast<uint32_t>(b.size())))));
    return b;
}
Bytes icmp4(uint8_t type, uint8_t code, uint32_t rest, const Bytes &body) {
    Bytes b = {type, code, 0, 0, static_cast<uint8_t>(rest >> 24), static_cast<uint8_t>(rest >> 16),
               static_cast<uint8_t>(rest >> 8), static_cast<uint8_t>(rest)};
    append(b, body);
    put16(b, 2, cksum(sum16(b.data(), b.size())));
    return b;
}
Bytes head(const Bytes &b, size_t n) { return Bytes(b.begin(), b.begin() + static_cast<long>(std::min(n, b.size()))); }

// The translator's generated IPv4 Identification (DF=0, unfragmented) cannot be predicted by an
// independent builder: copy it from the output into the expected packet (outer header, and the
// inner header of an ICMPv4 error), fixing the checksums that cover it.
Bytes adopt_ids(Bytes exp, const Bytes &got) {
    if (exp.size() < 20 || got.size() < 20 || exp[0] != 0x45) return exp;
    auto fix = [&](size_t at) {
        if (get16(exp, at + 6) != 0) return false;  // DF, MF or offset set: the ID is specified
        exp[at + 4] = got[at + 4];
        exp[at + 5] = got[at + 5];
        put16(exp, at + 10, 0);
        put16(exp, at + 10, cksum(sum16(exp.data() + at, 20)));
        return true;
    };
    fix(0);
    bool error = exp[9] == 1 && (exp[20] == 3 || exp[20] == 11 || exp[20] == 12);
    if (error && exp.size() >= 48 && got.size() >= 48 && (exp[28] >> 4) == 4 && fix(28)) {
        put16(exp, 22, 0);
        put16(exp, 22, cksum(sum16(exp.data() + 20, exp.size() - 20)));
    }
    return exp;
}

// ---- test mapper -----------------------------------------------------------------------------

// RFC 6052 with 64:ff9b::/96 plus exact EAM entries (independent of mapper.cpp). To catch role
// mix-ups, pool6 addresses translate only as Role::destination (the IPv4 side's hosts) and an
// EAM entry can be limited to one role.
class TestMapper final : public Mapper {
public:
    struct Eam {
        Ip6 v6;
        Ip4 v4;
        bool any_role;
        Role role;
    };
    std::vector<Eam> eamt;
    int v6_calls = 0;
    // Makes the IPv4 -> IPv6 mapping of one address disagree with the reverse one (a broken
    // configuration), to provoke a hairpinning loop.
    std::optional<std::pair<Ip4, Ip6>> asymmetric;

    MapResult v6_to_v4(const Ip6 &a, Role role, MapFlags flags, Ip4 &out) override {
        v6_calls++;
        if (!flags.no_eamt)
            for (const Eam &e : eamt)
                if (e.v6 == a) {
                    if (!e.any_role && e.role != role) return {};
                    out = e.v4;
                    return {Path::eamt_static};
                }
        static const uint8_t wkp[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
        if (role == Role::destination && std::equal(wkp, wkp + 12, a.b.begin())) {
            out = static_cast<Ip4>(a.b[12]) << 24 | a.b[13] << 16 | a.b[14] << 8 | a.b[15];
            return {Path::pref64};
        }
        return {};
    }
    MapResult v4_to_v6(Ip4 a, Role, MapFlags flags, Ip6 &out) override {
        if (asymmetric && asymmetric->first == a && !flags.no_eamt) {
            out = asymmetric->second;
            return {Path::eamt_static};
        }
        if (!flags.no_eamt)
            for (const Eam &e : eamt)
                if (e.v4 == a) {
                    out = e.v6;
                    return {Path::eamt_static};
                }
        out = ip6("64:ff9b::");
        out.b[12] = static_cast<uint8_t>(a >> 24), out.b[13] = static_cast<uint8_t>(a >> 16);
        out.b[14] = static_cast<uint8_t>(a >> 8), out.b[15] = static_cast<uint8_t>(a);
        return {Path::pref64};
    }
    bool eamt_has_v4(Ip4 a) override {
        for (const Eam &e : eamt)
            if (e.v4 == a) return true;
        return false;
    }
};

// Hosts: S6 (IPv6 host, EAM 192.0.2.1, source role only), D6 (an IPv4 host behind pool6),
// B6 (second IPv6 host, EAM 192.0.2.2, for hairpinning), R6/U6 (no IPv4 form).
const Ip6 S6 = ip6("2001:db8:aaaa::");
const Ip4 S4 = ip4("192.0.2.1");
const Ip6 D6 = ip6("64:ff9b::c633:6407");
const Ip4 D4 = ip4("198.51.100.7");
const Ip6 B6 = ip6("2001:db8:bbbb::b");
const Ip4 B4 = ip4("192.0.2.2");
const Ip6 R6 = ip6("2001:db8:ffff::99");
const Ip6 U6 = ip6("2001:db8:ffff::1");
const Ip6 MC6 = ip6("ff0e::1");  // a multicast "source" the mapper would translate (EAM)
const Ip6 XLAT6 = ip6("64:ff9b::c000:8");  // 192.0.0.8 (RFC 7600) in pool6: the translator's errors

struct Fixture {
    Config cfg;
    TestMapper mapper;
    Context ctx{};
    Fixture() {
        cfg.mode = Mode::siit;
        cfg.pool6 = Prefix6::parse("64:ff9b::/96");
        cfg.eam_hairpin_mode = HairpinMode::intrinsic;
        mapper.eamt = {{S6, S4, false, Role::source}, {B6, B4, true, Role::source}, {MC6, ip4("192.0.2.99"), true, Role::source}};
        ctx.config = &cfg;
        ctx.mapper = &mapper;
        ctx.pool = eamclat::test::g_pool;
    }
};

struct Run {
    Result r{};
    std::vector<Bytes> pkts;
    std::vector<Side> sides;
};

// Translates `in` (as a chain of seg-byte segments when seg > 0), collects and frees the output
// and checks that no mbuf leaked.
Run run(Fixture &f, const Bytes &in, size_t seg = 0) {
    unsigned before = pool_in_use();
    Run res;
    {
        rte_mbuf *m = make_mbuf(in, seg);
        Output out;
        res.r = translate_6to4(f.ctx, m, out);
        for (unsigned i = 0; i < out.n; i++) {
            res.pkts.push_back(mbuf_bytes(out.pkts[i].m));
            res.sides.push_back(out.pkts[i].side);
            rte_pktmbuf_free(out.pkts[i].m);
        }
    }
    CHECK(pool_in_use() == before);
    return res;
}

// One translated IPv4 packet, equal to `expected` (IDs adopted as explained above).
void expect_v4(const Run &res, const Bytes &expected, Fate fate = Fate::translated_6to4) {
    CHECK(res.r.fate == fate);
    REQUIRE(res.pkts.size() == 1);
    CHECK(res.sides[0] == Side::v4);
    CHECK(res.pkts[0] == adopt_ids(expected, res.pkts[0]));
}
void expect_drop(const Run &res, Fate fate) {
    CHECK(res.r.fate == fate);
    CHECK(res.pkts.empty());
}

// The ICMPv6 error the translator sends about `offending` (RFC 4443 §2.4 (c): cut to 1280).
Bytes icmp6_error(const Ip6 &xlat, const Bytes &offending, uint8_t type, uint8_t code, uint32_t rest) {
    Ip6 to;
    std::copy(offending.begin() + 8, offending.begin() + 24, to.b.begin());
    Bytes quoted = head(offending, 1280 - 48);
    return ipv6(xlat, to, 58, 64, icmp6(xlat, to, type, code, rest, quoted));
}
void expect_icmp6_error(const Run &res, const Bytes &expected) {
    CHECK(res.r.fate == Fate::icmp6_error_sent);
    REQUIRE(res.pkts.size() == 1);
    CHECK(res.sides[0] == Side::v6);
    CHECK(res.pkts[0] == expected);
}

const Bytes payload20 = pattern(20);

// A plain UDP packet S6 -> D6 and its translation.
Bytes udp_in(uint8_t hlim = 64, uint8_t tc = 0, const Bytes &data = payload20) {
    return ipv6(S6, D6, 17, hlim, udp6(S6, D6, 5000, 53, data), tc, 0x12345);
}
Bytes udp_out(uint8_t ttl = 63, uint8_t tos = 0, const Bytes &data = payload20) {
    return ipv4(S4, D4, 17, ttl, udp4(S4, D4, 5000, 53, data), tos);
}

}  // namespace

// ---- §5.1 ------------------------------------------------------------------------------------

TEST_CASE("RFC 7915 §5.1: UDP header translation (TOS, length, TTL, protocol, addresses, checksum)", "[6to4]") {
    Fixture f;
    for (size_t seg : {0, 60, 41, 7}) {
        INFO("segment length " << seg);
        Run r = run(f, udp_in(64, 0xb8), seg);
        expect_v4(r, udp_out(63, 0xb8));
        CHECK(r.r.path == Path::pref64);
    }
}

TEST_CASE("RFC 7915 §5.1: TCP with DF=1 and ID 0 above 1260 bytes, DF=0 at 1260", "[6to4]") {
    Fixture f;
    // 20 + 20 + 1221 = 1261 bytes of IPv4: DF set; RFC 6864 §4.1 lets an atomic datagram's ID be 0.
    Bytes data = pattern(1221);
    Run r = run(f, ipv6(S6, D6, 6, 30, tcp6(S6, D6, data)), 60);
    expect_v4(r, ipv4(S4, D4, 6, 29, tcp4(S4, D4, data), 0, 0, 0x4000));
    // 1260 bytes: DF clear ("less than or equal to 1260 bytes, it is set to zero").
    data = pattern(1220);
    r = run(f, ipv6(S6, D6, 6, 30, tcp6(S6, D6, data)));
    expect_v4(r, ipv4(S4, D4, 6, 29, tcp4(S4, D4, data)));
    REQUIRE(r.pkts.size() == 1);
    CHECK(get16(r.pkts[0], 6) == 0);
}

TEST_CASE("RFC 7915 §5.1: Identification of small unfragmented packets is deterministic and varies", "[6to4]") {
    Fixture f;
    Run a = run(f, udp_in());
    Run b = run(f, udp_in());
    Run c = run(f, ipv6(S6, D6, 17, 64, udp6(S6, D6, 5001, 53, payload20)));
    REQUIRE(a.pkts.size() == 1);
    REQUIRE(b.pkts.size() == 1);
    REQUIRE(c.pkts.size() == 1);
    CHECK(get16(a.pkts[0], 4) == get16(b.pkts[0], 4));
    CHECK(get16(a.pkts[0], 4) != get16(c.pkts[0], 4));
    CHECK(get16(a.pkts[0], 6) == 0);  // DF=0, MF=0, offset 0
}

TEST_CASE("RFC 7915 §5.1: TOS set to a configured value when reset_tos", "[6to4]") {
    Fixture f;
    f.cfg.reset_tos = true;
    f.cfg.new_tos = 0x20;
    expect_v4(run(f, udp_in(64, 0xb8)), udp_out(63, 0x20));
}

TEST_CASE("RFC 7915 §5.1: bytes beyond the Payload Length are trimmed", "[6to4]") {
    Fixture f;
    Bytes in = udp_in();
    append(in, Bytes(6, 0xee));  // Ethernet padding
    expect_v4(run(f, in, 50), udp_out());
}

TEST_CASE("RFC 7915 §5.1: malformed IPv6 headers are dropped with their fate", "[6to4]") {
    Fixture f;
    Bytes in = udp_in();
    SECTION("version") {
        in[0] = 0x45;
        expect_drop(run(f, in), Fate::drop_bad_version);
    }
    SECTION("payload length beyond the packet") {
        put16(in, 4, static_cast<uint16_t>(in.size() - 40 + 1));
        expect_drop(run(f, in), Fate::drop_bad_length);
    }
    SECTION("jumbogram (payload length 0 with Hop-by-Hop)") {
        Bytes j = ipv6(S6, D6, 0, 64, cat({ext_options(17, 1), udp6(S6, D6, 1, 2, payload20)}));
        put16(j, 4, 0);
        expect_drop(run(f, j), Fate::drop_ext_header_chain);
    }
    SECTION("every truncation point, payload length unchanged") {
        for (size_t k = 0; k < in.size(); k++) {
            INFO("cut at " << k);
            expect_drop(run(f, head(in, k), k > 30 ? 30 : 0), k < 40 ? Fate::drop_truncated : Fate::drop_bad_length);
        }
    }
}

TEST_CASE("RFC 7915 §5.1: every truncation point with a consistent payload length", "[6to4]") {
    Fixture f;
    // IPv6 | Hop-by-Hop (8) | Destination Options (16) | UDP (8) | 12 bytes
    Bytes l4 = udp6(S6, D6, 7, 9, pattern(12));
    Bytes in = ipv6(S6, D6, 0, 64, cat({ext_options(60, 1), ext_options(17, 2), l4}));
    for (size_t k = 40; k <= in.size(); k++) {
        INFO("cut at " << k);
        Bytes cut = head(in, k);
        put16(cut, 4, static_cast<uint16_t>(k - 40));
        Run r = run(f, cut, 44);
        if (k < 40 + 24) {
            expect_drop(r, Fate::drop_ext_header_chain);
        } else if (k < 40 + 24 + 8) {
            expect_drop(r, Fate::drop_truncated);
        } else {
            CHECK(r.r.fate == Fate::translated_6to4);
            REQUIRE(r.pkts.size() == 1);
            CHECK(r.pkts[0].size() == 20 + (k - 64));
        }
    }
}

TEST_CASE("RFC 7915 §5.1: Hop-by-Hop, Destination Options and Routing (Segments Left 0) are skipped", "[6to4]") {
    Fixture f;
    Bytes l4 = udp6(S6, D6, 5000, 53, payload20);
    Bytes in = ipv6(S6, D6, 0, 64, cat({ext_options(60, 1), ext_options(43, 3), ext_routing(60, 0), ext_options(17, 1), l4}));
    for (size_t seg : {0, 60, 13}) {
        INFO("segment length " << seg);
        expect_v4(run(f, in, seg), udp_out());
    }
}

TEST_CASE("RFC 7915 §5.1: Routing header with Segments Left != 0 -> ICMPv6 Parameter Problem", "[6to4]") {
    Fixture f;
    Bytes in = ipv6(S6, D6, 0, 64, cat({ext_options(43, 1), ext_routing(17, 1), udp6(S6, D6, 5000, 53, payload20)}));
    // Pointer: 40 (IPv6) + 8 (Hop-by-Hop) + 3 = the Segments Left octet.
    expect_icmp6_error(run(f, in, 60), icmp6_error(XLAT6, in, 4, 0, 51));
    SECTION("not sent to a multicast source") {
        Bytes mc = ipv6(MC6, D6, 43, 64, cat({ext_routing(17, 1), udp6(MC6, D6, 5000, 53, payload20)}));
        expect_drop(run(f, mc), Fate::drop_routing_header);
    }
}

TEST_CASE("RFC 7915 §5.1: extension header chain past the end of the packet", "[6to4]") {
    Fixture f;
    Bytes in = ipv6(S6, D6, 0, 64, cat({ext_options(60, 1), ext_options(17, 4)}));  // 2nd claims 32, has 32
    in.resize(in.size() - 8);
    put16(in, 4, static_cast<uint16_t>(in.size() - 40));
    expect_drop(run(f, in), Fate::drop_ext_header_chain);
    Bytes fr = ipv6(S6, D6, 44, 64, Bytes{17, 0, 0, 0});  // half a Fragment header
    expect_drop(run(f, fr), Fate::drop_ext_header_chain);
}

TEST_CASE("RFC 7915 §5.1: other next headers become the IPv4 protocol; ICMPv4 in IPv6 is dropped", "[6to4]") {
    Fixture f;
    Bytes esp = pattern(36);  // ESP: opaque
    expect_v4(run(f, ipv6(S6, D6, 0, 10, cat({ext_options(50, 1), esp}))), ipv4(S4, D4, 50, 9, esp));
    Bytes nonext;  // No Next Header, empty payload
    expect_v4(run(f, ipv6(S6, D6, 59, 10, nonext)), ipv4(S4, D4, 59, 9, nonext));
    expect_drop(run(f, ipv6(S6, D6, 1, 10, icmp4(8, 0, 0, pattern(8)))), Fate::drop_unsupported_protocol);
}

TEST_CASE("RFC 7915 §5.1: hop limit exhausted -> ICMPv6 Time Exceeded", "[6to4]") {
    Fixture f;
    for (uint8_t hl : {1, 0}) {
        Bytes in = udp_in(hl);
        expect_icmp6_error(run(f, in, 60), icmp6_error(XLAT6, in, 3, 0, 0));
    }
    expect_v4(run(f, udp_in(2)), udp_out(1));
    SECTION("source from rfc6791v6_prefix") {
        f.cfg.rfc6791v6_prefix = Prefix6::parse("2001:db8:ffff:ffff::/64");
        Bytes in = udp_in(1);
        expect_icmp6_error(run(f, in), icmp6_error(ip6("2001:db8:ffff:ffff::1"), in, 3, 0, 0));
    }
    SECTION("no error about an ICMPv6 error") {
        Bytes inner = ipv6(D6, S6, 17, 50, udp6(D6, S6, 53, 5000, payload20));
        Bytes in = ipv6(R6, D6, 58, 1, icmp6(R6, D6, 1, 0, 0, inner));
        expect_drop(run(f, in), Fate::drop_ttl_expired_no_error);
    }
    SECTION("no error to a multicast or unspecified source, nor about a non-first fragment") {
        Bytes mc = ipv6(MC6, D6, 17, 1, udp6(MC6, D6, 1, 2, payload20));
        expect_drop(run(f, mc), Fate::drop_ttl_expired_no_error);
        f.mapper.eamt.push_back({Ip6{}, ip4("192.0.2.9"), true, Role::source});
        Bytes unspec = ipv6(Ip6{}, D6, 17, 1, udp6(Ip6{}, D6, 1, 2, payload20));
        expect_drop(run(f, unspec), Fate::drop_ttl_expired_no_error);
        Bytes frag = ipv6(S6, D6, 44, 1, cat({ext_fragment(17, 8, false, 7), pattern(16)}));
        expect_drop(run(f, frag), Fate::drop_ttl_expired_no_error);
    }
}

TEST_CASE("RFC 7915 §5.4: source address of the ICMPv6 errors the translator sends", "[6to4]") {
    Fixture f;
    Bytes in = udp_in(1);
    SECTION("clat mode: 192.0.0.8 in the CLAT prefix") {
        f.cfg.mode = Mode::clat;
        f.cfg.clat_prefix = Prefix6::parse("2001:db8:c1a7::/96");
        expect_icmp6_error(run(f, in), icmp6_error(ip6("2001:db8:c1a7::c000:8"), in, 3, 0, 0));
    }
    SECTION("no prefix at all: the destination the sender used") {
        f.cfg.pool6.reset();
        expect_icmp6_error(run(f, in), icmp6_error(D6, in, 3, 0, 0));
    }
    SECTION("a /128 rfc6791v6_prefix is used as is") {
        f.cfg.rfc6791v6_prefix = Prefix6::parse("2001:db8::64");
        expect_icmp6_error(run(f, in), icmp6_error(ip6("2001:db8::64"), in, 3, 0, 0));
    }
    SECTION("no headroom: the headers get a segment of their own") {
        unsigned before = pool_in_use();
        rte_mbuf *m = rte_pktmbuf_alloc(eamclat::test::g_pool);
        REQUIRE(m);
        m->data_off = 0;
        uint8_t *p = reinterpret_cast<uint8_t *>(rte_pktmbuf_append(m, static_cast<uint16_t>(in.size())));
        REQUIRE(p);
        memcpy(p, in.data(), in.size());
        Output out;
        Result r = translate_6to4(f.ctx, m, out);
        CHECK(r.fate == Fate::icmp6_error_sent);
        REQUIRE(out.n == 1);
        CHECK(out.pkts[0].m->nb_segs == 2);
        CHECK(mbuf_bytes(out.pkts[0].m) == icmp6_error(XLAT6, in, 3, 0, 0));
        rte_pktmbuf_free(out.pkts[0].m);
        CHECK(pool_in_use() == before);
    }
}

TEST_CASE("Translator contract: a full Output drops the packet without leaking it", "[6to4]") {
    Fixture f;
    unsigned before = pool_in_use();
    for (const Bytes &in : {udp_in(), udp_in(1)}) {
        Output out;
        out.n = Output::max;  // slots taken by earlier packets of the caller's batch
        Result r = translate_6to4(f.ctx, make_mbuf(in), out);
        CHECK(r.fate == Fate::drop_output_full);
        CHECK(out.n == Output::max);
    }
    CHECK(pool_in_use() == before);
}

TEST_CASE("RFC 7915 §5.1: untranslatable source or destination", "[6to4]") {
    Fixture f;
    expect_drop(run(f, ipv6(U6, D6, 17, 64, udp6(U6, D6, 1, 2, payload20))), Fate::drop_src_untranslatable);
    expect_drop(run(f, ipv6(S6, U6, 17, 64, udp6(S6, U6, 1, 2, payload20))), Fate::drop_dst_untranslatable);
    // Roles: S6 translates only as a source, D6 only as a destination.
    expect_drop(run(f, ipv6(D6, S6, 17, 64, udp6(D6, S6, 1, 2, payload20))), Fate::drop_dst_untranslatable);
}

TEST_CASE("RFC 7915 §5.1: IPv6 UDP with a zero checksum is dropped", "[6to4]") {
    Fixture f;
    Bytes in = udp_in();
    put16(in, 46, 0);
    expect_drop(run(f, in), Fate::drop_udp_checksum_zero_ipv6);
}

TEST_CASE("RFC 7915 §5.1: UDP checksum that becomes zero is sent as 0xffff", "[6to4]") {
    Fixture f;
    // Choose two data bytes so that the IPv4 checksum computes to 0 (i.e. the sum is 0xffff).
    Bytes data = pattern(20);
    data[0] = data[1] = 0;
    Bytes seg = udp4(S4, D4, 5000, 53, data);
    uint16_t c = get16(seg, 6);  // with data[0..1] = 0
    data[0] = static_cast<uint8_t>(c >> 8);
    data[1] = static_cast<uint8_t>(c);
    Bytes out = udp4(S4, D4, 5000, 53, data);
    REQUIRE(get16(out, 6) == 0xffff);  // the builder maps 0 to 0xffff as RFC 768 says
    expect_v4(run(f, udp_in(64, 0, data)), udp_out(63, 0, data));
}

TEST_CASE("RFC 7915 §5.1: Packet Too Big for IPv6 packets that do not fit the IPv4 MTU", "[6to4]") {
    Fixture f;
    f.cfg.ipv4_mtu = 1400;
    Bytes data = pattern(1500 - 48);
    Bytes in = ipv6(S6, D6, 17, 64, udp6(S6, D6, 5000, 53, data));  // 1500 bytes -> 1480 IPv4
    expect_icmp6_error(run(f, in, 60), icmp6_error(XLAT6, in, 2, 0, 1420));
    // 1420 bytes fit exactly.
    data = pattern(1420 - 48);
    in = ipv6(S6, D6, 17, 64, udp6(S6, D6, 5000, 53, data));
    expect_v4(run(f, in), ipv4(S4, D4, 17, 63, udp4(S4, D4, 5000, 53, data), 0, 0, 0x4000));
    SECTION("MTU never below 1280") {
        f.cfg.ipv4_mtu = 1000;
        Bytes big = ipv6(S6, D6, 17, 64, udp6(S6, D6, 5000, 53, pattern(1300)));
        expect_icmp6_error(run(f, big), icmp6_error(XLAT6, big, 2, 0, 1280));
    }
    SECTION("a first fragment too big gets one too; a multicast source gets none") {
        Bytes fr = ipv6(S6, D6, 44, 64, cat({ext_fragment(17, 0, true, 0x01020304), pattern(1456)}));
        expect_icmp6_error(run(f, fr), icmp6_error(XLAT6, fr, 2, 0, 1420));
        Bytes big = ipv6(MC6, D6, 17, 64, udp6(MC6, D6, 5000, 53, pattern(1500)));
        expect_drop(run(f, big), Fate::drop_fragment_too_big);
    }
}

TEST_CASE("RFC 7915 §5.1.1: IPv6 packets of at most 1280 bytes are fragmented in IPv4", "[6to4]") {
    Fixture f;
    f.cfg.ipv4_mtu = 576;
    Bytes data = pattern(1280 - 48);
    Bytes in = ipv6(S6, D6, 17, 64, udp6(S6, D6, 5000, 53, data));
    Run r = run(f, in, 100);
    CHECK(r.r.fate == Fate::translated_6to4);
    REQUIRE(r.pkts.size() == 3);
    // The whole translated packet (DF=0 at 1260 bytes), then cut at 552-byte boundaries.
    Bytes whole = ipv4(S4, D4, 17, 63, udp4(S4, D4, 5000, 53, data));
    uint16_t id = get16(r.pkts[0], 4);
    Bytes payload(whole.begin() + 20, whole.end());
    size_t offs[] = {0, 552, 1104};
    for (int i = 0; i < 3; i++) {
        size_t len = std::min<size_t>(552, payload.size() - offs[i]);
        Bytes part(payload.begin() + static_cast<long>(offs[i]), payload.begin() + static_cast<long>(offs[i] + len));
        uint16_t fo = static_cast<uint16_t>((i < 2 ? 0x2000 : 0) | offs[i] / 8);
        CHECK(r.sides[i] == Side::v4);
        CHECK(r.pkts[i] == ipv4(S4, D4, 17, 63, part, 0, id, fo));
    }
}

TEST_CASE("RFC 7915 §5.1.1: fragments keep ID (low 16 bits), MF, offset; DF=0", "[6to4]") {
    Fixture f;
    SECTION("first fragment: transport checksum updated") {
        // The UDP checksum covers the whole datagram; this fragment carries its first 32 bytes.
        Bytes full = udp6(S6, D6, 5000, 53, pattern(100));
        Bytes full4 = udp4(S4, D4, 5000, 53, pattern(100));
        Bytes in = ipv6(S6, D6, 0, 64, cat({ext_options(44, 1), ext_fragment(17, 0, true, 0xabcd1234), head(full, 32)}));
        expect_v4(run(f, in, 60), ipv4(S4, D4, 17, 63, head(full4, 32), 0, 0x1234, 0x2000));
    }
    SECTION("middle fragment: payload untouched") {
        Bytes data = pattern(64, 9);
        Bytes in = ipv6(S6, D6, 44, 64, cat({ext_fragment(6, 1208, true, 0x00010002), data}));
        expect_v4(run(f, in), ipv4(S4, D4, 6, 63, data, 0, 0x0002, 0x2000 | 151));
    }
    SECTION("last fragment") {
        Bytes data = pattern(13, 3);
        Bytes in = ipv6(S6, D6, 44, 64, cat({ext_fragment(17, 2048, false, 0xffffeeee), data}));
        expect_v4(run(f, in), ipv4(S4, D4, 17, 63, data, 0, 0xeeee, 256));
    }
    SECTION("atomic fragment (RFC 6946, RFC 8021): ID copied, DF=0, MF=0, offset 0") {
        Bytes in = ipv6(S6, D6, 44, 64, cat({ext_fragment(17, 0, false, 0x99887766), udp6(S6, D6, 5000, 53, payload20)}));
        expect_v4(run(f, in), ipv4(S4, D4, 17, 63, udp4(S4, D4, 5000, 53, payload20), 0, 0x7766, 0));
    }
    SECTION("non-first fragment larger than the IPv4 MTU is fragmented further") {
        f.cfg.ipv4_mtu = 1000;
        Bytes data = pattern(1400);
        Bytes in = ipv6(S6, D6, 44, 64, cat({ext_fragment(17, 800, true, 0x55), data}));
        Run r = run(f, in);
        REQUIRE(r.pkts.size() == 2);
        CHECK(r.pkts[0] == ipv4(S4, D4, 17, 63, head(data, 976), 0, 0x55, 0x2000 | 100));
        CHECK(r.pkts[1] == ipv4(S4, D4, 17, 63, Bytes(data.begin() + 976, data.end()), 0, 0x55, 0x2000 | 222));
    }
    SECTION("jumbo MTU: fragments no larger than one mbuf segment") {
        f.cfg.ipv4_mtu = 9000;
        Bytes data = pattern(9100);
        Bytes in = ipv6(S6, D6, 44, 64, cat({ext_fragment(17, 8000, false, 0x77), data}));
        Run r = run(f, in, 2000);
        uint32_t piece = (RTE_MBUF_DEFAULT_DATAROOM - 20) & ~7u;  // the test pool's segments
        REQUIRE(r.pkts.size() == (9100 + piece - 1) / piece);
        for (size_t i = 0; i < r.pkts.size(); i++) {
            size_t off = i * piece;
            size_t len = std::min<size_t>(piece, data.size() - off);
            Bytes part(data.begin() + static_cast<long>(off), data.begin() + static_cast<long>(off + len));
            bool more = i + 1 < r.pkts.size();
            CHECK(r.pkts[i] == ipv4(S4, D4, 17, 63, part, 0, 0x77, static_cast<uint16_t>((more ? 0x2000 : 0) | (8000 + off) / 8)));
        }
    }
    SECTION("nested Fragment header and extension headers after it are dropped") {
        Bytes nested = ipv6(S6, D6, 44, 64, cat({ext_fragment(44, 0, true, 1), ext_fragment(17, 0, true, 1), pattern(16)}));
        expect_drop(run(f, nested), Fate::drop_unsupported_protocol);
        Bytes dest = ipv6(S6, D6, 44, 64, cat({ext_fragment(60, 0, true, 1), ext_options(17, 1), pattern(16)}));
        expect_drop(run(f, dest), Fate::drop_unsupported_protocol);
        Bytes ah = ipv6(S6, D6, 44, 64, cat({ext_fragment(51, 0, true, 1), pattern(24)}));
        expect_drop(run(f, ah), Fate::drop_unsupported_protocol);
    }
    SECTION("fragmented ICMPv6 cannot be translated") {
        Bytes in = ipv6(S6, D6, 44, 64, cat({ext_fragment(58, 0, true, 1), icmp6(S6, D6, 128, 0, 0x10001, pattern(16))}));
        expect_drop(run(f, in), Fate::drop_icmp_fragmented);
    }
}

// ---- §5.2 ------------------------------------------------------------------------------------

TEST_CASE("RFC 7915 §5.2: Echo Request/Reply -> types 8/0, checksum without pseudo-header", "[6to4]") {
    Fixture f;
    for (size_t seg : {0, 61, 45}) {
        INFO("segment length " << seg);
        expect_v4(run(f, ipv6(S6, D6, 58, 64, icmp6(S6, D6, 128, 0, 0, {}), 0)), ipv4(S4, D4, 1, 63, icmp4(8, 0, 0, {})));
        Bytes in = ipv6(S6, D6, 58, 64, icmp6(S6, D6, 128, 0, 0x12340007, pattern(41)));
        expect_v4(run(f, in, seg), ipv4(S4, D4, 1, 63, icmp4(8, 0, 0x12340007, pattern(41))));
        in = ipv6(S6, D6, 58, 64, icmp6(S6, D6, 129, 0, 0x12340007, pattern(41)));
        expect_v4(run(f, in, seg), ipv4(S4, D4, 1, 63, icmp4(0, 0, 0x12340007, pattern(41))));
    }
    SECTION("atomic fragment of an echo is translated") {
        Bytes in = ipv6(S6, D6, 44, 64, cat({ext_fragment(58, 0, false, 0x42), icmp6(S6, D6, 128, 0, 5, pattern(8))}));
        expect_v4(run(f, in), ipv4(S4, D4, 1, 63, icmp4(8, 0, 5, pattern(8)), 0, 0x42, 0));
    }
    SECTION("hop limit 1 on an echo -> Time Exceeded") {
        Bytes in = ipv6(S6, D6, 58, 1, icmp6(S6, D6, 128, 0, 5, pattern(8)));
        expect_icmp6_error(run(f, in), icmp6_error(XLAT6, in, 3, 0, 0));
    }
    SECTION("bad ICMPv6 checksum and truncated header") {
        Bytes in = ipv6(S6, D6, 58, 64, icmp6(S6, D6, 128, 0, 5, pattern(8)));
        in.back() ^= 1;
        expect_drop(run(f, in), Fate::drop_icmp6_bad_checksum);
        Bytes shortmsg = ipv6(S6, D6, 58, 64, head(icmp6(S6, D6, 128, 0, 5, {}), 7));
        expect_drop(run(f, shortmsg), Fate::drop_truncated);
    }
}

TEST_CASE("RFC 7915 §5.2: MLD, Neighbor Discovery and unknown informational messages are dropped", "[6to4]") {
    Fixture f;
    for (int type : {130, 131, 132, 133, 134, 135, 136, 137, 143, 200, 255}) {
        INFO("type " << type);
        Bytes in = ipv6(S6, D6, 58, 64, icmp6(S6, D6, static_cast<uint8_t>(type), 0, 0, pattern(16)));
        expect_drop(run(f, in), Fate::drop_icmp_untranslatable);
    }
}

namespace {

// The packet in error of the ICMPv6 errors below: a UDP packet D6 -> S6 (it went 4 -> 6 through
// the translator) and its IPv4 form.
Bytes inner_udp6(const Bytes &data = payload20, uint8_t hlim = 50) {
    return ipv6(D6, S6, 17, hlim, udp6(D6, S6, 53, 5000, data));
}
Bytes inner_udp4(const Bytes &data = payload20, uint8_t ttl = 50) {
    return ipv4(D4, S4, 17, ttl, udp4(D4, S4, 53, 5000, data));
}
// An ICMPv6 error from `from` about `inner`, and the expected ICMPv4 translation from `from4`.
Bytes err6(const Ip6 &from, uint8_t type, uint8_t code, uint32_t rest, const Bytes &inner, uint8_t hlim = 64) {
    return ipv6(from, D6, 58, hlim, icmp6(from, D6, type, code, rest, inner));
}
Bytes err4(Ip4 from, uint8_t type, uint8_t code, uint32_t rest, const Bytes &inner, uint8_t ttl = 63) {
    return ipv4(from, D4, 1, ttl, icmp4(type, code, rest, inner));
}

}  // namespace

TEST_CASE("RFC 7915 §5.2: Destination Unreachable code mapping", "[6to4]") {
    Fixture f;
    const std::map<int, int> codes = {{0, 1}, {1, 10}, {2, 1}, {3, 1}, {4, 3}};
    for (int c = 0; c <= 8; c++) {
        INFO("code " << c);
        Run r = run(f, err6(S6, 1, static_cast<uint8_t>(c), 0, inner_udp6()), 60);
        auto it = codes.find(c);
        if (it == codes.end()) {
            expect_drop(r, Fate::drop_icmp_untranslatable);
        } else {
            expect_v4(r, err4(S4, 3, static_cast<uint8_t>(it->second), 0, inner_udp4()));
        }
    }
}

TEST_CASE("RFC 7915 §5.2: Packet Too Big -> Fragmentation Needed with the MTU adjusted", "[6to4]") {
    Fixture f;
    SECTION("MTU - 20") {
        expect_v4(run(f, err6(S6, 2, 0, 1400, inner_udp6())), err4(S4, 3, 4, 1380, inner_udp4()));
    }
    SECTION("bounded by the IPv4 MTU") {
        f.cfg.ipv4_mtu = 1300;
        expect_v4(run(f, err6(S6, 2, 0, 1400, inner_udp6())), err4(S4, 3, 4, 1300, inner_udp4()));
    }
    SECTION("bounded by the IPv6 MTU - 20") {
        f.cfg.ipv6_mtu = 1350;
        expect_v4(run(f, err6(S6, 2, 0, 1400, inner_udp6())), err4(S4, 3, 4, 1330, inner_udp4()));
    }
    SECTION("packet in error with a Fragment header: MTU - 28") {
        Bytes data = payload20;
        Bytes in6 = ipv6(D6, S6, 44, 50, cat({ext_fragment(17, 0, true, 0x4321), udp6(D6, S6, 53, 5000, data)}));
        Bytes in4 = ipv4(D4, S4, 17, 50, udp4(D4, S4, 53, 5000, data), 0, 0x4321, 0x2000);
        expect_v4(run(f, err6(S6, 2, 0, 1400, in6)), err4(S4, 3, 4, 1372, in4));
    }
    SECTION("MTU field larger than 16 bits and smaller than the header difference") {
        expect_v4(run(f, err6(S6, 2, 0, 0x10000, inner_udp6())), err4(S4, 3, 4, 1480, inner_udp4()));
        expect_v4(run(f, err6(S6, 2, 0, 10, inner_udp6())), err4(S4, 3, 4, 0, inner_udp4()));
    }
}

TEST_CASE("RFC 7915 §5.2: Time Exceeded -> type 11, code unchanged", "[6to4]") {
    Fixture f;
    for (uint8_t c : {0, 1}) expect_v4(run(f, err6(S6, 3, c, 0, inner_udp6())), err4(S4, 11, c, 0, inner_udp4()));
}

TEST_CASE("RFC 7915 §5.2: Parameter Problem codes and the Figure 6 pointer mapping", "[6to4]") {
    Fixture f;
    std::map<int, int> fig6 = {{0, 0}, {1, 1}, {4, 2}, {5, 2}, {6, 9}, {7, 8}};
    for (int p = 8; p <= 23; p++) fig6[p] = 12;
    for (int p = 24; p <= 39; p++) fig6[p] = 16;
    for (int p = 0; p <= 45; p++) {
        INFO("pointer " << p);
        Run r = run(f, err6(S6, 4, 0, static_cast<uint32_t>(p), inner_udp6()));
        auto it = fig6.find(p);
        if (it == fig6.end()) {
            expect_drop(r, Fate::drop_icmp_untranslatable);  // 2, 3 ("n/a") and values not listed
        } else {
            expect_v4(r, err4(S4, 12, 0, static_cast<uint32_t>(it->second) << 24, inner_udp4()));
        }
    }
    expect_drop(run(f, err6(S6, 4, 0, 0x10000, inner_udp6())), Fate::drop_icmp_untranslatable);
    // Code 1 -> Protocol Unreachable; code 2 and others dropped.
    expect_v4(run(f, err6(S6, 4, 1, 40, inner_udp6())), err4(S4, 3, 2, 0, inner_udp4()));
    expect_drop(run(f, err6(S6, 4, 2, 40, inner_udp6())), Fate::drop_icmp_untranslatable);
    expect_drop(run(f, err6(S6, 4, 3, 40, inner_udp6())), Fate::drop_icmp_untranslatable);
}

TEST_CASE("RFC 7915 §5.2: unknown ICMPv6 error types are dropped", "[6to4]") {
    Fixture f;
    for (uint8_t t : {0, 5, 100, 127}) expect_drop(run(f, err6(S6, t, 0, 0, inner_udp6())), Fate::drop_icmp_untranslatable);
}

// ---- §5.3 ------------------------------------------------------------------------------------

TEST_CASE("RFC 7915 §5.3: inner packet translated with swapped roles, hop limit kept", "[6to4]") {
    Fixture f;
    // Inner TCP (checksum updated), chained input.
    Bytes data = pattern(30);
    Bytes in6 = ipv6(D6, S6, 6, 3, tcp(443, 40000, data, pseudo6(D6, S6, 6, 50)), 0x28);
    Bytes in4 = ipv4(D4, S4, 6, 3, tcp(443, 40000, data, pseudo4(D4, S4, 6, 50)), 0x28);
    expect_v4(run(f, err6(S6, 1, 4, 0, in6, 64), 60), err4(S4, 3, 3, 0, in4));
    // The inner roles are swapped: the mapper refuses D6 as a source and S6 as a destination, so
    // looking them up with the outer roles would fail.
}

TEST_CASE("RFC 7915 §5.3: inner echo, inner extension headers and inner fragments", "[6to4]") {
    Fixture f;
    SECTION("inner echo request: type 8 and checksum without pseudo-header") {
        Bytes in6 = ipv6(D6, S6, 58, 50, icmp6(D6, S6, 128, 0, 0x00010002, pattern(24)));
        Bytes in4 = ipv4(D4, S4, 1, 50, icmp4(8, 0, 0x00010002, pattern(24)));
        expect_v4(run(f, err6(S6, 1, 0, 0, in6)), err4(S4, 3, 1, 0, in4));
    }
    SECTION("inner extension headers removed, lengths adjusted") {
        Bytes l4 = udp6(D6, S6, 53, 5000, payload20);
        Bytes in6 = ipv6(D6, S6, 0, 50, cat({ext_options(43, 1), ext_routing(60, 1), ext_options(17, 2), l4}));
        expect_v4(run(f, err6(S6, 1, 0, 0, in6)), err4(S4, 3, 1, 0, inner_udp4()));
    }
    SECTION("inner non-first fragment") {
        Bytes data = pattern(40);
        Bytes in6 = ipv6(D6, S6, 44, 50, cat({ext_fragment(17, 64, false, 0x10002), data}));
        Bytes in4 = ipv4(D4, S4, 17, 50, data, 0, 0x0002, 8);
        expect_v4(run(f, err6(S6, 3, 1, 0, in6)), err4(S4, 11, 1, 0, in4));
    }
    SECTION("inner packet truncated inside the transport header: left as is") {
        Bytes in6 = head(inner_udp6(), 40 + 5);
        Bytes in4 = head(inner_udp4(), 20 + 5);
        expect_v4(run(f, err6(S6, 1, 0, 0, in6)), err4(S4, 3, 1, 0, in4));
    }
}

TEST_CASE("RFC 7915 §5.3: ICMPv4 error cut to 576 bytes", "[6to4]") {
    Fixture f;
    Bytes data = pattern(1232 - 48);
    Bytes in6 = ipv6(D6, S6, 17, 50, udp6(D6, S6, 53, 5000, data));  // 1232 bytes: a full ICMPv6 error
    // The inner IPv4 packet is 1212 bytes (<= 1260): DF=0 with a generated ID.
    Bytes in4 = ipv4(D4, S4, 17, 50, udp4(D4, S4, 53, 5000, data));
    Bytes expected = err4(S4, 3, 4, 1380, head(in4, 576 - 28));
    Run r = run(f, err6(S6, 2, 0, 1400, in6), 60);
    REQUIRE(r.pkts.size() == 1);
    CHECK(r.pkts[0].size() == 576);
    expect_v4(r, expected);
}

TEST_CASE("RFC 7915 §5.2 ICMP Error Payload / RFC 4884: length attribute and extensions", "[6to4]") {
    Fixture f;
    Bytes ext = {0x20, 0x00, 0x00, 0x00, 0x00, 0x08, 0x01, 0x01, 0xc0, 0x00, 0x02, 0x01};  // version 2 + 1 object
    put16(ext, 2, cksum(sum16(ext.data(), ext.size())));
    SECTION("short original datagram padded to 128 octets") {
        Bytes in6 = inner_udp6(pattern(32));  // 80 bytes
        Bytes orig6 = in6;
        orig6.resize(128, 0);  // padded to 16 64-bit words
        Bytes body = cat({orig6, ext});
        Bytes in = ipv6(S6, D6, 58, 64, icmp6(S6, D6, 3, 0, 16u << 24, body));
        Bytes in4 = inner_udp4(pattern(32));  // 60 bytes; the IPv6 padding follows (48 bytes)
        Bytes orig4 = in4;
        orig4.resize(128, 0);  // 108 translated bytes padded to 128: 32 words
        expect_v4(run(f, in, 60), err4(S4, 11, 0, 32u << 16, cat({orig4, ext})));
    }
    SECTION("long original datagram cut so that the extensions still fit in 576 bytes") {
        Bytes in6 = inner_udp6(pattern(1024 - 48));  // 1024 bytes = 128 words
        Bytes in = ipv6(S6, D6, 58, 64, icmp6(S6, D6, 1, 4, 128u << 24, cat({in6, ext})));
        Bytes in4 = inner_udp4(pattern(1024 - 48));
        uint32_t keep = (548 - 12) & ~3u;  // 536
        Run r = run(f, in);
        expect_v4(r, err4(S4, 3, 3, (keep / 4) << 16, cat({head(in4, keep), ext})));
        REQUIRE(r.pkts.size() == 1);
        CHECK(r.pkts[0].size() == 576);
    }
    SECTION("extensions too long to keep 128 octets beside them are left out") {
        Bytes big(440, 0);
        big[0] = 0x20;
        Bytes in6 = inner_udp6(pattern(32));
        Bytes orig6 = in6;
        orig6.resize(128, 0);
        Bytes in = ipv6(S6, D6, 58, 64, icmp6(S6, D6, 3, 0, 16u << 24, cat({orig6, big})));
        Bytes orig4 = inner_udp4(pattern(32));
        orig4.resize(108, 0);
        expect_v4(run(f, in), err4(S4, 11, 0, 0, orig4));
    }
    SECTION("length attribute beyond the message") {
        Bytes in = ipv6(S6, D6, 58, 64, icmp6(S6, D6, 3, 0, 20u << 24, inner_udp6()));
        expect_drop(run(f, in), Fate::drop_icmp_inner_invalid);
    }
}

TEST_CASE("RFC 7915 §5.1 / RFC 6791: untranslatable ICMPv6 error source -> pool address", "[6to4]") {
    Fixture f;
    SECTION("no pool: 192.0.0.8 (RFC 7600)") {
        expect_v4(run(f, err6(R6, 3, 0, 0, inner_udp6())), err4(ip4("192.0.0.8"), 11, 0, 0, inner_udp4()));
    }
    SECTION("single-address pool") {
        f.cfg.rfc6791v4_prefix = Prefix4::parse("198.51.100.1/32");
        expect_v4(run(f, err6(R6, 3, 0, 0, inner_udp6())), err4(ip4("198.51.100.1"), 11, 0, 0, inner_udp4()));
    }
    SECTION("pool: deterministic per source, inside the pool, not network/broadcast") {
        f.cfg.rfc6791v4_prefix = Prefix4::parse("203.0.113.0/24");
        Run a = run(f, err6(R6, 3, 0, 0, inner_udp6()));
        Run b = run(f, err6(R6, 3, 0, 0, inner_udp6()));
        REQUIRE(a.pkts.size() == 1);
        REQUIRE(b.pkts.size() == 1);
        Bytes src(a.pkts[0].begin() + 12, a.pkts[0].begin() + 16);
        CHECK(src == Bytes(b.pkts[0].begin() + 12, b.pkts[0].begin() + 16));
        CHECK(src[0] == 203);
        CHECK(src[1] == 0);
        CHECK(src[2] == 113);
        CHECK(src[3] != 0);
        CHECK(src[3] != 255);
        Ip4 chosen = static_cast<Ip4>(src[0]) << 24 | src[1] << 16 | src[2] << 8 | src[3];
        expect_v4(a, err4(chosen, 11, 0, 0, inner_udp4()));
        // Different routers spread over the pool.
        std::set<uint8_t> seen;
        for (int i = 0; i < 16; i++) {
            Ip6 r6 = R6;
            r6.b[15] = static_cast<uint8_t>(i);
            Run x = run(f, err6(r6, 3, 0, 0, inner_udp6()));
            REQUIRE(x.pkts.size() == 1);
            seen.insert(x.pkts[0][15]);
        }
        CHECK(seen.size() > 8);
    }
    SECTION("an untranslatable non-error source is still dropped") {
        Bytes in = ipv6(R6, D6, 58, 64, icmp6(R6, D6, 129, 0, 1, pattern(8)));
        expect_drop(run(f, in), Fate::drop_src_untranslatable);
    }
}

TEST_CASE("RFC 7915 §5.3: malformed or untranslatable inner packets", "[6to4]") {
    Fixture f;
    SECTION("every truncation point of the inner IPv6 header and extension headers") {
        Bytes l4 = udp6(D6, S6, 53, 5000, payload20);
        Bytes in6 = ipv6(D6, S6, 0, 50, cat({ext_options(17, 2), l4}));
        for (size_t k = 0; k < 40 + 16; k++) {
            INFO("inner cut at " << k);
            expect_drop(run(f, err6(S6, 1, 0, 0, head(in6, k))), Fate::drop_icmp_inner_invalid);
        }
    }
    SECTION("inner version, inner ICMPv4, untranslatable inner addresses") {
        Bytes v = inner_udp6();
        v[0] = 0x40;
        expect_drop(run(f, err6(S6, 1, 0, 0, v)), Fate::drop_icmp_inner_invalid);
        Bytes icmp4_inner = ipv6(D6, S6, 1, 50, icmp4(8, 0, 0, pattern(8)));
        expect_drop(run(f, err6(S6, 1, 0, 0, icmp4_inner)), Fate::drop_icmp_inner_invalid);
        Bytes u = ipv6(U6, S6, 17, 50, udp6(U6, S6, 1, 2, payload20));
        expect_drop(run(f, err6(S6, 1, 0, 0, u)), Fate::drop_icmp_inner_invalid);
        // Roles not swapped would make this one translatable: S6 as inner source must fail.
        Bytes swapped = ipv6(S6, D6, 17, 50, udp6(S6, D6, 1, 2, payload20));
        expect_drop(run(f, err6(S6, 1, 0, 0, swapped)), Fate::drop_icmp_inner_invalid);
    }
    SECTION("ICMP error inside an ICMP error") {
        Bytes inner_err = ipv6(D6, S6, 58, 50, icmp6(D6, S6, 1, 0, 0, head(inner_udp6(), 48)));
        expect_drop(run(f, err6(S6, 1, 0, 0, inner_err)), Fate::drop_icmp_error_about_icmp_error);
        Bytes inner_nd = ipv6(D6, S6, 58, 50, icmp6(D6, S6, 135, 0, 0, pattern(16)));
        expect_drop(run(f, err6(S6, 1, 0, 0, inner_nd)), Fate::drop_icmp_untranslatable);
    }
    SECTION("untranslatable outer destination") {
        Bytes in = ipv6(S6, U6, 58, 64, icmp6(S6, U6, 1, 0, 0, inner_udp6()));
        expect_drop(run(f, in), Fate::drop_dst_untranslatable);
    }
    SECTION("outer Routing header with Segments Left: no error about an error") {
        Bytes body = icmp6(S6, D6, 1, 0, 0, inner_udp6());
        Bytes in = ipv6(S6, D6, 43, 64, cat({ext_routing(58, 1), body}));
        expect_drop(run(f, in), Fate::drop_routing_header);
    }
}

// ---- RFC 7757 §4.2.2 -------------------------------------------------------------------------

TEST_CASE("RFC 7757 §4.2.2: intrinsic hairpinning, condition set A (Figure 8)", "[6to4][hairpin]") {
    Fixture f;
    const Ip6 to = ip6("64:ff9b::c000:202");  // 192.0.2.2, which is B6's EAM
    const Ip6 from_final = ip6("64:ff9b::c000:201");
    Bytes in = ipv6(S6, to, 17, 64, udp6(S6, to, 5000, 53, payload20), 0x10);
    Run r = run(f, in, 60);
    CHECK(r.r.fate == Fate::hairpinned);
    REQUIRE(r.pkts.size() == 1);
    CHECK(r.sides[0] == Side::v6);
    // Hop limit decremented once (the second pass does not, RFC 7757 §4.2.2).
    CHECK(r.pkts[0] == ipv6(from_final, B6, 17, 63, udp6(from_final, B6, 5000, 53, payload20), 0x10));
    SECTION("not in simple or off mode") {
        f.cfg.eam_hairpin_mode = HairpinMode::off;
        Run o = run(f, in);
        expect_v4(o, ipv4(S4, B4, 17, 63, udp4(S4, B4, 5000, 53, payload20), 0x10));
    }
}

TEST_CASE("RFC 7757 §4.2.2: intrinsic hairpinning, condition set B (Figure 9)", "[6to4][hairpin]") {
    Fixture f;
    const Ip6 b_pref = ip6("64:ff9b::c000:201");  // the hairpinned form of S6
    const Ip6 d_pref = ip6("64:ff9b::c000:202");  // the address S6 used for B6
    f.cfg.rfc6791v4_prefix = Prefix4::parse("198.51.100.1/32");
    // Router 2001:db8::1234 reports the hairpinned packet (64:ff9b::192.0.2.1 -> B6).
    const Ip6 router = ip6("2001:db8::1234");
    Bytes inner = ipv6(b_pref, B6, 17, 50, udp6(b_pref, B6, 5000, 53, payload20));
    Bytes in = ipv6(router, b_pref, 58, 64, icmp6(router, b_pref, 1, 0, 0, inner));
    Run r = run(f, in);
    CHECK(r.r.fate == Fate::hairpinned);
    REQUIRE(r.pkts.size() == 1);
    CHECK(r.sides[0] == Side::v6);
    // Final: outer 64:ff9b::198.51.100.1 -> S6, inner S6 -> 64:ff9b::192.0.2.2.
    const Ip6 pool_src = ip6("64:ff9b::c633:6401");
    Bytes inner_final = ipv6(S6, d_pref, 17, 50, udp6(S6, d_pref, 5000, 53, payload20));
    Bytes expected = ipv6(pool_src, S6, 58, 63, icmp6(pool_src, S6, 1, 0, 0, inner_final));
    CHECK(r.pkts[0] == expected);
}

TEST_CASE("RFC 7757 §4.2.2: a second pass that would hairpin again is dropped", "[6to4][hairpin]") {
    Fixture f;
    // 192.0.2.2 maps to 64:ff9b::c000:203, which is pool6 for 192.0.2.3, also an EAM: the
    // hairpinned packet would come straight back.
    f.mapper.eamt.push_back({ip6("2001:db8:cccc::c"), ip4("192.0.2.3"), true, Role::source});
    f.mapper.asymmetric = std::make_pair(B4, ip6("64:ff9b::c000:203"));
    const Ip6 to = ip6("64:ff9b::c000:202");
    expect_drop(run(f, ipv6(S6, to, 17, 64, udp6(S6, to, 5000, 53, payload20))), Fate::drop_hairpin_loop);
}
