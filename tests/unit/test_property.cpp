// Property tests of the translator: thousands of random valid packets, translated 4->6->4 and
// 6->4->6 (siit and clat), every emitted packet checked by the independent pktcheck, the round trip
// compared with the original field by field, the same inputs run as chained mbufs and compared
// byte for byte, and no mbuf leaked.
//
// Seed: EAMCLAT_PROP_SEED (default below, printed), count: EAMCLAT_PROP_N (per direction and mode).
// EAMCLAT_PROP_CORPUS=dir writes every input packet to dir/4to6/ and dir/6to4/ (fuzz seeds).
//
// What a round trip may change (RFC 7915), everything else must come back byte for byte:
//  4->6->4 (§4.1 then §5.1):
//   - IHL becomes 5 and total length shrinks by the options: "options MUST be ignored";
//   - TTL decremented twice (one per translation; each is a router hop);
//   - header checksum recomputed;
//   - not fragmented on either side: ID is "set according to a Fragment Identification generator"
//     (any value), DF = (total length > 1260) (§5.1 Flags), MF = 0, offset 0;
//   - a fragment (or a DF=0 packet the translator fragmented toward IPv6, §4.1): every resulting
//     IPv4 fragment keeps the ID (low 16 bits of the fragment header, §5.1.1), has DF=0 (§5.1.1),
//     and the fragments reassemble into the original payload;
//   - the transport checksum field may change between the two ones' complement zeros (0x0000 and
//     0xffff) for TCP and ICMP (incremental updates, RFC 1624), never for UDP (0 means none).
//  6->4->6 (§5.1 then §4.1):
//   - flow label 0 (§4.1); hop limit decremented twice;
//   - hop-by-hop, destination options and routing (segments left 0) headers removed (§5.1);
//   - a fragment header stays only on fragments (an atomic fragment loses it: §5.1.1 gives DF=0,
//     MF=0, offset 0, then §4.1 adds none for a small DF=0 packet); its identification keeps only
//     its low 16 bits (§5.1.1 then §4.1);
//   - transport checksum as above.
//  In clat mode the reverse translation is done on the mirror packet (addresses swapped, which
//  leaves every checksum unchanged), since a CLAT translates LAN->remote one way only.
#include <catch2/catch.hpp>
#include <rte_mbuf.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>

#include "mbuf_util.hpp"
#include "pktcheck.hpp"
#include "xlat/mapper.hpp"
#include "xlat/translator.hpp"

// Catch prints fates by name.
namespace Catch {
template <>
struct StringMaker<eamclat::xlat::Fate> {
    static std::string convert(eamclat::xlat::Fate f) {
        return static_cast<unsigned>(f) < eamclat::xlat::fate_count ? eamclat::xlat::fate_info[static_cast<unsigned>(f)].name
                                                                    : "fate#" + std::to_string(static_cast<unsigned>(f));
    }
};
}  // namespace Catch

using namespace eamclat;
using namespace eamclat::xlat;
using pktcheck::Bytes;
using pktcheck::get16;
using pktcheck::get32;
namespace pc = eamclat::pktcheck;

namespace {

uint64_t env_u64(const char *name, uint64_t dflt) {
    const char *v = getenv(name);
    return v && *v ? strtoull(v, nullptr, 0) : dflt;
}

uint64_t prop_seed() {
    static uint64_t seed = [] {
        uint64_t s = env_u64("EAMCLAT_PROP_SEED", 0x7915'6052'7757ull);
        printf("property tests: seed 0x%llx (EAMCLAT_PROP_SEED to override)\n", static_cast<unsigned long long>(s));
        return s;
    }();
    return seed;
}

unsigned prop_n() { return static_cast<unsigned>(env_u64("EAMCLAT_PROP_N", 2500)); }

// ---- The configuration under test and an independent oracle of its address mapping -------------

Prefix6 p6(const char *s) { return *Prefix6::parse(s); }
Prefix4 p4(const char *s) { return *Prefix4::parse(s); }

struct Setup {
    Config cfg;
    std::unique_ptr<StaticMapper> mapper;
    Context ctx{};

