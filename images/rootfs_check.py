"""Runs the images' own scripts from an unpacked rootfs (chroot, as root): the dhcpcd hooks with
dhcpcd's environment, and the dom0 entrypoint on a pseudo-terminal standing in for the console.
Each check yields (label, ok, detail); check.py counts them."""
import os
import pty
import select
import signal
import subprocess
import time

PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def hooks(root, conf):
    resolv = os.path.join(root, "run/resolvconf/resolv.conf")
    with open(resolv, "w") as f:
        f.write("# placeholder\n")
    # Held open like the bind mounts hold it: a rename would leave this reading stale text.
    held = os.open(resolv, os.O_RDONLY)

    def run(reason, iface, up, down, **new):
        env = {"PATH": PATH, "reason": reason, "interface": iface, "protocol": "dhcp", "if_configured": "true",
               "if_up": up, "if_down": down, "interface_order": "eth0 eth1"}
        env.update({f"new_{k}": v for k, v in new.items()})
        r = subprocess.run(["chroot", root, "/usr/lib/dhcpcd/dhcpcd-run-hooks"], env=env,
                           capture_output=True, text=True, timeout=30)
        with open(resolv) as f:
            return r, f.read()

    r, text = run("BOUND", "eth0", "true", "false", ip_address="10.0.2.15",
                  domain_name_servers="10.0.2.3", domain_search="example.test")
    yield "hooks exit 0 on BOUND", r.returncode == 0 and not r.stderr, r.stderr
    yield "BOUND logs 'dhcpcd: eth0 bound 10.0.2.15'", "dhcpcd: eth0 bound 10.0.2.15\n" in r.stdout, r.stdout
    yield "BOUND writes servers and search", "nameserver 10.0.2.3\n" in text and "search example.test\n" in text, text
    r, text = run("BOUND", "eth1", "true", "false", ip_address="10.0.3.15",
                  domain_name_servers="10.0.3.3 10.0.2.3", domain_name="lan.test")
    yield "second interface merged, each server once", (
        text.count("nameserver 10.0.2.3\n") == 1 and "nameserver 10.0.3.3\n" in text
        and "search example.test lan.test\n" in text), text
    r, text2 = run("STOPPED", "eth0", "false", "false")
    yield "STOPPED (persistent) keeps the servers", text2 == text and r.returncode == 0, text2
    r, text = run("EXPIRE", "eth1", "false", "true")
    yield "EXPIRE drops that interface's servers only", (
        "10.0.3.3" not in text and "nameserver 10.0.2.3\n" in text and r.returncode == 0), text
    seen = os.pread(held, 65536, 0).decode()
    os.close(held)
    yield "resolv.conf rewritten in place (same inode)", seen == text, seen
    yield from ntp(root, run)


def ntp(root, run):
    """The hook 60-ntp (the lease's NTP servers as chrony sources) and ntp.sh's configuration."""
    path = os.path.join(root, "run/ntp/dhcp/eth0.sources")
    read = lambda: open(path).read() if os.path.exists(path) else None
    r, _ = run("BOUND", "eth0", "true", "false", ip_address="10.0.2.15", ntp_servers="10.0.2.123 10.0.2.124")
    got = read()
    yield "BOUND writes the lease's NTP servers as chrony sources", (
        r.returncode == 0 and got == "server 10.0.2.123 iburst\nserver 10.0.2.124 iburst\n"), (got, r.stderr)
    r, _ = run("RENEW", "eth0", "true", "false", ip_address="10.0.2.15")
    yield "a lease without NTP servers removes them", r.returncode == 0 and read() is None, (read(), r.stderr)
    run("BOUND", "eth0", "true", "false", ip_address="10.0.2.15", ntp_servers="10.0.2.123")
    r, _ = run("EXPIRE", "eth0", "false", "true")
    yield "EXPIRE removes them", r.returncode == 0 and read() is None, (read(), r.stderr)

    def config(**env):
        r = subprocess.run(["chroot", root, "/usr/lib/onlydocker/ntp.sh", "--config"], env={"PATH": PATH, **env},
                           capture_output=True, text=True, timeout=30)
        return r.returncode, r.stdout.splitlines()
    rc, lines = config(NTP_SERVERS="192.0.2.124 ntp.test", NTP_POOLS="pool.test")
    yield "ntp.sh: the configuration's servers and pools, and not the leases'", rc == 0 and all(
        w in lines for w in ["server 192.0.2.124 iburst", "server ntp.test iburst", "pool pool.test iburst",
                             "makestep 1 3", "port 0", "cmdport 0"]) and not any(
        w.startswith("sourcedir") for w in lines), lines
    rc, lines = config(NTP_SERVERS="", NTP_POOLS="")
    yield "ntp.sh: without configured servers, the leases' (sourcedir)", rc == 0 and "sourcedir /run/ntp/dhcp" in lines and not any(
        w.startswith(("server", "pool")) for w in lines), lines


