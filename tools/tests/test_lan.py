"""The --lan switch: two fake appliances speaking QEMU's -netdev stream framing (a 32-bit
big-endian length before each Ethernet frame) on its unix socket; it floods what it does not know,
learns where a source address is, and goes away once idle."""
import os
import shutil
import socket
import struct
import tempfile
import threading
import time
import unittest
import warnings

from onlydocker import lan

A, B, C = bytes.fromhex('525400000001'), bytes.fromhex('525400000002'), bytes.fromhex('525400000003')
BCAST = b'\xff' * 6
TIMEOUT = 10


def eth(dst, src, payload=b'hello'):
    pkt = dst + src + b'\x08\x00' + payload
    return struct.pack('>I', len(pkt)) + pkt


def recv_frame(s):
    def exactly(n):
        b = b''
        while len(b) < n:
            chunk = s.recv(n - len(b))
            if not chunk:
                raise EOFError
            b += chunk
        return b
    n = struct.unpack('>I', exactly(4))[0]
    return exactly(n)


def wait_for(cond, what):
    deadline = time.monotonic() + TIMEOUT
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError('timed out waiting for ' + what)
        time.sleep(0.02)


class Switch(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)
        self.sock = os.path.join(self.tmp, 'lan-t.sock')

    def client(self):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.settimeout(TIMEOUT)
        c.connect(self.sock)
        self.addCleanup(c.close)
        return c

    def start_in_thread(self, idle_s):
        r, w = os.pipe()
        t = threading.Thread(target=lan.hub, args=(self.sock, w, idle_s), daemon=True)
        t.start()
        with os.fdopen(r, 'rb') as f:
            self.assertEqual(f.read(), b'ok')      # written once it listens; the write end closed after
        return t

    def test_floods_learns_and_leaves_when_idle(self):
        t = self.start_in_thread(0.3)
        a, b, c = self.client(), self.client(), self.client()
        a.sendall(eth(BCAST, A, b'who'))            # broadcast: to everyone else
        self.assertEqual(recv_frame(b), BCAST + A + b'\x08\x00who')
        self.assertEqual(recv_frame(c), BCAST + A + b'\x08\x00who')
        b.sendall(eth(A, B, b'to-a'))               # A was learned: to A alone
        self.assertEqual(recv_frame(a), A + B + b'\x08\x00to-a')
        frame = eth(B, A, b'x' * 1500)              # B learned too; a frame split across writes
        a.sendall(frame[:3])
        a.sendall(frame[3:])
        self.assertEqual(recv_frame(b), B + A + b'\x08\x00' + b'x' * 1500)
        c.settimeout(0.2)                           # c had none of the unicast frames
        with self.assertRaises(socket.timeout):
            c.recv(1)
        for s in (a, b, c):
            s.close()
        t.join(TIMEOUT)
        self.assertFalse(t.is_alive(), 'the switch did not leave after its last client')
        self.assertFalse(os.path.exists(self.sock))

    def test_start_runs_one_switch_and_it_goes_by_itself(self):
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', ResourceWarning)    # the switch outlives its Popen, on purpose
            lan.start(self.sock, idle_s=0.5)
            lan.start(self.sock, idle_s=0.5)        # one answers: nothing new starts
        a, b = self.client(), self.client()
        a.sendall(eth(BCAST, A))
        self.assertEqual(recv_frame(b), BCAST + A + b'\x08\x00hello')
        a.close()
        b.close()
        wait_for(lambda: not os.path.exists(self.sock), 'the switch to remove its socket')


if __name__ == '__main__':
    unittest.main()
