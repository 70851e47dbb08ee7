#!/usr/bin/python3
"""Runs the benchmark cases (eamclat-bench vs dpdk-testpmd on the same vdevs, pcaps and EAL
arguments), the memory measurement and the DNS proxy measurement; prints a table and writes
docs/PERFORMANCE.md. Called by scripts/bench.sh (which builds first); see docs/BENCHMARKING.md.
"""
import argparse
import datetime
import json
import os
import platform
import re
import select
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

EAL = ['-l', '0-1', '--no-huge', '-m', '1024', '--no-pci', '--no-shconf', '--log-level=lib.eal:error']
K64 = 131072  # distinct packets in the large-table pcaps (see docs/BENCHMARKING.md, "working set")

# name, kind, direction, eamt, flows, churn, distinct packets, mbuf data room
CASES_FULL = [
    ('4->6 UDP 64B, EAMT 10', 'udp64', '4to6', 10, 0, 0, 1024, 384),
    ('4->6 UDP 64B, EAMT 10k', 'udp64', '4to6', 10000, 0, 0, 16384, 384),
    ('4->6 UDP 64B, EAMT 1M', 'udp64', '4to6', 1000000, 0, 0, K64, 384),
    ('6->4 UDP 84B, EAMT 10', 'udp64', '6to4', 10, 0, 0, 1024, 384),
    ('6->4 UDP 84B, EAMT 10k', 'udp64', '6to4', 10000, 0, 0, 16384, 384),
    ('6->4 UDP 84B, EAMT 1M', 'udp64', '6to4', 1000000, 0, 0, K64, 384),
    ('4->6 UDP 64B, EAMT 1M, 1k flows', 'udp64', '4to6', 1000000, 1000, 0, 16384, 384),
    ('4->6 UDP 64B, EAMT 1M, 100k flows', 'udp64', '4to6', 1000000, 100000, 0, K64, 384),
    ('4->6 UDP 64B, EAMT 1M, 1M flows', 'udp64', '4to6', 1000000, 1000000, 0, K64, 384),
    ('6->4 UDP 84B, EAMT 1M, 1k flows', 'udp64', '6to4', 1000000, 1000, 0, 16384, 384),
    ('6->4 UDP 84B, EAMT 1M, 100k flows', 'udp64', '6to4', 1000000, 100000, 0, K64, 384),
    ('6->4 UDP 84B, EAMT 1M, 1M flows', 'udp64', '6to4', 1000000, 1000000, 0, K64, 384),
    ('4->6 TCP IMIX, EAMT 10k, 10k flows', 'imix', '4to6', 10000, 10000, 0, 16384, 2176),
    ('4->6 ICMPv4 errors, EAMT 10k', 'icmperr', '4to6', 10000, 0, 0, 16384, 384),
    ('6->4 ICMPv6 errors, EAMT 10k', 'icmperr', '6to4', 10000, 0, 0, 16384, 384),
    ('4->6 UDP 64B, EAMT 1M + churn', 'udp64', '4to6', 1000000, 0, 10000, K64, 384),
    ('4->6 UDP 64B, EAMT 1M, 1M flows + churn', 'udp64', '4to6', 1000000, 1000000, 10000, K64, 384),
    ('6->4 UDP 84B, EAMT 1M, 1M flows + churn', 'udp64', '6to4', 1000000, 1000000, 10000, K64, 384),
]
CASES_QUICK = [
    ('4->6 UDP 64B, EAMT 10k', 'udp64', '4to6', 10000, 0, 0, 16384, 384),
    ('6->4 UDP 84B, EAMT 10k', 'udp64', '6to4', 10000, 0, 0, 16384, 384),
    ('4->6 UDP 64B, EAMT 1M, 1M flows', 'udp64', '4to6', 1000000, 1000000, 0, 32768, 384),
    ('4->6 UDP 64B, EAMT 1M, 1M flows + churn', 'udp64', '4to6', 1000000, 1000000, 10000, 32768, 384),
]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def loadavg():
    with open('/proc/loadavg') as f:
        return f.read().split()[0]


