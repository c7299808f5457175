"""The engine and the system containers, seen from dom0's shell on the serial console: the DHCP
lease and DNS, `docker ps`, a dom0 upgrade without reboot, the rollback of a broken dom0, and
dockerd brought back after a kill. These tests share one boot with a fresh DOCKER disk."""
import json
import os
import re
import tempfile

from dhcpserver import DHCPServer
from harness import DOCKERD_PID, DOM0_BANNER, Appliance

# eth1: a private segment whose DHCP server offers what QEMU's restricted network leaves out
# (a name server and a domain), so that the DNS half of the DHCP container can be checked.
DHCP1 = DHCPServer(os.path.join(tempfile.mkdtemp(prefix='oddhcp-'), 'eth1.sock'))
BOOT = {'qemu_args': DHCP1.qemu_args('52:54:00:12:34:99')}
# Start time (clock ticks since boot) of PID 1 and of the dockerd it started: unchanged by upgrades.
STARTS = ('echo "$(cut -d" " -f22 /proc/1/stat) '
          '$(cut -d" " -f22 /proc/%s/stat)"' % DOCKERD_PID)


def ready(vm):
    """dom0's first shell is up (in a fresh boot too, after a failed test)."""
    vm.wait_for(DOM0_BANNER, timeout=240, since=0)


def test_dom0_shell_on_the_console(vm):
    ready(vm)
    out, st = vm.run('cat /etc/dom0-release; hostname', check=True)
    assert 'DOM0_VERSION=' in out and 'onlydocker' in out.split(), out


def test_the_shell_reads_plain_lines_from_a_line_that_does_not_answer(vm):
    # The test's serial line answers no terminal query: the shell must ask none at its prompts, and
    # input typed ahead, a quoted newline included, must arrive whole and in order.
    ready(vm)
    banner = re.search(DOM0_BANNER, vm.text)
    assert 'dom0: no terminal answered on /dev/ttyS0: plain lines' in vm.text, vm.text[-2000:]
    vm.run('true', check=True)
    mark = len(vm.text)
    vm.send("x='typed\nahead'; echo \"len=${#x}\"; echo \"$((6*7))\"\necho second-line\n")
    vm.wait_for(r'second-line\n', timeout=30, since=mark)
    # The line discipline echoes each newline as it arrives (echo off, newlines on), so blank
    # lines and prompts fall wherever the timing puts them: count the quoted string instead.
    # 11 = 'typed', the newline, 'ahead': the quoted newline arrived whole, no byte eaten.
    said = [re.sub(r'^(> |\[dom0 [^]]*\]# )+', '', l) for l in vm.text[mark:].split('\n')]
    said = [l for l in said if l.strip()]
    assert said[-3:] == ['len=11', '42', 'second-line'], vm.text[mark:]
    assert '\x1b[6n' not in vm.text[banner.end():], 'a cursor query after the banner'


def test_docker_ps_lists_the_system_containers(vm):
    ready(vm)
    out, _ = vm.run("docker ps --format '{{.Names}} {{.Image}}'", check=True, timeout=60)
    lines = set(out.split('\n'))
    assert 'dom0 onlydocker/dom0:latest' in lines and 'dhcp onlydocker/dhcpcd:latest' in lines, out


def versions():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
    pairs = (line.split() for line in open(os.path.join(root, 'build', 'versions.txt')))
    ids = dict(re.findall(r'#define (\w+_IMAGE_ID) "(sha256:[0-9a-f]+)"', open(os.path.join(root, 'build', 'gen', 'images.h')).read()))
    return dict(p for p in pairs if len(p) == 2), ids


def test_bundled_images_loaded_with_their_tags_and_labels(vm):
    ready(vm)
    pkgs, ids = versions()
    fmt = ("'{{.Id}} {{json .RepoTags}} {{index .Config.Labels \"org.onlydocker.pkg.%s\"}} "
           "{{index .Config.Labels \"org.onlydocker.dom0.version\"}}'")
    out, _ = vm.run('docker image inspect -f %s onlydocker/dhcpcd:latest' % (fmt % 'dhcpcd-base'), check=True)
    assert out.split()[:3] == [ids['DHCP_IMAGE_ID'], '["onlydocker/dhcpcd:latest"]', pkgs['dhcpcd-base']], out
    out, _ = vm.run('docker image inspect -f %s onlydocker/dom0:bundled' % (fmt % 'busybox-static'), check=True)
    image_id, tags, busybox_version, dom0_version = out.split()
    assert image_id == ids['DOM0_IMAGE_ID'] and busybox_version == pkgs['busybox-static'], out
    assert set(json.loads(tags)) == {'onlydocker/dom0:latest', 'onlydocker/dom0:bundled'}, out
    assert dom0_version == '1', out


