// eamclat-bench: the daemon's worker (dp::Worker over tables::DaemonMapper, EamtTables, FlowTable)
// driven on two DPDK ports, with the measurements the daemon does not make: cycles per packet on
// the worker, loss while the control thread rewrites the EAMT, memory per entry and per flow.
//
//   eamclat-bench [EAL args] -- pipeline --in PORT --out PORT --direction 4to6|6to4 --eamt N
//                  [--flows F --flow-proto 17|6] [--churn UPDATES_PER_S] [--warmup S] [--seconds S]
//                  [--mbufs N] [--mbuf-size BYTES]
//   eamclat-bench [EAL args] -- memory --eamt N --flows F
//
// pipeline: EAL lcore 1 runs the worker loop (the same calls as dp::Worker::run: rx_burst,
// Worker::handle_burst, Worker::drain, one RCU quiescent state per loop) with rte_rdtsc around
// the handle/drain part; the main lcore is the control thread (EAMT churn, RCU reclamation,
// sightings). Prints one JSON object on stdout.
//
// The address plan (EAMT entry i, flow f, MACs) is the one scripts/bench/make_pcap.py writes
// packets for; keep both in sync.
#include <malloc.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "neighbors.hpp"
#include "ports.hpp"
#include "tables/daemon_mapper.hpp"
#include "tables/eamt_tables.hpp"
#include "tables/flow_table.hpp"
#include "tables/rcu.hpp"
#include "worker.hpp"

using namespace eamclat;
using dp::PortRole;

