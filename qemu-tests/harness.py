"""End-to-end test harness: boots the appliance with ../kvm under QEMU, records the serial console,
types commands into the console shell and talks QMP. Python 3 standard library only.
Host requirements: qemu-system-x86, e2fsprogs (mkfs.ext4), python3.

    with Appliance() as vm:                      # boots at once, fresh 1 GiB data disk
        vm.wait_for(r'onlydocker: .*init')       # regex on the console, raises on timeout
        out, status = vm.run('uname -r')         # a command in the console's shell
        vm.qmp('system_powerdown'); vm.wait_event('POWERDOWN')
        assert vm.wait_exit(60) == 0

Outputs: build/qemu-tests/<name>/{console.log,qmp.sock,docker.img}.
Environment: QEMU_ACCEL (default tcg), QEMU_KERNEL / QEMU_INITRD (default: ./kvm's build/ paths).
"""
import atexit
import bisect
import codecs
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, 'build', 'qemu-tests')
TAIL_LINES = 30
# Shell: the PID of the dockerd that init started (its helpers re-executed as "dockerd" have
# other parents), for run() on the debug shell or in dom0 (which shares the host's PIDs).
DOCKERD_PID = '$(for p in $(pidof dockerd); do [ "$(cut -d" " -f4 /proc/$p/stat)" = 1 ] && echo $p; done)'
# Shell: a PID inside dom0 (its docker CLI can be borrowed with nsenter -t PID -m from the debug shell).
DOM0_PID = ('for p in /proc/[0-9]*; do [ -e $p/root/etc/dom0-release ] && [ -x $p/root/usr/bin/docker ] '
            '&& { echo ${p#/proc/}; break; }; done')
# dom0's entrypoint prints this just before its shell's prompt.
DOM0_BANNER = r'onlydocker dom0 \S+ ready'
# Detached dom0 (the debug shell has the console) with no ssh key: the one line its entrypoint
# writes to the console, at a moment of its own. Wait for it before a debug-shell command whose
# output is checked, or it can land inside that output.
DOM0_DETACHED = r'dom0: ssh: no authorized key .*nothing listens on port 22'
# A whole line of init's log as it reaches the console (init writes each line in one write(2),
# so it lands between the shell's lines, never inside one).
INIT_LINE = re.compile(r'^onlydocker: \[ *\d+\.\d+\] .*\n', re.M)



class TestRun:
    """What the running test started. run.py calls begin() before each test; every Guest registers
    here, so a failure report shows this test's console and nothing outlives the test."""

    def __init__(self):
        self.test = None        # "file.test", the default name of a guest made inside a test
        self.guests = []        # every guest started since begin()
        self.last = None        # the most recently started one, whose console run.py shows on failure
        self.live = set()       # those not yet killed or exited
        self._names = set()     # every name given out in this process, so directories never clash

    def begin(self, test):
        self.test, self.last = test, None
        del self.guests[:]

    def unique(self, name):
        base, n = name, 1
        while name in self._names:
            n += 1
            name = '%s-%d' % (base, n)
        self._names.add(name)
        return name

    def started(self, guest):
        self.guests.append(guest)
        self.live.add(guest)
        self.last = guest

    def stopped(self, guest):
        self.live.discard(guest)

    def kernel_died_before_init(self):
        """The console log of this test's guest whose kernel crashed as the emulated machine does, or
        None: a panic before it ran /init (seen in CI under TCG, in sched_clock_cpu at 1.5 s), or an
        int3 oops, the breakpoint the kernel plants while it patches its own code (static keys:
        the first cgroup, the first receive-timestamp socket), which another vCPU under TCG can
        hit (seen in CI at 2.3 s, right after init made its first cgroup). Not our code's."""
        for g in self.guests:
            text = g.console_text()
            if died_before_init(text) or 'Oops: int3' in text:
                return g.console_log
        return None

    def kill_all(self, keep=None):
        """Kill every guest still running, but `keep`."""
        for g in list(self.live):
            if g is not keep:
                g.kill()


