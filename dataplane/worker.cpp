#include "worker.hpp"

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <netinet/in.h>

#include <cstring>

#include "xlat/checksum.hpp"
#include "xlat/internal.hpp"

namespace eamclat::dp {

namespace {

// Enough of the frame for the classifier: Ethernet + the fixed IPv6 header (also covers ARP
// and the fixed IPv4 header).
constexpr uint32_t classify_len = ether_header_len + 40;

Ip4 load_ip4(const uint8_t *p) {
    return static_cast<Ip4>(p[0]) << 24 | static_cast<Ip4>(p[1]) << 16 | static_cast<Ip4>(p[2]) << 8 | p[3];
}

// Two 64-bit compares instead of a memcmp call.
inline bool same_ip6(const Ip6 &a, const Ip6 &b) {
    uint64_t x[2], y[2];
    memcpy(x, a.b.data(), 16);
    memcpy(y, b.b.data(), 16);
    return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
}

}  // namespace

Worker::Worker(const WorkerSetup &setup) : setup_(setup) {}

int Worker::launch(void *arg) { return static_cast<Worker *>(arg)->run(); }

int Worker::run() {
    if (setup_.qsbr) {
        rte_rcu_qsbr_thread_register(setup_.qsbr, setup_.qsbr_thread_id);
        rte_rcu_qsbr_thread_online(setup_.qsbr, setup_.qsbr_thread_id);
    }
    rte_mbuf *pkts[burst];
    uint64_t last_drain = rte_rdtsc();
    while (!setup_.stop->load(std::memory_order_relaxed)) {
        const uint64_t now = rte_rdtsc();
        if (setup_.flow_mapper) setup_.flow_mapper->set_now(static_cast<uint32_t>(now / setup_.tsc_hz));
        unsigned received = 0;
        for (unsigned r = 0; r < port_role_count; ++r) {
            const WorkerPort &port = setup_.ports[r];
            const uint16_t n = rte_eth_rx_burst(port.port_id, port.queue, pkts, burst);
            if (n == 0) continue;
            received += n;
            bump(counters_.rx[r], n);
            handle_burst(static_cast<PortRole>(r), pkts, n, now);
        }
        drain_kernel_tx();
        // Idle or the drain period elapsed: partial bursts go out now rather than wait for more.
        if (received == 0 || now - last_drain >= setup_.drain_tsc) {
            drain(now);
            last_drain = now;
        }
        bump(counters_.loops);
        if (setup_.qsbr) rte_rcu_qsbr_quiescent(setup_.qsbr, setup_.qsbr_thread_id);
    }
    drain(rte_rdtsc());
    for (unsigned i = 0; i < n_pending_; ++i) {
        bump(counters_.egress[static_cast<unsigned>(pending_[i].port)][static_cast<unsigned>(Egress::dropped_no_neighbor)]);
        rte_pktmbuf_free(pending_[i].m);
    }
    n_pending_ = 0;
    if (setup_.qsbr) {
        rte_rcu_qsbr_thread_offline(setup_.qsbr, setup_.qsbr_thread_id);
        rte_rcu_qsbr_thread_unregister(setup_.qsbr, setup_.qsbr_thread_id);
    }
    return 0;
}

void Worker::handle_burst(PortRole in, rte_mbuf **pkts, unsigned n, uint64_t now) {
    for (; n > burst; pkts += burst, n -= burst) handle_burst(in, pkts, burst, now);
    now_ = now;
    for (NeighborMemo &c : neighbor_memo_) c.valid = false;
    tables::DaemonMapper *fm = setup_.flow_mapper;
    tables::FlowTable *flows = fm ? fm->flow_table() : nullptr;
    constexpr uint8_t none = 0xff;
    BurstStage &st = stage_;
    unsigned n_keys = 0, n_xlat = 0;

    // Stage 1: classify; strip L2 from the frames to translate and describe their flows.
    for (unsigned i = 0; i < n && i < prefetch_ahead; ++i) rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
    for (unsigned i = 0; i < n; ++i) {
        if (i + prefetch_ahead < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + prefetch_ahead], void *));
        rte_mbuf *m = pkts[i];
        const uint32_t want = RTE_MIN(rte_pktmbuf_pkt_len(m), classify_len);
        const uint8_t *frame = xlat::pull_up(m, want);
        if (!frame) {  // headers split over segments with no tailroom to gather them
            bump(counters_.fate[static_cast<unsigned>(Fate::drop_truncated_frame)]);
            rte_pktmbuf_free(m);
            pkts[i] = nullptr;
            continue;
        }
        const Decision d = classify(*setup_.classify, in, frame, want);
        st.decision[i] = d;
        st.key_of[i] = none;
        st.hinted[i] = false;
        if (d.sight != Sight::none) report_sender(d.sight, frame, now);
        if (d.action != Action::translate_4to6 && d.action != Action::translate_6to4) continue;
        const bool four_to_six = d.action == Action::translate_4to6;
        prepare_translate(m, four_to_six, st.sender[i], fm ? &st.flow_ctx[i] : nullptr);
        if (!fm) continue;
        ++n_xlat;
        if (flows && fm->flow_key(st.flow_ctx[i], st.keys[n_keys])) {
            st.key_ptr[n_keys] = &st.keys[n_keys];
            st.key_of[i] = static_cast<uint8_t>(n_keys++);
        }
    }
    // Stage 2: the burst's flows, looked up together; their records are being prefetched.
    if (n_keys) flows->find_bulk(st.key_ptr, n_keys, st.found);

    // Stage 3: the EAMT lookups of the packets that no existing flow will answer (all of them
    // without a flow table), together as well, once the tables outgrow the caches. Measured
    // (scripts/bench.sh): a bulk lookup costs ~10% more than single ones on a 10-entry EAMT and
    // halves the cost per packet at 10k entries; 1M entries: a third.
    if (n_xlat && fm->eamt().size_hint() >= bulk_eamt_threshold) prefetch_eamt(pkts, n);

    // Stage 4: each frame's action, in arrival order.
    for (unsigned i = 0; i < n; ++i) {
        rte_mbuf *m = pkts[i];
        if (!m) continue;
        const Decision d = st.decision[i];
        switch (d.action) {
        case Action::translate_4to6:
        case Action::translate_6to4:
            if (fm) {
                // Hints are made for this burst only (their records are safe until the next
                // quiescent state): hinted[] is cleared for every frame in stage 1.
                const tables::DaemonMapper::EamtHint *hint = st.hinted[i] ? &st.hint[i] : nullptr;
                fm->resume(st.flow_ctx[i], st.key_of[i] == none ? nullptr : st.found[st.key_of[i]], hint);
            }
            translate(in, m, d.action == Action::translate_4to6, st.sender[i]);
            continue;
        case Action::forward6:
            forward6(in, m, d.fate);
            continue;
        case Action::hop_limit_expired:
            time_exceeded6(in, m);
            continue;
        case Action::punt:
            punt(in, m, d.fate);
            continue;
        case Action::drop:
            break;
        }
        bump(counters_.fate[static_cast<unsigned>(d.fate)]);
        rte_pktmbuf_free(m);
    }
}

