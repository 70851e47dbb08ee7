// dp::NeighborTable (single writer, lock-free readers), the sighting filter, ARP/ND snooping and
// the ARP request / Neighbor Solicitation the control thread builds.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "mbuf_util.hpp"
#include "neighbors.hpp"
#include "xlat/checksum.hpp"

using namespace eamclat;
using namespace eamclat::dp;
using eamclat::test::Bytes;

namespace {

Ip6 ip6(const char *s) { return *Ip6::parse(s); }
Ip4 ip4(const char *s) { return *parse_ip4(s); }
rte_ether_addr mac(uint8_t last, uint8_t first = 0x02) { return rte_ether_addr{{first, 0, 0, 0, 0, last}}; }
bool same(const rte_ether_addr &a, const rte_ether_addr &b) { return rte_is_same_ether_addr(&a, &b); }

}  // namespace

TEST_CASE("NeighborTable: learn, change, static precedence", "[neighbors]") {
    NeighborTable t(64);
    rte_ether_addr out;
    const Ip6 host = neighbor_key4(ip4("192.168.1.100"));
    CHECK(!t.lookup(host, out));
    CHECK(t.learn(host, mac(1)) == NeighborTable::Update::added);
    REQUIRE(t.lookup(host, out));
    CHECK(same(out, mac(1)));
    CHECK(t.learn(host, mac(1)) == NeighborTable::Update::unchanged);
    CHECK(t.learn(host, mac(2)) == NeighborTable::Update::changed);
    REQUIRE(t.lookup(host, out));
    CHECK(same(out, mac(2)));
    CHECK(t.size() == 1);

    const Ip6 gw = ip6("2001:db8:ffff::1");
    CHECK(t.set_static(gw, mac(9)) == NeighborTable::Update::added);
    CHECK(t.learn(gw, mac(10)) == NeighborTable::Update::kept_static);  // config wins over the wire
    REQUIRE(t.lookup(gw, out));
    CHECK(same(out, mac(9)));
    CHECK(t.set_static(gw, mac(11)) == NeighborTable::Update::changed);
    REQUIRE(t.lookup(gw, out));
    CHECK(same(out, mac(11)));

    unsigned n = 0, statics = 0;
    t.for_each([&](const Ip6 &key, const rte_ether_addr &, NeighborState st) {
        ++n;
        if (st == NeighborState::static_entry) {
            ++statics;
            CHECK(key == gw);
        }
    });
    CHECK(n == 2);
    CHECK(statics == 1);
}

TEST_CASE("NeighborTable: fills to 3/4, probing finds every key", "[neighbors]") {
    NeighborTable t(16);
    REQUIRE(t.capacity() == 16);
    for (unsigned i = 0; i < 12; ++i)
        REQUIRE(t.learn(neighbor_key4(ip4("10.0.0.0") + i), mac(static_cast<uint8_t>(i))) == NeighborTable::Update::added);
    CHECK(t.learn(neighbor_key4(ip4("10.0.0.100")), mac(100)) == NeighborTable::Update::full);
    CHECK(t.size() == 12);
    for (unsigned i = 0; i < 12; ++i) {
        rte_ether_addr out;
        REQUIRE(t.lookup(neighbor_key4(ip4("10.0.0.0") + i), out));
        CHECK(out.addr_bytes[5] == i);
    }
    rte_ether_addr out;
    CHECK(!t.lookup(neighbor_key4(ip4("10.0.0.100")), out));  // terminates at an empty slot
    // Existing keys still update when the table is full.
    CHECK(t.learn(neighbor_key4(ip4("10.0.0.3")), mac(33)) == NeighborTable::Update::changed);
}

TEST_CASE("NeighborTable: IPv4 keys", "[neighbors]") {
    Ip4 a = 0;
    const Ip6 k = neighbor_key4(ip4("192.168.1.100"));
    CHECK(k == ip6("::ffff:192.168.1.100"));
    REQUIRE(neighbor_key_is4(k, &a));
    CHECK(a == ip4("192.168.1.100"));
    CHECK(!neighbor_key_is4(ip6("2001:db8::c0a8:164")));
    CHECK(!neighbor_key_is4(ip6("::192.168.1.100")));
}