TEST = TestRun()
atexit.register(TEST.kill_all)


class ApplianceError(AssertionError):
    """A wait that timed out or a VM that died; the message carries the expectation and the console tail."""


def make_seed(path, user_data, meta_data='instance-id: onlydocker-test\n', label='cidata', fs='iso9660'):
    """A NoCloud seed as cloud-init's tools make it: an iso9660 (xorriso) or vfat (mkfs.vfat and
    mcopy) filesystem labelled cidata holding user-data and meta-data. Returns the QEMU arguments
    that attach it read-only on virtio-blk."""
    d = path + '.d'
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for name, text in (('user-data', user_data), ('meta-data', meta_data)):
        with open(os.path.join(d, name), 'w') as f:
            f.write(text)
    if fs == 'vfat':
        with open(path, 'wb') as f:
            f.truncate(2 << 20)
        subprocess.run(['mkfs.vfat', '-n', label, path], check=True, stdin=subprocess.DEVNULL, capture_output=True)
        subprocess.run(['mcopy', '-i', path, os.path.join(d, 'user-data'), os.path.join(d, 'meta-data'), '::'],
                       check=True, stdin=subprocess.DEVNULL, capture_output=True)
    else:
        subprocess.run(['xorriso', '-as', 'mkisofs', '-quiet', '-V', label, '-J', '-r', '-o', path, d], check=True,
                       stdin=subprocess.DEVNULL, capture_output=True)
    shutil.rmtree(d)
    return ['-drive', 'file=%s,format=raw,if=virtio,readonly=on' % path]


def make_disk(path, size=1 << 30, files=None):
    """A sparse ext4 image labelled DOCKER, like ./kvm's data disk but smaller; replaces `path`.
    files: {relative path: text or bytes} to put on it (mkfs.ext4 -d), e.g. {'onlydocker/daemon.json': ...}."""
    tmp = path + '.tmp'
    with open(tmp, 'wb') as f:
        f.truncate(size)
    cmd = ['mkfs.ext4', '-q', '-F', '-L', 'DOCKER', '-E', 'lazy_itable_init=1,lazy_journal_init=1']
    with tempfile.TemporaryDirectory() as root:
        for rel, text in (files or {}).items():
            os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
            with open(os.path.join(root, rel), 'wb' if isinstance(text, bytes) else 'w') as f:
                f.write(text)
        subprocess.run(cmd + (['-d', root] if files else []) + [tmp], check=True)
    os.replace(tmp, path)
    return path


class Guest:
    """One ./kvm process with a directory of its own, build/qemu-tests/<name>/, holding its
    console.log; registered with TEST. Appliance (the console and QMP) and KvmRun (kvm --run, a
    process with streams and a status) are the two kinds."""

    def __init__(self, name, default):
        self.name = TEST.unique(name or TEST.test or default)
        self.dir = os.path.join(OUT, self.name)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.console_log = os.path.join(self.dir, 'console.log')
        self.proc = None

    @staticmethod
    def kvm(*args):
        """./kvm's command line, with the accelerator the tests run under ($QEMU_ACCEL, else tcg)."""
        return [os.path.join(ROOT, 'kvm'), '--accel', os.environ.get('QEMU_ACCEL', 'tcg'), *args]

    def _start(self, cmd, **popen):
        self.command = cmd
        self.proc = subprocess.Popen(cmd, **popen)
        TEST.started(self)

    def console_text(self):
        """The console so far (read from its log)."""
        try:
            with open(self.console_log, 'rb') as f:
                return f.read().decode(errors='replace').replace('\r', '')
        except OSError:
            return ''

    def tail(self, n=TAIL_LINES):
        """The last n console lines, terminal escapes and control characters left out."""
        lines = self.console_text().rstrip('\n').split('\n')[-n:]
        return re.sub(r'\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f]', '', '\n'.join(lines))

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        if self.running():
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait()
        TEST.stopped(self)


