"""Remote access from this machine (#17), with the host's OpenSSH client and docker CLI: a key given
with kvm --ssh-key logs in, others and passwords are refused, docker runs a container over ssh
and through kvm --docker-socket, the forward is on 127.0.0.1 only, sshd comes back when killed;
the host keys outlive a dom0 upgrade and, with a key added to the data disk's file, a reboot,
after which the socket is gone; with no key nothing listens. One shared boot, two more."""
import atexit
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

from harness import DOM0_BANNER, ROOT, Appliance

HOME = tempfile.mkdtemp(prefix='odssh-')
atexit.register(shutil.rmtree, HOME, True)
KNOWN = os.path.join(HOME, 'known_hosts')
DOCKER = os.path.join(ROOT, 'build', 'pkgroot', 'usr', 'bin', 'docker')   # trixie's CLI, which the build fetched
SSHD_UP = r'dom0: ssh: Server listening on 0\.0\.0\.0 port 22'


def keygen(name):
    path = os.path.join(HOME, name)
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', path], check=True,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    return path


def pub(key):
    with open(key + '.pub') as f:
        return f.read().strip()


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


K1 = keygen('k1')   # given with --ssh-key
K2 = keygen('k2')   # only commented out on the data disk at first; added from dom0 later
PORT = free_port()
SOCK = os.path.join(HOME, 'docker.sock')
BOOT = {'ssh_port': PORT, 'ssh_keys': [K1 + '.pub'], 'docker_socket': SOCK,
        'disk_files': {'onlydocker/authorized_keys': '# disabled: %s\n' % pub(K2)}}


def ssh(key, *cmd, port=PORT, opts=()):
    """The host's ssh as root@127.0.0.1:port with one key and no agent or config of the user's."""
    # ssh takes each option's first value: opts go first to override.
    argv = ['ssh', '-F', 'none', *opts, '-p', str(port), '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none',
            '-o', 'BatchMode=yes', '-o', 'UserKnownHostsFile=' + KNOWN, '-o', 'GlobalKnownHostsFile=/dev/null',
            '-o', 'StrictHostKeyChecking=accept-new', '-o', 'ConnectTimeout=60', 'root@127.0.0.1', *cmd]
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)


KNOWN_FOR = [None]


def ready(vm, same_keys=False):
    """sshd listens and the user network's address is up (the forward goes to 10.0.2.15). A new
    shared boot (after a failed test) has a new disk and host keys: KNOWN starts again for it."""
    if KNOWN_FOR[0] is not vm and not same_keys and os.path.exists(KNOWN):
        os.unlink(KNOWN)
    KNOWN_FOR[0] = vm
    vm.wait_for(r'network: eth0 has 10\.0\.2\.15/', timeout=300, since=0)
    vm.wait_for(SSHD_UP, timeout=120, since=0)


def fingerprints(text):
    """The host keys' fingerprints the console printed, by type."""
    return dict((t, fp) for fp, t in re.findall(r'dom0: ssh: host key \d+ (SHA256:\S+) \S+ \((\w+)\)', text))


def test_a_key_given_with_ssh_key_logs_in_as_root(vm):
    ready(vm)
    r = ssh(K1, 'id -u; hostname; cat /etc/dom0-release')
    assert r.returncode == 0 and r.stdout.split('\n')[:2] == ['0', 'onlydocker'], (r.returncode, r.stdout, r.stderr)
    assert 'DOM0_VERSION=' in r.stdout, r.stdout
    r = ssh(K1, 'exit 7')
    assert r.returncode == 7, (r.returncode, r.stderr)
    # The console printed every host key's fingerprint, and the one the client met is among them.
    fps = fingerprints(vm.text)
    assert set(fps) == {'ED25519', 'ECDSA', 'RSA'}, vm.text[-3000:]
    seen = subprocess.run(['ssh-keygen', '-l', '-f', KNOWN], capture_output=True, text=True, check=True).stdout
    assert fps['ED25519'] in seen, (fps, seen)


def test_sshd_is_started_again_when_it_dies(vm):
    ready(vm)
    mark = len(vm.text)
    vm.run("kill -9 $(ps -o pid,args | awk '/sshd: .*\\[listener\\]/ && !/awk/ { print $1 }')", check=True)
    vm.wait_for(r'dom0: ssh: sshd ended \(status 137\); starting it again', timeout=30, since=mark)
    vm.wait_for(SSHD_UP, timeout=60, since=mark)
    r = ssh(K1, 'echo', 'back')
    assert r.returncode == 0 and r.stdout == 'back\n', (r.returncode, r.stdout, r.stderr)


def qemu_listeners(pid, port):
    """The local addresses (hex, as /proc/net/tcp* has them) of QEMU's listening sockets on port."""
    inodes = set()
    for fd in os.listdir('/proc/%d/fd' % pid):
        try:
            m = re.fullmatch(r'socket:\[(\d+)\]', os.readlink('/proc/%d/fd/%s' % (pid, fd)))
        except OSError:
            continue
        if m:
            inodes.add(m.group(1))
    found = []
    for table in ('/proc/net/tcp', '/proc/net/tcp6'):
        with open(table) as f:
            for line in f.readlines()[1:]:
                w = line.split()
                addr, hexport = w[1].rsplit(':', 1)
                if w[3] == '0A' and int(hexport, 16) == port and w[9] in inodes:
                    found.append(addr)
    return found