TEST_CASE("NeighborTable: readers never see a torn MAC while the writer updates", "[neighbors]") {
    NeighborTable t(64);
    const Ip6 key = ip6("2001:db8:1:1::100");
    const rte_ether_addr a{{0x02, 0x11, 0x11, 0x11, 0x11, 0x11}}, b{{0x02, 0x22, 0x22, 0x22, 0x22, 0x22}};
    t.learn(key, a);
    std::atomic<bool> done{false};
    std::atomic<uint64_t> torn{0}, reads{0};
    std::thread reader([&] {
        while (!done.load(std::memory_order_relaxed)) {
            rte_ether_addr m;
            if (!t.lookup(key, m) || !(same(m, a) || same(m, b))) torn.fetch_add(1);
            reads.fetch_add(1, std::memory_order_relaxed);
        }
    });
    // On a loaded machine the writer could finish before the reader ever ran: start together.
    while (reads.load(std::memory_order_relaxed) == 0) std::this_thread::yield();
    for (int i = 0; i < 200000; ++i) t.learn(key, (i & 1) ? a : b);
    done = true;
    reader.join();
    CHECK(reads.load() > 0);
    CHECK(torn.load() == 0);
}

TEST_CASE("SightingFilter", "[neighbors]") {
    SightingFilter f;
    Sighting s{};
    s.kind = Sighting::ipv4_host;
    s.mac = mac(1);
    s.addr = neighbor_key4(ip4("192.168.1.100"));
    CHECK(!f.recently_reported(s, 1000, 100));
    CHECK(f.recently_reported(s, 1050, 100));
    CHECK(!f.recently_reported(s, 1200, 100));  // interval over: report again
    s.mac = mac(2);
    CHECK(!f.recently_reported(s, 1210, 100));  // new MAC: report at once
    s.kind = Sighting::ipv6_host;
    CHECK(!f.recently_reported(s, 1220, 100));

    // A LAN's worth of hosts interleaved (as the workers see them): each is checked once per
    // interval, not once per packet; and none is ever suppressed past its interval.
    SightingFilter g;
    unsigned again = 0;
    for (unsigned round = 0; round < 3; ++round) {
        for (unsigned h = 1; h <= 64; ++h) {
            Sighting t{};
            t.kind = Sighting::ipv4_host;
            t.mac = mac(static_cast<uint8_t>(h));
            t.addr = neighbor_key4(ip4("192.168.1.0") + h);
            const bool recent = g.recently_reported(t, 1000 + round, 100);
            if (round == 0) CHECK_FALSE(recent);
            else if (!recent) ++again;
        }
    }
    CHECK(again == 0);
    for (unsigned h = 1; h <= 64; ++h) {
        Sighting t{};
        t.kind = Sighting::ipv4_host;
        t.mac = mac(static_cast<uint8_t>(h));
        t.addr = neighbor_key4(ip4("192.168.1.0") + h);
        CHECK_FALSE(g.recently_reported(t, 1200, 100));
    }
}

namespace {

Bytes arp_frame(uint16_t op, const char *sender, const char *target, const rte_ether_addr &sha) {
    Bytes f = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    f.insert(f.end(), sha.addr_bytes, sha.addr_bytes + 6);
    f.insert(f.end(), {0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, static_cast<uint8_t>(op)});
    f.insert(f.end(), sha.addr_bytes, sha.addr_bytes + 6);
    const Ip4 s = ip4(sender), t = ip4(target);
    for (int i = 0; i < 4; ++i) f.push_back(static_cast<uint8_t>(s >> (24 - 8 * i)));
    f.insert(f.end(), 6, 0);
    for (int i = 0; i < 4; ++i) f.push_back(static_cast<uint8_t>(t >> (24 - 8 * i)));
    return f;
}

// ICMPv6 ND message with an optional link-layer address option (type 1 or 2).
Bytes nd_frame(uint8_t type, const char *src, const char *dst, const char *target, const rte_ether_addr &eth_src,
               int opt_type, const rte_ether_addr &opt_mac, uint8_t hop_limit = 255, uint8_t opt_len = 1) {
    Bytes icmp = {type, 0, 0, 0, 0, 0, 0, 0};
    const Ip6 tgt = ip6(target);
    icmp.insert(icmp.end(), tgt.b.begin(), tgt.b.end());
    if (opt_type) {
        icmp.push_back(static_cast<uint8_t>(opt_type));
        icmp.push_back(opt_len);
        icmp.insert(icmp.end(), opt_mac.addr_bytes, opt_mac.addr_bytes + 6);
    }
    Bytes f = {0x33, 0x33, 0, 0, 0, 1};
    f.insert(f.end(), eth_src.addr_bytes, eth_src.addr_bytes + 6);
    f.insert(f.end(), {0x86, 0xdd, 0x60, 0, 0, 0, 0, static_cast<uint8_t>(icmp.size()), 58, hop_limit});
    const Ip6 s = ip6(src), d = ip6(dst);
    f.insert(f.end(), s.b.begin(), s.b.end());
    f.insert(f.end(), d.b.begin(), d.b.end());
    f.insert(f.end(), icmp.begin(), icmp.end());
    return f;
}

}  // namespace

