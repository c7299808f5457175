#!/usr/bin/env python3
"""Builds the two bundled images, OUTDIR/dhcpcd.tar and OUTDIR/dom0.tar, in `docker load` format
without an engine: what goes into each image (Debian files from PKGROOT plus images/dhcpcd/ and
images/dom0/) and each image's config. Host requirements: python3, binutils (readelf)."""
# PKGROOT: `dpkg-deb -x` of busybox-static, dhcpcd-base, docker.io, libc6 (and any package that
# holds a library those binaries need). VERSIONS_TXT: lines "package version", for the labels.
import argparse
import datetime
import os
import posixpath
import subprocess
import sys
import tarfile

from dockerarchive import Layer, write_archive

HERE = os.path.dirname(os.path.abspath(__file__))
LIB_DIRS = ["lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu", "lib64", "usr/lib64", "lib", "usr/lib"]
# dom0's links into the engine image (bind-mounted at ENGINE_DIR): the docker CLI, its plugins, the
# glibc they need, OpenSSH: its server with ssh-keygen, and the client with scp; tzdata's zone files.
ENGINE_LINKS = ["usr/bin/docker", "usr/libexec/docker/cli-plugins", "usr/lib/x86_64-linux-gnu", "usr/lib64",
                "usr/sbin/sshd", "usr/lib/openssh", "usr/bin/ssh-keygen", "usr/bin/ssh", "usr/bin/scp",
                "usr/share/zoneinfo"]
# The host's time zone (the document's `timezone`, host.c), through its root at /host: dom0 shows
# what the host does, and a host without one leaves these dangling, which glibc reads as UTC.
HOST_LINKS = ["etc/localtime", "etc/timezone"]
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Debian's hooks kept in the dhcpcd image; the others configure services it lacks (NTP,
# timesyncd, chrony: ours is 60-ntp) or the container's own hostname, and 20-resolv.conf is replaced by ours.
DHCPCD_DEBIAN_HOOKS = ["01-test"]
DHCPCD_APPLETS = ["sh", "cat", "cmp", "mkdir", "rm", "sed", "chmod", "mv"]  # what the hooks and ntp.sh call
# The ntp container's entrypoint (init's syscont_spec.c names it too).
NTP_ENTRYPOINT = "usr/lib/onlydocker/ntp.sh"
# chrony's programs in the engine image (bind-mounted read-only at ENGINE_DIR in the dhcp and ntp
# containers): the dhcpcd image has scripts at these paths that run them (initrd/mkinitrd.sh).
CHRONY_PROGRAMS = ["usr/sbin/chronyd", "usr/bin/chronyc"]
# Through the engine's own loader and glibc, never the image's: the image's libc is dhcpcd's, and
# the engine's libraries were resolved against the engine's libc.
ENGINE_RUN = """#!/bin/sh
# onlydocker: the engine image's /{prog}, with the engine's own loader and glibc (images/build.py)
e={engine}
exec "$e/usr/lib64/ld-linux-x86-64.so.2" --inhibit-cache --library-path "$e/usr/lib/x86_64-linux-gnu" \\
	--argv0 "$0" "$e/{prog}" "$@"
"""
PASSWD_ROOT = "root:x:0:0:root:/root:/bin/sh\n"
# dhcpcd's privilege separation runs its network-facing processes as this user, chrooted in its home.
PASSWD_DHCPCD = "dhcpcd:x:100:65534:DHCP Client Daemon:/usr/lib/dhcpcd:/bin/false\n"
GROUP = "root:x:0:\nnogroup:x:65534:\n"
# sshd's privilege separation runs each connection's unauthenticated part as this user, chrooted
# in /run/sshd (OpenSSH's compiled-in names).
PASSWD_SSHD = "sshd:x:101:65534:sshd privilege separation:/run/sshd:/bin/false\n"


class BuildError(Exception):
    pass


def read_kv(path, sep="="):
    """KEY=VALUE lines (images.conf), or with sep=None "package version" lines; # comments."""
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                key, value = (line.split(sep, 1) + [""])[:2]
                out[key.strip()] = value.strip()
    return out


