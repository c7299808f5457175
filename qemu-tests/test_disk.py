"""The data disk: found by label, a tmpfs with a warning when there is none, a corrupt or foreign
DOCKER disk left byte-for-byte untouched, and formatting only when asked and only an all-zero disk.
Each test boots with the root debug shell and needs no engine."""
import hashlib
import os
import subprocess

from harness import ROOT, Appliance

SHELL = r'console: root debug shell'


def sha(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


def mount_of(vm, target='/var/lib/docker'):
    out, _ = vm.run("awk '$2 == \"%s\" {print $1, $3}' /proc/mounts" % target, check=True)
    return out.strip()


def new_image(name, size, *mkfs):
    """A fresh sparse image under build/qemu-tests/disks, made into a filesystem by mkfs (if given)."""
    d = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'build', 'qemu-tests', 'disks')
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, name)
    if os.path.exists(path):
        os.unlink(path)
    with open(path, 'wb') as f:
        f.truncate(size)
    if mkfs:
        subprocess.run([*mkfs, path], check=True, capture_output=True)
    return path


def untouched_after_boot(path, refused):
    """Boots on the image, expects init to refuse it (a tmpfs instead), and the image unchanged."""
    before = sha(path)
    with Appliance(disk=path, append='console') as vm:
        vm.wait_for(refused)
        vm.wait_for(SHELL)
        assert mount_of(vm) == 'docker tmpfs'
    assert sha(path) == before, '%s was written to' % path


def test_no_disk_means_tmpfs_with_a_warning():
    with Appliance(disk=False, append='console od.disk.wait=1') as vm:
        vm.wait_for(r'warning: disk: no filesystem labelled DOCKER after 1000 ms; /var/lib/docker is a tmpfs: '
                    r'images and containers will be LOST at shutdown')
        vm.wait_for(SHELL)
        assert mount_of(vm) == 'docker tmpfs'


def test_corrupt_docker_disk_is_left_untouched():
    path = new_image('corrupt.img', 256 << 20, 'mkfs.ext4', '-q', '-b', '4096', '-L', 'DOCKER')
    # Zero the block group descriptors (block 1): blkid still reads the label, the kernel refuses it.
    with open(path, 'r+b') as f:
        f.seek(4096)
        f.write(b'\0' * 4096)
    untouched_after_boot(path, r'error: disk: /dev/vda \(LABEL=DOCKER\) failed to mount: .*; it is left untouched, '
                               r'/var/lib/docker is a tmpfs')


def test_docker_disk_that_is_not_ext4_is_left_untouched():
    path = new_image('vfat.img', 64 << 20, 'mkfs.vfat', '-n', 'DOCKER')
    # vfat is among the appliance's modules (a NoCloud seed may be vfat): the type itself is refused.
    untouched_after_boot(path, r'error: disk: /dev/vda \(LABEL=DOCKER\) is vfat, which cannot hold the engine.s data '
                               r'\(ext4, xfs or btrfs\); it is left untouched')


def test_label_from_the_command_line():
    path = new_image('other.img', 256 << 20, 'mkfs.ext4', '-q', '-L', 'OTHER')
    with Appliance(disk=path, append='console od.disk.label=OTHER od.disk.opts=noatime,nodiratime') as vm:
        vm.wait_for(r'disk: /dev/vda \(LABEL=OTHER, ext4\) mounted on /var/lib/docker')
        vm.wait_for(SHELL)
        assert mount_of(vm) == '/dev/vda ext4'
        out, _ = vm.run("awk '$2 == \"/var/lib/docker\" {print $4}' /proc/mounts", check=True)
        assert 'nodiratime' in out, out


def test_format_only_when_asked_and_only_a_blank_disk():
    zero = new_image('zero.img', 256 << 20)
    data = new_image('data.img', 256 << 20)
    with open(data, 'r+b') as f:     # not a filesystem, but data all the same
        f.seek(300 << 10)
        f.write(b'precious')
    before = sha(data)
    # Not asked: an all-zero disk stays as it is.
    with Appliance(disk=zero, append='console od.disk.wait=1') as vm:
        vm.wait_for(r'no filesystem labelled DOCKER')
        vm.wait_for(SHELL)
    assert open(zero, 'rb').read(1 << 20) == b'\0' * (1 << 20)
    # Asked, on a disk holding data: refused, untouched.
    with Appliance(disk=data, append='console od.disk.wait=1 od.disk.format=/dev/vda') as vm:
        vm.wait_for(r'error: disk: od.disk.format=/dev/vda: it is not blank \(data, a signature or a partition table at its start or end\); not formatting')
        vm.wait_for(SHELL)
        assert mount_of(vm) == 'docker tmpfs'
    assert sha(data) == before
    # Asked, on a partitioned disk whose table was wiped with dd bs=1M count=1: the GPT's backup
    # at the end still says what it holds. Refused, untouched.
    gpt = new_image('gpt.img', 256 << 20)
    subprocess.run(['python3', os.path.join(ROOT, 'init', 'tests', 'mkgpt.py'), gpt], check=True)
    with open(gpt, 'r+b') as f:
        f.write(b'\0' * (1 << 20))
    before = sha(gpt)
    with Appliance(disk=gpt, append='console od.disk.wait=1 od.disk.format=/dev/vda') as vm:
        vm.wait_for(r'error: disk: od.disk.format=/dev/vda: it is not blank')
        vm.wait_for(SHELL)
    assert sha(gpt) == before
    # Asked, on an all-zero disk: formatted, labelled, mounted.
    with Appliance(disk=zero, append='console od.disk.format=/dev/vda') as vm:
        vm.wait_for(r'disk: formatted /dev/vda as ext4 with label DOCKER')
        vm.wait_for(r'disk: /dev/vda \(LABEL=DOCKER, ext4\) mounted on /var/lib/docker')
        vm.wait_for(SHELL)
        assert mount_of(vm) == '/dev/vda ext4'
