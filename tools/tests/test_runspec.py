"""--run's docker-run subset: each option, repeats, refusals, and IMAGE with what follows unparsed."""
import os
import tempfile
import unittest

from onlydocker import runspec
from onlydocker.base import Error


class RunOptions(unittest.TestCase):
    def refused(self, argv, msg):
        with self.assertRaises(Error) as e:
            runspec.parse(argv)
        self.assertIn(msg, e.exception.msg)
        self.assertEqual(e.exception.code, 2)

    def test_defaults(self):
        r = runspec.parse(['img'])
        self.assertEqual(r, {'interactive': False, 'rm': False, 'commit': None, 'image_tar': None, 'env': [],
                             'volume': [], 'publish': [], 'name': None, 'workdir': None, 'user': None,
                             'entrypoint': None, 'stop_timeout': None, 'image': 'img', 'cmd': []})

    def test_each_option(self):
        r = runspec.parse(['-i', '--rm', '--commit', 'r/x:1', '--image-tar', 'a.tar', '--name', 'c', '-w', '/d',
                           '-u', '1', '--entrypoint', '', '--stop-timeout', '5', 'img'])
        self.assertEqual((r['interactive'], r['rm'], r['commit'], r['image_tar'], r['name'], r['workdir'], r['user'],
                          r['entrypoint'], r['stop_timeout']), (True, True, 'r/x:1', 'a.tar', 'c', '/d', '1', '', '5'))
        r = runspec.parse(['--interactive', '--workdir=/w', '--user', 'u', 'img'])
        self.assertEqual((r['interactive'], r['workdir'], r['user']), (True, '/w', 'u'))

    def test_repeated_options(self):
        r = runspec.parse(['-e', 'A=1', '--env', 'B', '-eC=3', '--env=D=4', '-v', '/a:/b', '--volume', 'n:/c',
                           '-p', '1:2', '--publish=3:4/udp', 'img'])
        self.assertEqual(r['env'], ['A=1', 'B', 'C=3', 'D=4'])
        self.assertEqual(r['volume'], ['/a:/b', 'n:/c'])
        self.assertEqual(r['publish'], ['1:2', '3:4/udp'])

    def test_clusters_and_values_that_look_like_options(self):
        r = runspec.parse(['-ie', 'A=1', '-e', '-x', '--name', '--rm', 'img'])
        self.assertEqual((r['interactive'], r['env'], r['name'], r['rm']), (True, ['A=1', '-x'], '--rm', False))
        self.assertEqual(runspec.parse(['-ei', 'img'])['env'], ['i'])

    def test_image_then_the_command_unparsed(self):
        r = runspec.parse(['alpine', 'ls', '-l', '--rm'])
        self.assertEqual((r['image'], r['cmd'], r['rm']), ('alpine', ['ls', '-l', '--rm'], False))
        r = runspec.parse(['--rm', 'img', '-i', '--', '-t'])
        self.assertEqual((r['image'], r['cmd'], r['interactive']), ('img', ['-i', '--', '-t'], False))
        r = runspec.parse(['-i', '--', '-x', 'y'])
        self.assertEqual((r['image'], r['cmd']), ('-x', ['y']))

    def test_refusals(self):
        tty = 'a TTY is not offered: the container has pipes, like `docker run` without -t'
        for argv, msg in [
                (['-t', 'img'], '--run: -t: ' + tty), (['--tty', 'img'], '--run: --tty: ' + tty),
                (['-it', 'img'], '--run: -t: ' + tty),
                (['-d', 'img'], '--run: -d: --run is the foreground'), (['--detach', 'img'], '--run: --detach:'),
                (['--privileged', 'img'], "--run: the docker run option '--privileged' is not supported here (see --help)"),
                (['-ix', 'img'], "the docker run option '-ix' is not supported"),
                (['--network', 'host', 'img'], "'--network' is not supported"),
                (['--rm=1', 'img'], '--run: --rm takes no value'),
                (['-e'], '--run: -e needs a value'), (['--name'], '--run: --name needs a value'),
                ([], '--run needs an IMAGE (see --help)'), (['-i', '--rm'], '--run needs an IMAGE'),
                (['--'], '--run needs an IMAGE'),
        ]:
            with self.subTest(argv=argv):
                self.refused(argv, msg)


class Spec(unittest.TestCase):
    def spec(self, argv):
        return runspec.RunSpec(runspec.parse(argv), os.path.join(self.tmp, 'stage'))

    def setUp(self):
        self.tmp = tempfile.mkdtemp()

    def tearDown(self):
        os.rmdir(self.tmp)      # empty: building the spec made nothing

    def test_spec(self):
        s = self.spec(['-e', 'A=1', '-v', '%s:/d:ro' % self.tmp, '-v', 'vol:/v', '-p', '127.0.0.1:8080:80',
                       '--name', 'c', '--entrypoint', '', 'repo/img:tag', 'sh', '-c', 'x'])
        self.assertEqual(s.spec['binds'], ['/run/onlydocker/share/od0:/d:ro', 'vol:/v'])
        self.assertEqual(s.spec['ports'], [{'host': 8080, 'container': 80, 'proto': 'tcp'}])
        self.assertEqual((s.spec['image'], s.spec['cmd'], s.spec['env'], s.spec['entrypoint']),
                         ('repo/img:tag', ['sh', '-c', 'x'], ['A=1'], []))
        self.assertEqual(s.hostfwd, ['hostfwd=tcp:127.0.0.1:8080-:8080'])

    def test_bad_values(self):
        for argv, msg in [(['bad image'], "'bad image' is not an image reference"),
                          (['-v', 'rel:dir', 'i'], "-v 'rel:dir': give SRC:/container/path"),
                          (['-p', '80', 'i'], "-p '80': give [IP:]HOSTPORT:CONTAINERPORT"),
                          (['--commit', 'Bad', 'i'], "--commit 'Bad' is not REPO[:TAG]"),
                          (['--stop-timeout', 'x', 'i'], "--stop-timeout 'x' is not a number")]:
            with self.subTest(argv=argv), self.assertRaises(Error) as e:
                self.spec(argv)
            self.assertIn(msg, e.exception.msg)


if __name__ == '__main__':
    unittest.main()
