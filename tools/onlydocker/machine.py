"""One appliance's QEMU: Machine resolves the options into paths and arguments, argv() is the
command (no side effects: --dry-run prints it), prepare() makes what it needs (data disk, LAN
switch, log and run directories), launch() starts QEMU, cleanup() removes what the run made."""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

from . import disk, lan, sockfwd
from .base import ROOT, die, qesc, warn
from .runport import pdeathsig
from .runspec import RunSpec
from .shared import CONFIG_FWCFG, EXIT_OWN, RUN_FWCFG, RUN_PORT, SSH_KEYS_FWCFG

BASE_APPEND = 'console=ttyS0 random.trust_cpu=on panic=-1 rootfstype=ramfs'
# QEMU's user network, always the same: the guest is 10.0.2.15, the gateway and DNS forwarder QEMU.
USER_NET_IP = 'ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off:10.0.2.3'
ENGINE_SERIAL = 'onlydocker-engine'     # the engine image's virtio disk (init's enginefs.c)
NICS = {'user': 'user,model=virtio-net-pci', 'restricted': 'user,model=virtio-net-pci,restrict=on', 'none': 'none'}


def choose_accel(accel, kernel):
    """auto: KVM only if it really runs a guest. The probe boots the kernel with no root: it panics
    at once and, with panic=-1 and -no-reboot, QEMU exits 0. Nested KVM that aborts or hangs fails it."""
    if accel != 'auto':
        return accel
    try:
        os.close(os.open('/dev/kvm', os.O_RDWR))
    except OSError:
        return 'tcg'
    if os.path.isfile(kernel):
        try:
            r = subprocess.run(['qemu-system-x86_64', '-accel', 'kvm', '-cpu', 'host', '-machine', 'q35', '-m', '256',
                                '-nodefaults', '-display', 'none', '-no-reboot', '-kernel', kernel,
                                '-append', 'panic=-1 root=/dev/nonexistent'],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               timeout=8)
            if r.returncode == 0:
                return 'kvm'
        except (OSError, subprocess.TimeoutExpired):
            pass
    warn('/dev/kvm is there but a KVM guest does not run here: using tcg')
    return 'tcg'