class Pty:
    def __init__(self):
        self.master, self.slave = pty.openpty()  # the slave stays open: no EIO before the child opens it
        self.name = os.ttyname(self.slave)
        self.buf = b""

    def expect(self, text, timeout=10):
        end, pat = time.monotonic() + timeout, text.encode()
        while pat not in self.buf:
            left = end - time.monotonic()
            if left <= 0 or not select.select([self.master], [], [], left)[0]:
                return None
            self.buf += os.read(self.master, 4096)
        head, _, self.buf = self.buf.partition(pat)
        return head.decode(errors="replace")

    def wait_foreground(self, comm, timeout=10):
        """Wait until the terminal's foreground process group is led by `comm`."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                with open(f"/proc/{os.tcgetpgrp(self.master)}/comm") as f:
                    if f.read().strip() == comm:
                        return True
            except OSError:
                pass
            select.select([], [], [], 0.02)  # poll interval while waiting for the event
        return False

    def send(self, text):
        os.write(self.master, text.encode())


def kill_chrooted(root):
    """End what a failed run left in the chroot: the shell leads its own session, out of our group."""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.readlink(f"/proc/{pid}/root") == os.path.realpath(root):
                os.kill(int(pid), signal.SIGKILL)
        except OSError:
            pass


def console(root, conf):
    tty = Pty()
    # Started as a session leader, as runc starts a container's first process.
    cmd = ["unshare", "-m", "sh", "-c", 'mount --rbind /dev "$0/dev" && mount -t proc proc "$0/proc" && '
           'exec chroot "$0" /bin/sh /entrypoint.sh', root]
    p = subprocess.Popen(cmd, env={"PATH": PATH, "HOME": "/root", "CONSOLE": tty.name}, start_new_session=True,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        banner = f"onlydocker dom0 {conf['DOM0_VERSION']} ready"
        # A terminal answers the entrypoint's cursor query: line editing stays on (echo included).
        asked = tty.expect("\x1b[6n") is not None
        tty.send("\x1b[24;1R")
        yield "asks the terminal once, before the banner", asked, tty.buf[-200:]
        yield "banner on the console", tty.expect(banner) is not None, tty.buf[-200:]
        yield "login shell prompt '[dom0 '", tty.expect("[dom0 ") is not None and tty.expect("]# ") is not None, tty.buf[-200:]
        tty.send("tty\n")
        out = tty.expect("]# ")
        yield "shell's tty is $CONSOLE", out is not None and tty.name in out, out
        tty.send("sleep 100\n")
        yield "sleep runs as the console's foreground job", tty.wait_foreground("sleep"), tty.buf[-200:]
        tty.send("\x03")
        yield "^C interrupts the foreground job", tty.expect("]# ", timeout=5) is not None, tty.buf[-200:]
        tty.send("sleep 100 &\njobs\n")
        out = tty.expect("jobs")
        out = tty.expect("]# ")
        yield "job control: jobs lists the background job", out is not None and "Running" in out, out
        tty.send("kill %1; exit 3\n")
        try:
            status = p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            status = None
        yield "entrypoint exits with the shell's status", status == 3, status
        out = p.stdout.read().decode(errors="replace") if status is not None else ""
        yield "banner on stdout too", banner in out, out
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        kill_chrooted(root)
        p.stdout.close()
        os.close(tty.master)
        os.close(tty.slave)
