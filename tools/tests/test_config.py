"""--config FILE: passed to QEMU as the fw_cfg file init reads (opt/org.onlydocker/config); a
missing, binary, oversized file or a directory is refused with one line before anything starts."""
import os
import shutil
import tempfile
import unittest

from onlydocker import cli
from onlydocker.base import Error
from onlydocker.machine import Machine


class ConfigOption(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)
        for f in ('vmlinuz', 'initrd.img'):
            open(os.path.join(self.tmp, f), 'w').close()

    def parse(self, *argv):
        return cli.parse(['--accel', 'tcg', '--kernel', os.path.join(self.tmp, 'vmlinuz'), '--engine', 'none',
                          '--initrd', os.path.join(self.tmp, 'initrd.img'), '--disk', 'none'] + list(argv))

    def write(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, 'wb') as f:
            f.write(data)
        return path

    def test_the_document_goes_to_fw_cfg_by_its_absolute_path(self):
        path = self.write('c.yaml', b'#cloud-config\nhostname: a\n')
        os.chdir(self.tmp)
        self.addCleanup(os.chdir, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        argv = Machine(self.parse('--config', 'c.yaml'), tty=False).argv()
        self.assertIn('name=opt/org.onlydocker/config,file=%s' % path, argv)
        self.assertNotIn('name=opt/org.onlydocker/config', ' '.join(Machine(self.parse(), tty=False).argv()))

    def test_refusals(self):
        for args, msg in (((os.path.join(self.tmp, 'none.yaml'),), 'No such file'),
                          ((self.write('bin', b'\xff\xfe\x00'),), 'not a text file'),
                          ((self.write('big', b'#' * ((256 << 10) + 1)),), 'larger than 256 KiB'),
                          ((self.tmp,), 'directory')):
            with self.assertRaises(Error) as e:
                self.parse('--config', *args)
            self.assertIn(msg, e.exception.msg)
            self.assertEqual(e.exception.code, 2)


if __name__ == '__main__':
    unittest.main()
