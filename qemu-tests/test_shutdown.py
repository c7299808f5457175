"""Shutdown that loses nothing: poweroff typed in dom0, the ACPI power button, Ctrl-Alt-Del and
`reboot`; the data disk's journal is clean afterwards and a file written without sync just before
is on it, each time;
a container that ignores SIGTERM does not hold the machine past the deadline."""
import re
import subprocess
import time

from harness import DOM0_BANNER, DOM0_DETACHED, DOM0_PID, Appliance

INIT = r'init: onlydocker init starting'


def disk_is_clean(path):
    """e2fsck -n and the superblock agree the ext4 was unmounted cleanly (no journal to replay)."""
    fsck = subprocess.run(['e2fsck', '-n', path], capture_output=True, text=True)
    head = subprocess.run(['dumpe2fs', '-h', path], capture_output=True, text=True).stdout
    state = re.search(r'^Filesystem state:\s*(.*)$', head, re.M)
    feats = re.search(r'^Filesystem features:\s*(.*)$', head, re.M)
    ok = (fsck.returncode == 0 and 'clean' in fsck.stdout and state and state.group(1).strip() == 'clean'
          and 'needs_recovery' not in feats.group(1))
    return ok, fsck.stdout + fsck.stderr + (state.group(0) if state else '') + '\n' + (feats.group(0) if feats else '')


def test_poweroff_in_dom0_with_a_stubborn_container_and_unsynced_file():
    with Appliance(append='od.shutdown.timeout=10') as vm:
        disk = vm.disk
        vm.wait_for(DOM0_BANNER, timeout=240)
        vm.run('docker run -d --name stubborn --stop-timeout 600 --entrypoint sh onlydocker/dhcpcd:latest '
               '-c "trap \\"\\" TERM; while :; do sleep 1; done"', check=True, timeout=120)
        vm.run('echo kept-$$ > /host/var/lib/docker/canary; cat /host/var/lib/docker/canary', check=True)
        # A daemon.json kept on the data disk, for the next boot's dockerd.
        vm.run('mkdir -p /host/var/lib/docker/onlydocker && echo \'{"labels": ["org.onlydocker.test=kept"]}\' '
               '> /host/var/lib/docker/onlydocker/daemon.json', check=True)
        canary = vm.run('cat /host/var/lib/docker/canary', check=True)[0].strip()
        t0 = time.monotonic()
        vm.send('poweroff\n')
        vm.wait_for(r'shutdown: poweroff requested by SIGUSR2', timeout=30)
        assert vm.wait_exit(60) == 0
        took = time.monotonic() - t0
        assert took < 10 + 15, 'poweroff took %.1f s with a 10 s deadline' % took
        assert re.search(r'shutdown: the 10 s deadline passed', vm.text), 'the deadline was not what ended it'
        assert re.search(r'shutdown: /var/lib/docker \(/dev/vda\) unmounted cleanly', vm.text)
    ok, why = disk_is_clean(disk)
    assert ok, why
    # The next boot on the same disk: the file is there, and the bundled images are not reloaded.
    with Appliance(name='second-boot', disk=disk, append='console') as vm:
        vm.wait_for(r'console: root debug shell')
        out, _ = vm.run('cat /var/lib/docker/canary', check=True)
        assert out.strip() == canary, (out, canary)
        vm.wait_for(r'dom0: image onlydocker/dom0:bundled already in the engine, not reloaded', timeout=180)
        assert 'bundled image loaded' not in vm.text
        vm.wait_for(r'dom0: container started', timeout=120)
        vm.wait_for(DOM0_DETACHED, timeout=120)
        assert 'dockerd: using /var/lib/docker/onlydocker/daemon.json as /etc/docker/daemon.json' in vm.text
        out, _ = vm.run('d=$(%s); nsenter -t $d -m docker info -f "{{.Labels}}"; grep -c . /run/dockerd.log'
                        % DOM0_PID, check=True, timeout=60)
        assert 'org.onlydocker.test=kept' in out, out
        assert int(out.split()[-1]) > 10, "dockerd's log is not in /run/dockerd.log: " + out
        # The power button, on an idle machine: well within a few seconds, and a file written just
        # before without sync is on the disk (read back offline).
        power = vm.run('echo power-$$ > /var/lib/docker/canary2; cat /var/lib/docker/canary2', check=True)[0].strip()
        t0 = time.monotonic()
        vm.qmp('system_powerdown')
        vm.wait_for(r'shutdown: poweroff requested by the power button', timeout=30)
        assert vm.wait_exit(60) == 0
        print('# power button to QEMU exit: %.1f s' % (time.monotonic() - t0))
    ok, why = disk_is_clean(disk)
    assert ok, why
    assert file_on(disk, 'canary2') == power


def file_on(disk, path):
    """A file's content on an ext4 image, read offline (debugfs), without replaying any journal."""
    return subprocess.run(['debugfs', '-R', 'cat /%s' % path, disk], capture_output=True, text=True).stdout.strip()


def test_ctrl_alt_delete_ends_cleanly():
    # -no-reboot: the guest's reboot ends QEMU, so the disk can be checked at that very point.
    with Appliance(append='console', qemu_args=['-no-reboot']) as vm:
        disk = vm.disk
        vm.wait_for(r'console: root debug shell')
        vm.wait_for(r'dom0: container started', timeout=240)
        vm.wait_for(DOM0_DETACHED, timeout=120)
        cad = vm.run('echo cad-$$ > /var/lib/docker/canary3; cat /var/lib/docker/canary3', check=True)[0].strip()
        vm.send_keys('ctrl-alt-delete')
        vm.wait_for(r'shutdown: reboot requested by Ctrl-Alt-Del', timeout=30)
        vm.wait_for(r'shutdown: /var/lib/docker \(/dev/vda\) unmounted cleanly', timeout=60)
        assert vm.wait_exit(120) == 0
    ok, why = disk_is_clean(disk)
    assert ok, why
    assert file_on(disk, 'canary3') == cad


def test_ctrl_alt_delete_and_reboot_come_back_up():
    with Appliance(append='console') as vm:
        vm.wait_for(r'console: root debug shell')
        vm.wait_for(r'dom0: container started', timeout=240)
        vm.send_keys('ctrl-alt-delete')
        vm.wait_for(r'shutdown: reboot requested by Ctrl-Alt-Del', timeout=30)
        vm.wait_event('RESET', timeout=120)
        mark = len(vm.text)
        vm.wait_for(INIT, timeout=120, since=mark)
        vm.wait_for(r'console: root debug shell', since=mark)
        # `reboot` in the root namespace is init's own control command.
        vm.run('true')
        mark = len(vm.text)
        vm.send('reboot\n')
        vm.wait_for(r'shutdown: reboot requested by SIGTERM', timeout=30, since=mark)
        vm.wait_for(r'shutdown: /var/lib/docker \(/dev/vda\) unmounted cleanly', timeout=60, since=mark)
        vm.wait_for(INIT, timeout=120, since=mark)
        assert vm.running()
