"""Kernel command-line keys, good and bad: bad values are reported and their defaults kept, and the
machine still reaches a shell; each documented key does what README says."""
import os
import re

import harness
from harness import DOCKERD_PID, DOM0_BANNER, Appliance, make_disk

SHELL = r'console: root debug shell'
DOCKERD_CMDLINE = 'tr "\\0" " " < /proc/%s/cmdline' % DOCKERD_PID


def test_bad_values_are_reported_and_good_ones_applied():
    append = ('console od.hostname=box-1 od.iptables=0 od.bogus=1 od.disk.wait=abc od.cgroup=v3 '
              '"od.dockerd.args=--log-level=warn --mtu=1400" od.hostname=' + 'x' * 300 + ' od.debug=maybe '
              'ip=10.0.2.300::10.0.2.2:255.255.255.0')
    with Appliance(append=append) as vm:
        for line in (r"warning: cmdline: unknown key 'od.bogus', ignored",
                     r'warning: cmdline: value of od.disk.wait is not a number in 0\.\.600, default kept',
                     r"warning: cmdline: od.cgroup='v3' is not v1 or v2, default kept",
                     r'warning: cmdline: value of od.hostname is too long',
                     r"warning: cmdline: od.debug='maybe' is not 0 or 1, default kept",
                     r"warning: cmdline: ip='10\.0\.2\.300::10\.0\.2\.2:255\.255\.255\.0': client address "
                     r"'10\.0\.2\.300' is not an IPv4 address; using DHCP"):
            vm.wait_for(line, since=0)
        vm.wait_for(SHELL)
        out, _ = vm.run('hostname; grep -c cgroup2 /proc/mounts', check=True)
        assert out.split() == ['box-1', '1'], out
        vm.wait_for(r'dockerd: started \(pid \d+\), iptables off', since=0)
        vm.wait_for(r'dockerd: API answering /_ping', timeout=180, since=0)
        out, _ = vm.run(DOCKERD_CMDLINE, check=True)
        for flag in ('--iptables=false', '--log-level=warn', '--mtu=1400'):
            assert flag in out.split(), out
        out, _ = vm.run('iptables -S 2>&1 | grep -c DOCKER', check=False)
        assert out.strip() == '0', 'iptables rules exist with od.iptables=0: ' + out
        # The bad ip= fell back to DHCP: the lease comes.
        vm.wait_for(r'network: eth0 has 10\.0\.2\.15/24$', timeout=120, since=0)


def test_an_ip_that_cannot_be_applied_and_a_machine_that_cannot_power_off():
    # One boot for two behaviours. ip= parses but names an interface the machine has not: said,
    # and DHCP brings the network. The kernel without ACPI (acpi=off; as on hypervisors and boards
    # whose power-off does not work) cannot power off: poweroff says so, halts, and nothing panics.
    with Appliance(append='console acpi=off ip=10.0.2.99/24::10.0.2.2::box:eth7:off') as vm:
        vm.wait_for(r'error: network: ip=: no interface eth7 after 10 s; 10\.0\.2\.99/24 not configured; '
                    r'DHCP instead', timeout=120)
        vm.wait_for(r'network: eth0 has 10\.0\.2\.15/24$', timeout=180)
        vm.wait_for(SHELL, since=0)         # it came before the lease
        vm.send('poweroff\n')
        vm.wait_for(r'shutdown: filesystems unmounted, disk clean', timeout=90)
        vm.wait_for(r'shutdown: this machine has no ACPI \(no /sys/firmware/acpi\): the kernel cannot power it off '
                    r'and halts instead', timeout=60)
        # 6.12 halts itself ("Power off not available: System halted instead"), or reboot(2)
        # returns and PID 1 says so; either way no panic from PID 1 ending, and QEMU runs on.
        vm.wait_for(r'System halted|shutdown: the machine did not poweroff', timeout=60)
        assert 'Attempted to kill init' not in vm.text and 'Kernel panic' not in vm.text, vm.text[-2000:]
        assert vm.running()


