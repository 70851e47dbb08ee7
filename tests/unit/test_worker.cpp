// dp::Worker::handle_burst end to end on ring-backed ports: the staged burst (classification,
// bulk flow lookups, bulk EAMT lookups behind per-packet hints once the EAMT is large) must send
// exactly what the translator decides for each packet on its own, in arrival order, and must never
// apply a lookup made for one burst to the next (the records of a burst's lookups may be freed as
// soon as the worker reports its quiescent state).
#include <catch2/catch.hpp>

#include <rte_cycles.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_ring.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "mbuf_util.hpp"
#include "tables/daemon_mapper.hpp"
#include "tables/eamt_tables.hpp"
#include "tables/flow_table.hpp"
#include "tables/rcu.hpp"
#include "worker.hpp"
#include "xlat/checksum.hpp"
#include "xlat/mapper.hpp"

using namespace eamclat;
using namespace eamclat::test;

namespace {

constexpr uint8_t lan_mac[6] = {2, 0, 0, 0, 0, 1};
constexpr uint8_t wan_mac[6] = {2, 0, 0, 0, 0, 2};
constexpr uint8_t gw_mac[6] = {2, 0, 0, 0, 0, 0xfe};
constexpr uint8_t host_mac[6] = {2, 0, 0, 0, 1, 1};

Ip4 ip4(const char *s) { return *parse_ip4(s); }
Ip6 ip6(const char *s) { return *Ip6::parse(s); }
rte_ether_addr ether(const uint8_t (&b)[6]) {
    rte_ether_addr e;
    memcpy(e.addr_bytes, b, 6);
    return e;
}

// EAMT entry i: 198.19.0.0 + i <-> 2001:2:0:1::i.
Ip4 entry4(uint32_t i) { return ip4("198.19.0.0") + i; }
Ip6 entry6(uint32_t i) {
    Ip6 a = ip6("2001:2:0:1::");
    const uint32_t be = __builtin_bswap32(i);
    memcpy(a.b.data() + 12, &be, 4);
    return a;
}

// One port whose TX queue is a ring the test reads (net_ring PMD).
struct RingPort {
    rte_ring *rx = nullptr, *tx = nullptr;
    uint16_t id = 0;
    explicit RingPort(const std::string &name) {
        rx = rte_ring_create((name + "_rx").c_str(), 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
        tx = rte_ring_create((name + "_tx").c_str(), 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
        REQUIRE(rx);
        REQUIRE(tx);
        const int p = rte_eth_from_rings(name.c_str(), &rx, 1, &tx, 1, SOCKET_ID_ANY);
        REQUIRE(p >= 0);
        id = static_cast<uint16_t>(p);
        rte_eth_conf conf{};
        REQUIRE(rte_eth_dev_configure(id, 1, 1, &conf) == 0);
        REQUIRE(rte_eth_rx_queue_setup(id, 0, 1024, SOCKET_ID_ANY, nullptr, g_pool) == 0);
        REQUIRE(rte_eth_tx_queue_setup(id, 0, 1024, SOCKET_ID_ANY, nullptr) == 0);
        REQUIRE(rte_eth_dev_start(id) == 0);
    }
    std::vector<Bytes> drain() {
        std::vector<Bytes> out;
        void *m;
        while (rte_ring_dequeue(tx, &m) == 0) {
            out.push_back(mbuf_bytes(static_cast<rte_mbuf *>(m)));
            rte_pktmbuf_free(static_cast<rte_mbuf *>(m));
        }
        return out;
    }
};

// A LAN host's IPv4 UDP datagram in an Ethernet frame to the box, checksums right.
Bytes udp_frame(Ip4 src, Ip4 dst, uint16_t sport, uint16_t dport) {
    Bytes f(14 + 20 + 8 + 4, 0);
    memcpy(f.data(), lan_mac, 6);
    memcpy(f.data() + 6, host_mac, 6);
    f[12] = 0x08;
    uint8_t *ip = f.data() + 14;
    ip[0] = 0x45;
    xlat::csum::store16(ip + 2, 32);
    ip[6] = 0x40;  // DF
    ip[8] = 64;
    ip[9] = 17;
    xlat::csum::store16(ip + 12, static_cast<uint16_t>(src >> 16));
    xlat::csum::store16(ip + 14, static_cast<uint16_t>(src));
    xlat::csum::store16(ip + 16, static_cast<uint16_t>(dst >> 16));
    xlat::csum::store16(ip + 18, static_cast<uint16_t>(dst));
    xlat::csum::store16(ip + 10, xlat::csum::finish(xlat::csum::add_bytes(0, ip, 20)));
    uint8_t *udp = ip + 20;
    xlat::csum::store16(udp, sport);
    xlat::csum::store16(udp + 2, dport);
    xlat::csum::store16(udp + 4, 12);
    memcpy(udp + 8, "eam!", 4);
    uint32_t sum = xlat::csum::pseudo4(src, dst, 17, 12);
    uint16_t c = xlat::csum::finish(xlat::csum::add_bytes(sum, udp, 12));
    xlat::csum::store16(udp + 6, c ? c : 0xffff);
    return f;
}

struct Rig {
    xlat::Config cfg;
    tables::Rcu rcu{1};
    std::unique_ptr<tables::EamtTables> eamt;
    std::unique_ptr<tables::FlowTable> flows;
    std::unique_ptr<tables::DaemonMapper> mapper;
    dp::NeighborTable neighbors[dp::port_role_count] = {dp::NeighborTable(64), dp::NeighborTable(64)};
    dp::ClassifyConfig classify;
    std::unique_ptr<RingPort> lan, wan;
    std::unique_ptr<dp::Worker> worker;
    std::atomic<bool> stop{false};

    Rig(uint32_t entries, bool with_flows, const std::string &tag) {
        cfg.mode = xlat::Mode::clat;
        cfg.clat_prefix = Prefix6::parse("2001:2:0:c1a7::/96");
        cfg.plat_prefix = Prefix6::parse("2001:db8:64::/96");
        tables::EamtCapacity cap;
        cap.global_entries = entries + 64;
        cap.learned_entries = 64;
        eamt = std::make_unique<tables::EamtTables>(cap, rcu);
        for (uint32_t i = 0; i < entries; ++i) {
            xlat::EamtEntry e{Prefix4{entry4(i), 32}, Prefix6{entry6(i), 128}, xlat::EamtSource::operator_table};
            std::string err;
            REQUIRE(eamt->add(e, &err));
        }
        if (with_flows) flows = std::make_unique<tables::FlowTable>(4096, tables::FlowTimeouts{}, rcu);
        mapper = std::make_unique<tables::DaemonMapper>(cfg, *eamt, flows.get());
        neighbors[1].set_static(ip6("2001:2:0:ffff::fe"), ether(gw_mac));
        classify.mode = xlat::Mode::clat;
        classify.lan.add4(ip4("198.18.0.254"), 24);
        classify.wan.add6(ip6("2001:2:0:ffff::1"), 64);
        memcpy(classify.lan.mac, lan_mac, 6);
        memcpy(classify.wan.mac, wan_mac, 6);
        classify.has_clat_prefix = true;
        classify.clat_prefix = *cfg.clat_prefix;
        lan = std::make_unique<RingPort>("ut_w_lan_" + tag);
        wan = std::make_unique<RingPort>("ut_w_wan_" + tag);
        const uint64_t hz = rte_get_tsc_hz();
        dp::WorkerSetup s;
        s.classify = &classify;
        s.ports[0].port_id = lan->id;
        s.ports[0].mac = ether(lan_mac);
        s.ports[0].neighbors = &neighbors[0];
        s.ports[1].port_id = wan->id;
        s.ports[1].mac = ether(wan_mac);
        s.ports[1].neighbors = &neighbors[1];
        s.has_gateway = true;
        s.gateway = ip6("2001:2:0:ffff::fe");
        s.xlat = xlat::Context{&cfg, mapper.get(), g_pool};
        s.flow_mapper = mapper.get();
        s.tsc_hz = hz;
        s.stop = &stop;
        s.drain_tsc = hz;
        s.sighting_interval_tsc = hz;
        s.neighbor_hold_tsc = hz;
        s.icmp6_error_interval_tsc = hz / 1000;
        worker = std::make_unique<dp::Worker>(s);
    }
    ~Rig() {
        lan->drain();
        wan->drain();
        rte_eth_dev_stop(lan->id);
        rte_eth_dev_stop(wan->id);
        rte_eth_dev_close(lan->id);
        rte_eth_dev_close(wan->id);
    }

    // One RX burst from the LAN; returns what left on the WAN, in order.
    std::vector<Bytes> burst(const std::vector<Bytes> &frames) {
        std::vector<rte_mbuf *> pkts;
        for (const Bytes &f : frames) pkts.push_back(make_mbuf(f));
        const uint64_t now = rte_rdtsc();
        worker->handle_burst(dp::PortRole::lan, pkts.data(), static_cast<unsigned>(pkts.size()), now);
        worker->drain(now);
        return wan->drain();
    }
};

Ip6 dst_of(const Bytes &frame) {
    Ip6 a;
    REQUIRE(frame.size() >= 14 + 40);
    memcpy(a.b.data(), frame.data() + 14 + 24, 16);
    return a;
}

// The worker's non-zero counters, for failure messages.
std::string fates(const dp::WorkerCounters &c) {
    std::string s;
    for (unsigned f = 0; f < dp::fate_count; ++f)
        if (c.fate[f]) s += std::string(dp::fate_info[f].name) + "=" + std::to_string(c.fate[f]) + " ";
    for (unsigned f = 0; f < xlat::fate_count; ++f)
        if (c.xlat_fate[f]) s += std::string(xlat::fate_info[f].name) + "=" + std::to_string(c.xlat_fate[f]) + " ";
    for (unsigned r = 0; r < dp::port_role_count; ++r)
        for (unsigned f = 0; f < dp::egress_count; ++f)
            if (c.egress[r][f])
                s += std::string(dp::port_role_name(static_cast<dp::PortRole>(r))) + "." + dp::egress_info[f].name + "=" +
                     std::to_string(c.egress[r][f]) + " ";
    return s;
}

Ip6 plat(Ip4 a) { return xlat::rfc6052_embed(*Prefix6::parse("2001:db8:64::/96"), a); }

}  // namespace

TEST_CASE("Worker: a staged burst translates each packet as the translator would alone", "[worker]") {
    for (const bool with_flows : {false, true}) {
        // Above and below the size from which the worker looks EAMT entries up in bulk.
        for (const uint32_t entries : {16u, dp::Worker::bulk_eamt_threshold + 100}) {
            INFO("entries " << entries << " flows " << with_flows);
            const unsigned before = pool_in_use();
            {
                Rig rig(entries, with_flows, std::to_string(entries) + (with_flows ? "f" : "n"));
                // A full burst: entries hit in any order and repeated, addresses in no entry (PLAT),
                // and a frame for another MAC (dropped by the classifier) in the middle.
                std::vector<Bytes> frames;
                std::vector<Ip6> expect;
                for (unsigned i = 0; i < dp::Worker::burst; ++i) {
                    const Ip4 host = ip4("198.18.0.1") + i % 5;
                    if (i == 13) {
                        Bytes f = udp_frame(host, entry4(1), 1000, 53);
                        f[0] = 0x0a;  // another unicast MAC
                        frames.push_back(f);
                        continue;
                    }
                    const bool in_eamt = i % 4 != 3;
                    const uint32_t e = (i * 7) % 16;
                    const Ip4 dst = in_eamt ? entry4(e) : ip4("203.0.113.0") + i;
                    frames.push_back(udp_frame(host, dst, static_cast<uint16_t>(1000 + i), 53));
                    expect.push_back(in_eamt ? entry6(e) : plat(dst));
                }
                std::vector<Bytes> out = rig.burst(frames);
                INFO(fates(rig.worker->counters()));
                REQUIRE(out.size() == expect.size());
                for (size_t k = 0; k < out.size(); ++k) {
                    INFO("packet " << k);
                    CHECK(dst_of(out[k]) == expect[k]);
                    CHECK(memcmp(out[k].data(), gw_mac, 6) == 0);
                }

                // The entries go away and the table shrinks below the bulk size: the next burst must
                // not use anything looked up for the last one. New flows (other ports) go to the
                // PLAT; with a flow table, the flows of the first burst keep their pinned path
                // (draft §5.2.6).
                for (uint32_t i = 0; i < entries; ++i)
                    REQUIRE(rig.eamt->remove(xlat::EamtSource::operator_table, Prefix4{entry4(i), 32}));
                rig.eamt->reclaim_all();
                std::vector<Bytes> again;
                std::vector<Ip6> expect2;
                for (unsigned i = 0; i < dp::Worker::burst; ++i) {
                    const Ip4 host = ip4("198.18.0.1") + i % 5;
                    if (i == 13) continue;
                    const bool in_eamt = i % 4 != 3;
                    const uint32_t e = (i * 7) % 16;
                    const Ip4 dst = in_eamt ? entry4(e) : ip4("203.0.113.0") + i;
                    const bool same_flow = i % 2 == 0;
                    again.push_back(udp_frame(host, dst, static_cast<uint16_t>(same_flow ? 1000 + i : 3000 + i), 53));
                    expect2.push_back(with_flows && same_flow && in_eamt ? entry6(e) : plat(dst));
                }
                out = rig.burst(again);
                REQUIRE(out.size() == expect2.size());
                for (size_t k = 0; k < out.size(); ++k) {
                    INFO("second burst, packet " << k);
                    CHECK(dst_of(out[k]) == expect2[k]);
                }
                const dp::WorkerCounters &c = rig.worker->counters();
                CHECK(dp::read_counter(c.fate[static_cast<unsigned>(dp::Fate::drop_not_for_us)]) == 1);
                CHECK(dp::read_counter(c.xlat_fate[static_cast<unsigned>(xlat::Fate::translated_4to6)]) ==
                      expect.size() + expect2.size());
            }
            CHECK(pool_in_use() == before);
        }
    }
}
