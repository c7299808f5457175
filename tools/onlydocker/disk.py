"""The persistent data disk: which file an appliance gets (plan(), which creates nothing, for
argv() and --dry-run), its QEMU arguments, and its creation (create(), from Machine.prepare())."""
import os
import subprocess
import tempfile

from .base import ROOT, die, qesc, warn

SIZE = 4 << 30


def plan(disk, name, new_disk):
    """(path, create) for --disk DISK ('default', 'none' or a file): path None for no disk; create
    when the file is to be made before QEMU starts. Checks what can be checked without touching it."""
    if disk == 'none':
        if new_disk:
            die('--new-disk makes no sense with --disk none')
        return None, False
    auto = new_disk
    if disk == 'default':
        disk, auto = os.path.join(ROOT, 'disk', (name or 'docker') + '.img'), True
    if os.path.isdir(disk):
        die("--disk '%s' is a directory: give a disk image file" % disk)
    if os.path.exists(disk):
        if new_disk:
            die("--new-disk: '%s' already exists; refusing to overwrite it" % disk)
        return disk, False
    if not auto:
        die("--disk '%s' does not exist (add --new-disk to create it)" % disk)
    return disk, True


def args(path):
    if path is None:
        return []
    return ['-drive', 'file=%s,format=raw,if=none,id=data,cache=writeback,discard=unmap' % qesc(path),
            '-device', 'virtio-blk-pci,drive=data,serial=docker']


def create(path):
    """A 4 GiB sparse ext4 labelled DOCKER. Written to a temporary name and linked into place, so an
    interrupted mkfs never leaves a disk that looks usable, and an existing file is never replaced."""
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + '.tmp.', dir=d)
    try:
        os.ftruncate(fd, SIZE)
        os.close(fd)
        r = subprocess.run(['mkfs.ext4', '-q', '-F', '-L', 'DOCKER', '-E', 'lazy_itable_init=1,lazy_journal_init=1', tmp])
        if r.returncode != 0:
            die("mkfs.ext4 failed on '%s'" % tmp)
        try:
            os.link(tmp, path)      # fails if the name appeared meanwhile: never replace a disk
        except FileExistsError:
            die("'%s' appeared while it was being created: left it alone" % path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    warn('created data disk %s (4 GiB sparse, ext4, label DOCKER)' % path)
