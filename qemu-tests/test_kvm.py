"""./kvm itself, without booting: the QEMU command it builds (--dry-run) for --name, --lan and --run,
and the clear refusal of bad input, which must never start QEMU nor touch a disk."""
import json
import os
import subprocess

from harness import OUT, ROOT

KVM = os.path.join(ROOT, 'kvm')


def kvm(*args, env=None):
    r = subprocess.run([KVM, '--accel', 'tcg', *args], stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=30, env=env and dict(os.environ, **env))
    return r.returncode, r.stdout, r.stderr


def test_name_gives_a_disk_a_log_and_a_lan_address_of_its_own():
    st, out, err = kvm('--dry-run', '--name', 'n1', '--lan', 'seg', '--net', 'none')
    assert st == 0, err
    assert 'file=%s,' % os.path.join(ROOT, 'disk', 'n1.img') in out, out
    assert 'logfile=%s' % os.path.join(ROOT, 'disk', 'n1.log') in out, out
    assert 'stream,id=lan,server=off,addr.type=unix,addr.path=' in out and 'lan-seg.sock' in out, out
    mac1 = out.split('netdev=lan,mac=')[1].split()[0]
    st, out2, _ = kvm('--dry-run', '--name', 'n2', '--lan', 'seg', '--net', 'none')
    mac2 = out2.split('netdev=lan,mac=')[1].split()[0]
    assert mac1 != mac2 and mac1.startswith('52:54:00:'), (mac1, mac2)
    assert not os.path.exists(os.path.join(ROOT, 'disk', 'n1.img')), '--dry-run created a disk'


def test_run_builds_the_spec_and_the_shares():
    d = os.path.join(OUT, 'test_kvm.share')
    os.makedirs(d, exist_ok=True)
    st, out, err = kvm('--dry-run', '--disk', 'none', '--net', 'restricted', '--run', '-i', '--rm', '-e', 'A=1',
                       '-v', '%s:/data:ro' % d, '-v', 'named:/cache', '-p', '127.0.0.1:18080:80', '-w', '/data',
                       '-u', '65534', '--name', 'c1', '--entrypoint', '', 'repo/img:tag', 'sh', '-c', 'echo hi')
    assert st == 0, err
    cmd, spec = out.rstrip('\n').rsplit('\n', 1)
    spec = json.loads(spec)
    assert spec['image'] == 'repo/img:tag' and spec['cmd'] == ['sh', '-c', 'echo hi'], spec
    assert spec['binds'] == ['/run/onlydocker/share/od0:/data:ro', 'named:/cache'], spec
    assert spec['shares'] == [{'tag': 'od0', 'readonly': True}], spec
    assert spec['ports'] == [{'host': 18080, 'container': 80, 'proto': 'tcp'}], spec
    assert (spec['env'], spec['workdir'], spec['user'], spec['name'], spec['entrypoint']) == \
        (['A=1'], '/data', '65534', 'c1', []), spec
    assert spec['interactive'] and spec['rm'] and not spec.get('pull'), spec
    assert 'hostfwd=tcp:127.0.0.1:18080-:18080' in cmd and 'mount_tag=od0' in cmd and 'readonly=on' in cmd, cmd
    assert 'od.run ip=10.0.2.15::10.0.2.2:255.255.255.0::eth0:off:10.0.2.3 od.iptables=0' in cmd, cmd
    assert 'name=opt/org.onlydocker/run' in cmd and 'name=org.onlydocker.run' in cmd, cmd


