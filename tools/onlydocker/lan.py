"""--lan: the private segment appliances share. Owns the switch's socket path, the NIC's address
and QEMU arguments, starting the switch (start(), from Machine.prepare()) and the switch itself.

Decision (issue 16): we keep our own switch rather than Debian's vde2 `vde_switch`. Ours is about
80 lines of Python and needs nothing on the host beyond python3; it is a learning switch speaking
QEMU's `-netdev stream` framing (each Ethernet frame preceded by its 32-bit big-endian length) on a
unix socket, and it goes away by itself IDLE_S after its last appliance left, which is the life
--lan promises. vde_switch would add a host package (vde2) and QEMU's VDE support, and it never
exits by itself: kvm would still have to start it once per segment, race-free, and stop it after
the last client, i.e. keep most of this file. tools/tests/test_lan.py tests ours."""
import fcntl
import hashlib
import os
import selectors
import socket
import struct
import subprocess
import sys
import time

from .base import ROOT, die, qesc

IDLE_S = 10     # a switch with no appliance left for this long goes away


def socket_path(name):
    """Where the segment's switch listens: a directory of this user's, kept short (sun_path is 108 bytes).
    Only the path: ensure_dir() makes the directory."""
    d = os.path.join(os.environ.get('XDG_RUNTIME_DIR') or '/tmp', 'onlydocker-%d' % os.getuid())
    return os.path.join(d, 'lan-%s.sock' % name)


def ensure_dir(sock):
    d = os.path.dirname(sock)
    os.makedirs(d, mode=0o700, exist_ok=True)
    if os.stat(d).st_uid != os.getuid():
        die('%s belongs to someone else: not using it for --lan' % d)


def mac_for(seed):
    """A stable locally administered-looking QEMU address (52:54:00:...) made from the appliance's name."""
    return '52:54:00:' + ':'.join('%02x' % b for b in hashlib.sha256(seed.encode()).digest()[:3])


def args(sock, mac):
    """A NIC on the segment: QEMU's stream netdev, connected to the switch's unix socket."""
    return ['-netdev', 'stream,id=lan,server=off,addr.type=unix,addr.path=%s' % qesc(sock),
            '-device', 'virtio-net-pci,netdev=lan,mac=%s' % mac]


def start(sock, idle_s=None):
    """Starts the segment's switch unless one answers; returns once it listens."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(sock)
        return                          # a switch is there (the probe counts as a client that left)
    except OSError:
        pass
    finally:
        probe.close()
    r, w = os.pipe()
    subprocess.Popen([sys.executable, os.path.join(ROOT, 'kvm'), '--lan-hub', sock, str(w)]
                     + ([] if idle_s is None else [str(idle_s)]), pass_fds=[w],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True)
    os.close(w)
    with os.fdopen(r, 'rb') as f:
        said = f.read(64)       # the switch writes once it listens, or exits saying why
    if said != b'ok':
        die('--lan: the hub on %s did not start: %s' % (sock, said.decode(errors='replace') or 'no reason given'))


def hub(sock, ready_fd, idle_s=IDLE_S):
    """The segment: a learning switch between the appliances' stream netdevs (frames with a 32-bit
    big-endian length before each). It has no port of its own and routes nowhere."""
    idle_s = float(idle_s)
    ready = os.fdopen(int(ready_fd), 'wb', buffering=0)
    lock = open(sock + '.lock', 'a')
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        ready.write(b'ok')              # another switch is starting on this path: it serves
        return 0
    try:
        os.unlink(sock)
    except FileNotFoundError:
        pass
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ls.bind(sock)
    ls.listen(64)
    ls.setblocking(False)
    ready.write(b'ok')
    ready.close()
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ, None)
    ports = {}          # socket -> receive buffer
    where = {}          # MAC -> the socket it was last seen on
    idle_since = time.monotonic()
    while True:
        if not ports and time.monotonic() - idle_since > idle_s:
            break
        for key, _ in sel.select(min(1.0, idle_s)):
            # Every appliance that connected before a frame was sent is a port when it is sent on.
            while True:
                try:
                    c, _ = ls.accept()
                except BlockingIOError:
                    break
                c.setblocking(True)
                c.settimeout(5)         # a peer that stops reading must not stop the segment
                ports[c] = b''
                sel.register(c, selectors.EVENT_READ, 'port')
            if key.data is None:
                continue
            c = key.fileobj
            try:
                data = c.recv(1 << 16)
            except OSError:
                data = b''
            if not data:
                sel.unregister(c)
                del ports[c]
                c.close()
                for mac in [m for m, p in where.items() if p is c]:
                    del where[mac]
                if not ports:
                    idle_since = time.monotonic()
                continue
            buf = ports[c] + data
            while len(buf) >= 4:
                n = struct.unpack('>I', buf[:4])[0]
                if len(buf) < 4 + n:
                    break
                pkt, buf = buf[:4 + n], buf[4 + n:]
                if n >= 14:
                    dst, src = pkt[4:10], pkt[10:16]
                    if not src[0] & 1:
                        where[src] = c
                    out = [where[dst]] if dst in where and not dst[0] & 1 else [p for p in ports if p is not c]
                    for p in out:
                        if p is not c:
                            try:
                                p.sendall(pkt)
                            except OSError:
                                pass    # it is leaving; its recv will say so
            ports[c] = buf
    try:
        os.unlink(sock)
    except FileNotFoundError:
        pass
    ls.close()
    lock.close()
    return 0
