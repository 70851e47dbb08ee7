#!/usr/bin/python3
"""TAYGA and eamclat side by side: the same namespaces, veths, af_packet path and generator, the
zero-loss rate of each (RFC 2544 §26.1 throughput by binary search), per direction.

    /usr/bin/python3 scripts/bench/peer.py [--build-dir DIR] [--quick] [--json FILE]

Topology (rebuilt for each DUT; every name carries this run's id):

    namespace pb-gen-ID                           namespace pb-dut-ID
    eamclat-gen (DPDK, net_af_packet x2)
      g-lan  198.18.0.2/24 (the LAN host)   <-->  d-lan   DUT LAN side, 198.18.0.1
      g-wan  2001:2:0:ffff::1/64 (gateway)  <-->  d-wan   DUT WAN side, 2001:2:0:ffff::2

The kernel of pb-gen answers ARP for the LAN host and ND for the WAN gateway, so the DUTs resolve
their neighbours as they would on a real link; the generator's af_packet sockets on the same veths
see the frames too. 4->6: the generator sends 64-byte IPv4 UDP frames 198.18.0.2 -> 198.19.0.1 on
g-lan to the DUT's LAN MAC and counts, on g-wan, the IPv6 UDP frames 2001:2:0:c1a7::c612:2 (CLAT
prefix + host) -> 2001:2:0:6464::c613:1 (PLAT prefix + destination), or -> 2001:2:0:1::1 with
--path eamt (an EAMT entry / TAYGA `map` for the destination). 6->4 is the reverse (84-byte IPv6
frames on g-wan, IPv4 on g-lan). docs/BENCHMARKING.md ("Peer: TAYGA") has the method and caveats.

DUTs: TAYGA as clatd runs it (tun device, `map` of the host to its CLAT address, `prefix` = the
PLAT prefix, the kernel routing IPv4 into the tun and IPv6 out of d-wan), pinned to CPU 1; the
eamclat daemon on net_af_packet d-lan/d-wan, one worker, control thread and worker both on CPU 1
(EAL --lcores 0@1,1@1). The generator runs on CPU 0 (EAL -l 0).

Prints a JSON object on stdout and a table on stderr. Needs root, tayga, iproute2, tcpdump,
python3-scapy, and the build's control/eamclat and tests/bench/eamclat-gen (built here if missing).
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# The address plan (RFC 2544 / RFC 5180 benchmarking ranges; the same prefixes as make_pcap.py).
HOST4 = '198.18.0.2'           # the LAN host (g-lan)
DUT_LAN4 = '198.18.0.1'        # the DUT's LAN address
REMOTE4 = '198.19.0.1'         # the IPv4 destination
CLAT_PREFIX = '2001:2:0:c1a7::/96'
PLAT_PREFIX = '2001:2:0:6464::/96'
HOST_CLAT6 = '2001:2:0:c1a7::c612:2'      # CLAT prefix + 198.18.0.2
REMOTE_PLAT6 = '2001:2:0:6464::c613:1'    # PLAT prefix + 198.19.0.1
REMOTE_EAM6 = '2001:2:0:1::1'             # EAMT entry / TAYGA map for 198.19.0.1 (--path eamt)
GW6 = '2001:2:0:ffff::1'       # the WAN gateway (g-wan)
DUT_WAN6 = '2001:2:0:ffff::2'
TAYGA_V4 = '192.0.0.2'         # TAYGA's own addresses (source of its ICMP errors), RFC 7335 range
TAYGA_V6 = '2001:2:0:fe::2'
TUN = 'pbclat'

GEN_CPU, DUT_CPU = 0, 1
PINNING = {
    'generator': f'CPU {GEN_CPU}: eamclat-gen, EAL -l {GEN_CPU} (one lcore paces TX and polls RX), taskset -c {GEN_CPU}',
    'tayga': f'CPU {DUT_CPU}: taskset -c {DUT_CPU} tayga (single-threaded)',
    'eamclat': f'CPU {DUT_CPU}: taskset -c {DUT_CPU}, EAL --lcores 0@{DUT_CPU},1@{DUT_CPU} (main lcore = control '
               f'thread and the one worker lcore on the same CPU; the worker busy-polls, the control thread '
               f'sleeps in its event loop unless ARP/ND or a command needs it)',
    'priority': 'default (SCHED_OTHER, nice 0) for all three, each in a session of its own: with the '
                'kernel\'s autogroups (sched_autogroup_enabled) a session\'s processes share one scheduling '
                'weight over all CPUs, so a generator in the same session as a polling DUT would get only half '
                'a weight on its own CPU against other work; nice does not help across sessions, so other '
                'work on a shared machine is not kept away: each trial records how long the generator and '
                'the DUT waited for their CPU (schedstat)',
    'kernel': 'veth delivery runs in the sender\'s context: the DUT\'s receive side (af_packet ring copy for '
              'eamclat; IPv4 forwarding into the tun for TAYGA) is charged to CPU 0 with the generator, '
              'the DUT\'s transmit side and the generator\'s receive side to CPU 1 with the DUT',
}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(cmd, check=True, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {p.returncode}: {(p.stdout + p.stderr).strip()[-1500:]}")
    return p


def nsx(ns, *cmd, check=True):
    return run(['ip', 'netns', 'exec', ns, *cmd], check=check)


class Peer:
    """Everything one run creates, torn down by close() whatever happened."""

    def __init__(self, a):
        self.a = a
        self.id = os.getpid()
        self.gen_ns = f'pb-gen-{self.id}'
        self.dut_ns = f'pb-dut-{self.id}'
        self.work = tempfile.mkdtemp(prefix='pb-peer.')
        self.procs = []          # (name, Popen) we started, for teardown by PID
        self.namespaces = []     # the namespaces we created
        self.prefixes = []       # EAL file prefixes (their /var/run/dpdk directories)
        self.trial_no = 0
        b = a.build_dir
        self.gen_bin = os.path.join(b, 'tests', 'bench', 'eamclat-gen')
        self.eamclat_bin = os.path.join(b, 'control', 'eamclat')
        self.ctl_bin = os.path.join(b, 'control', 'eamclat-ctl')
        self.ctl_sock = None  # eamclat's control socket, once it runs

    # ------------------------------------------------------------------ teardown
    def stop(self, name, p):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.procs = [(n, q) for n, q in self.procs if q is not p]

    def close_dut(self):
        for name, p in list(reversed(self.procs)):
            self.stop(name, p)
        for ns in list(reversed(self.namespaces)):
            # Anything still running in our namespaces was started by us (a tcpdump, a stuck gen).
            pids = run(['ip', 'netns', 'pids', ns], check=False).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            if ns == self.dut_ns:
                run(['ip', 'netns', 'exec', ns, 'ip', 'link', 'del', TUN], check=False)
            run(['ip', 'netns', 'del', ns], check=False)
        self.namespaces = []
        for prefix in self.prefixes:
            shutil.rmtree(os.path.join('/var/run/dpdk', prefix), ignore_errors=True)
        self.prefixes = []

    def close(self):
        self.close_dut()
        if self.a.keep:
            log(f'logs kept in {self.work}')
        else:
            shutil.rmtree(self.work, ignore_errors=True)

    # ------------------------------------------------------------------ topology
    def add_ns(self, ns):
        if os.path.exists(f'/run/netns/{ns}'):
            raise RuntimeError(f'namespace {ns} exists already')
        run(['ip', 'netns', 'add', ns])
        self.namespaces.append(ns)
        nsx(ns, 'ip', 'link', 'set', 'lo', 'up')
        nsx(ns, 'sysctl', '-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0',
            'net.ipv6.conf.default.accept_ra=0', 'net.ipv6.conf.default.autoconf=0',
            'net.ipv4.conf.all.rp_filter=0', 'net.ipv4.conf.default.rp_filter=0')

    def build(self):
        g, d = self.gen_ns, self.dut_ns
        self.add_ns(g)
        self.add_ns(d)
        for gi, di in (('g-lan', 'd-lan'), ('g-wan', 'd-wan')):
            run(['ip', 'link', 'add', gi, 'netns', g, 'type', 'veth', 'peer', 'name', di, 'netns', d])
            nsx(g, 'ip', 'link', 'set', gi, 'up')
            nsx(d, 'ip', 'link', 'set', di, 'up')
        # The generator's kernel: the LAN host (IPv4 only) and the WAN gateway (IPv6 only).
        nsx(g, 'sysctl', '-qw', 'net.ipv6.conf.g-lan.disable_ipv6=1',
            # 6->4 frames are addressed to the host's own address: without a socket on the port the
            # kernel would answer with ICMP port unreachables; keep those to the first few.
            'net.ipv4.icmp_ratelimit=3600000')
        nsx(g, 'ip', 'addr', 'add', f'{HOST4}/24', 'dev', 'g-lan')
        nsx(g, 'ip', 'addr', 'add', f'{GW6}/64', 'dev', 'g-wan', 'nodad')
        self.mac = {}
        for ns, ifs in ((g, ('g-lan', 'g-wan')), (d, ('d-lan', 'd-wan'))):
            for i in ifs:
                self.mac[i] = json.loads(nsx(ns, 'ip', '-j', 'link', 'show', 'dev', i).stdout)[0]['address']

    # ------------------------------------------------------------------ DUTs
    def start(self, name, ns, cmd, cpu):
        out = open(os.path.join(self.work, f'{name}.out'), 'a')
        # A session of its own (see PINNING['priority']).
        p = subprocess.Popen(['ip', 'netns', 'exec', ns, 'taskset', '-c', str(cpu), *cmd],
                             stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self.procs.append((name, p))
        return p

    def start_tayga(self):
        d = self.dut_ns
        nsx(d, 'sysctl', '-qw', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1',
            'net.ipv6.conf.d-lan.disable_ipv6=1')
        nsx(d, 'ip', 'addr', 'add', f'{DUT_LAN4}/24', 'dev', 'd-lan')
        nsx(d, 'ip', 'addr', 'add', f'{DUT_WAN6}/64', 'dev', 'd-wan', 'nodad')
        nsx(d, 'ip', '-6', 'route', 'add', 'default', 'via', GW6, 'dev', 'd-wan')
        data = os.path.join(self.work, 'tayga-data')
        os.makedirs(data, exist_ok=True)
        conf = os.path.join(self.work, 'tayga.conf')
        lines = [f'tun-device {TUN}', f'ipv4-addr {TAYGA_V4}', f'ipv6-addr {TAYGA_V6}', f'prefix {PLAT_PREFIX}',
                 f'map {HOST4} {HOST_CLAT6}', f'data-dir {data}']
        if self.a.path == 'eamt':
            lines.append(f'map {REMOTE4} {REMOTE_EAM6}')
        with open(conf, 'w') as f:
            f.write('\n'.join(lines) + '\n')
        nsx(d, 'tayga', '-c', conf, '--mktun')
        nsx(d, 'ip', 'link', 'set', TUN, 'up')
        nsx(d, 'ip', 'route', 'add', '198.19.0.0/16', 'dev', TUN)
        nsx(d, 'ip', 'route', 'add', f'{TAYGA_V4}/32', 'dev', TUN)
        nsx(d, 'ip', '-6', 'route', 'add', f'{HOST_CLAT6}/128', 'dev', TUN)
        nsx(d, 'ip', '-6', 'route', 'add', f'{TAYGA_V6}/128', 'dev', TUN)
        self.dut_config = '\n'.join(lines)
        return self.start('tayga', d, ['tayga', '-c', conf, '--nodetach'], DUT_CPU)

    def start_eamclat(self):
        d = self.dut_ns
        # Bare veths: the daemon owns them; the kernel must send nothing of its own on them.
        nsx(d, 'sysctl', '-qw', 'net.ipv6.conf.d-lan.disable_ipv6=1', 'net.ipv6.conf.d-wan.disable_ipv6=1')
        state = os.path.join(self.work, 'eamclat-state')
        os.makedirs(state, exist_ok=True)
        eamt = f'eamt:\n  - {{ ipv4: {REMOTE4}/32, ipv6: "{REMOTE_EAM6}/128" }}\n' if self.a.path == 'eamt' else ''
        cfg = f"""# Generated by scripts/bench/peer.py.
