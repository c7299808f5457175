"""The documents' write_files and timezone (#18): files written before dockerd starts, under /etc
and the data disk's /var/lib/docker/onlydocker and a declared directory, with their modes, owners,
base64 content and append; every document's entries, the later winning for one path; refused
paths (outside, '..', through a symbolic link) and a bad entry one line each with line and
column, the rest written and nothing of theirs on the data disk; the time zone on the host and
in dom0, and an unknown zone: one line, UTC kept."""
import atexit
import os
import re
import shutil
import subprocess
import tempfile

from harness import DOM0_BANNER, OUT, Appliance

DISK_DOC = """#cloud-config
write_files:
  - path: /etc/onlydocker-test/both
    content: "from the disk\\n"
  - path: /var/lib/docker/onlydocker/disk-only
    content: "disk\\n"
onlydocker:
  write_files:
    dirs: [/opt/declared]
"""
FW_DOC = """#cloud-config
timezone: Europe/Berlin
write_files:
  - path: /etc/onlydocker-test/plain
    content: |
      hello
    permissions: '0640'
    owner: 1000:100
  - path: /var/lib/docker/onlydocker/persist/b64
    encoding: b64
    content: aGVsbG8gZnJvbSBiNjQK
    permissions: '0600'
  - path: /var/lib/docker/onlydocker/bad
    content: never
    permissions: rw-r--r--
  - path: /opt/declared/x
    content: "declared\\n"
  - path: /opt/undeclared/x
    content: never
  - path: /var/lib/docker/onlydocker/../never/x
    content: never
  - path: /var/lib/docker/onlydocker/escape/escaped
    content: never
  - path: /etc/resolv.conf
    content: never
  - path: /etc/onlydocker-test/both
    content: "from fw_cfg\\n"
  - path: /var/lib/docker/onlydocker/disk-only
    content: "appended\\n"
    append: true
  - path: /etc/docker/daemon.json
    content: '{"labels": ["from=write_files"]}'
"""
SRC = 'config: fw_cfg opt/org.onlydocker/config: '


def at(key, value, doc=FW_DOC):
    """'line L, column C' of `value` on the document's line `key: value`, as libyaml counts (from 1)."""
    for n, line in enumerate(doc.split('\n'), 1):
        if line.strip().lstrip('- ') == '%s: %s' % (key, value):
            return 'line %d, column %d' % (n, line.index(value) + 1)
    raise KeyError(value)


def make_disk_with_link(path):
    """A data disk whose onlydocker/ holds the disk's document and a link out of it, to /etc."""
    root = path + '.d'
    os.makedirs(os.path.join(root, 'onlydocker'))
    with open(os.path.join(root, 'onlydocker', 'config.yaml'), 'w') as f:
        f.write(DISK_DOC)
    os.symlink('/etc', os.path.join(root, 'onlydocker', 'escape'))
    with open(path, 'wb') as f:
        f.truncate(1 << 30)
    subprocess.run(['mkfs.ext4', '-q', '-F', '-L', 'DOCKER', '-E', 'lazy_itable_init=1,lazy_journal_init=1',
                    '-d', root, path], check=True)
    shutil.rmtree(root)
    return path


os.makedirs(OUT, exist_ok=True)
DISKS = tempfile.mkdtemp(prefix='test_files-', dir=OUT)
atexit.register(shutil.rmtree, DISKS, True)
BOOT = {'disk': make_disk_with_link(os.path.join(DISKS, 'docker.img')), 'config': FW_DOC}


def ready(vm):
    vm.wait_for(DOM0_BANNER, timeout=300, since=0)


def stat(vm, path):
    out, _ = vm.run("stat -c '%%a %%u %%g' %s && cat %s" % (path, path), check=True)
    return out


