// eamclat-gen: a paced UDP generator and checking receiver on two DPDK ports, the same for every
// device under test (scripts/bench/peer.py runs it against TAYGA and eamclat side by side).
//
//   eamclat-gen [EAL args] -- --tx PORT --rx PORT --dst-mac MAC --direction 4to6|6to4
//                 --src ADDR --dst ADDR --expect-src ADDR --expect-dst ADDR
//                 --rate PPS --seconds S [--flows N] [--frame-size B] [--burst 32] [--drain S]
//
// Sends --rate frames per second for --seconds on the TX port (rte_rdtsc pacing in whole bursts of
// --burst frames, one TX call each; a generator that falls behind by more than four bursts skips
// frames rather than catching up at its top speed, and counts them as "skipped"). The frames are 4->6: IPv4 UDP from --src
// to --dst, 64-byte frames (60 + FCS; RFC 2544 §9.1); 6->4: IPv6 UDP, the same UDP payload, 84-byte
// frames (RFC 8219 §5.1: the IPv4 size + 20). Destination MAC --dst-mac (the DUT's port), source MAC
// the TX port's own. UDP source ports 1024 .. 1024+flows-1, destination port 9 (discard).
//
// Every frame received on the RX port is checked. "received" counts only the translated frames:
// addressed to the RX port's MAC, of the other IP family, from --expect-src to --expect-dst, UDP,
// not fragmented, the expected length, ports and payload, valid UDP checksum (and IPv4 header
// checksum). A frame with the expected addresses that fails any other check counts as "bad" (a
// translator that mangles); anything else (ARP, ND, ...) as "other". The receiver keeps polling
// after the TX window until nothing arrived for 200 ms (at most --drain seconds).
//
// Prints {"event":"start"} when the TX window opens and {"event":"stop"} when it closes (so that
// the caller can sample the DUT's CPU time over exactly the window), then one JSON object with the
// counts. Only DPDK; no project code (it must not favour either DUT).
#include <arpa/inet.h>
#include <rte_byteorder.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

