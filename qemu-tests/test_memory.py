"""The smallest machine the appliance is meant for: 256 MiB of RAM reaches the dom0 prompt, with
the engine image mounted (not unpacked) and a root switch that does not double memory."""
import os
import re

import harness
from harness import DOM0_BANNER, Appliance


def test_256_mib_reaches_the_dom0_prompt():
    with Appliance(mem=256) as vm:
        m = vm.wait_for(r'root: moved \d+ files \((\d+) MiB\) .* peak extra memory (\d+) KiB', timeout=120)
        moved_mib, peak_kib = int(m.group(1)), int(m.group(2))
        assert moved_mib < 32, 'the root switch copied %d MiB: the engine image should stay in place' % moved_mib
        # Freed pages wait on per-CPU lists before they count as free again: a few MiB of noise.
        assert peak_kib < 24 * 1024, 'the root switch needed %d KiB more: files are doubled' % peak_kib
        # The engine image is a read-only disk: the kernel never holds it in RAM twice.
        vm.wait_for(r'engine: /dev/vd[a-z] \(serial onlydocker-engine, squashfs\) mounted', timeout=60)
        vm.wait_for(DOM0_BANNER, timeout=420)
        vm.wait_for(r'dhcp: container started', timeout=240, since=0)
        out, _ = vm.run("docker ps --format '{{.Names}}'", check=True, timeout=120)
        assert set(out.split()) >= {'dhcp', 'dom0'}, out
        out, _ = vm.run('grep MemTotal /proc/meminfo', check=True)
        assert int(out.split()[1]) <= 256 * 1024, out
        assert not re.search(r'Out of memory|oom-kill|Initramfs unpacking failed', vm.text), vm.tail()


def test_an_initramfs_the_kernel_could_not_unpack_is_named():
    # Without rootfstype=ramfs the kernel unpacks into a tmpfs capped at half the RAM, and stops
    # part way through the full initramfs (engine image included) at 256 MiB: init must say so,
    # not fail later for reasons that look unrelated.
    full = os.path.join(harness.ROOT, 'build', 'initrd-full.img')
    with Appliance(mem=256, append='rootfstype=tmpfs', disk=False, initrd=full, engine='none') as vm:
        vm.wait_for(r'error: root: the kernel could not unpack the whole initramfs '
                    r'\("Initramfs unpacking failed: [^"]+"\).*rootfstype=ramfs', timeout=120)
        vm.wait_for(r'error: engine image failed: boot cannot go on; starting the debug shell', timeout=60)
        vm.wait_for(r'console: root debug shell', timeout=30)
        out, _ = vm.run('echo alive', check=True)
        assert out.strip() == 'alive', out


def test_the_full_initramfs_holds_the_engine_itself():
    # For loaders that take only a kernel and an initrd: the engine image inside the initramfs,
    # mounted where the kernel put it (never copied), and no disk for it.
    full = os.path.join(harness.ROOT, 'build', 'initrd-full.img')
    with Appliance(mem=512, initrd=full, engine='none', disk=False) as vm:
        vm.wait_for(r'engine: /usr/lib/onlydocker/engine\.squashfs \(\d+ MiB squashfs, /dev/loop\d+\) mounted', timeout=120)
        vm.wait_for(DOM0_BANNER, timeout=420)
        out, _ = vm.run('docker compose version --short; ls /sys/block', check=True, timeout=120)
        assert out.split()[0].startswith('2.') and 'vda' not in out.split(), out


def test_no_engine_image_is_named_and_the_debug_shell_starts():
    with Appliance(engine='none', disk=False) as vm:
        vm.wait_for(r'error: engine: no engine image: neither /usr/lib/onlydocker/engine\.squashfs in the initramfs '
                    r'nor a disk with serial onlydocker-engine', timeout=120)
        vm.wait_for(r'error: engine image failed: boot cannot go on; starting the debug shell', timeout=30)
        vm.wait_for(r'console: root debug shell', timeout=30)
        out, _ = vm.run('echo alive', check=True)
        assert out.strip() == 'alive', out
