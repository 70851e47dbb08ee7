// dp::classify: frames -> decision (translate, forward natively, to the kernel, drop with reason).
#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "classify.hpp"

using namespace eamclat;
using namespace eamclat::dp;

namespace {

using Bytes = std::vector<uint8_t>;

const uint8_t lan_mac[6] = {0x02, 0, 0, 0, 0x01, 0x01};
const uint8_t wan_mac[6] = {0x02, 0, 0, 0, 0x02, 0x02};
const uint8_t host_mac[6] = {0x02, 0, 0, 0, 0, 0x64};
const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

Ip6 ip6(const char *s) { return *Ip6::parse(s); }
Ip4 ip4(const char *s) { return *parse_ip4(s); }

ClassifyConfig make_config(xlat::Mode mode = xlat::Mode::clat) {
    ClassifyConfig c;
    c.mode = mode;
    memcpy(c.lan.mac, lan_mac, 6);
    memcpy(c.wan.mac, wan_mac, 6);
    c.lan.add4(ip4("192.168.1.1"), 24);
    c.lan.add6(ip6("2001:db8:1:1::1"), 64);
    c.wan.add6(ip6("2001:db8:ffff::2"), 64);
    c.has_clat_prefix = true;
    c.clat_prefix = *Prefix6::parse("2001:db8:1:ff::/96");
    c.has_delegated = true;
    c.delegated = *Prefix6::parse("2001:db8:1::/56");
    return c;
}

Bytes ether(const uint8_t *dst, const uint8_t *src, uint16_t type) {
    Bytes f(14);
    memcpy(f.data(), dst, 6);
    memcpy(f.data() + 6, src, 6);
    f[12] = static_cast<uint8_t>(type >> 8);
    f[13] = static_cast<uint8_t>(type);
    return f;
}

Bytes ipv4_frame(const char *src, const char *dst, const uint8_t *dst_mac = lan_mac, uint8_t ttl = 64) {
    Bytes f = ether(dst_mac, host_mac, 0x0800);
    uint8_t ip[20] = {0x45, 0, 0, 20, 0, 0, 0, 0, ttl, 17};
    const Ip4 s = ip4(src), d = ip4(dst);
    for (int i = 0; i < 4; ++i) {
        ip[12 + i] = static_cast<uint8_t>(s >> (24 - 8 * i));
        ip[16 + i] = static_cast<uint8_t>(d >> (24 - 8 * i));
    }
    f.insert(f.end(), ip, ip + 20);
    return f;
}

Bytes ipv6_frame(const char *src, const char *dst, const uint8_t *dst_mac, uint8_t hop_limit = 64) {
    Bytes f = ether(dst_mac, host_mac, 0x86dd);
    uint8_t ip[40] = {0x60, 0, 0, 0, 0, 0, 17, hop_limit};
    memcpy(ip + 8, ip6(src).b.data(), 16);
    memcpy(ip + 24, ip6(dst).b.data(), 16);
    f.insert(f.end(), ip, ip + 40);
    return f;
}

Decision run(const ClassifyConfig &c, PortRole in, const Bytes &f) {
    return classify(c, in, f.data(), static_cast<uint32_t>(f.size()));
}

bool dropped(const Decision &d, Fate f) { return d.action == Action::drop && d.fate == f; }
bool punted(const Decision &d, Fate f) { return d.action == Action::punt && d.fate == f; }

}  // namespace

