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

# Set by main() from hugepage_memory(): the same EAL arguments for eamclat-bench and testpmd.
EAL_BASE = ['-l', '0-1', '--no-pci', '--no-shconf', '--log-level=lib.eal:error']
EAL = EAL_BASE + ['--no-huge', '-m', '1024']
HUGEPAGE_DIR = '/sys/kernel/mm/hugepages/hugepages-2048kB'
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


def hugepage_memory(megabytes=1024):
    """EAL memory arguments and a description: 2 MiB hugepages when the machine has (or, as root, can
    reserve) enough free ones and a hugetlbfs mount, as a deployment would run; else 4 KiB pages
    (--no-huge). The 1M-entry tables are 150-190 MB each: on 4 KiB pages every cache miss on them
    may also miss the TLB. --huge-unlink: no hugepage files stay behind."""
    pages = megabytes // 2 + 64  # the -m amount plus room for what EAL maps besides
    try:
        def free():
            with open(os.path.join(HUGEPAGE_DIR, 'free_hugepages')) as f:
                return int(f.read())
        if free() < pages:
            with open(os.path.join(HUGEPAGE_DIR, 'nr_hugepages')) as f:
                total = int(f.read())
            with open(os.path.join(HUGEPAGE_DIR, 'nr_hugepages'), 'w') as f:
                f.write(str(total + pages - free()))
        if free() < pages:
            raise OSError(f'only {free()} free 2 MiB hugepages, {pages} needed')
        with open('/proc/mounts') as f:
            mounted = any(l.split()[2] == 'hugetlbfs' for l in f if len(l.split()) > 2)
        if not mounted:
            os.makedirs('/dev/hugepages', exist_ok=True)
            subprocess.run(['mount', '-t', 'hugetlbfs', 'nodev', '/dev/hugepages'], check=True, capture_output=True)
        return ['-m', str(megabytes), '--huge-unlink'], '2 MiB hugepages'
    except (OSError, ValueError, subprocess.CalledProcessError) as e:
        log(f'hugepages unavailable ({e}); 4 KiB pages (--no-huge)')
        return ['--no-huge', '-m', str(megabytes)], '4 KiB pages, --no-huge'


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


# ---------------------------------------------------------------------------- peer: TAYGA
def run_peer(build_dir, work, quick):
    """scripts/bench/peer.py: TAYGA and the eamclat daemon side by side on veths (docs/BENCHMARKING.md,
    "Peer: TAYGA"). Returns its JSON, or {'error': ...}; never fails the whole benchmark."""
    out = os.path.join(work, 'peer.json')
    cmd = ['/usr/bin/python3', os.path.join(HERE, 'peer.py'), '--build-dir', build_dir, '--json', out]
    if quick:
        cmd.append('--quick')
    # Its progress goes to our stderr as it comes. On a timeout it gets SIGTERM, on which it removes its
    # namespaces and processes (SIGKILL would leave them behind).
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    try:
        rc = p.wait(timeout=1800)
    except subprocess.TimeoutExpired:
        p.terminate()
        rc = p.wait()
    if not os.path.exists(out):
        return {'error': f'peer.py failed (exit {rc}); its output is above'}
    with open(out) as f:
        return json.load(f)


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
    ap.add_argument('--no-peer', action='store_true', help='skip the side by side with TAYGA (scripts/bench/peer.py)')
    ap.add_argument('--no-hugepages', action='store_true',
                    help='run on 4 KiB pages (--no-huge) even where 2 MiB hugepages are available')
    ap.add_argument('--render-from', default=None, metavar='JSON',
                    help='write the report from the raw results of an earlier run (--json) instead of running')
    a = ap.parse_args()

    if a.render_from:
        with open(a.render_from) as f:
            raw = json.load(f)
        doc = render(raw['env'], raw['results'], raw['memory'], raw['dns'], raw.get('peer'))
        print(doc)
        if a.output:
            with open(a.output, 'w') as f:
                f.write(doc)
            log(f'wrote {a.output}')
        return

    global EAL
    memory_args, pages = (['--no-huge', '-m', '1024'], '4 KiB pages, --no-huge') if a.no_hugepages else hugepage_memory()
    EAL = EAL_BASE + memory_args
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
        'load_start': loadavg(), 'quick': a.quick, 'eal': ' '.join(EAL), 'pages': pages,
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

    peer = None
    if not a.no_peer:
        log('peer: TAYGA and eamclat side by side')
        peer = run_peer(a.build_dir, work, a.quick)

    env['load_end'] = loadavg()
    env['elapsed'] = round(time.time() - started)
    doc = render(env, results, memory, dns, peer)
    print(doc)
    if a.json:
        with open(a.json, 'w') as f:
            json.dump({'env': env, 'results': results, 'memory': memory, 'dns': dns, 'peer': peer}, f, indent=1)
    if a.output:
        os.makedirs(os.path.dirname(a.output), exist_ok=True)
        with open(a.output, 'w') as f:
            f.write(doc)
        log(f'wrote {a.output}')
    if not a.work:
        shutil.rmtree(work, ignore_errors=True)


