"""The configuration documents (#18): the data disk's config.yaml, a NoCloud seed's user-data and
kvm --config's fw_cfg file, under the kernel command line, each later source winning key by key; the console says which were
used; a bad key or value is one line with its line and column and the rest applies; a document
that is not YAML changes nothing and the boot goes on; ssh_authorized_keys reach dom0's sshd."""
import atexit
import os
import re
import shutil
import tempfile

from harness import DOM0_BANNER, OUT, Appliance, make_seed

DISK_DOC = """#cloud-config
hostname: fromdisk
onlydocker:
  dockerd:
    args: [--log-level=warn]
  iptables: true
  cgroup: v1
  shutdown: {timeout: 11}
"""
SEED_DOC = """#cloud-config
onlydocker:
  dockerd.args: --log-level=error
"""
FW_DOC = """#cloud-config
hostname: fromfwcfg
ssh_authorized_keys:
  - ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOnlydockerConfigTestKeyOnlydockerConfigTest config-test
onlydocker:
  iptables: false
  daemon: {labels: [from=fwcfg]}
  colour: blue
  disk:
    wait: soon
"""
os.makedirs(OUT, exist_ok=True)
SEEDS = tempfile.mkdtemp(prefix='test_config-', dir=OUT)
atexit.register(shutil.rmtree, SEEDS, True)
BOOT = {'disk_files': {'onlydocker/config.yaml': DISK_DOC}, 'config': FW_DOC, 'append': 'od.hostname=fromcmdline',
        'qemu_args': make_seed(os.path.join(SEEDS, 'seed.iso'), SEED_DOC)}
USED = ('config: documents applied: data disk /var/lib/docker/onlydocker/config.yaml, NoCloud seed user-data, '
        'fw_cfg opt/org.onlydocker/config; then the kernel command line')


def ready(vm):
    """dom0 is up, and its sshd too (the fw_cfg document gives it a key): the host keys are made
    in the background and said on the console, which must not land inside a command's output."""
    vm.wait_for(DOM0_BANNER, timeout=300, since=0)
    vm.wait_for(r'dom0: ssh: Server listening on 0\.0\.0\.0 port 22', timeout=180, since=0)


def dockerd_args(vm):
    out, _ = vm.run("tr '\\0' ' ' < /proc/$(pidof dockerd)/cmdline; echo", check=True)
    return out.split()


def test_the_console_says_which_sources_were_used(vm):
    ready(vm)
    assert USED in vm.text, vm.init_lines()


def test_each_later_source_wins_key_by_key(vm):
    ready(vm)
    args = dockerd_args(vm)
    assert '--log-level=error' in args and '--log-level=warn' not in args, args   # the seed's over the disk's
    assert '--iptables=false' in args, args        # fw_cfg's over the disk's
    out, _ = vm.run('cat /host/etc/hostname; hostname', check=True)
    assert out.split() == ['fromcmdline', 'fromcmdline'], out     # the command line's over both
    # onlydocker.daemon: daemon.json's content, as JSON in /etc/docker/daemon.json.
    out, _ = vm.run("docker info -f '{{json .Labels}}'", check=True, timeout=60)
    assert re.search(r'^\["from=fwcfg"\]$', out, re.M), out


def test_a_bad_key_and_a_bad_value_are_one_line_each_and_the_rest_applies(vm):
    ready(vm)
    src = 'config: fw_cfg opt/org.onlydocker/config: '
    assert src + "line 8, column 3: unknown key 'onlydocker.colour', ignored" in vm.text, vm.init_lines()
    assert re.search(re.escape(src) + r'line 10, column 11: onlydocker\.disk\.wait: .*not a number', vm.text), vm.init_lines()
    assert len(re.findall(r'config: fw_cfg', vm.text)) == 2, vm.init_lines()
    # A key the boot acted on before the documents are read: said, and the boot's value kept.
    assert 'config: od.cgroup from a document comes too late for this boot' in vm.text, vm.init_lines()
    out, _ = vm.run("awk '$2 == \"/sys/fs/cgroup\" { print $3 }' /proc/1/mounts", check=True)
    assert out.split() == ['cgroup2'], out


def test_ssh_authorized_keys_reach_dom0(vm):
    ready(vm)
    out, _ = vm.run('/usr/lib/onlydocker/ssh.sh keys', check=True)
    assert 'config-test' in out, out
    vm.wait_for(r'dom0: ssh: 1 authorized key\(s\); starting sshd', timeout=60, since=0)


def test_a_key_of_the_disk_alone_applies(vm):
    # The last on the shared boot, which it ends: od.shutdown.timeout shows at a shutdown.
    ready(vm)
    mark = len(vm.text)
    vm.send('poweroff\n')
    assert vm.wait_exit(120) == 0
    assert re.search(r'shutdown: poweroff requested by .*; deadline 11 s', vm.text[mark:]), vm.init_lines()


def test_a_document_that_is_not_yaml_changes_nothing_and_the_boot_goes_on():
    # No data disk; a seed alone applies (a cloud-config header, as cloud-init wants), the broken
    # fw_cfg document nothing. This seed is vfat labelled CIDATA, as `cloud-localds -f vfat` makes it.
    # Its meta-data's local-hostname (an FQDN: its first label) is the hostname, the user-data
    # setting none.
    seed = make_seed(os.path.join(SEEDS, 'alone.img'), '#cloud-config\nonlydocker: {daemon: {labels: [from=seed]}}\n',
                     meta_data='instance-id: i-1\nlocal-hostname: frommeta.example.test\n', label='CIDATA', fs='vfat')
    with Appliance(disk=False, config='hostname: broken\nonlydocker:\n  disk: [unclosed\n', qemu_args=seed) as vm:
        vm.wait_for(DOM0_BANNER, timeout=300)
        assert re.search(r'config: fw_cfg opt/org\.onlydocker/config: line \d+, column \d+: not valid YAML: .*; ignored whole',
                         vm.text), vm.init_lines()
        assert 'config: documents applied: NoCloud seed user-data; then the kernel command line' in vm.text, vm.init_lines()
        out, _ = vm.run('hostname', check=True)
        assert out.strip() == 'frommeta', out
        out, _ = vm.run("docker info -f '{{json .Labels}}'", check=True, timeout=60)
        assert re.search(r'^\["from=seed"\]$', out, re.M), out