def qemu_pid(kvm_pid):
    """With --docker-socket ./kvm stays, with QEMU its child (without, QEMU takes its place)."""
    with open('/proc/%d/task/%d/children' % (kvm_pid, kvm_pid)) as f:
        for pid in map(int, f.read().split()):
            with open('/proc/%d/comm' % pid) as c:
                if c.read().startswith('qemu-system'):
                    return pid
    raise AssertionError('no QEMU under kvm (pid %d)' % kvm_pid)


def test_the_forwarded_port_is_bound_to_127_0_0_1_only(vm):
    ready(vm)
    pid = qemu_pid(vm.proc.pid)
    assert qemu_listeners(pid, PORT) == ['0100007F'], qemu_listeners(pid, PORT)


def docker_env():
    env = dict(os.environ, DOCKER_CONFIG=os.path.join(HOME, 'docker'))
    env.pop('DOCKER_HOST', None)
    return env


def socket_answers(timeout=90):
    """Waits until the engine answers at kvm's --docker-socket (kvm's ssh tries again every few
    seconds until dom0's sshd is up); returns whether it did."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(SOCK):
            r = subprocess.run([DOCKER, '-H', 'unix://' + SOCK, 'version', '-f', '{{.Server.Version}}'], env=docker_env(),
                               stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
            if r.returncode == 0:
                return True
        time.sleep(0.5)     # polling a file and a socket: no event tells us ssh connected
    return False


def test_docker_socket_runs_a_container_and_gets_its_output_and_status(vm):
    ready(vm)
    assert socket_answers(), 'nothing answered on %s' % SOCK
    assert oct(os.stat(SOCK).st_mode & 0o777) == '0o600'    # this machine's user's alone
    r = subprocess.run([DOCKER, 'run', '--rm', '--entrypoint', 'sh', 'onlydocker/dom0:bundled', '-c',
                        'echo "via the socket"; exit 4'], env=dict(docker_env(), DOCKER_HOST='unix://' + SOCK),
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180)
    assert r.returncode == 4 and r.stdout == 'via the socket\n', (r.returncode, r.stdout, r.stderr)


def test_docker_context_over_ssh_runs_a_container_and_gets_its_output_and_status(vm):
    ready(vm)
    # OpenSSH reads ~/.ssh from the passwd entry, not $HOME: the client's options come from a
    # config file that an `ssh` first on PATH passes with -F.
    conf, bindir = os.path.join(HOME, 'ssh_config'), os.path.join(HOME, 'bin')
    with open(conf, 'w') as f:
        f.write('Host 127.0.0.1\n  IdentityFile %s\n  IdentitiesOnly yes\n  IdentityAgent none\n  BatchMode yes\n'
                '  UserKnownHostsFile %s\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking accept-new\n' % (K1, KNOWN))
    os.makedirs(bindir, exist_ok=True)
    with open(os.path.join(bindir, 'ssh'), 'w') as f:
        f.write('#!/bin/sh\nexec %s -F %s "$@"\n' % (shutil.which('ssh'), conf))
    os.chmod(os.path.join(bindir, 'ssh'), 0o755)
    env = dict(os.environ, PATH=bindir + ':' + os.environ['PATH'], DOCKER_CONFIG=os.path.join(HOME, 'docker'))
    env.pop('DOCKER_HOST', None)
    docker = lambda *a: subprocess.run([DOCKER, *a], env=env, stdin=subprocess.DEVNULL, capture_output=True,
                                       text=True, timeout=180)
    r = docker('context', 'create', 'od', '--docker', 'host=ssh://root@127.0.0.1:%d' % PORT)
    assert r.returncode == 0, r.stderr
    r = docker('--context', 'od', 'run', '--rm', '--entrypoint', 'sh', 'onlydocker/dom0:bundled', '-c',
               'echo "from $(hostname -s) in the appliance"; exit 3')
    assert r.returncode == 3 and re.fullmatch(r'from [0-9a-f]{12} in the appliance\n', r.stdout), \
        (r.returncode, r.stdout, r.stderr)


def test_a_different_key_is_refused(vm):
    ready(vm)
    # K2 is on the data disk's file, commented out: it must count for nothing.
    r = ssh(K2, 'true')
    assert r.returncode == 255 and 'Permission denied (publickey)' in r.stderr, (r.returncode, r.stderr)


def test_a_password_is_refused_unasked(vm):
    ready(vm)
    # The server offers publickey alone: no password or keyboard-interactive prompt, ever.
    asked = os.path.join(HOME, 'asked')
    askpass = os.path.join(HOME, 'askpass')
    with open(askpass, 'w') as f:
        f.write('#!/bin/sh\ntouch %s; echo root\n' % asked)
    os.chmod(askpass, 0o755)
    env = dict(os.environ, SSH_ASKPASS=askpass, SSH_ASKPASS_REQUIRE='force', DISPLAY=':0')
    r = subprocess.run(['ssh', '-F', 'none', '-p', str(PORT), '-o', 'PubkeyAuthentication=no', '-o', 'BatchMode=no',
                        '-o', 'PreferredAuthentications=password,keyboard-interactive', '-o', 'IdentityAgent=none',
                        '-o', 'UserKnownHostsFile=' + KNOWN, '-o', 'StrictHostKeyChecking=accept-new', 'root@127.0.0.1',
                        'true'], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert r.returncode == 255 and 'Permission denied (publickey).' in r.stderr, (r.returncode, r.stderr)
    assert not os.path.exists(asked), 'the client was asked for a password'


def test_host_keys_outlive_a_dom0_upgrade_and_the_socket_comes_back(vm):
    ready(vm)
    before = fingerprints(vm.text)
    mark = vm.upgrade_dom0('ssh-up')
    vm.wait_for(r'onlydocker dom0 ssh-up ready', timeout=180, since=mark)
    vm.wait_for(SSHD_UP, timeout=120, since=mark)
    after = fingerprints(vm.text[mark:])
    assert after == before, (before, after)
    r = ssh(K1, 'grep', 'DOM0_VERSION', '/etc/dom0-release')  # StrictHostKeyChecking: known_hosts as before
    assert r.returncode == 0 and r.stdout == 'DOM0_VERSION=ssh-up\n', (r.returncode, r.stdout, r.stderr)
    assert socket_answers(), 'the socket did not come back after the new dom0'


def test_host_keys_and_a_key_added_on_the_disk_outlive_a_reboot(vm):
    # The last test on the shared boot, which it ends: a reboot is what it checks, and booting
    # another machine for the checks above would cost a boot.
    ready(vm)
    before = fingerprints(vm.text)
    vm.run("echo '%s' >> /host/var/lib/docker/onlydocker/authorized_keys" % pub(K2), check=True)
    vm.send('poweroff\n')
    assert vm.wait_exit(90) == 0
    assert not os.path.exists(SOCK), 'kvm left its --docker-socket behind'
    with Appliance(name='test_ssh.reboot', disk=vm.disk, ssh_port=PORT) as again:   # no --ssh-key now
        ready(again, same_keys=True)
        assert fingerprints(again.text) == before, (before, again.text[-3000:])
        assert 'made host key' not in again.text, again.text[-3000:]
        r = ssh(K2, 'echo', 'disk-key')    # StrictHostKeyChecking: the known_hosts of the first boot
        assert r.returncode == 0 and r.stdout == 'disk-key\n', (r.returncode, r.stdout, r.stderr)
        r = ssh(K1, 'true')                # --ssh-key was for that boot alone
        assert r.returncode == 255 and 'Permission denied' in r.stderr, (r.returncode, r.stderr)


def banner_from(port, timeout=60):
    """What a TCP client on the host's forwarded port reads before the connection ends (b'' when
    nothing listens behind it: QEMU accepts, finds the guest's port closed, and closes)."""
    got, deadline = b'', time.monotonic() + timeout
    with socket.create_connection(('127.0.0.1', port), timeout=timeout) as s:
        while time.monotonic() < deadline and b'\n' not in got:
            s.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                data = s.recv(256)
            except ConnectionResetError:
                break
            if not data:
                break
            got += data
    return got


