// eamclat-pcap: the translator applied offline to a capture.
//
//   eamclat-pcap --config CONFIG.yaml IN.pcap OUT.pcap
//   eamclat-pcap --config CONFIG.yaml --check-config
//
// Every IP packet of IN goes through xlat::translate_4to6 or translate_6to4 (by its version
// nibble) with a StaticMapper over the config; every packet the translator emits is written to
// OUT as raw IP (LINKTYPE_RAW), with the input packet's timestamp. The summary counts packets by
// fate (counters.hpp) and by address path, so a capture doubles as a test vector.
#include <pcap/pcap.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "config.hpp"
#include "xlat/mapper.hpp"
#include "xlat/translator.hpp"

using namespace eamclat;

namespace {

constexpr int exit_usage = 2;  // usage, config or input errors
constexpr int exit_failure = 1;  // the machinery failed (EAL, output file)

// A pcap record can hold up to 256 KiB; a legal IP packet (with jumbo-free IPv6) is at most
// 65535 + 40 bytes. Anything larger is not an IP packet the translator could accept.
constexpr uint32_t max_ip_packet = 65535 + 40;

void usage(FILE *to) {
    std::fprintf(to,
                 "usage: eamclat-pcap --config CONFIG.yaml [--quiet] IN.pcap OUT.pcap\n"
                 "       eamclat-pcap --config CONFIG.yaml --check-config\n"
                 "\n"
                 "Translates every IPv4 packet of IN (RFC 7915 §4) and every IPv6 packet (§5) with\n"
                 "the translator configured in CONFIG (EAMT and RFC 6052 prefixes only: no flow\n"
                 "pinning, no learning) and writes what the translator emits to OUT as raw IP\n"
                 "(LINKTYPE_RAW), with the input timestamps. IN may be Ethernet (one 802.1Q tag),\n"
                 "raw IP or Linux cooked (SLL, SLL2). Prints a summary of the packets' fates.\n"
                 "\n"
                 "  --config FILE    the YAML configuration (see configs/README.md)\n"
                 "  --check-config   validate the configuration and exit (0 valid, 2 invalid)\n"
                 "  --quiet          no summary\n"
                 "  --help           this text and the configuration keys\n"
                 "\n"
                 "Exit status: 0 done, 2 usage/config/input error, 1 EAL or output failure.\n"
                 "\n"
                 "Configuration keys:\n%s",
                 config_reference().c_str());
}

// Where the IP header starts in a captured frame, by link type; -1 if the frame is not IPv4/IPv6
// or too short to tell.
long ip_offset(int dlt, const uint8_t *p, uint32_t caplen) {
    auto be16 = [&](uint32_t off) { return static_cast<uint16_t>(p[off] << 8 | p[off + 1]); };
    auto is_ip = [](uint16_t ethertype) { return ethertype == 0x0800 || ethertype == 0x86dd; };
    switch (dlt) {
    case DLT_EN10MB: {
        if (caplen < 14) return -1;
        uint16_t type = be16(12);
        if (type == 0x8100 || type == 0x88a8) {  // one 802.1Q / 802.1ad tag
            if (caplen < 18) return -1;
            return is_ip(be16(16)) ? 18 : -1;
        }
        return is_ip(type) ? 14 : -1;
    }
    case DLT_LINUX_SLL:  // 16-byte header, protocol in the last two bytes
        if (caplen < 16) return -1;
        return is_ip(be16(14)) ? 16 : -1;
    case DLT_LINUX_SLL2:  // 20-byte header, protocol first
        if (caplen < 20) return -1;
        return is_ip(be16(0)) ? 20 : -1;
    default:  // raw IP: DLT_RAW (12, or 14 on OpenBSD; LINKTYPE_RAW 101 in files), DLT_IPV4/6
        return 0;
    }
}

bool supported_link(int dlt) {
    // Raw IP has several numbers: DLT_RAW is 12 (14 on OpenBSD) and files say LINKTYPE_RAW (101),
    // which libpcap normally maps to DLT_RAW; DLT_IPV4/DLT_IPV6 are raw IP of one version.
    return dlt == DLT_EN10MB || dlt == DLT_LINUX_SLL || dlt == DLT_LINUX_SLL2 || dlt == DLT_RAW ||
           dlt == 12 || dlt == 14 || dlt == 101 || dlt == DLT_IPV4 || dlt == DLT_IPV6;
}

// Copies bytes into a new mbuf, chaining segments when they exceed one mbuf's data room.
rte_mbuf *to_mbuf(rte_mempool *pool, const uint8_t *data, uint32_t len) {
    rte_mbuf *head = nullptr;
    uint32_t off = 0;
    do {
        rte_mbuf *m = rte_pktmbuf_alloc(pool);
        if (!m) {
            rte_pktmbuf_free(head);
            return nullptr;
        }
        uint32_t n = std::min<uint32_t>(len - off, rte_pktmbuf_tailroom(m));
        char *dst = rte_pktmbuf_append(m, static_cast<uint16_t>(n));
        std::memcpy(dst, data + off, n);
        off += n;
        if (!head) {
            head = m;
        } else if (rte_pktmbuf_chain(head, m) != 0) {
            rte_pktmbuf_free(m);
            rte_pktmbuf_free(head);
            return nullptr;
        }
    } while (off < len);
    return head;
}

struct Counts {
    uint64_t read = 0, written = 0;
    uint64_t not_ip = 0;       // link-layer frames that do not carry IPv4/IPv6
    uint64_t truncated = 0;    // captured with a snaplen shorter than the packet
    uint64_t too_big = 0;      // larger than any IP packet
    uint64_t no_mbuf = 0;      // the tool's own pool ran out
    uint64_t fates[xlat::fate_count] = {};
    uint64_t paths[8] = {};
};

void summary(const Counts &c, FILE *to) {
    std::fprintf(to, "packets read:    %llu\npackets written: %llu\n",
                 static_cast<unsigned long long>(c.read), static_cast<unsigned long long>(c.written));
    auto skip = [&](uint64_t n, const char *what) {
        if (n) std::fprintf(to, "skipped %llu: %s\n", static_cast<unsigned long long>(n), what);
    };
    skip(c.not_ip, "not an IPv4 or IPv6 packet");
    skip(c.truncated, "captured shorter than the packet (snaplen)");
    skip(c.too_big, "larger than an IP packet can be");
    skip(c.no_mbuf, "mbuf pool exhausted");
    std::fprintf(to, "fates:\n");
    for (unsigned i = 0; i < xlat::fate_count; i++)
        if (c.fates[i])
            std::fprintf(to, "  %-34s %10llu  %s\n", xlat::fate_info[i].name,
                         static_cast<unsigned long long>(c.fates[i]), xlat::fate_info[i].description);
    std::fprintf(to, "translated by destination path:\n");
    for (unsigned i = 1; i < std::size(c.paths); i++)
        if (c.paths[i])
            std::fprintf(to, "  %-34s %10llu\n", xlat::path_name(static_cast<xlat::Path>(i)),
                         static_cast<unsigned long long>(c.paths[i]));
}

struct Args {
    std::string config, in, out;
    bool quiet = false, check_only = false, help = false;
};

bool parse_args(int argc, char **argv, Args &a) {
    std::vector<std::string> pos;
    for (int i = 1; i < argc; i++) {
        std::string s = argv[i];
        if (s == "--config" || s == "-c") {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "eamclat-pcap: %s needs a file\n", s.c_str());
                return false;
            }
            a.config = argv[++i];
        } else if (s.rfind("--config=", 0) == 0) {
            a.config = s.substr(9);
        } else if (s == "--quiet" || s == "-q") {
            a.quiet = true;
        } else if (s == "--check-config") {
            a.check_only = true;
        } else if (s == "--help" || s == "-h") {
            a.help = true;
        } else if (s.size() > 1 && s[0] == '-') {
            std::fprintf(stderr, "eamclat-pcap: unknown option %s\n", s.c_str());
            return false;
        } else {
            pos.push_back(s);
        }
    }
    if (a.help) return true;
    if (a.config.empty()) {
        std::fprintf(stderr, "eamclat-pcap: --config is required\n");
        return false;
    }
    if (a.check_only) {
        if (!pos.empty()) {
            std::fprintf(stderr, "eamclat-pcap: --check-config takes no pcap files\n");
            return false;
        }
        return true;
    }
    if (pos.size() != 2) {
        std::fprintf(stderr, "eamclat-pcap: expected IN.pcap and OUT.pcap\n");
        return false;
    }
    a.in = pos[0];
    a.out = pos[1];
    return true;
}