def test_files_are_written_with_their_modes_and_owners(vm):
    ready(vm)
    want = {
        '/host/etc/onlydocker-test/plain': '640 1000 100\nhello\n',
        '/host/var/lib/docker/onlydocker/persist/b64': '600 0 0\nhello from b64\n',
        '/host/opt/declared/x': '644 0 0\ndeclared\n',
        # The data disk's document and fw_cfg's: the later wins for one path, append adds to it.
        '/host/etc/onlydocker-test/both': '644 0 0\nfrom fw_cfg\n',
        '/host/var/lib/docker/onlydocker/disk-only': '644 0 0\ndisk\nappended\n',
    }
    got = {path: stat(vm, path) for path in want}
    assert got == want, got
    assert re.search(r'write_files: 8 written, 0 already so, 3 refused', vm.text), vm.init_lines()


def test_files_are_there_before_dockerd_starts(vm):
    ready(vm)
    out, _ = vm.run("docker info -f '{{json .Labels}}'", check=True, timeout=60)
    assert re.search(r'^\["from=write_files"\]$', out, re.M), out
    assert vm.text.index('write_files: ') < vm.text.index('dockerd: started'), vm.init_lines()


def test_refused_entries_are_one_line_each_and_write_nothing(vm):
    ready(vm)
    lines = [
        (at('permissions', 'rw-r--r--'), "write_files entry 3, not written: permissions: 'rw-r--r--' is not an octal mode"),
        (at('path', '/opt/undeclared/x'), "write_files entry 5, not written: '/opt/undeclared/x' is outside /etc, "
                                          "/var/lib/docker/onlydocker and the declared directories"),
        (at('path', '/var/lib/docker/onlydocker/../never/x'),
         "write_files entry 6, not written: path: '/var/lib/docker/onlydocker/../never/x' has an empty, '.' or '..' component"),
        (at('path', '/var/lib/docker/onlydocker/escape/escaped'),
         "write_files entry 7, not written: /var/lib/docker/onlydocker/escape is a symbolic link, which write_files never follows"),
        (at('path', '/etc/resolv.conf'),
         "write_files entry 8, not written: /etc/resolv.conf is a symbolic link, which write_files never follows"),
    ]
    for where, msg in lines:
        assert SRC + where + ': ' + msg in vm.text, (where, msg, vm.init_lines(30))
    assert len(re.findall(re.escape(SRC), vm.text)) == len(lines), vm.init_lines(30)
    # Nothing of theirs anywhere: not on the data disk, not through the link, not in place of one.
    out, _ = vm.run('ls -d /host/var/lib/docker/onlydocker/bad /host/opt/undeclared /host/var/lib/docker/never '
                    '/host/etc/escaped 2>&1; readlink /host/etc/resolv.conf', check=False)
    assert out.count('No such file or directory') == 4, out
    assert out.rstrip().endswith('/run/resolvconf/resolv.conf'), out


def test_the_time_zone_on_the_host_and_in_dom0(vm):
    ready(vm)
    assert 'host: timezone Europe/Berlin' in vm.text, vm.init_lines()
    out, _ = vm.run('readlink /host/etc/localtime; cat /host/etc/timezone; date +%Z; chroot /host date +%Z', check=True)
    link, name, dom0, host = out.split()
    assert (link, name) == ('/usr/share/zoneinfo/Europe/Berlin', 'Europe/Berlin'), out
    assert dom0 in ('CET', 'CEST') and host == dom0, out
    # TZ= works too: the zone files are the engine image's, linked in dom0's image.
    out, _ = vm.run('TZ=Asia/Tokyo date +%Z', check=True)
    assert out.strip() == 'JST', out


def test_an_unknown_zone_is_one_line_and_utc_stays():
    with Appliance(disk=False, config='timezone: Mars/Olympus_Mons\n') as vm:
        vm.wait_for(DOM0_BANNER, timeout=300)
        assert ("config: fw_cfg opt/org.onlydocker/config: line 1, column 11: timezone 'Mars/Olympus_Mons' is not a "
                "zone of /usr/share/zoneinfo; UTC kept") in vm.text, vm.init_lines()
        out, _ = vm.run('date +%Z; chroot /host date +%Z; ls /host/etc/localtime 2>&1', check=False)
        assert out.split()[:2] == ['UTC', 'UTC'], out
        assert 'No such file or directory' in out, out