// Stage 3 of handle_burst: bulk EAMT lookups (global entries of the remote address; 4->6 also
// the learned entry of (host, remote) where no valid global entry answers) for the packets whose
// flow was not found, turned into one hint per packet. A packet whose flow exists needs none
// (the flow answers), unless the control thread expires it meanwhile: then the mapper looks up
// itself.
void Worker::prefetch_eamt(rte_mbuf *const *pkts, unsigned n) {
    constexpr uint8_t none = 0xff;
    BurstStage &st = stage_;
    tables::EamtTables &eamt = setup_.flow_mapper->eamt();
    // The addresses of the frames to translate without a flow, read from their IP headers
    // (Ethernet is stripped; the classifier had the whole fixed header in the first segment).
    Ip4 host4[burst], remote4[burst];
    Ip6 remote6[burst];
    uint8_t pos4[burst], pos6[burst];  // -> frame index
    unsigned m4 = 0, m6 = 0;
    for (unsigned i = 0; i < n; ++i) {
        const Action a = st.decision[i].action;
        if (!pkts[i] || (a != Action::translate_4to6 && a != Action::translate_6to4)) continue;
        if (st.key_of[i] != none && st.found[st.key_of[i]] != nullptr) continue;  // the flow answers
        const uint8_t *ip = rte_pktmbuf_mtod(pkts[i], const uint8_t *);
        if (a == Action::translate_4to6) {
            host4[m4] = load_ip4(ip + 12);
            remote4[m4] = load_ip4(ip + 16);
            pos4[m4++] = static_cast<uint8_t>(i);
        } else {
            memcpy(remote6[m6].b.data(), ip + 8, 16);
            pos6[m6++] = static_cast<uint8_t>(i);
        }
    }
    const tables::EamtRecord *rec[burst];
    if (m4) {
        eamt.lookup_global4_bulk(remote4, m4, rec);
        // Learned entries where no valid global entry answers (draft §5.2.5: a host's own).
        Ip4 lh[burst], lr[burst];
        uint8_t lpos[burst];
        unsigned nl = 0;
        for (unsigned k = 0; k < m4; ++k) {
            tables::DaemonMapper::EamtHint &h = st.hint[pos4[k]];
            h = {};
            h.has4 = true;
            h.addr4 = remote4[k];
            h.global4 = rec[k];
            st.hinted[pos4[k]] = true;
            if (!rec[k] || !rec[k]->usable_for_new_flows()) {
                lh[nl] = host4[k];
                lr[nl] = remote4[k];
                lpos[nl++] = pos4[k];
            }
        }
        if (nl) {
            eamt.lookup_learned4_bulk(lh, lr, nl, rec);
            for (unsigned k = 0; k < nl; ++k) {
                tables::DaemonMapper::EamtHint &h = st.hint[lpos[k]];
                h.has_learned4 = true;
                h.host4 = lh[k];
                h.learned4 = rec[k];
            }
        }
    }
    if (m6) {
        eamt.lookup_global6_bulk(remote6, m6, rec);
        for (unsigned k = 0; k < m6; ++k) {
            tables::DaemonMapper::EamtHint &h = st.hint[pos6[k]];
            h = {};
            h.has6 = true;
            h.addr6 = remote6[k];
            h.global6 = rec[k];
            st.hinted[pos6[k]] = true;
        }
    }
}