class Machine:
    """o: cli's options (an argparse Namespace); run: runspec.parse()'s result for --run, else None;
    stage: the run's private directory (default: a new name under $TMPDIR, made by prepare());
    tty: whether stdin is a terminal (default: asked)."""

    def __init__(self, o, run=None, stage=None, tty=None):
        self.o, self.run = o, run
        self.tty = sys.stdin.isatty() if tty is None else tty
        self.proc = self.conn = self.lsock = None
        self.made_stage = False
        self.spec = None
        self.forwarder = None
        self.fwd_dir = None         # --docker-socket's known_hosts, for this run alone
        if run is not None:
            self.stage = stage or os.path.join(tempfile.gettempdir(), 'odrun-' + os.urandom(6).hex())
            self.spec = RunSpec(run, self.stage)
            self.spec.spec['pull'] = o.net == 'user'    # a registry is reachable only through the user network
        self.kernel, self.initrd, self.engine = self.images()
        self.accel = choose_accel(o.accel, self.kernel)
        if run is not None and o.net == 'none' and self.spec.hostfwd:
            die('--run: -p needs a network: not with --net none')
        self.lan_sock = lan.socket_path(o.lan) if o.lan else None
        seed = o.name or (os.path.abspath(o.disk) if o.disk not in ('default', 'none') else 'docker')
        self.mac = o.mac or lan.mac_for(seed)
        self.disk, self.new_disk = disk.plan(o.disk, o.name, o.new_disk)
        if run is not None:
            self.log = None if o.verbose else (o.log or os.path.join(ROOT, 'disk', (o.name or 'docker') + '.log'))
        else:
            self.log = os.path.join(ROOT, 'disk', o.name + '.log') if o.name and not o.serial else None

    def images(self):
        o = self.o
        kernel = o.kernel
        if not kernel:
            kernel = os.path.join(ROOT, 'build', 'vmlinuz')
            alt = os.path.join(ROOT, 'build', 'kernel', 'vmlinuz')
            if not os.path.exists(kernel) and os.path.exists(alt):
                kernel = alt
        initrd = o.initrd or os.path.join(ROOT, 'build', 'initrd.img')
        for path, what in ((kernel, 'kernel'), (initrd, 'initramfs')):
            if not os.path.isfile(path):
                msg = "%s '%s' not found: run make first (or give --%s)" % (what, path, 'kernel' if what == 'kernel' else 'initrd')
                if not o.dry_run:
                    die(msg)
                warn('warning: ' + msg)
        engine = o.engine
        if engine is None:
            engine = os.path.join(os.path.dirname(os.path.abspath(initrd)), 'engine.img')
            engine = engine if os.path.isfile(engine) else 'none'
        elif engine != 'none' and not os.path.isfile(engine):
            if not o.dry_run:
                die("--engine '%s' not found: run make first (or give --engine none)" % engine)
            warn("warning: --engine '%s' not found" % engine)
        return kernel, initrd, engine

    # ---- the command: no side effects ----

    def paths(self):
        """The run's spec file and port socket, in its private directory."""
        return os.path.join(self.stage, 'spec.json'), os.path.join(self.stage, 'run.sock')

    def console_args(self):
        o = self.o
        if self.run is not None:
            return (['-chardev', 'file,id=con,path=/proc/self/fd/2,append=on'] if self.log is None
                    else ['-chardev', 'file,id=con,path=%s' % qesc(self.log)]) + \
                ['-serial', 'chardev:con', '-monitor', 'none'] + \
                (['-qmp', 'unix:%s,server=on,wait=off' % qesc(o.qmp)] if o.qmp else [])
        if self.log:
            # The console on stdio and, whole, in the log: for several appliances side by side.
            args = ['-chardev', 'stdio,id=con,mux=%s,signal=off,logfile=%s' % ('on' if self.tty else 'off', qesc(self.log)),
                    '-serial', 'chardev:con']
            if self.tty:
                args += ['-mon', 'chardev=con']
        elif o.serial:
            args = ['-chardev', 'socket,id=con,path=%s,server=on,wait=on' % qesc(o.serial), '-serial', 'chardev:con',
                    '-monitor', 'none']
        elif self.tty:
            args = ['-serial', 'mon:stdio']
        else:
            # Not a terminal (a test harness): no monitor mux, so every byte written reaches the guest.
            args = ['-serial', 'stdio']
        if o.qmp:
            args += ['-qmp', 'unix:%s,server=on,wait=off' % qesc(o.qmp)]
        return args

    def append(self):
        o, extra = self.o, ''.join(' ' + a for a in self.o.append)
        if self.run is None:
            return BASE_APPEND + extra
        append = BASE_APPEND + ' od.run'
        if o.net != 'none':
            # No DHCP in this mode: QEMU's user network is always the same, and this is quicker.
            append += ' ' + USER_NET_IP
        if o.net != 'user':
            append += ' od.iptables=0'      # nothing to NAT to: dockerd starts seconds sooner
        return append + extra

    def argv(self):
        o = self.o
        nic = NICS[o.net]
        if self.run is not None and o.net != 'none':
            nic += ''.join(',' + f for f in self.spec.hostfwd)
        if o.ssh_port is not None:
            # Loopback only: dom0's sshd is this machine's user's, never its network's.
            nic += ',hostfwd=tcp:127.0.0.1:%d-:22' % o.ssh_port
        # "max" gives TCG guests RDRAND (random.trust_cpu); "host" is the natural choice under KVM.
        cmd = ['qemu-system-x86_64', '-nodefaults', '-no-user-config', '-display', 'none',
               '-machine', 'q35', '-accel', self.accel, '-cpu', 'host' if self.accel == 'kvm' else 'max',
               '-m', o.mem, '-smp', o.smp, '-kernel', self.kernel, '-initrd', self.initrd,
               '-append', self.append()] + self.console_args() + ['-nic', nic]
        cmd += lan.args(self.lan_sock, self.mac) if self.lan_sock else []
        if o.ssh_keys:
            # The keys as the fw_cfg file's contents (string=: no file to make); dom0's ssh.sh reads them.
            cmd += ['-fw_cfg', 'name=%s,string=%s' % (SSH_KEYS_FWCFG, qesc(o.ssh_keys))]
        if o.config:
            cmd += ['-fw_cfg', 'name=%s,file=%s' % (CONFIG_FWCFG, qesc(o.config))]
        cmd += disk.args(self.disk)
        if self.run is None:
            cmd += ['-device', 'virtio-rng-pci']
        else:
            spec_path, sock_path = self.paths()
            cmd += self.spec.qemu + [
                '-device', 'virtio-serial-pci,id=vser', '-chardev', 'socket,id=run,path=%s' % qesc(sock_path),
                '-device', 'virtserialport,bus=vser.0,chardev=run,name=%s' % RUN_PORT,
                '-fw_cfg', 'name=%s,file=%s' % (RUN_FWCFG, qesc(spec_path)),
                '-device', 'virtio-rng-pci', '-no-reboot']
        # Read-only, and last on the PCI bus, so the data disk and any test's disks keep their names.
        engine = [] if self.engine == 'none' else [
            '-drive', 'file=%s,format=raw,if=none,id=engine,readonly=on' % qesc(self.engine),
            '-device', 'virtio-blk-pci,drive=engine,serial=%s' % ENGINE_SERIAL]
        return cmd + o.extra + engine

    def spec_json(self):
        return json.dumps(self.spec.spec)

    # ---- its life ----

    def prepare(self):
        """Everything argv() names that must exist before QEMU starts."""
        if self.o.docker_socket:
            self.fwd_dir = tempfile.mkdtemp(prefix='odsock-')
        if self.run is None and self.log:
            os.makedirs(os.path.dirname(self.log), exist_ok=True)
        if self.lan_sock:
            lan.ensure_dir(self.lan_sock)
            lan.start(self.lan_sock)
        if self.new_disk:
            disk.create(self.disk)
        if self.run is None:
            return
        os.mkdir(self.stage, 0o700)     # a new name: fails rather than use anything already there
        self.made_stage = True
        spec_path, sock_path = self.paths()
        with open(spec_path, 'w') as f:
            f.write(self.spec_json())
        self.spec.stage_files()
        if self.log:
            os.makedirs(os.path.dirname(os.path.abspath(self.log)), exist_ok=True)
        # We listen first and QEMU connects: nothing the guest writes can be lost before we are there.
        self.lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.lsock.bind(sock_path)
        self.lsock.listen(1)

    def launch(self):
        """Boot: QEMU in this process's place, or with --docker-socket as a child beside the
        forwarding ssh (wait() then waits for it). --run: QEMU as a child, returning once it
        connected to the run port (self.proc, self.conn)."""
        cmd = self.argv()
        if self.run is None and not self.o.docker_socket:
            os.execvp(cmd[0], cmd)
        if self.run is None:
            # The same process group and terminal as ours: the console is QEMU's stdio as always.
            self.proc = subprocess.Popen(cmd, preexec_fn=pdeathsig)
            fwd = sockfwd.argv(self.o.docker_socket, self.o.ssh_port, sockfwd.identities(self.o.ssh_key),
                               os.path.join(self.fwd_dir, 'known_hosts'))
            self.forwarder = sockfwd.Forwarder(fwd, self.o.docker_socket)
            self.forwarder.start()
            return
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=pdeathsig)
        self.lsock.settimeout(1)
        while self.conn is None:
            try:
                self.conn, _ = self.lsock.accept()
            except socket.timeout:
                if self.proc.poll() is not None:
                    die('QEMU exited (status %d) before the appliance started%s'
                        % (self.proc.returncode, '' if self.log is None else '; its console: %s' % self.log), EXIT_OWN)
        self.lsock.close()
        self.lsock = None

    def wait(self):
        """QEMU's exit status, once it exits. The signals that would have ended an exec'd QEMU
        are passed on to it, and it decides; the forward ends with it (cleanup())."""
        def relay(sig, _frame):
            if self.proc.poll() is None:
                self.proc.send_signal(sig)
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            signal.signal(sig, relay)
        return self.proc.wait()

    def shutdown_deadline(self):
        """The guest's own shutdown deadline (od.shutdown.timeout=, 30 s unless --append says)."""
        deadline = re.findall(r'(?:^| )od\.shutdown\.timeout=(\d+)', ''.join(' ' + a for a in self.o.append))
        return int(deadline[-1] if deadline else 30)

    def cleanup(self):
        """Removes what prepare() made for the run (never the disk, nor the switch: it goes by itself)."""
        for s in (self.lsock, self.conn):
            if s is not None:
                s.close()
        self.lsock = self.conn = None
        if self.forwarder is not None:
            self.forwarder.stop()
            self.forwarder = None
        if self.fwd_dir is not None:
            shutil.rmtree(self.fwd_dir, ignore_errors=True)
            self.fwd_dir = None
        if self.spec is not None:
            self.spec.unstage()
        if self.made_stage:
            shutil.rmtree(self.stage, ignore_errors=True)
            self.made_stage = False