def render_peer(peer):
    """The section "Side by side with TAYGA", from scripts/bench/peer.py's JSON."""
    L = ['## Side by side with TAYGA\n']
    if peer is None:
        L.append('Not measured in this run (--no-peer).\n')
        return L
    if peer.get('error'):
        L.append(f"Not measured: {peer['error']}\n")
        return L
    pe = peer['env']
    ad = pe['addresses']
    L.append(f"`scripts/bench/peer.py`{' --quick' if pe['quick'] else ''} ({pe['date']}, TAYGA {pe['tayga']}, load "
             f"average {pe['load_start']} at start, {pe['load_end']} at the end, {pe['elapsed_s']} s): the same two "
             'network namespaces, veths and generator for both DUTs. `eamclat-gen` (DPDK, net_af_packet on the '
             'generator\'s veths) sends UDP frames at a paced rate and counts, on the other veth, only the '
             'translated frames it can verify (addresses, protocol, length, payload, UDP and IPv4 checksums); the '
             'kernel of the generator\'s namespace answers ARP as the LAN host and ND as the WAN gateway. TAYGA runs '
             'as clatd configures it (tun, `map` host -> CLAT address, `prefix` = PLAT prefix, kernel routing); '
             'eamclat is the daemon on net_af_packet, one worker. '
             f"4->6: {ad['host']} -> {ad['remote']} becomes {ad['host_clat6']} -> {ad['remote6']} "
             f"({pe['path'].upper()} path); 6->4 the reverse. {pe['frames']}.\n")
    L.append(f"Zero-loss rate: binary search over the offered rate, {pe['trial_s']:g} s per trial, down to "
             f"{pe['resolution']:.0%} of the rate or {pe['iterations']} trials after the first one at "
             f"{pe['max_rate']:,.0f} pps offered (that first trial gives the throughput at the maximum); a trial passes "
             'when every frame sent came back translated and none was malformed. Pinning: '
             f"{pe['pinning']['generator']}; TAYGA {pe['pinning']['tayga']}; eamclat {pe['pinning']['eamclat']}. "
             f"{pe['pinning']['kernel'][0].upper() + pe['pinning']['kernel'][1:]}.\n")
    L.append('| DUT | direction | zero-loss pps | max offered pps | received at max pps | DUT CPU at max | '
             'DUT waited at max | DUT CPU µs per packet at max | trials (disturbed) | translations checked |')
    L.append('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |')
    for r in peer['results']:
        c = r.get('dut_cpu_at_max') or {}
        dist = sum(1 for t in r['trials'] if t.get('disturbed'))
        ok = r['capture_check']['ok'] and not any(t['bad'] for t in r['trials'])
        L.append(f"| {r['dut']} | {r['direction'].replace('to', '->')} | {r['zero_loss_pps']:,}"
                 f"{' (generator-limited)' if r.get('generator_limited') else ''} | {r['max_offered_pps']:,} | "
                 f"{r['max_received_pps']:,} | {fmt(c.get('share'), '.0%')} | {fmt(c.get('wait_share'), '.0%')} | "
                 f"{fmt(r.get('dut_cpu_us_per_packet_at_max'), '.1f')} | {len(r['trials'])} ({dist}) | "
                 f"{'ok' if ok else '**malformed frames**'} |")
    L.append('')
    by = {(r['dut'], r['direction']): r for r in peer['results']}
    for d in ('4to6', '6to4'):
        e, t = by.get(('eamclat', d)), by.get(('tayga', d))
        if e and t and t['zero_loss_pps']:
            L.append(f"- {d.replace('to', '->')}: eamclat {e['zero_loss_pps']:,} pps, TAYGA {t['zero_loss_pps']:,} pps "
                     f"without loss ({e['zero_loss_pps'] / t['zero_loss_pps']:.1f}x); at the maximum offered rate "
                     f"{e['max_received_pps']:,} vs {t['max_received_pps']:,} pps received.")
    lost = []
    for r in peer['results']:
        pc = r['max_trial'].get('path_counters', {})
        d = r['direction'].replace('to', '->')
        if r['dut'] == 'tayga' and pc.get('pbclat.tx_dropped'):
            lost.append(f"TAYGA {d}: {pc['pbclat.tx_dropped']:,} frames dropped by the tun queue toward TAYGA")
        ring = pc.get('eamclat.lan.rx_ring_dropped', 0) + pc.get('eamclat.wan.rx_ring_dropped', 0)
        if r['dut'] == 'eamclat' and ring:
            lost.append(f"eamclat {d}: {ring:,} frames that its af_packet RX ring had no room for")
    if lost:
        L.append('- Where the frames are lost at the maximum rate (counters of that trial): ' + '; '.join(lost) +
                 '. That is the DUT not keeping up with its input queue, not the path around it: TAYGA makes one '
                 'read() and one write() on the tun per packet, with the kernel\'s forwarding behind each write; '
                 'eamclat\'s worker makes one sendto() per TX burst on its af_packet socket, with the veth and '
                 'the receiving side behind it.')
    L.append('- eamclat\'s worker polls: it takes all the CPU it can get at any rate, so its µs per packet is the '
             'polling core divided by the packets, not a cost. TAYGA sleeps when idle: its figure is its cost per '
             'packet (mostly system time: the tun reads and writes, and the kernel forwarding they trigger).')
    top = max((r['max_offered_pps'] for r in peer['results']), default=0)
    L.append(f'- Both DUTs pay the kernel\'s veth and af_packet/tun path, and the generator (at most {top:,} pps '
             'offered on its core in this run) pays the receiving half of each DUT\'s path: these are rates of the '
             'whole software path on a 2-core machine, not of the translators alone (the Throughput section '
             'measures eamclat\'s worker alone). "DUT waited" is the share of the maximum-rate trial in which the '
             'DUT\'s busiest thread was runnable but another process had its CPU; "disturbed" trials are those in '
             'which the generator or the DUT waited more than a tenth of the time (eamclat: plus a tenth for its own '
             'control thread); they are repeated, and the search goes on with the last attempt.')
    n = sum(len(r['trials']) for r in peer['results'])
    nd = sum(1 for r in peer['results'] for t in r['trials'] if t.get('disturbed'))
    if n and nd * 2 > n:
        L.append(f'- **This run was disturbed**: in {nd} of {n} trials other processes kept the generator or the '
                 'DUT from its CPU more than a tenth of the time (load average '
                 f"{pe['load_start']}-{pe['load_end']}). The zero-loss rates then measure the scheduler as much as "
                 'the DUTs, a busy-polling DUT and one that sleeps suffer differently, and they move by a factor of '
                 'two or more between runs: re-run on an idle machine before quoting them.')
    for e in peer.get('errors', []):
        L.append(f'- Failed: {e}')
    L.append('')
    return L