def test_a_file_is_shared_alone_and_dry_run_stages_nothing():
    d = os.path.join(OUT, 'test_kvm.file')
    os.makedirs(d, exist_ok=True)
    for f in ('conf', 'secret'):
        with open(os.path.join(d, f), 'w') as fh:
            fh.write(f + '\n')
    st, out, err = kvm('--dry-run', '--disk', 'none', '--net', 'none', '--run', '-v', '%s/conf:/etc/conf' % d,
                       'repo/img:tag')
    assert st == 0, err
    cmd, spec = out.rstrip('\n').rsplit('\n', 1)
    paths = [a.split('path=')[1].split(',')[0] for a in cmd.split() if a.startswith('local,id=fsod0,')]
    assert len(paths) == 1 and paths[0] != d and os.path.dirname(paths[0]) != '/', (paths, cmd)
    assert json.loads(spec)['binds'] == ['/run/onlydocker/share/od0/conf:/etc/conf:rw'], spec
    assert sorted(os.listdir(d)) == ['conf', 'secret'], os.listdir(d)     # --dry-run made nothing
    # With the run's private directory on another filesystem (no hard link there), the
    # directory of its own goes next to the file, hidden.
    if os.stat('/dev/shm').st_dev != os.stat(d).st_dev:
        st, out, err = kvm('--dry-run', '--disk', 'none', '--net', 'none', '--run', '-v', '%s/conf:/etc/conf' % d,
                           'repo/img:tag', env={'TMPDIR': '/dev/shm'})
        assert st == 0 and ('path=%s/.kvm-run-' % d) in out, (err, out)
        assert sorted(os.listdir(d)) == ['conf', 'secret'], os.listdir(d)


def test_bad_input_is_named_and_nothing_starts():
    cases = [
        (('--mem', 'lots'), "--mem must be a positive number of MiB, got 'lots'"),
        (('--net', 'wide'), "--net must be user, restricted or none, got 'wide'"),
        (('--name', '../etc'), "--name must be letters, digits"),
        (('--mac', '01:00:5e:00:00:01', '--lan', 'x'), '--mac must be a unicast address'),
        (('--disk', '/nonexistent/dir/x.img'), "does not exist (add --new-disk to create it)"),
        (('--run',), '--run needs an IMAGE'),
        (('--run', '-t', 'img'), 'a TTY is not offered'),
        (('--run', '--privileged', 'img'), "the docker run option '--privileged' is not supported here"),
        (('--run', '-v', 'relative:dir', 'img'), "-v 'relative:dir': give SRC:/container/path"),
        (('--run', '-v', '/nonexistent/x:/x', 'img'), '/nonexistent/x does not exist on this host'),
        (('--run', '-p', '80', 'img'), "-p '80': give [IP:]HOSTPORT:CONTAINERPORT"),
        (('--run', '--commit', 'Bad Name', 'img'), "--commit 'Bad Name' is not REPO[:TAG]"),
        (('--run', '--image-tar', '/nonexistent.tar', 'img'), "--image-tar '/nonexistent.tar' is not a file"),
        (('--net', 'none', '--run', '-p', '1:2', 'img'), '-p needs a network'),
    ]
    for args, msg in cases:
        st, out, err = kvm('--disk', 'none', *args) if args[0] != '--disk' else kvm(*args)
        assert st == 2, (args, st, err)
        assert msg in err, (args, err)
        assert out == '', (args, out)


def test_paths_with_commas_are_escaped_for_qemu():
    # QEMU splits option strings at ',': a path holding one must reach it doubled, or it names
    # another file (or an option) instead.
    d = os.path.join(OUT, 'test_kvm.a,b')
    os.makedirs(d, exist_ok=True)
    disk = os.path.join(d, 'x,y.img')
    open(disk, 'wb').close()
    st, out, err = kvm('--dry-run', '--disk', disk, '--net', 'none', '--qmp', os.path.join(d, 'q.sock'))
    assert st == 0, err
    assert 'file=%s,format=raw' % disk.replace(',', ',,') in out, out
    assert 'unix:%s,server=on' % os.path.join(d, 'q.sock').replace(',', ',,') in out, out
    st, out, err = kvm('--dry-run', '--disk', 'none', '--net', 'restricted', '--run', '-v', '%s:/data' % d, 'img', 'true')
    assert st == 0, err
    assert 'path=%s,security_model=' % d.replace(',', ',,') in out, out