class Appliance(Guest):
    """One QEMU run of the appliance. Starts in the constructor; use as a context manager.

    name:    directory under build/qemu-tests (default: the running test's name); made unique per run
    disk:    None = a fresh 1 GiB data disk in that directory, a path = use that image as is,
             False = no data disk;  disk_files: {path: text} on the fresh disk (make_disk's files)
    append:  extra kernel command line;  mem: MiB;  smp: CPUs;  net: 'restricted' | 'user' | 'none'
    kernel, initrd: override the images (else $QEMU_KERNEL / $QEMU_INITRD, else ./kvm's defaults)
    lan, mac: a NIC on ./kvm's private segment `lan` (shared with the other Appliances given the same
             name), with this MAC address
    ssh_port: ./kvm --ssh-port (127.0.0.1:ssh_port to dom0's sshd);  ssh_keys: --ssh-key files
    docker_socket: ./kvm --docker-socket (then the process started is kvm, QEMU its child)
    config:  ./kvm --config: a configuration document's text (written to the test's directory)
    qemu_args: extra arguments passed through to qemu-system-x86_64
    """

    def __init__(self, name=None, disk=None, append='', mem=None, smp=None, net='restricted',
                 kernel=None, initrd=None, qemu_args=(), lan=None, mac=None, engine=None, ssh_port=None,
                 ssh_keys=(), disk_files=None, docker_socket=None, config=None):
        super().__init__(name, 'appliance')
        self.qmp_path = os.path.join(self.dir, 'qmp.sock')
        if len(self.qmp_path.encode()) > 100:   # sun_path holds 108 bytes
            self.qmp_path = os.path.join(tempfile.mkdtemp(prefix='odqmp-'), 'qmp.sock')
        if disk is None:
            disk = make_disk(os.path.join(self.dir, 'docker.img'), files=disk_files)
        self.disk = disk or None
        self.text = ''              # the console so far, decoded, with '\r' removed
        self.pos = 0                # where the next wait_for() starts searching
        self.events = []            # QMP events, in arrival order
        self._arrived = ([], [])    # (len(self.text) after each console chunk, host time it arrived)
        self._cond = threading.Condition()
        self._eof = False
        self._qmp_sock = None
        self._qmp_replies = []
        self._qmp_lock = threading.Lock()

        cmd = self.kvm('--net', net, '--qmp', self.qmp_path, '--disk', self.disk or 'none')
        kernel = kernel or os.environ.get('QEMU_KERNEL')
        initrd = initrd or os.environ.get('QEMU_INITRD')
        for opt, val in (('--kernel', kernel), ('--initrd', initrd), ('--engine', engine), ('--mem', mem),
                         ('--smp', smp), ('--append', append), ('--lan', lan), ('--mac', mac),
                         ('--ssh-port', ssh_port), ('--docker-socket', docker_socket)):
            if val:
                cmd += [opt, str(val)]
        for f in ssh_keys:
            cmd += ['--ssh-key', f]
        if config is not None:
            path = os.path.join(self.dir, 'config.yaml')
            with open(path, 'w') as f:
                f.write(config)
            cmd += ['--config', path]
        if qemu_args:
            cmd += ['--', *qemu_args]
        self._log = open(self.console_log, 'wb')
        self.started = time.monotonic()   # host clock, just before QEMU starts (see seen_at)
        # stderr joins the console so that ./kvm's and QEMU's own errors show in failure reports.
        self._start(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                    start_new_session=True)
        self._reader = threading.Thread(target=self._read_console, daemon=True)
        self._reader.start()
        try:
            self._qmp_connect(timeout=30)
        except BaseException:
            self.kill()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()

    # --- console -------------------------------------------------------------------------
    def _read_console(self):
        decoder = codecs.getincrementaldecoder('utf-8')(errors='replace')
        fd = self.proc.stdout.fileno()
        while True:
            data = os.read(fd, 65536)
            now = time.monotonic()
            if not self._log.closed:
                self._log.write(data)
                self._log.flush()
            with self._cond:
                self.text += decoder.decode(data, final=not data).replace('\r', '')
                self._arrived[0].append(len(self.text))
                self._arrived[1].append(now)
                if not data:
                    self._eof = True
                self._cond.notify_all()
            if not data:
                return

    def init_lines(self, n=15):
        """init's last n log lines on the console (those after the last one may be cut off)."""
        with self._cond:
            lines = re.findall(r'onlydocker: \[ *[0-9.]+\] .*', self.text)[-n:]
        return re.sub(r'\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f]', '', '\n'.join(lines))

    def _fail(self, what):
        rc = self.proc.poll()
        state = '' if rc is None else ' (QEMU exited with code %s)' % rc
        # init's own lines first: a kernel or shell flood in the tail must not hide what init said.
        raise ApplianceError('%s%s\n--- init\'s last lines ---\n%s\n--- last %d console lines (%s) ---\n%s'
                             % (what, state, self.init_lines(), TAIL_LINES, self.console_log, self.tail()))

    def wait_for(self, pattern, timeout=120, since=None):
        """Wait until regex `pattern` (re.MULTILINE) appears in the console after position `since`
        (default: the end of the previous wait_for/run match); return the re.Match on vm.text."""
        rx = re.compile(pattern, re.M)
        start = self.pos if since is None else since
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                m = rx.search(self.text, start)
                if m:
                    self.pos = m.end()
                    return m
                left = deadline - time.monotonic()
                if self._eof or left <= 0:
                    break
                self._cond.wait(left)
        self._fail('expected /%s/ on the console within %gs' % (pattern, timeout))

    def seen_at(self, pos):
        """The host time (time.monotonic()) at which console text position `pos` was read, e.g.
        vm.seen_at(m.end() - 1) for when a wait_for match was complete."""
        with self._cond:
            i = bisect.bisect_right(self._arrived[0], pos)
            return self._arrived[1][min(i, len(self._arrived[1]) - 1)]

    def upgrade_dom0(self, version):
        """The dom0 upgrade as a user makes it: a new image built in dom0 from the bundled one with
        DOM0_VERSION=version, tagged with dom0's reference, then `exit` in its shell. Returns the
        console position before the exit, for the caller's waits (the new banner names version)."""
        self.run("mkdir -p /tmp/up && printf 'FROM onlydocker/dom0:bundled\\nRUN sed -i "
                 "s/^DOM0_VERSION=.*/DOM0_VERSION=%s/ /etc/dom0-release\\n' > /tmp/up/Dockerfile && "
                 "DOCKER_BUILDKIT=0 docker build -q -t onlydocker/dom0:latest /tmp/up" % version, check=True, timeout=180)
        mark = len(self.text)
        self.send('exit\n')
        return mark

    def send(self, data):
        """Type raw text (or bytes) on the console."""
        if isinstance(data, str):
            data = data.encode()
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            self._fail('cannot type %r: QEMU is gone' % data[:40])

    def _sync(self, deadline):
        """Make sure a shell reads the console: input typed while it starts may be dropped."""
        wait = 2.0
        while True:
            tag = uuid.uuid4().hex[:12]
            mark = len(self.text)
            # the marker is printed joined, so the echo of the typed line can never match it
            self.send("printf '%%s_%%s\\n' __Y %s\n" % tag)
            try:
                # not anchored: on a plain line (no echo but the newline) it may follow the prompt
                self.wait_for(r'__Y_%s\n' % tag, max(0.1, min(wait, deadline - time.monotonic())),
                              since=mark)
                return
            except ApplianceError:
                if self._eof or time.monotonic() >= deadline:
                    raise
            self.send('\x03')   # drop a half-typed or half-quoted line before trying again
            wait *= 2

    def run(self, cmd, timeout=60, check=False):
        """Run `cmd` in the shell on the console; return (output, exit status).
        The output is what the command printed (stdout and stderr, '\r' removed). Init's own log
        lines, which it writes to the same console whenever something happens, are taken out;
        kernel messages on the console may still be mixed in. The command's stdin is the console: give it </dev/null
        if it reads. check=True raises when the status is not 0."""
        deadline = time.monotonic() + timeout
        self._sync(deadline)
        tag = uuid.uuid4().hex[:12]
        quoted = "'" + cmd.replace("'", "'\\''") + "'"
        line = ("printf '%%s_%%s\\n' __S %s; eval %s; printf '%%s_%%s %%s\\n' __E %s \"$?\"\n"
                % (tag, quoted, tag))
        if len(line) > 1000:   # the shell's line editor cuts longer lines
            raise ValueError('command too long for the console (%d bytes): put it in a file' % len(line))
        mark = len(self.text)
        self.send(line)
        left = lambda: max(0.1, deadline - time.monotonic())
        try:
            start = self.wait_for(r'__S_%s\n' % tag, left(), since=mark)   # joined: never the echo
            end = self.wait_for(r'__E_%s (\d+)\n' % tag, left(), since=start.end())
        except ApplianceError as e:
            raise ApplianceError('run(%r) did not finish within %gs: %s' % (cmd, timeout, e)) from None
        out, status = INIT_LINE.sub('', self.text[start.end():end.start()]), int(end.group(1))
        if check and status != 0:
            self._fail('run(%r) exited %d, printing:\n%s' % (cmd, status, out))
        return out, status

    # --- QMP -----------------------------------------------------------------------------
    def _qmp_connect(self, timeout):
        deadline = time.monotonic() + timeout
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        while True:   # QEMU creates the socket while it starts: no event to wait for but this
            try:
                sock.connect(self.qmp_path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    sock.close()
                    self._reader.join(5)
                    self._fail('QMP socket %s never came up' % self.qmp_path)
                time.sleep(0.05)
        self._qmp_sock = sock
        self._qmp_file = sock.makefile('rb')
        threading.Thread(target=self._read_qmp, daemon=True).start()
        self.qmp('qmp_capabilities', timeout=timeout)

    def _read_qmp(self):
        try:
            for raw in self._qmp_file:
                msg = json.loads(raw)
                with self._cond:
                    (self.events if 'event' in msg else self._qmp_replies).append(msg)
                    self._cond.notify_all()
        except (OSError, ValueError):   # QEMU killed, or the socket closed under us
            pass
        with self._cond:
            self._qmp_replies.append(None)   # EOF: QEMU closed the monitor
            self._cond.notify_all()

    def qmp(self, command, arguments=None, timeout=30, **kwargs):
        """Execute a QMP command and return its 'return' value; raises on a QMP error.
        Arguments as a dict (for names with '-') or as keywords. The greeting and the
        qmp_capabilities handshake are done at start; 'quit' tolerates the monitor closing."""
        args = dict(arguments or {}, **kwargs)
        msg = {'execute': command}
        if args:
            msg['arguments'] = args
        with self._qmp_lock:
            with self._cond:
                del self._qmp_replies[:]
            self._qmp_sock.sendall(json.dumps(msg).encode() + b'\n')
            deadline = time.monotonic() + timeout
            with self._cond:
                while True:
                    for i, r in enumerate(self._qmp_replies):
                        if r is None or 'return' in r or 'error' in r:
                            del self._qmp_replies[:i + 1]
                            break
                    else:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            self._fail('no QMP reply to %s within %gs' % (command, timeout))
                        self._cond.wait(left)
                        continue
                    break
        if r is None:
            if command == 'quit':
                return {}
            self._fail('QMP closed while waiting for the reply to %s' % command)
        if 'error' in r:
            raise ApplianceError('QMP %s failed: %s' % (command, r['error'].get('desc', r['error'])))
        return r['return']

    def send_keys(self, combo):
        """Press a key combination on the PS/2 keyboard, e.g. 'ctrl-alt-delete' (QEMU qcodes)."""
        keys = [{'type': 'qcode', 'data': k} for k in combo.split('-')]
        return self.qmp('send-key', keys=keys)

    def wait_event(self, name, timeout=60, since=0):
        """Wait for the QMP event `name` (e.g. POWERDOWN, SHUTDOWN, RESET) at index >= since of
        vm.events; return the event dict."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for ev in self.events[since:]:
                    if ev['event'] == name:
                        return ev
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
        self._fail('expected QMP event %s within %gs (got %s)'
                   % (name, timeout, [e['event'] for e in self.events]))

    # --- lifetime ------------------------------------------------------------------------
    def console_text(self):
        with self._cond:
            return self.text

    def wait_exit(self, timeout=60):
        """Wait for QEMU to exit; return its exit code (0 after a guest poweroff)."""
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._fail('expected QEMU to exit within %gs' % timeout)
        self._reader.join(5)   # the console's last bytes
        self._close()
        return rc

    def kill(self):
        """Stop QEMU now (no guest shutdown) and release everything; safe to call twice."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait()
        self._reader.join(5)
        self._close()
        self.proc.stdout.close()

    def _close(self):
        TEST.stopped(self)
        for f in (self.proc.stdin, self._qmp_sock):
            try:
                f and f.close()
            except OSError:
                pass
        self._log.close()


class KvmRun(Guest):
    """One `./kvm --run ...`: a container as a process, whose stdout, stderr and status are the
    test's to read; its console goes to console.log. disk: a path, else a fresh one in its directory."""

    def __init__(self, run_args, disk=None, name=None, stdin=subprocess.DEVNULL, merge=False, kvm_args=()):
        super().__init__(name, 'run')
        self.disk = disk or make_disk(os.path.join(self.dir, 'docker.img'))
        self.log = self.console_log
        self.out = self.err = b''
        self._start(self.kvm('--net', 'restricted', '--disk', self.disk, '--log', self.log, *kvm_args,
                             '--run', *run_args),
                    stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT if merge else subprocess.PIPE)

    def console(self, n=25):
        return '\n'.join(self.console_text().split('\n')[-n:]) or '(no console log)'

    def why(self, what):
        return '%s\n--- console (%s) ---\n%s' % (what, self.log, self.console())

    def wait_output(self, pattern, timeout=180, stream='out'):
        """Read stdout (or stderr) until regex `pattern` shows, e.g. the container saying it is ready."""
        deadline = time.monotonic() + timeout
        f = self.proc.stdout if stream == 'out' else self.proc.stderr
        while not re.search(pattern.encode(), getattr(self, stream)):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([f.fileno()], [], [], left)[0]:
                raise AssertionError(self.why('no /%s/ on std%s within %ds: %r'
                                              % (pattern, stream, timeout, getattr(self, stream)[-300:])))
            data = os.read(f.fileno(), 65536)
            if not data:
                raise AssertionError(self.why('std%s ended before /%s/' % (stream, pattern)))
            setattr(self, stream, getattr(self, stream) + data)

    def finish(self, timeout=240):
        """Wait for the command; returns (status, stdout, stderr)."""
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            raise AssertionError(self.why('kvm --run still running after %ds' % timeout))
        finally:
            TEST.stopped(self)
        return self.proc.returncode, self.out + out, self.err + (err or b'')


def died_before_init(text):
    """Whether a console shows the kernel panicking before it ran /init."""
    panic = text.find('Kernel panic')
    return panic >= 0 and 'Run /init as init process' not in text[:panic]
