"""`kvm --run`: one container in an appliance of its own, behaving like a process on the host:
its streams, its exit status, stdin, signals, --rm, --commit, -v, -p, and a missing image.
Each test boots ./kvm --run itself (TCG, restricted network) on a data disk of its own."""
import hashlib
import os
import re
import signal
import socket
import subprocess
import time

import harness
from harness import ROOT, KvmRun as Run

IMAGE = 'onlydocker/busybox:test'
TAR = os.path.join(ROOT, 'build', 'test-images', 'busybox.tar')


def containers_on(disk):
    """The containers the engine keeps on an ext4 data disk, read offline with debugfs."""
    r = subprocess.run(['debugfs', '-R', 'ls /containers', disk], capture_output=True, text=True)
    return [n for n in r.stdout.split() if re.fullmatch(r'[0-9a-f]{64}', n)]


def test_exit_status_and_both_streams_whole():
    lines = 'for i in 1 2 3; do echo out$i; echo err$i >&2; done'
    r = Run(['--image-tar', TAR, IMAGE, 'sh', '-c', lines + '; seq 1 100000; exit 3'])
    status, out, err = r.finish()
    assert status == 3, r.why('status %d, stderr %r' % (status, err[-500:]))
    expect = b'out1\nout2\nout3\n' + b''.join(b'%d\n' % i for i in range(1, 100001))
    assert out == expect, r.why('stdout differs: %d bytes, expected %d; starts %r' % (len(out), len(expect), out[:80]))
    assert err == b'err1\nerr2\nerr3\n', r.why('stderr: %r' % err)
    # Without --rm, the container stays on the data disk.
    assert len(containers_on(r.disk)) == 1, containers_on(r.disk)


def test_stdin_order_of_streams_and_rm():
    # Each line waits for the one before to be out (the container paces itself) so the two streams'
    # order is the container's; both go to one pipe here, as `2>&1` would.
    script = ('while read l; do echo "out:$l"; sleep 0.3; echo "err:$l" >&2; sleep 0.3; done; '
              'echo "stdin ended"')
    r = Run(['-i', '--rm', '--image-tar', TAR, IMAGE, 'sh', '-c', script], stdin=subprocess.PIPE, merge=True)
    r.proc.stdin.write(b'one\ntwo\n')
    r.proc.stdin.close()            # the container sees the end of its input
    r.proc.stdin = None
    status, out, _ = r.finish()
    assert status == 0, r.why('status %d: %r' % (status, out))
    assert out == b'out:one\nerr:one\nout:two\nerr:two\nstdin ended\n', r.why(repr(out))
    assert containers_on(r.disk) == [], r.why('--rm left %s' % containers_on(r.disk))


def test_sigterm_stops_the_container_gracefully():
    r = Run(['--image-tar', TAR, IMAGE, 'sh', '-c',
             'trap "echo got TERM; exit 42" TERM; echo ready; while :; do sleep 1; done'])
    r.wait_output(r'ready\n')
    t0 = time.monotonic()
    r.proc.send_signal(signal.SIGTERM)
    status, out, err = r.finish()
    assert status == 42, r.why('status %d, stderr %r' % (status, err))
    assert out.endswith(b'got TERM\n'), r.why(repr(out))
    assert b'stopping the container' in err, r.why(err)
    print('# SIGTERM to exit: %.1f s' % (time.monotonic() - t0))


def test_a_second_signal_kills_a_container_that_ignores_the_first():
    r = Run(['--stop-timeout', '600', '-u', '65534', '--image-tar', TAR, IMAGE, 'sh', '-c',
             'trap "" TERM INT; echo ready as $(id -u); while :; do sleep 1; done'])
    r.wait_output(r'ready as 65534\n')
    r.proc.send_signal(signal.SIGINT)
    # Two signals close together are one to the receiver: the second goes once the first is taken.
    r.wait_output(r'stopping the container', timeout=30, stream='err')
    r.proc.send_signal(signal.SIGINT)
    status, _, err = r.finish(timeout=120)
    assert status == 137, r.why('status %d, stderr %r' % (status, err))
    assert b'killing the container' in err, r.why(err)


