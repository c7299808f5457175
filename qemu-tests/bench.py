#!/usr/bin/env python3
"""make bench: boots the appliance repeatedly under QEMU (the harness's defaults: TCG unless
$QEMU_ACCEL says otherwise, restricted user network) and reports medians, min and max.

Usage: qemu-tests/bench.py [--boots N] [--only timeline|mem|upgrade|iptables|run]
  --boots N   boots per figure (default $BENCH_BOOTS, else 5)
  --only P    run one part; the other parts' figures are kept from the last build/bench.json

Parts:  timeline  N x (fresh disk: first boot, then a second boot on the same disk): the boot
                  timeline from init's log lines, init's RSS, poweroff typed in dom0 to QEMU's exit
        iptables  N x (second boot with the default, second boot with od.iptables=0), alternated,
                  on one persistent disk prepared by a first boot
        upgrade   one boot: a new dom0 image built in dom0, `exit`, time to the new dom0's banner
        mem       the smallest --mem (32 MiB steps) reaching the dom0 prompt, by bisection
        run       N x `./kvm --net restricted --run IMAGE true` on a disk that has the image: the
                  command's own time, and inside it /_ping -> the container started -> its status
Outputs: build/bench.json (every boot's figures), build/bench.md (the table, for the README), the
table on stdout, progress on stderr; console logs in build/qemu-tests/bench-*/console.log.

Clocks: init's lines carry the guest's CLOCK_MONOTONIC (time since the kernel started); phases
between two init lines use it. Phases that start at QEMU's start or end at something that is not an
init line (dom0's banner, QEMU's exit) use the host clock: harness.Appliance.started and seen_at().
"""
import argparse
import glob
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness  # noqa: E402
from harness import Appliance, ApplianceError  # noqa: E402

BUILD = os.path.join(harness.ROOT, 'build')
# init's log line prefix; group t: guest seconds. Not anchored at a line start: a line written
# while dom0's prompt is on the console lands right after the prompt.
LINE = r'onlydocker: \[ *(?P<t>\d+\.\d+)\] '
# init's message when it gives up booting and starts its debug shell: no milestone will come.
FATAL = r'error: [^\n]*boot cannot go on[^\n]*'
BANNER = r'onlydocker dom0 (\S+) ready'       # printed by dom0's entrypoint, just before its prompt
TIMEOUT = 300                                 # the longest a boot may take to reach the dom0 prompt
# Milestones in boot order: the init log line after the prefix.
# 'init' is the kernel's own line as it executes /init (the guest clock in the kernel's format), so
# /init -> dockerd exec includes the root switch and init's re-exec.
MILESTONES = (('init', r'\[ *(?P<t>\d+\.\d+)\] Run /init as init process'),
              ('dockerd', LINE + r'dockerd: started \(pid \d+\)(?P<rest>.*)'),
              ('ping', LINE + r'dockerd: API answering /_ping'),
              ('dom0', LINE + r'dom0: container started'))
LEASE = r'network: eth0 has 10\.0\.2\.15/24'
# A --mem probe fails at the first of these. "Initramfs unpacking failed" (the kernel's rootfs ran
# out of RAM: the compressed image and its files are both in memory then) is fatal too: the kernel
# goes on with whatever files were unpacked, which is no longer the appliance.
OOM = r'Out of memory|invoked oom-killer|Kernel panic|Initramfs unpacking failed'


def say(msg):
    print('bench: ' + msg, file=sys.stderr, flush=True)


def first_line(e):
    return str(e).strip().split('\n')[0]


def expect(vm, pattern, timeout):
    """vm.wait_for(pattern) anywhere in the console, but fail at once if init gave up booting."""
    m = vm.wait_for('(?P<fatal>%s)|%s' % (FATAL, pattern), timeout, since=0)
    if m.group('fatal'):
        raise ApplianceError('init gave up: ' + m.group('fatal'))
    return m