def test_engine_and_cli_are_debian_13s(vm):
    """dom0's docker CLI, compose and buildx are the engine image's, bind-mounted read-only, and the
    client and server are the 26.x that build/versions.txt names."""
    ready(vm)
    pkgs, _ = versions()
    want = pkgs['docker.io'].split('+')[0]
    out, _ = vm.run("docker version --format '{{.Client.Version}} {{.Server.Version}} {{.Server.APIVersion}}'",
                    check=True, timeout=60)
    client, server, api = out.split()
    assert client.startswith('26.') and client.split('+')[0] == want and server.split('+')[0] == want, out
    out, _ = vm.run('docker compose version --short; docker buildx version; readlink /usr/bin/docker; '
                    'grep " /usr/lib/onlydocker/engine " /proc/mounts', check=True, timeout=60)
    assert pkgs['docker-compose'].split('-')[0] in out and pkgs['docker-buildx'].split('+')[0] in out, out
    assert '/usr/lib/onlydocker/engine/usr/bin/docker' in out and ' ro,' in out, out
    # Read-only: nobody in dom0 changes the engine's own files by mistake.
    out, st = vm.run('touch /usr/lib/onlydocker/engine/usr/bin/x 2>&1')
    assert st != 0 and 'Read-only' in out, out


COMPOSE = ['services:', '  web:', '    image: onlydocker/dom0:bundled', '    networks: [back]',
           '    ports: ["8080:80"]',
           '    entrypoint: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www"]',
           '  client:', '    image: onlydocker/dom0:bundled', '    networks: [back]',
           '    entrypoint: ["sleep", "3600"]', 'networks:', '  back: {}']


def test_compose_two_services_on_a_user_network(vm):
    """`docker compose up -d` in dom0: two services on a user network reach each other by name, and
    the published port answers from the host's network."""
    ready(vm)
    vm.run('mkdir -p /root/app && cd /root/app && printf "%%s\\n" %s > compose.yaml'
           % ' '.join("'%s'" % line for line in COMPOSE), check=True)
    out, st = vm.run('cd /root/app && docker compose up -d </dev/null 2>&1', timeout=240)
    assert st == 0, out
    try:
        out, _ = vm.run('docker network ls --format "{{.Name}} {{.Driver}}"', check=True)
        assert 'app_back bridge' in out, out
        # By name, through the engine's embedded DNS on the user network; the web server answers
        # with its container's hostname.
        out, st = vm.run('cd /root/app && docker compose exec -T client wget -qO- http://web/ </dev/null', timeout=120)
        web_id, _ = vm.run('docker inspect -f "{{.Config.Hostname}}" app-web-1', check=True)
        assert st == 0 and out.strip() == web_id.strip(), (out, web_id)
        out, st = vm.run('wget -qO- http://127.0.0.1:8080/', timeout=60)
        assert st == 0 and out.strip() == web_id.strip(), out
    finally:
        vm.run('cd /root/app && docker compose down -t 1 </dev/null 2>&1', timeout=180)


def test_docker_build_uses_buildkit(vm):
    ready(vm)
    vm.run('mkdir -p /root/b && cd /root/b && printf "%s\\n" "FROM onlydocker/dom0:bundled" '
           '"RUN echo built-by-buildkit > /built" > Dockerfile', check=True)
    out, st = vm.run('cd /root/b && docker build --progress=plain -t onlydocker/built:test . </dev/null 2>&1', timeout=300)
    assert st == 0 and 'using docker driver' in out, out
    out, _ = vm.run('docker run --rm --entrypoint cat onlydocker/built:test /built', check=True, timeout=120)
    assert out.strip() == 'built-by-buildkit', out


def test_dhcp_lease_and_dns(vm):
    ready(vm)
    # dhcpcd keeps running in its container; wait for the user network's lease, bounded.
    out, st = vm.run('i=0; until ip -4 addr show eth0 | grep -q "inet 10.0.2.15/"; do '
                     'i=$((i+1)); [ $i -gt 300 ] && break; sleep 0.1; done; ip -4 addr show eth0', timeout=60)
    assert 'inet 10.0.2.15/24' in out, out
    vm.wait_for(r'network: eth0 has 10\.0\.2\.15/24', since=0)
    # eth1's lease brings a name server and a domain; the hook rewrites the host's
    # /run/resolvconf/resolv.conf in place, so the host's /etc/resolv.conf (a link to it) and
    # dom0's (a bind mount of that file) show them both.
    vm.wait_for(r'network: eth1 has 192\.0\.2\.15/24', timeout=60, since=0)
    out, _ = vm.run('i=0; until grep -q "nameserver 192.0.2.53" /etc/resolv.conf; do i=$((i+1)); '
                    '[ $i -gt 300 ] && break; sleep 0.1; done; cat /etc/resolv.conf; echo ---; '
                    'cat /host/run/resolvconf/resolv.conf; readlink /host/etc/resolv.conf', timeout=60)
    ours, host = out.split('---\n')
    lines = ours.split('\n')
    assert lines[0].startswith('# Generated by dhcpcd'), out
    assert 'nameserver 192.0.2.53' in lines and 'search onlydocker.test' in lines, out
    assert host.startswith(ours) and host.endswith('/run/resolvconf/resolv.conf\n'), out
    assert ('52:54:00:12:34:99', '192.0.2.15') in DHCP1.acks, DHCP1.acks