def test_with_no_key_nothing_listens_and_diskless_host_keys_last_a_boot():
    port = free_port()
    with Appliance(name='test_ssh.nokey', disk=False, ssh_port=port) as vm:
        vm.wait_for(DOM0_BANNER, timeout=300)
        assert len(re.findall(r'dom0: ssh: no authorized key .*nothing listens on port 22', vm.text)) == 1, vm.tail()
        out, _ = vm.run("awk '$4 == \"0A\" && $2 ~ /:0016$/' /proc/net/tcp /proc/net/tcp6; echo end", check=True)
        assert out.strip().split('\n')[-1] == 'end' and ':0016' not in out, out
        vm.wait_for(r'network: eth0 has 10\.0\.2\.15/', timeout=120, since=0)
        assert banner_from(port) == b''
        # A key on the tmpfs, then a new dom0 (exit): sshd starts, and the console says the host
        # keys will not outlive this boot.
        vm.run("mkdir -p /host/var/lib/docker/onlydocker && echo '%s' > /host/var/lib/docker/onlydocker/authorized_keys"
               % pub(K1), check=True)
        mark = len(vm.text)
        vm.send('exit\n')
        vm.wait_for(r'dom0: ssh: no data disk: these host keys live for this boot only', timeout=120, since=mark)
        vm.wait_for(SSHD_UP, timeout=120, since=mark)
        assert banner_from(port).startswith(b'SSH-2.0-OpenSSH_10')
        r = ssh(K1, 'echo', 'diskless', port=port, opts=('-o', 'UserKnownHostsFile=' + KNOWN + '.nokey'))
        assert r.returncode == 0 and r.stdout == 'diskless\n', (r.returncode, r.stdout, r.stderr)
