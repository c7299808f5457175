"""--docker-socket: the checks of PATH (nothing but a dead socket is ever replaced), the forwarding
ssh's command, and the Forwarder's life against a fake ssh: tried again when it ends, a refusal
said once, stopped with the appliance and its socket removed."""
import io
import os
import shutil
import socket
import tempfile
import threading
import unittest
from unittest import mock

from onlydocker import cli, sockfwd
from onlydocker.base import Error
from onlydocker.machine import Machine


class Checks(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='odt-')
        self.addCleanup(shutil.rmtree, self.tmp)

    def refused(self, path, msg):
        with self.assertRaises(Error) as e:
            sockfwd.check(path)
        self.assertIn(msg, e.exception.msg)

    def test_a_new_name_is_taken_as_an_absolute_path(self):
        self.addCleanup(os.chdir, os.getcwd())
        os.chdir(self.tmp)
        self.assertEqual(sockfwd.check('docker.sock'), os.path.join(os.getcwd(), 'docker.sock'))

    def test_a_file_that_is_not_a_socket_is_never_replaced(self):
        f = os.path.join(self.tmp, 'data')
        with open(f, 'w') as fh:
            fh.write('keep me')
        self.refused(f, 'exists and is not a socket')
        self.refused(self.tmp, 'exists and is not a socket')
        with open(f) as fh:
            self.assertEqual(fh.read(), 'keep me')

    def test_a_live_socket_is_in_use_and_a_dead_one_is_taken(self):
        path = os.path.join(self.tmp, 's')
        s = socket.socket(socket.AF_UNIX)
        s.bind(path)
        s.listen(1)
        self.refused(path, 'is in use')
        s.close()                       # the socket file stays, with nobody behind it
        self.assertEqual(sockfwd.check(path), path)

    def test_missing_directory_and_overlong_name(self):
        self.refused(os.path.join(self.tmp, 'no', 's'), 'does not exist')
        self.refused(os.path.join(self.tmp, 'x' * 120), 'too long for a unix socket')

    def test_options_imply_ssh_and_refuse_run(self):
        k = os.path.join(self.tmp, 'k')
        for f in ('vmlinuz', 'initrd.img'):
            open(os.path.join(self.tmp, f), 'w').close()
        base = ['--accel', 'tcg', '--kernel', os.path.join(self.tmp, 'vmlinuz'), '--engine', 'none',
                '--initrd', os.path.join(self.tmp, 'initrd.img'), '--disk', 'none']
        o = cli.parse(base + ['--docker-socket', k])
        self.assertEqual((o.ssh_port, o.docker_socket), (2222, k))
        argv = Machine(o, tty=False).argv()
        self.assertIn('hostfwd=tcp:127.0.0.1:2222-:22', argv[argv.index('-nic') + 1])
        self.assertEqual(cli.parse(base + ['--ssh-port', '2300', '--docker-socket', k]).ssh_port, 2300)
        with self.assertRaises(Error) as e:
            cli.parse(base + ['--docker-socket', k, '--run', 'img'])
        self.assertIn('--docker-socket is for dom0', e.exception.msg)
        with self.assertRaises(Error) as e:
            cli.parse(base + ['--docker-socket', k, '--net', 'none'])
        self.assertIn('not with --net none', e.exception.msg)


class Command(unittest.TestCase):
    def test_forwards_the_socket_to_dom0s_engine_over_loopback_pinning_the_first_host_key(self):
        cmd = sockfwd.argv('/tmp/d.sock', 2300, ['/k/id'], '/run/kh')
        self.assertEqual(cmd[:2], ['ssh', '-N'])
        self.assertEqual(cmd[-3:], ['-L', '/tmp/d.sock:/var/run/docker.sock', 'root@127.0.0.1'])
        self.assertEqual(cmd[cmd.index('-p') + 1], '2300')
        self.assertEqual(cmd[cmd.index('-i') + 1], '/k/id')
        opts = [cmd[i + 1] for i, a in enumerate(cmd) if a == '-o']
        for want in ('BatchMode=yes', 'ExitOnForwardFailure=yes', 'StreamLocalBindMask=0177',
                     'StrictHostKeyChecking=accept-new', 'UserKnownHostsFile=/run/kh'):
            self.assertIn(want, opts)

    def test_identities_are_the_private_halves_that_exist(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        for f in ('a', 'a.pub', 'b.pub'):
            open(os.path.join(tmp, f), 'w').close()
        self.assertEqual(sockfwd.identities([os.path.join(tmp, 'a.pub'), os.path.join(tmp, 'b.pub')]),
                         [os.path.join(tmp, 'a')])


class FakeSsh:
    """Ends at once with `err` on stderr, or (err None) runs until terminated."""

    def __init__(self, err):
        self.ended = threading.Event()
        self.rc = None
        if err is not None:
            self.ended.set()
        self.stderr = self
        self.err = (err or '').encode()

    def read(self):
        self.ended.wait()
        return self.err

    def wait(self):
        self.ended.wait()
        self.rc = 255
        return self.rc

    def poll(self):
        return self.rc if self.ended.is_set() else None

    def terminate(self):
        self.ended.set()


class Life(unittest.TestCase):
    def test_tried_again_until_one_lasts_then_stopped_and_the_socket_removed(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        path = os.path.join(tmp, 'd.sock')
        outcomes = ['kex_exchange_identification: Connection closed by remote host',
                    'Permission denied (publickey).', 'Permission denied (publickey).', None]
        started, lasting = [], threading.Event()

        def spawn(cmd, **kw):
            p = FakeSsh(outcomes[len(started)] if len(started) < len(outcomes) else None)
            started.append(p)
            if p.err == b'':
                with socket.socket(socket.AF_UNIX) as s:   # what a connected ssh -L makes
                    s.bind(path)
                lasting.set()
            return p

        warned = []
        patcher = mock.patch.object(sockfwd, 'warn', warned.append)
        patcher.start()
        self.addCleanup(patcher.stop)
        f = sockfwd.Forwarder(['ssh'], path, spawn=spawn, delays=(0.01, 0.02))
        f.start()
        self.assertTrue(lasting.wait(10))
        self.assertEqual(len(started), 4)
        self.assertEqual(len(warned), 1, warned)           # refused twice, said once
        self.assertIn('refused every key', warned[0])
        self.assertTrue(os.path.exists(path))
        f.stop()
        self.assertTrue(started[-1].ended.is_set())        # the lasting ssh was ended
        self.assertFalse(f.thread.is_alive())
        self.assertFalse(os.path.exists(path))
        self.assertEqual(len(started), 4)                  # and none started after


if __name__ == '__main__':
    unittest.main()