TEST_CASE("snoop_neighbor: ARP", "[neighbors]") {
    Learned l;
    Bytes req = arp_frame(1, "192.168.1.100", "192.168.1.1", mac(0x64));
    REQUIRE(snoop_neighbor(req.data(), static_cast<uint32_t>(req.size()), l));
    CHECK(l.key == neighbor_key4(ip4("192.168.1.100")));
    CHECK(same(l.mac, mac(0x64)));
    Bytes reply = arp_frame(2, "192.168.1.50", "192.168.1.1", mac(0x50));
    REQUIRE(snoop_neighbor(reply.data(), static_cast<uint32_t>(reply.size()), l));
    CHECK(l.key == neighbor_key4(ip4("192.168.1.50")));

    Bytes probe = arp_frame(1, "0.0.0.0", "192.168.1.100", mac(0x64));  // RFC 5227 probe
    CHECK(!snoop_neighbor(probe.data(), static_cast<uint32_t>(probe.size()), l));
    Bytes bad_op = arp_frame(3, "192.168.1.100", "192.168.1.1", mac(0x64));
    CHECK(!snoop_neighbor(bad_op.data(), static_cast<uint32_t>(bad_op.size()), l));
    Bytes multicast_sender = arp_frame(1, "192.168.1.100", "192.168.1.1", mac(0x64, 0x01));
    CHECK(!snoop_neighbor(multicast_sender.data(), static_cast<uint32_t>(multicast_sender.size()), l));
    CHECK(!snoop_neighbor(req.data(), 14 + 27, l));
}

TEST_CASE("snoop_neighbor: ND", "[neighbors]") {
    Learned l;
    SECTION("NS: the solicitor, from its Source Link-Layer Address option") {
        Bytes ns = nd_frame(135, "2001:db8:1:1::100", "ff02::1:ff00:1", "2001:db8:1:1::1", mac(0x64), 1, mac(0x65));
        REQUIRE(snoop_neighbor(ns.data(), static_cast<uint32_t>(ns.size()), l));
        CHECK(l.key == ip6("2001:db8:1:1::100"));
        CHECK(same(l.mac, mac(0x65)));
        Bytes no_option = nd_frame(135, "2001:db8:1:1::100", "ff02::1:ff00:1", "2001:db8:1:1::1", mac(0x64), 0, mac(0));
        CHECK(!snoop_neighbor(no_option.data(), static_cast<uint32_t>(no_option.size()), l));
        Bytes dad = nd_frame(135, "::", "ff02::1:ff00:100", "2001:db8:1:1::100", mac(0x64), 0, mac(0));
        CHECK(!snoop_neighbor(dad.data(), static_cast<uint32_t>(dad.size()), l));
    }
    SECTION("NA: the target, from its Target Link-Layer Address option or the frame") {
        Bytes na = nd_frame(136, "2001:db8:ffff::1", "2001:db8:ffff::2", "2001:db8:ffff::1", mac(1), 2, mac(7));
        REQUIRE(snoop_neighbor(na.data(), static_cast<uint32_t>(na.size()), l));
        CHECK(l.key == ip6("2001:db8:ffff::1"));
        CHECK(same(l.mac, mac(7)));
        Bytes bare = nd_frame(136, "2001:db8:ffff::1", "2001:db8:ffff::2", "2001:db8:ffff::1", mac(1), 0, mac(0));
        REQUIRE(snoop_neighbor(bare.data(), static_cast<uint32_t>(bare.size()), l));
        CHECK(same(l.mac, mac(1)));
    }
    SECTION("refused: hop limit not 255, option length 0, truncated, other ICMPv6") {
        Bytes routed = nd_frame(136, "2001:db8:ffff::1", "2001:db8:ffff::2", "2001:db8:ffff::1", mac(1), 2, mac(7), 254);
        CHECK(!snoop_neighbor(routed.data(), static_cast<uint32_t>(routed.size()), l));
        Bytes zero = nd_frame(135, "2001:db8:1:1::100", "ff02::1:ff00:1", "2001:db8:1:1::1", mac(0x64), 1, mac(0x65), 255, 0);
        CHECK(!snoop_neighbor(zero.data(), static_cast<uint32_t>(zero.size()), l));
        Bytes na = nd_frame(136, "2001:db8:ffff::1", "2001:db8:ffff::2", "2001:db8:ffff::1", mac(1), 2, mac(7));
        CHECK(!snoop_neighbor(na.data(), static_cast<uint32_t>(na.size() - 9), l));  // payload length lies
        Bytes echo = nd_frame(128, "2001:db8:ffff::1", "2001:db8:ffff::2", "2001:db8:ffff::1", mac(1), 2, mac(7));
        CHECK(!snoop_neighbor(echo.data(), static_cast<uint32_t>(echo.size()), l));
    }
}

