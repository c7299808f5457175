"""Beyond one machine: three appliances with static addresses on ./kvm's private segment form a Docker
Swarm from their kernel command lines; a 3-replica service runs a task on every node, the routing
mesh answers on the published port from each node, an encrypted overlay carries traffic between
two nodes, a node powered off has its task rescheduled,
and the same node booted again on its disk rejoins by itself. dom0's sshd answers on the segment's
static address of the node that has a key (from another node's dom0, with its ssh client), and
nothing listens on one that has none."""
import atexit
import base64
import os
import re
import shutil
import subprocess
import tempfile
import time

from harness import DOM0_BANNER, TEST, Appliance

LAN = 'swarm-test-%d' % os.getpid()
NODES = {'node1': '10.99.0.11', 'node2': '10.99.0.12', 'node3': '10.99.0.13'}
MEM = 512


def ipconf(name):
    return 'ip=%s/24::10.99.0.1::%s:eth0:off' % (NODES[name], name)


def node(name, extra='', disk=None, vm_name=None, ssh_keys=()):
    mac = '52:54:00:99:00:%02x' % int(NODES[name].rsplit('.', 1)[1])
    return Appliance(name=vm_name or name, disk=disk, net='none', lan=LAN, mac=mac, mem=MEM, smp=1,
                     append='%s %s' % (ipconf(name), extra), ssh_keys=ssh_keys)


def keypair():
    """A new ed25519 key: (the public key file, the private key's bytes)."""
    d = tempfile.mkdtemp(prefix='odswarm-')
    atexit.register(shutil.rmtree, d, True)
    path = os.path.join(d, 'k')
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'swarm-test', '-f', path], check=True,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    with open(path, 'rb') as f:
        return path + '.pub', f.read()


def until(vm, cmd, pattern, timeout=300):
    """Ask vm's dom0 again and again until the output matches: the swarm changes on its own clock and
    tells no one. Each ask takes a docker CLI start (about a second under TCG), which paces it."""
    deadline = time.monotonic() + timeout
    out = ''
    while time.monotonic() < deadline:
        out, _ = vm.run(cmd, timeout=120)
        m = re.search(pattern, out, re.M)
        if m:
            return m
    raise AssertionError('%s: no /%s/ from %r within %ds; last output:\n%s' % (vm.name, pattern, cmd, timeout, out))


TASKS = ("docker service ps web --filter desired-state=running --format '{{.Node}} {{.CurrentState}}' "
         "| awk '$2 == \"Running\" {print $1}' | sort | tr '\\n' ' '; echo")