def test_cgroup_v1_hierarchies_and_no_lease_logged():
    # One boot for two behaviours: v1 cgroups, and no network at all (so no lease, logged in time).
    with Appliance(append='console od.cgroup=v1 od.dhcp.timeout=3', disk=False, net='none') as vm:
        vm.wait_for(r'cgroups: v1 hierarchies on /sys/fs/cgroup: .*pids')
        # Debian 13's kernel has no v1 memory or cpuset controller: one line says so and what it means.
        vm.wait_for(r'warning: cgroups: this kernel has (memory cpuset|cpuset memory) for cgroup v2 only')
        vm.wait_for(SHELL)
        out, _ = vm.run("awk '$3 == \"cgroup\" {print $2}' /proc/mounts", check=True)
        for h in ('/sys/fs/cgroup/cpu', '/sys/fs/cgroup/pids', '/sys/fs/cgroup/blkio', '/sys/fs/cgroup/systemd'):
            assert h in out.split(), out
        assert not re.search(r'warning: cgroups: v1 (memory|cpuset):', vm.text), vm.text
        # The engine runs containers on v1 too.
        vm.wait_for(r'dhcp: container started', timeout=240)
        vm.wait_for(r'warning: network: no DHCP lease after 3 s; dhcpcd keeps trying', timeout=30)
        assert 'network: eth0 has' not in vm.text


def test_no_dom0_debug_and_a_missing_bundled_image():
    # One boot, three behaviours that do not interfere: od.dom0=0, od.debug, and the DHCP image's
    # archive gone before the engine is up (a broken initramfs): said on the console, boot goes on.
    with Appliance(append='console od.dom0=0 od.debug', disk=False) as vm:
        vm.wait_for(SHELL)
        # The engine image is read-only: an empty tmpfs over its images directory hides the archive.
        vm.run('mount -t tmpfs -o size=1m none /usr/share/onlydocker/images', check=True)
        vm.wait_for(r'dockerd: started \(pid \d+\), debug on', since=0)
        vm.wait_for(r'dockerd: API answering /_ping', timeout=180)
        vm.wait_for(r'error: dhcp: bundled image /usr/share/onlydocker/images/dhcpcd.tar: No such file or directory')
        assert re.search(r'level=debug', vm.text), "dockerd's debug output is not on the console"
        out, _ = vm.run(DOCKERD_CMDLINE, check=True)
        assert '--debug' in out.split(), out
        out, _ = vm.run('echo ok; ls /proc/[0-9]*/root/etc/dom0-release 2>/dev/null | wc -l')
        assert out.split() == ['ok', '0'], 'a dom0 runs with od.dom0=0: ' + out
        assert 'dom0: ' not in vm.text
        vm.run('true', check=True)   # the shell still answers


def test_settings_that_keep_dockerd_down_are_dropped():
    # A daemon.json on the disk that is not JSON and a flag dockerd does not know: without an
    # engine there would be no dom0 and no console, so after three failed starts init starts
    # dockerd without them, says so, and leaves the file for the user to fix.
    disk = os.path.join(harness.OUT, 'bad-daemon-json.img')
    make_disk(disk, files={'onlydocker/daemon.json': '{"labels": [not json\n'})
    with Appliance(disk=disk, append='od.dockerd.args=--no-such-flag') as vm:
        vm.wait_for(r'dockerd: using /var/lib/docker/onlydocker/daemon.json as /etc/docker/daemon.json', timeout=60)
        vm.wait_for(r'error: dockerd: died \(status \d+\) after \d+ ms, failure 1 in a row', timeout=120)
        vm.wait_for(r'error: dockerd: never came up in 3 tries; starting it without '
                    r'/var/lib/docker/onlydocker/daemon\.json and od\.dockerd\.args\. Fix them from dom0', timeout=120)
        vm.wait_for(r'dockerd: API answering /_ping', timeout=180)
        vm.wait_for(DOM0_BANNER, timeout=180)
        out, _ = vm.run('cat /host/var/lib/docker/onlydocker/daemon.json; docker info -f "{{.ServerVersion}}"',
                        check=True, timeout=60)
        assert out.startswith('{"labels": [not json\n') and re.search(r'\n\d+\.\d+', out), out
    os.unlink(disk)