void Worker::prepare_translate(rte_mbuf *m, bool four_to_six, rte_ether_addr &sender,
                               tables::DaemonMapper::PacketContext *ctx) {
    // The sender's MAC: where ICMP errors about its packet go back to (same link, same host).
    memcpy(sender.addr_bytes, rte_pktmbuf_mtod_offset(m, uint8_t *, 6), 6);
    rte_pktmbuf_adj(m, ether_header_len);
    if (ctx) {
        if (four_to_six)
            describe_flow_4to6(m, *ctx);
        else
            describe_flow_6to4(m, *ctx);
    }
}

void Worker::translate(PortRole in, rte_mbuf *m, bool four_to_six, const rte_ether_addr &sender) {
    xlat::Output out;
    const xlat::Result r = four_to_six ? xlat::translate_4to6(setup_.xlat, m, out) : xlat::translate_6to4(setup_.xlat, m, out);
    bump(counters_.xlat_fate[static_cast<unsigned>(r.fate)]);
    if (r.fate == xlat::Fate::translated_4to6)
        bump(counters_.translated_4to6_by_path[static_cast<unsigned>(r.path)]);
    else if (r.fate == xlat::Fate::translated_6to4)
        bump(counters_.translated_6to4_by_path[static_cast<unsigned>(r.path)]);

    for (unsigned i = 0; i < out.n; ++i) {
        rte_mbuf *p = out.pkts[i].m;
        if (out.pkts[i].side == xlat::Side::v6) {
            // Everything IPv6 leaves by the WAN, through the gateway. (A packet back to the port it
            // came from only happens 6->4->6: hairpinning and ICMPv6 errors, also via the gateway.)
            const Ip6 *dst = rte_pktmbuf_mtod_offset(p, const Ip6 *, 24);
            output(PortRole::wan, p, true, ethertype_ipv6, nullptr, setup_.has_gateway ? setup_.gateway : *dst);
        } else if (in == PortRole::lan) {
            // An ICMPv4 error about the sender's packet: straight back to the sender's MAC.
            output(PortRole::lan, p, true, ethertype_ipv4, &sender, Ip6{});
        } else {
            Ip4 next_hop = load_ip4(rte_pktmbuf_mtod_offset(p, const uint8_t *, 16));
            if (!setup_.classify->lan.on_link4(next_hop)) {
                // Never ARP for an address that is not on the link (a CLAT-prefix address of no
                // LAN host, from the WAN): no gateway, no delivery.
                if (!setup_.has_gateway4) {
                    bump(counters_.egress[static_cast<unsigned>(PortRole::lan)][static_cast<unsigned>(Egress::dropped_off_link)]);
                    rte_pktmbuf_free(p);
                    continue;
                }
                next_hop = setup_.gateway4;
            }
            if (setup_.dns_snoop) snoop_dns(p);
            output(PortRole::lan, p, true, ethertype_ipv4, nullptr, neighbor_key4(next_hop));
        }
    }
}