TEST_CASE("classify: LAN IPv4", "[classify]") {
    const ClassifyConfig c = make_config();

    SECTION("to a remote destination: translate 4->6, sender reported") {
        Decision d = run(c, PortRole::lan, ipv4_frame("192.168.1.100", "203.0.113.20"));
        CHECK(d.action == Action::translate_4to6);
        CHECK(d.sight == Sight::ipv4_source);
    }
    SECTION("to the box: to the kernel") {
        Decision d = run(c, PortRole::lan, ipv4_frame("192.168.1.100", "192.168.1.1"));
        CHECK(punted(d, Fate::punted_own_address));
        CHECK(d.sight == Sight::ipv4_source);
    }
    SECTION("broadcast and multicast: to the kernel") {
        CHECK(punted(run(c, PortRole::lan, ipv4_frame("0.0.0.0", "255.255.255.255", bcast_mac)), Fate::punted_multicast));
        CHECK(punted(run(c, PortRole::lan, ipv4_frame("192.168.1.100", "192.168.1.255", bcast_mac)), Fate::punted_multicast));
        // directed broadcast even in a unicast frame
        CHECK(punted(run(c, PortRole::lan, ipv4_frame("192.168.1.100", "192.168.1.255")), Fate::punted_multicast));
        const uint8_t mdns_mac[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb};
        CHECK(punted(run(c, PortRole::lan, ipv4_frame("192.168.1.100", "224.0.0.251", mdns_mac)), Fate::punted_multicast));
        // DHCP DISCOVER: source 0.0.0.0 is not a host to learn
        CHECK(run(c, PortRole::lan, ipv4_frame("0.0.0.0", "255.255.255.255", bcast_mac)).sight == Sight::none);
    }
    SECTION("to another host of the LAN, or from outside the LAN subnet") {
        CHECK(dropped(run(c, PortRole::lan, ipv4_frame("192.168.1.100", "192.168.1.50")), Fate::drop_not_for_us));
        Decision d = run(c, PortRole::lan, ipv4_frame("10.0.0.5", "203.0.113.20"));
        CHECK(dropped(d, Fate::drop_src_not_on_lan));
        CHECK(d.sight == Sight::none);
        // the box's own address as a source is not a LAN host either
        CHECK(dropped(run(c, PortRole::lan, ipv4_frame("192.168.1.1", "203.0.113.20")), Fate::drop_src_not_on_lan));
        // siit: the IPv4 side may be routed; the translator decides
        const ClassifyConfig siit = make_config(xlat::Mode::siit);
        CHECK(run(siit, PortRole::lan, ipv4_frame("10.0.0.5", "203.0.113.20")).action == Action::translate_4to6);
    }
    SECTION("unicast frame for another MAC") {
        const uint8_t other[6] = {0x02, 0, 0, 0, 0x99, 0x99};
        CHECK(dropped(run(c, PortRole::lan, ipv4_frame("192.168.1.100", "203.0.113.20", other)), Fate::drop_not_for_us));
        // the WAN MAC is not the LAN port's
        CHECK(dropped(run(c, PortRole::lan, ipv4_frame("192.168.1.100", "203.0.113.20", wan_mac)), Fate::drop_not_for_us));
    }
    SECTION("IPv4 on the WAN") {
        CHECK(dropped(run(c, PortRole::wan, ipv4_frame("203.0.113.1", "192.168.1.100", wan_mac)), Fate::drop_ipv4_on_wan));
    }
    SECTION("malformed") {
        Bytes f = ipv4_frame("192.168.1.100", "203.0.113.20");
        f[14] = 0x65;  // version 6 under EtherType IPv4
        CHECK(dropped(run(c, PortRole::lan, f), Fate::drop_bad_ip_version));
        Bytes shorter(f.begin(), f.begin() + 14 + 19);
        CHECK(dropped(run(c, PortRole::lan, shorter), Fate::drop_truncated_frame));
    }
}

TEST_CASE("classify: Ethernet", "[classify]") {
    const ClassifyConfig c = make_config();
    Bytes f = ether(lan_mac, host_mac, 0x8100);
    f.resize(60);
    CHECK(dropped(run(c, PortRole::lan, f), Fate::drop_vlan));
    f[12] = 0x88, f[13] = 0xa8;
    CHECK(dropped(run(c, PortRole::lan, f), Fate::drop_vlan));
    f[12] = 0x88, f[13] = 0xcc;  // LLDP
    CHECK(dropped(run(c, PortRole::lan, f), Fate::drop_unknown_ethertype));
    CHECK(dropped(classify(c, PortRole::lan, f.data(), 13), Fate::drop_truncated_frame));
    CHECK(dropped(classify(c, PortRole::lan, f.data(), 0), Fate::drop_truncated_frame));

    Bytes arp = ether(bcast_mac, host_mac, 0x0806);
    arp.resize(14 + 28);
    CHECK(punted(run(c, PortRole::lan, arp), Fate::punted_arp));
    CHECK(punted(run(c, PortRole::wan, arp), Fate::punted_arp));
    CHECK(dropped(classify(c, PortRole::lan, arp.data(), 14 + 27), Fate::drop_truncated_frame));
}

