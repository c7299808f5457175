"""--ssh, --ssh-port and --ssh-key: parsing, the QEMU arguments they add (a loopback-only hostfwd
to dom0's port 22, the keys as a fw_cfg string), the key files' checks and the connection hints."""
import base64
import contextlib
import io
import os
import shutil
import struct
import tempfile
import unittest

from onlydocker import cli, sshkeys
from onlydocker.base import Error
from onlydocker.machine import Machine
from onlydocker.shared import SSH_KEYS_FWCFG


def key(kind='ssh-ed25519', body=b'\x01' * 32, comment='me@host'):
    blob = struct.pack('>I', len(kind)) + kind.encode() + struct.pack('>I', len(body)) + body
    return ' '.join([kind, base64.b64encode(blob).decode()] + ([comment] if comment else []))


class SshOptions(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)
        for f in ('vmlinuz', 'initrd.img'):
            open(self.path(f), 'w').close()

    def path(self, name):
        return os.path.join(self.tmp, name)

    def write(self, name, text):
        with open(self.path(name), 'w') as f:
            f.write(text)
        return self.path(name)

    def parse(self, *argv):
        return cli.parse(['--accel', 'tcg', '--kernel', self.path('vmlinuz'), '--initrd', self.path('initrd.img'),
                          '--disk', 'none', '--engine', 'none'] + list(argv))

    def refused(self, argv, msg):
        with self.assertRaises(Error) as e:
            self.parse(*argv)
        self.assertIn(msg, e.exception.msg)
        self.assertEqual(e.exception.code, 2)

    def nic(self, o):
        argv = Machine(o, tty=False).argv()
        return argv[argv.index('-nic') + 1], argv

    def test_defaults_forward_nothing_and_pass_no_keys(self):
        o = self.parse()
        self.assertEqual((o.ssh, o.ssh_port, o.ssh_key, o.ssh_keys), (False, None, [], ''))
        nic, argv = self.nic(o)
        self.assertEqual(nic, 'user,model=virtio-net-pci')
        self.assertNotIn('-fw_cfg', argv)

    def test_ssh_forwards_the_default_port_on_loopback_only(self):
        o = self.parse('--ssh', '--net', 'restricted')
        self.assertEqual(o.ssh_port, 2222)
        self.assertEqual(self.nic(o)[0], 'user,model=virtio-net-pci,restrict=on,hostfwd=tcp:127.0.0.1:2222-:22')

    def test_ssh_port_in_both_spellings_implies_ssh(self):
        for argv in (['--ssh-port', '2200'], ['--ssh-port=2200'], ['--ssh', '--ssh-port', '2200']):
            o = self.parse(*argv)
            self.assertEqual(o.ssh_port, 2200, argv)
            self.assertEqual(self.nic(o)[0], 'user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:2200-:22')

    def test_keys_of_every_file_once_in_one_fw_cfg_string(self):
        a, b = key(comment='a,b c'), key('ssh-rsa', b'\x02' * 64, comment='')
        f1 = self.write('one.pub', '# a comment\n\n%s\n' % a)
        f2 = self.write('two.pub', '%s\r\n%s\n' % (b, a))
        o = self.parse('--ssh-key', f1, '--ssh-key=' + f2)
        self.assertEqual((o.ssh_key, o.ssh_keys, o.ssh_port), ([f1, f2], '%s\n%s\n' % (a, b), None))
        nic, argv = self.nic(o)
        self.assertNotIn('hostfwd', nic)           # a key alone forwards nothing (e.g. for --lan)
        i = argv.index('-fw_cfg')
        self.assertEqual(argv[i + 1], 'name=%s,string=%s' % (SSH_KEYS_FWCFG, ('%s\n%s\n' % (a, b)).replace(',', ',,')))
        self.assertEqual(SSH_KEYS_FWCFG, 'opt/org.onlydocker/ssh_keys')
        self.assertEqual(argv.count('-fw_cfg'), 1)

    def test_refusals(self):
        good = self.write('good.pub', key() + '\n')
        priv = self.write('id_x', '-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY-----\n')
        for argv, msg in [
                (['--ssh-port', '0'], "--ssh-port must be a TCP port, 1 to 65535, got '0'"),
                (['--ssh-port', '65536'], "--ssh-port must be a TCP port, 1 to 65535, got '65536'"),
                (['--ssh-port', '22x'], "--ssh-port must be a TCP port"),
                (['--ssh-port'], '--ssh-port needs a value'),
                (['--ssh', '--net', 'none'], '--ssh forwards a port of the user network: not with --net none'),
                (['--ssh', '--run', 'img'], '--ssh and --ssh-key are for dom0, which --run does not have'),
                (['--ssh-key', good, '--run', 'img'], 'which --run does not have'),
                (['--ssh-key', self.path('missing.pub')],
                 "--ssh-key '%s': No such file or directory" % self.path('missing.pub')),
                (['--ssh-key', self.tmp], "--ssh-key '%s': Is a directory" % self.tmp),
                (['--ssh-key', priv], "--ssh-key '%s' is a private key: give the public one (%s.pub)" % (priv, priv)),
                (['--ssh-key', self.write('empty.pub', '# nothing\n')], "holds no public key"),
                (['--ssh-key', self.write('words.pub', 'hello world\n')], "line 1 is not an OpenSSH public key"),
                (['--ssh-key', self.write('bad64.pub', key() + '\nssh-ed25519 @@@@\n')], "line 2 is not an OpenSSH"),
                # the blob names another type than the line does
                (['--ssh-key', self.write('mixed.pub', key().replace('ssh-ed25519', 'ssh-rsa', 1))], 'line 1'),
                (['--ssh-key', self.write('opts.pub', 'command="x" ' + key())], 'line 1'),
        ]:
            with self.subTest(argv=argv):
                self.refused(argv, msg)
        with open(self.path('bin2.pub'), 'wb') as f:
            f.write(b'\xff\xfe')
        self.refused(['--ssh-key', self.path('bin2.pub')], 'is not a public key file (not text)')

    def test_main_prints_one_error_line_and_exits_2(self):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), self.assertRaises(SystemExit) as e:
            cli.main(['--dry-run', '--ssh-key', self.path('nope.pub')])
        self.assertEqual(e.exception.code, 2)
        self.assertRegex(err.getvalue(), r"^[^\n]+: error: --ssh-key '[^']*nope.pub': No such file or directory\n$")

    def test_hints_name_the_port_the_context_and_the_identity(self):
        pub = self.write('id_ed25519.pub', key() + '\n')
        lines = sshkeys.hints(2200, 'node1', [pub])
        self.assertIn('127.0.0.1:2200', lines[0])
        self.assertEqual(lines[1], '  ssh -p 2200 root@127.0.0.1')         # no private key beside it
        self.assertEqual(lines[2], '  docker context create node1 --docker host=ssh://root@127.0.0.1:2200'
                                   ' && docker --context node1 ps')
        self.write('id_ed25519', 'private')
        self.assertEqual(sshkeys.hints(2200, 'node1', [pub])[1],
                         '  ssh -i %s -p 2200 root@127.0.0.1' % self.path('id_ed25519'))

    def test_help_documents_the_options(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), self.assertRaises(SystemExit):
            cli.parse(['--help'])
        for words in ('--ssh ', '--ssh-port N', '--ssh-key FILE', '127.0.0.1', 'authorized_keys', 'fw_cfg'):
            self.assertIn(words, out.getvalue())


if __name__ == '__main__':
    unittest.main()