// dns.snooping (beyond draft §5.2.12): a copy of a translated DNS answer (IPv4 UDP from port 53,
// unfragmented) goes to the control thread's learner; the answer itself is neither delayed nor
// altered. Rare path: only packets from port 53 pay more than the port check.
void Worker::snoop_dns(const rte_mbuf *p) {
    const uint8_t *ip = rte_pktmbuf_mtod(p, const uint8_t *);
    if (rte_pktmbuf_data_len(p) < 28 || ip[9] != IPPROTO_UDP || ((ip[6] & 0x3f) | ip[7]) != 0) return;
    const uint32_t ihl = (ip[0] & 0x0fu) * 4;
    if (rte_pktmbuf_data_len(p) < ihl + 8 || ip[ihl] != 0 || ip[ihl + 1] != 53) return;
    rte_mbuf *c = rte_pktmbuf_copy(p, setup_.xlat.pool, 0, UINT32_MAX);
    if (!c || rte_ring_mp_enqueue(setup_.dns_snoop, c) != 0) {
        if (c) rte_pktmbuf_free(c);
        bump(counters_.dns_snoop_dropped);
        return;
    }
    bump(counters_.dns_snooped);
}

// The flow tuple for the daemon mapper (draft §5.2.6: flows pinned by their 4-tuple + protocol).
// Packets without a usable tuple (non-first fragments, ICMP errors, other protocols, truncated L4)
// are described as stateless: the mapper then maps them by the rules without touching flows.
// rte_pktmbuf_read: the L4 header may sit in a later segment; it copies only then.
void Worker::describe_flow_4to6(const rte_mbuf *m, tables::DaemonMapper::PacketContext &c) {
    tables::DaemonMapper &fm = *setup_.flow_mapper;
    uint8_t ip_copy[20], l4_copy[14];
    const uint8_t *ip = static_cast<const uint8_t *>(rte_pktmbuf_read(m, 0, 20, ip_copy));
    if (!ip || (ip[0] & 0x0f) < 5 || ((ip[6] & 0x1f) << 8 | ip[7]) != 0) {
        fm.describe_stateless(c);
        return;
    }
    const uint32_t ihl = (ip[0] & 0x0fu) * 4;
    const uint8_t proto = ip[9];
    const Ip4 src = load_ip4(ip + 12), dst = load_ip4(ip + 16);
    const uint32_t need = proto == IPPROTO_TCP ? 14 : proto == IPPROTO_UDP ? 4 : proto == IPPROTO_ICMP ? 8 : 0;
    const uint8_t *l4 = need ? static_cast<const uint8_t *>(rte_pktmbuf_read(m, ihl, need, l4_copy)) : nullptr;
    if (!l4) {
        fm.describe_stateless(c);
        return;
    }
    if (proto == IPPROTO_ICMP) {
        if (l4[0] != 8 && l4[0] != 0) {  // only echo request / reply are queries with a tuple
            fm.describe_stateless(c);
            return;
        }
        const uint16_t id = static_cast<uint16_t>(l4[4] << 8 | l4[5]);
        fm.describe_4to6(c, src, dst, proto, id, id, 0);
        return;
    }
    fm.describe_4to6(c, src, dst, proto, static_cast<uint16_t>(l4[0] << 8 | l4[1]), static_cast<uint16_t>(l4[2] << 8 | l4[3]),
                  proto == IPPROTO_TCP ? l4[13] : 0);
}