class PkgRoot:
    def __init__(self, root):
        if not os.path.isdir(root):
            raise BuildError(f"PKGROOT {root} is not a directory")
        self.root = root

    def host(self, rel):
        return os.path.join(self.root, rel.lstrip("/"))

    def resolve(self, rel, why):
        """Follow symlinks inside PKGROOT as if it were /, component by component (Debian 13's
        /lib64 and /bin are links into /usr); return (real path, [(link, target)])."""
        todo, done, links = [p for p in rel.strip("/").split("/")], [], []
        while todo:
            name = todo.pop(0)
            if name in ("", "."):
                continue
            if name == "..":
                done = done[:-1]
                continue
            cur = "/".join(done + [name])
            if os.path.islink(self.host(cur)):
                if len(links) >= 40:
                    raise BuildError(f"symlink loop in PKGROOT at /{cur}")
                target = os.readlink(self.host(cur))
                links.append((cur, target))
                if target.startswith("/"):
                    done = []
                todo = target.strip("/").split("/") + todo
                continue
            done.append(name)
        real = "/".join(done)
        if not os.path.isfile(self.host(real)):
            raise BuildError(f"missing in PKGROOT: /{rel.lstrip('/')} ({why})")
        return real, links

    def find_lib(self, name, why):
        for d in LIB_DIRS:
            if os.path.lexists(self.host(f"{d}/{name}")):
                return f"{d}/{name}"
        raise BuildError(f"missing in PKGROOT: library {name} ({why}); add the package that ships it")


class MergedLayer(Layer):
    """A layer with Debian 13's merged /usr: /bin, /sbin, /lib and /lib64 are links into /usr, and
    whatever is added under them lands in /usr, so busybox's applet paths and the ELF interpreter
    (/lib64/ld-linux-x86-64.so.2) name files that exist."""
    TOP = {"bin": "usr/bin", "sbin": "usr/sbin", "lib": "usr/lib", "lib64": "usr/lib64"}

    def __init__(self, mtime):
        super().__init__(mtime)
        for link, target in self.TOP.items():
            super()._put(link, (tarfile.SYMTYPE, 0o777, None, target))

    def _put(self, path, entry):
        head, _, rest = posixpath.normpath(path.lstrip("/")).partition("/")
        if head in self.TOP:
            if not rest:
                if entry[0] == tarfile.SYMTYPE and posixpath.normpath(entry[3].lstrip("/")) == self.TOP[head]:
                    return head      # the link itself, met again while resolving a path
                raise ValueError(f"/{head} is a link into /usr in this image")
            path = f"{self.TOP[head]}/{rest}"
        return super()._put(path, entry)


def readelf(args, path):
    try:
        return subprocess.run(["readelf", "-W", *args, path], check=True, capture_output=True, text=True).stdout
    except FileNotFoundError:
        raise BuildError("readelf not found: install binutils")
    except subprocess.CalledProcessError as e:
        raise BuildError(f"readelf {' '.join(args)} {path} failed: {e.stderr.strip()}")


def elf_deps(path):
    """The dynamic loader and NEEDED libraries of an ELF file (empty for static binaries)."""
    deps = []
    for line in readelf(["-l"], path).splitlines():
        if "Requesting program interpreter:" in line:
            deps.append(("interp", line.split(":", 1)[1].strip(" ]")))
    for line in readelf(["-d"], path).splitlines():
        if "(NEEDED)" in line:
            deps.append(("needed", line.split("[", 1)[1].rstrip("]")))
    return deps


def add_from_pkgroot(layer, pkg, rel, why, mode=None):
    real, links = pkg.resolve(rel, why)
    for link, target in links:
        layer.symlink(link, target)
    layer.copy(real, pkg.host(real), mode)
    return real


def add_elf(layer, pkg, rel, package):
    """Add a binary with exactly the shared libraries it needs, recursively, and the loader."""
    todo, seen = [(rel, package)], set()
    while todo:
        rel, why = todo.pop()
        real = add_from_pkgroot(layer, pkg, rel, why)
        if real in seen:
            continue
        seen.add(real)
        for kind, name in elf_deps(pkg.host(real)):
            dep = name.lstrip("/") if kind == "interp" else pkg.find_lib(name, f"needed by /{real}")
            todo.append((dep, f"{kind} of /{real}"))


def add_busybox(layer, pkg, applets=None):
    """busybox-static as /bin/busybox with its applets as symlinks (all, or the ones named)."""
    add_from_pkgroot(layer, pkg, "bin/busybox", "busybox-static")
    if elf_deps(pkg.host("bin/busybox")):
        raise BuildError("PKGROOT /bin/busybox is not static: busybox-static is needed, not busybox")
    out = subprocess.run([pkg.host("bin/busybox"), "--list-full"], check=True, capture_output=True, text=True)
    full = [p for p in out.stdout.split() if p != "bin/busybox"]
    if applets is not None:
        by_name = {posixpath.basename(p): p for p in full}
        missing = [a for a in applets if a not in by_name]
        if missing:
            raise BuildError(f"busybox in PKGROOT lacks applets: {' '.join(missing)}")
        full = [by_name[a] for a in applets]
    for path in full:
        layer.symlink(path, "/bin/busybox")


def add_ours(layer, src, dest, mode=None):
    layer.copy(dest, os.path.join(HERE, src), mode)