    explicit Setup(Mode mode, uint16_t ipv4_mtu = 1500, uint16_t ipv6_mtu = 1500) {
        cfg.mode = mode;
        cfg.ipv4_mtu = ipv4_mtu;
        cfg.ipv6_mtu = ipv6_mtu;
        if (mode == Mode::siit) {
            cfg.pool6 = p6("2001:db8:64::/96");
        } else {
            cfg.clat_prefix = p6("2001:db8:aaaa::/96");
            // A network-specific prefix: RFC 6052 §3.1 forbids the well-known prefix with the
            // non-global (documentation, private) IPv4 addresses this generator uses.
            cfg.plat_prefix = p6("2001:db8:1234::/96");
        }
        cfg.eamt = {{p4("192.0.2.0/24"), p6("2001:db8:100::/120"), EamtSource::static_config},
                    {p4("198.51.100.8/29"), p6("2001:db8:200::8/125"), EamtSource::static_config},
                    {p4("203.0.113.5/32"), p6("2001:db8:300::5/128"), EamtSource::static_config}};
        cfg.rfc6791v4_prefix = p4("192.0.0.8/32");
        mapper = std::make_unique<StaticMapper>(cfg);
        ctx.config = &cfg;
        ctx.mapper = mapper.get();
        ctx.pool = test::g_pool;
    }
};

// Addresses the generator picks IPv4 hosts from: EAMT-covered and not (documentation and
// ordinary unicast ranges, never special-purpose ones a translator may refuse).
Ip4 random_v4(std::mt19937_64 &rng) {
    static const Ip4 bases[] = {0xc0000200 /*192.0.2.0/24 eamt*/, 0xc6336408 /*198.51.100.8/29 eamt*/,
                                0xcb007105 /*203.0.113.5 eamt*/, 0xc6336400 /*198.51.100.0/24*/,
                                0x0a000000 /*10/8*/, 0x08080800 /*8.8.8.0/24*/, 0xcb007100 /*203.0.113/24*/};
    static const unsigned span[] = {256, 8, 1, 8, 1u << 24, 256, 5};
    unsigned k = rng() % 7;
    Ip4 a = bases[k] + static_cast<Ip4>(rng() % span[k]);
    if ((a & 0xff) == 0 && k != 4) a |= 1;
    if (k == 4 && (a & 0xff) == 0) a |= 1;
    return a;
}

bool in_eamt4(Ip4 a, Ip4 &base, unsigned &len, const char *&v6) {
    struct E {
        Ip4 b;
        unsigned l;
        const char *v6;
    };
    static const E es[] = {{0xc0000200, 24, "2001:db8:100::"}, {0xc6336408, 29, "2001:db8:200::8"},
                           {0xcb007105, 32, "2001:db8:300::5"}};
    for (const auto &e : es) {
        Ip4 mask = e.l == 32 ? ~0u : ~(~0u >> e.l);
        if ((a & mask) == e.b) {
            base = e.b;
            len = e.l;
            v6 = e.v6;
            return true;
        }
    }
    return false;
}

// RFC 7757 §3.3 / RFC 6052 §2.2 for this fixed configuration, written independently of mapper.cpp.
Ip6 oracle_4to6(Mode mode, Ip4 a, bool lan_host) {
    Ip4 base;
    unsigned len;
    const char *v6;
    Ip6 out{};
    if (!(mode == Mode::clat && lan_host) && in_eamt4(a, base, len, v6)) {
        out = *Ip6::parse(v6);
        Ip4 suffix = a - base;
        // every EAMT IPv6 prefix here ends on the last 32 bits with the same suffix length
        out.b[12] |= static_cast<uint8_t>(suffix >> 24);
        out.b[13] |= static_cast<uint8_t>(suffix >> 16);
        out.b[14] |= static_cast<uint8_t>(suffix >> 8);
        out.b[15] |= static_cast<uint8_t>(suffix);
        return out;
    }
    const char *pref = mode == Mode::siit ? "2001:db8:64::" : (lan_host ? "2001:db8:aaaa::" : "2001:db8:1234::");
    out = *Ip6::parse(pref);
    out.b[12] = static_cast<uint8_t>(a >> 24);
    out.b[13] = static_cast<uint8_t>(a >> 16);
    out.b[14] = static_cast<uint8_t>(a >> 8);
    out.b[15] = static_cast<uint8_t>(a);
    return out;
}

void put_ip4(uint8_t *p, Ip4 a) { pc::put32(p, a); }
Ip4 get_ip4(const uint8_t *p) { return get32(p); }
Ip6 ip6_at(const Bytes &b, size_t off) {
    Ip6 a;
    std::copy(b.begin() + static_cast<long>(off), b.begin() + static_cast<long>(off) + 16, a.b.begin());
    return a;
}

// ---- Running the translator --------------------------------------------------------------------

struct Run {
    Fate fate = Fate::count;
    std::vector<std::pair<Side, Bytes>> out;
    std::string str() const {
        std::string s = fate_info[static_cast<unsigned>(fate)].name;
        s += " (" + std::to_string(out.size()) + " packets)";
        return s;
    }
};

Run run(const Setup &s, bool four_to_six, const Bytes &in, size_t seg_len = 0) {
    unsigned before = test::pool_in_use();
    rte_mbuf *m = test::make_mbuf(in, seg_len);
    Output out;
    Result r = four_to_six ? translate_4to6(s.ctx, m, out) : translate_6to4(s.ctx, m, out);
    Run res;
    res.fate = r.fate;
    for (unsigned i = 0; i < out.n; i++) {
        res.out.push_back({out.pkts[i].side, test::mbuf_bytes(out.pkts[i].m)});
        rte_pktmbuf_free(out.pkts[i].m);
    }
    unsigned after = test::pool_in_use();
    // Every mbuf the call took or made is in `out` or freed. (Messages are built only on failure:
    // Catch's INFO formats eagerly, and hex dumps of every packet would dominate the run time.)
    if (after != before) FAIL_CHECK("mbuf leak: " << after << " != " << before << "\ninput " << pc::hex(in));
    return res;
}

// Checks every emitted packet with pktcheck.
void check_emitted(const Run &r, const Bytes &in) {
    for (const auto &[side, b] : r.out) {
        auto problems = pc::check(b);
        if (!problems.empty())
            FAIL_CHECK(pc::join(problems) << "\ninput    " << pc::hex(in) << "\nemitted  " << pc::hex(b));
        CHECK(((b[0] >> 4) == 6) == (side == Side::v6));
    }
}

// The same input as a chain of random segments must give the same bytes. The one thing allowed to
// differ is the IPv4 Identification of an unfragmented 6->4 packet (and so the header checksum):
// RFC 7915 §5.1 leaves its generator to the translator, so a counter gives another value.
unsigned g_id_differs = 0;
void check_chained(const Setup &s, bool four_to_six, const Bytes &in, const Run &flat, std::mt19937_64 &rng) {
    size_t seg = 1 + rng() % std::max<size_t>(in.size(), 1);
    if (rng() % 4 == 0) seg = 1 + rng() % 64;  // many small segments, headers split across them
    Run chained = run(s, four_to_six, in, seg);
    INFO("input " << pc::hex(in) << "\nsegment length " << seg);
    REQUIRE(chained.fate == flat.fate);
    REQUIRE(chained.out.size() == flat.out.size());
    for (size_t i = 0; i < flat.out.size(); i++) {
        const Bytes &a = flat.out[i].second;
        const Bytes &b = chained.out[i].second;
        CHECK(flat.out[i].first == chained.out[i].first);
        if (a == b) continue;
        bool only_id = a.size() == b.size() && a.size() >= 20 && (a[0] >> 4) == 4 && !four_to_six;
        for (size_t k = 0; only_id && k < a.size(); k++)
            if (a[k] != b[k] && k != 4 && k != 5 && k != 10 && k != 11) only_id = false;
        if (only_id) {
            g_id_differs++;
            continue;
        }
        INFO("flat     " << pc::hex(a));
        INFO("chained  " << pc::hex(b));
        CHECK(a == b);
    }
}

// ---- Reassembly (RFC 791 / RFC 8200 §4.5), for comparing fragmented round trips ----------------

// Returns the payload bytes (after the IP header / fragment header) of a set of fragments of one
// datagram, or an empty optional when they leave holes or overlap inconsistently.
bool reassemble_payload(const std::vector<Bytes> &frags, Bytes &payload, Bytes &first) {
    std::map<size_t, Bytes> pieces;
    size_t end = SIZE_MAX;
    for (const auto &f : frags) {
        pc::Parsed ps;
        if (!pc::parse(f, ps)) return false;
        size_t data_off = ps.version == 4 ? ps.l4_off : ps.frag_header_off + 8;
        if (ps.version == 6 && !ps.has_frag_header) data_off = ps.l4_off;
        Bytes data(f.begin() + static_cast<long>(data_off), f.end());
        size_t off = ps.frag_offset * 8u;
        if (!ps.more_fragments) end = off + data.size();
        if (off == 0) first = f;
        pieces[off] = data;
    }
    if (end == SIZE_MAX || first.empty()) return false;
    payload.clear();
    for (const auto &[off, data] : pieces) {
        if (off != payload.size()) return false;
        payload.insert(payload.end(), data.begin(), data.end());
    }
    return payload.size() == end;
}

// Reassembles translated fragments (IPv4 without options / IPv6 with only a fragment header, as
// the translator emits them) into one packet and checks its transport checksum with pktcheck:
// this verifies the first fragment's checksum update, which pktcheck cannot see fragment by fragment.
void check_reassembled(const std::vector<Bytes> &frags) {
    Bytes payload, first;
    INFO("fragments: " << frags.size() << ", first " << (frags.empty() ? "" : pc::hex(frags[0])));
    REQUIRE(reassemble_payload(frags, payload, first));
    Bytes whole;
    if ((first[0] >> 4) == 4) {
        whole.assign(first.begin(), first.begin() + 20);
        pc::put16(&whole[2], static_cast<uint16_t>(20 + payload.size()));
        pc::put16(&whole[6], 0);
        pc::fix_ipv4_header_checksum(whole.data());
    } else {
        REQUIRE(first[6] == pc::proto::fragment);
        whole.assign(first.begin(), first.begin() + 40);
        whole[6] = first[40];
        pc::put16(&whole[4], static_cast<uint16_t>(payload.size()));
    }
    whole.insert(whole.end(), payload.begin(), payload.end());
    INFO("reassembled " << pc::hex(whole));
    CHECK(pc::join(pc::check(whole)) == "");
}

// Transport bytes equal except that a TCP/ICMP checksum may flip between 0x0000 and 0xffff.
void compare_l4(uint8_t proto, const Bytes &want, const Bytes &got) {
    INFO("want L4 " << pc::hex(want));
    INFO("got  L4 " << pc::hex(got));
    REQUIRE(want.size() == got.size());
    size_t ck = proto == pc::proto::tcp ? 16 : proto == pc::proto::udp ? 6 : 2;
    for (size_t k = 0; k < want.size(); k++) {
        if (k == ck || k == ck + 1) continue;
        if (want[k] != got[k]) {
            INFO("first difference at L4 byte " << k);
            CHECK(want == got);
            return;
        }
    }
    if (want.size() >= ck + 2) {
        uint16_t a = get16(&want[ck]), b = get16(&got[ck]);
        bool same = a == b || (proto != pc::proto::udp && (a == 0 || a == 0xffff) && (b == 0 || b == 0xffff));
        CHECK(same);
    }
}

// ---- Generators ----------------------------------------------------------------------------

Bytes random_bytes(std::mt19937_64 &rng, size_t n) {
    Bytes b(n);
    for (auto &x : b) x = static_cast<uint8_t>(rng());
    return b;
}

size_t random_payload_len(std::mt19937_64 &rng) {
    switch (rng() % 4) {
    case 0: return rng() % 16;
    case 1: return rng() % 200;
    default: return rng() % 1401;
    }
}

// IPv4 options that RFC 7915 §4.1 says to ignore (no unexpired source route).
Bytes random_options(std::mt19937_64 &rng) {
    Bytes o;
    unsigned n = 1 + rng() % 4;
    for (unsigned i = 0; i < n; i++) {
        switch (rng() % 3) {
        case 0: o.push_back(1); break;                                      // NOP
        case 1: o.insert(o.end(), {0x94, 0x04, 0x00, 0x00}); break;         // router alert
        default: o.insert(o.end(), {0x88, 0x04, static_cast<uint8_t>(rng()), 0x01}); break;  // stream id
        }
    }
    while (o.size() % 4) o.push_back(0);
    if (o.size() > 40) o.resize(40);
    return o;
}

struct Upper {
    uint8_t proto;
    Bytes l4;
};

// An upper layer with its checksum for the given addresses. ICMP echo for v4 uses no pseudo-header.
Upper random_upper(std::mt19937_64 &rng, const uint8_t *src, const uint8_t *dst, size_t alen) {
    Bytes payload = random_bytes(rng, random_payload_len(rng));
    switch (rng() % 3) {
    case 0:
        return {pc::proto::udp, pc::udp(src, dst, alen, static_cast<uint16_t>(rng()), static_cast<uint16_t>(rng()), payload)};
    case 1: {
        pc::TcpFields f;
        f.sport = static_cast<uint16_t>(rng());
        f.dport = static_cast<uint16_t>(rng());
        f.seq = static_cast<uint32_t>(rng());
        f.ack = static_cast<uint32_t>(rng());
        f.flags = static_cast<uint8_t>(rng() & 0x3f);
        f.window = static_cast<uint16_t>(rng());
        if (rng() % 3 == 0) f.options = {2, 4, 0x05, 0xb4, 1, 1, 4, 2};  // MSS, NOPs, SACK permitted
        return {pc::proto::tcp, pc::tcp(src, dst, alen, f, payload)};
    }
    default: {
        bool reply = rng() % 2;
        uint32_t rest = static_cast<uint32_t>(rng());
        if (alen == 4) return {pc::proto::icmp, pc::icmp4(reply ? 0 : 8, 0, rest, payload)};
        return {pc::proto::icmp6, pc::icmp6(src, dst, reply ? 129 : 128, 0, rest, payload)};
    }
    }
}

void write_corpus(const char *sub, const Bytes &b) {
    static const char *dir = getenv("EAMCLAT_PROP_CORPUS");
    static unsigned counter = 0;
    if (!dir || !*dir) return;
    std::string d = std::string(dir) + "/" + sub;
    mkdir(dir, 0755);
    mkdir(d.c_str(), 0755);
    std::ofstream(d + "/" + std::to_string(counter++), std::ios::binary)
        .write(reinterpret_cast<const char *>(b.data()), static_cast<long>(b.size()));
}

// Swaps source and destination addresses (checksum-neutral: the pseudo-header sums are symmetric).
Bytes mirror(const Bytes &b) {
    Bytes m = b;
    if ((m[0] >> 4) == 4) {
        for (int i = 0; i < 4; i++) std::swap(m[12 + i], m[16 + i]);
    } else {
        for (int i = 0; i < 16; i++) std::swap(m[8 + i], m[24 + i]);
    }
    return m;
}

// ---- 4 -> 6 -> 4 -----------------------------------------------------------------------------

struct Stats {
    unsigned datagrams = 0, inputs = 0, round_trips = 0, fragmented = 0, drops_expected = 0, ttl_errors = 0;
};

void one_4to6to4(const Setup &s, std::mt19937_64 &rng, Stats &st) {
    Mode mode = s.cfg.mode;
    pc::V4 h;
    h.tos = static_cast<uint8_t>(rng());
    h.id = static_cast<uint16_t>(rng());
    h.df = rng() % 2;
    h.ttl = static_cast<uint8_t>(2 + rng() % 254);
    Ip4 src = random_v4(rng), dst = random_v4(rng);
    put_ip4(h.src, src);
    put_ip4(h.dst, dst);
    if (rng() % 5 == 0) h.options = random_options(rng);
    Upper up = random_upper(rng, h.src, h.dst, 4);
    h.proto = up.proto;

    std::vector<Bytes> inputs;
    // Fragments of at least 32 bytes: the first must hold the whole transport header, whose
    // checksum the translator updates (a tiny first fragment is refused, see test_malformed).
    bool pre_fragmented = up.l4.size() > 32 && rng() % 6 == 0;
    if (pre_fragmented) {
        inputs = pc::fragment_ipv4(h, up.l4, 32 + rng() % up.l4.size());
        if (inputs.size() == 1) pre_fragmented = false, inputs = {pc::ipv4(h, up.l4)};
    } else {
        inputs = {pc::ipv4(h, up.l4)};
    }
    st.datagrams++;
    const size_t len_no_opts = 20 + up.l4.size();

    std::vector<Bytes> back;  // round-trip IPv4 packets
    std::vector<Bytes> middle;  // the IPv6 packets in between
    bool any_fragment = pre_fragmented;
    uint16_t round_trip_id = h.id;  // kept by fragments (§4.1, §5.1.1), unless 6->4 fragments anew
    bool dropped = false;
    for (const Bytes &in : inputs) {
        st.inputs++;
        write_corpus("4to6", in);
        Run r1 = run(s, true, in);
        check_emitted(r1, in);
        check_chained(s, true, in, r1, rng);
        INFO("4->6 input " << pc::hex(in));
        INFO("4->6 result " << r1.str());
        if (pre_fragmented && up.proto == pc::proto::icmp) {
            // ICMPv4 -> ICMPv6 needs the whole message for the new checksum (pseudo-header).
            CHECK(fate_is_drop(r1.fate));
            CHECK(r1.out.empty());
            st.drops_expected++;
            dropped = true;
            continue;
        }
        if (h.df && !pre_fragmented && len_no_opts + 20 > s.cfg.ipv6_mtu) {
            // §4.1: "If the DF bit is set and the MTU of the next-hop interface is less than the
            // total length value of the IPv4 packet plus 20, the translator MUST send an ICMPv4
            // 'Fragmentation Needed' error message", whose MTU is the IPv6 MTU less 20.
            CHECK(r1.fate == Fate::icmp4_error_sent);
            REQUIRE(r1.out.size() == 1);
            const Bytes &e = r1.out[0].second;
            CHECK(r1.out[0].first == Side::v4);
            CHECK(e[20] == 3);
            CHECK(e[21] == 4);
            CHECK(get16(&e[26]) == s.cfg.ipv6_mtu - 20);
            st.drops_expected++;
            dropped = true;
            continue;
        }
        REQUIRE(r1.fate == Fate::translated_4to6);
        REQUIRE(!r1.out.empty());
        pc::Parsed in_ps;
        REQUIRE(pc::parse(in, in_ps));
        size_t in_data = in.size() - in_ps.l4_off;
        bool need_frag_header = in_ps.is_fragment || (!h.df && 40 + in_data > s.cfg.lowest_ipv6_mtu);
        size_t covered = 0;
        for (const auto &[side, o] : r1.out) {
            REQUIRE(side == Side::v6);
            REQUIRE(o.size() >= 40);
            INFO("4->6 output " << pc::hex(o));
            // RFC 7915 §4.1 header fields.
            CHECK(o[0] >> 4 == 6);
            CHECK(((get16(&o[0]) >> 4) & 0xff) == h.tos);
            CHECK((get32(&o[0]) & 0xfffff) == 0);
            CHECK(o[7] == h.ttl - 1);
            Ip6 want_src = oracle_4to6(mode, src, true), want_dst = oracle_4to6(mode, dst, false);
            CHECK(ip6_at(o, 8).str() == want_src.str());
            CHECK(ip6_at(o, 24).str() == want_dst.str());
            pc::Parsed ps;
            REQUIRE(pc::parse(o, ps));
            CHECK(ps.has_frag_header == need_frag_header);
            uint8_t want_next = up.proto == pc::proto::icmp ? pc::proto::icmp6 : up.proto;
            CHECK(ps.l4_proto == want_next);
            if (ps.has_frag_header) {
                CHECK(ps.frag_header_off == 40);  // no other extension header (§4.1)
                CHECK(ps.frag_id == h.id);        // low 16 bits copied, high 16 zero
                CHECK(s.cfg.lowest_ipv6_mtu >= o.size());
                CHECK(ps.frag_offset * 8u == in_ps.frag_offset * 8u + covered);
                covered += o.size() - 48;
                if (r1.out.size() > 1) any_fragment = true;
            } else {
                CHECK(ps.l4_off == 40);
                CHECK(o.size() == len_no_opts + 20);
            }
        }
        if (need_frag_header) CHECK(covered == in_data);
        for (const auto &[side, o] : r1.out) middle.push_back(o);

        for (const auto &[side, o] : r1.out) {
            Bytes o2 = mode == Mode::clat ? mirror(o) : o;
            Run r2 = run(s, false, o2);
            check_emitted(r2, o2);
            check_chained(s, false, o2, r2, rng);
            INFO("6->4 input " << pc::hex(o2));
            INFO("6->4 result " << r2.str());
            pc::Parsed ps;
            REQUIRE(pc::parse(o2, ps));
            if (ps.is_fragment && ps.l4_proto == pc::proto::icmp6) {
                CHECK(fate_is_drop(r2.fate));
                st.drops_expected++;
                dropped = true;
                continue;
            }
            if (o2[7] == 1 && ps.frag_offset != 0) {
                // The translator sends no error about a non-first fragment (its own choice, taken
                // from RFC 1812 §4.3.2.7 for IPv4; RFC 4443 §2.4 does not ask for it).
                CHECK(r2.fate == Fate::drop_ttl_expired_no_error);
                CHECK(r2.out.empty());
                st.ttl_errors++;
                dropped = true;
                continue;
            }
            if (o2[7] == 1) {
                // RFC 7915 §5.1: hop limit reaches zero -> ICMPv6 Time Exceeded back to the sender.
                CHECK(r2.fate == Fate::icmp6_error_sent);
                REQUIRE(r2.out.size() == 1);
                CHECK(r2.out[0].first == Side::v6);
                CHECK(r2.out[0].second[40] == 3);
                CHECK(r2.out[0].second[41] == 0);
                st.ttl_errors++;
                dropped = true;
                continue;
            }
            REQUIRE(r2.fate == Fate::translated_6to4);
            if (r2.out.size() > 1) {  // §5.1.1 IPv4 fragmentation (small MTU)
                any_fragment = true;
                if (!ps.has_frag_header) round_trip_id = get16(&r2.out[0].second[4]);
            }
            for (const auto &[side2, b] : r2.out) {
                REQUIRE(side2 == Side::v4);
                CHECK(b.size() <= s.cfg.ipv4_mtu);
                back.push_back(mode == Mode::clat ? mirror(b) : b);
            }
        }
    }
    if (dropped) return;
    st.round_trips++;
    if (any_fragment) st.fragmented++;

    // Compare the round trip with the original datagram.
    INFO("original datagram l4 " << pc::hex(up.l4));
    for (const Bytes &b : back) {
        INFO("returned " << pc::hex(b));
        CHECK(b[0] == 0x45);
        CHECK(b[1] == h.tos);
        CHECK(b[8] == h.ttl - 2);
        CHECK(b[9] == h.proto);
        CHECK(get_ip4(&b[12]) == src);
        CHECK(get_ip4(&b[16]) == dst);
        uint16_t flags = get16(&b[6]);
        if (any_fragment) {
            CHECK(get16(&b[4]) == round_trip_id);
            CHECK((flags & 0x4000) == 0);  // §5.1.1: DF cleared on fragments
        } else {
            CHECK(b.size() == len_no_opts);
            CHECK((flags & 0x3fff) == 0);
            CHECK(((flags & 0x4000) != 0) == (b.size() > 1260));  // §5.1 Flags
        }
    }
    if (!any_fragment) {
        REQUIRE(back.size() == 1);
        compare_l4(h.proto, up.l4, Bytes(back[0].begin() + 20, back[0].end()));
    } else {
        Bytes payload, first;
        REQUIRE(reassemble_payload(back, payload, first));
        compare_l4(h.proto, up.l4, payload);
        check_reassembled(back);
        if (middle.size() > 1 || pre_fragmented) check_reassembled(middle);
    }
}

// ---- 6 -> 4 -> 6 -----------------------------------------------------------------------------

Ip6 random_v6_host(Mode mode, std::mt19937_64 &rng, bool lan_host) {
    if (mode == Mode::clat && lan_host) return oracle_4to6(mode, random_v4(rng), true);
    if (rng() % 2) {  // EAMT side
        static const Ip4 eamt[] = {0xc0000200, 0xc6336408, 0xcb007105};
        static const unsigned span[] = {256, 8, 1};
        unsigned k = rng() % 3;
        return oracle_4to6(mode, eamt[k] + static_cast<Ip4>(rng() % span[k]), false);
    }
    // pool6 / PLAT prefix with an address outside every EAMT entry (else RFC 7757 §4.2 hairpinning).
    Ip4 a;
    Ip4 base;
    unsigned len;
    const char *v6;
    do a = random_v4(rng);
    while (in_eamt4(a, base, len, v6));
    return oracle_4to6(mode, a, false);
}

void one_6to4to6(const Setup &s, std::mt19937_64 &rng, Stats &st) {
    Mode mode = s.cfg.mode;
    pc::V6 h;
    h.tc = static_cast<uint8_t>(rng());
    h.flow = static_cast<uint32_t>(rng()) & 0xfffff;
    h.hlim = static_cast<uint8_t>(2 + rng() % 254);
    // 6->4: the source is the remote host, the destination the LAN host (clat) / anything (siit).
    Ip6 src = random_v6_host(mode, rng, false), dst = random_v6_host(mode, rng, true);
    std::copy(src.b.begin(), src.b.end(), h.src);
    std::copy(dst.b.begin(), dst.b.end(), h.dst);
    if (rng() % 4 == 0) {
        // An option of a type to skip when unknown (RFC 8200 §4.2: high bits 00) with random data.
        Bytes opt = {0x1e, static_cast<uint8_t>(rng() % 12)};
        Bytes data = random_bytes(rng, opt[1]);
        opt.insert(opt.end(), data.begin(), data.end());
        h.ext.push_back({pc::proto::hopopt, opt});
    }
    if (rng() % 6 == 0) h.ext.push_back({pc::proto::routing, {253, 0, 0, 0, 0, 0}});  // segments left 0
    if (rng() % 5 == 0) h.ext.push_back({pc::proto::dstopts, {}});
    Upper up = random_upper(rng, h.src, h.dst, 16);
    h.next = up.proto;

    std::vector<Bytes> inputs;
    unsigned k = rng() % 10;
    bool pre_fragmented = false;
    uint32_t frag_id = static_cast<uint32_t>(rng());
    if (k == 0 && up.l4.size() > 32) {
        inputs = pc::fragment_ipv6(h, frag_id, up.l4, 32 + rng() % up.l4.size());
        pre_fragmented = inputs.size() > 1;
        if (!pre_fragmented) inputs = {pc::ipv6(h, up.l4)};
    } else if (k == 1) {
        inputs = {pc::ipv6_fragment(h, pc::V6Frag{0, false, frag_id}, up.l4)};  // atomic fragment
    } else {
        inputs = {pc::ipv6(h, up.l4)};
    }
    st.datagrams++;

    std::vector<Bytes> back;
    std::vector<Bytes> middle;  // the IPv4 packets in between
    uint32_t round_trip_id = frag_id & 0xffff;  // §5.1.1 low 16 bits, or the ID of 6->4's fragments
    bool any_fragment = pre_fragmented;
    bool dropped = false;
    for (const Bytes &in : inputs) {
        st.inputs++;
        write_corpus("6to4", in);
        Run r1 = run(s, false, in);
        check_emitted(r1, in);
        check_chained(s, false, in, r1, rng);
        INFO("6->4 input " << pc::hex(in));
        INFO("6->4 result " << r1.str());
        pc::Parsed in_ps;
        REQUIRE(pc::parse(in, in_ps));
        if (pre_fragmented && up.proto == pc::proto::icmp6) {
            CHECK(fate_is_drop(r1.fate));
            CHECK(r1.out.empty());
            st.drops_expected++;
            dropped = true;
            continue;
        }
        size_t data = in.size() - (in_ps.has_frag_header ? in_ps.frag_header_off + 8 : in_ps.l4_off);
        if (20 + data > s.cfg.ipv4_mtu && in.size() > 1280 && !(in_ps.has_frag_header && in_ps.frag_offset != 0)) {
            // §5.1 / RFC 8200 §5: a too-big IPv6 packet (not a non-first fragment) gets a Packet Too
            // Big with the MTU its translation needs, never below 1280.
            CHECK(r1.fate == Fate::icmp6_error_sent);
            REQUIRE(r1.out.size() == 1);
            const Bytes &e = r1.out[0].second;
            CHECK(r1.out[0].first == Side::v6);
            CHECK(e[40] == 2);
            CHECK(get32(&e[44]) == std::max<uint32_t>(1280, s.cfg.ipv4_mtu + 20u));
            st.drops_expected++;
            dropped = true;
            continue;
        }
        REQUIRE(r1.fate == Fate::translated_6to4);
        // §5.1.1: IPv4 fragmentation when the translation exceeds the IPv4 MTU.
        bool split = r1.out.size() > 1;
        if (split) any_fragment = true;
        if (split && !in_ps.has_frag_header) round_trip_id = get16(&r1.out[0].second[4]);
        CHECK(split == (20 + data > s.cfg.ipv4_mtu));
        size_t covered = 0;
        for (const auto &[side1, o] : r1.out) {
            REQUIRE(side1 == Side::v4);
            INFO("6->4 output " << pc::hex(o));
            // RFC 7915 §5.1 / §5.1.1 header fields.
            CHECK(o[0] == 0x45);
            CHECK(o[1] == h.tc);
            CHECK(o.size() <= s.cfg.ipv4_mtu);
            uint16_t flags = get16(&o[6]);
            bool last = &o == &r1.out.back().second;
            if (in_ps.has_frag_header || split) {
                if (in_ps.has_frag_header) CHECK(get16(&o[4]) == (frag_id & 0xffff));
                else CHECK(get16(&o[4]) == get16(&r1.out[0].second[4]));
                CHECK((flags & 0x4000) == 0);
                CHECK(((flags & 0x2000) != 0) == (in_ps.more_fragments || !last));
                CHECK((flags & 0x1fff) * 8u == in_ps.frag_offset * 8u + covered);
            } else {
                CHECK(o.size() == 20 + data);
                CHECK((flags & 0x3fff) == 0);
                CHECK(((flags & 0x4000) != 0) == (o.size() > 1260));
            }
            covered += o.size() - 20;
            CHECK(o[8] == h.hlim - 1);
            CHECK(o[9] == (up.proto == pc::proto::icmp6 ? pc::proto::icmp : up.proto));
        }
        CHECK(covered == data);
        for (const auto &[side1, o] : r1.out) {
            middle.push_back(o);
            Bytes o2 = mode == Mode::clat ? mirror(o) : o;
            Run r2 = run(s, true, o2);
            check_emitted(r2, o2);
            check_chained(s, true, o2, r2, rng);
            INFO("4->6 input " << pc::hex(o2));
            INFO("4->6 result " << r2.str());
            if (o2[8] == 1 && (get16(&o2[6]) & 0x1fff) != 0) {
                // RFC 1812 §4.3.2.7: no ICMP error about a non-first fragment.
                CHECK(r2.fate == Fate::drop_ttl_expired_no_error);
                CHECK(r2.out.empty());
                st.ttl_errors++;
                dropped = true;
                continue;
            }
            if (o2[8] == 1) {
                // RFC 7915 §4.1: TTL reaches zero -> ICMPv4 Time Exceeded back to the sender.
                CHECK(r2.fate == Fate::icmp4_error_sent);
                REQUIRE(r2.out.size() == 1);
                CHECK(r2.out[0].first == Side::v4);
                CHECK(r2.out[0].second[20] == 11);
                CHECK(r2.out[0].second[21] == 0);
                st.ttl_errors++;
                dropped = true;
                continue;
            }
            if (split && up.proto == pc::proto::icmp6) {
                // An IPv4 fragment of an ICMP message: see the ICMPv4 fragments above.
                CHECK(fate_is_drop(r2.fate));
                st.drops_expected++;
                dropped = true;
                continue;
            }
            if ((get16(&o2[6]) & 0x4000) && o2.size() + 20 > s.cfg.ipv6_mtu) {
                // §4.1: DF set and too big for the IPv6 next hop: Fragmentation Needed.
                CHECK(r2.fate == Fate::icmp4_error_sent);
                REQUIRE(r2.out.size() == 1);
                CHECK(r2.out[0].second[20] == 3);
                CHECK(r2.out[0].second[21] == 4);
                st.drops_expected++;
                dropped = true;
                continue;
            }
            REQUIRE(r2.fate == Fate::translated_4to6);
            if (r2.out.size() > 1) any_fragment = true;
            for (const auto &[side2, b] : r2.out) {
                REQUIRE(side2 == Side::v6);
                CHECK(b.size() <= s.cfg.ipv6_mtu);
                back.push_back(mode == Mode::clat ? mirror(b) : b);
            }
        }
    }
    if (dropped) return;
    st.round_trips++;
    if (any_fragment) st.fragmented++;

    INFO("original l4 " << pc::hex(up.l4));
    for (const Bytes &b : back) {
        INFO("returned " << pc::hex(b));
        CHECK(get32(&b[0]) == (0x60000000u | static_cast<uint32_t>(h.tc) << 20));  // flow label 0
        CHECK(b[7] == h.hlim - 2);
        CHECK(std::equal(b.begin() + 8, b.begin() + 24, src.b.begin()));
        CHECK(std::equal(b.begin() + 24, b.begin() + 40, dst.b.begin()));
        pc::Parsed ps;
        REQUIRE(pc::parse(b, ps));
        if (any_fragment) {
            REQUIRE(ps.has_frag_header);
            CHECK(ps.frag_header_off == 40);
            CHECK(ps.frag_id == round_trip_id);
        } else {
            CHECK(b[6] == up.proto);  // every extension header gone (atomic fragment header too)
            CHECK(b.size() == 40 + up.l4.size());
        }
    }
    if (!any_fragment) {
        REQUIRE(back.size() == 1);
        compare_l4(up.proto, up.l4, Bytes(back[0].begin() + 40, back[0].end()));
    } else {
        Bytes payload, first;
        REQUIRE(reassemble_payload(back, payload, first));
        compare_l4(up.proto, up.l4, payload);
        check_reassembled(back);
        if (pre_fragmented || middle.size() > 1) check_reassembled(middle);
    }
}

void report(const char *name, const Stats &st) {
    printf("%s: %u datagrams, %u inputs, %u round trips (%u fragmented), %u expected drops, %u TTL errors\n",
           name, st.datagrams, st.inputs, st.round_trips, st.fragmented, st.drops_expected, st.ttl_errors);
}

}  // namespace