bool eal_init(const char *argv0) {
    // A private, hugepage-free EAL: the tool must run as any user next to a running daemon.
    std::string prefix = "--file-prefix=eamclat-pcap-" + std::to_string(getpid());
    std::vector<const char *> eal = {argv0, "--no-huge", "-m", "256", "--no-pci", "--no-shconf",
                                     "--no-telemetry", "-l", "0", "--log-level=*:error",
                                     prefix.c_str()};
    if (rte_eal_init(static_cast<int>(eal.size()), const_cast<char **>(eal.data())) < 0) {
        std::fprintf(stderr, "eamclat-pcap: DPDK EAL initialisation failed: %s\n",
                     rte_strerror(rte_errno));
        return false;
    }
    return true;
}

int run(const Args &a, const DaemonConfig &cfg) {
    char errbuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *in = pcap_open_offline(a.in.c_str(), errbuf);
    if (!in) {
        std::fprintf(stderr, "eamclat-pcap: %s: %s\n", a.in.c_str(), errbuf);
        return exit_usage;
    }
    const int dlt = pcap_datalink(in);
    if (!supported_link(dlt)) {
        const char *name = pcap_datalink_val_to_name(dlt);
        std::fprintf(stderr,
                     "eamclat-pcap: %s: unsupported link type %d (%s): expected Ethernet, raw IP "
                     "or Linux cooked capture\n",
                     a.in.c_str(), dlt, name ? name : "unknown");
        pcap_close(in);
        return exit_usage;
    }

    xlat::StaticMapper mapper(cfg.xlat);  // the config is validated: cannot throw
    if (!eal_init("eamclat-pcap")) {
        pcap_close(in);
        return exit_failure;
    }
    // Enough for a 64 KiB packet in 2 KiB segments, its 53 fragments, and slack.
    rte_mempool *pool = rte_pktmbuf_pool_create("pcap_pool", 4095, 0, 0,
                                                RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (!pool) {
        std::fprintf(stderr, "eamclat-pcap: mbuf pool: %s\n", rte_strerror(rte_errno));
        pcap_close(in);
        rte_eal_cleanup();
        return exit_failure;
    }

    // LINKTYPE_RAW (101) in the file header: libpcap maps DLT_RAW to it.
    pcap_t *dead = pcap_open_dead(DLT_RAW, 262144);
    pcap_dumper_t *out = dead ? pcap_dump_open(dead, a.out.c_str()) : nullptr;
    if (!out) {
        // libpcap's message names the file already.
        std::fprintf(stderr, "eamclat-pcap: %s\n",
                     dead ? pcap_geterr(dead) : "pcap_open_dead failed");
        if (dead) pcap_close(dead);
        pcap_close(in);
        rte_mempool_free(pool);
        rte_eal_cleanup();
        return exit_failure;
    }

    const xlat::Context ctx{&cfg.xlat, &mapper, pool};
    Counts c;
    std::vector<uint8_t> buf;
    int rc = 0;
    pcap_pkthdr *h;
    const u_char *data;
    int r;
    while ((r = pcap_next_ex(in, &h, &data)) == 1) {
        c.read++;
        long off = ip_offset(dlt, data, h->caplen);
        if (off < 0 || h->caplen <= static_cast<uint32_t>(off)) {
            c.not_ip++;
            continue;
        }
        const uint8_t *ip = data + off;
        const uint32_t len = h->caplen - static_cast<uint32_t>(off);
        const unsigned version = ip[0] >> 4;
        if (version != 4 && version != 6) {
            c.not_ip++;
            continue;
        }
        if (h->caplen < h->len) {
            c.truncated++;
            continue;
        }
        if (len > max_ip_packet) {
            c.too_big++;
            continue;
        }
        rte_mbuf *m = to_mbuf(pool, ip, len);
        if (!m) {
            c.no_mbuf++;
            continue;
        }
        xlat::Output o;
        xlat::Result res = version == 4 ? xlat::translate_4to6(ctx, m, o)
                                        : xlat::translate_6to4(ctx, m, o);
        const unsigned f = static_cast<unsigned>(res.fate);
        if (f < xlat::fate_count) c.fates[f]++;
        if (!xlat::fate_is_drop(res.fate) && static_cast<unsigned>(res.path) < std::size(c.paths))
            c.paths[static_cast<unsigned>(res.path)]++;
        for (unsigned i = 0; i < o.n && i < xlat::Output::max; i++) {
            rte_mbuf *e = o.pkts[i].m;
            const uint32_t n = rte_pktmbuf_pkt_len(e);
            buf.resize(n);
            const void *bytes = rte_pktmbuf_read(e, 0, n, buf.data());
            pcap_pkthdr oh{};
            oh.ts = h->ts;
            oh.caplen = oh.len = n;
            pcap_dump(reinterpret_cast<u_char *>(out), &oh, static_cast<const u_char *>(bytes));
            c.written++;
            rte_pktmbuf_free(e);
        }
    }
    if (r == PCAP_ERROR) {
        std::fprintf(stderr, "eamclat-pcap: %s: after %llu packets: %s\n", a.in.c_str(),
                     static_cast<unsigned long long>(c.read), pcap_geterr(in));
        rc = exit_usage;
    }
    if (pcap_dump_flush(out) != 0 || std::ferror(pcap_dump_file(out))) {
        std::fprintf(stderr, "eamclat-pcap: %s: write error: %s\n", a.out.c_str(), std::strerror(errno));
        rc = exit_failure;
    }
    pcap_dump_close(out);
    pcap_close(dead);
    pcap_close(in);

    if (!a.quiet) summary(c, stdout);
    // Every mbuf must be back: the translator consumes its input and the tool frees the output.
    const unsigned leaked = rte_mempool_in_use_count(pool);
    if (leaked) std::fprintf(stderr, "eamclat-pcap: warning: %u mbufs not returned to the pool\n", leaked);
    rte_mempool_free(pool);
    rte_eal_cleanup();
    return rc;
}

}  // namespace

int main(int argc, char **argv) {
    Args a;
    if (!parse_args(argc, argv, a)) {
        std::fprintf(stderr, "Try 'eamclat-pcap --help'.\n");
        return exit_usage;
    }
    if (a.help) {
        usage(stdout);
        return 0;
    }
    std::vector<ConfigError> errs;
    auto cfg = load_config(a.config, ConfigScope::translator, errs);
    if (!cfg) {
        for (const auto &e : errs) std::fprintf(stderr, "%s\n", e.str(a.config).c_str());
        std::fprintf(stderr, "eamclat-pcap: %s: %zu error%s\n", a.config.c_str(), errs.size(),
                     errs.size() == 1 ? "" : "s");
        return exit_usage;
    }
    if (a.check_only) {
        if (!a.quiet) std::printf("%s: OK\n", a.config.c_str());
        return 0;
    }
    if (cfg->plat_prefix_discover && !a.quiet)
        std::fprintf(stderr,
                     "eamclat-pcap: %s: plat-prefix is 'discover': the offline tool cannot discover "
                     "it, so only EAMT destinations translate\n",
                     a.config.c_str());
    try {
        return run(a, *cfg);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "eamclat-pcap: %s\n", e.what());
        return exit_failure;
    }
}
