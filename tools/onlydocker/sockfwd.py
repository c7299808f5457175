"""--docker-socket PATH: the appliance's engine at a unix socket on this machine (colima's way),
forwarded by the host's OpenSSH client over dom0's sshd (`ssh -N -L PATH:/var/run/docker.sock`).
check() vets PATH, argv() is the ssh command (no side effects), Forwarder keeps one ssh running
while QEMU runs (again when it ends: sshd answers only once dom0 is up) and removes PATH after."""
import os
import socket
import stat
import subprocess
import threading

from .base import die, warn

REMOTE = '/var/run/docker.sock'     # dom0's link to the engine's socket (images/dom0/profile)
SUN_PATH_MAX = 107                  # sockaddr_un's sun_path holds 108 bytes with the NUL
RETRY_FIRST_S, RETRY_MAX_S = 1, 10  # between tries while dom0 boots; a refused key waits the longest


def check(path):
    """PATH made absolute; dies unless it can become our socket without losing anything: its
    directory exists, the name fits a socket address, and nothing is there but a dead socket."""
    path = os.path.abspath(path)
    if len(path.encode()) > SUN_PATH_MAX:
        die("--docker-socket '%s' is too long for a unix socket (at most %d bytes)" % (path, SUN_PATH_MAX))
    if not os.path.isdir(os.path.dirname(path)):
        die("--docker-socket '%s': directory %s does not exist" % (path, os.path.dirname(path)))
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return path
    except OSError as e:
        die("--docker-socket '%s': %s" % (path, e.strerror))
    if not stat.S_ISSOCK(st.st_mode):
        die("--docker-socket '%s' exists and is not a socket: refusing to replace it" % path)
    if alive(path):
        die("--docker-socket '%s' is in use (something answers on it: another appliance?)" % path)
    return path


def alive(path):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(2)
        try:
            s.connect(path)
            return True
        except OSError:
            return False


def identities(key_files):
    """The private keys beside the --ssh-key public ones (FILE.pub -> FILE), for ssh -i."""
    return [f[:-4] for f in key_files if f.endswith('.pub') and os.path.isfile(f[:-4])]


def argv(path, port, idents, known_hosts):
    """The forwarding ssh. known_hosts: this run's own file, so the first connection's host key
    (the appliance's: only QEMU, which kvm started, can hold the port) is the one every reconnection
    must show; the user's known_hosts is neither read nor written."""
    cmd = ['ssh', '-N', '-T', '-n', '-p', str(port)]
    for i in idents:
        cmd += ['-i', i]
    for opt in ('BatchMode=yes', 'ExitOnForwardFailure=yes', 'StreamLocalBindUnlink=yes', 'StreamLocalBindMask=0177',
                'ServerAliveInterval=5', 'ServerAliveCountMax=3', 'ConnectTimeout=20', 'ControlMaster=no',
                'ControlPath=none', 'StrictHostKeyChecking=accept-new', 'UserKnownHostsFile=' + known_hosts,
                'GlobalKnownHostsFile=/dev/null', 'LogLevel=ERROR'):
        cmd += ['-o', opt]
    return cmd + ['-L', '%s:%s' % (path, REMOTE), 'root@127.0.0.1']


class Forwarder:
    """One ssh at a time, started again (after RETRY_FIRST_S, doubling to RETRY_MAX_S) whenever it
    ends, until stop(). Its errors are kept, not printed (the console shares this terminal), but
    a refusal of every key is said once, since it will not mend by itself."""

    def __init__(self, cmd, path, spawn=subprocess.Popen, delays=(RETRY_FIRST_S, RETRY_MAX_S)):
        self.cmd, self.path, self.spawn = cmd, path, spawn
        self.first, self.max = delays
        self.proc = None
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.said_refused = False
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def start(self):
        self.thread.start()

    def loop(self):
        delay = self.first
        while not self.stopping.is_set():
            with self.lock:
                if self.stopping.is_set():
                    return
                self.proc = self.spawn(self.cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE)
            err = self.proc.stderr.read().decode('utf-8', 'replace')
            self.proc.wait()
            if 'Permission denied' in err and not self.said_refused:
                self.said_refused = True
                warn('--docker-socket: dom0 refused every key ssh offered (give --ssh-key with a key whose '
                     'private half is beside it, or add yours to dom0); trying again every %d s' % self.max)
            # sshd is not up yet (QEMU accepts and the guest closes), or the link dropped: once
            # more, a little later. No event says when dom0's sshd is up, so this is a bounded poll.
            if self.stopping.wait(delay):
                return
            delay = min(delay * 2, self.max)

    def stop(self):
        """Ends ssh and takes its socket away (ssh leaves it behind when killed)."""
        with self.lock:
            self.stopping.set()
            if self.proc is not None and self.proc.poll() is None:
                self.proc.terminate()
        if self.thread.is_alive():
            self.thread.join(10)
        try:
            if stat.S_ISSOCK(os.lstat(self.path).st_mode):
                os.unlink(self.path)
        except OSError:
            pass