def add_base(layer, pkg, packages):
    for d in ["dev", "proc", "sys", "run", "etc", "var/lib"]:
        layer.dir(d)
    layer.dir("tmp", 0o1777)
    layer.dir("root", 0o700)
    for p in packages:  # the licences travel with the binaries
        if os.path.isfile(pkg.host(f"usr/share/doc/{p}/copyright")):
            add_from_pkgroot(layer, pkg, f"usr/share/doc/{p}/copyright", p)


def labels(versions, packages):
    out = {f"org.onlydocker.pkg.{p}": versions.get(p, "unknown") for p in packages}
    out["org.onlydocker.source-versions"] = " ".join(f"{p}={versions.get(p, 'unknown')}" for p in packages)
    return out


def config(created, labels_, entrypoint, workdir="/"):
    return {
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": {"Env": [PATH_ENV], "Entrypoint": entrypoint, "Cmd": None, "Labels": labels_, "WorkingDir": workdir},
        "history": [{"created": created, "created_by": "onlydocker images/build.py"}],
    }


def build_dhcpcd(pkg, versions, conf, mtime, created):
    """dhcpcd, and the ntp container's entrypoint, which runs this image with ntp.sh: one image, so
    no second load at the first boot. chrony, of trixie's NTP clients: busybox-static has no ntpd,
    ntpsec needs Python, openntpd has no way to take servers found later; chrony reads DHCP's from
    a directory (sourcedir, reloaded on a command), steps at start (makestep) and logs the step.
    chronyd and chronyc are the engine image's (with gnutls, for NTS, and its libraries they grew
    this archive from 12.2 to 22.0 MB); here only scripts that run them from there."""
    packages = ["busybox-static", "dhcpcd-base", "libc6"]
    layer = MergedLayer(mtime)
    add_base(layer, pkg, packages)
    add_busybox(layer, pkg, DHCPCD_APPLETS)
    add_elf(layer, pkg, "usr/sbin/dhcpcd", "dhcpcd-base")
    add_from_pkgroot(layer, pkg, "usr/lib/dhcpcd/dhcpcd-run-hooks", "dhcpcd-base", 0o755)
    for hook in DHCPCD_DEBIAN_HOOKS:
        add_from_pkgroot(layer, pkg, f"usr/lib/dhcpcd/dhcpcd-hooks/{hook}", "dhcpcd-base", 0o644)
    add_ours(layer, "dhcpcd/20-resolv.conf", "usr/lib/dhcpcd/dhcpcd-hooks/20-resolv.conf", 0o644)
    add_ours(layer, "dhcpcd/60-ntp", "usr/lib/dhcpcd/dhcpcd-hooks/60-ntp", 0o644)
    add_ours(layer, "dhcpcd/90-log-bound", "usr/lib/dhcpcd/dhcpcd-hooks/90-log-bound", 0o644)
    for prog in CHRONY_PROGRAMS:
        layer.file(prog, ENGINE_RUN.format(engine=conf["ENGINE_DIR"], prog=prog).encode(), 0o755)
    add_ours(layer, "dhcpcd/ntp.sh", NTP_ENTRYPOINT, 0o755)
    add_ours(layer, "dhcpcd/dhcpcd.conf", "etc/dhcpcd.conf", 0o644)
    layer.file("etc/passwd", (PASSWD_ROOT + PASSWD_DHCPCD).encode())
    layer.file("etc/group", GROUP.encode())
    for d in ["var/lib/dhcpcd", "run/dhcpcd", "run/resolvconf", "run/ntp"]:
        layer.dir(d)
    layer.symlink("var/run", "/run")
    cfg = config(created, labels(versions, packages), ["/usr/sbin/dhcpcd", "--nobackground"])
    return layer, cfg