def render(env, results, memory, dns, peer=None):
    L = []
    L.append('# eamclat performance\n')
    L.append('<!-- Generated by scripts/bench.sh; do not edit by hand: re-run it. -->\n')
    L.append(f"Run {env['date']}{' (--quick)' if env['quick'] else ''}, git {env['git'] or '?'}: {env['cpu']}, "
             f"{env['cores']} cores, Linux {env['kernel']}, DPDK {env['dpdk']}, EAL `{env.get('eal', ' '.join(EAL))}` ({env.get('pages', '4 KiB pages')}). "
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

    L.extend(render_peer(peer))

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
        qpc = dns.get('proxy_qps_per_core') or dns['rows'][1].get('qps_per_core')
        L.append(f"| DNS proxy >= 50k qps on one core | {fmt(qpc, '.0f')} per core ({dns['proxy_qps']:.0f} wall clock with "
                 f"{dns['rows'][1]['server_cpu_share']:.0%} of a core) | {verdict(qpc is not None and qpc >= 50000)} |")
    else:
        L.append('| DNS proxy added latency <= 1 ms p99, >= 50k qps | not measured | - |')
    if peer and not peer.get('error'):
        by = {(r['dut'], r['direction']): r for r in peer['results']}
        cells = [f"{d.replace('to', '->')} eamclat {by[('eamclat', d)]['zero_loss_pps']:,} vs TAYGA "
                 f"{by[('tayga', d)]['zero_loss_pps']:,} pps" for d in ('4to6', '6to4')
                 if ('eamclat', d) in by and ('tayga', d) in by]
        L.append(f"| side by side with TAYGA, zero-loss rate on veth/af_packet (no target) | "
                 f"{'; '.join(cells) or 'failed'} | - |")
    else:
        L.append('| side by side with TAYGA (no target) | not measured | - |')
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
        L.append(f'- 4->6 cycles per packet (p50, no flow table): {parts}. Up to 2047 entries the worker looks '
                 'each packet\'s entry up alone (a table in the caches answers fastest that way); from 2048 on it '
                 'looks the entries of a whole burst up at once (rte_hash_lookup_bulk_data, records prefetched) so '
                 'that their cache misses overlap. What remains at 1M entries is rte_hash\'s layout: per key a '
                 'bucket line, then a key-store line that depends on it, then the record that depends on that, '
                 'three rounds of misses per burst with more misses in flight than the core can track. Next step: '
                 'an exact-match table with the keys (or the mapping itself) in the bucket line, looked up one burst '
                 'ahead (prefetch for the next burst while translating this one) (docs/BENCHMARKING.md, "Profiles").')
    small = next((r for r in results if r['kind'] == 'udp64' and r['direction'] == '4to6' and r['eamt'] == 10
                  and r.get('testpmd_macswap')), None)
    if small and small['testpmd_macswap']['core_cycles_per_packet']:
        L.append(f"- Even with 10 entries (everything in L1/L2), Worker::handle_burst costs "
                 f"{small['eamclat']['cycles_per_packet_p50']:.0f} cycles per packet (p50), where testpmd macswap "
                 f"spends {small['testpmd_macswap']['core_cycles_per_packet']:.0f} cycles per packet on everything, "
                 'generator included: the per-packet path itself (classification and the sender check, the '
                 'translation pass with its two address mappings through the Mapper interface, Ethernet, TX '
                 'buffering) is more than twice the 100-cycle budget before any table gets large; the translation '
                 'pass is about half of it. Next step: a straight-line fast path for the common packet (IPv4 or '
                 'IPv6 UDP/TCP, no options or extension headers, not a fragment) that leaves everything else to the '
                 'general translator (docs/BENCHMARKING.md, "Profiles", lists where it goes).')
    for r in results:
        ms = r.get('testpmd_macswap')
        if r.get('ratio') is not None and r['ratio'] < 0.8 and r['flows'] == 1000000 and not r['churn']:
            added = r['eamclat']['core_cycles_per_packet'] - (ms['core_cycles_per_packet'] or 0)
            L.append(f"- {r['case']}: {r['ratio']:.0%} of testpmd macswap; eamclat spends {added:.0f} more cycles "
                     'per packet than macswap on the same core (both include the generator\'s copy): the fixed path '
                     'above plus the flow lookups (a bucket, key and record miss per packet on a 1M-flow table, '
                     'overlapped per burst as for the EAMT).')
    if dns and not dns.get('error') and (dns['rows'][1].get('qps_per_core') or 0) < 50000:
        pr = dns['rows'][1]
        L.append(f"- DNS proxy: {dns['proxy_qps']:.0f} qps with {pr['server_cpu_share']:.0%} of a core, i.e. "
                 f"{fmt(pr['qps_per_core'], '.0f')} qps per core; with every client IPv4-only each A query costs the "
                 'proxy two upstream queries and a learner decision. The proxy is single-threaded on the control '
                 'thread, so a dedicated core is its ceiling.')
    if dns and not dns.get('error'):
        d = dns['rows'][0]
        if d['p99_ms'] > 1 or dns['added_p99_ms'] > 1:
            L.append(f"- DNS latency tail: unbound answering directly has a p99 of {d['p99_ms']:.1f} ms "
                     f"(p50 {d['p50_ms']:.3f} ms) in this run: the tail is scheduling delay on the loaded machine "
                     'for dnsperf, unbound and the proxy alike, and the proxy adds a third process to wait for. '
                     'The p50 difference is the better estimate of the proxy\'s own latency here.')
    L.append('')
    return '\n'.join(L) + '\n'


if __name__ == '__main__':
    main()