def test_three_appliances_form_a_swarm():
    pub, key = keypair()
    try:
        n1 = node('node1', 'od.swarm=init', ssh_keys=[pub])
        n1.wait_for(DOM0_BANNER, timeout=300)
        n1.wait_for(r'swarm: this node is active in a swarm as a manager', timeout=300, since=0)
        # node1's sshd makes its host keys in the background, and says so on the console: wait,
        # so that those lines do not land inside a command's output.
        n1.wait_for(r'dom0: ssh: Server listening on 0\.0\.0\.0 port 22', timeout=300, since=0)
        out = n1.run('docker swarm join-token -q worker', check=True, timeout=120)[0]
        m = re.search(r'^SWMTKN-1-\w+-\w+$', out, re.M)
        assert m, out
        token = m.group(0)
        join = 'od.swarm.join=%s od.swarm.token=%s' % (NODES['node1'], token)
        n2, n3 = node('node2', join), node('node3', join)
        for n in (n2, n3):
            n.wait_for(r'swarm: this node is active in a swarm as a worker', timeout=400, since=0)
            n.wait_for(DOM0_BANNER, timeout=300, since=0)
        until(n1, "docker node ls --format '{{.Hostname}} {{.Status}}' | sort | tr '\\n' ' '",
              r'node1 Ready node2 Ready node3 Ready')
        # The swarm's ports are open and vxlan is there for the overlay.
        out, _ = n1.run("grep -c '^vxlan ' /proc/modules; netstat -ltn | grep -c ':2377 '", check=True)
        assert out.split() == ['1', '1'], out

        # Remote access on a real segment: node1's sshd (it has a key) on its static address, from
        # node2's dom0; node3 has no key, and nothing answers on its port 22.
        n2.run("echo %s | base64 -d > /tmp/k && chmod 600 /tmp/k" % base64.b64encode(key).decode(), check=True)
        out, _ = n2.run("ssh -i /tmp/k -o BatchMode=yes -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=/tmp/kh "
                        "-o ConnectTimeout=60 root@%s 'echo in-dom0-of-$(hostname)'" % NODES['node1'], timeout=120)
        assert re.search(r'^in-dom0-of-node1$', out, re.M), out
        out, _ = n2.run("echo \"[$(nc -w 5 %s 22 </dev/null 2>/dev/null)]\"" % NODES['node3'], timeout=60)
        assert '[]' in out, out

        # A service with 3 replicas: one task on each node. The image is on every node already (the
        # bundled dom0 image: busybox's httpd); nothing is pulled, there is no registry here.
        # Without -d the CLI itself waits until the service has converged.
        n1.run("docker service create -q --name web --replicas 3 -p 8080:80 --entrypoint sh onlydocker/dom0:bundled "
               "-c 'hostname > /tmp/index.html; exec httpd -f -p 80 -h /tmp'", check=True, timeout=400)
        until(n1, TASKS, r'^node1 node2 node3 $')
        # The routing mesh: the published port answers on every node, whichever node's task serves.
        for name, vm in (('node1', n1), ('node2', n2), ('node3', n3)):
            out, _ = vm.run('wget -qO- http://%s:8080/' % NODES[name], timeout=60)
            assert re.search(r'^[0-9a-f]{12}$', out, re.M), '%s: %r' % (name, out)

        # An encrypted overlay: a container on node2 answers one on node1 by name, through ESP
        # (the engine's mangle rule needs xt_bpf; the kernel asks for esp4 and the AEAD itself).
        n1.run('docker network create -d overlay --attachable --opt encrypted sealed', check=True, timeout=120)
        n2.run("docker run -d --name sealed-web --network sealed --entrypoint sh onlydocker/dom0:bundled "
               "-c 'echo sealed-hello > /tmp/index.html; exec httpd -f -p 80 -h /tmp'", check=True, timeout=200)
        until(n1, 'docker run --rm --network sealed --entrypoint wget onlydocker/dom0:bundled '
              '-T 5 -qO- http://sealed-web/', r'^sealed-hello$', timeout=300)
        for name, vm in (('node1', n1), ('node2', n2)):
            out, _ = vm.run("grep -c '^esp4 ' /proc/modules; grep -c 'rfc4106(gcm(aes))' /proc/crypto", timeout=60)
            assert [int(x) > 0 for x in out.split()] == [True, True], '%s: %r' % (name, out)

        # node3 powers off: its task is rescheduled onto the two others.
        disk3 = n3.disk
        n3.send('poweroff\n')
        assert n3.wait_exit(120) == 0
        until(n1, TASKS, r'^node1 node(1|2) node2 $')
        out, _ = n2.run('wget -qO- http://%s:8080/' % NODES['node2'], timeout=60)
        assert re.search(r'^[0-9a-f]{12}$', out, re.M), out

        # node3 again, on its disk and with no swarm key at all: the engine's own state rejoins it.
        n3b = node('node3', disk=disk3, vm_name='node3-again')
        n3b.wait_for(DOM0_BANNER, timeout=300)
        until(n1, "docker node ls --format '{{.Hostname}} {{.Status}}' | sort | tr '\\n' ' '",
              r'node1 Ready node2 Ready node3 Ready')
        out, _ = n3b.run("docker info -f '{{.Swarm.LocalNodeState}}'", check=True, timeout=120)
        assert out.strip() == 'active', out
    finally:
        TEST.kill_all()