namespace {

[[noreturn]] void die(const std::string &msg) {
    fprintf(stderr, "eamclat-gen: %s\n", msg.c_str());
    exit(1);
}

constexpr uint16_t udp_dport = 9;
constexpr uint16_t udp_sport_base = 1024;
constexpr uint8_t magic[8] = {'e', 'a', 'm', 'c', 'g', 'e', 'n', '1'};

struct Options {
    std::string tx, rx;
    rte_ether_addr dst_mac{};
    bool dst_mac_given = false;
    bool four_to_six = true;
    uint8_t src[16]{}, dst[16]{}, expect_src[16]{}, expect_dst[16]{};
    double rate = 1000, seconds = 1, drain = 2;
    unsigned flows = 16, frame_size = 0, burst = 32;  // frame_size 0: 64 (4to6) / 84 (6to4)
};

// IPv4 goes in the first 4 bytes.
void parse_addr(const std::string &s, bool v6, uint8_t *out) {
    if (inet_pton(v6 ? AF_INET6 : AF_INET, s.c_str(), out) != 1)
        die("bad " + std::string(v6 ? "IPv6" : "IPv4") + " address " + s);
}

Options parse(int argc, char **argv) {
    Options o;
    std::string src, dst, esrc, edst;
    for (int i = 0; i < argc; ++i) {
        const std::string k = argv[i];
        auto val = [&]() -> std::string {
            if (i + 1 >= argc) die("missing value for " + k);
            return argv[++i];
        };
        if (k == "--tx") o.tx = val();
        else if (k == "--rx") o.rx = val();
        else if (k == "--dst-mac") {
            if (rte_ether_unformat_addr(val().c_str(), &o.dst_mac) != 0) die("bad --dst-mac");
            o.dst_mac_given = true;
        } else if (k == "--direction") {
            const std::string d = val();
            if (d != "4to6" && d != "6to4") die("--direction is 4to6 or 6to4");
            o.four_to_six = d == "4to6";
        } else if (k == "--src") src = val();
        else if (k == "--dst") dst = val();
        else if (k == "--expect-src") esrc = val();
        else if (k == "--expect-dst") edst = val();
        else if (k == "--rate") o.rate = std::stod(val());
        else if (k == "--seconds") o.seconds = std::stod(val());
        else if (k == "--drain") o.drain = std::stod(val());
        else if (k == "--flows") o.flows = static_cast<unsigned>(std::stoul(val()));
        else if (k == "--frame-size") o.frame_size = static_cast<unsigned>(std::stoul(val()));
        else if (k == "--burst") o.burst = static_cast<unsigned>(std::stoul(val()));
        else die("unknown option " + k);
    }
    if (o.tx.empty() || o.rx.empty() || !o.dst_mac_given || src.empty() || dst.empty() || esrc.empty() || edst.empty())
        die("--tx, --rx, --dst-mac, --src, --dst, --expect-src, --expect-dst are required");
    if (o.rate <= 0 || o.seconds <= 0) die("--rate and --seconds must be positive");
    if (o.flows < 1 || o.flows > 60000) die("--flows must be 1..60000");
    if (o.burst < 1 || o.burst > 256) die("--burst must be 1..256");
    parse_addr(src, !o.four_to_six, o.src);
    parse_addr(dst, !o.four_to_six, o.dst);
    parse_addr(esrc, o.four_to_six, o.expect_src);
    parse_addr(edst, o.four_to_six, o.expect_dst);
    const unsigned l3 = o.four_to_six ? 20 : 40;
    if (o.frame_size == 0) o.frame_size = o.four_to_six ? 64 : 84;
    if (o.frame_size < 14 + l3 + 8 + sizeof(magic) + 4 || o.frame_size > 1518) die("--frame-size out of range");
    return o;
}

// ---- checksums (RFC 1071), computed here from scratch rather than with the DUT's code

uint32_t sum16(const uint8_t *p, size_t n, uint32_t acc = 0) {
    for (size_t i = 0; i + 1 < n; i += 2) acc += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
    if (n & 1) acc += static_cast<uint32_t>(p[n - 1] << 8);
    return acc;
}
uint16_t fold(uint32_t acc) {
    while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
    return static_cast<uint16_t>(acc);
}
// Sum of the pseudo-header (RFC 768 / RFC 8200 §8.1) for UDP of length len.
uint32_t pseudo(bool v6, const uint8_t *src, const uint8_t *dst, unsigned len) {
    const size_t alen = v6 ? 16 : 4;
    uint32_t acc = sum16(src, alen);
    acc = sum16(dst, alen, acc);
    return acc + IPPROTO_UDP + len;
}

// ---- frames

// Writes one frame of the configured kind (without FCS) into buf; returns its length.
unsigned build_frame(const Options &o, const rte_ether_addr &src_mac, unsigned flow, uint8_t *buf) {
    const unsigned len = o.frame_size - 4;
    memset(buf, 0, len);
    auto *eth = reinterpret_cast<rte_ether_hdr *>(buf);
    eth->dst_addr = o.dst_mac;
    eth->src_addr = src_mac;
    uint8_t *l3 = buf + sizeof(rte_ether_hdr);
    const unsigned l3len = o.four_to_six ? 20 : 40;
    const unsigned udplen = len - 14 - l3len;
    uint8_t *udp = l3 + l3len;
    if (o.four_to_six) {
        eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
        l3[0] = 0x45;
        const uint16_t tot = static_cast<uint16_t>(l3len + udplen);
        l3[2] = static_cast<uint8_t>(tot >> 8);
        l3[3] = static_cast<uint8_t>(tot);
        l3[4] = static_cast<uint8_t>(flow >> 8);  // identification
        l3[5] = static_cast<uint8_t>(flow);
        l3[6] = 0x40;  // DF, as a host with path MTU discovery sends
        l3[8] = 64;    // TTL
        l3[9] = IPPROTO_UDP;
        memcpy(l3 + 12, o.src, 4);
        memcpy(l3 + 16, o.dst, 4);
        const uint16_t c = static_cast<uint16_t>(~fold(sum16(l3, 20)));
        l3[10] = static_cast<uint8_t>(c >> 8);
        l3[11] = static_cast<uint8_t>(c);
    } else {
        eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6);
        l3[0] = 0x60;
        l3[4] = static_cast<uint8_t>(udplen >> 8);
        l3[5] = static_cast<uint8_t>(udplen);
        l3[6] = IPPROTO_UDP;
        l3[7] = 64;  // hop limit
        memcpy(l3 + 8, o.src, 16);
        memcpy(l3 + 24, o.dst, 16);
    }
    const uint16_t sport = static_cast<uint16_t>(udp_sport_base + flow);
    udp[0] = static_cast<uint8_t>(sport >> 8);
    udp[1] = static_cast<uint8_t>(sport);
    udp[2] = udp_dport >> 8;
    udp[3] = udp_dport & 0xff;
    udp[4] = static_cast<uint8_t>(udplen >> 8);
    udp[5] = static_cast<uint8_t>(udplen);
    memcpy(udp + 8, magic, sizeof(magic));
    udp[8 + sizeof(magic)] = static_cast<uint8_t>(flow >> 8);
    udp[9 + sizeof(magic)] = static_cast<uint8_t>(flow);
    uint16_t c = static_cast<uint16_t>(~fold(sum16(udp, udplen, pseudo(!o.four_to_six, o.src, o.dst, udplen))));
    if (c == 0) c = 0xffff;
    udp[6] = static_cast<uint8_t>(c >> 8);
    udp[7] = static_cast<uint8_t>(c);
    return len;
}