def boot(name, disk=None, append='', work=None):
    """One boot to the dom0 prompt, init's RSS, then work(vm, rec) if given, then `poweroff` typed
    in dom0. Returns a dict of figures (seconds unless named otherwise); on a failure it also has
    'failed' (and keeps what was measured before). The data disk is left in place."""
    rec = {'name': name, 'append': append, 'log': os.path.join(harness.OUT, name, 'console.log')}
    vm = None
    try:
        vm = Appliance(name=name, disk=disk, append=append)
        rec.update(log=vm.console_log, disk=vm.disk)   # log: the name may have been made unique
        deadline = vm.started + TIMEOUT
        left = lambda: max(1, deadline - time.monotonic())
        g, h = {}, {}   # milestone -> guest timestamp, host time its line was read
        for key, rx in MILESTONES:
            m = expect(vm, rx, left())
            g[key], h[key] = float(m.group('t')), vm.seen_at(m.end() - 1)
            if key == 'dockerd':
                rec['iptables_off'] = 'iptables off' in m.group('rest')
        m = expect(vm, BANNER, left())
        h['prompt'] = vm.seen_at(m.end() - 1)
        rec['qemu_to_init'] = h['init'] - vm.started
        # Host minus guest clock at /init: QEMU's start to the kernel's (firmware, loading the images).
        rec['qemu_to_kernel'] = rec['qemu_to_init'] - g['init']
        rec['init_to_dockerd'] = g['dockerd'] - g['init']
        rec['dockerd_to_ping'] = g['ping'] - g['dockerd']
        # Guest clock up to "dom0: container started", then the host-measured delay to dom0's banner
        # (negative when the banner comes first, as it usually does: init logs the line when its
        # start call returns, after dom0's entrypoint has printed the banner).
        rec['ping_to_dom0'] = g['dom0'] - g['ping'] + h['prompt'] - h['dom0']
        rec['qemu_to_prompt'] = h['prompt'] - vm.started
        # How far the two clocks drift apart over the boot (host minus guest, /init to dom0 started):
        # phases mixing them are off by about this much.
        rec['clock_drift'] = (h['dom0'] - h['init']) - (g['dom0'] - g['init'])
        # init's share: its early boot (/init to dockerd's exec: root switch, modules, cgroups,
        # disk...) over the whole QEMU start to dom0 prompt. Its Engine API work (loading images,
        # creating containers) is mixed with dockerd's own and not counted.
        rec['init_share'] = rec['init_to_dockerd'] / rec['qemu_to_prompt']
        rs = re.search(LINE + r'root: moved (\d+) files \((\d+) MiB\).* in (\d+) ms; peak extra memory (\d+) KiB',
                       vm.text, re.M)
        if rs:
            files, mib, ms, peak = map(int, rs.groups()[1:])   # groups()[0]: LINE's timestamp
            rec.update(root_files=files, root_mib=mib, root_switch=ms / 1000, root_peak_kib=peak)
        rec['images_loaded'] = len(re.findall(r': bundled image loaded from', vm.text))
        rec['images_kept'] = len(re.findall(r': image \S+ already in the engine, not reloaded', vm.text))
        out, _ = vm.run('grep VmRSS /proc/1/status', timeout=60, check=True)   # dom0 sees the host's PIDs
        rec['rss_kib'] = int(re.search(r'VmRSS:\s*(\d+) kB', out).group(1))
        try:   # dhcpcd keeps trying; init says nothing before od.dhcp.timeout (30 s) either way
            m = vm.wait_for(LINE + LEASE, 60, since=0)
            rec['ping_to_lease'] = float(m.group('t')) - g['ping']
        except ApplianceError:
            rec['no_lease'] = True
        if work:
            work(vm, rec)
        vm.run('true', timeout=60)   # dom0's shell (maybe a new one) reads the console
        t0 = time.monotonic()
        vm.send('poweroff\n')
        vm.wait_exit(60)
        rec['poweroff'] = time.monotonic() - t0
        rec['clean'] = bool(re.search(LINE + r'shutdown: filesystems unmounted, disk clean', vm.text, re.M))
        say('%s: dom0 prompt %.1f s after QEMU start, poweroff %.1f s%s'
            % (name, rec['qemu_to_prompt'], rec['poweroff'], '' if rec['clean'] else ' (disk NOT clean)'))
    except Exception as e:   # one failed boot is a figure too: report it and go on
        rec['failed'] = first_line(e)
        if vm is None and disk is None:   # QEMU did not start: drop the disk made for it
            drop(os.path.join(harness.OUT, name, 'docker.img'))
        say('%s FAILED: %s\n       console log: %s' % (name, rec['failed'], rec.get('log')))
    finally:
        if vm:
            vm.kill()
    return rec


