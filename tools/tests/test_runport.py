"""The run port's frames (encode, decode, partial input), the Relay's way with them, and the
constants shared with init: shared.py's values are today's, and the C header it writes holds the same."""
import io
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import unittest
from unittest import mock

from onlydocker import shared
from onlydocker.runport import Relay, decode, frame


class Frames(unittest.TestCase):
    def test_encode(self):
        self.assertEqual(frame(shared.F_STDOUT, b'hi'), b'\x01\0\0\0\0\0\0\x02hi')
        self.assertEqual(frame(shared.F_KILL), b'\x11\0\0\0\0\0\0\0')
        self.assertEqual(frame(shared.F_STDIN, b'x' * 70000)[:8], b'\0\0\0\0' + struct.pack('>I', 70000))

    def test_decode_whole_and_partial(self):
        stream = frame(shared.F_STDERR, b'err') + frame(shared.F_EXIT, b'0') + frame(shared.F_TAKEN, struct.pack('>I', 5))
        self.assertEqual(decode(stream), ([(2, b'err'), (16, b'0'), (18, b'\0\0\0\x05')], b''))
        for cut in range(len(stream)):
            got, rest = decode(stream[:cut])
            more, tail = decode(rest + stream[cut:])
            self.assertEqual((got + more, tail), ([(2, b'err'), (16, b'0'), (18, b'\0\0\0\x05')], b''), cut)

    def test_empty_payload_is_a_frame(self):
        self.assertEqual(decode(frame(shared.F_STDIN)), ([(0, b'')], b''))


class Shared(unittest.TestCase):
    def test_values_are_todays(self):
        self.assertEqual(shared.VALUES, {
            'RUN_PORT': 'org.onlydocker.run', 'RUN_FWCFG': 'opt/org.onlydocker/run', 'CONFIG_FWCFG': 'opt/org.onlydocker/config',
            'F_STDIN': 0, 'F_STDOUT': 1, 'F_STDERR': 2, 'F_EXIT': 16, 'F_ERROR': 17, 'F_TAKEN': 18,
            'F_STOP': 16, 'F_KILL': 17, 'EXIT_OWN': 125, 'FRAME_MAX': 64 << 10, 'STDIN_WINDOW': 256 << 10})

    def test_header_holds_the_same(self):
        out = subprocess.run([sys.executable, shared.__file__, shared.CONF], capture_output=True, text=True, check=True).stdout
        defines = dict(re.findall(r'^#define (\w+) (.+)$', out, re.M))
        defines.pop('OD_RUNPORT_H', None)
        self.assertEqual(set(defines), set(shared.VALUES))
        for k, v in shared.VALUES.items():
            self.assertEqual(defines[k], str(v) if isinstance(v, int) else '"%s"' % v, k)
        self.assertIn('#ifndef OD_RUNPORT_H', out)

    def test_a_bad_line_is_refused(self):
        for text in ('# ok\nNAME value\nNAME again\n', 'NAME\n', 'name value\n'):
            with tempfile.NamedTemporaryFile('w', suffix='.conf') as f:
                f.write(text)
                f.flush()
                with self.assertRaises(ValueError):
                    shared.load(f.name)


if __name__ == '__main__':
    unittest.main()


class FakeQemu:
    returncode = None

    def poll(self):
        return self.returncode

    def kill(self):
        self.returncode = -9


class RelayOut(unittest.TestCase):
    """What the guest sent before QEMU exited reaches stdout and stderr, and its status is the status."""

    def setUp(self):
        self.handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD)}

    def tearDown(self):
        signal.set_wakeup_fd(-1)
        for s, h in self.handlers.items():
            signal.signal(s, h)

    def test_streams_and_status(self):
        host, guest = socket.socketpair()
        self.addCleanup(host.close)
        guest.sendall(frame(shared.F_STDOUT, b'out\n') + frame(shared.F_STDERR, b'err\n') + frame(shared.F_EXIT, b'3'))
        guest.close()
        qemu = FakeQemu()
        qemu.returncode = 0
        out, err = io.TextIOWrapper(io.BytesIO()), io.TextIOWrapper(io.BytesIO())
        with mock.patch.object(sys, 'stdout', out), mock.patch.object(sys, 'stderr', err):
            relay = Relay(host, qemu, False, 5)
            self.assertEqual(relay.loop(), 0)
        self.assertEqual((relay.status, relay.errors), (3, []))
        self.assertEqual((out.buffer.getvalue(), err.buffer.getvalue()), (b'out\n', b'err\n'))

    def test_a_stop_is_framed_for_the_guest(self):
        host, guest = socket.socketpair()
        self.addCleanup(host.close)
        self.addCleanup(guest.close)
        with mock.patch.object(sys, 'stderr', io.StringIO()):
            relay = Relay(host, FakeQemu(), False, 5)
            relay.on_signal(signal.SIGTERM, None)
            relay.on_signal(signal.SIGTERM, None)
        guest.settimeout(5)
        want = frame(shared.F_STOP, b'SIGTERM') + frame(shared.F_KILL)
        got = b''
        while len(got) < len(want):
            got += guest.recv(100)
        self.assertEqual(got, want)