def test_published_port_answers_through_iptables(vm):
    ready(vm)
    # iptables is on by default: a port published from dom0 gets its DNAT rule and answers.
    out, _ = vm.run("docker run -d --name web -p 8080:80 --entrypoint sh onlydocker/dom0:bundled -c "
                    "'mkdir -p /www && echo hello-from-web >/www/index.html && exec httpd -f -p 80 -h /www'",
                    check=True, timeout=120)
    out, _ = vm.run('i=0; until wget -qO- http://10.0.2.15:8080/ 2>/dev/null; do i=$((i+1)); '
                    '[ $i -gt 150 ] && break; sleep 0.2; done', timeout=90)
    assert 'hello-from-web' in out, out
    out, _ = vm.run('chroot /host iptables -t nat -S DOCKER', check=True)
    assert re.search(r'--dport 8080 .*-j DNAT --to-destination 172\.17\.\d+\.\d+:80', out), out
    vm.run('docker rm -f web >/dev/null', check=True, timeout=60)


def test_dom0_upgrade_without_reboot(vm):
    ready(vm)
    before, _ = vm.run(STARTS, check=True)
    # The upgrade as a user makes it: build a new image in dom0, tag it with dom0's reference, exit.
    mark = vm.upgrade_dom0('upgraded-1')
    vm.wait_for(r'dom0: exited .* recreating it from onlydocker/dom0:latest', timeout=60, since=mark)
    vm.wait_for(r'onlydocker dom0 upgraded-1 ready', timeout=120, since=mark)
    out, _ = vm.run('grep DOM0_VERSION /etc/dom0-release', check=True)
    assert 'DOM0_VERSION=upgraded-1' in out, out
    after, _ = vm.run(STARTS, check=True)
    assert before.split() == after.split(), (before, after)


def test_broken_dom0_rolls_back_to_the_bundled_image(vm):
    ready(vm)
    vm.run('docker rm -f up >/dev/null 2>&1; docker create --name up onlydocker/dom0:bundled >/dev/null && '
           'docker commit --change \'ENTRYPOINT ["/bin/false"]\' up onlydocker/dom0:latest && docker rm up',
           check=True, timeout=120)
    mark = len(vm.text)
    vm.send('exit\n')
    vm.wait_for(r'dom0: the image onlydocker/dom0:latest exited .* rolling back to the bundled onlydocker/dom0:bundled',
                timeout=180, since=mark)
    vm.wait_for(DOM0_BANNER, timeout=120, since=mark)
    out, _ = vm.run("docker image inspect -f '{{.Id}}' onlydocker/dom0:latest onlydocker/dom0:bundled", check=True)
    ids = re.findall(r'sha256:[0-9a-f]{64}', out)
    assert len(ids) == 2 and ids[0] == ids[1], out


def test_killed_dockerd_comes_back_with_its_containers(vm):
    ready(vm)
    mark = len(vm.text)
    vm.send('kill -9 %s\n' % DOCKERD_PID)
    vm.wait_for(r'dockerd: died \(status 137\)', timeout=60, since=mark)
    vm.wait_for(r'dockerd: API answering /_ping', timeout=180, since=mark)
    # Live restore: both kept running while dockerd was away, and kept by init after.
    vm.wait_for(r"dhcp: still running \(\w+\) across the engine's restart: kept", timeout=120, since=mark)
    vm.wait_for(r"dom0: still running \(\w+\) across the engine's restart: kept", timeout=120, since=mark)
    out, _ = vm.run("docker ps --format '{{.Names}}'", check=True, timeout=60)
    assert set(out.split()) >= {'dhcp', 'dom0'}, out
    assert not re.search(DOM0_BANNER, vm.text[mark:]), 'dom0 was made again'


def test_the_next_boot_starts_a_fresh_dom0_made_at_shutdown():
    # Its own two boots on one disk. The clean shutdown makes the next boot's dom0 (a container
    # never started), which that boot starts as it is; nothing of the first dom0 is in it.
    with Appliance(name='fresh-dom0-1') as vm:
        disk = vm.disk
        vm.wait_for(DOM0_BANNER, timeout=240)
        first, _ = vm.run("echo junk > /root/junk; docker inspect -f '{{.Id}}' dom0", check=True, timeout=60)
        vm.send('poweroff\n')
        vm.wait_for(r'shutdown: dom0 for the next boot made in \d+ ms', timeout=60)
        assert vm.wait_exit(60) == 0
    with Appliance(name='fresh-dom0-2', disk=disk) as vm:
        vm.wait_for(r'dom0: starting the container prepared at the last shutdown', timeout=240)
        vm.wait_for(DOM0_BANNER, timeout=120)
        out, _ = vm.run("ls /root/junk 2>&1; docker inspect -f '{{.Id}} {{.State.Status}}' dom0", timeout=60)
        assert 'No such file' in out, out
        assert first.strip() not in out and ' running' in out, (first, out)