# ---------------------------------------------------------------------------- inputs
def make_pcap(work, kind, direction, eamt, flows, packets):
    path = os.path.join(work, f'{kind}_{direction}_e{eamt}_f{flows}_n{packets}.pcap')
    if not os.path.exists(path):
        subprocess.run([sys.executable, os.path.join(HERE, 'make_pcap.py'), '--kind', kind, '--direction', direction,
                        '--eamt', str(eamt), '--flows', str(flows), '--packets', str(packets), '-o', path], check=True)
    return path


def remove_runtime_dir(prefix):
    """EAL leaves /var/run/dpdk/<file-prefix> behind even with --no-shconf; each run has its own."""
    shutil.rmtree(os.path.join('/var/run/dpdk', prefix), ignore_errors=True)


def vdevs(pcap):
    # port 0: the generator (every RX burst copies the next prepared frame), port 1: the sink.
    return ['--vdev', f'net_pcap0,rx_pcap={pcap},infinite_rx=1', '--vdev', 'net_null0,no-rx=1']


# ---------------------------------------------------------------------------- eamclat
def run_eamclat(binary, pcap, case, warmup, seconds, tag):
    name, kind, direction, eamt, flows, churn, packets, room = case
    prefix = f'eamclat_bench_{os.getpid()}_{tag}'
    cmd = [binary] + EAL + ['--file-prefix', prefix, '--log-level=eamclat:warning'] + \
        vdevs(pcap) + ['--', 'pipeline', '--in', 'net_pcap0', '--out', 'net_null0', '--direction', direction,
                       '--eamt', str(eamt), '--flows', str(flows), '--flow-proto', '6' if kind == 'imix' else '17',
                       '--churn', str(churn), '--warmup', str(warmup), '--seconds', str(seconds),
                       '--mbufs', str(packets + 16384), '--mbuf-size', str(room)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    remove_runtime_dir(prefix)
    for line in p.stdout.splitlines():
        if line.startswith('{'):
            return json.loads(line)
    raise RuntimeError(f'eamclat-bench failed ({p.returncode}): {p.stderr[-2000:]}')


def run_memory(binary, eamt, flows, tag):
    prefix = f'eamclat_bench_{os.getpid()}_{tag}'
    cmd = [binary] + EAL + ['--file-prefix', prefix, '--', 'memory', '--eamt', str(eamt), '--flows', str(flows)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    remove_runtime_dir(prefix)
    for line in p.stdout.splitlines():
        if line.startswith('{'):
            return json.loads(line)
    raise RuntimeError(f'eamclat-bench memory failed: {p.stderr[-2000:]}')


# ---------------------------------------------------------------------------- testpmd
def busiest_thread(pid, window=0.3):
    """The thread of pid that runs most over a short window: testpmd's forwarding lcore, which
    polls without pause while the main thread sleeps at the prompt. (Cumulative time would pick
    the main thread, which spent seconds setting up; names differ between DPDK versions.)"""
    def snapshot():
        return {tid: thread_cpu_ns(pid, tid) or 0 for tid in os.listdir(f'/proc/{pid}/task')}
    a = snapshot()
    time.sleep(window)
    b = snapshot()
    return max(b, key=lambda tid: b[tid] - a.get(tid, 0))


def thread_cpu_ns(pid, tid):
    """On-CPU nanoseconds of a thread (scheduler statistics)."""
    try:
        with open(f'/proc/{pid}/task/{tid}/schedstat') as f:
            return int(f.read().split()[0])
    except OSError:
        return None


class Testpmd:
    def __init__(self, pcap, mode, packets, room, tag):
        self.prefix = f'eamclat_bench_{os.getpid()}_{tag}'
        args = ['stdbuf', '-o0', 'dpdk-testpmd'] + EAL + ['--file-prefix', self.prefix] + \
            vdevs(pcap) + ['--', '-i', f'--forward-mode={mode}', '--nb-cores=1', f'--mbuf-size={room}',
                           f'--total-num-mbufs={packets + 16384}']
        self.p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.buf = ''
        self.tid = None
        self.until(r'testpmd> ')

    def until(self, pattern, timeout=120):
        end = time.time() + timeout
        while time.time() < end:
            r, _, _ = select.select([self.p.stdout], [], [], 0.5)
            if r:
                chunk = os.read(self.p.stdout.fileno(), 65536).decode(errors='replace')
                if not chunk:
                    break
                self.buf += chunk
                m = re.search(pattern, self.buf)
                if m:
                    out, self.buf = self.buf[:m.end()], self.buf[m.end():]
                    return out
        self.p.kill()
        raise RuntimeError(f'testpmd: no {pattern!r}; output: {self.buf[-2000:]}')

    def cmd(self, c):
        self.p.stdin.write((c + '\n').encode())
        self.p.stdin.flush()
        return self.until(r'testpmd> ')

    def tx_packets(self, port):
        out = self.cmd(f'show port stats {port}')
        if self.tid is None:
            self.tid = busiest_thread(self.p.pid)
        return int(re.search(r'TX-packets:\s+(\d+)', out).group(1)), time.monotonic(), \
            thread_cpu_ns(self.p.pid, self.tid)

    def close(self):
        try:
            self.cmd('stop')
            self.p.stdin.write(b'quit\n')
            self.p.stdin.flush()
            self.p.wait(timeout=30)
        except Exception:
            self.p.kill()
            self.p.wait()
        remove_runtime_dir(self.prefix)


def run_testpmd(pcap, mode, packets, room, warmup, seconds, tsc_hz, tag):
    t = Testpmd(pcap, mode, packets, room, tag)
    try:
        t.cmd('start')
        time.sleep(warmup)
        n0, t0, c0 = t.tx_packets(1)
        time.sleep(seconds)
        n1, t1, c1 = t.tx_packets(1)
    finally:
        t.close()
    secs, pk = t1 - t0, n1 - n0
    cpu = (c1 - c0) / 1e9 if c0 is not None and c1 is not None else None
    return {'mpps': pk / secs / 1e6, 'cpu_share': cpu / secs if cpu else None,
            'mpps_per_core': pk / cpu / 1e6 if cpu else None,
            'core_cycles_per_packet': cpu * tsc_hz / pk if cpu and pk else None}


# ---------------------------------------------------------------------------- report
def fmt(v, spec='.2f', none='n/a'):
    return none if v is None else format(v, spec)


def verdict(ok):
    return 'met' if ok else '**missed**'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build-dir', default=os.path.join(ROOT, 'build-bench'))
    ap.add_argument('--quick', action='store_true', help='smoke run: 4 cases, short windows (< 2 minutes)')
    ap.add_argument('--work', default=None, help='directory for pcaps and logs (default: a temp dir)')
    ap.add_argument('--output', default=os.path.join(ROOT, 'docs', 'PERFORMANCE.md'))
    ap.add_argument('--json', default=None, help='also write the raw results here')
    ap.add_argument('--no-dns', action='store_true')
    ap.add_argument('--render-from', default=None, metavar='JSON',
                    help='write the report from the raw results of an earlier run (--json) instead of running')
    a = ap.parse_args()

    if a.render_from:
        with open(a.render_from) as f:
            raw = json.load(f)
        doc = render(raw['env'], raw['results'], raw['memory'], raw['dns'])
        print(doc)
        if a.output:
            with open(a.output, 'w') as f:
                f.write(doc)
            log(f'wrote {a.output}')
        return

    binary = os.path.join(a.build_dir, 'tests', 'bench', 'eamclat-bench')
    work = a.work or f'/tmp/eamclat-bench-{os.getpid()}'
    os.makedirs(work, exist_ok=True)
    cases = CASES_QUICK if a.quick else CASES_FULL
    warmup, seconds = (0.5, 1.0) if a.quick else (1.0, 3.0)
    modes = ['macswap'] if a.quick else ['io', 'macswap']
    started = time.time()
    env = {
        'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
        'cpu': next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), '?'),
        'cores': os.cpu_count(), 'kernel': platform.release(),
        'dpdk': subprocess.run(['pkg-config', '--modversion', 'libdpdk'], capture_output=True, text=True).stdout.strip(),
        'git': subprocess.run(['git', '-C', ROOT, 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True).stdout.strip(),
        'load_start': loadavg(), 'quick': a.quick,
    }

    results, testpmd_cache = [], {}
    for i, case in enumerate(cases):
        name, kind, direction, eamt, flows, churn, packets, room = case
        pcap = make_pcap(work, kind, direction, eamt, flows, packets)
        log(f'[{i + 1}/{len(cases)}] {name}: eamclat')
        r = {'case': name, 'kind': kind, 'direction': direction, 'eamt': eamt, 'flows': flows, 'churn': churn,
             'packets': packets}
        r['eamclat'] = run_eamclat(binary, pcap, case, warmup, seconds, f'c{i}')
        hz = r['eamclat']['tsc_hz']
        for mode in modes:
            key = (pcap, mode)
            if key not in testpmd_cache:
                log(f'[{i + 1}/{len(cases)}] {name}: testpmd {mode}')
                testpmd_cache[key] = run_testpmd(pcap, mode, packets, room, warmup, seconds, hz, f'c{i}{mode}')
            r['testpmd_' + mode] = testpmd_cache[key]
        results.append(r)

    log('memory')
    mem_sizes = [(10000, 10000), (1000000, 1000000)] if not a.quick else [(1000000, 1000000)]
    memory = [run_memory(binary, e, f, f'm{e}') for e, f in mem_sizes]

    dns = None
    if not a.no_dns:
        log('dns')
        import dns_bench
        dns = dns_bench.run(a.build_dir, work, quick=a.quick)

    env['load_end'] = loadavg()
    env['elapsed'] = round(time.time() - started)
    doc = render(env, results, memory, dns)
    print(doc)
    if a.json:
        with open(a.json, 'w') as f:
            json.dump({'env': env, 'results': results, 'memory': memory, 'dns': dns}, f, indent=1)
    if a.output:
        os.makedirs(os.path.dirname(a.output), exist_ok=True)
        with open(a.output, 'w') as f:
            f.write(doc)
        log(f'wrote {a.output}')
    if not a.work:
        shutil.rmtree(work, ignore_errors=True)


def render(env, results, memory, dns):
    L = []
    L.append('# eamclat performance\n')
    L.append('<!-- Generated by scripts/bench.sh; do not edit by hand: re-run it. -->\n')
    L.append(f"Run {env['date']}{' (--quick)' if env['quick'] else ''}, git {env['git'] or '?'}: {env['cpu']}, "
             f"{env['cores']} cores, Linux {env['kernel']}, DPDK {env['dpdk']}, EAL `{' '.join(EAL)}` (4 KiB pages). "
             f"Load average {env['load_start']} at start, {env['load_end']} at the end; {env['elapsed']} s.\n")
    L.append('Method (docs/BENCHMARKING.md): one worker lcore; the generator is `net_pcap` with `infinite_rx=1` '
             '(each RX burst copies prepared frames into fresh mbufs, on the worker\'s core), the sink `net_null`; '
             'eamclat (`eamclat-bench`: the daemon\'s `dp::Worker` over `DaemonMapper`, `EamtTables`, `FlowTable`) '
             'and `dpdk-testpmd` (io, macswap) read the same pcap through the same vdevs with the same EAL arguments. '
             '"Mpps" is wall-clock; "Mpps/core" divides by the CPU time the worker thread actually got '
             '(`/proc/.../schedstat`), which is what to compare on a shared machine. "cyc/pkt p50" is the median over '
             'RX bursts of the cycles Worker::handle_burst took per packet (classification, flow lookups, translation, Ethernet, TX '
             'buffering), robust to preemption; "core cyc/pkt" is all the worker thread\'s cycles per packet '
             '(RX copy and polling included), comparable with testpmd\'s.\n')

    L.append('## Throughput\n')
    L.append('| case | eamclat Mpps | Mpps/core | cyc/pkt p50 | core cyc/pkt | testpmd io Mpps/core | testpmd macswap '
             'Mpps/core | macswap core cyc/pkt | ratio to macswap | loss |')
    L.append('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
    for r in results:
        e = r['eamclat']
        io, ms = r.get('testpmd_io'), r.get('testpmd_macswap')
        ratio = e['mpps_per_core'] / ms['mpps_per_core'] if ms and ms['mpps_per_core'] else None
        r['ratio'] = ratio
        L.append(f"| {r['case']} | {e['mpps']:.3f} | {e['mpps_per_core']:.2f} | {e['cycles_per_packet_p50']:.0f} | "
                 f"{e['core_cycles_per_packet']:.0f} | {fmt(io and io['mpps_per_core'])} | "
                 f"{fmt(ms and ms['mpps_per_core'])} | {fmt(ms and ms['core_cycles_per_packet'], '.0f')} | "
                 f"{fmt(ratio, '.0%')} | {e['loss']} |")
    L.append('')
    fates = sorted({k for r in results for k in r['eamclat']['fates']})
    L.append('Every received frame ends in one counter; fates seen: ' +
             ', '.join(f'`{k}`' for k in fates) + '. Per case (counts over the whole run, warm-up included):\n')
    L.append('| case | received | sent | fates | flow hits | churn updates/s |')
    L.append('| --- | ---: | ---: | --- | ---: | ---: |')
    for r in results:
        e = r['eamclat']
        L.append(f"| {r['case']} | {e['rx_total']} | {e['sent_total']} | "
                 f"{', '.join(f'{k} {v}' for k, v in e['fates'].items())} | {e['mapper']['flow_hits']} | "
                 f"{e['churn_updates_per_s'] if r['churn'] else '-'} |")
    L.append('')

    # churn: throughput change against the same case without churn
    L.append('## EAMT churn\n')
    L.append('The control thread (main lcore) removes a random entry and adds it back, 10,000 updates per second '
             'in 1 ms slices, reclaiming retired records through RCU, while the worker translates.\n')
    L.append('| case | updates/s applied | loss | Mpps/core without churn | with churn | change |')
    L.append('| --- | ---: | ---: | ---: | ---: | ---: |')
    churn_ok = True
    for r in results:
        if not r['churn']:
            continue
        base = next((b for b in results if not b['churn'] and b['kind'] == r['kind'] and b['direction'] == r['direction']
                     and b['eamt'] == r['eamt'] and b['flows'] == r['flows']), None)
        e = r['eamclat']
        churn_ok &= e['loss'] == 0
        bm = base['eamclat']['mpps_per_core'] if base else None
        L.append(f"| {r['case']} | {e['churn_updates_per_s']:.0f} | {e['loss']} | {fmt(bm)} | {e['mpps_per_core']:.2f} | "
                 f"{fmt(bm and (e['mpps_per_core'] / bm - 1), '+.0%')} |")
    L.append('')

    L.append('## Memory\n')
    L.append('Measured by `eamclat-bench memory`: DPDK heap (`rte_malloc_get_socket_stats`) and libc heap '
             '(`mallinfo2`) before and after building the table with capacity N and filling it with N entries.\n')
    L.append('| table | N | DPDK heap | libc heap | bytes per entry |')
    L.append('| --- | ---: | ---: | ---: | ---: |')
    per_entry = per_flow = None
    for m in memory:
        n = m['eamt_entries']
        tot = m['eamt_filled_dpdk'] + m['eamt_filled_libc']
        per_entry = tot / n
        L.append(f"| EAMT (operator /32 <-> /128) | {n} | {m['eamt_filled_dpdk']} | {m['eamt_filled_libc']} | {per_entry:.0f} |")
        if m.get('flows'):
            n = m['flows']
            tot = m['flows_filled_dpdk'] + m['flows_filled_libc']
            per_flow = tot / n
            L.append(f"| flows | {n} | {m['flows_filled_dpdk']} | {m['flows_filled_libc']} | {per_flow:.0f} |")
    L.append('')
    L.append('Both tables allocate everything at their capacity when created (rte_hash key store and buckets, record '
             'array), so the bytes per entry are those of a full table; an emptier table costs the same.\n')

    L.append('## DNS proxy\n')
    if dns is None:
        L.append('Not measured in this run (--no-dns).\n')
    elif dns.get('error'):
        L.append(f"Not measured: {dns['error']}\n")
    else:
        L.append(dns['method'] + '\n')
        L.append('| path | queries | qps | server CPU share | qps/core | p50 ms | p99 ms | lost |')
        L.append('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
        for row in dns['rows']:
            L.append(f"| {row['path']} | {row['queries']} | {row['qps']:.0f} | {row['server_cpu_share']:.0%} | "
                     f"{fmt(row['qps_per_core'], '.0f')} | {row['p50_ms']:.3f} | {row['p99_ms']:.3f} | {row['lost']} |")
        L.append('')
        L.append(f"Added latency of the proxy: p50 {dns['added_p50_ms']:.3f} ms, p99 {dns['added_p99_ms']:.3f} ms.\n")

    L.append('## Targets\n')
    L.append('| target | measured | verdict |')
    L.append('| --- | --- | --- |')

    def find(name):
        return next((r for r in results if r['case'] == name), None)
    for name in ('4->6 UDP 64B, EAMT 1M, 1M flows', '6->4 UDP 84B, EAMT 1M, 1M flows'):
        r = find(name)
        if r and r.get('ratio') is not None:
            L.append(f"| {name[:4]} >= 80% of testpmd macswap (EAMT 1M, 1M flows) | {r['ratio']:.0%} "
                     f"({r['eamclat']['mpps_per_core']:.2f} vs {r['testpmd_macswap']['mpps_per_core']:.2f} Mpps/core) | "
                     f"{verdict(r['ratio'] >= 0.8)} |")
        else:
            L.append(f'| {name[:4]} >= 80% of testpmd macswap | not run (--quick) | - |')
    r = find('4->6 UDP 64B, EAMT 1M') or find('4->6 UDP 64B, EAMT 1M, 1M flows')
    if r:
        c = r['eamclat']['cycles_per_packet_p50']
        L.append(f"| <= 100 cycles/packet, 4->6 at 1M entries ({r['case']}) | {c:.0f} | {verdict(c <= 100)} |")
    churn_cases = [r for r in results if r['churn']]
    L.append(f"| zero loss during churn | {', '.join(str(r['eamclat']['loss']) for r in churn_cases)} | "
             f"{verdict(churn_ok) if churn_cases else '-'} |")
    if dns and not dns.get('error'):
        L.append(f"| DNS proxy added latency <= 1 ms p99 | {dns['added_p99_ms']:.3f} ms | {verdict(dns['added_p99_ms'] <= 1)} |")
        L.append(f"| DNS proxy >= 50k qps | {dns['proxy_qps']:.0f} | {verdict(dns['proxy_qps'] >= 50000)} |")
    else:
        L.append('| DNS proxy added latency <= 1 ms p99, >= 50k qps | not measured | - |')
    L.append('')
    L.append(f"Memory: {fmt(per_entry, '.0f')} bytes per EAMT entry, {fmt(per_flow, '.0f')} bytes per flow "
             f"(no target).\n")

    # Why a target is missed, from this run's own numbers.
    L.append('## Reading the misses\n')
    try:
        busy = float(env['load_start']) > env['cores']
    except ValueError:
        busy = False
    if busy:
        L.append(f"- The machine was shared during this run (load average {env['load_start']} on {env['cores']} "
                 'cores): the worker got only part of a core (see the CPU share in the raw results), so wall-clock '
                 'Mpps understate what a dedicated core does, and other processes evicted its caches. Mpps/core '
                 'and the p50 cycles correct for the CPU share, not for the cache pollution; re-run on an idle '
                 'machine before quoting absolute numbers.')
    by_eamt = {r['eamt']: r['eamclat']['cycles_per_packet_p50'] for r in results
               if r['kind'] == 'udp64' and r['direction'] == '4to6' and not r['flows'] and not r['churn']}
    if len(by_eamt) >= 2:
        parts = ', '.join(f'{c:.0f} at {n:,} entries' for n, c in sorted(by_eamt.items()))
        L.append(f'- 4->6 cycles per packet (p50, no flow table): {parts}. The translation itself is what the '
                 'small table costs; the growth with the table is the lookups\' memory latency: an rte_hash lookup '
                 'touches a bucket line, a key-store line and the record, each a cache miss once the table is '
                 'larger than the caches, plus a page walk per miss on 4 KiB pages (EAL --no-huge: the 1M tables are '
                 'about 150-190 MB each). Without a flow table the EAMT lookup of each packet is still made alone, so '
                 'its misses serialize; with one, the worker looks the flows of a whole burst up at once '
                 '(rte_hash_lookup_bulk_data) and prefetches their records, so a burst\'s misses overlap: compare '
                 'the 1M-entry rows with and without flows (docs/BENCHMARKING.md, "Profiles").')
    small = next((r for r in results if r['kind'] == 'udp64' and r['direction'] == '4to6' and r['eamt'] == 10
                  and r.get('testpmd_macswap')), None)
    if small and small['testpmd_macswap']['core_cycles_per_packet']:
        L.append(f"- Even with 10 entries (everything in L1/L2), Worker::handle_burst costs "
                 f"{small['eamclat']['cycles_per_packet_p50']:.0f} cycles per packet (p50), where testpmd macswap "
                 f"spends {small['testpmd_macswap']['core_cycles_per_packet']:.0f} cycles per packet on everything, "
                 'generator included: the per-packet path itself (classification, neighbor lookup, RFC 6052 '
                 'embedding, the translation pass, Ethernet, TX buffering) is several times the 100-cycle budget '
                 'before any table gets large. docs/BENCHMARKING.md, "Profiles", lists where it goes.')
    for r in results:
        ms = r.get('testpmd_macswap')
        if r.get('ratio') is not None and r['ratio'] < 0.8 and r['flows'] == 1000000 and not r['churn']:
            added = r['eamclat']['core_cycles_per_packet'] - (ms['core_cycles_per_packet'] or 0)
            L.append(f"- {r['case']}: {r['ratio']:.0%} of testpmd macswap; eamclat spends {added:.0f} more cycles "
                     'per packet than macswap on the same core (both include the generator\'s copy), almost all in '
                     'the flow and EAMT lookups above.')
    if dns and not dns.get('error'):
        pr = dns['rows'][1]
        L.append(f"- DNS proxy: {dns['proxy_qps']:.0f} qps with {pr['server_cpu_share']:.0%} of a core, i.e. "
                 f"{fmt(pr['qps_per_core'], '.0f')} qps per core; with every client IPv4-only each A query costs the "
                 'proxy two upstream queries and a learner decision. The proxy is single-threaded on the control '
                 'thread, so a dedicated core is its ceiling.')
        d = dns['rows'][0]
        if d['p99_ms'] > 1:
            L.append(f"- DNS latency tail: unbound answering directly already has a p99 of {d['p99_ms']:.1f} ms "
                     f"(p50 {d['p50_ms']:.3f} ms) in this run: the tail is scheduling delay on the loaded machine "
                     'for dnsperf, unbound and the proxy alike, and the proxy adds a third process to wait for. '
                     'The p50 difference is the better estimate of the proxy\'s own latency here.')
    L.append('')
    return '\n'.join(L) + '\n'


if __name__ == '__main__':
    main()
