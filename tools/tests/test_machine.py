"""Machine.argv(): the QEMU command for several configurations, built without creating anything;
and prepare()/cleanup() for --run's private directory (no QEMU is started)."""
import json
import os
import shutil
import tempfile
import unittest
from unittest import mock

from onlydocker import cli, lan, runspec
from onlydocker.base import ROOT
from onlydocker.machine import BASE_APPEND, Machine

HEAD = ['qemu-system-x86_64', '-nodefaults', '-no-user-config', '-display', 'none', '-machine', 'q35',
        '-accel', 'tcg', '-cpu', 'max']


class Argv(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.files = os.path.join(self.tmp, 'files')
        self.empty = os.path.join(self.tmp, 'empty')        # TMPDIR and XDG_RUNTIME_DIR: must stay empty
        os.mkdir(self.files)
        os.mkdir(self.empty)
        for f in ('vmlinuz', 'initrd.img', 'engine.img', 'data.img', 'conf'):
            open(os.path.join(self.files, f), 'w').close()
        env = mock.patch.dict(os.environ, {'TMPDIR': self.empty, 'XDG_RUNTIME_DIR': self.empty})
        env.start()
        self.addCleanup(env.stop)
        tempfile.tempdir = None     # re-read $TMPDIR
        self.addCleanup(setattr, tempfile, 'tempdir', None)
        self.before = self.listing()

    def tearDown(self):
        self.assertEqual(self.listing(), self.before, 'argv() created something')
        self.assertFalse(os.path.exists(os.path.join(ROOT, 'disk', 'argv-test.img')))
        shutil.rmtree(self.tmp)

    def listing(self):
        return sorted(os.path.join(d, n) for d, ds, fs in os.walk(self.tmp) for n in ds + fs)

    def f(self, name):
        return os.path.join(self.files, name)

    def machine(self, *argv, run=None, tty=False):
        o = cli.parse(['--accel', 'tcg', '--kernel', self.f('vmlinuz'), '--initrd', self.f('initrd.img')] + list(argv))
        r = runspec.parse(o.run) if o.run is not None else None
        return Machine(o, run=r, stage=os.path.join(self.empty, 'stage') if r else None, tty=tty)

    def boot_head(self, mem='1024', smp='2'):
        return HEAD + ['-m', mem, '-smp', smp, '-kernel', self.f('vmlinuz'), '-initrd', self.f('initrd.img')]

    def engine(self):
        return ['-drive', 'file=%s,format=raw,if=none,id=engine,readonly=on' % self.f('engine.img'),
                '-device', 'virtio-blk-pci,drive=engine,serial=onlydocker-engine']

    def test_boot_without_disk_or_network(self):
        m = self.machine('--disk', 'none', '--net', 'none', '--mem', '512', '--smp', '1', '--append', 'a=1')
        self.assertEqual(m.argv(), self.boot_head('512', '1') + [
            '-append', BASE_APPEND + ' a=1', '-serial', 'stdio', '-nic', 'none', '-device', 'virtio-rng-pci']
            + self.engine())

    def test_boot_with_disk_qmp_and_extra_args_on_a_terminal(self):
        m = self.machine('--disk', self.f('data.img'), '--qmp', '/q,s', '--engine', 'none', '--', '-s', '-S', tty=True)
        self.assertEqual(m.argv(), self.boot_head() + [
            '-append', BASE_APPEND, '-serial', 'mon:stdio', '-qmp', 'unix:/q,,s,server=on,wait=off',
            '-nic', 'user,model=virtio-net-pci',
            '-drive', 'file=%s,format=raw,if=none,id=data,cache=writeback,discard=unmap' % self.f('data.img'),
            '-device', 'virtio-blk-pci,drive=data,serial=docker', '-device', 'virtio-rng-pci', '-s', '-S'])

    def test_boot_with_a_name_and_a_lan(self):
        m = self.machine('--name', 'argv-test', '--lan', 'seg', '--net', 'restricted')
        sock = os.path.join(self.empty, 'onlydocker-%d' % os.getuid(), 'lan-seg.sock')
        self.assertEqual((m.disk, m.new_disk), (os.path.join(ROOT, 'disk', 'argv-test.img'), True))
        self.assertEqual(m.argv(), self.boot_head() + [
            '-append', BASE_APPEND,
            '-chardev', 'stdio,id=con,mux=off,signal=off,logfile=%s' % os.path.join(ROOT, 'disk', 'argv-test.log'),
            '-serial', 'chardev:con', '-nic', 'user,model=virtio-net-pci,restrict=on',
            '-netdev', 'stream,id=lan,server=off,addr.type=unix,addr.path=%s' % sock,
            '-device', 'virtio-net-pci,netdev=lan,mac=%s' % lan.mac_for('argv-test'),
            '-drive', 'file=%s,format=raw,if=none,id=data,cache=writeback,discard=unmap' % m.disk,
            '-device', 'virtio-blk-pci,drive=data,serial=docker', '-device', 'virtio-rng-pci'] + self.engine())

    def test_boot_with_a_serial_socket_and_a_given_mac(self):
        m = self.machine('--disk', 'none', '--serial', '/s.sock', '--lan', 'x', '--mac', '52:54:00:01:02:03')
        argv = m.argv()
        self.assertEqual(argv[argv.index('-chardev'):argv.index('-nic')],
                         ['-chardev', 'socket,id=con,path=/s.sock,server=on,wait=on', '-serial', 'chardev:con',
                          '-monitor', 'none'])
        self.assertIn('virtio-net-pci,netdev=lan,mac=52:54:00:01:02:03', argv)

    def test_run(self):
        m = self.machine('--disk', 'none', '--net', 'restricted', '--log', '/l.log', '--run', '-i', '--rm', '-e', 'A=1',
                         '-v', '%s:/data:ro' % self.files, '-v', '%s:/etc/conf' % self.f('conf'), '-p', '8080:80',
                         'repo/img:tag', 'sh', '-c', 'echo hi')
        stage = os.path.join(self.empty, 'stage')
        self.assertEqual(m.argv(), self.boot_head() + [
            '-append', BASE_APPEND + ' od.run ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off:10.0.2.3 od.iptables=0',
            '-chardev', 'file,id=con,path=/l.log', '-serial', 'chardev:con', '-monitor', 'none',
            '-nic', 'user,model=virtio-net-pci,restrict=on,hostfwd=tcp::8080-:8080',
            '-fsdev', 'local,id=fsod0,path=%s,security_model=mapped-xattr,multidevs=remap,readonly=on' % self.files,
            '-device', 'virtio-9p-pci,fsdev=fsod0,mount_tag=od0',
            '-fsdev', 'local,id=fsod1,path=%s/f0,security_model=%s,multidevs=remap'
            % (stage, m.spec.qemu[5].split('security_model=')[1].split(',')[0]),
            '-device', 'virtio-9p-pci,fsdev=fsod1,mount_tag=od1',
            '-device', 'virtio-serial-pci,id=vser', '-chardev', 'socket,id=run,path=%s/run.sock' % stage,
            '-device', 'virtserialport,bus=vser.0,chardev=run,name=org.onlydocker.run',
            '-fw_cfg', 'name=opt/org.onlydocker/run,file=%s/spec.json' % stage,
            '-device', 'virtio-rng-pci', '-no-reboot'] + self.engine())
        spec = json.loads(m.spec_json())
        self.assertEqual(spec['binds'], ['/run/onlydocker/share/od0:/data:ro', '/run/onlydocker/share/od1/conf:/etc/conf:rw'])
        self.assertEqual((spec['cmd'], spec['interactive'], spec['rm'], spec['pull']), (['sh', '-c', 'echo hi'], True, True, False))

    def test_run_verbose_with_user_network_and_qmp(self):
        m = self.machine('--disk', 'none', '--verbose', '--qmp', '/q', '--append', 'od.shutdown.timeout=7', '--run', 'img')
        argv = m.argv()
        self.assertEqual(argv[argv.index('-append') + 1],
                         BASE_APPEND + ' od.run ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off:10.0.2.3 od.shutdown.timeout=7')
        self.assertEqual(argv[argv.index('-append') + 2:argv.index('-nic') + 2], [
            '-chardev', 'file,id=con,path=/proc/self/fd/2,append=on', '-serial', 'chardev:con', '-monitor', 'none',
            '-qmp', 'unix:/q,server=on,wait=off', '-nic', 'user,model=virtio-net-pci'])
        self.assertEqual(m.shutdown_deadline(), 7)
        self.assertTrue(json.loads(m.spec_json())['pull'])

    def test_argv_twice_is_the_same(self):
        m = self.machine('--disk', 'none', '--run', '-v', '%s:/c' % self.f('conf'), 'img')
        self.assertEqual(m.argv(), m.argv())

    def test_run_prepare_and_cleanup(self):
        m = self.machine('--disk', 'none', '--log', os.path.join(self.tmp, 'log', 'c.log'),
                         '--run', '-v', '%s:/c:ro' % self.f('conf'), 'img')
        m.prepare()
        stage = os.path.join(self.empty, 'stage')
        self.assertEqual(sorted(os.listdir(stage)), ['f0', 'run.sock', 'spec.json'])
        self.assertEqual(os.listdir(os.path.join(stage, 'f0')), ['conf'])
        with open(os.path.join(stage, 'spec.json')) as f:
            self.assertEqual(json.load(f)['image'], 'img')
        m.cleanup()
        self.assertFalse(os.path.exists(stage))
        os.rmdir(os.path.join(self.tmp, 'log'))     # the log's directory is made; the listing check wants it gone


if __name__ == '__main__':
    unittest.main()