void Worker::describe_flow_6to4(const rte_mbuf *m, tables::DaemonMapper::PacketContext &c) {
    tables::DaemonMapper &fm = *setup_.flow_mapper;
    uint8_t ip_copy[40], frag_copy[8], l4_copy[14];
    const uint8_t *ip = static_cast<const uint8_t *>(rte_pktmbuf_read(m, 0, 40, ip_copy));
    if (!ip) {
        fm.describe_stateless(c);
        return;
    }
    uint8_t proto = ip[6];
    uint32_t off = 40;
    if (proto == IPPROTO_FRAGMENT) {
        const uint8_t *fh = static_cast<const uint8_t *>(rte_pktmbuf_read(m, off, 8, frag_copy));
        if (!fh || ((fh[2] << 8 | fh[3]) & 0xfff8) != 0) {  // a non-first fragment has no L4 header
            fm.describe_stateless(c);
            return;
        }
        proto = fh[0];
        off += 8;
    }
    const uint32_t need = proto == IPPROTO_TCP ? 14 : proto == IPPROTO_UDP ? 4 : proto == IPPROTO_ICMPV6 ? 8 : 0;
    const uint8_t *l4 = need ? static_cast<const uint8_t *>(rte_pktmbuf_read(m, off, need, l4_copy)) : nullptr;
    if (!l4) {
        fm.describe_stateless(c);
        return;
    }
    Ip6 src, dst;
    memcpy(src.b.data(), ip + 8, 16);
    memcpy(dst.b.data(), ip + 24, 16);
    if (proto == IPPROTO_ICMPV6) {
        if (l4[0] != 128 && l4[0] != 129) {
            fm.describe_stateless(c);
            return;
        }
        const uint16_t id = static_cast<uint16_t>(l4[4] << 8 | l4[5]);
        fm.describe_6to4(c, src, dst, proto, id, id, 0);
        return;
    }
    fm.describe_6to4(c, src, dst, proto, static_cast<uint16_t>(l4[0] << 8 | l4[1]), static_cast<uint16_t>(l4[2] << 8 | l4[3]),
                  proto == IPPROTO_TCP ? l4[13] : 0);
}

void Worker::forward6(PortRole in, rte_mbuf *m, Fate fate) {
    uint8_t *ip = rte_pktmbuf_mtod_offset(m, uint8_t *, ether_header_len);
    --ip[7];  // hop limit (the classifier dropped <= 1); IPv6 has no header checksum to fix
    bump(counters_.fate[static_cast<unsigned>(fate)]);
    const PortRole out = other_port(in);
    Ip6 next_hop;
    if (out == PortRole::wan && setup_.has_gateway) {
        next_hop = setup_.gateway;
    } else {
        memcpy(next_hop.b.data(), ip + 24, 16);
    }
    output(out, m, false, ethertype_ipv6, nullptr, next_hop);
}