def drop(path):
    if path and os.path.exists(path):
        os.unlink(path)


def part_timeline(n):
    """Each round: a fresh disk, a first boot (images loaded), a second boot on that disk."""
    res = {'first': [], 'second': []}
    for i in range(1, n + 1):
        r1 = boot('bench-first-%d' % i)
        res['first'].append(r1)
        if 'failed' not in r1:
            r2 = boot('bench-second-%d' % i, disk=r1['disk'])
            if 'failed' not in r2 and r2['images_loaded']:
                say('%s: images were reloaded on a second boot' % r2['name'])
            res['second'].append(r2)
        drop(r1.get('disk'))
    return res


def part_iptables(n):
    """dockerd exec to /_ping with and without iptables, as second boots on one persistent disk
    (no image loading mixed in), alternated so that drift of the host hits both alike."""
    res = {'on': [], 'off': []}
    prep = boot('bench-ipt-prep')
    if 'failed' in prep:
        res['failed'] = 'the first boot that prepares the disk failed: ' + prep['failed']
        return res
    for i in range(1, n + 1):
        for kind, append in (('on', ''), ('off', 'od.iptables=0')):
            r = boot('bench-ipt-%s-%d' % (kind, i), disk=prep['disk'], append=append)
            if 'failed' not in r and r['iptables_off'] != (kind == 'off'):
                r['failed'] = 'dockerd: started line does not match od.iptables'
            res[kind].append(r)
    drop(prep['disk'])
    return res


def part_upgrade(_n):
    """A dom0 upgrade as a user makes it (see test_dom0.test_dom0_upgrade_without_reboot)."""
    def work(vm, rec):
        t = time.monotonic()
        vm.run("mkdir -p /tmp/up && printf 'FROM onlydocker/dom0:bundled\\nRUN sed -i "
               "s/^DOM0_VERSION=.*/DOM0_VERSION=bench-up/ /etc/dom0-release\\n' > /tmp/up/Dockerfile && "
               "DOCKER_BUILDKIT=0 docker build -q -t onlydocker/dom0:latest /tmp/up", check=True, timeout=300)
        rec['build'] = time.monotonic() - t
        mark = len(vm.text)
        t0 = time.monotonic()
        vm.send('exit\n')
        m = vm.wait_for(r'onlydocker dom0 bench-up ready', 180, since=mark)
        rec['upgrade'] = vm.seen_at(m.end() - 1) - t0
    rec = boot('bench-upgrade', work=work)
    drop(rec.get('disk'))
    if 'failed' not in rec and 'upgrade' not in rec:
        rec['failed'] = 'no upgrade figure'
    return rec


