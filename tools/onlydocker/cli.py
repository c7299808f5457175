"""kvm's command line: the host options (argparse; everything after the first `--run` goes, unparsed,
to runspec's parser of its own, and everything after `--` to QEMU), the help, and main(): boot the
appliance, or --run one container in it with the Relay, or (internal) be a --lan switch."""
import argparse
import os
import re
import shlex
import sys

from . import lan, runspec, sockfwd, sshkeys
from .base import PROG, Error, die, warn
from .machine import BASE_APPEND, Machine
from .runport import Relay
from .shared import EXIT_OWN

SHUTDOWN_WAIT_S = 60        # beyond the guest's own shutdown deadline (od.shutdown.timeout)

USAGE = """\
%(prog)s [options] [-- extra qemu args]
       %(prog)s [options] --run [docker run options] IMAGE [COMMAND [ARG...]]"""

DESCRIPTION = """\
Boots the appliance (q35 machine with ACPI, so a QMP system_powerdown is a power
button press). A guest reboot restarts the machine; a guest poweroff exits QEMU.
With no option at all it boots build/ with the defaults below."""

EPILOG = """\
  -- ARGS...     pass the remaining arguments to qemu-system-x86_64 unchanged

On the stdio console, Ctrl-A X quits QEMU and Ctrl-A C toggles the QEMU monitor.

--run: one container in an appliance of its own, like a process on the host. Its
stdout and stderr are this command's, its exit status is this command's status, and
SIGINT/SIGTERM stop it as `docker stop` does (a second signal kills it). The appliance
has no dom0 and no console shell, and powers off when the container ends; the image
is looked up in the data disk's engine, else loaded from --image-tar, else pulled.
Options (before IMAGE):
  -i, --interactive          this command's stdin goes to the container
  --rm                       remove the container when it exits
  --commit REPO[:TAG]        commit the container as an image if it exits with 0
  --image-tar FILE           a `docker save` archive to load the image from
  -e, --env KEY[=VALUE]      environment (KEY alone: the value from this environment)
  -v, --volume SRC:DST[:ro]  SRC a host directory or file (shared with 9p), or a
                             volume name on the data disk
  -p, --publish [IP:]HOST:CONTAINER[/tcp|udp]
                             forward host port HOST (on IP, default all) to CONTAINER
  --name NAME, -w/--workdir DIR, -u/--user USER, --entrypoint CMD, --stop-timeout S
Status: the container's, or 125 when the appliance could not run it (the reason on
stderr), 126/127 when its command cannot be run or found."""

