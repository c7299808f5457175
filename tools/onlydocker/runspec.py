"""--run's docker-run subset: its own parser (options up to IMAGE; IMAGE and what follows are the
container's, never parsed) and RunSpec, the container's description for init (JSON through fw_cfg)
with the 9p shares and port forwards QEMU needs for it."""
import argparse
import errno
import os
import re
import shutil

from .base import Error, die, qesc, warn

FLAGS = (('-i', '--interactive'), ('--rm',))
VALUED = (('--commit',), ('--image-tar',), ('-e', '--env'), ('-v', '--volume'), ('-p', '--publish'), ('--name',),
          ('-w', '--workdir'), ('-u', '--user'), ('--entrypoint',), ('--stop-timeout',))
MULTI = ('env', 'volume', 'publish')
TTY = 'a TTY is not offered: the container has pipes, like `docker run` without -t'
DETACH = '--run is the foreground: use the appliance itself for detached containers'
REFUSED = ((('-t', '--tty'), TTY), (('-d', '--detach'), DETACH))


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise Error('--run: ' + message)


class Refuse(argparse.Action):
    """docker run's options that make no sense for a process on the host: refused, with the reason."""

    def __init__(self, option_strings, dest, why, **kw):
        super().__init__(option_strings, dest, nargs=0, **kw)
        self.why = why

    def __call__(self, parser, namespace, values, option_string=None):
        die('--run: %s: %s' % (option_string, self.why))


def parser():
    p = Parser(prog='--run', add_help=False, allow_abbrev=False)
    for names in FLAGS:
        p.add_argument(*names, action='store_true')
    for names in VALUED:
        dest = names[-1][2:].replace('-', '_')
        if dest in MULTI:
            p.add_argument(*names, action='append', default=[])
        else:
            p.add_argument(*names)
    for names, why in REFUSED:
        p.add_argument(*names, action=Refuse, why=why, dest='refused')
    return p


def unsupported(a):
    die("--run: the docker run option '%s' is not supported here (see --help)" % a)


def split(argv):
    """(options, IMAGE's index): the options before IMAGE (or before a `--`), each with its value,
    rewritten so that a value that starts with '-' stays a value (`--opt=value`, `-eVALUE`), as
    docker run reads it; the parser reads only those."""
    valued = {s for names in VALUED for s in names}
    flags = {s for names in FLAGS for s in names} | {s for names, _ in REFUSED for s in names}
    opts, i = [], 0
    while i < len(argv):
        a = argv[i]
        if a == '--':
            return opts, i + 1
        if not a.startswith('-') or a == '-':
            return opts, i
        i += 1
        if a.startswith('--'):
            if a.split('=', 1)[0] in flags and '=' in a:
                die('--run: %s takes no value' % a.split('=', 1)[0])
            if a in valued:
                if i >= len(argv):
                    die('--run: %s needs a value' % a)
                a, i = a + '=' + argv[i], i + 1
            opts.append(a)
            continue
        # -e VAL, -eVAL, and clusters like -ie VAL: the first letter that takes a value takes the
        # rest of the word, or the next word
        for k, c in enumerate(a[1:], 1):
            if '-' + c in valued:
                if k == len(a) - 1:
                    if i >= len(argv):
                        die('--run: -%s needs a value' % c)
                    opts += [a + argv[i]] if argv[i] else [a, '']
                    i += 1
                else:
                    opts.append(a)
                break
            if '-' + c not in flags:
                unsupported(a)
        else:
            opts.append(a)
    return opts, i


def parse(argv):
    """The docker-run subset: a dict of the options, 'image' and 'cmd' (the words after IMAGE, unparsed)."""
    opts, i = split(argv)
    ns, unknown = parser().parse_known_args(opts)
    if unknown:
        unsupported(unknown[0])
    if i >= len(argv):
        die('--run needs an IMAGE (see --help)')
    r = vars(ns)
    r.pop('refused', None)
    r['image'], r['cmd'] = argv[i], list(argv[i + 1:])
    return r