def part_run(n):
    """kvm --run as a user sees it: the command's wall time; and from init's lines the guest's
    phases. The first run, which loads the image from the archive, only prepares the disk."""
    tar = os.path.join(BUILD, 'test-images', 'busybox.tar')
    disk = harness.make_disk(os.path.join(harness.OUT, 'bench-run.img'))
    res = {'runs': []}
    for i in range(n + 1):
        log = os.path.join(harness.OUT, 'bench-run-%d.log' % i)
        cmd = harness.Guest.kvm('--net', 'restricted', '--disk', disk, '--log', log, '--run',
                                *(['--image-tar', tar] if i == 0 else []), 'onlydocker/busybox:test', 'true')
        t0 = time.monotonic()
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT)
        rec = {'name': 'bench-run-%d' % i, 'wall': time.monotonic() - t0}
        text = open(log, errors='replace').read() if os.path.exists(log) else ''
        t = {k: re.search(LINE + pat, text) for k, pat in (('ping', r'dockerd: API answering'),
                                                           ('started', r'run: container \w+ started'),
                                                           ('status', r'run: exit status'))}
        if r.returncode != 0 or not all(t.values()):
            rec['failed'] = 'status %d, %s' % (r.returncode, r.stderr.decode(errors='replace').strip()[-200:])
        else:
            g = {k: float(m.group('t')) for k, m in t.items()}
            rec.update(ping_to_started=g['started'] - g['ping'], started_to_status=g['status'] - g['started'])
        say('%s: %s' % (rec['name'], rec.get('failed') or '%.1f s' % rec['wall']))
        if i:
            res['runs'].append(rec)
    drop(disk)
    return res


def mem_probe(mib):
    """A fresh boot with --mem mib: (True, _) when dom0's banner comes before an OOM, a panic or
    QEMU's end, else (False, why)."""
    name = 'bench-mem-%d' % mib
    vm, kernel = None, False
    try:
        vm = Appliance(name=name, mem=mib)
        m = vm.wait_for('(?P<ok>%s)|%s|%s' % (BANNER, OOM, FATAL), TIMEOUT, since=0)
        ok, why = m.group('ok') is not None, m.group(0)
    except Exception as e:
        ok, why = False, first_line(e)
    finally:
        if vm:
            vm.kill()
            kernel = 'Linux version' in vm.text
        drop(vm.disk if vm else os.path.join(harness.OUT, name, 'docker.img'))
    if not kernel:   # QEMU or ./kvm failed before the guest ran (no initrd...): not a memory figure
        raise RuntimeError('--mem %d: the kernel never started: %s' % (mib, why))
    say('--mem %d: %s%s' % (mib, 'dom0 prompt' if ok else 'FAILED: ' + why,
                            '' if ok else '\n       console log: %s' % vm.console_log if vm else ''))
    return ok, why


def part_mem(_n):
    """Bisection in 32 MiB steps; assumes success is monotonic in memory (one probe per size, so a
    size near the edge that fails only sometimes can move the result by a step)."""
    lo, hi = 96, 1024   # lo: taken as failing, never probed; hi: ./kvm's default, every other boot's
    probes = {}
    while hi - lo > 32:
        mid = (lo + hi) // 64 * 32
        try:
            ok, why = mem_probe(mid)
        except RuntimeError as e:
            say('mem FAILED: %s' % e)
            return {'probes': probes, 'failed': str(e)}
        probes[mid] = 'dom0 prompt' if ok else why
        lo, hi = (lo, mid) if ok else (mid, hi)
    if hi == 1024:   # never probed: the other parts' boots show whether 1024 works
        return {'probes': probes, 'failed': 'no probe below 1024 MiB reached the dom0 prompt'}
    return {'probes': probes, 'min_mib': hi, 'note': '<= 128: not searched lower' if hi == 128 else ''}


def machine():
    info = open('/proc/cpuinfo').read()
    cpu = re.search(r'^model name\s*:\s*(.*)$', info, re.M)
    mem = re.search(r'^MemTotal:\s*(\d+) kB', open('/proc/meminfo').read(), re.M)
    try:
        qemu = subprocess.run(['qemu-system-x86_64', '--version'], capture_output=True, text=True).stdout.split('\n')[0]
    except OSError:
        qemu = '?'
    return {'cpu': cpu.group(1).strip() if cpu else platform.processor(), 'cores': os.cpu_count(),
            'ram_gib': round(int(mem.group(1)) / 2**20, 1) if mem else None, 'qemu': qemu,
            'accel': os.environ.get('QEMU_ACCEL', 'tcg'), 'net': 'restricted'}