# (option, metavar or None for a flag, help); the values are checked by check().
OPTIONS = [
    ('--kernel', 'FILE', 'kernel image (default: build/vmlinuz, else build/kernel/vmlinuz)'),
    ('--initrd', 'FILE', 'initramfs (default: build/initrd.img)'),
    ('--engine', 'FILE', 'the engine image (dockerd, containerd, the CLI...: a squashfs) as a\n'
     'read-only virtio disk (default: engine.img beside the initramfs, when\n'
     'there is one); none = attach none, for an initramfs that holds it\n'
     '(build/initrd-full.img, for loaders that take only a kernel and an initrd)'),
    ('--mem', 'MB', 'guest memory in MiB (default: 1024)'),
    ('--smp', 'N', 'virtual CPUs (default: 2)'),
    ('--name', 'NAME', "this appliance's name: its default disk is disk/NAME.img and its\n"
     'console is also logged to disk/NAME.log (default: docker, no log)'),
    ('--disk', 'FILE', 'persistent data disk, raw ext4 labelled DOCKER, on virtio-blk\n'
     '(default: disk/NAME.img, created on first use as a 4 GiB sparse\n'
     'file; an existing file is never reformatted).\n'
     'An explicit FILE must exist unless --new-disk is given.\n'
     '--disk none: boot without a data disk'),
    ('--new-disk', None, 'create the --disk file (4 GiB, ext4, label DOCKER) if it does not\n'
     'exist; refuses to touch an existing file'),
    ('--append', 'ARGS', 'extra kernel command line, after the defaults\n"%s"\n(may be repeated)' % BASE_APPEND),
    ('--accel', 'MODE', 'kvm | tcg | auto (default: auto, or $QEMU_ACCEL when set).\n'
     'auto = kvm when /dev/kvm opens read-write and a short probe boot of\n'
     'the kernel under KVM ends by itself within 8 s (nested KVM on some\n'
     'hosts opens but aborts or hangs the guest), else tcg.'),
    ('--net', 'MODE', 'user | restricted | none (default: user). user = QEMU user\n'
     'networking (NAT, DHCP 10.0.2.15); restricted = the same with\n'
     'restrict=on, so the guest cannot reach anything outside QEMU.'),
    ('--lan', 'NAME', 'a second NIC on the private segment NAME, which only the appliances\n'
     'started with the same --lan share: a switch on a unix socket, started\n'
     'by the first of them and gone after the last; no route to anything else'),
    ('--mac', 'MAC', "the --lan NIC's address (default: made from --name, else --disk)"),
    ('--qmp', 'PATH', 'QMP server on unix socket PATH (no wait for a client)'),
    ('--serial', 'PATH', 'serial console on unix socket PATH instead of stdio; QEMU waits\n'
     'for a client to connect before the guest starts (for tests)'),
    ('--ssh', None, "forward port %d of 127.0.0.1 on this machine (loopback only) to dom0's\n"
     'sshd (port 22), and print how to connect: ssh, and a docker context over\n'
     'ssh. sshd takes keys only and runs only when dom0 has one (--ssh-key,\n'
     'or the data disk\'s /var/lib/docker/onlydocker/authorized_keys)' % sshkeys.DEFAULT_PORT),
    ('--ssh-port', 'N', 'the same as --ssh, on 127.0.0.1:N'),
    ('--ssh-key', 'FILE', "a public key file (~/.ssh/id_ed25519.pub) whose keys may log in to dom0\n"
     "as root, passed through QEMU's fw_cfg for this boot (may be repeated)"),
    ('--docker-socket', 'PATH', "also the appliance's engine at unix socket PATH on this machine\n"
     "(DOCKER_HOST=unix://PATH docker ps), forwarded over ssh with this machine's\n"
     'OpenSSH client (the keys of --ssh-key, your agent, ~/.ssh): from when dom0\'s\n'
     'sshd answers until the appliance stops, when PATH goes. Implies --ssh'),
    ('--config', 'FILE', "a configuration document (#cloud-config YAML: hostname,\n"
     'ssh_authorized_keys, onlydocker: with the od. keys) for this boot, through\n'
     "QEMU's fw_cfg; it wins over the data disk's config.yaml, and the kernel\n"
     'command line (--append) over it'),
    ('--log', 'FILE', 'where the console goes with --run (default: disk/NAME.log)'),
    ('--verbose', None, 'with --run, the console on stderr instead of the log file'),
    ('--dry-run', None, 'print the qemu command instead of running it; creates nothing'),
]
VALUED = {opt for opt, metavar, _ in OPTIONS if metavar}


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise Error(message)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help texts keep their own line breaks, as the usage text always had them."""

    def _split_lines(self, text, width):
        return text.splitlines()


def parser():
    p = Parser(prog=PROG, usage=USAGE, description=DESCRIPTION, epilog=EPILOG, allow_abbrev=False, add_help=False,
               formatter_class=lambda prog: HelpFormatter(prog, max_help_position=20, width=92))
    p.add_argument('-h', '--help', action='help', help='this help')
    for opt, metavar, text in OPTIONS:
        text = text.replace('%', '%%')
        if metavar is None:
            p.add_argument(opt, action='store_true', help=text)
        elif opt in ('--append', '--ssh-key'):
            p.add_argument(opt, metavar=metavar, action='append', default=[], help=text)
        else:
            p.add_argument(opt, metavar=metavar, help=text)
    p.set_defaults(mem='1024', smp='2', disk='default', accel=os.environ.get('QEMU_ACCEL') or 'auto', net='user')
    return p


def split(argv):
    """(host options, extra QEMU args, --run's words or None): the host options end at the first
    `--` or `--run` that is not an option's value. A valued option's value is joined to it
    (`--opt=value`), so that one that starts with '-' stays a value, as it always has."""
    host, i = [], 0
    while i < len(argv):
        a = argv[i]
        if a == '--':
            return host, argv[i + 1:], None
        if a == '--run':
            return host, [], argv[i + 1:]
        if a in VALUED:
            if i + 1 >= len(argv):
                die('%s needs a value (see --help)' % a)
            host.append(a + '=' + argv[i + 1])
            i += 2
            continue
        host.append(a)
        i += 1
    return host, [], None


def check(o):
    if not re.fullmatch(r'[1-9][0-9]*', o.mem):
        die("--mem must be a positive number of MiB, got '%s'" % o.mem)
    if not re.fullmatch(r'[1-9][0-9]*', o.smp):
        die("--smp must be a positive number of CPUs, got '%s'" % o.smp)
    if o.accel not in ('kvm', 'tcg', 'auto'):
        die("--accel must be kvm, tcg or auto, got '%s'" % o.accel)
    if o.net not in ('user', 'restricted', 'none'):
        die("--net must be user, restricted or none, got '%s'" % o.net)
    for key in ('name', 'lan'):
        value = getattr(o, key)
        if value is not None and not re.fullmatch(r'[A-Za-z0-9][A-Za-z0-9_.-]{0,63}', value):
            die("--%s must be letters, digits, '.', '_' or '-' (at most 64), got '%s'" % (key, value))
    if o.mac is not None:
        if not re.fullmatch(r'([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}', o.mac) or int(o.mac[:2], 16) & 1:
            die("--mac must be a unicast address like 52:54:00:12:34:56, got '%s'" % o.mac)
        if not o.lan:
            die('--mac is the --lan NIC\'s address: give --lan too')
    for key in ('qmp', 'serial'):
        value = getattr(o, key)
        if value and os.path.isdir(value):
            die("--%s '%s' is a directory: give a socket path" % (key, value))
    check_ssh(o)
    check_config(o)


def check_ssh(o):
    """o.ssh_port: the host's loopback port forwarded to dom0's sshd (None: no forward); o.ssh_keys:
    the keys of every --ssh-key file, as the fw_cfg file's text ('' for none)."""
    if o.docker_socket is not None:
        if o.run is not None:
            die('--docker-socket is for dom0, which --run does not have')
        o.ssh = True
        o.docker_socket = os.path.abspath(o.docker_socket) if o.dry_run else sockfwd.check(o.docker_socket)
    if o.ssh_port is not None:
        if not re.fullmatch(r'[1-9][0-9]{0,4}', o.ssh_port) or int(o.ssh_port) > 65535:
            die("--ssh-port must be a TCP port, 1 to 65535, got '%s'" % o.ssh_port)
        o.ssh_port = int(o.ssh_port)
    elif o.ssh:
        o.ssh_port = sshkeys.DEFAULT_PORT
    if o.ssh_port is not None and o.net == 'none':
        die('--ssh forwards a port of the user network: not with --net none')
    if o.run is not None and (o.ssh_port is not None or o.ssh_key):
        die('--ssh and --ssh-key are for dom0, which --run does not have')
    o.ssh_keys = sshkeys.read_all(o.ssh_key)


CONFIG_MAX = 256 << 10     # init's CFGDOC_MAX: a longer document is refused whole


def check_config(o):
    """--config FILE: a readable text file of at most CONFIG_MAX bytes; init checks what it says."""
    if o.config is None:
        return
    try:
        size = os.path.getsize(o.config)
        with open(o.config, 'rb') as f:
            f.read(CONFIG_MAX + 1).decode('utf-8')
    except UnicodeDecodeError:
        die("--config '%s' is not a text file (not UTF-8)" % o.config)
    except OSError as e:    # a directory too: IsADirectoryError
        die("--config '%s': %s" % (o.config, e.strerror or e))
    if size > CONFIG_MAX:
        die("--config '%s' is larger than %d KiB" % (o.config, CONFIG_MAX >> 10))
    o.config = os.path.abspath(o.config)


def parse(argv):
    """The host options as a Namespace; o.extra: the QEMU args after `--`; o.run: the words after
    `--run` (None without it), for runspec.parse()."""
    host, extra, run = split(list(argv))
    o, unknown = parser().parse_known_args(host)
    if unknown:
        die("unknown option '%s' (see --help)" % unknown[0])
    o.extra, o.run = extra, run
    check(o)
    return o


def boot(o):
    m = Machine(o)
    if o.dry_run:
        if m.new_disk:
            warn('would create data disk %s' % m.disk)
        print(' '.join(shlex.quote(a) for a in m.argv()))
        return 0
    if o.ssh_port is not None:
        for line in sshkeys.hints(o.ssh_port, o.name or 'onlydocker', o.ssh_key, o.docker_socket):
            warn(line)
    try:
        m.prepare()
        m.launch()      # without --docker-socket, does not return: QEMU takes this process's place
        return m.wait()
    finally:
        m.cleanup()


def run(o):
    r = runspec.parse(o.run)
    if o.serial:
        die('--serial and --run do not go together: --run has the console in --log')
    m = Machine(o, run=r)
    if o.dry_run:
        if m.new_disk:
            warn('would create data disk %s' % m.disk)
        print(' '.join(shlex.quote(a) for a in m.argv()))
        print(m.spec_json())
        return 0
    try:
        m.prepare()
        m.launch()
        relay = Relay(m.conn, m.proc, r['interactive'], m.shutdown_deadline() + SHUTDOWN_WAIT_S)
        rc = relay.loop()
        if relay.status is None:
            if not relay.errors:
                warn('the appliance stopped (QEMU status %d) without the container\'s exit status%s'
                     % (rc, '' if m.log is None else '; its console: %s' % m.log))
            return EXIT_OWN
        return relay.status
    finally:
        m.cleanup()


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ['--lan-hub']:         # internal: the segment's switch, started by lan.start()
        sys.exit(lan.hub(*argv[1:4]))
    try:
        o = parse(argv)
        sys.exit(run(o) if o.run is not None else boot(o))
    except Error as e:
        print('%s: error: %s' % (PROG, e.msg), file=sys.stderr)
        sys.exit(e.code)