mode: clat
clat-prefix: "{CLAT_PREFIX}"
plat-prefix: "{PLAT_PREFIX}"
{eamt}ports:
  lan:
    device: "net_af_packet0,iface=d-lan"
    ipv4-address: {DUT_LAN4}/24
  wan:
    device: "net_af_packet1,iface=d-wan"
    ipv6-address: "{DUT_WAN6}/64"
    ipv6-gateway: "{GW6}"
workers: 1
learning:
  enabled: false
control:
  socket: {self.work}/eamclat.sock
  state-dir: {state}
  log-level: notice
"""
        path = os.path.join(self.work, 'eamclat.yaml')
        with open(path, 'w') as f:
            f.write(cfg)
        run([self.eamclat_bin, '--check-config', path])
        prefix = f'pb-eamclat-{self.id}'
        self.prefixes.append(prefix)
        self.dut_config = cfg
        if os.path.exists(self.ctl_bin):
            self.ctl_sock = f'{self.work}/eamclat.sock'
        return self.start('eamclat', d, [self.eamclat_bin, '--no-huge', '-m', '1024', '--no-pci', '--no-shconf',
                                         '--file-prefix', prefix, '--lcores', f'0@{DUT_CPU},1@{DUT_CPU}',
                                         '--log-level=lib.eal:error', '--', '--config', path], DUT_CPU)

    # ------------------------------------------------------------------ the generator
    def flow(self, direction):
        dst6 = REMOTE_EAM6 if self.a.path == 'eamt' else REMOTE_PLAT6
        if direction == '4to6':
            return {'tx': 'g-lan', 'rx': 'g-wan', 'dst_mac': self.mac['d-lan'], 'src': HOST4, 'dst': REMOTE4,
                    'expect_src': HOST_CLAT6, 'expect_dst': dst6}
        return {'tx': 'g-wan', 'rx': 'g-lan', 'dst_mac': self.mac['d-wan'], 'src': dst6, 'dst': HOST_CLAT6,
                'expect_src': REMOTE4, 'expect_dst': HOST4}

    def trial(self, dut_proc, direction, rate, seconds, drain=2.0):
        """One run of the generator at `rate` pps; returns its JSON plus the DUT's CPU use over the
        TX window (from /proc/PID/stat, all threads)."""
        self.trial_no += 1
        f = self.flow(direction)
        prefix = f'pb-gen-{self.id}-{self.trial_no}'
        self.prefixes.append(prefix)
        # Port 0 transmits, port 1 receives. framecnt: the generator's RX ring must not be the
        # bottleneck (a DUT burst it cannot take would be counted as the DUT's loss).
        cmd = ['ip', 'netns', 'exec', self.gen_ns, 'taskset', '-c', str(GEN_CPU), self.gen_bin,
               '-l', str(GEN_CPU), '--no-huge', '-m', '512', '--no-pci', '--no-shconf', '--file-prefix', prefix,
               '--log-level=lib.eal:error',
               '--vdev', f"net_af_packet0,iface={f['tx']},framecnt=4096",
               '--vdev', f"net_af_packet1,iface={f['rx']},framecnt=16384",
               '--', '--tx', 'net_af_packet0', '--rx', 'net_af_packet1', '--dst-mac', f['dst_mac'],
               '--direction', direction, '--src', f['src'], '--dst', f['dst'], '--expect-src', f['expect_src'],
               '--expect-dst', f['expect_dst'], '--rate', str(int(rate)), '--seconds', str(seconds),
               '--flows', str(self.a.flows), '--drain', str(drain)]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
        self.procs.append(('eamclat-gen', p))
        # A generator that hangs (EAL, a port) must not hang the run: killed after a generous margin.
        watchdog = threading.Timer(seconds + drain + 60, p.kill)
        watchdog.start()
        cpu0 = cpu1 = None
        result = None
        try:
            for line in p.stdout:
                line = line.strip()
                if not line.startswith('{'):
                    continue
                obj = json.loads(line)
                if obj.get('event') == 'start':
                    cpu0 = (proc_cpu(dut_proc.pid), time.monotonic(), schedstat(dut_proc.pid), schedstat(p.pid))
                elif obj.get('event') == 'stop':
                    cpu1 = (proc_cpu(dut_proc.pid), time.monotonic(), schedstat(dut_proc.pid), schedstat(p.pid))
                else:
                    result = obj
            err = p.stderr.read()
            p.wait(timeout=60)
        finally:
            watchdog.cancel()
            self.stop('eamclat-gen', p)
            shutil.rmtree(os.path.join('/var/run/dpdk', prefix), ignore_errors=True)
            self.prefixes.remove(prefix)
        if result is None:
            raise RuntimeError(f'eamclat-gen failed (exit {p.returncode}): {err[-2000:]}')
        if cpu0 and cpu1 and cpu0[0] and cpu1[0]:
            wall = cpu1[1] - cpu0[1]
            u, s = cpu1[0][0] - cpu0[0][0], cpu1[0][1] - cpu0[0][1]
            result['dut_cpu'] = {'user_s': round(u, 3), 'sys_s': round(s, 3), 'wall_s': round(wall, 3),
                                 'share': round((u + s) / wall, 3) if wall > 0 else None}
            # Time the busiest thread of the DUT, and the generator, were runnable but waited for
            # their CPU (schedstat): how much other work got in their way during the window.
            if wall > 0:
                busiest = max(cpu1[2], key=lambda tid: cpu1[2][tid][0] - cpu0[2].get(tid, (0, 0))[0], default=None)
                if busiest is not None:
                    result['dut_cpu']['wait_share'] = round(
                        (cpu1[2][busiest][1] - cpu0[2].get(busiest, (0, 0))[1]) / 1e9 / wall, 3)
                g0, g1 = cpu0[3].get(p.pid), cpu1[3].get(p.pid)
                if g0 and g1:
                    result['gen_cpu'] = {'share': round((g1[0] - g0[0]) / 1e9 / wall, 3),
                                         'wait_share': round((g1[1] - g0[1]) / 1e9 / wall, 3)}
        result['passed'] = result['loss'] == 0 and result['bad'] == 0 and result['sent'] > 0
        return result

    def counters(self):
        """Drop counters along the path: the veths and the tun (ip -s link) in both namespaces, and
        the kernel's per-CPU backlog drops and squeezes (/proc/net/softnet_stat)."""
        c = {}
        for ns in (self.gen_ns, self.dut_ns):
            for link in json.loads(nsx(ns, 'ip', '-j', '-s', 'link', 'show').stdout):
                st = link.get('stats64', {})
                if link['ifname'] == 'lo':
                    continue
                for d in ('rx', 'tx'):
                    for k in ('packets', 'dropped', 'errors', 'missed'):
                        if k in st.get(d, {}):
                            c[f"{link['ifname']}.{d}_{k}"] = st[d][k]
        if self.ctl_sock:
            # eamclat's own port counters (af_packet: RX-missed = frames its ring had no room for).
            try:
                q = run([self.ctl_bin, '-s', self.ctl_sock, '-c', 'show port stats all'], check=False, timeout=10)
            except subprocess.TimeoutExpired:
                q = subprocess.CompletedProcess([], 1, '', '')
            for role, block in re.findall(r'NIC statistics for port \d+ \((\w+):[^)]*\)[ #]*\n(.*?)Throughput', q.stdout,
                                          re.S):
                for k, v in re.findall(r'(RX-packets|TX-packets|RX-missed|RX-errors|RX-nombuf|TX-errors):\s+(\d+)', block):
                    c[f"eamclat.{role}.{k.lower().replace('-', '_')}"] = int(v)
        with open('/proc/net/softnet_stat') as f:
            for cpu, line in enumerate(f):
                v = [int(x, 16) for x in line.split()]
                c[f'cpu{cpu}.backlog_dropped'] = v[1]
                c[f'cpu{cpu}.time_squeeze'] = v[2]
        return c

    # ------------------------------------------------------------------ checks
    def capture_check(self, dut_proc, direction):
        """Captures a few translated frames with tcpdump on the receiving veth during a slow trial and
        checks them with scapy (an independent parser: addresses, protocol, checksums)."""
        f = self.flow(direction)
        pcap = os.path.join(self.work, f'capture-{direction}.pcap')
        expr = 'ip6 and udp' if direction == '4to6' else 'ip and udp'
        td = subprocess.Popen(['ip', 'netns', 'exec', self.gen_ns, 'tcpdump', '-i', f['rx'], '-n', '-U', '-c', '5',
                               '-w', pcap, expr], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append(('tcpdump', td))
        time.sleep(1.0)
        t = self.trial(dut_proc, direction, 200, 1.0, drain=0.5)
        try:
            td.wait(timeout=3)
        except subprocess.TimeoutExpired:
            pass
        self.stop('tcpdump', td)
        out = {'trial_received': t['received'], 'trial_sent': t['sent'], 'frames': [], 'ok': False}
        if not os.path.exists(pcap):
            out['error'] = 'no capture'
            return out
        try:
            from scapy.all import Ether, IP, IPv6, UDP, raw, rdpcap
        except ImportError as e:
            out['error'] = f'scapy: {e}'
            return out
        pkts = rdpcap(pcap)
        ok = len(pkts) > 0
        for pk in pkts:
            l3 = pk[IPv6] if direction == '4to6' else pk[IP]
            # scapy fills in a checksum deleted before the frame is rebuilt: compare with the DUT's.
            again = pk.copy()
            del again[UDP].chksum
            if direction == '6to4':
                del again[IP].chksum
            again = Ether(raw(again))
            udp_ok = again[UDP].chksum == pk[UDP].chksum
            ip_ok = direction == '4to6' or again[IP].chksum == pk[IP].chksum
            good = (l3.src == f['expect_src'] and l3.dst == f['expect_dst'] and pk[UDP].dport == 9 and
                    pk.dst == self.mac[f['rx']] and udp_ok and ip_ok)
            ok = ok and good
            out['frames'].append(f"{pk.summary()} len={len(pk)} "
                                 f"{'hlim' if direction == '4to6' else 'ttl'}={l3.hlim if direction == '4to6' else l3.ttl} "
                                 f"udp-csum={'ok' if udp_ok else 'BAD'}{'' if ip_ok else ' ip-csum=BAD'}"
                                 f"{'' if good else ' MISMATCH'}")
        out['ok'] = ok
        return out

    # ------------------------------------------------------------------ one DUT, one direction
    def measure(self, dut, proc, direction):
        a = self.a
        label = f'{dut} {direction}'
        # Warm-up: neighbours resolved (ND for the gateway, ARP for the host), the path proven.
        for attempt in range(30):
            if proc.poll() is not None:
                raise RuntimeError(f'{dut} exited (code {proc.returncode}); see {self.work}/{dut}.out')
            w = self.trial(proc, direction, 1000, 1.0, drain=0.5)
            if w['sent'] and w['received'] >= 0.9 * w['sent']:
                break
            time.sleep(0.5)
        else:
            raise RuntimeError(f'{label}: no translated traffic after 30 warm-up trials (last: {w})')
        log(f'  {label}: path up after {attempt + 1} warm-up trial(s)')
        check = self.capture_check(proc, direction)
        log(f"  {label}: capture check {'ok' if check['ok'] else 'FAILED'}: " + '; '.join(check['frames'][:1]))

        trials = []

        def disturbed(t):
            """Other work on the machine took the generator's or the DUT's CPU during the trial."""
            return (t.get('gen_cpu', {}).get('wait_share', 0) > a.max_wait or
                    t.get('dut_cpu', {}).get('wait_share', 0) > a.max_wait + (0.1 if dut == 'eamclat' else 0))

        def do(rate, retries=a.retries):
            t = self.trial(proc, direction, rate, a.trial)
            # A trial in which the generator could not offer the rate (it skips rather than bursts
            # when preempted), or in which other processes took the generator's or the DUT's CPU,
            # says little about the DUT at that rate: try again (at most `retries` times).
            while retries and rate < a.max_rate and (t['sent'] < 0.95 * t['offered'] or disturbed(t)):
                log(f"  {label}: {rate:>10.0f} pps: sent {t['sent']} of {t['offered']}, waited for the CPU: "
                    f"generator {t.get('gen_cpu', {}).get('wait_share')}, DUT {t.get('dut_cpu', {}).get('wait_share')}; again")
                retries -= 1
                t = self.trial(proc, direction, rate, a.trial)
            t['target'] = rate
            t['generator_short'] = t['sent'] < 0.95 * t['offered']
            t['disturbed'] = disturbed(t)
            trials.append(t)
            cpu = t.get('dut_cpu') or {}
            log(f"  {label}: {rate:>10.0f} pps offered: sent {t['sent']} ({t['tx_pps']:.0f}/s) received "
                f"{t['received']} ({t['rx_pps']:.0f}/s) loss {t['loss']} bad {t['bad']} "
                f"DUT cpu {cpu.get('share', float('nan')):.2f} wait {cpu.get('wait_share', float('nan')):.2f}, "
                f"gen wait {t.get('gen_cpu', {}).get('wait_share', float('nan')):.2f} "
                f"-> {'pass' if t['passed'] else 'fail'}")
            return t

        before = self.counters()
        top = do(a.max_rate)
        after = self.counters()
        # What changed during the maximum-rate trial: where the frames were lost.
        pc = top['path_counters'] = {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}
        if dut == 'eamclat':
            # The net_af_packet PMD does not report the kernel's drops of its ring (RX-missed stays 0):
            # what the veth delivered minus what eamclat read is what its RX ring had no room for.
            for role, veth in (('lan', 'd-lan'), ('wan', 'd-wan')):
                if f'eamclat.{role}.rx_packets' in pc or f'{veth}.rx_packets' in pc:
                    pc[f'eamclat.{role}.rx_ring_dropped'] = pc.get(f'{veth}.rx_packets', 0) - pc.get(
                        f'eamclat.{role}.rx_packets', 0)
        log(f"  {label}: counters at max: {top['path_counters']}")
        best = top if top['passed'] else None
        lo, hi = 0.0, min(a.max_rate, top['tx_pps'])
        if not top['passed']:
            # First guess: what got through at the maximum, a little below it.
            guess = max(top['rx_pps'] * 0.95, 1000.0)
            for _ in range(a.iterations):
                if hi - lo <= a.resolution * hi:
                    break
                rate = guess if guess is not None and lo < guess < hi else (lo + hi) / 2
                guess = None
                t = do(rate)
                if t['passed']:
                    lo = rate
                    if best is None or t['tx_pps'] > best['tx_pps']:
                        best = t
                else:
                    hi = rate
        return {
            'dut': dut, 'direction': direction,
            'zero_loss_pps': round(best['tx_pps']) if best else 0,
            # Zero loss at (nearly) the most the generator could offer: the DUT's limit is not reached.
            'generator_limited': bool(best) and best['tx_pps'] >= 0.95 * top['tx_pps'],
            'zero_loss_target_pps': best['target'] if best else None,
            'search_interval_pps': [round(lo), round(hi)],
            'max_offered_target_pps': a.max_rate,
            'max_offered_pps': round(top['tx_pps']), 'max_received_pps': round(top['rx_pps']),
            'max_trial': top,
            'dut_cpu_at_max': top.get('dut_cpu'),
            'dut_cpu_us_per_packet_at_max': round(
                (top['dut_cpu']['user_s'] + top['dut_cpu']['sys_s']) / top['received'] * 1e6, 3)
            if top.get('dut_cpu') and top['received'] else None,
            # Over the TX windows of all the measured trials (warm-ups and the capture check excluded).
            'dut_cpu_total_s': round(sum(t['dut_cpu']['user_s'] + t['dut_cpu']['sys_s'] for t in trials
                                         if t.get('dut_cpu')), 2),
            'trial_s_total': round(sum(t['seconds'] for t in trials), 2),
            'capture_check': check,
            'trials': trials,
        }


def proc_cpu(pid):
    """(user, system) CPU seconds of a process, all its threads (/proc/PID/stat fields 14, 15)."""
    try:
        with open(f'/proc/{pid}/stat') as f:
            fields = f.read().rsplit(')', 1)[1].split()
        hz = os.sysconf('SC_CLK_TCK')
        return int(fields[11]) / hz, int(fields[12]) / hz
    except (OSError, IndexError, ValueError):
        return None


def schedstat(pid):
    """{tid: (on-CPU ns, runnable-but-waiting ns)} for every thread of pid (/proc/PID/task/TID/schedstat)."""
    out = {}
    try:
        for tid in os.listdir(f'/proc/{pid}/task'):
            try:
                with open(f'/proc/{pid}/task/{tid}/schedstat') as f:
                    v = f.read().split()
                out[int(tid)] = (int(v[0]), int(v[1]))
            except (OSError, IndexError, ValueError):
                pass
    except OSError:
        pass
    return out


def tayga_version():
    p = run(['dpkg-query', '-W', '-f=${Version}', 'tayga'], check=False)
    return p.stdout.strip() or '?'


def ensure_built(build_dir):
    targets = ['tests/bench/eamclat-gen', 'control/eamclat', 'control/eamclat-ctl']
    if not os.path.isdir(build_dir):
        run(['meson', 'setup', build_dir, '--buildtype=release', '-Dtests=true', '-Dbench=true'], cwd=ROOT)
    try:
        run(['ninja', '-C', build_dir, '-j2', *targets], cwd=ROOT)
    except RuntimeError as e:
        # Binaries from an earlier build are still usable (others may be editing the tree right now).
        if not all(os.path.exists(os.path.join(build_dir, t)) for t in targets):
            raise
        log(f'peer.py: build failed, using the binaries already in {build_dir}: {str(e)[-300:]}')
        return 'build failed; binaries from an earlier build used'
    return None


def table(results):
    L = ['| DUT | direction | zero-loss pps | max offered pps | received at max | DUT CPU at max | '
         'DUT CPU µs/pkt at max | frames checked |',
         '| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |']
    for r in results:
        c = r.get('dut_cpu_at_max') or {}
        L.append(f"| {r['dut']} | {r['direction'].replace('to', '->')} | {r['zero_loss_pps']:,} | "
                 f"{r['max_offered_pps']:,} | {r['max_received_pps']:,} | "
                 f"{c.get('share', 0):.0%} | {r['dut_cpu_us_per_packet_at_max'] or 'n/a'} | "
                 f"{'ok' if r['capture_check']['ok'] and not r['max_trial']['bad'] else 'FAILED'} |")
    return '\n'.join(L)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--build-dir', default=os.environ.get('BUILD', os.path.join(ROOT, 'build-bench')))
    ap.add_argument('--duts', default='tayga,eamclat')
    ap.add_argument('--directions', default='4to6,6to4')
    ap.add_argument('--path', choices=['plat', 'eamt'], default='plat',
                    help='destination through the PLAT prefix (default) or an EAMT entry / TAYGA map')
    ap.add_argument('--trial', type=float, default=5.0, help='seconds per trial (default 5)')
    ap.add_argument('--max-rate', type=float, default=2e6, help='the highest offered rate, pps (default 2M)')
    ap.add_argument('--resolution', type=float, default=0.05, help='stop when the interval is this fraction of the rate')
    ap.add_argument('--iterations', type=int, default=8, help='at most this many search trials after the first')
    ap.add_argument('--flows', type=int, default=16, help='distinct UDP source ports')
    ap.add_argument('--retries', type=int, default=1,
                    help='repeat a search trial disturbed by other processes at most this often (default 1)')
    ap.add_argument('--max-wait', type=float, default=0.10,
                    help='a trial is disturbed when the generator or the DUT waited for its CPU more than this '
                         'fraction of the time (eamclat: + 0.10 for its own control thread on the same CPU)')
    ap.add_argument('--quick', action='store_true', help='1 s trials, 10%% resolution, 5 iterations, 1 retry')
    ap.add_argument('--json', default=None, help='also write the JSON here')
    ap.add_argument('--keep', action='store_true', help='keep configs and logs')
    ap.add_argument('--no-build', action='store_true')
    a = ap.parse_args()
    if a.quick:
        a.trial, a.resolution, a.iterations, a.retries = 1.0, 0.10, 5, min(a.retries, 1)
    if os.geteuid() != 0:
        sys.exit('peer.py: needs root (network namespaces, DPDK)')
    for tool in ('ip', 'tayga', 'taskset', 'tcpdump'):
        if not shutil.which(tool):
            sys.exit(f'peer.py: {tool} not found (scripts/setup-deps.sh)')
    a.build_dir = os.path.abspath(a.build_dir)
    build_note = None if a.no_build else ensure_built(a.build_dir)

    def on_signal(sig, _frame):
        raise SystemExit(128 + sig)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    started = time.time()
    env = {
        'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
        'cpu': next((l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name')), '?'),
        'cores': os.cpu_count(), 'kernel': platform.release(), 'tayga': tayga_version(),
        'load_start': open('/proc/loadavg').read().split()[0], 'build': build_note,
        'trial_s': a.trial, 'resolution': a.resolution, 'iterations': a.iterations, 'max_rate': a.max_rate,
        'flows': a.flows, 'path': a.path, 'quick': a.quick, 'pinning': PINNING,
        'frames': '4->6: 64-byte IPv4 UDP frames in, 84-byte IPv6 out; 6->4: 84-byte IPv6 in, 64-byte IPv4 out',
        'addresses': {'host': HOST4, 'remote': REMOTE4, 'host_clat6': HOST_CLAT6,
                      'remote6': REMOTE_EAM6 if a.path == 'eamt' else REMOTE_PLAT6,
                      'clat_prefix': CLAT_PREFIX, 'plat_prefix': PLAT_PREFIX, 'gateway6': GW6},
    }
    results, configs, errors = [], {}, []
    for dut in a.duts.split(','):
        peer = Peer(a)
        try:
            log(f'peer: {dut}')
            peer.build()
            proc = peer.start_tayga() if dut == 'tayga' else peer.start_eamclat()
            configs[dut] = peer.dut_config
            for direction in a.directions.split(','):
                results.append(peer.measure(dut, proc, direction))
            if proc.poll() is not None:
                raise RuntimeError(f'{dut} exited during the run')
        except Exception as e:  # one DUT failing must not lose the other's numbers
            errors.append(f'{dut}: {e}')
            log(f'peer: {dut} FAILED: {e}')
            a.keep = True
        finally:
            peer.close()
    env['load_end'] = open('/proc/loadavg').read().split()[0]
    env['elapsed_s'] = round(time.time() - started)
    out = {'env': env, 'results': results, 'configs': configs, 'errors': errors}
    log('')
    log(table(results))
    for e in errors:
        log(f'ERROR {e}')
    print(json.dumps(out, indent=1))
    if a.json:
        with open(a.json, 'w') as f:
            json.dump(out, f, indent=1)
    sys.exit(1 if errors else 0)


if __name__ == '__main__':
    main()
