"""The host options: defaults, each option, the split at --run and --, and the refusals."""
import contextlib
import io
import os
import unittest
from unittest import mock

from onlydocker import cli
from onlydocker.base import Error


class HostOptions(unittest.TestCase):
    def parse(self, *argv, env=None):
        with mock.patch.dict(os.environ, env or {}, clear=False):
            if env is None:
                os.environ.pop('QEMU_ACCEL', None)
            return cli.parse(list(argv))

    def refused(self, argv, msg):
        with self.assertRaises(Error) as e:
            self.parse(*argv)
        self.assertIn(msg, e.exception.msg)
        self.assertEqual(e.exception.code, 2)

    def test_defaults(self):
        o = self.parse()
        self.assertEqual((o.kernel, o.initrd, o.engine, o.mem, o.smp, o.disk, o.new_disk, o.append, o.accel, o.net),
                         (None, None, None, '1024', '2', 'default', False, [], 'auto', 'user'))
        self.assertEqual((o.qmp, o.serial, o.name, o.log, o.lan, o.mac, o.verbose, o.dry_run, o.extra, o.run),
                         (None, None, None, None, None, None, False, False, [], None))

    def test_accel_default_from_the_environment(self):
        self.assertEqual(self.parse(env={'QEMU_ACCEL': 'tcg'}).accel, 'tcg')

    def test_each_valued_option_both_spellings(self):
        values = {'--kernel': 'k', '--initrd': 'i', '--engine': 'none', '--mem': '512', '--smp': '4', '--disk': 'none',
                  '--accel': 'kvm', '--net': 'restricted', '--qmp': '/x/q.sock', '--serial': '/x/s.sock',
                  '--name': 'n-1.a_b', '--log': 'l.log', '--lan': 'seg'}
        for opt, value in values.items():
            for argv in ([opt, value], ['%s=%s' % (opt, value)]):
                o = self.parse(*argv)
                self.assertEqual(getattr(o, opt[2:]), value, argv)
        o = self.parse('--lan', 's', '--mac', '52:54:00:AA:bb:01')
        self.assertEqual(o.mac, '52:54:00:AA:bb:01')

    def test_flags(self):
        o = self.parse('--new-disk', '--verbose', '--dry-run')
        self.assertEqual((o.new_disk, o.verbose, o.dry_run), (True, True, True))

    def test_append_repeats_and_takes_values_that_look_like_options(self):
        self.assertEqual(self.parse('--append', 'a=1', '--append=b c', '--append', '-x', '--append', '--run').append,
                         ['a=1', 'b c', '-x', '--run'])

    def test_extra_qemu_args_after_dashdash(self):
        o = self.parse('--mem', '64', '--', '-s', '--run', '--mem')
        self.assertEqual((o.mem, o.extra, o.run), ('64', ['-s', '--run', '--mem'], None))

    def test_run_takes_the_rest_unparsed(self):
        o = self.parse('--net', 'none', '--run', '--mem', 'x', '-i', 'img', '--', '--bogus')
        self.assertEqual((o.net, o.run, o.extra), ('none', ['--mem', 'x', '-i', 'img', '--', '--bogus'], []))
        self.assertEqual(self.parse('--run').run, [])

    def test_refusals(self):
        for argv, msg in [
                (['--bogus'], "unknown option '--bogus' (see --help)"),
                (['stray'], "unknown option 'stray'"),
                (['--mem'], '--mem needs a value (see --help)'),
                (['--me=5'], "unknown option '--me=5'"),          # no abbreviations
                (['--mem', 'lots'], "--mem must be a positive number of MiB, got 'lots'"),
                (['--mem', '0'], '--mem must be a positive number'),
                (['--smp', '-1'], "--smp must be a positive number of CPUs, got '-1'"),
                (['--accel', 'fast'], "--accel must be kvm, tcg or auto, got 'fast'"),
                (['--net', 'wide'], "--net must be user, restricted or none, got 'wide'"),
                (['--name', '../etc'], "--name must be letters, digits, '.', '_' or '-' (at most 64)"),
                (['--lan', 'a' * 65], '--lan must be letters'),
                (['--mac', '52:54:00:00:00:01'], "--mac is the --lan NIC's address: give --lan too"),
                (['--lan', 'x', '--mac', '01:00:5e:00:00:01'], '--mac must be a unicast address'),
                (['--lan', 'x', '--mac', 'zz'], "--mac must be a unicast address like 52:54:00:12:34:56, got 'zz'"),
                (['--qmp', '/'], "--qmp '/' is a directory: give a socket path"),
                (['--serial', '/'], "--serial '/' is a directory"),
                (['--new-disk=1'], '--new-disk'),
        ]:
            with self.subTest(argv=argv):
                self.refused(argv, msg)

    def test_help_names_every_option_and_exits_0(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), self.assertRaises(SystemExit) as e:
            cli.parse(['--help'])
        self.assertEqual(e.exception.code, 0)
        text = out.getvalue()
        for opt, metavar, _ in cli.OPTIONS:
            self.assertIn(opt + (' ' + metavar if metavar else ''), text)
        for words in ('-h, --help', '-- ARGS...', 'Ctrl-A X', '--disk none', '-i, --interactive', '--rm', '--commit',
                      '--image-tar', '-e, --env', '-v, --volume', '-p, --publish', '--stop-timeout', '125 when',
                      cli.BASE_APPEND):
            self.assertIn(words, text)

    def test_main_prints_one_error_line_and_exits_2(self):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), self.assertRaises(SystemExit) as e:
            cli.main(['--mem', 'lots'])
        self.assertEqual(e.exception.code, 2)
        self.assertRegex(err.getvalue(), r"^[^\n]+: error: --mem must be a positive number of MiB, got 'lots'\n$")


if __name__ == '__main__':
    unittest.main()