class RunSpec:
    """The container's description for init (JSON through fw_cfg) and what QEMU needs for it:
    9p shares for host paths, port forwards for -p."""

    def __init__(self, r, stage):
        """r: parse()'s result; stage: the run's private directory, a path made by Machine.prepare()
        (its parent must exist: files are hard-linked there when on its filesystem)."""
        self.qemu = []
        self.hostfwd = []
        self.shares = []
        self.stage = stage              # the run's private directory (spec, socket, staged files)
        self.files = []                 # files shared alone: (src, dir, readonly), made by stage_files()
        self.made = []
        s = {'image': r['image'], 'cmd': r['cmd'], 'interactive': r['interactive'], 'rm': r['rm'],
             'env': [], 'binds': [], 'ports': [], 'shares': self.shares}
        if not re.fullmatch(r'[A-Za-z0-9][A-Za-z0-9._/:@-]*', r['image']):
            die("--run: '%s' is not an image reference" % r['image'])
        for e in r['env']:
            if '=' not in e:
                if e not in os.environ:
                    continue            # docker run leaves out a name the environment lacks
                e = '%s=%s' % (e, os.environ[e])
            if not re.fullmatch(r'[^=\s]+=.*', e, re.S):
                die("--run: -e '%s': not KEY=VALUE" % e)
            s['env'].append(e)
        for v in r['volume']:
            s['binds'].append(self.volume(v))
        for p in r['publish']:
            s['ports'].append(self.publish(p))
        if r.get('image_tar'):
            tar = os.path.abspath(r['image_tar'])
            if not os.path.isfile(tar):
                die("--run: --image-tar '%s' is not a file" % r['image_tar'])
            s['image_tar'] = self.share_file(tar, True)
        for key in ('name', 'workdir', 'user', 'commit'):
            if r.get(key):
                s[key] = r[key]
        if 'name' in s and not re.fullmatch(r'[a-zA-Z0-9][a-zA-Z0-9_.-]*', s['name']):
            die("--run: --name '%s': letters, digits, '_', '.' and '-' only" % s['name'])
        if 'commit' in s and not re.fullmatch(r'[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?', s['commit']):
            die("--run: --commit '%s' is not REPO[:TAG] (lower-case repository)" % s['commit'])
        if r.get('entrypoint') is not None:
            s['entrypoint'] = [r['entrypoint']] if r['entrypoint'] else []
        if r.get('stop_timeout') is not None:
            if not re.fullmatch(r'-?[0-9]+', r['stop_timeout']):
                die("--run: --stop-timeout '%s' is not a number of seconds" % r['stop_timeout'])
            s['stop_timeout'] = int(r['stop_timeout'])
        self.spec = s

    def share(self, path, readonly, probe=None):
        """A host directory for the guest: 9p tag odN, mounted by init at /run/onlydocker/share/odN.
        The guest's owners and modes (setuid bits too) are kept in user.virtfs.* xattrs, never
        applied to the host's files (security_model=mapped-xattr); a filesystem without user
        xattrs gets them applied as they are (none), and a warning says so. `probe`: an existing
        directory on the same filesystem, for a directory not made yet."""
        tag = 'od%d' % len(self.shares)
        model = 'mapped-xattr' if readonly or xattrs_work(probe or path) else 'none'
        if model == 'none':
            warn("warning: --run: %s has no user xattrs: owners and modes the container sets (setuid too) "
                 "land on the host's files" % (probe or path))
        self.qemu += ['-fsdev', 'local,id=fs%s,path=%s,security_model=%s,multidevs=remap%s'
                      % (tag, qesc(path), model, ',readonly=on' if readonly else ''),
                      '-device', 'virtio-9p-pci,fsdev=fs%s,mount_tag=%s' % (tag, tag)]
        self.shares.append({'tag': tag, 'readonly': readonly})
        return '/run/onlydocker/share/' + tag

    def share_file(self, src, readonly):
        """A file alone for the guest, never its siblings: 9p shares directories, so the share is a
        directory of its own holding a hard link to the file (the same inode: reads and writes are
        the host file's, as with docker's bind mount). That directory is in the run's private one
        when it is on the file's filesystem, else next to the file (hidden, removed at the end);
        a read-only file that can be linked in neither place is copied. Planned here, made by
        stage_files(), so building the command creates nothing (--dry-run)."""
        parent, n = os.path.dirname(src), len(self.files)
        if os.stat(os.path.dirname(self.stage)).st_dev == os.stat(src).st_dev or readonly and not os.access(parent, os.W_OK):
            d, probe = os.path.join(self.stage, 'f%d' % n), os.path.dirname(self.stage)
        elif os.access(parent, os.W_OK):
            d, probe = os.path.join(parent, '.kvm-run-%d-%d' % (os.getpid(), n)), parent
        else:
            die("--run: a file shared alone and read-write (%s) is hard-linked into a directory of its own, made "
                "next to it, and %s is not writable: share its directory instead, or add :ro" % (src, parent))
        self.files.append((src, d, readonly))
        return '%s/%s' % (self.share(d, readonly, probe), os.path.basename(src))

    def stage_files(self):
        """Makes the directories share_file() planned; unstage() removes them (only those)."""
        for src, d, readonly in self.files:
            os.mkdir(d, 0o700)
            self.made.append(d)
            dst = os.path.join(d, os.path.basename(src))
            try:
                os.link(src, dst)
            except OSError as e:
                if not readonly:
                    die("--run: linking %s into %s: %s; share its directory instead, or add :ro"
                        % (src, d, e.strerror))
                shutil.copy2(src, dst)      # on another filesystem, or not ours to link: a copy

    def unstage(self):
        for d in self.made:
            shutil.rmtree(d, ignore_errors=True)
        self.made = []

    def volume(self, v):
        parts = v.split(':')
        if len(parts) not in (2, 3) or not parts[0] or not parts[1].startswith('/'):
            die("--run: -v '%s': give SRC:/container/path[:ro|rw]" % v)
        mode = parts[2] if len(parts) == 3 else 'rw'
        if mode not in ('ro', 'rw'):
            die("--run: -v '%s': the mode must be ro or rw" % v)
        src = parts[0]
        if '/' not in src and not src.startswith('.'):
            return v                    # a named volume, on the data disk
        src = os.path.abspath(src)
        if not os.path.exists(src):
            die("--run: -v '%s': %s does not exist on this host" % (v, src))
        if os.path.isdir(src):
            guest = self.share(src, mode == 'ro')
        else:
            guest = self.share_file(src, mode == 'ro')
        return '%s:%s:%s' % (guest, parts[1], mode)

    def publish(self, p):
        m = re.fullmatch(r'(?:(\d+\.\d+\.\d+\.\d+):)?(\d+):(\d+)(?:/(tcp|udp))?', p)
        if not m or not 0 < int(m.group(2)) < 65536 or not 0 < int(m.group(3)) < 65536:
            die("--run: -p '%s': give [IP:]HOSTPORT:CONTAINERPORT[/tcp|udp]" % p)
        ip, host, ctr, proto = m.group(1) or '', int(m.group(2)), int(m.group(3)), m.group(4) or 'tcp'
        self.hostfwd.append('hostfwd=%s:%s:%d-:%d' % (proto, ip, host, host))
        return {'host': host, 'container': ctr, 'proto': proto}


def xattrs_work(path):
    """Whether the directory takes user xattrs (9p's mapped-xattr keeps the guest's metadata there)."""
    try:
        os.getxattr(path, 'user.onlydocker.probe')      # read only: no side effect, even for --dry-run
        return True
    except OSError as e:
        return e.errno == errno.ENODATA
