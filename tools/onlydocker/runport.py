"""The host side of --run's port (init's runport.c): its frames (type, 3 zero bytes, 32-bit
big-endian length, as docker frames attach streams) and the Relay between them and this process's
stdin, stdout, stderr, signals and exit status."""
import collections
import ctypes
import os
import selectors
import signal
import struct
import sys
import time

from .base import warn
from .shared import (EXIT_OWN, F_ERROR, F_EXIT, F_KILL, F_STDERR, F_STDIN, F_STDOUT, F_STOP, F_TAKEN, FRAME_MAX,
                     STDIN_WINDOW)


def frame(kind, data=b''):
    return struct.pack('>B3xI', kind, len(data)) + data


def decode(buf):
    """([(type, payload)...], the rest): the whole frames at the start of buf, and what follows them."""
    frames = []
    while len(buf) >= 8:
        kind, n = struct.unpack('>B3xI', buf[:8])
        if len(buf) < 8 + n:
            break
        frames.append((kind, buf[8:8 + n]))
        buf = buf[8 + n:]
    return frames, buf


def pdeathsig():
    """QEMU dies with us: it is in its own process group (Ctrl-C is ours to relay), so make sure."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)   # PR_SET_PDEATHSIG
    except OSError:
        pass


class Relay:
    """The host side of the run port: frames from the guest to our stdout/stderr, our stdin and
    the stop requests to the guest, QEMU's exit, and the status to exit with."""

    def __init__(self, conn, qemu, interactive, shutdown_wait):
        self.conn, self.qemu, self.shutdown_wait = conn, qemu, shutdown_wait
        # poll, not epoll: epoll refuses a regular file or /dev/zero as stdin, poll finds it always ready.
        self.sel = selectors.PollSelector()
        self.inbuf = b''
        # To the guest: the frame being written, then control frames, then stdin frames, so a
        # STOP or KILL overtakes queued input at the next frame boundary.
        self.cur, self.ctrl, self.data = b'', b'', collections.deque()
        self.unacked = 0                # stdin sent that the guest has not yet said it took
        self.status = None
        self.errors = []
        self.signals = 0
        self.qemu_gone = False
        self.conn.setblocking(False)
        self.sel.register(conn, selectors.EVENT_READ, 'conn')
        self.stdin = sys.stdin.buffer.raw if interactive else None
        if self.stdin is not None:
            os.set_blocking(self.stdin.fileno(), False)
            self.sel.register(self.stdin, selectors.EVENT_READ, 'stdin')
        self.wake_r, self.wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self.sel.register(self.wake_r, selectors.EVENT_READ, 'wake')
        signal.set_wakeup_fd(self.wake_w)
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
            signal.signal(s, self.on_signal)

    def on_signal(self, sig, _frame):
        if sig == signal.SIGCHLD:
            return
        self.signals += 1
        if self.signals == 1:
            warn('stopping the container (%s again to kill it)' % signal.Signals(sig).name)
            self.send(frame(F_STOP, signal.Signals(sig).name.encode()), control=True)
        elif self.signals == 2:
            warn('killing the container')
            self.send(frame(F_KILL), control=True)
        else:
            warn('stopping the appliance now')
            self.qemu.kill()

    def send(self, data, control=False):
        if control:
            self.ctrl += data
        else:
            self.data.append(data)
        self.flush()

    def flush(self):
        try:
            while True:
                if not self.cur:
                    if self.ctrl:
                        self.cur, self.ctrl = self.ctrl, b''
                    elif self.data:
                        self.cur = self.data.popleft()
                    else:
                        break
                n = self.conn.send(self.cur)
                self.cur = self.cur[n:]
        except BlockingIOError:
            pass
        except OSError:
            self.cur, self.ctrl = b'', b''      # the guest side is gone; nothing more to tell it
            self.data.clear()
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if self.cur else 0)
        try:
            self.sel.modify(self.conn, events, 'conn')
        except (KeyError, ValueError):
            pass

    def stdin_window(self):
        """Read stdin only while the guest has room for it (the window): flow control by credit."""
        if self.stdin is None:
            return
        want = self.unacked < STDIN_WINDOW
        have = self.stdin in [k.fileobj for k in self.sel.get_map().values()]
        if want and not have:
            self.sel.register(self.stdin, selectors.EVENT_READ, 'stdin')
        elif have and not want:
            self.sel.unregister(self.stdin)

    def on_frames(self):
        frames, self.inbuf = decode(self.inbuf)
        for kind, data in frames:
            if kind in (F_STDOUT, F_STDERR):
                out = sys.stdout.buffer if kind == F_STDOUT else sys.stderr.buffer
                try:
                    out.write(data)
                    out.flush()
                except BrokenPipeError:
                    pass
            elif kind == F_EXIT:
                self.status = int(data.decode() or EXIT_OWN)
                self.status_at = time.monotonic()
            elif kind == F_ERROR:
                self.errors.append(data.decode(errors='replace'))
                warn(data.decode(errors='replace'))
            elif kind == F_TAKEN and len(data) == 4:
                self.unacked = max(0, self.unacked - struct.unpack('>I', data)[0])
                self.stdin_window()

    def loop(self):
        while True:
            if self.qemu.poll() is not None:
                self.drain()
                return self.qemu.returncode
            # The status is in; the appliance's own shutdown is bounded (od.shutdown.timeout, 30 s).
            if self.status is not None and time.monotonic() - self.status_at > self.shutdown_wait:
                warn('the appliance did not power off within %d s of the container\'s end; stopping it'
                     % self.shutdown_wait)
                self.qemu.kill()
                continue
            for key, ev in self.sel.select(1.0):
                what = key.data
                if what == 'wake':
                    try:
                        os.read(self.wake_r, 512)
                    except BlockingIOError:
                        pass
                elif what == 'stdin':
                    try:
                        data = os.read(self.stdin.fileno(), FRAME_MAX)
                    except BlockingIOError:
                        continue
                    self.send(frame(F_STDIN, data))     # b'': end of input
                    if not data:
                        self.sel.unregister(self.stdin)
                        self.stdin = None
                    self.unacked += len(data)
                    self.stdin_window()
                elif what == 'conn':
                    if ev & selectors.EVENT_WRITE:
                        self.flush()
                    if ev & selectors.EVENT_READ:
                        self.read_conn()

    def read_conn(self):
        try:
            data = self.conn.recv(1 << 16)
        except BlockingIOError:
            return
        except OSError:
            data = b''
        if not data:
            self.sel.unregister(self.conn)
            return
        self.inbuf += data
        self.on_frames()

    def drain(self):
        """QEMU is gone: what it had sent is still in the socket."""
        try:
            self.conn.setblocking(True)
            self.conn.settimeout(1)
            while True:
                data = self.conn.recv(1 << 16)
                if not data:
                    break
                self.inbuf += data
        except OSError:
            pass
        self.on_frames()