namespace {

// ---- the address plan (scripts/bench/make_pcap.py)
constexpr unsigned lan_hosts = 200;
constexpr uint8_t lan_mac[6] = {2, 0, 0, 0, 0, 1};
constexpr uint8_t wan_mac[6] = {2, 0, 0, 0, 0, 2};
constexpr uint8_t gateway_mac[6] = {2, 0, 0, 0, 0, 0xfe};

Ip4 host4(unsigned h) { return (198u << 24) | (18u << 16) | h; }
Ip4 default_base4(uint32_t entries) { return entries <= 65536 ? (198u << 24) | (19u << 16) : 10u << 24; }
Ip6 entry6(uint32_t i) {
    Ip6 a = *Ip6::parse("2001:2:0:1::");
    a.b[12] = static_cast<uint8_t>(i >> 24);
    a.b[13] = static_cast<uint8_t>(i >> 16);
    a.b[14] = static_cast<uint8_t>(i >> 8);
    a.b[15] = static_cast<uint8_t>(i);
    return a;
}
struct FlowPlan {
    unsigned host;
    uint32_t entry;
    uint16_t host_port;
};
FlowPlan flow_plan(uint64_t f, uint32_t entries) {
    return FlowPlan{1 + static_cast<unsigned>(f % lan_hosts), static_cast<uint32_t>((f * 2654435761ull) % entries),
                    static_cast<uint16_t>(1024 + (f / lan_hosts) % 64000)};
}
rte_ether_addr ether(const uint8_t (&b)[6]) {
    rte_ether_addr e;
    memcpy(e.addr_bytes, b, 6);
    return e;
}

[[noreturn]] void die(const std::string &msg) {
    fprintf(stderr, "eamclat-bench: %s\n", msg.c_str());
    rte_eal_cleanup();
    exit(1);
}

struct Options {
    std::string mode;
    std::string in = "net_pcap0", out = "net_null0";
    bool four_to_six = true;
    uint32_t eamt = 10;
    Ip4 base4 = 0;
    bool base4_given = false;
    uint32_t flows = 0;
    uint8_t flow_proto = 17;
    double churn = 0;  // EAMT updates per second from the control thread
    double warmup = 1, seconds = 3;
    uint32_t mbufs = 16383;
    uint16_t mbuf_size = RTE_MBUF_DEFAULT_BUF_SIZE;
};

Options parse(int argc, char **argv) {
    Options o;
    if (argc < 1) die("usage: eamclat-bench [EAL] -- pipeline|memory [options]");
    o.mode = argv[0];
    for (int i = 1; i < argc; ++i) {
        const std::string k = argv[i];
        auto val = [&]() -> std::string {
            if (i + 1 >= argc) die("missing value for " + k);
            return argv[++i];
        };
        if (k == "--in") o.in = val();
        else if (k == "--out") o.out = val();
        else if (k == "--direction") o.four_to_six = val() == "4to6";
        else if (k == "--eamt") o.eamt = static_cast<uint32_t>(std::stoul(val()));
        else if (k == "--base4") {
            auto a = parse_ip4(val());
            if (!a) die("bad --base4");
            o.base4 = *a;
            o.base4_given = true;
        } else if (k == "--flows") o.flows = static_cast<uint32_t>(std::stoul(val()));
        else if (k == "--flow-proto") o.flow_proto = static_cast<uint8_t>(std::stoul(val()));
        else if (k == "--churn") o.churn = std::stod(val());
        else if (k == "--warmup") o.warmup = std::stod(val());
        else if (k == "--seconds") o.seconds = std::stod(val());
        else if (k == "--mbufs") o.mbufs = static_cast<uint32_t>(std::stoul(val()));
        else if (k == "--mbuf-size") o.mbuf_size = static_cast<uint16_t>(std::stoul(val()));
        else die("unknown option " + k);
    }
    if (o.eamt == 0) die("--eamt must be at least 1");
    if (!o.base4_given) o.base4 = default_base4(o.eamt);
    return o;
}

xlat::Config xlat_config() {
    xlat::Config c;
    c.mode = xlat::Mode::clat;
    c.clat_prefix = *Prefix6::parse("2001:2:0:c1a7::/96");
    c.plat_prefix = *Prefix6::parse("2001:2:0:6464::/96");
    return c;
}

tables::EamtCapacity capacity_for(uint32_t entries) {
    tables::EamtCapacity cap;
    cap.global_entries = entries + 1024;  // room for the churn's add-before-reclaim
    cap.learned_entries = 1024;
    return cap;
}

// Adds entry i as an operator-table /32 <-> /128 pair; returns its id.
uint32_t add_entry(tables::EamtTables &t, Ip4 base4, uint32_t i) {
    xlat::EamtEntry e;
    e.ipv4 = Prefix4{base4 + i, 32};
    e.ipv6 = Prefix6{entry6(i), 128};
    e.source = xlat::EamtSource::operator_table;
    std::string err;
    uint32_t id = 0;
    if (!t.add(e, &err, &id)) die("eamt add " + e.ipv4.str() + ": " + err);
    return id;
}

uint32_t flow_clock() { return static_cast<uint32_t>(rte_get_tsc_cycles() / rte_get_tsc_hz()); }

// Pre-creates flows 0..n-1 as the LAN hosts' first packets would have (path eamt_operator).
void create_flows(tables::FlowTable &ft, const std::vector<uint32_t> &ids, Ip4 base4, uint32_t n, uint8_t proto) {
    const uint32_t now = flow_clock();
    for (uint32_t f = 0; f < n; ++f) {
        const FlowPlan p = flow_plan(f, static_cast<uint32_t>(ids.size()));
        tables::FlowTuple t;
        t.host = host4(p.host);
        t.remote = base4 + p.entry;
        t.host_port = p.host_port;
        t.remote_port = proto == 6 ? 443 : 53;
        t.proto = proto;
        tables::FlowTable::Refusal why = tables::FlowTable::Refusal::none;
        if (!ft.create(t, entry6(p.entry), xlat::Path::eamt_operator, ids[p.entry], now, &why))
            die("flow " + std::to_string(f) + " refused (" + (why == tables::FlowTable::Refusal::full ? "full" : "conflict") + ")");
    }
}

// ---- memory: bytes per EAMT entry and per flow, from the DPDK heap and the libc heap
struct Heap {
    uint64_t dpdk = 0, libc = 0;
};
Heap heap_now() {
    Heap h;
    rte_malloc_socket_stats st;
    for (int s = 0; s < RTE_MAX_NUMA_NODES; ++s)
        if (rte_malloc_get_socket_stats(s, &st) == 0) h.dpdk += st.heap_allocsz_bytes;
    struct mallinfo2 mi = mallinfo2();
    h.libc = mi.uordblks + mi.hblkhd;
    return h;
}

int run_memory(const Options &o) {
    tables::Rcu rcu(1);
    const Heap h0 = heap_now();
    auto eamt = std::make_unique<tables::EamtTables>(capacity_for(o.eamt), rcu, static_cast<int>(rte_socket_id()));
    const Heap h1 = heap_now();
    std::vector<uint32_t> ids(o.eamt);
    for (uint32_t i = 0; i < o.eamt; ++i) ids[i] = add_entry(*eamt, o.base4, i);
    const Heap h2 = heap_now();
    printf("{\"eamt_entries\": %u, \"eamt_empty_dpdk\": %" PRIu64 ", \"eamt_empty_libc\": %" PRIu64
           ", \"eamt_filled_dpdk\": %" PRIu64 ", \"eamt_filled_libc\": %" PRIu64,
           o.eamt, h1.dpdk - h0.dpdk, h1.libc - h0.libc, h2.dpdk - h0.dpdk, h2.libc - h0.libc);
    if (o.flows) {
        tables::FlowTimeouts t;
        const Heap f0 = heap_now();
        auto ft = std::make_unique<tables::FlowTable>(o.flows, t, rcu, static_cast<int>(rte_socket_id()));
        const Heap f1 = heap_now();
        create_flows(*ft, ids, o.base4, o.flows, 17);
        const Heap f2 = heap_now();
        printf(", \"flows\": %u, \"flows_empty_dpdk\": %" PRIu64 ", \"flows_empty_libc\": %" PRIu64
               ", \"flows_filled_dpdk\": %" PRIu64 ", \"flows_filled_libc\": %" PRIu64,
               o.flows, f1.dpdk - f0.dpdk, f1.libc - f0.libc, f2.dpdk - f0.dpdk, f2.libc - f0.libc);
    }
    printf("}\n");
    return 0;
}

// ---- pipeline
struct alignas(RTE_CACHE_LINE_SIZE) LoopStats {
    uint64_t packets = 0;      // frames handed to Worker::handle_burst
    uint64_t busy_cycles = 0;  // rte_rdtsc around handle + drain
};

// Per-burst cycles per packet, in bins of 4 cycles, weighted by packets: its median is what a
// packet costs when the worker has the core, whatever else the machine runs (a burst is a few
// microseconds, a preemption lands in few of them), where the mean is inflated by every one.
constexpr unsigned hist_bins = 2048, hist_bin_cycles = 4;

struct LoopArgs {
    dp::Worker *worker;
    tables::DaemonMapper *mapper;
    rte_rcu_qsbr *qsbr;
    const std::atomic<bool> *stop;
    const std::atomic<bool> *measuring;
    LoopStats stats;
    std::atomic<pid_t> tid{0};
    std::vector<uint64_t> hist = std::vector<uint64_t>(hist_bins);
};

// Nanoseconds the thread has spent on a CPU (scheduler statistics): the core share the worker
// actually got, on a machine it shares with other work.
uint64_t thread_cpu_ns(pid_t tid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/schedstat", static_cast<int>(tid));
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    unsigned long long ns = 0;
    if (fscanf(f, "%llu", &ns) != 1) ns = 0;
    fclose(f);
    return ns;
}

void publish(uint64_t &c, uint64_t v) { __atomic_store_n(&c, v, __ATOMIC_RELAXED); }
uint64_t load(const uint64_t &c) { return __atomic_load_n(&c, __ATOMIC_RELAXED); }

// dp::Worker::run's loop (its per-burst work is the real Worker::handle_burst) with the cycles
// around the work on received frames measured; the RX
// burst itself (in this benchmark: the generator's copy, see docs/BENCHMARKING.md) is not.
int worker_loop(void *arg) {
    auto *a = static_cast<LoopArgs *>(arg);
    dp::Worker &w = *a->worker;
    const dp::WorkerSetup &s = w.setup();
    a->tid.store(static_cast<pid_t>(syscall(SYS_gettid)));
    uint64_t *hist = a->hist.data();
    rte_rcu_qsbr_thread_register(a->qsbr, 0);
    rte_rcu_qsbr_thread_online(a->qsbr, 0);
    rte_mbuf *pkts[dp::Worker::burst];
    uint64_t packets = 0, busy = 0;
    uint64_t last_drain = rte_rdtsc();
    while (!a->stop->load(std::memory_order_relaxed)) {
        const uint64_t now = rte_rdtsc();
        a->mapper->set_now(static_cast<uint32_t>(now / s.tsc_hz));
        unsigned received = 0;
        for (unsigned r = 0; r < dp::port_role_count; ++r) {
            const dp::WorkerPort &port = s.ports[r];
            const uint16_t n = rte_eth_rx_burst(port.port_id, port.queue, pkts, dp::Worker::burst);
            if (n == 0) continue;
            received += n;
            const uint64_t t0 = rte_rdtsc();
            w.handle_burst(static_cast<PortRole>(r), pkts, n, now);
            const uint64_t spent = rte_rdtsc() - t0;
            busy += spent;
            packets += n;
            if (a->measuring->load(std::memory_order_relaxed))
                hist[RTE_MIN(spent / n / hist_bin_cycles, uint64_t{hist_bins - 1})] += n;
        }
        if (received == 0 || now - last_drain >= s.drain_tsc) {
            const uint64_t t0 = rte_rdtsc();
            w.drain(now);
            busy += rte_rdtsc() - t0;
            last_drain = now;
        }
        publish(a->stats.packets, packets);
        publish(a->stats.busy_cycles, busy);
        rte_rcu_qsbr_quiescent(a->qsbr, 0);
    }
    w.drain(rte_rdtsc());
    rte_rcu_qsbr_thread_offline(a->qsbr, 0);
    rte_rcu_qsbr_thread_unregister(a->qsbr, 0);
    return 0;
}

struct Sample {
    uint64_t tsc, packets, busy, sent, cpu_ns;
};

int run_pipeline(const Options &o) {
    const unsigned worker_lcore = rte_get_next_lcore(rte_get_main_lcore(), 1, 0);
    if (worker_lcore >= RTE_MAX_LCORE) die("needs two lcores (-l 0-1)");
    const uint64_t hz = rte_get_tsc_hz();
    const int socket = static_cast<int>(rte_socket_id());

    rte_mempool *pool = rte_pktmbuf_pool_create("bench_pool", o.mbufs, 256, 0, o.mbuf_size, socket);
    if (!pool) die(std::string("mempool: ") + rte_strerror(rte_errno));

    // Ports: LAN receives the 4->6 traffic, WAN the 6->4 traffic.
    dp::Port ports[dp::port_role_count];
    const std::string dev[dp::port_role_count] = {o.four_to_six ? o.in : o.out, o.four_to_six ? o.out : o.in};
    for (unsigned r = 0; r < dp::port_role_count; ++r) {
        dp::PortSetup ps;
        ps.device = dev[r];
        ps.workers = 1;
        ps.rx_pools = {pool};
        std::string err;
        auto p = dp::open_port(ps, err);
        if (!p) die(err);
        ports[r] = *p;
    }

    // Tables, as Daemon::create_tables builds them.
    tables::Rcu rcu(1);
    tables::EamtTables eamt(capacity_for(o.eamt), rcu, socket);
    std::vector<uint32_t> ids(o.eamt);
    for (uint32_t i = 0; i < o.eamt; ++i) ids[i] = add_entry(eamt, o.base4, i);
    std::unique_ptr<tables::FlowTable> flows;
    if (o.flows) {
        flows = std::make_unique<tables::FlowTable>(o.flows, tables::FlowTimeouts{}, rcu, socket);
        create_flows(*flows, ids, o.base4, o.flows, o.flow_proto);
    }
    const xlat::Config cfg = xlat_config();
    tables::DaemonMapper mapper(cfg, eamt, flows.get());

    // Neighbors: the WAN gateway and every LAN host static, as with gateway-mac in the config and
    // hosts already learned (steady state: no sightings, no resolution).
    dp::NeighborTable neighbors[dp::port_role_count] = {dp::NeighborTable(1024), dp::NeighborTable(1024)};
    const Ip6 gateway = *Ip6::parse("2001:2:0:ffff::fe");
    neighbors[1].set_static(gateway, ether(gateway_mac));
    for (unsigned h = 1; h <= lan_hosts; ++h) {
        const uint8_t m[6] = {2, 0, 0, 0, 1, static_cast<uint8_t>(h)};
        neighbors[0].set_static(dp::neighbor_key4(host4(h)), ether(m));
    }
    rte_ring *sightings = rte_ring_create_elem("bench_sightings", sizeof(dp::Sighting), 1024, socket, RING_F_SC_DEQ);
    if (!sightings) die("sightings ring");

    dp::ClassifyConfig classify;
    classify.mode = xlat::Mode::clat;
    classify.lan.add4(host4(254), 24);
    classify.wan.add6(*Ip6::parse("2001:2:0:ffff::1"), 64);
    memcpy(classify.lan.mac, lan_mac, 6);
    memcpy(classify.wan.mac, wan_mac, 6);
    classify.has_clat_prefix = true;
    classify.clat_prefix = *cfg.clat_prefix;

    std::atomic<bool> stop{false}, measuring{false};
    dp::WorkerSetup s;
    s.index = 0;
    s.classify = &classify;
    for (unsigned r = 0; r < dp::port_role_count; ++r) {
        s.ports[r].port_id = ports[r].id;
        s.ports[r].queue = 0;
        s.ports[r].mac = ether(r == 0 ? lan_mac : wan_mac);
        s.ports[r].neighbors = &neighbors[r];
    }
    s.has_gateway = true;
    s.gateway = gateway;
    s.xlat = xlat::Context{&cfg, &mapper, pool};
    s.flow_mapper = &mapper;
    s.tsc_hz = hz;
    s.sightings = sightings;
    s.stop = &stop;
    s.drain_tsc = hz / 10000;
    s.sighting_interval_tsc = hz / 10;
    s.neighbor_hold_tsc = hz;
    s.icmp6_error_interval_tsc = hz / 1000;
    auto worker = std::make_unique<dp::Worker>(s);

    for (auto &p : ports) {
        std::string err;
        if (!dp::start_port(p, err)) die(err);
    }
    LoopArgs args{worker.get(), &mapper, rcu.qsbr(), &stop, &measuring, {}};
    if (rte_eal_remote_launch(worker_loop, &args, worker_lcore) != 0) die("cannot launch the worker");

    const unsigned out_role = o.four_to_six ? 1 : 0;
    const dp::WorkerCounters &wc = worker->counters();
    auto sample = [&] {
        return Sample{rte_rdtsc(), load(args.stats.packets), load(args.stats.busy_cycles),
                      dp::read_counter(wc.egress[out_role][static_cast<unsigned>(dp::Egress::sent)]),
                      thread_cpu_ns(args.tid.load())};
    };

    // The control thread: EAMT churn (remove an entry, add it back: two updates) spread over 1 ms
    // slices, RCU reclamation, sightings drained.
    std::mt19937_64 rng(7757);
    uint64_t updates = 0, reclaimed = 0;
    const uint64_t slice = hz / 1000;
    double owed = 0;
    auto control = [&](double secs) {
        const uint64_t end = rte_rdtsc() + static_cast<uint64_t>(secs * static_cast<double>(hz));
        uint64_t next = rte_rdtsc();
        while (rte_rdtsc() < end) {
            // Sleep, as the daemon's control thread does between its 1 ms timer ticks: a spinning
            // main lcore would take CPU time from the worker on a machine with other work.
            const uint64_t t = rte_rdtsc();
            if (t < next) rte_delay_us_sleep(static_cast<unsigned>((next - t) * 1000000 / hz));
            next += slice;
            if (o.churn > 0) {
                owed += o.churn / 1000.0;
                while (owed >= 2) {
                    const uint32_t i = static_cast<uint32_t>(rng() % o.eamt);
                    if (!eamt.remove(xlat::EamtSource::operator_table, Prefix4{o.base4 + i, 32}))
                        die("churn: remove failed");
                    ids[i] = add_entry(eamt, o.base4, i);
                    updates += 2;
                    owed -= 2;
                }
                reclaimed += eamt.reclaim();
            }
            dp::Sighting batch[32];
            while (rte_ring_sc_dequeue_burst_elem(sightings, batch, sizeof(dp::Sighting), 32, nullptr) > 0) {
            }
        }
    };

    control(o.warmup);
    const uint64_t updates0 = updates;
    while (args.tid.load() == 0) rte_pause();
    measuring.store(true);
    const Sample a = sample();
    control(o.seconds);
    const Sample b = sample();
    measuring.store(false);
    const uint64_t churn_updates = updates - updates0;
    stop.store(true, std::memory_order_release);
    rte_eal_mp_wait_lcore();

    // Every frame received must have left as exactly one translated packet (no fragments, no
    // errors generated in these cases): loss counts what did not, whatever the reason.
    uint64_t rx_total = load(args.stats.packets), sent_total = 0, tx_full = 0;
    for (unsigned r = 0; r < dp::port_role_count; ++r) {
        sent_total += wc.egress[r][static_cast<unsigned>(dp::Egress::sent)];
        tx_full += wc.egress[r][static_cast<unsigned>(dp::Egress::dropped_tx_full)];
    }
    const double secs = static_cast<double>(b.tsc - a.tsc) / static_cast<double>(hz);
    const uint64_t pk = b.packets - a.packets;
    const double cpu_secs = static_cast<double>(b.cpu_ns - a.cpu_ns) / 1e9;
    uint64_t hist_total = 0, acc = 0;
    for (uint64_t v : args.hist) hist_total += v;
    double p50 = 0, p10 = 0;
    for (unsigned i = 0; i < hist_bins && hist_total; ++i) {
        const uint64_t before = acc;
        acc += args.hist[i];
        const double mid = (i + 0.5) * hist_bin_cycles;
        if (before < hist_total / 10 && acc >= hist_total / 10) p10 = mid;
        if (before < hist_total / 2 && acc >= hist_total / 2) p50 = mid;
    }
    printf("{\"direction\": \"%s\", \"eamt\": %u, \"flows\": %u, \"churn_rate\": %.0f, \"seconds\": %.3f, "
           "\"mpps\": %.4f, \"cpu_share\": %.3f, \"mpps_per_core\": %.4f, \"cycles_per_packet_mean\": %.1f, "
           "\"cycles_per_packet_p50\": %.1f, \"cycles_per_packet_p10\": %.1f, \"core_cycles_per_packet\": %.1f, "
           "\"tsc_hz\": %" PRIu64 ", \"churn_updates\": %" PRIu64 ", \"churn_updates_per_s\": %.0f, "
           "\"rx_total\": %" PRIu64 ", \"sent_total\": %" PRIu64 ", \"loss\": %" PRId64 ", \"tx_full\": %" PRIu64,
           o.four_to_six ? "4to6" : "6to4", o.eamt, o.flows, o.churn, secs,
           static_cast<double>(b.sent - a.sent) / secs / 1e6, cpu_secs / secs,
           cpu_secs > 0 ? static_cast<double>(b.sent - a.sent) / cpu_secs / 1e6 : 0.0,
           pk ? static_cast<double>(b.busy - a.busy) / static_cast<double>(pk) : 0.0, p50, p10,
           pk ? cpu_secs * static_cast<double>(hz) / static_cast<double>(pk) : 0.0, hz, churn_updates,
           static_cast<double>(churn_updates) / secs, rx_total, sent_total,
           static_cast<int64_t>(rx_total) - static_cast<int64_t>(sent_total), tx_full);
    printf(", \"fates\": {");
    bool first = true;
    for (unsigned f = 0; f < xlat::fate_count; ++f)
        if (wc.xlat_fate[f]) {
            printf("%s\"%s\": %" PRIu64, first ? "" : ", ", xlat::fate_info[f].name, wc.xlat_fate[f]);
            first = false;
        }
    for (unsigned f = 0; f < dp::fate_count; ++f)
        if (wc.fate[f]) {
            printf("%s\"dp.%s\": %" PRIu64, first ? "" : ", ", dp::fate_info[f].name, wc.fate[f]);
            first = false;
        }
    const auto &mc = mapper.counters();
    printf("}, \"mapper\": {\"flow_hits\": %" PRIu64 ", \"flows_created\": %" PRIu64 ", \"stateless\": %" PRIu64
           "}, \"flows_live\": %u, \"reclaimed\": %" PRIu64 "}\n",
           mc.flow_hits.load(), mc.flows_created.load(), mc.stateless.load(), flows ? flows->size() : 0, reclaimed);
    fflush(stdout);

    eamt.reclaim_all();
    if (flows) flows->reclaim_all();
    worker.reset();
    for (auto &p : ports) dp::close_port(p);
    rte_ring_free(sightings);
    rte_mempool_free(pool);
    return 0;
}

}  // namespace

int main(int argc, char **argv) {
    const int consumed = rte_eal_init(argc, argv);
    if (consumed < 0) {
        fprintf(stderr, "eamclat-bench: EAL init failed: %s\n", rte_strerror(rte_errno));
        return 1;
    }
    const Options o = parse(argc - consumed - 1, argv + consumed + 1);
    int rc;
    if (o.mode == "pipeline")
        rc = run_pipeline(o);
    else if (o.mode == "memory")
        rc = run_memory(o);
    else
        die("mode must be pipeline or memory");
    rte_eal_cleanup();
    return rc;
}