def build_dom0(pkg, versions, conf, mtime, created):
    packages = ["busybox-static"]
    layer = MergedLayer(mtime)
    add_base(layer, pkg, packages)
    add_busybox(layer, pkg)
    # The docker CLI, its compose and buildx plugins and the glibc they need are the engine
    # image's, bind-mounted read-only at the same path (init does it): links here, not 150 MiB of
    # copies to load at every first boot. An upgraded dom0 image that brings its own CLI has real
    # files at these paths, and they win.
    engine = conf["ENGINE_DIR"]
    for path in ENGINE_LINKS:
        layer.symlink(path, f"{engine}/{path}")
    for d in ["host", "var/run", "usr/local/bin"]:
        layer.dir(d)
    # The engine's socket through the host's root (bound at /host), not a bind of the socket file:
    # dockerd makes a new socket each time it starts, and a kept dom0 (live restore) must reach it.
    layer.symlink("var/run/docker.sock", "/host/var/run/docker.sock")
    for path in HOST_LINKS:
        layer.symlink(path, f"/host/{path}")
    add_ours(layer, "dom0/entrypoint.sh", "entrypoint.sh", 0o755)
    add_ours(layer, "dom0/profile", "etc/profile", 0o644)
    # Remote access (ssh.sh, started by the entrypoint): sshd and ssh-keygen are the engine
    # image's too, like the CLI; the configuration is ours.
    add_ours(layer, "dom0/ssh.sh", "usr/lib/onlydocker/ssh.sh", 0o755)
    add_ours(layer, "dom0/sshd_config", "etc/ssh/sshd_config", 0o644)
    layer.symlink("etc/ssh/moduli", f"{engine}/usr/lib/openssh/moduli")
    layer.dir("run/sshd", 0o755)
    layer.file("etc/passwd", (PASSWD_ROOT + PASSWD_SSHD).encode())
    layer.file("etc/group", GROUP.encode())
    release = {"DOM0_VERSION": conf["DOM0_VERSION"], "BUILD_DATE": created, "SSH_KEYS_FWCFG": conf["SSH_KEYS_FWCFG"]}
    # not in the image: the engine's, by bind mount
    cli = ["docker-cli", "docker-compose", "docker-buildx", "openssh-server", "openssh-client"]
    release.update({f"PKG_{p.replace('-', '_').replace('.', '_').upper()}": versions.get(p, "unknown") for p in packages + cli})
    layer.file("etc/dom0-release", "".join(f"{k}='{v}'\n" for k, v in release.items()).encode(), 0o644)
    lab = labels(versions, packages)
    lab["org.onlydocker.dom0.version"] = conf["DOM0_VERSION"]
    cfg = config(created, lab, ["/bin/sh", "/entrypoint.sh"], workdir="/root")
    return layer, cfg


def build_busybox(pkg, versions, mtime, created):
    """For the tests only (kvm --run --image-tar): busybox and nothing else."""
    packages = ["busybox-static"]
    layer = MergedLayer(mtime)
    add_base(layer, pkg, packages)
    add_busybox(layer, pkg)
    layer.file("etc/passwd", (PASSWD_ROOT + "nobody:x:65534:65534:nobody:/:/bin/false\n").encode())
    layer.file("etc/group", GROUP.encode())
    cfg = config(created, labels(versions, packages), None)
    cfg["config"]["Cmd"] = ["sh"]
    return layer, cfg


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pkgroot", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--versions")
    ap.add_argument("--test-out", help="also build the tests' busybox image (TEST_IMAGE) here")
    args = ap.parse_args()
    try:
        conf = read_kv(os.path.join(HERE, "images.conf"))
        for key in ["DHCP_IMAGE", "DOM0_IMAGE", "DOM0_BUNDLED", "DOM0_VERSION", "TEST_IMAGE", "ENGINE_DIR", "SSH_KEYS_FWCFG"]:
            if not conf.get(key):
                raise BuildError(f"images/images.conf has no {key}")
        versions = {}
        if args.versions:
            if not os.path.isfile(args.versions):
                raise BuildError(f"versions file {args.versions} not found")
            versions = read_kv(args.versions, sep=None)
        # A fixed clock makes the bytes, and so the image IDs, reproducible.
        epoch = os.environ.get("SOURCE_DATE_EPOCH", "0")
        if not epoch.isdigit():
            raise BuildError(f"SOURCE_DATE_EPOCH={epoch!r} is not a number of seconds")
        mtime = int(epoch)
        created = datetime.datetime.fromtimestamp(mtime, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        pkg = PkgRoot(args.pkgroot)
        os.makedirs(args.out, exist_ok=True)
        images = [
            ("dhcpcd", [conf["DHCP_IMAGE"]], build_dhcpcd(pkg, versions, conf, mtime, created)),
            ("dom0", [conf["DOM0_IMAGE"], conf["DOM0_BUNDLED"]], build_dom0(pkg, versions, conf, mtime, created)),
        ]
        outs = [args.out, args.out]
        if args.test_out:
            os.makedirs(args.test_out, exist_ok=True)
            images.append(("busybox", [conf["TEST_IMAGE"]], build_busybox(pkg, versions, mtime, created)))
            outs.append(args.test_out)
        for out, (name, tags, (layer, cfg)) in zip(outs, images):
            image_id, size = write_archive(os.path.join(out, f"{name}.tar"), tags, cfg, [layer], mtime)
            print(f"{name}.tar: {size} bytes ({size / 1048576:.1f} MiB), image ID {image_id}, tags {' '.join(tags)}")
    except (BuildError, OSError, ValueError, subprocess.CalledProcessError) as e:
        sys.exit(f"images/build.py: error: {e}")


if __name__ == "__main__":
    main()