// ---- the receiver's checks

enum class Verdict { good, bad, other };

struct RxStats {
    uint64_t good = 0, bad = 0, other = 0;
    std::map<std::string, uint64_t> bad_reasons;
    std::map<unsigned, uint64_t> hop_limits;  // TTL / hop limit of the good frames
};

Verdict check(const Options &o, const rte_ether_addr &rx_mac, const uint8_t *f, unsigned len, RxStats &st,
              unsigned expected_l4_len) {
    if (len < 14) return Verdict::other;
    const uint16_t et = static_cast<uint16_t>(f[12] << 8 | f[13]);
    const uint8_t *l3 = f + 14;
    const unsigned l3room = len - 14;
    const uint8_t *udp;
    unsigned udplen;
    unsigned hop;
    const char *why = nullptr;
    if (o.four_to_six) {  // expect IPv6
        if (et != RTE_ETHER_TYPE_IPV6 || l3room < 40) return Verdict::other;
        if (memcmp(l3 + 8, o.expect_src, 16) != 0 || memcmp(l3 + 24, o.expect_dst, 16) != 0) return Verdict::other;
        const unsigned plen = static_cast<unsigned>(l3[4] << 8 | l3[5]);
        hop = l3[7];
        udp = l3 + 40;
        udplen = plen;
        if ((l3[0] >> 4) != 6) why = "ip version";
        else if (l3[6] == 44) why = "fragment header";
        else if (l3[6] != IPPROTO_UDP) why = "next header";
        else if (plen != expected_l4_len || 40 + plen > l3room) why = "payload length";
    } else {  // expect IPv4
        if (et != RTE_ETHER_TYPE_IPV4 || l3room < 20) return Verdict::other;
        if (memcmp(l3 + 12, o.expect_src, 4) != 0 || memcmp(l3 + 16, o.expect_dst, 4) != 0) return Verdict::other;
        const unsigned ihl = (l3[0] & 0xf) * 4u;
        const unsigned tot = static_cast<unsigned>(l3[2] << 8 | l3[3]);
        hop = l3[8];
        udp = l3 + ihl;
        udplen = tot - ihl;
        if (l3[0] != 0x45) why = "version/ihl";
        else if (fold(sum16(l3, 20)) != 0xffff) why = "ipv4 header checksum";
        else if ((l3[6] & 0x3f) != 0 || l3[7] != 0) why = "fragment";
        else if (l3[9] != IPPROTO_UDP) why = "protocol";
        else if (tot != 20 + expected_l4_len || tot > l3room) why = "total length";
    }
    if (!why) {
        const unsigned sport = static_cast<unsigned>(udp[0] << 8 | udp[1]);
        const unsigned dport = static_cast<unsigned>(udp[2] << 8 | udp[3]);
        const unsigned ulen = static_cast<unsigned>(udp[4] << 8 | udp[5]);
        const unsigned flow = sport - udp_sport_base;
        if (dport != udp_dport || sport < udp_sport_base || flow >= o.flows) why = "udp ports";
        else if (ulen != udplen) why = "udp length";
        else if (memcmp(udp + 8, magic, sizeof(magic)) != 0 ||
                 static_cast<unsigned>(udp[8 + sizeof(magic)] << 8 | udp[9 + sizeof(magic)]) != flow)
            why = "payload";
        else if (fold(sum16(udp, udplen, pseudo(o.four_to_six, o.expect_src, o.expect_dst, udplen))) != 0xffff)
            why = "udp checksum";
        else if (memcmp(f, rx_mac.addr_bytes, 6) != 0) why = "destination mac";
    }
    if (why) {
        ++st.bad_reasons[why];
        return Verdict::bad;
    }
    ++st.hop_limits[hop];
    return Verdict::good;
}