def sizes():
    out = {}
    for p in ['init', 'initrd.img', 'engine.img', 'initrd-full.img'] + sorted(os.path.relpath(t, BUILD) for t in glob.glob(BUILD + '/images/*.tar')):
        if os.path.exists(os.path.join(BUILD, p)):
            out[p] = os.path.getsize(os.path.join(BUILD, p))
    return out


# ---- the table -------------------------------------------------------------------------------
def vals(recs, key):
    return [r[key] for r in recs if r.get(key) is not None]


def row(label, values, unit, target=None, extra_ok=True):
    """A table row: label, n, median, min, max, target cell. target = (limit, text): PASS when the
    median is below limit (and extra_ok)."""
    fmt = {'s': lambda v: '%.2f s' % v, '%': lambda v: '%.1f %%' % (100 * v), 'KiB': lambda v: '%d KiB' % v,
           'MiB': lambda v: '%.2f MiB' % (v / 2**20), 'mem': lambda v: '%d MiB' % v}[unit]
    if not values:
        return [label, '0', '-', '-', '-', (target[1] + ' ?') if target else '']
    med = statistics.median(values)
    cell = ''
    if target:
        cell = '%s %s' % (target[1], 'PASS' if med < target[0] and extra_ok else 'MISS')
    return [label, str(len(values)), fmt(med), fmt(min(values)), fmt(max(values)), cell]


def table(res):
    rows = []
    tl = res.get('timeline') or {}
    for kind in ('first', 'second'):
        recs = tl.get(kind, [])
        k = kind + ' boot: '
        clean = sum(1 for r in recs if r.get('clean'))
        timed = len(vals(recs, 'poweroff'))
        rows += [row(k + 'QEMU start -> /init', vals(recs, 'qemu_to_init'), 's'),
                 row(k + '/init -> dockerd exec', vals(recs, 'init_to_dockerd'), 's', (0.5, '< 0.5 s')),
                 row(k + '  of which the root switch', vals(recs, 'root_switch'), 's'),
                 row(k + 'dockerd exec -> /_ping', vals(recs, 'dockerd_to_ping'), 's'),
                 row(k + '/_ping -> dom0 prompt', vals(recs, 'ping_to_dom0'), 's',
                     (1.5, '< 1.5 s') if kind == 'second' else None),
                 row(k + '/_ping -> DHCP lease', vals(recs, 'ping_to_lease'), 's'),
                 row(k + 'QEMU start -> dom0 prompt', vals(recs, 'qemu_to_prompt'), 's'),
                 row(k + "init's share (early boot)", vals(recs, 'init_share'), '%', (0.05, '< 5 %')),
                 row(k + 'poweroff -> QEMU exit (%d/%d clean)' % (clean, timed), vals(recs, 'poweroff'), 's',
                     (3, '< 3 s, clean'), timed > 0 and clean == timed),
                 row(k + 'init RSS', vals(recs, 'rss_kib'), 'KiB', (2048, '< 2 MiB'))]
    first = tl.get('first', [])
    rows.append(row('root switch peak extra memory', vals(first, 'root_peak_kib'), 'KiB'))
    ipt = res.get('iptables') or {}
    rows += [row('iptables on:  dockerd exec -> /_ping', vals(ipt.get('on', []), 'dockerd_to_ping'), 's'),
             row('iptables off: dockerd exec -> /_ping', vals(ipt.get('off', []), 'dockerd_to_ping'), 's')]
    up = res.get('upgrade') or {}
    rows.append(row('dom0 upgrade: exit -> new dom0 prompt', [up['upgrade']] if 'upgrade' in up else [], 's'))
    runs = (res.get('run') or {}).get('runs', [])
    rows += [row('kvm --run IMAGE true: the command', vals(runs, 'wall'), 's'),
             row('kvm --run:   /_ping -> container started', vals(runs, 'ping_to_started'), 's'),
             row('kvm --run:   started -> status to the host', vals(runs, 'started_to_status'), 's')]
    mem = res.get('mem') or {}
    rows.append(row('smallest --mem reaching dom0', [mem['min_mib']] if 'min_mib' in mem else [], 'mem',
                    (257, '<= 256 MiB')))
    for name, size in res['sizes'].items():
        rows.append(row('size: ' + name, [size], 'MiB', (2**20, '< 1 MiB') if name == 'init' else None))
    return rows