def test_ctrl_c_overtakes_stdin_the_container_does_not_read():
    # Endless stdin that the container never reads: input backs up in the guest, and the stop
    # request must not wait behind it (the first Ctrl-C stops the container; no third one needed).
    with open('/dev/zero', 'rb') as zero:
        r = Run(['-i', '--image-tar', TAR, IMAGE, 'sh', '-c',
                 'trap "echo stopping; exit 7" INT TERM; echo ready; while :; do sleep 1; done'], stdin=zero)
    r.wait_output(r'ready\n')
    t0 = time.monotonic()
    r.proc.send_signal(signal.SIGINT)
    status, out, err = r.finish(timeout=120)
    assert status == 7, r.why('status %d, stderr %r' % (status, err))
    assert out.endswith(b'stopping\n'), r.why(repr(out))
    assert b'killing the container' not in err, r.why(err)
    print('# SIGINT to exit with stdin backed up: %.1f s' % (time.monotonic() - t0))


def test_megabytes_of_stdin_from_a_file_arrive_whole():
    # A regular file as stdin (epoll refuses one), larger than the stdin window many times over:
    # every byte arrives, in order, and the window's credit never runs dry.
    path = os.path.join(harness.OUT, harness.TEST.test + '.in')
    data = hashlib.sha256(b'seed').digest() * (3 * 1024 * 1024 // 32 + 5)
    with open(path, 'wb') as f:
        f.write(data)
    with open(path, 'rb') as f:
        r = Run(['-i', '--rm', '--image-tar', TAR, IMAGE, 'sh', '-c', 'wc -c; echo done'], stdin=f)
    t0 = time.monotonic()
    status, out, err = r.finish()
    assert status == 0, r.why('status %d, stderr %r' % (status, err))
    assert out.split() == [str(len(data)).encode(), b'done'], r.why(repr(out))
    print('# %d KiB of stdin through the run port: %.1f s' % (len(data) >> 10, time.monotonic() - t0))


def test_volume_port_and_sigint():
    d = os.path.join(harness.OUT, harness.TEST.test + '.share')
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.unlink(os.path.join(d, f))
    with open(os.path.join(d, 'index.html'), 'w') as f:
        f.write('<p>from the host</p>\n')
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    r = Run(['-p', '127.0.0.1:%d:80' % port, '-v', '%s:/www' % d, '-w', '/www', '-e', 'GREETING=hi there',
             '--image-tar', TAR, IMAGE, 'sh', '-c',
             'trap "exit 0" INT TERM; echo "$GREETING from $(pwd)" > made-inside; httpd -p 80 -h /www; '
             'echo ready; while :; do sleep 1; done'])
    r.wait_output(r'ready\n')
    with socket.create_connection(('127.0.0.1', port), timeout=30) as c:
        c.sendall(b'GET /index.html HTTP/1.0\r\n\r\n')
        reply = b''
        while True:
            data = c.recv(4096)
            if not data:
                break
            reply += data
    assert b'<p>from the host</p>' in reply, r.why(repr(reply))
    with open(os.path.join(d, 'made-inside')) as f:
        assert f.read() == 'hi there from /www\n'
    r.proc.send_signal(signal.SIGINT)
    status, _, err = r.finish()
    assert status == 0, r.why('status %d, stderr %r' % (status, err))


def test_a_file_volume_shares_that_file_alone_and_writes_reach_it():
    d = os.path.join(harness.OUT, harness.TEST.test + '.dir')
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.unlink(os.path.join(d, f))
    for f in ('notes', 'secret'):
        with open(os.path.join(d, f), 'w') as fh:
            fh.write('host %s\n' % f)
    r = Run(['-i', '-v', '%s/notes:/notes' % d, '--image-tar', TAR, IMAGE, 'sh', '-c',
             'echo from inside >> /notes; echo ready; cat > /dev/null'], stdin=subprocess.PIPE)
    r.wait_output(r'ready\n')
    # What QEMU exports for the file: a directory holding the file and nothing else.
    qemu = subprocess.run(['pgrep', '-P', str(r.proc.pid)], capture_output=True, text=True).stdout.split()
    assert len(qemu) == 1, r.why('QEMU pids %s' % qemu)
    with open('/proc/%s/cmdline' % qemu[0], 'rb') as f:
        args = f.read().decode().split('\0')
    shared = [a.split('path=')[1].split(',')[0] for a in args if 'security_model=' in a]
    assert len(shared) == 2, r.why('9p shares: %s' % shared)           # the file and the image archive
    for path in shared:
        assert len(os.listdir(path)) == 1, r.why('%s holds %s' % (path, os.listdir(path)))
    assert os.listdir(shared[0]) == ['notes'], r.why(os.listdir(shared[0]))
    with open(os.path.join(d, 'notes')) as f:
        assert f.read() == 'host notes\nfrom inside\n', r.why('the write did not reach the host file')
    r.proc.stdin.close()
    r.proc.stdin = None
    status, _, err = r.finish()
    assert status == 0, r.why('status %d, stderr %r' % (status, err))
    assert sorted(os.listdir(d)) == ['notes', 'secret'], os.listdir(d)
    assert not any(os.path.exists(p) for p in shared), r.why('left behind: %s' % shared)


def test_commit_then_run_the_new_image_from_the_disk():
    r = Run(['--name', 'keeper', '--commit', 'test/committed:v1', '--image-tar', TAR, IMAGE, 'sh', '-c',
             'echo kept > /made; exit 0'])
    status, _, err = r.finish()
    assert status == 0, r.why('status %d, stderr %r' % (status, err))
    # No --image-tar now: the committed image is on the data disk. Committed again, as the
    # archive's own name, so the disk holds an IMAGE of its own.
    r2 = Run(['--commit', IMAGE, 'test/committed:v1', 'cat', '/made'], disk=r.disk,
             name=harness.TEST.test + '.second')
    status, out, err = r2.finish()
    assert (status, out) == (0, b'kept\n'), r2.why('status %d, %r %r' % (status, out, err))
    # The data disk's image comes before the archive's (which would bring the original back),
    # and a commit is only for a container that exits with 0.
    r3 = Run(['--commit', 'test/never:v1', '--image-tar', TAR, IMAGE, 'sh', '-c', 'cat /made; exit 7'],
             disk=r.disk, name=harness.TEST.test + '.third')
    status, out, err = r3.finish()
    assert (status, out) == (7, b'kept\n'), r3.why('status %d %r %r' % (status, out, err))
    assert 'is on the data disk: the --image-tar archive is not loaded' in r3.console(200), r3.why('')
    repos = subprocess.run(['debugfs', '-R', 'cat /image/overlay2/repositories.json', r.disk],
                           capture_output=True, text=True).stdout
    assert 'test/committed:v1' in repos and 'test/never' not in repos, repos
    # --name: the first run's container is still there (no --rm), so the name is taken.
    r4 = Run(['--name', 'keeper', 'test/committed:v1', 'true'], disk=r.disk, name=harness.TEST.test + '.fourth')
    status, _, err = r4.finish()
    assert status == 125, r4.why('status %d %r' % (status, err))
    assert b'--name keeper: a container of that name is on the data disk already' in err, r4.why(err)


def test_missing_image_and_missing_command_are_named():
    r = Run(['no/such-image:1', 'true'])
    status, out, err = r.finish()
    assert status == 125, r.why('status %d' % status)
    assert b'image no/such-image:1 is not on the data disk' in err, r.why(repr(err))
    r2 = Run(['--image-tar', TAR, IMAGE, 'no-such-command'], name=harness.TEST.test + '.cmd')
    status, out, err = r2.finish()
    assert status == 127, r2.why('status %d %r' % (status, err))
    assert b'no-such-command' in err, r2.why(err)


def test_a_spec_longer_than_a_page_is_read_whole():
    # sysfs hands out fw_cfg files a page (4096 bytes) per read(): a longer spec must still arrive whole.
    value = 'x' * 6000
    r = Run(['-e', 'LONG=' + value, '--image-tar', TAR, IMAGE, 'sh', '-c', 'echo ${#LONG}'])
    status, out, err = r.finish()
    assert (status, out) == (0, b'6000\n'), r.why('status %d, %r %r' % (status, out, err))


def test_setuid_bits_set_in_the_guest_never_reach_host_files():
    # The guest's owners and modes stay in the share's xattrs (9p mapped-xattr): a setuid root file
    # made in a container is, on the host, a plain file of whoever ran kvm.
    d = os.path.join(harness.OUT, harness.TEST.test + '.share')
    os.makedirs(d, exist_ok=True)
    r = Run(['-v', '%s:/data' % d, '--image-tar', TAR, IMAGE, 'sh', '-c',
             'cp /bin/busybox /data/suid && chown 0:0 /data/suid && chmod 4755 /data/suid && ls -l /data/suid'])
    status, out, err = r.finish()
    assert status == 0 and b'rws' in out, r.why('status %d, %r %r' % (status, out, err))
    st = os.stat(os.path.join(d, 'suid'))
    assert not st.st_mode & 0o6000, oct(st.st_mode)
