"""Early boot, seen from the root debug shell (the bare `console` word): the root switch, mounts,
cgroups, modules, the data disk, the engine. These tests share one boot with a fresh DOCKER disk."""
import re

from harness import DOCKERD_PID, DOM0_DETACHED, DOM0_PID

# A free PCIe root port, for a device added while the machine runs (hotplug).
BOOT = {'append': 'console', 'qemu_args': ['-device', 'pcie-root-port,id=hp,chassis=9,slot=9']}
INIT = r'onlydocker: \[ *\d+\.\d+\] init: onlydocker init starting'


def test_init_starts_and_switches_root(vm):
    vm.wait_for(INIT, timeout=120)
    assert re.search(r'onlydocker: .*root: moved \d+ files .* to a tmpfs root .* peak extra memory \d+ KiB', vm.text), \
        'no root-switch line'


def test_console_shell_is_root_and_pid1_is_our_init(vm):
    vm.wait_for(r'console: root debug shell on /dev/ttyS0', since=0)
    out, st = vm.run('echo "uid=$(id -u) cmdline=$(tr "\\0" " " < /proc/1/cmdline | cut -d" " -f1) exe=$(readlink /proc/1/exe)"', check=True)
    assert 'uid=0 cmdline=/init exe=/init' in out.splitlines(), out
    out, _ = vm.run('echo $$; cat /proc/$$/status | grep ^NSpid')
    # The shell lives in the root PID namespace: one NSpid entry only.
    assert len(out.splitlines()[1].split()) == 2, out


def test_root_is_tmpfs_not_rootfs(vm):
    out, _ = vm.run("awk '$2 == \"/\" {print $1, $3}' /proc/mounts", check=True)
    assert out.strip().splitlines()[-1] == 'rootfs tmpfs', out


def test_kernel_filesystems_mounted(vm):
    out, _ = vm.run("awk '{print $2, $3}' /proc/mounts", check=True)
    mounts = set(out.split('\n'))
    for m in ('/proc proc', '/sys sysfs', '/dev devtmpfs', '/dev/pts devpts', '/dev/shm tmpfs',
              '/dev/mqueue mqueue', '/run tmpfs', '/tmp tmpfs', '/sys/fs/cgroup cgroup2',
              '/sys/kernel/security securityfs', '/sys/kernel/debug debugfs'):
        assert m in mounts, '%s not mounted: %s' % (m, sorted(mounts))
    out, _ = vm.run('for l in /dev/fd /dev/stdin /dev/stdout /dev/stderr; do readlink $l; done', check=True)
    assert out.split() == ['/proc/self/fd', '/proc/self/fd/0', '/proc/self/fd/1', '/proc/self/fd/2'], out


def test_cgroup2_controllers_enabled(vm):
    out, _ = vm.run('cat /sys/fs/cgroup/cgroup.subtree_control', check=True)
    for c in ('cpu', 'memory', 'pids', 'io'):
        assert c in out.split(), out


def test_modules_loaded_with_softdeps(vm):
    # Docker's set loads in the background, while the shell is already up.
    vm.wait_for(r"modules: coldplug and Docker's set done in the background", timeout=120, since=0)
    out, _ = vm.run("cut -d' ' -f1 /proc/modules", check=True)
    mods = set(out.split())
    # virtio_rng comes from coldplug only (its device's modalias; virtio_pci is built into 6.12);
    # crc32c_generic only through libcrc32c's softdep.
    for m in ('virtio_rng', 'virtio_net', 'virtio_blk', 'overlay', 'bridge', 'br_netfilter', 'veth',
              'nf_tables', 'crc32c_generic', 'ext4'):
        assert m in mods, '%s not loaded: %s' % (m, sorted(mods))
    assert vm.run('cat /proc/sys/kernel/modprobe', check=True)[0].strip() == '/sbin/modprobe'


def test_modprobe_applet_loads_on_demand(vm):
    out, st = vm.run('grep -c "^dummy " /proc/modules; modprobe dummy && grep -c "^dummy " /proc/modules')
    assert out.split() == ['0', '1'] and st == 0, out
    out, st = vm.run('modprobe no_such_module_xyz')
    assert st != 0 and 'no_such_module_xyz' in out, out


def test_a_device_added_later_gets_its_driver(vm):
    vm.wait_for(r"modules: coldplug and Docker's set done in the background", timeout=120, since=0)
    out, _ = vm.run('grep -c "^virtio_scsi " /proc/modules')
    assert out.strip() == '0', 'virtio_scsi loaded before any such device: ' + out
    vm.qmp('device_add', driver='virtio-scsi-pci', id='scsi9', bus='hp')
    # The driver loads on the device's uevent; the shell only looks, a tenth of a second apart.
    out, _ = vm.run('i=0; until [ -e /sys/class/scsi_host/host0 ] || [ $i -ge 300 ]; do i=$((i+1)); sleep 0.1; done; '
                    'grep -c "^virtio_scsi " /proc/modules; ls /sys/class/scsi_host', timeout=60)
    assert out.split()[:2] == ['1', 'host0'], out


def test_data_disk_mounted_by_label(vm):
    vm.wait_for(r'disk: /dev/vda \(LABEL=DOCKER, ext4\) mounted on /var/lib/docker', since=0)
    out, _ = vm.run("awk '$2 == \"/var/lib/docker\" {print $1, $3}' /proc/mounts", check=True)
    assert out.strip() == '/dev/vda ext4', out


def test_hostname_and_etc(vm):
    out, _ = vm.run('hostname; cat /etc/hostname; grep ^ID= /etc/os-release; readlink /etc/resolv.conf', check=True)
    assert out.split() == ['onlydocker', 'onlydocker', 'ID=onlydocker', '/run/resolvconf/resolv.conf'], out


def test_entropy_wait_logged(vm):
    assert re.search(r'entropy: pool (ready|not ready)', vm.text), 'no entropy line'


def test_engine_answers_and_containers_keep_pivot_root(vm):
    vm.wait_for(r'dockerd: API answering /_ping', timeout=180, since=0)
    out, _ = vm.run('tr "\\0" "\\n" < /proc/%s/environ | grep -c DOCKER_RAMDISK' % DOCKERD_PID)
    assert out.strip() == '0', 'dockerd runs with DOCKER_RAMDISK: ' + out
    # dom0 runs detached while the debug shell has the console; borrow its docker CLI.
    vm.wait_for(r'dom0: container started', timeout=180, since=0)
    vm.wait_for(DOM0_DETACHED, timeout=120, since=0)
    out, st = vm.run('d=$(%s); nsenter -t $d -m docker run --rm --entrypoint sh onlydocker/dhcpcd:latest '
                     '-c "grep -c \\" / / \\" /proc/self/mountinfo"' % DOM0_PID, timeout=120)
    # runc's pivot_root leaves one mount at / (the overlay), and no trace of the host's root.
    assert st == 0 and out.strip() == '1', out