TEST_CASE("classify: WAN IPv6", "[classify]") {
    const ClassifyConfig c = make_config();
    SECTION("to the CLAT prefix: translate 6->4") {
        Decision d = run(c, PortRole::wan, ipv6_frame("2001:db8:20::20", "2001:db8:1:ff::c0a8:164", wan_mac));
        CHECK(d.action == Action::translate_6to4);
        CHECK(d.sight == Sight::none);  // WAN senders are not LAN hosts
    }
    SECTION("to a LAN host: forwarded, hop limit checked") {
        Decision d = run(c, PortRole::wan, ipv6_frame("2001:db8:20::20", "2001:db8:1:1::100", wan_mac));
        CHECK(d.action == Action::forward6);
        CHECK(d.fate == Fate::forwarded6_wan_to_lan);
        Decision expired = run(c, PortRole::wan, ipv6_frame("2001:db8:20::20", "2001:db8:1:1::100", wan_mac, 1));
        CHECK(expired.action == Action::hop_limit_expired);
        CHECK(expired.fate == Fate::drop_hop_limit_expired);  // if no Time Exceeded can be sent
        CHECK(run(c, PortRole::wan, ipv6_frame("2001:db8:20::20", "2001:db8:1:1::100", wan_mac, 0)).action ==
              Action::hop_limit_expired);
        CHECK(run(c, PortRole::wan, ipv6_frame("2001:db8:20::20", "2001:db8:1:1::100", wan_mac, 2)).action ==
              Action::forward6);
    }
    SECTION("to the box: to the kernel (either of its addresses)") {
        CHECK(punted(run(c, PortRole::wan, ipv6_frame("2001:db8:ffff::1", "2001:db8:ffff::2", wan_mac)),
                     Fate::punted_own_address));
        CHECK(punted(run(c, PortRole::wan, ipv6_frame("2001:db8:ffff::1", "2001:db8:1:1::1", wan_mac)),
                     Fate::punted_own_address));
    }
    SECTION("multicast and link-local: to the kernel") {
        const uint8_t ns_mac[6] = {0x33, 0x33, 0xff, 0, 0, 0x02};
        CHECK(punted(run(c, PortRole::wan, ipv6_frame("fe80::1", "ff02::1:ff00:2", ns_mac)), Fate::punted_multicast));
        CHECK(punted(run(c, PortRole::wan, ipv6_frame("fe80::1", "fe80::ff:fe00:202", wan_mac)), Fate::punted_link_local));
        CHECK(punted(run(c, PortRole::wan, ipv6_frame("fe80::1", "febf::1", wan_mac)), Fate::punted_link_local));
        // fec0::/10 is not link-local
        CHECK(dropped(run(c, PortRole::wan, ipv6_frame("fe80::1", "fec0::1", wan_mac)), Fate::drop_no_route));
    }
    SECTION("anything else: no route in clat mode, the translator's in siit mode") {
        CHECK(dropped(run(c, PortRole::wan, ipv6_frame("2001:db8:20::20", "2001:db8:99::1", wan_mac)), Fate::drop_no_route));
        // inside the delegated prefix but on no LAN subnet
        CHECK(dropped(run(c, PortRole::wan, ipv6_frame("2001:db8:20::20", "2001:db8:1:2::1", wan_mac)), Fate::drop_no_route));
        const ClassifyConfig siit = make_config(xlat::Mode::siit);
        CHECK(run(siit, PortRole::wan, ipv6_frame("2001:db8:20::20", "2001:db8:99::1", wan_mac)).action ==
              Action::translate_6to4);
    }
    SECTION("malformed") {
        Bytes f = ipv6_frame("2001:db8:20::20", "2001:db8:1:ff::c0a8:164", wan_mac);
        f[14] = 0x45;
        CHECK(dropped(run(c, PortRole::wan, f), Fate::drop_bad_ip_version));
        CHECK(dropped(classify(c, PortRole::wan, f.data(), 14 + 39), Fate::drop_truncated_frame));
    }
}