bool Worker::icmp6_error_allowed(const rte_mbuf *m) {
    // §2.4 (e.1): never about an ICMPv6 error message. Walk the extension headers that can precede
    // it (hop-by-hop, routing, destination options; a first fragment) to find the upper layer.
    uint8_t copy[8];
    const uint8_t *ip = rte_pktmbuf_mtod_offset(m, const uint8_t *, ether_header_len);
    uint8_t next = ip[6];
    uint32_t off = ether_header_len + 40;
    for (unsigned n = 0; n < 8; ++n) {
        if (next == 0 || next == 43 || next == 60) {
            const uint8_t *h = static_cast<const uint8_t *>(rte_pktmbuf_read(m, off, 2, copy));
            if (!h) return false;  // truncated: say nothing rather than guess
            next = h[0];
            off += (h[1] + 1u) * 8;
        } else if (next == IPPROTO_FRAGMENT) {
            const uint8_t *h = static_cast<const uint8_t *>(rte_pktmbuf_read(m, off, 8, copy));
            if (!h) return false;
            if (((h[2] << 8 | h[3]) & 0xfff8) != 0) return true;  // non-first fragment: no ICMPv6 header
            next = h[0];
            off += 8;
        } else {
            break;
        }
    }
    if (next == IPPROTO_ICMPV6) {
        const uint8_t *h = static_cast<const uint8_t *>(rte_pktmbuf_read(m, off, 1, copy));
        if (!h || h[0] < 128) return false;  // an error message, or unknown
    }
    // (e.3/e.6): the source must identify one node. Multicast destinations and link-layer
    // multicast never get here (the classifier gives them to the kernel).
    static const Ip6 unspecified{};
    Ip6 src;
    memcpy(src.b.data(), ip + 8, 16);
    if (src == unspecified || src.b[0] == 0xff) return false;
    // (f): rate limit, a token bucket per worker.
    if (now_ - icmp6_error_refill_ >= setup_.icmp6_error_interval_tsc) {
        const uint64_t periods = setup_.icmp6_error_interval_tsc ? (now_ - icmp6_error_refill_) / setup_.icmp6_error_interval_tsc : icmp6_error_burst;
        icmp6_error_tokens_ = static_cast<unsigned>(RTE_MIN(static_cast<uint64_t>(icmp6_error_burst), icmp6_error_tokens_ + periods));
        icmp6_error_refill_ = now_;
    }
    if (icmp6_error_tokens_ == 0) return false;
    --icmp6_error_tokens_;
    return true;
}

void Worker::time_exceeded6(PortRole in, rte_mbuf *m) {
    const unsigned i = static_cast<unsigned>(in);
    rte_mbuf *e = nullptr;
    if (setup_.has_error_source[i] && icmp6_error_allowed(m)) e = rte_pktmbuf_alloc(setup_.xlat.pool);
    if (!e) {
        bump(counters_.fate[static_cast<unsigned>(Fate::drop_hop_limit_expired)]);
        rte_pktmbuf_free(m);
        return;
    }
    // §2.4 (c): as much of the invoking packet as fits in the minimum IPv6 MTU.
    constexpr uint32_t header = 40 + 8;
    const uint32_t invoking = RTE_MIN(rte_pktmbuf_pkt_len(m) - ether_header_len, 1280u - header);
    uint8_t *f = reinterpret_cast<uint8_t *>(rte_pktmbuf_append(e, static_cast<uint16_t>(ether_header_len + header + invoking)));
    if (!f) {
        rte_pktmbuf_free(e);
        bump(counters_.fate[static_cast<unsigned>(Fate::drop_hop_limit_expired)]);
        rte_pktmbuf_free(m);
        return;
    }
    const uint8_t *orig = rte_pktmbuf_mtod(m, const uint8_t *);
    memcpy(f, orig + 6, 6);  // back to the frame's sender (the host, or the WAN gateway)
    memcpy(f + 6, setup_.ports[i].mac.addr_bytes, 6);
    f[12] = static_cast<uint8_t>(ethertype_ipv6 >> 8);
    f[13] = static_cast<uint8_t>(ethertype_ipv6);
    uint8_t *ip = f + ether_header_len;
    memset(ip, 0, header);
    ip[0] = 0x60;
    const uint16_t payload = static_cast<uint16_t>(8 + invoking);
    ip[4] = static_cast<uint8_t>(payload >> 8);
    ip[5] = static_cast<uint8_t>(payload);
    ip[6] = IPPROTO_ICMPV6;
    ip[7] = 255;
    Ip6 dst;
    memcpy(dst.b.data(), orig + ether_header_len + 8, 16);  // the invoking packet's source
    memcpy(ip + 8, setup_.error_source[i].b.data(), 16);
    memcpy(ip + 24, dst.b.data(), 16);
    uint8_t *icmp = ip + 40;
    icmp[0] = 3;  // Time Exceeded, code 0: hop limit exceeded in transit; 4 bytes unused
    const void *body = rte_pktmbuf_read(m, ether_header_len, invoking, icmp + 8);
    if (body != icmp + 8) memcpy(icmp + 8, body, invoking);
    uint32_t sum = xlat::csum::pseudo6(setup_.error_source[i], dst, IPPROTO_ICMPV6, payload);
    sum = xlat::csum::add_bytes(sum, icmp, payload);
    xlat::csum::store16(icmp + 2, xlat::csum::finish(sum));
    rte_pktmbuf_free(m);
    bump(counters_.fate[static_cast<unsigned>(Fate::icmp6_time_exceeded_sent)]);
    queue_tx(in, e, Egress::sent);
}

