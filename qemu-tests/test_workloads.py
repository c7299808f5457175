"""The document's containers (#18): onlydocker.onboot run to completion in order (a failing entry
logged with its output and the boot going on; a required one gating the console, and a failing
required one stopping the boot at the debug shell), onlydocker.services created, left alone when
unchanged, recreated when changed, removed when gone from the document and started again after a
reboot, and onlydocker.compose brought up after the services, after a reboot too. Three boots of
one data disk, the document given by kvm --config each time. No registry: the tests' busybox
image is loaded from the data disk by the first onboot entry, from dom0's bundled image (which
init loads itself when the engine lacks it).
Each container has no network but where it needs one: a network namespace costs seconds of
dockerd's time under emulation."""
import os
import re

from harness import DOM0_BANNER, OUT, ROOT, Appliance, make_disk

BUSYBOX_TAR = os.path.join(ROOT, 'build', 'test-images', 'busybox.tar')
IMAGE = 'onlydocker/busybox:test'
ENGINE = '/usr/lib/onlydocker/engine'
DATA = '/var/lib/docker/onlydocker'
COMPOSE = """services:
  app:
    image: onlydocker/busybox:test
    command: ["sleep", "1000000"]
    restart: unless-stopped
    network_mode: none
"""
# Each container with no network of its own but where it needs one: a network namespace costs
# seconds of dockerd's time under emulation.
DOC1 = """#cloud-config
onlydocker:
  onboot:
    - name: first
      image: onlydocker/dom0:bundled
      entrypoint: [sh, -c]
      command: ["docker load --input %(data)s/busybox.tar && echo first >> %(data)s/order"]
      binds: ["%(data)s:%(data)s", "%(engine)s:%(engine)s:ro", "/var/run:/host/var/run"]
      network: none
    - name: broken
      image: %(image)s
      command: sh -c "echo this went wrong; exit 3"
      network: none
    - name: third
      image: %(image)s
      command: [sh, -c, "echo third >> /out/order"]
      binds: ["%(data)s:/out"]
      network: none
  services:
    web:
      image: %(image)s
      command: [httpd, -f, -p, "8080"]
      network: host
    steady:
      image: %(image)s
      command: [sleep, "1000000"]
      network: none
    gone:
      image: %(image)s
      command: [sleep, "1000000"]
      network: none
  compose: %(data)s/stack/compose.yaml
""" % {'image': IMAGE, 'data': DATA, 'engine': ENGINE}
# The second boot: web changed, gone gone, steady as it was; a required entry that passes and
# so holds the console until it has.
DOC2 = """#cloud-config
onlydocker:
  onboot:
    - name: gate
      image: %(image)s
      command: [sh, -c, "echo gate >> /out/order"]
      binds: ["%(data)s:/out"]
      network: none
      required: true
  services:
    web:
      image: %(image)s
      command: [httpd, -f, -p, "8080"]
      network: host
      env: {COLOUR: blue}
    steady:
      image: %(image)s
      command: [sleep, "1000000"]
      network: none
  compose: %(data)s/stack/compose.yaml
""" % {'image': IMAGE, 'data': DATA}
# The third: a required entry that fails; nothing after it happens.
DOC3 = """#cloud-config
onlydocker:
  onboot:
    - name: must
      image: %(image)s
      command: sh -c "echo cannot go on; exit 7"
      network: none
      required: true
  services: {}
""" % {'image': IMAGE}

STATE = {}


def disk():
    if 'disk' not in STATE:
        with open(BUSYBOX_TAR, 'rb') as f:
            tar = f.read()
        d = os.path.join(OUT, 'test_workloads.disk', 'docker.img')
        os.makedirs(os.path.dirname(d), exist_ok=True)
        STATE['disk'] = make_disk(d, files={'onlydocker/busybox.tar': tar, 'onlydocker/stack/compose.yaml': COMPOSE})
    return STATE['disk']


def ids(vm):
    out, _ = vm.run("docker ps -a --format '{{.Names}} {{.ID}} {{.State}}' </dev/null", check=True, timeout=60)
    return {n: (i, s) for n, i, s in (line.split() for line in out.splitlines() if len(line.split()) == 3)}


def pos(vm, pattern):
    m = re.search(pattern, vm.text)
    assert m, 'not on the console: %s\n%s' % (pattern, vm.init_lines(40))
    return m.start()