TEST_CASE("classify: LAN IPv6", "[classify]") {
    const ClassifyConfig c = make_config();
    SECTION("from the delegated prefix: forwarded to the WAN, sender reported") {
        Decision d = run(c, PortRole::lan, ipv6_frame("2001:db8:1:1::100", "2001:db8:20::20", lan_mac));
        CHECK(d.action == Action::forward6);
        CHECK(d.fate == Fate::forwarded6_lan_to_wan);
        CHECK(d.sight == Sight::ipv6_source);
        CHECK(run(c, PortRole::lan, ipv6_frame("2001:db8:1:1::100", "2001:db8:20::20", lan_mac, 1)).action ==
              Action::hop_limit_expired);
        // the source check comes first: no error for a source we would not forward for
        CHECK(dropped(run(c, PortRole::lan, ipv6_frame("2001:db8:2::100", "2001:db8:20::20", lan_mac, 1)),
                      Fate::drop_src_not_delegated));
    }
    SECTION("from outside the delegated prefix, or no delegated prefix") {
        CHECK(dropped(run(c, PortRole::lan, ipv6_frame("2001:db8:2::100", "2001:db8:20::20", lan_mac)),
                      Fate::drop_src_not_delegated));
        CHECK(dropped(run(c, PortRole::lan, ipv6_frame("fe80::100", "2001:db8:20::20", lan_mac)),
                      Fate::drop_src_not_delegated));
        ClassifyConfig none = make_config();
        none.has_delegated = false;
        CHECK(dropped(run(none, PortRole::lan, ipv6_frame("2001:db8:1:1::100", "2001:db8:20::20", lan_mac)),
                      Fate::drop_src_not_delegated));
    }
    SECTION("to a neighbor on the LAN") {
        CHECK(dropped(run(c, PortRole::lan, ipv6_frame("2001:db8:1:1::100", "2001:db8:1:1::200", lan_mac)),
                      Fate::drop_not_for_us));
    }
    SECTION("ND from a host: to the kernel; DAD (from ::) reports nothing") {
        const uint8_t ns_mac[6] = {0x33, 0x33, 0xff, 0, 0, 0x01};
        Decision d = run(c, PortRole::lan, ipv6_frame("fe80::100", "ff02::1:ff00:1", ns_mac));
        CHECK(punted(d, Fate::punted_multicast));
        CHECK(d.sight == Sight::ipv6_source);  // "this MAC sent IPv6"
        CHECK(run(c, PortRole::lan, ipv6_frame("::", "ff02::1:ff00:100", ns_mac)).sight == Sight::none);
    }
    SECTION("DNS to the box over IPv6") {
        CHECK(punted(run(c, PortRole::lan, ipv6_frame("2001:db8:1:1::100", "2001:db8:1:1::1", lan_mac)),
                     Fate::punted_own_address));
    }
}

TEST_CASE("LinkAddresses", "[classify]") {
    LinkAddresses l;
    REQUIRE(l.add4(ip4("10.0.0.1"), 31));
    REQUIRE(l.add4(ip4("192.168.1.1"), 24));
    REQUIRE(l.add6(ip6("2001:db8:1:1::1"), 64));
    CHECK(l.is_own4(ip4("10.0.0.1")));
    CHECK(!l.is_own4(ip4("10.0.0.0")));
    CHECK(l.on_link4(ip4("10.0.0.0")));
    CHECK(!l.on_link4(ip4("10.0.0.2")));
    CHECK(!l.is_broadcast4(ip4("10.0.0.1")));  // RFC 3021: a /31 has no broadcast
    CHECK(l.is_broadcast4(ip4("192.168.1.255")));
    CHECK(l.is_broadcast4(ip4("255.255.255.255")));
    CHECK(!l.is_broadcast4(ip4("192.168.2.255")));
    CHECK(l.on_link6(ip6("2001:db8:1:1:ffff::1")));
    CHECK(!l.on_link6(ip6("2001:db8:1:2::1")));
    CHECK(l.onlink6[0].addr == ip6("2001:db8:1:1::"));
    for (unsigned i = 2; i < LinkAddresses::max; ++i) CHECK(l.add4(ip4("172.16.0.1") + i, 32));
    CHECK(!l.add4(ip4("172.16.1.1"), 32));  // full: refused, not overflowed
    CHECK(!l.add6(ip6("::1"), 129));
}