void Worker::punt(PortRole in, rte_mbuf *m, Fate fate) {
    rte_ring *ring = setup_.ports[static_cast<unsigned>(in)].punt_ring;
    if (ring && rte_ring_mp_enqueue(ring, m) == 0) {
        bump(counters_.fate[static_cast<unsigned>(fate)]);
        return;
    }
    bump(counters_.fate[static_cast<unsigned>(Fate::drop_punt_ring_full)]);
    rte_pktmbuf_free(m);
}

void Worker::report_sender(Sight sight, const uint8_t *frame, uint64_t now) {
    Sighting s;
    s.port = static_cast<uint8_t>(PortRole::lan);
    memcpy(s.mac.addr_bytes, frame + 6, 6);
    if (!rte_is_unicast_ether_addr(&s.mac) || rte_is_zero_ether_addr(&s.mac)) return;
    if (sight == Sight::ipv4_source) {
        s.kind = Sighting::ipv4_host;
        s.addr = neighbor_key4(load_ip4(frame + ether_header_len + 12));
    } else {
        s.kind = Sighting::ipv6_host;
        memcpy(s.addr.b.data(), frame + ether_header_len + 8, 16);
    }
    // Checked (and reported if need be) less than an interval ago: nothing new. The filter is a
    // few lines of L1; the neighbor table is asked at most once per interval and sender.
    if (sighting_filter_.recently_reported(s, now, setup_.sighting_interval_tsc)) return;
    // Steady state: the neighbor table already says so, nothing to report.
    rte_ether_addr known;
    NeighborTable *table = setup_.ports[static_cast<unsigned>(PortRole::lan)].neighbors;
    if (table && table->lookup(s.addr, known) && rte_is_same_ether_addr(&known, &s.mac)) return;
    send_sighting(s);
}

void Worker::send_sighting(const Sighting &s) {
    if (setup_.sightings && rte_ring_mp_enqueue_elem(setup_.sightings, const_cast<Sighting *>(&s), sizeof s) == 0)
        bump(counters_.sightings_sent);
    else
        bump(counters_.sightings_ring_full);
}

void Worker::request_resolution(PortRole out, const Ip6 &key) {
    Sighting s{};
    s.kind = Sighting::resolve;
    s.port = static_cast<uint8_t>(out);
    s.addr = key;
    if (sighting_filter_.recently_reported(s, now_, setup_.sighting_interval_tsc)) return;
    send_sighting(s);
}