def poweroff(vm):
    vm.qmp('system_powerdown')
    assert vm.wait_exit(120) == 0


def test_onboot_in_order_services_and_compose_on_a_first_boot():
    with Appliance(disk=disk(), config=DOC1) as vm:
        vm.wait_for(r'compose: done \(status 0\)', timeout=400, since=0)
        vm.wait_for(DOM0_BANNER, timeout=120, since=0)
        out, _ = vm.run('cat /host%s/order' % DATA, check=True)
        assert out.split() == ['first', 'third'], out
        # the failing entry: its output, its status, and the list went on
        assert pos(vm, r'onboot: broken: \| this went wrong') < pos(vm, r'onboot: broken: failed: exited with status 3')
        assert pos(vm, r'onboot: first: done') < pos(vm, r'onboot: broken: failed') < pos(vm, r'onboot: third: done')
        # the services after the list, the compose file after the services
        ended = pos(vm, r'onboot: the list has ended \(3 entries\)')
        for name in ('web', 'steady', 'gone'):
            assert ended < pos(vm, r'service %s: running' % name) < pos(vm, r'compose: bringing')
        c = ids(vm)
        for name in ('web', 'steady', 'gone', 'stack-app-1'):
            assert c.get(name, ('', ''))[1] == 'running', c
        assert c['onboot-broken'][1] == 'exited', c      # kept for `docker logs`
        out, _ = vm.run("docker inspect -f '{{.HostConfig.RestartPolicy.Name}} {{index .Config.Labels "
                        "\"org.onlydocker.service\"}}' web", check=True)
        assert out.split() == ['unless-stopped', 'web'], out
        out, _ = vm.run('wget -q -O - http://127.0.0.1:8080/ 2>&1; true')
        assert '404' in out or 'Not Found' in out, out      # httpd answers on the host's network
        STATE['ids'] = c
        poweroff(vm)


def test_services_changed_removed_kept_and_compose_again_after_a_reboot():
    assert 'ids' in STATE, 'the first boot did not get through'
    with Appliance(disk=disk(), config=DOC2) as vm:
        vm.wait_for(r'compose: done \(status 0\)', timeout=400, since=0)
        vm.wait_for(DOM0_BANNER, timeout=120, since=0)
        # the required entry held the console until it was done
        assert pos(vm, r'onboot: gate: done') < pos(vm, r'dom0: container started'), vm.init_lines(40)
        assert re.search(r'service web: its definition changed: recreating it', vm.text), vm.init_lines(40)
        assert re.search(r'service gone: removed \(no longer in the configuration\)', vm.text), vm.init_lines(40)
        c, before = ids(vm), STATE['ids']
        assert 'gone' not in c, c
        assert c['web'][1] == 'running' and c['web'][0] != before['web'][0], (before, c)
        assert c['steady'] == (before['steady'][0], 'running'), (before, c)    # the same container, started again
        assert c['stack-app-1'] == (before['stack-app-1'][0], 'running'), (before, c)
        out, _ = vm.run("docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' web", check=True)
        assert 'COLOUR=blue' in out.split(), out
        out, _ = vm.run('cat /host%s/order' % DATA, check=True)
        assert out.split() == ['first', 'third', 'gate'], out
        poweroff(vm)


def test_a_required_entry_that_fails_stops_the_boot_at_the_debug_shell():
    assert 'ids' in STATE, 'the first boot did not get through'
    with Appliance(disk=disk(), config=DOC3) as vm:
        vm.wait_for(r"onboot: the boot stopped at the required entry 'must'", timeout=400, since=0)
        vm.wait_for(r'console: root debug shell', timeout=60, since=0)
        assert re.search(r'onboot: must: \| cannot go on', vm.text), vm.init_lines(40)
        assert re.search(r'onboot: must: failed: exited with status 7.*required: the boot stops here', vm.text)
        c = ids(vm)
        # nothing after it: dom0 made but never started, `services: {}` not applied (steady stays)
        assert c.get('dom0', ('', ''))[1] != 'running', c
        assert 'steady' in c and 'web' in c, c
        assert not re.search(DOM0_BANNER, vm.text), vm.init_lines(40)
        poweroff(vm)