def render(rows):
    head = ['what', 'n', 'median', 'min', 'max', 'target']
    w = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    line = lambda r: '  '.join(c.ljust(w[i]) if i in (0, 5) else c.rjust(w[i]) for i, c in enumerate(r)).rstrip()
    text = '\n'.join([line(head), '  '.join('-' * x for x in w)] + [line(r) for r in rows])
    md = '\n'.join(['| ' + ' | '.join(head) + ' |', '| --- | ---: | ---: | ---: | ---: | --- |'] +
                   ['| ' + ' | '.join(c.replace('->', '→') for c in r) + ' |' for r in rows])
    return text, md


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--boots', type=int, default=int(os.environ.get('BENCH_BOOTS', 5)), help='boots per figure')
    ap.add_argument('--only', choices=('timeline', 'mem', 'upgrade', 'iptables', 'run'), help='run one part')
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # so that the running QEMU is killed too
    parts = {'timeline': part_timeline, 'iptables': part_iptables, 'upgrade': part_upgrade, 'run': part_run,
             'mem': part_mem}
    path = os.path.join(BUILD, 'bench.json')
    res = {}
    if args.only and os.path.exists(path):   # keep the other parts' last figures
        try:
            res = json.load(open(path))
        except ValueError:
            pass
    initrd = os.path.join(BUILD, 'initrd.img')
    if not os.path.exists(initrd):
        sys.exit('bench: %s is missing: run make first' % initrd)
    mtime = lambda: os.path.exists(initrd) and os.path.getmtime(initrd)
    stamp = mtime()
    for name, fn in parts.items():
        if args.only in (None, name):
            t = time.monotonic()
            say('%s...' % name)
            res[name] = fn(args.boots)
            res.setdefault('when', {})[name] = time.strftime('%Y-%m-%d %H:%M:%S')
            res.setdefault('boots', {})[name] = args.boots
            say('%s done in %.0f s' % (name, time.monotonic() - t))
    if mtime() != stamp:
        say('warning: build/initrd.img changed during the bench: figures may mix two builds')
    res.update(machine=machine(), sizes=sizes())
    with open(path + '.tmp', 'w') as f:
        json.dump(res, f, indent=1, sort_keys=True)
    os.replace(path + '.tmp', path)
    text, md = render(table(res))
    m = res['machine']
    about = ('Measured with `make bench` on %s, %s cores, %s GiB RAM; %s, accel %s, %s user network; '
             'median, min and max over n boots.' % (m['cpu'], m['cores'], m['ram_gib'], m['qemu'],
                                                     m['accel'], m['net']))
    with open(os.path.join(BUILD, 'bench.md'), 'w') as f:
        f.write(about + '\n\n' + md + '\n')
    print(about + '\n\n' + text)
    failed = [r['name'] for p in ('timeline', 'iptables', 'run') for k in ('first', 'second', 'on', 'off', 'runs')
              for r in (res.get(p) or {}).get(k, []) if args.only in (None, p) and 'failed' in r]
    if args.only in (None, 'upgrade') and 'failed' in res.get('upgrade', {}):
        failed.append('bench-upgrade')
    if args.only in (None, 'iptables') and 'failed' in res.get('iptables', {}):
        failed.append('bench-ipt-prep')
    if args.only in (None, 'mem') and 'failed' in res.get('mem', {}):
        failed.append('the memory search')
    if failed:
        say('%d boot(s) failed: %s (console logs in build/qemu-tests/)' % (len(failed), ' '.join(failed)))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