uint16_t port_by_name(const std::string &name) {
    uint16_t id;
    if (rte_eth_dev_get_port_by_name(name.c_str(), &id) != 0) die("no port " + name);
    return id;
}

void setup_port(uint16_t port, rte_mempool *pool) {
    rte_eth_conf conf{};
    if (rte_eth_dev_configure(port, 1, 1, &conf) != 0) die("configure port " + std::to_string(port));
    uint16_t nrx = 4096, ntx = 4096;
    rte_eth_dev_adjust_nb_rx_tx_desc(port, &nrx, &ntx);
    if (rte_eth_rx_queue_setup(port, 0, nrx, rte_eth_dev_socket_id(port), nullptr, pool) != 0) die("rx queue");
    if (rte_eth_tx_queue_setup(port, 0, ntx, rte_eth_dev_socket_id(port), nullptr) != 0) die("tx queue");
    if (rte_eth_dev_start(port) != 0) die("start port " + std::to_string(port));
}

}  // namespace

int main(int argc, char **argv) {
    const int eal = rte_eal_init(argc, argv);
    if (eal < 0) die("EAL init failed");
    // Arguments after "--" are ours; rte_eal_init leaves argv[eal] = "--".
    int own = eal + 1;
    if (own > argc) own = argc;
    const Options o = parse(argc - own, argv + own);

    rte_mempool *pool = rte_pktmbuf_pool_create("gen", 16383, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, rte_socket_id());
    if (!pool) die("mbuf pool");
    const uint16_t tx = port_by_name(o.tx), rx = port_by_name(o.rx);
    if (tx == rx) die("--tx and --rx must be different ports");
    setup_port(tx, pool);
    setup_port(rx, pool);
    rte_ether_addr tx_mac, rx_mac;
    rte_eth_macaddr_get(tx, &tx_mac);
    rte_eth_macaddr_get(rx, &rx_mac);

    // Prepared frames, one per flow; sent round-robin.
    std::vector<std::vector<uint8_t>> frames(o.flows, std::vector<uint8_t>(o.frame_size));
    unsigned flen = 0;
    for (unsigned f = 0; f < o.flows; ++f) flen = build_frame(o, tx_mac, f, frames[f].data());
    // The translated packet's L4 length is the sent one's.
    const unsigned l4len = flen - 14 - (o.four_to_six ? 20 : 40);

    // Empty whatever the RX port queued before the window (ND, ARP).
    rte_mbuf *rxb[64];
    RxStats st;
    for (;;) {
        const uint16_t n = rte_eth_rx_burst(rx, 0, rxb, 64);
        rte_pktmbuf_free_bulk(rxb, n);
        if (n == 0) break;
    }

    const uint64_t hz = rte_get_tsc_hz();
    const uint64_t window = static_cast<uint64_t>(o.seconds * static_cast<double>(hz));
    const uint64_t offered = static_cast<uint64_t>(std::llround(o.rate * o.seconds));
    const double per_cycle = o.rate / static_cast<double>(hz);
    uint64_t attempted = 0, sent = 0, tx_full = 0, skipped = 0, alloc_fail = 0;
    const uint64_t max_lag = 4ull * o.burst;
    unsigned next_flow = 0;
    auto poll_rx = [&]() -> uint16_t {
        const uint16_t n = rte_eth_rx_burst(rx, 0, rxb, 64);
        for (uint16_t i = 0; i < n; ++i) {
            rte_mbuf *m = rxb[i];
            const uint8_t *f = rte_pktmbuf_mtod(m, const uint8_t *);
            switch (check(o, rx_mac, f, rte_pktmbuf_data_len(m), st, l4len)) {
            case Verdict::good: ++st.good; break;
            case Verdict::bad: ++st.bad; break;
            case Verdict::other: ++st.other; break;
            }
        }
        rte_pktmbuf_free_bulk(rxb, n);
        return n;
    };

    printf("{\"event\":\"start\"}\n");
    fflush(stdout);
    const uint64_t start = rte_rdtsc();
    const uint64_t end = start + window;
    rte_mbuf *txb[256];
    for (;;) {
        const uint64_t now = rte_rdtsc();
        if (now >= end) break;
        uint64_t due = static_cast<uint64_t>(static_cast<double>(now - start) * per_cycle);
        if (due > offered) due = offered;
        // Behind by more than a few bursts (preempted on a shared machine): skip, rather than catch
        // up with a long run of bursts at the generator's top speed that the DUT would be blamed for.
        if (due > attempted + max_lag) {
            skipped += due - attempted - max_lag;
            attempted = due - max_lag;
        }
        // Whole bursts only: one TX call (one sendto() for af_packet) per burst, whatever the rate.
        if (due >= attempted + o.burst) {
            const unsigned n = o.burst;
            if (rte_pktmbuf_alloc_bulk(pool, txb, n) != 0) {
                ++alloc_fail;
            } else {
                for (unsigned i = 0; i < n; ++i) {
                    char *d = rte_pktmbuf_append(txb[i], static_cast<uint16_t>(flen));
                    memcpy(d, frames[next_flow].data(), flen);
                    if (++next_flow == o.flows) next_flow = 0;
                }
                const uint16_t k = rte_eth_tx_burst(tx, 0, txb, static_cast<uint16_t>(n));
                sent += k;
                if (k < n) {
                    tx_full += n - k;
                    rte_pktmbuf_free_bulk(txb + k, n - k);
                }
                attempted += n;
            }
        }
        poll_rx();
    }
    const uint64_t stopped = rte_rdtsc();
    printf("{\"event\":\"stop\"}\n");
    fflush(stdout);
    // Drain: until nothing arrived for 200 ms, at most --drain seconds.
    const uint64_t quiet = hz / 5, drain_end = stopped + static_cast<uint64_t>(o.drain * static_cast<double>(hz));
    uint64_t last = rte_rdtsc();
    for (;;) {
        const uint64_t now = rte_rdtsc();
        if (now >= drain_end || now - last >= quiet) break;
        if (poll_rx()) last = rte_rdtsc();
    }

    rte_eth_stats txs{}, rxs{};
    rte_eth_stats_get(tx, &txs);
    rte_eth_stats_get(rx, &rxs);
    const double secs = static_cast<double>(stopped - start) / static_cast<double>(hz);
    auto json_counts = [](const auto &m) {
        std::string out;
        char item[96];
        for (const auto &[k, v] : m) {
            std::string key;
            if constexpr (std::is_same_v<std::decay_t<decltype(k)>, std::string>) key = k;
            else key = std::to_string(k);
            snprintf(item, sizeof item, "%s\"%s\":%" PRIu64, out.empty() ? "" : ",", key.c_str(), v);
            out.append(item);
        }
        return out;
    };
    const std::string reasons = json_counts(st.bad_reasons), hops = json_counts(st.hop_limits);
    printf("{\"direction\":\"%s\",\"rate\":%.0f,\"seconds\":%.6f,\"frame_size\":%u,\"flows\":%u,"
           "\"offered\":%" PRIu64 ",\"sent\":%" PRIu64 ",\"received\":%" PRIu64 ",\"loss\":%" PRId64 ","
           "\"bad\":%" PRIu64 ",\"other\":%" PRIu64 ",\"skipped\":%" PRIu64 ",\"tx_full\":%" PRIu64
           ",\"alloc_fail\":%" PRIu64 ",\"tx_pps\":%.1f,\"rx_pps\":%.1f,"
           "\"port_tx_errors\":%" PRIu64 ",\"port_rx_missed\":%" PRIu64 ",\"port_rx_nombuf\":%" PRIu64 ","
           "\"bad_reasons\":{%s},\"hop_limits\":{%s}}\n",
           o.four_to_six ? "4to6" : "6to4", o.rate, secs, o.frame_size, o.flows, offered, sent, st.good,
           static_cast<int64_t>(sent) - static_cast<int64_t>(st.good), st.bad, st.other, skipped, tx_full, alloc_fail,
           static_cast<double>(sent) / secs, static_cast<double>(st.good) / secs, txs.oerrors, rxs.imissed,
           rxs.rx_nombuf, reasons.c_str(), hops.c_str());
    fflush(stdout);
    rte_eth_dev_stop(tx);
    rte_eth_dev_stop(rx);
    rte_eth_dev_close(tx);
    rte_eth_dev_close(rx);
    rte_eal_cleanup();
    return 0;
}