void Worker::output(PortRole out, rte_mbuf *m, bool prepend, uint16_t ethertype, const rte_ether_addr *dst_mac,
                    const Ip6 &next_hop) {
    const unsigned o = static_cast<unsigned>(out);
    uint8_t *eth;
    if (prepend) {
        eth = reinterpret_cast<uint8_t *>(rte_pktmbuf_prepend(m, ether_header_len));
        if (!eth) {
            bump(counters_.egress[o][static_cast<unsigned>(Egress::dropped_no_headroom)]);
            rte_pktmbuf_free(m);
            return;
        }
    } else {
        eth = rte_pktmbuf_mtod(m, uint8_t *);
    }
    memcpy(eth + 6, setup_.ports[o].mac.addr_bytes, 6);
    eth[12] = static_cast<uint8_t>(ethertype >> 8);
    eth[13] = static_cast<uint8_t>(ethertype);
    if (dst_mac) {
        memcpy(eth, dst_mac->addr_bytes, 6);
        queue_tx(out, m, Egress::sent);
        return;
    }
    rte_ether_addr mac;
    if (neighbor_mac(o, next_hop, mac)) {
        memcpy(eth, mac.addr_bytes, 6);
        queue_tx(out, m, Egress::sent);
        return;
    }
    request_resolution(out, next_hop);
    // Hold a few packets (like the kernel's unresolved queue) so that the first packet of a flow to
    // a new neighbor is not lost; drain() sends or drops them.
    if (n_pending_ < pending_max) {
        pending_[n_pending_++] = {m, next_hop, now_ + setup_.neighbor_hold_tsc, out};
        bump(counters_.neighbor_queued);
        return;
    }
    bump(counters_.egress[o][static_cast<unsigned>(Egress::dropped_no_neighbor)]);
    rte_pktmbuf_free(m);
}

bool Worker::neighbor_mac(unsigned port, const Ip6 &next_hop, rte_ether_addr &mac) {
    NeighborMemo &c = neighbor_memo_[port];
    if (c.valid && same_ip6(c.key, next_hop)) {
        mac = c.mac;
        return true;
    }
    const NeighborTable *table = setup_.ports[port].neighbors;
    if (!table || !table->lookup(next_hop, mac)) return false;
    c.valid = true;
    c.key = next_hop;
    c.mac = mac;
    return true;
}

void Worker::queue_tx(PortRole out, rte_mbuf *m, Egress fate) {
    TxBuffer &b = tx_[static_cast<unsigned>(out)];
    b.fate[b.n] = fate;
    b.pkts[b.n++] = m;
    if (b.n == burst) flush(out);
}

void Worker::flush(PortRole out) {
    const unsigned o = static_cast<unsigned>(out);
    TxBuffer &b = tx_[o];
    if (b.n == 0) return;
    const uint16_t sent = rte_eth_tx_burst(setup_.ports[o].port_id, setup_.ports[o].queue, b.pkts, b.n);
    for (unsigned i = 0; i < sent; ++i) bump(counters_.egress[o][static_cast<unsigned>(b.fate[i])]);
    if (sent < b.n) {
        bump(counters_.egress[o][static_cast<unsigned>(Egress::dropped_tx_full)], b.n - sent);
        rte_pktmbuf_free_bulk(b.pkts + sent, b.n - sent);
    }
    b.n = 0;
}

void Worker::drain_kernel_tx() {
    for (unsigned r = 0; r < port_role_count; ++r) {
        rte_ring *ring = setup_.ports[r].kernel_tx_ring;
        if (!ring) continue;
        rte_mbuf *pkts[burst];
        const unsigned n = rte_ring_sc_dequeue_burst(ring, reinterpret_cast<void **>(pkts), burst, nullptr);
        for (unsigned i = 0; i < n; ++i) queue_tx(static_cast<PortRole>(r), pkts[i], Egress::kernel_sent);
    }
}

void Worker::drain(uint64_t now) {
    now_ = now;
    unsigned kept = 0;
    for (unsigned i = 0; i < n_pending_; ++i) {
        Pending &p = pending_[i];
        const unsigned o = static_cast<unsigned>(p.port);
        rte_ether_addr mac;
        if (setup_.ports[o].neighbors && setup_.ports[o].neighbors->lookup(p.key, mac)) {
            memcpy(rte_pktmbuf_mtod(p.m, uint8_t *), mac.addr_bytes, 6);
            queue_tx(p.port, p.m, Egress::sent);
        } else if (static_cast<int64_t>(now - p.deadline) >= 0) {
            bump(counters_.egress[o][static_cast<unsigned>(Egress::dropped_no_neighbor)]);
            rte_pktmbuf_free(p.m);
        } else {
            request_resolution(p.port, p.key);
            pending_[kept++] = p;
        }
    }
    n_pending_ = kept;
    for (unsigned r = 0; r < port_role_count; ++r) flush(static_cast<PortRole>(r));
}

}  // namespace eamclat::dp
