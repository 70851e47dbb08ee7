// Shared body of the libFuzzer targets: the input bytes are one packet (starting at the IP header),
// translated in siit and in clat mode, flat and as a chain of small mbufs. Any inconsistency aborts,
// which libFuzzer reports as a crash with the input saved:
//  - an mbuf leaked or freed twice (the pool's in-use count must come back);
//  - a drop fate with packets emitted, or a non-drop fate with none;
//  - an emitted packet that the independent checker (tests/unit/pktcheck) finds malformed, unless
//    the input already had that problem (pktcheck::inherited);
//  - the chained run emitting other bytes than the flat one.
// Reads past the buffer and undefined behaviour are caught by ASan/UBSan (the targets are built
// with them, see meson.build).
#pragma once

#include <rte_eal.h>
#include <rte_mbuf.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "pktcheck.hpp"
#include "xlat/mapper.hpp"
#include "xlat/translator.hpp"

namespace eamclat::fuzz {

using pktcheck::Bytes;
namespace xl = eamclat::xlat;

inline rte_mempool *g_pool = nullptr;

struct Setup {
    xl::Config cfg;
    std::unique_ptr<xl::StaticMapper> mapper;
    xl::Context ctx{};
    explicit Setup(xl::Mode mode) {
        cfg.mode = mode;
        if (mode == xl::Mode::siit) {
            cfg.pool6 = *Prefix6::parse("2001:db8:64::/96");
        } else {
            cfg.clat_prefix = *Prefix6::parse("2001:db8:aaaa::/96");
            cfg.plat_prefix = *Prefix6::parse("2001:db8:64::/96");
        }
        cfg.eamt = {{*Prefix4::parse("192.0.2.0/24"), *Prefix6::parse("2001:db8:100::/120"), xl::EamtSource::static_config},
                    {*Prefix4::parse("198.51.100.8/29"), *Prefix6::parse("2001:db8:200::8/125"), xl::EamtSource::static_config}};
        cfg.rfc6791v4_prefix = *Prefix4::parse("192.0.0.8/32");
        cfg.rfc6791v6_prefix = *Prefix6::parse("2001:db8:ffff::/128");
        mapper = std::make_unique<xl::StaticMapper>(cfg);
        ctx.config = &cfg;
        ctx.mapper = mapper.get();
        ctx.pool = g_pool;
    }
};

inline int init() {
    static std::string prefix = "--file-prefix=eamclat-fuzz-" + std::to_string(getpid());
    std::vector<const char *> eal = {"fuzz", "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
                                     "--log-level=lib.*:error", "--no-telemetry", "-l", "0", prefix.c_str()};
    if (rte_eal_init(static_cast<int>(eal.size()), const_cast<char **>(eal.data())) < 0) {
        fprintf(stderr, "fuzz: rte_eal_init failed\n");
        abort();
    }
    g_pool = rte_pktmbuf_pool_create("fuzz_pool", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (!g_pool) abort();
    return 0;
}

[[noreturn]] inline void fail(const char *what, const Bytes &in, const std::string &detail = "") {
    fprintf(stderr, "fuzz: %s\ninput: %s\n%s\n", what, pktcheck::hex(in).c_str(), detail.c_str());
    abort();
}

// An mbuf (chain) holding `data` in segments of at most seg_len bytes (0: one segment).
inline rte_mbuf *make_mbuf(const Bytes &data, size_t seg_len) {
    if (seg_len == 0) seg_len = data.empty() ? 1 : data.size();
    rte_mbuf *head = nullptr;
    size_t off = 0;
    do {
        rte_mbuf *m = rte_pktmbuf_alloc(g_pool);
        if (!m) abort();
        size_t n = std::min(seg_len, data.size() - off);
        char *p = rte_pktmbuf_append(m, static_cast<uint16_t>(n));
        if (n && !p) abort();
        if (n) memcpy(p, data.data() + off, n);
        off += n;
        if (!head) head = m;
        else if (rte_pktmbuf_chain(head, m) != 0) abort();
    } while (off < data.size());
    return head;
}

struct Run {
    xl::Fate fate;
    std::vector<std::pair<xl::Side, Bytes>> out;
};

inline Run run(const Setup &s, bool four_to_six, const Bytes &in, size_t seg_len) {
    unsigned before = rte_mempool_in_use_count(g_pool);
    rte_mbuf *m = make_mbuf(in, seg_len);
    xl::Output out;
    xl::Result r = four_to_six ? xl::translate_4to6(s.ctx, m, out) : xl::translate_6to4(s.ctx, m, out);
    Run res{r.fate, {}};
    if (static_cast<unsigned>(r.fate) >= xl::fate_count) fail("fate out of range", in);
    if (xl::fate_is_drop(r.fate) != (out.n == 0))
        fail("drop fate with packets, or a translation with none", in, xl::fate_info[static_cast<unsigned>(r.fate)].name);
    for (unsigned i = 0; i < out.n; i++) {
        Bytes b(rte_pktmbuf_pkt_len(out.pkts[i].m));
        const void *p = rte_pktmbuf_read(out.pkts[i].m, 0, b.size(), b.data());
        if (p && p != b.data()) memcpy(b.data(), p, b.size());
        res.out.push_back({out.pkts[i].side, std::move(b)});
        rte_pktmbuf_free(out.pkts[i].m);
    }
    if (rte_mempool_in_use_count(g_pool) != before) fail("mbuf leak", in, xl::fate_info[static_cast<unsigned>(r.fate)].name);
    return res;
}

inline void one_packet(bool four_to_six, const Bytes &in) {
    static Setup siit(xl::Mode::siit);
    static Setup clat(xl::Mode::clat);
    const pktcheck::CheckOptions strict{true};  // inner transport checksums of ICMP errors too
    auto input_problems = pktcheck::check_input(in.data(), in.size(), strict);
    // The segment length of the chained run is derived from the input, so a crash reproduces.
    size_t seg = 1;
    for (uint8_t b : in) seg = (seg * 31 + b) % 97;
    seg += 1;
    for (const Setup *s : {&siit, &clat}) {
        Run flat = run(*s, four_to_six, in, in.size() > 2000 ? 1024 : 0);
        for (const auto &[side, b] : flat.out) {
            if (b.empty() || ((b[0] >> 4) == 6) != (side == xl::Side::v6)) fail("emitted on the wrong side", in, pktcheck::hex(b));
            for (const auto &problem : pktcheck::check(b, strict))
                if (!pktcheck::inherited(problem, input_problems))
                    fail("emitted packet fails pktcheck", in, problem + "\nemitted: " + pktcheck::hex(b));
        }
        Run chained = run(*s, four_to_six, in, seg);
        if (chained.fate != flat.fate || chained.out.size() != flat.out.size())
            fail("chained run differs from the flat run", in,
                 std::string(xl::fate_info[static_cast<unsigned>(flat.fate)].name) + " vs " +
                     xl::fate_info[static_cast<unsigned>(chained.fate)].name);
        for (size_t i = 0; i < flat.out.size(); i++)
            if (flat.out[i].second != chained.out[i].second || flat.out[i].first != chained.out[i].first)
                fail("chained output differs from the flat output", in,
                     "flat:    " + pktcheck::hex(flat.out[i].second) + "\nchained: " + pktcheck::hex(chained.out[i].second));
    }
}

// Each input is run as is and with its checksums recomputed (pktcheck::refresh_checksums): the
// translator verifies the IPv4 header and ICMP checksums, and random mutations almost never keep
// them right, so without the second run the fuzzer would hardly get past those checks.
inline void one_input(bool four_to_six, const uint8_t *data, size_t size) {
    if (size > 4000) return;  // two mbufs' worth: enough for any header path
    Bytes in(data, data + size);
    one_packet(four_to_six, in);
    Bytes fixed = in;
    pktcheck::refresh_checksums(fixed);
    if (fixed != in) one_packet(four_to_six, fixed);
}

}  // namespace eamclat::fuzz
