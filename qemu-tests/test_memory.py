"""The smallest machine the appliance is meant for: 256 MiB of RAM reaches the dom0 prompt, with
the engine image mounted (not unpacked) and a root switch that does not double memory."""
import re

from harness import DOM0_BANNER, Appliance


def test_256_mib_reaches_the_dom0_prompt():
    with Appliance(mem=256) as vm:
        m = vm.wait_for(r'root: moved \d+ files \((\d+) MiB\) .* peak extra memory (\d+) KiB', timeout=120)
        moved_mib, peak_kib = int(m.group(1)), int(m.group(2))
        assert moved_mib < 32, 'the root switch copied %d MiB: the engine image should stay in place' % moved_mib
        # Freed pages wait on per-CPU lists before they count as free again: a few MiB of noise.
        assert peak_kib < 24 * 1024, 'the root switch needed %d KiB more: files are doubled' % peak_kib
        vm.wait_for(r'engine: /usr/lib/onlydocker/engine\.squashfs .* mounted', timeout=60)
        vm.wait_for(DOM0_BANNER, timeout=420)
        out, _ = vm.run("docker ps --format '{{.Names}}'", check=True, timeout=120)
        assert set(out.split()) >= {'dhcp', 'dom0'}, out
        out, _ = vm.run('grep MemTotal /proc/meminfo', check=True)
        assert int(out.split()[1]) <= 256 * 1024, out
        assert not re.search(r'Out of memory|oom-kill|Initramfs unpacking failed', vm.text), vm.tail()


def test_an_initramfs_the_kernel_could_not_unpack_is_named():
    # Without rootfstype=ramfs the kernel unpacks into a tmpfs capped at half the RAM, and stops
    # part way at 256 MiB: init must say so, not fail later for reasons that look unrelated.
    with Appliance(mem=256, append='rootfstype=tmpfs', disk=False) as vm:
        vm.wait_for(r'error: root: the kernel could not unpack the whole initramfs '
                    r'\("Initramfs unpacking failed: [^"]+"\).*rootfstype=ramfs', timeout=120)
        vm.wait_for(r'error: engine image failed: boot cannot go on; starting the debug shell', timeout=60)
        vm.wait_for(r'console: root debug shell', timeout=30)
        out, _ = vm.run('echo alive', check=True)
        assert out.strip() == 'alive', out