TEST_CASE("build_arp_request / build_neighbor_solicitation", "[neighbors]") {
    const unsigned in_use = test::pool_in_use();
    const rte_ether_addr own{{0x02, 0, 0, 0, 0x01, 0x01}};
    SECTION("ARP request") {
        rte_mbuf *m = build_arp_request(test::g_pool, own, ip4("192.168.1.1"), ip4("192.168.1.100"));
        REQUIRE(m);
        Bytes f = test::mbuf_bytes(m);
        rte_pktmbuf_free(m);
        REQUIRE(f.size() == 60);
        const Bytes expected_head = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 1, 1, 0x08, 0x06,
                                     0, 1, 0x08, 0, 6, 4, 0, 1, 0x02, 0, 0, 0, 1, 1, 192, 168, 1, 1,
                                     0, 0, 0, 0, 0, 0, 192, 168, 1, 100};
        CHECK(Bytes(f.begin(), f.begin() + 42) == expected_head);
        CHECK(Bytes(f.begin() + 42, f.end()) == Bytes(18, 0));
        Learned l;  // what a peer snooping it would learn: us
        REQUIRE(snoop_neighbor(f.data(), 60, l));
        CHECK(l.key == neighbor_key4(ip4("192.168.1.1")));
        CHECK(same(l.mac, own));
    }
    SECTION("Neighbor Solicitation") {
        const Ip6 src = ip6("2001:db8:ffff::2"), target = ip6("2001:db8:ffff::1:abcd");
        rte_mbuf *m = build_neighbor_solicitation(test::g_pool, own, src, target);
        REQUIRE(m);
        Bytes f = test::mbuf_bytes(m);
        rte_pktmbuf_free(m);
        REQUIRE(f.size() == 14 + 40 + 32);
        CHECK(Bytes(f.begin(), f.begin() + 6) == Bytes{0x33, 0x33, 0xff, 0x01, 0xab, 0xcd});
        Ip6 dst;
        memcpy(dst.b.data(), f.data() + 14 + 24, 16);
        CHECK(dst == ip6("ff02::1:ff01:abcd"));
        CHECK(f[14 + 6] == 58);
        CHECK(f[14 + 7] == 255);
        // The checksum verifies: the sum over pseudo-header and message folds to 0xffff.
        uint32_t sum = xlat::csum::pseudo6(src, dst, 58, 32);
        sum = xlat::csum::add_bytes(sum, f.data() + 54, 32);
        CHECK(xlat::csum::fold(sum) == 0xffff);
        Learned l;
        REQUIRE(snoop_neighbor(f.data(), static_cast<uint32_t>(f.size()), l));
        CHECK(l.key == src);
        CHECK(same(l.mac, own));
    }
    CHECK(test::pool_in_use() == in_use);
}

TEST_CASE("link_local_eui64", "[neighbors]") {
    CHECK(link_local_eui64(rte_ether_addr{{0x02, 0, 0, 0, 0x01, 0x01}}) == ip6("fe80::ff:fe00:101"));
    CHECK(link_local_eui64(rte_ether_addr{{0x00, 0x1b, 0x21, 0xaa, 0xbb, 0xcc}}) == ip6("fe80::21b:21ff:feaa:bbcc"));
}