TEST_CASE("property: siit 4->6->4", "[property]") {
    Setup s(Mode::siit);
    std::mt19937_64 rng(prop_seed() ^ 1);
    Stats st;
    for (unsigned i = 0; i < prop_n(); i++) one_4to6to4(s, rng, st);
    report("siit 4->6->4", st);
    CHECK(st.round_trips > prop_n() / 2);
    CHECK(st.fragmented > 0);
}

TEST_CASE("property: siit 6->4->6", "[property]") {
    Setup s(Mode::siit);
    std::mt19937_64 rng(prop_seed() ^ 2);
    Stats st;
    for (unsigned i = 0; i < prop_n(); i++) one_6to4to6(s, rng, st);
    report("siit 6->4->6", st);
    CHECK(st.round_trips > prop_n() / 2);
    CHECK(st.fragmented > 0);
}

TEST_CASE("property: clat 4->6->4", "[property]") {
    Setup s(Mode::clat);
    std::mt19937_64 rng(prop_seed() ^ 3);
    Stats st;
    for (unsigned i = 0; i < prop_n(); i++) one_4to6to4(s, rng, st);
    report("clat 4->6->4", st);
    CHECK(st.round_trips > prop_n() / 2);
}

TEST_CASE("property: clat 6->4->6", "[property]") {
    Setup s(Mode::clat);
    std::mt19937_64 rng(prop_seed() ^ 4);
    Stats st;
    for (unsigned i = 0; i < prop_n(); i++) one_6to4to6(s, rng, st);
    report("clat 6->4->6", st);
    CHECK(st.round_trips > prop_n() / 2);
    printf("chained runs whose unfragmented 6->4 IPv4 ID differed from the flat run: %u\n", g_id_differs);
}

TEST_CASE("property: siit with small MTUs (IPv4 576, IPv6 1280)", "[property]") {
    // Exercises §5.1.1 IPv4 fragmentation, Packet Too Big, and §4.1 Fragmentation Needed.
    Setup s(Mode::siit, 576, 1280);
    std::mt19937_64 rng(prop_seed() ^ 5);
    Stats st4, st6;
    for (unsigned i = 0; i < prop_n() / 2; i++) one_6to4to6(s, rng, st6);
    for (unsigned i = 0; i < prop_n() / 2; i++) one_4to6to4(s, rng, st4);
    report("small-MTU 6->4->6", st6);
    report("small-MTU 4->6->4", st4);
    CHECK(st6.fragmented > 0);
    CHECK(st6.drops_expected > 0);
}
